"""Issue 10: a subscription that keeps failing is paused and shows why; the
integrator resumes it by saving it active again.

Paused after CAREBUS_WEBHOOK_PAUSE_AFTER_FAILURES attempts in a row failed
(or after failing for CAREBUS_WEBHOOK_PAUSE_AFTER_S): courier.subscriptions
says paused, with the reason (since when, how many, the last error), a
subscription.paused event says the same, the subscription's open
deliveries are given up (its messages reported failed) and it gets nothing
more until a subscription.saved with active = true resumes it.
"""

import carebus_harness as h
from courier_support import (WebhookReceiver, courier_events, decoded, message_events, metric,
                             new_secret, outbound, save_subscription, start_courier,
                             wait_subscription)


def sub_row(st, sub):
    return st.db.query("SELECT status, paused_reason, consecutive_failures, last_error, "
                       "failing_since IS NOT NULL FROM courier.subscriptions WHERE id = %s",
                       (sub,))[0]


def test_paused_after_failures_in_a_row_and_resumed(stack, pb2):
    with WebhookReceiver(status=503) as rcv:
        st = start_courier(stack(), CAREBUS_WEBHOOK_PAUSE_AFTER_FAILURES=3,
                           CAREBUS_COURIER_BACKOFF_MS=50)
        secret = new_secret()
        sub = save_subscription(st, pb2, rcv.url + "/hook", ["message.outbound"], secret,
                                channels=["chat"])
        wait_subscription(st, sub)
        first = outbound(st, pb2, "chat", ticket_id="11111111-1111-4111-8111-111111111111")
        second = outbound(st, pb2, "chat", ticket_id="22222222-2222-4222-8222-222222222222")

        h.wait_until("paused", lambda: sub_row(st, sub)[0] == "paused", h.scaled(20),
                     on_timeout=lambda: st["courier"].log_tail())
        status, reason, failures, last_error, failing = sub_row(st, sub)
        assert failures >= 3 and failing
        assert "attempts in a row failed" in reason and "the receiver answered 503" in reason
        assert last_error == "the receiver answered 503"
        [(_, payload)] = courier_events(st, "subscription.paused")
        ev = decoded(pb2, payload).subscription_paused
        assert ev.subscription_id == sub and ev.reason == reason
        assert ev.failing_since.seconds > 0

        # Its open deliveries are given up: both messages failed, saying why.
        failed = h.wait_until("messages failed",
                              lambda: len(message_events(st, pb2, "message.failed")) == 2
                              and message_events(st, pb2, "message.failed"), h.scaled(10))
        for mid in (first, second):
            assert failed[mid].code == "subscription_paused"
            assert failed[mid].reason.startswith("the subscription was paused: failing since")
        assert metric(st["courier"], "carebus_courier_subscriptions_paused_total") == 1

        # Paused: it owns nothing now.
        third = outbound(st, pb2, "chat")
        f = h.wait_until("third failed", lambda: message_events(st, pb2, "message.failed")
                         .get(third), h.scaled(10))
        assert f.code == "no_integrator"

        # The integrator fixed its endpoint and resumes the subscription.
        rcv.set_answer(200)
        n = len(rcv.requests())
        save_subscription(st, pb2, "", [], "", sub_id=sub, active=True, mask=["active"])
        h.wait_until("resumed", lambda: sub_row(st, sub)[0] == "active", h.scaled(10))
        assert sub_row(st, sub)[1:3] == (None, 0)
        fourth = outbound(st, pb2, "chat")
        h.wait_until("fourth sent", lambda: message_events(st, pb2, "message.sent").get(fourth),
                     h.scaled(15), on_timeout=lambda: st["courier"].log_tail())
        assert len(rcv.requests()) == n + 1
        # The mask kept everything else: URL, patterns, channels, secret.
        assert st.db.query("SELECT url, event_types, channels, secret FROM courier.subscriptions"
                           " WHERE id = %s", (sub,)) == [
            (rcv.url + "/hook", ["message.outbound"], ["chat"], secret)]


def test_paused_after_failing_for_a_while(stack, pb2):
    with WebhookReceiver(status=500) as rcv:
        st = start_courier(stack(), CAREBUS_WEBHOOK_PAUSE_AFTER_S=2,
                           CAREBUS_COURIER_BACKOFF_MS=200, CAREBUS_COURIER_BACKOFF_MAX_S=1)
        sub = save_subscription(st, pb2, rcv.url + "/hook", ["message.*"], new_secret())
        wait_subscription(st, sub)
        outbound(st, pb2, "chat")
        h.wait_until("paused", lambda: sub_row(st, sub)[0] == "paused", h.scaled(20),
                     on_timeout=lambda: st["courier"].log_tail())
        reason = sub_row(st, sub)[1]
        assert reason.startswith("failing since ") and "the receiver answered 500" in reason
        got = rcv.requests()
        assert got[-1].time - got[0].time >= 1.5
