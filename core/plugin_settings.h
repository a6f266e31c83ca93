/* A plugin's own config keys, as its descriptor declares them: ABI 1.1's
 * typed tc_setting_def table, or ABI 1.0's bare name list. Checks a
 * [source NAME] section against them and prints them for --config-help and
 * the plugins' README tables. Knows the descriptor, not how it was loaded. */
#ifndef TC_PLUGIN_SETTINGS_H
#define TC_PLUGIN_SETTINGS_H

#include <stdio.h>

#include "config.h"
#include "tokencollector/plugin.h"

/* The I-th declared setting (ABI 1.1), or NULL past the end or when the
 * plugin declares none that way. */
const tc_setting_def *plugin_setting_at(const tc_source *vt, size_t i);

/* Checks every key of SRC the host does not know against VT. 0, or -1 with
 * "WHERE[source NAME] KEY: ..." in ERR (WHERE: the key's FILE:LINE or the
 * environment variable). */
int plugin_settings_check(const tc_source *vt, const char *cfg_path, const cfg_source *src, char *err, size_t errlen);

/* The plugin's name, version, limits and keys: as text, or as Markdown (the
 * table of its README). */
void plugin_settings_print(const tc_source *vt, FILE *out, int markdown);

#endif
