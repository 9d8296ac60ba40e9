"""Issue 11, the work API's resources and manual work, end to end: the real
binaries on a real PostgreSQL, through channel-ingest's HTTP API.

  a. agents and teams as resources: the configuration file's teams are
     there on a fresh install; POST / GET / PATCH of agents and teams, each
     change visible on the next GET (reads wait for the router); a password
     stored as a scrypt hash and never shown; presence and load readable
  b. manual work: assignment to an agent and to a team, priority and
     category overrides the rules then leave alone (until handed back),
     tags, mentions in a note, canned replies (placeholders filled in for a
     ticket); then a rebuild from the log equals the live state
  c. an agent offline beyond CAREBUS_OFFLINE_GRACE_S (short here): its
     tickets return to the queue and go to the next free agent of the
     team; back within the grace, it keeps them; made inactive, its tickets
     go back too; the timer's decisions are events (ticket.unassigned), so
     a rebuild replays them and decides nothing again
  d. access: what each scope may not do is 403 naming the scope

Every wait is bounded (h.wait_until); no test asserts a duration.
"""

import time
from datetime import timedelta

import carebus_harness as h
from test_ingest_api import call, new_key
from test_router_acceptance import T0, caught_up, message, presence, routed_ticket, ts

SNAPSHOT = {
    "agents": "SELECT * FROM router.agents ORDER BY id",
    "teams": "SELECT * FROM router.teams ORDER BY id",
    "canned replies": "SELECT * FROM router.canned_replies ORDER BY id",
    "tickets": "SELECT * FROM router.tickets ORDER BY id",
    "queue members": "SELECT * FROM router.queue_members ORDER BY ticket_id",
    "messages": "SELECT * FROM router.messages ORDER BY event_id",
    "notes": "SELECT * FROM router.notes ORDER BY id",
    "router events": "SELECT event_id, type, seq, ticket_id, customer_id, payload"
                     " FROM eventlog.events WHERE stream = 'router' ORDER BY seq",
    "ingest events": "SELECT event_id, type, seq FROM eventlog.events"
                     " WHERE stream = 'ingest' ORDER BY seq",
}


def snapshot(st):
    return {name: st.db.query(sql) for name, sql in SNAPSHOT.items()}


def rebuild_equals_live(st, router_env=None):
    caught_up(st)
    live = snapshot(st)
    st.stop("router")
    st.db.query("SELECT router.reset()")
    assert st.db.scalar("SELECT count(*) FROM router.tickets") == 0
    st["router"].start(extra_env=router_env)
    caught_up(st)
    again = snapshot(st)
    for name in SNAPSHOT:
        assert live[name] == again[name], f"{name} differs after the rebuild"


def ok(r, status=200):
    assert r.status == status, r
    return r.json() if r.body else None


def api(st, method, path, body=None, status=200, key=None):
    return ok(call(st, method, path, body, key=key), status)


def ticket(st, ticket_id):
    return api(st, "GET", f"/v1/tickets/{ticket_id}")


def wait_ticket(st, ticket_id, what, pred, timeout=10):
    return h.wait_until(what, lambda: (lambda t: t if pred(t) else None)(ticket(st, ticket_id)),
                        h.scaled(timeout), interval=0.05,
                        on_timeout=lambda: f"\n{ticket(st, ticket_id)}\n{st.log_summary()}")


def notes(t, kind):
    return [e for e in t["timeline"] if e["kind"] == kind]


# --- a. agents and teams ---------------------------------------------------------------


def test_agents_and_teams_are_resources_and_each_change_is_read_back(stack):
    st = stack("ingest", "router")
    # A fresh install: the configuration file's teams, there once the
    # router is ready.
    teams = api(st, "GET", "/v1/teams")["teams"]
    by_id = {t["id"]: t for t in teams}
    assert {"support", "complaints", "technical"} <= set(by_id), by_id
    assert by_id["support"]["source"] == "config" and by_id["support"]["active"]

    lan = api(st, "POST", "/v1/agents",
              {"id": "lan", "name": "Nguyễn Lan", "email": "lan@example.vn",
               "teams": ["support"], "languages": ["vi", "en"], "capacity": 2,
               "role": "lead", "password": "correct horse battery"}, status=201)
    assert lan["source"] == "api" and lan["has_password"] is True
    assert lan["teams"] == ["support"] and lan["capacity"] == 2 and lan["role"] == "lead"
    assert lan["presence"] == "offline" and lan["load"] == 0
    assert "password" not in lan and "password_hash" not in lan
    phc = st.db.scalar("SELECT password_hash FROM router.agents WHERE id = 'lan'")
    assert phc.startswith("$scrypt$ln=") and "correct horse" not in phc
    # Nowhere in the log in clear.
    assert st.db.scalar("SELECT count(*) FROM eventlog.events"
                        " WHERE position(convert_to('correct horse', 'UTF8') IN payload) > 0") == 0
    assert api(st, "GET", "/v1/agents/lan") == lan
    r = call(st, "POST", "/v1/agents", {"id": "lan", "name": "again", "capacity": 1})
    assert r.status == 409 and r.json()["error"]["field"] == "id", r
    r = call(st, "POST", "/v1/agents", {"id": "x", "name": "X", "capacity": 1, "teams": ["nope"]})
    assert r.status == 400 and r.json()["error"]["field"] == "teams", r

    # PATCH: what it names changes, nothing else; the next GET shows it.
    lan2 = api(st, "PATCH", "/v1/agents/lan", {"capacity": 3, "password": None})
    assert lan2["capacity"] == 3 and lan2["has_password"] is False
    assert lan2["name"] == "Nguyễn Lan" and lan2["email"] == "lan@example.vn"
    assert api(st, "GET", "/v1/agents/lan")["capacity"] == 3
    assert call(st, "PATCH", "/v1/agents/nobody", {"capacity": 1}).status == 404

    # A presence changes a saved agent's presence only.
    presence(st, "lan", "online", 9, ["sales"])
    got = h.wait_until("lan online", lambda: (lambda a: a if a["presence"] == "online" else None)(
        api(st, "GET", "/v1/agents/lan")), h.scaled(10))
    assert got["teams"] == ["support"] and got["capacity"] == 3
    # An agent known by its presence alone, then taken over by a POST.
    presence(st, "minh", "online", 1, ["complaints"], leads=["complaints"])
    h.wait_until("minh known", lambda: call(st, "GET", "/v1/agents/minh").status == 200,
                 h.scaled(10))
    assert api(st, "GET", "/v1/agents/minh")["source"] == "presence"
    minh = api(st, "POST", "/v1/agents", {"id": "minh", "name": "Minh", "capacity": 2,
                                           "teams": ["complaints", "support"]}, status=201)
    assert minh["source"] == "api" and minh["presence"] == "online"
    listed = api(st, "GET", "/v1/agents?team=complaints")["agents"]
    assert [a["id"] for a in listed] == ["minh"]
    assert {a["id"] for a in api(st, "GET", "/v1/agents?presence=online")["agents"]} == {
        "lan", "minh"}

    # Teams: a new one, and one of the file taken over.
    vip = api(st, "POST", "/v1/teams", {"id": "vip-care", "name": "VIP care",
                                        "lead_agent_id": "lan", "calendar": "24x7",
                                        "sla_policy": "vip"}, status=201)
    assert vip["source"] == "api" and vip["lead_agent_id"] == "lan" and vip["active"]
    assert call(st, "POST", "/v1/teams", {"id": "vip-care"}).status == 409
    for bad, field in (({"id": "t", "calendar": "moon"}, "calendar"),
                       ({"id": "t", "sla_policy": "gold"}, "sla_policy"),
                       ({"id": "t", "lead_agent_id": "ghost"}, "lead_agent_id")):
        r = call(st, "POST", "/v1/teams", bad)
        assert r.status == 400 and r.json()["error"]["field"] == field, r
    support = api(st, "PATCH", "/v1/teams/support", {"name": "Customer support"})
    assert support["source"] == "api" and support["name"] == "Customer support"
    assert support["agents"] == ["lan", "minh"]
    assert api(st, "GET", "/v1/teams/support") == support
    # An agent in a team made through the API, which takes its tickets.
    api(st, "PATCH", "/v1/agents/minh", {"teams": ["complaints", "vip-care"]})
    assert api(st, "GET", "/v1/teams/vip-care")["agents"] == ["minh"]

    # Load: a contact for support goes to lan.
    t1 = routed_ticket(st, message(st, "zalo", "xin chào", T0, handle="u-load"))
    assert ticket(st, t1)["assignee"] == "lan"
    assert api(st, "GET", "/v1/agents/lan")["load"] == 1

    # An inactive team takes no transfer.
    assert api(st, "PATCH", "/v1/teams/vip-care", {"active": False})["active"] is False
    ok(call(st, "POST", f"/v1/tickets/{t1}/transfer", {"team": "vip-care"}), 202)
    caught_up(st)
    assert ticket(st, t1)["team"] == "support"
    rebuild_equals_live(st)


# --- b. manual work ------------------------------------------------------------------------


def test_manual_assignment_overrides_tags_notes_and_canned_replies(stack):
    st = stack("ingest", "router")
    presence(st, "an", "online", 5, ["support"], at=T0 - timedelta(hours=1))
    presence(st, "binh", "online", 5, ["support", "complaints"], at=T0 - timedelta(hours=1))
    t = routed_ticket(st, message(st, "zalo", "xin chào shop", T0, name="Lan", handle="u-1"))
    first = ticket(st, t)
    assert first["team"] == "support" and first["assignee"] in ("an", "binh")
    other = "binh" if first["assignee"] == "an" else "an"

    # To a named agent: theirs, manual, with a note.
    ok(call(st, "POST", f"/v1/tickets/{t}/assign", {"agent_id": other, "reason": "knows her"}),
       202)
    got = wait_ticket(st, t, "the manual assignment", lambda x: x["assignee"] == other)
    assert notes(got, "ticket.assigned")[-1]["detail"]["agent_id"] == other
    # To a team: that team's queue, drained by the rules (binh is in it).
    ok(call(st, "POST", f"/v1/tickets/{t}/assign", {"team": "complaints"}), 202)
    got = wait_ticket(st, t, "moved to complaints", lambda x: x["team"] == "complaints")
    assert got["assignee"] == "binh"
    # An unknown agent changes nothing.
    ok(call(st, "POST", f"/v1/tickets/{t}/assign", {"agent_id": "ghost"}), 202)
    caught_up(st)
    assert ticket(st, t)["assignee"] == "binh"

    # Priority and category overrides, tags.
    ok(call(st, "PATCH", f"/v1/tickets/{t}",
            {"priority": "low", "category": "billing", "tags_add": ["VIP", " late  delivery "]}),
       202)
    got = wait_ticket(st, t, "the override", lambda x: x["priority"] == "low")
    assert got["category"] == "billing"
    assert got["tags"] == ["late_delivery", "vip"]
    assert got["overrides"] == {"priority": "low", "category": "billing"}
    assert got["priority_reasons"] == ["manual:low"]
    # The rules leave them alone: an urgent complaint changes neither.
    message(st, "zalo", "khiếu nại gấp, rất bức xúc", T0 + timedelta(minutes=5), handle="u-1")
    caught_up(st)
    got = ticket(st, t)
    assert (got["priority"], got["category"]) == ("low", "billing"), got
    # Handed back: the rules' own again (an urgent word, a complaint later).
    ok(call(st, "PATCH", f"/v1/tickets/{t}",
            {"priority": None, "category": None, "tags_remove": ["vip", "absent"]}), 202)
    got = wait_ticket(st, t, "handed back", lambda x: x["overrides"]["priority"] is None)
    assert got["priority"] != "low" and got["tags"] == ["late_delivery"]
    assert got["overrides"] == {"priority": None, "category": None}
    assert len(notes(got, "ticket.updated")) == 2
    # A request that changes nothing leaves no trace.
    ok(call(st, "PATCH", f"/v1/tickets/{t}", {"tags_add": ["late_delivery"]}), 202)
    caught_up(st)
    assert len(notes(ticket(st, t), "ticket.updated")) == 2

    # A note mentioning agents (an unknown one is left out).
    ok(call(st, "POST", f"/v1/tickets/{t}/replies",
            {"agent_id": "binh", "text": "@an xem giúp", "internal_note": True,
             "mentions": ["an", "ghost", "an"]}), 202)
    got = wait_ticket(st, t, "the mention", lambda x: notes(x, "agent.mentioned"))
    assert [n["detail"]["agent_id"] for n in notes(got, "agent.mentioned")] == ["an"]

    # Canned replies: made, listed by team, filled in for the ticket.
    c = api(st, "POST", "/v1/canned-replies",
            {"title": "Đã nhận", "language": "vi", "team": "complaints",
             "text": "Chào {customer_name}, em là {agent_name}; phiếu {ticket_number}."},
            status=201)
    everyone = api(st, "POST", "/v1/canned-replies", {"title": "Hi", "text": "Hello!"},
                   status=201)
    assert {x["id"] for x in api(st, "GET", "/v1/canned-replies?team=complaints")
            ["canned_replies"]} == {c["id"], everyone["id"]}
    assert [x["id"] for x in api(st, "GET", "/v1/canned-replies?team=support")
            ["canned_replies"]] == [everyone["id"]]
    number = ticket(st, t)["number"]
    out = api(st, "GET", f"/v1/canned-replies/{c['id']}/render?ticket_id={t}")
    assert out["text"] == f"Chào Lan, em là binh; phiếu {number}.", out
    assert out["missing"] == []
    c2 = api(st, "PATCH", f"/v1/canned-replies/{c['id']}", {"title": "Đã tiếp nhận", "team": None})
    assert c2["title"] == "Đã tiếp nhận" and c2["team"] is None and c2["text"] == c["text"]
    assert c2["created_at"] == c["created_at"]
    assert call(st, "DELETE", f"/v1/canned-replies/{everyone['id']}").status == 204
    assert call(st, "GET", f"/v1/canned-replies/{everyone['id']}").status == 404
    r = call(st, "POST", "/v1/canned-replies", {"title": "x", "text": "{order_id}"})
    assert r.status == 400 and r.json()["error"]["field"] == "text", r

    # The router's facts: a manual ticket.assigned, ticket.updated.
    types = [r[0] for r in st.db.query(
        "SELECT type FROM eventlog.events WHERE stream = 'router' AND ticket_id = %s"
        " ORDER BY seq", (t,))]
    assert types.count("ticket.updated") == 2, types
    rebuild_equals_live(st)


# --- c. agents gone ------------------------------------------------------------------------


GRACE = {"CAREBUS_OFFLINE_GRACE_S": "2"}


def unassigned(st):
    """The timer's decisions in the log, by ticket."""
    return st.db.query("SELECT ticket_id::text FROM eventlog.events WHERE stream = 'ingest'"
                       " AND type = 'ticket.unassigned' ORDER BY seq")


def test_an_offline_agents_tickets_return_to_the_queue_after_the_grace(stack):
    st = stack("ingest", "router", start=False)
    st["ingest"].start(wait_ready=False)
    st["router"].start(extra_env=GRACE, wait_ready=False)
    st["ingest"].wait_ready()
    st["router"].wait_ready()
    presence(st, "an", "online", 5, ["support"])
    t = routed_ticket(st, message(st, "zalo", "xin chào", T0, handle="u-off"))
    assert ticket(st, t)["assignee"] == "an"
    presence(st, "binh", "online", 5, ["support"])

    # Offline, then back within the grace: keeps the ticket.
    presence(st, "an", "offline", 5, ["support"])
    presence(st, "an", "online", 5, ["support"])
    caught_up(st)
    time.sleep(h.scaled(3))
    caught_up(st)
    assert ticket(st, t)["assignee"] == "an"
    assert not unassigned(st)

    # Offline beyond the grace: back to the queue, to the next free agent.
    presence(st, "an", "offline", 5, ["support"])
    got = wait_ticket(st, t, "the ticket to go to binh", lambda x: x["assignee"] == "binh",
                      timeout=20)
    n = notes(got, "ticket.unassigned")
    assert n and n[-1]["detail"] == {"from_agent_id": "an", "reason": "offline"}, n
    assert api(st, "GET", "/v1/agents/an")["load"] == 0
    assert unassigned(st) == [(t,)]

    # Made inactive: its tickets go back too (nobody free: queued).
    presence(st, "an", "away", 5, ["support"])
    api(st, "PATCH", "/v1/agents/binh", {"active": False})
    got = wait_ticket(st, t, "the ticket to leave binh", lambda x: x["assignee"] is None,
                      timeout=20)
    assert got["queued_at"] and got["team"] == "support"
    assert notes(got, "ticket.unassigned")[-1]["detail"]["reason"] == "inactive"
    # Back online (and active), an agent takes the queue.
    presence(st, "an", "online", 5, ["support"])
    wait_ticket(st, t, "an takes the queue", lambda x: x["assignee"] == "an")

    # The decisions are in the log: a rebuild replays them, decides nothing new.
    before = st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'ticket.unassigned'")
    assert before == 2
    rebuild_equals_live(st, router_env=GRACE)
    time.sleep(h.scaled(3))
    caught_up(st)
    assert st.db.scalar("SELECT count(*) FROM eventlog.events"
                        " WHERE type = 'ticket.unassigned'") == before


# --- d. access -----------------------------------------------------------------------------


def forbidden(r, scope):
    assert r.status == 403, r
    assert r.json()["error"]["scope"] == scope, r


def test_each_scope_is_refused_what_it_may_not_do_in_the_work_api(stack):
    st = stack("ingest", "router")
    presence(st, "an", "online", 5, ["support"])
    presence(st, "chi", "online", 5, ["technical"])
    mine = routed_ticket(st, message(st, "zalo", "xin chào", T0, handle="u-a"))
    theirs = routed_ticket(st, message(st, "zalo", "lỗi kỹ thuật, máy không hoạt động",
                                       T0, handle="u-b"))
    assert ticket(st, theirs)["team"] == "technical"
    agent = new_key(st, "an's desk", scopes="agent,read", agent="an")["key"]
    reader = new_key(st, "reader", scopes="read")["key"]
    zalo_admin = new_key(st, "zalo admin", scopes="admin,read", channels="zalo")["key"]

    # An agent: tags and takes its team's tickets; no overrides, no
    # reassignment, no other team's ticket, no resources.
    ok(call(st, "PATCH", f"/v1/tickets/{mine}", {"tags_add": ["x"]}, key=agent), 202)
    ok(call(st, "POST", f"/v1/tickets/{mine}/assign", {"agent_id": "an"}, key=agent), 202)
    ok(call(st, "POST", f"/v1/tickets/{mine}/assign", {"team": "support"}, key=agent), 202)
    forbidden(call(st, "PATCH", f"/v1/tickets/{mine}", {"priority": "urgent"}, key=agent),
              "supervisor")
    forbidden(call(st, "POST", f"/v1/tickets/{mine}/assign", {"agent_id": "chi"}, key=agent),
              "supervisor")
    forbidden(call(st, "PATCH", f"/v1/tickets/{theirs}", {"tags_add": ["x"]}, key=agent),
              "supervisor")
    forbidden(call(st, "POST", "/v1/agents", {"id": "z", "name": "Z", "capacity": 1}, key=agent),
              "admin")
    forbidden(call(st, "POST", "/v1/canned-replies", {"title": "x", "text": "y"}, key=agent),
              "admin")
    # A note's author is the key's agent.
    r = call(st, "POST", f"/v1/tickets/{mine}/replies",
             {"agent_id": "chi", "text": "x", "internal_note": True, "mentions": ["chi"]},
             key=agent)
    assert r.status == 403 and r.json()["error"]["field"] == "agent_id", r
    # Reading: agents, teams, canned replies.
    for path in ("/v1/agents", "/v1/teams", "/v1/canned-replies"):
        ok(call(st, "GET", path, key=reader))
        forbidden(call(st, "GET", path, key=new_key(st, f"ingest {path}", scopes="ingest")["key"]),
                  "read")
    forbidden(call(st, "PATCH", "/v1/teams/support", {"name": "x"}, key=reader), "admin")
    forbidden(call(st, "POST", f"/v1/tickets/{mine}/assign", {"team": "support"}, key=reader),
              "agent")
    # A key limited to a channel administers nothing (resources span
    # channels) and renders for its channel's tickets only.
    r = call(st, "POST", "/v1/teams", {"id": "zalo-team"}, key=zalo_admin)
    assert r.status == 403, r
    c = api(st, "POST", "/v1/canned-replies", {"title": "x", "text": "Hi {customer_name}"},
            status=201)
    ok(call(st, "GET", f"/v1/canned-replies/{c['id']}/render?ticket_id={mine}", key=zalo_admin))
    email_ticket = routed_ticket(st, message(st, "email", "hello", T0, email="a@example.vn"))
    r = call(st, "GET", f"/v1/canned-replies/{c['id']}/render?ticket_id={email_ticket}",
             key=zalo_admin)
    assert r.status == 403, r
    metrics = st["ingest"].get("/metrics").body.decode()
    assert 'carebus_ingest_forbidden_total{scope="supervisor"}' in metrics
    assert 'carebus_ingest_forbidden_total{scope="admin"}' in metrics
