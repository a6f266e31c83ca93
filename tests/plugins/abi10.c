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
                               .parse_response = inert_parse,
                               .settings = (const tc_setting_def *)(uintptr_t)0x10,
                               .setting_size = 0xdead};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
