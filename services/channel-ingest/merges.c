/* merges.c — see merges.h. */
#include "merges.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "id.h"
#include "ingest.h"
#include "timeutil.h"
#include "write.h"

/* A body's id field: required, a UUID. */
static int id_field(const json_t *root, const char *key, char **out, struct message_error *err)
{
    if (field_string(root, key, key, FIELD_REQUIRED, 64, out, err) != 0)
        return -1;
    if (!id_canonical(*out))
        return field_fail(err, "invalid_field", key, "\"%s\" must be a UUID, in lowercase", key);
    return 0;
}

int merges_ticket_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                        struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__TicketMergeRequested *b = &o->body.ticket_merge;
    carebus__v1__ticket_merge_requested__init(b);
    if (id_field(root, "into_ticket_id", &b->into_ticket_id, err) ||
        field_string(root, "reason", "reason", FIELD_TEXT, 1024, &b->reason, err))
        return -1;
    if (strcmp(b->into_ticket_id, ticket_id) == 0)
        return field_fail(err, "invalid_field", "into_ticket_id",
                          "\"into_ticket_id\" names the ticket to merge: give another one");
    o->ev.ticket_merge_requested = b;
    o->ev.ticket_id = (char *)ticket_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED, now_us, err);
}

int merges_customer_parse(const json_t *root, const char *survivor_id, int64_t now_us, struct op *o,
                          struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__CustomerMergeRequested *b = &o->body.customer_merge;
    carebus__v1__customer_merge_requested__init(b);
    if (id_field(root, "merged_id", &b->merged_id, err) ||
        field_string(root, "reason", "reason", FIELD_TEXT, 1024, &b->reason, err))
        return -1;
    if (strcmp(b->merged_id, survivor_id) == 0)
        return field_fail(err, "invalid_field", "merged_id",
                          "\"merged_id\" names the customer that stays: give another one");
    b->survivor_id = (char *)survivor_id;
    o->ev.customer_merge_requested = b;
    o->ev.customer_id = (char *)survivor_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED, now_us, err);
}

int merges_unmerge_parse(const json_t *root, const char *merged_id, int64_t now_us, struct op *o,
                         struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__CustomerUnmergeRequested *b = &o->body.unmerge;
    carebus__v1__customer_unmerge_requested__init(b);
    if (field_string(root, "reason", "reason", FIELD_TEXT, 1024, &b->reason, err))
        return -1;
    b->merged_id = (char *)merged_id;
    o->ev.customer_unmerge_requested = b;
    o->ev.customer_id = (char *)merged_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGE_REQUESTED, now_us, err);
}

/* --- what the router would refuse ------------------------------------------------ */

static bool yes(const PGresult *res, const char *col)
{
    const char *v = db_value(res, 0, col);
    return v && v[0] == 't';
}

static bool conflict(struct write_req *w, const char *field, const char *msg)
{
    ingest_reject(w->r, 409, "conflict", "conflict", field, "%s", msg);
    return false;
}

static bool not_found(struct write_req *w, const char *field, const char *what, const char *id)
{
    ingest_reject(w->r, 404, "not_found", "not_found", field, "no %s with id \"%s\"", what, id);
    return false;
}

/* The tickets, and the ones they were merged into (merged_into is always
 * the last of a chain). */
static const char ticket_check_sql[] =
    "SELECT " WRITE_SEEN ", s.id IS NOT NULL AS source, t.id IS NOT NULL AS target,"
    " sf.id = tf.id AS same, sf.status = 'closed' AS source_closed,"
    " tf.status = 'closed' AS target_closed, sf.customer_id = tf.customer_id AS one_customer"
    " FROM (SELECT $3::uuid AS s, $4::uuid AS t) p"
    " LEFT JOIN router.tickets s ON s.id = p.s LEFT JOIN router.tickets t ON t.id = p.t"
    " LEFT JOIN router.tickets sf ON sf.id = coalesce(s.merged_into, s.id)"
    " LEFT JOIN router.tickets tf ON tf.id = coalesce(t.merged_into, t.id)";

static bool ticket_check(struct write_req *w, const PGresult *res)
{
    if (!yes(res, "source"))
        return not_found(w, NULL, "ticket", w->id);
    if (!yes(res, "target"))
        return not_found(w, "into_ticket_id", "ticket", w->u.op.body.ticket_merge.into_ticket_id);
    if (yes(res, "same"))
        return conflict(w, "into_ticket_id", "the two tickets are one already");
    if (yes(res, "source_closed") || yes(res, "target_closed"))
        return conflict(w, yes(res, "source_closed") ? NULL : "into_ticket_id",
                        "a closed ticket is not merged (it stays as it was closed)");
    if (!yes(res, "one_customer"))
        return conflict(w, "into_ticket_id",
                        "the tickets are two customers': merge the customers first"
                        " (POST /v1/customers/{id}/merge)");
    return true;
}

static const char customer_check_sql[] =
    "SELECT " WRITE_SEEN ", s.id IS NOT NULL AS survivor, m.id IS NOT NULL AS merged,"
    " coalesce(s.merged_into, s.id) = coalesce(m.merged_into, m.id) AS one"
    " FROM (SELECT $3::uuid AS s, $4::uuid AS m) p"
    " LEFT JOIN router.customers s ON s.id = p.s LEFT JOIN router.customers m ON m.id = p.m";

static bool customer_check(struct write_req *w, const PGresult *res)
{
    if (!yes(res, "survivor"))
        return not_found(w, NULL, "customer", w->id);
    if (!yes(res, "merged"))
        return not_found(w, "merged_id", "customer", w->u.op.body.customer_merge.merged_id);
    if (yes(res, "one"))
        return conflict(w, "merged_id", "the two customers are one already");
    return true;
}

static const char unmerge_check_sql[] =
    "SELECT " WRITE_SEEN ", c.id IS NOT NULL AS known, c.merged_into IS NOT NULL AS merged"
    " FROM (SELECT $3::uuid AS id) p LEFT JOIN router.customers c ON c.id = p.id";

static bool unmerge_check(struct write_req *w, const PGresult *res)
{
    if (!yes(res, "known"))
        return not_found(w, NULL, "customer", w->id);
    if (!yes(res, "merged"))
        return conflict(w, NULL, "the customer is not merged into another: nothing to undo");
    return true;
}

/* --- the handlers ------------------------------------------------------------------ */

typedef int (*merge_parse_fn)(const json_t *root, const char *id, int64_t now_us, struct op *o,
                              struct message_error *err);

struct merge_route {
    const char *what; /* the path's id names a "ticket", a "customer" */
    merge_parse_fn parse;
    const char *sql;
    write_check_fn check;
};

/* The body's actor: who the key acts as. */
static void merge_actor(struct op *o, const struct access_grant *g)
{
    char *actor = (char *)access_actor(g);
    switch (o->ev.body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED:
        o->body.ticket_merge.actor = actor;
        break;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED:
        o->body.customer_merge.actor = actor;
        break;
    default:
        o->body.unmerge.actor = actor;
        break;
    }
}

static http_status merge_post(http_req *r, ingest *in, const struct merge_route *m)
{
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, m->what, id))
        return HTTP_DONE;
    struct op *o = &w->u.op;
    struct message_error err;
    if (m->parse(w->root, id, time_now_us(), o, &err) != 0)
        return write_reject_invalid(w, &err);
    merge_actor(o, g);
    /* A customer and their tickets span channels. */
    if (!auth_unscoped_ok(in->auth, r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    w->id = id;
    const char *other = o->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED
                            ? o->body.ticket_merge.into_ticket_id
                        : o->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED
                            ? o->body.customer_merge.merged_id
                            : NULL;
    const char *params[] = {id, other};
    return write_submit_checked(w, &o->ev, m->sql, other ? 2 : 1, params, m->check);
}

http_status merges_ticket_post(http_req *r, void *arg)
{
    static const struct merge_route m = {"ticket", merges_ticket_parse, ticket_check_sql,
                                         ticket_check};
    return merge_post(r, arg, &m);
}

http_status merges_customer_post(http_req *r, void *arg)
{
    static const struct merge_route m = {"customer", merges_customer_parse, customer_check_sql,
                                         customer_check};
    return merge_post(r, arg, &m);
}

http_status merges_unmerge_post(http_req *r, void *arg)
{
    static const struct merge_route m = {"customer", merges_unmerge_parse, unmerge_check_sql,
                                         unmerge_check};
    return merge_post(r, arg, &m);
}
