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

#include "plugin_harness.h"

#define SOL "So11111111111111111111111111111111111111112"
#define BONK "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
#define WIF "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"
#define QONLY "QuoteSideToken111111111111111111111111111111"
#define NOINFO "NoinfoPairToken11111111111111111111111111111"
#define LIQNULL "LiquidityNuLLToken11111111111111111111111111"
#define UNI "UnicodeNameToken1111111111111111111111111111"
#define MISSING "MissingToken11111111111111111111111111111111"

static ph_plugin plugin;
static const char *const batch[] = {BONK, WIF, QONLY, NOINFO, LIQNULL, UNI, MISSING};
#define NBATCH (sizeof batch / sizeof batch[0])

static int group_setup(void **state) {
    (void)state;
    char err[512];
    if (ph_plugin_load(&plugin, "dexscreener", err, sizeof err) != 0) {
        fprintf(stderr, "cannot load the dexscreener plugin: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    ph_plugin_unload(&plugin);
    return 0;
}

static ph_instance *make(const char *const *kv) {
    char err[256];
    ph_instance *in = ph_create(&plugin, kv, err, sizeof err);
    if (!in) fail_msg("create failed: %s", err);
    return in;
}

static void test_descriptor(void **state) {
    (void)state;
    const tc_source *s = plugin.src;
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
    ph_instance *in = make(NULL);
    ph_request r;
    const char *const two[] = {BONK, WIF};
    assert_int_equal(ph_build(in, two, 2, &r), 0);
    assert_int_equal(r.method, TC_GET);
    assert_string_equal(r.url, "https://api.dexscreener.com/tokens/v1/solana/" BONK "," WIF);
    assert_int_equal(r.nheaders, 0);
    assert_int_equal(r.body_calls, 0);
    ph_request_free(&r);
    ph_destroy(in);

    const char *const kv[] = {"base_url", "http://localhost:18082///", "chain", "bsc", NULL};
    in = make(kv);
    assert_int_equal(ph_build(in, two, 1, &r), 0);
    assert_string_equal(r.url, "http://localhost:18082/tokens/v1/bsc/" BONK);
    ph_request_free(&r);

    const char *many[31];
    for (size_t i = 0; i < 31; i++) many[i] = BONK;
    assert_int_equal(ph_build(in, many, 30, &r), 0);
    ph_request_free(&r);
    assert_int_not_equal(ph_build(in, many, 31, &r), 0);
    ph_request_free(&r);
    const char *const odd[] = {"a/b?c"};
    assert_int_equal(ph_build(in, odd, 1, &r), 0);
    assert_string_equal(r.url, "http://localhost:18082/tokens/v1/bsc/a%2Fb%3Fc");
    ph_request_free(&r);
    ph_destroy(in);
}

static void test_create_rejects_bad_settings(void **state) {
    (void)state;
    char err[256];
    const char *const bad1[] = {"chain", "Sol ana", NULL};
    assert_null(ph_create(&plugin, bad1, err, sizeof err));
    assert_non_null(strstr(err, "chain"));
    const char *const bad2[] = {"chain", "solana/../x", NULL};
    assert_null(ph_create(&plugin, bad2, err, sizeof err));
    const char *const bad3[] = {"base_url", "api.dexscreener.com", NULL};
    assert_null(ph_create(&plugin, bad3, err, sizeof err));
    assert_non_null(strstr(err, "base_url"));
    const char *const ok[] = {"chain", "", NULL}; /* empty -> default */
    ph_instance *in = ph_create(&plugin, ok, err, sizeof err);
    assert_non_null(in);
    ph_destroy(in);
}

static void test_parse_best_base_pair(void **state) {
    (void)state;
    ph_instance *in = make(NULL);
    ph_collect c;
    assert_int_equal(ph_parse_fixture(in, batch, NBATCH, 200, "dexscreener/tokens_batch.json", &c, NULL), TC_OK);
    assert_int_equal(c.rejected, 0); /* pairs of tokens not asked for were not emitted */
    assert_int_equal(ph_duplicates(&c), 0);

    /* BONK: the orca pair (base, liquidity 3.4M) beats the raydium base pair
     * (1.25M) and the meteora pair where BONK is the quote (9.99M) */
    PH_ASSERT_STR(&c, BONK, TC_NAME, "Bonk");
    PH_ASSERT_STR(&c, BONK, TC_SYMBOL, "Bonk");
    PH_ASSERT_NUM(&c, BONK, TC_PRICE_USD, 0.00002344);
    PH_ASSERT_NUM(&c, BONK, TC_LIQUIDITY_USD, 3400000.25);
    PH_ASSERT_NUM(&c, BONK, TC_MARKET_CAP, 1801234567.25);
    PH_ASSERT_NUM(&c, BONK, TC_FDV, 2089123456.5);
    PH_ASSERT_NUM(&c, BONK, TC_VOLUME_24H, 15234567.75);
    PH_ASSERT_NUM(&c, BONK, TC_CHANGE_24H, 4.25);
    PH_ASSERT_STR(&c, BONK, TC_IMAGE_URL,
                  "https://dd.dexscreener.com/ds-data/tokens/solana/DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263.png?key=8bbd0c");
    PH_ASSERT_UNSET(&c, BONK, TC_DECIMALS);
    PH_ASSERT_UNSET(&c, BONK, TC_SUPPLY);
    assert_int_equal(ph_nfields(&c, BONK), 9);
    /* websites with and without label; {type,url} socials, type lower-cased */
    assert_int_equal(ph_nlinks(&c, BONK), 4);
    PH_ASSERT_LINK(&c, BONK, TC_LINK_WEBSITE, "website", "https://bonkcoin.com");
    assert_string_equal(ph_tok(&c, BONK)->links[1].label, "website");
    assert_string_equal(ph_tok(&c, BONK)->links[1].url, "https://docs.bonkcoin.com");
    PH_ASSERT_LINK(&c, BONK, TC_LINK_SOCIAL, "twitter", "https://x.com/bonk_inu");
    PH_ASSERT_LINK(&c, BONK, TC_LINK_SOCIAL, "telegram", "https://t.me/Bonk_Inu");
    ph_collect_free(&c);
    ph_destroy(in);
}

static void test_parse_documented_socials(void **state) {
    (void)state;
    ph_instance *in = make(NULL);
    ph_collect c;
    assert_int_equal(ph_parse_fixture(in, batch, NBATCH, 200, "dexscreener/tokens_batch.json", &c, NULL), TC_OK);
    PH_ASSERT_STR(&c, WIF, TC_NAME, "dogwifhat");
    PH_ASSERT_STR(&c, WIF, TC_SYMBOL, "$WIF");
    PH_ASSERT_NUM(&c, WIF, TC_PRICE_USD, 1.689);
    assert_int_equal(ph_nlinks(&c, WIF), 6);
    PH_ASSERT_LINK(&c, WIF, TC_LINK_WEBSITE, "website", "https://dogwifcoin.org"); /* {url} only */
    PH_ASSERT_LINK(&c, WIF, TC_LINK_SOCIAL, "twitter", "https://x.com/dogwifcoin"); /* '@' dropped */
    PH_ASSERT_LINK(&c, WIF, TC_LINK_SOCIAL, "telegram", "https://t.me/dogwifhat");
    PH_ASSERT_LINK(&c, WIF, TC_LINK_SOCIAL, "x", "https://x.com/wifx");
    PH_ASSERT_LINK(&c, WIF, TC_LINK_SOCIAL, "discord", "https://discord.gg/dogwifhat");
    PH_ASSERT_LINK(&c, WIF, TC_LINK_SOCIAL, "reddit", "r/dogwifhat"); /* others: as given */
    ph_collect_free(&c);
    ph_destroy(in);
}

static void test_parse_quote_only_and_sparse(void **state) {
    (void)state;
    ph_instance *in = make(NULL);
    ph_collect c;
    assert_int_equal(ph_parse_fixture(in, batch, NBATCH, 200, "dexscreener/tokens_batch.json", &c, NULL), TC_OK);

    /* only a quote token: the more liquid of its two pairs, reduced field set */
    PH_ASSERT_STR(&c, QONLY, TC_NAME, "Quote Side Coin");
    PH_ASSERT_STR(&c, QONLY, TC_SYMBOL, "QSC");
    PH_ASSERT_NUM(&c, QONLY, TC_PRICE_USD, 3.0 / 1.5);
    PH_ASSERT_NUM(&c, QONLY, TC_LIQUIDITY_USD, 80000.5);
    PH_ASSERT_NUM(&c, QONLY, TC_VOLUME_24H, 12345.67);
    assert_int_equal(ph_nfields(&c, QONLY), 5); /* no mcap/fdv/change/image of the base */
    assert_int_equal(ph_nlinks(&c, QONLY), 0);

    /* fdv, marketCap, info absent; liquidity.usd 0 is a value; h24 change null */
    PH_ASSERT_STR(&c, NOINFO, TC_NAME, "No Info Pair");
    PH_ASSERT_NUM(&c, NOINFO, TC_PRICE_USD, 0.00105);
    PH_ASSERT_NUM(&c, NOINFO, TC_LIQUIDITY_USD, 0);
    PH_ASSERT_NUM(&c, NOINFO, TC_VOLUME_24H, 0);
    PH_ASSERT_UNSET(&c, NOINFO, TC_FDV);
    PH_ASSERT_UNSET(&c, NOINFO, TC_MARKET_CAP);
    PH_ASSERT_UNSET(&c, NOINFO, TC_CHANGE_24H);
    PH_ASSERT_UNSET(&c, NOINFO, TC_IMAGE_URL);
    assert_int_equal(ph_nlinks(&c, NOINFO), 0);

    /* liquidity null vs absent: both -1, the first pair wins; its priceUsd
     * "12.5abc" is not a number, so no price */
    PH_ASSERT_STR(&c, LIQNULL, TC_NAME, "LiqNull First");
    PH_ASSERT_UNSET(&c, LIQNULL, TC_PRICE_USD);
    PH_ASSERT_UNSET(&c, LIQNULL, TC_LIQUIDITY_USD);
    PH_ASSERT_NUM(&c, LIQNULL, TC_VOLUME_24H, 50.0);

    /* escaped and raw UTF-8 names come out as UTF-8 */
    PH_ASSERT_STR(&c, UNI, TC_NAME, "P\xc3\xa9p\xc3\xa9 \"the\" Frog \xf0\x9f\x90\xb8/\t!");
    PH_ASSERT_STR(&c, UNI, TC_SYMBOL, "\xe3\x83\x9a\xe3\x83\x9a");
    PH_ASSERT_LINK(&c, UNI, TC_LINK_WEBSITE, "docs", "https://docs.pepe.example/\xc3\xa4");
    assert_int_equal(ph_nlinks(&c, UNI), 1);

    /* not in the response at all */
    assert_false(ph_tok(&c, MISSING)->known);
    assert_int_equal(ph_nfields(&c, MISSING), 0);
    ph_collect_free(&c);
    ph_destroy(in);
}

static void test_quote_price_guards(void **state) {
    (void)state;
    ph_instance *in = make(NULL);
    ph_collect c;
    const char *const one[] = {QONLY};
    const char *body =
        "[{\"baseToken\":{\"address\":\"X\"},\"quoteToken\":{\"address\":\"" QONLY "\",\"name\":\"Q\"},"
        "\"priceNative\":\"0\",\"priceUsd\":\"1.0\",\"liquidity\":{\"usd\":5}},"
        "{\"baseToken\":{\"address\":\"Y\"},\"quoteToken\":{\"address\":\"" QONLY "\",\"name\":\"Q2\"},"
        "\"priceNative\":\"1\",\"priceUsd\":\"2\",\"liquidity\":{\"usd\":4}}]";
    assert_int_equal(ph_parse(in, one, 1, 200, body, strlen(body), &c, NULL), TC_OK);
    PH_ASSERT_STR(&c, QONLY, TC_NAME, "Q"); /* more liquid */
    PH_ASSERT_UNSET(&c, QONLY, TC_PRICE_USD); /* priceNative 0: no division */
    PH_ASSERT_NUM(&c, QONLY, TC_LIQUIDITY_USD, 5);
    ph_collect_free(&c);

    /* priceUsd forms that are not plain numbers */
    const char *bad[] = {"\" 1.5\"", "\"1.5 \"", "\"inf\"", "\"nan\"", "\"0x10\"", "\"\"", "null", "1.5", "\"1e999\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "[{\"baseToken\":{\"address\":\"" QONLY "\"},\"priceUsd\":%s}]", bad[i]);
        assert_int_equal(ph_parse(in, one, 1, 200, buf, strlen(buf), &c, NULL), TC_OK);
        if (ph_has(&c, QONLY, TC_PRICE_USD)) fail_msg("priceUsd %s was accepted", bad[i]);
        assert_true(ph_tok(&c, QONLY)->known);
        ph_collect_free(&c);
    }
    ph_destroy(in);
}

static void test_case_folding_off_solana(void **state) {
    (void)state;
    const char *const kv[] = {"chain", "ethereum", NULL};
    ph_instance *in = make(kv);
    ph_collect c;
    const char *const one[] = {"0xabcdef0000000000000000000000000000000001"};
    const char *body = "[{\"baseToken\":{\"address\":\"0xABCdef0000000000000000000000000000000001\",\"symbol\":\"E\"}}]";
    assert_int_equal(ph_parse(in, one, 1, 200, body, strlen(body), &c, NULL), TC_OK);
    PH_ASSERT_STR(&c, one[0], TC_SYMBOL, "E");
    ph_collect_free(&c);
    ph_destroy(in);

    /* on solana, base58 case matters */
    in = make(NULL);
    const char *const sol[] = {"AbC111111111111111111111111111111"};
    const char *b2 = "[{\"baseToken\":{\"address\":\"abc111111111111111111111111111111\",\"symbol\":\"E\"}}]";
    assert_int_equal(ph_parse(in, sol, 1, 200, b2, strlen(b2), &c, NULL), TC_OK);
    assert_true(ph_empty(&c));
    ph_collect_free(&c);
    ph_destroy(in);
}

static void test_empty_wrong_truncated_malformed(void **state) {
    (void)state;
    ph_instance *in = make(NULL);
    ph_collect c;
    tc_outcome o;
    assert_int_equal(ph_parse_fixture(in, batch, NBATCH, 200, "dexscreener/empty.json", &c, &o), TC_OK);
    assert_true(ph_empty(&c));
    ph_collect_free(&c);
    assert_int_equal(ph_parse_fixture(in, batch, NBATCH, 200, "dexscreener/legacy_object.json", &c, &o), TC_FATAL);
    assert_string_equal(o.message, "expected a JSON array of pairs, got an object");
    assert_true(ph_empty(&c));
    ph_collect_free(&c);
    assert_int_equal(ph_parse_fixture(in, batch, NBATCH, 200, "dexscreener/truncated.json", &c, &o), TC_RETRY);
    assert_non_null(strstr(o.message, "truncated JSON"));
    assert_true(ph_empty(&c)); /* the BONK pairs were complete in the text: still nothing */
    ph_collect_free(&c);
    assert_int_equal(ph_parse_fixture(in, batch, NBATCH, 200, "dexscreener/malformed.json", &c, &o), TC_RETRY);
    assert_non_null(strstr(o.message, "malformed JSON at offset"));
    assert_true(ph_empty(&c));
    ph_collect_free(&c);
    /* 429 is the host's (limiter pause) and never passed on: one that gets here is fatal */
    assert_int_equal(ph_parse(in, batch, NBATCH, 429, "", 0, &c, &o), TC_FATAL);
    assert_string_equal(o.message, "HTTP 429: ");
    ph_collect_free(&c);
    assert_int_equal(ph_parse(in, batch, NBATCH, 400, "{\"error\":\"bad chain\"}", 21, &c, &o), TC_FATAL);
    assert_string_equal(o.message, "HTTP 400: {\"error\":\"bad chain\"}");
    ph_collect_free(&c);

    size_t len, first = 0;
    char *body = ph_fixture("dexscreener/tokens_batch.json", &len);
    assert_non_null(body);
    size_t bad = ph_prefix_sweep(in, batch, NBATCH, body, len, &first);
    if (bad) fail_msg("%zu prefixes misbehaved, first at length %zu", bad, first);
    free(body);
    ph_destroy(in);
}

static void test_mutations_never_crash(void **state) {
    (void)state;
    ph_instance *in = make(NULL);
    size_t len, counts[3] = {0, 0, 0};
    char *body = ph_fixture("dexscreener/tokens_batch.json", &len);
    assert_non_null(body);
    assert_int_equal(ph_mutation_fuzz(in, batch, NBATCH, body, len, 99u, 400, counts), 0);
    assert_true(counts[TC_OK] > 0 && counts[TC_RETRY] > 0);
    free(body);
    ph_destroy(in);
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
    return cmocka_run_group_tests_name("plugin_dexscreener", tests, group_setup, group_teardown);
}
