/* Server-Sent Events: the framing, one stream's bounded queue read by a
 * fake writer (suspend and resume counted), the cut-off of a slow client
 * (what it gets last, where it is told to resume, the memory bound), and
 * the hub over a fake store: one shared query for the streams that are up
 * to date, catching up paced by the queue, a slow stream cut off while the
 * others keep every change, heartbeats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_sse.h"
#include "api_sse_hub.h"
#include "util.h"

/* ---- a fake connection ---------------------------------------------------------------- */

typedef struct fake_conn {
    int suspended, suspends, resumes;
} fake_conn;

static void fake_suspend(void *c)
{
    fake_conn *f = c;
    assert_false(f->suspended); /* never twice without a resume between */
    f->suspended = 1;
    f->suspends++;
}

static void fake_resume(void *c)
{
    fake_conn *f = c;
    assert_true(f->suspended); /* only a suspended one (MHD's rule) */
    f->suspended = 0;
    f->resumes++;
}

static void bind_fake(sse_client *c, fake_conn *f)
{
    sse_io io = {fake_suspend, fake_resume, f};
    sse_client_bind(c, &io, "127.0.0.1:1");
}

/* Everything the stream has now, as the connection would take it in reads
 * of MAX bytes (MHD does not read a suspended one); *END: it is over. */
static char *drain(sse_client *c, const fake_conn *f, size_t max, int *end)
{
    strbuf b = {0};
    char buf[4096];
    *end = 0;
    while (!f->suspended) {
        ssize_t n = sse_client_read(c, buf, max < sizeof buf ? max : sizeof buf);
        if (n < 0)
            *end = 1;
        if (n <= 0)
            break;
        sb_append(&b, buf, (size_t)n);
    }
    if (!b.data)
        sb_append(&b, "", 0);
    return b.data;
}

static void push_event(sse_client *c, int64_t id, const char *data, int want)
{
    sse_chunk *e = sse_event(id, NULL, data);
    assert_int_equal(sse_client_push(c, e, 0), want);
    sse_chunk_unref(e);
}

/* ---- framing and the queue ------------------------------------------------------------ */

static void framing(void **state)
{
    (void)state;
    sse_chunk *e = sse_event(42, NULL, "{\"a\":1}");
    assert_string_equal(sse_chunk_text(e), "id: 42\ndata: {\"a\":1}\n\n");
    assert_int_equal(sse_chunk_seq(e), 42);
    sse_chunk_unref(e);
    e = sse_event(7, "cutoff", "line one\nline two\r\nthree");
    assert_string_equal(sse_chunk_text(e), "id: 7\nevent: cutoff\ndata: line one\ndata: line two\ndata: three\n\n");
    sse_chunk_unref(e);
    e = sse_comment("heartbeat");
    assert_string_equal(sse_chunk_text(e), ": heartbeat\n\n");
    assert_int_equal(sse_chunk_seq(e), 0);
    sse_chunk_unref(e);
}

static void queue_reads_suspends_resumes(void **state)
{
    (void)state;
    fake_conn f = {0};
    sse_client *c = sse_client_new(10, 4096, 0);
    bind_fake(c, &f);
    int end;
    char *got = drain(c, &f, 100, &end);
    assert_string_equal(got, "");
    free(got);
    assert_int_equal(f.suspends, 1); /* nothing to send: suspended */
    push_event(c, 11, "x", 0);
    assert_int_equal(f.resumes, 1); /* data came: resumed */
    push_event(c, 12, "y", 0);
    assert_int_equal(f.resumes, 1); /* not suspended: nothing to resume */
    got = drain(c, &f, 5, &end); /* in small reads, across events */
    assert_string_equal(got, "id: 11\ndata: x\n\nid: 12\ndata: y\n\n");
    assert_false(end);
    free(got);
    sse_client_info i;
    sse_client_info_get(c, &i);
    assert_int_equal(i.sent, 12);
    assert_int_equal(i.cursor, 12);
    assert_int_equal(i.queued, 0);
    assert_int_equal(f.suspends, 2);
    sse_client_close(c);
    assert_int_equal(f.resumes, 2);
    got = drain(c, &f, 100, &end);
    assert_non_null(strstr(got, ": the server is stopping"));
    assert_true(end);
    free(got);
    sse_client_unref(c);
}

/* A client that stops reading: its queue never passes the limit (a push
 * that would is refused); cut off, the events it had not started on are
 * dropped, it is told to resume after the last one it got whole, and the
 * stream ends. Progress is what it takes (or an empty queue). */
static void slow_client_cut_off(void **state)
{
    (void)state;
    fake_conn f = {0};
    const size_t limit = 1000;
    sse_client *c = sse_client_new(100, limit, 0);
    bind_fake(c, &f);
    char data[80];
    memset(data, 'd', sizeof data - 1);
    data[sizeof data - 1] = '\0';
    /* One event and a half taken by the connection. */
    push_event(c, 101, data, 0);
    push_event(c, 102, data, 0);
    char buf[512];
    size_t first = strlen("id: 101\ndata: \n\n") + strlen(data);
    assert_int_equal(sse_client_read(c, buf, first + 20), (ssize_t)(first + 20));
    assert_int_equal(sse_client_progress(c, 5), 5); /* it took bytes: progress */
    assert_int_equal(sse_client_progress(c, 9), 5); /* nothing since */
    int64_t id = 103, full_at = 0;
    for (; id < 200 && !full_at; id++) {
        sse_chunk *e = sse_event(id, NULL, data);
        int rc = sse_client_push(c, e, 0);
        sse_chunk_unref(e);
        if (rc == 1)
            full_at = id;
        else
            assert_int_equal(rc, 0);
        sse_client_info i;
        sse_client_info_get(c, &i);
        assert_true(i.queued <= limit); /* the bound */
    }
    assert_true(full_at > 103);
    sse_client_info i;
    sse_client_info_get(c, &i);
    assert_int_equal(i.state, SSE_OPEN);
    assert_int_equal(i.cursor, full_at - 1); /* the refused one comes later, from the store */
    assert_true(sse_client_room(c) < 100);
    sse_client_cut(c);
    push_event(c, 500, data, -1); /* nothing more once cut */
    sse_client_info_get(c, &i);
    assert_int_equal(i.state, SSE_CUT);
    assert_int_equal(i.resume_from, 102); /* 102 was started: it is finished first */
    int end;
    char *rest = drain(c, &f, 64, &end);
    assert_true(end);
    /* The rest of 102 (20 bytes of it were taken), the cut-off, no more. */
    char want[600];
    snprintf(want, sizeof want, "%s\n\nid: 102\nevent: cutoff\ndata: {\"resume_from\":102,\"reason\":\"the client read too "
             "slowly: reconnect with Last-Event-ID\"}\n\n", data + (20 - strlen("id: 102\ndata: ")));
    assert_string_equal(rest, want);
    free(rest);
    sse_client_unref(c);

    /* Cut before taking anything: resume where it started. */
    c = sse_client_new(7, 300, 0);
    f = (fake_conn){0};
    bind_fake(c, &f);
    int rc = 0;
    for (id = 8; rc == 0; id++) {
        sse_chunk *e = sse_event(id, NULL, data);
        rc = sse_client_push(c, e, 0);
        sse_chunk_unref(e);
    }
    assert_int_equal(rc, 1);
    sse_client_cut(c);
    assert_int_equal(f.resumes, 0); /* never suspended: nothing to resume */
    rest = drain(c, &f, 4096, &end);
    assert_true(end);
    assert_string_equal(rest, "id: 7\nevent: cutoff\ndata: {\"resume_from\":7,\"reason\":\"the client read too slowly: "
                              "reconnect with Last-Event-ID\"}\n\n");
    free(rest);
    sse_client_unref(c);
}

/* ---- the hub over a fake store --------------------------------------------------------- */

typedef struct fake_store {
    int64_t seq[4096]; /* the change_seq of token i (0: none) */
    size_t n;
    int64_t head;
    int queries, fail;
} fake_store;

static int fake_changes(void *be, int64_t since, size_t limit, store_change_cb cb, void *ctx, int64_t *head,
                        char *err, size_t errlen)
{
    fake_store *f = be;
    f->queries++;
    if (f->fail) {
        snprintf(err, errlen, "fake: down");
        return -1;
    }
    *head = f->head;
    /* In seq order: find the next above since, LIMIT times. */
    size_t got = 0;
    for (int64_t s = since + 1; s <= f->head && got < limit; s++)
        for (size_t i = 0; i < f->n; i++)
            if (f->seq[i] == s) {
                char addr[32];
                snprintf(addr, sizeof addr, "T%04zu", i);
                token_change c = {.seq = s, .address = addr, .status = STATUS_ENRICHED, .price_usd = (double)s};
                cb(ctx, &c);
                got++;
            }
    return 0;
}

static const store_backend fake_backend = {.name = "fake", .changes = fake_changes};

/* Token I changes: it takes the next seq. */
static void change(fake_store *f, size_t i)
{
    if (i >= f->n)
        f->n = i + 1;
    f->seq[i] = ++f->head;
}

static char *fmt_change(const token_change *c)
{
    char *s = xmalloc(64);
    snprintf(s, 64, "{\"seq\":%" PRId64 ",\"address\":\"%s\"}", c->seq, c->address);
    return s;
}

/* Event ids in TEXT, in order, into IDS; their count. */
static size_t ids_of(const char *text, int64_t *ids, size_t max)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "id: ")) && n < max; p += 4)
        if (p == text || p[-1] == '\n')
            ids[n++] = strtoll(p + 4, NULL, 10);
    return n;
}

static void hub_shares_catches_up_and_cuts(void **state)
{
    (void)state;
    fake_store fs = {0};
    store st = {.ops = &fake_backend, .be = &fs};
    for (size_t i = 0; i < 50; i++)
        change(&fs, i);
    sse_hub_opts o = {.poll_ns = NS_PER_MS, .heartbeat_ns = 15 * NS_PER_S, .buffer_bytes = 4096, .max_clients = 3,
                      .batch = 64};
    sse_hub *h = sse_hub_new(&st, &o, fmt_change);
    int64_t now = now_mono_ns(); /* the hub stamps joins with this clock */
    assert_int_equal(sse_hub_tick(h, now), 0); /* no stream: follows the head */
    sse_hub_stats s;
    sse_hub_stats_get(h, &s);
    assert_int_equal(s.cursor, 50);

    fake_conn fr = {0}, fs_ = {0}, fc = {0};
    sse_client *reader = sse_hub_join(h, 50), *slow = sse_hub_join(h, 50), *late = sse_hub_join(h, 0);
    assert_non_null(reader);
    assert_non_null(slow);
    assert_non_null(late);
    assert_null(sse_hub_join(h, 0)); /* max_clients */
    bind_fake(reader, &fr);
    bind_fake(slow, &fs_);
    bind_fake(late, &fc);

    strbuf got_reader = {0}, got_late = {0};
    int end;
    for (int round = 0; round < 60; round++) {
        for (int k = 0; k < 5; k++) /* 5 changes per round, some tokens again */
            change(&fs, (size_t)((round * 7 + k * 13) % 80));
        int q0 = fs.queries;
        assert_int_equal(sse_hub_tick(h, now += 50 * NS_PER_MS), 0); /* 3 s in all: past the stall time */
        if (round > 20) /* the late one has caught up: one query serves all */
            assert_int_equal(fs.queries - q0, 1);
        char *r = drain(reader, &fr, 1000, &end);
        sb_appends(&got_reader, r);
        free(r);
        r = drain(late, &fc, 300, &end); /* reads a little each round */
        sb_appends(&got_late, r);
        free(r);
        assert_false(end);
    }
    sse_client_info si;
    sse_client_info_get(slow, &si);
    assert_int_equal(si.state, SSE_CUT);
    assert_int_equal(si.resume_from, 50);
    sse_hub_stats_get(h, &s);
    assert_int_equal(s.cut_off, 1);
    assert_int_equal(s.cursor, fs.head);

    /* The reader got every change after 50, each once, in order: what the
     * store holds now is the last event of each token. */
    int64_t ids[8192];
    size_t n = ids_of(got_reader.data, ids, 8192);
    assert_int_equal(n, (size_t)(fs.head - 50)); /* every change after 50 */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], 51 + (int64_t)i);
    /* The late one (from 0, catching up in small steps, never cut): ids
     * rise, and every token's current seq is among them. */
    n = ids_of(got_late.data, ids, 8192);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i] > ids[i - 1]);
    for (size_t t = 0; t < fs.n; t++) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++)
            found = ids[i] == fs.seq[t];
        if (!found)
            fail_msg("token %zu (seq %" PRId64 ") never reached the late stream", t, fs.seq[t]);
    }
    sse_client_info_get(late, &si);
    assert_int_equal(si.state, SSE_OPEN);

    /* Heartbeats: nothing for 15 s, a comment. */
    assert_int_equal(sse_hub_tick(h, now + 16 * NS_PER_S), 0);
    char *r = drain(reader, &fr, 4096, &end);
    assert_non_null(strstr(r, ": heartbeat\n\n"));
    free(r);
    /* The store down: a round fails, nothing queued; then it goes on. */
    fs.fail = 1;
    change(&fs, 3);
    assert_int_equal(sse_hub_tick(h, now += NS_PER_MS), -1);
    fs.fail = 0;
    assert_int_equal(sse_hub_tick(h, now += NS_PER_MS), 0);
    r = drain(reader, &fr, 4096, &end);
    char want[32];
    snprintf(want, sizeof want, "id: %" PRId64 "\n", fs.head);
    assert_non_null(strstr(r, want));
    free(r);

    /* A stream that leaves frees its place. */
    sse_client_gone(slow);
    sse_hub_tick(h, now += NS_PER_MS);
    sse_client *again = sse_hub_join(h, fs.head);
    assert_non_null(again);
    sse_hub_stop(h);
    r = drain(reader, &fr, 4096, &end);
    assert_true(end); /* closed by the stop */
    free(r);
    sb_free(&got_reader);
    sb_free(&got_late);
    sse_client_unref(reader);
    sse_client_unref(slow);
    sse_client_unref(late);
    sse_client_unref(again);
    sse_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing),
        cmocka_unit_test(queue_reads_suspends_resumes),
        cmocka_unit_test(slow_client_cut_off),
        cmocka_unit_test(hub_shares_catches_up_and_cuts),
    };
    return cmocka_run_group_tests_name("api_sse", tests, NULL, NULL);
}
