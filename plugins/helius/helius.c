/*
 * Helius DAS getAssetBatch source plugin.
 *
 *   POST {base_url}/?api-key=KEY          ("?api-key=" left out when no key)
 *   content-type: application/json
 *   {"jsonrpc":"2.0","id":"tc","method":"getAssetBatch",
 *    "params":{"ids":[...],"options":{"showFungible":true}}}
 *
 * "result" is an array in request order with null for unknown ids.
 *
 * Outcomes:
 *  - 2xx with "result" of length n: TC_OK (null entries = unknown).
 *  - 2xx with a JSON-RPC "error" object: TC_RETRY with "JSON-RPC error CODE:
 *    MESSAGE", except -32600/-32601/-32602 (invalid request/method/params: the
 *    same request would fail again) which are TC_FATAL.
 *  - 2xx without result/error, result not an array, or of another length than
 *    n: TC_FATAL (no positional mapping is possible).
 *  - HTTP 404 ("one or more assets in the batch were not found", per the
 *    docs): TC_FATAL like any other 4xx, message "HTTP 404: JSON-RPC error
 *    CODE: MESSAGE" when the body is a JSON-RPC error, else "HTTP 404: <body
 *    prefix>". The body carries no
 *    per-id information, so reporting TC_OK would mark the whole chunk
 *    "unknown to helius" on the strength of possibly one bad id.
 *  - 408/429/5xx never get here: the host retries them itself.
 *  - truncated/malformed JSON: TC_RETRY, nothing emitted.
 *
 * token_info.supply is a raw u64 and may exceed 2^53, where a double (what
 * cJSON keeps) loses digits. The digits are therefore read from the response
 * text: a small scanner walks the (already validated) JSON structurally to
 * result[k].token_info.supply and takes the number token verbatim. It is
 * cross-checked against cJSON's double; on any disagreement the plugin falls
 * back to "%.0f" of the double and logs a warning.
 */
#include <tokencollector/plugin.h>
#include <tokencollector/sdk.h>
#include <tokencollector/sdk/json.h>

#define HEL_MAX_CHUNK 1000
#define HEL_DEFAULT_BASE "https://mainnet.helius-rpc.com"
#define HEL_SUPPLY_MAX "18446744073709551615" /* u64 max */

/* The keys this plugin reads, for --config-help (both are host keys). */
static const tc_setting_def hel_settings[] = {
    {"base_url", TC_SETTING_STRING, HEL_DEFAULT_BASE, "the RPC endpoint", 1, 0},
    {"api_key", TC_SETTING_STRING, NULL, "appended as ?api-key= (required by the real endpoint)", 1, 0},
    {NULL, 0, NULL, NULL, 0, 0},
};

typedef struct helius {
    const tc_host *host;
    char *url; /* base_url + "/" [+ "?api-key=" + encoded key] */
} helius;

static int hel_create(const tc_host *host, const tc_settings *settings, void **self,
                      char *err, size_t errlen) {
    if (!host || !TC_HAS_MEMBER(host, tc_host, request_body)) {
        snprintf(err, errlen, "host interface too old");
        return -1;
    }
    char *base = NULL;
    if (tc_setting_base_url(host, settings, HEL_DEFAULT_BASE, &base, err, errlen) != 0) return -1;
    helius *h = calloc(1, sizeof *h);
    tc_sb url;
    tc_sb_init(&url);
    tc_sb_puts(&url, base);
    tc_sb_putc(&url, '/');
    const char *key = host->setting(settings, "api_key");
    if (key && *key) {
        tc_sb_puts(&url, "?api-key=");
        tc_sb_put_urlenc(&url, key);
    }
    free(base);
    if (!h || !tc_sb_str(&url)) {
        free(h);
        tc_sb_free(&url);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->host = host;
    h->url = url.buf; /* ownership moves from the builder */
    *self = h;
    return 0;
}

static void hel_destroy(void *self) {
    helius *h = self;
    if (!h) return;
    free(h->url);
    free(h);
}

static int hel_build_request(void *self, const char *const *addrs, size_t n, tc_request *req) {
    helius *h = self;
    if (!h || !addrs || n == 0 || n > HEL_MAX_CHUNK) return -1;
    tc_sb body;
    tc_sb_init(&body);
    tc_sb_puts(&body, "{\"jsonrpc\":\"2.0\",\"id\":\"tc\",\"method\":\"getAssetBatch\",\"params\":{\"ids\":[");
    for (size_t i = 0; i < n; i++) {
        if (!addrs[i] || !*addrs[i]) {
            tc_sb_free(&body);
            return -1;
        }
        if (i) tc_sb_putc(&body, ',');
        tc_sb_put_json_str(&body, addrs[i]);
    }
    tc_sb_puts(&body, "],\"options\":{\"showFungible\":true}}}");
    const char *b = tc_sb_str(&body);
    int rc = b ? h->host->request_url(req, TC_POST, h->url) : -1;
    if (rc == 0) rc = h->host->request_body(req, "application/json", b, body.len);
    tc_sb_free(&body);
    return rc == 0 ? 0 : -1;
}

/* ---- Raw scanner ---------------------------------------------------------
 * Works on text cJSON has already accepted, so it only needs to find value
 * boundaries; any surprise makes it give up (the caller then falls back). */
typedef struct rs {
    const char *p, *end;
} rs;

static void rs_ws(rs *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

/* At '"': moves past the closing quote. */
static int rs_string(rs *r) {
    if (r->p >= r->end || *r->p != '"') return -1;
    for (r->p++; r->p < r->end; r->p++) {
        if (*r->p == '\\') {
            r->p++;
        } else if (*r->p == '"') {
            r->p++;
            return 0;
        }
    }
    return -1;
}

/* Skips one value of any kind; nesting is tracked with a counter only. */
static int rs_value(rs *r) {
    rs_ws(r);
    if (r->p >= r->end) return -1;
    char c = *r->p;
    if (c == '"') return rs_string(r);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (r->p < r->end) {
            c = *r->p;
            if (c == '"') {
                if (rs_string(r) != 0) return -1;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    r->p++;
                    return 0;
                }
            }
            r->p++;
        }
        return -1;
    }
    /* number, true, false, null */
    const char *start = r->p;
    while (r->p < r->end && *r->p != ',' && *r->p != '}' && *r->p != ']' && *r->p != ' ' &&
           *r->p != '\t' && *r->p != '\n' && *r->p != '\r')
        r->p++;
    return r->p > start ? 0 : -1;
}

/* R at '{': finds the first member named KEY (compared on the raw, unescaped
 * text) and leaves R at its value. Returns 1 found, 0 not found, -1 error. */
static int rs_find_key(rs *r, const char *key) {
    size_t klen = strlen(key);
    if (r->p >= r->end || *r->p != '{') return -1;
    r->p++;
    for (;;) {
        rs_ws(r);
        if (r->p >= r->end) return -1;
        if (*r->p == '}') return 0;
        const char *k = r->p + 1;
        if (rs_string(r) != 0) return -1;
        size_t len = (size_t)(r->p - 1 - k);
        rs_ws(r);
        if (r->p >= r->end || *r->p != ':') return -1;
        r->p++;
        rs_ws(r);
        if (len == klen && memcmp(k, key, klen) == 0) return 1;
        if (rs_value(r) != 0) return -1;
        rs_ws(r);
        if (r->p < r->end && *r->p == ',') r->p++;
    }
}

typedef struct span {
    const char *s;
    size_t len;
} span;

/* For each element k < n of the top-level "result" array: the raw text of
 * result[k].token_info.supply when it is there, else {NULL,0}. */
static void scan_supplies(const char *body, size_t len, span *out, size_t n) {
    rs r = {body, body + len};
    rs_ws(&r);
    if (rs_find_key(&r, "result") != 1 || r.p >= r.end || *r.p != '[') return;
    r.p++;
    for (size_t k = 0;; k++) {
        rs_ws(&r);
        if (r.p >= r.end || *r.p == ']') return;
        if (*r.p == '{' && k < n) {
            rs sub = r;
            if (rs_find_key(&sub, "token_info") == 1 && sub.p < sub.end && *sub.p == '{' &&
                rs_find_key(&sub, "supply") == 1) {
                const char *v = sub.p;
                if (rs_value(&sub) == 0) {
                    out[k].s = v;
                    out[k].len = (size_t)(sub.p - v);
                }
            }
        }
        if (rs_value(&r) != 0) return;
        rs_ws(&r);
        if (r.p < r.end && *r.p == ',') r.p++;
    }
}

/* Digits of a non-negative integer without leading zeros into BUF, if S is
 * only digits and fits in a u64. Returns 0 on success. */
static int normalize_u64(const char *s, size_t len, char buf[21]) {
    if (len == 0) return -1;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return -1;
    while (len > 1 && *s == '0') s++, len--;
    if (len > 20 || (len == 20 && memcmp(s, HEL_SUPPLY_MAX, 20) > 0)) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

static void emit_supply(helius *h, const tc_emit *out, const char *addr, const cJSON *sup, span raw) {
    char digits[32];
    if (cJSON_IsString(sup)) { /* not documented, but unambiguous */
        if (sup->valuestring && normalize_u64(sup->valuestring, strlen(sup->valuestring), digits) == 0)
            out->str(out->ctx, addr, TC_SUPPLY, digits);
        return;
    }
    if (!cJSON_IsNumber(sup)) return;
    double d = sup->valuedouble;
    if (raw.s && normalize_u64(raw.s, raw.len, digits) == 0 && strtod(digits, NULL) == d) {
        out->str(out->ctx, addr, TC_SUPPLY, digits);
        return;
    }
    if (isfinite(d) && d >= 0 && d < 18446744073709551616.0 && d == floor(d)) {
        snprintf(digits, sizeof digits, "%.0f", d);
        h->host->log(h->host->ctx, TC_LOG_WARN,
                     "%s: token_info.supply not found verbatim in the response; using %s (may be inexact)",
                     addr, digits);
        out->str(out->ctx, addr, TC_SUPPLY, digits);
    } else {
        h->host->log(h->host->ctx, TC_LOG_WARN, "%s: token_info.supply is not a u64; ignored", addr);
    }
}

static void emit_asset(helius *h, const tc_emit *out, const char *addr, const cJSON *a, span raw) {
    const cJSON *content = tc_json_obj(a, "content");
    const cJSON *meta = tc_json_obj(content, "metadata");
    const cJSON *ti = tc_json_obj(a, "token_info");
    const char *s;
    double v;

    out->known(out->ctx, addr);
    if ((s = tc_json_str(meta, "name"))) out->str(out->ctx, addr, TC_NAME, s);
    if ((s = tc_json_str(meta, "symbol")) || (s = tc_json_str(ti, "symbol")))
        out->str(out->ctx, addr, TC_SYMBOL, s);
    if ((s = tc_json_str(meta, "description"))) out->str(out->ctx, addr, TC_DESCRIPTION, s);

    const cJSON *files = tc_json_arr(content, "files");
    const cJSON *f0 = files ? files->child : NULL;
    if (!cJSON_IsObject(f0)) f0 = NULL;
    if ((s = tc_json_str(f0, "cdn_uri")) || (s = tc_json_str(f0, "uri")) ||
        (s = tc_json_str(tc_json_obj(content, "links"), "image")))
        out->str(out->ctx, addr, TC_IMAGE_URL, s);

    if (tc_json_num(ti, "decimals", &v) && v >= 0 && v <= 255 && v == floor(v))
        out->num(out->ctx, addr, TC_DECIMALS, v);
    if (ti) {
        const cJSON *sup = tc_json_get(ti, "supply");
        if (sup) emit_supply(h, out, addr, sup, raw);
    }
    if (tc_json_num(tc_json_obj(ti, "price_info"), "price_per_token", &v))
        out->num(out->ctx, addr, TC_PRICE_USD, v);
}

static int rpc_error_is_permanent(double code) {
    return code == -32600 || code == -32601 || code == -32602;
}

/* Writes "PREFIXJSON-RPC error CODE: MESSAGE" for a JSON-RPC "error" member
 * (an object {code,message}), or "PREFIXerror: MESSAGE" without a code (also
 * for a bare string, the shape of Helius' REST errors). Returns 1 when the code is
 * one of the permanent ones. */
static int describe_rpc_error(const cJSON *error, const char *prefix, tc_outcome *outcome) {
    double code = 0;
    const char *msg = cJSON_IsString(error) ? error->valuestring : tc_json_str(error, "message");
    if (!msg) msg = "(no message)";
    char safe[161];
    tc_text_sanitize(safe, msg, strlen(msg), 160);
    int has_code = tc_json_num(error, "code", &code);
    if (has_code)
        tc_outcome_set(outcome, -1, "%sJSON-RPC error %.0f: %s", prefix, code, safe);
    else
        tc_outcome_set(outcome, -1, "%serror: %s", prefix, safe);
    return has_code && rpc_error_is_permanent(code);
}

/* For a non-2xx answer: keeps the status-based outcome, but when the body is
 * a JSON-RPC error (Helius sends one with 404 and 429) reports its message
 * instead of the raw body prefix. */
static void refine_http_error(const tc_response *res, tc_outcome *outcome) {
    if (!res->body || res->body_len == 0) return;
    cJSON *root = cJSON_ParseWithLength(res->body, res->body_len);
    const cJSON *error = tc_json_get(root, "error");
    if (cJSON_IsObject(error) || cJSON_IsString(error)) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "HTTP %ld: ", res->status);
        describe_rpc_error(error, prefix, outcome);
    }
    cJSON_Delete(root);
}

static tc_status hel_parse_response(void *self, const char *const *addrs, size_t n,
                                    const tc_response *res, const tc_emit *out,
                                    tc_outcome *outcome) {
    helius *h = self;
    tc_outcome_set(outcome, -1, "%s", "");
    if (!h || !addrs || !res || !out || !TC_HAS_MEMBER(res, tc_response, body_len)) {
        tc_outcome_set(outcome, -1, "bad arguments");
        return TC_FATAL;
    }
    tc_status st = tc_outcome_reject_non_2xx(res, outcome);
    if (st != TC_OK) {
        refine_http_error(res, outcome);
        return st;
    }

    cJSON *root = tc_json_parse(res, outcome);
    if (!root) return TC_RETRY;
    st = TC_FATAL;
    const cJSON *result = tc_json_get(root, "result");
    const cJSON *error = tc_json_get(root, "error");
    if (!cJSON_IsObject(root)) {
        tc_outcome_set(outcome, -1, "expected a JSON-RPC object, got %s",
                       cJSON_IsArray(root) ? "an array" : "a scalar");
    } else if (error && !cJSON_IsNull(error)) {
        st = describe_rpc_error(error, "", outcome) ? TC_FATAL : TC_RETRY;
    } else if (!cJSON_IsArray(result)) {
        tc_outcome_set(outcome, -1, "JSON-RPC response without a result array");
    } else if ((size_t)cJSON_GetArraySize(result) != n) {
        tc_outcome_set(outcome, -1, "result has %d entries for %zu requested ids",
                       cJSON_GetArraySize(result), n);
    } else {
        st = TC_OK;
    }
    if (st != TC_OK) {
        cJSON_Delete(root);
        return st;
    }

    span *raw = calloc(n ? n : 1, sizeof *raw);
    if (!raw) {
        cJSON_Delete(root);
        tc_outcome_set(outcome, -1, "out of memory");
        return TC_RETRY;
    }
    scan_supplies(res->body, res->body_len, raw, n);

    size_t k = 0, mismatched = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, result) {
        if (cJSON_IsObject(a) && addrs[k]) {
            const char *id = tc_json_str(a, "id");
            if (id && strcmp(id, addrs[k]) != 0) {
                mismatched++; /* never attribute an asset to the wrong address */
            } else {
                emit_asset(h, out, addrs[k], a, raw[k]);
            }
        }
        k++;
    }
    if (mismatched)
        h->host->log(h->host->ctx, TC_LOG_WARN,
                     "%zu result entries carried another id than requested at their position; skipped",
                     mismatched);
    free(raw);
    cJSON_Delete(root);
    return TC_OK;
}

/* What each field is (ABI 1.2): the asset's identity and supply are
 * metadata; price_info (some tokens only) is market data. */
static const tc_field_class hel_fields[] = {
    {TC_NAME, TC_FRESH_METADATA},     {TC_SYMBOL, TC_FRESH_METADATA},    {TC_DESCRIPTION, TC_FRESH_METADATA},
    {TC_IMAGE_URL, TC_FRESH_METADATA}, {TC_DECIMALS, TC_FRESH_METADATA}, {TC_SUPPLY, TC_FRESH_METADATA},
    {TC_PRICE_USD, TC_FRESH_MARKET},  {0, 0}};

static const tc_source helius_source = {
    .abi_major = TC_ABI_MAJOR,
    .abi_minor = TC_ABI_MINOR,
    .struct_size = sizeof(tc_source),
    .name = "helius",
    .version = "1.0.0",
    .description = "Helius DAS getAssetBatch: metadata, decimals, exact raw supply, price",
    .max_chunk = HEL_MAX_CHUNK,
    .config_keys = NULL,
    .create = hel_create,
    .destroy = hel_destroy,
    .build_request = hel_build_request,
    .parse_response = hel_parse_response,
    .settings = hel_settings,
    .setting_size = sizeof(tc_setting_def),
    .fields = hel_fields,
};

TC_EXPORT const tc_source *tc_source_entry(void) { return &helius_source; }
