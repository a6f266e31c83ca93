/* The [scheduler] section: the daemon's knobs, mirroring the old service's
 * (max_batch_size, min/max_interval, batch_delay_ms, api_rate_limit,
 * metrics_interval, prioritization, dynamic_intervals, adaptive_rate) plus
 * max_wait. Each key, its default, range and meaning is a row of the config
 * map (config_keys.c; `tokencollector --config-help` prints them).
 *
 * Durations accept a number with an optional unit: "15", "15s", "1.5s", "5m",
 * "5min", "1h", "300ms". A bare number is in the key's own unit (seconds,
 * except batch_delay_ms: milliseconds). Booleans: true/false, yes/no, on/off,
 * 1/0. */
#ifndef TC_SCHEDULER_CONFIG_H
#define TC_SCHEDULER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config_map.h" /* parse_duration_ns */
#include "scheduler.h"

typedef struct scheduler_config {
    long max_batch_size;         /* CFG_AUTO_VALUE: auto (sched_pacing_derive) */
    int64_t min_interval_ns;
    int64_t max_interval_ns;
    int64_t max_wait_ns;
    int64_t batch_delay_ns;      /* CFG_AUTO_VALUE: auto; 0: none */
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


#endif
