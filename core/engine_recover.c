/* The collector's identity and what it does with the claims it finds when
 * it starts (store.h, recover_claims): its own stale claims are taken back
 * at once when the store's lock proves the previous run is gone, and
 * claims of other collectors are reported with when they end. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine_pipeline.h"
#include "log.h"
#include "util.h"

void engine_collector_id(const config *cfg, char *out, size_t len)
{
    if (cfg->collector_id && *cfg->collector_id) {
        snprintf(out, len, "%s", cfg->collector_id);
        return;
    }
    /* Stable across restarts on this host for this store: the same run
     * finds its own claims again (two collectors on one host and store need
     * distinct [core] collector_id). */
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = cfg->store ? cfg->store : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(out, len, "%s:%08llx", host, (unsigned long long)(h & 0xffffffffu));
}

static void utc(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void engine_recover_claims(engine *e)
{
    char err[512];
    claim_recovery r;
    int64_t now = now_wall_s();
    if (store_recover_claims(e->st, e->owner, now, &r, err, sizeof err) != 0) {
        LOG_WARN("store", "%s (claims of a previous run expire with their lease)", err);
        return;
    }
    e->recovery = r;
    if (r.taken_back)
        LOG_WARN("store", "collector %s: took back %zu tokens its previous run had claimed and never committed "
                 "(it stopped without releasing them)", e->owner, r.taken_back);
    if (r.owner_alive)
        LOG_WARN("store", "collector %s: another live process uses this identity (its lock is held); its claims "
                 "are left alone. Give each collector its own [core] collector_id", e->owner);
    if (r.foreign) {
        char first[32], last[32];
        utc(r.foreign_first_until, first, sizeof first);
        utc(r.foreign_last_until, last, sizeof last);
        LOG_WARN("store", "%zu tokens are claimed by other collectors (the last by %s): they are skipped until "
                 "their leases end, the first at %s (in %lld s), the last at %s (in %lld s)", r.foreign,
                 r.foreign_owner, first, (long long)(r.foreign_first_until - now), last,
                 (long long)(r.foreign_last_until - now));
    }
}
