/* emit.h — the router's events, with ids derived from their cause.
 *
 * Every event the router emits has the id v5("<cause id>/<type>/<k>"),
 * k numbering the events of that type caused by the same event: the same
 * scheme as consumer_emit's, so a replay emits the very same ids and the
 * log's idempotency drops the repeats. All events of one cause are emitted
 * together (emit_cause, then the events), which is what makes k stable.
 *
 * Two sinks: the consumer's transaction (consumer_emit; appended and
 * published by the consumer), or a list of log entries, each packed once
 * when emitted, that router_tick appends itself when it applies SLA events
 * outside a consumer batch.
 */
#ifndef CAREBUS_ROUTER_EMIT_H
#define CAREBUS_ROUTER_EMIT_H

#include <stdint.h>

#include "consumer.h"
#include "event.h"
#include "eventlog.h"
#include "id.h"

#define EMIT_TYPES 128 /* body cases */

typedef struct emitter {
    consumer_txn *tx;            /* the consumer's sink, or NULL: the list below */
    const char *stream;          /* the list's stream */
    struct eventlog_entry *list; /* packed, for eventlog_append (owned) */
    size_t nlist, cap;
    char cause[ID_LEN];
    int count[EMIT_TYPES];
    int notes; /* notes derived from the cause so far */
    size_t emitted;
    char last[ID_LEN]; /* the id of the last event emitted */
} emitter;

/* tx: the consumer's transaction, or NULL to keep the events in the list,
 * packed for stream. */
void emitter_init(emitter *e, consumer_txn *tx, const char *stream);
void emitter_release(emitter *e);
/* The events that follow are caused by cause_id. */
void emit_cause(emitter *e, const char *cause_id);
/* Emits ev (body set) with the derived id (then in e->last), the cause,
 * the correlation ids and occurred_at = at. ev is only read and may live on
 * the caller's stack. 0 or -1. */
int emit(emitter *e, const event *ev, const char *customer_id, const char *ticket_id, int64_t at);
/* The next note id of the cause (note ids derive like event ids). */
void emit_note_id(emitter *e, char out[ID_LEN]);

#endif
