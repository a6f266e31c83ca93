/* Test plugin: a well-formed source that counts its live instances, so tests
 * can see create/destroy and reference counting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inert.h"
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
                               .build_request = inert_build,
                               .parse_response = inert_parse};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
