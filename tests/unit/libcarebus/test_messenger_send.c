/* test_messenger_send.c — channels/messenger.c's senders and meta.c's Graph
 * send side: the Send API request for Messenger and Instagram byte for
 * byte, the 24-hour and 7-day windows at their boundaries, the settings,
 * and every classification of Graph's answers (bodies as Meta documents
 * them, messenger-platform/error-codes). No credential in any error text.
 * Pure: no network. Run one test by name: test_messenger_send <name>.
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

#include "channels/messenger.h"
#include "channels/outbound.h"

/* 2026-12-06T04:00:00Z */
#define NOW_US INT64_C(1796529600000000)
#define TOKEN "EAAGpage-token-for-tests"
#define PSID "2519000001"

static const char *const vars[] = {
    "CAREBUS_FACEBOOK_PAGE_TOKEN",   "CAREBUS_INSTAGRAM_PAGE_TOKEN", "CAREBUS_FACEBOOK_HUMAN_AGENT",
    "CAREBUS_INSTAGRAM_HUMAN_AGENT", "CAREBUS_GRAPH_API_BASE",       "CAREBUS_GRAPH_API_VERSION",
};

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("CAREBUS_FACEBOOK_PAGE_TOKEN", TOKEN, 1);
    setenv("CAREBUS_GRAPH_API_BASE", "http://127.0.0.1:9/", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

/* A reply to PSID on facebook, the customer's last message age_us ago (0:
 * unknown). */
struct fixture {
    Carebus__V1__MessageOutbound m;
    Carebus__V1__CustomerRef who;
    struct outbound_msg msg;
};

static void fixture_init(struct fixture *f, const char *text, int64_t age_us)
{
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    f->m = m;
    f->who = who;
    f->who.handle = PSID;
    f->m.recipient = &f->who;
    f->m.channel = CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK;
    f->m.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY;
    f->m.text = (char *)text;
    f->msg = (struct outbound_msg){&f->m, "0d6c0a0e-58a4-5c2e-9d7e-0c1d2e3f4a5b", NOW_US,
                                   age_us ? NOW_US - age_us : 0};
}

/* Builds with a fresh configuration of a; 0 or -1 as build returns. */
static int build(const struct outbound_adapter *a, const struct fixture *f,
                 struct outbound_request *req, struct outbound_result *res)
{
    char err[256] = "";
    void *cfg = a->configure(err, sizeof err);
    assert_non_null(cfg);
    assert_string_equal(err, "");
    memset(req, 0, sizeof *req);
    memset(res, 0, sizeof *res);
    int rc = a->build(cfg, NULL, &f->msg, req, res);
    a->destroy(cfg);
    if (rc != 0) {
        assert_int_equal(res->outcome, OUTBOUND_FAILED);
        assert_null(req->url);
        assert_null(strstr(res->reason, TOKEN));
    }
    return rc;
}

static void assert_graph_request(const struct outbound_request *req, const char *body)
{
    assert_int_equal(req->proto, OUTBOUND_HTTP);
    assert_string_equal(req->method, "POST");
    assert_string_equal(req->url, "http://127.0.0.1:9/v25.0/me/messages");
    assert_int_equal(req->nheaders, 2);
    assert_string_equal(req->headers[0], "Content-Type: application/json");
    assert_string_equal(req->headers[1], "Authorization: Bearer " TOKEN);
    assert_null(req->username);
    assert_string_equal(req->body, body);
    assert_int_equal(req->body_len, strlen(body));
}

/* --- the request -------------------------------------------------------------- */

static void test_text_in_window(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, "Chào bạn, đơn \"#123\" đã giao", OUTBOUND_HOUR_US);
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), 0);
    assert_graph_request(&req, "{\"recipient\":{\"id\":\"" PSID "\"},\"messaging_type\":"
                               "\"RESPONSE\",\"message\":{\"text\":\"Chào bạn, đơn \\\"#123\\\" "
                               "đã giao\"}}");
    /* The token is a header, never in the URL (URLs are logged). */
    assert_null(strstr(req.url, TOKEN));
    outbound_request_release(&req);
}

static void test_version_and_base(void **state)
{
    (void)state;
    setenv("CAREBUS_GRAPH_API_VERSION", "v19.0", 1);
    unsetenv("CAREBUS_GRAPH_API_BASE");
    struct fixture f;
    fixture_init(&f, "hi", 0);
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), 0);
    assert_string_equal(req.url, "https://graph.facebook.com/v19.0/me/messages");
    outbound_request_release(&req);
}

static void test_attachments(void **state)
{
    (void)state;
    static const struct {
        const char *type, *want;
    } kinds[] = {
        {"image/png", "image"},      {"video/mp4", "video"}, {"audio/mpeg", "audio"},
        {"application/pdf", "file"}, {NULL, "file"},
    };
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT;
    Carebus__V1__Attachment *atts[] = {&a, &a};
    a.name = "a";
    a.url = "https://cdn.example/a?x=1&y=2";
    struct outbound_request req;
    struct outbound_result res;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct fixture f;
        fixture_init(&f, "", OUTBOUND_HOUR_US);
        a.content_type = (char *)kinds[i].type;
        f.m.attachments = atts;
        f.m.n_attachments = 1;
        assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), 0);
        char want[512];
        snprintf(want, sizeof want,
                 "{\"recipient\":{\"id\":\"" PSID "\"},\"messaging_type\":\"RESPONSE\","
                 "\"message\":{\"attachment\":{\"type\":\"%s\",\"payload\":{\"url\":"
                 "\"https://cdn.example/a?x=1&y=2\"}}}}",
                 kinds[i].want);
        assert_graph_request(&req, want);
        outbound_request_release(&req);
    }
    /* Text and an attachment: one message, the text and the link. */
    struct fixture f;
    fixture_init(&f, "Hóa đơn", OUTBOUND_HOUR_US);
    a.content_type = "application/pdf";
    a.name = "hoa-don.pdf";
    f.m.attachments = atts;
    f.m.n_attachments = 1;
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), 0);
    assert_graph_request(&req, "{\"recipient\":{\"id\":\"" PSID "\"},\"messaging_type\":"
                               "\"RESPONSE\",\"message\":{\"text\":\"Hóa đơn\\nhoa-don.pdf: "
                               "https://cdn.example/a?x=1&y=2\"}}");
    outbound_request_release(&req);
    /* Two attachments without text: links too. */
    fixture_init(&f, "", OUTBOUND_HOUR_US);
    f.m.attachments = atts;
    f.m.n_attachments = 2;
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), 0);
    assert_non_null(strstr(req.body, "\"text\":\"hoa-don.pdf: https://cdn.example/a?x=1&y=2\\n"
                                     "hoa-don.pdf: https://cdn.example/a?x=1&y=2\""));
    outbound_request_release(&req);
}

static void test_refused_before_sending(void **state)
{
    (void)state;
    struct fixture f;
    struct outbound_request req;
    struct outbound_result res;
    fixture_init(&f, "hi", OUTBOUND_HOUR_US);
    f.who.handle = "";
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), -1);
    assert_string_equal(res.code, "no_recipient");
    assert_string_equal(res.reason, "no recipient on facebook");
    fixture_init(&f, "hi", OUTBOUND_HOUR_US);
    f.m.recipient = NULL;
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), -1);
    assert_string_equal(res.code, "no_recipient");
    fixture_init(&f, "", OUTBOUND_HOUR_US);
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), -1);
    assert_string_equal(res.code, "empty_message");
}

/* --- windows --------------------------------------------------------------------- */

static const char *messaging_type(const struct outbound_request *req)
{
    if (strstr(req->body, "\"messaging_type\":\"RESPONSE\",\"message\""))
        return "RESPONSE";
    if (strstr(req->body, "\"messaging_type\":\"MESSAGE_TAG\",\"tag\":\"HUMAN_AGENT\",\"message\""))
        return "HUMAN_AGENT";
    return "?";
}

/* The outcome of a reply whose customer last wrote age_us ago: the
 * messaging type sent, or the failure's code. */
static const char *window(const struct outbound_adapter *a, Carebus__V1__OutboundKind kind,
                          int64_t age_us, char *reason, size_t cap)
{
    static char got[64];
    struct fixture f;
    fixture_init(&f, "hi", age_us);
    f.m.kind = kind;
    struct outbound_request req;
    struct outbound_result res;
    if (build(a, &f, &req, &res) != 0) {
        snprintf(reason, cap, "%s", res.reason);
        snprintf(got, sizeof got, "%s", res.code);
        return got;
    }
    snprintf(got, sizeof got, "%s", messaging_type(&req));
    reason[0] = '\0';
    outbound_request_release(&req);
    return got;
}

#define REPLY CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY
#define ACK CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_ACKNOWLEDGEMENT

static void test_window_without_human_agent(void **state)
{
    (void)state;
    const struct outbound_adapter *a = &messenger_facebook_outbound;
    char why[512];
    /* Unknown: Meta judges. Exactly 24 hours: still inside. */
    assert_string_equal(window(a, REPLY, 0, why, sizeof why), "RESPONSE");
    assert_string_equal(window(a, REPLY, OUTBOUND_DAY_US, why, sizeof why), "RESPONSE");
    /* A last message in the future (clocks) is inside. */
    assert_string_equal(window(a, REPLY, -OUTBOUND_HOUR_US, why, sizeof why), "RESPONSE");
    assert_string_equal(window(a, REPLY, OUTBOUND_DAY_US + 1, why, sizeof why), "outside_window");
    assert_string_equal(why, "outside the 24-hour window: the customer last wrote 24 hours ago, "
                             "and the HUMAN_AGENT tag is off (CAREBUS_FACEBOOK_HUMAN_AGENT)");
    assert_string_equal(window(a, REPLY, 30 * OUTBOUND_DAY_US, why, sizeof why), "outside_window");
    assert_non_null(strstr(why, "outside the 24-hour window"));
    setenv("CAREBUS_FACEBOOK_HUMAN_AGENT", "0", 1);
    assert_string_equal(window(a, REPLY, 2 * OUTBOUND_DAY_US, why, sizeof why), "outside_window");
}

static void test_window_with_human_agent(void **state)
{
    (void)state;
    setenv("CAREBUS_FACEBOOK_HUMAN_AGENT", "1", 1);
    const struct outbound_adapter *a = &messenger_facebook_outbound;
    char why[512];
    assert_string_equal(window(a, REPLY, OUTBOUND_DAY_US, why, sizeof why), "RESPONSE");
    assert_string_equal(window(a, REPLY, OUTBOUND_DAY_US + 1, why, sizeof why), "HUMAN_AGENT");
    assert_string_equal(window(a, REPLY, 7 * OUTBOUND_DAY_US, why, sizeof why), "HUMAN_AGENT");
    assert_string_equal(window(a, REPLY, 7 * OUTBOUND_DAY_US + 1, why, sizeof why),
                        "outside_window");
    assert_string_equal(why, "outside the 7-day window of the HUMAN_AGENT tag: the customer last "
                             "wrote 7 days ago");
    /* The tag is for a human agent's replies: not acknowledgements. */
    assert_string_equal(window(a, ACK, OUTBOUND_DAY_US, why, sizeof why), "RESPONSE");
    assert_string_equal(window(a, ACK, 2 * OUTBOUND_DAY_US, why, sizeof why), "outside_window");
    assert_string_equal(why, "outside the 24-hour window: the customer last wrote 48 hours ago, "
                             "and the HUMAN_AGENT tag is for an agent's replies only");
    /* The whole request with the tag. */
    struct fixture f;
    fixture_init(&f, "xin lỗi vì chậm trễ", 3 * OUTBOUND_DAY_US);
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(a, &f, &req, &res), 0);
    assert_graph_request(&req, "{\"recipient\":{\"id\":\"" PSID "\"},\"messaging_type\":"
                               "\"MESSAGE_TAG\",\"tag\":\"HUMAN_AGENT\",\"message\":{\"text\":"
                               "\"xin lỗi vì chậm trễ\"}}");
    outbound_request_release(&req);
}

static void test_window_from_the_message(void **state)
{
    (void)state;
    /* courier does not know the window: the message's last_inbound_at. */
    struct fixture f;
    fixture_init(&f, "hi", 0);
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = (NOW_US - 2 * OUTBOUND_DAY_US) / 1000000;
    f.m.last_inbound_at = &ts;
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), -1);
    assert_string_equal(res.code, "outside_window");
    /* What courier saw (a newer message) wins. */
    f.msg.last_inbound_us = NOW_US - OUTBOUND_HOUR_US;
    assert_int_equal(build(&messenger_facebook_outbound, &f, &req, &res), 0);
    outbound_request_release(&req);
}

/* --- Instagram --------------------------------------------------------------------- */

static void test_instagram(void **state)
{
    (void)state;
    const struct outbound_adapter *ig = &messenger_instagram_outbound;
    struct fixture f;
    fixture_init(&f, "hi", 2 * OUTBOUND_DAY_US);
    f.m.channel = CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM;
    f.who.handle = "17841400000000099"; /* an IGSID */
    struct outbound_request req;
    struct outbound_result res;
    /* The Page's token and HUMAN_AGENT setting, unless its own. */
    setenv("CAREBUS_FACEBOOK_HUMAN_AGENT", "1", 1);
    assert_int_equal(build(ig, &f, &req, &res), 0);
    assert_string_equal(req.headers[1], "Authorization: Bearer " TOKEN);
    assert_string_equal(req.body,
                        "{\"recipient\":{\"id\":\"17841400000000099\"},\"messaging_type\":"
                        "\"MESSAGE_TAG\",\"tag\":\"HUMAN_AGENT\",\"message\":{\"text\":"
                        "\"hi\"}}");
    outbound_request_release(&req);
    setenv("CAREBUS_INSTAGRAM_PAGE_TOKEN", "IGtoken", 1);
    setenv("CAREBUS_INSTAGRAM_HUMAN_AGENT", "off", 1);
    assert_int_equal(build(ig, &f, &req, &res), -1);
    assert_string_equal(res.code, "outside_window");
    assert_non_null(strstr(res.reason, "(CAREBUS_INSTAGRAM_HUMAN_AGENT)"));
    f.msg.last_inbound_us = NOW_US;
    assert_int_equal(build(ig, &f, &req, &res), 0);
    assert_string_equal(req.headers[1], "Authorization: Bearer IGtoken");
    assert_string_equal(req.url, "http://127.0.0.1:9/v25.0/me/messages");
    outbound_request_release(&req);
    f.who.handle = NULL;
    assert_int_equal(build(ig, &f, &req, &res), -1);
    assert_string_equal(res.reason, "no recipient on instagram");
}

/* --- settings -------------------------------------------------------------------------- */

static void test_settings(void **state)
{
    (void)state;
    char err[256] = "";
    unsetenv("CAREBUS_FACEBOOK_PAGE_TOKEN");
    /* Not configured: NULL without an error, for both channels. */
    assert_null(messenger_facebook_outbound.configure(err, sizeof err));
    assert_string_equal(err, "");
    assert_null(messenger_instagram_outbound.configure(err, sizeof err));
    assert_string_equal(err, "");
    /* Instagram alone. */
    setenv("CAREBUS_INSTAGRAM_PAGE_TOKEN", "IGtoken", 1);
    void *cfg = messenger_instagram_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    messenger_instagram_outbound.destroy(cfg);
    assert_null(messenger_facebook_outbound.configure(err, sizeof err));

    setenv("CAREBUS_FACEBOOK_PAGE_TOKEN", TOKEN, 1);
    static const struct {
        const char *var, *value, *err;
    } bad[] = {
        {"CAREBUS_GRAPH_API_BASE", "graph.facebook.com",
         "CAREBUS_GRAPH_API_BASE: expected an http(s) URL, got \"graph.facebook.com\""},
        {"CAREBUS_GRAPH_API_VERSION", "25.0",
         "CAREBUS_GRAPH_API_VERSION: expected v<major>.<minor>, got \"25.0\""},
        {"CAREBUS_GRAPH_API_VERSION", "v25", NULL},
        {"CAREBUS_GRAPH_API_VERSION", "v25.0/x", NULL},
        {"CAREBUS_FACEBOOK_HUMAN_AGENT", "sometimes", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setup(NULL);
        setenv(bad[i].var, bad[i].value, 1);
        err[0] = '\0';
        assert_null(messenger_facebook_outbound.configure(err, sizeof err));
        if (bad[i].err)
            assert_string_equal(err, bad[i].err);
        else
            assert_non_null(strstr(err, bad[i].var));
        assert_null(strstr(err, TOKEN));
    }
}

/* --- classification -------------------------------------------------------------------- */

static struct outbound_result classify_as(const struct outbound_adapter *a, long status,
                                          const char *retry_after, const char *body)
{
    char err[256] = "";
    void *cfg = a->configure(err, sizeof err);
    assert_non_null(cfg);
    struct outbound_response resp = {.status = status,
                                     .retry_after = retry_after,
                                     .body = body,
                                     .body_len = body ? strlen(body) : 0};
    struct outbound_result res = {.retry_after_ms = -1};
    a->classify(cfg, &resp, NOW_US, &res);
    a->destroy(cfg);
    assert_null(strstr(res.reason, TOKEN));
    assert_null(strstr(res.code, TOKEN));
    return res;
}

#define CLASSIFY(status, body) classify_as(&messenger_facebook_outbound, status, NULL, body)

static void test_classify_success(void **state)
{
    (void)state;
    struct outbound_result res =
        CLASSIFY(200, "{\"recipient_id\":\"" PSID "\",\"message_id\":\"m_AG5Hz2Uq7tuwNEhXfY\"}");
    assert_int_equal(res.outcome, OUTBOUND_SENT);
    assert_string_equal(res.provider_message_id, "m_AG5Hz2Uq7tuwNEhXfY");
    assert_string_equal(res.code, "");
    /* Accepted with a body we cannot read: sent (again would be twice). */
    res = CLASSIFY(200, "not json");
    assert_int_equal(res.outcome, OUTBOUND_SENT);
    assert_string_equal(res.provider_message_id, "");
}

static void test_classify_rate_limits(void **state)
{
    (void)state;
    static const struct {
        const char *code, *body;
    } limits[] = {
        {"4", "{\"error\":{\"message\":\"(#4) Application request limit reached\","
              "\"type\":\"OAuthException\",\"code\":4,\"fbtrace_id\":\"A1\"}}"},
        {"17", "{\"error\":{\"message\":\"(#17) User request limit reached\",\"code\":17}}"},
        {"32", "{\"error\":{\"message\":\"(#32) Page request limit reached\",\"code\":32}}"},
        {"613", "{\"error\":{\"message\":\"(#613) Calls to this API have exceeded the rate "
                "limit.\",\"type\":\"OAuthException\",\"code\":613,\"fbtrace_id\":\"B2\"}}"},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct outbound_result res = CLASSIFY(400, limits[i].body);
        assert_int_equal(res.outcome, OUTBOUND_RETRY);
        assert_string_equal(res.code, limits[i].code);
        assert_int_equal(res.retry_after_ms, -1);
    }
    struct outbound_result res = CLASSIFY(400, limits[3].body);
    assert_string_equal(res.reason, "(#613) Calls to this API have exceeded the rate limit. "
                                    "(fbtrace_id B2)");
    /* A 429 with Retry-After: honoured, with Meta's code. */
    res = classify_as(&messenger_facebook_outbound, 429, "12", limits[0].body);
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_int_equal(res.retry_after_ms, 12000);
    assert_string_equal(res.code, "4");
}

static void test_classify_transient(void **state)
{
    (void)state;
    struct outbound_result res = CLASSIFY(
        500, "{\"error\":{\"message\":\"An unexpected error has occurred. Please retry your "
             "request later.\",\"type\":\"OAuthException\",\"code\":2,\"is_transient\":true,"
             "\"fbtrace_id\":\"C3\"}}");
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "2");
    res = CLASSIFY(500, "{\"error\":{\"message\":\"Temporary send message failure. Please try "
                        "again later.\",\"code\":1200}}");
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "1200");
    /* is_transient on a 400 is Meta saying "again". */
    res = CLASSIFY(400, "{\"error\":{\"message\":\"x\",\"code\":100,\"is_transient\":true}}");
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    /* 5xx without a body, and no answer at all. */
    res = CLASSIFY(502, NULL);
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "http_502");
    struct outbound_response none = {.transport_error = 7};
    char err[64];
    void *cfg = messenger_facebook_outbound.configure(err, sizeof err);
    res = (struct outbound_result){.retry_after_ms = -1};
    messenger_facebook_outbound.classify(cfg, &none, NOW_US, &res);
    messenger_facebook_outbound.destroy(cfg);
    assert_int_equal(res.outcome, OUTBOUND_RETRY);
    assert_string_equal(res.code, "transport");
}

static void test_classify_permanent(void **state)
{
    (void)state;
    /* A bad or expired Page token: failed, no refresh (a Page token has none). */
    struct outbound_result res =
        CLASSIFY(400, "{\"error\":{\"message\":\"Error validating access token: Session has "
                      "expired on Tuesday, 01-Dec-25 06:00:00 PST.\",\"type\":\"OAuthException\","
                      "\"code\":190,\"error_subcode\":463,\"fbtrace_id\":\"D4\"}}");
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "190");
    assert_string_equal(res.reason,
                        "Error validating access token: Session has expired on "
                        "Tuesday, 01-Dec-25 06:00:00 PST. (subcode 463, fbtrace_id D4)");
    /* Outside the window, as Meta says it. */
    res = CLASSIFY(400, "{\"error\":{\"message\":\"(#10) This message is sent outside of allowed "
                        "window.\",\"type\":\"OAuthException\",\"code\":10,\"error_subcode\":"
                        "2018278,\"fbtrace_id\":\"E5\"}}");
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "10");
    assert_string_equal(res.reason, "(#10) This message is sent outside of allowed window. "
                                    "(subcode 2018278, fbtrace_id E5)");
    /* Blocked, not receiving, unknown recipient, not reviewed. */
    static const struct {
        const char *code, *body;
    } refusals[] = {
        {"551", "{\"error\":{\"message\":\"(#551) This person isn't available right now.\","
                "\"code\":551,\"error_subcode\":1545041}}"},
        {"10", "{\"error\":{\"message\":\"(#10) This person isn't receiving messages from you "
               "right now.\",\"code\":10,\"error_subcode\":2018108}}"},
        {"100", "{\"error\":{\"message\":\"(#100) No matching user found\",\"code\":100,"
                "\"error_subcode\":2018001}}"},
        {"200", "{\"error\":{\"message\":\"(#200) Cannot message users who are not admins\","
                "\"code\":200,\"error_subcode\":2018028}}"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        res = CLASSIFY(400, refusals[i].body);
        assert_int_equal(res.outcome, OUTBOUND_FAILED);
        assert_string_equal(res.code, refusals[i].code);
    }
    res = CLASSIFY(400, refusals[0].body);
    assert_string_equal(res.reason, "(#551) This person isn't available right now. (subcode "
                                    "1545041)");
    /* Not Graph's envelope. */
    res = CLASSIFY(404, "<html>not found</html>");
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "http_404");
    assert_string_equal(res.reason, "the Graph API answered 404");
    res = CLASSIFY(400, "{\"error\":{\"message\":\"odd\"}}");
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.code, "http_400");
    assert_string_equal(res.reason, "odd");
}

static void test_classify_never_shows_the_token(void **state)
{
    (void)state;
    struct outbound_result res = CLASSIFY(
        400, "{\"error\":{\"message\":\"Invalid OAuth access token " TOKEN "\",\"code\":190,"
             "\"error_data\":{\"details\":\"token " TOKEN "\"},\"fbtrace_id\":\"" TOKEN "\"}}");
    assert_int_equal(res.outcome, OUTBOUND_FAILED);
    assert_string_equal(res.reason, "Invalid OAuth access token [redacted]: token [redacted] "
                                    "(fbtrace_id [redacted])");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_in_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_and_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attachments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_before_sending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_without_human_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_with_human_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_from_the_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instagram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify_rate_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify_permanent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classify_never_shows_the_token, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("messenger_send", tests, NULL, NULL);
}
