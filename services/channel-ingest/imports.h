/* imports.h — customers from a CRM, before (or after) their first contact:
 *
 *   POST /v1/customers          one customer, a JSON object
 *   POST /v1/customer-imports   many: NDJSON (application/x-ndjson), one
 *                               customer object a line; or CSV (text/csv)
 *                               with a header row
 *
 * A customer is {"name", "phone", "email", "channel", "handle", "crm_id",
 * "segment", "status", "attributes": {string: string}}: at least one of
 * phone, email, or channel with handle, each of which must normalise as a
 * contact's would (identity.h). CSV columns bear the same names, an
 * attribute's is "attributes.<name>"; an empty cell is an absent field.
 * Each customer becomes one customer.imported event; the router finds the
 * customer by any of its handles or creates it (services/router/import.h).
 *
 * Idempotency: a customer's key derives from its content (SHA-256 of the
 * record as read, handles normalised, members sorted; the file, the line
 * and the time play no part), in one scope (IMPORTS_SCOPE) for every API
 * key and both routes: the same record imported again, in any file or
 * format, lands nothing, and a bad line stores nothing. A POST with an
 * Idempotency-Key of its own uses that one instead.
 *
 * The parsers are pure (unit-tested and fuzzed): imports_customer_parse
 * reads one object; an imports_reader walks a bulk body record by record,
 * each a JSON object (a CSV row is turned into one), or an error naming its
 * line and field.
 */
#ifndef IMPORTS_H
#define IMPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "field.h"

#define IMPORTS_SCOPE "import:customers"
#define IMPORTS_MAX_ATTRIBUTES 64
/* The content key: hex SHA-256. */
#define IMPORTS_KEY_LEN (2 * 32 + 1)

struct customer_import {
    event ev;
    Google__Protobuf__Timestamp occurred;
    Carebus__V1__CustomerImported body;
    Carebus__V1__CustomerRef ref;
    Carebus__V1__CustomerImported__AttributesEntry attrs[IMPORTS_MAX_ATTRIBUTES];
    Carebus__V1__CustomerImported__AttributesEntry *attr_ptrs[IMPORTS_MAX_ATTRIBUTES];
    char key[IMPORTS_KEY_LEN];
};

/* One customer from root (strings borrowed from it, which must outlive
 * c); the event's time is now_us. 0, or -1 with err naming the field. */
int imports_customer_parse(const json_t *root, int64_t now_us, struct customer_import *c,
                           struct message_error *err);

typedef enum { IMPORTS_NDJSON, IMPORTS_CSV } imports_format;

typedef struct imports_reader imports_reader;

/* A reader of a bulk body (borrowed until destroy). A CSV body's header
 * must name known columns, each once: NULL with err otherwise (field: the
 * column), or when out of memory. NDJSON lines nest at most max_depth
 * deep. */
imports_reader *imports_reader_new(imports_format fmt, const char *body, size_t len,
                                   size_t max_depth, struct message_error *err);
void imports_reader_destroy(imports_reader **pr);
/* The next record: 1 with *out (a JSON object the caller owns) and *line
 * (where it starts), 0 at the end, -1 when the record is bad (err and
 * *line) — the reader has moved past it. Blank lines are skipped. */
int imports_reader_next(imports_reader *r, json_t **out, unsigned *line, struct message_error *err);

#endif
