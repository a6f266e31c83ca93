#include "merge.h"

#include <string.h>

#include "freshness.h"

void merge_plan_build(merge_plan *plan, const config *cfg, const char *const *source_names, size_t n)
{
    memset(plan, 0, sizeof *plan);
    if (n > 64)
        n = 64;
    for (int f = 1; f < CFG_MERGE_FIELDS; f++) {
        unsigned char used[64] = {0};
        const cfg_merge *m = &cfg->merge[f];
        for (size_t i = 0; i < m->n; i++)
            for (size_t s = 0; s < n; s++)
                if (!used[s] && !strcmp(m->sources[i], source_names[s])) {
                    plan->order[f][plan->n_order[f]++] = s;
                    used[s] = 1;
                }
        for (size_t s = 0; s < n; s++)
            if (!used[s])
                plan->order[f][plan->n_order[f]++] = s;
        plan->max_age_s[f] = config_market_max_age_s(cfg, f);
    }
    plan->market = market_fields_default();
}

/* Market field F's source by the newest-within-the-bound rule, or -1. */
static int newest_source(const merge_plan *plan, int f, const tc_values *per_source, const source_outcome *outcomes,
                         const int64_t *fetched_at, size_t n, int64_t now)
{
    int has[64] = {0};
    for (size_t i = 0; i < plan->n_order[f]; i++) {
        size_t s = plan->order[f][i];
        has[s] = s < n && outcomes[s] == OUTCOME_FOUND && values_has(&per_source[s], f);
    }
    return market_newest(plan->order[f], plan->n_order[f], has, fetched_at, now, plan->max_age_s[f]);
}

void merge_token(const merge_plan *plan, const tc_values *per_source, const source_outcome *outcomes,
                 size_t n, tc_values *out)
{
    merge_token_at(plan, per_source, outcomes, NULL, n, 0, out);
}

void merge_token_at(const merge_plan *plan, const tc_values *per_source, const source_outcome *outcomes,
                    const int64_t *fetched_at, size_t n, int64_t now, tc_values *out)
{
    values_clear(out);
    for (int f = 1; f < FIELD_SLOTS; f++) {
        if (fetched_at && n <= 64 && (plan->market & FIELD_BIT(f))) {
            int s = newest_source(plan, f, per_source, outcomes, fetched_at, n, now);
            if (s >= 0 && field_is_string(f))
                values_set_str(out, f, per_source[s].str[f]);
            else if (s >= 0)
                values_set_num(out, f, per_source[s].num[f]);
            continue;
        }
        for (size_t i = 0; i < plan->n_order[f]; i++) {
            size_t s = plan->order[f][i];
            if (s >= n || outcomes[s] != OUTCOME_FOUND || !values_has(&per_source[s], f))
                continue;
            if (field_is_string(f))
                values_set_str(out, f, per_source[s].str[f]);
            else
                values_set_num(out, f, per_source[s].num[f]);
            break;
        }
    }
    /* Link sets are taken whole from the first source that has any, so two
     * sources' spellings of the same profile are not mixed. */
    static const int link_field[2] = {MERGE_WEBSITES, MERGE_SOCIALS};
    for (int k = 0; k < 2; k++) {
        int kind = k == 0 ? TC_LINK_WEBSITE : TC_LINK_SOCIAL;
        int f = link_field[k];
        for (size_t i = 0; i < plan->n_order[f]; i++) {
            size_t s = plan->order[f][i];
            if (s < n && outcomes[s] == OUTCOME_FOUND && values_count_links(&per_source[s], kind)) {
                values_copy_links(out, &per_source[s], kind);
                break;
            }
        }
    }
    for (size_t s = 0; s < n; s++)
        if (outcomes[s] == OUTCOME_FOUND)
            out->known = 1;
}
