/* The API's JSON writer: doubles as their shortest exact decimal (the same
 * digits as format_double, read back bit for bit), strings escaped and
 * repaired to UTF-8, integers. */
/* cmocka needs these first, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jsonw.h"
#include "record.h"

static uint64_t g_rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
    return xorshift64_star(&g_rng);
}

/* The significant digits of a decimal text ("0.00120" -> "12"). */
static void digits_of(const char *s, char *out)
{
    size_t n = 0;
    for (; *s && *s != 'e' && *s != 'E'; s++)
        if (*s >= '0' && *s <= '9' && (n || *s != '0'))
            out[n++] = *s;
    while (n > 1 && out[n - 1] == '0')
        n--;
    out[n] = '\0';
}

static void same_as_format_double(double x)
{
    char mine[40], ref[32], a[40], b[40];
    size_t n = jw_format_double(mine, x);
    assert_int_equal(n, strlen(mine));
    format_double(ref, x);
    /* format_double's fast path prints what the printf loop printed, byte
     * for byte (stored records are compared as text). */
    char printf_ref[32];
    format_double_printf(printf_ref, x);
    if (strcmp(ref, printf_ref))
        fail_msg("%a: format_double %s, printf %s", x, ref, printf_ref);
    if (strtod(mine, NULL) != x)
        fail_msg("%a: %s does not read back", x, mine);
    digits_of(mine, a);
    digits_of(ref, b);
    if (strcmp(a, b))
        fail_msg("%a: %s, format_double %s", x, mine, ref);
    /* A JSON number: cJSON reads it back too. */
    cJSON *j = cJSON_Parse(mine);
    assert_true(cJSON_IsNumber(j));
    assert_true(j->valuedouble == x);
    cJSON_Delete(j);
}

static void doubles_read_back_exactly(void **state)
{
    (void)state;
    for (int i = 0; i < 400000; i++) {
        double x;
        switch (i % 5) {
        case 0: {
            uint64_t bits = rnd();
            memcpy(&x, &bits, sizeof x);
            if (!isfinite(x))
                continue;
            break;
        }
        case 1:
            x = (double)(rnd() % 1000000) / pow(10, (double)(rnd() % 12));
            break;
        case 2:
            x = (double)(rnd() % 997 + 1) * 0.0137 * (double)(rnd() % 3 + 1) * 1e9;
            break;
        case 3:
            x = (double)(rnd() >> 11) * 0x1p-53 * pow(10, (double)((int)(rnd() % 40) - 20));
            break;
        default:
            x = (double)(rnd() % 100000) / 7.0 * pow(10, (double)((int)(rnd() % 30) - 15));
            break;
        }
        same_as_format_double(x);
    }
}

static void doubles_next_to_powers_of_ten(void **state)
{
    (void)state;
    for (int e = -20; e <= 22; e++) {
        double p = pow(10, e);
        double around[] = {p, nextafter(p, 0), nextafter(p, INFINITY), nextafter(nextafter(p, 0), 0), -p};
        for (size_t k = 0; k < sizeof around / sizeof around[0]; k++)
            same_as_format_double(around[k]);
    }
    static const double special[] = {0.1 + 0.2,
                                     5e-324,
                                     2.2250738585072014e-308,
                                     1.7976931348623157e308,
                                     9007199254740993.0,
                                     123456789012345678.0,
                                     0.5,
                                     1e-7,
                                     1.5e-7,
                                     1e21,
                                     1e20,
                                     99999999999999.99,
                                     3.7e-9,
                                     1.0 / 3};
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
        same_as_format_double(special[k]);
    static const double odd[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e15, 1e16, 1e17, 123456789012345.6,
                                 -1e-5, 1e-4, 0.0001234, 1e100, 1e-100, -2.5e+300};
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        char a[32], b[32];
        format_double(a, odd[k]);
        format_double_printf(b, odd[k]);
        assert_string_equal(a, b);
    }
    char out[40];
    jw_format_double(out, 0.0);
    assert_string_equal(out, "0");
    jw_format_double(out, -0.0);
    assert_string_equal(out, "0");
    jw_format_double(out, 1e-7);
    assert_string_equal(out, "0.0000001");
    jw_format_double(out, 1.5e-8);
    assert_string_equal(out, "1.5e-8");
    jw_format_double(out, 0.30000000000000004);
    assert_string_equal(out, "0.30000000000000004");
    jw_format_double(out, 1234.5);
    assert_string_equal(out, "1234.5");
    jw_format_double(out, -42);
    assert_string_equal(out, "-42");
}

static void non_finite_is_null(void **state)
{
    (void)state;
    strbuf b = {0};
    jw_number(&b, NAN);
    jw_raw(&b, ",", 1);
    jw_number(&b, INFINITY);
    jw_raw(&b, ",", 1);
    jw_int(&b, INT64_MIN);
    jw_raw(&b, ",", 1);
    jw_int(&b, 0);
    assert_string_equal(b.data, "null,null,-9223372036854775808,0");
    sb_free(&b);
}

static void strings_are_escaped_and_utf8(void **state)
{
    (void)state;
    strbuf b = {0};
    const char in[] = "a\"b\\c\n\t\x01\x1f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad\xff\xc3 \xed\xa0\x80 /<";
    jw_string(&b, in, sizeof in - 1);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                                "bad\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd /<\"");
    cJSON *j = cJSON_Parse(b.data);
    assert_true(cJSON_IsString(j));
    cJSON_Delete(j);
    b.len = 0;
    jw_cstring(&b, NULL);
    assert_string_equal(b.data, "null");
    b.len = 0;
    const char raw[] = "{\"a\": \"x\xff\", \"b\": 1}";
    jw_raw_utf8(&b, raw, sizeof raw - 1);
    assert_string_equal(b.data, "{\"a\": \"x\xef\xbf\xbd\", \"b\": 1}");
    assert_true(jw_utf8_valid("caf\xc3\xa9", 5));
    assert_false(jw_utf8_valid("caf\xc3", 4));
    assert_false(jw_utf8_valid("\xc0\x80", 2)); /* overlong */
    sb_free(&b);
}

/* values_to_json as it was written with a cJSON tree: the reference the
 * stored token_sources.data texts were made by. */
static char *record_by_cjson(const tc_values *v)
{
    cJSON *o = cJSON_CreateObject();
    for (int f = 1; f < FIELD_SLOTS; f++) {
        if (!values_has(v, f))
            continue;
        if (field_is_string(f))
            cJSON_AddStringToObject(o, field_name(f), v->str[f]);
        else if (isfinite(v->num[f])) {
            char num[32];
            format_double_printf(num, v->num[f]);
            cJSON_AddRawToObject(o, field_name(f), num);
        }
    }
    for (int kind = TC_LINK_WEBSITE; kind <= TC_LINK_SOCIAL; kind++) {
        if (!values_count_links(v, kind))
            continue;
        cJSON *arr = cJSON_AddArrayToObject(o, kind == TC_LINK_WEBSITE ? "websites" : "socials");
        for (size_t i = 0; i < v->n_links; i++) {
            if (v->links[i].kind != kind)
                continue;
            cJSON *l = cJSON_CreateObject();
            cJSON_AddStringToObject(l, kind == TC_LINK_WEBSITE ? "label" : "type",
                                    v->links[i].label ? v->links[i].label : "");
            cJSON_AddStringToObject(l, "url", v->links[i].url);
            cJSON_AddItemToArray(arr, l);
        }
    }
    if (v->n_extras) {
        cJSON *x = cJSON_AddObjectToObject(o, "extra");
        for (size_t i = 0; i < v->n_extras; i++) {
            const extra_rec *e = &v->extras[i];
            char num[32];
            if (e->type == EXTRA_STR)
                cJSON_AddStringToObject(x, e->key, e->str);
            else if (e->type == EXTRA_BOOL)
                cJSON_AddBoolToObject(x, e->key, e->num != 0);
            else if (isfinite(e->num)) {
                format_double_printf(num, e->num);
                cJSON_AddRawToObject(x, e->key, num);
            }
        }
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void same_record_text(const tc_values *v)
{
    char *mine = values_to_json(v), *ref = record_by_cjson(v);
    assert_string_equal(mine, ref);
    free(mine);
    free(ref);
}

/* The record written without a tree is the cJSON printer's text, byte for
 * byte: SQLite compares it with what earlier versions stored. */
static void records_same_text_as_cjson(void **state)
{
    (void)state;
    static const char tricky[] = "q\"b\\s/ \x01\x1f\b\f\n\r\t caf\xc3\xa9 \xf0\x9f\x98\x80 {[,]} \x7f";
    tc_values v;
    memset(&v, 0, sizeof v);
    same_record_text(&v);
    values_set_str(&v, TC_NAME, tricky);
    values_set_str(&v, TC_SYMBOL, "");
    values_set_str(&v, TC_SUPPLY, "18446744073709551615");
    values_set_num(&v, TC_DECIMALS, 9);
    values_set_num(&v, TC_PRICE_USD, 0.1 + 0.2);
    values_set_num(&v, TC_MARKET_CAP, 1e300);
    values_set_num(&v, TC_FDV, 1e-7);
    values_set_num(&v, TC_LIQUIDITY_USD, -0.0);
    values_set_num(&v, TC_VOLUME_24H, NAN);
    values_set_num(&v, TC_CHANGE_24H, 123456789012345678.0);
    same_record_text(&v);
    values_add_link(&v, TC_LINK_SOCIAL, NULL, "https://x.com/\"j\"");
    values_add_link(&v, TC_LINK_WEBSITE, "Site \\ 1", "https://j.example");
    values_add_link(&v, TC_LINK_WEBSITE, NULL, "https://j2.example");
    values_add_link(&v, TC_LINK_SOCIAL, "telegram", "https://t.me/\x02x");
    same_record_text(&v);
    values_set_extra(&v, "holders", EXTRA_NUM, 12345, NULL);
    values_set_extra(&v, "ratio", EXTRA_NUM, 1.0 / 3, NULL);
    values_set_extra(&v, "verified", EXTRA_BOOL, 1, NULL);
    values_set_extra(&v, "frozen", EXTRA_BOOL, 0, NULL);
    values_set_extra(&v, "note", EXTRA_STR, 0, tricky);
    same_record_text(&v);
    values_clear(&v);
    for (int i = 0; i < 2000; i++) { /* market data as the plugins give it */
        memset(&v, 0, sizeof v);
        for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++) {
            uint64_t r = rnd();
            double x = (double)(r >> 11) * 0x1p-53 * pow(10, (double)((int)(r % 24) - 12));
            values_set_num(&v, f, r & 1 ? -x : x);
        }
        same_record_text(&v);
        values_clear(&v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_read_back_exactly),
        cmocka_unit_test(doubles_next_to_powers_of_ten),
        cmocka_unit_test(records_same_text_as_cjson),
        cmocka_unit_test(non_finite_is_null),
        cmocka_unit_test(strings_are_escaped_and_utf8),
    };
    return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
