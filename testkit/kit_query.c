/* Test kit: what a test asks of a tc_kit_result, per address of the chunk:
 * fields, links and extras. */
#include <math.h>
#include <string.h>

#include "kit_internal.h"

static int field_ok(tc_field f)
{
    return f > 0 && f < KIT_NFIELDS;
}

int tc_kit_known(const tc_kit_result *r, const char *addr)
{
    const kit_token *t = kit_token_of(r, addr);
    return t && t->known;
}

unsigned tc_kit_times(const tc_kit_result *r, const char *addr, tc_field f)
{
    const kit_token *t = kit_token_of(r, addr);
    return t && field_ok(f) ? t->times[f] : 0;
}

const char *tc_kit_str(const tc_kit_result *r, const char *addr, tc_field f)
{
    const kit_token *t = kit_token_of(r, addr);
    return t && field_ok(f) ? t->str[f] : NULL;
}

double tc_kit_num(const tc_kit_result *r, const char *addr, tc_field f)
{
    const kit_token *t = kit_token_of(r, addr);
    return t && field_ok(f) && t->times[f] && !kit_field_is_string(f) ? t->num[f] : NAN;
}

size_t tc_kit_nfields(const tc_kit_result *r, const char *addr)
{
    const kit_token *t = kit_token_of(r, addr);
    size_t k = 0;
    for (int f = 1; t && f < KIT_NFIELDS; f++)
        k += t->times[f] > 0;
    return k;
}

size_t tc_kit_nlinks(const tc_kit_result *r, const char *addr)
{
    const kit_token *t = kit_token_of(r, addr);
    return t ? t->nlinks : 0;
}

const tc_kit_link *tc_kit_link_at(const tc_kit_result *r, const char *addr, size_t i)
{
    const kit_token *t = kit_token_of(r, addr);
    return t && i < t->nlinks ? &t->links[i] : NULL;
}

const char *tc_kit_link_url(const tc_kit_result *r, const char *addr, tc_link_kind kind, const char *label)
{
    const kit_token *t = kit_token_of(r, addr);
    for (size_t i = 0; t && i < t->nlinks; i++) {
        const tc_kit_link *l = &t->links[i];
        if (l->kind == kind && (label ? l->label && !strcmp(label, l->label) : !l->label))
            return l->url;
    }
    return NULL;
}

size_t tc_kit_duplicates(const tc_kit_result *res)
{
    const kit_result *r = (const kit_result *)res;
    size_t d = 0;
    for (size_t i = 0; r && i < r->n; i++) {
        for (int f = 1; f < KIT_NFIELDS; f++)
            d += r->tok[i].times[f] > 1;
        for (size_t k = 0; k < r->tok[i].nextras; k++)
            d += r->tok[i].extras[k].times > 1;
    }
    return d;
}

int tc_kit_empty(const tc_kit_result *r)
{
    return !r || r->calls == 0; /* a value or a known mark needs a call */
}

size_t tc_kit_nextras(const tc_kit_result *r, const char *addr)
{
    const kit_token *t = kit_token_of(r, addr);
    return t ? t->nextras : 0;
}

const tc_kit_extra *tc_kit_extra_at(const tc_kit_result *r, const char *addr, size_t i)
{
    const kit_token *t = kit_token_of(r, addr);
    return t && i < t->nextras ? &t->extras[i] : NULL;
}

const tc_kit_extra *tc_kit_extra_of(const tc_kit_result *r, const char *addr, const char *key)
{
    const kit_token *t = kit_token_of(r, addr);
    for (size_t i = 0; t && key && i < t->nextras; i++)
        if (strcmp(t->extras[i].key, key) == 0)
            return &t->extras[i];
    return NULL;
}
