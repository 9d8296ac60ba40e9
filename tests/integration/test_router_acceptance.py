"""Issue 4 (router) acceptance, end to end: channel-ingest's public API in,
the real router, real PostgreSQL and ZeroMQ, the answers of
GET /v1/tickets/{id} and GET /v1/customers/{id} out.

  a. Zalo -> call -> email: one customer, one ticket, three channels in order
  b. merge of two customers who each have an open ticket
  c. threading by In-Reply-To / References / in_reply_to
  d. the reopen window (times given by occurred_at, no sleeping)
  e. classification in Vietnamese and English, with and without diacritics
  f. the priority matrix (segment x category x urgency x repeats)
  g. capacity, queueing, and the drain when an agent comes online
  h. transfer, and an SLA escalation appended to the "sla" stream (as
     sla-monitor publishes it) going to the team lead
  i. the rules file: reloaded on SIGHUP, a bad file refused and the old
     rules kept

Every wait is bounded (harness.wait_until); no test asserts a duration.
"""

import json
import signal
import uuid
from datetime import datetime, timedelta, timezone

import psycopg2

import carebus_harness as h

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone(timedelta(hours=7)))


def ts(dt):
    return dt.isoformat()


# --- helpers (imported by test_router_replay.py too) -------------------------------


def post(st, path, body, method="POST", status=(200, 202)):
    r = h.http_request(st.api_url + path, method, body, st.auth())
    assert r.status in status, (path, body, r)
    return r.json() if r.body else None


def message(st, channel, text, at, external_id=None, **customer):
    body = {
        "channel": channel,
        "external_id": external_id or "m-" + uuid.uuid4().hex[:12],
        "customer": customer,
        "text": text,
        "occurred_at": ts(at),
    }
    return post(st, "/v1/messages", body)["event_id"]


def routed_ticket(st, event_id, timeout=10.0):
    """The ticket a contact landed on, once routed."""
    def check():
        r = st.get_api(f"/v1/events/{event_id}")
        assert r.status == 200, r
        return r.json().get("ticket_id")

    return h.wait_until(f"event {event_id} to be routed", check, h.scaled(timeout), interval=0.02,
                        on_timeout=lambda: "\n" + st.log_summary())


def caught_up(st):
    """Until the router has applied every event of both streams it reads."""
    st.wait_caught_up(stream="ingest", timeout=h.scaled(60))
    if st.last_seq("sla"):
        st.wait_caught_up(stream="sla", timeout=h.scaled(60))
        # The offset says the events were delivered; their turn (order.h)
        # comes with the same transaction or the next tick.
        h.wait_until("sla events applied", lambda: st.db.scalar(
            "SELECT sla_seq FROM router.position") == st.last_seq("sla"), h.scaled(20))


def ticket(st, ticket_id):
    r = st.get_api(f"/v1/tickets/{ticket_id}")
    assert r.status == 200, r
    return r.json()


def customer(st, customer_id):
    r = st.get_api(f"/v1/customers/{customer_id}")
    assert r.status == 200, r
    return r.json()


def presence(st, agent, status, capacity, teams, leads=(), at=None):
    body = {"presence": status, "capacity": capacity, "teams": list(teams), "leads": list(leads)}
    if at is not None:
        body["occurred_at"] = ts(at)
    return post(st, f"/v1/agents/{agent}/presence", body, method="PUT")


def set_status(st, ticket_id, status, at):
    return post(st, f"/v1/tickets/{ticket_id}/status",
                {"status": status, "reason": "test", "occurred_at": ts(at)})


def router_events(st, pb2, ticket_id=None):
    rows = st.db.query("SELECT type, payload FROM eventlog.events WHERE stream = 'router'"
                       + (" AND ticket_id = %s" if ticket_id else "") + " ORDER BY seq",
                       (ticket_id,) if ticket_id else None)
    return [(t, pb2.Envelope.FromString(bytes(p))) for t, p in rows]


def append_escalation(st, pb2, ticket_id, at, priority="PRIORITY_URGENT"):
    """An sla.escalation on the "sla" stream, as sla-monitor appends it."""
    env = pb2.Envelope()
    eid = str(uuid.uuid4())
    env.event_id = eid
    env.type = "sla.escalation"
    env.ticket_id = ticket_id
    env.occurred_at.FromDatetime(at.astimezone(timezone.utc).replace(tzinfo=None))
    env.sla_escalation.target = pb2.SLA_TARGET_FIRST_RESPONSE
    env.sla_escalation.priority = getattr(pb2, priority)
    env.sla_escalation.reason = "first response overdue"
    st.db.query(
        "SELECT seq FROM eventlog.append('sla', ARRAY[%s]::uuid[], ARRAY['sla.escalation'],"
        " ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[%s]::timestamptz[], ARRAY[NULL]::uuid[],"
        " ARRAY[%s]::uuid[], ARRAY[%s]::bytea[])",
        (eid, at, ticket_id, psycopg2.Binary(env.SerializeToString())))
    return eid


# --- a. the scenario ---------------------------------------------------------------


def test_zalo_then_call_then_email_is_one_customer_one_ticket(stack, pb2):
    st = stack("ingest", "router")
    e1 = message(st, "zalo", "Máy giặt nhà tôi bị lỗi", T0, name="Lan", phone="0901234567",
                 handle="zalo-uid-1")
    t1 = routed_ticket(st, e1)
    call = post(st, "/v1/calls", {
        "caller": "+84 90 123 4567", "agent_id": "agent-7", "outcome": "answered",
        "started_at": ts(T0 + timedelta(minutes=9)), "ended_at": ts(T0 + timedelta(minutes=10)),
        "occurred_at": ts(T0 + timedelta(minutes=10)), "note": "khách gọi hỏi tiến độ",
        "external_id": "call-1"})
    assert routed_ticket(st, call["event_id"]) == t1
    # An address nobody knows yet: a customer of its own, for now.
    e3 = message(st, "email", "Tôi gửi ảnh máy giặt", T0 + timedelta(minutes=20),
                 external_id="<anh@mail.example.vn>", email="lan.nguyen@example.vn")
    t3 = routed_ticket(st, e3)
    assert t3 != t1
    # A later contact shows the address is hers.
    e4 = message(st, "chat", "Email của tôi là lan.nguyen@example.vn",
                 T0 + timedelta(minutes=30), phone="84901234567", email="Lan.Nguyen@example.vn",
                 handle="visitor-42")
    assert routed_ticket(st, e4) == t1
    caught_up(st)

    t = ticket(st, t1)
    cust = customer(st, t["customer_id"])
    assert [x["id"] for x in cust["tickets"]] == [t1], cust
    assert cust["open_ticket_id"] == t1
    kinds = sorted((i["kind"], i["value"]) for i in cust["identities"])
    assert kinds == [("chat", "visitor-42"), ("email", "lan.nguyen@example.vn"),
                     ("phone", "+84901234567"), ("zalo", "zalo-uid-1")], kinds
    assert len(cust["merged_ids"]) == 1
    # The merged-away customer answers its survivor.
    merged = customer(st, cust["merged_ids"][0])
    assert merged["id"] == cust["id"]
    r = st.get_api("/v1/customers?email=lan.nguyen@example.vn")
    assert r.status == 200 and r.json()["id"] == cust["id"], r

    msgs = t["messages"]
    assert [(m["channel"], m["direction"]) for m in msgs] == [
        ("zalo", "in"), ("phone", "in"), ("email", "in"), ("chat", "in")], msgs
    assert [m["event_id"] for m in msgs] == [e1, call["event_id"], e3, e4]
    assert msgs[1]["text"] == "khách gọi hỏi tiến độ" and msgs[1]["agent_id"] == "agent-7"
    assert len({m["channel"] for m in msgs[:3]}) == 3
    assert [m["at"] for m in msgs] == sorted(m["at"] for m in msgs)
    timeline = [e["kind"] for e in t["timeline"]]
    assert timeline == ["message", "message", "message", "customer.merged", "ticket.merged",
                        "message"], timeline
    assert t["category"] == "technical_support" and t["team"] == "technical", t
    assert t["contacts"] == 4

    old = ticket(st, t3)
    assert old["status"] == "closed" and old["merged_into"] == t1 and old["messages"] == []
    merged_events = [e for ty, e in router_events(st, pb2) if ty == "customer.merged"]
    assert len(merged_events) == 1
    m = merged_events[0].customer_merged
    assert m.survivor_id == cust["id"] and m.merged_id == cust["merged_ids"][0]
    assert m.contact_event_id == e4 and list(m.ticket_ids) == [t3]
    closed = [e for ty, e in router_events(st, pb2, t3) if ty == "ticket.closed"]
    assert len(closed) == 1 and closed[0].ticket_closed.merged_into_ticket_id == t1


# --- b. merge with two open tickets ---------------------------------------------------------


def test_merge_of_two_customers_each_with_an_open_ticket(stack, pb2):
    st = stack("ingest", "router")
    presence(st, "an", "online", 5, ["support"], at=T0 - timedelta(hours=1))
    presence(st, "binh", "online", 5, ["support"], at=T0 - timedelta(minutes=30))
    # B is in the log first, but A has been a customer longer.
    eb = message(st, "facebook", "xin chào", T0 + timedelta(minutes=5), handle="psid-b")
    ea = message(st, "zalo", "chào shop", T0, phone="0912345678", handle="uid-a")
    ta, tb = routed_ticket(st, ea), routed_ticket(st, eb)
    caught_up(st)
    assert ticket(st, tb)["assignee"] == "an" and ticket(st, ta)["assignee"] == "binh"
    em = message(st, "facebook", "tôi là khách zalo", T0 + timedelta(minutes=10),
                 phone="+84 912 345 678", handle="psid-b")
    assert routed_ticket(st, em) == ta
    caught_up(st)

    a = ticket(st, ta)
    cust = customer(st, a["customer_id"])
    old = ticket(st, tb)
    assert old["status"] == "closed" and old["merged_into"] == ta
    assert customer(st, old["customer_id"])["id"] == cust["id"]
    assert [x["id"] for x in cust["tickets"]] == [ta]
    assert {m["event_id"] for m in a["messages"]} == {ea, eb, em}
    assert [m["event_id"] for m in a["messages"]] == [ea, eb, em]  # in time order
    assert a["contacts"] == 3 and a["assignee"] == "binh"
    loads = dict(st.db.query("SELECT id, load FROM router.agents"))
    assert loads == {"an": 0, "binh": 1}, loads
    # Every handle is the survivor's; nothing points at the merged customer.
    assert st.db.scalar("SELECT count(DISTINCT customer_id) FROM router.identities") == 1
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE customer_id <> %s",
                        (cust["id"],)) == 0
    types = [t for t, _ in router_events(st, pb2)]
    assert types.count("customer.merged") == 1
    # A merge is applied once: the same contact again (a retry) changes nothing.
    post(st, "/v1/messages", {"channel": "facebook", "external_id": "dup", "customer":
                              {"handle": "psid-b"}, "text": "x", "occurred_at": ts(T0 + timedelta(
                                  minutes=11))})
    caught_up(st)
    assert [t for t, _ in router_events(st, pb2)].count("customer.merged") == 1


# --- c. threading -------------------------------------------------------------------------------


def test_email_headers_thread_to_the_ticket_they_name(stack):
    st = stack("ingest", "router")
    e1 = message(st, "email", "Đơn hàng #1 chưa tới", T0, external_id="<d1@mail.vn>",
                 email="minh@example.vn")
    t1 = routed_ticket(st, e1)
    set_status(st, t1, "solved", T0 + timedelta(hours=1))
    # Eight days later (beyond the window) a new conversation.
    e2 = message(st, "email", "Câu hỏi khác", T0 + timedelta(days=8), external_id="<d2@mail.vn>",
                 email="minh@example.vn")
    t2 = routed_ticket(st, e2)
    assert t2 != t1
    # The agent reopens and solves the first one again the same day.
    set_status(st, t1, "open", T0 + timedelta(days=8, minutes=1))
    set_status(st, t1, "solved", T0 + timedelta(days=8, minutes=2))
    caught_up(st)
    # In-Reply-To the first mail: its ticket, though another is open.
    e3 = post(st, "/v1/messages", {"channel": "email", "external_id": "<d3@mail.vn>",
                                   "customer": {"email": "minh@example.vn"}, "text": "Re: đơn 1",
                                   "in_reply_to": "<d1@mail.vn>",
                                   "occurred_at": ts(T0 + timedelta(days=8, minutes=3))})
    assert routed_ticket(st, e3["event_id"]) == t1
    # References: the newest one names the second conversation.
    e4 = post(st, "/v1/messages", {"channel": "email", "external_id": "<d4@mail.vn>",
                                   "customer": {"email": "minh@example.vn"}, "text": "Re: khác",
                                   "references": ["<d1@mail.vn>", "<d2@mail.vn>"],
                                   "occurred_at": ts(T0 + timedelta(days=8, minutes=4))})
    assert routed_ticket(st, e4["event_id"]) == t2
    # An explicit in_reply_to from a new address: the thread's customer.
    e5 = post(st, "/v1/messages", {"channel": "email", "external_id": "<d5@mail.vn>",
                                   "customer": {"email": "minh.work@example.vn"},
                                   "text": "từ địa chỉ công ty", "in_reply_to": "<d1@mail.vn>",
                                   "occurred_at": ts(T0 + timedelta(days=8, minutes=5))})
    assert routed_ticket(st, e5["event_id"]) == t1
    caught_up(st)
    t = ticket(st, t1)
    assert t["status"] == "open" and t["reopened"] == 2
    assert [m["event_id"] for m in t["messages"]] == [e1, e3["event_id"], e5["event_id"]]
    cust = customer(st, t["customer_id"])
    assert {i["value"] for i in cust["identities"]} == {"minh@example.vn",
                                                        "minh.work@example.vn"}


# --- d. reopen window -----------------------------------------------------------------------------


def test_reopen_window_reopens_within_and_opens_a_new_ticket_after(stack, pb2):
    st = stack("ingest", "router")
    e1 = message(st, "zalo", "xin chào", T0, handle="z-1")
    t1 = routed_ticket(st, e1)
    set_status(st, t1, "solved", T0 + timedelta(hours=1))
    e2 = message(st, "zalo", "vẫn chưa được", T0 + timedelta(days=6, hours=23), handle="z-1")
    assert routed_ticket(st, e2) == t1
    caught_up(st)
    t = ticket(st, t1)
    assert t["status"] == "open" and t["reopened"] == 1 and t["solved_at"] is None
    assert [e["kind"] for e in t["timeline"]] == ["message", "ticket.reopened", "message"]
    reopened = [e for ty, e in router_events(st, pb2, t1) if ty == "ticket.reopened"]
    assert len(reopened) == 1 and reopened[0].ticket_reopened.contact_event_id == e2
    solved = [ty for ty, _ in router_events(st, pb2, t1) if ty == "ticket.solved"]
    assert len(solved) == 1

    solve_at = T0 + timedelta(days=7)
    set_status(st, t1, "solved", solve_at)
    e3 = message(st, "zalo", "lần khác", solve_at + timedelta(days=7, seconds=1), handle="z-1")
    t3 = routed_ticket(st, e3)
    assert t3 != t1
    caught_up(st)
    assert ticket(st, t1)["status"] == "solved"
    # A window of one minute (CAREBUS_REOPEN_WINDOW_S), from the next start.
    st["router"].stop()
    st["router"].start(extra_env={"CAREBUS_REOPEN_WINDOW_S": "60"})
    set_status(st, t3, "solved", solve_at + timedelta(days=8))
    e4 = message(st, "zalo", "thêm", solve_at + timedelta(days=8, minutes=2), handle="z-1")
    assert routed_ticket(st, e4) not in (t1, t3)


# --- e. classification ------------------------------------------------------------------------------

CLASSIFY = [
    ("Tôi muốn khiếu nại về thái độ nhân viên", "complaint", "complaints", "complaint-vi"),
    ("toi muon khieu nai ve thai do nhan vien", "complaint", "complaints", "complaint-vi"),
    ("This is UNACCEPTABLE, I want to complain", "complaint", "complaints", "complaint-en"),
    ("Máy lạnh còn bảo hành không?", "returns_warranty", "returns-warranty",
     "returns-warranty-vi"),
    ("may lanh con bao hanh khong", "returns_warranty", "returns-warranty",
     "returns-warranty-vi"),
    ("I would like to return this kettle", "returns_warranty", "returns-warranty",
     "returns-warranty-en"),
    ("Hóa đơn tháng này bị tính sai tiền", "billing", "account-management", "billing-vi"),
    ("hoa don thang nay bi tinh sai tien", "billing", "account-management", "billing-vi"),
    ("I was charged twice", "billing", "account-management", "billing-en"),
    ("Tài khoản không đăng nhập được", "account", "account-management", "account-vi"),
    ("QUEN MAT KHAU", "account", "account-management", "account-vi"),
    ("Ứng dụng không hoạt động", "technical_support", "technical", "technical-support-vi"),
    ("ung dung khong hoat dong", "technical_support", "technical", "technical-support-vi"),
    ("The app crashes every time", "technical_support", "technical", "technical-support-en"),
    ("Cho tôi xin báo giá 50 chiếc", "sales", "sales", "sales-vi"),
    ("cho toi xin bao gia", "sales", "sales", "sales-vi"),
    ("Do you have a discount?", "sales", "sales", "sales-en"),
    ("Sản phẩm này có thông số thế nào", "product_info", "support", "product-info-vi"),
    ("Is it in stock?", "product_info", "support", "product-info-en"),
    ("Tôi cần hỗ trợ", "other", "support", "default"),
]


def test_classification_in_both_languages_with_and_without_diacritics(stack):
    st = stack("ingest", "router")
    ids = [message(st, "chat", text, T0 + timedelta(seconds=i), handle=f"cls-{i}")
           for i, (text, *_) in enumerate(CLASSIFY)]
    wrong = []
    for eid, (text, category, team, rule) in zip(ids, CLASSIFY):
        t = ticket(st, routed_ticket(st, eid))
        got = (t["category"], t["team"], t["classification"]["rule"])
        if got != (category, team, rule):
            wrong.append((text, got))
    assert not wrong, wrong


# --- f. priority matrix --------------------------------------------------------------------------------

# (segment, text, contacts, priority, reasons)
MATRIX = [
    ("regular", "xin chào", 1, "normal", []),
    ("regular", "tôi muốn khiếu nại", 1, "high", ["category:complaint +1"]),
    ("regular", "thông số sản phẩm?", 1, "low", ["category:product_info -1"]),
    ("regular", "cần gấp", 1, "high", ["urgent_word:gấp +1"]),
    ("regular", "xin chào", 3, "high", ["repeated_contacts:3 +1"]),
    ("vip", "xin chào", 1, "high", ["segment:vip +1"]),
    ("vip", "tôi muốn khiếu nại", 1, "urgent", ["segment:vip +1", "category:complaint +1"]),
    ("vip", "thông số sản phẩm?", 1, "normal", ["segment:vip +1", "category:product_info -1"]),
    ("wholesale", "xin chào", 1, "high", ["segment:wholesale +1"]),
    ("wholesale", "khieu nai, can gap ASAP", 1, "urgent",
     ["segment:wholesale +1", "category:complaint +1", "urgent_word:gấp +1"]),
]


def test_priority_matrix(stack):
    st = stack("ingest", "router")
    at = T0
    wrong = []
    for i, (segment, text, contacts, priority, reasons) in enumerate(MATRIX):
        handle = f"prio-{i}"
        # A first ticket makes the customer; its segment is set, the
        # ticket closed, and the case's contact opens a new one.
        first = routed_ticket(st, message(st, "chat", "alo", at, handle=handle))
        cid = ticket(st, first)["customer_id"]
        if segment != "regular":
            post(st, f"/v1/customers/{cid}", {"segment": segment, "occurred_at": ts(at)},
                 method="PUT")
        set_status(st, first, "closed", at + timedelta(seconds=1))
        eid = None
        for k in range(contacts):
            eid = message(st, "chat", text, at + timedelta(seconds=2 + k), handle=handle)
        caught_up(st)
        t = ticket(st, routed_ticket(st, eid))
        if (t["priority"], t["priority_reasons"]) != (priority, reasons):
            wrong.append((segment, text, contacts, t["priority"], t["priority_reasons"]))
        at += timedelta(minutes=1)
    assert not wrong, wrong


# --- g. capacity, queue, drain ------------------------------------------------------------------------------


def test_capacity_limits_queue_and_drain_when_an_agent_comes_online(stack, pb2):
    st = stack("ingest", "router")
    presence(st, "a1", "online", 1, ["support"], at=T0 - timedelta(minutes=2))
    presence(st, "a2", "online", 1, ["support"], at=T0 - timedelta(minutes=1))
    texts = ["xin chào", "chào shop", "alo", "cần gấp", "hello"]
    tids = [routed_ticket(st, message(st, "chat", text, T0 + timedelta(minutes=i),
                                      handle=f"cap-{i}"))
            for i, text in enumerate(texts)]
    caught_up(st)
    assignees = [ticket(st, t)["assignee"] for t in tids]
    assert assignees == ["a1", "a2", None, None, None], assignees
    assert all(ticket(st, t)["queued_at"] for t in tids[2:])
    queued = [e for ty, e in router_events(st, pb2) if ty == "ticket.queued"]
    assert sorted(e.ticket_id for e in queued) == sorted(tids[2:])
    assert all(e.ticket_queued.team == "support" for e in queued)

    # a3 comes online with room for two: the urgent one first, then the oldest.
    presence(st, "a3", "online", 2, ["support"], at=T0 + timedelta(minutes=10))
    caught_up(st)
    assert ticket(st, tids[3])["assignee"] == "a3"
    assert ticket(st, tids[2])["assignee"] == "a3"
    assert ticket(st, tids[4])["assignee"] is None
    # a1 frees its capacity: the last one is theirs.
    set_status(st, tids[0], "solved", T0 + timedelta(minutes=11))
    caught_up(st)
    assert ticket(st, tids[4])["assignee"] == "a1"
    loads = dict(st.db.query("SELECT id, load FROM router.agents"))
    assert loads == {"a1": 1, "a2": 1, "a3": 2}, loads
    # The router's agent state is what its tickets say.
    actual = dict(st.db.query("SELECT assignee, count(*) FROM router.tickets"
                              " WHERE status IN ('open', 'pending') GROUP BY assignee"))
    assert actual == loads


# --- h. transfer and escalation ------------------------------------------------------------------------


def test_transfer_and_sla_escalation_to_the_team_lead(stack, pb2):
    st = stack("ingest", "router")
    presence(st, "s1", "online", 3, ["support"], at=T0 - timedelta(minutes=5))
    presence(st, "k1", "online", 3, ["technical"], at=T0 - timedelta(minutes=5))
    presence(st, "lead-k", "online", 3, ["technical"], leads=["technical"],
             at=T0 - timedelta(minutes=4))
    t = routed_ticket(st, message(st, "chat", "xin chào", T0, handle="tr-1"))
    caught_up(st)
    assert ticket(st, t)["assignee"] == "s1"
    post(st, f"/v1/tickets/{t}/transfer", {"team": "technical", "reason": "cần kỹ thuật viên",
                                           "actor": "s1",
                                           "occurred_at": ts(T0 + timedelta(minutes=1))})
    caught_up(st)
    x = ticket(st, t)
    assert (x["team"], x["assignee"]) == ("technical", "k1"), x
    note = [e for e in x["timeline"] if e["kind"] == "ticket.transferred"]
    assert len(note) == 1 and note[0]["detail"]["from_team"] == "support"
    tr = [e for ty, e in router_events(st, pb2, t) if ty == "ticket.transferred"]
    assert len(tr) == 1 and (tr[0].ticket_transferred.from_team,
                             tr[0].ticket_transferred.to_team) == ("support", "technical")

    append_escalation(st, pb2, t, T0 + timedelta(minutes=31))
    caught_up(st)
    x = ticket(st, t)
    assert (x["assignee"], x["priority"]) == ("lead-k", "urgent"), x
    assert "sla_escalation:urgent" in x["priority_reasons"]
    esc = [e for ty, e in router_events(st, pb2, t) if ty == "ticket.escalated"]
    assert len(esc) == 1
    e = esc[0].ticket_escalated
    assert (e.to_agent_id, e.from_agent_id, e.to_team) == ("lead-k", "k1", "technical")
    assert e.priority == pb2.PRIORITY_URGENT
    loads = dict(st.db.query("SELECT id, load FROM router.agents"))
    assert loads == {"s1": 0, "k1": 0, "lead-k": 1}, loads
    assert [n["kind"] for n in x["timeline"] if n["kind"] != "message"] == [
        "ticket.transferred", "ticket.escalated"]


# --- i. the rules file ------------------------------------------------------------------------------------


def test_rules_reload_on_sighup_keeps_the_old_rules_on_a_bad_file(stack, tmp_path):
    default = json.loads((h.REPO / "deploy" / "config" / "router.json").read_text())
    path = tmp_path / "router.json"
    path.write_text(json.dumps(default, ensure_ascii=False))
    st = stack("ingest")
    st["router"].start(extra_env={"CAREBUS_ROUTER_CONFIG": str(path)})
    router = st["router"]

    def category(text, i):
        return ticket(st, routed_ticket(st, message(st, "chat", text, T0 + timedelta(seconds=i),
                                                    handle=f"rl-{i}")))["category"]

    assert category("máy xay sinh tố", 0) == "other"
    # A bad file: refused with a clear message, the rules in force stay.
    path.write_text('{"version": 1, "teams": ["support"], "default_team": "support",'
                    ' "rules": [{"name": "x", "category": "complain", "phrases": ["a"]}]}')
    router.proc.send_signal(signal.SIGHUP)
    h.wait_until("the refusal to be logged", lambda: 'rules[0].category: unknown category'
                 ' \\"complain\\"' in router.log_text(), h.scaled(10))
    assert category("Tôi muốn khiếu nại", 1) == "complaint"
    # A good file with a new rule: applies from the next contact.
    default["rules"].insert(0, {"name": "blender-vi", "category": "product_info",
                                "phrases": ["máy xay sinh tố"]})
    path.write_text(json.dumps(default, ensure_ascii=False))
    router.proc.send_signal(signal.SIGHUP)
    h.wait_until("the reload to be logged", lambda: "reloaded" in router.log_text(),
                 h.scaled(10))
    assert category("may xay sinh to bi hong", 2) == "product_info"
