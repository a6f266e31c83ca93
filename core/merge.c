#include "merge.h"

#include <string.h>

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
    }
}

void merge_token(const merge_plan *plan, const tc_values *per_source, const source_outcome *outcomes,
                 size_t n, tc_values *out)
{
    values_clear(out);
    for (int f = 1; f < FIELD_SLOTS; f++)
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
