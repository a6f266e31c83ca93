/* Extras (tc_emit.extra_*, ABI 1.1) and the plugin version of a source's
 * record: the key rule and the bounds, checked by the host through the real
 * ABI path (test plugins loaded by the registry, setters from emit.c), and
 * the plugin test kit's collecting tc_emit giving the same verdicts for the
 * same calls; the record's JSON round trip; the merge leaving extras out; a
 * plugin built for ABI 1.0 and an older host's tc_emit; the version each
 * chunk's own instance gives its tokens. */
#include <math.h>
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
#include "emit.h"
#include "merge.h"
#include "registry.h"
#include "store_pg_json.h"
#include "tokencollector/sdk/extra.h"
#include "tokencollector/testkit.h"
#include "util.h"

/* ---- the key rule and the record ------------------------------------------------ */

/* The host's verdict on KEY: sdk/extra.h's, which emit.c, record.c and the
 * test kit all call (the kit's verdicts are compared below, through the
 * ABI). */
static int key_ok(const char *key) { return tc_extra_key_ok(key); }

static void key_rule(void **state)
{
    (void)state;
    char longest[TC_EXTRA_KEY_MAX + 2];
    memset(longest, 'k', sizeof longest);
    longest[TC_EXTRA_KEY_MAX] = '\0';
    static const char *const good[] = {"a", "holder_count", "top_holders_pct", "x9_", "a__1", "extra"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!key_ok(good[i]))
            fail_msg("\"%s\" refused", good[i]);
    assert_true(key_ok(longest));
    longest[TC_EXTRA_KEY_MAX] = 'k';
    longest[TC_EXTRA_KEY_MAX + 1] = '\0';
    assert_false(key_ok(longest)); /* 49 bytes */
    static const char *const bad[] = {"", "Holder", "holderCount", "9a", "_a", "a-b", "a b", "caf\xc3\xa9", "a.b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (key_ok(bad[i]))
            fail_msg("\"%s\" accepted", bad[i]);
    assert_false(key_ok(NULL));
    /* Every field's name (and the link sets'), as [merge] and the JSON spell them. */
    for (int f = 1; field_name(f); f++)
        if (key_ok(field_name(f)))
            fail_msg("field name \"%s\" accepted", field_name(f));
    /* ... which are the SDK's names, all of them */
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        assert_string_equal(field_name(f), tc_field_name(f));
    assert_null(tc_field_name(CFG_MERGE_FIELDS));
    assert_null(tc_field_name(0));
    assert_string_equal(field_name(TC_CHANGE_24H), "change_24h");
    assert_string_equal(field_name(MERGE_WEBSITES), "websites");
    assert_string_equal(field_name(MERGE_SOCIALS), "socials");
    /* the value rules */
    assert_true(tc_extra_num_ok(0) && tc_extra_num_ok(-1e308));
    assert_false(tc_extra_num_ok(INFINITY) || tc_extra_num_ok(NAN));
    assert_true(tc_extra_str_ok(""));
    assert_false(tc_extra_str_ok(NULL));
}

static void record_keeps_extras_sorted_and_bounded(void **state)
{
    (void)state;
    tc_values v = {0};
    assert_int_equal(values_set_extra(&v, "zeta", EXTRA_NUM, 1, NULL), 0);
    assert_true(v.known); /* an extra alone marks the token known */
    assert_int_equal(values_set_extra(&v, "alpha", EXTRA_STR, 0, "a"), 0);
    assert_int_equal(values_set_extra(&v, "mid", EXTRA_BOOL, 7, NULL), 0);
    assert_int_equal(values_set_extra(&v, "alpha", EXTRA_NUM, 2.5, NULL), 0); /* replaced, another type */
    assert_int_equal(v.n_extras, 3);
    assert_string_equal(v.extras[0].key, "alpha");
    assert_string_equal(v.extras[1].key, "mid");
    assert_string_equal(v.extras[2].key, "zeta");
    assert_int_equal(values_extra(&v, "alpha")->type, EXTRA_NUM);
    assert_null(values_extra(&v, "alpha")->str);
    assert_true(values_extra(&v, "mid")->num == 1);
    assert_null(values_extra(&v, "nope"));
    char key[16];
    for (int i = 3; i < TC_EXTRA_MAX; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        assert_int_equal(values_set_extra(&v, key, EXTRA_NUM, i, NULL), 0);
    }
    assert_int_equal(values_set_extra(&v, "one_more", EXTRA_NUM, 1, NULL), -1);
    assert_null(values_extra(&v, "one_more"));
    assert_int_equal(values_set_extra(&v, "zeta", EXTRA_NUM, 9, NULL), 0); /* a known key still replaces */
    assert_int_equal(v.n_extras, TC_EXTRA_MAX);
    values_clear(&v);
    assert_int_equal(v.n_extras, 0);
    assert_null(v.extras);
}

/* The record's JSON: the extras under "extra", in key order, typed; the
 * PostgreSQL commit's own writer gives the same text; reading it back gives
 * the same values; what the host would refuse is not read back. */
static void record_json_round_trip(void **state)
{
    (void)state;
    tc_values v = {0};
    values_set_str(&v, TC_NAME, "Jupiter");
    values_set_num(&v, TC_PRICE_USD, 0.1 + 0.2);
    values_add_link(&v, TC_LINK_SOCIAL, "twitter", "https://x.com/jup");
    values_set_extra(&v, "organic_score", EXTRA_NUM, 97.36, NULL);
    values_set_extra(&v, "is_verified", EXTRA_BOOL, 1, NULL);
    values_set_extra(&v, "first_pool", EXTRA_STR, 0, "Pool \"1\" \\ caf\xc3\xa9\n");
    values_set_extra(&v, "holder_count", EXTRA_NUM, 817364, NULL);
    values_set_extra(&v, "audited", EXTRA_BOOL, 0, NULL);
    values_set_version(&v, "1.0.0");
    char *json = values_to_json(&v);
    assert_string_equal(json, "{\"name\":\"Jupiter\",\"price_usd\":0.30000000000000004,"
                              "\"socials\":[{\"type\":\"twitter\",\"url\":\"https://x.com/jup\"}],"
                              "\"extra\":{\"audited\":false,\"first_pool\":\"Pool \\\"1\\\" \\\\ caf\xc3\xa9\\n\","
                              "\"holder_count\":817364,\"is_verified\":true,\"organic_score\":97.36}}");

    token_result t = {.n_sources = 1, .outcomes = (source_outcome[]){OUTCOME_FOUND}, .per_source = &v};
    const token_result *tp = &t;
    strbuf pg = {0};
    size_t *off, *base;
    store_pg_json_records(&tp, 1, &pg, &off, &base);
    assert_string_equal(pg.data + off[0], json);
    free(off);
    free(base);
    sb_free(&pg);

    tc_values back = {0};
    assert_int_equal(values_from_json(&back, json), 0);
    assert_null(back.plugin_version); /* a column of its own, not in the JSON */
    char *again = values_to_json(&back);
    assert_string_equal(again, json);
    assert_int_equal(values_extra(&back, "is_verified")->type, EXTRA_BOOL);
    assert_int_equal(values_extra(&back, "first_pool")->type, EXTRA_STR);
    free(again);
    free(json);

    char big[TC_EXTRA_STR_MAX + 40];
    snprintf(big, sizeof big, "{\"extra\":{\"s\":\"%0*d\"}}", TC_EXTRA_STR_MAX + 1, 0);
    assert_int_equal(values_from_json(&back, "{\"name\":\"x\",\"extra\":{\"Bad\":1,\"price_usd\":2,\"n\":null,"
                                             "\"arr\":[1],\"obj\":{},\"ok\":-0.5}}"),
                     0);
    assert_int_equal(back.n_extras, 1);
    assert_true(values_extra(&back, "ok")->num == -0.5);
    assert_int_equal(values_from_json(&back, big), 0);
    assert_int_equal(back.n_extras, 0);
    assert_int_equal(values_from_json(&back, "{\"extra\":[1,2]}"), 0); /* not an object: no extras */
    assert_int_equal(back.n_extras, 0);
    /* A record without extras is written as before: no "extra" key. */
    values_clear(&back);
    values_set_num(&back, TC_PRICE_USD, 1);
    json = values_to_json(&back);
    assert_string_equal(json, "{\"price_usd\":1}");
    free(json);
    values_clear(&back);
    values_clear(&v);
}

static void merge_leaves_extras_out(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/tc-test-extras-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    fprintf(f, "[source jupiter]\nplugin=j.so\n[source helius]\nplugin=h.so\n");
    fclose(f);
    config cfg;
    char err[512];
    assert_int_equal(config_load(path, &cfg, err, sizeof err), 0);
    unlink(path);
    static const char *const names[2] = {"jupiter", "helius"};
    merge_plan plan;
    merge_plan_build(&plan, &cfg, names, 2);
    tc_values per[2] = {{0}};
    source_outcome o[2] = {OUTCOME_FOUND, OUTCOME_FOUND};
    values_set_extra(&per[0], "holder_count", EXTRA_NUM, 5, NULL);
    values_set_version(&per[0], "1.0.0");
    values_set_num(&per[1], TC_PRICE_USD, 2);
    tc_values out = {0};
    merge_token(&plan, per, o, 2, &out);
    assert_true(out.known);
    assert_int_equal(out.n_extras, 0);
    assert_null(out.plugin_version);
    assert_true(out.num[TC_PRICE_USD] == 2);
    values_clear(&out);
    values_clear(&per[0]);
    values_clear(&per[1]);
    config_free(&cfg);
}

/* ---- through the ABI: test plugins, the host's setters ---------------------------------- */

typedef struct plugged {
    config cfg;
    char ini[64];
    source_instance *inst;
} plugged;

static void plug(plugged *p, const char *so)
{
    const char *build = getenv("TC_BUILD_DIR");
    snprintf(p->ini, sizeof p->ini, "/tmp/tc-test-extras-%d.ini", (int)getpid());
    FILE *f = fopen(p->ini, "w");
    fprintf(f, "[core]\nplugin_dir = %s/test-plugins\n[source s]\nplugin = %s\n", build ? build : "build", so);
    fclose(f);
    char err[512];
    if (config_load(p->ini, &p->cfg, err, sizeof err) != 0)
        fail_msg("%s", err);
    p->inst = registry_open(p->cfg.path, p->cfg.plugin_dir, &p->cfg.sources[0], err, sizeof err);
    if (!p->inst)
        fail_msg("%s", err);
    unlink(p->ini);
}

static void unplug(plugged *p)
{
    source_unref(p->inst);
    config_free(&p->cfg);
}

#define NTOK 3
typedef struct chunk_of {
    token_state t[NTOK];
    token_state *tp[NTOK];
    const char *addrs[NTOK];
    tc_values values[NTOK]; /* one source: slot 0 */
    emit_ctx x;
} chunk_of;

static void chunk_init(chunk_of *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NTOK; i++) {
        snprintf(c->t[i].addr, sizeof c->t[i].addr, "Addr%d", i);
        c->t[i].values = &c->values[i];
        c->tp[i] = &c->t[i];
        c->addrs[i] = c->t[i].addr;
    }
}

static void chunk_clear(chunk_of *c)
{
    for (int i = 0; i < NTOK; i++)
        values_clear(&c->values[i]);
}

/* Plugin SO loaded and a fresh chunk for it; undone by unplug_chunk. */
static void plug_chunk(plugged *p, chunk_of *c, const char *so)
{
    plug(p, so);
    chunk_init(c);
}

static void unplug_chunk(plugged *p, chunk_of *c)
{
    chunk_clear(c);
    unplug(p);
}

/* What source_answer.c does with an answer: BODY through the plugin of P,
 * the chunk's instance's version recorded; EMIT_SIZE 0: the host's tc_emit,
 * else one that ends there (an older host). */
static tc_status parse_with(plugged *p, chunk_of *c, const char *body, uint32_t emit_size)
{
    tc_emit out;
    emit_open(&c->x, c->tp, NTOK, 0, p->inst->vt->version, &out);
    if (emit_size)
        out.struct_size = emit_size;
    tc_response res = {.struct_size = sizeof res, .status = 200, .body = body, .body_len = strlen(body)};
    tc_outcome o = {.struct_size = sizeof o, .retry_after_ms = -1};
    tc_status st = p->inst->vt->parse_response(p->inst->self, c->addrs, NTOK, &res, &out, &o);
    emit_close(&c->x);
    return st;
}

static const char *verdicts(const chunk_of *c) { return c->values[0].str[TC_DESCRIPTION]; }

/* BODY through the same plugin in the test kit, with tc_emit.struct_size
 * EMIT_SIZE (0: the kit's own); the result for the caller to free. */
static tc_kit_result *kit_parse_with(const char *so, const chunk_of *c, const char *body, uint32_t emit_size)
{
    const char *build = getenv("TC_BUILD_DIR");
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/test-plugins/%s", build ? build : "build", so);
    tc_kit_plugin *kp = tc_kit_load(path, err, sizeof err);
    if (!kp)
        fail_msg("%s", err);
    tc_kit_instance *in = tc_kit_create(kp, NULL, err, sizeof err);
    if (!in)
        fail_msg("%s", err);
    tc_kit_set_emit_size(in, emit_size);
    tc_kit_result *r;
    tc_kit_parse(in, c->addrs, NTOK, 200, NULL, body, strlen(body), &r);
    tc_kit_destroy(in);
    tc_kit_unload(kp);
    return r;
}

/* The test kit refuses and keeps what the host did with the same answer
 * (parse_with's C): the same verdicts, as many refusals as the host
 * rejected or found over a bound, the same extras per address. */
static void kit_agrees(const char *so, const chunk_of *c, const char *body, uint32_t emit_size)
{
    tc_kit_result *r = kit_parse_with(so, c, body, emit_size);
    assert_int_equal(r->status, TC_OK);
    assert_string_equal(tc_kit_str(r, c->addrs[0], TC_DESCRIPTION), verdicts(c));
    assert_int_equal(r->refused, c->x.rejected + c->x.over_bounds);
    for (int i = 0; i < NTOK; i++) {
        const tc_values *v = &c->values[i];
        assert_int_equal(tc_kit_known(r, c->addrs[i]), v->known);
        assert_int_equal(tc_kit_nextras(r, c->addrs[i]), v->n_extras);
        for (size_t k = 0; k < v->n_extras; k++) {
            const extra_rec *e = &v->extras[k];
            const tc_kit_extra *ke = tc_kit_extra_of(r, c->addrs[i], e->key);
            assert_non_null(ke);
            assert_int_equal(ke->type, e->type);
            assert_true(ke->num == e->num);
            if (e->type == EXTRA_STR)
                assert_string_equal(ke->str, e->str);
            else
                assert_null(ke->str);
        }
    }
    tc_kit_result_free(r);
}

static void host_checks_keys_and_values(void **state)
{
    (void)state;
    plugged p;
    chunk_of c;
    plug_chunk(&p, &c, "extras.so");
    const char *body = "0 n holder_count 817364\n"
                       "0 s first_pool FksffEqnBRixYGR791Qw2MgdU7zNCpHVFYBL4Fa4qVuH\n"
                       "0 b is_verified 5\n"
                       "0 n holder_count 817365\n" /* again: replaced */
                       "0 n holderCount 1\n"       /* not lowercase */
                       "0 n price_usd 1\n"         /* a field's name */
                       "0 b socials 1\n"           /* the links' name */
                       "0 n - 1\n"                 /* no key */
                       "0 n score inf\n"           /* not finite */
                       "0 n score nan\n"
                       "0 z label -\n"             /* a NULL string */
                       "2 s empty_ok \n";          /* "" is a value; only an extra for Addr2 */
    assert_int_equal(parse_with(&p, &c, body, 0), TC_OK);
    assert_string_equal(verdicts(&c), "0 0 0 0 -1 -1 -1 -1 -1 -1 -1 0");
    assert_int_equal(c.x.rejected, 7);
    assert_int_equal(c.x.over_bounds, 0);
    const tc_values *v = &c.values[0];
    assert_int_equal(v->n_extras, 3);
    assert_true(values_extra(v, "holder_count")->num == 817365);
    assert_string_equal(values_extra(v, "first_pool")->str, "FksffEqnBRixYGR791Qw2MgdU7zNCpHVFYBL4Fa4qVuH");
    assert_true(values_extra(v, "is_verified")->type == EXTRA_BOOL && values_extra(v, "is_verified")->num == 1);
    assert_string_equal(v->plugin_version, "2.0.0");
    assert_false(c.values[1].known);
    assert_true(c.values[2].known); /* an extra alone makes a token found */
    assert_string_equal(values_extra(&c.values[2], "empty_ok")->str, "");
    assert_string_equal(c.values[1].plugin_version, "2.0.0"); /* the chunk's tokens carry it */
    kit_agrees("extras.so", &c, body, 0);
    unplug_chunk(&p, &c);
}

static void host_bounds_count_and_length(void **state)
{
    (void)state;
    plugged p;
    chunk_of c;
    plug_chunk(&p, &c, "extras.so");
    strbuf body = {0};
    for (int i = 0; i <= TC_EXTRA_MAX; i++) /* one past the bound */
        sb_printf(&body, "1 n k%02d %d\n", i, i);
    sb_printf(&body, "1 n k00 100\n"); /* a key it holds: still replaced */
    sb_printf(&body, "0 s exact %0*d\n", TC_EXTRA_STR_MAX, 0);
    sb_printf(&body, "0 s long %0*d\n", TC_EXTRA_STR_MAX + 1, 0);
    assert_int_equal(parse_with(&p, &c, body.data, 0), TC_OK);
    strbuf want = {0};
    for (int i = 0; i < TC_EXTRA_MAX; i++)
        sb_printf(&want, "0 ");
    sb_printf(&want, "-1 0 0 -1");
    assert_string_equal(verdicts(&c), want.data);
    assert_int_equal(c.x.over_bounds, 2);
    assert_int_equal(c.x.rejected, 0);
    assert_int_equal(c.values[1].n_extras, TC_EXTRA_MAX);
    assert_true(values_extra(&c.values[1], "k00")->num == 100);
    assert_null(values_extra(&c.values[1], "k32"));
    assert_int_equal(strlen(values_extra(&c.values[0], "exact")->str), TC_EXTRA_STR_MAX);
    assert_null(values_extra(&c.values[0], "long"));
    kit_agrees("extras.so", &c, body.data, 0);
    /* The record the store gets holds all of them and reads back whole. */
    char *json = values_to_json(&c.values[1]);
    tc_values back = {0};
    assert_int_equal(values_from_json(&back, json), 0);
    assert_int_equal(back.n_extras, TC_EXTRA_MAX);
    values_clear(&back);
    free(json);
    sb_free(&want);
    sb_free(&body);
    unplug_chunk(&p, &c);
}

/* A plugin built for 1.1 on a host whose tc_emit ends before the extras:
 * it sees that from struct_size and calls none. */
static void older_host_has_no_extras(void **state)
{
    (void)state;
    plugged p;
    chunk_of c;
    plug_chunk(&p, &c, "extras.so");
    assert_int_equal(parse_with(&p, &c, "0 n holder_count 1\n", TC_KIT_EMIT_SIZE_1_0), TC_OK);
    assert_string_equal(verdicts(&c), "no extras");
    assert_int_equal(c.values[0].n_extras, 0);
    kit_agrees("extras.so", &c, "0 n holder_count 1\n", TC_KIT_EMIT_SIZE_1_0); /* the kit plays that host */
    unplug_chunk(&p, &c);

    /* A plugin that calls an extra setter past struct_size anyway: a real
     * 1.0 host has none to call, so the kit refuses the call. */
    chunk_init(&c);
    tc_kit_result *r = kit_parse_with("extras.so", &c, "!\n0 n holder_count 1\n0 b is_verified 1\n",
                                      TC_KIT_EMIT_SIZE_1_0);
    assert_int_equal(r->emit_size, offsetof(tc_emit, extra_num));
    assert_string_equal(tc_kit_str(r, c.addrs[0], TC_DESCRIPTION), "-1 -1");
    assert_int_equal(r->refused, 2);
    assert_int_equal(tc_kit_nextras(r, c.addrs[0]), 0);
    tc_kit_result_free(r);
    /* ... and accepts them where the tc_emit has them */
    r = kit_parse_with("extras.so", &c, "!\n0 n holder_count 1\n", 0);
    assert_int_equal(r->emit_size, sizeof(tc_emit));
    assert_string_equal(tc_kit_str(r, c.addrs[0], TC_DESCRIPTION), "0");
    assert_int_equal(r->refused, 0);
    assert_int_equal(tc_kit_nextras(r, c.addrs[0]), 1);
    tc_kit_result_free(r);
}

/* A plugin built for ABI 1.0 parses through the 1.1 tc_emit as before: its
 * records have no "extra", and its version is recorded. */
static void abi_10_plugin_parses_as_before(void **state)
{
    (void)state;
    plugged p;
    chunk_of c;
    plug_chunk(&p, &c, "abi10.so");
    assert_int_equal(parse_with(&p, &c, "[]", 0), TC_OK);
    for (int i = 0; i < NTOK; i++) {
        assert_string_equal(c.values[i].str[TC_NAME], "abi10");
        assert_int_equal(c.values[i].n_extras, 0);
        assert_string_equal(c.values[i].plugin_version, "1.0.0");
    }
    char *json = values_to_json(&c.values[0]);
    assert_string_equal(json, "{\"name\":\"abi10\"}");
    free(json);
    unplug_chunk(&p, &c);
}

/* Two instances live at once (a hot swap): each chunk's tokens get the
 * version of the instance that parsed that chunk, whichever parsed last. */
static void each_chunk_gets_its_instance_version(void **state)
{
    (void)state;
    plugged old_p, new_p;
    plug(&old_p, "abi10.so");
    plug(&new_p, "extras.so");
    chunk_of a, b;
    chunk_init(&a);
    chunk_init(&b);
    assert_int_equal(parse_with(&new_p, &b, "0 n n 1\n", 0), TC_OK);
    assert_int_equal(parse_with(&old_p, &a, "[]", 0), TC_OK); /* the old instance answers last */
    unplug(&old_p); /* the module may go: the version was copied */
    for (int i = 0; i < NTOK; i++) {
        assert_string_equal(a.values[i].plugin_version, "1.0.0");
        assert_string_equal(b.values[i].plugin_version, "2.0.0");
    }
    /* A failed parse leaves nothing behind, version included. */
    emit_discard(b.tp, NTOK, 0);
    assert_null(b.values[0].plugin_version);
    assert_int_equal(b.values[0].n_extras, 0);
    chunk_clear(&a);
    chunk_clear(&b);
    unplug(&new_p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_rule),
        cmocka_unit_test(record_keeps_extras_sorted_and_bounded),
        cmocka_unit_test(record_json_round_trip),
        cmocka_unit_test(merge_leaves_extras_out),
        cmocka_unit_test(host_checks_keys_and_values),
        cmocka_unit_test(host_bounds_count_and_length),
        cmocka_unit_test(older_host_has_no_extras),
        cmocka_unit_test(abi_10_plugin_parses_as_before),
        cmocka_unit_test(each_chunk_gets_its_instance_version),
    };
    return cmocka_run_group_tests_name("extras", tests, NULL, NULL);
}
