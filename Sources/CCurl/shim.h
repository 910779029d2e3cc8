#ifndef GATEWAY_AGENT_CCURL_SHIM_H
#define GATEWAY_AGENT_CCURL_SHIM_H
#include <curl/curl.h>
#endif
