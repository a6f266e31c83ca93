/* Logging to stderr, one line per message, for people or machines:
 *   text  "LEVEL [component] message key=value ..."
 *   json  {"time":"...Z","level":"...","component":"...","message":"...","fields":{...}}
 * One place so the daemon, the plugins (through tc_host.log), the HTTP
 * threads and the CLI share a format and a level. Thread-safe.
 *
 * A warning or error repeated word for word within LOG_REPEAT_WINDOW_NS is
 * written once: the repeats are counted and reported in one line when the
 * window ends (log_flush_repeats, which the daemon calls each second, or the
 * next occurrence after it), with the field repeated=N. The last warnings
 * and errors are kept for the status page (log_recent). */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tokencollector/plugin.h"

void log_set_level(tc_log_level level);
tc_log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

typedef enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON } log_format;
void log_set_format(log_format f);
/* "text" or "json"; -1 when unknown. */
int log_format_parse(const char *s);

/* Where lines go (default stderr; tests). */
void log_set_output(FILE *out);
/* The clock of the repeat window (default now_mono_ns; tests). */
void log_set_clock(int64_t (*mono_ns)(void));

/* A structured field: in JSON a member of "fields" (a number when NUMBER,
 * else a string), in text " key=value" after the message. */
typedef struct log_field {
    const char *key;
    const char *value;
    int number;
} log_field;

void log_msg(tc_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(tc_log_level level, const char *component, const char *fmt, va_list ap);
void log_fields(tc_log_level level, const char *component, const log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define LOG_REPEAT_WINDOW_NS (60 * 1000000000LL)
/* Reports repeats whose window has ended (call periodically and at exit). */
void log_flush_repeats(void);

/* The latest warnings and errors, oldest first. */
#define LOG_RECENT 32
typedef struct log_event {
    int64_t time_ms; /* unix milliseconds of the first occurrence */
    int level;
    char component[32];
    char message[256];
    uint64_t repeats; /* occurrences after the first, counted within the window */
} log_event;
size_t log_recent(log_event *out, size_t max);
/* Messages per level since the start (repeats included), and repeats not written. */
void log_counts(uint64_t per_level[4], uint64_t *suppressed);

#define LOG_ERROR(comp, ...) log_msg(TC_LOG_ERROR, comp, __VA_ARGS__)
#define LOG_WARN(comp, ...) log_msg(TC_LOG_WARN, comp, __VA_ARGS__)
#define LOG_INFO(comp, ...) log_msg(TC_LOG_INFO, comp, __VA_ARGS__)
#define LOG_DEBUG(comp, ...) log_msg(TC_LOG_DEBUG, comp, __VA_ARGS__)

#endif
