/* The store tests' view of the change feed (test_store_sqlite.c,
 * test_store_pg.c): "ADDRESS:SEQ ADDRESS:SEQ ..." in feed order. */
#ifndef TC_FEED_TEXT_H
#define TC_FEED_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The changes of ST above SINCE (at most LIMIT) as text (a static buffer,
 * valid until the next call), *HEAD the feed's head; NULL with ERR when the
 * store failed. */
const char *feed_text(store *st, int64_t since, size_t limit, int64_t *head, char *err, size_t errlen);

#endif
