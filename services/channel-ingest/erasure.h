/* erasure.h — a customer's right to be forgotten (Decree 13/2023):
 *
 *   POST /v1/customers/{id}/erasure   {"reason"}   (admin)
 *
 * Becomes one customer.erasure_requested event, whose actor is the key's
 * agent or else the key's id; the router then erases the customer and the
 * customers merged into it (services/router/erase.h) and announces it with
 * customer.erased, on which every service redacts its rows. The reason is
 * required: an erasure is audited. Before it is stored, the read queue
 * checks that the router knows the customer (404 otherwise). The parser is
 * pure (ops.h's shape).
 */
#ifndef ERASURE_H
#define ERASURE_H

#include "ops.h"

int erasure_parse(const json_t *root, const char *customer_id, int64_t now_us, struct op *o,
                  struct message_error *err);

#endif
