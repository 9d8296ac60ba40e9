"""Issue 2 (foundation) acceptance, end to end: the real binaries on a real
PostgreSQL cluster, real ZeroMQ between them, real HTTP from here.

  a. every service: /healthz, /readyz, /metrics; JSON-lines logs; SIGTERM -> 0
  b. one contact -> 202 -> routed to an open ticket of the default team
  c. idempotency: sequential and 20 racing duplicates make one event
  d. bad input -> 400 with the field / 401, and nothing stored
  e. 1,000 contacts while the router is killed with kill -9 (six times) and
     restarted: every accepted contact in the log once, on one ticket once,
     no derived row or event twice
  f. PostgreSQL stopped: 503 + Retry-After, never 202; accepts again by
     itself once PostgreSQL is back; nothing accepted lost
  g. catch-up: a router started after 5,000 contacts, and one rebuilt from an
     empty state, derive exactly what the live router derived

Deadlines are generous and scaled for sanitizer builds; no test asserts a
duration. Every loop is bounded in count and in time.
"""

import email.utils
import json
import random
import re
import threading
import time
import uuid
from collections import Counter, defaultdict

import pytest

import carebus_harness as h

SAMPLE = {
    "channel": "zalo",
    "external_id": "m-1",
    "customer": {"name": "Lan", "phone": "0901234567", "handle": "zalo-uid-1"},
    "text": "Tôi cần hỗ trợ",
    "occurred_at": "2026-11-23T09:00:00+07:00",
}

METRIC_LINE = re.compile(
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\s+"
    r"([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?Inf|NaN)(\s+-?\d+)?$")


def is_uuid(s):
    try:
        return str(uuid.UUID(s)) == s.lower()
    except (TypeError, ValueError, AttributeError):
        return False


def ingest_count(st):
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'ingest'")


def wait_event_routed(st, event_id, timeout=5.0):
    """GET /v1/events/{id} until its ticket_id is set; returns the event."""
    def routed():
        r = st.get_api(f"/v1/events/{event_id}")
        assert r.status == 200, r
        ev = r.json()
        return ev if ev.get("ticket_id") else None

    return h.wait_until(f"event {event_id} to be routed", routed, h.scaled(timeout), interval=0.02,
                        on_timeout=lambda: "\n" + st.log_summary())


# --- a. health --------------------------------------------------------------------


def test_every_service_answers_health_readiness_metrics_and_stops_cleanly(stack):
    # All six start at once on an empty database: their migrations race and
    # must serialise on the advisory lock.
    st = stack(*h.ALL_SERVICES, fresh=True)
    for name in h.ALL_SERVICES:
        s = st[name]
        r = s.get("/healthz")
        assert r.status == 200, (name, r)
        r = s.get("/readyz")
        assert r.status == 200, (name, r)
        r = s.get("/metrics")
        assert r.status == 200, (name, r)
        assert (r.header("content-type") or "").startswith("text/plain"), (name, r.headers)
        text = r.body.decode("utf-8")
        samples = 0
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith(("# HELP ", "# TYPE ")):
                assert re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* \S", line), (name, line)
                continue
            if line.startswith("#"):
                continue
            assert METRIC_LINE.match(line), f"{name}: not Prometheus text: {line!r}"
            samples += 1
        assert samples > 0, f"{name}: /metrics has no samples"
        r = s.get("/no/such/path")
        assert r.status == 404, (name, r)

    migrations = sorted(p.name for p in (h.REPO / "deploy" / "migrations").glob("*.sql"))
    applied = st.db.scalar("SELECT count(*) FROM public.carebus_migrations")
    assert applied == len(migrations), (applied, migrations)
    for schema in ("eventlog", "ingest", "router"):
        assert st.db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)) == 1

    for name in h.ALL_SERVICES:
        assert st.stop(name) == 0
        lines = [l for l in st[name].all_logs().splitlines() if l.strip()]
        assert lines, f"{name} logged nothing"
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                pytest.fail(f"{name}: log line is not JSON: {line!r}")
            assert isinstance(obj, dict) and "level" in obj and "msg" in obj, (name, line)


# --- b. one contact end to end ---------------------------------------------------------


def test_contact_becomes_an_assigned_ticket_with_its_message(stack):
    st = stack("ingest", "router")
    r = st.post_message(SAMPLE)
    assert r.status == 202, r
    ans = r.json()
    event_id = ans["event_id"]
    assert is_uuid(event_id), ans
    assert ans["seq"] == 1, ans  # a fresh database: the first event of the stream

    ev = wait_event_routed(st, event_id)
    assert ev["event_id"] == event_id
    assert ev["type"] == "contact.received"
    assert ev["stream"] == "ingest"
    assert ev["seq"] == 1
    ticket_id = ev["ticket_id"]
    assert is_uuid(ticket_id), ev

    r = st.get_api(f"/v1/tickets/{ticket_id}")
    assert r.status == 200, r
    t = r.json()
    assert t["id"] == ticket_id
    assert is_uuid(t["customer_id"]), t
    assert t["status"] == "open"
    assert t["team"] == "support", t
    assert t["channel"] == "zalo"
    assert t["created_at"], t
    for key in ("category", "priority", "assignee"):
        assert key in t, (key, t)
    assert len(t["messages"]) == 1, t
    m = t["messages"][0]
    assert m["event_id"] == event_id
    assert m["channel"] == "zalo"
    assert m["direction"] == "in"
    assert m["text"] == "Tôi cần hỗ trợ"
    assert m["at"], m

    # The router's derived state and events agree with the API.
    assert st.db.query("SELECT ticket_id::text, customer_id::text FROM router.messages "
                       "WHERE event_id = %s", (event_id,)) == [(ticket_id, t["customer_id"])]
    types = Counter(r[0] for r in st.db.query(
        "SELECT type FROM eventlog.events WHERE stream = 'router' AND ticket_id = %s", (ticket_id,)))
    assert types["ticket.opened"] == 1, types
    assert types["ticket.assigned"] >= 1, types

    # The same customer on another channel (found by phone) joins the open ticket.
    second = {
        "channel": "email",
        "external_id": "<m-2@mail.example.vn>",
        "customer": {"name": "Nguyễn Thị Lan", "phone": "0901234567", "email": "lan@example.vn"},
        "subject": "Hóa đơn",
        "text": "Tôi gửi thêm hóa đơn",
        "occurred_at": "2026-11-23T09:05:00+07:00",
    }
    r = st.post_message(second)
    assert r.status == 202, r
    second_id = r.json()["event_id"]
    assert second_id != event_id
    ev2 = wait_event_routed(st, second_id)
    assert ev2["ticket_id"] == ticket_id, "the customer's open ticket must be reused"
    t = st.get_api(f"/v1/tickets/{ticket_id}").json()
    assert [(m["event_id"], m["channel"], m["direction"]) for m in t["messages"]] == [
        (event_id, "zalo", "in"), (second_id, "email", "in")]
    assert t["messages"][1]["text"] == "Tôi gửi thêm hóa đơn"
    assert st.db.scalar("SELECT count(*) FROM router.customers") == 1
    assert st.db.scalar("SELECT count(*) FROM router.tickets") == 1

    for path in (f"/v1/events/{uuid.uuid4()}", f"/v1/tickets/{uuid.uuid4()}"):
        r = st.get_api(path)
        assert r.status == 404, (path, r)


# --- c. idempotency ------------------------------------------------------------------------


def test_same_external_id_on_same_channel_is_one_event_also_when_racing(stack):
    st = stack("ingest")
    r1 = st.post_message(SAMPLE)
    assert r1.status == 202, r1
    # Not routed (no router runs here): the event is there, its ticket_id null.
    r = st.get_api(f"/v1/events/{r1.json()['event_id']}")
    assert r.status == 200, r
    assert r.json()["type"] == "contact.received"
    assert r.json()["ticket_id"] is None, r.json()

    r2 = st.post_message(SAMPLE)
    assert r2.status == 200, r2
    assert r2.json()["event_id"] == r1.json()["event_id"]
    assert r2.json()["seq"] == r1.json()["seq"]
    assert ingest_count(st) == 1

    # The same external_id on another channel is another contact.
    other = dict(SAMPLE, channel="facebook", customer={"name": "Lan", "handle": "psid-1"})
    r3 = st.post_message(other)
    assert r3.status == 202, r3
    assert r3.json()["event_id"] != r1.json()["event_id"]
    assert ingest_count(st) == 2

    # Racing duplicates: 20 clients released at once, three rounds.
    expected = 2
    for round_no in range(3):
        msg = dict(SAMPLE, external_id=f"race-{round_no}", text=f"Cuộc đua {round_no}")
        n = 20
        barrier = threading.Barrier(n)
        answers = [None] * n

        def post(i):
            try:
                barrier.wait(timeout=h.scaled(20))
                answers[i] = st.post_message(msg, timeout=h.scaled(30))
            except Exception as e:  # reported below
                answers[i] = e

        ts = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=h.scaled(60))
        assert not any(t.is_alive() for t in ts), "racing posts did not finish"
        bad = [a for a in answers if not isinstance(a, h.Response) or a.status not in (200, 202)]
        assert not bad, bad
        statuses = Counter(a.status for a in answers)
        assert statuses[202] == 1 and statuses[200] == n - 1, statuses
        ids = {a.json()["event_id"] for a in answers}
        assert len(ids) == 1, ids
        expected += 1
        assert ingest_count(st) == expected
        rows = st.db.query("SELECT event_id::text FROM eventlog.events WHERE stream = 'ingest' "
                           "AND event_id = %s", (ids.pop(),))
        assert len(rows) == 1
    # No idempotency key twice anywhere in the log.
    assert st.db.query("SELECT idem_scope, idem_key, count(*) FROM eventlog.events "
                       "WHERE idem_key IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1") == []


# --- d. bad input --------------------------------------------------------------------------


def test_bad_input_gets_a_clear_error_and_stores_nothing(stack):
    st = stack("ingest")
    assert ingest_count(st) == 0

    def without(d, key):
        return {k: v for k, v in d.items() if k != key}

    # (name, raw body, expected field: None = not checked, else a prefix)
    cases = [
        ("invalid JSON", '{"channel": "zalo", "external_id": ', None),
        ("not an object", "[1, 2, 3]", None),
        ("missing channel", without(SAMPLE, "channel"), "channel"),
        ("unknown channel", dict(SAMPLE, channel="pigeon"), "channel"),
        ("channel of the wrong type", dict(SAMPLE, channel=5), "channel"),
        ("missing customer", without(SAMPLE, "customer"), "customer"),
        ("customer without phone, email or handle", dict(SAMPLE, customer={"name": "Lan"}),
         "customer"),
        ("text of the wrong type", dict(SAMPLE, text=5), "text"),
        ("occurred_at not a time", dict(SAMPLE, occurred_at="hôm qua"), "occurred_at"),
        ("occurred_at out of range", dict(SAMPLE, occurred_at="2026-13-45T25:61:00+07:00"),
         "occurred_at"),
    ]
    problems = []
    for i, (name, body, field) in enumerate(cases):
        if isinstance(body, dict):
            body = dict(body, external_id=f"bad-{i}") if "external_id" in body else body
        r = h.http_request(st.api_url + "/v1/messages", "POST", body,
                           dict(st.auth(), **{"Content-Type": "application/json"}))
        if r.status != 400:
            problems.append(f"{name}: expected 400, got {r}")
            continue
        try:
            err = r.json()["error"]
            assert err.get("code") and err.get("message"), err
            if field is not None:
                assert (err.get("field") or "").startswith(field), f"field {err.get('field')!r}"
        except (AssertionError, KeyError, TypeError, h.HarnessError) as e:
            problems.append(f"{name}: bad error body {r.body!r}: {e}")

    for name, headers in [
        ("no Authorization", {}),
        ("wrong key", {"Authorization": "Bearer not-the-key"}),
        ("empty bearer", {"Authorization": "Bearer "}),
        ("basic scheme", {"Authorization": "Basic dGVzdDp0ZXN0"}),
        ("key without scheme", {"Authorization": st.api_key}),
    ]:
        r = h.http_request(st.api_url + "/v1/messages", "POST", dict(SAMPLE, external_id="auth"),
                           dict(headers, **{"Content-Type": "application/json"}))
        if r.status != 401:
            problems.append(f"{name}: expected 401, got {r}")

    assert not problems, "\n".join(problems)
    assert ingest_count(st) == 0, "a refused request stored an event"
    assert st.db.scalar("SELECT count(*) FROM eventlog.events") == 0

    # The service is still healthy and the count above can move.
    r = st.post_message(dict(SAMPLE, external_id="auth"))
    assert r.status == 202, r
    assert ingest_count(st) == 1


# --- e. kill -9 of the router under load ------------------------------------------------------


def decode_router_events(st, pb2):
    rows = st.db.query("SELECT seq, event_id::text, type, ticket_id::text, payload "
                       "FROM eventlog.events WHERE stream = 'router' ORDER BY seq")
    out = []
    for seq, event_id, type_, ticket_id, payload in rows:
        env = pb2.Envelope.FromString(bytes(payload))
        assert env.event_id == event_id and env.type == type_, (seq, env.event_id, event_id, type_)
        out.append((seq, event_id, type_, ticket_id, env))
    return out


def check_log_and_router_state(st, pb2, accepted, customers):
    """accepted: {(channel, external_id): event_id} of every 2xx answer."""
    ids = sorted(set(accepted.values()))
    assert len(ids) == len(accepted), "two messages answered with one event id"

    # The log: each accepted contact once, by id and by its idempotency key.
    rows = st.db.query("SELECT event_id::text, idem_scope, idem_key, payload FROM eventlog.events "
                       "WHERE stream = 'ingest'")
    by_id = Counter(r[0] for r in rows)
    assert all(by_id[i] == 1 for i in ids), [i for i in ids if by_id[i] != 1][:10]
    assert len(rows) == len(ids), f"{len(rows)} ingest events for {len(ids)} accepted contacts"
    keys = Counter((r[1], r[2]) for r in rows)
    assert all(k[1] is not None for k in keys), "an ingest event without idempotency key"
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1][:10]
    decoded = {}
    for event_id, _, _, payload in rows:
        env = pb2.Envelope.FromString(bytes(payload))
        assert env.WhichOneof("body") == "contact_received"
        c = env.contact_received
        decoded[(pb2.Channel.Name(c.channel)[len("CHANNEL_"):].lower(), c.external_id)] = event_id
    assert decoded == accepted, "the log's contacts differ from the accepted answers"
    seqs = sorted(r[0] for r in st.db.query("SELECT seq FROM eventlog.events WHERE stream = 'ingest'"))
    assert seqs == list(range(1, len(ids) + 1)), "ingest stream seqs are not 1..N"

    # The router: each contact on exactly one ticket, once.
    msgs = st.db.query("SELECT m.event_id::text, m.ticket_id::text, m.customer_id::text, "
                       "t.customer_id::text FROM router.messages m "
                       "JOIN router.tickets t ON t.id = m.ticket_id WHERE m.stream = 'ingest'")
    msg_count = Counter(m[0] for m in msgs)
    missing = [i for i in ids if msg_count[i] != 1]
    assert not missing, f"{len(missing)} accepted contacts not on exactly one ticket: {missing[:5]}"
    assert len(msgs) == len(ids)
    assert all(m[2] == m[3] for m in msgs), "a message's customer differs from its ticket's"
    ticket_of = {m[0]: m[1] for m in msgs}

    n_customers = st.db.scalar("SELECT count(*) FROM router.customers")
    assert n_customers == customers, f"{n_customers} customers for {customers} distinct phones"
    tickets = st.db.query("SELECT id::text, customer_id::text, status FROM router.tickets")
    per_customer = Counter(t[1] for t in tickets if t[2] != "closed")
    assert max(per_customer.values()) == 1, "a customer has two open tickets"
    assert len(tickets) == customers, f"{len(tickets)} tickets for {customers} customers"

    # The router's stream: gap-free, and no derived event twice.
    events = decode_router_events(st, pb2)
    assert [e[0] for e in events] == list(range(1, len(events) + 1)), "router seqs have gaps"
    assert st.last_seq("router") == len(events)
    assert len({e[1] for e in events}) == len(events)
    opened = Counter(e[3] for e in events if e[2] == "ticket.opened")
    assert max(opened.values()) == 1, [t for t, n in opened.items() if n > 1]
    assert set(opened) == {t[0] for t in tickets}, "ticket.opened events and tickets differ"
    assigned = Counter(e[3] for e in events if e[2] == "ticket.assigned")
    assert set(assigned) == {t[0] for t in tickets}, "a ticket without ticket.assigned"
    added = defaultdict(list)
    for _, _, type_, ticket_id, env in events:
        if type_ == "ticket.contact_added":
            added[env.ticket_contact_added.contact_event_id].append(ticket_id)
    dup_added = {k: v for k, v in added.items() if len(v) != 1}
    assert not dup_added, f"ticket.contact_added not exactly once: {list(dup_added.items())[:5]}"
    assert set(added) == set(ids), "ticket.contact_added missing for some contacts"
    assert all(added[i][0] == ticket_of[i] for i in ids), "contact_added names another ticket"
    triples = Counter((e[2], e[3], e[4].causation_id) for e in events if e[4].causation_id)
    assert max(triples.values(), default=1) == 1, [t for t, n in triples.items() if n > 1][:5]
    return ticket_of


def test_kill9_router_while_posting_1000_loses_and_duplicates_nothing(stack, pb2):
    st = stack("ingest", "router")
    n_msgs, n_customers = 1000, 100
    rnd = random.Random(20261123)
    messages = [h.contact(i, i % n_customers, rnd.choice(h.CHANNELS)) for i in range(n_msgs)]
    # Killed six times: mid-stream, right after a restart (during its
    # catch-up), and late; each time restarted at once while posting goes on.
    kill_at = {150, 300, 450, 500, 700, 850}
    kills = []
    kill_lock = threading.Lock()

    def on_answer(n):
        if n in kill_at:
            with kill_lock:
                old = st["router"].pid
                st.kill9("router")
                st["router"].start(wait_ready=False)
                kills.append((n, old, st["router"].pid))

    answers, stats = h.post_all(st, messages, threads=6, on_answer=on_answer)
    assert len(kills) == len(kill_at), kills
    multi = {k: v for k, v in stats["ids"].items() if len(v) != 1}
    assert not multi, f"one message answered with several event ids: {list(multi.items())[:5]}"
    accepted = {k: v[1]["event_id"] for k, v in answers.items()}
    assert len(accepted) == n_msgs
    assert Counter(v[0] for v in answers.values())[202] >= n_msgs - stats["network_errors"], stats

    st["router"].wait_ready()
    st.wait_caught_up(at_least=n_msgs, timeout=h.scaled(120))
    ticket_of = check_log_and_router_state(st, pb2, accepted, n_customers)

    # The API agrees with the tables (a sample).
    for event_id in rnd.sample(sorted(ticket_of), 10):
        ev = st.get_api(f"/v1/events/{event_id}").json()
        assert ev["ticket_id"] == ticket_of[event_id], ev


def test_ingest_sigterm_and_kill9_under_load_lose_no_accepted_contact(stack, pb2):
    """Not in the issue's list but in DESIGN.md: channel-ingest itself stopped
    (SIGTERM: in-flight requests answered, exit 0) and killed (kill -9) while
    integrators post and retry; every contact ends up in the log exactly once,
    and no 2xx was ever given for an event the log does not hold."""
    st = stack("ingest", "router")
    n_msgs, n_customers = 600, 60
    rnd = random.Random(600)
    messages = [h.contact(i, i % n_customers, rnd.choice(h.CHANNELS)) for i in range(n_msgs)]
    actions = {150: "sigterm", 350: "kill9"}
    done = []
    lock = threading.Lock()

    def on_answer(n):
        action = actions.get(n)
        if action is None:
            return
        with lock:
            if action == "sigterm":
                assert st.stop("ingest") == 0
            else:
                st.kill9("ingest")
            st["ingest"].start(wait_ready=False)
            done.append(action)

    answers, stats = h.post_all(st, messages, threads=6, on_answer=on_answer)
    assert done == ["sigterm", "kill9"], done
    st["ingest"].wait_ready()
    multi = {k: v for k, v in stats["ids"].items() if len(v) != 1}
    assert not multi, f"one message answered with several event ids: {list(multi.items())[:5]}"
    accepted = {k: v[1]["event_id"] for k, v in answers.items()}
    assert len(accepted) == n_msgs
    st.wait_caught_up(at_least=n_msgs, timeout=h.scaled(120))
    check_log_and_router_state(st, pb2, accepted, n_customers)


# --- f. PostgreSQL down ----------------------------------------------------------------------


def retry_after_ok(value):
    if value is None or not value.strip():
        return False
    v = value.strip()
    if v.isdigit():
        return int(v) >= 0
    return email.utils.parsedate_tz(v) is not None


def test_postgres_down_answers_503_never_202_and_recovers_by_itself(private_cluster, stack):
    # private_cluster comes first: it is torn down after the stack's services.
    st = stack("ingest", "router", cluster=private_cluster)
    ingest = st["ingest"]
    lock = threading.Lock()
    accepted = {}  # (channel, external_id) -> event_id, every 2xx answer
    refused = []   # messages answered 503
    others = []    # anything else: a failure
    timeline = []  # (sent, answered, status) of every request, monotonic clock
    counter = iter(range(10**6))

    def post(client=None):
        with lock:
            i = next(counter)
        msg = h.contact(i, i % 7, h.CHANNELS[i % len(h.CHANNELS)])
        sent = time.monotonic()
        if client is not None:
            r = client.request("/v1/messages", "POST", msg, st.auth())
        else:
            r = st.post_message(msg, timeout=h.scaled(30))
        with lock:
            timeline.append((sent, time.monotonic(), r.status))
            if r.status in (200, 202):
                accepted[(msg["channel"], msg["external_id"])] = r.json()["event_id"]
            elif r.status == 503:
                refused.append(msg)
                if not retry_after_ok(r.header("Retry-After")):
                    others.append(("503 without a valid Retry-After", r.headers))
            else:
                others.append((msg["external_id"], r))
        return msg, r

    for _ in range(3):
        _, r = post()
        assert r.status == 202, r

    # A background integrator posts through the whole outage: requests in
    # flight when PostgreSQL stops may be accepted only if they were committed
    # (checked at the end against the log); nothing else but 503 is allowed.
    stop_bg = threading.Event()
    bg_errors = []

    def background():
        client = h.KeepAliveClient(st.api_url, timeout=h.scaled(30))
        try:
            for _ in range(100000):
                if stop_bg.is_set():
                    return
                post(client)
                time.sleep(0.005)
        except Exception as e:  # reported below
            bg_errors.append(e)
        finally:
            client.close()

    bg = threading.Thread(target=background, daemon=True)
    bg.start()
    h.wait_until("background posts accepted", lambda: len(accepted) >= 10, h.scaled(15))

    private_cluster.stop()
    t_down = time.monotonic()
    pid = ingest.pid
    lies = []
    t_end = time.monotonic() + 1.0  # keep it down a while: reconnect attempts fail
    for k in range(500):
        if k >= 8 and time.monotonic() > t_end:
            break
        _, r = post()
        if r.status != 503:
            lies.append(r)
        time.sleep(0.005)
    assert not lies, f"answers other than 503 while PostgreSQL is down: {lies}"
    h.wait_until("/readyz 503 while PostgreSQL is down",
                 lambda: ingest.get("/readyz").status == 503, h.scaled(15))
    assert ingest.get("/healthz").status == 200, "liveness must not depend on PostgreSQL"
    assert ingest.running() and ingest.pid == pid
    t_up = time.monotonic()
    with lock:
        down = [t for t in timeline if t[0] > t_down and t[1] < t_up]
        assert len(down) >= 8
        assert all(t[2] == 503 for t in down), \
            f"answered while PostgreSQL was down: {Counter(t[2] for t in down)}"

    private_cluster.start()

    def accepted_again():
        _, r = post()
        return r.status in (200, 202)

    h.wait_until("ingest to accept again after PostgreSQL restarted", accepted_again,
                 h.scaled(30), interval=0.2, on_timeout=lambda: "\n" + ingest.log_tail())
    h.wait_until("/readyz 200 again", lambda: ingest.get("/readyz").status == 200, h.scaled(15))
    stop_bg.set()
    bg.join(timeout=h.scaled(60))
    assert not bg.is_alive(), "background poster did not stop"
    assert not bg_errors, bg_errors
    assert not others, f"unexpected answers: {others[:5]}"
    assert ingest.running() and ingest.pid == pid, "ingest was restarted"

    # The integrator retries what was refused: every contact ends up accepted.
    for msg in list(refused):
        r = st.post_message(msg, timeout=h.scaled(30))
        assert r.status in (200, 202), (msg["external_id"], r)
        accepted[(msg["channel"], msg["external_id"])] = r.json()["event_id"]

    ids = set(accepted.values())
    assert len(ids) == len(accepted)
    in_log = {r[0] for r in st.db.query("SELECT event_id::text FROM eventlog.events "
                                        "WHERE stream = 'ingest'")}
    assert ids <= in_log, f"accepted but not in the log: {sorted(ids - in_log)}"
    assert len(in_log) == len(ids), "the log holds contacts nobody was told were accepted"

    # The router reconnected by itself too and routed everything.
    st["router"].wait_ready(timeout=h.scaled(30))
    st.wait_caught_up(at_least=len(ids), timeout=h.scaled(60))
    routed = {r[0] for r in st.db.query("SELECT event_id::text FROM router.messages")}
    assert ids <= routed


# --- g. catch-up and rebuild -------------------------------------------------------------------

SNAPSHOT_QUERIES = {
    "customers": "SELECT * FROM router.customers ORDER BY id",
    "identities": "SELECT * FROM router.identities ORDER BY kind, value",
    "tickets": "SELECT * FROM router.tickets ORDER BY id",
    "messages": "SELECT * FROM router.messages ORDER BY event_id",
    "router events": "SELECT event_id, type, seq, ticket_id, customer_id FROM eventlog.events "
                     "WHERE stream = 'router' ORDER BY seq",
    "offsets": "SELECT stream, seq FROM eventlog.offsets WHERE consumer = 'router' ORDER BY stream",
}


def snapshot(st):
    return {name: st.db.query(sql) for name, sql in SNAPSHOT_QUERIES.items()}


def diff_snapshots(a, b):
    out = []
    for name in SNAPSHOT_QUERIES:
        x, y = a[name], b[name]
        if x == y:
            continue
        first = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        out.append(f"{name}: {len(x)} vs {len(y)} rows; first difference at row {first}:\n"
                   f"  before:  {x[first] if first < len(x) else None}\n"
                   f"  rebuilt: {y[first] if first < len(y) else None}")
    return "\n".join(out)


def test_router_started_after_5000_events_and_a_rebuild_equal_the_live_state(stack, pb2):
    st = stack("ingest", "router")
    rnd = random.Random(5000)
    n_customers = 500

    def batch(start, count):
        return [h.contact(i, rnd.randrange(n_customers), rnd.choice(h.CHANNELS))
                for i in range(start, start + count)]

    # The live router takes a first batch as it comes (bus fast path).
    live = batch(0, 500)
    answers, _ = h.post_all(st, live, threads=6)
    st.wait_caught_up(at_least=len(live), timeout=h.scaled(60))

    # 5,000 contacts while the router is down; it starts afterwards and
    # catches up from the log.
    assert st.stop("router") == 0
    late = batch(len(live), 5000)
    more, _ = h.post_all(st, late, threads=6)
    answers.update(more)
    total = len(live) + len(late)
    assert len(answers) == total
    assert st.router_offset() == len(live), "the router moved while stopped"
    st["router"].start()
    st.wait_caught_up(at_least=total, timeout=h.scaled(240))

    before = snapshot(st)
    router_last = st.last_seq("router")
    used = {int(m["customer"]["phone"][2:]) for m in live + late}
    assert len(before["customers"]) == len(used)
    assert len(before["messages"]) == total
    assert router_last == len(before["router events"]) > 0
    assert before["offsets"] and dict(before["offsets"])["ingest"] == total

    # Rebuild from nothing: wipe the router's state and offsets, replay the log.
    assert st.stop("router") == 0
    st.db.query("TRUNCATE router.messages, router.tickets, router.identities, router.customers "
                "CASCADE")
    st.db.query("DELETE FROM eventlog.offsets WHERE consumer = 'router'")
    assert st.db.scalar("SELECT count(*) FROM router.messages") == 0
    st["router"].start()
    st.wait_caught_up(at_least=total, timeout=h.scaled(240))

    after = snapshot(st)
    if before != after:
        pytest.fail("the rebuild differs from the live state:\n" + diff_snapshots(before, after))
    assert st.last_seq("router") == router_last, "the replay appended router events again"
    accepted = {k: v[1]["event_id"] for k, v in answers.items()}
    check_log_and_router_state(st, pb2, accepted, len(used))
