#include "registry.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isolation.h"
#include "log.h"
#include "plugin_guard.h"
#include "plugin_settings.h"
#include "util.h"

#include <sys/stat.h>
#include <unistd.h>

/* What identifies the build of a plugin file: a new build installed over
 * the path (install, mv) has another inode, size or mtime. */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

struct plugin_module {
    char *path;
    file_id id;
    void *handle;
    int refs;
    plugin_module *next;
};

/* Modules are few and loaded on the main thread; a list is enough. */
static plugin_module *modules;

char *registry_resolve_path(const char *plugin_dir, const char *plugin)
{
    if (plugin[0] == '/' || !strncmp(plugin, "./", 2) || !strncmp(plugin, "../", 3) || !plugin_dir ||
        !*plugin_dir)
        return xstrdup(plugin);
    strbuf b = {0};
    sb_printf(&b, "%s/%s", plugin_dir, plugin);
    return b.data;
}

static int file_id_of(const char *path, file_id *id)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *id = (file_id){st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    return 0;
}

static int same_file(const file_id *a, const file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Copies PATH to a private temporary file, whose name and inode glibc has
 * not seen: dlopen() of the original path would return the handle of the
 * build already loaded. */
static char *private_copy(const char *path, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    strbuf name = {0};
    sb_printf(&name, "%s/tokencollector-plugin-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int out = mkstemp(name.data), in = open(path, O_RDONLY | O_CLOEXEC);
    char buf[65536];
    ssize_t n = 0;
    while (out >= 0 && in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    if (out < 0 || in < 0 || n < 0 || close(out) != 0) {
        snprintf(err, errlen, "cannot copy the new build to %s: %s", name.data, strerror(errno));
        if (out >= 0)
            unlink(name.data);
        sb_free(&name);
        name.data = NULL;
    }
    if (in >= 0)
        close(in);
    return name.data;
}

/* dlopen of PATH, or of a private copy of it when another build of PATH is
 * loaded already, so both can be resident while the old one drains. */
static void *open_build(const char *path, int another_loaded, char *dlerr, size_t dlerrlen)
{
    char *copy = another_loaded ? private_copy(path, dlerr, dlerrlen) : NULL;
    if (another_loaded && !copy)
        return NULL;
    /* RTLD_LOCAL keeps plugins from seeing each other's symbols. */
    plugin_guard_enter(path, NULL, "its constructor (dlopen)");
    void *h = dlopen(copy ? copy : path, RTLD_NOW | RTLD_LOCAL);
    plugin_guard_leave();
    if (!h)
        snprintf(dlerr, dlerrlen, "%s", dlerror());
    if (copy)
        unlink(copy); /* the mapping outlives the name */
    free(copy);
    return h;
}

static plugin_module *module_get(const char *path, char *dlerr, size_t dlerrlen)
{
    file_id id = {0};
    int have_id = file_id_of(path, &id) == 0, another = 0;
    for (plugin_module *m = modules; m; m = m->next)
        if (!strcmp(m->path, path)) {
            if (have_id && !same_file(&m->id, &id)) {
                another = 1;
                continue;
            }
            m->refs++;
            return m;
        }
    void *h = open_build(path, another, dlerr, dlerrlen);
    if (!h)
        return NULL;
    plugin_module *m = xcalloc(1, sizeof *m);
    m->path = xstrdup(path);
    m->id = id;
    m->handle = h;
    m->refs = 1;
    m->next = modules;
    modules = m;
    return m;
}

static void module_put(plugin_module *m)
{
    if (--m->refs > 0)
        return;
    for (plugin_module **p = &modules; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            break;
        }
    dlclose(m->handle);
    free(m->path);
    free(m);
}

/* ---- tc_host services for plugins ---------------------------------------- */

static void host_log(void *ctx, tc_log_level level, const char *fmt, ...)
{
    source_instance *inst = ctx;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, inst->name, fmt, ap);
    va_end(ap);
}

static const char *host_setting(const tc_settings *settings, const char *key)
{
    const cfg_source *src = (const cfg_source *)settings;
    return cfg_source_get(src, key);
}

static int host_request_url(tc_request *req, tc_method method, const char *url)
{
    if ((method != TC_GET && method != TC_POST) || !url ||
        (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return -1;
    free(req->url);
    req->url = xstrdup(url);
    req->method = method;
    return 0;
}

static int host_request_header(tc_request *req, const char *name, const char *value)
{
    if (!name || !value || !*name || strpbrk(name, ":\r\n") || strpbrk(value, "\r\n"))
        return -1;
    strbuf b = {0};
    sb_printf(&b, "%s: %s", name, value);
    req->headers = xrealloc(req->headers, (req->n_headers + 1) * sizeof *req->headers);
    req->headers[req->n_headers++] = b.data;
    return 0;
}

static int host_request_body(tc_request *req, const char *content_type, const char *body, size_t len)
{
    if (!body)
        return -1;
    free(req->body);
    free(req->content_type);
    req->body = xmalloc(len + 1);
    memcpy(req->body, body, len);
    req->body[len] = '\0';
    req->body_len = len;
    req->content_type = content_type ? xstrdup(content_type) : NULL;
    return 0;
}

void request_reset(tc_request *req)
{
    free(req->url);
    for (size_t i = 0; i < req->n_headers; i++)
        free(req->headers[i]);
    free(req->headers);
    free(req->body);
    free(req->content_type);
    memset(req, 0, sizeof *req);
}

/* ---- loading ------------------------------------------------------------- */

/* "WHERE[source NAME] ..." with WHERE the FILE:LINE (or environment
 * variable) of KEY, or of the section when KEY is NULL. */
static void errf(char *err, size_t errlen, const char *cfg_path, const cfg_source *src, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void errf(char *err, size_t errlen, const char *cfg_path, const cfg_source *src, const char *key,
                 const char *fmt, ...)
{
    char where[512];
    if (key)
        cfg_source_key_where(cfg_path, src, key, where, sizeof where);
    else
        snprintf(where, sizeof where, "%s:%d: ", cfg_path, src->line);
    int n = snprintf(err, errlen, "%s[source %s] ", where, src->name);
    if (n < 0 || (size_t)n >= errlen)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* The descriptor must be at least as large as ABI 1.0's, with every
 * required member set, before anything in it is trusted. */
static const size_t min_source_size =
    offsetof(tc_source, parse_response) + sizeof(((tc_source *)0)->parse_response);

/* The module's descriptor once it passed every check made before anything
 * in it is trusted; NULL with PROBLEM otherwise. */
static const tc_source *checked_descriptor(plugin_module *mod, char *problem, size_t len)
{
    dlerror();
    const tc_source *(*entry)(void) = NULL;
    *(void **)&entry = dlsym(mod->handle, TC_SOURCE_ENTRY_SYMBOL);
    const tc_source *vt = entry ? entry() : NULL;
    if (!entry)
        snprintf(problem, len, "does not export " TC_SOURCE_ENTRY_SYMBOL "()");
    else if (!vt)
        snprintf(problem, len, TC_SOURCE_ENTRY_SYMBOL "() returned NULL");
    else if (vt->abi_major != TC_ABI_MAJOR)
        snprintf(problem, len, "was built for plugin ABI %u.%u, this host speaks ABI %d.%d", vt->abi_major,
                 vt->abi_minor, TC_ABI_MAJOR, TC_ABI_MINOR);
    else if (vt->struct_size < min_source_size)
        snprintf(problem, len, "descriptor is %u bytes, ABI %d.%d needs at least %zu (ABI %u.%u)", vt->struct_size,
                 TC_ABI_MAJOR, TC_ABI_MINOR, min_source_size, vt->abi_major, vt->abi_minor);
    else if (!vt->name || !vt->create || !vt->destroy || !vt->build_request || !vt->parse_response)
        snprintf(problem, len, "descriptor lacks a name or a required function");
    else if (vt->max_chunk == 0)
        snprintf(problem, len, "descriptor has max_chunk 0");
    else
        return vt;
    return NULL;
}

int registry_describe(const char *path, FILE *out, int markdown, char *err, size_t errlen)
{
    char dlerr[512], problem[320];
    plugin_module *mod = module_get(path, dlerr, sizeof dlerr);
    if (!mod) {
        snprintf(err, errlen, "cannot load plugin %s: %s", path, dlerr);
        return -1;
    }
    const tc_source *vt = checked_descriptor(mod, problem, sizeof problem);
    if (vt)
        plugin_settings_print(vt, out, markdown);
    else
        snprintf(err, errlen, "plugin %s %s", path, problem);
    module_put(mod);
    return vt ? 0 : -1;
}

source_instance *registry_open(const char *cfg_path, const char *plugin_dir, const cfg_source *src,
                               char *err, size_t errlen)
{
    if (src->isolation && !strcmp(src->isolation, "process"))
    {
        char *path = registry_resolve_path(plugin_dir, src->plugin);
        source_instance *inst = isolation_open(cfg_path, path, src, err, errlen); /* nothing of it loaded here */
        free(path);
        return inst;
    }
    char *path = registry_resolve_path(plugin_dir, src->plugin);
    char dlerr[512];
    plugin_module *mod = module_get(path, dlerr, sizeof dlerr);
    if (!mod) {
        errf(err, errlen, cfg_path, src, "plugin", "cannot load plugin %s: %s", path, dlerr);
        free(path);
        return NULL;
    }
    char problem[320];
    const tc_source *vt = checked_descriptor(mod, problem, sizeof problem);
    if (!vt) {
        errf(err, errlen, cfg_path, src, "plugin", "plugin %s %s; not loaded", path, problem);
        module_put(mod);
        free(path);
        return NULL;
    }
    if (plugin_settings_check(vt, cfg_path, src, err, errlen) != 0) {
        module_put(mod);
        free(path);
        return NULL;
    }
    if (src->chunk_size > 0 && (size_t)src->chunk_size > vt->max_chunk) {
        errf(err, errlen, cfg_path, src, "chunk_size", "chunk_size %ld is above plugin %s's maximum of %zu per request",
             src->chunk_size, vt->name, vt->max_chunk);
        module_put(mod);
        free(path);
        return NULL;
    }
    source_instance *inst = xcalloc(1, sizeof *inst);
    inst->refs = 1;
    inst->cfg = cfg_source_copy(src); /* its own: the config may be replaced by a reload */
    inst->name = xstrdup(src->name);
    inst->path = path;
    inst->module = mod;
    inst->vt = vt;
    inst->chunk_size = src->chunk_size > 0 ? (size_t)src->chunk_size : vt->max_chunk;
    inst->loaded_at = now_wall_s();
    inst->host = (tc_host){.struct_size = sizeof(tc_host),
                           .ctx = inst,
                           .log = host_log,
                           .setting = host_setting,
                           .request_url = host_request_url,
                           .request_header = host_request_header,
                           .request_body = host_request_body};
    char perr[256] = "";
    plugin_guard_enter(vt->name, inst->name, "create");
    int created = vt->create(&inst->host, (const tc_settings *)inst->cfg, &inst->self, perr, sizeof perr);
    plugin_guard_leave();
    if (created != 0) {
        errf(err, errlen, cfg_path, src, NULL, "plugin %s refused its settings: %s", vt->name,
             perr[0] ? perr : "(no reason given)");
        module_put(mod);
        cfg_source_free(inst->cfg);
        free(inst->name);
        free(inst->path);
        free(inst);
        return NULL;
    }
    return inst;
}

int registry_build_changed(const source_instance *inst)
{
    file_id now;
    /* An isolated plugin is not loaded here: its process loads the file as
     * it is when it (re)starts. */
    return inst->module && file_id_of(inst->path, &now) == 0 && !same_file(&now, &inst->module->id);
}

void source_ref(source_instance *inst) { inst->refs++; }

void source_unref(source_instance *inst)
{
    if (!inst || --inst->refs > 0)
        return;
    plugin_guard_enter(inst->vt->name, inst->name, "destroy");
    inst->vt->destroy(inst->self);
    plugin_guard_leave();
    if (inst->module) /* none for an isolated plugin (isolation_host.c) */
        module_put(inst->module);
    cfg_source_free(inst->cfg);
    free(inst->name);
    free(inst->path);
    free(inst);
}
