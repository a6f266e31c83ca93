/*
 * The fake upstream's state (see fake_state.h): the clock, the PRNGs, the
 * sliding rate windows, the per-address counts, the admission decision of
 * each arrival (faults, limits) and the fault settings.
 */
#include "fake_state.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_HANG_MS 30000u
#define DEFAULT_RETRY_AFTER_S 1u

/* ------------------------------------------------------------------ time */

int64_t fake_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fake_sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ PRNG */

static uint64_t prng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double prng_unit(uint64_t *state) /* uniform in [0, 1) */
{
    return (double)(prng_next(state) >> 11) * 0x1.0p-53;
}

static int ts_push(ts_queue *q, int64_t t)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        int64_t *items = malloc(cap * sizeof *items);
        if (!items)
            return -1;
        for (size_t i = 0; i < q->len; i++)
            items[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = items;
        q->cap = cap;
        q->head = 0;
    }
    q->items[(q->head + q->len) % q->cap] = t;
    q->len++;
    return 0;
}

static int64_t ts_front(const ts_queue *q)
{
    return q->items[q->head];
}

/* Keep only timestamps inside the window (now - window, now]. */
static void ts_drop_outside(ts_queue *q, int64_t now, int64_t window)
{
    while (q->len && q->items[q->head] <= now - window) {
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
}

static void ts_free(ts_queue *q)
{
    free(q->items);
    memset(q, 0, sizeof *q);
}

static int addr_counts_grow(addr_counts *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *counts = calloc(cap, sizeof *counts);
    if (!keys || !counts) {
        free(keys);
        free(counts);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = (size_t)(m->keys[i] & (cap - 1));
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        counts[j] = m->counts[i];
    }
    free(m->keys);
    free(m->counts);
    m->keys = keys;
    m->counts = counts;
    m->cap = cap;
    return 0;
}

static void addr_counts_add(addr_counts *m, const char *addr)
{
    if ((m->len + 1) * 10 > m->cap * 7 && addr_counts_grow(m) != 0)
        return; /* out of memory: the statistic becomes approximate */
    uint64_t key = fake_hash(addr, 0x57a7);
    if (!key)
        key = 1;
    size_t j = (size_t)(key & (m->cap - 1));
    while (m->keys[j] && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) {
        m->keys[j] = key;
        m->len++;
    }
    if (++m->counts[j] > m->max_count)
        m->max_count = m->counts[j];
}

static void addr_counts_free(addr_counts *m)
{
    free(m->keys);
    free(m->counts);
    memset(m, 0, sizeof *m);
}

static void faults_default(source_faults *f)
{
    memset(f, 0, sizeof *f);
    f->retry_after_s = DEFAULT_RETRY_AFTER_S;
    f->hang_ms = DEFAULT_HANG_MS;
}

void reset_counters_locked(server *srv)
{
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        source_state *st = &srv->src[s];
        st->accepted.len = st->arrivals.len = 0;
        st->requests = st->ok = st->status_429 = st->status_4xx = st->status_5xx = 0;
        st->addresses = st->faults_injected = st->max_in_window = 0;
        addr_counts_free(&st->per_address);
    }
    /* Reseed, so that a test phase after /_reset sees the same fault sequence. */
    srv->fault_rng = srv->opt.seed;
    srv->latency_rng = srv->opt.seed ^ 0xa5a5a5a5a5a5a5a5ULL;
    srv->started_ns = fake_monotonic_ns();
}

int fake_source_by_name(const char *name, fake_source *out)
{
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        if (strcmp(name, fake_source_name((fake_source)s)) == 0) {
            *out = (fake_source)s;
            return 0;
        }
    }
    return -1;
}

static unsigned ceil_seconds(int64_t ns)
{
    int64_t s = (ns + 999999999) / 1000000000;
    return s < 1 ? 1u : (unsigned)s;
}

admission admit(server *srv, fake_source source, int valid, const char *const *addrs, size_t n)
{
    admission a;
    memset(&a, 0, sizeof a);
    pthread_mutex_lock(&srv->lock);
    source_state *st = &srv->src[source];
    const source_faults *f = &st->faults;
    int64_t now = fake_monotonic_ns();

    st->requests++;
    ts_drop_outside(&st->arrivals, now, st->window_ns);
    if (ts_push(&st->arrivals, now) == 0 && st->arrivals.len > st->max_in_window)
        st->max_in_window = st->arrivals.len;

    unsigned spread = srv->opt.latency_max_ms - srv->opt.latency_min_ms;
    a.latency_ms = srv->opt.latency_min_ms +
                   (spread ? (unsigned)(prng_next(&srv->latency_rng) % (spread + 1)) : 0);
    a.latency_ms += f->slow_ms;
    a.echo = f->echo;
    a.hostile = f->hostile;

    ts_drop_outside(&st->accepted, now, st->window_ns);
    if (f->down) {
        a.verdict = VERDICT_DOWN;
        st->faults_injected++;
    } else if (f->next429 > 0 || (f->rate429 > 0 && prng_unit(&srv->fault_rng) < f->rate429)) {
        if (f->next429 > 0)
            st->faults.next429--;
        a.verdict = VERDICT_FORCED_429;
        a.retry_after_s = f->retry_after_s;
        st->faults_injected++;
    } else if (st->accepted.len >= st->limit) {
        a.verdict = VERDICT_LIMITED; /* rejected: not added to the window */
        a.retry_after_s = ceil_seconds(ts_front(&st->accepted) + st->window_ns - now);
    } else {
        if (ts_push(&st->accepted, now) != 0) /* out of memory: serve, uncounted */
            fprintf(stderr, "fakeapi: out of memory in the rate window\n");
        a.verdict = valid ? VERDICT_SERVE : VERDICT_BAD_REQUEST;
    }

    a.in_window = st->accepted.len;
    a.remaining = (long)st->limit - (long)st->accepted.len;
    a.reset_unix = (long long)time(NULL) +
                   (st->accepted.len ? ceil_seconds(ts_front(&st->accepted) + st->window_ns - now) : 0);

    if (a.verdict == VERDICT_SERVE) {
        st->addresses += n;
        for (size_t i = 0; i < n; i++)
            addr_counts_add(&st->per_address, addrs[i]);
        /* One draw decides the body fault: cumulative bands of the rates. */
        double r = prng_unit(&srv->fault_rng);
        double edge = f->error_rate;
        if (r < edge) {
            a.fault = FAULT_ERROR;
            a.error_status = (prng_next(&srv->fault_rng) & 1) ? 503 : 500;
        } else if (r < (edge += f->timeout_rate)) {
            a.fault = FAULT_TIMEOUT;
            a.hang_ms = f->hang_ms;
        } else if (r < (edge += f->truncate_rate)) {
            a.fault = FAULT_TRUNCATE;
        } else if (r < (edge += f->malformed_rate)) {
            a.fault = FAULT_MALFORMED;
        }
        if (a.fault != FAULT_NONE)
            st->faults_injected++;
    }
    pthread_mutex_unlock(&srv->lock);
    return a;
}

void record_outcome(server *srv, fake_source source, unsigned status, int ok)
{
    pthread_mutex_lock(&srv->lock);
    source_state *st = &srv->src[source];
    if (ok)
        st->ok++;
    if (status == 429)
        st->status_429++;
    else if (status >= 400 && status < 500)
        st->status_4xx++;
    else if (status >= 500)
        st->status_5xx++;
    pthread_mutex_unlock(&srv->lock);
}

static int parse_rate(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= 0.0 && d <= 1.0))
        return -1;
    *out = d;
    return 0;
}

int fake_parse_uint(const char *v, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long u = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || u > max)
        return -1;
    *out = (unsigned)u;
    return 0;
}

int fault_update_arg(fault_update *u, const char *key, const char *value)
{
    const char *v = value ? value : "";
    int bad = 0;
    unsigned flag;
    if (strcmp(key, "source") == 0) {
        u->has_source = 1;
        if (strcmp(v, "all") == 0)
            u->all_sources = 1;
        else
            bad = fake_source_by_name(v, &u->source);
    } else if (strcmp(key, "error_rate") == 0) {
        bad = parse_rate(v, &u->values.error_rate), u->set_error = 1;
    } else if (strcmp(key, "timeout_rate") == 0) {
        bad = parse_rate(v, &u->values.timeout_rate), u->set_timeout = 1;
    } else if (strcmp(key, "truncate_rate") == 0) {
        bad = parse_rate(v, &u->values.truncate_rate), u->set_truncate = 1;
    } else if (strcmp(key, "malformed_rate") == 0) {
        bad = parse_rate(v, &u->values.malformed_rate), u->set_malformed = 1;
    } else if (strcmp(key, "rate429") == 0) {
        bad = parse_rate(v, &u->values.rate429), u->set_rate429 = 1;
    } else if (strcmp(key, "next429") == 0) {
        bad = fake_parse_uint(v, 1000000, &u->values.next429), u->set_next429 = 1;
    } else if (strcmp(key, "retry_after") == 0) {
        bad = fake_parse_uint(v, 86400, &u->values.retry_after_s), u->set_retry_after = 1;
    } else if (strcmp(key, "hang_ms") == 0) {
        bad = fake_parse_uint(v, 3600000, &u->values.hang_ms), u->set_hang = 1;
    } else if (strcmp(key, "down") == 0) {
        bad = fake_parse_uint(v, 1, &flag), u->values.down = (int)flag, u->set_down = 1;
    } else if (strcmp(key, "echo") == 0) {
        bad = fake_parse_uint(v, 1, &flag), u->values.echo = (int)flag, u->set_echo = 1;
    } else if (strcmp(key, "slow_ms") == 0) {
        bad = fake_parse_uint(v, 600000, &u->values.slow_ms), u->set_slow = 1;
    } else if (strcmp(key, "hostile") == 0) {
        bad = fake_parse_uint(v, 1, &flag), u->values.hostile = (int)flag, u->set_hostile = 1;
    } else if (strcmp(key, "clear") == 0) {
        bad = fake_parse_uint(v, 1, &flag), u->clear = (int)flag;
    } else {
        snprintf(u->message, sizeof u->message, "unknown key '%.60s'", key);
        u->error = 1;
        return -1;
    }
    if (bad) {
        snprintf(u->message, sizeof u->message, "bad value for '%.40s': '%.60s'", key, v);
        u->error = 1;
        return -1;
    }
    return 0;
}

static void apply_faults(source_faults *f, const fault_update *u)
{
    if (u->clear)
        faults_default(f);
    if (u->set_error) f->error_rate = u->values.error_rate;
    if (u->set_timeout) f->timeout_rate = u->values.timeout_rate;
    if (u->set_truncate) f->truncate_rate = u->values.truncate_rate;
    if (u->set_malformed) f->malformed_rate = u->values.malformed_rate;
    if (u->set_rate429) f->rate429 = u->values.rate429;
    if (u->set_retry_after) f->retry_after_s = u->values.retry_after_s;
    if (u->set_hang) f->hang_ms = u->values.hang_ms;
    if (u->set_down) f->down = u->values.down;
    if (u->set_next429) f->next429 = u->values.next429;
    if (u->set_echo) f->echo = u->values.echo;
    if (u->set_slow) f->slow_ms = u->values.slow_ms;
    if (u->set_hostile) f->hostile = u->values.hostile;
}


int fault_update_apply(server *srv, fault_update *u)
{
    if (!u->error && !u->has_source) {
        snprintf(u->message, sizeof u->message, "source=NAME (jupiter, helius, dexscreener or all) is required");
        u->error = 1;
    }
    if (u->error)
        return -1;
    pthread_mutex_lock(&srv->lock);
    for (int s = 0; s < FAKE_NSOURCES; s++)
        if (u->all_sources || (fake_source)s == u->source)
            apply_faults(&srv->src[s].faults, u);
    pthread_mutex_unlock(&srv->lock);
    return 0;
}

void stats_snapshot_locked(const server *srv, fake_source source, fake_source_stats *out)
{
    const source_state *st = &srv->src[source];
    out->requests = st->requests;
    out->ok = st->ok;
    out->status_429 = st->status_429;
    out->status_4xx = st->status_4xx;
    out->status_5xx = st->status_5xx;
    out->addresses = st->addresses;
    out->distinct_addresses = st->per_address.len;
    out->max_requests_per_address = st->per_address.max_count;
    out->max_in_window = st->max_in_window;
    out->faults_injected = st->faults_injected;
    out->limit = st->limit;
    out->window_ms = (double)st->window_ns / 1e6;
}

/* ------------------------------------------------------------- lifetime */

void fake_server_options_default(fake_server_options *o)
{
    memset(o, 0, sizeof *o);
    fake_profile_default(&o->profile);
    /* Published free-tier limits (docs/upstream-apis.md). */
    o->limit[FAKE_JUPITER] = 60;
    o->window_ms[FAKE_JUPITER] = 60000;
    o->limit[FAKE_HELIUS] = 2;
    o->window_ms[FAKE_HELIUS] = 1000;
    o->limit[FAKE_DEXSCREENER] = 300;
    o->window_ms[FAKE_DEXSCREENER] = 60000;
    o->scale = 1.0;
    o->seed = 1;
}

void fake_state_init(server *srv, const fake_server_options *o)
{
    memset(srv, 0, sizeof *srv);
    pthread_mutex_init(&srv->lock, NULL);
    srv->opt = *o;
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        source_state *st = &srv->src[s];
        st->limit = o->limit[s];
        st->window_ms = o->window_ms[s];
        int64_t ns = llround(st->window_ms * 1e6 / o->scale);
        st->window_ns = ns > 0 ? ns : 1;
        faults_default(&st->faults);
    }
    atomic_init(&srv->stopping, 0);
    reset_counters_locked(srv); /* seeds the PRNGs; no threads yet */
}

void fake_state_free(server *srv)
{
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        ts_free(&srv->src[s].accepted);
        ts_free(&srv->src[s].arrivals);
        addr_counts_free(&srv->src[s].per_address);
    }
    pthread_mutex_destroy(&srv->lock);
}
