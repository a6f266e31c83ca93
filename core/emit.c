/* The plugin's setters for one chunk (emit.h). Must not touch anything but
 * the chunk's tokens' values for the one source. */
#include "emit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "record.h"
#include "text_clean.h"
#include "tokencollector/sdk/extra.h"

static const char *token_addr(const void *x, size_t i) { return ((const emit_ctx *)x)->tokens[i]->addr; }

/* The values ADDR's token gets from this source; NULL (counted as rejected)
 * for an address the chunk did not ask about. */
static tc_values *emit_target(emit_ctx *x, const char *addr)
{
    size_t i = addr ? str_index_find(&x->index, addr) : SIZE_MAX;
    if (i != SIZE_MAX)
        return &x->tokens[i]->values[x->src];
    x->rejected += addr != NULL;
    return NULL;
}

/* Upstream text through text_clean with the limit of its kind; what
 * changed is recorded against ADDR's token alone (a log line naming it and
 * the field), never against the chunk. NULL: nothing left to store. */
static char *clean_text(emit_ctx *x, const char *addr, const char *what, const char *value, size_t max,
                        int keep_lines)
{
    text_report r;
    char *v = text_clean(value, max, keep_lines, &r);
    if (!text_changed(&r))
        return v;
    x->cleaned++;
    if (x->cleaned == 1)
        snprintf(x->first_cleaned, sizeof x->first_cleaned, "%s %s", addr, what);
    LOG_INFO("data", "token %s: %s cleaned: %zu control characters removed, %zu invalid UTF-8 sequences replaced, "
             "%zu bytes cut past its limit of %zu%s", addr, what, r.controls, r.invalid, r.cut, max,
             *v ? "" : " (nothing left: not stored)");
    if (!*v) {
        x->dropped++;
        free(v);
        return NULL;
    }
    return v;
}

static size_t field_limit(tc_field f)
{
    switch (f) {
    case TC_NAME: return TEXT_MAX_NAME;
    case TC_SYMBOL: return TEXT_MAX_SYMBOL;
    case TC_DESCRIPTION: return TEXT_MAX_DESCRIPTION;
    case TC_SUPPLY: return TEXT_MAX_NUMBER;
    default: return TEXT_MAX_URL;
    }
}

static int emit_str(void *ctx, const char *addr, tc_field field, const char *value)
{
    emit_ctx *x = ctx;
    tc_values *v = emit_target(x, addr);
    if (!v || field <= 0 || field >= TC_FIELD_COUNT_V1 || !field_is_string(field) || !value) {
        x->rejected += v != NULL;
        return -1;
    }
    char *clean = clean_text(x, addr, tc_field_name(field), value, field_limit(field), field == TC_DESCRIPTION);
    if (!clean)
        return 0;
    values_take_str(v, field, clean); /* the cleaned copy is the stored one */
    return 0;
}

static int emit_num(void *ctx, const char *addr, tc_field field, double value)
{
    emit_ctx *x = ctx;
    tc_values *v = emit_target(x, addr);
    if (!v || field <= 0 || field >= TC_FIELD_COUNT_V1 || field_is_string(field) || !isfinite(value)) {
        x->rejected += v != NULL;
        return -1;
    }
    values_set_num(v, field, value);
    return 0;
}

static int emit_link(void *ctx, const char *addr, tc_link_kind kind, const char *label, const char *url)
{
    emit_ctx *x = ctx;
    tc_values *v = emit_target(x, addr);
    if (!v || (kind != TC_LINK_WEBSITE && kind != TC_LINK_SOCIAL) || !url || !*url) {
        x->rejected += v != NULL;
        return -1;
    }
    char *u = clean_text(x, addr, "link url", url, TEXT_MAX_URL, 0);
    char *l = label ? clean_text(x, addr, "link label", label, TEXT_MAX_LABEL, 0) : NULL;
    if (u)
        values_add_link(v, kind, l, u);
    free(u);
    free(l);
    return 0;
}

static int emit_known(void *ctx, const char *addr)
{
    tc_values *v = emit_target(ctx, addr);
    if (!v)
        return -1;
    v->known = 1;
    return 0;
}

/* The extras' checks: a bad key, a non-finite number or a NULL string is
 * rejected like a bad field; a value past a bound is counted apart. */
static int emit_extra(emit_ctx *x, const char *addr, const char *key, extra_type type, double num,
                      const char *str)
{
    tc_values *v = emit_target(x, addr);
    if (!v)
        return -1;
    if (!tc_extra_key_ok(key) || (type == EXTRA_NUM && !tc_extra_num_ok(num)) || (type == EXTRA_STR && !str)) {
        x->rejected++;
        return -1;
    }
    if (type == EXTRA_STR && !tc_extra_str_ok(str)) {
        x->over_bounds++;
        return -1;
    }
    char *clean = type == EXTRA_STR ? clean_text(x, addr, key, str, TC_EXTRA_STR_MAX, 0) : NULL;
    if (type == EXTRA_STR && !clean)
        return 0;
    int rc = values_set_extra(v, key, type, num, clean);
    free(clean);
    if (rc != 0) {
        x->over_bounds++;
        return -1;
    }
    return 0;
}

static int emit_extra_num(void *ctx, const char *addr, const char *key, double value)
{
    return emit_extra(ctx, addr, key, EXTRA_NUM, value, NULL);
}

static int emit_extra_str(void *ctx, const char *addr, const char *key, const char *value)
{
    return emit_extra(ctx, addr, key, EXTRA_STR, 0, value);
}

static int emit_extra_bool(void *ctx, const char *addr, const char *key, int value)
{
    return emit_extra(ctx, addr, key, EXTRA_BOOL, value != 0, NULL);
}

void emit_open(emit_ctx *x, token_state **tokens, size_t n, size_t src, const char *version, tc_emit *out)
{
    *x = (emit_ctx){.tokens = tokens, .n = n, .src = src};
    str_index_init(&x->index, n * 2, token_addr, x);
    for (size_t i = 0; i < n; i++) {
        str_index_add(&x->index, i);
        values_set_version(&tokens[i]->values[src], version);
    }
    *out = (tc_emit){.struct_size = sizeof *out,
                     .ctx = x,
                     .str = emit_str,
                     .num = emit_num,
                     .link = emit_link,
                     .known = emit_known,
                     .extra_num = emit_extra_num,
                     .extra_str = emit_extra_str,
                     .extra_bool = emit_extra_bool};
}

void emit_close(emit_ctx *x) { str_index_free(&x->index); }

void emit_discard(token_state **tokens, size_t n, size_t src)
{
    for (size_t i = 0; i < n; i++)
        values_clear(&tokens[i]->values[src]);
}
