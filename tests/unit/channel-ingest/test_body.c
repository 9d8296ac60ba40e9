/* test_body.c — the checks every request body passes first (body.c) and the
 * string rules of field.c: content types, tokens (nesting depth and UTF-8
 * are libcarebus's, tested in test_jsondepth and test_utf8).
 * Run one test by name: test_body <name>.
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

#include "body.h"
#include "field.h"

static void test_type_is(void **state)
{
    (void)state;
    assert_true(body_type_is("application/json", BODY_JSON));
    assert_true(body_type_is("Application/JSON; charset=utf-8", BODY_JSON));
    assert_true(body_type_is("  application/json ;charset=UTF-8", BODY_JSON));
    assert_true(body_type_is("application/x-protobuf", BODY_PROTOBUF));
    assert_false(body_type_is(NULL, BODY_JSON));
    assert_false(body_type_is("", BODY_JSON));
    assert_false(body_type_is("text/plain", BODY_JSON));
    assert_false(body_type_is("application/jsonx", BODY_JSON));
    assert_false(body_type_is("application/json-patch+json", BODY_JSON));
    assert_false(body_type_is("application/x-protobuf", BODY_JSON));
}

static void test_token_and_check(void **state)
{
    (void)state;
    assert_true(field_token_valid("agent-7", 128));
    assert_true(field_token_valid("Nguy\xe1\xbb\x85n", 128));
    assert_false(field_token_valid("", 128));
    assert_false(field_token_valid("   ", 128));
    assert_false(field_token_valid("a\tb", 128));
    assert_false(field_token_valid("a\x7f", 128));
    assert_false(field_token_valid("abcd", 3));
    assert_false(field_token_valid("\xff", 128));
    assert_false(field_token_valid(NULL, 128));

    struct message_error err;
    assert_int_equal(field_check("line\nbreak", "text", FIELD_TEXT, 0, &err), 0);
    assert_int_equal(field_check(NULL, "text", 0, 0, &err), 0);
    assert_int_equal(field_check("", "x", FIELD_REQUIRED, 0, &err), -1);
    assert_string_equal(err.code, "missing_field");
    assert_int_equal(field_check("line\nbreak", "id", 0, 0, &err), -1);
    assert_string_equal(err.field, "id");
    assert_int_equal(field_check("toolong", "id", 0, 3, &err), -1);
    assert_int_equal(field_check("\xc3(", "t", FIELD_TEXT, 0, &err), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_is),
        cmocka_unit_test(test_token_and_check),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("body", tests, NULL, NULL);
}
