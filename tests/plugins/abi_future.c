/* Test plugin: claims a future ABI major; the host must refuse it. */
#include "tokencollector/plugin.h"

static const tc_source desc = {
    .abi_major = 99, .abi_minor = 0, .struct_size = sizeof(tc_source), .name = "abi_future", .max_chunk = 1};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
