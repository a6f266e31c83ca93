/* The change feed's streams (api_sse_hub.h): the polling thread, the shared
 * query, catching up, heartbeats, the list of streams. Owns its store
 * connection and the list; must not frame events itself (api_sse.c) nor
 * call the HTTP library (the streams reach their connections through
 * sse_io). */
#include "api_sse_hub.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_clock.h"
#include "log.h"
#include "util.h"

/* A catching-up stream's query asks for about as many changes as its room
 * holds at this many bytes each (an event is 300-600 bytes). */
#define EVENT_BYTES_GUESS 400

struct sse_hub {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    store *st;
    sse_hub_opts o;
    sse_format_fn fmt;
    sse_client **clients;
    size_t n, cap;
    int64_t cursor; /* every change up to it has been queued on the streams that were up to date */
    pthread_t thread;
    int running, started;
    uint64_t joined, cut_off, events;
    int64_t last_error_ns;
};

sse_hub *sse_hub_new(store *st, const sse_hub_opts *o, sse_format_fn fmt)
{
    sse_hub *h = xcalloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    api_cond_init(&h->wake);
    h->st = st;
    h->o = *o;
    /* A stream that is up to date gets at most BATCH events a round: about
     * a quarter of its queue, so a client that takes half its queue per
     * poll interval is never cut off by a burst (a large commit). */
    if (!h->o.stall_ns)
        h->o.stall_ns = SSE_STALL_NS;
    if (!h->o.batch) {
        h->o.batch = h->o.buffer_bytes / 1024;
        h->o.batch = h->o.batch < 4 ? 4 : h->o.batch > 256 ? 256 : h->o.batch;
    }
    h->fmt = fmt;
    return h;
}

/* ---- queries ----------------------------------------------------------------------- */

typedef struct fetched {
    sse_hub *h;
    sse_chunk **ev;
    size_t n, cap;
} fetched;

static void collect(void *ctx, const token_change *c)
{
    fetched *f = ctx;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->ev = xrealloc(f->ev, f->cap * sizeof *f->ev);
    }
    char *json = f->h->fmt(c);
    f->ev[f->n++] = sse_event(c->seq, NULL, json);
    free(json);
}

static void fetched_free(fetched *f)
{
    for (size_t i = 0; i < f->n; i++)
        sse_chunk_unref(f->ev[i]);
    free(f->ev);
    f->ev = NULL;
    f->n = f->cap = 0;
}

/* The changes above SINCE (at most LIMIT) into F, *HEAD the store's. */
static int fetch(sse_hub *h, int64_t since, size_t limit, fetched *f, int64_t *head)
{
    char err[1024];
    f->h = h;
    if (store_changes(h->st, since, limit, collect, f, head, err, sizeof err) == 0)
        return 0;
    fetched_free(f);
    int64_t now = now_mono_ns();
    if (now - h->last_error_ns > 10 * NS_PER_S) { /* a store that is down is said once per 10 s */
        LOG_WARN("api", "change feed: %s (streams wait, then go on)", err);
        h->last_error_ns = now;
    }
    return -1;
}

/* Queues F's events above CURSOR on C while they fit; 1 when all did. A
 * stream that is full is left behind: it catches up from the store once
 * its client has taken enough. */
static int push_after(sse_hub *h, sse_client *c, const fetched *f, int64_t cursor, int64_t now)
{
    for (size_t i = 0; i < f->n; i++) {
        if (sse_chunk_seq(f->ev[i]) <= cursor)
            continue;
        if (sse_client_push(c, f->ev[i], now) != 0)
            return 0;
        __atomic_add_fetch(&h->events, 1, __ATOMIC_RELAXED);
    }
    return 1;
}

/* A stream whose queue is full and whose client has taken nothing of it
 * for the stall time (since PROGRESS) stopped reading: it is cut off. */
static void cut_if_stalled(sse_hub *h, sse_client *c, int64_t progress, int64_t now)
{
    if (now - progress < h->o.stall_ns || sse_client_room(c) >= EVENT_BYTES_GUESS)
        return;
    sse_client_cut(c);
    sse_client_info i;
    sse_client_info_get(c, &i);
    __atomic_add_fetch(&h->cut_off, 1, __ATOMIC_RELAXED);
    LOG_WARN("api", "change feed: %s cut off, reading too slowly (its %zu-byte queue full, nothing taken for "
             "%.1f s); told to resume after %" PRId64, i.peer, h->o.buffer_bytes, (double)(now - progress) / 1e9,
             i.resume_from);
}

/* A stream behind the hub's cursor: as many of its changes as fit. */
static void catch_up(sse_hub *h, sse_client *c, int64_t cursor, int64_t now)
{
    size_t room = sse_client_room(c);
    if (room < EVENT_BYTES_GUESS)
        return; /* its client has not taken enough yet */
    size_t limit = room / EVENT_BYTES_GUESS;
    if (limit > h->o.batch)
        limit = h->o.batch;
    fetched f = {0};
    int64_t head;
    if (fetch(h, cursor, limit, &f, &head) != 0)
        return;
    for (size_t i = 0; i < f.n; i++) {
        if (sse_chunk_len(f.ev[i]) > sse_client_room(c))
            break; /* the rest next round */
        if (sse_client_push(c, f.ev[i], now) != 0)
            break;
        __atomic_add_fetch(&h->events, 1, __ATOMIC_RELAXED);
        if (i + 1 == f.n && f.n < limit)
            sse_client_advance(c, head); /* nothing else up to the head */
    }
    if (f.n == 0)
        sse_client_advance(c, head);
    fetched_free(&f);
}

/* ---- one round ------------------------------------------------------------------------ */

/* The open streams, each with a reference; the gone ones leave the list. */
static sse_client **snapshot(sse_hub *h, size_t *n)
{
    pthread_mutex_lock(&h->mu);
    sse_client **v = xcalloc(h->n ? h->n : 1, sizeof *v);
    size_t k = 0, keep = 0;
    for (size_t i = 0; i < h->n; i++) {
        sse_client_info info;
        sse_client_info_get(h->clients[i], &info);
        if (info.state == SSE_GONE) {
            sse_client_unref(h->clients[i]);
            continue;
        }
        h->clients[keep++] = h->clients[i];
        if (info.state == SSE_OPEN)
            v[k++] = sse_client_ref(h->clients[i]);
    }
    h->n = keep;
    pthread_mutex_unlock(&h->mu);
    *n = k;
    return v;
}

static void heartbeats(sse_hub *h, sse_client **v, size_t n, int64_t now)
{
    sse_chunk *beat = NULL;
    for (size_t i = 0; i < n; i++) {
        sse_client_info info;
        sse_client_info_get(v[i], &info);
        if (info.state != SSE_OPEN || now - info.last_push_ns < h->o.heartbeat_ns)
            continue;
        if (!beat)
            beat = sse_comment("heartbeat");
        sse_client_push(v[i], beat, now); /* a full stream needs none */
    }
    sse_chunk_unref(beat);
}

int sse_hub_tick(sse_hub *h, int64_t now)
{
    size_t n;
    sse_client **v = snapshot(h, &n);
    int rc = 0;
    int64_t lowest = INT64_MAX;
    int64_t *progress = xcalloc(n ? n : 1, sizeof *progress);
    for (size_t i = 0; i < n; i++) {
        sse_client_info info;
        sse_client_info_get(v[i], &info);
        if (info.cursor < lowest)
            lowest = info.cursor;
        progress[i] = sse_client_progress(v[i], now);
    }
    int64_t head, cursor = __atomic_load_n(&h->cursor, __ATOMIC_RELAXED);
    char err[256];
    if (n == 0) {
        /* No stream: only follow the head, so the first one to come does
         * not start from an old cursor. */
        if (store_changes(h->st, 0, 0, NULL, NULL, &head, err, sizeof err) == 0)
            cursor = head;
    } else {
        if (lowest > cursor)
            cursor = lowest; /* nobody needs what lies below */
        fetched f = {0};
        rc = fetch(h, cursor, h->o.batch, &f, &head);
        if (rc == 0) {
            int complete = f.n < h->o.batch;
            int64_t next = f.n ? sse_chunk_seq(f.ev[f.n - 1]) : cursor;
            if (complete && head > next)
                next = head;
            for (size_t i = 0; i < n; i++) {
                sse_client_info info;
                sse_client_info_get(v[i], &info);
                if (info.cursor < cursor) {
                    catch_up(h, v[i], info.cursor, now);
                    continue;
                }
                if (push_after(h, v[i], &f, info.cursor, now) && complete)
                    sse_client_advance(v[i], next);
            }
            cursor = next;
            fetched_free(&f);
        }
    }
    __atomic_store_n(&h->cursor, cursor, __ATOMIC_RELAXED);
    heartbeats(h, v, n, now);
    for (size_t i = 0; i < n; i++) {
        cut_if_stalled(h, v[i], progress[i], now);
        sse_client_unref(v[i]);
    }
    free(progress);
    free(v);
    return rc;
}

/* ---- the thread ------------------------------------------------------------------------ */

static void *hub_main(void *arg)
{
    sse_hub *h = arg;
    pthread_mutex_lock(&h->mu);
    while (h->running) {
        pthread_mutex_unlock(&h->mu);
        sse_hub_tick(h, now_mono_ns());
        struct timespec until = api_deadline(h->o.poll_ns);
        pthread_mutex_lock(&h->mu);
        if (h->running)
            pthread_cond_timedwait(&h->wake, &h->mu, &until);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int sse_hub_start(sse_hub *h)
{
    h->running = 1;
    if (pthread_create(&h->thread, NULL, hub_main, h) != 0) {
        h->running = 0;
        return -1;
    }
    h->started = 1;
    return 0;
}

void sse_hub_stop(sse_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->running = 0;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
    if (h->started)
        pthread_join(h->thread, NULL);
    h->started = 0;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->n; i++)
        sse_client_close(h->clients[i]);
    pthread_mutex_unlock(&h->mu);
}

void sse_hub_free(sse_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        sse_client_unref(h->clients[i]);
    free(h->clients);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* ---- streams ----------------------------------------------------------------------------- */

static size_t open_streams(sse_hub *h)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        sse_client_info info;
        sse_client_info_get(h->clients[i], &info);
        k += info.state != SSE_GONE;
    }
    return k;
}

sse_client *sse_hub_join(sse_hub *h, int64_t since)
{
    pthread_mutex_lock(&h->mu);
    if (open_streams(h) >= h->o.max_clients) {
        pthread_mutex_unlock(&h->mu);
        return NULL;
    }
    int64_t now = now_mono_ns();
    sse_client *c = sse_client_new(since, h->o.buffer_bytes, now);
    char hello[160];
    snprintf(hello, sizeof hello, "retry: 3000\n: tokencollector change feed, changes after %" PRId64 "\n\n", since);
    sse_chunk *first = sse_text(hello);
    sse_client_push(c, first, now);
    sse_chunk_unref(first);
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->clients = xrealloc(h->clients, h->cap * sizeof *h->clients);
    }
    h->clients[h->n++] = sse_client_ref(c);
    h->joined++;
    pthread_mutex_unlock(&h->mu);
    return c;
}

void sse_hub_stats_get(sse_hub *h, sse_hub_stats *out)
{
    pthread_mutex_lock(&h->mu);
    *out = (sse_hub_stats){.streams = open_streams(h),
                           .joined = h->joined,
                           .cut_off = __atomic_load_n(&h->cut_off, __ATOMIC_RELAXED),
                           .events = __atomic_load_n(&h->events, __ATOMIC_RELAXED),
                           .cursor = __atomic_load_n(&h->cursor, __ATOMIC_RELAXED)};
    pthread_mutex_unlock(&h->mu);
}
