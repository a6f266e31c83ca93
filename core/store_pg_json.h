/* The JSON texts the PostgreSQL commit sends: each FOUND source's record
 * (record_json.c's writer) laid out in one buffer. Text only: no
 * libpq, no statement, no store state. */
#ifndef TC_STORE_PG_JSON_H
#define TC_STORE_PG_JSON_H

#include <stddef.h>

#include "store.h"
#include "util.h"

/* The record (values_to_json) of every FOUND source of the tokens V (K of
 * them) in BUF, token i's source j at buf->data + off[base[i] + j]
 * (NUL-terminated; SIZE_MAX: none). *OFF_OUT and *BASE_OUT are malloc'd. */
void store_pg_json_records(const token_result *const *v, size_t k, strbuf *buf, size_t **off_out, size_t **base_out);

#endif
