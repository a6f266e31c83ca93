/* The [merge] section: per field, which sources' values win. Its keys are
 * the field names, so it has no rows in the config map; the defaults are
 * declared here once and printed by --config-help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_private.h"
#include "tokencollector/plugin.h"
#include "tokencollector/sdk/extra.h"
#include "util.h"

/* The names are the SDK's (sdk/extra.h), which plugins and the test kit
 * check extras' keys against. */
const char *field_name(int field)
{
    return field < CFG_MERGE_FIELDS ? tc_field_name(field) : NULL;
}

int field_from_name(const char *name)
{
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        if (strcmp(field_name(f), name) == 0)
            return f;
    return -1;
}

/* Metadata from the DAS first, prices from the aggregator first; links from
 * the pair listing first, since it carries labelled socials. */
const char *config_merge_default(int field)
{
    switch (field) {
    case TC_NAME: case TC_SYMBOL: case TC_IMAGE_URL: case TC_DESCRIPTION:
        return "helius, jupiter, dexscreener";
    case TC_DECIMALS: case TC_SUPPLY:
        return "helius, jupiter";
    case MERGE_WEBSITES: case MERGE_SOCIALS:
        return "dexscreener, jupiter";
    default:
        return "jupiter, dexscreener";
    }
}

void config_merge_clear(cfg_merge *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->sources[i]);
    free(m->sources);
    m->sources = NULL;
    m->n = 0;
}

/* Replaces the list of M with the comma or space separated names in V. */
void config_merge_set(cfg_merge *m, const char *v, int line)
{
    config_merge_clear(m);
    m->line = line;
    char *copy = xstrdup(v);
    for (char *tok = strtok(copy, ", \t"); tok; tok = strtok(NULL, ", \t")) {
        m->sources = xrealloc(m->sources, (m->n + 1) * sizeof *m->sources);
        m->sources[m->n++] = xstrdup(tok);
    }
    free(copy);
}

/* "[merge] unknown field ..." text with every field name. */
void config_merge_unknown(const char *key, strbuf *out)
{
    sb_printf(out, "unknown field \"%s\" (known:", key);
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        sb_printf(out, "%s%s", f == 1 ? " " : ", ", field_name(f));
    sb_appends(out, ")");
}

/* FIELD_max_age = DURATION: 1 when KEY is one (set), 0 when it is not, -1
 * with WHY for a bad one. */
int config_merge_max_age(config *cfg, const char *key, const char *value, char *why, size_t whylen)
{
    static const char suffix[] = "_max_age";
    size_t n = strlen(key), ns = sizeof suffix - 1;
    if (n <= ns || strcmp(key + n - ns, suffix) != 0)
        return 0;
    char field[64];
    snprintf(field, sizeof field, "%.*s", (int)(n - ns), key);
    int f = field_from_name(field);
    if (f < TC_PRICE_USD || f > TC_CHANGE_24H) {
        snprintf(why, whylen, "%s: only the market fields (price_usd, market_cap, fdv, liquidity_usd, volume_24h, "
                 "change_24h) have a staleness bound", key);
        return -1;
    }
    int64_t ns_v;
    if (!strcmp(value, "off") || !strcmp(value, "0"))
        ns_v = 0;
    else if (parse_duration_ns(value, NS_PER_S, &ns_v) != 0 || ns_v < 0) {
        snprintf(why, whylen, "%s: expected a duration (\"30m\", \"2h\", off), got \"%s\"", key, value);
        return -1;
    }
    cfg->merge_max_age_s[f] = ns_v / NS_PER_S;
    cfg->merge_max_age_set[f] = 1;
    return 1;
}

int64_t config_market_max_age_s(const config *cfg, int f)
{
    if (f >= 0 && f < CFG_MERGE_FIELDS && cfg->merge_max_age_set[f])
        return cfg->merge_max_age_s[f];
    return cfg->sched.market_max_age_ns / NS_PER_S;
}
