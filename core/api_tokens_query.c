/* The query of GET /api/v3/tokens: every parameter parsed and checked (a bad
 * one is a 400 that names it and says why), turned into the store's
 * token_query; and the opaque keyset cursor. Owns the parameters' rules;
 * must not read the store or write a response body other than an error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_tokens.h"
#include "jsonw.h"

static const char *const field_names[TF_COUNT] = {
    [TF_ADDRESS] = "address",
    [TF_STATUS] = "status",
    [TF_NAME] = "name",
    [TF_SYMBOL] = "symbol",
    [TF_DECIMALS] = "decimals",
    [TF_IMAGE_URL] = "image_url",
    [TF_DESCRIPTION] = "description",
    [TF_SUPPLY] = "supply",
    [TF_PRICE_USD] = "price_usd",
    [TF_MARKET_CAP] = "market_cap",
    [TF_FDV] = "fdv",
    [TF_LIQUIDITY_USD] = "liquidity_usd",
    [TF_VOLUME_24H] = "volume_24h",
    [TF_CHANGE_24H] = "change_24h",
    [TF_PRICE_UPDATED_AT] = "price_updated_at",
    [TF_LAST_PRICE_CHANGE] = "last_price_change_at",
    [TF_CREATED_AT] = "created_at",
    [TF_UPDATED_AT] = "updated_at",
    [TF_SOCIALS] = "socials",
    [TF_WEBSITES] = "websites",
    [TF_SOURCES] = "sources",
    [TF_REFRESH] = "refresh",
};

const char *token_field_name(token_field f)
{
    return f < TF_COUNT ? field_names[f] : "?";
}

static const char *const sort_names[TOKEN_SORT_COUNT] = {
    [TOKEN_SORT_ADDRESS] = "address",
    [TOKEN_SORT_MARKET_CAP] = "market_cap",
    [TOKEN_SORT_VOLUME_24H] = "volume_24h",
    [TOKEN_SORT_UPDATED_AT] = "updated_at",
};

static const char *const list_params[] = {"limit", "page",      "cursor", "fields", "light",
                                          "sort",  "addresses", "status", "q",      NULL};

/* A 400 for PARAM: WHY, with the value given (cut at 64 bytes). */
static int bad(api_response *rs, const char *param, const char *value, const char *why)
{
    api_error(rs, 400, "bad_parameter", "%s: %s (got \"%.64s%s\")", param, why, value, strlen(value) > 64 ? "..." : "");
    return -1;
}

/* A whole number of decimal digits only; *OVER when it exceeds 2^63. */
static int parse_count(const char *s, uint64_t *out, int *over)
{
    *out = 0;
    *over = 0;
    if (!*s)
        return -1;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        if (*out > (UINT64_C(1) << 62))
            *over = 1;
        else
            *out = *out * 10 + (uint64_t)(*c - '0');
    }
    return 0;
}

/* Calls ITEM for each comma-separated part of LIST (LIST is changed); stops
 * at the first that returns -1. An empty part is an error. */
static int each_item(char *list, int (*item)(void *ctx, char *name), void *ctx)
{
    for (char *p = list;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p || item(ctx, p))
            return -1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

typedef struct list_ctx {
    api_response *rs;
    const char *param, *value;
    uint32_t bits;
} list_ctx;

static int field_item(void *vctx, char *name)
{
    list_ctx *c = vctx;
    if (!strcmp(name, "prices")) {
        c->bits |= TF_PRICES;
        return 0;
    }
    for (int f = 0; f < TF_SOURCES + 1; f++)
        if (!strcmp(name, field_names[f])) {
            c->bits |= TF_BIT(f);
            return 0;
        }
    strbuf known = {0};
    for (int f = 0; f <= TF_SOURCES; f++)
        sb_printf(&known, "%s, ", field_names[f]);
    sb_appends(&known, "prices");
    char why[768];
    snprintf(why, sizeof why, "unknown field \"%.64s\" (known: %s)", name, known.data);
    sb_free(&known);
    return bad(c->rs, c->param, c->value, why);
}

static int status_item(void *vctx, char *name)
{
    list_ctx *c = vctx;
    int k = token_status_parse(name);
    if (k < 0) {
        char why[160];
        snprintf(why, sizeof why, "unknown status \"%.32s\" (known: pending, enriched, no_data, failed)", name);
        return bad(c->rs, c->param, c->value, why);
    }
    c->bits |= 1u << k;
    return 0;
}

/* A comma list of names of PARAM through ITEM, into *BITS. */
static int parse_list(api_response *rs, const char *param, const char *value, int (*item)(void *, char *),
                      uint32_t *bits)
{
    list_ctx c = {rs, param, value, 0};
    char *copy = xstrdup(value);
    int rc = each_item(copy, item, &c);
    free(copy);
    if (rc) {
        if (rs->status != 400)
            bad(rs, param, value, "an empty name in the list");
        return -1;
    }
    *bits = c.bits;
    return 0;
}

static int parse_sort(const char *v, token_query *q, api_response *rs)
{
    const char *name = v[0] == '-' ? v + 1 : v;
    for (int s = 0; s < TOKEN_SORT_COUNT; s++)
        if (!strcmp(name, sort_names[s])) {
            q->sort = (token_sort)s;
            q->descending = v[0] == '-';
            return 0;
        }
    return bad(rs, "sort", v, "expected market_cap, volume_24h, updated_at or address, with - for descending");
}

static int parse_limit(const char *v, tokens_params *p, api_response *rs)
{
    uint64_t n;
    int over;
    if (parse_count(v, &n, &over) || (n == 0 && !over))
        return bad(rs, "limit", v, "expected a whole number from 1 (above 2000 it is capped at 2000)");
    p->limit_capped = over || n > TOKENS_MAX_LIMIT;
    p->q.limit = p->limit_capped ? TOKENS_MAX_LIMIT : (size_t)n;
    return 0;
}

static int parse_page(const char *v, tokens_params *p, api_response *rs)
{
    uint64_t n;
    int over;
    if (parse_count(v, &n, &over) || over || n < 1 || n > TOKENS_MAX_PAGE)
        return bad(rs, "page", v, "expected a whole number from 1 to 1000000 (deeper: use cursor)");
    p->page = (long)n;
    p->q.offset = (n - 1) * p->q.limit;
    return 0;
}

static int parse_addresses(const char *v, tokens_params *p, api_response *rs)
{
    p->addr_copy = xstrdup(v);
    size_t n = 1;
    for (const char *c = v; *c; c++)
        n += *c == ',';
    if (n > p->q.limit) {
        char why[128];
        snprintf(why, sizeof why, "%zu addresses, more than limit (%zu)", n, p->q.limit);
        return bad(rs, "addresses", v, why);
    }
    p->addr_list = xcalloc(n, sizeof *p->addr_list);
    size_t k = 0;
    for (char *a = p->addr_copy;;) {
        char *comma = strchr(a, ',');
        if (comma)
            *comma = '\0';
        if (!is_solana_address(a)) {
            char why[128];
            snprintf(why, sizeof why, "\"%.48s\" is not a Solana address (base58, 32 to 44 characters)", a);
            return bad(rs, "addresses", v, why);
        }
        p->addr_list[k++] = a;
        if (!comma)
            break;
        a = comma + 1;
    }
    p->q.addresses = p->addr_list;
    p->q.n_addresses = k;
    return 0;
}

static int parse_q(const char *v, token_query *q, api_response *rs)
{
    size_t n = strlen(v);
    if (n == 0 || n > TOKENS_MAX_Q)
        return bad(rs, "q", v, "expected 1 to 64 bytes: the start of a symbol or a name");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7F)
            return bad(rs, "q", v, "control characters are not allowed");
    if (!jw_utf8_valid(v, n))
        return bad(rs, "q", v, "not valid UTF-8");
    q->prefix = v;
    return 0;
}

static int parse_light(const char *v, int *light, api_response *rs)
{
    if (!strcmp(v, "1") || !strcmp(v, "true"))
        *light = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "false"))
        *light = 0;
    else
        return bad(rs, "light", v, "expected 1 or 0");
    return 0;
}

/* What the store reads for the fields shown. */
static unsigned store_with(uint32_t fields)
{
    unsigned with = 0;
    if (fields & TF_BIT(TF_SOCIALS))
        with |= TOKEN_WITH_SOCIALS;
    if (fields & TF_BIT(TF_WEBSITES))
        with |= TOKEN_WITH_WEBSITES;
    if (fields & TF_BIT(TF_SOURCES))
        with |= TOKEN_WITH_SOURCES;
    if (!(fields & ~TF_LIGHT))
        with |= TOKEN_LIGHT;
    return with;
}

int tokens_parse(const api_request *rq, tokens_params *p, api_response *rs)
{
    memset(p, 0, sizeof *p);
    p->q.sort = TOKEN_SORT_MARKET_CAP;
    p->q.descending = 1;
    p->q.limit = TOKENS_DEFAULT_LIMIT;
    p->q.count = 1;
    p->page = 1;
    p->fields = TF_DEFAULT;
    if (api_check_params(rq, list_params, rs))
        return -1;
    const char *v;
    int light = 0;
    if ((v = api_query(rq, "sort")) && parse_sort(v, &p->q, rs))
        return -1;
    if ((v = api_query(rq, "limit")) && parse_limit(v, p, rs))
        return -1;
    const char *page = api_query(rq, "page"), *cursor = api_query(rq, "cursor");
    if (page && cursor)
        return bad(rs, "page", page, "page and cursor cannot be used together: a cursor says where the page starts");
    if (page && parse_page(page, p, rs))
        return -1;
    if (cursor) {
        char why[128];
        if (tokens_cursor_decode(cursor, &p->q, &p->after, why, sizeof why))
            return bad(rs, "cursor", cursor, why);
        p->q.after = &p->after;
        p->page = 0;
    }
    if ((v = api_query(rq, "light")) && parse_light(v, &light, rs))
        return -1;
    if ((v = api_query(rq, "fields"))) {
        if (light)
            return bad(rs, "fields", v, "light=1 has its own fields: give one or the other");
        if (parse_list(rs, "fields", v, field_item, &p->fields))
            return -1;
        p->fields |= TF_BIT(TF_ADDRESS);
    }
    if (light)
        p->fields = TF_LIGHT;
    p->q.with = store_with(p->fields);
    if ((v = api_query(rq, "status")) && parse_list(rs, "status", v, status_item, &p->q.statuses))
        return -1;
    if ((v = api_query(rq, "addresses")) && parse_addresses(v, p, rs))
        return -1;
    if ((v = api_query(rq, "q")) && parse_q(v, &p->q, rs))
        return -1;
    return 0;
}

void tokens_params_free(tokens_params *p)
{
    free(p->addr_copy);
    free(p->addr_list);
    p->addr_copy = NULL;
    p->addr_list = NULL;
}

/* ---- the cursor ------------------------------------------------------------------------ */

/* "1:SORT:DESC:TAIL:VALUE:ADDRESS" in base64url without padding: opaque to
 * clients, checked on the way back (a cursor of another sort is refused). */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *tokens_cursor_encode(const token_query *q, const token_key *k)
{
    char plain[160];
    int n = snprintf(plain, sizeof plain, "1:%d:%d:%d:%.17g:%s", (int)q->sort, q->descending ? 1 : 0, k->tail ? 1 : 0,
                     k->tail || q->sort == TOKEN_SORT_ADDRESS ? 0.0 : k->value, k->address);
    if (n < 0 || (size_t)n >= sizeof plain)
        n = (int)strlen(plain);
    char *out = xmalloc((size_t)n * 4 / 3 + 4);
    size_t o = 0;
    for (int i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)plain[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)plain[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = b64[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return out;
}

/* TEXT's bytes into OUT (at most CAP - 1, NUL-terminated); -1 when not
 * base64url. */
static int b64_decode(const char *text, char *out, size_t cap)
{
    size_t o = 0, len = strlen(text);
    if (len % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *at = strchr(b64, text[i]);
        if (!text[i] || !at)
            return -1;
        acc = acc << 6 | (uint32_t)(at - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)(acc >> bits & 0xFF);
        }
    }
    out[o] = '\0';
    return 0;
}

int tokens_cursor_decode(const char *text, const token_query *q, token_key *k, char *why, size_t whylen)
{
    char plain[160];
    int sort, desc, tail, used = 0;
    double value;
    snprintf(why, whylen, "not a cursor of this API (use next_cursor of a response as it is)");
    memset(k, 0, sizeof *k);
    if (b64_decode(text, plain, sizeof plain) ||
        sscanf(plain, "1:%d:%d:%d:%lf:%n", &sort, &desc, &tail, &value, &used) != 4 || used == 0)
        return -1;
    const char *address = plain + used;
    size_t alen = strlen(address);
    if (sort < 0 || sort >= TOKEN_SORT_COUNT || (desc != 0 && desc != 1) || (tail != 0 && tail != 1) ||
        !isfinite(value) || alen == 0 || alen >= sizeof k->address)
        return -1;
    for (size_t i = 0; i < alen; i++)
        if ((unsigned char)address[i] < 0x21 || address[i] == 0x7F)
            return -1;
    if (sort != (int)q->sort || desc != q->descending) {
        snprintf(why, whylen, "the cursor was made for sort=%s%s, this request has sort=%s%s", desc ? "-" : "",
                 sort_names[sort], q->descending ? "-" : "", sort_names[q->sort]);
        return -1;
    }
    k->tail = tail;
    k->value = value;
    memcpy(k->address, address, alen + 1);
    return 0;
}
