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

typedef struct tc_values {
    uint32_t present;           /* bit f set: field f has a value */
    int known;                  /* the source knows this token */
    char *str[FIELD_SLOTS];
    double num[FIELD_SLOTS];
    link_rec *links;
    size_t n_links, cap_links;
} tc_values;

/* 1 for string fields, 0 for numeric ones. */
int field_is_string(int field);

void values_set_str(tc_values *v, int field, const char *s);
void values_set_num(tc_values *v, int field, double d);
void values_add_link(tc_values *v, int kind, const char *label, const char *url);
int values_has(const tc_values *v, int field);
void values_clear(tc_values *v);
/* Deep copy of the links of KIND from SRC into DST. */
void values_copy_links(tc_values *dst, const tc_values *src, int kind);
size_t values_count_links(const tc_values *v, int kind);
/* Shortest decimal text that reads back as exactly D. */
void format_double(char out[32], double d);
/* The normalized record as JSON text (caller frees), for token_sources.data. */
char *values_to_json(const tc_values *v);
/* The reverse: fills V (cleared first, known = 1) from values_to_json text.
 * Unknown keys are ignored (a newer version may have written them). Returns
 * -1 when JSON is not an object. */
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
} token_result;

#endif
