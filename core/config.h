/* The INI configuration: parsed with inih, ${VAR} expanded, TC_* environment
 * overrides applied, every value type-checked. Errors read "FILE:LINE: ...".
 * Checks that need the plugin (chunk_size against max_chunk, plugin-specific
 * keys) happen when the registry loads it, with the line kept here. */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>

#include "scheduler_config.h"

typedef struct cfg_kv {
    char *key;
    char *value; /* expanded */
    int line;    /* 0 when it came from the environment */
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
    long concurrency;  /* requests of this source in flight at once */
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

typedef struct config {
    char *path;
    char *store;          /* "sqlite:PATH" or "postgresql://..." */
    char *plugin_dir;
    long batch_size;
    long max_concurrent_batches; /* 0: auto (enough to fill every chunk) */
    long connect_timeout_ms;
    long lease_seconds;   /* how long claimed tokens stay ours */
    int log_level;        /* tc_log_level */
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
} config;

/* Load and validate PATH. On error returns -1 with "FILE:LINE: message" in ERR. */
int config_load(const char *path, config *cfg, char *err, size_t errlen);
void config_free(config *cfg);

const char *cfg_source_get(const cfg_source *src, const char *key);
int cfg_source_key_line(const cfg_source *src, const char *key);
const cfg_limiter *config_find_limiter(const config *cfg, const char *name);

/* Requests/s allowed over every source together: the smaller of [core]
 * global_rate and [scheduler] api_rate_limit (the old service's name for the
 * same knob) that is set; 0 when neither is. */
double config_global_rate(const config *cfg);

/* Keys the host itself understands in [source NAME]. */
int cfg_is_host_source_key(const char *key);

/* Parses "300/min", "2/s", "1.5/sec", "3600/h", or a bare number (per second). */
int parse_rate(const char *s, double *per_second);

/* Field names as used in [merge] and in stored JSON ("name", "price_usd", ...). */
const char *field_name(int field);
int field_from_name(const char *name);

#endif
