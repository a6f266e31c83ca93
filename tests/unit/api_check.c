/* Requests to the tokens handlers and checks against the fixture
 * (api_check.h). */
#include "api_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_tokens.h"
#include "util.h"

/* ---- requests ------------------------------------------------------------------------ */

void api_get_raw(store *st, api_response *rs, const char *path, const char *const *kv)
{
    api_param q[32];
    size_t n = 0;
    for (; kv && kv[2 * n] && n < 32; n++)
        q[n] = (api_param){kv[2 * n], kv[2 * n + 1]};
    static const char prefix[] = "/api/v3/tokens/";
    const char *arg = !strncmp(path, prefix, sizeof prefix - 1) ? path + sizeof prefix - 1 : NULL;
    api_request rq = {.method = "GET",
                      .path = path,
                      .path_args = arg ? &arg : NULL,
                      .n_path_args = arg ? 1 : 0,
                      .query = q,
                      .n_query = n,
                      .st = st};
    memset(rs, 0, sizeof *rs);
    api_token_routes[arg ? 1 : 0].handler(&rq, rs);
}

void api_get(store *st, api_call *c, const char *path, const char *const *kv)
{
    api_get_raw(st, &c->rs, path, kv);
    c->json = c->rs.body ? cJSON_ParseWithLength(c->rs.body, c->rs.body_len) : NULL;
}

void api_call_free(api_call *c)
{
    cJSON_Delete(c->json);
    free(c->rs.body);
    memset(c, 0, sizeof *c);
}

size_t *api_walk(store *st, const char *const *kv, const char *limit, int by_cursor, void (*between)(void),
                 size_t *n_out, char *why, size_t whylen)
{
    size_t cap = 8192, n = 0;
    size_t *seen = xmalloc(cap * sizeof *seen);
    char *cursor = NULL, page[16];
    int ok = 1;
    for (int p = 1; ok && p < 10000; p++) {
        const char *q[24];
        size_t k = 0;
        for (; kv && kv[k] && k < 18; k++)
            q[k] = kv[k];
        q[k++] = "limit";
        q[k++] = limit;
        snprintf(page, sizeof page, "%d", p);
        if (!by_cursor || cursor) {
            q[k++] = by_cursor ? "cursor" : "page";
            q[k++] = by_cursor ? cursor : page;
        }
        q[k] = NULL;
        api_call c;
        api_get(st, &c, "/api/v3/tokens", q);
        const cJSON *t, *pg = cJSON_GetObjectItemCaseSensitive(c.json, "pagination");
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(pg, "next_cursor");
        int more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pg, "has_next"));
        ok = c.rs.status == 200 && (more ? cJSON_IsString(next) : cJSON_IsNull(next));
        if (!ok)
            snprintf(why, whylen, "page %d: %d %.200s", p, c.rs.status, c.rs.body ? c.rs.body : "");
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(c.json, "data"))
        {
            if (n == cap)
                seen = xrealloc(seen, (cap *= 2) * sizeof *seen);
            seen[n++] = fx_index(cJSON_GetObjectItemCaseSensitive(t, "address")->valuestring);
        }
        free(cursor);
        cursor = ok && more ? xstrdup(next->valuestring) : NULL;
        api_call_free(&c);
        if (!more)
            break;
        if (between)
            between();
    }
    free(cursor);
    if (!ok) {
        free(seen);
        return NULL;
    }
    *n_out = n;
    return seen;
}

/* ---- one token ------------------------------------------------------------------------ */

/* S with each 0xFF byte (the fixture's one byte that is not UTF-8) as
 * U+FFFD: what a reader returns. */
static void repaired(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        if ((unsigned char)*s == 0xFF) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

static int fail(char *why, size_t whylen, const char *field, const char *detail)
{
    snprintf(why, whylen, "%s: %s", field, detail);
    return -1;
}

static int check_str(const cJSON *t, const char *key, const tc_values *v, int field, char *why, size_t n)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(t, key);
    if (!values_has(v, field))
        return cJSON_IsNull(j) ? 0 : fail(why, n, key, "expected null");
    char want[256];
    repaired(v->str[field], want, sizeof want);
    if (!cJSON_IsString(j) || strcmp(j->valuestring, want))
        return fail(why, n, key, cJSON_IsString(j) ? j->valuestring : "not a string");
    return 0;
}

static int check_num(const cJSON *t, const char *key, int has, double want, char *why, size_t n)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(t, key);
    if (!has)
        return cJSON_IsNull(j) ? 0 : fail(why, n, key, "expected null");
    if (!cJSON_IsNumber(j) || j->valuedouble != want) {
        char d[96];
        snprintf(d, sizeof d, "got %.17g, want %.17g", cJSON_IsNumber(j) ? j->valuedouble : NAN, want);
        return fail(why, n, key, d);
    }
    return 0;
}

/* The links of KIND: the same set as written (the order is the store's). */
static int check_links(const cJSON *t, const char *key, const tc_values *v, int kind, char *why, size_t n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(t, key);
    if (!cJSON_IsArray(arr))
        return fail(why, n, key, "not an array");
    size_t want = values_count_links(v, kind), got = (size_t)cJSON_GetArraySize(arr);
    if (want != got)
        return fail(why, n, key, "wrong number of links");
    const char *label_key = kind == TC_LINK_SOCIAL ? "type" : "label";
    const cJSON *l;
    cJSON_ArrayForEach(l, arr)
    {
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(l, "url");
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(l, label_key);
        int found = 0;
        for (size_t i = 0; i < v->n_links && !found; i++) {
            const link_rec *r = &v->links[i];
            if (r->kind != kind || !cJSON_IsString(url) || strcmp(r->url, url->valuestring))
                continue;
            found = r->label ? cJSON_IsString(label) && !strcmp(label->valuestring, r->label) : cJSON_IsNull(label);
        }
        if (!found)
            return fail(why, n, key, "a link that was not written");
    }
    return 0;
}

static int check_sources(const cJSON *t, const fx_token *x, char *why, size_t n)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(t, "sources");
    if (!cJSON_IsObject(src))
        return fail(why, n, "sources", "not an object");
    int want = 0;
    for (int s = 0; s < FX_NSRC; s++) {
        const cJSON *one = cJSON_GetObjectItemCaseSensitive(src, fx_source_names[s]);
        if (x->outs[s] != OUTCOME_FOUND) {
            if (one)
                return fail(why, n, fx_source_names[s], "a record that was not written");
            continue;
        }
        want++;
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(one, "fetched_at");
        if (!cJSON_IsNumber(at) || (int64_t)at->valuedouble != x->now)
            return fail(why, n, fx_source_names[s], "fetched_at");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(one, "plugin_version");
        const char *want_ver = x->per[s].plugin_version;
        if (want_ver ? !cJSON_IsString(ver) || strcmp(ver->valuestring, want_ver) : !cJSON_IsNull(ver))
            return fail(why, n, fx_source_names[s], "plugin_version");
        char *json = values_to_json(&x->per[s]);
        size_t cap = strlen(json) * 3 + 1;
        char *fixed = xmalloc(cap);
        repaired(json, fixed, cap);
        cJSON *rec = cJSON_Parse(fixed);
        free(fixed);
        int same = cJSON_Compare(rec, cJSON_GetObjectItemCaseSensitive(one, "record"), 1);
        cJSON_Delete(rec);
        free(json);
        if (!same)
            return fail(why, n, fx_source_names[s], "record differs from what was written");
    }
    return cJSON_GetArraySize(src) == want ? 0 : fail(why, n, "sources", "wrong number of sources");
}

static int check_time(const cJSON *t, const char *key, int64_t want, char *why, size_t n)
{
    return check_num(t, key, want != 0, (double)want, why, n);
}

int fx_check_token(const cJSON *t, size_t i, int64_t created_at, uint32_t fields, char *why, size_t whylen)
{
    fx_token x;
    fx_token_make(i, &x);
    const tc_values *m = &x.merged;
    int market = values_has(m, TC_PRICE_USD);
    int rc = 0;
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(t, "address");
    if (!cJSON_IsString(addr) || strcmp(addr->valuestring, x.address))
        rc = fail(why, whylen, "address", "differs");
    /* Exactly the keys asked for. */
    int keys = 0;
    for (int f = 0; f < TF_COUNT && !rc; f++)
        if (fields & TF_BIT(f)) {
            keys++;
            if (!cJSON_HasObjectItem(t, token_field_name((token_field)f)))
                rc = fail(why, whylen, token_field_name((token_field)f), "missing");
        }
    if (!rc && cJSON_GetArraySize(t) != keys)
        rc = fail(why, whylen, "keys", "more keys than the fields asked for");
#define WANT(f) (!rc && (fields & TF_BIT(f)))
    if (WANT(TF_STATUS)) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, "status");
        if (!cJSON_IsString(s) || strcmp(s->valuestring, status_name(x.status)))
            rc = fail(why, whylen, "status", "differs");
    }
    static const struct {
        token_field f;
        int field;
    } strs[] = {{TF_NAME, TC_NAME},
                {TF_SYMBOL, TC_SYMBOL},
                {TF_IMAGE_URL, TC_IMAGE_URL},
                {TF_DESCRIPTION, TC_DESCRIPTION},
                {TF_SUPPLY, TC_SUPPLY}};
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
        if (WANT(strs[k].f))
            rc = check_str(t, token_field_name(strs[k].f), m, strs[k].field, why, whylen);
    static const struct {
        token_field f;
        int field;
    } nums[] = {{TF_DECIMALS, TC_DECIMALS},           {TF_PRICE_USD, TC_PRICE_USD},
                {TF_MARKET_CAP, TC_MARKET_CAP},       {TF_FDV, TC_FDV},
                {TF_LIQUIDITY_USD, TC_LIQUIDITY_USD}, {TF_VOLUME_24H, TC_VOLUME_24H},
                {TF_CHANGE_24H, TC_CHANGE_24H}};
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
        if (WANT(nums[k].f))
            rc = check_num(t, token_field_name(nums[k].f), values_has(m, nums[k].field), m->num[nums[k].field], why,
                           whylen);
    if (WANT(TF_PRICE_UPDATED_AT))
        rc = check_time(t, "price_updated_at", market ? x.now : 0, why, whylen);
    if (WANT(TF_LAST_PRICE_CHANGE))
        rc = check_time(t, "last_price_change_at", market ? x.now : 0, why, whylen);
    if (WANT(TF_CREATED_AT))
        rc = check_time(t, "created_at", created_at, why, whylen);
    if (WANT(TF_UPDATED_AT))
        rc = check_time(t, "updated_at", x.now, why, whylen);
    if (WANT(TF_SOCIALS))
        rc = check_links(t, "socials", m, TC_LINK_SOCIAL, why, whylen);
    if (WANT(TF_WEBSITES))
        rc = check_links(t, "websites", m, TC_LINK_WEBSITE, why, whylen);
    if (WANT(TF_SOURCES))
        rc = check_sources(t, &x, why, whylen);
#undef WANT
    fx_token_free(&x);
    return rc;
}

/* ---- orders ---------------------------------------------------------------------------- */

typedef struct ord {
    size_t i;
    int tail;
    double key;
    char address[48];
} ord;

static int g_desc;

static int compare_ord(const void *a, const void *b)
{
    const ord *x = a, *y = b;
    if (x->tail != y->tail)
        return x->tail - y->tail; /* the tail last, whatever the direction */
    int c = 0;
    if (!x->tail && x->key != y->key)
        c = x->key < y->key ? -1 : 1;
    if (!c)
        c = strcmp(x->address, y->address);
    return g_desc ? -c : c;
}

int fx_has_key(size_t i, token_sort sort)
{
    fx_kind k = fx_kind_of(i);
    switch (sort) {
    case TOKEN_SORT_MARKET_CAP:
    case TOKEN_SORT_VOLUME_24H:
        return k == FX_FULL;
    case TOKEN_SORT_UPDATED_AT:
        return k != FX_PENDING;
    default:
        return 1;
    }
}

size_t *fx_expected_order(size_t n, token_sort sort, int desc)
{
    ord *o = xcalloc(n ? n : 1, sizeof *o);
    for (size_t i = 0; i < n; i++) {
        fx_token x;
        fx_token_make(i, &x);
        o[i].i = i;
        o[i].tail = sort != TOKEN_SORT_ADDRESS && !fx_has_key(i, sort);
        o[i].key = sort == TOKEN_SORT_MARKET_CAP   ? x.merged.num[TC_MARKET_CAP]
                   : sort == TOKEN_SORT_VOLUME_24H ? x.merged.num[TC_VOLUME_24H]
                   : sort == TOKEN_SORT_UPDATED_AT ? (double)x.now
                                                   : 0;
        memcpy(o[i].address, x.address, sizeof o[i].address);
        fx_token_free(&x);
    }
    g_desc = desc;
    qsort(o, n, sizeof *o, compare_ord);
    size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = o[i].i;
    free(o);
    return idx;
}
