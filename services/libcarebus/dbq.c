/* dbq.c — a FIFO of statements over one non-blocking libpq connection.
 *
 * The connection's socket is registered with the loop: readable means
 * results may be complete (PQconsumeInput, then PQgetResult while not
 * busy); writable is watched only while PQflush has not sent everything.
 *
 * XXX: connecting goes through db_ensure, a blocking PQconnectdbParams (from
 * a timer, at most once per backoff interval): against a local or refused
 * server it returns at once; a non-blocking connect
 * (PQconnectStart/PQconnectPoll) would remove the worst case.
 */
#include "dbq.h"

#include "db.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "metrics.h"


struct dbq_item {
    struct dbq_item *next;
    dbq_send_fn send; /* NULL: sql/params below */
    char *sql;
    int nparams;
    char **params;
    dbq_fn fn;
    void *arg;
};

struct dbq {
    loop *loop;
    db *db;       /* the connection, its backoff and its logging */
    PGconn *conn; /* db's connection while registered with the loop */
    int fd;
    int timer;
    struct dbq_item *head, *tail; /* head is in flight when inflight */
    bool inflight;
    PGresult *result; /* the in-flight statement's result, until NULL */
    size_t pending;
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

static void dbq_fail_all(dbq *q)
{
    /* Detach first: a callback may queue new work (it will be refused). */
    struct dbq_item *it = q->head;
    q->head = q->tail = NULL;
    q->inflight = false;
    q->pending = 0;
    PQclear(q->result);
    q->result = NULL;
    while (it) {
        struct dbq_item *next = it->next;
        it->fn(NULL, it->arg);
        dbq_item_destroy(it);
        it = next;
    }
}

static void dbq_disconnect(dbq *q)
{
    if (q->conn) {
        if (q->fd >= 0)
            loop_remove_fd(q->loop, q->fd);
        db_mark_down(q->db);
        q->conn = NULL;
        q->fd = -1;
        metrics_add("carebus_dbq_disconnects_total", 1);
    }
    dbq_fail_all(q);
}

static int dbq_on_io(loop *l, short revents, void *arg);

/* Connects through db (bounded backoff) and registers the socket. */
static int dbq_connect(dbq *q)
{
    if (db_ensure(q->db) != 0)
        return -1;
    PGconn *c = db_conn(q->db);
    if (PQsetnonblocking(c, 1) != 0 ||
        loop_add_fd(q->loop, PQsocket(c), ZMQ_POLLIN, dbq_on_io, q) != 0) {
        db_mark_down(q->db);
        return -1;
    }
    q->conn = c;
    q->fd = PQsocket(c);
    return 0;
}

bool dbq_up(const dbq *q)
{
    return q->conn && PQstatus(q->conn) == CONNECTION_OK;
}

size_t dbq_pending(const dbq *q)
{
    return q->pending;
}

bool dbq_busy(const dbq *q)
{
    return q->inflight;
}

/* Flushes the output buffer; watches writability while data remains. */
static int dbq_flush(dbq *q)
{
    int f = PQflush(q->conn);
    if (f < 0)
        return -1;
    loop_set_fd_events(q->loop, q->fd, f ? ZMQ_POLLIN | ZMQ_POLLOUT : ZMQ_POLLIN);
    return 0;
}

/* Sends the head of the queue if nothing is in flight. */
static void dbq_kick(dbq *q)
{
    while (q->head && !q->inflight && dbq_up(q)) {
        struct dbq_item *it = q->head;
        int ok = it->send ? it->send(q->conn, it->arg) == 0
                          : PQsendQueryParams(q->conn, it->sql, it->nparams, NULL,
                                              (const char *const *)it->params, NULL, NULL, 0);
        if (!ok) {
            if (PQstatus(q->conn) != CONNECTION_OK) {
                dbq_disconnect(q);
                return;
            }
            /* This statement alone could not be sent (e.g. out of memory). */
            log_error("could not send a query: %.*s", (int)strcspn(PQerrorMessage(q->conn), "\n"),
                      PQerrorMessage(q->conn));
            q->head = it->next;
            if (!q->head)
                q->tail = NULL;
            q->pending--;
            it->fn(NULL, it->arg);
            dbq_item_destroy(it);
            continue;
        }
        q->inflight = true;
        if (dbq_flush(q) != 0)
            dbq_disconnect(q);
    }
}

static int dbq_on_io(loop *l, short revents, void *arg)
{
    (void)l;
    dbq *q = arg;
    if ((revents & ZMQ_POLLOUT) && dbq_flush(q) != 0) {
        dbq_disconnect(q);
        return 0;
    }
    if (!(revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
        return 0;
    if (!PQconsumeInput(q->conn)) {
        log_warn("lost the PostgreSQL connection: %.*s",
                 (int)strcspn(PQerrorMessage(q->conn), "\n"), PQerrorMessage(q->conn));
        dbq_disconnect(q);
        return 0;
    }
    while (q->inflight && !PQisBusy(q->conn)) {
        PGresult *r = PQgetResult(q->conn);
        if (r) {
            /* A statement yields one result then NULL; keep the first. */
            if (!q->result)
                q->result = r;
            else
                PQclear(r);
            continue;
        }
        struct dbq_item *it = q->head;
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
        q->pending--;
        q->inflight = false;
        PGresult *res = q->result;
        q->result = NULL;
        it->fn(res, it->arg);
        PQclear(res);
        dbq_item_destroy(it);
        if (!q->conn)
            return 0; /* a callback destroyed the connection */
        dbq_kick(q);
    }
    if (q->conn && PQstatus(q->conn) != CONNECTION_OK)
        dbq_disconnect(q);
    return 0;
}

static int dbq_on_tick(loop *l, void *arg)
{
    (void)l;
    dbq *q = arg;
    if (!q->conn)
        dbq_connect(q);
    else if (PQstatus(q->conn) != CONNECTION_OK)
        dbq_disconnect(q);
    metrics_set("carebus_dbq_pending", (double)q->pending);
    return 0;
}

dbq *dbq_new(loop *l, const char *conninfo, const char *application_name)
{
    dbq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->loop = l;
    q->fd = -1;
    q->db = db_new(conninfo, application_name);
    if (!q->db || (q->timer = loop_add_timer(l, 100, dbq_on_tick, q)) < 0) {
        db_destroy(&q->db);
        free(q);
        return NULL;
    }
    dbq_connect(q);
    return q;
}

void dbq_destroy(dbq **pq)
{
    dbq *q = *pq;
    if (!q)
        return;
    dbq_disconnect(q);
    loop_remove_timer(q->loop, q->timer);
    db_destroy(&q->db);
    free(q);
    *pq = NULL;
}

static int dbq_push(dbq *q, struct dbq_item *it)
{
    if (!dbq_up(q)) {
        dbq_item_destroy(it);
        return -1;
    }
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->pending++;
    dbq_kick(q);
    return 0;
}

int dbq_query(dbq *q, const char *sql, int nparams, const char *const *params, dbq_fn fn,
              void *arg)
{
    struct dbq_item *it = calloc(1, sizeof *it);
    if (!it)
        return -1;
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
