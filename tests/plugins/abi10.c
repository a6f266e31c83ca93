/* Test plugin as built against ABI 1.0: minor 0, a descriptor that ends
 * after parse_response, its keys as a bare name list. The members ABI 1.1
 * appended hold garbage here, so a host that read past struct_size would
 * crash instead of passing the test. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "inert.h"
#include "tokencollector/plugin.h"

static const char *const keys[] = {"region", NULL};

/* Names every address with the setters ABI 1.0 has: it knows nothing of
 * the extras that ABI 1.1 appended to tc_emit, and never calls them. */
static tc_status parse(void *self, const char *const *addrs, size_t n, const tc_response *res, const tc_emit *out,
                       tc_outcome *outcome)
{
    (void)self, (void)res, (void)outcome;
    for (size_t i = 0; i < n; i++)
        out->str(out->ctx, addrs[i], TC_NAME, "abi10");
    return TC_OK;
}

static const tc_source desc = {.abi_major = 1,
                               .abi_minor = 0,
                               .struct_size = (uint32_t)offsetof(tc_source, settings),
                               .name = "abi10",
                               .version = "1.0.0",
                               .description = "a plugin built for ABI 1.0",
                               .max_chunk = 10,
                               .config_keys = keys,
                               .create = inert_create,
                               .destroy = inert_destroy,
                               .build_request = inert_build,
                               .parse_response = parse,
                               .settings = (const tc_setting_def *)(uintptr_t)0x10,
                               .setting_size = 0xdead};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
