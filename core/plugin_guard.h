/* What a plugin's fatal signal leaves behind in-process (the default): one
 * line on stderr naming the plugin, its source and the call, written from
 * the signal handler, before the signal kills the process as it would have.
 * Every call into a plugin (its constructor at dlopen, create, build,
 * parse, destroy) is bracketed by plugin_guard_enter / _leave. */
#ifndef TC_PLUGIN_GUARD_H
#define TC_PLUGIN_GUARD_H

/* Installs the handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT (on
 * an alternate stack, so a plugin's stack overflow is reported too). The
 * binary calls it; tests and sanitizers keep their own handlers. */
void plugin_guard_install(void);

/* What the line says happens next (a static string); the default is the
 * collector's own death, a plugin's process (isolation_child.c) says so. */
void plugin_guard_set_note(const char *text);

/* The plugin (its name or file), the source and the call now running on
 * this thread. The strings must outlive the call. Nesting is not needed. */
void plugin_guard_enter(const char *plugin, const char *source, const char *call);
void plugin_guard_leave(void);

#endif
