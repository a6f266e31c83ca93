/* The SQL of the store's API reads, shared by store_sqlite_read.c and
 * store_pg_read.c (and nothing else): the statement texts of each step of a
 * list read for either dialect, with their parameters, and the filling of a
 * token_row from a result row through a small column reader. The backends
 * run the statements and read their columns; the texts are here only. */
#ifndef TC_STORE_READ_SQL_H
#define TC_STORE_READ_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "store_read.h"
#include "util.h"

/* The columns a row read selects, in order: the light ones first. */
enum {
    COL_ADDRESS,
    COL_NAME,
    COL_SYMBOL,
    COL_PRICE,
    COL_MCAP,
    COL_CHANGE,
    COL_VOLUME,  /* a sort key */
    COL_SUCCESS, /* last_refresh_success: a sort key */
    COL_LIGHT_N, /* the light columns end here */
    COL_STATUS = COL_LIGHT_N,
    COL_DECIMALS,
    COL_IMAGE,
    COL_DESCRIPTION,
    COL_SUPPLY,
    COL_FDV,
    COL_LIQUIDITY,
    COL_PRICE_AT,
    COL_CREATED,
    COL_ATTEMPT,
    COL_PRICE_CHANGE,
    COL_NEXT,
    COL_ATTEMPTS,
    COL_INTERVAL,
    COL_OUTSTANDING,
    COL_OUT_ATTEMPTS,
    COL_CONTEST,
    COL_PRIORITY,
    COL_FULL_N,
    COL_METADATA = COL_FULL_N, /* TOKEN_WITH_REFRESH */
    COL_N
};

/* The related tables: columns address, then two strings (socials: type,
 * url; websites: label, url; sources: source, data), then for sources
 * fetched_at and plugin_version. */
enum { REL_SOCIALS, REL_WEBSITES, REL_SOURCES, REL_KINDS };

typedef enum { PARAM_TEXT, PARAM_NUM, PARAM_INT, PARAM_TIME, PARAM_ADDRS } param_type;

/* A statement's parameter. PARAM_TIME: a time sort key (token_key.value);
 * PARAM_ADDRS (PostgreSQL only): the list ADDRS[0..N) as one text[]. */
typedef struct read_param {
    param_type type;
    const char *text;
    double num;
    int64_t i;
    const char *const *addrs;
    size_t n;
} read_param;

typedef struct read_sql {
    int pg; /* the dialect: PostgreSQL ($n parameters) or SQLite (?n) */
    strbuf sql;
    read_param *params;
    size_t n_params, cap_params;
    char *lo, *hi; /* the prefix's bounds (owned) */
} read_sql;

void read_sql_free(read_sql *s);
/* Each sets S (reset first) to one statement. */
void read_sql_count(read_sql *s, const token_query *q, int keyed);
void read_sql_rows(read_sql *s, const token_query *q, int tail, const token_key *after, uint64_t offset, size_t limit);
void read_sql_related(read_sql *s, int kind, const char *const *addrs, size_t n);
/* How many columns a row read of Q selects. */
int read_columns(const token_query *q);

/* One result row's columns. time: unix seconds (0 for NULL), and in *KEY
 * the value as the backend compares it in a PARAM_TIME. */
typedef struct row_reader {
    void *ctx;
    int (*is_null)(void *ctx, int col);
    const char *(*text)(void *ctx, int col, size_t *len);
    double (*num)(void *ctx, int col);
    int64_t (*integer)(void *ctx, int col);
    int64_t (*time)(void *ctx, int col, double *key);
} row_reader;

/* Where result rows go: PAGE, for query Q (rows) or of KIND (related). */
typedef struct read_target {
    token_page *page;
    const token_query *q;
    int kind;
} read_target;

/* A row of a read_sql_rows result at the end of TARGET's page. */
void read_fill_row(void *target, const row_reader *r);
/* A row of a read_sql_related result of TARGET's kind into its page. */
void read_fill_related(void *target, const row_reader *r);

/* The addresses of P's rows (caller frees the array, not the strings). */
const char **read_page_addresses(const token_page *p);
/* Calls RELATED for each kind Q.with asks, on P's rows in slices of at
 * most MAX addresses. */
int read_each_related(const token_query *q, token_page *p, size_t max,
                      int (*related)(void *be, int kind, const char *const *addrs, size_t n, token_page *p, char *err,
                                     size_t errlen),
                      void *be, char *err, size_t errlen);

#endif
