"""Issue 10: the provider emulators keep their own contract — checked directly
with http.client and smtplib, no carebus binary involved.

  a. the machinery: injected 500s, 429 with and without Retry-After, a delay
     beyond the client's timeout (processed or not), connection resets,
     concurrency, the recorder and the /__emu/ control API
  b. Zalo OA: success in Zalo's shape; every documented refusal as HTTP 200 +
     its negative code; the per-app rate limit; expiry and the single-use
     rotating refresh token (an old refresh token is refused after use);
     uploads; webhooks signed mac=sha256(app_id + body + timestamp + secret)
  c. Messenger / Instagram: tokens, Graph's error envelope and codes,
     messaging_type/tag rules, the 24 h window and HUMAN_AGENT's 7 days, 613,
     appsecret_proof; delivery/read webhooks signed X-Hub-Signature-256
  d. WhatsApp: 401 token errors, parameter codes, templates, the window (async
     131047 and the sync variant), 131026, 130429, 131056; status webhooks
  e. Twilio: Basic auth, form fields, 201, error codes and magic numbers,
     opt-out, 429 on concurrency; StatusCallback signed over the public URL
     (checked against Twilio's published test vector)
  f. SMTP: STARTTLS before AUTH before MAIL, 535, recipient policy, 421,
     a connection dropped after DATA; Mail.problems()
  g. Postmark: Basic credentials from the URL, its retry ladder, threading a
     customer's answer to a message carebus sent
  h. Standard Webhooks verification against the specification's vector
  i. the benchmark's C sink (tests/tools/provider_sink): each provider's
     success shape, counts, arrival times, reset, a clean exit on SIGTERM

Signatures are verified with code written here from the providers' formulas,
not with the emulators' own signers. Every wait is bounded.
"""

import base64
import hashlib
import hmac
import http.client
import json
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import emulators  # noqa: E402
from emulators import (EmulatorError, MessengerEmulator, PostmarkSender,  # noqa: E402
                       SmtpEmulator, TwilioEmulator, WebhookReceiver, WhatsAppEmulator,
                       ZaloEmulator)

PUBLIC = "https://carebus.example.vn"


# --- independent verifiers (the providers' formulas) ------------------------------------


def meta_ok(raw, header, app_secret):
    want = "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, header or "")


def meta_sha1_ok(raw, header, app_secret):
    want = "sha1=" + hmac.new(app_secret.encode(), raw, hashlib.sha1).hexdigest()
    return hmac.compare_digest(want, header or "")


def zalo_ok(raw, header, app_id, oa_secret):
    if not header:
        return False
    ts = str(json.loads(raw)["timestamp"])
    want = hashlib.sha256(app_id.encode() + raw + ts.encode() + oa_secret.encode()).hexdigest()
    got = header.strip()[4:] if header.strip().lower().startswith("mac=") else header.strip()
    return hmac.compare_digest(want, got.lower())


def twilio_sig(token, url, params):
    s = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()


# --- HTTP ---------------------------------------------------------------------------------


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def call(url, method="POST", body=None, headers=None, timeout=5.0):
    u = urllib.parse.urlsplit(url)
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body,
                     headers=headers)
        r = conn.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# --- fixtures: one of each per module, reset between tests ---------------------------------


@pytest.fixture(scope="module")
def hooks():
    with WebhookReceiver() as r:
        yield r


def _fresh(emu, hooks, path):
    emu.reset(state=True)
    hooks.reset(state=True)
    emu.set_webhook_url(hooks.url + path)
    return emu


@pytest.fixture(scope="module")
def zalo_server():
    with ZaloEmulator() as z:
        yield z


@pytest.fixture
def zalo(zalo_server, hooks):
    yield _fresh(zalo_server, hooks, "/v1/webhooks/zalo")
    assert zalo_server.errors == [] and hooks.errors == []


@pytest.fixture(scope="module")
def fb_server():
    with MessengerEmulator() as m:
        yield m


@pytest.fixture
def fb(fb_server, hooks):
    yield _fresh(fb_server, hooks, "/v1/webhooks/facebook")
    assert fb_server.errors == [] and hooks.errors == []


@pytest.fixture(scope="module")
def wa_server():
    with WhatsAppEmulator() as w:
        yield w


@pytest.fixture
def wa(wa_server, hooks):
    yield _fresh(wa_server, hooks, "/v1/webhooks/whatsapp")
    assert wa_server.errors == [] and hooks.errors == []


@pytest.fixture(scope="module")
def tw_server():
    with TwilioEmulator() as t:
        yield t


@pytest.fixture
def tw(tw_server, hooks):
    tw_server.reset(state=True)
    hooks.reset(state=True)
    tw_server.route(PUBLIC, hooks.url)
    yield tw_server
    assert tw_server.errors == [] and hooks.errors == []


# --- a. the machinery ------------------------------------------------------------------------

ZALO_USER = "2512523625412515"


def zalo_send(z, text="Xin chào", user=ZALO_USER, token=None, timeout=5.0, extra=None):
    headers = {"access_token": token or z.tokens()["access"][0],
               "Content-Type": "application/json"}
    headers.update(extra or {})
    body = {"recipient": {"user_id": user}, "message": {"text": text}}
    return call(z.url + "/v3.0/oa/message/cs", body=body, headers=headers, timeout=timeout)


def test_faults_500_429_delay_reset(zalo):
    zalo.seed_user(ZALO_USER)
    zalo.fail_next(2, status=500)
    statuses = [zalo_send(zalo).status for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert [r.fault for r in zalo.requests()] == ["status 500", "status 500", None]
    assert len(zalo.messages()) == 1  # the 500s processed nothing

    zalo.rate_limit_next(1, retry_after=7)
    zalo.rate_limit_next(1)
    r1, r2 = zalo_send(zalo), zalo_send(zalo)
    assert r1.status == 429 and r1.headers["retry-after"] == "7"
    assert r2.status == 429 and "retry-after" not in r2.headers

    # Beyond the client's timeout, then processed: the sender cannot know.
    zalo.delay_next(1, seconds=0.6, process=True)
    with pytest.raises((socket.timeout, TimeoutError)):
        zalo_send(zalo, text="late", timeout=0.2)
    late = zalo.wait_requests(1, timeout=5, where=lambda r: r.fault == "delay 0.6s")[0]
    assert late.status == 200  # answered to nobody
    assert [m["text"] for m in zalo.messages()][-1] == "late"

    # Reset before acting, and reset after acting.
    n = len(zalo.messages())
    zalo.reset_next(1)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        zalo_send(zalo, text="lost")
    assert len(zalo.messages()) == n
    zalo.reset_next(1, process=True)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        zalo_send(zalo, text="taken")
    assert zalo.messages()[-1]["text"] == "taken"
    assert zalo_send(zalo).status == 200

    # Faults can target a path.
    zalo.fail_next(1, status=503, path=r"^/v4/")
    assert zalo_send(zalo).status == 200
    zalo.clear_faults()


def test_recorder_concurrency_and_control_api(zalo):
    zalo.seed_user(ZALO_USER)
    results = []

    def worker(i):
        results.append(zalo_send(zalo, text=f"m{i}").json()["error"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [0] * 24
    assert sorted(m["text"] for m in zalo.messages()) == sorted(f"m{i}" for i in range(24))
    reqs = zalo.requests(path="/v3.0/oa/message/cs", method="POST", status=200)
    assert len(reqs) == 24
    r = reqs[0]
    assert r.json["recipient"]["user_id"] == ZALO_USER and r.header("ACCESS_TOKEN")
    assert r.body.startswith(b"{") and r.time > 0 and r.query == {}
    assert r.response_json["error"] == 0
    assert zalo.requests(since=max(r.seq for r in reqs)) == []

    # The same operations over HTTP.
    ops = call(zalo.url + "/__emu/", "GET").json()
    assert "seed_user" in ops["operations"] and "fail_next" in ops["operations"]
    assert call(zalo.url + "/__emu/seed_user", body={"user_id": "42", "interacted_ago": 60}
                ).status == 200
    assert call(zalo.url + "/__emu/fail_next", body={"n": 1, "status": 502}).status == 200
    assert zalo_send(zalo, user="42").status == 502
    assert zalo_send(zalo, user="42").json()["error"] == 0
    got = call(zalo.url + "/__emu/requests?path=/v3.0/oa/message/cs&status=502", "GET").json()
    assert [x["status"] for x in got["result"]] == [502]
    assert got["result"][0]["data"]["recipient"]["user_id"] == "42"
    assert call(zalo.url + "/__emu/nope", body={}).status == 404
    assert call(zalo.url + "/__emu/seed_user", body={"bogus": 1}).status == 400
    assert call(zalo.url + "/__emu/seed_user", body=b"[1]").status == 400
    assert len(zalo.requests()) == 24 + 2  # control calls are not recorded

    zalo.reset()
    assert zalo.requests() == [] and len(zalo.messages()) == 25  # state kept
    zalo.reset(state=True)
    assert zalo.messages() == []


# --- b. Zalo ----------------------------------------------------------------------------------


def test_zalo_send_and_every_refusal(zalo):
    zalo.seed_user(ZALO_USER, interacted_ago=3600)
    ok = zalo_send(zalo, "Đơn hàng của bạn đã được xác nhận.")
    assert ok.status == 200 and ok.headers["content-type"].startswith("application/json")
    body = ok.json()
    assert body["error"] == 0 and body["message"] == "Success"
    assert re.fullmatch(r"[0-9a-f]{20}", body["data"]["message_id"])
    assert body["data"]["user_id"] == ZALO_USER and body["data"]["sent_time"].isdigit()
    assert ok.headers["x-ratelimit-limit"] == "4000" and ok.headers["x-ratelimit-remain"] == "3999"

    tok = zalo.tokens()["access"][0]
    url = zalo.url + "/v3.0/oa/message/cs"
    good = {"recipient": {"user_id": ZALO_USER}, "message": {"text": "hi"}}
    jh = {"Content-Type": "application/json"}

    def refused(code, msg, body=good, headers=None, path="/v3.0/oa/message/cs"):
        h = dict(jh, access_token=tok) if headers is None else headers
        r = call(zalo.url + path, body=body, headers=h)
        assert r.status == 200, r  # Zalo's errors ride on HTTP 200
        assert r.json() == {"error": code, "message": msg}, r
        assert "x-ratelimit-remain" in r.headers or path == "/v2.0/oa/message"

    refused(-216, "Access token is invalid", headers=jh)
    refused(-216, "Access token is invalid", headers=dict(jh, access_token="forged"))
    refused(-216, "Access token is invalid", headers=dict(jh, Authorization="Bearer " + tok))
    r = call(url + "?access_token=" + tok, body=good, headers=jh)
    assert r.json()["error"] == -216  # only the header counts
    refused(-240, "MessageV2 API has been shut down, please switch to MessageV3",
            path="/v2.0/oa/message")
    refused(-201, "body is invalid!", body=b"{not json")
    refused(-201, "body is invalid!", body=json.dumps(good).encode(),
            headers={"access_token": tok, "Content-Type": "text/plain"})
    refused(-201, "user_id is invalid!", body={"recipient": {"user_id": int(ZALO_USER)},
                                              "message": {"text": "x"}})
    refused(-201, "user_id is invalid!", body={"recipient": {"user_id": "99887766"},
                                              "message": {"text": "x"}})
    refused(-201, "message is invalid!", body={"recipient": {"user_id": ZALO_USER}})
    refused(-201, "text is invalid!", body={"recipient": {"user_id": ZALO_USER},
                                           "message": {"text": "a" * 2001}})
    refused(-201, "text is invalid!", body={"recipient": {"user_id": ZALO_USER},
                                           "message": {"text": ""}})
    # 2000 characters after NFC are fine, whatever the code points sent.
    assert zalo_send(zalo, "e\u0301" * 2000).json()["error"] == 0

    zalo.seed_user("1001", interacted_ago=None)
    zalo.seed_user("1002", interacted_ago=7 * 86400 + 60)
    zalo.seed_user("1003", banned=True)
    zalo.seed_user("1004", restricted=True)
    for user, code, msg in (
            ("1001", -232, "User has not interacted with the OA, or the last interaction has "
                           "expired"),
            ("1002", -230, "User has not interacted with the OA in the past 7 days"),
            ("1003", -227, "User is banned or has been inactive for more than 45 days"),
            ("1004", -244, "User has restricted this message type from your OA")):
        refused(code, msg, body={"recipient": {"user_id": user}, "message": {"text": "x"}})

    def att(a):
        return {"recipient": {"user_id": ZALO_USER}, "message": {"attachment": a}}

    media = {"type": "template", "payload": {"template_type": "media", "elements": [
        {"media_type": "image", "url": "https://cdn.example/bill.jpg"}]}}
    assert call(url, body=att(media), headers=dict(jh, access_token=tok)).json()["error"] == 0
    refused(-233, "message type is invalid or not support",
            att({"type": "sticker", "payload": {"id": "x"}}))
    both = json.loads(json.dumps(media))
    both["payload"]["elements"][0]["attachment_id"] = "abc"
    refused(-201, "elements is invalid!", att(both))
    gif = {"type": "template", "payload": {"template_type": "media", "elements": [
        {"media_type": "gif", "url": "https://cdn.example/a.gif"}]}}
    refused(-201, "width is invalid!", att(gif))
    zalo.seed_attachment("old-token", age=8 * 86400)
    zalo.seed_attachment("new-token", age=60)
    refused(-100, "attachment_id was expired", att({"type": "file",
                                                    "payload": {"token": "old-token"}}))
    assert call(url, body=att({"type": "file", "payload": {"token": "new-token"}}),
                headers=dict(jh, access_token=tok)).json()["error"] == 0


def test_zalo_upload_then_send(zalo):
    zalo.seed_user(ZALO_USER)
    tok = zalo.tokens()["access"][0]
    boundary = "cbboundary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() \
        + b"\x89PNG\r\n\x1a\n" + b"0" * 100 + f"\r\n--{boundary}--\r\n".encode()
    r = call(zalo.url + "/v2.0/oa/upload/image", body=part,
             headers={"access_token": tok,
                      "Content-Type": f"multipart/form-data; boundary={boundary}"})
    ans = r.json()
    assert ans["error"] == 0 and ans["data"]["attachment_id"]
    body = {"recipient": {"user_id": ZALO_USER}, "message": {"attachment": {
        "type": "template", "payload": {"template_type": "media", "elements": [
            {"media_type": "image", "attachment_id": ans["data"]["attachment_id"]}]}}}}
    r = call(zalo.url + "/v3.0/oa/message/cs", body=body,
             headers={"access_token": tok, "Content-Type": "application/json"})
    assert r.json()["error"] == 0
    # Uploads live 7 days.
    zalo.seed_token("long-lived", expires_in=30 * 86400)
    zalo.advance(7 * 86400 + 1)
    zalo.seed_user(ZALO_USER)
    r = call(zalo.url + "/v3.0/oa/message/cs", body=body,
             headers={"access_token": "long-lived", "Content-Type": "application/json"})
    assert r.json() == {"error": -100, "message": "attachment_id was expired"}


def test_zalo_rate_limit_per_app(zalo):
    zalo.seed_user(ZALO_USER)
    zalo.set_rate_limit(3, period=60)
    answers = [zalo_send(zalo) for _ in range(4)]
    assert [a.json()["error"] for a in answers] == [0, 0, 0, -32]
    assert answers[3].json()["message"] == "Your application reached limit call api"
    assert [a.headers["x-ratelimit-remain"] for a in answers] == ["2", "1", "0", "0"]
    assert "retry-after" not in answers[3].headers
    zalo.advance(60)
    assert zalo_send(zalo).json()["error"] == 0


def refresh(z, token, secret=None, app_id=None, grant="refresh_token", ctype=None):
    form = urllib.parse.urlencode({"refresh_token": token, "app_id": app_id or z.app_id,
                                   "grant_type": grant})
    return call(z.url + "/v4/oa/access_token", body=form,
                headers={"secret_key": secret or z.secret_key,
                         "Content-Type": ctype or "application/x-www-form-urlencoded"}).json()


def test_zalo_token_expiry_and_rotating_refresh(zalo):
    zalo.seed_user(ZALO_USER)
    first_access = zalo.config["access_token"]
    first_refresh = zalo.config["refresh_token"]
    assert zalo_send(zalo, token=first_access).json()["error"] == 0

    # Expired now: -220; so is an access token 25 h old.
    zalo.expire_access_tokens()
    assert zalo_send(zalo, token=first_access).json() == {
        "error": -220, "message": "access_token is expired or removed"}

    # Refusals of the refresh itself (HTTP 200, -14xxx).
    assert refresh(zalo, first_refresh, secret="wrong")["error"] == -14014
    assert refresh(zalo, first_refresh, app_id="123")["error"] == -14002
    assert refresh(zalo, first_refresh, grant="client_credentials")["error"] == -14001
    assert refresh(zalo, "unknown-refresh-token")["error"] == -14014
    assert "access_token" not in refresh(zalo, "unknown-refresh-token")

    ans = refresh(zalo, first_refresh)
    assert set(ans) == {"access_token", "refresh_token", "expires_in"}
    assert ans["expires_in"] == "90000"  # a string, as Zalo sends it
    assert ans["refresh_token"] != first_refresh
    assert zalo_send(zalo, token=ans["access_token"]).json()["error"] == 0
    # Single use: the old refresh token is dead now.
    again = refresh(zalo, first_refresh)
    assert again["error"] == -14014 and again["error_name"] == "Invalid refresh_token"
    assert zalo.tokens()["refresh"] == [ans["refresh_token"]]

    second = refresh(zalo, ans["refresh_token"])
    assert second["access_token"] and refresh(zalo, ans["refresh_token"])["error"] == -14014
    assert zalo.refreshes == 2
    # The earlier access token lives until its own expiry...
    assert zalo_send(zalo, token=ans["access_token"]).json()["error"] == 0
    # ...unless the app revokes on refresh.
    zalo.set_revoke_old_access(True)
    third = refresh(zalo, second["refresh_token"])
    assert zalo_send(zalo, token=second["access_token"]).json()["error"] == -220
    assert zalo_send(zalo, token=third["access_token"]).json()["error"] == 0
    # 25 hours later the access token expired by itself.
    zalo.advance(90001)
    zalo.seed_user(ZALO_USER)
    assert zalo_send(zalo, token=third["access_token"]).json()["error"] == -220

    # Two refreshes racing with one token: exactly one wins.
    zalo.seed_refresh_token("race-token")
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(refresh(zalo, "race-token")))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted("access_token" in a for a in answers) == [False] * 5 + [True]


def test_zalo_webhooks_signed(zalo, hooks):
    hook = zalo.send_inbound("4120978365", "Tôi cần hỗ trợ")
    assert hook.status == 200, hook
    [got] = hooks.requests()
    ev = got.json
    assert ev["event_name"] == "user_send_text" and ev["app_id"] == zalo.app_id
    assert ev["sender"]["id"] == "4120978365" and ev["recipient"]["id"] == zalo.oa_id
    assert ev["message"]["text"] == "Tôi cần hỗ trợ" and ev["timestamp"].isdigit()
    sig = got.header("X-ZEvent-Signature")
    assert sig.startswith("mac=")
    assert zalo_ok(got.body, sig, zalo.app_id, zalo.oa_secret_key)
    # The customer wrote: the OA may answer now.
    ok = zalo_send(zalo, user="4120978365").json()
    assert ok["error"] == 0
    mid = ok["data"]["message_id"]

    zalo.send_status(mid, "received")
    second = zalo_send(zalo, user="4120978365").json()["data"]["message_id"]
    zalo.send_status([mid, second], "seen")
    rec, seen = hooks.requests()[1:]
    assert rec.json["event_name"] == "user_received_message"
    assert rec.json["message"] == {"msg_id": mid}
    assert rec.json["sender"]["id"] == zalo.oa_id and rec.json["recipient"]["id"] == "4120978365"
    assert seen.json["event_name"] == "user_seen_message"
    assert seen.json["message"] == {"msg_ids": [mid, second]}
    for r in (rec, seen):
        assert zalo_ok(r.body, r.header("X-ZEvent-Signature"), zalo.app_id, zalo.oa_secret_key)

    hooks.reset()
    for variant in ("bad", "missing", "tampered"):
        zalo.send_status(mid, "received", signature=variant)
    bad, missing, tampered = hooks.requests()
    assert not zalo_ok(bad.body, bad.header("X-ZEvent-Signature"), zalo.app_id,
                       zalo.oa_secret_key)
    assert missing.header("X-ZEvent-Signature") is None
    assert json.loads(tampered.body)  # still JSON, but not what was signed
    assert not zalo_ok(tampered.body, tampered.header("X-ZEvent-Signature"), zalo.app_id,
                       zalo.oa_secret_key)
    with pytest.raises(EmulatorError):
        zalo.send_status("0" * 20, "received")
    assert [w.status for w in zalo.webhooks()][-3:] == [200, 200, 200]


# --- c. Messenger / Instagram ----------------------------------------------------------------

PSID = "5678901234567890"
IGSID = "17841412345678901"


def fb_send(fb, body, token=None, where="query", version="v25.0", obj="me", headers=None):
    token = fb.page_token if token is None else token
    url = f"{fb.url}/{version}/{obj}/messages"
    hdrs = {"Content-Type": "application/json"}
    if where == "query" and token:
        url += "?access_token=" + urllib.parse.quote(token)
    elif where == "bearer" and token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    return call(url, body=body, headers=hdrs)


def fb_msg(text="hello", user=PSID, mtype="RESPONSE", tag=None):
    body = {"recipient": {"id": user}, "messaging_type": mtype, "message": {"text": text}}
    if tag:
        body["tag"] = tag
    return body


def graph_error(r, status, code, subcode=None, type_="OAuthException"):
    assert r.status == status, r
    e = r.json()["error"]
    assert e["code"] == code and e["type"] == type_, e
    assert e.get("error_subcode") == subcode, e
    assert e["fbtrace_id"] and e["message"]
    return e


def test_messenger_send_and_refusals(fb):
    fb.seed_user(PSID, last_inbound_ago=3600)
    r = fb_send(fb, fb_msg("Xin chào"))
    assert r.status == 200, r
    ans = r.json()
    assert ans["recipient_id"] == PSID and re.fullmatch(r"m_[A-Za-z0-9_-]{86}", ans["message_id"])
    assert fb_send(fb, fb_msg(), where="bearer").status == 200
    assert fb_send(fb, fb_msg(), obj=fb.page_id).status == 200
    form = urllib.parse.urlencode({"recipient": "{'id':'%s'}" % PSID, "messaging_type": "RESPONSE",
                                   "message": json.dumps({"text": "form"}),
                                   "access_token": fb.page_token})
    r = call(f"{fb.url}/v25.0/me/messages", body=form,
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r
    assert [m["text"] for m in fb.messages(PSID)] == ["Xin chào", "hello", "hello", "form"]

    graph_error(fb_send(fb, fb_msg(), token=""), 400, 2500)
    graph_error(fb_send(fb, fb_msg(), token="", obj=fb.page_id), 400, 104)
    e = graph_error(fb_send(fb, fb_msg(), token="EAAGforged"), 400, 190)
    assert e["message"] == "Invalid OAuth access token - Cannot parse access token"
    r = fb_send(fb, fb_msg(), token="EAAGforged")
    assert r.headers["www-authenticate"].startswith('OAuth "Facebook Platform" "invalid_token"')
    graph_error(fb_send(fb, fb_msg(), headers={"Authorization": "Bearer other"}), 400, 100)
    graph_error(fb_send(fb, fb_msg(), obj="999999"), 400, 100, 33, "GraphMethodException")
    graph_error(call(f"{fb.url}/v25.0/me/feed?access_token={fb.page_token}", body={}),
                400, 2500)
    graph_error(fb_send(fb, b"{nope"), 400, 100)
    graph_error(fb_send(fb, {"messaging_type": "RESPONSE", "message": {"text": "x"}}), 400, 100)
    graph_error(fb_send(fb, fb_msg(user="424242")), 400, 100, 2018001)
    no_type = fb_msg()
    del no_type["messaging_type"]
    graph_error(fb_send(fb, no_type), 400, 100)
    graph_error(fb_send(fb, fb_msg(mtype="PROMO")), 400, 100)
    graph_error(fb_send(fb, fb_msg(mtype="MESSAGE_TAG")), 400, 100)
    graph_error(fb_send(fb, fb_msg(tag="HUMAN_AGENT")), 400, 100)
    graph_error(fb_send(fb, fb_msg(mtype="MESSAGE_TAG", tag="SALE")), 400, 100)
    both = fb_msg()
    both["message"]["attachment"] = {"type": "image", "payload": {"url": "https://x/a.png"}}
    graph_error(fb_send(fb, both), 400, 100)
    graph_error(fb_send(fb, fb_msg("x" * 2001)), 400, 100)
    assert fb_send(fb, fb_msg("x" * 2000)).status == 200
    img = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"attachment": {
        "type": "image", "payload": {"url": "https://cdn.example/a.png", "is_reusable": True}}}}
    assert fb_send(fb, img).status == 200
    img["message"]["attachment"]["payload"] = {"url": "ftp://x"}
    graph_error(fb_send(fb, img), 400, 100)

    fb.seed_user("111", blocked=True)
    fb.seed_user("222", not_receiving=True)
    graph_error(fb_send(fb, fb_msg(user="111")), 400, 551, 1545041)
    graph_error(fb_send(fb, fb_msg(user="222")), 400, 10, 2018108)

    fb.expire_token()
    e = graph_error(fb_send(fb, fb_msg()), 400, 190, 463)
    assert e["message"].startswith("Error validating access token: Session has expired on ")

    # Instagram: text counts bytes (1000).
    fb.seed_user(IGSID, platform="instagram")
    fb.seed_token("EAAGfresh")
    assert fb_send(fb, fb_msg("ạ" * 333, user=IGSID), token="EAAGfresh").status == 200
    graph_error(fb_send(fb, fb_msg("ạ" * 334, user=IGSID), token="EAAGfresh"), 400, 100)
    graph_error(fb_send(fb, fb_msg("x", user=IGSID, mtype="MESSAGE_TAG",
                                   tag="CONFIRMED_EVENT_UPDATE"), token="EAAGfresh"), 400, 100)


def test_messenger_windows_and_human_agent(fb):
    fb.seed_user(PSID, last_inbound_ago=23 * 3600)
    assert fb_send(fb, fb_msg()).status == 200
    fb.advance(2 * 3600)  # 25 h since the customer wrote
    e = graph_error(fb_send(fb, fb_msg()), 400, 10, 2018278)
    assert "outside of allowed window" in e["message"]
    graph_error(fb_send(fb, fb_msg(mtype="UPDATE")), 400, 10, 2018278)
    assert fb_send(fb, fb_msg(mtype="MESSAGE_TAG", tag="HUMAN_AGENT")).status == 200
    fb.advance(6 * 86400)  # 7 d 1 h
    graph_error(fb_send(fb, fb_msg(mtype="MESSAGE_TAG", tag="HUMAN_AGENT")), 400, 10, 2018278)
    fb.seed_user("333", last_inbound_ago=None)
    graph_error(fb_send(fb, fb_msg(user="333")), 400, 10, 2018278)

    # A Page without the Human Agent permission gets no 7 days.
    fb.seed_page("200200200", "EAAGnoagent", human_agent=False)
    fb.seed_user("444", page_id="200200200", last_inbound_ago=30 * 3600)
    graph_error(fb_send(fb, fb_msg(user="444", mtype="MESSAGE_TAG", tag="HUMAN_AGENT"),
                        token="EAAGnoagent"), 400, 10, 2018278)
    # A user of another Page is unknown to this one.
    graph_error(fb_send(fb, fb_msg(user="444")), 400, 100, 2018001)


def test_messenger_rate_limit_and_appsecret_proof(fb):
    fb.seed_user(PSID)
    fb.set_rate_limit(text_per_s=2, period=60)
    rs = [fb_send(fb, fb_msg()) for _ in range(3)]
    assert [r.status for r in rs] == [200, 200, 400]
    graph_error(rs[2], 400, 613)
    assert "retry-after" not in rs[2].headers
    fb.advance(60)
    assert fb_send(fb, fb_msg()).status == 200

    fb.set_require_proof(True)
    e = graph_error(fb_send(fb, fb_msg()), 400, 100, type_="GraphMethodException")
    assert "appsecret_proof" in e["message"]
    proof = hmac.new(fb.app_secret.encode(), fb.page_token.encode(), hashlib.sha256).hexdigest()
    url = f"{fb.url}/v25.0/me/messages?access_token={fb.page_token}&appsecret_proof="
    graph_error(call(url + "0" * 64, body=fb_msg()), 400, 100, type_="GraphMethodException")
    assert call(url + proof, body=fb_msg()).status == 200
    fb.fail_next(1, status=500)
    e = graph_error(fb_send(fb, fb_msg()), 500, 2)
    assert e["is_transient"] is True


def test_messenger_webhooks_signed(fb, hooks):
    hook = fb.send_inbound(PSID, "Tôi cần hỗ trợ")
    assert hook.ok, hook
    mid = fb_send(fb, fb_msg("answer")).json()["message_id"]
    fb.send_status("delivery", mids=[mid])
    fb.send_status("delivery", user_id=PSID, watermark=1458668856253)
    fb.send_status("read", mids=[mid])
    fb.send_echo(mid)
    inbound, delivery, wm_only, read, echo = hooks.requests()
    for r in (inbound, delivery, wm_only, read, echo):
        assert meta_ok(r.body, r.header("X-Hub-Signature-256"), fb.app_secret)
        assert meta_sha1_ok(r.body, r.header("X-Hub-Signature"), fb.app_secret)
        assert r.json["object"] == "page" and r.json["entry"][0]["id"] == fb.page_id
        assert isinstance(r.json["entry"][0]["time"], int)
    m = inbound.json["entry"][0]["messaging"][0]
    assert m["sender"]["id"] == PSID and m["message"]["text"] == "Tôi cần hỗ trợ"
    assert m["message"]["mid"].startswith("m_")
    d = delivery.json["entry"][0]["messaging"][0]
    assert d["delivery"]["mids"] == [mid] and d["delivery"]["watermark"] >= 0
    assert wm_only.json["entry"][0]["messaging"][0]["delivery"] == {"watermark": 1458668856253}
    rd = read.json["entry"][0]["messaging"][0]
    assert set(rd["read"]) == {"watermark"} and rd["timestamp"] >= rd["read"]["watermark"] - 1000
    e = echo.json["entry"][0]["messaging"][0]
    assert e["message"]["is_echo"] is True and e["message"]["mid"] == mid
    assert e["sender"]["id"] == fb.page_id

    # Instagram: object "instagram", reads name the mid, no delivery receipts.
    hooks.reset()
    fb.send_inbound(IGSID, "hi", platform="instagram")
    ig_mid = fb_send(fb, fb_msg("answer", user=IGSID)).json()["message_id"]
    fb.send_status("read", mids=[ig_mid])
    with pytest.raises(EmulatorError):
        fb.send_status("delivery", mids=[ig_mid])
    ig_in, ig_read = hooks.requests()
    assert ig_in.json["object"] == "instagram" and ig_in.json["entry"][0]["id"] == fb.ig_id
    assert ig_read.json["entry"][0]["messaging"][0]["read"] == {"mid": ig_mid}
    assert meta_ok(ig_read.body, ig_read.header("X-Hub-Signature-256"), fb.app_secret)

    hooks.reset()
    for variant in ("bad", "missing", "tampered"):
        fb.send_status("read", mids=[mid], signature=variant)
    bad, missing, tampered = hooks.requests()
    assert not meta_ok(bad.body, bad.header("X-Hub-Signature-256"), fb.app_secret)
    assert missing.header("X-Hub-Signature-256") is None
    assert not meta_ok(tampered.body, tampered.header("X-Hub-Signature-256"), fb.app_secret)


# --- d. WhatsApp -------------------------------------------------------------------------------

WA_ID = "84901234567"


def wa_send(wa, body, token=None, phone_id=None, ctype="application/json"):
    token = wa.token if token is None else token
    headers = {"Content-Type": ctype}
    if token:
        headers["Authorization"] = "Bearer " + token
    return call(f"{wa.url}/v25.0/{phone_id or wa.phone_number_id}/messages", body=body,
                headers=headers)


def wa_text(text="Your ticket #123 was updated.", to="+" + WA_ID, **extra):
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"preview_url": False, "body": text}}
    body.update(extra)
    return body


def wa_error(r, status, code):
    e = graph_error(r, status, code, None)
    assert e["error_data"]["messaging_product"] == "whatsapp" and e["error_data"]["details"]
    assert e["message"].startswith(f"(#{code}) ")
    return e


def test_whatsapp_send_and_refusals(wa):
    wa.seed_user(WA_ID, last_inbound_ago=600)
    r = wa_send(wa, wa_text())
    assert r.status == 200, r
    ans = r.json()
    assert ans["messaging_product"] == "whatsapp"
    assert ans["contacts"] == [{"input": "+" + WA_ID, "wa_id": WA_ID}]
    assert re.fullmatch(r"wamid\.[A-Za-z0-9+/=]+", ans["messages"][0]["id"])
    assert wa.messages(WA_ID)[0]["fate"] is None

    e = graph_error(wa_send(wa, wa_text(), token=""), 401, 104)
    e = graph_error(wa_send(wa, wa_text(), token="forged"), 401, 190)
    assert wa_send(wa, wa_text(), token="forged").headers["www-authenticate"]
    graph_error(wa_send(wa, wa_text(), phone_id="123456"), 400, 100, 33, "GraphMethodException")
    wa_error(wa_send(wa, json.dumps(wa_text()), ctype="text/plain"), 400, 100)
    wa_error(wa_send(wa, b"{bad"), 400, 100)
    no_product = wa_text()
    del no_product["messaging_product"]
    wa_error(wa_send(wa, no_product), 400, 131008)
    wa_error(wa_send(wa, wa_text(messaging_product="sms")), 400, 100)
    no_to = wa_text()
    del no_to["to"]
    wa_error(wa_send(wa, no_to), 400, 131008)
    wa_error(wa_send(wa, wa_text(to="not-a-phone")), 400, 131009)
    wa_error(wa_send(wa, wa_text(type="hologram")), 400, 131051)
    wa_error(wa_send(wa, wa_text(type="image")), 400, 100)  # text object with type image
    wa_error(wa_send(wa, wa_text("x" * 4097)), 400, 100)
    wa_error(wa_send(wa, wa_text(surprise=1)), 400, 100)
    assert wa_send(wa, wa_text("x" * 4096, context={"message_id": "wamid.X"},
                               biz_opaque_callback_data="delivery-1")).status == 200
    doc = {"messaging_product": "whatsapp", "to": WA_ID, "type": "document",
           "document": {"link": "https://files.example/invoice.pdf", "filename": "invoice.pdf",
                        "caption": "Invoice"}}
    assert wa_send(wa, doc).status == 200
    doc["document"]["id"] = "123"
    wa_error(wa_send(wa, doc), 400, 100)
    audio = {"messaging_product": "whatsapp", "to": WA_ID, "type": "audio",
             "audio": {"link": "https://files.example/a.ogg", "caption": "no"}}
    wa_error(wa_send(wa, audio), 400, 100)

    def template(name="ticket_update", code="en_US", params=("#123",)):
        return {"messaging_product": "whatsapp", "to": WA_ID, "type": "template",
                "template": {"name": name, "language": {"policy": "deterministic", "code": code},
                             "components": [{"type": "body", "parameters": [
                                 {"type": "text", "text": p} for p in params]}]}}

    wa_error(wa_send(wa, template()), 404, 132001)
    wa.seed_template("ticket_update", "en_US", params=1)
    wa_error(wa_send(wa, template(code="vi")), 404, 132001)
    wa_error(wa_send(wa, template(params=("a", "b"))), 400, 132000)
    wa.advance(3 * 86400)  # outside the window, a template still goes
    r = wa_send(wa, template())
    assert r.status == 200 and wa.messages()[-1]["fate"] is None

    wa.fail_next(1, status=500)
    wa_error(wa_send(wa, template()), 500, 131000)
    wa.fail_next(1, status=503)
    wa_error(wa_send(wa, template()), 503, 131016)
    wa.expire_token()
    e = graph_error(wa_send(wa, template()), 401, 190, 463)
    assert "Session has expired" in e["message"]


def test_whatsapp_window_undeliverable_and_limits(wa, hooks):
    wa.seed_user(WA_ID, last_inbound_ago=25 * 3600)
    r = wa_send(wa, wa_text())
    assert r.status == 200  # accepted: Meta fails it later
    wamid = r.json()["messages"][0]["id"]
    assert wa.messages()[-1]["fate"]["code"] == 131047
    wa.send_status(wamid, "failed")
    [failed] = hooks.requests()
    st = failed.json["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert st["status"] == "failed" and st["errors"][0]["code"] == 131047
    assert st["errors"][0]["title"] == "Re-engagement message"
    assert st["recipient_id"] == WA_ID and st["timestamp"].isdigit()

    wa.set_window_mode("sync")
    wa_error(wa_send(wa, wa_text()), 400, 131047)
    wa.set_window_mode("async")

    # A number that is not on WhatsApp: accepted, then 131026.
    r = wa_send(wa, wa_text(to="+15550001111"))
    assert r.status == 200 and wa.messages()[-1]["fate"]["code"] == 131026

    # The customer writes: the window opens.
    assert wa.send_inbound(WA_ID, "Xin chào", name="Nguyễn Lan").ok
    r = wa_send(wa, wa_text())
    assert r.status == 200 and wa.messages()[-1]["fate"] is None

    wa.set_rate_limit(throughput=2, period=60)
    rs = [wa_send(wa, wa_text()) for _ in range(3)]
    assert [x.status for x in rs] == [200, 200, 400]
    wa_error(rs[2], 400, 130429)
    wa.set_rate_limit(throughput=1000, pair_limit=2, pair_period=60)
    rs = [wa_send(wa, wa_text()) for _ in range(3)]
    assert [x.status for x in rs] == [200, 200, 400]
    wa_error(rs[2], 400, 131056)
    wa.advance(61)  # the pair's period has passed; the customer's window is still open
    assert wa_send(wa, wa_text()).status == 200


def test_whatsapp_status_webhooks_signed(wa, hooks):
    wa.send_inbound(WA_ID, "Xin chào", name="Nguyễn Lan")
    wamid = wa_send(wa, wa_text(biz_opaque_callback_data="delivery-7")).json()["messages"][0]["id"]
    for s in ("sent", "delivered", "read"):
        assert wa.send_status(wamid, s).ok
    inbound, sent, delivered, read = hooks.requests()
    for r in (inbound, sent, delivered, read):
        assert meta_ok(r.body, r.header("X-Hub-Signature-256"), wa.app_secret)
        assert r.json["object"] == "whatsapp_business_account"
        change = r.json["entry"][0]["changes"][0]
        assert change["field"] == "messages"
        assert change["value"]["metadata"]["phone_number_id"] == wa.phone_number_id
    value = inbound.json["entry"][0]["changes"][0]["value"]
    assert value["contacts"][0] == {"profile": {"name": "Nguyễn Lan"}, "wa_id": WA_ID}
    assert value["messages"][0]["text"]["body"] == "Xin chào"
    assert value["messages"][0]["from"] == WA_ID
    sts = [r.json["entry"][0]["changes"][0]["value"]["statuses"][0]
           for r in (sent, delivered, read)]
    assert [s["status"] for s in sts] == ["sent", "delivered", "read"]
    assert all(s["id"] == wamid and s["biz_opaque_callback_data"] == "delivery-7" for s in sts)
    assert sts[0]["pricing"]["category"] == "service" and "pricing" not in sts[2]

    # Automatic statuses after each accepted message.
    hooks.reset()
    wa.set_auto_status(["sent", "delivered"])
    wamid2 = wa_send(wa, wa_text()).json()["messages"][0]["id"]
    got = hooks.wait_requests(2, timeout=5)
    assert [r.json["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for r in got] \
        == ["sent", "delivered"]
    assert got[0].json["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] == wamid2
    wa.set_auto_status(None)

    hooks.reset()
    wa.send_status(wamid, "read", signature="tampered")
    [t] = hooks.requests()
    assert not meta_ok(t.body, t.header("X-Hub-Signature-256"), wa.app_secret)


# --- e. Twilio ---------------------------------------------------------------------------------


def tw_send(tw, params, auth=None, sid=None, ctype="application/x-www-form-urlencoded",
            timeout=5.0):
    headers = {"Content-Type": ctype}
    headers.update(basic(tw.account_sid, tw.auth_token) if auth is None else auth)
    body = urllib.parse.urlencode(params, doseq=True) if isinstance(params, (dict, list)) \
        and ctype.startswith("application/x-www") else params
    return call(f"{tw.url}/2010-04-01/Accounts/{sid or tw.account_sid}/Messages.json",
                body=body, headers=headers, timeout=timeout)


def tw_error(r, status, code):
    assert r.status == status, r
    e = r.json()
    assert e["code"] == code and e["status"] == status, e
    assert e["more_info"] == f"https://www.twilio.com/docs/errors/{code}" and e["message"]
    return e


SMS = {"To": "+15558675310", "From": "+15005550006", "Body": "Your ticket #123 was updated."}


def test_twilio_create_and_refusals(tw):
    r = tw_send(tw, SMS)
    assert r.status == 201, r
    m = r.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", m["sid"])
    assert m["status"] == "queued" and m["direction"] == "outbound-api"
    assert m["to"] == SMS["To"] and m["from"] == SMS["From"] and m["body"] == SMS["Body"]
    assert m["account_sid"] == tw.account_sid and m["num_segments"] == "1"
    assert m["uri"] == f"/2010-04-01/Accounts/{tw.account_sid}/Messages/{m['sid']}.json"
    assert m["error_code"] is None and m["price"] is None
    mss = tw.config["services"][0]
    r = tw_send(tw, {"To": SMS["To"], "MessagingServiceSid": mss, "Body": "x"},
                auth=basic(tw.api_key_sid, tw.api_key_secret))
    assert r.status == 201 and r.json()["status"] == "accepted" and r.json()["from"] is None
    assert r.json()["messaging_service_sid"] == mss

    e = tw_error(tw_send(tw, SMS, auth={}), 401, 20003)
    r = tw_send(tw, SMS, auth=basic(tw.account_sid, "wrong"))
    e = tw_error(r, 401, 20003)
    assert e["detail"] == "Your AccountSid or AuthToken was incorrect."
    assert r.headers["www-authenticate"] == 'Basic realm="Twilio API"'
    tw_error(tw_send(tw, SMS, sid="AC" + "1" * 32), 404, 20404)
    tw_error(tw_send(tw, json.dumps(SMS), ctype="application/json"), 400, 21604)
    tw_error(tw_send(tw, dict(SMS, To="")), 400, 21604)
    tw_error(tw_send(tw, dict(SMS, To="0901234567")), 400, 21211)
    tw_error(tw_send(tw, {"To": SMS["To"], "Body": "x"}), 400, 21603)
    tw_error(tw_send(tw, dict(SMS, From="+84281234567")), 400, 21606)
    tw_error(tw_send(tw, {"To": SMS["To"], "MessagingServiceSid": "MG" + "9" * 32, "Body": "x"}),
             400, 21701)
    tw_error(tw_send(tw, {"To": SMS["To"], "From": SMS["From"]}), 400, 21602)
    tw_error(tw_send(tw, dict(SMS, Body="x" * 1601)), 400, 21617)
    assert tw_send(tw, dict(SMS, Body="ạ" * 1600)).json()["num_segments"] == "24"
    tw_error(tw_send(tw, dict(SMS, StatusCallback="carebus/status")), 400, 21609)
    for frm, code in (("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611)):
        tw_error(tw_send(tw, dict(SMS, From=frm)), 400, code)
    for to, code in (("+15005550001", 21211), ("+15005550002", 21612), ("+15005550003", 21408),
                     ("+15005550004", 21610), ("+15005550009", 21614)):
        tw_error(tw_send(tw, dict(SMS, To=to)), 400, code)
    tw.opt_out("+15558675311")
    tw_error(tw_send(tw, dict(SMS, To="+15558675311")), 400, 21610)
    tw.block_region("+84")
    tw_error(tw_send(tw, dict(SMS, To="+84901234567")), 400, 21408)
    tw.fail_next(1, status=500)
    tw_error(tw_send(tw, SMS), 500, 20500)
    tw.rate_limit_next(1)
    r = tw_send(tw, SMS)
    tw_error(r, 429, 20429)
    assert "retry-after" not in r.headers
    assert len(tw.messages()) == 3


def test_twilio_concurrency_limit(tw):
    tw.set_concurrency(1)
    tw.set_latency(30)  # answers are held until released below
    out = {}

    def send(name):
        out[name] = tw_send(tw, SMS, timeout=30)

    first = threading.Thread(target=send, args=("first",))
    first.start()
    tw.wait_requests(1, timeout=10, answered=False)
    second = threading.Thread(target=send, args=("second",))
    second.start()  # arrives while the first is in flight
    tw.wait_requests(2, timeout=10, answered=False)
    tw.set_latency(0)
    first.join(10)
    second.join(10)
    assert out["first"].status == 201, out
    tw_error(out["second"], 429, 20429)
    assert "retry-after" not in out["second"].headers
    assert [r.concurrent for r in tw.requests()] == [1, 2]


def test_twilio_signature_vector():
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
              ("From", "+12349013030"), ("To", "+18005551212")]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_sig("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert emulators.twilio.signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_twilio_status_callback_and_inbound(tw, hooks):
    callback = PUBLIC + "/v1/webhooks/twilio/status?tenant=hcm"
    sid = tw_send(tw, dict(SMS, StatusCallback=callback)).json()["sid"]
    sent = tw.send_status(sid, "sent")
    tw.send_status(sid, "delivered")
    tw.send_status(sid, "undelivered")
    assert sent.url == callback
    assert sent.target == hooks.url + "/v1/webhooks/twilio/status?tenant=hcm"
    reqs = hooks.requests()
    assert [r.form["MessageStatus"][0] for r in reqs] == ["sent", "delivered", "undelivered"]
    for r in reqs:
        assert r.path == "/v1/webhooks/twilio/status" and r.query == {"tenant": ["hcm"]}
        assert r.header("Content-Type") == "application/x-www-form-urlencoded"
        params = urllib.parse.parse_qsl(r.body.decode(), keep_blank_values=True)
        # Signed over the public URL carebus gave, not the loopback one.
        assert r.header("X-Twilio-Signature") == twilio_sig(tw.auth_token, callback, params)
        assert r.header("I-Twilio-Idempotency-Token")
        f = r.data
        assert f["MessageSid"] == f["SmsSid"] == sid and f["AccountSid"] == tw.account_sid
        assert f["To"] == SMS["To"] and f["From"] == SMS["From"] and f["ApiVersion"] == "2010-04-01"
    assert "ErrorCode" not in reqs[1].form and reqs[2].form["ErrorCode"] == ["30003"]
    assert "RawDlrDoneDate" in reqs[1].form

    again = tw.redeliver(sent)
    assert again.headers["I-Twilio-Idempotency-Token"] == sent.headers["I-Twilio-Idempotency-Token"]
    assert again.body == sent.body

    hooks.reset()
    for variant in ("bad", "missing", "tampered"):
        tw.send_status(sid, "delivered", signature=variant)
    for r in hooks.requests():
        params = urllib.parse.parse_qsl(r.body.decode(), keep_blank_values=True)
        assert r.header("X-Twilio-Signature") != twilio_sig(tw.auth_token, callback, params)

    # Inbound SMS, and STOP opting the customer out.
    hooks.reset()
    tw.sms_url = PUBLIC + "/v1/webhooks/twilio/sms"
    assert tw.send_inbound("+15558675310", "STOP").ok
    [r] = hooks.requests()
    params = urllib.parse.parse_qsl(r.body.decode(), keep_blank_values=True)
    assert r.header("X-Twilio-Signature") == twilio_sig(tw.auth_token, tw.sms_url, params)
    assert r.data["Body"] == "STOP" and r.data["From"] == "+15558675310"
    assert re.fullmatch(r"SM[0-9a-f]{32}", r.data["MessageSid"])
    tw_error(tw_send(tw, SMS), 400, 21610)
    tw.send_inbound("+15558675310", "START")
    assert tw_send(tw, SMS).status == 201
    tw.sms_url = None


# --- f. SMTP -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp_server():
    with SmtpEmulator() as s:
        yield s


@pytest.fixture
def smtp(smtp_server):
    smtp_server.reset()
    return smtp_server


def tls_ctx(smtp):
    return ssl.create_default_context(cafile=smtp.cafile)


GOOD_MAIL = (
    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    "From: Carebus Support <support@carebus.example>\r\n"
    "To: <customer@example.test>\r\n"
    "Reply-To: <reply+t123@carebus.example>\r\n"
    "Subject: Re: [#123] Delivery delayed\r\n"
    "Message-ID: <t123.m456@carebus.example>\r\n"
    "In-Reply-To: <CAF=abc@mail.example.test>\r\n"
    "References: <CAF=abc@mail.example.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Hello, your parcel ships today.\r\n"
    "--b1\r\nContent-Type: text/html; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<p>Hello, your parcel <b>ships today</b>.</p>\r\n"
    "--b1--\r\n").encode()


def test_smtp_starttls_then_auth_then_mail(smtp):
    c = smtplib.SMTP(smtp.host, smtp.port, timeout=5)
    try:
        code, caps = c.ehlo()
        assert code == 250 and b"STARTTLS" in caps and b"AUTH" not in caps
        assert c.docmd("MAIL FROM:<bounce@carebus.example>") == (
            530, b"Must issue a STARTTLS command first")
        assert c.docmd("AUTH PLAIN AGNhcmVidXMAeA==")[0] == 530
        c.starttls(context=tls_ctx(smtp))
        code, caps = c.ehlo()
        assert b"AUTH LOGIN PLAIN" in caps and b"STARTTLS" not in caps
        assert c.docmd("MAIL FROM:<bounce@carebus.example>") == (
            530, b"5.7.0 Authentication required")
        with pytest.raises(smtplib.SMTPAuthenticationError) as bad:
            c.login(smtp.username, "wrong")
        assert bad.value.smtp_code == 535
        assert bad.value.smtp_error == b"5.7.8 Authentication credentials invalid"
        c.login(smtp.username, smtp.password)
        smtp.reject("gone@example.test")
        smtp.defer("busy@example.test")
        refused = c.sendmail("bounce@carebus.example", ["customer@example.test",
                                                        "gone@example.test",
                                                        "busy@example.test"], GOOD_MAIL)
        assert refused["gone@example.test"][0] == 550 and refused["busy@example.test"][0] == 450
        c.quit()
    finally:
        c.close()
    [mail] = smtp.wait_messages(1, timeout=5)
    assert mail.tls and mail.auth_user == smtp.username and mail.acknowledged
    assert mail.mail_from == "bounce@carebus.example" and mail.rcpt_tos == ["customer@example.test"]
    assert mail.header("Message-ID") == "<t123.m456@carebus.example>"
    assert mail.header("In-Reply-To") == "<CAF=abc@mail.example.test>"
    assert mail.text.strip() == "Hello, your parcel ships today."
    assert "<b>ships today</b>" in mail.html
    assert mail.problems() == []
    [session] = smtp.sessions()
    assert session.commands()[:6] == ["EHLO", "MAIL", "AUTH", "STARTTLS", "EHLO", "MAIL"]
    assert "C: AUTH PLAIN ***" in session.dialogue  # credentials never recorded
    assert not any("AGNhcmVidXMAeA" in line for line in session.dialogue)
    assert session.tls and session.auth_user == smtp.username


def test_smtp_faults_and_message_problems(smtp):
    def client():
        c = smtplib.SMTP(smtp.host, smtp.port, timeout=5)
        c.starttls(context=tls_ctx(smtp))
        c.login(smtp.username, smtp.password)
        return c

    smtp.fail_next(1)
    c = client()
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        c.sendmail("bounce@carebus.example", ["customer@example.test"], GOOD_MAIL)
    assert e.value.smtp_code == 421
    c.close()

    smtp.drop_next(1)
    c = client()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        c.sendmail("bounce@carebus.example", ["customer@example.test"], GOOD_MAIL)
    c.close()
    [dropped] = smtp.messages()
    assert not dropped.acknowledged  # received, but the sender never heard 250

    bad = GOOD_MAIL.replace(b"Message-ID: <t123.m456@carebus.example>\r\n", b"") \
        .replace(b"Hello, your parcel", b"Hello,\nyour parcel")
    c = client()
    c.sendmail("bounce@carebus.example", ["customer@example.test"], bad)
    c.quit()
    problems = smtp.messages()[-1].problems()
    assert "no Message-ID header" in problems and "bare LF line ending" in problems

    with SmtpEmulator(starttls=False) as plain:
        c = smtplib.SMTP(plain.host, plain.port, timeout=5)
        assert b"STARTTLS" not in c.ehlo()[1]
        with pytest.raises(smtplib.SMTPNotSupportedError):
            c.starttls()
        c.close()


# --- g. Postmark ------------------------------------------------------------------------------


def test_postmark_basic_credentials_retries_and_threading(hooks, smtp):
    hooks.reset(state=True)
    u = urllib.parse.urlsplit(hooks.url)
    pm = PostmarkSender(f"http://inbound:s%40cret@{u.hostname}:{u.port}/v1/webhooks/email")
    assert pm.password == "s@cret"
    payload = pm.payload(from_email="lan@example.vn", from_name="Nguyễn Lan",
                         subject="Đơn hàng #123", text="Tôi chưa nhận được hàng",
                         to='"Carebus Support" <reply+t123@inbound.carebus.example>',
                         attachments=[("photo.jpg", b"\xff\xd8\xff", "image/jpeg")])
    assert pm.send(payload).ok
    pm.send(payload, credentials="none")
    pm.send(payload, credentials="wrong")
    ok, none, wrong = hooks.requests()
    assert ok.path == "/v1/webhooks/email"
    assert ok.header("Authorization") == "Basic " + base64.b64encode(b"inbound:s@cret").decode()
    assert none.header("Authorization") is None
    assert wrong.header("Authorization") != ok.header("Authorization")
    doc = ok.json
    assert doc["MailboxHash"] == "t123" and doc["ToFull"][0]["MailboxHash"] == "t123"
    assert doc["FromFull"] == {"Email": "lan@example.vn", "Name": "Nguyễn Lan", "MailboxHash": ""}
    assert re.fullmatch(r"[0-9a-f-]{36}", doc["MessageID"])  # Postmark's own id
    assert any(h["Name"] == "Message-ID" for h in doc["Headers"])
    assert base64.b64decode(doc["Attachments"][0]["Content"]) == b"\xff\xd8\xff"

    # 500, 500, then 200: three attempts; a 403 stops at once.
    hooks.reset()
    hooks.fail_next(2, status=500)
    attempts = pm.deliver(payload, time_scale=0)
    assert [a.status for a in attempts] == [500, 500, 200]
    hooks.reset()
    hooks.set_answer(403)
    assert [a.status for a in pm.deliver(payload, time_scale=0)] == [403]
    hooks.set_answer(200)

    # The customer answers a message carebus sent.
    c = smtplib.SMTP(smtp.host, smtp.port, timeout=5)
    c.starttls(context=tls_ctx(smtp))
    c.login(smtp.username, smtp.password)
    c.sendmail("bounce@carebus.example", ["customer@example.test"], GOOD_MAIL)
    c.quit()
    [mail] = smtp.wait_messages(1)
    answer = pm.reply_to(mail, "Thanks!")
    heads = {h["Name"]: h["Value"] for h in answer["Headers"]}
    assert heads["In-Reply-To"] == "<t123.m456@carebus.example>"
    assert heads["References"] == "<CAF=abc@mail.example.test> <t123.m456@carebus.example>"
    assert answer["Subject"] == "Re: [#123] Delivery delayed"
    assert answer["ToFull"][0]["Email"] == "reply+t123@carebus.example"
    assert answer["MailboxHash"] == "t123" and answer["From"] == "customer@example.test"
    assert answer["StrippedTextReply"] == "Thanks!"
    assert "> Hello, your parcel ships today." in answer["TextBody"]


# --- h. Standard Webhooks ---------------------------------------------------------------------


def test_standard_webhooks_vector_and_receiver(hooks):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, ts, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}'
    sig = emulators.standard_webhook_signature(secret, msg_id, ts, body)
    assert sig == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {"webhook-id": msg_id, "webhook-timestamp": ts,
               "webhook-signature": "v1,bm90LXRoaXM= v1," + sig}
    assert emulators.verify_standard_webhook(secret, headers, body, now=1614265330 + 60)
    assert not emulators.verify_standard_webhook(secret, headers, body, now=1614265330 + 400)
    assert not emulators.verify_standard_webhook(secret, headers, body + b" ", now=1614265330)
    assert not emulators.verify_standard_webhook(
        secret, dict(headers, **{"webhook-signature": "v1a," + sig}), body, now=1614265330)

    hooks.reset(state=True)
    now = str(int(time.time()))
    sig_now = emulators.standard_webhook_signature(secret, msg_id, now, body)
    for s in (sig_now, "AAAA"):
        call(hooks.url + "/hooks/a", body=body,
             headers={"Content-Type": "application/json", "webhook-id": msg_id,
                      "webhook-timestamp": now, "webhook-signature": "v1," + s})
    assert len(hooks.requests()) == 2 and len(hooks.verified(secret)) == 1


# --- i. the benchmark's C sink ----------------------------------------------------------------


def start_sink(tool, *args):
    proc = subprocess.Popen([str(tool("provider_sink")), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # bounded: an exiting sink closes stdout
    assert line.startswith('{"port":'), (line, proc.stderr.read() if proc.poll() else "")
    return proc, f"http://127.0.0.1:{json.loads(line)['port']}"


def stop_sink(proc):
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    return json.loads(out.strip().splitlines()[-1])


def test_provider_sink_shapes_counts_and_arrivals(tool, tmp_path):
    arrivals = tmp_path / "arrivals"
    proc, url = start_sink(tool, "--shape", "zalo", "--key", "json:text", "--out", str(arrivals))
    try:
        before = time.time_ns()
        for i in range(3):
            r = call(url + "/v3.0/oa/message/cs",
                     body={"recipient": {"user_id": ZALO_USER},
                           "message": {"text": f"bench {i} \"q\""}},
                     headers={"access_token": "x"})
            assert r.status == 200, r
            ans = r.json()
            assert ans["error"] == 0 and ans["data"]["user_id"] == ZALO_USER
            assert re.fullmatch(r"[0-9a-f]{20}", ans["data"]["message_id"])
        stats = call(url + "/__stats", "GET").json()
        assert stats["requests"] == 3 and before <= stats["first_ns"] <= stats["last_ns"]
        lines = arrivals.read_text().splitlines()
        assert [ln.split(" ", 1)[1] for ln in lines] == [f'bench {i} \\"q\\"' for i in range(3)]
        assert all(before <= int(ln.split(" ", 1)[0]) <= time.time_ns() for ln in lines)
        assert call(url + "/__reset").status == 200
        assert call(url + "/__stats", "GET").json()["requests"] == 0
        assert arrivals.read_text() == ""
        assert call(url + "/x", "GET").status == 405
    finally:
        final = stop_sink(proc)
    assert final == {"requests": 0}

    checks = {
        "whatsapp": (lambda r: r.status == 200
                     and r.json()["contacts"][0]["wa_id"] == WA_ID
                     and r.json()["messages"][0]["id"].startswith("wamid."),
                     wa_text(), {}),
        "messenger": (lambda r: r.status == 200 and r.json()["recipient_id"] == PSID
                      and r.json()["message_id"].startswith("m_"), fb_msg(), {}),
        "twilio": (lambda r: r.status == 201
                   and re.fullmatch(r"SM[0-9a-f]{32}", r.json()["sid"])
                   and r.json()["to"] == "%2B15558675310",
                   urllib.parse.urlencode(SMS),
                   {"Content-Type": "application/x-www-form-urlencoded"}),
        "webhook": (lambda r: r.status == 200 and r.body == b"", {"type": "ticket.opened"}, {}),
    }
    for shape, (ok, body, headers) in checks.items():
        proc, url = start_sink(tool, "--shape", shape)
        try:
            r = call(url + "/anything", body=body, headers=headers)
            assert ok(r), (shape, r)
        finally:
            assert stop_sink(proc) == {"requests": 1}
