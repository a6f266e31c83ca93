/* The host side of isolation = process (isolation.h): the child's life
 * (spawn, hello, restart with backoff), and the descriptor the engine calls,
 * whose build_request and parse_response forward over the pipe. A child
 * that crashes, hangs past isolation_timeout_ms or breaks the protocol is
 * killed and reaped, logged with the plugin's name and the signal, and
 * started again after a backoff (100 ms doubling to 30 s, reset by a good
 * call); meanwhile its calls fail as retryable, so the chunk is retried and
 * the breaker counts it. The collector never stops for it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolation.h"
#include "isolation_proto.h"
#include "log.h"
#include "util.h"

#define BACKOFF_FIRST_NS (100 * NS_PER_MS)
#define BACKOFF_MAX_NS (30 * NS_PER_S)

typedef struct iso_channel {
    tc_source vt;             /* what the engine calls: the child's identity, our functions */
    char *name, *version, *description;
    tc_field_class *fields;   /* the child plugin's field classes (ABI 1.2), or NULL */
    char *cfg_path, *source;  /* what a restarted child loads */
    pid_t pid;                /* 0: no child (restarting) */
    int to_child, from_child;
    int timeout_ms;
    int64_t restart_at_ns, backoff_ns;
    unsigned restarts;
    int last_failed;          /* the last call failed for the child's sake */
    strbuf frame;
} iso_channel;

static void close_child(iso_channel *ch)
{
    if (ch->to_child >= 0)
        close(ch->to_child);
    if (ch->from_child >= 0)
        close(ch->from_child);
    ch->to_child = ch->from_child = -1;
}

/* Kills (when told) and reaps the child; describes how it ended in WHY. */
static void reap(iso_channel *ch, int kill_it, char *why, size_t whylen)
{
    if (!ch->pid)
        return;
    if (kill_it)
        kill(ch->pid, SIGKILL);
    close_child(ch);
    int status = 0;
    while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        snprintf(why, whylen, "died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(why, whylen, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(why, whylen, "ended");
    ch->pid = 0;
}

/* Starts the child and reads its hello: 0, or -1 with ERR. */
static int spawn(iso_channel *ch, char *err, size_t errlen)
{
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) != 0)
        goto pipe_failed;
    if (pipe2(up, O_CLOEXEC) != 0) {
        close(down[0]);
        close(down[1]);
        goto pipe_failed;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "[source %s] cannot start the plugin's process: %s", ch->source, strerror(errno));
        close(down[0]), close(down[1]), close(up[0]), close(up[1]);
        return -1;
    }
    if (pid == 0) { /* the child: exec at once, the host's state is not ours to touch */
        dup2(down[0], 0);
        dup2(up[1], 1);
        execl("/proc/self/exe", "tokencollector", "--plugin-child", ch->cfg_path, ch->source, (char *)NULL);
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    ch->pid = pid;
    ch->to_child = down[1];
    ch->from_child = up[0];
    int type = iso_read_frame(ch->from_child, ch->timeout_ms, &ch->frame);
    iso_reader r = {ch->frame.data, ch->frame.data + ch->frame.len, 0};
    if (type == ISO_HELLO) {
        char *name = iso_get_str(&r, NULL), *version = iso_get_str(&r, NULL), *desc = iso_get_str(&r, NULL);
        uint32_t major = iso_get_u32(&r), minor = iso_get_u32(&r);
        int64_t max_chunk = iso_get_i64(&r);
        (void)iso_get_i64(&r);
        uint32_t n_fc = iso_get_u32(&r);
        tc_field_class *fc = NULL;
        if (!r.bad && n_fc && n_fc < 4096) {
            fc = xcalloc(n_fc + 1, sizeof *fc); /* ends with field 0 */
            for (uint32_t i = 0; i < n_fc; i++)
                fc[i] = (tc_field_class){.field = iso_get_u32(&r), .freshness = iso_get_u32(&r)};
        }
        if (!r.bad && name && max_chunk > 0) {
            free(ch->fields);
            ch->fields = fc;
            ch->vt.fields = fc;
            free(ch->name), free(ch->version), free(ch->description);
            ch->name = name, ch->version = version, ch->description = desc;
            ch->vt.name = ch->name;
            ch->vt.version = ch->version;
            ch->vt.description = ch->description;
            ch->vt.abi_major = (uint16_t)major;
            ch->vt.abi_minor = (uint16_t)minor;
            ch->vt.max_chunk = (size_t)max_chunk;
            return 0;
        }
        free(name), free(version), free(desc), free(fc);
    }
    char why[128] = "";
    if (type == ISO_FAIL) {
        char *msg = iso_get_str(&r, NULL);
        snprintf(err, errlen, "%s", msg ? msg : "the plugin's process could not load it");
        free(msg);
        reap(ch, 0, why, sizeof why);
        return -1;
    }
    reap(ch, 1, why, sizeof why);
    snprintf(err, errlen, "[source %s] the plugin's process %s while loading it%s", ch->source,
             type == -2 ? "did not answer in time" : why, type == -2 ? " (killed)" : "");
    return -1;
pipe_failed:
    snprintf(err, errlen, "[source %s] cannot create the plugin's pipes: %s", ch->source, strerror(errno));
    return -1;
}

/* The child failed during CALL (TYPE: what the read gave): kill, reap, log
 * and set the restart time. */
static void child_failed(iso_channel *ch, const char *call, int type)
{
    char why[128] = "";
    reap(ch, 1, why, sizeof why);
    int64_t wait = ch->backoff_ns ? ch->backoff_ns : BACKOFF_FIRST_NS;
    ch->restart_at_ns = now_mono_ns() + wait;
    ch->backoff_ns = wait * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : wait * 2;
    ch->restarts++;
    ch->last_failed = 1;
    LOG_ERROR(ch->source, "plugin %s's process %s during %s%s; restarted in %lld ms (restart %u); the chunk is "
              "retried", ch->vt.name, type == -2 ? "hung" : why, call,
              type == -2 ? " (killed after isolation_timeout_ms)" : "", (long long)(wait / NS_PER_MS), ch->restarts);
}

/* A child to call, starting one when the backoff allows: 0, or -1. */
static int ready(iso_channel *ch)
{
    if (ch->pid)
        return 0;
    /* A short backoff is waited out here (the engine's thread pauses for at
     * most 250 ms) rather than spending one of the chunk's attempts. */
    int64_t left = ch->restart_at_ns - now_mono_ns();
    if (left > 250 * NS_PER_MS)
        return -1;
    if (left > 0)
        usleep((useconds_t)(left / 1000));
    char err[1024];
    if (spawn(ch, err, sizeof err) != 0) {
        LOG_ERROR(ch->source, "%s", err);
        int64_t wait = ch->backoff_ns ? ch->backoff_ns : BACKOFF_FIRST_NS;
        ch->restart_at_ns = now_mono_ns() + wait;
        ch->backoff_ns = wait * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : wait * 2;
        return -1;
    }
    LOG_INFO(ch->source, "plugin %s's process started again (pid %ld)", ch->vt.name, (long)ch->pid);
    return 0;
}

/* One exchange: the request frame out, the answer of type WANT in. */
static int call(iso_channel *ch, int type, const strbuf *payload, int want, const char *what)
{
    ch->last_failed = 0;
    if (ready(ch) != 0) {
        ch->last_failed = 1;
        return -1;
    }
    int got = iso_write_frame(ch->to_child, type, payload) == 0 ? iso_read_frame(ch->from_child, ch->timeout_ms,
                                                                               &ch->frame)
                                                               : -1;
    if (got != want) {
        child_failed(ch, what, got);
        return -1;
    }
    ch->backoff_ns = 0;
    return 0;
}

static void put_addrs(strbuf *b, const char *const *addrs, size_t n)
{
    iso_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        iso_put_str(b, addrs[i]);
}

static int proxy_build(void *self, const char *const *addrs, size_t n, tc_request *req)
{
    iso_channel *ch = self;
    strbuf p = {0};
    put_addrs(&p, addrs, n);
    int rc = call(ch, ISO_BUILD, &p, ISO_BUILT, "build_request");
    sb_free(&p);
    if (rc != 0)
        return -1;
    iso_reader r = {ch->frame.data, ch->frame.data + ch->frame.len, 0};
    uint32_t failed = iso_get_u32(&r);
    req->method = (int)iso_get_u32(&r);
    req->url = iso_get_str(&r, NULL);
    size_t nh = iso_get_u32(&r);
    if (nh > 4096)
        r.bad = 1;
    for (size_t i = 0; i < nh && !r.bad; i++) {
        req->headers = xrealloc(req->headers, (req->n_headers + 1) * sizeof *req->headers);
        req->headers[req->n_headers++] = iso_get_str(&r, NULL);
    }
    req->body = iso_get_str(&r, &req->body_len);
    req->content_type = iso_get_str(&r, NULL);
    if (r.bad) {
        child_failed(ch, "build_request (a malformed answer)", -1);
        return -1;
    }
    return failed ? -1 : 0;
}

/* Replays the child's recorded values into the host's tc_emit: the host's
 * checks (emit.c) judge them as if the plugin had called them. */
static int replay(iso_reader *r, const tc_emit *out)
{
    for (;;) {
        uint32_t op = iso_get_u32(r);
        if (r->bad)
            return -1;
        if (op == OP_END)
            return 0;
        char *addr = iso_get_str(r, NULL), *key = NULL, *s = NULL, *u = NULL;
        uint32_t k;
        double v;
        switch (op) {
        case OP_STR: k = iso_get_u32(r), s = iso_get_str(r, NULL);
            if (!r->bad) out->str(out->ctx, addr, (tc_field)k, s);
            break;
        case OP_NUM: k = iso_get_u32(r), v = iso_get_f64(r);
            if (!r->bad) out->num(out->ctx, addr, (tc_field)k, v);
            break;
        case OP_LINK: k = iso_get_u32(r), s = iso_get_str(r, NULL), u = iso_get_str(r, NULL);
            if (!r->bad) out->link(out->ctx, addr, (tc_link_kind)k, s, u);
            break;
        case OP_KNOWN:
            if (!r->bad) out->known(out->ctx, addr);
            break;
        case OP_XNUM: key = iso_get_str(r, NULL), v = iso_get_f64(r);
            if (!r->bad) out->extra_num(out->ctx, addr, key, v);
            break;
        case OP_XSTR: key = iso_get_str(r, NULL), s = iso_get_str(r, NULL);
            if (!r->bad) out->extra_str(out->ctx, addr, key, s);
            break;
        case OP_XBOOL: key = iso_get_str(r, NULL), k = iso_get_u32(r);
            if (!r->bad) out->extra_bool(out->ctx, addr, key, (int)k);
            break;
        default: r->bad = 1;
        }
        free(addr), free(key), free(s), free(u);
    }
}

static tc_status proxy_parse(void *self, const char *const *addrs, size_t n, const tc_response *res,
                             const tc_emit *out, tc_outcome *outcome)
{
    iso_channel *ch = self;
    strbuf p = {0};
    put_addrs(&p, addrs, n);
    iso_put_i64(&p, res->status);
    iso_put_str(&p, res->content_type);
    iso_put_bytes(&p, res->body, res->body ? res->body_len : 0);
    int rc = call(ch, ISO_PARSE, &p, ISO_PARSED, "parse_response");
    sb_free(&p);
    if (rc != 0) {
        snprintf(outcome->message, sizeof outcome->message, "plugin %s's process failed (crash, hang or restart)",
                 ch->vt.name);
        return TC_RETRY;
    }
    iso_reader r = {ch->frame.data, ch->frame.data + ch->frame.len, 0};
    if (replay(&r, out) != 0) {
        child_failed(ch, "parse_response (a malformed answer)", -1);
        snprintf(outcome->message, sizeof outcome->message, "plugin %s's process sent a malformed answer",
                 ch->vt.name);
        return TC_RETRY;
    }
    tc_status st = (tc_status)iso_get_u32(&r);
    char *msg = iso_get_str(&r, NULL);
    outcome->retry_after_ms = (int32_t)iso_get_u32(&r);
    snprintf(outcome->message, sizeof outcome->message, "%s", msg ? msg : "");
    free(msg);
    return r.bad ? TC_RETRY : st;
}

static int proxy_create(const tc_host *host, const tc_settings *settings, void **self, char *err, size_t errlen)
{
    (void)host, (void)settings, (void)self;
    snprintf(err, errlen, "an isolated plugin is created in its own process");
    return -1;
}

static void proxy_destroy(void *self)
{
    iso_channel *ch = self;
    if (ch->pid) { /* stdin closed: the child destroys its instance and exits */
        close(ch->to_child);
        ch->to_child = -1;
        char why[128];
        int64_t deadline = now_mono_ns() + 2 * NS_PER_S;
        int status;
        while (waitpid(ch->pid, &status, WNOHANG) == 0 && now_mono_ns() < deadline)
            usleep(10000);
        if (waitpid(ch->pid, &status, WNOHANG) == 0)
            reap(ch, 1, why, sizeof why);
        else
            ch->pid = 0;
        close_child(ch);
    }
    free(ch->name), free(ch->version), free(ch->description), free(ch->fields);
    free(ch->cfg_path), free(ch->source);
    sb_free(&ch->frame);
    free(ch);
}

int isolation_call_failed(const source_instance *inst)
{
    return inst->vt && inst->vt->destroy == proxy_destroy && ((const iso_channel *)inst->self)->last_failed;
}

source_instance *isolation_open(const char *cfg_path, const char *path, const cfg_source *src, char *err,
                                size_t errlen)
{
    signal(SIGPIPE, SIG_IGN); /* a dead child is seen as EPIPE, not a signal to us */
    iso_channel *ch = xcalloc(1, sizeof *ch);
    ch->cfg_path = xstrdup(cfg_path);
    ch->source = xstrdup(src->name);
    ch->to_child = ch->from_child = -1;
    ch->timeout_ms = (int)src->isolation_timeout_ms;
    ch->vt = (tc_source){.struct_size = sizeof(tc_source), .create = proxy_create, .destroy = proxy_destroy,
                         .build_request = proxy_build, .parse_response = proxy_parse};
    if (spawn(ch, err, errlen) != 0) {
        proxy_destroy(ch);
        return NULL;
    }
    source_instance *inst = xcalloc(1, sizeof *inst);
    inst->refs = 1;
    inst->cfg = cfg_source_copy(src);
    inst->name = xstrdup(src->name);
    inst->path = xstrdup(path);
    inst->vt = &ch->vt;
    inst->self = ch;
    inst->chunk_size = src->chunk_size > 0 && (size_t)src->chunk_size <= ch->vt.max_chunk ? (size_t)src->chunk_size
                                                                                          : ch->vt.max_chunk;
    inst->loaded_at = now_wall_s();
    LOG_INFO(src->name, "plugin %s %s runs in its own process (pid %ld)", ch->vt.name,
             ch->vt.version ? ch->vt.version : "?", (long)ch->pid);
    return inst;
}
