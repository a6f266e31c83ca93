/* The arena installed as cJSON's allocator for the host (json_arena.h):
 * the one part of it that links libcjson, kept apart so that the test kit
 * can build json_arena.c without it. */
#include <cjson/cJSON.h>

#include "json_arena.h"

void json_arena_install(void)
{
    cJSON_Hooks hooks = {.malloc_fn = json_arena_malloc, .free_fn = json_arena_free};
    cJSON_InitHooks(&hooks);
}
