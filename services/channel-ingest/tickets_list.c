/* tickets_list.c — GET /v1/tickets's parameters and SQL (tickets_list.h);
 * the handlers are in lists.c.
 *
 * The statement reads router.tickets in the index order of its sort's key
 * (0011_router_lists.sql), the filters being predicates on the way, and
 * stops at the page's end; filters that pick few tickets (a customer, an
 * agent, a date range) are found through their own index and sorted.
 * Where PostgreSQL cannot know which is cheaper, the statement decides for
 * it: SLA states are read as a set or by a walk depending on how many
 * tickets are in them (counted, keyed_sql), a search by a walk back from
 * the newest message or through the search index depending on its words'
 * frequency (search_sql). Nothing on router.tickets indexes updated_at
 * (0016 says why): "updated" merges the active tickets' order, kept in
 * router.queue_members, with the settled ones' (settled_at); "due" walks
 * the running deadlines, probing queue_members where the filters allow
 * (due_through_members). Every value
 * reaches PostgreSQL as a parameter; only fixed fragments are spliced, and
 * PostgreSQL plans each statement with its values (an unnamed statement),
 * so "status=open" uses the open tickets' index.
 */
#include "tickets_list.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "tag.h"
#include "timeutil.h"
#include "vocab.h"

/* A time key as the cursor holds it, and back. */
#define TS_US(x) "(extract(epoch FROM " x ") * 1000000)::bigint"
#define US_TS "(timestamptz 'epoch' + (%s)::bigint * interval '1 microsecond')"
/* Years 1 to 9999: what a cursor's time may be (PostgreSQL's range is wider). */
#define TIME_KEY_MIN INT64_C(-62135596800000000)
#define TIME_KEY_MAX INT64_C(253402300799999999)

#define Q_TSQUERY "websearch_to_tsquery('router.carebus_search'::regconfig, %s)"

static const char *const sort_names[] = {
    [TICKETS_SORT_QUEUE] = "queue",         [TICKETS_SORT_UPDATED] = "updated",
    [TICKETS_SORT_CREATED] = "created",     [TICKETS_SORT_DUE] = "due",
    [TICKETS_SORT_RELEVANCE] = "relevance",
};
/* The cursor's values: the sort's keys, then the ticket's id. */
static const char *const sort_types[] = {
    [TICKETS_SORT_QUEUE] = "iiu", [TICKETS_SORT_UPDATED] = "iu",   [TICKETS_SORT_CREATED] = "iu",
    [TICKETS_SORT_DUE] = "iu",    [TICKETS_SORT_RELEVANCE] = "ru",
};
#define NSORTS (sizeof sort_names / sizeof sort_names[0])

static const char *const sla_states[] = {"breached", "warning", "within"};

/* The time filters, in tickets_query's has_time/time_us order. */
enum { T_CREATED_FROM, T_CREATED_TO, T_UPDATED_FROM, T_UPDATED_TO, T_DUE_FROM, T_DUE_TO, NTIMES };
static const char *const time_params[NTIMES] = {"created_from", "created_to", "updated_from",
                                                "updated_to",   "due_from",   "due_to"};

void tickets_sort_keys(enum tickets_sort s, const char **order, const char **types)
{
    assert((size_t)s < NSORTS);
    *order = sort_names[s];
    *types = sort_types[s];
}

/* --- parsing ---------------------------------------------------------------------- */

/* The next comma-separated item of *p into item (NUL-terminated); false
 * at the end. An item longer than the buffer is cut (and then unknown or
 * refused by its check). */
static bool next_item(const char **p, char *item, size_t size)
{
    if (!*p)
        return false;
    const char *s = *p, *comma = strchr(s, ',');
    size_t n = comma ? (size_t)(comma - s) : strlen(s);
    snprintf(item, size, "%.*s", (int)(n < size ? n : size - 1), s);
    *p = comma ? comma + 1 : NULL;
    return true;
}

static int join(char *out, const char *item, struct message_error *err, const char *field)
{
    size_t len = strlen(out), n = strlen(item);
    if (len + (len ? 1 : 0) + n >= LIST_VALUES_MAX)
        return field_fail(err, "invalid_field", field, "\"%s\" names too many values", field);
    if (len)
        out[len++] = ',';
    memcpy(out + len, item, n + 1);
    return 0;
}

/* An enum filter: names of d, canonical in schema order; *mask gets a bit
 * per value. With negate_values, out lists the values negated (priority:
 * the queue key) instead of the names. */
static int parse_enum(const char *v, const char *field, const ProtobufCEnumDescriptor *d,
                      bool negate_values, char *out, uint32_t *mask, struct message_error *err)
{
    uint32_t m = 0;
    char item[64];
    const char *p = v;
    while (next_item(&p, item, sizeof item)) {
        int value;
        if (vocab_parse(d, item, &value) != 0 || value < 0 || value >= 32)
            return field_fail(err, "invalid_field", field, "\"%s\" must be one or more of %s",
                              field, vocab_list(d));
        m |= UINT32_C(1) << value;
    }
    out[0] = '\0';
    for (size_t i = 0; i < vocab_count(d); i++) {
        int value = vocab_value(d, i);
        if (value < 0 || value >= 32 || !(m >> value & 1))
            continue;
        char num[16];
        if (negate_values)
            snprintf(num, sizeof num, "%d", -value);
        if (join(out, negate_values ? num : vocab_name(d, value), err, field) != 0)
            return -1;
    }
    if (mask)
        *mask = m;
    return 0;
}

/* Names (teams, agents, tags): 1 to LIST_NAME_MAX bytes each, no control
 * characters; commas separate them. */
static int parse_names(const char *v, const char *field, char *out, struct message_error *err)
{
    char item[LIST_NAME_MAX + 2];
    const char *p = v;
    out[0] = '\0';
    while (next_item(&p, item, sizeof item)) {
        if (!field_token_valid(item, LIST_NAME_MAX))
            return field_fail(err, "invalid_field", field,
                              "\"%s\" takes names of 1 to %d bytes without control characters, "
                              "separated by commas",
                              field, LIST_NAME_MAX);
        if (join(out, item, err, field) != 0)
            return -1;
    }
    return 0;
}

/* Tags, each spelled as tag.h normalises them ("Late Delivery" is
 * "late_delivery"), as the router keeps them. */
static int parse_tags(const char *v, char *out, struct message_error *err)
{
    char item[TAG_MAX * 4 + 2], tag[TAG_MAX + 1];
    const char *p = v;
    out[0] = '\0';
    while (next_item(&p, item, sizeof item)) {
        if (strlen(item) > TAG_MAX * 4 || tag_normalise(item, tag) != 0)
            return field_fail(err, "invalid_field", "tag",
                              "\"tag\" takes tags of 1 to %d bytes, separated by commas", TAG_MAX);
        if (join(out, tag, err, "tag") != 0)
            return -1;
    }
    return 0;
}

static int parse_sla(const char *v, char *out, struct message_error *err)
{
    unsigned m = 0;
    char item[32];
    const char *p = v;
    while (next_item(&p, item, sizeof item)) {
        size_t i = 0;
        while (i < 3 && strcmp(item, sla_states[i]) != 0)
            i++;
        if (i == 3)
            return field_fail(err, "invalid_field", "sla",
                              "\"sla\" must be one or more of breached, warning, within");
        m |= 1u << i;
    }
    out[0] = '\0';
    for (size_t i = 0; i < 3; i++)
        if ((m >> i & 1) && join(out, sla_states[i], err, "sla") != 0)
            return -1;
    return 0;
}

static int parse_limit(const char *v, size_t *out, struct message_error *err)
{
    size_t n = strlen(v), value = 0;
    bool ok = n >= 1 && n <= 3 && v[0] != '0' && strspn(v, "0123456789") == n;
    for (size_t i = 0; ok && i < n; i++)
        value = value * 10 + (size_t)(v[i] - '0');
    if (!ok || value > LIST_LIMIT_MAX)
        return field_fail(err, "invalid_field", "limit", "\"limit\" must be 1 to %d",
                          LIST_LIMIT_MAX);
    *out = value;
    return 0;
}

/* The cursor's values must also fit the statement's casts. */
static bool cursor_fits(const struct tickets_query *q)
{
    const struct list_cursor *c = &q->cursor;
    if (q->sort == TICKETS_SORT_QUEUE)
        return c->keys[0].i >= INT16_MIN && c->keys[0].i <= INT16_MAX &&
               c->keys[1].i >= TIME_KEY_MIN && c->keys[1].i <= TIME_KEY_MAX;
    if (q->sort != TICKETS_SORT_RELEVANCE)
        return c->keys[0].i >= TIME_KEY_MIN && c->keys[0].i <= TIME_KEY_MAX;
    return true;
}

enum {
    P_STATUS,
    P_TEAM,
    P_ASSIGNEE,
    P_CHANNEL,
    P_PRIORITY,
    P_CATEGORY,
    P_SEGMENT,
    P_TAG,
    P_CUSTOMER,
    P_TIMES,
    P_SLA = P_TIMES + NTIMES,
    P_SORT,
    P_LIMIT,
    P_CURSOR,
    P_Q,
    NPARAMS
};
static const char *const known_params[NPARAMS] = {
    [P_STATUS] = "status",
    [P_TEAM] = "team",
    [P_ASSIGNEE] = "assignee",
    [P_CHANNEL] = "channel",
    [P_PRIORITY] = "priority",
    [P_CATEGORY] = "category",
    [P_SEGMENT] = "segment",
    [P_TAG] = "tag",
    [P_CUSTOMER] = "customer_id",
    [P_TIMES + T_CREATED_FROM] = "created_from",
    [P_TIMES + T_CREATED_TO] = "created_to",
    [P_TIMES + T_UPDATED_FROM] = "updated_from",
    [P_TIMES + T_UPDATED_TO] = "updated_to",
    [P_TIMES + T_DUE_FROM] = "due_from",
    [P_TIMES + T_DUE_TO] = "due_to",
    [P_SLA] = "sla",
    [P_SORT] = "sort",
    [P_LIMIT] = "limit",
    [P_CURSOR] = "cursor",
    [P_Q] = "q",
};

int tickets_query_parse(const struct list_arg *args, size_t n, const struct tickets_query_opts *o,
                        struct tickets_query *q, struct message_error *err)
{
    memset(q, 0, sizeof *q);
    q->limit = LIST_LIMIT_DEFAULT;
    const char *v[NPARAMS] = {0};
    if (n > LIST_MAX_ARGS)
        return field_fail(err, "invalid_field", "", "too many query parameters (at most %d)",
                          LIST_MAX_ARGS);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < NPARAMS && strcmp(args[i].name, known_params[k]) != 0)
            k++;
        char field[64];
        snprintf(field, sizeof field, "%.63s", args[i].name);
        if (k == NPARAMS || (k == P_CUSTOMER && o->customer_id))
            return field_fail(err, "invalid_field", field, "unknown query parameter \"%s\"", field);
        if (v[k])
            return field_fail(err, "invalid_field", field,
                              "\"%s\" is given twice; give its values once, separated by commas",
                              field);
        if (!args[i].value || !args[i].value[0])
            return field_fail(err, "invalid_field", field, "\"%s\" is empty", field);
        v[k] = args[i].value;
    }
    const char *status = v[P_STATUS], *team = v[P_TEAM], *assignee = v[P_ASSIGNEE],
               *channel = v[P_CHANNEL], *priority = v[P_PRIORITY], *category = v[P_CATEGORY],
               *segment = v[P_SEGMENT], *tag = v[P_TAG],
               *customer = v[P_CUSTOMER], *const *times = &v[P_TIMES], *sla = v[P_SLA],
               *sort = v[P_SORT], *limit = v[P_LIMIT], *cursor = v[P_CURSOR], *text = v[P_Q];

    if ((status && parse_enum(status, "status", &carebus__v1__ticket_status__descriptor, false,
                              q->status, NULL, err)) ||
        (channel && parse_enum(channel, "channel", &carebus__v1__channel__descriptor, false,
                               q->channel, &q->channels, err)) ||
        (priority && parse_enum(priority, "priority", &carebus__v1__priority__descriptor, true,
                                q->priority, NULL, err)) ||
        (category && parse_enum(category, "category", &carebus__v1__category__descriptor, false,
                                q->category, NULL, err)) ||
        (segment && parse_enum(segment, "segment", &carebus__v1__segment__descriptor, false,
                               q->segment, NULL, err)) ||
        (team && parse_names(team, "team", q->team, err)) ||
        (tag && parse_tags(tag, q->tag, err)) || (sla && parse_sla(sla, q->sla, err)) ||
        (limit && parse_limit(limit, &q->limit, err)))
        return -1;
    if (assignee) {
        if (strcmp(assignee, "unassigned") == 0) {
            q->unassigned = true;
        } else if (strcmp(assignee, "me") == 0) {
            if (!o->agent_id || !o->agent_id[0])
                return field_fail(err, "invalid_field", "assignee",
                                  "\"assignee\": \"me\" needs a key bound to an agent");
            if (parse_names(o->agent_id, "assignee", q->assignee, err) != 0)
                return -1;
        } else if (parse_names(assignee, "assignee", q->assignee, err) != 0) {
            return -1;
        }
    }
    const char *cust = o->customer_id ? o->customer_id : customer;
    if (cust) {
        if (!id_canonical(cust))
            return field_fail(err, "invalid_field", "customer_id",
                              "\"customer_id\" must be a customer's id (a UUID, in lowercase)");
        snprintf(q->customer_id, sizeof q->customer_id, "%s", cust);
    }
    for (size_t t = 0; t < NTIMES; t++) {
        if (!times[t])
            continue;
        /* A "+" left unencoded in a query string arrives as a blank: an
         * RFC 3339 time has none, so it is read as the "+" it was. */
        char tv[64];
        snprintf(tv, sizeof tv, "%s", times[t]);
        for (char *b = strchr(tv, ' '); b; b = strchr(b, ' '))
            *b = '+';
        if (strlen(times[t]) >= sizeof tv || time_parse_rfc3339(tv, &q->time_us[t]) != 0 ||
            q->time_us[t] < TIME_KEY_MIN || q->time_us[t] > TIME_KEY_MAX)
            return field_fail(err, "invalid_field", time_params[t],
                              "could not parse \"%s\": expected an RFC 3339 time", time_params[t]);
        q->has_time[t] = true;
    }
    if (text) {
        size_t tl = strlen(text), lead = strspn(text, " \t");
        if (tl > LIST_Q_MAX || !field_token_valid(text, LIST_Q_MAX) || lead == tl)
            return field_fail(err, "invalid_field", "q",
                              "\"q\" must be 1 to %d bytes of words, without control characters",
                              LIST_Q_MAX);
        q->q = text;
    }
    q->sort = text ? TICKETS_SORT_RELEVANCE : o->default_sort;
    if (sort) {
        size_t s = 0;
        while (s < NSORTS && strcmp(sort, sort_names[s]) != 0)
            s++;
        if (s == NSORTS)
            return field_fail(err, "invalid_field", "sort",
                              "\"sort\" must be one of queue, updated, created, due, relevance");
        if ((s == TICKETS_SORT_RELEVANCE) != (text != NULL))
            return field_fail(err, "invalid_field", "sort",
                              text ? "a search (\"q\") is sorted by relevance only"
                                   : "\"sort\": relevance needs a search (\"q\")");
        q->sort = (enum tickets_sort)s;
    }
    if (cursor) {
        const char *order, *types;
        tickets_sort_keys(q->sort, &order, &types);
        if (list_cursor_decode(cursor, order, types, &q->cursor) != 0 || !cursor_fits(q))
            return field_fail(err, "invalid_field", "cursor",
                              "\"cursor\" is not a cursor of this list's order (\"%s\"): pass "
                              "a page's next_cursor as it is, with the same sort",
                              order);
        q->has_cursor = true;
    }
    return 0;
}

/* --- SQL -------------------------------------------------------------------------- */

void list_sql_release(struct list_sql *s)
{
    buf_release(&s->sql);
    for (int i = 0; i < s->n; i++)
        free(s->params[i]);
    s->n = 0;
}

int list_sql_add(struct list_sql *s, const char *value)
{
    assert(s->n < LIST_SQL_PARAMS);
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        s->sql.failed = 1;
    s->params[s->n++] = copy;
    return s->n;
}

int list_sql_param(struct list_sql *s, const char *value)
{
    buf_printf(&s->sql, "$%d", list_sql_add(s, value));
    return s->sql.failed ? -1 : 0;
}

static void param_i64(struct list_sql *s, int64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, v);
    list_sql_param(s, num);
}

/* " AND <before>$n<after>" for a filter with one parameter. */
static void filter(struct list_sql *s, const char *before, const char *value, const char *after)
{
    buf_printf(&s->sql, " AND %s", before);
    list_sql_param(s, value);
    buf_puts(&s->sql, after);
}

/* " AND <column> = $n" for one value, " AND <column> = ANY (...)" for a
 * comma-separated list (cast: the element type, or NULL for text). One
 * value is said as an equality: PostgreSQL then knows an index on the
 * column gives the rest of its key in order. */
static void filter_in(struct list_sql *s, const char *column, const char *values, const char *cast)
{
    if (!strchr(values, ',')) {
        buf_printf(&s->sql, " AND %s = ", column);
        list_sql_param(s, values);
        if (cast)
            buf_printf(&s->sql, "::%s", cast);
        return;
    }
    buf_printf(&s->sql, " AND %s = ANY (string_to_array(", column);
    list_sql_param(s, values);
    buf_printf(&s->sql, ", ',')%s%s%s)", cast ? "::" : "", cast ? cast : "", cast ? "[]" : "");
}

/* A time parameter, as a timestamptz. */
static void param_time(struct list_sql *s, int64_t us)
{
    char num[24], ref[16];
    snprintf(num, sizeof num, "%" PRId64, us);
    snprintf(ref, sizeof ref, "$%d", list_sql_add(s, num));
    buf_printf(&s->sql, US_TS, ref);
}

static void filter_time(struct list_sql *s, const char *column, const char *op, int64_t us)
{
    buf_printf(&s->sql, " AND %s %s ", column, op);
    param_time(s, us);
}

/* Whether the statement joins sla.ticket_deadlines d: the "due" order and
 * the due ranges read the nearest deadline there. */
static bool uses_deadlines(const struct tickets_query *q)
{
    return q->sort == TICKETS_SORT_DUE || q->has_time[T_DUE_FROM] || q->has_time[T_DUE_TO];
}

/* Whether a filter asks what only some tickets are: the statement then
 * starts from those tickets rather than from the order. */
static bool has_narrow_filter(const struct tickets_query *q)
{
    return q->customer_id[0] || q->assignee[0] || q->sla[0] || uses_deadlines(q);
}

static bool has_ticket_filter(const struct tickets_query *q)
{
    bool any = q->status[0] || q->channel[0] || q->priority[0] || q->category[0] || q->team[0] ||
               q->unassigned || q->tag[0] || q->segment[0] || has_narrow_filter(q);
    for (size_t t = T_CREATED_FROM; t <= T_UPDATED_TO; t++)
        any = any || q->has_time[t];
    return any;
}

/* Every priority's rank, negated, as the queue key has them: "-4,-3,...". */
static void all_priorities(char *out, size_t size)
{
    const ProtobufCEnumDescriptor *d = &carebus__v1__priority__descriptor;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = vocab_count(d); i-- > 0;)
        len += (size_t)snprintf(out + len, size - len, "%s%d", len ? "," : "", -vocab_value(d, i));
}

/* How a statement reads the SLA states asked for: through a probe of each
 * ticket's clock (c, LATERAL), or through the set cl of the tickets in
 * those states (see keyed_sql). */
enum clock_read { CLOCK_PROBE, CLOCK_SET };

/* The filters on router.tickets t, d (deadlines) and the states, and the
 * key's channels ($1); the status read from the column named. */
static void ticket_filters_on(struct list_sql *s, const struct tickets_query *q, enum clock_read cr,
                              const char *status)
{
    if (q->status[0])
        filter_in(s, status, q->status, NULL);
    else if (q->sla[0])
        /* Only open and pending tickets have running targets: said, so
         * that the walk reads their index. */
        buf_printf(&s->sql, " AND %s IN ('open', 'pending')", status);
    if (q->channel[0])
        filter_in(s, "t.channel", q->channel, NULL);
    if (q->priority[0]) {
        filter_in(s, "(-t.priority_rank)", q->priority, "smallint");
    } else if (q->sort == TICKETS_SORT_QUEUE &&
               (q->has_time[T_CREATED_FROM] || q->has_time[T_CREATED_TO])) {
        /* Every priority, said: the queue's index then reads each
         * priority's part of the range rather than the whole queue. */
        char all[64];
        all_priorities(all, sizeof all);
        filter(s, "(-t.priority_rank) = ANY (string_to_array(", all, ", ',')::smallint[])");
    }
    if (q->category[0])
        filter_in(s, "t.category", q->category, NULL);
    if (q->team[0])
        filter_in(s, "t.team", q->team, NULL);
    if (q->assignee[0])
        filter_in(s, "t.assignee", q->assignee, NULL);
    if (q->unassigned)
        buf_puts(&s->sql, " AND t.assignee IS NULL");
    if (q->tag[0])
        /* "<> '{}'": what the tags' partial index holds (0015). */
        filter(s, "t.tags <> '{}' AND t.tags @> string_to_array(", q->tag, ", ',')");
    if (q->segment[0])
        filter(s,
               "EXISTS (SELECT 1 FROM router.customers cs WHERE cs.id = t.customer_id"
               " AND cs.segment = ANY (string_to_array(",
               q->segment, ", ',')))");
    if (q->customer_id[0])
        filter(s,
               "t.customer_id = (SELECT coalesce(x.merged_into, x.id) FROM router.customers x"
               " WHERE x.id = ",
               q->customer_id, "::uuid)");
    static const char *const cols[] = {"t.created_at", "t.created_at", "t.updated_at",
                                       "t.updated_at", "d.due_at",     "d.due_at"};
    for (size_t t = 0; t < NTIMES; t++)
        if (q->has_time[t])
            filter_time(s, cols[t], t % 2 ? "<" : ">=", q->time_us[t]);
    if (q->sla[0] && cr == CLOCK_PROBE)
        filter(s, "c.state = ANY (string_to_array(", q->sla, ", ','))");
    /* NULL for a key of every channel: PostgreSQL folds the rule away. */
    buf_puts(&s->sql, " AND " ACCESS_SQL_TICKET_WITHIN("t", "$1"));
}

static void ticket_filters(struct list_sql *s, const struct tickets_query *q, enum clock_read cr)
{
    ticket_filters_on(s, q, cr, "t.status");
}

/* WITH n: the SLA clock's now, once. For SLA states, st: the first
 * SLA_FEW running targets in those states (sla.targets_in_states, 0093:
 * each row found by index probes, so that reading stops at the limit),
 * few: whether they are fewer than SLA_FEW (see keyed_sql), and cl: their
 * tickets, each once, read only where few says so (st then holds every
 * target in the states). few counts targets, not tickets: a ticket
 * waiting for an answer has two running (the response and the
 * resolution), so the set is read for up to SLA_FEW targets: between
 * half and all of that many tickets. */
#define SLA_FEW 2000
static void with_clause(struct list_sql *s, const struct tickets_query *q, bool sla_set)
{
    buf_puts(&s->sql, "WITH n AS MATERIALIZED (SELECT sla.now() AS now)");
    if (sla_set) {
        char states[16];
        snprintf(states, sizeof states, "$%d", list_sql_add(s, q->sla));
        buf_printf(&s->sql,
                   ", st AS MATERIALIZED (SELECT c.ticket_id FROM n,"
                   " sla.targets_in_states(string_to_array(%s, ','), n.now) c LIMIT %d)"
                   ", few AS MATERIALIZED (SELECT count(*) < %d AS yes FROM st)"
                   ", cl AS (SELECT DISTINCT st.ticket_id FROM st)",
                   states, SLA_FEW, SLA_FEW);
    }
}

/* The relations of a ticket query after "FROM router.tickets t": the
 * deadlines, the states (the set, or a probe of the clock: LATERAL, one
 * index probe per ticket). */
static void ticket_joins(struct list_sql *s, const struct tickets_query *q, const char *ticket,
                         enum clock_read cr)
{
    if (uses_deadlines(q))
        buf_printf(&s->sql, " JOIN sla.ticket_deadlines d ON d.ticket_id = %s", ticket);
    if (q->sla[0] && cr == CLOCK_SET)
        buf_printf(&s->sql, " JOIN cl ON cl.ticket_id = %s", ticket);
    else if (q->sla[0])
        buf_printf(&s->sql, " CROSS JOIN n n2 CROSS JOIN LATERAL sla.ticket_clock(%s, n2.now) c",
                   ticket);
}

/* A sort's keys on the inner rows: an expression and its type. */
enum key_type { KEY_INT2, KEY_TIME, KEY_UUID };
struct sort_key {
    const char *expr;
    enum key_type type;
};

static size_t sort_keys(const struct tickets_query *q, struct sort_key k[3], bool *desc)
{
    *desc = q->sort == TICKETS_SORT_UPDATED || q->sort == TICKETS_SORT_CREATED;
    switch (q->sort) {
    case TICKETS_SORT_QUEUE:
        k[0] = (struct sort_key){"(-t.priority_rank)", KEY_INT2};
        k[1] = (struct sort_key){"t.created_at", KEY_TIME};
        k[2] = (struct sort_key){"t.id", KEY_UUID};
        return 3;
    case TICKETS_SORT_UPDATED:
        k[0] = (struct sort_key){"t.updated_at", KEY_TIME};
        break;
    case TICKETS_SORT_CREATED:
        k[0] = (struct sort_key){"t.created_at", KEY_TIME};
        break;
    case TICKETS_SORT_DUE:
        /* The deadlines' columns, both: a cursor's comparison is then on
         * the key of their index (targets_running_due: due_at, ticket_id),
         * where its walk starts; on t.id (or qm.ticket_id) it was a filter,
         * and a page walked every deadline before the cursor's (6,500 of
         * them five pages into a team's list: 34 ms). */
        k[0] = (struct sort_key){"d.due_at", KEY_TIME};
        k[1] = (struct sort_key){"d.ticket_id", KEY_UUID};
        return 2;
    case TICKETS_SORT_RELEVANCE:
        assert(!"relevance has its own statement");
    }
    k[1] = (struct sort_key){"t.id", KEY_UUID};
    return 2;
}

/* The cursor's value i as a parameter of its key's type. */
static void cursor_value(struct list_sql *s, const struct tickets_query *q, size_t i,
                         const struct sort_key *k)
{
    char v[LIST_CURSOR_PARAM_MAX], ref[16];
    list_cursor_param(&q->cursor, i, v);
    snprintf(ref, sizeof ref, "$%d", list_sql_add(s, v));
    if (k->type == KEY_TIME)
        buf_printf(&s->sql, US_TS, ref);
    else
        buf_printf(&s->sql, "%s::%s", ref, k->type == KEY_UUID ? "uuid" : "smallint");
}

/* Whether the status filter lets in a status of the list "a,b". */
static bool status_admits(const struct tickets_query *q, const char *a, const char *b)
{
    if (!q->status[0])
        return true;
    char item[32];
    const char *p = q->status;
    while (next_item(&p, item, sizeof item))
        if (strcmp(item, a) == 0 || strcmp(item, b) == 0)
            return true;
    return false;
}

/* Where a statement reads the tickets from: all of router.tickets, or the
 * active ones (open, pending) or the settled ones (solved, closed), each in
 * the order of indexes of their own; for the "updated" order
 * (0016_router_updated_order.sql) the active ones through
 * router.queue_members qm, the settled ones through settled_at; for the
 * "due" order, the running deadlines with their tickets' queue_members rows
 * (SOURCE_DUE_MEMBERS, see due_through_members). */
enum ticket_source { SOURCE_ALL, SOURCE_ACTIVE, SOURCE_SETTLED, SOURCE_DUE_MEMBERS };

/* Whether the "due" order is read from router.queue_members qm alone, not
 * router.tickets: when every filter is one of qm's columns (a team, "no
 * assignee", an active status), the due ranges, and the key reads every
 * channel (limited: its rule reads the ticket). The walk of the running
 * deadlines (targets_running_due) then probes qm, a small table that stays
 * cached, rather than the ticket's row among a million: a team with few
 * active tickets made the walk probe every running deadline's ticket
 * (p99 42 to 100 ms over 1,000,000 tickets), and for such a team PostgreSQL
 * now rather takes its few members (qm's statistics) and sorts them. Only
 * active tickets have running targets (sla-monitor stops a ticket's
 * targets when it is solved or closed); a ticket solved a moment ago whose
 * targets sla-monitor has not stopped yet is therefore left out here, as
 * the SLA states leave it out (ticket_filters_on), until it is. A named
 * agent is read through the agents' indexes instead (inner_split). */
static bool due_through_members(const struct tickets_query *q, bool limited)
{
    bool other = q->channel[0] || q->priority[0] || q->category[0] || q->assignee[0] || q->tag[0] ||
                 q->segment[0] || q->customer_id[0] || q->sla[0];
    for (size_t t = T_CREATED_FROM; t <= T_UPDATED_TO; t++)
        other = other || q->has_time[t];
    return q->sort == TICKETS_SORT_DUE && !limited && !other &&
           !(q->status[0] && status_admits(q, "solved", "closed"));
}

/* The filters due_through_members lets through, on qm and d; $1 (the key's
 * channels) is NULL there, and said so that every parameter is used. */
static void member_filters(struct list_sql *s, const struct tickets_query *q)
{
    if (q->status[0])
        filter_in(s, "qm.status", q->status, NULL);
    if (q->team[0])
        filter_in(s, "qm.team", q->team, NULL);
    if (q->unassigned)
        buf_puts(&s->sql, " AND qm.assignee IS NULL");
    for (size_t t = T_DUE_FROM; t <= T_DUE_TO; t++)
        if (q->has_time[t])
            filter_time(s, "d.due_at", t % 2 ? "<" : ">=", q->time_us[t]);
    buf_puts(&s->sql, " AND $1::text[] IS NULL");
}

/* One way to find the page's ids and keys, in order; gate: a condition
 * that decides, once, whether this way runs (NULL: always). */
static void inner_select(struct list_sql *s, const struct tickets_query *q,
                         const struct sort_key *k, size_t nk, bool desc, enum clock_read cr,
                         enum ticket_source from, const char *gate)
{
    bool members = from == SOURCE_DUE_MEMBERS;
    buf_puts(&s->sql, members ? "(SELECT qm.ticket_id AS id" : "(SELECT t.id");
    for (size_t i = 0; i < nk; i++)
        buf_printf(&s->sql, ", %s AS k%zu", k[i].expr, i);
    bool updated = q->sort == TICKETS_SORT_UPDATED;
    if (members)
        buf_puts(&s->sql, " FROM router.queue_members qm");
    else if (from == SOURCE_ACTIVE && updated)
        buf_puts(&s->sql,
                 " FROM router.queue_members qm JOIN router.tickets t ON t.id = qm.ticket_id");
    else
        buf_puts(&s->sql, " FROM router.tickets t");
    ticket_joins(s, q, members ? "qm.ticket_id" : "t.id", cr);
    buf_printf(&s->sql, " WHERE %s", gate ? gate : "true");
    /* Said as the partial indexes' predicates are (0011, 0015), so that
     * PostgreSQL may read them. */
    if (from == SOURCE_ACTIVE && !updated)
        buf_puts(&s->sql, " AND t.status IN ('open', 'pending')");
    else if (from == SOURCE_SETTLED)
        buf_puts(&s->sql, updated ? " AND t.settled_at IS NOT NULL"
                                  : " AND t.status IN ('solved', 'closed')");
    /* The active tickets' statuses as queue_members has them (the same, in
     * the same transaction): PostgreSQL then knows how many pass, where it
     * would take "open or pending" for as rare among them as among all. */
    if (members)
        member_filters(s, q);
    else
        ticket_filters_on(s, q, cr, from == SOURCE_ACTIVE && updated ? "qm.status" : "t.status");
    if (q->has_cursor) {
        /* A filter on one agent pins the first column of its indexes
         * (tickets_list_assignee_active, _settled): said in the comparison too, the cursor
         * is where the index scan starts. (A status has no such index: its
         * indexes are partial, keyed by the queue order alone; 0015.) */
        const char *pin = NULL, *pin_value = NULL;
        if (q->sort == TICKETS_SORT_QUEUE && q->assignee[0] && !strchr(q->assignee, ','))
            pin = "t.assignee", pin_value = q->assignee;
        buf_printf(&s->sql, " AND (%s%s", pin ? pin : "", pin ? ", " : "");
        for (size_t i = 0; i < nk; i++)
            buf_printf(&s->sql, "%s%s", i ? ", " : "", k[i].expr);
        buf_printf(&s->sql, ") %s (", desc ? "<" : ">");
        if (pin) {
            list_sql_param(s, pin_value);
            buf_puts(&s->sql, ", ");
        }
        for (size_t i = 0; i < nk; i++) {
            buf_puts(&s->sql, i ? ", " : "");
            cursor_value(s, q, i, &k[i]);
        }
        buf_puts(&s->sql, ")");
    }
    buf_puts(&s->sql, " ORDER BY ");
    for (size_t i = 0; i < nk; i++)
        buf_printf(&s->sql, "%s%s%s", i ? ", " : "", k[i].expr, desc ? " DESC" : "");
    buf_puts(&s->sql, " LIMIT ");
    param_i64(s, (int64_t)q->limit + 1);
    buf_puts(&s->sql, ")");
}

/* The active tickets' page and the settled ones', merged: what the
 * "updated" order reads (the newest of the active tickets by
 * queue_members.updated_at, a copy of updated_at that its index orders, and
 * of the settled ones by settled_at, which is updated_at while settled), and
 * an agent's tickets (tickets_list_assignee_active and _settled; 0015). A
 * status filter or an SLA state (only active tickets have running clocks:
 * ticket_filters says so) leaves one of the two out (the active one stays
 * when nothing can match: its filters say so). */
static void inner_split(struct list_sql *s, const struct tickets_query *q, const struct sort_key *k,
                        size_t nk, bool desc, enum clock_read cr, const char *gate)
{
    static const struct sort_key active_updated[] = {{"qm.updated_at", KEY_TIME},
                                                     {"qm.ticket_id", KEY_UUID}},
                                 settled_updated[] = {{"t.settled_at", KEY_TIME},
                                                      {"t.id", KEY_UUID}};
    bool updated = q->sort == TICKETS_SORT_UPDATED;
    assert(!updated || nk == 2);
    bool with_settled = !q->sla[0] && status_admits(q, "solved", "closed"),
         with_active = !with_settled || status_admits(q, "open", "pending");
    buf_puts(&s->sql, "(SELECT u.id");
    for (size_t i = 0; i < nk; i++)
        buf_printf(&s->sql, ", u.k%zu", i);
    buf_puts(&s->sql, " FROM (");
    if (with_active)
        inner_select(s, q, updated ? active_updated : k, nk, desc, cr, SOURCE_ACTIVE, gate);
    if (with_active && with_settled)
        buf_puts(&s->sql, " UNION ALL ");
    if (with_settled)
        inner_select(s, q, updated ? settled_updated : k, nk, desc, cr, SOURCE_SETTLED, gate);
    buf_puts(&s->sql, ") u ORDER BY ");
    for (size_t i = 0; i < nk; i++)
        buf_printf(&s->sql, "%su.k%zu%s", i ? ", " : "", i, desc ? " DESC" : "");
    buf_puts(&s->sql, " LIMIT ");
    param_i64(s, (int64_t)q->limit + 1);
    buf_puts(&s->sql, ")");
}

/* One way to find the page's ids and keys in the query's order. */
static void inner_page(struct list_sql *s, const struct tickets_query *q, const struct sort_key *k,
                       size_t nk, bool desc, enum clock_read cr, const char *gate, bool limited)
{
    static const struct sort_key due_members[] = {{"d.due_at", KEY_TIME},
                                                  {"d.ticket_id", KEY_UUID}};
    if (due_through_members(q, limited)) {
        assert(nk == 2 && !gate);
        inner_select(s, q, due_members, nk, desc, cr, SOURCE_DUE_MEMBERS, NULL);
    } else if (q->sort == TICKETS_SORT_UPDATED || q->assignee[0])
        inner_split(s, q, k, nk, desc, cr, gate);
    else
        inner_select(s, q, k, nk, desc, cr, SOURCE_ALL, gate);
}

/* The page's rows: the inner query finds the ids and keys (an index-only
 * walk where the filters allow), the outer one reads each row's ticket,
 * its JSON and its clock. SLA states are read one of two ways, chosen by
 * how many tickets are in them (few): a few are found as a set (cl) and
 * sorted; many are met soon by walking the open tickets in order and
 * probing each one's clock. Which is cheaper depends on the desk (breaches
 * are rare in a healthy one, common in a swamped one), so the statement
 * counts rather than guesses. */
static void keyed_sql(const struct tickets_query *q, struct list_sql *s, bool limited)
{
    struct sort_key k[3];
    bool desc;
    size_t nk = sort_keys(q, k, &desc);
    with_clause(s, q, q->sla[0] != 0);
    buf_puts(&s->sql, " SELECT router.ticket_summary(t) || jsonb_build_object('sla',"
                      " sla.clock_json(c.due_at, c.warn_at, c.state))");
    for (size_t i = 0; i < nk; i++)
        buf_printf(&s->sql,
                   k[i].type == KEY_TIME ? ", " TS_US("p.k%zu") "::text" : ", p.k%zu::text", i);
    buf_puts(&s->sql, " FROM (");
    if (q->sla[0]) {
        inner_page(s, q, k, nk, desc, CLOCK_SET, "(SELECT yes FROM few)", limited);
        buf_puts(&s->sql, " UNION ALL ");
        inner_page(s, q, k, nk, desc, CLOCK_PROBE, "NOT (SELECT yes FROM few)", limited);
    } else {
        inner_page(s, q, k, nk, desc, CLOCK_PROBE, NULL, limited);
    }
    buf_puts(&s->sql, ") p JOIN router.tickets t ON t.id = p.id CROSS JOIN n"
                      " LEFT JOIN LATERAL sla.ticket_clock(t.id, n.now) c ON true ORDER BY ");
    for (size_t i = 0; i < nk; i++)
        buf_printf(&s->sql, "%sp.k%zu%s", i ? ", " : "", i, desc ? " DESC" : "");
}

/* The ways to find a search's candidates (search_hits). */
enum search_way {
    /* Back from the newest message: a word in many messages. */
    SEARCH_WALK,
    /* The matches newer than router.search_since's bound: a word in a
     * few thousandths of them. */
    SEARCH_WINDOW,
    /* Every match: a rare word, and where the window had too few. */
    SEARCH_INDEX,
};

/* One way to find a search's candidates: the newest matching messages of
 * tickets that pass the filters. SEARCH_WALK: read back from the newest
 * message, the match a filter that no index answers (PostgreSQL cannot
 * then choose the search index, whatever it estimates); else through the
 * search index: every match found through it (a subquery the newest-first
 * order does not reach, OFFSET 0, so PostgreSQL cannot walk back through
 * messages_at instead, as it would for a word it takes for common enough:
 * 45,000 messages read rather than 8,000 for one in 200), sorted, the
 * newest ranked: only they (f's LIMIT, then g's rank), not every match
 * (39,000 for a name in 10,000,000 messages, 20 of their 125 ms). The
 * window adds the bound, a constant when PostgreSQL plans (see 0064), so
 * that it intersects the search index's matches with messages_at's range
 * and reads only those from the table. Whether the walk runs is decided
 * once (w); the full read runs when the window found fewer than a page's
 * candidates (win), where it may have missed newer ones of the others. */
static void search_hits(struct list_sql *s, const struct tickets_query *q, const char *tsq,
                        enum search_way way, bool windowed, bool limited)
{
    bool filtered = limited || has_ticket_filter(q), join = has_narrow_filter(q);
    if (way == SEARCH_WALK)
        buf_printf(&s->sql,
                   "(SELECT m.ticket_id, m.event_id, ts_rank(m.search, %s) AS rank"
                   " FROM router.messages m",
                   tsq);
    else
        buf_printf(&s->sql,
                   "(SELECT g.ticket_id, g.event_id, ts_rank(g.search, %s) AS rank"
                   " FROM (SELECT f.* FROM (SELECT m.ticket_id, m.event_id, m.at, m.search"
                   " FROM router.messages m",
                   tsq);
    if (join) {
        buf_puts(&s->sql, " JOIN router.tickets t ON t.id = m.ticket_id");
        ticket_joins(s, q, "t.id", CLOCK_PROBE);
    }
    buf_printf(&s->sql, " WHERE %s(SELECT walk FROM w) AND ", way == SEARCH_WALK ? "" : "NOT ");
    if (way == SEARCH_INDEX && windowed)
        buf_printf(&s->sql, "(SELECT count(*) FROM win) < %d AND ", SEARCH_CANDIDATES);
    /* The walk calls @@'s function: a call PostgreSQL neither estimates
     * (the walk's cost then looks as small as it is) nor indexes. */
    buf_printf(&s->sql, way == SEARCH_WALK ? "ts_match_vq(m.search, %s)" : "m.search @@ %s", tsq);
    if (way == SEARCH_WINDOW)
        buf_printf(&s->sql, " AND m.at >= router.search_since(%s, %d)", tsq, SEARCH_CANDIDATES);
    if (join) {
        ticket_filters(s, q, CLOCK_PROBE);
    } else if (filtered) {
        buf_puts(&s->sql, " AND (SELECT true FROM router.tickets t");
        ticket_joins(s, q, "t.id", CLOCK_PROBE);
        buf_puts(&s->sql, " WHERE t.id = m.ticket_id");
        ticket_filters(s, q, CLOCK_PROBE);
        buf_puts(&s->sql, ")");
    } else {
        buf_puts(&s->sql, " AND $1::text[] IS NULL"); /* every parameter is used */
    }
    if (way == SEARCH_WALK)
        buf_printf(&s->sql, " ORDER BY m.at DESC LIMIT %d)", SEARCH_CANDIDATES);
    else
        buf_printf(&s->sql, " OFFSET 0) f ORDER BY f.at DESC LIMIT %d) g)", SEARCH_CANDIDATES);
}

/* A search: the newest matching messages (of tickets that pass the
 * filters), their tickets ranked by their best message, a page of them
 * with that message's snippet (HTML: the text escaped, the words found in
 * <mark>). The candidates are found one of three ways, chosen by
 * router.search_walks and router.search_since from the words' frequencies:
 * a common word walking back from the newest message (it meets enough
 * matches soon), a middling one through the search index within a recent
 * window (it has enough matches there), a rare one through the search
 * index (it has few matches to read). Broad filters are checked on each
 * candidate's ticket (a subquery the planner does not count on: the open
 * tickets are the newest, so the walk meets them first, which it cannot
 * know); narrow ones (a customer, an agent, a clock) are joined, so that
 * their few tickets' messages are read, and have no window. */
static void search_sql(const struct tickets_query *q, struct list_sql *s, bool limited)
{
    bool windowed = !has_narrow_filter(q);
    with_clause(s, q, false);
    char ref[16], tsq[96];
    snprintf(ref, sizeof ref, "$%d", list_sql_add(s, q->q));
    snprintf(tsq, sizeof tsq, Q_TSQUERY, ref);
    buf_printf(&s->sql, ", w AS MATERIALIZED (SELECT router.search_walks(%s, %d) AS walk)", tsq,
               SEARCH_CANDIDATES);
    if (windowed) {
        buf_puts(&s->sql, ", win AS MATERIALIZED ");
        search_hits(s, q, tsq, SEARCH_WINDOW, windowed, limited);
    }
    buf_puts(&s->sql, ", hits AS MATERIALIZED (");
    search_hits(s, q, tsq, SEARCH_WALK, windowed, limited);
    if (windowed)
        buf_printf(&s->sql, " UNION ALL (SELECT * FROM win WHERE (SELECT count(*) FROM win) = %d)",
                   SEARCH_CANDIDATES);
    buf_puts(&s->sql, " UNION ALL ");
    search_hits(s, q, tsq, SEARCH_INDEX, windowed, limited);
    buf_puts(&s->sql, "),");
    buf_puts(&s->sql, " best AS (SELECT DISTINCT ON (h.ticket_id) h.ticket_id, h.event_id, h.rank"
                      " FROM hits h ORDER BY h.ticket_id, h.rank DESC, h.event_id)");
    buf_printf(&s->sql,
               " SELECT router.ticket_summary(t) || jsonb_build_object('sla',"
               " sla.clock_json(c.due_at, c.warn_at, c.state), 'search', jsonb_build_object("
               "'rank', b.rank, 'message_id', b.event_id, 'snippet', ts_headline("
               "'router.carebus_search'::regconfig, replace(replace(replace("
               "coalesce(m.subject || E'\\n', '') || coalesce(m.text, ''),"
               " '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), %s,"
               " 'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2,"
               " FragmentDelimiter=\" … \"'))), b.rank::text, b.ticket_id::text"
               " FROM (SELECT * FROM best WHERE true",
               tsq);
    if (q->has_cursor) {
        char r[LIST_CURSOR_PARAM_MAX], id[LIST_CURSOR_PARAM_MAX];
        list_cursor_param(&q->cursor, 0, r);
        list_cursor_param(&q->cursor, 1, id);
        int rn = list_sql_add(s, r), idn = list_sql_add(s, id);
        buf_printf(&s->sql,
                   " AND (best.rank < $%d::real OR (best.rank = $%d::real"
                   " AND best.ticket_id > $%d::uuid))",
                   rn, rn, idn);
    }
    buf_puts(&s->sql, " ORDER BY best.rank DESC, best.ticket_id LIMIT ");
    param_i64(s, (int64_t)q->limit + 1);
    buf_puts(&s->sql, ") b JOIN router.tickets t ON t.id = b.ticket_id"
                      " JOIN router.messages m ON m.event_id = b.event_id CROSS JOIN n"
                      " LEFT JOIN LATERAL sla.ticket_clock(t.id, n.now) c ON true"
                      " ORDER BY b.rank DESC, b.ticket_id");
}

int tickets_query_sql(const struct tickets_query *q, const char *channels, struct list_sql *out)
{
    memset(out, 0, sizeof *out);
    list_sql_add(out, channels); /* $1, ACCESS_SQL_TICKET_WITHIN's */
    if (q->sort == TICKETS_SORT_RELEVANCE)
        search_sql(q, out, channels != NULL);
    else
        keyed_sql(q, out, channels != NULL);
    if (out->sql.failed) {
        list_sql_release(out);
        return -1;
    }
    return 0;
}
