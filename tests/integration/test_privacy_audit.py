"""Reads of customers' data by an admin key are recorded (README "Personal
data", Audit; services/channel-ingest/audit.h).

  a. a key with admin and without read reads a customer, a search, a
     customer's tickets, a ticket and its timeline only with a reason
     (?reason=): without one it is refused 403 naming the reason, and
     nothing is recorded; with one it gets the data, and each request — a
     list too — is recorded by one customer.data_read event (who, why, the
     route, the customer or ticket, the query's parameter names but not
     their values) committed before the answer
  b. a key with read (an integrator, the desk's sessions) reads as before:
     no reason asked, nothing recorded
"""

import json
import urllib.parse
from uuid import uuid4

import carebus_harness as h
from test_event_feed import read_all
from test_ingest_api import new_key
from test_privacy import CUSTOMER, TEXT, contacts


def get(st, path, key, reason=None):
    if reason is not None:
        path += ("&" if "?" in path else "?") + "reason=" + urllib.parse.quote(reason)
    return h.http_request(f"{st.api_url}{path}", headers=st.auth(key), timeout=h.scaled(15))


def audits(st):
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'customer.data_read'")


def test_admin_reads_need_a_reason_and_are_recorded(stack):
    st = stack("ingest", "router", master_key=True)
    contacts(st)
    customer, ticket = st.db.query("SELECT customer_id::text, id::text FROM router.tickets"
                                   " ORDER BY number LIMIT 1")[0]
    dpo = new_key(st, "data protection officer", scopes="admin")
    reader = new_key(st, "crm", scopes="read")["key"]
    reads = [  # (path, what the envelope names, the parameters recorded)
        (f"/v1/customers/{customer}", ("customer", customer), []),
        ("/v1/customers?q=" + urllib.parse.quote("Phạm"), None, ["q"]),
        ("/v1/customers?phone=0912345678", None, ["phone"]),
        (f"/v1/customers/{customer}/tickets?limit=5", ("customer", customer), ["limit"]),
        (f"/v1/tickets/{ticket}", ("ticket", ticket), []),
        (f"/v1/tickets/{ticket}/timeline", ("ticket", ticket), []),
    ]
    # without a reason: refused, naming it; nothing recorded
    for path, _, _ in reads:
        r = get(st, path, dpo["key"])
        assert r.status == 403, (path, r)
        err = r.json()["error"]
        assert err["scope"] == "read" and '"reason"' in err["message"], err
        assert get(st, path, dpo["key"], reason="").status == 403
    assert get(st, reads[0][0], dpo["key"], reason="x" * 1025).status == 400
    assert audits(st) == 0

    # with one: the data, and one event per request, committed before it
    for i, (path, names, params) in enumerate(reads, 1):
        r = get(st, path, dpo["key"], reason=f"access request {i}")
        assert r.status == 200, (path, r)
        answer = json.dumps(r.json(), ensure_ascii=False)
        assert CUSTOMER["name"] in answer or TEXT in answer, (path, answer)
        assert audits(st) == i, path  # already stored when the answer came
    events, _ = read_all(st, types="customer.data_read")
    assert len(events) == len(reads)
    for ev, (path, names, params) in zip(events, reads):
        body = ev["body"]
        assert body["actor"] == dpo["id"] and body["reason"].startswith("access request"), ev
        assert body["route"].startswith("GET /v1/"), ev
        assert body.get("parameters", []) == params, ev
        assert ev["occurred_at"]
        if names:
            assert ev.get(f"{names[0]}_id") == names[1], ev
    # the search's text and the phone are not in the record
    text = json.dumps(events, ensure_ascii=False)
    assert "Phạm" not in text and "0912345678" not in text

    # a ticket that does not exist: recorded (it was asked for), then 404
    assert get(st, f"/v1/tickets/{uuid4()}", dpo["key"], reason="x").status == 404

    # a read key reads as before: no reason, nothing recorded (a reason it
    # gives is ignored, also by the lists)
    before = audits(st)
    for path, _, _ in reads:
        assert get(st, path, reader).status == 200, path
        assert get(st, path, reader, reason="ignored").status == 200, path
    assert audits(st) == before
    # an admin key cannot read what is not a customer's data with a reason
    r = get(st, "/v1/events", dpo["key"], reason="x")
    assert r.status == 403 and r.json()["error"]["scope"] == "read", r
