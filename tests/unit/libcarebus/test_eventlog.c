/* test_eventlog.c — pack once, and one handler table for consumers.
 *
 * Against a throw-away database of CAREBUS_TEST_PG (skipped without one):
 *  - an entry packs its envelope once, only reading it; after the append
 *    its bytes are, byte for byte, what a reader of the log reconstructs
 *    from the row (eventlog_wire), and unpack to what eventlog_read gives;
 *  - duplicates, a seal by hand, and the failure paths of packing;
 *  - a batch appended in a transaction of its own counts what it appended,
 *    and is refused while its connection's writers back off (a service's
 *    timers: router's offline agents and retention); payload and data key
 *    arrays of another length than the rows are refused;
 *  - the statement a group commit sends without blocking, prepared once
 *    and then sent by name, appends and finds a repeat as the unnamed one
 *    does;
 *  - eventlog.settled_last_seq waits for an append in flight and then
 *    holds nothing: the next append does not wait for the reader;
 *  - within a batch, recorded_at never goes down as seq goes up, even when
 *    the batch's idempotency keys sort against its order;
 *  - a batch with duplicates of every kind (a key or an event id in the log,
 *    a key repeated in the batch) returns each with the first's id, seq and
 *    recorded_at; its fresh rows take gapless seqs and alone a data key;
 *  - with a master key, personal fields are sealed in the log with their
 *    key in privacy.datakeys, read back plain (also a row opened by
 *    eventlog_event_row), and read as erased once the key is deleted;
 *  - a consumer dispatches through its table: a body with no entry, or from
 *    another stream than its entry names, is acknowledged unread; what a
 *    handler emits is appended, and the bytes published on the bus are the
 *    log's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "bus.h"
#include "consumer.h"
#include "db.h"
#include "eventlog.h"
#include "id.h"
#include "testdb.h"

static db *g_db;

static int group_setup(void **state)
{
    (void)state;
    return testdb_open("test_eventlog", &g_db);
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g_db)
        return 0;
    testdb_close(&g_db);
    return 0;
}

/* A contact on its own stack storage. */
struct contact {
    event ev;
    Carebus__V1__ContactReceived body;
    Carebus__V1__CustomerRef ref;
    Google__Protobuf__Timestamp at;
};

static void contact_init(struct contact *c, const char *handle)
{
    carebus__v1__envelope__init(&c->ev);
    carebus__v1__contact_received__init(&c->body);
    carebus__v1__customer_ref__init(&c->ref);
    google__protobuf__timestamp__init(&c->at);
    c->ref.handle = (char *)handle;
    c->body.channel = CAREBUS__V1__CHANNEL__CHANNEL_CHAT;
    c->body.customer = &c->ref;
    c->body.text = "xin chào";
    c->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    c->ev.contact_received = &c->body;
    event_ts_set(&c->at, INT64_C(1795399200123456));
    c->ev.occurred_at = &c->at;
}

/* The stored payload of (stream, seq), unescaped (caller frees). */
static uint8_t *stored_payload(const char *stream, uint64_t seq, size_t *len, int64_t *rec)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)seq);
    const char *p[] = {stream, s};
    PGresult *r = db_exec(g_db,
                          "SELECT payload, (extract(epoch FROM recorded_at) * 1000000)::bigint"
                          " AS recorded_us FROM eventlog.events WHERE stream = $1 AND seq = $2",
                          2, p);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    size_t n;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)db_value(r, 0, "payload"), &n);
    *rec = strtoll(db_value(r, 0, "recorded_us"), NULL, 10);
    uint8_t *out = malloc(n);
    memcpy(out, bytes, n);
    *len = n;
    PQfreemem(bytes);
    PQclear(r);
    return out;
}

static void assert_same_event(const event *a, const event *b)
{
    size_t la, lb;
    uint8_t *pa = event_pack(a, &la), *pb = event_pack(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
}

/* --- pack once ------------------------------------------------------------------------ */

static void test_pack_once_bytes_equal_the_log(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    struct contact c;
    contact_init(&c, "visitor-1");
    uint64_t last;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &last), 0);
    struct eventlog_entry e = {.ev = &c.ev, .idem_scope = "test", .idem_key = "k-1"};
    assert_int_equal(eventlog_append(g_db, "ingest", &e, 1), 0);
    /* Only read: the caller's envelope is as it was. */
    assert_string_equal(c.ev.event_id, "");
    assert_string_equal(c.ev.stream, "");
    assert_string_equal(c.ev.type, "");
    assert_int_equal(c.ev.seq, 0);
    assert_null(c.ev.recorded_at);
    assert_true(id_valid(e.event_id));
    assert_string_equal(e.type, "contact.received");
    assert_int_equal(e.seq, last + 1);
    assert_false(e.duplicate);
    assert_true(e.wire_len > e.payload_len);

    /* The bytes handed back = the stored payload completed from its row. */
    size_t plen, wlen;
    int64_t rec;
    uint8_t *payload = stored_payload("ingest", e.seq, &plen, &rec);
    assert_int_equal(plen, e.payload_len);
    assert_memory_equal(payload, e.wire, plen);
    assert_int_equal(rec, e.recorded_us);
    uint8_t *wire = eventlog_wire(payload, plen, "ingest", e.seq, rec, &wlen);
    assert_int_equal(wlen, e.wire_len);
    assert_memory_equal(wire, e.wire, wlen);

    /* They unpack to what the log's readers get. */
    event *pub = event_unpack(e.wire, e.wire_len);
    assert_non_null(pub);
    assert_string_equal(pub->stream, "ingest");
    assert_int_equal(pub->seq, e.seq);
    assert_string_equal(pub->event_id, e.event_id);
    assert_int_equal(event_ts_us(pub->recorded_at), e.recorded_us);
    event *read[4];
    assert_int_equal(eventlog_read(g_db, "ingest", last, 4, read), 1);
    assert_same_event(pub, read[0]);
    event_destroy(&read[0]);
    event_destroy(&pub);
    free(wire);
    free(payload);

    /* The same key again: a duplicate with the first event's id and seq. */
    struct eventlog_entry again = {.ev = &c.ev, .idem_scope = "test", .idem_key = "k-1"};
    assert_int_equal(eventlog_append(g_db, "ingest", &again, 1), 0);
    assert_true(again.duplicate);
    assert_string_equal(again.event_id, e.event_id);
    assert_int_equal(again.seq, e.seq);
    eventlog_entry_release(&again);
    eventlog_entry_release(&e);
    assert_null(e.wire);
}

/* --- sent without blocking, by name ------------------------------------------------------ */

/* The last result of what was sent on conn (the non-blocking send flushed). */
static PGresult *sent_result(PGconn *conn)
{
    while (PQflush(conn) == 1)
        ;
    PGresult *r, *last = NULL;
    while ((r = PQgetResult(conn))) {
        PQclear(last);
        last = r;
    }
    return last;
}

static void test_append_prepared(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    PGconn *conn = db_conn(g_db);
    assert_non_null(conn);
    assert_int_equal(eventlog_append_prepare_send(conn), 0);
    PGresult *r = sent_result(conn);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);

    struct contact c;
    contact_init(&c, "visitor-p");
    uint64_t last;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &last), 0);
    struct eventlog_entry e = {.ev = &c.ev, .idem_scope = "test", .idem_key = "prepared-1"};
    assert_int_equal(eventlog_append_send(conn, "ingest", &e, 1, true), 0);
    r = sent_result(conn);
    assert_int_equal(eventlog_append_result(r, "ingest", &e, 1), 0);
    PQclear(r);
    assert_false(e.duplicate);
    assert_int_equal(e.seq, last + 1);

    /* By name and unnamed alike, the same key is a repeat of the first. */
    for (int named = 0; named < 2; named++) {
        struct eventlog_entry again = {.ev = &c.ev, .idem_scope = "test", .idem_key = "prepared-1"};
        assert_int_equal(eventlog_append_send(conn, "ingest", &again, 1, named), 0);
        r = sent_result(conn);
        assert_int_equal(eventlog_append_result(r, "ingest", &again, 1), 0);
        PQclear(r);
        assert_true(again.duplicate);
        assert_string_equal(again.event_id, e.event_id);
        assert_int_equal(again.seq, e.seq);
        eventlog_entry_release(&again);
    }
    /* Prepared again in the same session: refused, as the group commit
     * expects (it prepares once per session). */
    assert_int_equal(eventlog_append_prepare_send(conn), 0);
    r = sent_result(conn);
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    assert_int_equal(db_command(g_db, "DEALLOCATE " EVENTLOG_APPEND_STMT, 0, NULL), 0);
    eventlog_entry_release(&e);
}

/* --- personal data sealed --------------------------------------------------------- */

static long count(const char *sql, const char *param)
{
    const char *p[] = {param};
    PGresult *r = db_exec(g_db, sql, param ? 1 : 0, p);
    assert_non_null(r);
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

/* --- recorded_at follows seq --------------------------------------------------------- */

#define ORDER_BATCH 300

/* A batch's rows get recorded_at from the clock as they are inserted:
 * readers take it to grow with seq (order.h), so the rows go in in seq
 * order. Keys that sort against the batch's order (a plan that groups by
 * key then inserts in key order) must not make recorded_at go down. */
static void test_recorded_at_follows_seq(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    struct contact *cs = calloc(ORDER_BATCH, sizeof *cs);
    struct eventlog_entry *es = calloc(ORDER_BATCH, sizeof *es);
    char(*keys)[16] = calloc(ORDER_BATCH, sizeof *keys);
    assert_non_null(cs);
    assert_non_null(es);
    assert_non_null(keys);
    for (int i = 0; i < ORDER_BATCH; i++) {
        contact_init(&cs[i], "visitor-order");
        snprintf(keys[i], sizeof keys[i], "k-%04d", ORDER_BATCH - i);
        es[i] =
            (struct eventlog_entry){.ev = &cs[i].ev, .idem_scope = "order", .idem_key = keys[i]};
    }
    uint64_t last;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &last), 0);
    assert_int_equal(eventlog_append(g_db, "ingest", es, ORDER_BATCH), 0);
    for (int i = 0; i < ORDER_BATCH; i++) {
        assert_false(es[i].duplicate);
        assert_int_equal(es[i].seq, last + 1 + (uint64_t)i);
        if (i > 0)
            assert_true(es[i].recorded_us >= es[i - 1].recorded_us);
    }
    /* The log's rows say the same. */
    char from[24];
    snprintf(from, sizeof from, "%llu", (unsigned long long)last);
    assert_int_equal(count("SELECT count(*) FROM (SELECT recorded_at < lag(recorded_at)"
                           " OVER (ORDER BY seq) AS down FROM eventlog.events"
                           " WHERE stream = 'ingest' AND seq > $1::bigint) x WHERE down",
                           from),
                     0);
    for (int i = 0; i < ORDER_BATCH; i++)
        eventlog_entry_release(&es[i]);
    free(keys);
    free(es);
    free(cs);
}

/* A batch in a transaction of its own counts what it appended. */
static void test_append_commit(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    struct contact c[2];
    contact_init(&c[0], "visitor-commit-1");
    contact_init(&c[1], "visitor-commit-2");
    struct eventlog_entry e[2] = {{.ev = &c[0].ev, .idem_scope = "commit", .idem_key = "1"},
                                  {.ev = &c[1].ev, .idem_scope = "commit", .idem_key = "2"}};
    assert_int_equal(eventlog_append_commit(g_db, "ingest", e, 2), 2);
    eventlog_entry_release(&e[0]);
    eventlog_entry_release(&e[1]);
    /* again: both duplicates, none appended; the first alone, with a new one */
    assert_int_equal(eventlog_append_commit(g_db, "ingest", e, 2), 0);
    assert_true(e[0].duplicate && e[1].duplicate);
    eventlog_entry_release(&e[0]);
    eventlog_entry_release(&e[1]);
    e[1].idem_key = "3";
    assert_int_equal(eventlog_append_commit(g_db, "ingest", e, 2), 1);
    assert_true(e[0].duplicate);
    assert_false(e[1].duplicate);
    eventlog_entry_release(&e[0]);
    eventlog_entry_release(&e[1]);
    assert_int_equal(count("SELECT count(*) FROM eventlog.events WHERE idem_scope = $1", "commit"),
                     3);
}

/* The stream's seq once an append in flight commits: waited for, and then
 * not held, so the next append does not wait for the reader's transaction
 * (0098). */
static void test_settled_last_seq_waits_and_holds_nothing(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    db *w = testdb_connect("test_eventlog_writer");
    assert_non_null(w);
    const char *p[] = {"settled"};
    assert_int_equal(db_command(g_db, "INSERT INTO eventlog.streams (stream) VALUES ($1)", 1, p),
                     0);
    /* An append in flight: its stream's row taken, its seq moved. */
    assert_int_equal(db_begin(w), 0);
    assert_int_equal(db_command(w,
                                "UPDATE eventlog.streams SET last_seq = last_seq + 1"
                                " WHERE stream = $1",
                                1, p),
                     0);
    PGconn *r = db_conn(g_db);
    assert_int_equal(
        PQsendQueryParams(r, "SELECT eventlog.settled_last_seq($1)", 1, NULL, p, NULL, NULL, 0), 1);
    /* The reader waits for it (still no answer a while later). */
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(PQconsumeInput(r), 1);
    assert_int_equal(PQisBusy(r), 1);
    assert_int_equal(db_commit(w), 0);
    PGresult *res = PQgetResult(r);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
    PQclear(res);
    assert_null(PQgetResult(r));
    /* In the reader's open transaction, a settled read leaves the row free:
     * the next append does not wait (a lock timeout would refuse it). */
    assert_int_equal(db_begin(g_db), 0);
    PGresult *again = db_exec(g_db, "SELECT eventlog.settled_last_seq($1) AS s", 1, p);
    assert_non_null(again);
    assert_string_equal(db_value(again, 0, "s"), "1");
    PQclear(again);
    assert_int_equal(db_begin(w), 0);
    assert_int_equal(db_command(w, "SET LOCAL lock_timeout = '1s'", 0, NULL), 0);
    assert_int_equal(db_command(w,
                                "UPDATE eventlog.streams SET last_seq = last_seq + 1"
                                " WHERE stream = $1",
                                1, p),
                     0);
    assert_int_equal(db_commit(w), 0);
    db_rollback(g_db);
    db_destroy(&w);
}

/* After a commit cut on its connection, a timer's batch is refused (no
 * BEGIN sent, nothing appended) until the back-off ends. */
static void test_append_commit_waits_while_the_writers_back_off(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    db *d = testdb_connect_slow("test_eventlog_slow");
    assert_non_null(d);
    testdb_hold_backoff_clock(d);
    assert_int_equal(testdb_cut_commit(d), 0);
    assert_true(db_backing_off(d));

    struct contact c;
    contact_init(&c, "visitor-backoff");
    struct eventlog_entry e = {.ev = &c.ev, .idem_scope = "backoff", .idem_key = "1"};
    assert_int_equal(eventlog_append_commit(d, "ingest", &e, 1), -1);
    eventlog_entry_release(&e);
    assert_int_equal(PQtransactionStatus(db_conn(d)), PQTRANS_IDLE);
    assert_int_equal(count("SELECT count(*) FROM eventlog.events WHERE idem_scope = $1", "backoff"),
                     0);
    testdb_clock_advance(100); /* the floor's 100 ms pass */
    assert_false(db_backing_off(d));
    assert_int_equal(eventlog_append_commit(d, "ingest", &e, 1), 1);
    eventlog_entry_release(&e);
    assert_int_equal(count("SELECT count(*) FROM eventlog.events WHERE idem_scope = $1", "backoff"),
                     1);
    db_destroy(&d);
}

/* The payloads and data keys go beside the rows as arrays: arrays of
 * another length than the rows are refused, nothing appended. */
static void test_arrays_of_another_length_are_refused(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    PGresult *r = db_exec(g_db,
                          "SELECT * FROM eventlog.append('ingest', '[{\"type\": \"x\"}]'::json,"
                          " '{}'::bytea[], '{}'::bytea[])",
                          0, NULL);
    assert_null(r);
    r = db_exec(g_db,
                "SELECT * FROM eventlog.append('ingest', '[{\"type\": \"x\"}]'::json,"
                " '{\"\\\\x00\"}'::bytea[], NULL)",
                0, NULL);
    assert_null(r);
    /* The columns' form (eventlog_append's): one payload short. */
    r = db_exec(g_db,
                "SELECT * FROM eventlog.append_columns('ingest', ARRAY[gen_random_uuid()],"
                " '{x}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{}'::bytea[],"
                " '{NULL}'::bytea[])",
                0, NULL);
    assert_null(r);
    assert_int_equal(count("SELECT count(*) FROM eventlog.events WHERE type = $1", "x"), 0);
}

/* The event of a log row as eventlog_event_row opens it (caller destroys). */
static event *row_event(const char *event_id)
{
    const char *p[] = {event_id};
    PGresult *r =
        db_exec_binary(g_db,
                       "SELECT e.payload, " EVENTLOG_DATAKEY_COL
                       " FROM eventlog.events e" EVENTLOG_DATAKEY_JOIN " WHERE e.event_id = $1",
                       1, p);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    buf b = BUF_INIT;
    event *ev = eventlog_event_row(r, 0, PQfnumber(r, "payload"), PQfnumber(r, "datakey"), &b);
    buf_release(&b);
    PQclear(r);
    return ev;
}

static void test_sealed_in_the_log(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    static const uint8_t master[DATAKEY_LEN] = {42, 1, 2, 3};
    datakey_master_set(master);
    struct contact c;
    contact_init(&c, "zalo-777");
    uint64_t last;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &last), 0);
    struct eventlog_entry e = {.ev = &c.ev, .idem_scope = "test", .idem_key = "sealed-1"};
    assert_int_equal(eventlog_append(g_db, "ingest", &e, 1), 0);
    assert_non_null(e.sealed);
    /* the log holds no plain text, the key row its data key */
    assert_int_equal(count("SELECT count(*) FROM eventlog.events WHERE event_id = $1"
                           " AND position(convert_to('zalo-777', 'UTF8') IN payload) = 0"
                           " AND position(convert_to('xin chào', 'UTF8') IN payload) = 0",
                           e.event_id),
                     1);
    assert_int_equal(count("SELECT count(*) FROM privacy.datakeys WHERE event_id = $1", e.event_id),
                     1);
    /* what was published (plain) is what a reader of the log gets */
    event *pub = event_unpack(e.wire, e.wire_len), *read[2];
    assert_non_null(pub);
    assert_string_equal(pub->contact_received->customer->handle, "zalo-777");
    assert_int_equal(eventlog_read(g_db, "ingest", last, 2, read), 1);
    assert_same_event(pub, read[0]);
    event_destroy(&read[0]);
    event *row = row_event(e.event_id);
    assert_non_null(row);
    assert_string_equal(row->contact_received->customer->handle, "zalo-777");
    event_destroy(&row);
    /* a duplicate keeps the first's key only */
    struct eventlog_entry again = {.ev = &c.ev, .idem_scope = "test", .idem_key = "sealed-1"};
    assert_int_equal(eventlog_append(g_db, "ingest", &again, 1), 0);
    assert_true(again.duplicate);
    assert_int_equal(count("SELECT count(*) FROM privacy.datakeys", NULL),
                     count("SELECT count(*) FROM eventlog.events e JOIN privacy.datakeys k"
                           " USING (event_id)",
                           NULL));
    /* the key destroyed: the personal fields read as erased, the rest stays */
    assert_int_equal(count("WITH d AS (DELETE FROM privacy.datakeys WHERE event_id = $1"
                           " RETURNING 1) SELECT count(*) FROM d",
                           e.event_id),
                     1);
    assert_int_equal(eventlog_read(g_db, "ingest", last, 2, read), 1);
    assert_string_equal(read[0]->contact_received->customer->handle, DATAKEY_ERASED);
    assert_string_equal(read[0]->contact_received->text, DATAKEY_ERASED);
    assert_string_equal(read[0]->event_id, e.event_id);
    assert_int_equal(read[0]->contact_received->channel, CAREBUS__V1__CHANNEL__CHANNEL_CHAT);
    event_destroy(&read[0]);
    row = row_event(e.event_id);
    assert_non_null(row);
    assert_string_equal(row->contact_received->customer->handle, DATAKEY_ERASED);
    event_destroy(&row);
    /* what the tables' redaction writes is what a reader sees */
    PGresult *er = db_exec(g_db, "SELECT privacy.erased() AS v", 0, NULL);
    assert_non_null(er);
    assert_string_equal(db_value(er, 0, "v"), DATAKEY_ERASED);
    PQclear(er);
    event_destroy(&pub);
    eventlog_entry_release(&again);
    eventlog_entry_release(&e);
    assert_null(e.sealed);
    datakey_master_set(NULL);
}

/* A batch with duplicates of every kind, sealed: one whose key is in the
 * log, one whose event id is, one repeating an earlier key of the batch.
 * Each comes back with the first one's id, seq and recorded_at; the fresh
 * rows take the next seqs, no gap, and alone get a data key. */
static void test_batch_with_duplicates(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    static const uint8_t master[DATAKEY_LEN] = {7, 7, 7};
    datakey_master_set(master);
    struct contact c[6];
    for (int i = 0; i < 6; i++)
        contact_init(&c[i], "visitor-mixed");
    struct eventlog_entry old = {.ev = &c[0].ev, .idem_scope = "mixed", .idem_key = "old"};
    assert_int_equal(eventlog_append(g_db, "ingest", &old, 1), 0);
    assert_false(old.duplicate);
    char old_id[ID_LEN];
    snprintf(old_id, sizeof old_id, "%s", old.event_id);
    c[4].ev.event_id = old_id;
    uint64_t last;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &last), 0);
    long keys = count("SELECT count(*) FROM privacy.datakeys", NULL);
    struct eventlog_entry e[5] = {
        {.ev = &c[1].ev, .idem_scope = "mixed", .idem_key = "a"},
        {.ev = &c[2].ev, .idem_scope = "mixed", .idem_key = "old"},
        {.ev = &c[3].ev, .idem_scope = "mixed", .idem_key = "a"},
        {.ev = &c[4].ev},
        {.ev = &c[5].ev},
    };
    assert_int_equal(eventlog_append(g_db, "ingest", e, 5), 0);
    assert_false(e[0].duplicate);
    assert_int_equal(e[0].seq, last + 1);
    assert_true(e[1].duplicate);
    assert_string_equal(e[1].event_id, old_id);
    assert_int_equal(e[1].seq, old.seq);
    assert_int_equal(e[1].recorded_us, old.recorded_us);
    assert_true(e[2].duplicate);
    assert_string_equal(e[2].event_id, e[0].event_id);
    assert_int_equal(e[2].seq, e[0].seq);
    assert_int_equal(e[2].recorded_us, e[0].recorded_us);
    assert_true(e[3].duplicate);
    assert_string_equal(e[3].event_id, old_id);
    assert_int_equal(e[3].seq, old.seq);
    assert_false(e[4].duplicate);
    assert_int_equal(e[4].seq, last + 2);
    assert_true(e[4].recorded_us >= e[0].recorded_us);
    uint64_t now;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &now), 0);
    assert_int_equal(now, last + 2);
    assert_int_equal(count("SELECT count(*) FROM privacy.datakeys", NULL), keys + 2);
    assert_int_equal(count("SELECT count(*) FROM privacy.datakeys", NULL),
                     count("SELECT count(*) FROM eventlog.events e JOIN privacy.datakeys k"
                           " USING (event_id)",
                           NULL));
    for (int i = 0; i < 5; i++)
        eventlog_entry_release(&e[i]);
    eventlog_entry_release(&old);
    datakey_master_set(NULL);
}

static void test_pack_failures(void **state)
{
    (void)state;
    event none = CAREBUS__V1__ENVELOPE__INIT; /* no body */
    struct eventlog_entry e = {.ev = &none};
    assert_int_equal(eventlog_entry_pack(&e, "ingest"), -1);
    assert_null(e.wire);
    struct contact c;
    contact_init(&c, "visitor-2");
    c.ev.customer_id = "not a uuid but certainly longer than one";
    struct eventlog_entry f = {.ev = &c.ev};
    assert_int_equal(eventlog_entry_pack(&f, "ingest"), -1);
    assert_null(f.wire);
    /* A batch with one entry that does not pack appends nothing. */
    if (g_db) {
        uint64_t before, after;
        struct contact ok;
        contact_init(&ok, "visitor-3");
        struct eventlog_entry batch[2] = {{.ev = &ok.ev}, {.ev = &none}};
        assert_int_equal(eventlog_last_seq(g_db, "ingest", &before), 0);
        assert_int_equal(eventlog_append(g_db, "ingest", batch, 2), -1);
        assert_int_equal(eventlog_last_seq(g_db, "ingest", &after), 0);
        assert_int_equal(after, before);
        eventlog_entry_release(&batch[0]);
        eventlog_entry_release(&batch[1]);
    }
}

static void test_seal(void **state)
{
    (void)state;
    struct contact c;
    contact_init(&c, "visitor-4");
    c.ev.event_id = "6a1c3e5f-0000-4000-8000-000000000001";
    struct eventlog_entry e = {.ev = &c.ev};
    assert_int_equal(eventlog_entry_pack(&e, "survey"), 0);
    assert_string_equal(e.event_id, c.ev.event_id);
    /* Sealed in place: the same bytes as the payload completed apart. */
    size_t wlen;
    uint8_t *wire =
        eventlog_wire(e.wire, e.payload_len, "survey", 77, INT64_C(1795399200000001), &wlen);
    assert_non_null(wire);
    assert_int_equal(eventlog_entry_seal(&e, "survey", 77, INT64_C(1795399200000001)), 0);
    assert_int_equal(e.wire_len, wlen);
    assert_memory_equal(e.wire, wire, wlen);
    free(wire);
    event *x = event_unpack(e.wire, e.wire_len);
    assert_non_null(x);
    assert_string_equal(x->stream, "survey");
    assert_int_equal(x->seq, 77);
    assert_int_equal(event_ts_us(x->recorded_at), INT64_C(1795399200000001));
    assert_string_equal(x->event_id, c.ev.event_id);
    assert_string_equal(x->contact_received->text, "xin chào");
    event_destroy(&x);
    eventlog_entry_release(&e);
}

/* The trailer is what protobuf-c packs for an envelope holding only the
 * log's fields, whatever their values (zeros left out, negative times). */
static void test_trailer_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *stream;
        uint64_t seq;
        int64_t rec;
    } cases[] = {
        {"ingest", 1, INT64_C(1795399200123456)}, {"survey", UINT64_MAX, 0}, {"router", 300, -1},
        {"", 0, INT64_C(-62135596800000000)},     {"sla", 1, 999999},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Google__Protobuf__Timestamp rec = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        event_ts_set(&rec, cases[i].rec);
        event t = CAREBUS__V1__ENVELOPE__INIT;
        t.stream = (char *)cases[i].stream;
        t.seq = cases[i].seq;
        t.recorded_at = &rec;
        size_t want_len, got_len;
        uint8_t *want = event_pack(&t, &want_len);
        uint8_t *got = eventlog_wire((const uint8_t *)"", 0, cases[i].stream, cases[i].seq,
                                     cases[i].rec, &got_len);
        assert_non_null(want);
        assert_non_null(got);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);
        free(want);
        free(got);
    }
}

/* --- the handler table ------------------------------------------------------------------- */

static int g_handled, g_flushes;
static uint64_t g_position;

static consumer_result on_contact(consumer_txn *tx, const event *ev, void *arg)
{
    (void)arg;
    g_handled++;
    /* Emits one event per contact, its id derived from the cause. */
    Carebus__V1__AgentPresence p = CAREBUS__V1__AGENT_PRESENCE__INIT;
    p.agent_id = "agent-1";
    p.presence = CAREBUS__V1__PRESENCE__PRESENCE_ONLINE;
    event out = CAREBUS__V1__ENVELOPE__INIT;
    out.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE;
    out.agent_presence = &p;
    out.ticket_id = (char *)"";
    (void)ev;
    return consumer_emit(tx, &out) == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

static consumer_result on_flush(consumer_txn *tx, void *arg)
{
    (void)arg;
    g_flushes++;
    g_position = consumer_txn_position(tx, "ingest");
    return CONSUMER_OK;
}

static const struct consumer_handler handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED] = {"ingest", on_contact},
};

static void test_handler_table(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/carebus-test-eventlog-%ld.ipc", (long)getpid());
    setenv("CAREBUS_BUS_ROUTER", endpoint, 1);
    bus *pub = bus_new(), *sub = bus_new();
    assert_non_null(pub);
    assert_non_null(sub);
    assert_int_equal(bus_bind(pub, endpoint), 0);
    assert_int_equal(bus_subscribe(sub, "router"), 0);
    usleep(200000); /* a subscriber misses what is sent before it joined */

    /* The consumer reads ingest and sla; a contact on sla is not ingest's. */
    uint64_t ingest0, sla0, router0;
    assert_int_equal(eventlog_last_seq(g_db, "ingest", &ingest0), 0);
    assert_int_equal(eventlog_last_seq(g_db, "sla", &sla0), 0);
    assert_int_equal(eventlog_last_seq(g_db, "router", &router0), 0);
    struct contact c1, c2, c3;
    contact_init(&c1, "visitor-5");
    contact_init(&c2, "visitor-6");
    contact_init(&c3, "visitor-7");
    Carebus__V1__AgentPresence p = CAREBUS__V1__AGENT_PRESENCE__INIT;
    p.agent_id = "agent-9";
    event presence = CAREBUS__V1__ENVELOPE__INIT;
    presence.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE;
    presence.agent_presence = &p;
    struct eventlog_entry in[3] = {{.ev = &c1.ev}, {.ev = &presence}, {.ev = &c2.ev}};
    struct eventlog_entry other = {.ev = &c3.ev};
    assert_int_equal(eventlog_append(g_db, "ingest", in, 3), 0);
    assert_int_equal(eventlog_append(g_db, "sla", &other, 1), 0);

    /* It starts where the streams stood (earlier tests appended too). */
    assert_int_equal(eventlog_offset_advance(g_db, "test", "ingest", 0, ingest0), 0);
    if (sla0)
        assert_int_equal(eventlog_offset_advance(g_db, "test", "sla", 0, sla0), 0);
    consumer *c = consumer_new("test", g_db, pub, "router", CONSUMER_HANDLERS(handlers), NULL);
    assert_non_null(c);
    consumer_set_flush(c, on_flush);
    assert_int_equal(consumer_read(c, "ingest"), 0);
    assert_int_equal(consumer_read(c, "sla"), 0);
    g_handled = g_flushes = 0;
    assert_int_equal(consumer_catch_up(c), 0);
    /* Two contacts from ingest handled; the presence and the contact on
     * sla acknowledged unread: every offset moved past them. */
    assert_int_equal(g_handled, 2);
    assert_true(g_flushes >= 1);
    assert_int_equal(consumer_offset(c, "ingest"), ingest0 + 3);
    assert_int_equal(consumer_offset(c, "sla"), sla0 + 1);
    assert_int_equal(g_position, ingest0 + 3);
    uint64_t off;
    assert_int_equal(eventlog_offset_get(g_db, "test", "ingest", &off), 0);
    assert_int_equal(off, ingest0 + 3);

    /* Emitted: appended to router, ids derived from their causes. */
    event *emitted[4];
    int n = eventlog_read(g_db, "router", router0, 4, emitted);
    assert_int_equal(n, 2);
    char name[160], id[ID_LEN];
    snprintf(name, sizeof name, "%s/agent.presence/0", in[0].event_id);
    id_derive(name, id);
    assert_string_equal(emitted[0]->event_id, id);
    assert_string_equal(emitted[0]->causation_id, in[0].event_id);

    /* Published: the very bytes of the log, unpacked as its readers do. */
    int got = 0;
    for (int i = 0; i < 200 && got < 2; i++) {
        event *ev;
        int rc = bus_recv(sub, &ev);
        if (rc == 1) {
            assert_same_event(ev, emitted[got]);
            event_destroy(&ev);
            got++;
        } else {
            usleep(10000);
        }
    }
    assert_int_equal(got, 2);
    for (int i = 0; i < n; i++)
        event_destroy(&emitted[i]);

    /* Caught up: nothing is applied twice. */
    assert_int_equal(consumer_catch_up(c), 0);
    assert_int_equal(g_handled, 2);
    consumer_destroy(&c);
    assert_null(c);
    for (int i = 0; i < 3; i++)
        eventlog_entry_release(&in[i]);
    eventlog_entry_release(&other);
    bus_destroy(&pub);
    bus_destroy(&sub);
    unlink(endpoint + strlen("ipc://"));
    unsetenv("CAREBUS_BUS_ROUTER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_once_bytes_equal_the_log),
        cmocka_unit_test(test_recorded_at_follows_seq),
        cmocka_unit_test(test_append_commit),
        cmocka_unit_test(test_append_prepared),
        cmocka_unit_test(test_settled_last_seq_waits_and_holds_nothing),
        cmocka_unit_test(test_append_commit_waits_while_the_writers_back_off),
        cmocka_unit_test(test_arrays_of_another_length_are_refused),
        cmocka_unit_test(test_sealed_in_the_log),
        cmocka_unit_test(test_batch_with_duplicates),
        cmocka_unit_test(test_pack_failures),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_trailer_encoding),
        cmocka_unit_test(test_handler_table),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
