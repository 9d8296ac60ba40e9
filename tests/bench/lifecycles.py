# lifecycles.py — whole ticket lifecycles as COPY rows of eventlog.events.
#
#   lifecycles.py PYDIR N    (PYDIR: the protoc --python_out of events.proto)
#
# Writes at least N valid protobuf envelopes on the four streams (contacts,
# router events, replies, status changes, SLA warnings and breaches,
# surveys, profile updates, presence), each ticket's events one after the
# other in its streams, as text COPY lines of the staging table that
# lifecycles.sh loads (the occurred_at epoch goes through to_timestamp
# there: COPY has no expressions). Deterministic (seeded): every run and
# every part load the same log. Each stream's last seq goes to stderr.
import random, sys, uuid
sys.path.insert(0, sys.argv[1])
from carebus.v1 import events_pb2 as P

target = int(sys.argv[2])
rnd = random.Random(40)
ns = uuid.UUID("9d1c2f3e-4b5a-4c6d-8e7f-a0b1c2d3e4f5")
seqs = {"ingest": 0, "router": 0, "sla": 0, "survey": 0}
out = sys.stdout
base = 1767200400  # 2026-01-01T00:00:00+07:00
channels = list(range(1, 13))
teams = ["support", "technical", "complaints", "returns-warranty", "loyalty",
         "account-management", "sales"]
n = 0

def emit(stream, body, t, ticket, customer, **fields):
    global n
    n += 1
    env = P.Envelope()
    env.event_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    env.stream = stream
    env.occurred_at.seconds = int(t)
    if ticket:
        env.ticket_id = ticket
    if customer:
        env.customer_id = customer
    msg = getattr(env, body)
    for k, v in fields.items():
        if k in ("csat", "ces"):
            getattr(msg, k).value = v
        else:
            setattr(msg, k, v)
    msg.SetInParent()
    env.type = TYPES[body]
    seqs[stream] += 1
    ts = f"{int(t)}"
    out.write(f"{stream}\t{seqs[stream]}\t{env.event_id}\t{env.type}\t\\N\t\\N\t"
              f"to_timestamp\t{ts}\t{customer or chr(92) + 'N'}\t{ticket or chr(92) + 'N'}\t"
              f"\\\\x{env.SerializeToString().hex()}\n")

TYPES = {"contact_received": "contact.received", "agent_replied": "agent.replied",
         "ticket_status_changed": "ticket.status_changed", "agent_presence": "agent.presence",
         "customer_profile_updated": "customer.profile_updated",
         "ticket_opened": "ticket.opened", "ticket_contact_added": "ticket.contact_added",
         "ticket_classified": "ticket.classified", "ticket_assigned": "ticket.assigned",
         "ticket_transferred": "ticket.transferred", "ticket_solved": "ticket.solved",
         "ticket_closed": "ticket.closed", "sla_warning": "sla.warning",
         "sla_breach": "sla.breach", "survey_requested": "survey.requested",
         "survey_answered": "survey.answered"}

customers = [str(uuid.uuid5(ns, f"c{i}")) for i in range(max(1000, target // 50))]
k = 0
while n < target:
    k += 1
    ticket = str(uuid.uuid5(ns, f"t{k}"))
    c = rnd.choice(customers)
    t0 = base + rnd.random() * 90 * 86400
    ch = rnd.choice(channels)
    team = rnd.choice(teams)
    agent = f"agent-{rnd.randrange(50):02d}"
    if rnd.random() < 0.05:
        emit("ingest", "customer_profile_updated", t0 - 60, None, c,
             segment=rnd.choice([1, 1, 1, 2, 3]), status=2 if rnd.random() < 0.1 else 1)
    ncontacts = rnd.choice([1, 1, 2, 2, 3])
    emit("ingest", "contact_received", t0, None, None, channel=ch, text="Tôi cần hỗ trợ")
    emit("router", "ticket_opened", t0, ticket, c, channel=ch)
    emit("router", "ticket_contact_added", t0, ticket, c, channel=ch)
    emit("router", "ticket_classified", t0, ticket, c, category=rnd.randrange(1, 9), priority=2)
    emit("router", "ticket_assigned", t0, ticket, c, team=team, agent_id=agent)
    t = t0 + rnd.expovariate(1 / 1800)
    for r in range(rnd.choice([1, 2, 3, 4, 5, 6])):
        emit("ingest", "agent_replied", t, ticket, c, agent_id=agent, text="Dạ")
        if r + 1 < ncontacts:
            t += rnd.expovariate(1 / 3600)
            emit("ingest", "contact_received", t, None, None, channel=ch, text="Vâng")
            emit("router", "ticket_contact_added", t, ticket, c, channel=ch)
        t += rnd.expovariate(1 / 2400)
    if rnd.random() < 0.1:
        emit("router", "ticket_transferred", t, ticket, c, to_team=rnd.choice(teams))
    if rnd.random() < 0.3:
        emit("ingest", "ticket_status_changed", t, ticket, c, status=2)
        t += rnd.expovariate(1 / 7200)
        emit("ingest", "ticket_status_changed", t, ticket, c, status=1)
    if rnd.random() < 0.3:
        emit("sla", "sla_warning", t, ticket, c, target=rnd.choice([1, 3]))
        if rnd.random() < 0.5:
            emit("sla", "sla_breach", t + 600, ticket, c, target=rnd.choice([1, 2, 3]))
    if rnd.random() < 0.9:
        t += rnd.expovariate(1 / 14400)
        emit("router", "ticket_solved", t, ticket, c, reason="done")
        sid = f"s{k}"
        emit("survey", "survey_requested", t, ticket, c, survey_id=sid, channel=ch)
        if rnd.random() < 0.4:
            emit("survey", "survey_answered", t + 3600, ticket, c, survey_id=sid,
                 csat=rnd.randrange(1, 6), ces=rnd.randrange(1, 8))
        if rnd.random() < 0.7:
            emit("router", "ticket_closed", t + 86400, ticket, c, reason="auto")
    if rnd.random() < 0.05:
        emit("ingest", "agent_presence", t0, None, None, agent_id=agent, presence=1, capacity=5)
for s, v in seqs.items():
    sys.stderr.write(f"{s} {v}\n")