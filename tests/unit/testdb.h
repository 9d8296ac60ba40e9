/* testdb.h — the throw-away database of the unit tests that need PostgreSQL.
 *
 * tests/with-pg.sh names a server in CAREBUS_TEST_PG; testdb_open makes a
 * database of this process's own there (named for the test and the pid,
 * so that test programs may run at once), with the migrations applied, and
 * testdb_close drops it. Without CAREBUS_TEST_PG there is none and the tests
 * skip. One such database per process.
 */
#ifndef CAREBUS_TESTDB_H
#define CAREBUS_TESTDB_H

#include "db.h"

/* Creates the database and connects to it as application `name`, the
 * migrations applied: the caller owns *out. 0 done, and also 0 with *out
 * NULL when CAREBUS_TEST_PG is unset (the tests skip); -1 failed (said on
 * stderr). Blocks. */
int testdb_open(const char *name, db **out);

/* The database's conninfo, for more connections to it ("" before
 * testdb_open made it). Static storage. */
const char *testdb_conninfo(void);

/* One more connection to the database, as application `name` (a second
 * instance's): NULL when it cannot connect (said on stderr). Blocks. */
db *testdb_connect(const char *name);

/* testdb_open, and one more connection into *second as application `name`
 * with "2" appended (a second instance's): 0 done, and also 0 with both NULL
 * when CAREBUS_TEST_PG is unset; -1 failed (said on stderr). Blocks. */
int testdb_open_two(const char *name, db **out, db **second);

/* On connection d: a temporary table slow_commit whose row inserted with
 * slow = true makes its transaction's COMMIT take 5 s (a deferred trigger
 * sleeps), as a COMMIT waiting for a synchronous standby would. 0 or -1. */
int testdb_slow_commit(db *d);

/* testdb_connect, with commits bounded at 200 ms (CAREBUS_SYNC_WAIT_MS)
 * and testdb_slow_commit's table: a commit of a slow row is cut, and the
 * connection's writers back off. NULL when it cannot (said on stderr). */
db *testdb_connect_slow(const char *name);

/* On a connection with testdb_slow_commit's table: a write whose COMMIT
 * is cut at the bound (begin, a slow row, commit). 0 when it was cut, -1
 * when anything else happened. */
int testdb_cut_commit(db *d);

/* d's writers' back-off on the tests' clock (db_set_backoff_clock), which
 * stands still until testdb_clock_advance moves it: "at once" is within a
 * back-off however slow the machine (valgrind, a loaded host). */
void testdb_hold_backoff_clock(db *d);
void testdb_clock_advance(int64_t ms);
/* The tests' clock itself (monotonic ms), for other back-offs' clocks
 * (dbq_set_backoff_clock). */
int64_t testdb_clock(void);

/* A TCP proxy to the server of conninfo (a key=value conninfo with
 * port=, on 127.0.0.1) that forwards connections and holds cancel requests
 * unanswered: a cancel stays on its way, as over a slow or broken network,
 * until the proxy stops. NULL when it cannot start (said on stderr). */
typedef struct testdb_proxy testdb_proxy;
testdb_proxy *testdb_proxy_start(const char *conninfo);
/* conninfo through the proxy (the proxy's storage). */
const char *testdb_proxy_conninfo(const testdb_proxy *p);
/* The cancel requests held so far. */
int testdb_proxy_held(const testdb_proxy *p);
/* Stops it (NULLs *p): its connections close, the held requests too. */
void testdb_proxy_stop(testdb_proxy **p);

/* In a test: skips it when there is no database (d NULL). */
#define TESTDB_NEED(d)                                                                             \
    do {                                                                                           \
        if (!(d))                                                                                  \
            skip();                                                                                \
    } while (0)

/* Destroys *d (NULLs it) and drops the database, connections left or not;
 * nothing to drop when testdb_open made none. Blocks. */
void testdb_close(db **d);

/* Destroys *second (NULLs it), then testdb_close(d). Blocks. */
void testdb_close_two(db **d, db **second);

#endif
