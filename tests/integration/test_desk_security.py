"""Issue 14, the desk's security: sessions, CSRF and the agent's scope.

  a. no session: a page redirects to /signin, the API through the desk and
     its event stream answer 401
  b. sign-in with the agent's password (from the work API): a wrong one is
     401, the right one sets an HttpOnly, SameSite=Strict cookie
  c. every write through the desk without the session's CSRF token (or with
     another's) is 403, and nothing reaches the API; sign-out too
  d. an agent opens the tickets assigned to them or queued for their
     teams, not another team's (403); a supervisor opens any
  e. after sign-out the cookie is refused (a copy kept by a thief too) and
     the API key the session used is revoked; a made-up cookie is refused;
     a session whose key expired is signed out
  f. an id is one path segment (nothing that names another route); a
     session outlives the desk: killed (-9) and restarted, it serves the
     same cookie, whose CSRF token still writes
  i. two desk instances on one channel-ingest, no sticky balancer: a
     session made on one reads and writes (CSRF) on the other, with the
     agent's scope; signed out on one, its cookie is refused by both
  j. the cookie holds the key sealed under the desk's secret: no key in
     it, refused as a Bearer key by channel-ingest (401); one character
     changed, or a plain key (an older desk's cookie), is signed out; a
     desk with another secret refuses the cookies of the first, and the
     first its; without a secret the desk warns and a restart signs out,
     and a bad one stops it
  g. over TLS (CAREBUS_TLS_CERT, _KEY) the cookie is also Secure, and so
     with CAREBUS_DESK_SECURE_COOKIE over plain HTTP (behind a TLS proxy)
  h. a login locked out by channel-ingest (too many failures in a row) is
     told so (429, Retry-After), not "wrong credentials"
"""

import http.client
import re
import ssl
import sys
import urllib.parse
from pathlib import Path

import carebus_harness as h
from desk_support import FAST_HASH, PASSWORD, DeskClient, desk_stack, save_agent
from test_router_acceptance import post, routed_ticket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.tls import test_certificate as tls_certificate  # noqa: E402


def contact(st, handle, text):
    body = {"channel": "zalo", "customer": {"handle": handle, "name": "Khách " + handle},
            "text": text}
    return routed_ticket(st, post(st, "/v1/messages", body)["event_id"])


def test_sessions_csrf_and_scope(stack):
    st = desk_stack(stack)
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    save_agent(st, "minh", "Trần Minh", ["technical"])
    save_agent(st, "sup", "Phạm Giám Sát", ["complaints", "technical"], role="supervisor")
    mine = contact(st, "z-1", "Khiếu nại về hoá đơn")
    other = contact(st, "z-2", "Máy không lên nguồn")
    post(st, f"/v1/tickets/{mine}/assign", {"team": "complaints"})
    post(st, f"/v1/tickets/{other}/assign", {"team": "technical"})

    # a. nobody signed in
    anon = DeskClient(st)
    r = anon.request("GET", "/")
    assert r.status == 303 and r.headers["location"].startswith("/signin"), r
    assert anon.request("GET", "/api/v1/tickets").status == 401
    assert anon.request("GET", "/events").status == 401
    r = anon.request("GET", "/signin")
    assert r.status == 200 and b'name="password"' in r.body
    assert "default-src 'none'" in r.headers["content-security-policy"]

    # b. sign-in
    DeskClient(st).sign_in("lan", "wrong password", status=401)
    DeskClient(st).sign_in("nobody", status=401)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = anon.request("POST", "/signin", "login=lan&password=a%00b", form)  # no form: a NUL
    assert r.status == 400 and r.json()["error"]["code"] == "invalid", r
    lan = DeskClient(st)
    r = lan.sign_in("lan@example.vn")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie, cookie
    # It lives as long as its key (12 hours from the sign-in).
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))
    assert 12 * 3600 - 120 <= max_age <= 12 * 3600, cookie
    r = lan.request("POST", "/signout", "csrf=a%00b", form)  # no form: 400, still signed in
    assert r.status == 400 and r.json()["error"]["code"] == "invalid", r
    assert lan.request("GET", "/").status == 200
    assert "Secure" not in cookie  # plain HTTP here; over TLS it is added
    assert lan.api("GET", f"/v1/tickets/{mine}").status == 200

    # c. CSRF on every write
    reply = {"text": "Chào chị, em kiểm tra ngay ạ", "internal_note": True}
    for token in (None, "0" * 64):
        r = lan.request("POST", f"/api/v1/tickets/{mine}/replies", reply,
                        {"X-CSRF-Token": token} if token else {})
        assert r.status == 403, r
    r = lan.request("PATCH", f"/api/v1/tickets/{mine}", {"tags_add": ["x"]})
    assert r.status == 403, r
    r = lan.request("POST", f"/api/v1/tickets/{mine}/status", {"status": "solved"})
    assert r.status == 403, r
    t = st.get_api(f"/v1/tickets/{mine}").json()
    assert t["status"] == "open" and not t["tags"], t
    assert lan.api("POST", f"/v1/tickets/{mine}/replies", reply).status in (200, 201, 202)
    # Another origin's form, even with the token, is refused.
    r = lan.request("POST", f"/api/v1/tickets/{mine}/replies", reply,
                    {"X-CSRF-Token": lan.csrf, "Origin": "http://evil.example"})
    assert r.status == 403, r

    # d. scope: another team's ticket is not an agent's to open
    r = lan.api("GET", f"/v1/tickets/{other}")
    assert r.status == 403, r
    assert lan.api("GET", f"/v1/tickets/{other}/timeline").status == 403
    sup = DeskClient(st)
    sup.sign_in("sup")
    assert sup.api("GET", f"/v1/tickets/{other}").status == 200

    # e. sign-out: without the token it is refused; with it, the cookie dies
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert lan.request("POST", "/signout", "", form).status == 403
    stolen = lan.cookie
    key_id = st.db.scalar("SELECT id FROM ingest.api_keys WHERE agent_id = 'lan'"
                          " AND revoked_at IS NULL")
    assert key_id
    r = lan.request("POST", "/signout", urllib.parse.urlencode({"csrf": lan.csrf}), form)
    assert r.status == 303 and "carebus_desk=;" in r.headers["set-cookie"], r
    # Revoked before the answer: no instance of the desk accepts it now.
    assert st.db.scalar("SELECT revoked_at IS NOT NULL FROM ingest.api_keys WHERE id = %s",
                        (key_id,))
    thief = DeskClient(st)
    thief.cookie = stolen
    thief.csrf = lan.csrf
    r = thief.request("GET", "/")
    assert r.status == 303 and r.headers["location"].startswith("/signin"), r
    assert "carebus_desk=;" in r.headers["set-cookie"], r
    r = thief.request("GET", f"/api/v1/tickets/{mine}")
    assert r.status == 401 and "carebus_desk=;" in r.headers["set-cookie"], r
    assert thief.request("GET", "/events").status == 401
    assert thief.api("POST", f"/v1/tickets/{mine}/replies", reply).status == 401
    # A made-up cookie, shaped like a key or not, is no session.
    for made_up in ("cb_" + "A" * 43, "x" * 43):
        thief.cookie = f"carebus_desk={made_up}"
        r = thief.request("GET", "/")
        assert r.status == 303 and r.headers["location"].startswith("/signin"), r
        assert thief.request("GET", "/api/v1/queues").status == 401

    # A session whose key expired is signed out (the API says so).
    minh = DeskClient(st)
    minh.sign_in("minh")
    st.db.query("UPDATE ingest.api_keys SET expires_at = now() - interval '1 second'"
                " WHERE agent_id = 'minh' AND revoked_at IS NULL")
    h.wait_until("the expired session to be refused", lambda: minh.request(
        "GET", "/api/v1/queues").status == 401, h.scaled(10))
    r = minh.request("GET", "/")
    assert r.status == 303 and r.headers["location"].startswith("/signin"), r


def test_ids_are_one_segment_and_a_session_outlives_the_desk(stack):
    st = desk_stack(stack)
    save_agent(st, "sup", "Phạm Giám Sát", ["complaints"], role="supervisor")
    sup = DeskClient(st)
    sup.sign_in("sup")
    for bad in ("x%2F..%2F..%2Fagents", "..", "a%3Fb"):
        r = sup.api("GET", f"/v1/tickets/{bad}")
        assert r.status == 400, (bad, r)
    # The desk keeps no session: killed mid-shift and restarted, it serves
    # the same cookie, whose CSRF token (derived from the key) still writes.
    st.kill9("desk")
    st["desk"].start()
    assert sup.page_csrf() == sup.csrf
    assert sup.api("GET", "/v1/queues").status == 200
    presence = {"presence": "away", "capacity": 5, "teams": ["complaints"]}
    r = sup.api("PUT", "/v1/agents/sup/presence", presence)
    assert r.status in (200, 202), r
    assert sup.api("PUT", "/v1/agents/sup/presence", presence, csrf=False).status == 403
    assert st.db.scalar("SELECT count(*) FROM ingest.api_keys WHERE agent_id = 'sup'"
                        " AND revoked_at IS NULL") == 1


def test_two_desks_share_sessions(stack):
    st = desk_stack(stack)
    st.add_instance("desk").start()
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    mine = contact(st, "z-1", "Khiếu nại về hoá đơn")
    other = contact(st, "z-2", "Máy không lên nguồn")
    post(st, f"/v1/tickets/{mine}/assign", {"team": "complaints"})
    post(st, f"/v1/tickets/{other}/assign", {"team": "technical"})
    one = DeskClient(st)
    one.sign_in("lan")
    two = one.on(st, "desk2")
    # Made on one, the session reads and writes on the other, in its scope.
    assert two.page_csrf() == one.csrf
    assert two.api("GET", f"/v1/tickets/{mine}").status == 200
    assert two.api("GET", f"/v1/tickets/{other}").status == 403
    reply = {"text": "Em kiểm tra ngay ạ", "internal_note": True}
    assert two.api("POST", f"/v1/tickets/{mine}/replies", reply).status in (200, 201, 202)
    assert two.api("POST", f"/v1/tickets/{mine}/replies", reply, csrf=False).status == 403
    assert two.request("GET", "/events").status == 200
    assert one.api("GET", f"/v1/tickets/{mine}").status == 200
    # Signed out on the second, the cookie is refused by both.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = two.request("POST", "/signout", urllib.parse.urlencode({"csrf": two.csrf}), form)
    assert r.status == 303 and "carebus_desk=;" in r.headers["set-cookie"], r
    for copy in (one, two):
        r = copy.request("GET", "/")
        assert r.status == 303 and r.headers["location"].startswith("/signin"), (copy.url, r)
        assert copy.api("GET", f"/v1/tickets/{mine}").status == 401, copy.url
        assert copy.api("GET", "/v1/queues").status == 401, copy.url
        assert copy.api("POST", f"/v1/tickets/{mine}/replies", reply).status == 401, copy.url
        assert copy.request("GET", "/events").status == 401, copy.url


def signed_out(client, ticket):
    """The client's cookie is no session: the page goes to /signin, the API
    and the stream answer 401, and the cookie is cleared."""
    r = client.request("GET", "/")
    assert r.status == 303 and r.headers["location"].startswith("/signin"), r
    assert "carebus_desk=;" in r.headers["set-cookie"], r
    r = client.api("GET", f"/v1/tickets/{ticket}")
    assert r.status == 401 and "carebus_desk=;" in r.headers["set-cookie"], r
    assert client.request("GET", "/events").status == 401


def test_the_cookie_is_sealed(stack):
    st = desk_stack(stack)
    other_secret = "ab" * 32
    st.add_instance("desk").start(extra_env={"CAREBUS_DESK_SECRET": other_secret})
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    mine = contact(st, "z-1", "Khiếu nại về hoá đơn")
    other = contact(st, "z-2", "Máy không lên nguồn")
    post(st, f"/v1/tickets/{mine}/assign", {"team": "complaints"})
    post(st, f"/v1/tickets/{other}/assign", {"team": "technical"})
    lan = DeskClient(st)
    lan.sign_in("lan")
    value = lan.cookie.split("=", 1)[1]
    assert value.startswith("v1.") and len(value) == 102, value

    # A. The agent reads her cookie: no key of the API is in it, and it is
    # not one: channel-ingest refuses it, whole or any part of it, so the
    # desk's rule (not another team's ticket) cannot be gone around.
    assert not re.search(r"cb_[A-Za-z0-9_-]{43}", value), value
    for bearer in (value, value[3:], "cb_" + value[3:46]):
        for path in ("/v1/sessions/current", f"/v1/tickets/{other}", "/v1/queues"):
            r = h.http_request(st.api_url + path, "GET", None,
                               {"Authorization": f"Bearer {bearer}"})
            assert r.status == 401, (bearer, path, r)
    assert lan.api("GET", f"/v1/tickets/{other}").status == 403
    assert lan.api("GET", f"/v1/tickets/{mine}").status == 200
    # Each sign-in seals afresh (a random nonce).
    again = DeskClient(st)
    again.sign_in("lan")
    assert again.cookie != lan.cookie and again.csrf != lan.csrf

    # B. A cookie changed by one character is no session, wherever the
    # change falls (nonce, sealed key, tag); nor is a plain key, as an
    # older desk's cookie was (here a real one, good on channel-ingest).
    thief = DeskClient(st)
    thief.csrf = lan.csrf
    for i in (3, 20, 60, len(value) - 2):
        thief.cookie = "carebus_desk=" + value[:i] + ("A" if value[i] != "A" else "B") + \
            value[i + 1:]
        signed_out(thief, mine)
    plain = h.http_request(st.api_url + "/v1/sessions", "POST",
                           {"agent": "lan", "password": PASSWORD}, timeout=30)
    assert plain.status == 201, plain
    key = plain.json()["key"]
    assert h.http_request(st.api_url + "/v1/sessions/current", "GET", None,
                          {"Authorization": f"Bearer {key}"}).status == 200
    thief.cookie = f"carebus_desk={key}"
    signed_out(thief, mine)
    # The true cookie still works: nothing above signed Lan out.
    assert lan.api("GET", f"/v1/tickets/{mine}").status == 200

    # C. A desk with another secret: each refuses the other's cookies (a
    # cookie sealed under another secret is no session), and serves its own.
    two = DeskClient(st, "desk2")
    two.sign_in("lan")
    assert two.api("GET", f"/v1/tickets/{mine}").status == 200
    assert two.api("GET", f"/v1/tickets/{other}").status == 403
    signed_out(lan.on(st, "desk2"), mine)
    signed_out(two.on(st, "desk"), mine)
    assert lan.api("GET", f"/v1/tickets/{mine}").status == 200
    assert two.api("GET", f"/v1/tickets/{mine}").status == 200


def test_without_a_secret_sessions_end_with_the_desk(stack):
    st = stack()
    st["ingest"].start(wait_ready=False, extra_env=FAST_HASH)
    st["router"].start(wait_ready=False)
    st["desk"].start(wait_ready=False, extra_env={"CAREBUS_DESK_SECRET_FILE": ""})
    for name in ("ingest", "router", "desk"):
        st[name].wait_ready()
    assert "no CAREBUS_DESK_SECRET or CAREBUS_DESK_SECRET_FILE" in st["desk"].all_logs()
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    mine = contact(st, "z-1", "Khiếu nại về hoá đơn")
    lan = DeskClient(st)
    lan.sign_in("lan")
    assert lan.api("GET", "/v1/queues").status == 200
    st.kill9("desk")
    st["desk"].start(extra_env={"CAREBUS_DESK_SECRET_FILE": ""})
    signed_out(lan, mine)
    # A bad secret stops the desk rather than sealing under a weak one.
    st.kill9("desk")
    desk = st["desk"]
    desk.start(wait_ready=False, extra_env={"CAREBUS_DESK_SECRET": "not hex"})
    h.wait_until("the desk to refuse a bad CAREBUS_DESK_SECRET", lambda: not desk.running(),
                 h.scaled(20))
    assert desk.proc.returncode == 1
    assert "CAREBUS_DESK_SECRET: expected 64 hex digits" in desk.log_text(), desk.log_tail()
    desk.runs[-1]["end"] = "expected-exit"  # not a crash: asked to fail
    desk.runs[-1]["checked"] = True


def test_over_tls_the_cookie_is_secure(stack):
    st = stack()
    cert, key = tls_certificate()
    st["ingest"].start(wait_ready=False, extra_env=FAST_HASH)
    st["router"].start(wait_ready=False)
    desk = st["desk"]
    desk.start(wait_ready=False, extra_env={"CAREBUS_TLS_CERT": str(cert),
                                            "CAREBUS_TLS_KEY": str(key)})
    st["ingest"].wait_ready()
    st["router"].wait_ready()
    save_agent(st, "lan", "Lan", ["complaints"])
    ctx = ssl.create_default_context(cafile=str(cert))

    def https(path, method="GET", body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", desk.port, context=ctx, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def ready():
        try:
            return https("/readyz")[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    h.wait_until("the desk ready over HTTPS", ready, h.scaled(30), interval=0.1,
                 on_timeout=lambda: desk.log_tail())
    form = urllib.parse.urlencode({"login": "lan", "password": PASSWORD, "next": "/"})

    def signed_in():
        status, headers, _ = https("/signin", "POST", form,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        return headers if status == 303 else None

    headers = h.wait_until("a sign-in over HTTPS", signed_in, h.scaled(20))
    cookie = headers["set-cookie"]
    assert "carebus_desk=" in cookie and "Secure" in cookie and "HttpOnly" in cookie, cookie
    # Behind a proxy that serves it over TLS, the desk speaks plain HTTP:
    # CAREBUS_DESK_SECURE_COOKIE makes its cookie Secure all the same.
    proxied = st.add_instance("desk")
    proxied.start(extra_env={"CAREBUS_DESK_SECURE_COOKIE": "1"})
    r = DeskClient(st, "desk2").sign_in("lan")
    assert "Secure" in r.headers["set-cookie"], r.headers["set-cookie"]


def test_a_locked_out_login_is_told_so(stack):
    st = desk_stack(stack, ingest_env={"CAREBUS_SIGNIN_FAILURES": "2",
                                       "CAREBUS_SIGNIN_LOCKOUT_S": "600"})
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    for _ in range(2):
        DeskClient(st).sign_in("lan", "wrong password", status=401)
    r = DeskClient(st).sign_in("lan", status=429)
    assert 1 <= int(r.headers["retry-after"]) <= 600, r.headers
    assert b"Too many failed sign-ins" in r.body, r.body
    assert "set-cookie" not in r.headers or "carebus_desk" not in r.headers["set-cookie"]
