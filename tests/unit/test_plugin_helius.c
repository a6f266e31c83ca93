/* Helius plugin: getAssetBatch request, positional parsing, exact supplies,
 * JSON-RPC errors, through the real helius.so (dlopen). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_kit.h"

#define USDC "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
#define MISSING "MissingToken11111111111111111111111111111111"
#define BIG1 "BigSuppLy2p53p111111111111111111111111111111"
#define BIG2 "BigSuppLyU64Max11111111111111111111111111111"
#define NOMETA "NoMetadataFungibLe11111111111111111111111111"
#define IMGLINK "imageFromLinks111111111111111111111111111111"
#define NFT "CompressedNFTAsset11111111111111111111111111"

static const char *const batch[] = {USDC, MISSING, BIG1, BIG2, NOMETA, IMGLINK, NFT};
#define NBATCH (sizeof batch / sizeof batch[0])

static void test_descriptor(void **state) {
    (void)state;
    assert_string_equal(tc_kit_source(kit_plugin)->name, "helius");
    assert_int_equal(tc_kit_source(kit_plugin)->max_chunk, 1000);
    assert_int_equal(tc_kit_source(kit_plugin)->abi_major, TC_ABI_MAJOR);
    assert_null(tc_kit_source(kit_plugin)->config_keys);
}

static void test_request_body_and_url(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_request *r;
    const char *const addrs[] = {USDC, BIG1, MISSING};
    assert_int_equal(tc_kit_build(in, addrs, 3, &r), 0);
    assert_int_equal(r->method, TC_POST);
    assert_string_equal(r->url, "https://mainnet.helius-rpc.com/");
    assert_int_equal(r->nheaders, 0);
    assert_int_equal(r->body_calls, 1);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(r->body,
                        "{\"jsonrpc\":\"2.0\",\"id\":\"tc\",\"method\":\"getAssetBatch\",\"params\":{\"ids\":[\"" USDC
                        "\",\"" BIG1 "\",\"" MISSING "\"],\"options\":{\"showFungible\":true}}}");
    assert_int_equal(r->body_len, strlen(r->body));

    cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
    assert_non_null(doc);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(doc, "params");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(params, "ids");
    assert_int_equal(cJSON_GetArraySize(ids), 3);
    size_t i = 0;
    const cJSON *id;
    cJSON_ArrayForEach(id, ids) assert_string_equal(id->valuestring, addrs[i++]);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(params, "options"), "showFungible")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "method")->valuestring, "getAssetBatch");
    cJSON_Delete(doc);
    tc_kit_request_free(r);
    tc_kit_destroy(in);
}

static void test_request_key_and_escaping(void **state) {
    (void)state;
    const char *const kv[] = {"base_url", "http://127.0.0.1:18081/", "api_key", "ab&c d", NULL};
    tc_kit_instance *in = kit_make(kv);
    tc_kit_request *r;
    const char *const odd[] = {"q\"uo\\te\n"};
    assert_int_equal(tc_kit_build(in, odd, 1, &r), 0);
    assert_string_equal(r->url, "http://127.0.0.1:18081/?api-key=ab%26c%20d");
    cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
    assert_non_null(doc);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "params"), "ids");
    assert_string_equal(ids->child->valuestring, "q\"uo\\te\n");
    cJSON_Delete(doc);
    tc_kit_request_free(r);
    tc_kit_destroy(in);

    const char *const kv2[] = {"api_key", "", NULL};
    in = kit_make(kv2);
    assert_int_equal(tc_kit_build(in, odd, 1, &r), 0);
    assert_string_equal(r->url, "https://mainnet.helius-rpc.com/");
    tc_kit_request_free(r);
    tc_kit_destroy(in);
}

static void test_request_limits(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    static const char *many[1001];
    for (size_t i = 0; i < 1001; i++) many[i] = USDC;
    tc_kit_request *r;
    assert_int_equal(tc_kit_build(in, many, 1000, &r), 0);
    cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(doc, "params"), "ids")), 1000);
    cJSON_Delete(doc);
    tc_kit_request_free(r);
    assert_int_not_equal(tc_kit_build(in, many, 1001, &r), 0);
    tc_kit_request_free(r);
    assert_int_not_equal(tc_kit_build(in, many, 0, &r), 0);
    tc_kit_request_free(r);
    tc_kit_destroy(in);
}

static void test_parse_batch(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "helius/batch.json", &c), TC_OK);
    assert_int_equal(c->refused, 0);
    assert_int_equal(tc_kit_duplicates(c), 0);
    assert_int_equal(tc_kit_log_count(in, TC_LOG_WARN), 0); /* every supply was read verbatim */

    /* USDC: image from files[0].cdn_uri; supply above 2^53 kept exactly */
    KIT_ASSERT_STR(c, USDC, TC_NAME, "USD Coin");
    KIT_ASSERT_STR(c, USDC, TC_SYMBOL, "USDC");
    KIT_ASSERT_STR(c, USDC, TC_DESCRIPTION, "USDC is a fully collateralized US dollar stablecoin");
    KIT_ASSERT_STR(c, USDC, TC_IMAGE_URL,
                  "https://cdn.helius-rpc.com/cdn-cgi/image//https://raw.githubusercontent.com/solana-labs/"
                  "token-list/main/assets/mainnet/EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v/logo.png");
    KIT_ASSERT_NUM(c, USDC, TC_DECIMALS, 6);
    KIT_ASSERT_STR(c, USDC, TC_SUPPLY, "9193619162145393");
    KIT_ASSERT_NUM(c, USDC, TC_PRICE_USD, 0.999781);
    assert_int_equal(tc_kit_nfields(c, USDC), 7);
    assert_int_equal(tc_kit_nlinks(c, USDC), 0);

    /* null in the middle: unknown, nothing emitted, positions after it intact */
    assert_false(tc_kit_known(c, MISSING));
    assert_int_equal(tc_kit_nfields(c, MISSING), 0);

    /* 2^53 + 1: a double would say ...992; image from files[0].uri */
    KIT_ASSERT_STR(c, BIG1, TC_SUPPLY, "9007199254740993");
    KIT_ASSERT_STR(c, BIG1, TC_NAME, "Two Pow Fifty Three Plus One");
    KIT_ASSERT_STR(c, BIG1, TC_IMAGE_URL, "https://arweave.net/big1.png");
    KIT_ASSERT_NUM(c, BIG1, TC_DECIMALS, 9);
    KIT_ASSERT_UNSET(c, BIG1, TC_DESCRIPTION); /* "" */
    KIT_ASSERT_UNSET(c, BIG1, TC_PRICE_USD);

    /* u64 max; files [] -> content.links.image; the asset's own "supply"
     * object (print editions) is not token_info.supply */
    KIT_ASSERT_STR(c, BIG2, TC_SUPPLY, "18446744073709551615");
    KIT_ASSERT_STR(c, BIG2, TC_IMAGE_URL, "https://ipfs.io/ipfs/QmBig2Image");
    KIT_ASSERT_NUM(c, BIG2, TC_DECIMALS, 0);
    KIT_ASSERT_NUM(c, BIG2, TC_PRICE_USD, 1e-9);

    /* metadata {}, files [], json_uri "": symbol from token_info only */
    assert_true(tc_kit_known(c, NOMETA));
    KIT_ASSERT_STR(c, NOMETA, TC_SYMBOL, "NOMETA");
    KIT_ASSERT_UNSET(c, NOMETA, TC_NAME);
    KIT_ASSERT_UNSET(c, NOMETA, TC_IMAGE_URL);
    KIT_ASSERT_UNSET(c, NOMETA, TC_DESCRIPTION);
    KIT_ASSERT_UNSET(c, NOMETA, TC_PRICE_USD);
    KIT_ASSERT_NUM(c, NOMETA, TC_DECIMALS, 0);
    KIT_ASSERT_STR(c, NOMETA, TC_SUPPLY, "1000000");
    assert_int_equal(tc_kit_nfields(c, NOMETA), 3);

    /* empty cdn_uri and uri are skipped -> links.image; supply 0 is a value */
    KIT_ASSERT_STR(c, IMGLINK, TC_IMAGE_URL, "https://arweave.net/ifl.png");
    KIT_ASSERT_STR(c, IMGLINK, TC_SUPPLY, "0");
    KIT_ASSERT_STR(c, IMGLINK, TC_DESCRIPTION, "Only links.image is usable");
    KIT_ASSERT_NUM(c, IMGLINK, TC_DECIMALS, 2);

    /* an NFT without token_info: no decimals/supply/price */
    KIT_ASSERT_STR(c, NFT, TC_NAME, "Mad Lads #8420");
    KIT_ASSERT_STR(c, NFT, TC_SYMBOL, "MAD");
    KIT_ASSERT_STR(c, NFT, TC_DESCRIPTION, "Fock it.");
    KIT_ASSERT_STR(c, NFT, TC_IMAGE_URL,
                  "https://cdn.helius-rpc.com/cdn-cgi/image//https://madlads.s3.us-west-2.amazonaws.com/images/8420.png");
    assert_int_equal(tc_kit_nfields(c, NFT), 4);
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

/* Synthetic shapes aimed at the raw-digit scanner. */
static void test_supply_scanner(void **state) {
    (void)state;
    static const char *const ids[] = {
        "Decoy111111111111111111111111111111111111111", "ExpForm1111111111111111111111111111111111111",
        "StringForm1111111111111111111111111111111111", "Negative111111111111111111111111111111111111",
        "EscapedKey1111111111111111111111111111111111", "TooBigForUsixtyFour1111111111111111111111111",
        "Mismatched1111111111111111111111111111111111", "QuotedKeys1111111111111111111111111111111111"};
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, ids, 8, 200, "helius/supply_decoys.json", &c), TC_OK);
    assert_int_equal(c->refused, 0);
    /* a nested "token_info" elsewhere in the asset is not the asset's */
    KIT_ASSERT_STR(c, ids[0], TC_SUPPLY, "9007199254740993");
    KIT_ASSERT_NUM(c, ids[0], TC_DECIMALS, 0);
    /* exponent form: integral, so formatted from the double, with a warning */
    KIT_ASSERT_STR(c, ids[1], TC_SUPPLY, "18000000000000000000");
    /* a string of digits is accepted, leading zeros dropped */
    KIT_ASSERT_STR(c, ids[2], TC_SUPPLY, "42");
    /* negative: not a supply */
    KIT_ASSERT_UNSET(c, ids[3], TC_SUPPLY);
    assert_true(tc_kit_known(c, ids[3]));
    /* an escaped key defeats the scanner: documented fallback to the double */
    KIT_ASSERT_STR(c, ids[4], TC_SUPPLY, "9007199254740992");
    /* 2^64 does not fit a u64 */
    KIT_ASSERT_UNSET(c, ids[5], TC_SUPPLY);
    /* another id at this position: never attributed */
    assert_false(tc_kit_known(c, ids[6]));
    /* quotes, braces and backslashes inside strings do not confuse it */
    KIT_ASSERT_STR(c, ids[7], TC_SUPPLY, "77");
    KIT_ASSERT_STR(c, ids[7], TC_NAME, "\"token_info\": {\"supply\": 1} [ \\");
    assert_int_equal(tc_kit_log_count(in, TC_LOG_WARN), 5); /* exp, negative, escaped, 2^64, mismatch */
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

/* A full 1000-id answer, half null, large supplies at every other position. */
static void test_parse_full_chunk(void **state) {
    (void)state;
    enum { N = 1000 };
    static char idbuf[N][48];
    static const char *ids[N];
    size_t cap = N * 200 + 64, len = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    len += (size_t)sprintf(body + len, "{\"jsonrpc\":\"2.0\",\"result\":[");
    for (int i = 0; i < N; i++) {
        sprintf(idbuf[i], "Mint%05dAbcdefghijkmnopqrstuvwxyz12345678", i);
        ids[i] = idbuf[i];
        if (i) body[len++] = ',';
        if (i % 2)
            len += (size_t)sprintf(body + len, "null");
        else
            len += (size_t)sprintf(body + len,
                                   "{\"id\":\"%s\",\"supply\":null,\"token_info\":{\"decimals\":%d,"
                                   "\"supply\":%llu}}",
                                   ids[i], i % 10, 18446744073709551615ULL - (unsigned long long)i);
    }
    len += (size_t)sprintf(body + len, "],\"id\":\"tc\"}");
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse(in, ids, N, 200, body, len, &c), TC_OK);
    assert_int_equal(c->refused, 0);
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            assert_false(tc_kit_known(c, ids[i]));
            continue;
        }
        char want[32];
        snprintf(want, sizeof want, "%llu", 18446744073709551615ULL - (unsigned long long)i);
        KIT_ASSERT_STR(c, ids[i], TC_SUPPLY, want);
        KIT_ASSERT_NUM(c, ids[i], TC_DECIMALS, i % 10);
    }
    tc_kit_result_free(c);
    free(body);
    tc_kit_destroy(in);
}

static void test_rpc_errors(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "helius/rpc_error_rate_limit.json", &c),
                     TC_RETRY);
    assert_string_equal(c->outcome->message, "JSON-RPC error -32005: Rate limit exceeded");
    assert_int_equal(c->outcome->retry_after_ms, -1);
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);

    assert_int_equal(
        kit_parse_fixture(in, batch, NBATCH, 200, "helius/rpc_error_invalid_params.json", &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "JSON-RPC error -32602: Invalid params: invalid pubkey: notanaddress");
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);

    /* documented 404 for a batch with unknown ids: fatal, nothing known */
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 404, "helius/not_found_404.json", &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 404: JSON-RPC error -32000: One or more assets in the batch were not found.");
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);

    /* the same rate-limit body with HTTP 429 (the host never passes 429/408/5xx
     * on; one that gets here is fatal like any other non-2xx) */
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 429, "helius/rpc_error_rate_limit.json", &c),
                     TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 429: JSON-RPC error -32005: Rate limit exceeded");
    tc_kit_result_free(c);
    const char *plain404 = "{\"error\":\"not found\"}";
    assert_int_equal(kit_parse(in, batch, NBATCH, 404, plain404, strlen(plain404), &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 404: error: not found");
    tc_kit_result_free(c);
    assert_int_equal(kit_parse(in, batch, NBATCH, 403, "<html>Forbidden</html>", 22, &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 403: <html>Forbidden</html>");
    tc_kit_result_free(c);
    assert_int_equal(kit_parse(in, batch, NBATCH, 500, "oops", 4, &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "HTTP 500: oops");
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_wrong_shapes(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    const char *const two[] = {USDC, MISSING};
    assert_int_equal(kit_parse_fixture(in, two, 2, 200, "helius/short_result.json", &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "result has 1 entries for 2 requested ids");
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);

    assert_int_equal(kit_parse_fixture(in, two, 2, 200, "helius/all_null.json", &c), TC_OK);
    assert_true(tc_kit_empty(c));
    tc_kit_result_free(c);

    const char *arr = "[{\"jsonrpc\":\"2.0\",\"result\":[null,null]}]";
    assert_int_equal(kit_parse(in, two, 2, 200, arr, strlen(arr), &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "expected a JSON-RPC object, got an array");
    tc_kit_result_free(c);

    const char *nores = "{\"jsonrpc\":\"2.0\",\"id\":\"tc\"}";
    assert_int_equal(kit_parse(in, two, 2, 200, nores, strlen(nores), &c), TC_FATAL);
    assert_string_equal(c->outcome->message, "JSON-RPC response without a result array");
    tc_kit_result_free(c);

    const char *strerr = "{\"jsonrpc\":\"2.0\",\"error\":\"overloaded\",\"id\":\"tc\"}";
    assert_int_equal(kit_parse(in, two, 2, 200, strerr, strlen(strerr), &c), TC_RETRY);
    assert_string_equal(c->outcome->message, "error: overloaded");
    tc_kit_result_free(c);

    /* "error": null next to a result is a success */
    const char *nullerr = "{\"jsonrpc\":\"2.0\",\"error\":null,\"result\":[null,{\"id\":\"" MISSING "\"}]}";
    assert_int_equal(kit_parse(in, two, 2, 200, nullerr, strlen(nullerr), &c), TC_OK);
    assert_true(tc_kit_known(c, MISSING));
    assert_false(tc_kit_known(c, USDC));
    tc_kit_result_free(c);
    tc_kit_destroy(in);
}

static void test_truncated_and_malformed(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    tc_kit_result *c;
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "helius/truncated.json", &c), TC_RETRY);
    assert_true(tc_kit_empty(c)); /* USDC was complete in the text: still nothing */
    assert_non_null(strstr(c->outcome->message, "truncated JSON"));
    tc_kit_result_free(c);
    assert_int_equal(kit_parse_fixture(in, batch, NBATCH, 200, "helius/malformed.json", &c), TC_RETRY);
    assert_true(tc_kit_empty(c));
    assert_non_null(strstr(c->outcome->message, "malformed JSON at offset"));
    tc_kit_result_free(c);

    kit_assert_prefixes_retry(in, batch, NBATCH, "helius/batch.json");
    tc_kit_destroy(in);
}

static void test_mutations_never_crash(void **state) {
    (void)state;
    tc_kit_instance *in = kit_make(NULL);
    size_t counts[3] = {0, 0, 0};
    kit_assert_fuzz_clean(in, batch, NBATCH, "helius/batch.json", 777u, 400, counts);
    assert_true(counts[TC_OK] > 0 && counts[TC_RETRY] > 0);
    static const char *const ids[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    kit_assert_fuzz_clean(in, ids, 8, "helius/supply_decoys.json", 4242u, 300, NULL);
    tc_kit_destroy(in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_request_body_and_url),
        cmocka_unit_test(test_request_key_and_escaping),
        cmocka_unit_test(test_request_limits),
        cmocka_unit_test(test_parse_batch),
        cmocka_unit_test(test_supply_scanner),
        cmocka_unit_test(test_parse_full_chunk),
        cmocka_unit_test(test_rpc_errors),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_truncated_and_malformed),
        cmocka_unit_test(test_mutations_never_crash),
    };
    return kit_run("helius", tests);
}
