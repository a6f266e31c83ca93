/* JSON written directly for the PostgreSQL commit: the values of
 * store_refresh_metadata and values_to_json without building a cJSON tree.
 * They are stored as jsonb, so only the value matters; numbers are
 * format_double's digits, as there. Owns the text only; must not decide
 * which sources or tokens get a record (the commit does). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "record.h"
#include "store_pg_json.h"

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

void store_pg_json_refresh_metadata(strbuf *b, const token_result *t)
{
    int first = 1;
    sb_append(b, "{\"sources\":{", 12);
    for (size_t i = 0; i < t->n_sources; i++) {
        json_key(b, &first, t->source_names[i]);
        json_str(b, outcome_name(t->outcomes[i]));
    }
    sb_append(b, "}", 1);
    int any = 0;
    first = 1;
    for (size_t i = 0; i < t->n_sources; i++) {
        if (!t->errors || !t->errors[i])
            continue;
        if (!any)
            sb_append(b, ",\"errors\":{", 11);
        any = 1;
        json_key(b, &first, t->source_names[i]);
        json_str(b, t->errors[i]);
    }
    if (any)
        sb_append(b, "}", 1);
    if (t->metadata_at > 0)
        sb_printf(b, ",\"metadata_at\":%lld", (long long)t->metadata_at);
    sb_append(b, "}", 1);
}

/* "websites" or "socials" of V, as values_to_json writes them. */
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
        json_key(b, &k, kind == TC_LINK_WEBSITE ? "label" : "type");
        json_str(b, v->links[i].label ? v->links[i].label : "");
        json_key(b, &k, "url");
        json_str(b, v->links[i].url ? v->links[i].url : "");
        sb_append(b, "}", 1);
    }
    sb_append(b, "]", 1);
}

/* "extra" of V, as values_to_json writes it (key order). */
static void json_extras(strbuf *b, int *first, const tc_values *v)
{
    json_key(b, first, "extra");
    sb_append(b, "{", 1);
    int k = 1;
    for (size_t i = 0; i < v->n_extras; i++) {
        const extra_rec *e = &v->extras[i];
        char num[32];
        if (e->type == EXTRA_NUM && !isfinite(e->num))
            continue;
        json_key(b, &k, e->key);
        if (e->type == EXTRA_STR)
            json_str(b, e->str ? e->str : "");
        else if (e->type == EXTRA_BOOL)
            sb_appends(b, e->num != 0 ? "true" : "false");
        else {
            format_double(num, e->num);
            sb_appends(b, num);
        }
    }
    sb_append(b, "}", 1);
}

/* values_to_json(V), appended to B. */
static void json_record(strbuf *b, const tc_values *v)
{
    int first = 1;
    sb_append(b, "{", 1);
    for (int f = 1; f < FIELD_SLOTS; f++) {
        if (!values_has(v, f))
            continue;
        if (field_is_string(f)) {
            if (!v->str[f])
                continue;
            json_key(b, &first, field_name(f));
            json_str(b, v->str[f]);
        } else if (isfinite(v->num[f])) {
            char num[32];
            format_double(num, v->num[f]);
            json_key(b, &first, field_name(f));
            sb_appends(b, num);
        }
    }
    for (int kind = TC_LINK_WEBSITE; kind <= TC_LINK_SOCIAL; kind++)
        if (values_count_links(v, kind))
            json_links(b, &first, v, kind);
    if (v->n_extras)
        json_extras(b, &first, v);
    sb_append(b, "}", 1);
}

void store_pg_json_records(const token_result *const *v, size_t k, strbuf *buf, size_t **off_out, size_t **base_out)
{
    size_t *base = xmalloc((k + 1) * sizeof *base);
    base[0] = 0;
    for (size_t i = 0; i < k; i++)
        base[i + 1] = base[i] + v[i]->n_sources;
    size_t *off = xmalloc((base[k] ? base[k] : 1) * sizeof *off);
    buf->len = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < v[i]->n_sources; j++) {
            off[base[i] + j] = SIZE_MAX;
            if (v[i]->outcomes[j] != OUTCOME_FOUND)
                continue;
            off[base[i] + j] = buf->len;
            json_record(buf, &v[i]->per_source[j]);
            sb_append(buf, "", 1); /* the NUL that ends it */
        }
    *off_out = off;
    *base_out = base;
}

