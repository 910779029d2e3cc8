#ifndef GATEWAY_AGENT_CCURL_SHIM_H
#define GATEWAY_AGENT_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call. Each wrapper below
   fixes the type of the one argument for the options that take that type, so that a wrong type is a
   compile error in Swift rather than undefined behaviour in libcurl. */

/* Options that take a long: flags, timeouts, sizes. */
static inline CURLcode gateway_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options that take a curl_off_t: large sizes (POSTFIELDSIZE_LARGE, MAXFILESIZE_LARGE). */
static inline CURLcode gateway_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options that take a C string (libcurl copies it, except COPYPOSTFIELDS' length comes from POSTFIELDSIZE). */
static inline CURLcode gateway_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options that take an opaque pointer: callback contexts, the error buffer. */
static inline CURLcode gateway_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/* Options that take a header list. */
static inline CURLcode gateway_curl_setopt_list(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/* WRITEFUNCTION and HEADERFUNCTION. */
static inline CURLcode gateway_curl_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* XFERINFOFUNCTION (used to abort a transfer whose task was cancelled). */
static inline CURLcode gateway_curl_setopt_progress_callback(
    CURL *handle, CURLoption option, curl_xferinfo_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* Information items that are a long: response code, CONNECT response code. */
static inline CURLcode gateway_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/* CURL_GLOBAL_DEFAULT is a macro built from other macros, which Swift does not import. */
static inline CURLcode gateway_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}
#endif
