/* The collector's side of a cluster-wide limiter (docs/postgresql.md,
 * "One rate limit for every collector"): pure arithmetic, the clock passed in.
 *
 * The database keeps the GCRA (one theoretical arrival time per limiter,
 * advanced by one statement: cluster_pg.c). A collector reserves a few
 * permits at a time; each permit is a moment, in the database's timeline,
 * from which one request may go. This file turns a grant into local times
 * (the pool), drops what was not used in time, and decides how many permits
 * to ask for next (the sizer): more while they are consumed as fast as they
 * come, fewer when they expire unused, none when nobody asks. */
#ifndef TC_CLUSTER_GCRA_H
#define TC_CLUSTER_GCRA_H

#include <stdint.h>

/* A grant as the statement returns it, in seconds relative to the
 * statement's now(): N permits, the k-th usable from
 * max(0, base_s + k * interval_s - tolerance_s). */
typedef struct cg_grant {
    int n;
    double base_s;      /* the theoretical arrival time before the grant */
    double interval_s;  /* 1 / rate */
    double tolerance_s; /* (burst - 1) / rate */
} cg_grant;

/* Decodes the statement's answer: TAT_S is the new theoretical arrival
 * time (after N permits at RATE), relative to the database's now(). */
cg_grant cg_grant_from_tat(int n, double tat_s, double rate, double burst);

#define CG_POOL_MAX 256

/* The permits this collector holds, as local monotonic times, ascending:
 * each usable from t and until dl (its deadline). */
typedef struct cg_pool {
    int64_t t[CG_POOL_MAX], dl[CG_POOL_MAX];
    int head, len;
    uint64_t added, used, expired;
} cg_pool;

/* Adds G's permits. SENT and RECV: when the statement was sent and its
 * answer arrived; the statement's now() lies between them. A permit goes
 * from RECV + its offset, so at or after its moment in the database's
 * schedule: latency and clock skew only delay a request, they never move one
 * earlier. It must go by SENT + its offset + LATE_NS, so no request goes
 * more than LATE_NS after its moment, however slow the answer or the loop:
 * later, it could crowd a window the other collectors' permits fill. A
 * permit that cannot meet both (a round trip longer than LATE_NS) is
 * dropped, as are those beyond the pool's room: unused, the cluster loses
 * them, no collector exceeds the limit. */
void cg_pool_add(cg_pool *p, const cg_grant *g, int64_t sent, int64_t recv, int64_t late_ns);
/* Drops the permits whose deadline passed. */
void cg_pool_expire(cg_pool *p, int64_t now);
/* Nanoseconds until the next permit (0: now); -1: the pool is empty. */
int64_t cg_pool_wait(const cg_pool *p, int64_t now);
/* Uses the next permit; 0 when one was due at NOW, -1 otherwise. */
int cg_pool_take(cg_pool *p, int64_t now);
/* Empties the pool (a 429: what it held lies in the upstream's full window). */
void cg_pool_clear(cg_pool *p);
/* The last permit's time (0 when empty). */
int64_t cg_pool_horizon(const cg_pool *p);

/* How many permits to ask for. */
typedef struct cg_sizer {
    int want;               /* the next reservation's size, 1..max */
    int max;                /* permits of CLUSTER_AHEAD at the limiter's rate */
    int64_t idle_ns;        /* no demand for this long: ask nothing */
    int64_t last_demand_ns; /* the last time a request wanted a permit */
    uint64_t expired_seen;  /* pool->expired at the last reservation */
} cg_sizer;

void cg_sizer_init(cg_sizer *z, int max, int64_t idle_ns);
/* The limiter's rate or CLUSTER_AHEAD changed. */
void cg_sizer_set_max(cg_sizer *z, int max);
/* A request wanted a permit at NOW. */
void cg_sizer_demand(cg_sizer *z, int64_t now);
/* Permits to reserve now (0: nothing): with a request wanting one in the
 * last idle_ns, once the pool is down to half a reservation. Each call that
 * returns > 0 adapts the size first: permits expired since the last one
 * halve it (the collector could not use them); a reservation used down to
 * the low-water mark without any expiring doubles it, up to max. */
int cg_sizer_ask(cg_sizer *z, const cg_pool *p, int64_t now);

/* Permits of AHEAD_NS at RATE, in [1, CG_POOL_MAX / 2]. */
int cg_max_reservation(double rate, int64_t ahead_ns);

#endif
