#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- histogram ---- */

void hist_reset(metrics_hist *h)
{
    memset(h, 0, sizeof *h);
}

static int log2_floor(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

int hist_bucket_of(int64_t us)
{
    if (us < HIST_LINEAR)
        return us < 0 ? 0 : (int)us;
    int e = log2_floor((uint64_t)us); /* >= 4 */
    if (e >= 40)
        return HIST_BUCKETS - 1;
    int sub = (int)(((uint64_t)us >> (e - 3)) & (HIST_SUB - 1));
    return HIST_LINEAR + (e - 4) * HIST_SUB + sub;
}

void hist_bucket_bounds(int b, int64_t *lo_us, int64_t *hi_us)
{
    if (b < HIST_LINEAR) {
        *lo_us = b;
        *hi_us = b + 1;
        return;
    }
    int e = (b - HIST_LINEAR) / HIST_SUB + 4, sub = (b - HIST_LINEAR) % HIST_SUB;
    *lo_us = (int64_t)(HIST_SUB + sub) << (e - 3);
    *hi_us = (int64_t)(HIST_SUB + sub + 1) << (e - 3);
}

void hist_add(metrics_hist *h, int64_t ns)
{
    int64_t us = ns > 0 ? ns / 1000 : 0;
    h->bucket[hist_bucket_of(us)]++;
    if (h->n == 0 || us < h->min_us)
        h->min_us = us;
    if (h->n == 0 || us > h->max_us)
        h->max_us = us;
    h->n++;
    h->sum_us += (double)us;
}

int64_t hist_quantile_ns(const metrics_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n); /* nearest rank */
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    int b = 0;
    for (; b < HIST_BUCKETS - 1; b++) {
        seen += h->bucket[b];
        if (seen >= rank)
            break;
    }
    int64_t lo, hi;
    hist_bucket_bounds(b, &lo, &hi);
    /* The middle of the bucket halves the worst case; a one-value bucket
     * (below 16 us) is exact. The true min/max bound it either way. */
    int64_t v = b < HIST_LINEAR ? lo : lo + (hi - lo) / 2;
    if (v < h->min_us)
        v = h->min_us;
    if (v > h->max_us)
        v = h->max_us;
    return v * 1000;
}

void hist_merge(metrics_hist *into, const metrics_hist *from)
{
    if (from->n == 0)
        return;
    for (int b = 0; b < HIST_BUCKETS; b++)
        into->bucket[b] += from->bucket[b];
    if (into->n == 0 || from->min_us < into->min_us)
        into->min_us = from->min_us;
    if (into->n == 0 || from->max_us > into->max_us)
        into->max_us = from->max_us;
    into->n += from->n;
    into->sum_us += from->sum_us;
}

/* ---- cumulative histograms ---- */

/* From a millisecond to ten minutes: requests, waits, commits and lag. */
const double metrics_bounds_s[METRICS_BOUNDS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                 1,     2.5,    5,     10,   30,    60,   120,  300,  600};

void cum_add(metrics_cum *h, int64_t ns)
{
    double s = ns > 0 ? (double)ns / 1e9 : 0;
    int b = 0;
    while (b < METRICS_BOUNDS && s > metrics_bounds_s[b])
        b++;
    h->bucket[b]++;
    h->n++;
    h->sum_s += s;
}

const char *metrics_store_op_name(metrics_store_op op)
{
    static const char *const names[MS_OPS] = {"commit", "claim", "scan", "release"};
    return op >= 0 && op < MS_OPS ? names[op] : "?";
}

/* ---- counters ---- */

static const struct {
    const char *name;
    int rollup; /* a source's count is also an overall count */
} counter_info[MC_COUNTERS] = {
    [MC_TOKENS] = {"tokens", 0},   [MC_REQUESTS] = {"requests", 1}, [MC_FAILURES] = {"failures", 1},
    [MC_THROTTLED] = {"throttled", 1}, [MC_RETRIES] = {"retries", 1},   [MC_BATCHES] = {"batches", 0},
};

const char *metrics_counter_name(metrics_counter c)
{
    return c >= 0 && c < MC_COUNTERS ? counter_info[c].name : "?";
}

static void window_start(metrics_window *w, int64_t now_ns)
{
    memset(w, 0, sizeof *w);
    w->start_ns = w->end_ns = now_ns;
}

metrics *metrics_new(const char *const *names, size_t n_sources, int64_t now_ns)
{
    metrics *m = xcalloc(1, sizeof *m);
    m->n_sources = n_sources;
    m->scope = xcalloc(n_sources + 1, sizeof *m->scope);
    for (size_t i = 0; i <= n_sources; i++) {
        const char *name = i < n_sources ? names[i] : "all";
        snprintf(m->scope[i].name, sizeof m->scope[i].name, "%s", name ? name : "?");
        window_start(&m->scope[i].cur, now_ns);
        window_start(&m->scope[i].last, now_ns);
    }
    return m;
}

void metrics_add_source(metrics *m, const char *name)
{
    m->scope = xrealloc(m->scope, (m->n_sources + 2) * sizeof *m->scope);
    m->scope[m->n_sources + 1] = m->scope[m->n_sources]; /* "all" moves up one */
    metrics_scope *s = &m->scope[m->n_sources];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->cur.start_ns = s->cur.end_ns = m->scope[m->n_sources + 1].cur.start_ns;
    s->last.start_ns = s->last.end_ns = m->scope[m->n_sources + 1].last.start_ns;
    m->n_sources++;
}

void metrics_free(metrics *m)
{
    if (!m)
        return;
    free(m->scope);
    free(m);
}

void metrics_copy(metrics **dst, const metrics *src)
{
    if (!*dst || (*dst)->n_sources != src->n_sources) {
        metrics_free(*dst);
        *dst = xcalloc(1, sizeof **dst);
        (*dst)->scope = xcalloc(src->n_sources + 1, sizeof *(*dst)->scope);
    }
    metrics_scope *scope = (*dst)->scope;
    memcpy(scope, src->scope, (src->n_sources + 1) * sizeof *scope);
    **dst = *src;
    (*dst)->scope = scope;
}

metrics_scope *metrics_scope_of(metrics *m, size_t src)
{
    return &m->scope[src < m->n_sources ? src : m->n_sources];
}

const metrics_scope *metrics_scope_const(const metrics *m, size_t src)
{
    return &m->scope[src < m->n_sources ? src : m->n_sources];
}

static void add(metrics_scope *s, metrics_counter c, uint64_t n)
{
    s->cur.c[c] += n;
    s->total[c] += n;
}

void metrics_count(metrics *m, size_t src, metrics_counter c, uint64_t n)
{
    if (c < 0 || c >= MC_COUNTERS)
        return;
    metrics_scope *all = &m->scope[m->n_sources];
    if (src >= m->n_sources) {
        add(all, c, n);
        return;
    }
    add(&m->scope[src], c, n);
    if (counter_info[c].rollup)
        add(all, c, n);
}

void metrics_latency(metrics *m, size_t src, int64_t ns)
{
    metrics_scope *s = metrics_scope_of(m, src);
    hist_add(&s->cur.latency, ns);
    cum_add(&s->timer[src < m->n_sources ? MT_REQUEST : MT_BATCH], ns);
}

void metrics_lag(metrics *m, int64_t lag_ns)
{
    hist_add(&m->scope[m->n_sources].cur.lag, lag_ns);
    cum_add(&m->scope[m->n_sources].timer[MT_LAG], lag_ns);
}

void metrics_time(metrics *m, size_t src, metrics_timer t, int64_t ns)
{
    if (t >= 0 && t < MT_TIMERS)
        cum_add(&metrics_scope_of(m, src)->timer[t], ns);
}

void metrics_store_error(metrics *m, metrics_store_op op)
{
    if (op >= 0 && op < MS_OPS)
        m->store_errors[op]++;
}

void metrics_set_gauges(metrics *m, const metrics_gauges *g)
{
    m->gauges = *g;
}

void metrics_roll(metrics *m, int64_t now_ns)
{
    for (size_t i = 0; i <= m->n_sources; i++) {
        metrics_scope *s = &m->scope[i];
        s->cur.end_ns = now_ns;
        s->last = s->cur;
        window_start(&s->cur, now_ns);
    }
}

/* ---- output ---- */

/* "850us", "412ms", "12.3s": short, and precise to the histogram's ~6%. */
static const char *fmt_dur(int64_t ns, char *buf, size_t len)
{
    if (ns < 1000 * 1000)
        snprintf(buf, len, "%lldus", (long long)(ns / 1000));
    else if (ns < 10 * NS_PER_S)
        snprintf(buf, len, "%lldms", (long long)(ns / NS_PER_MS));
    else
        snprintf(buf, len, "%.1fs", (double)ns / (double)NS_PER_S);
    return buf;
}

int metrics_format_line(const metrics *m, size_t src, char *buf, size_t len)
{
    const metrics_scope *s = metrics_scope_const(m, src);
    const metrics_window *w = &s->last;
    double secs = (double)(w->end_ns - w->start_ns) / (double)NS_PER_S;
    double per = secs > 0 ? 1.0 / secs : 0;
    char a[24], b[24], c[24], d[24], e[24];
    int overall = src >= m->n_sources;
    strbuf out = {0};
    sb_printf(&out, "%.0fs: tokens=%llu (%.1f/s) requests=%llu (%.2f/s) failures=%llu 429s=%llu retries=%llu",
              secs, (unsigned long long)w->c[MC_TOKENS], (double)w->c[MC_TOKENS] * per,
              (unsigned long long)w->c[MC_REQUESTS], (double)w->c[MC_REQUESTS] * per,
              (unsigned long long)w->c[MC_FAILURES], (unsigned long long)w->c[MC_THROTTLED],
              (unsigned long long)w->c[MC_RETRIES]);
    if (!overall) {
        sb_printf(&out, " latency p50=%s p95=%s", fmt_dur(hist_quantile_ns(&w->latency, 0.50), a, sizeof a),
                  fmt_dur(hist_quantile_ns(&w->latency, 0.95), b, sizeof b));
    } else {
        const metrics_gauges *g = &m->gauges;
        sb_printf(&out,
                  " batches=%llu batch p50=%s p95=%s lag p95=%s max=%s queue=%llu due=%llu overdue_max=%s"
                  " in_flight=%llu",
                  (unsigned long long)w->c[MC_BATCHES], fmt_dur(hist_quantile_ns(&w->latency, 0.50), a, sizeof a),
                  fmt_dur(hist_quantile_ns(&w->latency, 0.95), b, sizeof b),
                  fmt_dur(hist_quantile_ns(&w->lag, 0.95), c, sizeof c),
                  fmt_dur(w->lag.n ? w->lag.max_us * 1000 : 0, d, sizeof d), (unsigned long long)g->queue_depth,
                  (unsigned long long)g->due, fmt_dur(g->lag_max_ns, e, sizeof e),
                  (unsigned long long)g->in_flight);
        if (g->capacity > 0 && isfinite(g->capacity)) {
            sb_printf(&out, " capacity=%.1f/s demand=%.1f/s stretch=", g->capacity, g->demand);
            for (int t = 0; t < SCHED_TIERS; t++)
                sb_printf(&out, "%s%.2f", t ? "/" : "", g->stretch[t]);
        }
    }
    int n = (int)out.len;
    if (len)
        snprintf(buf, len, "%s", out.data);
    sb_free(&out);
    return n;
}

void metrics_write(const metrics *m, FILE *out)
{
    char line[512];
    for (size_t i = 0; i <= m->n_sources; i++) {
        metrics_format_line(m, i, line, sizeof line);
        fprintf(out, "[%s] %s\n", m->scope[i].name, line);
    }
}

void metrics_visit(const metrics *m, metrics_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i <= m->n_sources; i++) {
        const metrics_scope *s = &m->scope[i];
        for (int c = 0; c < MC_COUNTERS; c++)
            fn(ctx, s->name, counter_info[c].name, "counter", (double)s->total[c]);
        const metrics_hist *lat = &s->last.latency;
        fn(ctx, s->name, "latency_p50_seconds", "gauge", (double)hist_quantile_ns(lat, 0.50) / 1e9);
        fn(ctx, s->name, "latency_p95_seconds", "gauge", (double)hist_quantile_ns(lat, 0.95) / 1e9);
    }
    const metrics_scope *all = &m->scope[m->n_sources];
    const metrics_gauges *g = &m->gauges;
    fn(ctx, all->name, "lag_p95_seconds", "gauge", (double)hist_quantile_ns(&all->last.lag, 0.95) / 1e9);
    fn(ctx, all->name, "lag_max_seconds", "gauge", (double)all->last.lag.max_us / 1e6);
    fn(ctx, all->name, "queue_depth", "gauge", (double)g->queue_depth);
    fn(ctx, all->name, "due", "gauge", (double)g->due);
    fn(ctx, all->name, "in_flight", "gauge", (double)g->in_flight);
    fn(ctx, all->name, "overdue_max_seconds", "gauge", (double)g->lag_max_ns / 1e9);
    fn(ctx, all->name, "overdue_p95_seconds", "gauge", (double)g->lag_p95_ns / 1e9);
    fn(ctx, all->name, "capacity_tokens_per_second", "gauge", g->capacity);
    fn(ctx, all->name, "demand_tokens_per_second", "gauge", g->demand);
    for (int t = 0; t < SCHED_TIERS; t++) {
        char name[32];
        snprintf(name, sizeof name, "stretch_%s", sched_tier_name((sched_tier)t));
        fn(ctx, all->name, name, "gauge", g->stretch[t]);
    }
}
