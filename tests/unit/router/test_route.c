/* test_route.c — the router against a real PostgreSQL: identity and
 * merges, threading, the reopen window, classification, priority,
 * assignment and queues, transfers, escalations, the order of the two
 * streams, replays; what it asks courier to send (replies and
 * acknowledgements: recipient, thread, language), ticket numbers,
 * attachments, and delivery statuses in any order.
 *
 * Events are appended to the log with eventlog_append ("ingest", "sla"
 * for escalations as sla-monitor would, "courier" for message.sent and
 * refusals as courier would) and applied by the production consumer
 * (consumer_catch_up with router_apply and its flush hook), so
 * transactions, offsets, retries and emitted events are the real ones.
 *
 * Needs CAREBUS_TEST_PG, a key=value conninfo for a server where its user
 * may create databases; each run creates a throw-away database there and
 * drops it. Without CAREBUS_TEST_PG every test is skipped. Run one test by
 * name: test_route <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus.h"
#include "calendar_config.h"
#include "consumer.h"
#include "db.h"
#include "eventlog.h"
#include "hex.h"
#include "id.h"
#include "router.h"
#include "testdb.h"

/* 2026-11-23T09:00:00+07:00 */
#define T0 INT64_C(1795399200000000)
#define MINUTE INT64_C(60000000)
#define DAY (24 * 60 * MINUTE)
#define VN "+84901234567"

static db *g_db;
static router *g_router;
static bus *g_bus;
static consumer *g_consumer;

/* --- SQL helpers ----------------------------------------------------------- */

/* The first cell of a query's answer as text ("" for NULL or no row), in
 * rotating static buffers. Parameters end with NULL. */
static const char *q(const char *sql, ...)
{
    static char bufs[8][16384];
    static int next;
    char *out = bufs[next++ % 8];
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
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        const char *v = PQgetvalue(res, 0, 0);
        assert_true(strlen(v) < sizeof bufs[0]);
        strcpy(out, v);
    }
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

/* --- events ---------------------------------------------------------------- */

static char *or_empty(const char *s)
{
    return (char *)(s ? s : "");
}

/* Appends ev to stream at time at (0: no occurred_at); its id in id. */
static void append(const char *stream, event *ev, int64_t at, char id[ID_LEN])
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    if (at) {
        event_ts_set(&ts, at);
        ev->occurred_at = &ts;
    }
    struct eventlog_entry e = {.ev = ev};
    assert_int_equal(eventlog_append(g_db, stream, &e, 1), 0);
    if (id)
        snprintf(id, ID_LEN, "%s", e.event_id);
    eventlog_entry_release(&e);
    ev->occurred_at = NULL;
}

struct contact {
    Carebus__V1__Channel channel;
    const char *name, *phone, *email, *handle;
    const char *text, *subject, *external_id, *in_reply_to;
    const char *refs[4];
    int64_t at;
};

static void contact(const struct contact *k, char id[ID_LEN])
{
    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    ref.name = or_empty(k->name);
    ref.phone = or_empty(k->phone);
    ref.email = or_empty(k->email);
    ref.handle = or_empty(k->handle);
    Carebus__V1__ContactReceived body = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    body.channel = k->channel;
    body.customer = &ref;
    body.text = or_empty(k->text);
    body.subject = or_empty(k->subject);
    body.external_id = or_empty(k->external_id);
    body.in_reply_to = or_empty(k->in_reply_to);
    size_t nrefs = 0;
    while (nrefs < 4 && k->refs[nrefs])
        nrefs++;
    body.references = (char **)k->refs;
    body.n_references = nrefs;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &body;
    append("ingest", &ev, k->at, id);
}

/* A quick contact: channel, handle (phone for phone/sms), text, time. */
static void say(Carebus__V1__Channel ch, const char *handle, const char *text, int64_t at,
                char id[ID_LEN])
{
    struct contact k = {.channel = ch, .handle = handle, .text = text, .at = at};
    contact(&k, id);
}

static void presence(const char *agent, Carebus__V1__Presence p, unsigned capacity,
                     const char *teams, const char *leads, int64_t at)
{
    char tb[256], lb[256];
    char *tv[8], *lv[8];
    size_t nt = 0, nl = 0;
    snprintf(tb, sizeof tb, "%s", teams ? teams : "");
    snprintf(lb, sizeof lb, "%s", leads ? leads : "");
    for (char *s = strtok(tb, ","); s && nt < 8; s = strtok(NULL, ","))
        tv[nt++] = s;
    for (char *s = strtok(lb, ","); s && nl < 8; s = strtok(NULL, ","))
        lv[nl++] = s;
    Carebus__V1__AgentPresence b = CAREBUS__V1__AGENT_PRESENCE__INIT;
    b.agent_id = (char *)agent;
    b.presence = p;
    b.capacity = capacity;
    b.teams = tv;
    b.n_teams = nt;
    b.leads = lv;
    b.n_leads = nl;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE;
    ev.agent_presence = &b;
    append("ingest", &ev, at, NULL);
}

#define ONLINE CAREBUS__V1__PRESENCE__PRESENCE_ONLINE
#define OFFLINE CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE

static void status(const char *ticket, Carebus__V1__TicketStatus st, int64_t at)
{
    Carebus__V1__TicketStatusChanged b = CAREBUS__V1__TICKET_STATUS_CHANGED__INIT;
    b.status = st;
    b.reason = "test";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED;
    ev.ticket_status_changed = &b;
    ev.ticket_id = (char *)ticket;
    append("ingest", &ev, at, NULL);
}

#define SOLVED CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED
#define CLOSED CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_CLOSED

static void transfer(const char *ticket, const char *team, int64_t at)
{
    Carebus__V1__TicketTransferRequested b = CAREBUS__V1__TICKET_TRANSFER_REQUESTED__INIT;
    b.to_team = (char *)team;
    b.reason = "needs an expert";
    b.actor = "agent-x";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFER_REQUESTED;
    ev.ticket_transfer_requested = &b;
    ev.ticket_id = (char *)ticket;
    append("ingest", &ev, at, NULL);
}

static void reply(const char *ticket, const char *agent, const char *text, bool note,
                  const char *external_id, int64_t at)
{
    Carebus__V1__AgentReplied b = CAREBUS__V1__AGENT_REPLIED__INIT;
    b.agent_id = (char *)agent;
    b.text = (char *)text;
    b.internal_note = note;
    b.external_id = or_empty(external_id);
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    ev.agent_replied = &b;
    ev.ticket_id = (char *)ticket;
    append("ingest", &ev, at, NULL);
}

static void segment(const char *customer, Carebus__V1__Segment seg, int64_t at)
{
    Carebus__V1__CustomerProfileUpdated b = CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__INIT;
    b.segment = seg;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED;
    ev.customer_profile_updated = &b;
    ev.customer_id = (char *)customer;
    append("ingest", &ev, at, NULL);
}

static void call(const char *caller, const char *note, const char *agent, int64_t at,
                 char id[ID_LEN])
{
    Google__Protobuf__Timestamp started = GOOGLE__PROTOBUF__TIMESTAMP__INIT,
                                ended = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&started, at - MINUTE);
    event_ts_set(&ended, at);
    Carebus__V1__CallEnded b = CAREBUS__V1__CALL_ENDED__INIT;
    b.caller = (char *)caller;
    b.note = or_empty(note);
    b.agent_id = or_empty(agent);
    b.started_at = &started;
    b.ended_at = &ended;
    b.outcome = CAREBUS__V1__CALL_OUTCOME__CALL_OUTCOME_ANSWERED;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CALL_ENDED;
    ev.call_ended = &b;
    append("ingest", &ev, at, id);
}

/* An escalation on the "sla" stream, as sla-monitor publishes it. */
static void escalate(const char *ticket, Carebus__V1__Priority p, int64_t at)
{
    Carebus__V1__SlaEscalation b = CAREBUS__V1__SLA_ESCALATION__INIT;
    b.target = CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE;
    b.priority = p;
    b.reason = "first response overdue";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION;
    ev.sla_escalation = &b;
    ev.ticket_id = (char *)ticket;
    append("sla", &ev, at, NULL);
}

/* --- what the router sends, and what becomes of it --------------------------- */

struct reply_opts {
    Carebus__V1__Channel channel;
    const char *external_id;
    size_t nattachments;
    Carebus__V1__Attachment *attachments[2];
};

/* An agent's reply (not a note); its event id in id. */
static void reply_to(const char *ticket, const char *agent, const char *text,
                     const struct reply_opts *o, int64_t at, char id[ID_LEN])
{
    Carebus__V1__AgentReplied b = CAREBUS__V1__AGENT_REPLIED__INIT;
    b.agent_id = (char *)agent;
    b.text = (char *)text;
    b.channel = o ? o->channel : CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    b.external_id = or_empty(o ? o->external_id : NULL);
    if (o) {
        b.attachments = (Carebus__V1__Attachment **)o->attachments;
        b.n_attachments = o->nattachments;
    }
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    ev.agent_replied = &b;
    ev.ticket_id = (char *)ticket;
    append("ingest", &ev, at, id);
}

/* courier: the provider took the message. */
static void sent(const char *delivery_id, Carebus__V1__Channel ch, const char *pmid, int64_t at)
{
    Carebus__V1__MessageSent b = CAREBUS__V1__MESSAGE_SENT__INIT;
    b.delivery_id = (char *)delivery_id;
    b.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY;
    b.channel = ch;
    b.provider_message_id = or_empty(pmid);
    b.attempts = 1;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_SENT;
    ev.message_sent = &b;
    append("courier", &ev, at, NULL);
}

/* A failure: courier's by delivery id, or a provider's report ("ingest")
 * by its message id. */
static void failed(const char *stream, const char *delivery_id, Carebus__V1__Channel ch,
                   const char *pmid, const char *code, const char *reason, bool permanent,
                   int64_t at)
{
    Carebus__V1__MessageFailed b = CAREBUS__V1__MESSAGE_FAILED__INIT;
    b.delivery_id = or_empty(delivery_id);
    b.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY;
    b.channel = ch;
    b.provider_message_id = or_empty(pmid);
    b.code = (char *)code;
    b.reason = (char *)reason;
    b.permanent = permanent;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED;
    ev.message_failed = &b;
    append(stream, &ev, at, NULL);
}

/* A provider's delivery or read report ("ingest"): a message id, or a
 * recipient's watermark (0: none). */
static void receipt(bool read, Carebus__V1__Channel ch, const char *pmid, const char *recipient,
                    int64_t watermark, int64_t at)
{
    char *ids[] = {(char *)pmid};
    Google__Protobuf__Timestamp w = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    if (watermark)
        event_ts_set(&w, watermark);
    Carebus__V1__MessageDelivered d = CAREBUS__V1__MESSAGE_DELIVERED__INIT;
    Carebus__V1__MessageRead r = CAREBUS__V1__MESSAGE_READ__INIT;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    if (read) {
        r.channel = ch;
        r.provider_message_ids = pmid ? ids : NULL;
        r.n_provider_message_ids = pmid ? 1 : 0;
        r.recipient = or_empty(recipient);
        r.watermark = watermark ? &w : NULL;
        ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ;
        ev.message_read = &r;
    } else {
        d.channel = ch;
        d.provider_message_ids = pmid ? ids : NULL;
        d.n_provider_message_ids = pmid ? 1 : 0;
        d.recipient = or_empty(recipient);
        d.watermark = watermark ? &w : NULL;
        ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED;
        ev.message_delivered = &d;
    }
    append("ingest", &ev, at, NULL);
}

/* The message.outbound the router emitted for cause (a reply, or a
 * ticket.opened), unpacked (event_destroy it); NULL when there is none. */
static event *outbound_for(const char *cause)
{
    PGresult *res = db_exec(g_db,
                            "SELECT encode(payload, 'hex') FROM eventlog.events"
                            " WHERE stream = 'router' AND type = 'message.outbound' ORDER BY seq",
                            0, NULL);
    assert_non_null(res);
    event *found = NULL;
    for (int i = 0; i < PQntuples(res) && !found; i++) {
        const char *hex = PQgetvalue(res, i, 0);
        size_t n = strlen(hex) / 2;
        unsigned char *bytes = malloc(n + 1);
        assert_int_equal(hex_decode(hex, 2 * n, bytes, n), 0);
        event *ev = event_unpack(bytes, n);
        free(bytes);
        assert_non_null(ev);
        assert_int_equal(ev->body_case, CAREBUS__V1__ENVELOPE__BODY_MESSAGE_OUTBOUND);
        if (strcmp(ev->message_outbound->cause_event_id, cause) == 0)
            found = ev;
        else
            event_destroy(&ev);
    }
    PQclear(res);
    return found;
}

static long outbound_count(void)
{
    return qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"
                 " AND type = 'message.outbound'",
                 NULL);
}

/* A message's delivery columns: "status provider_message_id code". */
static const char *delivery_of(const char *event_id)
{
    return q("SELECT concat_ws(' ', delivery_status, provider_message_id, delivery_error_code)"
             " FROM router.messages WHERE event_id = $1",
             event_id, NULL);
}

static void catch_up(void)
{
    for (int i = 0; i < 100; i++) {
        int rc = consumer_catch_up(g_consumer);
        assert_true(rc >= 0);
        if (rc == 0)
            return;
    }
    fail_msg("catch-up did not finish");
}

/* The ticket a contact landed on. */
static const char *ticket_of(const char *event_id)
{
    return q("SELECT ticket_id FROM router.messages WHERE event_id = $1", event_id, NULL);
}

static const char *tcol(const char *ticket, const char *col)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT (%s)::text FROM router.tickets WHERE id = $1", col);
    return q(sql, ticket, NULL);
}

/* Router event types, in order, for a ticket ("a,b,c"). */
static const char *types_of(const char *ticket)
{
    return q("SELECT string_agg(type, ',' ORDER BY seq) FROM eventlog.events"
             " WHERE stream = 'router' AND ticket_id = $1",
             ticket, NULL);
}

/* The whole router state as text, in a stable order. */
static const char *dump(void)
{
    return q("SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
             " SELECT 'c ' || c::text AS x FROM router.customers c"
             " UNION ALL SELECT 'i ' || i::text FROM router.identities i"
             " UNION ALL SELECT 't ' || t::text FROM router.tickets t"
             " UNION ALL SELECT 'm ' || m::text FROM router.messages m"
             " UNION ALL SELECT 'n ' || n::text FROM router.notes n"
             " UNION ALL SELECT 'g ' || g::text FROM router.merges g"
             " UNION ALL SELECT 'a ' || a::text FROM router.agents a"
             " UNION ALL SELECT 'p ' || p::text FROM router.position p"
             " UNION ALL SELECT 'd ' || d::text FROM router.delivery_pending d"
             " UNION ALL SELECT 'e ' || e.event_id || ' ' || e.type || ' ' || e.seq"
             "   FROM eventlog.events e WHERE e.stream = 'router') s",
             NULL);
}

/* --- fixtures -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (testdb_open("test_route", &g_db) != 0)
        return -1;
    if (!g_db)
        return 0;
    unsetenv("CAREBUS_ROUTER_CONFIG");
    unsetenv("CAREBUS_REOPEN_WINDOW_S");
    g_router = router_new();
    return g_router ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    router_destroy(&g_router);
    testdb_close(&g_db);
    return 0;
}

/* A new consumer reading streams in the given order ("ingest,sla"). */
static int consumer_start(const char *order)
{
    g_bus = bus_new();
    size_t nhandlers;
    const struct consumer_handler *handlers = router_handlers(&nhandlers);
    g_consumer = consumer_new("router", g_db, g_bus, "router", handlers, nhandlers, g_router);
    if (!g_bus || !g_consumer)
        return -1;
    char b[32];
    snprintf(b, sizeof b, "%s", order);
    for (char *s = strtok(b, ","); s; s = strtok(NULL, ","))
        if (consumer_read(g_consumer, s) != 0)
            return -1;
    router_attach(g_router, g_consumer, g_db, g_bus);
    return 0;
}

static void consumer_stop(void)
{
    consumer_destroy(&g_consumer);
    bus_destroy(&g_bus);
}

static int setup(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    exec("SELECT router.reset()");
    exec("TRUNCATE eventlog.events, eventlog.offsets");
    exec("UPDATE eventlog.streams SET last_seq = 0");
    g_router->reopen_window_us = (int64_t)ROUTER_REOPEN_WINDOW_S * 1000000;
    return consumer_start("ingest,sla,courier");
}

static int teardown(void **state)
{
    (void)state;
    consumer_stop();
    return 0;
}

/* Wipes the router's state and offsets and replays the log with a new
 * consumer reading the streams in the given order; the state must equal
 * what it was, and no event is emitted again. */
static void assert_replay_equal(const char *order)
{
    char *live = strdup(dump());
    long events = qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'", NULL);
    exec("SELECT router.reset()");
    consumer_stop();
    assert_int_equal(consumer_start(order), 0);
    catch_up();
    const char *again = dump();
    if (strcmp(again, live) != 0) {
        fprintf(stderr, "live:\n%s\n\nreplayed:\n%s\n", live, again);
        fail_msg("the replay differs from the live state");
    }
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'", NULL),
                     events);
    free(live);
}

#define ZALO CAREBUS__V1__CHANNEL__CHANNEL_ZALO
#define PHONE CAREBUS__V1__CHANNEL__CHANNEL_PHONE
#define EMAIL CAREBUS__V1__CHANNEL__CHANNEL_EMAIL
#define CHAT CAREBUS__V1__CHANNEL__CHANNEL_CHAT
#define FACEBOOK CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK

/* --- tests ----------------------------------------------------------------- */

/* A first contact: customer, identities, a classified ticket for its
 * team, queued (nobody is online), and its events in order. */
static void test_first_contact(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], cust[ID_LEN], tick[ID_LEN];
    struct contact k = {
        .channel = ZALO,
        .name = " Lan ",
        .phone = "0901 234 567",
        .email = " Lan@Example.VN",
        .handle = "zalo-uid-1",
        .text = "Tôi muốn khiếu nại về đơn hàng",
        .subject = "Đơn hàng",
        .external_id = "m-1",
        .at = T0,
    };
    contact(&k, e1);
    catch_up();
    id_derive2(e1, "customer", cust);
    id_derive2(e1, "ticket", tick);
    assert_string_equal(q("SELECT name FROM router.customers WHERE id = $1", cust, NULL), " Lan ");
    assert_string_equal(q("SELECT string_agg(kind || '=' || value, ',' ORDER BY kind)"
                          " FROM router.identities WHERE customer_id = $1",
                          cust, NULL),
                        "email=lan@example.vn,phone=" VN ",zalo=zalo-uid-1");
    assert_string_equal(ticket_of(e1), tick);
    assert_string_equal(tcol(tick, "concat_ws(' ', status, category, category_rule, team,"
                                   " priority, channel, contacts)"),
                        "open complaint complaint-vi complaints high zalo 1");
    assert_string_equal(tcol(tick, "priority_reasons"), "{\"category:complaint +1\"}");
    assert_string_equal(tcol(tick, "assignee IS NULL AND queued_at IS NOT NULL"), "true");
    assert_string_equal(types_of(tick), "ticket.opened,ticket.contact_added,ticket.classified,"
                                        "ticket.assigned,ticket.queued");
    assert_int_equal(qlong("SELECT ingest_seq FROM router.position", NULL), 1);
}

/* The scenario: Zalo with a phone, a call from the same number
 * spelt differently, then an email from an unknown address that a later
 * contact links to the phone: one customer, one ticket, three channels in
 * order. */
static void test_zalo_call_email_scenario(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], e4[ID_LEN];
    struct contact zalo = {.channel = ZALO,
                           .name = "Lan",
                           .phone = "0901234567",
                           .handle = "zalo-uid-1",
                           .text = "Máy giặt bị lỗi",
                           .at = T0};
    contact(&zalo, e1);
    call("+84 90 123 4567", "khách gọi lại về máy giặt", "agent-1", T0 + 10 * MINUTE, e2);
    struct contact mail = {.channel = EMAIL,
                           .handle = "lan.nguyen@example.vn",
                           .subject = "Máy giặt",
                           .text = "Tôi gửi ảnh máy giặt",
                           .external_id = "<m3@mail.example.vn>",
                           .at = T0 + 20 * MINUTE};
    contact(&mail, e3);
    struct contact link = {.channel = CHAT,
                           .phone = "84901234567",
                           .email = "Lan.Nguyen@example.vn",
                           .handle = "visitor-9",
                           .text = "cảm ơn",
                           .at = T0 + 30 * MINUTE};
    contact(&link, e4);
    catch_up();

    char lan[ID_LEN], other[ID_LEN], t1[ID_LEN], t3[ID_LEN];
    id_derive2(e1, "customer", lan);
    id_derive2(e3, "customer", other);
    id_derive2(e1, "ticket", t1);
    id_derive2(e3, "ticket", t3);
    assert_string_equal(q("SELECT router.customer_json($1)->>'id'", other, NULL), lan);
    assert_string_equal(q("SELECT merged_into FROM router.customers WHERE id = $1", other, NULL),
                        lan);
    assert_int_equal(qlong("SELECT count(*) FROM router.customers WHERE merged_into IS NULL", NULL),
                     1);
    assert_int_equal(
        qlong("SELECT jsonb_array_length(router.customer_json($1)->'tickets')", lan, NULL), 1);
    assert_string_equal(q("SELECT router.customer_json($1)->>'open_ticket_id'", lan, NULL), t1);
    assert_string_equal(q("SELECT string_agg(i->>'kind', ',') FROM"
                          " jsonb_array_elements(router.customer_json($1)->'identities') i",
                          lan, NULL),
                        "chat,email,phone,zalo");
    /* One ticket, with every contact in order. */
    assert_string_equal(q("SELECT string_agg(m->>'channel', ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'messages') m",
                          t1, NULL),
                        "zalo,phone,email,chat");
    assert_string_equal(q("SELECT string_agg(m->>'direction', ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'messages') m",
                          t1, NULL),
                        "in,in,in,in");
    assert_string_equal(tcol(t3, "concat_ws(' ', status, merged_into)"),
                        q("SELECT 'closed ' || $1", t1, NULL));
    assert_string_equal(tcol(t1, "contacts"), "4");
    /* The merge is an event and shows on the timeline. */
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"
                           " AND type = 'customer.merged' AND customer_id = $1",
                           lan, NULL),
                     1);
    assert_string_equal(q("SELECT string_agg(e->>'kind', ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'timeline') e",
                          t1, NULL),
                        "message,message,message,customer.merged,ticket.merged,message");
    assert_string_equal(types_of(t3), "ticket.opened,ticket.contact_added,ticket.classified,"
                                      "ticket.assigned,ticket.queued,ticket.closed");
    assert_replay_equal("ingest,sla");
}

/* Two customers each with an open ticket turn out to be one: the younger
 * (by the time of its first contact, not its place in the log) is merged
 * into the older; its ticket joins the survivor's and its agent is freed. */
static void test_merge_two_open_tickets(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("agent-1", ONLINE, 5, "support", NULL, T0 - DAY);
    char eb[ID_LEN], ea[ID_LEN], ec[ID_LEN], em[ID_LEN];
    /* B writes first in the log but became a customer later. */
    say(FACEBOOK, "psid-b", "xin chào", T0 + 2 * MINUTE, eb);
    struct contact a = {
        .channel = ZALO, .phone = "0901234567", .handle = "uid-a", .text = "cần gấp", .at = T0};
    contact(&a, ea);
    say(CHAT, "visitor-c", "hello", T0 + 3 * MINUTE, ec);
    struct contact m = {.channel = FACEBOOK,
                        .phone = "+84901234567",
                        .handle = "psid-b",
                        .email = "x@example.vn",
                        .text = "again",
                        .at = T0 + 4 * MINUTE};
    contact(&m, em);
    catch_up();
    char ca[ID_LEN], cb[ID_LEN], ta[ID_LEN], tb[ID_LEN];
    id_derive2(ea, "customer", ca);
    id_derive2(eb, "customer", cb);
    id_derive2(ea, "ticket", ta);
    id_derive2(eb, "ticket", tb);
    assert_string_equal(ticket_of(em), ta);
    assert_string_equal(q("SELECT merged_into FROM router.customers WHERE id = $1", cb, NULL), ca);
    assert_string_equal(q("SELECT string_agg(kind || '=' || value, ',' ORDER BY kind)"
                          " FROM router.identities WHERE customer_id = $1",
                          ca, NULL),
                        "email=x@example.vn,facebook=psid-b,phone=" VN ",zalo=uid-a");
    assert_int_equal(
        qlong("SELECT count(*) FROM router.identities WHERE customer_id = $1", cb, NULL), 0);
    assert_string_equal(tcol(tb, "concat_ws(' ', status, merged_into, customer_id)"),
                        q("SELECT 'closed ' || $1 || ' ' || $2", ta, ca, NULL));
    /* B's messages moved; the survivor's ticket counts every contact. */
    assert_int_equal(qlong("SELECT count(*) FROM router.messages WHERE ticket_id = $1", ta, NULL),
                     3);
    assert_int_equal(qlong("SELECT count(*) FROM router.messages WHERE customer_id = $1", cb, NULL),
                     0);
    assert_string_equal(tcol(ta, "contacts"), "3");
    /* agent-1 held both; B's ticket no longer counts. */
    assert_string_equal(q("SELECT load::text FROM router.agents WHERE id = 'agent-1'", NULL), "2");
    assert_string_equal(q("SELECT count(*)::text FROM router.tickets WHERE assignee = 'agent-1'"
                          " AND status IN ('open', 'pending')",
                          NULL),
                        "2");
    assert_string_equal(q("SELECT type FROM eventlog.events WHERE stream = 'router'"
                          " AND ticket_id = $1 ORDER BY seq DESC LIMIT 1",
                          tb, NULL),
                        "ticket.closed");
    assert_int_equal(qlong("SELECT count(*) FROM router.merges WHERE merged_id = $1"
                           " AND survivor_id = $2 AND contact_event_id = $3",
                           cb, ca, em, NULL),
                     1);
    assert_string_equal(q("SELECT router.customer_json($1)->>'id'", cb, NULL), ca);
    assert_string_equal(q("SELECT router.customer_find('facebook', 'psid-b')", NULL), ca);
    assert_replay_equal("ingest,sla");
}

/* Three customers in one contact: both younger ones are merged, chains
 * stay one hop. */
static void test_merge_three_and_chains(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], e4[ID_LEN], e5[ID_LEN];
    say(PHONE, "0901000001", "one", T0, e1);
    struct contact k2 = {
        .channel = EMAIL, .handle = "two@example.vn", .text = "two", .at = T0 + MINUTE};
    contact(&k2, e2);
    say(ZALO, "z-3", "three", T0 + 2 * MINUTE, e3);
    say(FACEBOOK, "f-4", "four", T0 + 3 * MINUTE, e4);
    catch_up();
    /* z-3 first joins f-4's customer... */
    struct contact a = {
        .channel = ZALO, .email = "", .handle = "z-3", .text = "x", .at = T0 + 4 * MINUTE};
    (void)a;
    struct contact link1 = {.channel = FACEBOOK,
                            .handle = "f-4",
                            .phone = "",
                            .email = "",
                            .text = "y",
                            .at = T0 + 5 * MINUTE};
    (void)link1;
    /* ... then one contact names all three of the first customers. */
    struct contact all = {.channel = ZALO,
                          .phone = "0901000001",
                          .email = "two@example.vn",
                          .handle = "z-3",
                          .text = "all",
                          .at = T0 + 6 * MINUTE};
    contact(&all, e5);
    catch_up();
    char c1[ID_LEN], c2[ID_LEN], c3[ID_LEN], t1[ID_LEN];
    id_derive2(e1, "customer", c1);
    id_derive2(e2, "customer", c2);
    id_derive2(e3, "customer", c3);
    id_derive2(e1, "ticket", t1);
    assert_string_equal(q("SELECT string_agg(coalesce(merged_into::text, '-'), ','"
                          " ORDER BY created_at) FROM router.customers WHERE id IN ($1, $2, $3)",
                          c1, c2, c3, NULL),
                        q("SELECT '-,' || $1 || ',' || $1", c1, NULL));
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"
                           " AND type = 'customer.merged'",
                           NULL),
                     2);
    assert_int_equal(qlong("SELECT count(*) FROM router.tickets WHERE customer_id = $1"
                           " AND merged_into IS NULL",
                           c1, NULL),
                     1);
    assert_int_equal(qlong("SELECT count(*) FROM router.messages WHERE ticket_id = $1", t1, NULL),
                     4);
    assert_replay_equal("ingest,sla");
}

/* In-Reply-To, References (newest first) and in_reply_to thread to the
 * ticket they name; a thread of someone else's is not followed. */
static void test_threading(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], e4[ID_LEN], e5[ID_LEN], e6[ID_LEN], e7[ID_LEN];
    struct contact m1 = {.channel = EMAIL,
                         .handle = "lan@example.vn",
                         .subject = "Đơn 1",
                         .text = "đơn hàng một",
                         .external_id = "<a@mail.vn>",
                         .at = T0};
    contact(&m1, e1);
    catch_up();
    char t1[ID_LEN];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    g_router->reopen_window_us = 3600 * INT64_C(1000000);
    status(t1, SOLVED, T0 + MINUTE);
    /* A new conversation on chat, after the reopen window. */
    struct contact chat = {.channel = CHAT,
                           .email = "lan@example.vn",
                           .handle = "v-1",
                           .text = "câu hỏi khác",
                           .external_id = "c-1",
                           .at = T0 + 120 * MINUTE};
    contact(&chat, e2);
    catch_up();
    char t2[ID_LEN];
    snprintf(t2, sizeof t2, "%s", ticket_of(e2));
    assert_string_not_equal(t1, t2);
    reply(t2, "agent-9", "Chúng tôi đã nhận", false, "<r2@carebus.vn>", T0 + 121 * MINUTE);
    /* The agent reopens the first and solves it again. */
    status(t1, CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN, T0 + 122 * MINUTE);
    status(t1, SOLVED, T0 + 123 * MINUTE);
    /* In-Reply-To the first mail: its (solved) ticket reopens. */
    struct contact m3 = {.channel = EMAIL,
                         .handle = "lan@example.vn",
                         .text = "về đơn 1",
                         .in_reply_to = "<a@mail.vn>",
                         .at = T0 + 124 * MINUTE};
    contact(&m3, e3);
    /* References: the newest (the agent's answer on t2) wins. */
    struct contact m4 = {.channel = EMAIL,
                         .handle = "lan@example.vn",
                         .text = "về câu hỏi",
                         .refs = {"<a@mail.vn>", "<r2@carebus.vn>"},
                         .at = T0 + 125 * MINUTE};
    contact(&m4, e4);
    /* An explicit in_reply_to on another channel. */
    struct contact z = {.channel = CHAT,
                        .handle = "v-1",
                        .text = "tiếp",
                        .in_reply_to = "c-1",
                        .at = T0 + 126 * MINUTE};
    contact(&z, e5);
    /* An unknown address answering the thread becomes the customer's. */
    struct contact m6 = {.channel = EMAIL,
                         .handle = "lan.work@example.vn",
                         .text = "từ công ty",
                         .in_reply_to = "<a@mail.vn>",
                         .at = T0 + 127 * MINUTE};
    contact(&m6, e6);
    /* Someone else's thread is not followed. */
    say(EMAIL, "other@example.vn", "tôi là người khác", T0 + 128 * MINUTE, NULL);
    catch_up();
    struct contact m7 = {.channel = EMAIL,
                         .handle = "other@example.vn",
                         .text = "fw",
                         .in_reply_to = "<a@mail.vn>",
                         .at = T0 + 129 * MINUTE};
    contact(&m7, e7);
    catch_up();
    assert_string_equal(ticket_of(e3), t1);
    assert_string_equal(tcol(t1, "concat_ws(' ', status, reopened)"), "open 2");
    assert_string_equal(ticket_of(e4), t2);
    assert_string_equal(ticket_of(e5), t2);
    assert_string_equal(ticket_of(e6), t1);
    assert_string_equal(q("SELECT router.customer_find('email', 'lan.work@example.vn')", NULL),
                        tcol(t1, "customer_id"));
    assert_string_not_equal(ticket_of(e7), t1);
    assert_string_not_equal(ticket_of(e7), t2);
    assert_string_equal(q("SELECT string_agg(m->>'direction', ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'messages') m",
                          t2, NULL),
                        "in,out,in,in");
    assert_replay_equal("ingest,sla");
    g_router->reopen_window_us = (int64_t)ROUTER_REOPEN_WINDOW_S * 1000000;
}

/* A contact within the window reopens a solved ticket (its agent takes it
 * back); after the window, or on a closed ticket, a new one opens. */
static void test_reopen_window(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("agent-1", ONLINE, 3, "support", NULL, T0 - DAY);
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], e4[ID_LEN], e5[ID_LEN];
    say(ZALO, "z-1", "xin chào", T0, e1);
    catch_up();
    char t1[ID_LEN];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    assert_string_equal(tcol(t1, "assignee"), "agent-1");
    status(t1, SOLVED, T0 + MINUTE);
    catch_up();
    assert_string_equal(q("SELECT load::text FROM router.agents", NULL), "0");
    say(ZALO, "z-1", "vẫn chưa được", T0 + MINUTE + 6 * DAY, e2);
    catch_up();
    assert_string_equal(ticket_of(e2), t1);
    assert_string_equal(tcol(t1, "concat_ws(' ', status, reopened, assignee, solved_at IS NULL)"),
                        "open 1 agent-1 t");
    assert_string_equal(q("SELECT load::text FROM router.agents", NULL), "1");
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"
                           " AND type = 'ticket.reopened' AND ticket_id = $1",
                           t1, NULL),
                     1);
    assert_string_equal(q("SELECT string_agg(e->>'kind', ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'timeline') e",
                          t1, NULL),
                        "message,ticket.reopened,message");
    /* Solved again; eight days later is a new ticket. */
    status(t1, SOLVED, T0 + 7 * DAY);
    say(ZALO, "z-1", "lần khác", T0 + 15 * DAY + 1, e3);
    catch_up();
    assert_string_not_equal(ticket_of(e3), t1);
    assert_string_equal(tcol(t1, "status"), "solved");
    char t3[ID_LEN];
    snprintf(t3, sizeof t3, "%s", ticket_of(e3));
    /* Closed never reopens. */
    status(t3, CLOSED, T0 + 16 * DAY);
    say(ZALO, "z-1", "lại nữa", T0 + 16 * DAY + 1, e4);
    catch_up();
    assert_string_not_equal(ticket_of(e4), t3);
    assert_string_not_equal(ticket_of(e4), t1);
    /* A window of 0 never reopens. */
    char t4[ID_LEN];
    snprintf(t4, sizeof t4, "%s", ticket_of(e4));
    status(t4, SOLVED, T0 + 17 * DAY);
    catch_up();
    g_router->reopen_window_us = 0;
    say(ZALO, "z-1", "ngay sau", T0 + 17 * DAY + 1, e5);
    catch_up();
    assert_string_not_equal(ticket_of(e5), t4);
    g_router->reopen_window_us = (int64_t)ROUTER_REOPEN_WINDOW_S * 1000000;
}

/* Classification in Vietnamese and English, with and without diacritics
 * and in capitals; a ticket still "other" is classified by a later
 * contact and moves to its team's queue. */
static void test_classification(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    static const struct {
        const char *text, *category, *rule, *team, *priority;
    } cases[] = {
        {"Tôi muốn KHIẾU NẠI", "complaint", "complaint-vi", "complaints", "high"},
        {"toi muon khieu nai ve nhan vien", "complaint", "complaint-vi", "complaints", "high"},
        {"may giat can bao hanh", "returns_warranty", "returns-warranty-vi", "returns-warranty",
         "normal"},
        {"Máy giặt cần bảo hành", "returns_warranty", "returns-warranty-vi", "returns-warranty",
         "normal"},
        {"Please send the INVOICE again", "billing", "billing-en", "account-management", "normal"},
        {"quen mat khau roi", "account", "account-vi", "account-management", "normal"},
        {"The app crashes on start", "technical_support", "technical-support-en", "technical",
         "normal"},
        {"Tôi muốn hỏi thông số sản phẩm", "product_info", "product-info-vi", "support", "low"},
        {"báo giá giúp tôi, cần gấp", "sales", "sales-vi", "sales", "high"},
        {"Tôi muốn gặp quản lý", "other", "default", "support", "normal"},
        {"can gap lam", "other", "default", "support", "high"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char handle[32], e[ID_LEN];
        snprintf(handle, sizeof handle, "c-%zu", i);
        say(CHAT, handle, cases[i].text, T0 + (int64_t)i, e);
        catch_up();
        char t[ID_LEN];
        snprintf(t, sizeof t, "%s", ticket_of(e));
        char want[256];
        snprintf(want, sizeof want, "%s %s %s %s", cases[i].category, cases[i].rule, cases[i].team,
                 cases[i].priority);
        const char *got = tcol(t, "concat_ws(' ', category, category_rule, team, priority)");
        if (strcmp(got, want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].text, got, want);
    }
    char e1[ID_LEN], e2[ID_LEN];
    say(CHAT, "late", "alo", T0 + MINUTE, e1);
    say(CHAT, "late", "may giat can bao hanh gap", T0 + 2 * MINUTE, e2);
    catch_up();
    const char *t = ticket_of(e1);
    assert_string_equal(ticket_of(e2), t);
    assert_string_equal(tcol(t, "concat_ws(' ', category, team, priority, category_phrase,"
                                " queued_at IS NOT NULL)"),
                        "returns_warranty returns-warranty high bảo hành t");
    assert_string_equal(types_of(t), "ticket.opened,ticket.contact_added,ticket.classified,"
                                     "ticket.assigned,ticket.queued,ticket.contact_added,"
                                     "ticket.classified,ticket.assigned,ticket.queued");
}

/* Priority follows the customer's segment (a profile update
 * re-prioritises), urgency words and repeated contacts, with reasons. */
static void test_priority_inputs(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN];
    say(ZALO, "p-1", "xin chào", T0, e1);
    catch_up();
    char t[ID_LEN], c[ID_LEN];
    snprintf(t, sizeof t, "%s", ticket_of(e1));
    snprintf(c, sizeof c, "%s", tcol(t, "customer_id"));
    assert_string_equal(tcol(t, "priority"), "normal");
    segment(c, CAREBUS__V1__SEGMENT__SEGMENT_VIP, T0 + MINUTE);
    catch_up();
    assert_string_equal(tcol(t, "concat_ws(' ', priority, priority_reasons)"),
                        "high {\"segment:vip +1\"}");
    assert_string_equal(q("SELECT segment FROM router.customers WHERE id = $1", c, NULL), "vip");
    say(ZALO, "p-1", "còn đó không", T0 + 2 * MINUTE, NULL);
    say(ZALO, "p-1", "trả lời đi", T0 + 3 * MINUTE, NULL);
    catch_up();
    assert_string_equal(tcol(t, "concat_ws(' ', priority, contacts, priority_reasons)"),
                        "urgent 3 {\"segment:vip +1\",\"repeated_contacts:3 +1\"}");
    assert_string_equal(types_of(t), "ticket.opened,ticket.contact_added,ticket.classified,"
                                     "ticket.assigned,ticket.queued,ticket.classified,"
                                     "ticket.contact_added,ticket.contact_added,"
                                     "ticket.classified");
}

/* Least loaded, ties longest idle; queued when nobody is free; drained
 * highest priority first when an agent comes online or frees capacity. */
static void test_capacity_queue_drain(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("a1", ONLINE, 1, "support", NULL, T0 - 2 * MINUTE);
    presence("a2", ONLINE, 2, "support,sales", NULL, T0 - MINUTE);
    presence("a9", ONLINE, 5, "technical", NULL, T0 - MINUTE);
    char e[6][ID_LEN], t[6][ID_LEN];
    const char *texts[] = {"một", "hai", "ba", "bốn", "năm gấp", "sáu"};
    for (int i = 0; i < 6; i++) {
        char h[16];
        snprintf(h, sizeof h, "q-%d", i);
        say(CHAT, h, texts[i], T0 + i * MINUTE, e[i]);
    }
    catch_up();
    for (int i = 0; i < 6; i++)
        snprintf(t[i], ID_LEN, "%s", ticket_of(e[i]));
    /* a1 has been idle longest; then a2 is the least loaded. */
    assert_string_equal(tcol(t[0], "assignee"), "a1");
    assert_string_equal(tcol(t[1], "assignee"), "a2");
    assert_string_equal(tcol(t[2], "assignee"), "a2");
    for (int i = 3; i < 6; i++)
        assert_string_equal(tcol(t[i], "assignee IS NULL AND queued_at IS NOT NULL"), "true");
    assert_string_equal(q("SELECT string_agg(id || '=' || load, ',' ORDER BY id)"
                          " FROM router.agents",
                          NULL),
                        "a1=1,a2=2,a9=0");
    /* a3 comes online: the urgent one first, then the oldest. */
    presence("a3", ONLINE, 2, "support", NULL, T0 + 10 * MINUTE);
    catch_up();
    assert_string_equal(tcol(t[4], "assignee"), "a3");
    assert_string_equal(tcol(t[3], "assignee"), "a3");
    assert_string_equal(tcol(t[5], "assignee IS NULL"), "true");
    /* a1 solves its ticket: it takes the last one. */
    status(t[0], SOLVED, T0 + 11 * MINUTE);
    catch_up();
    assert_string_equal(tcol(t[5], "concat_ws(' ', assignee, queued_at IS NULL)"), "a1 t");
    assert_string_equal(q("SELECT string_agg(id || '=' || load, ',' ORDER BY id)"
                          " FROM router.agents",
                          NULL),
                        "a1=1,a2=2,a3=2,a9=0");
    /* Offline agents get nothing; capacity 0 takes nothing. */
    presence("a1", OFFLINE, 1, "support", NULL, T0 + 12 * MINUTE);
    presence("a4", ONLINE, 0, "support", NULL, T0 + 12 * MINUTE);
    char e7[ID_LEN];
    say(CHAT, "q-7", "bảy", T0 + 13 * MINUTE, e7);
    catch_up();
    assert_string_equal(tcol(ticket_of(e7), "assignee IS NULL"), "true");
    assert_string_equal(q("SELECT count(*)::text FROM eventlog.events WHERE stream = 'router'"
                          " AND type = 'ticket.queued'",
                          NULL),
                        "4");
    assert_replay_equal("sla,ingest");
}

/* A transfer moves the ticket to another team and reassigns it there; the
 * first agent's capacity is freed. */
static void test_transfer(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("s1", ONLINE, 1, "support", NULL, T0 - MINUTE);
    presence("k1", ONLINE, 2, "technical", NULL, T0 - MINUTE);
    char e1[ID_LEN], e2[ID_LEN];
    say(CHAT, "t-1", "xin chào", T0, e1);
    say(CHAT, "t-2", "chào bạn", T0 + MINUTE, e2);
    catch_up();
    char t1[ID_LEN], t2[ID_LEN];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    snprintf(t2, sizeof t2, "%s", ticket_of(e2));
    assert_string_equal(tcol(t1, "assignee"), "s1");
    assert_string_equal(tcol(t2, "assignee IS NULL"), "true");
    transfer(t1, "technical", T0 + 2 * MINUTE);
    transfer(t1, "no-such-team", T0 + 3 * MINUTE);
    catch_up();
    assert_string_equal(tcol(t1, "concat_ws(' ', team, assignee)"), "technical k1");
    /* s1 was freed: the queued ticket is theirs now. */
    assert_string_equal(tcol(t2, "assignee"), "s1");
    assert_string_equal(q("SELECT string_agg(id || '=' || load, ',' ORDER BY id)"
                          " FROM router.agents",
                          NULL),
                        "k1=1,s1=1");
    assert_string_equal(types_of(t1), "ticket.opened,ticket.contact_added,ticket.classified,"
                                      "ticket.assigned,ticket.transferred,ticket.assigned");
    assert_string_equal(q("SELECT e->>'text' FROM jsonb_array_elements(router.ticket_json($1)"
                          "->'timeline') e WHERE e->>'kind' = 'ticket.transferred'",
                          t1, NULL),
                        "transferred from support to technical: needs an expert");
}

/* An SLA escalation (the "sla" stream) goes to the team's lead with a
 * raised priority; one for a ticket already solved changes nothing. */
static void test_escalation(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("s1", ONLINE, 3, "support", NULL, T0 - 2 * MINUTE);
    presence("lead", OFFLINE, 3, "support", "support", T0 - 2 * MINUTE);
    presence("lead2", ONLINE, 3, "support", "support,complaints", T0 - MINUTE);
    char e1[ID_LEN], e2[ID_LEN];
    say(CHAT, "x-1", "xin chào", T0, e1);
    say(CHAT, "x-2", "chào", T0 + MINUTE, e2);
    catch_up();
    char t1[ID_LEN], t2[ID_LEN];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    snprintf(t2, sizeof t2, "%s", ticket_of(e2));
    assert_string_equal(tcol(t1, "assignee"), "s1");
    escalate(t1, CAREBUS__V1__PRIORITY__PRIORITY_URGENT, T0 + 30 * MINUTE);
    status(t2, SOLVED, T0 + 31 * MINUTE);
    catch_up();
    escalate(t2, CAREBUS__V1__PRIORITY__PRIORITY_UNSPECIFIED, T0 + 40 * MINUTE);
    catch_up();
    /* The online lead takes it, beyond anything else. */
    assert_string_equal(tcol(t1, "concat_ws(' ', assignee, priority, escalated_rank,"
                                 " escalated_at IS NOT NULL)"),
                        "lead2 urgent 4 t");
    assert_string_equal(tcol(t1, "priority_reasons"), "{sla_escalation:urgent}");
    assert_string_equal(types_of(t1), "ticket.opened,ticket.contact_added,ticket.classified,"
                                      "ticket.assigned,ticket.escalated,ticket.assigned,"
                                      "ticket.classified");
    assert_string_equal(q("SELECT string_agg(id || '=' || load, ',' ORDER BY id)"
                          " FROM router.agents",
                          NULL),
                        "lead=0,lead2=1,s1=0");
    assert_string_equal(tcol(t2, "concat_ws(' ', status, escalated_rank)"), "solved 0");
    assert_string_equal(q("SELECT e->'detail'->>'from_agent_id' FROM jsonb_array_elements("
                          "router.ticket_json($1)->'timeline') e"
                          " WHERE e->>'kind' = 'ticket.escalated'",
                          t1, NULL),
                        "s1");
    assert_int_equal(qlong("SELECT sla_seq FROM router.position", NULL), 2);
    assert_replay_equal("sla,ingest");
}

/* The two streams are applied in recorded_at order whatever the order of
 * delivery: live one event at a time, or a catch-up reading "sla" first or
 * "ingest" first, give the same state. */
static void test_stream_order(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("s1", ONLINE, 1, "support", NULL, T0 - 2 * MINUTE);
    presence("boss", ONLINE, 1, "support", "support", T0 - MINUTE);
    char e1[ID_LEN], e2[ID_LEN];
    say(CHAT, "o-1", "một", T0, e1);
    catch_up();
    char t1[ID_LEN];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    /* Escalation, then (recorded later) a solve and a contact that the
     * escalation's effects (boss's capacity) bear on. */
    escalate(t1, CAREBUS__V1__PRIORITY__PRIORITY_HIGH, T0 + MINUTE);
    say(CHAT, "o-2", "hai", T0 + 2 * MINUTE, e2);
    status(t1, SOLVED, T0 + 3 * MINUTE);
    escalate(t1, CAREBUS__V1__PRIORITY__PRIORITY_URGENT, T0 + 4 * MINUTE);
    catch_up();
    char t2[ID_LEN];
    snprintf(t2, sizeof t2, "%s", ticket_of(e2));
    /* boss got t1 (escalated): full; the new ticket went to s1. */
    assert_string_equal(tcol(t1, "concat_ws(' ', assignee, status, priority)"), "boss solved high");
    assert_string_equal(tcol(t2, "assignee"), "s1");
    assert_replay_equal("sla,ingest");
    assert_replay_equal("ingest,sla");
}

/* An SLA event the consumer has seen but whose turn had not come is
 * applied by the tick once the ingest stream is idle. */
static void test_tick_applies_waiting_sla(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("boss", ONLINE, 1, "support", "support", T0 - MINUTE);
    char e1[ID_LEN];
    say(CHAT, "w-1", "một", T0, e1);
    catch_up();
    char t1[ID_LEN];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    escalate(t1, CAREBUS__V1__PRIORITY__PRIORITY_URGENT, T0 + MINUTE);
    /* As if delivered (the offset moved) without being applied. */
    exec("INSERT INTO eventlog.offsets (consumer, stream, seq) VALUES ('router', 'sla', 1)"
         " ON CONFLICT (consumer, stream) DO UPDATE SET seq = 1");
    consumer_stop();
    assert_int_equal(consumer_start("ingest,sla"), 0);
    catch_up();
    assert_string_equal(tcol(t1, "priority"), "normal");
    assert_int_equal(router_tick(g_router), 0);
    assert_string_equal(tcol(t1, "concat_ws(' ', priority, assignee)"), "urgent boss");
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"
                           " AND type = 'ticket.escalated'",
                           NULL),
                     1);
    assert_int_equal(router_tick(g_router), 0); /* nothing more */
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"
                           " AND type = 'ticket.escalated'",
                           NULL),
                     1);
}

/* Replies and notes on the timeline, calls as phone contacts, an agent's
 * reply as activity. */
static void test_replies_and_calls(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("a1", ONLINE, 3, "support", NULL, T0 - DAY);
    presence("a2", ONLINE, 3, "support", NULL, T0 - DAY + 1);
    char e1[ID_LEN], e2[ID_LEN];
    call("0901 234 567", "khách hỏi về đơn", "a2", T0, e1);
    catch_up();
    char t[ID_LEN];
    snprintf(t, sizeof t, "%s", ticket_of(e1));
    assert_string_equal(tcol(t, "concat_ws(' ', channel, assignee)"), "phone a1");
    assert_string_equal(q("SELECT value FROM router.identities", NULL), VN);
    reply(t, "a1", "Chào chị", false, NULL, T0 + MINUTE);
    reply(t, "a1", "khách VIP", true, NULL, T0 + 2 * MINUTE);
    say(ZALO, "", NULL, 0, NULL); /* no handle at all: skipped */
    struct contact z = {
        .channel = ZALO, .phone = "84901234567", .text = "cảm ơn", .at = T0 + 3 * MINUTE};
    contact(&z, e2);
    catch_up();
    assert_string_equal(ticket_of(e2), t);
    assert_string_equal(q("SELECT string_agg(m->>'channel' || ':' || (m->>'direction') || ':'"
                          " || coalesce(m->>'agent_id', '-'), ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'messages') m",
                          t, NULL),
                        "phone:in:a2,phone:out:a1,phone:note:a1,zalo:in:-");
    assert_string_equal(q("SELECT (last_active_at = to_timestamp($1::bigint / 1e6))::text"
                          " FROM router.agents WHERE id = 'a1'",
                          "1795399320000000", NULL),
                        "true");
}

/* A statement that fails rolls the batch back: the consumer retries one
 * event at a time and skips the bad one alone. */
static void test_failed_statement_rolls_back(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    exec("CREATE FUNCTION public.poison() RETURNS trigger LANGUAGE plpgsql AS"
         " $$BEGIN IF NEW.text = 'poison' THEN RAISE 'poisoned'; END IF; RETURN NEW; END$$");
    exec("CREATE TRIGGER poison BEFORE INSERT ON router.messages"
         " FOR EACH ROW EXECUTE FUNCTION public.poison()");
    say(ZALO, "good-1", "fine", T0, NULL);
    say(ZALO, "bad-2", "poison", T0 + 1, NULL);
    say(ZALO, "good-3", "fine", T0 + 2, NULL);
    catch_up();
    exec("DROP TRIGGER poison ON router.messages");
    exec("DROP FUNCTION public.poison()");
    assert_string_equal(
        q("SELECT string_agg(value, ',' ORDER BY value) FROM router.identities", NULL),
        "good-1,good-3");
    assert_int_equal(qlong("SELECT count(*) FROM router.tickets", NULL), 2);
    assert_int_equal(qlong("SELECT seq FROM eventlog.offsets WHERE consumer = 'router'"
                           " AND stream = 'ingest'",
                           NULL),
                     3);
    /* The router goes on: position follows the offsets. */
    say(ZALO, "good-4", "fine", T0 + 3, NULL);
    catch_up();
    assert_int_equal(qlong("SELECT ingest_seq FROM router.position", NULL), 4);
}

/* Without occurred_at the time is the log's recorded_at. */
static void test_time_from_log(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN];
    say(CAREBUS__V1__CHANNEL__CHANNEL_STORE, "card-7", "x", 0, e1);
    catch_up();
    assert_string_equal(q("SELECT (m.at = e.recorded_at)::text FROM router.messages m"
                          " JOIN eventlog.events e USING (event_id)",
                          NULL),
                        "true");
}

/* The live path: a contact from the bus that carries neither time (a
 * publisher need not set recorded_at) takes the log's recorded_at, as a
 * replay from the log will. */
static void test_bus_contact_without_times(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/carebus-test-route-%ld.ipc", (long)getpid());
    setenv("CAREBUS_BUS_INGEST", endpoint, 1);
    bus *pub = bus_new();
    assert_non_null(pub);
    assert_int_equal(bus_bind(pub, endpoint), 0);
    consumer_stop();
    assert_int_equal(consumer_start("ingest,sla"), 0);
    unsetenv("CAREBUS_BUS_INGEST");

    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    ref.handle = "visitor-9";
    Carebus__V1__ContactReceived body = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    body.channel = CHAT;
    body.customer = &ref;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &body;
    struct eventlog_entry e = {.ev = &ev};
    assert_int_equal(eventlog_append(g_db, "ingest", &e, 1), 0);
    assert_null(ev.recorded_at);
    assert_null(ev.occurred_at);
    /* The envelope as a producer that leaves recorded_at out would publish
     * it: the log's id, stream and seq, and no recorded_at. */
    ev.event_id = e.event_id;
    ev.stream = "ingest";
    ev.seq = e.seq;
    size_t len;
    uint8_t *bytes = event_pack(&ev, &len);
    assert_non_null(bytes);
    /* A subscriber misses what is sent before it has joined: resend until
     * it applies (a repeat is dropped as already applied). */
    for (int i = 0; i < 500 && consumer_applied(g_consumer) == 0; i++) {
        assert_int_equal(bus_publish_bytes(pub, "ingest", bytes, len), 0);
        usleep(10000);
        assert_int_equal(consumer_on_bus(g_consumer), 0);
    }
    free(bytes);
    eventlog_entry_release(&e);
    bus_destroy(&pub);
    unlink(endpoint + strlen("ipc://"));
    assert_int_equal(consumer_applied(g_consumer), 1);
    assert_string_equal(q("SELECT (m.at = e.recorded_at)::text FROM router.messages m"
                          " JOIN eventlog.events e USING (event_id)",
                          NULL),
                        "true");
}

/* Bodies the router has no business with change nothing; events naming
 * what does not exist, or nobody, are skipped with nothing written. */
static void test_other_bodies_ignored(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    Carebus__V1__SurveyAnswered sa = CAREBUS__V1__SURVEY_ANSWERED__INIT;
    sa.survey_id = "s-1";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED;
    ev.survey_answered = &sa;
    append("ingest", &ev, T0, NULL);
    status("7a2e3d4c-5b6a-5f70-9b8c-0d1e2f3a4b5c", SOLVED, T0); /* no such ticket */
    presence("", ONLINE, 3, "support", NULL, T0);
    catch_up();
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'", NULL),
                     0);
    assert_int_equal(qlong("SELECT count(*) FROM router.agents", NULL), 0);
    assert_int_equal(qlong("SELECT ingest_seq FROM router.position", NULL), 3);
}

/* A ticket's number is the ingest seq of the contact that opened it,
 * carried by ticket.opened and shown by ticket_json. */
static void test_ticket_number(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], e2[ID_LEN];
    say(ZALO, "n-1", "một", T0, e1);
    say(ZALO, "n-2", "hai", T0 + MINUTE, e2);
    say(ZALO, "n-1", "ba", T0 + 2 * MINUTE, NULL);
    catch_up();
    char t2[ID_LEN];
    snprintf(t2, sizeof t2, "%s", ticket_of(e2));
    assert_string_equal(tcol(ticket_of(e1), "number"), "1");
    assert_string_equal(tcol(t2, "number"), "2");
    assert_string_equal(q("SELECT router.ticket_json($1)->>'number'", t2, NULL), "2");
    assert_int_equal(qlong("SELECT count(*) FROM router.tickets", NULL), 2);
    assert_replay_equal("ingest,sla,courier");
}

/* An agent's reply becomes a message.outbound addressed to the customer:
 * on the channel the agent names, else the one the customer last wrote
 * on; an internal note sends nothing; a channel where the customer has no
 * handle gets an empty recipient (courier fails it). */
static void test_reply_outbound(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    presence("a1", ONLINE, 3, "support", NULL, T0 - DAY);
    char e1[ID_LEN], e2[ID_LEN];
    Carebus__V1__Attachment pic = CAREBUS__V1__ATTACHMENT__INIT;
    pic.name = "may-giat.jpg";
    pic.content_type = "image/jpeg";
    pic.size = 48213;
    pic.url = "https://cdn.example.vn/may-giat.jpg";
    Carebus__V1__Attachment *pics[] = {&pic};
    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    ref.name = "Lan";
    ref.phone = "0901234567";
    ref.handle = "zalo-uid-1";
    Carebus__V1__ContactReceived body = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    body.channel = ZALO;
    body.customer = &ref;
    body.text = "Máy giặt bị lỗi, ảnh đây";
    body.attachments = pics;
    body.n_attachments = 1;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &body;
    append("ingest", &ev, T0, e1);
    struct contact fb = {.channel = FACEBOOK,
                         .phone = "+84 901 234 567",
                         .handle = "psid-7",
                         .text = "bên facebook nè",
                         .at = T0 + MINUTE};
    contact(&fb, e2);
    catch_up();
    char t[ID_LEN], r1[ID_LEN], r2[ID_LEN], r3[ID_LEN], r4[ID_LEN], r5[ID_LEN], d[ID_LEN];
    snprintf(t, sizeof t, "%s", ticket_of(e1));
    assert_string_equal(ticket_of(e2), t);

    Carebus__V1__Attachment doc = CAREBUS__V1__ATTACHMENT__INIT;
    doc.name = "huong-dan.pdf";
    doc.content_type = "application/pdf";
    doc.size = 1024;
    doc.url = "https://files.example.vn/huong-dan.pdf";
    struct reply_opts with_doc = {.nattachments = 1, .attachments = {&doc}};
    reply_to(t, "a1", "Chào chị Lan, em gửi hướng dẫn", &with_doc, T0 + 2 * MINUTE, r1);
    struct reply_opts on_zalo = {.channel = ZALO};
    reply_to(t, "a1", "Hello, we will call you", &on_zalo, T0 + 3 * MINUTE, r2);
    struct reply_opts on_sms = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_SMS};
    reply_to(t, "a1", "Ma don: 123", &on_sms, T0 + 4 * MINUTE, r3);
    struct reply_opts on_ig = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM};
    reply_to(t, "a1", "Chào chị", &on_ig, T0 + 5 * MINUTE, r4);
    reply(t, "a1", "khách quen", true, NULL, T0 + 6 * MINUTE);
    struct reply_opts on_wa = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP};
    reply_to(t, "a1", "Chào chị", &on_wa, T0 + 7 * MINUTE, r5);
    catch_up();
    assert_int_equal(outbound_count(), 5);

    /* No channel named: the customer's last (Facebook), with the files. */
    event *o = outbound_for(r1);
    assert_non_null(o);
    const Carebus__V1__MessageOutbound *x = o->message_outbound;
    id_derive2(r1, "delivery", d);
    assert_string_equal(x->delivery_id, d);
    assert_int_equal(x->kind, CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY);
    assert_int_equal(x->channel, FACEBOOK);
    assert_string_equal(x->recipient->handle, "psid-7");
    assert_string_equal(x->recipient->name, "Lan");
    assert_string_equal(x->text, "Chào chị Lan, em gửi hướng dẫn");
    assert_string_equal(x->language, "vi");
    assert_string_equal(x->agent_id, "a1");
    assert_non_null(x->last_inbound_at);
    assert_true(event_ts_us(x->last_inbound_at) == T0 + MINUTE);
    assert_int_equal(x->n_attachments, 1);
    assert_string_equal(x->attachments[0]->url, "https://files.example.vn/huong-dan.pdf");
    assert_string_equal(x->message_id, "");
    assert_string_equal(o->ticket_id, t);
    assert_string_equal(o->causation_id, r1);
    event_destroy(&o);
    /* Zalo: its own handle, the window from the Zalo contact; English. */
    o = outbound_for(r2);
    assert_int_equal(o->message_outbound->channel, ZALO);
    assert_string_equal(o->message_outbound->recipient->handle, "zalo-uid-1");
    assert_string_equal(o->message_outbound->language, "en");
    assert_true(event_ts_us(o->message_outbound->last_inbound_at) == T0);
    event_destroy(&o);
    /* SMS: the phone number; no SMS from the customer yet: no window. */
    o = outbound_for(r3);
    assert_string_equal(o->message_outbound->recipient->handle, VN);
    assert_string_equal(o->message_outbound->recipient->phone, VN);
    assert_null(o->message_outbound->last_inbound_at);
    event_destroy(&o);
    /* Instagram: nobody to send to. */
    o = outbound_for(r4);
    assert_string_equal(o->message_outbound->recipient->handle, "");
    assert_string_equal(o->message_outbound->recipient->name, "Lan");
    event_destroy(&o);
    /* WhatsApp: the number as WhatsApp spells it. */
    o = outbound_for(r5);
    assert_string_equal(o->message_outbound->recipient->handle, "84901234567");
    event_destroy(&o);

    /* The timeline: kinds, channels, recipients, attachments, states. */
    assert_string_equal(q("SELECT string_agg(concat_ws(':', m->>'direction', m->>'channel',"
                          " m->>'outbound_kind', m->'delivery'->>'status'), ',')"
                          " FROM jsonb_array_elements(router.ticket_json($1)->'messages') m",
                          t, NULL),
                        "in:zalo,in:facebook,out:facebook:reply:queued,out:zalo:reply:queued,"
                        "out:sms:reply:queued,out:instagram:reply:queued,note:zalo,"
                        "out:whatsapp:reply:queued");
    assert_string_equal(q("SELECT recipient FROM router.messages WHERE event_id = $1", r4, NULL),
                        "");
    assert_string_equal(q("SELECT router.ticket_json($1)->'messages'->0->>'attachments'", t, NULL),
                        "[{\"url\": \"https://cdn.example.vn/may-giat.jpg\", \"name\": "
                        "\"may-giat.jpg\", \"size\": 48213, \"content_type\": \"image/jpeg\"}]");
    assert_string_equal(
        q("SELECT router.ticket_json($1)->'timeline'->2->'attachments'->0->>'name'", t, NULL),
        "huong-dan.pdf");
    assert_string_equal(
        q("SELECT router.ticket_json($1)->'messages'->2->'delivery'->>'id'", t, NULL), d);
    assert_replay_equal("ingest,sla,courier");
}

/* Email: carebus's own Message-ID (kept as the reply's external_id, so
 * that the customer's answer threads back), In-Reply-To the customer's
 * latest mail, References the thread oldest first, "Re: <subject>". */
static void test_email_reply_thread(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], e2[ID_LEN], r1[ID_LEN], r2[ID_LEN], want[128];
    struct contact m1 = {.channel = EMAIL,
                         .name = "Lan",
                         .handle = "Lan@Example.VN",
                         .subject = "Máy giặt hỏng",
                         .text = "Máy giặt nhà tôi bị hỏng",
                         .external_id = "<m1@mail.example.vn>",
                         .at = T0};
    contact(&m1, e1);
    catch_up();
    char t[ID_LEN];
    snprintf(t, sizeof t, "%s", ticket_of(e1));
    reply_to(t, "a1", "Chào chị, chị gửi giúp em ảnh", NULL, T0 + MINUTE, r1);
    catch_up();
    event *o = outbound_for(r1);
    const Carebus__V1__MessageOutbound *x = o->message_outbound;
    snprintf(want, sizeof want, "<%s@carebus.local>", r1);
    assert_int_equal(x->channel, EMAIL);
    assert_string_equal(x->recipient->handle, "lan@example.vn");
    assert_string_equal(x->recipient->email, "lan@example.vn");
    assert_string_equal(x->message_id, want);
    assert_string_equal(x->in_reply_to, "<m1@mail.example.vn>");
    assert_int_equal(x->n_references, 1);
    assert_string_equal(x->references[0], "<m1@mail.example.vn>");
    assert_string_equal(x->subject, "Re: Máy giặt hỏng");
    event_destroy(&o);
    /* Stored bare (msgid.h), as inbound ids are: an In-Reply-To finds it. */
    assert_string_equal(q("SELECT external_id FROM router.messages WHERE event_id = $1", r1, NULL),
                        q("SELECT btrim($1, '<>')", want, NULL));
    assert_string_equal(q("SELECT subject FROM router.messages WHERE event_id = $1", r1, NULL),
                        "Re: Máy giặt hỏng");
    /* The customer answers our mail: the same ticket, and the next reply
     * answers that. */
    struct contact m2 = {.channel = EMAIL,
                         .handle = "lan@example.vn",
                         .subject = "Re: Máy giặt hỏng",
                         .text = "ảnh đây",
                         .external_id = "<m2@mail.example.vn>",
                         .in_reply_to = want,
                         .refs = {"<m1@mail.example.vn>", want},
                         .at = T0 + 2 * MINUTE};
    contact(&m2, e2);
    catch_up();
    assert_string_equal(ticket_of(e2), t);
    g_router->email_domain = "care.example.vn";
    reply_to(t, "a1", "Em đã nhận", NULL, T0 + 3 * MINUTE, r2);
    catch_up();
    g_router->email_domain = ROUTER_EMAIL_DOMAIN_DEFAULT;
    o = outbound_for(r2);
    x = o->message_outbound;
    char want2[128];
    snprintf(want2, sizeof want2, "<%s@care.example.vn>", r2);
    assert_string_equal(x->message_id, want2);
    assert_string_equal(x->in_reply_to, "<m2@mail.example.vn>");
    assert_int_equal(x->n_references, 3);
    assert_string_equal(x->references[0], "<m1@mail.example.vn>");
    assert_string_equal(x->references[1], want);
    assert_string_equal(x->references[2], "<m2@mail.example.vn>");
    event_destroy(&o);
    /* From an address carebus does not know, In-Reply-To alone (bare, as
     * the email webhook gives it) names our Message-ID: the same ticket. */
    char e3[ID_LEN], bare2[128];
    snprintf(bare2, sizeof bare2, "%s@care.example.vn", r2);
    struct contact m3 = {.channel = EMAIL,
                         .handle = "lan.work@example.vn",
                         .subject = "Một câu khác",
                         .text = "từ địa chỉ công ty",
                         .external_id = "m3@mail.example.vn",
                         .in_reply_to = bare2,
                         .at = T0 + 4 * MINUTE};
    contact(&m3, e3);
    catch_up();
    assert_string_equal(ticket_of(e3), t);
}

/* A reply on a ticket merged away in the same batch goes to the merged
 * customer's handle, with that ticket's conversation: what the prefetch
 * did not load is loaded when needed, so that live (two batches) and a
 * rebuild (one) address it alike. */
static void test_reply_after_merge_in_batch(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char ea[ID_LEN], eb[ID_LEN], em[ID_LEN], r1[ID_LEN];
    struct contact a = {
        .channel = ZALO, .phone = "0901234567", .handle = "z-A", .text = "một", .at = T0};
    struct contact b = {.channel = FACEBOOK,
                        .email = "b@example.vn",
                        .handle = "psid-B",
                        .text = "hai",
                        .at = T0 + MINUTE};
    contact(&a, ea);
    contact(&b, eb);
    catch_up();
    char tb[ID_LEN], ta[ID_LEN];
    snprintf(ta, sizeof ta, "%s", ticket_of(ea));
    snprintf(tb, sizeof tb, "%s", ticket_of(eb));
    /* One batch: a chat contact shows they are one (b merges into a), and
     * a reply on b's old ticket, on Facebook. */
    struct contact link = {.channel = CHAT,
                           .phone = "0901234567",
                           .email = "b@example.vn",
                           .handle = "v-1",
                           .text = "ba",
                           .at = T0 + 2 * MINUTE};
    contact(&link, em);
    struct reply_opts on_fb = {.channel = FACEBOOK};
    reply_to(tb, "a1", "trả lời", &on_fb, T0 + 3 * MINUTE, r1);
    catch_up();
    assert_string_equal(tcol(tb, "merged_into"), ta);
    event *o = outbound_for(r1);
    assert_non_null(o);
    assert_string_equal(o->ticket_id, ta);
    assert_string_equal(o->message_outbound->recipient->handle, "psid-B");
    assert_true(event_ts_us(o->message_outbound->last_inbound_at) == T0 + MINUTE);
    event_destroy(&o);
    assert_replay_equal("ingest,sla,courier");
}

/* Acknowledgements (off unless configured): on a new ticket of an
 * enabled channel, worded for business hours or not at the contact's
 * time, in the contact's language, on the timeline after the contact. */
static void test_acknowledgements(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    static const char doc[] =
        "{\"enabled\": [\"zalo\", \"email\"], \"templates\": {\"default\": {"
        " \"vi\": {\"business_hours\": \"Chào {customer_name}, đã nhận yêu cầu số "
        "{ticket_number}.\","
        "        \"after_hours\": \"Ngoài giờ: yêu cầu số {ticket_number}.\","
        "        \"subject\": \"Yêu cầu số {ticket_number}\", \"customer_name\": \"anh/chị\"},"
        " \"en\": {\"business_hours\": \"Hello {customer_name}, request {ticket_number}.\","
        "        \"after_hours\": \"After hours: request {ticket_number}.\"}}}}";
    char err[512];
    ack *a = ack_parse(doc, strlen(doc), "test", err, sizeof err);
    assert_non_null(a);
    bool is_explicit;
    char *dir = calendar_config_dir(&is_explicit);
    calendar_config *cc = calendar_config_load(dir, err, sizeof err);
    assert_non_null(cc);
    calendar *cal = calendar_config_take(cc, ACK_CALENDAR_DEFAULT);
    ack_set_calendar(a, &cal);
    calendar_config_destroy(&cc);
    free(dir);
    ack *saved = g_router->ack;
    g_router->ack = a;

    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], e4[ID_LEN], e5[ID_LEN];
    struct contact lan = {
        .channel = ZALO, .name = "Lan", .handle = "z-1", .text = "Tôi cần hỗ trợ", .at = T0};
    contact(&lan, e1);
    say(ZALO, "z-2", "hello, my order is late", T0 + 11 * 60 * MINUTE, e2); /* 20:00 */
    say(CAREBUS__V1__CHANNEL__CHANNEL_SMS, "0912345678", "alo", T0 + MINUTE, e3);
    say(ZALO, "z-1", "còn nữa", T0 + 2 * MINUTE, e4); /* joins: no new ticket */
    struct contact mail = {.channel = EMAIL,
                           .handle = "x@example.vn",
                           .text = "cần giúp",
                           .external_id = "<x1@example.vn>",
                           .at = T0 + 3 * MINUTE};
    contact(&mail, e5);
    catch_up();
    assert_int_equal(outbound_count(), 3);

    char t1[ID_LEN], t2[ID_LEN], t5[ID_LEN], opened[ID_LEN], name[160];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    snprintf(t2, sizeof t2, "%s", ticket_of(e2));
    snprintf(t5, sizeof t5, "%s", ticket_of(e5));
    snprintf(name, sizeof name, "%s/ticket.opened/0", e1);
    id_derive(name, opened);
    event *o = outbound_for(opened);
    assert_non_null(o);
    const Carebus__V1__MessageOutbound *x = o->message_outbound;
    assert_int_equal(x->kind, CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_ACKNOWLEDGEMENT);
    assert_string_equal(x->recipient->handle, "z-1");
    assert_string_equal(x->text, "Chào Lan, đã nhận yêu cầu số 1.");
    assert_string_equal(x->language, "vi");
    assert_string_equal(x->agent_id, "");
    event_destroy(&o);
    snprintf(name, sizeof name, "%s/ticket.opened/0", e2);
    id_derive(name, opened);
    o = outbound_for(opened);
    assert_string_equal(o->message_outbound->text, "After hours: request 2.");
    assert_string_equal(o->message_outbound->language, "en");
    event_destroy(&o);
    snprintf(name, sizeof name, "%s/ticket.opened/0", e5);
    id_derive(name, opened);
    o = outbound_for(opened);
    x = o->message_outbound;
    char d[ID_LEN], mid[128];
    id_derive2(opened, "delivery", d);
    snprintf(mid, sizeof mid, "<%s@carebus.local>", d);
    assert_string_equal(x->delivery_id, d);
    assert_string_equal(x->subject, "Yêu cầu số 5");
    assert_string_equal(x->message_id, mid);
    assert_string_equal(x->in_reply_to, "<x1@example.vn>");
    assert_string_equal(x->text, "Chào anh/chị, đã nhận yêu cầu số 5.");
    event_destroy(&o);
    /* On the timeline, after the contact it answers. */
    assert_string_equal(q("SELECT string_agg(concat_ws(':', m->>'direction',"
                          " m->>'outbound_kind', m->'delivery'->>'status'), ',')"
                          " FROM jsonb_array_elements(router.ticket_json($1)->'messages') m",
                          t1, NULL),
                        "in,out:acknowledgement:queued,in");
    assert_string_equal(types_of(t5), "ticket.opened,ticket.contact_added,ticket.classified,"
                                      "ticket.assigned,ticket.queued,message.outbound");
    assert_string_equal(q("SELECT router.ticket_json($1)->'messages'->1->>'text'", t1, NULL),
                        "Chào Lan, đã nhận yêu cầu số 1.");
    assert_string_equal(q("SELECT concat_ws(' ', m->>'subject', m->>'external_id') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'messages') m"
                          " WHERE m->>'direction' = 'out'",
                          t5, NULL),
                        q("SELECT 'Yêu cầu số 5 ' || btrim($1, '<>')", mid, NULL));
    (void)t2;
    assert_replay_equal("courier,ingest,sla");
    g_router->ack = saved;
    ack_destroy(&a);
}

/* Statuses fold whatever their order and stream: a delivery or read
 * report before its message.sent waits and applies when it comes; a read
 * before the delivery stays read; a failure gives way to a later send; a
 * watermark covers what was sent to its recipient up to it, also for a
 * send that comes after it; non-permanent failures and statuses of
 * survey invitations change nothing. A rebuild reading the streams in
 * either order equals the live state. */
/* WhatsApp's statuses are whole seconds, courier's send is not: statuses
 * of the send's second fold by rank (failed > read > delivered > sent),
 * whatever order the log holds them in, each in its own batch. */
static void test_delivery_statuses_in_one_second(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    const Carebus__V1__Channel wa = CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP;
    char e1[ID_LEN];
    say(wa, "84901234567", "xin chào", T0, e1);
    catch_up();
    char t[ID_LEN];
    snprintf(t, sizeof t, "%s", ticket_of(e1));
    /* Every order of the send (S), delivered (D), read (R) and failed (F):
     * 24 with F, and the 6 orders of S, D, R without it. */
    static const char *const orders[] = {
        "SDRF", "SDFR", "SRDF", "SRFD", "SFDR", "SFRD", "DSRF", "DSFR", "DRSF", "DRFS",
        "DFSR", "DFRS", "RSDF", "RSFD", "RDSF", "RDFS", "RFSD", "RFDS", "FSDR", "FSRD",
        "FDSR", "FDRS", "FRSD", "FRDS", "SDR",  "SRD",  "DSR",  "DRS",  "RSD",  "RDS"};
    enum { N = sizeof orders / sizeof orders[0] };
    char r[N][ID_LEN], d[N][ID_LEN], pmid[N][32];
    for (int i = 0; i < N; i++) {
        reply_to(t, "a1", "trả lời", NULL, T0 + (i + 1) * MINUTE, r[i]);
        id_derive2(r[i], "delivery", d[i]);
        snprintf(pmid[i], sizeof pmid[i], "wamid.%d", i);
    }
    catch_up();
    for (int i = 0; i < N; i++) {
        int64_t second = T0 + (i + 40) * MINUTE; /* whole seconds */
        for (const char *o = orders[i]; *o; o++) {
            if (*o == 'S')
                sent(d[i], wa, pmid[i], second + 400000);
            else if (*o == 'F')
                failed("ingest", NULL, wa, pmid[i], "131026", "Message undeliverable", true,
                       second);
            else
                receipt(*o == 'R', wa, pmid[i], NULL, 0, second);
            catch_up();
        }
        char want[64];
        snprintf(want, sizeof want, strchr(orders[i], 'F') ? "failed %s 131026" : "read %s",
                 pmid[i]);
        if (strcmp(delivery_of(r[i]), want) != 0)
            fail_msg("order %s: %s, not %s", orders[i], delivery_of(r[i]), want);
    }
    /* A send in a later second than the failure is what it ends with. */
    sent(d[0], wa, "wamid.again", T0 + 80 * MINUTE + 1000000);
    catch_up();
    assert_string_equal(delivery_of(r[0]), "read wamid.again 131026");
}

static void test_delivery_statuses(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], r[5][ID_LEN], d[5][ID_LEN];
    say(FACEBOOK, "psid-1", "xin chào", T0, e1);
    catch_up();
    char t[ID_LEN];
    snprintf(t, sizeof t, "%s", ticket_of(e1));
    for (int i = 0; i < 5; i++) {
        reply_to(t, "a1", "trả lời", NULL, T0 + (i + 1) * MINUTE, r[i]);
        id_derive2(r[i], "delivery", d[i]);
    }
    catch_up();
    for (int i = 0; i < 5; i++)
        assert_string_equal(delivery_of(r[i]), "queued");

    /* r0: delivered and read (the provider's webhooks) before the send. */
    receipt(false, FACEBOOK, "mid-0", NULL, 0, T0 + 20 * MINUTE);
    receipt(true, FACEBOOK, "mid-0", NULL, 0, T0 + 21 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[0]), "queued");
    assert_int_equal(qlong("SELECT count(*) FROM router.delivery_pending", NULL), 2);
    sent(d[0], FACEBOOK, "mid-0", T0 + 10 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[0]), "read mid-0");
    assert_int_equal(qlong("SELECT count(*) FROM router.delivery_pending", NULL), 0);
    /* A late delivery report does not move it back. */
    receipt(false, FACEBOOK, "mid-0", NULL, 0, T0 + 22 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[0]), "read mid-0");
    assert_string_equal(q("SELECT (delivered_at = to_timestamp($1::bigint / 1e6))::text"
                          " FROM router.messages WHERE event_id = $2",
                          "1795400400000000", r[0], NULL),
                        "true");

    /* r1: refused at once (courier), then sent after all. */
    failed("courier", d[1], FACEBOOK, NULL, "100", "(#100) No matching user found", true,
           T0 + 11 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[1]), "failed 100");
    assert_string_equal(
        q("SELECT router.ticket_json($1)->'messages'->2->'delivery'->'error'->>'reason'", t, NULL),
        "(#100) No matching user found");
    sent(d[1], FACEBOOK, "mid-1", T0 + 12 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[1]), "sent mid-1 100");
    assert_string_equal(q("SELECT router.ticket_json($1)->'messages'->2->>'delivery'", t, NULL),
                        q("SELECT jsonb_build_object('id', $1::uuid, 'status', 'sent', 'at',"
                          " to_timestamp($2::bigint / 1e6), 'provider_message_id', 'mid-1',"
                          " 'sent_at', to_timestamp($2::bigint / 1e6), 'delivered_at', NULL,"
                          " 'read_at', NULL, 'error', NULL)::text",
                          d[1], "1795399920000000", NULL));

    /* r2: sent, then the provider reports it failed (by its message id);
     * a failure while courier retries changes nothing. */
    failed("courier", d[2], FACEBOOK, NULL, "5xx", "retrying", false, T0 + 12 * MINUTE);
    sent(d[2], FACEBOOK, "mid-2", T0 + 13 * MINUTE);
    failed("ingest", NULL, FACEBOOK, "mid-2", "131047", "Re-engagement message", true,
           T0 + 35 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[2]), "failed mid-2 131047");

    /* r3 and r4: a read watermark covers r3 (sent before it), whose send
     * comes after the watermark in the log, but not r4 (sent after). */
    receipt(true, FACEBOOK, NULL, "psid-1", T0 + 15 * MINUTE, T0 + 30 * MINUTE);
    catch_up();
    sent(d[3], FACEBOOK, "mid-3", T0 + 14 * MINUTE);
    sent(d[4], FACEBOOK, "mid-4", T0 + 16 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[3]), "read mid-3");
    assert_string_equal(delivery_of(r[4]), "sent mid-4");
    assert_string_equal(delivery_of(r[1]), "read mid-1 100");
    assert_string_equal(delivery_of(r[2]), "failed mid-2 131047"); /* failed after the read */
    /* A later delivery watermark covers r4 too. */
    receipt(false, FACEBOOK, NULL, "psid-1", T0 + 17 * MINUTE, T0 + 31 * MINUTE);
    catch_up();
    assert_string_equal(delivery_of(r[4]), "delivered mid-4");
    assert_string_equal(delivery_of(r[3]), "read mid-3");

    /* A send of something the router never made waits; a survey's is not
     * the router's business. */
    sent("0b9e2a51-43f1-5d2c-9b1a-2f6b3c4d5e6f", FACEBOOK, "mid-x", T0 + 18 * MINUTE);
    Carebus__V1__MessageSent sv = CAREBUS__V1__MESSAGE_SENT__INIT;
    sv.delivery_id = "1c9e2a51-43f1-5d2c-9b1a-2f6b3c4d5e6f";
    sv.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_SURVEY;
    sv.channel = FACEBOOK;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_SENT;
    ev.message_sent = &sv;
    append("courier", &ev, T0 + 18 * MINUTE, NULL);
    /* A message.sent on another stream than courier's is not a send. */
    sv.delivery_id = d[4];
    sv.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY;
    append("ingest", &ev, T0 + 40 * MINUTE, NULL);
    catch_up();
    assert_string_equal(
        q("SELECT string_agg(concat_ws(' ', status, delivery_id, provider_message_id, recipient),"
          " ',' ORDER BY status, provider_message_id) FROM router.delivery_pending",
          NULL),
        "delivered psid-1,read psid-1,sent 0b9e2a51-43f1-5d2c-9b1a-2f6b3c4d5e6f mid-x");
    assert_string_equal(delivery_of(r[4]), "delivered mid-4");

    /* Whatever order the streams are read in, the same state. */
    assert_replay_equal("courier,ingest,sla");
    assert_replay_equal("ingest,sla,courier");
    for (int i = 0; i < 5; i++)
        assert_string_not_equal(delivery_of(r[i]), "queued");
}

/* A migration under the connected router (another service's rolling
 * deploy): a column added to router.tickets, one of router.messages
 * dropped and added again (the order moves, the count stays). The next
 * batch on the same connection puts every value in its column. */
static void test_tables_migrated_under_router(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN];
    say(ZALO, "mig-1", "first", T0, e1);
    catch_up();
    const char *tick = ticket_of(e1);
    assert_string_not_equal(tick, "");
    char t1[ID_LEN + 1];
    snprintf(t1, sizeof t1, "%s", tick);
    exec("ALTER TABLE router.tickets ADD COLUMN migrated_in text DEFAULT 'x'");
    exec("ALTER TABLE router.messages DROP COLUMN agent_id, ADD COLUMN agent_id text");
    say(ZALO, "mig-1", "second", T0 + MINUTE, e2);
    say(ZALO, "mig-3", "third", T0 + 2 * MINUTE, e3);
    catch_up();
    assert_string_equal(ticket_of(e2), t1);
    const char *row = "SELECT concat_ws(' ', channel, direction, text, stream, seq,"
                      " agent_id IS NULL, ticket_id = home_ticket_id OR home_ticket_id IS NULL,"
                      " customer_id IS NOT NULL) FROM router.messages WHERE event_id = $1";
    assert_string_equal(q(row, e2, NULL), "zalo in second ingest 2 t t t");
    assert_string_equal(q(row, e3, NULL), "zalo in third ingest 3 t t t");
    assert_string_equal(tcol(t1, "concat_ws(' ', status, channel, contacts, migrated_in)"),
                        "open zalo 2 x");
    assert_string_equal(tcol(ticket_of(e3), "concat_ws(' ', status, channel, contacts)"),
                        "open zalo 1");
    assert_string_equal(q("SELECT string_agg(kind || '=' || value, ',' ORDER BY value)"
                          " FROM router.identities",
                          NULL),
                        "zalo=mig-1,zalo=mig-3");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zalo_call_email_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_two_open_tickets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_three_and_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity_queue_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tick_applies_waiting_sla, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_and_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_statement_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_from_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bus_contact_without_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_bodies_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_outbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_reply_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_after_merge_in_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acknowledgements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_statuses_in_one_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_migrated_under_router, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("route", tests, group_setup, group_teardown);
}
