/* What the store_pg_*.c files share and nothing else may include: the
 * backend's state and the functions one file gives the others. The public
 * face of the backend is store.h. */
#ifndef TC_STORE_PG_INTERNAL_H
#define TC_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_pg_array.h"
#include "store_pg_sql.h"
#include "util.h"

typedef struct pg_store {
    PGconn *conn;
    char *uri;     /* as given: libpq needs it, it may hold a password */
    char *display; /* the URI with any password removed: for messages */
    int prepared;
    int max_attempts;
    int backoff_first_ms, backoff_max_ms;
    uint64_t jitter; /* xorshift state */
    pgbin arr[ARR_N]; /* reused by every commit */
    strbuf tmp;        /* scratch for commits */
    strbuf json;       /* the JSON records of a commit */
} pg_store;

/* ---- store_pg_session.c: running statements ---- */

/* One attempt of an operation on s->conn. Returns 0, or -1 with *res_out (may
 * be NULL) describing the failure for classification. */
typedef int (*pg_attempt)(pg_store *s, void *ctx, PGresult **res_out, const char **what);

/* FN until it succeeds, fails for good or has had s->max_attempts tries,
 * reconnecting (and preparing again, when NEED_PREPARED) in between. */
int store_pg_run_with_retry(pg_store *s, pg_attempt fn, void *ctx, int need_prepared, char *err, size_t errlen);
/* Prepared statement PS once; 0 when its result status is WANT. */
int store_pg_exec_prepared(pg_store *s, int ps, int n, const char *const *vals, ExecStatusType want, PGresult **out);
/* Prepared statement PS with retries: its result, or NULL with ERR set. */
PGresult *store_pg_run_simple(pg_store *s, int ps, int n, const char *const *vals, ExecStatusType want,
                              const char *what, char *err, size_t errlen);
int store_pg_prepare_all(pg_store *s, char *err, size_t errlen);
/* A fresh session, for one left in a state no statement can run in. */
void store_pg_reset_session(pg_store *s);
/* "store postgresql URI: WHAT: SQLSTATE xxxxx: message (detail; hint)". */
void store_pg_format_error(pg_store *s, PGresult *r, const char *what, char *err, size_t errlen);
/* Appends to the message in ERR. */
void store_pg_err_append(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- store_pg_rows.c: statement B's rows ---- */

/* Orders token_result pointers by address. */
int store_pg_compare_results(const void *a, const void *b);
/* Statement B's arrays (ARR[B_FIRST..B_END)) from A's result R; V: the
 * batch's unique tokens, sorted by store_pg_compare_results; JSON, OFF, BASE:
 * store_pg_json_records of V. */
void store_pg_build_row_arrays(pgbin *arr, PGresult *r, const token_result *const *v, size_t k, const char *json,
                               const size_t *off, const size_t *base);

/* ---- the backend's operations, wired in store_pg.c ---- */

/* store_pg_claim.c */
int store_pg_claim(void *be, const claim_request *rq, claimed_token **out, size_t *n, char *err, size_t errlen);
int store_pg_claim_addresses(void *be, const claim_request *rq, const char *const *addrs, size_t n,
                             claimed_token **out, size_t *n_out, char *err, size_t errlen);
int store_pg_release(void *be, const char *const *addrs, size_t n, const char *claim_id, char *err, size_t errlen);
/* store_pg_commit.c */
int store_pg_commit(void *be, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                    size_t *fenced, char *err, size_t errlen);
/* store_pg_read.c: the HTTP API's reads */
int store_pg_list_tokens(void *be, const token_query *q, token_page *out, char *err, size_t errlen);
int store_pg_get_token(void *be, const char *address, token_page *out, char *err, size_t errlen);
/* store_pg_recover.c */
int store_pg_recover_claims(void *be, const char *owner, int64_t now, claim_recovery *out, char *err, size_t errlen);
/* store_pg_feed.c */
int store_pg_changes(void *be, int64_t since, size_t limit, store_change_cb cb, void *ctx, int64_t *head, char *err,
                     size_t errlen);

#endif
