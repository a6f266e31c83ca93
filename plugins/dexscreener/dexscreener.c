/*
 * DexScreener tokens/v1 source plugin.
 *
 *   GET {base_url}/tokens/v1/{chain}/a1,a2,...        (at most 30 addresses)
 *
 * The answer is a bare JSON array of pairs, only for tokens DexScreener
 * knows; one token may appear in several pairs, as base or as quote.
 *
 * Pair choice per requested address:
 *  1. among pairs whose baseToken.address is the address, the one with the
 *     highest liquidity.usd (missing/null liquidity counts as -1; ties keep
 *     the first in the response);
 *  2. else among pairs whose quoteToken.address is the address, likewise.
 *     From a quote-side pair only name/symbol (quoteToken), a price
 *     (priceUsd / priceNative), liquidity.usd and volume.h24 are emitted.
 *
 * Links (base pair only): info.websites[{label?,url}] -> TC_LINK_WEBSITE with
 * the lower-cased label or "website"; info.socials in the real {type,url}
 * form -> TC_LINK_SOCIAL label=lower(type); in the documented
 * {platform,handle} form -> label=lower(platform) and the URL built from the
 * handle: twitter/x -> https://x.com/<handle>, telegram -> https://t.me/<handle>
 * (a leading '@' dropped), other platforms -> the handle as given. A handle
 * that is already an http(s) URL is used unchanged.
 *
 * Setting "chain" (see dex_settings): [a-z0-9_-]+. On chains other than
 * solana addresses are matched case-insensitively (EVM hex addresses come
 * back checksummed); base58 is case-sensitive.
 */
#include <tokencollector/plugin.h>
#include <tokencollector/sdk.h>
#include <tokencollector/sdk/json.h>

#define DEX_MAX_CHUNK 30
#define DEX_DEFAULT_BASE "https://api.dexscreener.com"
#define DEX_DEFAULT_CHAIN "solana"
#ifndef DEX_VERSION
#define DEX_VERSION "1.0.0" /* the tests build a second one with another, for the hot swap */
#endif

typedef struct dex {
    const tc_host *host;
    char *base_url;
    char chain[64];
    int fold_case;
} dex;

/* The keys this plugin reads, for the host's checks and --config-help. */
static const tc_setting_def dex_settings[] = {
    {"chain", TC_SETTING_STRING, DEX_DEFAULT_CHAIN, "DexScreener chain id ([a-z0-9_-]); other chains match addresses case-insensitively", 1, 0},
    {"base_url", TC_SETTING_STRING, DEX_DEFAULT_BASE, "the API's base URL", 1, 0},
    {NULL, 0, NULL, NULL, 0, 0},
};

static int dex_create(const tc_host *host, const tc_settings *settings, void **self,
                      char *err, size_t errlen) {
    if (!host || !TC_HAS_MEMBER(host, tc_host, request_body)) {
        snprintf(err, errlen, "host interface too old");
        return -1;
    }
    const char *chain = host->setting(settings, "chain");
    if (!chain || !*chain) chain = DEX_DEFAULT_CHAIN;
    size_t len = strlen(chain);
    int ok = len < sizeof ((dex *)0)->chain;
    for (const char *p = chain; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
    if (!ok) {
        snprintf(err, errlen, "chain must be a DexScreener chain id such as \"solana\" ([a-z0-9_-], at most 63 characters)");
        return -1;
    }
    dex *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tc_setting_base_url(host, settings, DEX_DEFAULT_BASE, &d->base_url, err, errlen) != 0) {
        free(d);
        return -1;
    }
    d->host = host;
    memcpy(d->chain, chain, len + 1);
    d->fold_case = strcmp(chain, "solana") != 0;
    *self = d;
    return 0;
}

static void dex_destroy(void *self) {
    dex *d = self;
    if (!d) return;
    free(d->base_url);
    free(d);
}

static int dex_build_request(void *self, const char *const *addrs, size_t n, tc_request *req) {
    dex *d = self;
    if (!d || !addrs || n == 0 || n > DEX_MAX_CHUNK) return -1;
    tc_sb url;
    tc_sb_init(&url);
    tc_sb_puts(&url, d->base_url);
    tc_sb_puts(&url, "/tokens/v1/");
    tc_sb_puts(&url, d->chain);
    tc_sb_putc(&url, '/');
    for (size_t i = 0; i < n; i++) {
        if (!addrs[i] || !*addrs[i]) {
            tc_sb_free(&url);
            return -1;
        }
        if (i) tc_sb_putc(&url, ',');
        tc_sb_put_urlenc(&url, addrs[i]);
    }
    const char *u = tc_sb_str(&url);
    int rc = u ? d->host->request_url(req, TC_GET, u) : -1;
    tc_sb_free(&url);
    return rc == 0 ? 0 : -1;
}

/* liquidity.usd of a pair, or -1 when missing/null/not finite. */
static double pair_liquidity(const cJSON *pair) {
    double v;
    return tc_json_num(tc_json_obj(pair, "liquidity"), "usd", &v) ? v : -1.0;
}

typedef struct best {
    const cJSON *pair;
    double liq;
} best;

static void consider(best *b, const cJSON *pair, double liq) {
    if (!b->pair || liq > b->liq) { /* ties keep the first */
        b->pair = pair;
        b->liq = liq;
    }
}

static void emit_num(const tc_emit *out, const char *addr, tc_field f, const cJSON *o, const char *key) {
    double v;
    if (tc_json_num(o, key, &v)) out->num(out->ctx, addr, f, v);
}

static void emit_name_symbol(const tc_emit *out, const char *addr, const cJSON *token) {
    const char *s;
    if ((s = tc_json_str(token, "name"))) out->str(out->ctx, addr, TC_NAME, s);
    if ((s = tc_json_str(token, "symbol"))) out->str(out->ctx, addr, TC_SYMBOL, s);
}

/* Strips one leading '@'. */
static const char *handle_name(const char *h) { return h[0] == '@' ? h + 1 : h; }

static void emit_social(const tc_emit *out, const char *addr, const cJSON *s) {
    char label[48];
    const char *type = tc_json_str(s, "type"), *url = tc_json_str(s, "url");
    if (type && url) { /* what the API really sends */
        tc_text_lower(label, sizeof label, type);
        out->link(out->ctx, addr, TC_LINK_SOCIAL, label, url);
        return;
    }
    const char *platform = tc_json_str(s, "platform"), *handle = tc_json_str(s, "handle");
    if (!platform || !handle) return;
    tc_text_lower(label, sizeof label, platform);
    const char *prefix = NULL;
    if (strncmp(handle, "https://", 8) != 0 && strncmp(handle, "http://", 7) != 0) {
        if (strcmp(label, "twitter") == 0 || strcmp(label, "x") == 0) prefix = "https://x.com/";
        else if (strcmp(label, "telegram") == 0) prefix = "https://t.me/";
    }
    if (!prefix) {
        out->link(out->ctx, addr, TC_LINK_SOCIAL, label, handle);
        return;
    }
    const char *h = handle_name(handle);
    if (!*h) return;
    tc_sb u;
    tc_sb_init(&u);
    tc_sb_puts(&u, prefix);
    tc_sb_puts(&u, h);
    if (tc_sb_str(&u)) out->link(out->ctx, addr, TC_LINK_SOCIAL, label, tc_sb_str(&u));
    tc_sb_free(&u);
}

static void emit_base_pair(const tc_emit *out, const char *addr, const cJSON *p) {
    double v;
    out->known(out->ctx, addr);
    emit_name_symbol(out, addr, tc_json_obj(p, "baseToken"));
    const char *price = tc_json_str(p, "priceUsd");
    if (price && tc_text_strtod_exact(price, &v) == 0) out->num(out->ctx, addr, TC_PRICE_USD, v);
    emit_num(out, addr, TC_MARKET_CAP, p, "marketCap");
    emit_num(out, addr, TC_FDV, p, "fdv");
    emit_num(out, addr, TC_LIQUIDITY_USD, tc_json_obj(p, "liquidity"), "usd");
    emit_num(out, addr, TC_VOLUME_24H, tc_json_obj(p, "volume"), "h24");
    emit_num(out, addr, TC_CHANGE_24H, tc_json_obj(p, "priceChange"), "h24");

    const cJSON *info = tc_json_obj(p, "info");
    const char *img = tc_json_str(info, "imageUrl");
    if (img) out->str(out->ctx, addr, TC_IMAGE_URL, img);
    const cJSON *it;
    cJSON_ArrayForEach(it, tc_json_arr(info, "websites")) {
        const char *url = tc_json_str(it, "url"), *lab = tc_json_str(it, "label");
        char label[48];
        if (!url) continue;
        tc_text_lower(label, sizeof label, lab ? lab : "website");
        out->link(out->ctx, addr, TC_LINK_WEBSITE, label, url);
    }
    cJSON_ArrayForEach(it, tc_json_arr(info, "socials")) emit_social(out, addr, it);
}

static void emit_quote_pair(const tc_emit *out, const char *addr, const cJSON *p) {
    double usd, native;
    out->known(out->ctx, addr);
    emit_name_symbol(out, addr, tc_json_obj(p, "quoteToken"));
    const char *su = tc_json_str(p, "priceUsd"), *sn = tc_json_str(p, "priceNative");
    /* priceUsd is the base token's USD price, priceNative its price in quote
     * tokens, so one quote token is worth priceUsd / priceNative USD. */
    if (su && sn && tc_text_strtod_exact(su, &usd) == 0 && tc_text_strtod_exact(sn, &native) == 0 &&
        native > 0 && isfinite(usd / native))
        out->num(out->ctx, addr, TC_PRICE_USD, usd / native);
    emit_num(out, addr, TC_LIQUIDITY_USD, tc_json_obj(p, "liquidity"), "usd");
    emit_num(out, addr, TC_VOLUME_24H, tc_json_obj(p, "volume"), "h24");
}

static tc_status dex_parse_response(void *self, const char *const *addrs, size_t n,
                                    const tc_response *res, const tc_emit *out,
                                    tc_outcome *outcome) {
    dex *d = self;
    tc_outcome_set(outcome, -1, "%s", "");
    if (!d || !addrs || !res || !out || !TC_HAS_MEMBER(res, tc_response, body_len)) {
        tc_outcome_set(outcome, -1, "bad arguments");
        return TC_FATAL;
    }
    tc_status st = tc_outcome_reject_non_2xx(res, outcome);
    if (st != TC_OK) return st;

    cJSON *root = tc_json_parse(res, outcome);
    if (!root) return TC_RETRY;
    if (!cJSON_IsArray(root)) {
        tc_outcome_set(outcome, -1, "expected a JSON array of pairs, got %s",
                       cJSON_IsObject(root) ? "an object" : "a scalar");
        cJSON_Delete(root);
        return TC_FATAL;
    }

    tc_addr_index ix;
    best *base = calloc(n ? n : 1, sizeof *base), *quote = calloc(n ? n : 1, sizeof *quote);
    if (!base || !quote || tc_addr_index_init(&ix, addrs, n, d->fold_case) != 0) {
        free(base);
        free(quote);
        cJSON_Delete(root);
        tc_outcome_set(outcome, -1, "out of memory");
        return TC_RETRY;
    }
    const cJSON *pair;
    cJSON_ArrayForEach(pair, root) {
        if (!cJSON_IsObject(pair)) continue;
        double liq = pair_liquidity(pair);
        long b = tc_addr_index_find(&ix, tc_json_str(tc_json_obj(pair, "baseToken"), "address"));
        long q = tc_addr_index_find(&ix, tc_json_str(tc_json_obj(pair, "quoteToken"), "address"));
        if (b >= 0) consider(&base[b], pair, liq);
        if (q >= 0 && q != b) consider(&quote[q], pair, liq);
    }
    for (size_t i = 0; i < n; i++) {
        if (base[i].pair) emit_base_pair(out, addrs[i], base[i].pair);
        else if (quote[i].pair) emit_quote_pair(out, addrs[i], quote[i].pair);
    }
    tc_addr_index_free(&ix);
    free(base);
    free(quote);
    cJSON_Delete(root);
    return TC_OK;
}

/* What each field is (ABI 1.2): the pair's token identity and links are
 * metadata, its prices and volumes market data. */
static const tc_field_class dex_fields[] = {
    {TC_NAME, TC_FRESH_METADATA},       {TC_SYMBOL, TC_FRESH_METADATA},   {TC_IMAGE_URL, TC_FRESH_METADATA},
    {TC_FIELD_LINKS, TC_FRESH_METADATA}, {TC_PRICE_USD, TC_FRESH_MARKET}, {TC_MARKET_CAP, TC_FRESH_MARKET},
    {TC_FDV, TC_FRESH_MARKET},          {TC_LIQUIDITY_USD, TC_FRESH_MARKET}, {TC_VOLUME_24H, TC_FRESH_MARKET},
    {TC_CHANGE_24H, TC_FRESH_MARKET},   {0, 0}};

static const tc_source dexscreener_source = {
    .abi_major = TC_ABI_MAJOR,
    .abi_minor = TC_ABI_MINOR,
    .struct_size = sizeof(tc_source),
    .name = "dexscreener",
    .version = DEX_VERSION,
    .description = "DexScreener tokens/v1: best pair per token (price, liquidity, volume, links)",
    .max_chunk = DEX_MAX_CHUNK,
    .config_keys = NULL,
    .create = dex_create,
    .destroy = dex_destroy,
    .build_request = dex_build_request,
    .parse_response = dex_parse_response,
    .settings = dex_settings,
    .setting_size = sizeof(tc_setting_def),
    .fields = dex_fields,
};

TC_EXPORT const tc_source *tc_source_entry(void) { return &dexscreener_source; }
