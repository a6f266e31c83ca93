/* The PostgreSQL backend's reads for the HTTP API (store_backend.list_tokens,
 * get_token): runs store_read_sql.c's statements on the store handle's own
 * connection, each read in one REPEATABLE READ READ ONLY transaction (one
 * snapshot for the count, the rows and their related rows; it takes no row
 * lock, so the collectors' commits never wait for it). Results come in
 * binary (numbers and times bit for bit, no parsing). Owns running and
 * reading those statements only; the SQL is in store_read_sql.c, the paging
 * in store_read.c, the connection and its health in store_pg_session.c.
 *
 * A read is not retried with backoff like the collector's statements (an
 * HTTP client is waiting): a connection found broken is reset once and the
 * read run again; a second failure is the caller's error (503). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_internal.h"
#include "store_read_sql.h"

/* pg_type oids of the columns read. */
enum { OID_INT2_ = 21, OID_JSONB_ = 3802, OID_FLOAT4_ = 700, OID_TIMESTAMPTZ_ = 1184 };

/* Seconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
#define PG_EPOCH_UNIX INT64_C(946684800)

typedef struct pg_read {
    pg_store *s;
    const token_query *q;
    PGresult *failed; /* the result of the statement that failed, for the message */
} pg_read;

static uint64_t be_u(const char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | (unsigned char)p[i];
    return v;
}

/* Runs S; its result when it returned rows, else NULL with ERR. */
static PGresult *run(pg_read *rd, const read_sql *s, const char *what, char *err, size_t errlen)
{
    size_t n = s->n_params;
    const char **vals = xcalloc(n ? n : 1, sizeof *vals);
    char **own = xcalloc(n ? n : 1, sizeof *own);
    for (size_t i = 0; i < n; i++) {
        const read_param *p = &s->params[i];
        char num[40];
        switch (p->type) {
        case PARAM_TEXT:
            vals[i] = p->text;
            continue;
        case PARAM_ADDRS:
            own[i] = store_pg_sorted_addr_array(p->addrs, p->n);
            break;
        case PARAM_INT:
            snprintf(num, sizeof num, "%lld", (long long)p->i);
            own[i] = xstrdup(num);
            break;
        default: /* PARAM_NUM, PARAM_TIME (seconds) */
            snprintf(num, sizeof num, "%.17g", p->num);
            own[i] = xstrdup(num);
            break;
        }
        vals[i] = own[i];
    }
    PGresult *r = PQexecParams(rd->s->conn, s->sql.data, (int)n, NULL, vals, NULL, NULL, 1);
    for (size_t i = 0; i < n; i++)
        free(own[i]);
    free(own);
    free(vals);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    store_pg_format_error(rd->s, r, what, err, errlen);
    PQclear(rd->failed);
    rd->failed = r;
    return NULL;
}

static int exec_cmd(pg_read *rd, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(rd->s->conn, sql);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        return 0;
    }
    store_pg_format_error(rd->s, r, sql, err, errlen);
    PQclear(rd->failed);
    rd->failed = r;
    return -1;
}

/* ---- a result row's columns ---------------------------------------------------------- */

typedef struct cell {
    PGresult *r;
    int row;
} cell;

static int col_null(void *ctx, int col)
{
    cell *c = ctx;
    return PQgetisnull(c->r, c->row, col);
}

static const char *col_text(void *ctx, int col, size_t *len)
{
    cell *c = ctx;
    const char *v = PQgetvalue(c->r, c->row, col);
    int n = PQgetlength(c->r, c->row, col);
    if (PQftype(c->r, col) == OID_JSONB_ && n > 0) { /* a version byte, then the text */
        v++;
        n--;
    }
    *len = (size_t)n;
    return v;
}

static int64_t col_int(void *ctx, int col)
{
    cell *c = ctx;
    const char *v = PQgetvalue(c->r, c->row, col);
    switch (PQftype(c->r, col)) {
    case OID_BOOL:
        return v[0] != 0;
    case OID_INT2_:
        return (int16_t)be_u(v, 2);
    case OID_INT4:
        return (int32_t)be_u(v, 4);
    default:
        return (int64_t)be_u(v, 8);
    }
}

static double col_num(void *ctx, int col)
{
    cell *c = ctx;
    const char *v = PQgetvalue(c->r, c->row, col);
    Oid t = PQftype(c->r, col);
    if (t == OID_FLOAT8) {
        uint64_t bits = be_u(v, 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    if (t == OID_FLOAT4_) {
        uint32_t bits = (uint32_t)be_u(v, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return (double)col_int(ctx, col);
}

/* timestamptz: microseconds since 2000-01-01. The key is exact seconds with
 * the microseconds as a fraction (to_timestamp() gives them back). */
static int64_t col_time(void *ctx, int col, double *key)
{
    cell *c = ctx;
    int64_t us = (int64_t)be_u(PQgetvalue(c->r, c->row, col), 8) + PG_EPOCH_UNIX * 1000000;
    *key = (double)us / 1e6;
    return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

static void each_row(PGresult *r, void (*fill)(void *arg, const row_reader *rr), void *arg)
{
    cell c = {r, 0};
    row_reader rr = {&c, col_null, col_text, col_num, col_int, col_time};
    int n = PQntuples(r);
    for (c.row = 0; c.row < n; c.row++)
        fill(arg, &rr);
    PQclear(r);
}

/* ---- the steps ---------------------------------------------------------------------- */

/* The snapshot, and the plans the reads are written for: index probes by
 * address for the page's rows and its related rows. With 2,000 addresses
 * in = ANY() the planner otherwise prefers reading the whole link table
 * (10 ms instead of 8 at 100,000 tokens) or a bitmap (15 instead of 10 for
 * token_sources). Bitmaps stay allowed for q=, whose OR of two index
 * conditions needs one. */
static int pr_begin_plan(pg_read *rd, int bitmaps, char *err, size_t errlen)
{
    return exec_cmd(rd,
                    bitmaps ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL enable_seqscan = off;"
                              " SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
                            : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL enable_seqscan = off;"
                              " SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;"
                              " SET LOCAL enable_bitmapscan = off",
                    err, errlen);
}

static int pr_begin(void *be, char *err, size_t errlen)
{
    pg_read *rd = be;
    return pr_begin_plan(rd, rd->q && rd->q->prefix, err, errlen);
}

static void pr_end(void *be)
{
    pg_read *rd = be;
    PQclear(PQexec(rd->s->conn, PQtransactionStatus(rd->s->conn) == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT"));
}

/* ---- totals ----------------------------------------------------------------------------- */

/* Counting 100,000 tokens takes PostgreSQL about 5 ms (it has no stored
 * count), as long as the rest of a light page. So a total is counted at
 * most once a second per database and filter, for every connection of the
 * process: it may lag up to COUNT_TTL_NS behind the data. Address lists
 * are counted each time (a probe per address). */
#define COUNT_TTL_NS (1 * NS_PER_S)
#define COUNT_SLOTS 32

typedef struct count_slot {
    char *key;
    uint64_t n;
    int64_t at;
} count_slot;

static pthread_mutex_t g_count_lock = PTHREAD_MUTEX_INITIALIZER;
static count_slot g_counts[COUNT_SLOTS];

/* The database, the statement and its parameters. */
static char *count_key(const pg_read *rd, const read_sql *s)
{
    strbuf k = {0};
    sb_printf(&k, "%s\n%s", rd->s->uri, s->sql.data);
    for (size_t i = 0; i < s->n_params; i++)
        sb_printf(&k, "\n%s", s->params[i].type == PARAM_TEXT ? s->params[i].text : "");
    return k.data;
}

static int cached_count(const char *key, uint64_t *n)
{
    int hit = 0;
    int64_t now = now_mono_ns();
    pthread_mutex_lock(&g_count_lock);
    for (int i = 0; i < COUNT_SLOTS && !hit; i++)
        if (g_counts[i].key && now - g_counts[i].at < COUNT_TTL_NS && !strcmp(g_counts[i].key, key)) {
            *n = g_counts[i].n;
            hit = 1;
        }
    pthread_mutex_unlock(&g_count_lock);
    return hit;
}

static void remember_count(const char *key, uint64_t n)
{
    pthread_mutex_lock(&g_count_lock);
    int slot = 0;
    for (int i = 0; i < COUNT_SLOTS; i++) {
        if (g_counts[i].key && !strcmp(g_counts[i].key, key)) {
            slot = i;
            break;
        }
        if (g_counts[i].at < g_counts[slot].at)
            slot = i; /* the oldest (or an empty one) */
    }
    free(g_counts[slot].key);
    g_counts[slot] = (count_slot){xstrdup(key), n, now_mono_ns()};
    pthread_mutex_unlock(&g_count_lock);
}

static int pr_count(void *be, const token_query *q, int keyed, uint64_t *n, char *err, size_t errlen)
{
    pg_read *rd = be;
    read_sql s = {.pg = 1};
    read_sql_count(&s, q, keyed);
    char *key = q->addresses ? NULL : count_key(rd, &s);
    int rc = 0;
    if (!key || !cached_count(key, n)) {
        PGresult *r = run(be, &s, "count tokens", err, errlen);
        if (r) {
            cell c = {r, 0};
            *n = PQntuples(r) ? (uint64_t)col_int(&c, 0) : 0;
            PQclear(r);
            if (key)
                remember_count(key, *n);
        } else {
            rc = -1;
        }
    }
    free(key);
    read_sql_free(&s);
    return rc;
}

static int pr_rows(void *be, const token_query *q, int tail, const token_key *after, uint64_t offset, size_t limit,
                   token_page *out, char *err, size_t errlen)
{
    read_sql s = {.pg = 1};
    read_sql_rows(&s, q, tail, after, offset, limit);
    PGresult *r = run(be, &s, "read tokens", err, errlen);
    read_sql_free(&s);
    if (!r)
        return -1;
    read_target c = {out, q, 0};
    each_row(r, read_fill_row, &c);
    return 0;
}

static int pr_related_kind(void *be, int kind, const char *const *addrs, size_t n, token_page *out, char *err,
                           size_t errlen)
{
    read_sql s = {.pg = 1};
    read_sql_related(&s, kind, addrs, n);
    PGresult *r = run(be, &s, "read related rows", err, errlen);
    read_sql_free(&s);
    if (!r)
        return -1;
    read_target c = {out, NULL, kind};
    each_row(r, read_fill_related, &c);
    return 0;
}

static int pr_related(void *be, const token_query *q, token_page *out, char *err, size_t errlen)
{
    return read_each_related(q, out, 10000, pr_related_kind, be, err, errlen);
}

static const token_read_ops pg_read_ops = {pr_begin, pr_end, pr_count, pr_rows, pr_related};

/* The read, once more on a fresh session when the connection broke. */
static int read_tokens(pg_store *s, const token_query *q, token_page *out, char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        if (PQstatus(s->conn) != CONNECTION_OK)
            store_pg_reset_session(s);
        pg_read rd = {s, q, NULL};
        int rc = store_read_tokens(&pg_read_ops, &rd, q, out, err, errlen);
        PQclear(rd.failed);
        if (rc == 0 || attempt == 1 || PQstatus(s->conn) == CONNECTION_OK)
            return rc;
    }
}

int store_pg_list_tokens(void *be, const token_query *q, token_page *out, char *err, size_t errlen)
{
    return read_tokens(be, q, out, err, errlen);
}

int store_pg_get_token(void *be, const char *address, token_page *out, char *err, size_t errlen)
{
    token_query q = store_read_one_query(&address);
    return read_tokens(be, &q, out, err, errlen);
}
