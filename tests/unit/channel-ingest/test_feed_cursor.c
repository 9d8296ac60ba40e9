/* test_feed_cursor.c — feed_cursor.c: the event feed's positions and their
 * opaque spelling.
 *
 * Positions stay sorted and unique whatever order they are set in; 0
 * removes one. Every cursor the encoder writes decodes to itself, the
 * largest one included; every other text is refused: not base64url, another
 * version, unsorted or repeated streams, a seq of 0, with a leading zero or
 * past INT64_MAX, a bad stream name, stray separators, too many streams.
 * Run one test by name: test_feed_cursor <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base64url.h"
#include "feed_cursor.h"

/* The cursor whose text form is text. */
static void wrap(const char *text, char out[FEED_CURSOR_MAX])
{
    size_t n = strlen(text);
    assert_true(n <= FEED_CURSOR_TEXT_MAX);
    base64url_encode((const unsigned char *)text, n, out);
}

static void test_set_get(void **state)
{
    (void)state;
    struct feed_cursor c;
    feed_cursor_init(&c);
    assert_int_equal(feed_cursor_get(&c, "ingest"), 0);
    assert_int_equal(feed_cursor_set(&c, "survey", 4), 0);
    assert_int_equal(feed_cursor_set(&c, "ingest", 12), 0);
    assert_int_equal(feed_cursor_set(&c, "router", 7), 0);
    assert_int_equal(feed_cursor_set(&c, "courier", 1), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.pos[0].stream, "courier");
    assert_string_equal(c.pos[1].stream, "ingest");
    assert_string_equal(c.pos[2].stream, "router");
    assert_string_equal(c.pos[3].stream, "survey");
    assert_int_equal(feed_cursor_get(&c, "router"), 7);
    assert_int_equal(feed_cursor_set(&c, "router", 9), 0);
    assert_int_equal(feed_cursor_get(&c, "router"), 9);
    assert_int_equal(c.n, 4);
    /* 0 is no position: it removes one, and adds none. */
    assert_int_equal(feed_cursor_set(&c, "ingest", 0), 0);
    assert_int_equal(feed_cursor_set(&c, "sla", 0), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(feed_cursor_get(&c, "ingest"), 0);
    assert_string_equal(c.pos[1].stream, "router");
    /* Refused, and nothing changes. */
    assert_int_equal(feed_cursor_set(&c, "", 1), -1);
    assert_int_equal(feed_cursor_set(&c, "a=b", 1), -1);
    assert_int_equal(feed_cursor_set(&c, "a;b", 1), -1);
    assert_int_equal(feed_cursor_set(&c, "router", (uint64_t)INT64_MAX + 1), -1);
    assert_int_equal(feed_cursor_get(&c, "router"), 9);
    assert_int_equal(c.n, 3);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct feed_cursor c, d;
    char enc[FEED_CURSOR_MAX], again[FEED_CURSOR_MAX];
    feed_cursor_init(&c);
    size_t n = feed_cursor_encode(&c, enc);
    assert_int_equal(n, strlen(enc));
    assert_int_equal(feed_cursor_decode(enc, &d), 0);
    assert_int_equal(d.n, 0);

    assert_int_equal(feed_cursor_set(&c, "router", 7), 0);
    assert_int_equal(feed_cursor_set(&c, "ingest", 12), 0);
    feed_cursor_encode(&c, enc);
    char want[FEED_CURSOR_MAX];
    wrap("v1;ingest=12;router=7", want);
    assert_string_equal(enc, want);
    assert_int_equal(feed_cursor_decode(enc, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(feed_cursor_get(&d, "ingest"), 12);
    assert_int_equal(feed_cursor_get(&d, "router"), 7);
    feed_cursor_encode(&d, again);
    assert_string_equal(again, enc);
}

static void test_largest(void **state)
{
    (void)state;
    struct feed_cursor c, d;
    feed_cursor_init(&c);
    for (int i = 0; i < FEED_CURSOR_STREAMS; i++) {
        /* 29 letters and two digits: the longest name. */
        char name[FEED_STREAM_MAX];
        memset(name, 'a' + i % 26, sizeof name - 3);
        name[sizeof name - 3] = (char)('0' + i / 10);
        name[sizeof name - 2] = (char)('0' + i % 10);
        name[sizeof name - 1] = '\0';
        assert_int_equal(feed_cursor_set(&c, name, INT64_MAX), 0);
    }
    assert_int_equal(feed_cursor_set(&c, "one-too-many", 1), -1);
    char enc[FEED_CURSOR_MAX];
    size_t n = feed_cursor_encode(&c, enc);
    assert_int_equal(n, FEED_CURSOR_MAX - 1);
    assert_int_equal(feed_cursor_decode(enc, &d), 0);
    assert_int_equal(d.n, FEED_CURSOR_STREAMS);
    assert_memory_equal(&c.pos, &d.pos, sizeof c.pos);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "",                                      /* no version */
        "v2",                                    /* another version */
        "v1;",                                   /* a separator without a position */
        "v1;ingest",                             /* no seq */
        "v1;ingest=",                            /* empty seq */
        "v1;=12",                                /* no stream */
        "v1;ingest=0",                           /* 0 is written as no position */
        "v1;ingest=012",                         /* a leading zero */
        "v1;ingest=-1",                          /* a sign */
        "v1;ingest=1x",                          /* not a number */
        "v1;ingest=9223372036854775808",         /* INT64_MAX + 1 */
        "v1;ingest=12;",                         /* a trailing separator */
        "v1;router=7;ingest=12",                 /* unsorted */
        "v1;ingest=1;ingest=2",                  /* repeated */
        "v1;in gest=1",                          /* a bad name */
        "v1;in=gest=1",                          /* two "=" */
        "v1ingest=1",                            /* no separator */
        " v1",                                   /* blanks */
        "v1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", /* a 32-byte name */
    };
    struct feed_cursor c;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char enc[FEED_CURSOR_MAX];
        wrap(texts[i], enc);
        if (feed_cursor_decode(enc, &c) == 0)
            fail_msg("accepted \"%s\"", texts[i]);
        assert_int_equal(c.n, 0);
    }
    /* Not base64url at all, padded, or stray bits. */
    assert_int_equal(feed_cursor_decode("djE=", &c), -1);
    assert_int_equal(feed_cursor_decode("djE+", &c), -1);
    assert_int_equal(feed_cursor_decode("djF", &c), -1);
    assert_int_equal(feed_cursor_decode("not a cursor", &c), -1);
    assert_int_equal(feed_cursor_decode("djE", &c), 0); /* "v1": the empty cursor */

    /* Too many streams, and too long to be a cursor. */
    char text[FEED_CURSOR_TEXT_MAX + 64] = "v1";
    for (int i = 0; i <= FEED_CURSOR_STREAMS; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), ";s%03d=1", i);
    char enc[FEED_CURSOR_MAX];
    wrap(text, enc);
    assert_int_equal(feed_cursor_decode(enc, &c), -1);
    char longer[FEED_CURSOR_MAX + 8];
    memset(longer, 'A', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(feed_cursor_decode(longer, &c), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_largest),
        cmocka_unit_test(test_refused),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("feed_cursor", tests, NULL, NULL);
}
