/* jw.c — see jw.h. Control characters are escaped as \u00XX; invalid
 * UTF-8 is passed through (PostgreSQL rejects it and the batch is retried
 * one event at a time, which isolates the event that carried it). */
#include "jw.h"

#include <stdio.h>
#include <string.h>

#include "timeutil.h"

void jw_init(jw *w)
{
    buf z = BUF_INIT;
    w->b = z;
    w->first = true;
}

void jw_release(jw *w)
{
    buf_release(&w->b);
}

const char *jw_text(jw *w)
{
    return w->b.failed ? NULL : buf_str(&w->b);
}

static void jw_sep(jw *w)
{
    if (!w->first)
        buf_putc(&w->b, ',');
    w->first = false;
}

void jw_array_begin(jw *w)
{
    jw_sep(w);
    buf_putc(&w->b, '[');
    w->first = true;
}

void jw_array_end(jw *w)
{
    buf_putc(&w->b, ']');
    w->first = false;
}

void jw_object_begin(jw *w)
{
    jw_sep(w);
    buf_putc(&w->b, '{');
    w->first = true;
}

void jw_object_end(jw *w)
{
    buf_putc(&w->b, '}');
    w->first = false;
}

void jw_escape(buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    buf_putc(b, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            buf_puts(b, u);
        }
        }
    }
    buf_append(b, run, (size_t)(s - run));
    buf_putc(b, '"');
}

void jw_key(jw *w, const char *key)
{
    jw_sep(w);
    jw_escape(&w->b, key);
    buf_putc(&w->b, ':');
    w->first = true; /* the value follows without a comma */
}

void jw_str(jw *w, const char *s)
{
    jw_sep(w);
    if (s)
        jw_escape(&w->b, s);
    else
        buf_puts(&w->b, "null");
}

void jw_int(jw *w, long long v)
{
    jw_sep(w);
    buf_printf(&w->b, "%lld", v);
}

void jw_bool(jw *w, bool v)
{
    jw_sep(w);
    buf_puts(&w->b, v ? "true" : "false");
}

void jw_time(jw *w, int64_t us)
{
    jw_sep(w);
    if (us == JW_NULL_TIME) {
        buf_puts(&w->b, "null");
        return;
    }
    char t[TIME_RFC3339_LEN];
    time_format_rfc3339(us, t);
    buf_putc(&w->b, '"');
    buf_puts(&w->b, t);
    buf_putc(&w->b, '"');
}

void jw_raw(jw *w, const char *json)
{
    jw_sep(w);
    buf_puts(&w->b, json ? json : "null");
}

void jw_kstr(jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_str(w, s);
}

void jw_kint(jw *w, const char *key, long long v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_ktime(jw *w, const char *key, int64_t us)
{
    jw_key(w, key);
    jw_time(w, us);
}

void jw_kraw(jw *w, const char *key, const char *json)
{
    jw_key(w, key);
    jw_raw(w, json);
}
