"""courier's side of the webhook subscriptions, for channel-ingest's tests.

courier applies subscription.saved / .deleted to courier.subscriptions (its
table, which channel-ingest reads). courier_for(stack, pb2) starts the real
service where this build has one; else a stand-in that applies the events
as courier documents it (its migration's columns, update_mask's rules, its
offset in eventlog.offsets), so that channel-ingest's side is tested
against the same contract. Both can pause and resume, for the tests of
reads that wait for courier.
"""

import threading
import time

import carebus_harness as h

# The columns courier's migration gives courier.subscriptions (the contract
# GET reads), for the stand-in.
COURIER_DDL = """
CREATE SCHEMA IF NOT EXISTS courier;
CREATE TABLE IF NOT EXISTS courier.subscriptions (
    id                   uuid PRIMARY KEY,
    url                  text        NOT NULL,
    event_types          text[]      NOT NULL,
    channels             text[]      NOT NULL DEFAULT '{}',
    secret               text        NOT NULL,
    active               boolean     NOT NULL,
    description          text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    paused_at            timestamptz,
    paused_reason        text,
    failing_since        timestamptz,
    consecutive_failures int         NOT NULL DEFAULT 0,
    last_success_at      timestamptz,
    last_failure_at      timestamptz,
    last_error           text,
    delivered            bigint      NOT NULL DEFAULT 0,
    failed               bigint      NOT NULL DEFAULT 0,
    status               text GENERATED ALWAYS AS (
                             CASE WHEN paused_at IS NOT NULL THEN 'paused'
                                  WHEN active THEN 'active' ELSE 'inactive' END) STORED
);
"""


class StandIn:
    """Applies subscription events like courier, every 50 ms, in a thread."""

    FIELDS = ("url", "event_types", "channels", "secret", "active", "description")

    def __init__(self, st, pb2):
        self.st, self.pb2 = st, pb2
        self.db = h.Db(st.cluster.conninfo(st.dbname))
        self.db.query(COURIER_DDL)
        self.running = threading.Event()
        self.running.set()
        self.stop_ = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _offset(self):
        return self.db.scalar("SELECT seq FROM eventlog.offsets WHERE consumer = 'courier' "
                              "AND stream = 'ingest'") or 0

    def _apply(self, ev, recorded_at):
        if ev.WhichOneof("body") == "subscription_deleted":
            self.db.query("DELETE FROM courier.subscriptions WHERE id = %s",
                          (ev.subscription_deleted.subscription_id,))
            return
        m = ev.subscription_saved
        old = self.db.query("SELECT url, event_types, channels, secret, active, description "
                            "FROM courier.subscriptions WHERE id = %s", (m.subscription_id,))
        row = dict(zip(self.FIELDS, old[0])) if old else {}
        mask = set(m.update_mask) or set(self.FIELDS)
        for f in self.FIELDS:
            if f in mask:
                v = getattr(m, f)
                row[f] = list(v) if f in ("event_types", "channels") else v
        resume = "active" in mask and m.active
        self.db.query(
            "INSERT INTO courier.subscriptions (id, url, event_types, channels, secret, active,"
            " description, created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, event_types ="
            " EXCLUDED.event_types, channels = EXCLUDED.channels, secret = EXCLUDED.secret,"
            " active = EXCLUDED.active, description = EXCLUDED.description, updated_at ="
            " EXCLUDED.updated_at, paused_at = CASE WHEN %s THEN NULL ELSE"
            " courier.subscriptions.paused_at END",
            (m.subscription_id, row["url"], row["event_types"], row["channels"], row["secret"],
             row["active"], row["description"], recorded_at, recorded_at, resume))

    def step(self):
        after = self._offset()
        rows = self.db.query("SELECT seq, type, payload, recorded_at FROM eventlog.events"
                             " WHERE stream = 'ingest' AND seq > %s ORDER BY seq", (after,))
        for seq, type_, payload, recorded_at in rows:
            if type_.startswith("subscription."):
                self._apply(self.pb2.Envelope.FromString(bytes(payload)), recorded_at)
            after = seq
        self.db.query("INSERT INTO eventlog.offsets (consumer, stream, seq) VALUES"
                      " ('courier', 'ingest', %s) ON CONFLICT (consumer, stream) DO UPDATE"
                      " SET seq = EXCLUDED.seq", (after,))

    def _run(self):
        while not self.stop_.is_set():
            if self.running.is_set():
                self.step()
            time.sleep(0.05)

    def pause(self):
        self.running.clear()
        time.sleep(0.1)  # a step in progress ends

    def resume(self):
        self.running.set()

    def close(self):
        self.stop_.set()
        self.thread.join(timeout=5)
        self.db.close()


class RealCourier:
    def __init__(self, st):
        self.st = st
        st.start("courier")

    def pause(self):
        self.st.stop("courier")

    def resume(self):
        self.st["courier"].start()

    def close(self):
        pass




def courier_for(st, pb2):
    return RealCourier(st) if "courier" in h.SERVICES else StandIn(st, pb2)
