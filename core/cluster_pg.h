/* The database side of the cluster-wide limiters: one PostgreSQL connection
 * of its own (never the store's), used only by the limiter thread
 * (cluster_limiter.c), and the statements on the cluster_limiters table
 * (migration "cluster limiters" in store_pg_schema.h). Each call is one
 * autocommit statement: no transaction stays open, no lock is held across
 * anything but that statement. Times are the database's (now()), so clock
 * skew between the collectors' machines does not matter. */
#ifndef TC_CLUSTER_PG_H
#define TC_CLUSTER_PG_H

#include <stddef.h>

typedef struct cluster_pg cluster_pg;

/* What a limiter is, as every statement passes it: the row's own rate is
 * the shared adaptive rate, capped by RATE. */
typedef struct cluster_pg_limit {
    const char *name;
    double rate;   /* configured requests/s */
    double burst;
    double ahead_s; /* no permit granted further ahead than this */
    int adaptive;
} cluster_pg_limit;

typedef struct cluster_pg_answer {
    int granted;        /* permits granted (0: none: paused, or the schedule is ahead_s full) */
    double tat_s;       /* the new theoretical arrival time, seconds after the statement's now() */
    double rate;        /* the shared (adaptive) rate in force */
    double pause_s;     /* seconds of pause left (0: none) */
    long long taken;    /* permits the row granted since it was created, every collector */
} cluster_pg_answer;

/* URI: the store's libpq URI. Connects later (cluster_pg_connect). */
cluster_pg *cluster_pg_new(const char *uri);
void cluster_pg_free(cluster_pg *c);

/* (Re)connects, when not connected; 0 when connected. */
int cluster_pg_connect(cluster_pg *c, char *err, size_t errlen);
int cluster_pg_connected(const cluster_pg *c);

/* The one statement of a reservation: up to WANT permits of L. */
int cluster_pg_reserve(cluster_pg *c, const cluster_pg_limit *l, int want, cluster_pg_answer *out, char *err,
                       size_t errlen);
/* A 429 or Retry-After: nothing of L is granted for PAUSE_S from the
 * database's now, every collector; HALVE: the 429 also halves the shared
 * rate when L is adaptive (once per pause: the other collectors' 429s of
 * the same window do not halve it again). */
int cluster_pg_pause(cluster_pg *c, const cluster_pg_limit *l, double pause_s, int halve, cluster_pg_answer *out,
                     char *err, size_t errlen);

#endif
