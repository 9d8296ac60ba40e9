/* test_vocab.c — vocab.c: spellings derived from the schema.
 *
 * The derived names are API and stored data, so every one of them is pinned
 * here byte for byte, in order: a renamed or renumbered proto value fails,
 * a value added after them does not (the schema grows; it never renames).
 * The properties every enum must have (its prefix, unique names, exact
 * round trips) are checked over the whole schema, so a new enum or value is
 * covered without an edit. Run one test by name: test_vocab <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vocab.h"

static const struct {
    const char *key;
    const char *names; /* vocab_list() */
} pinned[] = {
    {"channel", "phone, email, chat, facebook, zalo, instagram, tiktok, twitter, sms, whatsapp, "
                "helpcenter, store"},
    {"segment", "regular, vip, wholesale"},
    {"customer_status", "active, churned"},
    {"ticket_status", "open, pending, solved, closed"},
    {"category", "technical_support, complaint, product_info, returns_warranty, billing, sales, "
                 "account, other"},
    {"priority", "low, normal, high, urgent"},
    {"presence", "online, away, offline"},
    {"sla_target", "first_response, next_response, resolution"},
    {"call_outcome", "answered, missed, abandoned, voicemail"},
    {"outbound_kind", "reply, acknowledgement, survey"},
    {"agent_role", "agent, lead, supervisor"},
};

/* list starts with the pinned names (new values may follow them). */
static void assert_pinned_prefix(const char *list, const char *pinned_names)
{
    size_t n = strlen(pinned_names);
    if (strncmp(list, pinned_names, n) != 0 || (list[n] != '\0' && strncmp(list + n, ", ", 2) != 0))
        fail_msg("\"%s\" does not begin with the pinned \"%s\"", list, pinned_names);
}

static void test_pinned_spellings(void **state)
{
    (void)state;
    assert_true(vocab_enum_count() >= sizeof pinned / sizeof pinned[0]);
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
        const ProtobufCEnumDescriptor *d = vocab_enum_at(i);
        assert_string_equal(vocab_enum_key(d), pinned[i].key);
        assert_pinned_prefix(vocab_list(d), pinned[i].names);
    }
}

static void test_pinned_event_types(void **state)
{
    (void)state;
    static const char *const types[] = {
        "contact.received",
        "agent.replied",
        "ticket.status_changed",
        "ticket.transfer_requested",
        "agent.presence",
        "customer.profile_updated",
        "call.ended",
        "ticket.opened",
        "ticket.contact_added",
        "ticket.classified",
        "ticket.assigned",
        "ticket.queued",
        "ticket.transferred",
        "ticket.reopened",
        "ticket.solved",
        "ticket.closed",
        "ticket.escalated",
        "customer.merged",
        "sla.warning",
        "sla.breach",
        "sla.escalation",
        "survey.requested",
        "survey.answered",
        "message.outbound",
        "message.sent",
        "message.delivered",
        "message.read",
        "message.failed",
        "subscription.saved",
        "subscription.deleted",
        "subscription.paused",
        "agent.saved",
        "team.saved",
        "ticket.assign_requested",
        "ticket.update_requested",
        "ticket.updated",
        "ticket.unassigned",
        "ticket.merge_requested",
        "ticket.merged",
        "customer.merge_requested",
        "customer.unmerge_requested",
        "customer.unmerged",
        "customer.imported",
        "canned.saved",
        "canned.deleted",
    };
    assert_true(vocab_event_type_count() >= sizeof types / sizeof types[0]);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int c = vocab_event_type_at(i);
        /* fields 20..64, in order */
        assert_int_equal(c, 20 + (int)i);
        assert_string_equal(vocab_event_type(c), types[i]);
        assert_int_equal(vocab_event_type_parse(types[i]), c);
    }
    assert_null(vocab_event_type(0));
    assert_null(vocab_event_type(19));
    assert_null(vocab_event_type(100000));
    assert_null(vocab_event_type(-1));
    assert_int_equal(vocab_event_type_parse("contact_received"), 0);
    assert_int_equal(vocab_event_type_parse("Contact.received"), 0);
    assert_int_equal(vocab_event_type_parse(""), 0);
    assert_int_equal(vocab_event_type_parse(NULL), 0);
}

/* What every enum of the schema must be, whatever its values. */
static void test_every_enum_derives_cleanly(void **state)
{
    (void)state;
    for (size_t e = 0; e < vocab_enum_count(); e++) {
        const ProtobufCEnumDescriptor *d = vocab_enum_at(e);
        const char *key = vocab_enum_key(d);
        /* UNSPECIFIED = 0 first, then the named values. */
        assert_true(d->n_values >= 2);
        assert_int_equal(d->values[0].value, 0);
        assert_int_equal(vocab_count(d), d->n_values - 1);
        assert_string_equal(vocab_name(d, 0), "");
        char list[2048] = "";
        for (size_t i = 0; i < vocab_count(d); i++) {
            int v = vocab_value(d, i);
            const char *n = vocab_name(d, v);
            if (!n[0])
                fail_msg("%s value %d has no name", key, v);
            for (const char *c = n; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
                    fail_msg("%s \"%s\": not lower-case snake", key, n);
            int back = -1;
            assert_int_equal(vocab_parse(d, n, &back), 0);
            assert_int_equal(back, v);
            for (size_t j = 0; j < i; j++)
                assert_string_not_equal(vocab_name(d, vocab_value(d, j)), n);
            /* The proto name, in upper case, is not a spelling. */
            assert_int_equal(vocab_parse(d, d->values[i + 1].name, &back), -1);
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", n);
        }
        assert_string_equal(vocab_list(d), list);
        int untouched = 12345;
        assert_int_equal(vocab_parse(d, "", &untouched), -1);
        assert_int_equal(vocab_parse(d, NULL, &untouched), -1);
        assert_int_equal(vocab_parse(d, "unspecified", &untouched), -1);
        assert_int_equal(untouched, 12345);
        assert_string_equal(vocab_name(d, -1), "");
        assert_string_equal(vocab_name(d, 100000), "");
    }
}

static void test_parse_is_exact(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *ch = &carebus__v1__channel__descriptor;
    int v = 0;
    assert_int_equal(vocab_parse(ch, "Zalo", &v), -1);
    assert_int_equal(vocab_parse(ch, "zalo ", &v), -1);
    assert_int_equal(vocab_parse(ch, "CHANNEL_ZALO", &v), -1);
    assert_int_equal(vocab_parse(ch, "zal", &v), -1);
    assert_int_equal(vocab_parse(ch, "zalo", &v), 0);
    assert_int_equal(v, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    /* A name of another enum is not one of this one. */
    assert_int_equal(vocab_parse(ch, "vip", &v), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_spellings),
        cmocka_unit_test(test_pinned_event_types),
        cmocka_unit_test(test_every_enum_derives_cleanly),
        cmocka_unit_test(test_parse_is_exact),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
