/* DexScreener plugin: pair choice, quote-side fallback, both social forms,
 * through the real dexscreener.so (dlopen). */
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
#define BONK "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
#define WIF "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"
#define QONLY "QuoteSideToken111111111111111111111111111111"
#define NOINFO "NoinfoPairToken11111111111111111111111111111"
#define LIQNULL "LiquidityNuLLToken11111111111111111111111111"
#define UNI "UnicodeNameToken1111111111111111111111111111"
#define MISSING "MissingToken11111111111111111111111111111111"

static const char *const batch[] = {BONK, WIF, QONLY, NOINFO, LIQNULL, UNI, MISSING};
#define NBATCH (sizeof batch / sizeof batch[0])

static void test_descriptor(void **state) {
    (void)state;
    const tc_source *s = tc_kit_source(kit_plugin);
    assert_string_equal(s->name, "dexscreener");
    assert_int_equal(s->max_chunk, 30);
    /* Its one own key, declared with type and default (ABI 1.1). */
    assert_null(s->config_keys);
    assert_non_null(s->settings);
    assert_int_equal(s->setting_size, sizeof(tc_setting_def));
    assert_string_equal(s->settings[0].name, "chain");
    assert_int_equal(s->settings[0].type, TC_SETTING_STRING);
    assert_string_equal(s->settings[0].default_value, "solana");
    assert_string_equal(s->settings[1].name, "base_url");
    assert_null(s->settings[2].name);
}

static void test_request(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_request *r;
    const char *const two[] = {BONK, WIF};
    assert_int_equal(tc_kit_build(in, two, 2, &r), 0);
    assert_int_equal(r->method, TC_GET);
    assert_string_equal(r->url, "https://api.dexscreener.com/tokens/v1/solana/" BONK "," WIF);
    assert_int_equal(r->nheaders, 0);
    assert_int_equal(r->body_calls, 0);
    tc_kit_request_free(r);
    tc_kit_destroy(in);

    const char *const kv[] = {"base_url", "http://localhost:18082///", "chain", "bsc", NULL};
    in = kit_make(kv);
    assert_int_equal(tc_kit_build(in, two, 1, &r), 0);
    assert_string_equal(r->url, "http://localhost:18082/tokens/v1/bsc/" BONK);
    tc_kit_request_free(r);

    const char *many[31];
    for (size_t i = 0; i < 31; i++) many[i] = BONK;
    assert_int_equal(tc_kit_build(in, many, 30, &r), 0);
    tc_kit_request_free(r);
    assert_int_not_equal(tc_kit_build(in, many, 31, &r), 0);
    tc_kit_request_free(r);
    const char *const odd[] = {"a/b?c"};
    assert_int_equal(tc_kit_build(in, odd, 1, &r), 0);
    assert_string_equal(r->url, "http://localhost:18082/tokens/v1/bsc/a%2Fb%3Fc");
    tc_kit_request_free(r);
    tc_kit_destroy(in);
}

static void test_create_rejects_bad_settings(void **state) {
    (void)state;
    char err[256];
    const char *const bad1[] = {"chain", "Sol ana", NULL};
    assert_null(tc_kit_create_kv(kit_plugin, bad1, err, sizeof err));
    assert_non_null(strstr(err, "chain"));
    const char *const bad2[] = {"chain", "solana/../x", NULL};
    assert_null(tc_kit_create_kv(kit_plugin, bad2, err, sizeof err));
    const char *const bad3[] = {"base_url", "api.dexscreener.com", NULL};
    assert_null(tc_kit_create_kv(kit_plugin, bad3, err, sizeof err));
    assert_non_null(strstr(err, "base_url"));
    const char *const ok[] = {"chain", "", NULL}; /* empty -> default */
    tc_kit_instance *in = tc_kit_create_kv(kit_plugin, ok, err, sizeof err);
    assert_non_null(in);
    tc_kit_destroy(in);
}

static void test_parse_best_base_pair(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "dexscreener/tokens_batch.json", &c), TC_OK);
    assert_int_equal(c->refused, 0); /* pairs of tokens not asked for were not emitted */
    assert_int_equal(tc_kit_duplicates(c), 0);

    /* BONK: the orca pair (base, liquidity 3.4M) beats the raydium base pair
     * (1.25M) and the meteora pair where BONK is the quote (9.99M) */
    KIT_ASSERT_STR(c, BONK, TC_NAME, "Bonk");
    KIT_ASSERT_STR(c, BONK, TC_SYMBOL, "Bonk");
    KIT_ASSERT_NUM(c, BONK, TC_PRICE_USD, 0.00002344);
    KIT_ASSERT_NUM(c, BONK, TC_LIQUIDITY_USD, 3400000.25);
    KIT_ASSERT_NUM(c, BONK, TC_MARKET_CAP, 1801234567.25);
    KIT_ASSERT_NUM(c, BONK, TC_FDV, 2089123456.5);
    KIT_ASSERT_NUM(c, BONK, TC_VOLUME_24H, 15234567.75);
    KIT_ASSERT_NUM(c, BONK, TC_CHANGE_24H, 4.25);
    KIT_ASSERT_STR(c, BONK, TC_IMAGE_URL,
                  "https://dd.dexscreener.com/ds-data/tokens/solana/DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263.png?key=8bbd0c");
    KIT_ASSERT_UNSET(c, BONK, TC_DECIMALS);
    KIT_ASSERT_UNSET(c, BONK, TC_SUPPLY);
    assert_int_equal(tc_kit_nfields(c, BONK), 9);
    /* websites with and without label; {type,url} socials, type lower-cased */
    assert_int_equal(tc_kit_nlinks(c, BONK), 4);
    KIT_ASSERT_LINK(c, BONK, TC_LINK_WEBSITE, "website", "https://bonkcoin.com");
    assert_string_equal(tc_kit_link_at(c, BONK, 1)->label, "website");
    assert_string_equal(tc_kit_link_at(c, BONK, 1)->url, "https://docs.bonkcoin.com");
    KIT_ASSERT_LINK(c, BONK, TC_LINK_SOCIAL, "twitter", "https://x.com/bonk_inu");
    KIT_ASSERT_LINK(c, BONK, TC_LINK_SOCIAL, "telegram", "https://t.me/Bonk_Inu");
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_parse_documented_socials(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "dexscreener/tokens_batch.json", &c), TC_OK);
    KIT_ASSERT_STR(c, WIF, TC_NAME, "dogwifhat");
    KIT_ASSERT_STR(c, WIF, TC_SYMBOL, "$WIF");
    KIT_ASSERT_NUM(c, WIF, TC_PRICE_USD, 1.689);
    assert_int_equal(tc_kit_nlinks(c, WIF), 6);
    KIT_ASSERT_LINK(c, WIF, TC_LINK_WEBSITE, "website", "https://dogwifcoin.org"); /* {url} only */
    KIT_ASSERT_LINK(c, WIF, TC_LINK_SOCIAL, "twitter", "https://x.com/dogwifcoin"); /* '@' dropped */
    KIT_ASSERT_LINK(c, WIF, TC_LINK_SOCIAL, "telegram", "https://t.me/dogwifhat");
    KIT_ASSERT_LINK(c, WIF, TC_LINK_SOCIAL, "x", "https://x.com/wifx");
    KIT_ASSERT_LINK(c, WIF, TC_LINK_SOCIAL, "discord", "https://discord.gg/dogwifhat");
    KIT_ASSERT_LINK(c, WIF, TC_LINK_SOCIAL, "reddit", "r/dogwifhat"); /* others: as given */
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_parse_quote_only_and_sparse(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "dexscreener/tokens_batch.json", &c), TC_OK);

    /* only a quote token: the more liquid of its two pairs, reduced field set */
    KIT_ASSERT_STR(c, QONLY, TC_NAME, "Quote Side Coin");
    KIT_ASSERT_STR(c, QONLY, TC_SYMBOL, "QSC");
    KIT_ASSERT_NUM(c, QONLY, TC_PRICE_USD, 3.0 / 1.5);
    KIT_ASSERT_NUM(c, QONLY, TC_LIQUIDITY_USD, 80000.5);
    KIT_ASSERT_NUM(c, QONLY, TC_VOLUME_24H, 12345.67);
    assert_int_equal(tc_kit_nfields(c, QONLY), 5); /* no mcap/fdv/change/image of the base */
    assert_int_equal(tc_kit_nlinks(c, QONLY), 0);

    /* fdv, marketCap, info absent; liquidity.usd 0 is a value; h24 change null */
    KIT_ASSERT_STR(c, NOINFO, TC_NAME, "No Info Pair");
    KIT_ASSERT_NUM(c, NOINFO, TC_PRICE_USD, 0.00105);
    KIT_ASSERT_NUM(c, NOINFO, TC_LIQUIDITY_USD, 0);
    KIT_ASSERT_NUM(c, NOINFO, TC_VOLUME_24H, 0);
    KIT_ASSERT_UNSET(c, NOINFO, TC_FDV);
    KIT_ASSERT_UNSET(c, NOINFO, TC_MARKET_CAP);
    KIT_ASSERT_UNSET(c, NOINFO, TC_CHANGE_24H);
    KIT_ASSERT_UNSET(c, NOINFO, TC_IMAGE_URL);
    assert_int_equal(tc_kit_nlinks(c, NOINFO), 0);

    /* liquidity null vs absent: both -1, the first pair wins; its priceUsd
     * "12.5abc" is not a number, so no price */
    KIT_ASSERT_STR(c, LIQNULL, TC_NAME, "LiqNull First");
    KIT_ASSERT_UNSET(c, LIQNULL, TC_PRICE_USD);
    KIT_ASSERT_UNSET(c, LIQNULL, TC_LIQUIDITY_USD);
    KIT_ASSERT_NUM(c, LIQNULL, TC_VOLUME_24H, 50.0);

    /* escaped and raw UTF-8 names come out as UTF-8 */
    KIT_ASSERT_STR(c, UNI, TC_NAME, "P\xc3\xa9p\xc3\xa9 \"the\" Frog \xf0\x9f\x90\xb8/\t!");
    KIT_ASSERT_STR(c, UNI, TC_SYMBOL, "\xe3\x83\x9a\xe3\x83\x9a");
    KIT_ASSERT_LINK(c, UNI, TC_LINK_WEBSITE, "docs", "https://docs.pepe.example/\xc3\xa4");
    assert_int_equal(tc_kit_nlinks(c, UNI), 1);

    /* not in the response at all */
    assert_false(tc_kit_known(c, MISSING));
    assert_int_equal(tc_kit_nfields(c, MISSING), 0);
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_quote_price_guards(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    const char *const one[] = {QONLY};
    const char *body =
        "[{\"baseToken\":{\"address\":\"X\"},\"quoteToken\":{\"address\":\"" QONLY "\",\"name\":\"Q\"},"
        "\"priceNative\":\"0\",\"priceUsd\":\"1.0\",\"liquidity\":{\"usd\":5}},"
        "{\"baseToken\":{\"address\":\"Y\"},\"quoteToken\":{\"address\":\"" QONLY "\",\"name\":\"Q2\"},"
        "\"priceNative\":\"1\",\"priceUsd\":\"2\",\"liquidity\":{\"usd\":4}}]";
    assert_int_equal(kit_parse(in, one, 1, 200, body, strlen(body), &c), TC_OK);
    KIT_ASSERT_STR(c, QONLY, TC_NAME, "Q"); /* more liquid */
    KIT_ASSERT_UNSET(c, QONLY, TC_PRICE_USD); /* priceNative 0: no division */
    KIT_ASSERT_NUM(c, QONLY, TC_LIQUIDITY_USD, 5);
    tc_kit_result_free(c);

    /* priceUsd forms that are not plain numbers */
    const char *bad[] = {"\" 1.5\"", "\"1.5 \"", "\"inf\"", "\"nan\"", "\"0x10\"", "\"\"", "null", "1.5", "\"1e999\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "[{\"baseToken\":{\"address\":\"" QONLY "\"},\"priceUsd\":%s}]", bad[i]);
        assert_int_equal(kit_parse(in, one, 1, 200, buf, strlen(buf), &c), TC_OK);
        if (tc_kit_times(c, QONLY, TC_PRICE_USD)) fail_msg("priceUsd %s was accepted", bad[i]);
        assert_true(tc_kit_known(c, QONLY));
        tc_kit_result_free(c);
    }
    tc_kit_destroy(in);
}

static void test_case_folding_off_solana(void **state) {
    (void)state;
    const char *const kv[] = {"chain", "ethereum", NULL};
    tc_kit_instance *in = kit_make(kv);
    tc_kit_result *c;
    const char *const one[] = {"0xabcdef0000000000000000000000000000000001"};
    const char *body = "[{\"baseToken\":{\"address\":\"0xABCdef0000000000000000000000000000000001\",\"symbol\":\"E\"}}]";
    assert_int_equal(kit_parse(in, one, 1, 200, body, strlen(body), &c), TC_OK);
    KIT_ASSERT_STR(c, one[0], TC_SYMBOL, "E");
    tc_kit_result_free(c);
    tc_kit_destroy(in);

    /* on solana, base58 case matters */
    in = kit_make(NULL);
    const char *const sol[] = {"AbC111111111111111111111111111111"};
    const char *b2 = "[{\"baseToken\":{\"address\":\"abc111111111111111111111111111111\",\"symbol\":\"E\"}}]";
    assert_int_equal(kit_parse(in, sol, 1, 200, b2, strlen(b2), &c), TC_OK);
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_empty_wrong_truncated_malformed(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "dexscreener/empty.json", &c), TC_OK);
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "dexscreener/legacy_object.json", &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "expected a JSON array of pairs, got an object");
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "dexscreener/truncated.json", &c), TC_RETRY);
    assert_non_null(strstr(c->outcome->message, "truncated JSON"));
    assert_true(tc_kit_empty(c)); /* the BONK pairs were complete in the text: still nothing */
    tc_kit_result_free(c);
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "dexscreener/malformed.json", &c), TC_RETRY);
    assert_non_null(strstr(c->outcome->message, "malformed JSON at offset"));
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);
    /* 429 is the host's (limiter pause) and never passed on: one that gets here is fatal */
    assert_int_equal(kit_parse(in, batch, NBATCH, 429, "", 0, &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 429: ");
    tc_kit_result_free(c);
    assert_int_equal(kit_parse(in, batch, NBATCH, 400, "{\"error\":\"bad chain\"}", 21, &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 400: {\"error\":\"bad chain\"}");
    tc_kit_result_free(c);

    kit_assert_prefixes_retry(in, batch, NBATCH, "dexscreener/tokens_batch.json");
    tc_kit_destroy(in);
}

static void test_mutations_never_crash(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    size_t counts[3] = {0, 0, 0};
    kit_assert_fuzz_clean(in, batch, NBATCH, "dexscreener/tokens_batch.json", 99u, 400, counts);
    assert_true(counts[TC_OK] > 0 && counts[TC_RETRY] > 0);
    tc_kit_destroy(in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_create_rejects_bad_settings),
        cmocka_unit_test(test_parse_best_base_pair),
        cmocka_unit_test(test_parse_documented_socials),
        cmocka_unit_test(test_parse_quote_only_and_sparse),
        cmocka_unit_test(test_quote_price_guards),
        cmocka_unit_test(test_case_folding_off_solana),
        cmocka_unit_test(test_empty_wrong_truncated_malformed),
        cmocka_unit_test(test_mutations_never_crash),
    };
    return kit_run("dexscreener", tests);
}
