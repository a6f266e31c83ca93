#include "limiter.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static int64_t interval_ns(const limiter *l) { return (int64_t)(1e9 / l->rate); }
static int64_t tolerance_ns(const limiter *l) { return (int64_t)((l->burst - 1) * 1e9 / l->rate); }

void limiter_init(limiter *l, const char *name, double rate_per_s, double burst, int64_t now_ns)
{
    memset(l, 0, sizeof *l);
    l->name = xstrdup(name);
    l->rate = l->max_rate = rate_per_s;
    l->burst = burst < 1 ? 1 : burst;
    l->tat_ns = now_ns;
    l->clean_since_ns = now_ns;
}

void limiter_free(limiter *l)
{
    free(l->name);
    l->name = NULL;
}

int64_t limiter_wait_ns(const limiter *l, int64_t now_ns)
{
    int64_t wait = 0;
    if (l->paused_until_ns > now_ns)
        wait = l->paused_until_ns - now_ns;
    /* GCRA: a request conforms when tat - now <= tau. */
    int64_t ahead = l->tat_ns - now_ns - tolerance_ns(l);
    if (ahead > wait)
        wait = ahead;
    return wait;
}

double limiter_rate(const limiter *l, int current) { return current ? l->rate : l->max_rate; }

void limiter_take(limiter *l, int64_t now_ns)
{
    int64_t t = l->tat_ns > now_ns ? l->tat_ns : now_ns;
    l->tat_ns = t + interval_ns(l);
    l->grants++;
}

void limiter_pause(limiter *l, int64_t now_ns, int64_t pause_ns)
{
    if (pause_ns < 0)
        pause_ns = 0;
    int64_t until = now_ns + pause_ns;
    if (until > l->paused_until_ns)
        l->paused_until_ns = until;
    /* Restart without the burst: the upstream's window is evidently full. */
    int64_t restart = until + tolerance_ns(l);
    if (restart > l->tat_ns)
        l->tat_ns = restart;
    l->pauses++;
}

void limiter_set_adaptive(limiter *l, int on, int64_t now_ns)
{
    l->adaptive = on;
    l->clean_since_ns = now_ns;
    if (!on)
        l->rate = l->max_rate;
}

/* Keeps the schedule consistent when the rate changes: the requests already
 * granted ahead of now are re-spaced at the new interval. */
static void set_rate(limiter *l, double rate, int64_t now_ns)
{
    if (rate > l->max_rate)
        rate = l->max_rate;
    if (rate < l->max_rate / 100)
        rate = l->max_rate / 100;
    if (l->tat_ns > now_ns)
        l->tat_ns = now_ns + (int64_t)((double)(l->tat_ns - now_ns) * (l->rate / rate));
    l->rate = rate;
}

void limiter_reconfigure(limiter *l, double rate_per_s, double burst, int adaptive, int64_t now_ns)
{
    double current = adaptive && l->adaptive ? l->rate : rate_per_s;
    l->max_rate = rate_per_s;
    l->burst = burst < 1 ? 1 : burst;
    set_rate(l, current < rate_per_s ? current : rate_per_s, now_ns);
    if (adaptive != l->adaptive)
        limiter_set_adaptive(l, adaptive, now_ns);
}

void limiter_throttled(limiter *l, int64_t now_ns)
{
    l->clean_since_ns = now_ns;
    if (!l->adaptive)
        return;
    set_rate(l, l->rate / 2, now_ns);
    l->decreases++;
}

void limiter_answered(limiter *l, int64_t now_ns)
{
    if (!l->adaptive || l->rate >= l->max_rate)
        return;
    if (now_ns - l->clean_since_ns >= LIMITER_ADAPT_WINDOW_NS) {
        set_rate(l, l->rate + l->max_rate * 0.05, now_ns);
        l->clean_since_ns = now_ns;
        l->increases++;
    }
}
