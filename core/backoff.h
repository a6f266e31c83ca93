/* Waiting rules shared by the engine, pure so they are tested with plain
 * numbers: the backoff before a retry, and the pause an upstream asks for in
 * a 429 or in its x-ratelimit-* headers. */
#ifndef TC_BACKOFF_H
#define TC_BACKOFF_H

#include <stdint.h>

/* Full-jitter exponential backoff: uniform in [0, min(CAP, BASE * 2^(ATTEMPT-1))]
 * (ATTEMPT >= 1 is the failed try just made), drawn from RANDOM. */
int64_t backoff_full_jitter_ns(int attempt, int64_t base_ns, int64_t cap_ns, uint64_t random);

/* Retry-After values beyond this are taken as this: an hour-long pause from
 * one bad header would silently stall a daemon. */
#define BACKOFF_MAX_PAUSE_S 600
/* A 429 without a usable Retry-After pauses the limiter this long. */
#define BACKOFF_DEFAULT_PAUSE_S 1

/* How long to pause a limiter after a 429 whose Retry-After was
 * RETRY_AFTER_S seconds (-1: absent): clamped to [0, BACKOFF_MAX_PAUSE_S]. */
int64_t throttle_pause_ns(long retry_after_s);

/* After a successful answer: the pause x-ratelimit-remaining / -reset ask for
 * (0: none). RESET is epoch seconds when it is larger than 10^9, else a delta;
 * absent values are LONG_MIN / -1. */
int64_t ratelimit_pause_ns(long remaining, long reset, int64_t now_wall_s);

#endif
