/* Test kit: loading a plugin .so the way the host does (dlopen RTLD_NOW |
 * RTLD_LOCAL, tc_source_entry, the descriptor checks), and the kit's
 * checked allocation. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_arena.h" /* core/: the host's arena, built into the kit too */
#include "kit_internal.h"

void *kit_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

void *kit_realloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p)
        abort();
    return p;
}

char *kit_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = kit_calloc(1, n);
    memcpy(p, s, n);
    return p;
}

/* The host's rule (core/registry.c): ABI 1.0's members must be covered. */
static const size_t min_source_size = offsetof(tc_source, parse_response) + sizeof(((tc_source *)0)->parse_response);

int tc_kit_check_source(const tc_source *s, char *err, size_t errlen)
{
    if (!s)
        snprintf(err, errlen, TC_SOURCE_ENTRY_SYMBOL "() returned NULL");
    else if (s->abi_major != TC_ABI_MAJOR)
        snprintf(err, errlen, "was built for plugin ABI %u.%u, this host speaks ABI %d.%d", s->abi_major, s->abi_minor,
                 TC_ABI_MAJOR, TC_ABI_MINOR);
    else if (s->struct_size < min_source_size)
        snprintf(err, errlen, "descriptor is %u bytes, ABI %d.%d needs at least %zu (ABI %u.%u)", s->struct_size,
                 TC_ABI_MAJOR, TC_ABI_MINOR, min_source_size, s->abi_major, s->abi_minor);
    else if (!s->name || !s->create || !s->destroy || !s->build_request || !s->parse_response)
        snprintf(err, errlen, "descriptor lacks a name or a required function");
    else if (s->max_chunk == 0)
        snprintf(err, errlen, "descriptor has max_chunk 0");
    else
        return 0;
    return -1;
}

static char *resolve(const char *path)
{
    const char *dir = getenv("TC_PLUGIN_DIR");
    if (strchr(path, '/'))
        return kit_strdup(path);
    if (!dir || !*dir)
        dir = ".";
    size_t n = strlen(dir) + strlen(path) + 2;
    char *full = kit_calloc(1, n);
    snprintf(full, n, "%s/%s", dir, path);
    return full;
}

/* The host serves cJSON's memory during parse_response from an arena it
 * drops when the call returns (core/json_arena.h); the kit does the same to
 * the plugin's libcjson, found through the plugin's own dependencies, so a
 * plugin that keeps that memory or frees it with free() fails its tests here
 * rather than in the host. cJSON_Hooks is two function pointers, malloc's
 * and free's, in every cJSON release; the kit does not include cJSON. */
typedef struct kit_cjson_hooks {
    void *(*malloc_fn)(size_t);
    void (*free_fn)(void *);
} kit_cjson_hooks;

static void use_host_allocator(void *dl)
{
    void (*init_hooks)(kit_cjson_hooks *) = NULL;
    *(void **)&init_hooks = dlsym(dl, "cJSON_InitHooks");
    if (!init_hooks)
        return; /* the plugin does not use libcjson */
    kit_cjson_hooks hooks = {json_arena_malloc, json_arena_free};
    init_hooks(&hooks);
}

tc_kit_plugin *tc_kit_load(const char *path, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    tc_kit_plugin *p = kit_calloc(1, sizeof *p);
    p->path = resolve(path ? path : "");
    p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        snprintf(err, errlen, "cannot load plugin %s: %s", p->path, dlerror());
        tc_kit_unload(p);
        return NULL;
    }
    dlerror();
    const tc_source *(*entry)(void) = NULL;
    *(void **)&entry = dlsym(p->dl, TC_SOURCE_ENTRY_SYMBOL);
    char problem[320];
    if (!entry)
        snprintf(problem, sizeof problem, "does not export " TC_SOURCE_ENTRY_SYMBOL "()");
    else if (tc_kit_check_source(p->src = entry(), problem, sizeof problem) == 0) {
        use_host_allocator(p->dl);
        return p;
    }
    snprintf(err, errlen, "plugin %s %s", p->path, problem);
    tc_kit_unload(p);
    return NULL;
}

void tc_kit_unload(tc_kit_plugin *p)
{
    if (!p)
        return;
    if (p->dl)
        dlclose(p->dl);
    free(p->path);
    free(p);
}

const tc_source *tc_kit_source(const tc_kit_plugin *p)
{
    return p->src;
}

const char *tc_kit_path(const tc_kit_plugin *p)
{
    return p->path;
}
