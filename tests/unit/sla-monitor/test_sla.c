/* test_sla.c — sla-monitor against a real PostgreSQL: configuration, the SQL
 * calendar, the consumer (apply.c) and the timers (timers.c). That SQL and C
 * business time agree is tests/unit/libcarebus/test_calendar_sql.c's.
 *
 * Events are appended to the log with eventlog_append and applied by the
 * production consumer (consumer_catch_up with sla_apply); timers fire
 * through sla_timers_on_clock with a file clock that the tests move
 * (CAREBUS_SLA_CLOCK=file:...). An "instance" is an sla context with its own
 * connection, heap and consumer, as a process would have: two of them race
 * on the same timers, and a new one plays the restart after kill -9.
 *
 * Needs CAREBUS_TEST_PG (see tests/with-pg.sh); without it every test is
 * skipped (but the partition of an event, which needs no database). Run one
 * test by name: test_sla <name>.
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
#include <jansson.h>
#include <limits.h>
#include <pthread.h>

#include "bus.h"
#include "consumer.h"
#include "db.h"
#include "eventlog.h"
#include "id.h"
#include "partset.h"
#include "rowset.h"
#include "sla.h"
#include "targets.h"
#include "testdb.h"
#include "timeutil.h"

#define US INT64_C(1000000)
#define MIN (60 * US)
#define HOUR (60 * MIN)

static char g_clock[128], g_config_dir[PATH_MAX + 32];
static db *g_db;

struct inst {
    db *db;
    bus *bus;
    service svc;
    sla *s;
    consumer *c;
};
static struct inst A, B;

/* --- helpers ------------------------------------------------------------------------ */

static int64_t at(const char *rfc3339)
{
    int64_t us;
    if (time_parse_rfc3339(rfc3339, &us) != 0)
        fail_msg("bad time %s", rfc3339);
    return us;
}

static const char *q(const char *sql, ...)
{
    static char bufs[4][65536];
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
        assert_true(strlen(PQgetvalue(res, 0, 0)) < sizeof bufs[0]);
        strcpy(out, PQgetvalue(res, 0, 0));
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

static const char *num(int64_t v)
{
    static char bufs[8][24];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 24, "%lld", (long long)v);
    return b;
}

static void set_clock(const char *rfc3339)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", g_clock);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", rfc3339);
    fclose(fp);
    assert_int_equal(rename(tmp, g_clock), 0);
    if (A.s)
        assert_true(sla_clock_reload(A.s->clock) >= 0);
    if (B.s)
        assert_true(sla_clock_reload(B.s->clock) >= 0);
}

static void inst_open(struct inst *in, bool own_connection)
{
    const char *err = NULL;
    char spec[160];
    snprintf(spec, sizeof spec, "file:%s", g_clock);
    in->db = own_connection ? db_new(testdb_conninfo(), "test_sla_b") : g_db;
    assert_non_null(in->db);
    assert_int_equal(db_ensure(in->db), 0);
    in->bus = bus_new();
    assert_non_null(in->bus);
    in->svc = (service){.name = "sla-monitor", .stream = "sla", .db = in->db, .bus = in->bus};
    in->s = sla_new();
    assert_non_null(in->s);
    in->s->svc = &in->svc;
    in->s->clock = sla_clock_new(spec, &err);
    assert_non_null(in->s->clock);
    in->s->cfg = sla_config_load(in->db);
    assert_non_null(in->s->cfg);
    in->c = consumer_new("sla-monitor", in->db, in->bus, "sla", sla_handlers, sla_nhandlers, in->s);
    assert_non_null(in->c);
    sla_attach(in->s, in->c);
    assert_int_equal(consumer_read(in->c, "ingest"), 0);
    assert_int_equal(consumer_read(in->c, "router"), 0);
    assert_int_equal(consumer_read(in->c, "sla"), 0);
    assert_int_equal(sla_timers_load(in->s), 0);
    in->s->started = true;
}

static void inst_close(struct inst *in)
{
    if (!in->s)
        return;
    consumer_destroy(&in->c);
    sla_destroy(&in->s);
    bus_destroy(&in->bus);
    if (in->db != g_db)
        db_destroy(&in->db);
    memset(in, 0, sizeof *in);
}

static void catch_up(struct inst *in)
{
    assert_int_equal(consumer_catch_up(in->c), 0);
}

static void fire(struct inst *in)
{
    sla_timers_on_clock(in->s);
}

/* --- events ----------------------------------------------------------------------------- */

static void append(const char *stream, event *ev, int64_t when, const char *ticket,
                   const char *customer)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&ts, when);
    ev->occurred_at = &ts;
    ev->ticket_id = (char *)(ticket ? ticket : "");
    ev->customer_id = (char *)(customer ? customer : "");
    struct eventlog_entry e = {.ev = ev};
    assert_int_equal(eventlog_append(g_db, stream, &e, 1), 0);
    eventlog_entry_release(&e);
}

static void ev_opened(const char *ticket, const char *customer, int64_t when)
{
    char contact[ID_LEN];
    id_new(contact);
    Carebus__V1__TicketOpened o = CAREBUS__V1__TICKET_OPENED__INIT;
    o.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    o.contact_event_id = contact;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED;
    e.ticket_opened = &o;
    append("router", &e, when, ticket, customer);
    Carebus__V1__TicketContactAdded c = CAREBUS__V1__TICKET_CONTACT_ADDED__INIT;
    c.contact_event_id = contact;
    event e2 = CAREBUS__V1__ENVELOPE__INIT;
    e2.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED;
    e2.ticket_contact_added = &c;
    append("router", &e2, when, ticket, customer);
}

static void ev_customer(const char *ticket, const char *customer, int64_t when)
{
    char contact[ID_LEN];
    id_new(contact);
    Carebus__V1__TicketContactAdded c = CAREBUS__V1__TICKET_CONTACT_ADDED__INIT;
    c.contact_event_id = contact;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED;
    e.ticket_contact_added = &c;
    append("router", &e, when, ticket, customer);
}

static void ev_reply(const char *ticket, int64_t when, bool internal)
{
    Carebus__V1__AgentReplied r = CAREBUS__V1__AGENT_REPLIED__INIT;
    r.agent_id = "agent-1";
    r.text = "Chào anh/chị";
    r.internal_note = internal;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    e.agent_replied = &r;
    append("ingest", &e, when, ticket, NULL);
}

static void ev_status(const char *ticket, Carebus__V1__TicketStatus st, int64_t when)
{
    Carebus__V1__TicketStatusChanged c = CAREBUS__V1__TICKET_STATUS_CHANGED__INIT;
    c.status = st;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED;
    e.ticket_status_changed = &c;
    append("ingest", &e, when, ticket, NULL);
}

static void ev_reopened(const char *ticket, const char *customer, int64_t when)
{
    Carebus__V1__TicketReopened r = CAREBUS__V1__TICKET_REOPENED__INIT;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED;
    e.ticket_reopened = &r;
    append("router", &e, when, ticket, customer);
}

static void ev_transferred(const char *ticket, const char *customer, int64_t when)
{
    Carebus__V1__TicketTransferred t = CAREBUS__V1__TICKET_TRANSFERRED__INIT;
    t.from_team = "support";
    t.to_team = "technical";
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFERRED;
    e.ticket_transferred = &t;
    append("router", &e, when, ticket, customer);
}

static void ev_profile(const char *customer, Carebus__V1__Segment seg, int64_t when)
{
    Carebus__V1__CustomerProfileUpdated p = CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__INIT;
    p.segment = seg;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED;
    e.customer_profile_updated = &p;
    append("ingest", &e, when, NULL, customer);
}

static long sla_count(const char *type, const char *ticket)
{
    return qlong("SELECT count(*) FROM eventlog.events WHERE stream = 'sla' AND type = $1"
                 " AND ($2 = '' OR ticket_id = $2::uuid)",
                 type, ticket ? ticket : "", NULL);
}

/* Publications of one target (any cycle), from the claim rows written with
 * the events. */
static long emitted_count(const char *ticket, const char *target, const char *kind)
{
    return qlong("SELECT count(*) FROM sla.emitted WHERE ticket_id = $1 AND target = $2"
                 " AND kind = $3",
                 ticket, target, kind, NULL);
}

/* The sla stream's event of a type for a ticket (owned), by order k. */
static event *sla_event(const char *type, const char *ticket, int k)
{
    event *evs[256];
    int n = eventlog_read(g_db, "sla", 0, 256, evs);
    assert_true(n >= 0);
    event *found = NULL;
    for (int i = 0; i < n; i++) {
        if (!found && strcmp(evs[i]->type, type) == 0 && strcmp(evs[i]->ticket_id, ticket) == 0 &&
            k-- == 0) {
            found = evs[i];
            continue;
        }
        event_destroy(&evs[i]);
    }
    if (!found)
        fail_msg("no %s event for ticket %s", type, ticket);
    return found;
}

static const char *target_col(const char *ticket, const char *target, int cycle, const char *col)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT %s::text FROM sla.targets WHERE ticket_id = $1 AND target = $2 AND cycle = $3",
             col);
    return q(sql, ticket, target, num(cycle), NULL);
}

static int64_t target_us(const char *ticket, const char *target, int cycle, const char *col)
{
    char expr[96];
    snprintf(expr, sizeof expr, "(extract(epoch FROM %s) * 1000000)::bigint", col);
    const char *v = target_col(ticket, target, cycle, expr);
    return v[0] ? strtoll(v, NULL, 10) : 0;
}

/* --- fixtures ------------------------------------------------------------------------- */

static void find_config_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(g_config_dir, sizeof g_config_dir, "%s/../../../../deploy/config", exe);
        if (access(g_config_dir, R_OK) == 0)
            return;
    }
    snprintf(g_config_dir, sizeof g_config_dir, "deploy/config");
}

static int group_setup(void **state)
{
    (void)state;
    find_config_dir();
    snprintf(g_clock, sizeof g_clock, "/tmp/test_sla_clock_%ld", (long)getpid());
    return testdb_open("test_sla", &g_db);
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(g_clock);
    if (!g_db)
        return 0;
    testdb_close(&g_db);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    exec("SELECT sla.reset_derived()");
    exec("TRUNCATE eventlog.events, eventlog.streams, eventlog.offsets, sla.clock");
    set_clock("2026-11-23T09:00:00+07:00");
    inst_open(&A, false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    inst_close(&B);
    inst_close(&A);
    return 0;
}

/* Monday 2026-11-23 09:00 +07, regular customer, normal priority, on
 * vn-business: first response 4h -> due 14:00 (lunch 12-13), warning at
 * 80% = 3h12m -> 13:12; next response 8h; resolution 40h. */
#define T0 "2026-11-23T09:00:00+07:00"

/* --- configuration ---------------------------------------------------------------------- */

static void test_seed_equals_shipped_files(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    static const char *const names[] = {"policies", "calendars", "holidays"};
    for (int i = 0; i < 3; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/sla-%s.json", g_config_dir, names[i]);
        json_error_t jerr;
        json_t *file = json_load_file(path, 0, &jerr);
        if (!file)
            fail_msg("%s: %s", path, jerr.text);
        json_t *seed = json_loads(
            q("SELECT document::text FROM sla.config WHERE name = $1", names[i], NULL), 0, &jerr);
        assert_non_null(seed);
        if (!json_equal(file, seed))
            fail_msg("deploy/migrations/0031_sla_seed.sql differs from %s: copy the file into "
                     "the migration",
                     path);
        json_decref(file);
        json_decref(seed);
    }
    /* And loading the files changes nothing. */
    bool changed = true;
    assert_int_equal(sla_config_store_files(g_db, g_config_dir, &changed), 0);
    assert_false(changed);
    /* The shipped defaults: VIP on 24/7 and tighter than regular. */
    assert_string_equal(q("SELECT calendar_id FROM sla.policies WHERE segment = 'vip'", NULL),
                        "24x7");
    assert_true(qlong("SELECT count(*) FROM sla.policy_targets v JOIN sla.policy_targets r"
                      " USING (priority, target) WHERE v.policy_id = 'vip'"
                      " AND r.policy_id = 'regular' AND v.business_secs >= r.business_secs",
                      NULL) == 0);
    assert_int_equal(qlong("SELECT warning_pct FROM sla.policies WHERE id = 'regular'", NULL), 80);
    /* Tết and the national holidays of 2026 and 2027. */
    static const char *const days[] = {"2026-01-01", "2026-02-17", "2026-04-26", "2026-04-30",
                                       "2026-05-01", "2026-09-02", "2027-01-01", "2027-02-06",
                                       "2027-04-16", "2027-04-30", "2027-09-02"};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++)
        if (qlong("SELECT count(*) FROM sla.holidays WHERE set_id = 'vn' AND day = $1::date",
                  days[i], NULL) != 1)
            fail_msg("%s is not a holiday of set vn", days[i]);
}

static void expect_rejected(const char *pol, const char *cal, const char *hol, const char *why)
{
    const char *p[] = {pol, cal, hol};
    PGresult *res =
        db_exec(g_db, "SELECT sla.load_config($1::jsonb, $2::jsonb, $3::jsonb, 'test')", 3, p);
    if (res) {
        PQclear(res);
        fail_msg("accepted a configuration that should fail with \"%s\"", why);
    }
    /* db_exec logged the server's message; check it through a savepoint-free
     * second look: the previous configuration is untouched. */
    assert_string_equal(q("SELECT origin FROM sla.config WHERE name = 'policies'", NULL),
                        "migration 0031_sla_seed.sql");
    assert_int_equal(qlong("SELECT count(*) FROM sla.policies", NULL), 3);
    (void)why;
}

static void test_bad_configuration_is_rejected_and_changes_nothing(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    const char *hol = "{\"sets\": {\"vn\": [{\"date\": \"2026-01-01\", \"name\": \"Tết\"}]}}";
    const char *cal = "{\"calendars\": [{\"id\": \"c\", \"holidays\": [\"vn\"],"
                      " \"hours\": {\"mon\": [\"08:00-12:00\"]}}]}";
    const char *pol = "{\"policies\": [{\"id\": \"r\", \"segment\": \"regular\", \"calendar\":"
                      " \"c\", \"targets\": {\"normal\": {\"first_response\": \"1h30m\"}}}]}";
    /* The good one passes (then the seed is restored). */
    const char *p[] = {pol, cal, hol};
    PGresult *res =
        db_exec(g_db, "SELECT sla.load_config($1::jsonb, $2::jsonb, $3::jsonb, 'ok')", 3, p);
    assert_non_null(res);
    PQclear(res);
    assert_int_equal(
        qlong("SELECT business_secs FROM sla.policy_targets WHERE policy_id = 'r'", NULL), 5400);
    bool changed;
    assert_int_equal(sla_config_store_files(g_db, g_config_dir, &changed), 0);
    assert_true(changed);
    exec("UPDATE sla.config SET origin = 'migration 0031_sla_seed.sql'");

    expect_rejected(pol,
                    "{\"calendars\": [{\"id\": \"c\", \"time_zone\": \"Mars/Base\","
                    " \"hours\": {\"mon\": [\"08:00-12:00\"]}}]}",
                    hol, "unknown time_zone");
    expect_rejected(pol,
                    "{\"calendars\": [{\"id\": \"c\", \"hours\": {\"mon\": [\"08:00-12:00\","
                    " \"11:00-13:00\"]}}]}",
                    hol, "overlap");
    expect_rejected(pol, "{\"calendars\": [{\"id\": \"c\", \"hours\": {\"funday\": []}}]}", hol,
                    "not a weekday");
    expect_rejected(pol, "{\"calendars\": [{\"id\": \"c\"}]}", hol, "never opens");
    expect_rejected(pol,
                    "{\"calendars\": [{\"id\": \"c\", \"holidays\": [\"xx\"],"
                    " \"hours\": {\"mon\": [\"08:00-12:00\"]}}]}",
                    hol, "unknown holiday set");
    expect_rejected(pol, cal, "{\"sets\": {\"vn\": [{\"date\": \"2026-02-30\", \"name\": \"x\"}]}}",
                    "bad date");
    expect_rejected(pol, cal, "{\"sets\": {\"vn\": [{\"date\": \"2026-02-01\"}]}}", "no name");
    expect_rejected("{\"policies\": [{\"id\": \"r\", \"segment\": \"regular\", \"calendar\": "
                    "\"c\", \"targets\": {\"normal\": {\"first_answer\": 60}}}]}",
                    cal, hol, "unknown target");
    expect_rejected("{\"policies\": [{\"id\": \"r\", \"segment\": \"regular\", \"calendar\": "
                    "\"c\", \"targets\": {\"normal\": {\"first_response\": \"soon\"}}}]}",
                    cal, hol, "bad duration");
    expect_rejected("{\"policies\": [{\"id\": \"v\", \"segment\": \"vip\", \"calendar\": \"c\"}]}",
                    cal, hol, "no regular policy");
    expect_rejected("{\"policies\": [{\"id\": \"r\", \"segment\": \"regular\", \"calendar\": "
                    "\"nope\"}]}",
                    cal, hol, "unknown calendar");
    /* A file that is not JSON is refused before reaching PostgreSQL. */
    char dir[] = "/tmp/test_sla_cfg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    static const char *const files[] = {"sla-policies.json", "sla-calendars.json",
                                        "sla-holidays.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(i == 1 ? "{\"calendars\": [" : "{}", fp);
        fclose(fp);
    }
    assert_int_equal(sla_config_store_files(g_db, dir, &changed), -1);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* --- clocks through the consumer ------------------------------------------------------- */

static void test_warning_and_breach_fire_once_at_their_instant(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    catch_up(&A);
    assert_string_equal(target_col(t, "first_response", 0, "status"), "running");
    assert_int_equal(target_us(t, "first_response", 0, "due_at"), at("2026-11-23T14:00:00+07:00"));
    assert_int_equal(target_us(t, "first_response", 0, "warn_at"), at("2026-11-23T13:12:00+07:00"));
    assert_int_equal(target_us(t, "first_response", 0, "next_fire_at"),
                     at("2026-11-23T13:12:00+07:00"));
    assert_true(A.s->heap.n >= 2); /* first response and resolution */

    set_clock("2026-11-23T13:11:59+07:00");
    fire(&A);
    assert_int_equal(sla_count("sla.warning", t), 0);
    set_clock("2026-11-23T13:12:00+07:00");
    fire(&A);
    assert_int_equal(sla_count("sla.warning", t), 1);
    fire(&A);
    catch_up(&A); /* reads its own warning back */
    fire(&A);
    assert_int_equal(sla_count("sla.warning", t), 1);
    assert_string_equal(target_col(t, "first_response", 0, "warned"), "true");
    assert_int_equal(target_us(t, "first_response", 0, "next_fire_at"),
                     at("2026-11-23T14:00:00+07:00"));
    event *w = sla_event("sla.warning", t, 0);
    assert_int_equal(w->sla_warning->target, CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE);
    assert_int_equal(w->sla_warning->cycle, 0);
    assert_int_equal(w->sla_warning->remaining_business_secs, 48 * 60);
    assert_int_equal(event_ts_us(w->sla_warning->due_at), at("2026-11-23T14:00:00+07:00"));
    assert_int_equal(event_ts_us(w->occurred_at), at("2026-11-23T13:12:00+07:00"));
    assert_string_equal(w->customer_id, c);
    char id[ID_LEN];
    sla_event_id(t, CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE, 0, "warning", id);
    assert_string_equal(w->event_id, id);
    event_destroy(&w);

    set_clock("2026-11-23T13:59:59+07:00");
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 0);
    set_clock("2026-11-23T14:00:00+07:00");
    fire(&A);
    fire(&A);
    catch_up(&A);
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 1);
    assert_int_equal(sla_count("sla.escalation", t), 1);
    assert_int_equal(sla_count("sla.warning", t), 1);
    event *b = sla_event("sla.breach", t, 0);
    event *e = sla_event("sla.escalation", t, 0);
    assert_int_equal(event_ts_us(b->sla_breach->due_at), at("2026-11-23T14:00:00+07:00"));
    assert_int_equal(e->sla_escalation->priority, CAREBUS__V1__PRIORITY__PRIORITY_HIGH);
    assert_int_equal(e->sla_escalation->target, CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE);
    assert_string_equal(e->causation_id, b->event_id);
    assert_non_null(strstr(e->sla_escalation->reason, "first_response breached"));
    event_destroy(&b);
    event_destroy(&e);
    assert_string_equal(target_col(t, "first_response", 0, "breached"), "true");
    assert_string_equal(target_col(t, "first_response", 0, "next_fire_at"), "");

    /* The API's view at the test clock (sla.clock): breached, 0 left. */
    json_error_t jerr;
    json_t *j = json_loads(q("SELECT sla.ticket_json($1)::text", t, NULL), 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 2);
    json_t *fr = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(fr, "target")), "first_response");
    assert_true(json_is_true(json_object_get(fr, "breached")));
    assert_true(json_is_true(json_object_get(fr, "warned")));
    assert_int_equal(json_integer_value(json_object_get(fr, "remaining_business_secs")), 0);
    assert_true(json_is_null(json_object_get(fr, "achieved_at")));
    json_t *res = json_array_get(j, 1);
    assert_string_equal(json_string_value(json_object_get(res, "target")), "resolution");
    /* 40h target, 4h used (09-12, 13-14). */
    assert_int_equal(json_integer_value(json_object_get(res, "remaining_business_secs")),
                     36 * 3600);
    assert_true(json_is_false(json_object_get(res, "breached")));
    json_decref(j);
}

static void test_public_reply_stops_first_response_internal_note_does_not(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    ev_reply(t, at("2026-11-23T09:30:00+07:00"), true);
    catch_up(&A);
    assert_string_equal(target_col(t, "first_response", 0, "status"), "running");
    /* A transfer keeps the clocks running. */
    ev_transferred(t, c, at("2026-11-23T09:40:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t, "first_response", 0, "status"), "running");
    assert_int_equal(target_us(t, "first_response", 0, "due_at"), at("2026-11-23T14:00:00+07:00"));
    ev_reply(t, at("2026-11-23T10:00:00+07:00"), false);
    catch_up(&A);
    assert_string_equal(target_col(t, "first_response", 0, "status"), "achieved");
    assert_int_equal(target_us(t, "first_response", 0, "achieved_at"),
                     at("2026-11-23T10:00:00+07:00"));
    assert_string_equal(target_col(t, "first_response", 0, "remaining_business_secs"), "10800");
    set_clock("2026-11-23T15:00:00+07:00");
    fire(&A);
    assert_int_equal(sla_count("sla.warning", NULL), 0);
    assert_int_equal(sla_count("sla.breach", NULL), 0);

    /* Next response: the customer writes again, the clock starts. */
    ev_customer(t, c, at("2026-11-23T15:00:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t, "next_response", 0, "status"), "running");
    /* 8h from Monday 15:00: 2.5h Monday, 4h + 1.5h Tuesday -> 14:30. */
    assert_int_equal(target_us(t, "next_response", 0, "due_at"), at("2026-11-24T14:30:00+07:00"));
}

static void test_pending_pauses_and_the_customer_resumes(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    ev_reply(t, at("2026-11-23T09:10:00+07:00"), false);
    ev_status(t, CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING,
              at("2026-11-23T09:20:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t, "resolution", 0, "status"), "paused");
    assert_string_equal(target_col(t, "resolution", 0, "due_at"), "");
    assert_string_equal(target_col(t, "resolution", 0, "next_fire_at"), "");
    assert_int_equal(strtol(target_col(t, "resolution", 0, "remaining_business_secs"), NULL, 10),
                     40 * 3600 - 20 * 60);
    /* Days pass while pending: nothing fires. */
    set_clock("2026-12-10T09:00:00+07:00");
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 0);
    assert_int_equal(sla_count("sla.warning", t), 0);

    /* The customer answers: resolution resumes with what was left. */
    ev_customer(t, c, at("2026-12-10T09:00:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t, "resolution", 0, "status"), "running");
    const calendar *cal = sla_config_calendar(A.s->cfg, "vn-business");
    int64_t due =
        calendar_add_business_us(cal, at("2026-12-10T09:00:00+07:00"), (40 * 3600 - 20 * 60) * US);
    int64_t warn =
        calendar_add_business_us(cal, at("2026-12-10T09:00:00+07:00"), (32 * 3600 - 20 * 60) * US);
    assert_int_equal(target_us(t, "resolution", 0, "due_at"), due);
    assert_int_equal(target_us(t, "resolution", 0, "warn_at"), warn);
    /* Fires at the resumed instants, not the original ones. */
    char when[TIME_RFC3339_LEN];
    time_format_rfc3339(warn - US, when);
    set_clock(when);
    fire(&A);
    assert_int_equal(emitted_count(t, "resolution", "warning"), 0);
    time_format_rfc3339(warn, when);
    set_clock(when);
    fire(&A);
    assert_int_equal(emitted_count(t, "resolution", "warning"), 1);
    time_format_rfc3339(due - US, when);
    set_clock(when);
    fire(&A);
    assert_int_equal(emitted_count(t, "resolution", "breach"), 0);
    time_format_rfc3339(due, when);
    set_clock(when);
    fire(&A);
    assert_int_equal(emitted_count(t, "resolution", "breach"), 1);
    assert_int_equal(emitted_count(t, "resolution", "warning"), 1);
    /* The customer's message also opened a next response (8h), due first. */
    assert_int_equal(emitted_count(t, "next_response", "breach"), 1);
    assert_int_equal(sla_count("sla.breach", t), 2);
    event *b = sla_event("sla.breach", t, 1);
    assert_int_equal(b->sla_breach->target, CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION);
    assert_int_equal(event_ts_us(b->sla_breach->due_at), due);
    event_destroy(&b);
}

static void test_reopen_restarts_resolution(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    ev_reply(t, at("2026-11-23T09:10:00+07:00"), false);
    ev_status(t, CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED, at("2026-11-23T11:00:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t, "resolution", 0, "status"), "achieved");
    ev_reopened(t, c, at("2026-11-25T09:00:00+07:00"));
    ev_customer(t, c, at("2026-11-25T09:00:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t, "resolution", 1, "status"), "running");
    const calendar *cal = sla_config_calendar(A.s->cfg, "vn-business");
    int64_t due = calendar_add_business_us(cal, at("2026-11-25T09:00:00+07:00"), 40 * HOUR);
    assert_int_equal(target_us(t, "resolution", 1, "due_at"), due);
    char when[TIME_RFC3339_LEN];
    time_format_rfc3339(due, when);
    set_clock(when);
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 2); /* next response 0, resolution 1 */
    event *b0 = sla_event("sla.breach", t, 0), *b1 = sla_event("sla.breach", t, 1);
    bool res1 = (b0->sla_breach->target == CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION &&
                 b0->sla_breach->cycle == 1) ||
                (b1->sla_breach->target == CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION &&
                 b1->sla_breach->cycle == 1);
    assert_true(res1);
    event_destroy(&b0);
    event_destroy(&b1);
    assert_string_equal(target_col(t, "resolution", 0, "breached"), "false");
}

static void test_segment_selects_policy_vip_is_24x7(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN], t2[ID_LEN], c2[ID_LEN];
    id_new(t);
    id_new(c);
    id_new(t2);
    id_new(c2);
    ev_profile(c, CAREBUS__V1__SEGMENT__SEGMENT_VIP, at("2026-11-01T00:00:00+07:00"));
    /* Saturday night: closed for regular customers, not for VIPs. */
    ev_opened(t, c, at("2026-11-28T22:00:00+07:00"));
    ev_opened(t2, c2, at("2026-11-28T22:00:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t, "first_response", 0, "policy_id"), "vip");
    assert_string_equal(target_col(t, "first_response", 0, "calendar_id"), "24x7");
    assert_int_equal(target_us(t, "first_response", 0, "due_at"), at("2026-11-28T23:00:00+07:00"));
    assert_string_equal(target_col(t2, "first_response", 0, "policy_id"), "regular");
    assert_int_equal(target_us(t2, "first_response", 0, "due_at"), at("2026-11-30T12:00:00+07:00"));
    /* The second customer becomes VIP while the ticket is open. */
    ev_profile(c2, CAREBUS__V1__SEGMENT__SEGMENT_VIP, at("2026-11-28T22:30:00+07:00"));
    catch_up(&A);
    assert_string_equal(target_col(t2, "first_response", 0, "policy_id"), "vip");
    assert_int_equal(target_us(t2, "first_response", 0, "due_at"), at("2026-11-28T23:00:00+07:00"));
    assert_string_equal(q("SELECT segment FROM sla.tickets WHERE ticket_id = $1", t2, NULL), "vip");
}

static void test_late_reply_while_down_publishes_the_breach_without_escalation(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    catch_up(&A);
    /* The service is down at 13:12 and 14:00; the reply comes at 14:30. */
    ev_reply(t, at("2026-11-23T14:30:00+07:00"), false);
    set_clock("2026-11-23T15:00:00+07:00");
    catch_up(&A);
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 1);
    assert_int_equal(sla_count("sla.escalation", t), 0);
    assert_int_equal(sla_count("sla.warning", t), 0);
    assert_string_equal(target_col(t, "first_response", 0, "breached"), "true");
    assert_int_equal(
        strtol(target_col(t, "first_response", 0, "remaining_business_secs"), NULL, 10), -30 * 60);
    catch_up(&A);
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 1);
}

static void test_timers_wait_for_the_consumer_to_catch_up(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    catch_up(&A);
    /* The reply is in the log, not yet applied, when the deadline passes. */
    ev_reply(t, at("2026-11-23T13:00:00+07:00"), false);
    set_clock("2026-11-23T14:30:00+07:00");
    fire(&A);
    assert_int_equal(sla_count("sla.warning", t), 0);
    assert_int_equal(sla_count("sla.breach", t), 0);
    assert_true(A.s->armed_at == INT64_MIN); /* retrying */
    catch_up(&A);
    fire(&A);
    assert_int_equal(sla_count("sla.warning", t), 0);
    assert_int_equal(sla_count("sla.breach", t), 0);
    assert_string_equal(target_col(t, "first_response", 0, "status"), "achieved");
}

/* A commit on the instance's connection was cut (its standby away): the
 * timers' transaction is refused while the writers back off (db_begin),
 * the due entries stay, and they fire once the back-off ends. */
static void test_timers_wait_while_the_writers_back_off(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    catch_up(&A);
    setenv("CAREBUS_SYNC_WAIT_MS", "200", 1);
    inst_open(&B, true);
    unsetenv("CAREBUS_SYNC_WAIT_MS");
    assert_int_equal(testdb_slow_commit(B.db), 0);
    testdb_hold_backoff_clock(B.db);
    assert_int_equal(testdb_cut_commit(B.db), 0);
    assert_true(db_backing_off(B.db));

    set_clock("2026-11-23T13:12:00+07:00");
    fire(&B);
    assert_int_equal(sla_count("sla.warning", t), 0);
    assert_true(B.s->armed_at == INT64_MIN); /* retrying */
    testdb_clock_advance(100);               /* the floor's 100 ms pass */
    assert_false(db_backing_off(B.db));
    fire(&B);
    assert_int_equal(sla_count("sla.warning", t), 1);
}

/* --- exactly once: instances and restarts ---------------------------------------------- */

static void test_restart_fires_breach_once_and_no_second_warning(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    catch_up(&A);
    set_clock("2026-11-23T13:30:00+07:00");
    fire(&A);
    assert_int_equal(sla_count("sla.warning", t), 1);
    /* kill -9: the process and its heap vanish; the database stays. */
    inst_close(&A);
    set_clock("2026-11-23T14:00:00+07:00");
    inst_open(&A, false);
    assert_int_equal(A.s->heap.n, 2); /* first response's breach, resolution's warning */
    catch_up(&A);
    fire(&A);
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 1);
    assert_int_equal(sla_count("sla.escalation", t), 1);
    assert_int_equal(sla_count("sla.warning", t), 1);
    /* Even an old build that re-appends the same events changes nothing:
     * the ids are derived, the log keeps the first. */
    inst_close(&A);
    exec("DELETE FROM sla.emitted");
    exec("UPDATE sla.targets SET warned = false, breached = false,"
         " next_fire_at = warn_at WHERE warn_at IS NOT NULL");
    inst_open(&A, false);
    fire(&A);
    assert_int_equal(sla_count("sla.breach", t), 1);
    assert_int_equal(sla_count("sla.warning", t), 1);
}

struct racer {
    struct inst *in;
    int rounds;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < r->rounds; i++)
        sla_timers_on_clock(r->in->s);
    return NULL;
}

static void test_two_instances_emit_each_event_once(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    enum { N = 40 };
    char t[N][ID_LEN], c[ID_LEN];
    id_new(c);
    for (int i = 0; i < N; i++) {
        id_new(t[i]);
        ev_opened(t[i], c, at(T0));
    }
    catch_up(&A);
    inst_open(&B, true); /* loads every timer too */
    assert_int_equal(B.s->heap.n, 2 * N);
    set_clock("2026-11-23T14:00:00+07:00");
    /* Both fire the same due timers at the same time, on two connections. */
    struct racer ra = {&A, 3}, rb = {&B, 3};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, race, &ra), 0);
    assert_int_equal(pthread_create(&tb, NULL, race, &rb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(sla_count("sla.breach", NULL), N);
    assert_int_equal(sla_count("sla.escalation", NULL), N);
    assert_int_equal(sla_count("sla.warning", NULL), 0); /* the breach supersedes it */
    assert_int_equal(qlong("SELECT count(*) FROM sla.emitted", NULL), N);
    /* Each instance reads the other's events back without effect. */
    catch_up(&A);
    catch_up(&B);
    fire(&A);
    fire(&B);
    assert_int_equal(sla_count("sla.breach", NULL), N);
}

static void test_sweep_takes_over_another_instances_timers(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[ID_LEN], c[ID_LEN];
    id_new(t);
    id_new(c);
    ev_opened(t, c, at(T0));
    catch_up(&A); /* A's heap has the timers */
    inst_open(&B, true);
    sla_heap_release(&B.s->heap); /* B never heard of them */
    inst_close(&A);               /* and A dies */
    set_clock("2026-11-23T14:05:00+07:00");
    fire(&B);
    assert_int_equal(sla_count("sla.breach", t), 0);
    assert_int_equal(sla_timers_sweep(B.s), 0);
    assert_int_equal(sla_count("sla.breach", t), 1);
    assert_int_equal(sla_timers_sweep(B.s), 0);
    assert_int_equal(sla_count("sla.breach", t), 1);
}

/* --- replay -------------------------------------------------------------------------------- */

#define SNAPSHOT                                                                                   \
    "coalesce(string_agg(x, E'\\n' ORDER BY x), '') FROM ("                                        \
    " SELECT row_to_json(t)::text AS x FROM sla.targets t"                                         \
    " UNION ALL SELECT row_to_json(e)::text FROM sla.emitted e"                                    \
    " UNION ALL SELECT row_to_json(k)::text FROM sla.tickets k) s"

static const char *snapshot(void)
{
    return q("SELECT " SNAPSHOT, NULL);
}

/* The snapshot of many tickets, by its digest. */
static const char *snapshot_md5(void)
{
    return q("SELECT md5((SELECT " SNAPSHOT "))", NULL);
}

static void test_rebuild_from_the_log_equals_the_live_state(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t1[ID_LEN], t2[ID_LEN], c1[ID_LEN], c2[ID_LEN];
    id_new(t1);
    id_new(t2);
    id_new(c1);
    id_new(c2);
    /* Live: events applied as they come, timers firing in between. */
    ev_opened(t1, c1, at(T0));
    catch_up(&A);
    ev_opened(t2, c2, at("2026-11-23T09:05:00+07:00"));
    catch_up(&A);
    set_clock("2026-11-23T13:20:00+07:00");
    fire(&A); /* two warnings */
    ev_reply(t1, at("2026-11-23T13:30:00+07:00"), false);
    ev_status(t1, CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING,
              at("2026-11-23T13:31:00+07:00"));
    catch_up(&A);
    ev_profile(c2, CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE, at("2026-11-23T13:40:00+07:00"));
    catch_up(&A);
    set_clock("2026-11-24T09:00:00+07:00");
    fire(&A);
    ev_customer(t1, c1, at("2026-11-24T09:10:00+07:00"));
    ev_reply(t2, at("2026-11-24T09:20:00+07:00"), false); /* late */
    ev_status(t2, CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED,
              at("2026-11-24T09:30:00+07:00"));
    catch_up(&A);
    fire(&A);
    catch_up(&A);
    char live[65536];
    snprintf(live, sizeof live, "%s", snapshot());
    long events = qlong("SELECT count(*) FROM eventlog.events", NULL);
    assert_true(sla_count("sla.warning", NULL) >= 2);

    /* Rebuild: wipe, replay the streams one after the other. */
    inst_close(&A);
    exec("SELECT sla.reset_derived()");
    assert_int_equal(qlong("SELECT count(*) FROM sla.targets", NULL), 0);
    inst_open(&A, false);
    catch_up(&A);
    fire(&A);
    catch_up(&A);
    assert_string_equal(snapshot(), live);
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events", NULL), events);
}

/* A batch of many tickets (a catch-up's, a rebuild's) sends its facts and
 * its new target rows by COPY, a small one through the statements' JSON:
 * the same rows either way. And a replay over rows already there (the
 * offsets moved back by hand) fails the COPY, and the events applied one
 * per transaction leave the rows as they were, nothing repeated. */
#define MANY 80
static void test_a_catch_up_batch_copies_its_rows_as_the_live_path_writes_them(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    /* Live: each ticket's events in batches of their own (a few rows). */
    for (int i = 0; i < MANY; i++) {
        char t[ID_LEN], c[ID_LEN];
        id_new(t);
        id_new(c);
        int64_t t0 = at(T0) + (int64_t)i * 60000000;
        ev_opened(t, c, t0);
        catch_up(&A);
        ev_reply(t, t0 + 600000000, false);
        if (i % 2)
            ev_status(t, CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED, t0 + 1200000000);
        catch_up(&A);
    }
    char live[64];
    snprintf(live, sizeof live, "%s", snapshot_md5());
    long facts = qlong("SELECT count(*) FROM sla.ticket_facts", NULL);
    assert_true(facts >= 3 * MANY);
    assert_true(qlong("SELECT count(*) FROM sla.targets", NULL) >= 2 * MANY);

    /* Rebuild: the whole log in one batch. */
    inst_close(&A);
    exec("SELECT sla.reset_derived()");
    inst_open(&A, false);
    catch_up(&A);
    assert_int_equal(qlong("SELECT count(*) FROM sla.ticket_facts", NULL), facts);
    assert_string_equal(snapshot_md5(), live);

    /* Replay over the rows: nothing moves, nothing is published twice. */
    long published = qlong("SELECT count(*) FROM eventlog.events", NULL);
    inst_close(&A);
    exec("DELETE FROM eventlog.offsets WHERE consumer = 'sla-monitor'");
    inst_open(&A, false);
    catch_up(&A);
    assert_int_equal(qlong("SELECT count(*) FROM sla.ticket_facts", NULL), facts);
    assert_int_equal(qlong("SELECT count(*) FROM eventlog.events", NULL), published);
    assert_string_equal(snapshot_md5(), live);
}

/* --- a round of partitions ------------------------------------------------------------ */

#define PARTS 4

/* A partitioned consumer on A's service (as partset.c makes them, without
 * leases: their fencing is test_partset.c's). */
struct parted {
    consumer *cs[PARTS];
};

static void parted_open(struct parted *pp)
{
    for (int p = 0; p < PARTS; p++) {
        char name[32];
        snprintf(name, sizeof name, "sla-monitor/%d", p);
        pp->cs[p] = consumer_new(name, A.db, A.bus, "sla", sla_handlers, sla_nhandlers, A.s);
        assert_non_null(pp->cs[p]);
        consumer_set_partition(pp->cs[p], p, PARTS, sla_part_of);
        sla_attach(A.s, pp->cs[p]);
        assert_int_equal(consumer_track(pp->cs[p], "ingest"), 0);
        assert_int_equal(consumer_track(pp->cs[p], "router"), 0);
        assert_int_equal(consumer_track(pp->cs[p], "sla"), 0);
    }
}

static void parted_close(struct parted *pp)
{
    for (int p = 0; p < PARTS; p++)
        consumer_destroy(&pp->cs[p]);
}

/* Every partition in one round: one transaction (consumer_apply_round). */
static void parted_round(struct parted *pp)
{
    int rcs[PARTS];
    assert_int_equal(consumer_catch_up_shared(pp->cs, PARTS, rcs), 0);
}

/* Each partition alone, as after a round rolled back. */
static void parted_alone(struct parted *pp)
{
    for (int p = 0; p < PARTS; p++)
        assert_int_equal(consumer_catch_up(pp->cs[p]), 0);
}

/* How many times A's session ran a prepared statement (each run plans it). */
static long runs_of(const char *stmt)
{
    return qlong("SELECT coalesce(sum(generic_plans + custom_plans), 0)"
                 " FROM pg_prepared_statements WHERE name = $1",
                 stmt, NULL);
}

/* Wipes what sla-monitor derived and where its partitions stood. */
static void parted_reset(void)
{
    exec("SELECT sla.reset_derived()");
    exec("DELETE FROM eventlog.offsets WHERE consumer LIKE 'sla-monitor/%'");
}

/* The rows left now (pp's partitions applying together) equal those each
 * partition leaves applying alone, from the start; pp is closed. */
static void parted_close_same_as_alone(struct parted *pp)
{
    char together[65536];
    snprintf(together, sizeof together, "%s", snapshot());
    parted_close(pp);
    parted_reset();
    parted_open(pp);
    parted_alone(pp);
    assert_string_equal(snapshot(), together);
    parted_close(pp);
}

static void ticket_in(int part, char *out)
{
    for (int i = 0; i < 10000; i++) {
        id_new(out);
        if (partset_of(out, PARTS) == part)
            return;
    }
    fail_msg("no ticket id in partition %d", part);
}

static void ev_merged(const char *survivor, const char *merged, int64_t when)
{
    Carebus__V1__CustomerMerged m = CAREBUS__V1__CUSTOMER_MERGED__INIT;
    m.survivor_id = (char *)survivor;
    m.merged_id = (char *)merged;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED;
    e.customer_merged = &m;
    append("router", &e, when, NULL, survivor);
}

static void ev_unmerged(const char *survivor, const char *merged, char **tickets, size_t n,
                        int64_t when)
{
    Carebus__V1__CustomerUnmerged u = CAREBUS__V1__CUSTOMER_UNMERGED__INIT;
    u.survivor_id = (char *)survivor;
    u.merged_id = (char *)merged;
    u.ticket_ids = tickets;
    u.n_ticket_ids = n;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGED;
    e.customer_unmerged = &u;
    append("router", &e, when, NULL, merged);
}

static const char *customer_of(const char *ticket)
{
    return q("SELECT customer_id::text FROM sla.tickets WHERE ticket_id = $1", ticket, NULL);
}

/* The partitions of a round stage their events together and the flush
 * writes them with one run of each statement, not one per partition: a
 * segment, a merge and an unmerge (events of every partition) once, for
 * the tickets of every partition, in the order each partition's own
 * would have had them; the rows are those of each partition applying
 * alone. */
static void test_a_round_of_partitions_flushes_once_as_each_would(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char ta[PARTS][ID_LEN], tb[PARTS][ID_LEN], tnew[ID_LEN], c1[ID_LEN], c2[ID_LEN];
    id_new(c1);
    id_new(c2);
    for (int p = 0; p < PARTS; p++) {
        ticket_in(p, ta[p]);
        ticket_in(p, tb[p]);
        ev_opened(ta[p], c1, at(T0));
        ev_opened(tb[p], c2, at(T0));
    }
    ticket_in(1, tnew);
    ev_profile(c1, CAREBUS__V1__SEGMENT__SEGMENT_VIP, at("2026-11-23T09:01:00+07:00"));
    ev_reply(ta[3], at("2026-11-23T09:02:00+07:00"), false);
    ev_merged(c1, c2, at("2026-11-23T09:03:00+07:00"));
    /* Opened through the merged customer's handle after the merge: its own. */
    ev_opened(tnew, c2, at("2026-11-23T09:04:00+07:00"));
    char *back[] = {tb[0], tb[2]};
    ev_unmerged(c1, c2, back, 2, at("2026-11-23T09:05:00+07:00"));

    struct parted pp;
    parted_open(&pp);
    long rec = runs_of("sla_record"), mrg = runs_of("sla_merge"), unm = runs_of("sla_unmerge"),
         rd = runs_of("sla_read_many");
    parted_round(&pp);
    /* Two runs (cut at the merge and the unmerge), each (un)merge once, one
     * recomputation: for the four partitions together. */
    assert_int_equal(runs_of("sla_record") - rec, 2);
    assert_int_equal(runs_of("sla_merge") - mrg, 1);
    assert_int_equal(runs_of("sla_unmerge") - unm, 1);
    assert_int_equal(runs_of("sla_read_many") - rd, 1);
    for (int p = 0; p < PARTS; p++) {
        assert_string_equal(customer_of(ta[p]), c1);
        assert_string_equal(customer_of(tb[p]), p == 0 || p == 2 ? c2 : c1);
        assert_string_equal(target_col(ta[p], "first_response", 0, "policy_id"), "vip");
        assert_int_equal(consumer_offset(pp.cs[p], "router"), 4 * PARTS + 4);
    }
    assert_string_equal(customer_of(tnew), c2);
    /* Each partition applying alone leaves the same rows. */
    parted_close_same_as_alone(&pp);
}

/* A partition ahead of the others (it applied alone, after a round that
 * rolled back) is in the same round as those behind: an event of every
 * partition that it applied already acts, in the round, on the others'
 * tickets only. */
static void test_a_partition_ahead_keeps_its_tickets_out_of_a_merge(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char t[PARTS][ID_LEN], tlate[ID_LEN], c1[ID_LEN], c2[ID_LEN];
    id_new(c1);
    id_new(c2);
    for (int p = 0; p < PARTS; p++) {
        ticket_in(p, t[p]);
        ev_opened(t[p], c2, at(T0));
    }
    ev_merged(c1, c2, at("2026-11-23T09:03:00+07:00"));
    /* Partition 0's ticket through the merged customer's handle, after it. */
    ticket_in(0, tlate);
    ev_opened(tlate, c2, at("2026-11-23T09:04:00+07:00"));
    struct parted pp;
    parted_open(&pp);
    assert_int_equal(consumer_catch_up(pp.cs[0]), 0); /* 0 alone: ahead */
    assert_string_equal(customer_of(tlate), c2);
    assert_string_equal(customer_of(t[0]), c1);
    ev_reply(t[1], at("2026-11-23T09:06:00+07:00"), false);
    parted_round(&pp); /* 0 takes the reply's chunk only; 1-3 the merge too */
    for (int p = 0; p < PARTS; p++)
        assert_string_equal(customer_of(t[p]), c1);
    assert_string_equal(customer_of(tlate), c2);
    parted_close_same_as_alone(&pp);
}

/* The partition of an event (sla_part_of): its ticket's, as eventlog.part_of
 * computes it; every partition for the events about a customer or a team;
 * the first for an event without a ticket. */
static void test_an_event_goes_to_its_tickets_partition(void **state)
{
    (void)state;
    char ticket[ID_LEN];
    id_new(ticket);
    Carebus__V1__TicketOpened o = CAREBUS__V1__TICKET_OPENED__INIT;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED;
    ev.ticket_opened = &o;
    ev.ticket_id = ticket;
    assert_int_equal(sla_part_of(&ev, 8, NULL), partset_of(ticket, 8));
    assert_int_equal(sla_part_of(&ev, 1, NULL), 0);
    ev.ticket_id = (char *)"";
    assert_int_equal(sla_part_of(&ev, 8, NULL), 0);
    static const Carebus__V1__Envelope__BodyCase every[] = {
        CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED,
        CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED,
        CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGED,
        CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED,
    };
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
        event g = CAREBUS__V1__ENVELOPE__INIT;
        g.body_case = every[i];
        g.ticket_id = ticket; /* even with a ticket: about many */
        assert_int_equal(sla_part_of(&g, 8, NULL), CONSUMER_PART_ALL);
    }
}

/* --- target rows read back ------------------------------------------------------------ */

/* A row read back (as the recomputation's lock reads it) is written out as
 * it was written: the recomputation leaves out of its write the rows the
 * fold makes again, by comparing the two. Every status, NULLs and values
 * the table rounds (business seconds). */
static void test_a_target_row_reads_back_as_it_was_written(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    const char *ticket = "7d0b4a52-2b3c-4c1e-9a55-0c9f1e2d3a4b";
    int64_t t0 = at(T0);
    struct sla_target rows[4] = {0};
    const struct sla_row r[4] = {
        {.target = CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE,
         .status = SLA_RUNNING,
         .target_us = 4 * HOUR + 500000,
         .started_at = t0,
         .due_at = t0 + 5 * HOUR,
         .warn_at = t0 + 4 * HOUR + 12 * MIN,
         .next_fire_at = t0 + 4 * HOUR + 12 * MIN,
         .remaining_us = 17},
        {.target = CAREBUS__V1__SLA_TARGET__SLA_TARGET_NEXT_RESPONSE,
         .cycle = 2,
         .status = SLA_PAUSED,
         .target_us = 8 * HOUR,
         .started_at = t0 + 1,
         .due_at = t0 + 9 * HOUR,
         .warn_at = t0 + 8 * HOUR,
         .remaining_us = 3 * HOUR + 1500000},
        {.target = CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION,
         .status = SLA_ACHIEVED,
         .target_us = 40 * HOUR,
         .started_at = t0,
         .due_at = t0 + 41 * HOUR,
         .achieved_at = t0 + 42 * HOUR + 7,
         .remaining_us = -(HOUR + 999999),
         .warned = true,
         .breached = true},
        {.target = CAREBUS__V1__SLA_TARGET__SLA_TARGET_RESOLUTION,
         .cycle = 1,
         .status = SLA_CANCELLED,
         .target_us = 40 * HOUR,
         .started_at = t0,
         .cancelled_at = t0 + MIN,
         .remaining_us = 0},
    };
    rowset w;
    rowset_init(&w, &sla_targets, NULL);
    for (int i = 0; i < 4; i++) {
        snprintf(rows[i].ticket_id, sizeof rows[i].ticket_id, "%s", ticket);
        rows[i].r = r[i];
        rows[i].policy_id = "default";
        rows[i].calendar_id = i == 1 ? "24x7" : "vn-business";
        rows[i].priority = "normal";
        rows[i].segment = "regular";
        rowset_add(&w, &rows[i]);
    }
    buf sql = BUF_INIT;
    assert_int_equal(
        rowset_sql(&sla_targets,
                   "INSERT INTO sla.targets ({@cols}) SELECT {@values x} FROM {@rows $1 x}", &sql),
        0);
    const char *p[] = {rowset_json(&w)};
    assert_int_equal(db_command(g_db, buf_str(&sql), 1, p), 0);
    buf_reset(&sql);
    assert_int_equal(rowset_sql(&sla_targets,
                                "SELECT {@select t} FROM sla.targets t ORDER BY t.target, t.cycle",
                                &sql),
                     0);
    PGresult *res = db_exec(g_db, buf_str(&sql), 0, NULL);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 4);
    rowset_reader rd;
    assert_int_equal(rowset_reader_init(&rd, &sla_targets, res), 0);
    rowset a, b;
    rowset_init(&a, &sla_targets, NULL);
    rowset_init(&b, &sla_targets, NULL);
    /* ORDER BY target, cycle: first_response, next_response, resolution 0, 1 */
    for (int i = 0; i < 4; i++) {
        struct sla_target back = {0};
        assert_int_equal(rowset_read(&rd, i, &back, NULL), 0);
        rowset_clear(&a);
        rowset_clear(&b);
        rowset_add(&a, &rows[i]);
        rowset_add(&b, &back);
        assert_string_equal(rowset_json(&b), rowset_json(&a));
    }
    PQclear(res);
    rowset_release(&a);
    rowset_release(&b);
    rowset_release(&w);
    buf_release(&sql);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_equals_shipped_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_configuration_is_rejected_and_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_warning_and_breach_fire_once_at_their_instant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_public_reply_stops_first_response_internal_note_does_not, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_pauses_and_the_customer_resumes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_restarts_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_selects_policy_vip_is_24x7, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_late_reply_while_down_publishes_the_breach_without_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timers_wait_for_the_consumer_to_catch_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timers_wait_while_the_writers_back_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_fires_breach_once_and_no_second_warning, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_instances_emit_each_event_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_takes_over_another_instances_timers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_from_the_log_equals_the_live_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_catch_up_batch_copies_its_rows_as_the_live_path_writes_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_round_of_partitions_flushes_once_as_each_would,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_partition_ahead_keeps_its_tickets_out_of_a_merge,
                                        setup, teardown),
        cmocka_unit_test(test_an_event_goes_to_its_tickets_partition),
        cmocka_unit_test_setup_teardown(test_a_target_row_reads_back_as_it_was_written, setup,
                                        teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("sla", tests, group_setup, group_teardown);
}
