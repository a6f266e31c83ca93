/* What the batch pipeline (engine.c, engine_commit.c) and the source
 * runtimes (source_runtime.c, source_answer.c, emit.c) share: a token in
 * flight, and how a source's outcome for it is recorded. Private to the
 * engine. Must not hold batches or the engine itself (engine_pipeline.h):
 * the source runtimes never see those. */
#ifndef TC_ENGINE_INTERNAL_H
#define TC_ENGINE_INTERNAL_H

#include <stddef.h>

#include "record.h"
#include "source_runtime.h"

struct batch;
struct metrics;

/* One claimed token while its sources are asked; it lives in its batch. */
struct token_state {
    char addr[48];
    struct batch *owner;
    size_t sources_left;
    source_outcome *outcomes; /* [n_sources] */
    tc_values *values;        /* [n_sources] */
    char **errors;            /* [n_sources] */
    int outstanding_attempts; /* from the claim: earlier passes that left sources owed */
    double price_before;      /* stored price at claim (daemon mode), NAN: none */
    /* What the store knew at claim (store_source_fetches), per source slot:
     * when its record was fetched (unix s; 0: it has none) and its price
     * (NAN: none); and when every metadata source was last asked. */
    int64_t *fetched_at;      /* [n_sources] */
    double *stored_price;     /* [n_sources] */
    int64_t metadata_at;
};

/* Source S's final outcome for T (ERROR: why it failed or was skipped, or
 * NULL); later calls for the same pair are ignored. Counted in S's stats and
 * in M (NULL: none); the token's batch can commit once every source settled. */
void engine_settle(struct metrics *m, source_rt *s, token_state *t, source_outcome o, const char *error);

#endif
