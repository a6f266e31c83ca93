/* Test kit: an instance of the plugin under test and its fake tc_host: the
 * settings (from "key = value" lines or a key/value list), the log, and the
 * request builders of kit_request.c. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

static void host_log(void *ctx, tc_log_level level, const char *fmt, ...)
{
    tc_kit_instance *in = ctx;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->last_log, sizeof in->last_log, fmt, ap);
    va_end(ap);
    if ((unsigned)level < 4)
        in->nlog[level]++;
    if (getenv("TC_KIT_VERBOSE"))
        fprintf(stderr, "[plugin log %d] %s\n", (int)level, in->last_log);
}

static const char *host_setting(const tc_settings *settings, const char *key)
{
    const tc_kit_instance *in = (const tc_kit_instance *)settings;
    for (size_t i = 0; in && key && i < in->nsettings; i++)
        if (strcmp(in->settings[i].key, key) == 0)
            return in->settings[i].value;
    return NULL;
}

static void free_settings(tc_kit_instance *in)
{
    for (size_t i = 0; i < in->nsettings; i++) {
        free(in->settings[i].key);
        free(in->settings[i].value);
    }
    free(in->settings);
    in->settings = NULL;
    in->nsettings = 0;
}

/* Frees an instance whose create() failed or was never called. */
static tc_kit_instance *instance_drop(tc_kit_instance *in)
{
    free_settings(in);
    free(in);
    return NULL;
}

/* Adds KEY[0..KLEN) = VALUE[0..VLEN); -1 when the key is there already. */
static int add_setting(tc_kit_instance *in, const char *key, size_t klen, const char *value, size_t vlen)
{
    for (size_t i = 0; i < in->nsettings; i++)
        if (strlen(in->settings[i].key) == klen && !strncmp(in->settings[i].key, key, klen))
            return -1;
    in->settings = kit_realloc(in->settings, (in->nsettings + 1) * sizeof *in->settings);
    kit_setting *s = &in->settings[in->nsettings++];
    s->key = kit_calloc(1, klen + 1);
    memcpy(s->key, key, klen);
    s->value = kit_calloc(1, vlen + 1);
    memcpy(s->value, value, vlen);
    return 0;
}

static void trim(const char **s, const char **end)
{
    while (*s < *end && isspace((unsigned char)**s))
        (*s)++;
    while (*end > *s && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

/* One line of TEXT[0..LEN), as the host's INI reader reads it. */
static int parse_line(tc_kit_instance *in, const char *p, const char *end, int lineno, char *err, size_t errlen)
{
    trim(&p, &end);
    if (p == end || *p == ';' || *p == '#')
        return 0;
    const char *sep = p;
    while (sep < end && *sep != '=' && *sep != ':')
        sep++;
    const char *key_end = sep, *value = sep + 1, *value_end = end;
    trim(&p, &key_end);
    if (sep == end || p == key_end) {
        snprintf(err, errlen, "settings line %d: expected key = value", lineno);
        return -1;
    }
    for (const char *c = value; c < value_end; c++)
        if (*c == ';' && (c == value || isspace((unsigned char)c[-1]))) {
            value_end = c;
            break;
        }
    trim(&value, &value_end);
    if (add_setting(in, p, (size_t)(key_end - p), value, (size_t)(value_end - value)) != 0) {
        snprintf(err, errlen, "settings line %d: %.*s is set twice", lineno, (int)(key_end - p), p);
        return -1;
    }
    return 0;
}

static int parse_settings(tc_kit_instance *in, const char *text, char *err, size_t errlen)
{
    int lineno = 0;
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        const char *end = nl ? nl : text + strlen(text);
        if (parse_line(in, text, end, ++lineno, err, errlen) != 0)
            return -1;
        text = nl ? nl + 1 : end;
    }
    return 0;
}

static tc_kit_instance *instance_new(tc_kit_plugin *p)
{
    tc_kit_instance *in = kit_calloc(1, sizeof *in);
    in->plugin = p;
    in->host = (tc_host){.struct_size = sizeof(tc_host),
                         .ctx = in,
                         .log = host_log,
                         .setting = host_setting,
                         .request_url = kit_request_url,
                         .request_header = kit_request_header,
                         .request_body = kit_request_body};
    return in;
}

/* create() with the settings already in IN; frees IN on failure. */
static tc_kit_instance *instance_create(tc_kit_instance *in, char *err, size_t errlen)
{
    char buf[256] = "";
    const tc_source *s = in->plugin->src;
    if (s->create(&in->host, (const tc_settings *)in, &in->self, buf, sizeof buf) == 0)
        return in;
    snprintf(err, errlen, "%s", buf[0] ? buf : "(no reason given)");
    return instance_drop(in);
}

tc_kit_instance *tc_kit_create(tc_kit_plugin *p, const char *settings, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    tc_kit_instance *in = instance_new(p);
    if (parse_settings(in, settings, err, errlen) != 0)
        return instance_drop(in);
    return instance_create(in, err, errlen);
}

tc_kit_instance *tc_kit_create_kv(tc_kit_plugin *p, const char *const *kv, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    tc_kit_instance *in = instance_new(p);
    for (; kv && kv[0] && kv[1]; kv += 2)
        if (add_setting(in, kv[0], strlen(kv[0]), kv[1], strlen(kv[1])) != 0) {
            snprintf(err, errlen, "settings: %s is set twice", kv[0]);
            return instance_drop(in);
        }
    return instance_create(in, err, errlen);
}

void tc_kit_destroy(tc_kit_instance *in)
{
    if (!in)
        return;
    in->plugin->src->destroy(in->self);
    instance_drop(in);
}

void tc_kit_set_emit_size(tc_kit_instance *in, uint32_t size)
{
    in->emit_size = size;
}

const tc_host *tc_kit_host(const tc_kit_instance *in)
{
    return &in->host;
}

unsigned tc_kit_log_count(const tc_kit_instance *in, tc_log_level level)
{
    return (unsigned)level < 4 ? in->nlog[level] : 0;
}

const char *tc_kit_last_log(const tc_kit_instance *in)
{
    return in->last_log;
}
