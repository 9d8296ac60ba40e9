"""The analytics acceptance scenario: events and hand-computed KPIs.

Shared by tests/integration/test_analytics_*.py (imported, not collected).
Events are appended to the log directly (eventlog.append), as the router,
ingest, sla-monitor and survey would have published them, so the test does
not depend on the other services' timing.

Calendar: Asia/Ho_Chi_Minh (UTC+7), business hours mon-fri 08:00-17:00
(analytics' defaults). D1 = Monday 2026-03-02, D2 = Tuesday 03-03,
D3 = Wednesday 03-04. Times below are local.

Customers: C1 regular (Lan), C2 VIP (profile), C3 wholesale (profile),
C4 regular, churned on D2 18:00; C5 is a duplicate of C1 merged into it on D3.

Tickets:
  T1 C1 zalo      D1 09:00 opened, technical_support, team technical, agent a1
                  09:05 internal note (not a reply), 09:10 reply (first response 600 s)
                  10:00 solved (resolution 3,600 s): FCR (one reply, no transfer/reopen)
                  survey asked 10:00, answered D1 11:00: CSAT 5, CES 6; closed D3 12:00
  T2 C2 email     D1 10:00 opened, complaint, team complaints, agent a2
                  10:30 reply (first response 1,800 s); 11:00 customer again by PHONE
                  11:15 sla.breach next_response; 11:20 reply (the cycle is missed)
                  12:00 transferred to returns-warranty, assigned a3; 13:00 reply
                  15:00 solved (18,000 s): not FCR; survey 15:00, answered D2 09:00: 3, 4
  T3 C3 phone     D1 16:00 opened, billing, team support, agent a1
                  D2 08:00 sla.breach first_response; 09:00 reply (61,200 s; business:
                  D1 16-17 + D2 08-09 = 7,200 s); 10:00 solved
                  14:00 customer calls again: reopened; 14:30 reply (next response met)
                  D3 08:00 sla.breach resolution; 09:00 solved again: resolution
                  D1 16:00 -> D3 09:00 = 147,600 s (business 1 h + 9 h + 1 h = 39,600 s)
                  survey asked D3 09:00, never answered
  T4 C4 chat      D2 11:00 opened, product_info, queued for team sales (no agent)
                  11:20 reply (1,200 s); 11:30 pending on the customer, stays pending
  T5 C1 facebook  D3 10:00 opened, account, team support, agent a4; 10:05 a second
                  contact; no reply: open at the end
"""

import uuid
from datetime import datetime, timedelta, timezone
from math import ceil, floor

TZ = timezone(timedelta(hours=7))
D1, D2, D3 = "2026-03-02", "2026-03-03", "2026-03-04"
DAYS = (D1, D2, D3)
NS = uuid.UUID("5a1d7e3c-0b6f-4c1e-9a57-3d2f8e61c0aa")


def uid(name):
    return str(uuid.uuid5(NS, name))


C1, C2, C3, C4, C5 = (uid(f"customer-{i}") for i in range(1, 6))
T1, T2, T3, T4, T5 = (uid(f"ticket-{i}") for i in range(1, 6))


def at(day, hhmm):
    d = datetime.strptime(f"{day} {hhmm}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
    return d


class Builder:
    """Envelopes per stream, in the order each producer would have written them."""

    def __init__(self, pb2):
        self.pb2 = pb2
        self.events = {"ingest": [], "router": [], "sla": [], "survey": []}
        self.n = 0

    def add(self, stream, when, body, ticket=None, customer=None, **fields):
        pb2 = self.pb2
        self.n += 1
        env = pb2.Envelope()
        env.event_id = uid(f"event-{self.n}")
        env.stream = stream
        ts = when.astimezone(timezone.utc)
        env.occurred_at.seconds = int(ts.timestamp())
        env.occurred_at.nanos = 0
        if ticket:
            env.ticket_id = ticket
        if customer:
            env.customer_id = customer
        msg = getattr(env, body)
        for k, v in fields.items():
            if isinstance(v, dict):  # a wrapper (Int32Value) or a sub-message
                for kk, vv in v.items():
                    setattr(getattr(msg, k), kk, vv)
            elif isinstance(v, list):
                getattr(msg, k).extend(v)
            else:
                setattr(msg, k, v)
        if not fields:
            msg.SetInParent()
        env.type = BODY_TYPES[body]
        self.events[stream].append((when, env))
        return env


BODY_TYPES = {
    "agent_replied": "agent.replied",
    "ticket_status_changed": "ticket.status_changed",
    "customer_profile_updated": "customer.profile_updated",
    "ticket_opened": "ticket.opened",
    "ticket_contact_added": "ticket.contact_added",
    "ticket_classified": "ticket.classified",
    "ticket_assigned": "ticket.assigned",
    "ticket_queued": "ticket.queued",
    "ticket_transferred": "ticket.transferred",
    "ticket_reopened": "ticket.reopened",
    "ticket_solved": "ticket.solved",
    "ticket_closed": "ticket.closed",
    "customer_merged": "customer.merged",
    "sla_breach": "sla.breach",
    "sla_warning": "sla.warning",
    "survey_requested": "survey.requested",
    "survey_answered": "survey.answered",
}


def build(pb2):
    """Returns {stream: [Envelope, ...]} in each stream's order (by time)."""
    b = Builder(pb2)
    P = pb2

    def opened(t, c, day, hhmm, channel, category, team, agent=None):
        w = at(day, hhmm)
        b.add("router", w, "ticket_opened", t, c, channel=channel)
        b.add("router", w, "ticket_contact_added", t, c, channel=channel,
              contact_event_id=uid(f"contact-{t}-{hhmm}"))
        b.add("router", w, "ticket_classified", t, c, category=category,
              priority=P.PRIORITY_NORMAL, rule="test")
        if agent:
            b.add("router", w, "ticket_assigned", t, c, team=team, agent_id=agent)
        else:
            b.add("router", w, "ticket_queued", t, c, team=team)

    def contact(t, c, day, hhmm, channel):
        b.add("router", at(day, hhmm), "ticket_contact_added", t, c, channel=channel,
              contact_event_id=uid(f"contact-{t}-{day}-{hhmm}"))

    def reply(t, day, hhmm, agent, note=False):
        b.add("ingest", at(day, hhmm), "agent_replied", t, agent_id=agent, text="Dạ vâng",
              channel=P.CHANNEL_CHAT, internal_note=note)

    def solved(t, c, day, hhmm):
        b.add("router", at(day, hhmm), "ticket_solved", t, c, reason="done")

    def breach(t, day, hhmm, target):
        b.add("sla", at(day, hhmm), "sla_breach", t, target=target,
              due_at={"seconds": int(at(day, hhmm).timestamp())})

    def survey(t, c, sid, day, hhmm, channel):
        b.add("survey", at(day, hhmm), "survey_requested", t, c, survey_id=sid,
              channel=channel, link=f"http://localhost/s/{sid}", language="vi")

    def answer(t, c, sid, day, hhmm, csat, ces):
        b.add("survey", at(day, hhmm), "survey_answered", t, c, survey_id=sid,
              csat={"value": csat}, ces={"value": ces}, comment="Cảm ơn")

    # Profiles (ingest): C2 VIP, C3 wholesale, before their first contacts.
    b.add("ingest", at(D1, "08:00"), "customer_profile_updated", customer=C2,
          segment=P.SEGMENT_VIP, status=P.CUSTOMER_STATUS_ACTIVE)
    b.add("ingest", at(D1, "08:00"), "customer_profile_updated", customer=C3,
          segment=P.SEGMENT_WHOLESALE)

    # T1
    opened(T1, C1, D1, "09:00", P.CHANNEL_ZALO, P.CATEGORY_TECHNICAL_SUPPORT, "technical", "a1")
    reply(T1, D1, "09:05", "a1", note=True)
    reply(T1, D1, "09:10", "a1")
    solved(T1, C1, D1, "10:00")
    survey(T1, C1, "s-1", D1, "10:00", P.CHANNEL_ZALO)
    answer(T1, C1, "s-1", D1, "11:00", 5, 6)
    b.add("router", at(D3, "12:00"), "ticket_closed", T1, C1, reason="auto")

    # T2
    opened(T2, C2, D1, "10:00", P.CHANNEL_EMAIL, P.CATEGORY_COMPLAINT, "complaints", "a2")
    reply(T2, D1, "10:30", "a2")
    contact(T2, C2, D1, "11:00", P.CHANNEL_PHONE)
    breach(T2, D1, "11:15", P.SLA_TARGET_NEXT_RESPONSE)
    reply(T2, D1, "11:20", "a2")
    b.add("router", at(D1, "12:00"), "ticket_transferred", T2, C2, from_team="complaints",
          to_team="returns-warranty", reason="warranty")
    b.add("router", at(D1, "12:00"), "ticket_assigned", T2, C2, team="returns-warranty",
          agent_id="a3")
    reply(T2, D1, "13:00", "a3")
    solved(T2, C2, D1, "15:00")
    survey(T2, C2, "s-2", D1, "15:00", P.CHANNEL_EMAIL)
    answer(T2, C2, "s-2", D2, "09:00", 3, 4)

    # T3
    opened(T3, C3, D1, "16:00", P.CHANNEL_PHONE, P.CATEGORY_BILLING, "support", "a1")
    breach(T3, D2, "08:00", P.SLA_TARGET_FIRST_RESPONSE)
    reply(T3, D2, "09:00", "a1")
    solved(T3, C3, D2, "10:00")
    b.add("router", at(D2, "14:00"), "ticket_reopened", T3, C3,
          contact_event_id=uid("contact-t3-reopen"))
    contact(T3, C3, D2, "14:00", P.CHANNEL_PHONE)
    reply(T3, D2, "14:30", "a1")
    breach(T3, D3, "08:00", P.SLA_TARGET_RESOLUTION)
    solved(T3, C3, D3, "09:00")
    survey(T3, C3, "s-3", D3, "09:00", P.CHANNEL_PHONE)

    # T4 and C4's churn
    opened(T4, C4, D2, "11:00", P.CHANNEL_CHAT, P.CATEGORY_PRODUCT_INFO, "sales")
    reply(T4, D2, "11:20", "a5")
    b.add("ingest", at(D2, "11:30"), "ticket_status_changed", T4,
          status=P.TICKET_STATUS_PENDING, actor="a5")
    b.add("ingest", at(D2, "18:00"), "customer_profile_updated", customer=C4,
          status=P.CUSTOMER_STATUS_CHURNED)

    # T5, and C5 (a duplicate of C1) merged into C1
    opened(T5, C1, D3, "10:00", P.CHANNEL_FACEBOOK, P.CATEGORY_ACCOUNT, "support", "a4")
    contact(T5, C1, D3, "10:05", P.CHANNEL_FACEBOOK)
    b.add("ingest", at(D3, "08:00"), "customer_profile_updated", customer=C5,
          segment=P.SEGMENT_REGULAR)
    b.add("router", at(D3, "13:00"), "customer_merged", customer=C1, survivor_id=C1,
          merged_id=C5, contact_event_id=uid("contact-merge"))

    return {s: [e for _, e in sorted(evs, key=lambda x: x[0])] for s, evs in b.events.items()}


def append(db, stream, envs):
    """Appends envelopes to a stream with eventlog.append (one statement)."""
    rows = db.query(
        "SELECT count(*) FROM eventlog.append(%s, %s::uuid[], %s::text[], %s::text[], "
        "%s::text[], %s::timestamptz[], %s::uuid[], %s::uuid[], %s::bytea[])",
        (stream, [e.event_id for e in envs], [e.type for e in envs], [None] * len(envs),
         [None] * len(envs),
         [datetime.fromtimestamp(e.occurred_at.seconds, timezone.utc) for e in envs],
         [e.customer_id or None for e in envs], [e.ticket_id or None for e in envs],
         [e.SerializeToString() for e in envs]))
    assert rows[0][0] == len(envs)


# --- hand-computed expectations ---------------------------------------------------------


def pct(a, b):
    """What analytics computes: (100 * a) / b in float, None without data."""
    return None if b == 0 else 100 * a / b


def avg_s(sum_s, n):
    return None if n == 0 else (sum_s * 1000) / (n * 1000)


def ratio(a, b):
    return None if b == 0 else a / b


def p90(values_s):
    """percentile_cont(0.9) over milliseconds, in seconds, float step by step."""
    if not values_s:
        return None
    ms = sorted(v * 1000 for v in values_s)
    pos = 0.9 * (len(ms) - 1)
    lo, hi = ms[floor(pos)], ms[ceil(pos)]
    return (lo + (pos - floor(pos)) * (hi - lo)) / 1000


def row(key, contacts=0, created=0, solved=0, fcr=None, csat=None, ces=None, survey=None,
        fr=(), res=(), frb=(), resb=(), sla=None, breaches=0, backlog=0, churn=None, cpt=None,
        sla_fr=None, sla_nr=None, sla_res=None, pending=0, bl=(0, 0, 0, 0)):
    """An expected API row; fr/res/frb/resb are the durations (s) that count."""
    return {
        "key": key, "contacts": contacts, "tickets_created": created, "tickets_solved": solved,
        "fcr_pct": fcr, "csat_pct": csat, "ces_avg": ces, "survey_response_pct": survey,
        "first_response_avg_s": avg_s(sum(fr), len(fr)), "first_response_p90_s": p90(list(fr)),
        "resolution_avg_s": avg_s(sum(res), len(res)), "resolution_p90_s": p90(list(res)),
        "sla_compliance_pct": sla, "sla_breaches": breaches, "backlog_open": backlog,
        "churn_pct": churn, "contacts_per_ticket": cpt,
        "first_response_business_avg_s": avg_s(sum(frb), len(frb)),
        "first_response_business_p90_s": p90(list(frb)),
        "resolution_business_avg_s": avg_s(sum(resb), len(resb)),
        "resolution_business_p90_s": p90(list(resb)),
        "sla_first_response_pct": sla_fr, "sla_next_response_pct": sla_nr,
        "sla_resolution_pct": sla_res, "backlog_pending": pending,
        "backlog_1d": bl[0], "backlog_3d": bl[1], "backlog_7d": bl[2], "backlog_older": bl[3],
    }


# Per day (group_by=day, D1..D3).
EXPECTED_DAYS = [
    # D1: contacts T1 zalo, T2 email + phone, T3 phone = 4; T1-T3 created with 1+2+2
    # contacts (their contacts so far and later: 5) / 3 tickets; solved T1 (FCR) and T2.
    # First responses T1 600, T2 1,800 (all within business hours). Resolutions T1 3,600,
    # T2 18,000. Surveys asked: s-1, s-2, both answered -> 100 %; answered today: s-1
    # (CSAT 5 -> 100 %, CES 6). SLA: FR met T1 T2, RES met T1 T2, NR missed T2 (breach
    # 11:15 inside the 11:00-11:20 cycle): 4 of 5 = 80 %; 1 breach. Backlog at the end:
    # T3 open, 8 h old. No customer active at the day's start: churn null.
    row(D1, contacts=4, created=3, solved=2, fcr=pct(1, 2), csat=pct(1, 1), ces=6.0,
        survey=pct(2, 2), fr=(600, 1800), frb=(600, 1800), res=(3600, 18000),
        resb=(3600, 18000), sla=pct(4, 5), sla_fr=pct(2, 2), sla_nr=pct(0, 1),
        sla_res=pct(2, 2), breaches=1, backlog=1, cpt=ratio(5, 3), bl=(1, 0, 0, 0)),
    # D2: contacts T3's reopening call, T4 chat = 2; T4 created (1 contact). No solve counts
    # (T3's solve at 10:00 was followed by a reopen and a later solve). First responses
    # T3 61,200 (business 7,200), T4 1,200. s-2 answered: CSAT 3 -> 0 %, CES 4. SLA: FR
    # T3 missed (breach 08:00), FR T4 met, NR T3 met (14:00 -> 14:30): 2 of 3; 1 breach.
    # Backlog: T3 (reopened, 32 h old at midnight) and T4 (pending, 13 h). Churn: C4 of
    # the 3 customers active at the start (C1, C2, C3).
    row(D2, contacts=2, created=1, solved=0, csat=pct(0, 1), ces=4.0, fr=(61200, 1200),
        frb=(7200, 1200), sla=pct(2, 3), sla_fr=pct(1, 2), sla_nr=pct(1, 1), breaches=1,
        backlog=2, pending=1, churn=pct(1, 3), cpt=ratio(1, 1), bl=(1, 1, 0, 0)),
    # D3: contacts T5 twice (facebook); T5 created; T3 solved (not FCR: reopened),
    # resolution 147,600 (business 39,600). s-3 asked, unanswered: 0 %. SLA: RES T3
    # missed (breach 08:00): 0 of 1; 1 breach. Backlog: T4 pending (37 h), T5 open (14 h).
    # Active at the start: C1-C3 (C4 churned): none churned today.
    row(D3, contacts=2, created=1, solved=1, fcr=pct(0, 1), survey=pct(0, 1), res=(147600,),
        resb=(39600,), sla=pct(0, 1), sla_res=pct(0, 1), breaches=1, backlog=2, pending=1,
        churn=pct(0, 3), cpt=ratio(2, 1), bl=(1, 1, 0, 0)),
]

# The whole period (group_by=all). Active customers at D1's start: none -> churn null.
EXPECTED_ALL = row(
    None, contacts=8, created=5, solved=3, fcr=pct(1, 3), csat=pct(1, 2), ces=5.0,
    survey=pct(2, 3), fr=(600, 1800, 61200, 1200), frb=(600, 1800, 7200, 1200),
    res=(3600, 18000, 147600), resb=(3600, 18000, 39600),
    # met: FR T1 T2 T4, NR T3, RES T1 T2 = 6; settled: those + FR T3, NR T2, RES T3 = 9
    sla=pct(6, 9), sla_fr=pct(3, 4), sla_nr=pct(1, 2), sla_res=pct(2, 3), breaches=3,
    backlog=2, pending=1, cpt=ratio(8, 5), bl=(1, 1, 0, 0))

# Per channel over D1..D3: KPIs count under the ticket's opening channel, contacts under
# their own channel (T2's 11:00 call counts for phone).
EXPECTED_CHANNEL = [
    row("chat", contacts=1, created=1, fr=(1200,), frb=(1200,), sla=pct(1, 1), sla_fr=pct(1, 1),
        backlog=1, pending=1, cpt=ratio(1, 1), bl=(0, 1, 0, 0)),
    row("email", contacts=1, created=1, solved=1, fcr=pct(0, 1), csat=pct(0, 1), ces=4.0,
        survey=pct(1, 1), fr=(1800,), frb=(1800,), res=(18000,), resb=(18000,),
        sla=pct(2, 3), sla_fr=pct(1, 1), sla_nr=pct(0, 1), sla_res=pct(1, 1), breaches=1,
        cpt=ratio(2, 1)),
    row("facebook", contacts=2, created=1, backlog=1, cpt=ratio(2, 1), bl=(1, 0, 0, 0)),
    row("phone", contacts=3, created=1, solved=1, fcr=pct(0, 1), survey=pct(0, 1),
        fr=(61200,), frb=(7200,), res=(147600,), resb=(39600,), sla=pct(1, 3),
        sla_fr=pct(0, 1), sla_nr=pct(1, 1), sla_res=pct(0, 1), breaches=2, cpt=ratio(2, 1)),
    row("zalo", contacts=1, created=1, solved=1, fcr=pct(1, 1), csat=pct(1, 1), ces=6.0,
        survey=pct(1, 1), fr=(600,), frb=(600,), res=(3600,), resb=(3600,), sla=pct(2, 2),
        sla_fr=pct(1, 1), sla_res=pct(1, 1), cpt=ratio(1, 1)),
]

# Per segment over D2..D3 (churn needs customers active at the start): regular = C1 and
# C4 (T1 is outside the period; T4, T5 in it); vip = C2 (T2's D2 answer); wholesale = C3.
EXPECTED_SEGMENT_D2_D3 = [
    row("regular", contacts=3, created=2, fr=(1200,), frb=(1200,), sla=pct(1, 1),
        sla_fr=pct(1, 1), backlog=2, pending=1, cpt=ratio(3, 2), bl=(1, 1, 0, 0),
        churn=pct(1, 1)),  # C4 churned of C1 active at D2's start (C4 came on D2)
    row("vip", csat=pct(0, 1), ces=4.0, churn=pct(0, 1)),
    row("wholesale", contacts=1, solved=1, fcr=pct(0, 1), survey=pct(0, 1), fr=(61200,),
        frb=(7200,), res=(147600,), resb=(39600,), sla=pct(1, 3), sla_fr=pct(0, 1),
        sla_nr=pct(1, 1), sla_res=pct(0, 1), breaches=2, churn=pct(0, 1)),
]

# Per agent over D1..D3: a1 has T1 and T3; a3 T2 (after the transfer); a4 T5; T4 none.
EXPECTED_AGENT_A1 = row(
    "a1", contacts=3, created=2, solved=2, fcr=pct(1, 2), csat=pct(1, 1), ces=6.0,
    survey=pct(1, 2), fr=(600, 61200), frb=(600, 7200), res=(3600, 147600),
    resb=(3600, 39600), sla=pct(3, 5), sla_fr=pct(1, 2), sla_nr=pct(1, 1), sla_res=pct(1, 2),
    breaches=2, cpt=ratio(3, 2))


# --- a random log, for live = rebuild ---------------------------------------------------


def random_log(pb2, seed, n_tickets):
    """Whole ticket lifecycles with every event kind analytics reads, plus
    profile updates (segments, churn) and merges, on 40 customers over a
    week. Deterministic for a seed. Returns {stream: [Envelope]}."""
    import random

    rnd = random.Random(seed)
    b = Builder(pb2)
    P = pb2
    customers = [uid(f"rnd-{seed}-c{i}") for i in range(40)]
    start = at(D1, "06:00")
    teams = ["support", "technical", "complaints", "sales"]
    for k in range(n_tickets):
        t = uid(f"rnd-{seed}-t{k}")
        c = rnd.choice(customers)
        w = start + timedelta(minutes=rnd.randrange(7 * 24 * 60))
        ch = rnd.randrange(1, 13)
        b.add("router", w, "ticket_opened", t, c, channel=ch)
        b.add("router", w, "ticket_contact_added", t, c, channel=ch,
              contact_event_id=uid(f"rnd-{seed}-{k}-c0"))
        b.add("router", w, "ticket_classified", t, c, category=rnd.randrange(1, 9), priority=2)
        if rnd.random() < 0.8:
            b.add("router", w, "ticket_assigned", t, c, team=rnd.choice(teams),
                  agent_id=f"a{rnd.randrange(5)}")
        else:
            b.add("router", w, "ticket_queued", t, c, team=rnd.choice(teams))
        for r in range(rnd.randrange(0, 4)):
            w += timedelta(minutes=rnd.randrange(1, 600))
            b.add("ingest", w, "agent_replied", t, agent_id="a1", text="x",
                  internal_note=rnd.random() < 0.2)
            if rnd.random() < 0.5:
                w += timedelta(minutes=rnd.randrange(1, 300))
                b.add("router", w, "ticket_contact_added", t, c, channel=rnd.randrange(1, 13),
                      contact_event_id=uid(f"rnd-{seed}-{k}-c{r + 1}"))
            if rnd.random() < 0.3:
                b.add("sla", w, "sla_breach", t, target=rnd.randrange(1, 4),
                      due_at={"seconds": int(w.timestamp())})
            if rnd.random() < 0.2:
                b.add("sla", w, "sla_warning", t, target=rnd.randrange(1, 4),
                      remaining_business_secs=rnd.randrange(600))
        if rnd.random() < 0.3:
            b.add("ingest", w, "ticket_status_changed", t, status=P.TICKET_STATUS_PENDING)
            if rnd.random() < 0.5:
                w += timedelta(minutes=rnd.randrange(1, 900))
                b.add("ingest", w, "ticket_status_changed", t, status=P.TICKET_STATUS_OPEN)
        if rnd.random() < 0.15:
            b.add("router", w, "ticket_transferred", t, c, to_team=rnd.choice(teams))
        if rnd.random() < 0.75:
            w += timedelta(minutes=rnd.randrange(1, 3000))
            b.add("router", w, "ticket_solved", t, c, reason="ok")
            sid = f"rnd-{seed}-s{k}"
            b.add("survey", w, "survey_requested", t, c, survey_id=sid, channel=ch)
            if rnd.random() < 0.5:
                b.add("survey", w + timedelta(hours=1), "survey_answered",
                      t if rnd.random() < 0.5 else None, c, survey_id=sid,
                      csat={"value": rnd.randrange(1, 6)}, ces={"value": rnd.randrange(1, 8)})
            if rnd.random() < 0.2:
                w += timedelta(minutes=rnd.randrange(1, 600))
                b.add("router", w, "ticket_reopened", t, c, contact_event_id=uid(f"re-{k}"))
                if rnd.random() < 0.5:
                    w += timedelta(minutes=rnd.randrange(1, 600))
                    b.add("router", w, "ticket_solved", t, c, reason="again")
            if rnd.random() < 0.3:
                b.add("router", w + timedelta(days=1), "ticket_closed", t, c, reason="auto")
    for i in range(60):
        w = start + timedelta(minutes=rnd.randrange(7 * 24 * 60))
        fields = {}
        if rnd.random() < 0.6:
            fields["segment"] = rnd.randrange(1, 4)
        if rnd.random() < 0.5:
            fields["status"] = rnd.randrange(1, 3)
        b.add("ingest", w, "customer_profile_updated", customer=rnd.choice(customers), **fields)
    # The router's ticket merges: closed into another ticket.
    for i in range(10):
        k1, k2 = rnd.sample(range(n_tickets), 2)
        w = start + timedelta(minutes=rnd.randrange(7 * 24 * 60))
        b.add("router", w, "ticket_closed", uid(f"rnd-{seed}-t{k1}"), None, reason="merged",
              merged_into_ticket_id=uid(f"rnd-{seed}-t{k2}"))
    for i in range(8):
        w = start + timedelta(minutes=rnd.randrange(7 * 24 * 60))
        s, m = rnd.sample(customers, 2)
        b.add("router", w, "customer_merged", customer=s, survivor_id=s, merged_id=m,
              contact_event_id=uid(f"rnd-{seed}-merge-{i}"))
    return {s: [e for _, e in sorted(evs, key=lambda x: x[0])] for s, evs in b.events.items()}
