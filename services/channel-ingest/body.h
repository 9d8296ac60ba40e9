/* body.h — a request body, checked before any parser reads it.
 *
 * Content type (415), nesting depth (400 "too_deep": checked on the raw
 * bytes before jansson builds anything, libcarebus's jsondepth.h), UTF-8
 * and JSON syntax (400). Each refusal is answered and counted in
 * carebus_ingest_rejected_total{reason=...} (ingest_reject). The pure check
 * is separate for the unit tests and the fuzz targets.
 */
#ifndef BODY_H
#define BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define BODY_JSON "application/json"
#define BODY_PROTOBUF "application/x-protobuf"

/* True when the Content-Type header value names type (parameters such as
 * "; charset=utf-8" and case ignored). NULL header: false. */
bool body_type_is(const char *header, const char *type);

/* Answers 415 unless the request's Content-Type is BODY_JSON; true when it
 * is. */
bool body_expect_json(http_req *r);

/* Parses the request's JSON body after checking its depth. NULL after
 * answering 400 (invalid_utf8, too_deep, invalid_json). The caller owns the
 * result (json_decref). */
json_t *body_load_json(http_req *r, size_t max_depth);

#endif
