/* The hub of ops.h: the published snapshot and the command queue, under one
 * mutex, and the process's current hub. Must not run commands (the loop's
 * daemon_ops.c does) nor know HTTP. */
#include "ops.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct ops_hub {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a command was done, or the hub is closing */
    ops_snapshot snap;
    int have_snap;
    ops_command *head, *tail;
    int closing;
};

static ops_hub *_Atomic current;

void ops_attach(ops_hub *h) { current = h; }
ops_hub *ops_current(void) { return current; }

void ops_snapshot_clear(ops_snapshot *s)
{
    metrics_free(s->m);
    free(s->src);
    free(s->cluster);
    memset(s, 0, sizeof *s);
}

void ops_snapshot_copy(ops_snapshot *dst, const ops_snapshot *src)
{
    ops_snapshot_clear(dst);
    *dst = *src;
    dst->m = NULL;
    if (src->m)
        metrics_copy(&dst->m, src->m);
    dst->src = NULL;
    if (src->n_src) {
        dst->src = xmalloc(src->n_src * sizeof *dst->src);
        memcpy(dst->src, src->src, src->n_src * sizeof *dst->src);
    }
    dst->cluster = NULL;
    if (src->n_cluster) {
        dst->cluster = xmalloc(src->n_cluster * sizeof *dst->cluster);
        memcpy(dst->cluster, src->cluster, src->n_cluster * sizeof *dst->cluster);
    }
}

ops_hub *ops_hub_new(void)
{
    ops_hub *h = xcalloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    return h;
}

void ops_hub_free(ops_hub *h)
{
    if (!h)
        return;
    if (current == h)
        current = NULL;
    pthread_mutex_lock(&h->mu);
    h->closing = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    /* Callers still waiting leave on their own once they see CLOSING; the
     * HTTP server is stopped before the hub is freed, so none is left. */
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    ops_snapshot_clear(&h->snap);
    free(h);
}

void ops_publish(ops_hub *h, ops_snapshot *s)
{
    pthread_mutex_lock(&h->mu);
    ops_snapshot old = h->snap;
    h->snap = *s;
    h->have_snap = 1;
    pthread_mutex_unlock(&h->mu);
    memset(s, 0, sizeof *s);
    ops_snapshot_clear(&old);
}

int ops_read(ops_hub *h, ops_snapshot *out)
{
    pthread_mutex_lock(&h->mu);
    int have = h->have_snap;
    if (have)
        ops_snapshot_copy(out, &h->snap);
    pthread_mutex_unlock(&h->mu);
    return have ? 0 : -1;
}

static void unlink_command(ops_hub *h, ops_command *c)
{
    for (ops_command **p = &h->head; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    h->tail = NULL;
    for (ops_command *x = h->head; x; x = x->next)
        h->tail = x;
}

int ops_call(ops_hub *h, ops_command *c, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->mu);
    if (h->closing) {
        pthread_mutex_unlock(&h->mu);
        return -1;
    }
    c->taken = c->done = 0;
    c->next = NULL;
    if (h->tail)
        h->tail->next = c;
    else
        h->head = c;
    h->tail = c;
    int rc = 0;
    while (!c->done) {
        if (c->taken) { /* running: its result comes, however long it takes */
            pthread_cond_wait(&h->cv, &h->mu);
            continue;
        }
        if (h->closing || pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT) {
            if (c->taken || c->done)
                continue;
            unlink_command(h, c);
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void ops_command_free(ops_command *c)
{
    free(c->body);
    free(c->rows);
    c->body = NULL;
    c->rows = NULL;
    c->n_rows = 0;
}

size_t ops_drain(ops_hub *h, ops_exec_fn fn, void *ctx)
{
    for (size_t n = 0;; n++) {
        pthread_mutex_lock(&h->mu);
        ops_command *c = h->head;
        if (c) {
            h->head = c->next;
            if (!h->head)
                h->tail = NULL;
            c->taken = 1;
        }
        pthread_mutex_unlock(&h->mu);
        if (!c)
            return n;
        fn(ctx, c); /* outside the lock: a reload may take a while */
        pthread_mutex_lock(&h->mu);
        c->done = 1;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
}
