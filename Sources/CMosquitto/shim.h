#ifndef GATEWAY_AGENT_CMOSQUITTO_SHIM_H
#define GATEWAY_AGENT_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
