/* Cluster-wide limiters: `[limiter NAME] scope = cluster` (docs/postgresql.md).
 *
 * The limit is the API's, shared by every collector on one PostgreSQL
 * database: the GCRA's state lives in the cluster_limiters table and is
 * advanced by one statement (cluster_pg.c). Each collector holds a small
 * pool of reserved permits (cluster_gcra.c) that a limiter thread refills
 * before it runs dry, on its own connection: the libcurl loop only takes a
 * mutex, it never waits for the database. A 429 or Retry-After pauses the
 * limiter in the database, for every collector, and halves the shared
 * adaptive rate.
 *
 * While the database cannot be reached nothing new is granted: once the
 * permits already held are used or expired, nothing goes to the API until
 * the connection is back (the others' use cannot be known).
 *
 * limiter.c calls in here for a limiter whose `cluster` member is set. */
#ifndef TC_CLUSTER_LIMITER_H
#define TC_CLUSTER_LIMITER_H

#include <stddef.h>
#include <stdint.h>

#include "cluster_stats.h"

typedef struct cluster cluster;
typedef struct cluster_limiter cluster_limiter;

/* The collector's cluster: one limiter thread and one connection to the
 * store's database URI, started with the first limiter. */
cluster *cluster_new(const char *uri);
/* Stops the thread and frees every limiter (what they hold expires). */
void cluster_free(cluster *c);

cluster_limiter *cluster_add(cluster *c, const char *name, double rate, double burst, int adaptive, int64_t ahead_ns);
/* A reload changed the limiter's section. */
void cluster_limiter_reconfigure(cluster_limiter *l, double rate, double burst, int adaptive, int64_t ahead_ns);

/* limiter.h's calls, for the limiter's cluster side (any thread may call). */
int64_t cluster_limiter_wait_ns(cluster_limiter *l, int64_t now);
void cluster_limiter_take(cluster_limiter *l, int64_t now);
void cluster_limiter_pause(cluster_limiter *l, int64_t now, int64_t pause_ns);
void cluster_limiter_throttled(cluster_limiter *l);
/* The shared rate in force (the configured one until the first answer). */
double cluster_limiter_rate(cluster_limiter *l);

/* The figures of each limiter of C (up to MAX); how many. */
size_t cluster_stats_collect(cluster *c, cluster_stats *out, size_t max);

/* A request goes at most 1 / rate + (burst - 1) / rate + cluster_ahead /
 * CLUSTER_RTT_SHARE after its moment (cluster_limiter.c, late_ns). */
#define CLUSTER_RTT_SHARE 10

/* The wait a loop polls at while no permit is held (a reservation is on its way). */
#define CLUSTER_POLL_NS (1000000LL)

#endif
