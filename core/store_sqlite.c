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
    ST_UPDATE_TOKEN,
    ST_PRICE_CHANGED,
    ST_UPSERT_PRICE,
    ST_DEL_SOCIALS,
    ST_INS_SOCIAL,
    ST_DEL_WEBSITES,
    ST_INS_WEBSITE,
    ST_UPSERT_SOURCE,
    ST_DEL_SOURCE,
    ST_LOAD_SOURCES,
    ST_COUNT_STATUS,
    ST_SEQ_GET,
    ST_SEQ_SET,
    ST_SET_CHANGE,
    ST_PRICE_SAME,
    ST_SOURCE_SAME,
    ST_LINKS_SIG,
    ST_CHANGES,
    ST_SET_CONTEST,
    ST_N
};

/* The status a commit writes (?2 the new one): a failed refresh does not
 * demote a token that has data. */
#define NEW_STATUS "CASE WHEN ?2 = 'failed' AND status IN ('enriched','no_data') THEN status ELSE ?2 END"

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
    /* A failed refresh does not demote a token that has data. Unknown
     * fields keep the last known value. */
    [ST_UPDATE_TOKEN] =
        "UPDATE tokens SET"
        /* ?17: the next change_seq, taken when a status or field changes
         * (SET sees the row as it was). */
        " change_seq = CASE WHEN status IS NOT " NEW_STATUS " OR name IS NOT COALESCE(?3, name)"
        "  OR symbol IS NOT COALESCE(?4, symbol) OR decimals IS NOT COALESCE(?5, decimals)"
        "  OR image_url IS NOT COALESCE(?6, image_url) OR description IS NOT COALESCE(?7, description)"
        "  OR supply IS NOT COALESCE(?8, supply) THEN ?17 ELSE change_seq END,"
        " status = " NEW_STATUS ","
        " name = COALESCE(?3, name), symbol = COALESCE(?4, symbol), decimals = COALESCE(?5, decimals),"
        " image_url = COALESCE(?6, image_url), description = COALESCE(?7, description),"
        " supply = COALESCE(?8, supply),"
        " enrichment_attempts = enrichment_attempts + 1, last_refresh_attempt = ?9,"
        " last_refresh_success = CASE WHEN ?2 IN ('enriched','no_data') THEN ?9 ELSE last_refresh_success END,"
        " refresh_metadata = ?10,"
        " refresh_interval_seconds = CASE WHEN ?12 > 0 THEN ?12 ELSE refresh_interval_seconds END,"
        " next_refresh_at = CASE WHEN ?13 > 0 THEN ?13"
        "  ELSE ?9 + CASE WHEN ?12 > 0 THEN ?12 ELSE refresh_interval_seconds END END,"
        " outstanding_sources = ?14, outstanding_attempts = ?15,"
        " priority_score = COALESCE(?16, priority_score),"
        " claimed_by = NULL, claim_id = NULL, lease_until = 0"
        " WHERE address = ?1 AND claim_id IS ?11 RETURNING change_seq = ?17",
    [ST_PRICE_CHANGED] =
        "UPDATE tokens SET last_price_change = ?2 WHERE address = ?1 AND"
        " (SELECT price_usd FROM token_prices WHERE address = ?1) IS NOT ?3",
    [ST_UPSERT_PRICE] =
        "INSERT INTO token_prices(address, price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h,"
        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(address) DO UPDATE SET price_usd = COALESCE(excluded.price_usd, price_usd),"
        " market_cap = COALESCE(excluded.market_cap, market_cap), fdv = COALESCE(excluded.fdv, fdv),"
        " liquidity_usd = COALESCE(excluded.liquidity_usd, liquidity_usd),"
        " volume_24h = COALESCE(excluded.volume_24h, volume_24h),"
        " change_24h = COALESCE(excluded.change_24h, change_24h), updated_at = excluded.updated_at",
    [ST_DEL_SOCIALS] = "DELETE FROM token_socials WHERE address = ?1",
    [ST_INS_SOCIAL] = "INSERT OR IGNORE INTO token_socials(address, type, url) VALUES (?1, ?2, ?3)",
    [ST_DEL_WEBSITES] = "DELETE FROM token_websites WHERE address = ?1",
    [ST_INS_WEBSITE] = "INSERT OR IGNORE INTO token_websites(address, label, url) VALUES (?1, ?2, ?3)",
    [ST_UPSERT_SOURCE] =
        "INSERT INTO token_sources(address, source, data, fetched_at, plugin_version) VALUES (?1, ?2, ?3, ?4, ?5)"
        " ON CONFLICT(address, source) DO UPDATE SET data = excluded.data, fetched_at = excluded.fetched_at,"
        " plugin_version = excluded.plugin_version WHERE excluded.fetched_at >= token_sources.fetched_at",
    [ST_DEL_SOURCE] = "DELETE FROM token_sources WHERE address = ?1 AND source = ?2",
    [ST_LOAD_SOURCES] = "SELECT source, data FROM token_sources WHERE address = ?1",
    [ST_COUNT_STATUS] = "SELECT status, count(*) FROM tokens GROUP BY status",
    /* The change feed's counter (read and written once per commit, under
     * the write lock) and a token's place in it. */
    [ST_SEQ_GET] = "SELECT seq FROM change_counter",
    [ST_SEQ_SET] = "UPDATE change_counter SET seq = ?1",
    [ST_SET_CHANGE] = "UPDATE tokens SET change_seq = ?2 WHERE address = ?1",
    /* Market data and source records as stored already: only their time is
     * written (no change for the feed); else the upsert writes them. */
    [ST_PRICE_SAME] =
        "UPDATE token_prices SET updated_at = ?8 WHERE address = ?1 AND price_usd IS COALESCE(?2, price_usd)"
        " AND market_cap IS COALESCE(?3, market_cap) AND fdv IS COALESCE(?4, fdv)"
        " AND liquidity_usd IS COALESCE(?5, liquidity_usd) AND volume_24h IS COALESCE(?6, volume_24h)"
        " AND change_24h IS COALESCE(?7, change_24h)",
    [ST_SOURCE_SAME] = "UPDATE token_sources SET fetched_at = ?4, plugin_version = ?5 WHERE address = ?1"
                       " AND source = ?2 AND data = ?3 AND fetched_at <= ?4",
    /* A token's link sets as one text, compared before and after a relink. */
    [ST_LINKS_SIG] =
        "SELECT ifnull((SELECT group_concat(quote(type) || ',' || quote(url), ';') FROM"
        " (SELECT type, url FROM token_socials WHERE address = ?1 ORDER BY type, url)), '') || '|' ||"
        " ifnull((SELECT group_concat(quote(label) || ',' || quote(url), ';') FROM"
        " (SELECT label, url FROM token_websites WHERE address = ?1 ORDER BY url)), '')",
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
    int64_t next_seq; /* during a commit: the change_seq the next changed token takes */
    char *claim_after; /* the keyset of ST_CLAIM's pending part (NULL: from the start) */
} sqlite_store;

static int db_error(sqlite_store *s, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "sqlite %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return -1;
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
    if (prepare_all(s, err, errlen) != 0) {
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

static int step_done(sqlite_store *s, sqlite3_stmt *st, char *err, size_t errlen, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_error(s, err, errlen, what);
    return 0;
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

static void bind_opt_text(sqlite3_stmt *st, int idx, const tc_values *v, int field)
{
    if (values_has(v, field))
        sqlite3_bind_text(st, idx, v->str[field], -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}

static void bind_opt_num(sqlite3_stmt *st, int idx, const tc_values *v, int field)
{
    if (values_has(v, field))
        sqlite3_bind_double(st, idx, v->num[field]);
    else
        sqlite3_bind_null(st, idx);
}

static int has_market_data(const tc_values *v)
{
    for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
        if (values_has(v, f))
            return 1;
    return 0;
}

/* A token's link sets as one text (malloc'd; "" on error, which the
 * statement that follows reports). */
static char *links_signature(sqlite_store *s, const char *address)
{
    sqlite3_stmt *st = s->st[ST_LINKS_SIG];
    sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
    char *sig = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        sig = column_dup(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return sig ? sig : xstrdup("");
}

/* One token of a commit: written behind its claim fence; when its stored
 * data changed it takes s->next_seq. */
static int commit_one(sqlite_store *s, const token_result *t, int64_t now, const char *claim_id, size_t *fenced,
                      char *err, size_t errlen)
{
    const tc_values *m = &t->merged;
    sqlite3_stmt *st = s->st[ST_UPDATE_TOKEN];
    char *meta = store_refresh_metadata(t);
    sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status_name(t->status), -1, SQLITE_STATIC);
    bind_opt_text(st, 3, m, TC_NAME);
    bind_opt_text(st, 4, m, TC_SYMBOL);
    if (values_has(m, TC_DECIMALS))
        sqlite3_bind_int(st, 5, (int)m->num[TC_DECIMALS]);
    else
        sqlite3_bind_null(st, 5);
    bind_opt_text(st, 6, m, TC_IMAGE_URL);
    bind_opt_text(st, 7, m, TC_DESCRIPTION);
    bind_opt_text(st, 8, m, TC_SUPPLY);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_text(st, 10, meta, -1, SQLITE_STATIC);
    if (claim_id)
        sqlite3_bind_text(st, 11, claim_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 11);
    sqlite3_bind_int(st, 12, t->refresh_interval_s);
    sqlite3_bind_int64(st, 13, t->next_refresh_at);
    char *outstanding = store_outstanding_sources(t);
    if (outstanding)
        sqlite3_bind_text(st, 14, outstanding, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 14);
    sqlite3_bind_int(st, 15, outstanding ? t->outstanding_attempts : 0);
    if (isnan(t->priority_score))
        sqlite3_bind_null(st, 16);
    else
        sqlite3_bind_double(st, 16, t->priority_score);
    sqlite3_bind_int64(st, 17, s->next_seq);
    /* A row back: written, and whether a status or field changed (then it
     * took next_seq). None: claimed by someone else since (our lease ran
     * out), or deleted: their data is not ours to overwrite. */
    int rc = sqlite3_step(st), written = rc == SQLITE_ROW;
    int seq_taken = written && sqlite3_column_int(st, 0);
    if (written)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(meta);
    free(outstanding);
    if (rc != SQLITE_DONE)
        return db_error(s, err, errlen, "update tokens");
    if (!written) {
        (*fenced)++;
        return 0;
    }
    int changed = seq_taken;

    if (has_market_data(m)) {
        if (values_has(m, TC_PRICE_USD)) {
            st = s->st[ST_PRICE_CHANGED];
            sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, now);
            sqlite3_bind_double(st, 3, m->num[TC_PRICE_USD]);
            if (step_done(s, st, err, errlen, "update last_price_change"))
                return -1;
        }
        for (int k = 0; k < 2; k++) { /* as stored: its time only; else the upsert */
            st = s->st[k ? ST_UPSERT_PRICE : ST_PRICE_SAME];
            sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
            for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
                bind_opt_num(st, 2 + (f - TC_PRICE_USD), m, f);
            sqlite3_bind_int64(st, 8, now);
            if (step_done(s, st, err, errlen, k ? "upsert token_prices" : "update token_prices"))
                return -1;
            if (sqlite3_changes(s->db) > 0) {
                changed |= k;
                break;
            }
        }
    }

    if (t->status == STATUS_ENRICHED) {
        char *links_before = links_signature(s, t->address);
        /* Link sets are replaced whole on every successful refresh. */
        static const int kinds[2] = {TC_LINK_SOCIAL, TC_LINK_WEBSITE};
        for (int k = 0; k < 2; k++) {
            int social = kinds[k] == TC_LINK_SOCIAL;
            st = s->st[social ? ST_DEL_SOCIALS : ST_DEL_WEBSITES];
            sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
            if (step_done(s, st, err, errlen, "delete links"))
                return -1;
            st = s->st[social ? ST_INS_SOCIAL : ST_INS_WEBSITE];
            for (size_t i = 0; i < m->n_links; i++) {
                if (m->links[i].kind != kinds[k])
                    continue;
                sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
                if (m->links[i].label)
                    sqlite3_bind_text(st, 2, m->links[i].label, -1, SQLITE_STATIC);
                else if (social)
                    sqlite3_bind_text(st, 2, "", 0, SQLITE_STATIC); /* type is NOT NULL: keep the link */
                else
                    sqlite3_bind_null(st, 2);
                sqlite3_bind_text(st, 3, m->links[i].url, -1, SQLITE_STATIC);
                if (step_done(s, st, err, errlen, "insert link")) {
                    free(links_before);
                    return -1;
                }
            }
        }
        char *links_after = links_signature(s, t->address);
        changed |= strcmp(links_before, links_after) != 0;
        free(links_before);
        free(links_after);
    }

    for (size_t i = 0; i < t->n_sources; i++) {
        if (t->outcomes[i] == OUTCOME_FOUND) {
            char *json = values_to_json(&t->per_source[i]);
            rc = 0;
            for (int k = 0; k < 2 && !rc; k++) { /* as stored: its time and version only; else the upsert */
                st = s->st[k ? ST_UPSERT_SOURCE : ST_SOURCE_SAME];
                sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, t->source_names[i], -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, now);
                sqlite3_bind_text(st, 5, t->per_source[i].plugin_version, -1, SQLITE_STATIC); /* NULL: NULL */
                rc = step_done(s, st, err, errlen, k ? "upsert token_sources" : "update token_sources");
                if (!rc && sqlite3_changes(s->db) > 0) {
                    changed |= k;
                    break;
                }
            }
            free(json);
            if (rc)
                return -1;
        } else if (t->outcomes[i] == OUTCOME_MISSING) {
            st = s->st[ST_DEL_SOURCE];
            sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, t->source_names[i], -1, SQLITE_STATIC);
            if (step_done(s, st, err, errlen, "delete token_sources"))
                return -1;
            changed |= sqlite3_changes(s->db) > 0;
        }
    }
    if (changed && !seq_taken) {
        st = s->st[ST_SET_CHANGE];
        sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, s->next_seq);
        if (step_done(s, st, err, errlen, "update change_seq"))
            return -1;
    }
    s->next_seq += changed;
    return 0;
}

static int sqlite_commit(void *be, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                         size_t *fenced, char *err, size_t errlen)
{
    sqlite_store *s = be;
    *fenced = 0;
    if (exec_simple(s, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    /* The write lock is held from here: change_seq follows commit order. */
    sqlite3_stmt *st = s->st[ST_SEQ_GET];
    int rc = sqlite3_step(st);
    int64_t first = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) + 1 : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        db_error(s, err, errlen, "read change_counter");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    s->next_seq = first;
    for (size_t i = 0; i < n; i++)
        if (commit_one(s, &tokens[i], now, claim_id, fenced, err, errlen)) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " (token %s; batch of %zu rolled back)", tokens[i].address, n);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    if (s->next_seq > first) {
        st = s->st[ST_SEQ_SET];
        sqlite3_bind_int64(st, 1, s->next_seq - 1);
        if (step_done(s, st, err, errlen, "update change_counter")) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return exec_simple(s, "COMMIT", err, errlen);
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
};
