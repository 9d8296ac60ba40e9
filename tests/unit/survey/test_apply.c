/* test_apply.c — services/survey/apply.c and due.c against a real PostgreSQL.
 *
 * Router events are appended to the "router" stream with eventlog_append and
 * applied by the production consumer (consumer_catch_up with survey_apply);
 * the due pass (survey_due_tick) runs on the same connection, as in the
 * service. The router's tables are filled directly (the survey only reads
 * them). Covers: scheduling and emission (once: courier delivers each
 * survey.requested it finds in the log, see test_courier_survey.py), the
 * handle and language chosen, the generated secret, cooldown, reopen, the closed
 * trigger, merges, the replay watermark (also with a router append in
 * flight while the pass looks), and a rebuild from the log.
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped. Run one test by name: test_apply <name>.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "eventlog.h"
#include "id.h"
#include "survey.h"
#include "testdb.h"
#include "timeutil.h"

static db *g_db;
static bus *g_bus;
static consumer *g_consumer;
static service g_svc;
static survey g_sv;

/* --- SQL helpers ----------------------------------------------------------- */

static const char *q(const char *sql, ...)
{
    static char bufs[4][4096];
    static int next;
    char *out = bufs[next++ % 4];
    const char *params[8];
    int n = 0;
    va_list ap;
    va_start(ap, sql);
    for (const char *p; n < 8 && (p = va_arg(ap, const char *)) != NULL;)
        params[n++] = p;
    va_end(ap);
    PGresult *res = db_exec(g_db, sql, n, params);
    if (!res)
        fail_msg("query failed: %s", sql);
    out[0] = '\0';
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        snprintf(out, sizeof bufs[0], "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static long qlong(const char *sql, ...)
{
    const char *params[8];
    int n = 0;
    va_list ap;
    va_start(ap, sql);
    for (const char *p; n < 8 && (p = va_arg(ap, const char *)) != NULL;)
        params[n++] = p;
    va_end(ap);
    PGresult *res = db_exec(g_db, sql, n, params);
    if (!res || PQntuples(res) != 1)
        fail_msg("query failed or not one row: %s", sql);
    long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static void exec(const char *sql)
{
    if (db_command(g_db, sql, 0, NULL) != 0)
        fail_msg("statement failed: %s", sql);
}

/* --- the router's side ----------------------------------------------------- */

/* A customer with identities ("kind=value" pairs, NULL-terminated) and a
 * ticket on channel whose inbound message says text. */
static void router_ticket(const char *customer, const char *ticket, const char *channel,
                          const char *text, ...)
{
    const char *p[] = {customer};
    db_command(g_db,
               "INSERT INTO router.customers (id, created_at, updated_at)"
               " VALUES ($1, now(), now()) ON CONFLICT DO NOTHING",
               1, p);
    va_list ap;
    va_start(ap, text);
    for (const char *kv; (kv = va_arg(ap, const char *)) != NULL;) {
        char kind[32];
        size_t kl = strcspn(kv, "=");
        snprintf(kind, sizeof kind, "%.*s", (int)kl, kv);
        const char *ip[] = {kind, kv + kl + 1, customer};
        if (db_command(g_db,
                       "INSERT INTO router.identities (kind, value, customer_id, created_at)"
                       " VALUES ($1, $2, $3, now())",
                       3, ip) != 0)
            fail_msg("identity %s", kv);
    }
    va_end(ap);
    char opened[ID_LEN], msg[ID_LEN];
    id_new(opened);
    id_new(msg);
    const char *tp[] = {ticket, customer, channel, opened};
    if (db_command(g_db,
                   "INSERT INTO router.tickets (id, customer_id, status, channel, opened_event_id,"
                   " created_at, updated_at) VALUES ($1, $2, 'open', $3, $4, now(), now())",
                   4, tp) != 0)
        fail_msg("ticket");
    const char *mp[] = {msg, ticket, customer, channel, text};
    if (db_command(g_db,
                   "INSERT INTO router.messages (event_id, ticket_id, customer_id, channel,"
                   " direction, text, at, stream, seq) VALUES ($1, $2, $3, $4, 'in', $5, now(),"
                   " 'ingest', (SELECT coalesce(max(seq), 0) + 1 FROM router.messages))",
                   5, mp) != 0)
        fail_msg("message");
}

/* Appends a router event (ticket.solved, .closed, .reopened) for ticket,
 * on connection d. */
static void router_event_on(db *d, Carebus__V1__Envelope__BodyCase body, const char *ticket,
                            const char *customer)
{
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    Carebus__V1__TicketSolved solved = CAREBUS__V1__TICKET_SOLVED__INIT;
    Carebus__V1__TicketClosed closed = CAREBUS__V1__TICKET_CLOSED__INIT;
    Carebus__V1__TicketReopened reopened = CAREBUS__V1__TICKET_REOPENED__INIT;
    ev.body_case = body;
    ev.ticket_solved = &solved; /* the oneof: one pointer, set per case below */
    if (body == CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED)
        ev.ticket_closed = &closed;
    else if (body == CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED)
        ev.ticket_reopened = &reopened;
    ev.ticket_id = (char *)ticket;
    ev.customer_id = (char *)customer;
    struct eventlog_entry e = {.ev = &ev};
    assert_int_equal(eventlog_append(d, "router", &e, 1), 0);
    eventlog_entry_release(&e);
}

static void router_event(Carebus__V1__Envelope__BodyCase body, const char *ticket,
                         const char *customer)
{
    router_event_on(g_db, body, ticket, customer);
}

static void merged(const char *survivor, const char *gone)
{
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    Carebus__V1__CustomerMerged m = CAREBUS__V1__CUSTOMER_MERGED__INIT;
    m.survivor_id = (char *)survivor;
    m.merged_id = (char *)gone;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED;
    ev.customer_merged = &m;
    struct eventlog_entry e = {.ev = &ev};
    assert_int_equal(eventlog_append(g_db, "router", &e, 1), 0);
    eventlog_entry_release(&e);
}

static void catch_up(void)
{
    assert_int_equal(consumer_catch_up(g_consumer), 0);
}

static void due(void)
{
    g_sv.due_hint = true;
    assert_int_equal(survey_due_tick(&g_sv), 0);
}

static const char *status_of(const char *ticket)
{
    return q("SELECT status FROM survey.surveys WHERE ticket_id = $1", ticket, NULL);
}

/* --- fixtures -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    return testdb_open("test_apply", &g_db);
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    testdb_close(&g_db);
    return 0;
}

static int new_consumer(void)
{
    g_consumer =
        consumer_new("survey", g_db, g_bus, "survey", survey_handlers, survey_nhandlers, &g_sv);
    g_svc.consumer = g_consumer;
    if (g_consumer)
        survey_consumer_setup(g_consumer);
    return g_consumer && consumer_read(g_consumer, "router") == 0 &&
                   consumer_read(g_consumer, "survey") == 0
               ? 0
               : -1;
}

static int setup(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    exec("TRUNCATE survey.answers, survey.surveys, survey.settings,"
         " router.messages, router.tickets, router.identities, router.customers,"
         " eventlog.events, eventlog.streams, eventlog.offsets CASCADE");
    g_bus = bus_new();
    g_svc = (service){.name = "survey", .stream = "survey", .db = g_db, .bus = g_bus};
    g_sv = (survey){.svc = &g_svc};
    g_sv.cfg.ttl_s = 7 * 86400;
    g_sv.cfg.base_url = "https://survey.example.vn";
    return g_bus ? new_consumer() : -1;
}

static int teardown(void **state)
{
    (void)state;
    consumer_destroy(&g_consumer);
    survey_stage_release(&g_sv.stage);
    bus_destroy(&g_bus);
    return 0;
}

#define C1 "6f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b"
#define C2 "7f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b"
#define T1 "1a2e3d4c-5b6a-5f70-9b8c-0d1e2f3a4b5c"
#define T2 "2a2e3d4c-5b6a-5f70-9b8c-0d1e2f3a4b5c"
#define T3 "3a2e3d4c-5b6a-5f70-9b8c-0d1e2f3a4b5c"
#define T4 "4a2e3d4c-5b6a-5f70-9b8c-0d1e2f3a4b5c"

/* --- tests ----------------------------------------------------------------- */

/* T1 solved, its survey scheduled a second later. */
static void solved_due_in_a_second(void)
{
    g_sv.cfg.delay_s = 1;
    router_ticket(C1, T1, "zalo", "toi can ho tro", "zalo=u1", NULL);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T1, C1);
    catch_up();
    assert_string_equal(status_of(T1), "scheduled");
}

static void test_solved_is_requested_once(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    router_ticket(C1, T1, "zalo", "Hello, my order is late", "phone=+84901234567",
                  "email=lan@example.vn", "zalo=zalo-uid-1", NULL);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T1, C1);
    catch_up();
    assert_string_equal(status_of(T1), "scheduled");
    assert_true(g_sv.due_hint);
    due();
    assert_true(g_sv.keys_ready); /* generated: no CAREBUS_SURVEY_SECRET here */
    assert_int_equal(strlen(q("SELECT value FROM survey.settings WHERE name = 'secret'", NULL)),
                     64);
    assert_string_equal(status_of(T1), "requested");
    assert_string_equal(
        q("SELECT channel || ' ' || handle || ' ' || language FROM survey.surveys", NULL),
        "zalo zalo-uid-1 en");
    const char *link = q("SELECT link FROM survey.surveys", NULL);
    assert_true(strncmp(link, "https://survey.example.vn/s/", 28) == 0);
    assert_int_equal(
        qlong("SELECT count(*) FROM eventlog.events WHERE type = 'survey.requested'", NULL), 1);
    /* Nothing more is due; applying its own event changes nothing. */
    due();
    catch_up();
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'survey'", NULL),
                     1);
    /* Solved again (after a reopen that came too late to cancel): one
     * survey per ticket. */
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED, T1, C1);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T1, C1);
    catch_up();
    due();
    assert_string_equal(status_of(T1), "requested");
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'survey'", NULL),
                     1);

    /* A rebuild: survey's tables and offsets wiped, the log replayed. */
    char before[4096];
    snprintf(before, sizeof before, "%s",
             q("SELECT string_agg(s::text, ',') FROM survey.surveys s", NULL));
    exec("TRUNCATE survey.answers, survey.surveys");
    exec("DELETE FROM eventlog.offsets WHERE consumer = 'survey'");
    consumer_destroy(&g_consumer);
    assert_int_equal(new_consumer(), 0);
    catch_up();
    due();
    assert_string_equal(q("SELECT string_agg(s::text, ',') FROM survey.surveys s", NULL), before);
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'survey'", NULL),
                     1);
}

static void test_channel_and_handle(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    /* In store: no store handle, the email answers. */
    router_ticket(C1, T1, "store", "Tôi muốn đổi trả", "phone=+84901234567", "email=lan@example.vn",
                  NULL);
    /* A call: answered by SMS. */
    router_ticket(C2, T2, "phone", "toi can ho tro", "phone=+84907654321", NULL);
    /* WhatsApp without a WhatsApp id: the phone number. */
    router_ticket("8f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b", T3, "whatsapp", "please help me",
                  "phone=+84911111111", NULL);
    static const char *const tickets[] = {T1, T2, T3, T4};
    for (size_t i = 0; i < 4; i++)
        router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, tickets[i], NULL);
    catch_up();
    due();
    const char *sql = "SELECT coalesce(channel, '-') || ' ' || coalesce(handle, '-') || ' ' ||"
                      " language || ' ' || coalesce(customer_id::text, '-')"
                      " FROM survey.surveys WHERE ticket_id = $1";
    assert_string_equal(q(sql, T1, NULL), "email lan@example.vn vi " C1);
    assert_string_equal(q(sql, T2, NULL), "sms +84907654321 vi " C2);
    assert_string_equal(q(sql, T3, NULL),
                        "whatsapp +84911111111 en 8f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b");
    /* A ticket the router does not have: asked, with nothing to send on. */
    assert_string_equal(q(sql, T4, NULL), "- - vi -");
    assert_int_equal(qlong("SELECT count(*) FROM survey.surveys WHERE status = 'requested'", NULL),
                     4);
}

static void test_cooldown_merge_and_trigger(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    g_sv.cfg.cooldown_days = 30;
    g_sv.cfg.trigger_closed = true;
    router_ticket(C1, T1, "chat", "xin chao", "chat=u1", NULL);
    router_ticket(C2, T2, "chat", "xin chao", "chat=u2", NULL);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T1, C1);
    catch_up();
    assert_string_equal(status_of(T1), ""); /* trigger = closed */
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED, T2, C2);
    catch_up();
    assert_string_equal(status_of(T2), "scheduled");
    /* C2 merged into C1: C2's survey counts for C1's cooldown. */
    merged(C1, C2);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED, T1, C1);
    catch_up();
    assert_string_equal(status_of(T1), "");
    assert_string_equal(q("SELECT customer_id FROM survey.surveys WHERE ticket_id = $1", T2, NULL),
                        C1);
    /* Another customer is asked. */
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED, T3,
                 "9f1d2c3b-4a59-5e6f-8a7b-9c0d1e2f3a4b");
    catch_up();
    assert_string_equal(status_of(T3), "scheduled");
}

static void test_reopen_and_the_replay_watermark(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    solved_due_in_a_second();
    /* The reopen is in the log before the survey falls due, but not yet
     * applied: the due pass must wait for it, whatever the clock says. */
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED, T1, C1);
    usleep(1200 * 1000);
    due();
    assert_string_equal(status_of(T1), "scheduled");
    catch_up();
    assert_string_equal(status_of(T1), ""); /* cancelled */
    /* Solved again: due a second later, then requested. */
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T1, C1);
    catch_up();
    due();
    assert_string_equal(status_of(T1), "scheduled");
    usleep(1200 * 1000);
    due();
    assert_string_equal(status_of(T1), "requested");
    /* requested_at is the due time, from the log, not the clock of the pass. */
    assert_int_equal(qlong("SELECT (requested_at = due_at AND due_at = (SELECT recorded_at"
                           " + interval '1 second' FROM eventlog.events WHERE stream = 'router'"
                           " AND type = 'ticket.solved' ORDER BY seq DESC LIMIT 1))::int"
                           " FROM survey.surveys",
                           NULL),
                     1);
}

struct due_thread {
    atomic_bool done;
    int rc;
};

static void *due_main(void *arg)
{
    struct due_thread *t = arg;
    g_sv.due_hint = true;
    t->rc = survey_due_tick(&g_sv);
    atomic_store(&t->done, true);
    return NULL;
}

/* A reopen appended before the due time but committed only while the pass
 * looks: the pass waits for it (the router stream's row lock) and sees the
 * stream unapplied, so the survey waits for the reopen to cancel it. */
static void test_a_router_append_in_flight_holds_the_pass(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    solved_due_in_a_second();
    /* The router's transaction: its reopen recorded now, before the due
     * time, and not committed. */
    db *router = testdb_connect("test_apply_router");
    assert_non_null(router);
    assert_int_equal(db_begin(router), 0);
    router_event_on(router, CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED, T1, C1);
    usleep(1200 * 1000); /* the survey is due now */
    struct due_thread t = {.done = false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, due_main, &t), 0);
    /* Until the pass waits on a lock (or, were it not to, has ended). */
    bool waits = false;
    for (int i = 0; i < 1000 && !waits && !atomic_load(&t.done); i++) {
        char pid[16];
        snprintf(pid, sizeof pid, "%d", PQbackendPID(db_conn(g_db)));
        const char *pp[] = {pid};
        PGresult *r =
            db_exec(router, "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = $1", 1, pp);
        waits = r && atol(PQgetvalue(r, 0, 0)) > 0;
        PQclear(r);
        if (!waits)
            usleep(10 * 1000);
    }
    assert_int_equal(db_commit(router), 0);
    pthread_join(th, NULL);
    db_destroy(&router);
    assert_int_equal(t.rc, 0);
    assert_true(waits);
    assert_string_equal(status_of(T1), "scheduled");
    catch_up();
    assert_string_equal(status_of(T1), ""); /* cancelled by the reopen */
}

static void test_answers_rebuilt_from_the_log(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    router_ticket(C1, T1, "zalo", "toi can ho tro", "zalo=u1", NULL);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T1, C1);
    catch_up();
    due();
    char sid[ID_LEN], eid[ID_LEN];
    snprintf(sid, sizeof sid, "%s", q("SELECT id FROM survey.surveys", NULL));
    id_derive2(sid, "survey.answered", eid);
    /* As web.c stores an answer: survey.answer() with the packed envelope. */
    Carebus__V1__SurveyAnswered body = CAREBUS__V1__SURVEY_ANSWERED__INIT;
    Google__Protobuf__Int32Value csat = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
    csat.value = 2;
    body.survey_id = sid;
    body.csat = &csat;
    body.comment = "chậm";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED;
    ev.survey_answered = &body;
    ev.event_id = eid;
    ev.type = "survey.answered";
    ev.stream = "survey";
    Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&at, INT64_C(1795399200123456)); /* 2026-11-23T02:00:00.123456Z */
    ev.occurred_at = &at;
    size_t len;
    uint8_t *packed = event_pack(&ev, &len);
    char *hex = malloc(2 * len + 3);
    strcpy(hex, "\\x");
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 + 2 * i, 3, "%02x", packed[i]);
    free(packed);
    const char *sql = "SELECT outcome FROM survey.answer($1, 2, NULL, 'chậm', $2,"
                      " '2026-11-23T02:00:00.123456Z', $3::bytea, NULL)";
    assert_string_equal(q(sql, sid, eid, hex, NULL), "ok");
    assert_string_equal(q(sql, sid, eid, hex, NULL), "answered");
    char unknown[ID_LEN];
    id_new(unknown);
    assert_string_equal(q(sql, unknown, eid, hex, NULL), "unknown");
    free(hex);
    char before[1024];
    snprintf(before, sizeof before, "%s",
             q("SELECT string_agg(a::text, ',') FROM survey.answers a", NULL));
    catch_up(); /* its own survey.answered: no change */
    assert_string_equal(q("SELECT string_agg(a::text, ',') FROM survey.answers a", NULL), before);
    exec("TRUNCATE survey.answers, survey.surveys");
    exec("DELETE FROM eventlog.offsets WHERE consumer = 'survey'");
    consumer_destroy(&g_consumer);
    assert_int_equal(new_consumer(), 0);
    catch_up();
    assert_string_equal(q("SELECT string_agg(a::text, ',') FROM survey.answers a", NULL), before);
    assert_string_equal(status_of(T1), "answered");
    assert_string_equal(q("SELECT survey.ticket_json($1)->>'status'", T1, NULL), "answered");
    assert_string_equal(q("SELECT survey.ticket_json($1)->>'comment'", T1, NULL), "chậm");
}

/* Several kinds and several tickets in one transaction (stage.c's runs)
 * decide as one event per transaction does: the cooldown sees the survey
 * scheduled earlier in the batch, a reopen cancels the survey of the solve
 * before it and the next solve schedules anew. */
static void test_one_batch_decides_as_one_event_at_a_time(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    g_sv.cfg.delay_s = 3600;
    g_sv.cfg.cooldown_days = 30;
    router_ticket(C1, T1, "email", "order late", "email=lan@example.vn", NULL);
    router_ticket(C1, T2, "email", "again", NULL);
    router_ticket(C2, T3, "zalo", "xin chao", "zalo=zalo-uid-2", NULL);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T1, C1);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T2, C1);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T3, C2);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED, T3, C2);
    router_event(CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED, T3, C2);
    char last[ID_LEN];
    snprintf(last, sizeof last, "%s",
             q("SELECT event_id FROM eventlog.events WHERE stream = 'router'"
               " ORDER BY seq DESC LIMIT 1",
               NULL));
    catch_up();
    assert_string_equal(status_of(T1), "scheduled");
    assert_string_equal(status_of(T2), ""); /* the cooldown */
    assert_string_equal(status_of(T3), "scheduled");
    assert_string_equal(
        q("SELECT trigger_event_id FROM survey.surveys WHERE ticket_id = $1", T3, NULL), last);
    char batched[4096];
    snprintf(batched, sizeof batched, "%s",
             q("SELECT string_agg(s::text, ',' ORDER BY s.id) FROM survey.surveys s", NULL));

    /* The same log, one event per transaction. */
    exec("TRUNCATE survey.answers, survey.surveys");
    exec("DELETE FROM eventlog.offsets WHERE consumer = 'survey'");
    consumer_destroy(&g_consumer);
    assert_int_equal(new_consumer(), 0);
    consumer_set_batch(g_consumer, 1, 0);
    catch_up();
    assert_string_equal(
        q("SELECT string_agg(s::text, ',' ORDER BY s.id) FROM survey.surveys s", NULL), batched);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_solved_is_requested_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_and_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cooldown_merge_and_trigger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_the_replay_watermark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_router_append_in_flight_holds_the_pass, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answers_rebuilt_from_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_batch_decides_as_one_event_at_a_time, setup,
                                        teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("apply", tests, group_setup, group_teardown);
}
