/* `[source NAME] isolation = process`: the plugin runs in a child process
 * (the host binary again, in its helper mode), so neither its constructor
 * nor a crash or hang of its code can touch the collector. The host keeps
 * the network, the limiters and the store; build_request and parse_response
 * travel over a pipe (isolation_proto.h). The instance the engine sees is an
 * ordinary source_instance whose descriptor forwards to the child. */
#ifndef TC_ISOLATION_H
#define TC_ISOLATION_H

#include <stddef.h>

#include "registry.h"

/* The instance of SRC (its .so resolved to PATH, for display) in a child
 * process, started now so that a plugin that cannot load is an error at
 * once, naming it. NULL with ERR as registry_open's. */
source_instance *isolation_open(const char *cfg_path, const char *path, const cfg_source *src, char *err,
                                size_t errlen);

/* 1 when INST runs in a child and its last call failed because the child
 * crashed, hung or is restarting: the chunk is retried, not failed. */
int isolation_call_failed(const source_instance *inst);

/* The helper mode (`tokencollector --plugin-child CONFIG SOURCE`): loads
 * SOURCE's plugin in-process here and serves the host on stdin / stdout.
 * Returns the exit code. */
int isolation_child_main(const char *cfg_path, const char *source);

#endif
