/*
 * Unit test of the template plugin, written against the tokencollector test
 * kit (tokencollector/testkit.h, libtokencollector-testkit.a): it loads
 * template.so with dlopen as the host does, gives it a fake host, and checks
 * the request it builds and what it makes of recorded answers. No network,
 * no test framework: TC_KIT_EXPECT prints FILE:LINE of every failed check
 * and main() returns 1 when one failed.
 *
 * Run it where template.so is (or set TC_PLUGIN_DIR), from the directory
 * that holds test/ (CONTRIBUTING.md, "Testing a plugin").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokencollector/testkit.h>

#ifndef FIXTURES
#define FIXTURES "test" /* the recorded answers, relative to where the test runs */
#endif

#define SOL "So11111111111111111111111111111111111111112"
#define USDC "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
#define JUP "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
#define MISSING "MissingToken11111111111111111111111111111111"

static const char *const chunk[] = {SOL, USDC, JUP, MISSING};
#define NCHUNK (sizeof chunk / sizeof chunk[0])

static void test_settings(tc_kit_plugin *p)
{
    char err[256];
    TC_KIT_EXPECT(tc_kit_create(p, NULL, err, sizeof err) == NULL); /* base_url is required */
    TC_KIT_EXPECT_STR(err, "base_url is required");
}

static void test_request(tc_kit_instance *in)
{
    tc_kit_request *r;
    TC_KIT_EXPECT(tc_kit_build(in, chunk, 2, &r) == 0);
    TC_KIT_EXPECT(r->method == TC_GET);
    TC_KIT_EXPECT_STR(r->url, "http://127.0.0.1:9/api/prices?ids=" SOL "," USDC);
    TC_KIT_EXPECT(r->nheaders == 0 && r->body == NULL);
    TC_KIT_EXPECT(r->refused == 0); /* no builder call the host would refuse */
    tc_kit_request_free(r);
}

static void test_recorded_answer(tc_kit_instance *in)
{
    tc_kit_result *r;
    TC_KIT_EXPECT(tc_kit_parse_file(in, chunk, NCHUNK, 200, TC_KIT_JSON, FIXTURES "/prices.json", &r) == TC_OK);
    TC_KIT_EXPECT(r->refused == 0);            /* nothing a host would refuse */
    TC_KIT_EXPECT(tc_kit_duplicates(r) == 0); /* no field set twice */
    TC_KIT_CHECK(tc_kit_check_num(r, SOL, TC_PRICE_USD, 145.25));
    TC_KIT_CHECK(tc_kit_check_num(r, JUP, TC_PRICE_USD, 0.4754431));
    TC_KIT_EXPECT(tc_kit_known(r, USDC)); /* listed with "price": null: known, no price */
    TC_KIT_CHECK(tc_kit_check_unset(r, USDC, TC_PRICE_USD)); /* unknown is not 0 */
    TC_KIT_EXPECT(!tc_kit_known(r, MISSING)); /* left out: not known to this source */
    tc_kit_result_free(r);
}

static void test_errors(tc_kit_instance *in)
{
    tc_kit_result *r;
    TC_KIT_EXPECT(tc_kit_parse(in, chunk, NCHUNK, 200, TC_KIT_JSON, "[]", 2, &r) == TC_FATAL); /* wrong shape */
    tc_kit_result_free(r);
    TC_KIT_EXPECT(tc_kit_parse(in, chunk, NCHUNK, 200, TC_KIT_JSON, "{\"a\":", 5, &r) == TC_RETRY);
    TC_KIT_EXPECT(tc_kit_empty(r));
    tc_kit_result_free(r);
    TC_KIT_EXPECT(tc_kit_parse(in, chunk, NCHUNK, 401, "text/plain", "no key", 6, &r) == TC_FATAL);
    TC_KIT_EXPECT_STR(r->outcome->message, "HTTP 401: no key");
    tc_kit_result_free(r);
    /* the host retries 5xx itself and never passes one on: one that gets here is fatal */
    TC_KIT_EXPECT(tc_kit_parse(in, chunk, NCHUNK, 502, NULL, "bad gateway", 11, &r) == TC_FATAL);
    TC_KIT_EXPECT_STR(r->outcome->message, "HTTP 502: bad gateway");
    tc_kit_result_free(r);
}

static void test_damaged_answers(tc_kit_instance *in)
{
    size_t len, first = 0;
    char *body = tc_kit_read_file(FIXTURES "/prices.json", &len);
    TC_KIT_EXPECT(body != NULL);
    if (!body)
        return;
    /* every cut-off body: TC_RETRY and nothing emitted */
    size_t bad = tc_kit_prefix_sweep(in, chunk, NCHUNK, body, len, &first);
    if (!TC_KIT_EXPECT(bad == 0))
        fprintf(stderr, "%zu prefixes misbehaved, the first at length %zu\n", bad, first);
    /* random damage: no crash, nothing a host would refuse */
    TC_KIT_EXPECT(tc_kit_fuzz(in, chunk, NCHUNK, body, len, 1u, 400, NULL) == 0);
    free(body);
}

int main(void)
{
    char err[512];
    tc_kit_plugin *p = tc_kit_load("template.so", err, sizeof err); /* ./ or $TC_PLUGIN_DIR/ */
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    test_settings(p);
    tc_kit_instance *in = tc_kit_create(p, "base_url = http://127.0.0.1:9/api/\n", err, sizeof err);
    if (!TC_KIT_EXPECT(in != NULL)) {
        fprintf(stderr, "create: %s\n", err);
        tc_kit_unload(p);
        return 1;
    }
    test_request(in);
    test_recorded_answer(in);
    test_errors(in);
    test_damaged_answers(in);
    tc_kit_destroy(in);
    tc_kit_unload(p);
    printf("test_template: %u checks passed, %u failed\n", tc_kit_passes(), tc_kit_failures());
    return tc_kit_failures() != 0;
}
