/* proxy.c — the page's calls to the public API, made in the agent's name.
 *
 * /api/v1/... is forwarded to channel-ingest's /v1/... (routes.c lists
 * which) with the session's API key (sealed in the cookie; the agent never
 * holds it, so cannot call the API around these checks): channel-ingest checks
 * what the key may do, as for any integrator, and whether it still stands
 * (a 401 is answered as signed out: the cookie cleared). The desk adds two
 * checks of its own: every write carries the session's CSRF token
 * (X-CSRF-Token, derived from the key: sessions.h) and comes from the
 * desk's origin, else 403 before anything is sent; and an agent without
 * the supervisor role opens only the tickets assigned to them or queued
 * for one of their teams (the API lets any read key read any ticket; the
 * desk shows an agent their own work): another is 403. Who the agent is,
 * that check takes from a copy a few seconds old (sessions_cached), else
 * from GET /v1/sessions/current first.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"
#include "log.h"
#include "session.h"
#include "upstream.h"

#define PROXY_TIMEOUT_S 20
#define PATH_MAX_LEN 3072

struct proxy_job {
    struct pool_job j;
    desk *d;
    http_req *r;
    char method[8];
    char path[PATH_MAX_LEN];   /* "/v1/...?..." */
    char ticket[PATH_MAX_LEN]; /* "/v1/tickets/<id>" to check first, or "" */
    char key[APIKEY_LEN];
    bool known;   /* who: from the copy; else asked first (fetched) */
    bool fetched; /* who: told by the API now (to keep a copy of) */
    bool refused; /* the API refused the key: signed out */
    struct desk_agent who;
    char *body;
    size_t len;
    int rc;
    bool out_of_scope;
    struct upstream_answer a;
};

/* True when the ticket (JSON) is assigned to the agent or in their teams. */
static bool in_scope(const char *ticket_json, size_t len, const char *agent, const char *teams)
{
    json_t *t = json_loadb(ticket_json, len, 0, NULL);
    json_t *ts = json_loads(teams, 0, NULL);
    const char *assignee = json_string_value(json_object_get(t, "assignee"));
    const char *team = json_string_value(json_object_get(t, "team"));
    bool ok = assignee && strcmp(assignee, agent) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(ts, i, v)
    {
        if (!ok && team && json_string_value(v) && strcmp(json_string_value(v), team) == 0)
            ok = true;
    }
    json_decref(t);
    json_decref(ts);
    return ok;
}

static void proxy_work(struct pool_job *j, void *state)
{
    struct proxy_job *p = (struct proxy_job *)j;
    struct desk_worker *w = state;
    CURL *c = w ? w->curl : NULL;
    if (p->ticket[0] && !p->known) {
        int rc = sessions_fetch(c, p->d->pool, p->d->api_url, p->key, &p->who);
        p->refused = rc > 0;
        p->fetched = rc == 0;
        if (rc != 0) {
            p->rc = -1;
            return;
        }
    }
    if (p->ticket[0] && strcmp(p->who.role, "supervisor") != 0) {
        struct upstream_answer t = {.body = BUF_INIT};
        int rc = upstream_call(c, p->d->pool, p->d->api_url, p->key, "GET", p->ticket, NULL, 0,
                               PROXY_TIMEOUT_S, &t);
        if (rc == 0 && t.status == 200 &&
            !in_scope(buf_str(&t.body), t.body.len, p->who.id, p->who.teams)) {
            p->out_of_scope = true;
            buf_release(&t.body);
            return;
        }
        /* The ticket itself, or a check that did not answer 200 (a 404, a
         * 429, no answer): that answer is the one to give, and nothing
         * under a ticket not shown to be the agent's is asked. */
        if (strcmp(p->ticket, p->path) == 0 || rc != 0 || t.status != 200) {
            p->rc = rc;
            p->a = t;
            return;
        }
        buf_release(&t.body);
    }
    p->rc = upstream_call(c, p->d->pool, p->d->api_url, p->key, p->method, p->path, p->body, p->len,
                          PROXY_TIMEOUT_S, &p->a);
}

static void proxy_done(struct pool_job *j, bool cancelled)
{
    struct proxy_job *p = (struct proxy_job *)j;
    if (p->fetched)
        sessions_remember(p->d->sessions, p->key, &p->who);
    if (cancelled)
        http_reply_error(p->r, 503, "unavailable", NULL, "the desk is shutting down");
    else if (p->refused || (p->rc == 0 && p->a.status == 401)) {
        sessions_forget(p->d->sessions, p->key);
        desk_signed_out(p->r, false);
    } else if (p->out_of_scope)
        http_reply_error(p->r, 403, "forbidden", NULL,
                         "this ticket is neither yours nor in one of your teams");
    else if (p->rc != 0 || p->a.body.failed)
        http_reply_error(p->r, 502, "bad_gateway", NULL, "the API did not answer");
    else {
        http_add_header(p->r, "Cache-Control", "no-store");
        http_reply(p->r, (unsigned)p->a.status, p->a.type, buf_str(&p->a.body), p->a.body.len);
    }
    buf_release(&p->a.body);
    free(p->body);
    OPENSSL_cleanse(p->key, sizeof p->key);
    free(p);
}

http_status proxy_any(http_req *r, void *arg)
{
    desk *d = arg;
    char key[APIKEY_LEN];
    if (!desk_key(d, r, key)) { /* the guard opened it: never */
        desk_signed_out(r, false);
        return HTTP_DONE;
    }
    const char *method = http_method(r);
    bool write = strcmp(method, "GET") != 0;
    if (write &&
        (!session_same_origin(r) || !sessions_csrf_ok(key, http_header(r, "X-CSRF-Token")))) {
        OPENSSL_cleanse(key, sizeof key);
        log_info("%s %s: 403: no valid CSRF token or another origin", method, http_path(r));
        http_reply_error(r, 403, "forbidden", NULL, "missing or wrong CSRF token");
        return HTTP_DONE;
    }
    /* An id is one path segment: nothing that could name another route. */
    const char *id = http_param(r, "id");
    if (id && (!*id || strpbrk(id, "/?#%\\") || strstr(id, ".."))) {
        OPENSSL_cleanse(key, sizeof key);
        http_reply_error(r, 400, "invalid_field", "id", "not an id");
        return HTTP_DONE;
    }
    const char *path = http_path(r) + 4; /* after "/api" */
    const char *q = http_raw_query(r);
    struct proxy_job *p = calloc(1, sizeof *p);
    if (!p) {
        OPENSSL_cleanse(key, sizeof key);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return HTTP_DONE;
    }
    int n = snprintf(p->path, sizeof p->path, "%s%s%s", path, *q ? "?" : "", q);
    if (n < 0 || (size_t)n >= sizeof p->path) {
        OPENSSL_cleanse(key, sizeof key);
        free(p);
        http_reply_error(r, 414, "uri_too_long", NULL, "the request's URL is too long");
        return HTTP_DONE;
    }
    /* GET /v1/tickets/<id> and its timeline: the agent's own tickets only
     * (a supervisor's any). */
    if (!write && id && strncmp(path, "/v1/tickets/", 12) == 0) {
        snprintf(p->ticket, sizeof p->ticket, "/v1/tickets/%s", id);
        p->known = sessions_cached(d->sessions, key, &p->who);
    }
    size_t len = 0;
    const char *body = write ? http_body(r, &len) : NULL;
    if (body && !(p->body = malloc(len + 1))) {
        OPENSSL_cleanse(key, sizeof key);
        free(p);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return HTTP_DONE;
    }
    if (body) {
        memcpy(p->body, body, len);
        p->body[len] = '\0';
        p->len = len;
    }
    p->j.work = proxy_work;
    p->j.done = proxy_done;
    p->d = d;
    p->r = r;
    p->a.body = (buf)BUF_INIT;
    snprintf(p->method, sizeof p->method, "%s", method);
    snprintf(p->key, sizeof p->key, "%s", key);
    OPENSSL_cleanse(key, sizeof key);
    if (pool_submit(d->pool, &p->j) != 0) {
        free(p->body);
        OPENSSL_cleanse(p->key, sizeof p->key);
        free(p);
        http_reply_error(r, 503, "unavailable", NULL, "the desk is shutting down");
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
