/* The INI dialect of the config file, read line by line with no length
 * limit: "[section]" headers, "key = value" (or "key: value") entries, whole
 * line comments starting with ';' or '#', inline comments starting with ';'
 * after whitespace, an optional UTF-8 byte order mark. It knows nothing of
 * what the sections mean: config.c gives meaning, this file only syntax.
 *
 * Why not inih: Debian's libinih is built with a fixed 200-byte line buffer,
 * so a long base_url could not be written, and its handler never sees section
 * headers or line numbers, which every error message here needs. */
#ifndef TC_INI_READER_H
#define TC_INI_READER_H

#include <stdio.h>

typedef struct ini_callbacks {
    void *user;
    /* A "[NAME]" header at LINE. Non-zero stops the read. */
    int (*section)(void *user, const char *name, int line);
    /* "KEY = VALUE" at LINE inside SECTION ("" before any header). */
    int (*entry)(void *user, const char *section, const char *key, const char *value, int line);
} ini_callbacks;

/* Reads F to the end. Returns 0; the line number of the first syntax error
 * (> 0); or -1 when a callback stopped the read. */
int ini_read(FILE *f, const ini_callbacks *cb);

#endif
