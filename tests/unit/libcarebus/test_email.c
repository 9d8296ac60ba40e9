/* test_email.c — channels/email.c: Postmark inbound JSON and dates.
 *
 * The payload follows Postmark's documented inbound webhook example. Pure:
 * no database. Run one test by name: test_email <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "channels/email.h"
#include "event.h"

#define NOW INT64_C(1795399200000000)

static struct inbound_batch g_b;

static int teardown(void **state)
{
    (void)state;
    inbound_batch_release(&g_b);
    return 0;
}

static int parse(const char *body, struct inbound_error *err)
{
    inbound_batch_release(&g_b);
    return email_parse(body, strlen(body), NOW, &g_b, err);
}

#define POSTMARK_REPLY                                                                              \
    "{\"FromName\":\"Lan Nguyen\",\"MessageStream\":\"inbound\",\"From\":\"lan@example.vn\","       \
    "\"FromFull\":{\"Email\":\"Lan@Example.vn\",\"Name\":\"Nguyễn Lan\",\"MailboxHash\":\"\"},"   \
    "\"To\":\"support@carebus.example\",\"ToFull\":[{\"Email\":\"support@carebus.example\","        \
    "\"Name\":\"\",\"MailboxHash\":\"\"}],\"Cc\":\"\",\"CcFull\":[],\"Bcc\":\"\",\"BccFull\":[],"   \
    "\"OriginalRecipient\":\"support@carebus.example\",\"Subject\":\"Re: Đơn hàng #123\","       \
    "\"MessageID\":\"73e6d360-66eb-11e1-8e72-a8904824019b\",\"ReplyTo\":\"\",\"MailboxHash\":"      \
    "\"\",\"Date\":\"Mon, 23 Nov 2026 09:00:05 +0700\",\"TextBody\":\"Vẫn chưa nhận được " \
    "hàng\",\"HtmlBody\":\"<p>...</p>\",\"StrippedTextReply\":\"Vẫn chưa\",\"Tag\":\"\","       \
    "\"Headers\":[{\"Name\":\"X-Spam-Status\",\"Value\":\"No\"},{\"Name\":\"Message-ID\","          \
    "\"Value\":\"<CAB2=reply@mail.example.vn>\"},{\"Name\":\"In-Reply-To\",\"Value\":"              \
    "\"<first@mail.example.vn>\"},{\"Name\":\"references\",\"Value\":\"<root@x.vn>\\r\\n "          \
    "<first@mail.example.vn>\"}],\"Attachments\":[{\"Name\":\"hoadon.pdf\",\"Content\":"            \
    "\"JVBERi0=\",\"ContentType\":\"application/"                                                   \
    "pdf\",\"ContentLength\":4096,\"ContentID\":\"\"}]}"

static void test_reply_threads(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(parse(POSTMARK_REPLY, &err), 0);
    assert_int_equal(g_b.n, 1);
    const struct contact *m = g_b.msg[0];
    assert_int_equal(m->contact.channel, CAREBUS__V1__CHANNEL__CHANNEL_EMAIL);
    assert_string_equal(m->customer.email, "Lan@Example.vn");
    assert_string_equal(m->customer.name, "Nguyễn Lan");
    assert_string_equal(m->contact.subject, "Re: Đơn hàng #123");
    assert_string_equal(m->contact.text, "Vẫn chưa nhận được hàng");
    assert_string_equal(m->contact.external_id, "CAB2=reply@mail.example.vn");
    assert_string_equal(m->contact.in_reply_to, "first@mail.example.vn");
    assert_int_equal(m->contact.n_references, 2);
    assert_string_equal(m->contact.references[0], "root@x.vn");
    assert_string_equal(m->contact.references[1], "first@mail.example.vn");
    assert_int_equal(m->contact.n_attachments, 1);
    assert_string_equal(m->contact.attachments[0]->name, "hoadon.pdf");
    assert_string_equal(m->contact.attachments[0]->content_type, "application/pdf");
    assert_int_equal(m->contact.attachments[0]->size, 4096);
    assert_string_equal(m->idem_scope, "msg:email");
    /* 09:00:05 +07:00 is 02:00:05Z. */
    assert_int_equal(event_ts_us(m->ev.occurred_at), NOW + 5000000);
    size_t len;
    uint8_t *buf = event_pack(&m->ev, &len);
    event *ev = event_unpack(buf, len);
    free(buf);
    assert_non_null(ev);
    assert_int_equal(ev->contact_received->n_references, 2);
    event_destroy(&ev);
}

static void test_fallbacks(void **state)
{
    (void)state;
    struct inbound_error err;
    /* No FromFull: the address inside From; no Message-ID header: Postmark's
     * MessageID; no TextBody: StrippedTextReply; a Date that does not parse:
     * now. */
    assert_int_equal(parse("{\"From\":\"\\\"Lan\\\" <lan@example.vn>\",\"FromName\":\"Lan\","
                           "\"MessageID\":\"pm-1\",\"StrippedTextReply\":\"ok\",\"Date\":\"soon\","
                           "\"Headers\":[{\"Name\":\"Message-ID\",\"Value\":\"<>\"}]}",
                           &err),
                     0);
    const struct contact *m = g_b.msg[0];
    assert_string_equal(m->customer.email, "lan@example.vn");
    assert_string_equal(m->customer.name, "Lan");
    assert_string_equal(m->contact.external_id, "pm-1");
    assert_string_equal(m->contact.text, "ok");
    assert_string_equal(m->contact.in_reply_to, "");
    assert_int_equal(m->contact.n_references, 0);
    assert_int_equal(event_ts_us(m->ev.occurred_at), NOW);
}

static void test_many_references_keep_newest(void **state)
{
    (void)state;
    char refs[8192];
    size_t n = 0;
    for (int i = 0; i < CONTACT_MAX_REFERENCES + 6; i++)
        n += (size_t)snprintf(refs + n, sizeof refs - n, "<r%d@x> ", i);
    char body[9000];
    snprintf(body, sizeof body,
             "{\"From\":\"a@b.vn\",\"MessageID\":\"m\",\"Headers\":[{\"Name\":\"References\","
             "\"Value\":\"%s\"}]}",
             refs);
    struct inbound_error err;
    assert_int_equal(parse(body, &err), 0);
    const struct contact *m = g_b.msg[0];
    assert_int_equal(m->contact.n_references, CONTACT_MAX_REFERENCES);
    assert_string_equal(m->contact.references[0], "r6@x");
    assert_string_equal(m->contact.references[CONTACT_MAX_REFERENCES - 1], "r69@x");
}

static void test_refusals(void **state)
{
    (void)state;
    struct inbound_error err;
    assert_int_equal(parse("{\"MessageID\":\"m\",\"TextBody\":\"x\"}", &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.message, "From"));
    assert_int_equal(parse("{\"From\":\"a@b.vn\",\"TextBody\":\"x\"}", &err), -1);
    assert_non_null(strstr(err.message, "Message-ID"));
    assert_int_equal(parse("{\"From\":\"not an address\",\"MessageID\":\"m\"}", &err), -1);
    assert_int_equal(parse("{\"From\":", &err), -1);
}

static void test_rfc5322_dates(void **state)
{
    (void)state;
    int64_t us;
    assert_int_equal(email_rfc5322_date("Mon, 23 Nov 2026 09:00:00 +0700", &us), 0);
    assert_int_equal(us, NOW);
    assert_int_equal(email_rfc5322_date("23 Nov 2026 02:00 GMT", &us), 0);
    assert_int_equal(us, NOW);
    assert_int_equal(email_rfc5322_date("Sun, 22 Nov 2026 21:00:00 EST (Eastern)", &us), 0);
    assert_int_equal(us, NOW);
    assert_int_equal(email_rfc5322_date("  23 nov 26 01:30:00 -0030", &us), 0);
    assert_int_equal(us, NOW);
    assert_int_equal(email_rfc5322_date("Thu, 5 Apr 2012 16:59:01 +0200", &us), 0);
    assert_int_equal(us, INT64_C(1333637941000000));
    assert_int_equal(email_rfc5322_date("31 Feb 2026 00:00:00 +0000", &us), -1);
    assert_int_equal(email_rfc5322_date("23 Nov 2026 25:00:00 +0000", &us), -1);
    assert_int_equal(email_rfc5322_date("23 Nov 2026 09:00:00 +0760", &us), -1);
    assert_int_equal(email_rfc5322_date("23 Nov 2026 09:00:00", &us), -1);
    assert_int_equal(email_rfc5322_date("23 Nov 2026 09:00:00 +0700 trailing", &us), -1);
    assert_int_equal(email_rfc5322_date("Mon 23 Nov 2026 09:00:00 +0700", &us), -1);
    assert_int_equal(email_rfc5322_date("", &us), -1);
    assert_int_equal(email_rfc5322_date("(unclosed", &us), -1);
}

/* The adapter: an API key (Bearer or Basic's password) for the email
 * channel, JSON, switched by CAREBUS_EMAIL_WEBHOOK. */
static void test_adapter(void **state)
{
    (void)state;
    assert_string_equal(email_inbound.path, "email");
    assert_int_equal(email_inbound.auth, INBOUND_API_KEY);
    assert_int_equal(email_inbound.channel, CAREBUS__V1__CHANNEL__CHANNEL_EMAIL);
    assert_string_equal(email_inbound.toggle, "EMAIL_WEBHOOK");
    assert_string_equal(email_inbound.content_type, "application/json");
    assert_null(email_inbound.verify);
    assert_ptr_equal(email_inbound.map, email_map);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reply_threads, teardown),
        cmocka_unit_test_teardown(test_fallbacks, teardown),
        cmocka_unit_test_teardown(test_many_references_keep_newest, teardown),
        cmocka_unit_test_teardown(test_refusals, teardown),
        cmocka_unit_test(test_rfc5322_dates),
        cmocka_unit_test(test_adapter),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("email", tests, NULL, NULL);
}
