/* [scheduler] keys: defaults, durations with units, booleans, errors, and
 * what the scheduler is given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "scheduler_config.h"
#include "util.h"

static void defaults(void **state)
{
    (void)state;
    scheduler_config c;
    scheduler_config_default(&c);
    assert_int_equal(c.max_batch_size, CFG_AUTO_VALUE); /* derived from the limits */
    assert_int_equal(c.min_interval_ns, 15 * NS_PER_S);
    assert_int_equal(c.max_interval_ns, 300 * NS_PER_S);
    assert_int_equal(c.max_wait_ns, 600 * NS_PER_S);
    assert_int_equal(c.batch_delay_ns, CFG_AUTO_VALUE);
    assert_true(c.api_rate_limit == 0);
    assert_int_equal(c.metrics_interval_ns, 60 * NS_PER_S);
    assert_true(c.prioritization && c.dynamic_intervals && c.adaptive_rate);
    char err[256];
    assert_int_equal(scheduler_config_validate(&c, err, sizeof err), 0);
}

static void durations(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(parse_duration_ns("15", NS_PER_S, &ns), 0);
    assert_int_equal(ns, 15 * NS_PER_S);
    assert_int_equal(parse_duration_ns("15s", NS_PER_S, &ns), 0);
    assert_int_equal(ns, 15 * NS_PER_S);
    assert_int_equal(parse_duration_ns("5m", NS_PER_S, &ns), 0);
    assert_int_equal(ns, 300 * NS_PER_S);
    assert_int_equal(parse_duration_ns("5min", NS_PER_S, &ns), 0);
    assert_int_equal(ns, 300 * NS_PER_S);
    assert_int_equal(parse_duration_ns("300ms", NS_PER_S, &ns), 0);
    assert_int_equal(ns, 300 * NS_PER_MS);
    assert_int_equal(parse_duration_ns("1.5s", NS_PER_S, &ns), 0);
    assert_int_equal(ns, 1500 * NS_PER_MS);
    assert_int_equal(parse_duration_ns(" 2 h ", NS_PER_S, &ns), 0);
    assert_int_equal(ns, 7200 * NS_PER_S);
    assert_int_equal(parse_duration_ns("250", NS_PER_MS, &ns), 0);
    assert_int_equal(ns, 250 * NS_PER_MS);
    const char *bad[] = {"", "s", "-5", "5x", "5 s s", "inf", "nan", "0x10", "1e30h", "5msec", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(parse_duration_ns(bad[i], NS_PER_S, &ns), -1);
}

static void keys(void **state)
{
    (void)state;
    scheduler_config c;
    scheduler_config_default(&c);
    char err[256];
    assert_int_equal(scheduler_config_set(&c, "min_interval", "10s", err, sizeof err), 0);
    assert_int_equal(c.min_interval_ns, 10 * NS_PER_S);
    assert_int_equal(scheduler_config_set(&c, "max_interval", "10m", err, sizeof err), 0);
    assert_int_equal(c.max_interval_ns, 600 * NS_PER_S);
    assert_int_equal(scheduler_config_set(&c, "max_wait", "20m", err, sizeof err), 0);
    assert_int_equal(scheduler_config_set(&c, "batch_delay_ms", "250", err, sizeof err), 0);
    assert_int_equal(c.batch_delay_ns, 250 * NS_PER_MS);
    assert_int_equal(scheduler_config_set(&c, "batch_delay_ms", "2s", err, sizeof err), 0);
    assert_int_equal(c.batch_delay_ns, 2 * NS_PER_S);
    assert_int_equal(scheduler_config_set(&c, "batch_delay_ms", "0", err, sizeof err), 0);
    assert_int_equal(c.batch_delay_ns, 0);
    assert_int_equal(scheduler_config_set(&c, "api_rate_limit", "1800/min", err, sizeof err), 0);
    assert_float_equal(c.api_rate_limit, 30.0, 1e-9);
    assert_int_equal(scheduler_config_set(&c, "api_rate_limit", "off", err, sizeof err), 0);
    assert_true(c.api_rate_limit == 0);
    assert_int_equal(scheduler_config_set(&c, "metrics_interval", "0", err, sizeof err), 0);
    assert_int_equal(c.metrics_interval_ns, 0);
    assert_int_equal(scheduler_config_set(&c, "metrics_interval", "30s", err, sizeof err), 0);
    assert_int_equal(c.metrics_interval_ns, 30 * NS_PER_S);
    assert_int_equal(scheduler_config_set(&c, "prioritization", "off", err, sizeof err), 0);
    assert_int_equal(scheduler_config_set(&c, "dynamic_intervals", "no", err, sizeof err), 0);
    assert_int_equal(scheduler_config_set(&c, "adaptive_rate", "false", err, sizeof err), 0);
    assert_false(c.prioritization || c.dynamic_intervals || c.adaptive_rate);
    assert_int_equal(scheduler_config_set(&c, "max_batch_size", "auto", err, sizeof err), 0);
    assert_int_equal(c.max_batch_size, CFG_AUTO_VALUE);
    assert_int_equal(scheduler_config_set(&c, "batch_delay_ms", "auto", err, sizeof err), 0);
    assert_int_equal(c.batch_delay_ns, CFG_AUTO_VALUE);
    assert_int_equal(scheduler_config_set(&c, "max_batch_size", "300", err, sizeof err), 0);
    assert_int_equal(c.max_batch_size, 300);
    assert_int_equal(scheduler_config_validate(&c, err, sizeof err), 0);
    assert_true(scheduler_config_is_key("max_wait"));
    assert_false(scheduler_config_is_key("batch_size"));

    /* What the scheduler gets. */
    sched_params p;
    scheduler_config_params(&c, &p);
    assert_int_equal(p.min_interval_ns, 10 * NS_PER_S);
    assert_int_equal(p.max_interval_ns, 600 * NS_PER_S);
    assert_int_equal(p.max_wait_ns, 1200 * NS_PER_S);
    assert_false(p.prioritization);
    assert_false(p.dynamic_intervals);
    assert_int_equal(p.tier[SCHED_HOT].base_ns, 10 * NS_PER_S);
    assert_int_equal(p.tier[SCHED_COLD].base_ns, 600 * NS_PER_S);
}

static void errors(void **state)
{
    (void)state;
    scheduler_config c;
    scheduler_config_default(&c);
    scheduler_config before = c;
    char err[256];
    struct {
        const char *key, *value, *needle;
    } cases[] = {
        {"min_interval", "abc", "expected a duration"},
        {"min_interval", "0", "more than 0"},
        {"min_interval", "500ms", "below the minimum"},
        {"max_interval", "2d", "expected a duration"},
        {"max_interval", "25h", "above the maximum"},
        {"batch_delay_ms", "-1", "expected a duration"},
        {"batch_delay_ms", "2m", "above the maximum"},
        {"metrics_interval", "0.5s", "below the minimum"},
        {"max_batch_size", "0", "1..100000"},
        {"max_batch_size", "ten", "1..100000 or auto"},
        {"max_batch_size", "-1", "1..100000"},
        {"api_rate_limit", "fast", "requests per second"},
        {"prioritization", "maybe", "true/false"},
        {"batch_size", "5", "unknown key \"batch_size\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err[0] = '\0';
        assert_int_equal(scheduler_config_set(&c, cases[i].key, cases[i].value, err, sizeof err), -1);
        if (!strstr(err, cases[i].needle))
            fail_msg("%s=%s: \"%s\" lacks \"%s\"", cases[i].key, cases[i].value, err, cases[i].needle);
        /* The caller adds "FILE:LINE: [scheduler] ": no section here. */
        assert_null(strstr(err, "[scheduler]"));
        assert_true(strncmp(err, cases[i].key, strlen(cases[i].key)) == 0 || strstr(err, "unknown key") == err);
    }
    /* A rejected value leaves the config as it was. */
    assert_int_equal(c.min_interval_ns, before.min_interval_ns);
    assert_int_equal(c.max_interval_ns, before.max_interval_ns);
    assert_int_equal(c.batch_delay_ns, before.batch_delay_ns);
    assert_int_equal(c.metrics_interval_ns, before.metrics_interval_ns);
    assert_int_equal(c.max_batch_size, before.max_batch_size);
    assert_true(c.api_rate_limit == before.api_rate_limit);
    assert_int_equal(c.prioritization, before.prioritization);
    /* Cross-key checks. */
    assert_int_equal(scheduler_config_set(&c, "max_interval", "10", err, sizeof err), 0);
    assert_int_equal(scheduler_config_validate(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "below min_interval"));
    scheduler_config_default(&c);
    assert_int_equal(scheduler_config_set(&c, "max_wait", "200", err, sizeof err), 0);
    assert_int_equal(scheduler_config_validate(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "max_wait"));
}

/* The batch defaults follow the limits; explicit values stay caps. */
static void pacing(void **state)
{
    (void)state;
    sched_pacing p;
    /* The shipped free tier: Jupiter 29/min x 100 = 48 tokens/s is the
     * tightest: 1 s batches of 2 x 48, rounded up to the 1000-id chunk. */
    sched_pacing_derive(29.0 / 60 * 100, 1000, CFG_AUTO_VALUE, CFG_AUTO_VALUE, &p);
    assert_true(p.derived);
    assert_int_equal(p.delay_ns, NS_PER_S);
    assert_int_equal(p.max_batch, 1000);
    assert_true(sched_pacing_capacity(&p) >= 2 * 29.0 / 60 * 100);
    /* Paid tiers: 50 requests/s x 100 = 5,000 tokens/s, ten times what the
     * old fixed 100 per 1000 ms let through: 10,000 a batch. */
    sched_pacing_derive(5000, 100, CFG_AUTO_VALUE, CFG_AUTO_VALUE, &p);
    assert_int_equal(p.max_batch, 10000);
    assert_true(sched_pacing_capacity(&p) >= 10000);
    /* Far above: capped at the most a batch may hold. */
    sched_pacing_derive(1e6, 100, CFG_AUTO_VALUE, CFG_AUTO_VALUE, &p);
    assert_int_equal(p.max_batch, SCHED_AUTO_MAX_BATCH);
    /* Nothing limits: the largest batch, still 1 s apart. */
    sched_pacing_derive(INFINITY, 30, CFG_AUTO_VALUE, CFG_AUTO_VALUE, &p);
    assert_int_equal(p.max_batch, SCHED_AUTO_MAX_BATCH);
    /* Tiny capacity: never below the old default. */
    sched_pacing_derive(1, 30, CFG_AUTO_VALUE, CFG_AUTO_VALUE, &p);
    assert_int_equal(p.max_batch, 120); /* 100 rounded up to the chunk */
    /* max_batch_size set: the gap shrinks so it is not the bound. */
    sched_pacing_derive(5000, 100, 500, CFG_AUTO_VALUE, &p);
    assert_int_equal(p.max_batch, 500);
    assert_int_equal(p.delay_ns, 50 * NS_PER_MS); /* 500 / (2 x 5000) s */
    assert_true(sched_pacing_capacity(&p) >= 2 * 5000 - 1e-6);
    sched_pacing_derive(10, 100, 500, CFG_AUTO_VALUE, &p);
    assert_int_equal(p.delay_ns, NS_PER_S); /* never longer than 1 s */
    sched_pacing_derive(INFINITY, 100, 500, CFG_AUTO_VALUE, &p);
    assert_int_equal(p.delay_ns, 0);
    /* batch_delay_ms set: the batch grows with it. */
    sched_pacing_derive(5000, 100, CFG_AUTO_VALUE, 2 * NS_PER_S, &p);
    assert_int_equal(p.delay_ns, 2 * NS_PER_S);
    assert_int_equal(p.max_batch, 20000);
    sched_pacing_derive(500, 30, CFG_AUTO_VALUE, 0, &p); /* no gap: a quarter second's worth */
    assert_int_equal(p.max_batch, 270);                  /* 250 rounded up to the chunk */
    /* Both set: kept as given, the cap they are (the daemon warns). */
    sched_pacing_derive(5000, 100, 100, NS_PER_S, &p);
    assert_false(p.derived);
    assert_int_equal(p.max_batch, 100);
    assert_int_equal(p.delay_ns, NS_PER_S);
    assert_float_equal(sched_pacing_capacity(&p), 100, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(durations),
        cmocka_unit_test(keys),
        cmocka_unit_test(errors),
        cmocka_unit_test(pacing),
    };
    return cmocka_run_group_tests_name("scheduler_config", tests, NULL, NULL);
}
