/* migrate.h — numbered SQL migrations, applied at start under an advisory lock.
 *
 * The files under deploy/migrations (NNNN_name.sql) are embedded into every
 * binary at build time, so a binary always carries the schema it needs. Each
 * pending migration runs in its own transaction and is recorded in
 * public.carebus_migrations; several instances starting at once serialise
 * on pg_advisory_lock and the later ones find nothing to do.
 */
#ifndef CAREBUS_MIGRATE_H
#define CAREBUS_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

struct migration {
    const char *name; /* "0001_eventlog.sql" */
    const char *sql;
};

/* Generated from deploy/migrations (build/gen/migrations.c). */
extern const struct migration migrations[];
extern const size_t migrations_count;

/* Applies what is pending. Blocks. 0, or -1 after logging the failure. */
int migrate_apply(PGconn *conn);

#endif
