/* router.c — staging a batch, routing it, and the router's settings.
 *
 * The consumer stages each event of a batch that the router reacts to
 * (router_handlers) and calls router_flush once at its end, inside its
 * transaction. The flush reads the
 * router's place (router.position, locked: a second instance waits, and
 * the consumer's offset check makes it reload), puts the batch in the
 * log's order with the SLA events due (order.h), and routes it (route.h)
 * over a model loaded and written back set-based (store.h); an unmerge
 * (route_barrier) is routed as a part of its own, between the parts before
 * and after it, all in the one transaction. Events of the "courier" stream
 * (delivery statuses) fold in any order and follow the others. A batch costs four round trips of
 * the router's own (place, prefetch in two, writes: pipe.h) whatever its size, plus the consumer's
 * append, offsets and commit (and one more for a reply whose ticket a merge in the batch changed:
 * store_conversation).
 *
 * The configuration (rules.h, ack.h) is a function's input besides the
 * log: a rebuild equals the live state when it runs with the same rules
 * and acknowledgements files, calendar and CAREBUS_REOPEN_WINDOW_S. XXX: recording each
 * configuration loaded as an event of the router's stream (with the offsets it applies from) would
 * make even that hold across changes.
 *
 * router.position is derived state like every router table: wiping the
 * tables and the offsets rebuilds it. A position ahead of the consumer's
 * offset means the offsets were reset without the tables (a rebuild that
 * truncated only some tables): the SLA position restarts from zero, as a
 * replay from nothing would.
 */
#include "router.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "calendar_config.h"
#include "config.h"
#include "eventlog.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "offline.h"
#include "order.h"
#include "pipe.h"
#include "recall.h"
#include "retention.h"
#include "route.h"
#include "store.h"
#include "teams.h"
#include "timeutil.h"

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

static rules *router_load_rules(const char *path)
{
    char err[512];
    rules *r = path ? rules_load(path, err, sizeof err) : rules_default(err, sizeof err);
    if (!r) {
        log_error("router config %s: %s", path ? path : "(built-in)", err);
        return NULL;
    }
    log_info("router config %s: %zu teams, %zu classification rules", r->origin, r->nteams,
             r->nrules);
    return r;
}

/* The acknowledgements of path (NULL: none) with, when a channel
 * acknowledges, the department's calendar (CAREBUS_ACK_CALENDAR). 0 with
 * *out (NULL: none), or -1 (logged). */
static int router_load_ack(const char *path, ack **out)
{
    *out = NULL;
    if (!path)
        return 0;
    char err[512];
    ack *a = ack_load(path, err, sizeof err);
    if (!a) {
        log_error("acknowledgements: %s", err);
        return -1;
    }
    if (ack_any(a)) {
        const char *id = config_str("ACK_CALENDAR", ACK_CALENDAR_DEFAULT);
        bool explicit_dir;
        char *dir = calendar_config_dir(&explicit_dir);
        calendar_config *cc = dir ? calendar_config_load(dir, err, sizeof err) : NULL;
        calendar *cal = cc ? calendar_config_take(cc, id) : NULL;
        bool found = cal != NULL;
        if (!found)
            log_error("acknowledgements: no calendar \"%s\" for business hours: %s", id,
                      !dir  ? "no configuration directory (CAREBUS_SLA_CONFIG_DIR)"
                      : !cc ? err
                            : "not in " CALENDAR_CONFIG_CALENDARS " (CAREBUS_ACK_CALENDAR)");
        else
            ack_set_calendar(a, &cal);
        calendar_config_destroy(&cc);
        free(dir);
        if (!found) {
            ack_destroy(&a);
            return -1;
        }
    }
    log_info("acknowledgements %s: %s", path, ack_any(a) ? "on for some channels" : "off");
    *out = a;
    return 0;
}

router *router_new(void)
{
    router *r = calloc(1, sizeof *r);
    if (!r) {
        log_error("router: out of memory");
        return NULL;
    }
    /* XXX: CAREBUS_DEFAULT_COUNTRY comes with the countries it can name;
     * identity.c knows Vietnam's numbering only. */
    r->country = IDENTITY_DEFAULT_COUNTRY;
    const char *err = NULL;
    long window;
    if (config_long("REOPEN_WINDOW_S", ROUTER_REOPEN_WINDOW_S, 0, 10L * 366 * 24 * 3600, &window,
                    &err) != 0) {
        log_error("%s", err);
        goto fail;
    }
    r->reopen_window_us = (int64_t)window * 1000000;
    long grace;
    if (config_long("OFFLINE_GRACE_S", OFFLINE_GRACE_S_DEFAULT, 0, 30L * 24 * 3600, &grace, &err) !=
        0) {
        log_error("%s", err);
        goto fail;
    }
    r->offline_grace_us = (int64_t)grace * 1000000;
    long retention;
    if (config_long("RETENTION_S", 0, 0, 100L * 366 * 24 * 3600, &retention, &err) != 0) {
        log_error("%s", err);
        goto fail;
    }
    r->retention_s = retention;
    r->email_domain = config_str("EMAIL_DOMAIN", ROUTER_EMAIL_DOMAIN_DEFAULT);
    const char *path = config_str("ROUTER_CONFIG", NULL);
    if (!path && access(ROUTER_CONFIG_DEFAULT, R_OK) == 0)
        path = ROUTER_CONFIG_DEFAULT;
    if (path && !(r->config_path = strdup(path)))
        goto fail;
    if (!(r->rules = router_load_rules(r->config_path)))
        goto fail;
    const char *ack_path = config_str("ACK_CONFIG", NULL);
    if (!ack_path && access(ACK_CONFIG_DEFAULT, R_OK) == 0)
        ack_path = ACK_CONFIG_DEFAULT;
    if (ack_path && !(r->ack_path = strdup(ack_path)))
        goto fail;
    if (router_load_ack(r->ack_path, &r->ack) != 0)
        goto fail;
    metrics_describe("carebus_router_events_total", "counter",
                     "events routed (contacts, agents' and SLA events)");
    metrics_describe("carebus_router_batches_total", "counter", "batches routed");
    metrics_describe("carebus_router_outbound_total", "counter",
                     "messages the router asked courier to send (message.outbound), by channel"
                     " and kind");
    return r;
fail:
    router_destroy(&r);
    return NULL;
}

void router_destroy(router **pr)
{
    router *r = *pr;
    if (!r)
        return;
    rules_destroy(&r->rules);
    free(r->config_path);
    ack_destroy(&r->ack);
    free(r->ack_path);
    free(r->staged);
    free(r->side);
    free(r);
    *pr = NULL;
}

void router_attach(router *r, consumer *c, db *d, bus *b)
{
    r->consumer = c;
    r->db = d;
    r->bus = b;
    consumer_set_flush(c, router_flush);
    consumer_set_batch(c, ROUTER_BATCH, 0);
}

static int router_on_tick(loop *l, void *arg)
{
    (void)l;
    router_tick(arg);
    return 0;
}

int router_start(router *r, service *s)
{
    static const char *const streams[] = {"ingest", "sla", "courier", NULL};
    size_t nhandlers;
    const struct consumer_handler *handlers = router_handlers(&nhandlers);
    if (service_consume(s, streams, handlers, nhandlers, r) != 0)
        return -1;
    router_attach(r, s->consumer, s->db, s->bus);
    loop_on_reload(s->loop, router_reload, r);
    return loop_add_timer(s->loop, ROUTER_TICK_MS, router_on_tick, r) > 0 ? 0 : -1;
}

void router_reload(void *arg)
{
    router *r = arg;
    ack *a;
    if (router_load_ack(r->ack_path, &a) == 0) {
        ack_destroy(&r->ack);
        r->ack = a;
    } else {
        log_error("router: keeping the acknowledgements in force");
    }
    if (!r->config_path) {
        log_info("router: no configuration file (built-in rules): nothing to reload");
        return;
    }
    char err[512];
    rules *n = rules_load(r->config_path, err, sizeof err);
    if (!n) {
        log_error("router config %s: %s: keeping the rules in force", r->config_path, err);
        return;
    }
    rules_destroy(&r->rules);
    r->rules = n;
    r->teams_seeded = false; /* the next tick writes the file's teams */
    log_info("router config %s reloaded: %zu teams, %zu classification rules", n->origin, n->nteams,
             n->nrules);
}

static int stage_push(const event ***list, size_t *n, size_t *cap, const event *ev)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 512;
        const event **x = realloc(*list, c * sizeof *x);
        if (!x)
            return -1;
        *list = x;
        *cap = c;
    }
    (*list)[(*n)++] = ev;
    return 0;
}

static consumer_result router_stage(consumer_txn *tx, const event *ev, void *arg)
{
    (void)tx;
    router *r = arg;
    int rc = strcmp(ev->stream, "ingest") == 0 ? stage_push(&r->staged, &r->nstaged, &r->cap, ev)
                                               : stage_push(&r->side, &r->nside, &r->sidecap, ev);
    if (rc != 0) {
        r->nstaged = r->nside = 0;
        return CONSUMER_RETRY;
    }
    return CONSUMER_OK;
}

#define ROUTER_BODIES 128 /* body cases */

const struct consumer_handler *router_handlers(size_t *n)
{
    static struct consumer_handler table[ROUTER_BODIES];
    for (size_t bc = 0; bc < ROUTER_BODIES; bc++) {
        const char *stream;
        if (route_handles((Carebus__V1__Envelope__BodyCase)bc, &stream))
            table[bc] = (struct consumer_handler){stream, router_stage};
    }
    *n = ROUTER_BODIES;
    return table;
}

#define ROUTER_ASYNC_SQL "SET LOCAL synchronous_commit TO off"
#define ROUTER_POSITION_SQL "SELECT ingest_seq, sla_seq FROM router.position FOR UPDATE"
#define ROUTER_RECORDED_SQL                                                                        \
    "SELECT stream, seq, " US(                                                                     \
        "recorded_at") " AS recorded_us FROM eventlog.events"                                      \
                       " WHERE stream = 'ingest' AND seq = ANY($1::bigint[])"                      \
                       " UNION ALL SELECT stream, seq, " US(                                       \
                           "recorded_at") " FROM eventlog.events"                                  \
                                          " WHERE stream = 'courier' AND seq = ANY($2::bigint[])"
#define ROUTER_PLACE_SQL "UPDATE router.position SET ingest_seq = $1, sla_seq = $2"

/* The seqs of the events of list published without recorded_at, as an
 * array literal into b ("{}" when none); rec[i] gets the others'. */
static void unrecorded(const event *const *list, size_t n, int64_t *rec, buf *b)
{
    buf_putc(b, '{');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const event *ev = list[i];
        rec[i] = ev->recorded_at ? event_ts_us(ev->recorded_at) : INT64_MIN;
        if (!ev->recorded_at) {
            buf_printf(b, "%s%" PRIu64, first ? "" : ",", ev->seq);
            first = false;
        }
    }
    buf_putc(b, '}');
}

/* Where the router stands, locked for the transaction: its place (created
 * at (0, 0) the first time), the "sla" stream's last seq (order.h), and
 * the recorded_at of staged events published without it (rec: the
 * ingest events', then the side events'). One round trip. */
static int router_place(router *r, db *d, uint64_t *ingest, uint64_t *sla, uint64_t *sla_last,
                        int64_t *rec)
{
    buf seqs = BUF_INIT, side = BUF_INIT;
    unrecorded(r->staged, r->nstaged, rec, &seqs);
    unrecorded(r->side, r->nside, rec + r->nstaged, &side);
    bool lookup = seqs.len > 2 || side.len > 2;
    const char *params[] = {buf_str(&seqs), buf_str(&side)};
    int rc = -1;
    for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
        pgpipe p;
        if (pipe_begin(&p, d) != 0)
            break;
        /* The batch need not wait for its WAL to reach the disk: a commit
         * lost to a crash of PostgreSQL takes its offsets with it, and the
         * replay derives the very same rows and event ids. Whoever acted
         * on its published events and committed has flushed it too (the
         * WAL is one sequence). Ingest's answers stay synchronous. */
        int q_async = pipe_send(&p, "commit mode", ROUTER_ASYNC_SQL, 0, NULL);
        int q_pos = pipe_send(&p, "position", ROUTER_POSITION_SQL, 0, NULL);
        const char *sla_stream[] = {"sla"};
        int q_sla = pipe_send(&p, "sla stream", EVENTLOG_SETTLED_SQL, 1, sla_stream);
        int q_rec = lookup ? pipe_send(&p, "recorded_at", ROUTER_RECORDED_SQL, 2, params) : -2;
        bool sent = q_async >= 0 && q_pos >= 0 && q_sla >= 0 && q_rec != -1;
        if (pipe_run(&p) != 0 || !sent) {
            pipe_release(&p);
            break;
        }
        PGresult *pos = pipe_result(&p, q_pos), *sl = pipe_result(&p, q_sla),
                 *rr = pipe_result(&p, q_rec);
        *sla_last = PQntuples(sl) ? strtoull(db_value(sl, 0, "last_seq"), NULL, 10) : 0;
        for (int k = 0; rr && k < PQntuples(rr); k++) {
            uint64_t seq = strtoull(db_value(rr, k, "seq"), NULL, 10);
            bool ingest_row = strcmp(db_value(rr, k, "stream"), "ingest") == 0;
            const event *const *list = ingest_row ? r->staged : r->side;
            size_t n = ingest_row ? r->nstaged : r->nside, base = ingest_row ? 0 : r->nstaged;
            for (size_t i = 0; i < n; i++)
                if (list[i]->seq == seq &&
                    strcmp(list[i]->stream, ingest_row ? "ingest" : "courier") == 0)
                    rec[base + i] = strtoll(db_value(rr, k, "recorded_us"), NULL, 10);
        }
        if (PQntuples(pos) == 1) {
            *ingest = strtoull(db_value(pos, 0, "ingest_seq"), NULL, 10);
            *sla = strtoull(db_value(pos, 0, "sla_seq"), NULL, 10);
            rc = 0;
        } else if (db_command(d,
                              "INSERT INTO router.position DEFAULT VALUES"
                              " ON CONFLICT DO NOTHING",
                              0, NULL) != 0) {
            attempt = 2;
        }
        pipe_release(&p);
    }
    buf_release(&seqs);
    buf_release(&side);
    return rc;
}

/* carebus_router_outbound_total{channel,kind}: the batch's message.outbound
 * (a replay counts them again: the log keeps them once). */
static void router_count_outbound(const model *m)
{
    for (size_t i = 0; i < m->nmsg; i++) {
        const m_message *x = &m->msg[i];
        if (!x->outbound_kind)
            continue;
        char series[160];
        snprintf(series, sizeof series, "carebus_router_outbound_total{channel=\"%s\",kind=\"%s\"}",
                 x->channel, x->outbound_kind);
        metrics_add(series, 1);
    }
}

/* Routes items [from, to) over a model of their own: prefetch, apply,
 * write. place: the router's new place, written with the writes of the
 * last part. 0, or -1 when a statement failed. */
static int router_part(router *r, db *d, emitter *em, route_item *items, size_t from, size_t to,
                       const char *const place[2])
{
    int rc = -1;
    model m;
    model_init(&m, d, r->rules, r->reopen_window_us);
    route_keys keys = {0};
    for (size_t i = from; i < to; i++) {
        route_keys_add(&m, &keys, &items[i]);
        if (route_keys_load(&m, &keys, &items[i]) != 0)
            goto out;
    }
    struct store_keys sk = {
        .kinds = keys.kinds,
        .values = keys.values,
        .nidents = keys.nidents,
        .refs = keys.refs,
        .nrefs = keys.nrefs,
        .tickets = keys.tickets,
        .ntickets = keys.ntickets,
        .customers = keys.customers,
        .ncustomers = keys.ncustomers,
        .threads = keys.threads,
        .nthreads = keys.nthreads,
    };
    if (store_prefetch(&m, &sk) != 0)
        goto out;
    route_ctx ctx = {
        .m = &m, .em = em, .country = r->country, .ack = r->ack, .email_domain = r->email_domain};
    for (size_t i = from; i < to; i++)
        if (route_apply(&ctx, &items[i]) != 0)
            goto out;
    /* The writes (and the new place), in one round trip. */
    pgpipe p;
    if (pipe_begin(&p, d) != 0)
        goto out;
    bool sent = store_write(&m, &p) == 0 &&
                (!place || pipe_send(&p, "position", ROUTER_PLACE_SQL, 2, place) >= 0);
    int ran = pipe_run(&p);
    pipe_release(&p);
    if (ran != 0 || !sent)
        goto out;
    router_count_outbound(&m);
    rc = 0;
out:
    model_release(&m);
    return rc;
}

/* Routes the staged batch and the SLA events due, in the open transaction.
 * batch_ingest: where the consumer's transaction leaves the ingest stream
 * (0 on the timer's path). 0 done, 1 nothing to do (the timer's path found
 * the state not loaded yet), -1 a statement failed. */
static int router_run(router *r, db *d, emitter *em, bool from_consumer, uint64_t batch_ingest)
{
    uint64_t pos_ingest, pos_sla, sla_last;
    int64_t *rec = calloc(r->nstaged + r->nside + 1, sizeof *rec);
    if (!rec || router_place(r, d, &pos_ingest, &pos_sla, &sla_last, rec) != 0) {
        free(rec);
        return -1;
    }
    uint64_t committed = r->consumer ? consumer_offset(r->consumer, "ingest") : pos_ingest;
    if (pos_ingest > committed) {
        if (!from_consumer) {
            free(rec);
            return 1;
        }
        log_warn("router state is ahead of its ingest offset (%" PRIu64 " > %" PRIu64
                 "): offsets were reset, rebuilding the SLA position from the start",
                 pos_ingest, committed);
        pos_sla = 0;
    }
    uint64_t applied = committed > batch_ingest ? committed : batch_ingest;
    if (pos_ingest > applied && !from_consumer)
        applied = pos_ingest;

    int rc = -1;
    order_batch ob = {0};
    route_item *items = NULL;
    if (order_build(d, r->staged, rec, r->nstaged, applied, pos_sla, sla_last, &ob) != 0)
        goto out;
    size_t nitems = ob.n + r->nside;
    items = calloc(nitems + 1, sizeof *items);
    if (!items)
        goto out;
    for (size_t i = 0, k = 0; i < ob.n; i++) {
        items[i].ev = ob.events[i];
        if (k < r->nstaged && ob.events[i] == r->staged[k])
            items[i].rec = rec[k++];
        else
            items[i].rec = ob.events[i]->recorded_at ? event_ts_us(ob.events[i]->recorded_at) : 0;
    }
    /* The side events (delivery statuses) fold in any order: after the
     * others, so that a reply and its status in one batch meet. */
    for (size_t i = 0; i < r->nside; i++) {
        items[ob.n + i].ev = r->side[i];
        items[ob.n + i].rec = rec[r->nstaged + i];
    }
    for (size_t i = 0; i < nitems; i++) {
        route_prepare(&items[i], r->country);
        if (recall_load(d, &items[i]) != 0)
            goto out;
    }
    char a[24], b[24];
    snprintf(a, sizeof a, "%" PRIu64, applied);
    snprintf(b, sizeof b, "%" PRIu64, ob.sla_seq);
    const char *place[] = {a, b};
    /* In parts: a barrier (an unmerge) alone, against what the events
     * before it wrote; most batches are one part. */
    size_t from = 0;
    do {
        size_t to = from;
        if (to < nitems && route_barrier(&items[to]))
            to++;
        else
            while (to < nitems && !route_barrier(&items[to]))
                to++;
        if (router_part(r, d, em, items, from, to, to >= nitems ? place : NULL) != 0)
            goto out;
        from = to;
    } while (from < nitems);
    r->batches++;
    r->routed += nitems;
    metrics_add("carebus_router_batches_total", 1);
    metrics_add("carebus_router_events_total", (double)nitems);
    rc = 0;
out:
    free(items);
    order_release(&ob);
    free(rec);
    return rc;
}

consumer_result router_flush(consumer_txn *tx, void *arg)
{
    router *r = arg;
    emitter em;
    emitter_init(&em, tx, NULL);
    int64_t t0 = time_now_us();
    size_t staged = r->nstaged;
    int rc = router_run(r, consumer_txn_db(tx), &em, true, consumer_txn_position(tx, "ingest"));
    log_debug("router: %zu staged events routed in %.1f ms (%zu emitted)", staged,
              (double)(time_now_us() - t0) / 1000.0, em.emitted);
    emitter_release(&em);
    r->nstaged = r->nside = 0;
    return rc < 0 ? CONSUMER_RETRY : CONSUMER_OK;
}

/* The file's teams into router.teams, once per start and reload. */
static void router_seed_teams(router *r)
{
    if (!r->teams_seeded && r->db && db_up(r->db) && teams_seed(r->db, r->rules) == 0)
        r->teams_seeded = true;
}

bool router_ready(void *arg)
{
    router *r = arg;
    router_seed_teams(r);
    return r->teams_seeded && db_up(r->db);
}

/* The file's teams, once per start and reload; then the decisions on
 * offline agents' tickets, applied at once when there are some. */
static int router_tick_teams_offline(router *r)
{
    router_seed_teams(r);
    int n = offline_decide(r->db, r->offline_grace_us);
    /* Retention: looked at once per period, at least once a minute. */
    int64_t now = time_mono_ms();
    if (n >= 0 && r->retention_s > 0 && now >= r->retention_next_ms) {
        int64_t every = r->retention_s < 60 ? r->retention_s : 60;
        r->retention_next_ms = now + every * 1000;
        int due = retention_decide(r->db, r->retention_s);
        n = due < 0 ? -1 : n + due;
    }
    if (n > 0 && r->consumer && consumer_catch_up(r->consumer) != 0)
        return -1;
    return n < 0 ? -1 : 0;
}

int router_tick(router *r)
{
    if (!r->db || !db_up(r->db) || r->nstaged || r->nside)
        return 0;
    /* A standby leaves the timer's work to the lease's holder. */
    if (r->consumer && !consumer_active(r->consumer))
        return 0;
    if (router_tick_teams_offline(r) != 0)
        return -1;
    PGresult *q = db_exec(r->db,
                          "SELECT p.sla_seq < s.last_seq AS due FROM router.position p,"
                          " eventlog.streams s WHERE s.stream = 'sla'",
                          0, NULL);
    if (!q)
        return -1;
    bool due = PQntuples(q) == 1 && db_value(q, 0, "due")[0] == 't';
    PQclear(q);
    if (!due)
        return 0;
    /* What the timer's path emits is appended here, packed once when
     * emitted; after commit the log's bytes are published. */
    emitter em;
    emitter_init(&em, NULL, "router");
    int rc = -1;
    if (consumer_begin(r->consumer, r->db) != 0)
        goto out;
    if (router_run(r, r->db, &em, false, 0) < 0 ||
        (r->consumer && consumer_fence(r->consumer) != 0) ||
        (em.nlist && eventlog_append(r->db, "router", em.list, em.nlist) != 0) ||
        db_commit(r->db) != 0) {
        db_rollback(r->db);
        goto out;
    }
    for (size_t i = 0; r->bus && i < em.nlist; i++)
        bus_publish_bytes(r->bus, "router", em.list[i].wire, em.list[i].wire_len);
    if (em.nlist)
        log_info("router: applied SLA events outside a batch (%zu events emitted)", em.nlist);
    rc = 0;
out:
    emitter_release(&em);
    return rc;
}
