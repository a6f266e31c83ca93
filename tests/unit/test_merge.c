/* Merge rules: per-field precedence, only sources that found the token, link
 * sets taken whole from one source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "merge.h"

static const char *const names[3] = {"jupiter", "helius", "dexscreener"};

static void load(config *cfg, const char *merge_section)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/tc-test-merge-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    fprintf(f, "[source jupiter]\nplugin=j.so\n[source helius]\nplugin=h.so\n[source dexscreener]\nplugin=d.so\n%s",
            merge_section);
    fclose(f);
    char err[512];
    assert_int_equal(config_load(path, cfg, err, sizeof err), 0);
    unlink(path);
}

static void defaults_follow_design(void **state)
{
    (void)state;
    config cfg;
    load(&cfg, "");
    merge_plan plan;
    merge_plan_build(&plan, &cfg, names, 3);
    tc_values v[3] = {0};
    source_outcome o[3] = {OUTCOME_FOUND, OUTCOME_FOUND, OUTCOME_FOUND};
    values_set_str(&v[0], TC_NAME, "jup name");
    values_set_str(&v[1], TC_NAME, "helius name");
    values_set_str(&v[2], TC_NAME, "dex name");
    values_set_num(&v[0], TC_DECIMALS, 0); /* 0 is a value, not "missing" */
    values_set_num(&v[1], TC_PRICE_USD, 1.0);
    values_set_num(&v[2], TC_PRICE_USD, 2.0);
    values_set_num(&v[2], TC_FDV, 3.0);
    values_add_link(&v[0], TC_LINK_SOCIAL, "twitter", "https://x.com/jup");
    values_add_link(&v[2], TC_LINK_SOCIAL, "telegram", "https://t.me/dex");
    values_add_link(&v[2], TC_LINK_SOCIAL, "twitter", "https://x.com/dex");
    values_add_link(&v[0], TC_LINK_WEBSITE, "website", "https://jup.example");
    tc_values out = {0};
    merge_token(&plan, v, o, 3, &out);
    assert_string_equal(out.str[TC_NAME], "helius name");
    assert_true(values_has(&out, TC_DECIMALS));
    assert_true(out.num[TC_DECIMALS] == 0);
    /* price: jupiter, dexscreener; jupiter has none, so dexscreener's; helius
     * is only a last resort. */
    assert_true(out.num[TC_PRICE_USD] == 2.0);
    assert_true(out.num[TC_FDV] == 3.0);
    /* socials from dexscreener (both of its), websites from jupiter as the
     * only source that has any. */
    assert_int_equal(values_count_links(&out, TC_LINK_SOCIAL), 2);
    assert_int_equal(values_count_links(&out, TC_LINK_WEBSITE), 1);
    for (size_t i = 0; i < out.n_links; i++)
        if (out.links[i].kind == TC_LINK_SOCIAL)
            assert_non_null(strstr(out.links[i].url, "dex"));
    assert_false(values_has(&out, TC_MARKET_CAP));

    /* A source that did not find the token, or failed, contributes nothing. */
    o[1] = OUTCOME_FAILED;
    o[2] = OUTCOME_MISSING;
    merge_token(&plan, v, o, 3, &out);
    assert_string_equal(out.str[TC_NAME], "jup name");
    assert_false(values_has(&out, TC_PRICE_USD));
    assert_int_equal(values_count_links(&out, TC_LINK_SOCIAL), 1);
    values_clear(&out);
    for (int i = 0; i < 3; i++)
        values_clear(&v[i]);
    config_free(&cfg);
}

static void config_overrides(void **state)
{
    (void)state;
    config cfg;
    load(&cfg, "[merge]\nname = dexscreener\nprice_usd = helius, dexscreener\n");
    merge_plan plan;
    merge_plan_build(&plan, &cfg, names, 3);
    tc_values v[3] = {0};
    source_outcome o[3] = {OUTCOME_FOUND, OUTCOME_FOUND, OUTCOME_FOUND};
    values_set_str(&v[0], TC_NAME, "jup");
    values_set_str(&v[1], TC_NAME, "hel");
    values_set_num(&v[0], TC_PRICE_USD, 1.0);
    values_set_num(&v[1], TC_PRICE_USD, 5.0);
    tc_values out = {0};
    merge_token(&plan, v, o, 3, &out);
    /* dexscreener has no name: the unnamed sources follow in config order. */
    assert_string_equal(out.str[TC_NAME], "jup");
    assert_true(out.num[TC_PRICE_USD] == 5.0);
    values_clear(&out);
    for (int i = 0; i < 3; i++)
        values_clear(&v[i]);
    config_free(&cfg);
}

static void record_json(void **state)
{
    (void)state;
    tc_values v = {0};
    values_set_str(&v, TC_NAME, "Quote \" and \\ é");
    values_set_str(&v, TC_SUPPLY, "18446744073709551615");
    values_set_num(&v, TC_PRICE_USD, 0.1 + 0.2);
    values_add_link(&v, TC_LINK_WEBSITE, NULL, "https://a.example");
    values_add_link(&v, TC_LINK_WEBSITE, "docs", "https://a.example"); /* same url: kept once */
    char *json = values_to_json(&v);
    assert_string_equal(json, "{\"name\":\"Quote \\\" and \\\\ é\",\"supply\":\"18446744073709551615\","
                              "\"price_usd\":0.30000000000000004,\"websites\":[{\"label\":\"\",\"url\":"
                              "\"https://a.example\"}]}");
    free(json);
    values_clear(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_follow_design),
        cmocka_unit_test(config_overrides),
        cmocka_unit_test(record_json),
    };
    return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}
