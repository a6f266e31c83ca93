/* One source's values for a token (record.h): fields, links, extras, the
 * plugin version, and the JSON form they are stored in. */
#include "record.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tokencollector/sdk/extra.h"
#include "util.h"

int field_is_string(int field)
{
    switch (field) {
    case TC_NAME: case TC_SYMBOL: case TC_IMAGE_URL: case TC_DESCRIPTION: case TC_SUPPLY:
        return 1;
    default:
        return 0;
    }
}

void values_take_str(tc_values *v, int field, char *s)
{
    free(v->str[field]);
    v->str[field] = s;
    v->present |= 1u << field;
    v->known = 1;
}

void values_set_str(tc_values *v, int field, const char *s) { values_take_str(v, field, xstrdup(s)); }

void values_set_num(tc_values *v, int field, double d)
{
    v->num[field] = d;
    v->present |= 1u << field;
    v->known = 1;
}

void values_add_link(tc_values *v, int kind, const char *label, const char *url)
{
    /* A set: the same (kind, url) twice is kept once. */
    for (size_t i = 0; i < v->n_links; i++)
        if (v->links[i].kind == kind && !strcmp(v->links[i].url, url))
            return;
    if (v->n_links == v->cap_links) {
        v->cap_links = v->cap_links ? v->cap_links * 2 : 4;
        v->links = xrealloc(v->links, v->cap_links * sizeof *v->links);
    }
    v->links[v->n_links].kind = kind;
    v->links[v->n_links].label = label ? xstrdup(label) : NULL;
    v->links[v->n_links].url = xstrdup(url);
    v->n_links++;
    v->known = 1;
}

int values_has(const tc_values *v, int field) { return (v->present >> field) & 1u; }

/* Where KEY is or would go in V's sorted extras; *FOUND: it is there. */
static size_t extra_slot(const tc_values *v, const char *key, int *found)
{
    size_t lo = 0, hi = v->n_extras;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->extras[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

int values_set_extra(tc_values *v, const char *key, extra_type type, double num, const char *str)
{
    int found;
    size_t i = extra_slot(v, key, &found);
    if (found)
        free(v->extras[i].str);
    else {
        if (v->n_extras >= TC_EXTRA_MAX)
            return -1;
        if (v->n_extras == v->cap_extras) {
            v->cap_extras = v->cap_extras ? v->cap_extras * 2 : 8;
            v->extras = xrealloc(v->extras, v->cap_extras * sizeof *v->extras);
        }
        memmove(&v->extras[i + 1], &v->extras[i], (v->n_extras - i) * sizeof *v->extras);
        v->extras[i].key = xstrdup(key);
        v->n_extras++;
    }
    extra_rec *e = &v->extras[i];
    e->type = type;
    e->num = type == EXTRA_BOOL ? (num != 0) : type == EXTRA_NUM ? num : 0;
    e->str = type == EXTRA_STR ? xstrdup(str) : NULL;
    v->known = 1;
    return 0;
}

const extra_rec *values_extra(const tc_values *v, const char *key)
{
    int found;
    size_t i = extra_slot(v, key, &found);
    return found ? &v->extras[i] : NULL;
}

void values_set_version(tc_values *v, const char *version)
{
    free(v->plugin_version);
    v->plugin_version = version ? xstrdup(version) : NULL;
}

void values_clear(tc_values *v)
{
    for (int f = 0; f < FIELD_SLOTS; f++)
        free(v->str[f]);
    for (size_t i = 0; i < v->n_links; i++) {
        free(v->links[i].label);
        free(v->links[i].url);
    }
    free(v->links);
    for (size_t i = 0; i < v->n_extras; i++) {
        free(v->extras[i].key);
        free(v->extras[i].str);
    }
    free(v->extras);
    free(v->plugin_version);
    memset(v, 0, sizeof *v);
}

void values_copy_links(tc_values *dst, const tc_values *src, int kind)
{
    for (size_t i = 0; i < src->n_links; i++)
        if (src->links[i].kind == kind)
            values_add_link(dst, kind, src->links[i].label, src->links[i].url);
}

size_t values_count_links(const tc_values *v, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n_links; i++)
        n += v->links[i].kind == kind;
    return n;
}

/* Shortest "%.Ng" that reads back as exactly D. cJSON's own printer accepts
 * a relative error and so would store 0.30000000000000004 as 0.3. */
void format_double_printf(char out[32], double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

/* The "extra" object of a stored record into V; what values_set_extra
 * would refuse is left out. */
static void extras_from_json(tc_values *v, const cJSON *x)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, x)
    {
        if (!tc_extra_key_ok(e->string))
            continue;
        if (cJSON_IsString(e) && tc_extra_str_ok(e->valuestring))
            values_set_extra(v, e->string, EXTRA_STR, 0, e->valuestring);
        else if (cJSON_IsBool(e))
            values_set_extra(v, e->string, EXTRA_BOOL, cJSON_IsTrue(e), NULL);
        else if (cJSON_IsNumber(e) && tc_extra_num_ok(e->valuedouble))
            values_set_extra(v, e->string, EXTRA_NUM, e->valuedouble, NULL);
    }
}

int values_from_json(tc_values *v, const char *json)
{
    values_clear(v);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    v->known = 1;
    for (int f = 1; f < FIELD_SLOTS; f++) {
        cJSON *item = cJSON_GetObjectItemCaseSensitive(o, field_name(f));
        if (field_is_string(f) && cJSON_IsString(item))
            values_set_str(v, f, item->valuestring);
        else if (!field_is_string(f) && cJSON_IsNumber(item))
            values_set_num(v, f, item->valuedouble);
    }
    for (int kind = TC_LINK_WEBSITE; kind <= TC_LINK_SOCIAL; kind++) {
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, kind == TC_LINK_WEBSITE ? "websites" : "socials");
        cJSON *l;
        cJSON_ArrayForEach(l, arr)
        {
            cJSON *url = cJSON_GetObjectItemCaseSensitive(l, "url");
            cJSON *label = cJSON_GetObjectItemCaseSensitive(l, kind == TC_LINK_WEBSITE ? "label" : "type");
            if (cJSON_IsString(url))
                values_add_link(v, kind, cJSON_IsString(label) ? label->valuestring : NULL, url->valuestring);
        }
    }
    cJSON *extra = cJSON_GetObjectItemCaseSensitive(o, "extra");
    if (cJSON_IsObject(extra))
        extras_from_json(v, extra);
    cJSON_Delete(o);
    return 0;
}

const char *outcome_name(source_outcome o)
{
    static const char *const names[] = {"pending", "found", "missing", "failed", "skipped", "kept"};
    return o <= OUTCOME_KEPT ? names[o] : "?";
}

const char *status_name(token_status s)
{
    static const char *const names[] = {"pending", "enriched", "no_data", "failed"};
    return s < STATUS_COUNT ? names[s] : "?";
}
