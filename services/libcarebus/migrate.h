/* migrate.h — numbered SQL migrations, applied at start under an advisory lock.
 *
 * The files under deploy/migrations (NNNN_name.sql) are embedded into every
 * binary at build time, so a binary always carries the schema it needs. Each
 * pending migration runs in its own transaction and is recorded in
 * public.carebus_migrations; several instances starting at once serialise
 * on pg_advisory_lock and the later ones find nothing to do. Derived
 * definitions (migrate_derived) are the generated complement: re-applied
 * whenever the text a binary generates changes.
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

/* A derived definition: SQL a service writes at run time from one of its
 * tables (a view over columns the numbered migrations made, comments that
 * list the schema's enum values), so that the table stays the one place a
 * KPI or a channel is written. It is applied in one transaction, under the
 * migrations' lock, whenever its text differs from the text last applied
 * under that name (kept in public.carebus_derived, where an operator can
 * read it), so instances of one version agree and a restart is a no-op.
 * The SQL must be idempotent DDL (CREATE OR REPLACE, COMMENT ON) over
 * objects a numbered migration made. Blocks. 0, or -1 after logging. */
int migrate_derived(PGconn *conn, const char *name, const char *sql);

#endif
