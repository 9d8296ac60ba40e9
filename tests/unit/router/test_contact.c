/* test_contact.c — services/router/contact.c against a real PostgreSQL.
 *
 * Contacts are appended to the "ingest" stream with eventlog_append and
 * applied by the production consumer (consumer_catch_up with router_apply),
 * so transactions, offsets, retries and emitted events are the real ones.
 *
 * Needs CAREBUS_TEST_PG, a key=value conninfo for a server where its user
 * may create databases ("host=127.0.0.1 port=54320 dbname=carebus
 * user=carebus"); each run creates a throw-away database there and drops
 * it. Without CAREBUS_TEST_PG every test is skipped. Run one test by name:
 * test_contact <name>.
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

/* 2026-11-23T09:00:00+07:00 */
#define T0 INT64_C(1795399200000000)
#define MINUTE INT64_C(60000000)
#define VN "+84901234567"

static char g_admin[512]; /* conninfo of the server */
static char g_dbname[64];
static db *g_db;
static router *g_router;
/* Per test: */
static bus *g_bus;
static consumer *g_consumer;

/* --- SQL helpers ----------------------------------------------------------- */

/* The first cell of a query's answer as text ("" for SQL NULL and for no
 * row), in one of a few rotating static buffers. */
static const char *q(const char *sql, ...)
{
    static char bufs[4][16384];
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

static const char *us_text(int64_t us)
{
    static char bufs[4][24];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%lld", (long long)us);
    return b;
}

#define EPOCH_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* --- events ---------------------------------------------------------------- */

struct contact {
    Carebus__V1__Channel channel;
    const char *name, *phone, *email, *handle;
    const char *text, *subject, *external_id;
    int64_t occurred_us; /* 0: absent */
};

static char *or_empty(const char *s)
{
    return (char *)(s ? s : "");
}

/* Appends a contact to "ingest" (committed at once); its id in id. */
static void append_contact(const struct contact *k, char id[ID_LEN])
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
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &body;
    if (k->occurred_us) {
        event_ts_set(&ts, k->occurred_us);
        ev.occurred_at = &ts;
    }
    struct eventlog_entry e = {.ev = &ev};
    assert_int_equal(eventlog_append(g_db, "ingest", &e, 1), 0);
    if (id)
        snprintf(id, ID_LEN, "%s", e.event_id);
}

static void catch_up(void)
{
    assert_int_equal(consumer_catch_up(g_consumer), 0);
}

static long ingest_offset(void)
{
    return qlong("SELECT coalesce(max(seq), 0) FROM eventlog.offsets"
                 " WHERE consumer = 'router' AND stream = 'ingest'",
                 NULL);
}

/* The router stream's events, in order (owned: free with free_events). */
static int router_events(event **evs, int max)
{
    int n = eventlog_read(g_db, "router", 0, max, evs);
    assert_true(n >= 0);
    return n;
}

static void free_events(event **evs, int n)
{
    for (int i = 0; i < n; i++)
        event_free(&evs[i]);
}

/* --- fixtures -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *base = getenv("CAREBUS_TEST_PG");
    if (!base || !base[0])
        return 0; /* every test skips */
    snprintf(g_admin, sizeof g_admin, "%s", base);
    snprintf(g_dbname, sizeof g_dbname, "carebus_router_test_%ld", (long)getpid());
    PGconn *admin = PQconnectdb(g_admin);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", g_dbname);
    PGresult *res = PQexec(admin, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "test_contact: %s", PQerrorMessage(admin));
    PQclear(res);
    PQfinish(admin);
    if (!ok)
        return -1;
    /* In a key=value conninfo the last dbname wins. */
    char conninfo[640];
    snprintf(conninfo, sizeof conninfo, "%s dbname=%s", g_admin, g_dbname);
    g_db = db_new(conninfo, "test_contact");
    if (!g_db)
        return -1;
    db_set_apply_migrations(g_db, true);
    if (db_ensure(g_db) != 0)
        return -1;
    g_router = router_new();
    return g_router ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    router_destroy(&g_router);
    db_destroy(&g_db);
    PGconn *admin = PQconnectdb(g_admin);
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_dbname);
    PQclear(PQexec(admin, sql));
    PQfinish(admin);
    return 0;
}

/* A new consumer: it keeps its offsets in memory too, so a test that
 * rewinds them in the database starts another. */
static int setup_consumer_only(void)
{
    g_bus = bus_new();
    g_consumer = consumer_new("router", g_db, g_bus, "router", router_apply, g_router);
    if (!g_bus || !g_consumer || consumer_read(g_consumer, "ingest") != 0)
        return -1;
    return 0;
}

/* A clean log and router schema, and a new consumer. */
static int setup(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    exec("TRUNCATE router.messages, router.tickets, router.identities, router.customers,"
         " eventlog.events, eventlog.streams, eventlog.offsets");
    return setup_consumer_only();
}

static int teardown(void **state)
{
    (void)state;
    consumer_destroy(&g_consumer);
    bus_destroy(&g_bus);
    return 0;
}

#define NEED_DB()                                                                                  \
    do {                                                                                           \
        if (!g_db)                                                                                 \
            skip();                                                                                \
    } while (0)

/* --- tests ----------------------------------------------------------------- */

/* A first contact: customer, identities, ticket for the default team, the
 * timeline, and the three events, all derived from the contact. */
static void test_first_contact(void **state)
{
    (void)state;
    NEED_DB();
    char e1[ID_LEN], cust[ID_LEN], tick[ID_LEN];
    struct contact k = {
        .channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO,
        .name = " Lan ",
        .phone = "0901 234 567",
        .email = " Lan@Example.VN",
        .handle = "zalo-uid-1",
        .text = "Tôi cần hỗ trợ",
        .subject = "Đơn hàng",
        .external_id = "m-1",
        .occurred_us = T0,
    };
    append_contact(&k, e1);
    catch_up();
    id_derive2(e1, "customer", cust);
    id_derive2(e1, "ticket", tick);

    assert_string_equal(
        q("SELECT id || ' ' || name || ' ' || " EPOCH_US("created_at") " || ' ' || " EPOCH_US(
              "updated_at") " FROM router.customers",
          NULL),
        q("SELECT $1 || ' Lan ' || $2 || ' ' || $2", cust, us_text(T0), NULL));
    assert_string_equal(q("SELECT string_agg(kind || '=' || value, ',' ORDER BY kind)"
                          " FROM router.identities WHERE customer_id = $1",
                          cust, NULL),
                        "email=lan@example.vn,phone=" VN ",zalo=zalo-uid-1");
    assert_string_equal(
        q("SELECT concat_ws(' ', id, customer_id, status, team, coalesce(assignee, '-'),"
          " channel, subject, opened_event_id, " EPOCH_US("created_at") ")"
                                                                        " FROM router.tickets",
          NULL),
        q("SELECT concat_ws(' ', $1::text, $2::text, 'open support - zalo Đơn hàng', $3::text,"
          " $4::text)",
          tick, cust, e1, us_text(T0), NULL));
    assert_string_equal(
        q("SELECT concat_ws(' ', event_id, ticket_id, customer_id, channel, direction,"
          " external_id, subject, text, " EPOCH_US("at") ", stream, seq) FROM router.messages",
          NULL),
        q("SELECT concat_ws(' ', $1::text, $2::text, $3::text, 'zalo in m-1 Đơn hàng',"
          " 'Tôi cần hỗ trợ', $4::text, 'ingest 1')",
          e1, tick, cust, us_text(T0), NULL));
    assert_int_equal(ingest_offset(), 1);

    event *evs[8];
    int n = router_events(evs, 8);
    assert_int_equal(n, 3);
    assert_int_equal(evs[0]->body_case, CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED);
    assert_string_equal(evs[0]->ticket_opened->contact_event_id, e1);
    assert_string_equal(evs[0]->ticket_opened->subject, "Đơn hàng");
    assert_int_equal(evs[0]->ticket_opened->channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_int_equal(evs[1]->body_case, CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED);
    assert_string_equal(evs[1]->ticket_contact_added->contact_event_id, e1);
    assert_int_equal(evs[1]->ticket_contact_added->channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_int_equal(evs[2]->body_case, CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED);
    assert_string_equal(evs[2]->ticket_assigned->team, "support");
    assert_string_equal(evs[2]->ticket_assigned->agent_id, "");
    for (int i = 0; i < n; i++) {
        assert_string_equal(evs[i]->customer_id, cust);
        assert_string_equal(evs[i]->ticket_id, tick);
        assert_string_equal(evs[i]->causation_id, e1);
        assert_true(event_ts_us(evs[i]->occurred_at) == T0);
        assert_int_equal(evs[i]->seq, i + 1);
    }
    free_events(evs, n);
}

/* The customer writes again on other channels, spelling the phone
 * differently: one customer, one ticket, a timeline in order. */
static void test_other_channels_join_ticket(void **state)
{
    (void)state;
    NEED_DB();
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], cust[ID_LEN], tick[ID_LEN];
    struct contact k1 = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO,
                         .phone = "0901234567",
                         .handle = "zalo-uid-1",
                         .text = "one",
                         .occurred_us = T0};
    struct contact k2 = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_PHONE,
                         .name = "Nguyễn Thị Lan",
                         .handle = "+84 90 123 4567",
                         .text = "two",
                         .occurred_us = T0 + MINUTE};
    struct contact k3 = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_EMAIL,
                         .phone = "84901234567",
                         .handle = "LAN@example.vn",
                         .subject = "Re: đơn hàng",
                         .text = "three",
                         .occurred_us = T0 + 2 * MINUTE};
    append_contact(&k1, e1);
    append_contact(&k2, e2);
    append_contact(&k3, e3);
    catch_up();
    id_derive2(e1, "customer", cust);
    id_derive2(e1, "ticket", tick);

    assert_int_equal(qlong("SELECT count(*) FROM router.customers", NULL), 1);
    /* The first contact had no name: a later one gives it. */
    assert_string_equal(
        q("SELECT name || ' ' || " EPOCH_US("updated_at") " FROM router.customers", NULL),
        q("SELECT 'Nguyễn Thị Lan ' || $1", us_text(T0 + MINUTE), NULL));
    assert_string_equal(q("SELECT string_agg(kind || '=' || value, ',' ORDER BY kind)"
                          " FROM router.identities WHERE customer_id = $1",
                          cust, NULL),
                        "email=lan@example.vn,phone=" VN ",zalo=zalo-uid-1");
    assert_int_equal(qlong("SELECT count(*) FROM router.tickets", NULL), 1);
    assert_string_equal(q("SELECT string_agg(channel || ':' || text, ',' ORDER BY at, seq)"
                          " FROM router.messages WHERE ticket_id = $1",
                          tick, NULL),
                        "zalo:one,phone:two,email:three");
    assert_string_equal(q("SELECT " EPOCH_US("updated_at") " FROM router.tickets", NULL),
                        us_text(T0 + 2 * MINUTE));

    event *evs[8];
    int n = router_events(evs, 8);
    assert_int_equal(n, 5);
    assert_int_equal(evs[3]->body_case, CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED);
    assert_string_equal(evs[3]->ticket_contact_added->contact_event_id, e2);
    assert_int_equal(evs[3]->ticket_contact_added->channel, CAREBUS__V1__CHANNEL__CHANNEL_PHONE);
    assert_string_equal(evs[4]->ticket_contact_added->contact_event_id, e3);
    assert_string_equal(evs[4]->ticket_id, tick);
    assert_true(event_ts_us(evs[4]->occurred_at) == T0 + 2 * MINUTE);
    free_events(evs, n);
}

/* Handles of two customers: the oldest gets the contact and the handles
 * nobody owns; the other keeps its own (merge is issue 4). */
static void test_two_customers_oldest_wins(void **state)
{
    (void)state;
    NEED_DB();
    char ea[ID_LEN], eb[ID_LEN], ec[ID_LEN], ca[ID_LEN], cb[ID_LEN], ta[ID_LEN];
    /* B's contact comes first in the log but happened later. */
    struct contact kb = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK,
                         .handle = "psid-b",
                         .text = "b",
                         .occurred_us = T0 + MINUTE};
    struct contact ka = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO,
                         .handle = "uid-a",
                         .phone = "0901234567",
                         .text = "a",
                         .occurred_us = T0};
    struct contact kc = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK,
                         .handle = "psid-b",
                         .phone = "+84901234567",
                         .email = "c@example.vn",
                         .text = "c",
                         .occurred_us = T0 + 2 * MINUTE};
    append_contact(&kb, eb);
    append_contact(&ka, ea);
    append_contact(&kc, ec);
    catch_up();
    id_derive2(ea, "customer", ca);
    id_derive2(eb, "customer", cb);
    id_derive2(ea, "ticket", ta);

    assert_int_equal(qlong("SELECT count(*) FROM router.customers", NULL), 2);
    assert_string_equal(q("SELECT string_agg(kind || '=' || value, ',' ORDER BY kind)"
                          " FROM router.identities WHERE customer_id = $1",
                          ca, NULL),
                        "email=c@example.vn,phone=" VN ",zalo=uid-a");
    assert_string_equal(q("SELECT string_agg(kind || '=' || value, ',' ORDER BY kind)"
                          " FROM router.identities WHERE customer_id = $1",
                          cb, NULL),
                        "facebook=psid-b");
    assert_string_equal(q("SELECT ticket_id || ' ' || customer_id FROM router.messages"
                          " WHERE event_id = $1",
                          ec, NULL),
                        q("SELECT $1 || ' ' || $2", ta, ca, NULL));
    assert_int_equal(qlong("SELECT count(*) FROM router.tickets", NULL), 2);
}

/* A closed ticket takes no more contacts; a solved one still does (the
 * reopen window is issue 4). */
static void test_closed_ticket_opens_new(void **state)
{
    (void)state;
    NEED_DB();
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN], t1[ID_LEN], t2[ID_LEN];
    struct contact k = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_SMS,
                        .handle = "0901234567",
                        .text = "x",
                        .occurred_us = T0};
    append_contact(&k, e1);
    catch_up();
    id_derive2(e1, "ticket", t1);
    exec("UPDATE router.tickets SET status = 'solved'");
    k.occurred_us += MINUTE;
    append_contact(&k, e2);
    catch_up();
    assert_string_equal(q("SELECT ticket_id FROM router.messages WHERE event_id = $1", e2, NULL),
                        t1);
    exec("UPDATE router.tickets SET status = 'closed'");
    k.occurred_us += MINUTE;
    append_contact(&k, e3);
    catch_up();
    id_derive2(e3, "ticket", t2);
    assert_string_equal(q("SELECT ticket_id FROM router.messages WHERE event_id = $1", e3, NULL),
                        t2);
    assert_string_equal(q("SELECT status || ' ' || team || ' ' || channel FROM router.tickets"
                          " WHERE id = $1",
                          t2, NULL),
                        "open support sms");
    assert_int_equal(qlong("SELECT count(*) FROM router.customers", NULL), 1);
    /* opened, added, assigned; added; opened, added, assigned */
    event *evs[10];
    int n = router_events(evs, 10);
    assert_int_equal(n, 7);
    assert_int_equal(evs[4]->body_case, CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED);
    assert_string_equal(evs[4]->ticket_id, t2);
    free_events(evs, n);
}

/* A contact without a usable handle is skipped with nothing written; a bad
 * field beside a good one is ignored. */
static void test_unusable_handles(void **state)
{
    (void)state;
    NEED_DB();
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN];
    struct contact bad = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO,
                          .phone = "call me",
                          .email = "lan@",
                          .text = "x",
                          .occurred_us = T0};
    struct contact none = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_CHAT, .occurred_us = T0};
    struct contact some = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_CHAT,
                           .phone = "12",
                           .handle = "visitor-1",
                           .occurred_us = T0};
    append_contact(&bad, e1);
    append_contact(&none, e2);
    append_contact(&some, e3);
    catch_up();
    assert_int_equal(ingest_offset(), 3);
    assert_int_equal(qlong("SELECT count(*) FROM router.customers", NULL), 1);
    assert_string_equal(
        q("SELECT string_agg(kind || '=' || value, ',') FROM router.identities", NULL),
        "chat=visitor-1");
    assert_string_equal(q("SELECT event_id FROM router.messages", NULL), e3);
}

/* Without occurred_at the contact's time is the log's recorded_at. */
static void test_time_from_log(void **state)
{
    (void)state;
    NEED_DB();
    char e1[ID_LEN];
    struct contact k = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_STORE, .handle = "card-7"};
    append_contact(&k, e1);
    catch_up();
    const char *recorded =
        q("SELECT " EPOCH_US("recorded_at") " FROM eventlog.events WHERE event_id = $1", e1, NULL);
    assert_string_equal(q("SELECT " EPOCH_US("at") " FROM router.messages", NULL), recorded);
    assert_string_equal(q("SELECT " EPOCH_US("created_at") " FROM router.customers", NULL),
                        recorded);
    assert_string_equal(
        q("SELECT " EPOCH_US("occurred_at") " FROM eventlog.events"
                                            " WHERE stream = 'router' AND type = 'ticket.opened'",
          NULL),
        recorded);
}

/* The live path: a contact from the bus, which may carry neither time (the
 * log sets recorded_at on what it reads, a publisher need not), takes the
 * log's recorded_at, as a replay from the log will. */
static void test_bus_contact_without_times(void **state)
{
    (void)state;
    NEED_DB();
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/carebus-test-contact-%ld.ipc", (long)getpid());
    setenv("CAREBUS_BUS_INGEST", endpoint, 1);
    bus *pub = bus_new();
    assert_non_null(pub);
    assert_int_equal(bus_bind(pub, endpoint), 0);
    /* The fixture's consumer subscribed to the default endpoint. */
    teardown(state);
    assert_int_equal(setup_consumer_only(), 0);
    unsetenv("CAREBUS_BUS_INGEST");

    Carebus__V1__CustomerRef ref = CAREBUS__V1__CUSTOMER_REF__INIT;
    ref.handle = "visitor-9";
    Carebus__V1__ContactReceived body = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    body.channel = CAREBUS__V1__CHANNEL__CHANNEL_CHAT;
    body.customer = &ref;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &body;
    struct eventlog_entry e = {.ev = &ev};
    assert_int_equal(eventlog_append(g_db, "ingest", &e, 1), 0);
    assert_null(ev.recorded_at);
    assert_null(ev.occurred_at);
    /* A subscriber misses what is sent before it has joined: resend until
     * it applies (a repeat is dropped as already applied). */
    for (int i = 0; i < 500 && consumer_applied(g_consumer) == 0; i++) {
        assert_int_equal(bus_publish(pub, &ev), 0);
        usleep(10000);
        assert_int_equal(consumer_on_bus(g_consumer), 0);
    }
    bus_destroy(&pub);
    unlink(endpoint + strlen("ipc://"));
    assert_int_equal(consumer_applied(g_consumer), 1);
    assert_string_equal(q("SELECT " EPOCH_US("at") " FROM router.messages", NULL),
                        q("SELECT " EPOCH_US("recorded_at") " FROM eventlog.events"
                                                            " WHERE event_id = $1",
                          e.event_id, NULL));
}

/* The router's state as text, every row and column, in a stable order. */
static const char *dump(void)
{
    return q("SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
             " SELECT 'c ' || c::text AS x FROM router.customers c"
             " UNION ALL SELECT 'i ' || i::text FROM router.identities i"
             " UNION ALL SELECT 't ' || t::text FROM router.tickets t"
             " UNION ALL SELECT 'm ' || m::text FROM router.messages m) s",
             NULL);
}

/* Rebuilding from the log gives the same rows and emits nothing new. */
static void test_replay_rebuilds_same_state(void **state)
{
    (void)state;
    NEED_DB();
    struct contact ks[] = {
        {.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO,
         .name = "Lan",
         .phone = "0901234567",
         .handle = "z-1",
         .text = "a",
         .occurred_us = T0},
        {.channel = CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK,
         .handle = "f-2",
         .text = "b",
         .occurred_us = T0 + 1},
        {.channel = CAREBUS__V1__CHANNEL__CHANNEL_PHONE, .handle = "+84 901 234 567", .text = "c"},
        {.channel = CAREBUS__V1__CHANNEL__CHANNEL_EMAIL,
         .handle = "x@y.vn",
         .phone = "0901234567",
         .subject = "s",
         .occurred_us = T0 + 3},
        {.channel = CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP,
         .handle = "14155550123",
         .occurred_us = T0 + 4},
    };
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        append_contact(&ks[i], NULL);
    catch_up();
    char *live = strdup(dump());
    long events = qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'", NULL);
    assert_int_equal(events, 3 * 3 + 2); /* three customers, two joins */

    exec("TRUNCATE router.messages, router.tickets, router.identities, router.customers");
    exec("DELETE FROM eventlog.offsets WHERE consumer = 'router'");
    teardown(state);
    assert_int_equal(setup_consumer_only(), 0);
    catch_up();
    assert_string_equal(dump(), live);
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'", NULL),
                     events);
    free(live);
}

/* A statement that fails rolls the contact back whole: the consumer retries
 * it alone and skips it, and its neighbours in the batch apply. */
static void test_failed_statement_rolls_back(void **state)
{
    (void)state;
    NEED_DB();
    exec("CREATE FUNCTION public.poison() RETURNS trigger LANGUAGE plpgsql AS"
         " $$BEGIN IF NEW.text = 'poison' THEN RAISE 'poisoned'; END IF; RETURN NEW; END$$");
    exec("CREATE TRIGGER poison BEFORE INSERT ON router.messages"
         " FOR EACH ROW EXECUTE FUNCTION public.poison()");
    char e1[ID_LEN], e2[ID_LEN], e3[ID_LEN];
    struct contact k = {.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO, .occurred_us = T0};
    k.handle = "good-1";
    k.text = "fine";
    append_contact(&k, e1);
    k.handle = "bad-2";
    k.text = "poison";
    append_contact(&k, e2);
    k.handle = "good-3";
    k.text = "fine";
    append_contact(&k, e3);
    catch_up();
    exec("DROP TRIGGER poison ON router.messages");
    exec("DROP FUNCTION public.poison()");
    assert_int_equal(ingest_offset(), 3);
    assert_string_equal(
        q("SELECT string_agg(value, ',' ORDER BY value) FROM router.identities", NULL),
        "good-1,good-3");
    assert_int_equal(qlong("SELECT count(*) FROM router.customers", NULL), 2);
    assert_int_equal(qlong("SELECT count(*) FROM router.tickets", NULL), 2);
    assert_int_equal(qlong("SELECT count(*) FROM router.messages", NULL), 2);
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'", NULL),
                     6);
}

/* Bodies without a handler are acknowledged and change nothing. */
static void test_other_bodies_ignored(void **state)
{
    (void)state;
    NEED_DB();
    Carebus__V1__AgentPresence p = CAREBUS__V1__AGENT_PRESENCE__INIT;
    p.agent_id = "agent-1";
    p.presence = CAREBUS__V1__PRESENCE__PRESENCE_ONLINE;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE;
    ev.agent_presence = &p;
    struct eventlog_entry e = {.ev = &ev};
    assert_int_equal(eventlog_append(g_db, "ingest", &e, 1), 0);
    catch_up();
    assert_int_equal(ingest_offset(), 1);
    assert_int_equal(qlong("SELECT count(*) FROM router.customers", NULL), 0);
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'router'", NULL),
                     0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_channels_join_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_customers_oldest_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_ticket_opens_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_from_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bus_contact_without_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_rebuilds_same_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_statement_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_bodies_ignored, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("contact", tests, group_setup, group_teardown);
}
