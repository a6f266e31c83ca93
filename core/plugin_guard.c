/* The fatal-signal report of an in-process plugin (plugin_guard.h). The
 * handler uses only async-signal-safe calls (write, sigaction, raise): no
 * stdio, no allocation, no lock. */
#include "plugin_guard.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Thread_local const char *cur_plugin, *cur_source, *cur_call;
static const char *note = "the collector stops; its claims are taken back at its next start "
                          "(isolation = process keeps a crashing plugin in a child)";

void plugin_guard_set_note(const char *text) { note = text; }

void plugin_guard_enter(const char *plugin, const char *source, const char *call)
{
    cur_plugin = plugin;
    cur_source = source;
    cur_call = call;
}

void plugin_guard_leave(void) { cur_plugin = cur_source = cur_call = NULL; }

static void put(char *buf, size_t *n, size_t cap, const char *s)
{
    while (s && *s && *n + 1 < cap)
        buf[(*n)++] = *s++;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
    }
}

static void on_fatal(int sig)
{
    char line[512];
    size_t n = 0;
    put(line, &n, sizeof line, "error [plugin] ");
    put(line, &n, sizeof line, signal_name(sig));
    if (cur_plugin) {
        put(line, &n, sizeof line, " in plugin ");
        put(line, &n, sizeof line, cur_plugin);
        if (cur_source) {
            put(line, &n, sizeof line, " (source ");
            put(line, &n, sizeof line, cur_source);
            put(line, &n, sizeof line, ")");
        }
        put(line, &n, sizeof line, " during ");
        put(line, &n, sizeof line, cur_call ? cur_call : "a call");
        put(line, &n, sizeof line, ": ");
        put(line, &n, sizeof line, note);
    } else
        put(line, &n, sizeof line, " outside any plugin call: the collector stops");
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    /* SA_RESETHAND restored the default action: the process dies of SIG as before. */
    raise(sig);
}

void plugin_guard_install(void)
{
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}
