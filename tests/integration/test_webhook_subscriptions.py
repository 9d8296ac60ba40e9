"""/v1/webhook-subscriptions on a running channel-ingest, with courier.

  a. POST makes a subscription.saved event with a new id and a secret
     ("whsec_" + base64 of 32 random bytes) answered 201 with the whole
     subscription; GET (one and all) shows the same subscription with the
     secret's last 4 characters only; neither GET nor the event feed ever
     shows the secret; a repeat with the same Idempotency-Key answers the
     first subscription again (200), appending nothing
  b. every mistake is a 400 naming its field, and appends nothing; the
     routes need the admin scope and a key for every channel (403)
  c. PATCH changes the fields it names (the event's update_mask), answers
     the whole subscription, rotates the secret on request (shown once);
     DELETE answers 204, then the subscription is gone (404); unknown and
     malformed ids are 404
  d. reads are consistent for the writer: a GET right after a write waits
     until courier has applied it, and answers 503 with Retry-After when
     courier does not catch up in time

courier applies the events to courier.subscriptions (its table, read here);
the tests of d. stop it (the events wait in the log) and start it again.
"""

import base64
import threading
import time
import uuid

import pytest

import carebus_harness as h
from test_ingest_api import new_key

PATH = "/v1/webhook-subscriptions"

GOOD = {
    "url": "https://integrator.example/hooks/carebus",
    "event_types": ["ticket.*", "message.outbound", "sla.breach"],
    "channels": ["chat", "store"],
    "description": "CRM bridge",
}

MEMBERS = {"id", "url", "event_types", "channels", "description", "active", "status",
           "secret_hint", "paused_at", "paused_reason", "failing_since", "consecutive_failures",
           "last_success_at", "last_failure_at", "last_error", "delivered", "failed",
           "created_at", "updated_at"}

class Courier:
    """courier of a stack, paused by stopping it and resumed by starting it."""

    def __init__(self, st):
        self.st = st

    def pause(self):
        self.st.stop("courier")

    def resume(self):
        self.st["courier"].start()


@pytest.fixture
def courier_stack(stack):
    st = stack("ingest", "courier")
    return st, Courier(st)


def call(st, method, path, body=None, key=None, headers=None, timeout=None):
    hdrs = dict(st.auth(key))
    hdrs.update(headers or {})
    return h.http_request(st.api_url + path, method, body, hdrs, timeout=timeout or h.scaled(15))


def saved_events(st, pb2):
    rows = st.db.query("SELECT payload FROM eventlog.events WHERE type LIKE 'subscription.%%'"
                       " ORDER BY seq")
    return [pb2.Envelope.FromString(bytes(p)) for (p,) in rows]


def saved_events_of(st, sub_id):
    """How many subscription events the log holds for sub_id (by payload)."""
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type LIKE 'subscription.%%'"
                        " AND position(%s::bytea IN payload) > 0", (sub_id.encode(),))


def create(st, body=None, **kw):
    r = call(st, "POST", PATH, body or GOOD, **kw)
    assert r.status == 201, r
    return r.json()


# --- a. create and read -------------------------------------------------------------


def test_a_subscription_is_made_with_a_secret_shown_once(courier_stack, pb2):
    st, _ = courier_stack
    made = create(st)
    assert set(made) == MEMBERS | {"secret"}, set(made) ^ (MEMBERS | {"secret"})
    uuid.UUID(made["id"])
    assert made["url"] == GOOD["url"] and made["event_types"] == GOOD["event_types"]
    assert made["channels"] == GOOD["channels"] and made["description"] == "CRM bridge"
    assert made["active"] is True and made["status"] == "active"
    assert made["delivered"] == 0 and made["failed"] == 0 and made["paused_at"] is None
    secret = made["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 32
    assert made["secret_hint"] == secret[-4:]
    assert made["created_at"] == made["updated_at"] and made["created_at"].endswith("Z")

    # The event: whole (no mask), with the secret courier signs with.
    (ev,) = saved_events(st, pb2)
    assert ev.type == "subscription.saved" and ev.stream == "ingest"
    m = ev.subscription_saved
    assert m.subscription_id == made["id"] and m.secret == secret and not m.update_mask
    assert list(m.event_types) == GOOD["event_types"] and m.active and m.actor == "bootstrap"

    # GET: the same subscription, the hint only.
    one = call(st, "GET", f"{PATH}/{made['id']}")
    assert one.status == 200, one
    got = one.json()
    assert set(got) == MEMBERS
    assert got == {k: v for k, v in made.items() if k != "secret"}
    listed = call(st, "GET", PATH)
    assert listed.status == 200 and listed.json() == {"subscriptions": [got]}

    # Never again in full: not by GET, not by the event feed.
    feed = call(st, "GET", "/v1/events?types=subscription.*")
    assert feed.status == 200 and len(feed.json()["events"]) == 1
    assert "secret" not in feed.json()["events"][0]["body"]
    for r in (one, listed, feed):
        assert secret.encode() not in r.body and secret[6:].encode() not in r.body

    # Other subscriptions come in creation order; an inactive one says so.
    other = create(st, {"url": "http://127.0.0.1:9/x", "event_types": ["*"], "active": False})
    assert other["status"] == "inactive" and other["channels"] == []
    assert other["description"] == "" and other["secret"] != secret
    ids = [s["id"] for s in call(st, "GET", PATH).json()["subscriptions"]]
    assert ids == [made["id"], other["id"]]


def test_a_repeated_post_answers_the_first_subscription(courier_stack, pb2):
    st, _ = courier_stack
    key = {"Idempotency-Key": "sub-1"}
    first = call(st, "POST", PATH, GOOD, headers=key)
    again = call(st, "POST", PATH, GOOD, headers=key)
    assert first.status == 201 and again.status == 200, (first, again)
    assert again.json() == first.json()
    assert len(saved_events(st, pb2)) == 1


# --- b. mistakes --------------------------------------------------------------------


def without(key):
    return {k: v for k, v in GOOD.items() if k != key}


@pytest.mark.parametrize("body,field", [
    (without("url"), "url"),
    ({**GOOD, "url": ""}, "url"),
    ({**GOOD, "url": "ftp://integrator.example/x"}, "url"),
    ({**GOOD, "url": "integrator.example/x"}, "url"),
    ({**GOOD, "url": "https://"}, "url"),
    ({**GOOD, "url": 42}, "url"),
    (without("event_types"), "event_types"),
    ({**GOOD, "event_types": []}, "event_types"),
    ({**GOOD, "event_types": "ticket.*"}, "event_types"),
    ({**GOOD, "event_types": ["tickets.*"]}, "event_types[0]"),
    ({**GOOD, "event_types": ["ticket.*", "Ticket.Opened"]}, "event_types[1]"),
    ({**GOOD, "event_types": ["ticket.*", 5]}, "event_types[1]"),
    ({**GOOD, "channels": ["pigeon"]}, "channels[0]"),
    ({**GOOD, "channels": "chat"}, "channels"),
    ({**GOOD, "active": "yes"}, "active"),
    ({**GOOD, "description": "x" * 1025}, "description"),
])
def test_each_mistake_names_its_field_and_appends_nothing(courier_stack, body, field):
    st, _ = courier_stack
    r = call(st, "POST", PATH, body)
    assert r.status == 400, r
    assert r.json()["error"]["field"] == field, r
    assert st.db.scalar("SELECT count(*) FROM eventlog.events") == 0


def test_bodies_and_keys_are_checked_before_anything(courier_stack):
    st, _ = courier_stack
    assert call(st, "POST", PATH, "[1]").status in (400, 415)
    r = h.http_request(st.api_url + PATH, "POST", "[]", {**st.auth(),
                                                          "Content-Type": "application/json"})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_json", r
    r = h.http_request(st.api_url + PATH, "POST", "{}", {**st.auth(), "Content-Type": "text/plain"})
    assert r.status == 415, r
    for method, path in (("POST", PATH), ("GET", PATH), ("GET", f"{PATH}/{uuid.uuid4()}"),
                         ("PATCH", f"{PATH}/{uuid.uuid4()}"), ("DELETE", f"{PATH}/{uuid.uuid4()}")):
        r = h.http_request(st.api_url + path, method, GOOD if method in ("POST", "PATCH") else None)
        assert r.status == 401, (method, path, r)
    assert st.db.scalar("SELECT count(*) FROM eventlog.events") == 0


def test_subscriptions_need_the_admin_scope_and_every_channel(courier_stack):
    st, _ = courier_stack
    reader = new_key(st, "reader", scopes="read,ingest")["key"]
    zalo_admin = new_key(st, "zalo admin", channels="zalo", scopes="admin,read")["key"]
    admin = new_key(st, "admin", scopes="admin,read")["key"]
    some = str(uuid.uuid4())
    for key, scope in ((reader, "admin"), (zalo_admin, None)):
        for method, path in (("POST", PATH), ("GET", PATH), ("GET", f"{PATH}/{some}"),
                             ("PATCH", f"{PATH}/{some}"), ("DELETE", f"{PATH}/{some}")):
            r = call(st, method, path, GOOD if method in ("POST", "PATCH") else None, key=key)
            assert r.status == 403, (method, path, r)
            assert r.json()["error"].get("scope") == scope, r
    made = call(st, "POST", PATH, GOOD, key=admin)
    assert made.status == 201, made
    ev = saved_events_of(st, made.json()["id"])
    assert ev == 1
    assert call(st, "GET", f"{PATH}/{made.json()['id']}", key=admin).status == 200


# --- c. change and delete -----------------------------------------------------------


def test_patch_changes_what_it_names_and_rotates_the_secret_on_request(courier_stack, pb2):
    st, _ = courier_stack
    made = create(st)
    path = f"{PATH}/{made['id']}"
    r = call(st, "PATCH", path, {"url": "http://127.0.0.1:8099/new", "active": False})
    assert r.status == 200, r
    changed = r.json()
    assert set(changed) == MEMBERS
    assert changed["url"] == "http://127.0.0.1:8099/new" and changed["active"] is False
    assert changed["status"] == "inactive"
    assert changed["event_types"] == made["event_types"]
    assert changed["secret_hint"] == made["secret_hint"]
    assert changed["updated_at"] > made["updated_at"]
    assert changed["created_at"] == made["created_at"]
    ev = saved_events(st, pb2)[-1].subscription_saved
    assert sorted(ev.update_mask) == ["active", "url"] and not ev.secret

    # What the PATCH answered is what a GET reads once courier applied it.
    got = call(st, "GET", path).json()
    assert got == changed

    r = call(st, "PATCH", path, {"event_types": ["*"], "channels": [], "description": "",
                                 "active": True})
    assert r.status == 200, r
    assert r.json()["event_types"] == ["*"] and r.json()["channels"] == []
    assert r.json()["status"] == "active"
    assert call(st, "GET", path).json() == r.json()

    r = call(st, "PATCH", path, {"rotate_secret": True})
    assert r.status == 200, r
    rotated = r.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert rotated["secret_hint"] == rotated["secret"][-4:]
    ev = saved_events(st, pb2)[-1].subscription_saved
    assert list(ev.update_mask) == ["secret"] and ev.secret == rotated["secret"]
    got = call(st, "GET", path)
    assert "secret" not in got.json() and got.json()["secret_hint"] == rotated["secret_hint"]
    assert rotated["secret"].encode() not in got.body

    for body, field in (({}, ""), ({"rotate_secret": False}, ""), ({"url": "gopher://x"}, "url"),
                        ({"event_types": []}, "event_types"), ({"active": 1}, "active")):
        r = call(st, "PATCH", path, body)
        assert r.status == 400 and r.json()["error"].get("field", "") == field, (body, r)
    n = st.db.scalar("SELECT count(*) FROM eventlog.events")
    for bad in (str(uuid.uuid4()), "not-a-uuid"):
        r = call(st, "PATCH", f"{PATH}/{bad}", {"description": "x"})
        assert r.status == 404, r
    assert st.db.scalar("SELECT count(*) FROM eventlog.events") == n


def test_delete_removes_the_subscription(courier_stack, pb2):
    st, _ = courier_stack
    keep, gone = create(st), create(st)
    r = call(st, "DELETE", f"{PATH}/{gone['id']}")
    assert r.status == 204 and r.body == b"", r
    ev = saved_events(st, pb2)[-1]
    assert ev.type == "subscription.deleted"
    assert ev.subscription_deleted.subscription_id == gone["id"]
    assert call(st, "GET", f"{PATH}/{gone['id']}").status == 404
    assert [s["id"] for s in call(st, "GET", PATH).json()["subscriptions"]] == [keep["id"]]
    assert call(st, "DELETE", f"{PATH}/{gone['id']}").status == 404
    assert call(st, "DELETE", f"{PATH}/nope").status == 404
    assert call(st, "GET", f"{PATH}/nope").status == 404
    assert len(saved_events(st, pb2)) == 3


# --- d. consistency -----------------------------------------------------------------


def test_a_read_after_a_write_waits_for_courier_and_503_past_the_bound(courier_stack):
    st, courier = courier_stack
    create(st)
    assert len(call(st, "GET", PATH).json()["subscriptions"]) == 1

    courier.pause()
    made = create(st)
    result = {}

    def read():
        t = time.monotonic()
        result["r"] = call(st, "GET", f"{PATH}/{made['id']}")
        result["took"] = time.monotonic() - t

    th = threading.Thread(target=read, daemon=True)
    th.start()
    time.sleep(1.0)
    assert "r" not in result, "the read did not wait for courier"
    courier.resume()
    th.join(timeout=h.scaled(20))
    assert result["r"].status == 200, result["r"]
    assert result["r"].json()["id"] == made["id"] and result["took"] >= 0.9

    courier.pause()
    create(st)
    t = time.monotonic()
    r = call(st, "GET", PATH)
    assert r.status == 503 and r.header("retry-after") == "1", r
    assert 4.5 <= time.monotonic() - t < h.scaled(10)
    courier.resume()
    h.wait_until("courier to catch up",
                 lambda: call(st, "GET", PATH).status == 200, h.scaled(20))
    assert len(call(st, "GET", PATH).json()["subscriptions"]) == 3
