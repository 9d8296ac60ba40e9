/* agents.c — PUT /v1/agents/{id}/presence: an agent's state for routing.
 *
 * A PUT states the whole presence (online, away, offline), capacity and
 * teams, so it needs no existence check: the first PUT introduces the
 * agent to the router. Teams and leads are names the router knows. A key
 * bound to an agent sets that agent's presence only.
 */
#include "ingest.h"
#include "ops.h"
#include "timeutil.h"
#include "write.h"

int agents_presence_parse(const json_t *root, const char *agent_id, int64_t now_us, struct op *o,
                          struct message_error *err)
{
    if (op_begin(o, root, err) != 0)
        return -1;
    if (!field_token_valid(agent_id, OP_MAX_NAME))
        return field_fail(err, "invalid_field", "id",
                          "the agent id must be 1 to %d bytes without control characters",
                          OP_MAX_NAME);
    Carebus__V1__AgentPresence *b = &o->body.presence;
    carebus__v1__agent_presence__init(b);
    int p = 0;
    uint64_t capacity = 0;
    if (field_enum(root, "presence", "presence", FIELD_REQUIRED, &carebus__v1__presence__descriptor,
                   &p, NULL, err) ||
        field_uint(root, "capacity", "capacity", FIELD_REQUIRED, OP_MAX_CAPACITY, &capacity, NULL,
                   err) ||
        field_strings(root, "teams", "teams", FIELD_REQUIRED, OP_MAX_TEAMS, OP_MAX_NAME, o->teams,
                      &b->n_teams, err) ||
        field_string(root, "name", "name", FIELD_TEXT, 512, &b->name, err) ||
        field_strings(root, "leads", "leads", FIELD_OPTIONAL, OP_MAX_TEAMS, OP_MAX_NAME, o->leads,
                      &b->n_leads, err))
        return -1;
    b->agent_id = (char *)agent_id;
    b->presence = (Carebus__V1__Presence)p;
    b->capacity = (uint32_t)capacity;
    b->teams = b->n_teams ? o->teams : NULL;
    b->leads = b->n_leads ? o->leads : NULL;
    o->ev.agent_presence = b;
    return op_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE, now_us, err);
}

http_status agents_presence_put(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    struct access_facts whose = {.as_agent = id, .as_field = "id"};
    if (!auth_allow(in->auth, r, g, SCOPE_AGENT, &whose))
        return HTTP_DONE;
    struct message_error err;
    if (agents_presence_parse(w->root, id, time_now_us(), &w->u.op, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!auth_unscoped_ok(in->auth, r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    return write_submit(w, &w->u.op.ev);
}
