/* test_zalo_outbound.c — channels/zalo.c's outbound side: the
 * customer-service message byte for byte, Zalo's answers (HTTP 200 with a
 * negative "error"), the OA token's refresh, the settings.
 *
 * Answers in the shapes of Zalo's documentation (providers' notes, section
 * 1). Pure: no network. Every failure's text is checked for the
 * credentials. Run one test by name: test_zalo_outbound <name>.
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
#include "channels/zalo.h"

/* 2026-12-06T04:00:00Z */
#define NOW_US INT64_C(1796529600000000)
#define USER "2512523625412515"
#define ACCESS "zalo-access-token-for-tests"
#define REFRESH "zalo-refresh/token+for=tests"
#define SECRET "zalo-app-secret-for-tests"
#define APP_ID "3608465248940903967"

static const char *const settings[] = {"CAREBUS_ZALO_ACCESS_TOKEN", "CAREBUS_ZALO_REFRESH_TOKEN",
                                       "CAREBUS_ZALO_SECRET_KEY",   "CAREBUS_ZALO_APP_ID",
                                       "CAREBUS_ZALO_API_BASE",     "CAREBUS_ZALO_OAUTH_BASE"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        unsetenv(settings[i]);
}

static void *g_cfg;

static int setup(void **state)
{
    (void)state;
    clear_env();
    setenv("CAREBUS_ZALO_ACCESS_TOKEN", ACCESS, 1);
    setenv("CAREBUS_ZALO_REFRESH_TOKEN", REFRESH, 1);
    setenv("CAREBUS_ZALO_SECRET_KEY", SECRET, 1);
    setenv("CAREBUS_ZALO_APP_ID", APP_ID, 1);
    setenv("CAREBUS_ZALO_API_BASE", "http://127.0.0.1:8123/", 1);
    setenv("CAREBUS_ZALO_OAUTH_BASE", "http://127.0.0.1:8124", 1);
    char err[256] = "x";
    g_cfg = zalo_outbound.configure(err, sizeof err);
    assert_non_null(g_cfg);
    assert_string_equal(err, "");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zalo_outbound.destroy(g_cfg);
    g_cfg = NULL;
    clear_env();
    return 0;
}

/* No failure text holds a credential. */
static void assert_no_secret(const char *s)
{
    static const char *const secrets[] = {ACCESS, REFRESH, SECRET, "rotated-access",
                                          "rotated-refresh"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(s, secrets[i])) {
            fprintf(stderr, "a credential in \"%s\"\n", s);
            fail();
        }
}

static const struct outbound_credentials g_cred = {ACCESS, REFRESH, 0};

/* Builds m (recipient USER unless who is given): 0 with *req, or -1 with *res. */
static int build(Carebus__V1__MessageOutbound *m, const char *who,
                 const struct outbound_credentials *cred, struct outbound_request *req,
                 struct outbound_result *res)
{
    Carebus__V1__CustomerRef r = CAREBUS__V1__CUSTOMER_REF__INIT;
    r.handle = (char *)(who ? who : USER);
    r.name = "Lan";
    m->recipient = &r;
    m->channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    struct outbound_msg msg = {m, "0b9d6f4e-3f0a-4f55-9b8e-2d6c1a7e5f10", NOW_US, 0};
    memset(req, 0, sizeof *req);
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    int rc = zalo_outbound.build(g_cfg, cred, &msg, req, res);
    m->recipient = NULL;
    if (rc != 0) {
        assert_int_equal(res->outcome, OUTBOUND_FAILED);
        assert_no_secret(res->reason);
        assert_no_secret(res->code);
        outbound_request_release(req);
    }
    return rc;
}

static void test_text_request(void **state)
{
    (void)state;
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.text = "Chào anh, đơn hàng \"A/1\" đã được giao.\nCảm ơn anh!";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, NULL, &g_cred, &req, &res), 0);
    assert_int_equal(req.proto, OUTBOUND_HTTP);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "http://127.0.0.1:8123/v3.0/oa/message/cs");
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(req.headers[0], "Content-Type: application/json");
    assert_string_equal(req.headers[1], "access_token: " ACCESS);
    const char *want = "{\"recipient\":{\"user_id\":\"" USER "\"},\"message\":{\"text\":"
                       "\"Chào anh, đơn hàng \\\"A/1\\\" đã được giao.\\nCảm ơn anh!\"}}";
    assert_string_equal(req.body, want);
    assert_int_equal(req.body_len, strlen(want));
    assert_null(req.username);
    assert_null(req.password);
    assert_int_equal(req.nrcpt, 0);
    assert_null(req.provider_message_id);
    outbound_request_release(&req);
}

static void test_default_bases(void **state)
{
    (void)state;
    unsetenv("CAREBUS_ZALO_API_BASE");
    unsetenv("CAREBUS_ZALO_OAUTH_BASE");
    char err[256];
    void *cfg = zalo_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    Carebus__V1__CustomerRef r = CAREBUS__V1__CUSTOMER_REF__INIT;
    r.handle = USER;
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.recipient = &r;
    m.text = "hi";
    struct outbound_msg msg = {&m, "d", NOW_US, 0};
    struct outbound_request req = {0};
    struct outbound_result res = {0};
    assert_int_equal(zalo_outbound.build(cfg, &g_cred, &msg, &req, &res), 0);
    assert_string_equal(req.url, "https://openapi.zalo.me/v3.0/oa/message/cs");
    outbound_request_release(&req);
    assert_int_equal(zalo_outbound.refresh_build(cfg, &g_cred, &req), 0);
    assert_string_equal(req.url, "https://oauth.zaloapp.com/v4/oa/access_token");
    outbound_request_release(&req);
    zalo_outbound.destroy(cfg);
}

static Carebus__V1__Attachment attachment(const char *name, const char *type, uint64_t size,
                                          const char *url, const char *media_id)
{
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT;
    a.name = (char *)name;
    a.content_type = (char *)type;
    a.size = size;
    a.url = (char *)url;
    a.media_id = (char *)media_id;
    return a;
}

/* The body of a message with one attachment a (and text, or none). */
static int build_with(Carebus__V1__Attachment *a, const char *text, struct outbound_request *req,
                      struct outbound_result *res)
{
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    Carebus__V1__Attachment *list[] = {a};
    m.text = (char *)(text ? text : "");
    m.attachments = list;
    m.n_attachments = 1;
    return build(&m, NULL, &g_cred, req, res);
}

static void test_image_by_url_and_by_id(void **state)
{
    (void)state;
    struct outbound_request req;
    struct outbound_result res;
    Carebus__V1__Attachment a =
        attachment("hoa-don.jpg", "image/jpeg", 52000, "https://cdn.example/bill.jpg", "");
    assert_int_equal(build_with(&a, "Ảnh hoá đơn", &req, &res), 0);
    assert_string_equal(
        req.body, "{\"recipient\":{\"user_id\":\"" USER "\"},\"message\":{\"text\":\"Ảnh hoá "
                  "đơn\",\"attachment\":{\"type\":\"template\",\"payload\":{\"template_type\":"
                  "\"media\",\"elements\":[{\"media_type\":\"image\",\"url\":\"https://"
                  "cdn.example/bill.jpg\"}]}}}}");
    outbound_request_release(&req);

    /* An upload's attachment_id instead of the URL, never both. */
    a = attachment("bill.png", "image/png", 0, "https://cdn.example/bill.png", "wESbL5abc");
    assert_int_equal(build_with(&a, NULL, &req, &res), 0);
    assert_string_equal(req.body,
                        "{\"recipient\":{\"user_id\":\"" USER "\"},\"message\":{\"attachment\":{"
                        "\"type\":\"template\",\"payload\":{\"template_type\":\"media\","
                        "\"elements\":[{\"media_type\":\"image\",\"attachment_id\":"
                        "\"wESbL5abc\"}]}}}}");
    outbound_request_release(&req);

    /* No content type: the name's extension, else the URL's. */
    a = attachment("ANH.PNG", "", 0, "https://cdn.example/x", "");
    assert_int_equal(build_with(&a, NULL, &req, &res), 0);
    outbound_request_release(&req);
    a = attachment("", "application/octet-stream", 0, "https://cdn.example/a/photo.jpeg?v=2", "");
    assert_int_equal(build_with(&a, NULL, &req, &res), 0);
    assert_non_null(strstr(req.body, "\"media_type\":\"image\""));
    outbound_request_release(&req);
}

static void test_file_by_token(void **state)
{
    (void)state;
    struct outbound_request req;
    struct outbound_result res;
    Carebus__V1__Attachment a =
        attachment("hop-dong.pdf", "application/pdf", 120000, "", "12i8LV3Bcmm");
    assert_int_equal(build_with(&a, NULL, &req, &res), 0);
    assert_string_equal(req.body, "{\"recipient\":{\"user_id\":\"" USER "\"},\"message\":{"
                                  "\"attachment\":{\"type\":\"file\",\"payload\":{\"token\":"
                                  "\"12i8LV3Bcmm\"}}}}");
    outbound_request_release(&req);
}

static void test_attachments_zalo_cannot_take(void **state)
{
    (void)state;
    struct outbound_request req;
    struct outbound_result res;
    struct {
        Carebus__V1__Attachment a;
        const char *text, *reason;
    } cases[] = {
        {attachment("hop-dong.pdf", "application/pdf", 0, "https://cdn.example/c.pdf", ""), NULL,
         "\"hop-dong.pdf\": Zalo takes a file only as an upload's token, not by URL"},
        {attachment("hop-dong.pdf", "application/pdf", 0, "", "tok"), "Hợp đồng",
         "\"hop-dong.pdf\": Zalo sends a file without text; send the text and the file as two "
         "replies"},
        {attachment("cuoi.gif", "image/gif", 0, "https://cdn.example/c.gif", ""), NULL,
         "\"cuoi.gif\" is a GIF: Zalo needs its width and height, which carebus does not know"},
        {attachment("big.jpg", "image/jpeg", 1048577, "https://cdn.example/big.jpg", ""), NULL,
         "\"big.jpg\" is 1048577 bytes: Zalo takes images of 1 MB at most"},
        {attachment("clip.mp4", "video/mp4", 0, "https://cdn.example/clip.mp4", ""), NULL,
         "\"clip.mp4\" (video/mp4): Zalo takes JPG and PNG images and PDF, DOC and DOCX files"},
        {attachment("", "", 0, "https://cdn.example/archive.zip", ""), NULL,
         "\"https://cdn.example/archive.zip\" (unknown type): Zalo takes JPG and PNG images and "
         "PDF, DOC and DOCX files"},
        {attachment("a.png", "image/png", 0, "ftp://cdn.example/a.png", ""), NULL,
         "\"a.png\" has neither an http(s) URL nor a Zalo attachment id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(build_with(&cases[i].a, cases[i].text, &req, &res), -1);
        assert_string_equal(res.code, "unsupported_attachment");
        assert_string_equal(res.reason, cases[i].reason);
    }

    /* One attachment a message. */
    Carebus__V1__Attachment a = attachment("a.jpg", "image/jpeg", 0, "https://x/a.jpg", "");
    Carebus__V1__Attachment b = attachment("b.jpg", "image/jpeg", 0, "https://x/b.jpg", "");
    Carebus__V1__Attachment *two[] = {&a, &b};
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.attachments = two;
    m.n_attachments = 2;
    assert_int_equal(build(&m, NULL, &g_cred, &req, &res), -1);
    assert_string_equal(res.reason, "2 attachments: Zalo takes one a message");
}

static void test_refused_before_sending(void **state)
{
    (void)state;
    struct outbound_request req;
    struct outbound_result res;
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.text = "Xin chào";
    assert_int_equal(build(&m, "", &g_cred, &req, &res), -1);
    assert_string_equal(res.code, "no_recipient");
    assert_string_equal(res.reason, "no recipient on zalo");

    struct outbound_credentials none = {0};
    assert_int_equal(build(&m, NULL, &none, &req, &res), -1);
    assert_string_equal(res.code, "no_credentials");
    assert_int_equal(build(&m, NULL, NULL, &req, &res), -1);
    assert_string_equal(res.code, "no_credentials");

    m.text = "";
    assert_int_equal(build(&m, NULL, &g_cred, &req, &res), -1);
    assert_string_equal(res.code, "empty_message");

    /* 2000 characters (Vietnamese: two bytes each) pass, 2001 do not. */
    char *text = malloc(2001 * 2 + 1);
    assert_non_null(text);
    for (size_t i = 0; i < 2001; i++)
        memcpy(text + 2 * i, "đ", 2);
    text[2000 * 2] = '\0';
    m.text = text;
    assert_int_equal(build(&m, NULL, &g_cred, &req, &res), 0);
    outbound_request_release(&req);
    memcpy(text + 2000 * 2, "đ", 3);
    assert_int_equal(build(&m, NULL, &g_cred, &req, &res), -1);
    assert_string_equal(res.code, "text_too_long");
    assert_string_equal(res.reason, "the text has 2001 characters: Zalo takes 2000 at most");
    free(text);
    m.text = "bad \xff utf-8";
    assert_int_equal(build(&m, NULL, &g_cred, &req, &res), -1);
    assert_string_equal(res.code, "invalid_text");
}

/* Zalo's answer (status, body) classified. */
static struct outbound_result classify(long status, int transport, const char *body)
{
    struct outbound_response resp = {status, transport, NULL, body, body ? strlen(body) : 0};
    struct outbound_result res = {.retry_after_ms = -1};
    zalo_outbound.classify(g_cfg, &resp, NOW_US, &res);
    assert_no_secret(res.reason);
    return res;
}

static void test_classify_success(void **state)
{
    (void)state;
    struct outbound_result r =
        classify(200, 0,
                 "{\"data\":{\"message_id\":\"63ecf43f0df7dba892e6\",\"user_id\":\"" USER "\","
                 "\"sent_time\":\"1626926349402\",\"quota\":{\"quota_type\":\"reply\",\"remain\":"
                 "\"8\",\"total\":\"8\"}},\"error\":0,\"message\":\"Success\"}");
    assert_int_equal(r.outcome, OUTBOUND_SENT);
    assert_string_equal(r.provider_message_id, "63ecf43f0df7dba892e6");
    /* No quota (retired in 2026): still sent. */
    r = classify(200, 0, "{\"data\":{\"message_id\":\"a1\"},\"error\":0,\"message\":\"Success\"}");
    assert_int_equal(r.outcome, OUTBOUND_SENT);
    assert_string_equal(r.provider_message_id, "a1");
}

static void test_classify_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        outbound_outcome outcome;
        const char *code, *reason;
        int64_t retry_after_ms;
    } cases[] = {
        {"{\"error\":-216,\"message\":\"Access token is invalid\"}", OUTBOUND_REAUTH, "-216",
         "Access token is invalid", -1},
        {"{\"error\":-220,\"message\":\"access_token is expired or removed\"}", OUTBOUND_REAUTH,
         "-220", "access_token is expired or removed", -1},
        {"{\"error\":-32,\"message\":\"Your application reached limit call api\"}", OUTBOUND_RETRY,
         "-32", "Your application reached limit call api", 60000},
        {"{\"error\":-200,\"message\":\"Send message failed\"}", OUTBOUND_RETRY, "-200",
         "Send message failed", -1},
        {"{\"error\":-230,\"message\":\"User has not interacted with the OA in the past 7 "
         "days\"}",
         OUTBOUND_FAILED, "-230", "User has not interacted with the OA in the past 7 days", -1},
        {"{\"error\":-232,\"message\":\"User has not interacted with the OA, or the last "
         "interaction has expired\"}",
         OUTBOUND_FAILED, "-232",
         "User has not interacted with the OA, or the last interaction has expired", -1},
        {"{\"error\":-227,\"message\":\"User is banned or has been inactive for more than 45 "
         "days\"}",
         OUTBOUND_FAILED, "-227", "User is banned or has been inactive for more than 45 days", -1},
        {"{\"error\":-244,\"message\":\"User has restricted this message type from your OA\"}",
         OUTBOUND_FAILED, "-244", "User has restricted this message type from your OA", -1},
        {"{\"error\":-213,\"message\":\"User has not followed OA\"}", OUTBOUND_FAILED, "-213",
         "User has not followed OA", -1},
        {"{\"error\":-201,\"message\":\"user_id is invalid!\"}", OUTBOUND_FAILED, "-201",
         "user_id is invalid!", -1},
        {"{\"error\":-233,\"message\":\"message type is invalid or not support\"}", OUTBOUND_FAILED,
         "-233", "message type is invalid or not support", -1},
        {"{\"error\":-100,\"message\":\"attachment_id was expired\"}", OUTBOUND_FAILED, "-100",
         "attachment_id was expired", -1},
        {"{\"error\":-240,\"message\":\"MessageV2 API has been shut down, please switch to "
         "MessageV3\"}",
         OUTBOUND_FAILED, "-240", "MessageV2 API has been shut down, please switch to MessageV3",
         -1},
        {"{\"error\":-218}", OUTBOUND_FAILED, "-218", "zalo refused it", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct outbound_result r = classify(200, 0, cases[i].body);
        assert_int_equal(r.outcome, cases[i].outcome);
        assert_string_equal(r.code, cases[i].code);
        assert_string_equal(r.reason, cases[i].reason);
        assert_int_equal(r.retry_after_ms, cases[i].retry_after_ms);
        assert_string_equal(r.provider_message_id, "");
    }
}

static void test_classify_outside_zalo(void **state)
{
    (void)state;
    /* A gateway's page, a timeout, a refused connection: the outcome is
     * unknown, so again. */
    struct outbound_result r = classify(502, 0, "<html><body><h1>502</h1></body></html>");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.code, "http_502");
    r = classify(0, 28, NULL);
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.code, "transport");
    r = classify(200, 0, "<html>ok</html>");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.code, "bad_answer");
    r = classify(200, 0, "{\"message\":\"Success\"}");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    /* A wrong base URL: no use trying again. */
    r = classify(404, 0, "Not Found");
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.code, "http_404");
    assert_string_equal(r.reason, "zalo answered HTTP 404");
}

static void test_refresh_request(void **state)
{
    (void)state;
    struct outbound_request req = {0};
    assert_int_equal(zalo_outbound.refresh_build(g_cfg, &g_cred, &req), 0);
    assert_int_equal(req.proto, OUTBOUND_HTTP);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "http://127.0.0.1:8124/v4/oa/access_token");
    assert_int_equal(req.nheaders, 2);
    assert_string_equal(req.headers[0], "Content-Type: application/x-www-form-urlencoded");
    assert_string_equal(req.headers[1], "secret_key: " SECRET);
    assert_string_equal(req.body, "refresh_token=zalo-refresh%2Ftoken%2Bfor%3Dtests&app_id=" APP_ID
                                  "&grant_type=refresh_token");
    assert_int_equal(req.body_len, strlen(req.body));
    assert_null(req.username);
    outbound_request_release(&req);

    /* Nothing to refresh with. */
    struct outbound_credentials none = {0};
    assert_int_equal(zalo_outbound.refresh_build(g_cfg, &none, &req), -1);
    outbound_request_release(&req);
    unsetenv("CAREBUS_ZALO_REFRESH_TOKEN");
    unsetenv("CAREBUS_ZALO_SECRET_KEY");
    unsetenv("CAREBUS_ZALO_APP_ID");
    char err[256];
    void *cfg = zalo_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    assert_int_equal(zalo_outbound.refresh_build(cfg, &g_cred, &req), -1);
    outbound_request_release(&req);
    zalo_outbound.destroy(cfg);
}

static int refresh_parse(long status, int transport, const char *body,
                         struct outbound_credentials *out, char *err, size_t errlen)
{
    struct outbound_response resp = {status, transport, NULL, body, body ? strlen(body) : 0};
    *out = g_cred;
    err[0] = '\0';
    int rc = zalo_outbound.refresh_parse(&resp, NOW_US, out, err, errlen);
    assert_no_secret(err);
    return rc;
}

static void test_refresh_answer(void **state)
{
    (void)state;
    struct outbound_credentials t;
    char err[256];
    /* Zalo's documented answer: expires_in a string. */
    assert_int_equal(refresh_parse(200, 0,
                                   "{\"access_token\":\"rotated-access\",\"refresh_token\":"
                                   "\"rotated-refresh\",\"expires_in\":\"90000\"}",
                                   &t, err, sizeof err),
                     0);
    assert_string_equal(t.access_token, "rotated-access");
    assert_string_equal(t.refresh_token, "rotated-refresh");
    assert_int_equal(t.expires_us, NOW_US + INT64_C(90000000000));
    /* A number; no new refresh token keeps the old one. */
    assert_int_equal(refresh_parse(200, 0,
                                   "{\"access_token\":\"rotated-access\",\"expires_in\":3600}", &t,
                                   err, sizeof err),
                     0);
    assert_string_equal(t.refresh_token, REFRESH);
    assert_int_equal(t.expires_us, NOW_US + INT64_C(3600000000));
    /* An unreadable lifetime is an unknown one, never a lost rotation. */
    assert_int_equal(refresh_parse(200, 0,
                                   "{\"access_token\":\"rotated-access\",\"refresh_token\":"
                                   "\"rotated-refresh\",\"expires_in\":\"soon\"}",
                                   &t, err, sizeof err),
                     0);
    assert_string_equal(t.refresh_token, "rotated-refresh");
    assert_int_equal(t.expires_us, 0);
}

static void test_refresh_refused(void **state)
{
    (void)state;
    struct outbound_credentials t;
    char err[256];
    assert_int_equal(refresh_parse(200, 0,
                                   "{\"error\":-14014,\"error_name\":\"Invalid refresh_token\","
                                   "\"error_reason\":\"Refresh token is invalid or expired\","
                                   "\"ref_doc\":\"\",\"error_description\":\"x\"}",
                                   &t, err, sizeof err),
                     -1);
    assert_string_equal(err, "zalo refused the refresh: -14014 Invalid refresh_token: Refresh "
                             "token is invalid or expired");
    /* Nothing changed. */
    assert_string_equal(t.access_token, ACCESS);
    assert_string_equal(t.refresh_token, REFRESH);
    assert_int_equal(refresh_parse(200, 0, "{\"error\":-14002,\"message\":\"Invalid appId\"}", &t,
                                   err, sizeof err),
                     -1);
    assert_string_equal(err, "zalo refused the refresh: -14002: Invalid appId");
    assert_int_equal(refresh_parse(200, 0, "{\"expires_in\":\"90000\"}", &t, err, sizeof err), -1);
    assert_string_equal(err, "zalo's answer to the refresh has no access_token");
    assert_int_equal(refresh_parse(200, 0, "not json", &t, err, sizeof err), -1);
    assert_string_equal(err, "zalo's oauth server answered no JSON object");
    assert_int_equal(refresh_parse(503, 0, "", &t, err, sizeof err), -1);
    assert_string_equal(err, "zalo's oauth server answered HTTP 503");
    assert_int_equal(refresh_parse(0, 7, NULL, &t, err, sizeof err), -1);
    assert_string_equal(err, "no answer from zalo's oauth server (curl error 7)");
    /* A token that would break a header. */
    assert_int_equal(
        refresh_parse(200, 0, "{\"access_token\":\"a\\r\\nX: y\"}", &t, err, sizeof err), -1);
    assert_string_equal(t.access_token, ACCESS);
}

static void test_seed(void **state)
{
    (void)state;
    struct outbound_credentials t;
    assert_int_equal(zalo_outbound.credentials_seed(g_cfg, &t), 0);
    assert_string_equal(t.access_token, ACCESS);
    assert_string_equal(t.refresh_token, REFRESH);
    assert_int_equal(t.expires_us, 0);

    /* A refresh token alone: an access token that expired long ago, so the
     * first thing is a refresh. */
    unsetenv("CAREBUS_ZALO_ACCESS_TOKEN");
    char err[256];
    void *cfg = zalo_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    assert_int_equal(zalo_outbound.credentials_seed(cfg, &t), 0);
    assert_string_equal(t.access_token, "");
    assert_string_equal(t.refresh_token, REFRESH);
    assert_int_equal(t.expires_us, 1);
    zalo_outbound.destroy(cfg);

    /* The secret key alone (tokens from carebusctl): configured, no seed. */
    unsetenv("CAREBUS_ZALO_REFRESH_TOKEN");
    cfg = zalo_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    assert_int_equal(zalo_outbound.credentials_seed(cfg, &t), -1);
    zalo_outbound.destroy(cfg);
}

static void test_settings(void **state)
{
    (void)state;
    char err[256];
    clear_env();
    /* The inbound webhook's app id alone does not send. */
    setenv("CAREBUS_ZALO_APP_ID", APP_ID, 1);
    assert_null(zalo_outbound.configure(err, sizeof err));
    assert_string_equal(err, "");
    /* An access token alone sends (until it expires). */
    setenv("CAREBUS_ZALO_ACCESS_TOKEN", ACCESS, 1);
    unsetenv("CAREBUS_ZALO_APP_ID");
    void *cfg = zalo_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    zalo_outbound.destroy(cfg);
    /* A refresh token needs the app's id and secret key. */
    setenv("CAREBUS_ZALO_REFRESH_TOKEN", REFRESH, 1);
    assert_null(zalo_outbound.configure(err, sizeof err));
    assert_string_equal(err, "refreshing the OA token needs CAREBUS_ZALO_APP_ID and "
                             "CAREBUS_ZALO_SECRET_KEY (the app's secret key)");
    setenv("CAREBUS_ZALO_APP_ID", APP_ID, 1);
    setenv("CAREBUS_ZALO_SECRET_KEY", SECRET "\n", 1);
    assert_null(zalo_outbound.configure(err, sizeof err));
    assert_string_equal(err, "CAREBUS_ZALO_SECRET_KEY has a control character");
    assert_no_secret(err);
    setenv("CAREBUS_ZALO_SECRET_KEY", SECRET, 1);
    setenv("CAREBUS_ZALO_API_BASE", "openapi.zalo.me", 1);
    assert_null(zalo_outbound.configure(err, sizeof err));
    assert_string_equal(err, "CAREBUS_ZALO_API_BASE must be an http(s) URL");
    unsetenv("CAREBUS_ZALO_API_BASE");
    setenv("CAREBUS_ZALO_OAUTH_BASE", "ftp://oauth", 1);
    assert_null(zalo_outbound.configure(err, sizeof err));
    assert_string_equal(err, "CAREBUS_ZALO_OAUTH_BASE must be an http(s) URL");
}

static void test_table(void **state)
{
    (void)state;
    assert_ptr_equal(outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_ZALO), &zalo_outbound);
    assert_string_equal(zalo_outbound.name, "zalo");
    setenv("CAREBUS_CHANNEL_ZALO_MODE", "integrator", 1);
    assert_null(outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_ZALO));
    unsetenv("CAREBUS_CHANNEL_ZALO_MODE");
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_text_request),
        T(test_default_bases),
        T(test_image_by_url_and_by_id),
        T(test_file_by_token),
        T(test_attachments_zalo_cannot_take),
        T(test_refused_before_sending),
        T(test_classify_success),
        T(test_classify_errors),
        T(test_classify_outside_zalo),
        T(test_refresh_request),
        T(test_refresh_answer),
        T(test_refresh_refused),
        T(test_seed),
        T(test_settings),
        T(test_table),
    };
#undef T
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("zalo_outbound", tests, NULL, NULL);
}
