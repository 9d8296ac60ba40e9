#!/usr/bin/env python3
"""chaos.py — contacts posted under load while services and PostgreSQL die.

    python3 tests/chaos/chaos.py [--events N] [--kills N] [--pg-restarts N]
                                 [--promotions N] [--instances N] [--threads N]
                                 [--seed N]

(`make chaos` runs the long form: 100,000 events, 50 kills, 3 crash-restarts
of the primary and 1 promotion, two instances of every service.) A primary
with its synchronous standby (PgPair), the services ingest, router, sla,
survey and analytics on the multi-host conninfo — one or two instances of
each (the second with its own HTTP port and bus endpoint, the same leases)
— and posting threads that retry a 503 or a broken connection with the
same external_id, as an integrator does, moving on to the other ingest
instance as a load balancer would. Meanwhile one thread works through a
shuffled list of actions spread over the burst: kill -9 of a random
instance of a random service (restarted after a random pause), a
crash-restart of the primary (every PostgreSQL process killed, the same
server started: crash recovery), and the promotion of the standby after
the primary is killed (pg-cluster.sh promote; the old one then rejoins as
the new one's standby).

Then, through the public API only (GET /v1/events, GET /v1/kpis):
  * every acknowledged event is in the log, and each message once (all the
    2xx answers of one message named one event);
  * each is on exactly one ticket (one ticket.contact_added names it);
  * the KPIs count each once (contacts = acknowledged messages);
  * a rebuild from the log (carebus-analytics --rebuild) answers the KPI
    API exactly as the live service did.

run() returns the figures (acknowledged, lost, duplicated, kills, restarts,
...) and raises AssertionError on a broken promise; the integration test
test_chaos.py runs a short form in `make test`.
"""

import argparse
import collections
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import carebus_harness as h  # noqa: E402

SERVICES = ("ingest", "router", "sla", "survey", "analytics")
DAY = "2026-11-23"  # h.contact's occurred_at: one local day
KPI_QUERIES = (f"from={DAY}&to={DAY}&group_by=channel", f"from={DAY}&to={DAY}&group_by=day")


def say(msg):
    print(f"chaos {time.strftime('%H:%M:%S')} {msg}", flush=True)


class Poster:
    """Posting threads: every message until a 2xx, whatever happens (bounded
    by the deadline); records every event id a 2xx named."""

    def __init__(self, st, urls, messages, threads, deadline):
        self.st = st
        self.messages = messages
        self.deadline = deadline
        self.lock = threading.Lock()
        self.next = 0
        self.answered = 0
        self.ids = collections.defaultdict(set)  # message key -> event ids of its 2xx
        self.unavailable = 0  # 503 answers
        self.network_errors = 0
        self.other = []
        self.clients = [h.KeepAliveClient(u, timeout=30) for u in urls]
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(timeout=max(1.0, self.deadline - time.monotonic()) + 60)
        for c in self.clients:
            c.close()
        if any(t.is_alive() for t in self.threads):
            raise AssertionError("posting threads did not finish in time")

    def _work(self):
        while True:
            with self.lock:
                if self.next >= len(self.messages):
                    return
                turn = self.next  # round robin over the ingest instances
                msg = self.messages[self.next]
                self.next += 1
            key = (msg["channel"], msg["external_id"])
            pause = 0.02
            while True:
                if time.monotonic() > self.deadline:
                    with self.lock:
                        self.other.append((key, "deadline"))
                    return
                client = self.clients[turn % len(self.clients)]
                turn += 1  # a refusal or a dead instance: the next one
                try:
                    r = self.st.post_message(msg, client=client)
                except (OSError, http.client.HTTPException):
                    with self.lock:
                        self.network_errors += 1
                    r = None
                if r is not None and r.status in (200, 202):
                    with self.lock:
                        self.ids[key].add(r.json()["event_id"])
                        self.answered += 1
                    break
                if r is not None and r.status != 503:
                    with self.lock:
                        self.other.append((key, r.status, r.body[:200]))
                    return
                if r is not None:
                    with self.lock:
                        self.unavailable += 1
                time.sleep(pause)
                pause = min(pause * 2, 0.5)


def get_json(url, st, timeout):
    """GET url as an integrator would: a 503 (a connection of the service
    not yet back after a restart of PostgreSQL) is retried after its
    Retry-After, for about a minute at most."""
    for _ in range(60):
        r = h.http_request(url, headers=st.auth(), timeout=timeout)
        if r.status != 503:
            break
        time.sleep(float(r.headers.get("retry-after") or 1))
    assert r.status == 200, r
    return r.json()


def feed(st, types):
    """Every event of the given types, through GET /v1/events."""
    out, cursor = [], None
    for _ in range(100_000):
        q = urllib.parse.urlencode({k: v for k, v in
                                    {"after": cursor, "limit": 1000, "types": types}.items() if v})
        p = get_json(f"{st.api_url}/v1/events?{q}", st, h.scaled(60))
        out += p["events"]
        cursor = p["next_cursor"]
        if not p["events"] and not p["has_more"]:
            return out
    raise AssertionError("the feed did not end")


def kpi_answers(st):
    out = []
    for q in KPI_QUERIES:
        out.append(get_json(f"{st['analytics'].url}/v1/kpis?{q}", st, h.scaled(30))["rows"])
    return out


def kpi_contacts(st):
    try:
        rows = kpi_answers(st)[0]
    except (OSError, http.client.HTTPException, AssertionError):
        return -1
    return sum(int(r.get("contacts") or 0) for r in rows)


class Chaos:
    """The actions, one at a time, each when the burst reaches its share."""

    def __init__(self, st, keys, pair, poster, kills, pg_restarts, promotions, rng):
        self.st, self.keys, self.pair, self.poster, self.rng = st, keys, pair, poster, rng
        self.actions = ["kill"] * kills + ["pg_restart"] * pg_restarts + ["promote"] * promotions
        rng.shuffle(self.actions)
        self.figures = collections.Counter()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def join(self, timeout):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError("the chaos thread did not finish")
        if self.error:
            raise self.error

    def _restart_dead(self):
        for key in self.keys:
            s = self.st[key]
            if not s.running():
                s.start(wait_ready=False)
                self.figures["service_restarts"] += 1

    def _run(self):
        try:
            n = len(self.poster.messages)
            for i, action in enumerate(self.actions):
                mark = n * (i + 1) // (len(self.actions) + 1)
                while self.poster.answered < mark and self.poster.next < n:
                    time.sleep(0.05)
                if action == "kill":
                    self.st.kill9(self.rng.choice(self.keys))
                    self.figures["kills"] += 1
                    time.sleep(self.rng.uniform(0, 0.5))
                    self._restart_dead()
                elif action == "pg_restart":
                    say(f"crash-restart of the primary ({self.pair.primary.datadir.name})")
                    self.pair.crash_restart_primary()
                    self.figures["pg_restarts"] += 1
                else:
                    say(f"kill -9 of the primary ({self.pair.primary.datadir.name}), promotion")
                    self.pair.kill9_primary()
                    time.sleep(self.rng.uniform(0, 1))
                    self.pair.promote()
                    self.figures["promotions"] += 1
                    self.pair.rejoin()
                    say(f"{self.pair.standby.datadir.name} rejoined as the standby")
            self._restart_dead()
        except Exception as e:  # surfaced by join
            self.error = e


def instance_keys(st, instances):
    """The stack's keys of every service's instances (st.add_instance)."""
    keys = list(SERVICES)
    for n in range(2, instances + 1):
        keys += [st.add_instance(name, key=f"{name}{n}").label for name in SERVICES]
    return keys


def run(base_dir, events, kills, pg_restarts, promotions, threads=8, seed=1, instances=1):
    """One chaos run in base_dir; returns the figures (AssertionError if a
    promise is broken)."""
    rng = random.Random(seed)
    t0 = time.monotonic()
    pair = h.PgPair(base_dir, "pg-chaos")
    pair.start()
    st = h.Stack(pair, Path(base_dir) / "logs")
    try:
        keys = instance_keys(st, instances)
        st.start(*keys)
        messages = [h.contact(i, i % 997, h.CHANNELS[i % len(h.CHANNELS)],
                              external_id=f"chaos-{seed}-{i:06d}") for i in range(events)]
        urls = [st[k].url for k in keys if st[k].name == "ingest"]
        poster = Poster(st, urls, messages, threads,
                        time.monotonic() + h.scaled(120 + events / 50))
        chaos = Chaos(st, keys, pair, poster, kills, pg_restarts, promotions, rng)
        say(f"{events} contacts, {len(chaos.actions)} actions, {len(keys)} processes")
        poster.start()
        chaos.start()
        poster.join()
        chaos.join(h.scaled(300))
        assert not poster.other, f"messages never acknowledged: {poster.other[:5]}"
        for key in keys:
            st[key].wait_ready(timeout=h.scaled(60))
        posted_s = time.monotonic() - t0
        analytics = [k for k in keys if st[k].name == "analytics"]
        return dict(verify(st, poster, analytics), **chaos.figures, instances=instances,
                    posted_s=round(posted_s, 1))
    finally:
        problems = st.close()
        try:
            pair.stop()
        except h.HarnessError as e:
            problems.append(str(e))
        if problems:
            say("problems at close:\n" + "\n".join(problems))


def verify(st, poster, analytics):
    acked = poster.ids
    n = len(poster.messages)
    duplicated = sum(1 for ids in acked.values() if len(ids) != 1)
    acked_ids = {next(iter(ids)) for ids in acked.values()}

    contacts = feed(st, "contact.received")
    by_message = collections.Counter((e["body"]["channel"], e["body"]["external_id"])
                                     for e in contacts)
    logged = {e["event_id"] for e in contacts}
    lost = len(acked_ids - logged)
    stored_twice = sum(1 for c in by_message.values() if c > 1)

    # Each contact on exactly one ticket, once the router has caught up.
    def on_tickets():
        added = collections.Counter(e["body"]["contact_event_id"]
                                    for e in feed(st, "ticket.contact_added"))
        return added if sum(added[i] for i in acked_ids) >= len(acked_ids) else None
    h.wait_until("every contact on a ticket", lambda: on_tickets() is not None, h.scaled(300),
                 interval=1)
    added = on_tickets()
    not_on_one = sum(1 for i in acked_ids if added[i] != 1)

    h.wait_until("the KPIs to count every contact", lambda: kpi_contacts(st) >= len(acked),
                 h.scaled(300), interval=1)
    counted = kpi_contacts(st)

    # A rebuild from the log answers the API as the live service did.
    live = kpi_answers(st)
    for key in analytics:
        st.stop(key)
    p = subprocess.run([str(h.BIN_DIR / "carebus-analytics"), "--rebuild"],
                       env=st.env_for("analytics"), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=h.scaled(600))
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    for key in analytics:
        st[key].start()
    rebuilt = kpi_answers(st)

    figures = {"events": n, "acknowledged": len(acked), "lost": lost,
               "duplicated": duplicated + stored_twice, "not_on_one_ticket": not_on_one,
               "kpi_contacts": counted, "rebuild_equals_live": rebuilt == live,
               "answers_503": poster.unavailable, "network_errors": poster.network_errors}
    assert len(acked) == n, figures
    assert lost == 0 and duplicated == 0 and stored_twice == 0, figures
    assert len(contacts) == n, figures
    assert not_on_one == 0, figures
    assert counted == n, figures
    assert rebuilt == live, figures
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--pg-restarts", type=int, default=3)
    ap.add_argument("--promotions", type=int, default=1)
    ap.add_argument("--instances", type=int, default=2, choices=(1, 2, 3))
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="carebus-chaos-"))
    base.chmod(0o755)  # PostgreSQL runs unprivileged and must reach its folder
    say(f"seed {a.seed}; clusters and logs in {base}")
    ok = False
    try:
        figures = run(base, a.events, a.kills, a.pg_restarts, a.promotions, a.threads, a.seed,
                      a.instances)
        print(json.dumps(figures, indent=1))
        ok = True
    finally:
        if ok and not os.environ.get("CAREBUS_KEEP_TMP"):
            h.rmtree_quiet(base)
        else:
            say(f"kept {base}")


if __name__ == "__main__":
    main()
