/* log.c — JSON lines on stderr.
 *
 * Each line is built completely in memory and handed to one write(2): lines
 * from several threads or processes sharing stderr never interleave (short
 * lines to a pipe are atomic; a partial write is only finished, never mixed).
 * No buffer is shared between threads; the level is an atomic int and the
 * service name is set once by log_init before any thread starts. The four
 * base fields always win over extra fields with the same key. Messages are
 * forced to valid UTF-8 (jansson refuses anything else) so no line is lost.
 * Text lines (a terminal) are drawn from the very same object, so both
 * formats always carry the same fields; control characters are escaped so
 * that an entry stays one line. The format is fixed by log_init.
 */
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "timeutil.h"
#include "utf8.h"

/* Stack space for a message and a line; longer ones fall back to malloc. */
#define LOG_MSG_STACK 1024
#define LOG_LINE_STACK 4096

static const char *const log_level_names[] = {
    [LOG_DEBUG] = "debug",
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};
#define LOG_NLEVELS (sizeof log_level_names / sizeof log_level_names[0])

/* Written when a line cannot be built (out of memory): something is seen. */
static const char log_fallback[] =
    "{\"level\":\"error\",\"msg\":\"log: could not build a line\"}\n";

static atomic_int log_min_level = LOG_INFO;
static char log_service[64] = "carebus";
static log_format log_fmt = LOG_FORMAT_JSON;
static bool log_color;
/* Text lines show local time. The zone's offset is taken once, at log_init:
 * a service that sets TZ later for its own reasons must not move the clock
 * of its log (XXX: so a daylight-saving change shows after a restart). */
static long log_utc_offset_s;

/* ANSI colours: a service's name, picked by a hash of it so that each keeps
 * its colour in a shared terminal (the palette's length and order give the
 * five services five different ones, as test_log checks), and the levels. */
static const char *const log_service_colors[] = {"96", "33", "32", "36", "35",
                                                 "34", "95", "94", "92"};
static const char *const log_level_colors[] = {
    [LOG_DEBUG] = "2",
    [LOG_INFO] = "32",
    [LOG_WARN] = "33",
    [LOG_ERROR] = "1;31",
};

int log_level_parse(const char *s, log_level *out)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < LOG_NLEVELS; i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_level(log_level level)
{
    assert(level >= LOG_DEBUG && level <= LOG_ERROR);
    atomic_store_explicit(&log_min_level, (int)level, memory_order_relaxed);
}

void log_set_format(log_format format, bool color)
{
    assert(format == LOG_FORMAT_JSON || format == LOG_FORMAT_TEXT);
    log_fmt = format;
    log_color = format == LOG_FORMAT_TEXT && color;
}

void log_init(const char *service)
{
    if (service != NULL)
        snprintf(log_service, sizeof log_service, "%s", service);
    time_t now = time(NULL);
    struct tm tm;
    log_utc_offset_s = localtime_r(&now, &tm) != NULL ? tm.tm_gmtoff : 0;
    log_set_level(LOG_INFO);
    const char *fmt = config_str("LOG_FORMAT", "auto");
    bool tty = isatty(STDERR_FILENO) == 1;
    const char *no_color = getenv("NO_COLOR"); /* no-color.org: set and not empty */
    bool color = tty && (no_color == NULL || no_color[0] == '\0');
    bool known = true;
    if (strcmp(fmt, "json") == 0)
        log_set_format(LOG_FORMAT_JSON, false);
    else if (strcmp(fmt, "text") == 0)
        log_set_format(LOG_FORMAT_TEXT, color);
    else {
        known = strcmp(fmt, "auto") == 0;
        log_set_format(tty ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON, color);
    }
    if (!known)
        log_write(LOG_WARN, json_pack("{s:s}", "value", fmt),
                  "unknown CAREBUS_LOG_FORMAT, using auto (use json, text or auto)");
    const char *v = config_str("LOG_LEVEL", NULL);
    if (v == NULL)
        return;
    log_level l;
    if (log_level_parse(v, &l) == 0)
        log_set_level(l);
    else
        log_write(LOG_WARN, json_pack("{s:s}", "value", v),
                  "unknown CAREBUS_LOG_LEVEL, keeping info (use debug, info, warn or error)");
}

/* Writes all of p, retrying on EINTR and finishing a partial write. A log
 * line that cannot be written has nowhere else to go: it is dropped. */
static void log_write_all(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* A JSON string of msg, each invalid byte replaced by U+FFFD. */
static json_t *log_json_string(const char *msg)
{
    json_t *j = json_string(msg);
    if (j != NULL)
        return j;
    size_t n = strlen(msg);
    char *clean = malloc(n * 3 + 1); /* each byte grows to at most 3 */
    if (clean == NULL)
        return NULL;
    size_t o = utf8_copy(clean, n * 3 + 1, msg, UTF8_REPLACEMENT_STR);
    j = json_stringn(clean, o);
    free(clean);
    return j;
}

/* "2026-11-23T02:00:00.123Z" from the microsecond formatter. */
static void log_timestamp(char out[TIME_RFC3339_LEN])
{
    time_format_rfc3339(time_now_us(), out);
    char *dot = strchr(out, '.');
    assert(dot != NULL);
    dot[4] = 'Z';
    dot[5] = '\0';
}

/* --- text lines ---------------------------------------------------------------- */

static void text_paint(buf *b, const char *color, const char *s)
{
    if (log_color)
        buf_printf(b, "\033[%sm%s\033[0m", color, s);
    else
        buf_puts(b, s);
}

/* s with control characters escaped, so that an entry stays one line. */
static void text_escaped(buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            buf_puts(b, "\\n");
        else if (c == '\t')
            buf_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(b, "\\x%02x", c);
        else
            buf_putc(b, (char)c);
    }
}

/* A field's value: a plain word as it is, anything else as JSON. */
static void text_value(buf *b, json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (s[0] != '\0' && strpbrk(s, " \"=\\") == NULL) {
            text_escaped(b, s);
            return;
        }
    }
    char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump != NULL)
        buf_puts(b, dump);
    else
        b->failed = 1;
    free(dump);
}

/* djb2 of the service name, into the palette. */
const char *log_service_color(const char *service)
{
    uint32_t h = 5381;
    for (const char *p = service; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return log_service_colors[h % (sizeof log_service_colors / sizeof log_service_colors[0])];
}

/* "09:00:00.123 router         INFO  msg key=value ..." (local time). */
static void text_line(buf *b, log_level level, json_t *obj)
{
    int64_t us = time_now_us();
    int64_t day_s = ((us / 1000000 + log_utc_offset_s) % 86400 + 86400) % 86400;
    char ts[32];
    snprintf(ts, sizeof ts, "%02d:%02d:%02d.%03d", (int)(day_s / 3600), (int)(day_s / 60 % 60),
             (int)(day_s % 60), (int)(us / 1000 % 1000));
    text_paint(b, "2", ts);
    buf_putc(b, ' ');
    char svc[80];
    snprintf(svc, sizeof svc, "%-14s", log_service);
    text_paint(b, log_service_color(log_service), svc);
    buf_putc(b, ' ');
    static const char *const upper[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    text_paint(b, log_level_colors[level], upper[level]);
    buf_putc(b, ' ');
    text_escaped(b, json_string_value(json_object_get(obj, "msg")));
    buf extra = BUF_INIT;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "service") == 0 ||
            strcmp(key, "msg") == 0)
            continue;
        buf_printf(&extra, " %s=", key);
        text_value(&extra, v);
    }
    if (extra.len > 0)
        text_paint(b, "2", buf_str(&extra));
    b->failed |= extra.failed;
    buf_release(&extra);
    buf_putc(b, '\n');
}

void log_write(log_level level, json_t *fields, const char *fmt, ...)
{
    if ((int)level < atomic_load_explicit(&log_min_level, memory_order_relaxed)) {
        json_decref(fields);
        return;
    }
    assert(level >= LOG_DEBUG && level <= LOG_ERROR);
    /* Callers log and then return errno to their own callers. */
    int saved_errno = errno;

    char msg_small[LOG_MSG_STACK];
    char *msg_heap = NULL;
    const char *msg = msg_small;
    char line_small[LOG_LINE_STACK];
    char *line = line_small;
    json_t *obj = NULL;

    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg_small, sizeof msg_small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg = "(log: bad format)";
    } else if ((size_t)n >= sizeof msg_small) {
        /* Without memory, the truncated message is better than nothing. */
        msg_heap = malloc((size_t)n + 1);
        if (msg_heap != NULL) {
            va_start(ap, fmt);
            vsnprintf(msg_heap, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = msg_heap;
        }
    }

    char ts[TIME_RFC3339_LEN];
    log_timestamp(ts);
    obj = json_object();
    if (obj == NULL || json_object_set_new(obj, "ts", json_string(ts)) != 0 ||
        json_object_set_new(obj, "level", json_string(log_level_names[level])) != 0 ||
        json_object_set_new(obj, "service", json_string(log_service)) != 0 ||
        json_object_set_new(obj, "msg", log_json_string(msg)) != 0)
        goto fail;
    if (fields != NULL) {
        if (json_is_object(fields))
            json_object_update_missing(obj, fields);
        else /* a caller's slip; keep the data rather than lose it */
            json_object_set(obj, "fields", fields);
    }

    if (log_fmt == LOG_FORMAT_TEXT) {
        buf text = BUF_INIT;
        text_line(&text, level, obj);
        bool ok = !text.failed;
        if (ok)
            log_write_all(text.data, text.len);
        buf_release(&text);
        if (!ok)
            goto fail;
        goto out;
    }

    /* One byte kept for the newline. */
    size_t len = json_dumpb(obj, line_small, sizeof line_small - 1, JSON_COMPACT);
    if (len == 0)
        goto fail;
    if (len > sizeof line_small - 1) {
        line = malloc(len + 1);
        if (line == NULL || json_dumpb(obj, line, len, JSON_COMPACT) != len)
            goto fail;
    }
    line[len] = '\n';
    log_write_all(line, len + 1);
    goto out;

fail:
    log_write_all(log_fallback, sizeof log_fallback - 1);
out:
    json_decref(obj);
    json_decref(fields);
    if (line != line_small)
        free(line);
    free(msg_heap);
    errno = saved_errno;
}
