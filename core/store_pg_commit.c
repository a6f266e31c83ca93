/* The commit of a batch on the PostgreSQL store: one transaction of
 * statement A (tokens, behind the claim fence) and statement B (the other
 * tables), sent in pipeline mode in two round trips, retried whole, with
 * what a lost reply had written counted. Owns the transaction and A's
 * arrays; must not decide B's rows (store_pg_rows.c) or write JSON
 * (store_pg_json.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_pg_internal.h"
#include "store_pg_json.h"

/* ---- statement A's parameters -------------------------------------------------------- */

/* Unix seconds as timestamptz input text, e.g. "2026-11-23 12:00:00+00". */
static void utc_text(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm))
        strftime(out, outlen, "%Y-%m-%d %H:%M:%S+00", &tm);
    else
        snprintf(out, outlen, "epoch");
}

/* Token T's elements of A's arrays; TMP: scratch for its refresh_metadata. */
static void add_token(pgbin *a, strbuf *tmp, const token_result *t)
{
    static const int str_fields[] = {TC_NAME, TC_SYMBOL, TC_IMAGE_URL, TC_DESCRIPTION, TC_SUPPLY};
    static const int str_arr[] = {A_NAME, A_SYMBOL, A_IMAGE, A_DESC, A_SUPPLY};
    const tc_values *m = &t->merged;
    store_pg_bin_text(&a[A_ADDR], t->address);
    store_pg_bin_text(&a[A_STATUS], status_name(t->status));
    for (int f = 0; f < 5; f++)
        store_pg_bin_text(&a[str_arr[f]], values_has(m, str_fields[f]) ? m->str[str_fields[f]] : NULL);
    int has_dec = values_has(m, TC_DECIMALS) && isfinite(m->num[TC_DECIMALS]) &&
                  fabs(m->num[TC_DECIMALS]) < 2147483647.0;
    store_pg_bin_i4(&a[A_DECIMALS], has_dec, has_dec ? (int32_t)m->num[TC_DECIMALS] : 0);
    tmp->len = 0;
    record_json_refresh_metadata(tmp, t);
    store_pg_bin_text(&a[A_META], tmp->data);
    store_pg_bin_i4(&a[A_INTERVAL], 1, t->refresh_interval_s);
    for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
        store_pg_bin_f8(&a[A_PRICE + (f - TC_PRICE_USD)], values_has(m, f), m->num[f]);
    store_pg_bin_i8(&a[A_NEXT_AT], t->next_refresh_at > 0 ? (int64_t)t->next_refresh_at : 0);
    char *outstanding = store_outstanding_sources(t);
    store_pg_bin_text(&a[A_OUTSTANDING], outstanding);
    store_pg_bin_i4(&a[A_OUT_ATTEMPTS], 1, outstanding ? t->outstanding_attempts : 0);
    free(outstanding);
    store_pg_bin_f8(&a[A_PRIORITY], !isnan(t->priority_score), t->priority_score);
}

/* A statement's parameters: the text ones first, then binary arrays. */
typedef struct params {
    const char *vals[MAX_NPARAMS];
    int lens[MAX_NPARAMS], fmts[MAX_NPARAMS];
    int n;
} params;

static void bind_params(params *p, const char *const *text, int ntext, const pgbin *arr, int first, int end)
{
    p->n = 0;
    for (int i = 0; i < ntext; i++, p->n++) {
        p->vals[p->n] = text[i];
        p->lens[p->n] = p->fmts[p->n] = 0;
    }
    for (int i = first; i < end; i++, p->n++) {
        p->vals[p->n] = arr[i].b.data;
        p->lens[p->n] = (int)arr[i].b.len;
        p->fmts[p->n] = 1;
    }
}

/* ---- one attempt ------------------------------------------------------------------------ */

typedef struct commit_ctx {
    params a;                          /* A's: $1 claim id, $2 now, the arrays */
    const token_result *const *tokens; /* unique, sorted */
    size_t n_tokens;
    strbuf json; /* store_pg_json_records, built by the first attempt */
    size_t *json_off, *json_base;
    int attempts;
    size_t already; /* written by an earlier attempt whose reply was lost */
    size_t written;
} commit_ctx;

/* Reads results up to the Sync's, keeping the first error in *ERR (if none
 * yet). 1 when the Sync's result came. */
static int read_to_sync(pg_store *s, PGresult **err)
{
    int nulls = 0;
    while (nulls < 2) {
        PGresult *x = PQgetResult(s->conn);
        if (!x) {
            if (PQstatus(s->conn) != CONNECTION_OK)
                return 0;
            nulls++; /* one ends each statement's results; two: nothing left */
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(x);
        if ((st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR || st == PGRES_BAD_RESPONSE) && !*err)
            *err = x;
        else
            PQclear(x);
        if (st == PGRES_PIPELINE_SYNC)
            return 1;
    }
    return 0;
}

/* Ends a pipeline whose Sync was sent. 0 when the transaction committed. */
static int pipeline_end(pg_store *s, PGresult **err)
{
    int synced = read_to_sync(s, err);
    if (PQstatus(s->conn) == CONNECTION_OK && !PQexitPipelineMode(s->conn)) {
        /* Results left unread (never expected): a fresh session rather than
         * one stuck in pipeline mode; the retry finds out what was written. */
        store_pg_reset_session(s);
        synced = 0;
    }
    return synced && !*err ? 0 : -1;
}

/* A failed pipeline: the Sync ends its implicit transaction (rolled back). */
static int pipeline_abort(pg_store *s, PGresult **out)
{
    if (PQstatus(s->conn) == CONNECTION_OK && PQpipelineSync(s->conn))
        pipeline_end(s, out);
    return -1;
}

/* Before a retry: the batch's tokens that the lost attempt wrote. */
static int count_already(pg_store *s, commit_ctx *c, PGresult **out)
{
    const char *v[2] = {c->a.vals[2 + A_ADDR], c->a.vals[1]};
    const int lens[2] = {c->a.lens[2 + A_ADDR], 0}, fmts[2] = {1, 0};
    PGresult *r = PQexecPrepared(s->conn, store_pg_ps_name[PS_COMMIT_DONE], 2, v, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        *out = r;
        return -1;
    }
    c->already = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

/* The first round trip's requests: tc_commit_plan and A, flushed. */
static int send_a(pg_store *s, const commit_ctx *c)
{
    return PQsendQueryPrepared(s->conn, store_pg_ps_name[PS_COMMIT_PLAN], 0, NULL, NULL, NULL, 0) &&
           PQsendQueryPrepared(s->conn, store_pg_ps_name[PS_COMMIT], c->a.n, c->a.vals, c->a.lens, c->a.fmts, 0) &&
           PQsendFlushRequest(s->conn) && PQflush(s->conn) == 0;
}

/* tc_commit_plan's result, then A's, which is returned; NULL with *OUT the
 * failed result (may be NULL). */
static PGresult *read_a(pg_store *s, PGresult **out)
{
    PGresult *r = NULL;
    for (int q = 0; q < 2; q++) {
        PQclear(r);
        r = PQgetResult(s->conn);
        if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
            *out = r;
            return NULL;
        }
        PQclear(PQgetResult(s->conn)); /* the NULL that ends this statement's results */
    }
    return r;
}

/* B for the tokens A wrote (its result R). */
static int send_b(pg_store *s, const commit_ctx *c, PGresult *r)
{
    store_pg_build_row_arrays(s->arr, r, c->tokens, c->n_tokens, c->json.data, c->json_off, c->json_base);
    params b;
    bind_params(&b, &c->a.vals[1], 1, s->arr, B_FIRST, B_END);
    return PQsendQueryPrepared(s->conn, store_pg_ps_name[PS_COMMIT_ROWS], b.n, b.vals, b.lens, b.fmts, 0);
}

/* One transaction, two round trips: tc_commit_plan and A (A's result read),
 * then B and the Sync that commits (an implicit transaction: every
 * statement until the Sync; an error anywhere rolls it all back). */
static int commit_attempt(pg_store *s, void *vctx, PGresult **out, const char **what)
{
    commit_ctx *c = vctx;
    *what = "commit";
    *out = NULL;
    if (c->attempts++ > 0 && count_already(s, c, out) != 0)
        return -1;
    if (!PQenterPipelineMode(s->conn))
        return -1;
    if (!send_a(s, c))
        return pipeline_abort(s, out);
    if (!c->json_base) /* while the server runs A: the records B will need */
        store_pg_json_records(c->tokens, c->n_tokens, &c->json, &c->json_off, &c->json_base);
    PGresult *r = read_a(s, out);
    if (!r)
        return pipeline_abort(s, out);
    size_t written = (size_t)PQntuples(r);
    int sent = written == 0 || send_b(s, c, r);
    PQclear(r);
    if (!sent || !PQpipelineSync(s->conn))
        return pipeline_abort(s, out);
    if (pipeline_end(s, out) != 0)
        return -1;
    c->written = written;
    return 0;
}

/* ---- the batch -------------------------------------------------------------------------- */

/* A's parameters for the tokens of C; NOW (timestamptz text) must outlive C. */
static void bind_a(pg_store *s, commit_ctx *c, const char *claim_id, const char *now)
{
    store_pg_bin_reset_all(s->arr, store_pg_arr_oid, A_FIRST, A_END);
    for (size_t i = 0; i < c->n_tokens; i++)
        add_token(s->arr, &s->tmp, c->tokens[i]);
    store_pg_bin_end_all(s->arr, A_FIRST, A_END);
    const char *text[2] = {claim_id, now};
    bind_params(&c->a, text, 2, s->arr, A_FIRST, A_END);
}

/* Sorted and unique: concurrent writers lock rows in the same order, and no
 * statement meets the same key twice. A repeated address is written once;
 * the repeats count as fenced (not written). */
static const token_result **unique_sorted(const token_result *tokens, size_t n, size_t *k)
{
    const token_result **v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = &tokens[i];
    qsort(v, n, sizeof *v, store_pg_compare_results);
    *k = 0;
    for (size_t i = 0; i < n; i++)
        if (*k == 0 || strcmp(v[*k - 1]->address, v[i]->address))
            v[(*k)++] = v[i];
    return v;
}

int store_pg_commit(void *be, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                    size_t *fenced, char *err, size_t errlen)
{
    pg_store *s = be;
    *fenced = 0;
    if (n == 0)
        return 0;
    commit_ctx c = {.json = s->json};
    const token_result **v = unique_sorted(tokens, n, &c.n_tokens);
    c.tokens = v;
    char nowbuf[40];
    utc_text(now, nowbuf, sizeof nowbuf);
    bind_a(s, &c, claim_id, nowbuf);
    int rc = store_pg_run_with_retry(s, commit_attempt, &c, 1, err, errlen);
    s->json = c.json; /* the buffer is kept for the next commit */
    free(c.json_off);
    free(c.json_base);
    free(v);
    if (rc != 0) {
        store_pg_err_append(err, errlen,
                            " (batch of %zu rolled back; its tokens stay claimed until the lease ends)", n);
        return -1;
    }
    size_t written = c.written + c.already;
    *fenced = n > written ? n - written : 0;
    return 0;
}
