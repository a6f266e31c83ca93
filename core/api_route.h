/* The HTTP API's routing: the route tables of the API modules (each module
 * exports one api_route table, api.h) and finding the route of a request.
 * Pure: unit-tested without a server (tests/unit/test_api_route.c). */
#ifndef TC_API_ROUTE_H
#define TC_API_ROUTE_H

#include "api.h"

/* The modules' tables. */
extern const api_route api_basic_routes[];  /* api_basic.c: /health, /api/v3/openapi.json */
extern const api_route api_change_routes[]; /* api_changes.c: /api/v3/tokens/changes */
extern const api_route api_token_routes[];  /* api_tokens.c: /api/v3/tokens, /api/v3/tokens/{address} */

/* Every table the server routes, NULL-terminated (api_route.c). */
extern const api_route *const api_route_tables[];

/* A request's route. ARGS point into a copy of the path (api_match_free). */
#define API_MAX_ARGS 8
typedef struct api_match {
    const api_route *route;
    const char *args[API_MAX_ARGS];
    size_t n_args;
    char allow[96]; /* 405: the methods the path has, "GET, HEAD" */
    char *buf;
} api_match;

/* 200 with M->route; 404 when no route has PATH; 405 when one has it but
 * not with METHOD (HEAD is GET's), M->allow listing them. Where a literal
 * segment and a "{...}" both match, the literal wins at the first segment
 * they differ (/api/v3/tokens/changes before /api/v3/tokens/{address}). */
int api_route_find(const api_route *const *tables, const char *method, const char *path, api_match *m);
void api_match_free(api_match *m);

#endif
