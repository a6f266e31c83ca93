/* Two loaded configs compared key by key, from the config map: what a live
 * reload has to apply, and what it cannot (keys flagged CFG_RESTART). */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "secrets.h"

typedef struct differ {
    cfg_diff_fn fn;
    void *ctx;
    size_t n;
} differ;

static void report(differ *d, cfg_change change, const char *section, const char *key, const char *old_v,
                   const char *new_v, int restart)
{
    if (key && secret_key_name(key) /* credentials are never shown */) {
        old_v = old_v ? "(secret)" : NULL;
        new_v = new_v ? "(secret)" : NULL;
    }
    cfg_diff_entry e = {change, section, key, old_v, new_v, restart};
    d->n++;
    if (d->fn)
        d->fn(d->ctx, &e);
}

/* Every stored table key of KIND that differs between A and B. */
static void diff_table(differ *d, cfg_section_kind kind, const char *section, const void *a, const void *b)
{
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const cfg_key_def *k = &cfg_keys[i];
        if (k->section != kind || cfg_key_equal(k, a, b))
            continue;
        char x[512], y[512];
        cfg_key_format(k, a, x, sizeof x);
        cfg_key_format(k, b, y, sizeof y);
        report(d, CFG_CHANGED, section, k->name, x, y, (k->flags & CFG_RESTART) != 0);
    }
}

/* Keys a source keeps as text for its plugin (its own keys, api_key,
 * base_url), which the table does not store. */
static void diff_plugin_keys(differ *d, const char *section, const cfg_source *a, const cfg_source *b)
{
    for (size_t i = 0; i < a->n_keys; i++) {
        const char *k = a->keys[i].key, *nv = cfg_source_get(b, k);
        const cfg_key_def *def = cfg_key_find(CFG_SEC_SOURCE, k);
        if (def && def->offset != CFG_NOT_STORED)
            continue;
        if (!nv || strcmp(nv, a->keys[i].value) != 0)
            report(d, nv ? CFG_CHANGED : CFG_REMOVED, section, k, a->keys[i].value, nv, 0);
    }
    for (size_t i = 0; i < b->n_keys; i++) {
        const cfg_key_def *def = cfg_key_find(CFG_SEC_SOURCE, b->keys[i].key);
        if ((!def || def->offset == CFG_NOT_STORED) && !cfg_source_get(a, b->keys[i].key))
            report(d, CFG_ADDED, section, b->keys[i].key, NULL, b->keys[i].value, 0);
    }
}

static const cfg_source *source_named(const config *c, const char *name)
{
    for (size_t i = 0; i < c->n_sources; i++)
        if (!strcmp(c->sources[i].name, name))
            return &c->sources[i];
    return NULL;
}

static void diff_sources(differ *d, const config *a, const config *b)
{
    char section[160];
    for (size_t i = 0; i < a->n_sources; i++) {
        const cfg_source *sa = &a->sources[i], *sb = source_named(b, sa->name);
        snprintf(section, sizeof section, "source %s", sa->name);
        if (!sb) {
            report(d, CFG_REMOVED, section, NULL, NULL, NULL, 0);
            continue;
        }
        diff_table(d, CFG_SEC_SOURCE, section, sa, sb);
        diff_plugin_keys(d, section, sa, sb);
    }
    for (size_t i = 0; i < b->n_sources; i++)
        if (!source_named(a, b->sources[i].name)) {
            snprintf(section, sizeof section, "source %s", b->sources[i].name);
            report(d, CFG_ADDED, section, NULL, NULL, NULL, 0);
        }
}

static void diff_limiters(differ *d, const config *a, const config *b)
{
    char section[160];
    for (size_t i = 0; i < a->n_limiters; i++) {
        const cfg_limiter *la = &a->limiters[i], *lb = config_find_limiter(b, la->name);
        snprintf(section, sizeof section, "limiter %s", la->name);
        if (lb)
            diff_table(d, CFG_SEC_LIMITER, section, la, lb);
        else
            report(d, CFG_REMOVED, section, NULL, NULL, NULL, 0);
    }
    for (size_t i = 0; i < b->n_limiters; i++)
        if (!config_find_limiter(a, b->limiters[i].name)) {
            snprintf(section, sizeof section, "limiter %s", b->limiters[i].name);
            report(d, CFG_ADDED, section, NULL, NULL, NULL, 0);
        }
}

static void merge_text(const cfg_merge *m, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", m->sources[i]);
}

static void diff_merge(differ *d, const config *a, const config *b)
{
    for (int f = 1; f < CFG_MERGE_FIELDS; f++) {
        char x[512], y[512];
        merge_text(&a->merge[f], x, sizeof x);
        merge_text(&b->merge[f], y, sizeof y);
        if (strcmp(x, y) != 0)
            report(d, CFG_CHANGED, "merge", field_name(f), x, y, 0);
    }
}

size_t config_diff_source(const cfg_source *a, const cfg_source *b, cfg_diff_fn fn, void *ctx)
{
    differ d = {fn, ctx, 0};
    char section[160];
    snprintf(section, sizeof section, "source %s", b->name);
    diff_table(&d, CFG_SEC_SOURCE, section, a, b);
    diff_plugin_keys(&d, section, a, b);
    return d.n;
}

size_t config_diff(const config *a, const config *b, cfg_diff_fn fn, void *ctx)
{
    differ d = {fn, ctx, 0};
    diff_table(&d, CFG_SEC_CORE, "core", a, b);
    diff_table(&d, CFG_SEC_SCHEDULER, "scheduler", &a->sched, &b->sched);
    diff_table(&d, CFG_SEC_API, "api", &a->api, &b->api);
    diff_limiters(&d, a, b);
    diff_sources(&d, a, b);
    diff_merge(&d, a, b);
    return d.n;
}
