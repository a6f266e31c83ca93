/* /metrics: the Prometheus text format (0.0.4) of an operations snapshot
 * (ops.h). Pure: it renders what the loop published, reads nothing live.
 * Names and labels follow Prometheus' conventions (tokencollector_ prefix,
 * _total counters, base units, _seconds); label values are bounded (source,
 * tier, outcome, ... names): never an address. Every name is listed in
 * docs/api.md ("Metrics"). */
#ifndef TC_METRICS_PROM_H
#define TC_METRICS_PROM_H

#include <stddef.h>

#include "ops.h"

/* The exposition text (malloc'd); *LEN its length. */
char *metrics_prom_render(const ops_snapshot *s, size_t *len);

#endif
