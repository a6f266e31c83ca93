/* --config-help and the README's configuration table, both printed from the
 * config map, so neither can drift from what the parser accepts. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_map.h"
#include "util.h"

static void type_text(const cfg_key_def *d, char *buf, size_t len)
{
    const char *off = d->flags & CFG_OFF_ZERO ? ", 0: off" : "";
    const char *aut = d->flags & CFG_AUTO ? ", or auto" : "";
    switch (d->type) {
    case CFG_STRING:
        snprintf(buf, len, "text");
        return;
    case CFG_INT:
        snprintf(buf, len, "integer %ld..%ld%s", (long)d->min, (long)d->max, aut);
        return;
    case CFG_NUMBER:
        snprintf(buf, len, "number %g..%g", d->min, d->max);
        return;
    case CFG_BOOL:
        snprintf(buf, len, "boolean");
        return;
    case CFG_RATE:
        snprintf(buf, len, "rate (N/s, N/min, N/h%s)", off);
        return;
    case CFG_DURATION:
        snprintf(buf, len, "duration %g s..%g s (bare number: %s%s)%s", d->min, d->max,
                 d->unit_ns == NS_PER_MS ? "ms" : "s", off, aut);
        return;
    case CFG_LOG_LEVEL:
        snprintf(buf, len, "error, warn, info, debug");
        return;
    }
    snprintf(buf, len, "?");
}

static const char *default_text(const cfg_key_def *d)
{
    if (d->def)
        return d->def;
    return d->flags & CFG_REQUIRED ? "required" : "none";
}

static void print_key(FILE *out, const cfg_key_def *d, int markdown, int first_of_section)
{
    char type[96];
    type_text(d, type, sizeof type);
    const char *restart = d->flags & CFG_RESTART ? " (restart to change)" : "";
    if (markdown) {
        char sec[32] = "";
        if (first_of_section)
            snprintf(sec, sizeof sec, "`[%s]`", cfg_section_label(d->section));
        fprintf(out, "| %s | `%s` | %s | %s%s%s | %s%s |\n", sec, d->name, type, d->def ? "`" : "", default_text(d),
                d->def ? "`" : "", d->help, restart);
    } else
        fprintf(out, "  %s = %s    (%s)\n      %s%s\n", d->name, default_text(d), type, d->help, restart);
}

static void print_merge(FILE *out, int markdown)
{
    if (!markdown)
        fprintf(out, "\n[merge]  which source's value wins, per field (first listed that has one)\n");
    for (int f = 1; f < CFG_MERGE_FIELDS; f++) {
        if (markdown)
            fprintf(out, "| %s | `%s` | source list | `%s` | %s |\n", f == 1 ? "`[merge]`" : "", field_name(f),
                    config_merge_default(f), f == 1 ? "first source in the list that has a value wins" : "");
        else
            fprintf(out, "  %-24s %s\n", field_name(f), config_merge_default(f));
    }
}

void cfg_print_help(FILE *out, int markdown)
{
    if (markdown)
        fprintf(out, "| section | key | type | default | meaning |\n|---|---|---|---|---|\n");
    for (int kind = 0; kind < CFG_SEC_MERGE; kind++) {
        if (!markdown)
            fprintf(out, "%s[%s]\n", kind ? "\n" : "", cfg_section_label((cfg_section_kind)kind));
        int first = 1;
        for (size_t i = 0; i < cfg_n_keys; i++)
            if (cfg_keys[i].section == (cfg_section_kind)kind) {
                print_key(out, &cfg_keys[i], markdown, first);
                first = 0;
            }
    }
    print_merge(out, markdown);
}
