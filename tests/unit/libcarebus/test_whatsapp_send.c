/* test_whatsapp_send.c — channels/whatsapp.c's sender: the Cloud API
 * request byte for byte (text, media by link, the template beyond 24
 * hours), the window's boundary, the settings, and the classification of
 * Meta's answers (bodies as its error-code reference shows them), 131047
 * included. No credential in any error text. Pure: no network. Run one
 * test by name: test_whatsapp_send <name>.
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

#include "channels/outbound.h"
#include "channels/whatsapp.h"

/* 2026-12-06T04:00:00Z */
#define NOW_US INT64_C(1796529600000000)
#define TOKEN "EAAGwa-token-for-tests"
#define NUMBER_ID "106540352242922"
#define WA_ID "84901234567"
#define DELIVERY "0d6c0a0e-58a4-5c2e-9d7e-0c1d2e3f4a5b"
#define HEAD                                                                                       \
    "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":\"" WA_ID "\","
#define TAIL ",\"biz_opaque_callback_data\":\"" DELIVERY "\"}"

static const char *const vars[] = {
    "CAREBUS_WHATSAPP_TOKEN",    "CAREBUS_WHATSAPP_PHONE_NUMBER_ID",
    "CAREBUS_WHATSAPP_TEMPLATE", "CAREBUS_WHATSAPP_TEMPLATE_LANGUAGE",
    "CAREBUS_GRAPH_API_BASE",    "CAREBUS_GRAPH_API_VERSION",
};

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("CAREBUS_WHATSAPP_TOKEN", TOKEN, 1);
    setenv("CAREBUS_WHATSAPP_PHONE_NUMBER_ID", NUMBER_ID, 1);
    setenv("CAREBUS_GRAPH_API_BASE", "http://127.0.0.1:9", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

struct fixture {
    Carebus__V1__MessageOutbound m;
    Carebus__V1__CustomerRef who;
    Carebus__V1__Attachment a[2];
    Carebus__V1__Attachment *atts[2];
    struct outbound_msg msg;
};

/* A reply to WA_ID, the customer's last message age_us ago (0: unknown). */
static void fixture_init(struct fixture *f, const char *text, int64_t age_us)
{
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT;
    f->m = m;
    f->who = who;
    f->who.handle = WA_ID;
    f->who.phone = "+" WA_ID;
    f->m.recipient = &f->who;
    f->m.channel = CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP;
    f->m.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY;
    f->m.text = (char *)text;
    for (size_t i = 0; i < 2; i++) {
        f->a[i] = a;
        f->atts[i] = &f->a[i];
    }
    f->m.attachments = f->atts;
    f->msg = (struct outbound_msg){&f->m, DELIVERY, NOW_US, age_us ? NOW_US - age_us : 0};
}

static void attach(struct fixture *f, const char *name, const char *type, const char *url)
{
    Carebus__V1__Attachment *a = &f->a[f->m.n_attachments++];
    a->name = (char *)name;
    a->content_type = (char *)type;
    a->url = (char *)url;
}

static int build(const struct fixture *f, struct outbound_request *req, struct outbound_result *res)
{
    char err[256] = "";
    void *cfg = whatsapp_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    assert_string_equal(err, "");
    memset(req, 0, sizeof *req);
    memset(res, 0, sizeof *res);
    int rc = whatsapp_outbound.build(cfg, NULL, &f->msg, req, res);
    whatsapp_outbound.destroy(cfg);
    if (rc != 0) {
        assert_int_equal(res->outcome, OUTBOUND_FAILED);
        assert_null(req->url);
    }
    return rc;
}

/* Builds f and checks the whole request against body. */
static void assert_builds(const struct fixture *f, const char *body)
{
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(f, &req, &res), 0);
    assert_int_equal(req.proto, OUTBOUND_HTTP);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "http://127.0.0.1:9/v25.0/" NUMBER_ID "/messages");
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(req.headers[0], "Content-Type: application/json");
    assert_string_equal(req.headers[1], "Authorization: Bearer " TOKEN);
    assert_null(strstr(req.url, TOKEN));
    assert_string_equal(req.body, body);
    assert_int_equal(req.body_len, strlen(body));
    outbound_request_release(&req);
}

/* --- the request -------------------------------------------------------------------- */

static void test_text(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "Đơn #123 đã giao.\nCảm ơn bạn!", OUTBOUND_HOUR_US);
    assert_builds(&f, HEAD "\"type\":\"text\",\"text\":{\"body\":\"Đơn #123 đã giao.\\nCảm ơn "
                           "bạn!\"}" TAIL);
    /* The phone when there is no handle ("+" is taken). */
    f.who.handle = "";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&f, &req, &res), 0);
    assert_non_null(strstr(req.body, "\"to\":\"+" WA_ID "\""));
    outbound_request_release(&req);
    f.who.phone = NULL;
    assert_int_equal(build(&f, &req, &res), -1);
    assert_string_equal(res.code, "no_recipient");
    assert_string_equal(res.reason, "no recipient on whatsapp");
}

static void test_media(void **state)
{
    (void)state;
    struct fixture f;
    /* An image with the text as its caption. */
    fixture_init(&f, "Ảnh sản phẩm", OUTBOUND_HOUR_US);
    attach(&f, "sp.jpg", "image/jpeg", "https://cdn.example/sp.jpg");
    assert_builds(&f, HEAD "\"type\":\"image\",\"image\":{\"link\":\"https://cdn.example/sp.jpg\","
                           "\"caption\":\"Ảnh sản phẩm\"}" TAIL);
    /* A document keeps its file name; no text, no caption. */
    fixture_init(&f, "", OUTBOUND_HOUR_US);
    attach(&f, "hoa-don.pdf", "application/pdf", "https://cdn.example/h.pdf");
    assert_builds(&f, HEAD "\"type\":\"document\",\"document\":{\"link\":"
                           "\"https://cdn.example/h.pdf\",\"filename\":\"hoa-don.pdf\"}" TAIL);
    /* Formats WhatsApp does not show as images or videos are documents. */
    fixture_init(&f, "", OUTBOUND_HOUR_US);
    attach(&f, "a.gif", "image/gif", "https://cdn.example/a.gif");
    assert_builds(&f, HEAD "\"type\":\"document\",\"document\":{\"link\":"
                           "\"https://cdn.example/a.gif\",\"filename\":\"a.gif\"}" TAIL);
    fixture_init(&f, "", OUTBOUND_HOUR_US);
    attach(&f, "v.mp4", "video/mp4", "https://cdn.example/v.mp4");
    assert_builds(&f, HEAD
                  "\"type\":\"video\",\"video\":{\"link\":\"https://cdn.example/v.mp4\"}" TAIL);
    fixture_init(&f, "", OUTBOUND_HOUR_US);
    attach(&f, "voice.ogg", "audio/ogg", "https://cdn.example/v.ogg");
    assert_builds(&f, HEAD
                  "\"type\":\"audio\",\"audio\":{\"link\":\"https://cdn.example/v.ogg\"}" TAIL);
    /* Audio takes no caption: text and audio go as text and link. */
    fixture_init(&f, "nghe nhé", OUTBOUND_HOUR_US);
    attach(&f, "voice.ogg", "audio/ogg", "https://cdn.example/v.ogg");
    assert_builds(&f, HEAD "\"type\":\"text\",\"text\":{\"body\":\"nghe nhé\\nvoice.ogg: "
                           "https://cdn.example/v.ogg\"}" TAIL);
    /* Two attachments: text and links. */
    fixture_init(&f, "", OUTBOUND_HOUR_US);
    attach(&f, "a.png", "image/png", "https://cdn.example/a.png");
    attach(&f, NULL, "image/png", "https://cdn.example/b.png");
    assert_builds(&f, HEAD "\"type\":\"text\",\"text\":{\"body\":\"a.png: https://cdn.example/"
                           "a.png\\nhttps://cdn.example/b.png\"}" TAIL);
}

static void test_caption_limit(void **state)
{
    (void)state;
    /* 1,024 characters (of two bytes each) fit a caption; one more does not. */
    char text[2 * 1025 + 1];
    for (size_t i = 0; i < 1025; i++)
        memcpy(text + 2 * i, "á", 2);
    text[2 * 1024] = '\0';
    struct fixture f;
    fixture_init(&f, text, OUTBOUND_HOUR_US);
    attach(&f, "a.png", "image/png", "https://cdn.example/a.png");
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&f, &req, &res), 0);
    assert_non_null(strstr(req.body, "\"type\":\"image\""));
    outbound_request_release(&req);
    text[2 * 1024] = text[0];
    text[2 * 1025] = '\0';
    memcpy(text + 2 * 1024, "á", 2);
    assert_int_equal(build(&f, &req, &res), 0);
    assert_non_null(strstr(req.body, "\"type\":\"text\""));
    outbound_request_release(&req);
}

/* --- the window ------------------------------------------------------------------------ */

static void test_window(void **state)
{
    (void)state;
    struct fixture f;
    /* No template: free-form at any age; Meta refuses it (131047). */
    fixture_init(&f, "hi", 10 * OUTBOUND_DAY_US);
    assert_builds(&f, HEAD "\"type\":\"text\",\"text\":{\"body\":\"hi\"}" TAIL);
    /* A template beyond 24 hours, exactly 24 hours still inside. */
    setenv("CAREBUS_WHATSAPP_TEMPLATE", "ticket_update", 1);
    setenv("CAREBUS_WHATSAPP_TEMPLATE_LANGUAGE", "vi", 1);
    fixture_init(&f, "hi", OUTBOUND_DAY_US);
    assert_builds(&f, HEAD "\"type\":\"text\",\"text\":{\"body\":\"hi\"}" TAIL);
    fixture_init(&f, "hi", OUTBOUND_DAY_US + 1);
    assert_builds(&f, HEAD "\"type\":\"template\",\"template\":{\"name\":\"ticket_update\","
                           "\"language\":{\"code\":\"vi\"}}" TAIL);
    /* Unknown: inside (Meta judges). */
    fixture_init(&f, "hi", 0);
    assert_builds(&f, HEAD "\"type\":\"text\",\"text\":{\"body\":\"hi\"}" TAIL);
    /* The message's own last_inbound_at when courier knows none. */
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = (NOW_US - 2 * OUTBOUND_DAY_US) / 1000000;
    f.m.last_inbound_at = &ts;
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&f, &req, &res), 0);
    assert_non_null(strstr(req.body, "\"type\":\"template\""));
    outbound_request_release(&req);
}

/* --- settings ------------------------------------------------------------------------------ */

static void test_settings(void **state)
{
    (void)state;
    char err[256] = "";
    void *cfg;
    unsetenv("CAREBUS_WHATSAPP_TOKEN");
    assert_null(whatsapp_outbound.configure(err, sizeof err));
    assert_string_equal(err, "");
    setenv("CAREBUS_WHATSAPP_TOKEN", TOKEN, 1);
    unsetenv("CAREBUS_GRAPH_API_BASE");
    assert_non_null(cfg = whatsapp_outbound.configure(err, sizeof err));
    whatsapp_outbound.destroy(cfg);
    unsetenv("CAREBUS_WHATSAPP_PHONE_NUMBER_ID");
    assert_null(whatsapp_outbound.configure(err, sizeof err));
    assert_string_equal(err, "CAREBUS_WHATSAPP_PHONE_NUMBER_ID: expected the number's id "
                             "(digits), got \"\"");
    setenv("CAREBUS_WHATSAPP_PHONE_NUMBER_ID", "+15550783881", 1);
    assert_null(whatsapp_outbound.configure(err, sizeof err));
    assert_non_null(strstr(err, "CAREBUS_WHATSAPP_PHONE_NUMBER_ID"));
    setenv("CAREBUS_WHATSAPP_PHONE_NUMBER_ID", NUMBER_ID, 1);
    setenv("CAREBUS_WHATSAPP_TEMPLATE", "ticket_update", 1);
    err[0] = '\0';
    assert_null(whatsapp_outbound.configure(err, sizeof err));
    assert_non_null(strstr(err, "CAREBUS_WHATSAPP_TEMPLATE_LANGUAGE"));
    setenv("CAREBUS_GRAPH_API_VERSION", "latest", 1);
    setenv("CAREBUS_WHATSAPP_TEMPLATE_LANGUAGE", "en_US", 1);
    assert_null(whatsapp_outbound.configure(err, sizeof err));
    assert_non_null(strstr(err, "CAREBUS_GRAPH_API_VERSION"));
    assert_null(strstr(err, TOKEN));
}

/* --- classification -------------------------------------------------------------------------- */

static struct outbound_result classify(long status, const char *body)
{
    char err[256] = "";
    void *cfg = whatsapp_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    struct outbound_response resp = {
        .status = status, .body = body, .body_len = body ? strlen(body) : 0};
    struct outbound_result res = {.retry_after_ms = -1};
    whatsapp_outbound.classify(cfg, &resp, NOW_US, &res);
    whatsapp_outbound.destroy(cfg);
    assert_null(strstr(res.reason, TOKEN));
    return res;
}

#define WA_ERROR(code, title, details)                                                             \
    "{\"error\":{\"message\":\"(#" #code ") " title                                                \
    "\",\"type\":\"OAuthException\",\"code\":" #code                                               \
    ",\"error_data\":{\"messaging_product\":\"whatsapp\",\"details\":\"" details "\"},"            \
    "\"fbtrace_id\":\"AbCdEf\"}}"

static void test_classify(void **state)
{
    (void)state;
    struct outbound_result res = classify(
        200, "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"" WA_ID "\","
             "\"wa_id\":\"" WA_ID "\"}],\"messages\":[{\"id\":\"wamid.HBgLODQ5MDEyMzQ1NjcVAgAR\","
             "\"message_status\":\"accepted\"}]}");
    assert_int_equal(res.outcome, OUTBOUND_SENT);
    assert_string_equal(res.provider_message_id, "wamid.HBgLODQ5MDEyMzQ1NjcVAgAR");
    res = classify(200, "{\"messages\":[]}");
    assert_int_equal(res.outcome, OUTBOUND_SENT);
    assert_string_equal(res.provider_message_id, "");

    /* Outside the window, when Meta says so at once: its code and words. */
    res = classify(400, WA_ERROR(131047, "Re-engagement message",
                                 "Message failed to send because more than 24 hours have passed "
                                 "since the customer last replied to this number."));
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "131047");
    assert_string_equal(res.reason, "(#131047) Re-engagement message: Message failed to send "
                                    "because more than 24 hours have passed since the customer "
                                    "last replied to this number. (fbtrace_id AbCdEf)");
    /* Rate limits and temporary faults: again later. */
    static const struct {
        long status;
        const char *code, *body;
    } again[] = {
        {400, "130429",
         WA_ERROR(130429, "Rate limit hit", "Cloud API message throughput has been reached.")},
        {400, "131056",
         WA_ERROR(131056, "(Business Account, Consumer Account) pair rate limit hit",
                  "too many messages")},
        {400, "80007", WA_ERROR(80007, "Rate limit issues", "x")},
        {500, "131000", WA_ERROR(131000, "Something went wrong", "retry later")},
        {503, "131016", WA_ERROR(131016, "Service unavailable", "x")},
    };
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
        res = classify(again[i].status, again[i].body);
        assert_int_equal(res.outcome, OUTBOUND_RETRY);
        assert_string_equal(res.code, again[i].code);
    }
    /* Final: the token (401 on WhatsApp), parameters, templates. */
    static const struct {
        long status;
        const char *code, *body;
    } final[] = {
        {401, "190",
         "{\"error\":{\"message\":\"Error validating access token: Session has expired\","
         "\"type\":\"OAuthException\",\"code\":190,\"error_subcode\":463,\"fbtrace_id\":\"x\"}}"},
        {400, "100", WA_ERROR(100, "Invalid parameter", "to must be a phone number.")},
        {400, "131030", WA_ERROR(131030, "Recipient phone number not in allowed list", "x")},
        {404, "132001", WA_ERROR(132001, "Template name does not exist in the translation", "x")},
        {403, "10", WA_ERROR(10, "Application does not have permission for this action", "x")},
    };
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++) {
        res = classify(final[i].status, final[i].body);
        assert_int_equal(res.outcome, OUTBOUND_FAILED);
        assert_string_equal(res.code, final[i].code);
    }
    /* The token echoed back is not kept. */
    res = classify(401, "{\"error\":{\"message\":\"bad token " TOKEN "\",\"code\":190}}");
    assert_string_equal(res.reason, "bad token [redacted]");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caption_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("whatsapp_send", tests, NULL, NULL);
}
