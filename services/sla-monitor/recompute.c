/* recompute.c — a set of tickets' targets, set-based (see recompute.h).
 *
 * Four statements: lock the target rows (read whole), read every ticket's
 * inputs in one row each (its customer, the classified and current
 * priority, the segment as of the close, the close, the facts "kind us,..."
 * in order and the publications "target cycle kind,..."), write the
 * target rows the fold changed, made or no longer makes and the summaries
 * that changed, and claim the late breaches (only when there are any).
 * Many tickets' new target rows (a catch-up's) go by COPY before the
 * write (struct outcome's fresh).
 *
 * A target row the fold makes again as it was is left out of the write in
 * C (carebus_sla_target_rows_total{outcome="unchanged"}): most of a
 * ticket's events move one of its targets, and each row the write carries
 * costs PostgreSQL its JSON, an index probe and a row lock.
 */
#include "recompute.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "rowcopy.h"
#include "stmt.h"
#include "targets.h"

#define EPOCH_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* A ticket's summary in sla.tickets, as the fold leaves it. */
struct summary {
    char ticket_id[ID_LEN];
    int64_t opened_at, closed_at; /* us, 0: none */
    const char *priority, *segment, *policy_id, *calendar_id, *team;
};

#define S(f) ROWSET_AT(struct summary, f)
static const struct rowset_col summary_cols[] = {
    {"ticket_id", "uuid", ROWSET_ID, S(ticket_id)},
    {"opened_at", "timestamptz", ROWSET_TIME, S(opened_at), .none = 0},
    {"closed_at", "timestamptz", ROWSET_TIME, S(closed_at), .none = 0},
    {"priority", "text", ROWSET_STR, S(priority)},
    {"segment", "text", ROWSET_STR, S(segment)},
    {"policy_id", "text", ROWSET_STR, S(policy_id)},
    {"calendar_id", "text", ROWSET_STR, S(calendar_id)},
    {"team", "text", ROWSET_STR, S(team)},
};
#undef S
static const rowset_table summaries = {"sla.tickets", summary_cols, ROWSET_COUNT(summary_cols),
                                       NULL};

/* A statement of its own, before the read: when it waited for a concurrent
 * firing, the read's fresh snapshot sees that firing's claims. The rows
 * whole: those the fold makes again unchanged are not written. Locked in
 * key order, as the timers lock them; each ticket's probed by key
 * ("LATERAL ... OFFSET 0"), whatever the statistics say (with "= ANY" of
 * the tickets, sla.targets not yet analyzed was scanned whole). Each
 * ticket once (DISTINCT): a row read twice would be taken for one the
 * fold no longer makes, and deleted. */
static rowset_stmt lock_sql = ROWSET_STMT(
    sla_targets,
    "SELECT {@select t} FROM (SELECT DISTINCT k FROM unnest($1::uuid[]) k ORDER BY k) k,"
    " LATERAL (SELECT * FROM sla.targets r WHERE r.ticket_id = k.k"
    "          ORDER BY r.target, r.cycle OFFSET 0 FOR UPDATE) t"
    " ORDER BY t.ticket_id, t.target, t.cycle");

/* clang-format off */
/* A ticket's team is its latest up to the close; its team's calendar and
 * policy those of the team's last save that set them, up to the close (as
 * its segment). The ticket's facts are read once (lateral g): each value
 * the read takes from them is an aggregate of that one scan, the "latest"
 * ones the first of an array in the order (at, stream, seq) descending.
 * The lateral a is not pulled up (OFFSET 0): a.team, used three times,
 * was otherwise computed three times, its unnest and filter each time.
 * Each ticket is probed by key (lateral t), in key order: with "= ANY" of
 * a batch's few hundred tickets, a young sla.tickets (ten thousand rows)
 * was scanned whole, every row checked against the whole array (a third
 * of the read in the pipeline benchmark). */
#define LATEST_FIRST(a) "ORDER BY " a ".at DESC, " a ".stream DESC, " a ".seq DESC"
#define TEAM_SETTING(col, sets)                                                                    \
    "  (SELECT s." col " FROM sla.team_settings s WHERE s.team_id = a.team AND s." sets            \
    "     AND s.at <= coalesce(a.closed_at, 'infinity')"                                           \
    "     " LATEST_FIRST("s") " LIMIT 1) AS team_" col ","
#define READ_SQL                                                                                   \
    "SELECT t.ticket_id, t.customer_id, a.team,"                                                   \
    TEAM_SETTING("calendar", "sets_calendar")                                                      \
    TEAM_SETTING("sla_policy", "sets_policy")                                                      \
    "  a.priority, a.current_priority,"                                                            \
    "  (SELECT s.segment FROM sla.customer_segments s WHERE s.customer_id = t.customer_id"         \
    "     AND s.at <= coalesce(a.closed_at, 'infinity')"                                           \
    "     " LATEST_FIRST("s") " LIMIT 1) AS segment,"                                              \
    "  " EPOCH_US("a.closed_at") " AS closed_us, a.facts,"                                         \
    "  (SELECT string_agg(e.target || ' ' || e.cycle || ' ' || e.kind, ',')"                       \
    "     FROM sla.emitted e WHERE e.ticket_id = t.ticket_id) AS emitted"                          \
    " FROM (SELECT DISTINCT k FROM unnest($1::uuid[]) k ORDER BY k) k,"                            \
    "   LATERAL (SELECT * FROM sla.tickets r WHERE r.ticket_id = k.k OFFSET 0) t,"                 \
    "   LATERAL (SELECT g.closed_at, g.priority, g.current_priority, g.facts,"                     \
    "     (SELECT x.team FROM unnest(g.teams, g.team_ats) WITH ORDINALITY AS x(team, at, i)"       \
    "       WHERE x.at <= coalesce(g.closed_at, 'infinity') ORDER BY x.i LIMIT 1) AS team"         \
    "   FROM (SELECT min(f.at) FILTER (WHERE f.kind = 'closed') AS closed_at,"                     \
    "      (array_agg(f.priority " LATEST_FIRST("f") ") FILTER (WHERE f.kind = 'classified'))[1]"  \
    "        AS priority,"                                                                         \
    "      (array_agg(f.priority " LATEST_FIRST("f") ")"                                           \
    "        FILTER (WHERE f.kind IN ('classified', 'escalated')))[1] AS current_priority,"        \
    "      string_agg(f.kind || ' ' || " EPOCH_US("f.at") ", ',' ORDER BY f.at, f.stream, f.seq)"  \
    "        FILTER (WHERE f.kind NOT IN ('classified', 'escalated', 'team')) AS facts,"           \
    "      array_agg(f.team " LATEST_FIRST("f") ") FILTER (WHERE f.kind = 'team') AS teams,"       \
    "      array_agg(f.at " LATEST_FIRST("f") ") FILTER (WHERE f.kind = 'team') AS team_ats"       \
    "     FROM sla.ticket_facts f WHERE f.ticket_id = t.ticket_id) g OFFSET 0) a"

/* A target row's key. */
#define TARGET_KEY "ticket_id,target,cycle"

/* The summary's columns but its key. */
#define SUMMARY_COLS "opened_at,closed_at,priority,segment,policy_id,calendar_id,team"

/* Writes the target rows the fold changed or made ($1), deletes those it
 * no longer makes ($2, their keys) and updates the tickets' summaries
 * ($3). Unchanged summaries are not written. The rows deleted (locked)
 * are found by key (SLA_TARGETS_BY_KEY), and the summaries' rows of
 * sla.tickets are also named by the array of the recomputed tickets ($4):
 * whatever the statistics say, each is an index probe. Costed against the
 * JSON's guess of 100 rows, the update hashed a scan of all of
 * sla.tickets while the table was young (12,000 rows: 7-12 ms a batch in
 * the pipeline benchmark, however few its tickets). */
static rowset_stmt write_sql = ROWSET_STMT2(
    sla_targets, summaries,
    "WITH n AS (SELECT * FROM {@rows $1 n}),"
    " del AS (DELETE FROM sla.targets d USING {@rows $2 g " TARGET_KEY "}"
    "     WHERE d.ctid = ANY(" SLA_TARGETS_BY_KEY("{@rows $2 v " TARGET_KEY "}") ")"
    "       AND d.ticket_id = g.ticket_id AND d.target = g.target AND d.cycle = g.cycle),"
    " tk AS (UPDATE sla.tickets k SET {@tickets.set x " SUMMARY_COLS "}"
    "   FROM {@tickets.rows $3 x} WHERE k.ticket_id = x.ticket_id"
    "     AND k.ticket_id = ANY($4::uuid[])"
    "     AND ({@tickets.values k " SUMMARY_COLS "})"
    "         IS DISTINCT FROM ({@tickets.values x " SUMMARY_COLS "}))"
    " INSERT INTO sla.targets AS t ({@cols}) SELECT {@values n} FROM n"
    " ON CONFLICT (ticket_id, target, cycle) DO UPDATE SET {@set excluded " SLA_TARGETS_MUTABLE "}"
    " WHERE ({@values t " SLA_TARGETS_MUTABLE "})"
    "   IS DISTINCT FROM ({@values excluded " SLA_TARGETS_MUTABLE "})");
/* clang-format on */

static rowset_stmt claim_sql = ROWSET_STMT(
    sla_record_claims, "INSERT INTO sla.emitted ({@cols}) SELECT {@values u} FROM {@rows $1 u}"
                       " ON CONFLICT DO NOTHING RETURNING event_id");

static PGresult *run(sla *s, consumer_txn *tx, int slot, const char *name, const char *sql,
                     int nparams, const char *const *params)
{
    if (!sql)
        return NULL;
    struct sla_stmt st = {name, sql, nparams};
    return sla_stmt_exec(&s->stmts, consumer_txn_db(tx), slot, &st, params);
}

/* --- reading a ticket's inputs --------------------------------------------------- */

/* Parses "a b[ c],..." lists (string_agg of the read): calls fn per item
 * with its space-separated fields. -1 when fn refuses one. */
static int parse_list(const char *list, int (*fn)(void *arg, char **f, int n), void *arg)
{
    if (!list || !list[0])
        return 0;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -1;
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        char *f[3] = {NULL, NULL, NULL}, *s2 = NULL;
        int n = 0;
        for (char *x = strtok_r(item, " ", &s2); x && n < 3; x = strtok_r(NULL, " ", &s2))
            f[n++] = x;
        rc = fn(arg, f, n);
    }
    free(copy);
    return rc;
}

struct fact_list {
    struct sla_fact *v;
    size_t n, cap;
    int64_t opened_at;
};

static int add_fact(void *arg, char **f, int n)
{
    struct fact_list *l = arg;
    enum sla_fact_kind kind;
    if (n != 2 || sla_fact_kind_parse(f[0], &kind) != 0)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sla_fact *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].kind = kind;
    l->v[l->n].at = strtoll(f[1], NULL, 10);
    if (kind == SLA_FACT_OPENED && !l->opened_at)
        l->opened_at = l->v[l->n].at;
    l->n++;
    return 0;
}

struct emitted_item {
    Carebus__V1__SlaTarget target;
    uint32_t cycle;
    bool breach;
};

struct emitted_list {
    struct emitted_item *v;
    size_t n, cap;
};

static int add_emitted(void *arg, char **f, int n)
{
    struct emitted_list *l = arg;
    Carebus__V1__SlaTarget t;
    if (n != 3 || sla_target_parse(f[0], &t) != 0)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct emitted_item *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] =
        (struct emitted_item){t, (uint32_t)strtoul(f[1], NULL, 10), strcmp(f[2], "breach") == 0};
    return 0;
}

static bool emitted_has(void *arg, Carebus__V1__SlaTarget target, uint32_t cycle, bool breach)
{
    const struct emitted_list *e = arg;
    for (size_t i = 0; i < e->n; i++)
        if (e->v[i].target == target && e->v[i].cycle == cycle && e->v[i].breach == breach)
            return true;
    return false;
}

/* The locked rows (as they were), grouped by ticket: the lock's order
 * keeps a ticket's rows together. */
struct locked {
    PGresult *res; /* the rows' strings point into it */
    struct sla_target *v;
    bool *kept; /* the fold made the row again */
    size_t n;
    hmap first; /* ticket id -> index of its first row */
};

static int read_locked(PGresult *res, struct locked *l)
{
    rowset_reader rd;
    int n = PQntuples(res);
    l->res = res;
    if (rowset_reader_init(&rd, &sla_targets, res) != 0 ||
        !(l->v = calloc((size_t)n + 1, sizeof *l->v)) ||
        !(l->kept = calloc((size_t)n + 1, sizeof *l->kept)))
        return -1;
    for (int i = 0; i < n; i++, l->n++) {
        if (rowset_read(&rd, i, &l->v[i], NULL) != 0)
            return -1;
        if (hmap_gets(&l->first, l->v[i].ticket_id) == HMAP_ABSENT &&
            hmap_puts(&l->first, l->v[i].ticket_id, i) != 0)
            return -1;
    }
    return 0;
}

static void locked_release(struct locked *l)
{
    PQclear(l->res);
    free(l->v);
    free(l->kept);
    hmap_release(&l->first);
}

/* The rows [*from, return) of ticket. */
static size_t locked_rows(const struct locked *l, const char *ticket, size_t *from)
{
    int k = hmap_gets(&l->first, ticket);
    size_t i = k == HMAP_ABSENT ? l->n : (size_t)k;
    *from = i;
    while (i < l->n && strcmp(l->v[i].ticket_id, ticket) == 0)
        i++;
    return i;
}

/* The locked row of (target, cycle) of ticket, or -1. */
static long locked_find(const struct locked *l, const char *ticket, const struct sla_row *r)
{
    size_t i, end = locked_rows(l, ticket, &i);
    for (; i < end; i++)
        if (l->v[i].r.target == r->target && l->v[i].r.cycle == r->cycle)
            return (long)i;
    return -1;
}

/* Would writing t leave the row as it is? Both written out as one row
 * (rowset.h), compared: the description decides, not a list of fields. */
static bool target_same(rowset *a, rowset *b, const struct sla_target *was,
                        const struct sla_target *t)
{
    rowset_clear(a);
    rowset_clear(b);
    rowset_add(a, was);
    rowset_add(b, t);
    const char *x = rowset_json(a), *y = rowset_json(b);
    return x && y && strcmp(x, y) == 0;
}

/* --- the batch's outcome -------------------------------------------------------------- */

/* Tickets recomputed together from which their new target rows go by COPY. */
#define TARGETS_COPY_MIN 64

/* What the fold of all the tickets makes: their target rows, summaries,
 * and the late breaches to claim. */
struct outcome {
    rowset targets, summaries;
    /* The rows no locked row had, when many tickets are recomputed (a
     * catch-up's batch): sent by COPY into sla.targets itself (rowcopy.h)
     * rather than through the write's JSON, whose parsing took as long as
     * the upsert of the rows (json_to_recordset builds a hash table per
     * object). None is there: the rows of the tickets were locked and read
     * whole, and only the consumer holding a ticket's partition inserts
     * them (its lease row lock orders the holders; the timers only update
     * theirs). Were one there all the same, the COPY would fail and the
     * batch roll back; applied again one event per transaction, an event
     * that recomputes fewer tickets than this goes through the write's
     * upsert, one that recomputes more fails again and is skipped
     * (consumer.h). A few tickets save the COPY's round trips. */
    rowcopy fresh;
    bool copying, copy_open;
    rowset gone;       /* the keys of the rows the fold no longer makes */
    rowset was, again; /* scratch of target_same */
    size_t unchanged;
    sla_records late;    /* claims (kind "breach") of targets met late */
    char (*ids)[ID_LEN]; /* event ids of the late breaches */
    char (*customers)[ID_LEN];
    size_t cap_ids;
    size_t nrecomputed; /* the tickets read */
};

static int late_add(struct outcome *o, const char *ticket, const char *customer,
                    const struct sla_row *r)
{
    struct sla_record *x = sla_records_add(&o->late);
    if (!x)
        return -1;
    if (o->late.n > o->cap_ids) {
        size_t cap = o->late.cap;
        char(*ids)[ID_LEN] = realloc(o->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        o->ids = ids;
        char(*cs)[ID_LEN] = realloc(o->customers, cap * sizeof *cs);
        if (!cs)
            return -1;
        o->customers = cs;
        o->cap_ids = cap;
    }
    size_t i = o->late.n - 1;
    sla_event_id(ticket, r->target, r->cycle, "breach", o->ids[i]);
    snprintf(o->customers[i], ID_LEN, "%s", customer ? customer : "");
    snprintf(x->ticket, ID_LEN, "%s", ticket);
    x->kind = SLA_REC_CLAIM;
    x->target = r->target;
    x->cycle = r->cycle;
    x->claim = "breach";
    x->at = r->due_at;
    x->event_id = NULL; /* set once o->ids stops moving */
    return 0;
}

/* Folds one ticket (a row of the read) into o. 0 or -1. */
static int fold_one(sla *s, const PGresult *rd, int row, struct locked *locked, struct outcome *o)
{
    const char *ticket = db_value(rd, row, "ticket_id");
    const char *customer = db_value(rd, row, "customer_id");
    const char *prio_s = db_value(rd, row, "priority");
    prio_s = prio_s ? prio_s : "normal";
    const char *cur_s = db_value(rd, row, "current_priority");
    cur_s = cur_s ? cur_s : prio_s;
    const char *seg_s = db_value(rd, row, "segment");
    seg_s = seg_s ? seg_s : "regular";
    const char *closed_s = db_value(rd, row, "closed_us");
    int64_t closed_at = closed_s ? strtoll(closed_s, NULL, 10) : 0;
    struct fact_list facts = {NULL, 0, 0, 0};
    struct emitted_list em = {NULL, 0, 0};
    int rc = -1;
    if (parse_list(db_value(rd, row, "facts"), add_fact, &facts) != 0 ||
        parse_list(db_value(rd, row, "emitted"), add_emitted, &em) != 0) {
        log_error("ticket %s: could not read its facts", ticket);
        goto out;
    }
    Carebus__V1__Priority prio;
    Carebus__V1__Segment seg;
    if (event_priority_parse(prio_s, &prio) != 0)
        prio = CAREBUS__V1__PRIORITY__PRIORITY_NORMAL;
    if (event_segment_parse(seg_s, &seg) != 0)
        seg = CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
    assert(s->cfg && "the consumer starts once the configuration is loaded");
    struct sla_policy chosen;
    sla_config_select(s->cfg, seg, db_value(rd, row, "team_sla_policy"),
                      db_value(rd, row, "team_calendar"), &chosen);
    const struct sla_policy *pol = &chosen;
    struct sla_fold_in in = {
        .facts = facts.v,
        .nfacts = facts.n,
        .policy = pol,
        .priority = prio,
        .emitted = emitted_has,
        .arg = &em,
    };
    if (sla_fold(&in, &s->rows) != 0)
        goto out;
    for (size_t i = 0; i < s->rows.n; i++) {
        const struct sla_row *r = &s->rows.v[i];
        struct sla_target t = {.r = *r,
                               .policy_id = pol->id,
                               .calendar_id = pol->cal->id,
                               .priority = event_priority_name(prio),
                               .segment = event_segment_name(seg)};
        snprintf(t.ticket_id, sizeof t.ticket_id, "%s", ticket);
        long k = locked_find(locked, ticket, r);
        if (k >= 0)
            locked->kept[k] = true;
        if (k < 0 && o->copying)
            rowcopy_row(&o->fresh, &t);
        else if (k < 0 || !target_same(&o->was, &o->again, &locked->v[k], &t))
            rowset_add(&o->targets, &t);
        else
            o->unchanged++;
        if (r->next_fire_at && (k < 0 || locked->v[k].r.next_fire_at != r->next_fire_at))
            sla_timers_push(s, ticket, r->target, r->cycle, r->next_fire_at);
        if (r->breached && r->status != SLA_RUNNING && r->due_at &&
            !emitted_has(&em, r->target, r->cycle, true) && late_add(o, ticket, customer, r) != 0)
            goto out;
    }
    struct summary sm = {.opened_at = facts.opened_at,
                         .closed_at = closed_at,
                         .priority = cur_s,
                         .segment = event_segment_name(seg),
                         .policy_id = pol->id,
                         .calendar_id = pol->cal->id,
                         .team = db_value(rd, row, "team")};
    snprintf(sm.ticket_id, sizeof sm.ticket_id, "%s", ticket);
    rowset_add(&o->summaries, &sm);
    size_t i, end = locked_rows(locked, ticket, &i);
    for (; i < end; i++)
        if (!locked->kept[i])
            rowset_add(&o->gone, &locked->v[i]);
    o->nrecomputed++;
    rc = 0;
out:
    free(facts.v);
    free(em.v);
    return rc;
}

/* Claims the late breaches and emits those this instance claimed. */
static consumer_result emit_late(sla *s, consumer_txn *tx, struct outcome *o,
                                 const char *(*cause_of)(void *arg, const char *ticket), void *arg)
{
    rowset w;
    rowset_init(&w, &sla_record_claims, NULL);
    for (size_t i = 0; i < o->late.n; i++) {
        o->late.v[i].event_id = o->ids[i];
        rowset_add(&w, &o->late.v[i]);
    }
    const char *params[] = {rowset_json(&w)};
    PGresult *res = params[0] ? run(s, tx, SLA_ST_LATE_CLAIM, "sla_late_claim",
                                    rowset_stmt_sql(&claim_sql), 1, params)
                              : NULL;
    rowset_release(&w);
    if (!res)
        return CONSUMER_RETRY;
    consumer_result rc = CONSUMER_OK;
    for (int k = 0; k < PQntuples(res) && rc == CONSUMER_OK; k++) {
        const char *id = db_value(res, k, "event_id");
        size_t i = 0;
        while (i < o->late.n && strcmp(o->ids[i], id) != 0)
            i++;
        if (i == o->late.n)
            continue;
        const struct sla_record *x = &o->late.v[i];
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        event_ts_set(&ts, x->at);
        Carebus__V1__SlaBreach b = CAREBUS__V1__SLA_BREACH__INIT;
        b.target = x->target;
        b.due_at = &ts;
        b.cycle = x->cycle;
        event e = CAREBUS__V1__ENVELOPE__INIT;
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH;
        e.sla_breach = &b;
        e.event_id = o->ids[i];
        e.causation_id = (char *)cause_of(arg, x->ticket);
        e.occurred_at = &ts;
        e.ticket_id = (char *)x->ticket;
        e.customer_id = o->customers[i];
        if (consumer_emit(tx, &e) != 0) {
            rc = CONSUMER_RETRY;
            break;
        }
        metrics_add("carebus_sla_breaches_total{path=\"late\"}", 1);
        log_info("ticket %s: %s (cycle %u) was met after its deadline: breach published", x->ticket,
                 sla_target_name(x->target), x->cycle);
    }
    PQclear(res);
    return rc;
}

consumer_result sla_recompute(sla *s, consumer_txn *tx, const char *const *tickets, size_t n,
                              const char *(*cause_of)(void *arg, const char *ticket), void *arg)
{
    if (!n)
        return CONSUMER_OK;
    consumer_result rc = CONSUMER_RETRY;
    buf ids = BUF_INIT;
    rowset_keys(&ids, tickets, n);
    const char *p1[] = {buf_str(&ids)};
    PGresult *lock = NULL, *rd = NULL;
    struct locked locked = {.first = HMAP_INIT};
    struct outcome o = {0};
    rowset_init(&o.targets, &sla_targets, NULL);
    rowset_init(&o.summaries, &summaries, NULL);
    rowset_init(&o.gone, &sla_targets, NULL);
    rowset_only(&o.gone, TARGET_KEY);
    rowset_init(&o.was, &sla_targets, NULL);
    rowset_init(&o.again, &sla_targets, NULL);
    if (ids.failed ||
        !(lock = run(s, tx, SLA_ST_LOCK, "sla_lock_many", rowset_stmt_sql(&lock_sql), 1, p1)))
        goto out;
    if (read_locked(lock, &locked) != 0 ||
        !(rd = run(s, tx, SLA_ST_READ, "sla_read_many", READ_SQL, 1, p1)))
        goto out;
    o.copying = PQntuples(rd) >= TARGETS_COPY_MIN && db_conn(consumer_txn_db(tx));
    if (o.copying) {
        rowcopy_begin(&o.fresh, db_conn(consumer_txn_db(tx)), &sla_targets, NULL, NULL);
        o.copy_open = true;
    }
    for (int i = 0; i < PQntuples(rd); i++)
        if (fold_one(s, rd, i, &locked, &o) != 0)
            goto out;
    o.copy_open = false;
    if (o.copying && rowcopy_end(&o.fresh) != 0)
        goto out;
    if (!o.nrecomputed) {
        rc = CONSUMER_OK; /* nothing known about them yet */
        goto out;
    }
    const char *p3[] = {rowset_json(&o.targets), rowset_json(&o.gone), rowset_json(&o.summaries),
                        p1[0]};
    PGresult *w = p3[0] && p3[1] && p3[2] ? run(s, tx, SLA_ST_WRITE, "sla_write_many",
                                                rowset_stmt_sql(&write_sql), 4, p3)
                                          : NULL;
    if (!w)
        goto out;
    PQclear(w);
    rc = o.late.n ? emit_late(s, tx, &o, cause_of, arg) : CONSUMER_OK;
    if (rc == CONSUMER_OK) {
        metrics_add("carebus_sla_target_rows_total{outcome=\"written\"}",
                    (double)(rowset_count(&o.targets) + (o.copying ? o.fresh.rows : 0)));
        metrics_add("carebus_sla_target_rows_total{outcome=\"unchanged\"}", (double)o.unchanged);
        metrics_add("carebus_sla_target_rows_total{outcome=\"deleted\"}",
                    (double)rowset_count(&o.gone));
    }
out:
    if (o.copy_open) { /* a row could not be made: nothing of the COPY lands */
        rowcopy_fail(&o.fresh);
        rowcopy_end(&o.fresh);
    }
    buf_release(&ids);
    if (locked.res)
        locked_release(&locked);
    else
        PQclear(lock);
    PQclear(rd);
    rowset_release(&o.targets);
    rowset_release(&o.summaries);
    rowset_release(&o.gone);
    rowset_release(&o.was);
    rowset_release(&o.again);
    sla_records_release(&o.late);
    free(o.ids);
    free(o.customers);
    return rc;
}
