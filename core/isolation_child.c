/* The child side of isolation = process (isolation.h): the plugin loaded
 * in-process here (its constructor runs here only), then one frame in, one
 * frame out: build_request's request, parse_response's emitted values
 * recorded as ops for the host to replay through its own checks. Its
 * stderr is the collector's; a fatal signal here is reported by
 * plugin_guard and ends only this process. */
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "isolation.h"
#include "isolation_proto.h"
#include "log.h"
#include "plugin_guard.h"
#include "registry.h"

static int rec_str(void *ctx, const char *addr, tc_field f, const char *v)
{
    strbuf *b = ctx;
    iso_put_u32(b, OP_STR), iso_put_str(b, addr), iso_put_u32(b, (uint32_t)f), iso_put_str(b, v);
    return 0;
}
static int rec_num(void *ctx, const char *addr, tc_field f, double v)
{
    strbuf *b = ctx;
    iso_put_u32(b, OP_NUM), iso_put_str(b, addr), iso_put_u32(b, (uint32_t)f), iso_put_f64(b, v);
    return 0;
}
static int rec_link(void *ctx, const char *addr, tc_link_kind k, const char *label, const char *url)
{
    strbuf *b = ctx;
    iso_put_u32(b, OP_LINK), iso_put_str(b, addr), iso_put_u32(b, (uint32_t)k), iso_put_str(b, label);
    iso_put_str(b, url);
    return 0;
}
static int rec_known(void *ctx, const char *addr)
{
    strbuf *b = ctx;
    iso_put_u32(b, OP_KNOWN), iso_put_str(b, addr);
    return 0;
}
static int rec_xnum(void *ctx, const char *addr, const char *key, double v)
{
    strbuf *b = ctx;
    iso_put_u32(b, OP_XNUM), iso_put_str(b, addr), iso_put_str(b, key), iso_put_f64(b, v);
    return 0;
}
static int rec_xstr(void *ctx, const char *addr, const char *key, const char *v)
{
    strbuf *b = ctx;
    iso_put_u32(b, OP_XSTR), iso_put_str(b, addr), iso_put_str(b, key), iso_put_str(b, v);
    return 0;
}
static int rec_xbool(void *ctx, const char *addr, const char *key, int v)
{
    strbuf *b = ctx;
    iso_put_u32(b, OP_XBOOL), iso_put_str(b, addr), iso_put_str(b, key), iso_put_u32(b, v != 0);
    return 0;
}

/* The chunk's addresses at the start of a BUILD or PARSE payload. */
static char **read_addrs(iso_reader *r, size_t *n)
{
    *n = iso_get_u32(r);
    if (r->bad || *n > 100000) {
        r->bad = 1;
        *n = 0;
        return NULL;
    }
    char **a = xcalloc(*n ? *n : 1, sizeof *a);
    for (size_t i = 0; i < *n; i++)
        a[i] = iso_get_str(r, NULL);
    return a;
}

static void free_addrs(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

static int serve_build(source_instance *inst, iso_reader *r, strbuf *out)
{
    size_t n;
    char **addrs = read_addrs(r, &n);
    if (r->bad) {
        free_addrs(addrs, n);
        return -1;
    }
    tc_request req = {0};
    plugin_guard_enter(inst->vt->name, inst->name, "build_request");
    int rc = inst->vt->build_request(inst->self, (const char *const *)addrs, n, &req);
    plugin_guard_leave();
    iso_put_u32(out, (uint32_t)(rc != 0));
    iso_put_u32(out, (uint32_t)req.method);
    iso_put_str(out, req.url);
    iso_put_u32(out, (uint32_t)req.n_headers);
    for (size_t i = 0; i < req.n_headers; i++)
        iso_put_str(out, req.headers[i]);
    iso_put_bytes(out, req.body, req.body ? req.body_len : 0);
    iso_put_str(out, req.content_type);
    request_reset(&req);
    free_addrs(addrs, n);
    return 0;
}

static int serve_parse(source_instance *inst, iso_reader *r, strbuf *out)
{
    size_t n, body_len;
    char **addrs = read_addrs(r, &n);
    long status = (long)iso_get_i64(r);
    char *ct = iso_get_str(r, NULL);
    char *body = iso_get_str(r, &body_len);
    if (r->bad) {
        free_addrs(addrs, n);
        free(ct);
        free(body);
        return -1;
    }
    tc_response resp = {.struct_size = sizeof resp, .status = status, .body = body ? body : "",
                        .body_len = body_len, .content_type = ct};
    tc_emit em = {.struct_size = sizeof em, .ctx = out, .str = rec_str, .num = rec_num, .link = rec_link,
                  .known = rec_known, .extra_num = rec_xnum, .extra_str = rec_xstr, .extra_bool = rec_xbool};
    tc_outcome outcome = {.struct_size = sizeof outcome, .retry_after_ms = -1};
    plugin_guard_enter(inst->vt->name, inst->name, "parse_response");
    tc_status st = inst->vt->parse_response(inst->self, (const char *const *)addrs, n, &resp, &em, &outcome);
    plugin_guard_leave();
    outcome.message[sizeof outcome.message - 1] = '\0';
    iso_put_u32(out, OP_END);
    iso_put_u32(out, (uint32_t)st);
    iso_put_str(out, outcome.message);
    iso_put_u32(out, (uint32_t)outcome.retry_after_ms);
    free_addrs(addrs, n);
    free(ct);
    free(body);
    return 0;
}

int isolation_child_main(const char *cfg_path, const char *source)
{
    plugin_guard_install();
    plugin_guard_set_note("this plugin's process ends; the collector logs it, restarts it and retries the chunk");
    signal(SIGINT, SIG_IGN); /* the host decides when this child ends (stdin closed) */
    signal(SIGTERM, SIG_DFL);
    config cfg;
    char err[1024];
    strbuf out = {0};
    if (config_load(cfg_path, &cfg, err, sizeof err) != 0) {
        iso_put_str(&out, err);
        iso_write_frame(1, ISO_FAIL, &out);
        return 2;
    }
    cfg_source *src = NULL;
    for (size_t i = 0; i < cfg.n_sources && !src; i++)
        if (!strcmp(cfg.sources[i].name, source))
            src = &cfg.sources[i];
    if (!src) {
        snprintf(err, sizeof err, "%s: no [source %s] any more", cfg_path, source);
        iso_put_str(&out, err);
        iso_write_frame(1, ISO_FAIL, &out);
        return 2;
    }
    free(src->isolation);
    src->isolation = xstrdup("in-process"); /* here, the plugin is loaded in-process */
    source_instance *inst = registry_open(cfg.path, cfg.plugin_dir, src, err, sizeof err);
    if (!inst) {
        iso_put_str(&out, err);
        iso_write_frame(1, ISO_FAIL, &out);
        return 2;
    }
    iso_put_str(&out, inst->vt->name);
    iso_put_str(&out, inst->vt->version);
    iso_put_str(&out, inst->vt->description);
    iso_put_u32(&out, inst->vt->abi_major);
    iso_put_u32(&out, inst->vt->abi_minor);
    iso_put_i64(&out, (int64_t)inst->vt->max_chunk);
    iso_put_i64(&out, (int64_t)inst->chunk_size);
    /* The field classes (ABI 1.2), so the host routes and merges the isolated
     * plugin's fields as it would in-process: a count, then (field, class). */
    const tc_source *vt = inst->vt;
    const tc_field_class *fc = vt->abi_minor >= 2 && vt->struct_size >= offsetof(tc_source, fields) + sizeof vt->fields
                                   ? vt->fields
                                   : NULL;
    uint32_t n_fc = 0;
    while (fc && fc[n_fc].field)
        n_fc++;
    iso_put_u32(&out, n_fc);
    for (uint32_t i = 0; i < n_fc; i++) {
        iso_put_u32(&out, fc[i].field);
        iso_put_u32(&out, fc[i].freshness);
    }
    if (iso_write_frame(1, ISO_HELLO, &out) != 0)
        return 1;
    strbuf in = {0};
    int type;
    while ((type = iso_read_frame(0, -1, &in)) > 0) {
        iso_reader r = {in.data, in.data + in.len, 0};
        out.len = 0;
        int rc = type == ISO_BUILD ? serve_build(inst, &r, &out) : type == ISO_PARSE ? serve_parse(inst, &r, &out) : -1;
        if (rc != 0 || iso_write_frame(1, type == ISO_BUILD ? ISO_BUILT : ISO_PARSED, &out) != 0)
            break;
    }
    source_unref(inst);
    config_free(&cfg);
    sb_free(&in);
    sb_free(&out);
    return 0;
}
