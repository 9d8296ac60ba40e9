/* testdb.c — the throw-away database of the unit tests that need PostgreSQL.
 *
 * The database is made and dropped over a separate connection to
 * CAREBUS_TEST_PG's database (a database cannot be dropped from within);
 * DROP ... WITH (FORCE) ends the connections a failed test left open.
 */
#include "testdb.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char testdb_admin[512]; /* CAREBUS_TEST_PG */
static char testdb_name[64];   /* "" until made */
static char testdb_info[640];  /* the database's conninfo */

/* Runs one statement on the admin database; 0 or -1 (said on stderr). */
static int testdb_admin_exec(const char *sql)
{
    PGconn *admin = PQconnectdb(testdb_admin);
    PGresult *res = PQexec(admin, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(admin));
    PQclear(res);
    PQfinish(admin);
    return ok ? 0 : -1;
}

int testdb_open(const char *name, db **out)
{
    *out = NULL;
    const char *base = getenv("CAREBUS_TEST_PG");
    if (!base || !base[0])
        return 0;
    snprintf(testdb_admin, sizeof testdb_admin, "%s", base);
    char dbname[64];
    snprintf(dbname, sizeof dbname, "carebus_%s_%ld", name, (long)getpid());
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname);
    if (testdb_admin_exec(sql) != 0)
        return -1;
    snprintf(testdb_name, sizeof testdb_name, "%s", dbname);
    snprintf(testdb_info, sizeof testdb_info, "%s dbname=%s", testdb_admin, testdb_name);
    *out = db_new(testdb_info, name);
    if (!*out)
        return -1;
    db_set_apply_migrations(*out, true);
    return db_ensure(*out);
}

const char *testdb_conninfo(void)
{
    return testdb_info;
}

db *testdb_connect(const char *name)
{
    db *d = db_new(testdb_conninfo(), name);
    if (d && db_ensure(d) != 0)
        db_destroy(&d);
    if (!d)
        fprintf(stderr, "testdb: could not connect as %s\n", name);
    return d;
}

int testdb_open_two(const char *name, db **out, db **second)
{
    *second = NULL;
    if (testdb_open(name, out) != 0)
        return -1;
    if (!*out)
        return 0;
    char name2[64];
    snprintf(name2, sizeof name2, "%s2", name);
    return (*second = testdb_connect(name2)) ? 0 : -1;
}

void testdb_close(db **d)
{
    db_destroy(d);
    if (!testdb_name[0])
        return;
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", testdb_name);
    (void)testdb_admin_exec(sql);
    testdb_name[0] = testdb_info[0] = '\0';
}

void testdb_close_two(db **d, db **second)
{
    db_destroy(second);
    testdb_close(d);
}

db *testdb_connect_slow(const char *name)
{
    setenv("CAREBUS_SYNC_WAIT_MS", "200", 1);
    db *d = testdb_connect(name);
    unsetenv("CAREBUS_SYNC_WAIT_MS");
    if (d && testdb_slow_commit(d) != 0) {
        fprintf(stderr, "testdb: could not make %s's slow_commit table\n", name);
        db_destroy(&d);
    }
    return d;
}

int testdb_cut_commit(db *d)
{
    if (db_begin(d) != 0 || db_command(d, "INSERT INTO slow_commit VALUES (true)", 0, NULL) != 0)
        return -1;
    return db_commit(d) == -1 ? 0 : -1;
}

static int64_t testdb_clock_ms;

int64_t testdb_clock(void)
{
    return testdb_clock_ms;
}

void testdb_hold_backoff_clock(db *d)
{
    db_set_backoff_clock(d, testdb_clock);
}

void testdb_clock_advance(int64_t ms)
{
    testdb_clock_ms += ms;
}

int testdb_slow_commit(db *d)
{
    static const char *const sql[] = {
        "CREATE TEMP TABLE slow_commit (slow boolean)",
        "CREATE FUNCTION pg_temp.slow() RETURNS trigger LANGUAGE plpgsql"
        " AS $$BEGIN IF NEW.slow THEN PERFORM pg_sleep(5); END IF; RETURN NULL; END$$",
        "CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON slow_commit"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.slow()",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        if (db_command(d, sql[i], 0, NULL) != 0)
            return -1;
    return 0;
}
