/* eventlog.c — append to and read from the event log (eventlog.* tables).
 *
 * An append is one call of the SQL function eventlog.append (see
 * deploy/migrations/0001_eventlog.sql) with parallel arrays in text form:
 * one round trip per batch, which is what makes group commit cheap. The
 * stored payload is the envelope without its seq (assigned by the function);
 * readers set seq, stream and recorded_at from the row.
 */
#include "eventlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "timeutil.h"

#define EVENTLOG_APPEND_SQL                                                                     \
    "SELECT idx, event_id, seq, (extract(epoch FROM recorded_at) * 1000000)::bigint, duplicate " \
    "FROM eventlog.append($1, $2::uuid[], $3::text[], $4::text[], $5::text[], "                \
    "$6::timestamptz[], $7::uuid[], $8::uuid[], $9::bytea[])"

/* Appends s as a quoted array element, or NULL. */
static void array_put_text(buf *b, const char *s)
{
    if (b->len > 1)
        buf_putc(b, ',');
    if (!s) {
        buf_puts(b, "NULL");
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void array_put_bytea(buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (b->len > 1)
        buf_putc(b, ',');
    buf_puts(b, "\"\\\\x");
    for (size_t i = 0; i < n; i++) {
        char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        buf_append(b, two, 2);
    }
    buf_putc(b, '"');
}

enum { A_IDS, A_TYPES, A_SCOPES, A_KEYS, A_OCCURRED, A_CUSTOMERS, A_TICKETS, A_PAYLOADS, A_N };

/* Prepares each entry (id, stream) and builds the nine array parameters. */
static int eventlog_build(const char *stream, struct eventlog_entry *e, size_t n, buf a[A_N])
{
    for (int k = 0; k < A_N; k++)
        buf_putc(&a[k], '{');
    for (size_t i = 0; i < n; i++) {
        event *ev = e[i].ev;
        if (!ev->event_id || !ev->event_id[0]) {
            id_new(e[i].event_id);
        } else {
            snprintf(e[i].event_id, sizeof e[i].event_id, "%s", ev->event_id);
        }
        ev->event_id = e[i].event_id;
        ev->stream = (char *)stream;
        ev->seq = 0;
        if (!ev->type || !ev->type[0])
            ev->type = (char *)event_type_name(ev->body_case);
        if (!ev->type) {
            log_error("eventlog: entry %zu has no body", i);
            return -1;
        }
        char occurred[TIME_RFC3339_LEN];
        if (ev->occurred_at)
            time_format_rfc3339(event_ts_us(ev->occurred_at), occurred);
        array_put_text(&a[A_IDS], ev->event_id);
        array_put_text(&a[A_TYPES], ev->type);
        array_put_text(&a[A_SCOPES], e[i].idem_key ? e[i].idem_scope : NULL);
        array_put_text(&a[A_KEYS], e[i].idem_scope ? e[i].idem_key : NULL);
        array_put_text(&a[A_OCCURRED], ev->occurred_at ? occurred : NULL);
        array_put_text(&a[A_CUSTOMERS],
                       ev->customer_id && ev->customer_id[0] ? ev->customer_id : NULL);
        array_put_text(&a[A_TICKETS], ev->ticket_id && ev->ticket_id[0] ? ev->ticket_id : NULL);
        size_t len;
        uint8_t *packed = event_pack(ev, &len);
        if (!packed)
            return -1;
        array_put_bytea(&a[A_PAYLOADS], packed, len);
        free(packed);
    }
    for (int k = 0; k < A_N; k++) {
        buf_putc(&a[k], '}');
        if (a[k].failed)
            return -1;
    }
    return 0;
}

static void eventlog_release(buf a[A_N])
{
    for (int k = 0; k < A_N; k++)
        buf_release(&a[k]);
}

/* The statement's parameters: the stream, then the nine arrays. */
static int eventlog_params(const char *stream, struct eventlog_entry *e, size_t n, buf a[A_N],
                           const char *params[1 + A_N])
{
    if (eventlog_build(stream, e, n, a) != 0)
        return -1;
    params[0] = stream;
    for (int k = 0; k < A_N; k++)
        params[1 + k] = buf_str(&a[k]);
    return 0;
}

int eventlog_append_send(PGconn *conn, const char *stream, struct eventlog_entry *e, size_t n)
{
    buf a[A_N] = {0};
    const char *params[1 + A_N];
    int rc = -1;
    if (eventlog_params(stream, e, n, a, params) == 0 &&
        PQsendQueryParams(conn, EVENTLOG_APPEND_SQL, 1 + A_N, NULL, params, NULL, NULL, 0))
        rc = 0;
    eventlog_release(a);
    return rc;
}

int eventlog_append_result(const PGresult *res, const char *stream, struct eventlog_entry *e,
                           size_t n)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK || (size_t)PQntuples(res) != n)
        return -1;
    for (int row = 0; row < (int)n; row++) {
        long idx = strtol(PQgetvalue(res, row, 0), NULL, 10) - 1;
        if (idx < 0 || (size_t)idx >= n)
            return -1;
        struct eventlog_entry *x = &e[idx];
        snprintf(x->event_id, sizeof x->event_id, "%s", PQgetvalue(res, row, 1));
        x->seq = strtoull(PQgetvalue(res, row, 2), NULL, 10);
        x->recorded_us = strtoll(PQgetvalue(res, row, 3), NULL, 10);
        google__protobuf__timestamp__init(&x->recorded);
        event_ts_set(&x->recorded, x->recorded_us);
        x->duplicate = PQgetvalue(res, row, 4)[0] == 't';
        x->ev->event_id = x->event_id;
        x->ev->stream = (char *)stream;
        x->ev->seq = x->seq;
    }
    return 0;
}

int eventlog_append(db *d, const char *stream, struct eventlog_entry *e, size_t n)
{
    if (n == 0)
        return 0;
    buf a[A_N] = {0};
    const char *params[1 + A_N];
    int rc = -1;
    PGresult *r = NULL;
    if (eventlog_params(stream, e, n, a, params) != 0 ||
        !(r = db_exec(d, EVENTLOG_APPEND_SQL, 1 + A_N, params)))
        goto out;
    rc = eventlog_append_result(r, stream, e, n);
    if (rc != 0)
        log_error("eventlog: unexpected result from eventlog.append");
out:
    PQclear(r);
    eventlog_release(a);
    return rc;
}

int eventlog_read(db *d, const char *stream, uint64_t after, int max, event **out)
{
    char after_s[24], max_s[16];
    snprintf(after_s, sizeof after_s, "%" PRIu64, after);
    snprintf(max_s, sizeof max_s, "%d", max);
    const char *params[] = {stream, after_s, max_s};
    PGresult *r = db_exec(d,
                          "SELECT seq, payload, (extract(epoch FROM recorded_at) * 1000000)::bigint"
                          " FROM eventlog.events WHERE stream = $1 AND seq > $2"
                          " ORDER BY seq LIMIT $3",
                          3, params);
    if (!r)
        return -1;
    int n = PQntuples(r), got = 0;
    for (int i = 0; i < n; i++) {
        size_t len;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 1), &len);
        event *ev = bytes ? event_unpack(bytes, len) : NULL;
        PQfreemem(bytes);
        uint64_t seq = strtoull(PQgetvalue(r, i, 0), NULL, 10);
        if (!ev) {
            /* Never skip silently: the caller stops at this seq. */
            log_error("eventlog: event %s/%" PRIu64 " does not decode", stream, seq);
            break;
        }
        /* The unpacked strings belong to the message: replace, don't alias. */
        if (event_set_str(&ev->stream, stream) != 0)
            ev->stream = NULL;
        ev->seq = seq;
        if (!ev->recorded_at) {
            ev->recorded_at = malloc(sizeof *ev->recorded_at);
            if (ev->recorded_at)
                google__protobuf__timestamp__init(ev->recorded_at);
        }
        if (!ev->stream || !ev->recorded_at) {
            event_free(&ev);
            break;
        }
        event_ts_set(ev->recorded_at, strtoll(PQgetvalue(r, i, 2), NULL, 10));
        out[got++] = ev;
    }
    PQclear(r);
    return got;
}

int eventlog_last_seq(db *d, const char *stream, uint64_t *out)
{
    const char *params[] = {stream};
    PGresult *r = db_exec(d, "SELECT last_seq FROM eventlog.streams WHERE stream = $1", 1, params);
    if (!r)
        return -1;
    *out = PQntuples(r) ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

int eventlog_offset_get(db *d, const char *consumer, const char *stream, uint64_t *out)
{
    const char *params[] = {consumer, stream};
    PGresult *r = db_exec(d, "SELECT seq FROM eventlog.offsets WHERE consumer = $1 AND stream = $2",
                          2, params);
    if (!r)
        return -1;
    *out = PQntuples(r) ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

int eventlog_offset_advance(db *d, const char *consumer, const char *stream, uint64_t from,
                            uint64_t to)
{
    char from_s[24], to_s[24];
    snprintf(from_s, sizeof from_s, "%" PRIu64, from);
    snprintf(to_s, sizeof to_s, "%" PRIu64, to);
    const char *params[] = {consumer, stream, from_s, to_s};
    /* From 0 the row may not exist yet; otherwise it must hold `from`. */
    PGresult *r = db_exec(d,
                          from == 0 ? "INSERT INTO eventlog.offsets AS o (consumer, stream, seq)"
                                      " VALUES ($1, $2, $4) ON CONFLICT (consumer, stream)"
                                      " DO UPDATE SET seq = excluded.seq, updated_at = now()"
                                      " WHERE o.seq = $3"
                                    : "UPDATE eventlog.offsets SET seq = $4, updated_at = now()"
                                      " WHERE consumer = $1 AND stream = $2 AND seq = $3",
                          4, params);
    if (!r)
        return -1;
    int rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : 1;
    PQclear(r);
    return rc;
}
