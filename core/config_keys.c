/* Every host config key, once. One row per key: section, name, type,
 * default (as written in the file), range, member, flags, check, help.
 * The README's configuration table is generated from this file
 * (make config-doc); the `[merge]` section's keys are the field names and
 * live in config_merge.c. */
#include <stddef.h>
#include <string.h>

#include "api_http.h"
#include "config.h"
#include "config_map.h"
#include "freshness.h"
#include "log.h"
#include "util.h"

static int check_store(const char *v, char *why, size_t whylen)
{
    if (!strncmp(v, "sqlite:", 7) || !strncmp(v, "postgresql://", 13) || !strncmp(v, "postgres://", 11))
        return 0;
    snprintf(why, whylen, "store: expected sqlite:PATH or postgresql://..., got \"%s\"", v);
    return -1;
}

static int check_scope(const char *v, char *why, size_t whylen)
{
    if (!strcmp(v, "local") || !strcmp(v, "cluster"))
        return 0;
    snprintf(why, whylen, "scope: expected local or cluster, got \"%s\"", v);
    return -1;
}

static int check_isolation(const char *v, char *why, size_t whylen)
{
    if (!strcmp(v, "in-process") || !strcmp(v, "process"))
        return 0;
    snprintf(why, whylen, "isolation: expected in-process or process, got \"%s\"", v);
    return -1;
}

static int check_http_url(const char *v, char *why, size_t whylen)
{
    if (!*v || !strncmp(v, "http://", 7) || !strncmp(v, "https://", 8))
        return 0;
    snprintf(why, whylen, "base_url: expected http:// or https://, got \"%s\"", v);
    return -1;
}

static int check_not_empty(const char *v, char *why, size_t whylen)
{
    if (*v)
        return 0;
    snprintf(why, whylen, "plugin: must name a .so file");
    return -1;
}

static int check_listen(const char *v, char *why, size_t whylen)
{
    struct sockaddr_storage sa;
    socklen_t len;
    char msg[200];
    if (!*v || api_parse_listen(v, &sa, &len, msg, sizeof msg) == 0)
        return 0;
    snprintf(why, whylen, "listen: %s", msg);
    return -1;
}

static int check_origin(const char *v, char *why, size_t whylen)
{
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == ',') {
            snprintf(why, whylen, "cors_origin: expected * or one origin (https://host[:port]), got \"%s\"", v);
            return -1;
        }
    return 0;
}

static int check_log_format(const char *v, char *why, size_t whylen)
{
    if (log_format_parse(v) >= 0)
        return 0;
    snprintf(why, whylen, "log_format: expected text or json, got \"%s\"", v);
    return -1;
}

static int check_market_refresh(const char *v, char *why, size_t whylen)
{
    if (!strcmp(v, "one_source") || !strcmp(v, "all_sources"))
        return 0;
    snprintf(why, whylen, "market_refresh: expected one_source or all_sources, got \"%s\"", v);
    return -1;
}

/* market_fields / metadata_fields: [merge] field names. */
static int check_field_list(const char *v, char *why, size_t whylen)
{
    field_mask m;
    return field_mask_parse(v, &m, why, whylen);
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define S NS_PER_S
#define MS NS_PER_MS
#define CORE(f) offsetof(config, f)
#define SCHED(f) offsetof(scheduler_config, f)
#define LIM(f) offsetof(cfg_limiter, f)
#define SRC(f) offsetof(cfg_source, f)
#define API(f) offsetof(cfg_api, f)
#define RS CFG_RESTART
#define NONE CFG_NOT_STORED

/* clang-format off */
const cfg_key_def cfg_keys[] = {
    /* section          name                      type           default                 min   max          unit  member                          flags                      check            help */
    {CFG_SEC_CORE,      "store",                  CFG_STRING,    "sqlite:var/tokens.db", 0, 0,             0,  CORE(store),                     CFG_RESTART,               check_store,     "`sqlite:PATH`, or a libpq URI `postgresql://...`"},
    {CFG_SEC_CORE,      "plugin_dir",             CFG_STRING,    "build/plugins",        0, 0,             0,  CORE(plugin_dir),                0,                         NULL,            "where `plugin = x.so` is looked up (absolute and `./` paths are kept)"},
    {CFG_SEC_CORE,      "batch_size",             CFG_INT,       "50",                   1, 100000,        0,  CORE(batch_size),                0,                         NULL,            "tokens per store transaction"},
    {CFG_SEC_CORE,      "max_concurrent_batches", CFG_INT,       "0",                    0, 100000,        0,  CORE(max_concurrent_batches),    0,                         NULL,            "batches in flight; 0 (auto): two full requests of the largest chunk plus the limits' tokens/s times the slowest p90 latency, at most 4,000 tokens"},
    {CFG_SEC_CORE,      "collector_id",           CFG_STRING,    NULL,                   0, 0,             0,  CORE(collector_id),              CFG_RESTART,               NULL,            "this collector's stable identity in its claims; a restart takes back its own stale claims at once (unset: host name and a hash of `store`)"},
    {CFG_SEC_CORE,      "lease_seconds",          CFG_INT,       "600",                  10, 86400,        0,  CORE(lease_seconds),             0,                         NULL,            "how long claimed tokens stay this collector's before another may take them"},
    {CFG_SEC_CORE,      "connect_timeout_ms",     CFG_INT,       "5000",                 1, 600000,        0,  CORE(connect_timeout_ms),        0,                         NULL,            "TCP and TLS connect timeout of every request"},
    {CFG_SEC_CORE,      "log_level",              CFG_LOG_LEVEL, "info",                 0, 0,             0,  CORE(log_level),                 0,                         NULL,            "`error`, `warn`, `info` or `debug` (`--log-level` overrides it)"},
    {CFG_SEC_CORE,      "log_format",             CFG_STRING,    "text",                 0, 0,             0,  CORE(log_format),                0,                         check_log_format, "`text` (`level [component] message`) or `json` (one object per line: time, level, component, message, fields)"},
    {CFG_SEC_CORE,      "global_rate",            CFG_RATE,      "0",                    0, 0,             0,  CORE(global_rate),               CFG_OFF_ZERO,              NULL,            "one more limiter over every source together (the old service's 30 requests/s); 0: none"},
    {CFG_SEC_CORE,      "global_burst",           CFG_NUMBER,    "1",                    1, 1e6,           0,  CORE(global_burst),              0,                         NULL,            "requests the global limiter lets go back to back"},
    {CFG_SEC_CORE,      "outstanding_retry_min_s", CFG_INT,      "60",                   1, 86400,         0,  CORE(outstanding_retry_min_s),   0,                         NULL,            "first retry of a source still owed for a token; doubling per attempt"},
    {CFG_SEC_CORE,      "outstanding_retry_max_s", CFG_INT,      "3600",                 1, 7 * 86400,     0,  CORE(outstanding_retry_max_s),   0,                         NULL,            "longest wait before a still-owed source is tried again"},
    {CFG_SEC_CORE,      "shutdown_grace_s",       CFG_INT,       "10",                   0, 3600,          0,  CORE(shutdown_grace_s),          0,                         NULL,            "daemon: after SIGTERM, how long requests on the wire may finish"},

    {CFG_SEC_SCHEDULER, "max_batch_size",         CFG_INT,       "auto",                 1, 100000,        0,  SCHED(max_batch_size),           CFG_AUTO,                  NULL,            "tokens taken from the scheduler at once (one claim, one commit); auto: 2 x the tokens/s the limits allow x the batch period (100..20000, a multiple of the largest chunk), so the pacing never caps the daemon below the APIs; a number is a cap"},
    {CFG_SEC_SCHEDULER, "min_interval",           CFG_DURATION,  STR(SCHED_DEFAULT_MIN_INTERVAL_S),                 1, 3600,          S,  SCHED(min_interval_ns),          0,                         NULL,            "shortest refresh interval: the hot tier's floor and base"},
    {CFG_SEC_SCHEDULER, "max_interval",           CFG_DURATION,  STR(SCHED_DEFAULT_MAX_INTERVAL_S),                 1, 86400,         S,  SCHED(max_interval_ns),          0,                         NULL,            "longest unstretched interval (>= min_interval): the cold tier's base and ceiling"},
    {CFG_SEC_SCHEDULER, "max_wait",               CFG_DURATION,  STR(SCHED_DEFAULT_MAX_WAIT_S),                 1, 7 * 86400,     S,  SCHED(max_wait_ns),              0,                         NULL,            "no token waits longer between refreshes, even under overload (>= max_interval)"},
    {CFG_SEC_SCHEDULER, "batch_delay_ms",         CFG_DURATION,  "auto",                 0, 60,            MS, SCHED(batch_delay_ns),           CFG_AUTO,                  NULL,            "minimum gap between two batches, so tokens due close together share requests; auto: 1 s, or with max_batch_size set, short enough that max_batch_size / gap is 2 x what the limits allow; 0: none"},
    {CFG_SEC_SCHEDULER, "api_rate_limit",         CFG_RATE,      "0",                    0, 0,             0,  SCHED(api_rate_limit),           CFG_OFF_ZERO,              NULL,            "requests/s over all sources together (the old service's name for `[core] global_rate`: the smaller applies); 0: off"},
    {CFG_SEC_SCHEDULER, "metrics_interval",       CFG_DURATION,  "60",                   1, 86400,         S,  SCHED(metrics_interval_ns),      CFG_OFF_ZERO,              NULL,            "how often the metrics lines are logged and the overload plan recomputed; 0/off: no lines"},
    {CFG_SEC_SCHEDULER, "prioritization",         CFG_BOOL,      "true",                 0, 0,             0,  SCHED(prioritization),           0,                         NULL,            "score tokens into hot/warm/cold tiers; off: one tier, FIFO by due time"},
    {CFG_SEC_SCHEDULER, "dynamic_intervals",      CFG_BOOL,      "true",                 0, 0,             0,  SCHED(dynamic_intervals),        0,                         NULL,            "a price change halves a token's interval, no change makes it 1.5x, within its tier"},
    {CFG_SEC_SCHEDULER, "adaptive_rate",          CFG_BOOL,      "true",                 0, 0,             0,  SCHED(adaptive_rate),            0,                         NULL,            "the overload plan uses the limiters' current (429-lowered) rates"},
    {CFG_SEC_SCHEDULER, "market_refresh",         CFG_STRING,    NULL,                   0, 0,             0,  SCHED(market_refresh),           0,                         check_market_refresh, "`one_source` (unset): a token's price refresh asks one market source that knows it, chosen by spare capacity (capacity: the sum of the market sources'); `all_sources`: every source every time (the old design)"},
    {CFG_SEC_SCHEDULER, "metadata_ttl",           CFG_DURATION,  "6h",                   1, 30 * 86400,    S,  SCHED(metadata_ttl_ns),          0,                         NULL,            "one_source: metadata (name, symbol, decimals, image, supply, links) is fetched again after this long, and when missing"},
    {CFG_SEC_SCHEDULER, "market_max_age",         CFG_DURATION,  "1h",                   0, 30 * 86400,    S,  SCHED(market_max_age_ns),        CFG_OFF_ZERO,              NULL,            "the merge takes each market field's newest value among sources fetched within this long (`[merge] FIELD_max_age` per field); older values are dropped; 0/off: no bound"},

    {CFG_SEC_LIMITER,   "rate",                   CFG_RATE,      NULL,                   0, 0,             0,  LIM(rate_per_s),                 CFG_REQUIRED,              NULL,            "`N/s`, `N/min` or `N/h`"},
    {CFG_SEC_LIMITER,   "burst",                  CFG_NUMBER,    "1",                    1, 1e6,           0,  LIM(burst),                      0,                         NULL,            "requests that may go back to back; keep `rate x window + burst` under a sliding-window limit"},
    {CFG_SEC_LIMITER,   "adaptive",               CFG_BOOL,      "false",                0, 0,             0,  LIM(adaptive),                   0,                         NULL,            "AIMD: halve the rate on a 429, add 5% of it back per 10 s without one, never above `rate`"},
    {CFG_SEC_LIMITER,   "scope",                  CFG_STRING,    "local",                0, 0,             0,  LIM(scope),                      CFG_RESTART,               check_scope,     "`local`: this collector's own limit; `cluster`: one limit shared by every collector on the PostgreSQL store (docs/postgresql.md)"},
    {CFG_SEC_LIMITER,   "cluster_ahead",          CFG_DURATION,  "250",                  0.01, 10,         MS, LIM(cluster_ahead_ns),           0,                         NULL,            "scope = cluster: how far ahead a collector may reserve permits; bounds what a dying collector takes with it"},

    {CFG_SEC_SOURCE,    "plugin",                 CFG_STRING,    NULL,                   0, 0,             0,  SRC(plugin),                     CFG_REQUIRED,              check_not_empty, "the plugin's `.so` file, looked up in `plugin_dir`"},
    {CFG_SEC_SOURCE,    "isolation",              CFG_STRING,    "in-process",           0, 0,             0,  SRC(isolation),                  0,                         check_isolation, "`process`: the plugin runs in a child process (its constructor too); a crash or hang there is logged, the child restarted with backoff and the chunk retried"},
    {CFG_SEC_SOURCE,    "isolation_timeout_ms",   CFG_INT,       "5000",                 100, 600000,      0,  SRC(isolation_timeout_ms),       0,                         NULL,            "with `isolation = process`: a call (build or parse) that takes longer is a hang: the child is killed and restarted"},
    {CFG_SEC_SOURCE,    "enabled",                CFG_BOOL,      "true",                 0, 0,             0,  SRC(enabled),                    0,                         NULL,            "false: the section is checked but nothing is sent"},
    {CFG_SEC_SOURCE,    "chunk_size",             CFG_INT,       NULL,                   1, 100000,        0,  SRC(chunk_size),                 0,                         NULL,            "addresses per request (default: the plugin's maximum; above it is an error)"},
    {CFG_SEC_SOURCE,    "limiter",                CFG_STRING,    NULL,                   0, 0,             0,  SRC(limiter),                    0,                         NULL,            "a `[limiter NAME]` this source draws from (several sources may share one)"},
    {CFG_SEC_SOURCE,    "throttle_ms",            CFG_INT,       "0",                    0, 3600000,       0,  SRC(throttle_ms),                0,                         NULL,            "minimum gap between two requests of this source"},
    {CFG_SEC_SOURCE,    "base_url",               CFG_STRING,    NULL,                   0, 0,             0,  NONE,                            0,                         check_http_url,  "the API's base URL (default: the plugin's; see its README)"},
    {CFG_SEC_SOURCE,    "api_key",                CFG_STRING,    NULL,                   0, 0,             0,  NONE,                            0,                         NULL,            "the API key, if the plugin uses one; never logged (write `${VAR}`)"},
    {CFG_SEC_SOURCE,    "timeout_ms",             CFG_INT,       "15000",                1, 3600000,       0,  SRC(timeout_ms),                 0,                         NULL,            "total time for one request, connect included"},
    {CFG_SEC_SOURCE,    "concurrency",            CFG_INT,       "64",                   1, 1000,          0,  SRC(concurrency),                0,                         NULL,            "most requests of this source in flight at once; within it the source keeps ceil(rate now x p90 latency x 1.5) in flight (Little's law), so latency never caps it below its limiter"},
    {CFG_SEC_SOURCE,    "max_attempts",           CFG_INT,       "4",                    1, 100,           0,  SRC(max_attempts),               0,                         NULL,            "tries per chunk, the first included, for transient failures (timeouts, 5xx, truncated bodies)"},
    {CFG_SEC_SOURCE,    "retry_budget",           CFG_NUMBER,    "0.2",                  0, 10,            0,  SRC(retry_budget),               0,                         NULL,            "retries allowed as a share of requests (plus 10), so an outage does not multiply traffic"},
    {CFG_SEC_SOURCE,    "breaker_window",         CFG_INT,       "20",                   1, 256,           0,  SRC(breaker_window),             0,                         NULL,            "circuit breaker: the last N answers it looks at"},
    {CFG_SEC_SOURCE,    "breaker_min_calls",      CFG_INT,       "10",                   1, 256,           0,  SRC(breaker_min_calls),          0,                         NULL,            "circuit breaker: outcomes needed before it may open"},
    {CFG_SEC_SOURCE,    "breaker_threshold",      CFG_NUMBER,    "0.5",                  0.01, 1,          0,  SRC(breaker_threshold),          0,                         NULL,            "circuit breaker: opens when at least this share of the window failed"},
    {CFG_SEC_SOURCE,    "breaker_open_s",         CFG_INT,       "30",                   1, 86400,         0,  SRC(breaker_open_s),             0,                         NULL,            "circuit breaker: first open period, doubling while probes fail"},
    {CFG_SEC_SOURCE,    "breaker_open_max_s",     CFG_INT,       "300",                  1, 86400,         0,  SRC(breaker_open_max_s),         0,                         NULL,            "circuit breaker: longest open period"},
    {CFG_SEC_SOURCE,    "breaker_probes",         CFG_INT,       "2",                    1, 100,           0,  SRC(breaker_probes),             0,                         NULL,            "circuit breaker: successful probes that close it"},
    {CFG_SEC_SOURCE,    "market_fields",          CFG_STRING,    NULL,                   0, 0,             0,  NONE,                            0,                         check_field_list, "the fields this source reports that are market data (`price_usd, volume_24h`); with `metadata_fields` it replaces the plugin's declaration"},
    {CFG_SEC_SOURCE,    "metadata_fields",        CFG_STRING,    NULL,                   0, 0,             0,  NONE,                            0,                         check_field_list, "the fields this source reports that are metadata (`name, symbol, websites`), refreshed on `metadata_ttl`"},

    {CFG_SEC_API,       "listen",                 CFG_STRING,    NULL,                   0, 0,             0,  API(listen),                     RS,                        check_listen,    "`HOST:PORT` of the HTTP API (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:8080`; port 0: any free one, logged); empty: no server"},
    {CFG_SEC_API,       "threads",                CFG_INT,       "4",                    1, 256,           0,  API(threads),                    RS,                        NULL,            "worker threads, each with a store connection of its own (the collector's is never used)"},
    {CFG_SEC_API,       "max_connections",        CFG_INT,       "256",                  1, 100000,        0,  API(max_connections),            RS,                        NULL,            "open connections at once, streams included (shared out evenly among the threads); more are closed as they arrive"},
    {CFG_SEC_API,       "per_ip_connections",     CFG_INT,       "64",                   0, 100000,        0,  API(per_ip_connections),         RS,                        NULL,            "open connections from one client address; 0: no limit per address"},
    {CFG_SEC_API,       "connection_timeout_s",   CFG_INT,       "30",                   1, 3600,          0,  API(connection_timeout_s),       RS,                        NULL,            "a connection that sends or takes nothing this long is closed (a waiting stream is not idle)"},
    {CFG_SEC_API,       "max_body_bytes",         CFG_INT,       "65536",                0, 67108864,      0,  API(max_body_bytes),             RS,                        NULL,            "larger request bodies are refused with 413"},
    {CFG_SEC_API,       "max_uri_bytes",          CFG_INT,       "8192",                 256, 1048576,     0,  API(max_uri_bytes),              RS,                        NULL,            "longer request targets (path and query string) are refused with 414"},
    {CFG_SEC_API,       "cors_origin",            CFG_STRING,    NULL,                   0, 0,             0,  API(cors_origin),                RS,                        check_origin,    "`Access-Control-Allow-Origin` of every answer (`*` or one origin); empty: no CORS headers"},
    {CFG_SEC_API,       "gzip_min_bytes",         CFG_INT,       "1024",                 0, 67108864,      0,  API(gzip_min_bytes),             RS,                        NULL,            "bodies at least this large are gzip-compressed for clients that accept it; 0: never"},
    {CFG_SEC_API,       "store_wait_ms",          CFG_INT,       "2000",                 1, 60000,         0,  API(store_wait_ms),              RS,                        NULL,            "how long a request waits for a free store connection before it is answered 503"},
    {CFG_SEC_API,       "sse_max_clients",        CFG_INT,       "100",                  0, 100000,        0,  API(sse_max_clients),            RS,                        NULL,            "change-feed streams (`text/event-stream`) at once; more are answered 503; 0: no streams"},
    {CFG_SEC_API,       "sse_buffer_bytes",       CFG_INT,       "262144",               4096, 67108864,   0,  API(sse_buffer_bytes),           RS,                        NULL,            "per stream: events queued and not yet taken by its client (a full stream catches up from the store later); a client that takes nothing from a full one for 2 s is cut off with the id to resume from"},
    {CFG_SEC_API,       "sse_poll_ms",            CFG_DURATION,  "250",                  0.01, 60,         MS, API(sse_poll_ns),                RS,                        NULL,            "how often the change feed looks in the store for new changes (one query for every stream that is up to date)"},
    {CFG_SEC_API,       "sse_heartbeat_s",        CFG_DURATION,  "15",                   1, 3600,          S,  API(sse_heartbeat_ns),           RS,                        NULL,            "a comment line on a stream with nothing to send this often, so proxies and clients see it alive"},
    {CFG_SEC_API,       "admin_token_file",       CFG_STRING,    NULL,                   0, 0,             0,  API(admin_token_file),           RS,                        NULL,            "a file holding the admin API's bearer token (16 characters or more; `TC_ADMIN_TOKEN` wins); without either the admin API is off"},
};
/* clang-format on */

const size_t cfg_n_keys = sizeof cfg_keys / sizeof *cfg_keys;
