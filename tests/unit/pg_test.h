/* What the PostgreSQL store tests share (test_store_pg.c,
 * test_store_pg_records.c): the server, one schema per test, queries on a
 * checking connection, and token results to commit.
 *
 * The server: $TC_PG_URI when set (a database the tests may create schemas
 * in), otherwise a throwaway one started by tests/pg/pg_harness.sh in
 * group_setup and stopped in group_teardown. Without PostgreSQL server
 * binaries the tests FAIL (they are never silently skipped). Include
 * <cmocka.h> first: the macros below expand to its assertions. */
#ifndef TC_PG_TEST_H
#define TC_PG_TEST_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

extern char *g_base_uri;  /* the database */
extern int g_started;     /* we started the harness server */
extern int g_skip;        /* no PostgreSQL binaries */
extern char g_uri[1024];  /* the current test's schema */
extern PGconn *g_db;      /* the current test's checking connection */

/* cmocka group setup / teardown: the server. */
int group_setup(void **state);
int group_teardown(void **state);

PGconn *connect_or_die(const char *uri);
void exec_ok(PGconn *c, const char *sql);
/* Builds g_uri for SCHEMA (dropped first) plus EXTRA query parameters. */
void schema_uri(const char *schema, const char *extra);
/* A store on a fresh SCHEMA, and g_db on it. */
store *open_schema(const char *schema);
void close_all(store *st);

/* First column of the first row as text; NULL for SQL NULL or no row. */
char *q1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define assert_q(expected, ...)                                                                              \
    do {                                                                                                     \
        char *got_ = q1(__VA_ARGS__);                                                                        \
        const char *exp_ = (expected);                                                                       \
        if (exp_ == NULL)                                                                                    \
            assert_null(got_);                                                                               \
        else {                                                                                               \
            assert_non_null(got_);                                                                           \
            assert_string_equal(got_, exp_);                                                                 \
        }                                                                                                    \
        free(got_);                                                                                          \
    } while (0)

long long q_epoch(const char *col, const char *table, const char *addr);
/* Whole-table dumps, for "nothing changed". */
char *snapshot(const char *table, const char *order);

/* ---- token results ---------------------------------------------------------------- */

#define NSRC 2
extern const char *const src_names[NSRC]; /* helius, dexscreener */

typedef struct tok {
    token_result r;
    source_outcome outs[NSRC];
    tc_values per[NSRC];
    char *errs[NSRC];
} tok;

void tok_init(tok *t, const char *addr, token_status status, int interval);
void tok_free(tok *t);
int commit_toks(store *st, tok *t, size_t n, int64_t now, const char *claim, size_t *fenced);
size_t claim_n(store *st, const char *id, int64_t now, int64_t lease, size_t max, int due, claimed_token **out);
void free_list(claimed_token *l, size_t n);
void import_list(store *st, const char *const *a, size_t n, size_t expect_inserted);

#define SKIP_IF_NO_PG()                                                                                      \
    do {                                                                                                     \
        if (g_skip)                                                                                          \
            skip();                                                                                          \
    } while (0)

#endif
