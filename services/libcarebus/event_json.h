/* event_json.h — an event as integrators read it: JSON from the schema.
 *
 * One encoder for every place an event leaves carebus as JSON (the HTTP
 * event feed, webhook deliveries), driven by protobuf-c's descriptors so
 * that a field added to the proto appears without code here. The shape:
 *
 *   {"event_id", "type", "stream", "seq", "occurred_at", "recorded_at",
 *    "idempotency_key", "customer_id", "ticket_id", "causation_id",
 *    "body": {<the oneof body's fields>}}
 *
 * Field names are the proto's (snake_case, as the rest of the API); every
 * field is present (proto3 defaults included: "" , 0, false, [], {}), so an
 * integrator sees one stable shape per type. Enums are their vocab names
 * ("zalo"; "" for UNSPECIFIED), Timestamps RFC 3339 strings (null when
 * absent), wrappers (Int32Value, ...) their value or null, 64-bit integers
 * numbers, bytes base64. Fields that hold secrets (a subscription's secret,
 * an agent's password hash) are never written: they stay inside carebus.
 */
#ifndef CAREBUS_EVENT_JSON_H
#define CAREBUS_EVENT_JSON_H

#include <jansson.h>

#include "event.h"

/* A new reference, or NULL when out of memory. */
json_t *event_json(const event *ev);

/* Any message of the schema (a body, a CustomerRef ...), the same way. */
json_t *event_json_message(const ProtobufCMessage *m);

#endif
