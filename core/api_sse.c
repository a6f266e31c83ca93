/* Server-Sent Events framing and one stream's bounded queue (api_sse.h).
 * Owns the queue, its limit and the cut-off; must not poll the store
 * (api_sse_hub.c) nor call the HTTP library (api_server.c, through sse_io). */
#include "api_sse.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct sse_chunk {
    atomic_int refs;
    int64_t seq;
    size_t len;
    char text[];
};

static sse_chunk *chunk_of(int64_t seq, strbuf *b)
{
    sse_chunk *c = xmalloc(sizeof *c + b->len + 1);
    atomic_init(&c->refs, 1);
    c->seq = seq;
    c->len = b->len;
    memcpy(c->text, b->data, b->len);
    c->text[b->len] = '\0';
    sb_free(b);
    return c;
}

/* "PREFIX line\n" for every line of TEXT (a lone CR or LF ends a line). */
static void field_lines(strbuf *b, const char *prefix, const char *text)
{
    for (const char *p = text;;) {
        size_t n = strcspn(p, "\r\n");
        sb_printf(b, "%s%.*s\n", prefix, (int)n, p);
        p += n;
        if (!*p)
            break;
        p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
    }
}

sse_chunk *sse_event(int64_t id, const char *event, const char *data)
{
    strbuf b = {0};
    sb_printf(&b, "id: %" PRId64 "\n", id);
    if (event)
        sb_printf(&b, "event: %s\n", event);
    field_lines(&b, "data: ", data);
    sb_appends(&b, "\n");
    return chunk_of(id, &b);
}

sse_chunk *sse_comment(const char *text)
{
    strbuf b = {0};
    field_lines(&b, ": ", text);
    sb_appends(&b, "\n");
    return chunk_of(0, &b);
}

sse_chunk *sse_text(const char *text)
{
    strbuf b = {0};
    sb_appends(&b, text);
    return chunk_of(0, &b);
}

static sse_chunk *chunk_ref(sse_chunk *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void sse_chunk_unref(sse_chunk *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        free(c);
}

size_t sse_chunk_len(const sse_chunk *c) { return c->len; }
int64_t sse_chunk_seq(const sse_chunk *c) { return c->seq; }
const char *sse_chunk_text(const sse_chunk *c) { return c->text; }

/* ---- one stream ------------------------------------------------------------------ */

struct sse_client {
    pthread_mutex_t mu;
    atomic_int refs;
    sse_state state;
    sse_chunk **q; /* q[head..n) queued; q[head] taken up to OFF bytes */
    size_t head, n, cap, off;
    size_t queued, limit; /* bytes in q not yet taken */
    int64_t cursor, sent, resume_from, last_push_ns;
    uint64_t taken, taken_seen; /* bytes the connection took; as of PROGRESS_NS */
    int64_t progress_ns;
    sse_io io;
    int bound, suspended;
    char peer[80];
};

sse_client *sse_client_new(int64_t since, size_t limit, int64_t now)
{
    sse_client *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    atomic_init(&c->refs, 1);
    c->state = SSE_OPEN;
    c->cursor = c->sent = c->resume_from = since;
    c->limit = limit;
    c->last_push_ns = c->progress_ns = now;
    snprintf(c->peer, sizeof c->peer, "?");
    return c;
}

sse_client *sse_client_ref(sse_client *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

static void drop_from(sse_client *c, size_t from)
{
    for (size_t i = from; i < c->n; i++) {
        c->queued -= c->q[i]->len - (i == c->head ? c->off : 0);
        sse_chunk_unref(c->q[i]);
    }
    c->n = from;
    if (c->head >= c->n)
        c->head = c->n = c->off = 0;
}

void sse_client_unref(sse_client *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    drop_from(c, c->head);
    free(c->q);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void sse_client_bind(sse_client *c, const sse_io *io, const char *peer)
{
    pthread_mutex_lock(&c->mu);
    c->io = *io;
    c->bound = 1;
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "?");
    pthread_mutex_unlock(&c->mu);
}

static void enqueue(sse_client *c, sse_chunk *ch)
{
    if (c->head > 0 && c->n == c->cap) { /* slide down before growing */
        memmove(c->q, c->q + c->head, (c->n - c->head) * sizeof *c->q);
        c->n -= c->head;
        c->head = 0;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->q = xrealloc(c->q, c->cap * sizeof *c->q);
    }
    c->q[c->n++] = chunk_ref(ch);
    c->queued += ch->len;
}

/* The queued events the client has not started on are dropped; it is told
 * to resume after the last one it gets whole. Under the lock. */
static void cut_off(sse_client *c)
{
    int partial = c->head < c->n && c->off > 0;
    drop_from(c, c->head + (size_t)partial);
    c->resume_from = partial && c->q[c->head]->seq ? c->q[c->head]->seq : c->sent;
    char data[160];
    snprintf(data, sizeof data,
             "{\"resume_from\":%" PRId64 ",\"reason\":\"the client read too slowly: reconnect with Last-Event-ID\"}",
             c->resume_from);
    sse_chunk *last = sse_event(c->resume_from, "cutoff", data);
    enqueue(c, last);
    sse_chunk_unref(last);
    c->state = SSE_CUT;
}

/* Called with the lock held; returns whether the caller must resume the
 * connection once the lock is released. */
static int take_wakeup(sse_client *c)
{
    int wake = c->suspended && c->bound;
    c->suspended = 0;
    return wake;
}

int sse_client_push(sse_client *c, sse_chunk *ch, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    int rc = -1;
    if (c->state == SSE_OPEN) {
        if (c->queued + ch->len > c->limit)
            rc = 1;
        else {
            enqueue(c, ch);
            if (ch->seq > c->cursor)
                c->cursor = ch->seq;
            c->last_push_ns = now;
            rc = 0;
        }
    }
    int wake = rc == 0 && take_wakeup(c);
    sse_io io = c->io;
    pthread_mutex_unlock(&c->mu);
    if (wake)
        io.resume(io.conn);
    return rc;
}

void sse_client_cut(sse_client *c)
{
    pthread_mutex_lock(&c->mu);
    int wake = 0;
    if (c->state == SSE_OPEN) {
        cut_off(c);
        wake = take_wakeup(c);
    }
    sse_io io = c->io;
    pthread_mutex_unlock(&c->mu);
    if (wake)
        io.resume(io.conn);
}

int64_t sse_client_progress(sse_client *c, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    if (c->taken != c->taken_seen || c->queued == 0) {
        c->taken_seen = c->taken;
        c->progress_ns = now;
    }
    int64_t t = c->progress_ns;
    pthread_mutex_unlock(&c->mu);
    return t;
}

size_t sse_client_room(sse_client *c)
{
    pthread_mutex_lock(&c->mu);
    size_t room = c->state == SSE_OPEN && c->queued < c->limit ? c->limit - c->queued : 0;
    pthread_mutex_unlock(&c->mu);
    return room;
}

void sse_client_advance(sse_client *c, int64_t seq)
{
    pthread_mutex_lock(&c->mu);
    if (c->state == SSE_OPEN && seq > c->cursor)
        c->cursor = seq;
    pthread_mutex_unlock(&c->mu);
}

ssize_t sse_client_read(sse_client *c, char *buf, size_t max)
{
    pthread_mutex_lock(&c->mu);
    size_t got = 0;
    while (got < max && c->head < c->n) {
        sse_chunk *ch = c->q[c->head];
        size_t take = ch->len - c->off;
        if (take > max - got)
            take = max - got;
        memcpy(buf + got, ch->text + c->off, take);
        got += take;
        c->off += take;
        c->queued -= take;
        c->taken += take;
        if (c->off == ch->len) {
            if (ch->seq > c->sent)
                c->sent = ch->seq;
            sse_chunk_unref(ch);
            c->head++;
            c->off = 0;
        }
    }
    if (c->head == c->n)
        c->head = c->n = 0;
    ssize_t rc = (ssize_t)got;
    if (got == 0 && c->state != SSE_OPEN)
        rc = -1; /* cut off or closing, and the last text is out */
    else if (got == 0 && c->bound) {
        c->suspended = 1;
        c->io.suspend(c->io.conn);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void sse_client_close(sse_client *c)
{
    sse_chunk *last = sse_comment("the server is stopping: reconnect with Last-Event-ID");
    pthread_mutex_lock(&c->mu);
    if (c->state == SSE_OPEN) {
        enqueue(c, last);
        c->state = SSE_CLOSING;
    }
    int wake = take_wakeup(c);
    sse_io io = c->io;
    pthread_mutex_unlock(&c->mu);
    sse_chunk_unref(last);
    if (wake)
        io.resume(io.conn);
}

void sse_client_gone(sse_client *c)
{
    pthread_mutex_lock(&c->mu);
    c->state = SSE_GONE;
    c->suspended = 0;
    c->bound = 0;
    drop_from(c, c->head);
    pthread_mutex_unlock(&c->mu);
}

void sse_client_info_get(sse_client *c, sse_client_info *out)
{
    pthread_mutex_lock(&c->mu);
    *out = (sse_client_info){.state = c->state,
                             .cursor = c->cursor,
                             .sent = c->sent,
                             .resume_from = c->resume_from,
                             .queued = c->queued,
                             .last_push_ns = c->last_push_ns,
                             .peer = c->peer};
    pthread_mutex_unlock(&c->mu);
}
