"""Issue 10's faults, on a message in integrator mode (a channel without a
sender of carebus's own: the message.outbound webhook to the integrator
that owns the channel is the delivery).

  500, 500, 200  -> one delivery after three attempts, one message.sent
  429 + Retry-After: 2 -> the next attempt no sooner than asked
  no answer within CAREBUS_COURIER_TIMEOUT_S, or nobody listening
                  -> retried (the same delivery id), sent once it answers
  a permanent 4xx -> message.failed at once, with the integrator's code and
                     message, and no retry
  no integrator   -> message.failed at once, saying so
Every attempt is a row of courier.attempts; the integrator's own id for the
message (its answer's provider_message_id) is kept.
"""

import json
import time

import carebus_harness as h
from courier_support import (WebhookReceiver, attempts, delivery, message_events, metric,
                             new_secret, outbound, save_subscription, start_courier,
                             verify_standard_webhook, wait_subscription)


def integrator(st, pb2, rcv, channels=("chat",)):
    secret = new_secret()
    sub = save_subscription(st, pb2, rcv.url + "/outbound", ["message.outbound"], secret,
                            channels=channels)
    wait_subscription(st, sub)
    return sub, secret


def sent(st, pb2, delivery_id):
    return h.wait_until(f"message.sent of {delivery_id}",
                        lambda: message_events(st, pb2, "message.sent").get(delivery_id),
                        h.scaled(20), on_timeout=lambda: st["courier"].log_tail())


def failed(st, pb2, delivery_id):
    return h.wait_until(f"message.failed of {delivery_id}",
                        lambda: message_events(st, pb2, "message.failed").get(delivery_id),
                        h.scaled(20), on_timeout=lambda: st["courier"].log_tail())


def the_delivery(st, sub, message_delivery_id):
    return st.db.scalar("SELECT id::text FROM courier.deliveries WHERE subscription_id = %s "
                        "AND message_delivery_id = %s", (sub, message_delivery_id))


def test_500_500_200_is_one_delivery_after_three_attempts(stack, pb2):
    with WebhookReceiver(body={"provider_message_id": "int-77"}) as rcv:
        st = start_courier(stack())
        sub, secret = integrator(st, pb2, rcv)
        rcv.fail_next(2, status=500)
        mid = outbound(st, pb2, "chat", text="Dạ em gửi anh mã đơn hàng")
        m = sent(st, pb2, mid)
        assert m.attempts == 3 and m.provider_message_id == "int-77"
        assert m.channel == pb2.CHANNEL_CHAT and m.kind == pb2.OUTBOUND_KIND_REPLY

        got = rcv.requests()
        assert [r.status for r in got] == [500, 500, 200]
        assert len({r.header("webhook-id") for r in got}) == 1
        assert {r.body for r in got} == {got[0].body}
        assert all(verify_standard_webhook(secret, r.headers, r.body) for r in got)
        body = json.loads(got[0].body)
        assert body["type"] == "message.outbound"
        assert body["body"]["delivery_id"] == mid
        assert body["body"]["text"] == "Dạ em gửi anh mã đơn hàng"

        d = the_delivery(st, sub, mid)
        assert d == got[0].header("webhook-id")
        assert delivery(st, d)[:2] == ("sent", 3)
        assert st.db.scalar("SELECT provider_message_id FROM courier.deliveries WHERE id = %s",
                            (d,)) == "int-77"
        assert attempts(st, d) == [(1, "retry", 500, "http_500"), (2, "retry", 500, "http_500"),
                                   (3, "sent", 200, None)]
        assert not message_events(st, pb2, "message.failed")
        assert metric(st["courier"], 'carebus_courier_deliveries_total{channel="chat",'
                                     'kind="reply",outcome="sent"}') == 1
        assert metric(st["courier"], 'carebus_courier_attempts_total{channel="chat",'
                                     'outcome="retry"}') == 2


def test_429_retry_after_is_honoured(stack, pb2):
    with WebhookReceiver() as rcv:
        st = start_courier(stack(), CAREBUS_COURIER_BACKOFF_MS=1)
        integrator(st, pb2, rcv)
        rcv.rate_limit_next(1, retry_after=2)
        mid = outbound(st, pb2, "chat")
        assert sent(st, pb2, mid).attempts == 2
        first, second = rcv.requests()
        assert (first.status, second.status) == (429, 200)
        assert second.time - first.time >= 2.0, second.time - first.time


def test_timeouts_and_refused_connections_are_retried(stack, pb2):
    with WebhookReceiver() as rcv:
        st = start_courier(stack())  # an attempt times out after 2 s
        sub, secret = integrator(st, pb2, rcv)

        # The integrator takes longer than the attempt's timeout (and acts on
        # it: the repeat carries the same webhook-id, for it to deduplicate).
        rcv.delay_next(1, seconds=4)
        mid = outbound(st, pb2, "chat")
        assert sent(st, pb2, mid).attempts == 2
        first, second = rcv.wait_requests(2, timeout=h.scaled(10), answered=False)
        assert first.header("webhook-id") == second.header("webhook-id")
        assert first.fault and not second.fault
        d = the_delivery(st, sub, mid)
        assert [(n, outcome, code) for n, outcome, _, code in attempts(st, d)] == [
            (1, "retry", "transport"), (2, "sent", None)]

        # Nobody listens at the subscription's URL: retried until it does
        # (each attempt goes to the URL the subscription has then).
        save_subscription(st, pb2, f"http://127.0.0.1:{h.free_port()}/outbound",
                          ["message.outbound"], secret, sub_id=sub, channels=["chat"])
        h.wait_until("the subscription's new URL", lambda: st.db.scalar(
            "SELECT url FROM courier.subscriptions WHERE id = %s", (sub,)) != rcv.url + "/outbound",
            h.scaled(15))
        mid = outbound(st, pb2, "chat")
        h.wait_until("two refused attempts", lambda: len(attempts(
            st, the_delivery(st, sub, mid) or "00000000-0000-0000-0000-000000000000")) >= 2,
            h.scaled(20), on_timeout=lambda: st["courier"].log_tail())
        save_subscription(st, pb2, rcv.url + "/outbound", ["message.outbound"], secret,
                          sub_id=sub, channels=["chat"])
        m = sent(st, pb2, mid)
        got = attempts(st, the_delivery(st, sub, mid))
        assert m.attempts == len(got) >= 3
        assert all((outcome, code) == ("retry", "transport") for _, outcome, _, code in got[:-1])
        assert got[-1][1] == "sent"
        assert len(rcv.requests()) == 3


def test_a_permanent_4xx_fails_at_once_with_the_reason(stack, pb2):
    with WebhookReceiver() as rcv:
        st = start_courier(stack())
        sub, _ = integrator(st, pb2, rcv)
        rcv.fail_next(1, status=422, body={"code": "recipient_blocked",
                                           "message": "Khách hàng đã chặn tin nhắn"})
        mid = outbound(st, pb2, "chat")
        f = failed(st, pb2, mid)
        assert (f.code, f.reason) == ("recipient_blocked", "Khách hàng đã chặn tin nhắn")
        assert f.permanent and f.attempts == 1 and f.channel == pb2.CHANNEL_CHAT
        time.sleep(1.0)  # a retry would have come by now (backoff <= 300 ms)
        assert len(rcv.requests()) == 1
        d = the_delivery(st, sub, mid)
        assert delivery(st, d) == ("failed", 1, "recipient_blocked", "Khách hàng đã chặn tin nhắn")
        assert attempts(st, d) == [(1, "failed", 422, "recipient_blocked")]
        assert not message_events(st, pb2, "message.sent")


def test_without_an_integrator_the_message_fails_at_once(stack, pb2):
    with WebhookReceiver() as rcv:
        st = start_courier(stack())
        integrator(st, pb2, rcv, channels=("chat",))
        mid = outbound(st, pb2, "tiktok")
        f = failed(st, pb2, mid)
        assert f.code == "no_integrator"
        assert f.reason == "no integrator subscribed to message.outbound on tiktok"
        assert f.attempts == 0 and f.permanent
        # The chat integrator does not own tiktok: it heard nothing.
        time.sleep(0.5)
        assert not rcv.requests()
        assert metric(st["courier"], 'carebus_courier_deliveries_total{channel="tiktok",'
                                     'kind="reply",outcome="failed"}') == 1
