"""Issue 4 (router): kill -9 in the middle of a merge-heavy load; after
restart the state equals a clean replay of the log.

The load mixes, through channel-ingest's API: contacts whose handles keep
revealing that two customers are one (merges, chains of merges, merges of
customers who each have an open ticket), agents coming online and going
offline, solves, transfers; and SLA escalations appended to the "sla"
stream (as sla-monitor publishes them), so that the two streams the router
reads interleave. The router is killed with kill -9 several times while
it runs and restarted at once. Afterwards every router table and the
router's stream are compared with a rebuild from nothing (router.reset():
tables and offsets wiped, then a fresh start replays the log).
"""

import random
import threading
from datetime import timedelta

import pytest

import carebus_harness as h
from test_router_acceptance import (T0, append_escalation, caught_up, post, presence, ts)

SNAPSHOT = {
    "customers": "SELECT * FROM router.customers ORDER BY id",
    "identities": "SELECT * FROM router.identities ORDER BY kind, value",
    "tickets": "SELECT * FROM router.tickets ORDER BY id",
    "messages": "SELECT * FROM router.messages ORDER BY event_id",
    "notes": "SELECT * FROM router.notes ORDER BY id",
    "merges": "SELECT * FROM router.merges ORDER BY merged_id",
    "imports": "SELECT * FROM router.imports ORDER BY event_id",
    "ticket merges": "SELECT * FROM router.ticket_merges ORDER BY source_id",
    "agents": "SELECT * FROM router.agents ORDER BY id",
    "position": "SELECT * FROM router.position",
    "delivery statuses": "SELECT * FROM router.delivery_pending ORDER BY event_id, n",
    "router events": "SELECT event_id, type, seq, ticket_id, customer_id, payload"
                     " FROM eventlog.events WHERE stream = 'router' ORDER BY seq",
    "offsets": "SELECT stream, seq FROM eventlog.offsets WHERE consumer = 'router' ORDER BY 1",
}


def snapshot(st):
    return {name: st.db.query(sql) for name, sql in SNAPSHOT.items()}


def diff(a, b):
    out = []
    for name in SNAPSHOT:
        x, y = a[name], b[name]
        if x == y:
            continue
        first = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        out.append(f"{name}: {len(x)} vs {len(y)} rows; first difference at row {first}:\n"
                   f"  live:     {x[first] if first < len(x) else None}\n"
                   f"  replayed: {y[first] if first < len(y) else None}")
    return "\n".join(out)


def contacts(n, rnd):
    """Contacts of ~n/4 people, each known by a phone, an email and a chat
    handle; a contact names one to three of them, often of two people at
    once, so customers keep merging."""
    people = max(8, n // 4)
    out = []
    for i in range(n):
        a = rnd.randrange(people)
        b = rnd.randrange(people) if rnd.random() < 0.35 else a
        cust = {}
        choice = rnd.randrange(3)
        if choice == 0:
            cust["phone"] = f"09{a:08d}"
        elif choice == 1:
            cust["email"] = f"p{a}@example.vn"
        else:
            cust["handle"] = f"h-{a}"
        # A handle of someone else: the two are one customer from now on.
        if b != a:
            cust["email" if "email" not in cust else "phone"] = (
                f"p{b}@example.vn" if "email" not in cust else f"09{b:08d}")
        channel = "chat" if "handle" in cust else rnd.choice(["zalo", "email", "facebook"])
        if channel == "facebook" and "handle" not in cust:
            cust["handle"] = f"fb-{a}"
        text = rnd.choice(["xin chào", "tôi muốn khiếu nại", "cần gấp", "bảo hành máy",
                           "hoa don sai", "hello"])
        out.append({"channel": channel, "external_id": f"rp-{i}", "customer": cust,
                    "text": text, "occurred_at": ts(T0 + timedelta(seconds=7 * i))})
    return out


def test_kill9_during_merge_heavy_load_then_state_equals_a_clean_replay(stack, pb2):
    st = stack("ingest", "router")
    rnd = random.Random(4242)
    for k in range(4):
        presence(st, f"ag-{k}", "online", 3, ["support", "complaints", "returns-warranty",
                                               "account-management"][: 2 + k % 3],
                 leads=["support"] if k == 0 else [], at=T0 - timedelta(hours=1))
    msgs = contacts(600, rnd)
    kill_at = {120, 260, 400, 520}
    kills = []
    lock = threading.Lock()

    def on_answer(n):
        if n in kill_at:
            with lock:
                st.kill9("router")
                st["router"].start(wait_ready=False)
                kills.append(n)

    answers, _ = h.post_all(st, msgs[:300], threads=4, on_answer=on_answer)
    # Agents' and integrators' events between the contacts, and
    # escalations on the other stream.
    st["router"].wait_ready()
    caught_up(st)
    tickets = [r[0] for r in st.db.query("SELECT id::text FROM router.tickets"
                                         " WHERE status IN ('open', 'pending') ORDER BY id")]
    assert len(tickets) > 10
    for i, t in enumerate(rnd.sample(tickets, 8)):
        at = T0 + timedelta(minutes=40, seconds=i)
        if i % 3 == 0:
            post(st, f"/v1/tickets/{t}/status", {"status": "solved", "occurred_at": ts(at)})
        elif i % 3 == 1:
            post(st, f"/v1/tickets/{t}/transfer", {"team": "complaints", "occurred_at": ts(at)})
        append_escalation(st, pb2, t, at + timedelta(seconds=1))
    presence(st, "ag-9", "online", 4, ["support", "complaints"], at=T0 + timedelta(minutes=41))
    presence(st, "ag-1", "offline", 3, ["support"], at=T0 + timedelta(minutes=41))
    more, _ = h.post_all(st, msgs[300:], threads=4, on_answer=lambda n: on_answer(n + 300))
    answers.update(more)
    assert len(kills) == len(kill_at), kills
    st["router"].wait_ready()
    caught_up(st)

    live = snapshot(st)
    merges = st.db.scalar("SELECT count(*) FROM router.merges")
    assert merges > 20, f"only {merges} merges: the load is not merge-heavy"
    assert st.db.scalar("SELECT count(*) FROM router.tickets WHERE merged_into IS NOT NULL") > 5
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'router'"
                        " AND type = 'ticket.escalated'") > 0
    # Invariants the live state must hold, whatever the kills did.
    assert st.db.scalar("SELECT count(*) FROM router.messages") == len(answers) == len(msgs)
    assert st.db.scalar("SELECT count(*) FROM router.messages m JOIN router.tickets t"
                        " ON t.id = m.ticket_id WHERE m.customer_id <> t.customer_id") == 0
    assert st.db.scalar("SELECT count(*) FROM router.identities i JOIN router.customers c"
                        " ON c.id = i.customer_id WHERE c.merged_into IS NOT NULL") == 0
    assert st.db.scalar("SELECT count(*) FROM router.customers c JOIN router.customers s"
                        " ON s.id = c.merged_into WHERE s.merged_into IS NOT NULL") == 0
    loads = dict(st.db.query("SELECT id, load FROM router.agents"))
    held = dict(st.db.query("SELECT assignee, count(*) FROM router.tickets"
                            " WHERE status IN ('open', 'pending') AND assignee IS NOT NULL"
                            " GROUP BY assignee"))
    assert {a: n for a, n in loads.items() if n} == held
    types = st.db.query("SELECT type, count(*) FROM eventlog.events WHERE stream = 'router'"
                        " GROUP BY type")
    counted = dict(types)
    assert counted["customer.merged"] == merges, counted
    dup = st.db.query("SELECT event_id FROM eventlog.events WHERE stream = 'router'"
                      " GROUP BY event_id HAVING count(*) > 1")
    assert not dup

    # A clean replay: wipe the router's state and offsets, start again.
    st.stop("router")
    st.db.query("SELECT router.reset()")
    assert st.db.scalar("SELECT count(*) FROM router.tickets") == 0
    st["router"].start()
    caught_up(st)
    replayed = snapshot(st)
    if live != replayed:
        pytest.fail("the replay differs from the live state:\n" + diff(live, replayed))
