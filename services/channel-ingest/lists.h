/* lists.h — what the list endpoints share (lists.c): the request's query
 * parameters, as the parsers of tickets_list.h and customers.c read them.
 */
#ifndef LISTS_H
#define LISTS_H

#include <stddef.h>

#include "ingest.h"
#include "tickets_list.h"

/* The query parameters in the order sent, borrowed from the request, at
 * most LIST_MAX_ARGS + 1 of them (one more than a parser accepts: *n then
 * says there were too many). out has LIST_MAX_ARGS + 1 entries. */
void lists_args(http_req *r, struct list_arg *out, size_t *n);

/* Runs the list statement s on the read queue and answers its page. s's
 * rows: the item's JSON, then the values of the order's keys as text (the
 * cursor's types), at most limit + 1 of them; s is released. owner_id: a
 * customer whose absence makes an empty page a 404 (NULL: none). */
http_status lists_page(ingest *in, http_req *r, struct list_sql *s, size_t limit, const char *order,
                       const char *types, const char *what, const char *owner_id);

#endif
