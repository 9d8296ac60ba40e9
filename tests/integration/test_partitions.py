"""Issue 15: two instances of every service.

Each consumer (router, sla-monitor, analytics, courier, survey) applies
only while it holds its lease (eventlog.leases); the other instance stands
by and takes over once the lease expires. channel-ingest (and the HTTP
APIs) serve from either instance.

  a. Two of each under load, one of each killed with -9 in turn: the lease
     is owned again within 10 s of every kill; every acknowledged contact
     is on exactly one ticket; the router equals a clean replay of the log,
     analytics equals a rebuild; no event twice in any stream.
  b. A holder stalled (SIGSTOP) past its lease is replaced; when it runs
     again (SIGCONT) its transaction is refused by the fencing token, and
     the state still equals a clean replay.
  b'. A holder stopped while PostgreSQL sends it a result larger than the
     socket's buffers is blocked in that write, not idle, so its session's
     idle timeout never ends it: the standby that meets its lock ends its
     backend once its lease ran out a lease ago, and takes over.
  c. survey behind a load balancer: each solved ticket asked once, its
     survey answered through either instance, once.
"""

import random
import re
import threading
import time
from datetime import timedelta

import psycopg2
import pytest

import carebus_harness as h
from test_analytics_kpis import ENV as ANALYTICS_ENV
from test_analytics_kpis import rebuild as analytics_rebuild
from test_analytics_kpis import snapshot as analytics_snapshot
from test_router_acceptance import T0, caught_up, presence
from test_router_replay import contacts, diff, snapshot
from test_sla_monitor import SLA_SNAPSHOT
from test_survey_support import (answered_events, api_answer, open_ticket, requested_events,
                                 solve_ticket, survey_env, token_of, wait_requested)

# Kills and deadlines: one worker runs these one after another (Makefile,
# --dist loadgroup), never two at once beside each other.
pytestmark = pytest.mark.xdist_group("kill9")

CONSUMERS = ("router", "sla", "analytics", "courier", "survey")
# The consumer's name in eventlog.leases and eventlog.offsets.
CONSUMER_NAME = {"router": "router", "sla": "sla-monitor", "analytics": "analytics",
                 "courier": "courier", "survey": "survey"}
OWNED_AGAIN_S = 10
# Consumers split into partitions (the default count), each with its lease.
PARTS = {"sla": 8}


def lease(st, name, part=0):
    """(owner, token, live) of the lease of the consumer's partition, or None."""
    rows = st.db.query("SELECT owner, token, expires_at > clock_timestamp() FROM eventlog.leases"
                       " WHERE consumer = %s AND part = %s", (CONSUMER_NAME[name], part))
    return tuple(rows[0]) if rows else None


def leases(st, name):
    """{part: (owner, token, live)} of every partition of the consumer."""
    rows = st.db.query("SELECT part, owner, token, expires_at > clock_timestamp()"
                       " FROM eventlog.leases WHERE consumer = %s", (CONSUMER_NAME[name],))
    return {r[0]: tuple(r[1:]) for r in rows}


def instance(st, name, owner):
    """The running instance (a key of st.services) called owner, or None."""
    for key, svc in st.services.items():
        if svc.name == name and svc.running() and owner.endswith(f":{svc.port}"):
            return key
    return None


def holder(st, name, part=0):
    """The instance (a key of st.services) holding the lease of name's
    partition, or None."""
    lv = lease(st, name, part)
    if not lv or not lv[2]:
        return None
    return instance(st, name, lv[0])


def owned_metric(st, key):
    body = st[key].get("/metrics").body.decode()
    owned = re.search(r"^carebus_partitions_owned (\S+)$", body, re.M)
    return float(owned.group(1)) if owned else None


def fair_share(st, name, keys, timeout=None):
    """Until every partition of name is held by one of the running keys, each
    of which holds its fair share (and /metrics says so)."""
    n = PARTS[name]

    def shared():
        now = leases(st, name)
        if len(now) != n or not all(live for _, _, live in now.values()):
            return False
        count = {k: 0 for k in keys}
        for owner, _, _ in now.values():
            k = instance(st, name, owner)
            if k not in count:
                return False
            count[k] += 1
        share = -(-n // len(keys))
        return (all(share - 1 <= c <= share for c in count.values())
                and all(owned_metric(st, k) == c for k, c in count.items()) and count)

    return h.wait_until(f"{name}'s partitions shared out among {keys}", shared,
                        timeout or h.scaled(20), interval=0.1,
                        on_timeout=lambda: f"{leases(st, name)}\n{st.log_summary()}")


def two_of(st, names):
    for n in names:
        st.add_instance(n)
    keys = [k for n in names for k in (n, f"{n}2")]
    for k in keys:
        st[k].start(wait_ready=False, extra_env=ANALYTICS_ENV if st[k].name == "analytics"
                    else None)
    for k in keys:
        st[k].wait_ready()
    for n in names:
        if n in CONSUMERS:
            h.wait_until(f"{n}'s lease held", lambda n=n: holder(st, n), h.scaled(10))


def post_balanced(st, urls, msgs, threads=4, until=None, at_least=0):
    """Posts msgs across the ingest instances (a load balancer's round robin,
    moving on to the next instance when one refuses or is gone), all of
    them, or, with `until` (an Event), until it is set and at_least were
    posted. The event ids answered 2xx, in the order of msgs."""
    ids, errors, lock = [], [], threading.Lock()
    todo = list(enumerate(msgs))

    def worker(k):
        while True:
            with lock:
                if not todo or (until is not None and until.is_set() and
                                len(msgs) - len(todo) >= at_least):
                    return
                i, m = todo.pop(0)
            for attempt in range(60):  # bounded: ~30 s per message at most
                url = urls[(i + attempt) % len(urls)]
                try:
                    r = h.http_request(url + "/v1/messages", "POST", m, st.auth(), timeout=10)
                except OSError:
                    time.sleep(0.05)
                    continue
                if r.status in (200, 202):
                    with lock:
                        ids.append(r.json()["event_id"])
                    break
                if r.status != 503:
                    with lock:
                        errors.append((m["external_id"], r.status, r.body[:200]))
                    break
                time.sleep(0.1)
            else:
                with lock:
                    errors.append((m["external_id"], "no instance answered"))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=h.scaled(300))
    assert not errors, errors[:5]
    return ids


def all_caught_up(st, timeout=None, only=None):
    """Until every consumer's offsets (or those of the consumers named in
    only, with their partitions') equal the tails of the streams it reads
    (and stay so for a moment: a takeover's catch-up may still be moving)."""
    def done():
        rows = st.db.query("SELECT o.consumer, o.stream, o.seq, s.last_seq FROM eventlog.offsets o"
                           " JOIN eventlog.streams s USING (stream) WHERE o.seq <> s.last_seq"
                           " AND (%s::text[] IS NULL"
                           "      OR split_part(o.consumer, '/', 1) = ANY(%s::text[]))",
                           (only, only))
        return not rows
    h.wait_until("every consumer at the tail", done, timeout or h.scaled(90), interval=0.2,
                 on_timeout=st.log_summary)
    time.sleep(0.5)
    h.wait_until("every consumer at the tail", done, timeout or h.scaled(30), interval=0.2,
                 on_timeout=st.log_summary)


def kill_holder_and_time_takeover(st, name, restart=True):
    """kill -9 the holder of the lease (of partition 0), restart it; seconds
    until every partition it held was owned again (by a running instance,
    under a new token)."""
    key = h.wait_until(f"{name}'s lease held", lambda: holder(st, name), h.scaled(15))
    before = leases(st, name)
    victim = before[0][0]
    parts = sorted(p for p, (owner, _, live) in before.items() if owner == victim and live)
    t0 = time.monotonic()
    st[key].kill9()

    def owned_again():
        now = leases(st, name)
        return all(now[p][2] and now[p][1] > before[p][1] and instance(st, name, now[p][0])
                   for p in parts)

    h.wait_until(f"{name}'s partitions {parts} owned again", owned_again, h.scaled(30),
                 interval=0.05, on_timeout=st.log_summary)
    took = time.monotonic() - t0
    if restart:
        st[key].start(wait_ready=False,
                      extra_env=ANALYTICS_ENV if name == "analytics" else None)
    return took


def test_two_of_each_kill9_in_turn_nothing_twice_owned_again_within_10s(stack):
    st = stack(start=False)
    two_of(st, ("ingest",) + CONSUMERS)
    for k in range(4):
        presence(st, f"ag-{k}", "online", 5, ["support", "complaints", "returns-warranty",
                                               "account-management"][: 2 + k % 3],
                 at=T0 - timedelta(hours=1))
    msgs = contacts(8000, random.Random(1515))
    urls = [st["ingest"].url, st["ingest2"].url]
    took = {}

    def chaos():
        # One of each in turn, while the posts go on; ingest is killed too
        # (the posting clients move to the other instance).
        # Every kill is made, also when the posts ran out first (a fast
        # machine): the loop is bounded by its six names.
        for name in CONSUMERS + ("ingest",):
            time.sleep(0.7)
            if name == "ingest":
                st["ingest2"].kill9()
                st["ingest2"].start(wait_ready=False)
            else:
                took[name] = kill_holder_and_time_takeover(st, name)

    killed = threading.Event()

    def chaos_then_stop():
        try:
            chaos()
        finally:
            killed.set()

    killer = threading.Thread(target=chaos_then_stop)
    killer.start()
    try:
        # The load lasts as long as the kills (and 600 contacts at least).
        ids = post_balanced(st, urls, msgs, until=killed, at_least=600)
    finally:
        killer.join(timeout=h.scaled(120))
    posted = len(ids)
    for k in st.services:
        if st[k].runs:
            st[k].wait_ready()
    all_caught_up(st)
    caught_up(st)

    print(f"\nlease owned again after kill -9 (s): "
          + ", ".join(f"{n} {t:.2f}" for n, t in took.items()))
    assert set(took) == set(CONSUMERS), took
    assert max(took.values()) <= OWNED_AGAIN_S, took

    # Every acknowledged contact, once, on one ticket.
    print(f"contacts acknowledged: {posted}")
    assert len(set(ids)) == posted
    assert st.db.scalar("SELECT count(*) FROM router.messages") == posted
    assert st.db.scalar("SELECT count(DISTINCT event_id) FROM router.messages") == posted
    for stream in ("ingest", "router", "sla", "survey", "courier"):
        n, distinct, last = st.db.query(
            "SELECT count(*), count(DISTINCT event_id), coalesce(max(seq), 0)"
            " FROM eventlog.events WHERE stream = %s", (stream,))[0]
        assert n == distinct == last, (stream, n, distinct, last)
    # sla-monitor: one clock per ticket and target, whoever applied it.
    assert st.db.scalar("SELECT count(*) FROM sla.targets t"
                        " LEFT JOIN router.tickets r ON r.id = t.ticket_id"
                        " WHERE r.id IS NULL") == 0

    # /metrics says which instance owns the partition, and only one does;
    # a partitioned consumer's are shared out, a fair share to each.
    for name in CONSUMERS:
        key = holder(st, name)
        if name in PARTS:
            fair_share(st, name, (name, f"{name}2"))
        for k in (name, f"{name}2"):
            if name not in PARTS:
                owned = owned_metric(st, k)
                assert owned == (1 if k == key else 0), (k, key, owned)

            # Either instance reports the consumer's lag (the standby from
            # the holder's offsets): 0 for every stream once caught up.
            def no_lag(k=k):
                text = st[k].get("/metrics").body.decode()
                lags = re.findall(r"^carebus_consumer_lag_events\{[^}]*\} (\S+)$", text, re.M)
                return lags and all(float(v) == 0 for v in lags)

            h.wait_until(f"{k}'s lag 0", no_lag, h.scaled(10))

    # The KPI API answers alike from either analytics instance.
    day = T0.date()
    query = f"from={day - timedelta(days=1)}&to={day + timedelta(days=1)}"
    got = [h.http_request(f"{st[k].url}/v1/kpis?{query}", headers=st.auth())
           for k in ("analytics", "analytics2")]
    assert [r.status for r in got] == [200, 200], got
    assert got[0].json() == got[1].json()

    live_router = snapshot(st)
    live_analytics = analytics_snapshot(st)
    for k in list(st.services):
        if st[k].name in ("router", "analytics") and st[k].running():
            st[k].stop()
    # analytics: a rebuild from the log equals what the two instances made.
    analytics_rebuild(st)
    rebuilt = analytics_snapshot(st)
    for k in live_analytics:
        assert rebuilt[k] == live_analytics[k], f"analytics {k}: the rebuild differs"
    # router: a clean replay by one instance equals what the two made.
    st.db.query("SELECT router.reset()")
    st["router"].start()
    caught_up(st)
    replayed = snapshot(st)
    assert live_router == replayed, "the replay differs:\n" + diff(live_router, replayed)


def test_a_stalled_holder_is_fenced_by_its_token(stack):
    st = stack(start=False)
    two_of(st, ("ingest", "router"))
    for k in range(3):
        presence(st, f"ag-{k}", "online", 5, ["support", "complaints", "returns-warranty"],
                 at=T0 - timedelta(hours=1))
    msgs = contacts(400, random.Random(77))
    urls = [st["ingest"].url, st["ingest2"].url]
    first = holder(st, "router")
    other = "router2" if first == "router" else "router"
    token = lease(st, "router")[1]
    stalled = {}

    def stall_midway():
        # Stop the holder while it applies, longer than twice its lease
        # (its session's idle timeout too), and let it run again.
        h.wait_until("the router to be busy", lambda: st.db.scalar(
            "SELECT count(*) FROM router.messages") >= 60, h.scaled(30), interval=0.02)
        st[first].stall()
        t0 = time.monotonic()
        h.wait_until("the standby to take the lease", lambda: holder(st, "router") == other,
                     h.scaled(30), interval=0.05)
        stalled["took"] = time.monotonic() - t0
        stalled["token"] = lease(st, "router")[1]
        time.sleep(max(0.0, 7.0 - stalled["took"]))
        st[first].resume()

    t = threading.Thread(target=stall_midway)
    t.start()
    try:
        ids = post_balanced(st, urls, msgs)
    finally:
        t.join(timeout=h.scaled(90))
    assert "took" in stalled
    assert stalled["took"] <= OWNED_AGAIN_S, stalled
    assert lease(st, "router")[1] > token
    caught_up(st)
    # The old holder saw its lease gone and stands by; it applied nothing
    # after the takeover (its transaction in flight, if any, was refused).
    h.wait_until("the stalled holder to see its lease lost", lambda: "lost" in
                 st[first].log_text() or "terminating connection" in st[first].log_text(),
                 h.scaled(15), on_timeout=lambda: st[first].log_tail())
    # The standby holds on, unless its own lease lapsed later (a long batch
    # of a slow build): the lease then moved on under a newer token.
    now = lease(st, "router")
    assert holder(st, "router") == other or now[1] > stalled["token"], (now, stalled)
    assert len(set(ids)) == len(msgs)
    assert st.db.scalar("SELECT count(*) FROM router.messages") == len(msgs)
    live = snapshot(st)
    for k in ("router", "router2"):
        st[k].stop()
    st.db.query("SELECT router.reset()")
    st["router"].start()
    caught_up(st)
    replayed = snapshot(st)
    assert live == replayed, "the replay differs:\n" + diff(live, replayed)


def test_a_holder_blocked_sending_a_result_is_ended(stack):
    st = stack(start=False)
    # The holder: a lease about to run out, its row locked by a transaction
    # whose client never reads the large result it asked for (an async
    # connection that is never polled, like a process stopped mid-read).
    st.db.query("INSERT INTO eventlog.leases (consumer, part, owner, token, expires_at)"
                " VALUES ('router', 0, 'stalled:1', 7, clock_timestamp() + interval '1 s')")
    ghost = psycopg2.connect(st.db.conninfo, async_=1)
    try:
        h.wait_until("the stalled holder's connection", lambda: ghost.poll() == psycopg2.extensions.POLL_OK,
                     h.scaled(10), interval=0.02)
        pid = ghost.get_backend_pid()
        ghost.cursor().execute(
            "BEGIN; SELECT 1 FROM eventlog.leases WHERE consumer = 'router' AND part = 0"
            " FOR NO KEY UPDATE; SELECT repeat('x', 8192) FROM generate_series(1, 100000)")
        h.wait_until("the holder's backend blocked in its write", lambda: st.db.scalar(
            "SELECT wait_event FROM pg_stat_activity WHERE pid = %s", (pid,)) == "ClientWrite",
            h.scaled(10), interval=0.05)
        st["router"].start()
        h.wait_until("the standby to take the lease", lambda: holder(st, "router") == "router",
                     h.scaled(30), interval=0.1, on_timeout=st["router"].log_tail)
        assert lease(st, "router")[1] > 7
        assert st.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)) == 0
        assert "blocked on it (a result or a statement half sent): ended" in st["router"].log_text()
    finally:
        ghost.close()


def test_survey_behind_a_load_balancer(stack, pb2):
    st = stack(start=False)
    st.add_instance("survey")
    for k in ("ingest", "router"):
        st[k].start(wait_ready=False)
    for k in ("survey", "survey2"):
        st[k].start(wait_ready=False, extra_env=survey_env(st))
    for k in ("ingest", "router", "survey", "survey2"):
        st[k].wait_ready()
    tickets = [open_ticket(st, n)[0] for n in range(1, 5)]
    for t in tickets:
        solve_ticket(st, pb2, t)
    links = [wait_requested(st, t)["link"] for t in tickets]
    # Both instances run the due pass: still one survey.requested each.
    time.sleep(1.5)
    assert requested_events(st) == len(tickets)
    # Links name the first instance; the balancer sends half to the other.
    for i, link in enumerate(links):
        target = st["survey2"] if i % 2 else st["survey"]
        r = h.http_request(f"{target.url}/v1/surveys/{token_of(link)}/answer", "POST",
                           '{"csat": 5}', {"Content-Type": "application/json"})
        assert r.status == 201, (target.label, r)
        again = api_answer(st, token_of(link), {"csat": 1})
        assert again.status != 201, again
    h.wait_until("four answers", lambda: answered_events(st) == len(tickets), h.scaled(10))
    st.wait_caught_up("survey", "survey", at_least=2 * len(tickets))
    assert st.db.scalar("SELECT count(*) FROM survey.surveys WHERE status = 'answered'") == 4


# --- d. sla-monitor partitioned -------------------------------------------------------------------


# The consumers of test d's stack.
SLA_STACK = ["router", "sla-monitor"]


def sla_quiet(st):
    """Until its consumers are at the tail and the sla stream has stopped
    growing (the breaches of the tickets' past deadlines are published)."""
    all_caught_up(st, only=SLA_STACK)
    # Every partition at every tail (one without a row yet counts as 0).
    for stream in ("ingest", "router", "sla"):
        st.wait_caught_up(consumer="sla-monitor", stream=stream, timeout=h.scaled(120))
    seen = []

    def still():
        seen.append(st.last_seq("sla"))
        return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]

    h.wait_until("the sla stream to settle", still, h.scaled(60), interval=0.7)
    all_caught_up(st, only=SLA_STACK)


@pytest.mark.parametrize("n", [2, 3])
def test_sla_partitions_shared_a_kill9_owned_again_within_10s_nothing_twice(stack, n):
    st = stack(start=False)
    keys = ["sla"] + [f"sla{i}" for i in range(2, n + 1)]
    for k in keys[1:]:
        st.add_instance("sla", key=k)
    for k in ("ingest", "router", *keys):
        st[k].start(wait_ready=False)
    for k in ("ingest", "router", *keys):
        st[k].wait_ready()
    fair_share(st, "sla", keys)
    for k in range(3):
        presence(st, f"ag-{k}", "online", 5, ["support", "complaints", "returns-warranty"],
                 at=T0 - timedelta(hours=1))
    msgs = contacts(1200, random.Random(1500 + n))
    took = {}
    killed = threading.Event()

    def kill_one():
        try:
            h.wait_until("sla-monitor to be busy", lambda: st.db.scalar(
                "SELECT count(*) FROM sla.tickets") >= 50, h.scaled(60), interval=0.05)
            took["sla"] = kill_holder_and_time_takeover(st, "sla", restart=False)
        finally:
            killed.set()

    killer = threading.Thread(target=kill_one)
    killer.start()
    try:
        ids = post_balanced(st, [st["ingest"].url], msgs, until=killed, at_least=len(msgs))
    finally:
        killer.join(timeout=h.scaled(120))
    assert "sla" in took
    print(f"\nsla-monitor x{n}: partitions owned again after kill -9 in {took['sla']:.2f} s")
    assert took["sla"] <= OWNED_AGAIN_S, took
    survivors = [k for k in keys if st[k].running()]
    assert len(survivors) == n - 1
    # The survivors hold every partition, a fair share each; the killed one
    # restarted gets its share back.
    fair_share(st, "sla", survivors)
    dead = next(k for k in keys if k not in survivors)
    st[dead].start()
    counts = fair_share(st, "sla", keys)
    assert all(c > 0 for c in counts.values()), counts
    sla_quiet(st)

    # Every instance applied (its partitions' batches committed).
    for k in keys:
        body = st[k].get("/metrics").body.decode()
        applied = re.search(r"^carebus_consumer_applied_total (\S+)$", body, re.M)
        if k != dead:
            assert applied and float(applied.group(1)) > 0, (k, applied)

    # No event applied twice: every partition's offset at each stream's
    # tail, one sla row per ticket, one claim per published warning or
    # breach, no event twice on the sla stream.
    assert len(set(ids)) == len(ids) == len(msgs)
    for stream in ("ingest", "router", "sla"):
        last = st.last_seq(stream)
        assert st.db.scalar("SELECT eventlog.consumer_seq('sla-monitor', %s)", (stream,)) == last
        at_tail = st.db.scalar("SELECT count(*) FROM eventlog.offsets WHERE consumer LIKE"
                               " 'sla-monitor/%%' AND stream = %s AND seq = %s", (stream, last))
        assert at_tail == PARTS["sla"], (stream, at_tail)
    n_ev, distinct, last = st.db.query(
        "SELECT count(*), count(DISTINCT event_id), coalesce(max(seq), 0) FROM eventlog.events"
        " WHERE stream = 'sla'")[0]
    assert n_ev == distinct == last, (n_ev, distinct, last)
    assert n_ev > 0  # the contacts' deadlines are long past: breaches were published
    assert st.db.scalar("SELECT count(*) FROM sla.emitted") == st.db.scalar(
        "SELECT count(*) FROM eventlog.events WHERE stream = 'sla'"
        " AND type IN ('sla.warning', 'sla.breach')")
    assert st.db.scalar("SELECT count(*) FROM router.tickets r"
                        " LEFT JOIN sla.tickets k ON k.ticket_id = r.id"
                        " WHERE k.ticket_id IS NULL") == 0
    assert st.db.scalar("SELECT count(*) FROM sla.targets t"
                        " LEFT JOIN router.tickets r ON r.id = t.ticket_id"
                        " WHERE r.id IS NULL") == 0

    # A rebuild by one instance equals what the instances made together.
    live = {name: st.db.query(sql) for name, sql in SLA_SNAPSHOT.items()}
    for k in keys:
        st[k].stop()
    st.db.query("SELECT sla.reset_derived()")
    st["sla"].start()
    sla_quiet(st)
    again = {name: st.db.query(sql) for name, sql in SLA_SNAPSHOT.items()}
    for name in SLA_SNAPSHOT:
        assert live[name] == again[name], f"{name} differs after the rebuild"
