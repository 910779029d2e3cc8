#ifndef GATEWAY_AGENT_CMOSQUITTO_SHIM_H
#define GATEWAY_AGENT_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Why a TLS handshake failed, as OpenSSL's certificate-verification result
 * (X509_V_OK when the peer's certificate was accepted or no TLS is in use).
 * libmosquitto reports every verification failure as the same MOSQ_ERR_TLS;
 * this tells an untrusted CA apart from a host-name mismatch. Only valid while
 * libmosquitto still holds the SSL object, i.e. inside its log callback. */
static inline long cmosquitto_tls_verify_result(struct mosquitto *mosq) {
    SSL *ssl = (SSL *)mosquitto_ssl_get(mosq);
    return ssl == NULL ? X509_V_OK : SSL_get_verify_result(ssl);
}

/* OpenSSL's text for a verification result; a macro-free wrapper for Swift. */
static inline const char *cmosquitto_tls_verify_text(long result) {
    return X509_verify_cert_error_string(result);
}

#endif
