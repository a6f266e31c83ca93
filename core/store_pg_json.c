/* The JSON texts of the PostgreSQL commit, laid out for its arrays: the
 * writers are record_json.c's (the same text SQLite stores). Owns the
 * layout only; must not decide which sources or tokens get a record (the
 * commit does). */
#include <stdint.h>

#include "config.h"
#include "record.h"
#include "store_pg_json.h"

void store_pg_json_records(const token_result *const *v, size_t k, strbuf *buf, size_t **off_out, size_t **base_out)
{
    size_t *base = xmalloc((k + 1) * sizeof *base);
    base[0] = 0;
    for (size_t i = 0; i < k; i++)
        base[i + 1] = base[i] + v[i]->n_sources;
    size_t *off = xmalloc((base[k] ? base[k] : 1) * sizeof *off);
    buf->len = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < v[i]->n_sources; j++) {
            off[base[i] + j] = SIZE_MAX;
            if (v[i]->outcomes[j] != OUTCOME_FOUND)
                continue;
            off[base[i] + j] = buf->len;
            record_json_values(buf, &v[i]->per_source[j]);
            sb_append(buf, "", 1); /* the NUL that ends it */
        }
    *off_out = off;
    *base_out = base;
}

