/* PostgreSQL array parameters: the binary format of the commit's arrays and
 * the sorted text[] literal of an address list. Encoding only: no libpq, no
 * statement, no store state. */
#ifndef TC_STORE_PG_ARRAY_H
#define TC_STORE_PG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Element type oids (pg_type), as array_recv checks them. */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT4 = 23, OID_TEXT = 25, OID_FLOAT8 = 701 };

/* A one-dimensional array in PostgreSQL's binary format, built element by
 * element between store_pg_bin_reset and store_pg_bin_end; B's memory is
 * reused from one commit to the next. */
typedef struct pgbin {
    strbuf b;
    uint32_t n;
    int hasnull;
} pgbin;

void store_pg_bin_reset(pgbin *a, uint32_t elem_oid);
void store_pg_bin_null(pgbin *a);
/* STR (NULL: NULL), with what is not valid UTF-8 as U+FFFD. */
void store_pg_bin_text(pgbin *a, const char *str);
/* LEN bytes at P as they are (P NULL: NULL): text already in stored form. */
void store_pg_bin_bytes(pgbin *a, const char *p, size_t len);
/* NULL unless HAS and D is finite. */
void store_pg_bin_f8(pgbin *a, int has, double d);
void store_pg_bin_i4(pgbin *a, int has, int32_t v);
void store_pg_bin_i8(pgbin *a, int64_t v);
void store_pg_bin_bool(pgbin *a, int v);
void store_pg_bin_end(pgbin *a);
/* A[FIRST..END) reset, each to its element type OID[i] (0: text); ended. */
void store_pg_bin_reset_all(pgbin *a, const uint32_t *oid, int first, int end);
void store_pg_bin_end_all(pgbin *a, int first, int end);

/* STR as the server stores it (store_pg_bin_text: invalid UTF-8 as U+FFFD):
 * STR itself when valid, else a copy in *OWN (freed by the caller). */
const char *store_pg_stored_form(const char *str, char **own);

/* ADDRS as a text[] literal, sorted and de-duplicated (malloc'd). */
char *store_pg_sorted_addr_array(const char *const *addrs, size_t n);

#endif
