/* The [scheduler] section over the config map: its keys, defaults and
 * ranges are rows of config_keys.c; what is left here is the check between
 * keys and the translation into the scheduler's parameters. */
#include "scheduler_config.h"

#include <stdio.h>
#include <string.h>

#include "config_map.h"

void scheduler_config_default(scheduler_config *c)
{
    memset(c, 0, sizeof *c);
    cfg_section_defaults(CFG_SEC_SCHEDULER, c);
}

int scheduler_config_all_sources(const scheduler_config *c)
{
    return c->market_refresh && !strcmp(c->market_refresh, "all_sources");
}

int scheduler_config_is_key(const char *key)
{
    return cfg_key_find(CFG_SEC_SCHEDULER, key) != NULL;
}

int scheduler_config_set(scheduler_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    if (!key || !value) {
        snprintf(err, errlen, "missing key or value");
        return -1;
    }
    const cfg_key_def *d = cfg_key_find(CFG_SEC_SCHEDULER, key);
    if (!d) {
        cfg_unknown_key(CFG_SEC_SCHEDULER, key, err, errlen);
        return -1;
    }
    return cfg_key_set(d, c, value, err, errlen);
}

int scheduler_config_validate(const scheduler_config *c, char *err, size_t errlen)
{
    if (c->max_interval_ns < c->min_interval_ns)
        snprintf(err, errlen, "max_interval (%g s) is below min_interval (%g s)", (double)c->max_interval_ns / 1e9,
                 (double)c->min_interval_ns / 1e9);
    else if (c->max_wait_ns < c->max_interval_ns)
        snprintf(err, errlen, "max_wait (%g s) is below max_interval (%g s)", (double)c->max_wait_ns / 1e9,
                 (double)c->max_interval_ns / 1e9);
    else
        return 0;
    return -1;
}

void scheduler_config_params(const scheduler_config *c, sched_params *p)
{
    sched_params_default(p);
    p->min_interval_ns = c->min_interval_ns;
    p->max_interval_ns = c->max_interval_ns;
    p->max_wait_ns = c->max_wait_ns;
    p->prioritization = c->prioritization;
    p->dynamic_intervals = c->dynamic_intervals;
    sched_params_derive_tiers(p);
}
