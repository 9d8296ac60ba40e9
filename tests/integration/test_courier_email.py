"""Issue 10, email end to end: real channel-ingest, router and courier, real
PostgreSQL and ZeroMQ, Postmark's inbound webhook (tests/emulators/postmark.py)
and a strict submission server (tests/emulators/smtp.py: STARTTLS required,
AUTH after TLS) on loopback.

  a. an email arrives through Postmark (Basic credentials), an agent answers
     with POST /v1/tickets/{id}/replies: the server receives one message
     over STARTTLS with AUTH, in that order; the message is clean (CRLF,
     RFC 2047 headers, multipart/alternative text then HTML), threaded
     (carebus's Message-ID, In-Reply-To and References of the customer's
     email), with Reply-To; the timeline shows it sent under its
     Message-ID; the customer's answer to it lands on the same ticket
  b. a recipient the server refuses (550): the reply fails at once with the
     server's code and words on the timeline
  c. a server without STARTTLS gets nothing: the reply waits and is tried
     again, never sent in clear
Every wait is bounded.
"""

import sys
import time
from pathlib import Path

import carebus_harness as h
from courier_support import attempts, courier_env, delivery, message_events
from test_router_acceptance import post, routed_ticket, ticket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators import PostmarkSender, SmtpEmulator  # noqa: E402

FROM = "CSKH Carebus <support@carebus.example>"
REPLY_TO = "reply@inbound.carebus.example"
CUSTOMER = "lan@example.test"
REPLY = "Chào chị Lan,\n\nEm đã kiểm tra: hóa đơn sẽ được điều chỉnh <trong hôm nay>.\n\nTrân trọng"


def smtp_env(smtp):
    return {"CAREBUS_SMTP_URL": smtp.url, "CAREBUS_SMTP_USER": smtp.username,
            "CAREBUS_SMTP_PASSWORD": smtp.password, "CAREBUS_EMAIL_FROM": FROM,
            "CAREBUS_EMAIL_REPLY_TO": REPLY_TO,
            "CAREBUS_COURIER_CA_FILE": smtp.cafile or ""}


def email_stack(stack, smtp):
    st = stack()
    st["ingest"].start(wait_ready=False)
    st["router"].start(wait_ready=False)
    st["courier"].start(wait_ready=False, extra_env=courier_env(**smtp_env(smtp)))
    for name in ("ingest", "router", "courier"):
        st[name].wait_ready()
    port = st.api_url.rsplit(":", 1)[1]
    pm = PostmarkSender(f"http://postmark:{st.api_key}@127.0.0.1:{port}/v1/webhooks/email")
    return st, pm


def inbound(st, pm, payload):
    hook = pm.send(payload)
    assert hook.status == 200, (hook.status, hook.response, hook.error)
    return routed_ticket(st, hook.response_json["events"][0]["event_id"])


def reply(st, t, text=REPLY):
    return post(st, f"/v1/tickets/{t}/replies", {"agent_id": "agent-7", "text": text})["event_id"]


def wait_delivery(st, t, reply_id, status, timeout=20):
    def check():
        for m in ticket(st, t)["messages"]:
            if m["event_id"] == reply_id:
                d = m.get("delivery") or {}
                return d if d.get("status") == status else None
        return None

    return h.wait_until(f"reply {reply_id} {status}", check, h.scaled(timeout),
                        on_timeout=lambda: "\n" + st.log_summary())


def test_a_reply_leaves_by_smtp_threaded_and_the_answer_comes_back(stack, pb2):
    with SmtpEmulator() as smtp:
        st, pm = email_stack(stack, smtp)
        first = pm.payload(from_email=CUSTOMER, from_name="Nguyễn Thị Lan",
                           subject="Hóa đơn tháng 11 bị sai", text="Hóa đơn tháng này bị sai ạ",
                           message_id="m1@mail.example.test")
        t = inbound(st, pm, first)
        r = reply(st, t)
        (mail,) = smtp.wait_messages(1, timeout=h.scaled(20))

        # STARTTLS, then AUTH, then the envelope: the dialogue of a
        # submission client that never sends credentials in clear.
        # (The connection then stays open for the next message: no QUIT yet.)
        (session,) = smtp.sessions()
        assert session.commands()[:7] == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT",
                                          "DATA"], session.dialogue
        assert mail.tls and mail.auth_user == smtp.username and mail.acknowledged
        assert mail.mail_from == "support@carebus.example" and mail.rcpt_tos == [CUSTOMER]
        assert mail.problems() == [], mail.problems()

        own_id = f"<{r}@carebus.local>"
        assert mail.header("Message-ID") == own_id
        assert mail.header("In-Reply-To") == "<m1@mail.example.test>"
        assert mail.header("References") == "<m1@mail.example.test>"
        assert mail.header("Reply-To") == REPLY_TO
        assert mail.header("From") == FROM
        assert mail.header("To") == f"Nguyễn Thị Lan <{CUSTOMER}>"
        assert mail.header("Subject") == "Re: Hóa đơn tháng 11 bị sai"
        assert mail.header("Date")
        assert mail.message.get_content_type() == "multipart/alternative"
        assert mail.text.replace("\r\n", "\n") == REPLY
        assert "hóa đơn sẽ được điều chỉnh &lt;trong hôm nay&gt;." in mail.html

        d = wait_delivery(st, t, r, "sent")
        assert d["provider_message_id"] == own_id, d
        sent = message_events(st, pb2, "message.sent")[d["id"]]
        assert sent.provider_message_id == own_id and sent.channel == pb2.CHANNEL_EMAIL
        assert attempts(st, d["id"]) == [(1, "sent", 250, None)]
        time.sleep(0.5)
        assert len(smtp.messages()) == 1

        # The customer answers from their mail client: the same ticket.
        answer = pm.reply_to(mail, "Cảm ơn em, chị đã nhận được.")
        assert inbound(st, pm, answer) == t
        # In-Reply-To alone names carebus's Message-ID directly (stored
        # bare, as the webhook gives it), from an address carebus has not
        # seen and with a subject of its own.
        alone = pm.payload(from_email="lan.work@example.test", from_name="Lan",
                           subject="Một việc nữa", text="Em xem giúp chị thêm việc này",
                           message_id="m3@mail.example.test", in_reply_to=r + "@carebus.local")
        assert inbound(st, pm, alone) == t

        for name in ("courier", "ingest", "router"):
            assert smtp.password not in st[name].all_logs(), name


def test_a_refused_recipient_fails_at_once_with_the_servers_words(stack, pb2):
    with SmtpEmulator() as smtp:
        st, pm = email_stack(stack, smtp)
        smtp.reject(CUSTOMER)
        t = inbound(st, pm, pm.payload(from_email=CUSTOMER, subject="Hỏi đơn hàng",
                                       text="Đơn hàng của tôi đâu?"))
        r = reply(st, t, "Dạ đơn hàng đang được giao ạ.")
        d = wait_delivery(st, t, r, "failed")
        assert d["error"] == {"code": "550", "reason": f"5.1.1 <{CUSTOMER}>: Recipient address "
                                                       "rejected: User unknown"}, d
        f = message_events(st, pb2, "message.failed")[d["id"]]
        assert f.permanent and f.attempts == 1 and f.code == "550"
        time.sleep(1.0)  # a retry would have come by now
        assert [a[1:] for a in attempts(st, d["id"])] == [("failed", 550, "550")]
        assert not smtp.messages()


def test_a_server_without_starttls_gets_nothing(stack, pb2):
    with SmtpEmulator(starttls=False) as smtp:
        st, pm = email_stack(stack, smtp)
        t = inbound(st, pm, pm.payload(from_email=CUSTOMER, subject="Hỏi đơn hàng",
                                       text="Đơn hàng của tôi đâu?"))
        reply(st, t, "Dạ đơn hàng đang được giao ạ.")

        def tried_twice():
            rows = st.db.query("SELECT status, attempts, last_error_code FROM courier.deliveries "
                               "WHERE channel = 'email'")
            return rows if rows and rows[0][1] >= 2 else None

        ((status, _, code),) = h.wait_until("two attempts", tried_twice, h.scaled(20),
                                            on_timeout=lambda: st["courier"].log_tail())
        assert status in ("pending", "sending") and code == "starttls"
        assert not smtp.messages()
        for s in smtp.sessions():
            assert "AUTH" not in s.commands() and "MAIL" not in s.commands(), s.dialogue
        assert not message_events(st, pb2, "message.sent")
