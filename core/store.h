/* Store: where tokens come from and where results go. One interface, one
 * backend per file (store_sqlite.c; PostgreSQL follows). Every commit is one
 * transaction: a batch is written whole or not at all. */
#ifndef TC_STORE_H
#define TC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

typedef struct store_backend {
    const char *name;
    int (*import)(void *be, const char *const *addrs, size_t n, size_t *inserted, char *err, size_t errlen);
    /* Up to MAX pending addresses ordered by address, strictly after AFTER
     * (NULL: from the start). *OUT is an array of malloc'd strings. */
    int (*next_pending)(void *be, const char *after, size_t max, char ***out, size_t *n, char *err,
                        size_t errlen);
    int (*commit)(void *be, const token_result *tokens, size_t n, int64_t now, char *err, size_t errlen);
    int (*count_by_status)(void *be, uint64_t counts[STATUS_COUNT], char *err, size_t errlen);
    void (*close)(void *be);
} store_backend;

typedef struct store {
    const store_backend *ops;
    void *be;
} store;

/* URI: "sqlite:PATH" (the file and its directory are created) or
 * "postgresql://...". Creates or upgrades the schema. */
store *store_open(const char *uri, char *err, size_t errlen);
void store_close(store *s);

static inline int store_import(store *s, const char *const *addrs, size_t n, size_t *inserted, char *err,
                               size_t errlen)
{
    return s->ops->import(s->be, addrs, n, inserted, err, errlen);
}
static inline int store_next_pending(store *s, const char *after, size_t max, char ***out, size_t *n,
                                     char *err, size_t errlen)
{
    return s->ops->next_pending(s->be, after, max, out, n, err, errlen);
}
static inline int store_commit(store *s, const token_result *t, size_t n, int64_t now, char *err,
                               size_t errlen)
{
    return s->ops->commit(s->be, t, n, now, err, errlen);
}
static inline int store_count_by_status(store *s, uint64_t counts[STATUS_COUNT], char *err, size_t errlen)
{
    return s->ops->count_by_status(s->be, counts, err, errlen);
}

/* Backends. */
void *store_sqlite_open(const char *path, char *err, size_t errlen);
extern const store_backend store_sqlite_backend;

/* refresh_metadata JSON for a token result (caller frees). */
char *store_refresh_metadata(const token_result *t);

#endif
