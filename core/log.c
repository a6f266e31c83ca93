#include "log.h"

#include <stdio.h>
#include <string.h>

static tc_log_level current_level = TC_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(tc_log_level level) { current_level = level; }
tc_log_level log_get_level(void) { return current_level; }

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

const char *log_level_name(int level) { return level >= 0 && level < 4 ? level_names[level] : "?"; }

void log_vmsg(tc_log_level level, const char *component, const char *fmt, va_list ap)
{
    if (level > current_level)
        return;
    /* One fprintf per line keeps lines whole when stderr is shared. */
    char line[2048];
    int off = snprintf(line, sizeof line, "%s%s%s%s ", level_names[level],
                       component ? " [" : "", component ? component : "", component ? "]" : "");
    if (off < 0 || (size_t)off >= sizeof line)
        off = 0;
    vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void log_msg(tc_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, component, fmt, ap);
    va_end(ap);
}
