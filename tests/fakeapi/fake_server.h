/*
 * The fake upstream as a library: fakeapi.c wraps it in a command line, and
 * in-process tests start it on an ephemeral loopback port, read its counters
 * and set its faults without going through HTTP. See README.md.
 */
#ifndef TC_FAKE_SERVER_H
#define TC_FAKE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "fake_data.h"

typedef struct fake_server_options {
    unsigned port;                          /* 127.0.0.1:PORT; 0: ephemeral */
    unsigned latency_min_ms, latency_max_ms; /* added to every source request */
    fake_profile profile;                   /* who knows which address */
    unsigned limit[FAKE_NSOURCES];          /* accepted requests per window */
    double window_ms[FAKE_NSOURCES];        /* published window, before SCALE */
    double scale;                           /* every window is divided by it */
    uint64_t seed;                          /* fault and latency PRNGs */
    unsigned drift_permille;                /* share of addresses whose price moves */
    unsigned long drift_period_ms;          /* ... every this many ms (0: off) */
    int verbose;                            /* log each request to stderr */
} fake_server_options;

/* An ephemeral port, the published free-tier limits, no latency, no drift,
 * scale 1, seed 1. */
void fake_server_options_default(fake_server_options *o);

typedef struct fake_server fake_server;

/* Starts listening (threads of its own); *PORT receives the bound port.
 * NULL when it cannot listen. */
fake_server *fake_server_start(const fake_server_options *o, unsigned *port);
/* Ends hanging requests, stops the threads, frees everything. */
void fake_server_stop(fake_server *s);

/* One source's counters, as GET /_stats reports them. */
typedef struct fake_source_stats {
    uint64_t requests, ok, status_429, status_4xx, status_5xx;
    uint64_t addresses, distinct_addresses, max_requests_per_address;
    uint64_t max_in_window, faults_injected;
    unsigned limit;
    double window_ms; /* effective: already divided by the scale */
} fake_source_stats;

void fake_server_stats(fake_server *s, fake_source source, fake_source_stats *out);
/* POST /_reset: counters, rate windows and PRNGs; limits and faults stay. */
void fake_server_reset(fake_server *s);
/* POST /_faults?QUERY, e.g. "source=helius&error_rate=0.5": 0, or -1 with
 * the reason in ERR and nothing changed. */
int fake_server_faults(fake_server *s, const char *query, char *err, size_t errlen);

/* Shared with the command line. */
int fake_source_by_name(const char *name, fake_source *out);
/* A decimal in 0..MAX: 0, or -1 when it is not one. */
int fake_parse_uint(const char *v, unsigned max, unsigned *out);

#endif
