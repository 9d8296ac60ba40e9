/* test_model.c — states from events, and the KPI sums they contribute.
 *
 * The property analytics rests on: whatever the interleaving of its four
 * streams (each kept in order), the states and the sums are the same, and
 * the live path's "subtract before, add after" per event, or per batch
 * over the batch's footprint only, ends where one final computation ends.
 * Checked here over many interleavings of a small scenario, plus the
 * states' JSON round trip and the histogram packing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "contrib.h"
#include "footprint.h"
#include "kpi.h"
#include "model.h"
#include "timeutil.h"

#define T1 "11111111-1111-4111-8111-111111111111"
#define T2 "22222222-2222-4222-8222-222222222222"
#define CA "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define CB "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

static timebase *cal;

static int setup(void **state)
{
    (void)state;
    char err[256];
    cal = timebase_new("Asia/Ho_Chi_Minh", "mon-fri 08:00-17:00", "", err, sizeof err);
    return cal ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    timebase_destroy(&cal);
    return 0;
}

/* --- building events ---------------------------------------------------------- */

static event *owned(event *e, const char *stream, uint64_t seq)
{
    size_t len;
    uint8_t *bytes = event_pack(e, &len);
    assert_non_null(bytes);
    event *copy = event_unpack(bytes, len);
    free(bytes);
    assert_non_null(copy);
    assert_int_equal(event_set_str(&copy->stream, stream), 0);
    copy->seq = seq;
    return copy;
}

/* Envelope fields every event shares; body set by the caller. */
static event *mk(event *e, const char *stream, uint64_t seq, const char *when, const char *ticket,
                 const char *customer)
{
    static int n;
    char id[ID_LEN];
    char name[32];
    snprintf(name, sizeof name, "ev-%d", ++n);
    id_derive(name, id);
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    int64_t us;
    assert_int_equal(time_parse_rfc3339(when, &us), 0);
    event_ts_set(&ts, us);
    e->event_id = id;
    e->type = (char *)event_type_name(e->body_case);
    e->occurred_at = &ts;
    e->ticket_id = (char *)(ticket ? ticket : "");
    e->customer_id = (char *)(customer ? customer : "");
    return owned(e, stream, seq);
}

#define MAX_EVENTS 64
struct streams {
    event *v[4][MAX_EVENTS];
    size_t n[4];
};

static void push(struct streams *s, int rank, event *e)
{
    assert_true(s->n[rank] < MAX_EVENTS);
    s->v[rank][s->n[rank]++] = e;
}

static void router_ev(struct streams *s, const char *when, const char *t, const char *c, event *e)
{
    push(s, RANK_ROUTER, mk(e, "router", s->n[RANK_ROUTER] + 1, when, t, c));
}

static void build(struct streams *s)
{
    memset(s, 0, sizeof *s);
    event e;
    /* ingest: profile of CB (VIP), replies, pending; CA churned on day 2 */
    {
        Carebus__V1__CustomerProfileUpdated b = CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__INIT;
        b.segment = CAREBUS__V1__SEGMENT__SEGMENT_VIP;
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED;
        e.customer_profile_updated = &b;
        push(s, RANK_INGEST, mk(&e, "ingest", 1, "2026-03-02T08:00:00+07:00", NULL, CB));
    }
    const char *replies[][2] = {{T1, "2026-03-02T09:10:00+07:00"},
                                {T2, "2026-03-02T10:30:00+07:00"},
                                {T2, "2026-03-02T11:20:00+07:00"},
                                {T1, "2026-03-03T14:30:00+07:00"}};
    for (size_t i = 0; i < 4; i++) {
        Carebus__V1__AgentReplied b = CAREBUS__V1__AGENT_REPLIED__INIT;
        b.agent_id = "a1";
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
        e.agent_replied = &b;
        push(s, RANK_INGEST,
             mk(&e, "ingest", s->n[RANK_INGEST] + 1, replies[i][1], replies[i][0], NULL));
    }
    {
        Carebus__V1__TicketStatusChanged b = CAREBUS__V1__TICKET_STATUS_CHANGED__INIT;
        b.status = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING;
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED;
        e.ticket_status_changed = &b;
        push(s, RANK_INGEST,
             mk(&e, "ingest", s->n[RANK_INGEST] + 1, "2026-03-02T11:30:00+07:00", T2, NULL));
    }
    {
        Carebus__V1__CustomerProfileUpdated b = CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__INIT;
        b.status = CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED;
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED;
        e.customer_profile_updated = &b;
        push(s, RANK_INGEST,
             mk(&e, "ingest", s->n[RANK_INGEST] + 1, "2026-03-03T18:00:00+07:00", NULL, CA));
    }
    /* router: T1 (CA, zalo) solved, reopened, solved; T2 (CB, email) transferred */
    {
        Carebus__V1__TicketOpened b = CAREBUS__V1__TICKET_OPENED__INIT;
        b.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED;
        e.ticket_opened = &b;
        router_ev(s, "2026-03-02T09:00:00+07:00", T1, CA, &e);
        b.channel = CAREBUS__V1__CHANNEL__CHANNEL_EMAIL;
        router_ev(s, "2026-03-02T10:00:00+07:00", T2, CB, &e);
    }
    const struct {
        const char *t, *c, *when;
        Carebus__V1__Channel ch;
    } contacts[] = {{T1, CA, "2026-03-02T09:00:00+07:00", CAREBUS__V1__CHANNEL__CHANNEL_ZALO},
                    {T2, CB, "2026-03-02T10:00:00+07:00", CAREBUS__V1__CHANNEL__CHANNEL_EMAIL},
                    {T2, CB, "2026-03-02T11:00:00+07:00", CAREBUS__V1__CHANNEL__CHANNEL_PHONE},
                    {T1, CA, "2026-03-03T14:00:00+07:00", CAREBUS__V1__CHANNEL__CHANNEL_ZALO}};
    for (size_t i = 0; i < 4; i++) {
        Carebus__V1__TicketContactAdded b = CAREBUS__V1__TICKET_CONTACT_ADDED__INIT;
        b.channel = contacts[i].ch;
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED;
        e.ticket_contact_added = &b;
        router_ev(s, contacts[i].when, contacts[i].t, contacts[i].c, &e);
    }
    {
        Carebus__V1__TicketAssigned b = CAREBUS__V1__TICKET_ASSIGNED__INIT;
        b.team = "support";
        b.agent_id = "a1";
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED;
        e.ticket_assigned = &b;
        router_ev(s, "2026-03-02T09:00:00+07:00", T1, CA, &e);
        Carebus__V1__TicketTransferred tr = CAREBUS__V1__TICKET_TRANSFERRED__INIT;
        tr.to_team = "complaints";
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFERRED;
        e.ticket_transferred = &tr;
        router_ev(s, "2026-03-02T12:00:00+07:00", T2, CB, &e);
        Carebus__V1__TicketSolved so = CAREBUS__V1__TICKET_SOLVED__INIT;
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED;
        e.ticket_solved = &so;
        router_ev(s, "2026-03-02T10:00:00+07:00", T1, CA, &e);
        Carebus__V1__TicketReopened re = CAREBUS__V1__TICKET_REOPENED__INIT;
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED;
        e.ticket_reopened = &re;
        router_ev(s, "2026-03-03T14:00:00+07:00", T1, CA, &e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED;
        e.ticket_solved = &so;
        router_ev(s, "2026-03-04T09:00:00+07:00", T1, CA, &e);
        Carebus__V1__CustomerMerged mg = CAREBUS__V1__CUSTOMER_MERGED__INIT;
        mg.survivor_id = CB;
        mg.merged_id = CA;
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED;
        e.customer_merged = &mg;
        router_ev(s, "2026-03-04T12:00:00+07:00", NULL, CB, &e);
    }
    /* sla: an NR breach inside T2's 11:00-11:20 cycle, a FR breach on T1 (late) */
    {
        Carebus__V1__SlaBreach b = CAREBUS__V1__SLA_BREACH__INIT;
        b.target = CAREBUS__V1__SLA_TARGET__SLA_TARGET_NEXT_RESPONSE;
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH;
        e.sla_breach = &b;
        push(s, RANK_SLA, mk(&e, "sla", 1, "2026-03-02T11:15:00+07:00", T2, NULL));
        b.target = CAREBUS__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE;
        push(s, RANK_SLA, mk(&e, "sla", 2, "2026-03-02T09:05:00+07:00", T1, NULL));
    }
    /* survey: T1 asked and answered (no ticket id on the answer) */
    {
        Carebus__V1__SurveyRequested b = CAREBUS__V1__SURVEY_REQUESTED__INIT;
        b.survey_id = "s-1";
        carebus__v1__envelope__init(&e);
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_SURVEY_REQUESTED;
        e.survey_requested = &b;
        push(s, RANK_SURVEY, mk(&e, "survey", 1, "2026-03-02T10:00:00+07:00", T1, CA));
        Carebus__V1__SurveyAnswered a = CAREBUS__V1__SURVEY_ANSWERED__INIT;
        Google__Protobuf__Int32Value csat = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
        csat.value = 4;
        a.survey_id = "s-1";
        a.csat = &csat;
        a.comment = "r\xc3\xa5t \xff ok"; /* one invalid byte */
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED;
        e.survey_answered = &a;
        push(s, RANK_SURVEY, mk(&e, "survey", 2, "2026-03-02T11:00:00+07:00", NULL, CA));
    }
}

static void streams_free(struct streams *s)
{
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < s->n[k]; i++)
            event_destroy(&s->v[k][i]);
}

/* --- running an order ------------------------------------------------------------- */

static void contribute(agg *a, model *m, int sign)
{
    model_resolve_segments(m);
    size_t nt, nc;
    model_ticket **ts = model_tickets(m, &nt);
    for (size_t i = 0; i < nt; i++) {
        struct ticket_facts f;
        contrib_facts(cal, ts[i], model_segment_of(m, ts[i]->customer), &f);
        assert_int_equal(contrib_ticket(a, cal, ts[i], &f, sign), 0);
    }
    model_customer **cs = model_customers(m, &nc);
    for (size_t i = 0; i < nc; i++) {
        if (strcmp(cs[i]->root, cs[i]->id) != 0)
            continue;
        model_customer *members[16];
        size_t k = 0;
        for (size_t j = 0; j < nc; j++)
            if (strcmp(cs[j]->root, cs[i]->id) == 0)
                members[k++] = cs[j];
        assert_int_equal(contrib_customer(a, cal, members, k, model_segment_of(m, cs[i]->id), sign),
                         0);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A canonical text of the states and of the non-zero sums. */
static char *digest(model *m, agg *a)
{
    size_t n;
    char *lines[4096];
    size_t k = 0;
    model_ticket **ts = model_tickets(m, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *j = model_ticket_json(ts[i]);
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        assert_non_null(s);
        assert_int_not_equal(asprintf(&lines[k++], "T %s %s", ts[i]->id, s), -1);
        free(s);
    }
    model_customer **cs = model_customers(m, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *j = model_customer_json(cs[i]);
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        assert_int_not_equal(
            asprintf(&lines[k++], "C %s %s %s %s", cs[i]->id, cs[i]->root, cs[i]->merged_into, s),
            -1);
        free(s);
    }
    agg_entry **es = agg_entries(a, &n);
    for (size_t i = 0; i < n; i++) {
        if (agg_entry_zero(es[i]))
            continue;
        buf b = BUF_INIT;
        buf_printf(&b, "D %d %d %s", es[i]->dim, es[i]->day, es[i]->key);
        for (int x = 0; x < M_COUNT; x++)
            buf_printf(&b, " %lld", (long long)es[i]->m[x]);
        for (int x = 0; es[i]->hist && x < H_COUNT * HIST_BUCKETS; x++)
            if (es[i]->hist[x])
                buf_printf(&b, " h%d=%lld", x, (long long)es[i]->hist[x]);
        lines[k++] = buf_detach(&b, NULL);
        assert_true(k < 4096);
    }
    qsort(lines, k, sizeof lines[0], cmp_str);
    buf out = BUF_INIT;
    for (size_t i = 0; i < k; i++) {
        buf_puts(&out, lines[i]);
        buf_putc(&out, '\n');
        free(lines[i]);
    }
    return buf_detach(&out, NULL);
}

/* Applies the streams in the order given by picks (a stream index per
 * step); live: subtract/apply/add per event, else one final computation. */
static char *run(const struct streams *s, const int *picks, size_t npicks, bool live)
{
    model *m = model_new();
    agg *a = agg_new();
    size_t at[4] = {0};
    for (size_t i = 0; i < npicks; i++) {
        int k = picks[i];
        const event *e = s->v[k][at[k]++];
        if (live)
            contribute(a, m, -1);
        assert_true(model_apply(m, e, model_event_time(e)) >= 0);
        if (live)
            contribute(a, m, +1);
    }
    if (!live)
        contribute(a, m, +1);
    char *d = digest(m, a);
    agg_destroy(&a);
    model_destroy(&m);
    return d;
}

/* The live path's way (store.h): batches of 1 to 12 events applied to one
 * model kept across them; before each batch the contributions of its
 * footprint are subtracted, after it added back (footprint.h). */
static char *run_batches(const struct streams *s, const int *picks, size_t npicks, unsigned *seed)
{
    model *m = model_new();
    agg *a = agg_new();
    footprint f;
    footprint_init(&f);
    size_t at[4] = {0};
    struct model_item items[12];
    for (size_t i = 0; i < npicks;) {
        *seed = *seed * 1103515245u + 12345u;
        size_t n = 1 + (*seed >> 16) % 12, k = 0;
        if (n > npicks - i)
            n = npicks - i;
        for (size_t j = 0; j < n; j++) {
            const event *e = s->v[picks[i + j]][at[picks[i + j]]++];
            if (!model_refs_of(e, &items[k].r))
                continue;
            items[k].ev = e;
            items[k].at = model_event_time(e);
            k++;
        }
        assert_int_equal(footprint_before(&f, m, items, k), 0);
        assert_int_equal(footprint_contribute(&f, a, cal, m, -1), 0);
        for (size_t j = 0; j < k; j++)
            assert_true(model_apply_refs(m, items[j].ev, &items[j].r, items[j].at) >= 0);
        assert_int_equal(footprint_after(&f, m), 0);
        assert_int_equal(footprint_contribute(&f, a, cal, m, +1), 0);
        footprint_settle(&f);
        i += n;
    }
    /* Settled: no entity is left marked. */
    size_t nt, nc;
    model_ticket **ts = model_tickets(m, &nt);
    model_customer **cs = model_customers(m, &nc);
    for (size_t i = 0; i < nt; i++)
        assert_int_equal(ts[i]->mark, 0);
    for (size_t i = 0; i < nc; i++)
        assert_int_equal(cs[i]->mark, 0);
    char *d = digest(m, a);
    footprint_release(&f);
    agg_destroy(&a);
    model_destroy(&m);
    return d;
}

static size_t order_streams(const struct streams *s, const int *rank_order, int *picks)
{
    size_t n = 0;
    for (int r = 0; r < 4; r++)
        for (size_t i = 0; i < s->n[rank_order[r]]; i++)
            picks[n++] = rank_order[r];
    return n;
}

static void test_any_interleaving_gives_the_same_state_and_sums(void **state)
{
    (void)state;
    struct streams s;
    build(&s);
    int picks[4 * MAX_EVENTS];
    static const int forward[] = {0, 1, 2, 3}, backward[] = {3, 2, 1, 0};
    size_t n = order_streams(&s, forward, picks);
    char *ref = run(&s, picks, n, false);
    char *live = run(&s, picks, n, true);
    assert_string_equal(ref, live);
    free(live);
    order_streams(&s, backward, picks);
    char *back = run(&s, picks, n, true);
    assert_string_equal(ref, back);
    free(back);
    /* Random interleavings (each stream kept in order), fixed seed. */
    unsigned seed = 12345;
    for (int round = 0; round < 40; round++) {
        size_t left[4];
        memcpy(left, s.n, sizeof left);
        size_t k = 0;
        while (k < n) {
            seed = seed * 1103515245u + 12345u;
            int r = (int)((seed >> 16) % 4);
            if (!left[r])
                continue;
            left[r]--;
            picks[k++] = r;
        }
        char *d = run(&s, picks, n, round % 2 == 0);
        assert_string_equal(ref, d);
        free(d);
    }
    free(ref);
    streams_free(&s);
}

/* A batch recounts only its footprint, not everything the model holds:
 * whatever the batches and the interleaving, the sums end where one final
 * computation ends. */
static void test_batches_recounting_their_footprint_give_the_same_sums(void **state)
{
    (void)state;
    struct streams s;
    build(&s);
    int picks[4 * MAX_EVENTS];
    static const int forward[] = {0, 1, 2, 3}, backward[] = {3, 2, 1, 0};
    size_t n = order_streams(&s, forward, picks);
    char *ref = run(&s, picks, n, false);
    unsigned seed = 777;
    char *d = run_batches(&s, picks, n, &seed);
    assert_string_equal(ref, d);
    free(d);
    order_streams(&s, backward, picks);
    d = run_batches(&s, picks, n, &seed);
    assert_string_equal(ref, d);
    free(d);
    for (int round = 0; round < 40; round++) {
        size_t left[4];
        memcpy(left, s.n, sizeof left);
        size_t k = 0;
        while (k < n) {
            seed = seed * 1103515245u + 12345u;
            int r = (int)((seed >> 16) % 4);
            if (!left[r])
                continue;
            left[r]--;
            picks[k++] = r;
        }
        d = run_batches(&s, picks, n, &seed);
        assert_string_equal(ref, d);
        free(d);
    }
    free(ref);
    streams_free(&s);
}

static void test_facts_of_the_scenario(void **state)
{
    (void)state;
    struct streams s;
    build(&s);
    int picks[4 * MAX_EVENTS];
    static const int order[] = {3, 2, 0, 1};
    size_t n = order_streams(&s, order, picks);
    model *m = model_new();
    size_t at[4] = {0};
    for (size_t i = 0; i < n; i++) {
        const event *e = s.v[picks[i]][at[picks[i]]++];
        assert_true(model_apply(m, e, model_event_time(e)) >= 0);
    }
    model_resolve_segments(m);
    model_ticket *t1 = model_ticket_get(m, T1), *t2 = model_ticket_get(m, T2);
    assert_non_null(t1);
    assert_non_null(t2);
    /* CA merged into CB: T1 now counts under CB's segment, VIP. */
    assert_int_equal(model_segment_of(m, CA), CAREBUS__V1__SEGMENT__SEGMENT_VIP);
    assert_string_equal(model_customer_get(m, CA)->root, CB);
    struct ticket_facts f;
    contrib_facts(cal, t1, model_segment_of(m, t1->customer), &f);
    assert_true(f.fr_ms == 600000);                           /* 09:00 -> 09:10 */
    assert_true(f.res_ms == (48 * 3600 + 0) * INT64_C(1000)); /* to the second solve */
    assert_true(f.resb_ms == 18 * 3600 * INT64_C(1000));      /* 8 + 9 + 1 business hours */
    assert_false(f.fcr);                                      /* reopened */
    assert_true(f.fr_breached);                               /* a breach, even if late */
    assert_int_equal(f.nr_total, 1);                          /* 14:00 contact, 14:30 reply */
    assert_int_equal(f.nr_met, 1);
    assert_int_equal(f.status, TS_SOLVED);
    assert_string_equal(f.dims[DIM_SEGMENT], "vip");
    contrib_facts(cal, t2, model_segment_of(m, t2->customer), &f);
    assert_int_equal(f.status, TS_PENDING);
    assert_true(f.solved_at == MODEL_NONE);
    assert_int_equal(f.nr_total, 1); /* the cycle with the breach */
    assert_int_equal(f.nr_met, 0);
    assert_string_equal(f.dims[DIM_TEAM], "complaints");
    assert_string_equal(f.dims[DIM_AGENT], "");
    /* The survey answered without a ticket id found its ticket; the bad
     * byte of the comment became '?'. */
    assert_int_equal(t1->nsurveys, 1);
    assert_int_equal(t1->surveys[0].csat, 4);
    assert_int_equal(t1->surveys[0].ces, -1);
    assert_string_equal(t1->surveys[0].comment, "r\xc3\xa5t ? ok");
    model_destroy(&m);
    streams_free(&s);
}

static void test_states_survive_json(void **state)
{
    (void)state;
    struct streams s;
    build(&s);
    model *m = model_new();
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < s.n[k]; i++)
            assert_true(model_apply(m, s.v[k][i], model_event_time(s.v[k][i])) >= 0);
    model *copy = model_new();
    size_t n;
    model_ticket **ts = model_tickets(m, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *j = model_ticket_json(ts[i]);
        model_ticket *t = model_ticket_make(copy, ts[i]->id);
        assert_int_equal(model_ticket_from_json(t, j), 0);
        json_t *j2 = model_ticket_json(t);
        assert_true(json_equal(j, j2));
        json_decref(j);
        json_decref(j2);
    }
    model_customer **cs = model_customers(m, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *j = model_customer_json(cs[i]);
        model_customer *c = model_customer_make(copy, cs[i]->id);
        assert_int_equal(model_customer_from_json(c, j), 0);
        json_t *j2 = model_customer_json(c);
        assert_true(json_equal(j, j2));
        json_decref(j);
        json_decref(j2);
    }
    json_t *bad = json_pack("{s:i}", "v", 2);
    model_ticket *t = model_ticket_make(copy, T1);
    assert_int_equal(model_ticket_from_json(t, bad), -1);
    json_decref(bad);
    model_destroy(&copy);
    model_destroy(&m);
    streams_free(&s);
}

static void test_histogram_packing_and_percentile_ranks(void **state)
{
    (void)state;
    /* Buckets: below 1 s, then 8 per octave, monotonic. */
    assert_int_equal(contrib_bucket(0), 0);
    assert_int_equal(contrib_bucket(999), 0);
    assert_int_equal(contrib_bucket(1000), 1);
    assert_int_equal(contrib_bucket(2000), 9);
    int prev = 0;
    for (int64_t ms = 0; ms < INT64_C(1) << 33; ms = ms * 3 / 2 + 7) {
        int b = contrib_bucket(ms);
        assert_true(b >= prev && b < HIST_BUCKETS);
        assert_true(contrib_bucket_floor(b) <= ms);
        prev = b;
    }
    int32_t counts[HIST_BUCKETS] = {0};
    int64_t back[HIST_BUCKETS];
    counts[0] = 7;
    counts[9] = 123456;
    counts[HIST_BUCKETS - 1] = 2;
    char text[HIST_TEXT_MAX];
    contrib_hist_pack(counts, text);
    assert_int_equal(contrib_hist_unpack(text, back), 0);
    for (int b = 0; b < HIST_BUCKETS; b++)
        assert_int_equal(back[b], counts[b]);
    assert_int_equal(contrib_hist_unpack("-5", back), -1);
    assert_int_equal(contrib_hist_unpack("1.5", back), -1);
    /* A difference (the live path's delta): the signed number that turns
     * one histogram into the other when added. */
    int32_t delta[HIST_BUCKETS] = {0};
    delta[0] = -7;
    delta[1] = 2;
    contrib_hist_pack(delta, text);
    assert_string_equal(text, "1999993");
    delta[0] = 5;
    delta[1] = -1;
    contrib_hist_pack(delta, text);
    assert_string_equal(text, "-999995");
    delta[1] = 0;
    delta[2] = -3;
    delta[3] = 1;
    contrib_hist_pack(delta, text);
    assert_string_equal(text, "999997000000000005");
    delta[0] = -999999;
    delta[1] = 999999;
    delta[2] = delta[3] = 0;
    delta[HIST_BUCKETS - 1] = -1;
    contrib_hist_pack(delta, text);
    assert_int_equal(strlen(text), 1 + (HIST_BUCKETS - 1) * HIST_FIELD_DIGITS);
    assert_true(strncmp(text, "-999999", 7) == 0);
    assert_string_equal(text + strlen(text) - 12, "000001999999");
    /* 10 values: 1 in bucket 2, 8 in bucket 5, 1 in bucket 9. p90's ranks
     * are 8 and 9 (0.9 x 9 = 8.1): the last of bucket 5, the one of 9. */
    int32_t h[HIST_BUCKETS] = {0};
    h[2] = 1;
    h[5] = 8;
    h[9] = 1;
    contrib_hist_pack(h, text);
    int blo, bhi;
    long long olo, ohi;
    assert_true(kpi_locate(text, 10, &blo, &olo, &bhi, &ohi));
    assert_int_equal(blo, 5);
    assert_int_equal(olo, 7);
    assert_int_equal(bhi, 9);
    assert_int_equal(ohi, 0);
    /* A count that does not match (an overflowed field) is refused. */
    assert_false(kpi_locate(text, 11, &blo, &olo, &bhi, &ohi));
    assert_true(kpi_locate("1", 1, &blo, &olo, &bhi, &ohi));
    assert_int_equal(blo, 0);
    assert_int_equal(bhi, 0);
}

static int64_t sum_measure(agg *a, int dim, int m)
{
    size_t n;
    agg_entry **es = agg_entries(a, &n);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (es[i]->dim == dim)
            total += es[i]->m[m];
    return total;
}

static void test_a_ticket_merged_into_another_is_not_a_ticket_of_its_own(void **state)
{
    (void)state;
    model *m = model_new();
    event e;
    Carebus__V1__TicketOpened op = CAREBUS__V1__TICKET_OPENED__INIT;
    op.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    carebus__v1__envelope__init(&e);
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED;
    e.ticket_opened = &op;
    event *evs[4];
    evs[0] = mk(&e, "router", 1, "2026-03-02T09:00:00+07:00", T1, CA);
    Carebus__V1__TicketContactAdded ca = CAREBUS__V1__TICKET_CONTACT_ADDED__INIT;
    ca.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED;
    e.ticket_contact_added = &ca;
    evs[1] = mk(&e, "router", 2, "2026-03-02T09:00:00+07:00", T1, CA);
    Carebus__V1__AgentReplied rp = CAREBUS__V1__AGENT_REPLIED__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    e.agent_replied = &rp;
    evs[2] = mk(&e, "ingest", 1, "2026-03-02T09:10:00+07:00", T1, NULL);
    Carebus__V1__TicketClosed cl = CAREBUS__V1__TICKET_CLOSED__INIT;
    cl.merged_into_ticket_id = T2;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED;
    e.ticket_closed = &cl;
    evs[3] = mk(&e, "router", 3, "2026-03-02T12:00:00+07:00", T1, CA);
    for (int i = 0; i < 4; i++)
        assert_int_equal(model_apply(m, evs[i], model_event_time(evs[i])), 0);
    model_ticket *t = model_ticket_get(m, T1);
    assert_string_equal(t->merged_into, T2);
    struct ticket_facts f;
    model_resolve_segments(m);
    contrib_facts(cal, t, model_segment_of(m, t->customer), &f);
    assert_true(f.merged);
    assert_true(f.solved_at == MODEL_NONE); /* the merge is no resolution */
    assert_int_equal(f.status, TS_CLOSED);
    agg *a = agg_new();
    assert_int_equal(contrib_ticket(a, cal, t, &f, +1), 0);
    assert_true(sum_measure(a, DIM_ALL, M_CONTACTS) == 1);
    assert_true(sum_measure(a, DIM_ALL, M_TICKETS_CREATED) == 0);
    assert_true(sum_measure(a, DIM_ALL, M_TICKETS_SOLVED) == 0);
    assert_true(sum_measure(a, DIM_ALL, M_FR_COUNT) == 0);
    assert_true(sum_measure(a, DIM_ALL, M_SLA_FR_TOTAL) == 0);
    /* open from 09:00 to 12:00 on one day: no backlog at any day's end */
    assert_true(sum_measure(a, DIM_ALL, M_BL_OPEN_0) == 0);
    /* and the state keeps the merge through JSON */
    json_t *j = model_ticket_json(t);
    model_ticket *copy = model_ticket_make(m, T2);
    assert_int_equal(model_ticket_from_json(copy, j), 0);
    assert_string_equal(copy->merged_into, T2);
    json_decref(j);
    agg_destroy(&a);
    /* An unmerge reopens it (nothing else reopens a closed ticket): a
     * ticket of its own again. */
    Carebus__V1__TicketReopened ro = CAREBUS__V1__TICKET_REOPENED__INIT;
    ro.contact_event_id = "";
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED;
    e.ticket_reopened = &ro;
    event *re = mk(&e, "router", 4, "2026-03-02T13:00:00+07:00", T1, CA);
    assert_int_equal(model_apply(m, re, model_event_time(re)), 0);
    t = model_ticket_get(m, T1);
    assert_string_equal(t->merged_into, "");
    contrib_facts(cal, t, model_segment_of(m, t->customer), &f);
    assert_false(f.merged);
    a = agg_new();
    assert_int_equal(contrib_ticket(a, cal, t, &f, +1), 0);
    assert_true(sum_measure(a, DIM_ALL, M_TICKETS_CREATED) == 1);
    agg_destroy(&a);
    event_destroy(&re);
    for (int i = 0; i < 4; i++)
        event_destroy(&evs[i]);
    model_destroy(&m);
}

/* A log written before every id was made canonical may spell one in upper
 * case: it names the same ticket and customer as the lower-case spelling
 * (the model's maps and its stored rows key on the lower case). */
static void test_an_id_in_upper_case_names_the_same_ticket_and_customer(void **state)
{
    (void)state;
    static const char TX[] = "abcdef12-3456-4abc-8def-0123456789ab";
    static const char TX_UPPER[] = "ABCDEF12-3456-4ABC-8DEF-0123456789AB";
    static const char CA_UPPER[] = "AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA";
    model *m = model_new();
    event e;
    carebus__v1__envelope__init(&e);
    Carebus__V1__TicketOpened op = CAREBUS__V1__TICKET_OPENED__INIT;
    op.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED;
    e.ticket_opened = &op;
    event *evs[3];
    evs[0] = mk(&e, "router", 1, "2026-03-02T09:00:00+07:00", TX, CA_UPPER);
    Carebus__V1__AgentReplied rp = CAREBUS__V1__AGENT_REPLIED__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED;
    e.agent_replied = &rp;
    evs[1] = mk(&e, "ingest", 1, "2026-03-02T09:10:00+07:00", TX_UPPER, NULL);
    Carebus__V1__CustomerProfileUpdated pu = CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__INIT;
    pu.segment = CAREBUS__V1__SEGMENT__SEGMENT_VIP;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED;
    e.customer_profile_updated = &pu;
    evs[2] = mk(&e, "ingest", 2, "2026-03-02T09:20:00+07:00", NULL, CA_UPPER);
    struct model_refs r;
    assert_true(model_refs_of(evs[1], &r));
    assert_string_equal(r.ticket, TX);
    for (int i = 0; i < 3; i++)
        assert_int_equal(model_apply(m, evs[i], model_event_time(evs[i])), 0);
    size_t n;
    model_tickets(m, &n);
    assert_int_equal(n, 1);
    model_customers(m, &n);
    assert_int_equal(n, 1);
    model_ticket *t = model_ticket_get(m, TX);
    assert_non_null(t);
    assert_string_equal(t->customer, CA);
    struct ticket_facts f;
    model_resolve_segments(m);
    assert_int_equal(model_segment_of(m, CA), CAREBUS__V1__SEGMENT__SEGMENT_VIP);
    contrib_facts(cal, t, model_segment_of(m, t->customer), &f);
    assert_true(f.fr_at != MODEL_NONE); /* the reply reached the ticket */
    for (int i = 0; i < 3; i++)
        event_destroy(&evs[i]);
    model_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_interleaving_gives_the_same_state_and_sums),
        cmocka_unit_test(test_batches_recounting_their_footprint_give_the_same_sums),
        cmocka_unit_test(test_facts_of_the_scenario),
        cmocka_unit_test(test_states_survive_json),
        cmocka_unit_test(test_histogram_packing_and_percentile_ranks),
        cmocka_unit_test(test_a_ticket_merged_into_another_is_not_a_ticket_of_its_own),
        cmocka_unit_test(test_an_id_in_upper_case_names_the_same_ticket_and_customer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
