/* emit.c — see emit.h. */
#include "emit.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emitter_init(emitter *e, consumer_txn *tx)
{
    memset(e, 0, sizeof *e);
    e->tx = tx;
}

void emitter_release(emitter *e)
{
    for (size_t i = 0; i < e->nlist; i++)
        event_free(&e->list[i]);
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

static int emit_keep(emitter *e, const event *ev)
{
    size_t len;
    uint8_t *bytes = event_pack(ev, &len);
    event *copy = bytes ? event_unpack(bytes, len) : NULL;
    free(bytes);
    if (!copy)
        return -1;
    if (e->nlist == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        event **n = realloc(e->list, cap * sizeof *n);
        if (!n) {
            event_free(&copy);
            return -1;
        }
        e->list = n;
        e->cap = cap;
    }
    e->list[e->nlist++] = copy;
    return 0;
}

int emit(emitter *e, event *ev, const char *customer_id, const char *ticket_id, int64_t at)
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
    ev->event_id = id;
    ev->type = (char *)type;
    ev->causation_id = e->cause;
    ev->customer_id = (char *)(customer_id ? customer_id : "");
    ev->ticket_id = (char *)(ticket_id ? ticket_id : "");
    ev->occurred_at = &ts;
    int rc = e->tx ? consumer_emit(e->tx, ev) : emit_keep(e, ev);
    ev->event_id = ev->type = ev->causation_id = ev->customer_id = ev->ticket_id = NULL;
    ev->occurred_at = NULL;
    if (rc == 0)
        e->emitted++;
    return rc;
}
