/* The batch pipeline's own state, shared by its two files: engine.c (the
 * engine, claims, batches, settle, the loop) and engine_commit.c (merge with
 * the stored records, commit, release). The source runtimes must not include
 * it: they see tokens (engine_internal.h), never batches or the engine. */
#ifndef TC_ENGINE_PIPELINE_H
#define TC_ENGINE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "engine_internal.h"
#include "limiter.h"
#include "merge.h"
#include "source_runtime.h"
#include "store.h"

/* The tokens of one claim, open until every source settled every token. */
typedef struct batch {
    char claim_id[160];
    int64_t opened_ns;
    token_state *tokens;
    size_t n;
    size_t left; /* tokens not yet answered by every source */
    struct batch *next;
} batch;

struct engine {
    const config *cfg;
    store *st;
    source_env env;        /* HTTP, global limiter, metrics, stop flag, rng: shared with the sources */
    source_rt *src;
    size_t n_src;
    limiter *limiters;
    size_t n_limiters;
    merge_plan plan;
    const char **src_names;
    size_t window_tokens;
    size_t batch_size;
    batch *open_batches;
    size_t tokens_open;
    int store_exhausted;
    char owner[128];       /* "host:pid", recorded with each claim */
    uint64_t claims;       /* claim ids are owner:claims:random */
    uint64_t committed, commit_failures, fenced, total_pending;
    int daemon;
    engine_hooks hooks;
};

/* Frees B and its tokens' per-source data. */
void engine_free_batch(const engine *e, batch *b);
/* Commits every batch whose tokens are all settled, in one transaction each,
 * and frees them. */
void engine_commit_finished(engine *e);

#endif
