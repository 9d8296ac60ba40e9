/* subscriptions.c — /v1/webhook-subscriptions: parse, write, read back.
 *
 * A subscription as the API shows it is one list of members, SUB_COLUMNS
 * below: each with the SQL that reads it from courier.subscriptions. GET
 * answers the rows through it; POST and PATCH, which answer before
 * courier has applied their event, fill the same members from the event
 * (PATCH over the row it read first), so that every answer has one shape.
 *
 * Reads wait for courier (subs_read, await.h): until its offset on the
 * ingest stream has passed in->subs_mark, polled every SUBS_POLL_MS, or
 * 503 after SUBS_WAIT_MS. PATCH and DELETE read first (404 for an unknown
 * id), with the same wait.
 */
#include "subscriptions.h"

#include <assert.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_match.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "write.h"

#define SUBS_POLL_MS 50
#define SUBS_WAIT_MS 5000
/* courier's consumer name in eventlog.offsets (the service's name). */
#define SUBS_COURIER "courier"

/* --- parsing ----------------------------------------------------------------- */

static void sub_init(struct sub_write *s, int64_t now_us)
{
    memset(s, 0, sizeof *s);
    carebus__v1__envelope__init(&s->ev);
    google__protobuf__timestamp__init(&s->occurred);
    carebus__v1__subscription_saved__init(&s->saved);
    carebus__v1__subscription_deleted__init(&s->deleted);
    event_ts_set(&s->occurred, now_us);
    s->ev.occurred_at = &s->occurred;
}

static void sub_finish(struct sub_write *s, Carebus__V1__Envelope__BodyCase body)
{
    s->ev.body_case = body;
    s->ev.type = (char *)event_type_name(body);
    if (body == CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED)
        s->ev.subscription_saved = &s->saved;
    else
        s->ev.subscription_deleted = &s->deleted;
}

/* An absolute http or https URL with a host (libcurl's parser: the one
 * that will send to it). */
static bool url_ok(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && host[0];
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static int parse_url(const json_t *root, unsigned flags, struct sub_write *s,
                     struct message_error *err)
{
    if (field_string(root, "url", "url", flags, SUB_URL_MAX, &s->saved.url, err) != 0)
        return -1;
    if (s->saved.url[0] && !url_ok(s->saved.url))
        return field_fail(err, "invalid_field", "url",
                          "\"url\" must be an absolute http or https URL");
    return 0;
}

static int parse_types(const json_t *root, unsigned flags, struct sub_write *s,
                       struct message_error *err)
{
    if (field_strings(root, "event_types", "event_types", flags, SUB_MAX_TYPES, EVENT_MATCH_MAX,
                      s->types, &s->saved.n_event_types, err) != 0)
        return -1;
    json_t *given = json_object_get(root, "event_types");
    if (given && !json_is_null(given) && s->saved.n_event_types == 0)
        return field_fail(err, "invalid_field", "event_types",
                          "\"event_types\" must list at least one event type or pattern");
    for (size_t i = 0; i < s->saved.n_event_types; i++) {
        const char *why;
        if (event_match_check(s->types[i], &why) != 0) {
            field_fail(err, "invalid_field", "", "\"event_types[%zu]\" (\"%.64s\") %s", i,
                       s->types[i], why);
            snprintf(err->field, sizeof err->field, "event_types[%zu]", i);
            return -1;
        }
    }
    s->saved.event_types = s->saved.n_event_types ? s->types : NULL;
    return 0;
}

static int parse_channels(const json_t *root, struct sub_write *s, struct message_error *err)
{
    if (field_strings(root, "channels", "channels", FIELD_OPTIONAL, SUB_MAX_CHANNELS, 64,
                      s->channels, &s->saved.n_channels, err) != 0)
        return -1;
    for (size_t i = 0; i < s->saved.n_channels; i++) {
        int c;
        if (vocab_parse(&carebus__v1__channel__descriptor, s->channels[i], &c) != 0) {
            field_fail(err, "invalid_field", "", "\"channels[%zu]\" must be one of %s", i,
                       vocab_list(&carebus__v1__channel__descriptor));
            snprintf(err->field, sizeof err->field, "channels[%zu]", i);
            return -1;
        }
    }
    s->saved.channels = s->saved.n_channels ? s->channels : NULL;
    return 0;
}

int subscriptions_create_parse(const json_t *root, int64_t now_us, struct sub_write *s,
                               struct message_error *err)
{
    sub_init(s, now_us);
    if (field_object(root, err))
        return -1;
    bool active = true;
    if (parse_url(root, FIELD_REQUIRED, s, err) || parse_types(root, FIELD_REQUIRED, s, err) ||
        parse_channels(root, s, err) ||
        field_string(root, "description", "description", FIELD_TEXT, SUB_DESCRIPTION_MAX,
                     &s->saved.description, err) ||
        field_bool(root, "active", "active", FIELD_OPTIONAL, &active, err))
        return -1;
    s->saved.active = active;
    id_new(s->id);
    s->saved.subscription_id = s->id;
    sub_finish(s, CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED);
    return 0;
}

static bool present(const json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    return v && !json_is_null(v);
}

int subscriptions_update_parse(const json_t *root, const char *id, int64_t now_us,
                               struct sub_write *s, struct message_error *err)
{
    sub_init(s, now_us);
    if (field_object(root, err))
        return -1;
    bool active = false;
    if (parse_url(root, FIELD_OPTIONAL, s, err) || parse_types(root, FIELD_OPTIONAL, s, err) ||
        parse_channels(root, s, err) ||
        field_string(root, "description", "description", FIELD_TEXT, SUB_DESCRIPTION_MAX,
                     &s->saved.description, err) ||
        field_bool(root, "active", "active", FIELD_OPTIONAL, &active, err) ||
        field_bool(root, "rotate_secret", "rotate_secret", FIELD_OPTIONAL, &s->rotate, err))
        return -1;
    if (present(root, "url") && !s->saved.url[0])
        return field_fail(err, "invalid_field", "url", "\"url\" must not be empty");
    s->saved.active = active;
    /* The update mask: the members given, by the event's field names. */
    static const char *const members[] = {"url", "event_types", "channels", "description",
                                          "active"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        if (present(root, members[i]))
            s->mask[n++] = (char *)members[i];
    if (s->rotate)
        s->mask[n++] = "secret";
    assert(n <= sizeof s->mask / sizeof s->mask[0]);
    if (n == 0)
        return field_fail(err, "missing_field", "",
                          "the body needs at least one of url, event_types, channels, "
                          "description, active or \"rotate_secret\": true");
    s->saved.update_mask = s->mask;
    s->saved.n_update_mask = n;
    s->saved.subscription_id = (char *)id;
    sub_finish(s, CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED);
    return 0;
}

void subscriptions_delete_init(const char *id, int64_t now_us, struct sub_write *s)
{
    sub_init(s, now_us);
    s->deleted.subscription_id = (char *)id;
    sub_finish(s, CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_DELETED);
}

int subscriptions_secret_new(char out[SUB_SECRET_LEN])
{
    unsigned char key[SUB_SECRET_BYTES];
    if (RAND_bytes(key, sizeof key) != 1)
        return -1;
    size_t p = strlen(SUB_SECRET_PREFIX);
    memcpy(out, SUB_SECRET_PREFIX, p);
    int n = EVP_EncodeBlock((unsigned char *)out + p, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    return p + (size_t)n == SUB_SECRET_LEN - 1 ? 0 : -1;
}

/* --- the members a subscription shows ------------------------------------------ */

/* Times as time_format_rfc3339 writes them (the session is in UTC). */
#define SUB_TIME(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

enum sub_kind { SUB_TEXT, SUB_BOOL, SUB_INT, SUB_JSON };

/* name, JSON member, SQL over courier.subscriptions s, kind */
#define SUB_COLUMNS(X)                                                                             \
    X(ID, "id", "s.id", SUB_TEXT)                                                                  \
    X(URL, "url", "s.url", SUB_TEXT)                                                               \
    X(EVENT_TYPES, "event_types", "array_to_json(s.event_types)", SUB_JSON)                        \
    X(CHANNELS, "channels", "array_to_json(s.channels)", SUB_JSON)                                 \
    X(DESCRIPTION, "description", "s.description", SUB_TEXT)                                       \
    X(ACTIVE, "active", "s.active", SUB_BOOL)                                                      \
    X(STATUS, "status", "s.status", SUB_TEXT)                                                      \
    X(SECRET_HINT, "secret_hint", "right(s.secret, 4)", SUB_TEXT)                                  \
    X(PAUSED_AT, "paused_at", SUB_TIME("s.paused_at"), SUB_TEXT)                                   \
    X(PAUSED_REASON, "paused_reason", "s.paused_reason", SUB_TEXT)                                 \
    X(FAILING_SINCE, "failing_since", SUB_TIME("s.failing_since"), SUB_TEXT)                       \
    X(CONSECUTIVE_FAILURES, "consecutive_failures", "s.consecutive_failures", SUB_INT)             \
    X(LAST_SUCCESS_AT, "last_success_at", SUB_TIME("s.last_success_at"), SUB_TEXT)                 \
    X(LAST_FAILURE_AT, "last_failure_at", SUB_TIME("s.last_failure_at"), SUB_TEXT)                 \
    X(LAST_ERROR, "last_error", "s.last_error", SUB_TEXT)                                          \
    X(DELIVERED, "delivered", "s.delivered", SUB_INT)                                              \
    X(FAILED, "failed", "s.failed", SUB_INT)                                                       \
    X(CREATED_AT, "created_at", SUB_TIME("s.created_at"), SUB_TEXT)                                \
    X(UPDATED_AT, "updated_at", SUB_TIME("s.updated_at"), SUB_TEXT)

#define SUB_ENUM(n, key, sql, kind) SC_##n,
enum { SUB_COLUMNS(SUB_ENUM) SC_COUNT };
#define SUB_ENTRY(n, key, sql, kind) {key, kind},
static const struct {
    const char *key;
    enum sub_kind kind;
} sub_cols[] = {SUB_COLUMNS(SUB_ENTRY)};
#define SUB_SELECT(n, key, sql, kind) ", " sql

/* The member shown only when a secret is made. */
#define SUB_SECRET_MEMBER "secret"

/* SUB_COLUMNS, one row all NULL when there is none. $1: one id, or NULL
 * for every subscription. */
/* clang-format off */
static const char SUBS_READ_SQL[] =
    "SELECT 1"
    SUB_COLUMNS(SUB_SELECT)
    "  FROM (SELECT 1) one"
    "  LEFT JOIN courier.subscriptions s ON $1::uuid IS NULL OR s.id = $1::uuid"
    " ORDER BY s.created_at, s.id";
/* clang-format on */
#define SUBS_FIRST_COL 1

/* One member's JSON from its text (NULL: null). NULL when out of memory or
 * the text does not fit the kind. */
static json_t *sub_value(enum sub_kind kind, const char *v)
{
    if (!v)
        return json_null();
    switch (kind) {
    case SUB_TEXT:
        return json_string(v);
    case SUB_BOOL:
        return json_boolean(v[0] == 't');
    case SUB_INT:
        return json_integer(strtoll(v, NULL, 10));
    case SUB_JSON:
        return json_loads(v, JSON_DECODE_ANY, NULL);
    }
    return NULL;
}

/* The subscription from the members' texts (vals[SC_*]). */
static json_t *sub_json(const char *const vals[SC_COUNT])
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < SC_COUNT; i++) {
        json_t *v = sub_value(sub_cols[i].kind, vals[i]);
        if (!v || json_object_set_new(o, sub_cols[i].key, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *sub_json_row(const PGresult *res, int row)
{
    const char *vals[SC_COUNT];
    for (int i = 0; i < SC_COUNT; i++)
        vals[i] = PQgetisnull(res, row, SUBS_FIRST_COL + i)
                      ? NULL
                      : PQgetvalue(res, row, SUBS_FIRST_COL + i);
    return sub_json(vals);
}

/* A JSON array of n strings (NULL when out of memory). */
static json_t *strings_array(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* courier's status column: paused wins, then active (XXX: its generated
 * column's formula, repeated for answers made before courier has applied
 * the event). */
static const char *sub_status(const json_t *o)
{
    if (!json_is_null(json_object_get(o, sub_cols[SC_PAUSED_AT].key)))
        return "paused";
    return json_is_true(json_object_get(o, sub_cols[SC_ACTIVE].key)) ? "active" : "inactive";
}

static void sub_set(json_t *o, int col, json_t *v)
{
    json_object_set_new(o, sub_cols[col].key, v ? v : json_null());
}

/* Shows the secret m carries in full (and its hint). */
static void sub_show_secret(json_t *o, const char *secret)
{
    size_t n = strlen(secret);
    json_object_set_new(o, SUB_SECRET_MEMBER, json_string(secret));
    sub_set(o, SC_SECRET_HINT, json_string(n >= SUB_HINT_LEN ? secret + n - SUB_HINT_LEN : secret));
}

/* POST's answer: the subscription as courier will hold it once applied. */
static json_t *sub_json_created(const Carebus__V1__SubscriptionSaved *m, int64_t recorded_us)
{
    char at[TIME_RFC3339_LEN];
    time_format_rfc3339(recorded_us, at);
    const char *vals[SC_COUNT] = {
        [SC_ID] = m->subscription_id,
        [SC_URL] = m->url,
        [SC_DESCRIPTION] = m->description,
        [SC_ACTIVE] = m->active ? "t" : "f",
        [SC_CONSECUTIVE_FAILURES] = "0",
        [SC_DELIVERED] = "0",
        [SC_FAILED] = "0",
        [SC_CREATED_AT] = at,
        [SC_UPDATED_AT] = at,
    };
    json_t *o = sub_json(vals);
    if (o) {
        sub_set(o, SC_EVENT_TYPES, strings_array(m->event_types, m->n_event_types));
        sub_set(o, SC_CHANNELS, strings_array(m->channels, m->n_channels));
        sub_set(o, SC_STATUS, json_string(sub_status(o)));
        sub_show_secret(o, m->secret);
    }
    return o;
}

static bool masked(const Carebus__V1__SubscriptionSaved *m, const char *field)
{
    for (size_t i = 0; i < m->n_update_mask; i++)
        if (strcmp(m->update_mask[i], field) == 0)
            return true;
    return false;
}

/* PATCH's answer: the row as read, with the event's changes. */
static json_t *sub_json_updated(const json_t *row, const Carebus__V1__SubscriptionSaved *m,
                                int64_t recorded_us)
{
    json_t *o = json_deep_copy(row);
    if (!o)
        return NULL;
    char at[TIME_RFC3339_LEN];
    time_format_rfc3339(recorded_us, at);
    if (masked(m, "url"))
        sub_set(o, SC_URL, json_string(m->url));
    if (masked(m, "description"))
        sub_set(o, SC_DESCRIPTION, json_string(m->description));
    if (masked(m, "event_types"))
        sub_set(o, SC_EVENT_TYPES, strings_array(m->event_types, m->n_event_types));
    if (masked(m, "channels"))
        sub_set(o, SC_CHANNELS, strings_array(m->channels, m->n_channels));
    if (masked(m, "active")) {
        sub_set(o, SC_ACTIVE, json_boolean(m->active));
        if (m->active) {
            /* Saved active, courier resumes a paused subscription. */
            sub_set(o, SC_PAUSED_AT, json_null());
            sub_set(o, SC_PAUSED_REASON, json_null());
            sub_set(o, SC_FAILING_SINCE, json_null());
            sub_set(o, SC_CONSECUTIVE_FAILURES, json_integer(0));
        }
    }
    sub_set(o, SC_STATUS, json_string(sub_status(o)));
    sub_set(o, SC_UPDATED_AT, json_string(at));
    if (masked(m, "secret"))
        sub_show_secret(o, m->secret);
    return o;
}

/* --- reads that wait for courier (await.h) -------------------------------------- */

static void subs_release(struct write_req *w)
{
    struct sub_write *s = &w->u.sub;
    await_stop(&s->wait);
    json_decref(s->row);
    s->row = NULL;
}

static void subs_unavailable(http_req *r)
{
    await_unavailable(r);
}

static void subs_on_read(PGresult *res, void *arg)
{
    struct write_req *w = arg;
    if (!res) {
        subs_unavailable(w->r);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1) {
        const char *msg = PQresultErrorMessage(res);
        log_error("reading the webhook subscriptions failed: %.*s", (int)strcspn(msg, "\n"), msg);
        http_reply_error(w->r, 500, "internal", NULL, "could not read the webhook subscriptions");
        return;
    }
    w->u.sub.read_done(w, res);
}

/* courier is up to date: the read itself. */
static void subs_query(struct await *a)
{
    struct write_req *w = a->w;
    const char *params[] = {w->u.sub.read_id};
    if (dbq_query(w->in->reads, SUBS_READ_SQL, 1, params, subs_on_read, w) != 0)
        subs_unavailable(w->r);
}

static void subs_late(struct await *a, uint64_t applied, uint64_t need)
{
    http_add_header(a->w->r, "Retry-After", "1");
    ingest_reject(a->w->r, 503, "courier_behind", "unavailable", NULL,
                  "the webhook subscriptions are not up to date yet (courier has applied "
                  "the ingest stream up to %" PRIu64 " of %" PRIu64 "); retry after 1 second",
                  applied, need);
}

/* Reads the subscriptions (id: one, or NULL: all) once courier is up to
 * date with this process's writes, then calls done with the rows. */
static http_status subs_read(struct write_req *w, const char *id,
                             void (*done)(struct write_req *w, PGresult *res))
{
    struct sub_write *s = &w->u.sub;
    s->read_id = id;
    s->read_done = done;
    s->wait = (struct await){.w = w,
                             .consumer = SUBS_COURIER,
                             .mark = &w->in->subs_mark,
                             .poll_ms = SUBS_POLL_MS,
                             .ready = subs_query,
                             .late = subs_late};
    w->release = subs_release;
    if (await_start(&s->wait, 0, SUBS_WAIT_MS) != 0) {
        subs_unavailable(w->r);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

/* --- answers ----------------------------------------------------------------------- */

static void subs_reply(http_req *r, unsigned status, json_t *o)
{
    if (!o) {
        log_error("out of memory answering %s %s", http_method(r), http_path(r));
        http_reply_error(r, 500, "internal", NULL, "could not encode the subscription");
        return;
    }
    http_reply_json(r, status, o);
}

/* A committed subscription.saved: POST (201) or PATCH (200); a repeat of
 * either (same Idempotency-Key) 200, answered from the event the log kept
 * (its id and secret, not this request's). */
static void subs_answer_saved(struct write_req *w, const Carebus__V1__SubscriptionSaved *m,
                              int64_t recorded_us, bool duplicate)
{
    struct sub_write *s = &w->u.sub;
    json_t *o =
        s->row ? sub_json_updated(s->row, m, recorded_us) : sub_json_created(m, recorded_us);
    subs_reply(w->r, s->row || duplicate ? 200 : 201, o);
}

static void subs_on_original(PGresult *res, void *arg)
{
    struct write_req *w = arg;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (!res)
            subs_unavailable(w->r);
        else
            http_reply_error(w->r, 500, "internal", NULL,
                             "could not read the first request's "
                             "subscription");
        return;
    }
    event *ev = NULL;
    if (PQntuples(res) == 1) {
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &len);
        ev = raw ? event_unpack(raw, len) : NULL;
        PQfreemem(raw);
    }
    if (!ev || ev->body_case != CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED) {
        /* The key was first used for another kind of event. */
        event_destroy(&ev);
        ingest_reject(w->r, 409, "idempotency_conflict", "conflict", "Idempotency-Key",
                      "this Idempotency-Key was used for another request");
        return;
    }
    subs_answer_saved(w, ev->subscription_saved, strtoll(PQgetvalue(res, 0, 1), NULL, 10), true);
    event_destroy(&ev);
}

static void subs_on_commit(struct write_req *w, struct eventlog_entry *e)
{
    ingest *in = w->in;
    if (e->seq > in->subs_mark.seq)
        in->subs_mark.seq = e->seq;
    struct sub_write *s = &w->u.sub;
    if (s->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_DELETED) {
        http_reply(w->r, 204, NULL, NULL, 0);
        return;
    }
    if (!e->duplicate) {
        subs_answer_saved(w, &s->saved, e->recorded_us, false);
        return;
    }
    const char *params[] = {e->event_id};
    if (dbq_query(in->reads,
                  "SELECT payload, (extract(epoch FROM recorded_at) * 1000000)::bigint"
                  " FROM eventlog.events WHERE event_id = $1",
                  1, params, subs_on_original, w) != 0)
        subs_unavailable(w->r);
}

/* --- handlers --------------------------------------------------------------------- */

/* The guard checked the admin scope; subscriptions span channels, so a key
 * limited to some is refused too. The request's grant (its own copy, which
 * outlives a suspension), or NULL after answering 403. */
static const struct access_grant *subs_grant(ingest *in, http_req *r)
{
    const struct access_grant *g = auth_grant(r);
    return auth_unscoped_ok(in->auth, r, g) ? g : NULL;
}

/* The path's id, or NULL after answering 404. */
static const char *subs_path_id(http_req *r)
{
    const char *id = http_param(r, "id");
    if (!ingest_id_ok(r, "webhook subscription", id))
        return NULL;
    return id;
}

static bool subs_secret(struct write_req *w)
{
    struct sub_write *s = &w->u.sub;
    if (subscriptions_secret_new(s->secret) != 0) {
        log_error("could not make a webhook secret: RAND_bytes failed");
        http_reply_error(w->r, 500, "internal", NULL, "could not make a secret");
        return false;
    }
    s->saved.secret = s->secret;
    return true;
}

http_status subscriptions_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    struct sub_write *s = &w->u.sub;
    struct message_error err;
    if (subscriptions_create_parse(w->root, time_now_us(), s, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!subs_grant(in, r) || !write_idempotency(w, g, NULL) || !subs_secret(w))
        return HTTP_DONE;
    s->saved.actor = (char *)access_actor(g);
    w->answer = subs_on_commit;
    w->release = subs_release;
    return write_submit(w, &s->ev);
}

static void subs_list_found(struct write_req *w, PGresult *res)
{
    json_t *list = json_array();
    for (int i = 0; list && i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, SUBS_FIRST_COL + SC_ID))
            continue; /* no subscription at all: the one row of offsets */
        if (json_array_append_new(list, sub_json_row(res, i)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    subs_reply(w->r, 200, list ? json_pack("{s:o}", "subscriptions", list) : NULL);
}

http_status subscriptions_list(http_req *r, void *arg)
{
    ingest *in = arg;
    if (!subs_grant(in, r))
        return HTTP_DONE;
    struct write_req *w = write_req_new(r, in);
    return w ? subs_read(w, NULL, subs_list_found) : HTTP_DONE;
}

/* The one row of a read by id, or NULL after answering 404. */
static bool subs_found(struct write_req *w, PGresult *res)
{
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, SUBS_FIRST_COL + SC_ID))
        return true;
    ingest_reject(w->r, 404, "not_found", "not_found", NULL,
                  "no webhook subscription with id \"%s\"", w->u.sub.read_id);
    return false;
}

static void subs_one_found(struct write_req *w, PGresult *res)
{
    if (subs_found(w, res))
        subs_reply(w->r, 200, sub_json_row(res, 0));
}

http_status subscriptions_get(http_req *r, void *arg)
{
    ingest *in = arg;
    const char *id;
    if (!subs_grant(in, r) || !(id = subs_path_id(r)))
        return HTTP_DONE;
    struct write_req *w = write_req_new(r, in);
    return w ? subs_read(w, id, subs_one_found) : HTTP_DONE;
}

static void subs_write_found(struct write_req *w, PGresult *res)
{
    if (!subs_found(w, res))
        return;
    struct sub_write *s = &w->u.sub;
    if (s->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED &&
        !(s->row = sub_json_row(res, 0))) {
        http_reply_error(w->r, 500, "internal", NULL, "could not read the subscription");
        return;
    }
    w->answer = subs_on_commit;
    (void)write_submit(w, &s->ev); /* answered by subs_on_commit, or 503 there */
}

http_status subscriptions_patch(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    const char *id;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w || !(id = subs_path_id(r)))
        return HTTP_DONE;
    struct sub_write *s = &w->u.sub;
    struct message_error err;
    if (subscriptions_update_parse(w->root, id, time_now_us(), s, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!subs_grant(in, r) || !write_idempotency(w, g, NULL) || (s->rotate && !subs_secret(w)))
        return HTTP_DONE;
    s->saved.actor = (char *)access_actor(g);
    return subs_read(w, id, subs_write_found);
}

http_status subscriptions_delete(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = subs_grant(in, r);
    const char *id;
    if (!g || !(id = subs_path_id(r)))
        return HTTP_DONE;
    struct write_req *w = write_req_new(r, in);
    if (!w)
        return HTTP_DONE;
    subscriptions_delete_init(id, time_now_us(), &w->u.sub);
    if (!write_idempotency(w, g, NULL))
        return HTTP_DONE;
    w->u.sub.deleted.actor = (char *)access_actor(g);
    return subs_read(w, id, subs_write_found);
}
