/* systemd notifications through libsystemd's sd_notify (notify.h). Must
 * not decide when the daemon is ready: the daemon calls these. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "util.h"

static int64_t watchdog_every_ns = -1; /* -1: not asked yet; 0: no watchdog */
static int64_t last_ping_ns;

void notify_ready(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status ? status : "running");
    sd_notify(0, msg);
}

void notify_status(const char *fmt, ...)
{
    char text[400], msg[420];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "STATUS=%s", text);
    sd_notify(0, msg);
}

void notify_stopping(void) { sd_notify(0, "STOPPING=1\nSTATUS=stopping: in-flight work finishes"); }

void notify_watchdog(int64_t now_ns)
{
    if (watchdog_every_ns < 0) {
        uint64_t usec = 0;
        watchdog_every_ns = sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)usec * 1000 / 2 : 0;
    }
    if (watchdog_every_ns == 0 || now_ns - last_ping_ns < watchdog_every_ns)
        return;
    last_ping_ns = now_ns;
    sd_notify(0, "WATCHDOG=1");
}
