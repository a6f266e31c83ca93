/* The HTTP API's store connections: a fixed set of reader connections
 * (store_open_reader), one per server thread, lent to one request at a
 * time. Never the collector's connection. */
#ifndef TC_API_POOL_H
#define TC_API_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct api_pool api_pool;

/* N connections to URI; NULL with ERR when one cannot be opened. */
api_pool *api_pool_open(const char *uri, size_t n, char *err, size_t errlen);
/* A free connection, waiting up to WAIT_MS for one; NULL when none came. */
store *api_pool_acquire(api_pool *p, int64_t wait_ms);
void api_pool_release(api_pool *p, store *st);
/* Every connection must have been released. */
void api_pool_close(api_pool *p);

#endif
