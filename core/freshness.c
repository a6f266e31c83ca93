/* The pure pieces of refresh-by-what-a-source-provides (freshness.h): the
 * class of each field, the choice of a token's market source, the merge's
 * newest-within-a-bound rule. */
#include "freshness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokencollector/sdk/extra.h"
#include "util.h"

static field_mask fields_of_class(unsigned freshness)
{
    field_mask m = 0;
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        if (tc_field_default_freshness(f) == freshness)
            m |= FIELD_BIT(f);
    return m;
}

field_mask market_fields_default(void) { return fields_of_class(TC_FRESH_MARKET); }
field_mask metadata_fields_default(void) { return fields_of_class(TC_FRESH_METADATA); }

int field_mask_parse(const char *list, field_mask *out, char *why, size_t whylen)
{
    *out = 0;
    char *copy = xstrdup(list ? list : "");
    int rc = 0;
    for (char *tok = strtok(copy, ", \t"); tok && rc == 0; tok = strtok(NULL, ", \t")) {
        int f = field_from_name(tok);
        if (f < 0) {
            snprintf(why, whylen, "unknown field \"%s\" (the [merge] field names: name, ..., price_usd, ..., socials)",
                     tok);
            rc = -1;
        } else
            *out |= FIELD_BIT(f);
    }
    free(copy);
    return rc;
}

/* The plugin's declaration (ABI 1.2), when its descriptor carries one. */
static int declared_fields(const tc_source *d, source_fields *out)
{
    size_t need = offsetof(tc_source, fields) + sizeof d->fields;
    if (!d || d->abi_minor < 2 || d->struct_size < need || !d->fields)
        return 0;
    *out = (source_fields){0};
    for (const tc_field_class *c = d->fields; c->field; c++) {
        field_mask bits = c->field == TC_FIELD_LINKS ? FIELD_BIT(MERGE_WEBSITES) | FIELD_BIT(MERGE_SOCIALS)
                          : c->field < TC_FIELD_COUNT_V1 ? FIELD_BIT(c->field)
                                                        : 0; /* newer than this host: ignored */
        if (c->freshness == TC_FRESH_MARKET)
            out->market |= bits;
        else if (c->freshness == TC_FRESH_METADATA)
            out->metadata |= bits;
    }
    return 1;
}

source_fields source_fields_of(const tc_source *desc, const cfg_source *cs)
{
    source_fields f = {0};
    const char *market = cs ? cfg_source_get(cs, "market_fields") : NULL;
    const char *metadata = cs ? cfg_source_get(cs, "metadata_fields") : NULL;
    if (market || metadata) {
        char why[160];
        /* config.c checked both lists when it loaded the file */
        if (market && field_mask_parse(market, &f.market, why, sizeof why) != 0)
            f.market = 0;
        if (metadata && field_mask_parse(metadata, &f.metadata, why, sizeof why) != 0)
            f.metadata = 0;
        f.metadata &= ~f.market;
        return f;
    }
    if (declared_fields(desc, &f))
        return f;
    f.market = market_fields_default();
    f.metadata = metadata_fields_default();
    return f;
}

int market_pick(const market_cand *c, size_t n)
{
    int best = -1;
    double best_wait = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].knows || !c[i].usable)
            continue;
        double cap = c[i].capacity > 0 ? c[i].capacity : 1e-9;
        double wait = (c[i].assigned + 1.0) / cap;
        if (best < 0 || wait < best_wait) {
            best = (int)i;
            best_wait = wait;
        }
    }
    return best;
}

int market_keep_complete(market_cand *c, const field_mask *market, const int64_t *fetched_at, size_t n,
                         int64_t bound, int64_t now)
{
    field_mask all = 0;
    for (size_t s = 0; s < n; s++)
        if (c[s].knows)
            all |= market[s];
    int64_t newest = -1;
    for (size_t s = 0; s < n; s++)
        if (c[s].knows && (market[s] & all) == all && fetched_at[s] > newest)
            newest = fetched_at[s];
    if (newest < 0 || bound <= 0 || now - newest < bound / 2)
        return 0;
    int narrowed = 0;
    for (size_t s = 0; s < n; s++)
        if (c[s].knows && (market[s] & all) != all) {
            c[s].knows = 0;
            narrowed = 1;
        }
    return narrowed;
}

int market_newest(const size_t *order, size_t n_order, const int *has, const int64_t *fetched_at, int64_t now,
                  int64_t max_age_s)
{
    int best = -1;
    for (size_t k = 0; k < n_order; k++) {
        size_t s = order[k];
        if (!has[s] || (max_age_s > 0 && now - fetched_at[s] > max_age_s))
            continue;
        if (best < 0 || fetched_at[s] > fetched_at[best]) /* strictly newer: ties keep precedence */
            best = (int)s;
    }
    return best;
}
