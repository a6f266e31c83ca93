#include "cluster_stats.h"

#include <math.h>

double cs_hist_bound_s(int i)
{
    return 1e-6 * pow(2.0, i / 4.0);
}

void cs_hist_add(cs_hist *h, int64_t ns)
{
    double s = ns > 0 ? (double)ns / 1e9 : 0;
    int i = 0;
    if (s > 1e-6) {
        i = (int)ceil(4.0 * log2(s / 1e-6) - 1e-9);
        if (i < 0)
            i = 0;
        if (i > CS_BUCKETS)
            i = CS_BUCKETS;
    }
    h->b[i]++;
    h->count++;
    h->sum_s += s;
}

double cs_hist_quantile(const cs_hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count), cum = 0;
    if (rank < 1)
        rank = 1;
    for (int i = 0; i <= CS_BUCKETS; i++) {
        cum += h->b[i];
        if (cum >= rank)
            return i == 0 ? 0 : cs_hist_bound_s(i); /* bucket 0: at most 1 us, shown as 0 */
    }
    return cs_hist_bound_s(CS_BUCKETS);
}

double cluster_stats_share(const cluster_stats *s)
{
    return s->cluster_granted ? (double)s->granted / (double)s->cluster_granted : 0;
}

void cluster_stats_print(const cluster_stats *s, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const cluster_stats *c = &s[i];
        fprintf(out,
                "cluster limiter %s: granted %llu of %llu (share %.1f%%), used %llu, expired %llu, "
                "reservations %llu (round trip p50 %.3f ms, p99 %.3f ms), failures %llu, pauses %llu, "
                "added wait p50 %.3f ms p99 %.3f ms over %llu requests\n",
                c->name, (unsigned long long)c->granted, (unsigned long long)c->cluster_granted,
                100 * cluster_stats_share(c), (unsigned long long)c->used, (unsigned long long)c->expired,
                (unsigned long long)c->reservations, 1e3 * cs_hist_quantile(&c->rtt, 0.5),
                1e3 * cs_hist_quantile(&c->rtt, 0.99), (unsigned long long)c->failures,
                (unsigned long long)c->pauses, 1e3 * cs_hist_quantile(&c->added, 0.5),
                1e3 * cs_hist_quantile(&c->added, 0.99), (unsigned long long)c->added.count);
    }
}
