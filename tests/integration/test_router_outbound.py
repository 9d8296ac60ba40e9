"""Issue 10, the router's side: what an agent's reply asks courier to send,
and what the ticket shows of its delivery. End to end through
channel-ingest's API and the real router, real PostgreSQL and ZeroMQ:

  a. a Zalo contact, a reply with a file through POST /v1/tickets/{id}/replies:
     one message.outbound in the log, to the customer's Zalo id, with the
     file; an email contact and its reply: carebus's own Message-ID,
     In-Reply-To, References and "Re: <subject>", and the customer's answer
     to it lands on the same ticket
  b. message.sent (stream "courier", as courier appends it) and
     message.delivered / message.read (stream "ingest", as channel-ingest
     appends a provider's status webhook), in an order where the read comes
     first: the timeline shows read; a refusal shows failed with the
     provider's code and reason; and a rebuild from the log (router.reset(),
     restart) equals the live state

Every wait is bounded (harness.wait_until).
"""

import uuid
from datetime import timedelta, timezone

import psycopg2
import pytest

import carebus_harness as h
from test_router_acceptance import T0, message, post, routed_ticket, router_events, ticket, ts
from test_router_replay import diff, snapshot


def append_event(st, pb2, stream, at, fill, ticket_id=None):
    """An event appended to stream as its producer would (eventlog.append)."""
    env = pb2.Envelope()
    eid = str(uuid.uuid4())
    env.event_id = eid
    fill(env)
    env.type = env.WhichOneof("body").replace("_", ".", 1)
    env.occurred_at.FromDatetime(at.astimezone(timezone.utc).replace(tzinfo=None))
    if ticket_id:
        env.ticket_id = ticket_id
    st.db.query(
        "SELECT seq FROM eventlog.append(%s, ARRAY[%s]::uuid[], ARRAY[%s], ARRAY[NULL]::text[],"
        " ARRAY[NULL]::text[], ARRAY[%s]::timestamptz[], ARRAY[NULL]::uuid[],"
        " ARRAY[%s]::uuid[], ARRAY[%s]::bytea[])",
        (stream, eid, env.type, at, ticket_id, psycopg2.Binary(env.SerializeToString())))
    return eid


def outbound(st, pb2, ticket_id, cause):
    """The message.outbound the router emitted for cause, once it has."""
    def find():
        for t, env in router_events(st, pb2, ticket_id):
            if t == "message.outbound" and env.message_outbound.cause_event_id == cause:
                return env
        return None

    return h.wait_until(f"message.outbound for {cause}", find, h.scaled(15), interval=0.05,
                        on_timeout=lambda: "\n" + st.log_summary())


def caught_up(st):
    for stream in ("ingest", "courier"):
        if st.last_seq(stream):
            st.wait_caught_up(stream=stream, timeout=h.scaled(60))


def delivery(st, ticket_id, event_id):
    for m in ticket(st, ticket_id)["messages"]:
        if m["event_id"] == event_id:
            return m["delivery"]
    raise AssertionError(f"no message {event_id} on ticket {ticket_id}")


def test_replies_become_outbound_messages_and_the_timeline_shows_their_delivery(stack, pb2):
    st = stack("ingest", "router")
    e1 = message(st, "zalo", "Máy giặt nhà tôi bị lỗi", T0, name="Lan", phone="0901234567",
                 handle="zalo-uid-1")
    t1 = routed_ticket(st, e1)
    seq1 = st.db.scalar("SELECT seq FROM eventlog.events WHERE event_id = %s", (e1,))
    assert ticket(st, t1)["number"] == seq1

    # a. A reply with a file: one message.outbound, to the Zalo id.
    files = [{"url": "https://files.example.vn/huong-dan.pdf", "name": "huong-dan.pdf",
              "content_type": "application/pdf", "size": 182044}]
    r1 = post(st, f"/v1/tickets/{t1}/replies",
              {"agent_id": "agent-7", "text": "Chào chị Lan, em gửi hướng dẫn.",
               "attachments": files, "occurred_at": ts(T0 + timedelta(minutes=1))})["event_id"]
    out = outbound(st, pb2, t1, r1).message_outbound
    assert out.kind == pb2.OUTBOUND_KIND_REPLY
    assert out.channel == pb2.CHANNEL_ZALO
    assert out.recipient.handle == "zalo-uid-1" and out.recipient.name == "Lan"
    assert out.text == "Chào chị Lan, em gửi hướng dẫn." and out.language == "vi"
    assert out.agent_id == "agent-7"
    assert [(a.url, a.name, a.content_type, a.size) for a in out.attachments] == [
        (files[0]["url"], "huong-dan.pdf", "application/pdf", 182044)]
    assert out.last_inbound_at.ToDatetime(tzinfo=timezone.utc) == T0.astimezone(timezone.utc)
    d1 = out.delivery_id
    m = next(x for x in ticket(st, t1)["messages"] if x["event_id"] == r1)
    assert m["outbound_kind"] == "reply" and m["attachments"][0]["url"] == files[0]["url"]
    assert m["delivery"]["status"] == "queued" and m["delivery"]["id"] == d1
    # An internal note sends nothing.
    post(st, f"/v1/tickets/{t1}/replies", {"agent_id": "agent-7", "text": "khách quen",
                                           "internal_note": True})
    caught_up(st)
    assert [t for t, _ in router_events(st, pb2, t1)].count("message.outbound") == 1
    # A file that is not an http(s) URL is refused.
    r = h.http_request(st.api_url + f"/v1/tickets/{t1}/replies", "POST",
                       {"agent_id": "agent-7", "text": "x",
                        "attachments": [{"url": "file:///etc/passwd"}]}, st.auth())
    assert r.status == 400 and r.json()["error"]["field"] == "attachments[0].url", r

    # Email: carebus's own Message-ID, the thread, "Re: <subject>".
    body = {"channel": "email", "external_id": "<m1@mail.example.vn>",
            "customer": {"name": "Minh", "email": "Minh@Example.VN"}, "subject": "Hóa đơn sai",
            "text": "Hóa đơn tháng này bị sai", "occurred_at": ts(T0 + timedelta(minutes=2))}
    e2 = post(st, "/v1/messages", body)["event_id"]
    t2 = routed_ticket(st, e2)
    r2 = post(st, f"/v1/tickets/{t2}/replies",
              {"agent_id": "agent-7", "text": "Em đã kiểm tra",
               "occurred_at": ts(T0 + timedelta(minutes=3))})["event_id"]
    mail = outbound(st, pb2, t2, r2).message_outbound
    assert mail.channel == pb2.CHANNEL_EMAIL
    assert mail.recipient.email == "minh@example.vn"
    assert mail.message_id == f"<{r2}@carebus.local>"
    assert mail.in_reply_to == "<m1@mail.example.vn>"
    assert list(mail.references) == ["<m1@mail.example.vn>"]
    assert mail.subject == "Re: Hóa đơn sai"
    answer = dict(body, external_id="<m2@mail.example.vn>", text="Cảm ơn",
                  in_reply_to=mail.message_id, references=["<m1@mail.example.vn>", mail.message_id],
                  occurred_at=ts(T0 + timedelta(minutes=4)))
    answer["customer"] = {"email": "minh@example.vn"}
    assert routed_ticket(st, post(st, "/v1/messages", answer)["event_id"]) == t2

    # b. Statuses from two streams, the read first: the timeline ends read.
    sent_at = T0 + timedelta(minutes=1, seconds=5)

    def read(env):
        env.message_read.channel = pb2.CHANNEL_ZALO
        env.message_read.provider_message_ids.append("zmid-1")
        env.message_read.recipient = "zalo-uid-1"

    def sent(env):
        env.message_sent.delivery_id = d1
        env.message_sent.cause_event_id = r1
        env.message_sent.kind = pb2.OUTBOUND_KIND_REPLY
        env.message_sent.channel = pb2.CHANNEL_ZALO
        env.message_sent.provider_message_id = "zmid-1"
        env.message_sent.attempts = 1

    def delivered(env):
        env.message_delivered.channel = pb2.CHANNEL_ZALO
        env.message_delivered.provider_message_ids.append("zmid-1")

    append_event(st, pb2, "ingest", T0 + timedelta(minutes=1, seconds=30), read)
    caught_up(st)
    assert delivery(st, t1, r1)["status"] == "queued"
    append_event(st, pb2, "courier", sent_at, sent, ticket_id=t1)
    append_event(st, pb2, "ingest", T0 + timedelta(minutes=1, seconds=20), delivered)
    caught_up(st)
    got = delivery(st, t1, r1)
    assert got["status"] == "read" and got["provider_message_id"] == "zmid-1", got
    assert got["sent_at"] and got["delivered_at"] and got["read_at"] and got["error"] is None

    def refused(env):
        env.message_failed.delivery_id = mail_delivery
        env.message_failed.kind = pb2.OUTBOUND_KIND_REPLY
        env.message_failed.channel = pb2.CHANNEL_EMAIL
        env.message_failed.code = "550"
        env.message_failed.reason = "5.1.1 mailbox unavailable"
        env.message_failed.permanent = True

    mail_delivery = mail.delivery_id
    append_event(st, pb2, "courier", T0 + timedelta(minutes=3, seconds=2), refused, ticket_id=t2)
    caught_up(st)
    got = delivery(st, t2, r2)
    assert got["status"] == "failed", got
    assert got["error"] == {"code": "550", "reason": "5.1.1 mailbox unavailable"}
    assert st.db.scalar("SELECT count(*) FROM router.delivery_pending") == 0
    metrics = st["router"].get("/metrics").body.decode()
    assert 'carebus_router_outbound_total{channel="zalo",kind="reply"} 1' in metrics, metrics

    # A rebuild from the log equals the live state.
    live = snapshot(st)
    st.stop("router")
    st.db.query("SELECT router.reset()")
    st["router"].start()
    caught_up(st)
    replayed = snapshot(st)
    if live != replayed:
        pytest.fail("the rebuild differs from the live state:\n" + diff(live, replayed))
