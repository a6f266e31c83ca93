/* How many requests of one source may be in flight: Little's law. A source
 * that may send RATE requests/s and whose answers take LATENCY needs
 * RATE x LATENCY requests on the wire to use its rate in full; fewer, and
 * latency (not the limiter) caps it at in_flight / latency. So each source
 * keeps
 *
 *     ceil(rate x p90 latency x INFLIGHT_HEADROOM)   within [1, max]
 *
 * in flight, where rate is what its limiters allow NOW (an adaptive limiter
 * lowered by 429s lowers it too) and max is the user's `concurrency`. The
 * limit only lets requests wait at the limiter: the limiter still decides
 * when each one goes, so a larger limit never sends faster than it allows.
 *
 * Pure: the clock is passed in, no I/O. The source runtime feeds it every
 * answer's latency and asks it before sending. */
#ifndef TC_INFLIGHT_H
#define TC_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

/* Latencies kept: the p90 of the last 64 answers moves after 7 slow ones. */
#define INFLIGHT_SAMPLES 64
/* Samples older than this are left out when newer ones exist, so a source
 * that got faster is believed within a minute even at a few requests/min. */
#define INFLIGHT_SAMPLE_AGE_NS (60 * 1000000000LL)
/* Before the first answer: assume 1 s (most APIs answer well within it; a
 * slower one is seen after a few answers). */
#define INFLIGHT_PRIOR_NS (1000000000LL)
/* Above the p90: the slower tenth of the answers and the jitter of the
 * limiter's schedule must not leave the rate unused. */
#define INFLIGHT_HEADROOM 1.5

typedef struct inflight {
    int64_t lat_ns[INFLIGHT_SAMPLES];
    int64_t at_ns[INFLIGHT_SAMPLES];
    size_t next, n;   /* ring position; samples held */
    int64_t p90_ns;   /* of the samples, as of the last inflight_p90_ns */
    int64_t p90_at_ns;
    int dirty;        /* a sample came since */
    long limit;       /* the last inflight_update */
    int64_t limit_p90_ns; /* the p90 that limit was sized for */
} inflight;

void inflight_init(inflight *f);
/* One answer (any outcome: a timeout was in flight that long too) came
 * after LATENCY_NS, at NOW_NS. */
void inflight_note(inflight *f, int64_t latency_ns, int64_t now_ns);
/* The 90th percentile (nearest rank) of the samples no older than
 * INFLIGHT_SAMPLE_AGE_NS (all of them when none is that recent);
 * INFLIGHT_PRIOR_NS without any. */
int64_t inflight_p90_ns(inflight *f, int64_t now_ns);
/* The formula alone: ceil(RATE x LATENCY x INFLIGHT_HEADROOM) within
 * [1, MAX]; MAX when RATE <= 0 (nothing limits the source). */
long inflight_target(double rate_per_s, int64_t latency_ns, long max);
/* Recomputes and returns F's limit for RATE (requests/s the limiters allow
 * now; <= 0: unlimited) under MAX at NOW. */
long inflight_update(inflight *f, double rate_per_s, long max, int64_t now_ns);

#endif
