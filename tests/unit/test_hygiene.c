/* The hardening's pure pieces: the secrets registry and its scrub (raw,
 * percent-encoded, DSN passwords, short values ignored), text_clean (limits
 * on a character boundary, control characters, invalid UTF-8 to U+FFFD), the
 * JSON escape repair (\u0000 and lone surrogates, valid pairs and \\u kept),
 * and the base58 address check (exactly 32 bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "secrets.h"
#include "text_clean.h"
#include "util.h"

static void test_scrub_raw_and_encoded(void **state)
{
    (void)state;
    secrets_reset();
    secrets_add("k3y/with space");
    secrets_add("abc"); /* too short: not registered */
    assert_int_equal(secrets_count(), 2); /* raw and percent-encoded */
    char line[] = "GET /?api-key=k3y%2Fwith%20space and k3y/with space twice: k3y/with space; abc stays";
    assert_true(secrets_scrub(line));
    assert_string_equal(line, "GET /?api-key=*** and *** twice: ***; abc stays");
    char clean[] = "nothing here";
    assert_false(secrets_scrub(clean));
    char bin[] = {'x', 0, 'k', '3', 'y', '/', 'w', 'i', 't', 'h', ' ', 's', 'p', 'a', 'c', 'e', 'z'};
    size_t n = secrets_scrub_len(bin, sizeof bin);
    assert_int_equal(n, 6);
    assert_memory_equal(bin, "x\0***z", 6);
    secrets_reset();
}

static void test_scrub_dsn_password(void **state)
{
    (void)state;
    secrets_reset();
    config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.store = "postgresql://tc:s3cr3t-pw@db.local/tokens?password=other-pw&sslmode=disable";
    secrets_add_config(&cfg);
    char line[] = "connect tc:s3cr3t-pw@db.local failed; retry with other-pw";
    secrets_scrub(line);
    assert_string_equal(line, "connect tc:***@db.local failed; retry with ***");
    secrets_reset();
    cfg.store = "host=/tmp dbname=x password='quoted pw'";
    secrets_add_config(&cfg);
    char kv[] = "password 'quoted pw' rejected";
    secrets_scrub(kv);
    assert_string_equal(kv, "password '***' rejected");
    secrets_reset();
}

static void test_secret_key_names(void **state)
{
    (void)state;
    assert_true(secret_key_name("api_key"));
    assert_true(secret_key_name("client_secret"));
    assert_true(secret_key_name("auth_token"));
    assert_true(secret_key_name("password"));
    assert_false(secret_key_name("base_url"));
}

static void test_text_clean(void **state)
{
    (void)state;
    text_report r;
    char *s = text_clean("Bell\a Esc\x1b[31m Del\x7f C1\xc2\x85 ok", 100, 0, &r);
    assert_string_equal(s, "Bell Esc[31m Del C1 ok");
    assert_int_equal(r.controls, 4);
    assert_int_equal(r.invalid, 0);
    free(s);
    s = text_clean("a\xff" "b\xc3" "c\xed\xa0\x80" "d", 100, 0, &r); /* bad byte, cut sequence, encoded surrogate */
    assert_string_equal(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d");
    assert_int_equal(r.invalid, 5);
    free(s);
    s = text_clean("line\none\ttab\r", 100, 1, &r); /* a description keeps \n and \t */
    assert_string_equal(s, "line\none\ttab");
    free(s);
    /* the limit falls on a character boundary: "é" is not cut in half */
    s = text_clean("abc\xc3\xa9xyz", 4, 0, &r);
    assert_string_equal(s, "abc");
    assert_int_equal(r.cut, 5);
    assert_true(text_changed(&r));
    free(s);
    s = text_clean("plain", 10, 0, &r);
    assert_false(text_changed(&r));
    free(s);
}

static void test_json_escapes(void **state)
{
    (void)state;
    char a[] = "{\"n\":\"x\\u0000y\",\"m\":\"lone\\ud800\",\"p\":\"pair\\ud83d\\ude00\",\"l\":\"low\\udc00\","
               "\"k\":\"kept\\\\u0000\",\"h\":\"\\ud800\\u0041\"}";
    size_t n = text_fix_json_escapes(a, strlen(a));
    assert_int_equal(n, 4);
    assert_string_equal(a, "{\"n\":\"x\\ufffdy\",\"m\":\"lone\\ufffd\",\"p\":\"pair\\ud83d\\ude00\",\"l\":\"low\\ufffd\","
                           "\"k\":\"kept\\\\u0000\",\"h\":\"\\ufffd\\u0041\"}");
    char cut[] = "\"\\ud8";
    assert_int_equal(text_fix_json_escapes(cut, strlen(cut)), 0);
}

static void test_base58_32_bytes(void **state)
{
    (void)state;
    assert_true(is_solana_address("So11111111111111111111111111111111111111112"));
    assert_true(is_solana_address("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"));
    assert_true(is_solana_address("11111111111111111111111111111111")); /* 32 zero bytes */
    assert_false(is_solana_address("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")); /* 33 bytes */
    assert_false(is_solana_address("1111111111111111111111111111111")); /* 31 */
    assert_false(is_solana_address("So1111111111111111111111111111111111111111O")); /* O is not base58 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrub_raw_and_encoded), cmocka_unit_test(test_scrub_dsn_password),
        cmocka_unit_test(test_secret_key_names),      cmocka_unit_test(test_text_clean),
        cmocka_unit_test(test_json_escapes),          cmocka_unit_test(test_base58_32_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
