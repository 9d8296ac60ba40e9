/* test_work.c — the work API's parsers: ticket actions (tickets.c:
 * assignment, priority/category/tags, mentions on notes) and resources
 * (agents.c, teams.c, canned.c: agent.saved, team.saved, canned.saved with
 * their update masks).
 *
 * Each parser: a full body gives the event the router expects; each
 * mistake names its field. Run one test by name: test_work <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops.h"
#include "testjson.h"
#include "work.h"

#define NOW INT64_C(1800000000000000)
#define TICKET "7c9e6679-7425-40de-944b-e07fc1f90ae7"

static json_t *load(const char *text)
{
    return testjson_load(text, JSON_DECODE_ANY);
}

static void outcome(int rc, const struct message_error *err, const char *field, const char *text)
{
    if (!field && rc != 0)
        fail_msg("refused (%s: %s): %s", err->field, err->message, text);
    if (field && rc == 0)
        fail_msg("accepted, want \"%s\" refused: %s", field, text);
    if (field && strcmp(err->field, field) != 0)
        fail_msg("field \"%s\", want \"%s\" (%s): %s", err->field, field, err->message, text);
}

typedef int (*op_fn)(const json_t *, const char *, int64_t, struct op *, struct message_error *);

/* field NULL: accepted. The document is kept in *keep (the event points
 * into it). */
static void op(op_fn fn, const char *text, const char *field, struct op *o, json_t **keep)
{
    json_t *j = load(text);
    struct message_error err = {0};
    outcome(fn(j, TICKET, NOW, o, &err), &err, field, text);
    *keep = j;
}

enum kind { AGENT_NEW, AGENT_PATCH, TEAM_NEW, TEAM_PATCH, CANNED_NEW, CANNED_PATCH };

static void work(enum kind k, const char *text, const char *field, struct work_write *s,
                 json_t **keep)
{
    json_t *j = load(text);
    struct message_error err = {0};
    int rc = -1;
    switch (k) {
    case AGENT_NEW:
        rc = agents_create_parse(j, NOW, s, &err);
        break;
    case AGENT_PATCH:
        rc = agents_update_parse(j, "lan", NOW, s, &err);
        break;
    case TEAM_NEW:
        rc = teams_create_parse(j, NOW, s, &err);
        break;
    case TEAM_PATCH:
        rc = teams_update_parse(j, "support", NOW, s, &err);
        break;
    case CANNED_NEW:
        rc = canned_create_parse(j, NOW, s, &err);
        break;
    case CANNED_PATCH:
        rc = canned_update_parse(j, TICKET, NOW, s, &err);
        break;
    }
    outcome(rc, &err, field, text);
    *keep = j;
}

static void refused_work(enum kind k, const char *text, const char *field)
{
    struct work_write s;
    json_t *j;
    work(k, text, field, &s, &j);
    json_decref(j);
}

static void refused_op(op_fn fn, const char *text, const char *field)
{
    struct op o;
    json_t *j;
    op(fn, text, field, &o, &j);
    json_decref(j);
}

/* The update mask as "a,b". */
static const char *mask(char *const *m, size_t n)
{
    static char out[256];
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(out, i ? "," : "");
        strcat(out, m[i]);
    }
    return out;
}

/* --- ticket actions ------------------------------------------------------------ */

static void test_assign(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    op(tickets_assign_parse, "{\"agent_id\":\"lan\",\"team\":\"complaints\",\"reason\":\"vip\"}",
       NULL, &o, &j);
    assert_int_equal(o.ev.body_case, CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGN_REQUESTED);
    assert_string_equal(o.ev.type, "ticket.assign_requested");
    assert_string_equal(o.ev.ticket_id, TICKET);
    assert_string_equal(o.ev.ticket_assign_requested->agent_id, "lan");
    assert_string_equal(o.ev.ticket_assign_requested->team, "complaints");
    json_decref(j);
    op(tickets_assign_parse, "{\"team\":\"support\"}", NULL, &o, &j);
    assert_string_equal(o.ev.ticket_assign_requested->agent_id, "");
    json_decref(j);
    refused_op(tickets_assign_parse, "{\"reason\":\"x\"}", "");
    refused_op(tickets_assign_parse, "{\"agent_id\":\"\",\"team\":null}", "");
    refused_op(tickets_assign_parse, "{\"agent_id\":7}", "agent_id");
    refused_op(tickets_assign_parse, "[]", "");
}

static void test_update(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    op(tickets_update_parse,
       "{\"priority\":\"high\",\"category\":\"billing\",\"tags_add\":[\" VIP \",\"late delivery\"],"
       "\"tags_remove\":[\"Đổi Trả\"]}",
       NULL, &o, &j);
    const Carebus__V1__TicketUpdateRequested *b = o.ev.ticket_update_requested;
    assert_string_equal(o.ev.type, "ticket.update_requested");
    assert_int_equal(b->priority, CAREBUS__V1__PRIORITY__PRIORITY_HIGH);
    assert_int_equal(b->category, CAREBUS__V1__CATEGORY__CATEGORY_BILLING);
    assert_false(b->clear_priority_override);
    assert_int_equal(b->n_tags_add, 2);
    assert_string_equal(b->tags_add[0], "vip");
    assert_string_equal(b->tags_add[1], "late_delivery");
    assert_string_equal(b->tags_remove[0], "Đổi_trả");
    assert_true(tickets_update_overrides(&o));
    json_decref(j);
    /* null hands the field back to the rules. */
    op(tickets_update_parse, "{\"priority\":null,\"category\":null}", NULL, &o, &j);
    assert_true(o.ev.ticket_update_requested->clear_priority_override);
    assert_true(o.ev.ticket_update_requested->clear_category_override);
    assert_true(tickets_update_overrides(&o));
    json_decref(j);
    /* Tags alone are no override. */
    op(tickets_update_parse, "{\"tags_add\":[\"a\"]}", NULL, &o, &j);
    assert_false(tickets_update_overrides(&o));
    json_decref(j);
    refused_op(tickets_update_parse, "{}", "");
    refused_op(tickets_update_parse, "{\"priority\":\"critical\"}", "priority");
    refused_op(tickets_update_parse, "{\"category\":\"refund\"}", "category");
    refused_op(tickets_update_parse, "{\"tags_add\":[\"ok\",\"a,b\"]}", "tags_add[1]");
    refused_op(tickets_update_parse, "{\"tags_remove\":[\"   \"]}", "tags_remove[0]");
    refused_op(tickets_update_parse, "{\"tags_add\":\"vip\"}", "tags_add");
}

static void test_note_mentions(void **state)
{
    (void)state;
    struct op o;
    json_t *j;
    op(tickets_reply_parse,
       "{\"agent_id\":\"lan\",\"text\":\"@minh xem giúp\",\"internal_note\":true,"
       "\"mentions\":[\"minh\",\"an\"]}",
       NULL, &o, &j);
    assert_int_equal(o.ev.agent_replied->n_mentions, 2);
    assert_string_equal(o.ev.agent_replied->mentions[1], "an");
    json_decref(j);
    refused_op(tickets_reply_parse,
               "{\"agent_id\":\"lan\",\"text\":\"hi\",\"mentions\":[\"minh\"]}", "mentions");
    refused_op(tickets_reply_parse,
               "{\"agent_id\":\"lan\",\"text\":\"hi\",\"internal_note\":true,\"mentions\":[1]}",
               "mentions[0]");
}

/* --- agents, teams, canned replies -------------------------------------------------- */

static void test_agent_create(void **state)
{
    (void)state;
    struct work_write s;
    json_t *j;
    work(AGENT_NEW,
         "{\"id\":\"lan\",\"name\":\"Nguyễn Lan\",\"email\":\"lan@example.vn\","
         "\"teams\":[\"support\"],\"languages\":[\"vi\",\"en\"],\"capacity\":4,\"role\":\"lead\","
         "\"password\":\"correct horse\"}",
         NULL, &s, &j);
    const Carebus__V1__AgentSaved *b = s.ev.agent_saved;
    assert_string_equal(s.ev.type, "agent.saved");
    assert_string_equal(b->agent_id, "lan");
    assert_int_equal(b->capacity, 4);
    assert_int_equal(b->role, CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_LEAD);
    assert_true(b->active);
    assert_int_equal(b->n_update_mask, 0); /* the whole agent */
    assert_int_equal(b->n_languages, 2);
    /* The password waits to be hashed; the event has no hash yet. */
    assert_string_equal(s.password, "correct horse");
    assert_string_equal(b->password_hash, "");
    json_decref(j);
    refused_work(AGENT_NEW, "{\"name\":\"X\",\"capacity\":1}", "id");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"capacity\":1}", "name");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"name\":\"X\"}", "capacity");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"name\":\"X\",\"capacity\":1001}", "capacity");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"name\":\"X\",\"capacity\":1,\"role\":\"boss\"}",
                 "role");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"name\":\"X\",\"capacity\":1,\"email\":\"x\"}",
                 "email");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"name\":\"X\",\"capacity\":1,\"password\":\"short\"}",
                 "password");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"name\":\"X\",\"capacity\":1,\"password\":12345678}",
                 "password");
    refused_work(AGENT_NEW, "{\"id\":\"x\",\"name\":\"X\",\"capacity\":1,\"languages\":[\"v i\"]}",
                 "languages[0]");
    refused_work(AGENT_NEW, "{\"id\":\"a\\u0001b\",\"name\":\"X\",\"capacity\":1}", "id");
}

static void test_agent_update(void **state)
{
    (void)state;
    struct work_write s;
    json_t *j;
    work(AGENT_PATCH, "{\"capacity\":0,\"active\":false,\"password\":null}", NULL, &s, &j);
    const Carebus__V1__AgentSaved *b = s.ev.agent_saved;
    assert_string_equal(b->agent_id, "lan");
    assert_string_equal(mask(b->update_mask, b->n_update_mask), "capacity,active,password_hash");
    assert_false(b->active);
    assert_true(s.clear_password);
    assert_null(s.password);
    json_decref(j);
    work(AGENT_PATCH, "{\"teams\":[],\"password\":\"a new secret\"}", NULL, &s, &j);
    b = s.ev.agent_saved;
    assert_string_equal(mask(b->update_mask, b->n_update_mask), "teams,password_hash");
    assert_int_equal(b->n_teams, 0);
    json_decref(j);
    refused_work(AGENT_PATCH, "{}", "");
    refused_work(AGENT_PATCH, "{\"unknown\":1}", "");
    refused_work(AGENT_PATCH, "{\"name\":\"\"}", "name");
}

static void test_team(void **state)
{
    (void)state;
    struct work_write s;
    json_t *j;
    work(TEAM_NEW,
         "{\"id\":\"vip-care\",\"name\":\"VIP care\",\"lead_agent_id\":\"minh\","
         "\"calendar\":\"24x7\",\"sla_policy\":\"vip\"}",
         NULL, &s, &j);
    const Carebus__V1__TeamSaved *b = s.ev.team_saved;
    assert_string_equal(s.ev.type, "team.saved");
    assert_string_equal(b->team_id, "vip-care");
    assert_string_equal(b->lead_agent_id, "minh");
    assert_true(b->active);
    assert_int_equal(b->n_update_mask, 0);
    json_decref(j);
    work(TEAM_PATCH, "{\"active\":false,\"lead_agent_id\":null}", NULL, &s, &j);
    b = s.ev.team_saved;
    assert_string_equal(b->team_id, "support");
    assert_string_equal(mask(b->update_mask, b->n_update_mask), "lead_agent_id,active");
    json_decref(j);
    refused_work(TEAM_NEW, "{\"name\":\"x\"}", "id");
    refused_work(TEAM_NEW, "{\"id\":\"x\",\"active\":\"yes\"}", "active");
    refused_work(TEAM_PATCH, "{}", "");
}

static void test_canned(void **state)
{
    (void)state;
    struct work_write s;
    json_t *j;
    work(CANNED_NEW,
         "{\"title\":\"Chào\",\"text\":\"Chào {customer_name}, em là {agent_name} "
         "(#{ticket_number})."
         " { braces } and {Caps} stay\",\"language\":\"vi\",\"team\":\"support\"}",
         NULL, &s, &j);
    const Carebus__V1__CannedSaved *b = s.ev.canned_saved;
    assert_string_equal(s.ev.type, "canned.saved");
    assert_true(strlen(b->canned_id) == 36);
    assert_string_equal(b->canned_id, s.id);
    assert_string_equal(b->team, "support");
    json_decref(j);
    work(CANNED_PATCH, "{\"team\":null,\"text\":\"Hi {customer_name}\"}", NULL, &s, &j);
    assert_string_equal(s.ev.canned_saved->canned_id, TICKET);
    assert_string_equal(mask(s.mask, 2), "text,team");
    json_decref(j);
    refused_work(CANNED_NEW, "{\"title\":\"x\",\"text\":\"Hi {first_name}\"}", "text");
    refused_work(CANNED_NEW, "{\"text\":\"x\"}", "title");
    refused_work(CANNED_NEW, "{\"title\":\"x\"}", "text");
    refused_work(CANNED_PATCH, "{}", "");
    refused_work(CANNED_PATCH, "{\"title\":null}", "title");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign),        cmocka_unit_test(test_update),
        cmocka_unit_test(test_note_mentions), cmocka_unit_test(test_agent_create),
        cmocka_unit_test(test_agent_update),  cmocka_unit_test(test_team),
        cmocka_unit_test(test_canned),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("work", tests, NULL, NULL);
}
