/* The figures of the cluster-wide limiters (cluster_limiter.c fills them):
 * this collector's share of each limiter and the reservations' round trips,
 * for /metrics (metrics_prom.c renders them from the ops snapshot) and the
 * run's summary. */
#ifndef TC_CLUSTER_STATS_H
#define TC_CLUSTER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

/* Log-scale histogram: bucket i holds values <= 1 us * 2^(i / 4). */
#define CS_BUCKETS 100
typedef struct cs_hist {
    uint64_t b[CS_BUCKETS + 1]; /* the last: above every bound */
    uint64_t count;
    double sum_s;
} cs_hist;

void cs_hist_add(cs_hist *h, int64_t ns);
/* The bound of the bucket holding quantile Q (0..1), in seconds; 0 when empty. */
double cs_hist_quantile(const cs_hist *h, double q);
double cs_hist_bound_s(int i);

typedef struct cluster_stats {
    char name[32];
    int connected;             /* the limiter's database connection is up */
    double rate;               /* the shared rate in force (adaptive: lowered by 429s) */
    double rate_max;           /* configured */
    uint64_t granted;          /* permits the database granted this collector */
    uint64_t cluster_granted;  /* permits it granted every collector since this one's first reservation */
    uint64_t used, expired;    /* of this collector's: sent, dropped unused */
    uint64_t reservations;     /* statements (reservations and pauses) that answered */
    uint64_t failures;         /* statements or connections that failed */
    uint64_t pauses;           /* 429 / Retry-After pauses this collector wrote */
    int reservation_size;      /* the sizer's current size */
    cs_hist rtt;               /* a statement's round trip */
    cs_hist added;             /* per request: the wait for the database (no permit held, room in the schedule) */
} cluster_stats;

/* This collector's share of the limiter's permits: granted / cluster_granted (0..1). */
double cluster_stats_share(const cluster_stats *s);

/* One summary line per limiter (the run's summary). */
void cluster_stats_print(const cluster_stats *s, size_t n, FILE *out);

#endif
