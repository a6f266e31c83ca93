/* libFuzzer: the config loader (INI syntax, every key through the config
 * map, the checks between keys, ${VAR} expansion) on any file text. The
 * plugin_dir points nowhere, so no plugin is loaded: the loader's parsing
 * and validation are what is fuzzed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(path, sizeof path, "/tmp/tc-fuzz-config.%ld.ini", (long)getpid());
    log_set_level(TC_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    config cfg;
    char err[2048];
    if (config_load(path, &cfg, err, sizeof err) == 0)
        config_free(&cfg);
    unlink(path);
    return 0;
}
