/* write.c — idempotency, existence checks and the group commit's answer.
 *
 * The answer of a write depends only on the committed event (its id and
 * seq), which is what makes a repeat's 200 byte-for-byte the first 202's
 * body: racing requests with one key all get the event eventlog.append
 * settled on.
 */
#include "write.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "db.h"
#include "id.h"
#include "log.h"
#include "metrics.h"

/* Freed write_reqs kept for the next requests, at most this many (3 MB):
 * a write_req is 13 KB, past malloc's small bins, and a fresh one per
 * request cost channel-ingest 4-5% of its CPU in malloc's consolidation
 * and first touches of its memory. */
#define WRITE_SPARES 256
/* Under AddressSanitizer nothing is kept: a use after free of a
 * write_req (a late callback) must fault, not land on the next request's. */
#if defined(__SANITIZE_ADDRESS__)
#define WRITE_KEEP_SPARES false
#else
#define WRITE_KEEP_SPARES true
#endif

static void write_req_destroy(void *p)
{
    struct write_req *w = p;
    if (w->release)
        w->release(w);
    json_decref(w->root);
    event_destroy(&w->pb);
    eventlog_entry_release(&w->entry);
    ingest *in = w->in;
    if (WRITE_KEEP_SPARES && in->nspares < WRITE_SPARES) {
        w->next_spare = in->spares;
        in->spares = w;
        in->nspares++;
        return;
    }
    free(w);
}

void write_spares_release(ingest *in)
{
    while (in->spares) {
        struct write_req *w = in->spares;
        in->spares = w->next_spare;
        free(w);
    }
    in->nspares = 0;
}

/* zero_u false: u is left as it was (a spare's last contents, or malloc's),
 * for a handler that fills its member whole before reading it. */
static struct write_req *write_req_make(http_req *r, ingest *in, bool zero_u)
{
    struct write_req *w = in->spares;
    if (w) {
        in->spares = w->next_spare;
        in->nspares--;
    } else {
        w = malloc(sizeof *w);
    }
    if (!w) {
        log_error("out of memory for %s %s", http_method(r), http_path(r));
        ingest_reject(r, 503, "unavailable", "unavailable", NULL, "out of memory");
        return NULL;
    }
    if (zero_u) {
        memset(w, 0, sizeof *w);
    } else {
        memset(w, 0, offsetof(struct write_req, u));
        w->answer = NULL;
        w->release = NULL;
    }
    w->r = r;
    w->in = in;
    http_set_data(r, w, write_req_destroy);
    return w;
}

struct write_req *write_req_new(http_req *r, ingest *in)
{
    return write_req_make(r, in, true);
}

struct write_req *write_req_new_contact(http_req *r, ingest *in)
{
    return write_req_make(r, in, false);
}

struct write_req *write_begin_json(http_req *r, ingest *in, const struct access_grant **g)
{
    *g = auth_grant(r);
    assert(*g && "the route's guard admitted a key");
    if (!body_expect_json(r))
        return NULL;
    struct write_req *w = write_req_new(r, in);
    if (!w || !(w->root = body_load_json(r, in->json_max_depth)))
        return NULL;
    return w;
}

http_status write_reject_invalid(struct write_req *w, const struct message_error *err)
{
    ingest_reject(w->r, 400, err->code, err->code, err->field[0] ? err->field : NULL, "%s",
                  err->message);
    return HTTP_DONE;
}

/* Printable ASCII only: the key is echoed in logs and stored as text. */
static bool key_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
            return false;
    return n > 0 && n <= WRITE_MAX_KEY;
}

bool write_idempotency(struct write_req *w, const struct access_grant *g, const char *fallback)
{
    const char *key = http_header(w->r, "Idempotency-Key");
    const char *field = "Idempotency-Key";
    if (!key || !*key) {
        key = fallback;
        field = "idempotency_key";
    }
    if (!key || !*key)
        return true;
    if (!key_valid(key)) {
        ingest_reject(w->r, 400, "invalid_field", "invalid_field", field,
                      "\"%s\" must be 1 to %d printable ASCII characters", field, WRITE_MAX_KEY);
        return false;
    }
    int n = snprintf(w->scope, sizeof w->scope, "api:%s:%s %s", g->id, http_method(w->r),
                     http_path(w->r));
    if (n < 0 || (size_t)n >= sizeof w->scope) {
        ingest_reject(w->r, 400, "invalid_field", "invalid_field", NULL,
                      "the path is too long for an idempotent request");
        return false;
    }
    w->entry.idem_scope = w->scope;
    w->entry.idem_key = key;
    return true;
}

static void write_on_commit(struct eventlog_entry *e, int ok, void *arg)
{
    struct write_req *w = arg;
    if (ok != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return;
    }
    metrics_add(e->duplicate ? "carebus_ingest_messages_total{result=\"duplicate\"}"
                             : "carebus_ingest_messages_total{result=\"accepted\"}",
                1);
    if (w->answer) {
        w->answer(w, e);
        return;
    }
    /* Formatted by hand: the same bytes for the first answer and every
     * repeat, and no JSON tree on the hot path. */
    char body[96];
    int n = snprintf(body, sizeof body, "{\"event_id\":\"%s\",\"seq\":%llu}", e->event_id,
                     (unsigned long long)e->seq);
    http_reply(w->r, e->duplicate ? 200 : 202, "application/json", body, (size_t)n);
}

http_status write_submit(struct write_req *w, event *ev)
{
    w->entry.ev = ev;
    if (group_commit_submit(w->in->gc, &w->entry, write_on_commit, w) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

static void write_on_exists(PGresult *res, void *arg)
{
    struct write_req *w = arg;
    if (!res) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("checking %s %s failed: %.*s", w->what, w->id, (int)strcspn(msg, "\n"), msg);
        http_reply_error(w->r, 500, "internal", NULL, "could not check the %s", w->what);
        return;
    }
    if (PQntuples(res) == 0) {
        ingest_reject(w->r, 404, "not_found", "not_found", NULL, "no %s with id \"%s\"", w->what,
                      w->id);
        return;
    }
    /* The request stays suspended until the commit's callback answers it;
     * a refusal to queue is answered (503) inside write_submit. */
    (void)write_submit(w, w->ev);
}

http_status write_submit_if_exists(struct write_req *w, event *ev, const char *sql,
                                   const char *what, const char *id)
{
    w->ev = ev;
    w->what = what;
    w->id = id;
    if (!ingest_id_ok(w->r, what, id))
        return HTTP_DONE;
    const char *params[] = {id};
    if (dbq_query(w->in->reads, sql, 1, params, write_on_exists, w) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

static void write_on_checked(PGresult *res, void *arg)
{
    struct write_req *w = arg;
    if (!res) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        const char *msg = PQresultErrorMessage(res);
        log_error("checking %s %s failed: %.*s", http_method(w->r), http_path(w->r),
                  (int)strcspn(msg, "\n"), msg);
        http_reply_error(w->r, 500, "internal", NULL, "could not check the request");
        return;
    }
    /* The request stays suspended until the commit's callback answers it;
     * a refusal to queue is answered (503) inside write_submit. */
    if (db_value(res, 0, "seen")[0] == 't' || w->check(w, res))
        (void)write_submit(w, w->ev);
}

http_status write_submit_checked(struct write_req *w, event *ev, const char *sql, int nparams,
                                 const char *const *params, write_check_fn decide)
{
    const char *all[8];
    assert(nparams >= 0 && nparams <= 6);
    all[0] = w->entry.idem_scope;
    all[1] = w->entry.idem_key;
    for (int i = 0; i < nparams; i++)
        all[2 + i] = params[i];
    w->ev = ev;
    w->check = decide;
    if (dbq_query(w->in->reads, sql, 2 + nparams, all, write_on_checked, w) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

bool write_bind_agent(struct write_req *w, const char *field)
{
    const struct access_grant *g = auth_grant(w->r);
    if (!g->agent_id[0] || !json_is_object(w->root))
        return true; /* not an object: the parser's 400 */
    json_t *v = json_object_get(w->root, field);
    if (json_is_string(v) && json_string_length(v) > 0) {
        struct access_facts f = {.as_agent = json_string_value(v), .as_field = field};
        return auth_allow(w->in->auth, w->r, g, SCOPE_AGENT, &f);
    }
    /* Absent, null or "": the key's agent. Another type is left to the
     * parser's 400. */
    if (v && !json_is_null(v) && !json_is_string(v))
        return true;
    if (json_object_set_new(w->root, field, json_string(g->agent_id)) != 0) {
        ingest_reply_unavailable(w->r);
        return false;
    }
    return true;
}

/* --- actions on a ticket ------------------------------------------------------ */

static void write_on_ticket(PGresult *res, void *arg)
{
    struct write_req *w = arg;
    if (!res) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("checking ticket %s failed: %.*s", w->id, (int)strcspn(msg, "\n"), msg);
        http_reply_error(w->r, 500, "internal", NULL, "could not check the ticket");
        return;
    }
    if (PQntuples(res) == 0) {
        ingest_reject(w->r, 404, "not_found", "not_found", NULL, "no ticket with id \"%s\"", w->id);
        return;
    }
    /* The agent's teams, as JSON: text[]'s own quoting is not worth a parser. */
    json_t *teams = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
    size_t n = json_is_array(teams) ? json_array_size(teams) : 0;
    const char **names = calloc(n + 1, sizeof *names);
    if (!names) {
        json_decref(teams);
        ingest_reply_unavailable(w->r);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (json_is_string(json_array_get(teams, i)))
            names[k++] = json_string_value(json_array_get(teams, i));
    struct access_ticket t = {PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), names, k, true};
    struct access_facts f = {.ticket = &t};
    bool ok = auth_allow(w->in->auth, w->r, auth_grant(w->r), w->need, &f);
    free(names);
    json_decref(teams);
    /* The request stays suspended until the commit's callback answers it;
     * a refusal to queue is answered (503) inside write_submit. */
    if (ok)
        (void)write_submit(w, w->ev);
}

http_status write_submit_ticket(struct write_req *w, event *ev, const char *id, unsigned need)
{
    static const char sql[] = "SELECT coalesce(t.assignee, ''), coalesce(t.team, ''),"
                              " coalesce(array_to_json(a.teams)::text, '[]')"
                              " FROM router.tickets t LEFT JOIN router.agents a ON a.id = $2"
                              " WHERE t.id = $1::uuid";
    w->ev = ev;
    w->what = "ticket";
    w->id = id;
    w->need = need;
    if (!ingest_id_ok(w->r, "ticket", id))
        return HTTP_DONE;
    const char *params[] = {id, auth_grant(w->r)->agent_id};
    if (dbq_query(w->in->reads, sql, 2, params, write_on_ticket, w) != 0) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(w->r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
