/* erasure.c — see erasure.h. */
#include "erasure.h"

#include "db.h"
#include "ingest.h"
#include "timeutil.h"
#include "write.h"

int erasure_parse(const json_t *root, const char *customer_id, int64_t now_us, struct op *o,
                  struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__CustomerErasureRequested *b = &o->body.erasure;
    carebus__v1__customer_erasure_requested__init(b);
    if (field_string(root, "reason", "reason", FIELD_REQUIRED | FIELD_TEXT, 1024, &b->reason, err))
        return -1;
    o->ev.customer_erasure_requested = b;
    o->ev.customer_id = (char *)customer_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASURE_REQUESTED, now_us, err);
}

static const char erasure_check_sql[] =
    "SELECT " WRITE_SEEN ", c.id IS NOT NULL AS known"
    " FROM (SELECT $3::uuid AS id) p LEFT JOIN router.customers c ON c.id = p.id";

static bool erasure_check(struct write_req *w, const PGresult *res)
{
    const char *known = db_value(res, 0, "known");
    if (known && known[0] == 't')
        return true;
    ingest_reject(w->r, 404, "not_found", "not_found", NULL, "no customer with id \"%s\"", w->id);
    return false;
}

http_status erasure_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, "customer", id))
        return HTTP_DONE;
    struct op *o = &w->u.op;
    struct message_error err;
    if (erasure_parse(w->root, id, time_now_us(), o, &err) != 0)
        return write_reject_invalid(w, &err);
    o->body.erasure.actor = (char *)access_actor(g);
    /* A customer spans channels. */
    if (!auth_unscoped_ok(in->auth, r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    w->id = id;
    const char *params[] = {id};
    return write_submit_checked(w, &o->ev, erasure_check_sql, 1, params, erasure_check);
}
