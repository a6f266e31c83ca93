#include "plugin_settings.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "util.h"

/* A descriptor carries `settings` only when it was built for ABI 1.1 or
 * later, and each entry is as large as the plugin's tc_setting_def. */
static int has_settings(const tc_source *vt)
{
    size_t need = offsetof(tc_source, setting_size) + sizeof vt->setting_size;
    size_t entry = offsetof(tc_setting_def, max) + sizeof(double);
    return vt->abi_minor >= 1 && vt->struct_size >= need && vt->settings && vt->setting_size >= entry;
}

const tc_setting_def *plugin_setting_at(const tc_source *vt, size_t i)
{
    if (!has_settings(vt))
        return NULL;
    for (size_t k = 0;; k++) {
        const tc_setting_def *d =
            (const tc_setting_def *)(const void *)((const char *)vt->settings + k * vt->setting_size);
        if (!d->name)
            return NULL;
        if (k == i)
            return d;
    }
}

static const tc_setting_def *find_setting(const tc_source *vt, const char *key)
{
    const tc_setting_def *d;
    for (size_t i = 0; (d = plugin_setting_at(vt, i)); i++)
        if (!strcmp(d->name, key))
            return d;
    return NULL;
}

static int listed_name(const tc_source *vt, const char *key)
{
    for (const char *const *k = vt->config_keys; k && *k; k++)
        if (!strcmp(*k, key))
            return 1;
    return 0;
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case TC_SETTING_STRING:
        return "text";
    case TC_SETTING_INT:
        return "integer";
    case TC_SETTING_NUMBER:
        return "number";
    case TC_SETTING_BOOL:
        return "boolean";
    default:
        return "?";
    }
}

/* NULL when VALUE fits D, else what was expected. */
static const char *value_problem(const tc_setting_def *d, const char *value)
{
    long l;
    double x;
    int b;
    int bounded = d->min <= d->max;
    switch (d->type) {
    case TC_SETTING_INT:
        if (parse_long(value, LONG_MIN, LONG_MAX, &l) != 0 || (bounded && (l < d->min || l > d->max)))
            return "a whole number";
        return NULL;
    case TC_SETTING_NUMBER:
        if (parse_double(value, &x) != 0 || (bounded && (x < d->min || x > d->max)))
            return "a number";
        return NULL;
    case TC_SETTING_BOOL:
        return parse_bool(value, &b) == 0 ? NULL : "true/false, yes/no, on/off or 1/0";
    default:
        return NULL;
    }
}

static int check_key(const tc_source *vt, const char *cfg_path, const cfg_source *src, const cfg_kv *kv, char *err,
                     size_t errlen)
{
    char where[512];
    cfg_source_key_where(cfg_path, src, kv->key, where, sizeof where);
    const tc_setting_def *d = find_setting(vt, kv->key);
    if (!d && !listed_name(vt, kv->key)) {
        snprintf(err, errlen, "%s[source %s] unknown key \"%s\" (plugin %s does not read it)", where, src->name,
                 kv->key, vt->name);
        return -1;
    }
    const char *problem = d ? value_problem(d, kv->value) : NULL;
    if (!problem)
        return 0;
    if (d->min <= d->max && (d->type == TC_SETTING_INT || d->type == TC_SETTING_NUMBER))
        snprintf(err, errlen, "%s[source %s] %s: expected %s %g..%g, got \"%s\"", where, src->name, kv->key, problem,
                 d->min, d->max, kv->value);
    else
        snprintf(err, errlen, "%s[source %s] %s: expected %s, got \"%s\"", where, src->name, kv->key, problem,
                 kv->value);
    return -1;
}

int plugin_settings_check(const tc_source *vt, const char *cfg_path, const cfg_source *src, char *err, size_t errlen)
{
    for (size_t i = 0; i < src->n_keys; i++)
        if (!cfg_is_host_source_key(src->keys[i].key) && check_key(vt, cfg_path, src, &src->keys[i], err, errlen) != 0)
            return -1;
    return 0;
}

static void range_text(const tc_setting_def *d, char *buf, size_t len)
{
    if (d->min <= d->max && (d->type == TC_SETTING_INT || d->type == TC_SETTING_NUMBER))
        snprintf(buf, len, "%s %g..%g", type_name(d->type), d->min, d->max);
    else
        snprintf(buf, len, "%s", type_name(d->type));
}

void plugin_settings_print(const tc_source *vt, FILE *out, int markdown)
{
    const tc_setting_def *d;
    if (!markdown)
        fprintf(out, "plugin %s %s (ABI %u.%u): %s\n  at most %zu addresses per request\n", vt->name,
                vt->version ? vt->version : "?", vt->abi_major, vt->abi_minor, vt->description ? vt->description : "",
                vt->max_chunk);
    else
        fprintf(out, "| key | type | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; (d = plugin_setting_at(vt, i)); i++) {
        char type[64];
        range_text(d, type, sizeof type);
        const char *def = d->default_value ? d->default_value : "none";
        const char *tick = d->default_value ? "`" : "";
        if (markdown)
            fprintf(out, "| `%s` | %s | %s%s%s | %s |\n", d->name, type, tick, def, tick,
                    d->description ? d->description : "");
        else
            fprintf(out, "  %s = %s    (%s)\n      %s\n", d->name, def, type, d->description ? d->description : "");
    }
    for (const char *const *k = vt->config_keys; !has_settings(vt) && k && *k; k++)
        fprintf(out,
                markdown ? "| `%s` | text | | (declared by name only, ABI 1.0) |\n" : "  %s (ABI 1.0: name only)\n",
                *k);
}
