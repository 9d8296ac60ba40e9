"""Issue 11, lists, queues and search: the work API's reads, end to end, on
real services and PostgreSQL.

  a. every filter of GET /v1/tickets, alone and combined, in every order,
     read page by page through the cursor, equals what the tables say
     (router.tickets, router.customers and sla.targets read here by plain
     SQL, the SLA state computed here from the running targets at the test
     clock); /v1/queues' counts likewise
  b. paging while tickets arrive from another thread, in every order, by
     team, channel, SLA state (both ways of reading it), status and words:
     every ticket that was there when paging began is listed exactly once,
     in its place; none twice
  c. search in Vietnamese with and without diacritics, both ways, in
     English, in subjects and internal notes; ranked (a subject's match
     first), with an HTML snippet that marks the words and escapes the text
  d. customers by the start of a name (without diacritics), a phone number
     (as typed) or an e-mail address; a customer's tickets and a ticket's
     timeline, paged
  e. access: a read scope is needed; a Zalo-only key lists only tickets
     whose contacts all came through Zalo, may not ask for another channel,
     and reads no queue, customer search or other channel's timeline
  f. bad parameters: 400 naming the parameter, and nothing read

Every wait is bounded (h.wait_until).
"""

import json
import os
import threading
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

import carebus_harness as h
from test_ingest_api import call, new_key, wait_routed

VN = timezone(timedelta(hours=7))
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=VN)  # a Monday, in office hours
MAX_PAGES = 200


def iso(dt):
    return dt.isoformat()


def q(path, **params):
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def get(st, path, key=None):
    r = call(st, "GET", path, key=key)
    assert r.status == 200, (path, r)
    return r.json()


def all_pages(st, path, limit=2, key=None, on_page=None):
    """Every item of a list, reading pages of `limit` through next_cursor;
    on_page() after each page read."""
    items, cursor = [], None
    for _ in range(MAX_PAGES):
        sep = "&" if "?" in path else "?"
        page = get(st, f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""),
                   key=key)
        assert set(page) == {"items", "next_cursor"}, page
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if on_page:
            on_page()
        if not cursor:
            return items
        assert len(page["items"]) == limit, "a page before the last one is full"
    raise AssertionError(f"{path}: more than {MAX_PAGES} pages")


def ids(items):
    return [i["id"] for i in items]


# --- the desk --------------------------------------------------------------------------------


class Desk:
    """A stack with router and sla-monitor (on a test clock at T0), and a
    morning's tickets of every kind."""

    def __init__(self, stack):
        self.st = stack(start=False)
        clock = self.st.log_dir / "sla-clock"
        clock.write_text(iso(T0) + "\n")
        self.st.start("ingest", "router")
        self.st["sla"].start(extra_env={
            "CAREBUS_SLA_CLOCK": f"file:{clock}",
            "CAREBUS_SLA_CONFIG_DIR": str(h.REPO / "deploy" / "config"),
        })
        self.n = 0

    def post(self, channel, customer, text, minutes_ago, subject=None, key=None):
        self.n += 1
        msg = {"channel": channel, "external_id": f"lists-{self.n}", "customer": customer,
               "text": text, "occurred_at": iso(T0 - timedelta(minutes=minutes_ago))}
        if subject:
            msg["subject"] = subject
        r = call(self.st, "POST", "/v1/messages", msg, key=key)
        assert r.status == 202, r
        return wait_routed(self.st, r.json()["event_id"])

    def settle(self):
        """Until router and sla-monitor have applied everything."""
        self.st.wait_caught_up("router", "ingest")
        self.st.wait_caught_up("sla-monitor", "ingest")
        self.st.wait_caught_up("sla-monitor", "router")

    # The truth, read from the tables.
    def tickets(self):
        rows = self.st.db.query(
            "SELECT t.id::text, t.status, t.team, t.assignee, t.channel, t.priority,"
            " t.priority_rank, t.category, c.segment, t.tags, t.customer_id::text,"
            " t.created_at, t.updated_at FROM router.tickets t"
            " JOIN router.customers c ON c.id = t.customer_id")
        keys = ("id", "status", "team", "assignee", "channel", "priority", "rank", "category",
                "segment", "tags", "customer_id", "created_at", "updated_at")
        out = {r[0]: dict(zip(keys, r)) for r in rows}
        now = self.st.db.scalar("SELECT sla.now()")
        for t in out.values():
            t["due"] = t["warn"] = t["sla"] = None
        for tid, due, warn in self.st.db.query(
                "SELECT ticket_id::text, due_at, coalesce(warn_at, due_at) FROM sla.targets"
                " WHERE status = 'running' AND due_at IS NOT NULL"):
            t = out[tid]
            t["due"] = due if t["due"] is None else min(t["due"], due)
            t["warn"] = warn if t["warn"] is None else min(t["warn"], warn)
        for t in out.values():
            if t["due"] is not None:
                t["sla"] = ("breached" if t["due"] <= now else
                            "warning" if t["warn"] <= now else "within")
        return out


def queue_order(ts):
    return [t["id"] for t in sorted(ts, key=lambda t: (-t["rank"], t["created_at"], t["id"]))]


def newest(ts, col):
    return [t["id"] for t in sorted(ts, key=lambda t: (t[col], t["id"]), reverse=True)]


def due_order(ts):
    return [t["id"] for t in sorted((t for t in ts if t["due"] is not None),
                                    key=lambda t: (t["due"], t["id"]))]


def morning(desk):
    """Tickets on every channel, in every state: returns the customers."""
    st = desk.st
    lan = {"name": "Nguyễn Thị Lan", "phone": "0901 234 567", "email": "lan.nguyen@example.vn"}
    minh = {"name": "Trần Văn Minh", "phone": "+84 912 345 678", "handle": "zalo-minh"}
    john = {"name": "John Smith", "email": "john@example.com"}
    hoa = {"name": "Lê Hoa", "handle": "zalo-hoa"}
    an = {"name": "Phạm An", "phone": "0987 654 321"}
    # An agent of complaints and billing, online: the router gives her two.
    r = call(st, "PUT", "/v1/agents/thu/presence",
             {"presence": "online", "capacity": 2, "teams": ["complaints", "account-management"]})
    assert r.status == 202, r
    posts = [
        ("zalo", minh, "Tôi muốn khiếu nại về đơn hàng DH1001, giao chậm quá", 300, None),
        ("email", lan, "Xin hoàn tiền đơn hàng DH1002, tôi bị trừ tiền hai lần", 240,
         "Hoàn tiền gấp"),
        ("facebook", an, "Sản phẩm bị lỗi, cần bảo hành", 200, None),
        ("email", john, "I was charged twice, please refund", 150, "Refund request"),
        ("zalo", hoa, "Tai khoan cua toi khong dang nhap duoc", 100, None),
        ("phone", an, "Gọi hỏi về khuyến mãi", 90, None),
        ("chat", {"name": "Võ Thanh", "email": "thanh@example.vn"}, "Tôi cần hỗ trợ kỹ thuật gấp",
         50, None),
        ("sms", {"name": "Đỗ Quang", "phone": "0933 111 222"}, "Khieu nai thai do nhan vien", 40,
         None),
        ("zalo", {"name": "Bùi Mai", "handle": "zalo-mai"}, "Hỏi giá sản phẩm", 20, None),
        ("whatsapp", {"name": "Ngô Tú", "phone": "0977 888 999"}, "Đổi trả hàng được không?", 10,
         None),
        ("email", {"name": "Hồ Yến", "email": "yen@example.vn"}, "Hóa đơn tháng này sai", 5,
         "Hóa đơn"),
    ]
    tickets = {}
    for i, (ch, cust, text, ago, subj) in enumerate(posts):
        ev = desk.post(ch, cust, text, ago, subj)
        tickets[i] = ev["ticket_id"]
    # A VIP, a wholesale customer.
    vip = desk.post("email", lan, "Cho tôi hỏi thêm", 230)["customer_id"]
    assert call(st, "PUT", f"/v1/customers/{vip}", {"segment": "vip"}).status == 202
    whole = st.db.scalar("SELECT customer_id::text FROM router.tickets WHERE id = %s",
                         (tickets[2],))
    assert call(st, "PUT", f"/v1/customers/{whole}", {"segment": "wholesale"}).status == 202
    # Statuses, a transfer, an internal note.
    for i, status in ((3, "pending"), (5, "solved"), (8, "closed")):
        r = call(st, "POST", f"/v1/tickets/{tickets[i]}/status", {"status": status})
        assert r.status == 202, r
    r = call(st, "POST", f"/v1/tickets/{tickets[9]}/transfer", {"team": "loyalty"})
    assert r.status == 202, r
    r = call(st, "POST", f"/v1/tickets/{tickets[6]}/replies",
             {"agent_id": "thu", "text": "Đã chuyển cho nhóm mạng lưới", "internal_note": True})
    assert r.status == 202, r
    # Tags, as an agent spells them (the lists read them normalised).
    for i, tags in ((1, ["Refund", "VIP followup"]), (3, ["refund"])):
        r = call(st, "PATCH", f"/v1/tickets/{tickets[i]}", {"tags_add": tags})
        assert r.status in (200, 202), r
    desk.settle()
    return {"lan": vip, "whole": whole, "tickets": tickets}


def add_phantom_targets(st):
    """SLA_FEW (tickets_list.c) running targets in each SLA state, of
    tickets that are not there (no list shows them): the lists then read a
    state by walking the tickets and probing each one's clock."""
    st.db.query(
        "INSERT INTO sla.targets (ticket_id, target, cycle, status, policy_id, calendar_id,"
        " priority, segment, target_secs, started_at, due_at, warn_at)"
        " SELECT gen_random_uuid(), 'resolution', 0, 'running', 'phantom', '24x7', 'normal',"
        " 'regular', 7200, n - interval '1 hour', n + d.due, n + d.warn"
        " FROM sla.now() n, (VALUES (interval '-1 minute', interval '-2 minutes'),"
        " (interval '1 hour', interval '-1 minute'), (interval '2 hours', interval '1 hour'))"
        " AS d (due, warn), generate_series(1, 2000)")


def drop_phantom_targets(st):
    st.db.query("DELETE FROM sla.targets WHERE policy_id = 'phantom'")


# --- a. every filter and order ---------------------------------------------------------------


def test_every_filter_and_order_lists_what_the_tables_say(stack):
    desk = Desk(stack)
    st = desk.st
    m = morning(desk)
    truth = desk.tickets()
    ts = list(truth.values())
    assert len(ts) == 10  # An and Lan each wrote twice on one ticket
    # The morning has tickets in each SLA state, assigned and not.
    states = {t["sla"] for t in ts}
    assert {"breached", "within"} <= states, states
    assert any(t["assignee"] == "thu" for t in ts) and any(t["assignee"] is None for t in ts)

    def check(params, want, what=None):
        got = ids(all_pages(st, q("/v1/tickets", **params)))
        assert got == want, (what or params, got, want)

    def where(pred):
        return [t for t in ts if pred(t)]

    check({}, queue_order(ts))
    check({"sort": "updated"}, newest(ts, "updated_at"))
    check({"sort": "created"}, newest(ts, "created_at"))
    check({"sort": "due"}, due_order(ts))
    # The due order through the queue's members (a team, no assignee, an
    # active status), paged.
    for team in {t["team"] for t in ts}:
        check({"sort": "due", "team": team}, due_order(where(lambda t: t["team"] == team)))
    check({"sort": "due", "status": "open", "assignee": "unassigned"},
          due_order(where(lambda t: t["status"] == "open" and t["assignee"] is None)))
    check({"sort": "due", "status": "solved,closed"}, [])
    for status in ("open", "pending", "solved", "closed", "open,pending"):
        check({"status": status}, queue_order(where(lambda t: t["status"] in status.split(","))))
    for team in {t["team"] for t in ts}:
        check({"team": team}, queue_order(where(lambda t: t["team"] == team)))
    check({"team": "complaints,loyalty"},
          queue_order(where(lambda t: t["team"] in ("complaints", "loyalty"))))
    check({"assignee": "thu"}, queue_order(where(lambda t: t["assignee"] == "thu")))
    check({"assignee": "unassigned"}, queue_order(where(lambda t: t["assignee"] is None)))
    check({"assignee": "nobody-at-all"}, [])
    for ch in ("zalo", "email", "zalo,email,sms"):
        check({"channel": ch}, queue_order(where(lambda t: t["channel"] in ch.split(","))))
    for prio in {t["priority"] for t in ts}:
        check({"priority": prio}, queue_order(where(lambda t: t["priority"] == prio)))
    for cat in {t["category"] for t in ts if t["category"]}:
        check({"category": cat}, queue_order(where(lambda t: t["category"] == cat)))
    for seg in ("vip", "wholesale", "regular", "vip,wholesale"):
        check({"segment": seg}, queue_order(where(lambda t: t["segment"] in seg.split(","))))
    check({"tag": "refund"}, queue_order(where(lambda t: "refund" in t["tags"])))
    check({"tag": "refund,VIP followup"},
          queue_order(where(lambda t: {"refund", "vip_followup"} <= set(t["tags"]))))
    assert len(where(lambda t: "refund" in t["tags"])) == 2
    check({"customer_id": m["lan"]}, queue_order(where(lambda t: t["customer_id"] == m["lan"])))
    for state in ("breached", "warning", "within", "breached,warning"):
        check({"sla": state}, queue_order(where(lambda t: t["sla"] in state.split(","))))
        check({"sla": state, "sort": "due"},
              due_order(where(lambda t: t["sla"] in state.split(","))))
    mid = T0 - timedelta(minutes=95)
    check({"created_from": iso(mid)}, queue_order(where(lambda t: t["created_at"] >= mid)))
    check({"created_to": iso(mid)}, queue_order(where(lambda t: t["created_at"] < mid)))
    upd = sorted(t["updated_at"] for t in ts)[len(ts) // 2]
    check({"updated_from": upd.isoformat()}, queue_order(where(lambda t: t["updated_at"] >= upd)))
    check({"updated_to": upd.isoformat(), "sort": "updated"},
          newest(where(lambda t: t["updated_at"] < upd), "updated_at"))
    dues = sorted(t["due"] for t in ts if t["due"])
    cut = dues[len(dues) // 2]
    check({"due_from": cut.isoformat()},
          queue_order(where(lambda t: t["due"] is not None and t["due"] >= cut)))
    check({"due_to": cut.isoformat(), "sort": "due"},
          due_order(where(lambda t: t["due"] is not None and t["due"] < cut)))
    # Combined: AND across filters.
    check({"status": "open", "channel": "zalo,email", "sort": "updated"},
          newest(where(lambda t: t["status"] == "open" and t["channel"] in ("zalo", "email")),
                 "updated_at"))
    check({"team": "complaints", "assignee": "unassigned", "sla": "breached,warning,within"},
          queue_order(where(lambda t: t["team"] == "complaints" and t["assignee"] is None
                            and t["sla"] is not None)))

    # An item: the ticket as a queue draws it, with its SLA clock.
    first = get(st, "/v1/tickets?limit=1")
    item = first["items"][0]
    t = truth[item["id"]]
    for k in ("status", "team", "assignee", "channel", "priority", "category", "segment",
              "customer_id"):
        assert item[k] == t[k], (k, item, t)
    assert item["number"] and item["customer_name"] and item["last_message"]["preview"]
    if t["sla"]:
        assert item["sla"]["state"] == t["sla"]
    # Limits: 25 by default, 100 at most.
    assert len(get(st, "/v1/tickets")["items"]) == len(ts)
    assert get(st, "/v1/tickets?limit=100")["next_cursor"] is None

    # The queues: each team's and agent's counts, as the tables say.
    queues = get(st, "/v1/queues")
    teams = {x["team"]: x for x in queues["teams"]}
    active = [t for t in ts if t["status"] in ("open", "pending")]
    for team in {t["team"] for t in active}:
        mine = [t for t in active if t["team"] == team]
        x = teams[team]
        assert x["open"] == sum(t["status"] == "open" for t in mine), (team, x)
        assert x["pending"] == sum(t["status"] == "pending" for t in mine), (team, x)
        assert x["unassigned"] == sum(t["assignee"] is None for t in mine), (team, x)
        assert x["breaching"] == sum(t["sla"] == "breached" for t in mine), (team, x)
    agents = {x["agent_id"]: x for x in queues["agents"]}
    thu = [t for t in active if t["assignee"] == "thu"]
    assert agents["thu"]["open"] == sum(t["status"] == "open" for t in thu)
    assert agents["thu"]["presence"] == "online" and agents["thu"]["capacity"] == 2
    waiting = [x for x in queues["teams"] if x["unassigned"]]
    assert waiting and all(x["oldest_waiting_s"] >= 0 for x in waiting)
    # What they are counted from, kept beside the tickets by triggers,
    # says what the tickets say.
    assert st.db.query(
        "SELECT ticket_id, team, assignee, status, queued_at, held_at FROM router.queue_members"
        " ORDER BY ticket_id") == st.db.query(
        "SELECT id, team, assignee, status, queued_at, coalesce(assigned_at, created_at)"
        " FROM router.tickets WHERE status IN ('open', 'pending') ORDER BY id")
    # The "updated" order's two halves (0016): the active tickets' times,
    # kept beside them, and the settled ones' settled_at.
    assert st.db.query(
        "SELECT ticket_id, updated_at FROM router.queue_members ORDER BY ticket_id") == st.db.query(
        "SELECT id, updated_at FROM router.tickets WHERE status IN ('open', 'pending') ORDER BY id")
    assert st.db.query(
        "SELECT count(*) FROM router.tickets WHERE settled_at IS DISTINCT FROM"
        " CASE WHEN status IN ('solved', 'closed') THEN updated_at END") == [(0,)]

    # Forty minutes later the first tickets warn. Each SLA state's list says
    # what the tables say, both ways tickets_list.c reads it: as the set of
    # tickets in the state (fewer than SLA_FEW running targets in it), and,
    # once SLA_FEW targets of tickets that are not there (no list shows
    # them) are in every state, by walking the tickets and probing each
    # one's clock.
    clock = st.log_dir / "sla-clock"
    later = T0 + timedelta(minutes=40)
    clock.with_suffix(".tmp").write_text(iso(later) + "\n")
    os.replace(clock.with_suffix(".tmp"), clock)
    h.wait_until("sla-monitor to see the clock", lambda: st.db.scalar(
        "SELECT now FROM sla.clock") == later.astimezone(timezone.utc), h.scaled(10))
    st.wait_settled()
    ts = list(desk.tickets().values())
    assert {"breached", "warning", "within"} <= {t["sla"] for t in ts}

    def check_states():
        for state in ("breached", "warning", "within", "warning,within"):
            check({"sla": state}, queue_order(where(lambda t: t["sla"] in state.split(","))))
            check({"sla": state, "sort": "due"},
                  due_order(where(lambda t: t["sla"] in state.split(","))))

    check_states()
    add_phantom_targets(st)
    try:
        check_states()
    finally:
        drop_phantom_targets(st)


# --- b. paging while tickets arrive ------------------------------------------------------------


class Arrivals(threading.Thread):
    """New tickets, posted from a thread of their own while lists are paged:
    one for each permit (the paging gives one after a page), at most `most`;
    `routed` is released once the router has placed it (or it failed), so
    the paging reads its next page after it (one()).
    Each is a new customer's, on a channel and with a text of the `kinds`
    in turn (so in every team, channel and search), written in the last
    half hour before the test clock: in the queue, created and due orders
    it lands before and after the pages already read, and its SLA targets
    neither warn nor breach, so its place in every order stays where it was
    first listed (an escalation would reprioritise it and move it)."""

    def __init__(self, st, kinds, most):
        super().__init__(daemon=True)
        self.st, self.kinds, self.most = st, kinds, most
        self.permits = threading.Semaphore(0)
        self.routed = threading.Semaphore(0)
        self.done = threading.Event()
        self.posted, self.errors = 0, []

    def run(self):
        while self.posted < self.most:
            if not self.permits.acquire(timeout=h.scaled(60)) or self.done.is_set():
                return
            n = self.posted
            channel, text = self.kinds[n % len(self.kinds)]
            try:
                r = call(self.st, "POST", "/v1/messages", {
                    "channel": channel, "external_id": f"new-{n}",
                    "customer": {"name": f"Mới {n}", "phone": f"0903{n:06d}"},
                    "text": f"{text} (mới {n})",
                    "occurred_at": iso(T0 - timedelta(seconds=30 + n * 397 % 1700))})
                if r.status != 202:
                    self.errors.append(r)
                else:
                    wait_routed(self.st, r.json()["event_id"])
            except Exception as e:  # reported by finish()
                self.errors.append(e)
            finally:
                self.posted += 1
                self.routed.release()

    def one(self):
        """Lets one more ticket arrive and waits until the router has placed
        it: a page read after this sees it where it belongs."""
        self.permits.release()
        assert self.routed.acquire(timeout=h.scaled(45)), "an arrival was not routed"
        assert not self.errors, self.errors[:3]

    def finish(self):
        self.done.set()
        self.permits.release()
        self.join(h.scaled(60))
        assert not self.is_alive(), "the arrivals thread did not end"
        assert not self.errors, self.errors[:3]


PAGING_KINDS = [  # (channel, text): what the router makes of each differs
    ("zalo", "Tôi muốn khiếu nại, giao chậm quá"),  # complaints, high
    ("email", "Hóa đơn tháng này sai, xem lại giúp"),  # account-management
    ("chat", "Cần bảo hành máy giặt"),  # returns-warranty
    ("zalo", "Hóa đơn chưa nhận được, gấp"),  # account-management, high
    ("email", "Xin hỗ trợ thông tin sản phẩm"),  # support, low
    ("chat", "Khiếu nại thái độ nhân viên, gấp"),  # complaints, urgent
]
PAGING_SEARCH = "hoa don"  # "hóa đơn", without its diacritics


def test_paging_lists_every_ticket_once_while_tickets_arrive(stack):
    """Every order, and the filters team, channel, SLA state, status and a
    search, paged 3 at a time while new tickets arrive from another thread:
    each ticket that was there when paging began is listed once, in its
    place; those that arrive meanwhile may be listed or not, never twice,
    and what is listed is in the list's order. The tickets already there do
    not change meanwhile (their keys are checked): this is about inserts. A
    ticket whose own key changes moves in the order (docs/openapi.yaml)."""
    desk = Desk(stack)
    st = desk.st
    # 30 tickets: 20 in the last half hour (among which the new ones land),
    # 10 older ones, some of them breached (and escalated) by the test clock.
    for i in range(30):
        channel, text = PAGING_KINDS[i % len(PAGING_KINDS)]
        ago = 1 + i * 3 // 2 if i < 20 else 45 + (i - 20) * 30
        desk.post(channel, {"name": f"Khách {i}", "phone": f"0902{i:06d}"}, f"{text} (lần {i})",
                  ago)
    desk.settle()
    st.wait_settled()
    before = desk.tickets()
    assert len(before) == 30

    def search_hits():
        return {r[0] for r in st.db.query(
            "SELECT DISTINCT ticket_id::text FROM router.messages WHERE search @@"
            " websearch_to_tsquery('router.carebus_search'::regconfig, %s)", (PAGING_SEARCH,))}

    hits_before = search_hits()
    orders = {"queue": queue_order, "updated": lambda ts: newest(ts, "updated_at"),
              "created": lambda ts: newest(ts, "created_at"), "due": due_order}
    lists = [dict(f, sort=s) for s in orders for f in (
        {}, {"team": "complaints"}, {"channel": "zalo"}, {"sla": "within"})]
    lists += [{"status": "open"}, {"sla": "breached,warning"}, {"q": PAGING_SEARCH},
              {"q": PAGING_SEARCH, "channel": "zalo"}]
    # Each SLA state both ways tickets_list.c reads it (see test a): after
    # these, with SLA_FEW running targets of absent tickets in every state.
    walked = [{"sla": "within", "sort": "queue"}, {"sla": "within", "sort": "due"}]
    per_list = 5
    arrivals = Arrivals(st, PAGING_KINDS, per_list * (len(lists) + len(walked)))
    arrivals.start()
    seen = []  # (params, items)
    try:
        for params in lists + walked:
            if params is walked[0]:
                add_phantom_targets(st)
            budget = [per_list]

            def one_more():
                if budget[0]:
                    budget[0] -= 1
                    arrivals.one()

            seen.append((params, all_pages(st, q("/v1/tickets", **params), limit=3,
                                           on_page=one_more)))
    finally:
        drop_phantom_targets(st)
        arrivals.finish()
    desk.settle()
    st.wait_settled()
    after = desk.tickets()
    # The tickets already there kept their place in every order and filter.
    keys = ("status", "team", "channel", "rank", "created_at", "updated_at", "due", "sla")
    for tid, t in before.items():
        assert {k: after[tid][k] for k in keys} == {k: t[k] for k in keys}, tid
    # The new ones neither warned nor breached (nothing moved them).
    new = set(after) - set(before)
    assert arrivals.posted and len(new) == arrivals.posted, (arrivals.posted, len(new))
    assert {after[i]["sla"] for i in new} <= {"within", None}
    hits_after = search_hits()
    assert hits_before and hits_before <= hits_after

    def passes(t, params):
        for k, v in params.items():
            if k == "q":
                if t["id"] not in hits_after:
                    return False
            elif k != "sort" and t[k] not in v.split(","):
                return False
        return True

    def listed_keys(params, items):
        """Each listed ticket's sort key and id, turned ascending: a search's
        rank and the due time as the page showed them (sla-monitor places a
        ticket's deadlines after the router made it), the router's keys
        from the tables (it sets them once, when it makes the ticket)."""
        sort = "relevance" if "q" in params else params.get("sort", "queue")
        out = []
        for i in items:
            t = after[i["id"]]
            if sort == "relevance":
                out.append((-i["search"]["rank"], i["id"]))
            elif sort == "due":
                out.append((datetime.fromisoformat(i["sla"]["due_at"]), i["id"]))
            elif sort == "queue":
                out.append((-t["rank"], t["created_at"], i["id"]))
            else:  # newest first
                out.append((t[sort + "_at"], i["id"]))
        return out[::-1] if sort in ("updated", "created") else out

    listed_new = 0
    for params, items in seen:
        got = ids(items)
        # A cursor only moves forward: each listed key after the one before.
        # A ticket is listed twice only if its own key moved past the
        # cursor meanwhile, which none of these do.
        ks = listed_keys(params, items)
        assert all(a < b for a, b in zip(ks, ks[1:])), (params, ks)
        assert len(got) == len(set(got)), (params, "a ticket was listed twice")
        want = [t for t in after.values() if passes(t, params)]
        assert set(got) <= {t["id"] for t in want}, (params, "listed but not asked for")
        # The tickets already there: each once, in its place.
        mine = [t for t in want if t["id"] in before]
        expected = ({t["id"] for t in mine} if "q" in params else
                    orders[params.get("sort", "queue")](mine))
        listed = [i for i in got if i in before]
        if "q" in params:
            assert set(listed) == expected, (params, "tickets skipped", expected - set(listed))
        else:
            assert listed == expected, (params, "skipped or out of place",
                                        set(expected) - set(listed))
        listed_new += len(set(got) & new)
    # Paging met tickets that arrived while it went on: each arrival was
    # routed before the next page was read (Arrivals.one), and the keys
    # of the tickets, old and new, are the same every run, so this does
    # not depend on timing.
    assert listed_new > 0


# --- c. search -------------------------------------------------------------------------------


def test_search_finds_vietnamese_with_and_without_diacritics(stack):
    st = stack("ingest", "router")

    def post(ext, text, subject=None, channel="email", name="Lan"):
        msg = {"channel": channel, "external_id": ext, "text": text,
               "customer": {"name": name, "email": f"{ext}@example.vn"}}
        if subject:
            msg["subject"] = subject
        r = call(st, "POST", "/v1/messages", msg)
        assert r.status == 202, r
        return wait_routed(st, r.json()["event_id"])["ticket_id"]

    accented = post("s1", "Tôi muốn khiếu nại về thái độ & cách <b>nói</b> của nhân viên")
    plain = post("s2", "Toi muon khieu nai ve don hang", channel="zalo")
    subject = post("s3", "Đơn hàng của tôi giao chậm", subject="Khiếu nại giao hàng")
    english = post("s4", "I was charged twice, please refund the second payment")
    other = post("s5", "Cho tôi hỏi giá sản phẩm")
    r = call(st, "POST", f"/v1/tickets/{other}/replies",
             {"agent_id": "thu", "text": "Khách hỏi lại về bảo hành máy giặt",
              "internal_note": True})
    assert r.status == 202, r
    h.wait_until("the note", lambda: st.db.scalar(
        "SELECT count(*) FROM router.messages WHERE direction = 'note'") == 1, h.scaled(10))

    def search(text, **more):
        return all_pages(st, q("/v1/tickets", q=text, **more), limit=10)

    # Without diacritics finds with, and the reverse; case does not matter.
    for text in ("khieu nai", "khiếu nại", "KHIEU NAI", "Khiêu Nại"):
        found = search(text)
        assert set(ids(found)) == {accented, plain, subject}, (text, ids(found))
        # A match in the subject ranks first.
        assert found[0]["id"] == subject, (text, ids(found))
        ranks = [i["search"]["rank"] for i in found]
        assert ranks == sorted(ranks, reverse=True)
    assert ids(search("refund")) == [english]
    assert ids(search("bao hanh may giat")) == [other]  # an internal note
    assert ids(search("tiếng Pháp")) == []
    # Combined with filters.
    assert ids(search("khieu nai", channel="zalo")) == [plain]
    # The snippet: the text escaped, the words found marked.
    hit = next(i for i in search("khieu nai") if i["id"] == accented)
    snip = hit["search"]["snippet"]
    assert "<mark>khiếu</mark> <mark>nại</mark>" in snip, snip
    assert "&lt;b&gt;" in snip and "&amp;" in snip and "<b>" not in snip, snip
    assert uuid.UUID(hit["search"]["message_id"])
    # The search's pages: ranks go down, no ticket twice.
    pages = all_pages(st, q("/v1/tickets", q="khieu nai"), limit=1)
    assert ids(pages) == ids(search("khieu nai"))


def test_a_common_word_is_searched_from_the_newest_messages(stack):
    """router.search_walks: a word in every message walks back from the
    newest (the 200 newest matching messages are ranked), a rare one reads
    the search index (every match)."""
    st = stack("ingest", "router")
    n = 260
    msgs = [{"channel": "chat", "external_id": f"w-{i}", "text": f"Xin hỗ trợ đơn DH{i:05d}",
             "customer": {"name": f"Khách {i}", "email": f"w{i}@example.vn"},
             "occurred_at": iso(T0 + timedelta(minutes=i))} for i in range(n)]
    answers, _ = h.post_all(st, msgs)
    assert all(s in (200, 202) for s, _ in answers.values())
    st.wait_caught_up("router", "ingest", at_least=n)
    st.db.query("ANALYZE router.messages")
    assert st.db.scalar("SELECT router.search_walks(websearch_to_tsquery("
                        "'router.carebus_search', 'xin ho tro'), 200)") is True
    assert st.db.scalar("SELECT router.search_walks(websearch_to_tsquery("
                        "'router.carebus_search', 'DH00042'), 200)") is False
    newest = [r[0] for r in st.db.query(
        "SELECT ticket_id::text FROM router.messages ORDER BY at DESC LIMIT 200")]
    found = all_pages(st, q("/v1/tickets", q="xin ho tro"), limit=100)
    assert sorted(ids(found)) == sorted(newest)
    assert len(ids(all_pages(st, q("/v1/tickets", q="hỗ trợ", channel="chat"), limit=100))) == 200
    rare = all_pages(st, q("/v1/tickets", q="DH00042"))
    assert len(rare) == 1 and "<mark>DH00042</mark>" in rare[0]["search"]["snippet"]


def test_a_middling_word_is_searched_in_a_recent_window_first(stack):
    """router.search_since: a word in a few hundredths of the messages is
    searched among the recent ones first (the search index and messages_at
    together); what it finds is what reading every match finds: the
    tickets of the 200 newest matching messages, each ranked by its best
    one. Where the window has too few (a filter whose matches are all
    older), every match is read."""
    st = stack("ingest", "router")
    n = 300
    msgs = [{"channel": "zalo" if i % 2 else "chat", "external_id": f"m-{i}",
             "text": f"Xin hỗ trợ đơn DH{i:05d}",
             "customer": {"name": f"Khách {i}", "email": f"m{i}@example.vn"},
             "occurred_at": iso(T0 + timedelta(minutes=i))} for i in range(n)]
    answers, _ = h.post_all(st, msgs)
    assert all(s in (200, 202) for s, _ in answers.values())
    st.wait_caught_up("router", "ingest", at_least=n)
    # A desk's history, older than the tickets above and spread over them:
    # one message in 12 names the air conditioner on the chat tickets
    # throughout, on the Zalo ones only in the older half (6 % of them: a
    # walk would read more than a quarter of what the window lists); a
    # subject's weight and the words' count vary the rank.
    filler = 100_000
    st.db.query(f"""
        INSERT INTO router.messages (event_id, ticket_id, customer_id, channel, direction,
                                     subject, text, at, stream, seq)
        SELECT gen_random_uuid(), t.id, t.customer_id, t.channel, 'in',
               CASE WHEN g % 84 = 0 AND (t.channel = 'chat' OR g < {filler} / 2)
                    THEN 'Máy lạnh Daikin' END,
               CASE WHEN g % 12 = 0 AND (t.channel = 'chat' OR g < {filler} / 2)
                    THEN repeat('máy lạnh Daikin kêu to ', 1 + g % 3)
                    ELSE 'xin chào, cho hỏi giá' END,
               timestamptz '{T0.isoformat()}' - ({filler} - g) * interval '1 second',
               'test', g
          FROM generate_series(1, {filler}) g
          JOIN (SELECT id, customer_id, channel, row_number() OVER (ORDER BY id) - 1 AS k
                  FROM router.tickets) t ON t.k = abs(hashtext(g::text)) % {n}""")
    st.db.query("ANALYZE router.messages")
    tsq = "websearch_to_tsquery('router.carebus_search', 'may lanh daikin')"
    assert st.db.scalar(f"SELECT router.search_walks({tsq}, 200)") is False
    since = st.db.scalar(f"SELECT router.search_since({tsq}, 200)")
    assert since is not None, "the word has a window"
    assert st.db.scalar(f"SELECT count(*) FROM router.messages WHERE search @@ {tsq}"
                        " AND at >= %s", (since,)) >= 200

    def expected(channel=None):
        """The rule, read here over every match."""
        where = "AND m.channel = %s" if channel else ""
        return [(r[0], r[1]) for r in st.db.query(f"""
            SELECT b.ticket_id::text, b.rank FROM (
                SELECT DISTINCT ON (c.ticket_id) c.ticket_id, c.rank FROM (
                    SELECT m.ticket_id, ts_rank(m.search, {tsq}) AS rank
                      FROM router.messages m
                     WHERE m.search @@ {tsq} {where}
                     ORDER BY m.at DESC LIMIT 200) c
                 ORDER BY c.ticket_id, c.rank DESC) b
             ORDER BY b.rank DESC, b.ticket_id""", (channel,) if channel else None)]

    def found(**more):
        items = all_pages(st, q("/v1/tickets", q="máy lạnh Daikin", **more), limit=7)
        return [(i["id"], i["search"]["rank"]) for i in items]

    def same(a, b):
        assert [x[0] for x in a] == [x[0] for x in b]
        assert all(abs(x[1] - y[1]) < 1e-6 for x, y in zip(a, b))

    want = expected()
    assert len(want) > 50
    same(found(), want)
    # The Zalo tickets' matches are all before the window: every match read.
    zalo = expected("zalo")
    assert zalo and not set(t for t, _ in zalo) & set(t for t, _ in want)
    same(found(channel="zalo"), zalo)
    hit = all_pages(st, q("/v1/tickets", q="may lanh daikin"), limit=1)[0]
    assert "<mark>Daikin</mark>" in hit["search"]["snippet"], hit


# --- d. customers, a customer's tickets, a timeline ---------------------------------------------


def test_customers_by_name_phone_or_address_and_paged_histories(stack):
    st = stack("ingest", "router")
    people = [
        ("Nguyễn Thị Lan", "0901 234 567", "lan.nguyen@example.vn"),
        ("Nguyễn Văn An", "0901 999 888", "an@example.vn"),
        ("Nguyen Van Binh", "0912 345 678", "binh.nguyen@example.vn"),
        ("Trần Thị Nguyệt", "0987 000 111", "nguyet@example.vn"),
        ("John Smith", "+1 415 555 0123", "nguyen.fan@example.com"),
    ]
    cust, first = {}, {}
    for i, (name, phone, email) in enumerate(people):
        r = call(st, "POST", "/v1/messages", {
            "channel": "email", "external_id": f"c-{i}", "text": "Xin chào",
            "customer": {"name": name, "phone": phone, "email": email}})
        assert r.status == 202, r
        ev = wait_routed(st, r.json()["event_id"])
        cust[name], first[name] = ev["customer_id"], ev["ticket_id"]

    def names(query, limit=2):
        return [c["name"] for c in all_pages(st, q("/v1/customers", q=query), limit=limit)]

    # Names first (without diacritics or case), then addresses not already
    # listed by name.
    assert names("nguyen") == ["Nguyễn Thị Lan", "Nguyễn Văn An", "Nguyen Van Binh",
                               "John Smith"]
    assert names("NGUYỄN VĂN") == ["Nguyễn Văn An", "Nguyen Van Binh"]
    assert names("tran thi") == ["Trần Thị Nguyệt"]
    assert names("nguyet@") == ["Trần Thị Nguyệt"]
    # Phones as typed, any spelling.
    assert sorted(names("0901")) == ["Nguyễn Thị Lan", "Nguyễn Văn An"]
    assert names("+84 901 234") == ["Nguyễn Thị Lan"]
    assert names("901 99") == ["Nguyễn Văn An"]
    assert names("zzz") == []
    item = all_pages(st, q("/v1/customers", q="lan.nguyen"))[0]
    assert item["id"] == cust["Nguyễn Thị Lan"]
    assert {"kind": "phone", "value": "+84901234567"} in item["identities"]
    # The look-up by handle is still there.
    assert get(st, "/v1/customers?phone=0901234567")["id"] == cust["Nguyễn Thị Lan"]

    # Lan's history: four tickets (each closed before the next), newest first.
    lan = cust["Nguyễn Thị Lan"]
    tickets = [first["Nguyễn Thị Lan"]]
    for k in range(3):
        prev = tickets[-1]
        r = call(st, "POST", f"/v1/tickets/{prev}/status", {"status": "closed"})
        assert r.status == 202, r
        h.wait_until("closed", lambda: st.db.scalar(
            "SELECT status FROM router.tickets WHERE id = %s", (prev,)) == "closed", h.scaled(10))
        r = call(st, "POST", "/v1/messages", {
            "channel": "zalo", "external_id": f"lan-{k}", "text": f"Lần {k}",
            "customer": {"name": "Nguyễn Thị Lan", "phone": "0901234567"},
            "occurred_at": iso(T0 + timedelta(days=30 * (k + 1)))})
        assert r.status == 202, r
        tickets.append(wait_routed(st, r.json()["event_id"])["ticket_id"])
    assert len(set(tickets)) == 4
    hist = ids(all_pages(st, f"/v1/customers/{lan}/tickets", limit=3))
    assert hist == tickets[::-1], hist
    assert ids(all_pages(st, f"/v1/customers/{lan}/tickets?status=open")) == [tickets[3]]
    r = call(st, "GET", f"/v1/customers/{uuid.uuid4()}/tickets")
    assert r.status == 404, r
    r = call(st, "GET", "/v1/customers/not-a-uuid/tickets")
    assert r.status == 404, r
    r = call(st, "GET", f"/v1/customers/{lan}/tickets?customer_id={lan}")
    assert r.status == 400 and r.json()["error"]["field"] == "customer_id", r

    # A timeline, paged: the same entries as the ticket's, in order.
    t = tickets[0]
    for k in range(4):
        r = call(st, "POST", f"/v1/tickets/{t}/replies", {"agent_id": "thu", "text": f"Trả lời {k}"})
        assert r.status == 202, r
    whole = h.wait_until("the replies", lambda: (lambda tl: tl if len(tl) >= 5 else None)(
        get(st, f"/v1/tickets/{t}")["timeline"]), h.scaled(10))
    paged = all_pages(st, f"/v1/tickets/{t}/timeline", limit=2)
    assert paged == whole
    assert all_pages(st, f"/v1/tickets/{t}/timeline", limit=100) == whole
    assert call(st, "GET", f"/v1/tickets/{uuid.uuid4()}/timeline").status == 404
    r = call(st, "GET", f"/v1/tickets/{t}/timeline?status=open")
    assert r.status == 400 and r.json()["error"]["field"] == "status", r


# --- e. access --------------------------------------------------------------------------------


def test_lists_need_read_and_a_zalo_key_lists_only_zalo(stack):
    st = stack("ingest", "router")
    zalo = new_key(st, "zalo bridge", channels="zalo")["key"]
    ingest_only = new_key(st, "ingest only", scopes="ingest")["key"]

    def post(ext, channel, customer, key=None):
        r = call(st, "POST", "/v1/messages", {"channel": channel, "external_id": ext,
                                             "text": "Tôi cần hỗ trợ", "customer": customer},
                 key=key)
        assert r.status == 202, r
        return wait_routed(st, r.json()["event_id"])["ticket_id"]

    mine = post("a1", "zalo", {"name": "Lan", "handle": "z-lan"}, key=zalo)
    mixed = post("a2", "zalo", {"name": "Minh", "handle": "z-minh", "phone": "0901000001"},
                 key=zalo)
    assert post("a3", "email", {"name": "Minh", "phone": "0901000001",
                                "email": "minh@example.vn"}) == mixed
    mail = post("a4", "email", {"name": "An", "email": "an@example.vn"})

    everyone = set(ids(all_pages(st, "/v1/tickets")))
    assert everyone == {mine, mixed, mail}
    # The Zalo key: only the ticket whose contacts all came through Zalo,
    # whatever it asks for (a search included).
    assert ids(all_pages(st, "/v1/tickets", key=zalo)) == [mine]
    assert ids(all_pages(st, "/v1/tickets?channel=zalo", key=zalo)) == [mine]
    assert ids(all_pages(st, q("/v1/tickets", q="hỗ trợ"), key=zalo)) == [mine]
    assert ids(all_pages(st, "/v1/tickets?sort=updated", key=zalo)) == [mine]

    def forbidden(path, key, scope=None):
        r = call(st, "GET", path, key=key)
        assert r.status == 403, (path, r)
        assert r.json()["error"].get("scope") == scope, r

    forbidden("/v1/tickets?channel=email", zalo)
    forbidden("/v1/tickets?channel=zalo,email", zalo)
    forbidden("/v1/queues", zalo)
    forbidden(q("/v1/customers", q="lan"), zalo)
    customer = st.db.scalar("SELECT customer_id::text FROM router.tickets WHERE id = %s", (mine,))
    forbidden(f"/v1/customers/{customer}/tickets", zalo)
    forbidden(f"/v1/tickets/{mixed}/timeline", zalo)
    assert call(st, "GET", f"/v1/tickets/{mine}/timeline", key=zalo).status == 200
    # Without the read scope: 403 naming it, on every list.
    for path in ("/v1/tickets", "/v1/queues", q("/v1/customers", q="lan"),
                 f"/v1/customers/{customer}/tickets", f"/v1/tickets/{mine}/timeline"):
        forbidden(path, ingest_only, "read")
    assert call(st, "GET", "/v1/tickets", auth=False).status == 401


# --- f. bad parameters -------------------------------------------------------------------------


def test_bad_parameters_are_refused_naming_them(stack):
    st = stack("ingest", "router")
    cases = [
        ("/v1/tickets?stauts=open", "stauts"),
        ("/v1/tickets?status=open&status=closed", "status"),
        ("/v1/tickets?status=opened", "status"),
        ("/v1/tickets?channel=telegram", "channel"),
        ("/v1/tickets?sla=late", "sla"),
        ("/v1/tickets?limit=0", "limit"),
        ("/v1/tickets?limit=101", "limit"),
        ("/v1/tickets?sort=newest", "sort"),
        ("/v1/tickets?sort=relevance", "sort"),
        ("/v1/tickets?q=refund&sort=queue", "sort"),
        ("/v1/tickets?created_from=yesterday", "created_from"),
        ("/v1/tickets?customer_id=42", "customer_id"),
        ("/v1/tickets?cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("/v1/tickets?assignee=me", "assignee"),
        ("/v1/customers?q=", "q"),
        ("/v1/customers?q=lan&limit=1000", "limit"),
        ("/v1/customers?q=lan&phone=0901234567", "phone"),
    ]
    for path, field in cases:
        r = call(st, "GET", path)
        assert r.status == 400, (path, r)
        err = r.json()["error"]
        assert err["field"] == field and err["message"], (path, err)
    # A cursor of one order is not another's.
    r = call(st, "POST", "/v1/messages", {"channel": "zalo", "external_id": "x1", "text": "a",
                                         "customer": {"handle": "z1"}})
    r = call(st, "POST", "/v1/messages", {"channel": "zalo", "external_id": "x2", "text": "b",
                                         "customer": {"handle": "z2"}})
    st.wait_caught_up("router", "ingest", at_least=2)
    cursor = get(st, "/v1/tickets?limit=1")["next_cursor"]
    assert cursor
    r = call(st, "GET", f"/v1/tickets?sort=updated&cursor={cursor}")
    assert r.status == 400 and r.json()["error"]["field"] == "cursor", r
    assert call(st, "GET", f"/v1/tickets?cursor={cursor}").status == 200
