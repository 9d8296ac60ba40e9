"""Every consumer exposes its lag on /metrics, per stream it reads, and the
lag returns to zero after a burst.

carebus_consumer_lag_events{stream=...} (events committed to the log and not
yet applied) and carebus_consumer_lag_seconds{stream=...} (age of the oldest
of them) are what an operator alerts on (README, "Operating"). A burst of
whole ticket lifecycles on the four streams goes into the log while every
consumer runs, and one consumer is stopped meanwhile, so that it catches up
from the log when it comes back. The check is on values, not on timings:
each series is there, is a number >= 0, and reads 0 once the consumer's
offsets are at the log's tail.

The gauges are computed when scraped, from the committed offsets: a second
test holds the router in a batch (a lock on the table its batch writes) and
reads, on its standby, the lag that batch leaves, then zero at once after.

Once the burst is over and a consumer has applied nothing for a while, it
renews its database connection (libpq keeps the buffers a burst grew for
the connection's life) and gives freed memory back: a fourth test sees each
consumer's own session (application_name its name) become a new backend,
and the next burst applied as the first.

A partitioned consumer (sla-monitor) has an offset per partition and the
same one gauge per stream: its furthest-behind partition's, owned by the
instance scraped or not. A third test has two sla-monitors share the
partitions that a vanished instance does not hold (its leases far from
expiry): both report the lag of those partitions, not of their own caught-up
ones, and zero once the leases are given back and taken over.
"""

import random
import re
from datetime import timedelta

import psycopg2

import carebus_harness as h
import test_analytics_scenario as S
from test_partitions import instance, leases
from test_router_acceptance import T0, presence
from test_router_replay import contacts

# Every service that consumes: its name in eventlog.offsets is its own.
CONSUMERS = {name: h.SERVICES[name][0][len("carebus-"):]
             for name in h.ALL_SERVICES if name != "ingest" and name not in h.OFF_BUS}
SERIES = re.compile(r'^carebus_consumer_lag_(events|seconds)\{stream="([a-z]+)"\} (\S+)$')


def lag(st, name):
    """{(stream, "events" | "seconds"): value} from the service's /metrics."""
    r = st[name].get("/metrics")
    assert r.status == 200, (name, r)
    out = {}
    for line in r.body.decode().splitlines():
        m = SERIES.match(line)
        if m:
            v = float(m.group(3))
            assert v >= 0, f"{name}: {line}"
            out[(m.group(2), m.group(1))] = v
    return out


def test_every_consumer_exposes_its_lag_and_it_returns_to_zero_after_a_burst(stack, pb2):
    st = stack(*h.ALL_SERVICES)
    events = S.random_log(pb2, seed=12, n_tickets=120)
    # A first lifecycle, so that every consumer has an offset on each of
    # its streams (and the streams exist).
    first = {s: evs[:len(evs) // 10] for s, evs in events.items()}
    rest = {s: evs[len(evs) // 10:] for s, evs in events.items()}
    for stream, evs in first.items():
        S.append(st.db, stream, evs)

    # Exposed, per stream read, both series (published once a second).
    read = {}
    for name in CONSUMERS:
        h.wait_until(f"{name} to expose its lag", lambda: lag(st, name), h.scaled(30))
        got = lag(st, name)
        read[name] = sorted({s for s, _ in got})
        for s in read[name]:
            assert (s, "events") in got and (s, "seconds") in got, (name, got)

    # The burst, with one consumer down: it catches up from the log.
    st.stop("analytics")
    for stream, evs in rest.items():
        S.append(st.db, stream, evs)
    st["analytics"].start()
    tails = {s: st.last_seq(s) for s in ("ingest", "router", "sla", "survey")}
    for name, streams in read.items():
        for s in streams:
            st.wait_caught_up(consumer=CONSUMERS[name], stream=s, at_least=tails.get(s, 0),
                              timeout=h.scaled(120))
        # Every stream it has applied events of is one it exposes.
        # (a partitioned consumer's offsets are its partitions', "<name>/<part>")
        applied = [r[0] for r in st.db.query(
            "SELECT DISTINCT stream FROM eventlog.offsets WHERE consumer = %s"
            " OR consumer LIKE %s || '/%%'", (CONSUMERS[name], CONSUMERS[name]))]
        assert applied and set(applied) <= set(streams), (name, applied, streams)

        def at_zero():
            got = lag(st, name)
            return all(got.get((s, k)) == 0 for s in streams for k in ("events", "seconds"))

        h.wait_until(f"{name}'s lag to return to zero", at_zero, h.scaled(30),
                     on_timeout=lambda: f"\n{lag(st, name)}")


def test_an_idle_consumer_renews_its_connection_and_applies_the_next_burst(stack, pb2):
    st = stack(*h.ALL_SERVICES)
    events = S.random_log(pb2, seed=13, n_tickets=60)
    halves = ({s: evs[:len(evs) // 2] for s, evs in events.items()},
              {s: evs[len(evs) // 2:] for s, evs in events.items()})

    def sessions(name):
        return {r[0] for r in st.db.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (CONSUMERS[name],))}

    def burst(part):
        for stream, evs in part.items():
            S.append(st.db, stream, evs)
        for name in CONSUMERS:
            def at_zero():
                got = lag(st, name)
                return got and all(v == 0 for v in got.values())
            h.wait_until(f"{name} to apply the burst", at_zero, h.scaled(120),
                         on_timeout=lambda: f"\n{lag(st, name)}")

    burst(halves[0])
    before = {name: sessions(name) for name in CONSUMERS}
    for name in CONSUMERS:
        assert len(before[name]) == 1, (name, before[name])
        h.wait_until(f"{name} to renew its connection once idle",
                     lambda: sessions(name) and not sessions(name) & before[name], h.scaled(60))
    burst(halves[1])


def test_the_lag_is_true_when_scraped_while_the_holder_is_held_in_a_batch(stack):
    # Two routers; a lease long enough that the standby does not take over
    # while the holder waits (the holder renews nothing meanwhile).
    st = stack(start=False)
    st.add_instance("router")
    st["ingest"].start()
    for k in ("router", "router2"):
        st[k].start(wait_ready=False, extra_env={"CAREBUS_LEASE_MS": "60000"})
    for k in ("router", "router2"):
        st[k].wait_ready()
    msgs = contacts(40, random.Random(12))
    h.post_all(st, msgs[:10], threads=2)
    st.wait_caught_up(consumer="router", stream="ingest", at_least=10)
    owner = h.wait_until("the router's lease held", lambda: st.db.scalar(
        "SELECT owner FROM eventlog.leases WHERE consumer = 'router'"
        " AND expires_at > clock_timestamp()"), h.scaled(10))
    held = "router" if owner.endswith(f":{st['router'].port}") else "router2"
    standby = "router2" if held == "router" else "router"

    blocker = psycopg2.connect(st.db.conninfo, connect_timeout=10)
    try:
        # The holder's next batch writes router.messages: it waits here,
        # inside its transaction, offsets uncommitted.
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE router.messages IN SHARE MODE")
        h.post_all(st, msgs[10:], threads=2)
        tail = st.last_seq("ingest")
        h.wait_until("the holder to wait in its batch", lambda: st.db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'router'"
            " AND wait_event_type = 'Lock'"), h.scaled(30))
        committed = st.router_offset()
        assert committed < tail, (committed, tail)
        got = lag(st, standby)
        assert got[("ingest", "events")] == tail - committed, (got, tail, committed)
        assert got[("ingest", "seconds")] > 0, got
        # More while it waits: the next scrape counts them, as committed.
        h.post_all(st, contacts(5, random.Random(13)), threads=1)
        assert st.router_offset() == committed
        tail = st.last_seq("ingest")
        got = lag(st, standby)
        assert got[("ingest", "events")] == tail - committed, (got, tail, committed)
    finally:
        blocker.rollback()
        blocker.close()

    st.wait_caught_up(consumer="router", stream="ingest", at_least=tail, timeout=h.scaled(60))
    # Read when scraped: zero at once on both, not a second later.
    for k in (held, standby):
        got = lag(st, k)
        assert got[("ingest", "events")] == 0 and got[("ingest", "seconds")] == 0, (k, got)


def test_a_partitioned_consumers_lag_is_its_furthest_behind_partitions_on_every_instance(stack):
    st = stack(start=False)
    st.add_instance("sla")
    for k in ("ingest", "router"):
        st[k].start()
    # A vanished instance's leases on two of the partitions, far from
    # expiry: nobody applies them until they are given back.
    ghost = (6, 7)
    st.db.query("INSERT INTO eventlog.leases (consumer, part, owner, token, expires_at)"
                  " SELECT 'sla-monitor', p, 'vanished:1', 1, clock_timestamp() + interval '1 hour'"
                  "   FROM unnest(%s::int[]) p", (list(ghost),))
    for k in ("sla", "sla2"):
        st[k].start(wait_ready=False)
    for k in ("sla", "sla2"):
        st[k].wait_ready()

    def others_held():
        now = leases(st, "sla")
        held = {p: instance(st, "sla", o) for p, (o, _, live) in now.items()
                if live and p not in ghost}
        return len(held) == 8 - len(ghost) and None not in held.values() and held

    h.wait_until("the other partitions held by the two instances", others_held, h.scaled(20),
                 on_timeout=lambda: f"{leases(st, 'sla')}")
    for k in range(3):
        presence(st, f"ag-{k}", "online", 5, ["support", "complaints", "returns-warranty"],
                 at=T0 - timedelta(hours=1))
    msgs = contacts(60, random.Random(15))
    h.post_all(st, msgs, threads=2)
    st.wait_caught_up(consumer="router", stream="ingest", at_least=len(msgs))
    streams = ("ingest", "router", "sla")

    def parts_at(stream, parts):
        """The committed offsets of those partitions on stream (0: none)."""
        rows = dict(st.db.query("SELECT consumer, seq FROM eventlog.offsets WHERE stream = %s"
                                " AND consumer LIKE 'sla-monitor/%%'", (stream,)))
        return [rows.get(f"sla-monitor/{p}", 0) for p in parts]

    live = [p for p in range(8) if p not in ghost]

    def held_ones_at_the_tail():
        return all(set(parts_at(s, live)) == {st.last_seq(s)} for s in streams)

    h.wait_until("the held partitions at the tails", held_ones_at_the_tail, h.scaled(60),
                 on_timeout=lambda: f"{[(s, st.last_seq(s), parts_at(s, range(8))) for s in streams]}")
    # Both instances report the ghost's partitions, at 0: every event of
    # each stream behind, not the 0 of the partitions they apply.
    for k in ("sla", "sla2"):
        def furthest(k=k):
            got = lag(st, k)
            return all(got.get((s, "events")) == st.last_seq(s) > 0
                       and got.get((s, "seconds"), 0) > 0 for s in ("ingest", "router")) and got

        h.wait_until(f"{k} to report the furthest-behind partitions", furthest, h.scaled(10),
                     on_timeout=lambda k=k: f"\n{lag(st, k)}")
        # One series per stream, no partition label.
        assert sorted(s for s, kind in lag(st, k) if kind == "events") == sorted(streams)

    # The leases given back: taken over, caught up, and zero on both.
    st.db.query("UPDATE eventlog.leases SET expires_at = '-infinity' WHERE owner = 'vanished:1'")
    for s in streams:
        st.wait_caught_up(consumer="sla-monitor", stream=s, timeout=h.scaled(60))
    for k in ("sla", "sla2"):
        def at_zero(k=k):
            got = lag(st, k)
            return all(got.get((s, kind)) == 0 for s in streams for kind in ("events", "seconds"))

        h.wait_until(f"{k}'s lag to return to zero", at_zero, h.scaled(30),
                     on_timeout=lambda k=k: f"\n{lag(st, k)}")
