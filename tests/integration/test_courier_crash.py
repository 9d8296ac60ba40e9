"""Issue 10: what courier accepted is delivered across kill -9 and a
PostgreSQL restart, and the duplicates it could not avoid are counted.

A burst of 1,000 messages (message.outbound, integrator mode) goes to an
integrator's endpoint. Once a part of them has arrived, courier is killed
with SIGKILL (or PostgreSQL restarted); in the end every message was
received and reported sent (message.sent, once each), and every duplicate
the receiver saw is an attempt courier counted as made again (an attempt
whose outcome it never recorded: courier.attempts 'lost', and
carebus_courier_redelivered_total). A receiver deduplicating on webhook-id
processes each message exactly once.
"""

import uuid

import psycopg2

import carebus_harness as h
from courier_support import (WebhookReceiver, metric, new_secret, restart_courier,
                             save_subscription, start_courier, wait_subscription)

BURST = 1000


def burst(st, pb2, n=BURST, channel="chat"):
    """n message.outbound on the router stream, in batches; their delivery ids."""
    ids = []
    for start in range(0, n, 250):
        envs = []
        for i in range(start, min(n, start + 250)):
            env = pb2.Envelope()
            env.event_id = str(uuid.uuid4())
            env.type = "message.outbound"
            env.stream = "router"
            env.ticket_id = str(uuid.uuid4())
            env.customer_id = str(uuid.uuid4())
            m = env.message_outbound
            m.delivery_id = str(uuid.uuid4())
            m.cause_event_id = str(uuid.uuid4())
            m.kind = pb2.OUTBOUND_KIND_REPLY
            m.channel = getattr(pb2, "CHANNEL_" + channel.upper())
            m.recipient.handle = f"chat-user-{i}"
            m.text = f"Tin nhắn số {i}"
            ids.append(m.delivery_id)
            envs.append(env)
        st.db.query(
            "SELECT count(*) FROM eventlog.append('router', %s::uuid[], %s::text[], "
            "%s::text[], %s::text[], array_fill(now(), ARRAY[%s]), %s::uuid[], %s::uuid[], "
            "%s::bytea[])",
            ([e.event_id for e in envs], [e.type for e in envs], [None] * len(envs),
             [None] * len(envs), len(envs), [e.customer_id for e in envs],
             [e.ticket_id for e in envs],
             [psycopg2.Binary(e.SerializeToString()) for e in envs]))
    return ids


def sent_ids(st):
    """Delivery ids of the message.sent events (decoded in SQL would need the
    schema; courier.deliveries says the same of each, and the event count
    must match it)."""
    return {r[0] for r in st.db.query("SELECT message_delivery_id::text FROM courier.deliveries "
                                      "WHERE status = 'sent'")}


def report(st, rcv, ids, label):
    got = rcv.requests(status=200)
    webhook_ids = [r.header("webhook-id") for r in got]
    unique = set(webhook_ids)
    lost = st.db.scalar("SELECT count(*) FROM courier.attempts WHERE outcome = 'lost'")
    redelivered = metric(st["courier"], 'carebus_courier_redelivered_total{channel="chat"}')
    sent_events = st.db.scalar("SELECT count(*) FROM eventlog.events WHERE stream = 'courier' "
                               "AND type = 'message.sent'")
    print(f"\n{label}: {len(ids)} messages, {len(got)} requests answered 200, "
          f"{len(unique)} distinct webhook-ids, {len(got) - len(unique)} duplicates; "
          f"{lost} attempts recorded lost, {redelivered:.0f} redelivered (this process), "
          f"{sent_events} message.sent; after deduplication on webhook-id: "
          f"{len(unique)} processed, 0 twice")
    return got, unique, lost, sent_events


def check(st, rcv, ids, label):
    h.wait_until("every message sent", lambda: len(sent_ids(st)) == len(ids), h.scaled(120),
                 interval=0.2, on_timeout=lambda: st["courier"].log_tail())
    got, unique, lost, sent_events = report(st, rcv, ids, label)
    assert sent_ids(st) == set(ids)
    assert sent_events == len(ids), "one message.sent each"
    assert len(unique) == len(ids)
    # Every duplicate the receiver saw is an attempt courier knows it made
    # again. (The converse need not hold: a lost attempt may never have
    # reached the receiver.)
    assert len(got) - len(unique) <= lost
    assert not st.db.scalar("SELECT count(*) FROM courier.deliveries WHERE status <> 'sent'")


def test_kill9_during_a_burst_of_1000(stack, pb2):
    with WebhookReceiver() as rcv:
        st = start_courier(stack())
        save = save_subscription(st, pb2, rcv.url + "/outbound", ["message.outbound"],
                                 new_secret(), channels=["chat"])
        wait_subscription(st, save)
        rcv.set_latency(0.01)  # slow enough to be killed in the middle
        ids = burst(st, pb2)
        h.wait_until("a part delivered", lambda: len(rcv.requests()) >= 150, h.scaled(30),
                     interval=0.01)
        st["courier"].kill9()
        in_flight = rcv.in_flight
        rcv.set_latency(0)
        restart_courier(st)
        check(st, rcv, ids, f"kill -9 with {in_flight} requests in flight")
        st["courier"].stop()


def test_postgres_restart_during_a_burst(private_cluster, stack, pb2):
    with WebhookReceiver() as rcv:
        st = start_courier(stack(cluster=private_cluster))
        save = save_subscription(st, pb2, rcv.url + "/outbound", ["message.outbound"],
                                 new_secret(), channels=["chat"])
        wait_subscription(st, save)
        rcv.set_latency(0.01)
        ids = burst(st, pb2)
        h.wait_until("a part delivered", lambda: len(rcv.requests()) >= 150, h.scaled(30),
                     interval=0.01)
        private_cluster.stop()
        private_cluster.start()
        rcv.set_latency(0)
        check(st, rcv, ids, "PostgreSQL restarted")
        st["courier"].stop()
