/* libFuzzer: one bundled plugin's parse_response (FUZZ_PLUGIN, a .so built
 * with the fuzzer's instrumentation) on any body, through the test kit (the
 * host's descriptor checks, an exactly sized copy of the body). The input's
 * first line is the chunk (addresses, comma separated, at most 16) and its
 * first byte after it picks the HTTP status, so the seeds, recorded answers
 * with their own addresses (fuzz/corpus/), reach the parser's deep paths. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokencollector/testkit.h"

static tc_kit_instance *inst;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[512];
    tc_kit_plugin *p = tc_kit_load(FUZZ_PLUGIN, err, sizeof err);
    if (!p) {
        fprintf(stderr, "fuzz: %s\n", err);
        exit(1);
    }
    inst = tc_kit_create(p, FUZZ_SETTINGS, err, sizeof err);
    if (!inst) {
        fprintf(stderr, "fuzz: create: %s\n", err);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t head = nl ? (size_t)(nl - data) : 0;
    char *line = malloc(head + 1);
    memcpy(line, data, head);
    line[head] = '\0';
    const char *addrs[16];
    size_t n = 0;
    for (char *save = NULL, *a = strtok_r(line, ",", &save); a && n < 16; a = strtok_r(NULL, ",", &save))
        addrs[n++] = a;
    if (n == 0)
        addrs[n++] = "So11111111111111111111111111111111111111112";
    const uint8_t *body = nl ? nl + 1 : data;
    size_t len = size - (size_t)(body - data);
    static const long statuses[] = {200, 200, 200, 200, 404, 400, 200, 500};
    long status = len ? statuses[body[0] & 7] : 200;
    tc_kit_result *r = NULL;
    tc_kit_parse(inst, addrs, n, status, "application/json", (const char *)body, len, &r);
    tc_kit_result_free(r);
    free(line);
    return 0;
}
