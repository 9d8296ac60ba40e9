/* ingest.c — the answers every channel-ingest handler shares.
 *
 * Kept out of main.c so that the unit tests and fuzz targets, which link
 * the service's objects without main.o, get them too.
 */
#include "ingest.h"

#include <stdarg.h>
#include <stdio.h>

#include "id.h"
#include "log.h"
#include "metrics.h"

void ingest_reply_unavailable(http_req *r)
{
    http_add_header(r, "Retry-After", "1");
    http_reply_error(r, 503, "unavailable", NULL,
                     "the event store is unavailable; retry after 1 second");
}

void ingest_reject(http_req *r, unsigned status, const char *reason, const char *code,
                   const char *field, const char *fmt, ...)
{
    char series[128];
    snprintf(series, sizeof series, "carebus_ingest_rejected_total{reason=\"%s\"}", reason);
    metrics_add(series, 1);
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Client mistakes are logged at info; a client over its rate would
     * flood the log at the rate it is refused, so those go to debug (the
     * counter tells the operator). */
    log_write(status == 429 ? LOG_DEBUG : LOG_INFO, NULL, "%s %s: %u %s: %s", http_method(r),
              http_path(r), status, reason, msg);
    http_reply_error(r, status, code, field, "%s", msg);
}

bool ingest_id_ok(http_req *r, const char *what, const char *id)
{
    if (id_canonical(id))
        return true;
    ingest_reject(r, 404, "not_found", "not_found", NULL, "no %s with id \"%.64s\"%s", what,
                  id ? id : "", id_valid(id) ? " (ids are written in lowercase)" : "");
    return false;
}
