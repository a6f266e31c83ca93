#include "config_map.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char *const section_labels[CFG_SEC_COUNT] = {"core", "scheduler", "limiter NAME", "source NAME", "api",
                                                                  "merge"};

const char *cfg_section_label(cfg_section_kind kind)
{
    return section_labels[kind];
}

const cfg_key_def *cfg_key_find(cfg_section_kind kind, const char *name)
{
    for (size_t i = 0; i < cfg_n_keys; i++)
        if (cfg_keys[i].section == kind && !strcmp(cfg_keys[i].name, name))
            return &cfg_keys[i];
    return NULL;
}

/* ---- parsers ---------------------------------------------------------------- */

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

int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int duration_unit(const char *unit, int64_t bare_ns, double *scale)
{
    if (!*unit)
        *scale = (double)bare_ns;
    else if (!strcmp(unit, "ms"))
        *scale = (double)NS_PER_MS;
    else if (!strcmp(unit, "s") || !strcmp(unit, "sec"))
        *scale = (double)NS_PER_S;
    else if (!strcmp(unit, "m") || !strcmp(unit, "min"))
        *scale = 60.0 * (double)NS_PER_S;
    else if (!strcmp(unit, "h"))
        *scale = 3600.0 * (double)NS_PER_S;
    else
        return -1;
    return 0;
}

int parse_duration_ns(const char *s, int64_t unit_ns, int64_t *out)
{
    if (!s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    /* strtod alone would take "inf", "nan" and hex: only plain decimals. */
    if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
        return -1;
    if (strpbrk(s, "xX"))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    char unit[8];
    size_t n = strlen(end);
    while (n && isspace((unsigned char)end[n - 1]))
        n--;
    double scale;
    if (n >= sizeof unit)
        return -1;
    memcpy(unit, end, n);
    unit[n] = '\0';
    if (duration_unit(unit, unit_ns, &scale) != 0)
        return -1;
    double ns = v * scale;
    if (!(ns >= 0) || ns > 9e18)
        return -1;
    *out = (int64_t)llround(ns);
    return 0;
}

/* ---- setting one key ---------------------------------------------------------- */

static int why_f(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_f(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_off(const char *v)
{
    return !*v || !strcmp(v, "0") || !strcmp(v, "off");
}

static int set_duration(const cfg_key_def *d, const char *v, int64_t *out, char *why, size_t whylen)
{
    int64_t ns = 0;
    if (parse_duration_ns(v, d->unit_ns, &ns) != 0)
        return why_f(why, whylen, "%s: expected a duration such as %s%s, got \"%s\"", d->name,
                     d->unit_ns == NS_PER_MS ? "500, 500ms or 2s" : "15, 15s, 5m or 300ms",
                     d->flags & CFG_AUTO ? ", or auto" : "", v);
    double min_ns = d->min * (double)NS_PER_S, max_ns = d->max * (double)NS_PER_S;
    const char *off = d->flags & CFG_OFF_ZERO ? " (0: off)" : "";
    if (ns == 0 && (d->flags & CFG_OFF_ZERO)) {
        *out = 0;
        return 0;
    }
    if (ns == 0 && min_ns > 0)
        return why_f(why, whylen, "%s: must be more than 0", d->name);
    if ((double)ns < min_ns)
        return why_f(why, whylen, "%s: %s is below the minimum of %g s%s", d->name, v, d->min, off);
    if ((double)ns > max_ns)
        return why_f(why, whylen, "%s: %s is above the maximum of %g s", d->name, v, d->max);
    *out = ns;
    return 0;
}

static int set_rate(const cfg_key_def *d, const char *v, double *out, char *why, size_t whylen)
{
    if ((d->flags & CFG_OFF_ZERO) && is_off(v)) {
        *out = 0;
        return 0;
    }
    if (parse_rate(v, out) == 0)
        return 0;
    return why_f(why, whylen,
                 "%s: expected requests per second such as 30, 30/s, 1800/min or 3600/h (N > 0)%s, got \"%s\"", d->name,
                 d->flags & CFG_OFF_ZERO ? ", or 0/off for none" : "", v);
}

static int set_string(const cfg_key_def *d, const char *v, char **out, char *why, size_t whylen)
{
    if (d->check && d->check(v, why, whylen) != 0)
        return -1;
    if (d->offset == CFG_NOT_STORED)
        return 0;
    free(*out);
    *out = *v ? xstrdup(v) : NULL;
    return 0;
}

int cfg_key_set(const cfg_key_def *d, void *obj, const char *v, char *why, size_t whylen)
{
    char *p = (char *)obj + (d->offset == CFG_NOT_STORED ? 0 : d->offset);
    long l;
    double x;
    int b;
    if ((d->flags & CFG_AUTO) && !strcmp(v, "auto")) {
        if (d->type == CFG_INT) {
            l = CFG_AUTO_VALUE;
            memcpy(p, &l, sizeof l);
        } else {
            int64_t ns = CFG_AUTO_VALUE;
            memcpy(p, &ns, sizeof ns);
        }
        return 0;
    }
    switch (d->type) {
    case CFG_STRING:
        return set_string(d, v, (char **)(void *)p, why, whylen);
    case CFG_INT:
        if (parse_long(v, (long)d->min, (long)d->max, &l) != 0)
            return why_f(why, whylen, "%s: expected a whole number %ld..%ld%s, got \"%s\"", d->name, (long)d->min,
                         (long)d->max, d->flags & CFG_AUTO ? " or auto" : "", v);
        memcpy(p, &l, sizeof l);
        return 0;
    case CFG_NUMBER:
        if (parse_double(v, &x) != 0 || x < d->min || x > d->max)
            return why_f(why, whylen, "%s: expected a number %g..%g, got \"%s\"", d->name, d->min, d->max, v);
        memcpy(p, &x, sizeof x);
        return 0;
    case CFG_BOOL:
        if (parse_bool(v, &b) != 0)
            return why_f(why, whylen, "%s: expected true/false, yes/no, on/off or 1/0, got \"%s\"", d->name, v);
        memcpy(p, &b, sizeof b);
        return 0;
    case CFG_RATE:
        if (set_rate(d, v, &x, why, whylen) != 0)
            return -1;
        memcpy(p, &x, sizeof x);
        return 0;
    case CFG_DURATION: {
        int64_t ns = 0;
        if (set_duration(d, v, &ns, why, whylen) != 0)
            return -1;
        memcpy(p, &ns, sizeof ns);
        return 0;
    }
    case CFG_LOG_LEVEL:
        if ((b = log_level_parse(v)) < 0)
            return why_f(why, whylen, "%s: expected error, warn, info or debug, got \"%s\"", d->name, v);
        memcpy(p, &b, sizeof b);
        return 0;
    }
    return why_f(why, whylen, "%s: unsupported type", d->name);
}

void cfg_section_defaults(cfg_section_kind kind, void *obj)
{
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const cfg_key_def *d = &cfg_keys[i];
        char why[256];
        if (d->section != kind || !d->def || d->offset == CFG_NOT_STORED)
            continue;
        if (cfg_key_set(d, obj, d->def, why, sizeof why) != 0) {
            fprintf(stderr, "config table: default of %s is invalid: %s\n", d->name, why);
            abort(); /* a bug in config_keys.c, caught by every test */
        }
    }
}

void cfg_section_free(cfg_section_kind kind, void *obj)
{
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const cfg_key_def *d = &cfg_keys[i];
        if (d->section == kind && d->type == CFG_STRING && d->offset != CFG_NOT_STORED) {
            char **s = (char **)(void *)((char *)obj + d->offset);
            free(*s);
            *s = NULL;
        }
    }
}

void cfg_unknown_key(cfg_section_kind kind, const char *key, char *why, size_t whylen)
{
    strbuf b = {0};
    sb_printf(&b, "unknown key \"%s\" (known:", key);
    const char *sep = " ";
    for (size_t i = 0; i < cfg_n_keys; i++)
        if (cfg_keys[i].section == kind) {
            sb_printf(&b, "%s%s", sep, cfg_keys[i].name);
            sep = ", ";
        }
    sb_appends(&b, kind == CFG_SEC_SOURCE ? "; and the plugin's own keys)" : ")");
    snprintf(why, whylen, "%s", b.data);
    sb_free(&b);
}

/* ---- reading values back ---------------------------------------------------- */

void cfg_key_format(const cfg_key_def *d, const void *obj, char *buf, size_t len)
{
    if (d->offset == CFG_NOT_STORED) {
        snprintf(buf, len, "(kept for the plugin)");
        return;
    }
    const char *p = (const char *)obj + d->offset;
    long l;
    double x;
    int b;
    int64_t ns;
    switch (d->type) {
    case CFG_STRING: {
        const char *s;
        memcpy(&s, p, sizeof s);
        snprintf(buf, len, "%s", s ? s : "");
        return;
    }
    case CFG_INT:
        memcpy(&l, p, sizeof l);
        if ((d->flags & CFG_AUTO) && l == CFG_AUTO_VALUE)
            snprintf(buf, len, "auto");
        else
            snprintf(buf, len, "%ld", l);
        return;
    case CFG_NUMBER:
        memcpy(&x, p, sizeof x);
        snprintf(buf, len, "%g", x);
        return;
    case CFG_BOOL:
        memcpy(&b, p, sizeof b);
        snprintf(buf, len, "%s", b ? "true" : "false");
        return;
    case CFG_RATE:
        memcpy(&x, p, sizeof x);
        snprintf(buf, len, x > 0 ? "%g/s" : "0", x);
        return;
    case CFG_DURATION:
        memcpy(&ns, p, sizeof ns);
        if ((d->flags & CFG_AUTO) && ns == CFG_AUTO_VALUE) {
            snprintf(buf, len, "auto");
            return;
        }
        snprintf(buf, len, "%g%s", (double)ns / (double)d->unit_ns, d->unit_ns == NS_PER_MS ? "ms" : "s");
        return;
    case CFG_LOG_LEVEL:
        memcpy(&b, p, sizeof b);
        snprintf(buf, len, "%s", log_level_name(b));
        return;
    }
    snprintf(buf, len, "?");
}

int cfg_key_equal(const cfg_key_def *d, const void *a, const void *b)
{
    char x[512], y[512];
    if (d->offset == CFG_NOT_STORED)
        return 1; /* compared through the section's key list */
    if (d->type != CFG_STRING)
        return !memcmp((const char *)a + d->offset, (const char *)b + d->offset,
                       d->type == CFG_INT                                ? sizeof(long)
                       : d->type == CFG_BOOL || d->type == CFG_LOG_LEVEL ? sizeof(int)
                       : d->type == CFG_DURATION                         ? sizeof(int64_t)
                                                                         : sizeof(double));
    cfg_key_format(d, a, x, sizeof x);
    cfg_key_format(d, b, y, sizeof y);
    return !strcmp(x, y);
}
