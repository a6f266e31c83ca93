/* Plugin test harness: see plugin_harness.h. No main(); libc + libdl only. */
#include "plugin_harness.h"

#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *ph_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) abort();
    memcpy(p, s, n);
    return p;
}

/* ---- Loading ---------------------------------------------------------------- */

int ph_abi_check(const tc_source *s, char *err, size_t errlen) {
    if (!s) {
        snprintf(err, errlen, "tc_source_entry returned NULL");
        return -1;
    }
    if (s->abi_major != TC_ABI_MAJOR) {
        snprintf(err, errlen, "plugin ABI %u.%u, host ABI %d.%d", s->abi_major, s->abi_minor,
                 TC_ABI_MAJOR, TC_ABI_MINOR);
        return -1;
    }
    size_t need = offsetof(tc_source, parse_response) + sizeof s->parse_response;
    if (s->struct_size < need) {
        snprintf(err, errlen, "struct_size %u < %zu", s->struct_size, need);
        return -1;
    }
    if (!s->name || !*s->name || !s->version || !s->description || s->max_chunk == 0 ||
        !s->create || !s->destroy || !s->build_request || !s->parse_response) {
        snprintf(err, errlen, "descriptor incomplete");
        return -1;
    }
    return 0;
}

int ph_plugin_load(ph_plugin *p, const char *name, char *err, size_t errlen) {
    const char *dir = getenv("TC_PLUGIN_DIR");
    if (!dir || !*dir) dir = "build/plugins";
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s/%s.so", dir, name);
    p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        snprintf(err, errlen, "dlopen %s: %s", p->path, dlerror());
        return -1;
    }
    const tc_source *(*entry)(void);
    *(void **)&entry = dlsym(p->dl, TC_SOURCE_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(err, errlen, "%s: no %s", p->path, TC_SOURCE_ENTRY_SYMBOL);
        dlclose(p->dl);
        p->dl = NULL;
        return -1;
    }
    p->src = entry();
    if (ph_abi_check(p->src, err, errlen) != 0) {
        dlclose(p->dl);
        p->dl = NULL;
        p->src = NULL;
        return -1;
    }
    return 0;
}

void ph_plugin_unload(ph_plugin *p) {
    if (p && p->dl) dlclose(p->dl);
    if (p) {
        p->dl = NULL;
        p->src = NULL;
    }
}

/* ---- Fake host ------------------------------------------------------------ */

static void host_log(void *ctx, tc_log_level level, const char *fmt, ...) {
    ph_instance *in = ctx;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->last_log, sizeof in->last_log, fmt, ap);
    va_end(ap);
    if ((unsigned)level < 4) in->nlog[level]++;
    if (getenv("PH_VERBOSE")) fprintf(stderr, "[plugin log %d] %s\n", (int)level, in->last_log);
}

static const char *host_setting(const tc_settings *ts, const char *key) {
    const ph_settings *s = (const ph_settings *)ts;
    if (!s || !s->kv || !key) return NULL;
    for (const char *const *kv = s->kv; kv[0] && kv[1]; kv += 2)
        if (strcmp(kv[0], key) == 0) return kv[1];
    return NULL;
}

static int req_url(tc_request *tr, tc_method m, const char *url) {
    ph_request *r = (ph_request *)tr;
    r->url_calls++;
    if (!url || (m != TC_GET && m != TC_POST)) {
        r->bad_calls++;
        return -1;
    }
    free(r->url);
    r->url = ph_strdup(url);
    r->method = m;
    return 0;
}

static int req_header(tc_request *tr, const char *name, const char *value) {
    ph_request *r = (ph_request *)tr;
    if (!name || !*name || !value || r->nheaders >= PH_MAX_HEADERS || strchr(name, ':') ||
        strpbrk(value, "\r\n")) {
        r->bad_calls++;
        return -1;
    }
    r->hname[r->nheaders] = ph_strdup(name);
    r->hvalue[r->nheaders] = ph_strdup(value);
    r->nheaders++;
    return 0;
}

static int req_body(tc_request *tr, const char *ct, const char *body, size_t len) {
    ph_request *r = (ph_request *)tr;
    r->body_calls++;
    if (!body && len) {
        r->bad_calls++;
        return -1;
    }
    free(r->body);
    free(r->content_type);
    r->body = malloc(len + 1);
    if (!r->body) abort();
    if (len) memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
    r->content_type = ph_strdup(ct);
    return 0;
}

ph_instance *ph_create(ph_plugin *p, const char *const *kv, char *err, size_t errlen) {
    ph_instance *in = calloc(1, sizeof *in);
    if (!in) abort();
    in->plugin = p;
    in->settings.kv = kv;
    in->host.struct_size = sizeof(tc_host);
    in->host.ctx = in;
    in->host.log = host_log;
    in->host.setting = host_setting;
    in->host.request_url = req_url;
    in->host.request_header = req_header;
    in->host.request_body = req_body;
    if (err && errlen) err[0] = '\0';
    char buf[256] = "";
    if (p->src->create(&in->host, (const tc_settings *)&in->settings, &in->self, buf, sizeof buf) != 0) {
        if (err) snprintf(err, errlen, "%s", buf);
        free(in);
        return NULL;
    }
    return in;
}

void ph_destroy(ph_instance *in) {
    if (!in) return;
    in->plugin->src->destroy(in->self);
    free(in);
}

int ph_build(ph_instance *in, const char *const *addrs, size_t n, ph_request *req) {
    memset(req, 0, sizeof *req);
    return in->plugin->src->build_request(in->self, addrs, n, (tc_request *)req);
}

void ph_request_free(ph_request *r) {
    free(r->url);
    free(r->body);
    free(r->content_type);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->hname[i]);
        free(r->hvalue[i]);
    }
    memset(r, 0, sizeof *r);
}

const char *ph_request_header(const ph_request *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->hname[i], name) == 0) return r->hvalue[i];
    return NULL;
}

/* ---- Collecting emit ---------------------------------------------------- */

static ph_token *find_tok(ph_collect *c, const char *addr) {
    if (!addr) return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->tok[i].addr, addr) == 0) return &c->tok[i];
    return NULL;
}

static int is_str_field(int f) {
    return f == TC_NAME || f == TC_SYMBOL || f == TC_IMAGE_URL || f == TC_DESCRIPTION || f == TC_SUPPLY;
}

static int emit_str(void *ctx, const char *addr, tc_field f, const char *value) {
    ph_collect *c = ctx;
    c->calls++;
    ph_token *t = find_tok(c, addr);
    if (!t || !value || f <= 0 || f >= PH_NFIELDS || !is_str_field(f)) {
        c->rejected++;
        return -1;
    }
    t->known = 1;
    t->set_count[f]++;
    free(t->str[f]);
    t->str[f] = ph_strdup(value);
    return 0;
}

static int emit_num(void *ctx, const char *addr, tc_field f, double value) {
    ph_collect *c = ctx;
    c->calls++;
    ph_token *t = find_tok(c, addr);
    if (!t || f <= 0 || f >= PH_NFIELDS || is_str_field(f) || !isfinite(value)) {
        c->rejected++;
        return -1;
    }
    t->known = 1;
    t->set_count[f]++;
    t->num[f] = value;
    return 0;
}

static int emit_link(void *ctx, const char *addr, tc_link_kind kind, const char *label, const char *url) {
    ph_collect *c = ctx;
    c->calls++;
    ph_token *t = find_tok(c, addr);
    if (!t || !url || !*url || (kind != TC_LINK_WEBSITE && kind != TC_LINK_SOCIAL)) {
        c->rejected++;
        return -1;
    }
    t->known = 1;
    t->links = realloc(t->links, (t->nlinks + 1) * sizeof *t->links);
    if (!t->links) abort();
    t->links[t->nlinks].kind = kind;
    t->links[t->nlinks].label = ph_strdup(label);
    t->links[t->nlinks].url = ph_strdup(url);
    t->nlinks++;
    return 0;
}

static int emit_known(void *ctx, const char *addr) {
    ph_collect *c = ctx;
    c->calls++;
    ph_token *t = find_tok(c, addr);
    if (!t) {
        c->rejected++;
        return -1;
    }
    t->known = 1;
    return 0;
}

int ph_extra_key_ok(const char *key) {
    static const char *const fields[] = {"name", "symbol", "decimals", "image_url", "description", "supply",
                                         "price_usd", "market_cap", "fdv", "liquidity_usd", "volume_24h",
                                         "change_24h", "websites", "socials"};
    if (!key || *key < 'a' || *key > 'z' || strlen(key) > TC_EXTRA_KEY_MAX) return 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(key, fields[i]) == 0) return 0;
    return 1;
}

static ph_extra *find_extra(ph_token *t, const char *key) {
    for (size_t i = 0; t && i < t->nextras; i++)
        if (strcmp(t->extras[i].key, key) == 0) return &t->extras[i];
    return NULL;
}

/* What the host checks of an extra (plugin.h), then kept like a field. */
static int emit_extra(ph_collect *c, const char *addr, const char *key, char type, double num,
                      const char *str) {
    c->calls++;
    ph_token *t = find_tok(c, addr);
    if (!t || !ph_extra_key_ok(key) || (type == 'n' && !isfinite(num)) ||
        (type == 's' && (!str || strlen(str) > TC_EXTRA_STR_MAX))) {
        c->rejected++;
        return -1;
    }
    ph_extra *e = find_extra(t, key);
    if (!e) {
        if (t->nextras >= TC_EXTRA_MAX) {
            c->rejected++;
            return -1;
        }
        t->extras = realloc(t->extras, (t->nextras + 1) * sizeof *t->extras);
        if (!t->extras) abort();
        e = &t->extras[t->nextras++];
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    t->known = 1;
    e->set_count++;
    e->type = type;
    e->num = num;
    free(e->str);
    e->str = ph_strdup(str);
    return 0;
}

static int emit_extra_num(void *ctx, const char *addr, const char *key, double value) {
    return emit_extra(ctx, addr, key, 'n', value, NULL);
}

static int emit_extra_str(void *ctx, const char *addr, const char *key, const char *value) {
    return emit_extra(ctx, addr, key, 's', 0, value);
}

static int emit_extra_bool(void *ctx, const char *addr, const char *key, int value) {
    return emit_extra(ctx, addr, key, 'b', value != 0, NULL);
}

void ph_collect_free(ph_collect *c) {
    for (size_t i = 0; i < c->n; i++) {
        ph_token *t = &c->tok[i];
        for (int f = 0; f < PH_NFIELDS; f++) free(t->str[f]);
        for (size_t k = 0; k < t->nlinks; k++) {
            free(t->links[k].label);
            free(t->links[k].url);
        }
        free(t->links);
        for (size_t k = 0; k < t->nextras; k++) free(t->extras[k].str);
        free(t->extras);
    }
    free(c->tok);
    memset(c, 0, sizeof *c);
}

static void collect_init(ph_collect *c, const char *const *addrs, size_t n, uint32_t emit_size) {
    memset(c, 0, sizeof *c);
    c->n = n;
    c->tok = calloc(n ? n : 1, sizeof *c->tok);
    if (!c->tok) abort();
    for (size_t i = 0; i < n; i++) c->tok[i].addr = addrs[i];
    c->emit.struct_size = sizeof c->emit;
    c->emit.ctx = c;
    c->emit.str = emit_str;
    c->emit.num = emit_num;
    c->emit.link = emit_link;
    c->emit.known = emit_known;
    c->emit.extra_num = emit_extra_num;
    c->emit.extra_str = emit_extra_str;
    c->emit.extra_bool = emit_extra_bool;
    if (emit_size) c->emit.struct_size = emit_size; /* an older host's: the plugin must not look further */
}

tc_status ph_parse(ph_instance *in, const char *const *addrs, size_t n, long status,
                   const char *body, size_t len, ph_collect *out, tc_outcome *outcome) {
    tc_outcome local;
    if (!outcome) outcome = &local;
    memset(outcome, 0x5a, sizeof *outcome); /* garbage: the plugin must not rely on it */
    outcome->struct_size = sizeof *outcome;
    collect_init(out, addrs, n, in->emit_size);
    char *copy = malloc(len + 1);
    if (!copy) abort();
    if (len) memcpy(copy, body, len);
    copy[len] = '\0';
    tc_response res = {sizeof(tc_response), status, copy, len, "application/json"};
    tc_status st = in->plugin->src->parse_response(in->self, addrs, n, &res, &out->emit, outcome);
    memset(copy, 0, len + 1); /* the plugin must not keep pointers into RES */
    free(copy);
    outcome->message[sizeof outcome->message - 1] = '\0';
    return st;
}

char *ph_fixture(const char *relpath, size_t *len) {
    const char *dir = getenv("TC_FIXTURE_DIR");
    char path[1024];
    if (!dir || !*dir) dir = "tests/fixtures";
    snprintf(path, sizeof path, "%s/%s", dir, relpath);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) abort();
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) abort();
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0) break;
        n += r;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

tc_status ph_parse_fixture(ph_instance *in, const char *const *addrs, size_t n, long status,
                           const char *fixture, ph_collect *out, tc_outcome *outcome) {
    size_t len = 0;
    char *body = ph_fixture(fixture, &len);
    if (!body) {
        fprintf(stderr, "fixture %s not found (TC_FIXTURE_DIR=%s)\n", fixture,
                getenv("TC_FIXTURE_DIR") ? getenv("TC_FIXTURE_DIR") : "(unset)");
        abort();
    }
    tc_status st = ph_parse(in, addrs, n, status, body, len, out, outcome);
    free(body);
    return st;
}

/* ---- Lookups ------------------------------------------------------------------ */

const ph_token *ph_tok(const ph_collect *c, const char *addr) {
    return find_tok((ph_collect *)c, addr);
}

int ph_has(const ph_collect *c, const char *addr, tc_field f) {
    const ph_token *t = ph_tok(c, addr);
    return t && f > 0 && f < PH_NFIELDS && t->set_count[f] > 0;
}

const char *ph_str(const ph_collect *c, const char *addr, tc_field f) {
    const ph_token *t = ph_tok(c, addr);
    return (t && f > 0 && f < PH_NFIELDS) ? t->str[f] : NULL;
}

double ph_num(const ph_collect *c, const char *addr, tc_field f) {
    return ph_has(c, addr, f) ? ph_tok(c, addr)->num[f] : NAN;
}

size_t ph_nfields(const ph_collect *c, const char *addr) {
    const ph_token *t = ph_tok(c, addr);
    size_t k = 0;
    for (int f = 1; t && f < PH_NFIELDS; f++) k += t->set_count[f] > 0;
    return k;
}

size_t ph_nlinks(const ph_collect *c, const char *addr) {
    const ph_token *t = ph_tok(c, addr);
    return t ? t->nlinks : 0;
}

const char *ph_link_url(const ph_collect *c, const char *addr, tc_link_kind kind, const char *label) {
    const ph_token *t = ph_tok(c, addr);
    for (size_t i = 0; t && i < t->nlinks; i++) {
        const ph_link *l = &t->links[i];
        if (l->kind != (int)kind) continue;
        if ((!label && !l->label) || (label && l->label && strcmp(label, l->label) == 0)) return l->url;
    }
    return NULL;
}

const ph_extra *ph_extra_of(const ph_collect *c, const char *addr, const char *key) {
    return key ? find_extra((ph_token *)ph_tok(c, addr), key) : NULL;
}

size_t ph_duplicates(const ph_collect *c) {
    size_t d = 0;
    for (size_t i = 0; i < c->n; i++) {
        for (int f = 1; f < PH_NFIELDS; f++) d += c->tok[i].set_count[f] > 1;
        for (size_t k = 0; k < c->tok[i].nextras; k++) d += c->tok[i].extras[k].set_count > 1;
    }
    return d;
}

int ph_empty(const ph_collect *c) {
    if (c->calls) return 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->tok[i].known) return 0;
    return 1;
}

/* ---- Robustness sweeps ---------------------------------------------------- */

size_t ph_prefix_sweep(ph_instance *in, const char *const *addrs, size_t n, const char *body,
                       size_t len, size_t *first_bad) {
    size_t end = len, bad = 0;
    while (end > 0 && (body[end - 1] == ' ' || body[end - 1] == '\n' || body[end - 1] == '\r' ||
                       body[end - 1] == '\t'))
        end--;
    /* Bodies above 4 KiB are sampled (a stride that keeps the sweep fast,
     * plus every cut in the last 64 bytes); PH_FULL_SWEEP=1 tries them all. */
    size_t stride = getenv("PH_FULL_SWEEP") ? 1 : 1 + end / 4096;
    for (size_t k = 0; k < end; k++) {
        if (k % stride != 0 && k + 64 < end) continue;
        ph_collect c;
        tc_outcome o;
        tc_status st = ph_parse(in, addrs, n, 200, body, k, &c, &o);
        if (st != TC_RETRY || !ph_empty(&c)) {
            if (bad++ == 0 && first_bad) *first_bad = k;
        }
        ph_collect_free(&c);
    }
    return bad;
}

static unsigned ph_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

size_t ph_mutation_fuzz(ph_instance *in, const char *const *addrs, size_t n, const char *body,
                        size_t len, unsigned seed, int iterations, size_t status_counts[3]) {
    static const char pool[] = "{}[]\",:\\0123456789-+.eE nul\x01\xff\xc3";
    size_t problems = 0;
    const char *env = getenv("PH_FUZZ_ITERATIONS"); /* for longer local runs */
    if (env && atoi(env) > 0) iterations = atoi(env);
    char *buf = malloc(2 * len + 64);
    if (!buf || len == 0) abort();
    for (int it = 0; it < iterations; it++) {
        memcpy(buf, body, len);
        size_t blen = len;
        int edits = 1 + (int)(ph_rand(&seed) % 4);
        for (int e = 0; e < edits && blen > 0; e++) {
            size_t pos = ((size_t)ph_rand(&seed) << 15 | ph_rand(&seed)) % blen;
            switch (ph_rand(&seed) % 4) {
            case 0: /* replace */
                buf[pos] = pool[ph_rand(&seed) % (sizeof pool - 1)];
                break;
            case 1: /* delete */
                memmove(buf + pos, buf + pos + 1, blen - pos - 1);
                blen--;
                break;
            case 2: { /* duplicate a short span */
                size_t span = 1 + ph_rand(&seed) % 24;
                if (pos + span > blen) span = blen - pos;
                if (blen + span <= 2 * len + 63) {
                    memmove(buf + pos + span, buf + pos, blen - pos);
                    blen += span;
                }
                break;
            }
            default: /* cut */
                blen = pos;
                break;
            }
        }
        ph_collect c;
        tc_outcome o;
        tc_status st = ph_parse(in, addrs, n, 200, buf, blen, &c, &o);
        if (status_counts && (unsigned)st <= 2) status_counts[st]++;
        if ((unsigned)st > 2) problems++;
        problems += c.rejected + ph_duplicates(&c);
        if (st != TC_OK && !ph_empty(&c)) problems++; /* emitted, then failed */
        ph_collect_free(&c);
    }
    free(buf);
    return problems;
}
