/* Test plugin with typed settings (ABI 1.1), whose entries are larger than
 * this host's tc_setting_def, as a plugin of a later minor would build
 * them: the host must step through them by setting_size. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "inert.h"
#include "tokencollector/plugin.h"

typedef struct later_setting_def {
    tc_setting_def def;
    const char *added_in_a_later_minor;
} later_setting_def;

static const later_setting_def settings[] = {
    {{"depth", TC_SETTING_INT, "3", "levels to look at", 1, 10}, "x"},
    {{"ratio", TC_SETTING_NUMBER, NULL, "a share", 0, 1}, "x"},
    {{"fast", TC_SETTING_BOOL, "false", "skip the slow part", 1, 0}, "x"},
    {{"label", TC_SETTING_STRING, NULL, "any text", 1, 0}, "x"},
    {{NULL, 0, NULL, NULL, 0, 0}, NULL},
};

static const tc_source desc = {.abi_major = TC_ABI_MAJOR,
                               .abi_minor = TC_ABI_MINOR,
                               .struct_size = sizeof(tc_source),
                               .name = "typed_settings",
                               .version = "1.1.0",
                               .description = "a plugin with typed settings",
                               .max_chunk = 10,
                               .create = inert_create,
                               .destroy = inert_destroy,
                               .build_request = inert_build,
                               .parse_response = inert_parse,
                               .settings = &settings[0].def,
                               .setting_size = sizeof(later_setting_def)};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
