#include "breaker.h"

#include <string.h>

#include "util.h"

void breaker_config_default(breaker_config *c)
{
    /* Our sources see 1-10 requests/s: a 20-call window reacts within
     * seconds, where resilience4j's 100-call default would take minutes. */
    c->window = 20;
    c->min_calls = 10;
    c->threshold = 0.5;
    c->open_ns = 30 * NS_PER_S;
    c->open_max_ns = 300 * NS_PER_S;
    c->probes = 2;
}

void breaker_init(breaker *b, const breaker_config *cfg)
{
    memset(b, 0, sizeof *b);
    b->cfg = *cfg;
    if (b->cfg.window > 256)
        b->cfg.window = 256;
    if (b->cfg.window < 1)
        b->cfg.window = 1;
    if (b->cfg.probes < 1)
        b->cfg.probes = 1;
    b->open_period_ns = cfg->open_ns;
}

static void forget_outcomes(breaker *b)
{
    b->count = b->head = b->failures = 0;
}

static void open_now(breaker *b, int64_t now_ns)
{
    b->state = BREAKER_OPEN;
    b->open_until_ns = now_ns + b->open_period_ns;
    b->transitions++;
    b->opened++;
    forget_outcomes(b);
}

breaker_state breaker_state_at(breaker *b, int64_t now_ns)
{
    if (b->state == BREAKER_OPEN && now_ns >= b->open_until_ns) {
        b->state = BREAKER_HALF_OPEN;
        b->probes_sent = b->probes_ok = 0;
        b->transitions++;
    }
    return b->state;
}

int breaker_allow(breaker *b, int64_t now_ns)
{
    switch (breaker_state_at(b, now_ns)) {
    case BREAKER_CLOSED:
        return 1;
    case BREAKER_OPEN:
        return 0;
    case BREAKER_HALF_OPEN:
        if (b->probes_sent >= b->cfg.probes)
            return 0;
        b->probes_sent++;
        return 1;
    }
    return 0;
}

void breaker_record(breaker *b, int64_t now_ns, int success)
{
    if (b->state == BREAKER_HALF_OPEN) {
        if (!success) {
            /* Still broken: stay away longer, up to the cap. */
            b->open_period_ns *= 2;
            if (b->open_period_ns > b->cfg.open_max_ns)
                b->open_period_ns = b->cfg.open_max_ns;
            open_now(b, now_ns);
        } else if (++b->probes_ok >= b->cfg.probes) {
            b->state = BREAKER_CLOSED;
            b->transitions++;
            b->open_period_ns = b->cfg.open_ns;
            forget_outcomes(b);
        }
        return;
    }
    if (b->state == BREAKER_OPEN)
        return; /* a late answer to a call made before it opened */
    if (b->count == b->cfg.window) {
        int oldest = ((b->head - b->count) % b->cfg.window + b->cfg.window) % b->cfg.window;
        b->failures -= b->ring[oldest];
        b->count--;
    }
    b->ring[b->head] = success ? 0 : 1;
    b->head = (b->head + 1) % b->cfg.window;
    b->count++;
    b->failures += !success;
    if (b->count >= b->cfg.min_calls && (double)b->failures >= b->cfg.threshold * (double)b->count)
        open_now(b, now_ns);
}

void breaker_cancel(breaker *b)
{
    if (b->state == BREAKER_HALF_OPEN && b->probes_sent > 0)
        b->probes_sent--;
}

const char *breaker_state_name(breaker_state s)
{
    static const char *const names[] = {"closed", "open", "half-open"};
    return s <= BREAKER_HALF_OPEN ? names[s] : "?";
}
