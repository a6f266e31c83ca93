/* Test plugin with typed settings (ABI 1.1), whose entries are larger than
 * this host's tc_setting_def, as a plugin of a later minor would build
 * them: the host must step through them by setting_size. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

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

static int create(const tc_host *host, const tc_settings *s, void **self, char *err, size_t errlen)
{
    (void)host, (void)s, (void)err, (void)errlen;
    *self = malloc(1);
    return 0;
}

static void destroy(void *self) { free(self); }

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
                               .name = "typed_settings",
                               .version = "1.1.0",
                               .description = "a plugin with typed settings",
                               .max_chunk = 10,
                               .create = create,
                               .destroy = destroy,
                               .build_request = build,
                               .parse_response = parse,
                               .settings = &settings[0].def,
                               .setting_size = sizeof(later_setting_def)};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
