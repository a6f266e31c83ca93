/* The loaded configuration: the INI file read by ini_reader, ${VAR}
 * expanded, TC_* environment overrides applied, every host key parsed and
 * checked through the config map (config_map.h, config_keys.c). Errors read
 * "FILE:LINE: ..." or "environment TC_...: ...". Checks that need the plugin
 * (chunk_size against max_chunk, the plugin's own keys) happen when the
 * registry loads it, with each key's origin kept here. */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config_map.h"
#include "scheduler_config.h"

typedef struct cfg_kv {
    char *key;
    char *value; /* expanded */
    int line;    /* 0 when it came from the environment */
    char *env;   /* the TC_* variable it came from, or NULL */
} cfg_kv;

typedef struct cfg_limiter {
    char *name;
    int line;
    double rate_per_s;
    double burst;
    int adaptive;
} cfg_limiter;

typedef struct cfg_source {
    char *name;
    int line;
    char *plugin;
    int enabled;
    long chunk_size;   /* 0: the plugin's max_chunk */
    long throttle_ms;
    char *limiter;     /* NULL: none */
    long timeout_ms;
    long concurrency;  /* the most requests in flight at once (inflight.h sizes the rest) */
    long max_attempts; /* tries per chunk, including the first */
    double retry_budget; /* retries allowed as a share of requests (plus RETRY_BUDGET_FLOOR) */
    /* circuit breaker (see breaker.h) */
    long breaker_window, breaker_min_calls, breaker_probes;
    double breaker_threshold;
    long breaker_open_s, breaker_open_max_s;
    cfg_kv *keys;      /* every key of the section, for tc_host.setting */
    size_t n_keys;
} cfg_source;

/* Per-field merge precedence: list of source names, first wins. */
typedef struct cfg_merge {
    char **sources;
    size_t n;
    int line;
} cfg_merge;

/* Indexed by tc_field (1..12), then the two link sets. */
#define MERGE_WEBSITES 13
#define MERGE_SOCIALS 14
#define CFG_MERGE_FIELDS 15

/* [api]: the HTTP server (api_server.c). Every key is restart-only: the
 * server copies what it needs when it starts. */
typedef struct cfg_api {
    char *listen;              /* "HOST:PORT"; NULL: no server */
    long threads;              /* MHD worker threads, one store connection each */
    long max_connections;      /* open connections at once, streams included */
    long per_ip_connections;   /* from one client address; 0: no limit */
    long connection_timeout_s; /* idle connections are closed */
    long max_body_bytes;       /* larger request bodies: 413 */
    long max_uri_bytes;        /* longer request targets: 414 */
    char *cors_origin;         /* Access-Control-Allow-Origin; NULL: no CORS headers */
    long gzip_min_bytes;       /* smaller bodies are sent as they are; 0: never gzip */
    long store_wait_ms;        /* wait for a free store connection, then 503 */
    long sse_max_clients;      /* change-feed streams at once; 0: none */
    long sse_buffer_bytes;     /* per stream, queued for a slow client; past it: cut off */
    int64_t sse_poll_ns;       /* how often the feed looks for new changes */
    int64_t sse_heartbeat_ns;  /* a comment on an idle stream this often */
    char *admin_token_file;    /* the admin API's bearer token; NULL: TC_ADMIN_TOKEN only */
} cfg_api;

typedef struct config {
    char *path;
    char *store;          /* "sqlite:PATH" or "postgresql://..." */
    char *plugin_dir;
    long batch_size;
    long max_concurrent_batches; /* 0: auto (enough to fill every chunk) */
    long connect_timeout_ms;
    long lease_seconds;   /* how long claimed tokens stay ours */
    int log_level;        /* tc_log_level */
    char *log_format;     /* "text" or "json" */
    double global_rate;   /* requests/s over every source together; 0: none */
    double global_burst;
    long outstanding_retry_min_s; /* first retry of a source owed for a token */
    long outstanding_retry_max_s; /* doubling per attempt up to this */
    cfg_limiter *limiters;
    size_t n_limiters;
    cfg_source *sources;
    size_t n_sources;
    cfg_merge merge[CFG_MERGE_FIELDS];
    scheduler_config sched; /* [scheduler]: the daemon */
    int sched_line;         /* last [scheduler] line, for errors between keys */
    long shutdown_grace_s;  /* [core]: on SIGTERM, how long in-flight work may finish */
    cfg_api api;            /* [api] */
} config;

/* Load and validate PATH. On error returns -1 with "FILE:LINE: message" in ERR. */
int config_load(const char *path, config *cfg, char *err, size_t errlen);
/* CONFIG_STORE_ONLY: for commands that only open the store (migrate,
 * import): the file's syntax and [core] are checked, the other sections are
 * not parsed, so an unset ${VAR} in a source does not stop them. */
enum { CONFIG_STORE_ONLY = 1 };
/* CONFIG_SERVE: `serve` (the HTTP API alone): [core] and [api] are parsed
 * and checked, the sources' sections are not (no collector runs). */
enum { CONFIG_SERVE = 2 };
int config_load_ex(const char *path, config *cfg, unsigned flags, char *err, size_t errlen);
void config_free(config *cfg);

const char *cfg_source_get(const cfg_source *src, const char *key);
int cfg_source_key_line(const cfg_source *src, const char *key);
/* Where KEY of SRC was set, as an error prefix: "FILE:LINE: " or
 * "environment TC_...: " (the section's line when KEY is not set). */
void cfg_source_key_where(const char *cfg_path, const cfg_source *src, const char *key, char *buf,
                          size_t len);
const cfg_limiter *config_find_limiter(const config *cfg, const char *name);
const cfg_source *config_find_source(const config *cfg, const char *name);

/* A deep copy of SRC (a plugin instance keeps its own, so the config it came
 * from can be freed by a reload); free with cfg_source_free. */
cfg_source *cfg_source_copy(const cfg_source *src);
void cfg_source_free(cfg_source *s);

/* Requests/s allowed over every source together: the smaller of [core]
 * global_rate and [scheduler] api_rate_limit (the old service's name for the
 * same knob) that is set; 0 when neither is. */
double config_global_rate(const config *cfg);

/* Keys the host itself understands in [source NAME]. */
int cfg_is_host_source_key(const char *key);

/* Field names as used in [merge] and in stored JSON ("name", "price_usd", ...). */
const char *field_name(int field);
int field_from_name(const char *name);
/* The [merge] default for FIELD: "helius, jupiter, dexscreener", ... */
const char *config_merge_default(int field);

/* ---- comparing two loaded configs (live reload) -------------------------- */

typedef enum cfg_change { CFG_CHANGED, CFG_ADDED, CFG_REMOVED } cfg_change;

typedef struct cfg_diff_entry {
    cfg_change change;
    const char *section; /* "core", "scheduler", "merge", "limiter NAME", "source NAME" */
    const char *key;     /* NULL: the whole section was added or removed */
    const char *old_value, *new_value; /* as text; NULL when unset; secrets shown as "(secret)" */
    int restart;         /* the key cannot change while running (e.g. [core] store) */
} cfg_diff_entry;

typedef void (*cfg_diff_fn)(void *ctx, const cfg_diff_entry *d);

/* Calls FN for every difference between A (running) and B (new), key by
 * key, from the config map. Returns the number of differences. */
size_t config_diff(const config *a, const config *b, cfg_diff_fn fn, void *ctx);
/* The same for two versions of one [source NAME] section. */
size_t config_diff_source(const cfg_source *a, const cfg_source *b, cfg_diff_fn fn, void *ctx);

#endif
