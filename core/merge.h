/* Merger: combines the sources' values for a token, field by field, by the
 * precedence lists of [merge] (defaults in config.c). */
#ifndef TC_MERGE_H
#define TC_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "record.h"

typedef struct merge_plan {
    /* For each field, source indexes in precedence order; sources that the
     * list does not name come last, in config order. */
    size_t order[CFG_MERGE_FIELDS][64];
    size_t n_order[CFG_MERGE_FIELDS];
    /* Bit f: field f is market data (freshness.h): the newest value within
     * max_age_s[f] wins (0: no bound); the other fields go by precedence. */
    uint32_t market;
    int64_t max_age_s[CFG_MERGE_FIELDS];
} merge_plan;

/* SOURCE_NAMES[0..n) are the configured source instances, in config order.
 * The market fields are the core table's (market_fields_default), with the
 * staleness bounds of CFG (config_market_max_age_s). */
void merge_plan_build(merge_plan *plan, const config *cfg, const char *const *source_names, size_t n);

/* Fills OUT (cleared first) from PER_SOURCE[0..n) with OUTCOMES. Only sources
 * whose outcome is FOUND contribute. */
void merge_token(const merge_plan *plan, const tc_values *per_source, const source_outcome *outcomes,
                 size_t n, tc_values *out);

/* The same, with the time each source's values were fetched (FETCHED_AT[s],
 * unix s) and the merge's NOW: a market field takes the newest value among
 * the sources fetched within its bound (ties by precedence; none within
 * the bound: the field is left out), the others go by precedence.
 * FETCHED_AT NULL: precedence for every field (merge_token). */
void merge_token_at(const merge_plan *plan, const tc_values *per_source, const source_outcome *outcomes,
                    const int64_t *fetched_at, size_t n, int64_t now, tc_values *out);

#endif
