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
#include "freshness.h"
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

/* Each of the three sources' own name for the token. */
static void set_names(tc_values v[3])
{
    values_set_str(&v[0], TC_NAME, "jup name");
    values_set_str(&v[1], TC_NAME, "helius name");
    values_set_str(&v[2], TC_NAME, "dex name");
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
    set_names(v);
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

/* ---- refresh by what a source provides (freshness.h) ---- */

static void merge_market_newest_identity_by_precedence(void **state)
{
    (void)state;
    config cfg;
    load(&cfg, "[merge]\nvolume_24h_max_age = 10m\n");
    merge_plan plan;
    merge_plan_build(&plan, &cfg, names, 3);
    source_outcome o[3] = {OUTCOME_FOUND, OUTCOME_FOUND, OUTCOME_FOUND};
    tc_values v[3] = {0};
    set_names(v);
    values_set_num(&v[0], TC_PRICE_USD, 1.0);
    values_set_num(&v[2], TC_PRICE_USD, 2.0);
    values_set_num(&v[0], TC_VOLUME_24H, 10);
    values_set_num(&v[2], TC_VOLUME_24H, 20);
    int64_t now = 100000;
    /* dexscreener fetched last: its market values win; the name stays helius's */
    int64_t at[3] = {now - 700, now - 5000, now - 30};
    tc_values m = {0};
    merge_token_at(&plan, v, o, at, 3, now, &m);
    assert_string_equal(m.str[TC_NAME], "helius name");
    assert_true(values_has(&m, TC_PRICE_USD) && m.num[TC_PRICE_USD] == 2.0);
    assert_true(m.num[TC_VOLUME_24H] == 20);
    /* jupiter newer: it wins */
    at[0] = now;
    merge_token_at(&plan, v, o, at, 3, now, &m);
    assert_true(m.num[TC_PRICE_USD] == 1.0);
    /* both past the 10 minute bound of volume_24h, within price's 1 h */
    at[0] = now - 1000;
    at[2] = now - 900;
    merge_token_at(&plan, v, o, at, 3, now, &m);
    assert_false(values_has(&m, TC_VOLUME_24H));
    assert_true(m.num[TC_PRICE_USD] == 2.0);
    /* fetched together (one pass): the precedence decides, as before */
    int64_t same[3] = {now, now, now};
    merge_token_at(&plan, v, o, same, 3, now, &m);
    assert_true(m.num[TC_PRICE_USD] == 1.0);
    tc_values p = {0};
    merge_token(&plan, v, o, 3, &p);
    assert_true(p.num[TC_PRICE_USD] == 1.0);
    values_clear(&m);
    values_clear(&p);
    for (int i = 0; i < 3; i++)
        values_clear(&v[i]);
    config_free(&cfg);
}

static void bad_max_age_is_refused(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/tc-test-fresh2-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    fprintf(f, "[source jupiter]\nplugin=j.so\n[merge]\nname_max_age = 1h\n");
    fclose(f);
    config cfg;
    char err[512];
    assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, ":4: [merge] name_max_age: only the market fields"));
    f = fopen(path, "w");
    fprintf(f, "[source jupiter]\nplugin=j.so\nmarket_fields = price_usd, pryce\n");
    fclose(f);
    assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3:"));
    assert_non_null(strstr(err, "pryce"));
    unlink(path);
}

static int dummy_create(const tc_host *h, const tc_settings *s, void **self, char *e, size_t l)
{
    (void)h, (void)s, (void)self, (void)e, (void)l;
    return 0;
}

static void fields_from_declaration_config_or_core_table(void **state)
{
    (void)state;
    static const tc_field_class decl[] = {{TC_NAME, TC_FRESH_METADATA}, {TC_VOLUME_24H, TC_FRESH_MARKET},
                                          {TC_FIELD_LINKS, TC_FRESH_METADATA}, {99, TC_FRESH_MARKET}, {0, 0}};
    tc_source d = {.abi_major = 1, .abi_minor = 2, .struct_size = sizeof(tc_source), .name = "x",
                   .create = dummy_create, .fields = decl};
    source_fields f = source_fields_of(&d, NULL);
    assert_int_equal(f.market, FIELD_BIT(TC_VOLUME_24H));
    assert_int_equal(f.metadata, FIELD_BIT(TC_NAME) | FIELD_BIT(MERGE_WEBSITES) | FIELD_BIT(MERGE_SOCIALS));
    /* an ABI 1.1 plugin (its descriptor ends before `fields`): the core table */
    d.abi_minor = 1;
    d.struct_size = offsetof(tc_source, fields);
    f = source_fields_of(&d, NULL);
    assert_int_equal(f.market, market_fields_default());
    assert_true(f.metadata & FIELD_BIT(TC_NAME));
    assert_false(f.metadata & FIELD_BIT(TC_PRICE_USD));
    /* the config says what a source provides, whatever the plugin declares */
    config cfg;
    load(&cfg, "[source third]\nplugin=t.so\nmarket_fields = price_usd\nmetadata_fields = symbol\n");
    d.abi_minor = 2;
    d.struct_size = sizeof(tc_source);
    f = source_fields_of(&d, config_find_source(&cfg, "third"));
    assert_int_equal(f.market, FIELD_BIT(TC_PRICE_USD));
    assert_int_equal(f.metadata, FIELD_BIT(TC_SYMBOL));
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_follow_design),
        cmocka_unit_test(config_overrides),
        cmocka_unit_test(record_json),
        cmocka_unit_test(merge_market_newest_identity_by_precedence),
        cmocka_unit_test(bad_max_age_is_refused),
        cmocka_unit_test(fields_from_declaration_config_or_core_table),
    };
    return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}
