/* tickets_list.h — GET /v1/tickets: the filters, the orders and the search,
 * as a query's parameters and as SQL.
 *
 * Filters combine with AND; a filter's values (comma-separated) with OR:
 *   status, channel, priority, category, segment   names of the schema's
 *                                                  enums (vocab.h)
 *   team, assignee                                 names; assignee may be
 *                                                  "unassigned" (alone) or
 *                                                  "me" (the key's agent)
 *   tag                                            every tag named (spelled
 *                                                  as tag.h normalises)
 *   customer_id                                    a customer (or one merged
 *                                                  into another: its
 *                                                  survivor's tickets)
 *   created_from/_to, updated_from/_to, due_from/_to   RFC 3339 times,
 *                                                  from included, to not
 *   sla                                            breached, warning, within
 *                                                  (sla.clock_state)
 *   q                                              words searched in
 *                                                  subjects, messages and
 *                                                  notes (websearch syntax)
 * Orders: "queue" (highest priority first, then oldest), "updated" and
 * "created" (newest first), "due" (nearest SLA deadline first: only tickets
 * with a running target have one), "relevance" (a search's only order, its
 * default). limit: 1 to 100 (25); cursor: a page's next_cursor
 * (list_cursor.h). An unknown or repeated parameter is a 400 naming it.
 *
 * The SQL is parameterised: a filter adds a fixed predicate and its values
 * as parameters. How each order and filter finds its rows quickly (which
 * index, or a set that is sorted) is 0011_router_lists.sql's and
 * 0032_sla_lists.sql's comments' subject.
 */
#ifndef TICKETS_LIST_H
#define TICKETS_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "field.h"
#include "id.h"
#include "list_cursor.h"

#define LIST_LIMIT_DEFAULT 25
#define LIST_LIMIT_MAX 100
/* The most query parameters a list reads (more is a 400). */
#define LIST_MAX_ARGS 32
/* A name in team, assignee or tag, and a search's text, in bytes. */
#define LIST_NAME_MAX 128
#define LIST_Q_MAX 256
/* A search ranks the newest matching messages, at most this many: a word
 * found in a million messages is not ranked over all of them. */
#define SEARCH_CANDIDATES 200

/* A query parameter as the request gave it (value NULL: "?flag" alone). */
struct list_arg {
    const char *name;
    const char *value;
};

enum tickets_sort {
    TICKETS_SORT_QUEUE,
    TICKETS_SORT_UPDATED,
    TICKETS_SORT_CREATED,
    TICKETS_SORT_DUE,
    TICKETS_SORT_RELEVANCE,
};

/* A filter's values as SQL takes them: names joined by commas, in the
 * schema's order, each once. "" when not filtered. */
#define LIST_VALUES_MAX 512

struct tickets_query {
    enum tickets_sort sort;
    size_t limit;
    bool has_cursor;
    struct list_cursor cursor;
    char status[LIST_VALUES_MAX];
    char channel[LIST_VALUES_MAX];
    uint32_t channels;              /* the channels named (bit per value), for access */
    char priority[LIST_VALUES_MAX]; /* negated ranks: "-4,-3" (the queue key) */
    char category[LIST_VALUES_MAX];
    char segment[LIST_VALUES_MAX];
    char sla[LIST_VALUES_MAX];
    char team[LIST_VALUES_MAX];
    char assignee[LIST_VALUES_MAX];
    bool unassigned;
    char tag[LIST_VALUES_MAX];
    char customer_id[ID_LEN]; /* "" when not filtered */
    bool has_time[6];         /* created_from, _to, updated_from, _to, due_from, _to */
    int64_t time_us[6];
    const char *q; /* borrowed from the arguments; NULL: no search */
};

/* What the parser may be told besides the arguments. */
struct tickets_query_opts {
    enum tickets_sort default_sort;
    const char *agent_id;    /* the key's agent ("me"), NULL or "": none */
    const char *customer_id; /* the path's customer: customer_id is then not a parameter */
};

/* Reads the arguments. 0 with *q filled (borrowing from args), or -1 with
 * err naming the parameter. Pure. */
int tickets_query_parse(const struct list_arg *args, size_t n, const struct tickets_query_opts *o,
                        struct tickets_query *q, struct message_error *err);

/* A statement and its parameters, owned. */
#define LIST_SQL_PARAMS 64
struct list_sql {
    buf sql;
    int n;
    char *params[LIST_SQL_PARAMS];
};
void list_sql_release(struct list_sql *s);
/* Adds a parameter (copied; NULL is SQL NULL) and returns its number; out
 * of memory the statement is marked failed (s->sql.failed). */
int list_sql_add(struct list_sql *s, const char *value);
/* The same, and writes "$<n>" into the statement. 0, or -1 out of memory. */
int list_sql_param(struct list_sql *s, const char *value);

/* The statement of q: rows of (item JSON, the order's key values as text),
 * at most q->limit + 1 of them in order. channels: the key's channels as
 * ACCESS_SQL_TICKET_WITHIN takes them (NULL: every channel). 0, or -1 out
 * of memory. Pure. */
int tickets_query_sql(const struct tickets_query *q, const char *channels, struct list_sql *out);

/* The cursor order and value types of a sort ("queue", "iiu"). */
void tickets_sort_keys(enum tickets_sort s, const char **order, const char **types);

#endif
