"""An erasure reaches what is still to be sent to the customer (README
"Personal data", Erasure; deploy/migrations/0072_privacy_erasure_pending.sql).

  a. courier: a message to the erased customer still being retried is
     given up on customer.erased — failed, code customer_erased, reported
     by message.failed, its recipient and body redacted — and no attempt
     follows; a message to another customer goes on and is sent; the
     announcement itself still reaches the subscribers
  b. courier: a message whose recipient reads "[erased]" (a reply to an
     erased customer) fails at once: nothing is sent to "[erased]"
  c. survey: an invitation scheduled before the erasure is cancelled (its
     row deleted, as a reopen does), never requested nor sent; another
     customer's falls due and is requested
"""

import json
import time
import uuid

import carebus_harness as h
from courier_support import (WebhookReceiver, append, message_events, new_secret, outbound,
                             save_subscription, start_courier, wait_subscription)

SECRET_HANDLE = "mai-handle-qzvx"
SECRET_TEXT = "Chị Mai ơi, đơn 55 giao tới 25 Nguyễn Huệ"


def erased_event(st, pb2, customer):
    return append(st, pb2, "router", "customer_erased", customer_id=customer,
                  customer_ids=[customer], actor="test", reason="asked", keys_destroyed=0)


def mentions(rcv, needle):
    return sum(1 for r in rcv.requests() if needle.encode() in r.body)


def test_courier_gives_up_an_erased_customers_open_deliveries(stack, pb2):
    with WebhookReceiver(status=503) as rcv:
        st = start_courier(stack())
        sub = save_subscription(st, pb2, rcv.url + "/outbound", ["message.outbound"],
                                new_secret(), channels=("chat",))
        wait_subscription(st, sub)
        notified = save_subscription(st, pb2, rcv.url + "/events", ["customer.*"], new_secret())
        wait_subscription(st, notified)
        mai, other = str(uuid.uuid4()), str(uuid.uuid4())
        to_mai = outbound(st, pb2, "chat", text=SECRET_TEXT, customer_id=mai,
                          recipient={"name": "Mai", "handle": SECRET_HANDLE})
        to_other = outbound(st, pb2, "chat", text="Dạ em chào anh", customer_id=other,
                            handle="other-handle")
        # both are being retried (the integrator answers 503)
        h.wait_until("both messages tried", lambda: mentions(rcv, SECRET_HANDLE) >= 1
                     and mentions(rcv, "other-handle") >= 1, h.scaled(20))

        erased_event(st, pb2, mai)
        failed = h.wait_until("message.failed of the erased customer's message",
                              lambda: message_events(st, pb2, "message.failed").get(to_mai),
                              h.scaled(20), on_timeout=lambda: st["courier"].log_tail())
        assert failed.code == "customer_erased" and failed.permanent, failed
        rows = st.db.query("SELECT status, last_error_code, body, recipient, message"
                           " FROM courier.deliveries WHERE message_delivery_id = %s", (to_mai,))
        assert rows and all(r[0] == "failed" and r[1] == "customer_erased" for r in rows), rows
        text = json.dumps([[r[2], r[3]] for r in rows], ensure_ascii=False)
        assert SECRET_HANDLE not in text and SECRET_TEXT not in text and "[erased]" in text
        assert all(r[4] is None for r in rows)
        # no attempt follows (one in flight at the give-up may still land)
        time.sleep(h.scaled(1))
        tried = mentions(rcv, SECRET_HANDLE)
        time.sleep(h.scaled(3))
        assert mentions(rcv, SECRET_HANDLE) == tried
        # the other customer's message goes on; the erasure is announced
        rcv.set_answer(200, b"{}")
        h.wait_until("the other customer's message sent",
                     lambda: message_events(st, pb2, "message.sent").get(to_other),
                     h.scaled(20), on_timeout=lambda: st["courier"].log_tail())
        # (retried, as the integrator answered 503 until now)
        h.wait_until("customer.erased notified", lambda: st.db.scalar(
            "SELECT status FROM courier.deliveries WHERE event_type = 'customer.erased'")
            == "sent", h.scaled(30), on_timeout=lambda: st["courier"].log_tail())
        assert any(b"customer.erased" in r.body for r in rcv.requests() if r.path == "/events")


def test_nothing_is_sent_to_an_erased_recipient(stack, pb2):
    with WebhookReceiver() as rcv:
        st = start_courier(stack())
        sub = save_subscription(st, pb2, rcv.url + "/outbound", ["message.outbound"],
                                new_secret(), channels=("chat",))
        wait_subscription(st, sub)
        mid = outbound(st, pb2, "chat", text="[erased]", handle="[erased]")
        failed = h.wait_until("message.failed", lambda: message_events(
            st, pb2, "message.failed").get(mid), h.scaled(20))
        assert failed.code == "customer_erased", failed
        assert [r for r in rcv.requests() if r.path == "/outbound"] == []


def test_a_scheduled_survey_of_an_erased_customer_is_never_sent(stack, pb2):
    from test_survey_support import open_ticket, requested_events, solve_ticket, survey_row
    from test_survey_support import survey_env
    st = stack(master_key=True)
    for n in ("ingest", "router", "courier"):
        st[n].start(wait_ready=False)
    st["survey"].start(wait_ready=False, extra_env=survey_env(st, CAREBUS_SURVEY_DELAY_S=3600))
    for n in ("ingest", "router", "courier", "survey"):
        st[n].wait_ready()
    erased_ticket, erased = open_ticket(st, 1)
    kept_ticket, _ = open_ticket(st, 2)
    for t in (erased_ticket, kept_ticket):
        solve_ticket(st, pb2, t)
        h.wait_until("survey scheduled", lambda t=t: (survey_row(st, t) or {}).get("status")
                     == "scheduled", h.scaled(20))
    r = h.http_request(f"{st.api_url}/v1/customers/{erased}/erasure", "POST",
                       {"reason": "asked"}, st.auth(), timeout=h.scaled(15))
    assert r.status == 202, r
    h.wait_until("the scheduled survey cancelled", lambda: survey_row(st, erased_ticket) is None,
                 h.scaled(20), on_timeout=lambda: st["survey"].log_tail())
    # what was scheduled falls due now: only the other customer's goes
    st.db.query("UPDATE survey.surveys SET due_at = now() - interval '1 second'"
                " WHERE status = 'scheduled'")
    h.wait_until("the other survey requested", lambda: requested_events(st, kept_ticket) == 1,
                 h.scaled(20), on_timeout=lambda: st["survey"].log_tail())
    time.sleep(h.scaled(2))
    assert requested_events(st, erased_ticket) == 0
    assert survey_row(st, erased_ticket) is None
    assert st.db.scalar("SELECT count(*) FROM courier.deliveries WHERE kind = 'survey'"
                        " AND recipient = '[erased]'") == 0
