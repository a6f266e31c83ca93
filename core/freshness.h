/* Refresh by what a source provides (docs/architecture.md, "Freshness"):
 * each field a source reports is either metadata (identity: name, symbol,
 * decimals, image, description, supply, links), refreshed on the long
 * [scheduler] metadata_ttl, or market data (price, market cap, FDV,
 * liquidity, volume, change), refreshed on the scheduler's tiers by ONE
 * market source that knows the token. This file holds the pure pieces: the
 * class of each field (the plugin's declaration, ABI 1.2, or the config's
 * market_fields / metadata_fields, or the core table), the choice of the
 * market source for a token, and the merge's market rule (newest value
 * within a staleness bound). No clock, no store: everything is passed in. */
#ifndef TC_FRESHNESS_H
#define TC_FRESHNESS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tokencollector/plugin.h"

/* Bit f set: field f (tc_field, or MERGE_WEBSITES / MERGE_SOCIALS). */
typedef uint32_t field_mask;

#define FIELD_BIT(f) ((field_mask)1u << (f))
/* The core table (tc_field_default_freshness, sdk/extra.h): the standard
 * fields that are market data, and those that are metadata. */
field_mask market_fields_default(void);
field_mask metadata_fields_default(void);

/* What one source provides, by class. */
typedef struct source_fields {
    field_mask market;
    field_mask metadata;
} source_fields;

/* The fields source DESC provides as CS (its section) says: the config's
 * market_fields / metadata_fields when either is set, else the plugin's
 * declaration (tc_source.fields, ABI 1.2), else every standard field in
 * the core table's class (an older plugin: it may report anything). */
source_fields source_fields_of(const tc_source *desc, const cfg_source *cs);

/* A comma or space separated list of field names into a mask; -1 with the
 * unknown name in WHY. */
int field_mask_parse(const char *list, field_mask *out, char *why, size_t whylen);

/* One market source as the assignment sees it for one token. */
typedef struct market_cand {
    double capacity;  /* tokens/s it can serve: limiter rate x chunk size (> 0) */
    double assigned;  /* tokens given to it and not yet sent */
    int knows;        /* it has returned market data for this token before */
    int usable;       /* not retired, not paused, breaker not open */
} market_cand;

/* The market source for one token's refresh: among the usable sources that
 * know it, the one with the most spare capacity — the one that would serve
 * it first, (assigned + 1) / capacity smallest — so refreshes split in
 * proportion to capacity and the total is the sum of the capacities. Ties
 * go to the lower index. -1 when no usable source knows it. */
int market_pick(const market_cand *c, size_t n);

/* A source that knows a token's price but not its other market fields (a
 * price-only source) would take nearly every refresh by its capacity while
 * the others' market cap and volume age out of the merge's bound. Once the
 * newest record (FETCHED_AT[i], unix s) of a source reporting every market
 * field the knowing ones report (MARKET[i]) is BOUND / 2 old at NOW, only
 * those stay candidates: the others' knows is cleared. 1 when C was
 * narrowed. BOUND 0: never. */
int market_keep_complete(market_cand *c, const field_mask *market, const int64_t *fetched_at, size_t n,
                         int64_t bound, int64_t now);

/* The merge's rule for a market field among N sources' values: the newest
 * (FETCHED_AT[i], unix s) among those that have the field (HAS[i]) and are
 * at most MAX_AGE_S old at NOW (0: no bound); ties by ORDER (precedence,
 * N_ORDER indexes). -1 when none qualifies. */
int market_newest(const size_t *order, size_t n_order, const int *has, const int64_t *fetched_at, int64_t now,
                  int64_t max_age_s);

#endif
