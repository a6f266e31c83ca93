/* Test plugin: parses its answer with cJSON and releases what cJSON made
 * either as the ABI asks (cJSON_free, cJSON_Delete) or, with the setting
 * free = libc, with libc's free() — the mistake the host's cJSON arena
 * turns into a crash, which the test kit must show the same way. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "inert.h"
#include "tokencollector/plugin.h"

static const char *const keys[] = {"free", NULL};

static int create(const tc_host *host, const tc_settings *settings, void **self, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    const char *how = host->setting(settings, "free");
    int *libc = malloc(sizeof *libc);
    *libc = how && !strcmp(how, "libc");
    *self = libc;
    return 0;
}

static tc_status parse(void *self, const char *const *addrs, size_t n, const tc_response *res, const tc_emit *out,
                       tc_outcome *outcome)
{
    (void)outcome;
    cJSON *j = cJSON_ParseWithLength(res->body, res->body_len);
    char *printed = j ? cJSON_PrintUnformatted(j) : NULL;
    const cJSON *price = cJSON_GetObjectItemCaseSensitive(j, "price");
    if (n && cJSON_IsNumber(price))
        out->num(out->ctx, addrs[0], TC_PRICE_USD, price->valuedouble);
    if (*(int *)self)
        free(printed); /* wrong: cJSON's memory goes back through cJSON */
    else
        cJSON_free(printed);
    cJSON_Delete(j);
    return TC_OK;
}

static const tc_source desc = {.abi_major = TC_ABI_MAJOR,
                               .abi_minor = TC_ABI_MINOR,
                               .struct_size = sizeof(tc_source),
                               .name = "json_free",
                               .version = "0",
                               .description = "test plugin: how it frees cJSON's memory",
                               .max_chunk = 10,
                               .config_keys = keys,
                               .create = create,
                               .destroy = inert_destroy,
                               .build_request = inert_build,
                               .parse_response = parse};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
