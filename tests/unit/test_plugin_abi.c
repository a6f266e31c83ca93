/* ABI-level checks across every bundled plugin (loaded with dlopen like the
 * host does, through the test kit) and the kit's own descriptor check. The
 * template plugin's own test is plugins/template/test/test_template.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_kit.h"

#define SOL "So11111111111111111111111111111111111111112"

static const struct {
    const char *name;
    size_t max_chunk;
} bundled[] = {{"jupiter", 100}, {"helius", 1000}, {"dexscreener", 30}, {"template", 50}};
#define NBUNDLED (sizeof bundled / sizeof bundled[0])

static void test_every_plugin_loads(void **state) {
    (void)state;
    for (size_t i = 0; i < NBUNDLED; i++) {
        char err[512];
        tc_kit_plugin *p = kit_load(bundled[i].name, err, sizeof err);
        if (!p) fail_msg("%s", err);
        const tc_source *s = tc_kit_source(p);
        assert_int_equal(s->abi_major, TC_ABI_MAJOR);
        assert_int_equal(s->abi_minor, TC_ABI_MINOR);
        assert_int_equal(s->struct_size, sizeof(tc_source));
        assert_string_equal(s->name, bundled[i].name);
        assert_int_equal(s->max_chunk, bundled[i].max_chunk);
        assert_true(strlen(s->version) > 0 && strlen(s->description) > 0);
        for (const char *const *k = s->config_keys; k && *k; k++)
            assert_true(strcmp(*k, "base_url") != 0 && strcmp(*k, "api_key") != 0);
        s->destroy(NULL); /* harmless */
        tc_kit_unload(p);
    }
}

static void test_kit_source_check(void **state) {
    (void)state;
    char err[512];
    tc_kit_plugin *p = kit_load("jupiter", err, sizeof err);
    assert_non_null(p);
    tc_source copy = *tc_kit_source(p);
    assert_int_equal(tc_kit_check_source(&copy, err, sizeof err), 0);

    copy.abi_major = TC_ABI_MAJOR + 1;
    assert_int_not_equal(tc_kit_check_source(&copy, err, sizeof err), 0);
    char want[64];
    snprintf(want, sizeof want, "plugin ABI %d.%d, this host speaks ABI %d.%d", TC_ABI_MAJOR + 1, TC_ABI_MINOR, TC_ABI_MAJOR,
             TC_ABI_MINOR);
    assert_non_null(strstr(err, want));
    copy = *tc_kit_source(p);
    copy.struct_size = (uint32_t)offsetof(tc_source, parse_response);
    assert_int_not_equal(tc_kit_check_source(&copy, err, sizeof err), 0);
    copy = *tc_kit_source(p);
    copy.max_chunk = 0;
    assert_int_not_equal(tc_kit_check_source(&copy, err, sizeof err), 0);
    copy = *tc_kit_source(p);
    copy.parse_response = NULL;
    assert_int_not_equal(tc_kit_check_source(&copy, err, sizeof err), 0);
    assert_int_not_equal(tc_kit_check_source(NULL, err, sizeof err), 0);
    tc_kit_unload(p);

    assert_null(kit_load("no_such_plugin", err, sizeof err));
    assert_non_null(strstr(err, "no_such_plugin.so"));
}

static void test_old_host_is_refused(void **state) {
    (void)state;
    /* the bundled plugins use request_body: a host struct without it is refused */
    for (size_t i = 0; i < 3; i++) {
        char err[512];
        tc_kit_plugin *p = kit_load(bundled[i].name, err, sizeof err);
        assert_non_null(p);
        tc_kit_instance *in = tc_kit_create_kv(p, NULL, err, sizeof err);
        assert_non_null(in);
        void *self = NULL;
        tc_host old = *tc_kit_host(in);
        old.struct_size = (uint32_t)offsetof(tc_host, request_body);
        assert_int_not_equal(tc_kit_source(p)->create(&old, NULL, &self, err, sizeof err), 0);
        assert_non_null(strstr(err, "host"));
        tc_kit_destroy(in);
        tc_kit_unload(p);
    }
}

static void test_reload_and_many_instances(void **state) {
    (void)state;
    for (int round = 0; round < 3; round++) {
        char err[512];
        tc_kit_plugin *a = kit_load("dexscreener", err, sizeof err), *b = kit_load("dexscreener", err, sizeof err);
        assert_non_null(a);
        assert_non_null(b);
        const char *const kv1[] = {"chain", "solana", NULL}, *const kv2[] = {"chain", "base", NULL};
        tc_kit_instance *x = tc_kit_create_kv(a, kv1, err, sizeof err), *y = tc_kit_create_kv(b, kv2, err, sizeof err);
        assert_non_null(x);
        assert_non_null(y);
        tc_kit_request *rx, *ry;
        const char *const one[] = {SOL};
        assert_int_equal(tc_kit_build(x, one, 1, &rx), 0);
        assert_int_equal(tc_kit_build(y, one, 1, &ry), 0);
        assert_non_null(strstr(rx->url, "/tokens/v1/solana/"));
        assert_non_null(strstr(ry->url, "/tokens/v1/base/"));
        tc_kit_request_free(rx);
        tc_kit_request_free(ry);
        tc_kit_destroy(x);
        tc_kit_unload(a); /* b still holds a reference: y keeps working */
        assert_int_equal(tc_kit_build(y, one, 1, &ry), 0);
        tc_kit_request_free(ry);
        tc_kit_destroy(y);
        tc_kit_unload(b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_plugin_loads),
        cmocka_unit_test(test_kit_source_check),
        cmocka_unit_test(test_old_host_is_refused),
        cmocka_unit_test(test_reload_and_many_instances),
    };
    return cmocka_run_group_tests_name("plugin_abi", tests, NULL, NULL);
}
