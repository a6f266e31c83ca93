/* `tokencollector import PATH|-`: read addresses, one per line, into the store. */
#ifndef TC_IMPORT_H
#define TC_IMPORT_H

#include <stddef.h>

#include "config.h"

/* Returns an exit code: 0 all lines imported (or already present), 1 store
 * failure, 3 some lines were rejected (each reported with its line number). */
int import_addresses(const config *cfg, const char *path);

/* One line of LEN bytes (getline's, NUL-terminated): the address in it
 * (trimmed in place), IMPORT_SKIP for a blank or comment line, or NULL with
 * WHY saying why it is rejected (its text escaped for a terminal). */
#define IMPORT_SKIP ((const char *)1)
const char *import_check_line(char *line, size_t len, char *why, size_t whylen);

#endif
