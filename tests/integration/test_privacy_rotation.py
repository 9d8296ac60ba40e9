"""Rotating the master key while the services run (README, "Rotating the
master key").

  a. a stack sealing with key A, a customer erased; every service restarted
     one at a time knowing B as an old key, then again with B current and A
     old; contacts keep being posted meanwhile, and during `carebusctl
     master-key rotate --from A --to B`, which is killed -9 once and run
     again (it resumes); afterwards no data key is wrapped by A
  b. every service restarted with B alone: every event reads as before
     through the feed and the export (nothing more is "[erased]", nothing
     sealed shows), the erased customer stays erased, the router rebuilt
     from the log equals the live one, and no service logged a key it could
     not unwrap
"""

import hashlib
import json
import subprocess
import threading
import time

import psycopg2

import carebus_harness as h
from test_event_feed import read_all
from test_privacy import (CUSTOMER, TEXT, a_customer_on_three_channels, assert_router_rebuilds_as_live,
                          caught_up, contacts, erase, erasure_stack, traces)

SERVICES = ("ingest", "router", "sla", "courier", "analytics", "survey")


def key_id(path):
    return hashlib.sha256(bytes.fromhex(path.read_text().strip())).digest()[:8]


def wrapped_by(st, path):
    return st.db.scalar("SELECT count(*) FROM privacy.datakeys WHERE substr(wrapped, 2, 8) = %s",
                        (key_id(path),))


def roll(st, current, old):
    """Every service restarted, one at a time, with the key ring
    {current, old...}: the others keep serving meanwhile."""
    from test_survey_support import survey_env
    st.master_key = current
    ring = {"CAREBUS_MASTER_KEYS_OLD": ",".join(str(p) for p in old)}
    for n in SERVICES:
        st.stop(n)
        st[n].extra_env.update(ring)
        st[n].start(extra_env=survey_env(st) if n == "survey" else None)


def erased_events(st):
    """The feed's events, and the ids of those reading "[erased]"."""
    events, _ = read_all(st)
    return events, {e["event_id"] for e in events if "[erased]" in json.dumps(e, ensure_ascii=False)}


class Poster(threading.Thread):
    """Posts a contact with personal fields every ~50 ms until stopped (at
    most 400): what customers keep doing during a rotation. While ingest
    itself restarts (one process here) a post is retried, as an integrator
    does, with the same external id."""

    def __init__(self, st, tag):
        super().__init__(daemon=True)
        self.st, self.tag, self.sent, self.failed = st, tag, [], []
        self.halt = threading.Event()

    def run(self):
        for i in range(400):
            if self.halt.is_set():
                break
            text = f"{self.tag} {i}: gọi lại 0912 000 {i:03d}"
            msg = {"channel": "zalo", "external_id": f"{self.tag}-{i}", "text": text,
                   "customer": {"name": f"Khách {self.tag} {i}", "handle": f"zalo-{self.tag}-{i}"}}
            status = None
            for _ in range(200):
                try:
                    status = self.st.post_message(msg).status
                except OSError:  # ingest restarting
                    status = None
                if status not in (None, 503):
                    break
                time.sleep(0.1)
            (self.sent if status in (200, 202) else self.failed).append((text, status))
            time.sleep(0.05)

    def stop(self):
        self.halt.set()
        self.join(h.scaled(60))
        assert not self.is_alive()
        assert self.failed == [] and self.sent, self.failed
        return [t for t, _ in self.sent]


def test_privacy_master_key_rotation_without_downtime(stack, pb2):
    st = erasure_stack(stack)
    key_a = st.master_key
    key_b = st.log_dir / "master-b.key"
    assert st.carebusctl("master-key", "make", "--file", str(key_b)).startswith("made")
    contacts(st)
    mai, _, _ = a_customer_on_three_channels(st, pb2)
    caught_up(st)
    erase(st, mai)
    caught_up(st)
    before, erased_before = erased_events(st)
    assert erased_before and wrapped_by(st, key_a) >= 2 and wrapped_by(st, key_b) == 0

    posting = Poster(st, "roll")
    posting.start()
    # 1: B known everywhere before anyone wraps with it; 2: B current
    roll(st, key_a, [key_b])
    roll(st, key_b, [key_a])
    texts = posting.stop()
    assert texts and wrapped_by(st, key_b) > 0  # the posts since ingest holds B

    # 3: the rotation, killed -9 once, run again; contacts keep coming
    posting = Poster(st, "rotate")
    posting.start()
    time.sleep(0.3)
    env = st.env_for("ingest")
    args = [str(h.BIN_DIR / "carebusctl"), "master-key", "rotate", "--from", str(key_a),
            "--to", str(key_b), "--batch", "1"]
    # an A-wrapped row held locked (as an erasure deleting it would): the
    # rotation waits on it, its earlier batches committed; then kill -9
    held = psycopg2.connect(st.cluster.conninfo(st.dbname), connect_timeout=10)
    cur = held.cursor()
    cur.execute("SELECT event_id FROM privacy.datakeys WHERE substr(wrapped, 2, 8) = %s"
                " ORDER BY event_id DESC LIMIT 1 FOR UPDATE", (key_id(key_a),))
    total = wrapped_by(st, key_a)
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h.wait_until("the rotation's first batches", lambda: wrapped_by(st, key_a) == 1,
                 h.scaled(30))
    p.kill()
    p.communicate(timeout=h.scaled(30))
    held.rollback()
    held.close()
    assert total > 1 and wrapped_by(st, key_a) == 1
    out = st.carebusctl("master-key", "rotate", "--from", str(key_a), "--to", str(key_b),
                        "--batch", "2")
    assert "it can be removed" in out, out
    texts += posting.stop()
    assert wrapped_by(st, key_a) == 0
    # idempotent: nothing more to do
    assert "re-wrapped 0 data keys" in st.carebusctl(
        "master-key", "rotate", "--from", str(key_a), "--to", str(key_b))
    # usage and a wrong key are refused
    code, _, _ = st.carebusctl("master-key", "rotate", "--from", str(key_a), check=False)
    assert code == 2
    code, _, err = st.carebusctl("master-key", "rotate", "--from", str(key_b), "--to",
                                 str(key_b), check=False)
    assert code == 1, err

    # 4: A removed: B alone reads everything as before
    key_a.unlink()
    roll(st, key_b, [])
    caught_up(st)
    after, erased_after = erased_events(st)
    assert erased_after == erased_before
    by_id = {e["event_id"]: e for e in after}
    for e in before:
        assert by_id[e["event_id"]] == e, e["event_id"]
    feed = json.dumps(after, ensure_ascii=False)
    assert "cbenc1:" not in feed
    for t in texts + [TEXT, CUSTOMER["email"]]:
        assert t in feed, t
    hong = st.db.scalar("SELECT customer_id::text FROM router.messages WHERE text = %s", (TEXT,))
    r = h.http_request(f"{st.api_url}/v1/customers/{hong}/export?reason=check",
                       headers=st.auth(), timeout=h.scaled(15))
    assert r.status == 200, r
    doc = json.dumps(r.json(), ensure_ascii=False)
    assert TEXT in doc and "[erased]" not in doc and "cbenc1:" not in doc
    assert traces(st, feed) == []
    assert_router_rebuilds_as_live(st)
    assert traces(st) == []
    logs = "".join(st[n].all_logs() for n in SERVICES)
    assert "another master key" not in logs and "does not unwrap" not in logs
