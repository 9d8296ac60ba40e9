"""Issue 10: the providers' status webhooks and Postmark's Basic credentials,
end to end — the strict emulators (tests/emulators) fire signed webhooks
exactly as each provider does at a real channel-ingest, and the events are
read back from eventlog.events.

Each test sends the customer's message first (the emulator's send_inbound),
then a message of carebus's own to that customer straight to the emulator's
send API, as courier would, so that the emulator can report on it:

  a. Zalo: user_received_message -> message.delivered, user_seen_message ->
     message.read (the OA's message id, the customer's user id)
  b. Messenger: a delivery receipt (mids and watermark) and a read receipt
     (watermark) -> message.delivered / message.read; Instagram's read by mid;
     the router acknowledges them and goes on
  c. WhatsApp: sent is not recorded; delivered, read; a message sent outside
     the 24-hour window fails later with 131047 -> message.failed with Meta's
     code, title and details, permanent
  d. Twilio: POST /v1/webhooks/twilio/status signed over the full public URL
     (query string included) -> delivered, read, undelivered with ErrorCode;
     sent and queued are not recorded
  e. Postmark: Basic credentials from the webhook URL (the password an API
     key with the ingest scope, any user) land a contact on a ticket; none or
     wrong ones -> 401 with WWW-Authenticate: Basic (Postmark keeps
     retrying), a key for another channel or without the scope -> 403
     (Postmark stops)

In every channel: a redelivered webhook (byte for byte, or a new report of
the same status) is a duplicate, not a second event; a bad, missing or
tampered signature -> 401 and nothing stored. Every wait is bounded.
"""

import base64
import sys
import urllib.parse
from pathlib import Path

import carebus_harness as h
from test_ingest_api import new_key

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators import (MessengerEmulator, PostmarkSender, TwilioEmulator,  # noqa: E402
                       WhatsAppEmulator, ZaloEmulator)

PUBLIC = "https://carebus.example.vn"
STATUS_TYPES = ("message.delivered", "message.read", "message.failed")
BAD_SIGNATURES = ("bad", "missing", "tampered")


# --- helpers ----------------------------------------------------------------------------


def start(stack, env, *services):
    """A stack whose services (ingest first) run with env; the stack before
    they start, so that an emulator can be given its URL."""
    st = stack()
    for name in ("ingest",) + services:
        st[name].start(wait_ready=False, extra_env=env if name == "ingest" else None)
    for name in ("ingest",) + services:
        st[name].wait_ready()
    return st


def statuses(st, pb2):
    """[(type, idem_scope, idem_key, body)] of every status event, in log order."""
    rows = st.db.query("SELECT type, idem_scope, idem_key, payload FROM eventlog.events "
                       "WHERE stream = 'ingest' AND type = ANY(%s) ORDER BY seq",
                       (list(STATUS_TYPES),))
    out = []
    for type_, scope, key, payload in rows:
        env = pb2.Envelope.FromString(bytes(payload))
        body = getattr(env, type_.replace(".", "_"))
        out.append((type_, scope, key, body))
    return out


def count(st):
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'ingest'")


def accepted(hook, n_events=None, duplicate=False):
    """The webhook answered 200 with n_events events, all (not) duplicates."""
    assert hook.status == 200, (hook.status, hook.response, hook.error)
    if n_events is not None:
        events = hook.response_json["events"]
        assert len(events) == n_events, hook.response
        assert all(e["duplicate"] == duplicate for e in events), hook.response
    return hook


def refused_unsigned(emu, st, fire):
    """fire(signature=...) for every bad variant: 401, and nothing stored."""
    before = count(st)
    for variant in BAD_SIGNATURES:
        hook = fire(signature=variant)
        assert hook.status == 401, (variant, hook.status, hook.response)
        assert b"invalid_signature" in hook.response, hook.response
    assert count(st) == before


def json_post(url, body, headers):
    return h.http_request(url, "POST", body, headers)


# --- a. Zalo ------------------------------------------------------------------------------


def test_zalo_received_and_seen(stack, pb2):
    with ZaloEmulator() as z:
        st = start(stack, {"CAREBUS_ZALO_APP_ID": z.app_id,
                           "CAREBUS_ZALO_OA_SECRET": z.oa_secret_key})
        z.set_webhook_url(st.api_url + "/v1/webhooks/zalo")
        user = "2512523625412515"
        accepted(z.send_inbound(user, "Đơn hàng của tôi đâu?"), 1)
        r = json_post(z.url + "/v3.0/oa/message/cs",
                      {"recipient": {"user_id": user}, "message": {"text": "Chào bạn"}},
                      {"access_token": z.tokens()["access"][0]})
        assert r.status == 200 and r.json()["error"] == 0, r
        mid = r.json()["data"]["message_id"]

        refused_unsigned(z, st, lambda signature: z.send_status(mid, "received",
                                                                signature=signature))
        received = accepted(z.send_status(mid, "received"), 1)
        seen = accepted(z.send_status([mid], "seen"), 1)
        got = statuses(st, pb2)
        assert [(t, s, k) for t, s, k, _ in got] == [
            ("message.delivered", "status:zalo", f"delivered:{mid}"),
            ("message.read", "status:zalo", f"read:{mid}")]
        for _, _, _, body in got:
            assert body.channel == pb2.CHANNEL_ZALO
            assert list(body.provider_message_ids) == [mid]
            assert body.recipient == user
            assert not body.HasField("watermark")

        # Zalo retries (the same bytes), or reports the same receipt anew
        # (another timestamp): duplicates, answered with the first event.
        n = count(st)
        again = accepted(z.redeliver(received), 1, duplicate=True)
        assert again.response_json["events"][0]["event_id"] == \
            received.response_json["events"][0]["event_id"]
        accepted(z.send_status([mid], "seen"), 1, duplicate=True)
        assert count(st) == n
        assert seen.response_json["events"][0]["duplicate"] is False
        assert z.errors == []


# --- b. Messenger and Instagram ---------------------------------------------------------------


def test_messenger_and_instagram_receipts(stack, pb2):
    with MessengerEmulator() as m:
        st = start(stack, {"CAREBUS_FACEBOOK_APP_SECRET": m.app_secret}, "router")
        m.set_webhook_url(st.api_url + "/v1/webhooks/facebook")
        send = f"{m.url}/v25.0/me/messages?access_token={m.page_token}"

        def reply(to, text):
            r = json_post(send, {"recipient": {"id": to}, "messaging_type": "RESPONSE",
                                 "message": {"text": text}}, {})
            assert r.status == 200, r
            return r.json()["message_id"]

        psid, igsid = "6254401871284361", "17841400000000777"
        accepted(m.send_inbound(psid, "Tôi cần hỗ trợ"), 1)
        accepted(m.send_inbound(igsid, "Xin chào", platform="instagram"), 1)
        mid1, mid2 = reply(psid, "Chào bạn"), reply(psid, "Bạn cần gì?")
        ig_mid = reply(igsid, "Chào bạn")

        refused_unsigned(m, st, lambda signature: m.send_status("delivery", mids=[mid1, mid2],
                                                                signature=signature))
        m.advance(2)
        delivery = accepted(m.send_status("delivery", mids=[mid1, mid2]), 1)
        m.advance(2)
        read = accepted(m.send_status("read", user_id=psid), 1)
        accepted(m.send_status("read", mids=[ig_mid]), 1)
        # An echo of the Page's own message is neither a contact nor a status.
        echo = accepted(m.send_echo(mid1), 0)
        assert echo.response_json["ignored"] == 1

        got = statuses(st, pb2)
        assert [(t, s) for t, s, _, _ in got] == [
            ("message.delivered", "status:facebook"), ("message.read", "status:facebook"),
            ("message.read", "status:instagram")]
        delivered, read_fb, read_ig = (b for _, _, _, b in got)
        assert delivered.channel == pb2.CHANNEL_FACEBOOK and delivered.recipient == psid
        assert list(delivered.provider_message_ids) == [mid1, mid2]
        assert delivered.HasField("watermark")
        assert read_fb.channel == pb2.CHANNEL_FACEBOOK and read_fb.recipient == psid
        assert list(read_fb.provider_message_ids) == [] and read_fb.HasField("watermark")
        # The read's watermark (now) covers the delivery's (earlier).
        assert read_fb.watermark.ToMicroseconds() > delivered.watermark.ToMicroseconds()
        assert read_ig.channel == pb2.CHANNEL_INSTAGRAM and read_ig.recipient == igsid
        assert list(read_ig.provider_message_ids) == [ig_mid]
        assert got[0][2] == f"delivered:{psid}@{delivered.watermark.ToMilliseconds()}"
        assert got[2][2] == f"read:{ig_mid}"

        n = count(st)
        accepted(m.redeliver(delivery), 1, duplicate=True)
        accepted(m.redeliver(read), 1, duplicate=True)
        assert count(st) == n

        # The router reads past the statuses (its own handling of them is
        # not this test's) and keeps placing the customers' messages.
        st.wait_caught_up(consumer="router", stream="ingest", at_least=st.last_seq("ingest"))
        assert st.db.scalar("SELECT count(*) FROM router.messages") == 2
        assert m.errors == []


# --- c. WhatsApp --------------------------------------------------------------------------


def test_whatsapp_statuses_and_failure(stack, pb2):
    with WhatsAppEmulator() as w:
        st = start(stack, {"CAREBUS_WHATSAPP_APP_SECRET": w.app_secret})
        w.set_webhook_url(st.api_url + "/v1/webhooks/whatsapp")
        send = f"{w.url}/v25.0/{w.phone_number_id}/messages"
        auth = {"Authorization": f"Bearer {w.token}"}

        def reply(to, text):
            r = json_post(send, {"messaging_product": "whatsapp", "to": to, "type": "text",
                                 "text": {"body": text}}, auth)
            assert r.status == 200, r
            return r.json()["messages"][0]["id"]

        accepted(w.send_inbound("84901234567", "Xin chào", name="Nguyễn Lan"), 1)
        wamid = reply("84901234567", "Chào chị Lan")
        # A customer who last wrote two days ago: accepted, then failed by
        # webhook (Meta's 24-hour customer-service window).
        w.seed_user("84907654321", last_inbound_ago=2 * 86400)
        late = reply("84907654321", "Chào anh")

        refused_unsigned(w, st, lambda signature: w.send_status(wamid, "delivered",
                                                                signature=signature))
        sent = accepted(w.send_status(wamid, "sent"), 0)
        assert sent.response_json["ignored"] == 1
        delivered = accepted(w.send_status(wamid, "delivered"), 1)
        accepted(w.send_status(wamid, "read"), 1)
        failed = accepted(w.send_status(late, "failed"), 1)

        got = statuses(st, pb2)
        assert [(t, s, k) for t, s, k, _ in got] == [
            ("message.delivered", "status:whatsapp", f"delivered:{wamid}"),
            ("message.read", "status:whatsapp", f"read:{wamid}"),
            ("message.failed", "status:whatsapp", f"failed:{late}")]
        for _, _, _, body in got[:2]:
            assert body.channel == pb2.CHANNEL_WHATSAPP
            assert list(body.provider_message_ids) == [wamid]
            assert body.recipient == "84901234567"
        f = got[2][3]
        assert f.channel == pb2.CHANNEL_WHATSAPP and f.provider_message_id == late
        assert f.code == "131047"
        assert f.reason == ("Re-engagement message: Message failed to send because more than 24 "
                            "hours have passed since the customer last replied to this number.")
        assert f.permanent is True

        n = count(st)
        accepted(w.redeliver(delivered), 1, duplicate=True)
        accepted(w.redeliver(failed), 1, duplicate=True)
        accepted(w.send_status(wamid, "read"), 1, duplicate=True)  # Meta's own repeat
        assert count(st) == n
        assert w.errors == []


# --- d. Twilio -----------------------------------------------------------------------------


def test_twilio_status_callbacks(stack, pb2):
    with TwilioEmulator() as tw:
        st = start(stack, {"CAREBUS_TWILIO_AUTH_TOKEN": tw.auth_token,
                           "CAREBUS_PUBLIC_URL": PUBLIC + "/"})
        # Twilio calls carebus's public URL; a proxy forwards it to loopback.
        tw.route(PUBLIC, st.api_url)
        callback = PUBLIC + "/v1/webhooks/twilio/status?tenant=hcm"
        basic = {"Authorization": "Basic " + base64.b64encode(
            f"{tw.account_sid}:{tw.auth_token}".encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded"}

        def sms(to):
            body = urllib.parse.urlencode({"To": to, "From": "+15005550006",
                                           "Body": "Đơn hàng #123 đã giao",
                                           "StatusCallback": callback})
            r = h.http_request(f"{tw.url}/2010-04-01/Accounts/{tw.account_sid}/Messages.json",
                               "POST", body, basic)
            assert r.status == 201, r
            return r.json()["sid"]

        sid, sid2 = sms("+84901234567"), sms("+84907654321")
        refused_unsigned(tw, st, lambda signature: tw.send_status(sid, "delivered",
                                                                  signature=signature))
        for status in ("queued", "sent"):
            hook = accepted(tw.send_status(sid, status), 0)
            assert hook.response_json["ignored"] == 1
        delivered = accepted(tw.send_status(sid, "delivered"), 1)
        # Twilio's retry: the same request, the same I-Twilio-Idempotency-Token.
        accepted(tw.redeliver(delivered), 1, duplicate=True)
        # A second callback for the same status (a new token): the same fact.
        accepted(tw.send_status(sid, "delivered"), 1, duplicate=True)
        accepted(tw.send_status(sid, "read"), 1)
        accepted(tw.send_status(sid2, "undelivered", error_code=30003), 1)

        got = statuses(st, pb2)
        assert [(t, s, k) for t, s, k, _ in got] == [
            ("message.delivered", "status:sms", f"delivered:{sid}"),
            ("message.read", "status:sms", f"read:{sid}"),
            ("message.failed", "status:sms", f"failed:{sid2}")]
        for _, _, _, body in got[:2]:
            assert body.channel == pb2.CHANNEL_SMS
            assert list(body.provider_message_ids) == [sid]
            assert body.recipient == "+84901234567"
        f = got[2][3]
        assert f.provider_message_id == sid2 and f.code == "30003"
        assert f.reason == "Unreachable destination handset" and f.permanent is True

        # The signature covers the full URL, query string included: the same
        # request posted without its query is refused.
        n = count(st)
        forged = tw.deliver(PUBLIC + "/v1/webhooks/twilio/status", delivered.body,
                            dict(delivered.headers))
        assert forged.status == 401, forged.response
        assert count(st) == n
        assert tw.errors == []


def test_twilio_status_needs_its_token(stack):
    st = stack("ingest")
    r = h.http_request(st.api_url + "/v1/webhooks/twilio/status", "POST",
                       "MessageSid=SM1&MessageStatus=delivered",
                       {"Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": "x"})
    assert r.status == 404 and r.json()["error"]["code"] == "not_found", r
    assert count(st) == 0


# --- e. Postmark ---------------------------------------------------------------------------


def test_postmark_basic_credentials(stack, pb2):
    st = start(stack, {}, "router")
    port = st.api_url.rsplit(":", 1)[1]
    pm = PostmarkSender(f"http://postmark:{st.api_key}@127.0.0.1:{port}/v1/webhooks/email")
    mail = pm.payload(from_email="lan@example.vn", from_name="Nguyễn Lan",
                      subject="Đơn hàng #123", text="Tôi chưa nhận được hàng",
                      message_id="first@mail.example.vn")

    # No credentials, or a wrong password: 401 challenging Basic, which
    # Postmark retries (10 times, here without waiting); nothing stored.
    for creds in ("none", "wrong"):
        attempts = pm.deliver(mail, time_scale=0, credentials=creds)
        assert len(attempts) == 11, [a.status for a in attempts]
        for a in attempts:
            assert a.status == 401, (creds, a.status, a.response)
    r = h.http_request(st.api_url + "/v1/webhooks/email", "POST", mail,
                       {"Authorization": "Basic bm90LWJhc2U2NA"})
    assert r.status == 401 and r.header("www-authenticate") == 'Basic realm="carebus"', r
    assert count(st) == 0

    # The key as Basic's password, any user name: the contact lands.
    [ok] = pm.deliver(mail, time_scale=0)
    accepted(ok, 1)
    accepted(pm.send(mail), 1, duplicate=True)  # Postmark's retry: the same message
    accepted(pm.send(mail, credentials=("another-user", st.api_key)), 1, duplicate=True)
    rows = st.db.query("SELECT idem_scope, idem_key, payload FROM eventlog.events "
                       "WHERE stream = 'ingest'")
    assert [(s, k) for s, k, _ in rows] == [("msg:email", "first@mail.example.vn")]
    contact = pb2.Envelope.FromString(bytes(rows[0][2])).contact_received
    assert contact.customer.email == "lan@example.vn" and contact.customer.name == "Nguyễn Lan"
    assert contact.subject == "Đơn hàng #123"
    h.wait_until("the email on a ticket", lambda: st.db.scalar(
        "SELECT ticket_id FROM router.messages WHERE external_id = 'first@mail.example.vn'"),
        h.scaled(30), interval=0.1)

    # A key of its own for the email channel works as Basic's password too; a
    # key for other channels is 403, which stops Postmark's retries.
    email_key = new_key(st, "postmark", "email")["key"]
    answer = pm.payload(from_email="lan@example.vn", subject="Re: Đơn hàng #123",
                        text="Vẫn chưa nhận", in_reply_to="first@mail.example.vn",
                        references=["first@mail.example.vn"], message_id="reply@mail.example.vn")
    accepted(pm.send(answer, credentials=("postmark", email_key)), 1)
    zalo_key = new_key(st, "zalo only", "zalo")["key"]
    attempts = pm.deliver(answer, time_scale=0, credentials=("postmark", zalo_key))
    assert [a.status for a in attempts] == [403]
    # So is a key without the ingest scope (a reader's).
    read_key = new_key(st, "reader", scopes="read")["key"]
    attempts = pm.deliver(answer, time_scale=0, credentials=("postmark", read_key))
    assert [a.status for a in attempts] == [403]
    assert attempts[0].response_json["error"]["scope"] == "ingest"
    # Bearer still works.
    r = h.http_request(st.api_url + "/v1/webhooks/email", "POST", answer, st.auth())
    assert r.status == 200 and r.json()["events"][0]["duplicate"] is True, r
    assert count(st) == 2
