/* due.c — turns due surveys into survey.requested events.
 *
 * A timer-driven output, so it must be emitted once and be replay-safe:
 *
 *   - the event id is derived from the survey (id_derive2(survey,
 *     "survey.requested")), and the log refuses a second event with the same
 *     id (eventlog.append reports it as a duplicate);
 *   - rows are claimed FOR UPDATE SKIP LOCKED, in one transaction with the
 *     append and the status change, so two instances, or a kill -9 at any
 *     point, can neither emit twice nor lose one (courier delivers each
 *     survey.requested once it is in the log: the invitation on the
 *     customer's channel and the webhooks);
 *   - a survey is emitted only once the consumer has applied every router
 *     event recorded up to its due time (or the whole router stream). A
 *     ticket.reopened recorded before the due time therefore always cancels
 *     it first, live and on a replay alike: the decision depends on the log,
 *     not on how far behind the consumer happened to be. Before it reads
 *     "the whole stream", the pass waits for a router append in flight:
 *     an append holds the stream's row (FOR UPDATE) from before it takes
 *     its rows' recorded_at until it commits, and the pass waits for that
 *     row without keeping it (eventlog.settled_last_seq, so router appends
 *     never wait for the pass). The read that follows sees that append's
 *     events, and any later append records a time past the pass's now(),
 *     so past every due time it emits.
 *
 * The due time lives in PostgreSQL (survey.surveys.due_at), so a restart
 * finds what is pending. The pass runs on the consumer's blocking
 * connection, at once after a survey was scheduled and once a second.
 */
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "hex.h"
#include "lang.h"
#include "log.h"
#include "metrics.h"
#include "rowset.h"
#include "survey.h"
#include "timeutil.h"

#define DUE_BATCH 50
#define DUE_PERIOD_MS 1000

#define STR2(x) #x
#define STR(x) STR2(x)

#define SQL_MARK                                                                                   \
    "UPDATE survey.surveys SET status = 'requested', link = $2, text = $3,"                        \
    " requested_event_id = $4, requested_at = due_at WHERE id = $1"

struct due_row {
    char id[ID_LEN], ticket[ID_LEN], customer[ID_LEN], trigger[ID_LEN], event_id[ID_LEN];
    char *channel, *handle, *link, *text;
    language_id lang;
    int64_t due_us, expires_us;
    event ev;
    Carebus__V1__SurveyRequested body;
    Google__Protobuf__Timestamp occurred, expires;
};

static char *due_strdup(void *ctx, const char *s)
{
    (void)ctx;
    return strdup(s);
}

static int lang_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    struct due_row *r = row;
    r->lang = LANGUAGE_VI;
    if (v)
        language_parse(v, &r->lang);
    return 0;
}

/* The survey.surveys columns the due pass reads. */
#define R(f) ROWSET_AT(struct due_row, f)
static const struct rowset_col due_cols[] = {
    {"id", "uuid", ROWSET_ID, R(id)},
    {"ticket_id", "uuid", ROWSET_ID, R(ticket)},
    {"customer_id", "uuid", ROWSET_ID, R(customer)},
    {"trigger_event_id", "uuid", ROWSET_ID, R(trigger)},
    {"channel", "text", ROWSET_STR, R(channel)},
    {"handle", "text", ROWSET_STR, R(handle)},
    {"language", "text", ROWSET_FN, .set = lang_set},
    {"due_at", "timestamptz", ROWSET_TIME, R(due_us), .none = 0},
    {"expires_at", "timestamptz", ROWSET_TIME, R(expires_us), .none = 0},
};
#undef R
static const rowset_table due_surveys = {"survey.surveys", due_cols, ROWSET_COUNT(due_cols),
                                         due_strdup};

/* $1: the consumer's offset on the router stream. */
/* clang-format off */
static rowset_stmt due_sql = ROWSET_STMT(
    due_surveys,
    "WITH mark AS (SELECT"
    "  (SELECT e.recorded_at FROM eventlog.events e"
    "    WHERE e.stream = 'router' AND e.seq = $1::bigint) AS applied_until,"
    "  $1::bigint >= coalesce((SELECT s.last_seq FROM eventlog.streams s"
    "    WHERE s.stream = 'router'), 0) AS caught_up)"
    " SELECT {@select v} FROM survey.surveys v, mark"
    " WHERE v.status = 'scheduled' AND v.due_at <= now()"
    "  AND (v.due_at <= mark.applied_until OR mark.caught_up)"
    " ORDER BY v.due_at, v.id LIMIT " STR(DUE_BATCH) " FOR UPDATE OF v SKIP LOCKED");
/* clang-format on */

static void row_release(struct due_row *r)
{
    free(r->channel);
    free(r->handle);
    free(r->link);
    free(r->text);
}

/* Without CAREBUS_SURVEY_SECRET: loads the generated secret, or creates it
 * (the first instance to insert wins; the others read its value). */
static int load_secret(survey *sv, db *d)
{
    unsigned char raw[32];
    char hex[65];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        log_error("could not generate a survey secret: RAND_bytes failed");
        return -1;
    }
    hex_encode(raw, sizeof raw, hex);
    const char *p[] = {hex};
    PGresult *res;
    if (db_write(d,
                 "WITH ins AS (INSERT INTO survey.settings (name, value) VALUES ('secret', $1)"
                 " ON CONFLICT (name) DO NOTHING RETURNING value)"
                 " SELECT value FROM ins UNION ALL"
                 " SELECT value FROM survey.settings WHERE name = 'secret' LIMIT 1",
                 1, p, &res) != 0)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 1) {
        const char *v = db_value(res, 0, "value");
        survey_keys_derive(&sv->keys, v, strlen(v));
        sv->keys_ready = true;
        log_warn("CAREBUS_SURVEY_SECRET is unset: survey links are signed with a secret "
                 "generated into survey.settings; set CAREBUS_SURVEY_SECRET in production");
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Fills a row: its survey, link, text and the event. -1 when out of
 * memory. */
static int row_build(survey *sv, struct due_row *r, const rowset_reader *rd, int i)
{
    if (rowset_read(rd, i, r, NULL) != 0)
        return -1;

    char token[SURVEY_TOKEN_LEN];
    if (survey_token_make(&sv->keys, r->id, r->expires_us / 1000000, token) != 0)
        return -1;
    buf b = BUF_INIT;
    buf_printf(&b, "%s/s/%s", sv->cfg.base_url, token);
    r->link = buf_detach(&b, NULL);
    survey_lang_request_text(&b, r->lang, r->link ? r->link : "");
    r->text = buf_detach(&b, NULL);
    if (!r->link || !r->text)
        return -1;
    id_derive2(r->id, "survey.requested", r->event_id);

    carebus__v1__survey_requested__init(&r->body);
    google__protobuf__timestamp__init(&r->occurred);
    google__protobuf__timestamp__init(&r->expires);
    event_ts_set(&r->occurred, r->due_us);
    event_ts_set(&r->expires, r->expires_us);
    r->body.survey_id = r->id;
    r->body.link = r->link;
    Carebus__V1__Channel ch = CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    if (r->channel)
        event_channel_parse(r->channel, &ch);
    r->body.channel = ch;
    r->body.handle = r->handle ? r->handle : "";
    r->body.text = r->text;
    r->body.language = (char *)language_code(r->lang);
    r->body.expires_at = &r->expires;
    carebus__v1__envelope__init(&r->ev);
    r->ev.event_id = r->event_id;
    r->ev.occurred_at = &r->occurred;
    r->ev.customer_id = r->customer;
    r->ev.ticket_id = r->ticket;
    r->ev.causation_id = r->trigger;
    r->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_SURVEY_REQUESTED;
    r->ev.survey_requested = &r->body;
    return 0;
}

/* Records one row's outcome. */
static int row_commit(db *d, struct due_row *r, const struct eventlog_entry *e)
{
    const char *p[] = {r->id, r->link, r->text, e->event_id};
    return db_command(d, SQL_MARK, 4, p);
}

/* One batch: 0 when nothing more is due, 1 when a full batch went, -1. */
static int due_batch(survey *sv, db *d)
{
    char offset[24];
    snprintf(offset, sizeof offset, "%" PRIu64,
             sv->svc->consumer ? consumer_offset(sv->svc->consumer, "router") : 0);
    const char *p[] = {offset};
    if (consumer_begin(sv->svc->consumer, d) != 0)
        return -1;
    /* Waits for a router append in flight (see the top): the wait is what
     * counts, not the seq. */
    uint64_t router_last;
    if (eventlog_settled_last_seq(d, "router", &router_last) != 0) {
        db_rollback(d);
        return -1;
    }
    const char *sql = rowset_stmt_sql(&due_sql);
    PGresult *res = sql ? db_exec(d, sql, 1, p) : NULL;
    rowset_reader rd;
    if (!res || rowset_reader_init(&rd, &due_surveys, res) != 0) {
        PQclear(res);
        db_rollback(d);
        return -1;
    }
    int n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        db_rollback(d);
        return 0;
    }
    struct due_row *rows = calloc((size_t)n, sizeof *rows);
    struct eventlog_entry *entries = calloc((size_t)n, sizeof *entries);
    int rc = -1;
    if (!rows || !entries)
        goto out;
    for (int i = 0; i < n; i++) {
        if (row_build(sv, &rows[i], &rd, i) != 0)
            goto out;
        entries[i].ev = &rows[i].ev;
    }
    if (eventlog_append(d, sv->svc->stream, entries, (size_t)n) != 0)
        goto out;
    for (int i = 0; i < n; i++)
        if (row_commit(d, &rows[i], &entries[i]) != 0)
            goto out;
    if (db_commit(d) != 0)
        goto out_committed;
    for (int i = 0; i < n; i++) {
        if (entries[i].duplicate)
            continue;
        bus_publish_bytes(sv->svc->bus, sv->svc->stream, entries[i].wire, entries[i].wire_len);
        metrics_add("carebus_survey_requested_total", 1);
        log_info("survey %s requested for ticket %s (%s, %s)", rows[i].id, rows[i].ticket,
                 rows[i].channel ? rows[i].channel : "no channel", language_code(rows[i].lang));
    }
    rc = n == DUE_BATCH ? 1 : 0;
    goto out_committed;
out:
    db_rollback(d);
out_committed:
    PQclear(res);
    if (rows)
        for (int i = 0; i < n; i++)
            row_release(&rows[i]);
    for (int i = 0; entries && i < n; i++)
        eventlog_entry_release(&entries[i]);
    free(rows);
    free(entries);
    return rc;
}

int survey_due_tick(survey *sv)
{
    db *d = sv->svc->db;
    if (!db_up(d))
        return -1;
    if (!sv->keys_ready && load_secret(sv, d) != 0)
        return -1;
    int64_t now = time_mono_ms();
    if (!sv->due_hint && now < sv->next_due_ms)
        return 0;
    sv->due_hint = false;
    sv->next_due_ms = now + DUE_PERIOD_MS;
    for (int round = 0; round < 20; round++) {
        int rc = due_batch(sv, d);
        if (rc <= 0)
            return rc;
    }
    sv->due_hint = true; /* more to do: next tick, after the loop's other work */
    return 0;
}
