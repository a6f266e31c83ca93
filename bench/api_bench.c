/* The HTTP API's handlers timed without the server: GET /api/v3/tokens and
 * /api/v3/tokens/{address} called directly (api_request built by hand, as
 * tests/unit/test_api_tokens.c does) on a store of enriched tokens, with the
 * store read alone and an equivalent plain SQL query as the floors.
 *
 *   build/bench/api_bench URI [--fill N] [--iters N] [--threads T] [--writer]
 *
 * --fill N     first fill the store up to N enriched tokens through the store
 *              API (tests/unit/api_fixture.c; 500 per commit)
 * --iters N    calls per case for p50/p99 (default 200)
 * --threads T  also each case from T threads at once, each with its own store
 *              connection, for calls/s (default 0: not run)
 * --case K     only the K-th case (0-based; for profiling)
 * --write-for S  no cases: only the writer, for S seconds, then its tokens/s
 *              (bench/api.sh runs it beside the server under wrk)
 * --writer     a collector-like writer on its own connection (commits of 500
 *              tokens with new prices, back to back) during the threaded
 *              runs; its tokens/s alone and under the readers are reported
 *
 * Prints a Markdown table (bench/api.sh puts it in the report). Not a test:
 * figures depend on the machine and what else runs on it. */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_check.h"
#include "api_fixture.h"
#include "util.h"

#define EVERY_FIELD                                                                                                    \
    "status,name,symbol,decimals,image_url,description,supply,prices,last_price_change_at,created_at,updated_at,"      \
    "socials,websites,sources"

typedef struct bench_case {
    const char *label;
    const char *path;
    const char *kv[12];
    int kind; /* 0 handler, 1 store read only, 2 plain SQL */
} bench_case;

static const char *g_uri;
static size_t g_n;
static char g_cursor50[256];   /* the cursor of page 50 (limit g_page_limit) */
static char g_page_limit[16];  /* tokens / 100: page 50 is half way */
static char g_detail_path[96]; /* /api/v3/tokens/<a stored address> */

/* ---- the plain SQL floor ------------------------------------------------------------------- */

static const char plain_rows[] =
    "SELECT t.address, t.status, t.name, t.symbol, t.decimals, t.image_url, t.description, t.supply, p.price_usd,"
    " p.market_cap, p.fdv, p.liquidity_usd, p.volume_24h, p.change_24h, p.updated_at, t.last_price_change,"
    " t.created_at, t.last_refresh_success FROM token_prices p JOIN tokens t ON t.address = p.address"
    " ORDER BY p.market_cap DESC, p.address DESC LIMIT 2000";
#define TOP " IN (SELECT p.address FROM token_prices p ORDER BY p.market_cap DESC, p.address DESC LIMIT 2000)"
static const char *const plain_related[3] = {
    "SELECT address, type, url FROM token_socials WHERE address" TOP,
    "SELECT address, label, url FROM token_websites WHERE address" TOP,
    "SELECT address, source, data, fetched_at FROM token_sources WHERE address" TOP,
};

/* Every value of the four statements as text; returns their bytes. */
static size_t plain_sql(void *db, int pg)
{
    size_t bytes = 0;
    const char *sqls[4] = {plain_rows, plain_related[0], plain_related[1], plain_related[2]};
    for (int k = 0; k < 4; k++) {
        if (pg) {
            PGresult *r = PQexec(db, sqls[k]);
            for (int i = 0; i < PQntuples(r); i++)
                for (int c = 0; c < PQnfields(r); c++)
                    bytes += (size_t)PQgetlength(r, i, c) + (PQgetvalue(r, i, c)[0] != 0);
            PQclear(r);
            continue;
        }
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, sqls[k], -1, &st, NULL);
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(st); c++)
                bytes += sqlite3_column_text(st, c) ? (size_t)sqlite3_column_bytes(st, c) : 0;
        sqlite3_finalize(st);
    }
    return bytes;
}

/* A connection of the plain kind to g_uri. */
static void *plain_open(int *pg)
{
    *pg = strncmp(g_uri, "sqlite:", 7) != 0;
    if (*pg)
        return PQconnectdb(g_uri);
    sqlite3 *db;
    sqlite3_open_v2(g_uri + 7, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_exec(db, "PRAGMA mmap_size = 4294967296; PRAGMA cache_size = -16384", NULL, NULL,
                 NULL); /* as the store's */
    return db;
}

static void plain_close(void *db, int pg)
{
    if (pg)
        PQfinish(db);
    else
        sqlite3_close(db);
}

/* ---- one call -------------------------------------------------------------------------------- */

typedef struct conn {
    store *st;
    void *plain;
    int pg;
} conn;

/* One call of case C on connection X; returns the body's bytes. */
static size_t call(conn *x, const bench_case *c)
{
    if (c->kind == 2)
        return plain_sql(x->plain, x->pg);
    if (c->kind == 1) {
        token_query q = {.sort = TOKEN_SORT_MARKET_CAP,
                         .descending = 1,
                         .limit = 2000,
                         .count = 1,
                         .with = TOKEN_WITH_SOCIALS | TOKEN_WITH_WEBSITES | TOKEN_WITH_SOURCES};
        token_page pg;
        char err[512];
        size_t n = 0;
        if (store_list_tokens(x->st, &q, &pg, err, sizeof err) == 0)
            n = pg.n;
        else
            fprintf(stderr, "api_bench: %s\n", err);
        token_page_free(&pg);
        return n;
    }
    api_response rs;
    api_get_raw(x->st, &rs, c->path, c->kv);
    if (rs.status != 200)
        fprintf(stderr, "api_bench: %s: %d %s\n", c->label, rs.status, rs.body ? rs.body : "");
    size_t n = rs.body_len;
    free(rs.body);
    return n;
}

static double now_ms(void)
{
    return (double)now_mono_ns() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- threads ----------------------------------------------------------------------------------- */

typedef struct reader {
    pthread_t th;
    const bench_case *c;
    int calls;
    conn x;
} reader;

static void *reader_main(void *arg)
{
    reader *r = arg;
    for (int i = 0; i < r->calls; i++)
        call(&r->x, r->c);
    return NULL;
}

static atomic_int g_writer_stop;
static atomic_long g_written;

static void *writer_main(void *arg)
{
    (void)arg;
    char err[512];
    store *st = store_open(g_uri, err, sizeof err);
    if (!st) {
        fprintf(stderr, "api_bench writer: %s\n", err);
        return NULL;
    }
    uint64_t rng = 12345;
    for (int round = 1; !atomic_load(&g_writer_stop); round++) {
        fx_price_factor = 1 + (double)round * 1e-3;
        size_t from = (size_t)(xorshift64_star(&rng) % (g_n > 500 ? g_n - 500 : 1)) / 500 * 500;
        if (fx_fill(st, from, 500) == 0)
            atomic_fetch_add(&g_written, 500);
    }
    store_close(st);
    return NULL;
}

/* Tokens/s the writer commits in SECONDS with nothing else running. */
static double writer_alone(double seconds)
{
    pthread_t w;
    atomic_store(&g_writer_stop, 0);
    atomic_store(&g_written, 0);
    double t0 = now_ms();
    pthread_create(&w, NULL, writer_main, NULL);
    struct timespec ts = {(time_t)seconds, 0};
    nanosleep(&ts, NULL);
    atomic_store(&g_writer_stop, 1);
    pthread_join(w, NULL);
    return (double)atomic_load(&g_written) * 1000 / (now_ms() - t0);
}

/* Calls/s of case C from T threads (ITERS calls in all); *WRITER_RATE the
 * writer's tokens/s meanwhile (when WRITER). */
static double threaded(const bench_case *c, int t, int iters, int writer, double *writer_rate)
{
    reader *rs = xcalloc((size_t)t, sizeof *rs);
    char err[512];
    for (int i = 0; i < t; i++) {
        rs[i].c = c;
        rs[i].calls = iters / t > 0 ? iters / t : 1;
        rs[i].x.st = store_open(g_uri, err, sizeof err);
        rs[i].x.plain = plain_open(&rs[i].x.pg);
    }
    pthread_t w;
    if (writer) {
        atomic_store(&g_writer_stop, 0);
        atomic_store(&g_written, 0);
        pthread_create(&w, NULL, writer_main, NULL);
    }
    double t0 = now_ms();
    for (int i = 0; i < t; i++)
        pthread_create(&rs[i].th, NULL, reader_main, &rs[i]);
    int total = 0;
    for (int i = 0; i < t; i++) {
        pthread_join(rs[i].th, NULL);
        total += rs[i].calls;
    }
    double ms = now_ms() - t0;
    if (writer) {
        atomic_store(&g_writer_stop, 1);
        pthread_join(w, NULL);
        *writer_rate = (double)atomic_load(&g_written) * 1000 / ms;
    }
    for (int i = 0; i < t; i++) {
        store_close(rs[i].x.st);
        plain_close(rs[i].x.plain, rs[i].x.pg);
    }
    free(rs);
    return total * 1000.0 / ms;
}

/* ---- the cases --------------------------------------------------------------------------------- */

/* The cursor of page 50 of limit=g_page_limit (default order). */
static void find_cursor50(conn *x)
{
    char cursor[256] = "";
    size_t limit = g_n / 100 < 10 ? 10 : g_n / 100 > 2000 ? 2000 : g_n / 100;
    snprintf(g_page_limit, sizeof g_page_limit, "%zu", limit);
    for (int p = 1; p < 50; p++) {
        const char *kv[] = {"limit", g_page_limit, "fields", "address", "cursor", cursor, NULL};
        if (!*cursor)
            kv[4] = NULL;
        api_call c;
        api_get(x->st, &c, "/api/v3/tokens", kv);
        const cJSON *next = cJSON_GetObjectItem(cJSON_GetObjectItem(c.json, "pagination"), "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", cJSON_IsString(next) ? next->valuestring : "");
        api_call_free(&c);
    }
    snprintf(g_cursor50, sizeof g_cursor50, "%s", cursor);
    char a[48];
    fx_address(g_n / 2, a);
    snprintf(g_detail_path, sizeof g_detail_path, "/api/v3/tokens/%s", a);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: api_bench URI [--fill N] [--iters N] [--threads T] [--writer]\n");
        return 2;
    }
    g_uri = argv[1];
    size_t fill = 0;
    int iters = 200, threads = 0, writer = 0, only = -1;
    double write_for = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--fill") && i + 1 < argc)
            fill = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--writer"))
            writer = 1;
        else if (!strcmp(argv[i], "--case") && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--write-for") && i + 1 < argc)
            write_for = atof(argv[++i]);
    }
    char err[1024];
    conn x = {store_open(g_uri, err, sizeof err), NULL, 0};
    if (!x.st) {
        fprintf(stderr, "api_bench: %s\n", err);
        return 1;
    }
    uint64_t counts[STATUS_COUNT];
    if (store_count_by_status(x.st, counts, err, sizeof err))
        return 1;
    g_n = (size_t)(counts[0] + counts[1] + counts[2] + counts[3]);
    fx_all_full = 1;
    fx_commit_batch = 500;
    if (fill > g_n) {
        double t0 = now_ms();
        if (fx_fill(x.st, g_n, fill - g_n))
            return 1;
        fprintf(stderr, "api_bench: filled %zu tokens in %.1f s\n", fill - g_n, (now_ms() - t0) / 1000);
        g_n = fill;
    }
    if (write_for > 0) {
        store_close(x.st);
        printf("%.0f\n", writer_alone(write_for));
        return 0;
    }
    x.plain = plain_open(&x.pg);
    find_cursor50(&x);
    const bench_case cases[] = {
        {"limit=2000, every field", "/api/v3/tokens", {"limit", "2000", "fields", EVERY_FIELD}, 0},
        {"limit=2000, default fields (all but sources)", "/api/v3/tokens", {"limit", "2000"}, 0},
        {"light=1&limit=2000", "/api/v3/tokens", {"light", "1", "limit", "2000"}, 0},
        {"limit=N/100, page 1", "/api/v3/tokens", {"limit", g_page_limit}, 0},
        {"limit=N/100, page 50 by cursor", "/api/v3/tokens", {"limit", g_page_limit, "cursor", g_cursor50}, 0},
        {"limit=N/100, page=50 (offset)", "/api/v3/tokens", {"limit", g_page_limit, "page", "50"}, 0},
        {"one token (detail)", g_detail_path, {NULL}, 0},
        {"floor: store read only, limit=2000 every field", NULL, {NULL}, 1},
        {"floor: plain SQL, limit=2000 every column + links + sources", NULL, {NULL}, 2},
    };
    double alone = writer && threads ? writer_alone(3) : 0;
    printf("| case (%zu tokens, %s) | p50 ms | p99 ms | body | calls/s, %d threads%s |\n", g_n,
           x.pg ? "PostgreSQL" : "SQLite", threads, writer ? " + writer" : "");
    printf("|---|---|---|---|---|\n");
    double *ms = xmalloc((size_t)iters * sizeof *ms);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bench_case *c = &cases[k];
        if (only >= 0 && (size_t)only != k)
            continue;
        size_t bytes = call(&x, c); /* warm */
        for (int i = 0; i < iters; i++) {
            double t0 = now_ms();
            bytes = call(&x, c);
            ms[i] = now_ms() - t0;
        }
        qsort(ms, (size_t)iters, sizeof *ms, cmp_double);
        double wrate = 0, rate = threads ? threaded(c, threads, iters, writer, &wrate) : 0;
        char tput[96] = "-";
        if (threads)
            snprintf(tput, sizeof tput, writer ? "%.0f (writer %.0f tokens/s)" : "%.0f", rate, wrate);
        const char *unit = c->kind == 1 ? "rows" : "KB";
        printf("| %s | %.2f | %.2f | %.0f %s | %s |\n", c->label, ms[iters / 2], ms[iters * 99 / 100],
               c->kind == 1 ? (double)bytes : (double)bytes / 1024, unit, tput);
        fflush(stdout);
    }
    if (writer && threads)
        printf("\nThe writer alone (nothing reading): %.0f tokens/s.\n", alone);
    free(ms);
    plain_close(x.plain, x.pg);
    store_close(x.st);
    return 0;
}
