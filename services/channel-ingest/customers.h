/* customers.h — customer look-up by handle (the call-centre "screen pop").
 *
 * GET /v1/customers?phone=… | ?email=… | ?channel=<channel>&handle=… names
 * exactly one handle; it is normalised with identity.h, the very functions
 * the router files identities with, so "0901 234 567" finds the customer
 * who wrote from "+84901234567". The profile parser is in ops.h.
 * GET /v1/customers?q=… searches by the start of a name, number or
 * address instead (customers_search.c).
 */
#ifndef CUSTOMERS_H
#define CUSTOMERS_H

#include "field.h"
#include "identity.h"

/* From the query's values (NULL when absent). 0 with *out set, or -1 with
 * err naming the parameter. Pure. */
int customers_lookup_parse(const char *phone, const char *email, const char *channel,
                           const char *handle, struct identity *out, struct message_error *err);

#endif
