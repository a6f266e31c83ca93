/* PostgreSQL store backend (libpq), selected by `store = postgresql://...`.
 * This file owns the backend's life: connecting, the schema migrations, the
 * vtable, and the one-statement operations (import, scan, load_sources,
 * count_by_status). It must not hold a prepared statement's text or build
 * the commit's or the claims' parameters; the rest of the backend is in
 * store_pg_sql.c (statement texts), store_pg_session.c (retries, messages),
 * store_pg_array.c (array encoding), store_pg_claim.c (claims, release),
 * store_pg_commit.c (the commit), store_pg_rows.c (the commit's row diffs),
 * store_pg_json.c (the commit's JSON) and store_pg_read.c (the HTTP API's
 * reads). */

/* The backend as a whole.
 *
 * Same logical schema and semantics as store_sqlite.c (the reference), with
 * these PostgreSQL specifics:
 *
 * - Times are timestamptz; the store API speaks unix seconds, converted with
 *   to_timestamp(). The clock is the collector's (claim_request.now, the
 *   commit's now), as with SQLite, so tests can move time.
 * - Every operation but the commit is ONE prepared statement, so one round
 *   trip and one transaction (autocommit). The commit of a batch is one
 *   transaction of two prepared statements sent in pipeline mode (two round
 *   trips; see store_pg_sql.c and store_pg_commit.c): A updates `tokens`
 *   with the claim fence and returns what is stored of each token it wrote;
 *   B writes the other tables for those tokens only, and only the rows that
 *   change, so a token whose claim was taken over gets nothing written at
 *   all. Their arrays go in PostgreSQL's binary format (no number formatting
 *   or parsing).
 * - An older observation never overwrites a newer one: token_prices keeps
 *   updated_at <= the new one, token_sources fetched_at, and the token's own
 *   fields (and its link sets) are only replaced when the commit's time is not
 *   older than last_refresh_attempt. The attempt counter and the claim are
 *   always updated.
 * - Keys are sorted and de-duplicated in C, so concurrent writers lock rows in
 *   the same order.
 * - Retryable errors (class 08 connection, 40001 serialization, 40P01
 *   deadlock, 57P01..57P03 shutdown, or a connection gone bad) reset the
 *   connection when needed and run the whole operation again, with backoff
 *   100 ms doubling to 5 s (jittered), 10 attempts (about 10-20 s in all);
 *   then the call fails and the batch stays claimed until its lease ends (it
 *   is due again after that, never marked done without its data). Other
 *   errors (constraints, data) fail at once. Text that is not valid UTF-8
 *   is stored with U+FFFD in place of the bad bytes rather than failing the
 *   batch for ever.
 * - Messages name the store as "postgresql URI" with any password removed;
 *   the password itself comes from the URI, ${PGPASSWORD} or ~/.pgpass
 *   (libpq's own rules) and is never printed.
 *
 * Lost replies: when the connection drops while a statement is in flight,
 * the server may or may not have committed it. A claim retried takes back
 * the tokens its lost attempt claimed (same claim id); a commit retried first
 * counts the batch's tokens that its lost attempt wrote (claim ended at this
 * commit's time): they are reported written, the fence keeps them from
 * being written twice. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_pg_internal.h"
#include "store_pg_schema.h"

/* ---- connection --------------------------------------------------------------------- */

static PGconn *pg_connect(const char *uri)
{
    /* Later keywords win: defaults before the URI, what we rely on after. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding",
                                NULL};
    const char *const vals[] = {"10", "tokencollector", uri, "UTF8", NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static void pg_free(pg_store *s)
{
    if (!s)
        return;
    if (s->conn)
        PQfinish(s->conn);
    for (int i = 0; i < ARR_N; i++)
        sb_free(&s->arr[i].b);
    sb_free(&s->tmp);
    sb_free(&s->json);
    free(s->uri);
    free(s->display);
    free(s);
}

static pg_store *pg_open(const char *uri, char *err, size_t errlen)
{
    pg_store *s = xcalloc(1, sizeof *s);
    s->uri = xstrdup(uri);
    s->display = store_pg_redact(uri);
    /* 10 attempts, steps 0.1 0.2 0.4 0.8 1.6 3.2 5 5 5 s (jittered to 50-100%):
     * a server restart or a fail-over of up to 10-20 s is ridden out. */
    s->max_attempts = 10;
    s->backoff_first_ms = 100;
    s->backoff_max_ms = 5000;
    s->jitter = ((uint64_t)getpid() << 32) ^ (uint64_t)now_mono_ns() ^ 0x9E3779B97F4A7C15ULL;
    if (!s->jitter)
        s->jitter = 1;
    s->conn = pg_connect(uri);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        store_pg_format_error(s, NULL, "connect", err, errlen);
        pg_free(s);
        return NULL;
    }
    return s;
}

/* ---- migrations ------------------------------------------------------------------------ */

typedef struct migrate_ctx {
    int from, to;
} migrate_ctx;

static int exec_cmd(pg_store *s, const char *sql, PGresult **out)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;
    }
    *out = r;
    return -1;
}

/* Inside the migration transaction, under its lock. */
static int schema_version(pg_store *s, migrate_ctx *m, PGresult **out)
{
    PGresult *r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        *out = r;
        return -1;
    }
    m->from = m->to = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int record_migration(pg_store *s, const pg_migration *mg, PGresult **out)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%d", mg->version);
    const char *params[2] = {ver, mg->name};
    PGresult *r = PQexecParams(s->conn, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2::text)",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        *out = r;
        return -1;
    }
    PQclear(r);
    return 0;
}

/* The migrations newer than m->from; *WHAT names the one that failed. */
static int apply_migrations(pg_store *s, migrate_ctx *m, PGresult **out, const char **what)
{
    for (int i = 0; i < PG_SCHEMA_VERSION; i++) {
        const pg_migration *mg = &pg_migrations[i];
        if (mg->version <= m->from)
            continue;
        static char what_buf[96];
        snprintf(what_buf, sizeof what_buf, "migration %d (%s)", mg->version, mg->name);
        *what = what_buf;
        if (exec_cmd(s, mg->sql, out) || record_migration(s, mg, out))
            return -1;
        m->to = mg->version;
    }
    *what = "migrate";
    return 0;
}

/* The advisory lock makes two processes migrating at once take turns. */
static int migrate_attempt(pg_store *s, void *vctx, PGresult **out, const char **what)
{
    migrate_ctx *m = vctx;
    *what = "migrate";
    if (exec_cmd(s, "BEGIN", out) || exec_cmd(s, "SET LOCAL client_min_messages = warning", out) ||
        exec_cmd(s, "SELECT pg_advisory_xact_lock(hashtext('tokencollector schema migration'))", out) ||
        exec_cmd(s, pg_migration_prelude, out) || schema_version(s, m, out) ||
        apply_migrations(s, m, out, what) || exec_cmd(s, "COMMIT", out)) {
        if (PQstatus(s->conn) == CONNECTION_OK)
            PQclear(PQexec(s->conn, "ROLLBACK"));
        return -1;
    }
    return 0;
}

static int pg_migrate(pg_store *s, int *from, int *to, char *err, size_t errlen)
{
    migrate_ctx m = {0, 0};
    if (store_pg_run_with_retry(s, migrate_attempt, &m, 0, err, errlen) != 0)
        return -1;
    if (m.from > PG_SCHEMA_VERSION)
        LOG_WARN("store", "postgresql %s: schema version %d is newer than this build knows (%d)", s->display,
                 m.from, PG_SCHEMA_VERSION);
    else if (m.to > m.from)
        LOG_INFO("store", "postgresql %s: schema migrated from version %d to %d", s->display, m.from, m.to);
    if (from)
        *from = m.from;
    if (to)
        *to = m.to;
    return 0;
}

/* ---- open / close ---------------------------------------------------------------------- */

void *store_pg_open(const char *uri, char *err, size_t errlen)
{
    pg_store *s = pg_open(uri, err, errlen);
    if (!s)
        return NULL;
    if (pg_migrate(s, NULL, NULL, err, errlen) != 0 || store_pg_prepare_all(s, err, errlen) != 0) {
        pg_free(s);
        return NULL;
    }
    return s;
}

int store_pg_migrate(const char *uri, int *from, int *to, char *err, size_t errlen)
{
    pg_store *s = pg_open(uri, err, errlen);
    if (!s)
        return -1;
    int rc = pg_migrate(s, from, to, err, errlen);
    pg_free(s);
    return rc;
}

/* The schema version recorded in S's database; 0 when none. */
static int recorded_version(pg_store *s)
{
    PGresult *r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    int v = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

void *store_pg_open_reader(const char *uri, char *err, size_t errlen)
{
    pg_store *s = pg_open(uri, err, errlen);
    if (!s)
        return NULL;
    /* One reconnect at most: a request answers 503 rather than wait out a
     * server restart (the collector's connection rides it out). */
    s->max_attempts = 2;
    s->backoff_first_ms = 50;
    s->backoff_max_ms = 200;
    int v = recorded_version(s);
    if (v < PG_SCHEMA_VERSION) {
        snprintf(err, errlen, "store postgresql %s: schema version %d, this build reads %d: run `tokencollector migrate`",
                 s->display, v, PG_SCHEMA_VERSION);
        pg_free(s);
        return NULL;
    }
    if (store_pg_prepare_all(s, err, errlen) != 0) {
        pg_free(s);
        return NULL;
    }
    return s;
}

static void pg_close(void *be) { pg_free(be); }

/* ---- one-statement operations ---------------------------------------------------------- */

/* A statement on a sorted address array $1 (and SECOND as $2, or none);
 * *ROWS: the rows it touched. */
static int addr_array_command(pg_store *s, int ps, const char *const *addrs, size_t n, const char *second,
                              const char *what, size_t *rows, char *err, size_t errlen)
{
    *rows = 0;
    if (n == 0)
        return 0;
    char *arr = store_pg_sorted_addr_array(addrs, n);
    const char *vals[2] = {arr, second};
    PGresult *r = store_pg_run_simple(s, ps, second ? 2 : 1, vals, PGRES_COMMAND_OK, what, err, errlen);
    free(arr);
    if (!r)
        return -1;
    *rows = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

static int pg_import(void *be, const char *const *addrs, size_t n, size_t *inserted, char *err, size_t errlen)
{
    return addr_array_command(be, PS_IMPORT, addrs, n, NULL, "import", inserted, err, errlen);
}

/* The status named NAME, -1 for a name this build does not know. */
static int status_index(const char *name)
{
    for (int k = 0; k < STATUS_COUNT; k++)
        if (!strcmp(name, status_name((token_status)k)))
            return k;
    return -1;
}

static double num_or_nan(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

/* Row I of a PS_SCAN page; its strings point into R. */
static token_brief scan_row(PGresult *r, int i)
{
    int status = status_index(PQgetvalue(r, i, 1));
    token_brief t = {.address = PQgetvalue(r, i, 0),
                     .status = status < 0 ? STATUS_PENDING : (token_status)status,
                     .next_refresh_at = strtoll(PQgetvalue(r, i, 2), NULL, 10),
                     .refresh_interval_s = atoi(PQgetvalue(r, i, 3)),
                     .in_contest = atoi(PQgetvalue(r, i, 4)),
                     .created_at = strtoll(PQgetvalue(r, i, 5), NULL, 10),
                     .price_usd = num_or_nan(r, i, 6),
                     .market_cap = num_or_nan(r, i, 7),
                     .volume_24h = num_or_nan(r, i, 8),
                     .change_24h = num_or_nan(r, i, 9)};
    return t;
}

/* In pages of SCAN_PAGE tokens by address (each page its own statement,
 * retried on its own), so a large table never sits in memory whole. Tokens
 * imported while a scan runs may or may not be seen by it. On an error CB
 * may have seen part of the tokens (as with SQLite). */
#define SCAN_PAGE 10000

static int pg_scan(void *be, int64_t since, store_token_cb cb, void *ctx, char *err, size_t errlen)
{
    pg_store *s = be;
    char since_s[24], page_s[16];
    snprintf(since_s, sizeof since_s, "%lld", (long long)since);
    snprintf(page_s, sizeof page_s, "%d", SCAN_PAGE);
    char *last = xstrdup("");
    int rc = 0, rows = SCAN_PAGE;
    while (rows == SCAN_PAGE) { /* a short page is the last */
        const char *vals[3] = {since_s, last, page_s};
        PGresult *r = store_pg_run_simple(s, PS_SCAN, 3, vals, PGRES_TUPLES_OK, "scan", err, errlen);
        if (!r) {
            rc = -1;
            break;
        }
        rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            token_brief t = scan_row(r, i);
            cb(ctx, &t);
        }
        if (rows > 0) {
            free(last);
            last = xstrdup(PQgetvalue(r, rows - 1, 0));
        }
        PQclear(r);
    }
    free(last);
    return rc;
}

/* Statement PS over the addresses ADDRS (its $1), as a result set. */
static PGresult *addr_array_query(pg_store *s, int ps, const char *const *addrs, size_t n, const char *what, char *err,
                                  size_t errlen)
{
    char *arr = store_pg_sorted_addr_array(addrs, n);
    const char *vals[1] = {arr};
    PGresult *r = store_pg_run_simple(s, ps, 1, vals, PGRES_TUPLES_OK, what, err, errlen);
    free(arr);
    return r;
}

static int pg_load_sources(void *be, const char *const *addrs, size_t n, store_source_cb cb, void *ctx, char *err,
                           size_t errlen)
{
    if (n == 0)
        return 0;
    PGresult *r = addr_array_query(be, PS_LOAD_SOURCES, addrs, n, "load token_sources", err, errlen);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        cb(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    PQclear(r);
    return 0;
}

static int pg_source_fetches(void *be, const char *const *addrs, size_t n, store_fetch_cb cb, void *ctx, char *err,
                             size_t errlen)
{
    if (n == 0)
        return 0;
    PGresult *r = addr_array_query(be, PS_SOURCE_FETCHES, addrs, n, "load token_sources fetch times", err, errlen);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        cb(ctx, PQgetvalue(r, i, 0), PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1),
           strtoll(PQgetvalue(r, i, 2), NULL, 10), PQgetisnull(r, i, 3) ? NAN : strtod(PQgetvalue(r, i, 3), NULL));
    PQclear(r);
    return 0;
}

static int pg_set_contest(void *be, const char *const *addrs, size_t n, int in_contest, size_t *updated, char *err,
                          size_t errlen)
{
    return addr_array_command(be, PS_SET_CONTEST, addrs, n, in_contest ? "true" : "false", "set in_contest", updated,
                              err, errlen);
}

static int pg_count_by_status(void *be, uint64_t counts[STATUS_COUNT], char *err, size_t errlen)
{
    pg_store *s = be;
    memset(counts, 0, STATUS_COUNT * sizeof *counts);
    PGresult *r = store_pg_run_simple(s, PS_COUNT, 0, NULL, PGRES_TUPLES_OK, "count", err, errlen);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int k = status_index(PQgetvalue(r, i, 0));
        if (k >= 0)
            counts[k] = strtoull(PQgetvalue(r, i, 1), NULL, 10);
    }
    PQclear(r);
    return 0;
}

const store_backend store_pg_backend = {
    .name = "postgresql",
    .import = pg_import,
    .set_contest = pg_set_contest,
    .claim = store_pg_claim,
    .load_sources = pg_load_sources,
    .source_fetches = pg_source_fetches,
    .claim_addresses = store_pg_claim_addresses,
    .scan = pg_scan,
    .release = store_pg_release,
    .commit = store_pg_commit,
    .count_by_status = pg_count_by_status,
    .close = pg_close,
    .list_tokens = store_pg_list_tokens,
    .get_token = store_pg_get_token,
    .changes = store_pg_changes,
    .recover_claims = store_pg_recover_claims,
};
