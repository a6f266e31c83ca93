#include "cluster_gcra.h"

#include <math.h>
#include <string.h>

cg_grant cg_grant_from_tat(int n, double tat_s, double rate, double burst)
{
    cg_grant g = {.n = n < 0 ? 0 : n};
    if (!(rate > 0))
        rate = 1;
    g.interval_s = 1.0 / rate;
    g.tolerance_s = (burst < 1 ? 0 : burst - 1) / rate;
    g.base_s = tat_s - g.n * g.interval_s;
    return g;
}

void cg_pool_add(cg_pool *p, const cg_grant *g, int64_t sent, int64_t recv, int64_t late_ns)
{
    for (int k = 0; k < g->n; k++) {
        double at = g->base_s + k * g->interval_s - g->tolerance_s;
        /* Rounded up to the microsecond (the database's resolution). */
        int64_t off = at > 0 ? (int64_t)ceil(at * 1e6 - 1e-3) * 1000 : 0;
        int64_t t = recv + off, dl = sent + off + late_ns;
        /* Grants arrive in order for one collector; a later grant's permits
         * never go before what the pool holds. */
        int64_t last = cg_pool_horizon(p);
        if (p->len && t < last)
            t = last;
        if (t > dl || p->len == CG_POOL_MAX) {
            p->expired++;
            continue;
        }
        int i = (p->head + p->len) % CG_POOL_MAX;
        p->t[i] = t;
        p->dl[i] = dl;
        p->len++;
        p->added++;
    }
}

void cg_pool_expire(cg_pool *p, int64_t now)
{
    while (p->len && p->dl[p->head] < now) {
        p->head = (p->head + 1) % CG_POOL_MAX;
        p->len--;
        p->expired++;
    }
}

int64_t cg_pool_wait(const cg_pool *p, int64_t now)
{
    if (!p->len)
        return -1;
    int64_t t = p->t[p->head];
    return t > now ? t - now : 0;
}

int cg_pool_take(cg_pool *p, int64_t now)
{
    if (!p->len || p->t[p->head] > now)
        return -1;
    p->head = (p->head + 1) % CG_POOL_MAX;
    p->len--;
    p->used++;
    return 0;
}

void cg_pool_clear(cg_pool *p)
{
    p->expired += (uint64_t)p->len;
    p->head = p->len = 0;
}

int64_t cg_pool_horizon(const cg_pool *p)
{
    return p->len ? p->t[(p->head + p->len - 1) % CG_POOL_MAX] : 0;
}

void cg_sizer_init(cg_sizer *z, int max, int64_t idle_ns)
{
    memset(z, 0, sizeof *z);
    z->want = 1;
    z->idle_ns = idle_ns;
    z->last_demand_ns = INT64_MIN / 2;
    cg_sizer_set_max(z, max);
}

void cg_sizer_set_max(cg_sizer *z, int max)
{
    z->max = max < 1 ? 1 : max;
    if (z->want > z->max)
        z->want = z->max;
}

void cg_sizer_demand(cg_sizer *z, int64_t now)
{
    z->last_demand_ns = now;
}

int cg_sizer_ask(cg_sizer *z, const cg_pool *p, int64_t now)
{
    if (now - z->last_demand_ns > z->idle_ns)
        return 0;
    if (p->len > z->want / 2)
        return 0;
    if (p->expired > z->expired_seen) {
        z->want = z->want / 2 > 1 ? z->want / 2 : 1;
    } else if (p->added > 0) {
        z->want = z->want * 2 < z->max ? z->want * 2 : z->max;
    }
    z->expired_seen = p->expired;
    return z->want;
}

int cg_max_reservation(double rate, int64_t ahead_ns)
{
    double n = rate * (double)ahead_ns / 1e9;
    if (!(n >= 1))
        return 1;
    if (n > CG_POOL_MAX / 2)
        return CG_POOL_MAX / 2;
    return (int)n;
}
