/* What one source said about one token (tc_values), and the per-token result
 * that the merger fills and the store commits. */
#ifndef TC_RECORD_H
#define TC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "tokencollector/plugin.h"

#define FIELD_SLOTS TC_FIELD_COUNT_V1 /* index = tc_field */

typedef struct link_rec {
    int kind; /* tc_link_kind */
    char *label;
    char *url;
} link_rec;

/* A named value no tc_field covers (tc_emit.extra_*, ABI 1.1). */
typedef enum extra_type { EXTRA_NUM = 1, EXTRA_STR = 2, EXTRA_BOOL = 3 } extra_type;

typedef struct extra_rec {
    char *key;  /* tc_extra_key_ok (sdk/extra.h) */
    int type;   /* extra_type */
    double num; /* EXTRA_NUM (finite); EXTRA_BOOL: 0 or 1 */
    char *str;  /* EXTRA_STR */
} extra_rec;

typedef struct tc_values {
    uint32_t present;           /* bit f set: field f has a value */
    int known;                  /* the source knows this token */
    char *str[FIELD_SLOTS];
    double num[FIELD_SLOTS];
    link_rec *links;
    size_t n_links, cap_links;
    extra_rec *extras;          /* sorted by key, at most TC_EXTRA_MAX; never merged */
    size_t n_extras, cap_extras;
    char *plugin_version;       /* tc_source.version of the instance that parsed
                                   it (token_sources.plugin_version); NULL: unknown */
} tc_values;

/* 1 for string fields, 0 for numeric ones. */
int field_is_string(int field);

void values_set_str(tc_values *v, int field, const char *s);
/* The same with S (malloc'd) taken over, not copied. */
void values_take_str(tc_values *v, int field, char *s);
void values_set_num(tc_values *v, int field, double d);
void values_add_link(tc_values *v, int kind, const char *label, const char *url);
int values_has(const tc_values *v, int field);
void values_clear(tc_values *v);
/* Sets extra KEY (valid) of V to NUM (EXTRA_NUM, EXTRA_BOOL) or STR
 * (EXTRA_STR), replacing a value of the same key. -1 (V unchanged) when V
 * already holds TC_EXTRA_MAX others. Marks V known. */
int values_set_extra(tc_values *v, const char *key, extra_type type, double num, const char *str);
/* Extra KEY of V, or NULL. */
const extra_rec *values_extra(const tc_values *v, const char *key);
/* Records which plugin version produced V (a copy; NULL: unknown). */
void values_set_version(tc_values *v, const char *version);
/* Deep copy of the links of KIND from SRC into DST. */
void values_copy_links(tc_values *dst, const tc_values *src, int kind);
size_t values_count_links(const tc_values *v, int kind);
/* Shortest decimal text that reads back as exactly D: the first of
 * "%.15g", "%.16g", "%.17g" that does (jsonw.c computes the same digits
 * without printf; format_double_printf is the printf loop itself). */
void format_double(char out[32], double d);
void format_double_printf(char out[32], double d);
/* The normalized record as JSON text (caller frees), for token_sources.data:
 * the fields by name, "websites" and "socials", and the extras as an object
 * "extra" in key order (numbers, strings, true / false). plugin_version is
 * not part of it (a column of its own). */
char *values_to_json(const tc_values *v);
/* The same text appended to B (record_json.c). */
struct strbuf;
void record_json_values(struct strbuf *b, const tc_values *v);
/* The reverse: fills V (cleared first, known = 1) from values_to_json text,
 * extras included. Unknown keys are ignored (a newer version may have
 * written them), and so are extras that values_set_extra would refuse.
 * Returns -1 when JSON is not an object. */
int values_from_json(tc_values *v, const char *json);

typedef enum source_outcome {
    OUTCOME_PENDING = 0,
    OUTCOME_FOUND,   /* answered, knows the token */
    OUTCOME_MISSING, /* answered, does not know it */
    OUTCOME_FAILED,  /* no usable answer after retries */
    OUTCOME_SKIPPED, /* owed but not asked (its circuit breaker is open): stays outstanding */
    OUTCOME_KEPT     /* not asked this pass: its stored record stands */
} source_outcome;

const char *outcome_name(source_outcome o);

typedef enum token_status {
    STATUS_PENDING = 0,
    STATUS_ENRICHED,
    STATUS_NO_DATA,
    STATUS_FAILED,
    STATUS_COUNT
} token_status;

const char *status_name(token_status s);

/* Per token, what the store receives. */
typedef struct token_result {
    const char *address;
    token_status status;
    tc_values merged;          /* after the merge rules */
    size_t n_sources;
    const char *const *source_names; /* [n_sources] */
    const source_outcome *outcomes;  /* [n_sources] */
    const tc_values *per_source;     /* [n_sources] */
    char *const *errors;             /* [n_sources], NULL when none */
    int64_t next_refresh_at;         /* unix seconds when due again; 0: now + refresh interval */
    int refresh_interval_s;          /* 0: keep the stored interval */
    int outstanding_attempts;        /* stored with the outstanding sources; 0 when none */
    double priority_score;           /* the scheduler's score; NAN: keep the stored one */
    int64_t metadata_at;             /* refresh_metadata.metadata_at: when every metadata source
                                        was last asked (unix s); 0: never */
} token_result;

#endif
