/* Cluster-wide limiters (cluster_limiter.h): the pool the libcurl loop draws
 * from, under a mutex, and the limiter thread that refills it.
 *
 * The thread wakes when a pool falls to its low-water mark (the loop signals
 * it) or at the next moment it planned (a pause ending, the schedule making
 * room, a reconnect), runs at most one statement per limiter per turn, and
 * never holds the mutex across a statement. */
#include "cluster_limiter.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_gcra.h"
#include "cluster_pg.h"
#include "log.h"
#include "util.h"

/* No request wanted a permit for this long (or CLUSTER_AHEAD if longer):
 * reserve nothing (an idle collector holds nothing). */
#define IDLE_NS (100 * NS_PER_MS)
/* Reconnecting: 100 ms, doubling to 2 s. */
#define RECONNECT_FIRST_NS (100 * NS_PER_MS)
#define RECONNECT_MAX_NS (2000 * NS_PER_MS)
/* The thread looks again at least this often. */
#define TICK_NS (50 * NS_PER_MS)

struct cluster_limiter {
    cluster *c;
    char *name;
    /* configuration (under c->mu) */
    double rate, burst;
    int adaptive;
    int64_t ahead_ns;
    /* state (under c->mu) */
    cg_pool pool;
    cg_sizer sizer;
    double shared_rate;       /* from the last answer */
    int64_t paused_until_ns;  /* local: a 429 here, or the database's pause */
    int64_t next_ask_ns;      /* the schedule is full or paused until then */
    int64_t room1_ns;         /* ... has room for one permit from then */
    int64_t pending_pause_ns; /* a pause to write (0: none) */
    int pending_halve;
    int64_t starved_since_ns; /* a request waits for the database (no permit held, room in the schedule) since then */
    int64_t db_wait_ns;       /* how long, for the next request that goes */
    long long first_taken;    /* the row's total before this collector's first grant (-1: none yet) */
    cluster_stats st;
    cluster_limiter *next;
};

struct cluster {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started, stop, kick;
    cluster_pg *pg;
    int64_t reconnect_at_ns, reconnect_step_ns;
    int was_down;
    int up; /* the connection is up (the thread's view, read under mu) */
    cluster_limiter *list;
    size_t n;
};

/* How late a request may go after its moment in the database's schedule
 * (cg_pool_add): one interval plus the burst's tolerance for the loop, and a
 * tenth of cluster_ahead for the reservation's round trip. So the requests
 * in any window W number at most rate x (W + this) + burst: keep that under
 * the API's limit (docs/postgresql.md). */
static int64_t late_ns(const cluster_limiter *l)
{
    double rate = l->shared_rate > 0 ? l->shared_rate : l->rate;
    return (int64_t)(1e9 / rate + (l->burst - 1) * 1e9 / rate) + l->ahead_ns / CLUSTER_RTT_SHARE;
}

static void set_max(cluster_limiter *l)
{
    double rate = l->shared_rate > 0 ? l->shared_rate : l->rate;
    cg_sizer_set_max(&l->sizer, cg_max_reservation(rate, l->ahead_ns));
    l->sizer.idle_ns = l->ahead_ns > IDLE_NS ? l->ahead_ns : IDLE_NS;
}

cluster *cluster_new(const char *uri)
{
    cluster *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    c->pg = cluster_pg_new(uri);
    c->reconnect_step_ns = RECONNECT_FIRST_NS;
    return c;
}

static void *thread_main(void *arg);

cluster_limiter *cluster_add(cluster *c, const char *name, double rate, double burst, int adaptive, int64_t ahead_ns)
{
    cluster_limiter *l = xcalloc(1, sizeof *l);
    l->c = c;
    l->name = xstrdup(name);
    l->rate = rate;
    l->burst = burst < 1 ? 1 : burst;
    l->adaptive = adaptive;
    l->ahead_ns = ahead_ns;
    l->first_taken = -1;
    cg_sizer_init(&l->sizer, 1, IDLE_NS);
    set_max(l);
    snprintf(l->st.name, sizeof l->st.name, "%s", name);
    pthread_mutex_lock(&c->mu);
    l->next = c->list;
    c->list = l;
    c->n++;
    int start = !c->started;
    c->started = 1;
    pthread_mutex_unlock(&c->mu);
    if (start && pthread_create(&c->thread, NULL, thread_main, c) != 0) {
        LOG_ERROR("cluster", "cannot start the limiter thread: %s", strerror(errno));
        c->started = 0;
    }
    return l;
}

void cluster_free(cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->started)
        pthread_join(c->thread, NULL);
    while (c->list) {
        cluster_limiter *l = c->list;
        c->list = l->next;
        free(l->name);
        free(l);
    }
    cluster_pg_free(c->pg);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void cluster_limiter_reconfigure(cluster_limiter *l, double rate, double burst, int adaptive, int64_t ahead_ns)
{
    pthread_mutex_lock(&l->c->mu);
    l->rate = rate;
    l->burst = burst < 1 ? 1 : burst;
    l->adaptive = adaptive;
    l->ahead_ns = ahead_ns;
    if (l->shared_rate > rate)
        l->shared_rate = rate;
    set_max(l);
    pthread_mutex_unlock(&l->c->mu);
}

/* ---- the loop's side ------------------------------------------------------------ */

static void kick(cluster *c)
{
    c->kick = 1;
    pthread_cond_signal(&c->cv);
}

/* The loop passes the time its turn began; a turn can take milliseconds
 * (answers parsed, batches committed), and a permit's deadline is checked
 * against when the request really goes. */
static int64_t fresh(int64_t now)
{
    int64_t t = now_mono_ns();
    return t > now ? t : now;
}

int64_t cluster_limiter_wait_ns(cluster_limiter *l, int64_t now)
{
    cluster *c = l->c;
    now = fresh(now);
    pthread_mutex_lock(&c->mu);
    cg_pool_expire(&l->pool, now);
    cg_sizer_demand(&l->sizer, now);
    int64_t wait = l->paused_until_ns > now ? l->paused_until_ns - now : 0;
    int64_t pw = cg_pool_wait(&l->pool, now);
    if (pw < 0) {
        /* The added wait is the database's round trip: not a 429's pause,
         * nor the schedule full of the other collectors' permits (that is
         * the limit itself, which a local limiter imposes too). */
        if (!l->starved_since_ns && l->paused_until_ns <= now && l->room1_ns <= now)
            l->starved_since_ns = now;
        /* A reservation is on its way; while the database is away, nothing
         * will come before the next reconnect. */
        int64_t poll = c->up ? CLUSTER_POLL_NS : TICK_NS;
        if (wait < poll)
            wait = poll;
    } else if (pw > wait) {
        wait = pw;
    }
    if (l->pool.len <= l->sizer.want / 2)
        kick(c);
    pthread_mutex_unlock(&c->mu);
    return wait;
}

void cluster_limiter_take(cluster_limiter *l, int64_t now)
{
    cluster *c = l->c;
    now = fresh(now);
    pthread_mutex_lock(&c->mu);
    /* No expiry here: the permit was good when wait said 0, microseconds ago. */
    if (cg_pool_take(&l->pool, now) == 0) {
        l->st.used++;
        cs_hist_add(&l->st.added, l->db_wait_ns);
        l->db_wait_ns = 0;
    }
    if (l->pool.len <= l->sizer.want / 2)
        kick(c);
    pthread_mutex_unlock(&c->mu);
}

void cluster_limiter_pause(cluster_limiter *l, int64_t now, int64_t pause_ns)
{
    cluster *c = l->c;
    if (pause_ns < 0)
        pause_ns = 0;
    pthread_mutex_lock(&c->mu);
    if (now + pause_ns > l->paused_until_ns)
        l->paused_until_ns = now + pause_ns;
    if (pause_ns > l->pending_pause_ns)
        l->pending_pause_ns = pause_ns ? pause_ns : 1;
    /* What the pool holds lies in the upstream's full window. */
    cg_pool_clear(&l->pool);
    l->starved_since_ns = l->db_wait_ns = 0;
    kick(c);
    pthread_mutex_unlock(&c->mu);
}

void cluster_limiter_throttled(cluster_limiter *l)
{
    pthread_mutex_lock(&l->c->mu);
    l->pending_halve = 1;
    if (!l->pending_pause_ns)
        l->pending_pause_ns = 1;
    kick(l->c);
    pthread_mutex_unlock(&l->c->mu);
}

double cluster_limiter_rate(cluster_limiter *l)
{
    pthread_mutex_lock(&l->c->mu);
    double r = l->shared_rate > 0 ? l->shared_rate : l->rate;
    pthread_mutex_unlock(&l->c->mu);
    return r;
}

size_t cluster_stats_collect(cluster *c, cluster_stats *out, size_t max)
{
    if (!c)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&c->mu);
    int up = c->up;
    for (cluster_limiter *l = c->list; l && n < max; l = l->next) {
        cluster_stats *s = &out[n++];
        *s = l->st;
        s->connected = up;
        s->rate = l->shared_rate > 0 ? l->shared_rate : l->rate;
        s->rate_max = l->rate;
        s->expired = l->pool.expired;
        s->reservation_size = l->sizer.want;
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- the limiter thread ----------------------------------------------------------- */

typedef enum { JOB_NONE, JOB_PAUSE, JOB_RESERVE } job_kind;

typedef struct job {
    job_kind kind;
    cluster_limiter *l;
    cluster_pg_limit lim;
    int want;
    double pause_s;
    int halve;
} job;

/* Under the mutex: the next statement to run, or the moment to look again. */
static job next_job(cluster *c, int64_t now, int64_t *wake)
{
    job j = {.kind = JOB_NONE};
    for (cluster_limiter *l = c->list; l; l = l->next) {
        cluster_pg_limit lim = {l->name, l->rate, l->burst, (double)l->ahead_ns / 1e9, l->adaptive};
        if (l->pending_pause_ns) {
            j = (job){JOB_PAUSE, l, lim, 0, (double)(l->pending_pause_ns > 1 ? l->pending_pause_ns : 0) / 1e9,
                      l->pending_halve};
            l->pending_pause_ns = 0;
            l->pending_halve = 0;
            return j;
        }
        int64_t ask_at = l->pool.len ? l->next_ask_ns : l->room1_ns;
        if (l->paused_until_ns > now || ask_at > now) {
            int64_t t = l->paused_until_ns > ask_at ? l->paused_until_ns : ask_at;
            if (now - l->sizer.last_demand_ns <= l->sizer.idle_ns && t < *wake)
                *wake = t;
            continue;
        }
        cg_pool_expire(&l->pool, now);
        int want = cg_sizer_ask(&l->sizer, &l->pool, now);
        if (want > 0 && j.kind == JOB_NONE)
            j = (job){JOB_RESERVE, l, lim, want, 0, 0};
    }
    return j;
}

/* Under the mutex: the answer of J applied to its limiter. RECV: when it came. */
static void apply(job *j, const cluster_pg_answer *a, int64_t sent, int64_t recv)
{
    cluster_limiter *l = j->l;
    if (l->starved_since_ns) { /* the answer a request waited for */
        l->db_wait_ns += recv - l->starved_since_ns;
        l->starved_since_ns = 0;
    }
    l->st.reservations++;
    cs_hist_add(&l->st.rtt, recv - sent);
    if (j->kind == JOB_PAUSE)
        l->st.pauses++;
    l->shared_rate = a->rate > 0 ? a->rate : l->rate;
    set_max(l);
    if (a->pause_s > 0) {
        int64_t until = recv + (int64_t)(a->pause_s * 1e9);
        if (until > l->paused_until_ns)
            l->paused_until_ns = until;
        /* Another collector's 429: what this one holds is as stale. */
        if (j->kind == JOB_RESERVE)
            cg_pool_clear(&l->pool);
        l->starved_since_ns = l->db_wait_ns = 0;
    }
    if (a->granted > 0) {
        if (l->first_taken < 0)
            l->first_taken = a->taken - a->granted;
        l->st.granted += (uint64_t)a->granted;
        cg_grant g = cg_grant_from_tat(a->granted, a->tat_s, l->shared_rate, l->burst);
        cg_pool_add(&l->pool, &g, sent, recv, late_ns(l));
    }
    if (j->kind == JOB_RESERVE && a->pause_s <= 0 && a->granted < j->want) {
        /* The schedule is full CLUSTER_AHEAD ahead (the other collectors
         * hold it): ask again when it has room for half a reservation, not
         * as soon as one permit fits, or the collectors would take turns
         * one permit per statement. */
        int room_for = j->want / 2 > 1 ? j->want / 2 : 1;
        double at1 = a->tat_s - (l->burst - 1) / l->shared_rate - (double)l->ahead_ns / 1e9;
        double at = at1 + (room_for - 1) / l->shared_rate;
        l->next_ask_ns = recv + (at > 0.001 ? (int64_t)(at * 1e9) : NS_PER_MS);
        /* Once the pool is empty, one permit's room is enough. */
        l->room1_ns = recv + (at1 > 0.001 ? (int64_t)(at1 * 1e9) : NS_PER_MS);
    }
    if (l->first_taken >= 0 && a->taken >= l->first_taken)
        l->st.cluster_granted = (uint64_t)(a->taken - l->first_taken);
}

static void wait_until(cluster *c, int64_t wake)
{
    struct timespec ts = {.tv_sec = wake / NS_PER_S, .tv_nsec = wake % NS_PER_S};
    while (!c->stop && !c->kick)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    c->kick = 0;
}

static void *thread_main(void *arg)
{
    cluster *c = arg;
    char err[512];
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        int64_t now = now_mono_ns();
        int64_t wake = now + TICK_NS;
        c->up = cluster_pg_connected(c->pg);
        if (!c->up) {
            if (now < c->reconnect_at_ns) {
                wait_until(c, c->reconnect_at_ns);
                continue;
            }
            pthread_mutex_unlock(&c->mu);
            int rc = cluster_pg_connect(c->pg, err, sizeof err);
            pthread_mutex_lock(&c->mu);
            if (rc != 0) {
                for (cluster_limiter *l = c->list; l; l = l->next)
                    l->st.failures++;
                LOG_WARN("cluster", "%s: nothing goes to a cluster-scoped API until it is back (next try in %lld ms)",
                         err, (long long)(c->reconnect_step_ns / NS_PER_MS));
                c->was_down = 1;
                c->reconnect_at_ns = now_mono_ns() + c->reconnect_step_ns;
                c->reconnect_step_ns = c->reconnect_step_ns * 2 < RECONNECT_MAX_NS ? c->reconnect_step_ns * 2
                                                                                    : RECONNECT_MAX_NS;
                continue;
            }
            if (c->was_down)
                LOG_INFO("cluster", "limiter connection back: cluster-scoped APIs resume");
            c->was_down = 0;
            c->reconnect_step_ns = RECONNECT_FIRST_NS;
            continue;
        }
        job j = next_job(c, now, &wake);
        if (j.kind == JOB_NONE) {
            wait_until(c, wake);
            continue;
        }
        pthread_mutex_unlock(&c->mu);
        cluster_pg_answer a;
        int64_t t0 = now_mono_ns();
        int rc = j.kind == JOB_PAUSE ? cluster_pg_pause(c->pg, &j.lim, j.pause_s, j.halve, &a, err, sizeof err)
                                     : cluster_pg_reserve(c->pg, &j.lim, j.want, &a, err, sizeof err);
        int64_t recv = now_mono_ns();
        pthread_mutex_lock(&c->mu);
        c->up = cluster_pg_connected(c->pg);
        if (rc != 0) {
            j.l->st.failures++;
            if (j.kind == JOB_PAUSE) { /* written once the connection is back */
                j.l->pending_pause_ns = (int64_t)(j.pause_s * 1e9) > 1 ? (int64_t)(j.pause_s * 1e9) : 1;
                j.l->pending_halve |= j.halve;
            }
            LOG_WARN("cluster", "%s", err);
            if (cluster_pg_connected(c->pg)) /* a statement error on a live connection: do not spin */
                j.l->next_ask_ns = j.l->room1_ns = recv + RECONNECT_MAX_NS;
            else
                c->reconnect_at_ns = recv + c->reconnect_step_ns;
            continue;
        }
        apply(&j, &a, t0, recv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}
