/* test_label.c — label.c: every enum value has its two labels.
 *
 * Walks the schema (vocab.h), so a value added to events.proto without its
 * labels fails here, naming it; and a label line naming no value (a typo, a
 * value removed) fails too. Run one test by name: test_label <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "label.h"

static void test_every_value_has_both_labels(void **state)
{
    (void)state;
    size_t labelled = 0;
    for (size_t e = 0; e < vocab_enum_count(); e++) {
        const ProtobufCEnumDescriptor *d = vocab_enum_at(e);
        for (size_t i = 0; i < vocab_count(d); i++) {
            int v = vocab_value(d, i);
            for (int lang = 0; lang < LABEL_NLANGS; lang++) {
                const char *l = label_get(d, v, (enum label_lang)lang);
                if (!l || !l[0])
                    fail_msg("%s \"%s\" has no %s label (services/libcarebus/label.c)",
                             vocab_enum_key(d), vocab_name(d, v), lang == LABEL_VI ? "vi" : "en");
            }
            labelled++;
        }
    }
    /* Every line of the table is one of those values. */
    assert_int_equal(labelled, label_table_size());
}

static void test_lookups(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *ch = &carebus__v1__channel__descriptor;
    assert_string_equal(label_get(ch, CAREBUS__V1__CHANNEL__CHANNEL_HELPCENTER, LABEL_VI),
                        "Trung tâm trợ giúp");
    assert_string_equal(label_get(ch, CAREBUS__V1__CHANNEL__CHANNEL_HELPCENTER, LABEL_EN),
                        "Help centre");
    assert_string_equal(label_get(ch, CAREBUS__V1__CHANNEL__CHANNEL_PHONE, LABEL_VI), "Điện thoại");
    /* The same name in two enums is two keys. */
    assert_string_equal(label_get(&carebus__v1__ticket_status__descriptor,
                                  CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN, LABEL_EN),
                        "Open");
    assert_null(label_get(ch, 0, LABEL_EN));
    assert_null(label_get(ch, 9999, LABEL_EN));
    assert_null(label_get(ch, CAREBUS__V1__CHANNEL__CHANNEL_ZALO, (enum label_lang)7));
    assert_string_equal(label_or_name(ch, 0, LABEL_VI), "");
    assert_string_equal(label_or_name(ch, 9999, LABEL_VI), "");
    assert_string_equal(label_or_name(ch, CAREBUS__V1__CHANNEL__CHANNEL_STORE, LABEL_VI),
                        "Cửa hàng");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_value_has_both_labels),
        cmocka_unit_test(test_lookups),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
