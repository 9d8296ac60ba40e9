/* test_rules.c — services/router/rules.c: the configuration file (the
 * shipped defaults, validation and its messages, reload on SIGHUP) and the
 * two functions it configures, classification and priority. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "router.h"
#include "rules.h"

static rules *defaults(void)
{
    char err[256];
    rules *r = rules_default(err, sizeof err);
    if (!r)
        fail_msg("the built-in rules do not parse: %s", err);
    return r;
}

/* The shipped file and the built-in copy are the same text. */
static void test_default_file_is_the_built_in(void **state)
{
    (void)state;
    FILE *f = fopen("deploy/config/router.json", "rb");
    if (!f)
        skip(); /* not run from the repository's root */
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_string_equal(text, rules_default_json);
}

static void test_defaults(void **state)
{
    (void)state;
    rules *r = defaults();
    static const char *const teams[] = {
        "support", "technical",          "complaints", "returns-warranty",
        "loyalty", "account-management", "sales"};
    assert_int_equal(r->nteams, 7);
    for (size_t i = 0; i < 7; i++)
        assert_true(rules_team_known(r, teams[i]));
    assert_false(rules_team_known(r, "marketing"));
    assert_string_equal(r->default_team, "support");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_TECHNICAL_SUPPORT),
                        "technical");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_COMPLAINT), "complaints");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_RETURNS_WARRANTY),
                        "returns-warranty");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_BILLING),
                        "account-management");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_SALES), "sales");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_OTHER), "support");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_UNSPECIFIED), "support");
    rules_destroy(&r);
    assert_null(r);
}

static void classify(const rules *r, const char *text, const char *category, const char *rule)
{
    fold_text f;
    assert_int_equal(fold_init(&f, text), 0);
    struct rules_match m;
    rules_classify(r, &f, &m);
    fold_release(&f);
    if (strcmp(event_category_name(m.category), category) != 0 || strcmp(m.rule, rule) != 0)
        fail_msg("\"%s\": %s/%s, want %s/%s", text, event_category_name(m.category), m.rule,
                 category, rule);
}

static void test_classification(void **state)
{
    (void)state;
    rules *r = defaults();
    classify(r, "Tôi muốn khiếu nại", "complaint", "complaint-vi");
    classify(r, "toi muon khieu nai", "complaint", "complaint-vi");
    classify(r, "TOI MUON KHIEU NAI", "complaint", "complaint-vi");
    classify(r, "Terrible service, I want to complain", "complaint", "complaint-en");
    classify(r, "Sản phẩm bị lỗi, tôi muốn đổi trả", "returns_warranty", "returns-warranty-vi");
    classify(r, "san pham bi loi, toi muon doi tra", "returns_warranty", "returns-warranty-vi");
    classify(r, "Bảo hành bao lâu?", "returns_warranty", "returns-warranty-vi");
    classify(r, "bao hanh bao lau", "returns_warranty", "returns-warranty-vi");
    classify(r, "Can I get a replacement?", "returns_warranty", "returns-warranty-en");
    classify(r, "Hoá đơn sai", "billing", "billing-vi");
    classify(r, "hoa don sai", "billing", "billing-vi");
    classify(r, "Where is my invoice", "billing", "billing-en");
    classify(r, "Không đăng nhập được", "account", "account-vi");
    classify(r, "forgot my password", "account", "account-en");
    classify(r, "Máy bị lỗi", "technical_support", "technical-support-vi");
    classify(r, "may bi loi", "technical_support", "technical-support-vi");
    classify(r, "The app doesn't work", "technical_support", "technical-support-en");
    classify(r, "Tôi muốn mua sỉ", "sales", "sales-vi");
    classify(r, "What is the price?", "sales", "sales-en");
    classify(r, "Còn hàng không?", "product_info", "product-info-vi");
    classify(r, "what colors do you have, which size", "product_info", "product-info-en");
    classify(r, "Tôi cần hỗ trợ", "other", "default");
    classify(r, "", "other", "default");
    /* A mark the writer typed is meant: "lời" (words) is not "lỗi". */
    classify(r, "Trả lời giúp tôi", "other", "default");
    rules_destroy(&r);
}

static const char *urgent(const rules *r, const char *text)
{
    fold_text f;
    assert_int_equal(fold_init(&f, text), 0);
    const char *w = rules_urgent(r, &f);
    fold_release(&f);
    return w ? w : "-";
}

static void test_urgent_words(void **state)
{
    (void)state;
    rules *r = defaults();
    assert_string_equal(urgent(r, "Cần gấp"), "gấp");
    assert_string_equal(urgent(r, "can gap"), "gấp");
    assert_string_equal(urgent(r, "Việc KHẨN"), "khẩn");
    assert_string_equal(urgent(r, "please, URGENT"), "urgent");
    assert_string_equal(urgent(r, "reply asap"), "asap");
    assert_string_equal(urgent(r, "Tôi muốn gặp anh"), "-");
    assert_string_equal(urgent(r, "khăn tắm"), "-");
    rules_destroy(&r);
}

static const char *prio(const rules *r, Carebus__V1__Segment s, Carebus__V1__Category c,
                        const char *urgent_word, int contacts, int escalated)
{
    static char out[512];
    struct rules_priority_in in = {s, c, urgent_word, contacts, escalated};
    struct rules_priority p;
    rules_priority(r, &in, &p);
    snprintf(out, sizeof out, "%s", rules_priority_name(p.rank));
    for (size_t i = 0; i < p.nreasons; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "|%s", p.reasons[i]);
    return out;
}

#define REG CAREBUS__V1__SEGMENT__SEGMENT_REGULAR
#define VIP CAREBUS__V1__SEGMENT__SEGMENT_VIP
#define WHOLESALE CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE
#define OTHER CAREBUS__V1__CATEGORY__CATEGORY_OTHER
#define COMPLAINT CAREBUS__V1__CATEGORY__CATEGORY_COMPLAINT
#define INFO CAREBUS__V1__CATEGORY__CATEGORY_PRODUCT_INFO

static void test_priority_matrix(void **state)
{
    (void)state;
    rules *r = defaults();
    assert_string_equal(prio(r, REG, OTHER, NULL, 1, 0), "normal");
    assert_string_equal(prio(r, REG, COMPLAINT, NULL, 1, 0), "high|category:complaint +1");
    assert_string_equal(prio(r, REG, INFO, NULL, 1, 0), "low|category:product_info -1");
    assert_string_equal(prio(r, VIP, OTHER, NULL, 1, 0), "high|segment:vip +1");
    assert_string_equal(prio(r, WHOLESALE, OTHER, NULL, 1, 0), "high|segment:wholesale +1");
    assert_string_equal(prio(r, VIP, COMPLAINT, NULL, 1, 0),
                        "urgent|segment:vip +1|category:complaint +1");
    assert_string_equal(prio(r, VIP, INFO, NULL, 1, 0),
                        "normal|segment:vip +1|category:product_info -1");
    assert_string_equal(prio(r, REG, OTHER, "gấp", 1, 0), "high|urgent_word:gấp +1");
    assert_string_equal(prio(r, REG, OTHER, NULL, 2, 0), "normal");
    assert_string_equal(prio(r, REG, OTHER, NULL, 3, 0), "high|repeated_contacts:3 +1");
    /* Clamped at urgent, every reason kept. */
    assert_string_equal(prio(r, VIP, COMPLAINT, "asap", 5, 0),
                        "urgent|segment:vip +1|category:complaint +1|urgent_word:asap +1|"
                        "repeated_contacts:5 +1");
    /* An escalation is a floor. */
    assert_string_equal(prio(r, REG, INFO, NULL, 1, 4),
                        "urgent|category:product_info -1|sla_escalation:urgent");
    assert_string_equal(prio(r, VIP, COMPLAINT, NULL, 1, 3),
                        "urgent|segment:vip +1|category:complaint +1");
    assert_string_equal(prio(r, CAREBUS__V1__SEGMENT__SEGMENT_UNSPECIFIED, OTHER, NULL, 0, 0),
                        "normal");
    rules_destroy(&r);
}

static void refused(const char *json, const char *want)
{
    char err[512] = "";
    rules *r = rules_parse(json, strlen(json), "test", err, sizeof err);
    if (r) {
        rules_destroy(&r);
        fail_msg("accepted: %s", json);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not say \"%s\"", err, want);
}

#define HEAD "{\"version\": 1, \"teams\": [\"support\", \"sales\"], \"default_team\": \"support\""

static void test_validation(void **state)
{
    (void)state;
    refused("{", "not valid JSON");
    refused("[]", "the top level must be an object");
    refused("{\"teams\": []}", "\"version\": must be 1");
    refused(HEAD ", \"rule\": []}", "unknown key \"rule\"");
    refused("{\"version\": 1, \"teams\": [], \"default_team\": \"x\"}", "\"teams\": must be");
    refused("{\"version\": 1, \"teams\": [\"a b\"], \"default_team\": \"x\"}", "teams[0]");
    refused("{\"version\": 1, \"teams\": [\"a\", \"a\"], \"default_team\": \"a\"}",
            "teams[1]: \"a\" is declared twice");
    refused("{\"version\": 1, \"teams\": [\"a\"], \"default_team\": \"b\"}",
            "\"default_team\": unknown team \"b\"");
    refused(HEAD ", \"category_teams\": {\"complain\": \"sales\"}}",
            "category_teams.complain: unknown category \"complain\"");
    refused(HEAD ", \"category_teams\": {\"sales\": \"marketing\"}}",
            "category_teams.sales: unknown team \"marketing\"");
    refused(HEAD ", \"rules\": [{\"name\": \"x\", \"category\": \"complain\","
                 " \"phrases\": [\"a\"]}]}",
            "rules[0].category: unknown category \"complain\"");
    refused(HEAD ", \"rules\": [{\"name\": \"x\", \"category\": \"sales\", \"phrase\": []}]}",
            "rules[0]: unknown key \"phrase\"");
    refused(HEAD ", \"rules\": [{\"name\": \"x\", \"category\": \"sales\","
                 " \"phrases\": [\"ok\", \" ,.- \"]}]}",
            "rules[0].phrases[1]: empty phrase");
    refused(HEAD ", \"rules\": [{\"name\": \"x\", \"category\": \"sales\", \"phrases\": [\"a\"]},"
                 " {\"name\": \"x\", \"category\": \"sales\", \"phrases\": [\"b\"]}]}",
            "rules[1].name: \"x\" is used by rules[0] too");
    refused(HEAD ", \"rules\": [{\"name\": \"x\", \"category\": \"sales\", \"phrases\": []}]}",
            "rules[0].phrases: must be a non-empty array");
    refused(HEAD ", \"priority\": {\"base\": \"medium\"}}",
            "priority.base: must be one of low, normal, high, urgent");
    refused(HEAD ", \"priority\": {\"segments\": {\"gold\": 1}}}",
            "priority.segments.gold: unknown segment");
    refused(HEAD ", \"priority\": {\"categories\": {\"sales\": 9}}}",
            "priority.categories.sales: must be an integer from -3 to 3");
    refused(HEAD ", \"priority\": {\"repeated_contacts\": {\"threshold\": -1, \"boost\": 1}}}",
            "priority.repeated_contacts.threshold");
    refused(HEAD ", \"priority\": {\"urgent_words\": {\"boost\": 1, \"words\": [3]}}}",
            "priority.urgent_words.words[0]: must be a string");
    /* A minimal file is enough: everything "other", to the default team. */
    char err[256];
    const char *min = HEAD "}";
    rules *r = rules_parse(min, strlen(min), "min", err, sizeof err);
    assert_non_null(r);
    classify(r, "khiếu nại", "other", "default");
    assert_string_equal(rules_team(r, CAREBUS__V1__CATEGORY__CATEGORY_COMPLAINT), "support");
    rules_destroy(&r);
    assert_null(rules_load("/nonexistent/router.json", err, sizeof err));
    assert_non_null(strstr(err, "could not open"));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* SIGHUP's handler: a bad file is refused and the rules in force stay; a
 * good one replaces them. A bad file at start stops the start. */
static void test_reload(void **state)
{
    (void)state;
    char path[] = "/tmp/carebus-router-rules-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, HEAD ", \"rules\": [{\"name\": \"one\", \"category\": \"sales\","
                          " \"phrases\": [\"mua\"]}]}");
    setenv("CAREBUS_ROUTER_CONFIG", path, 1);
    router *rt = router_new();
    assert_non_null(rt);
    rules *before = rt->rules;
    classify(rt->rules, "muốn mua", "sales", "one");
    write_file(path, HEAD ", \"rules\": [{\"name\": \"two\", \"category\": \"bogus\","
                          " \"phrases\": [\"mua\"]}]}");
    router_reload(rt);
    assert_ptr_equal(rt->rules, before);
    classify(rt->rules, "muốn mua", "sales", "one");
    write_file(path, HEAD ", \"rules\": [{\"name\": \"three\", \"category\": \"complaint\","
                          " \"phrases\": [\"mua\"]}]}");
    router_reload(rt);
    classify(rt->rules, "muốn mua", "complaint", "three");
    router_destroy(&rt);
    assert_null(rt);
    write_file(path, "{");
    assert_null(router_new());
    unsetenv("CAREBUS_ROUTER_CONFIG");
    setenv("CAREBUS_REOPEN_WINDOW_S", "-5", 1);
    assert_null(router_new());
    unsetenv("CAREBUS_REOPEN_WINDOW_S");
    unlink(path);
}

/* The rule tables have room for every category and segment of the schema,
 * so a value added to the proto is accepted without an edit in rules.h. */
static void test_schema_fits_the_tables(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *cat = &carebus__v1__category__descriptor;
    const ProtobufCEnumDescriptor *seg = &carebus__v1__segment__descriptor;
    for (size_t i = 0; i < vocab_count(cat); i++)
        assert_true(vocab_value(cat, i) < RULES_CATEGORIES);
    for (size_t i = 0; i < vocab_count(seg); i++)
        assert_true(vocab_value(seg, i) < RULES_SEGMENTS);
    /* Priority ranks are the Priority values 1..n, without gaps. */
    const ProtobufCEnumDescriptor *pri = &carebus__v1__priority__descriptor;
    for (size_t i = 0; i < vocab_count(pri); i++)
        assert_int_equal(vocab_value(pri, i), (int)i + 1);
    assert_string_equal(rules_priority_name(1), "low");
    assert_string_equal(rules_priority_name(4), "urgent");
    assert_string_equal(rules_priority_name(0), "normal");
    assert_string_equal(rules_priority_name(5), "normal");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_file_is_the_built_in),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_urgent_words),
        cmocka_unit_test(test_priority_matrix),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_schema_fits_the_tables),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
