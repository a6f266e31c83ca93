#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tokencollector/plugin.h"
#include "util.h"

extern char **environ;

static const char *const field_names[CFG_MERGE_FIELDS] = {
    NULL, "name", "symbol", "decimals", "image_url", "description", "supply",
    "price_usd", "market_cap", "fdv", "liquidity_usd", "volume_24h", "change_24h",
    "websites", "socials"};

const char *field_name(int field)
{
    return field > 0 && field < CFG_MERGE_FIELDS ? field_names[field] : NULL;
}

int field_from_name(const char *name)
{
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        if (strcmp(field_names[f], name) == 0)
            return f;
    return -1;
}

/* Default precedence from DESIGN.md; "links" is handled by the merger
 * separately (websites/socials: dexscreener, jupiter). */
static const char *default_merge(int field)
{
    switch (field) {
    case TC_NAME: case TC_SYMBOL: case TC_IMAGE_URL: case TC_DESCRIPTION:
        return "helius, jupiter, dexscreener";
    case TC_DECIMALS: case TC_SUPPLY:
        return "helius, jupiter";
    case MERGE_WEBSITES: case MERGE_SOCIALS:
        return "dexscreener, jupiter";
    default:
        return "jupiter, dexscreener";
    }
}

static const char *const host_source_keys[] = {
    "plugin", "enabled", "chunk_size", "throttle_ms", "limiter", "base_url",
    "api_key", "timeout_ms", "concurrency", "max_attempts", "retry_budget", "breaker_window",
    "breaker_min_calls", "breaker_threshold", "breaker_open_s", "breaker_open_max_s", "breaker_probes", NULL};

int cfg_is_host_source_key(const char *key)
{
    for (int i = 0; host_source_keys[i]; i++)
        if (strcmp(host_source_keys[i], key) == 0)
            return 1;
    return 0;
}

typedef struct parse_state {
    config *cfg;
    FILE *file;
    int line;        /* line the reader returned last */
    int error_line;
    char *err;
    size_t errlen;
    int failed;
    int too_long;
} parse_state;

static int fail(parse_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parse_state *st, int line, const char *fmt, ...)
{
    if (st->failed)
        return 0;
    st->failed = 1;
    int n = line > 0 ? snprintf(st->err, st->errlen, "%s:%d: ", st->cfg->path, line)
                     : snprintf(st->err, st->errlen, "%s: ", st->cfg->path);
    if (n < 0 || (size_t)n >= st->errlen)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return 0; /* stop inih */
}

/* Expands ${VAR} and ${VAR:-default}. Returns NULL (with an error set) when a
 * variable without default is unset. */
static char *expand_env(parse_state *st, int line, const char *key, const char *value)
{
    strbuf out = {0};
    sb_appends(&out, "");
    for (const char *p = value; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *close = strchr(p + 2, '}');
            if (!close) {
                fail(st, line, "%s: unterminated ${ in value", key);
                sb_free(&out);
                return NULL;
            }
            size_t len = (size_t)(close - (p + 2));
            char *inner = xmalloc(len + 1);
            memcpy(inner, p + 2, len);
            inner[len] = '\0';
            char *def = strstr(inner, ":-");
            if (def) {
                *def = '\0';
                def += 2;
            }
            const char *env = getenv(inner);
            if (env && (*env || !def))
                sb_appends(&out, env);
            else if (def)
                sb_appends(&out, def);
            else {
                fail(st, line, "%s: environment variable %s is not set (use ${%s:-default} "
                     "for an optional value)", key, inner, inner);
                free(inner);
                sb_free(&out);
                return NULL;
            }
            free(inner);
            p = close + 1;
        } else {
            sb_append(&out, p, 1);
            p++;
        }
    }
    return out.data;
}

int parse_rate(const char *s, double *per_second)
{
    char buf[64];
    if (!s || strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *slash = strchr(buf, '/');
    double divisor = 1;
    if (slash) {
        *slash = '\0';
        const char *unit = slash + 1;
        while (isspace((unsigned char)*unit))
            unit++;
        if (!strcmp(unit, "s") || !strcmp(unit, "sec") || !strcmp(unit, "second"))
            divisor = 1;
        else if (!strcmp(unit, "min") || !strcmp(unit, "m") || !strcmp(unit, "minute"))
            divisor = 60;
        else if (!strcmp(unit, "h") || !strcmp(unit, "hour"))
            divisor = 3600;
        else
            return -1;
    }
    char *end = buf + strlen(buf);
    while (end > buf && isspace((unsigned char)end[-1]))
        *--end = '\0';
    double v;
    if (parse_double(buf, &v) != 0 || !(v > 0) || v > 1e9)
        return -1;
    *per_second = v / divisor;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
        *out = 0;
    else
        return -1;
    return 0;
}

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

const cfg_limiter *config_find_limiter(const config *cfg, const char *name)
{
    return find_limiter_mut((config *)cfg, name);
}

static cfg_source *add_source(config *cfg, const char *name, int line)
{
    cfg->sources = xrealloc(cfg->sources, (cfg->n_sources + 1) * sizeof *cfg->sources);
    cfg_source *s = &cfg->sources[cfg->n_sources++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->line = line;
    s->enabled = 1;
    s->timeout_ms = 15000;
    s->concurrency = 4;
    s->max_attempts = 4;
    s->retry_budget = 0.2;
    s->breaker_window = 20;
    s->breaker_min_calls = 10;
    s->breaker_threshold = 0.5;
    s->breaker_open_s = 30;
    s->breaker_open_max_s = 300;
    s->breaker_probes = 2;
    return s;
}

static cfg_limiter *add_limiter(config *cfg, const char *name, int line)
{
    cfg->limiters = xrealloc(cfg->limiters, (cfg->n_limiters + 1) * sizeof *cfg->limiters);
    cfg_limiter *l = &cfg->limiters[cfg->n_limiters++];
    memset(l, 0, sizeof *l);
    l->name = xstrdup(name);
    l->line = line;
    l->burst = 1;
    return l;
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

/* Splits "[kind NAME]" into kind and name; NAME may be absent. */
static void split_section(const char *section, char *kind, size_t kl, const char **name)
{
    const char *sp = strchr(section, ' ');
    size_t n = sp ? (size_t)(sp - section) : strlen(section);
    if (n >= kl)
        n = kl - 1;
    memcpy(kind, section, n);
    kind[n] = '\0';
    *name = NULL;
    if (sp) {
        while (*sp == ' ')
            sp++;
        *name = sp;
    }
}

static int set_long(parse_state *st, int line, const char *section, const char *key,
                    const char *value, long min, long max, long *out)
{
    if (parse_long(value, min, max, out) != 0)
        return fail(st, line, "[%s] %s: expected a whole number from %ld to %ld, got \"%s\"",
                    section, key, min, max, value);
    return 1;
}

static int set_fraction(parse_state *st, int line, const char *section, const char *key, const char *value,
                        double min, double max, double *out)
{
    double d;
    if (parse_double(value, &d) != 0 || d < min || d > max)
        return fail(st, line, "[%s] %s: expected a number from %g to %g, got \"%s\"", section, key, min, max,
                    value);
    *out = d;
    return 1;
}

static int apply_core(parse_state *st, int line, const char *key, const char *v)
{
    config *cfg = st->cfg;
    if (!strcmp(key, "store")) {
        if (strncmp(v, "sqlite:", 7) != 0 && strncmp(v, "postgresql://", 13) != 0 &&
            strncmp(v, "postgres://", 11) != 0)
            return fail(st, line, "[core] store: expected sqlite:PATH or postgresql://..., got \"%s\"", v);
        free(cfg->store);
        cfg->store = xstrdup(v);
        return 1;
    }
    if (!strcmp(key, "plugin_dir")) {
        free(cfg->plugin_dir);
        cfg->plugin_dir = xstrdup(v);
        return 1;
    }
    if (!strcmp(key, "batch_size"))
        return set_long(st, line, "core", key, v, 1, 100000, &cfg->batch_size);
    if (!strcmp(key, "max_concurrent_batches"))
        return set_long(st, line, "core", key, v, 0, 100000, &cfg->max_concurrent_batches);
    if (!strcmp(key, "connect_timeout_ms"))
        return set_long(st, line, "core", key, v, 1, 600000, &cfg->connect_timeout_ms);
    if (!strcmp(key, "lease_seconds"))
        return set_long(st, line, "core", key, v, 10, 86400, &cfg->lease_seconds);
    if (!strcmp(key, "global_rate")) {
        if (!strcmp(v, "0") || !*v) {
            cfg->global_rate = 0;
            return 1;
        }
        if (parse_rate(v, &cfg->global_rate) != 0)
            return fail(st, line, "[core] global_rate: expected N/s, N/min or N/h with N > 0 (0: none), got \"%s\"",
                        v);
        return 1;
    }
    if (!strcmp(key, "shutdown_grace_s"))
        return set_long(st, line, "core", key, v, 0, 3600, &cfg->shutdown_grace_s);
    if (!strcmp(key, "global_burst"))
        return set_fraction(st, line, "core", key, v, 1, 1e6, &cfg->global_burst);
    if (!strcmp(key, "outstanding_retry_min_s"))
        return set_long(st, line, "core", key, v, 1, 86400, &cfg->outstanding_retry_min_s);
    if (!strcmp(key, "outstanding_retry_max_s"))
        return set_long(st, line, "core", key, v, 1, 7 * 86400, &cfg->outstanding_retry_max_s);
    if (!strcmp(key, "log_level")) {
        int lvl = log_level_parse(v);
        if (lvl < 0)
            return fail(st, line, "[core] log_level: expected error, warn, info or debug, got \"%s\"", v);
        cfg->log_level = lvl;
        return 1;
    }
    return fail(st, line, "[core] unknown key \"%s\" (known: store, plugin_dir, batch_size, "
                "max_concurrent_batches, connect_timeout_ms, lease_seconds, log_level, global_rate, global_burst, "
                "outstanding_retry_min_s, outstanding_retry_max_s, shutdown_grace_s)", key);
}

static int apply_limiter(parse_state *st, int line, cfg_limiter *l, const char *key, const char *v)
{
    if (!strcmp(key, "rate")) {
        if (parse_rate(v, &l->rate_per_s) != 0)
            return fail(st, line, "[limiter %s] rate: expected N/s, N/min or N/h with N > 0, got \"%s\"",
                        l->name, v);
        return 1;
    }
    if (!strcmp(key, "burst")) {
        double b;
        if (parse_double(v, &b) != 0 || b < 1 || b > 1e6)
            return fail(st, line, "[limiter %s] burst: expected a number >= 1, got \"%s\"", l->name, v);
        l->burst = b;
        return 1;
    }
    if (!strcmp(key, "adaptive")) {
        if (parse_bool(v, &l->adaptive) != 0)
            return fail(st, line, "[limiter %s] adaptive: expected true or false, got \"%s\"", l->name, v);
        return 1;
    }
    return fail(st, line, "[limiter %s] unknown key \"%s\" (known: rate, burst, adaptive)", l->name, key);
}

static void source_put_key(cfg_source *s, const char *key, const char *value, int line)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (!strcmp(s->keys[i].key, key)) {
            free(s->keys[i].value);
            s->keys[i].value = xstrdup(value);
            s->keys[i].line = line;
            return;
        }
    s->keys = xrealloc(s->keys, (s->n_keys + 1) * sizeof *s->keys);
    s->keys[s->n_keys].key = xstrdup(key);
    s->keys[s->n_keys].value = xstrdup(value);
    s->keys[s->n_keys].line = line;
    s->n_keys++;
}

static int apply_source(parse_state *st, int line, cfg_source *s, const char *key, const char *v)
{
    char sec[96];
    snprintf(sec, sizeof sec, "source %s", s->name);
    source_put_key(s, key, v, line);
    if (!strcmp(key, "plugin")) {
        if (!*v)
            return fail(st, line, "[%s] plugin: must name a .so file", sec);
        free(s->plugin);
        s->plugin = xstrdup(v);
    } else if (!strcmp(key, "enabled")) {
        if (parse_bool(v, &s->enabled) != 0)
            return fail(st, line, "[%s] enabled: expected true or false, got \"%s\"", sec, v);
    } else if (!strcmp(key, "chunk_size")) {
        return set_long(st, line, sec, key, v, 1, 100000, &s->chunk_size);
    } else if (!strcmp(key, "throttle_ms")) {
        return set_long(st, line, sec, key, v, 0, 3600000, &s->throttle_ms);
    } else if (!strcmp(key, "timeout_ms")) {
        return set_long(st, line, sec, key, v, 1, 3600000, &s->timeout_ms);
    } else if (!strcmp(key, "concurrency")) {
        return set_long(st, line, sec, key, v, 1, 1000, &s->concurrency);
    } else if (!strcmp(key, "max_attempts")) {
        return set_long(st, line, sec, key, v, 1, 100, &s->max_attempts);
    } else if (!strcmp(key, "retry_budget")) {
        return set_fraction(st, line, sec, key, v, 0, 10, &s->retry_budget);
    } else if (!strcmp(key, "breaker_window")) {
        return set_long(st, line, sec, key, v, 1, 256, &s->breaker_window);
    } else if (!strcmp(key, "breaker_min_calls")) {
        return set_long(st, line, sec, key, v, 1, 256, &s->breaker_min_calls);
    } else if (!strcmp(key, "breaker_threshold")) {
        return set_fraction(st, line, sec, key, v, 0.01, 1, &s->breaker_threshold);
    } else if (!strcmp(key, "breaker_open_s")) {
        return set_long(st, line, sec, key, v, 1, 86400, &s->breaker_open_s);
    } else if (!strcmp(key, "breaker_open_max_s")) {
        return set_long(st, line, sec, key, v, 1, 86400, &s->breaker_open_max_s);
    } else if (!strcmp(key, "breaker_probes")) {
        return set_long(st, line, sec, key, v, 1, 100, &s->breaker_probes);
    } else if (!strcmp(key, "limiter")) {
        free(s->limiter);
        s->limiter = *v ? xstrdup(v) : NULL;
    } else if (!strcmp(key, "base_url")) {
        if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            return fail(st, line, "[%s] base_url: expected http:// or https://, got \"%s\"", sec, v);
    }
    /* api_key and plugin-specific keys are kept in s->keys; the registry
     * rejects keys neither the host nor the plugin knows. */
    return 1;
}

static int apply_merge(parse_state *st, int line, const char *key, const char *v)
{
    int f = field_from_name(key);
    if (f < 0)
        return fail(st, line, "[merge] unknown field \"%s\" (known: name, symbol, decimals, image_url, "
                    "description, supply, price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h, "
                    "websites, socials)", key);
    cfg_merge *m = &st->cfg->merge[f];
    for (size_t i = 0; i < m->n; i++)
        free(m->sources[i]);
    free(m->sources);
    m->sources = NULL;
    m->n = 0;
    m->line = line;
    char *copy = xstrdup(v);
    for (char *tok = strtok(copy, ", \t"); tok; tok = strtok(NULL, ", \t")) {
        m->sources = xrealloc(m->sources, (m->n + 1) * sizeof *m->sources);
        m->sources[m->n++] = xstrdup(tok);
    }
    free(copy);
    return 1;
}

static int apply(parse_state *st, const char *section, const char *key, const char *raw, int line)
{
    char *value = expand_env(st, line, key, raw);
    if (!value)
        return 0;
    char kind[32];
    const char *name;
    split_section(section, kind, sizeof kind, &name);
    int rc;
    if (!strcmp(kind, "core") && !name)
        rc = apply_core(st, line, key, value);
    else if (!strcmp(kind, "merge") && !name)
        rc = apply_merge(st, line, key, value);
    else if (!strcmp(kind, "scheduler") && !name) {
        char why[512];
        if (line)
            st->cfg->sched_line = line;
        rc = scheduler_config_set(&st->cfg->sched, key, value, why, sizeof why) == 0
                 ? 1
                 : fail(st, line, "[scheduler] %s", why);
    }
    else if (!strcmp(kind, "limiter") && name && valid_name(name)) {
        cfg_limiter *l = find_limiter_mut(st->cfg, name);
        if (!l)
            l = add_limiter(st->cfg, name, line);
        rc = apply_limiter(st, line, l, key, value);
    } else if (!strcmp(kind, "source") && name && valid_name(name)) {
        cfg_source *s = find_source(st->cfg, name);
        if (!s)
            s = add_source(st->cfg, name, line);
        rc = apply_source(st, line, s, key, value);
    } else
        rc = fail(st, line, "unknown section [%s] (known: [core], [scheduler], [merge], [limiter NAME], "
                  "[source NAME]; NAME is letters, digits, _ and -)", section);
    free(value);
    return rc;
}

static int on_ini_entry(void *user, const char *section, const char *key, const char *value)
{
    parse_state *st = user;
    if (st->failed)
        return 0;
    return apply(st, section, key, value, st->line);
}

/* inih gives no line numbers to the handler; counting lines in the reader
 * gives them, since inih calls the handler right after reading the line. */
static char *counting_reader(char *buf, int size, void *stream)
{
    parse_state *st = stream;
    char *r = fgets(buf, size, st->file);
    if (!r)
        return NULL;
    st->line++;
    size_t n = strlen(buf);
    if (n == (size_t)size - 1 && buf[n - 1] != '\n' && !feof(st->file)) {
        if (!st->too_long)
            st->too_long = st->line;
        int c;
        while ((c = fgetc(st->file)) != EOF && c != '\n')
            ;
    }
    return r;
}

/* Sections with no keys never reach the handler, and the handler never sees
 * section headers: scan for them so errors about a section name its line. */
static void note_empty_sections(parse_state *st)
{
    rewind(st->file);
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, st->file)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '[')
            continue;
        char *close = strchr(p, ']');
        if (!close)
            continue;
        *close = '\0';
        char kind[32];
        const char *name;
        split_section(p + 1, kind, sizeof kind, &name);
        if (!strcmp(kind, "source") && name && valid_name(name)) {
            cfg_source *src = find_source(st->cfg, name);
            if (!src)
                add_source(st->cfg, name, lineno);
            else if (src->line > lineno)
                src->line = lineno; /* errors about the section point at its header */
        } else if (!strcmp(kind, "limiter") && name && valid_name(name)) {
            cfg_limiter *l = find_limiter_mut(st->cfg, name);
            if (!l)
                add_limiter(st->cfg, name, lineno);
            else if (l->line > lineno)
                l->line = lineno;
        }
    }
}

static void upper_ident(const char *in, char *out, size_t outlen)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outlen; i++)
        out[i] = isalnum((unsigned char)in[i]) ? (char)toupper((unsigned char)in[i]) : '_';
    out[i] = '\0';
}

/* TC_CORE_<KEY>, TC_LIMITER_<NAME>_<KEY>, TC_SOURCE_<NAME>_<KEY> override the
 * file, so containers can change one value without editing it. */
static void apply_env_overrides(parse_state *st)
{
    for (char **e = environ; *e && !st->failed; e++) {
        if (strncmp(*e, "TC_", 3) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char var[256];
        size_t vl = (size_t)(eq - *e);
        if (vl >= sizeof var)
            continue;
        memcpy(var, *e, vl);
        var[vl] = '\0';
        const char *value = eq + 1;
        char section[160] = "", key[256] = "";
        char prefix[160];
        if (!strncmp(var, "TC_CORE_", 8)) {
            strcpy(section, "core");
            snprintf(key, sizeof key, "%s", var + 8);
        } else if (!strncmp(var, "TC_SCHEDULER_", 13)) {
            strcpy(section, "scheduler");
            snprintf(key, sizeof key, "%s", var + 13);
        } else {
            for (size_t i = 0; i < st->cfg->n_sources && !*section; i++) {
                char up[128];
                upper_ident(st->cfg->sources[i].name, up, sizeof up);
                snprintf(prefix, sizeof prefix, "TC_SOURCE_%s_", up);
                if (!strncmp(var, prefix, strlen(prefix))) {
                    snprintf(section, sizeof section, "source %s", st->cfg->sources[i].name);
                    snprintf(key, sizeof key, "%s", var + strlen(prefix));
                }
            }
            for (size_t i = 0; i < st->cfg->n_limiters && !*section; i++) {
                char up[128];
                upper_ident(st->cfg->limiters[i].name, up, sizeof up);
                snprintf(prefix, sizeof prefix, "TC_LIMITER_%s_", up);
                if (!strncmp(var, prefix, strlen(prefix))) {
                    snprintf(section, sizeof section, "limiter %s", st->cfg->limiters[i].name);
                    snprintf(key, sizeof key, "%s", var + strlen(prefix));
                }
            }
        }
        if (!*section || !*key)
            continue; /* other TC_* variables (e.g. TC_PLUGIN_DIR for tests) are not ours */
        for (char *k = key; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        /* Errors from an override name the variable instead of a line. */
        if (!apply(st, section, key, value, 0) && st->failed) {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s (from environment variable %s)", st->err, var);
            snprintf(st->err, st->errlen, "%s", tmp);
        }
    }
}

static int validate(parse_state *st)
{
    config *cfg = st->cfg;
    char why[512];
    if (scheduler_config_validate(&cfg->sched, why, sizeof why) != 0)
        return fail(st, cfg->sched_line, "[scheduler] %s", why);
    if (cfg->n_sources == 0)
        return fail(st, 0, "no [source NAME] section: nothing to collect");
    size_t enabled = 0;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        cfg_source *s = &cfg->sources[i];
        if (!s->plugin)
            return fail(st, s->line, "[source %s] needs a plugin = FILE.so key", s->name);
        if (s->limiter && !find_limiter_mut(cfg, s->limiter))
            return fail(st, cfg_source_key_line(s, "limiter"),
                        "[source %s] limiter: no [limiter %s] section", s->name, s->limiter);
        enabled += s->enabled != 0;
    }
    if (enabled == 0)
        return fail(st, 0, "every source is disabled: nothing to collect");
    for (size_t i = 0; i < cfg->n_limiters; i++) {
        cfg_limiter *l = &cfg->limiters[i];
        if (l->rate_per_s <= 0)
            return fail(st, l->line, "[limiter %s] needs rate = N/s or N/min", l->name);
    }
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        for (size_t i = 0; i < cfg->merge[f].n; i++)
            if (cfg->merge[f].line && !find_source(cfg, cfg->merge[f].sources[i]))
                return fail(st, cfg->merge[f].line, "[merge] %s: no [source %s] section",
                            field_names[f], cfg->merge[f].sources[i]);
    return 1;
}

int config_load(const char *path, config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->path = xstrdup(path);
    cfg->store = xstrdup("sqlite:var/tokens.db");
    cfg->plugin_dir = xstrdup("build/plugins");
    cfg->batch_size = 50;
    cfg->max_concurrent_batches = 0;
    cfg->connect_timeout_ms = 5000;
    cfg->lease_seconds = 600;
    cfg->global_burst = 1;
    cfg->outstanding_retry_min_s = 60;
    cfg->outstanding_retry_max_s = 3600;
    cfg->shutdown_grace_s = 10;
    scheduler_config_default(&cfg->sched);
    cfg->log_level = TC_LOG_INFO;

    parse_state st = {.cfg = cfg, .err = err, .errlen = errlen};
    st.file = fopen(path, "r");
    if (!st.file) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        config_free(cfg);
        return -1;
    }
    int rc = ini_parse_stream(counting_reader, &st, on_ini_entry, &st);
    if (!st.failed && rc > 0)
        fail(&st, rc, "syntax error (expected [section], key = value, or a ; comment)");
    else if (!st.failed && st.too_long)
        fail(&st, st.too_long, "line too long (limit %d characters)", INI_MAX_LINE - 2);
    if (!st.failed)
        note_empty_sections(&st);
    fclose(st.file);
    if (!st.failed)
        apply_env_overrides(&st);
    if (!st.failed)
        validate(&st);
    if (!st.failed) {
        /* Defaults for merge fields not set in [merge]. */
        for (int f = 1; f < CFG_MERGE_FIELDS; f++)
            if (!cfg->merge[f].line) {
                parse_state tmp = st;
                tmp.failed = 0;
                apply_merge(&tmp, 0, field_names[f], default_merge(f));
                cfg->merge[f].line = 0;
            }
    }
    if (st.failed) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

double config_global_rate(const config *cfg)
{
    double g = cfg->global_rate;
    if (cfg->sched.api_rate_limit > 0 && (g <= 0 || cfg->sched.api_rate_limit < g))
        g = cfg->sched.api_rate_limit;
    return g;
}

const char *cfg_source_get(const cfg_source *src, const char *key)
{
    for (size_t i = 0; i < src->n_keys; i++)
        if (!strcmp(src->keys[i].key, key))
            return src->keys[i].value;
    return NULL;
}

int cfg_source_key_line(const cfg_source *src, const char *key)
{
    for (size_t i = 0; i < src->n_keys; i++)
        if (!strcmp(src->keys[i].key, key))
            return src->keys[i].line;
    return src->line;
}

void config_free(config *cfg)
{
    free(cfg->path);
    free(cfg->store);
    free(cfg->plugin_dir);
    for (size_t i = 0; i < cfg->n_limiters; i++)
        free(cfg->limiters[i].name);
    free(cfg->limiters);
    for (size_t i = 0; i < cfg->n_sources; i++) {
        cfg_source *s = &cfg->sources[i];
        free(s->name);
        free(s->plugin);
        free(s->limiter);
        for (size_t k = 0; k < s->n_keys; k++) {
            free(s->keys[k].key);
            free(s->keys[k].value);
        }
        free(s->keys);
    }
    free(cfg->sources);
    for (int f = 0; f < CFG_MERGE_FIELDS; f++) {
        for (size_t i = 0; i < cfg->merge[f].n; i++)
            free(cfg->merge[f].sources[i]);
        free(cfg->merge[f].sources);
    }
    memset(cfg, 0, sizeof *cfg);
}
