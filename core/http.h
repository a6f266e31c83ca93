/* HTTP engine: one libcurl multi handle driven from one thread. Requests of
 * every source and chunk are in flight together over kept-alive connections;
 * completions are handed back through a callback from http_poll(). */
#ifndef TC_HTTP_H
#define TC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

typedef enum http_error {
    HTTP_OK = 0,        /* a complete HTTP exchange (any status) */
    HTTP_ERR_CONNECT,   /* DNS, connect, TLS */
    HTTP_ERR_TIMEOUT,   /* connect or total timeout */
    HTTP_ERR_TRANSFER,  /* connection cut mid-way, bad framing */
    HTTP_ERR_TOO_LARGE, /* body above the cap */
    HTTP_ERR_OTHER
} http_error;

typedef struct http_result {
    http_error error;
    long status;
    char *body;            /* NUL-terminated; owned by the engine during the callback */
    size_t body_len;
    char *content_type;
    long retry_after_s;    /* from Retry-After (clamped to >= 0), or -1 */
    long ratelimit_remaining; /* x-ratelimit-remaining, or LONG_MIN when absent */
    long ratelimit_reset;     /* x-ratelimit-reset (as sent), or -1 */
    char message[256];     /* curl's error text when error != HTTP_OK */
    int64_t elapsed_ns;
} http_result;

typedef void (*http_done_fn)(void *user, const http_result *res);

typedef struct http_engine http_engine;

http_engine *http_engine_new(long connect_timeout_ms);
/* Frees E. Requests still in flight are abandoned without their DONE
 * callback; ABANDON (may be NULL) is called with each one's USER instead,
 * so its owner can free what it had attached. */
void http_engine_free(http_engine *e, void (*abandon)(void *user));

/* Requests started from now on connect within MS (a reload). */
void http_engine_set_connect_timeout(http_engine *e, long ms);

/* Starts REQ (copied). DONE is called from a later http_poll(). */
/* 1 when URL may share one HTTP/2 connection (https and a libcurl with
 * HTTP/2): only then does a request wait for a connection being set up
 * (CURLOPT_PIPEWAIT) rather than open its own. */
int http_may_multiplex(const char *url);
int http_submit(http_engine *e, const tc_request *req, long timeout_ms, http_done_fn done, void *user);

/* Waits up to TIMEOUT_MS for network activity, moves transfers along and
 * calls the completion callbacks. Returns the number still in flight. */
int http_poll(http_engine *e, int timeout_ms);
size_t http_in_flight(const http_engine *e);

const char *http_error_name(http_error e);

#endif
