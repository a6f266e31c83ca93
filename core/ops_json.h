/* JSON views of the operations state, shared by the loop (command results,
 * daemon_admin.c) and the HTTP threads (api_admin*.c): one token's refresh
 * settings, one source, the error body with a list of errors. cJSON only;
 * no HTTP, no engine or scheduler access (values are passed in). */
#ifndef TC_OPS_JSON_H
#define TC_OPS_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "ops.h"

/* A token and its settings. NOW_NS is on the loop's monotonic clock, with
 * MONO0_NS / WALL0_S one instant on both clocks (for wall times). */
cJSON *ops_token_json(const char *addr, const sched_token *t, int64_t now_ns, int64_t mono0_ns, int64_t wall0_s);
/* A source: plugin, state, limits, counters. */
cJSON *ops_source_json(const ops_source *s);
/* "closed", "open", "half_open"; "paused" and "removed" win over them. */
const char *ops_source_state(const ops_source *s);
/* The whole snapshot: scheduler, tiers, first pass, sources, recent
 * warnings and errors (log_recent), reloads. The status page's and the
 * admin status's body. */
cJSON *ops_status_json(const ops_snapshot *s);
/* Per tier: the intervals the limits sustain (admin recommendations). */
cJSON *ops_recommendations_json(const ops_snapshot *s);
/* {"error":{"code":CODE,"message":first line of LINES,"errors":[every line]}} */
char *ops_error_lines(const char *code, const char *lines);
/* Every line of TEXT as a string in a new array. */
cJSON *ops_lines_array(const char *text);
/* Takes ROOT (deleted) and returns it printed (malloc'd). */
char *ops_print(cJSON *root);

#endif
