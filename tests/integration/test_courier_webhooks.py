"""Issue 10: integrators hear every event through webhook subscriptions.

Two subscriptions with different filters each receive exactly the events
their patterns take (from every stream), each once, signed with their own
secret (Standard Webhooks, checked by the receiver's verifier written from
the specification); the deliveries of one subscription and one ticket
arrive one at a time, in order, even when the receiver is slow. An
inactive subscription receives nothing; a deleted one stops receiving.
"""

import json
import time
import uuid

import carebus_harness as h
from courier_support import (WebhookReceiver, delete_subscription, metric, new_secret,
                             save_subscription, start_courier, verify_standard_webhook,
                             wait_subscription)

CUSTOMERS = 4
CONTACTS = 4  # per customer: the first opens a ticket, the others join it


def logged(st, pattern_sql):
    """Event ids of the log whose type matches a SQL LIKE pattern."""
    return {r[0] for r in st.db.query("SELECT event_id::text FROM eventlog.events "
                                      "WHERE type LIKE %s", (pattern_sql,))}


def courier_caught_up(st):
    for stream in ("ingest", "router"):
        st.wait_caught_up("courier", stream)


def test_subscriptions_receive_exactly_their_events_signed_in_ticket_order(stack, pb2):
    with WebhookReceiver() as a, WebhookReceiver() as b, WebhookReceiver() as off:
        st = stack()
        st["ingest"].start(wait_ready=False)
        st["router"].start(wait_ready=False)
        start_courier(st)
        for n in ("ingest", "router"):
            st[n].wait_ready()
        secret_a, secret_b = new_secret(), new_secret()
        sa = save_subscription(st, pb2, a.url + "/tickets", ["ticket.*"], secret_a)
        sb = save_subscription(st, pb2, b.url + "/contacts", ["contact.received", "sla.*"],
                               secret_b)
        so = save_subscription(st, pb2, off.url + "/all", ["*"], new_secret(), active=False)
        for s in (sa, sb, so):
            wait_subscription(st, s)
        assert st.db.scalar("SELECT status FROM courier.subscriptions WHERE id = %s",
                            (so,)) == "inactive"

        # A slow receiver: if deliveries of one ticket were not sent one at
        # a time, they would overlap and could overtake each other.
        a.set_latency(0.03)
        base = 700 + int(time.time()) % 1000 * 10
        for k in range(CONTACTS):
            for c in range(CUSTOMERS):
                r = st.post_message(h.contact(base + k * CUSTOMERS + c, base + c, "zalo"))
                assert r.status == 202, r
        st.wait_caught_up("router", "ingest", at_least=CUSTOMERS * CONTACTS)
        courier_caught_up(st)
        want_a, want_b = logged(st, "ticket.%"), logged(st, "contact.received")
        assert len(want_b) == CUSTOMERS * CONTACTS and len(want_a) >= CUSTOMERS * CONTACTS

        def received(rcv, want):
            got = rcv.requests(status=200)
            return len({r.header("webhook-id") for r in got}) >= len(want) and got

        got_a = h.wait_until("a's deliveries", lambda: received(a, want_a), h.scaled(30),
                             on_timeout=lambda: st["courier"].log_tail())
        got_b = h.wait_until("b's deliveries", lambda: received(b, want_b), h.scaled(30))
        time.sleep(0.5)  # anything extra would have come by now
        got_a, got_b = a.requests(), b.requests()

        for rcv_got, want, secret, other in ((got_a, want_a, secret_a, secret_b),
                                             (got_b, want_b, secret_b, secret_a)):
            events = [json.loads(r.body) for r in rcv_got]
            assert {e["event_id"] for e in events} == want
            assert len(rcv_got) == len(want), "each event once"
            assert len({r.header("webhook-id") for r in rcv_got}) == len(want)
            for r in rcv_got:
                assert verify_standard_webhook(secret, r.headers, r.body), dict(r.headers)
                assert not verify_standard_webhook(other, r.headers, r.body)
        assert all(json.loads(r.body)["type"].startswith("ticket.") for r in got_a)
        assert not off.requests()

        # Per ticket, in the order courier recorded them (the router's
        # order), each sent only once the previous one was answered.
        by_ticket = {}
        for r in got_a:
            by_ticket.setdefault(json.loads(r.body)["ticket_id"], []).append(r)
        assert len(by_ticket) == CUSTOMERS
        for ticket, reqs in by_ticket.items():
            order = [row[0] for row in st.db.query(
                "SELECT id::text FROM courier.deliveries WHERE subscription_id = %s "
                "AND order_key = %s ORDER BY created_seq", (sa, ticket))]
            assert [r.header("webhook-id") for r in reqs] == order
            seqs = [json.loads(r.body)["seq"] for r in reqs]
            assert seqs == sorted(seqs), seqs
            for prev, nxt in zip(reqs, reqs[1:]):
                assert nxt.time >= prev.time + 0.025, "a ticket's deliveries overlapped"

        # Counted: every delivery to a subscription is a webhook.
        assert metric(st["courier"], 'carebus_courier_deliveries_total{channel="webhook",'
                                     'kind="webhook",outcome="sent"}') == len(want_a) + len(want_b)
        assert st.db.query("SELECT delivered, failed, consecutive_failures, failing_since "
                           "FROM courier.subscriptions WHERE id = %s", (sa,)) == [
            (len(want_a), 0, 0, None)]

        # A deleted subscription hears nothing more.
        delete_subscription(st, pb2, sb)
        h.wait_until("b deleted", lambda: not st.db.scalar(
            "SELECT count(*) FROM courier.subscriptions WHERE id = %s", (sb,)), h.scaled(10))
        before = len(b.requests())
        r = st.post_message(h.contact(base + 999, base + 999, "chat",
                                      external_id=f"late-{uuid.uuid4().hex[:8]}"))
        assert r.status == 202
        st.wait_caught_up("router", "ingest")
        courier_caught_up(st)
        h.wait_until("a hears the new ticket", lambda: len(a.requests()) > len(got_a),
                     h.scaled(10))
        assert len(b.requests()) == before
