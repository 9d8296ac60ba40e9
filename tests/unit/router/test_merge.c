/* test_merge.c — merges a person asks for, unmerges and CRM imports, by the
 * router against a real PostgreSQL (merge.h, unmerge.h, import.h), and the
 * pure rule of an unmerge's ticket chains (unmerge_final).
 *
 * Events are appended to the log with eventlog_append and applied by the
 * production consumer with the router's handlers and flush, as in
 * test_route.c; each scenario ends with a replay from nothing that must
 * equal the live state. Needs CAREBUS_TEST_PG (else the database tests are
 * skipped). Run one test by name: test_merge <name>.
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
#include "consumer.h"
#include "db.h"
#include "eventlog.h"
#include "id.h"
#include "router.h"
#include "testdb.h"
#include "unmerge.h"

/* 2026-11-23T09:00:00+07:00 */
#define T0 INT64_C(1795399200000000)
#define MINUTE INT64_C(60000000)

#define ZALO CAREBUS__V1__CHANNEL__CHANNEL_ZALO
#define FACEBOOK CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK
#define CHAT CAREBUS__V1__CHANNEL__CHANNEL_CHAT
#define VIP CAREBUS__V1__SEGMENT__SEGMENT_VIP
#define WHOLESALE CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE

static db *g_db;
static router *g_router;
static bus *g_bus;
static consumer *g_consumer;

/* --- SQL ------------------------------------------------------------------- */

/* The first cell as text ("" for NULL or no row), in rotating buffers.
 * Parameters end with NULL. */
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

static void append(event *ev, int64_t at, char id[ID_LEN])
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&ts, at);
    ev->occurred_at = &ts;
    struct eventlog_entry e = {.ev = ev};
    assert_int_equal(eventlog_append(g_db, "ingest", &e, 1), 0);
    if (id)
        snprintf(id, ID_LEN, "%s", e.event_id);
    eventlog_entry_release(&e);
}

/* A contact on channel ch by handle (and phone, may be NULL). */
static void say(Carebus__V1__Channel ch, const char *handle, const char *phone, const char *text,
                int64_t at, char id[ID_LEN])
{
    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    ref.handle = or_empty(handle);
    ref.phone = or_empty(phone);
    Carebus__V1__ContactReceived body = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    body.channel = ch;
    body.customer = &ref;
    body.text = (char *)text;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &body;
    append(&ev, at, id);
}

static void status(const char *ticket, Carebus__V1__TicketStatus st, int64_t at)
{
    Carebus__V1__TicketStatusChanged b = CAREBUS__V1__TICKET_STATUS_CHANGED__INIT;
    b.status = st;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED;
    ev.ticket_status_changed = &b;
    ev.ticket_id = (char *)ticket;
    append(&ev, at, NULL);
}

static void merge_tickets(const char *source, const char *into, int64_t at)
{
    Carebus__V1__TicketMergeRequested b = CAREBUS__V1__TICKET_MERGE_REQUESTED__INIT;
    b.into_ticket_id = (char *)into;
    b.actor = "sup-1";
    b.reason = "same question twice";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED;
    ev.ticket_merge_requested = &b;
    ev.ticket_id = (char *)source;
    append(&ev, at, NULL);
}

static void merge_customers(const char *survivor, const char *merged, int64_t at)
{
    Carebus__V1__CustomerMergeRequested b = CAREBUS__V1__CUSTOMER_MERGE_REQUESTED__INIT;
    b.survivor_id = (char *)survivor;
    b.merged_id = (char *)merged;
    b.actor = "sup-1";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED;
    ev.customer_merge_requested = &b;
    append(&ev, at, NULL);
}

static void unmerge(const char *merged, int64_t at)
{
    Carebus__V1__CustomerUnmergeRequested b = CAREBUS__V1__CUSTOMER_UNMERGE_REQUESTED__INIT;
    b.merged_id = (char *)merged;
    b.actor = "sup-1";
    b.reason = "a family sharing one phone";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGE_REQUESTED;
    ev.customer_unmerge_requested = &b;
    append(&ev, at, NULL);
}

static void import(const char *phone, const char *handle, Carebus__V1__Channel ch, const char *name,
                   Carebus__V1__Segment seg, const char *crm, int64_t at, char id[ID_LEN])
{
    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    ref.name = or_empty(name);
    ref.phone = or_empty(phone);
    ref.handle = or_empty(handle);
    Carebus__V1__CustomerImported__AttributesEntry tier =
        CAREBUS__V1__CUSTOMER_IMPORTED__ATTRIBUTES_ENTRY__INIT;
    tier.key = "tier";
    tier.value = "gold";
    Carebus__V1__CustomerImported__AttributesEntry *attrs[] = {&tier};
    Carebus__V1__CustomerImported b = CAREBUS__V1__CUSTOMER_IMPORTED__INIT;
    b.customer = &ref;
    b.channel = ch;
    b.crm_id = or_empty(crm);
    b.segment = seg;
    b.attributes = attrs;
    b.n_attributes = 1;
    b.line = 1;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_IMPORTED;
    ev.customer_imported = &b;
    append(&ev, at, id);
}

/* --- reading back ------------------------------------------------------------- */

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

static const char *ticket_of(const char *event_id)
{
    return q("SELECT ticket_id FROM router.messages WHERE event_id = $1", event_id, NULL);
}

static const char *customer_of(const char *event_id)
{
    return q("SELECT customer_id FROM router.messages WHERE event_id = $1", event_id, NULL);
}

static const char *tcol(const char *ticket, const char *col)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT (%s)::text FROM router.tickets WHERE id = $1", col);
    return q(sql, ticket, NULL);
}

/* The ticket's messages, by their text, in timeline order. */
static const char *texts(const char *ticket)
{
    return q("SELECT string_agg(m->>'text', ',') FROM"
             " jsonb_array_elements(router.ticket_json($1)->'messages') m",
             ticket, NULL);
}

static const char *handles(const char *customer)
{
    return q("SELECT string_agg(kind || '=' || value, ',' ORDER BY kind, value)"
             " FROM router.identities WHERE customer_id = $1",
             customer, NULL);
}

static long count_of(const char *sql)
{
    return strtol(q(sql, NULL), NULL, 10);
}

static const char *dump(void)
{
    return q("SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
             " SELECT 'c ' || c::text AS x FROM router.customers c"
             " UNION ALL SELECT 'i ' || i::text FROM router.identities i"
             " UNION ALL SELECT 't ' || t::text FROM router.tickets t"
             " UNION ALL SELECT 'm ' || m::text FROM router.messages m"
             " UNION ALL SELECT 'n ' || n::text FROM router.notes n"
             " UNION ALL SELECT 'g ' || g::text FROM router.merges g"
             " UNION ALL SELECT 'tm ' || x::text FROM router.ticket_merges x"
             " UNION ALL SELECT 'u ' || u::text FROM router.unmerges u"
             " UNION ALL SELECT 'a ' || a::text FROM router.agents a"
             " UNION ALL SELECT 'e ' || e.event_id || ' ' || e.type || ' ' || e.seq"
             "   FROM eventlog.events e WHERE e.stream = 'router') s",
             NULL);
}

/* --- fixtures -------------------------------------------------------------- */

static int consumer_start(void)
{
    g_bus = bus_new();
    size_t nhandlers;
    const struct consumer_handler *handlers = router_handlers(&nhandlers);
    g_consumer = consumer_new("router", g_db, g_bus, "router", handlers, nhandlers, g_router);
    if (!g_bus || !g_consumer)
        return -1;
    if (consumer_read(g_consumer, "ingest") != 0 || consumer_read(g_consumer, "sla") != 0)
        return -1;
    router_attach(g_router, g_consumer, g_db, g_bus);
    return 0;
}

static void consumer_stop(void)
{
    consumer_destroy(&g_consumer);
    bus_destroy(&g_bus);
}

static int group_setup(void **state)
{
    (void)state;
    if (testdb_open("test_merge", &g_db) != 0)
        return -1;
    if (!g_db)
        return 0;
    unsetenv("CAREBUS_ROUTER_CONFIG");
    unsetenv("CAREBUS_REOPEN_WINDOW_S");
    unsetenv("CAREBUS_ACK_CONFIG");
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

static int setup(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    exec("SELECT router.reset()");
    exec("TRUNCATE eventlog.events, eventlog.offsets");
    exec("UPDATE eventlog.streams SET last_seq = 0");
    g_router->reopen_window_us = (int64_t)ROUTER_REOPEN_WINDOW_S * 1000000;
    return consumer_start();
}

static int teardown(void **state)
{
    (void)state;
    consumer_stop();
    return 0;
}

/* Wipes the router's state and replays the log: it must equal what it
 * was, and no event is emitted again. */
static void assert_replay_equal(void)
{
    char *live = strdup(dump());
    long events = count_of("SELECT count(*) FROM eventlog.events WHERE stream = 'router'");
    exec("SELECT router.reset()");
    consumer_stop();
    assert_int_equal(consumer_start(), 0);
    catch_up();
    const char *again = dump();
    if (strcmp(again, live) != 0) {
        fprintf(stderr, "live:\n%s\n\nreplayed:\n%s\n", live, again);
        fail_msg("the replay differs from the live state");
    }
    assert_int_equal(count_of("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"),
                     events);
    free(live);
}

/* --- the pure rule ------------------------------------------------------------ */

static void test_unmerge_final(void **state)
{
    (void)state;
    /* 0 -> 1 -> 2, 3 alone, 4 -> 2 */
    int next[] = {1, 2, -1, -1, 2};
    assert_int_equal(unmerge_final(next, 5, 0), 2);
    assert_int_equal(unmerge_final(next, 5, 1), 2);
    assert_int_equal(unmerge_final(next, 5, 2), 2);
    assert_int_equal(unmerge_final(next, 5, 3), 3);
    assert_int_equal(unmerge_final(next, 5, 4), 2);
    /* A cycle (never made) ends after n hops instead of looping. */
    int cycle[] = {1, 0};
    int f = unmerge_final(cycle, 2, 0);
    assert_true(f == 0 || f == 1);
}

/* --- ticket merges -------------------------------------------------------------- */

/* A supervisor merges a customer's new ticket into their solved one: the
 * solved one reopens with both conversations, the merged one is closed
 * with a pointer; refusals change nothing. */
static void test_ticket_merge(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    g_router->reopen_window_us = 0; /* a contact after a solve opens a new ticket */
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], e4[ID_LEN];
    say(ZALO, "z-lan", NULL, "máy giặt hỏng", T0, e1);
    catch_up();
    char t1[ID_LEN];
    snprintf(t1, sizeof t1, "%s", ticket_of(e1));
    status(t1, CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED, T0 + MINUTE);
    say(ZALO, "z-lan", NULL, "vẫn hỏng", T0 + 2 * MINUTE, e2);
    say(CHAT, "visitor-x", NULL, "hello", T0 + 3 * MINUTE, e3);
    catch_up();
    char t2[ID_LEN], t3[ID_LEN];
    snprintf(t2, sizeof t2, "%s", ticket_of(e2));
    snprintf(t3, sizeof t3, "%s", ticket_of(e3));
    assert_string_not_equal(t1, t2);

    /* Refused: another customer's ticket, the same ticket. */
    merge_tickets(t3, t2, T0 + 4 * MINUTE);
    merge_tickets(t2, t2, T0 + 4 * MINUTE);
    catch_up();
    assert_string_equal(tcol(t3, "concat_ws(' ', status, merged_into)"), "open");
    assert_string_equal(tcol(t2, "concat_ws(' ', status, merged_into)"), "open");

    merge_tickets(t2, t1, T0 + 5 * MINUTE);
    catch_up();
    assert_string_equal(q("SELECT concat_ws(' ', status, (merged_into::text = $2)::text) FROM"
                          " router.tickets WHERE id = $1",
                          t2, t1, NULL),
                        "closed true");
    assert_string_equal(tcol(t1, "concat_ws(' ', status, contacts, reopened)"), "open 2 1");
    assert_string_equal(texts(t1), "máy giặt hỏng,vẫn hỏng");
    assert_string_equal(q("SELECT string_agg(e->>'kind', ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'timeline') e",
                          t1, NULL),
                        "message,message,ticket.merged,ticket.reopened");
    assert_string_equal(q("SELECT detail->>'actor' FROM router.notes WHERE ticket_id = $1"
                          " AND kind = 'ticket.merged'",
                          t1, NULL),
                        "sup-1");
    /* The facts: closed with a pointer on the merged one, merged on the
     * one that stays; a merge counts once. */
    assert_string_equal(q("SELECT string_agg(type, ',' ORDER BY seq) FROM eventlog.events"
                          " WHERE stream = 'router' AND type IN ('ticket.closed',"
                          " 'ticket.merged', 'ticket.reopened') AND seq > (SELECT max(seq)"
                          " FROM eventlog.events WHERE stream = 'router'"
                          " AND type = 'ticket.queued' AND ticket_id = $1)",
                          t2, NULL),
                        "ticket.closed,ticket.merged,ticket.reopened");
    assert_string_equal(q("SELECT concat_ws(' ', (target_id = $2::uuid)::text, actor, reason)"
                          " FROM router.ticket_merges WHERE source_id = $1",
                          t2, t1, NULL),
                        "true sup-1 same question twice");
    /* A contact on the merged ticket's thread lands on the one that stays. */
    say(ZALO, "z-lan", NULL, "còn đó không", T0 + 6 * MINUTE, e4);
    catch_up();
    assert_string_equal(ticket_of(e4), t1);
    /* Closed: refused. */
    merge_tickets(t1, t2, T0 + 7 * MINUTE);
    catch_up();
    assert_string_equal(tcol(t1, "status"), "open");
    assert_replay_equal();
}

/* --- customer merges and unmerges ----------------------------------------------- */

/* A family sharing one phone: the son's contact with the mother's phone
 * merged them; the supervisor unmerges him. His handle and the ticket he
 * opened go back to him, with his first message; what he said on the
 * mother's ticket while they were one stays there; a later contact naming
 * both handles merges nobody. */
static void test_unmerge_family(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char m1[ID_LEN], s1[ID_LEN], s2[ID_LEN], s3[ID_LEN], s4[ID_LEN];
    say(ZALO, "z-mom", "0901234567", "máy lạnh hỏng", T0, m1);
    say(FACEBOOK, "fb-son", NULL, "tôi muốn đổi trả", T0 + MINUTE, s1);
    catch_up();
    char mom[ID_LEN], son[ID_LEN], tm[ID_LEN], ts[ID_LEN];
    snprintf(mom, sizeof mom, "%s", customer_of(m1));
    snprintf(son, sizeof son, "%s", customer_of(s1));
    snprintf(tm, sizeof tm, "%s", ticket_of(m1));
    snprintf(ts, sizeof ts, "%s", ticket_of(s1));
    /* The son gives the family phone: one customer, one ticket. */
    say(FACEBOOK, "fb-son", "0901 234 567", "số nhà em", T0 + 2 * MINUTE, s2);
    catch_up();
    assert_string_equal(q("SELECT merged_into FROM router.customers WHERE id = $1", son, NULL),
                        mom);
    assert_string_equal(tcol(ts, "merged_into"), tm);
    assert_string_equal(texts(tm), "máy lạnh hỏng,tôi muốn đổi trả,số nhà em");
    assert_string_equal(handles(mom), "facebook=fb-son,phone=+84901234567,zalo=z-mom");

    unmerge(son, T0 + 10 * MINUTE);
    catch_up();
    assert_string_equal(q("SELECT coalesce(merged_into::text, 'none') FROM router.customers"
                          " WHERE id = $1",
                          son, NULL),
                        "none");
    assert_string_equal(handles(son), "facebook=fb-son");
    assert_string_equal(handles(mom), "phone=+84901234567,zalo=z-mom");
    assert_string_equal(q("SELECT router.customer_json($1)->>'id'", son, NULL), son);
    /* His ticket is his again, reopened with his first message; the mother's
     * keeps hers and what was said while they were one. */
    assert_string_equal(tcol(ts, "concat_ws(' ', customer_id, status, merged_into)"),
                        q("SELECT $1::text || ' open'", son, NULL));
    assert_string_equal(texts(ts), "tôi muốn đổi trả");
    assert_string_equal(texts(tm), "máy lạnh hỏng,số nhà em");
    assert_string_equal(tcol(tm, "contacts"), "2");
    assert_string_equal(customer_of(s1), son);
    assert_string_equal(
        q("SELECT count(*) FROM router.messages WHERE home_ticket_id IS NOT NULL", NULL), "0");
    assert_string_equal(q("SELECT count(*)::text || ' ' || count(*) FILTER (WHERE survivor_id ="
                          " $1::uuid AND actor = 'sup-1') FROM router.unmerges",
                          mom, NULL),
                        "1 1");
    assert_string_equal(q("SELECT count(*) FROM router.merges", NULL), "0");
    assert_string_equal(q("SELECT count(*) FROM router.ticket_merges", NULL), "0");
    assert_string_equal(q("SELECT string_agg(e->>'kind', ',') FROM"
                          " jsonb_array_elements(router.ticket_json($1)->'timeline') e"
                          " WHERE e->>'kind' <> 'message'",
                          ts, NULL),
                        "customer.unmerged,ticket.unmerged,ticket.reopened");
    assert_string_equal(q("SELECT payload IS NOT NULL FROM eventlog.events WHERE stream ="
                          " 'router' AND type = 'customer.unmerged' AND customer_id = $1",
                          son, NULL),
                        "t");
    /* Both handles again: kept apart, his own handle says it is him. */
    say(FACEBOOK, "fb-son", "0901234567", "em đây", T0 + 20 * MINUTE, s3);
    say(ZALO, "z-mom", "0901234567", "mẹ đây", T0 + 21 * MINUTE, s4);
    catch_up();
    assert_string_equal(ticket_of(s3), ts);
    assert_string_equal(customer_of(s4), mom);
    assert_string_equal(
        q("SELECT count(*) FROM router.customers WHERE merged_into IS NOT NULL", NULL), "0");
    assert_replay_equal();
}

/* Chains: C merged into B (a person), B into A (a contact); unmerging B
 * brings C back with it; unmerging C then separates C from B. An unmerge
 * of a customer that is not merged changes nothing. */
static void test_unmerge_chain(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char a1[ID_LEN], b1[ID_LEN], c1[ID_LEN], x[ID_LEN];
    say(ZALO, "z-a", "0901111111", "a", T0, a1);
    say(ZALO, "z-b", NULL, "b", T0 + MINUTE, b1);
    say(ZALO, "z-c", NULL, "c", T0 + 2 * MINUTE, c1);
    catch_up();
    char a[ID_LEN], b[ID_LEN], c[ID_LEN], tb[ID_LEN], tc[ID_LEN];
    snprintf(a, sizeof a, "%s", customer_of(a1));
    snprintf(b, sizeof b, "%s", customer_of(b1));
    snprintf(c, sizeof c, "%s", customer_of(c1));
    snprintf(tb, sizeof tb, "%s", ticket_of(b1));
    snprintf(tc, sizeof tc, "%s", ticket_of(c1));
    merge_customers(b, c, T0 + 3 * MINUTE);
    unmerge(a, T0 + 3 * MINUTE); /* not merged: nothing */
    say(ZALO, "z-b", "0901111111", "b is a", T0 + 4 * MINUTE, x);
    catch_up();
    assert_string_equal(q("SELECT string_agg(coalesce(merged_into::text, '-'), ',' ORDER BY"
                          " created_at) FROM router.customers",
                          NULL),
                        q("SELECT concat_ws(',', '-', $1::text, $1::text)", a, NULL));
    assert_string_equal(q("SELECT actor FROM router.merges WHERE merged_id = $1", c, NULL),
                        "sup-1");
    assert_string_equal(q("SELECT count(*) FROM router.unmerges", NULL), "0");

    unmerge(b, T0 + 5 * MINUTE);
    catch_up();
    assert_string_equal(q("SELECT string_agg(coalesce(merged_into::text, '-'), ',' ORDER BY"
                          " created_at) FROM router.customers",
                          NULL),
                        q("SELECT concat_ws(',', '-', '-', $1::text)", b, NULL));
    assert_string_equal(handles(b), "zalo=z-b,zalo=z-c");
    assert_string_equal(handles(a), "phone=+84901111111,zalo=z-a");
    assert_string_equal(
        tcol(tb, "concat_ws(' ', (customer_id = opened_by_customer_id)::text, status)"),
        "true open");
    assert_string_equal(tcol(tc, "merged_into"), tb);
    assert_string_equal(texts(tb), "b,c");

    unmerge(c, T0 + 6 * MINUTE);
    catch_up();
    assert_string_equal(
        q("SELECT count(*) FROM router.customers WHERE merged_into IS NOT NULL", NULL), "0");
    assert_string_equal(handles(c), "zalo=z-c");
    assert_string_equal(texts(tc), "c");
    assert_string_equal(texts(tb), "b");
    assert_string_equal(
        tcol(tc, "concat_ws(' ', (customer_id = opened_by_customer_id)::text, status)"),
        "true open");
    /* A person may merge what an unmerge kept apart. */
    merge_customers(b, c, T0 + 7 * MINUTE);
    catch_up();
    assert_string_equal(q("SELECT merged_into FROM router.customers WHERE id = $1", c, NULL), b);
    assert_replay_equal();
}

/* An unmerge and contacts in one batch: the contacts before it see the
 * merge, those after it do not. */
static void test_unmerge_in_one_batch(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char m1[ID_LEN], s1[ID_LEN], s2[ID_LEN], s3[ID_LEN];
    say(ZALO, "z-mom", "0902222222", "mẹ", T0, m1);
    say(FACEBOOK, "fb-son", NULL, "con", T0 + MINUTE, s1);
    say(FACEBOOK, "fb-son", "0902222222", "con với mẹ", T0 + 2 * MINUTE, s2);
    char son[ID_LEN];
    id_derive2(s1, "customer", son);
    unmerge(son, T0 + 3 * MINUTE);
    say(FACEBOOK, "fb-son", NULL, "con lại đây", T0 + 4 * MINUTE, s3);
    catch_up(); /* one batch */
    assert_string_equal(customer_of(s3), son);
    assert_string_equal(ticket_of(s3), ticket_of(s1));
    assert_string_equal(customer_of(s2), customer_of(m1));
    assert_replay_equal();
}

/* --- imports ---------------------------------------------------------------------- */

/* A VIP from the CRM before their first contact is a VIP from it on; an
 * import that names an existing customer updates it; one that names two
 * customers' handles makes them one. */
static void test_import(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char i1[ID_LEN], i2[ID_LEN], e1[ID_LEN], e2[ID_LEN];
    import("0903333333", NULL, CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED, "Chị Hoa", VIP, "CRM-1",
           T0, i1);
    catch_up();
    char hoa[ID_LEN];
    id_derive2(i1, "customer", hoa);
    assert_string_equal(q("SELECT concat_ws(' ', name, segment, attributes->>'crm_id',"
                          " attributes->>'tier') FROM router.customers WHERE id = $1",
                          hoa, NULL),
                        "Chị Hoa vip CRM-1 gold");
    assert_string_equal(handles(hoa), "phone=+84903333333");
    say(ZALO, "z-hoa", "0903 333 333", "hỏi thông tin", T0 + MINUTE, e1);
    catch_up();
    assert_string_equal(customer_of(e1), hoa);
    assert_string_equal(tcol(ticket_of(e1), "priority_reasons::text LIKE '%segment:vip%'"), "true");
    /* Wholesale now, by her Zalo handle: her open ticket is re-prioritised. */
    import(NULL, "z-hoa", ZALO, NULL, WHOLESALE, "CRM-1", T0 + 2 * MINUTE, i2);
    catch_up();
    assert_string_equal(q("SELECT concat_ws(' ', name, segment) FROM router.customers"
                          " WHERE id = $1",
                          hoa, NULL),
                        "Chị Hoa wholesale");
    assert_string_equal(tcol(ticket_of(e1), "priority_reasons::text LIKE '%segment:wholesale%'"),
                        "true");
    /* Another customer by a chat handle; the CRM says it is her. */
    say(CHAT, "visitor-hoa", NULL, "xin chào", T0 + 3 * MINUTE, e2);
    catch_up();
    assert_string_not_equal(customer_of(e2), hoa);
    import("0903333333", "visitor-hoa", CHAT, NULL, CAREBUS__V1__SEGMENT__SEGMENT_UNSPECIFIED, NULL,
           T0 + 4 * MINUTE, NULL);
    catch_up();
    assert_string_equal(customer_of(e2), hoa);
    assert_string_equal(q("SELECT segment FROM router.customers WHERE id = $1", hoa, NULL),
                        "wholesale");
    assert_replay_equal();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmerge_final),
        cmocka_unit_test_setup_teardown(test_ticket_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmerge_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmerge_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmerge_in_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
