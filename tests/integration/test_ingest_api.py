"""Issue 3 (channel-ingest) acceptance for the integrator API, end to end:
the real binaries on a real PostgreSQL, real HTTP (and HTTPS) from here.

  a. the operations endpoints (replies, status, transfer, presence, customer
     profile, calls) and protobuf messages become the documented events,
     with their ticket or customer on the envelope; repeats answer 200 with
     the first body and store nothing
  b. every refusal (400 naming the field, 401, 403, 404, 413, 415, invalid
     UTF-8, too deep) stores nothing and is counted in /metrics by reason
  c. the per-key rate limit: 429 with Retry-After, per key
  d. 50 racing requests with one Idempotency-Key: one event, 50 identical
     bodies
  e. carebusctl keys create / list / revoke, channel-limited keys
  f. customer look-up by every handle kind (the screen pop)
  g. TLS with a self-signed certificate made here

Every wait is bounded (h.wait_until); no test asserts a duration.
"""

import hashlib
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import carebus_harness as h

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.tls import test_certificate as tls_certificate  # noqa: E402

SAMPLE = {
    "channel": "zalo",
    "external_id": "m-1",
    "customer": {"name": "Lan", "phone": "0901234567", "handle": "zalo-uid-1"},
    "text": "Tôi cần hỗ trợ",
    "occurred_at": "2026-11-23T09:00:00+07:00",
}
JSON = {"Content-Type": "application/json"}


def ingest_count(st):
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'ingest'")


def call(st, method, path, body=None, key=None, headers=None, auth=True):
    """A request to ingest; a dict or list body is sent as JSON."""
    hdrs = dict(st.auth(key)) if auth else {}
    if isinstance(body, (dict, list)):
        body = json.dumps(body, ensure_ascii=False)
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    return h.http_request(st.api_url + path, method, body, hdrs, timeout=15)


def metrics(st):
    """{series: value} of ingest's /metrics."""
    r = st["ingest"].get("/metrics")
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def rejected(st, reason):
    return metrics(st).get(f'carebus_ingest_rejected_total{{reason="{reason}"}}', 0)


def wait_routed(st, event_id):
    """The event once the router placed it (ticket_id and customer_id set)."""
    def routed():
        r = st.get_api(f"/v1/events/{event_id}")
        assert r.status == 200, r
        ev = r.json()
        return ev if ev.get("ticket_id") and ev.get("customer_id") else None

    return h.wait_until(f"event {event_id} routed", routed, h.scaled(10), interval=0.02,
                        on_timeout=lambda: "\n" + st.log_summary())


def stored(st, event_id, pb2):
    """(type, idem_scope, idem_key, ticket_id, customer_id, envelope) of an event."""
    rows = st.db.query("SELECT type, idem_scope, idem_key, ticket_id::text, customer_id::text, "
                       "payload FROM eventlog.events WHERE event_id = %s", (event_id,))
    assert len(rows) == 1, f"event {event_id}: {len(rows)} rows"
    t, scope, key, ticket, customer, payload = rows[0]
    return t, scope, key, ticket, customer, pb2.Envelope.FromString(bytes(payload))


def ctl(st, *args, check=True):
    """Runs carebusctl against the stack's database; returns the process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBUS_")}
    env["CAREBUS_PG"] = st.cluster.conninfo(st.dbname)
    p = subprocess.run([str(h.BIN_DIR / "carebusctl"), *args], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=h.scaled(60))
    if check and p.returncode != 0:
        raise h.HarnessError(f"carebusctl {' '.join(args)} exited {p.returncode}:\n"
                             f"{p.stderr.decode(errors='replace')}")
    return p


def new_key(st, name, channels=None, scopes=None, agent=None):
    args = ["keys", "create", "--name", name, "--json"]
    if channels:
        args += ["--channels", channels]
    if scopes:
        args += ["--scopes", scopes]
    if agent:
        args += ["--agent", agent]
    out = json.loads(ctl(st, *args).stdout)
    # ingest reloads its key table every second: wait until it knows the key
    # (a key that may not read is known by its 403).
    known = 404 if "read" in out["scopes"] else 403
    h.wait_until(f"ingest to accept key {name}",
                 lambda: call(st, "GET", f"/v1/events/{uuid.uuid4()}", key=out["key"]).status
                 == known, h.scaled(10), interval=0.1)
    return out


# --- a. the operations endpoints --------------------------------------------------------


def test_operations_become_events_for_the_router_and_repeat_idempotently(stack, pb2):
    st = stack("ingest", "router")
    r = call(st, "POST", "/v1/messages", SAMPLE)
    assert r.status == 202, r
    ev = wait_routed(st, r.json()["event_id"])
    ticket, customer = ev["ticket_id"], ev["customer_id"]
    base = ingest_count(st)

    P = pb2.Envelope
    cases = [
        # (method, path, body, type, envelope ticket, envelope customer, check(payload))
        ("POST", f"/v1/tickets/{ticket}/replies",
         {"agent_id": "agent-7", "text": "Em đã kiểm tra", "channel": "zalo", "extra": [1]},
         "agent.replied", ticket, None,
         lambda e: (e.agent_replied.agent_id, e.agent_replied.channel, e.agent_replied.internal_note)
         == ("agent-7", pb2.CHANNEL_ZALO, False)),
        ("POST", f"/v1/tickets/{ticket}/replies",
         {"agent_id": "agent-7", "text": "khách gọi 2 lần", "internal_note": True},
         "agent.replied", ticket, None, lambda e: e.agent_replied.internal_note),
        ("POST", f"/v1/tickets/{ticket}/status", {"status": "pending", "reason": "waiting"},
         "ticket.status_changed", ticket, None,
         lambda e: (e.ticket_status_changed.status, e.ticket_status_changed.reason)
         == (pb2.TICKET_STATUS_PENDING, "waiting")),
        ("POST", f"/v1/tickets/{ticket}/transfer", {"team": "complaints", "reason": "angry"},
         "ticket.transfer_requested", ticket, None,
         lambda e: e.ticket_transfer_requested.to_team == "complaints"),
        ("PUT", "/v1/agents/agent-7/presence",
         {"presence": "online", "capacity": 4, "teams": ["support", "complaints"], "name": "Mai",
          "leads": ["complaints"]},
         "agent.presence", None, None,
         lambda e: (e.agent_presence.agent_id, e.agent_presence.presence, e.agent_presence.capacity,
                    list(e.agent_presence.teams), list(e.agent_presence.leads))
         == ("agent-7", pb2.PRESENCE_ONLINE, 4, ["support", "complaints"], ["complaints"])),
        ("PUT", f"/v1/customers/{customer}",
         {"segment": "vip", "status": "active", "attributes": {"tier": "gold"}},
         "customer.profile_updated", None, customer,
         lambda e: (e.customer_profile_updated.segment, dict(e.customer_profile_updated.attributes))
         == (pb2.SEGMENT_VIP, {"tier": "gold"})),
        ("POST", "/v1/calls",
         {"caller": "0901 234 567", "agent_id": "agent-7", "started_at": "2026-11-23T09:00:00+07:00",
          "answered_at": "2026-11-23T09:00:09+07:00", "ended_at": "2026-11-23T09:04:00+07:00",
          "outcome": "answered", "recording_url": "https://pbx/rec/1.mp3"},
         "call.ended", None, None,
         lambda e: (e.call_ended.caller, e.call_ended.outcome, e.call_ended.ended_at.seconds,
                    e.occurred_at.seconds)
         == ("0901 234 567", pb2.CALL_OUTCOME_ANSWERED, 1795399440, 1795399440)),
    ]
    for i, (method, path, body, type_, tk, cu, check) in enumerate(cases):
        key = {"Idempotency-Key": f"op-{i}"}
        first = call(st, method, path, body, headers=key)
        assert first.status == 202, (path, first)
        got = first.json()
        t, scope, ikey, ticket_col, customer_col, env = stored(st, got["event_id"], pb2)
        assert t == type_ and env.type == type_, (path, t)
        assert (ticket_col, customer_col) == (tk, cu), (path, ticket_col, customer_col)
        assert env.ticket_id == (tk or "") and env.customer_id == (cu or ""), path
        assert (scope, ikey) == (f"api:bootstrap:{method} {path}", f"op-{i}"), (scope, ikey)
        assert check(env), (path, env)
        # The same key again: 200 and the very same body, nothing stored.
        again = call(st, method, path, body, headers=key)
        assert again.status == 200 and again.body == first.body, (path, again, first)
    assert ingest_count(st) == base + len(cases)

    # A call's own id makes it idempotent without a header, across keys.
    call_body = dict(cases[-1][2], external_id="pbx-1")
    a = call(st, "POST", "/v1/calls", call_body)
    b = call(st, "POST", "/v1/calls", call_body, headers={"Idempotency-Key": "other"})
    assert (a.status, b.status) == (202, 200) and a.body == b.body, (a, b)
    assert stored(st, a.json()["event_id"], pb2)[1:3] == ("call", "pbx-1")

    # Unknown tickets and customers: 404, nothing stored.
    n = ingest_count(st)
    for method, path, body in [
        ("POST", f"/v1/tickets/{uuid.uuid4()}/replies", {"agent_id": "a", "text": "t"}),
        ("POST", f"/v1/tickets/{uuid.uuid4()}/status", {"status": "solved"}),
        ("POST", f"/v1/tickets/{uuid.uuid4()}/transfer", {"team": "sales"}),
        ("POST", "/v1/tickets/not-a-uuid/status", {"status": "solved"}),
        ("PUT", f"/v1/customers/{uuid.uuid4()}", {"segment": "vip"}),
        ("PUT", f"/v1/customers/{ticket}", {"segment": "vip"}),  # a ticket is no customer
        # an id is taken as the API writes it: the services key by its text
        ("POST", f"/v1/tickets/{ticket.upper()}/replies", {"agent_id": "a", "text": "t"}),
    ]:
        r = call(st, method, path, body)
        assert r.status == 404 and r.json()["error"]["code"] == "not_found", (path, r)
        if path.endswith(f"{ticket.upper()}/replies"):
            assert "lowercase" in r.json()["error"]["message"], r
    assert ingest_count(st) == n


def test_protobuf_messages(stack, pb2):
    st = stack("ingest")
    env = pb2.Envelope()
    env.event_id = str(uuid.uuid4())  # the client's: ignored
    env.seq = 99
    env.occurred_at.FromJsonString("2026-11-23T02:00:00Z")
    c = env.contact_received
    c.channel = pb2.CHANNEL_WHATSAPP
    c.external_id = "wamid.1"
    c.customer.name = "Daniel"
    c.customer.handle = "84903334455"
    c.text = "urgent: cannot log in"
    a = c.attachments.add()
    a.name, a.content_type, a.size = "s.png", "image/png", 1234
    body = env.SerializeToString()
    hdr = {"Content-Type": "application/x-protobuf"}
    first = call(st, "POST", "/v1/messages", body, headers=hdr)
    assert first.status == 202, first
    got = first.json()
    assert got["event_id"] != env.event_id
    t, scope, key, _, _, stored_env = stored(st, got["event_id"], pb2)
    assert (t, scope, key) == ("contact.received", "msg:whatsapp", "wamid.1")
    assert stored_env.event_id == got["event_id"] and stored_env.stream == "ingest"
    assert stored_env.occurred_at.ToJsonString() == "2026-11-23T02:00:00Z"
    assert stored_env.contact_received.text == "urgent: cannot log in"
    assert stored_env.contact_received.attachments[0].size == 1234
    again = call(st, "POST", "/v1/messages", body, headers=hdr)
    assert again.status == 200 and again.body == first.body, again

    # Without external_id: the envelope's idempotency_key, or the header (which wins).
    c.external_id = ""
    env.idempotency_key = "pb-key-1"
    r1 = call(st, "POST", "/v1/messages", env.SerializeToString(), headers=hdr)
    r2 = call(st, "POST", "/v1/messages", env.SerializeToString(), headers=hdr)
    assert (r1.status, r2.status) == (202, 200) and r1.body == r2.body, (r1, r2)
    assert stored(st, r1.json()["event_id"], pb2)[2] == "pb-key-1"
    r3 = call(st, "POST", "/v1/messages", env.SerializeToString(),
              headers=dict(hdr, **{"Idempotency-Key": "hdr-key"}))
    assert r3.status == 202 and stored(st, r3.json()["event_id"], pb2)[2] == "hdr-key", r3

    # Refusals, each naming what is wrong; nothing stored.
    n = ingest_count(st)
    other = pb2.Envelope()
    other.agent_replied.agent_id = "a"
    nobody = pb2.Envelope()
    nobody.contact_received.channel = pb2.CHANNEL_ZALO
    nobody.contact_received.external_id = "x-1"
    for name, raw, field in [
        ("garbage", b"\xff\xff\xff\xff", None),
        ("another body", other.SerializeToString(), "contact_received"),
        ("no customer", nobody.SerializeToString(), "customer"),
    ]:
        r = call(st, "POST", "/v1/messages", raw, headers=hdr)
        assert r.status == 400, (name, r)
        if field:
            assert r.json()["error"]["field"] == field, (name, r)
    assert ingest_count(st) == n


# --- b. refusals -------------------------------------------------------------------------


def test_every_refusal_stores_nothing_and_is_counted(stack):
    st = stack()
    st["ingest"].start(extra_env={"CAREBUS_MAX_BODY": "4096"})
    zalo = new_key(st, "zalo-only", "zalo")
    tk = str(uuid.uuid4())
    cust = str(uuid.uuid4())
    call_ok = {"caller": "0901234567", "started_at": "2026-11-23T09:00:00Z",
               "ended_at": "2026-11-23T09:01:00Z", "outcome": "missed"}
    before = metrics(st)

    # (what, method, path, body, extra headers, key, status, error code, field)
    cases = [
        ("missing field", "POST", "/v1/messages", {"customer": {"phone": "0901234567"}}, {}, None,
         400, "missing_field", "channel"),
        ("wrong type", "POST", "/v1/messages", dict(SAMPLE, text=5), {}, None, 400,
         "invalid_field", "text"),
        ("bad attachment", "POST", "/v1/messages",
         dict(SAMPLE, attachments=[{"size": "big"}]), {}, None, 400, "invalid_field",
         "attachments[0].size"),
        ("reply without agent", "POST", f"/v1/tickets/{tk}/replies", {"text": "x"}, {}, None, 400,
         "missing_field", "agent_id"),
        ("status unknown", "POST", f"/v1/tickets/{tk}/status", {"status": "reopened"}, {}, None,
         400, "invalid_field", "status"),
        ("transfer team type", "POST", f"/v1/tickets/{tk}/transfer", {"team": ["a"]}, {}, None, 400,
         "invalid_field", "team"),
        ("capacity", "PUT", "/v1/agents/a1/presence",
         {"presence": "online", "capacity": "five", "teams": []}, {}, None, 400, "invalid_field",
         "capacity"),
        ("segment", "PUT", f"/v1/customers/{cust}", {"segment": "gold"}, {}, None, 400,
         "invalid_field", "segment"),
        ("call order", "POST", "/v1/calls", dict(call_ok, ended_at="2026-11-23T08:00:00Z"), {},
         None, 400, "invalid_field", "ended_at"),
        ("idempotency key", "POST", "/v1/messages", dict(SAMPLE, external_id=None),
         {"Idempotency-Key": "x" * 300}, None, 400, "invalid_field", "Idempotency-Key"),
        ("invalid JSON", "POST", "/v1/messages", b'{"channel": "zalo", ', JSON, None, 400,
         "invalid_json", None),
        ("invalid UTF-8", "POST", "/v1/messages",
         b'{"channel":"zalo","customer":{"phone":"0901234567"},"text":"\xff\xfe"}', JSON, None,
         400, "invalid_utf8", None),
        ("too deep", "POST", "/v1/messages", b"[" * 33 + b"]" * 33, JSON, None, 400, "too_deep",
         None),
        ("too deep op", "PUT", "/v1/agents/a1/presence",
         b'{"presence":"online","capacity":1,"teams":[],"x":' + b"[" * 40 + b"]" * 40 + b"}",
         JSON, None, 400, "too_deep", None),
        ("no key", "POST", "/v1/messages", SAMPLE, {}, "", 401, "unauthorized", None),
        ("wrong key", "PUT", "/v1/agents/a1/presence", {}, {}, "nope", 401, "unauthorized", None),
        ("wrong key read", "GET", f"/v1/tickets/{tk}", None, {}, "nope", 401, "unauthorized", None),
        ("other channel", "POST", "/v1/messages", dict(SAMPLE, channel="facebook"), {}, zalo["key"],
         403, "forbidden", "channel"),
        ("no channel", "POST", f"/v1/tickets/{tk}/status", {"status": "solved"}, {}, zalo["key"],
         403, "forbidden", None),
        ("call is phone", "POST", "/v1/calls", call_ok, {}, zalo["key"], 403, "forbidden",
         "channel"),
        ("unknown ticket", "POST", f"/v1/tickets/{tk}/replies", {"agent_id": "a", "text": "t"}, {},
         None, 404, "not_found", None),
        ("unknown customer", "PUT", f"/v1/customers/{cust}", {"name": "X"}, {}, None, 404,
         "not_found", None),
        ("too large", "POST", "/v1/messages", dict(SAMPLE, text="x" * 5000), {}, None, 413,
         "body_too_large", None),
        ("content type", "POST", "/v1/messages", json.dumps(SAMPLE),
         {"Content-Type": "text/plain"}, None, 415, "unsupported_media_type", None),
        ("content type op", "POST", f"/v1/tickets/{tk}/status", '{"status":"solved"}',
         {"Content-Type": "application/x-www-form-urlencoded"}, None, 415,
         "unsupported_media_type", None),
        ("protobuf op", "POST", "/v1/calls", b"\x0a\x00", {"Content-Type": "application/x-protobuf"},
         None, 415, "unsupported_media_type", None),
    ]
    problems = []
    for what, method, path, body, hdrs, key, status, code, field in cases:
        if isinstance(body, dict) and body.get("external_id", "") is None:
            body = {k: v for k, v in body.items() if k != "external_id"}
        auth = key != ""
        r = call(st, method, path, body, key=key or None, headers=hdrs, auth=auth)
        try:
            assert r.status == status, f"status {r.status}, want {status}"
            err = r.json()["error"]
            assert err["code"] == code, f"code {err['code']!r}, want {code!r}"
            assert err["message"], "no message"
            if field is not None:
                assert err.get("field") == field, f"field {err.get('field')!r}, want {field!r}"
            if status == 401:
                assert r.header("www-authenticate", ) == 'Bearer realm="carebus"'
        except (AssertionError, KeyError, h.HarnessError) as e:
            problems.append(f"{what}: {e}: {r}")
    assert not problems, "\n".join(problems)
    assert ingest_count(st) == 0, "a refused request stored an event"

    # Each refusal is counted under its reason.
    after = metrics(st)
    want = {}
    for c in cases:
        reason = {"missing_field": "missing_field", "invalid_field": "invalid_field"}.get(c[7], c[7])
        want[reason] = want.get(reason, 0) + 1
    for reason, n in want.items():
        series = f'carebus_ingest_rejected_total{{reason="{reason}"}}'
        got = after.get(series, 0) - before.get(series, 0)
        assert got >= n, f"{series}: +{got}, want at least +{n}"
    # Routing refusals are counted too.
    r = call(st, "DELETE", "/v1/messages")
    assert r.status == 405 and "POST" in (r.header("allow") or ""), r
    r = call(st, "GET", "/v1/nowhere")
    assert r.status == 404, r
    m = metrics(st)
    assert m.get('carebus_ingest_rejected_total{reason="method_not_allowed"}', 0) >= 1
    assert m.get('carebus_ingest_rejected_total{reason="no_route"}', 0) >= 1

    # Still healthy: the count above can move.
    r = call(st, "POST", "/v1/messages", SAMPLE)
    assert r.status == 202, r
    assert ingest_count(st) == 1


# --- c. rate limit -----------------------------------------------------------------------


def test_rate_limit_is_per_key_with_retry_after(stack):
    st = stack()
    st["ingest"].start(extra_env={"CAREBUS_RATE_LIMIT_RPS": "1", "CAREBUS_RATE_LIMIT_BURST": "3"})
    # new_key's probe takes the first of each key's 3 tokens.
    a, b = new_key(st, "a"), new_key(st, "b")
    statuses = []
    for i in range(6):
        r = call(st, "POST", "/v1/messages", dict(SAMPLE, external_id=f"rl-{i}"), key=a["key"])
        statuses.append(r.status)
        if r.status == 429:
            limited = r
    assert statuses[:2] == [202, 202] and 429 in statuses, statuses
    assert int(limited.header("retry-after")) >= 1, limited.headers
    assert limited.json()["error"]["code"] == "rate_limited"
    assert ingest_count(st) == statuses.count(202), "a 429 stored an event"
    assert rejected(st, "rate_limited") >= statuses.count(429)

    # Another key has its own bucket.
    r = call(st, "POST", "/v1/messages", dict(SAMPLE, external_id="rl-b"), key=b["key"])
    assert r.status == 202, r
    # The bootstrap key (the operator's: compose, tests, bench) is not limited.
    for i in range(20):
        r = call(st, "GET", f"/v1/events/{uuid.uuid4()}")
        assert r.status == 404, r
    # And the limited key passes again once its bucket refilled.
    h.wait_until("a token for key a", lambda: call(
        st, "POST", "/v1/messages", dict(SAMPLE, external_id="rl-later"), key=a["key"]).status
        == 202, h.scaled(10), interval=0.3)


# --- d. racing duplicates ----------------------------------------------------------------


def race(st, n, method, path, body, headers):
    """n requests at once (a barrier, one connection each); their answers."""
    barrier = threading.Barrier(n)
    answers = [None] * n
    conns = [http.client.HTTPConnection("127.0.0.1", st["ingest"].port, timeout=30)
             for _ in range(n)]
    for c in conns:
        c.connect()
    data = json.dumps(body).encode()
    hdrs = dict(st.auth(), **JSON, **headers)

    def one(i):
        barrier.wait(timeout=30)
        conns[i].request(method, path, body=data, headers=hdrs)
        r = conns[i].getresponse()
        answers[i] = (r.status, r.read())

    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=h.scaled(60))
    for c in conns:
        c.close()
    assert all(a is not None for a in answers), "a racing request got no answer"
    return answers


def test_fifty_racing_requests_with_one_idempotency_key_make_one_event(stack):
    st = stack("ingest")
    msg = {k: v for k, v in SAMPLE.items() if k != "external_id"}
    for round_no, (method, path, body) in enumerate([
        ("POST", "/v1/messages", msg),
        ("PUT", "/v1/agents/agent-9/presence", {"presence": "away", "capacity": 2, "teams": ["s"]}),
    ]):
        key = f"race-{round_no}-{uuid.uuid4()}"
        answers = race(st, 50, method, path, body, {"Idempotency-Key": key})
        statuses = sorted(a[0] for a in answers)
        bodies = {a[1] for a in answers}
        assert statuses == [200] * 49 + [202], statuses
        assert len(bodies) == 1, bodies
        event_id = json.loads(bodies.pop())["event_id"]
        rows = st.db.query("SELECT event_id::text FROM eventlog.events WHERE idem_key = %s",
                           (key,))
        assert rows == [(event_id,)], rows
    assert ingest_count(st) == 2


# --- e. carebusctl -------------------------------------------------------------------------


def test_carebusctl_creates_lists_and_revokes_keys(stack):
    st = stack("ingest")
    made = new_key(st, "crm connector")
    key = made["key"]
    assert re.fullmatch(r"cb_[A-Za-z0-9_-]{43}", key), key
    assert made["channels"] is None
    # Stored hashed: the table holds the SHA-256, never the key.
    rows = st.db.query("SELECT encode(key_hash, 'hex'), name, channels FROM ingest.api_keys "
                       "WHERE id = %s", (made["id"],))
    assert rows == [(hashlib.sha256(key.encode()).hexdigest(), "crm connector", None)], rows
    dump = json.dumps(st.db.query("SELECT * FROM ingest.api_keys"), default=str)
    assert key not in dump

    r = call(st, "POST", "/v1/messages", SAMPLE, key=key)
    assert r.status == 202, r

    limited = new_key(st, "zalo+email", "zalo,email")
    # A set: shown in the schema's order, as scopes are (keyspec.h).
    assert limited["channels"] == ["email", "zalo"]
    r = call(st, "POST", "/v1/messages", dict(SAMPLE, external_id="z-2"), key=limited["key"])
    assert r.status == 202, r
    r = call(st, "POST", "/v1/messages", dict(SAMPLE, channel="facebook", external_id="f-1"),
             key=limited["key"])
    assert r.status == 403 and r.json()["error"]["field"] == "channel", r
    r = call(st, "PUT", "/v1/agents/a/presence",
             {"presence": "online", "capacity": 1, "teams": []}, key=limited["key"])
    assert r.status == 403, r

    listed = json.loads(ctl(st, "keys", "list", "--json").stdout)
    by_id = {k["id"]: k for k in listed}
    assert by_id[made["id"]]["name"] == "crm connector" and by_id[made["id"]]["revoked_at"] is None
    assert by_id[limited["id"]]["channels"] == ["email", "zalo"]
    assert key not in json.dumps(listed)
    text = ctl(st, "keys", "list").stdout.decode()
    assert made["id"] in text and "crm connector" in text and key not in text

    # Revoked: refused within a bounded wait (the table reloads every second).
    p = ctl(st, "keys", "revoke", made["id"])
    assert b"revoked" in p.stdout, p.stdout
    h.wait_until("the revoked key to be refused", lambda: call(
        st, "GET", f"/v1/events/{uuid.uuid4()}", key=key).status == 401, h.scaled(10),
        interval=0.1)
    r = call(st, "POST", "/v1/messages", dict(SAMPLE, external_id="after-revoke"), key=key)
    assert r.status == 401, r
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE idem_key = 'after-revoke'") == 0
    # The other key and the bootstrap key still work.
    assert call(st, "GET", f"/v1/events/{uuid.uuid4()}", key=limited["key"]).status == 404
    assert call(st, "GET", f"/v1/events/{uuid.uuid4()}").status == 404
    listed = {k["id"]: k for k in json.loads(ctl(st, "keys", "list", "--json").stdout)}
    assert listed[made["id"]]["revoked_at"]

    # Revoking twice is fine; an unknown id or bad usage is not.
    assert b"already revoked" in ctl(st, "keys", "revoke", made["id"]).stdout
    assert ctl(st, "keys", "revoke", str(uuid.uuid4()), check=False).returncode == 1
    assert ctl(st, "keys", "revoke", "not-an-id", check=False).returncode == 2
    assert ctl(st, "keys", "create", check=False).returncode == 2
    assert ctl(st, "keys", "create", "--name", "x", "--channels", "pigeon",
               check=False).returncode == 2
    assert ctl(st, "frobnicate", "now", check=False).returncode == 2


def test_carebusctl_migrates_a_fresh_database(stack):
    st = stack(fresh=True)  # nothing started: carebusctl alone must make the schema
    made = json.loads(ctl(st, "keys", "create", "--name", "first", "--json").stdout)
    assert st.db.scalar("SELECT count(*) FROM ingest.api_keys WHERE id = %s", (made["id"],)) == 1
    st["ingest"].start()
    # Ready means the key table is loaded: the new key works at once.
    r = call(st, "POST", "/v1/messages", SAMPLE, key=made["key"])
    assert r.status == 202, r


def canonical(customer):
    """A customer's JSON with its lists in a fixed order."""
    c = dict(customer)
    c["identities"] = sorted((i["kind"], i["value"]) for i in c["identities"])
    c["tickets"] = sorted(json.dumps(t, sort_keys=True) for t in c["tickets"])
    return c


# --- f. the screen pop -----------------------------------------------------------------------


def test_customer_look_up_by_every_handle_kind(stack):
    st = stack("ingest", "router")
    cust = {"name": "Nguyễn Thị Lan", "phone": "0901234567"}
    posts = [
        dict(SAMPLE, external_id="s-1", customer=dict(cust, handle="zalo-uid-1")),
        {"channel": "email", "external_id": "s-2", "text": "Bảo hành",
         "customer": dict(cust, email="Lan.Nguyen@Example.vn")},
        {"channel": "facebook", "external_id": "s-3", "text": "hi",
         "customer": dict(cust, handle="psid-77")},
    ]
    for p in posts:
        r = call(st, "POST", "/v1/messages", p)
        assert r.status == 202, r
        ev = wait_routed(st, r.json()["event_id"])
    customer_id = ev["customer_id"]

    r = call(st, "GET", f"/v1/customers/{customer_id}")
    assert r.status == 200, r
    c = r.json()
    assert set(c) >= {"id", "name", "segment", "status", "identities", "tickets",
                      "open_ticket_id"}, c
    assert c["id"] == customer_id and c["name"] == "Nguyễn Thị Lan"
    kinds = {(i["kind"], i["value"]) for i in c["identities"]}
    assert kinds >= {("phone", "+84901234567"), ("email", "lan.nguyen@example.vn"),
                     ("zalo", "zalo-uid-1"), ("facebook", "psid-77")}, kinds
    assert c["open_ticket_id"] and c["open_ticket_id"] in {t["id"] for t in c["tickets"]}
    for t in c["tickets"]:
        assert set(t) >= {"id", "status", "channel"}, t

    # Every handle kind, in another spelling, finds the same customer.
    for query in ["phone=%2B84%20901%20234%20567", "phone=0901234567", "phone=84901234567",
                  "email=LAN.NGUYEN%40example.VN", "channel=zalo&handle=zalo-uid-1",
                  "channel=facebook&handle=psid-77", "channel=phone&handle=0901.234.567",
                  "channel=whatsapp&handle=84901234567", "channel=email&handle=lan.nguyen@example.vn"]:
        r = call(st, "GET", f"/v1/customers?{query}")
        assert r.status == 200, (query, r)
        assert canonical(r.json()) == canonical(c), (query, r.json())

    for query in ["phone=0909999999", "email=nobody%40example.vn", "channel=zalo&handle=zalo-uid-2"]:
        r = call(st, "GET", f"/v1/customers?{query}")
        assert r.status == 404 and r.json()["error"]["code"] == "not_found", (query, r)
        assert "0909999999" not in r.body.decode(), "a 404 echoes personal data"
    for query, field in [("", "phone"), ("phone=abc", "phone"), ("email=nope", "email"),
                         ("channel=zalo", "handle"), ("handle=x", "channel"),
                         ("channel=pigeon&handle=x", "channel"),
                         ("phone=0901234567&email=a%40b.vn", "phone")]:
        r = call(st, "GET", f"/v1/customers?{query}")
        assert r.status == 400 and r.json()["error"]["field"] == field, (query, r)
    for path in [f"/v1/customers/{uuid.uuid4()}", "/v1/customers/not-a-uuid"]:
        r = call(st, "GET", path)
        assert r.status == 404, (path, r)


# --- g. TLS ---------------------------------------------------------------------------------


def test_tls_with_a_self_signed_certificate(stack):
    st = stack()
    cert, key = tls_certificate()
    svc = st["ingest"]
    svc.start(wait_ready=False, extra_env={"CAREBUS_TLS_CERT": str(cert),
                                           "CAREBUS_TLS_KEY": str(key)})
    ctx = ssl.create_default_context(cafile=str(cert))

    def https(path, method="GET", body=None, conn=None):
        own = conn is None
        c = conn or http.client.HTTPSConnection("127.0.0.1", svc.port, context=ctx, timeout=10)
        try:
            hdrs = dict(st.auth(), **JSON) if body is not None else st.auth()
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers=hdrs)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            if own:
                c.close()

    def ready():
        if not svc.running():
            raise h.HarnessError("ingest exited\n" + svc.log_tail())
        try:
            return https("/readyz")[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    h.wait_until("ingest ready over HTTPS", ready, h.scaled(30), interval=0.1,
                 on_timeout=lambda: svc.log_tail())
    # Several requests on one kept-alive TLS connection.
    conn = http.client.HTTPSConnection("127.0.0.1", svc.port, context=ctx, timeout=10)
    ids = set()
    for i in range(5):
        status, body = https("/v1/messages", "POST", dict(SAMPLE, external_id=f"tls-{i}"), conn)
        assert status == 202, (status, body)
        ids.add(json.loads(body)["event_id"])
    status, body = https("/v1/messages", "POST", dict(SAMPLE, external_id="tls-0"), conn)
    assert status == 200 and json.loads(body)["event_id"] in ids
    conn.close()
    assert ingest_count(st) == 5
    # Plain HTTP gets no answer from an HTTPS server.
    try:
        r = h.http_request(svc.url + "/healthz", timeout=5)
        assert r.status != 200, r
    except (OSError, http.client.HTTPException):
        pass
    # A certificate that does not parse stops the start-up with an error.
    bad = st.log_dir / "bad.pem"
    bad.write_text("not a certificate\n")
    svc.stop()
    svc.start(wait_ready=False, extra_env={"CAREBUS_TLS_CERT": str(bad),
                                           "CAREBUS_TLS_KEY": str(key)})
    h.wait_until("ingest to refuse a bad certificate", lambda: not svc.running(), h.scaled(20))
    assert svc.proc.returncode == 1
    svc.runs[-1]["end"] = "expected-exit"  # not a crash: asked to fail
    svc.runs[-1]["checked"] = True
