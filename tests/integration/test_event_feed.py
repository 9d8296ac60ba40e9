"""GET /v1/events: the event feed, on a running channel-ingest and router.

  a. paging from the beginning hands out every event of every stream once,
     in recorded order within a page, each as event_json writes it, and an
     empty page keeps the cursor
  b. a reader paging (and long-polling) while a writer posts contacts and the
     router emits its own events ends with exactly the log: nothing missed,
     nothing repeated
  c. types: patterns with wildcards select the events; the cursor moves past
     what they skip, so a later page starts after it
  d. long polling: a waiting request answers as soon as an event arrives (by
     the bus, and by the periodic look at eventlog.streams for a stream the
     bus does not carry), and with an empty page at its deadline; waiting
     requests are bounded (503 beyond)
  e. bad parameters are 400 naming the parameter; no key 401; a key
     without the read scope, or limited to channels, 403
"""

import base64
import json
import threading
import time
import uuid
import urllib.parse

import pytest

import carebus_harness as h
from test_ingest_api import new_key


def feed(st, timeout=None, **params):
    q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    wait = int(params.get("wait") or 0)
    r = h.http_request(f"{st.api_url}/v1/events?{q}", headers=st.auth(),
                       timeout=timeout or h.scaled(15) + wait)
    return r


def page(st, **params):
    r = feed(st, **params)
    assert r.status == 200, r
    body = r.json()
    assert set(body) == {"events", "next_cursor", "has_more"}, body
    return body


def read_all(st, cursor=None, limit=100, types=None, max_pages=1000):
    """Every event after cursor: (events, the last cursor)."""
    out = []
    for _ in range(max_pages):
        p = page(st, after=cursor, limit=limit, types=types)
        out += p["events"]
        cursor = p["next_cursor"]
        if not p["events"] and not p["has_more"]:
            return out, cursor
    raise AssertionError("the feed did not end")


def log_positions(st, types=None):
    rows = st.db.query("SELECT stream, seq, type FROM eventlog.events")
    return {(s, q) for s, q, t in rows if types is None or t in types}


def keys(events):
    return [(e["stream"], e["seq"]) for e in events]


def post_contacts(st, first, n, channel="zalo"):
    for i in range(first, first + n):
        r = st.post_message(h.contact(i, i % 7, channel))
        assert r.status in (200, 202), r


def append_raw(st, stream, type_):
    """An event appended by SQL, on a stream no service publishes on the bus:
    an envelope with only its type (field 2) set."""
    payload = b"\x12" + bytes([len(type_)]) + type_.encode()
    rows = json.dumps([{"event_id": str(uuid.uuid4()), "type": type_,
                        "payload": "\\x" + payload.hex()}])
    st.db.query("SELECT * FROM eventlog.append(%s, %s::json)", (stream, rows))


# --- a. paging -------------------------------------------------------------------


def test_paging_hands_out_every_event_once_in_recorded_order(stack):
    st = stack("ingest", "router")
    first = page(st)
    assert first["events"] == [] and first["has_more"] is False
    post_contacts(st, 0, 30)
    st.wait_caught_up(at_least=30)

    events, cursor = read_all(st, limit=7)
    assert len(keys(events)) == len(set(keys(events))), "an event came twice"
    assert set(keys(events)) == log_positions(st)
    assert {e["stream"] for e in events} == {"ingest", "router"}
    # Within a stream, in seq order; each event whole.
    for s in ("ingest", "router"):
        seqs = [e["seq"] for e in events if e["stream"] == s]
        assert seqs == sorted(seqs) and seqs[0] == 1
    contact = next(e for e in events if e["type"] == "contact.received")
    for k in ("event_id", "type", "stream", "seq", "occurred_at", "recorded_at", "customer_id",
              "ticket_id", "body"):
        assert k in contact, k
    assert contact["body"]["channel"] == "zalo"
    assert contact["body"]["customer"]["phone"]

    # One page: in recorded order, then stream, then seq, where events a
    # stream committed together (recorded microseconds apart, not in seq
    # order) keep their seq order: the order of each stream's running
    # maximum of recorded_at.
    p = page(st, limit=1000)
    assert p["has_more"] is False and len(p["events"]) == len(events)
    latest, order = {}, []
    for e in p["events"]:
        latest[e["stream"]] = max(latest.get(e["stream"], ""), e["recorded_at"])
        order.append((latest[e["stream"]], e["stream"], e["seq"]))
    assert order == sorted(order)

    # At the end: an empty page that keeps its cursor.
    again = page(st, after=cursor)
    assert again["events"] == [] and again["next_cursor"] == cursor

    # The cursor is opaque base64url; the same cursor reads the same page.
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    mid = page(st, limit=10)
    assert page(st, after=mid["next_cursor"], limit=5) == page(st, after=mid["next_cursor"],
                                                               limit=5)


# --- b. concurrent writer --------------------------------------------------------


def test_a_reader_paging_while_events_are_appended_misses_and_repeats_nothing(stack):
    st = stack("ingest", "router")
    n = 300
    done = threading.Event()
    errors = []

    def writer():
        try:
            client = h.KeepAliveClient(st.api_url)
            for i in range(n):
                r = st.post_message(h.contact(i, i % 11, ("zalo", "sms", "email")[i % 3]),
                                    client=client)
                if r.status not in (200, 202):
                    errors.append(r)
                    return
            client.close()
        except Exception as e:  # surfaced below
            errors.append(e)
        finally:
            done.set()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    got, cursor, pages = [], None, 0
    deadline = time.monotonic() + h.scaled(120)
    while time.monotonic() < deadline:
        finished = done.is_set()
        p = page(st, after=cursor, limit=17, wait=1)
        pages += 1
        got += p["events"]
        cursor = p["next_cursor"]
        if finished and not p["events"] and not p["has_more"]:
            # The writer is done; wait for the router to finish, then drain.
            st.wait_caught_up(at_least=n)
            rest, cursor = read_all(st, cursor, limit=17)
            got += rest
            break
    t.join(timeout=30)
    assert not errors, errors[:3]
    assert done.is_set(), "the writer did not finish"
    assert pages > 5
    assert len(keys(got)) == len(set(keys(got))), "an event came twice"
    assert set(keys(got)) == log_positions(st), "an event was missed"
    assert sum(1 for e in got if e["type"] == "contact.received") == n


# --- c. types ----------------------------------------------------------------------


def test_types_select_with_wildcards_and_the_cursor_moves_past_what_they_skip(stack):
    st = stack("ingest", "router")
    post_contacts(st, 0, 8)
    st.wait_caught_up(at_least=8)
    types_in_log = {t for (t,) in st.db.query("SELECT DISTINCT type FROM eventlog.events")}
    assert "ticket.opened" in types_in_log and "contact.received" in types_in_log

    tickets, cursor = read_all(st, limit=3, types="ticket.*")
    want = {t for t in types_in_log if t.startswith("ticket.")}
    assert {e["type"] for e in tickets} == want
    assert set(keys(tickets)) == log_positions(st, want)

    both, _ = read_all(st, types="contact.received,*.opened")
    assert {e["type"] for e in both} == {"contact.received", "ticket.opened"}
    assert set(keys(both)) == log_positions(st, {"contact.received", "ticket.opened"})

    everything, _ = read_all(st, types="*")
    assert set(keys(everything)) == log_positions(st)

    # The filtered cursor stands after every event it skipped: new events
    # only, of its types only.
    post_contacts(st, 100, 2)
    st.wait_caught_up(at_least=10)
    later, _ = read_all(st, cursor, types="ticket.*")
    assert later and all(e["type"].startswith("ticket.") for e in later)
    assert not set(keys(later)) & set(keys(tickets))
    contacts_later, _ = read_all(st, cursor)  # the same cursor, all types
    assert {e["type"] for e in contacts_later} >= {"contact.received"}
    assert all(e["seq"] > 8 for e in contacts_later if e["stream"] == "ingest")


# --- d. long polling ---------------------------------------------------------------


def test_a_long_poll_answers_when_an_event_arrives_and_empty_at_its_deadline(stack):
    st = stack("ingest")
    head = page(st)["next_cursor"]

    # Empty at the deadline, with the same cursor.
    t0 = time.monotonic()
    p = page(st, after=head, wait=1)
    took = time.monotonic() - t0
    assert p["events"] == [] and p["next_cursor"] == head
    assert 0.9 <= took < h.scaled(3), took

    # Early, when an event arrives (the bus wakes it).
    result = {}

    def poll():
        t = time.monotonic()
        result["page"] = page(st, after=head, wait=20)
        result["took"] = time.monotonic() - t

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    time.sleep(0.5)
    posted = time.monotonic()
    post_contacts(st, 0, 1)
    th.join(timeout=h.scaled(25))
    assert "page" in result, "the long poll did not answer"
    assert [e["type"] for e in result["page"]["events"]] == ["contact.received"]
    latency = time.monotonic() - posted
    assert result["took"] < 10 and latency < h.scaled(2), (result["took"], latency)

    # Of its types only: other events do not end the wait.
    cursor = result["page"]["next_cursor"]
    res2 = {}

    def poll_sla():
        res2["page"] = page(st, after=cursor, wait=2, types="sla.*")

    th = threading.Thread(target=poll_sla, daemon=True)
    th.start()
    time.sleep(0.3)
    post_contacts(st, 1, 3)
    th.join(timeout=h.scaled(10))
    assert res2["page"]["events"] == []
    # ... and it has moved past them.
    assert page(st, after=res2["page"]["next_cursor"], types="contact.received")["events"] == []


def test_a_stream_the_bus_does_not_carry_wakes_the_poll_by_the_periodic_look(stack):
    st = stack("ingest")
    head = page(st)["next_cursor"]
    result = {}

    def poll():
        result["page"] = page(st, after=head, wait=20)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    time.sleep(0.5)
    appended = time.monotonic()
    append_raw(st, "elsewhere", "sla.warning")
    th.join(timeout=h.scaled(25))
    assert time.monotonic() - appended < h.scaled(3)
    events = result["page"]["events"]
    assert [(e["stream"], e["seq"], e["type"]) for e in events] == [("elsewhere", 1, "sla.warning")]
    # A new stream joins the cursor.
    assert page(st, after=result["page"]["next_cursor"])["events"] == []


def test_waiting_requests_are_bounded(stack):
    st = stack()
    st["ingest"].start(extra_env={"CAREBUS_FEED_MAX_WAITING": "2"})
    head = page(st)["next_cursor"]
    answers = []

    def poll():
        answers.append(feed(st, after=head, wait=3).status)

    ths = [threading.Thread(target=poll, daemon=True) for _ in range(2)]
    for th in ths:
        th.start()

    def both_waiting():
        m = h.http_request(st["ingest"].url + "/metrics", timeout=5).body.decode()
        return "carebus_feed_waiting 2" in m

    h.wait_until("two requests waiting", both_waiting, h.scaled(5))
    r = feed(st, after=head, wait=3)
    assert r.status == 503 and r.header("retry-after"), r
    assert r.json()["error"]["code"] == "unavailable"
    # Without waiting, a page is always served.
    assert feed(st, after=head).status == 200
    for th in ths:
        th.join(timeout=h.scaled(10))
    assert answers == [200, 200]


# --- e. refusals -------------------------------------------------------------------


@pytest.mark.parametrize("params,field", [
    ({"after": "not a cursor"}, "after"),
    ({"after": base64.urlsafe_b64encode(b"v1;ingest=01").decode().rstrip("=")}, "after"),
    ({"after": base64.urlsafe_b64encode(b"v2").decode().rstrip("=")}, "after"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"wait": "61"}, "wait"),
    ({"wait": "-1"}, "wait"),
    ({"types": "tickets.*"}, "types"),
    ({"types": "ticket.*,"}, "types"),
    ({"types": "Ticket.Opened"}, "types"),
])
def test_bad_parameters_are_400_naming_them(stack, params, field):
    st = stack("ingest")
    r = feed(st, **params)
    assert r.status == 400, r
    err = r.json()["error"]
    assert err["field"] == field and err["code"] == "invalid_field", err


def test_the_feed_needs_the_read_scope_and_every_channel(stack):
    st = stack("ingest")
    r = h.http_request(st.api_url + "/v1/events", headers={})
    assert r.status == 401, r
    r = h.http_request(st.api_url + "/v1/events", headers={"Authorization": "Bearer nope"})
    assert r.status == 401, r
    zalo_only = new_key(st, "zalo bridge", channels="zalo")
    r = h.http_request(st.api_url + "/v1/events", headers=st.auth(zalo_only["key"]))
    assert r.status == 403 and r.json()["error"].get("scope") is None, r
    poster = new_key(st, "poster", scopes="ingest")
    r = h.http_request(st.api_url + "/v1/events", headers=st.auth(poster["key"]))
    assert r.status == 403 and r.json()["error"]["scope"] == "read", r
    reader = new_key(st, "reader", scopes="read")
    assert h.http_request(st.api_url + "/v1/events", headers=st.auth(reader["key"])).status == 200
