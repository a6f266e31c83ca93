/* The statement texts of the store's API reads for both dialects, and the
 * filling of rows from their results (see store_read_sql.h). Owns the SQL
 * of the reads; must not run a statement or know a backend's API.
 *
 * The indexes these statements are written for (migrations: SQLite 5,
 * PostgreSQL 6): token_prices (market_cap, address) and (volume_24h,
 * address), tokens (last_refresh_success, address), tokens (lower(symbol))
 * and (lower(name)), beside the primary keys. A keyed page walks the sort
 * key's index from the position it continues after, so it costs the same
 * however deep it is; the tail walks the tokens by address. */
#include "store_read_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const col_sql[COL_N] = {
    [COL_ADDRESS] = "t.address",
    [COL_NAME] = "t.name",
    [COL_SYMBOL] = "t.symbol",
    [COL_PRICE] = "p.price_usd",
    [COL_MCAP] = "p.market_cap",
    [COL_CHANGE] = "p.change_24h",
    [COL_VOLUME] = "p.volume_24h",
    [COL_SUCCESS] = "t.last_refresh_success",
    [COL_STATUS] = "t.status",
    [COL_DECIMALS] = "t.decimals",
    [COL_IMAGE] = "t.image_url",
    [COL_DESCRIPTION] = "t.description",
    [COL_SUPPLY] = "t.supply",
    [COL_FDV] = "p.fdv",
    [COL_LIQUIDITY] = "p.liquidity_usd",
    [COL_PRICE_AT] = "p.updated_at",
    [COL_CREATED] = "t.created_at",
    [COL_ATTEMPT] = "t.last_refresh_attempt",
    [COL_PRICE_CHANGE] = "t.last_price_change",
    [COL_NEXT] = "t.next_refresh_at",
    [COL_ATTEMPTS] = "t.enrichment_attempts",
    [COL_INTERVAL] = "t.refresh_interval_seconds",
    [COL_OUTSTANDING] = "t.outstanding_sources",
    [COL_OUT_ATTEMPTS] = "t.outstanding_attempts",
    [COL_CONTEST] = "t.in_contest",
    [COL_PRIORITY] = "t.priority_score",
    [COL_METADATA] = "t.refresh_metadata",
};

/* The sort key's column and its tie-breaker's, for the keyed part. */
static const char *const key_sql[TOKEN_SORT_COUNT] = {
    [TOKEN_SORT_ADDRESS] = "t.address",
    [TOKEN_SORT_MARKET_CAP] = "p.market_cap",
    [TOKEN_SORT_VOLUME_24H] = "p.volume_24h",
    [TOKEN_SORT_UPDATED_AT] = "t.last_refresh_success",
};

static int price_key(token_sort s)
{
    return s == TOKEN_SORT_MARKET_CAP || s == TOKEN_SORT_VOLUME_24H;
}

/* ---- building ---------------------------------------------------------------------------- */

void read_sql_free(read_sql *s)
{
    sb_free(&s->sql);
    free(s->params);
    free(s->lo);
    free(s->hi);
    s->params = NULL;
    s->lo = s->hi = NULL;
    s->n_params = s->cap_params = 0;
}

static void reset(read_sql *s)
{
    s->sql.len = 0;
    if (s->sql.data)
        s->sql.data[0] = '\0';
    s->n_params = 0;
}

static void put(read_sql *s, const char *text)
{
    sb_appends(&s->sql, text);
}

/* A new parameter, its placeholder appended; returns its number. SQLite's
 * are anonymous ("?", numbered in order): numbered ones ("?NNN") are looked
 * up by a linear search per parameter when the statement is prepared, which
 * is quadratic in an address list. */
static size_t param(read_sql *s, read_param p)
{
    if (s->n_params == s->cap_params) {
        s->cap_params = s->cap_params ? s->cap_params * 2 : 8;
        s->params = xrealloc(s->params, s->cap_params * sizeof *s->params);
    }
    s->params[s->n_params++] = p;
    size_t n = s->n_params;
    if (!s->pg) {
        put(s, "?");
        return n;
    }
    static const char *const cast[] = {
        [PARAM_TEXT] = "::text", [PARAM_NUM] = "::float8", [PARAM_INT] = "::bigint", [PARAM_ADDRS] = "::text[]"};
    if (p.type == PARAM_TIME)
        sb_printf(&s->sql, "to_timestamp($%zu::float8)", n);
    else
        sb_printf(&s->sql, "$%zu%s", n, cast[p.type]);
    return n;
}

/* Parameter N once more: by its number (PostgreSQL), as a new one with the
 * same value (SQLite). */
static void param_again(read_sql *s, size_t n)
{
    const read_param *p = &s->params[n - 1];
    if (!s->pg)
        param(s, *p);
    else
        sb_printf(&s->sql, "$%zu%s", n, p->type == PARAM_NUM ? "::float8" : "::text");
}

static void text_param(read_sql *s, const char *text)
{
    param(s, (read_param){.type = PARAM_TEXT, .text = text});
}

/* COLUMN is one of ADDRS. */
static void in_addresses(read_sql *s, const char *column, const char *const *addrs, size_t n)
{
    put(s, column);
    if (s->pg) {
        put(s, " = ANY(");
        param(s, (read_param){.type = PARAM_ADDRS, .addrs = addrs, .n = n});
        put(s, ")");
        return;
    }
    put(s, " IN (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(s, ",");
        text_param(s, addrs[i]);
    }
    put(s, ")");
}

/* symbol or name starts with the prefix: a range of lower() (SQLite), a
 * LIKE of lower() (PostgreSQL; its lower() folds as the index does). */
static void prefix_condition(read_sql *s, const char *prefix)
{
    if (s->pg) {
        strbuf pat = {0};
        for (const char *c = prefix; *c; c++) {
            if (*c == '%' || *c == '_' || *c == '\\')
                sb_append(&pat, "\\", 1);
            sb_append(&pat, c, 1);
        }
        sb_append(&pat, "%", 1);
        free(s->lo);
        s->lo = pat.data;
        put(s, "(lower(t.symbol) LIKE lower(");
        size_t n = param(s, (read_param){.type = PARAM_TEXT, .text = s->lo});
        put(s, ") OR lower(t.name) LIKE lower(");
        param_again(s, n);
        put(s, "))");
        return;
    }
    size_t len = strlen(prefix);
    free(s->lo);
    free(s->hi);
    s->lo = xmalloc(len + 1);
    s->hi = xmalloc(len + 1);
    int has_hi;
    token_prefix_range(prefix, s->lo, s->hi, &has_hi);
    static const char *const cols[2] = {"lower(t.symbol)", "lower(t.name)"};
    size_t lo = 0, hi = 0;
    put(s, "(");
    for (int i = 0; i < 2; i++) {
        sb_printf(&s->sql, "%s(%s >= ", i ? " OR " : "", cols[i]);
        if (i)
            param_again(s, lo);
        else
            lo = param(s, (read_param){.type = PARAM_TEXT, .text = s->lo});
        if (has_hi) {
            sb_printf(&s->sql, " AND %s < ", cols[i]);
            if (i)
                param_again(s, hi);
            else
                hi = param(s, (read_param){.type = PARAM_TEXT, .text = s->hi});
        }
        put(s, ")");
    }
    put(s, ")");
}

/* " WHERE " before the first condition, " AND " before the others. */
static void cond(read_sql *s, int *first)
{
    put(s, *first ? " WHERE " : " AND ");
    *first = 0;
}

static void filters(read_sql *s, const token_query *q, int *first)
{
    if (q->statuses) {
        cond(s, first);
        put(s, "t.status IN (");
        int n = 0;
        for (int k = 0; k < STATUS_COUNT; k++)
            if (q->statuses & (1u << k))
                sb_printf(&s->sql, "%s'%s'", n++ ? "," : "", status_name((token_status)k));
        put(s, ")");
    }
    if (q->addresses) {
        cond(s, first);
        if (q->n_addresses)
            in_addresses(s, "t.address", q->addresses, q->n_addresses);
        else
            put(s, "1 = 0");
    }
    if (q->prefix) {
        cond(s, first);
        prefix_condition(s, q->prefix);
    }
}

/* FROM for the keyed part (KEYED) or the tail / a count of all. A keyed
 * page by a price walks that price's index, so token_prices leads (in
 * SQLite by CROSS JOIN), unless a filter is likely more selective. */
static void from(read_sql *s, const token_query *q, int keyed, int need_prices)
{
    if (keyed && price_key(q->sort)) {
        if (q->addresses || q->prefix)
            put(s, " FROM tokens t JOIN token_prices p ON p.address = t.address");
        else
            put(s, s->pg ? " FROM token_prices p JOIN tokens t ON t.address = p.address"
                         : " FROM token_prices p CROSS JOIN tokens t ON t.address = p.address");
    } else if (need_prices) {
        put(s, " FROM tokens t LEFT JOIN token_prices p ON p.address = t.address");
    } else {
        put(s, " FROM tokens t");
    }
}

/* The part of the order: tokens with a value for the key, or the others. */
static void part_condition(read_sql *s, const token_query *q, int tail, int *first)
{
    if (q->sort == TOKEN_SORT_ADDRESS)
        return;
    cond(s, first);
    sb_printf(&s->sql, "%s IS %s", key_sql[q->sort], tail ? "NULL" : "NOT NULL");
}

void read_sql_count(read_sql *s, const token_query *q, int keyed)
{
    reset(s);
    put(s, "SELECT count(*)");
    from(s, q, keyed, keyed && price_key(q->sort));
    int first = 1;
    filters(s, q, &first);
    if (keyed)
        part_condition(s, q, 0, &first);
}

int read_columns(const token_query *q)
{
    if (q->with & TOKEN_LIGHT)
        return COL_LIGHT_N;
    return q->with & TOKEN_WITH_REFRESH ? COL_N : COL_FULL_N;
}

void read_sql_rows(read_sql *s, const token_query *q, int tail, const token_key *after, uint64_t offset, size_t limit)
{
    reset(s);
    put(s, "SELECT ");
    int ncol = read_columns(q);
    for (int c = 0; c < ncol; c++)
        sb_printf(&s->sql, "%s%s", c ? ", " : "", col_sql[c]);
    int keyed = !tail;
    from(s, q, keyed, 1);
    int first = 1;
    filters(s, q, &first);
    part_condition(s, q, tail, &first);
    const char *dir = q->descending ? " DESC" : "";
    const char *cmp = q->descending ? " < " : " > ";
    /* The keyed part by a price goes by token_prices' own address: the
     * index's second column. */
    const char *tie = keyed && price_key(q->sort) ? "p.address" : "t.address";
    int by_key = keyed && q->sort != TOKEN_SORT_ADDRESS;
    if (after) {
        cond(s, &first);
        if (by_key) {
            sb_printf(&s->sql, "(%s, %s)%s(", key_sql[q->sort], tie, cmp);
            param(s,
                  (read_param){.type = q->sort == TOKEN_SORT_UPDATED_AT ? PARAM_TIME : PARAM_NUM, .num = after->value});
            put(s, ", ");
            text_param(s, after->address);
            put(s, ")");
        } else {
            sb_printf(&s->sql, "%s%s", tie, cmp);
            text_param(s, after->address);
        }
    }
    if (by_key)
        sb_printf(&s->sql, " ORDER BY %s%s, %s%s", key_sql[q->sort], dir, tie, dir);
    else
        sb_printf(&s->sql, " ORDER BY %s%s", tie, dir);
    put(s, " LIMIT ");
    param(s, (read_param){.type = PARAM_INT, .i = (int64_t)limit});
    put(s, " OFFSET ");
    param(s, (read_param){.type = PARAM_INT, .i = (int64_t)offset});
}

void read_sql_related(read_sql *s, int kind, const char *const *addrs, size_t n)
{
    static const char *const sel[REL_KINDS] = {
        [REL_SOCIALS] = "SELECT address, type, url FROM token_socials WHERE ",
        [REL_WEBSITES] = "SELECT address, label, url FROM token_websites WHERE ",
        [REL_SOURCES] = "SELECT address, source, data, fetched_at, plugin_version FROM token_sources WHERE ",
    };
    static const char *const order[REL_KINDS] = {
        [REL_SOCIALS] = " ORDER BY address, type, url",
        [REL_WEBSITES] = " ORDER BY address, url",
        [REL_SOURCES] = " ORDER BY address, source",
    };
    reset(s);
    put(s, sel[kind]);
    in_addresses(s, "address", addrs, n);
    put(s, order[kind]);
}

/* ---- filling ----------------------------------------------------------------------------- */

static const char *str_col(token_page *p, const row_reader *r, int col)
{
    if (r->is_null(r->ctx, col))
        return NULL;
    size_t len;
    const char *t = r->text(r->ctx, col, &len);
    return token_page_str(p, t, len);
}

static double num_col(const row_reader *r, int col)
{
    return r->is_null(r->ctx, col) ? NAN : r->num(r->ctx, col);
}

static int64_t time_col(const row_reader *r, int col, double *key)
{
    *key = NAN;
    return r->is_null(r->ctx, col) ? 0 : r->time(r->ctx, col, key);
}

static int int_col(const row_reader *r, int col)
{
    return r->is_null(r->ctx, col) ? 0 : (int)r->integer(r->ctx, col);
}

void read_fill_row(void *target, const row_reader *r)
{
    token_page *p = ((read_target *)target)->page;
    const token_query *q = ((read_target *)target)->q;
    int ncol = read_columns(q);
    token_row *row = token_page_add_row(p);
    double success_key, unused;
    row->address = str_col(p, r, COL_ADDRESS);
    row->name = str_col(p, r, COL_NAME);
    row->symbol = str_col(p, r, COL_SYMBOL);
    row->price_usd = num_col(r, COL_PRICE);
    row->market_cap = num_col(r, COL_MCAP);
    row->change_24h = num_col(r, COL_CHANGE);
    row->volume_24h = num_col(r, COL_VOLUME);
    row->last_success = time_col(r, COL_SUCCESS, &success_key);
    if (ncol > COL_LIGHT_N) {
        const char *status = str_col(p, r, COL_STATUS);
        int k = status ? token_status_parse(status) : -1;
        row->status = k < 0 ? STATUS_PENDING : (token_status)k;
        row->decimals = num_col(r, COL_DECIMALS);
        row->image_url = str_col(p, r, COL_IMAGE);
        row->description = str_col(p, r, COL_DESCRIPTION);
        row->supply = str_col(p, r, COL_SUPPLY);
        row->fdv = num_col(r, COL_FDV);
        row->liquidity_usd = num_col(r, COL_LIQUIDITY);
        row->price_updated_at = time_col(r, COL_PRICE_AT, &unused);
        row->created_at = time_col(r, COL_CREATED, &unused);
        row->last_attempt = time_col(r, COL_ATTEMPT, &unused);
        row->last_price_change = time_col(r, COL_PRICE_CHANGE, &unused);
        row->next_refresh_at = time_col(r, COL_NEXT, &unused);
        row->attempts = int_col(r, COL_ATTEMPTS);
        row->refresh_interval_s = int_col(r, COL_INTERVAL);
        row->outstanding = str_col(p, r, COL_OUTSTANDING);
        row->outstanding_attempts = int_col(r, COL_OUT_ATTEMPTS);
        row->in_contest = int_col(r, COL_CONTEST);
        row->priority_score = num_col(r, COL_PRIORITY);
    }
    if (ncol > COL_METADATA)
        row->refresh_metadata = str_col(p, r, COL_METADATA);
    switch (q->sort) {
    case TOKEN_SORT_MARKET_CAP:
        row->key = row->market_cap;
        break;
    case TOKEN_SORT_VOLUME_24H:
        row->key = row->volume_24h;
        break;
    case TOKEN_SORT_UPDATED_AT:
        row->key = success_key;
        break;
    default:
        break;
    }
}

void read_fill_related(void *target, const row_reader *r)
{
    token_page *p = ((read_target *)target)->page;
    int kind = ((read_target *)target)->kind;
    size_t alen, l1 = 0, l2 = 0;
    const char *address = r->text(r->ctx, 0, &alen);
    const char *s1 = r->is_null(r->ctx, 1) ? NULL : r->text(r->ctx, 1, &l1);
    const char *s2 = r->is_null(r->ctx, 2) ? NULL : r->text(r->ctx, 2, &l2);
    if (!address || !s2)
        return;
    if (kind != REL_SOURCES) {
        token_page_add_link(p, kind == REL_WEBSITES, address, s1, l1, s2, l2);
    } else {
        double unused;
        size_t lv = 0;
        const char *version = r->is_null(r->ctx, 4) ? NULL : r->text(r->ctx, 4, &lv);
        token_page_add_source(p, address, s1 ? s1 : "", l1, s2, l2, r->time(r->ctx, 3, &unused), version, lv);
    }
}

const char **read_page_addresses(const token_page *p)
{
    const char **a = xmalloc((p->n ? p->n : 1) * sizeof *a);
    for (size_t i = 0; i < p->n; i++)
        a[i] = p->rows[i].address;
    return a;
}

int read_each_related(const token_query *q, token_page *p, size_t max,
                      int (*related)(void *be, int kind, const char *const *addrs, size_t n, token_page *p, char *err,
                                     size_t errlen),
                      void *be, char *err, size_t errlen)
{
    static const unsigned want[REL_KINDS] = {TOKEN_WITH_SOCIALS, TOKEN_WITH_WEBSITES, TOKEN_WITH_SOURCES};
    const char **addrs = read_page_addresses(p);
    int rc = 0;
    for (int kind = 0; kind < REL_KINDS && !rc; kind++) {
        if (!(q->with & want[kind]))
            continue;
        for (size_t at = 0; at < p->n && !rc; at += max)
            rc = related(be, kind, addrs + at, p->n - at < max ? p->n - at : max, p, err, errlen);
    }
    free(addrs);
    return rc;
}
