/* Plugin registry: loads each [source NAME] .so with dlopen, checks its ABI
 * before calling anything, creates the instance with its settings. Loaded
 * objects are shared between instances of the same file and reference
 * counted, so an instance can be replaced while requests built by the old one
 * are still in flight: each in-flight request holds a reference. */
#ifndef TC_REGISTRY_H
#define TC_REGISTRY_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "tokencollector/plugin.h"

typedef struct plugin_module plugin_module; /* one dlopen'ed .so */

typedef struct source_instance {
    int refs;
    cfg_source *cfg;           /* its own copy of the section it was created from */
    char *name;                /* section name: "jupiter", "jupiter_prices", ... */
    char *path;                /* resolved .so path */
    plugin_module *module;
    const tc_source *vt;
    void *self;                /* the plugin's instance state */
    tc_host host;              /* what the plugin got in create() */
    size_t chunk_size;         /* configured, <= vt->max_chunk */
    long long loaded_at;       /* unix seconds: when this instance was created */
} source_instance;

/* Resolves PLUGIN against PLUGIN_DIR (absolute paths and ./ paths are kept). */
char *registry_resolve_path(const char *plugin_dir, const char *plugin);

/* Loads and creates the instance for SRC. On error returns NULL with
 * "FILE:LINE: ..." in ERR (CFG_PATH is the config file). */
source_instance *registry_open(const char *cfg_path, const char *plugin_dir,
                               const cfg_source *src, char *err, size_t errlen);

/* Loads the plugin at PATH without creating an instance and prints its
 * name, version, limits and config keys (MARKDOWN: its README's table).
 * 0, or -1 with ERR. */
int registry_describe(const char *path, FILE *out, int markdown, char *err, size_t errlen);

/* 1 when the file INST was loaded from now holds another build (installed
 * over it since): a reload then creates a new instance from the new build,
 * which registry_open loads beside the old one. */
int registry_build_changed(const source_instance *inst);

void source_ref(source_instance *inst);
/* Drops a reference; the last one destroys the instance and may dlclose. */
void source_unref(source_instance *inst);

/* Request object the plugin fills through tc_host.request_*. */
struct tc_request {
    int method;
    char *url;
    char **headers; /* "Name: value" */
    size_t n_headers;
    char *body;
    size_t body_len;
    char *content_type;
};
void request_reset(struct tc_request *req);

#endif
