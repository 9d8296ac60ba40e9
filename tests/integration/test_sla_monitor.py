"""Issue 5 (sla-monitor) acceptance, with the real binary and a test clock.

sla-monitor runs with CAREBUS_SLA_CLOCK=file:<path>: its time is what the
test writes into that file, and it wakes as soon as the file changes. Ticket
events are appended to the log the way the router and channel-ingest append
them (eventlog.append, protobuf envelopes built with the standard protoc's
Python code), so these tests do not depend on the router's rules; one test
runs the real ingest and router to check the API's "sla" part.

  a. warnings and breaches fire at the clock's instant, once, with the
     escalation; pending pauses and the customer's reply resumes; a reopen
     restarts resolution
  b. kill -9 between a warning and its breach: after restart the breach
     fires once and the warning is not repeated
  c. two instances: every warning and breach once
  d. GET /v1/tickets/{id} shows each target's due, achieved, remaining
     business seconds and breach
  e. a team's calendar and SLA policy (PATCH /v1/teams) move its open
     tickets' deadlines, re-arm their running timers and hold its new
     tickets; a ticket closed before keeps its targets; a rebuild from the
     log equals the live state

The default policy for a regular customer at normal priority, on the
"vn-business" calendar (Mon-Fri 08:00-12:00 and 13:00-17:30, Sat 08:00-12:00,
Asia/Ho_Chi_Minh): first response 4h, next response 8h, resolution 40h,
warnings at 80%. A ticket opened Monday 2026-11-23 09:00 +07 has its first
response due at 14:00 (lunch excluded), warned at 13:12.
"""

import os
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import psycopg2

import carebus_harness as h

REPO = h.REPO
VN = timezone(timedelta(hours=7))
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=VN)

TARGET = {"first_response": 1, "next_response": 2, "resolution": 3}


def iso(dt):
    return dt.isoformat()


class Sla:
    """A stack with sla-monitor on a test clock, and a log writer."""

    def __init__(self, stack, pb2, services=(), sweep_ms=200):
        self.pb2 = pb2
        self.st = stack(start=False)
        self.clock_path = self.st.log_dir / "sla-clock"
        self.now = T0
        self.clock_path.write_text(iso(T0) + "\n")
        self.env = {
            "CAREBUS_SLA_CLOCK": f"file:{self.clock_path}",
            "CAREBUS_SLA_CONFIG_DIR": str(REPO / "deploy" / "config"),
            "CAREBUS_SLA_SWEEP_MS": str(sweep_ms),
        }
        if services:
            self.st.start(*services)
        self.start()

    def start(self, svc=None, extra=None):
        env = dict(self.env)
        env.update(extra or {})
        (svc or self.st["sla"]).start(extra_env=env)

    def second_instance(self):
        """Another sla-monitor process on the same database: its own HTTP port
        and bus endpoint (CAREBUS_BUS_BIND), the same consumer name."""
        svc = h.Service(self.st, "sla")
        svc.port = h.free_port()
        svc.url = f"http://127.0.0.1:{svc.port}"
        self.st.services["sla2"] = svc  # stopped and checked with the stack
        self.start(svc, {"CAREBUS_SLA_PORT": str(svc.port),
                         "CAREBUS_BUS_BIND": f"tcp://127.0.0.1:{h.free_port()}"})
        return svc

    # --- the clock -------------------------------------------------------------------------

    def set_clock(self, dt, wait=True):
        """Moves the test clock (atomically) and waits until sla-monitor saw it."""
        self.now = dt
        tmp = self.clock_path.with_suffix(".tmp")
        tmp.write_text(iso(dt) + "\n")
        os.replace(tmp, self.clock_path)
        if wait:
            want = dt.astimezone(timezone.utc)
            h.wait_until(f"sla-monitor to see the clock at {iso(dt)}",
                         lambda: self.st.db.scalar("SELECT now FROM sla.clock") == want,
                         h.scaled(10), interval=0.02, on_timeout=self.logs)

    # --- the log ---------------------------------------------------------------------------

    def append(self, stream, body_field, body, at, ticket=None, customer=None):
        env = self.pb2.Envelope()
        env.event_id = str(uuid.uuid4())
        env.type = {
            "ticket_opened": "ticket.opened", "ticket_contact_added": "ticket.contact_added",
            "agent_replied": "agent.replied", "ticket_status_changed": "ticket.status_changed",
            "ticket_reopened": "ticket.reopened", "customer_profile_updated":
                "customer.profile_updated",
        }[body_field]
        env.occurred_at.FromDatetime(at.astimezone(timezone.utc).replace(tzinfo=None))
        if ticket:
            env.ticket_id = ticket
        if customer:
            env.customer_id = customer
        getattr(env, body_field).CopyFrom(body)
        self.st.db.query(
            "SELECT 1 FROM eventlog.append(%s, %s::uuid[], %s::text[], %s::text[], %s::text[],"
            " %s::timestamptz[], %s::uuid[], %s::uuid[], %s::bytea[])",
            (stream, [env.event_id], [env.type], [None], [None], [iso(at)], [customer],
             [ticket], [psycopg2.Binary(env.SerializeToString())]))
        return env.event_id

    def open_ticket(self, at=T0, customer=None):
        ticket, customer = str(uuid.uuid4()), customer or str(uuid.uuid4())
        contact = str(uuid.uuid4())
        self.append("router", "ticket_opened",
                    self.pb2.TicketOpened(channel=self.pb2.CHANNEL_ZALO, contact_event_id=contact),
                    at, ticket, customer)
        self.append("router", "ticket_contact_added",
                    self.pb2.TicketContactAdded(contact_event_id=contact,
                                                channel=self.pb2.CHANNEL_ZALO),
                    at, ticket, customer)
        return ticket, customer

    def customer_writes(self, ticket, customer, at):
        self.append("router", "ticket_contact_added",
                    self.pb2.TicketContactAdded(contact_event_id=str(uuid.uuid4()),
                                                channel=self.pb2.CHANNEL_ZALO),
                    at, ticket, customer)

    def reply(self, ticket, at, internal=False):
        self.append("ingest", "agent_replied",
                    self.pb2.AgentReplied(agent_id="agent-7", text="Dạ, em kiểm tra ngay",
                                          internal_note=internal), at, ticket)

    def status(self, ticket, status, at):
        self.append("ingest", "ticket_status_changed",
                    self.pb2.TicketStatusChanged(status=status, actor="agent-7"), at, ticket)

    def reopened(self, ticket, customer, at):
        self.append("router", "ticket_reopened", self.pb2.TicketReopened(), at, ticket, customer)

    def caught_up(self):
        for stream in ("ingest", "router"):
            if self.st.last_seq(stream):
                self.st.wait_caught_up(consumer="sla-monitor", stream=stream,
                                       timeout=h.scaled(15))

    # --- what it did -----------------------------------------------------------------------

    def sla_events(self, ticket=None):
        rows = self.st.db.query(
            "SELECT type, payload FROM eventlog.events WHERE stream = 'sla'"
            " AND (%s::uuid IS NULL OR ticket_id = %s::uuid) ORDER BY seq", (ticket, ticket))
        out = []
        for typ, payload in rows:
            env = self.pb2.Envelope.FromString(bytes(payload))
            body = getattr(env, env.WhichOneof("body"))
            out.append((typ, body.target, body.cycle, env))
        return out

    def count(self, ticket=None):
        return Counter((t, tgt) for t, tgt, _, _ in self.sla_events(ticket))

    def wait_events(self, ticket, n, what):
        return h.wait_until(f"{n} sla events ({what})",
                            lambda: len(self.sla_events(ticket)) >= n and self.sla_events(ticket),
                            h.scaled(10), interval=0.02, on_timeout=self.logs)

    def target(self, ticket, target, cycle=0):
        rows = self.st.db.query(
            "SELECT status, due_at, warn_at, achieved_at, remaining_business_secs, warned,"
            " breached FROM sla.targets WHERE ticket_id = %s AND target = %s AND cycle = %s",
            (ticket, target, cycle))
        if not rows:
            return None
        keys = ("status", "due_at", "warn_at", "achieved_at", "remaining", "warned", "breached")
        return dict(zip(keys, rows[0]))

    def logs(self):
        return "\n" + self.st.log_summary(30)


def dt(s):
    return datetime.fromisoformat(s)


# --- a. the clock rules, through the process ---------------------------------------------------


def test_warning_and_breach_fire_at_the_clock_instant_once_with_escalation(stack, pb2):
    s = Sla(stack, pb2)
    ticket, customer = s.open_ticket()
    s.caught_up()
    fr = s.target(ticket, "first_response")
    assert fr["status"] == "running", fr
    assert fr["due_at"] == dt("2026-11-23T14:00:00+07:00"), fr
    assert fr["warn_at"] == dt("2026-11-23T13:12:00+07:00"), fr

    s.set_clock(dt("2026-11-23T13:11:59+07:00"))
    assert s.sla_events(ticket) == []
    s.set_clock(dt("2026-11-23T13:12:00+07:00"))
    ev = s.wait_events(ticket, 1, "the warning")
    assert [(t, tgt) for t, tgt, _, _ in ev] == [("sla.warning", TARGET["first_response"])]
    w = ev[0][3]
    assert w.sla_warning.remaining_business_secs == 48 * 60
    assert w.occurred_at.ToDatetime() == datetime(2026, 11, 23, 6, 12)  # 13:12 +07
    assert w.customer_id == customer

    s.set_clock(dt("2026-11-23T13:59:59+07:00"))
    assert len(s.sla_events(ticket)) == 1
    s.set_clock(dt("2026-11-23T14:00:00+07:00"))
    ev = s.wait_events(ticket, 3, "the breach and its escalation")
    types = [t for t, _, _, _ in ev]
    assert types == ["sla.warning", "sla.breach", "sla.escalation"], types
    breach, esc = ev[1][3], ev[2][3]
    assert breach.sla_breach.due_at.ToDatetime() == datetime(2026, 11, 23, 7, 0)
    assert esc.sla_escalation.priority == pb2.PRIORITY_HIGH  # normal, raised one step
    assert esc.causation_id == breach.event_id
    assert esc.ticket_id == ticket

    # Later instants and a restart publish nothing again.
    s.set_clock(dt("2026-11-23T15:00:00+07:00"))
    s.st["sla"].stop()
    s.start()
    s.set_clock(dt("2026-11-23T15:01:00+07:00"))
    s.caught_up()
    assert s.count(ticket) == Counter({("sla.warning", 1): 1, ("sla.breach", 1): 1,
                                       ("sla.escalation", 1): 1})
    fr = s.target(ticket, "first_response")
    assert fr["warned"] and fr["breached"], fr
    assert "carebus_sla_timers" in s.st["sla"].get("/metrics").body.decode()


def test_pending_pauses_the_customer_resumes_and_a_reopen_restarts(stack, pb2):
    s = Sla(stack, pb2)
    ticket, customer = s.open_ticket()
    s.reply(ticket, dt("2026-11-23T09:10:00+07:00"))
    s.status(ticket, pb2.TICKET_STATUS_PENDING, dt("2026-11-23T09:20:00+07:00"))
    s.caught_up()
    res = s.target(ticket, "resolution")
    assert res["status"] == "paused" and res["due_at"] is None, res
    assert res["remaining"] == 40 * 3600 - 20 * 60, res

    # Weeks pass while the ticket waits on the customer: nothing fires.
    s.set_clock(dt("2026-12-14T09:00:00+07:00"))
    assert s.sla_events(ticket) == []

    # Monday 14 December 09:00 the customer answers: 39h40m left from now.
    s.customer_writes(ticket, customer, dt("2026-12-14T09:00:00+07:00"))
    s.caught_up()
    res = s.target(ticket, "resolution")
    assert res["status"] == "running", res
    # Monday from 09:00 7.5h, then 8.5h a day: 33h by Thursday evening,
    # 6h40m on Friday 18 December -> 15:40.
    assert res["due_at"] == dt("2026-12-18T15:40:00+07:00"), res
    # The reply also opened a next response (8h): due Monday 17:30 + 30 min.
    nr = s.target(ticket, "next_response")
    assert nr["due_at"] == dt("2026-12-15T08:30:00+07:00"), nr

    # Solved, then reopened: resolution cycle 1 with the full 40h.
    s.reply(ticket, dt("2026-12-14T10:00:00+07:00"))
    s.status(ticket, pb2.TICKET_STATUS_SOLVED, dt("2026-12-14T10:05:00+07:00"))
    s.reopened(ticket, customer, dt("2026-12-15T09:00:00+07:00"))
    s.customer_writes(ticket, customer, dt("2026-12-15T09:00:00+07:00"))
    s.caught_up()
    assert s.target(ticket, "resolution", 0)["status"] == "achieved"
    res1 = s.target(ticket, "resolution", 1)
    assert res1["status"] == "running", res1
    # 40h from Tuesday 09:00: Tue 7.5h, Wed-Fri 25.5h (33h), Sat 4h (37h),
    # Monday 3h -> 11:00.
    assert res1["due_at"] == dt("2026-12-21T11:00:00+07:00"), res1

    # 80% of 40h = 32h: Friday 18 December 16:30; due Monday 21 at 11:00.
    s.set_clock(dt("2026-12-18T16:30:00+07:00"))
    h.wait_until("the warning of resolution cycle 1",
                 lambda: any(t == "sla.warning" and tgt == TARGET["resolution"] and c == 1
                             for t, tgt, c, _ in s.sla_events(ticket)),
                 h.scaled(10), interval=0.02, on_timeout=s.logs)
    s.set_clock(dt("2026-12-21T10:59:59+07:00"))
    assert not any(t == "sla.breach" and tgt == TARGET["resolution"]
                   for t, tgt, _, _ in s.sla_events(ticket))
    s.set_clock(dt("2026-12-21T11:00:00+07:00"))
    h.wait_until("the breach of resolution cycle 1",
                 lambda: any(t == "sla.breach" and tgt == TARGET["resolution"] and c == 1
                             for t, tgt, c, _ in s.sla_events(ticket)),
                 h.scaled(10), interval=0.02, on_timeout=s.logs)
    events = s.sla_events(ticket)
    res = [(t, c) for t, tgt, c, _ in events if tgt == TARGET["resolution"]]
    # Cycle 0 was solved in time; cycle 1 warned once, breached once.
    assert sorted(res) == [("sla.breach", 1), ("sla.escalation", 1), ("sla.warning", 1)], res
    # The next response opened on Tuesday (due Wednesday 08:30) breached too.
    nr = [(t, c) for t, tgt, c, _ in events if tgt == TARGET["next_response"]]
    assert sorted(nr) == [("sla.breach", 1), ("sla.escalation", 1)], nr


# --- b. kill -9 between a warning and its breach ----------------------------------------------


def test_kill9_between_warning_and_breach_fires_the_breach_once(stack, pb2):
    s = Sla(stack, pb2)
    tickets = [s.open_ticket()[0] for _ in range(5)]
    s.caught_up()
    s.set_clock(dt("2026-11-23T13:30:00+07:00"))
    h.wait_until("5 warnings", lambda: len(s.sla_events()) == 5, h.scaled(10), interval=0.02,
                 on_timeout=s.logs)

    s.st.kill9("sla")
    # The deadline passes while it is down.
    s.set_clock(dt("2026-11-23T14:30:00+07:00"), wait=False)
    s.start()
    h.wait_until("5 breaches and 5 escalations after the restart",
                 lambda: len(s.sla_events()) == 15, h.scaled(15), interval=0.05,
                 on_timeout=s.logs)
    # Killed again right after, and restarted: still nothing twice.
    s.st.kill9("sla")
    s.start()
    s.set_clock(dt("2026-11-23T14:31:00+07:00"))
    s.caught_up()
    for t in tickets:
        assert s.count(t) == Counter({("sla.warning", 1): 1, ("sla.breach", 1): 1,
                                      ("sla.escalation", 1): 1}), (t, s.count(t))
    assert s.st.db.scalar("SELECT count(DISTINCT event_id) FROM eventlog.events"
                          " WHERE stream = 'sla'") == 15


# --- c. two instances --------------------------------------------------------------------------


def test_two_instances_publish_every_warning_and_breach_once(stack, pb2):
    s = Sla(stack, pb2)
    second = s.second_instance()
    # Events are shared out between the two consumers (each event applied
    # by exactly one); each instance holds the timers of what it applied.
    tickets = [s.open_ticket(at=T0 + timedelta(minutes=i))[0] for i in range(30)]
    s.caught_up()
    s.set_clock(dt("2026-11-23T13:45:00+07:00"))
    h.wait_until("30 warnings", lambda: len(s.sla_events()) == 30, h.scaled(15),
                 interval=0.05, on_timeout=s.logs)
    s.set_clock(dt("2026-11-23T15:00:00+07:00"))
    h.wait_until("30 breaches and escalations", lambda: len(s.sla_events()) == 90, h.scaled(15),
                 interval=0.05, on_timeout=s.logs)
    # Both instances keep running their sweeps: still nothing twice.
    s.set_clock(dt("2026-11-23T15:01:00+07:00"))
    time.sleep(h.scaled(1.0))
    counts = s.count()
    assert counts == Counter({("sla.warning", 1): 30, ("sla.breach", 1): 30,
                              ("sla.escalation", 1): 30}), counts
    for t in tickets:
        assert len(s.sla_events(t)) == 3
    assert second.running() and s.st["sla"].running()


# --- d. the API ------------------------------------------------------------------------------


def test_ticket_api_shows_the_sla_targets(stack, pb2):
    s = Sla(stack, pb2, services=("ingest", "router"))
    r = s.st.post_message({
        "channel": "zalo", "external_id": "sla-1",
        "customer": {"name": "Lan", "phone": "0901234567", "handle": "zalo-uid-1"},
        "text": "Tôi cần hỗ trợ", "occurred_at": iso(T0)})
    assert r.status == 202, r
    event_id = r.json()["event_id"]

    def routed():
        ev = s.st.get_api(f"/v1/events/{event_id}").json()
        return ev.get("ticket_id")

    ticket = h.wait_until("the contact to be routed", routed, h.scaled(10), interval=0.05,
                          on_timeout=s.logs)
    h.wait_until("sla-monitor to track the ticket",
                 lambda: s.target(ticket, "first_response") is not None, h.scaled(10),
                 interval=0.05, on_timeout=s.logs)
    s.set_clock(dt("2026-11-23T10:00:00+07:00"))

    def sla_part():
        r = s.st.get_api(f"/v1/tickets/{ticket}")
        assert r.status == 200, r
        return {x["target"]: x for x in r.json()["sla"]}

    part = sla_part()
    fr = part["first_response"]
    assert datetime.fromisoformat(fr["due_at"]) == dt("2026-11-23T14:00:00+07:00"), fr
    assert fr["achieved_at"] is None and fr["breached"] is False and fr["warned"] is False, fr
    assert fr["remaining_business_secs"] == 3 * 3600, fr  # at the SLA clock, 10:00
    assert part["resolution"]["remaining_business_secs"] == 39 * 3600, part

    s.reply(ticket, dt("2026-11-23T10:30:00+07:00"))
    s.caught_up()
    fr = sla_part()["first_response"]
    assert fr["status"] == "achieved", fr
    assert datetime.fromisoformat(fr["achieved_at"]) == dt("2026-11-23T10:30:00+07:00"), fr
    assert fr["remaining_business_secs"] == 2.5 * 3600, fr
    assert fr["breached"] is False, fr


# --- e. a team's calendar and SLA policy ---------------------------------------------------------

SLA_SNAPSHOT = {
    "targets": "SELECT * FROM sla.targets ORDER BY ticket_id, target, cycle",
    "tickets": "SELECT * FROM sla.tickets ORDER BY ticket_id",
    "facts": "SELECT * FROM sla.ticket_facts ORDER BY stream, seq",
    "team settings": "SELECT * FROM sla.team_settings ORDER BY stream, seq",
    "emitted": "SELECT * FROM sla.emitted ORDER BY event_id",
    "sla events": "SELECT event_id, type, seq, payload FROM eventlog.events"
                  " WHERE stream = 'sla' ORDER BY seq",
}


def test_a_teams_calendar_and_policy_move_its_open_tickets_deadlines(stack, pb2):
    s = Sla(stack, pb2, services=("ingest", "router"))
    st = s.st

    def api(method, path, body=None, status=200):
        r = h.http_request(st.api_url + path, method, body, st.auth())
        assert r.status == status, (path, body, r)
        return r.json() if r.body else None

    def contact(handle, at):
        r = st.post_message({"channel": "zalo", "external_id": f"team-{handle}",
                             "customer": {"name": "Lan", "handle": handle},
                             "text": "Tôi cần hỗ trợ", "occurred_at": iso(at)})
        assert r.status == 202, r
        event_id = r.json()["event_id"]
        ticket = h.wait_until("the contact to be routed",
                              lambda: st.get_api(f"/v1/events/{event_id}").json().get("ticket_id"),
                              h.scaled(10), interval=0.05, on_timeout=s.logs)
        h.wait_until("sla-monitor to track the ticket",
                     lambda: s.target(ticket, "first_response") is not None, h.scaled(10),
                     interval=0.05, on_timeout=s.logs)
        return ticket

    def sla_part(ticket):
        return {x["target"]: x for x in api("GET", f"/v1/tickets/{ticket}")["sla"]}

    def due(ticket, target):
        return datetime.fromisoformat(sla_part(ticket)[target]["due_at"])

    kept = contact("team-kept", T0)
    ticket = contact("team-open", T0)
    team = api("GET", f"/v1/tickets/{ticket}")["team"]
    assert team and api("GET", f"/v1/tickets/{kept}")["team"] == team
    # Regular customer, the team names nothing yet: vn-business, 4h -> 14:00.
    assert due(ticket, "first_response") == dt("2026-11-23T14:00:00+07:00")
    assert sla_part(ticket)["first_response"]["calendar"] == "vn-business"
    # Closed before the team changes: its targets stay as they were.
    api("POST", f"/v1/tickets/{kept}/status", {"status": "closed"}, status=202)
    s.caught_up()
    h.wait_until("the closed ticket's clocks to stop",
                 lambda: s.target(kept, "resolution")["status"] == "achieved", h.scaled(10),
                 interval=0.05, on_timeout=s.logs)
    kept_rows = st.db.query("SELECT * FROM sla.targets WHERE ticket_id = %s ORDER BY 2, 3",
                            (kept,))

    # The team's calendar: its open ticket's running targets are recomputed
    # on it (24x7: 4h from 09:00 is 13:00; resolution 40h).
    assert api("PATCH", f"/v1/teams/{team}", {"calendar": "24x7"})["calendar"] == "24x7"
    s.caught_up()
    h.wait_until("the deadline on the team's calendar",
                 lambda: due(ticket, "first_response") == dt("2026-11-23T13:00:00+07:00"),
                 h.scaled(10), interval=0.05, on_timeout=lambda: f"{sla_part(ticket)}{s.logs()}")
    part = sla_part(ticket)
    assert part["first_response"]["calendar"] == "24x7", part
    assert part["first_response"]["policy"] == "regular", part
    assert datetime.fromisoformat(part["resolution"]["due_at"]) == \
        dt("2026-11-25T01:00:00+07:00"), part
    assert st.db.query("SELECT * FROM sla.targets WHERE ticket_id = %s ORDER BY 2, 3",
                       (kept,)) == kept_rows
    # The running timer was re-armed: the breach fires at 13:00, not 14:00.
    s.set_clock(dt("2026-11-23T13:00:01+07:00"))
    h.wait_until("the breach at the new deadline",
                 lambda: s.count(ticket)[("sla.breach", TARGET["first_response"])] == 1,
                 h.scaled(10), interval=0.05, on_timeout=s.logs)
    breach = [e for typ, tgt, _, e in s.sla_events(ticket)
              if typ == "sla.breach" and tgt == TARGET["first_response"]][0]
    assert breach.sla_breach.due_at.ToDatetime(tzinfo=timezone.utc) == \
        dt("2026-11-23T13:00:00+07:00")

    # The breach escalates the ticket: high priority.
    h.wait_until("the escalation", lambda: api("GET", f"/v1/tickets/{ticket}")["priority"] == "high",
                 h.scaled(10), interval=0.05, on_timeout=s.logs)

    # The team's SLA policy: vip's targets (high: resolution 8h) on the
    # team's calendar; the breach already published stays.
    assert api("PATCH", f"/v1/teams/{team}", {"sla_policy": "vip"})["sla_policy"] == "vip"
    s.caught_up()
    h.wait_until("the team's policy",
                 lambda: sla_part(ticket)["resolution"]["policy"] == "vip", h.scaled(10),
                 interval=0.05, on_timeout=s.logs)
    part = sla_part(ticket)
    assert due(ticket, "resolution") == dt("2026-11-23T17:00:00+07:00"), part
    assert part["first_response"]["breached"] is True, part
    assert s.count(ticket)[("sla.breach", TARGET["first_response"])] == 1

    # A new ticket of the team is held to them from its opening (vip normal
    # first response 1h on 24x7).
    later = contact("team-new", dt("2026-11-23T13:30:00+07:00"))
    assert api("GET", f"/v1/tickets/{later}")["team"] == team
    assert due(later, "first_response") == dt("2026-11-23T14:30:00+07:00")

    # Back to no calendar: the policy's own (vip: 24x7) — a PATCH of one field
    # leaves the other as it was.
    api("PATCH", f"/v1/teams/{team}", {"calendar": None})
    s.caught_up()
    h.wait_until("the policy's calendar",
                 lambda: sla_part(ticket)["resolution"]["calendar"] == "24x7"
                 and sla_part(ticket)["resolution"]["policy"] == "vip", h.scaled(10),
                 interval=0.05, on_timeout=s.logs)

    # A rebuild from the log equals the live state.
    s.caught_up()
    live = {name: st.db.query(sql) for name, sql in SLA_SNAPSHOT.items()}
    st.stop("sla")
    st.db.query("SELECT sla.reset_derived()")
    assert st.db.scalar("SELECT count(*) FROM sla.targets") == 0
    s.start()
    s.caught_up()
    st.wait_caught_up(consumer="sla-monitor", stream="sla", timeout=h.scaled(15))
    again = {name: st.db.query(sql) for name, sql in SLA_SNAPSHOT.items()}
    for name in SLA_SNAPSHOT:
        assert live[name] == again[name], f"{name} differs after the rebuild"
