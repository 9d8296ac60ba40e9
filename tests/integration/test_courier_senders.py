"""Issue 10: courier sends through the channels' own senders — over HTTP (the
WhatsApp Cloud API, Bearer token) and over SMTP (submission with STARTTLS
and AUTH, the certificate trusted through CAREBUS_COURIER_CA_FILE) — to the
strict emulators, and reads their answers through the adapters.

  WhatsApp: one request with the token, to the customer's number, with the
            reply's text; message.sent carries Meta's message id (wamid).
  SMTP:     the mail arrives over TLS, authenticated, to the customer's
            address; message.sent carries the mail's Message-ID. A recipient
            the server refuses (550) fails at once: message.failed with the
            server's code and its own words, and no retry.
Provider rules themselves (windows, templates, errors) are the adapters'
unit tests; this is the path between them and the network.
"""

import sys
import time
from pathlib import Path

import carebus_harness as h
from courier_support import attempts, delivery, message_events, outbound, start_courier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators import SmtpEmulator, WhatsAppEmulator  # noqa: E402


def event_of(st, pb2, type_, delivery_id):
    return h.wait_until(f"{type_} of {delivery_id}",
                        lambda: message_events(st, pb2, type_).get(delivery_id),
                        h.scaled(20), on_timeout=lambda: st["courier"].log_tail())


def test_whatsapp_and_smtp_through_their_senders(stack, pb2):
    with WhatsAppEmulator() as wa, SmtpEmulator() as smtp:
        wa.seed_user("84901234567", last_inbound_ago=60)
        st = start_courier(
            stack(),
            CAREBUS_GRAPH_API_BASE=wa.url, CAREBUS_WHATSAPP_TOKEN=wa.token,
            CAREBUS_WHATSAPP_PHONE_NUMBER_ID=wa.phone_number_id,
            CAREBUS_SMTP_URL=smtp.url, CAREBUS_SMTP_USER=smtp.username,
            CAREBUS_SMTP_PASSWORD=smtp.password,
            CAREBUS_EMAIL_FROM="CSKH Cửa hàng <cskh@shop.example.vn>",
            CAREBUS_EMAIL_REPLY_TO="reply@shop.example.vn",
            CAREBUS_COURIER_CA_FILE=smtp.cafile)
        assert "whatsapp sender configured" in st["courier"].log_text()

        # WhatsApp, over HTTP with the Bearer token.
        d = outbound(st, pb2, "whatsapp", text="Dạ đơn của anh đã giao.",
                     recipient={"name": "Minh", "handle": "84901234567"})
        sent = event_of(st, pb2, "message.sent", d)
        [m] = wa.messages(to="84901234567")
        assert m["content"]["body"] == "Dạ đơn của anh đã giao." and m["type"] == "text"
        assert sent.provider_message_id == m["id"] and sent.attempts == 1
        [req] = wa.requests(method="POST")
        assert req.header("Authorization") == f"Bearer {wa.token}"
        assert delivery(st, d)[:2] == ("sent", 1)

        # Email, over SMTP with STARTTLS and AUTH.
        d = outbound(st, pb2, "email", text="Em gửi anh hóa đơn đã sửa.",
                     recipient={"name": "Minh", "email": "minh@example.vn"},
                     subject="Re: Hóa đơn sai", message_id="<r1@shop.example.vn>")
        sent = event_of(st, pb2, "message.sent", d)
        [mail] = smtp.wait_messages(1, timeout=h.scaled(10), rcpt="minh@example.vn")
        assert mail.tls and mail.auth_user == smtp.username
        assert sent.provider_message_id == "<r1@shop.example.vn>"
        assert b"Message-ID: <r1@shop.example.vn>" in mail.raw

        # A recipient the server refuses for good: the server's own words.
        smtp.reject("ghost@example.vn")
        d = outbound(st, pb2, "email", text="Chào anh",
                     recipient={"name": "Ma", "email": "ghost@example.vn"},
                     message_id="<r2@shop.example.vn>")
        failed = event_of(st, pb2, "message.failed", d)
        assert failed.code == "550" and failed.permanent and failed.attempts == 1
        assert "User unknown" in failed.reason, failed.reason
        time.sleep(1.0)  # a retry would have come by now (backoff <= 300 ms)
        assert [(n, outcome) for n, outcome, _, _ in attempts(st, d)] == [(1, "failed")]
