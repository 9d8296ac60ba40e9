/* metrics.h — the process's Prometheus metrics.
 *
 * One registry per process (a fixed table, like Redis's stat fields). A
 * series is named with its labels: "carebus_http_requests_total{code=\"202\"}".
 * Safe to call from several threads.
 */
#ifndef CAREBUS_METRICS_H
#define CAREBUS_METRICS_H

#include <stddef.h>

/* HELP and TYPE ("counter", "gauge") of a metric family; optional. */
void metrics_describe(const char *family, const char *type, const char *help);
void metrics_add(const char *series, double v);
void metrics_set(const char *series, double v);
double metrics_get(const char *series);
/* The text exposition format; malloc'd, caller frees. */
char *metrics_render(size_t *len);

#endif
