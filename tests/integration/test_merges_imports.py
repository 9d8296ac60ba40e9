"""Issue 11 (the work API): merges a supervisor asks for, unmerges, and
customers from a CRM, end to end: channel-ingest's API in, the real router,
sla-monitor and analytics, real PostgreSQL and ZeroMQ, the answers of GET
/v1/tickets/{id} and GET /v1/customers/{id} out.

  a. a family sharing one phone: a contact merges mother and son; the
     supervisor unmerges him (his handle and the ticket he opened go back,
     visible on GET); a customer merge and a ticket merge by hand; each
     refusal (404, 409, 403 naming the scope); a retry gets the first
     answer; the merged ticket counts once in the KPIs and its SLA clocks
     stop; a rebuild from the log equals the live state
  b. POST /v1/customers: a VIP known before the first contact is a VIP from
     it on; the same record twice lands once
  c. a bulk import of 50,000 customers (NDJSON) with a bad line in the
     middle: the good lines land once, also when the import is repeated, the
     bad one is reported with its line number; a CSV import of the same
     records lands nothing new; the scopes and formats refused

Every wait is bounded (harness.wait_until); no test asserts a duration.
"""

import json
import os
import uuid
from datetime import timedelta

import pytest

import carebus_harness as h
from test_ingest_api import call, new_key
from test_router_acceptance import T0, caught_up, message, routed_ticket, ts

ROUTER_TABLES = ("customers", "identities", "tickets", "messages", "notes", "merges",
                 "ticket_merges", "unmerges", "agents", "position", "delivery_pending")
ANALYTICS_ENV = {"CAREBUS_ANALYTICS_HOURS": "mon-fri 08:00-17:00",
                 "CAREBUS_ANALYTICS_HOLIDAYS": ""}


def snapshot(st):
    out = {t: st.db.query(f"SELECT * FROM router.{t} ORDER BY 1, 2") for t in ROUTER_TABLES}
    out["router events"] = st.db.query(
        "SELECT event_id, type, seq, ticket_id, customer_id, payload FROM eventlog.events"
        " WHERE stream = 'router' ORDER BY seq")
    return out


def customer_of(st, event_id):
    r = st.get_api(f"/v1/events/{event_id}")
    assert r.status == 200, r
    return r.json()["customer_id"]


def get(st, path):
    r = st.get_api(path)
    assert r.status == 200, (path, r)
    return r.json()


def texts(ticket):
    return [m["text"] for m in ticket["messages"]]


def wait_applied(st):
    st.wait_caught_up(stream="ingest", timeout=h.scaled(120))


# --- a. merges and unmerges ------------------------------------------------------------


def test_family_unmerge_customer_and_ticket_merges_then_a_rebuild_equals_live(stack):
    st = stack("ingest", "router", "sla")
    st["analytics"].start(extra_env=ANALYTICS_ENV)
    sup = new_key(st, "supervisor desk", scopes="supervisor,read")["key"]
    reader = new_key(st, "wallboard", scopes="read")["key"]

    m1 = message(st, "zalo", "máy lạnh hỏng", T0, handle="z-mom", phone="0901234567")
    s1 = message(st, "facebook", "tôi muốn đổi trả", T0 + timedelta(minutes=1), handle="fb-son")
    tm, ts_ = routed_ticket(st, m1), routed_ticket(st, s1)
    mom, son = customer_of(st, m1), customer_of(st, s1)
    # The son gives the family's phone: one customer, one ticket.
    message(st, "facebook", "số nhà em", T0 + timedelta(minutes=2), handle="fb-son",
            phone="0901 234 567")
    wait_applied(st)
    assert get(st, f"/v1/customers/{son}")["id"] == mom
    assert get(st, f"/v1/tickets/{ts_}")["merged_into"] == tm
    assert texts(get(st, f"/v1/tickets/{tm}")) == ["máy lạnh hỏng", "tôi muốn đổi trả", "số nhà em"]

    # Who may: a read key is refused naming the scope; a limited key too.
    r = call(st, "POST", f"/v1/customers/{son}/unmerge", {}, key=reader)
    assert r.status == 403 and r.json()["error"]["scope"] == "supervisor", r
    r = call(st, "POST", f"/v1/customers/{uuid.uuid4()}/unmerge", {}, key=sup)
    assert r.status == 404, r
    r = call(st, "POST", f"/v1/customers/{mom}/unmerge", {}, key=sup)
    assert r.status == 409, r

    once = {"Idempotency-Key": "unmerge-son-1"}
    r = call(st, "POST", f"/v1/customers/{son}/unmerge", {"reason": "mẹ và con dùng chung số"},
             key=sup, headers=once)
    assert r.status == 202, r
    first = r.body
    wait_applied(st)
    # A retry gets the first answer, though the son is not merged any more;
    # a new request is refused.
    r = call(st, "POST", f"/v1/customers/{son}/unmerge", {}, key=sup, headers=once)
    assert r.status == 200 and r.body == first, r
    r = call(st, "POST", f"/v1/customers/{son}/unmerge", {}, key=sup)
    assert r.status == 409, r

    c = get(st, f"/v1/customers/{son}")
    assert c["id"] == son
    assert [(i["kind"], i["value"]) for i in c["identities"]] == [("facebook", "fb-son")]
    assert [t["id"] for t in c["tickets"]] == [ts_]
    assert sorted((i["kind"], i["value"]) for i in get(st, f"/v1/customers/{mom}")["identities"]) \
        == [("phone", "+84901234567"), ("zalo", "z-mom")]
    t = get(st, f"/v1/tickets/{ts_}")
    assert (t["customer_id"], t["status"], t["merged_into"]) == (son, "open", None)
    assert texts(t) == ["tôi muốn đổi trả"]
    assert "customer.unmerged" in [e["kind"] for e in t["timeline"]]
    assert texts(get(st, f"/v1/tickets/{tm}")) == ["máy lạnh hỏng", "số nhà em"]
    unmerged = st.db.query("SELECT customer_id, payload FROM eventlog.events"
                           " WHERE stream = 'router' AND type = 'customer.unmerged'")
    assert len(unmerged) == 1 and str(unmerged[0][0]) == son
    # SLA follows: the son's ticket is his again.
    h.wait_until("sla-monitor to move the ticket", lambda: st.db.scalar(
        "SELECT customer_id::text FROM sla.tickets WHERE ticket_id = %s", (ts_,)) == son,
        h.scaled(20))
    # Both handles again: kept apart, his own handle says it is him.
    s4 = message(st, "facebook", "em đây", T0 + timedelta(minutes=20), handle="fb-son",
                 phone="0901234567")
    assert routed_ticket(st, s4) == ts_
    assert customer_of(st, s4) == son

    # A customer merge by hand: a stranger's chat is the mother's.
    x1 = message(st, "chat", "xin chào", T0 + timedelta(minutes=21), handle="visitor-7")
    tx = routed_ticket(st, x1)
    stranger = customer_of(st, x1)
    body = {"merged_id": stranger, "reason": "same person, told us by phone"}
    r = call(st, "POST", f"/v1/customers/{mom}/merge", body, key=reader)
    assert r.status == 403 and r.json()["error"]["scope"] == "supervisor", r
    r = call(st, "POST", f"/v1/customers/{mom}/merge", {"merged_id": str(uuid.uuid4())}, key=sup)
    assert r.status == 404 and r.json()["error"]["field"] == "merged_id", r
    r = call(st, "POST", f"/v1/customers/{mom}/merge", body, key=sup)
    assert r.status == 202, r
    wait_applied(st)
    assert get(st, f"/v1/customers/{stranger}")["id"] == mom
    assert get(st, f"/v1/tickets/{tx}")["merged_into"] == tm
    assert st.db.scalar("SELECT actor FROM router.merges WHERE merged_id = %s", (stranger,))
    r = call(st, "POST", f"/v1/customers/{mom}/merge", {"merged_id": stranger}, key=sup)
    assert r.status == 409, r

    # A ticket merge by hand: a solved ticket and a new one of one customer.
    k1 = message(st, "zalo", "hóa đơn sai", T0 + timedelta(hours=1), handle="z-lan")
    t1 = routed_ticket(st, k1)
    r = call(st, "POST", f"/v1/tickets/{t1}/status",
             {"status": "solved", "occurred_at": ts(T0 + timedelta(hours=2))})
    assert r.status == 202, r
    k2 = message(st, "zalo", "vẫn sai", T0 + timedelta(days=9), handle="z-lan")
    t2 = routed_ticket(st, k2)
    assert t2 != t1
    r = call(st, "POST", f"/v1/tickets/{t1}/merge", {"into_ticket_id": tm}, key=sup)
    assert r.status == 409 and r.json()["error"]["field"] == "into_ticket_id", r
    r = call(st, "POST", f"/v1/tickets/{t1}/merge", {"into_ticket_id": str(uuid.uuid4())},
             key=sup)
    assert r.status == 404, r
    r = call(st, "POST", f"/v1/tickets/{t1}/merge", {"into_ticket_id": t2}, key=reader)
    assert r.status == 403 and r.json()["error"]["scope"] == "supervisor", r
    r = call(st, "POST", f"/v1/tickets/{t1}/merge", {"into_ticket_id": t2, "reason": "cùng"},
             key=sup)
    assert r.status == 202, r
    wait_applied(st)
    merged, kept = get(st, f"/v1/tickets/{t1}"), get(st, f"/v1/tickets/{t2}")
    assert (merged["status"], merged["merged_into"]) == ("closed", t2)
    assert texts(kept) == ["hóa đơn sai", "vẫn sai"]
    assert "ticket.merged" in [e["kind"] for e in kept["timeline"]]
    r = call(st, "POST", f"/v1/tickets/{t1}/merge", {"into_ticket_id": t2}, key=sup)
    assert r.status == 409, r

    # Counted once: the merged tickets are no tickets of their own for the
    # KPIs, and their SLA clocks stopped.
    st.wait_caught_up(consumer="analytics", stream="router", at_least=st.last_seq("router"),
                      timeout=h.scaled(60))
    own = st.db.scalar("SELECT count(*) FROM router.tickets WHERE merged_into IS NULL")
    r = h.http_request(f"{st['analytics'].url}/v1/kpis?from=2026-11-01&to=2026-12-31"
                       "&group_by=all", headers=st.auth())
    assert r.status == 200, r
    assert r.json()["rows"][0]["tickets_created"] == own, r.json()
    st.wait_caught_up(consumer="sla-monitor", stream="router", at_least=st.last_seq("router"),
                      timeout=h.scaled(60))
    assert st.db.scalar("SELECT count(*) FROM sla.targets t JOIN router.tickets r"
                        " ON r.id = t.ticket_id WHERE r.merged_into IS NOT NULL"
                        " AND t.status = 'running'") == 0

    # A rebuild from the log equals the live state.
    caught_up(st)
    st.wait_settled()
    live = snapshot(st)
    answers = {p: get(st, p) for p in (f"/v1/customers/{son}", f"/v1/customers/{mom}",
                                       f"/v1/tickets/{ts_}", f"/v1/tickets/{tm}",
                                       f"/v1/tickets/{t2}")}
    st.stop("router")
    st.db.query("SELECT router.reset()")
    st["router"].start()
    caught_up(st)
    again = snapshot(st)
    for name in live:
        assert live[name] == again[name], f"router.{name} differs after the rebuild"
    for p, body in answers.items():
        b = get(st, p)
        b.pop("sla", None), body.pop("sla", None)
        assert b == body, p


# --- b. one customer from the CRM -----------------------------------------------------


def test_a_vip_known_before_the_first_contact_and_the_same_record_twice(stack):
    st = stack("ingest", "router")
    crm = new_key(st, "crm", scopes="ingest")["key"]
    vip = {"name": "Chị Hoa", "phone": "0903 333 333", "email": "hoa@example.vn",
           "crm_id": "CRM-77", "segment": "vip", "attributes": {"tier": "gold"}}
    r = call(st, "POST", "/v1/customers", vip, key=crm)
    assert r.status == 202, r
    # The same record, spelt otherwise: the same event.
    again = dict(vip, phone="+84903333333", email="HOA@example.vn")
    r2 = call(st, "POST", "/v1/customers", again, key=crm)
    assert r2.status == 200 and r2.body == r.body, r2
    r = call(st, "POST", "/v1/customers", {"name": "x"}, key=crm)
    assert r.status == 400 and r.json()["error"]["field"] == "phone", r
    limited = new_key(st, "zalo bridge", channels="zalo")["key"]
    r = call(st, "POST", "/v1/customers", vip, key=limited)
    assert r.status == 403, r
    wait_applied(st)
    e = message(st, "zalo", "hỏi giá", T0, handle="z-hoa", phone="0903333333")
    t = get(st, f"/v1/tickets/{routed_ticket(st, e)}")
    c = get(st, f"/v1/customers/{t['customer_id']}")
    assert (c["name"], c["segment"]) == ("Chị Hoa", "vip")
    assert c["attributes"] == {"tier": "gold", "crm_id": "CRM-77"}
    assert any(r.startswith("segment:vip") for r in t["priority_reasons"]), t
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'customer.imported'") == 1


# --- c. bulk imports ----------------------------------------------------------------------

LINES = int(os.environ.get("CAREBUS_TEST_IMPORT_LINES", "50000"))


def record(i):
    r = {"name": f"Khách {i}", "phone": f"09{i:08d}", "crm_id": f"C-{i}",
         "segment": ("vip", "wholesale", "regular")[i % 3]}
    if i % 5 == 0:
        r["email"] = f"k{i}@example.vn"
        r["attributes"] = {"tier": "gold"}
    return r


def bulk(st, key, body, ctype):
    return h.http_request(st.api_url + "/v1/customer-imports", "POST", body,
                          {"Authorization": f"Bearer {key}", "Content-Type": ctype},
                          timeout=h.scaled(300))


def test_a_bulk_import_with_a_bad_line_lands_once_and_reports_the_line(stack):
    st = stack("ingest", "router")
    admin = new_key(st, "crm loader", scopes="admin")["key"]
    bad = LINES // 2 + 1
    lines = [json.dumps(record(i), ensure_ascii=False) for i in range(1, LINES + 1)]
    lines[bad - 1] = json.dumps({"name": "Sai", "phone": "không có số"}, ensure_ascii=False)
    body = "\n".join(lines) + "\n"

    r = bulk(st, admin, body, "application/x-ndjson")
    assert r.status == 200, r
    rep = r.json()
    assert (rep["records"], rep["accepted"], rep["duplicates"], rep["failed"]) == \
        (LINES, LINES - 1, 0, 1), rep
    assert rep["errors"] == [{"line": bad, "code": "invalid_field", "field": "phone",
                              "message": rep["errors"][0]["message"]}], rep["errors"]
    imported = st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'customer.imported'")
    assert imported == LINES - 1

    # Again: nothing lands twice.
    r = bulk(st, admin, body, "application/x-ndjson")
    assert r.status == 200, r
    rep2 = r.json()
    assert (rep2["accepted"], rep2["duplicates"], rep2["failed"]) == (0, LINES - 1, 1), rep2
    assert rep2["import_id"] == rep["import_id"]
    # The same records as CSV: still nothing new; a new one lands.
    csv = "name,phone,email,crm_id,segment,attributes.tier\n"
    for i in (1, 5, 10):
        x = record(i)
        csv += ",".join([x["name"], x["phone"], x.get("email", ""), x["crm_id"], x["segment"],
                         x.get("attributes", {}).get("tier", "")]) + "\n"
    csv += '"Khách, mới",0999999999,,C-new,vip,\n'
    r = bulk(st, admin, csv, "text/csv; charset=utf-8")
    assert r.status == 200, r
    assert (r.json()["accepted"], r.json()["duplicates"], r.json()["failed"]) == (1, 3, 0), r.json()
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'customer.imported'") \
        == LINES

    st.wait_caught_up(stream="ingest", timeout=h.scaled(600))
    assert st.db.scalar("SELECT count(*) FROM router.customers") == LINES
    assert st.db.scalar("SELECT count(*) FROM router.identities WHERE kind = 'phone'") == LINES
    assert st.db.scalar("SELECT count(*) FROM router.customers WHERE segment = 'vip'") == \
        sum(1 for i in range(1, LINES + 1) if i != bad and i % 3 == 0) + 1
    found = get(st, "/v1/customers?phone=0900000005")
    assert (found["name"], found["segment"], found["attributes"]) == \
        ("Khách 5", "regular", {"tier": "gold", "crm_id": "C-5"})

    # Refused: the scope, the format, a header the import does not know.
    ingest_only = new_key(st, "crm single", scopes="ingest")["key"]
    r = bulk(st, ingest_only, csv, "text/csv")
    assert r.status == 403 and r.json()["error"]["scope"] == "admin", r
    r = bulk(st, admin, csv, "application/json")
    assert r.status == 415, r
    r = bulk(st, admin, "name,fax\nA,1\n", "text/csv")
    assert r.status == 400 and r.json()["error"]["field"] == "fax", r
