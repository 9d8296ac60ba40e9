/* customers_search.h — GET /v1/customers?q=: customers by the start of a
 * name, a phone number or an e-mail address (customers_search.c says how
 * q is read and where it is looked for).
 */
#ifndef CUSTOMERS_SEARCH_H
#define CUSTOMERS_SEARCH_H

#include "field.h"
#include "identity.h"
#include "ingest.h"
#include "tickets_list.h"

/* The parameters: q, limit, cursor. */
#define CUSTOMERS_Q_MAX 128
struct customers_search {
    const char *text;                /* q, borrowed */
    char phone[IDENTITY_PHONE_LEN];  /* the number's start, or "": q is a name's */
    char email[CUSTOMERS_Q_MAX + 1]; /* the address's start, or "": none */
    size_t limit;
    bool has_cursor;
    struct list_cursor cursor;
};
/* 0 with *s filled, or -1 with err naming the parameter. Pure. */
int customers_search_parse(const struct list_arg *args, size_t n, struct customers_search *s,
                           struct message_error *err);
/* The statement (tickets_list.h's shape: item, then the cursor's values).
 * 0, or -1 out of memory. Pure. */
int customers_search_sql(const struct customers_search *s, struct list_sql *out);
/* Answers the search (customers.c calls it when the query has q). */
http_status customers_search(http_req *r, ingest *in);

#endif
