/* dbq.c — a FIFO of statements over a few non-blocking libpq connections.
 *
 * Each connection's socket is registered with the loop: readable means
 * results may be complete (PQconsumeInput, then PQgetResult while not
 * busy); writable is watched only while PQflush has not sent everything.
 * The queue holds the statements not yet sent; a free connection that is
 * up takes its head. A callback may queue more work (it is sent from the
 * same turn), so every walk over the connections re-reads their state after
 * calling back.
 *
 * A statement refused because the server is read-only (a standby: the
 * primary we knew was demoted) closes its connection after the callback,
 * so that the reconnect (db_ensure: target_session_attrs=read-write) finds
 * whichever server is the primary now.
 *
 * The deadline: the tick cancels a statement in flight for longer
 * (db_cancel_start: PQcancel from a thread of its own, so a server that has
 * vanished does not hold the loop) and marks it, so that whatever result
 * comes back is delivered as NULL; one whose cancel is not answered either
 * is failed by dropping its connection, DB_CANCEL_WAIT_MS later. Until the
 * cancel request is done (its thread has handed it to the server), the
 * connection takes no statement, even when the cut one has ended: a
 * request still on its way would cut the next one (a commit waiting for the
 * standby would then succeed unconfirmed), while one the server has is
 * dropped there if the backend is between statements. A request not done
 * DB_CANCEL_WAIT_MS after the deadline drops the connection.
 *
 * A queue with a deadline is a write queue, and keeps the writers' rule of
 * db.c on each connection's db: a write that was sent and whose outcome is
 * unknown (cut at the deadline, or its connection lost while it ran) arms
 * the writers' back-off (db_commit_unknown), and while it runs no write is
 * sent on that connection: a write queued then is refused (dbq_query's -1,
 * as db_begin's DB_NOT_NOW: nothing sent) and those already waiting are
 * failed, unless another connection can take them. Reads (dbq_read) go on,
 * as db_begin_read's do, and their cut arms nothing. A write that ends by
 * itself within the deadline and changed rows (res_changed_rows) has
 * committed, waiting for the standby (it is its own transaction), and
 * forgets the delay (db_commit_known, db.c's rule: only a commit that
 * waited). One that changed nothing got no transaction id and waited for
 * nobody, so it proves nothing about the standby and forgets nothing.
 *
 * No callback runs inside dbq_query, dbq_read or dbq_send (dbq_push): a
 * statement that fails while they send it (or that they fail) is kept in
 * q->failed and called back from the loop's next turn (the eventfd
 * q->wake), so a caller may set its state after a 0 without racing its
 * own callback.
 *
 * Connecting: the first attempt, in dbq_new, blocks (the service is
 * starting). A reconnect runs db_ensure on a thread of its own (at most one
 * per connection, at most once per backoff interval), and the loop takes
 * the connection when the thread says it is done (an eventfd): a server
 * that takes the TCP connection and never answers, or a host that has
 * vanished, costs the connect's timeout on that thread (per host, libpq's
 * connect_timeout, before it tries the next host of a multi-host string),
 * not the loop's HTTP answers. libpq's non-blocking connect
 * (PQconnectPoll) would leave those timeouts, and the move to the next
 * host, to the caller. While the thread runs, the connection's db is the
 * thread's alone.
 */
#include "dbq.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

struct dbq_item {
    struct dbq_item *next;
    dbq_send_fn send; /* NULL: sql/params below */
    char *sql;
    int nparams;
    char **params;
    dbq_fn fn;
    void *arg;
    bool read; /* only reads (dbq_read): not held by the writers' back-off */
};

struct dbq_conn {
    dbq *q;
    db *db;       /* the connection, its backoff and its logging */
    PGconn *conn; /* db's connection while registered with the loop */
    int fd;
    struct dbq_item *inflight; /* NULL: free */
    PGresult *result;          /* the in-flight statement's result, until NULL */
    int64_t sent_ms;           /* time_mono_ms() when the in-flight one was sent */
    bool cancelled;            /* it outlived the deadline: delivered as NULL */
    db_cancel_req *cancel;     /* its cancel request, while it may be on its way */
    int wake;                  /* eventfd: the connecting thread is done */
    bool connecting;           /* the thread runs: db is its own */
    int connect_rc;            /* its db_ensure's, read once it is done */
    pthread_t connector;
};

struct dbq {
    loop *loop;
    int timer;
    int pushing;                           /* inside dbq_query/dbq_read/dbq_send: no callback */
    struct dbq_item *failed, *failed_tail; /* failed while pushing: called back later */
    size_t nfailed;
    int wake;                     /* eventfd: failed holds statements to call back */
    long deadline_ms;             /* 0: none */
    struct dbq_item *head, *tail; /* not sent yet */
    size_t waiting;
    size_t nconns;
    struct dbq_conn conns[];
};

static void dbq_item_destroy(struct dbq_item *it)
{
    if (!it)
        return;
    free(it->sql);
    for (int i = 0; i < it->nparams; i++)
        free(it->params[i]);
    free(it->params);
    free(it);
}

static bool conn_up(const struct dbq_conn *c)
{
    return c->conn && PQstatus(c->conn) == CONNECTION_OK;
}

/* No statement in flight, and no cancel request on its way. */
static bool conn_free(const struct dbq_conn *c)
{
    return !c->inflight && !c->cancel;
}

/* Whether a statement is held by the writers' back-off: a write on a
 * write queue. */
static bool item_writes(const dbq *q, const struct dbq_item *it)
{
    return q->deadline_ms && !it->read;
}

/* Up, and (for a write) its writers not backing off: it may be sent the
 * statement. */
static bool conn_ready(const struct dbq_conn *c, bool write)
{
    return conn_up(c) && !(write && db_backing_off(c->db));
}

/* Whether some connection may be sent a statement, a write or not (now
 * or when free). */
static bool dbq_ready(const dbq *q, bool write)
{
    for (size_t i = 0; i < q->nconns; i++)
        if (conn_ready(&q->conns[i], write))
            return true;
    return false;
}

/* Whether a statement that succeeded changed rows, by its command tag:
 * an INSERT, UPDATE, DELETE or MERGE of at least one row (RETURNING or
 * not). Such a write got a transaction id, so its commit waited for the
 * standby (see the top); one of no row did not. Others (a statement topped
 * by SELECT, with writes in a CTE or a function; DDL) may have written,
 * but their tag does not say so (a SELECT's counts the rows returned):
 * they forget nothing. */
static bool res_changed_rows(PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return false;
    const char *tag = PQcmdStatus(res);
    static const char *const writes[] = {"INSERT ", "UPDATE ", "DELETE ", "MERGE "};
    bool write = false;
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        write = write || strncmp(tag, writes[i], strlen(writes[i])) == 0;
    return write && atoll(PQcmdTuples(res)) > 0;
}

/* The write in flight on c had an unknown outcome: its writers back off
 * (see the top). */
static void conn_outcome_unknown(struct dbq_conn *c)
{
    if (c->inflight && item_writes(c->q, c->inflight))
        db_commit_unknown(c->db);
}

bool dbq_up(const dbq *q)
{
    for (size_t i = 0; i < q->nconns; i++)
        if (conn_up(&q->conns[i]))
            return true;
    return false;
}

size_t dbq_pending(const dbq *q)
{
    size_t n = q->waiting + q->nfailed;
    for (size_t i = 0; i < q->nconns; i++)
        n += q->conns[i].inflight != NULL;
    return n;
}

bool dbq_busy(const dbq *q)
{
    for (size_t i = 0; i < q->nconns; i++)
        if (conn_up(&q->conns[i]) && conn_free(&q->conns[i]))
            return false;
    return true;
}

size_t dbq_size(const dbq *q)
{
    return q->nconns;
}

/* Calls back a statement with NULL and frees it; inside dbq_push it is
 * kept, and called back from the loop's next turn instead (q->wake), so
 * that no callback runs before dbq_query returns (see dbq.h). */
static void dbq_fail_item(dbq *q, struct dbq_item *it)
{
    if (q->pushing) {
        it->next = NULL;
        if (q->failed_tail)
            q->failed_tail->next = it;
        else
            q->failed = it;
        q->failed_tail = it;
        q->nfailed++;
        uint64_t one = 1;
        /* An eventfd's counter: the write cannot block or fall short here. */
        if (write(q->wake, &one, sizeof one) != sizeof one)
            abort();
        return;
    }
    it->fn(NULL, it->arg);
    dbq_item_destroy(it);
}

/* Calls back the statements failed inside dbq_push, in the order they
 * failed. */
static void dbq_fail_deferred(dbq *q)
{
    struct dbq_item *it = q->failed;
    q->failed = q->failed_tail = NULL;
    q->nfailed = 0;
    while (it) {
        struct dbq_item *next = it->next;
        it->fn(NULL, it->arg);
        dbq_item_destroy(it);
        it = next;
    }
}

static int dbq_on_failed(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    dbq *q = arg;
    uint64_t n;
    if (read(q->wake, &n, sizeof n) == sizeof n)
        dbq_fail_deferred(q);
    return 0;
}

/* Calls back with NULL every statement not sent yet (writes_only: every
 * write). */
static void dbq_fail_waiting(dbq *q, bool writes_only)
{
    /* Detach first: a callback may queue new work (refused while down). */
    struct dbq_item *it = NULL, **last = &it, **pp = &q->head;
    q->tail = NULL;
    while (*pp) {
        struct dbq_item *x = *pp;
        if (!writes_only || item_writes(q, x)) {
            *pp = x->next;
            x->next = NULL;
            *last = x;
            last = &x->next;
            q->waiting--;
        } else {
            q->tail = x;
            pp = &x->next;
        }
    }
    while (it) {
        struct dbq_item *next = it->next;
        dbq_fail_item(q, it);
        it = next;
    }
}

/* Fails the waiting statements no connection may take: all when none is
 * up, the writes when every one that is up backs off. */
static void dbq_fail_unsendable(dbq *q)
{
    if (!dbq_ready(q, false))
        dbq_fail_waiting(q, false);
    else if (!dbq_ready(q, true))
        dbq_fail_waiting(q, true);
}

/* Calls back the connection's in-flight statement, if any, with NULL. */
static void conn_fail_inflight(struct dbq_conn *c)
{
    struct dbq_item *it = c->inflight;
    c->inflight = NULL;
    PQclear(c->result);
    c->result = NULL;
    db_cancel_release(&c->cancel);
    if (it)
        dbq_fail_item(c->q, it);
}

/* Closes a connection; its statement fails, and the waiting ones too when
 * it was the last connection up. */
static void conn_disconnect(struct dbq_conn *c)
{
    conn_outcome_unknown(c);
    if (c->conn) {
        if (c->fd >= 0)
            loop_remove_fd(c->q->loop, c->fd);
        db_mark_down(c->db);
        c->conn = NULL;
        c->fd = -1;
        metrics_add("carebus_dbq_disconnects_total", 1);
    }
    conn_fail_inflight(c);
    dbq_fail_unsendable(c->q);
}

static int conn_on_io(loop *l, short revents, void *arg);
static void dbq_kick(dbq *q);

/* Registers db's connection, made by db_ensure, with the loop. */
static int conn_register(struct dbq_conn *c)
{
    PGconn *pc = db_conn(c->db);
    if (PQsetnonblocking(pc, 1) != 0 ||
        loop_add_fd(c->q->loop, PQsocket(pc), ZMQ_POLLIN, conn_on_io, c) != 0) {
        db_mark_down(c->db);
        return -1;
    }
    c->conn = pc;
    c->fd = PQsocket(pc);
    return 0;
}

static void *conn_connect_thread(void *arg)
{
    struct dbq_conn *c = arg;
    c->connect_rc = db_ensure(c->db);
    uint64_t one = 1;
    /* An eventfd's counter: the write cannot block or fall short here. */
    if (write(c->wake, &one, sizeof one) != sizeof one)
        abort();
    return NULL;
}

/* Starts a reconnect on its own thread, when the backoff allows one. */
static void conn_connect_start(struct dbq_conn *c)
{
    if (c->connecting || !db_reconnect_due(c->db))
        return;
    c->connecting = true;
    if (pthread_create(&c->connector, NULL, conn_connect_thread, c) != 0) {
        c->connecting = false;
        log_error("could not start a thread to reconnect to PostgreSQL");
    }
}

/* The reconnect's thread is done: the connection joins the loop. */
static int conn_on_connected(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    struct dbq_conn *c = arg;
    uint64_t n;
    if (!c->connecting || read(c->wake, &n, sizeof n) != sizeof n)
        return 0;
    pthread_join(c->connector, NULL);
    c->connecting = false;
    if (c->connect_rc == 0 && conn_register(c) == 0) {
        metrics_describe("carebus_dbq_reconnects_total", "counter",
                         "connections of a query queue made again after a failure");
        metrics_add("carebus_dbq_reconnects_total", 1);
        dbq_kick(c->q);
    }
    return 0;
}

/* Waits for a reconnect's thread, if one runs (shutting down). */
static void conn_connect_join(struct dbq_conn *c)
{
    if (!c->connecting)
        return;
    pthread_join(c->connector, NULL);
    c->connecting = false;
    if (c->connect_rc == 0)
        db_mark_down(c->db);
}

/* Flushes the output buffer; watches writability while data remains. */
static int conn_flush(struct dbq_conn *c)
{
    int f = PQflush(c->conn);
    if (f < 0)
        return -1;
    loop_set_fd_events(c->q->loop, c->fd, f ? ZMQ_POLLIN | ZMQ_POLLOUT : ZMQ_POLLIN);
    return 0;
}

/* A free connection that may be sent a statement (a write or not), or
 * NULL. */
static struct dbq_conn *dbq_free_conn(dbq *q, bool write)
{
    for (size_t i = 0; i < q->nconns; i++)
        if (conn_free(&q->conns[i]) && conn_ready(&q->conns[i], write))
            return &q->conns[i];
    return NULL;
}

/* Takes the oldest waiting statement a free connection may be sent (a
 * read may pass writes that wait for a connection whose writers do not
 * back off), and that connection into *out; NULL when none. */
static struct dbq_item *dbq_take(dbq *q, struct dbq_conn **out)
{
    if (!q->head || !dbq_free_conn(q, false))
        return NULL;
    struct dbq_item *prev = NULL;
    for (struct dbq_item *it = q->head; it; prev = it, it = it->next) {
        struct dbq_conn *c = dbq_free_conn(q, item_writes(q, it));
        if (!c)
            continue;
        if (prev)
            prev->next = it->next;
        else
            q->head = it->next;
        if (q->tail == it)
            q->tail = prev;
        q->waiting--;
        it->next = NULL;
        *out = c;
        return it;
    }
    return NULL;
}

/* Sends waiting statements on the free connections. */
static void dbq_kick(dbq *q)
{
    struct dbq_conn *c;
    struct dbq_item *it;
    while ((it = dbq_take(q, &c))) {
        c->inflight = it;
        c->sent_ms = time_mono_ms();
        c->cancelled = false;
        int ok = it->send ? it->send(c->conn, it->arg) == 0
                          : PQsendQueryParams(c->conn, it->sql, it->nparams, NULL,
                                              (const char *const *)it->params, NULL, NULL, 0);
        if (!ok) {
            if (PQstatus(c->conn) != CONNECTION_OK) {
                /* Nothing was sent: its outcome is known (none), so the
                 * writers do not back off for it. */
                c->inflight = NULL;
                conn_disconnect(c);
                dbq_fail_item(q, it);
                continue;
            }
            /* This statement alone could not be sent (e.g. out of memory). */
            log_error("could not send a query: %.*s", (int)strcspn(PQerrorMessage(c->conn), "\n"),
                      PQerrorMessage(c->conn));
            conn_fail_inflight(c);
            continue;
        }
        if (conn_flush(c) != 0)
            conn_disconnect(c);
    }
}

static int conn_on_io(loop *l, short revents, void *arg)
{
    (void)l;
    struct dbq_conn *c = arg;
    dbq *q = c->q;
    if ((revents & ZMQ_POLLOUT) && conn_flush(c) != 0) {
        conn_disconnect(c);
        return 0;
    }
    if (!(revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
        return 0;
    if (!PQconsumeInput(c->conn)) {
        log_warn("lost the PostgreSQL connection: %.*s",
                 (int)strcspn(PQerrorMessage(c->conn), "\n"), PQerrorMessage(c->conn));
        conn_disconnect(c);
        return 0;
    }
    while (c->inflight && !PQisBusy(c->conn)) {
        PGresult *r = PQgetResult(c->conn);
        if (r) {
            /* A statement yields one result then NULL; keep the first. */
            if (!c->result)
                c->result = r;
            else
                PQclear(r);
            continue;
        }
        struct dbq_item *it = c->inflight;
        PGresult *res = c->result;
        c->inflight = NULL;
        c->result = NULL;
        /* Its cancel request still on its way could cut the next statement
         * sent on c: c takes none until the request is done (the tick). */
        if (c->cancel && db_cancel_done(c->cancel))
            db_cancel_release(&c->cancel);
        if (c->cancelled) {
            if (item_writes(q, it)) /* only write queues cancel */
                db_commit_unknown(c->db);
            log_warn("a statement cancelled after %ld ms ended (%s): reported as failed",
                     q->deadline_ms,
                     res && PQresultStatus(res) != PGRES_FATAL_ERROR
                         ? "it succeeded, unconfirmed: a commit stands here without the standby"
                         : "it did not complete");
            PQclear(res);
            res = NULL;
        }
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        bool read_only = state && strcmp(state, "25006") == 0;
        if (res && item_writes(q, it) && res_changed_rows(res))
            db_commit_known(c->db); /* waited for the standby, within the deadline */
        it->fn(res, it->arg);
        PQclear(res);
        dbq_item_destroy(it);
        if (!c->conn)
            return 0;           /* a callback's work broke the connection */
        dbq_fail_unsendable(q); /* a cut write: the writers back off */
        if (read_only) {
            log_warn("PostgreSQL at %s:%s is read-only now; reconnecting to the primary",
                     PQhost(c->conn), PQport(c->conn));
            conn_disconnect(c);
            return 0;
        }
        dbq_kick(q);
    }
    if (c->conn && PQstatus(c->conn) != CONNECTION_OK)
        conn_disconnect(c);
    return 0;
}

/* The deadline of the statement in flight on c, if any (see the top). */
static void conn_check_deadline(struct dbq_conn *c)
{
    dbq *q = c->q;
    if (!q->deadline_ms || !c->inflight)
        return;
    int64_t age = time_mono_ms() - c->sent_ms;
    if (!c->cancelled && age >= q->deadline_ms) {
        c->cancelled = true;
        metrics_add("carebus_dbq_cancelled_total", 1);
        log_warn("a statement still runs after %ld ms (waiting for the synchronous standby?): "
                 "cancelling it",
                 q->deadline_ms);
        c->cancel = db_cancel_start(c->conn);
    } else if (c->cancelled && age >= q->deadline_ms + DB_CANCEL_WAIT_MS) {
        log_error("a cancelled statement did not end: dropping its connection");
        conn_disconnect(c);
    }
}

/* The cancel request of a statement that has ended: c is free once it is
 * done, and dropped when it is not within DB_CANCEL_WAIT_MS (see the top). */
static void conn_check_cancel(struct dbq_conn *c)
{
    if (!c->cancel || c->inflight)
        return;
    if (db_cancel_done(c->cancel)) {
        db_cancel_release(&c->cancel);
    } else if (time_mono_ms() - c->sent_ms >= c->q->deadline_ms + DB_CANCEL_WAIT_MS) {
        log_error("a cancel request is not done %d ms after its statement's deadline: dropping "
                  "the connection, which it could still cut",
                  DB_CANCEL_WAIT_MS);
        conn_disconnect(c);
    }
}

static int dbq_on_tick(loop *l, void *arg)
{
    (void)l;
    dbq *q = arg;
    for (size_t i = 0; i < q->nconns; i++) {
        struct dbq_conn *c = &q->conns[i];
        if (!c->conn)
            conn_connect_start(c);
        else if (PQstatus(c->conn) != CONNECTION_OK)
            conn_disconnect(c);
        else {
            conn_check_deadline(c);
            conn_check_cancel(c);
        }
    }
    dbq_kick(q);
    metrics_set("carebus_dbq_pending", (double)dbq_pending(q));
    return 0;
}

dbq *dbq_new_pool(loop *l, const char *conninfo, const char *application_name, size_t nconns)
{
    assert(nconns >= 1 && nconns <= DBQ_MAX_CONNS);
    dbq *q = calloc(1, sizeof *q + nconns * sizeof q->conns[0]);
    if (!q)
        return NULL;
    q->loop = l;
    q->timer = -1;
    q->wake = -1;
    q->nconns = nconns;
    for (size_t i = 0; i < nconns; i++)
        q->conns[i].wake = -1;
    for (size_t i = 0; i < nconns; i++) {
        struct dbq_conn *c = &q->conns[i];
        c->q = q;
        c->fd = -1;
        c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->wake < 0 || !(c->db = db_new(conninfo, application_name)) ||
            loop_add_fd(l, c->wake, ZMQ_POLLIN, conn_on_connected, c) != 0)
            goto fail;
    }
    if ((q->timer = loop_add_timer(l, 100, dbq_on_tick, q)) < 0)
        goto fail;
    if ((q->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
        loop_add_fd(l, q->wake, ZMQ_POLLIN, dbq_on_failed, q) != 0) {
        if (q->wake >= 0)
            close(q->wake);
        q->wake = -1;
        goto fail;
    }
    for (size_t i = 0; i < nconns; i++)
        if (db_ensure(q->conns[i].db) == 0)
            conn_register(&q->conns[i]);
    return q;
fail:
    log_error("could not create a query queue: out of memory, or no eventfd");
    dbq_destroy(&q);
    return NULL;
}

dbq *dbq_new(loop *l, const char *conninfo, const char *application_name)
{
    return dbq_new_pool(l, conninfo, application_name, 1);
}

void dbq_destroy(dbq **pq)
{
    dbq *q = *pq;
    if (!q)
        return;
    /* Every connection closes first (work a callback queues is refused),
     * then the in-flight statements fail, then the waiting ones. */
    for (size_t i = 0; i < q->nconns; i++) {
        struct dbq_conn *c = &q->conns[i];
        conn_connect_join(c);
        if (c->conn) {
            loop_remove_fd(q->loop, c->fd);
            c->conn = NULL;
            c->fd = -1;
        }
    }
    q->pushing = 0;
    dbq_fail_deferred(q);
    for (size_t i = 0; i < q->nconns; i++)
        conn_fail_inflight(&q->conns[i]);
    dbq_fail_waiting(q, false);
    if (q->timer >= 0)
        loop_remove_timer(q->loop, q->timer);
    if (q->wake >= 0) {
        loop_remove_fd(q->loop, q->wake);
        close(q->wake);
    }
    for (size_t i = 0; i < q->nconns; i++) {
        struct dbq_conn *c = &q->conns[i];
        if (c->wake >= 0) {
            loop_remove_fd(q->loop, c->wake);
            close(c->wake);
        }
        db_destroy(&c->db);
    }
    free(q);
    *pq = NULL;
}

void dbq_set_deadline(dbq *q, long ms)
{
    assert(ms >= 0);
    q->deadline_ms = ms;
}

void dbq_set_backoff_clock(dbq *q, int64_t (*now_ms)(void))
{
    for (size_t i = 0; i < q->nconns; i++)
        db_set_backoff_clock(q->conns[i].db, now_ms);
}

static int dbq_push(dbq *q, struct dbq_item *it)
{
    if (!dbq_ready(q, item_writes(q, it))) {
        dbq_item_destroy(it);
        return -1;
    }
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->waiting++;
    q->pushing++;
    dbq_kick(q);
    q->pushing--;
    return 0;
}

static int dbq_queue(dbq *q, bool read, const char *sql, int nparams, const char *const *params,
                     dbq_fn fn, void *arg)
{
    struct dbq_item *it = calloc(1, sizeof *it);
    if (!it)
        return -1;
    it->read = read;
    it->fn = fn;
    it->arg = arg;
    it->sql = strdup(sql);
    it->nparams = nparams;
    it->params = calloc((size_t)(nparams ? nparams : 1), sizeof *it->params);
    if (!it->sql || !it->params)
        goto fail;
    for (int i = 0; i < nparams; i++)
        if (params[i] && !(it->params[i] = strdup(params[i])))
            goto fail;
    return dbq_push(q, it);
fail:
    dbq_item_destroy(it);
    return -1;
}

int dbq_query(dbq *q, const char *sql, int nparams, const char *const *params, dbq_fn fn, void *arg)
{
    return dbq_queue(q, false, sql, nparams, params, fn, arg);
}

int dbq_read(dbq *q, const char *sql, int nparams, const char *const *params, dbq_fn fn, void *arg)
{
    return dbq_queue(q, true, sql, nparams, params, fn, arg);
}

int dbq_send(dbq *q, dbq_send_fn send, dbq_fn fn, void *arg)
{
    struct dbq_item *it = calloc(1, sizeof *it);
    if (!it)
        return -1;
    it->send = send;
    it->fn = fn;
    it->arg = arg;
    return dbq_push(q, it);
}
