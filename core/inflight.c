/* The in-flight controller (inflight.h): a window of answer latencies, its
 * p90, and the Little's-law limit. Pure: no clock of its own, no I/O. */
#include "inflight.h"

#include <math.h>
#include <string.h>

/* The p90 is recomputed at most this often without a new sample (samples
 * ageing out of the window change it too, but slowly). */
#define P90_REFRESH_NS (1000000000LL)

void inflight_init(inflight *f)
{
    memset(f, 0, sizeof *f);
    f->p90_ns = f->limit_p90_ns = INFLIGHT_PRIOR_NS;
    f->limit = 1;
}

void inflight_note(inflight *f, int64_t latency_ns, int64_t now_ns)
{
    if (latency_ns < 0)
        latency_ns = 0;
    f->lat_ns[f->next] = latency_ns;
    f->at_ns[f->next] = now_ns;
    f->next = (f->next + 1) % INFLIGHT_SAMPLES;
    if (f->n < INFLIGHT_SAMPLES)
        f->n++;
    f->dirty = 1;
}

static void sort_ns(int64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static int64_t compute_p90(const inflight *f, int64_t now_ns)
{
    if (f->n == 0)
        return INFLIGHT_PRIOR_NS;
    int64_t v[INFLIGHT_SAMPLES];
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++)
        if (now_ns - f->at_ns[i] <= INFLIGHT_SAMPLE_AGE_NS)
            v[k++] = f->lat_ns[i];
    if (k == 0) /* nothing recent: the old answers are still the best guess */
        for (size_t i = 0; i < f->n; i++)
            v[k++] = f->lat_ns[i];
    sort_ns(v, k);
    size_t rank = (size_t)ceil(0.9 * (double)k); /* nearest rank, 1-based */
    return v[rank ? rank - 1 : 0];
}

int64_t inflight_p90_ns(inflight *f, int64_t now_ns)
{
    if (f->dirty || now_ns - f->p90_at_ns >= P90_REFRESH_NS) {
        f->p90_ns = compute_p90(f, now_ns);
        f->p90_at_ns = now_ns;
        f->dirty = 0;
    }
    return f->p90_ns;
}

long inflight_target(double rate_per_s, int64_t latency_ns, long max)
{
    if (max < 1)
        max = 1;
    if (!(rate_per_s > 0) || !isfinite(rate_per_s))
        return max;
    double want = ceil(rate_per_s * ((double)latency_ns / 1e9) * INFLIGHT_HEADROOM);
    if (!(want >= 1))
        return 1;
    return want >= (double)max ? max : (long)want;
}

long inflight_update(inflight *f, double rate_per_s, long max, int64_t now_ns)
{
    f->limit_p90_ns = inflight_p90_ns(f, now_ns);
    f->limit = inflight_target(rate_per_s, f->limit_p90_ns, max);
    return f->limit;
}
