/* cJSON's memory during a plugin's parse_response: taken from a per-thread
 * arena and dropped at once at the end, instead of one malloc and one free
 * per node and string (which, with malloc's consolidation of the freed
 * nodes, was most of what parsing an answer cost).
 *
 * Installed as cJSON's hooks once, before any thread starts. Outside a
 * json_arena_begin / json_arena_end window, and on every other thread,
 * the hooks are plain malloc and free; a free of memory the arena gave is
 * a no-op wherever it happens on the thread that owns it. The plugin ABI
 * already forbids keeping anything from one parse to the next, so nothing
 * a plugin allocates through cJSON while parsing outlives the window. */
#ifndef TC_JSON_ARENA_H
#define TC_JSON_ARENA_H

#include <stddef.h>

/* Sets cJSON's hooks to the two below (json_arena_hooks.c; idempotent;
 * call before starting threads). */
void json_arena_install(void);
/* cJSON's malloc_fn and free_fn: inside a window on this thread the arena,
 * else malloc and free (a free of the arena's memory is a no-op). */
void *json_arena_malloc(size_t n);
void json_arena_free(void *p);
/* From here until json_arena_end, cJSON allocations on this thread come
 * from its arena. */
void json_arena_begin(void);
/* 0 in a build with AddressSanitizer: there windows stay closed. */
int json_arena_enabled(void);
/* Ends the window: the arena's memory is reused by the next one (what is
 * above JSON_ARENA_KEEP is given back). */
void json_arena_end(void);

#endif
