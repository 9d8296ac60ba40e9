/* partset.c — a consumer's partitions: leases, fair share, catch-up.
 *
 * The balancing runs on the tick, every third of a lease: one statement
 * renews this instance's member row and reads the live members and the
 * free partitions (no lease row, expired, given back, or this instance's
 * own from a previous run), without locking anything: a takeover is then
 * attempted only on a partition that looks free, so that the loop does not
 * wait on the row locks of the partitions other instances are applying
 * (lease_hold). Giving back goes from the highest partition down, taking
 * from the lowest up, so that two instances converge instead of trading.
 *
 * The partitions this instance holds catch up from one read of the log,
 * in one transaction and one flush per batch (consumer_catch_up_shared),
 * not one read, one transaction and one flush each: every partition's
 * read would decode the whole log to apply an eighth of it, and its flush
 * run every set-based statement for an eighth of the batch. The bus only
 * wakes them: what it brought is read from the log, the same way.
 *
 * The loop is never held long enough for a lease to lapse: the owned
 * leases are renewed after each catch-up (at most about a second), and
 * every commit renews its own (lease_fence).
 */
#include "partset.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

_Static_assert(PARTSET_MAX <= CONSUMER_SHARED_MAX, "a shared catch-up holds every partition");

/* A partition's log is looked at this often when nothing arrives. */
#define PARTSET_POLL_MS 1000
/* The bus is drained of at most this many events per readable call. */
#define PARTSET_DRAIN_MAX 100000

struct partset {
    char *name;
    char *owner;
    int n, ms;
    db *db;
    bus *bus;
    consumer **cs;
    lease **ls;
    bool *catching; /* catch up at once (a takeover, a start, more to do) */
    bool *free;     /* as at the last look (n > 1) */
    consumer **grp; /* the partitions of a shared catch-up (n > 1) ... */
    int *gp, *grc;  /* ... their numbers, and their results */
    int share;      /* partitions this instance should hold */
    bool registered;
    int64_t next_member_ms, next_poll_ms;
};

partset *partset_new(const struct partset_opts *o)
{
    assert(o->parts >= 1 && o->parts <= PARTSET_MAX);
    assert(o->parts == 1 || o->part_of);
    partset *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->n = o->parts;
    ps->ms = o->lease_ms;
    ps->db = o->db;
    ps->bus = o->bus;
    ps->share = o->parts;
    if (!(ps->name = strdup(o->name)) || !(ps->owner = strdup(o->owner)) ||
        !(ps->cs = calloc((size_t)ps->n, sizeof *ps->cs)) ||
        !(ps->ls = calloc((size_t)ps->n, sizeof *ps->ls)) ||
        !(ps->catching = calloc((size_t)ps->n, sizeof *ps->catching)) ||
        !(ps->free = calloc((size_t)ps->n, sizeof *ps->free)) ||
        !(ps->grp = calloc((size_t)ps->n, sizeof *ps->grp)) ||
        !(ps->gp = calloc((size_t)ps->n, sizeof *ps->gp)) ||
        !(ps->grc = calloc((size_t)ps->n, sizeof *ps->grc)))
        goto fail;
    for (int p = 0; p < ps->n; p++) {
        char cname[160];
        if (ps->n == 1)
            snprintf(cname, sizeof cname, "%s", o->name);
        else
            snprintf(cname, sizeof cname, "%s/%d", o->name, p);
        if (!(ps->cs[p] = consumer_new(cname, o->db, o->bus, o->output, o->handlers, o->nhandlers,
                                       o->arg)) ||
            !(ps->ls[p] = lease_new(o->name, p, o->owner, o->lease_ms)))
            goto fail;
        if (ps->n > 1)
            consumer_set_partition(ps->cs[p], p, ps->n, o->part_of);
        consumer_set_lease(ps->cs[p], ps->ls[p]);
        ps->catching[p] = true; /* catch up from the log on start */
        ps->free[p] = true;
    }
    metrics_describe("carebus_partitions_owned", "gauge",
                     "consumer partitions this instance holds the lease of");
    metrics_set("carebus_partitions_owned", 0);
    return ps;
fail:
    partset_destroy(&ps);
    return NULL;
}

void partset_destroy(partset **pps)
{
    partset *ps = *pps;
    if (!ps)
        return;
    for (int p = 0; ps->cs && p < ps->n; p++)
        consumer_destroy(&ps->cs[p]);
    for (int p = 0; ps->ls && p < ps->n; p++)
        lease_destroy(&ps->ls[p]);
    free(ps->cs);
    free(ps->ls);
    free(ps->catching);
    free(ps->free);
    free(ps->grp);
    free(ps->gp);
    free(ps->grc);
    free(ps->name);
    free(ps->owner);
    free(ps);
    *pps = NULL;
}

int partset_count(const partset *ps)
{
    return ps->n;
}

consumer *partset_consumer(partset *ps, int part)
{
    assert(part >= 0 && part < ps->n);
    return ps->cs[part];
}

int partset_owned(const partset *ps)
{
    int held = 0;
    for (int p = 0; p < ps->n; p++)
        held += lease_held(ps->ls[p]);
    return held;
}

uint64_t partset_applied(const partset *ps)
{
    uint64_t n = 0;
    for (int p = 0; p < ps->n; p++)
        n += consumer_applied(ps->cs[p]);
    return n;
}

int partset_read(partset *ps, const char *stream)
{
    for (int p = 0; p < ps->n; p++)
        if ((p == 0 ? consumer_read(ps->cs[p], stream) : consumer_track(ps->cs[p], stream)) != 0)
            return -1;
    return 0;
}

/* Records the count in the log, or checks it against the recorded one:
 * 0, 1 (the database failed: again later), -1 (they differ: logged). */
static int partset_register(partset *ps)
{
    char n[12];
    snprintf(n, sizeof n, "%d", ps->n);
    const char *p[] = {ps->name, n};
    PGresult *r = NULL;
    if (db_write(ps->db,
                 "WITH i AS (INSERT INTO eventlog.partitionings (consumer, parts)"
                 "           VALUES ($1, $2::int) ON CONFLICT DO NOTHING RETURNING parts)"
                 " SELECT parts FROM i"
                 " UNION ALL SELECT parts FROM eventlog.partitionings WHERE consumer = $1",
                 2, p, &r) != 0 ||
        PQntuples(r) != 1) {
        PQclear(r);
        return 1;
    }
    int was = atoi(db_value(r, 0, "parts"));
    PQclear(r);
    if (was != ps->n) {
        log_error("%s has %d partitions in this log, and this instance is configured for %d"
                  " (CAREBUS_PARTITIONS): the count is fixed for the life of a log",
                  ps->name, was, ps->n);
        return -1;
    }
    ps->registered = true;
    return 0;
}

/* Renews the member row; reads the live members and the free partitions. */
static void partset_members(partset *ps)
{
    char ms[16], n[12];
    snprintf(ms, sizeof ms, "%d", ps->ms);
    snprintf(n, sizeof n, "%d", ps->n);
    const char *p[] = {ps->name, ps->owner, ms, n};
    /* A write: in a transaction of its own, so that its commit is bounded
     * (db_commit) when the synchronous standby is away, and refused while
     * the writers back off (db_begin: DB_NOT_NOW). */
    if (db_begin(ps->db) != 0)
        return; /* the share and the free set stay as they were */
    /* clang-format off */
    PGresult *r = db_exec(ps->db,
        "WITH m AS (INSERT INTO eventlog.lease_members AS m (consumer, owner, expires_at)"
        "           VALUES ($1, $2, clock_timestamp() + $3::int * interval '1 ms')"
        "           ON CONFLICT (consumer, owner) DO UPDATE SET expires_at = excluded.expires_at"
        "           RETURNING 1),"
        " gone AS (DELETE FROM eventlog.lease_members"
        "           WHERE consumer = $1 AND expires_at < clock_timestamp() - interval '1 day')"
        " SELECT (SELECT count(*) FROM eventlog.lease_members"
        "          WHERE consumer = $1 AND owner <> $2 AND expires_at > clock_timestamp())"
        "        + (SELECT count(*) FROM m) AS members,"
        "        (SELECT coalesce(string_agg(g.k::text, ','), '') FROM generate_series(0, $4::int - 1) g(k)"
        "           LEFT JOIN eventlog.leases l ON l.consumer = $1 AND l.part = g.k"
        "          WHERE l.part IS NULL OR l.expires_at < clock_timestamp() OR l.owner = $2) AS free",
        4, p);
    /* clang-format on */
    if (!r)
        db_rollback(ps->db);
    if (!r || db_commit(ps->db) != 0 || PQntuples(r) != 1) {
        PQclear(r);
        return;
    }
    long members = strtol(db_value(r, 0, "members"), NULL, 10);
    if (members < 1)
        members = 1;
    ps->share = (int)((ps->n + members - 1) / members);
    memset(ps->free, 0, (size_t)ps->n * sizeof *ps->free);
    const char *s = db_value(r, 0, "free");
    while (*s) {
        char *end;
        long k = strtol(s, &end, 10);
        if (end == s)
            break;
        if (k >= 0 && k < ps->n)
            ps->free[k] = true;
        s = *end == ',' ? end + 1 : end;
    }
    PQclear(r);
}

static void partset_changed(partset *ps, int p, bool gained)
{
    /* Another instance moved the partition's state meanwhile, or will. */
    consumer_forget(ps->cs[p]);
    ps->catching[p] = gained;
}

/* Renews the owned leases that are due. */
static void partset_renew(partset *ps)
{
    int64_t now = time_mono_ms();
    for (int p = 0; p < ps->n; p++)
        if (lease_held(ps->ls[p]) && lease_tick(ps->ls[p], ps->db, now) == LEASE_LOST)
            partset_changed(ps, p, false);
}

/* Renews, gives back above the share, takes below it. */
static void partset_balance(partset *ps, int64_t now)
{
    int held = 0;
    for (int p = 0; p < ps->n; p++) {
        if (!lease_held(ps->ls[p]))
            continue;
        if (lease_tick(ps->ls[p], ps->db, now) == LEASE_LOST)
            partset_changed(ps, p, false);
        else
            held++;
    }
    for (int p = ps->n - 1; p >= 0 && held > ps->share; p--) {
        if (!lease_held(ps->ls[p]))
            continue;
        log_info("%s: giving partition %d back (%d held, a fair share is %d)", ps->name, p, held,
                 ps->share);
        lease_release(ps->ls[p], ps->db);
        partset_changed(ps, p, false);
        held--;
    }
    for (int p = 0; p < ps->n && held < ps->share; p++) {
        if (lease_held(ps->ls[p]) || (ps->n > 1 && !ps->free[p]))
            continue;
        lease_state st = lease_tick(ps->ls[p], ps->db, now);
        if (st == LEASE_GAINED) {
            partset_changed(ps, p, true);
            held++;
        }
    }
    metrics_set("carebus_partitions_owned", held);
}

/* Catches up the held partitions that `all` or their catching flag
 * selects, from one read of the log (consumer_catch_up_shared); a
 * partition whose commit was cut, or whose batch db_begin refused, keeps
 * catching up (consumer_held_off: a refusal costs nothing), so that it goes
 * on as soon as the writers' back-off ends, not a poll later. */
static void partset_catch_up(partset *ps, bool all)
{
    size_t n = 0;
    for (int p = 0; p < ps->n; p++)
        if (lease_held(ps->ls[p]) && (all || ps->catching[p])) {
            ps->grp[n] = ps->cs[p];
            ps->gp[n++] = p;
        }
    if (!n)
        return;
    consumer_catch_up_shared(ps->grp, n, ps->grc);
    for (size_t i = 0; i < n; i++) {
        int p = ps->gp[i], rc = ps->grc[i];
        ps->catching[p] =
            rc > 0 || (rc < 0 && lease_held(ps->ls[p]) && consumer_held_off(ps->cs[p]));
    }
    partset_renew(ps);
}

/* Applies what the logs hold: the partitions catching up at once, all of
 * them once a second (consumer_tick; with several partitions, one read
 * serves those this instance holds: partset_catch_up), and then publishes
 * their lag. */
static void partset_poll(partset *ps, int64_t now)
{
    bool due = now >= ps->next_poll_ms;
    if (due)
        ps->next_poll_ms = now + PARTSET_POLL_MS;
    if (ps->n > 1) {
        /* Once a second each held partition looks at the log, as its tick
         * would; a read that finds nothing costs a query per stream. */
        partset_catch_up(ps, due);
        if (due)
            partset_publish_lag(ps);
        return;
    }
    if (!ps->catching[0] && !due)
        return;
    int rc = ps->catching[0] ? consumer_catch_up(ps->cs[0]) : consumer_tick(ps->cs[0]);
    ps->catching[0] = rc > 0 || (rc < 0 && lease_held(ps->ls[0]) && consumer_held_off(ps->cs[0]));
    partset_renew(ps);
}

int partset_tick(partset *ps, int64_t now_ms)
{
    if (ps->n > 1) {
        if (!ps->registered) {
            int rc = partset_register(ps);
            if (rc != 0)
                return rc < 0 ? -1 : 0;
        }
        if (now_ms >= ps->next_member_ms) {
            ps->next_member_ms = now_ms + ps->ms / 3;
            partset_members(ps);
        }
    }
    partset_balance(ps, now_ms);
    partset_poll(ps, now_ms);
    return 0;
}

void partset_on_bus(partset *ps)
{
    if (ps->n == 1) {
        consumer_on_bus(ps->cs[0]);
        return;
    }
    /* The log is the truth: what came is read from it, once for the held
     * partitions. */
    event *ev;
    for (int i = 0; i < PARTSET_DRAIN_MAX && bus_recv(ps->bus, &ev) == 1; i++)
        event_destroy(&ev);
    partset_catch_up(ps, true);
}

void partset_publish_lag(partset *ps)
{
    consumer_publish_lag(ps->cs[0], ps->n > 1 ? ps->name : NULL);
}

void partset_release(partset *ps)
{
    for (int p = 0; p < ps->n; p++)
        lease_release(ps->ls[p], ps->db);
    metrics_set("carebus_partitions_owned", 0);
    /* Like a lease's release, waiting for no standby: lost in a failover,
     * the member row expires. */
    if (ps->n > 1 && db_up(ps->db) && db_begin_local(ps->db) == 0) {
        const char *p[] = {ps->name, ps->owner};
        if (db_command(ps->db,
                       "DELETE FROM eventlog.lease_members WHERE consumer = $1 AND owner = $2", 2,
                       p) != 0)
            db_rollback(ps->db);
        else
            db_commit(ps->db);
    }
}

int partset_begin(partset *ps, db *d)
{
    int rc = db_begin(d);
    if (rc != 0)
        return rc;
    if (lease_limit_txn(ps->ls[0], d) != 0) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

int partset_of(const char *id, int parts)
{
    if (!id || strlen(id) != 36 || parts < 1)
        return -1;
    unsigned long v = 0;
    for (int i = 29; i < 36; i++) {
        int h = hex_digit(id[i]);
        if (h < 0)
            return -1;
        v = v * 16 + (unsigned long)h;
    }
    return (int)(v % (unsigned long)parts);
}
