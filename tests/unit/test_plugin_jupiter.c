/* Jupiter plugin: request building and parsing of recorded-shape responses,
 * through the real jupiter.so (dlopen). */
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
#define USDC "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
#define JUP "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
#define POPCAT "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
#define MISSING "MissingToken11111111111111111111111111111111"
#define NULLS "NuLLFieLdsToken1111111111111111111111111pump"
#define ZERODEC "ZeroDecimaLsToken111111111111111111111111111"

/* The chunk the batch fixture answers; POPCAT is in the response but not here. */
static const char *const batch[] = {SOL, USDC, JUP, MISSING, NULLS, ZERODEC};
#define NBATCH (sizeof batch / sizeof batch[0])

static void test_descriptor(void **state) {
    (void)state;
    const tc_source *s = tc_kit_source(kit_plugin);
    assert_int_equal(s->abi_major, TC_ABI_MAJOR);
    assert_true(s->struct_size >= offsetof(tc_source, parse_response) + sizeof s->parse_response);
    assert_string_equal(s->name, "jupiter");
    assert_int_equal(s->max_chunk, 100);
    assert_null(s->config_keys);
}

static void test_request_default_keyless(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_request *r;
    const char *const addrs[] = {SOL, USDC, JUP};
    assert_int_equal(tc_kit_build(in, addrs, 3, &r), 0);
    assert_int_equal(r->method, TC_GET);
    assert_string_equal(r->url, "https://api.jup.ag/tokens/v2/search?query=" SOL "," USDC "," JUP);
    assert_int_equal(r->nheaders, 0);
    assert_null(tc_kit_header_value(r, "x-api-key"));
    assert_int_equal(r->body_calls, 0);
    assert_int_equal(r->refused, 0);
    tc_kit_request_free(r);
    tc_kit_destroy(in);

    /* an empty api_key is keyless too */
    const char *const kv[] = {"api_key", "", NULL};
    in = kit_make(kv);
    assert_int_equal(tc_kit_build(in, addrs, 1, &r), 0);
    assert_string_equal(r->url, "https://api.jup.ag/tokens/v2/search?query=" SOL);
    assert_int_equal(r->nheaders, 0);
    tc_kit_request_free(r);
    tc_kit_destroy(in);
}

static void test_request_with_key_and_base(void **state) {
    (void)state;
    const char *const kv[] = {"base_url", "http://127.0.0.1:18080//", "api_key", "k-123_secret", NULL};
    tc_kit_instance *in = kit_make(kv);
    tc_kit_request *r;
    const char *const addrs[] = {USDC, SOL};
    assert_int_equal(tc_kit_build(in, addrs, 2, &r), 0);
    assert_string_equal(r->url, "http://127.0.0.1:18080/tokens/v2/search?query=" USDC "," SOL);
    assert_int_equal(r->nheaders, 1);
    assert_string_equal(tc_kit_header_value(r, "x-api-key"), "k-123_secret");
    tc_kit_request_free(r);
    tc_kit_destroy(in);
}

static void test_request_encoding_and_limits(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_request *r;
    const char *const odd[] = {"a b&c=d", "x,y#z"};
    assert_int_equal(tc_kit_build(in, odd, 2, &r), 0);
    assert_string_equal(r->url, "https://api.jup.ag/tokens/v2/search?query=a%20b%26c%3Dd,x%2Cy%23z");
    tc_kit_request_free(r);

    const char *many[101];
    for (size_t i = 0; i < 101; i++) many[i] = SOL;
    assert_int_equal(tc_kit_build(in, many, 100, &r), 0);
    size_t commas = 0;
    for (const char *p = r->url; *p; p++) commas += *p == ',';
    assert_int_equal(commas, 99);
    tc_kit_request_free(r);
    assert_int_not_equal(tc_kit_build(in, many, 101, &r), 0);
    tc_kit_request_free(r);
    assert_int_not_equal(tc_kit_build(in, many, 0, &r), 0);
    tc_kit_request_free(r);
    const char *const withnull[] = {SOL, NULL};
    assert_int_not_equal(tc_kit_build(in, withnull, 2, &r), 0);
    tc_kit_request_free(r);
    tc_kit_destroy(in);
}

static void test_create_rejects_bad_settings(void **state) {
    (void)state;
    char err[256];
    const char *const bad1[] = {"base_url", "ftp://api.jup.ag", NULL};
    assert_null(tc_kit_create_kv(kit_plugin, bad1, err, sizeof err));
    assert_non_null(strstr(err, "base_url"));
    const char *const bad2[] = {"base_url", "https://", NULL};
    assert_null(tc_kit_create_kv(kit_plugin, bad2, err, sizeof err));
    const char *const bad3[] = {"base_url", "https://api.jup.ag/x?y=1", NULL};
    assert_null(tc_kit_create_kv(kit_plugin, bad3, err, sizeof err));
    const char *const bad4[] = {"api_key", "abc\r\nX-Evil: 1", NULL};
    assert_null(tc_kit_create_kv(kit_plugin, bad4, err, sizeof err));
    assert_non_null(strstr(err, "api_key"));
    assert_null(strstr(err, "abc")); /* secrets are not echoed */
}

static void test_parse_batch(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "jupiter/search_batch.json", &c), TC_OK);
    assert_int_equal(c->refused, 0); /* POPCAT (not requested) was not emitted */
    assert_int_equal(tc_kit_duplicates(c), 0);

    /* Wrapped SOL: everything present */
    assert_true(tc_kit_known(c, SOL));
    KIT_ASSERT_STR(c, SOL, TC_NAME, "Wrapped SOL");
    KIT_ASSERT_STR(c, SOL, TC_SYMBOL, "SOL");
    KIT_ASSERT_STR(c, SOL, TC_IMAGE_URL,
                  "https://raw.githubusercontent.com/solana-labs/token-list/main/assets/mainnet/"
                  "So11111111111111111111111111111111111111112/logo.png");
    KIT_ASSERT_NUM(c, SOL, TC_DECIMALS, 9);
    KIT_ASSERT_NUM(c, SOL, TC_PRICE_USD, 145.47114211747515);
    KIT_ASSERT_NUM(c, SOL, TC_MARKET_CAP, 77275352037.79674);
    KIT_ASSERT_NUM(c, SOL, TC_FDV, 87824499429.22047);
    KIT_ASSERT_NUM(c, SOL, TC_LIQUIDITY_USD, 89970631.83880953);
    KIT_ASSERT_NUM(c, SOL, TC_VOLUME_24H, 1523367051.2 + 1522118720.5); /* stats24h, not 5m/1h */
    KIT_ASSERT_NUM(c, SOL, TC_CHANGE_24H, 0.1683);
    KIT_ASSERT_UNSET(c, SOL, TC_SUPPLY); /* totalSupply is a UI amount */
    KIT_ASSERT_UNSET(c, SOL, TC_DESCRIPTION);
    assert_int_equal(tc_kit_nfields(c, SOL), 10);
    assert_int_equal(tc_kit_nlinks(c, SOL), 0);

    /* JUP: links; telegram null is skipped */
    KIT_ASSERT_STR(c, JUP, TC_NAME, "Jupiter");
    KIT_ASSERT_NUM(c, JUP, TC_VOLUME_24H, 29364827.21 + 31040318.37);
    KIT_ASSERT_NUM(c, JUP, TC_CHANGE_24H, -2.8751);
    assert_int_equal(tc_kit_nlinks(c, JUP), 3);
    KIT_ASSERT_LINK(c, JUP, TC_LINK_WEBSITE, "website", "https://jup.ag");
    KIT_ASSERT_LINK(c, JUP, TC_LINK_SOCIAL, "twitter", "https://twitter.com/JupiterExchange");
    KIT_ASSERT_LINK(c, JUP, TC_LINK_SOCIAL, "discord", "https://discord.gg/jup");
    assert_null(tc_kit_link_url(c, JUP, TC_LINK_SOCIAL, "telegram"));

    /* USDC: priceChange null -> no change, volume still there */
    KIT_ASSERT_NUM(c, USDC, TC_VOLUME_24H, 987654321.25 + 876543210.5);
    KIT_ASSERT_UNSET(c, USDC, TC_CHANGE_24H);
    KIT_ASSERT_NUM(c, USDC, TC_PRICE_USD, 0.9999029);
    KIT_ASSERT_LINK(c, USDC, TC_LINK_WEBSITE, "website", "https://www.circle.com/en/usdc");
    KIT_ASSERT_LINK(c, USDC, TC_LINK_SOCIAL, "twitter", "https://twitter.com/circle");

    /* null / absent fields are not emitted, never as 0 */
    KIT_ASSERT_STR(c, NULLS, TC_NAME, "Null Fields Token");
    KIT_ASSERT_STR(c, NULLS, TC_SYMBOL, "NULLS");
    KIT_ASSERT_NUM(c, NULLS, TC_DECIMALS, 6);
    KIT_ASSERT_NUM(c, NULLS, TC_LIQUIDITY_USD, 1234.5);
    KIT_ASSERT_UNSET(c, NULLS, TC_IMAGE_URL);
    KIT_ASSERT_UNSET(c, NULLS, TC_PRICE_USD);
    KIT_ASSERT_UNSET(c, NULLS, TC_MARKET_CAP);
    KIT_ASSERT_UNSET(c, NULLS, TC_FDV);
    KIT_ASSERT_UNSET(c, NULLS, TC_VOLUME_24H);
    KIT_ASSERT_UNSET(c, NULLS, TC_CHANGE_24H);
    assert_int_equal(tc_kit_nfields(c, NULLS), 4);
    assert_int_equal(tc_kit_nlinks(c, NULLS), 0); /* twitter null, website "" */

    /* decimals 0 and liquidity 0 are real values; sellVolume null -> no volume */
    KIT_ASSERT_NUM(c, ZERODEC, TC_DECIMALS, 0);
    KIT_ASSERT_NUM(c, ZERODEC, TC_LIQUIDITY_USD, 0);
    KIT_ASSERT_NUM(c, ZERODEC, TC_PRICE_USD, 0.00001234);
    KIT_ASSERT_NUM(c, ZERODEC, TC_CHANGE_24H, -3.25);
    KIT_ASSERT_UNSET(c, ZERODEC, TC_VOLUME_24H);
    KIT_ASSERT_LINK(c, ZERODEC, TC_LINK_SOCIAL, "telegram", "https://t.me/zerodecimals");

    /* the requested mint Jupiter left out gets nothing */
    assert_false(tc_kit_known(c, MISSING));
    assert_int_equal(tc_kit_nfields(c, MISSING), 0);
    assert_int_equal(tc_kit_nlinks(c, MISSING), 0);
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

/* What the answer carries beyond the fields, as extras (ABI 1.1). */
static void test_parse_extras(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "jupiter/search_batch.json", &c), TC_OK);
    assert_int_equal(c->refused, 0);
    assert_int_equal(tc_kit_duplicates(c), 0); /* no extra set twice either */

    KIT_ASSERT_EXTRA_NUM(c, JUP, "holder_count", 817364);
    KIT_ASSERT_EXTRA_NUM(c, JUP, "organic_score", 97.36);
    KIT_ASSERT_EXTRA_BOOL(c, JUP, "is_verified", 1);
    KIT_ASSERT_EXTRA_NUM(c, JUP, "top_holders_pct", 50.9211283612386);
    KIT_ASSERT_EXTRA_BOOL(c, JUP, "mint_authority_disabled", 1);
    KIT_ASSERT_EXTRA_BOOL(c, JUP, "freeze_authority_disabled", 1);
    KIT_ASSERT_EXTRA_STR(c, JUP, "first_pool", "FksffEqnBRixYGR791Qw2MgdU7zNCpHVFYBL4Fa4qVuH");
    assert_int_equal(tc_kit_nextras(c, JUP), 7);
    KIT_ASSERT_EXTRA_NUM(c, SOL, "holder_count", 2342610);
    KIT_ASSERT_EXTRA_NUM(c, SOL, "top_holders_pct", 1.2422471238911812);
    KIT_ASSERT_EXTRA_STR(c, SOL, "first_pool", "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2");

    /* false is a value; a pool that is not sent is none */
    KIT_ASSERT_EXTRA_BOOL(c, USDC, "mint_authority_disabled", 0);
    KIT_ASSERT_EXTRA_BOOL(c, USDC, "freeze_authority_disabled", 0);
    KIT_ASSERT_EXTRA_NUM(c, USDC, "top_holders_pct", 24.31);
    KIT_ASSERT_NO_EXTRA(c, USDC, "first_pool");

    /* null holderCount / isVerified / audit / firstPool: nothing; organicScore 0 is a value */
    KIT_ASSERT_EXTRA_NUM(c, NULLS, "organic_score", 0);
    assert_int_equal(tc_kit_nextras(c, NULLS), 1);

    /* no audit object at all */
    KIT_ASSERT_EXTRA_NUM(c, ZERODEC, "holder_count", 12);
    KIT_ASSERT_EXTRA_NUM(c, ZERODEC, "organic_score", 3.1);
    KIT_ASSERT_EXTRA_BOOL(c, ZERODEC, "is_verified", 0);
    KIT_ASSERT_NO_EXTRA(c, ZERODEC, "top_holders_pct");
    KIT_ASSERT_NO_EXTRA(c, ZERODEC, "mint_authority_disabled");
    assert_int_equal(tc_kit_nextras(c, ZERODEC), 3);
    assert_int_equal(tc_kit_nextras(c, MISSING), 0);
    size_t fields_jup = tc_kit_nfields(c, JUP);
    tc_kit_result_free(c);

    /* wrong types are not coerced */
    const char *const one[] = {SOL};
    const char *body = "[{\"id\":\"" SOL "\",\"holderCount\":\"12\",\"organicScore\":null,\"isVerified\":1,"
                       "\"audit\":[true],\"firstPool\":{\"id\":7}}]";
    assert_int_equal(kit_parse(in, one, 1, 200, body, strlen(body), &c), TC_OK);
    assert_true(tc_kit_known(c, SOL));
    assert_int_equal(tc_kit_nextras(c, SOL), 0);
    tc_kit_result_free(c);

    /* A host built for ABI 1.0 (its tc_emit ends after known): the same
     * fields, no extras, nothing refused. */
    tc_kit_set_emit_size(in, TC_KIT_EMIT_SIZE_1_0);
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "jupiter/search_batch.json", &c), TC_OK);
    assert_int_equal(c->emit_size, offsetof(tc_emit, extra_num));
    assert_int_equal(c->refused, 0);
    assert_int_equal(tc_kit_nfields(c, JUP), fields_jup);
    for (size_t i = 0; i < NBATCH; i++)
        assert_int_equal(tc_kit_nextras(c, batch[i]), 0);
    KIT_ASSERT_STR(c, JUP, TC_NAME, "Jupiter");
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_parse_compact_and_duplicates(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    const char *const one[] = {SOL};
    assert_int_equal(kit_parse_fixture(in, one, 1, 200, "jupiter/search_single_compact.json", &c), TC_OK);
    KIT_ASSERT_STR(c, SOL, TC_NAME, "Wrapped SOL");
    tc_kit_result_free(c);

    /* a repeated id: the first entry wins, nothing is set twice */
    const char *body = "[{\"id\":\"" SOL "\",\"name\":\"First\"},{\"id\":\"" SOL "\",\"name\":\"Second\"}]";
    assert_int_equal(kit_parse(in, one, 1, 200, body, strlen(body), &c), TC_OK);
    KIT_ASSERT_STR(c, SOL, TC_NAME, "First");
    tc_kit_result_free(c);

    /* wrong types are ignored, not coerced; non-object entries are skipped */
    body = "[1,null,[\"" SOL "\"],{\"id\":\"" SOL "\",\"name\":7,\"decimals\":\"9\",\"usdPrice\":true,"
           "\"mcap\":1e999,\"decimals\":9.5,\"stats24h\":[1,2]}]";
    assert_int_equal(kit_parse(in, one, 1, 200, body, strlen(body), &c), TC_OK);
    assert_true(tc_kit_known(c, SOL));
    assert_int_equal(tc_kit_nfields(c, SOL), 0);
    assert_int_equal(c->refused, 0);
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_parse_empty_and_wrong_shape(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "jupiter/empty.json", &c), TC_OK);
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);

    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "jupiter/object.json", &c), TC_FATAL);
    assert_true(tc_kit_empty(c));
    assert_string_equal(c->outcome->message, "expected a JSON array, got an object");
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_parse_truncated_and_malformed(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "jupiter/truncated.json", &c), TC_RETRY);
    assert_true(tc_kit_empty(c)); /* JUP and NULLS were complete in the text: still nothing */
    assert_non_null(strstr(c->outcome->message, "truncated JSON"));
    assert_int_equal(c->outcome->retry_after_ms, -1);
    tc_kit_result_free(c);

    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "jupiter/malformed.json", &c), TC_RETRY);
    assert_true(tc_kit_empty(c));
    size_t off = 0;
    assert_int_equal(sscanf(c->outcome->message, "malformed JSON at offset %zu", &off), 1);
    assert_in_range(off, 88, 91); /* the ",," is at 88; cJSON reports where it gave up */
    tc_kit_result_free(c);

    assert_int_equal(kit_parse(in, batch, NBATCH, 200, "", 0, &c), TC_RETRY);
    assert_string_equal(c->outcome->message, "empty response body");
    tc_kit_result_free(c);

    const char *trailing = "[] []";
    assert_int_equal(kit_parse(in, batch, NBATCH, 200, trailing, strlen(trailing), &c), TC_RETRY);
    assert_non_null(strstr(c->outcome->message, "trailing data at offset 3"));
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_every_prefix_retries(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    kit_assert_prefixes_retry(in, batch, NBATCH, "jupiter/search_batch.json");
    tc_kit_destroy(in);
}

static void test_http_status(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    const char *b400 = "{\"error\":\"Invalid query\"}";
    assert_int_equal(kit_parse(in, batch, NBATCH, 400, b400, strlen(b400), &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 400: {\"error\":\"Invalid query\"}");
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);

    const char *b401 = "Unauthorized\n\tbad key\x01";
    assert_int_equal(kit_parse(in, batch, NBATCH, 401, b401, strlen(b401), &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 401: Unauthorized  bad key?");
    tc_kit_result_free(c);

    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(kit_parse(in, batch, NBATCH, 404, big, strlen(big), &c), TC_FATAL);
    assert_int_equal(strlen(c->outcome->message), strlen("HTTP 404: ") + 100);
    tc_kit_result_free(c);

    /* 429/408/5xx are the host's and never passed on: one that gets here is fatal */
    const char *b429 = "{\"message\":\"Rate limit exceeded\"}";
    assert_int_equal(kit_parse(in, batch, NBATCH, 429, b429, strlen(b429), &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 429: {\"message\":\"Rate limit exceeded\"}");
    tc_kit_result_free(c);
    assert_int_equal(kit_parse(in, batch, NBATCH, 503, "", 0, &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 503: ");
    tc_kit_result_free(c);
    /* a 2xx other than 200 is parsed normally */
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 203, "jupiter/search_batch.json", &c), TC_OK);
    KIT_ASSERT_STR(c, SOL, TC_SYMBOL, "SOL");
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_mutations_never_crash(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    size_t counts[3] = {0, 0, 0};
    kit_assert_fuzz_clean(in, batch, NBATCH, "jupiter/search_batch.json", 1234u, 400, counts);
    assert_true(counts[TC_OK] > 0 && counts[TC_RETRY] > 0);
    tc_kit_destroy(in);
}

static void test_two_instances(void **state) {
    (void)state;
    const char *const kv[] = {"api_key", "second", NULL};
    tc_kit_instance *a = kit_make(NULL), *b = kit_make(kv);
    tc_kit_request *ra, *rb;
    const char *const one[] = {SOL};
    assert_int_equal(tc_kit_build(a, one, 1, &ra), 0);
    assert_int_equal(tc_kit_build(b, one, 1, &rb), 0);
    assert_null(tc_kit_header_value(ra, "x-api-key"));
    assert_string_equal(tc_kit_header_value(rb, "x-api-key"), "second");
    tc_kit_request_free(ra);
    tc_kit_request_free(rb);
    tc_kit_destroy(a);
    tc_kit_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_request_default_keyless),
        cmocka_unit_test(test_request_with_key_and_base),
        cmocka_unit_test(test_request_encoding_and_limits),
        cmocka_unit_test(test_create_rejects_bad_settings),
        cmocka_unit_test(test_parse_batch),
        cmocka_unit_test(test_parse_extras),
        cmocka_unit_test(test_parse_compact_and_duplicates),
        cmocka_unit_test(test_parse_empty_and_wrong_shape),
        cmocka_unit_test(test_parse_truncated_and_malformed),
        cmocka_unit_test(test_every_prefix_retries),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_mutations_never_crash),
        cmocka_unit_test(test_two_instances),
    };
    return kit_run("jupiter", tests);
}
