/* work.c — see work.h: the work API's writes answered once applied, and
 * reads that wait for the router.
 *
 * One wait for both (await.h): the router's offset on the ingest stream,
 * polled every WORK_POLL_MS, until it reaches the seq wanted (a write's
 * own, or in->work_mark for a read), for at most WORK_WAIT_MS.
 */
#include "work.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "write.h"

void work_init(struct work_write *s, int64_t now_us)
{
    memset(s, 0, sizeof *s);
    carebus__v1__envelope__init(&s->ev);
    google__protobuf__timestamp__init(&s->occurred);
    event_ts_set(&s->occurred, now_us);
    s->ev.occurred_at = &s->occurred;
}

int work_begin(struct work_write *s, const json_t *root, int64_t now_us, struct message_error *err)
{
    work_init(s, now_us);
    return field_object(root, err);
}

size_t work_mask(struct work_write *s, const json_t *root, const char *const *members, size_t n)
{
    assert(n <= sizeof s->mask / sizeof s->mask[0]);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (json_object_get(root, members[i]))
            s->mask[k++] = (char *)members[i];
    return k;
}

void work_finish(struct work_write *s, Carebus__V1__Envelope__BodyCase body)
{
    s->ev.body_case = body;
    s->ev.type = (char *)event_type_name(body);
    switch (body) {
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_SAVED:
        s->ev.agent_saved = &s->body.agent;
        break;
    case CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED:
        s->ev.team_saved = &s->body.team;
        break;
    case CAREBUS__V1__ENVELOPE__BODY_CANNED_SAVED:
        s->ev.canned_saved = &s->body.canned;
        break;
    case CAREBUS__V1__ENVELOPE__BODY_CANNED_DELETED:
        s->ev.canned_deleted = &s->body.canned_deleted;
        break;
    default:
        assert(!"a body the work API does not write");
    }
}

bool work_present(const json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    return v && !json_is_null(v);
}

json_t *work_row_json(const PGresult *res)
{
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
        return NULL;
    return json_loads(PQgetvalue(res, 0, 0), 0, NULL);
}

void work_not_found(struct write_req *w, const char *what)
{
    ingest_reject(w->r, 404, "not_found", "not_found", NULL, "no %s with id \"%.128s\"", what,
                  w->u.work.rid ? w->u.work.rid : "");
}

/* --- waiting for the router (await.h) ----------------------------------------- */

static void work_release(struct write_req *w)
{
    struct work_write *s = &w->u.work;
    await_stop(&s->wait);
    for (int i = 0; i < s->nparams; i++)
        free(s->params[i]);
    s->nparams = 0;
    json_decref(s->keep);
    s->keep = NULL;
}

static void work_unavailable(http_req *r)
{
    await_unavailable(r);
}

static void work_on_rows(PGresult *res, void *arg)
{
    struct write_req *w = arg;
    if (!res) {
        work_unavailable(w->r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("reading for %s %s failed: %.*s", http_method(w->r), http_path(w->r),
                  (int)strcspn(msg, "\n"), msg);
        http_reply_error(w->r, 500, "internal", NULL, "could not read the answer");
        return;
    }
    w->u.work.read_done(w, res);
}

/* The router is up to date: the read itself. */
static void work_query(struct await *a)
{
    struct write_req *w = a->w;
    struct work_write *s = &w->u.work;
    if (dbq_query(w->in->reads, s->sql, s->nparams, (const char *const *)s->params, work_on_rows,
                  w) != 0)
        work_unavailable(w->r);
}

/* A late router: a write is durable all the same (202); a read cannot be
 * answered yet (503). */
static void work_late(struct await *a, uint64_t applied, uint64_t need)
{
    struct write_req *w = a->w;
    struct work_write *s = &w->u.work;
    if (s->waiting_commit) {
        char body[160];
        int n = snprintf(body, sizeof body,
                         "{\"event_id\":\"%s\",\"seq\":%" PRIu64 ",\"status\":\"accepted\"}",
                         s->event_id, s->seq);
        http_reply(w->r, 202, "application/json", body, (size_t)n);
        return;
    }
    http_add_header(w->r, "Retry-After", "1");
    ingest_reject(w->r, 503, "router_behind", "unavailable", NULL,
                  "not up to date yet (the router has applied the ingest stream up to %" PRIu64
                  " of %" PRIu64 "); retry after 1 second",
                  applied, need);
}

/* Waits for the router (until: a seq, 0: the mark), then runs the read. */
static int work_wait_then_read(struct write_req *w, uint64_t until)
{
    struct work_write *s = &w->u.work;
    s->wait = (struct await){.w = w,
                             .consumer = WORK_ROUTER,
                             .mark = &w->in->work_mark,
                             .poll_ms = WORK_POLL_MS,
                             .ready = work_query,
                             .late = work_late};
    w->release = work_release;
    return await_start(&s->wait, until, WORK_WAIT_MS);
}

int work_read(struct write_req *w, const char *sql, int nparams, const char *const *params,
              void (*done)(struct write_req *w, PGresult *res))
{
    struct work_write *s = &w->u.work;
    assert(nparams <= WORK_MAX_PARAMS);
    w->release = work_release;
    for (int i = 0; i < s->nparams; i++)
        free(s->params[i]);
    s->nparams = 0;
    for (int i = 0; i < nparams; i++) {
        s->params[i] = params[i] ? strdup(params[i]) : NULL;
        if (params[i] && !s->params[i]) {
            work_unavailable(w->r);
            return -1;
        }
        s->nparams++;
    }
    s->sql = sql;
    s->read_done = done;
    if (work_wait_then_read(w, 0) != 0) {
        work_unavailable(w->r);
        return -1;
    }
    return 0;
}

static void work_one_found(struct write_req *w, PGresult *res)
{
    json_t *o = work_row_json(res);
    if (!o) {
        work_not_found(w, w->what ? w->what : "resource");
        return;
    }
    http_reply_json(w->r, 200, o);
}

void work_answer_first(struct write_req *w, PGresult *res)
{
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
        http_reply_error(w->r, 500, "internal", NULL, "could not read the answer");
        return;
    }
    const char *json = PQgetvalue(res, 0, 0);
    http_reply(w->r, 200, "application/json", json, strlen(json));
}

int work_read_one(struct write_req *w, const char *what)
{
    w->what = what;
    const char *params[] = {w->u.work.rid};
    return work_read(w, w->u.work.one_sql, 1, params, work_one_found);
}

/* --- writes answered once applied ------------------------------------------------- */

static void work_answer_row(struct write_req *w, PGresult *res)
{
    struct work_write *s = &w->u.work;
    if (s->status == 204) {
        http_reply(w->r, 204, NULL, NULL, 0);
        return;
    }
    json_t *o = work_row_json(res);
    if (!o) {
        /* Applied, yet not there: deleted meanwhile (or an event the
         * router refused, logged there). */
        work_not_found(w, w->what ? w->what : "resource");
        return;
    }
    http_reply_json(w->r, s->status, o);
}

/* Waits for the router to apply the committed event, then answers with
 * the resource s->rid. */
static void work_await(struct write_req *w)
{
    struct work_write *s = &w->u.work;
    for (int i = 0; i < s->nparams; i++)
        free(s->params[i]);
    s->nparams = 0;
    if (!(s->params[0] = strdup(s->rid ? s->rid : ""))) {
        work_unavailable(w->r);
        return;
    }
    s->nparams = 1;
    s->sql = s->one_sql;
    s->read_done = work_answer_row;
    if (work_wait_then_read(w, s->seq) != 0)
        work_unavailable(w->r);
}

/* A repeat of a POST that made a new id: the resource is the first
 * request's, named in the event the log kept. */
static void work_on_original(PGresult *res, void *arg)
{
    struct write_req *w = arg;
    struct work_write *s = &w->u.work;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        work_unavailable(w->r);
        return;
    }
    event *ev = NULL;
    if (PQntuples(res) == 1) {
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &len);
        ev = raw ? event_unpack(raw, len) : NULL;
        PQfreemem(raw);
    }
    if (!ev || ev->body_case != s->ev.body_case ||
        ev->body_case != CAREBUS__V1__ENVELOPE__BODY_CANNED_SAVED) {
        event_destroy(&ev);
        ingest_reject(w->r, 409, "idempotency_conflict", "conflict", "Idempotency-Key",
                      "this Idempotency-Key was used for another request");
        return;
    }
    snprintf(s->id, sizeof s->id, "%s", ev->canned_saved->canned_id);
    s->rid = s->id;
    event_destroy(&ev);
    work_await(w);
}

static void work_on_commit(struct write_req *w, struct eventlog_entry *e)
{
    ingest *in = w->in;
    struct work_write *s = &w->u.work;
    if (e->seq > in->work_mark.seq)
        in->work_mark.seq = e->seq;
    s->seq = e->seq;
    memcpy(s->event_id, e->event_id, sizeof s->event_id);
    s->waiting_commit = true;
    if (!e->duplicate) {
        work_await(w);
        return;
    }
    if (s->status == 201)
        s->status = 200;
    if (!s->id[0]) {
        work_await(w);
        return;
    }
    const char *params[] = {e->event_id};
    if (dbq_query(in->reads, "SELECT payload FROM eventlog.events WHERE event_id = $1", 1, params,
                  work_on_original, w) != 0)
        work_unavailable(w->r);
}

void work_submit(struct write_req *w)
{
    w->answer = work_on_commit;
    w->release = work_release;
    (void)write_submit(w, &w->u.work.ev); /* answered after commit, or 503 there */
}
