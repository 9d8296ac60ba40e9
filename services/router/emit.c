/* emit.c — see emit.h. */
#include "emit.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emitter_init(emitter *e, consumer_txn *tx, const char *stream)
{
    memset(e, 0, sizeof *e);
    e->tx = tx;
    e->stream = stream;
}

void emitter_release(emitter *e)
{
    for (size_t i = 0; i < e->nlist; i++)
        eventlog_entry_release(&e->list[i]);
    free(e->list);
    e->list = NULL;
    e->nlist = e->cap = 0;
}

void emit_cause(emitter *e, const char *cause_id)
{
    if (strcmp(e->cause, cause_id) == 0)
        return;
    snprintf(e->cause, sizeof e->cause, "%s", cause_id);
    memset(e->count, 0, sizeof e->count);
    e->notes = 0;
}

void emit_note_id(emitter *e, char out[ID_LEN])
{
    char name[96];
    snprintf(name, sizeof name, "%s/note/%d", e->cause, e->notes++);
    id_derive(name, out);
}

/* Packs ev into the list (once: the log and the bus take these bytes). */
static int emit_keep(emitter *e, const event *ev)
{
    if (e->nlist == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        struct eventlog_entry *n = realloc(e->list, cap * sizeof *n);
        if (!n)
            return -1;
        e->list = n;
        e->cap = cap;
    }
    struct eventlog_entry *x = &e->list[e->nlist];
    memset(x, 0, sizeof *x);
    x->ev = ev;
    int rc = eventlog_entry_pack(x, e->stream);
    x->ev = NULL;
    if (rc == 0)
        e->nlist++;
    return rc;
}

int emit(emitter *e, const event *ev, const char *customer_id, const char *ticket_id, int64_t at)
{
    assert(e->cause[0] && "emit without a cause");
    int bc = (int)ev->body_case;
    assert(bc > 0 && bc < EMIT_TYPES);
    const char *type = event_type_name(ev->body_case);
    assert(type);
    char name[160], id[ID_LEN];
    snprintf(name, sizeof name, "%s/%s/%d", e->cause, type, e->count[bc]++);
    id_derive(name, id);
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&ts, at);
    /* The envelope as emitted: a shallow copy, the caller's is only read. */
    event x = *ev;
    x.event_id = id;
    x.type = (char *)type;
    x.causation_id = e->cause;
    x.customer_id = (char *)(customer_id ? customer_id : "");
    x.ticket_id = (char *)(ticket_id ? ticket_id : "");
    x.occurred_at = &ts;
    int rc = e->tx ? consumer_emit(e->tx, &x) : emit_keep(e, &x);
    if (rc == 0)
        e->emitted++;
    memcpy(e->last, id, sizeof e->last);
    return rc;
}
