/* Claims on the PostgreSQL store: taking a batch of tokens under a lease
 * (the next pending or due ones, or the daemon's chosen addresses), taking
 * back what a lost reply had claimed, and releasing a claim. Owns the claim
 * columns (claimed_by, claim_id, lease_until) outside the commit; must not
 * write a token's data or any other table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_internal.h"

static int compare_claimed(const void *a, const void *b)
{
    return strcmp(((const claimed_token *)a)->address, ((const claimed_token *)b)->address);
}

typedef struct claim_ctx {
    const claim_request *rq;
    int ps; /* PS_CLAIM_PENDING, _DUE or _ADDRESSES */
    int nvals;
    const char *const *vals;
    int attempts;
    PGresult *res;
} claim_ctx;

/* The previous attempt may have committed before its reply was lost: its
 * tokens carry this claim id, unique to this claim. Taking them beats
 * leaving them stranded until the lease ends. 1 when there were some. */
static int claimed_before(pg_store *s, claim_ctx *c, PGresult **out)
{
    const char *id[1] = {c->rq->claim_id};
    PGresult *r;
    if (store_pg_exec_prepared(s, PS_CLAIM_MINE, 1, id, PGRES_TUPLES_OK, &r) != 0) {
        *out = r;
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    LOG_INFO("store", "postgresql %s: claim %s had been taken before the connection was lost (%d tokens)",
             s->display, c->rq->claim_id, PQntuples(r));
    c->res = r;
    return 1;
}

static int claim_attempt(pg_store *s, void *vctx, PGresult **out, const char **what)
{
    claim_ctx *c = vctx;
    *what = "claim";
    if (c->attempts++ > 0) {
        int before = claimed_before(s, c, out);
        if (before != 0)
            return before > 0 ? 0 : -1;
    }
    PGresult *r;
    if (store_pg_exec_prepared(s, c->ps, c->nvals, c->vals, PGRES_TUPLES_OK, &r) != 0) {
        *out = r;
        return -1;
    }
    c->res = r;
    return 0;
}

/* R's rows as claimed tokens, in R's order. WITH_PRICE: the fourth column is
 * the stored price (else NAN). */
static claimed_token *claimed_list(PGresult *r, int with_price, size_t *n)
{
    size_t count = (size_t)PQntuples(r);
    claimed_token *list = xcalloc(count ? count : 1, sizeof *list);
    for (size_t i = 0; i < count; i++) {
        int row = (int)i;
        list[i].address = xstrdup(PQgetvalue(r, row, 0));
        list[i].outstanding = PQgetisnull(r, row, 1) ? NULL : xstrdup(PQgetvalue(r, row, 1));
        list[i].outstanding_attempts = atoi(PQgetvalue(r, row, 2));
        list[i].price_usd = with_price && !PQgetisnull(r, row, 3) ? strtod(PQgetvalue(r, row, 3), NULL) : NAN;
    }
    *n = count;
    return list;
}

/* Runs a claim statement; *OUT in the order of RETURNING. ADDR_ARRAY: the
 * addresses of PS_CLAIM_ADDRESSES. */
static int run_claim(pg_store *s, const claim_request *rq, int ps, const char *addr_array, claimed_token **out,
                     size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    char now[24], lease[24], max[24], due_before[24];
    snprintf(due_before, sizeof due_before, "%lld", (long long)rq->due_before);
    snprintf(now, sizeof now, "%lld", (long long)rq->now);
    snprintf(lease, sizeof lease, "%lld", (long long)rq->lease_s);
    snprintf(max, sizeof max, "%zu", rq->max);
    const char *vals[6] = {rq->owner ? rq->owner : "", rq->claim_id, now, lease,
                           ps == PS_CLAIM_ADDRESSES ? addr_array : max, due_before};
    claim_ctx c = {rq, ps, ps == PS_CLAIM_ADDRESSES ? 6 : 5, vals, 0, NULL};
    if (store_pg_run_with_retry(s, claim_attempt, &c, 1, err, errlen) != 0)
        return -1;
    *out = claimed_list(c.res, ps == PS_CLAIM_ADDRESSES && PQnfields(c.res) > 3, n);
    PQclear(c.res);
    return 0;
}

int store_pg_claim(void *be, const claim_request *rq, claimed_token **out, size_t *n, char *err, size_t errlen)
{
    pg_store *s = be;
    if (run_claim(s, rq, rq->due ? PS_CLAIM_DUE : PS_CLAIM_PENDING, NULL, out, n, err, errlen) != 0)
        return -1;
    /* RETURNING gives no order; batches are easier to follow sorted (the
     * SQLite backend sorts the same way). */
    qsort(*out, *n, sizeof **out, compare_claimed);
    return 0;
}

/* GOT (M tokens, sorted; freed, its strings moved) in the order of ADDRS, as
 * the SQLite backend returns them, a repeated address once. */
static claimed_token *in_asked_order(const char *const *addrs, size_t n, claimed_token *got, size_t m,
                                     size_t *count)
{
    claimed_token *list = xcalloc(m ? m : 1, sizeof *list);
    char *taken = xcalloc(m ? m : 1, 1);
    *count = 0;
    for (size_t i = 0; i < n && *count < m; i++) {
        claimed_token key = {.address = (char *)addrs[i]};
        claimed_token *hit = bsearch(&key, got, m, sizeof *got, compare_claimed);
        if (hit && !taken[hit - got]) {
            taken[hit - got] = 1;
            list[(*count)++] = *hit;
        }
    }
    free(taken);
    free(got);
    return list;
}

int store_pg_claim_addresses(void *be, const claim_request *rq, const char *const *addrs, size_t n,
                             claimed_token **out, size_t *n_out, char *err, size_t errlen)
{
    pg_store *s = be;
    *out = NULL;
    *n_out = 0;
    if (n == 0) {
        *out = xcalloc(1, sizeof **out);
        return 0;
    }
    char *arr = store_pg_sorted_addr_array(addrs, n);
    claimed_token *got;
    size_t m;
    int rc = run_claim(s, rq, PS_CLAIM_ADDRESSES, arr, &got, &m, err, errlen);
    free(arr);
    if (rc != 0)
        return -1;
    qsort(got, m, sizeof *got, compare_claimed);
    *out = in_asked_order(addrs, n, got, m, n_out);
    return 0;
}

int store_pg_release(void *be, const char *const *addrs, size_t n, const char *claim_id, char *err, size_t errlen)
{
    pg_store *s = be;
    if (n == 0)
        return 0;
    char *arr = store_pg_sorted_addr_array(addrs, n);
    const char *vals[2] = {arr, claim_id};
    PGresult *r = store_pg_run_simple(s, PS_RELEASE, 2, vals, PGRES_COMMAND_OK, "release", err, errlen);
    free(arr);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}
