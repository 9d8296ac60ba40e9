/* eventlog.h — the event log in PostgreSQL: the truth behind the bus.
 *
 * Every producer appends to a named stream ("ingest", "router", "sla",
 * "survey", "courier"). Sequence numbers are gap-free and follow commit order: they
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

#include "datakey.h"
#include "db.h"
#include "event.h"
#include "id.h"

/* An entry's envelope is packed once (eventlog_entry_pack), as the log
 * stores it: with its event_id, type and stream, without seq and
 * recorded_at, which the log assigns. Once appended, the entry's wire holds
 * those bytes followed by the log's stream, seq and recorded_at as a second
 * encoding of the same fields (protobuf merges them: the last one wins):
 * the envelope as the bus publishes it and, byte for byte, as eventlog_read
 * reconstructs it from the row (eventlog_wire). */
#define EVENTLOG_TYPE_MAX 64
#define EVENTLOG_NO_TIME INT64_MIN

struct eventlog_entry {
    /* in */
    const event *ev;        /* borrowed until packed, never changed */
    const char *idem_scope; /* NULL: not idempotent (borrowed until appended) */
    const char *idem_key;
    /* the row, set by eventlog_entry_pack */
    char event_id[ID_LEN]; /* the envelope's, or a new random one; after the
                            * append the log's (a duplicate's: the first's) */
    char type[EVENTLOG_TYPE_MAX];
    char customer_id[ID_LEN], ticket_id[ID_LEN]; /* "" when absent */
    int64_t occurred_us;                         /* EVENTLOG_NO_TIME when absent */
    uint8_t *wire; /* owned (eventlog_entry_release): the packed envelope */
    size_t payload_len, wire_len;
    size_t wire_cap; /* wire's allocation: room for the trailer the seal appends */
    /* The payload as stored, when its personal fields are sealed
     * (datakey.h): owned, NULL when the log stores wire's first payload_len
     * bytes; then datakey is the wrapped key privacy.datakeys keeps. */
    uint8_t *sealed;
    size_t sealed_len;
    uint8_t datakey[DATAKEY_WRAPPED_LEN];
    /* out */
    uint64_t seq;
    int64_t recorded_us;
    bool duplicate;
};

/* Packs e->ev for stream, and seals its personal fields (datakey.h); the
 * envelope is not read again. 0, or -1 (logged)
 * when it has no body, an id too long for a uuid, or memory ran out. */
int eventlog_entry_pack(struct eventlog_entry *e, const char *stream);
/* Completes a packed entry with what the log assigned (for appends made by
 * a SQL function of a service's own, like survey.answer). 0 or -1. */
int eventlog_entry_seal(struct eventlog_entry *e, const char *stream, uint64_t seq,
                        int64_t recorded_us);
/* Frees the bytes (the entry can be packed again). */
void eventlog_entry_release(struct eventlog_entry *e);

/* The bytes the log stores for a packed entry (sealed or plain). */
const uint8_t *eventlog_entry_stored(const struct eventlog_entry *e, size_t *len);

/* The envelope as published, from a stored payload and its row's stream,
 * seq and recorded_at: malloc'd (caller frees), NULL when out of memory. */
uint8_t *eventlog_wire(const uint8_t *payload, size_t len, const char *stream, uint64_t seq,
                       int64_t recorded_us, size_t *out_len);
/* The same into out (emptied first; for readers of many events), from a
 * row of the log read with EVENTLOG_DATAKEY_JOIN: its personal fields
 * opened with its data key (wrapped, wrapped_len; NULL when the row has
 * none: erased fields read DATAKEY_ERASED). 0, or -1 when the payload does
 * not open (logged) or memory ran out. */
struct buf;
int eventlog_wire_buf(struct buf *out, const uint8_t *payload, size_t len, const uint8_t *wrapped,
                      size_t wrapped_len, const char *stream, uint64_t seq, int64_t recorded_us);

/* eventlog_wire_buf for row `row` of a binary result that holds the
 * payload and datakey columns at c_payload and c_datakey. */
int eventlog_wire_row(struct buf *out, const PGresult *r, int row, int c_payload, int c_datakey,
                      const char *stream, uint64_t seq, int64_t recorded_us);

/* The event of row `row` of a binary result that holds the payload and
 * datakey columns at c_payload and c_datakey (EVENTLOG_DATAKEY_JOIN), its
 * personal fields opened through scratch: owned (event_destroy), NULL when
 * the payload does not open or unpack (not logged: the caller says what
 * it was reading). */
event *eventlog_event_row(const PGresult *r, int row, int c_payload, int c_datakey,
                          struct buf *scratch);

/* What a reader of eventlog.events e adds to its FROM clause to get each
 * row's data key as the column "datakey" (NULL: none, or destroyed). */
#define EVENTLOG_DATAKEY_JOIN " LEFT JOIN privacy.datakeys dk ON dk.event_id = e.event_id"
#define EVENTLOG_DATAKEY_COL "dk.wrapped AS datakey"

/* Appends in the caller's transaction (or as its own statement); entries
 * not packed yet are packed first. Afterwards each entry has its event_id,
 * seq, recorded_us, duplicate and its wire bytes to publish. Blocks. 0 or
 * -1 (then nothing of the batch was appended). */
int eventlog_append(db *d, const char *stream, struct eventlog_entry *e, size_t n);

/* eventlog_append in a transaction of its own, rolled back when it fails
 * (for a timer's decisions, which are their own unit of work). Returns how
 * many entries were appended, duplicates not counted, or -1. Blocks. */
int eventlog_append_commit(db *d, const char *stream, struct eventlog_entry *e, size_t n);

/* The same, without blocking: sends the statement on conn (which must be in
 * non-blocking mode, no other query in flight); prepared: by name, as
 * eventlog_append_prepare_send prepared it on this session (no parse,
 * analysis and planning per batch: a tenth of channel-ingest's write
 * backend's CPU under load) ... */
int eventlog_append_send(PGconn *conn, const char *stream, struct eventlog_entry *e, size_t n,
                         bool prepared);
/* Sends the preparation of that statement, under EVENTLOG_APPEND_STMT, on
 * conn (the same conditions; its result is COMMAND_OK or an error, e.g.
 * when this session has one of that name already). 0, or -1 if it could
 * not be sent. */
int eventlog_append_prepare_send(PGconn *conn);
#define EVENTLOG_APPEND_STMT "carebus_eventlog_append"
/* ... and fills the entries from its result. 0, or -1 when the result is not
 * the expected one (the caller logs the statement's error). */
int eventlog_append_result(const PGresult *res, const char *stream, struct eventlog_entry *e,
                           size_t n);

/* The rows eventlog.append(stream, rows json) takes for these entries
 * (packing those not packed yet), appended to out: for a statement of the
 * caller's own that appends as one of its parts (courier's outcomes and
 * their events, in one statement). Fill the entries from the function's
 * rows with eventlog_entry_seal. 0, or -1 when packing or memory failed. */
int eventlog_rows_json(const char *stream, struct eventlog_entry *e, size_t n, struct buf *out);

/* Reads up to max events of stream with seq > after, in sequence order,
 * each with stream, seq and recorded_at set from the log. *out receives an
 * array of max owned events (free each with event_destroy). Returns how many
 * were read, or -1. Blocks. */
int eventlog_read(db *d, const char *stream, uint64_t after, int max, event **out);

/* The stream's last committed seq (0 for an empty or unknown stream). */
int eventlog_last_seq(db *d, const char *stream, uint64_t *out);

/* The stream's last seq once an append in flight has committed (waited
 * for, not held: eventlog.settled_last_seq, 0098), as column "last_seq";
 * parameter $1 the stream. For a reader that must not pass over an event
 * still being committed, and then reads up to that seq. */
#define EVENTLOG_SETTLED_SQL "SELECT eventlog.settled_last_seq($1) AS last_seq"

/* EVENTLOG_SETTLED_SQL on its own. 0 or -1. Blocks. */
int eventlog_settled_last_seq(db *d, const char *stream, uint64_t *out);

/* Consumer offsets. get: 0 when never set. advance: inside the caller's
 * transaction, together with the derived state, moves the offset from
 * `from` to `to` only if it still is `from` (two instances of a consumer
 * never both apply an event): 0 when advanced, 1 when another instance moved
 * it (roll back and reload), -1 on error. */
int eventlog_offset_get(db *d, const char *consumer, const char *stream, uint64_t *out);
int eventlog_offset_advance(db *d, const char *consumer, const char *stream, uint64_t from,
                            uint64_t to);
/* eventlog_offset_advance of several offsets (of one consumer's streams,
 * or of several partitions': consumer.h) in one statement: 0 when every
 * one advanced, 1 when one or more did not (another instance moved it:
 * roll back the whole and reload), -1 on error. */
struct eventlog_advance {
    const char *consumer, *stream;
    uint64_t from, to;
};
int eventlog_offsets_advance(db *d, const struct eventlog_advance *a, size_t n);

#endif
