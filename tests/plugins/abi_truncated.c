/* Test plugin: right major, but a descriptor too short to hold the required
 * members (as an older, broken build might); the host must refuse it. */
#include "tokencollector/plugin.h"

static const tc_source desc = {
    .abi_major = TC_ABI_MAJOR, .abi_minor = 0, .struct_size = 16, .name = "abi_truncated", .max_chunk = 1};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
