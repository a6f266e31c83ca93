/* Statement B of the PostgreSQL commit: from what statement A returned of
 * each written token (has it a price row, its stored link sets when relinked,
 * its stored source names) and the token's new values, the rows of
 * token_prices, token_socials, token_websites and token_sources that change.
 * Owns the B_* arrays between their reset and end; must not send anything,
 * touch the A_* arrays or decide which tokens were written (A did). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_internal.h"

/* ---- the sets A returns ------------------------------------------------------------ */

/* One field of a set returned by A: "LEN:BYTES", or "-" for NULL. */
typedef struct set_field {
    const char *p; /* NULL: SQL NULL */
    size_t len;
} set_field;

static set_field field_of(const char *str)
{
    set_field f = {str, str ? strlen(str) : 0};
    return f;
}

/* Reads the next field at *AT; 0 at the end (or on anything malformed). */
static int next_field(const char **at, set_field *f)
{
    const char *q = *at;
    if (!q || !*q)
        return 0;
    if (*q == '-') {
        f->p = NULL;
        f->len = 0;
        *at = q + 1;
        return 1;
    }
    char *end;
    unsigned long long len = strtoull(q, &end, 10);
    if (end == q || *end != ':' || strnlen(end + 1, (size_t)len) != (size_t)len)
        return 0;
    f->p = end + 1;
    f->len = (size_t)len;
    *at = f->p + len;
    return 1;
}

/* The same bytes, or both NULL. */
static int field_eq(const set_field *a, const set_field *b)
{
    if (!a->p || !b->p)
        return !a->p && !b->p;
    return a->len == b->len && !memcmp(a->p, b->p, a->len);
}

/* A's sets come back NULL when there are none. */
static const char *stored_set(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

/* ---- link sets ------------------------------------------------------------------------ */

/* How a kind of link is stored and where its rows go in B. A social row is
 * its (type, url): a changed type is another row. A website row is its url:
 * a changed label is the same row relabeled. */
typedef struct link_set {
    int kind;
    int label_keyed;          /* the label is part of the row's key */
    int label_first;          /* A returns "label url" pairs (else "url label") */
    int addr, label, url, op; /* the set's B arrays */
} link_set;

static const link_set socials = {.kind = TC_LINK_SOCIAL, .label_keyed = 1, .label_first = 1,
                                  .addr = B_S_ADDR, .label = B_S_TYPE, .url = B_S_URL, .op = B_S_OP};
static const link_set websites = {.kind = TC_LINK_WEBSITE, .label_keyed = 0, .label_first = 0,
                                   .addr = B_W_ADDR, .label = B_W_LABEL, .url = B_W_URL, .op = B_W_OP};

/* A link of the new set, in stored form (compared with A's bytes). */
typedef struct new_link {
    set_field label, url;
    char *own_label, *own_url;
} new_link;

/* The first of L[0..N) that is the row (URL, LABEL) of LS, or N. */
static size_t find_link(const link_set *ls, const new_link *l, size_t n, const set_field *url,
                        const set_field *label)
{
    size_t j = 0;
    while (j < n && !(field_eq(url, &l[j].url) && (!ls->label_keyed || field_eq(label, &l[j].label))))
        j++;
    return j;
}

/* The new set of LS: one link per row, the first one given. A keyed label
 * is never NULL (an unlabeled social has the type ""). */
static size_t new_links(const tc_values *m, const link_set *ls, new_link **out)
{
    new_link *l = xmalloc((m->n_links ? m->n_links : 1) * sizeof *l);
    size_t n = 0;
    for (size_t i = 0; i < m->n_links; i++) {
        const link_rec *lr = &m->links[i];
        if (lr->kind != ls->kind || !lr->url)
            continue;
        new_link c;
        c.url = field_of(store_pg_stored_form(lr->url, &c.own_url));
        c.label = field_of(store_pg_stored_form(ls->label_keyed && !lr->label ? "" : lr->label, &c.own_label));
        if (find_link(ls, l, n, &c.url, &c.label) < n) {
            free(c.own_url);
            free(c.own_label);
            continue;
        }
        l[n++] = c;
    }
    *out = l;
    return n;
}

static void free_links(new_link *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(l[i].own_url);
        free(l[i].own_label);
    }
    free(l);
}

/* LABEL NULL: SQL NULL. */
static void put_link(pgbin *a, const link_set *ls, const char *address, const set_field *url,
                     const set_field *label, int op)
{
    store_pg_bin_text(&a[ls->addr], address);
    store_pg_bin_bytes(&a[ls->url], url->p, url->len);
    store_pg_bin_bytes(&a[ls->label], label ? label->p : NULL, label ? label->len : 0);
    store_pg_bin_i4(&a[ls->op], 1, op);
}

/* A relinked token's rows of LS, STORED (A's pairs) against the new set:
 * only what differs is written, so an unchanged set costs nothing. */
static void diff_links(pgbin *a, const link_set *ls, const char *address, const tc_values *m, const char *stored)
{
    new_link *l;
    size_t n = new_links(m, ls, &l);
    char *keep = xcalloc(n ? n : 1, 1);
    set_field f[2];
    for (const char *at = stored; next_field(&at, &f[0]) && next_field(&at, &f[1]);) {
        const set_field *url = &f[ls->label_first], *label = &f[!ls->label_first];
        size_t j = find_link(ls, l, n, url, label);
        if (j == n) { /* the delete matches on the key alone */
            put_link(a, ls, address, url, ls->label_keyed ? label : NULL, ROW_DELETE);
            continue;
        }
        keep[j] = 1;
        if (!field_eq(label, &l[j].label)) /* only an unkeyed label can differ here */
            put_link(a, ls, address, url, &l[j].label, ROW_UPDATE);
    }
    for (size_t j = 0; j < n; j++)
        if (!keep[j])
            put_link(a, ls, address, &l[j].url, &l[j].label, ROW_INSERT);
    free(keep);
    free_links(l, n);
}

/* ---- prices and sources ------------------------------------------------------------- */

static int has_market_data(const tc_values *m)
{
    for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
        if (values_has(m, f) && isfinite(m->num[f]))
            return 1;
    return 0;
}

/* HAS_PRICE: a row exists, so it is updated (a plain INSERT otherwise). */
static void add_price_row(pgbin *a, const token_result *t, int has_price)
{
    const tc_values *m = &t->merged;
    if (!has_market_data(m))
        return;
    store_pg_bin_text(&a[B_P_ADDR], t->address);
    store_pg_bin_bool(&a[B_P_STORED], has_price);
    for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
        store_pg_bin_f8(&a[B_P_PRICE + (f - TC_PRICE_USD)], values_has(m, f), m->num[f]);
}

/* 1 when source NAME is in STORED ("LEN:name" fields). */
static int source_stored(const char *stored, const char *name)
{
    set_field f, want = field_of(name);
    for (const char *at = stored; next_field(&at, &f);)
        if (field_eq(&f, &want))
            return 1;
    return 0;
}

/* One row per (address, source): an earlier FOUND or MISSING of the same
 * name has written it. */
static int source_written_before(const token_result *t, size_t j)
{
    for (size_t q = 0; q < j; q++)
        if (!strcmp(t->source_names[q], t->source_names[j]) &&
            (t->outcomes[q] == OUTCOME_FOUND || t->outcomes[q] == OUTCOME_MISSING))
            return 1;
    return 0;
}

/* DATA and VERSION NULL: a delete. */
static void put_source(pgbin *a, const char *address, const char *source, const char *data, const char *version,
                       int op)
{
    store_pg_bin_text(&a[B_F_ADDR], address);
    store_pg_bin_text(&a[B_F_SOURCE], source);
    store_pg_bin_text(&a[B_F_DATA], data);
    store_pg_bin_i4(&a[B_F_OP], 1, op);
    store_pg_bin_text(&a[B_F_VERSION], version);
}

/* JSON + OFF[j]: source j's record, written with the plugin version that
 * produced it. FAILED, SKIPPED and KEPT leave the row (and its version). */
static void add_source_rows(pgbin *a, const token_result *t, const char *json, const size_t *off,
                            const char *stored)
{
    for (size_t j = 0; j < t->n_sources; j++) {
        const char *name = t->source_names[j];
        if (source_written_before(t, j))
            continue;
        if (t->outcomes[j] == OUTCOME_FOUND)
            put_source(a, t->address, name, json + off[j], t->per_source[j].plugin_version,
                       source_stored(stored, name) ? ROW_UPDATE : ROW_INSERT);
        else if (t->outcomes[j] == OUTCOME_MISSING && source_stored(stored, name))
            put_source(a, t->address, name, NULL, NULL, ROW_DELETE);
    }
}

/* ---- the rows of a batch ------------------------------------------------------------- */

/* T was written; row ROW of R is what A returned of it. */
static void add_token_rows(pgbin *a, const token_result *t, const char *json, const size_t *off, PGresult *r,
                           int row)
{
    add_price_row(a, t, PQgetvalue(r, row, 2)[0] == 't');
    if (PQgetvalue(r, row, 1)[0] == 't') { /* relink: a fresh, successful refresh */
        diff_links(a, &socials, t->address, &t->merged, stored_set(r, row, 3));
        diff_links(a, &websites, t->address, &t->merged, stored_set(r, row, 4));
    }
    add_source_rows(a, t, json, off, stored_set(r, row, 5));
}

int store_pg_compare_results(const void *a, const void *b)
{
    return strcmp((*(const token_result *const *)a)->address, (*(const token_result *const *)b)->address);
}

/* The token of V that A returned as ADDRESS, NULL if none. The server may
 * hold an address in another form (invalid UTF-8 replaced). */
static const token_result *const *find_token(const char *address, const token_result *const *v, size_t k)
{
    token_result key = {.address = address};
    const token_result *kp = &key;
    const token_result *const *hit = bsearch(&kp, v, k, sizeof *v, store_pg_compare_results);
    for (size_t i = 0; i < k && !hit; i++) {
        char *own;
        if (!strcmp(store_pg_stored_form(v[i]->address, &own), address))
            hit = &v[i];
        free(own);
    }
    return hit;
}

void store_pg_build_row_arrays(pgbin *arr, PGresult *r, const token_result *const *v, size_t k, const char *json,
                               const size_t *off, const size_t *base)
{
    store_pg_bin_reset_all(arr, store_pg_arr_oid, B_FIRST, B_END);
    for (int row = 0; row < PQntuples(r); row++) {
        const token_result *const *hit = find_token(PQgetvalue(r, row, 0), v, k);
        if (hit)
            add_token_rows(arr, *hit, json, off + base[hit - v], r, row);
    }
    store_pg_bin_end_all(arr, B_FIRST, B_END);
}
