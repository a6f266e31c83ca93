/* The service manager's notifications (systemd Type=notify, sd_notify(3)):
 * READY once the store and the plugins are up, STATUS lines, WATCHDOG
 * pings when the unit sets WatchdogSec, STOPPING at shutdown. Without
 * systemd (no NOTIFY_SOCKET) every call does nothing. */
#ifndef TC_NOTIFY_H
#define TC_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_stopping(void);
/* Pings the watchdog when half its interval has passed since the last
 * ping (call every turn of the loop, NOW monotonic). */
void notify_watchdog(int64_t now_ns);

#endif
