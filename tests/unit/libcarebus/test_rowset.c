/* test_rowset.c — one table description, every form at the border.
 *
 * Statements, JSON batches and COPY lines are checked as text; the round
 * trips (a batch written through {@rows}, read back through {@select} and
 * by name; a COPY TO STDOUT line read back; a composite batch written
 * through {@unnest}, before and after the table changes) run against the throw-away
 * PostgreSQL cluster of CAREBUS_TEST_PG, and are skipped without one.
 * Failure paths: a result column the table does not describe, a setter
 * that refuses its value, a COPY line with too few or too many fields,
 * invalid UTF-8, an allocation that failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "rowset.h"
#include "testdb.h"

#define NONE INT64_MIN

struct thing {
    char id[37];
    const char *name;
    int count;
    int64_t big;
    uint64_t seq;
    bool ok;
    int64_t at;
    const char *doc;
    const char *tags[3];
    size_t ntags;
    int kind; /* 1 "red", 2 "blue" */
};

static void tags_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct thing *t = row;
    rowset_put_strv(p, t->tags, t->ntags);
}

static void kind_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    int k = ((const struct thing *)row)->kind;
    rowset_put_str(p, k == 1 ? "red" : k == 2 ? "blue" : NULL);
}

static int kind_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    struct thing *t = row;
    if (!v) {
        t->kind = 0;
        return 0;
    }
    if (strcmp(v, "red") == 0 || strcmp(v, "blue") == 0) {
        t->kind = v[0] == 'r' ? 1 : 2;
        return 0;
    }
    return -1; /* refuses what it does not know */
}

/* Strings read back go to a small pool the tests free. */
static char *g_pool[64];
static int g_npool;

static char *pool_strdup(void *ctx, const char *s)
{
    (void)ctx;
    if (g_npool == 64)
        return NULL;
    return g_pool[g_npool++] = strdup(s);
}

static void pool_free(void)
{
    while (g_npool)
        free(g_pool[--g_npool]);
}

#define T(f) ROWSET_AT(struct thing, f)
static const struct rowset_col cols[] = {
    {"id", "uuid", ROWSET_ID, T(id)},
    {"name", "text", ROWSET_STR, T(name)},
    {"count", "integer", ROWSET_INT, T(count), .none = -1, .flags = ROWSET_NULLABLE},
    {"big", "bigint", ROWSET_I64, T(big)},
    {"seq", "bigint", ROWSET_U64, T(seq)},
    {"ok", "boolean", ROWSET_BOOL, T(ok)},
    {"at", "timestamptz", ROWSET_TIME, T(at), .none = NONE},
    {"doc", "jsonb", ROWSET_JSON, T(doc)},
    {"tags", "text[]", ROWSET_FN, .get = tags_get},
    {"kind", "text", ROWSET_FN, .get = kind_get, .set = kind_set},
};
#undef T
static const rowset_table things = {"pg_temp.things", cols, ROWSET_COUNT(cols), pool_strdup};

static const struct rowset_col other_cols[] = {
    {"key", "text", ROWSET_STR, .off = 0, .size = sizeof(char *)},
};
static const rowset_table others = {"test.others", other_cols, 1, NULL};

static struct thing sample(void)
{
    struct thing t = {
        .id = "0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01",
        .name = "Tôi \"cần\"\thỗ\\trợ\n",
        .count = 3,
        .big = -9000000000,
        .seq = UINT64_C(18446744073709551615),
        .ok = true,
        .at = INT64_C(1795399200123456), /* 2026-11-23T02:00:00.123456Z */
        .doc = "{\"a\": [1, 2]}",
        .tags = {"support", "vip, \"gold\"", "a\\b"},
        .ntags = 3,
        .kind = 2,
    };
    return t;
}

static char *expand(const rowset_table *t, const char *tmpl)
{
    buf b = BUF_INIT;
    assert_int_equal(rowset_sql(t, tmpl, &b), 0);
    return buf_detach(&b, NULL);
}

/* --- statements ----------------------------------------------------------------- */

static void test_sql_verbs(void **state)
{
    (void)state;
    char *s = expand(&things, "SELECT {@select x id,name,at,tags} FROM t x");
    assert_string_equal(s,
                        "SELECT x.id, x.name, (extract(epoch FROM x.at) * 1000000)::bigint AS at,"
                        " to_json(x.tags)::text AS tags FROM t x");
    free(s);
    s = expand(&things,
               "INSERT INTO t ({@cols id,name}) SELECT {@values r id,name} FROM"
               " {@rows $2 r id,name} ON CONFLICT (id) DO UPDATE SET {@set excluded name}");
    assert_string_equal(s, "INSERT INTO t (id, name) SELECT r.id, r.name FROM"
                           " json_to_recordset($2::json) AS r (id uuid, name text)"
                           " ON CONFLICT (id) DO UPDATE SET name = excluded.name");
    free(s);
    s = expand(&things, "{@copy}");
    assert_string_equal(s,
                        "COPY pg_temp.things (id, name, count, big, seq, ok, at, doc, tags, kind)"
                        " FROM STDIN");
    free(s);
    s = expand(&things, "CREATE TEMP TABLE x ({@defs id,at,tags})");
    assert_string_equal(s, "CREATE TEMP TABLE x (id uuid, at timestamptz, tags text[])");
    free(s);
    /* Literal braces of SQL are left alone. */
    s = expand(&things, "SELECT '{}'::text[], {@cols kind}");
    assert_string_equal(s, "SELECT '{}'::text[], kind");
    free(s);
}

static void test_sql_second_table(void **state)
{
    (void)state;
    static rowset_stmt st =
        ROWSET_STMT2(things, others, "SELECT {@cols id} FROM {@others.rows $1 k}");
    const char *s = rowset_stmt_sql(&st);
    assert_non_null(s);
    assert_string_equal(s, "SELECT id FROM json_to_recordset($1::json) AS k (key text)");
    /* Expanded once, then kept. */
    assert_ptr_equal(rowset_stmt_sql(&st), s);
    free(st.text);
    st.text = NULL;
}

/* --- batches --------------------------------------------------------------------- */

static void test_json_batch(void **state)
{
    (void)state;
    rowset w;
    rowset_init(&w, &things, NULL);
    assert_string_equal(rowset_json(&w), "[]");
    struct thing t = sample();
    rowset_add(&w, &t);
    struct thing n = {.count = -1, .at = NONE}; /* every NULL a kind can say */
    rowset_add(&w, &n);
    assert_int_equal(rowset_count(&w), 2);
    assert_string_equal(
        rowset_json(&w),
        "[{\"id\":\"0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\","
        "\"name\":\"Tôi \\\"cần\\\"\\thỗ\\\\trợ\\n\",\"count\":3,\"big\":-9000000000,"
        "\"seq\":18446744073709551615,\"ok\":true,\"at\":\"2026-11-23T02:00:00.123456Z\","
        "\"doc\":{\"a\": [1, 2]},\"tags\":[\"support\",\"vip, \\\"gold\\\"\",\"a\\\\b\"],"
        "\"kind\":\"blue\"},"
        "{\"id\":null,\"name\":null,\"count\":null,\"big\":0,\"seq\":0,\"ok\":false,"
        "\"at\":null,\"doc\":null,\"tags\":[],\"kind\":null}]");
    /* Adding after reading the text reopens the array. */
    rowset_clear(&w);
    rowset_only(&w, "id,kind");
    rowset_add(&w, &t);
    assert_string_equal(rowset_json(&w),
                        "[{\"id\":\"0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\",\"kind\":\"blue\"}]");
    t.kind = 1;
    rowset_add(&w, &t);
    assert_string_equal(rowset_json(&w),
                        "[{\"id\":\"0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\",\"kind\":\"blue\"},"
                        "{\"id\":\"0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\",\"kind\":\"red\"}]");
    rowset_release(&w);
}

static void test_invalid_utf8_is_null(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "cut \xe1\xbb",     /* a sequence cut short */
        "\xc0\xaf",         /* overlong */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "\xff",
        "eight by\xfftes",          /* after a whole ASCII word */
        "sixteen bytes ok\xe1\xbb", /* cut at the very end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct thing t = {.name = bad[i], .doc = bad[i], .count = -1, .at = NONE};
        rowset w;
        rowset_init(&w, &things, NULL);
        rowset_only(&w, "name,doc");
        rowset_add(&w, &t);
        assert_string_equal(rowset_json(&w), "[{\"name\":null,\"doc\":null}]");
        rowset_release(&w);
        buf b = BUF_INIT;
        rowset_copy_line(&things, &t, NULL, &b);
        assert_string_equal(buf_str(&b), "\\N\t\\N\t\\N\t0\t0\tf\t\\N\t\\N\t{}\t\\N\n");
        buf_release(&b);
    }
    /* Valid multi-byte text of every length passes. */
    struct thing t = {
        .name = "é ệ 你 😀 and more than eight ASCII bytes ệ", .count = -1, .at = NONE};
    rowset w;
    rowset_init(&w, &things, NULL);
    rowset_only(&w, "name");
    rowset_add(&w, &t);
    assert_string_equal(rowset_json(&w),
                        "[{\"name\":\"é ệ 你 😀 and more than eight ASCII bytes ệ\"}]");
    rowset_release(&w);
}

static void test_copy_line(void **state)
{
    (void)state;
    struct thing t = sample();
    buf b = BUF_INIT;
    rowset_copy_line(&things, &t, NULL, &b);
    assert_string_equal(buf_str(&b),
                        "0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\t"
                        "Tôi \"cần\"\\thỗ\\\\trợ\\n\t3\t-9000000000\t"
                        "18446744073709551615\tt\t2026-11-23T02:00:00.123456Z\t"
                        "{\"a\": [1, 2]}\t"
                        "{\"support\",\"vip, \\\\\"gold\\\\\"\",\"a\\\\\\\\b\"}\tblue\n");
    buf_release(&b);
}

static void put_bytes(rowset_put *p, const void *row, const void *ctx)
{
    (void)row;
    (void)ctx;
    static const uint8_t bytes[] = {0x00, 0x0a, 0xff};
    rowset_put_bytea(p, bytes, sizeof bytes);
}

static void put_others(rowset_put *p, const void *row, const void *ctx)
{
    (void)row;
    (void)ctx;
    rowset_put_i64(p, 7);
}

/* Integers at their bounds, each as one COPY line. */
static void test_integers(void **state)
{
    (void)state;
    static const struct rowset_col ic[] = {
        {"a", "bigint", ROWSET_I64, .off = 0, .size = sizeof(int64_t)},
        {"b", "bigint", ROWSET_I64, .off = sizeof(int64_t), .size = sizeof(int64_t)},
        {"c", "bigint", ROWSET_I64, .off = 2 * sizeof(int64_t), .size = sizeof(int64_t)},
        {"d", "bigint", ROWSET_I64, .off = 3 * sizeof(int64_t), .size = sizeof(int64_t)},
        {"e", "bigint", ROWSET_I64, .off = 4 * sizeof(int64_t), .size = sizeof(int64_t)},
    };
    static const rowset_table it = {"test.ints", ic, 5, NULL};
    const int64_t row[5] = {0, -1, 1234567890, INT64_MAX, INT64_MIN};
    buf b = BUF_INIT;
    rowset_copy_line(&it, row, NULL, &b);
    assert_string_equal(buf_str(&b),
                        "0\t-1\t1234567890\t9223372036854775807\t-9223372036854775808\n");
    buf_release(&b);
}

static void test_bytea_and_getters(void **state)
{
    (void)state;
    static const struct rowset_col bc[] = {
        {"b", "bytea", ROWSET_FN, .get = put_bytes},
        {"n", "bigint", ROWSET_FN, .get = put_others},
    };
    static const rowset_table bt = {"test.bytes", bc, 2, NULL};
    int dummy = 0;
    rowset w;
    rowset_init(&w, &bt, NULL);
    rowset_add(&w, &dummy);
    assert_string_equal(rowset_json(&w), "[{\"b\":\"\\\\x000aff\",\"n\":7}]");
    rowset_release(&w);
    buf b = BUF_INIT;
    rowset_copy_line(&bt, &dummy, NULL, &b);
    assert_string_equal(buf_str(&b), "\\\\x000aff\t7\n");
    buf_release(&b);
}

static void test_keys(void **state)
{
    (void)state;
    const char *keys[] = {"a", "b\"c", "d\\e", "x,y"};
    buf b = BUF_INIT;
    rowset_keys(&b, keys, 4);
    assert_string_equal(buf_str(&b), "{\"a\",\"b\\\"c\",\"d\\\\e\",\"x,y\"}");
    buf_reset(&b);
    rowset_keys(&b, keys, 0);
    assert_string_equal(buf_str(&b), "{}");
    buf_release(&b);
}

/* --- COPY lines read back ------------------------------------------------------------ */

static void test_copy_read(void **state)
{
    (void)state;
    uint64_t set = rowset_cols(&things, "id,name,count,at,kind");
    struct thing t = {0};
    const char line[] = "0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\ta\\tb\\\\c\\n\t\\N\t1795399200123456"
                        "\tred\n";
    assert_int_equal(rowset_copy_read(&things, set, line, strlen(line), &t, NULL), 0);
    assert_string_equal(t.id, "0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01");
    assert_string_equal(t.name, "a\tb\\c\n");
    assert_int_equal(t.count, -1); /* NULL: the nullable int's none */
    assert_int_equal(t.at, INT64_C(1795399200123456));
    assert_int_equal(t.kind, 1);
    pool_free();
    /* Fewer fields, more fields, a value the setter refuses. */
    const char *bad[] = {
        "0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\tx\t1\t2\n",
        "0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\tx\t1\t2\tred\textra\n",
        "0b9f1c3e-5d2a-4e6b-9c1d-7a8e2f4b6c01\tx\t1\t2\tgreen\n",
        "an id far too long for its thirty-seven characters\tx\t1\t2\tred\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct thing u = {0};
        assert_int_equal(rowset_copy_read(&things, set, bad[i], strlen(bad[i]), &u, NULL), -1);
        pool_free();
    }
    /* A line longer than the reader's stack buffer. */
    char *longline = malloc(4096);
    memset(longline, 'x', 4000);
    longline[4000] = '\0';
    struct thing u = {0};
    uint64_t name_only = rowset_cols(&things, "name");
    assert_int_equal(rowset_copy_read(&things, name_only, longline, 4000, &u, NULL), 0);
    assert_int_equal(strlen(u.name), 4000);
    free(longline);
    pool_free();
}

/* --- round trips through PostgreSQL ----------------------------------------------------- */

static db *g_db;

static int group_setup(void **state)
{
    (void)state;
    const char *base = getenv("CAREBUS_TEST_PG");
    if (!base || !base[0])
        return 0;
    g_db = db_new(base, "test_rowset");
    if (!g_db || db_ensure(g_db) != 0)
        return -1;
    return db_command(g_db,
                      "CREATE TEMP TABLE things (id uuid PRIMARY KEY, name text, count integer,"
                      " big bigint, seq bigint, ok boolean, at timestamptz, doc jsonb, tags text[],"
                      " kind text)",
                      0, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    db_destroy(&g_db);
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    static rowset_stmt ins =
        ROWSET_STMT(things, "INSERT INTO things ({@cols id,name,count,big,ok,at,doc,tags,kind})"
                            " SELECT {@values x id,name,count,big,ok,at,doc,tags,kind}"
                            " FROM {@rows $1 x id,name,count,big,ok,at,doc,tags,kind}");
    static rowset_stmt sel =
        ROWSET_STMT(things, "SELECT {@select t id,name,count,big,ok,at,tags,kind}"
                            " FROM things t ORDER BY t.id");
    struct thing a = sample(),
                 b = {.id = "1d5b6a7f-8e9d-4ca3-8ebf-3a4b5c6d7e8f", .count = -1, .at = NONE};
    a.seq = 0;
    rowset w;
    rowset_init(&w, &things, NULL);
    rowset_only(&w, "id,name,count,big,ok,at,doc,tags,kind");
    rowset_add(&w, &a);
    rowset_add(&w, &b);
    const char *params[] = {rowset_json(&w)};
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&ins), 1, params), 0);
    rowset_release(&w);

    PGresult *r = db_exec(g_db, rowset_stmt_sql(&sel), 0, NULL);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 2);
    rowset_reader rd;
    assert_int_equal(rowset_reader_init(&rd, &things, r), 0);
    struct thing x = {0}, y = {0};
    assert_int_equal(rowset_read(&rd, 0, &x, NULL), 0);
    assert_int_equal(rowset_read(&rd, 1, &y, NULL), 0);
    assert_string_equal(x.id, a.id);
    assert_string_equal(x.name, a.name);
    assert_int_equal(x.count, 3);
    assert_int_equal(x.big, a.big);
    assert_true(x.ok);
    assert_int_equal(x.at, a.at);
    assert_int_equal(x.kind, 2);
    /* The text[] comes back as JSON text, the way a setter reads it. */
    assert_string_equal(db_value(r, 0, "tags"), "[\"support\",\"vip, \\\"gold\\\"\",\"a\\\\b\"]");
    assert_string_equal(y.id, b.id);
    assert_null(y.name);
    assert_int_equal(y.count, -1);
    assert_int_equal(y.at, NONE);
    assert_false(y.ok);
    assert_int_equal(y.kind, 0);
    assert_null(db_value(r, 1, "name"));
    PQclear(r);
    pool_free();
}

static void test_reader_failures(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    /* A column the table does not describe (a misspelt alias). */
    PGresult *r = db_exec(g_db, "SELECT 1 AS id, 'x' AS nmae", 0, NULL);
    assert_non_null(r);
    rowset_reader rd;
    assert_int_equal(rowset_reader_init(&rd, &things, r), -1);
    PQclear(r);
    /* A value the setter refuses, an id that does not fit. */
    r = db_exec(g_db, "SELECT 'green' AS kind", 0, NULL);
    assert_non_null(r);
    assert_int_equal(rowset_reader_init(&rd, &things, r), 0);
    struct thing t = {0};
    assert_int_equal(rowset_read(&rd, 0, &t, NULL), -1);
    PQclear(r);
    r = db_exec(g_db, "SELECT repeat('x', 40) AS id", 0, NULL);
    assert_non_null(r);
    assert_int_equal(rowset_reader_init(&rd, &things, r), 0);
    assert_int_equal(rowset_read(&rd, 0, &t, NULL), -1);
    PQclear(r);
}

static void test_copy_round_trip(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    /* COPY IN a line the description wrote, COPY OUT what the table holds,
     * read the line back: the same row. */
    static rowset_stmt del = ROWSET_STMT(things, "DELETE FROM things");
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&del), 0, NULL), 0);
    struct thing a = sample();
    a.seq = 42;
    buf line = BUF_INIT, sql = BUF_INIT;
    rowset_copy_line(&things, &a, NULL, &line);
    assert_int_equal(rowset_sql(&things, "{@copy}", &sql), 0);
    PGconn *c = db_conn(g_db);
    PGresult *r = PQexec(c, buf_str(&sql));
    assert_int_equal(PQresultStatus(r), PGRES_COPY_IN);
    PQclear(r);
    assert_int_equal(PQputCopyData(c, line.data, (int)line.len), 1);
    assert_int_equal(PQputCopyEnd(c, NULL), 1);
    while ((r = PQgetResult(c)) != NULL) {
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    buf_reset(&sql);
    assert_int_equal(rowset_sql(&things,
                                "COPY (SELECT {@select t id,name,seq,at,kind}"
                                " FROM things t) TO STDOUT",
                                &sql),
                     0);
    r = PQexec(c, buf_str(&sql));
    assert_int_equal(PQresultStatus(r), PGRES_COPY_OUT);
    PQclear(r);
    char *out;
    int n = PQgetCopyData(c, &out, 0);
    assert_true(n > 0);
    struct thing x = {0};
    assert_int_equal(rowset_copy_read(&things, rowset_cols(&things, "id,name,seq,at,kind"), out,
                                      (size_t)n, &x, NULL),
                     0);
    PQfreemem(out);
    assert_int_equal(PQgetCopyData(c, &out, 0), -1);
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    assert_string_equal(x.id, a.id);
    assert_string_equal(x.name, a.name);
    assert_int_equal(x.seq, 42);
    assert_int_equal(x.at, a.at);
    assert_int_equal(x.kind, 2);
    buf_release(&line);
    buf_release(&sql);
    pool_free();
}

/* Creates things' temporary type, as a writer does once a session. */
static void create_type(void)
{
    buf sql = BUF_INIT;
    buf_puts(&sql, "DO $$ BEGIN ");
    rowset_type_sql(&things, &sql);
    buf_puts(&sql, " END $$");
    assert_int_equal(db_command(g_db, buf_str(&sql), 0, NULL), 0);
    buf_release(&sql);
}

static PGresult *select_things(void)
{
    PGresult *r = db_exec(g_db,
                          "SELECT id::text, name, count, big, seq, ok,"
                          " at = '2026-11-23T02:00:00.123456Z' AS at_ok, doc::text, tags::text,"
                          " kind, at IS NULL AS no_at FROM things ORDER BY id",
                          0, NULL);
    assert_non_null(r);
    return r;
}

/* The first row's values: sample()'s, seq 42. */
static void check_sample(const PGresult *r, int row)
{
    assert_string_equal(db_value(r, row, "id"), sample().id);
    assert_string_equal(db_value(r, row, "name"), sample().name);
    assert_string_equal(db_value(r, row, "count"), "3");
    assert_string_equal(db_value(r, row, "big"), "-9000000000");
    assert_string_equal(db_value(r, row, "seq"), "42");
    assert_string_equal(db_value(r, row, "ok"), "t");
    assert_string_equal(db_value(r, row, "at_ok"), "t");
    assert_string_equal(db_value(r, row, "doc"), "{\"a\": [1, 2]}");
    assert_string_equal(db_value(r, row, "tags"), "{support,\"vip, \\\"gold\\\"\",\"a\\\\b\"}");
    assert_string_equal(db_value(r, row, "kind"), "blue");
}

/* A batch as an array of the writer's temporary type: the same values as
 * through JSON (quotes, backslashes, tabs, arrays, JSON, NULLs). Then the
 * table changes under the open session (a migration: a column dropped and
 * added again, so the order moves; a column of its own added) and the next
 * batch still puts every value in its column; rowset_only's columns alone
 * are written; db_session changes where the type may be lost. Last: it
 * changes things and renews the connection. */
static void test_composite_round_trip(void **state)
{
    (void)state;
    TESTDB_NEED(g_db);
    buf sql = BUF_INIT;
    rowset_type_sql(&things, &sql);
    assert_string_equal(buf_str(&sql),
                        "DROP TYPE IF EXISTS pg_temp.pg_temp_things_w;"
                        " CREATE TYPE pg_temp.pg_temp_things_w AS (id uuid, name text,"
                        " count integer, big bigint, seq bigint, ok boolean, at timestamptz,"
                        " doc jsonb, tags text[], kind text);");
    buf_release(&sql);
    static rowset_stmt del = ROWSET_STMT(things, "DELETE FROM things");
    static rowset_stmt ins = ROWSET_STMT(things, "INSERT INTO things ({@cols})"
                                                 " SELECT {@values x} FROM {@unnest $1 x}");
    static rowset_stmt upd = ROWSET_STMT(things, "UPDATE things t SET {@set x name,kind}"
                                                 " FROM {@unnest $1 x} WHERE t.id = x.id");
    assert_string_equal(rowset_stmt_sql(&upd),
                        "UPDATE things t SET name = x.name, kind = x.kind"
                        " FROM unnest($1::pg_temp.pg_temp_things_w[]) AS x WHERE t.id = x.id");
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&del), 0, NULL), 0);
    create_type();
    create_type(); /* again in the same session: replaced */

    struct thing a = sample(), b = {.id = "1d5b6a7f-8e9d-4ca3-8ebf-3a4b5c6d7e8f",
                                    .name = "",
                                    .count = -1,
                                    .at = NONE};
    a.seq = 42;
    rowset w;
    rowset_init_composite(&w, &things, NULL);
    const char *params[1];
    params[0] = rowset_json(&w);
    assert_string_equal(params[0], "{}");
    rowset_add(&w, &a);
    rowset_add(&w, &b);
    params[0] = rowset_json(&w);
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&ins), 1, params), 0);
    rowset_clear(&w);

    PGresult *r = select_things();
    assert_int_equal(PQntuples(r), 2);
    check_sample(r, 0);
    assert_string_equal(db_value(r, 1, "name"), "");
    assert_null(db_value(r, 1, "count"));
    assert_string_equal(db_value(r, 1, "ok"), "f");
    assert_string_equal(db_value(r, 1, "no_at"), "t");
    assert_null(db_value(r, 1, "doc"));
    assert_string_equal(db_value(r, 1, "tags"), "{}");
    assert_null(db_value(r, 1, "kind"));
    PQclear(r);

    /* A migration under the open session: name and count move to the end,
     * a column the writer does not know comes between. */
    assert_int_equal(db_command(g_db,
                                "ALTER TABLE things DROP COLUMN name, DROP COLUMN count,"
                                " ADD COLUMN extra text DEFAULT 'x', ADD COLUMN count integer,"
                                " ADD COLUMN name text",
                                0, NULL),
                     0);
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&del), 0, NULL), 0);
    rowset_add(&w, &a);
    params[0] = rowset_json(&w);
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&ins), 1, params), 0);
    rowset_clear(&w);
    r = select_things();
    assert_int_equal(PQntuples(r), 1);
    check_sample(r, 0);
    PQclear(r);

    /* Only some columns: the others go as NULL fields, unread. */
    struct thing c = sample();
    c.name = "renamed";
    c.kind = 1;
    c.count = 99;
    rowset_only(&w, "id,name,kind");
    rowset_add(&w, &c);
    params[0] = rowset_json(&w);
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&upd), 1, params), 0);
    r = db_exec(g_db, "SELECT name, kind, count, extra FROM things", 0, NULL);
    assert_non_null(r);
    assert_string_equal(db_value(r, 0, "name"), "renamed");
    assert_string_equal(db_value(r, 0, "kind"), "red");
    assert_string_equal(db_value(r, 0, "count"), "3");
    assert_string_equal(db_value(r, 0, "extra"), "x");
    PQclear(r);
    /* A session without the type fails loudly. */
    assert_int_equal(db_command(g_db, "DROP TYPE pg_temp.pg_temp_things_w", 0, NULL), 0);
    assert_int_equal(db_command(g_db, rowset_stmt_sql(&ins), 1, params), -1);
    assert_string_equal(db_last_sqlstate(g_db), "42704"); /* undefined_object */
    rowset_release(&w); /* params[0] was its text */
    pool_free();

    /* What tells a writer to create its types again: a rollback (which
     * may have taken them), a new connection (which has none). */
    uint64_t s = db_session(g_db);
    assert_int_not_equal(s, 0);
    assert_int_equal(db_begin(g_db), 0);
    create_type();
    db_rollback(g_db);
    assert_int_not_equal(db_session(g_db), s);
    s = db_session(g_db);
    create_type();
    assert_int_equal(db_session(g_db), s);
    assert_int_equal(db_renew(g_db), 0);
    assert_int_not_equal(db_session(g_db), s);
    r = db_exec(g_db, "SELECT to_regtype('pg_temp.pg_temp_things_w') IS NULL AS gone", 0, NULL);
    assert_non_null(r);
    assert_string_equal(db_value(r, 0, "gone"), "t");
    PQclear(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_verbs),
        cmocka_unit_test(test_sql_second_table),
        cmocka_unit_test(test_json_batch),
        cmocka_unit_test(test_invalid_utf8_is_null),
        cmocka_unit_test(test_copy_line),
        cmocka_unit_test(test_bytea_and_getters),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_copy_read),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_reader_failures),
        cmocka_unit_test(test_copy_round_trip),
        cmocka_unit_test(test_composite_round_trip),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
