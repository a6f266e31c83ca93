/* The HTTP API's handler interface: what a route handler is given and what
 * it gives back, independent of libmicrohttpd (api_server.c adapts it) so a
 * handler is unit-tested with a request built by hand. Handlers run on the
 * server's threads: they may only use the store handle of their request and
 * what api_ctx offers, never the collector's engine or scheduler directly.
 * See docs/architecture.md ("HTTP API"). */
#ifndef TC_API_H
#define TC_API_H

#include <stddef.h>

#include "store.h"

typedef struct api_param {
    const char *key, *value; /* decoded */
} api_param;

typedef struct api_ctx api_ctx; /* the server's: config, store connections */

typedef struct api_request {
    const char *method;           /* "GET", "POST", ... */
    const char *path;             /* without the query string */
    const char *const *path_args; /* the parts a route's "{...}" matched, in order */
    size_t n_path_args;
    const api_param *query; /* decoded query parameters, in order, repeats kept */
    size_t n_query;
    const char *body; /* request body (NUL-terminated), or NULL */
    size_t body_len;
    const char *accept;        /* request headers, or NULL when absent */
    const char *authorization;
    const char *last_event_id;
    store *st;   /* a store connection reserved for this request */
    api_ctx *ctx;
} api_request;

typedef struct api_response {
    int status;               /* 200 unless set */
    char *body;               /* malloc'd; the server frees it */
    size_t body_len;
    const char *content_type; /* static text; NULL: application/json */
    int cacheable;            /* 1: the server adds an ETag of the body and answers
                                 If-None-Match with 304 */
} api_response;

/* Fills RS with 200 and BODY (taken over; its length from strlen). */
int api_json(api_response *rs, char *body);

/* Fills RS with STATUS and {"error":{"code":CODE,"message":...}}; returns 0
 * so a handler can `return api_error(...)`. CODE is a stable word for
 * scripts ("bad_parameter", "not_found", "store_unavailable", ...). */
int api_error(api_response *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The value of query parameter KEY (the last one when repeated), or NULL. */
const char *api_query(const api_request *rq, const char *key);

/* 0 when every query parameter is in ALLOWED (NULL-terminated) and none is
 * repeated; else -1 with a 400 naming the first offender in RS. */
int api_check_params(const api_request *rq, const char *const *allowed, api_response *rs);

/* A route: METHOD and PATH ("/api/v3/tokens/{address}": "{...}" matches one
 * path segment, passed in path_args) to HANDLER. Tables end with
 * {NULL}. */
typedef int (*api_handler)(const api_request *rq, api_response *rs);
typedef struct api_route {
    const char *method;
    const char *path;
    api_handler handler;
} api_route;

#endif
