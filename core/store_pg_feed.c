/* The PostgreSQL store's read side for the HTTP API: the change feed
 * (store.h, changes). Owns turning PS_CHANGES's rows into token_change;
 * must not write anything (its statement text is in store_pg_sql.c, the
 * places in the feed are taken by the commit, store_pg_sql.c's statement B). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_internal.h"

static double num_or_nan(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

static const char *text_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int store_pg_changes(void *be, int64_t since, size_t limit, store_change_cb cb, void *ctx, int64_t *head, char *err,
                     size_t errlen)
{
    pg_store *s = be;
    char since_s[24], limit_s[24];
    snprintf(since_s, sizeof since_s, "%lld", (long long)since);
    snprintf(limit_s, sizeof limit_s, "%zu", limit);
    const char *vals[2] = {since_s, limit_s};
    PGresult *r = store_pg_run_simple(s, PS_CHANGES, 2, vals, PGRES_TUPLES_OK, "read the change feed", err, errlen);
    if (!r)
        return -1;
    if (PQntuples(r) < 1) {
        snprintf(err, errlen, "store postgresql %s: change_counter has no row (run `tokencollector migrate`)",
                 s->display);
        PQclear(r);
        return -1;
    }
    *head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 1))
            continue; /* the counter's row alone: no change above SINCE */
        token_change c = {.seq = strtoll(PQgetvalue(r, i, 1), NULL, 10),
                          .address = PQgetvalue(r, i, 2),
                          .status = STATUS_PENDING,
                          .name = text_or_null(r, i, 4),
                          .symbol = text_or_null(r, i, 5),
                          .has_decimals = !PQgetisnull(r, i, 6),
                          .decimals = atoi(PQgetvalue(r, i, 6)),
                          .image_url = text_or_null(r, i, 7),
                          .price_usd = num_or_nan(r, i, 8),
                          .market_cap = num_or_nan(r, i, 9),
                          .fdv = num_or_nan(r, i, 10),
                          .liquidity_usd = num_or_nan(r, i, 11),
                          .volume_24h = num_or_nan(r, i, 12),
                          .change_24h = num_or_nan(r, i, 13),
                          .refreshed_at = PQgetisnull(r, i, 14) ? 0 : strtoll(PQgetvalue(r, i, 14), NULL, 10)};
        const char *status = PQgetvalue(r, i, 3);
        for (int k = 0; k < STATUS_COUNT; k++)
            if (!strcmp(status, status_name((token_status)k)))
                c.status = (token_status)k;
        cb(ctx, &c);
    }
    PQclear(r);
    return 0;
}
