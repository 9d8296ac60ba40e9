"""The loss of the primary PostgreSQL in the middle of a burst: nothing
acknowledged is lost, nothing is stored twice.

A primary with a synchronous standby (pg-cluster.sh standby); channel-ingest
and router connect with the multi-host conninfo (target_session_attrs=
read-write). While 10,000 contacts are posted from several threads, the
primary's processes are killed with SIGKILL (the machine is gone); while
there is no primary, channel-ingest answers 503 with Retry-After (never a
2xx); the operator's command (pg-cluster.sh promote) makes the standby the
primary, and the clients' retries (same external_id) go through.

Afterwards, through the public API only (GET /v1/events): every event a 2xx
named is in the log, each message is there exactly once (the retries of a
message all named one event), and router, reconnected to the new primary by
itself, has caught up with the whole log.

`make run HA=1` (run.sh with CAREBUS_HA=1) is checked here too: the
standby it starts, the promote command its banner prints, and the roles a
later run finds.

The loss of the standby: nothing is acknowledged on one server alone, and
no commit waits longer than CAREBUS_SYNC_WAIT_MS (503 + Retry-After), until
the standby is back or the operator lets the primary go on alone
(pg-cluster.sh async).

What is subtle: a commit the primary made but could not confirm (killed
while waiting for the standby) is answered 503 or a broken connection; it
may or may not be on the standby, and the client's retry with the same
external_id finds it or writes it, once either way.
"""

import http.client
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse

import pytest

import carebus_harness as h

# Kills and deadlines: one worker runs these one after another (Makefile,
# --dist loadgroup), never two at once beside each other.
pytestmark = pytest.mark.xdist_group("kill9")

BURST = 10_000
KILL_AT = 2_500  # answers before the primary dies


def contacts_in_feed(st):
    """Every contact.received in the log, through GET /v1/events."""
    out, cursor = [], None
    for _ in range(1000):
        q = urllib.parse.urlencode({k: v for k, v in
                                    {"after": cursor, "limit": 1000,
                                     "types": "contact.received"}.items() if v})
        r = h.http_request(f"{st.api_url}/v1/events?{q}", headers=st.auth(),
                           timeout=h.scaled(30))
        assert r.status == 200, r
        p = r.json()
        out += p["events"]
        cursor = p["next_cursor"]
        if not p["events"] and not p["has_more"]:
            return out
    raise AssertionError("the feed did not end")


def test_killing_the_primary_mid_burst_loses_no_acknowledged_event(pg_pair, stack):
    st = stack("ingest", "router", cluster=pg_pair)
    old_primary = pg_pair.primary
    outage = {"killed": 0, "probe": None, "error": None, "t_kill": None, "t_promoted": None}

    def fail_over():
        try:
            outage["t_kill"] = time.monotonic()
            outage["killed"] = pg_pair.kill9_primary()
            # No primary: ingest must answer 503 with Retry-After, not 2xx.
            probe = h.contact(BURST, 1, "zalo", external_id="probe-no-primary")

            def refused():
                try:
                    r = st.post_message(probe, timeout=10)
                except (OSError, http.client.HTTPException):
                    return False
                assert r.status not in (200, 201, 202), f"a 2xx without a primary: {r}"
                if r.status == 503 and r.header("Retry-After"):
                    outage["probe"] = r
                    return True
                return False

            h.wait_until("503 with Retry-After while there is no primary", refused,
                         h.scaled(20), interval=0.05)
            pg_pair.promote()
            outage["t_promoted"] = time.monotonic()
        except Exception as e:  # surfaced below
            outage["error"] = e

    killer = threading.Thread(target=fail_over, daemon=True)

    def on_answer(n):
        if n == KILL_AT:
            killer.start()

    messages = [h.contact(i, i % 400, h.CHANNELS[i % len(h.CHANNELS)],
                          external_id=f"burst-{i:05d}") for i in range(BURST)]
    answers, stats = h.post_all(st, messages, threads=8, on_answer=on_answer,
                                deadline_s=h.scaled(300))
    killer.join(timeout=h.scaled(60))
    assert not killer.is_alive(), "the fail-over did not finish"
    if outage["error"]:
        raise outage["error"]
    assert outage["killed"] >= 1 and outage["probe"] is not None
    assert pg_pair.primary is not old_primary and pg_pair.role(pg_pair.primary) == "primary"

    # The clients saw the outage (503s or broken connections), and every
    # message was acknowledged in the end.
    assert stats["retries_503"] + stats["network_errors"] > 0, stats
    assert len(answers) == BURST
    assert all(status in (200, 202) for status, _ in answers.values())

    # Each message's 2xx answers (first try and retries) named one event.
    acked = stats["ids"]
    twice = {k: ids for k, ids in acked.items() if len(ids) != 1}
    assert not twice, f"messages acknowledged as different events: {list(twice.items())[:5]}"
    acked_ids = {next(iter(ids)) for ids in acked.values()}
    assert len(acked_ids) == BURST

    # The log, read through the public API from the new primary: every
    # acknowledged event, and each message once.
    events = contacts_in_feed(st)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
    by_message = {}
    for e in events:
        key = (e["body"]["channel"], e["body"]["external_id"])
        by_message.setdefault(key, []).append(e["event_id"])
    dup = {k: v for k, v in by_message.items() if len(v) > 1}
    assert not dup, f"messages stored twice: {list(dup.items())[:5]}"
    lost = acked_ids - set(ids)
    assert not lost, f"{len(lost)} acknowledged events are not in the log: {sorted(lost)[:5]}"
    assert len(events) == BURST  # the probe was refused every time, never stored
    assert ("zalo", "probe-no-primary") not in by_message

    # Router reconnected by itself to the new primary and applied the whole log.
    st.wait_caught_up(at_least=st.last_seq("ingest"), timeout=h.scaled(120))
    print(f"\nfailover: {BURST} acknowledged, 0 lost, 0 duplicated; "
          f"{stats['retries_503']} answers 503, {stats['network_errors']} network errors; "
          f"{outage['killed']} PostgreSQL processes killed; promoted "
          f"{outage['t_promoted'] - outage['t_kill']:.1f}s after the kill")


# --- make run HA=1 ------------------------------------------------------------------


def test_run_script_with_a_standby_fails_over_and_rejoins(session_tmp):
    """run.sh with CAREBUS_HA=1: primary and synchronous standby, two
    instances of every service on the multi-host conninfo (a post through
    the second channel-ingest is routed; sla-monitor's partitions shared out
    between its two); the banner's promote command fails over under the
    running services, and the next run rejoins the old primary as the
    standby."""
    from test_first_hour import RunScript, post_contact

    if shutil.which("s6-svscan") is None:
        pytest.fail("s6 is not installed: `make run` installs it (deploy/scripts/deps.sh run)",
                    pytrace=False)
    var = session_tmp / "run-ha-var"
    names = ["pg", "pg_standby", "ingest", "router", "sla", "survey", "analytics", "courier",
             "desk", "bus_ingest", "bus_router", "bus_sla", "bus_survey", "bus_courier"]
    # Each service's second instance on its port + 10 (CAREBUS_HA_PORT_OFFSET).
    ports = {n: h.free_port(offset=10) for n in names}
    key = "operator-key-" + os.urandom(8).hex()
    env = {"CAREBUS_BOOTSTRAP_API_KEY": key, "CAREBUS_HA": "1",
           "CAREBUS_PG_STANDBY_PORT": str(ports["pg_standby"])}

    def role(folder, port):
        return subprocess.run(["bash", str(h.PG_CLUSTER), "role", str(var / folder), str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=30).stdout.decode().strip()

    def accepted(api, n):
        try:
            return post_contact(api, key, n).status == 202
        except OSError:
            return False

    run = RunScript(var, ports, env)
    try:
        banner, urls = run.wait_banner()
        assert f"port={ports['pg']},{ports['pg_standby']}" in banner, banner
        assert "target_session_attrs=read-write" in (var / "env").read_text()
        assert role("pg", ports["pg"]) == "primary"
        assert role("pg-standby", ports["pg_standby"]) == "standby"
        assert post_contact(urls["api"], key, 1).status == 202
        second = re.search(r"^  second instances\s+API (http://\S+)", banner, re.M)
        assert second and second.group(1).endswith(f":{ports['ingest'] + 10}"), banner
        assert post_contact(second.group(1), key, 3).status == 202
        sla = [f"http://127.0.0.1:{ports['sla'] + d}/metrics" for d in (0, 10)]

        def owned(url):
            body = h.http_request(url).body.decode()
            m = re.search(r"^carebus_partitions_owned (\S+)$", body, re.M)
            return float(m.group(1)) if m else 0

        h.wait_until("sla-monitor's 8 partitions shared out between its two instances",
                     lambda: sorted(owned(u) for u in sla) == [4, 4], h.scaled(30), interval=0.5)
        m = re.search(r"^  fail over \(operator\)\s+(bash .*)$", banner, re.M)
        assert m, banner
        subprocess.run(m.group(1).split(), cwd=str(h.REPO), check=True, timeout=h.scaled(60),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert role("pg-standby", ports["pg_standby"]) == "primary"
        # The services find the new primary by themselves.
        h.wait_until("a contact accepted after the promotion", lambda: accepted(urls["api"], 2),
                     h.scaled(30), interval=0.2)
    finally:
        assert run.stop() == 0, run.text()

    run = RunScript(var, ports, env)
    try:
        banner, urls = run.wait_banner()
        assert role("pg-standby", ports["pg_standby"]) == "primary"
        assert role("pg", ports["pg"]) == "standby"
        r = h.http_request(urls["api"] + "/v1/events?types=contact.received",
                           headers={"Authorization": f"Bearer {key}"})
        assert r.status == 200 and len(r.json()["events"]) == 3, r
    finally:
        assert run.stop() == 0, run.text()


SYNC_WAIT_MS = 1000  # CAREBUS_SYNC_WAIT_MS for the standby tests: the bound on a commit
# A consumer's /metrics while its commits are cut: one bounded commit at
# most (measured: 1.0 s at most over ~50 scrapes, against 2.4 to 4.7 s when
# a turn held several), plus the time to cancel and answer.
SCRAPE_BOUND_S = SYNC_WAIT_MS / 1000 + h.scaled(2)


def standby_lost_stack(pg_pair, stack, *names):
    """The services on the pair, each commit bounded at SYNC_WAIT_MS."""
    st = stack(cluster=pg_pair, start=False)
    for n in names:
        st.services[n].extra_env["CAREBUS_SYNC_WAIT_MS"] = str(SYNC_WAIT_MS)
    st.start(*names)
    return st


def refused_within_the_bound(st, msg):
    """Posts msg once: the answer must be 503 with Retry-After, within the
    bound (plus the time to cancel and answer), never a 2xx."""
    t0 = time.monotonic()
    r = st.post_message(msg, timeout=h.scaled(10))
    took = time.monotonic() - t0
    assert r.status not in (200, 201, 202), f"acknowledged without the standby: {r}"
    assert r.status == 503 and r.header("Retry-After"), r
    assert took <= SYNC_WAIT_MS / 1000 + h.scaled(2), f"answered 503 after {took:.1f}s"
    return took


def metric_sum(svc, family):
    r = svc.get("/metrics", timeout=SCRAPE_BOUND_S)
    assert r.status == 200, r
    return sum(float(line.rsplit(" ", 1)[1]) for line in r.body.decode().splitlines()
               if line.startswith(family) and not line.startswith("#"))


def check_log(st, stats, n_posted, extra=()):
    """Every acknowledged event in the log, each message once, and each
    message's 2xx answers (first and retries) naming one event."""
    acked = stats["ids"]
    twice = {k: ids for k, ids in acked.items() if len(ids) != 1}
    assert not twice, f"messages acknowledged as different events: {list(twice.items())[:5]}"
    events = contacts_in_feed(st)
    by_message = {}
    for e in events:
        by_message.setdefault((e["body"]["channel"], e["body"]["external_id"]),
                              []).append(e["event_id"])
    dup = {k: v for k, v in by_message.items() if len(v) > 1}
    assert not dup, f"messages stored twice: {list(dup.items())[:5]}"
    lost = {next(iter(ids)) for ids in acked.values()} - {e["event_id"] for e in events}
    assert not lost, f"{len(lost)} acknowledged events are not in the log"
    assert len(acked) == n_posted
    for key in extra:
        assert len(by_message.get(key, [])) == 1, key
    return by_message


def test_losing_the_standby_answers_503_within_the_bound_until_it_is_back(pg_pair, stack):
    """The synchronous standby lost under posts: nothing is acknowledged on
    one server alone, but nobody waits for ever either. Each post is
    answered 503 + Retry-After within CAREBUS_SYNC_WAIT_MS (its commit may
    stand on the primary, unconfirmed); the retry of such a post is refused
    too while the standby is away (the repeat's own commit waits for it);
    the consumers keep answering /metrics within one bound (their commits
    are bounded the same way, and a cut one backs them off).
    Once the standby is back, the posts and their retries go through, each
    message stored once, every acknowledged event in the log."""
    st = standby_lost_stack(pg_pair, stack, "ingest", "router", "survey", "sla")
    assert st.post_message(h.contact(0, 1, "zalo", external_id="before")).status == 202
    outage = {"error": None, "took": [], "metric": 0}
    probe = h.contact(1, 1, "zalo", external_id="while-the-standby-is-down")

    def lose_the_standby():
        try:
            pg_pair.kill9(pg_pair.standby)
            outage["took"].append(refused_within_the_bound(st, probe))
            # The same post again (same external_id): its first commit may
            # stand on the primary, yet the repeat is not acknowledged alone.
            outage["took"].append(refused_within_the_bound(st, probe))
            # The consumers are not stuck in a COMMIT: they answer, promptly.
            # A commit cut at the bound backs the connection's writers off
            # (db_begin refuses a write transaction meanwhile, whoever
            # starts it), so a turn of their loop holds one bounded
            # commit at most, not the lease's and the batches' one after the
            # other; the partitioned one (sla-monitor) too. Scraped again and
            # again for a while, as an operator's Prometheus would.
            took = []
            end = time.monotonic() + 5
            while time.monotonic() < end:  # bounded by the clock
                for name in ("router", "survey", "sla"):
                    t0 = time.monotonic()
                    r = st[name].get("/metrics", timeout=h.scaled(15))
                    took.append((round(time.monotonic() - t0, 2), name))
                    assert r.status == 200, (name, r)
                time.sleep(0.05)
            outage["scrapes"] = sorted(took, reverse=True)
            assert outage["scrapes"][0][0] <= SCRAPE_BOUND_S, outage["scrapes"][:5]
            h.wait_until("a consumer's COMMIT cut at the bound",
                         lambda: metric_sum(st["router"], "carebus_db_commit_wait_exceeded_total")
                         + metric_sum(st["survey"], "carebus_db_commit_wait_exceeded_total") > 0,
                         h.scaled(30), interval=0.5)
            # ... and shows its writers backing off (until a commit that
            # waited for the standby goes through).
            outage["backoff"] = sum(metric_sum(st[k], "carebus_db_commit_backoff_seconds")
                                    for k in ("router", "survey"))
            outage["metric"] = metric_sum(st["ingest"], "carebus_dbq_cancelled_total")
            # A partitioned consumer stops cleanly meanwhile: its leases and
            # member row are given back without waiting for the standby.
            t0 = time.monotonic()
            st["sla"].stop()
            outage["sla_stop"] = time.monotonic() - t0
            time.sleep(2)  # the posts keep being refused meanwhile
        except Exception as e:  # surfaced below
            outage["error"] = e
        finally:  # whatever failed, the posts may end
            pg_pair.standby.start()

    t = threading.Thread(target=lose_the_standby, daemon=True)
    n = 400
    messages = [h.contact(i, i % 50, h.CHANNELS[i % len(h.CHANNELS)],
                          external_id=f"standby-{i:04d}") for i in range(n)]
    # A post refused at once (the queue is cut off) is retried 50 ms later:
    # the outage (two probes, a consumer's bound, the standby's restart)
    # outlasts 200 such tries, so the deadline bounds the retries here.
    answers, stats = h.post_all(st, messages, threads=4,
                                on_answer=lambda k: k == 100 and t.start(),
                                deadline_s=h.scaled(240), tries=5000)
    t.join(timeout=h.scaled(120))
    assert not t.is_alive(), "the outage did not end"
    if outage["error"]:
        raise outage["error"]
    assert outage["metric"] >= 1, outage
    assert outage["sla_stop"] <= SCRAPE_BOUND_S, outage
    st["sla"].start()  # back, it takes its partitions again and catches up
    print(f"\n/metrics during the outage (s, slowest first): {outage['scrapes'][:5]}"
          f" of {len(outage['scrapes'])}")
    assert stats["retries_503"] > 0, stats
    assert all(status in (200, 202) for status, _ in answers.values())
    assert outage["backoff"] > 0, outage
    for name in ("router", "survey", "sla"):
        h.wait_until(f"{name}'s commits to go through again",
                     lambda: metric_sum(st[name], "carebus_db_commit_backoff_seconds") == 0,
                     h.scaled(30), interval=0.5)

    # The standby is back: the probe's retry is acknowledged, once.
    def accepted():
        r = st.post_message(probe, timeout=h.scaled(10))
        assert r.status in (200, 202, 503), r
        return r if r.status in (200, 202) else None

    r = h.wait_until("the probe accepted once the standby is back", accepted, h.scaled(60),
                     interval=0.2)
    by_message = check_log(st, stats, n, extra=[("zalo", probe["external_id"])])
    assert by_message[("zalo", probe["external_id"])] == [r.json()["event_id"]]
    st.wait_caught_up(at_least=st.last_seq("ingest"), timeout=h.scaled(120))
    print(f"\nstandby lost: {n} acknowledged, 0 lost, 0 duplicated; "
          f"{stats['retries_503']} answers 503; refused in "
          f"{', '.join(f'{x:.2f}s' for x in outage['took'])} (bound {SYNC_WAIT_MS} ms)")


def test_losing_the_standby_the_operator_goes_on_with_one_copy(pg_pair, stack):
    """The standby lost, the operator's command (pg-cluster.sh async) lets
    the primary commit alone: the posts refused meanwhile (whose commits may
    stand unconfirmed) are acknowledged by their retries, once each, and new
    posts are accepted; `standby` on the old folder makes it synchronous
    again."""
    st = standby_lost_stack(pg_pair, stack, "ingest")
    pg_pair.kill9(pg_pair.standby)
    refused = [h.contact(i, 1, "zalo", external_id=f"refused-{i}") for i in range(3)]
    for m in refused:
        refused_within_the_bound(st, m)
    pg_pair.primary._script("async", pg_pair.primary.datadir)
    messages = refused + [h.contact(10 + i, 2, "zalo", external_id=f"alone-{i}")
                          for i in range(20)]
    answers, stats = h.post_all(st, messages, threads=2, deadline_s=h.scaled(60))
    assert all(status in (200, 202) for status, _ in answers.values()), answers
    check_log(st, stats, len(messages))
    # The standby rejoins and is synchronous again: still no 2xx alone.
    pg_pair.primary._script("standby", pg_pair.standby.datadir, pg_pair.standby.port,
                            pg_pair.primary.port)
    pg_pair.standby.running = True
    assert st.post_message(h.contact(99, 3, "zalo", external_id="paired")).status == 202
    pg_pair.kill9(pg_pair.standby)
    refused_within_the_bound(st, h.contact(100, 3, "zalo", external_id="alone-again"))
    # Alone again, so that the teardown's DROP DATABASE does not wait.
    pg_pair.primary._script("async", pg_pair.primary.datadir)
