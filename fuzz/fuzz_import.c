/* libFuzzer: the import's line check (NUL bytes, trimming, comments, the
 * base58 decode to exactly 32 bytes, the escaped echo of a rejected line)
 * on each line of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
        char *line = malloc(len + 1);
        memcpy(line, data + at, len);
        line[len] = '\0';
        char why[400];
        const char *a = import_check_line(line, len, why, sizeof why);
        if (a && a != IMPORT_SKIP && !is_solana_address(a))
            abort(); /* accepted must mean valid */
        if (!a)
            for (const char *p = why; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    abort(); /* a rejected line must reach the terminal escaped */
        free(line);
        at += len;
    }
    return 0;
}
