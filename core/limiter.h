/* Rate limiter: GCRA (a token bucket of capacity `burst` refilled at `rate`,
 * kept as one "theoretical arrival time"). The clock is passed in, so tests
 * drive it without sleeping and the engine turns a refusal into a timer. */
#ifndef TC_LIMITER_H
#define TC_LIMITER_H

#include <stdint.h>

typedef struct limiter {
    char *name;
    double rate;        /* requests per second (current; adaptive mode lowers it) */
    double max_rate;    /* configured rate: never exceeded */
    double burst;
    int64_t tat_ns;     /* theoretical arrival time */
    int64_t paused_until_ns;
    /* adaptive mode (AIMD): halve on a 429, add 5% of max_rate per clean
     * window of ADAPT_WINDOW_NS, never above max_rate nor below 1% of it */
    int adaptive;
    int64_t clean_since_ns;
    /* counters */
    uint64_t grants;
    uint64_t pauses;
    uint64_t decreases, increases;
} limiter;

#define LIMITER_ADAPT_WINDOW_NS (10 * 1000000000LL)

void limiter_init(limiter *l, const char *name, double rate_per_s, double burst, int64_t now_ns);
void limiter_free(limiter *l);

/* Nanoseconds until one request may go at NOW (0: it may go now). Does not
 * consume anything. */
int64_t limiter_wait_ns(const limiter *l, int64_t now_ns);
/* Requests/s it allows: CURRENT, the rate now (an adaptive limiter lowers
 * it after 429s); else the configured rate. The one way the rest of the
 * host reads a limiter's rate. */
double limiter_rate(const limiter *l, int current);
/* Consumes one request at NOW; call only after limiter_wait_ns() returned 0. */
void limiter_take(limiter *l, int64_t now_ns);
/* The upstream said "slow down" (429 / Retry-After): nothing goes through
 * this limiter before NOW + PAUSE, and it restarts without a burst. */
void limiter_pause(limiter *l, int64_t now_ns, int64_t pause_ns);

/* A reload changed the configured rate, burst or adaptive mode: applied in
 * place. The theoretical arrival time is kept (re-spaced at the new rate),
 * so a reload never lets a burst through that the old schedule would not
 * have; an adaptive rate lowered by 429s stays lowered, capped by the new
 * rate. */
void limiter_reconfigure(limiter *l, double rate_per_s, double burst, int adaptive, int64_t now_ns);

/* Adaptive mode on or off (off: the rate stays at max_rate). */
void limiter_set_adaptive(limiter *l, int on, int64_t now_ns);
/* A 429 came back through this limiter: in adaptive mode the rate halves. */
void limiter_throttled(limiter *l, int64_t now_ns);
/* A request through this limiter was answered without throttling: in
 * adaptive mode, each full window without a 429 adds 5% of max_rate back. */
void limiter_answered(limiter *l, int64_t now_ns);

#endif
