#ifndef GATEWAY_AGENT_COPENSSL_SHIM_H
#define GATEWAY_AGENT_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/core_names.h>

/* OPENSSL_free is a macro (it passes __FILE__/__LINE__ to CRYPTO_free), which Swift cannot call. */
static inline void gateway_openssl_free(void *pointer) { OPENSSL_free(pointer); }
#endif
