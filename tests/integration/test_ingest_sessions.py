"""Issue 14, signing in through the public API: POST /v1/sessions and
DELETE /v1/sessions/current (services/channel-ingest/sessions.c).

  a. the right password (by id, or e-mail in any case) gives a key bound to
     the agent, with read and agent (and supervisor for a supervisor), an
     expires_at; the key acts as the agent, and only as the agent
  b. a wrong password, an unknown agent, an inactive one: the same 401
  c. GET /v1/sessions/current tells the key's session (its agent as it
     stands, never the key); DELETE /v1/sessions/current revokes the key
     (refused at once after the answer, the GET too); a key that is not a
     session's is 404 to both
  d. an expired key is refused
  e. more checks at once than the bound: 503 with Retry-After
  f. a login that failed too often in a row is refused (429, Retry-After)
     before its password is checked, by id or e-mail alike, and unknown
     logins alike; its time over, the right password signs in and clears
     the count
"""

import concurrent.futures

import carebus_harness as h
from desk_support import PASSWORD, desk_stack, save_agent
from test_ingest_api import rejected
from test_router_acceptance import post


def sign_in(st, agent, password=PASSWORD, status=201):
    r = h.http_request(st.api_url + "/v1/sessions", "POST",
                       {"agent": agent, "password": password}, timeout=30)
    assert r.status == status, (agent, r)
    return r


def call(st, key, method, path, body=None):
    return h.http_request(st.api_url + path, method, body, {"Authorization": f"Bearer {key}"})


def test_sessions(stack):
    st = desk_stack(stack)
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    save_agent(st, "minh", "Trần Minh", ["technical"])
    save_agent(st, "sup", "Phạm Giám Sát", ["complaints"], role="supervisor")

    # a. the right password
    s = sign_in(st, "lan").json()
    assert s["key"].startswith("cb_") and s["id"] and s["expires_at"].endswith("Z"), s
    assert s["scopes"] == ["read", "agent"], s
    assert s["agent"]["id"] == "lan" and s["agent"]["name"] == "Nguyễn Thị Lan", s
    assert "password" not in s["agent"] and "password_hash" not in s["agent"], s
    row = st.db.query("SELECT agent_id, scopes, expires_at > now() + interval '11 hours'"
                      " FROM ingest.api_keys WHERE id = %s", (s["id"],))
    assert row == [("lan", ["read", "agent"], True)], row
    key = s["key"]
    assert call(st, key, "GET", "/v1/agents/lan").status == 200
    presence = {"presence": "away", "capacity": 5, "teams": ["complaints"]}
    assert call(st, key, "PUT", "/v1/agents/lan/presence", presence).status in (200, 202)
    assert call(st, key, "PUT", "/v1/agents/minh/presence", presence).status == 403
    assert call(st, key, "POST", "/v1/agents", {"id": "x", "name": "x", "capacity": 1}).status == 403
    by_email = sign_in(st, "LAN@Example.VN").json()
    assert by_email["agent"]["id"] == "lan" and by_email["key"] != key
    sup = sign_in(st, "sup").json()
    assert sup["scopes"] == ["read", "agent", "supervisor"], sup

    # b. one 401 for every wrong credential
    wrong = sign_in(st, "lan", "not the password", status=401)
    unknown = sign_in(st, "nobody", "not the password", status=401)
    assert wrong.json() == unknown.json(), (wrong, unknown)
    assert "lan" not in wrong.body.decode() and "nobody" not in unknown.body.decode()
    post(st, "/v1/agents/minh", {"active": False}, method="PATCH", status=(200,))
    assert sign_in(st, "minh", status=401).json() == wrong.json()
    r = h.http_request(st.api_url + "/v1/sessions", "POST", {"agent": "lan"})
    assert r.status == 400, r
    r = h.http_request(st.api_url + "/v1/sessions", "POST", "agent=lan",
                       {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415, r

    # c. who the key is; signing out: refused at once, and only a session's key signs out
    cur = call(st, key, "GET", "/v1/sessions/current")
    assert cur.status == 200 and cur.header("Cache-Control") == "no-store", cur
    cur = cur.json()
    assert cur["id"] == s["id"] and cur["expires_at"] == s["expires_at"], (cur, s)
    assert cur["agent"]["id"] == "lan" and cur["agent"]["teams"] == ["complaints"], cur
    assert cur["scopes"] == ["read", "agent"] and "key" not in cur, cur
    assert call(st, sup["key"], "GET", "/v1/sessions/current").json()["agent"]["role"] == \
        "supervisor"
    r = call(st, key, "DELETE", "/v1/sessions/current")
    assert r.status == 204, r
    assert call(st, key, "GET", "/v1/agents/lan").status == 401
    assert call(st, key, "DELETE", "/v1/sessions/current").status == 401
    assert call(st, key, "GET", "/v1/sessions/current").status == 401
    r = h.http_request(st.api_url + "/v1/sessions/current", "GET", headers=st.auth())
    assert r.status == 404, r
    assert st.db.scalar("SELECT revoked_at IS NOT NULL FROM ingest.api_keys WHERE id = %s",
                        (s["id"],))
    assert call(st, by_email["key"], "GET", "/v1/agents/lan").status == 200
    r = h.http_request(st.api_url + "/v1/sessions/current", "DELETE", headers=st.auth())
    assert r.status == 404, r
    assert h.http_request(st.api_url + "/v1/sessions/current", "DELETE").status == 401

    # d. expired
    st.db.query("UPDATE ingest.api_keys SET expires_at = now() - interval '1 second'"
                " WHERE id = %s", (by_email["id"],))
    h.wait_until("the expired key to be refused", lambda: call(
        st, by_email["key"], "GET", "/v1/agents/lan").status == 401, h.scaled(10))


def test_sign_ins_at_once_are_bounded(stack):
    # The default cost: each check takes a while on the one hashing thread.
    st = desk_stack(stack, ingest_env={"CAREBUS_PASSWORD_LOG_N": "15"})
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: h.http_request(
            st.api_url + "/v1/sessions", "POST", {"agent": "lan", "password": PASSWORD},
            timeout=60), range(12)))
    statuses = sorted(a.status for a in answers)
    assert set(statuses) <= {201, 503} and 201 in statuses and 503 in statuses, statuses
    assert all(a.header("Retry-After") for a in answers if a.status == 503)


def test_failed_sign_ins_lock_the_login_out(stack):
    st = desk_stack(stack, ingest_env={"CAREBUS_SIGNIN_FAILURES": "3",
                                       "CAREBUS_SIGNIN_LOCKOUT_S": "600"})
    save_agent(st, "lan", "Nguyễn Thị Lan", ["complaints"])
    save_agent(st, "minh", "Trần Minh", ["technical"])
    locked_before = rejected(st, "signin_locked")
    for login in ("lan", "LAN@example.vn", "lan"):
        sign_in(st, login, "not the password", status=401)
    locked = sign_in(st, "lan", status=429)
    assert 590 <= int(locked.header("Retry-After")) <= 600, locked
    assert locked.json()["error"]["code"] == "rate_limited", locked.json()
    sign_in(st, "lan@example.vn", status=429)
    # Another agent, and an unknown login, each count on their own.
    sign_in(st, "minh")
    for _ in range(3):
        sign_in(st, "nobody", "not the password", status=401)
    unknown = sign_in(st, "Nobody", "not the password", status=429)
    assert "nobody" not in unknown.body.decode().lower(), unknown
    assert rejected(st, "signin_locked") - locked_before == 3
    # Attempts at once cannot pass the bound between them: each is counted
    # before its password is checked.
    save_agent(st, "hoa", "Lê Hoa", ["complaints"])
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: h.http_request(
            st.api_url + "/v1/sessions", "POST", {"agent": "hoa", "password": "wrong"},
            timeout=60), range(8)))
    statuses = sorted(a.status for a in answers)
    assert statuses.count(401) <= 3 and set(statuses) <= {401, 429, 503}, statuses
    # The time over (moved back here rather than waited for), the right
    # password signs in and clears the count.
    st.db.query("UPDATE ingest.signin_failures SET last_at = last_at - interval '601 seconds'"
                " WHERE login = 'agent:lan'")
    sign_in(st, "lan")
    assert st.db.scalar("SELECT count(*) FROM ingest.signin_failures"
                        " WHERE login = 'agent:lan'") == 0
    sign_in(st, "lan", "not the password", status=401)
    sign_in(st, "lan")
