/* keys.c — API keys over HTTP: POST and GET /v1/keys, GET and DELETE
 * /v1/keys/{id}, all with the admin scope.
 *
 * The rules, the statements and the JSON are keyspec.h's, as for carebusctl
 * keys: a new key's secret is answered once (201, Cache-Control: no-store)
 * and only its SHA-256 is stored; no read shows either. A key manages only
 * keys within its own grant (access_within): it makes none with a scope,
 * a channel or an agent it does not have itself, nor one that outlives it
 * (403 naming the scope, or "channels", "agent_id", "expires_at"), lists
 * only those and reads or revokes no other (404, as an unknown id). A
 * revocation is idempotent (204 again; 404 for an unknown id); a key may
 * revoke itself (it is refused from the answer on). The bootstrap key is
 * not in the table: it has no id here and cannot be revoked. Each change
 * is answered once this process's key table shows it (keywait.h): the new
 * key works, the revoked one is refused, on the caller's next request.
 * Should the table not reload in time, a new key is answered anyway (its
 * secret exists only in the answer; it works from the next reload) and a
 * revocation is 503 (stored, not yet in force: the client repeats it).
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "field.h"
#include "ingest.h"
#include "keyspec.h"
#include "keywait.h"
#include "log.h"
#include "timeutil.h"

struct keyreq {
    ingest *in;
    http_req *r;
    bool revoke;          /* DELETE: revoke the key once read */
    char key[APIKEY_LEN]; /* POST: the secret, until answered */
    char *answer;         /* POST: the 201's body (holds the secret) */
    struct keywait await; /* the key's arrival, or departure */
};

static void keyreq_free(void *arg)
{
    struct keyreq *q = arg;
    keywait_stop(&q->await);
    OPENSSL_cleanse(q->key, sizeof q->key);
    if (q->answer)
        OPENSSL_cleanse(q->answer, strlen(q->answer));
    free(q->answer);
    free(q);
}

static void keys_awaited(struct keywait *w, bool seen);

static struct keyreq *keyreq_new(ingest *in, http_req *r)
{
    struct keyreq *q = calloc(1, sizeof *q);
    if (!q) {
        ingest_reply_unavailable(r);
        return NULL;
    }
    q->in = in;
    q->r = r;
    q->await.in = in;
    q->await.done = keys_awaited;
    q->await.arg = q;
    http_set_data(r, q, keyreq_free);
    return q;
}

/* False after answering 503 (down) or 500 (a failed statement). */
static bool result_ok(struct keyreq *q, PGresult *res, const char *what)
{
    if (!res) {
        ingest_reply_unavailable(q->r);
        return false;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("%s failed: %.*s", what, (int)strcspn(msg, "\n"), msg);
        http_reply_error(q->r, 500, "internal", NULL, "could not %s", what);
        return false;
    }
    return true;
}

static void keys_answer(struct keyreq *q)
{
    if (q->answer) {
        http_add_header(q->r, "Cache-Control", "no-store");
        http_reply(q->r, 201, "application/json", q->answer, strlen(q->answer));
    } else {
        http_reply(q->r, 204, "application/json", "", 0);
    }
}

/* A key made is answered even when the key table is late (its secret
 * exists only in this answer); a revocation is not: 503, and the client
 * repeats it (revoking is idempotent) until 204, or 401 for a key that
 * revoked itself. */
static void keys_late(struct keyreq *q, bool present)
{
    if (present) {
        keys_answer(q);
        return;
    }
    http_add_header(q->r, "Retry-After", "1");
    ingest_reject(q->r, 503, "unavailable", "unavailable", NULL,
                  "the revocation is stored but not yet in force; repeat the request");
}

static void keys_awaited(struct keywait *w, bool seen)
{
    struct keyreq *q = w->arg;
    if (seen) {
        keys_answer(q);
        return;
    }
    log_warn("key %s: the key table did not show its %s in time", w->key_id,
             w->present ? "arrival" : "revocation");
    keys_late(q, w->present);
}

/* Answers once the key table shows the change (keys_late without a timer). */
static void keys_await(struct keyreq *q, const char *id, bool present)
{
    snprintf(q->await.key_id, sizeof q->await.key_id, "%s", id);
    q->await.present = present;
    if (keywait_start(&q->await) != 0)
        keys_late(q, present);
}

/* --- POST /v1/keys ------------------------------------------------------------------ */

static void keys_on_stored(PGresult *res, void *arg)
{
    struct keyreq *q = arg;
    if (!result_ok(q, res, "store the key"))
        return;
    json_t *j = PQntuples(res) == 1 ? keyspec_row_json(res, 0) : NULL;
    if (j && json_object_set_new(j, "key", json_string(q->key)) == 0)
        q->answer = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    OPENSSL_cleanse(q->key, sizeof q->key);
    if (!q->answer) {
        http_reply_error(q->r, 500, "internal", NULL, "out of memory");
        return;
    }
    log_info("API key %s made by key %s", PQgetvalue(res, 0, 0), auth_grant(q->r)->id);
    keys_await(q, PQgetvalue(res, 0, 0), true);
}

/* A list member: absent or null leaves the default; else its names. */
static int keys_list_member(const json_t *root, const char *key, struct keyspec *spec,
                            struct message_error *err, struct keyspec_error *kerr, bool *spec_fail)
{
    char *names[KEYSPEC_LIST_MAX];
    size_t n = 0;
    if (field_strings(root, key, key, FIELD_OPTIONAL, KEYSPEC_LIST_MAX, 64, names, &n, err) != 0)
        return -1;
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return 0;
    const char *const *list = (const char *const *)names;
    int rc = strcmp(key, "scopes") == 0 ? keyspec_set_scopes(spec, list, n, kerr)
                                        : keyspec_set_channels(spec, list, n, kerr);
    *spec_fail = rc != 0;
    return rc;
}

/* The body as a checked spec: 0, or -1 after answering 400. */
static int keys_parse(http_req *r, const json_t *root, struct keyspec *spec)
{
    struct message_error err;
    struct keyspec_error kerr;
    bool spec_fail = false;
    char *name = NULL, *agent = NULL;
    int64_t expires_us = 0;
    bool expires = false;
    static const char *const members[] = {"name", "scopes", "channels", "agent_id", "expires_at"};
    keyspec_init(spec);
    /* Presence and types here; every other rule is keyspec_check's. A
     * misspelt member is refused: it would silently mean its default. */
    if (field_object(root, &err) != 0 ||
        field_only(root, members, sizeof members / sizeof *members, &err) != 0 ||
        field_string(root, "name", "name", FIELD_REQUIRED | FIELD_TEXT, 0, &name, &err) != 0 ||
        keys_list_member(root, "scopes", spec, &err, &kerr, &spec_fail) != 0 ||
        keys_list_member(root, "channels", spec, &err, &kerr, &spec_fail) != 0 ||
        field_string(root, "agent_id", "agent_id", FIELD_TEXT, 0, &agent, &err) != 0 ||
        field_time(root, "expires_at", "expires_at", FIELD_OPTIONAL, &expires_us, &expires, &err) !=
            0) {
        if (spec_fail)
            ingest_reject(r, 400, "invalid_field", "invalid_field", kerr.field, "%s", kerr.message);
        else
            ingest_reject(r, 400, err.code, err.code, err.field[0] ? err.field : NULL, "%s",
                          err.message);
        return -1;
    }
    spec->name = name;
    spec->agent_id = agent;
    spec->expires_us = expires ? expires_us : 0;
    if (keyspec_check(spec, time_now_us(), &kerr) != 0) {
        ingest_reject(r, 400, "invalid_field", "invalid_field", kerr.field, "%s", kerr.message);
        return -1;
    }
    return 0;
}

http_status keys_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = auth_grant(r);
    if (!body_expect_json(r))
        return HTTP_DONE;
    json_t *root = body_load_json(r, in->json_max_depth);
    if (!root)
        return HTTP_DONE;
    http_status st = HTTP_DONE;
    struct keyspec spec;
    struct access_grant k;
    struct access_denial d;
    struct keyspec_new made;
    struct keyreq *q;
    if (keys_parse(r, root, &spec) != 0)
        goto out;
    keyspec_grant(&spec, NULL, &k);
    if (!access_within(g, &k, &d)) {
        auth_deny(in->auth, r, &d);
        goto out;
    }
    if (!(q = keyreq_new(in, r)))
        goto out;
    if (keyspec_mint(&spec, &made) != 0) {
        log_error("could not generate an API key (OpenSSL's random generator)");
        ingest_reply_unavailable(r);
        goto out;
    }
    memcpy(q->key, made.key, sizeof q->key);
    if (dbq_query(in->writes, KEYSPEC_SQL_INSERT, KEYSPEC_INSERT_PARAMS, made.params,
                  keys_on_stored, q) != 0)
        ingest_reply_unavailable(r);
    else
        st = HTTP_SUSPENDED;
    keyspec_wipe(&made);
out:
    json_decref(root);
    return st;
}

/* --- GET /v1/keys ------------------------------------------------------------------- */

/* Row i, when the request's key may manage it. */
static bool keys_visible(const struct keyreq *q, const PGresult *res, int i,
                         struct access_denial *d)
{
    struct access_grant k;
    keyspec_row_grant(res, i, &k);
    return access_within(auth_grant(q->r), &k, d);
}

static void keys_on_list(PGresult *res, void *arg)
{
    struct keyreq *q = arg;
    if (!result_ok(q, res, "read the keys"))
        return;
    json_t *list = json_array();
    struct access_denial d;
    for (int i = 0, n = PQntuples(res); list && i < n; i++) {
        if (keys_visible(q, res, i, &d) &&
            json_array_append_new(list, keyspec_row_json(res, i)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    json_t *j = list ? json_pack("{s:o}", "keys", list) : NULL;
    if (!j) {
        http_reply_error(q->r, 500, "internal", NULL, "out of memory");
        return;
    }
    http_reply_json(q->r, 200, j);
}

http_status keys_list(http_req *r, void *arg)
{
    ingest *in = arg;
    struct keyreq *q = keyreq_new(in, r);
    if (!q)
        return HTTP_DONE;
    if (dbq_query(in->reads, KEYSPEC_SQL_LIST, 0, NULL, keys_on_list, q) != 0) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

/* --- GET and DELETE /v1/keys/{id} --------------------------------------------------- */

static void keys_on_revoked(PGresult *res, void *arg)
{
    struct keyreq *q = arg;
    if (!result_ok(q, res, "revoke the key"))
        return;
    if (PQntuples(res) == 0) {
        ingest_reject(q->r, 404, "not_found", "not_found", NULL, "no key with id \"%s\"",
                      http_param(q->r, "id"));
        return;
    }
    if (PQgetvalue(res, 0, 1)[0] == 't')
        log_info("API key %s revoked by key %s", http_param(q->r, "id"), auth_grant(q->r)->id);
    keys_await(q, http_param(q->r, "id"), false);
}

static void keys_on_one(PGresult *res, void *arg)
{
    struct keyreq *q = arg;
    if (!result_ok(q, res, "read the key"))
        return;
    const char *id = http_param(q->r, "id");
    struct access_denial d;
    /* A key beyond the request's grant is as unknown as a missing one: the
     * list leaves it out, and a 403 would say that it exists. */
    if (PQntuples(res) == 0 || !keys_visible(q, res, 0, &d)) {
        ingest_reject(q->r, 404, "not_found", "not_found", NULL, "no key with id \"%s\"", id);
        return;
    }
    if (!q->revoke) {
        json_t *j = keyspec_row_json(res, 0);
        if (j)
            http_reply_json(q->r, 200, j);
        else
            http_reply_error(q->r, 500, "internal", NULL, "out of memory");
        return;
    }
    const char *p[] = {id};
    if (dbq_query(q->in->writes, KEYSPEC_SQL_REVOKE, 1, p, keys_on_revoked, q) != 0)
        ingest_reply_unavailable(q->r);
}

static http_status keys_one(http_req *r, ingest *in, bool revoke)
{
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, "key", id))
        return HTTP_DONE;
    struct keyreq *q = keyreq_new(in, r);
    if (!q)
        return HTTP_DONE;
    q->revoke = revoke;
    const char *p[] = {id};
    if (dbq_query(in->reads, KEYSPEC_SQL_ONE, 1, p, keys_on_one, q) != 0) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

http_status keys_get(http_req *r, void *arg)
{
    return keys_one(r, arg, false);
}

http_status keys_delete(http_req *r, void *arg)
{
    return keys_one(r, arg, true);
}
