/* A chunk: up to chunk_size tokens asked of one source in one request, and
 * what can become of it. Private to the source runtime: source_runtime.c
 * forms, sends and retries chunks, source_answer.c judges their answers.
 * Must not be seen by the batch pipeline, which knows tokens, not chunks. */
#ifndef TC_SOURCE_CHUNK_H
#define TC_SOURCE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "source_runtime.h"

typedef struct chunk {
    source_env *env;
    source_rt *src;
    source_instance *inst;  /* referenced while the chunk exists */
    token_state **tokens;
    const char **addrs;     /* the tokens' addresses, as the plugin gets them */
    size_t n;
    int attempt;            /* transient failures so far */
    int throttled;          /* 429s in a row */
    int64_t not_before_ns;
    int64_t ready_since_ns; /* when it first could have gone but for the limiter */
    int64_t sent_ns;
    struct chunk *next;
    tc_request req;
} chunk;

void chunk_free(chunk *c);
/* Settles every token of C as failed (WHY) and frees C. */
void chunk_give_up(chunk *c, const char *why);
/* A permanent failure: counts as an attempt, then gives up. */
void chunk_fail(chunk *c, const char *why);
/* Queues C to be sent again at NOT_BEFORE_NS, behind older retries. */
void chunk_retry_at(chunk *c, int64_t not_before_ns);
/* A failure worth retrying: retried after a backoff of at least MIN_WAIT_NS,
 * unless attempts or the retry budget are spent (given up) or the breaker
 * opened (skipped: still owed). */
void chunk_transient_failure(chunk *c, const char *why, int64_t min_wait_ns);
/* An isolated plugin's process failed before the request was built
 * (source_answer.c): retried like a transport failure, the breaker counts it. */
void chunk_plugin_failed(chunk *c, const char *why);

/* The HTTP engine's completion callback for a sent chunk (USER). */
void chunk_on_response(void *user, const http_result *r);

#endif
