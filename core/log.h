/* Logging to stderr: "LEVEL [component] message". One place so the daemon,
 * the plugins (through tc_host.log) and the CLI share a format and a level. */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdarg.h>
#include "tokencollector/plugin.h"

void log_set_level(tc_log_level level);
tc_log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

void log_msg(tc_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(tc_log_level level, const char *component, const char *fmt, va_list ap);

#define LOG_ERROR(comp, ...) log_msg(TC_LOG_ERROR, comp, __VA_ARGS__)
#define LOG_WARN(comp, ...) log_msg(TC_LOG_WARN, comp, __VA_ARGS__)
#define LOG_INFO(comp, ...) log_msg(TC_LOG_INFO, comp, __VA_ARGS__)
#define LOG_DEBUG(comp, ...) log_msg(TC_LOG_DEBUG, comp, __VA_ARGS__)

#endif
