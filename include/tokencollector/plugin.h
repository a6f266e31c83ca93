/*
 * tokencollector source plugin ABI.
 *
 * This is the ABI and the only header a plugin author needs. The SDK
 * (tokencollector/sdk.h and sdk/), optional and header-only, holds helpers
 * a plugin may compile in; it is not part of this interface.
 *
 * A plugin is a shared object that exports one function, tc_source_entry(),
 * returning a constant descriptor (struct tc_source). The host checks the
 * descriptor's ABI version and size before it calls anything else.
 *
 * A plugin is pure translation: it turns a chunk of token addresses into one
 * HTTP request, and turns the HTTP response into per-address fields. It does
 * no I/O, no sleeping and starts no threads: the host owns the network, the
 * shared rate limiter, retries and the circuit breaker, so a plugin cannot
 * route around them and can be tested without a network.
 *
 * Stability rules:
 *  - TC_ABI_MAJOR changes only when an existing member changes meaning or
 *    position. The host refuses plugins with another major.
 *  - TC_ABI_MINOR grows when members are appended at the end of a struct.
 *    Every struct here that can grow carries its own size so both sides can
 *    tell which members the other knows.
 *  - Field and link kinds are append-only numbers; a host rejects a field
 *    number it does not know (the setter returns -1; the host counts these
 *    and logs the count at debug level), so emitting a newer field to an
 *    older host is harmless. A value no field covers is an extra
 *    (tc_emit.extra_*, ABI 1.1), named by the plugin: no host change per key.
 *
 * ABI 1.1 (not released yet) appended tc_source.settings / setting_size and
 * tc_emit.extra_num / extra_str / extra_bool. A 1.1 plugin checks
 * TC_HAS_MEMBER (sdk/compat.h) before calling an extra setter, since a 1.0
 * host's tc_emit ends after known; a 1.0 plugin never calls them.
 *
 * ABI 1.2 appended tc_source.fields: what each field the plugin reports is
 * (metadata or market data), so the host refreshes metadata on a long TTL
 * and asks one market source per price refresh. A 1.0 / 1.1 plugin has no
 * declaration: the host takes the core table (the six market fields are
 * market data, the rest metadata) or the config's market_fields /
 * metadata_fields.
 *
 * Lifecycle and concurrency (the host runs every plugin on one thread):
 *  - create() may fail; the host then never calls destroy() for it.
 *    destroy(NULL) must be a no-op.
 *  - Several requests of one instance are in flight at once and their
 *    responses come back in any order: keep no per-request state in the
 *    instance; everything a parse needs is in its arguments.
 */
#ifndef TOKENCOLLECTOR_PLUGIN_H
#define TOKENCOLLECTOR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_ABI_MAJOR 1
#define TC_ABI_MINOR 2

/* Name of the exported entry symbol, for hosts that look it up with dlsym. */
#define TC_SOURCE_ENTRY_SYMBOL "tc_source_entry"

/* ---- Fields a plugin can report for a token ------------------------------ */

/* String fields go through tc_emit.str, numeric fields through tc_emit.num.
 * A value the upstream did not send is simply not emitted: "unknown" is never
 * reported as 0 or "". */
typedef enum tc_field {
    TC_NAME = 1,         /* str: token name */
    TC_SYMBOL = 2,       /* str: ticker symbol */
    TC_DECIMALS = 3,     /* num: mint decimals (integer 0..255) */
    TC_IMAGE_URL = 4,    /* str: logo / icon URL */
    TC_DESCRIPTION = 5,  /* str: free text */
    TC_SUPPLY = 6,       /* str: raw integer supply as decimal digits, exact
                            (u64 values exceed a double's 2^53) */
    TC_PRICE_USD = 7,    /* num: price in USD */
    TC_MARKET_CAP = 8,   /* num: market capitalisation in USD */
    TC_FDV = 9,          /* num: fully diluted valuation in USD */
    TC_LIQUIDITY_USD = 10, /* num: liquidity in USD */
    TC_VOLUME_24H = 11,  /* num: 24 h traded volume in USD */
    TC_CHANGE_24H = 12,  /* num: 24 h price change in percent (1.5 = +1.5%) */
    TC_FIELD_COUNT_V1 = 13 /* one past the last field of ABI 1.0 */
} tc_field;

/* Links are sets: every refresh replaces the token's set. */
typedef enum tc_link_kind {
    TC_LINK_WEBSITE = 1, /* label: "website", "docs", ... (may be NULL) */
    TC_LINK_SOCIAL = 2   /* label: lowercase platform: "twitter", "telegram", ... */
} tc_link_kind;

/* ---- Host services --------------------------------------------------------- */

typedef enum tc_log_level {
    TC_LOG_ERROR = 0,
    TC_LOG_WARN = 1,
    TC_LOG_INFO = 2,
    TC_LOG_DEBUG = 3
} tc_log_level;

typedef enum tc_method { TC_GET = 1, TC_POST = 2 } tc_method;

typedef struct tc_request tc_request;   /* opaque, owned by the host */
typedef struct tc_settings tc_settings; /* opaque: the plugin's config section */

typedef struct tc_host {
    uint32_t struct_size; /* sizeof(tc_host) as the host was built */
    void *ctx;            /* host's own; pass back unchanged */

    /* Log a line, prefixed by the host with the level and "[instance]".
     * Never log secrets such as API keys. */
    void (*log)(void *ctx, tc_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Value of KEY in the plugin instance's config section, with ${VAR}
     * already expanded, or NULL when the key is not set. Keys a plugin may
     * read: the host's own (base_url, api_key, timeout_ms, ...) plus those
     * declared in tc_source.settings (or, ABI 1.0, config_keys); declared
     * typed keys arrive already checked. Valid until destroy(). */
    const char *(*setting)(const tc_settings *settings, const char *key);

    /* Request builders, used inside build_request(). The host copies every
     * string. Each returns 0, or -1 when out of memory or given bad input. */
    int (*request_url)(tc_request *req, tc_method method, const char *url);
    int (*request_header)(tc_request *req, const char *name, const char *value);
    int (*request_body)(tc_request *req, const char *content_type,
                        const char *body, size_t len);
} tc_host;

/* ---- What comes back ------------------------------------------------------- */

typedef struct tc_response {
    uint32_t struct_size;     /* sizeof(tc_response) as the host was built */
    long status;              /* HTTP status code */
    const char *body;         /* response body, NUL-terminated for convenience */
    size_t body_len;          /* length without the NUL */
    const char *content_type; /* may be NULL */
} tc_response;

/* Bounds on tc_emit's extras (ABI 1.1), checked by the host: */
#define TC_EXTRA_KEY_MAX 48   /* bytes of a key: [a-z][a-z0-9_]{0,47} */
#define TC_EXTRA_MAX 32       /* distinct extras per address per response */
#define TC_EXTRA_STR_MAX 1024 /* bytes of a string extra (without the NUL) */

/* Setters for parse_response(). ADDR must be one of the addresses of the
 * chunk being parsed (the host ignores others, with a warning). Any setter
 * marks the address as known to this source; an address of the chunk that
 * gets no setter call is "not known to this source". Each returns 0, or -1
 * when the value was rejected (wrong field type, unknown address). */
typedef struct tc_emit {
    uint32_t struct_size; /* sizeof(tc_emit) as the host was built: setters
                             appended in later minors are present only when
                             struct_size covers them (TC_HAS_MEMBER) */
    void *ctx;
    int (*str)(void *ctx, const char *addr, tc_field field, const char *value);
    int (*num)(void *ctx, const char *addr, tc_field field, double value);
    int (*link)(void *ctx, const char *addr, tc_link_kind kind,
                const char *label, const char *url);
    /* Mark ADDR as known without any field (rarely needed). */
    int (*known)(void *ctx, const char *addr);

    /* ---- ABI 1.1 ---- */
    /* Named values no tc_field covers (a holder count, a score, an audit
     * flag, a pool address). The host stores them with this source's record
     * of the token (token_sources.data, under "extra") and never merges them
     * into the token's fields. KEY: lowercase [a-z][a-z0-9_]{0,47}, and not
     * the name of a field ("name", "price_usd", ..., "websites", "socials":
     * the [merge] keys). At most TC_EXTRA_MAX distinct keys per address per
     * response; the same key again replaces its value. A number must be
     * finite; a string (copied) at most TC_EXTRA_STR_MAX bytes; a bool is
     * stored as true for any non-zero VALUE. Each returns 0, or -1 when the
     * host rejects the call (bad key, unknown address, over a bound: the host
     * counts these and logs them at debug level, once per response). */
    int (*extra_num)(void *ctx, const char *addr, const char *key, double value);
    int (*extra_str)(void *ctx, const char *addr, const char *key, const char *value);
    int (*extra_bool)(void *ctx, const char *addr, const char *key, int value);
} tc_emit;

typedef enum tc_status {
    TC_OK = 0,    /* the response was understood (some addresses may be unknown) */
    TC_RETRY = 1, /* transient: the host retries the chunk with backoff */
    TC_FATAL = 2  /* permanent for this chunk: recorded as failed, not retried now */
} tc_status;

/* Filled by parse_response() when it does not return TC_OK. */
typedef struct tc_outcome {
    uint32_t struct_size;   /* set by the host: sizeof(tc_outcome) as it was built */
    int32_t retry_after_ms; /* with TC_RETRY: minimum wait the upstream asked for (> 0),
                               or -1; the host caps it at 600 s */
    char message[240];      /* short reason for logs; no secrets */
} tc_outcome;

/* ---- The plugin's own config keys (ABI 1.1) -------------------------------- */

/* The type of a key, which the host checks before create() is called, so a
 * plugin reading it through tc_host.setting() gets a valid value or NULL. */
typedef enum tc_setting_type {
    TC_SETTING_STRING = 1, /* any text */
    TC_SETTING_INT = 2,    /* a whole number within [min, max] */
    TC_SETTING_NUMBER = 3, /* a decimal number within [min, max] */
    TC_SETTING_BOOL = 4    /* true/false, yes/no, on/off, 1/0 */
} tc_setting_type;

/* One key of the plugin's [source NAME] section. An array of these ends
 * with an entry whose name is NULL. Members are appended in later minors;
 * tc_source.setting_size tells the host the size the plugin was built with. */
typedef struct tc_setting_def {
    const char *name;          /* lowercase, letters, digits and '_' */
    uint32_t type;             /* tc_setting_type */
    const char *default_value; /* what the plugin uses when the key is unset, as
                                  text for --config-help; NULL: no default */
    const char *description;   /* one line */
    double min, max;           /* TC_SETTING_INT / NUMBER: accepted range;
                                  min > max: any value */
} tc_setting_def;

/* ---- What each field is (ABI 1.2) ------------------------------------------ */

/* How often a field changes, which decides when the host asks for it. */
typedef enum tc_freshness {
    TC_FRESH_METADATA = 1, /* identity: refreshed on the long [scheduler] metadata_ttl
                              and when missing (name, symbol, decimals, image, supply, links) */
    TC_FRESH_MARKET = 2    /* market data: refreshed on the scheduler's tiers, by one
                              market source that knows the token (price, volume, ...) */
} tc_freshness;

/* Pseudo field for tc_field_class: the token's link sets (websites, socials). */
#define TC_FIELD_LINKS 0x100u

/* One field the plugin reports and its class. An array of these ends with
 * an entry whose field is 0. Two uint32_t, never grows. */
typedef struct tc_field_class {
    uint32_t field;     /* tc_field, or TC_FIELD_LINKS */
    uint32_t freshness; /* tc_freshness */
} tc_field_class;

/* ---- The plugin descriptor ----------------------------------------------- */

typedef struct tc_source {
    uint16_t abi_major;   /* TC_ABI_MAJOR */
    uint16_t abi_minor;   /* TC_ABI_MINOR */
    uint32_t struct_size; /* sizeof(tc_source) */
    const char *name;        /* short, lowercase: "jupiter" */
    const char *version;     /* plugin version, e.g. "1.0.0" */
    const char *description; /* one line */
    size_t max_chunk;        /* the upstream's hard limit of addresses per request */
    /* ABI 1.0: names of extra config keys this plugin reads, NULL-terminated;
     * may be NULL. Superseded by `settings` below, which the host prefers
     * when both are set. Any other key the host does not know is an error. */
    const char *const *config_keys;

    /* Create an instance for one [source NAME] section. HOST stays valid until
     * destroy(). On error return non-zero and write a reason into ERR. */
    int (*create)(const tc_host *host, const tc_settings *settings, void **self,
                  char *err, size_t errlen);
    void (*destroy)(void *self);

    /* Build one request for ADDRS[0..N) (1 <= N <= the configured chunk size)
     * through host->request_*. Returns 0, or non-zero when no request can be
     * built (the chunk is then recorded as failed). */
    int (*build_request)(void *self, const char *const *addrs, size_t n,
                         tc_request *req);

    /* Parse the response to the request built for ADDRS[0..N). The host calls
     * it for every completed HTTP exchange except 429, 408 and 5xx, which it
     * handles itself (limiter pause, retry with backoff). It may be called from a different chunk order than build_request
     * and must not keep pointers into RES after it returns. cJSON memory made
     * during the call comes from an arena dropped when it returns: free it
     * only with cJSON_Delete/cJSON_free and keep none of it. */
    tc_status (*parse_response)(void *self, const char *const *addrs, size_t n,
                                const tc_response *res, const tc_emit *out,
                                tc_outcome *outcome);

    /* ---- ABI 1.1 ---- */
    /* The plugin's own config keys, with type, default and description,
     * ended by {NULL}; may be NULL. The host validates the section from it
     * and prints it in --config-help. */
    const tc_setting_def *settings;
    uint32_t setting_size; /* sizeof(tc_setting_def) as the plugin was built */

    /* ---- ABI 1.2 ---- */
    /* The fields this plugin reports and what each is, ended by {0}; may be
     * NULL (then the host's core table applies: the six market fields are
     * market data, everything else metadata). A source that reports any
     * market field is a market source. The config's market_fields /
     * metadata_fields of its [source NAME] section override it. */
    const tc_field_class *fields;
} tc_source;

/* The one exported symbol. Returns a pointer to static, constant data. */
const tc_source *tc_source_entry(void);

/* Convenience for plugins: declare the entry with default visibility. */
#define TC_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
}
#endif
#endif /* TOKENCOLLECTOR_PLUGIN_H */
