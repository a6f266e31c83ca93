/*
 * Template source plugin: copy this directory to plugins/NAME/ and adapt.
 *
 * It talks to an imaginary price API:
 *   GET {base_url}/prices?ids=ADDR1,ADDR2     ->   {"ADDR1":{"price":1.25}, ...}
 * An address left out of the object is "unknown to this source".
 *
 * Rules every plugin follows (see include/tokencollector/plugin.h):
 *  - pure translation: no sockets, files, sleeps or threads; the host does
 *    the HTTP, the rate limiting and the retries;
 *  - only one exported symbol, tc_source_entry (build with
 *    -fvisibility=hidden; TC_EXPORT marks the entry);
 *  - never emit a value the upstream did not send (no 0 for "unknown");
 *  - parse the whole body before emitting anything;
 *  - keep no per-request state in the instance: several requests are in
 *    flight at once and their responses come back in any order.
 * plugin.h is the ABI and the only required header; the SDK headers
 * (tokencollector/sdk.h, sdk/json.h) are optional and save rewriting URL
 * building, the base_url rules, outcome messages and JSON parsing.
 * CONTRIBUTING.md walks through build, load, test.
 */
#include <tokencollector/plugin.h>      /* the ABI: the one required header */
#include <tokencollector/sdk.h>         /* optional helpers */
#include <tokencollector/sdk/json.h>    /* optional cJSON helpers (-lcjson) */

/* One instance per [source ...] section; the same .so may have several. */
typedef struct tpl {
    const tc_host *host; /* valid until destroy() */
    char *base_url;
} tpl;

static int tpl_create(const tc_host *host, const tc_settings *settings, void **self,
                      char *err, size_t errlen) {
    tpl *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->host = host;
    /* This imaginary API has no public default, so base_url is required:
     * an empty default makes tc_setting_base_url report a clear error. */
    if (tc_setting_base_url(host, settings, "", &t->base_url, err, errlen) != 0) {
        free(t);
        return -1;
    }
    *self = t;
    return 0;
}

static void tpl_destroy(void *self) {
    tpl *t = self;
    if (t) free(t->base_url);
    free(t);
}

/* One request for the whole chunk; the host copies every string it is given. */
static int tpl_build_request(void *self, const char *const *addrs, size_t n, tc_request *req) {
    tpl *t = self;
    tc_sb url;
    tc_sb_init(&url);
    tc_sb_puts(&url, t->base_url);
    tc_sb_puts(&url, "/prices?ids=");
    for (size_t i = 0; i < n; i++) {
        if (i) tc_sb_putc(&url, ',');
        tc_sb_put_urlenc(&url, addrs[i]); /* never paste raw input into a URL */
    }
    int rc = tc_sb_str(&url) ? t->host->request_url(req, TC_GET, tc_sb_str(&url)) : -1;
    /* an API key would go here: t->host->request_header(req, "x-api-key", key) */
    tc_sb_free(&url);
    return rc;
}

static tc_status tpl_parse_response(void *self, const char *const *addrs, size_t n,
                                    const tc_response *res, const tc_emit *out,
                                    tc_outcome *outcome) {
    (void)self;
    /* Non-2xx: TC_FATAL with "HTTP <code>: ..." (the host keeps 408/429/5xx). */
    tc_status st = tc_outcome_reject_non_2xx(res, outcome);
    if (st != TC_OK) return st;
    /* Truncated or malformed JSON is transient: TC_RETRY, nothing emitted. */
    cJSON *root = tc_json_parse(res, outcome);
    if (!root) return TC_RETRY;
    if (!cJSON_IsObject(root)) { /* an answer of the wrong shape will not improve */
        tc_outcome_set(outcome, -1, "expected a JSON object");
        cJSON_Delete(root);
        return TC_FATAL;
    }
    /* Walk the requested addresses (fine for small chunks; for large ones
     * build a tc_addr_index and walk the response instead). */
    for (size_t i = 0; i < n; i++) {
        const cJSON *entry = tc_json_obj(root, addrs[i]);
        double price;
        if (!entry) continue; /* not known to this source: emit nothing */
        out->known(out->ctx, addrs[i]);
        if (tc_json_num(entry, "price", &price)) /* null/absent: not emitted */
            out->num(out->ctx, addrs[i], TC_PRICE_USD, price);
    }
    cJSON_Delete(root);
    return TC_OK;
}

/* Every key the plugin reads: the host checks a key's type (and range for
 * numbers) before create(), rejects keys listed nowhere, and prints this
 * table in --config-help. Host keys such as base_url may be listed to give
 * their meaning and default for this plugin. End with {NULL}. */
static const tc_setting_def tpl_settings[] = {
    {"base_url", TC_SETTING_STRING, NULL, "the upstream's base URL (required: this example has no default)", 1, 0},
    {NULL, 0, NULL, NULL, 0, 0},
};

/* ABI 1.2: what each field this plugin reports is. TC_FRESH_MARKET fields
 * (prices, volumes) are refreshed on the scheduler's tiers by one market
 * source that knows the token; TC_FRESH_METADATA ones (name, symbol,
 * links...) on the long [scheduler] metadata_ttl. */
static const tc_field_class tpl_fields[] = {{TC_PRICE_USD, TC_FRESH_MARKET}, {0, 0}};

static const tc_source template_source = {
    .abi_major = TC_ABI_MAJOR, /* the host refuses another major */
    .abi_minor = TC_ABI_MINOR,
    .struct_size = sizeof(tc_source),
    .name = "template",
    .version = "1.0.0",
    .description = "Example plugin: GET {base_url}/prices?ids=a,b -> {addr:{price}}",
    .max_chunk = 50,           /* the upstream's documented hard limit */
    .config_keys = NULL,       /* ABI 1.0's bare name list: superseded by .settings */
    .create = tpl_create,
    .destroy = tpl_destroy,
    .build_request = tpl_build_request,
    .parse_response = tpl_parse_response,
    .settings = tpl_settings,  /* ABI 1.1 */
    .setting_size = sizeof(tc_setting_def),
    .fields = tpl_fields, /* ABI 1.2 */
};

TC_EXPORT const tc_source *tc_source_entry(void) { return &template_source; }
