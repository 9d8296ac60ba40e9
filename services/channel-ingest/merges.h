/* merges.h — merges a supervisor asks for, and their undoing:
 *
 *   POST /v1/tickets/{id}/merge      {"into_ticket_id", "reason"?}
 *   POST /v1/customers/{id}/merge    {"merged_id", "reason"?}  ({id} stays)
 *   POST /v1/customers/{id}/unmerge  {"reason"?}               ({id} leaves)
 *
 * Each becomes one event for the router (ticket.merge_requested,
 * customer.merge_requested, customer.unmerge_requested; services/router/
 * merge.h and unmerge.h say what it does), whose actor is the key's agent
 * or else the key's id. Before it is stored, the read queue checks what
 * the router would refuse: unknown ids (404), tickets of two customers,
 * a closed ticket, two that are one already, a customer that is not merged
 * (409), so that an accepted request is one the router applies unless the
 * state changed in between (it then logs why and changes nothing). A retry
 * with the same Idempotency-Key gets the first answer, though the merge is
 * done by then (write_submit_checked).
 *
 * The parsers are pure (ops.h's shape): the path's id must be a UUID (the
 * handlers answer 404 otherwise).
 */
#ifndef MERGES_H
#define MERGES_H

#include "ops.h"

int merges_ticket_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                        struct message_error *err);
int merges_customer_parse(const json_t *root, const char *survivor_id, int64_t now_us, struct op *o,
                          struct message_error *err);
int merges_unmerge_parse(const json_t *root, const char *merged_id, int64_t now_us, struct op *o,
                         struct message_error *err);

#endif
