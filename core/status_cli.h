/* `tokencollector status`: asks the running daemon over the admin API
 * (GET /api/admin/scheduler/status with the bearer token) and prints the
 * scheduler, the tiers and the per-source table, as --once's summary does. */
#ifndef TC_STATUS_CLI_H
#define TC_STATUS_CLI_H

#include <stddef.h>
#include <stdio.h>

/* BASE_URL: "http://HOST:PORT"; TOKEN: the admin token (NULL: none sent).
 * Returns an exit code: 0 printed, 1 the daemon did not answer or refused. */
int status_cli(const char *base_url, const char *token, FILE *out);

/* Prints the status JSON (the admin status body) to OUT; -1 with ERR when
 * it is not one. */
int status_print(const char *json, FILE *out, char *err, size_t errlen);

#endif
