/* Server-Sent Events: the framing of an event, and one stream's bounded
 * queue (sse_client) between the feed that fills it (api_sse_hub.c) and the
 * connection that drains it (api_server.c, from MHD's content reader).
 * Knows no HTTP library: the connection is reached through sse_io, so the
 * queue, the framing and the slow-client cut-off are unit-tested with a
 * fake writer (tests/unit/test_api_sse.c).
 *
 * A slow client never makes memory grow: what is queued and not yet taken
 * by the connection is at most LIMIT bytes; a push that would pass it is
 * refused (the producer sends the rest later, from the store). A client
 * that stops reading with its queue full is cut off (sse_client_cut): the
 * queued events it has not started to receive are dropped, and a last
 * event tells it where to resume, with the id of the last event it
 * received whole ("id: N", "event: cutoff", data {"resume_from": N}); then
 * the stream ends. A browser's EventSource reconnects by itself with
 * Last-Event-ID: N and misses nothing. */
#ifndef TC_API_SSE_H
#define TC_API_SSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One piece of a stream's text, shared by every stream it is queued on
 * (reference-counted). SEQ: the event's id, 0 for a comment. */
typedef struct sse_chunk sse_chunk;

/* "id: ID\n[event: EVENT\n]data: DATA\n\n" (a line of DATA per line). */
sse_chunk *sse_event(int64_t id, const char *event, const char *data);
/* ": TEXT\n\n" (a comment: clients ignore it; it keeps the stream alive). */
sse_chunk *sse_comment(const char *text);
/* Raw text (e.g. "retry: 3000\n"); SEQ 0. */
sse_chunk *sse_text(const char *text);
void sse_chunk_unref(sse_chunk *c);
size_t sse_chunk_len(const sse_chunk *c);
int64_t sse_chunk_seq(const sse_chunk *c);
const char *sse_chunk_text(const sse_chunk *c);

/* How a stream reaches its connection: SUSPEND is called (under the
 * stream's lock) when the connection asks for data and there is none;
 * RESUME (outside it) when data comes for a suspended one. */
typedef struct sse_io {
    void (*suspend)(void *conn);
    void (*resume)(void *conn);
    void *conn;
} sse_io;

typedef enum sse_state { SSE_OPEN, SSE_CUT, SSE_CLOSING, SSE_GONE } sse_state;

typedef struct sse_client sse_client;

/* A stream resuming after SINCE (events up to SINCE are not sent), with at
 * most LIMIT bytes queued, made at NOW (monotonic ns, for heartbeats). One
 * reference, the caller's. */
sse_client *sse_client_new(int64_t since, size_t limit, int64_t now);
sse_client *sse_client_ref(sse_client *c);
void sse_client_unref(sse_client *c);
/* Connects the stream to its connection (before its first read); PEER
 * names the client in messages. */
void sse_client_bind(sse_client *c, const sse_io *io, const char *peer);

/* Queues CH (a reference is taken) at NOW when the stream is open: 0
 * queued, 1 full (it would pass the limit: nothing queued), -1 not open.
 * An event with an id advances the stream's cursor. */
int sse_client_push(sse_client *c, sse_chunk *ch, int64_t now);
/* Cuts an open stream off (see above). */
void sse_client_cut(sse_client *c);
/* When the client last made progress: took bytes from its queue, or had
 * nothing queued; NOW is stamped when it has since the last call. */
int64_t sse_client_progress(sse_client *c, int64_t now);
/* Bytes that can still be queued (0 when not open): paced producers ask
 * first. */
size_t sse_client_room(sse_client *c);
/* The cursor becomes SEQ when it is below: nothing at or below SEQ is left
 * to send (used when the store has no change between them). */
void sse_client_advance(sse_client *c, int64_t seq);

/* The connection's side: up to MAX bytes into BUF. >0: that many; 0:
 * nothing now (the connection was suspended through sse_io); -1: the
 * stream is over (after a cut-off's last event, or closing). */
ssize_t sse_client_read(sse_client *c, char *buf, size_t max);
/* The server is stopping: a last comment, then the end. */
void sse_client_close(sse_client *c);
/* The connection is over (the client left, or it was closed). */
void sse_client_gone(sse_client *c);

typedef struct sse_client_info {
    sse_state state;
    int64_t cursor;      /* the last id queued (or skipped by advance) */
    int64_t sent;        /* the last id taken whole by the connection */
    int64_t resume_from; /* a cut-off: the id it was told to resume from */
    size_t queued;       /* bytes queued, not yet taken */
    int64_t last_push_ns; /* the NOW of the last push */
    const char *peer;
} sse_client_info;
void sse_client_info_get(sse_client *c, sse_client_info *out);

#endif
