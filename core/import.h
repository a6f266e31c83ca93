/* `tokencollector import PATH|-`: read addresses, one per line, into the store. */
#ifndef TC_IMPORT_H
#define TC_IMPORT_H

#include "config.h"

/* Returns an exit code: 0 all lines imported (or already present), 1 store
 * failure, 3 some lines were rejected (each reported with its line number). */
int import_addresses(const config *cfg, const char *path);

#endif
