/* The HTTP API server (libmicrohttpd): started inside the daemon, or alone
 * by `tokencollector serve`, from [api]. It runs on threads of its own
 * (MHD's thread pool) with store connections of its own (api_pool.h: one
 * reader per thread, one more for the change feed's streams), so neither a
 * slow client nor a flood of them reaches the collector. See
 * docs/architecture.md ("HTTP API") and docs/api.md. */
#ifndef TC_API_SERVER_H
#define TC_API_SERVER_H

#include <stddef.h>

#include "api.h"
#include "config.h"
#include "store.h"

typedef struct api_server api_server;

/* Opens the store connections, binds [api] listen and starts serving; the
 * bound address is logged ("api: listening on http://HOST:PORT"). NULL with
 * ERR (the store, the schema, the address). CFG is not kept. */
api_server *api_server_start(const config *cfg, char *err, size_t errlen);
/* The bound port (the one picked when listen's port is 0). */
unsigned api_server_port(const api_server *s);
/* Closes the change feed's streams (each is told to reconnect), stops
 * serving and closes the store connections. */
void api_server_stop(api_server *s);

/* ---- for the server's own handlers (api_basic.c, api_changes.c) ---- */

struct sse_hub;
const char *api_ctx_backend(const api_ctx *ctx); /* "sqlite", "postgresql" */
struct sse_hub *api_ctx_hub(api_ctx *ctx);       /* NULL: no streams */

/* 503 store_unavailable: the store did not answer. ERR (which may hold
 * SQL) is logged, never sent. Returns 0, as api_error does. */
int api_store_unavailable(api_response *rs, const char *err);

/* A changed token as the feed shows it, JSON (malloc'd) (api_changes.c). */
char *api_change_json(const token_change *c);

/* docs/openapi.json as built into the binary (api_openapi.c). */
const char *api_openapi_text(size_t *len);

#endif
