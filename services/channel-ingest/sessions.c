/* sessions.c — POST /v1/sessions: an agent signs in with their id or e-mail
 * and password and gets an API key of their own; GET /v1/sessions/current:
 * the key's session as it stands (its agent, expiry and scopes: how the
 * desk learns who a session's key is, on any of its instances); DELETE
 * /v1/sessions/current: the key revokes itself (signing out).
 *
 * The key is bound to the agent, with the scopes access_agent_scopes gives
 * its role, and expires after CAREBUS_SESSION_TTL_S (ingest.api_keys'
 * expires_at). Steps, none on the loop's time: the agent's row (read
 * queue), the password checked by the hasher's worker (hasher.h), the key
 * stored (write queue), then the answer once the key table accepts the
 * key — or, signing out, no longer does (keywait.h).
 * An unknown, inactive or password-less agent is checked against a dummy
 * hash: the same 401, after as long. Checks at once are bounded
 * (SIGNINS_MAX; 503 with Retry-After beyond): each holds scrypt's memory.
 * Each attempt is counted (write queue) before its password is checked,
 * and one past the bound is refused there (429, Retry-After: lockout.h);
 * a success clears the count with the key's insert.
 * The password is never logged, and wiped once checked.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "db.h"
#include "hasher.h"
#include "hex.h"
#include "id.h"
#include "ingest.h"
#include "jsondepth.h"
#include "keywait.h"
#include "lockout.h"
#include "log.h"
#include "password.h"

#define SIGNINS_MAX 4
#define LOGIN_MAX 320

struct signin {
    ingest *in;
    http_req *r;
    char *password;
    size_t plen;
    char login[LOGIN_MAX + 1];
    char *login_key; /* its row of ingest.signin_failures (0092) */
    char *phc;       /* the agent's password hash, NULL: none (a dummy is checked) */
    char agent_id[ACCESS_AGENT_MAX + 1];
    char role[32];
    json_t *agent; /* router.agent_json */
    bool found, active;
    char key[APIKEY_LEN];
    unsigned scopes;
    char expires_at[40];
    bool counted;         /* a sign-in (ingest.signing_in) */
    struct keywait await; /* the key's arrival, or departure */
};

static void signin_free(void *arg)
{
    struct signin *s = arg;
    if (s->password) {
        OPENSSL_cleanse(s->password, s->plen);
        free(s->password);
    }
    keywait_stop(&s->await);
    json_decref(s->agent);
    free(s->login_key);
    free(s->phc);
    if (s->counted)
        s->in->signing_in--;
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s);
}

static void signin_unavailable(struct signin *s, const char *why)
{
    log_warn("POST /v1/sessions: 503: %s", why);
    ingest_reply_unavailable(s->r);
}

/* The session's answer: its key (NULL: not shown again), agent, expiry and
 * scopes. */
static json_t *session_json(const struct signin *s, const char *key)
{
    char scopes[128];
    json_t *list = json_array();
    if (scope_format(s->scopes, scopes, sizeof scopes) >= 0 && list)
        for (char *tok = strtok(scopes, ","); tok; tok = strtok(NULL, ","))
            json_array_append_new(list, json_string(tok));
    json_t *j = json_pack("{s:s, s:s, s:O, s:o}", "id", s->await.key_id, "expires_at",
                          s->expires_at, "agent", s->agent, "scopes", list);
    if (j && key && json_object_set_new(j, "key", json_string(key)) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static void signin_answer(struct signin *s)
{
    json_t *j = session_json(s, s->key);
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!txt) {
        http_reply_error(s->r, 500, "internal", NULL, "out of memory");
        return;
    }
    log_info("agent %s signed in (key %s)", s->agent_id, s->await.key_id);
    http_add_header(s->r, "Cache-Control", "no-store");
    http_reply(s->r, 201, "application/json", txt, strlen(txt));
    OPENSSL_cleanse(txt, strlen(txt));
    free(txt);
}

static void signin_awaited(struct keywait *w, bool seen)
{
    struct signin *s = w->arg;
    if (!seen)
        signin_unavailable(s, "the key table did not reload in time");
    else if (w->present)
        signin_answer(s);
    else
        http_reply(s->r, 204, "application/json", "", 0);
}

static void signin_await(struct signin *s, bool present)
{
    s->await.present = present;
    if (keywait_start(&s->await) != 0)
        signin_unavailable(s, "no timer");
}

static void on_stored(PGresult *res, void *arg)
{
    struct signin *s = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        if (res)
            log_error("storing a session key failed: %s", PQresultErrorMessage(res));
        signin_unavailable(s, "could not store the key");
        return;
    }
    snprintf(s->expires_at, sizeof s->expires_at, "%s", db_value(res, 0, "expires_at"));
    signin_await(s, true);
}

static void signin_refuse(struct signin *s)
{
    /* One answer whatever was wrong: no names are told. */
    ingest_reject(s->r, 401, "wrong_credentials", "unauthorized", NULL, "wrong agent or password");
}

static void on_checked(int result, void *arg)
{
    struct signin *s = arg;
    OPENSSL_cleanse(s->password, s->plen);
    if (result < 0) {
        signin_unavailable(s, "shutting down");
        return;
    }
    if (result == 0 || !s->found || !s->active) {
        signin_refuse(s); /* counted already */
        return;
    }
    unsigned char hash[APIKEY_HASH_LEN];
    char hexd[2 * APIKEY_HASH_LEN + 1], scopes[128], name[ACCESS_AGENT_MAX + 16], ttl[24];
    s->scopes = access_agent_scopes(s->role);
    if (apikey_generate(s->key) != 0 || apikey_hash(s->key, strlen(s->key), hash) != 0 ||
        scope_format(s->scopes, scopes, sizeof scopes) < 0) {
        signin_unavailable(s, "could not make a key");
        return;
    }
    id_new(s->await.key_id);
    hex_encode(hash, sizeof hash, hexd);
    snprintf(name, sizeof name, "session: %s", s->agent_id);
    snprintf(ttl, sizeof ttl, "%ld", s->in->session_ttl_s);
    const char *p[] = {s->await.key_id, name, hexd, scopes, s->agent_id, ttl, s->login_key};
    if (dbq_query(s->in->writes,
                  "WITH cleared AS (DELETE FROM ingest.signin_failures WHERE login = $7)"
                  " INSERT INTO ingest.api_keys (id, name, key_hash, scopes, agent_id, expires_at)"
                  " VALUES ($1, $2, decode($3, 'hex'), string_to_array($4, ','), $5,"
                  "         now() + make_interval(secs => $6::bigint))"
                  " RETURNING to_char(expires_at AT TIME ZONE 'UTC',"
                  "                   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at",
                  7, p, on_stored, s) != 0)
        signin_unavailable(s, "PostgreSQL is down");
}

static void on_attempt_counted(PGresult *res, void *arg)
{
    struct signin *s = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        if (res)
            log_error("counting a sign-in attempt failed: %s", PQresultErrorMessage(res));
        signin_unavailable(s, "could not count the attempt");
        return;
    }
    long wait =
        lockout_wait_s(atol(db_value(res, 0, "attempt")), atof(db_value(res, 0, "since_last")),
                       s->in->signin_failures, s->in->signin_lockout_s);
    if (wait > 0) {
        char after[24];
        snprintf(after, sizeof after, "%ld", wait);
        http_add_header(s->r, "Retry-After", after);
        ingest_reject(s->r, 429, "signin_locked", "rate_limited", NULL,
                      "too many failed sign-ins in a row; retry after %ld seconds", wait);
        return;
    }
    if (hasher_verify(s->in->hasher, s->password, s->plen, s->phc, on_checked, s) != 0)
        signin_unavailable(s, "out of memory");
}

/* Counts the attempt in its login's row: one more in a row (from one again
 * past the lockout time), last_at moved only for an attempt let through;
 * and sweeps a few rows of other logins past that time (those another
 * sign-in holds are skipped: two sweeps never wait on each other). */
static void signin_count_attempt(struct signin *s)
{
    char lockout[24], max[24];
    snprintf(lockout, sizeof lockout, "%ld", s->in->signin_lockout_s);
    snprintf(max, sizeof max, "%ld", s->in->signin_failures);
    const char *p[] = {s->login_key, lockout, max};
    if (dbq_query(
            s->in->writes,
            "WITH swept AS (DELETE FROM ingest.signin_failures WHERE login IN"
            "  (SELECT login FROM ingest.signin_failures"
            "    WHERE last_at < now() - make_interval(secs => $2::bigint) AND login <> $1"
            "    ORDER BY last_at LIMIT 100 FOR UPDATE SKIP LOCKED))"
            " INSERT INTO ingest.signin_failures AS f (login, failures, last_at)"
            " VALUES ($1, 1, now()) ON CONFLICT (login) DO UPDATE"
            " SET failures = CASE WHEN f.last_at < now() - make_interval(secs => $2::bigint)"
            "                     THEN 1 ELSE least(f.failures + 1, 1000000) END,"
            "     last_at = CASE WHEN f.failures >= $3::int"
            "                     AND f.last_at >= now() - make_interval(secs => $2::bigint)"
            "                    THEN f.last_at ELSE now() END"
            " RETURNING failures AS attempt, extract(epoch FROM now() - last_at) AS since_last",
            3, p, on_attempt_counted, s) != 0)
        signin_unavailable(s, "PostgreSQL is down");
}

static void on_agent(PGresult *res, void *arg)
{
    struct signin *s = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        if (res)
            log_error("reading an agent to sign in failed: %s", PQresultErrorMessage(res));
        signin_unavailable(s, "could not read the agent");
        return;
    }
    const char *id = db_value(res, 0, "id"), *phc = db_value(res, 0, "password_hash");
    if (!(s->login_key = strdup(db_value(res, 0, "login_key"))) ||
        (phc && !(s->phc = strdup(phc)))) {
        signin_unavailable(s, "out of memory");
        return;
    }
    if (id) {
        s->found = true;
        snprintf(s->agent_id, sizeof s->agent_id, "%s", id);
        snprintf(s->role, sizeof s->role, "%s", db_value(res, 0, "role"));
        s->active = db_value(res, 0, "active")[0] == 't';
        s->agent = json_loads(db_value(res, 0, "json"), 0, NULL);
        if (!s->agent) {
            signin_unavailable(s, "could not read the agent");
            return;
        }
    }
    signin_count_attempt(s);
}

static struct signin *signin_new(ingest *in, http_req *r, bool counted)
{
    struct signin *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->in = in;
    s->r = r;
    s->await.in = in;
    s->await.done = signin_awaited;
    s->await.arg = s;
    s->counted = counted;
    if (counted)
        in->signing_in++;
    http_set_data(r, s, signin_free);
    return s;
}

http_status sessions_post(http_req *r, void *arg)
{
    ingest *in = arg;
    size_t len;
    const char *body = http_body(r, &len);
    const char *ct = http_header(r, "Content-Type");
    if (!ct || strncmp(ct, "application/json", 16) != 0) {
        ingest_reject(r, 415, "unsupported_media_type", "unsupported_media_type", NULL,
                      "the body must be application/json");
        return HTTP_DONE;
    }
    json_t *root = body && jsondepth_ok(body, len, in->json_max_depth)
                       ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)
                       : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        ingest_reject(r, 400, "invalid_json", "invalid_json", NULL,
                      "the body must be a JSON object");
        return HTTP_DONE;
    }
    const char *login = json_string_value(json_object_get(root, "agent"));
    const char *password = json_string_value(json_object_get(root, "password"));
    size_t plen = password ? json_string_length(json_object_get(root, "password")) : 0;
    http_status st = HTTP_DONE;
    if (!login || !*login || strlen(login) > LOGIN_MAX) {
        ingest_reject(r, 400, "invalid_field", "invalid_field", "agent",
                      "\"agent\" must be the agent's id or e-mail, 1 to %d bytes", LOGIN_MAX);
    } else if (!password || plen == 0 || plen > PASSWORD_MAX || strlen(password) != plen) {
        ingest_reject(r, 400, "invalid_field", "invalid_field", "password",
                      "\"password\" must be 1 to %d bytes", PASSWORD_MAX);
    } else if (in->signing_in >= SIGNINS_MAX) {
        log_info("POST /v1/sessions: 503: %d sign-ins in flight", in->signing_in);
        http_add_header(r, "Retry-After", "1");
        ingest_reject(r, 503, "busy", "unavailable", NULL,
                      "too many sign-ins at once; retry after 1 second");
    } else {
        struct signin *s = signin_new(in, r, true);
        if (!s || !(s->password = malloc(plen + 1))) {
            ingest_reply_unavailable(r);
        } else {
            memcpy(s->password, password, plen + 1);
            s->plen = plen;
            snprintf(s->login, sizeof s->login, "%s", login);
            const char *p[] = {s->login};
            /* One row: the agent (NULLs when none), and the login's
             * row of ingest.signin_failures. */
            if (dbq_query(in->reads,
                          "SELECT a.id, a.role, a.active, a.password_hash, a.json,"
                          " coalesce('agent:' || a.id, 'login:' || lower($1)) AS login_key"
                          " FROM (SELECT 1) one LEFT JOIN LATERAL"
                          " (SELECT a.id, coalesce(a.role, 'agent') AS role, a.active,"
                          "  a.password_hash, router.agent_json(a)::text AS json"
                          "  FROM router.agents a WHERE a.id = $1 OR lower(a.email) = lower($1)"
                          "  ORDER BY a.id = $1 DESC LIMIT 1) a ON true",
                          1, p, on_agent, s) != 0)
                ingest_reply_unavailable(r);
            else
                st = HTTP_SUSPENDED;
        }
    }
    /* The body's copies of the password. */
    if (password)
        OPENSSL_cleanse((char *)password, plen);
    if (body)
        OPENSSL_cleanse((char *)body, len);
    json_decref(root);
    return st;
}

/* 404: the request's key was not made by a sign-in. */
static void not_a_session(http_req *r)
{
    ingest_reject(r, 404, "not_found", "not_found", NULL,
                  "the request's key is not a session's (POST /v1/sessions)");
}

static void on_revoked(PGresult *res, void *arg)
{
    struct signin *s = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res)
            log_error("revoking a session key failed: %s", PQresultErrorMessage(res));
        signin_unavailable(s, "could not revoke the key");
    } else if (PQntuples(res) == 0) {
        not_a_session(s->r);
    } else {
        signin_await(s, false);
    }
}

http_status sessions_delete(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = auth_grant(r);
    if (!id_valid(g->id)) {
        not_a_session(r);
        return HTTP_DONE;
    }
    struct signin *s = signin_new(in, r, false);
    if (!s) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    snprintf(s->await.key_id, sizeof s->await.key_id, "%s", g->id);
    const char *p[] = {s->await.key_id};
    if (dbq_query(in->writes,
                  "UPDATE ingest.api_keys SET revoked_at = now()"
                  " WHERE id = $1 AND expires_at IS NOT NULL AND revoked_at IS NULL RETURNING id",
                  1, p, on_revoked, s) != 0) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

static void on_current(PGresult *res, void *arg)
{
    struct signin *s = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res)
            log_error("reading a session failed: %s", PQresultErrorMessage(res));
        signin_unavailable(s, "could not read the session");
        return;
    }
    /* Revoked meanwhile, or its agent gone: no session to tell of. */
    const char *agent = PQntuples(res) == 1 ? db_value(res, 0, "json") : NULL;
    if (!agent) {
        not_a_session(s->r);
        return;
    }
    snprintf(s->expires_at, sizeof s->expires_at, "%s", db_value(res, 0, "expires_at"));
    json_t *j = (s->agent = json_loads(agent, 0, NULL)) ? session_json(s, NULL) : NULL;
    if (!j) {
        signin_unavailable(s, "could not read the session");
        return;
    }
    http_add_header(s->r, "Cache-Control", "no-store");
    http_reply_json(s->r, 200, j);
}

http_status sessions_get(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = auth_grant(r);
    if (!id_valid(g->id) || !g->agent_id[0]) {
        not_a_session(r);
        return HTTP_DONE;
    }
    struct signin *s = signin_new(in, r, false);
    if (!s) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    snprintf(s->await.key_id, sizeof s->await.key_id, "%s", g->id);
    s->scopes = g->scopes;
    const char *p[] = {s->await.key_id};
    if (dbq_query(in->reads,
                  "SELECT router.agent_json(a)::text AS json,"
                  " to_char(k.expires_at AT TIME ZONE 'UTC',"
                  "         'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at"
                  " FROM ingest.api_keys k JOIN router.agents a ON a.id = k.agent_id"
                  " WHERE k.id = $1 AND k.expires_at IS NOT NULL AND k.revoked_at IS NULL",
                  1, p, on_current, s) != 0) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
