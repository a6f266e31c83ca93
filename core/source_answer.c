/* What an answer to a chunk means, one function per outcome class:
 *   transport failure, 429, 408 / 5xx   (judged from the HTTP result alone)
 *   parsed OK, RETRY, FATAL             (the plugin's verdict; a FATAL on a
 *                                        4xx counts as the client's error)
 * Each feeds the breaker and the limiter what it should learn and decides
 * the chunk's fate. Must not send anything (source_runtime.c does) nor touch
 * batches: tokens leave through engine_settle() only. */
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "emit.h"
#include "json_arena.h"
#include "engine_internal.h"
#include "log.h"
#include "metrics.h"
#include "plugin_guard.h"
#include "secrets.h"
#include "source_chunk.h"
#include "text_clean.h"
#include "util.h"

/* A chunk answered 429 this many times in a row is given up for this pass. */
#define MAX_THROTTLED_RESENDS 50

/* Feeds one answer to the source's breaker and logs state changes. */
static void breaker_note(source_rt *s, int success)
{
    int64_t now = now_mono_ns();
    breaker_state before = breaker_state_at(&s->brk, now);
    breaker_record(&s->brk, now, success);
    breaker_state after = s->brk.state;
    if (after == before)
        return;
    if (after == BREAKER_OPEN)
        LOG_WARN(s->inst->name, "circuit breaker opened for %lld s: its tokens stay owed and are retried later",
                 (long long)(s->brk.open_period_ns / NS_PER_S));
    else
        LOG_INFO(s->inst->name, "circuit breaker %s", breaker_state_name(after));
}

static void excerpt(char *out, size_t outlen, const char *body, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < outlen && n < 100; i++)
        out[n++] = (body[i] >= 32 && body[i] < 127) ? body[i] : ' ';
    out[n] = '\0';
}

/* Whatever the answer: the request is no longer in flight, and the daemon's
 * metrics see its latency and whether it failed. */
static void note_answer(chunk *c, const http_result *r, int64_t now)
{
    source_rt *s = c->src;
    metrics *m = c->env->m;
    s->in_flight--;
    inflight_note(&s->flow, now - c->sent_ns, now);
    if (!m)
        return;
    metrics_latency(m, s->index, now - c->sent_ns);
    if (r->status == 429)
        metrics_count(m, s->index, MC_THROTTLED, 1);
    else if (r->error != HTTP_OK || r->status >= 400)
        metrics_count(m, s->index, MC_FAILURES, 1);
}

/* ---- judged from the HTTP result ---------------------------------------------- */

static void on_transport_failure(chunk *c, const http_result *r)
{
    c->src->stats.fail_transport++;
    breaker_note(c->src, 0);
    char why[400];
    snprintf(why, sizeof why, "%s error: %s", http_error_name(r->error), r->message);
    chunk_transient_failure(c, why, 0);
}

static void on_throttled(chunk *c, const http_result *r, int64_t now)
{
    source_rt *s = c->src;
    s->stats.throttled++;
    breaker_cancel(&s->brk); /* throttling is the limiter's business, not a fault */
    int64_t pause = throttle_pause_ns(r->retry_after_s);
    LOG_WARN(s->inst->name, "HTTP 429 (Retry-After %ld s): pausing limiter %s for %lld ms", r->retry_after_s,
             s->lim ? s->lim->name : "(none)", (long long)(pause / NS_PER_MS));
    if (s->lim) {
        limiter_pause(s->lim, now, pause);
        limiter_throttled(s->lim, now);
    }
    if (++c->throttled > MAX_THROTTLED_RESENDS) {
        chunk_give_up(c, "HTTP 429 on every attempt");
        return;
    }
    /* Not a failed attempt: the chunk goes again once the pause ends. */
    chunk_retry_at(c, now + pause);
}

/* 408 and 5xx: the upstream failed this time; worth another try. */
static void on_transient_status(chunk *c, const http_result *r)
{
    c->throttled = 0; /* a run of 429s ends with any other answer */
    c->src->stats.fail_5xx++;
    breaker_note(c->src, 0);
    /* A secret the body echoes is replaced before the excerpt could cut it
     * in half (a half key would pass the scrub). */
    char head[1024], body[128], why[400];
    size_t n = r->body_len < sizeof head ? r->body_len : sizeof head;
    memcpy(head, r->body ? r->body : "", r->body ? n : 0);
    n = secrets_scrub_len(head, r->body ? n : 0);
    excerpt(body, sizeof body, head, n);
    snprintf(why, sizeof why, "HTTP %ld: %s", r->status, body);
    chunk_transient_failure(c, why, 0);
}

/* An isolated plugin's process crashed, hung or is restarting before the
 * request was built: like a transport failure, retried and counted. */
void chunk_plugin_failed(chunk *c, const char *why)
{
    breaker_note(c->src, 0);
    chunk_transient_failure(c, why, 0);
}

/* ---- the plugin's verdict ----------------------------------------------------- */

static void on_parsed_ok(chunk *c, int64_t now)
{
    source_rt *s = c->src;
    s->stats.ok++;
    if (s->lim)
        limiter_answered(s->lim, now);
    for (size_t i = 0; i < c->n; i++) {
        token_state *t = c->tokens[i];
        engine_settle(c->env->m, s, t, t->values[s->index].known ? OUTCOME_FOUND : OUTCOME_MISSING, NULL);
    }
    chunk_free(c);
}

/* TC_RETRY: tried again, no sooner than the plugin says the upstream asked. */
static void on_parse_retry(chunk *c, const char *why, int32_t retry_after_ms)
{
    c->src->stats.fail_parse++;
    int64_t asked = retry_after_ms > 0 ? retry_after_ms * NS_PER_MS : 0;
    if (asked > BACKOFF_MAX_PAUSE_S * NS_PER_S)
        asked = BACKOFF_MAX_PAUSE_S * NS_PER_S;
    chunk_transient_failure(c, why, asked);
}

/* TC_FATAL on a 4xx other than 408 / 429: the request itself is wrong. */
static void on_client_error(chunk *c, const char *why)
{
    c->src->stats.fail_4xx++;
    chunk_fail(c, why);
}

/* TC_FATAL on any other status: the plugin rejects the answer for good. */
static void on_parse_fatal(chunk *c, const char *why)
{
    c->src->stats.fail_parse++;
    chunk_fail(c, why);
}

/* Runs the plugin's parser over R; what it emits lands in the chunk's tokens. */
static tc_status parse_chunk(chunk *c, const http_result *r, tc_outcome *outcome)
{
    /* One \u0000 or lone surrogate must not cost the whole chunk (a strict
     * parser refuses the body): rewritten to \ufffd in the transfer's own
     * buffer (http.c), which nothing reads after this callback. */
    size_t escapes = r->body ? text_fix_json_escapes((char *)r->body, r->body_len) : 0;
    if (escapes)
        LOG_INFO(c->src->inst->name, "%zu \\u0000 or lone surrogate escapes in the answer replaced by U+FFFD",
                 escapes);
    tc_response resp = {.struct_size = sizeof resp,
                        .status = r->status,
                        .body = r->body,
                        .body_len = r->body_len,
                        .content_type = r->content_type};
    emit_ctx x;
    tc_emit out;
    /* The chunk's own instance: during a hot swap it may not be the source's current one. */
    emit_open(&x, c->tokens, c->n, c->src->index, c->inst->vt->version, &out);
    json_arena_install();
    plugin_guard_enter(c->inst->vt->name, c->inst->name, "parse_response");
    json_arena_begin(); /* the plugin's cJSON tree: freed at once, below */
    tc_status st = c->inst->vt->parse_response(c->inst->self, c->addrs, c->n, &resp, &out, outcome);
    json_arena_end();
    plugin_guard_leave();
    emit_close(&x);
    if (x.rejected)
        LOG_DEBUG(c->src->inst->name, "%llu values rejected (unknown address, wrong field type or bad extra key)",
                  (unsigned long long)x.rejected);
    if (x.over_bounds)
        LOG_DEBUG(c->src->inst->name, "%llu extras rejected (over %d per token or a string over %d bytes)",
                  (unsigned long long)x.over_bounds, TC_EXTRA_MAX, TC_EXTRA_STR_MAX);
    if (x.cleaned)
        LOG_WARN(c->src->inst->name, "%llu values cleaned (control characters, invalid UTF-8, over their limit; "
                 "%llu left empty and dropped), the first: %s", (unsigned long long)x.cleaned,
                 (unsigned long long)x.dropped, x.first_cleaned);
    outcome->message[sizeof outcome->message - 1] = '\0';
    return st;
}

/* Every answer but a transport failure, 429, 408 or 5xx goes to the plugin
 * (a 4xx too: a plugin may read "not found" in it). */
static void on_parsed(chunk *c, const http_result *r, int64_t now)
{
    source_rt *s = c->src;
    c->throttled = 0; /* a run of 429s ends with any other answer */
    if (s->lim && r->status >= 200 && r->status < 300) {
        /* The upstream says its window is used up: wait for its reset rather
         * than spend a request on a 429. */
        int64_t pause = ratelimit_pause_ns(r->ratelimit_remaining, r->ratelimit_reset, now_wall_s());
        if (pause > 0)
            limiter_pause(s->lim, now, pause);
    }
    tc_outcome outcome = {.struct_size = sizeof outcome, .retry_after_ms = -1};
    tc_status st = parse_chunk(c, r, &outcome);
    breaker_note(s, st == TC_OK);
    if (st == TC_OK) {
        on_parsed_ok(c, now);
        return;
    }
    emit_discard(c->tokens, c->n, s->index);
    if (c->env->m && r->status < 400)
        metrics_count(c->env->m, s->index, MC_FAILURES, 1); /* a 4xx was counted in note_answer */
    char why[400];
    snprintf(why, sizeof why, "HTTP %ld, %s: %s", r->status, st == TC_RETRY ? "unusable response" : "rejected",
             outcome.message[0] ? outcome.message : "(no reason given by the plugin)");
    if (st == TC_RETRY)
        on_parse_retry(c, why, outcome.retry_after_ms);
    else if (r->status >= 400)
        on_client_error(c, why);
    else
        on_parse_fatal(c, why);
}

void chunk_on_response(void *user, const http_result *r)
{
    chunk *c = user;
    int64_t now = now_mono_ns();
    note_answer(c, r, now);
    if (r->error != HTTP_OK)
        on_transport_failure(c, r);
    else if (r->status == 429)
        on_throttled(c, r, now);
    else if (r->status >= 500 || r->status == 408)
        on_transient_status(c, r);
    else
        on_parsed(c, r, now);
}
