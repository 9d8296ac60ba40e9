/* group_commit.h — many requests, one commit.
 *
 * Requests submit an event; while one append statement is in flight, new
 * submissions wait; when it completes, everything waiting goes out as the
 * next statement (up to a batch limit). Each submitter is called back only
 * after its event's commit result has arrived, and accepted events are then
 * published on the bus. Durability is never traded: synchronous_commit stays
 * on; the throughput comes from sharing each fsync among a batch.
 *
 * Every submitter is answered within about twice wait_ms
 * (CAREBUS_SYNC_WAIT_MS): a batch whose commit waits longer than wait_ms
 * (a synchronous standby that is gone) is cancelled and failed by the
 * write dbq (dbq_set_deadline, set by the caller), and what waited behind
 * it for wait_ms is failed unsent. A failed batch may stand in the log unconfirmed: the client's
 * retry with its idempotency key finds that event, and is answered only
 * when its own commit is confirmed (see group_commit.c).
 */
#ifndef GROUP_COMMIT_H
#define GROUP_COMMIT_H

#include <stddef.h>

#include "bus.h"
#include "dbq.h"
#include "eventlog.h"
#include "loop.h"

typedef struct group_commit group_commit;

/* e: the submitter's entry, filled in (event_id, seq, duplicate) before the
 * call. ok: 0 when committed, -1 when the database failed (nothing of the
 * batch was committed, or its outcome is unknown: answer 503). */
typedef void (*group_commit_fn)(struct eventlog_entry *e, int ok, void *arg);

/* wait_ms: the most a submitter waits for its answer (db_commit_wait_config). */
group_commit *group_commit_new(loop *l, dbq *q, bus *b, const char *stream, size_t max_batch,
                               long wait_ms);
/* Fails whatever waits (callbacks with -1). */
void group_commit_destroy(group_commit **pg);

/* Queues e (borrowed until the callback), packing its envelope (the caller
 * releases the entry, eventlog_entry_release, when done with it). 0, or -1
 * when the database is down, the queue is full or the envelope does not
 * pack (the callback is not called: answer 503). */
int group_commit_submit(group_commit *g, struct eventlog_entry *e, group_commit_fn fn, void *arg);

#endif
