/* Test plugin: a well-formed source that counts its live instances, so tests
 * can see create/destroy and reference counting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokencollector/plugin.h"

static int live_instances;
static const char *const keys[] = {"greeting", NULL};

TC_EXPORT int counting_live_instances(void);
int counting_live_instances(void) { return live_instances; }

static int create(const tc_host *host, const tc_settings *settings, void **self, char *err, size_t errlen)
{
    const char *g = host->setting(settings, "greeting");
    if (g && !strcmp(g, "refuse")) {
        snprintf(err, errlen, "greeting must not be \"refuse\"");
        return -1;
    }
    *self = malloc(1);
    live_instances++;
    return 0;
}

static void destroy(void *self)
{
    free(self);
    live_instances--;
}

static int build(void *self, const char *const *addrs, size_t n, tc_request *req)
{
    (void)self, (void)addrs, (void)n, (void)req;
    return -1;
}

static tc_status parse(void *self, const char *const *addrs, size_t n, const tc_response *res, const tc_emit *out,
                       tc_outcome *outcome)
{
    (void)self, (void)addrs, (void)n, (void)res, (void)out, (void)outcome;
    return TC_FATAL;
}

static const tc_source desc = {.abi_major = TC_ABI_MAJOR,
                               .abi_minor = TC_ABI_MINOR,
                               .struct_size = sizeof(tc_source),
                               .name = "counting",
                               .version = "0",
                               .description = "test plugin",
                               .max_chunk = 10,
                               .config_keys = keys,
                               .create = create,
                               .destroy = destroy,
                               .build_request = build,
                               .parse_response = parse};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
