/* testdb.c — the throw-away database of the unit tests that need PostgreSQL.
 *
 * The database is made and dropped over a separate connection to
 * CAREBUS_TEST_PG's database (a database cannot be dropped from within);
 * DROP ... WITH (FORCE) ends the connections a failed test left open.
 */
#include "testdb.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* testdb_proxy: the pairs it forwards, and the cancel requests it holds. */
#define PROXY_MAX 8
struct testdb_proxy {
    int listener, port, upstream_port;
    int fd[2 * PROXY_MAX]; /* pairs: client, server; -1 free */
    int held[PROXY_MAX];   /* cancel requests kept unanswered */
    atomic_int nheld;
    atomic_bool stop;
    pthread_t thread;
    char conninfo[512];
};

static void testdb_proxy_accept(struct testdb_proxy *p)
{
    int a = accept(p->listener, NULL, NULL);
    if (a < 0)
        return;
    unsigned char head[8];
    struct pollfd w = {.fd = a, .events = POLLIN};
    if (poll(&w, 1, 5000) != 1 || recv(a, head, sizeof head, MSG_PEEK | MSG_WAITALL) != 8) {
        close(a);
        return;
    }
    /* CancelRequest: length 16, code 1234 5678. */
    if (head[3] == 16 && head[4] == 0x04 && head[5] == 0xd2 && head[6] == 0x16 && head[7] == 0x2e) {
        if (p->nheld < PROXY_MAX)
            p->held[p->nheld++] = a;
        else
            close(a);
        return;
    }
    int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in up = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)p->upstream_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (b < 0 || connect(b, (struct sockaddr *)&up, sizeof up) != 0) {
        close(a);
        if (b >= 0)
            close(b);
        return;
    }
    for (int i = 0; i < PROXY_MAX; i++)
        if (p->fd[2 * i] < 0) {
            p->fd[2 * i] = a;
            p->fd[2 * i + 1] = b;
            return;
        }
    close(a);
    close(b);
}

static void *testdb_proxy_run(void *arg)
{
    struct testdb_proxy *p = arg;
    while (!atomic_load(&p->stop)) { /* bounded by the test's stop */
        struct pollfd f[1 + 2 * PROXY_MAX];
        f[0] = (struct pollfd){.fd = p->listener, .events = POLLIN};
        for (int i = 0; i < 2 * PROXY_MAX; i++)
            f[1 + i] = (struct pollfd){.fd = p->fd[i], .events = POLLIN};
        if (poll(f, 1 + 2 * PROXY_MAX, 50) <= 0)
            continue;
        if (f[0].revents & POLLIN)
            testdb_proxy_accept(p);
        for (int i = 0; i < 2 * PROXY_MAX; i++) {
            if (p->fd[i] < 0 || !(f[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[8192];
            ssize_t n = recv(p->fd[i], buf, sizeof buf, 0);
            int peer = p->fd[i ^ 1];
            if (n <= 0 || send(peer, buf, (size_t)n, MSG_NOSIGNAL) != n) {
                close(p->fd[i]);
                close(peer);
                p->fd[i] = p->fd[i ^ 1] = -1;
            }
        }
    }
    return NULL;
}

testdb_proxy *testdb_proxy_start(const char *conninfo)
{
    const char *at = conninfo ? strstr(conninfo, "port=") : NULL;
    struct testdb_proxy *p = at ? calloc(1, sizeof *p) : NULL;
    if (!p)
        return NULL;
    p->upstream_port = atoi(at + 5);
    for (int i = 0; i < 2 * PROXY_MAX; i++)
        p->fd[i] = -1;
    atomic_init(&p->stop, false);
    p->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (p->listener < 0 || bind(p->listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(p->listener, 8) != 0 ||
        getsockname(p->listener, (struct sockaddr *)&a, &alen) != 0 ||
        pthread_create(&p->thread, NULL, testdb_proxy_run, p) != 0) {
        fprintf(stderr, "testdb: could not start the proxy\n");
        if (p->listener >= 0)
            close(p->listener);
        free(p);
        return NULL;
    }
    p->port = ntohs(a.sin_port);
    snprintf(p->conninfo, sizeof p->conninfo, "%s port=%d sslmode=disable gssencmode=disable",
             conninfo, p->port);
    return p;
}

const char *testdb_proxy_conninfo(const testdb_proxy *p)
{
    return p->conninfo;
}

int testdb_proxy_held(const testdb_proxy *p)
{
    return p->nheld;
}

void testdb_proxy_stop(testdb_proxy **pp)
{
    struct testdb_proxy *p = *pp;
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < 2 * PROXY_MAX; i++)
        if (p->fd[i] >= 0)
            close(p->fd[i]);
    for (int i = 0; i < p->nheld; i++)
        close(p->held[i]); /* the cancel's thread ends */
    close(p->listener);
    free(p);
    *pp = NULL;
}
