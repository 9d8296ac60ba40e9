/* eventlog.h — the event log in PostgreSQL: the truth behind the bus.
 *
 * Every producer appends to a named stream ("ingest", "router", "sla",
 * "survey"). Sequence numbers are gap-free and follow commit order: they
 * are assigned under the stream's row lock in eventlog.streams, held until
 * commit, so a reader that has seen seq N has seen every seq below it. (A
 * bigserial would not be: ids are taken before commit, and a late commit
 * would be skipped by a reader of "everything after N".)
 *
 * Idempotency: an entry with a (scope, key) already in the log is not
 * appended again; the existing event's id and seq are returned with
 * duplicate set, also for repeats within one batch.
 *
 * Consumers record how far they have read (eventlog.offsets) in the same
 * transaction as the state they derive.
 */
#ifndef CAREBUS_EVENTLOG_H
#define CAREBUS_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "event.h"
#include "id.h"

struct eventlog_entry {
    /* in */
    event *ev;              /* borrowed; type, body, occurred_at set */
    const char *idem_scope; /* NULL: not idempotent */
    const char *idem_key;
    /* out: ev->event_id, ev->stream and ev->seq point at / copy these */
    char event_id[ID_LEN];
    uint64_t seq;
    int64_t recorded_us;
    /* recorded_us as a message, for the caller to point ev->recorded_at at
     * before publishing (the log's readers set it from the row). */
    Google__Protobuf__Timestamp recorded;
    bool duplicate;
};

/* Appends in the caller's transaction (or as its own statement). An entry
 * whose ev->event_id is empty gets a new random id. Blocks. 0 or -1. */
int eventlog_append(db *d, const char *stream, struct eventlog_entry *e, size_t n);

/* The same, without blocking: sends the statement on conn (which must be in
 * non-blocking mode, no other query in flight) ... */
int eventlog_append_send(PGconn *conn, const char *stream, struct eventlog_entry *e,
                         size_t n);
/* ... and fills the entries from its result. 0, or -1 when the result is not
 * the expected one (the caller logs the statement's error). */
int eventlog_append_result(const PGresult *res, const char *stream,
                           struct eventlog_entry *e, size_t n);

/* Reads up to max events of stream with seq > after, in sequence order,
 * each with stream, seq and recorded_at set from the log. *out receives an
 * array of max owned events (free each with event_free). Returns how many
 * were read, or -1. Blocks. */
int eventlog_read(db *d, const char *stream, uint64_t after, int max, event **out);

/* The stream's last committed seq (0 for an empty or unknown stream). */
int eventlog_last_seq(db *d, const char *stream, uint64_t *out);

/* Consumer offsets. get: 0 when never set. advance: inside the caller's
 * transaction, together with the derived state, moves the offset from
 * `from` to `to` only if it still is `from` (two instances of a consumer
 * never both apply an event): 0 when advanced, 1 when another instance moved
 * it (roll back and reload), -1 on error. */
int eventlog_offset_get(db *d, const char *consumer, const char *stream, uint64_t *out);
int eventlog_offset_advance(db *d, const char *consumer, const char *stream, uint64_t from,
                            uint64_t to);

#endif
