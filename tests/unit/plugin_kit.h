/*
 * cmocka glue for the bundled plugins' tests over the plugin test kit
 * (include/tokencollector/testkit.h): the plugin under test loaded once per
 * group, instances that fail the test when create() refuses, fixtures
 * from tests/fixtures/, and the kit's checks as cmocka assertions.
 *
 * Plugins come from $TC_PLUGIN_DIR (default build/plugins/), fixtures from
 * $TC_FIXTURE_DIR (default tests/fixtures/); tests run from the repository
 * root. Include after <cmocka.h>.
 */
#ifndef TC_PLUGIN_KIT_H
#define TC_PLUGIN_KIT_H

#include <stdio.h>
#include <stdlib.h>

#include "tokencollector/testkit.h"

/* A tc_kit_check_* (or any "NULL or message") as a cmocka assertion. */
#define KIT_ASSERT(check)                                                                                              \
    do {                                                                                                               \
        const char *kit_m_ = (check);                                                                                  \
        if (kit_m_)                                                                                                    \
            fail_msg("%s", kit_m_);                                                                                    \
    } while (0)
#define KIT_ASSERT_NUM(r, addr, f, want) KIT_ASSERT(tc_kit_check_num((r), (addr), (f), (want)))
#define KIT_ASSERT_STR(r, addr, f, want) KIT_ASSERT(tc_kit_check_str((r), (addr), (f), (want)))
#define KIT_ASSERT_UNSET(r, addr, f) KIT_ASSERT(tc_kit_check_unset((r), (addr), (f)))
#define KIT_ASSERT_LINK(r, addr, kind, label, url) KIT_ASSERT(tc_kit_check_link((r), (addr), (kind), (label), (url)))
#define KIT_ASSERT_EXTRA_NUM(r, addr, key, want) KIT_ASSERT(tc_kit_check_extra_num((r), (addr), (key), (want)))
#define KIT_ASSERT_EXTRA_BOOL(r, addr, key, want) KIT_ASSERT(tc_kit_check_extra_bool((r), (addr), (key), (want)))
#define KIT_ASSERT_EXTRA_STR(r, addr, key, want) KIT_ASSERT(tc_kit_check_extra_str((r), (addr), (key), (want)))
#define KIT_ASSERT_NO_EXTRA(r, addr, key) KIT_ASSERT(tc_kit_check_extra_unset((r), (addr), (key)))

/* NAME.so from $TC_PLUGIN_DIR (default build/plugins); NULL with ERR. */
static inline tc_kit_plugin *kit_load(const char *name, char *err, size_t errlen)
{
    char file[256];
    setenv("TC_PLUGIN_DIR", "build/plugins", 0);
    snprintf(file, sizeof file, "%s.so", name);
    return tc_kit_load(file, err, errlen);
}

/* The plugin a group tests: kit_run loads it before the first test. */
static tc_kit_plugin *kit_plugin;
static const char *kit_plugin_name;

static inline int kit_group_setup(void **state)
{
    (void)state;
    char err[512];
    kit_plugin = kit_load(kit_plugin_name, err, sizeof err);
    if (!kit_plugin)
        fprintf(stderr, "cannot load the %s plugin: %s\n", kit_plugin_name, err);
    return kit_plugin ? 0 : -1;
}

static inline int kit_group_teardown(void **state)
{
    (void)state;
    tc_kit_unload(kit_plugin);
    kit_plugin = NULL;
    return 0;
}

/* Runs the cmocka group TESTS as "plugin_NAME" against NAME.so. */
#define kit_run(name, tests)                                                                                           \
    (kit_plugin_name = (name),                                                                                         \
     cmocka_run_group_tests_name("plugin_" name, (tests), kit_group_setup, kit_group_teardown))

/* An instance of the group's plugin with KV (may be NULL); fails the test
 * when create() refuses. */
static inline tc_kit_instance *kit_make(const char *const *kv)
{
    char err[256];
    tc_kit_instance *in = tc_kit_create_kv(kit_plugin, kv, err, sizeof err);
    if (!in)
        fail_msg("create failed: %s", err);
    return in;
}

/* The path of fixture REL (under $TC_FIXTURE_DIR, default tests/fixtures). */
static inline const char *kit_fixture_path(const char *rel)
{
    static char path[1024];
    const char *dir = getenv("TC_FIXTURE_DIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/fixtures", rel);
    return path;
}

/* Fixture REL's contents (malloc'd), or NULL. */
static inline char *kit_fixture(const char *rel, size_t *len) { return tc_kit_read_file(kit_fixture_path(rel), len); }

/* parse_response on fixture REL as an application/json answer with STATUS. */
static inline tc_status kit_parse_fixture(tc_kit_instance *in, const char *const *addrs, size_t n, long status,
                                          const char *rel, tc_kit_result **out)
{
    return tc_kit_parse_file(in, addrs, n, status, TC_KIT_JSON, kit_fixture_path(rel), out);
}

/* parse_response on BODY[0..LEN) as an application/json answer with STATUS. */
static inline tc_status kit_parse(tc_kit_instance *in, const char *const *addrs, size_t n, long status,
                                  const char *body, size_t len, tc_kit_result **out)
{
    return tc_kit_parse(in, addrs, n, status, TC_KIT_JSON, body, len, out);
}

/* Every cut-off prefix of fixture REL is a clean TC_RETRY (tc_kit_prefix_sweep). */
static inline void kit_assert_prefixes_retry(tc_kit_instance *in, const char *const *addrs, size_t n, const char *rel)
{
    size_t len, first = 0;
    char *body = kit_fixture(rel, &len);
    assert_non_null(body);
    size_t bad = tc_kit_prefix_sweep(in, addrs, n, body, len, &first);
    free(body);
    if (bad)
        fail_msg("%s: %zu prefixes misbehaved, first at length %zu", rel, bad, first);
}

/* ITERATIONS damaged copies of fixture REL show no problem (tc_kit_fuzz);
 * COUNTS (may be NULL) gets how often each status came back. */
static inline void kit_assert_fuzz_clean(tc_kit_instance *in, const char *const *addrs, size_t n, const char *rel,
                                         unsigned seed, int iterations, size_t counts[3])
{
    size_t len;
    char *body = kit_fixture(rel, &len);
    assert_non_null(body);
    size_t problems = tc_kit_fuzz(in, addrs, n, body, len, seed, iterations, counts);
    free(body);
    assert_int_equal(problems, 0);
}

#endif
