/* ABI-level checks across every bundled plugin (loaded with dlopen like the
 * host does), the harness's own descriptor check, and the template plugin. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_harness.h"

#define SOL "So11111111111111111111111111111111111111112"
#define USDC "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
#define JUP "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
#define MISSING "MissingToken11111111111111111111111111111111"

static const struct {
    const char *name;
    size_t max_chunk;
} bundled[] = {{"jupiter", 100}, {"helius", 1000}, {"dexscreener", 30}, {"template", 50}};
#define NBUNDLED (sizeof bundled / sizeof bundled[0])

static void test_every_plugin_loads(void **state) {
    (void)state;
    for (size_t i = 0; i < NBUNDLED; i++) {
        ph_plugin p;
        char err[512];
        if (ph_plugin_load(&p, bundled[i].name, err, sizeof err) != 0) fail_msg("%s", err);
        const tc_source *s = p.src;
        assert_int_equal(s->abi_major, TC_ABI_MAJOR);
        assert_int_equal(s->abi_minor, TC_ABI_MINOR);
        assert_int_equal(s->struct_size, sizeof(tc_source));
        assert_string_equal(s->name, bundled[i].name);
        assert_int_equal(s->max_chunk, bundled[i].max_chunk);
        assert_true(strlen(s->version) > 0 && strlen(s->description) > 0);
        for (const char *const *k = s->config_keys; k && *k; k++)
            assert_true(strcmp(*k, "base_url") != 0 && strcmp(*k, "api_key") != 0);
        s->destroy(NULL); /* harmless */
        ph_plugin_unload(&p);
    }
}

static void test_harness_abi_check(void **state) {
    (void)state;
    ph_plugin p;
    char err[512];
    assert_int_equal(ph_plugin_load(&p, "jupiter", err, sizeof err), 0);
    tc_source copy = *p.src;
    assert_int_equal(ph_abi_check(&copy, err, sizeof err), 0);

    copy.abi_major = TC_ABI_MAJOR + 1;
    assert_int_not_equal(ph_abi_check(&copy, err, sizeof err), 0);
    char want[64];
    snprintf(want, sizeof want, "plugin ABI %d.%d, host ABI %d.%d", TC_ABI_MAJOR + 1, TC_ABI_MINOR, TC_ABI_MAJOR,
             TC_ABI_MINOR);
    assert_non_null(strstr(err, want));
    copy = *p.src;
    copy.struct_size = (uint32_t)offsetof(tc_source, parse_response);
    assert_int_not_equal(ph_abi_check(&copy, err, sizeof err), 0);
    copy = *p.src;
    copy.max_chunk = 0;
    assert_int_not_equal(ph_abi_check(&copy, err, sizeof err), 0);
    copy = *p.src;
    copy.parse_response = NULL;
    assert_int_not_equal(ph_abi_check(&copy, err, sizeof err), 0);
    assert_int_not_equal(ph_abi_check(NULL, err, sizeof err), 0);
    ph_plugin_unload(&p);

    assert_int_not_equal(ph_plugin_load(&p, "no_such_plugin", err, sizeof err), 0);
    assert_non_null(strstr(err, "no_such_plugin.so"));
}

static void test_old_host_is_refused(void **state) {
    (void)state;
    /* the bundled plugins use request_body: a host struct without it is refused */
    for (size_t i = 0; i < 3; i++) {
        ph_plugin p;
        char err[512];
        assert_int_equal(ph_plugin_load(&p, bundled[i].name, err, sizeof err), 0);
        ph_instance *in = ph_create(&p, NULL, err, sizeof err);
        assert_non_null(in);
        void *self = NULL;
        tc_host old = in->host;
        old.struct_size = (uint32_t)offsetof(tc_host, request_body);
        assert_int_not_equal(p.src->create(&old, NULL, &self, err, sizeof err), 0);
        assert_non_null(strstr(err, "host"));
        ph_destroy(in);
        ph_plugin_unload(&p);
    }
}

static void test_reload_and_many_instances(void **state) {
    (void)state;
    for (int round = 0; round < 3; round++) {
        ph_plugin a, b;
        char err[512];
        assert_int_equal(ph_plugin_load(&a, "dexscreener", err, sizeof err), 0);
        assert_int_equal(ph_plugin_load(&b, "dexscreener", err, sizeof err), 0);
        const char *const kv1[] = {"chain", "solana", NULL}, *const kv2[] = {"chain", "base", NULL};
        ph_instance *x = ph_create(&a, kv1, err, sizeof err), *y = ph_create(&b, kv2, err, sizeof err);
        assert_non_null(x);
        assert_non_null(y);
        ph_request rx, ry;
        const char *const one[] = {SOL};
        assert_int_equal(ph_build(x, one, 1, &rx), 0);
        assert_int_equal(ph_build(y, one, 1, &ry), 0);
        assert_non_null(strstr(rx.url, "/tokens/v1/solana/"));
        assert_non_null(strstr(ry.url, "/tokens/v1/base/"));
        ph_request_free(&rx);
        ph_request_free(&ry);
        ph_destroy(x);
        ph_plugin_unload(&a); /* b still holds a reference: y keeps working */
        assert_int_equal(ph_build(y, one, 1, &ry), 0);
        ph_request_free(&ry);
        ph_destroy(y);
        ph_plugin_unload(&b);
    }
}

static void test_template_plugin(void **state) {
    (void)state;
    ph_plugin p;
    char err[512];
    assert_int_equal(ph_plugin_load(&p, "template", err, sizeof err), 0);
    assert_null(ph_create(&p, NULL, err, sizeof err));
    assert_string_equal(err, "base_url is required");

    const char *const kv[] = {"base_url", "http://127.0.0.1:9/api/", NULL};
    ph_instance *in = ph_create(&p, kv, err, sizeof err);
    assert_non_null(in);
    const char *const addrs[] = {SOL, USDC, JUP, MISSING};
    ph_request r;
    assert_int_equal(ph_build(in, addrs, 2, &r), 0);
    assert_int_equal(r.method, TC_GET);
    assert_string_equal(r.url, "http://127.0.0.1:9/api/prices?ids=" SOL "," USDC);
    ph_request_free(&r);

    ph_collect c;
    tc_outcome o;
    assert_int_equal(ph_parse_fixture(in, addrs, 4, 200, "template/prices.json", &c, &o), TC_OK);
    assert_int_equal(c.rejected, 0);
    PH_ASSERT_NUM(&c, SOL, TC_PRICE_USD, 145.25);
    PH_ASSERT_NUM(&c, JUP, TC_PRICE_USD, 0.4754431);
    assert_true(ph_tok(&c, USDC)->known); /* listed, price null: known, no price */
    PH_ASSERT_UNSET(&c, USDC, TC_PRICE_USD);
    assert_false(ph_tok(&c, MISSING)->known);
    ph_collect_free(&c);

    assert_int_equal(ph_parse(in, addrs, 4, 200, "[]", 2, &c, &o), TC_FATAL);
    ph_collect_free(&c);
    assert_int_equal(ph_parse(in, addrs, 4, 200, "{\"a\":", 5, &c, &o), TC_RETRY);
    assert_true(ph_empty(&c));
    ph_collect_free(&c);
    /* the host retries 5xx itself and never passes one on: one that gets here is fatal */
    assert_int_equal(ph_parse(in, addrs, 4, 502, "bad gateway", 11, &c, &o), TC_FATAL);
    assert_string_equal(o.message, "HTTP 502: bad gateway");
    ph_collect_free(&c);
    ph_destroy(in);
    ph_plugin_unload(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_plugin_loads),
        cmocka_unit_test(test_harness_abi_check),
        cmocka_unit_test(test_old_host_is_refused),
        cmocka_unit_test(test_reload_and_many_instances),
        cmocka_unit_test(test_template_plugin),
    };
    return cmocka_run_group_tests_name("plugin_abi", tests, NULL, NULL);
}
