/* migrate.c — applies the embedded migrations under an advisory lock.
 *
 * The lock is session-level and taken with a blocking pg_advisory_lock, so
 * instances that start together wait for the first one and then find the
 * migrations recorded. Each migration and its record commit together, in
 * one transaction: a file that ends it itself (COMMIT, ROLLBACK) is
 * refused, as it would commit apart from its record. The COMMIT is a plain
 * one, not bounded by CAREBUS_SYNC_WAIT_MS: it runs only while applying, at
 * a connect, before the connection serves.
 */
#include "migrate.h"

#include <stdbool.h>
#include <string.h>

#include "log.h"

/* Any constant works; it only has to be the same in every binary. */
#define MIGRATE_LOCK_KEY "7341298823"

static bool migrate_ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return true;
    const char *msg = PQresultErrorMessage(r);
    log_error("migration: could not %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
    (void)c;
    return false;
}

static int migrate_simple(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    int rc = migrate_ok(c, r, what) ? 0 : -1;
    PQclear(r);
    return rc;
}

/* A migration's SQL ran (migration and version row must commit together):
 * still in the transaction we opened, or it ended it itself (a COMMIT or
 * ROLLBACK in the file), which would commit its work apart from its row, so
 * that a crash between them runs it again. false after logging. */
static bool migrate_still_in_transaction(PGconn *c, const char *name)
{
    if (PQtransactionStatus(c) == PQTRANS_INTRANS)
        return true;
    log_error("migration: %s ended its transaction (a COMMIT or ROLLBACK in its SQL): it must "
              "commit with its record",
              name);
    return false;
}

static int migrate_one(PGconn *c, const struct migration *m)
{
    if (migrate_simple(c, "BEGIN", "begin") != 0)
        return -1;
    const char *params[] = {m->name};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM public.carebus_migrations WHERE name = $1", 1,
                               NULL, params, NULL, NULL, 0);
    if (!migrate_ok(c, r, "read the applied migrations")) {
        PQclear(r);
        goto fail;
    }
    bool applied = PQntuples(r) > 0;
    PQclear(r);
    if (applied)
        return migrate_simple(c, "COMMIT", "commit");
    /* The file may hold several statements: the simple protocol runs them all. */
    r = PQexec(c, m->sql);
    if (!migrate_ok(c, r, m->name) || !migrate_still_in_transaction(c, m->name)) {
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    r = PQexecParams(c, "INSERT INTO public.carebus_migrations (name) VALUES ($1)", 1, NULL, params,
                     NULL, NULL, 0);
    bool ok = migrate_ok(c, r, "record the migration");
    PQclear(r);
    if (!ok || migrate_simple(c, "COMMIT", "commit") != 0)
        goto fail;
    log_info("applied migration %s", m->name);
    return 0;
fail:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

int migrate_apply(PGconn *c)
{
    if (migrate_simple(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "take the lock") != 0)
        return -1;
    int rc = migrate_simple(c,
                            "CREATE TABLE IF NOT EXISTS public.carebus_migrations ("
                            " name text PRIMARY KEY,"
                            " applied_at timestamptz NOT NULL DEFAULT now())",
                            "create the migrations table");
    for (size_t i = 0; rc == 0 && i < migrations_count; i++)
        rc = migrate_one(c, &migrations[i]);
    if (migrate_simple(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "release the lock") !=
        0)
        rc = -1;
    return rc;
}

int migrate_derived(PGconn *c, const char *name, const char *sql)
{
    if (migrate_simple(c, "BEGIN", "begin") != 0)
        return -1;
    /* The transaction-level lock conflicts with migrate_apply's session
     * lock on the same key: a derived definition never runs beside a
     * migration, and two instances apply it one after the other. */
    if (migrate_simple(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", "take the lock") !=
            0 ||
        migrate_simple(c,
                       "CREATE TABLE IF NOT EXISTS public.carebus_derived ("
                       " name text PRIMARY KEY,"
                       " sql text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       "create the derived definitions' table") != 0)
        goto fail;
    const char *params[] = {name, sql};
    PGresult *r =
        PQexecParams(c, "SELECT 1 FROM public.carebus_derived WHERE name = $1 AND sql = $2", 2,
                     NULL, params, NULL, NULL, 0);
    if (!migrate_ok(c, r, "read the derived definitions")) {
        PQclear(r);
        goto fail;
    }
    bool same = PQntuples(r) > 0;
    PQclear(r);
    if (same)
        return migrate_simple(c, "COMMIT", "commit");
    r = PQexec(c, sql); /* several statements: the simple protocol */
    if (!migrate_ok(c, r, name) || !migrate_still_in_transaction(c, name)) {
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    r = PQexecParams(c,
                     "INSERT INTO public.carebus_derived (name, sql) VALUES ($1, $2)"
                     " ON CONFLICT (name) DO UPDATE SET sql = excluded.sql, applied_at = now()",
                     2, NULL, params, NULL, NULL, 0);
    bool ok = migrate_ok(c, r, "record the derived definition");
    PQclear(r);
    if (!ok || migrate_simple(c, "COMMIT", "commit") != 0)
        goto fail;
    log_info("applied derived definition %s", name);
    return 0;
fail:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}
