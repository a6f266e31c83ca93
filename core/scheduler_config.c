#include "scheduler_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h" /* parse_rate */
#include "util.h"

static const char *const keys[] = {"max_batch_size", "min_interval",     "max_interval",   "max_wait",
                                   "batch_delay_ms", "api_rate_limit",   "metrics_interval",
                                   "prioritization", "dynamic_intervals", "adaptive_rate",  NULL};

void scheduler_config_default(scheduler_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_batch_size = 100;
    c->min_interval_ns = 15 * NS_PER_S;
    c->max_interval_ns = 300 * NS_PER_S;
    c->max_wait_ns = 600 * NS_PER_S;
    c->batch_delay_ns = 1000 * NS_PER_MS;
    c->api_rate_limit = 0;
    c->metrics_interval_ns = 60 * NS_PER_S;
    c->prioritization = 1;
    c->dynamic_intervals = 1;
    c->adaptive_rate = 1;
}

int scheduler_config_is_key(const char *key)
{
    for (int i = 0; keys[i]; i++)
        if (!strcmp(keys[i], key))
            return 1;
    return 0;
}

int parse_duration_ns(const char *s, int64_t unit_ns, int64_t *out)
{
    if (!s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    /* strtod alone would take "inf", "nan" and hex: only plain decimals. */
    if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
        return -1;
    if (strpbrk(s, "xX"))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    char unit[8];
    size_t n = strlen(end);
    while (n && isspace((unsigned char)end[n - 1]))
        n--;
    if (n >= sizeof unit)
        return -1;
    memcpy(unit, end, n);
    unit[n] = '\0';
    double scale;
    if (!*unit)
        scale = (double)unit_ns;
    else if (!strcmp(unit, "ms"))
        scale = (double)NS_PER_MS;
    else if (!strcmp(unit, "s") || !strcmp(unit, "sec"))
        scale = (double)NS_PER_S;
    else if (!strcmp(unit, "m") || !strcmp(unit, "min"))
        scale = 60.0 * (double)NS_PER_S;
    else if (!strcmp(unit, "h"))
        scale = 3600.0 * (double)NS_PER_S;
    else
        return -1;
    double ns = v * scale;
    if (!(ns >= 0) || ns > 9e18)
        return -1;
    *out = (int64_t)llround(ns);
    return 0;
}

static int failf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int set_duration(const char *key, const char *v, int64_t unit_ns, int64_t min_ns, int64_t max_ns,
                        int64_t *out, char *err, size_t errlen)
{
    int64_t ns;
    if (parse_duration_ns(v, unit_ns, &ns) != 0)
        return failf(err, errlen,
                     "%s: expected a duration such as %s, got \"%s\"", key,
                     unit_ns == NS_PER_MS ? "500, 500ms or 2s" : "15, 15s, 5m or 300ms", v);
    if (ns != 0 && ns < min_ns)
        return failf(err, errlen, "%s: %s is below the minimum of %g s", key, v,
                     (double)min_ns / (double)NS_PER_S);
    if (ns == 0 && min_ns > 0)
        return failf(err, errlen, "%s: must be more than 0", key);
    if (ns > max_ns)
        return failf(err, errlen, "%s: %s is above the maximum of %g s", key, v,
                     (double)max_ns / (double)NS_PER_S);
    *out = ns;
    return 0;
}

static int set_bool(const char *key, const char *v, int *out, char *err, size_t errlen)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
        *out = 0;
    else
        return failf(err, errlen, "%s: expected true/false, yes/no, on/off or 1/0, got \"%s\"", key, v);
    return 0;
}

int scheduler_config_set(scheduler_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    if (!key || !value)
        return failf(err, errlen, "missing key or value");
    const char *v = value;
    if (!strcmp(key, "max_batch_size")) {
        if (parse_long(v, 1, 100000, &c->max_batch_size) != 0)
            return failf(err, errlen, "max_batch_size: expected a whole number 1..100000, got \"%s\"", v);
        return 0;
    }
    if (!strcmp(key, "min_interval"))
        return set_duration(key, v, NS_PER_S, NS_PER_S, 3600 * NS_PER_S, &c->min_interval_ns, err, errlen);
    if (!strcmp(key, "max_interval"))
        return set_duration(key, v, NS_PER_S, NS_PER_S, 86400 * NS_PER_S, &c->max_interval_ns, err, errlen);
    if (!strcmp(key, "max_wait"))
        return set_duration(key, v, NS_PER_S, NS_PER_S, 7 * 86400 * NS_PER_S, &c->max_wait_ns, err, errlen);
    if (!strcmp(key, "batch_delay_ms"))
        return set_duration(key, v, NS_PER_MS, 0, 60 * NS_PER_S, &c->batch_delay_ns, err, errlen);
    if (!strcmp(key, "metrics_interval")) {
        if (!strcmp(v, "off")) {
            c->metrics_interval_ns = 0;
            return 0;
        }
        int64_t ns;
        if (set_duration(key, v, NS_PER_S, 0, 86400 * NS_PER_S, &ns, err, errlen) != 0)
            return -1;
        if (ns != 0 && ns < NS_PER_S)
            return failf(err, errlen, "metrics_interval: %s is below the minimum of 1 s (0: off)", v);
        c->metrics_interval_ns = ns;
        return 0;
    }
    if (!strcmp(key, "api_rate_limit")) {
        double r;
        if (!strcmp(v, "off") || !strcmp(v, "0")) {
            c->api_rate_limit = 0;
            return 0;
        }
        if (parse_rate(v, &r) != 0)
            return failf(err, errlen,
                         "api_rate_limit: expected requests per second (30, 30/s, 1800/min) "
                         "or 0/off, got \"%s\"", v);
        c->api_rate_limit = r;
        return 0;
    }
    if (!strcmp(key, "prioritization"))
        return set_bool(key, v, &c->prioritization, err, errlen);
    if (!strcmp(key, "dynamic_intervals"))
        return set_bool(key, v, &c->dynamic_intervals, err, errlen);
    if (!strcmp(key, "adaptive_rate"))
        return set_bool(key, v, &c->adaptive_rate, err, errlen);
    return failf(err, errlen,
                 "unknown key \"%s\" (known: max_batch_size, min_interval, max_interval, max_wait, "
                 "batch_delay_ms, api_rate_limit, metrics_interval, prioritization, dynamic_intervals, "
                 "adaptive_rate)", key);
}

int scheduler_config_validate(const scheduler_config *c, char *err, size_t errlen)
{
    if (c->max_interval_ns < c->min_interval_ns)
        return failf(err, errlen, "max_interval (%g s) is below min_interval (%g s)",
                     (double)c->max_interval_ns / 1e9, (double)c->min_interval_ns / 1e9);
    if (c->max_wait_ns < c->max_interval_ns)
        return failf(err, errlen, "max_wait (%g s) is below max_interval (%g s)",
                     (double)c->max_wait_ns / 1e9, (double)c->max_interval_ns / 1e9);
    return 0;
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
