/* Test kit: running parse_response on a response body (a string or a
 * recorded file) with a collecting tc_emit that accepts and refuses what
 * the host's setters do (core/emit.c; the extras' rules are the host's own,
 * from sdk/extra.h), and freeing what was collected. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_arena.h" /* core/: the host's arena, built into the kit too */
#include "kit_internal.h"
#include "tokencollector/sdk/extra.h"

int kit_field_is_string(int f)
{
    return f == TC_NAME || f == TC_SYMBOL || f == TC_IMAGE_URL || f == TC_DESCRIPTION || f == TC_SUPPLY;
}

static kit_token *find_token(kit_result *r, const char *addr)
{
    for (size_t i = 0; addr && i < r->n; i++)
        if (strcmp(r->tok[i].addr, addr) == 0)
            return &r->tok[i];
    return NULL;
}

const kit_token *kit_token_of(const tc_kit_result *r, const char *addr)
{
    return r ? find_token((kit_result *)r, addr) : NULL;
}

/* ADDR's token when the call is acceptable, else NULL with the call counted
 * as refused. Every call is counted. */
static kit_token *target(kit_result *r, const char *addr, int acceptable)
{
    r->pub.calls++;
    kit_token *t = find_token(r, addr);
    if (t && acceptable)
        return t;
    r->pub.refused++;
    return NULL;
}

static int emit_str(void *ctx, const char *addr, tc_field f, const char *value)
{
    int ok = f > 0 && f < KIT_NFIELDS && kit_field_is_string(f) && value;
    kit_token *t = target(ctx, addr, ok);
    if (!t)
        return -1;
    t->known = 1;
    t->times[f]++;
    free(t->str[f]);
    t->str[f] = kit_strdup(value);
    return 0;
}

static int emit_num(void *ctx, const char *addr, tc_field f, double value)
{
    int ok = f > 0 && f < KIT_NFIELDS && !kit_field_is_string(f) && isfinite(value);
    kit_token *t = target(ctx, addr, ok);
    if (!t)
        return -1;
    t->known = 1;
    t->times[f]++;
    t->num[f] = value;
    return 0;
}

static int emit_link(void *ctx, const char *addr, tc_link_kind kind, const char *label, const char *url)
{
    int ok = (kind == TC_LINK_WEBSITE || kind == TC_LINK_SOCIAL) && url && *url;
    kit_token *t = target(ctx, addr, ok);
    if (!t)
        return -1;
    t->known = 1;
    t->links = kit_realloc(t->links, (t->nlinks + 1) * sizeof *t->links);
    t->links[t->nlinks++] = (tc_kit_link){kind, kit_strdup(label), kit_strdup(url)};
    return 0;
}

static int emit_known(void *ctx, const char *addr)
{
    kit_token *t = target(ctx, addr, 1);
    if (!t)
        return -1;
    t->known = 1;
    return 0;
}

static tc_kit_extra *find_extra(kit_token *t, const char *key)
{
    for (size_t i = 0; i < t->nextras; i++)
        if (strcmp(t->extras[i].key, key) == 0)
            return &t->extras[i];
    return NULL;
}

/* Where tc_emit's setter M ends: a tc_emit whose struct_size is short of
 * that has no M. */
#define SETTER_END(m) (offsetof(tc_emit, m) + sizeof(((tc_emit *)0)->m))

/* What the host checks of an extra (the key, the value, the bounds), and
 * that the tc_emit the plugin got reaches END, its setter; then kept like
 * a field: the last value, the times counted. */
static int emit_extra(kit_result *r, size_t end, const char *addr, const char *key, tc_kit_extra_type type,
                      double num, const char *str)
{
    int ok = r->emit.struct_size >= end && tc_extra_key_ok(key) &&
             (type != TC_KIT_EXTRA_NUM || tc_extra_num_ok(num)) && (type != TC_KIT_EXTRA_STR || tc_extra_str_ok(str));
    kit_token *t = target(r, addr, ok);
    if (!t)
        return -1;
    tc_kit_extra *e = find_extra(t, key);
    if (!e) {
        if (t->nextras >= TC_EXTRA_MAX) {
            r->pub.refused++;
            return -1;
        }
        t->extras = kit_realloc(t->extras, (t->nextras + 1) * sizeof *t->extras);
        e = &t->extras[t->nextras++];
        *e = (tc_kit_extra){.struct_size = sizeof *e, .key = kit_strdup(key)};
    }
    t->known = 1;
    e->times++;
    e->type = type;
    e->num = num;
    free((char *)e->str);
    e->str = kit_strdup(str);
    return 0;
}

static int emit_extra_num(void *ctx, const char *addr, const char *key, double value)
{
    return emit_extra(ctx, SETTER_END(extra_num), addr, key, TC_KIT_EXTRA_NUM, value, NULL);
}

static int emit_extra_str(void *ctx, const char *addr, const char *key, const char *value)
{
    return emit_extra(ctx, SETTER_END(extra_str), addr, key, TC_KIT_EXTRA_STR, 0, value);
}

static int emit_extra_bool(void *ctx, const char *addr, const char *key, int value)
{
    return emit_extra(ctx, SETTER_END(extra_bool), addr, key, TC_KIT_EXTRA_BOOL, value != 0, NULL);
}

static kit_result *result_new(const char *const *addrs, size_t n, uint32_t emit_size)
{
    kit_result *r = kit_calloc(1, sizeof *r);
    r->pub.struct_size = sizeof r->pub;
    r->pub.outcome = &r->outcome;
    r->n = n;
    r->tok = kit_calloc(n, sizeof *r->tok);
    for (size_t i = 0; i < n; i++)
        r->tok[i].addr = addrs[i];
    r->emit = (tc_emit){.struct_size = sizeof r->emit,
                        .ctx = r,
                        .str = emit_str,
                        .num = emit_num,
                        .link = emit_link,
                        .known = emit_known,
                        .extra_num = emit_extra_num,
                        .extra_str = emit_extra_str,
                        .extra_bool = emit_extra_bool};
    if (emit_size)
        r->emit.struct_size = emit_size; /* an older host's: the plugin must not look further */
    r->pub.emit_size = r->emit.struct_size;
    return r;
}

void tc_kit_result_free(tc_kit_result *res)
{
    kit_result *r = (kit_result *)res;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        kit_token *t = &r->tok[i];
        for (int f = 0; f < KIT_NFIELDS; f++)
            free(t->str[f]);
        for (size_t k = 0; k < t->nlinks; k++) {
            free((char *)t->links[k].label);
            free((char *)t->links[k].url);
        }
        free(t->links);
        for (size_t k = 0; k < t->nextras; k++) {
            free((char *)t->extras[k].key);
            free((char *)t->extras[k].str);
        }
        free(t->extras);
    }
    free(r->tok);
    free(r);
}

tc_status tc_kit_parse(tc_kit_instance *in, const char *const *addrs, size_t n, long status, const char *content_type,
                       const char *body, size_t len, tc_kit_result **out)
{
    kit_result *r = result_new(addrs, n, in->emit_size);
    memset(&r->outcome, 0x5a, sizeof r->outcome); /* garbage, as in the host: the plugin must not rely on it */
    r->outcome.struct_size = sizeof r->outcome;
    char *copy = kit_calloc(1, len + 1);
    if (len)
        memcpy(copy, body, len);
    tc_response res = {sizeof(tc_response), status, copy, len, content_type};
    json_arena_begin(); /* as in the host (kit_load.c: use_host_allocator) */
    r->pub.status = in->plugin->src->parse_response(in->self, addrs, n, &res, &r->emit, &r->outcome);
    json_arena_end();
    memset(copy, 0, len + 1); /* a plugin that kept pointers into RES sees zeros */
    free(copy);
    r->outcome.message[sizeof r->outcome.message - 1] = '\0';
    *out = &r->pub;
    return r->pub.status;
}

char *tc_kit_read_file(const char *path, size_t *len)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, got;
    char *buf = kit_calloc(1, cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap)
            buf = kit_realloc(buf, cap *= 2);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

tc_status tc_kit_parse_file(tc_kit_instance *in, const char *const *addrs, size_t n, long status,
                            const char *content_type, const char *path, tc_kit_result **out)
{
    size_t len = 0;
    char *body = tc_kit_read_file(path, &len);
    if (!body) {
        fprintf(stderr, "tc_kit_parse_file: cannot read %s\n", path ? path : "(null)");
        abort();
    }
    tc_status st = tc_kit_parse(in, addrs, n, status, content_type, body, len, out);
    free(body);
    return st;
}
