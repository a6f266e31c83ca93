/* Merger: combines the sources' values for a token, field by field, by the
 * precedence lists of [merge] (defaults in config.c). */
#ifndef TC_MERGE_H
#define TC_MERGE_H

#include <stddef.h>

#include "config.h"
#include "record.h"

typedef struct merge_plan {
    /* For each field, source indexes in precedence order; sources that the
     * list does not name come last, in config order. */
    size_t order[CFG_MERGE_FIELDS][64];
    size_t n_order[CFG_MERGE_FIELDS];
} merge_plan;

/* SOURCE_NAMES[0..n) are the configured source instances, in config order. */
void merge_plan_build(merge_plan *plan, const config *cfg, const char *const *source_names, size_t n);

/* Fills OUT (cleared first) from PER_SOURCE[0..n) with OUTCOMES. Only sources
 * whose outcome is FOUND contribute. */
void merge_token(const merge_plan *plan, const tc_values *per_source, const source_outcome *outcomes,
                 size_t n, tc_values *out);

#endif
