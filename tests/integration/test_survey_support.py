"""Shared helpers of the survey tests (test_survey_*.py); no tests here.

A survey starts when the router emits ticket.solved (or ticket.closed). The
tickets are made through the API (POST /v1/messages, routed by the real
router) and solved through the API (POST /v1/tickets/{id}/status). Where
the router does not emit ticket.solved for a status change yet (issue 4 in
progress), solve_ticket appends the event to the router stream itself, the
way the router would (eventlog.append, payload from the standard protoc's
Python code) -- decided from the log, not from a timeout: once the router
has applied the status change and no ticket.solved followed, it does not
emit one.
"""

import json
import re
import uuid
from urllib.parse import urlencode, urlsplit

import psycopg2

import carebus_harness as h

SECRET = "test-survey-secret-0123456789abcdef"
WEBHOOK_SECRET = "test-webhook-secret-fedcba9876543210"


def survey_env(stack, **extra):
    """Environment for the survey service of stack: its link base is its own
    URL. extra: CAREBUS_* overrides (values converted to str)."""
    env = {
        "CAREBUS_SURVEY_SECRET": SECRET,
        "CAREBUS_SURVEY_URL": stack["survey"].url,
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(stack_fixture, *, survey=True, router=True, ingest=True, **env):
    """A stack on a fresh database with ingest, router and survey (the
    latter with survey_env(**env))."""
    st = stack_fixture()
    names = [n for n, on in (("ingest", ingest), ("router", router)) if on]
    for n in names:
        st[n].start(wait_ready=False)
    if survey:
        st["survey"].start(wait_ready=False, extra_env=survey_env(st, **env))
        names.append("survey")
    for n in names:
        st[n].wait_ready()
    return st


def open_ticket(st, n, text="Tôi cần hỗ trợ đơn hàng", channel="zalo", customer_no=None):
    """Posts a contact of customer customer_no (default n) and waits until the
    router placed it. Returns (ticket_id, customer_id)."""
    msg = h.contact(n, customer_no if customer_no is not None else n, channel,
                    external_id=f"survey-{n}-{uuid.uuid4().hex[:8]}", text=text)
    r = st.post_message(msg)
    assert r.status == 202, r
    event_id = r.json()["event_id"]

    def routed():
        rows = st.db.query("SELECT ticket_id::text, customer_id::text FROM router.messages "
                           "WHERE event_id = %s", (event_id,))
        return rows[0] if rows else None

    return h.wait_until(f"contact {event_id} routed", routed, h.scaled(20),
                        on_timeout=lambda: st.log_summary())


def append_router(st, pb2, type_, ticket_id, customer_id, **body):
    """Appends one event to the router stream as the router would; returns
    its event id."""
    env = pb2.Envelope()
    env.event_id = str(uuid.uuid4())
    env.type = type_
    env.stream = "router"
    env.occurred_at.GetCurrentTime()
    env.ticket_id = ticket_id
    if customer_id:
        env.customer_id = customer_id
    field = {"ticket.solved": "ticket_solved", "ticket.closed": "ticket_closed",
             "ticket.reopened": "ticket_reopened", "customer.merged": "customer_merged"}[type_]
    sub = getattr(env, field)
    sub.SetInParent()
    for k, v in body.items():
        setattr(sub, k, v)
    st.db.query(
        "SELECT seq FROM eventlog.append('router', %s::uuid[], %s::text[], %s::text[], "
        "%s::text[], ARRAY[now()], %s::uuid[], %s::uuid[], %s::bytea[])",
        ([env.event_id], [type_], [None], [None], [customer_id], [ticket_id],
         [psycopg2.Binary(env.SerializeToString())]))
    return env.event_id


def _router_event(st, type_, ticket_id):
    return st.db.scalar("SELECT event_id::text FROM eventlog.events WHERE stream = 'router' "
                        "AND type = %s AND ticket_id = %s ORDER BY seq DESC LIMIT 1",
                        (type_, ticket_id))


def set_status(st, pb2, ticket_id, status, router_type):
    """POST /v1/tickets/{id}/status; returns the router event's id. Emulates
    the router when it does not emit router_type for a status change."""
    before = _router_event(st, router_type, ticket_id)
    r = h.http_request(f"{st.api_url}/v1/tickets/{ticket_id}/status", "POST",
                       {"status": status, "reason": "test", "actor": "agent-1"}, st.auth())
    if r.status in (200, 202):
        seq = st.last_seq("ingest")
        st.wait_caught_up("router", "ingest", at_least=seq)
        ev = _router_event(st, router_type, ticket_id)
        if ev and ev != before:
            return ev
    elif r.status not in (404, 405):
        raise AssertionError(f"POST /v1/tickets/{ticket_id}/status: {r}")
    customer = st.db.scalar("SELECT customer_id::text FROM router.tickets WHERE id = %s",
                            (ticket_id,))
    return append_router(st, pb2, router_type, ticket_id, customer, reason="test")


def solve_ticket(st, pb2, ticket_id):
    return set_status(st, pb2, ticket_id, "solved", "ticket.solved")


def survey_row(st, ticket_id):
    rows = st.db.query(
        "SELECT id::text, status, link, language, channel, handle, text, customer_id::text "
        "FROM survey.surveys WHERE ticket_id = %s", (ticket_id,))
    if not rows:
        return None
    keys = ("id", "status", "link", "language", "channel", "handle", "text", "customer_id")
    return dict(zip(keys, rows[0]))


def wait_requested(st, ticket_id, timeout=None):
    """Until the ticket's survey is requested; returns survey_row."""
    def check():
        row = survey_row(st, ticket_id)
        return row if row and row["status"] != "scheduled" else None

    return h.wait_until(f"survey of ticket {ticket_id} requested", check,
                        timeout or h.scaled(20), interval=0.05,
                        on_timeout=lambda: st["survey"].log_tail())


def token_of(link):
    m = re.search(r"/s/([A-Za-z0-9_-]+)$", link)
    assert m, link
    return m.group(1)


def path_of(link):
    return urlsplit(link).path


def answers(st):
    return st.db.query("SELECT survey_id::text, csat, ces, comment FROM survey.answers "
                       "ORDER BY survey_id")


def answered_events(st):
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'survey' "
                        "AND type = 'survey.answered'")


def requested_events(st, ticket_id=None):
    if ticket_id:
        return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'survey' "
                            "AND type = 'survey.requested' AND ticket_id = %s", (ticket_id,))
    return st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'survey' "
                        "AND type = 'survey.requested'")


def api_answer(st, token, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return h.http_request(f"{st['survey'].url}/v1/surveys/{token}/answer", "POST", data,
                          {"Content-Type": content_type})


class Browserless:
    """A minimal form client: GET the page (keeps the cookie, reads the CSRF
    field), POST the form as a browser on this site would."""

    def __init__(self, st, link):
        self.st = st
        self.base = st["survey"].url
        self.path = path_of(link)
        self.cookie = None
        self.csrf = None

    def get(self, query="", headers=None):
        r = h.http_request(self.base + self.path + query, "GET", headers=headers or {})
        sc = r.header("set-cookie")
        if sc:
            self.cookie = sc.split(";", 1)[0]
        m = re.search(rb'name="csrf" value="([^"]+)"', r.body)
        if m:
            self.csrf = m.group(1).decode()
        return r

    def post(self, fields, origin=True, cookie=True, csrf=True, headers=None):
        f = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if csrf and self.csrf and not any(k == "csrf" for k, _ in f):
            f.append(("csrf", self.csrf))
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin is True:
            hdrs["Origin"] = self.base
        elif origin:
            hdrs["Origin"] = origin
        if cookie and self.cookie:
            hdrs["Cookie"] = self.cookie
        hdrs.update(headers or {})
        return h.http_request(self.base + self.path, "POST", urlencode(f), hdrs)
