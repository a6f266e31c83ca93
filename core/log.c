/* Logging (log.h): the level, the two line formats, the repeat window and
 * the ring of recent warnings and errors, under one mutex. Must not decide
 * what is logged: callers do. */
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "secrets.h"
#include "util.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static tc_log_level current_level = TC_LOG_INFO;
static log_format current_format = LOG_FORMAT_TEXT;
static FILE *output;
static int64_t (*clock_ns)(void) = now_mono_ns;
static uint64_t counts[4], suppressed_total;

/* Warnings and errors seen within the window: written once, then counted. */
#define REPEAT_SLOTS 32
typedef struct repeat {
    uint64_t hash;
    int level;
    char component[32];
    char message[512];
    int64_t since_ns; /* window start: when it was last written */
    uint64_t repeats; /* since then, not written */
    int used;
} repeat;
static repeat repeats[REPEAT_SLOTS];

static log_event recent[LOG_RECENT];
static size_t recent_next, recent_n;

void log_set_level(tc_log_level level) { current_level = level; }
tc_log_level log_get_level(void) { return current_level; }
void log_set_format(log_format f) { current_format = f; }
void log_set_output(FILE *out) { output = out; }
void log_set_clock(int64_t (*mono_ns)(void)) { clock_ns = mono_ns ? mono_ns : now_mono_ns; }

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

const char *log_level_name(int level) { return level >= 0 && level < 4 ? level_names[level] : "?"; }

int log_format_parse(const char *s)
{
    return !strcmp(s, "text") ? LOG_FORMAT_TEXT : !strcmp(s, "json") ? LOG_FORMAT_JSON : -1;
}

/* ---- writing one line ----------------------------------------------------------- */

static void json_string(strbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_printf(b, "\\%c", *p);
        else if (*p == '\n')
            sb_printf(b, "\\n");
        else if (*p == '\t')
            sb_printf(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            sb_printf(b, "\\u%04x", *p);
        else
            sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

static int plain_number(const char *v)
{
    char *end;
    if (!*v)
        return 0;
    (void)strtod(v, &end);
    return *end == '\0';
}

static void write_line(int level, const char *component, const char *message, const log_field *f, size_t n)
{
    strbuf b = {0};
    if (current_format == LOG_FORMAT_JSON) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char when[40];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        sb_printf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":", when, ts.tv_nsec / 1000000,
                  level_names[level]);
        json_string(&b, component ? component : "");
        sb_printf(&b, ",\"message\":");
        json_string(&b, message);
        sb_printf(&b, ",\"fields\":{");
        for (size_t i = 0; i < n; i++) {
            sb_printf(&b, "%s", i ? "," : "");
            json_string(&b, f[i].key);
            sb_printf(&b, ":");
            if (f[i].number && f[i].value && plain_number(f[i].value))
                sb_printf(&b, "%s", f[i].value);
            else
                json_string(&b, f[i].value ? f[i].value : "");
        }
        sb_printf(&b, "}}");
    } else {
        sb_printf(&b, "%s%s%s%s %s", level_names[level], component ? " [" : "", component ? component : "",
                  component ? "]" : "", message);
        for (size_t i = 0; i < n; i++)
            sb_printf(&b, " %s=%s", f[i].key, f[i].value ? f[i].value : "");
    }
    /* One fprintf per line keeps lines whole when stderr is shared. */
    fprintf(output ? output : stderr, "%s\n", b.data);
    fflush(output ? output : stderr);
    sb_free(&b);
}

/* ---- repeats and the recent ring -------------------------------------------------- */

static uint64_t hash_of(int level, const char *component, const char *message)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)level;
    for (const char *p = component ? component : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *p = message; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static void note_recent(int level, const char *component, const char *message, uint64_t hash, int repeated)
{
    if (repeated) { /* counted on its latest entry */
        for (size_t k = 0; k < recent_n; k++) {
            log_event *e = &recent[(recent_next + LOG_RECENT - 1 - k) % LOG_RECENT];
            if (hash_of(e->level, e->component, e->message) == hash) {
                e->repeats++;
                return;
            }
        }
    }
    log_event *e = &recent[recent_next];
    recent_next = (recent_next + 1) % LOG_RECENT;
    if (recent_n < LOG_RECENT)
        recent_n++;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *e = (log_event){.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, .level = level};
    snprintf(e->component, sizeof e->component, "%s", component ? component : "");
    snprintf(e->message, sizeof e->message, "%.*s", (int)sizeof e->message - 1, message);
}

static void write_repeats(repeat *r, int64_t now)
{
    char count[24], secs[24];
    snprintf(count, sizeof count, "%llu", (unsigned long long)r->repeats);
    snprintf(secs, sizeof secs, "%lld", (long long)((now - r->since_ns) / NS_PER_S));
    log_field f[2] = {{"repeated", count, 1}, {"window_s", secs, 1}};
    strbuf m = {0};
    sb_printf(&m, "%s (repeated %s more times in %s s)", r->message, count, secs);
    write_line(r->level, r->component[0] ? r->component : NULL, m.data, f, 2);
    sb_free(&m);
}

/* 1 when this warning or error is a repeat inside its window (counted, not
 * written); else it is remembered and 0 returned. */
static int is_repeat(int level, const char *component, const char *message, uint64_t hash, int64_t now)
{
    repeat *oldest = &repeats[0];
    for (int i = 0; i < REPEAT_SLOTS; i++) {
        repeat *r = &repeats[i];
        if (r->used && r->hash == hash && r->level == level && !strncmp(r->message, message, sizeof r->message - 1)) {
            if (now - r->since_ns < LOG_REPEAT_WINDOW_NS) {
                r->repeats++;
                return 1;
            }
            if (r->repeats)
                write_repeats(r, now);
            r->since_ns = now;
            r->repeats = 0;
            return 0;
        }
        if (!r->used || (oldest->used && r->since_ns < oldest->since_ns))
            oldest = r;
    }
    if (oldest->used && oldest->repeats)
        write_repeats(oldest, now);
    *oldest = (repeat){.hash = hash, .level = level, .since_ns = now, .used = 1};
    snprintf(oldest->component, sizeof oldest->component, "%s", component ? component : "");
    snprintf(oldest->message, sizeof oldest->message, "%.*s", (int)sizeof oldest->message - 1, message);
    return 0;
}

void log_flush_repeats(void)
{
    pthread_mutex_lock(&mu);
    int64_t now = clock_ns();
    for (int i = 0; i < REPEAT_SLOTS; i++) {
        repeat *r = &repeats[i];
        if (!r->used || now - r->since_ns < LOG_REPEAT_WINDOW_NS)
            continue;
        if (r->repeats) {
            write_repeats(r, now);
            r->since_ns = now; /* still going: the next report in a window */
            r->repeats = 0;
        } else
            r->used = 0;
    }
    pthread_mutex_unlock(&mu);
}

/* ---- entry points -------------------------------------------------------------------- */

static void emit(tc_log_level level, const char *component, const log_field *f, size_t n, const char *fmt,
                 va_list ap)
{
    if ((int)level < 0 || level > TC_LOG_DEBUG || level > current_level)
        return;
    char message[2048];
    vsnprintf(message, sizeof message, fmt, ap);
    /* Secrets leave no line (an upstream may echo a key in its error body). */
    secrets_scrub(message);
    log_field clean[16];
    char values[16][512];
    if (n > 16)
        n = 16;
    for (size_t i = 0; i < n; i++) {
        clean[i] = f[i];
        if (f[i].value && !f[i].number) {
            snprintf(values[i], sizeof values[i], "%s", f[i].value);
            secrets_scrub(values[i]);
            clean[i].value = values[i];
        }
    }
    f = n ? clean : f;
    pthread_mutex_lock(&mu);
    counts[level]++;
    if (level <= TC_LOG_WARN) {
        uint64_t h = hash_of(level, component, message);
        int repeated = is_repeat(level, component, message, h, clock_ns());
        note_recent(level, component, message, h, repeated);
        if (repeated) {
            suppressed_total++;
            pthread_mutex_unlock(&mu);
            return;
        }
    }
    write_line(level, component, message, f, n);
    pthread_mutex_unlock(&mu);
}

void log_vmsg(tc_log_level level, const char *component, const char *fmt, va_list ap)
{
    emit(level, component, NULL, 0, fmt, ap);
}

void log_msg(tc_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, component, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_fields(tc_log_level level, const char *component, const log_field *fields, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, component, fields, n, fmt, ap);
    va_end(ap);
}

size_t log_recent(log_event *out, size_t max)
{
    pthread_mutex_lock(&mu);
    size_t n = recent_n < max ? recent_n : max;
    for (size_t i = 0; i < n; i++)
        out[i] = recent[(recent_next + LOG_RECENT - n + i) % LOG_RECENT];
    pthread_mutex_unlock(&mu);
    return n;
}

void log_counts(uint64_t per_level[4], uint64_t *suppressed)
{
    pthread_mutex_lock(&mu);
    memcpy(per_level, counts, sizeof counts);
    *suppressed = suppressed_total;
    pthread_mutex_unlock(&mu);
}
