#include "ini_reader.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Cuts an inline comment: ';' at the start or after whitespace. */
static void cut_inline_comment(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == ';' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
}

/* "[name]" with only whitespace or a comment after it. 0, or -1. */
static int parse_header(char *p, char **name)
{
    char *close = strchr(p, ']');
    if (!close)
        return -1;
    *close = '\0';
    char *rest = trim(close + 1);
    if (*rest && *rest != ';' && *rest != '#')
        return -1;
    *name = trim(p + 1);
    return **name ? 0 : -1;
}

/* "key = value" or "key: value", whichever separator comes first. */
static int parse_entry(char *p, char **key, char **value)
{
    char *sep = strpbrk(p, "=:");
    if (!sep)
        return -1;
    *sep = '\0';
    *key = trim(p);
    cut_inline_comment(sep + 1);
    *value = trim(sep + 1);
    return **key ? 0 : -1;
}

int ini_read(FILE *f, const ini_callbacks *cb)
{
    char *buf = NULL, *section = calloc(1, 1);
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (rc == 0 && getline(&buf, &cap, f) >= 0) {
        lineno++;
        char *p = buf;
        if (lineno == 1 && !strncmp(p, "\xEF\xBB\xBF", 3))
            p += 3;
        p = trim(p);
        if (!*p || *p == ';' || *p == '#')
            continue;
        char *name, *key, *value;
        if (*p == '[') {
            if (parse_header(p, &name) != 0)
                rc = lineno;
            else {
                free(section);
                section = strdup(name);
                if (!section)
                    abort();
                rc = cb->section && cb->section(cb->user, section, lineno) ? -1 : 0;
            }
        } else if (parse_entry(p, &key, &value) != 0)
            rc = lineno;
        else
            rc = cb->entry(cb->user, section, key, value, lineno) ? -1 : 0;
    }
    free(buf);
    free(section);
    return rc;
}
