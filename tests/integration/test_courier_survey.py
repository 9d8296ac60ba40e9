"""Survey invitations through courier (issue 6's webhook deliveries, moved
with the code that sends them; issue 10: the invitation on the customer's
channel).

* The static subscriptions of CAREBUS_OUTBOUND_WEBHOOK_URLS still receive
  survey.requested: a receiver that fails twice then succeeds gets three
  attempts of one delivery id, each the same bytes, signed both ways (the
  Standard Webhooks headers, and the X-Carebus-* headers survey sent
  before), with the Retry-After it asked for honoured, and a kill -9 of
  courier between the attempts loses nothing; the other receiver gets its
  own delivery at the first try.
* A receiver that never succeeds is given up after the retry window.
* The invitation itself is a message to the customer on their channel: in
  integrator mode (CAREBUS_CHANNEL_ZALO_MODE=integrator), a message.outbound
  webhook (kind survey) to the integrator that owns the channel, and
  message.sent once it took it.
* With Zalo's own sender (the strict OA emulator), the invitation of a Zalo
  customer's solved ticket is one v3 customer-service message to the
  customer's user_id carrying the survey link; the customer follows the
  link, answers, and the answer is recorded (survey's tables, its event,
  bi.surveys through analytics).
"""

import base64
import hashlib
import hmac
import json
import re

import carebus_harness as h
from courier_support import (WebhookReceiver, attempts, delivery, message_events, new_secret,
                             restart_courier, save_subscription, start_courier,
                             verify_standard_webhook, wait_subscription)
from emulators import ZaloEmulator
from emulators.zalo import CS_PATH
from test_courier_zalo import USER, contact, zalo_stack
from test_survey_support import (WEBHOOK_SECRET, Browserless, answered_events, answers,
                                 open_ticket, solve_ticket, start, survey_env, wait_requested)


def legacy_ok(req):
    want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(req.header("X-Carebus-Signature", ""), want)


def standard_ok(req):
    # The static secret is used as its bytes: as a whsec_ secret, its base64.
    secret = "whsec_" + base64.b64encode(WEBHOOK_SECRET.encode()).decode()
    return verify_standard_webhook(secret, req.headers, req.body)


def row(st, url):
    """The static subscription's delivery: (id, status, attempts)."""
    rows = st.db.query("SELECT id::text, status, attempts FROM courier.deliveries "
                       "WHERE subscription_id = courier.static_subscription_id(%s)", (url,))
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def test_fails_twice_then_delivered_once_across_kill9(stack, pb2):
    with WebhookReceiver() as flaky, WebhookReceiver() as steady:
        flaky_url, steady_url = flaky.url + "/hooks/carebus", steady.url + "/hooks/carebus"
        # Twice "unavailable, come back in 2 s": the waits are known, so the
        # kill -9 below always falls between two attempts.
        flaky.fail_next(2, status=503, retry_after=2)
        env = dict(CAREBUS_OUTBOUND_WEBHOOK_URLS=f"{flaky_url}, {steady_url}",
                   CAREBUS_OUTBOUND_WEBHOOK_SECRET=WEBHOOK_SECRET, CAREBUS_WEBHOOK_RETRY_S=600)
        st = start(stack)
        start_courier(st, **env)
        ticket, customer = open_ticket(st, 31, "Tôi muốn đổi trả sản phẩm")
        solve_ticket(st, pb2, ticket)
        s = wait_requested(st, ticket)

        # The first attempt failed and its outcome is recorded; the next one
        # waits out the Retry-After when courier is killed.
        h.wait_until("first attempt recorded",
                     lambda: (row(st, flaky_url) or (0, 0, 0))[2] == 1, h.scaled(15),
                     on_timeout=lambda: st["courier"].log_tail())
        # The other webhook's delivery recorded too: one in flight at the
        # kill would be sent again (courier's sends are at least once),
        # which the end of this test does not expect.
        h.wait_until("the other webhook's delivery recorded",
                     lambda: (row(st, steady_url) or (0, 0, 0))[1] == "sent", h.scaled(15),
                     on_timeout=lambda: st["courier"].log_tail())
        st["courier"].kill9()
        assert row(st, flaky_url)[1] == "pending"
        restart_courier(st, **env)

        h.wait_until("delivered after three attempts", lambda: row(st, flaky_url)[1] == "sent",
                     h.scaled(30), on_timeout=lambda: st["courier"].log_tail())
        st["courier"].stop()  # nothing more can be sent now

        got = flaky.requests()
        assert [r.status for r in got] == [503, 503, 200], [r.status for r in got]
        ids = {r.header("webhook-id") for r in got}
        assert len(ids) == 1, ids
        delivery_id = ids.pop()
        assert {r.header("X-Carebus-Delivery") for r in got} == {delivery_id}
        assert {r.body for r in got} == {got[0].body}, "same bytes every time"
        for r in got:
            assert legacy_ok(r) and standard_ok(r), dict(r.headers)
            assert r.header("Content-Type") == "application/json"
            assert r.header("X-Carebus-Event") == "survey.requested"
        for a, b in zip(got, got[1:]):
            assert b.time - a.time >= 1.9, "Retry-After: 2 was not honoured"
        # The body survey POSTed before courier: the event's fields and its
        # body's at the top level, with the delivery id.
        body = json.loads(got[0].body)
        assert body["delivery_id"] == delivery_id
        assert body["type"] == "survey.requested" and body["stream"] == "survey"
        assert body["ticket_id"] == ticket and body["customer_id"] == customer
        assert body["survey_id"] == s["id"]
        assert body["link"] == s["link"] and body["text"] == s["text"]
        assert (body["channel"], body["handle"], body["language"]) == ("zalo", "zalo-uid-00031",
                                                                       "vi")
        assert row(st, flaky_url) == (delivery_id, "sent", 3)

        # The other webhook: its own delivery id, delivered at the first try.
        [sg] = steady.requests()
        assert sg.header("webhook-id") != delivery_id
        assert json.loads(sg.body)["delivery_id"] == sg.header("X-Carebus-Delivery")
        assert legacy_ok(sg) and standard_ok(sg)
        assert row(st, steady_url) == (sg.header("webhook-id"), "sent", 1)


def test_gives_up_after_the_retry_window(stack, pb2):
    with WebhookReceiver(status=500) as dead:
        url = dead.url + "/hooks/carebus"
        st = start(stack)
        start_courier(st, CAREBUS_OUTBOUND_WEBHOOK_URLS=url,
                      CAREBUS_OUTBOUND_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      CAREBUS_COURIER_BACKOFF_MS=100, CAREBUS_WEBHOOK_RETRY_S=2)
        ticket, _ = open_ticket(st, 32)
        solve_ticket(st, pb2, ticket)
        wait_requested(st, ticket)
        h.wait_until("delivery given up", lambda: (row(st, url) or (0, ""))[1] == "failed",
                     h.scaled(20), on_timeout=lambda: st["courier"].log_tail())
        st["courier"].stop()
        _, _, attempts = row(st, url)
        assert attempts >= 2 and len(dead.requests()) == attempts
        code, error = st.db.query("SELECT last_error_code, last_error FROM courier.deliveries "
                                  "WHERE subscription_id = courier.static_subscription_id(%s)",
                                  (url,))[0]
        assert code == "http_500" and error.endswith("the receiver answered 500"), error


def test_invitation_reaches_the_integrator_of_the_channel(stack, pb2):
    with WebhookReceiver() as integrator:
        st = start(stack)
        # Zalo has a sender of carebus's own; this operator hands it to an
        # integrator instead.
        start_courier(st, CAREBUS_CHANNEL_ZALO_MODE="integrator")
        secret = new_secret()
        sub = save_subscription(st, pb2, integrator.url + "/carebus", ["message.outbound"],
                                secret, channels=["zalo"])
        wait_subscription(st, sub)
        ticket, customer = open_ticket(st, 33, "Cảm ơn, đã xong")
        solve_ticket(st, pb2, ticket)
        s = wait_requested(st, ticket)

        [req] = integrator.wait_requests(1, timeout=h.scaled(15))
        assert verify_standard_webhook(secret, req.headers, req.body)
        ev = json.loads(req.body)
        assert ev["type"] == "message.outbound" and ev["stream"] == "courier"
        assert ev["ticket_id"] == ticket and ev["customer_id"] == customer
        m = ev["body"]
        assert m["kind"] == "survey" and m["channel"] == "zalo"
        assert m["recipient"]["handle"] == "zalo-uid-00033"
        assert m["text"] == s["text"] and s["link"] in m["text"]
        survey_event = st.db.scalar("SELECT event_id::text FROM eventlog.events "
                                    "WHERE type = 'survey.requested' AND ticket_id = %s",
                                    (ticket,))
        assert m["cause_event_id"] == survey_event
        sent = h.wait_until("message.sent", lambda: message_events(st, pb2, "message.sent")
                            .get(m["delivery_id"]), h.scaled(10))
        assert sent.kind == pb2.OUTBOUND_KIND_SURVEY and sent.attempts == 1
        assert sent.cause_event_id == survey_event
        assert not message_events(st, pb2, "message.failed")


def test_invitation_reaches_zalo_and_the_customer_answers_it(stack, pb2):
    with ZaloEmulator() as z:
        st = zalo_stack(stack, z, more={"survey": survey_env, "analytics": {}})
        ticket = contact(st, z, "Đơn hàng giao thiếu một món, em kiểm tra giúp")
        solve_ticket(st, pb2, ticket)
        s = wait_requested(st, ticket)
        assert (s["channel"], s["handle"]) == ("zalo", USER), s

        # One customer-service message, as Zalo documents it, to the
        # customer's user_id, with the invitation's text and link.
        [req] = z.wait_requests(1, timeout=h.scaled(20), path=CS_PATH)
        assert req.method == "POST" and not req.query, req.to_json()
        assert req.header("access_token") == z.config["access_token"]
        assert req.header("Content-Type") == "application/json"
        assert req.json == {"recipient": {"user_id": USER}, "message": {"text": s["text"]}}
        assert req.response_json["error"] == 0, req.response_json
        mid = req.response_json["data"]["message_id"]
        [got] = z.messages(USER)
        links = re.findall(r"https?://\S+", got["text"])
        assert links == [s["link"]], (links, got["text"])

        # courier's record of it: a survey message, sent once.
        survey_event = st.db.scalar("SELECT event_id::text FROM eventlog.events "
                                    "WHERE type = 'survey.requested' AND ticket_id = %s",
                                    (ticket,))
        sent = h.wait_until("message.sent", lambda: [
            m for m in message_events(st, pb2, "message.sent").values()
            if m.cause_event_id == survey_event], h.scaled(10))
        [sent] = sent
        assert sent.kind == pb2.OUTBOUND_KIND_SURVEY and sent.channel == pb2.CHANNEL_ZALO
        assert sent.provider_message_id == mid and sent.attempts == 1
        assert delivery(st, sent.delivery_id)[:2] == ("sent", 1)
        assert attempts(st, sent.delivery_id) == [(1, "sent", 200, None)]
        assert not message_events(st, pb2, "message.failed")

        # The customer follows the link from the message and answers.
        b = Browserless(st, links[0])
        assert links[0].startswith(st["survey"].url + "/")
        r = b.get()
        assert r.status == 200 and '<html lang="vi">' in r.body.decode(), r
        comment = "Giao bù nhanh, cảm ơn"
        r = b.post({"csat": "5", "ces": "6", "comment": comment, "lang": "vi"})
        assert r.status == 200 and "Cảm ơn anh/chị!" in r.body.decode(), r
        assert answers(st) == [(s["id"], 5, 6, comment)]
        assert answered_events(st) == 1

        # ... and what BI reads of it.
        h.wait_until("bi.surveys to show the answer", lambda: st.db.query(
            "SELECT channel, answered, csat, ces, csat_positive FROM bi.surveys "
            "WHERE ticket_id = %s", (ticket,)) == [("zalo", True, 5, 6, True)], h.scaled(30),
            on_timeout=lambda: st["analytics"].log_tail())
        assert len(z.requests(path=CS_PATH)) == 1, "nothing sent twice"
