/* Test kit: checks that say what they found (for any test framework), and
 * the framework-free TC_KIT_EXPECT counters. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kit_internal.h"

static char message[1024];
static unsigned failures, passes;

static const char *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return message;
}

/* Field F of ADDR set exactly once, or the message saying otherwise. */
static const char *once(const tc_kit_result *r, const char *addr, tc_field f, const kit_token **t)
{
    *t = kit_token_of(r, addr);
    if (!*t)
        return fail("%s is not an address of the chunk", addr ? addr : "(null)");
    if (f <= 0 || f >= KIT_NFIELDS)
        return fail("field %d is not a field", (int)f);
    if ((*t)->times[f] != 1)
        return fail("%s field %d: set %u times, want once", addr, (int)f, (*t)->times[f]);
    return NULL;
}

const char *tc_kit_check_num(const tc_kit_result *r, const char *addr, tc_field f, double want)
{
    const kit_token *t;
    const char *m = once(r, addr, f, &t);
    if (!m && kit_field_is_string(f))
        m = fail("%s field %d is a string field", addr, (int)f);
    if (!m && !(t->num[f] == want))
        m = fail("%s field %d: got %.17g, want %.17g", addr, (int)f, t->num[f], want);
    return m;
}

const char *tc_kit_check_str(const tc_kit_result *r, const char *addr, tc_field f, const char *want)
{
    const kit_token *t;
    const char *m = once(r, addr, f, &t);
    if (!m && (!t->str[f] || !want || strcmp(t->str[f], want) != 0))
        m = fail("%s field %d: got \"%s\", want \"%s\"", addr, (int)f, t->str[f] ? t->str[f] : "(null)",
                 want ? want : "(null)");
    return m;
}

const char *tc_kit_check_unset(const tc_kit_result *r, const char *addr, tc_field f)
{
    unsigned n = tc_kit_times(r, addr, f);
    return n ? fail("%s field %d: emitted %u times but should not be", addr, (int)f, n) : NULL;
}

const char *tc_kit_check_link(const tc_kit_result *r, const char *addr, tc_link_kind kind, const char *label,
                              const char *url)
{
    const char *got = tc_kit_link_url(r, addr, kind, label);
    if (got && url && strcmp(got, url) == 0)
        return NULL;
    return fail("%s link %d %s: got %s, want %s", addr ? addr : "(null)", (int)kind, label ? label : "(null)",
                got ? got : "(none)", url ? url : "(null)");
}

const char *tc_kit_check_text(const char *got, const char *want)
{
    if (got && want ? strcmp(got, want) == 0 : got == want)
        return NULL;
    return fail("got \"%s\", want \"%s\"", got ? got : "(null)", want ? want : "(null)");
}

static const char *extra_type_name(tc_kit_extra_type type)
{
    return type == TC_KIT_EXTRA_NUM ? "number" : type == TC_KIT_EXTRA_STR ? "string" : "bool";
}

/* Extra KEY of ADDR set exactly once as TYPE, or the message saying
 * otherwise. */
static const char *extra_once(const tc_kit_result *r, const char *addr, const char *key, tc_kit_extra_type type,
                              const tc_kit_extra **e)
{
    if (!kit_token_of(r, addr))
        return fail("%s is not an address of the chunk", addr ? addr : "(null)");
    *e = tc_kit_extra_of(r, addr, key);
    if (!*e)
        return fail("%s extra %s: not set, want a %s", addr, key ? key : "(null)", extra_type_name(type));
    if ((*e)->times != 1)
        return fail("%s extra %s: set %u times, want once", addr, key, (*e)->times);
    if ((*e)->type != type)
        return fail("%s extra %s: a %s, want a %s", addr, key, extra_type_name((*e)->type), extra_type_name(type));
    return NULL;
}

const char *tc_kit_check_extra_num(const tc_kit_result *r, const char *addr, const char *key, double want)
{
    const tc_kit_extra *e;
    const char *m = extra_once(r, addr, key, TC_KIT_EXTRA_NUM, &e);
    if (!m && !(e->num == want))
        m = fail("%s extra %s: got %.17g, want %.17g", addr, key, e->num, want);
    return m;
}

const char *tc_kit_check_extra_bool(const tc_kit_result *r, const char *addr, const char *key, int want)
{
    const tc_kit_extra *e;
    const char *m = extra_once(r, addr, key, TC_KIT_EXTRA_BOOL, &e);
    if (!m && (e->num != 0) != (want != 0))
        m = fail("%s extra %s: got %s, want %s", addr, key, e->num != 0 ? "true" : "false", want ? "true" : "false");
    return m;
}

const char *tc_kit_check_extra_str(const tc_kit_result *r, const char *addr, const char *key, const char *want)
{
    const tc_kit_extra *e;
    const char *m = extra_once(r, addr, key, TC_KIT_EXTRA_STR, &e);
    if (!m && (!want || strcmp(e->str, want) != 0))
        m = fail("%s extra %s: got \"%s\", want \"%s\"", addr, key, e->str, want ? want : "(null)");
    return m;
}

const char *tc_kit_check_extra_unset(const tc_kit_result *r, const char *addr, const char *key)
{
    const tc_kit_extra *e = tc_kit_extra_of(r, addr, key);
    return e ? fail("%s extra %s: emitted %u times but should not be", addr, key, e->times) : NULL;
}

int tc_kit_expect_(const char *failure, const char *file, int line)
{
    if (!failure) {
        passes++;
        return 1;
    }
    failures++;
    fprintf(stderr, "%s:%d: %s\n", file, line, failure);
    return 0;
}

unsigned tc_kit_failures(void)
{
    return failures;
}

unsigned tc_kit_passes(void)
{
    return passes;
}
