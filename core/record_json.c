/* The stored JSON texts of a refresh, written straight into a buffer: a
 * source's record (values_to_json, token_sources.data) and a token's
 * refresh_metadata. Byte for byte what cJSON_PrintUnformatted wrote for the
 * same values before (SQLite compares a record with the stored text to tell
 * whether it changed, so the text must not drift between versions), at a
 * fraction of the cost of building and printing a tree. Text only: which
 * records are written is the stores' choice. */
#include <math.h>
#include <stdio.h>

#include "config.h"
#include "record.h"
#include "store.h"
#include "util.h"

/* "S", escaped as cJSON escapes (the two-character escapes, \u00XX for the
 * other control characters, every other byte as it is). */
static void json_str(strbuf *b, const char *s)
{
    sb_append(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sb_append(b, run, (size_t)(s - run));
        char esc[8];
        switch (c) {
        case '"': sb_append(b, "\\\"", 2); break;
        case '\\': sb_append(b, "\\\\", 2); break;
        case '\b': sb_append(b, "\\b", 2); break;
        case '\f': sb_append(b, "\\f", 2); break;
        case '\n': sb_append(b, "\\n", 2); break;
        case '\r': sb_append(b, "\\r", 2); break;
        case '\t': sb_append(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_append(b, esc, 6);
        }
        run = s + 1;
    }
    sb_append(b, run, (size_t)(s - run));
    sb_append(b, "\"", 1);
}

/* "KEY": (with a comma before when not FIRST). */
static void json_key(strbuf *b, int *first, const char *key)
{
    if (!*first)
        sb_append(b, ",", 1);
    *first = 0;
    json_str(b, key);
    sb_append(b, ":", 1);
}

/* "KEY":"S", left out when S is NULL (cJSON adds no item for it). */
static void json_str_member(strbuf *b, int *first, const char *key, const char *s)
{
    if (!s)
        return;
    json_key(b, first, key);
    json_str(b, s);
}

static void json_num_member(strbuf *b, int *first, const char *key, double d)
{
    char num[32];
    format_double(num, d);
    json_key(b, first, key);
    sb_appends(b, num);
}

void record_json_refresh_metadata(strbuf *b, const token_result *t)
{
    int first = 1;
    sb_append(b, "{\"sources\":{", 12);
    for (size_t i = 0; i < t->n_sources; i++)
        json_str_member(b, &first, t->source_names[i], outcome_name(t->outcomes[i]));
    sb_append(b, "}", 1);
    int any = 0;
    first = 1;
    for (size_t i = 0; i < t->n_sources; i++) {
        if (!t->errors || !t->errors[i])
            continue;
        if (!any)
            sb_append(b, ",\"errors\":{", 11);
        any = 1;
        json_str_member(b, &first, t->source_names[i], t->errors[i]);
    }
    if (any)
        sb_append(b, "}", 1);
    if (t->metadata_at > 0) /* when the metadata sources last answered (freshness.h) */
        sb_printf(b, ",\"metadata_at\":%lld", (long long)t->metadata_at);
    sb_append(b, "}", 1);
}

/* "websites" or "socials" of V. */
static void json_links(strbuf *b, int *first, const tc_values *v, int kind)
{
    json_key(b, first, kind == TC_LINK_WEBSITE ? "websites" : "socials");
    sb_append(b, "[", 1);
    int first_link = 1;
    for (size_t i = 0; i < v->n_links; i++) {
        if (v->links[i].kind != kind)
            continue;
        if (!first_link)
            sb_append(b, ",", 1);
        first_link = 0;
        int k = 1;
        sb_append(b, "{", 1);
        json_str_member(b, &k, kind == TC_LINK_WEBSITE ? "label" : "type",
                        v->links[i].label ? v->links[i].label : "");
        json_str_member(b, &k, "url", v->links[i].url);
        sb_append(b, "}", 1);
    }
    sb_append(b, "]", 1);
}

/* "extra" of V (key order). */
static void json_extras(strbuf *b, int *first, const tc_values *v)
{
    json_key(b, first, "extra");
    sb_append(b, "{", 1);
    int k = 1;
    for (size_t i = 0; i < v->n_extras; i++) {
        const extra_rec *e = &v->extras[i];
        if (e->type == EXTRA_STR)
            json_str_member(b, &k, e->key, e->str);
        else if (e->type == EXTRA_BOOL) {
            json_key(b, &k, e->key);
            sb_appends(b, e->num != 0 ? "true" : "false");
        } else if (isfinite(e->num))
            json_num_member(b, &k, e->key, e->num);
    }
    sb_append(b, "}", 1);
}

void record_json_values(strbuf *b, const tc_values *v)
{
    int first = 1;
    sb_append(b, "{", 1);
    for (int f = 1; f < FIELD_SLOTS; f++) {
        if (!values_has(v, f))
            continue;
        if (field_is_string(f))
            json_str_member(b, &first, field_name(f), v->str[f]);
        else if (isfinite(v->num[f]))
            json_num_member(b, &first, field_name(f), v->num[f]);
    }
    for (int kind = TC_LINK_WEBSITE; kind <= TC_LINK_SOCIAL; kind++)
        if (values_count_links(v, kind))
            json_links(b, &first, v, kind);
    if (v->n_extras)
        json_extras(b, &first, v);
    sb_append(b, "}", 1);
}

char *values_to_json(const tc_values *v)
{
    strbuf b = {0};
    record_json_values(&b, v);
    return b.data;
}

char *store_refresh_metadata(const token_result *t)
{
    strbuf b = {0};
    record_json_refresh_metadata(&b, t);
    return b.data;
}
