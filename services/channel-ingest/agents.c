/* agents.c — agents: PUT /v1/agents/{id}/presence, and the agent as a
 * resource (POST, GET, PATCH /v1/agents; work.h's flow).
 *
 * A PUT states the whole presence (online, away, offline), capacity and
 * teams, so it needs no existence check: the first PUT introduces the
 * agent to the router. A key bound to an agent sets that agent's presence
 * only. Once an agent is saved through POST or PATCH (agent.saved), its
 * name, teams and capacity are what the API saved, and a presence changes
 * its presence only (services/router/agents.h).
 *
 * POST makes an agent the API's (409 when it already is; an agent known by
 * its presence alone is taken over), PATCH changes the fields it names. A
 * password is hashed (scrypt, hasher.h) before anything is stored: the
 * event carries the hash, and no read ever shows it ("has_password"). The
 * teams named must be teams the router knows (GET /v1/teams).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hasher.h"
#include "ingest.h"
#include "ops.h"
#include "timeutil.h"
#include "work.h"
#include "write.h"

int agents_presence_parse(const json_t *root, const char *agent_id, int64_t now_us, struct op *o,
                          struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
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
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE, now_us, err);
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

/* --- parsing agent.saved ------------------------------------------------------------ */

/* "vi", "en", "pt-BR": a letter, then letters, digits and hyphens. */
static bool language_tag_ok(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
           strlen(s);
}

/* One "@" between two non-empty parts, no blanks: the desk's sign-in
 * name, not a mailbox to check. */
static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    return at && at != s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, " \t\r\n");
}

/* The members both bodies may have. */
static int agent_fields(const json_t *root, struct work_write *s, unsigned name_flags,
                        unsigned capacity_flags, struct message_error *err)
{
    Carebus__V1__AgentSaved *b = &s->body.agent;
    int role = CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_AGENT;
    uint64_t capacity = 0;
    bool active = true;
    if (field_string(root, "name", "name", name_flags | FIELD_TEXT, 512, &b->name, err) ||
        field_string(root, "email", "email", FIELD_OPTIONAL, 320, &b->email, err) ||
        field_strings(root, "teams", "teams", FIELD_OPTIONAL, OP_MAX_TEAMS, OP_MAX_NAME, s->teams,
                      &b->n_teams, err) ||
        field_strings(root, "languages", "languages", FIELD_OPTIONAL, WORK_MAX_LANGUAGES, 16,
                      s->languages, &b->n_languages, err) ||
        field_uint(root, "capacity", "capacity", capacity_flags, OP_MAX_CAPACITY, &capacity, NULL,
                   err) ||
        field_enum(root, "role", "role", FIELD_OPTIONAL, &carebus__v1__agent_role__descriptor,
                   &role, NULL, err) ||
        field_bool(root, "active", "active", FIELD_OPTIONAL, &active, err))
        return -1;
    if (b->email[0] && !email_ok(b->email))
        return field_fail(err, "invalid_field", "email",
                          "\"email\" must be an address like name@example.com");
    for (size_t i = 0; i < b->n_languages; i++)
        if (!language_tag_ok(s->languages[i])) {
            field_fail(err, "invalid_field", "",
                       "\"languages[%zu]\" must be a language tag "
                       "(\"vi\", \"en\")",
                       i);
            snprintf(err->field, sizeof err->field, "languages[%zu]", i);
            return -1;
        }
    json_t *pw = json_object_get(root, "password");
    if (pw && json_is_null(pw)) {
        s->clear_password = true;
    } else if (pw) {
        if (!json_is_string(pw))
            return field_fail(err, "invalid_field", "password", "\"password\" must be a string");
        size_t n = json_string_length(pw);
        if (n < PASSWORD_MIN || n > PASSWORD_MAX)
            return field_fail(err, "invalid_field", "password",
                              "\"password\" must be %d to %d bytes", PASSWORD_MIN, PASSWORD_MAX);
        s->password = json_string_value(pw);
    }
    b->teams = b->n_teams ? s->teams : NULL;
    b->languages = b->n_languages ? s->languages : NULL;
    b->capacity = (uint32_t)capacity;
    b->role = (Carebus__V1__AgentRole)role;
    b->active = active;
    return 0;
}

int agents_create_parse(const json_t *root, int64_t now_us, struct work_write *s,
                        struct message_error *err)
{
    if (work_begin(s, root, now_us, err))
        return -1;
    Carebus__V1__AgentSaved *b = &s->body.agent;
    carebus__v1__agent_saved__init(b);
    if (field_string(root, "id", "id", FIELD_REQUIRED, OP_MAX_NAME, &b->agent_id, err) ||
        agent_fields(root, s, FIELD_REQUIRED, FIELD_REQUIRED, err))
        return -1;
    if (!field_token_valid(b->agent_id, OP_MAX_NAME))
        return field_fail(err, "invalid_field", "id",
                          "the agent id must be 1 to %d bytes without control characters",
                          OP_MAX_NAME);
    if (s->clear_password)
        s->clear_password = false; /* a new agent has none anyway */
    work_finish(s, CAREBUS__V1__ENVELOPE__BODY_AGENT_SAVED);
    return 0;
}

int agents_update_parse(const json_t *root, const char *id, int64_t now_us, struct work_write *s,
                        struct message_error *err)
{
    if (work_begin(s, root, now_us, err))
        return -1;
    Carebus__V1__AgentSaved *b = &s->body.agent;
    carebus__v1__agent_saved__init(b);
    if (agent_fields(root, s, FIELD_OPTIONAL, FIELD_OPTIONAL, err))
        return -1;
    if (work_present(root, "name") && !b->name[0])
        return field_fail(err, "invalid_field", "name", "\"name\" must not be empty");
    /* The update mask: the members given, by the event's field names. */
    static const char *const members[] = {"name",     "email", "teams", "languages",
                                          "capacity", "role",  "active"};
    size_t n = work_mask(s, root, members, sizeof members / sizeof members[0]);
    if (s->password || s->clear_password)
        s->mask[n++] = "password_hash";
    if (n == 0)
        return field_fail(err, "missing_field", "",
                          "the body needs at least one of name, email, teams, languages, "
                          "capacity, role, active or password");
    b->update_mask = s->mask;
    b->n_update_mask = n;
    b->agent_id = (char *)id;
    work_finish(s, CAREBUS__V1__ENVELOPE__BODY_AGENT_SAVED);
    return 0;
}

/* --- reads ------------------------------------------------------------------------ */

#define AGENT_ONE_SQL "SELECT router.agent_json(a) FROM router.agents a WHERE a.id = $1"

/* The agent as it stands ($1), the teams of $2 (a JSON array) the router
 * does not know, and whether the request's Idempotency-Key ($3, $4) was
 * used before (a repeat is answered, not refused). */
static const char AGENT_CHECK_SQL[] =
    "SELECT (SELECT router.agent_json(a) FROM router.agents a WHERE a.id = $1),"
    " (SELECT json_agg(x.value) FROM json_array_elements_text($2::json) x"
    "   WHERE NOT EXISTS (SELECT 1 FROM router.teams t WHERE t.id = x.value"
    "                      AND (t.saved_at IS NULL OR t.active))),"
    " EXISTS (SELECT 1 FROM eventlog.events e WHERE e.idem_scope = $3 AND e.idem_key = $4)";

http_status agents_list(http_req *r, void *arg)
{
    /* Filters: team, presence, active. */
    static const char sql[] =
        "SELECT json_build_object('agents', coalesce(jsonb_agg(router.agent_json(a)"
        " ORDER BY a.id), '[]'::jsonb)) FROM router.agents a"
        " WHERE ($1::text IS NULL OR $1 = ANY (a.teams))"
        "   AND ($2::text IS NULL OR a.presence = $2)"
        "   AND ($3::boolean IS NULL OR a.active = $3)";
    ingest *in = arg;
    const char *active = http_query(r, "active");
    if (active && strcmp(active, "true") != 0 && strcmp(active, "false") != 0) {
        ingest_reject(r, 400, "invalid_field", "invalid_field", "active",
                      "\"active\" must be true or false");
        return HTTP_DONE;
    }
    const char *presence = http_query(r, "presence");
    int p;
    if (presence && vocab_parse(&carebus__v1__presence__descriptor, presence, &p) != 0) {
        ingest_reject(r, 400, "invalid_field", "invalid_field", "presence",
                      "\"presence\" must be one of %s",
                      vocab_list(&carebus__v1__presence__descriptor));
        return HTTP_DONE;
    }
    struct write_req *w = write_req_new(r, in);
    if (!w)
        return HTTP_DONE;
    const char *params[] = {http_query(r, "team"), presence, active};
    return work_read(w, sql, 3, params, work_answer_first) == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

http_status agents_get(http_req *r, void *arg)
{
    struct write_req *w = write_req_new(r, arg);
    if (!w)
        return HTTP_DONE;
    w->u.work.rid = http_param(r, "id");
    w->u.work.one_sql = AGENT_ONE_SQL;
    return work_read_one(w, "agent") == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

/* --- writes ---------------------------------------------------------------------- */

static void agents_hashed(const char *phc, void *arg)
{
    struct write_req *w = arg;
    struct work_write *s = &w->u.work;
    if (!phc) {
        ingest_reply_unavailable(w->r);
        return;
    }
    snprintf(s->hash, sizeof s->hash, "%s", phc);
    s->body.agent.password_hash = s->hash;
    work_submit(w);
}

/* After the checks: the password hashed (off the loop), then the event. */
static void agents_write(struct write_req *w)
{
    struct work_write *s = &w->u.work;
    if (!s->password) {
        work_submit(w);
        return;
    }
    if (hasher_submit(w->in->hasher, s->password, strlen(s->password), agents_hashed, w) != 0)
        ingest_reply_unavailable(w->r);
}

static void agents_checked(struct write_req *w, PGresult *res)
{
    struct work_write *s = &w->u.work;
    bool exists = !PQgetisnull(res, 0, 0);
    bool repeat = PQgetvalue(res, 0, 2)[0] == 't';
    if (!repeat && s->status == 201 && exists) {
        json_t *row = work_row_json(res);
        const char *source = json_string_value(json_object_get(row, "source"));
        bool api = source && strcmp(source, "api") == 0;
        json_decref(row);
        if (api) {
            ingest_reject(w->r, 409, "conflict", "conflict", "id",
                          "agent \"%.128s\" exists: PATCH /v1/agents/%.128s changes it", s->rid,
                          s->rid);
            return;
        }
    }
    if (!repeat && s->status == 200 && !exists) {
        work_not_found(w, "agent");
        return;
    }
    if (!PQgetisnull(res, 0, 1)) {
        json_t *unknown = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
        const char *team = json_string_value(json_array_get(unknown, 0));
        ingest_reject(w->r, 400, "invalid_field", "invalid_field", "teams",
                      "unknown team \"%.128s\" (GET /v1/teams lists them)", team ? team : "");
        json_decref(unknown);
        return;
    }
    agents_write(w);
}

/* The checks on the read queue, once the router is up to date. */
static http_status agents_check(struct write_req *w)
{
    const Carebus__V1__AgentSaved *b = &w->u.work.body.agent;
    json_t *teams = json_array();
    for (size_t i = 0; teams && i < b->n_teams; i++)
        json_array_append_new(teams, json_string(b->teams[i]));
    char *t = teams ? json_dumps(teams, JSON_COMPACT) : NULL;
    json_decref(teams);
    if (!t) {
        ingest_reply_unavailable(w->r);
        return HTTP_DONE;
    }
    const char *params[] = {w->u.work.rid, t, w->entry.idem_scope, w->entry.idem_key};
    int rc = work_read(w, AGENT_CHECK_SQL, 4, params, agents_checked);
    free(t);
    return rc == 0 ? HTTP_SUSPENDED : HTTP_DONE;
}

http_status agents_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    struct work_write *s = &w->u.work;
    struct message_error err;
    if (agents_create_parse(w->root, time_now_us(), s, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!auth_unscoped_ok(in->auth, r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    s->body.agent.actor = (char *)access_actor(g);
    s->rid = s->body.agent.agent_id;
    w->what = "agent";
    s->one_sql = AGENT_ONE_SQL;
    s->status = 201;
    return agents_check(w);
}

http_status agents_patch(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    struct work_write *s = &w->u.work;
    struct message_error err;
    if (agents_update_parse(w->root, id, time_now_us(), s, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!auth_unscoped_ok(in->auth, r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    s->body.agent.actor = (char *)access_actor(g);
    s->rid = id;
    w->what = "agent";
    s->one_sql = AGENT_ONE_SQL;
    s->status = 200;
    return agents_check(w);
}
