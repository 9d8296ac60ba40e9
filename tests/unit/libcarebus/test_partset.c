/* test_partset.c — a consumer's partitions shared among instances.
 *
 * Against a throw-away database of CAREBUS_TEST_PG (skipped without one),
 * two connections standing for two instances: partset_of agrees with
 * eventlog.part_of; an instance alone takes every partition; a second one
 * gets a fair share (the first gives the extras back); when one stops
 * renewing, the other takes its partitions back; each partition applies
 * only its own events and those for every partition, each exactly once;
 * the partitions an instance holds catch up from one read of the log,
 * in one transaction of the same few statements however many they are,
 * each event's partition asked once, and one of them taken over meanwhile
 * stops alone; a set that is behind a static log applies it to its end
 * tick after tick, without waiting for the poll or the bus.
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

#include "bus.h"
#include "consumer.h"
#include "db.h"
#include "eventlog.h"
#include "id.h"
#include "lease.h"
#include "partset.h"
#include "testdb.h"
#include "timeutil.h"

#define MS 300
#define PARTS 4

static db *g_db, *g_db2;

static int group_setup(void **state)
{
    (void)state;
    return testdb_open_two("test_partset", &g_db, &g_db2);
}

static int group_teardown(void **state)
{
    (void)state;
    testdb_close_two(&g_db, &g_db2);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_the_partition_of_an_id_is_the_same_in_c_and_sql(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    int seen[PARTS] = {0};
    for (int i = 0; i < 200; i++) {
        char id[ID_LEN], n[8];
        id_new(id);
        int parts = 1 + i % 9;
        snprintf(n, sizeof n, "%d", parts);
        const char *p[] = {id, n};
        PGresult *r = db_exec(g_db, "SELECT eventlog.part_of($1::uuid, $2::int) AS p", 2, p);
        assert_non_null(r);
        int c = partset_of(id, parts);
        assert_int_equal(atoi(db_value(r, 0, "p")), c);
        PQclear(r);
        seen[partset_of(id, PARTS)]++;
    }
    for (int k = 0; k < PARTS; k++)
        assert_true(seen[k] > 20); /* spread, roughly evenly */
    assert_int_equal(partset_of("not-an-id", 4), -1);
    assert_int_equal(partset_of(NULL, 4), -1);
}

/* Each event is its reply's agent: "agent-K" goes to partition K, "all"
 * to every partition. Applications are counted per partition and seq. */
static int g_applied[PARTS][64];
/* How often the partition function was asked. */
static int g_part_calls;

static int part_of(const event *ev, int nparts, void *arg)
{
    (void)arg;
    g_part_calls++;
    const char *a = ev->agent_replied ? ev->agent_replied->agent_id : "";
    if (strcmp(a, "all") == 0)
        return CONSUMER_PART_ALL;
    return atoi(a + strlen("agent-")) % nparts;
}

static consumer_result on_reply(consumer_txn *tx, const event *ev, void *arg)
{
    (void)arg;
    int n;
    int p = consumer_txn_part(tx, &n);
    assert_int_equal(n, PARTS);
    assert_true(ev->seq < 64);
    g_applied[p][ev->seq]++;
    return CONSUMER_OK;
}

static const struct consumer_handler handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_reply},
};

static void append_to(const char *stream, const char *agent)
{
    Carebus__V1__AgentReplied r = CAREBUS__V1__AGENT_REPLIED__INIT;
    r.agent_id = (char *)agent;
    r.text = (char *)"ok";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    ev.agent_replied = &r;
    struct eventlog_entry e = {.ev = &ev};
    assert_int_equal(eventlog_append(g_db, stream, &e, 1), 0);
    eventlog_entry_release(&e);
}

static void append(const char *agent)
{
    append_to("survey", agent);
}

/* A set "name" of parts partitions (part_of), reading "survey". */
static partset *make_set(const char *name, int parts, db *d, bus *b, const char *owner,
                         const struct consumer_handler *h, size_t nh)
{
    struct partset_opts o = {
        .name = name,
        .parts = parts,
        .owner = owner,
        .lease_ms = MS,
        .db = d,
        .bus = b,
        .handlers = h,
        .nhandlers = nh,
        .part_of = part_of,
    };
    partset *ps = partset_new(&o);
    assert_non_null(ps);
    assert_int_equal(partset_read(ps, "survey"), 0);
    return ps;
}

static partset *make(db *d, bus *b, const char *owner)
{
    return make_set("parted", PARTS, d, b, owner, handlers, sizeof handlers / sizeof handlers[0]);
}

/* Ticks both (NULL: that one is dead) for about ms. */
static void run(partset *a, partset *b, long ms)
{
    for (long t = 0; t < ms; t += 20) {
        if (a)
            assert_int_equal(partset_tick(a, time_mono_ms()), 0);
        if (b)
            assert_int_equal(partset_tick(b, time_mono_ms()), 0);
        sleep_ms(20);
    }
}

static void test_a_fair_share_each_and_a_dead_ones_taken_over(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b1 = bus_new(), *b2 = bus_new();
    partset *a = make(g_db, b1, "a:1"), *b = make(g_db2, b2, "b:2");
    append("agent-0");
    append("agent-1");
    append("all");

    run(a, NULL, 2 * MS); /* alone: everything */
    assert_int_equal(partset_owned(a), PARTS);
    run(a, b, 4 * MS); /* a second instance: half each */
    assert_int_equal(partset_owned(a), PARTS / 2);
    assert_int_equal(partset_owned(b), PARTS / 2);
    append("agent-2");
    append("agent-3");
    append("all");
    run(a, b, 1500); /* without the bus, a partition looks at its log once a second */

    /* b dies (stops renewing): a has every partition again. */
    int64_t t0 = time_mono_ms();
    while (partset_owned(a) < PARTS && time_mono_ms() - t0 < 10 * MS)
        run(a, NULL, 20);
    assert_int_equal(partset_owned(a), PARTS);
    append("agent-1");
    run(a, NULL, 1500);

    /* Each event applied once by its partition, "all" once by each. */
    for (int seq = 1; seq <= 7; seq++) {
        for (int p = 0; p < PARTS; p++) {
            int want = (seq == 3 || seq == 6) ? 1
                       : (seq == 1 && p == 0) || (seq == 2 && p == 1) || (seq == 4 && p == 2) ||
                               (seq == 5 && p == 3) || (seq == 7 && p == 1)
                           ? 1
                           : 0;
            if (g_applied[p][seq] != want)
                print_message("partition %d seq %d: applied %d times, want %d\n", p, seq,
                              g_applied[p][seq], want);
            assert_int_equal(g_applied[p][seq], want);
        }
    }
    /* Every partition's offset is at the tail, under its own name. */
    for (int p = 0; p < PARTS; p++) {
        char name[32];
        uint64_t off;
        snprintf(name, sizeof name, "parted/%d", p);
        assert_int_equal(eventlog_offset_get(g_db, name, "survey", &off), 0);
        assert_int_equal(off, 7);
    }
    PGresult *r = db_exec(g_db, "SELECT eventlog.consumer_seq('parted', 'survey') AS s", 0, NULL);
    assert_string_equal(db_value(r, 0, "s"), "7");
    PQclear(r);

    partset_release(a);
    partset_destroy(&a);
    partset_destroy(&b);
    assert_null(a);
    bus_destroy(&b1);
    bus_destroy(&b2);
}

/* How often the first partition's catch-up read the log (its pace is
 * asked once before each read). */
static int g_reads;

static size_t count_reads(void *arg)
{
    (void)arg;
    g_reads++;
    return SIZE_MAX;
}

/* PARTS consumers "<prefix>/<p>" on d, one partition each of stream, the
 * reads of the first counted; the applied events forgotten. */
static void parts_new(consumer **cs, const char *prefix, db *d, bus *b, const char *stream)
{
    for (int p = 0; p < PARTS; p++) {
        char name[32];
        snprintf(name, sizeof name, "%s/%d", prefix, p);
        cs[p] =
            consumer_new(name, d, b, NULL, handlers, sizeof handlers / sizeof handlers[0], NULL);
        assert_non_null(cs[p]);
        assert_int_equal(consumer_track(cs[p], stream), 0);
        consumer_set_partition(cs[p], p, PARTS, part_of);
    }
    consumer_set_pace(cs[0], count_reads);
    memset(g_applied, 0, sizeof g_applied);
}

static void test_the_partitions_held_share_one_read(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b = bus_new();
    consumer *cs[PARTS];
    int rcs[PARTS];
    parts_new(cs, "shared", g_db, b, "router");
    /* seq 1..12: agent-0, agent-1, agent-2, all, ...; nothing for agent-3. */
    static const char *const agents[] = {"agent-0", "agent-1", "agent-2", "all"};
    for (int i = 0; i < 12; i++)
        append_to("router", agents[i % 4]);
    /* Partition 1 has applied up to seq 6 already (it was another
     * instance's): the read starts from the lowest offset, and it applies
     * only what lies past its own. */
    assert_int_equal(db_command(g_db,
                                "INSERT INTO eventlog.offsets (consumer, stream, seq)"
                                " VALUES ('shared/1', 'router', 6)",
                                0, NULL),
                     0);

    g_part_calls = 0;
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), 0);
    assert_int_equal(g_reads, 1); /* one read for the four of them */
    assert_int_equal(g_part_calls,
                     12); /* each event's partition asked once, not once a partition */
    for (int seq = 1; seq <= 12; seq++)
        for (int p = 0; p < PARTS; p++) {
            int mine = seq % 4 == 0 || (seq - 1) % 4 == p;
            assert_int_equal(g_applied[p][seq], mine && !(p == 1 && seq <= 6) ? 1 : 0);
        }
    /* Every offset at the tail, also partition 3's, which had nothing of
     * its own but "all": the lag reads zero. */
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(rcs[p], 0);
        assert_int_equal(consumer_offset(cs[p], "router"), 12);
    }
    PGresult *r = db_exec(g_db, "SELECT eventlog.consumer_seq('shared/3', 'router') AS s", 0, NULL);
    assert_string_equal(db_value(r, 0, "s"), "12");
    PQclear(r);

    /* Then only partition 2's: the others' offsets move past it unread. */
    append_to("router", "agent-2");
    g_reads = g_part_calls = 0;
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), 0);
    assert_int_equal(g_reads, 1);
    assert_int_equal(g_part_calls, 1);
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(g_applied[p][13], p == 2);
        assert_int_equal(consumer_offset(cs[p], "router"), 13);
        /* Its own and the "all" ones: 1 and 2 of seq 1..12 and 13. */
        static const uint64_t own[PARTS] = {6, 3, 7, 3};
        assert_int_equal(consumer_applied(cs[p]), own[p]);
    }
    /* Nothing new: a read that finds nothing, no transaction. */
    g_reads = 0;
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), 0);
    assert_int_equal(g_reads, 1);
    for (int p = 0; p < PARTS; p++)
        consumer_destroy(&cs[p]);
    bus_destroy(&b);
}

/* While the connection's writers back off (a commit on it was cut: here
 * another writer's), a round is refused whole: after the one read that
 * found the refusal, the partitions held are held off together and read
 * nothing more until the back-off ends; then they apply what waited. */
static void test_the_partitions_held_are_held_off_together(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    db *d = testdb_connect_slow("test_partset_slow");
    assert_non_null(d);
    testdb_hold_backoff_clock(d);
    bus *b = bus_new();
    consumer *cs[PARTS];
    int rcs[PARTS];
    parts_new(cs, "heldoff", d, b, "ingest");
    static const char *const agents[] = {"agent-0", "agent-1", "agent-2", "all"};
    for (int i = 0; i < 8; i++)
        append_to("ingest", agents[i % 4]);
    assert_int_equal(testdb_cut_commit(d), 0);
    assert_true(db_backing_off(d));

    g_reads = 0;
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), -1);
    assert_int_equal(g_reads, 1);
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(rcs[p], -1);
        assert_true(consumer_held_off(cs[p]));
    }
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), -1);
    assert_int_equal(g_reads, 1); /* nothing read while held off */

    testdb_clock_advance(100); /* the floor's 100 ms pass */
    assert_false(db_backing_off(d));
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), 0);
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(rcs[p], 0);
        assert_false(consumer_held_off(cs[p]));
        assert_int_equal(consumer_offset(cs[p], "ingest"), 8);
        for (int seq = 1; seq <= 8; seq++) {
            int mine = seq % 4 == 0 || (seq - 1) % 4 == p;
            assert_int_equal(g_applied[p][seq], mine);
        }
    }
    for (int p = 0; p < PARTS; p++)
        consumer_destroy(&cs[p]);
    bus_destroy(&b);
    db_destroy(&d);
}

/* A partition's applications, counted once its transaction committed. */
struct counted {
    int part;
    int pending[64], applied[64];
};

static consumer_result on_reply_counted(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    struct counted *k = arg;
    assert_true(ev->seq < 64);
    k->pending[ev->seq]++;
    return CONSUMER_OK;
}

static void counted_done(bool committed, void *arg)
{
    struct counted *k = arg;
    for (int i = 0; i < 64; i++)
        k->applied[i] += committed ? k->pending[i] : 0;
    memset(k->pending, 0, sizeof k->pending);
}

static const struct consumer_handler counted_handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_reply_counted},
};

static void test_a_partition_taken_over_mid_round_stops_alone(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b = bus_new();
    consumer *cs[PARTS];
    lease *ls[PARTS];
    int rcs[PARTS];
    static struct counted k[PARTS];
    for (int p = 0; p < PARTS; p++) {
        char name[32];
        snprintf(name, sizeof name, "fenced/%d", p);
        k[p].part = p;
        cs[p] = consumer_new(name, g_db, b, NULL, counted_handlers,
                             sizeof counted_handlers / sizeof counted_handlers[0], &k[p]);
        assert_non_null(cs[p]);
        assert_int_equal(consumer_track(cs[p], "courier"), 0);
        consumer_set_partition(cs[p], p, PARTS, part_of);
        consumer_set_done(cs[p], counted_done);
        assert_non_null(ls[p] = lease_new("fenced", p, "me:1", MS));
        assert_int_equal(lease_tick(ls[p], g_db, time_mono_ms()), LEASE_GAINED);
        consumer_set_lease(cs[p], ls[p]);
    }
    static const char *const agents[] = {"agent-0", "agent-1", "agent-2", "all"};
    for (int i = 0; i < 8; i++)
        append_to("courier", agents[i % 4]);
    /* Another instance took partition 2 over (as after a stall): the round's
     * one transaction is fenced on it and rolled back; the others commit
     * each on its own, and 2 applies nothing. */
    assert_int_equal(db_command(g_db,
                                "UPDATE eventlog.leases SET owner = 'thief:9', token = token + 1"
                                " WHERE consumer = 'fenced' AND part = 2",
                                0, NULL),
                     0);
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), -1);
    for (int p = 0; p < PARTS; p++) {
        uint64_t off;
        char name[32];
        snprintf(name, sizeof name, "fenced/%d", p);
        assert_int_equal(eventlog_offset_get(g_db, name, "courier", &off), 0);
        assert_int_equal(rcs[p], p == 2 ? -1 : 0);
        assert_int_equal(off, p == 2 ? 0 : 8);
        assert_int_equal(lease_held(ls[p]), p != 2);
        for (int seq = 1; seq <= 8; seq++) {
            int mine = seq % 4 == 0 || (seq - 1) % 4 == p;
            assert_int_equal(k[p].applied[seq], mine && p != 2 ? 1 : 0);
        }
    }
    /* Then the three left in one transaction again. */
    append_to("courier", "all");
    assert_int_equal(consumer_catch_up_shared(cs, PARTS, rcs), 0);
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(k[p].applied[9], p != 2);
        assert_int_equal(consumer_offset(cs[p], "courier"), p == 2 ? 0 : 9);
    }
    for (int p = 0; p < PARTS; p++) {
        consumer_destroy(&cs[p]);
        lease_destroy(&ls[p]);
    }
    bus_destroy(&b);
}

static int g_tail_applied;

static consumer_result on_any(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    (void)ev;
    (void)arg;
    g_tail_applied++;
    return CONSUMER_OK;
}

static const struct consumer_handler any_handlers[] = {
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {NULL, on_any},
};

/* A set "tail-<parts>" of parts partitions reading "survey" and "sla"
 * together from their ends, in batches of 4, applies 40 events more (ten
 * rounds at least) on ticks whose clock stands still: the first tick gains
 * the leases and looks at the log, and the catch-up then goes on, tick
 * after tick, until every offset is at its stream's end, without waiting
 * for the poll (a second that never comes) or the bus (silent). Each round
 * applies an event at least, so 41 ticks bound it. */
static void static_log_applied_without_waiting(int parts)
{
    char name[16];
    const char *sa = "survey", *sb = "sla";
    snprintf(name, sizeof name, "tail-%d", parts);
    uint64_t a0, b0;
    assert_int_equal(eventlog_last_seq(g_db, sa, &a0), 0);
    assert_int_equal(eventlog_last_seq(g_db, sb, &b0), 0);
    for (int p = 0; p < parts; p++) {
        char cname[32];
        snprintf(cname, sizeof cname, parts > 1 ? "%s/%d" : "%s", name, p);
        if (a0)
            assert_int_equal(eventlog_offset_advance(g_db, cname, sa, 0, a0), 0);
        if (b0)
            assert_int_equal(eventlog_offset_advance(g_db, cname, sb, 0, b0), 0);
    }
    static const char *const agents[] = {"agent-0", "agent-1", "agent-2", "agent-3", "all"};
    /* Interleaved in time, sla sparser than survey. */
    for (int i = 0; i < 30; i++) {
        append_to(sa, agents[i % 5]);
        if (i % 3 == 0)
            append_to(sb, agents[(i / 3) % 5]);
    }
    bus *b = bus_new();
    partset *ps = make_set(name, parts, g_db, b, "tail:1", any_handlers,
                           sizeof any_handlers / sizeof any_handlers[0]);
    assert_int_equal(partset_read(ps, sb), 0);
    for (int p = 0; p < parts; p++) {
        consumer_set_batch(partset_consumer(ps, p), 4, 0);
        consumer_set_together(partset_consumer(ps, p), true);
    }
    g_tail_applied = 0;
    int64_t now = time_mono_ms();
    int ticks = 0;
    bool tail = false;
    while (!tail && ticks < 41) {
        assert_int_equal(partset_tick(ps, now), 0);
        ticks++;
        tail = partset_owned(ps) == parts;
        for (int p = 0; p < parts && tail; p++)
            tail = consumer_offset(partset_consumer(ps, p), sa) == a0 + 30 &&
                   consumer_offset(partset_consumer(ps, p), sb) == b0 + 10;
    }
    if (!tail)
        print_message("%d partitions: not at the log's end after %d ticks\n", parts, ticks);
    assert_true(tail);
    /* Each event once by its partition, "all" (6 of a, 2 of b) by each. */
    assert_int_equal(g_tail_applied, 40 + (parts > 1 ? (parts - 1) * 8 : 0));
    /* Caught up: a tick finds nothing more. */
    assert_int_equal(partset_tick(ps, now), 0);
    assert_int_equal(g_tail_applied, 40 + (parts > 1 ? (parts - 1) * 8 : 0));
    partset_release(ps);
    partset_destroy(&ps);
    bus_destroy(&b);
}

static void test_a_static_log_is_applied_to_its_end_without_waiting(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    static_log_applied_without_waiting(1);
    static_log_applied_without_waiting(PARTS);
}

/* The statements of one round of n partitions, each under its lease,
 * reading stream "rt-<n>": its second catch-up (the first loads the
 * offsets), of one event per partition and one for every partition. */
static uint64_t round_trips_of_a_round(int n)
{
    bus *b = bus_new();
    consumer *cs[PARTS];
    lease *ls[PARTS];
    int rcs[PARTS];
    char stream[16];
    snprintf(stream, sizeof stream, "rt-%d", n);
    for (int p = 0; p < n; p++) {
        char name[32];
        snprintf(name, sizeof name, "%s/%d", stream, p);
        cs[p] =
            consumer_new(name, g_db, b, NULL, handlers, sizeof handlers / sizeof handlers[0], NULL);
        assert_non_null(cs[p]);
        assert_int_equal(consumer_track(cs[p], stream), 0);
        consumer_set_partition(cs[p], p, PARTS, part_of);
        assert_non_null(ls[p] = lease_new(stream, p, "me:1", MS));
        assert_int_equal(lease_tick(ls[p], g_db, time_mono_ms()), LEASE_GAINED);
        consumer_set_lease(cs[p], ls[p]);
    }
    static const char *const agents[] = {"agent-0", "agent-1", "agent-2", "agent-3", "all"};
    append_to(stream, "all");
    assert_int_equal(consumer_catch_up_shared(cs, (size_t)n, rcs), 0);
    for (int i = 0; i < 5; i++)
        append_to(stream, agents[i]);
    uint64_t before = db_round_trips(g_db);
    assert_int_equal(consumer_catch_up_shared(cs, (size_t)n, rcs), 0);
    uint64_t spent = db_round_trips(g_db) - before;
    for (int p = 0; p < n; p++) {
        assert_int_equal(rcs[p], 0);
        assert_int_equal(consumer_offset(cs[p], stream), 6);
        consumer_destroy(&cs[p]);
        lease_destroy(&ls[p]);
    }
    bus_destroy(&b);
    return spent;
}

/* A round costs the same statements whatever the number of partitions
 * it applies: the read, BEGIN, the transaction's stall limit, one hold of
 * every lease, one fence of every lease (each by its own token), one
 * advance of every offset, and COMMIT. */
static void test_a_rounds_statements_do_not_grow_with_its_partitions(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    uint64_t two = round_trips_of_a_round(2), four = round_trips_of_a_round(PARTS);
    assert_int_equal(two, 7);
    assert_int_equal(four, 7);
}

static void test_a_different_count_is_refused(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    bus *b1 = bus_new();
    struct partset_opts o = {.name = "parted",
                             .parts = PARTS + 1,
                             .owner = "c:3",
                             .lease_ms = MS,
                             .db = g_db,
                             .bus = b1,
                             .handlers = handlers,
                             .nhandlers = sizeof handlers / sizeof handlers[0],
                             .part_of = part_of};
    partset *c = partset_new(&o);
    assert_non_null(c);
    assert_int_equal(partset_tick(c, 0), -1);
    assert_int_equal(partset_owned(c), 0);
    partset_destroy(&c);
    bus_destroy(&b1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_partition_of_an_id_is_the_same_in_c_and_sql),
        cmocka_unit_test(test_a_fair_share_each_and_a_dead_ones_taken_over),
        cmocka_unit_test(test_the_partitions_held_share_one_read),
        cmocka_unit_test(test_a_partition_taken_over_mid_round_stops_alone),
        cmocka_unit_test(test_the_partitions_held_are_held_off_together),
        cmocka_unit_test(test_a_rounds_statements_do_not_grow_with_its_partitions),
        cmocka_unit_test(test_a_static_log_is_applied_to_its_end_without_waiting),
        cmocka_unit_test(test_a_different_count_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
