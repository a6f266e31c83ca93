/* Loading a config: sections and keys from ini_reader, each key parsed
 * through the config map, ${VAR} and TC_* overrides from config_env.c,
 * then the checks between keys. Every error names FILE:LINE (or the
 * environment variable) and, for a repeated key or section, both places. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_private.h"
#include "ini_reader.h"
#include "secrets.h"
#include "log.h"
#include "tokencollector/plugin.h"
#include "util.h"

extern char **environ;

int cfg_is_host_source_key(const char *key)
{
    return cfg_key_find(CFG_SEC_SOURCE, key) != NULL;
}

/* A key or a section header seen in the file, for "set again" errors. */
typedef struct seen {
    char *section;
    char *key; /* NULL for a section header */
    int line;
} seen;

typedef struct parse_state {
    config *cfg;
    unsigned flags;
    char *err;
    size_t errlen;
    int failed;
    const char *env_var; /* while applying an override: its name */
    seen *seen;
    size_t n_seen;
} parse_state;

static int fail(parse_state *st, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parse_state *st, int line, const char *fmt, ...)
{
    if (st->failed)
        return -1;
    st->failed = 1;
    int n = st->env_var ? snprintf(st->err, st->errlen, "environment %s: ", st->env_var)
            : line > 0  ? snprintf(st->err, st->errlen, "%s:%d: ", st->cfg->path, line)
                        : snprintf(st->err, st->errlen, "%s: ", st->cfg->path);
    if (n < 0 || (size_t)n >= st->errlen)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- sections --------------------------------------------------------------- */

static cfg_source *find_source(config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_sources; i++)
        if (strcmp(cfg->sources[i].name, name) == 0)
            return &cfg->sources[i];
    return NULL;
}

static cfg_limiter *find_limiter_mut(config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_limiters; i++)
        if (strcmp(cfg->limiters[i].name, name) == 0)
            return &cfg->limiters[i];
    return NULL;
}

int cfg_limiter_cluster(const cfg_limiter *l)
{
    return l->scope && !strcmp(l->scope, "cluster");
}

const cfg_limiter *config_find_limiter(const config *cfg, const char *name)
{
    return find_limiter_mut((config *)cfg, name);
}

const cfg_source *config_find_source(const config *cfg, const char *name)
{
    return find_source((config *)cfg, name);
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

cfg_source *cfg_source_copy(const cfg_source *src)
{
    cfg_source *s = xmalloc(sizeof *s);
    *s = *src;
    s->name = xstrdup(src->name);
    s->plugin = dup_or_null(src->plugin);
    s->limiter = dup_or_null(src->limiter);
    s->isolation = dup_or_null(src->isolation);
    s->keys = xcalloc(src->n_keys ? src->n_keys : 1, sizeof *s->keys);
    for (size_t k = 0; k < src->n_keys; k++)
        s->keys[k] = (cfg_kv){xstrdup(src->keys[k].key), xstrdup(src->keys[k].value), src->keys[k].line,
                              dup_or_null(src->keys[k].env)};
    return s;
}

/* What a cfg_source owns, not the struct itself. */
static void source_clear(cfg_source *s)
{
    free(s->name);
    cfg_section_free(CFG_SEC_SOURCE, s);
    for (size_t k = 0; k < s->n_keys; k++) {
        free(s->keys[k].key);
        free(s->keys[k].value);
        free(s->keys[k].env);
    }
    free(s->keys);
}

void cfg_source_free(cfg_source *s)
{
    if (!s)
        return;
    source_clear(s);
    free(s);
}

static void add_source(config *cfg, const char *name, int line)
{
    cfg->sources = xrealloc(cfg->sources, (cfg->n_sources + 1) * sizeof *cfg->sources);
    cfg_source *s = &cfg->sources[cfg->n_sources++];
    memset(s, 0, sizeof *s);
    cfg_section_defaults(CFG_SEC_SOURCE, s);
    s->name = xstrdup(name);
    s->line = line;
}

static void add_limiter(config *cfg, const char *name, int line)
{
    cfg->limiters = xrealloc(cfg->limiters, (cfg->n_limiters + 1) * sizeof *cfg->limiters);
    cfg_limiter *l = &cfg->limiters[cfg->n_limiters++];
    memset(l, 0, sizeof *l);
    cfg_section_defaults(CFG_SEC_LIMITER, l);
    l->name = xstrdup(name);
    l->line = line;
}

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* "limiter jupiter" -> CFG_SEC_LIMITER and "jupiter"; -1 for an unknown
 * section or a bad name. */
static int section_kind(const char *section, const char **name)
{
    static const struct {
        const char *word;
        cfg_section_kind kind;
        int named;
    } kinds[] = {{"core", CFG_SEC_CORE, 0},
                 {"scheduler", CFG_SEC_SCHEDULER, 0},
                 {"merge", CFG_SEC_MERGE, 0},
                 {"limiter", CFG_SEC_LIMITER, 1},
                 {"source", CFG_SEC_SOURCE, 1},
                 {"api", CFG_SEC_API, 0}};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        size_t n = strlen(kinds[i].word);
        if (strncmp(section, kinds[i].word, n) != 0)
            continue;
        const char *rest = section + n;
        if (!kinds[i].named && !*rest) {
            *name = NULL;
            return (int)kinds[i].kind;
        }
        if (kinds[i].named && *rest == ' ') {
            while (*rest == ' ')
                rest++;
            *name = rest;
            return valid_name(rest) ? (int)kinds[i].kind : -1;
        }
    }
    return -1;
}

static const seen *find_seen(const parse_state *st, const char *section, const char *key)
{
    for (size_t i = 0; i < st->n_seen; i++)
        if (!strcmp(st->seen[i].section, section) &&
            (key ? st->seen[i].key && !strcmp(st->seen[i].key, key) : !st->seen[i].key))
            return &st->seen[i];
    return NULL;
}

static void remember(parse_state *st, const char *section, const char *key, int line)
{
    st->seen = xrealloc(st->seen, (st->n_seen + 1) * sizeof *st->seen);
    st->seen[st->n_seen++] = (seen){xstrdup(section), key ? xstrdup(key) : NULL, line};
}

static int on_section(void *user, const char *section, int line)
{
    parse_state *st = user;
    const char *name;
    int kind = section_kind(section, &name);
    if (kind < 0)
        return fail(st, line,
                    "unknown section [%s] (known: [core], [scheduler], [merge], [limiter NAME], "
                    "[source NAME], [api]; NAME is letters, digits, _ and -)",
                    section);
    const seen *before = find_seen(st, section, NULL);
    /* A named section twice is two definitions of one instance (a copy and
     * paste gone wrong): refuse it instead of merging the two. */
    if (before && name)
        return fail(st, line, "[%s] is defined again (first at line %d); each source and limiter is one section",
                    section, before->line);
    if (!before)
        remember(st, section, NULL, line);
    if (kind == CFG_SEC_SOURCE && !find_source(st->cfg, name))
        add_source(st->cfg, name, line);
    else if (kind == CFG_SEC_LIMITER && !find_limiter_mut(st->cfg, name))
        add_limiter(st->cfg, name, line);
    return 0;
}

/* ---- keys --------------------------------------------------------------------- */

static void source_put_key(parse_state *st, cfg_source *s, const char *key, const char *value, int line)
{
    cfg_kv *kv = NULL;
    for (size_t i = 0; i < s->n_keys && !kv; i++)
        if (!strcmp(s->keys[i].key, key))
            kv = &s->keys[i];
    if (!kv) {
        s->keys = xrealloc(s->keys, (s->n_keys + 1) * sizeof *s->keys);
        kv = &s->keys[s->n_keys++];
        *kv = (cfg_kv){.key = xstrdup(key)};
    }
    free(kv->value);
    free(kv->env);
    kv->value = xstrdup(value);
    kv->line = line;
    kv->env = st->env_var ? xstrdup(st->env_var) : NULL;
}

/* Sets KEY of a table section (OBJ) or reports it unknown. */
static int set_table_key(parse_state *st, int line, cfg_section_kind kind, const char *label, void *obj,
                         const char *key, const char *value)
{
    char why[768];
    const cfg_key_def *d = cfg_key_find(kind, key);
    if (!d) {
        cfg_unknown_key(kind, key, why, sizeof why);
        return fail(st, line, "[%s] %s", label, why);
    }
    if (cfg_key_set(d, obj, value, why, sizeof why) != 0)
        return fail(st, line, "[%s] %s", label, why);
    return 0;
}

static int set_merge_key(parse_state *st, int line, const char *key, const char *value)
{
    char why[256];
    int r = config_merge_max_age(st->cfg, key, value, why, sizeof why);
    if (r < 0)
        return fail(st, line, "[merge] %s", why);
    if (r > 0)
        return 0;
    int f = field_from_name(key);
    if (f < 0) {
        strbuf b = {0};
        config_merge_unknown(key, &b);
        fail(st, line, "[merge] %s", b.data);
        sb_free(&b);
        return -1;
    }
    config_merge_set(&st->cfg->merge[f], value, line);
    return 0;
}

static int apply(parse_state *st, const char *section, const char *key, const char *value, int line)
{
    const char *name;
    config *cfg = st->cfg;
    switch (section_kind(section, &name)) {
    case CFG_SEC_CORE:
        return set_table_key(st, line, CFG_SEC_CORE, "core", cfg, key, value);
    case CFG_SEC_SCHEDULER:
        if (line)
            cfg->sched_line = line;
        return set_table_key(st, line, CFG_SEC_SCHEDULER, "scheduler", &cfg->sched, key, value);
    case CFG_SEC_API:
        return set_table_key(st, line, CFG_SEC_API, "api", &cfg->api, key, value);
    case CFG_SEC_MERGE:
        return set_merge_key(st, line, key, value);
    case CFG_SEC_LIMITER:
        if (line && !strcmp(key, "scope") && find_limiter_mut(cfg, name))
            find_limiter_mut(cfg, name)->scope_line = line;
        return set_table_key(st, line, CFG_SEC_LIMITER, section, find_limiter_mut(cfg, name), key, value);
    case CFG_SEC_SOURCE: {
        cfg_source *s = find_source(cfg, name);
        source_put_key(st, s, key, value, line);
        /* The plugin's own keys are checked by the registry, which knows them. */
        return cfg_is_host_source_key(key) ? set_table_key(st, line, CFG_SEC_SOURCE, section, s, key, value) : 0;
    }
    default:
        return fail(st, line, "unknown section [%s]", section);
    }
}

/* Whether a section of KIND is parsed under FLAGS (CONFIG_STORE_ONLY: only
 * [core]; CONFIG_SERVE: [core] and [api]). */
static int section_parsed(unsigned flags, int kind)
{
    if (flags & CONFIG_STORE_ONLY)
        return kind == CFG_SEC_CORE;
    if (flags & CONFIG_SERVE)
        return kind == CFG_SEC_CORE || kind == CFG_SEC_API;
    return 1;
}

static int on_entry(void *user, const char *section, const char *key, const char *raw, int line)
{
    parse_state *st = user;
    if (!*section)
        return fail(st, line, "\"%s\" is outside any section (start with [core], [source NAME], ...)", key);
    const seen *before = find_seen(st, section, key);
    if (before)
        return fail(st, line, "[%s] %s is set again (first at line %d); write each key once", section, key,
                    before->line);
    remember(st, section, key, line);
    const char *name;
    if (!section_parsed(st->flags, section_kind(section, &name)))
        return 0;
    char why[512];
    char *value = env_expand(key, raw, why, sizeof why);
    if (!value)
        return fail(st, line, "[%s] %s", section, why);
    int rc = apply(st, section, key, value, line);
    free(value);
    return rc;
}

static void apply_env_overrides(parse_state *st)
{
    for (char **e = environ; *e && !st->failed; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, "TC_", 3) != 0 || !eq || (size_t)(eq - *e) >= 256)
            continue;
        char var[256], section[192], key[256], why[1024];
        snprintf(var, sizeof var, "%.*s", (int)(eq - *e), *e);
        st->env_var = var;
        int rc = env_override_target(st->cfg, var, section, sizeof section, key, sizeof key, why, sizeof why);
        if (rc < 0) {
            st->failed = 1;
            snprintf(st->err, st->errlen, "%s", why);
        } else if (rc > 0) {
            const char *name;
            if (section_parsed(st->flags, section_kind(section, &name)))
                apply(st, section, key, eq + 1, 0);
        }
        st->env_var = NULL;
    }
}

/* ---- checks between keys ------------------------------------------------------ */

static int validate_sources(parse_state *st)
{
    config *cfg = st->cfg;
    if (cfg->n_sources == 0)
        return fail(st, 0, "no [source NAME] section: nothing to collect");
    size_t enabled = 0;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        cfg_source *s = &cfg->sources[i];
        if (!s->plugin)
            return fail(st, s->line, "[source %s] needs a plugin = FILE.so key", s->name);
        if (s->limiter && !find_limiter_mut(cfg, s->limiter))
            return fail(st, cfg_source_key_line(s, "limiter"), "[source %s] limiter: no [limiter %s] section", s->name,
                        s->limiter);
        enabled += s->enabled != 0;
    }
    if (enabled == 0)
        return fail(st, 0, "every source is disabled: nothing to collect");
    return 0;
}

static int validate(parse_state *st)
{
    config *cfg = st->cfg;
    char why[512];
    if (scheduler_config_validate(&cfg->sched, why, sizeof why) != 0)
        return fail(st, cfg->sched_line, "[scheduler] %s", why);
    if (validate_sources(st) != 0)
        return -1;
    for (size_t i = 0; i < cfg->n_limiters; i++) {
        cfg_limiter *l = &cfg->limiters[i];
        if (l->rate_per_s <= 0)
            return fail(st, l->line, "[limiter %s] needs rate = N/s or N/min", l->name);
        /* The shared state lives in PostgreSQL (cluster_pg.c): one SQLite
         * file has one collector, nothing to share. */
        if (cfg_limiter_cluster(l) && cfg->store && !strncmp(cfg->store, "sqlite:", 7))
            return fail(st, l->scope_line ? l->scope_line : l->line,
                        "[limiter %s] scope = cluster needs a PostgreSQL store (store = %s): the shared limit lives "
                        "in the database", l->name, cfg->store);
    }
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        for (size_t i = 0; i < cfg->merge[f].n; i++)
            if (cfg->merge[f].line && !find_source(cfg, cfg->merge[f].sources[i]))
                return fail(st, cfg->merge[f].line, "[merge] %s: no [source %s] section", field_name(f),
                            cfg->merge[f].sources[i]);
    return 0;
}

static void merge_defaults(config *cfg)
{
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        if (!cfg->merge[f].line && !cfg->merge[f].n) {
            config_merge_set(&cfg->merge[f], config_merge_default(f), 0);
            cfg->merge[f].line = 0;
        }
}

static void read_file(parse_state *st, FILE *f)
{
    ini_callbacks cb = {.user = st, .section = on_section, .entry = on_entry};
    int rc = ini_read(f, &cb);
    if (rc > 0)
        fail(st, rc, "syntax error (expected [section], key = value, or a ; comment)");
}

int config_load_ex(const char *path, config *cfg, unsigned flags, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->path = xstrdup(path);
    cfg_section_defaults(CFG_SEC_CORE, cfg);
    cfg_section_defaults(CFG_SEC_SCHEDULER, &cfg->sched);
    cfg_section_defaults(CFG_SEC_API, &cfg->api);

    parse_state st = {.cfg = cfg, .flags = flags, .err = err, .errlen = errlen};
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        config_free(cfg);
        return -1;
    }
    read_file(&st, f);
    fclose(f);
    if (!st.failed)
        apply_env_overrides(&st);
    if (!st.failed && !(flags & (CONFIG_STORE_ONLY | CONFIG_SERVE)))
        validate(&st);
    if (!st.failed)
        merge_defaults(cfg);
    for (size_t i = 0; i < st.n_seen; i++) {
        free(st.seen[i].section);
        free(st.seen[i].key);
    }
    free(st.seen);
    if (st.failed) {
        config_free(cfg);
        return -1;
    }
    secrets_add_config(cfg); /* scrubbed from every output from now on */
    return 0;
}

int config_load(const char *path, config *cfg, char *err, size_t errlen)
{
    return config_load_ex(path, cfg, 0, err, errlen);
}

double config_global_rate(const config *cfg)
{
    double g = cfg->global_rate;
    if (cfg->sched.api_rate_limit > 0 && (g <= 0 || cfg->sched.api_rate_limit < g))
        g = cfg->sched.api_rate_limit;
    return g;
}

static const cfg_kv *source_kv(const cfg_source *src, const char *key)
{
    for (size_t i = 0; i < src->n_keys; i++)
        if (!strcmp(src->keys[i].key, key))
            return &src->keys[i];
    return NULL;
}

const char *cfg_source_get(const cfg_source *src, const char *key)
{
    const cfg_kv *kv = source_kv(src, key);
    return kv ? kv->value : NULL;
}

int cfg_source_key_line(const cfg_source *src, const char *key)
{
    const cfg_kv *kv = source_kv(src, key);
    return kv ? kv->line : src->line;
}

void cfg_source_key_where(const char *cfg_path, const cfg_source *src, const char *key, char *buf, size_t len)
{
    const cfg_kv *kv = source_kv(src, key);
    if (kv && kv->env)
        snprintf(buf, len, "environment %s: ", kv->env);
    else
        snprintf(buf, len, "%s:%d: ", cfg_path, kv ? kv->line : src->line);
}

void config_free(config *cfg)
{
    free(cfg->path);
    cfg_section_free(CFG_SEC_CORE, cfg);
    cfg_section_free(CFG_SEC_API, &cfg->api);
    cfg_section_free(CFG_SEC_SCHEDULER, &cfg->sched);
    for (size_t i = 0; i < cfg->n_limiters; i++) {
        free(cfg->limiters[i].name);
        cfg_section_free(CFG_SEC_LIMITER, &cfg->limiters[i]);
    }
    free(cfg->limiters);
    for (size_t i = 0; i < cfg->n_sources; i++)
        source_clear(&cfg->sources[i]);
    free(cfg->sources);
    for (int f = 0; f < CFG_MERGE_FIELDS; f++)
        config_merge_clear(&cfg->merge[f]);
    memset(cfg, 0, sizeof *cfg);
}
