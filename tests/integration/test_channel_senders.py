"""Issue 10's acceptance for the senders of Messenger, Instagram, WhatsApp and
Twilio SMS, end to end: real channel-ingest, router and courier, real
PostgreSQL and ZeroMQ, and the strict provider emulators (tests/emulators),
which refuse whatever the provider would.

For each channel: the customer writes (the emulator's signed webhook), the
agent answers through POST /v1/tickets/{id}/replies, and the emulator
receives exactly one request, byte for byte the documented one (path,
credentials, body); courier records message.sent with the provider's id;
the emulator's signed status webhooks come back through channel-ingest and
the ticket's timeline shows the reply delivered, then read. And:

  a. Twilio answers 429 with Retry-After: 2 -> the next attempt no sooner
  b. a Messenger reply two days after the customer's last message without
     the HUMAN_AGENT permission fails at once, saying so, and nothing is
     sent; with it, the tag goes out
  c. WhatsApp outside its 24-hour window: Meta's 131047 (its status webhook,
     or its refusal) is the code on the timeline

Every wait is bounded.
"""

import base64
import json
import sys
import urllib.parse
from pathlib import Path

import carebus_harness as h
from courier_support import attempts, courier_env, message_events
from test_router_acceptance import post, routed_ticket, ticket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators import MessengerEmulator, TwilioEmulator, WhatsAppEmulator  # noqa: E402

PUBLIC = "https://carebus.example.vn"
DAY = 86400


# --- helpers ------------------------------------------------------------------------------


def start(stack, ingest_env, courier_extra):
    """channel-ingest, router and courier; courier with its test timings."""
    st = stack()
    st["ingest"].start(wait_ready=False, extra_env=ingest_env)
    st["router"].start(wait_ready=False)
    st["courier"].start(wait_ready=False, extra_env=courier_env(**courier_extra))
    for name in ("ingest", "router", "courier"):
        st[name].wait_ready()
    return st


def contact(hook):
    """The event id of the one contact a webhook landed."""
    assert hook.status == 200, (hook.status, hook.response, hook.error)
    events = hook.response_json["events"]
    assert len(events) == 1, hook.response
    return events[0]["event_id"]


def last_contact(st, hook):
    """The contact a webhook answered without naming it (Twilio's TwiML)."""
    assert hook.status == 200, (hook.status, hook.response, hook.error)
    return st.db.scalar("SELECT event_id::text FROM eventlog.events WHERE stream = 'ingest' "
                        "AND type = 'contact.received' ORDER BY seq DESC LIMIT 1")


def reply(st, ticket_id, text, attachments=None):
    body = {"agent_id": "agent-7", "text": text}
    if attachments:
        body["attachments"] = attachments
    return post(st, f"/v1/tickets/{ticket_id}/replies", body)["event_id"]


def timeline_delivery(st, ticket_id, event_id):
    for m in ticket(st, ticket_id)["messages"]:
        if m["event_id"] == event_id:
            return m.get("delivery")
    return None


def wait_status(st, ticket_id, event_id, status):
    """Until the reply's delivery on the timeline is status; returns it."""
    def check():
        d = timeline_delivery(st, ticket_id, event_id)
        return d if d and d["status"] == status else None

    return h.wait_until(f"reply {event_id} {status} on the timeline", check, h.scaled(20),
                        interval=0.05, on_timeout=lambda: (
                            f"\ndelivery: {timeline_delivery(st, ticket_id, event_id)}\n"
                            + st.log_summary()))


def sent_event(st, pb2, delivery_id):
    return h.wait_until(f"message.sent of {delivery_id}",
                        lambda: message_events(st, pb2, "message.sent").get(delivery_id),
                        h.scaled(20), on_timeout=lambda: st["courier"].log_tail())


def only_request(emu, **filters):
    """The one provider request carebus made (and no second one)."""
    got = emu.wait_requests(1, timeout=h.scaled(20), **filters)
    assert len(emu.requests(**filters)) == 1, [(r.method, r.path, r.status) for r in got]
    return got[0]


def assert_graph_request(r, path, token, body):
    assert r.method == "POST" and r.path == path and r.query == {}, (r.method, r.path, r.query)
    assert r.header("Authorization") == f"Bearer {token}"
    assert r.header("Content-Type") == "application/json"
    assert r.body == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), r.body
    assert r.status == 200, r.response


# --- Messenger and Instagram --------------------------------------------------------------


def test_messenger_and_instagram_reply_delivered_and_read(stack, pb2):
    with MessengerEmulator() as m:
        st = start(stack, {"CAREBUS_FACEBOOK_APP_SECRET": m.app_secret},
                   {"CAREBUS_GRAPH_API_BASE": m.url,
                    "CAREBUS_FACEBOOK_PAGE_TOKEN": m.page_token})
        m.set_webhook_url(st.api_url + "/v1/webhooks/facebook")

        # Messenger: a text reply, delivered then read.
        psid = "6254401871284361"
        t = routed_ticket(st, contact(m.send_inbound(psid, "Đơn hàng của tôi đến đâu rồi?")))
        r1 = reply(st, t, "Chào bạn, đơn hàng đang được giao.")
        req = only_request(m, path="/v25.0/me/messages")
        assert_graph_request(req, "/v25.0/me/messages", m.page_token, {
            "recipient": {"id": psid}, "messaging_type": "RESPONSE",
            "message": {"text": "Chào bạn, đơn hàng đang được giao."}})
        mid = req.response_json["message_id"]
        d = wait_status(st, t, r1, "sent")
        assert d["provider_message_id"] == mid
        assert sent_event(st, pb2, d["id"]).provider_message_id == mid
        m.advance(1)
        assert m.send_status("delivery", mids=[mid]).status == 200
        wait_status(st, t, r1, "delivered")
        m.advance(1)
        assert m.send_status("read", user_id=psid).status == 200
        got = wait_status(st, t, r1, "read")
        assert got["error"] is None and got["delivered_at"] and got["read_at"]

        # Instagram: to the IGSID through the same Page; a reply with a photo
        # is its text and the photo's link (the Send API takes no caption);
        # read by mid (Instagram sends no delivery receipts).
        igsid = "17841400000000777"
        t2 = routed_ticket(st, contact(m.send_inbound(igsid, "Còn size M không?",
                                                      platform="instagram")))
        photo = {"url": "https://cdn.example.vn/ao-size-m.jpg", "name": "ao-size-m.jpg",
                 "content_type": "image/jpeg"}
        r2 = reply(st, t2, "Dạ còn ạ", [photo])
        req2 = only_request(m, path="/v25.0/me/messages",
                            where=lambda r: r.json["recipient"]["id"] == igsid)
        assert_graph_request(req2, "/v25.0/me/messages", m.page_token, {
            "recipient": {"id": igsid}, "messaging_type": "RESPONSE",
            "message": {"text": "Dạ còn ạ\nao-size-m.jpg: " + photo["url"]}})
        assert m.messages(igsid)[0]["platform"] == "instagram"
        ig_mid = req2.response_json["message_id"]
        wait_status(st, t2, r2, "sent")
        assert m.send_status("read", mids=[ig_mid]).status == 200
        assert wait_status(st, t2, r2, "read")["provider_message_id"] == ig_mid
        assert m.errors == []


def test_messenger_outside_the_window(stack, pb2):
    with MessengerEmulator() as m:
        env = {"CAREBUS_GRAPH_API_BASE": m.url, "CAREBUS_FACEBOOK_PAGE_TOKEN": m.page_token}
        st = start(stack, {"CAREBUS_FACEBOOK_APP_SECRET": m.app_secret}, env)
        m.set_webhook_url(st.api_url + "/v1/webhooks/facebook")
        # The customer wrote two days ago (the emulator's clock, then back).
        psid = "6254401871284362"
        m.advance(-2 * DAY)
        t = routed_ticket(st, contact(m.send_inbound(psid, "Tôi muốn đổi hàng")))
        m.advance(2 * DAY)

        r1 = reply(st, t, "Xin lỗi vì trả lời chậm")
        got = wait_status(st, t, r1, "failed")
        assert got["error"]["code"] == "outside_window", got
        assert got["error"]["reason"].startswith("outside the 24-hour window: the customer last "
                                                 "wrote 48 hours ago"), got
        assert "CAREBUS_FACEBOOK_HUMAN_AGENT" in got["error"]["reason"]
        # Refused before sending: no request, and no retry.
        assert m.requests(path="/v25.0/me/messages") == []
        failed = message_events(st, pb2, "message.failed")[got["id"]]
        assert failed.code == "outside_window" and failed.permanent
        assert [a[1] for a in attempts(st, got["id"])] == ["failed"]

        # With the Page's Human Agent permission: the tag, and Meta takes it.
        st.stop("courier")
        st["courier"].start(extra_env=courier_env(**env, CAREBUS_FACEBOOK_HUMAN_AGENT="1"))
        r2 = reply(st, t, "Chị ơi, em hỗ trợ đổi hàng nhé")
        req = only_request(m, path="/v25.0/me/messages")
        assert_graph_request(req, "/v25.0/me/messages", m.page_token, {
            "recipient": {"id": psid}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
            "message": {"text": "Chị ơi, em hỗ trợ đổi hàng nhé"}})
        wait_status(st, t, r2, "sent")
        assert m.errors == []


# --- WhatsApp -------------------------------------------------------------------------------


def test_whatsapp_reply_delivered_read_and_the_window(stack, pb2):
    with WhatsAppEmulator() as w:
        st = start(stack, {"CAREBUS_WHATSAPP_APP_SECRET": w.app_secret},
                   {"CAREBUS_GRAPH_API_BASE": w.url, "CAREBUS_WHATSAPP_TOKEN": w.token,
                    "CAREBUS_WHATSAPP_PHONE_NUMBER_ID": w.phone_number_id})
        w.set_webhook_url(st.api_url + "/v1/webhooks/whatsapp")
        path = f"/v25.0/{w.phone_number_id}/messages"

        wa_id = "84901234567"
        t = routed_ticket(st, contact(w.send_inbound(wa_id, "Xin chào", name="Nguyễn Lan")))
        r1 = reply(st, t, "Chào chị Lan, em có thể giúp gì ạ?")
        req = only_request(w, path=path)
        d = wait_status(st, t, r1, "sent")
        assert_graph_request(req, path, w.token, {
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
            "type": "text", "text": {"body": "Chào chị Lan, em có thể giúp gì ạ?"},
            "biz_opaque_callback_data": d["id"]})
        wamid = req.response_json["messages"][0]["id"]
        assert d["provider_message_id"] == wamid
        assert w.send_status(wamid, "sent").status == 200
        assert w.send_status(wamid, "delivered").status == 200
        wait_status(st, t, r1, "delivered")
        assert w.send_status(wamid, "read").status == 200
        wait_status(st, t, r1, "read")

        # Two days after the customer's last message: sent (no template is
        # configured), accepted, then failed by Meta's status webhook.
        late = "84907654321"
        w.advance(-2 * DAY)
        t2 = routed_ticket(st, contact(w.send_inbound(late, "Tôi cần hỗ trợ")))
        w.advance(2 * DAY)
        r2 = reply(st, t2, "Dạ em chào anh")
        req2 = only_request(w, path=path, where=lambda r: r.json["to"] == late)
        late_id = req2.response_json["messages"][0]["id"]
        wait_status(st, t2, r2, "sent")
        # Meta's status times are whole seconds: a failure reported in the
        # second of the send would read as before it.
        w.advance(2)
        assert w.send_status(late_id, "failed").status == 200
        got = wait_status(st, t2, r2, "failed")
        assert got["error"]["code"] == "131047", got
        assert got["error"]["reason"].startswith("Re-engagement message"), got

        # The same when Meta refuses at once (400 131047): courier's
        # message.failed carries Meta's code.
        w.set_window_mode("sync")
        r3 = reply(st, t2, "Anh ơi?")
        got = wait_status(st, t2, r3, "failed")
        assert got["error"]["code"] == "131047", got
        assert "(#131047) Re-engagement message" in got["error"]["reason"], got
        assert len(w.requests(path=path, where=lambda r: r.json["to"] == late)) == 2
        assert w.errors == []


# --- Twilio SMS ------------------------------------------------------------------------------


def test_twilio_sms_reply_delivered_read_and_retry_after(stack, pb2):
    with TwilioEmulator() as tw:
        common = {"CAREBUS_PUBLIC_URL": PUBLIC, "CAREBUS_TWILIO_AUTH_TOKEN": tw.auth_token}
        st = start(stack, common, dict(common, CAREBUS_TWILIO_API_BASE=tw.url,
                                       CAREBUS_TWILIO_ACCOUNT_SID=tw.account_sid,
                                       CAREBUS_TWILIO_FROM="+15005550006"))
        # Twilio calls carebus's public URL; a proxy forwards it to loopback.
        tw.route(PUBLIC, st.api_url)
        tw.sms_url = PUBLIC + "/v1/webhooks/twilio/sms"
        path = f"/2010-04-01/Accounts/{tw.account_sid}/Messages.json"

        phone = "+84901234567"
        t = routed_ticket(st, last_contact(st, tw.send_inbound(phone, "Khi nào giao hàng?")))
        # The first attempt meets a 429 with Retry-After: 2.
        tw.rate_limit_next(1, retry_after=2, path=path)
        r1 = reply(st, t, "Dạ, chiều nay ạ. Cảm ơn anh!")
        got = tw.wait_requests(2, timeout=h.scaled(20), path=path)
        assert [r.status for r in got] == [429, 201]
        assert got[1].time - got[0].time >= 2.0, (got[0].time, got[1].time)
        for r in got:
            assert r.method == "POST" and r.query == {}
            assert r.header("Authorization") == "Basic " + base64.b64encode(
                f"{tw.account_sid}:{tw.auth_token}".encode()).decode()
            assert r.header("Content-Type") == "application/x-www-form-urlencoded"
            assert r.body == (
                "To=%2B84901234567&From=%2B15005550006&Body="
                + urllib.parse.quote("Dạ, chiều nay ạ. Cảm ơn anh!", safe="-._~")
                + "&StatusCallback=" + urllib.parse.quote(
                    PUBLIC + "/v1/webhooks/twilio/status", safe="-._~")).encode(), r.body
        sid = got[1].response_json["sid"]
        d = wait_status(st, t, r1, "sent")
        assert d["provider_message_id"] == sid
        assert [(a[0], a[1], a[2], a[3]) for a in attempts(st, d["id"])] == [
            (1, "retry", 429, "20429"), (2, "sent", 201, None)]
        assert sent_event(st, pb2, d["id"]).attempts == 2

        assert tw.send_status(sid, "sent").status == 200
        assert tw.send_status(sid, "delivered").status == 200
        wait_status(st, t, r1, "delivered")
        assert tw.send_status(sid, "read").status == 200
        wait_status(st, t, r1, "read")
        assert len(tw.requests(path=path)) == 2
        assert tw.errors == []


# --- settings stored by carebusctl ------------------------------------------------------------


def test_whatsapp_settings_set_by_carebusctl_reach_a_running_courier(stack, pb2):
    """carebusctl channels set stores a sender's settings; the running
    courier configures the sender anew from them (no restart), and the next
    token set replaces the first; channels list names them, never a value."""
    with WhatsAppEmulator() as w:
        st = start(stack, {"CAREBUS_WHATSAPP_APP_SECRET": w.app_secret},
                   {"CAREBUS_GRAPH_API_BASE": w.url})
        w.set_webhook_url(st.api_url + "/v1/webhooks/whatsapp")
        path = f"/v25.0/{w.phone_number_id}/messages"
        t = routed_ticket(st, contact(w.send_inbound("84901234567", "Xin chào")))
        r0 = reply(st, t, "Chưa gửi được")
        got = wait_status(st, t, r0, "failed")
        assert got["error"]["code"] == "not_configured", got

        def configured(n):
            h.wait_until(f"courier configured with {n} stored settings", lambda:
                         f"whatsapp sender configured with {n} stored setting"
                         in st["courier"].log_text(), h.scaled(20))

        out = st.carebusctl("channels", "set", "whatsapp", f"CAREBUS_WHATSAPP_TOKEN={w.token}",
                            f"whatsapp_phone_number_id={w.phone_number_id}")
        assert out.splitlines() == ["whatsapp WHATSAPP_TOKEN set",
                                    "whatsapp WHATSAPP_PHONE_NUMBER_ID set"], out
        configured(2)
        r1 = reply(st, t, "Chào chị, em đã nhận được")
        req = only_request(w, path=path)
        assert req.header("Authorization") == f"Bearer {w.token}" and req.status == 200
        wait_status(st, t, r1, "sent")

        # A new token, the old one expired: set, and used without a restart.
        new = "EAAGwa-rotated-token-0042"
        w.seed_token(new)
        w.expire_token(w.token)
        st.carebusctl("channels", "set", "sms", "TWILIO_FROM=")  # nothing stored: no change
        st.carebusctl("channels", "set", "whatsapp", f"WHATSAPP_TOKEN={new}")
        h.wait_until("the new token in use", lambda: st["courier"].log_text().count(
            "whatsapp sender configured with 2 stored settings") >= 2, h.scaled(20))
        r2 = reply(st, t, "Dạ em gửi lại")
        wait_status(st, t, r2, "sent")
        last = w.requests(path=path)[-1]
        assert last.header("Authorization") == f"Bearer {new}" and last.status == 200

        # Names only; a name no sender reads, or a value it refuses, stored never.
        listed = st.carebusctl("channels", "list")
        assert "WHATSAPP_TOKEN" in listed and "WHATSAPP_PHONE_NUMBER_ID" in listed, listed
        rows = json.loads(st.carebusctl("channels", "list", "--json"))
        assert {(r["channel"], r["name"]) for r in rows} == {
            ("whatsapp", "WHATSAPP_TOKEN"), ("whatsapp", "WHATSAPP_PHONE_NUMBER_ID")}, rows
        assert {r["value"] for r in rows} == {"********"}
        code, out, err = st.carebusctl("channels", "set", "whatsapp", "WHATSAPP_TOKN=s3cret-typo",
                                       check=False)
        assert code == 2 and "WHATSAPP_TOKN is not a setting of whatsapp" in err, (code, err)
        code, out, err = st.carebusctl("channels", "set", "whatsapp", "s3cret-no-key",
                                       check=False)
        assert code == 2 and "s3cret" not in out + err, err
        code, out, err = st.carebusctl("channels", "set", "telepathy", "X=1", check=False)
        assert code == 2, err
        assert len(json.loads(st.carebusctl("channels", "list", "--json"))) == 2
        for secret in (w.token, new, "s3cret"):
            for name in ("courier", "ingest", "router"):
                assert secret not in st[name].all_logs(), (name, secret)
            assert secret not in listed
