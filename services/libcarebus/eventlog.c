/* eventlog.c — append to and read from the event log (eventlog.* tables).
 *
 * An append is one call of the SQL function eventlog.append_columns (see
 * deploy/migrations/0077_eventlog_append_columns.sql, which tries the batch
 * as all fresh, then 0056_eventlog_append_binary.sql's
 * eventlog.append_checked, which looks for its duplicates) with each of the
 * batch's columns as one array parameter in binary (pgbin.h: uuids, times
 * and payloads as their bytes; JSON rows, then hex inside them, cost the
 * server most of its parsing): one round trip per batch, which is what
 * makes group commit cheap. The stored
 * payload is the envelope packed once, without the seq and recorded_at the
 * function assigns; the published bytes and the readers' reconstruction
 * append those as a trailer (eventlog_wire), so both are the same bytes.
 */
#include "eventlog.h"

#include <assert.h>
#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "pgbin.h"
#include "rowset.h"

/* The rows eventlog.append's rows-only form takes (0004, 0089: for a
 * statement of a caller's own, eventlog_rows_json): eventlog.events'
 * columns, read by name with json_to_recordset. The same columns go to
 * eventlog.append_columns as arrays (append_params_build; a new column goes
 * into both, and into the SQL bodies 0077 names). */
static void put_scope(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct eventlog_entry *e = row;
    rowset_put_str(p, e->idem_key ? e->idem_scope : NULL);
}

static void put_key(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct eventlog_entry *e = row;
    rowset_put_str(p, e->idem_scope ? e->idem_key : NULL);
}

static void put_payload(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    size_t n;
    const uint8_t *b = eventlog_entry_stored(row, &n);
    rowset_put_bytea(p, b, n);
}

static void put_datakey(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct eventlog_entry *e = row;
    if (e->sealed)
        rowset_put_bytea(p, e->datakey, sizeof e->datakey);
    else
        rowset_put_str(p, NULL);
}

#define E(f) ROWSET_AT(struct eventlog_entry, f)
static const struct rowset_col eventlog_cols[] = {
    {"event_id", "uuid", ROWSET_ID, E(event_id)},
    {"type", "text", ROWSET_ID, E(type)},
    {"idem_scope", "text", ROWSET_FN, .get = put_scope},
    {"idem_key", "text", ROWSET_FN, .get = put_key},
    {"occurred_at", "timestamptz", ROWSET_TIME, E(occurred_us), .none = EVENTLOG_NO_TIME},
    {"customer_id", "uuid", ROWSET_ID, E(customer_id)},
    {"ticket_id", "uuid", ROWSET_ID, E(ticket_id)},
    {"payload", "bytea", ROWSET_FN, .get = put_payload},
    /* not a column of the log: eventlog.append keeps it in privacy.datakeys */
    {"datakey", "bytea", ROWSET_FN, .get = put_datakey},
};
#undef E
static const rowset_table eventlog_events = {"eventlog.events", eventlog_cols,
                                             ROWSET_COUNT(eventlog_cols), NULL};

#define EVENTLOG_APPEND_SQL                                                                        \
    "SELECT idx, event_id, seq, (extract(epoch FROM recorded_at) * 1000000)::bigint"               \
    " AS recorded_us, duplicate FROM eventlog.append_columns($1, $2::uuid[], $3::text[],"          \
    " $4::text[], $5::text[], $6::timestamptz[], $7::uuid[], $8::uuid[], $9::bytea[], "            \
    "$10::bytea[])"

/* The trailer's bytes beyond the stream's name (eventlog_trailer): the
 * stream's tag and length, seq's tag and varint, recorded_at's tag, length
 * and its two fields; at most 49. */
#define EVENTLOG_TRAILER_MAX 64

/* Copies an id-like string into a fixed field; -1 when it does not fit
 * (not a uuid: the append would fail on it anyway). */
static int copy_field(char *dst, size_t cap, const char *s, const char *what)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap) {
        log_error("eventlog: %s \"%.40s...\" is too long", what, s);
        return -1;
    }
    memcpy(dst, s ? s : "", n + 1);
    return 0;
}

int eventlog_entry_pack(struct eventlog_entry *e, const char *stream)
{
    const event *ev = e->ev;
    assert(ev && !e->wire);
    const char *type = ev->type && ev->type[0] ? ev->type : event_type_name(ev->body_case);
    if (!type) {
        log_error("eventlog: an event to append has no body");
        return -1;
    }
    if (ev->event_id && ev->event_id[0]) {
        if (copy_field(e->event_id, sizeof e->event_id, ev->event_id, "event_id") != 0)
            return -1;
    } else {
        id_new(e->event_id);
    }
    if (copy_field(e->type, sizeof e->type, type, "type") != 0 ||
        copy_field(e->customer_id, sizeof e->customer_id, ev->customer_id, "customer_id") != 0 ||
        copy_field(e->ticket_id, sizeof e->ticket_id, ev->ticket_id, "ticket_id") != 0)
        return -1;
    e->occurred_us = ev->occurred_at ? event_ts_us(ev->occurred_at) : EVENTLOG_NO_TIME;
    /* As stored: the log's columns for what it assigns later. A shallow
     * copy, so the caller's envelope is only read. */
    event stored = *ev;
    stored.event_id = e->event_id;
    stored.type = e->type;
    stored.stream = (char *)stream;
    stored.seq = 0;
    stored.recorded_at = NULL;
    /* Packed with room for the trailer eventlog_entry_seal appends in place
     * (the bytes published and stored are then never copied). */
    size_t n = carebus__v1__envelope__get_packed_size(&stored);
    size_t cap = n + EVENTLOG_TRAILER_MAX + strlen(stream) + 1;
    if (!(e->wire = malloc(cap)))
        return -1;
    e->payload_len = carebus__v1__envelope__pack(&stored, e->wire);
    assert(e->payload_len == n);
    e->wire_len = e->payload_len;
    e->wire_cap = cap;
    buf sealed = BUF_INIT;
    int rc = datakey_seal(e->wire, e->payload_len, e->event_id, &sealed, e->datakey);
    if (rc == 1)
        e->sealed = (uint8_t *)buf_detach(&sealed, &e->sealed_len);
    buf_release(&sealed);
    if (rc < 0 || (rc == 1 && !e->sealed)) {
        eventlog_entry_release(e);
        return -1;
    }
    return 0;
}

const uint8_t *eventlog_entry_stored(const struct eventlog_entry *e, size_t *len)
{
    assert(e->wire);
    *len = e->sealed ? e->sealed_len : e->payload_len;
    return e->sealed ? e->sealed : e->wire;
}

/* --- the trailer: what the log assigns, appended to the packed envelope ---- */

/* Writes v as a protobuf varint at p (room for 10 bytes); its length. */
static size_t varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

/* A field's number, from the generated descriptor (the .proto decides). */
static uint64_t field_number(const ProtobufCMessageDescriptor *d, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);
    assert(f && "a field the schema does not have");
    return f->id;
}

/* Appends stream, seq and recorded_at encoded as protobuf-c encodes an
 * envelope holding only them (the unit test checks it byte for byte), but
 * without packing a message: readers of the whole log do this per event. */
static void eventlog_trailer(buf *out, const char *stream, uint64_t seq, int64_t recorded_us)
{
    static uint64_t f_stream, f_seq, f_recorded, f_seconds, f_nanos;
    if (!f_stream) {
        f_seq = field_number(&carebus__v1__envelope__descriptor, "seq");
        f_recorded = field_number(&carebus__v1__envelope__descriptor, "recorded_at");
        f_seconds = field_number(&google__protobuf__timestamp__descriptor, "seconds");
        f_nanos = field_number(&google__protobuf__timestamp__descriptor, "nanos");
        f_stream = field_number(&carebus__v1__envelope__descriptor, "stream");
    }
    Google__Protobuf__Timestamp rec = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&rec, recorded_us);
    uint8_t b[80], ts[24];
    size_t n = 0, tn = 0, slen = strlen(stream);
    /* proto3: a field at its default is not written. */
    if (slen) {
        n += varint(b + n, f_stream << 3 | 2);
        n += varint(b + n, slen);
        buf_append(out, b, n);
        buf_append(out, stream, slen);
        n = 0;
    }
    if (seq) {
        n += varint(b + n, f_seq << 3);
        n += varint(b + n, seq);
    }
    if (rec.seconds) {
        tn += varint(ts + tn, f_seconds << 3);
        tn += varint(ts + tn, (uint64_t)rec.seconds);
    }
    if (rec.nanos) {
        tn += varint(ts + tn, f_nanos << 3);
        tn += varint(ts + tn, (uint64_t)(int64_t)rec.nanos); /* int32: sign-extended */
    }
    n += varint(b + n, f_recorded << 3 | 2);
    n += varint(b + n, tn);
    memcpy(b + n, ts, tn);
    buf_append(out, b, n + tn);
}

/* Appends the trailer to out, which holds a payload. */
static int eventlog_wire_end(buf *out, const char *stream, uint64_t seq, int64_t recorded_us)
{
    eventlog_trailer(out, stream, seq, recorded_us);
    return out->failed ? -1 : 0;
}

int eventlog_wire_buf(buf *out, const uint8_t *payload, size_t len, const uint8_t *wrapped,
                      size_t wrapped_len, const char *stream, uint64_t seq, int64_t recorded_us)
{
    int opened = datakey_open(payload, len, wrapped, wrapped_len, out);
    if (opened < 0) {
        log_error("eventlog: event %s/%" PRIu64 " does not open", stream, seq);
        return -1;
    }
    if (opened == 0) {
        buf_reset(out);
        buf_append(out, payload, len);
    }
    return eventlog_wire_end(out, stream, seq, recorded_us);
}

int eventlog_wire_row(buf *out, const PGresult *r, int row, int c_payload, int c_datakey,
                      const char *stream, uint64_t seq, int64_t recorded_us)
{
    bool keyed = !PQgetisnull(r, row, c_datakey);
    return eventlog_wire_buf(
        out, (const uint8_t *)PQgetvalue(r, row, c_payload), (size_t)PQgetlength(r, row, c_payload),
        keyed ? (const uint8_t *)PQgetvalue(r, row, c_datakey) : NULL,
        keyed ? (size_t)PQgetlength(r, row, c_datakey) : 0, stream, seq, recorded_us);
}

uint8_t *eventlog_wire(const uint8_t *payload, size_t len, const char *stream, uint64_t seq,
                       int64_t recorded_us, size_t *out_len)
{
    buf b = BUF_INIT;
    buf_append(&b, payload, len);
    if (eventlog_wire_end(&b, stream, seq, recorded_us) != 0) {
        buf_release(&b);
        return NULL;
    }
    return (uint8_t *)buf_detach(&b, out_len);
}

int eventlog_entry_seal(struct eventlog_entry *e, const char *stream, uint64_t seq,
                        int64_t recorded_us)
{
    assert(e->wire);
    /* In place, in the room eventlog_entry_pack left (buf grows it when an
     * entry was packed otherwise). */
    buf w = {(char *)e->wire, e->payload_len, e->wire_cap ? e->wire_cap : e->payload_len, 0};
    if (eventlog_wire_end(&w, stream, seq, recorded_us) != 0)
        return -1;
    e->wire = (uint8_t *)w.data;
    e->wire_len = w.len;
    e->wire_cap = w.cap;
    e->seq = seq;
    e->recorded_us = recorded_us;
    return 0;
}

void eventlog_entry_release(struct eventlog_entry *e)
{
    free(e->wire);
    free(e->sealed);
    e->wire = e->sealed = NULL;
    e->payload_len = e->wire_len = e->wire_cap = e->sealed_len = 0;
}

/* Packs what is not packed yet and writes the rows (all their columns). */
static const char *eventlog_rows(const char *stream, struct eventlog_entry *e, size_t n,
                                 rowset *rows)
{
    rowset_init(rows, &eventlog_events, NULL);
    for (size_t i = 0; i < n; i++) {
        if (!e[i].wire && eventlog_entry_pack(&e[i], stream) != 0)
            return NULL;
        rowset_add(rows, &e[i]);
    }
    return rowset_json(rows);
}

int eventlog_rows_json(const char *stream, struct eventlog_entry *e, size_t n, buf *out)
{
    rowset rows;
    const char *json = eventlog_rows(stream, e, n, &rows);
    if (json)
        buf_puts(out, json);
    rowset_release(&rows);
    return json && !out->failed ? 0 : -1;
}

/* An append's ten parameters (EVENTLOG_APPEND_SQL): the stream, then one
 * array per column of the batch, each in binary (pgbin.h). */
enum {
    AP_STREAM,
    AP_IDS,
    AP_TYPES,
    AP_SCOPES,
    AP_KEYS,
    AP_OCCURRED,
    AP_CUSTOMERS,
    AP_TICKETS,
    AP_PAYLOADS,
    AP_DATAKEYS,
    AP_N
};

struct append_params {
    buf arrays[AP_N]; /* arrays[AP_STREAM] unused */
    const char *values[AP_N];
    int lengths[AP_N], formats[AP_N];
};

/* Packs what is not packed yet and fills p; release it with
 * append_params_release whatever the outcome. 0, or -1 (an id that is not
 * a uuid: the server would refuse the statement). */
static int append_params_build(struct append_params *p, const char *stream,
                               struct eventlog_entry *e, size_t n)
{
    static const uint32_t oids[AP_N] = {
        [AP_IDS] = PGBIN_UUID_OID,
        [AP_TYPES] = PGBIN_TEXT_OID,
        [AP_SCOPES] = PGBIN_TEXT_OID,
        [AP_KEYS] = PGBIN_TEXT_OID,
        [AP_OCCURRED] = PGBIN_TIMESTAMPTZ_OID,
        [AP_CUSTOMERS] = PGBIN_UUID_OID,
        [AP_TICKETS] = PGBIN_UUID_OID,
        [AP_PAYLOADS] = PGBIN_BYTEA_OID,
        [AP_DATAKEYS] = PGBIN_BYTEA_OID,
    };
    memset(p, 0, sizeof *p);
    pgbin_array a[AP_N];
    for (int c = AP_IDS; c < AP_N; c++) {
        pgbin_array_begin(&a[c], &p->arrays[c], oids[c], n);
    }
    for (size_t i = 0; i < n; i++) {
        struct eventlog_entry *x = &e[i];
        if (!x->wire && eventlog_entry_pack(x, stream) != 0)
            return -1;
        /* Both or neither (the table's check): as the JSON rows put them. */
        bool keyed = x->idem_scope && x->idem_key;
        size_t len;
        const uint8_t *b = eventlog_entry_stored(x, &len);
        if (pgbin_array_add_uuid(&a[AP_IDS], x->event_id) != 0 ||
            pgbin_array_add_uuid(&a[AP_CUSTOMERS], x->customer_id) != 0 ||
            pgbin_array_add_uuid(&a[AP_TICKETS], x->ticket_id) != 0) {
            log_error("eventlog: an id of event %s is not a uuid", x->event_id);
            return -1;
        }
        pgbin_array_add_text(&a[AP_TYPES], x->type);
        pgbin_array_add_text(&a[AP_SCOPES], keyed ? x->idem_scope : NULL);
        pgbin_array_add_text(&a[AP_KEYS], keyed ? x->idem_key : NULL);
        if (x->occurred_us == EVENTLOG_NO_TIME)
            pgbin_array_add(&a[AP_OCCURRED], NULL, 0);
        else
            pgbin_array_add_time(&a[AP_OCCURRED], x->occurred_us);
        pgbin_array_add(&a[AP_PAYLOADS], b, len);
        pgbin_array_add(&a[AP_DATAKEYS], x->sealed ? x->datakey : NULL, sizeof x->datakey);
    }
    p->values[AP_STREAM] = stream;
    for (int c = AP_IDS; c < AP_N; c++) {
        if (p->arrays[c].failed || p->arrays[c].len > INT32_MAX)
            return -1;
        p->values[c] = p->arrays[c].data;
        p->lengths[c] = (int)p->arrays[c].len;
        p->formats[c] = 1;
    }
    return 0;
}

static void append_params_release(struct append_params *p)
{
    for (int c = AP_IDS; c < AP_N; c++)
        buf_release(&p->arrays[c]);
}

int eventlog_append_send(PGconn *conn, const char *stream, struct eventlog_entry *e, size_t n,
                         bool prepared)
{
    struct append_params p;
    int rc = -1;
    if (append_params_build(&p, stream, e, n) == 0)
        rc = (prepared ? PQsendQueryPrepared(conn, EVENTLOG_APPEND_STMT, AP_N, p.values, p.lengths,
                                             p.formats, 0)
                       : PQsendQueryParams(conn, EVENTLOG_APPEND_SQL, AP_N, NULL, p.values,
                                           p.lengths, p.formats, 0))
                 ? 0
                 : -1;
    append_params_release(&p);
    return rc;
}

int eventlog_append_prepare_send(PGconn *conn)
{
    return PQsendPrepare(conn, EVENTLOG_APPEND_STMT, EVENTLOG_APPEND_SQL, AP_N, NULL) ? 0 : -1;
}

int eventlog_append_result(const PGresult *res, const char *stream, struct eventlog_entry *e,
                           size_t n)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK || (size_t)PQntuples(res) != n)
        return -1;
    /* The columns by name once, not per row: a batch has hundreds. */
    int c_idx = PQfnumber(res, "idx"), c_id = PQfnumber(res, "event_id"),
        c_dup = PQfnumber(res, "duplicate"), c_seq = PQfnumber(res, "seq"),
        c_rec = PQfnumber(res, "recorded_us");
    if (c_idx < 0 || c_id < 0 || c_dup < 0 || c_seq < 0 || c_rec < 0)
        return -1;
    for (int row = 0; row < (int)n; row++) {
        long idx = strtol(PQgetvalue(res, row, c_idx), NULL, 10) - 1;
        if (idx < 0 || (size_t)idx >= n)
            return -1;
        struct eventlog_entry *x = &e[idx];
        snprintf(x->event_id, sizeof x->event_id, "%s", PQgetvalue(res, row, c_id));
        x->duplicate = PQgetvalue(res, row, c_dup)[0] == 't';
        if (eventlog_entry_seal(x, stream, strtoull(PQgetvalue(res, row, c_seq), NULL, 10),
                                strtoll(PQgetvalue(res, row, c_rec), NULL, 10)) != 0)
            return -1;
    }
    return 0;
}

int eventlog_append(db *d, const char *stream, struct eventlog_entry *e, size_t n)
{
    if (n == 0)
        return 0;
    struct append_params p;
    int rc = -1;
    PGresult *r = append_params_build(&p, stream, e, n) == 0
                      ? db_exec_params(d, EVENTLOG_APPEND_SQL, AP_N, p.values, p.lengths, p.formats)
                      : NULL;
    if (!r)
        goto out;
    rc = eventlog_append_result(r, stream, e, n);
    if (rc != 0)
        log_error("eventlog: unexpected result from eventlog.append");
out:
    PQclear(r);
    append_params_release(&p);
    return rc;
}

int eventlog_append_commit(db *d, const char *stream, struct eventlog_entry *e, size_t n)
{
    if (db_begin(d) != 0)
        return -1;
    if (eventlog_append(d, stream, e, n) != 0 || db_commit(d) != 0) {
        db_rollback(d);
        return -1;
    }
    int appended = 0;
    for (size_t i = 0; i < n; i++)
        appended += !e[i].duplicate;
    return appended;
}

event *eventlog_event_row(const PGresult *r, int row, int c_payload, int c_datakey, buf *scratch)
{
    bool keyed = !PQgetisnull(r, row, c_datakey);
    const uint8_t *pay = (const uint8_t *)PQgetvalue(r, row, c_payload);
    size_t len = (size_t)PQgetlength(r, row, c_payload);
    int opened =
        datakey_open(pay, len, keyed ? (const uint8_t *)PQgetvalue(r, row, c_datakey) : NULL,
                     keyed ? (size_t)PQgetlength(r, row, c_datakey) : 0, scratch);
    return opened < 0    ? NULL
           : opened == 1 ? event_unpack((const uint8_t *)scratch->data, scratch->len)
                         : event_unpack(pay, len);
}

/* A bigint of a binary result. */
static int64_t be64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (int64_t)be64toh(v);
}

int eventlog_read(db *d, const char *stream, uint64_t after, int max, event **out)
{
    char after_s[24], max_s[16];
    snprintf(after_s, sizeof after_s, "%" PRIu64, after);
    snprintf(max_s, sizeof max_s, "%d", max);
    const char *params[] = {stream, after_s, max_s};
    /* Binary results: the payload's bytes as they are, no hex. */
    PGresult *r =
        db_exec_binary(d,
                       "SELECT e.seq, e.payload, " EVENTLOG_DATAKEY_COL
                       ", (extract(epoch FROM e.recorded_at) * 1000000)::bigint AS recorded_us"
                       " FROM eventlog.events e" EVENTLOG_DATAKEY_JOIN
                       " WHERE e.stream = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
                       3, params);
    if (!r)
        return -1;
    int n = PQntuples(r), got = 0;
    int c_seq = PQfnumber(r, "seq"), c_pay = PQfnumber(r, "payload"),
        c_rec = PQfnumber(r, "recorded_us"), c_key = PQfnumber(r, "datakey");
    assert(c_seq >= 0 && c_pay >= 0 && c_rec >= 0 && c_key >= 0);
    buf wire = BUF_INIT; /* each event's bytes, as they were published */
    for (int i = 0; i < n; i++) {
        uint64_t seq = (uint64_t)be64(PQgetvalue(r, i, c_seq));
        int built = eventlog_wire_row(&wire, r, i, c_pay, c_key, stream, seq,
                                      be64(PQgetvalue(r, i, c_rec)));
        event *ev = built == 0 ? event_unpack((const uint8_t *)wire.data, wire.len) : NULL;
        if (!ev) {
            /* Never skip silently: the caller stops at this seq. */
            log_error("eventlog: event %s/%" PRIu64 " does not decode", stream, seq);
            break;
        }
        out[got++] = ev;
    }
    buf_release(&wire);
    PQclear(r);
    return got;
}

/* sql's "last_seq" for stream ($1; 0 when it has no row). */
static int eventlog_seq_of(db *d, const char *sql, const char *stream, uint64_t *out)
{
    const char *params[] = {stream};
    PGresult *r = db_exec(d, sql, 1, params);
    if (!r)
        return -1;
    *out = PQntuples(r) ? strtoull(db_value(r, 0, "last_seq"), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

int eventlog_last_seq(db *d, const char *stream, uint64_t *out)
{
    return eventlog_seq_of(d, "SELECT last_seq FROM eventlog.streams WHERE stream = $1", stream,
                           out);
}

int eventlog_settled_last_seq(db *d, const char *stream, uint64_t *out)
{
    return eventlog_seq_of(d, EVENTLOG_SETTLED_SQL, stream, out);
}

int eventlog_offset_get(db *d, const char *consumer, const char *stream, uint64_t *out)
{
    const char *params[] = {consumer, stream};
    PGresult *r = db_exec(d, "SELECT seq FROM eventlog.offsets WHERE consumer = $1 AND stream = $2",
                          2, params);
    if (!r)
        return -1;
    *out = PQntuples(r) ? strtoull(db_value(r, 0, "seq"), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

#define O(f) ROWSET_AT(struct eventlog_advance, f)
static const struct rowset_col eventlog_advance_cols[] = {
    {"consumer", "text", ROWSET_STR, O(consumer)},
    {"stream", "text", ROWSET_STR, O(stream)},
    {"from_seq", "bigint", ROWSET_U64, O(from)},
    {"to_seq", "bigint", ROWSET_U64, O(to)},
};
#undef O
static const rowset_table eventlog_advances = {"eventlog.offsets", eventlog_advance_cols,
                                               ROWSET_COUNT(eventlog_advance_cols), NULL};

/* Each offset moves only from where it was: from 0 the row may not exist
 * yet; otherwise it must hold `from`. n: the offsets moved. */
static rowset_stmt eventlog_advance_sql = ROWSET_STMT(
    eventlog_advances,
    "WITH x AS (SELECT * FROM {@rows $1 x}),"
    " u AS (UPDATE eventlog.offsets o SET seq = x.to_seq, updated_at = now() FROM x"
    "        WHERE x.from_seq <> 0 AND o.consumer = x.consumer AND o.stream = x.stream"
    "          AND o.seq = x.from_seq RETURNING 1),"
    " i AS (INSERT INTO eventlog.offsets AS o (consumer, stream, seq)"
    "        SELECT consumer, stream, to_seq FROM x WHERE from_seq = 0"
    "        ON CONFLICT (consumer, stream) DO UPDATE SET seq = excluded.seq, updated_at = now()"
    "        WHERE o.seq = 0 RETURNING 1)"
    " SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM i) AS n");

int eventlog_offsets_advance(db *d, const struct eventlog_advance *a, size_t n)
{
    if (!n)
        return 0;
    rowset w;
    rowset_init(&w, &eventlog_advances, NULL);
    for (size_t i = 0; i < n; i++)
        rowset_add(&w, &a[i]);
    const char *json = rowset_json(&w), *sql = rowset_stmt_sql(&eventlog_advance_sql);
    PGresult *r = json && sql ? db_exec(d, sql, 1, &json) : NULL;
    rowset_release(&w);
    if (!r)
        return -1;
    int rc = strtoull(db_value(r, 0, "n"), NULL, 10) == n ? 0 : 1;
    PQclear(r);
    return rc;
}

int eventlog_offset_advance(db *d, const char *consumer, const char *stream, uint64_t from,
                            uint64_t to)
{
    struct eventlog_advance a = {consumer, stream, from, to};
    return eventlog_offsets_advance(d, &a, 1);
}
