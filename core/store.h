/* Store: where tokens come from and where results go. One interface, one
 * backend per file (store_sqlite.c; PostgreSQL follows). Every commit is one
 * transaction: a batch is written whole or not at all. */
#ifndef TC_STORE_H
#define TC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "store_read.h"

/* A claim: tokens taken by one collector for one batch, with a lease. Until
 * the lease ends no other collector takes them; a collector that dies simply
 * lets its leases run out. The claim id fences commits: a collector whose
 * lease expired and was taken over cannot overwrite the newer claim's data. */
typedef struct claim_request {
    const char *owner;    /* collector identity, e.g. "host:pid" (for operators) */
    const char *claim_id; /* unique per claim */
    int64_t now;          /* unix seconds */
    int64_t lease_s;
    size_t max;
    /* 0 (--once): pending tokens, plus tokens with outstanding sources whose
     * next try has come (next_refresh_at <= now). 1 (daemon): every token
     * with next_refresh_at <= now. Both: only tokens whose lease ended. */
    int due;
    /* claim_addresses only: a token that is not pending and whose stored
     * next_refresh_at is after this (unix seconds) was refreshed by another
     * collector since the caller scheduled it, and is not taken. 0: no check. */
    int64_t due_before;
} claim_request;

/* One claimed token. OUTSTANDING is NULL for a full refresh (every source),
 * or the comma list of sources still owed from an earlier pass (column
 * tokens.outstanding_sources): only those are asked, the others' stored
 * records (load_sources) stand. */
typedef struct claimed_token {
    char *address;
    char *outstanding;
    int outstanding_attempts; /* passes so far that left sources outstanding */
    double price_usd;         /* stored price before this refresh; NAN: none
                                 (filled by claim_addresses only) */
} claimed_token;

/* A token as the daemon's scheduler sees it (scan). */
typedef struct token_brief {
    const char *address;
    token_status status;
    int64_t next_refresh_at;   /* unix seconds */
    int refresh_interval_s;
    int in_contest;            /* tokens.in_contest: set by operators */
    int64_t created_at;        /* unix seconds */
    double price_usd, market_cap, volume_24h, change_24h; /* NAN: unknown */
} token_brief;

typedef void (*store_token_cb)(void *ctx, const token_brief *t);

void claimed_tokens_free(claimed_token *t, size_t n);

/* Called once per stored token_sources row. */
typedef void (*store_source_cb)(void *ctx, const char *address, const char *source, const char *json);

/* What the store knows of one token's sources (store_backend.source_fetches):
 * called once per token_sources row with its SOURCE, FETCHED_AT (unix s) and
 * PRICE (its record's price_usd; NAN: none), and once per token with SOURCE
 * NULL and FETCHED_AT its metadata_at (refresh_metadata: when every metadata
 * source was last asked; 0: never). */
typedef void (*store_fetch_cb)(void *ctx, const char *address, const char *source, int64_t fetched_at, double price);

/* A changed token as the change feed shows it (store_backend.changes): its
 * place in the feed and its main fields. Strings point into the backend's
 * row, valid during the callback. */
typedef struct token_change {
    int64_t seq; /* tokens.change_seq */
    const char *address;
    token_status status;
    const char *name, *symbol, *image_url; /* NULL: unknown */
    int has_decimals, decimals;
    double price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h; /* NAN: unknown */
    int64_t refreshed_at; /* unix s of the last successful refresh; 0: none */
} token_change;

typedef void (*store_change_cb)(void *ctx, const token_change *c);

/* What a starting collector learns about the claims in the store
 * (store_backend.recover_claims). */
typedef struct claim_recovery {
    int owner_alive;    /* another live process holds OWNER's lock: its claims were left alone */
    size_t taken_back;  /* OWNER's claims released: its previous run died holding them */
    size_t foreign;     /* tokens under another collector's lease that has not ended */
    char foreign_owner[128];     /* the collector of the lease that ends last */
    int64_t foreign_first_until; /* unix s: when the first of those leases ends */
    int64_t foreign_last_until;  /* ... and the last */
} claim_recovery;

typedef struct store_backend {
    const char *name;
    int (*import)(void *be, const char *const *addrs, size_t n, size_t *inserted, char *err, size_t errlen);
    /* Claims up to rq->max tokens; *OUT is a malloc'd array (claimed_tokens_free),
     * ordered by due time then address. */
    int (*claim)(void *be, const claim_request *rq, claimed_token **out, size_t *n, char *err, size_t errlen);
    /* Claims the tokens ADDRS whose lease has ended and that are due by
     * rq->due_before (the daemon's scheduler chose them; see due_before);
     * rq->max and rq->due are not used. Fills price_usd. */
    int (*claim_addresses)(void *be, const claim_request *rq, const char *const *addrs, size_t n,
                           claimed_token **out, size_t *n_out, char *err, size_t errlen);
    /* Calls CB for every token created at or after SINCE (unix seconds; 0:
     * every token), with its scheduling facts and latest market data. */
    int (*scan)(void *be, int64_t since, store_token_cb cb, void *ctx, char *err, size_t errlen);
    /* The stored per-source records (token_sources) of ADDRS. */
    int (*load_sources)(void *be, const char *const *addrs, size_t n, store_source_cb cb, void *ctx, char *err,
                        size_t errlen);
    /* Writes a batch in one transaction and ends its claim. Tokens whose
     * claim is no longer CLAIM_ID are left alone and counted in *FENCED.
     * Per source (token_result.outcomes): FOUND upserts its token_sources row
     * (never over a row fetched later), MISSING deletes it, FAILED / SKIPPED
     * / KEPT leave it. FAILED and SKIPPED sources are written, comma
     * separated in source order, to tokens.outstanding_sources (NULL when
     * none) with tokens.outstanding_attempts = token_result.outstanding_attempts. */
    int (*commit)(void *be, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                  size_t *fenced, char *err, size_t errlen);
    /* Gives claimed tokens back unchanged (shutdown before they were done). */
    int (*release)(void *be, const char *const *addrs, size_t n, const char *claim_id, char *err, size_t errlen);
    int (*count_by_status)(void *be, uint64_t counts[STATUS_COUNT], char *err, size_t errlen);
    void (*close)(void *be);
    /* Sets tokens.in_contest of ADDRS (an operator, through the admin API),
     * in one transaction; *UPDATED: how many rows exist. */
    int (*set_contest)(void *be, const char *const *addrs, size_t n, int in_contest, size_t *updated, char *err,
                       size_t errlen);
    /* ---- reads for the HTTP API */
    /* Types in store_read.h. Each read is one consistent snapshot and
     * blocks no writer (SQLite: WAL; PostgreSQL: the handle's own
     * connection, which the API server keeps apart from the collector's). */
    /* The page of tokens Q asks for; *OUT is token_page_free'd by the caller
     * (also after an error). */
    int (*list_tokens)(void *be, const token_query *q, token_page *out, char *err, size_t errlen);
    /* One token with everything (its links, each source's record, its
     * refresh state): OUT->n is 1, or 0 when ADDRESS is not stored. */
    int (*get_token)(void *be, const char *address, token_page *out, char *err, size_t errlen);
    /* The change feed: CB for up to LIMIT tokens whose change_seq is above
     * SINCE, in change_seq order, and *HEAD the store's last change_seq, both
     * from one snapshot (HEAD is never ahead of what was returned: no change
     * at or below it is still to come). LIMIT 0: *HEAD only. Every commit
     * gives each token whose stored data it changed (status, a field, the
     * market data, a link, a source's record) the next change_seq, in commit
     * order, in the commit's transaction. */
    int (*changes)(void *be, int64_t since, size_t limit, store_change_cb cb, void *ctx, int64_t *head, char *err,
                   size_t errlen);
    /* ---- refresh by what a source provides (freshness.h) */
    /* CB for each of ADDRS and each of their token_sources rows (see
     * store_fetch_cb): which sources know a token and since when. */
    int (*source_fetches)(void *be, const char *const *addrs, size_t n, store_fetch_cb cb, void *ctx, char *err,
                          size_t errlen);
    /* ---- crash recovery (a collector starting) */
    /* Takes OWNER's lock for this process's life (SQLite: flock() on a file
     * beside the database; PostgreSQL: a session advisory lock). Holding it
     * proves no earlier process of OWNER is alive, so OWNER's leases still
     * running are a dead run's: released at once (out->taken_back). Without
     * it (out->owner_alive) nothing is touched. Then counts the leases of
     * other collectors (out->foreign*). */
    int (*recover_claims)(void *be, const char *owner, int64_t now, claim_recovery *out, char *err, size_t errlen);
} store_backend;

typedef struct store {
    const store_backend *ops;
    void *be;
} store;

/* URI: "sqlite:PATH" (the file and its directory are created) or
 * "postgresql://...". Creates or upgrades the schema. */
store *store_open(const char *uri, char *err, size_t errlen);

/* A connection that only reads (the HTTP API), opened without creating or
 * migrating anything: fails, naming `tokencollector migrate`, when there is
 * no store or its schema is older than this build's. SQLite: read-only, in
 * WAL mode, so it never blocks the collector nor waits for it; PostgreSQL:
 * a statement is retried once at most, so a request fails fast while the
 * server is away. */
store *store_open_reader(const char *uri, char *err, size_t errlen);

/* For --check-config: whether the store could be opened and written,
 * without creating or changing anything. SQLite: the file (if it exists) and
 * the nearest existing directory above it are writable; PostgreSQL: the
 * server accepts connections (PQping). 0, or -1 with ERR naming the path or
 * the server. */
int store_check_access(const char *uri, char *err, size_t errlen);
void store_close(store *s);

static inline int store_import(store *s, const char *const *addrs, size_t n, size_t *inserted, char *err,
                               size_t errlen)
{
    return s->ops->import(s->be, addrs, n, inserted, err, errlen);
}
static inline int store_claim(store *s, const claim_request *rq, claimed_token **out, size_t *n, char *err,
                              size_t errlen)
{
    return s->ops->claim(s->be, rq, out, n, err, errlen);
}
static inline int store_claim_addresses(store *s, const claim_request *rq, const char *const *addrs, size_t n,
                                        claimed_token **out, size_t *n_out, char *err, size_t errlen)
{
    return s->ops->claim_addresses(s->be, rq, addrs, n, out, n_out, err, errlen);
}
static inline int store_scan(store *s, int64_t since, store_token_cb cb, void *ctx, char *err, size_t errlen)
{
    return s->ops->scan(s->be, since, cb, ctx, err, errlen);
}
static inline int store_load_sources(store *s, const char *const *addrs, size_t n, store_source_cb cb, void *ctx,
                                     char *err, size_t errlen)
{
    return s->ops->load_sources(s->be, addrs, n, cb, ctx, err, errlen);
}
static inline int store_source_fetches(store *s, const char *const *addrs, size_t n, store_fetch_cb cb, void *ctx,
                                       char *err, size_t errlen)
{
    return s->ops->source_fetches(s->be, addrs, n, cb, ctx, err, errlen);
}
static inline int store_commit(store *s, const token_result *t, size_t n, int64_t now, const char *claim_id,
                               size_t *fenced, char *err, size_t errlen)
{
    return s->ops->commit(s->be, t, n, now, claim_id, fenced, err, errlen);
}
static inline int store_recover_claims(store *s, const char *owner, int64_t now, claim_recovery *out, char *err,
                                       size_t errlen)
{
    return s->ops->recover_claims ? s->ops->recover_claims(s->be, owner, now, out, err, errlen) : 0;
}

static inline int store_release(store *s, const char *const *addrs, size_t n, const char *claim_id, char *err,
                                size_t errlen)
{
    return s->ops->release(s->be, addrs, n, claim_id, err, errlen);
}
static inline int store_count_by_status(store *s, uint64_t counts[STATUS_COUNT], char *err, size_t errlen)
{
    return s->ops->count_by_status(s->be, counts, err, errlen);
}

static inline int store_set_contest(store *s, const char *const *addrs, size_t n, int in_contest, size_t *updated,
                                    char *err, size_t errlen)
{
    return s->ops->set_contest(s->be, addrs, n, in_contest, updated, err, errlen);
}
static inline int store_list_tokens(store *s, const token_query *q, token_page *out, char *err, size_t errlen)
{
    return s->ops->list_tokens(s->be, q, out, err, errlen);
}
static inline int store_get_token(store *s, const char *address, token_page *out, char *err, size_t errlen)
{
    return s->ops->get_token(s->be, address, out, err, errlen);
}
static inline int store_changes(store *s, int64_t since, size_t limit, store_change_cb cb, void *ctx, int64_t *head,
                                char *err, size_t errlen)
{
    return s->ops->changes(s->be, since, limit, cb, ctx, head, err, errlen);
}

/* Brings the store's schema to the version this build knows, then closes it
 * (`tokencollector migrate`). Safe to run again and from two processes at
 * once. MSG receives one line saying what was done. store_open migrates too. */
int store_migrate(const char *uri, char *msg, size_t msglen, char *err, size_t errlen);

/* Backends. */
void *store_sqlite_open(const char *path, char *err, size_t errlen);
void *store_sqlite_open_reader(const char *path, char *err, size_t errlen);
extern const store_backend store_sqlite_backend;
void *store_pg_open(const char *uri, char *err, size_t errlen);
void *store_pg_open_reader(const char *uri, char *err, size_t errlen);
extern const store_backend store_pg_backend;
/* Applies the pending PostgreSQL migrations; *FROM / *TO: versions before and after. */
int store_pg_migrate(const char *uri, int *from, int *to, char *err, size_t errlen);
/* The URI with any password replaced by *** (caller frees): for messages. */
char *store_pg_redact(const char *uri);

/* refresh_metadata JSON for a token result (caller frees; record_json.c),
 * or appended to B. */
char *store_refresh_metadata(const token_result *t);
void record_json_refresh_metadata(struct strbuf *b, const token_result *t);
/* tokens.outstanding_sources for a token result: the FAILED and SKIPPED
 * sources, comma separated; NULL when none (caller frees). */
char *store_outstanding_sources(const token_result *t);
#endif
