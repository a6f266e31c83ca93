/* Test plugin: a source that crashes where it is told to. Setting `crash` =
 * build (in build_request), parse (in parse_response, after a real request
 * to the fake's /prices), hang (parse_response never returns) or once (the
 * first parse_response crashes, after creating the file `crash_marker`;
 * later ones, in a restarted process, find it and answer); the variable
 * TC_TEST_CRASH_CONSTRUCTOR=1 makes its constructor crash at dlopen, before
 * any of the host's checks. It stands for a buggy third-party .so. */
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokencollector/plugin.h"

typedef struct crasher {
    const tc_host *host;
    char base[256];
    int where; /* 0: never, 1: build, 2: parse, 3: hang, 4: once */
    char marker[512];
} crasher;

__attribute__((constructor)) static void crash_at_load(void)
{
    const char *c = getenv("TC_TEST_CRASH_CONSTRUCTOR");
    if (c && !strcmp(c, "1"))
        raise(SIGSEGV);
}

static const char *const keys[] = {"crash", "crash_marker", NULL};

static int create(const tc_host *host, const tc_settings *settings, void **self, char *err, size_t errlen)
{
    crasher *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->host = host;
    const char *w = host->setting(settings, "crash"), *b = host->setting(settings, "base_url");
    c->where = !w ? 0 : !strcmp(w, "build") ? 1 : !strcmp(w, "parse") ? 2 : !strcmp(w, "hang") ? 3
             : !strcmp(w, "once") ? 4 : -1;
    const char *m = host->setting(settings, "crash_marker");
    snprintf(c->marker, sizeof c->marker, "%s", m ? m : "");
    if (c->where < 0 || (c->where == 4 && !c->marker[0])) {
        snprintf(err, errlen, "crash: expected build, parse, hang or once (with crash_marker)");
        free(c);
        return -1;
    }
    snprintf(c->base, sizeof c->base, "%s", b ? b : "http://127.0.0.1:1");
    *self = c;
    return 0;
}

static void destroy(void *self) { free(self); }

static int build(void *self, const char *const *addrs, size_t n, tc_request *req)
{
    crasher *c = self;
    if (c->where == 1)
        raise(SIGSEGV);
    char url[512];
    snprintf(url, sizeof url, "%s/prices?ids=%s", c->base, n ? addrs[0] : "");
    return c->host->request_url(req, TC_GET, url);
}

static tc_status parse(void *self, const char *const *addrs, size_t n, const tc_response *res, const tc_emit *out,
                       tc_outcome *outcome)
{
    crasher *c = self;
    (void)addrs, (void)n, (void)res, (void)outcome;
    if (c->where == 2)
        raise(SIGSEGV);
    if (c->where == 3)
        for (;;)
            pause();
    if (c->where == 4) {
        FILE *f = fopen(c->marker, "r");
        if (!f) {
            f = fopen(c->marker, "w");
            if (f)
                fclose(f);
            raise(SIGSEGV);
        }
        fclose(f);
    }
    for (size_t i = 0; i < n; i++)
        out->known(out->ctx, addrs[i]);
    return TC_OK;
}

static const tc_source desc = {.abi_major = TC_ABI_MAJOR,
                               .abi_minor = TC_ABI_MINOR,
                               .struct_size = sizeof(tc_source),
                               .name = "crasher",
                               .version = "0",
                               .description = "test plugin that crashes on demand",
                               .max_chunk = 10,
                               .config_keys = keys,
                               .create = create,
                               .destroy = destroy,
                               .build_request = build,
                               .parse_response = parse};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
