/* write.h — what every write endpoint does after parsing its body.
 *
 * One write_req per request (one allocation, freed with the request): the
 * parsed document the event points into, the event log entry, and the
 * idempotency scope. Then, optionally, a check on the read queue that the
 * ticket or customer named by the path exists (404 otherwise; the check
 * never blocks the loop), and the group commit: 202 {"event_id","seq"} once
 * committed, or 200 with the very same body when the idempotency key was
 * seen before (also when the first request is still in flight in the same
 * batch: eventlog.append resolves it).
 *
 * Idempotency-Key header: at most 255 printable ASCII characters, scoped to
 * the API key and the request's method and path, so two integrators (or
 * two tickets) never share a key by accident.
 *
 * The route's scope was checked by the guard before the handler ran; what
 * depends on the body or on the ticket (whose agent, which channel, which
 * ticket) is checked here (write_bind_agent, write_submit_ticket).
 */
#ifndef WRITE_H
#define WRITE_H

#include <jansson.h>

#include "auth.h"
#include "eventlog.h"
#include "http.h"
#include "imports.h"
#include "ingest.h"
#include "messages.h"
#include "ops.h"
#include "subscriptions.h"
#include "work.h"

#define WRITE_SCOPE_LEN 384
#define WRITE_MAX_KEY 255

struct write_req;
typedef bool (*write_check_fn)(struct write_req *w, const PGresult *res);

struct write_req {
    struct write_req *next_spare; /* in ingest.spares, once freed */
    http_req *r;
    ingest *in;
    json_t *root; /* the JSON body, or NULL */
    event *pb;    /* the unpacked protobuf body, or NULL */
    struct eventlog_entry entry;
    event *ev;            /* what entry.ev will be, during the existence check */
    const char *what;     /* "ticket", "customer": for the 404 of the existence check */
    const char *id;       /* borrowed from the path */
    unsigned need;        /* write_submit_ticket's scope */
    write_check_fn check; /* write_submit_checked's */
    char scope[WRITE_SCOPE_LEN];
    union {
        struct contact msg;
        struct op op;
        struct sub_write sub;
        struct work_write work;
        struct customer_import customer; /* imports.h */
    } u;
    /* Optional: answers a committed write in place of {"event_id","seq"}
     * (a failed commit is still answered 503 here). */
    void (*answer)(struct write_req *w, struct eventlog_entry *e);
    /* Optional: releases what the handler keeps in u, when the request
     * ends. */
    void (*release)(struct write_req *w);
};

/* A zeroed write_req owned by the request, or NULL after answering 503. */
struct write_req *write_req_new(http_req *r, ingest *in);
/* The same with u.msg not zeroed, for a handler that starts it with
 * contact_init before anything reads it: zeroing the whole union is
 * zeroing its largest member (struct op, 12 KB), per message on the hot
 * path. */
struct write_req *write_req_new_contact(http_req *r, ingest *in);
/* Frees the write_reqs kept for reuse: after the last request is gone
 * (the HTTP server destroyed). */
void write_spares_release(ingest *in);

/* The start of a JSON write: checks the content type (415) and loads the
 * body (400). The write_req with its root, and *g the grant of the
 * request's key (the guard's); or NULL after answering. */
struct write_req *write_begin_json(http_req *r, ingest *in, const struct access_grant **g);

/* Answers 400 for a parse error (counted under its code). */
http_status write_reject_invalid(struct write_req *w, const struct message_error *err);

/* Sets the entry's idempotency from the Idempotency-Key header, else from
 * fallback (may be NULL). True when fine (also with no key at all); false
 * after answering 400 for a malformed key. */
bool write_idempotency(struct write_req *w, const struct access_grant *g, const char *fallback);

/* For a key bound to an agent: the body's `field` ("agent_id", "actor")
 * names that agent — set to it when absent, null or empty; a body naming
 * another agent is refused (403, before the body is parsed). Other keys'
 * bodies stay as they are. True to go on, false after answering. */
bool write_bind_agent(struct write_req *w, const char *field);

/* Submits ev (borrowed from w) to the group commit; answers after commit. */
http_status write_submit(struct write_req *w, event *ev);

/* First checks that id exists with sql ($1 = id, a row when it exists) on
 * the read queue; answers 404 ("no <what> with id ...") when it does not. */
http_status write_submit_if_exists(struct write_req *w, event *ev, const char *sql,
                                   const char *what, const char *id);

/* A check on the read queue before the write, for a request whose
 * acceptance depends on the state it changes (a merge, an unmerge): sql
 * takes the request's idempotency scope and key as $1 and $2 (NULL without
 * a key) and params from $3 on, and answers one row with WRITE_SEEN's
 * column. A request whose key was seen is submitted unchecked, so that a
 * retry gets the first answer even though the state has moved on (the
 * merge is done); otherwise decide reads the row: true to submit, false
 * after answering (404, 409). */
#define WRITE_SEEN                                                                                 \
    "EXISTS (SELECT 1 FROM eventlog.events e WHERE e.idem_scope = $1 AND e.idem_key = $2)"         \
    " AS seen"
http_status write_submit_checked(struct write_req *w, event *ev, const char *sql, int nparams,
                                 const char *const *params, write_check_fn decide);

/* An action on ticket id (need: the route's scope, SCOPE_AGENT or
 * stronger): reads the ticket's assignee and team and the key's agent's
 * teams on the read queue, answers 404 for an unknown ticket, 403 when
 * access_decide refuses (an agent key on another team's ticket), and
 * submits otherwise. */
http_status write_submit_ticket(struct write_req *w, event *ev, const char *id, unsigned need);

#endif
