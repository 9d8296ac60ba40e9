/* customers_search.c — GET /v1/customers?q=: customers by the start of a
 * name, a phone number or an e-mail address, a page at a time.
 *
 * What q is decides where it is looked for. Text that can only be the start
 * of a phone number (digits and the phone's punctuation, at least three
 * digits) is normalised as identity.h normalises numbers
 * (identity_phone_prefix: "0901 23" finds "+8490123...") and looked up
 * among the phone identities. Any other text is the start of a name,
 * compared without diacritics or case (router.fold: "nguyen van" finds
 * "Nguyễn Văn An"), and then of an e-mail address (lower-cased as
 * identity_email does): the customers found by name first, then those found
 * only by address. Each part reads an index in its key's byte order
 * (0011_router_lists.sql), so a page is a few index entries and the cursor
 * is (part, key, id). A customer with two matching numbers or addresses is
 * listed once, at the first.
 */
#include "customers_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists.h"
#include "tickets_list.h"

#define CUSTOMERS_ORDER "customers"
#define CUSTOMERS_TYPES "itu"

/* The parts, in the order a page lists them. */
enum { PART_PHONE, PART_NAME, PART_EMAIL };

static bool phone_like(const char *q)
{
    size_t digits = 0;
    for (const char *p = q; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (!strchr("+-./() \t", *p))
            return false;
    }
    return digits >= 3;
}

int customers_search_parse(const struct list_arg *args, size_t n, struct customers_search *s,
                           struct message_error *err)
{
    memset(s, 0, sizeof *s);
    s->limit = LIST_LIMIT_DEFAULT;
    const char *q = NULL, *limit = NULL, *cursor = NULL;
    if (n > LIST_MAX_ARGS)
        return field_fail(err, "invalid_field", "", "too many query parameters (at most %d)",
                          LIST_MAX_ARGS);
    for (size_t i = 0; i < n; i++) {
        const char *name = args[i].name, *v = args[i].value;
        const char **slot = strcmp(name, "q") == 0        ? &q
                            : strcmp(name, "limit") == 0  ? &limit
                            : strcmp(name, "cursor") == 0 ? &cursor
                                                          : NULL;
        char field[64];
        snprintf(field, sizeof field, "%.63s", name);
        if (!slot)
            return field_fail(err, "invalid_field", field,
                              "unknown query parameter \"%s\" (a search takes q, limit and "
                              "cursor)",
                              field);
        if (*slot)
            return field_fail(err, "invalid_field", field, "\"%s\" is given twice", field);
        if (!v || !v[0])
            return field_fail(err, "invalid_field", field, "\"%s\" is empty", field);
        *slot = v;
    }
    size_t len = q ? strlen(q) : 0;
    if (!q || len > CUSTOMERS_Q_MAX || !field_token_valid(q, CUSTOMERS_Q_MAX) ||
        strspn(q, " \t") == len)
        return field_fail(err, "invalid_field", "q",
                          "\"q\" must be the start of a name, phone number or e-mail address "
                          "(1 to %d bytes)",
                          CUSTOMERS_Q_MAX);
    s->text = q;
    if (phone_like(q) && identity_phone_prefix(q, NULL, s->phone) != 0)
        s->phone[0] = '\0';
    if (!s->phone[0]) {
        /* The address as identity_email writes them: trimmed, ASCII lower
         * case; text with a blank inside is no address's start. */
        const char *b = q + strspn(q, " \t");
        size_t bl = strlen(b);
        while (bl && (b[bl - 1] == ' ' || b[bl - 1] == '\t'))
            bl--;
        if (!memchr(b, ' ', bl) && !memchr(b, '\t', bl)) {
            for (size_t i = 0; i < bl; i++)
                s->email[i] = (char)(b[i] >= 'A' && b[i] <= 'Z' ? b[i] + ('a' - 'A') : b[i]);
            s->email[bl] = '\0';
        }
    }
    if (limit) {
        size_t ll = strlen(limit), value = 0;
        bool ok = ll >= 1 && ll <= 3 && limit[0] != '0' && strspn(limit, "0123456789") == ll;
        for (size_t i = 0; ok && i < ll; i++)
            value = value * 10 + (size_t)(limit[i] - '0');
        if (!ok || value > LIST_LIMIT_MAX)
            return field_fail(err, "invalid_field", "limit", "\"limit\" must be 1 to %d",
                              LIST_LIMIT_MAX);
        s->limit = value;
    }
    if (cursor) {
        int64_t part;
        if (list_cursor_decode(cursor, CUSTOMERS_ORDER, CUSTOMERS_TYPES, &s->cursor) != 0 ||
            (part = s->cursor.keys[0].i) < PART_PHONE || part > PART_EMAIL ||
            (part == PART_PHONE) != (s->phone[0] != '\0'))
            return field_fail(err, "invalid_field", "cursor",
                              "\"cursor\" is not a cursor of this search: pass a page's "
                              "next_cursor as it is, with the same q");
        s->has_cursor = true;
    }
    return 0;
}

/* One part: its rows in key order after the cursor, at most the page and
 * one. key: the part's key expression (byte order); from_where: its FROM
 * and WHERE. */
static void part_sql(struct list_sql *out, const struct customers_search *s, int part,
                     const char *key, const char *from_where)
{
    buf_printf(&out->sql,
               "(SELECT router.customer_summary(c) AS item, %d AS part, %s AS k, c.id %s", part,
               key, from_where);
    if (s->has_cursor && s->cursor.keys[0].i == part) {
        char k[LIST_CURSOR_PARAM_MAX], id[LIST_CURSOR_PARAM_MAX];
        buf_printf(&out->sql, " AND (%s, c.id) > (", key);
        list_sql_param(out, list_cursor_param(&s->cursor, 1, k));
        buf_puts(&out->sql, " COLLATE \"C\", ");
        list_sql_param(out, list_cursor_param(&s->cursor, 2, id));
        buf_puts(&out->sql, "::uuid)");
    }
    buf_printf(&out->sql, " ORDER BY %s, c.id LIMIT %zu)", key, s->limit + 1);
}

#define NAME_KEY "router.fold(c.name) COLLATE \"C\""
/* LIKE's pattern for text that starts with fn's value, its "%", "_" and
 * "\" escaped (a printf format: fn names its parameter with %d). */
#define LIKE_PREFIX(fn)                                                                            \
    "replace(replace(replace(" fn ", '\\', '\\\\'), '%%', '\\%%'), '_', '\\_') || '%%'"

int customers_search_sql(const struct customers_search *s, struct list_sql *out)
{
    memset(out, 0, sizeof *out);
    char fw[2048];
    if (s->phone[0]) {
        int pn = list_sql_add(out, s->phone);
        buf_puts(&out->sql, "SELECT u.item, u.part::text, u.k, u.id::text FROM (");
        snprintf(fw, sizeof fw,
                 "FROM router.identities i JOIN router.customers c ON c.id = i.customer_id"
                 " WHERE i.kind = 'phone' AND i.value COLLATE \"C\" LIKE $%d || '%%'"
                 " AND NOT EXISTS (SELECT 1 FROM router.identities o"
                 " WHERE o.customer_id = i.customer_id AND o.kind = 'phone'"
                 " AND o.value COLLATE \"C\" LIKE $%d || '%%'"
                 " AND o.value COLLATE \"C\" < i.value COLLATE \"C\")",
                 pn, pn);
        part_sql(out, s, PART_PHONE, "i.value COLLATE \"C\"", fw);
    } else {
        /* The text, and the address's start (NULL: none). */
        int qn = list_sql_add(out, s->text), en = list_sql_add(out, s->email[0] ? s->email : NULL);
        char name_like[256], email_like[256];
        snprintf(name_like, sizeof name_like, LIKE_PREFIX("router.fold(btrim($%d))"), qn);
        snprintf(email_like, sizeof email_like, LIKE_PREFIX("$%d::text"), en);
        bool names = !s->has_cursor || s->cursor.keys[0].i <= PART_NAME;
        /* The names first; the addresses only when the names do not fill
         * the page (a one-time filter: the part is not read otherwise). */
        if (names) {
            buf_puts(&out->sql, "WITH np AS MATERIALIZED ");
            snprintf(fw, sizeof fw,
                     "FROM router.customers c WHERE c.merged_into IS NULL AND " NAME_KEY " LIKE %s",
                     name_like);
            part_sql(out, s, PART_NAME, NAME_KEY, fw);
            buf_puts(&out->sql, " ");
        }
        buf_puts(&out->sql, "SELECT u.item, u.part::text, u.k, u.id::text FROM (");
        if (names)
            buf_puts(&out->sql, "SELECT * FROM np UNION ALL ");
        snprintf(fw, sizeof fw,
                 "FROM router.identities i JOIN router.customers c ON c.id = i.customer_id"
                 " WHERE i.kind = 'email' AND i.value COLLATE \"C\" LIKE %s"
                 " AND NOT EXISTS (SELECT 1 FROM router.identities o"
                 " WHERE o.customer_id = i.customer_id AND o.kind = 'email'"
                 " AND o.value COLLATE \"C\" LIKE %s"
                 " AND o.value COLLATE \"C\" < i.value COLLATE \"C\")"
                 " AND NOT coalesce(" NAME_KEY " LIKE %s, false)%s",
                 email_like, email_like, name_like,
                 names ? " AND (SELECT count(*) FROM np) <= " : "");
        if (names) {
            size_t len = strlen(fw);
            snprintf(fw + len, sizeof fw - len, "%zu", s->limit);
        }
        part_sql(out, s, PART_EMAIL, "i.value COLLATE \"C\"", fw);
    }
    buf_printf(&out->sql, ") u ORDER BY u.part, u.k COLLATE \"C\", u.id LIMIT %zu", s->limit + 1);
    if (out->sql.failed) {
        list_sql_release(out);
        return -1;
    }
    return 0;
}

http_status customers_search(http_req *r, ingest *in)
{
    struct list_arg args[LIST_MAX_ARGS + 1];
    size_t n;
    lists_args(r, args, &n);
    struct customers_search s;
    struct message_error err;
    if (customers_search_parse(args, n, &s, &err) != 0) {
        ingest_reject(r, 400, err.code, err.code, err.field, "%s", err.message);
        return HTTP_DONE;
    }
    struct list_sql sql;
    if (customers_search_sql(&s, &sql) != 0) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    return lists_page(in, r, &sql, s.limit, CUSTOMERS_ORDER, CUSTOMERS_TYPES, "customers", NULL);
}
