"""The event bus with CURVE (issue 16): only subscribers whose key is in the
allow-list hear anything, they hear every event, and a revoked one stops.

Subscribers here are an integrator's: Python (pyzmq) SUB sockets connected
to every publisher of a stack whose keys folder carebusctl made, with a key
from `carebusctl bus allow`, with a key of their own that nobody allowed,
or with none. A subscription reaches a publisher only after the handshake,
so each test waits for the allowed subscriber's handshakes (socket monitor)
and for a first event before it counts anything: what came before is the
slow joiner's loss that every ZeroMQ subscriber has, not CURVE's.

The whole stack with CURVE on is also run through an existing end-to-end
flow unchanged (a survey, from contact to answer).
"""

import json
import re
import subprocess
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

import carebus_harness as h
import test_survey_flow as survey_flow
from test_survey_support import open_ticket, solve_ticket, wait_requested

# Every stream a service publishes, from the harness's one table.
PUBLISHED = tuple(name for name, v in h.SERVICES.items() if v[2])


def metric(svc, name):
    """A counter or gauge of svc's /metrics (0 when absent)."""
    r = svc.get("/metrics")
    assert r.status == 200, r
    m = re.search(rb"^" + re.escape(name.encode()) + rb"(?:\{[^}]*\})? (\S+)$", r.body, re.M)
    return float(m.group(1)) if m else 0.0


def allow(st, name):
    """carebusctl bus allow NAME: the integrator's keys (server, public, secret)."""
    keys = json.loads(st.carebusctl("bus", "allow", name, "--json"))
    assert keys["name"] == name
    return keys


class Subscriber:
    """A SUB socket on every publisher of the stack, subscribed to all."""

    def __init__(self, ctx, st, keys=None, server_key=None, streams=PUBLISHED):
        self.streams = streams
        self.sock = ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.monitor = None
        if keys:
            self.sock.curve_serverkey = (server_key or keys["server_key"]).encode()
            self.sock.curve_publickey = keys["public_key"].encode()
            self.sock.curve_secretkey = keys["secret_key"].encode()
            self.monitor = self.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        for name in streams:
            self.sock.connect(f"tcp://127.0.0.1:{st.bus_ports[name]}")
        self.events = []  # (stream, seq), in arrival order
        self.frames = 0

    def wait_handshakes(self):
        got, n = 0, len(self.streams)
        deadline = time.monotonic() + h.scaled(20)
        while got < n and time.monotonic() < deadline:
            if self.monitor.poll(100):
                if recv_monitor_message(self.monitor)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    got += 1
        assert got == n, f"{got} of {n} handshakes succeeded"

    def drain(self, pb2, timeout_ms=0):
        """Reads what is waiting (the first read waits up to timeout_ms)."""
        while self.sock.poll(timeout_ms):
            timeout_ms = 0
            parts = self.sock.recv_multipart()
            self.frames += len(parts)
            if len(parts) == 2:
                env = pb2.Envelope.FromString(parts[1])
                assert parts[0] == f"{env.stream}.".encode(), parts[0]
                self.events.append((env.stream, env.seq))

    def close(self):
        if self.monitor is not None:
            self.sock.disable_monitor()
            self.monitor.close(0)
        self.sock.close(0)


def log_events(st, after):
    """(stream, seq) of the log past after[stream]."""
    rows = st.db.query("SELECT stream, seq FROM eventlog.events ORDER BY stream, seq")
    return {(s, q) for s, q in rows if q > after.get(s, 0)}


def caught_up(st):
    """Every consumer has applied everything of every stream it reads."""
    def check():
        rows = st.db.query("SELECT o.consumer, o.stream, o.seq, s.last_seq FROM eventlog.offsets o"
                           " JOIN eventlog.streams s USING (stream)")
        return rows and all(seq == last for _, _, seq, last in rows) and rows

    h.wait_until("every consumer to catch up", check, h.scaled(60),
                 on_timeout=lambda: st.log_summary())


def test_only_allowed_subscribers_hear_and_they_hear_every_event(stack, pb2):
    st = stack(*h.ALL_SERVICES, curve=True)
    keys = allow(st, "crm-listener")
    stranger = dict(zip(("public_key", "secret_key"), (k.decode() for k in zmq.curve_keypair())))
    ctx = zmq.Context()
    subs = {
        "allowed": Subscriber(ctx, st, keys),
        "unknown key": Subscriber(ctx, st, stranger, server_key=keys["server_key"]),
        "no key": Subscriber(ctx, st),
    }
    try:
        subs["allowed"].wait_handshakes()
        # A first event proves the subscription has reached ingest.
        warm = open_ticket(st, 900, "Xin chào")
        h.wait_until("the allowed subscriber's first event", lambda: subs["allowed"].drain(
            pb2, 100) or subs["allowed"].events, h.scaled(20))
        caught_up(st)
        base = {s: st.last_seq(s) for s in PUBLISHED}

        # Contacts on several channels, replies and a solve: events on the
        # ingest, router and survey streams.
        tickets = [warm[0]]
        for i, channel in enumerate(("zalo", "email", "facebook", "sms", "chat", "zalo")):
            r = st.post_message(h.contact(i, i % 3, channel))
            assert r.status == 202, r
        tickets.append(open_ticket(st, 901, "Đơn hàng của tôi bị giao chậm", channel="zalo")[0])
        solve_ticket(st, pb2, tickets[-1])
        wait_requested(st, tickets[-1])
        caught_up(st)
        want = log_events(st, base)
        assert {s for s, _ in want} >= {"ingest", "router", "survey"}, want

        def heard_all():
            for s in subs.values():
                s.drain(pb2, 50)
            return want <= set(subs["allowed"].events)

        h.wait_until("the allowed subscriber to hear every event", heard_all, h.scaled(20),
                     on_timeout=lambda: f"missing {sorted(want - set(subs['allowed'].events))}")
        # The solve goes on producing events (the survey's delivery through
        # the courier) after want was read: whatever was heard must be in the
        # log as it is now, and heard once.
        heard = [e for e in subs["allowed"].events if e[1] > base.get(e[0], 0)]
        assert len(heard) == len(set(heard)), "each event exactly once"
        assert want <= set(heard) <= log_events(st, base), "only logged events"
        time.sleep(0.3)
        for name in ("unknown key", "no key"):
            subs[name].drain(pb2, 100)
            assert subs[name].frames == 0, f"the subscriber with {name} heard something"
    finally:
        for s in subs.values():
            s.close()
        ctx.term()

    # The publishers refused the unknown key (the keyless one fails the
    # handshake before it is asked about); every service runs with CURVE.
    assert metric(st["ingest"], "carebus_bus_auth_refused_total") > 0
    for name in h.ALL_SERVICES:
        assert metric(st[name], "carebus_bus_curve") == 1, name


def test_a_revoked_subscriber_hears_nothing_more(stack, pb2):
    st = stack("ingest", "router", curve=True)
    crm, bi = allow(st, "crm"), allow(st, "bi-stream")
    # carebusctl refuses a second key under a name.
    rc, _, err = st.carebusctl("bus", "allow", "crm", check=False)
    assert rc == 1 and "allowed already" in err, err
    ctx = zmq.Context()
    subs = {name: Subscriber(ctx, st, keys, streams=("ingest", "router"))
            for name, keys in (("crm", crm), ("bi", bi))}
    try:
        for s in subs.values():
            s.wait_handshakes()
        n = [0]

        def post():
            n[0] += 1
            r = st.post_message(h.contact(n[0], 100 + n[0], "zalo", external_id=f"revoke-{n[0]}"))
            assert r.status == 202, r
            return r.json()["seq"]

        def both_heard():
            post()
            for s in subs.values():
                s.drain(pb2, 200)
            return all(s.events for s in subs.values())

        h.wait_until("both subscribers to hear", both_heard, h.scaled(20))

        out = st.carebusctl("bus", "revoke", "crm")
        assert "revoked" in out
        assert "crm " not in st.carebusctl("bus", "list")
        for name in ("ingest", "router"):
            h.wait_until(f"{name} to notice the revocation", lambda name=name: metric(
                st[name], "carebus_bus_revocations_total") >= 1, h.scaled(10))
        # Each publisher drops every connection before its next message.
        router_base = st.last_seq("router")
        first = post()

        def bi_heard_again():
            post()
            subs["bi"].drain(pb2, 200)
            return all(any(s == stream and q > after for s, q in subs["bi"].events)
                       for stream, after in (("ingest", first), ("router", router_base)))

        h.wait_until("the allowed subscriber to hear again", bi_heard_again, h.scaled(20))
        for _ in range(3):
            post()
        st.wait_caught_up()
        time.sleep(0.3)
        for s in subs.values():
            s.drain(pb2, 100)
        late = [(s, q) for s, q in subs["crm"].events
                if (s == "ingest" and q >= first) or (s == "router" and q > router_base)]
        assert late == [], "the revoked subscriber heard events sent after its revocation"
        assert metric(st["ingest"], "carebus_bus_auth_refused_total") > 0
    finally:
        for s in subs.values():
            s.close()
        ctx.term()
    rc, _, err = st.carebusctl("bus", "revoke", "crm", check=False)
    assert rc == 1 and "no subscriber named" in err, err


def test_the_survey_flow_with_curve(stack, pb2):
    """An existing end-to-end flow, unchanged, on a stack with CURVE on."""
    made = []

    def curve_stack(*services, **kw):
        kw.setdefault("curve", True)
        made.append(stack(*services, **kw))
        return made[-1]

    survey_flow.test_solved_ticket_survey_answered_through_the_api(curve_stack, pb2)
    st, = made
    assert st.bus_keys is not None
    for name in ("ingest", "router", "survey"):
        assert metric(st[name], "carebus_bus_curve") == 1, name
        assert "(CURVE)" in st[name].all_logs(), name


def test_every_service_gets_a_key(tmp_path):
    """carebusctl's list of subscribing services covers services/."""
    d = tmp_path / "keys"
    out = subprocess.run([str(h.BIN_DIR / "carebusctl"), "bus", "keys", "--dir", str(d)],
                         stdout=subprocess.PIPE, check=True, timeout=h.scaled(30)).stdout
    assert b"made the server key pair" in out
    services = {p.name for p in (h.REPO / "services").iterdir()
                if p.is_dir() and p.name != "libcarebus" and p.name not in h.OFF_BUS}
    keys = {p.name[:-len(".key")] for p in d.glob("*.key")} - {"server"}
    assert services <= keys, services - keys
    allowed = {line.split()[1] for line in (d / "allowed-clients").read_text().splitlines()}
    assert allowed == keys
    assert (d / "server.key").stat().st_mode & 0o777 == 0o600
    # A second run keeps every key.
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    out = subprocess.run([str(h.BIN_DIR / "carebusctl"), "bus", "keys", "--dir", str(d)],
                         stdout=subprocess.PIPE, check=True, timeout=h.scaled(30)).stdout
    assert b"has every key already" in out
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
