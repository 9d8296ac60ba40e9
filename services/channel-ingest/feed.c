/* feed.c — GET /v1/events: pages of the log, and the requests that wait.
 *
 * One statement reads a page (FEED_PAGE_SQL), so one snapshot sees both the
 * events and each stream's last_seq: since seqs follow commit order, every
 * event up to that last_seq is visible, and the next cursor may move a
 * stream past events it skipped (not of the reader's types) up to there.
 * Filtered scans stop after FEED_SCAN_WINDOW seqs per stream and page, so
 * that a rare type never makes one statement read a whole stream: the page
 * then says has_more, and a waiting request reads on at once.
 *
 * A waiting request is linked in the feed's list from its start to its
 * answer (the list's length is what CAREBUS_FEED_MAX_WAITING bounds), and
 * has at most one page query in flight; a wake-up while one is in flight
 * marks it to read again. The request's memory is its own (freed with the
 * request); the feed only links it, and forgets it when it is answered.
 */
#include "feed.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "dbq.h"
#include "event_json.h"
#include "event_match.h"
#include "eventlog.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "vocab.h"

#define FEED_TICK_MS 50
/* The fallback look at eventlog.streams, while anyone waits. */
#define FEED_CHECK_MS 250
/* At most this often per request, however often the bus wakes it. */
#define FEED_REQUERY_MS 20
/* The bus filters stay on this long after the last waiting request, so
 * that a reader polling in a loop does not turn them off and on. */
#define FEED_LINGER_MS 10000
/* Seqs scanned per stream and page when filtering by type. */
#define FEED_SCAN_WINDOW 10000

/* $1 streams, $2 their positions, $3 the types (NULL: all), $4 the limit,
 * $5 the scan window. Rows: the page's events (k, stream, seq,
 * recorded_us, payload, data key) in page order, then one row per stream with k NULL:
 * (stream, its next position, its last_seq). Each stream's candidates are
 * its next events after the cursor; they are merged by the running maximum
 * of recorded_at within the stream (t), which never decreases along a
 * stream, so the first $4 of them hold a prefix of each stream's
 * candidates: the page never skips an event. A stream whose candidates were
 * all taken (fewer than $4) moves to the end of its window. */
static const char FEED_PAGE_SQL[] =
    "WITH pos AS ("
    "  SELECT p.stream, p.seq FROM unnest($1::text[], $2::bigint[]) AS p (stream, seq)"
    "), win AS ("
    "  SELECT s.stream, s.last_seq, least(coalesce(p.seq, 0), s.last_seq) AS after"
    "    FROM eventlog.streams s LEFT JOIN pos p ON p.stream = s.stream"
    "), cand AS ("
    "  SELECT w.stream, e.seq, e.recorded_at,"
    "         max(e.recorded_at) OVER (PARTITION BY w.stream ORDER BY e.seq) AS t,"
    "         count(*) OVER (PARTITION BY w.stream) AS n"
    "    FROM win w CROSS JOIN LATERAL ("
    "         SELECT e.seq, e.recorded_at FROM eventlog.events e"
    "          WHERE e.stream = w.stream AND e.seq > w.after"
    "            AND e.seq <= least(w.last_seq, w.after + $5::bigint)"
    "            AND ($3::text[] IS NULL OR e.type = ANY ($3::text[]))"
    "          ORDER BY e.seq LIMIT $4::int) e"
    "), page AS ("
    "  SELECT c.stream, c.seq, c.recorded_at, c.n,"
    "         row_number() OVER (ORDER BY c.t, c.stream, c.seq) AS k"
    "    FROM cand c ORDER BY c.t, c.stream, c.seq LIMIT $4::int"
    "), took AS ("
    "  SELECT p.stream, count(*) AS n, max(p.seq) AS last, max(p.n) AS cand"
    "    FROM page p GROUP BY p.stream"
    "), cn AS ("
    "  SELECT c.stream, max(c.n) AS n FROM cand c GROUP BY c.stream"
    ")"
    " SELECT p.k, p.stream, p.seq,"
    "        (extract(epoch FROM p.recorded_at) * 1000000)::bigint, e.payload, dk.wrapped"
    "   FROM page p JOIN eventlog.events e"
    "     ON e.stream = p.stream AND e.seq = p.seq" EVENTLOG_DATAKEY_JOIN " UNION ALL"
    " SELECT NULL, w.stream,"
    "        CASE WHEN coalesce(t.n, 0) = coalesce(cn.n, 0) AND coalesce(cn.n, 0) < $4::int"
    "             THEN least(w.last_seq, w.after + $5::bigint)"
    "             ELSE coalesce(t.last, w.after) END,"
    "        w.last_seq, NULL, NULL"
    "   FROM win w LEFT JOIN took t ON t.stream = w.stream LEFT JOIN cn ON cn.stream = w.stream"
    "  ORDER BY 1 NULLS LAST";

static const char FEED_STREAMS_SQL[] = "SELECT stream, last_seq FROM eventlog.streams";

struct feed {
    loop *loop;
    bus *bus;
    dbq *q;
    int timer;
    long max_waiting;
    size_t nwaiting;
    struct feed_req *head; /* the requests that may wait, until answered */
    bool listening;        /* the bus filters are on */
    bool checking;         /* FEED_STREAMS_SQL in flight */
    bool stopping;
    int64_t idle_since_ms; /* when the last waiting request left */
    int64_t next_check_ms;
    buf wire; /* each event's bytes, reused */
};

struct feed_req {
    feed *f; /* NULL once the feed forgot it (answered, or the feed is gone) */
    http_req *r;
    struct feed_query q;
    struct feed_cursor seen; /* each stream's last_seq as of the last page */
    int64_t deadline_ms;
    int64_t last_query_ms;
    bool linked, in_flight, again, has_more;
    struct feed_req *prev, *next;
};

/* --- parameters ------------------------------------------------------------ */

static bool given(const char *s)
{
    return s && *s;
}

/* A decimal in [min, max] without sign or blanks. */
static int parse_int(const char *s, int min, int max, int *out)
{
    long v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 6)
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0 || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_types(const char *types, struct feed_query *q, struct message_error *err)
{
    char copy[FEED_TYPES_MAX * (EVENT_MATCH_MAX + 1)];
    if (strlen(types) >= sizeof copy)
        return field_fail(err, "invalid_field", "types",
                          "\"types\" is too long (at most %d patterns)", FEED_TYPES_MAX);
    snprintf(copy, sizeof copy, "%s", types);
    const char *patterns[FEED_TYPES_MAX];
    size_t n = 0;
    char *save = NULL;
    for (char *p = copy, *tok; (tok = strtok_r(p, ",", &save)); p = NULL) {
        const char *why;
        if (n == FEED_TYPES_MAX)
            return field_fail(err, "invalid_field", "types", "\"types\" has more than %d patterns",
                              FEED_TYPES_MAX);
        if (event_match_check(tok, &why) != 0)
            return field_fail(err, "invalid_field", "types", "\"types\" pattern \"%.64s\" %s", tok,
                              why);
        patterns[n++] = tok;
    }
    if (n == 0 || types[0] == ',' || types[strlen(types) - 1] == ',' || strstr(types, ",,"))
        return field_fail(err, "invalid_field", "types",
                          "\"types\" must be event type patterns separated by commas");
    const char *matched[256];
    size_t all = vocab_event_type_count();
    assert(all <= sizeof matched / sizeof matched[0]);
    size_t m = event_match_types(patterns, n, matched, all);
    q->all_types = m == all;
    buf b = BUF_INIT;
    buf_putc(&b, '{');
    for (size_t i = 0; i < m; i++)
        buf_printf(&b, "%s\"%s\"", i ? "," : "", matched[i]);
    buf_putc(&b, '}');
    bool fits = !b.failed && b.len < sizeof q->types_sql;
    if (fits)
        memcpy(q->types_sql, buf_str(&b), b.len + 1);
    buf_release(&b);
    assert(fits && "FEED_TYPES_SQL_MAX holds every type of the schema");
    return 0;
}

int feed_query_parse(const char *after, const char *types, const char *limit, const char *wait,
                     struct feed_query *q, struct message_error *err)
{
    memset(q, 0, sizeof *q);
    feed_cursor_init(&q->after);
    q->all_types = true;
    q->limit = FEED_LIMIT_DEFAULT;
    if (given(after) && feed_cursor_decode(after, &q->after) != 0)
        return field_fail(err, "invalid_field", "after",
                          "\"after\" is not a cursor this feed returned (next_cursor)");
    if (given(limit) && parse_int(limit, 1, FEED_LIMIT_MAX, &q->limit) != 0)
        return field_fail(err, "invalid_field", "limit",
                          "\"limit\" must be an integer from 1 to %d", FEED_LIMIT_MAX);
    if (given(wait) && parse_int(wait, 0, FEED_WAIT_MAX_S, &q->wait_s) != 0)
        return field_fail(err, "invalid_field", "wait",
                          "\"wait\" must be a number of seconds from 0 to %d", FEED_WAIT_MAX_S);
    if (given(types) && parse_types(types, q, err) != 0)
        return -1;
    return 0;
}

/* --- the waiting list -------------------------------------------------------- */

static void feed_link(feed *f, struct feed_req *fr)
{
    fr->linked = true;
    fr->prev = NULL;
    fr->next = f->head;
    if (f->head)
        f->head->prev = fr;
    f->head = fr;
    f->nwaiting++;
    metrics_set("carebus_feed_waiting", (double)f->nwaiting);
}

static void feed_unlink(feed *f, struct feed_req *fr)
{
    if (!fr->linked)
        return;
    if (fr->prev)
        fr->prev->next = fr->next;
    else
        f->head = fr->next;
    if (fr->next)
        fr->next->prev = fr->prev;
    fr->prev = fr->next = NULL;
    fr->linked = false;
    f->nwaiting--;
    metrics_set("carebus_feed_waiting", (double)f->nwaiting);
    if (!f->head)
        f->idle_since_ms = time_mono_ms();
}

static void feed_req_free(void *p)
{
    struct feed_req *fr = p;
    assert(!fr->in_flight && "a request is answered only once its page query is back");
    if (fr->f)
        feed_unlink(fr->f, fr);
    free(fr);
}

/* Turns the bus filters on (while requests wait) or off. */
static void feed_listen(feed *f, bool on)
{
    if (f->listening == on)
        return;
    for (size_t i = 0; i < bus_stream_count(); i++)
        bus_filter(f->bus, bus_stream_at(i), on);
    f->listening = on;
    log_debug("event feed: bus wake-ups %s", on ? "on" : "off");
}

/* --- answers ------------------------------------------------------------------ */

/* The page: events (JSON objects separated by commas, or ""), the cursor. */
static void feed_answer(struct feed_req *fr, const char *events, size_t nevents)
{
    if (fr->f)
        feed_unlink(fr->f, fr);
    fr->f = NULL;
    char cursor[FEED_CURSOR_MAX];
    feed_cursor_encode(&fr->q.after, cursor);
    buf b = BUF_INIT;
    buf_puts(&b, "{\"events\":[");
    buf_puts(&b, events);
    buf_printf(&b, "],\"next_cursor\":\"%s\",\"has_more\":%s}", cursor,
               fr->has_more ? "true" : "false");
    if (b.failed) {
        log_error("out of memory answering a page of %zu events", nevents);
        http_reply_error(fr->r, 500, "internal", NULL, "could not encode the page");
    } else {
        metrics_add("carebus_feed_events_total", (double)nevents);
        http_reply(fr->r, 200, "application/json", b.data, b.len);
    }
    buf_release(&b);
}

static void feed_fail(struct feed_req *fr, bool unavailable)
{
    if (fr->f)
        feed_unlink(fr->f, fr);
    fr->f = NULL;
    if (unavailable) {
        metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
        ingest_reply_unavailable(fr->r);
    } else {
        http_reply_error(fr->r, 500, "internal", NULL, "could not read the event log");
    }
}

/* --- pages ----------------------------------------------------------------------- */

static void feed_on_page(PGresult *res, void *arg);

/* A text[] or bigint[] literal of the cursor's streams or positions. */
static void cursor_arrays(const struct feed_cursor *c, buf *streams, buf *seqs)
{
    buf_putc(streams, '{');
    buf_putc(seqs, '{');
    for (size_t i = 0; i < c->n; i++) {
        /* Stream names are [A-Za-z0-9_.-]: quoted, nothing to escape (and
         * a stream named "null" stays a name). */
        buf_printf(streams, "%s\"%s\"", i ? "," : "", c->pos[i].stream);
        buf_printf(seqs, "%s%" PRIu64, i ? "," : "", c->pos[i].seq);
    }
    buf_putc(streams, '}');
    buf_putc(seqs, '}');
}

/* Sends the request's page query; false after answering 503. */
static bool feed_query(feed *f, struct feed_req *fr)
{
    buf streams = BUF_INIT, seqs = BUF_INIT;
    cursor_arrays(&fr->q.after, &streams, &seqs);
    char limit[16], window[24];
    snprintf(limit, sizeof limit, "%d", fr->q.limit);
    snprintf(window, sizeof window, "%d", FEED_SCAN_WINDOW);
    const char *params[] = {buf_str(&streams), buf_str(&seqs),
                            fr->q.all_types ? NULL : fr->q.types_sql, limit, window};
    int rc = streams.failed || seqs.failed
                 ? -1
                 : dbq_query(f->q, FEED_PAGE_SQL, 5, params, feed_on_page, fr);
    buf_release(&streams);
    buf_release(&seqs);
    if (rc != 0) {
        feed_fail(fr, true);
        return false;
    }
    fr->in_flight = true;
    fr->last_query_ms = time_mono_ms();
    return true;
}

/* Appends one event row's JSON to out. 0, or -1 when it does not decode
 * (never skipped silently: the reader would lose it). */
static int feed_event_json(feed *f, PGresult *res, int i, buf *out)
{
    const char *stream = PQgetvalue(res, i, 1);
    uint64_t seq = strtoull(PQgetvalue(res, i, 2), NULL, 10);
    size_t len = 0, klen = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 4), &len);
    unsigned char *key = PQgetisnull(res, i, 5)
                             ? NULL
                             : PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 5), &klen);
    int built = bytes && (key || PQgetisnull(res, i, 5))
                    ? eventlog_wire_buf(&f->wire, bytes, len, key, klen, stream, seq,
                                        strtoll(PQgetvalue(res, i, 3), NULL, 10))
                    : -1;
    PQfreemem(bytes);
    PQfreemem(key);
    event *ev = built == 0 ? event_unpack((const uint8_t *)f->wire.data, f->wire.len) : NULL;
    json_t *j = ev ? event_json(ev) : NULL;
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    event_destroy(&ev);
    if (!text) {
        log_error("event feed: event %s/%" PRIu64 " does not decode", stream, seq);
        return -1;
    }
    if (out->len)
        buf_putc(out, ',');
    buf_puts(out, text);
    free(text);
    return 0;
}

static void feed_pump(feed *f);

static void feed_on_page(PGresult *res, void *arg)
{
    struct feed_req *fr = arg;
    feed *f = fr->f;
    assert(f && "a request in flight is not answered yet");
    fr->in_flight = false;
    if (!res) {
        /* The connection failed, or the feed is closing (an empty page:
         * the reader asks again). */
        if (f->stopping)
            feed_answer(fr, "", 0);
        else
            feed_fail(fr, true);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorMessage(res);
        log_error("event feed: reading a page failed: %.*s", (int)strcspn(msg, "\n"), msg);
        feed_fail(fr, false);
        return;
    }
    buf events = BUF_INIT;
    size_t nevents = 0;
    struct feed_cursor next;
    feed_cursor_init(&next);
    feed_cursor_init(&fr->seen);
    fr->has_more = false;
    for (int i = 0; i < PQntuples(res); i++) {
        if (!PQgetisnull(res, i, 0)) {
            if (feed_event_json(f, res, i, &events) != 0) {
                buf_release(&events);
                feed_fail(fr, false);
                return;
            }
            nevents++;
            continue;
        }
        const char *stream = PQgetvalue(res, i, 1);
        uint64_t pos = strtoull(PQgetvalue(res, i, 2), NULL, 10);
        uint64_t last = strtoull(PQgetvalue(res, i, 3), NULL, 10);
        /* XXX: a stream the cursor cannot name (a name outside its
         * alphabet, or a 65th stream) is not followed; carebus's streams
         * are a handful of plain words. */
        if (feed_cursor_set(&next, stream, pos) != 0 ||
            feed_cursor_set(&fr->seen, stream, last) != 0)
            log_warn("event feed: stream \"%.64s\" cannot be followed by a cursor", stream);
        fr->has_more |= pos < last;
    }
    fr->q.after = next;
    int64_t now = time_mono_ms();
    if (events.failed) {
        buf_release(&events);
        feed_fail(fr, true);
        return;
    }
    if (nevents > 0 || !fr->linked || f->stopping || now >= fr->deadline_ms) {
        feed_answer(fr, buf_str(&events), nevents);
        buf_release(&events);
        return;
    }
    buf_release(&events);
    /* Nothing yet: wait, or read on at once past what the scan skipped. */
    if (fr->has_more)
        fr->again = true;
    feed_listen(f, true);
    feed_pump(f);
}

/* Reads again for the requests marked so, at most every FEED_REQUERY_MS. */
static void feed_pump(feed *f)
{
    int64_t now = time_mono_ms();
    for (struct feed_req *fr = f->head, *next; fr; fr = next) {
        next = fr->next;
        if (fr->in_flight || !fr->again || now - fr->last_query_ms < FEED_REQUERY_MS)
            continue;
        fr->again = false;
        feed_query(f, fr);
    }
}

/* --- wake-ups ------------------------------------------------------------------- */

static void feed_wake_all(feed *f)
{
    for (struct feed_req *fr = f->head; fr; fr = fr->next)
        fr->again = true;
    feed_pump(f);
}

static int feed_on_bus(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    feed *f = arg;
    if (bus_discard(f->bus) > 0)
        feed_wake_all(f);
    return 0;
}

/* The fallback: a request whose last page saw a stream behind its
 * last_seq now (or did not see the stream at all) reads again. */
static void feed_on_streams(PGresult *res, void *arg)
{
    feed *f = arg;
    f->checking = false;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || f->stopping)
        return;
    for (struct feed_req *fr = f->head; fr; fr = fr->next)
        for (int i = 0; i < PQntuples(res) && !fr->again; i++)
            if (strtoull(PQgetvalue(res, i, 1), NULL, 10) >
                feed_cursor_get(&fr->seen, PQgetvalue(res, i, 0)))
                fr->again = true;
    feed_pump(f);
}

static int feed_on_tick(loop *l, void *arg)
{
    (void)l;
    feed *f = arg;
    int64_t now = time_mono_ms();
    for (struct feed_req *fr = f->head, *next; fr; fr = next) {
        next = fr->next;
        if (!fr->in_flight && now >= fr->deadline_ms)
            feed_answer(fr, "", 0);
    }
    if (f->head && !f->checking && now >= f->next_check_ms) {
        f->next_check_ms = now + FEED_CHECK_MS;
        if (dbq_query(f->q, FEED_STREAMS_SQL, 0, NULL, feed_on_streams, f) == 0)
            f->checking = true;
    }
    if (!f->head && f->listening && now - f->idle_since_ms >= FEED_LINGER_MS)
        feed_listen(f, false);
    feed_pump(f);
    return 0;
}

/* --- the handler ----------------------------------------------------------------- */

http_status feed_get(http_req *r, void *arg)
{
    ingest *in = arg;
    /* The feed spans channels: a key limited to some reads none of it. */
    if (!auth_unscoped_ok(in->auth, r, auth_grant(r)))
        return HTTP_DONE;
    struct feed_query q;
    struct message_error err;
    if (feed_query_parse(http_query(r, "after"), http_query(r, "types"), http_query(r, "limit"),
                         http_query(r, "wait"), &q, &err) != 0) {
        ingest_reject(r, 400, err.code, err.code, err.field, "%s", err.message);
        return HTTP_DONE;
    }
    feed *f = in->feed;
    if (q.wait_s > 0 && f->nwaiting >= (size_t)f->max_waiting) {
        http_add_header(r, "Retry-After", "1");
        ingest_reject(r, 503, "feed_busy", "unavailable", NULL,
                      "%zu requests are waiting on the event feed already; retry after 1 second",
                      f->nwaiting);
        return HTTP_DONE;
    }
    struct feed_req *fr = calloc(1, sizeof *fr);
    if (!fr) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    fr->f = f;
    fr->r = r;
    fr->q = q;
    fr->deadline_ms = time_mono_ms() + (int64_t)q.wait_s * 1000;
    http_set_data(r, fr, feed_req_free);
    if (q.wait_s > 0)
        feed_link(f, fr);
    feed_query(f, fr);
    return HTTP_SUSPENDED; /* also when answered (503) already: http.c queues it */
}

/* --- life ------------------------------------------------------------------------- */

feed *feed_new(loop *l, bus *b, const char *conninfo, long max_waiting)
{
    feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->loop = l;
    f->bus = b;
    f->max_waiting = max_waiting;
    f->timer = -1;
    metrics_describe("carebus_feed_waiting", "gauge",
                     "Requests long-polling GET /v1/events (wait > 0), not yet answered");
    metrics_describe("carebus_feed_events_total", "counter", "Events served by GET /v1/events");
    metrics_set("carebus_feed_waiting", 0);
    for (size_t i = 0; i < bus_stream_count(); i++)
        if (bus_connect(b, bus_stream_at(i)) != 0)
            goto fail;
    if (!(f->q = dbq_new(l, conninfo, "channel-ingest/feed")) ||
        loop_add_socket(l, bus_sub_socket(b), ZMQ_POLLIN, feed_on_bus, f) != 0 ||
        (f->timer = loop_add_timer(l, FEED_TICK_MS, feed_on_tick, f)) < 0)
        goto fail;
    return f;
fail:
    log_error("could not start the event feed");
    feed_destroy(&f);
    return NULL;
}

void feed_destroy(feed **pf)
{
    feed *f = *pf;
    if (!f)
        return;
    f->stopping = true;
    /* In-flight pages are answered by their callback (NULL result). */
    dbq_destroy(&f->q);
    while (f->head)
        feed_answer(f->head, "", 0);
    if (f->timer > 0)
        loop_remove_timer(f->loop, f->timer);
    if (bus_sub_socket(f->bus))
        loop_remove_socket(f->loop, bus_sub_socket(f->bus));
    buf_release(&f->wire);
    free(f);
    *pf = NULL;
}
