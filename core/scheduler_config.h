/* The [scheduler] section: the daemon's knobs, mirroring the old service's
 * (max_batch_size, min/max_interval, batch_delay_ms, api_rate_limit,
 * metrics_interval, prioritization, dynamic_intervals, adaptive_rate) plus
 * max_wait. config.c's section dispatch calls scheduler_config_set() per key
 * and scheduler_config_validate() once the file is read.
 *
 * Durations accept a number with an optional unit: "15", "15s", "1.5s", "5m",
 * "5min", "1h", "300ms". A bare number is in the key's own unit (seconds,
 * except batch_delay_ms: milliseconds). Booleans: true/false, yes/no, on/off,
 * 1/0.
 *
 *   max_batch_size    tokens taken from the scheduler at once, 1..100000.
 *                     Default 100 (one full Jupiter request). The batch
 *                     optimizer picks up to this many; a multiple of the
 *                     sources' chunk sizes (300 = 100 and 30) fills best.
 *   min_interval      shortest refresh interval, 1 s..1 h. Default 15 s.
 *                     The hot tier's floor and base.
 *   max_interval      longest unstretched interval, >= min_interval, up to
 *                     1 day. Default 300 s. The cold tier's base and ceiling.
 *   max_wait          no token waits longer than this between refreshes,
 *                     even when overload stretches intervals;
 *                     >= max_interval. Default 600 s.
 *   batch_delay_ms    minimum gap between forming two batches, so tokens
 *                     coming due close together share requests. 0..60 s.
 *                     Default 1000 ms. 0 (off): a batch is formed as soon as
 *                     anything is due and the engine has room.
 *   api_rate_limit    requests per second over all sources together, on top
 *                     of each source's [limiter]: "30", "30/s", "1800/min".
 *                     The old service's name for [core] global_rate: the
 *                     engine enforces the smaller of the two that are set,
 *                     and the overload plan counts it (sched_capacity).
 *                     Default 0 (off): only the per-source limiters apply.
 *   metrics_interval  how often the metrics lines are logged (and the
 *                     overload plan recomputed). 1 s..1 day. Default 60 s.
 *                     0 (off): no metrics lines; the counters are still kept
 *                     (for an endpoint) and the plan is recomputed every 60 s.
 *   prioritization    score tokens (rank, contest, volume, volatility) into
 *                     hot/warm/cold tiers. Default on. Off: every token has
 *                     the same priority and the warm tier (60 s base); the
 *                     queue is plain FIFO by due time.
 *   dynamic_intervals a price change halves a token's interval, no change
 *                     makes it 1.5x, within its tier's range. Default on.
 *                     Off: each token keeps its tier's base interval (hot
 *                     15 s, warm 60 s, cold 300 s with the defaults).
 *   adaptive_rate     the overload plan uses the limiters' current rates,
 *                     which an adaptive [limiter] lowers after 429s, so
 *                     intervals stretch instead of the queue backing up.
 *                     Default on. Off: the configured rates. */
#ifndef TC_SCHEDULER_CONFIG_H
#define TC_SCHEDULER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler.h"

typedef struct scheduler_config {
    long max_batch_size;
    int64_t min_interval_ns;
    int64_t max_interval_ns;
    int64_t max_wait_ns;
    int64_t batch_delay_ns;
    double api_rate_limit;       /* requests/s; 0: off */
    int64_t metrics_interval_ns; /* 0: off */
    int prioritization;
    int dynamic_intervals;
    int adaptive_rate;
} scheduler_config;

void scheduler_config_default(scheduler_config *c);

/* Sets KEY from VALUE. 0 on success; -1 with a message in ERR for an
 * unknown key or a bad value, e.g. "min_interval: expected a duration ...":
 * no file, line or section, the caller prefixes "FILE:LINE: [scheduler] ". */
int scheduler_config_set(scheduler_config *c, const char *key, const char *value, char *err, size_t errlen);

/* Checks between keys (min <= max <= max_wait). 0, or -1 with ERR (as above). */
int scheduler_config_validate(const scheduler_config *c, char *err, size_t errlen);

/* 1 when KEY belongs to [scheduler] (for config.c's unknown-key message). */
int scheduler_config_is_key(const char *key);

/* The scheduler's parameters for this config (tiers derived from the
 * intervals). */
void scheduler_config_params(const scheduler_config *c, sched_params *p);

/* Parses a duration: a non-negative decimal number with an optional unit
 * (ms, s, sec, m, min, h); a bare number is in UNIT_NS. 0 / -1. */
int parse_duration_ns(const char *s, int64_t unit_ns, int64_t *out);

#endif
