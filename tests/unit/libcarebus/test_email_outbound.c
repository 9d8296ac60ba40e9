/* test_email_outbound.c — channels/email_outbound.c: the RFC 5322 message
 * byte for byte (threading, Reply-To, RFC 2047 words, quoted-printable
 * text and HTML, files as links), the SMTP envelope, the server's answers,
 * the settings.
 *
 * Encoded parts are decoded back here (base64 by OpenSSL, quoted-printable
 * by a small decoder) so that round trips are checked as well as bytes.
 * Pure: no network. Run one test by name: test_email_outbound <name>.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "buf.h"
#include "channels/email.h"
#include "channels/outbound.h"

/* 2026-03-02T10:00:00Z, a Monday. */
#define NOW_US INT64_C(1772445600000000)
#define DELIVERY "0b9d6f4e-3f0a-4f55-9b8e-2d6c1a7e5f10"
#define PASSWORD "smtp-password-for-tests"

static const char *const settings[] = {"CAREBUS_SMTP_URL", "CAREBUS_SMTP_USER",
                                       "CAREBUS_SMTP_PASSWORD", "CAREBUS_EMAIL_FROM",
                                       "CAREBUS_EMAIL_REPLY_TO"};

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
    setenv("CAREBUS_SMTP_URL", "smtp://127.0.0.1:2587", 1);
    setenv("CAREBUS_SMTP_USER", "carebus", 1);
    setenv("CAREBUS_SMTP_PASSWORD", PASSWORD, 1);
    setenv("CAREBUS_EMAIL_FROM", "CSKH Carebus <support@carebus.example>", 1);
    setenv("CAREBUS_EMAIL_REPLY_TO", "reply@inbound.carebus.example", 1);
    char err[256] = "x";
    g_cfg = email_outbound.configure(err, sizeof err);
    assert_non_null(g_cfg);
    assert_string_equal(err, "");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    email_outbound.destroy(g_cfg);
    g_cfg = NULL;
    clear_env();
    return 0;
}

static void assert_no_secret(const char *s)
{
    if (strstr(s, PASSWORD)) {
        fprintf(stderr, "the password in \"%s\"\n", s);
        fail();
    }
}

static int build(const Carebus__V1__MessageOutbound *m, struct outbound_request *req,
                 struct outbound_result *res)
{
    struct outbound_msg msg = {m, DELIVERY, NOW_US, 0};
    memset(req, 0, sizeof *req);
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    int rc = email_outbound.build(g_cfg, NULL, &msg, req, res);
    if (rc != 0) {
        assert_int_equal(res->outcome, OUTBOUND_FAILED);
        assert_no_secret(res->reason);
        outbound_request_release(req);
    } else {
        assert_no_secret(req->body);
        assert_no_secret(req->url);
    }
    return rc;
}

/* Every line CRLF and at most max octets; the header ASCII. */
static void assert_lines(const char *msg, size_t max)
{
    const char *head_end = strstr(msg, "\r\n\r\n");
    assert_non_null(head_end);
    for (const char *p = msg; p < head_end; p++)
        assert_true((unsigned char)*p < 0x80);
    for (const char *p = msg; *p;) {
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        assert_true((size_t)(e - p) <= max);
        assert_null(memchr(p, '\n', (size_t)(e - p)));
        assert_null(memchr(p, '\r', (size_t)(e - p)));
        p = e + 2;
    }
}

static void test_reply_message(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.name = "Lan Nguyen";
    who.email = "lan@example.test";
    char *refs[] = {"CAF=first@mail.example.test", "<" DELIVERY "@carebus.local>",
                    "CAF=abc@mail.example.test"};
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.channel = CAREBUS__V1__CHANNEL__CHANNEL_EMAIL;
    m.recipient = &who;
    m.subject = "Re: [#123] Delivery delayed";
    m.text = "Hello, your parcel ships today.\n\nRegards";
    m.message_id = "<t123.m456@carebus.example>";
    m.in_reply_to = "CAF=abc@mail.example.test";
    m.references = refs;
    m.n_references = 3;
    m.language = "en";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, &req, &res), 0);
    const char *want = "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
                       "From: CSKH Carebus <support@carebus.example>\r\n"
                       "To: Lan Nguyen <lan@example.test>\r\n"
                       "Reply-To: reply@inbound.carebus.example\r\n"
                       "Subject: Re: [#123] Delivery delayed\r\n"
                       "Message-ID: <t123.m456@carebus.example>\r\n"
                       "In-Reply-To: <CAF=abc@mail.example.test>\r\n"
                       "References: <CAF=first@mail.example.test>\r\n"
                       " <" DELIVERY "@carebus.local>\r\n"
                       " <CAF=abc@mail.example.test>\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: multipart/alternative;\r\n"
                       " boundary=\"=_cb_" DELIVERY "\"\r\n"
                       "\r\n"
                       "--=_cb_" DELIVERY "\r\n"
                       "Content-Type: text/plain; charset=UTF-8\r\n"
                       "Content-Transfer-Encoding: quoted-printable\r\n"
                       "\r\n"
                       "Hello, your parcel ships today.\r\n"
                       "\r\n"
                       "Regards\r\n"
                       "--=_cb_" DELIVERY "\r\n"
                       "Content-Type: text/html; charset=UTF-8\r\n"
                       "Content-Transfer-Encoding: quoted-printable\r\n"
                       "\r\n"
                       "<!DOCTYPE html>\r\n"
                       "<html><head><meta charset=3D\"utf-8\"></head><body>\r\n"
                       "<p>Hello, your parcel ships today.</p>\r\n"
                       "<p>Regards</p>\r\n"
                       "</body></html>\r\n"
                       "--=_cb_" DELIVERY "--\r\n";
    assert_string_equal(req.body, want);
    assert_int_equal(req.body_len, strlen(want));
    assert_lines(req.body, 78);
    assert_int_equal(req.proto, OUTBOUND_SMTP);
    assert_string_equal(req.url, "smtp://127.0.0.1:2587");
    assert_true(req.require_tls);
    assert_string_equal(req.username, "carebus");
    assert_string_equal(req.password, PASSWORD);
    assert_string_equal(req.mail_from, "<support@carebus.example>");
    assert_int_equal(req.nrcpt, 1);
    assert_string_equal(req.rcpt[0], "<lan@example.test>");
    assert_int_equal(req.nheaders, 0);
    assert_string_equal(req.provider_message_id, "<t123.m456@carebus.example>");
    outbound_request_release(&req);
}

/* The header named name (its unfolded value), or NULL. */
static char *header(const char *msg, const char *name)
{
    size_t n = strlen(name);
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = msg; p && p < end;) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            buf v = BUF_INIT;
            const char *q = p + n + 1;
            for (;;) {
                const char *e = strstr(q, "\r\n");
                buf_append(&v, q, (size_t)(e - q));
                if (e[2] != ' ' && e[2] != '\t')
                    break;
                q = e + 2;
            }
            return buf_detach(&v, NULL);
        }
        p = strstr(p, "\r\n");
        p = p ? p + 2 : NULL;
    }
    return NULL;
}

/* The text of RFC 2047 B words (and plain words) in a header value. */
static char *decode_words(const char *v)
{
    buf out = BUF_INIT;
    const char *p = v;
    while (*p == ' ')
        p++;
    while (*p) {
        if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
            const char *e = strstr(p + 10, "?=");
            assert_non_null(e);
            assert_true(e + 2 - p <= 75);
            unsigned char raw[128];
            int n = EVP_DecodeBlock(raw, (const unsigned char *)p + 10, (int)(e - p - 10));
            assert_true(n >= 0);
            while (e > p + 10 && e[-1] == '=')
                e--, n--;
            buf_append(&out, raw, (size_t)n);
            p = strstr(p + 10, "?=") + 2;
            const char *q = p + strspn(p, " ");
            if (strncmp(q, "=?", 2) == 0)
                p = q; /* blanks between two words are not text */
        } else {
            buf_putc(&out, *p++);
        }
    }
    return buf_detach(&out, NULL);
}

static void test_vietnamese_headers(void **state)
{
    (void)state;
    setenv("CAREBUS_EMAIL_FROM", "Chăm sóc khách hàng <cskh@carebus.example>", 1);
    setenv("CAREBUS_EMAIL_REPLY_TO", "\"Support, Carebus\" <reply@inbound.carebus.example>", 1);
    char err[256];
    email_outbound.destroy(g_cfg);
    g_cfg = email_outbound.configure(err, sizeof err);
    assert_non_null(g_cfg);
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.name = "Nguyễn Thị Lan";
    who.email = "lan@example.test";
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.recipient = &who;
    const char *subject = "Re: Đơn hàng #123 của tôi bị giao chậm, xin kiểm tra giúp và báo lại "
                          "thời gian giao hàng mới";
    m.subject = (char *)subject;
    m.text = "Chào chị Lan, đơn hàng sẽ được giao hôm nay.";
    m.message_id = "x1@carebus.example";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, &req, &res), 0);
    assert_lines(req.body, 78);
    char *v = header(req.body, "Subject");
    char *text = decode_words(v);
    assert_string_equal(text, subject);
    free(v);
    free(text);
    v = header(req.body, "From");
    text = decode_words(v);
    assert_string_equal(text, "Chăm sóc khách hàng <cskh@carebus.example>");
    free(v);
    free(text);
    v = header(req.body, "To");
    text = decode_words(v);
    assert_string_equal(text, "Nguyễn Thị Lan <lan@example.test>");
    free(v);
    free(text);
    v = header(req.body, "Reply-To");
    assert_string_equal(v, " \"Support, Carebus\" <reply@inbound.carebus.example>");
    free(v);
    /* A bare id, given without brackets, gets them. */
    v = header(req.body, "Message-ID");
    assert_string_equal(v, " <x1@carebus.example>");
    free(v);
    assert_null(strstr(req.body, "In-Reply-To:"));
    assert_null(strstr(req.body, "References:"));
    outbound_request_release(&req);
}

static void test_header_injection(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.name = "Lan\r\nBcc: victim@example.test";
    who.email = "lan@example.test";
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.recipient = &who;
    m.subject = "Hello\r\nBcc: victim@example.test";
    m.text = "x";
    m.message_id = "<a@b>\r\nBcc: victim@example.test";
    m.in_reply_to = "not an id";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, &req, &res), 0);
    assert_lines(req.body, 78);
    assert_null(strstr(req.body, "\r\nBcc:"));
    /* An id that is no id: carebus's own from the delivery. */
    char *v = header(req.body, "Message-ID");
    assert_string_equal(v, " <" DELIVERY "@carebus.example>");
    free(v);
    assert_string_equal(req.provider_message_id, "<" DELIVERY "@carebus.example>");
    assert_null(strstr(req.body, "In-Reply-To:"));
    char *s = header(req.body, "Subject");
    char *text = decode_words(s);
    assert_string_equal(text, "Hello  Bcc: victim@example.test");
    free(s);
    free(text);
    outbound_request_release(&req);
}

static void test_threading(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.email = "lan@example.test";
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.recipient = &who;
    m.text = "x";
    m.message_id = "<r2@carebus.example>";
    /* The parent is not among the references: it ends them. Ids that are
     * no ids are left out. */
    char *refs[] = {"a1@mail.example.test", "bad id", "", "<a2@mail.example.test>"};
    m.references = refs;
    m.n_references = 4;
    m.in_reply_to = " <a3@mail.example.test> ";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, &req, &res), 0);
    char *v = header(req.body, "References");
    assert_string_equal(v, " <a1@mail.example.test> <a2@mail.example.test> <a3@mail.example.test>");
    free(v);
    v = header(req.body, "In-Reply-To");
    assert_string_equal(v, " <a3@mail.example.test>");
    free(v);
    /* No name: the address alone. */
    v = header(req.body, "To");
    assert_string_equal(v, " lan@example.test");
    free(v);
    outbound_request_release(&req);

    /* No thread given: In-Reply-To alone makes References. */
    m.n_references = 0;
    assert_int_equal(build(&m, &req, &res), 0);
    v = header(req.body, "References");
    assert_string_equal(v, " <a3@mail.example.test>");
    free(v);
    outbound_request_release(&req);
}

/* Quoted-printable decoded (soft breaks joined, CRLF as LF); what is no
 * escape ("charset=UTF-8" in a part's header) is copied. */
static char *qp_decode(const char *s)
{
    buf out = BUF_INIT;
    for (const char *p = s; *p;) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 3;
        } else if (p[0] == '=' && isxdigit((unsigned char)p[1]) &&
                   isxdigit((unsigned char)p[2])) { /* not the boundary's "=_" */
            unsigned v;
            assert_int_equal(sscanf(p + 1, "%2X", &v), 1);
            buf_putc(&out, (char)v);
            p += 3;
        } else if (p[0] == '\r' && p[1] == '\n') {
            buf_putc(&out, '\n');
            p += 2;
        } else {
            buf_putc(&out, *p++);
        }
    }
    return buf_detach(&out, NULL);
}

static void test_quoted_printable(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    email_outbound_qp(&b, "a=b \ttrailing \nnext\t\r\nlast");
    assert_string_equal(buf_str(&b), "a=3Db \ttrailing=20\r\nnext=09\r\nlast\r\n");
    buf_reset(&b);
    /* Long lines break softly, never inside =XX, at 76 characters. */
    const char *line = "Xin chào, đơn hàng của quý khách đã được giao cho đơn vị vận chuyển vào "
                       "sáng nay và sẽ đến trong hai ngày làm việc. Trân trọng cảm ơn!";
    email_outbound_qp(&b, line);
    const char *p = buf_str(&b);
    for (const char *e; (e = strstr(p, "\r\n")); p = e + 2) {
        assert_true(e - p <= 76);
        for (const char *q = p; q < e; q++)
            assert_true(*q >= 0x20 && *q < 0x7f);
    }
    char *back = qp_decode(buf_str(&b));
    assert_int_equal(strncmp(back, line, strlen(line)), 0);
    assert_string_equal(back + strlen(line), "\n");
    free(back);
    buf_reset(&b);
    /* Line ends of every kind become CRLF; a final one adds no line. */
    email_outbound_qp(&b, "one\r\ntwo\rthree\n");
    assert_string_equal(buf_str(&b), "one\r\ntwo\r\nthree\r\n");
    buf_reset(&b);
    /* 75 '=' make 225 characters: three lines. */
    char eq[76];
    memset(eq, '=', 75);
    eq[75] = '\0';
    email_outbound_qp(&b, eq);
    back = qp_decode(buf_str(&b));
    assert_int_equal(strncmp(back, eq, 75), 0);
    free(back);
    p = buf_str(&b);
    for (const char *e; (e = strstr(p, "\r\n")); p = e + 2)
        assert_true(e - p <= 76);
    buf_release(&b);
}

static void test_unstructured(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    email_outbound_unstructured(&b, "Subject", "Re: delivery");
    assert_string_equal(buf_str(&b), "Subject: Re: delivery\r\n");
    buf_reset(&b);
    /* Long ASCII folds at its blanks. */
    email_outbound_unstructured(&b, "Subject",
                                "Re: your order 123456 was delayed because the warehouse in Ha "
                                "Noi was closed for the holiday");
    assert_string_equal(buf_str(&b), "Subject: Re: your order 123456 was delayed because the "
                                     "warehouse in Ha Noi was\r\n closed for the holiday\r\n");
    buf_reset(&b);
    /* What looks like an encoded word is encoded. */
    email_outbound_unstructured(&b, "Subject", "=?x?");
    assert_string_equal(buf_str(&b), "Subject: =?UTF-8?B?PT94Pw==?=\r\n");
    buf_reset(&b);
    /* A four-byte character is never cut between two words. */
    char s[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(s, "😀");
    email_outbound_unstructured(&b, "Subject", s);
    buf_puts(&b, "\r\n");
    char *v = header(buf_str(&b), "Subject");
    char *back = decode_words(v);
    assert_string_equal(back, s);
    free(v);
    free(back);
    buf_release(&b);
}

static void test_attachments_as_links(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.email = "lan@example.test";
    Carebus__V1__Attachment a = CAREBUS__V1__ATTACHMENT__INIT;
    a.name = "hoá đơn <1>.pdf";
    a.content_type = "application/pdf";
    a.url = "https://files.example/a?x=1&y=2";
    Carebus__V1__Attachment b = CAREBUS__V1__ATTACHMENT__INIT;
    b.url = "https://files.example/b.png";
    Carebus__V1__Attachment *list[] = {&a, &b};
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.recipient = &who;
    m.text = "Gửi chị <b>hoá đơn</b>";
    m.message_id = "<f@carebus.example>";
    m.attachments = list;
    m.n_attachments = 2;
    m.language = "vi";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, &req, &res), 0);
    assert_lines(req.body, 78);
    char *all = qp_decode(strstr(req.body, "\r\n\r\n"));
    assert_non_null(strstr(all, "\nGửi chị <b>hoá đơn</b>\n\nTệp đính kèm:\n"
                                "- hoá đơn <1>.pdf: https://files.example/a?x=1&y=2\n"
                                "- https://files.example/b.png\n--=_cb_"));
    assert_non_null(strstr(all,
                           "<p>Gửi chị &lt;b&gt;hoá đơn&lt;/b&gt;</p>\n<p>Tệp đính kèm:</p>\n"
                           "<ul>\n<li><a href=\"https://files.example/a?x=1&amp;y=2\">hoá đơn "
                           "&lt;1&gt;.pdf</a></li>\n<li><a href=\"https://files.example/b.png"
                           "\">https://files.example/b.png</a></li>\n</ul>\n</body></html>\n"));
    free(all);
    outbound_request_release(&req);

    /* Files alone, in English. */
    m.text = "";
    m.language = "en";
    assert_int_equal(build(&m, &req, &res), 0);
    all = qp_decode(strstr(req.body, "\r\n\r\n"));
    assert_non_null(strstr(all, "quoted-printable\n\nAttachments:\n- hoá đơn"));
    free(all);
    outbound_request_release(&req);

    /* A link carebus would not write. */
    a.url = "javascript:alert(1)";
    assert_int_equal(build(&m, &req, &res), -1);
    assert_string_equal(res.code, "unsupported_attachment");
    assert_string_equal(res.reason, "attachment 1 has no http(s) URL to link to");
}

static void test_refused_before_sending(void **state)
{
    (void)state;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.channel = CAREBUS__V1__CHANNEL__CHANNEL_EMAIL; /* as courier hands it */
    m.text = "x";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, &req, &res), -1);
    assert_string_equal(res.code, "no_recipient");
    assert_string_equal(res.reason, "no recipient on email");
    m.recipient = &who;
    who.email = "";
    assert_int_equal(build(&m, &req, &res), -1);
    assert_string_equal(res.reason, "no recipient on email");
    static const char *const bad[] = {"lan",
                                      "lan@",
                                      "@example.test",
                                      "lan@exa mple.test",
                                      "<lan@example.test>",
                                      "lan@example.test\r\nRCPT TO:<x@y>",
                                      "lân@example.test",
                                      "a,b@example.test"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        who.email = (char *)bad[i];
        assert_int_equal(build(&m, &req, &res), -1);
        assert_string_equal(res.code, "invalid_recipient");
    }
    who.email = "lan@example.test";
    m.text = "";
    assert_int_equal(build(&m, &req, &res), -1);
    assert_string_equal(res.code, "empty_message");
}

/* The server's answer classified through outbound_classify, with the
 * request built for a plain reply. */
static struct outbound_result classify(long status, int transport, const char *replies)
{
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.email = "lan@example.test";
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.recipient = &who;
    m.text = "x";
    m.message_id = "<c1@carebus.example>";
    struct outbound_request req;
    struct outbound_result res;
    assert_int_equal(build(&m, &req, &res), 0);
    struct outbound_response resp = {status, transport, NULL, replies,
                                     replies ? strlen(replies) : 0};
    outbound_classify(&email_outbound, g_cfg, &req, &resp, NOW_US, &res);
    outbound_request_release(&req);
    assert_no_secret(res.reason);
    assert_no_secret(res.code);
    assert_null(strstr(res.reason, "carebus\r"));
    return res;
}

#define DIALOGUE                                                                                   \
    "220 localhost Python SMTP 1.4.3\r\n250-localhost\r\n250-STARTTLS\r\n250 HELP\r\n"             \
    "220 Ready to start TLS\r\n250-localhost\r\n250-AUTH LOGIN PLAIN\r\n250 HELP\r\n334 \r\n"      \
    "235 2.7.0 Authentication successful\r\n"

static void test_classify(void **state)
{
    (void)state;
    struct outbound_result r =
        classify(250, 0, DIALOGUE "250 OK\r\n250 OK\r\n354 End data\r\n250 2.0.0 Ok: queued\r\n");
    assert_int_equal(r.outcome, OUTBOUND_SENT);
    assert_string_equal(r.provider_message_id, "<c1@carebus.example>");
    assert_int_equal(r.retry_after_ms, -1);

    /* 5xx: refused for good, in the server's words (the last reply of
     * that code, not the QUIT's). */
    r = classify(550, 55,
                 DIALOGUE "250 OK\r\n550 5.1.1 <lan@example.test>: Recipient address rejected: "
                          "User unknown\r\n221 Bye\r\n");
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.code, "550");
    assert_string_equal(r.reason,
                        "5.1.1 <lan@example.test>: Recipient address rejected: User unknown");
    r = classify(535, 67,
                 "220 x\r\n250 HELP\r\n220 Ready\r\n250 HELP\r\n334 \r\n535 5.7.8 Authentication "
                 "credentials invalid\r\n");
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.code, "535");
    assert_string_equal(r.reason, "5.7.8 Authentication credentials invalid");
    r = classify(554, 55, NULL);
    assert_int_equal(r.outcome, OUTBOUND_FAILED);
    assert_string_equal(r.reason, "the SMTP server answered 554");

    /* 4xx: later. */
    r = classify(450, 55,
                 DIALOGUE "250 OK\r\n450 4.2.1 <lan@example.test>: Recipient address rejected: "
                          "try again later\r\n");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.code, "450");
    assert_string_equal(r.reason,
                        "4.2.1 <lan@example.test>: Recipient address rejected: try again later");
    r = classify(421, 55, DIALOGUE "421 4.3.2 Service not available\r\n");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.reason, "4.3.2 Service not available");

    /* No STARTTLS: nothing sent in clear, and tried again later. */
    r = classify(250, 64, "220 x\r\n250 HELP\r\n");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.code, "starttls");
    assert_string_equal(r.reason, "the SMTP server offers no STARTTLS: nothing is sent in clear");
    assert_string_equal(r.provider_message_id, "");
    /* Cut after the final dot: unknown, so again (the Message-ID lets the
     * receiver see a duplicate). */
    r = classify(354, 56, DIALOGUE "354 End data\r\n");
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.code, "transport");
    r = classify(0, 7, NULL);
    assert_int_equal(r.outcome, OUTBOUND_RETRY);
    assert_string_equal(r.code, "transport");
    assert_string_equal(r.reason, "no answer from the SMTP server: Couldn't connect to server");
}

static void test_settings(void **state)
{
    (void)state;
    char err[256];
    clear_env();
    assert_null(email_outbound.configure(err, sizeof err));
    assert_string_equal(err, "");
    static const struct {
        const char *url, *user, *password, *from, *reply_to, *err;
    } cases[] = {
        {"http://127.0.0.1:25", NULL, NULL, "a@b.example", NULL,
         "CAREBUS_SMTP_URL must be smtp://host:port (STARTTLS) or smtps://host:port"},
        {"smtp://", NULL, NULL, "a@b.example", NULL,
         "CAREBUS_SMTP_URL must be smtp://host:port (STARTTLS) or smtps://host:port"},
        {"smtp://carebus:" PASSWORD "@127.0.0.1:587", NULL, NULL, "a@b.example", NULL,
         "CAREBUS_SMTP_URL must not hold credentials: set CAREBUS_SMTP_USER and "
         "CAREBUS_SMTP_PASSWORD"},
        {"smtp://127.0.0.1:587", "carebus", NULL, "a@b.example", NULL,
         "CAREBUS_SMTP_USER and CAREBUS_SMTP_PASSWORD go together"},
        {"smtp://127.0.0.1:587", NULL, PASSWORD, "a@b.example", NULL,
         "CAREBUS_SMTP_USER and CAREBUS_SMTP_PASSWORD go together"},
        {"smtp://127.0.0.1:587", NULL, NULL, NULL, NULL,
         "CAREBUS_SMTP_URL needs CAREBUS_EMAIL_FROM"},
        {"smtp://127.0.0.1:587", NULL, NULL, "Support <support>", NULL,
         "CAREBUS_EMAIL_FROM \"Support <support>\" is not \"Name <address>\" or an address"},
        {"smtps://127.0.0.1:465", NULL, NULL, "a@b.example", "Support <x@y> z",
         "CAREBUS_EMAIL_REPLY_TO \"Support <x@y> z\" is not \"Name <address>\" or an address"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clear_env();
        const char *v[] = {cases[i].url, cases[i].user, cases[i].password, cases[i].from,
                           cases[i].reply_to};
        for (size_t k = 0; k < 5; k++)
            if (v[k])
                setenv(settings[k], v[k], 1);
        assert_null(email_outbound.configure(err, sizeof err));
        assert_string_equal(err, cases[i].err);
        assert_no_secret(err);
    }
    /* smtps:// (implicit TLS) without AUTH, and no Reply-To. */
    clear_env();
    setenv("CAREBUS_SMTP_URL", "smtps://127.0.0.1:465", 1);
    setenv("CAREBUS_EMAIL_FROM", "support@carebus.example", 1);
    void *cfg = email_outbound.configure(err, sizeof err);
    assert_non_null(cfg);
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.email = "lan@example.test";
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.recipient = &who;
    m.text = "x";
    struct outbound_msg msg = {&m, DELIVERY, NOW_US, 0};
    struct outbound_request req = {0};
    struct outbound_result res = {0};
    assert_int_equal(email_outbound.build(cfg, NULL, &msg, &req, &res), 0);
    assert_string_equal(req.url, "smtps://127.0.0.1:465");
    assert_true(req.require_tls);
    assert_null(req.username);
    assert_null(req.password);
    assert_null(strstr(req.body, "Reply-To:"));
    char *v = header(req.body, "From");
    assert_string_equal(v, " support@carebus.example");
    free(v);
    outbound_request_release(&req);
    email_outbound.destroy(cfg);
}

static void test_table(void **state)
{
    (void)state;
    assert_ptr_equal(outbound_adapter_for(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL), &email_outbound);
    assert_string_equal(email_outbound.name, "email");
    assert_null(email_outbound.refresh_build);
    assert_null(email_outbound.credentials_seed);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_reply_message),
        T(test_vietnamese_headers),
        T(test_header_injection),
        T(test_threading),
        T(test_quoted_printable),
        T(test_unstructured),
        T(test_attachments_as_links),
        T(test_refused_before_sending),
        T(test_classify),
        T(test_settings),
        T(test_table),
    };
#undef T
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("email_outbound", tests, NULL, NULL);
}
