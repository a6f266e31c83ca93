#include "backoff.h"

#include <limits.h>

#include "util.h"

int64_t backoff_full_jitter_ns(int attempt, int64_t base_ns, int64_t cap_ns, uint64_t random)
{
    int64_t ceiling = base_ns;
    for (int i = 1; i < attempt && ceiling < cap_ns; i++)
        ceiling *= 2;
    if (ceiling > cap_ns)
        ceiling = cap_ns;
    if (ceiling <= 0)
        return 0;
    return (int64_t)(random % (uint64_t)(ceiling + 1));
}

int64_t throttle_pause_ns(long retry_after_s)
{
    if (retry_after_s < 0)
        return BACKOFF_DEFAULT_PAUSE_S * NS_PER_S;
    if (retry_after_s > BACKOFF_MAX_PAUSE_S)
        retry_after_s = BACKOFF_MAX_PAUSE_S;
    return (int64_t)retry_after_s * NS_PER_S;
}

int64_t ratelimit_pause_ns(long remaining, long reset, int64_t now_wall_s)
{
    if (remaining == LONG_MIN || remaining > 0 || reset <= 0)
        return 0;
    int64_t secs = reset > 1000000000L ? reset - now_wall_s : reset;
    if (secs <= 0)
        return 0;
    if (secs > BACKOFF_MAX_PAUSE_S)
        secs = BACKOFF_MAX_PAUSE_S;
    return secs * NS_PER_S;
}
