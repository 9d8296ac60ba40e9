"""Issue 3: the channel webhooks, end to end (real binaries, PostgreSQL, HTTP).

Each channel's webhook is posted in its documented shape, signed here with
Python's hmac/hashlib (an implementation independent of the C one):

  a. Facebook Messenger: the GET handshake; a signed batch of messages from
     two customers (plus an echo and a delivery receipt) -> 200, one event
     per customer message on the right customer (router.identities,
     router.messages), and the receipt a message.delivered; the same
     delivery again -> duplicates, no new row
  b. WhatsApp Cloud API: text and image messages -> the customer's phone;
     a status beside them -> message.delivered
  c. Zalo OA: X-ZEvent-Signature = "mac=" sha256(app_id body timestamp secret)
  d. Twilio SMS: form body, X-Twilio-Signature over CAREBUS_PUBLIC_URL and
     the sorted parameters; answered with empty TwiML
  e. email (Postmark inbound, API key): a reply threads on its parent by
     In-Reply-To/References
  f. wrong or missing signature (or key) -> 401 and no row; bad JSON -> 400,
     a wrong content type (email, Twilio) -> 415, and no row; a channel
     without its secret -> 404
  g. PostgreSQL down -> 503 with Retry-After; the platform's retry lands once

Every loop is bounded; no test asserts a duration.
"""

import base64
import hashlib
import hmac
import json
import urllib.parse

import carebus_harness as h

FB_SECRET = "fb-app-secret-for-tests"
FB_TOKEN = "meatyhamhock"
WA_SECRET = "wa-app-secret-for-tests"
WA_TOKEN = "wa-verify-token"
ZALO_APP_ID = "360846"
ZALO_SECRET = "zalo-oa-secret-for-tests"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
PUBLIC_URL = "https://carebus.example.vn"

SECRETS = {
    "CAREBUS_FACEBOOK_APP_SECRET": FB_SECRET,
    "CAREBUS_FACEBOOK_VERIFY_TOKEN": FB_TOKEN,
    "CAREBUS_WHATSAPP_APP_SECRET": WA_SECRET,
    "CAREBUS_WHATSAPP_VERIFY_TOKEN": WA_TOKEN,
    "CAREBUS_ZALO_APP_ID": ZALO_APP_ID,
    "CAREBUS_ZALO_OA_SECRET": ZALO_SECRET,
    "CAREBUS_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "CAREBUS_PUBLIC_URL": PUBLIC_URL + "/",
}


# --- signing, as each platform does -----------------------------------------------


def meta_sig(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def zalo_sig(body, timestamp, app_id=ZALO_APP_ID, secret=ZALO_SECRET):
    raw = app_id.encode() + body + timestamp.encode() + secret.encode()
    return "mac=" + hashlib.sha256(raw).hexdigest()


def twilio_sig(url, params, token=TWILIO_TOKEN):
    s = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()


# --- helpers ------------------------------------------------------------------------


def start(stack, *services, extra=None):
    st = stack()
    env = dict(SECRETS)
    env.update(extra or {})
    for name in services:
        st[name].start(wait_ready=False, extra_env=env if name == "ingest" else None)
    for name in services:
        st[name].wait_ready()
    return st


def post(st, path, body, headers):
    return h.http_request(st.api_url + path, "POST", body, headers)


def events(st):
    """(idem_scope, idem_key) of every ingest event, in log order."""
    return st.db.query("SELECT idem_scope, idem_key FROM eventlog.events "
                       "WHERE stream = 'ingest' ORDER BY seq")


def decoded(st, pb2):
    out = {}
    for key, payload in st.db.query("SELECT idem_key, payload FROM eventlog.events "
                                    "WHERE stream = 'ingest'"):
        out[key] = pb2.Envelope.FromString(bytes(payload)).contact_received
    return out


def fb_body(messages, obj="page"):
    return json.dumps({"object": obj, "entry": [{"id": "PAGE1", "time": 1795399200000,
                                                 "messaging": messages}]},
                      ensure_ascii=False).encode()


def fb_msg(psid, mid, text, ts=1795399200000):
    return {"sender": {"id": psid}, "recipient": {"id": "PAGE1"}, "timestamp": ts,
            "message": {"mid": mid, "text": text}}


def identity_owner(st, kind, value):
    return st.db.scalar("SELECT customer_id FROM router.identities WHERE kind = %s AND value = %s",
                        (kind, value))


def wait_routed(st, n):
    h.wait_until(f"{n} messages routed",
                 lambda: st.db.scalar("SELECT count(*) FROM router.messages") >= n,
                 h.scaled(30), interval=0.1)


# --- a. Facebook -------------------------------------------------------------------


def test_facebook_handshake_batch_and_retry(stack, pb2):
    st = start(stack, "ingest", "router")
    base = "/v1/webhooks/facebook"

    ok = st["ingest"].get(f"{base}?hub.mode=subscribe&hub.verify_token={FB_TOKEN}"
                          "&hub.challenge=1158201444")
    assert ok.status == 200 and ok.body == b"1158201444"
    for q in (f"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
              f"hub.mode=unsubscribe&hub.verify_token={FB_TOKEN}&hub.challenge=1",
              "hub.mode=subscribe&hub.challenge=1"):
        r = st["ingest"].get(f"{base}?{q}")
        assert r.status == 403, (q, r)

    body = fb_body([
        fb_msg("PSID-LAN", "m_lan_1", "Tôi cần hỗ trợ"),
        {"sender": {"id": "PAGE1"}, "recipient": {"id": "PSID-LAN"}, "timestamp": 1795399200500,
         "message": {"mid": "m_echo", "is_echo": True, "text": "Chào bạn"}},
        {"sender": {"id": "PSID-LAN"}, "recipient": {"id": "PAGE1"},
         "delivery": {"mids": ["m_echo"], "watermark": 1795399200600}},
        fb_msg("PSID-MINH", "m_minh_1", "Sản phẩm bị lỗi", 1795399201000),
        fb_msg("PSID-LAN", "m_lan_2", "Đơn hàng #123", 1795399202000),
    ])

    # Wrong or missing signature first: nothing stored.
    for hdrs in ({}, {"X-Hub-Signature-256": meta_sig("not-the-secret", body)},
                 {"X-Hub-Signature-256": meta_sig(FB_SECRET, body + b" ")},
                 {"X-Hub-Signature-256": "sha1=" + "0" * 40}):
        r = post(st, base, body, dict(hdrs, **{"Content-Type": "application/json"}))
        assert r.status == 401, (hdrs, r)
        assert r.json()["error"]["code"] == "invalid_signature"
    assert events(st) == []

    hdrs = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_sig(FB_SECRET, body)}
    r = post(st, base, body, hdrs)
    assert r.status == 200, r
    ans = r.json()
    # The customer messages, then the delivery receipt (a status since
    # issue 10); the echo is ignored.
    assert [e["duplicate"] for e in ans["events"]] == [False, False, False, False]
    assert ans["ignored"] == 1
    assert events(st) == [("msg:facebook", "m_lan_1"), ("msg:facebook", "m_minh_1"),
                          ("msg:facebook", "m_lan_2"),
                          ("status:facebook", "delivered:PSID-LAN@1795399200600")]
    got = decoded(st, pb2)
    assert got["m_lan_1"].customer.handle == "PSID-LAN"
    assert got["m_lan_1"].text == "Tôi cần hỗ trợ"
    assert got["m_minh_1"].customer.handle == "PSID-MINH"

    # Meta retries the delivery: same answer ids, duplicates, no new row.
    r2 = post(st, base, body, hdrs)
    assert r2.status == 200
    assert [e["event_id"] for e in r2.json()["events"]] == [e["event_id"] for e in ans["events"]]
    assert all(e["duplicate"] for e in r2.json()["events"])
    assert len(events(st)) == 4

    # The router put each message on its customer.
    wait_routed(st, 3)
    lan = identity_owner(st, "facebook", "PSID-LAN")
    minh = identity_owner(st, "facebook", "PSID-MINH")
    assert lan and minh and lan != minh
    rows = st.db.query("SELECT external_id, customer_id::text FROM router.messages "
                       "ORDER BY external_id")
    assert rows == [("m_lan_1", str(lan)), ("m_lan_2", str(lan)), ("m_minh_1", str(minh))]

    # Not JSON (but correctly signed): 400, nothing stored.
    bad = b'{"object":"page","entry":['
    r = post(st, base, bad, {"X-Hub-Signature-256": meta_sig(FB_SECRET, bad)})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_json"
    assert len(events(st)) == 4
    metrics = st["ingest"].get("/metrics").body.decode()
    assert 'carebus_ingest_rejected_total{reason="invalid_signature"} 4' in metrics


# --- b. WhatsApp --------------------------------------------------------------------


def test_whatsapp_messages_on_the_phone(stack, pb2):
    st = start(stack, "ingest", "router")
    base = "/v1/webhooks/whatsapp"
    r = st["ingest"].get(f"{base}?hub.mode=subscribe&hub.verify_token={WA_TOKEN}"
                         "&hub.challenge=42")
    assert r.status == 200 and r.body == b"42"

    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Nguyễn Lan"}, "wa_id": "84901234567"}],
        "messages": [
            {"from": "84901234567", "id": "wamid.A1", "timestamp": "1795399200", "type": "text",
             "text": {"body": "Xin chào"}},
            {"from": "84901234567", "id": "wamid.A2", "timestamp": "1795399260", "type": "image",
             "image": {"caption": "ảnh hóa đơn", "mime_type": "image/jpeg", "sha256": "x",
                       "id": "2754859441498128"}},
        ],
    }
    statuses = {"messaging_product": "whatsapp",
                "statuses": [{"id": "wamid.OUT", "status": "delivered", "timestamp": "1795399300",
                              "recipient_id": "84901234567"}]}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "WABA", "changes": [{"field": "messages", "value": value},
                                   {"field": "messages", "value": statuses}]}]},
        ensure_ascii=False).encode()

    r = post(st, base, body, {"X-Hub-Signature-256": meta_sig(FB_SECRET, body)})
    assert r.status == 401  # signed with another app's secret
    assert events(st) == []
    r = post(st, base, body, {"X-Hub-Signature-256": meta_sig(WA_SECRET, body)})
    assert r.status == 200, r
    assert events(st) == [("msg:whatsapp", "wamid.A1"), ("msg:whatsapp", "wamid.A2"),
                          ("status:whatsapp", "delivered:wamid.OUT")]
    got = decoded(st, pb2)
    assert got["wamid.A1"].customer.phone == "+84901234567"
    assert got["wamid.A1"].customer.name == "Nguyễn Lan"
    assert got["wamid.A2"].attachments[0].content_type == "image/jpeg"
    assert got["wamid.A2"].text == "ảnh hóa đơn"

    wait_routed(st, 2)
    cust = identity_owner(st, "phone", "+84901234567")
    assert cust is not None
    assert st.db.scalar("SELECT count(DISTINCT customer_id) FROM router.messages") == 1
    assert str(st.db.scalar("SELECT customer_id FROM router.messages LIMIT 1")) == str(cust)


# --- c. Zalo ------------------------------------------------------------------------


def zalo_event(msg_id, text, ts="1795399200000", sender="4120978365"):
    return json.dumps({
        "app_id": ZALO_APP_ID, "user_id_by_app": "552177279717587730",
        "event_name": "user_send_text", "timestamp": ts,
        "sender": {"id": sender}, "recipient": {"id": "579745863508352884"},
        "message": {"msg_id": msg_id, "text": text}}, ensure_ascii=False).encode()


def test_zalo_signature_and_events(stack, pb2):
    st = start(stack, "ingest")
    base = "/v1/webhooks/zalo"
    body = zalo_event("zmsg-1", "Đơn hàng của tôi bị giao chậm")
    for hdrs in ({}, {"X-ZEvent-Signature": zalo_sig(body, "1795399200001")},
                 {"X-ZEvent-Signature": zalo_sig(body, "1795399200000", secret="other")},
                 {"X-ZEvent-Signature": zalo_sig(body, "1795399200000")[4:]}):
        r = post(st, base, body, hdrs)
        assert r.status == 401, (hdrs, r)
    assert events(st) == []

    r = post(st, base, body, {"X-ZEvent-Signature": zalo_sig(body, "1795399200000")})
    assert r.status == 200, r
    assert events(st) == [("msg:zalo", "zmsg-1")]
    got = decoded(st, pb2)["zmsg-1"]
    assert got.customer.handle == "4120978365"
    assert got.text == "Đơn hàng của tôi bị giao chậm"

    follow = json.dumps({"app_id": ZALO_APP_ID, "event_name": "follow", "timestamp": "1",
                         "follower": {"id": "4120978365"}, "oa_id": "579745863508352884"}).encode()
    r = post(st, base, follow, {"X-ZEvent-Signature": zalo_sig(follow, "1")})
    assert r.status == 200 and r.json()["events"] == [] and r.json()["ignored"] == 1
    assert len(events(st)) == 1


# --- d. Twilio ----------------------------------------------------------------------


def test_twilio_sms_form(stack, pb2):
    st = start(stack, "ingest")
    path = "/v1/webhooks/twilio/sms"
    params = {"ToCountry": "VN", "SmsMessageSid": "SM0001", "NumMedia": "1", "SmsSid": "SM0001",
              "SmsStatus": "received", "Body": "Tôi muốn đổi trả", "To": "+84281234567",
              "MessageSid": "SM0001", "AccountSid": "AC0001", "From": "+84907654321",
              "MediaUrl0": "https://api.twilio.com/media/ME1", "MediaContentType0": "image/png",
              "ApiVersion": "2010-04-01"}
    body = urllib.parse.urlencode(params)
    ctype = {"Content-Type": "application/x-www-form-urlencoded"}
    url = PUBLIC_URL + path
    for sig in (None, twilio_sig(url, params, token="wrong"),
                twilio_sig("http://127.0.0.1" + path, params),
                twilio_sig(url, dict(params, Body="other"))):
        hdrs = dict(ctype)
        if sig:
            hdrs["X-Twilio-Signature"] = sig
        r = post(st, path, body, hdrs)
        assert r.status == 401, (sig, r)
    r = post(st, path, body, {"Content-Type": "application/json",
                              "X-Twilio-Signature": twilio_sig(url, params)})
    assert r.status == 415
    assert events(st) == []

    r = post(st, path, body, dict(ctype, **{"X-Twilio-Signature": twilio_sig(url, params)}))
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/xml")
    assert b"<Response/>" in r.body
    assert events(st) == [("msg:sms", "SM0001")]
    got = decoded(st, pb2)["SM0001"]
    assert got.customer.phone == "+84907654321"
    assert got.text == "Tôi muốn đổi trả"
    assert [(a.url, a.content_type) for a in got.attachments] == [
        ("https://api.twilio.com/media/ME1", "image/png")]

    # A webhook URL with a query string: Twilio signs it whole.
    qpath = path + "?tenant=hcm&x=a%20b"
    params2 = dict(params, MessageSid="SM0002", SmsSid="SM0002", SmsMessageSid="SM0002")
    body2 = urllib.parse.urlencode(params2)
    r = post(st, qpath, body2, dict(ctype, **{"X-Twilio-Signature": twilio_sig(url, params2)}))
    assert r.status == 401, r  # signed without the query: refused
    r = post(st, qpath, body2,
             dict(ctype, **{"X-Twilio-Signature": twilio_sig(PUBLIC_URL + qpath, params2)}))
    assert r.status == 200, r
    assert ("msg:sms", "SM0002") in events(st)


# --- e. email -----------------------------------------------------------------------


def postmark(message_id, subject, text, in_reply_to=None, references=None,
             date="Mon, 23 Nov 2026 09:00:00 +0700"):
    headers = [{"Name": "X-Spam-Status", "Value": "No"},
               {"Name": "Message-ID", "Value": f"<{message_id}>"}]
    if in_reply_to:
        headers.append({"Name": "In-Reply-To", "Value": f"<{in_reply_to}>"})
    if references:
        headers.append({"Name": "References", "Value": " ".join(f"<{x}>" for x in references)})
    return {"FromName": "Lan Nguyen", "From": "lan@example.vn",
            "FromFull": {"Email": "lan@example.vn", "Name": "Nguyễn Lan", "MailboxHash": ""},
            "To": "support@carebus.example.vn", "Subject": subject,
            "MessageID": "pm-" + message_id, "Date": date, "TextBody": text,
            "HtmlBody": "<p>" + text + "</p>", "StrippedTextReply": text, "Headers": headers,
            "Attachments": []}


def test_email_threads_replies(stack, pb2):
    st = start(stack, "ingest", "router")
    path = "/v1/webhooks/email"
    first = postmark("first@mail.example.vn", "Đơn hàng #123", "Tôi chưa nhận được hàng")
    r = post(st, path, first, {})
    assert r.status == 401
    r = post(st, path, first, st.auth("not-a-key"))
    assert r.status == 401
    r = post(st, path, json.dumps(first), dict(st.auth(), **{"Content-Type": "text/plain"}))
    assert r.status == 415
    assert events(st) == []

    r = post(st, path, first, st.auth())
    assert r.status == 200, r
    reply = postmark("reply@mail.example.vn", "Re: Đơn hàng #123", "Vẫn chưa nhận được",
                     in_reply_to="first@mail.example.vn", references=["first@mail.example.vn"],
                     date="Mon, 23 Nov 2026 10:00:00 +0700")
    r = post(st, path, reply, st.auth())
    assert r.status == 200, r
    assert events(st) == [("msg:email", "first@mail.example.vn"),
                          ("msg:email", "reply@mail.example.vn")]
    got = decoded(st, pb2)["reply@mail.example.vn"]
    assert got.customer.email == "lan@example.vn"
    assert got.subject == "Re: Đơn hàng #123"
    assert got.in_reply_to == "first@mail.example.vn"
    assert list(got.references) == ["first@mail.example.vn"]

    wait_routed(st, 2)
    assert st.db.scalar("SELECT count(DISTINCT ticket_id) FROM router.messages") == 1
    assert identity_owner(st, "email", "lan@example.vn") is not None
    r = post(st, path, b"{not json", dict(st.auth(), **{"Content-Type": "application/json"}))
    assert r.status == 400
    assert len(events(st)) == 2


# --- f. unconfigured ---------------------------------------------------------------


def test_unconfigured_channels_answer_404(stack):
    st = stack()
    st["ingest"].start(extra_env={"CAREBUS_EMAIL_WEBHOOK": "off"})
    body = b'{"object":"page","entry":[]}'
    sig = {"X-Hub-Signature-256": meta_sig(FB_SECRET, body)}
    checks = [
        ("GET", "/v1/webhooks/facebook?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", {}),
        ("POST", "/v1/webhooks/facebook", sig),
        ("GET", "/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", {}),
        ("POST", "/v1/webhooks/whatsapp", sig),
        ("POST", "/v1/webhooks/zalo", {"X-ZEvent-Signature": "mac=00"}),
        ("POST", "/v1/webhooks/twilio/sms", {"X-Twilio-Signature": "x"}),
        ("POST", "/v1/webhooks/email", st.auth()),
    ]
    for method, path, hdrs in checks:
        r = h.http_request(st.api_url + path, method, body if method == "POST" else None, hdrs)
        assert r.status == 404, (method, path, r)
    assert events(st) == []
    metrics = st["ingest"].get("/metrics").body.decode()
    assert 'carebus_ingest_rejected_total{reason="webhook_not_configured"} 7' in metrics


# --- g. the database down ----------------------------------------------------------


def test_database_down_answers_503_then_retry_lands_once(private_cluster, stack):
    st = stack(cluster=private_cluster)
    st["ingest"].start(extra_env=SECRETS)
    base = "/v1/webhooks/facebook"
    body = fb_body([fb_msg("PSID-A", "m_a_1", "một"), fb_msg("PSID-B", "m_b_1", "hai")])
    hdrs = {"X-Hub-Signature-256": meta_sig(FB_SECRET, body)}

    private_cluster.stop()
    try:
        r = post(st, base, body, hdrs)
        assert r.status == 503, r
        assert r.header("retry-after")
    finally:
        private_cluster.start()

    # The platform retries until the store is back: every message once.
    def accepted():
        resp = post(st, base, body, hdrs)
        assert resp.status in (200, 503), resp
        return resp.status == 200 and resp

    r = h.wait_until("the webhook accepted again", accepted, h.scaled(30), interval=0.2)
    assert len(r.json()["events"]) == 2
    assert events(st) == [("msg:facebook", "m_a_1"), ("msg:facebook", "m_b_1")]
