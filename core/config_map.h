/* The config map: every host key of the INI file declared once, as data
 * (section, name, type, default, range, where it is stored, one line of
 * help). The table in config_keys.c drives parsing, range checks, defaults,
 * environment overrides, unknown-key errors, --config-help, the README's
 * configuration table, and the key-by-key comparison of two loaded configs.
 * Adding a key is one line there and a member in config.h.
 *
 * This file knows the types and the table, not the file format (ini_reader)
 * nor how sections are found (config.c). */
#ifndef TC_CONFIG_MAP_H
#define TC_CONFIG_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cfg_section_kind {
    CFG_SEC_CORE,      /* [core]: struct config */
    CFG_SEC_SCHEDULER, /* [scheduler]: struct scheduler_config */
    CFG_SEC_LIMITER,   /* [limiter NAME]: struct cfg_limiter */
    CFG_SEC_SOURCE,    /* [source NAME]: struct cfg_source (plus the plugin's keys) */
    CFG_SEC_API,       /* [api]: struct cfg_api (the HTTP server) */
    CFG_SEC_MERGE,     /* [merge]: keys are field names (config_merge.c), not in the table */
    CFG_SEC_COUNT
} cfg_section_kind;

typedef enum cfg_type {
    CFG_STRING,    /* char *, owned; "" is stored as NULL */
    CFG_INT,       /* long within [min, max] */
    CFG_NUMBER,    /* double within [min, max] */
    CFG_BOOL,      /* int: true/false, yes/no, on/off, 1/0 */
    CFG_RATE,      /* double requests per second: "N/s", "N/min", "N/h" or N */
    CFG_DURATION,  /* int64_t ns; a bare number is in unit_ns; [min, max] in seconds */
    CFG_LOG_LEVEL, /* int tc_log_level: error, warn, info, debug */
} cfg_type;

enum cfg_key_flags {
    CFG_OFF_ZERO = 1 << 0, /* "0", "off" or "" mean none and are stored as 0 */
    CFG_REQUIRED = 1 << 1, /* no default: the section must set it */
    CFG_RESTART = 1 << 2,  /* a running daemon cannot change it in place */
    CFG_AUTO = 1 << 3,     /* CFG_INT, CFG_DURATION: "auto" means derived by the host, stored as CFG_AUTO_VALUE */
};

/* What an "auto" CFG_INT (long) or CFG_DURATION (int64_t) holds. */
#define CFG_AUTO_VALUE (-1)

#define CFG_NOT_STORED ((size_t)-1) /* only kept for the plugin (api_key, base_url) */

typedef struct cfg_key_def {
    cfg_section_kind section;
    const char *name;
    cfg_type type;
    const char *def; /* default, written as in the file; NULL: none */
    double min, max; /* CFG_INT, CFG_NUMBER; CFG_DURATION in seconds */
    int64_t unit_ns; /* CFG_DURATION: the unit of a bare number */
    size_t offset;   /* of the member in the section's struct, or CFG_NOT_STORED */
    unsigned flags;
    /* Extra rule on the text (e.g. a URL scheme): 0, or -1 with WHY. */
    int (*check)(const char *value, char *why, size_t whylen);
    const char *help; /* one line */
} cfg_key_def;

/* The table, in the order --config-help prints it. */
extern const cfg_key_def cfg_keys[];
extern const size_t cfg_n_keys;

const char *cfg_section_label(cfg_section_kind kind); /* "core", "limiter NAME", ... */
const cfg_key_def *cfg_key_find(cfg_section_kind kind, const char *name);

/* Parses VALUE for key D into the section struct OBJ. 0, or -1 with WHY as
 * "KEY: expected ..., got \"VALUE\"" (the caller adds file, line and
 * section). OBJ is unchanged on error. */
int cfg_key_set(const cfg_key_def *d, void *obj, const char *value, char *why, size_t whylen);

/* Every default of section KIND into OBJ (strings allocated). */
void cfg_section_defaults(cfg_section_kind kind, void *obj);
/* Frees the strings of section KIND in OBJ. */
void cfg_section_free(cfg_section_kind kind, void *obj);

/* "unknown key \"K\" (known: a, b, ...)" for section KIND into WHY. */
void cfg_unknown_key(cfg_section_kind kind, const char *key, char *why, size_t whylen);

/* The value of D in OBJ as text ("15 s", "5/s", "true", ...), for help
 * and diffs. */
void cfg_key_format(const cfg_key_def *d, const void *obj, char *buf, size_t len);
/* 1 when D has the same value in A and B. */
int cfg_key_equal(const cfg_key_def *d, const void *a, const void *b);

/* The table as text (--config-help) or as the README's Markdown table. */
void cfg_print_help(FILE *out, int markdown);

/* Parsers shared with the plugin-key checks. 0 / -1. */
int parse_rate(const char *s, double *per_second);
int parse_bool(const char *s, int *out);
/* A non-negative decimal number with an optional unit (ms, s, sec, m, min,
 * h); a bare number is in UNIT_NS. */
int parse_duration_ns(const char *s, int64_t unit_ns, int64_t *out);

#endif
