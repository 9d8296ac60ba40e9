/* consumer.h — reads streams exactly once: bus fast path, log catch-up.
 *
 * A consumer applies each event of the streams it reads in a transaction
 * that also advances its offset (eventlog.offsets), so a kill -9 at any
 * instant neither loses nor repeats an event. Events are applied strictly in
 * sequence per stream: one from the bus whose seq is offset+1 is applied; an
 * older one is a duplicate and dropped; a newer one reveals a gap, and the
 * consumer reads the log up to the end. It also catches up on start and
 * checks the log's tail once a second, since a bus drop of the last event of
 * a burst leaves no later event to reveal it. The same look publishes how
 * far behind the tail each stream is (lag.h), for operators to alert on.
 *
 * Events that the handler emits (consumer_emit) are appended to the output
 * stream in the same transaction and published after commit. Their ids are
 * derived from the cause, so a replay emits the same ids and the log's
 * idempotency turns the repeats into no-ops.
 *
 * Several instances of a service share one consumer: the one that holds its
 * lease (lease.h) applies, each transaction checking the lease's fencing
 * token before it commits; the others stand by. A partitioned consumer is
 * one of these per partition (partset.h), each applying its own events;
 * those one instance holds catch up from one read of the log
 * (consumer_catch_up_shared).
 */
#ifndef CAREBUS_CONSUMER_H
#define CAREBUS_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "db.h"
#include "event.h"

typedef struct consumer consumer;
typedef struct consumer_txn consumer_txn;
struct lease; /* lease.h */

typedef enum {
    CONSUMER_OK = 0,    /* applied */
    CONSUMER_RETRY = 1, /* transient (database): roll back, retry later */
    CONSUMER_SKIP = 2,  /* this event can never apply: logged, counted, skipped */
} consumer_result;

/* Applies one event inside the open transaction (consumer_txn_db()). It may
 * block on the database. It must not keep state outside PostgreSQL that a
 * rollback would leave behind, unless a done function (consumer_set_done)
 * drops it. */
typedef consumer_result (*consumer_apply_fn)(consumer_txn *tx, const event *ev, void *arg);

/* What a consumer reacts to, declared as a table indexed by the event's
 * body case (like Redis's command table):
 *
 *     static const struct consumer_handler handlers[] = {
 *         [CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED] = {"router", on_solved},
 *         ...
 *     };
 *
 * An event whose case has no entry, or that comes from another stream than
 * its entry names, is acknowledged unread: its offset moves like any
 * other's. */
struct consumer_handler {
    const char *stream; /* only from this stream; NULL: from any */
    consumer_apply_fn fn;
};
#define CONSUMER_HANDLERS(table) (table), (sizeof(table) / sizeof((table)[0]))

/* name: the consumer's name in eventlog.offsets (the service's name).
 * output: stream for emitted events, NULL if it emits none. handlers:
 * CONSUMER_HANDLERS(table); arg is passed to each. Borrowed arguments must
 * outlive the consumer. */
consumer *consumer_new(const char *name, db *d, bus *b, const char *output,
                       const struct consumer_handler *handlers, size_t nhandlers, void *arg);
void consumer_destroy(consumer **pc);

/* Reads stream (connecting the bus to its producer). Before the first
 * consumer_catch_up. 0 or -1. */
int consumer_read(consumer *c, const char *stream);

/* Like consumer_read, without subscribing the bus: for the partitions of a
 * consumer (partset.h) but the first, which share its bus. */
int consumer_track(consumer *c, const char *stream);

/* Applies what the log holds past the offsets, for about a second at most.
 * 0 when caught up, 1 when there is more (call again soon), -1 when the
 * database failed or refused the batch (call again later: once refused
 * while the connection's writers back off, consumer_held_off, it returns
 * -1 at once, reading nothing, until they may write again). Blocks, on at
 * most one commit that fails. */
int consumer_catch_up(consumer *c);

/* consumer_catch_up for the partitions of one consumer that this instance
 * holds (partset.h; consumer_set_partition), from one read: each round
 * reads the log from the lowest of their offsets once, asks each event's
 * partition once (of the first partition's function, for those that
 * share it, its count and its argument), and each applies the events it
 * takes past its own offset; its offsets move over the whole chunk, since
 * what it left out was read and found another partition's. A round is
 * one transaction, each partition fenced by its own lease in it, with one
 * flush when they share theirs (consumer_set_flush); when it rolls back
 * (a lease taken over, an event that fails), each partition applies in a
 * transaction of its own, so that one stops alone. They read the same
 * streams on the same connection, with the same batch size. rcs[i] gets
 * cs[i]'s consumer_catch_up result (a standby's is 0); returns -1 when
 * one is -1, else 1 when one is 1, else 0. */
#define CONSUMER_SHARED_MAX 1024
int consumer_catch_up_shared(consumer **cs, size_t n, int *rcs);

/* Whether c's last write transaction was refused (db_begin: DB_NOT_NOW)
 * or failed at commit, none admitted since: calling consumer_catch_up
 * again soon costs nothing while refused, and goes on as soon as
 * db_begin admits a batch. */
bool consumer_held_off(const consumer *c);

/* Drains the SUB socket (call when it is readable) and applies what it
 * brings, catching up on a gap. 0 or -1 (database down, or its writers
 * backing off: drained unapplied, the next tick catches up from the log). */
int consumer_on_bus(consumer *c);

/* Once a second: publish the lag (lag.h; a partition only reads its
 * own) and catch up if the log moved past the offsets. 0, 1 when the
 * catch-up has more to do, or -1. A standby (consumer_set_lease) only
 * publishes the lag of the offsets the holder committed. */
int consumer_tick(consumer *c);

/* Publishes the lag (lag.h) of the offsets committed now, holder or
 * standby alike: /metrics calls it before every scrape, so that the gauges
 * are true when read rather than as of the last tick. as: NULL for c's
 * own offsets; for a partition of a partitioned consumer (partset.h), that
 * consumer's name, the gauges then reading the furthest behind of its
 * partitions (a partition's own tick does not publish). Outside a batch
 * (the loop's thread). 0, or -1 when the database failed (the gauges keep
 * their last values). Blocks. */
int consumer_publish_lag(consumer *c, const char *as);

/* Optional: called once per transaction, after the last event's apply fn
 * and before the emitted events are appended and the offsets advanced;
 * never after an apply that failed. A round of a shared catch-up
 * (consumer_catch_up_shared) is one transaction: its flush runs once,
 * after every partition's handlers, which ran in the order of the log's
 * chunk (an event of every partition by each partition in turn), and
 * writes what they all staged (in the part of one of them: tx). For handlers that stage a batch in
 * apply and write it set-based here (one statement per table rather than
 * per event). It may write and consumer_emit; since no single event is the
 * cause, it sets each envelope's event_id and causation_id itself.
 * CONSUMER_OK, or CONSUMER_RETRY to roll the batch back (it is then retried
 * one event per transaction, so a bad event is skipped alone). */
typedef consumer_result (*consumer_flush_fn)(consumer_txn *tx, void *arg);
void consumer_set_flush(consumer *c, consumer_flush_fn fn);

/* Optional: called once after every transaction that ran handlers, with
 * committed true when its commit succeeded and false when it was rolled
 * back or its outcome is unknown (the events are then applied again). For
 * handlers whose work has a side effect that must follow the commit and
 * never precede it (courier sends what it recorded): they stage it in
 * apply or flush and act on it, or drop it, here; and for handlers that
 * keep in memory what they wrote (a cache of their rows, so that the next
 * batch need not read them back): they drop it when committed is false.
 * Not in a transaction. */
typedef void (*consumer_done_fn)(bool committed, void *arg);
void consumer_set_done(consumer *c, consumer_done_fn fn);

/* How many events a transaction applies at most (default 500), from the
 * bus or from the log, and how long the bus path waits for more once a
 * batch has begun (default 0 ms: it takes what is waiting). A handler that
 * applies set-based (a flush function) gains from large batches; each
 * transaction costs its round trips, its offsets and its commit. max is
 * 1 .. CONSUMER_BATCH_MAX, linger_ms 0 .. 1000. */
#define CONSUMER_BATCH_MAX 100000
void consumer_set_batch(consumer *c, size_t max, int linger_ms);

/* Catch up every stream at once rather than one after the other: each
 * transaction takes a share of the batch from every stream, up to their
 * common recorded time (horizon.h), as the bus interleaves them live. For
 * a consumer whose events about one thing come on several streams and
 * that writes each thing once per batch: it then writes it once, not once
 * per stream. Off by default. */
void consumer_set_together(consumer *c, bool on);

/* Optional: asked before each batch the catch-up reads from the log: how
 * many events it may apply now (it reads at most that many, and never more
 * than its own batch); 0 holds the catch-up there (consumer_catch_up
 * returns 1, more to do, and a later call goes on). For a consumer whose
 * commits hand on work that must not pile up (courier: the first attempts
 * each commit starts). The bus is not paced: its batches are bounded by
 * what arrives. */
typedef size_t (*consumer_pace_fn)(void *arg);
void consumer_set_pace(consumer *c, consumer_pace_fn fn);

/* Optional: the lease (lease.h) this instance must hold to apply, so that
 * several instances of the service can run: the others stand by, draining
 * the bus and reading nothing, and each transaction checks the lease's
 * token before it commits (a stalled holder that was replaced rolls back)
 * and renews the lease with its commit (a batch may outlast the lease).
 * Borrowed; the caller renews it (lease_tick) and calls consumer_forget
 * whenever it is gained or lost. */
void consumer_set_lease(consumer *c, struct lease *l);

/* Optional: makes this consumer partition part of nparts (partset.h): it
 * applies only the events fn assigns to part or to every partition
 * (CONSUMER_PART_ALL), and acknowledges the others unread. fn is called
 * with the handlers' argument; it must give an event the same answer
 * every time (a replay assigns it alike). */
#define CONSUMER_PART_ALL (-1)
typedef int (*consumer_part_fn)(const event *ev, int nparts, void *arg);
void consumer_set_partition(consumer *c, int part, int nparts, consumer_part_fn fn);

/* Whether this instance may act for the consumer now: it has no lease,
 * or holds it. A service's own timers that write the consumer's state
 * (outside its transactions) run only then. */
bool consumer_active(const consumer *c);

/* For such a timer's transaction, just before its commit: 0 when it may
 * commit (no lease, or still held: see lease_fence), 1 when the lease was
 * taken over (roll back), -1 when the database failed. */
int consumer_fence(consumer *c);

/* BEGIN for such a timer's transaction (c may be NULL: a plain BEGIN).
 * DB_NOT_NOW (nothing begun) while the connection's writers back off.
 * With a lease, the transaction holds the lease's row from here on
 * (lease_hold: no takeover while it runs, however long; its fence renews
 * the lease), and PostgreSQL ends it if this instance stalls inside it for
 * two leases (lease_limit_txn), so that its row locks never hold the
 * instance that takes over for longer. 0, DB_NOT_NOW or -1. */
int consumer_begin(consumer *c, db *d);

/* Forgets what memory holds of the committed state (the offsets; the
 * handlers' caches, through the done function with committed false): it
 * is read again before the next event. For a lease just gained: another
 * instance moved the state meanwhile. */
void consumer_forget(consumer *c);

/* In a handler: */
db *consumer_txn_db(consumer_txn *tx);
/* The partition the transaction applies for (0 of 1 when not
 * partitioned); *nparts, if not NULL, gets their number. In a handler,
 * the partition of the event being applied; in the flush of a round of
 * several partitions, one of them: a flush that needs its records'
 * partitions takes them from its handlers. */
int consumer_txn_part(const consumer_txn *tx, int *nparts);
/* The seq of stream's last event in this transaction so far (handled or
 * not), or the committed offset when none: where the transaction leaves
 * the stream if it commits. */
uint64_t consumer_txn_position(const consumer_txn *tx, const char *stream);
/* Emits ev (type/body/correlation set; event_id derived from the cause when
 * empty, causation_id the cause's when empty) in the current transaction.
 * The envelope is only read, and packed at once: it may live on the
 * caller's stack. 0 or -1. */
int consumer_emit(consumer_txn *tx, const event *ev);

uint64_t consumer_offset(const consumer *c, const char *stream);
/* Events applied since start (for metrics and tests). */
uint64_t consumer_applied(const consumer *c);

#endif
