/* test_log.c — log.c: one JSON object per line, fields, levels; the text
 * lines shown on a terminal.
 *
 * stderr is pointed at an O_APPEND temporary file for the duration of each
 * test (a file, not a pipe, so that many lines never block the writer) and
 * read back line by line. Run one test by name: test_log <name>.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <regex.h>

#include "log.h"
#include "timeutil.h"

static int saved_stderr = -1;
static FILE *capture_file;

static void capture_begin(void)
{
    assert_int_equal(saved_stderr, -1);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    int fd = fileno(capture_file);
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND), 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
}

static void capture_restore(void)
{
    if (saved_stderr < 0)
        return;
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
}

/* Everything written since capture_begin; malloc'd, NUL-terminated. */
static char *capture_end(size_t *len)
{
    capture_restore();
    int fd = fileno(capture_file);
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size >= 0);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    buf[size] = '\0';
    fclose(capture_file);
    capture_file = NULL;
    if (len != NULL)
        *len = (size_t)size;
    return buf;
}

/* Splits buf into lines (each must end in '\n') and parses each. Returns the
 * number of lines; out[] receives owned objects. */
static size_t parse_lines(char *buf, json_t **out, size_t max)
{
    size_t n = 0;
    char *p = buf;
    while (*p != '\0') {
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            fail_msg("line without newline: %s", p);
        *nl = '\0';
        json_error_t e;
        json_t *j = json_loads(p, JSON_REJECT_DUPLICATES, &e);
        if (j == NULL)
            fail_msg("not JSON (%s): %s", e.text, p);
        assert_true(json_is_object(j));
        assert_true(n < max);
        out[n++] = j;
        p = nl + 1;
    }
    return n;
}

/* Captures the output of the statements and parses it. */
#define CAPTURE(lines, max, n, ...)                                                                \
    do {                                                                                           \
        capture_begin();                                                                           \
        __VA_ARGS__;                                                                               \
        char *out_ = capture_end(NULL);                                                            \
        (n) = parse_lines(out_, (lines), (max));                                                   \
        free(out_);                                                                                \
    } while (0)

static void free_lines(json_t **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(lines[i]);
}

static const char *str_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("field \"%s\" missing or not a string", key);
    return json_string_value(v);
}

static int setup(void **state)
{
    (void)state;
    unsetenv("CAREBUS_LOG_LEVEL");
    /* JSON even when the tests run on a terminal. */
    setenv("CAREBUS_LOG_FORMAT", "json", 1);
    log_init("test-svc");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    capture_restore();
    unsetenv("CAREBUS_LOG_LEVEL");
    unsetenv("CAREBUS_LOG_FORMAT");
    log_set_format(LOG_FORMAT_JSON, false);
    return 0;
}

static void test_base_fields(void **state)
{
    (void)state;
    json_t *lines[4];
    size_t n;
    int64_t before = time_now_us();
    CAPTURE(lines, 4, n, log_info("hello %d from %s", 42, "test"));
    int64_t after = time_now_us();
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "level"), "info");
    assert_string_equal(str_field(lines[0], "service"), "test-svc");
    assert_string_equal(str_field(lines[0], "msg"), "hello 42 from test");
    assert_int_equal(json_object_size(lines[0]), 4);

    /* "2026-11-23T02:00:00.123Z": RFC 3339, UTC, milliseconds. */
    const char *ts = str_field(lines[0], "ts");
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], '.');
    assert_int_equal(ts[23], 'Z');
    int64_t us;
    assert_int_equal(time_parse_rfc3339(ts, &us), 0);
    assert_true(us >= before - before % 1000 && us <= after);
    free_lines(lines, n);
}

static void test_key_order(void **state)
{
    (void)state;
    capture_begin();
    log_warn("x");
    char *out = capture_end(NULL);
    /* Humans read these too: the base fields come first, in this order. */
    assert_true(strncmp(out, "{\"ts\":\"", 7) == 0);
    char *lv = strstr(out, "\"level\""), *sv = strstr(out, "\"service\""),
         *mv = strstr(out, "\"msg\"");
    assert_true(lv != NULL && sv != NULL && mv != NULL && lv < sv && sv < mv);
    free(out);
}

static void test_extra_fields(void **state)
{
    (void)state;
    json_t *lines[4];
    size_t n;
    CAPTURE(lines, 4, n,
            log_write(LOG_WARN,
                      json_pack("{s:s,s:i,s:b,s:{s:s}}", "ticket_id", "t-1", "attempt", 3, "retry",
                                1, "nested", "k", "v"),
                      "retrying"));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "level"), "warn");
    assert_string_equal(str_field(lines[0], "msg"), "retrying");
    assert_string_equal(str_field(lines[0], "ticket_id"), "t-1");
    assert_int_equal(json_integer_value(json_object_get(lines[0], "attempt")), 3);
    assert_true(json_is_true(json_object_get(lines[0], "retry")));
    assert_string_equal(str_field(json_object_get(lines[0], "nested"), "k"), "v");
    free_lines(lines, n);
}

static void test_extra_fields_cannot_override_base(void **state)
{
    (void)state;
    json_t *lines[4];
    size_t n;
    CAPTURE(lines, 4, n,
            log_write(LOG_ERROR,
                      json_pack("{s:s,s:s,s:s,s:s,s:s}", "msg", "evil", "level", "debug", "service",
                                "other", "ts", "never", "extra", "kept"),
                      "real"));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "msg"), "real");
    assert_string_equal(str_field(lines[0], "level"), "error");
    assert_string_equal(str_field(lines[0], "service"), "test-svc");
    assert_string_not_equal(str_field(lines[0], "ts"), "never");
    assert_string_equal(str_field(lines[0], "extra"), "kept");
    free_lines(lines, n);
}

static void test_non_object_fields(void **state)
{
    (void)state;
    json_t *lines[4];
    size_t n;
    CAPTURE(lines, 4, n, log_write(LOG_INFO, json_string("loose"), "m"));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "fields"), "loose");
    free_lines(lines, n);
}

static void test_level_filtering(void **state)
{
    (void)state;
    json_t *lines[8];
    size_t n;
    /* Default is info. */
    CAPTURE(lines, 8, n, log_debug("hidden"); log_info("shown"));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "msg"), "shown");
    free_lines(lines, n);

    log_set_level(LOG_WARN);
    /* A filtered call still releases its fields (ASan/valgrind check). */
    CAPTURE(lines, 8, n, log_info("hidden");
            log_write(LOG_DEBUG, json_pack("{s:s}", "a", "b"), "hidden too"); log_warn("w");
            log_error("e"));
    assert_int_equal(n, 2);
    assert_string_equal(str_field(lines[0], "level"), "warn");
    assert_string_equal(str_field(lines[1], "level"), "error");
    free_lines(lines, n);

    log_set_level(LOG_DEBUG);
    CAPTURE(lines, 8, n, log_debug("d"); log_info("i"); log_warn("w"); log_error("e"));
    assert_int_equal(n, 4);
    assert_string_equal(str_field(lines[0], "level"), "debug");
    free_lines(lines, n);

    log_set_level(LOG_ERROR);
    CAPTURE(lines, 8, n, log_debug("d"); log_info("i"); log_warn("w"); log_error("e"));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "msg"), "e");
    free_lines(lines, n);
}

static void test_level_from_env(void **state)
{
    (void)state;
    json_t *lines[8];
    size_t n;
    setenv("CAREBUS_LOG_LEVEL", "debug", 1);
    CAPTURE(lines, 8, n, log_init("svc-a"); log_debug("d"));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "service"), "svc-a");
    free_lines(lines, n);

    setenv("CAREBUS_LOG_LEVEL", "error", 1);
    CAPTURE(lines, 8, n, log_init("svc-a"); log_warn("w"); log_error("e"));
    assert_int_equal(n, 1);
    free_lines(lines, n);

    /* Empty counts as unset: info. */
    setenv("CAREBUS_LOG_LEVEL", "", 1);
    CAPTURE(lines, 8, n, log_init("svc-a"); log_debug("d"); log_info("i"));
    assert_int_equal(n, 1);
    free_lines(lines, n);
}

static void test_unknown_env_level_warns_and_keeps_info(void **state)
{
    (void)state;
    json_t *lines[8];
    size_t n;
    setenv("CAREBUS_LOG_LEVEL", "verbose", 1);
    CAPTURE(lines, 8, n, log_init("svc-b"); log_debug("d"); log_info("i"));
    assert_int_equal(n, 2);
    assert_string_equal(str_field(lines[0], "level"), "warn");
    assert_string_equal(str_field(lines[0], "service"), "svc-b");
    assert_non_null(strstr(str_field(lines[0], "msg"), "CAREBUS_LOG_LEVEL"));
    assert_string_equal(str_field(lines[0], "value"), "verbose");
    assert_string_equal(str_field(lines[1], "msg"), "i");
    free_lines(lines, n);
}

static void test_level_parse(void **state)
{
    (void)state;
    log_level l = LOG_ERROR;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("info", &l), 0);
    assert_int_equal(l, LOG_INFO);
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_ERROR);
    assert_int_equal(log_level_parse("warning", &l), -1);
    assert_int_equal(log_level_parse("INFO", &l), -1);
    assert_int_equal(log_level_parse("", &l), -1);
    assert_int_equal(log_level_parse(NULL, &l), -1);
    assert_int_equal(l, LOG_ERROR);
}

static void test_awkward_messages(void **state)
{
    (void)state;
    json_t *lines[8];
    size_t n;
    CAPTURE(lines, 8, n, log_info("two\nlines \"quoted\" \\ tab\t end");
            log_info("bad utf-8: \xff\xfe ok \xc3\xa9 cut \xe2\x82"); log_info("%s", ""));
    assert_int_equal(n, 3);
    assert_string_equal(str_field(lines[0], "msg"), "two\nlines \"quoted\" \\ tab\t end");
    assert_string_equal(str_field(lines[1], "msg"),
                        "bad utf-8: \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9 cut "
                        "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(str_field(lines[2], "msg"), "");
    free_lines(lines, n);
}

static void test_long_message(void **state)
{
    (void)state;
    size_t big = 20000;
    char *s = malloc(big + 1);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++)
        s[i] = (char)('a' + i % 26);
    s[big] = '\0';
    json_t *lines[4];
    size_t n;
    CAPTURE(lines, 4, n, log_write(LOG_INFO, json_pack("{s:s}", "copy", s), "%s", s));
    assert_int_equal(n, 1);
    assert_string_equal(str_field(lines[0], "msg"), s);
    assert_string_equal(str_field(lines[0], "copy"), s);
    free_lines(lines, n);
    free(s);
}

static void test_errno_preserved(void **state)
{
    (void)state;
    json_t *lines[4];
    size_t n;
    errno = ENOENT;
    CAPTURE(lines, 4, n, log_error("open failed: %m"));
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(str_field(lines[0], "msg"), "No such file"));
    free_lines(lines, n);
    errno = EAGAIN;
    log_debug("filtered");
    assert_int_equal(errno, EAGAIN);
}

#define THREADS 8
#define PER_THREAD 300

static void *log_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pad[600];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < PER_THREAD; i++)
        log_write(LOG_INFO, json_pack("{s:i,s:i}", "thread", id, "i", i), "%s", pad);
    return NULL;
}

static void test_threads_never_interleave(void **state)
{
    (void)state;
    capture_begin();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_thread, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = capture_end(NULL);
    json_t **lines = calloc(THREADS * PER_THREAD, sizeof *lines);
    assert_non_null(lines);
    size_t n = parse_lines(out, lines, THREADS * PER_THREAD);
    assert_int_equal(n, THREADS * PER_THREAD);
    int next[THREADS] = {0};
    for (size_t i = 0; i < n; i++) {
        int id = (int)json_integer_value(json_object_get(lines[i], "thread"));
        assert_true(id >= 0 && id < THREADS);
        /* Each thread's lines appear in its own order. */
        assert_int_equal(json_integer_value(json_object_get(lines[i], "i")), next[id]);
        next[id]++;
    }
    free_lines(lines, n);
    free(lines);
    free(out);
}

/* --- text lines ------------------------------------------------------------------- */

static char *capture_text(void (*fn)(void))
{
    capture_begin();
    fn();
    return capture_end(NULL);
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("\"%s\" does not match /%s/", text, pattern);
}

static void write_with_fields(void)
{
    log_write(LOG_WARN,
              json_pack("{s:s, s:i, s:s, s:b, s:s}", "ticket", "t-1", "n", 3, "why", "two words",
                        "ok", 1, "empty", ""),
              "first\nsecond\tthird");
}

static void test_text_line(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_TEXT, false);
    char *out = capture_text(write_with_fields);
    /* Local time, the service padded, the level, the message on one line
     * (control characters escaped), then the fields: plain words as they
     * are, anything else as JSON. */
    assert_matches(out, "^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} test-svc       WARN  "
                        "first\\\\nsecond\\\\tthird ticket=t-1 n=3 why=\"two words\" ok=true "
                        "empty=\"\"\n$");
    assert_null(strchr(out, '\033'));
    free(out);
}

static void write_error(void)
{
    log_error("boom");
}

static void test_text_line_colored(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_TEXT, true);
    char *out = capture_text(write_error);
    char want[64];
    snprintf(want, sizeof want, "\033[%sm%-14s\033[0m", log_service_color("test-svc"), "test-svc");
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "\033[1;31mERROR\033[0m boom\n"));
    free(out);
}

static void init_and_log(void)
{
    log_init("svc-f");
    log_info("hello");
}

static void test_format_from_env(void **state)
{
    (void)state;
    /* The capture is a file, not a terminal: auto means JSON, text has no colour. */
    setenv("CAREBUS_LOG_FORMAT", "text", 1);
    char *out = capture_text(init_and_log);
    assert_matches(out, "^[0-9:.]{12} svc-f +INFO  hello\n$");
    free(out);

    const char *json_ones[] = {"json", "auto", ""};
    for (size_t i = 0; i < sizeof json_ones / sizeof json_ones[0]; i++) {
        setenv("CAREBUS_LOG_FORMAT", json_ones[i], 1);
        out = capture_text(init_and_log);
        assert_matches(out, "^\\{\"ts\":.*\"msg\":\"hello\"\\}\n$");
        free(out);
    }

    /* Unknown: a warning (in the automatic format), and on. */
    setenv("CAREBUS_LOG_FORMAT", "pretty", 1);
    json_t *lines[4];
    size_t n;
    CAPTURE(lines, 4, n, init_and_log());
    assert_int_equal(n, 2);
    assert_string_equal(str_field(lines[0], "level"), "warn");
    assert_string_equal(str_field(lines[0], "value"), "pretty");
    assert_non_null(strstr(str_field(lines[0], "msg"), "CAREBUS_LOG_FORMAT"));
    assert_string_equal(str_field(lines[1], "msg"), "hello");
    free_lines(lines, n);
}

static void test_service_colors_differ(void **state)
{
    (void)state;
    static const char *const services[] = {"channel-ingest", "router", "sla-monitor", "survey",
                                           "analytics"};
    const size_t n = sizeof services / sizeof services[0];
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            if (strcmp(log_service_color(services[i]), log_service_color(services[k])) == 0)
                fail_msg("%s and %s share a colour", services[i], services[k]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extra_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extra_fields_cannot_override_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_object_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filtering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_env_level_warns_and_keeps_info, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_level_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_awkward_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errno_preserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_never_interleave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_line_colored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_colors_differ, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
