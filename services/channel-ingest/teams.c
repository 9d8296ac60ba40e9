/* teams.c — teams as a resource: POST, GET, PATCH /v1/teams (team.saved;
 * work.h's flow).
 *
 * The router's configuration file seeds the teams of a fresh install;
 * POST makes a new team (409 for one saved through the API already; a
 * team of the file is taken over), PATCH changes the fields it names. What
 * a team names must exist: its lead an agent the router knows, its
 * calendar and SLA policy rows of sla-monitor's sla.calendars and
 * sla.policies (400 otherwise, naming the field).
 */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "ops.h"
#include "timeutil.h"
#include "work.h"
#include "write.h"

static int team_fields(const json_t *root, struct work_write *s, struct message_error *err)
{
    Carebus__V1__TeamSaved *b = &s->body.team;
    bool active = true;
    if (field_string(root, "name", "name", FIELD_TEXT, 256, &b->name, err) ||
        field_string(root, "lead_agent_id", "lead_agent_id", FIELD_OPTIONAL, OP_MAX_NAME,
                     &b->lead_agent_id, err) ||
        field_string(root, "calendar", "calendar", FIELD_OPTIONAL, OP_MAX_NAME, &b->calendar,
                     err) ||
        field_string(root, "sla_policy", "sla_policy", FIELD_OPTIONAL, OP_MAX_NAME, &b->sla_policy,
                     err) ||
        field_bool(root, "active", "active", FIELD_OPTIONAL, &active, err))
        return -1;
    b->active = active;
    return 0;
}

int teams_create_parse(const json_t *root, int64_t now_us, struct work_write *s,
                       struct message_error *err)
{
    if (work_begin(s, root, now_us, err))
        return -1;
    Carebus__V1__TeamSaved *b = &s->body.team;
    carebus__v1__team_saved__init(b);
    if (field_string(root, "id", "id", FIELD_REQUIRED, OP_MAX_NAME, &b->team_id, err) ||
        team_fields(root, s, err))
        return -1;
    if (!field_token_valid(b->team_id, OP_MAX_NAME))
        return field_fail(err, "invalid_field", "id",
                          "the team id must be 1 to %d bytes without control characters",
                          OP_MAX_NAME);
    work_finish(s, CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED);
    return 0;
}

int teams_update_parse(const json_t *root, const char *id, int64_t now_us, struct work_write *s,
                       struct message_error *err)
{
    if (work_begin(s, root, now_us, err))
        return -1;
    Carebus__V1__TeamSaved *b = &s->body.team;
    carebus__v1__team_saved__init(b);
    if (team_fields(root, s, err))
        return -1;
    static const char *const members[] = {"name", "lead_agent_id", "calendar", "sla_policy",
                                          "active"};
    size_t n = work_mask(s, root, members, sizeof members / sizeof members[0]);
    if (n == 0)
        return field_fail(err, "missing_field", "",
                          "the body needs at least one of name, lead_agent_id, calendar, "
                          "sla_policy or active");
    b->update_mask = s->mask;
    b->n_update_mask = n;
    b->team_id = (char *)id;
    work_finish(s, CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED);
    return 0;
}

#define TEAM_ONE_SQL "SELECT router.team_json(t) FROM router.teams t WHERE t.id = $1"

/* The team as it stands ($1), whether its lead ($2), calendar ($3) and
 * policy ($4) exist (NULL when not named), and whether the request's
 * Idempotency-Key ($5, $6) was used before. */
static const char TEAM_CHECK_SQL[] =
    "SELECT (SELECT router.team_json(t) FROM router.teams t WHERE t.id = $1),"
    " (SELECT saved_at IS NOT NULL FROM router.teams t WHERE t.id = $1),"
    " $2::text IS NULL OR EXISTS (SELECT 1 FROM router.agents a WHERE a.id = $2),"
    " $3::text IS NULL OR EXISTS (SELECT 1 FROM sla.calendars c WHERE c.id = $3),"
    " $4::text IS NULL OR EXISTS (SELECT 1 FROM sla.policies p WHERE p.id = $4),"
    " EXISTS (SELECT 1 FROM eventlog.events e WHERE e.idem_scope = $5 AND e.idem_key = $6)";

http_status teams_list(http_req *r, void *arg)
{
    static const char sql[] =
        "SELECT json_build_object('teams', coalesce(jsonb_agg(router.team_json(t)"
        " ORDER BY t.id), '[]'::jsonb)) FROM router.teams t";
    struct write_req *w = write_req_new(r, arg);
    if (!w)
        return HTTP_DONE;
    return work_read(w, sql, 0, NULL, work_answer_first) == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

http_status teams_get(http_req *r, void *arg)
{
    struct write_req *w = write_req_new(r, arg);
    if (!w)
        return HTTP_DONE;
    w->u.work.rid = http_param(r, "id");
    w->u.work.one_sql = TEAM_ONE_SQL;
    return work_read_one(w, "team") == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

static bool t_col(PGresult *res, int col)
{
    return !PQgetisnull(res, 0, col) && PQgetvalue(res, 0, col)[0] == 't';
}

static void teams_checked(struct write_req *w, PGresult *res)
{
    struct work_write *s = &w->u.work;
    bool exists = !PQgetisnull(res, 0, 0), repeat = t_col(res, 5);
    if (!repeat && s->status == 201 && exists && t_col(res, 1)) {
        ingest_reject(w->r, 409, "conflict", "conflict", "id",
                      "team \"%.128s\" exists: PATCH /v1/teams/%.128s changes it", s->rid, s->rid);
        return;
    }
    if (!repeat && s->status == 200 && !exists) {
        work_not_found(w, "team");
        return;
    }
    static const char *const fields[] = {"lead_agent_id", "calendar", "sla_policy"};
    static const char *const what[] = {"no agent with this id (GET /v1/agents lists them)",
                                       "no calendar with this id in sla.calendars",
                                       "no SLA policy with this id in sla.policies"};
    for (int i = 0; i < 3; i++)
        if (!t_col(res, 2 + i)) {
            ingest_reject(w->r, 400, "invalid_field", "invalid_field", fields[i], "\"%s\": %s",
                          fields[i], what[i]);
            return;
        }
    work_submit(w);
}

static const char *or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

static http_status teams_check(struct write_req *w)
{
    const Carebus__V1__TeamSaved *b = &w->u.work.body.team;
    const char *params[] = {w->u.work.rid,          or_null(b->lead_agent_id), or_null(b->calendar),
                            or_null(b->sla_policy), w->entry.idem_scope,       w->entry.idem_key};
    return work_read(w, TEAM_CHECK_SQL, 6, params, teams_checked) == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

static http_status teams_write(http_req *r, ingest *in, bool create)
{
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = create ? NULL : http_param(r, "id");
    struct work_write *s = &w->u.work;
    struct message_error err;
    int rc = create ? teams_create_parse(w->root, time_now_us(), s, &err)
                    : teams_update_parse(w->root, id, time_now_us(), s, &err);
    if (rc != 0)
        return write_reject_invalid(w, &err);
    if (!auth_unscoped_ok(in->auth, r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    s->body.team.actor = (char *)access_actor(g);
    s->rid = s->body.team.team_id;
    w->what = "team";
    s->one_sql = TEAM_ONE_SQL;
    s->status = create ? 201 : 200;
    return teams_check(w);
}

http_status teams_post(http_req *r, void *arg)
{
    return teams_write(r, arg, true);
}

http_status teams_patch(http_req *r, void *arg)
{
    return teams_write(r, arg, false);
}
