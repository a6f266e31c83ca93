/* The PostgreSQL store tests' server and helpers (pg_test.h). */
#include "pg_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

char *g_base_uri;  /* the database */
int g_started;     /* we started the harness server */
int g_skip;        /* no PostgreSQL binaries */
char g_uri[1024];  /* the current test's schema */
PGconn *g_db;      /* the current test's checking connection */

/* ---- server ------------------------------------------------------------------ */

static const char *harness_path(void)
{
    static char path[1024];
    const char *src = getenv("TC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/pg/pg_harness.sh", src ? src : ".");
    return path;
}

int group_setup(void **state)
{
    (void)state;
    const char *env = getenv("TC_PG_URI");
    if (env && *env) {
        g_base_uri = xstrdup(env);
        return 0;
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sh '%s' start", harness_path());
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "test_store_pg: cannot run %s\n", cmd);
        return -1;
    }
    char line[1024] = "";
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    int st = pclose(p);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        /* Not a skip: the PostgreSQL backend must be tested wherever the
         * tests run (make check installs the server). */
        fprintf(stderr, "test_store_pg: FAILED: no PostgreSQL server binaries (initdb, pg_ctl): install the "
                        "postgresql package (sh tests/install-deps.sh) or set TC_PG_URI to a server\n");
        return -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strncmp(line, "postgresql://", 13)) {
        fprintf(stderr, "test_store_pg: %s failed (status %d): %s\n", cmd, st, line);
        return -1;
    }
    g_base_uri = xstrdup(line);
    g_started = 1;
    return 0;
}

int group_teardown(void **state)
{
    (void)state;
    if (g_started) {
        char cmd[2400];
        snprintf(cmd, sizeof cmd, "sh '%s' stop '%s'", harness_path(), g_base_uri);
        if (system(cmd) != 0)
            fprintf(stderr, "test_store_pg: stopping the server failed\n");
    }
    free(g_base_uri);
    return 0;
}

PGconn *connect_or_die(const char *uri)
{
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect %s: %s\n", uri, PQerrorMessage(c));
        fail();
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s\n", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    PQclear(r);
}

/* Builds g_uri for SCHEMA (dropped first) plus EXTRA query parameters. */
void schema_uri(const char *schema, const char *extra)
{
    PGconn *admin = connect_or_die(g_base_uri);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    exec_ok(admin, sql);
    PQfinish(admin);
    snprintf(g_uri, sizeof g_uri, "%s%coptions=-csearch_path%%3D%s%s", g_base_uri,
             strchr(g_base_uri, '?') ? '&' : '?', schema, extra ? extra : "");
}

store *open_schema(const char *schema)
{
    schema_uri(schema, NULL);
    char err[1024];
    store *st = store_open(g_uri, err, sizeof err);
    if (!st) {
        fprintf(stderr, "store_open: %s\n", err);
        fail();
    }
    g_db = connect_or_die(g_uri);
    return st;
}

void close_all(store *st)
{
    store_close(st);
    if (g_db)
        PQfinish(g_db);
    g_db = NULL;
}

/* First column of the first row as text; NULL for SQL NULL or no row. */
char *q1(const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(g_db, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s\n", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    char *v = PQntuples(r) && !PQgetisnull(r, 0, 0) ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return v;
}

long long q_epoch(const char *col, const char *table, const char *addr)
{
    char *v = q1("SELECT extract(epoch FROM %s)::bigint FROM %s WHERE address = '%s'", col, table, addr);
    long long r = v ? atoll(v) : -1;
    free(v);
    return r;
}

/* Whole-table dumps, for "nothing changed". */
char *snapshot(const char *table, const char *order)
{
    return q1("SELECT coalesce(string_agg(x::text, E'\\n' ORDER BY %s), '') FROM %s x", order, table);
}

/* ---- token results ---------------------------------------------------------------- */

const char *const src_names[NSRC] = {"helius", "dexscreener"};

void tok_init(tok *t, const char *addr, token_status status, int interval)
{
    memset(t, 0, sizeof *t);
    t->r.address = addr;
    t->r.status = status;
    t->r.n_sources = NSRC;
    t->r.source_names = src_names;
    t->r.outcomes = t->outs;
    t->r.per_source = t->per;
    t->r.errors = t->errs;
    t->r.refresh_interval_s = interval;
    t->r.priority_score = NAN; /* keep the stored one */
}

void tok_free(tok *t)
{
    values_clear(&t->r.merged);
    for (int i = 0; i < NSRC; i++) {
        values_clear(&t->per[i]);
        free(t->errs[i]);
    }
}

int commit_toks(store *st, tok *t, size_t n, int64_t now, const char *claim, size_t *fenced)
{
    token_result *res = xcalloc(n, sizeof *res);
    for (size_t i = 0; i < n; i++)
        res[i] = t[i].r;
    char err[1024] = "";
    int rc = store_commit(st, res, n, now, claim, fenced, err, sizeof err);
    if (rc)
        fprintf(stderr, "commit: %s\n", err);
    free(res);
    return rc;
}

size_t claim_n(store *st, const char *id, int64_t now, int64_t lease, size_t max, int due,
                      claimed_token **out)
{
    claim_request rq = {.owner = "test:1", .claim_id = id, .now = now, .lease_s = lease, .max = max, .due = due};
    claimed_token *list = NULL;
    size_t n = 0;
    char err[1024];
    if (store_claim(st, &rq, &list, &n, err, sizeof err) != 0) {
        fprintf(stderr, "claim: %s\n", err);
        fail();
    }
    if (out)
        *out = list;
    else
        claimed_tokens_free(list, n);
    return n;
}

void free_list(claimed_token *l, size_t n) { claimed_tokens_free(l, n); }

void import_list(store *st, const char *const *a, size_t n, size_t expect_inserted)
{
    size_t ins = 99999;
    char err[1024];
    if (store_import(st, a, n, &ins, err, sizeof err) != 0) {
        fprintf(stderr, "import: %s\n", err);
        fail();
    }
    assert_int_equal(ins, expect_inserted);
}
