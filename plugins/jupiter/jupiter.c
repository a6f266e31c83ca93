/*
 * Jupiter Tokens API v2 source plugin.
 *
 *   GET {base_url}/tokens/v2/search?query=m1,m2,...   (at most 100 mints)
 *   header x-api-key: KEY                              (only when api_key is set)
 *
 * The answer is a JSON array holding only the mints Jupiter knows, in no
 * documented order: entries are mapped back by "id". Nullable fields that are
 * null or absent are not emitted. totalSupply/circSupply are UI amounts (not
 * the raw integer supply), so TC_SUPPLY is never emitted. On a host with
 * extras (ABI 1.1) the holder count, organic score, audit and first pool
 * are reported as extras (README).
 */
#include <tokencollector/plugin.h>
#include <tokencollector/sdk.h>
#include <tokencollector/sdk/json.h>

#define JUP_MAX_CHUNK 100
#define JUP_DEFAULT_BASE "https://api.jup.ag"

/* The keys this plugin reads, for --config-help (both are host keys). */
static const tc_setting_def jup_settings[] = {
    {"base_url", TC_SETTING_STRING, JUP_DEFAULT_BASE, "the API's base URL; a trailing / is stripped (lite-api.jup.ag is legacy)", 1, 0},
    {"api_key", TC_SETTING_STRING, NULL, "sent as x-api-key only when non-empty; keyless = 30 requests/min", 1, 0},
    {NULL, 0, NULL, NULL, 0, 0},
};

typedef struct jupiter {
    const tc_host *host;
    char *base_url;
    char *api_key; /* NULL when keyless */
} jupiter;

static int jup_create(const tc_host *host, const tc_settings *settings, void **self,
                      char *err, size_t errlen) {
    if (!host || !TC_HAS_MEMBER(host, tc_host, request_body)) {
        snprintf(err, errlen, "host interface too old");
        return -1;
    }
    jupiter *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->host = host;
    if (tc_setting_base_url(host, settings, JUP_DEFAULT_BASE, &j->base_url, err, errlen) != 0) {
        free(j);
        return -1;
    }
    const char *key = host->setting(settings, "api_key");
    if (key && *key) {
        for (const char *p = key; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                snprintf(err, errlen, "api_key contains control characters");
                free(j->base_url);
                free(j);
                return -1;
            }
        }
        j->api_key = strdup(key);
        if (!j->api_key) {
            snprintf(err, errlen, "out of memory");
            free(j->base_url);
            free(j);
            return -1;
        }
    }
    *self = j;
    return 0;
}

static void jup_destroy(void *self) {
    jupiter *j = self;
    if (!j) return;
    free(j->base_url);
    free(j->api_key);
    free(j);
}

static int jup_build_request(void *self, const char *const *addrs, size_t n, tc_request *req) {
    jupiter *j = self;
    if (!j || !addrs || n == 0 || n > JUP_MAX_CHUNK) return -1;
    tc_sb url;
    tc_sb_init(&url);
    tc_sb_puts(&url, j->base_url);
    tc_sb_puts(&url, "/tokens/v2/search?query=");
    for (size_t i = 0; i < n; i++) {
        if (!addrs[i] || !*addrs[i]) {
            tc_sb_free(&url);
            return -1;
        }
        if (i) tc_sb_putc(&url, ',');
        tc_sb_put_urlenc(&url, addrs[i]);
    }
    const char *u = tc_sb_str(&url);
    int rc = u ? j->host->request_url(req, TC_GET, u) : -1;
    if (rc == 0 && j->api_key) rc = j->host->request_header(req, "x-api-key", j->api_key);
    tc_sb_free(&url);
    return rc == 0 ? 0 : -1;
}

static void emit_str(const tc_emit *out, const char *addr, tc_field f, const cJSON *o, const char *key) {
    const char *s = tc_json_str(o, key);
    if (s) out->str(out->ctx, addr, f, s);
}

static void emit_num(const tc_emit *out, const char *addr, tc_field f, const cJSON *o, const char *key) {
    double v;
    if (tc_json_num(o, key, &v)) out->num(out->ctx, addr, f, v);
}

static void emit_extra_num(const tc_emit *out, const char *addr, const char *name, const cJSON *o,
                           const char *key) {
    double v;
    if (tc_json_num(o, key, &v)) out->extra_num(out->ctx, addr, name, v);
}

static void emit_extra_bool(const tc_emit *out, const char *addr, const char *name, const cJSON *o,
                            const char *key) {
    const cJSON *b = tc_json_get(o, key);
    if (cJSON_IsBool(b)) out->extra_bool(out->ctx, addr, name, cJSON_IsTrue(b));
}

/* What the answer carries beyond the fields; only on a host that has extras. */
static void emit_extras(const tc_emit *out, const char *addr, const cJSON *t) {
    if (!TC_HAS_MEMBER(out, tc_emit, extra_bool)) return;
    emit_extra_num(out, addr, "holder_count", t, "holderCount");
    emit_extra_num(out, addr, "organic_score", t, "organicScore");
    emit_extra_bool(out, addr, "is_verified", t, "isVerified");
    const cJSON *audit = tc_json_obj(t, "audit");
    emit_extra_num(out, addr, "top_holders_pct", audit, "topHoldersPercentage");
    emit_extra_bool(out, addr, "mint_authority_disabled", audit, "mintAuthorityDisabled");
    emit_extra_bool(out, addr, "freeze_authority_disabled", audit, "freezeAuthorityDisabled");
    const char *pool = tc_json_str(tc_json_obj(t, "firstPool"), "id");
    if (pool) out->extra_str(out->ctx, addr, "first_pool", pool);
}

static void emit_token(const tc_emit *out, const char *addr, const cJSON *t) {
    double v, buy, sell;
    out->known(out->ctx, addr);
    emit_str(out, addr, TC_NAME, t, "name");
    emit_str(out, addr, TC_SYMBOL, t, "symbol");
    emit_str(out, addr, TC_IMAGE_URL, t, "icon");
    if (tc_json_num(t, "decimals", &v) && v >= 0 && v <= 255 && v == floor(v))
        out->num(out->ctx, addr, TC_DECIMALS, v);
    emit_num(out, addr, TC_PRICE_USD, t, "usdPrice");
    emit_num(out, addr, TC_MARKET_CAP, t, "mcap");
    emit_num(out, addr, TC_FDV, t, "fdv");
    emit_num(out, addr, TC_LIQUIDITY_USD, t, "liquidity");
    const cJSON *s24 = tc_json_obj(t, "stats24h");
    if (tc_json_num(s24, "buyVolume", &buy) && tc_json_num(s24, "sellVolume", &sell))
        out->num(out->ctx, addr, TC_VOLUME_24H, buy + sell);
    emit_num(out, addr, TC_CHANGE_24H, s24, "priceChange");

    const char *url = tc_json_str(t, "website");
    if (url) out->link(out->ctx, addr, TC_LINK_WEBSITE, "website", url);
    static const char *const socials[] = {"twitter", "telegram", "discord"};
    for (size_t k = 0; k < sizeof socials / sizeof socials[0]; k++) {
        url = tc_json_str(t, socials[k]);
        if (url) out->link(out->ctx, addr, TC_LINK_SOCIAL, socials[k], url);
    }
    emit_extras(out, addr, t);
}

static tc_status jup_parse_response(void *self, const char *const *addrs, size_t n,
                                    const tc_response *res, const tc_emit *out,
                                    tc_outcome *outcome) {
    jupiter *j = self;
    tc_outcome_set(outcome, -1, "%s", "");
    if (!j || !addrs || !res || !out || !TC_HAS_MEMBER(res, tc_response, body_len)) {
        tc_outcome_set(outcome, -1, "bad arguments");
        return TC_FATAL;
    }
    tc_status st = tc_outcome_reject_non_2xx(res, outcome);
    if (st != TC_OK) return st;

    cJSON *root = tc_json_parse(res, outcome);
    if (!root) return TC_RETRY;
    if (!cJSON_IsArray(root)) {
        tc_outcome_set(outcome, -1, "expected a JSON array, got %s",
                       cJSON_IsObject(root) ? "an object" : "a scalar");
        cJSON_Delete(root);
        return TC_FATAL;
    }

    /* Map entries to chunk positions first, emit afterwards. */
    tc_addr_index ix;
    const cJSON **slot = calloc(n ? n : 1, sizeof *slot);
    if (!slot || tc_addr_index_init(&ix, addrs, n, 0) != 0) {
        free(slot);
        cJSON_Delete(root);
        tc_outcome_set(outcome, -1, "out of memory");
        return TC_RETRY;
    }
    size_t foreign = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        const char *id = tc_json_str(item, "id");
        long pos = id ? tc_addr_index_find(&ix, id) : -1;
        if (pos < 0) {
            foreign++;
            continue;
        }
        if (!slot[pos]) slot[pos] = item; /* a repeated id: the first entry wins */
    }
    if (foreign)
        j->host->log(j->host->ctx, TC_LOG_DEBUG, "%zu entries without a requested id ignored", foreign);
    for (size_t i = 0; i < n; i++)
        if (slot[i]) emit_token(out, addrs[i], slot[i]);

    tc_addr_index_free(&ix);
    free(slot);
    cJSON_Delete(root);
    return TC_OK;
}

/* What each field is (ABI 1.2): identity is metadata, the rest market data. */
static const tc_field_class jup_fields[] = {
    {TC_NAME, TC_FRESH_METADATA},       {TC_SYMBOL, TC_FRESH_METADATA},     {TC_IMAGE_URL, TC_FRESH_METADATA},
    {TC_DECIMALS, TC_FRESH_METADATA},   {TC_FIELD_LINKS, TC_FRESH_METADATA}, {TC_PRICE_USD, TC_FRESH_MARKET},
    {TC_MARKET_CAP, TC_FRESH_MARKET},   {TC_FDV, TC_FRESH_MARKET},          {TC_LIQUIDITY_USD, TC_FRESH_MARKET},
    {TC_VOLUME_24H, TC_FRESH_MARKET},   {TC_CHANGE_24H, TC_FRESH_MARKET},   {0, 0}};

static const tc_source jupiter_source = {
    .abi_major = TC_ABI_MAJOR,
    .abi_minor = TC_ABI_MINOR,
    .struct_size = sizeof(tc_source),
    .name = "jupiter",
    .version = "1.0.0",
    .description = "Jupiter Tokens API v2 (tokens/v2/search): metadata, price, market data",
    .max_chunk = JUP_MAX_CHUNK,
    .config_keys = NULL,
    .create = jup_create,
    .destroy = jup_destroy,
    .build_request = jup_build_request,
    .parse_response = jup_parse_response,
    .settings = jup_settings,
    .setting_size = sizeof(tc_setting_def),
    .fields = jup_fields,
};

TC_EXPORT const tc_source *tc_source_entry(void) { return &jupiter_source; }
