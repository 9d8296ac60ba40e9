/* lease.c — the lease row of one consumer: acquire, renew, fence, release.
 *
 * Acquiring and renewing run in short transactions with a lock timeout:
 * the holder's commit in progress keeps the row locked (lease_fence), and
 * a standby must not freeze its loop behind it; it tries again a third of
 * a lease later. Renewal failing because the database is down keeps the
 * lease as held: it may have expired meanwhile, but then the fence refuses
 * the next commit, which is all that safety needs. Refused because the
 * connection's writers back off (db_begin: DB_NOT_NOW), an attempt is only
 * put off: tried again at the next tick, so as soon as the back-off ends,
 * the fence deciding meanwhile.
 *
 * A batch longer than the lease: its transaction locks the row from its
 * start (lease_hold), so that no takeover can happen while it runs (a
 * standby's attempt meets the lock and stands by), and the fence renews
 * the lease in that same transaction. The renewal is safe there because
 * the token was ours for the whole transaction (the lock) and it becomes
 * visible only with the work it vouches for: a rollback drops both. So
 * every commit leaves a fresh lease, and no batch is too long to commit:
 * the lease cannot ping-pong between instances without progress. A
 * holder that stalls inside such a transaction is ended by the server
 * after two leases (lease_limit_txn), which frees the row. One that stalls
 * while the server is sending it a result larger than the socket's buffers
 * (a process stopped mid-read) is not idle but blocked in its write, which
 * no timeout of the session ends and TCP gives up on only after many
 * minutes (or never, on a local socket): a standby whose acquiring met the
 * lock of a holder whose lease ran out more than a lease ago ends that
 * holder's backend (lease_break). Safe as any takeover: the holder's
 * transaction rolls back, and its next commit meets the fence.
 */
#include "lease.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "rowset.h"

/* How long acquiring or renewing waits for the row's lock. */
#define LEASE_LOCK_TIMEOUT "SET LOCAL lock_timeout = '200ms'"

struct lease {
    char *consumer;
    char *owner;
    char part[12]; /* the partition, as a parameter */
    int ms;
    bool held;
    int64_t token;
    int64_t next_ms; /* when to renew or try again (monotonic) */
    bool not_now;    /* the last attempt's BEGIN was refused (DB_NOT_NOW) */
    bool locked;     /* the last attempt met the row's lock (lock_timeout) */
};

lease *lease_new(const char *consumer, int part, const char *owner, int ms)
{
    assert(ms >= LEASE_MS_MIN && ms <= LEASE_MS_MAX);
    assert(part >= 0);
    lease *l = calloc(1, sizeof *l);
    if (!l || !(l->consumer = strdup(consumer)) || !(l->owner = strdup(owner))) {
        lease_destroy(&l);
        return NULL;
    }
    l->ms = ms;
    snprintf(l->part, sizeof l->part, "%d", part);
    metrics_describe("carebus_lease_acquired_total", "counter",
                     "leases this instance acquired (took over or took first)");
    metrics_describe("carebus_lease_lost_total", "counter",
                     "leases this instance held and found taken over");
    return l;
}

void lease_destroy(lease **pl)
{
    lease *l = *pl;
    if (!l)
        return;
    free(l->consumer);
    free(l->owner);
    free(l);
    *pl = NULL;
}

bool lease_held(const lease *l)
{
    return l->held;
}

int64_t lease_token(const lease *l)
{
    return l->held ? l->token : 0;
}

static void lease_drop(lease *l)
{
    if (!l->held)
        return;
    log_warn("lease of %s/%s lost (token %" PRId64 "): another instance took it over", l->consumer,
             l->part, l->token);
    l->held = false;
    metrics_add("carebus_lease_lost_total", 1);
}

/* One statement in a transaction with a lock timeout. The result (tuples)
 * or NULL (logged by db_exec, or the transaction failed; l->not_now when
 * db_begin refused it). local: its commit waits for no standby (a
 * release: lost in a failover, the lease expires). */
static PGresult *lease_exec(lease *l, db *d, bool local, const char *sql, int n,
                            const char *const *p)
{
    int begun = local ? db_begin_local(d) : db_begin(d);
    l->not_now = begun == DB_NOT_NOW;
    l->locked = false;
    if (begun != 0)
        return NULL;
    PGresult *r = NULL;
    db_expect_locks(d, true);
    if (db_command(d, LEASE_LOCK_TIMEOUT, 0, NULL) != 0 || !(r = db_exec(d, sql, n, p))) {
        db_expect_locks(d, false);
        l->locked = strcmp(db_last_sqlstate(d), DB_SQLSTATE_LOCK_NOT_AVAILABLE) == 0;
        db_rollback(d);
        return NULL;
    }
    db_expect_locks(d, false);
    if (db_commit(d) != 0) {
        PQclear(r);
        return NULL;
    }
    return r;
}

/* The holder of l's row when its lease ran out more than a lease ago and
 * its backend, in a statement started more than two leases ago, is blocked
 * sending it a result or reading the rest of a statement it sent in part
 * ("active" in ClientRead: no idle timeout runs between the messages of one
 * query) — see the header; a client that reads or writes that slowly is as
 * good as stalled: ended, and said so. Only a backend whose role this
 * one has the privileges of, and whose transaction locks the row: its id
 * is the row's xmax, and it holds a lock on the table (so a multixact id
 * in xmax equal to another backend's transaction id ends nobody). */
static void lease_break(lease *l, db *d)
{
    char ms[16];
    snprintf(ms, sizeof ms, "%d", l->ms);
    const char *p[] = {l->consumer, l->part, ms};
    PGresult *r =
        db_exec(d,
                "SELECT a.pid, l.owner, pg_terminate_backend(a.pid) AS ended"
                " FROM eventlog.leases l JOIN pg_stat_activity a ON a.backend_xid = l.xmax"
                " WHERE l.consumer = $1 AND l.part = $2::int"
                " AND l.expires_at < clock_timestamp() - $3::int * interval '1 ms'"
                " AND a.state = 'active' AND a.wait_event IN ('ClientWrite', 'ClientRead')"
                " AND pg_has_role(a.usesysid, 'USAGE')"
                " AND a.query_start < clock_timestamp() - 2 * $3::int * interval '1 ms'"
                " AND EXISTS (SELECT 1 FROM pg_locks k WHERE k.pid = a.pid AND k.granted"
                "   AND k.relation = 'eventlog.leases'::regclass)",
                3, p);
    for (int i = 0; r && i < PQntuples(r); i++)
        log_warn("lease of %s/%s: its holder %s ran out a lease ago and its backend (pid %s) is"
                 " blocked on it (a result or a statement half sent): %s",
                 l->consumer, l->part, db_value(r, i, "owner"), db_value(r, i, "pid"),
                 strcmp(db_value(r, i, "ended"), "t") == 0 ? "ended" : "could not be ended");
    PQclear(r);
}

static lease_state lease_acquire(lease *l, db *d)
{
    char ms[16];
    snprintf(ms, sizeof ms, "%d", l->ms);
    const char *p[] = {l->consumer, l->owner, ms, l->part};
    /* Free (expired), or ours from a previous run of this instance. */
    PGresult *r = lease_exec(
        l, d, false,
        "INSERT INTO eventlog.leases AS l (consumer, part, owner, token, expires_at)"
        " VALUES ($1, $4::int, $2, 1, clock_timestamp() + $3::int * interval '1 ms')"
        " ON CONFLICT (consumer, part) DO UPDATE SET owner = excluded.owner,"
        "   token = l.token + 1, acquired_at = clock_timestamp(), expires_at = excluded.expires_at"
        " WHERE l.expires_at < clock_timestamp() OR l.owner = excluded.owner"
        " RETURNING token",
        4, p);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        if (l->locked)
            lease_break(l, d);
        return LEASE_STANDBY;
    }
    l->token = strtoll(db_value(r, 0, "token"), NULL, 10);
    PQclear(r);
    l->held = true;
    metrics_add("carebus_lease_acquired_total", 1);
    log_info("lease of %s/%s acquired by %s (token %" PRId64 ")", l->consumer, l->part, l->owner,
             l->token);
    return LEASE_GAINED;
}

static lease_state lease_renew(lease *l, db *d)
{
    char ms[16], token[24];
    snprintf(ms, sizeof ms, "%d", l->ms);
    snprintf(token, sizeof token, "%" PRId64, l->token);
    const char *p[] = {l->consumer, l->owner, token, ms, l->part};
    PGresult *r = lease_exec(l, d, false,
                             "UPDATE eventlog.leases"
                             " SET expires_at = clock_timestamp() + $4::int * interval '1 ms'"
                             " WHERE consumer = $1 AND part = $5::int"
                             " AND owner = $2 AND token = $3 RETURNING token",
                             5, p);
    if (!r)
        return LEASE_HELD; /* unknown: the fence decides (see the header) */
    int n = PQntuples(r);
    PQclear(r);
    if (n == 1)
        return LEASE_HELD;
    lease_drop(l);
    return LEASE_LOST;
}

lease_state lease_tick(lease *l, db *d, int64_t now_ms)
{
    if (now_ms < l->next_ms)
        return l->held ? LEASE_HELD : LEASE_STANDBY;
    l->next_ms = now_ms + l->ms / 3;
    if (!db_up(d))
        return l->held ? LEASE_HELD : LEASE_STANDBY;
    lease_state st = l->held ? lease_renew(l, d) : lease_acquire(l, d);
    if (l->not_now)
        l->next_ms = now_ms; /* put off, not done: see the header */
    return st;
}

int lease_limit_txn(const lease *l, db *d)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SET LOCAL idle_in_transaction_session_timeout = %d", 2 * l->ms);
    return db_command(d, sql, 0, NULL);
}

/* The rows of a set of leases, for one statement: each lease's key, the
 * token it holds, and its length. */
struct lease_row {
    const char *consumer, *owner;
    int part, ms;
    int64_t token;
};

#define R(f) ROWSET_AT(struct lease_row, f)
static const struct rowset_col lease_cols[] = {
    {"consumer", "text", ROWSET_STR, R(consumer)},
    {"part", "int", ROWSET_INT, R(part)},
    {"owner", "text", ROWSET_STR, R(owner)},
    {"token", "bigint", ROWSET_I64, R(token)},
    {"ms", "int", ROWSET_INT, R(ms)},
};
#undef R
static const rowset_table lease_rows = {"eventlog.leases", lease_cols, ROWSET_COUNT(lease_cols),
                                        NULL};

/* The held leases of ls as a batch ({@rows $1 x}), NULL when out of
 * memory; *held gets how many. The caller releases w. */
static const char *lease_batch(rowset *w, lease *const *ls, size_t n, size_t *held)
{
    rowset_init(w, &lease_rows, NULL);
    *held = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ls[i]->held)
            continue;
        struct lease_row row = {ls[i]->consumer, ls[i]->owner, atoi(ls[i]->part), ls[i]->ms,
                                ls[i]->token};
        rowset_add(w, &row);
        (*held)++;
    }
    return rowset_json(w);
}

/* No verdict here: a row that is not ours any more is left alone (the new
 * holder goes on), and lease_fence refuses the commit. Rows locked in
 * their key's order, whoever locks several. */
static rowset_stmt lease_hold_sql =
    ROWSET_STMT(lease_rows, "SELECT l.part FROM eventlog.leases l, {@rows $1 x}"
                            " WHERE l.consumer = x.consumer AND l.part = x.part"
                            " AND l.owner = x.owner AND l.token = x.token"
                            " ORDER BY l.consumer, l.part FOR NO KEY UPDATE OF l");

int lease_hold_all(lease *const *ls, size_t n, db *d)
{
    rowset w;
    size_t held;
    const char *json = lease_batch(&w, ls, n, &held);
    const char *sql = rowset_stmt_sql(&lease_hold_sql);
    int rc = 0;
    if (held) {
        PGresult *r = json && sql ? db_exec(d, sql, 1, &json) : NULL;
        rc = r ? 0 : -1;
        PQclear(r);
    }
    rowset_release(&w);
    return rc;
}

int lease_hold(lease *l, db *d)
{
    return lease_hold_all(&l, 1, d);
}

/* The check and the renewal in one: the rows stay locked until the
 * transaction ends, and the renewal commits with the work or not at all
 * (see the header). */
static rowset_stmt lease_fence_sql = ROWSET_STMT(
    lease_rows,
    "UPDATE eventlog.leases l"
    " SET expires_at = greatest(l.expires_at, clock_timestamp() + x.ms * interval '1 ms')"
    " FROM {@rows $1 x} WHERE l.consumer = x.consumer AND l.part = x.part"
    " AND l.owner = x.owner AND l.token = x.token RETURNING l.consumer, l.part");

int lease_fence_all(lease *const *ls, size_t n, db *d)
{
    rowset w;
    size_t held;
    const char *json = lease_batch(&w, ls, n, &held);
    const char *sql = rowset_stmt_sql(&lease_fence_sql);
    PGresult *r = held && json && sql ? db_exec(d, sql, 1, &json) : NULL;
    rowset_release(&w);
    if (held && !r)
        return -1;
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        bool ours = false;
        for (int k = 0; ls[i]->held && k < PQntuples(r) && !ours; k++)
            ours = strcmp(db_value(r, k, "consumer"), ls[i]->consumer) == 0 &&
                   strcmp(db_value(r, k, "part"), ls[i]->part) == 0;
        if (!ours) {
            lease_drop(ls[i]);
            refused = 1;
        }
    }
    PQclear(r);
    return refused;
}

int lease_fence(lease *l, db *d)
{
    return lease_fence_all(&l, 1, d);
}

void lease_release(lease *l, db *d)
{
    if (!l->held || !db_up(d))
        return;
    char token[24];
    snprintf(token, sizeof token, "%" PRId64, l->token);
    const char *p[] = {l->consumer, l->owner, token, l->part};
    PGresult *r = lease_exec(l, d, true,
                             "UPDATE eventlog.leases SET expires_at = '-infinity'"
                             " WHERE consumer = $1 AND part = $4::int"
                             " AND owner = $2 AND token = $3",
                             4, p);
    PQclear(r);
    l->held = false;
    log_info("lease of %s/%s released", l->consumer, l->part);
}

void lease_instance_id(int port, char *out, size_t len)
{
    const char *id = config_str("INSTANCE_ID", NULL);
    if (id && id[0]) {
        snprintf(out, len, "%s", id);
        return;
    }
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(out, len, "%s:%d", host, port);
}
