"""Access (issue 11): what each key may do, end to end, on real services.

  a. each scope is refused what it may not do: 403 naming the missing scope
     (error.scope), counted in carebus_ingest_rejected_total{reason=
     "forbidden"} and carebus_ingest_forbidden_total{scope}; nothing stored
  b. a Zalo-only key reads its own Zalo ticket and event, and is refused
     another channel's ticket and event (counted in
     carebus_ingest_forbidden_total{scope="none"}), a ticket its customer
     joined from e-mail, and customers (they span channels)
  c. an agent key acts as its agent: a reply in another agent's name is
     refused, one with no name is its agent's; status changes and presence
     likewise; it acts on its teams' tickets only (403 naming supervisor),
     a supervisor's key on any
  d. analytics: no credentials -> the dashboard sends to sign in, the API
     answers 401; a key without read -> 403; signing in with a read key
     gives a signed HttpOnly SameSite=Lax session that opens both, survives
     a restart (the secret is kept in PostgreSQL), needs the CSRF token to
     sign out, and ends when the key is revoked

Every wait is bounded (h.wait_until).
"""

import json
import re
import urllib.parse
import uuid

import carebus_harness as h
from test_ingest_api import call, ctl, metrics, new_key, stored, wait_routed

ZALO_MSG = {
    "channel": "zalo",
    "external_id": "acc-z-1",
    "customer": {"name": "Lan", "phone": "0901234567", "handle": "zalo-uid-1"},
    "text": "Tôi cần hỗ trợ",
}


def forbidden(r, scope, field=None):
    """r is a 403 naming scope (None: no scope would do) and field."""
    assert r.status == 403, r
    err = r.json()["error"]
    assert err["code"] == "forbidden" and err["message"], err
    assert err.get("scope") == scope, err
    assert err.get("field") == field, err
    if scope:
        assert f'lacks the "{scope}" scope' in err["message"] or scope == "supervisor", err


def post(st, msg, key=None):
    r = call(st, "POST", "/v1/messages", msg, key=key)
    assert r.status == 202, r
    return r.json()["event_id"]


def ingest_events(st):
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'ingest'")


def analytics_forbidden(st):
    text = st["analytics"].get("/metrics").body.decode()
    m = re.search(r'^carebus_analytics_forbidden_total\{scope="read"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0


def wait_analytics_knows(st, key, status):
    """analytics reloads its keys every second too."""
    h.wait_until("analytics to load the key", lambda: h.http_request(
        st["analytics"].url + "/v1/kpis?from=2026-01-01&to=2026-01-01",
        headers=st.auth(key)).status == status, h.scaled(10), interval=0.1)


# --- a. each scope ------------------------------------------------------------------------


def test_each_scope_is_refused_what_it_may_not_do(stack):
    st = stack("ingest", "router", "analytics")
    ticket = wait_routed(st, post(st, ZALO_MSG))["ticket_id"]
    keys = {
        "ingest": new_key(st, "ingest", scopes="ingest")["key"],
        "read": new_key(st, "read", scopes="read")["key"],
        "agent": new_key(st, "agent", scopes="agent", agent="lan")["key"],
        "supervisor": new_key(st, "supervisor", scopes="supervisor")["key"],
        "admin": new_key(st, "admin", scopes="admin")["key"],
    }
    for k in keys.values():
        wait_analytics_knows(st, k, 200 if k == keys["read"] else 403)
    # (method, path, body, the scope it needs; supervisor also grants agent)
    routes = [
        ("POST", "/v1/messages", dict(ZALO_MSG, external_id="acc-a-2"), "ingest"),
        ("GET", f"/v1/tickets/{ticket}", None, "read"),
        ("GET", "/v1/customers?phone=0901234567", None, "read"),
        ("POST", f"/v1/tickets/{ticket}/replies", {"agent_id": "lan", "text": "ok",
                                                    "internal_note": True}, "agent"),
        ("POST", f"/v1/tickets/{ticket}/transfer", {"team": "support"}, "agent"),
        ("PUT", "/v1/agents/lan/presence", {"presence": "offline", "capacity": 1,
                                            "teams": ["technical"]}, "agent"),
    ]
    before, stored_before = metrics(st), ingest_events(st)
    a_before = analytics_forbidden(st)
    refused = {}
    for have, key in keys.items():
        for method, path, body, need in routes:
            may = have == need or (need == "agent" and have == "supervisor")
            if may:
                continue
            r = call(st, method, path, body, key=key)
            forbidden(r, need)
            refused[need] = refused.get(need, 0) + 1
        # The KPI API and the dashboard need read.
        if have != "read":
            r = h.http_request(st["analytics"].url + "/v1/kpis?from=2026-01-01&to=2026-01-02",
                               headers=st.auth(key))
            forbidden(r, "read")
            r = h.http_request(st["analytics"].url + "/", headers=st.auth(key))
            forbidden(r, "read")
    assert ingest_events(st) == stored_before, "a refused request stored an event"
    after = metrics(st)
    total = sum(refused.values())
    series = 'carebus_ingest_rejected_total{reason="forbidden"}'
    assert after.get(series, 0) - before.get(series, 0) == total
    for scope, n in refused.items():
        series = f'carebus_ingest_forbidden_total{{scope="{scope}"}}'
        assert after.get(series, 0) - before.get(series, 0) == n, (scope, n)
    assert analytics_forbidden(st) - a_before == 2 * (len(keys) - 1)

    # What each may do, it does (the bootstrap key may do everything).
    r = call(st, "GET", f"/v1/tickets/{ticket}", key=keys["read"])
    assert r.status == 200 and r.json()["id"] == ticket, r
    r = call(st, "POST", "/v1/messages", dict(ZALO_MSG, external_id="acc-a-3"), key=keys["ingest"])
    assert r.status == 202, r
    r = call(st, "POST", f"/v1/tickets/{ticket}/transfer", {"team": "complaints"},
             key=keys["supervisor"])
    assert r.status == 202, r


# --- b. a channel-limited key -------------------------------------------------------------


def test_a_zalo_only_key_reads_nothing_beyond_zalo(stack):
    st = stack("ingest", "router")
    zalo = new_key(st, "zalo bridge", channels="zalo")["key"]
    mine = post(st, ZALO_MSG, key=zalo)
    zticket = wait_routed(st, mine)["ticket_id"]
    other = post(st, {"channel": "email", "external_id": "acc-e-1", "text": "Hello",
                      "customer": {"name": "Minh", "email": "minh@example.vn"}})
    eticket = wait_routed(st, other)["ticket_id"]
    assert eticket != zticket

    # Its own: the ticket and the event.
    r = call(st, "GET", f"/v1/tickets/{zticket}", key=zalo)
    assert r.status == 200 and r.json()["id"] == zticket, r
    r = call(st, "GET", f"/v1/events/{mine}", key=zalo)
    assert r.status == 200 and r.json()["ticket_id"] == zticket, r
    # Another channel's: refused, whatever scope it has; each refusal
    # counted, under no scope (none would allow it: auth_tally).
    before = metrics(st)
    forbidden(call(st, "GET", f"/v1/tickets/{eticket}", key=zalo), None)
    forbidden(call(st, "GET", f"/v1/events/{other}", key=zalo), None)
    after = metrics(st)
    for series in ('carebus_ingest_forbidden_total{scope="none"}',
                   'carebus_ingest_rejected_total{reason="forbidden"}'):
        assert after.get(series, 0) - before.get(series, 0) == 2, series
    # Unknown ones are still 404, not 403.
    assert call(st, "GET", f"/v1/tickets/{uuid.uuid4()}", key=zalo).status == 404
    assert call(st, "GET", f"/v1/events/{uuid.uuid4()}", key=zalo).status == 404
    # Customers span channels.
    customer = wait_routed(st, mine)["customer_id"]
    forbidden(call(st, "GET", f"/v1/customers/{customer}", key=zalo), None)
    forbidden(call(st, "GET", "/v1/customers?phone=0901234567", key=zalo), None)
    # Its customer writes by e-mail too: the ticket now holds an e-mail
    # contact, so the Zalo key no longer reads it (the bootstrap key does).
    mail = post(st, {"channel": "email", "external_id": "acc-e-2", "text": "Về đơn hàng",
                     "customer": {"name": "Lan", "phone": "0901234567",
                                  "email": "lan@example.vn"}})
    assert wait_routed(st, mail)["ticket_id"] == zticket
    forbidden(call(st, "GET", f"/v1/tickets/{zticket}", key=zalo), None)
    assert call(st, "GET", f"/v1/tickets/{zticket}").status == 200
    # Its own event stays readable.
    assert call(st, "GET", f"/v1/events/{mine}", key=zalo).status == 200
    # A key for Zalo and e-mail reads it again.
    both = new_key(st, "zalo+email", channels="zalo,email")["key"]
    assert call(st, "GET", f"/v1/tickets/{zticket}", key=both).status == 200


# --- c. an agent key ---------------------------------------------------------------------


def test_an_agent_key_acts_as_its_agent_on_its_teams_tickets(stack, pb2):
    st = stack("ingest", "router")
    # lan works in "technical", offline (so nothing is assigned to her).
    r = call(st, "PUT", "/v1/agents/lan/presence",
             {"presence": "offline", "capacity": 3, "teams": ["technical"]})
    assert r.status == 202, r
    tech = wait_routed(st, post(st, dict(ZALO_MSG, external_id="acc-c-1",
                                         text="my router shows an error")))["ticket_id"]
    bill = wait_routed(st, post(st, {"channel": "email", "external_id": "acc-c-2",
                                     "text": "please refund this invoice",
                                     "customer": {"name": "Minh", "email": "m@example.vn"}}))
    bill = bill["ticket_id"]
    h.wait_until("the tickets' teams", lambda: dict(st.db.query(
        "SELECT id::text, team FROM router.tickets")) == {tech: "technical",
                                                          bill: "account-management"},
        h.scaled(10))
    lan = new_key(st, "lan's desk", scopes="agent,read", agent="lan")
    assert lan["scopes"] == ["read", "agent"] and lan["agent_id"] == "lan"
    key = lan["key"]
    base = ingest_events(st)

    # Another agent's name: refused, naming the field.
    r = call(st, "POST", f"/v1/tickets/{tech}/replies", {"agent_id": "minh", "text": "hi"},
             key=key)
    forbidden(r, None, "agent_id")
    r = call(st, "POST", f"/v1/tickets/{tech}/status", {"status": "solved", "actor": "minh"},
             key=key)
    forbidden(r, None, "actor")
    r = call(st, "PUT", "/v1/agents/minh/presence",
             {"presence": "online", "capacity": 1, "teams": []}, key=key)
    forbidden(r, None, "id")
    # A body that is no object is the parser's to refuse.
    r = call(st, "POST", f"/v1/tickets/{tech}/replies", ["lan"], key=key)
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_json", r
    # Another team's ticket: a supervisor's to act on.
    r = call(st, "POST", f"/v1/tickets/{bill}/replies", {"text": "hi"}, key=key)
    forbidden(r, "supervisor")
    assert ingest_events(st) == base, "a refused request stored an event"

    # Its own team's ticket, in its own name (given or not).
    r = call(st, "POST", f"/v1/tickets/{tech}/replies", {"text": "Em kiểm tra ngay ạ"}, key=key)
    assert r.status == 202, r
    env = stored(st, r.json()["event_id"], pb2)[5]
    assert env.agent_replied.agent_id == "lan" and env.ticket_id == tech
    r = call(st, "POST", f"/v1/tickets/{tech}/replies",
             {"agent_id": "lan", "text": "note", "internal_note": True}, key=key)
    assert r.status == 202, r
    r = call(st, "POST", f"/v1/tickets/{tech}/status", {"status": "pending"}, key=key)
    assert r.status == 202, r
    assert stored(st, r.json()["event_id"], pb2)[5].ticket_status_changed.actor == "lan"
    r = call(st, "PUT", "/v1/agents/lan/presence",
             {"presence": "away", "capacity": 3, "teams": ["technical"]}, key=key)
    assert r.status == 202, r
    # Reading is the read scope's: any ticket.
    assert call(st, "GET", f"/v1/tickets/{bill}", key=key).status == 200

    # A supervisor bound to an agent: any ticket, in its own name only.
    hoa = new_key(st, "hoa", scopes="agent,supervisor", agent="hoa")["key"]
    r = call(st, "POST", f"/v1/tickets/{bill}/replies", {"text": "Chào anh"}, key=hoa)
    assert r.status == 202, r
    assert stored(st, r.json()["event_id"], pb2)[5].agent_replied.agent_id == "hoa"
    forbidden(call(st, "POST", f"/v1/tickets/{bill}/replies", {"agent_id": "lan", "text": "x"},
                   key=hoa), None, "agent_id")
    # A supervisor's desk (no agent): any ticket, in the name it gives.
    desk = new_key(st, "desk", scopes="supervisor")["key"]
    r = call(st, "POST", f"/v1/tickets/{bill}/replies", {"agent_id": "minh", "text": "x"},
             key=desk)
    assert r.status == 202, r
    assert stored(st, r.json()["event_id"], pb2)[5].agent_replied.agent_id == "minh"

    # carebusctl keeps an agent key and its agent together.
    assert ctl(st, "keys", "create", "--name", "x", "--scopes", "agent",
               check=False).returncode == 2
    assert ctl(st, "keys", "create", "--name", "x", "--agent", "lan",
               check=False).returncode == 2
    assert ctl(st, "keys", "create", "--name", "x", "--scopes", "read,teleport",
               check=False).returncode == 2
    listed = {k["name"]: k for k in json.loads(
        ctl(st, "keys", "list", "--json").stdout)}
    assert listed["lan's desk"]["scopes"] == ["read", "agent"]
    assert listed["lan's desk"]["agent_id"] == "lan"
    assert listed["desk"]["agent_id"] is None


# --- d. analytics: keys and sessions -----------------------------------------------------


def sign_in(st, key, next_="/?lang=en", origin=None):
    base = st["analytics"].url
    body = urllib.parse.urlencode({"key": key, "next": next_, "lang": "en"})
    hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
    if origin:
        hdrs["Origin"] = origin
    return h.http_request(base + "/signin", "POST", body, hdrs)


def cookie_of(r):
    """The session cookie's "name=value" from a Set-Cookie."""
    return r.header("set-cookie").split(";", 1)[0]


def test_the_dashboard_needs_a_read_key_or_a_session(stack):
    st = stack("ingest", "analytics")
    a = st["analytics"].url
    # No credentials: a person is sent to sign in, a program gets 401.
    r = h.http_request(a + "/?from=2026-01-01&lang=en")
    assert r.status == 303, r
    assert r.header("location") == "/signin?next=%2F%3Ffrom%3D2026-01-01%26lang%3Den", r.headers
    r = h.http_request(a + "/v1/kpis?from=2026-01-01&to=2026-01-02")
    assert r.status == 401 and r.header("www-authenticate") == 'Bearer realm="carebus"', r
    assert r.json()["error"]["code"] == "unauthorized"
    # The sign-in page: in the language of the page it came from, no script.
    r = h.http_request(a + "/signin?next=%2F%3Flang%3Den")
    assert r.status == 200 and r.header("content-language") == "en", r
    assert b'type="password" name="key"' in r.body and b"<script" not in r.body
    assert b'value="/?lang=en"' in r.body
    assert "default-src 'none'" in r.header("content-security-policy")
    r = h.http_request(a + "/signin")
    assert r.header("content-language") == "vi" and "Đăng nhập".encode() in r.body
    # The survey pages stay public (another service: nothing changes there).

    reader = new_key(st, "dashboard", scopes="read")
    poster = new_key(st, "poster", scopes="ingest")
    wait_analytics_knows(st, reader["key"], 200)
    wait_analytics_knows(st, poster["key"], 403)
    # Wrong key, a key without read, a form from elsewhere: refused, no cookie.
    for key, status in (("cb_nope", 401), (poster["key"], 403)):
        r = sign_in(st, key)
        assert r.status == status and r.header("set-cookie") is None, r
    r = sign_in(st, reader["key"], origin="http://evil.example")
    assert r.status == 403 and r.header("set-cookie") is None, r
    # A body that is no form (a decoded NUL): 400, on either form.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/signin", "/signout"):
        r = h.http_request(a + path, "POST", "key=a%00b", form)
        assert r.status == 400 and r.json()["error"]["code"] == "invalid", r

    # Signed in: a session cookie, then back where it was going.
    r = sign_in(st, f"  {reader['key']}\n", next_="/?from=2026-01-01&lang=en", origin=a)
    assert r.status == 303 and r.header("location") == "/?from=2026-01-01&lang=en", r
    set_cookie = r.header("set-cookie")
    assert re.fullmatch(r"carebus_session=[0-9a-f-]{36}\.\d+\.[0-9a-f]{64}; Path=/; "
                        r"Max-Age=43200; HttpOnly; SameSite=Lax", set_cookie), set_cookie
    assert reader["id"] in set_cookie and reader["key"] not in set_cookie
    cookie = {"Cookie": cookie_of(r)}
    r = h.http_request(a + "/?from=2026-01-01&lang=en", headers=cookie)
    assert r.status == 200 and b"Customer care KPIs" in r.body, r
    csrf = re.search(rb'name="csrf" value="([0-9a-f]{64})"', r.body).group(1).decode()
    r = h.http_request(a + "/v1/kpis?from=2026-01-01&to=2026-01-02", headers=cookie)
    assert r.status == 200 and r.json()["rows"] is not None, r
    # An open redirect is not: next must be a path here.
    r = sign_in(st, reader["key"], next_="//evil.example/")
    assert r.status == 303 and r.header("location") == "/?lang=en", r
    # A cookie changed by hand is no session.
    forged = cookie["Cookie"][:-1] + ("0" if cookie["Cookie"][-1] != "0" else "1")
    assert h.http_request(a + "/", headers={"Cookie": forged}).status == 303

    # The secret is kept in PostgreSQL: a restarted analytics (or another
    # instance) takes the same sessions.
    secret = st.db.scalar("SELECT value FROM public.carebus_settings WHERE name = "
                          "'session_secret'")
    assert re.fullmatch(r"[0-9a-f]{64}", secret), secret
    st.restart("analytics")
    r = h.http_request(a + "/v1/kpis?from=2026-01-01&to=2026-01-02", headers=cookie)
    assert r.status == 200, r

    # Signing out needs the page's CSRF token.
    out = {"Content-Type": "application/x-www-form-urlencoded", **cookie}
    r = h.http_request(a + "/signout", "POST", "csrf=" + "0" * 64, out)
    assert r.status == 403 and r.header("set-cookie") is None, r
    r = h.http_request(a + "/signout", "POST", f"csrf={csrf}&lang=en", out)
    assert r.status == 303 and r.header("location") == "/signin?signed_out=1&lang=en", r
    assert r.header("set-cookie").startswith("carebus_session=; Path=/; Max-Age=0"), r.headers

    # Revoking the key ends its sessions (within the reload's second).
    r = sign_in(st, reader["key"])
    cookie = {"Cookie": cookie_of(r)}
    assert h.http_request(a + "/", headers=cookie).status == 200
    ctl(st, "keys", "revoke", reader["id"])
    h.wait_until("the revoked key's session to end", lambda: h.http_request(
        a + "/v1/kpis?from=2026-01-01&to=2026-01-02", headers=cookie).status == 401,
        h.scaled(10), interval=0.1)
    r = h.http_request(a + "/", headers=cookie)
    assert r.status == 303 and r.header("location").startswith("/signin?next="), r
    assert r.header("set-cookie").startswith("carebus_session=; "), r.headers
    m = metrics_text(st)
    assert 'carebus_analytics_rejected_total{reason="unauthorized"}' in m


def metrics_text(st):
    return st["analytics"].get("/metrics").body.decode()
