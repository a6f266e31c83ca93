/* SQLite store backend: the embedded default. WAL mode so `import` and
 * readers can run while a collector writes. The tables and their migrations
 * are in store_sqlite_schema.c; this file owns the statements. */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "store_sqlite_internal.h"
#include "store_sqlite_schema.h"
#include "util.h"

enum {
    ST_IMPORT,
    ST_CLAIM,
    ST_CLAIM_DUE,
    ST_CLAIM_ADDRESS,
    ST_SCAN,
    ST_RELEASE,
    ST_LOAD_SOURCES,
    ST_COUNT_STATUS,
    ST_SEQ_GET,
    ST_CHANGES,
    ST_SET_CONTEST,
    ST_SOURCE_FETCHES,
    ST_N
};

static const char *const stmt_sql[ST_N] = {
    [ST_IMPORT] = "INSERT OR IGNORE INTO tokens(address) VALUES (?1)",
    /* Tokens whose lease ran out are free to take, whoever held them. */
    /* --once: pending tokens, then owed ones that are due. Each part walks
     * its own index and stops at the batch size, so a claim costs the same
     * with ten thousand tokens done as with none (a single OR over both
     * conditions scanned the whole table on every claim). */
    [ST_CLAIM] =
        "UPDATE tokens SET claimed_by = ?1, claim_id = ?2, lease_until = ?3 + ?4"
        " WHERE address IN (SELECT address FROM ("
        /* ?6: keyset, the last pending address this connection claimed:
         * the rows before it are claimed and in flight (still pending until
         * their commit), and walking them again on every claim cost more
         * than the rest of the claim (sqlite_claim wraps round to ''). */
        "  SELECT * FROM (SELECT address, next_refresh_at FROM tokens INDEXED BY tokens_status"
        "   WHERE status = 'pending' AND address > ?6 AND lease_until <= ?3 ORDER BY address LIMIT ?5)"
        "  UNION ALL"
        "  SELECT * FROM (SELECT address, next_refresh_at FROM tokens INDEXED BY tokens_owed"
        "   WHERE outstanding_sources IS NOT NULL AND status != 'pending' AND next_refresh_at <= ?3"
        "   AND lease_until <= ?3 ORDER BY next_refresh_at LIMIT ?5))"
        " ORDER BY next_refresh_at, address LIMIT ?5)"
        " RETURNING address, outstanding_sources, outstanding_attempts, status = 'pending'",
    /* daemon-style: every token due by next_refresh_at, in due order */
    [ST_CLAIM_DUE] =
        "UPDATE tokens SET claimed_by = ?1, claim_id = ?2, lease_until = ?3 + ?4"
        " WHERE address IN (SELECT address FROM tokens INDEXED BY tokens_due"
        " WHERE next_refresh_at <= ?3 AND lease_until <= ?3 ORDER BY next_refresh_at, address LIMIT ?5)"
        " RETURNING address, outstanding_sources, outstanding_attempts",
    [ST_CLAIM_ADDRESS] =
        "UPDATE tokens SET claimed_by = ?1, claim_id = ?2, lease_until = ?3 + ?4"
        " WHERE address = ?5 AND lease_until <= ?3"
        " AND (?6 = 0 OR status = 'pending' OR next_refresh_at <= ?6)"
        " RETURNING address, outstanding_sources, outstanding_attempts,"
        " (SELECT price_usd FROM token_prices p WHERE p.address = tokens.address)",
    [ST_SCAN] =
        "SELECT t.address, t.status, t.next_refresh_at, t.refresh_interval_seconds, t.in_contest, t.created_at,"
        " p.price_usd, p.market_cap, p.volume_24h, p.change_24h"
        " FROM tokens t LEFT JOIN token_prices p ON p.address = t.address WHERE t.created_at >= ?1",
    [ST_RELEASE] =
        "UPDATE tokens SET claimed_by = NULL, claim_id = NULL, lease_until = 0 WHERE address = ?1 AND claim_id = ?2",
    [ST_LOAD_SOURCES] = "SELECT source, data FROM token_sources WHERE address = ?1",
    /* The token's metadata_at, then each source's fetched_at and price. */
    [ST_SOURCE_FETCHES] = "SELECT NULL, coalesce(json_extract(refresh_metadata, '$.metadata_at'), 0), NULL"
                          " FROM tokens WHERE address = ?1 UNION ALL"
                          " SELECT source, fetched_at, json_extract(data, '$.price_usd') FROM token_sources"
                          " WHERE address = ?1",
    [ST_COUNT_STATUS] = "SELECT status, count(*) FROM tokens GROUP BY status",
    /* The change feed's head (store_sqlite_commit.c writes it). */
    [ST_SEQ_GET] = "SELECT seq FROM change_counter",
    [ST_CHANGES] =
        "SELECT t.change_seq, t.address, t.status, t.name, t.symbol, t.decimals, t.image_url, p.price_usd,"
        " p.market_cap, p.fdv, p.liquidity_usd, p.volume_24h, p.change_24h, t.last_refresh_success"
        " FROM tokens t INDEXED BY tokens_change_seq LEFT JOIN token_prices p ON p.address = t.address"
        " WHERE t.change_seq > ?1 ORDER BY t.change_seq LIMIT ?2",
    [ST_SET_CONTEST] = "UPDATE tokens SET in_contest = ?2 WHERE address = ?1",
};

typedef struct sqlite_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[ST_N];
    sqlite_writer *writer; /* the commit's statements (NULL: a reader) */
    char *claim_after; /* the keyset of ST_CLAIM's pending part (NULL: from the start) */
} sqlite_store;

int store_sqlite_error(sqlite3 *db, const char *path, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "sqlite %s: %s: %s", path, what, sqlite3_errmsg(db));
    return -1;
}

static int db_error(sqlite_store *s, char *err, size_t errlen, const char *what)
{
    return store_sqlite_error(s->db, s->path, err, errlen, what);
}

static void make_parent_dirs(const char *path)
{
    char *copy = xstrdup(path);
    for (char *p = copy + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(copy, 0755);
            *p = '/';
        }
    free(copy);
}

static void free_store(sqlite_store *s)
{
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(s->st[i]);
    sqlite_writer_free(s->writer);
    sqlite3_close(s->db);
    free(s->claim_after);
    free(s->path);
    free(s);
}

/* Opens PATH with FLAGS into a new store; NULL with ERR. */
static sqlite_store *open_db(const char *path, int flags, char *err, size_t errlen)
{
    sqlite_store *s = xcalloc(1, sizeof *s);
    s->path = xstrdup(path);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        db_error(s, err, errlen, "open");
        free_store(s);
        return NULL;
    }
    return s;
}

static int prepare_all(sqlite_store *s, char *err, size_t errlen)
{
    for (int i = 0; i < ST_N; i++)
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK)
            return db_error(s, err, errlen, "prepare");
    return 0;
}

void *store_sqlite_open(const char *path, char *err, size_t errlen)
{
    if (!*path) {
        snprintf(err, errlen, "store sqlite: empty path (expected sqlite:PATH)");
        return NULL;
    }
    make_parent_dirs(path);
    sqlite_store *s = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen);
    if (!s)
        return NULL;
    sqlite3_busy_timeout(s->db, 10000);
    char *emsg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                     " PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;",
                     NULL, NULL, &emsg) != SQLITE_OK ||
        store_sqlite_schema(s->db, path, &emsg) != 0) {
        snprintf(err, errlen, "sqlite %s: schema: %s", path, emsg ? emsg : sqlite3_errmsg(s->db));
        sqlite3_free(emsg);
        free_store(s);
        return NULL;
    }
    if (prepare_all(s, err, errlen) != 0 || !(s->writer = sqlite_writer_new(s->db, s->path, err, errlen))) {
        free_store(s);
        return NULL;
    }
    return s;
}

/* The first column of SQL's first row as text into OUT ("" when none). */
static void first_text(sqlite_store *s, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* Read-only: it cannot change the journal mode, so the file must be in WAL
 * mode already (every store_open sets it), where readers and the writer
 * never wait for each other. */
void *store_sqlite_open_reader(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (!*path || stat(path, &sb) != 0) {
        snprintf(err, errlen,
                 "sqlite %s: no store there (a collector, `tokencollector migrate` or `import` creates it)", path);
        return NULL;
    }
    sqlite_store *s = open_db(path, SQLITE_OPEN_READONLY, err, errlen);
    if (!s)
        return NULL;
    /* Busy only in the instants a WAL reader must retry (WAL reset or
     * recovery): waited out, never reported. */
    sqlite3_busy_timeout(s->db, 5000);
    char mode[16], version[16];
    sqlite3_exec(s->db, "PRAGMA query_only=ON; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;", NULL, NULL,
                 NULL);
    first_text(s, "PRAGMA journal_mode", mode, sizeof mode);
    first_text(s, "SELECT max(version) FROM schema_version", version, sizeof version);
    if (atoi(version) < STORE_SQLITE_SCHEMA_VERSION) {
        snprintf(err, errlen, "sqlite %s: schema version %s, this build reads %d: run `tokencollector migrate`", path,
                 *version ? version : "none", STORE_SQLITE_SCHEMA_VERSION);
        free_store(s);
        return NULL;
    }
    if (strcmp(mode, "wal") != 0) {
        snprintf(err, errlen, "sqlite %s: journal mode \"%s\", readers need WAL (a collector or "
                 "`tokencollector migrate` sets it)", path, mode);
        free_store(s);
        return NULL;
    }
    if (prepare_all(s, err, errlen) != 0) {
        free_store(s);
        return NULL;
    }
    return s;
}

static void sqlite_close(void *be) { free_store(be); }

static int exec_simple(sqlite_store *s, const char *sql, char *err, size_t errlen)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(s, err, errlen, sql);
    return 0;
}

int store_sqlite_step(sqlite3 *db, const char *path, sqlite3_stmt *st, char *err, size_t errlen, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_sqlite_error(db, path, err, errlen, what);
    return 0;
}

static int step_done(sqlite_store *s, sqlite3_stmt *st, char *err, size_t errlen, const char *what)
{
    return store_sqlite_step(s->db, s->path, st, err, errlen, what);
}

static int sqlite_import(void *be, const char *const *addrs, size_t n, size_t *inserted, char *err,
                         size_t errlen)
{
    sqlite_store *s = be;
    *inserted = 0;
    if (exec_simple(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(s->st[ST_IMPORT], 1, addrs[i], -1, SQLITE_STATIC);
        if (step_done(s, s->st[ST_IMPORT], err, errlen, "import")) {
            exec_simple(s, "ROLLBACK", err, 0);
            *inserted = 0;
            return -1;
        }
        *inserted += (size_t)sqlite3_changes(s->db);
    }
    return exec_simple(s, "COMMIT", err, errlen);
}

static int compare_claimed(const void *a, const void *b)
{
    return strcmp(((const claimed_token *)a)->address, ((const claimed_token *)b)->address);
}

static char *column_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

/* One pass of ST_CLAIM or ST_CLAIM_DUE for up to MAX more tokens, appended
 * to LIST from *COUNT; the highest pending address claimed into *LAST. */
static int claim_pass(sqlite3_stmt *st, const claim_request *rq, size_t max, const char *after,
                      claimed_token *list, size_t *count, char **last)
{
    sqlite3_bind_text(st, 1, rq->owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rq->claim_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rq->now);
    sqlite3_bind_int64(st, 4, rq->lease_s);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)max);
    if (!rq->due)
        sqlite3_bind_text(st, 6, after ? after : "", -1, SQLITE_STATIC);
    size_t end = *count + max;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *count < end) {
        claimed_token *c = &list[(*count)++];
        c->address = column_dup(st, 0);
        c->outstanding = column_dup(st, 1);
        c->outstanding_attempts = sqlite3_column_int(st, 2);
        c->price_usd = NAN;
        if (!rq->due && sqlite3_column_int(st, 3) && (!*last || strcmp(c->address, *last) > 0)) {
            free(*last);
            *last = xstrdup(c->address);
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int sqlite_claim(void *be, const claim_request *rq, claimed_token **out, size_t *n, char *err,
                        size_t errlen)
{
    sqlite_store *s = be;
    sqlite3_stmt *st = s->st[rq->due ? ST_CLAIM_DUE : ST_CLAIM];
    if (exec_simple(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    claimed_token *list = xcalloc(rq->max ? rq->max : 1, sizeof *list);
    size_t count = 0;
    char *last = NULL;
    int rc = claim_pass(st, rq, rq->max, s->claim_after, list, &count, &last);
    /* Short after the keyset: the pending tokens before it (released, or
     * whose lease ran out) are taken from the start. */
    if (!rc && !rq->due && count < rq->max && s->claim_after)
        rc = claim_pass(st, rq, rq->max - count, NULL, list, &count, &last);
    if (rc || exec_simple(s, "COMMIT", err, errlen)) {
        if (rc)
            db_error(s, err, errlen, "claim");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        claimed_tokens_free(list, count);
        free(last);
        return -1;
    }
    if (last) {
        free(s->claim_after);
        s->claim_after = last;
    }
    /* RETURNING gives no order; batches are easier to follow sorted. */
    qsort(list, count, sizeof *list, compare_claimed);
    *out = list;
    *n = count;
    return 0;
}

static int sqlite_claim_addresses(void *be, const claim_request *rq, const char *const *addrs, size_t n,
                                  claimed_token **out, size_t *n_out, char *err, size_t errlen)
{
    sqlite_store *s = be;
    sqlite3_stmt *st = s->st[ST_CLAIM_ADDRESS];
    if (exec_simple(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    claimed_token *list = xcalloc(n ? n : 1, sizeof *list);
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, rq->owner, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rq->claim_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, rq->now);
        sqlite3_bind_int64(st, 4, rq->lease_s);
        sqlite3_bind_text(st, 5, addrs[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, rq->due_before);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            claimed_token *c = &list[count++];
            c->address = column_dup(st, 0);
            c->outstanding = column_dup(st, 1);
            c->outstanding_attempts = sqlite3_column_int(st, 2);
            c->price_usd = sqlite3_column_type(st, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 3);
            rc = sqlite3_step(st);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE) {
            db_error(s, err, errlen, "claim addresses");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            claimed_tokens_free(list, count);
            return -1;
        }
    }
    if (exec_simple(s, "COMMIT", err, errlen)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        claimed_tokens_free(list, count);
        return -1;
    }
    *out = list;
    *n_out = count;
    return 0;
}

static double column_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int sqlite_scan(void *be, int64_t since, store_token_cb cb, void *ctx, char *err, size_t errlen)
{
    sqlite_store *s = be;
    sqlite3_stmt *st = s->st[ST_SCAN];
    sqlite3_bind_int64(st, 1, since);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        token_brief t = {.address = (const char *)sqlite3_column_text(st, 0),
                         .status = STATUS_PENDING,
                         .next_refresh_at = sqlite3_column_int64(st, 2),
                         .refresh_interval_s = sqlite3_column_int(st, 3),
                         .in_contest = sqlite3_column_int(st, 4),
                         .created_at = sqlite3_column_int64(st, 5),
                         .price_usd = column_num(st, 6),
                         .market_cap = column_num(st, 7),
                         .volume_24h = column_num(st, 8),
                         .change_24h = column_num(st, 9)};
        const char *status = (const char *)sqlite3_column_text(st, 1);
        for (int k = 0; k < STATUS_COUNT; k++)
            if (!strcmp(status, status_name((token_status)k)))
                t.status = (token_status)k;
        cb(ctx, &t);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return db_error(s, err, errlen, "scan");
    return 0;
}

static int sqlite_set_contest(void *be, const char *const *addrs, size_t n, int in_contest, size_t *updated,
                              char *err, size_t errlen)
{
    sqlite_store *s = be;
    *updated = 0;
    if (exec_simple(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(s->st[ST_SET_CONTEST], 1, addrs[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(s->st[ST_SET_CONTEST], 2, in_contest != 0);
        if (step_done(s, s->st[ST_SET_CONTEST], err, errlen, "set in_contest")) {
            exec_simple(s, "ROLLBACK", err, 0);
            *updated = 0;
            return -1;
        }
        *updated += (size_t)sqlite3_changes(s->db);
    }
    return exec_simple(s, "COMMIT", err, errlen);
}

static int sqlite_load_sources(void *be, const char *const *addrs, size_t n, store_source_cb cb, void *ctx,
                               char *err, size_t errlen)
{
    sqlite_store *s = be;
    sqlite3_stmt *st = s->st[ST_LOAD_SOURCES];
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, addrs[i], -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            cb(ctx, addrs[i], (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE)
            return db_error(s, err, errlen, "load token_sources");
    }
    return 0;
}

static int sqlite_source_fetches(void *be, const char *const *addrs, size_t n, store_fetch_cb cb, void *ctx,
                                 char *err, size_t errlen)
{
    sqlite_store *s = be;
    sqlite3_stmt *st = s->st[ST_SOURCE_FETCHES];
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, addrs[i], -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            cb(ctx, addrs[i], (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
               sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE)
            return db_error(s, err, errlen, "load token_sources fetch times");
    }
    return 0;
}

static int sqlite_release(void *be, const char *const *addrs, size_t n, const char *claim_id, char *err,
                          size_t errlen)
{
    sqlite_store *s = be;
    if (exec_simple(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = s->st[ST_RELEASE];
        sqlite3_bind_text(st, 1, addrs[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, claim_id, -1, SQLITE_STATIC);
        if (step_done(s, st, err, errlen, "release")) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return exec_simple(s, "COMMIT", err, errlen);
}

static int sqlite_commit(void *be, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                         size_t *fenced, char *err, size_t errlen)
{
    sqlite_store *s = be;
    if (!s->writer) {
        snprintf(err, errlen, "sqlite %s: opened read-only", s->path);
        return -1;
    }
    return sqlite_writer_commit(s->writer, tokens, n, now, claim_id, fenced, err, errlen);
}

static int sqlite_count_by_status(void *be, uint64_t counts[STATUS_COUNT], char *err, size_t errlen)
{
    sqlite_store *s = be;
    memset(counts, 0, STATUS_COUNT * sizeof *counts);
    sqlite3_stmt *st = s->st[ST_COUNT_STATUS];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        for (int k = 0; k < STATUS_COUNT; k++)
            if (!strcmp(name, status_name((token_status)k)))
                counts[k] = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(s, err, errlen, "count");
    return 0;
}

sqlite3 *store_sqlite_db(void *be) { return ((sqlite_store *)be)->db; }
const char *store_sqlite_path(void *be) { return ((sqlite_store *)be)->path; }

/* ---- the change feed ------------------------------------------------------------- */

static int sqlite_changes(void *be, int64_t since, size_t limit, store_change_cb cb, void *ctx, int64_t *head,
                          char *err, size_t errlen)
{
    sqlite_store *s = be;
    /* One read transaction: the counter and the rows from one snapshot. */
    if (exec_simple(s, "BEGIN", err, errlen))
        return -1;
    sqlite3_stmt *st = s->st[ST_SEQ_GET];
    int rc = sqlite3_step(st);
    *head = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == SQLITE_ROW && limit > 0) {
        st = s->st[ST_CHANGES];
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *status = (const char *)sqlite3_column_text(st, 2);
            token_change c = {.seq = sqlite3_column_int64(st, 0),
                              .address = (const char *)sqlite3_column_text(st, 1),
                              .status = STATUS_PENDING,
                              .name = (const char *)sqlite3_column_text(st, 3),
                              .symbol = (const char *)sqlite3_column_text(st, 4),
                              .has_decimals = sqlite3_column_type(st, 5) != SQLITE_NULL,
                              .decimals = sqlite3_column_int(st, 5),
                              .image_url = (const char *)sqlite3_column_text(st, 6),
                              .price_usd = column_num(st, 7),
                              .market_cap = column_num(st, 8),
                              .fdv = column_num(st, 9),
                              .liquidity_usd = column_num(st, 10),
                              .volume_24h = column_num(st, 11),
                              .change_24h = column_num(st, 12),
                              .refreshed_at = sqlite3_column_int64(st, 13)};
            for (int k = 0; status && k < STATUS_COUNT; k++)
                if (!strcmp(status, status_name((token_status)k)))
                    c.status = (token_status)k;
            cb(ctx, &c);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_ROW;
    }
    if (rc != SQLITE_ROW) {
        db_error(s, err, errlen, "read the change feed");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return exec_simple(s, "COMMIT", err, errlen);
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .import = sqlite_import,
    .claim = sqlite_claim,
    .load_sources = sqlite_load_sources,
    .source_fetches = sqlite_source_fetches,
    .claim_addresses = sqlite_claim_addresses,
    .scan = sqlite_scan,
    .set_contest = sqlite_set_contest,
    .release = sqlite_release,
    .commit = sqlite_commit,
    .count_by_status = sqlite_count_by_status,
    .close = sqlite_close,
    .list_tokens = store_sqlite_list_tokens,
    .get_token = store_sqlite_get_token,
    .changes = sqlite_changes,
    .recover_claims = store_sqlite_recover_claims,
};
