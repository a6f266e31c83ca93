#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include <sys/stat.h>
#include <unistd.h>

static store *open_as(const char *uri, int reader, char *err, size_t errlen)
{
    const store_backend *ops = NULL;
    void *be = NULL;
    if (!strncmp(uri, "sqlite:", 7)) {
        ops = &store_sqlite_backend;
        be = reader ? store_sqlite_open_reader(uri + 7, err, errlen) : store_sqlite_open(uri + 7, err, errlen);
    } else if (!strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11)) {
        ops = &store_pg_backend;
        be = reader ? store_pg_open_reader(uri, err, errlen) : store_pg_open(uri, err, errlen);
    } else {
        snprintf(err, errlen, "store \"%s\": expected sqlite:PATH or postgresql://...", uri);
        return NULL;
    }
    if (!be)
        return NULL;
    store *s = xcalloc(1, sizeof *s);
    s->ops = ops;
    s->be = be;
    return s;
}

store *store_open(const char *uri, char *err, size_t errlen) { return open_as(uri, 0, err, errlen); }

store *store_open_reader(const char *uri, char *err, size_t errlen) { return open_as(uri, 1, err, errlen); }

/* The file must be writable if it exists; otherwise the nearest directory
 * that exists above it, where store_open would create the rest. */
static int sqlite_check_access(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode) || access(path, R_OK | W_OK) != 0) {
            snprintf(err, errlen, "store sqlite:%s: not a writable file", path);
            return -1;
        }
    }
    /* "." for a bare name; strcpy fits, since path has a character. */
    char *dir = xmalloc(strlen(path) + 2);
    strcpy(dir, path);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            strcpy(dir, ".");
        else
            slash[slash == dir] = '\0'; /* "/x" -> "/", "a/b" -> "a" */
        if (stat(dir, &st) == 0 || errno != ENOENT || !strcmp(dir, ".") || !strcmp(dir, "/"))
            break;
    }
    int rc = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "store sqlite:%s: %s is not a writable directory", path, dir);
        rc = -1;
    }
    free(dir);
    return rc;
}

int store_check_access(const char *uri, char *err, size_t errlen)
{
    if (!strncmp(uri, "sqlite:", 7))
        return sqlite_check_access(uri + 7, err, errlen);
    if (PQping(uri) == PQPING_OK)
        return 0;
    char *shown = store_pg_redact(uri);
    snprintf(err, errlen, "store postgresql %s: the server does not accept connections", shown);
    free(shown);
    return -1;
}

int store_migrate(const char *uri, char *msg, size_t msglen, char *err, size_t errlen)
{
    if (!strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11)) {
        int from = 0, to = 0;
        if (store_pg_migrate(uri, &from, &to, err, errlen) != 0)
            return -1;
        char *shown = store_pg_redact(uri);
        if (to > from)
            snprintf(msg, msglen, "postgresql %s: schema migrated from version %d to %d", shown, from, to);
        else
            snprintf(msg, msglen, "postgresql %s: schema already at version %d, nothing to do", shown, to);
        free(shown);
        return 0;
    }
    /* SQLite creates its schema when it opens. */
    store *s = store_open(uri, err, errlen);
    if (!s)
        return -1;
    store_close(s);
    snprintf(msg, msglen, "%s: schema is current", uri);
    return 0;
}

void store_close(store *s)
{
    if (!s)
        return;
    s->ops->close(s->be);
    free(s);
}

char *store_outstanding_sources(const token_result *t)
{
    strbuf b = {0};
    for (size_t i = 0; i < t->n_sources; i++)
        if (t->outcomes[i] == OUTCOME_FAILED || t->outcomes[i] == OUTCOME_SKIPPED) {
            if (b.len)
                sb_appends(&b, ",");
            sb_appends(&b, t->source_names[i]);
        }
    return b.len ? b.data : NULL;
}

void claimed_tokens_free(claimed_token *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++) {
        free(t[i].address);
        free(t[i].outstanding);
    }
    free(t);
}
