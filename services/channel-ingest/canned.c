/* canned.c — canned replies: /v1/canned-replies (canned.saved,
 * canned.deleted; work.h's flow), and one filled in for a ticket.
 *
 *   POST   /v1/canned-replies                 a new reply (201)
 *   GET    /v1/canned-replies[?team&language] the list
 *   GET    /v1/canned-replies/{id}            one
 *   PATCH  /v1/canned-replies/{id}            the fields named (200)
 *   DELETE /v1/canned-replies/{id}            (204)
 *   GET    /v1/canned-replies/{id}/render?ticket_id=...[&agent_id=...]
 *
 * A reply's text may hold {customer_name}, {ticket_number} and
 * {agent_name} (placeholder.h; any other placeholder is refused when it is
 * saved). canned.saved states the whole reply, so a PATCH reads the reply
 * first and sends it whole. Rendering fills the placeholders for a ticket:
 * its customer's name, its number, and the agent — the key's own, else
 * agent_id, else the ticket's assignee; a value it does not have is left
 * empty and named in "missing".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "id.h"
#include "ingest.h"
#include "ops.h"
#include "placeholder.h"
#include "timeutil.h"
#include "work.h"
#include "write.h"

#define CANNED_TITLE_MAX 256
#define CANNED_TEXT_MAX 10000
#define CANNED_SHORTCUT_MAX 64

static const char *const canned_placeholders[] = {"customer_name", "ticket_number", "agent_name"};
#define CANNED_NPLACEHOLDERS (sizeof canned_placeholders / sizeof canned_placeholders[0])

static int canned_fields(const json_t *root, struct work_write *s, unsigned required,
                         struct message_error *err)
{
    Carebus__V1__CannedSaved *b = &s->body.canned;
    if (field_string(root, "title", "title", required | FIELD_TEXT, CANNED_TITLE_MAX, &b->title,
                     err) ||
        field_string(root, "text", "text", required | FIELD_TEXT, CANNED_TEXT_MAX, &b->text, err) ||
        field_string(root, "language", "language", FIELD_OPTIONAL, 16, &b->language, err) ||
        field_string(root, "team", "team", FIELD_OPTIONAL, OP_MAX_NAME, &b->team, err) ||
        field_string(root, "shortcut", "shortcut", FIELD_OPTIONAL, CANNED_SHORTCUT_MAX,
                     &b->shortcut, err))
        return -1;
    char bad[PLACEHOLDER_NAME_MAX + 1];
    if (placeholder_check(b->text, canned_placeholders, CANNED_NPLACEHOLDERS, bad) != 0)
        return field_fail(err, "invalid_field", "text",
                          "unknown placeholder {%s} (known: {customer_name}, {ticket_number}, "
                          "{agent_name})",
                          bad);
    return 0;
}

int canned_create_parse(const json_t *root, int64_t now_us, struct work_write *s,
                        struct message_error *err)
{
    if (work_begin(s, root, now_us, err))
        return -1;
    Carebus__V1__CannedSaved *b = &s->body.canned;
    carebus__v1__canned_saved__init(b);
    if (canned_fields(root, s, FIELD_REQUIRED, err))
        return -1;
    id_new(s->id);
    b->canned_id = s->id;
    work_finish(s, CAREBUS__V1__ENVELOPE__BODY_CANNED_SAVED);
    return 0;
}

int canned_update_parse(const json_t *root, const char *id, int64_t now_us, struct work_write *s,
                        struct message_error *err)
{
    if (work_begin(s, root, now_us, err))
        return -1;
    Carebus__V1__CannedSaved *b = &s->body.canned;
    carebus__v1__canned_saved__init(b);
    if (canned_fields(root, s, FIELD_OPTIONAL, err))
        return -1;
    static const char *const members[] = {"title", "text", "language", "team", "shortcut"};
    size_t n = work_mask(s, root, members, sizeof members / sizeof members[0]);
    if (n == 0)
        return field_fail(err, "missing_field", "",
                          "the body needs at least one of title, text, language, team or "
                          "shortcut");
    for (size_t i = 0; i < 2; i++)
        if (json_object_get(root, members[i]) && !work_present(root, members[i]))
            return field_fail(err, "invalid_field", members[i], "\"%s\" must not be null",
                              members[i]);
    b->canned_id = (char *)id;
    work_finish(s, CAREBUS__V1__ENVELOPE__BODY_CANNED_SAVED);
    return 0;
}

/* --- reads ------------------------------------------------------------------------ */

#define CANNED_ONE_SQL "SELECT router.canned_json(c) FROM router.canned_replies c WHERE c.id = $1"

http_status canned_list(http_req *r, void *arg)
{
    /* team: that team's and everyone's; language: that language's and
     * those of none. */
    static const char sql[] =
        "SELECT json_build_object('canned_replies', coalesce(jsonb_agg(router.canned_json(c)"
        " ORDER BY c.title, c.id), '[]'::jsonb)) FROM router.canned_replies c"
        " WHERE ($1::text IS NULL OR c.team IS NULL OR c.team = $1)"
        "   AND ($2::text IS NULL OR c.language IS NULL OR c.language = $2)";
    struct write_req *w = write_req_new(r, arg);
    if (!w)
        return HTTP_DONE;
    const char *params[] = {http_query(r, "team"), http_query(r, "language")};
    return work_read(w, sql, 2, params, work_answer_first) == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

http_status canned_get(http_req *r, void *arg)
{
    struct write_req *w = write_req_new(r, arg);
    if (!w)
        return HTTP_DONE;
    w->u.work.rid = http_param(r, "id");
    w->u.work.one_sql = CANNED_ONE_SQL;
    return work_read_one(w, "canned reply") == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

/* --- writes ---------------------------------------------------------------------- */

/* The reply's id from the path, or NULL after answering 404. */
static const char *canned_path_id(http_req *r)
{
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, "canned reply", id))
        return NULL;
    return id;
}

/* The reply as it stands ($1), whether its team ($2) exists, and whether
 * the request's Idempotency-Key ($3, $4) was used before. */
static const char CANNED_CHECK_SQL[] =
    "SELECT (SELECT router.canned_json(c) FROM router.canned_replies c WHERE c.id = $1),"
    " $2::text IS NULL OR EXISTS (SELECT 1 FROM router.teams t WHERE t.id = $2),"
    " EXISTS (SELECT 1 FROM eventlog.events e WHERE e.idem_scope = $3 AND e.idem_key = $4)";

/* PATCH: the members not named come from the row as read. */
static void canned_fill(struct work_write *s, const json_t *row)
{
    Carebus__V1__CannedSaved *b = &s->body.canned;
    static const char *const members[] = {"title", "text", "language", "team", "shortcut"};
    char **fields[] = {&b->title, &b->text, &b->language, &b->team, &b->shortcut};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        bool named = false;
        for (size_t k = 0; k < sizeof s->mask / sizeof s->mask[0] && s->mask[k]; k++)
            named |= strcmp(s->mask[k], members[i]) == 0;
        const char *v = json_string_value(json_object_get(row, members[i]));
        if (!named)
            *fields[i] = (char *)(v ? v : "");
    }
}

static void canned_checked(struct write_req *w, PGresult *res)
{
    struct work_write *s = &w->u.work;
    bool exists = !PQgetisnull(res, 0, 0), repeat = PQgetvalue(res, 0, 2)[0] == 't';
    if (!repeat && s->status != 201 && !exists) {
        work_not_found(w, "canned reply");
        return;
    }
    if (s->status != 204 && PQgetvalue(res, 0, 1)[0] != 't') {
        ingest_reject(w->r, 400, "invalid_field", "invalid_field", "team",
                      "unknown team \"%.128s\" (GET /v1/teams lists them)", s->body.canned.team);
        return;
    }
    if (s->status == 200 && exists) {
        /* The row's strings must outlive the event: kept until the end. */
        if (!(s->keep = work_row_json(res))) {
            ingest_reply_unavailable(w->r);
            return;
        }
        canned_fill(s, s->keep);
    }
    work_submit(w);
}

static http_status canned_check(struct write_req *w, const char *team)
{
    const char *params[] = {w->u.work.rid, team && team[0] ? team : NULL, w->entry.idem_scope,
                            w->entry.idem_key};
    return work_read(w, CANNED_CHECK_SQL, 4, params, canned_checked) == 0 ? HTTP_SUSPENDED
                                                                          : HTTP_DONE;
}

http_status canned_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    struct work_write *s = &w->u.work;
    struct message_error err;
    if (canned_create_parse(w->root, time_now_us(), s, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!write_idempotency(w, g, NULL))
        return HTTP_DONE;
    s->body.canned.actor = (char *)access_actor(g);
    s->rid = s->body.canned.canned_id;
    w->what = "canned reply";
    s->one_sql = CANNED_ONE_SQL;
    s->status = 201;
    return canned_check(w, s->body.canned.team);
}

http_status canned_patch(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    const char *id;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w || !(id = canned_path_id(r)))
        return HTTP_DONE;
    struct work_write *s = &w->u.work;
    struct message_error err;
    if (canned_update_parse(w->root, id, time_now_us(), s, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!write_idempotency(w, g, NULL))
        return HTTP_DONE;
    s->body.canned.actor = (char *)access_actor(g);
    s->rid = id;
    w->what = "canned reply";
    s->one_sql = CANNED_ONE_SQL;
    s->status = 200;
    return canned_check(w, s->body.canned.team);
}

http_status canned_delete(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = auth_grant(r);
    const char *id = canned_path_id(r);
    if (!id)
        return HTTP_DONE;
    struct write_req *w = write_req_new(r, in);
    if (!w)
        return HTTP_DONE;
    struct work_write *s = &w->u.work;
    work_init(s, time_now_us());
    carebus__v1__canned_deleted__init(&s->body.canned_deleted);
    s->body.canned_deleted.canned_id = (char *)id;
    s->body.canned_deleted.actor = (char *)access_actor(g);
    work_finish(s, CAREBUS__V1__ENVELOPE__BODY_CANNED_DELETED);
    if (!write_idempotency(w, g, NULL))
        return HTTP_DONE;
    s->rid = id;
    w->what = "canned reply";
    s->one_sql = CANNED_ONE_SQL;
    s->status = 204;
    return canned_check(w, NULL);
}

/* --- a reply for a ticket ------------------------------------------------------------ */

/* The reply, the ticket's customer name, number and channel rule, and
 * the agent's name ($1 reply, $2 ticket, $3 agent or NULL: the
 * assignee's, $4 the key's channels). */
static const char CANNED_RENDER_SQL[] =
    "SELECT router.canned_json(c), cu.name, t.number, a.name, a.id,"
    " " ACCESS_SQL_TICKET_WITHIN(
        "t", "$4") " FROM router.canned_replies c"
                   " JOIN router.tickets t ON t.id = $2::uuid"
                   " JOIN router.customers cu ON cu.id = (SELECT coalesce(x.merged_into, x.id)"
                   "                                      FROM router.customers x WHERE x.id = "
                   "t.customer_id)"
                   " LEFT JOIN router.agents a ON a.id = coalesce($3, t.assignee)"
                   " WHERE c.id = $1";

static void canned_rendered(struct write_req *w, PGresult *res)
{
    if (PQntuples(res) == 0) {
        ingest_reject(w->r, 404, "not_found", "not_found", NULL,
                      "no canned reply with id \"%s\", or no ticket with id \"%s\"", w->u.work.rid,
                      w->id);
        return;
    }
    struct access_ticket t = {.within_channels = PQgetvalue(res, 0, 5)[0] == 't'};
    struct access_facts f = {.ticket = &t};
    if (!auth_allow(w->in->auth, w->r, auth_grant(w->r), SCOPE_READ, &f))
        return;
    json_t *o = work_row_json(res);
    const char *text = json_string_value(json_object_get(o, "text"));
    const char *vals[3] = {PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
                           PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2),
                           PQgetisnull(res, 0, 3)
                               ? (PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4))
                               : PQgetvalue(res, 0, 3)};
    struct placeholder ph[CANNED_NPLACEHOLDERS];
    json_t *missing = json_array();
    for (size_t i = 0; i < CANNED_NPLACEHOLDERS; i++) {
        ph[i] = (struct placeholder){canned_placeholders[i], vals[i]};
        char needle[PLACEHOLDER_NAME_MAX + 3];
        snprintf(needle, sizeof needle, "{%s}", canned_placeholders[i]);
        if ((!vals[i] || !vals[i][0]) && text && strstr(text, needle))
            json_array_append_new(missing, json_string(canned_placeholders[i]));
    }
    buf b = BUF_INIT;
    placeholder_render(text, ph, CANNED_NPLACEHOLDERS, &b);
    if (!o || b.failed || !missing) {
        buf_release(&b);
        json_decref(o);
        json_decref(missing);
        http_reply_error(w->r, 500, "internal", NULL, "could not render the canned reply");
        return;
    }
    json_object_set_new(o, "text", json_string(buf_str(&b)));
    json_object_set_new(o, "ticket_id", json_string(w->id));
    json_object_set_new(o, "missing", missing);
    buf_release(&b);
    http_reply_json(w->r, 200, o);
}

http_status canned_render(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = auth_grant(r);
    const char *id = canned_path_id(r);
    if (!id)
        return HTTP_DONE;
    const char *ticket = http_query(r, "ticket_id");
    if (!ticket || !id_canonical(ticket)) {
        ingest_reject(r, 400, ticket ? "invalid_field" : "missing_field",
                      ticket ? "invalid_field" : "missing_field", "ticket_id",
                      "\"ticket_id\" must be a ticket's id (a UUID, in lowercase)");
        return HTTP_DONE;
    }
    const char *agent = g->agent_id[0] ? g->agent_id : http_query(r, "agent_id");
    struct write_req *w = write_req_new(r, in);
    if (!w)
        return HTTP_DONE;
    w->u.work.rid = id;
    w->id = ticket;
    char channels[ACCESS_CHANNELS_PARAM_LEN];
    const char *params[] = {id, ticket, agent && agent[0] ? agent : NULL,
                            access_channels_param(g, channels, sizeof channels)};
    return work_read(w, CANNED_RENDER_SQL, 4, params, canned_rendered) == 0 ? HTTP_SUSPENDED
                                                                            : HTTP_DONE;
}
