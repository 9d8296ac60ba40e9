/* rowset.c — statements, batches, COPY lines and reads from one table
 * description (see rowset.h).
 *
 * The three wire forms (JSON, COPY text, a composite's fields) go through
 * one value writer (struct rowset_put), so that a value is formatted once
 * whichever form carries it: times as RFC 3339 UTC with microseconds,
 * booleans as true/false (t/f in COPY and composites), NULL as null (\N;
 * an empty field in a composite). A timestamptz is read as microseconds since the epoch (the
 * select list converts it), so that no time string is parsed in C.
 */
#include "rowset.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hex.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "utf8.h"

struct rowset_put {
    buf *b;
    bool copy; /* COPY text, else JSON (or, with text, a bare value) */
    /* A composite's field (rowset_init_composite): the value's own text, nothing
     * escaped; null says it is NULL, col which column it is. */
    bool text, null;
    const struct rowset_col *col;
};

/* --- values ------------------------------------------------------------------ */

/* Text PostgreSQL's UTF8 encoding accepts. */
static bool text_valid(const char *s)
{
    return utf8_valid(s, strlen(s));
}

static void json_escape(buf *b, const char *s)
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
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, u, sizeof u);
        }
        }
    }
    buf_append(b, run, (size_t)(s - run));
    buf_putc(b, '"');
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static void copy_escape(buf *b, const char *s)
{
    static const char esc[] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};
    while (*s) {
        size_t plain = strcspn(s, "\\\t\n\r");
        buf_append(b, s, plain);
        s += plain;
        if (!*s)
            break;
        char two[2] = {'\\', esc[(unsigned char)*s]};
        buf_append(b, two, 2);
        s++;
    }
}

void rowset_put_null(rowset_put *p)
{
    if (p->text)
        p->null = true;
    else
        buf_puts(p->b, p->copy ? "\\N" : "null");
}

void rowset_put_str(rowset_put *p, const char *s)
{
    if (s && !text_valid(s)) {
        metrics_add("carebus_rowset_invalid_utf8_total", 1);
        s = NULL;
    }
    if (!s)
        rowset_put_null(p);
    else if (p->text)
        buf_puts(p->b, s);
    else if (p->copy)
        copy_escape(p->b, s);
    else
        json_escape(p->b, s);
}

/* v in decimal, after a '-' when neg: written by hand, since snprintf's
 * reading of its format was most of the cost of a row of numbers. */
static void put_digits(rowset_put *p, uint64_t v, bool neg)
{
    char n[24];
    size_t i = sizeof n;
    do {
        n[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg)
        n[--i] = '-';
    buf_append(p->b, n + i, sizeof n - i);
}

void rowset_put_i64(rowset_put *p, int64_t v)
{
    put_digits(p, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

static void put_u64(rowset_put *p, uint64_t v)
{
    put_digits(p, v, false);
}

void rowset_put_bool(rowset_put *p, bool v)
{
    buf_puts(p->b, p->copy || p->text ? (v ? "t" : "f") : (v ? "true" : "false"));
}

void rowset_put_time(rowset_put *p, int64_t us)
{
    char t[TIME_RFC3339_LEN + 2];
    t[0] = '"';
    time_format_rfc3339(us, t + 1);
    size_t n = strlen(t);
    if (p->copy || p->text) {
        buf_append(p->b, t + 1, n - 1);
    } else {
        t[n] = '"';
        buf_append(p->b, t, n + 1);
    }
}

static bool is_array(const struct rowset_col *c)
{
    size_t n = strlen(c->type);
    return n > 2 && strcmp(c->type + n - 2, "[]") == 0;
}

/* One element of an array literal, quoted. */
static void array_element(buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const char *c = s; *c; c++) {
        if (*c == '"' || *c == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *c);
    }
    buf_putc(b, '"');
}

/* A text[] literal: each element quoted, NULL for a missing or invalid one. */
static void array_literal(buf *b, const char *const *s, size_t n)
{
    buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        if (!s[i] || !text_valid(s[i]))
            buf_puts(b, "NULL");
        else
            array_element(b, s[i]);
    }
    buf_putc(b, '}');
}

/* A JSON array of strings as a text[] literal; anything else is NULL, and
 * so is an element that is not a string (json_to_recordset would write a
 * number's text: the described arrays hold only strings). */
static void put_json_array(rowset_put *p, const char *json)
{
    json_t *a = json_loads(json, 0, NULL);
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    const char **s = n ? calloc(n, sizeof *s) : NULL;
    if (!json_is_array(a) || (n && !s)) {
        if (n && !s)
            p->b->failed = 1;
        rowset_put_null(p);
    } else {
        for (size_t i = 0; i < n; i++)
            s[i] = json_string_value(json_array_get(a, i));
        array_literal(p->b, s, n);
    }
    free(s);
    json_decref(a);
}

void rowset_put_json(rowset_put *p, const char *json)
{
    if (json && !text_valid(json)) {
        metrics_add("carebus_rowset_invalid_utf8_total", 1);
        json = NULL;
    }
    if (!json)
        rowset_put_null(p);
    else if (p->text && p->col && is_array(p->col))
        put_json_array(p, json);
    else if (p->text)
        buf_puts(p->b, json);
    else if (p->copy)
        copy_escape(p->b, json);
    else
        buf_puts(p->b, json);
}

void rowset_put_strv(rowset_put *p, const char *const *s, size_t n)
{
    if (p->text) {
        array_literal(p->b, s, n);
        return;
    }
    if (!p->copy) {
        buf_putc(p->b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_putc(p->b, ',');
            rowset_put_str(p, s[i]);
        }
        buf_putc(p->b, ']');
        return;
    }
    /* An array literal, then escaped for COPY. */
    buf lit = BUF_INIT;
    array_literal(&lit, s, n);
    if (lit.failed)
        p->b->failed = 1;
    copy_escape(p->b, buf_str(&lit));
    buf_release(&lit);
}

void rowset_put_bytea(rowset_put *p, const uint8_t *data, size_t len)
{
    /* The hex format's "\x", its backslash escaped in either form. */
    buf_puts(p->b, p->text ? "\\x" : p->copy ? "\\\\x" : "\"\\\\x");
    char chunk[2 * 128 + 1];
    for (size_t i = 0; i < len; i += 128) {
        size_t n = len - i < 128 ? len - i : 128;
        hex_encode(data + i, n, chunk);
        buf_append(p->b, chunk, 2 * n);
    }
    if (!p->copy && !p->text)
        buf_putc(p->b, '"');
}

#define FIELD(T, row, c) ((const T *)((const char *)(row) + (c)->off))

/* Asserts that the field has the size its kind needs: a column pointing
 * at a field of another type is a bug that would otherwise read garbage. */
static void col_check(const struct rowset_col *c)
{
    switch (c->kind) {
    case ROWSET_STR:
    case ROWSET_JSON:
        assert(c->size == sizeof(char *));
        break;
    case ROWSET_ID:
        assert(c->size > 0);
        break;
    case ROWSET_INT:
        assert(c->size == sizeof(int));
        break;
    case ROWSET_I64:
    case ROWSET_TIME:
        assert(c->size == sizeof(int64_t));
        break;
    case ROWSET_U64:
        assert(c->size == sizeof(uint64_t));
        break;
    case ROWSET_BOOL:
        assert(c->size == sizeof(bool));
        break;
    case ROWSET_FN:
        break;
    }
}

static void put_col(rowset_put *p, const struct rowset_col *c, const void *row, const void *ctx)
{
    col_check(c);
    switch (c->kind) {
    case ROWSET_STR:
        rowset_put_str(p, *FIELD(char *, row, c));
        break;
    case ROWSET_ID: {
        const char *s = FIELD(char, row, c);
        assert(memchr(s, '\0', c->size) && "an unterminated char array");
        rowset_put_str(p, s[0] ? s : NULL);
        break;
    }
    case ROWSET_INT: {
        int v = *FIELD(int, row, c);
        if ((c->flags & ROWSET_NULLABLE) && v == c->none)
            rowset_put_null(p);
        else
            rowset_put_i64(p, v);
        break;
    }
    case ROWSET_I64: {
        int64_t v = *FIELD(int64_t, row, c);
        if ((c->flags & ROWSET_NULLABLE) && v == c->none)
            rowset_put_null(p);
        else
            rowset_put_i64(p, v);
        break;
    }
    case ROWSET_U64:
        put_u64(p, *FIELD(uint64_t, row, c));
        break;
    case ROWSET_BOOL:
        rowset_put_bool(p, *FIELD(bool, row, c));
        break;
    case ROWSET_TIME: {
        int64_t v = *FIELD(int64_t, row, c);
        if (v == c->none)
            rowset_put_null(p);
        else
            rowset_put_time(p, v);
        break;
    }
    case ROWSET_JSON:
        assert((!p->copy || !strchr(c->type, '[')) && "COPY of an array from JSON text");
        p->col = c;
        rowset_put_json(p, *FIELD(char *, row, c));
        break;
    case ROWSET_FN:
        assert(c->get && "writing a read-only column");
        p->col = c;
        c->get(p, row, ctx);
        break;
    }
}

/* --- statements ---------------------------------------------------------------- */

static int col_find(const rowset_table *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strlen(t->cols[i].name) == len && memcmp(t->cols[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* The columns a comma-separated list names (all for NULL or ""). */
static uint64_t col_mask(const rowset_table *t, const char *list, size_t len)
{
    assert(t->ncols <= ROWSET_MAX_COLS);
    if (!list || len == 0)
        return t->ncols == 64 ? UINT64_MAX : (UINT64_C(1) << t->ncols) - 1;
    uint64_t m = 0;
    const char *end = list + len;
    while (list < end) {
        const char *comma = memchr(list, ',', (size_t)(end - list));
        size_t n = (size_t)((comma ? comma : end) - list);
        int i = col_find(t, list, n);
        if (i < 0)
            log_error("rowset: %s has no column \"%.*s\"", t->name, (int)n, list);
        assert(i >= 0 && "a column the table does not describe");
        m |= UINT64_C(1) << i;
        list += n + (comma ? 1 : 0);
    }
    return m;
}

static bool is_time(const struct rowset_col *c)
{
    return strcmp(c->type, "timestamptz") == 0;
}

/* t's temporary composite type: pg_temp.router_tickets_w for
 * router.tickets. */
static void type_name(const rowset_table *t, buf *out)
{
    buf_puts(out, "pg_temp.");
    for (const char *c = t->name; *c; c++)
        buf_putc(out, *c == '.' ? '_' : *c);
    buf_puts(out, "_w");
}

/* One verb with its arguments (args: after the verb, up to the brace). */
static void expand(const rowset_table *t, const char *verb, size_t vlen, const char *args,
                   size_t alen, buf *out)
{
    /* Split args into up to three words. */
    const char *w[3] = {NULL, NULL, NULL};
    size_t wl[3] = {0, 0, 0};
    int nw = 0;
    for (size_t i = 0; i < alen && nw < 3;) {
        while (i < alen && args[i] == ' ')
            i++;
        if (i == alen)
            break;
        w[nw] = args + i;
        while (i < alen && args[i] != ' ')
            i++;
        wl[nw] = (size_t)(args + i - w[nw]);
        nw++;
    }
#define VERB(s) (vlen == strlen(s) && memcmp(verb, s, vlen) == 0)
    /* Which argument is the column list: after the alias (and param). */
    int list = VERB("select") || VERB("values") || VERB("set") ? 1 : VERB("rows") ? 2 : 0;
    if (VERB("unnest")) {
        assert(nw == 2 && "{@unnest $1 x}");
        buf_printf(out, "unnest(%.*s::", (int)wl[0], w[0]);
        type_name(t, out);
        buf_printf(out, "[]) AS %.*s", (int)wl[1], w[1]);
        return;
    }
    if (VERB("copy"))
        list = -1;
    assert((VERB("select") || VERB("values") || VERB("set") || VERB("rows") || VERB("cols") ||
            VERB("defs") || VERB("copy")) &&
           "an unknown {@verb}");
    assert(nw >= list && "a {@verb} lacks its alias");
    uint64_t m = col_mask(t, list >= 0 ? w[list] : NULL, list >= 0 ? wl[list] : 0);
    if (VERB("copy"))
        buf_printf(out, "COPY %s (", t->name);
    if (VERB("rows"))
        buf_printf(out, "json_to_recordset(%.*s::json) AS %.*s (", (int)wl[0], w[0], (int)wl[1],
                   w[1]);
    bool first = true;
    for (size_t i = 0; i < t->ncols; i++) {
        if (!(m >> i & 1))
            continue;
        const struct rowset_col *c = &t->cols[i];
        if (!first)
            buf_puts(out, ", ");
        first = false;
        if (VERB("select")) {
            if (is_time(c))
                buf_printf(out, "(extract(epoch FROM %.*s.%s) * 1000000)::bigint AS %s", (int)wl[0],
                           w[0], c->name, c->name);
            else if (is_array(c))
                buf_printf(out, "to_json(%.*s.%s)::text AS %s", (int)wl[0], w[0], c->name, c->name);
            else
                buf_printf(out, "%.*s.%s", (int)wl[0], w[0], c->name);
        } else if (VERB("values")) {
            buf_printf(out, "%.*s.%s", (int)wl[0], w[0], c->name);
        } else if (VERB("set")) {
            buf_printf(out, "%s = %.*s.%s", c->name, (int)wl[0], w[0], c->name);
        } else if (VERB("rows") || VERB("defs")) {
            buf_printf(out, "%s %s", c->name, c->type);
        } else {
            buf_puts(out, c->name);
        }
    }
    if (VERB("copy"))
        buf_puts(out, ") FROM STDIN");
    if (VERB("rows"))
        buf_putc(out, ')');
#undef VERB
}

void rowset_type_sql(const rowset_table *t, buf *out)
{
    buf_puts(out, "DROP TYPE IF EXISTS ");
    type_name(t, out);
    buf_puts(out, "; CREATE TYPE ");
    type_name(t, out);
    buf_puts(out, " AS (");
    expand(t, "defs", 4, "", 0, out);
    buf_puts(out, ");");
}

/* The table a token names ("identities.rows": the table whose name ends
 * in ".identities"), or the first; *verb moves past the prefix. */
static const rowset_table *token_table(const rowset_table *const *ts, size_t nt, const char **verb,
                                       size_t *vlen)
{
    const char *dot = memchr(*verb, '.', *vlen);
    if (!dot)
        return ts[0];
    size_t n = (size_t)(dot - *verb);
    for (size_t i = 0; i < nt; i++) {
        const char *short_name = strrchr(ts[i]->name, '.');
        short_name = short_name ? short_name + 1 : ts[i]->name;
        if (strlen(short_name) == n && memcmp(short_name, *verb, n) == 0) {
            *vlen -= n + 1;
            *verb = dot + 1;
            return ts[i];
        }
    }
    assert(!"a {@table.verb} names a table the statement does not have");
    return NULL;
}

int rowset_sql_tables(const rowset_table *const *ts, size_t nt, const char *tmpl, buf *out)
{
    const char *p = tmpl;
    for (;;) {
        const char *open = strstr(p, "{@");
        if (!open) {
            buf_puts(out, p);
            break;
        }
        buf_append(out, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        assert(close && "an unclosed {@");
        const char *verb = open + 2;
        size_t vlen = strcspn(verb, " }");
        const char *args = verb + vlen;
        const rowset_table *t = token_table(ts, nt, &verb, &vlen);
        expand(t, verb, vlen, args, (size_t)(close - args), out);
        p = close + 1;
    }
    return out->failed ? -1 : 0;
}

int rowset_sql(const rowset_table *t, const char *tmpl, buf *out)
{
    return rowset_sql_tables(&t, 1, tmpl, out);
}

const char *rowset_stmt_sql(rowset_stmt *s)
{
    if (s->text)
        return s->text;
    buf b = BUF_INIT;
    const rowset_table *ts[] = {s->t, s->t2};
    if (rowset_sql_tables(ts, s->t2 ? 2 : 1, s->tmpl, &b) != 0) {
        buf_release(&b);
        return NULL;
    }
    s->text = buf_detach(&b, NULL);
    return s->text;
}

/* --- batches ------------------------------------------------------------------- */

void rowset_init(rowset *w, const rowset_table *t, const void *ctx)
{
    memset(w, 0, sizeof *w);
    w->t = t;
    w->ctx = ctx;
    w->only = col_mask(t, NULL, 0);
}

void rowset_init_composite(rowset *w, const rowset_table *t, const void *ctx)
{
    rowset_init(w, t, ctx);
    w->composite = true;
}

void rowset_only(rowset *w, const char *cols)
{
    w->only = col_mask(w->t, cols, strlen(cols));
}

/* One row as an element of an array of composites: each field quoted
 * for the record, then the record quoted for the array (a quote or a
 * backslash of a value becomes three backslashes and itself). */
static void add_composite(rowset *w, const void *row)
{
    buf_puts(&w->b, "\"(");
    for (size_t k = 0; k < w->t->ncols; k++) {
        if (k)
            buf_putc(&w->b, ',');
        if (!(w->only >> k & 1))
            continue;
        buf_reset(&w->v);
        rowset_put p = {.b = &w->v, .text = true};
        put_col(&p, &w->t->cols[k], row, w->ctx);
        if (w->v.failed)
            w->b.failed = 1;
        if (p.null)
            continue;
        buf_puts(&w->b, "\\\"");
        const char *s = buf_str(&w->v);
        while (*s) {
            size_t plain = strcspn(s, "\"\\");
            buf_append(&w->b, s, plain);
            s += plain;
            if (!*s)
                break;
            char esc[4] = {'\\', '\\', '\\', *s++};
            buf_append(&w->b, esc, sizeof esc);
        }
        buf_puts(&w->b, "\\\"");
    }
    buf_puts(&w->b, ")\"");
}

void rowset_add(rowset *w, const void *row)
{
    if (w->closed) {
        /* Reopen: drop the closing bracket (and the opening one of "[]"). */
        if (w->n) {
            w->b.len--;
            w->b.data[w->b.len] = '\0';
        } else {
            buf_reset(&w->b);
        }
        w->closed = false;
    }
    if (w->composite) {
        buf_putc(&w->b, w->n ? ',' : '{');
        add_composite(w, row);
        w->n++;
        return;
    }
    buf_putc(&w->b, w->n ? ',' : '[');
    buf_putc(&w->b, '{');
    rowset_put p = {.b = &w->b};
    bool first = true;
    for (size_t i = 0; i < w->t->ncols; i++) {
        if (!(w->only >> i & 1))
            continue;
        const struct rowset_col *c = &w->t->cols[i];
        if (!first)
            buf_putc(&w->b, ',');
        first = false;
        buf_putc(&w->b, '"');
        buf_puts(&w->b, c->name);
        buf_puts(&w->b, "\":");
        put_col(&p, c, row, w->ctx);
    }
    buf_putc(&w->b, '}');
    w->n++;
}

size_t rowset_count(const rowset *w)
{
    return w->n;
}

const char *rowset_json(rowset *w)
{
    if (!w->closed) {
        if (!w->n)
            buf_putc(&w->b, w->composite ? '{' : '[');
        buf_putc(&w->b, w->composite ? '}' : ']');
        w->closed = true;
    }
    return w->b.failed ? NULL : buf_str(&w->b);
}

void rowset_clear(rowset *w)
{
    buf_reset(&w->b);
    w->b.failed = 0;
    w->n = 0;
    w->closed = false;
}

void rowset_release(rowset *w)
{
    buf_release(&w->b);
    buf_release(&w->v);
    w->n = 0;
    w->closed = false;
}

void rowset_keys(buf *b, const char *const *keys, size_t n)
{
    buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        array_element(b, keys[i]);
    }
    buf_putc(b, '}');
}

void rowset_copy_line(const rowset_table *t, const void *row, const void *ctx, buf *out)
{
    rowset_put p = {.b = out, .copy = true};
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            buf_putc(out, '\t');
        put_col(&p, &t->cols[i], row, ctx);
    }
    buf_putc(out, '\n');
}

/* --- reading -------------------------------------------------------------------- */

int rowset_reader_init(rowset_reader *r, const rowset_table *t, const PGresult *res)
{
    assert(t->ncols <= ROWSET_MAX_COLS);
    r->t = t;
    r->res = res;
    for (size_t i = 0; i < ROWSET_MAX_COLS; i++)
        r->col[i] = -1;
    for (int k = 0; k < PQnfields(res); k++) {
        const char *name = PQfname(res, k);
        int i = col_find(t, name, strlen(name));
        if (i < 0) {
            log_error("rowset: a result column \"%s\" is not a column of %s", name, t->name);
            return -1;
        }
        r->col[i] = k;
    }
    return 0;
}

#define MUT(T, row, c) ((T *)((char *)(row) + (c)->off))

static int read_col(const rowset_table *t, const struct rowset_col *c, const char *v, void *row,
                    void *ctx)
{
    col_check(c);
    switch (c->kind) {
    case ROWSET_STR:
    case ROWSET_JSON: {
        assert(t->strdup && "the table reads strings but has no strdup");
        char *s = v ? t->strdup(ctx, v) : NULL;
        if (v && !s)
            return -1;
        *MUT(char *, row, c) = s;
        return 0;
    }
    case ROWSET_ID: {
        char *dst = MUT(char, row, c);
        size_t n = v ? strlen(v) : 0;
        if (n >= c->size)
            return -1;
        memcpy(dst, v ? v : "", n + 1);
        return 0;
    }
    case ROWSET_INT:
        *MUT(int, row, c) = v                              ? (int)strtol(v, NULL, 10)
                            : (c->flags & ROWSET_NULLABLE) ? (int)c->none
                                                           : 0;
        return 0;
    case ROWSET_I64:
        *MUT(int64_t, row, c) = v                              ? strtoll(v, NULL, 10)
                                : (c->flags & ROWSET_NULLABLE) ? c->none
                                                               : 0;
        return 0;
    case ROWSET_U64:
        *MUT(uint64_t, row, c) = v ? strtoull(v, NULL, 10) : 0;
        return 0;
    case ROWSET_BOOL:
        *MUT(bool, row, c) = v && v[0] == 't';
        return 0;
    case ROWSET_TIME:
        *MUT(int64_t, row, c) = v ? strtoll(v, NULL, 10) : c->none;
        return 0;
    case ROWSET_FN:
        return c->set ? c->set(row, v, ctx) : 0;
    }
    return -1;
}

int rowset_read(const rowset_reader *r, int i, void *row, void *ctx)
{
    for (size_t k = 0; k < r->t->ncols; k++) {
        int col = r->col[k];
        if (col < 0)
            continue;
        const char *v = PQgetisnull(r->res, i, col) ? NULL : PQgetvalue(r->res, i, col);
        if (read_col(r->t, &r->t->cols[k], v, row, ctx) != 0)
            return -1;
    }
    return 0;
}

uint64_t rowset_cols(const rowset_table *t, const char *cols)
{
    return col_mask(t, cols, cols ? strlen(cols) : 0);
}

int rowset_copy_read(const rowset_table *t, uint64_t cols, const char *line, size_t len, void *row,
                     void *ctx)
{
    if (len && line[len - 1] == '\n')
        len--;
    char small[512];
    char *field = len < sizeof small ? small : malloc(len + 1);
    if (!field)
        return -1;
    int rc = 0;
    size_t pos = 0;
    bool more = true;
    for (size_t i = 0; i < t->ncols && rc == 0; i++) {
        if (!(cols >> i & 1))
            continue;
        if (!more) {
            rc = -1; /* fewer fields than columns */
            break;
        }
        size_t k = 0;
        bool null = false;
        if (len - pos >= 2 && line[pos] == '\\' && line[pos + 1] == 'N' &&
            (pos + 2 == len || line[pos + 2] == '\t')) {
            null = true;
            pos += 2;
        }
        while (!null && pos < len && line[pos] != '\t') {
            char c = line[pos++];
            if (c == '\\' && pos < len) {
                c = line[pos++];
                c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
            }
            field[k++] = c;
        }
        field[k] = '\0';
        more = pos < len;
        pos += more; /* the tab */
        rc = read_col(t, &t->cols[i], null ? NULL : field, row, ctx);
    }
    if (rc == 0 && more)
        rc = -1; /* more fields than columns */
    if (field != small)
        free(field);
    return rc;
}
