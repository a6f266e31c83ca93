/* The change feed's streams (GET /api/v3/tokens/changes with Accept:
 * text/event-stream): one thread that polls the store and fills every
 * stream's queue (api_sse.h).
 *
 * Polling: every poll interval ONE query (changes above the hub's cursor)
 * serves every stream that is up to date, whatever their number: a hundred
 * browser tabs cost the store what one does, and an idle store answers an
 * index probe that finds nothing. A stream that resumes from an older id
 * (Last-Event-ID, since) catches up with queries of its own, each only as
 * large as its queue has room for, until it reaches the hub's cursor and
 * joins the shared query. Each event is framed once and shared by the
 * streams it is queued on.
 *
 * A round queues at most `batch` events on a stream (about a quarter of
 * its queue), and never more than fits: a stream whose queue is full is
 * left behind and catches up from the store once its client has taken
 * some (a client slower than the changes only falls behind, missing
 * nothing). A client that takes nothing from its full queue for the stall
 * time (2 s) has stopped reading: it is cut off with the id to resume from
 * (api_sse.h). A stream with nothing to send for the heartbeat interval
 * gets a comment line. */
#ifndef TC_API_SSE_HUB_H
#define TC_API_SSE_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "api_sse.h"
#include "store.h"
#include "util.h"

typedef struct sse_hub sse_hub;

#define SSE_STALL_NS (2 * NS_PER_S)

typedef struct sse_hub_opts {
    int64_t poll_ns, heartbeat_ns;
    size_t buffer_bytes; /* each stream's queue limit */
    size_t max_clients;  /* 0: streams refused */
    size_t batch;        /* changes per query (0: buffer_bytes / 1024, 4..256) */
    int64_t stall_ns;    /* a full stream whose client takes nothing this long is cut off (0: SSE_STALL_NS) */
} sse_hub_opts;

/* An event's data: the change as JSON (malloc'd). */
typedef char *(*sse_format_fn)(const token_change *c);

/* ST: the hub's own store connection (kept; closed by the caller after
 * sse_hub_free). */
sse_hub *sse_hub_new(store *st, const sse_hub_opts *o, sse_format_fn fmt);
/* Starts the polling thread. 0, or -1. */
int sse_hub_start(sse_hub *h);
/* Stops the thread and closes every stream (each gets a last comment). */
void sse_hub_stop(sse_hub *h);
void sse_hub_free(sse_hub *h);

/* A new stream resuming after SINCE; NULL when max_clients streams are
 * open. The caller gets a reference (the hub keeps its own). */
sse_client *sse_hub_join(sse_hub *h, int64_t since);

/* One round at NOW (monotonic ns): what the thread does every poll
 * interval (tests call it directly). 0, or -1 when the store failed (then
 * nothing was queued and the next round tries again). */
int sse_hub_tick(sse_hub *h, int64_t now);

typedef struct sse_hub_stats {
    size_t streams;    /* open now */
    uint64_t joined;   /* since the start */
    uint64_t cut_off;  /* streams cut off for reading too slowly */
    uint64_t events;   /* events queued, over every stream */
    int64_t cursor;    /* the hub's: every change up to it is queued */
} sse_hub_stats;
void sse_hub_stats_get(sse_hub *h, sse_hub_stats *out);

#endif
