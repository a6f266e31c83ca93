/* The operations API's public routes: /metrics, the status page, /status.json
 * (api_ops.c; docs/api.md). */
#ifndef TC_API_OPS_H
#define TC_API_OPS_H

#include "api.h"

extern const api_route api_ops_routes[];

#endif
