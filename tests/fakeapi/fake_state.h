/*
 * The fake upstream's state, shared by fake_state.c (counters, rate windows,
 * faults, the admission decision) and fake_server.c (HTTP). Everything
 * mutable lives in struct fake_server under its one mutex.
 */
#ifndef TC_FAKE_STATE_H
#define TC_FAKE_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_server.h"

/* Timestamps in arrival order; grows as needed. */
typedef struct ts_queue {
    int64_t *items;
    size_t cap, head, len;
} ts_queue;

/* Open addressing keyed by a 64-bit hash of the address (0 = empty slot):
 * a few million addresses fit in tens of MB. */
typedef struct addr_counts {
    uint64_t *keys;
    uint32_t *counts;
    size_t cap, len;
    uint32_t max_count;
} addr_counts;

typedef struct source_faults {
    double error_rate, timeout_rate, truncate_rate, malformed_rate, rate429;
    unsigned retry_after_s, hang_ms;
    int down;
    unsigned next429;  /* the next N requests get a 429 (then it counts down to 0) */
    int echo;          /* 500 bodies echo the request line (query string included) */
    unsigned slow_ms;  /* added to every answer of the source (slow HTTP/1.1 upstream) */
    int hostile;       /* 200 bodies carry hostile names (fake_server.c: hostile_names) */
} source_faults;

typedef struct source_state {
    unsigned limit;            /* requests per window */
    double window_ms;          /* published window, before --scale */
    int64_t window_ns;         /* effective window */
    ts_queue accepted;         /* requests admitted by the limiter, in window */
    ts_queue arrivals;         /* every arrival, in window (for max_in_window) */
    uint64_t requests, ok, status_429, status_4xx, status_5xx;
    uint64_t addresses, faults_injected, max_in_window;
    addr_counts per_address;
    source_faults faults;
} source_state;

struct MHD_Daemon;

struct fake_server {
    pthread_mutex_t lock;
    fake_server_options opt;        /* as started (limits: see src) */
    source_state src[FAKE_NSOURCES];
    uint64_t fault_rng, latency_rng;
    int64_t started_ns;
    atomic_int stopping;            /* set by fake_server_stop: ends hanging handlers */
    struct MHD_Daemon *mhd;
};
typedef struct fake_server server;

typedef enum verdict {
    VERDICT_SERVE,       /* answer normally (maybe with a body fault) */
    VERDICT_DOWN,        /* fault: source down, 503 */
    VERDICT_FORCED_429,  /* fault: 429 regardless of the window */
    VERDICT_LIMITED,     /* the sliding window is full: 429 */
    VERDICT_BAD_REQUEST, /* admitted but invalid: the caller's error reply */
} verdict;

typedef enum body_fault {
    FAULT_NONE,
    FAULT_ERROR,     /* 500 or 503 with a short body */
    FAULT_TIMEOUT,   /* hang, then close without a response */
    FAULT_TRUNCATE,  /* 200 with the JSON cut in half */
    FAULT_MALFORMED, /* 200 with garbage */
} body_fault;

typedef struct admission {
    verdict verdict;
    body_fault fault;
    unsigned error_status;   /* FAULT_ERROR: 500 or 503 */
    unsigned retry_after_s;  /* 429s */
    unsigned hang_ms;        /* FAULT_TIMEOUT */
    unsigned latency_ms;
    int echo, hostile;       /* the source's echo and hostile faults */
    long remaining;          /* x-ratelimit-remaining */
    size_t in_window;        /* x-ratelimit-current */
    long long reset_unix;    /* x-ratelimit-reset */
} admission;

/* Parsing state for POST /_faults: settings are applied only if every
 * argument is valid. */
typedef struct fault_update {
    int has_source, all_sources, clear, error;
    fake_source source;
    int set_error, set_timeout, set_truncate, set_malformed, set_rate429;
    int set_retry_after, set_hang, set_down, set_next429, set_echo, set_slow, set_hostile;
    source_faults values;
    char message[160];
} fault_update;

int64_t fake_monotonic_ns(void);
void fake_sleep_ms(unsigned ms);

/* Fills SRV from O (no threads yet); fake_state_free undoes it. */
void fake_state_init(server *srv, const fake_server_options *o);
void fake_state_free(server *srv);
void reset_counters_locked(server *srv);

/* Decides what happens to one arrival for SOURCE and accounts for it. VALID
 * says whether the request parsed; ADDRS/N are its addresses. */
admission admit(server *srv, fake_source source, int valid, const char *const *addrs, size_t n);
/* Counts the HTTP status finally sent (0: connection closed, no response). */
void record_outcome(server *srv, fake_source source, unsigned status, int ok);
void stats_snapshot_locked(const server *srv, fake_source source, fake_source_stats *out);

/* One KEY=VALUE of a fault update: 0, or -1 with U->message set. */
int fault_update_arg(fault_update *u, const char *key, const char *value);
/* Applies a complete update: 0, or -1 with U->message set (nothing changed). */
int fault_update_apply(server *srv, fault_update *u);

#endif
