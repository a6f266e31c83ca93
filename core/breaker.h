/* Circuit breaker for one source: closed -> open (after too many failures in
 * the last calls) -> half-open (a few probes) -> closed, or open again for
 * longer. Pure state machine; the clock is passed in. 429s are not failures:
 * the limiter owns throttling, and callers do not report them here. */
#ifndef TC_BREAKER_H
#define TC_BREAKER_H

#include <stdint.h>

typedef enum breaker_state { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN } breaker_state;

typedef struct breaker_config {
    int window;          /* outcomes remembered (count-based window), <= 256 */
    int min_calls;       /* never opens with fewer outcomes than this */
    double threshold;    /* failure share that opens it, 0..1 */
    int64_t open_ns;     /* first open period */
    int64_t open_max_ns; /* open periods double up to this */
    int probes;          /* calls let through when half-open */
} breaker_config;

typedef struct breaker {
    breaker_config cfg;
    breaker_state state;
    unsigned char ring[256];
    int count, head, failures;
    int64_t open_until_ns;
    int64_t open_period_ns;
    int probes_sent, probes_ok;
    uint64_t transitions;
    uint64_t opened;
} breaker;

void breaker_config_default(breaker_config *c);
void breaker_init(breaker *b, const breaker_config *cfg);
/* Current state; moves OPEN to HALF_OPEN once the open period is over. */
breaker_state breaker_state_at(breaker *b, int64_t now_ns);
/* 1 when a call may go now; in HALF_OPEN it takes one of the probe slots. */
int breaker_allow(breaker *b, int64_t now_ns);
/* Outcome of a call that was allowed. */
void breaker_record(breaker *b, int64_t now_ns, int success);
/* An allowed call ended without a verdict on the source's health (a 429,
 * or it never went out): in HALF_OPEN its probe slot is given back. */
void breaker_cancel(breaker *b);
const char *breaker_state_name(breaker_state s);

#endif
