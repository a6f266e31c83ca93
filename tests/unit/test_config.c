/* Config validation: every error names FILE:LINE and what was wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "tokencollector/plugin.h"

static char path[64];

static void write_ini(const char *text)
{
    snprintf(path, sizeof path, "/tmp/tc-test-config-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads TEXT, expects failure, and checks the message starts with
 * "PATH:LINE: " and contains NEEDLE. */
static void expect_error(const char *text, int line, const char *needle)
{
    write_ini(text);
    config cfg;
    char err[1024] = "";
    assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
    char prefix[128];
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", path);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, needle))
        fail_msg("got \"%s\", want prefix \"%s\" and \"%s\"", err, prefix, needle);
    unlink(path);
}

#define MINIMAL "[source a]\nplugin = a.so\n"

static void full_config_parses(void **state)
{
    (void)state;
    setenv("TC_TEST_KEY", "sekret", 1);
    write_ini("; comment\n[core]\nstore = sqlite:/tmp/x.db\nbatch_size = 500\n"
              "[limiter dex]\nrate = 300/min\nburst = 5\n"
              "[source dexscreener]\nplugin = dexscreener.so\nlimiter = dex\nchunk_size = 30\n"
              "api_key = ${TC_TEST_KEY}\nextra = ${TC_TEST_UNSET:-fallback}\n"
              "[merge]\nprice_usd = dexscreener\n");
    config cfg;
    char err[512];
    assert_int_equal(config_load(path, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.store, "sqlite:/tmp/x.db");
    assert_int_equal(cfg.batch_size, 500);
    assert_int_equal(cfg.n_limiters, 1);
    assert_true(cfg.limiters[0].rate_per_s > 4.999 && cfg.limiters[0].rate_per_s < 5.001);
    assert_true(cfg.limiters[0].burst == 5);
    assert_int_equal(cfg.n_sources, 1);
    assert_int_equal(cfg.sources[0].chunk_size, 30);
    assert_string_equal(cfg_source_get(&cfg.sources[0], "api_key"), "sekret");
    assert_string_equal(cfg_source_get(&cfg.sources[0], "extra"), "fallback");
    assert_int_equal(cfg_source_key_line(&cfg.sources[0], "chunk_size"), 11);
    assert_int_equal(cfg.merge[TC_PRICE_USD].n, 1);
    /* Defaults (config_merge.c) for fields [merge] did not set. */
    assert_int_equal(cfg.merge[TC_NAME].n, 3);
    assert_string_equal(cfg.merge[TC_NAME].sources[0], "helius");
    config_free(&cfg);
    unlink(path);
}

static void env_override_wins(void **state)
{
    (void)state;
    setenv("TC_SOURCE_MY_SRC_CHUNK_SIZE", "7", 1);
    setenv("TC_CORE_BATCH_SIZE", "9", 1);
    write_ini("[source my-src]\nplugin = a.so\nchunk_size = 30\n");
    config cfg;
    char err[512];
    assert_int_equal(config_load(path, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.sources[0].chunk_size, 7);
    assert_int_equal(cfg.batch_size, 9);
    config_free(&cfg);
    setenv("TC_SOURCE_MY_SRC_CHUNK_SIZE", "many", 1);
    config cfg2;
    assert_int_equal(config_load(path, &cfg2, err, sizeof err), -1);
    assert_non_null(strstr(err, "TC_SOURCE_MY_SRC_CHUNK_SIZE"));
    unsetenv("TC_SOURCE_MY_SRC_CHUNK_SIZE");
    unsetenv("TC_CORE_BATCH_SIZE");
    unlink(path);
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    expect_error("[core]\nbatch_size = 50\nbogus = 1\n" MINIMAL, 3, "unknown key \"bogus\"");
    expect_error("[core]\nbatch_size = fifty\n" MINIMAL, 2, "batch_size");
    /* The header's own line (inih could only name the first key's). */
    expect_error(MINIMAL "[weird]\nx = 1\n", 3, "unknown section [weird]");
    expect_error("[limiter l]\nrate = fast\n" MINIMAL, 2, "rate");
    expect_error("[limiter l]\nrate = 5/fortnight\n" MINIMAL, 2, "rate");
    expect_error("[limiter l]\nburst = 0\n" MINIMAL, 2, "burst");
    expect_error(MINIMAL "limiter = nope\n", 3, "no [limiter nope]");
    expect_error(MINIMAL "chunk_size = 0\n", 3, "chunk_size");
    expect_error(MINIMAL "enabled = maybe\n", 3, "enabled");
    expect_error(MINIMAL "base_url = ftp://x\n", 3, "base_url");
    expect_error(MINIMAL "api_key = ${TC_TEST_SURELY_UNSET}\n", 3, "TC_TEST_SURELY_UNSET is not set");
    expect_error("[source a]\nchunk_size = 3\n", 1, "needs a plugin");
    expect_error(MINIMAL "[merge]\nprice = a\n", 4, "unknown field \"price\"");
    expect_error(MINIMAL "[merge]\nprice_usd = nosuch\n", 4, "no [source nosuch]");
    expect_error("[core]\nthis line is not ini\n" MINIMAL, 2, "syntax error");
    expect_error("[core]\nstore = mysql://x\n" MINIMAL, 2, "store");
    expect_error("[source a]\nplugin = a.so\nenabled = false\n", 0, "every source is disabled");
    expect_error("[core]\n", 0, "no [source NAME] section");
    /* scope = cluster lives in PostgreSQL: with SQLite (the default store) the scope line. */
    expect_error("[limiter l]\nrate = 5/s\nscope = cluster\n" MINIMAL, 3, "scope = cluster needs a PostgreSQL store");
    expect_error("[limiter l]\nrate = 5/s\nscope = global\n" MINIMAL, 3, "scope: expected local or cluster");
    expect_error("[limiter l]\nrate = 5/s\ncluster_ahead = 0\n" MINIMAL, 3, "cluster_ahead");
}

static void rate_units(void **state)
{
    (void)state;
    double r;
    assert_int_equal(parse_rate("300/min", &r), 0);
    assert_true(r == 5.0);
    assert_int_equal(parse_rate("2/s", &r), 0);
    assert_true(r == 2.0);
    assert_int_equal(parse_rate("3600/h", &r), 0);
    assert_true(r == 1.0);
    assert_int_equal(parse_rate("0.5", &r), 0);
    assert_true(r == 0.5);
    assert_int_equal(parse_rate("-1/s", &r), -1);
    assert_int_equal(parse_rate("0/s", &r), -1);
    assert_int_equal(parse_rate("abc", &r), -1);
}

static void missing_file(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    assert_int_equal(config_load("/nonexistent/tc.ini", &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/tc.ini: cannot open"));
}

/* Loads TEXT with FLAGS, expects success. */
static void load_ok(const char *text, unsigned flags, config *cfg)
{
    write_ini(text);
    char err[1024];
    if (config_load_ex(path, cfg, flags, err, sizeof err) != 0)
        fail_msg("%s", err);
}

/* A key or a named section written twice is an error naming both lines,
 * instead of the second silently winning or merging. */
static void repeats_name_both_lines(void **state)
{
    (void)state;
    expect_error("[core]\nbatch_size = 5\nbatch_size = 6\n" MINIMAL, 3,
                 "[core] batch_size is set again (first at line 2)");
    expect_error("[source jupiter]\nplugin = jupiter.so\n[source dex]\nplugin = dexscreener.so\n"
                 "[source jupiter]\nplugin = dexscreener.so\n",
                 5, "[source jupiter] is defined again (first at line 1)");
    expect_error(MINIMAL "chunk_size = 3\nchunk_size = 4\n", 4, "chunk_size is set again (first at line 3)");
    expect_error("[limiter l]\nrate = 1/s\n[limiter l]\nburst = 2\n" MINIMAL, 3, "[limiter l] is defined again");
    /* Plain sections may be split; their keys still count once. */
    config cfg;
    load_ok("[core]\nbatch_size = 5\n" MINIMAL "[core]\nlease_seconds = 60\n", 0, &cfg);
    assert_int_equal(cfg.batch_size, 5);
    assert_int_equal(cfg.lease_seconds, 60);
    config_free(&cfg);
    unlink(path);
}

/* TC_SOURCE_<NAME>_<KEY> picks the longest section name that matches, so
 * names with '_' can be reached; an override naming no section is an error
 * that names the variable, not FILE:0. */
static void env_overrides_find_their_section(void **state)
{
    (void)state;
    config cfg;
    setenv("TC_SOURCE_JUPITER_BACKUP_CHUNK_SIZE", "7", 1);
    setenv("TC_SOURCE_JUPITER_CHUNK_SIZE", "9", 1);
    load_ok("[source jupiter]\nplugin = jupiter.so\n[source jupiter_backup]\nplugin = jupiter.so\n", 0, &cfg);
    assert_string_equal(cfg.sources[0].name, "jupiter");
    assert_int_equal(cfg.sources[0].chunk_size, 9);
    assert_int_equal(cfg.sources[1].chunk_size, 7);
    /* The origin of an overridden key is the variable. */
    char where[256];
    cfg_source_key_where(cfg.path, &cfg.sources[1], "chunk_size", where, sizeof where);
    assert_string_equal(where, "environment TC_SOURCE_JUPITER_BACKUP_CHUNK_SIZE: ");
    config_free(&cfg);
    unsetenv("TC_SOURCE_JUPITER_BACKUP_CHUNK_SIZE");
    unsetenv("TC_SOURCE_JUPITER_CHUNK_SIZE");

    setenv("TC_SOURCE_NOPE_CHUNK_SIZE", "3", 1);
    write_ini(MINIMAL);
    char err[1024];
    assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "environment TC_SOURCE_NOPE_CHUNK_SIZE: no [source NAME] section matches"));
    assert_non_null(strstr(err, "[source a] is TC_SOURCE_A_<KEY>"));
    unsetenv("TC_SOURCE_NOPE_CHUNK_SIZE");

    setenv("TC_CORE_BATCH_SIZE", "lots", 1);
    assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
    assert_true(strncmp(err, "environment TC_CORE_BATCH_SIZE: [core] batch_size: expected", 59) == 0);
    assert_null(strstr(err, ":0:"));
    unsetenv("TC_CORE_BATCH_SIZE");

    setenv("TC_SCHEDULER_MIN_INTERVAL", "30s", 1);
    setenv("TC_MERGE_PRICE_USD", "a", 1);
    load_ok(MINIMAL, 0, &cfg);
    assert_int_equal(cfg.sched.min_interval_ns, INT64_C(30000000000));
    assert_int_equal(cfg.merge[TC_PRICE_USD].n, 1);
    assert_string_equal(cfg.merge[TC_PRICE_USD].sources[0], "a");
    config_free(&cfg);
    unsetenv("TC_SCHEDULER_MIN_INTERVAL");
    unsetenv("TC_MERGE_PRICE_USD");
    unlink(path);
}

/* inih refused lines of 199 characters and more. */
static void long_lines_are_read(void **state)
{
    (void)state;
    char url[1200] = "http://127.0.0.1:1/";
    while (strlen(url) < 1000)
        strcat(url, "segment/");
    char text[1400];
    snprintf(text, sizeof text, MINIMAL "base_url = %s\n", url);
    config cfg;
    load_ok(text, 0, &cfg);
    assert_string_equal(cfg_source_get(&cfg.sources[0], "base_url"), url);
    config_free(&cfg);
    unlink(path);
}

/* migrate and import read only [core]: a source's unset ${VAR} and its
 * unchecked keys do not stop them, while [core] is still checked. */
static void store_only_ignores_sources(void **state)
{
    (void)state;
    const char *text = "[core]\nstore = sqlite:/tmp/x.db\n[source a]\nplugin = a.so\napi_key = ${TC_TEST_SURELY_UNSET}\n";
    config cfg;
    load_ok(text, CONFIG_STORE_ONLY, &cfg);
    assert_string_equal(cfg.store, "sqlite:/tmp/x.db");
    config_free(&cfg);
    expect_error(text, 5, "TC_TEST_SURELY_UNSET is not set");
    write_ini("[core]\nbatch_size = none\n[source a]\nplugin = a.so\n");
    char err[512];
    assert_int_equal(config_load_ex(path, &cfg, CONFIG_STORE_ONLY, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: [core] batch_size"));
    unlink(path);
}

/* [api]: defaults (no server), the listen address and every limit
 * checked with FILE:LINE, an environment override, and `serve`'s load
 * ([core] and [api] only, no source needed). */
static void api_section(void **state)
{
    (void)state;
    config cfg;
    load_ok(MINIMAL, 0, &cfg);
    assert_null(cfg.api.listen);
    assert_null(cfg.api.cors_origin);
    assert_int_equal(cfg.api.threads, 4);
    assert_int_equal(cfg.api.max_connections, 256);
    assert_int_equal(cfg.api.per_ip_connections, 64);
    assert_int_equal(cfg.api.max_body_bytes, 65536);
    assert_int_equal(cfg.api.sse_buffer_bytes, 262144);
    assert_true(cfg.api.sse_poll_ns == 250 * 1000000LL);
    assert_true(cfg.api.sse_heartbeat_ns == 15 * 1000000000LL);
    config_free(&cfg);
    load_ok(MINIMAL "[api]\nlisten = [::1]:0\nthreads = 2\nmax_connections = 10\nper_ip_connections = 0\n"
                    "connection_timeout_s = 5\nmax_body_bytes = 0\nmax_uri_bytes = 256\ncors_origin = *\n"
                    "gzip_min_bytes = 0\nsse_max_clients = 0\nsse_buffer_bytes = 4096\nsse_poll_ms = 10ms\n"
                    "sse_heartbeat_s = 1\nstore_wait_ms = 1\n",
            0, &cfg);
    assert_string_equal(cfg.api.listen, "[::1]:0");
    assert_string_equal(cfg.api.cors_origin, "*");
    assert_int_equal(cfg.api.threads, 2);
    assert_int_equal(cfg.api.per_ip_connections, 0);
    assert_true(cfg.api.sse_poll_ns == 10 * 1000000LL);
    config_free(&cfg);
    expect_error(MINIMAL "[api]\nlisten = 8080\n", 4, "[api] listen: expected HOST:PORT");
    expect_error(MINIMAL "[api]\nlisten = example.com:80\n", 4, "no name is looked up");
    expect_error(MINIMAL "[api]\nlisten = 127.0.0.1:99999\n", 4, "port: expected 0..65535");
    expect_error(MINIMAL "[api]\nthreads = 0\n", 4, "[api] threads: expected a whole number 1..256");
    expect_error(MINIMAL "[api]\nmax_connections = 100001\n", 4, "max_connections");
    expect_error(MINIMAL "[api]\nsse_buffer_bytes = 100\n", 4, "sse_buffer_bytes: expected a whole number 4096..");
    expect_error(MINIMAL "[api]\nsse_poll_ms = 0\n", 4, "sse_poll_ms: must be more than 0");
    expect_error(MINIMAL "[api]\ncors_origin = a, b\n", 4, "cors_origin: expected * or one origin");
    expect_error(MINIMAL "[api]\nport = 1\n", 4, "unknown key \"port\" (known: listen, threads");
    setenv("TC_API_LISTEN", "127.0.0.1:1234", 1);
    load_ok(MINIMAL, 0, &cfg);
    assert_string_equal(cfg.api.listen, "127.0.0.1:1234");
    config_free(&cfg);
    unsetenv("TC_API_LISTEN");
    /* serve: no source section needed, [api] read, the rest not. */
    load_ok("[core]\nstore = sqlite:/tmp/x.db\n[api]\nlisten = 127.0.0.1:0\n[source a]\napi_key = ${TC_TEST_SURELY_UNSET}\n",
            CONFIG_SERVE, &cfg);
    assert_string_equal(cfg.api.listen, "127.0.0.1:0");
    config_free(&cfg);
    write_ini("[core]\n[api]\nthreads = many\n");
    char err[512];
    assert_int_equal(config_load_ex(path, &cfg, CONFIG_SERVE, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3: [api] threads"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_config_parses),
        cmocka_unit_test(env_override_wins),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(rate_units),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(repeats_name_both_lines),
        cmocka_unit_test(env_overrides_find_their_section),
        cmocka_unit_test(long_lines_are_read),
        cmocka_unit_test(store_only_ignores_sources),
        cmocka_unit_test(api_section),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
