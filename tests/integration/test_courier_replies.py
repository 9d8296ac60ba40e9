"""Issue 10, end to end on a channel in integrator mode: an agent's reply
through the API reaches the integrator that owns the channel, and the
ticket shows what became of it.

channel-ingest, router and courier, real PostgreSQL and ZeroMQ. An
integrator subscribes to message.outbound for chat through the API (its
secret shown once); a chat contact opens a ticket; each reply through
POST /v1/tickets/{id}/replies is one signed message.outbound webhook with
the reply's text and the customer's handle. The integrator's 200 with its
own id: the timeline shows the reply sent, with that id. Its refusal (422,
its code and message): the timeline shows the reply failed with them, and
nothing is retried. An internal note sends nothing.
"""

import json
import time
from datetime import timedelta

import carebus_harness as h
from courier_support import WebhookReceiver, verify_standard_webhook
from test_router_acceptance import T0, message, post, routed_ticket, ticket, ts


def delivery(st, ticket_id, event_id):
    """The reply's delivery on the ticket's timeline (None until it is there)."""
    for m in ticket(st, ticket_id)["messages"]:
        if m["event_id"] == event_id:
            return m["delivery"]
    return None


def wait_delivery(st, ticket_id, event_id, status):
    def check():
        d = delivery(st, ticket_id, event_id)
        return d if d and d["status"] == status else None

    return h.wait_until(f"reply {event_id} {status}", check, h.scaled(20), interval=0.05,
                        on_timeout=lambda: "\n" + st.log_summary())


def test_a_reply_reaches_the_integrator_and_the_ticket_shows_its_fate(stack):
    with WebhookReceiver(body={"provider_message_id": "crm-msg-1"}) as rcv:
        st = stack("ingest", "router", "courier")
        sub = post(st, "/v1/webhook-subscriptions",
                   {"url": rcv.url + "/carebus", "event_types": ["message.outbound"],
                    "channels": ["chat"]}, status=(201,))
        # A read after the write waits until courier has applied it.
        assert post(st, f"/v1/webhook-subscriptions/{sub['id']}", None, method="GET")[
            "status"] == "active"

        contact = message(st, "chat", "Cho em hỏi đơn hàng 1234 giao chưa ạ?", T0,
                          name="Lan", handle="chat-visitor-42")
        t = routed_ticket(st, contact)
        r1 = post(st, f"/v1/tickets/{t}/replies",
                  {"agent_id": "agent-7", "text": "Dạ đơn 1234 giao ngày mai ạ.",
                   "occurred_at": ts(T0 + timedelta(minutes=1))})["event_id"]

        [req] = rcv.wait_requests(1, timeout=h.scaled(20))
        assert verify_standard_webhook(sub["secret"], req.headers, req.body)
        ev = json.loads(req.body)
        assert ev["type"] == "message.outbound" and ev["ticket_id"] == t
        m = ev["body"]
        assert m["kind"] == "reply" and m["channel"] == "chat"
        assert m["text"] == "Dạ đơn 1234 giao ngày mai ạ." and m["agent_id"] == "agent-7"
        assert m["recipient"]["handle"] == "chat-visitor-42"
        got = wait_delivery(st, t, r1, "sent")
        assert got["id"] == m["delivery_id"] and got["provider_message_id"] == "crm-msg-1"
        assert got["error"] is None

        # An internal note sends nothing.
        post(st, f"/v1/tickets/{t}/replies",
             {"agent_id": "agent-7", "text": "khách quen", "internal_note": True})

        # The integrator refuses the next one for good, in its own words.
        rcv.fail_next(1, status=422, body={"code": "visitor_left",
                                           "message": "Khách đã rời cuộc trò chuyện"})
        r2 = post(st, f"/v1/tickets/{t}/replies",
                  {"agent_id": "agent-7", "text": "Anh chị cần gì thêm không ạ?",
                   "occurred_at": ts(T0 + timedelta(minutes=2))})["event_id"]
        got = wait_delivery(st, t, r2, "failed")
        assert got["error"] == {"code": "visitor_left", "reason": "Khách đã rời cuộc trò chuyện"}
        time.sleep(1.0)  # a retry or a send for the note would have come by now
        assert len(rcv.requests()) == 2
