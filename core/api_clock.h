/* Condition variables on the monotonic clock, for the HTTP API's waits
 * (api_pool.c: a free connection; api_sse_hub.c: the next poll), so a
 * change of the wall clock never stretches or cuts a wait. */
#ifndef TC_API_CLOCK_H
#define TC_API_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

static inline void api_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}

/* The monotonic instant NS from now, for pthread_cond_timedwait. */
static inline struct timespec api_deadline(int64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t n = t.tv_nsec + ns % NS_PER_S;
    t.tv_sec += (time_t)(ns / NS_PER_S + n / NS_PER_S);
    t.tv_nsec = (long)(n % NS_PER_S);
    return t;
}

#endif
