/* The plugin SDK (include/tokencollector/sdk.h, sdk/json.h): the string
 * builder and its escapes, the text helpers, the base_url rules, outcomes
 * (a non-2xx is fatal, whatever its code: retrying 408/429/5xx is the
 * host's), the address index and the cJSON helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <tokencollector/sdk.h>
#include <tokencollector/sdk/json.h>

/* ---- strbuf ---------------------------------------------------------------- */

static void strbuf_appends_and_escapes(void **state)
{
    (void)state;
    tc_sb sb;
    tc_sb_init(&sb);
    assert_string_equal(tc_sb_str(&sb), ""); /* nothing appended yet */
    tc_sb_puts(&sb, "https://x/q?ids=");
    tc_sb_putc(&sb, '[');
    tc_sb_putn(&sb, "abcdef", 3);
    tc_sb_putc(&sb, ']');
    assert_string_equal(tc_sb_str(&sb), "https://x/q?ids=[abc]");
    tc_sb_free(&sb);

    tc_sb_put_urlenc(&sb, "So1 a/b?&=%~-._Z9\xc3\xa9");
    assert_string_equal(tc_sb_str(&sb), "So1%20a%2Fb%3F%26%3D%25~-._Z9%C3%A9");
    tc_sb_free(&sb);

    tc_sb_put_json_str(&sb, "a\"b\\c\n\x01\x1f\xc3\xa9/");
    assert_string_equal(tc_sb_str(&sb), "\"a\\\"b\\\\c\\u000a\\u0001\\u001f\xc3\xa9/\"");
    tc_sb_free(&sb);
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);

    /* Growth past the first 64 bytes keeps every byte. */
    for (int i = 0; i < 1000; i++)
        tc_sb_putc(&sb, (char)('a' + i % 26));
    assert_int_equal(strlen(tc_sb_str(&sb)), 1000);
    assert_int_equal(tc_sb_str(&sb)[999], 'a' + 999 % 26);
    tc_sb_free(&sb);
}

static void strbuf_errors_are_sticky(void **state)
{
    (void)state;
    tc_sb sb;
    tc_sb_init(&sb);
    tc_sb_puts(&sb, "ok");
    assert_int_equal(tc_sb_reserve(&sb, SIZE_MAX - 1), -1); /* refused, not wrapped */
    tc_sb_puts(&sb, "more");
    assert_null(tc_sb_str(&sb));
    assert_int_equal(tc_sb_reserve(&sb, 1), -1);
    tc_sb_free(&sb);
    assert_string_equal(tc_sb_str(&sb), ""); /* free resets the error too */
}

/* ---- text ------------------------------------------------------------------- */

static void text_lower_truncates(void **state)
{
    (void)state;
    char buf[8];
    tc_text_lower(buf, sizeof buf, "TeLeGram-X");
    assert_string_equal(buf, "telegra"); /* 7 bytes + NUL */
    tc_text_lower(buf, sizeof buf, "A1_Z");
    assert_string_equal(buf, "a1_z");
    tc_text_lower(buf, 1, "ABC");
    assert_string_equal(buf, "");
    buf[0] = 'q';
    tc_text_lower(buf, 0, "ABC"); /* no room: nothing written */
    assert_int_equal(buf[0], 'q');
}

static void text_strtod_exact_takes_only_plain_decimals(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(tc_text_strtod_exact("1.5", &v), 0);
    assert_true(v == 1.5);
    assert_int_equal(tc_text_strtod_exact("-2e3", &v), 0);
    assert_true(v == -2000.0);
    assert_int_equal(tc_text_strtod_exact("+0.25", &v), 0);
    assert_true(v == 0.25);

    static const char *const bad[] = {"", " 1", "1 ", "inf", "nan", "0x10", "1e999", "1.2.3", "e", "-", "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 42;
        if (tc_text_strtod_exact(bad[i], &v) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(v == 42); /* untouched on failure */
    }
    assert_int_equal(tc_text_strtod_exact(NULL, &v), -1);
}

static void text_sanitize_keeps_printable_ascii(void **state)
{
    (void)state;
    char buf[16];
    const char *s = "a\nb\tc\r\x01\x7f\xc3z";
    tc_text_sanitize(buf, s, strlen(s), 15);
    assert_string_equal(buf, "a b c ???z");
    tc_text_sanitize(buf, "abcdef", 6, 4);
    assert_string_equal(buf, "abcd");
    tc_text_sanitize(buf, "abc\0def", 7, 15); /* LEN, not the NUL, bounds it */
    assert_int_equal(buf[3], '?');
    assert_string_equal(buf + 4, "def");
    tc_text_sanitize(buf, NULL, 10, 15);
    assert_string_equal(buf, "");
}

/* ---- settings ---------------------------------------------------------------- */

struct tc_settings {
    const char *base_url;
};

static const char *fake_setting(const tc_settings *s, const char *key)
{
    return strcmp(key, "base_url") == 0 ? s->base_url : NULL;
}

/* tc_setting_base_url with base_url set to VALUE (NULL: unset) and default
 * DEF: 0 and *OUT, or -1 and ERR. */
static int base_url(const char *value, const char *def, char **out, char *err, size_t errlen)
{
    tc_host host = {.struct_size = sizeof host, .setting = fake_setting};
    tc_settings s = {value};
    *out = NULL;
    err[0] = '\0';
    return tc_setting_base_url(&host, &s, def, out, err, errlen);
}

static void settings_base_url_rules(void **state)
{
    (void)state;
    char err[128];
    char *url;
    assert_int_equal(base_url(NULL, "https://api.example.com", &url, err, sizeof err), 0);
    assert_string_equal(url, "https://api.example.com");
    free(url);
    assert_int_equal(base_url("", "https://d.example", &url, err, sizeof err), 0);
    assert_string_equal(url, "https://d.example");
    free(url);
    assert_int_equal(base_url("http://127.0.0.1:8080/v1///", "https://d.example", &url, err, sizeof err), 0);
    assert_string_equal(url, "http://127.0.0.1:8080/v1");
    free(url);

    assert_int_equal(base_url(NULL, "", &url, err, sizeof err), -1);
    assert_string_equal(err, "base_url is required");
    assert_null(url);
    assert_int_equal(base_url("ftp://secret@h", "https://d", &url, err, sizeof err), -1);
    assert_string_equal(err, "base_url must be an http:// or https:// URL with a host");
    assert_null(strstr(err, "secret")); /* the value is never echoed */
    assert_int_equal(base_url("https:///", "https://d", &url, err, sizeof err), -1);
    assert_string_equal(err, "base_url must be an http:// or https:// URL with a host");
    static const char *const bad[] = {"https://a b", "https://a?key=1", "https://a#f", "https://a\x7f",
                                      "https://a\tb"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(base_url(bad[i], "https://d", &url, err, sizeof err), -1);
        assert_string_equal(err, "base_url must not contain spaces, control characters, '?' or '#'");
        assert_null(url);
    }

    /* A host without the setting service: the default. */
    tc_host bare = {.struct_size = sizeof bare};
    assert_int_equal(tc_setting_base_url(&bare, NULL, "https://d.example/", &url, err, sizeof err), 0);
    assert_string_equal(url, "https://d.example");
    free(url);
}

/* ---- outcome ---------------------------------------------------------------- */

static void outcome_set_formats_and_truncates(void **state)
{
    (void)state;
    tc_outcome o = {.struct_size = sizeof o, .retry_after_ms = -1};
    tc_outcome_set(&o, 1500, "JSON-RPC error %d: %s", -32005, "slow down");
    assert_int_equal(o.retry_after_ms, 1500);
    assert_string_equal(o.message, "JSON-RPC error -32005: slow down");
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tc_outcome_set(&o, -1, "%s", big);
    assert_int_equal(o.retry_after_ms, -1);
    assert_int_equal(strlen(o.message), sizeof o.message - 1);
    tc_outcome_set(NULL, -1, "no outcome: a no-op"); /* must not crash */
}

static tc_status reject(long status, const char *body, tc_outcome *o)
{
    tc_response res = {sizeof res, status, body, body ? strlen(body) : 0, "text/plain"};
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->retry_after_ms = 7; /* overwritten only when the status is rejected */
    strcpy(o->message, "untouched");
    return tc_outcome_reject_non_2xx(&res, o);
}

static void outcome_reject_non_2xx(void **state)
{
    (void)state;
    tc_outcome o;
    static const long ok[] = {200, 201, 204, 299};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(reject(ok[i], "{}", &o), TC_OK);
        assert_string_equal(o.message, "untouched");
        assert_int_equal(o.retry_after_ms, 7);
    }
    assert_int_equal(reject(404, "{\"error\":\"not\nfound\"}", &o), TC_FATAL);
    assert_string_equal(o.message, "HTTP 404: {\"error\":\"not found\"}");
    assert_int_equal(o.retry_after_ms, -1);
    assert_int_equal(reject(199, "", &o), TC_FATAL);
    assert_string_equal(o.message, "HTTP 199: ");
    assert_int_equal(reject(302, NULL, &o), TC_FATAL);
    assert_string_equal(o.message, "HTTP 302: ");

    /* No retry policy here: the host retries 408, 429 and 5xx before a
     * plugin could see them, so one that does reach it is rejected too. */
    static const long host_owned[] = {408, 429, 500, 502, 503, 599};
    for (size_t i = 0; i < sizeof host_owned / sizeof *host_owned; i++) {
        if (reject(host_owned[i], "busy", &o) != TC_FATAL)
            fail_msg("HTTP %ld was not rejected", host_owned[i]);
        char want[32];
        snprintf(want, sizeof want, "HTTP %ld: busy", host_owned[i]);
        assert_string_equal(o.message, want);
        assert_int_equal(o.retry_after_ms, -1);
    }

    char big[300];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(reject(400, big, &o), TC_FATAL);
    assert_int_equal(strlen(o.message), strlen("HTTP 400: ") + 100); /* body excerpt capped at 100 */
}

/* ---- addr_index ------------------------------------------------------------- */

static void addr_index_finds_first_positions(void **state)
{
    (void)state;
    const char *const addrs[] = {"So11111111111111111111111111111111111111112", NULL, "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN",
                                 "So11111111111111111111111111111111111111112", "0xAbC"};
    tc_addr_index ix;
    assert_int_equal(tc_addr_index_init(&ix, addrs, 5, 0), 0);
    assert_int_equal(tc_addr_index_find(&ix, "So11111111111111111111111111111111111111112"), 0); /* first wins */
    assert_int_equal(tc_addr_index_find(&ix, "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"), 2);
    assert_int_equal(tc_addr_index_find(&ix, "0xAbC"), 4);
    assert_int_equal(tc_addr_index_find(&ix, "0xabc"), -1); /* base58 is case-sensitive */
    assert_int_equal(tc_addr_index_find(&ix, "jupyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"), -1);
    assert_int_equal(tc_addr_index_find(&ix, ""), -1);
    assert_int_equal(tc_addr_index_find(&ix, NULL), -1);
    tc_addr_index_free(&ix);
    assert_null(ix.slots);

    assert_int_equal(tc_addr_index_init(&ix, addrs, 5, 1), 0);
    assert_int_equal(tc_addr_index_find(&ix, "0xabc"), 4);
    assert_int_equal(tc_addr_index_find(&ix, "0XABC"), 4);
    assert_int_equal(tc_addr_index_find(&ix, "0xabd"), -1);
    tc_addr_index_free(&ix);

    /* Enough entries to force collisions and wrap-around probing. */
    enum { N = 3000 };
    static char names[N][20];
    static const char *many[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        many[i] = names[i];
    }
    assert_int_equal(tc_addr_index_init(&ix, many, N, 0), 0);
    for (int i = 0; i < N; i++)
        if (tc_addr_index_find(&ix, names[i]) != i)
            fail_msg("%s not at %d", names[i], i);
    assert_int_equal(tc_addr_index_find(&ix, "m3000"), -1);
    tc_addr_index_free(&ix);
    /* Folding reaches the hash, not only the comparison. */
    for (int i = 0; i < N; i++)
        snprintf(names[i], sizeof names[i], "0xAB%dCD", i);
    assert_int_equal(tc_addr_index_init(&ix, many, N, 1), 0);
    for (int i = 0; i < N; i++) {
        char lower[20];
        snprintf(lower, sizeof lower, "0xab%dcd", i);
        if (tc_addr_index_find(&ix, lower) != i)
            fail_msg("%s not at %d", lower, i);
    }
    tc_addr_index_free(&ix);

    assert_int_equal(tc_addr_index_init(&ix, addrs, 0, 0), 0); /* empty chunk */
    assert_int_equal(tc_addr_index_find(&ix, "x"), -1);
    tc_addr_index_free(&ix);
    assert_int_equal(tc_addr_index_init(&ix, many, (size_t)INT32_MAX, 0), -1); /* too large */
}

/* ---- compat ----------------------------------------------------------------- */

static void compat_has_member_reads_struct_size(void **state)
{
    (void)state;
    tc_response r = {.struct_size = sizeof r};
    assert_true(TC_HAS_MEMBER(&r, tc_response, content_type));
    r.struct_size = (uint32_t)offsetof(tc_response, body_len); /* an older, shorter struct */
    assert_true(TC_HAS_MEMBER(&r, tc_response, body));
    assert_false(TC_HAS_MEMBER(&r, tc_response, body_len));
    assert_false(TC_HAS_MEMBER(&r, tc_response, content_type));
    tc_host h = {.struct_size = (uint32_t)offsetof(tc_host, request_body)};
    assert_false(TC_HAS_MEMBER(&h, tc_host, request_body));
    h.struct_size = sizeof h;
    assert_true(TC_HAS_MEMBER(&h, tc_host, request_body));
}

/* ---- json ------------------------------------------------------------------- */

static cJSON *parse(const char *body, tc_outcome *o)
{
    tc_response res = {sizeof res, 200, body, strlen(body), "application/json"};
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    return tc_json_parse(&res, o);
}

static void json_parse_names_what_is_wrong(void **state)
{
    (void)state;
    tc_outcome o;
    assert_null(parse("", &o));
    assert_string_equal(o.message, "empty response body");
    assert_int_equal(o.retry_after_ms, -1);
    assert_null(parse("{\"a\":[1,{\"b\":\"x}", &o));
    assert_non_null(strstr(o.message, "truncated JSON: body ends inside an open value"));
    assert_non_null(strstr(o.message, "of 16)"));
    assert_null(parse("{\"a\":1,]", &o));
    assert_non_null(strstr(o.message, "malformed JSON at offset "));
    assert_non_null(strstr(o.message, " of 8 near '"));
    assert_null(parse("{} x", &o));
    assert_string_equal(o.message, "malformed JSON: trailing data at offset 3 of 4");
    assert_null(parse("[1] [2]", &o));
    assert_string_equal(o.message, "malformed JSON: trailing data at offset 4 of 7");

    cJSON *root = parse(" {\"a\":1} \r\n\t", &o); /* surrounding white space is fine */
    assert_non_null(root);
    cJSON_Delete(root);
}

static void json_getters_check_types(void **state)
{
    (void)state;
    tc_outcome o;
    cJSON *root = parse("{\"o\":{\"n\":2.5,\"big\":1e999,\"s\":\"v\",\"e\":\"\",\"z\":null},"
                        "\"a\":[{\"n\":1}],\"s\":\"top\",\"N\":3}",
                        &o);
    assert_non_null(root);
    const cJSON *obj = tc_json_obj(root, "o");
    assert_non_null(obj);
    assert_null(tc_json_obj(root, "a"));  /* an array, not an object */
    assert_null(tc_json_obj(root, "missing"));
    assert_null(tc_json_obj(NULL, "o"));
    const cJSON *arr = tc_json_arr(root, "a");
    assert_non_null(arr);
    assert_null(tc_json_arr(root, "o"));
    assert_null(tc_json_get(arr, "n")); /* arrays have no keys, not even their first element's */
    assert_null(tc_json_get(root, "n")); /* case-sensitive: "N" is another key */

    assert_string_equal(tc_json_str(root, "s"), "top");
    assert_string_equal(tc_json_str(obj, "s"), "v");
    assert_null(tc_json_str(obj, "e")); /* empty string: not a value */
    assert_null(tc_json_str(obj, "z"));
    assert_null(tc_json_str(obj, "n"));

    double v = -1;
    assert_int_equal(tc_json_num(obj, "n", &v), 1);
    assert_true(v == 2.5);
    v = -1;
    assert_int_equal(tc_json_num(obj, "big", &v), 0); /* not finite */
    assert_int_equal(tc_json_num(obj, "z", &v), 0);
    assert_int_equal(tc_json_num(obj, "s", &v), 0);
    assert_int_equal(tc_json_num(NULL, "n", &v), 0);
    assert_true(v == -1);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strbuf_appends_and_escapes),
        cmocka_unit_test(strbuf_errors_are_sticky),
        cmocka_unit_test(text_lower_truncates),
        cmocka_unit_test(text_strtod_exact_takes_only_plain_decimals),
        cmocka_unit_test(text_sanitize_keeps_printable_ascii),
        cmocka_unit_test(settings_base_url_rules),
        cmocka_unit_test(outcome_set_formats_and_truncates),
        cmocka_unit_test(outcome_reject_non_2xx),
        cmocka_unit_test(addr_index_finds_first_positions),
        cmocka_unit_test(compat_has_member_reads_struct_size),
        cmocka_unit_test(json_parse_names_what_is_wrong),
        cmocka_unit_test(json_getters_check_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
