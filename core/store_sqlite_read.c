/* The SQLite backend's reads for the HTTP API (store_backend.list_tokens,
 * get_token): runs store_read_sql.c's statements on the backend's
 * connection, each read inside one deferred read transaction (a WAL
 * snapshot: the collector's commits go on beside it and are not seen
 * half-done). Owns running and reading those statements only; the SQL is in
 * store_read_sql.c, the paging in store_read.c, the connection in
 * store_sqlite.c. */
#include <stdio.h>
#include <string.h>

#include "store_read_sql.h"
#include "store_sqlite_internal.h"

static int fail(void *be, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite %s: %s: %s", store_sqlite_path(be), what, sqlite3_errmsg(store_sqlite_db(be)));
    return -1;
}

/* Reads go through a memory map of the file (no read() and copy per page
 * when a page of 2,000 tokens touches thousands of pages); a no-op once set. */
#define READ_MMAP "PRAGMA mmap_size = 4294967296"

static int sq_begin(void *be, char *err, size_t errlen)
{
    sqlite3 *db = store_sqlite_db(be);
    if (!sqlite3_get_autocommit(db)) /* a read that failed half-way left its transaction */
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (sqlite3_exec(db, READ_MMAP "; BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return fail(be, "begin read", err, errlen);
    return 0;
}

static void sq_end(void *be)
{
    sqlite3 *db = store_sqlite_db(be);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *prepare(void *be, const read_sql *s, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store_sqlite_db(be), s->sql.data, (int)s->sql.len, &st, NULL) != SQLITE_OK) {
        fail(be, "prepare read", err, errlen);
        return NULL;
    }
    for (size_t i = 0; i < s->n_params; i++) {
        const read_param *p = &s->params[i];
        int at = (int)i + 1;
        if (p->type == PARAM_TEXT)
            sqlite3_bind_text(st, at, p->text, -1, SQLITE_STATIC);
        else if (p->type == PARAM_NUM)
            sqlite3_bind_double(st, at, p->num);
        else if (p->type == PARAM_TIME)
            sqlite3_bind_int64(st, at, (sqlite3_int64)p->num);
        else
            sqlite3_bind_int64(st, at, p->i);
    }
    return st;
}

/* ---- a result row's columns ---------------------------------------------------------- */

static int col_null(void *ctx, int col)
{
    return sqlite3_column_type(ctx, col) == SQLITE_NULL;
}

static const char *col_text(void *ctx, int col, size_t *len)
{
    const char *t = (const char *)sqlite3_column_text(ctx, col);
    *len = (size_t)sqlite3_column_bytes(ctx, col);
    return t;
}

static double col_num(void *ctx, int col)
{
    return sqlite3_column_double(ctx, col);
}
static int64_t col_int(void *ctx, int col)
{
    return sqlite3_column_int64(ctx, col);
}

static int64_t col_time(void *ctx, int col, double *key)
{
    int64_t v = sqlite3_column_int64(ctx, col);
    *key = (double)v;
    return v;
}

/* Steps ST to its end, calling FILL on each row; finalizes it. */
static int each_row(void *be, sqlite3_stmt *st, const char *what, void (*fill)(void *arg, const row_reader *r),
                    void *arg, char *err, size_t errlen)
{
    row_reader r = {st, col_null, col_text, col_num, col_int, col_time};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fill(arg, &r);
    if (rc != SQLITE_DONE)
        fail(be, what, err, errlen);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- the steps ---------------------------------------------------------------------- */

static int sq_count(void *be, const token_query *q, int keyed, uint64_t *n, char *err, size_t errlen)
{
    read_sql s = {0};
    read_sql_count(&s, q, keyed);
    sqlite3_stmt *st = prepare(be, &s, err, errlen);
    int rc = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        *n = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (st) {
        fail(be, "count tokens", err, errlen);
    }
    sqlite3_finalize(st);
    read_sql_free(&s);
    return rc;
}

static int sq_rows(void *be, const token_query *q, int tail, const token_key *after, uint64_t offset, size_t limit,
                   token_page *out, char *err, size_t errlen)
{
    read_sql s = {0};
    read_sql_rows(&s, q, tail, after, offset, limit);
    sqlite3_stmt *st = prepare(be, &s, err, errlen);
    read_target c = {out, q, 0};
    int rc = st ? each_row(be, st, "read tokens", read_fill_row, &c, err, errlen) : -1;
    read_sql_free(&s);
    return rc;
}

static int sq_related_kind(void *be, int kind, const char *const *addrs, size_t n, token_page *out, char *err,
                           size_t errlen)
{
    read_sql s = {0};
    read_sql_related(&s, kind, addrs, n);
    sqlite3_stmt *st = prepare(be, &s, err, errlen);
    read_target c = {out, NULL, kind};
    int rc = st ? each_row(be, st, "read related rows", read_fill_related, &c, err, errlen) : -1;
    read_sql_free(&s);
    return rc;
}

/* A statement has at most 32766 parameters (SQLITE_MAX_VARIABLE_NUMBER). */
#define RELATED_SLICE 1000

static int sq_related(void *be, const token_query *q, token_page *out, char *err, size_t errlen)
{
    return read_each_related(q, out, RELATED_SLICE, sq_related_kind, be, err, errlen);
}

static const token_read_ops sqlite_read_ops = {sq_begin, sq_end, sq_count, sq_rows, sq_related};

int store_sqlite_list_tokens(void *be, const token_query *q, token_page *out, char *err, size_t errlen)
{
    return store_read_tokens(&sqlite_read_ops, be, q, out, err, errlen);
}

int store_sqlite_get_token(void *be, const char *address, token_page *out, char *err, size_t errlen)
{
    token_query q = store_read_one_query(&address);
    return store_read_tokens(&sqlite_read_ops, be, &q, out, err, errlen);
}
