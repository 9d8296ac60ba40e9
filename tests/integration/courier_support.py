"""Shared helpers of the courier tests (test_courier_*.py); no tests here.

Events reach courier the way their producers write them: appended to their
stream's log with eventlog.append (payload from the standard protoc's
Python code), where courier's consumer finds them (its once-a-second look
at the log's tail, or at once when it is catching up). A subscription is a
subscription.saved on the ingest stream, as the subscriptions API appends
it; a reply to send is a message.outbound on the router stream, as the
router emits it. Deliveries are read back from courier's tables and from
the integrator's side (tests/emulators' WebhookReceiver, which verifies
Standard Webhooks signatures from the specification).
"""

import base64
import os
import sys
import uuid
from pathlib import Path

import psycopg2

import carebus_harness as h

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators import WebhookReceiver, verify_standard_webhook  # noqa: E402,F401


def new_secret():
    """A subscription secret as the API makes it: whsec_ + base64 of 32 bytes."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def append(st, pb2, stream, field, ticket_id=None, customer_id=None, event_id=None, **body):
    """Appends one event (body field `field`, e.g. "message_outbound") to
    stream; returns its event id. Nested messages are given as dicts."""
    env = pb2.Envelope()
    env.event_id = event_id or str(uuid.uuid4())
    env.type = field.replace("_", ".", 1)
    env.stream = stream
    env.occurred_at.GetCurrentTime()
    if ticket_id:
        env.ticket_id = ticket_id
    if customer_id:
        env.customer_id = customer_id
    sub = getattr(env, field)
    sub.SetInParent()
    _fill(sub, body)
    st.db.query(
        "SELECT seq FROM eventlog.append(%s, %s::uuid[], %s::text[], %s::text[], "
        "%s::text[], ARRAY[now()], %s::uuid[], %s::uuid[], %s::bytea[])",
        (stream, [env.event_id], [env.type], [None], [None], [customer_id], [ticket_id],
         [psycopg2.Binary(env.SerializeToString())]))
    return env.event_id


def _fill(msg, values):
    for k, v in values.items():
        f = getattr(msg, k)
        if isinstance(v, dict):
            f.SetInParent()
            _fill(f, v)
        elif isinstance(v, (list, tuple)):
            del f[:]
            f.extend(v)
        else:
            setattr(msg, k, v)


def save_subscription(st, pb2, url, types, secret, sub_id=None, active=True, channels=(),
                      mask=()):
    """subscription.saved on the ingest stream; returns the subscription id."""
    sub_id = sub_id or str(uuid.uuid4())
    append(st, pb2, "ingest", "subscription_saved", subscription_id=sub_id, url=url,
           event_types=list(types), secret=secret, active=active, channels=list(channels),
           update_mask=list(mask), actor="test")
    return sub_id


def delete_subscription(st, pb2, sub_id):
    append(st, pb2, "ingest", "subscription_deleted", subscription_id=sub_id, actor="test")


def wait_subscription(st, sub_id, timeout=None):
    """Until courier has the subscription's row (it applied the event)."""
    return h.wait_until(f"subscription {sub_id} in courier.subscriptions",
                        lambda: st.db.scalar("SELECT status FROM courier.subscriptions "
                                             "WHERE id = %s", (sub_id,)),
                        timeout or h.scaled(15), on_timeout=lambda: st["courier"].log_tail())


def outbound(st, pb2, channel, text="Chào anh, em đã kiểm tra đơn hàng.", ticket_id=None,
             customer_id=None, delivery_id=None, kind=None, handle="uid-1", cause=None,
             recipient=None, **fields):
    """message.outbound on the router stream, as the router emits a reply
    (recipient: the CustomerRef, default Lan at handle; fields: more of its
    fields, e.g. subject); returns its delivery id."""
    delivery_id = delivery_id or str(uuid.uuid4())
    append(st, pb2, "router", "message_outbound", ticket_id=ticket_id or str(uuid.uuid4()),
           customer_id=customer_id or str(uuid.uuid4()), delivery_id=delivery_id,
           cause_event_id=cause or str(uuid.uuid4()),
           kind=kind if kind is not None else pb2.OUTBOUND_KIND_REPLY,
           channel=getattr(pb2, "CHANNEL_" + channel.upper()),
           recipient=recipient or {"name": "Lan", "handle": handle}, text=text, language="vi",
           **fields)
    return delivery_id


def courier_env(**extra):
    """Courier settings for tests: short attempts and leases, quick retries."""
    env = {
        "CAREBUS_COURIER_TIMEOUT_S": "2",
        "CAREBUS_COURIER_LEASE_S": "3",
        "CAREBUS_COURIER_BACKOFF_MS": "300",
        "CAREBUS_COURIER_BACKOFF_MAX_S": "2",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_courier(st, **extra):
    st["courier"].start(extra_env=courier_env(**extra))
    return st


def restart_courier(st, **extra):
    st["courier"].start(extra_env=courier_env(**extra))


def courier_events(st, type_):
    """courier's events of a type, decoded: (event id, envelope)."""
    return st.db.query("SELECT event_id::text, payload FROM eventlog.events "
                       "WHERE stream = 'courier' AND type = %s ORDER BY seq", (type_,))


def decoded(pb2, payload):
    env = pb2.Envelope()
    env.ParseFromString(bytes(payload))
    return env


def message_events(st, pb2, type_):
    """{delivery_id: body} of message.sent or message.failed."""
    field = type_.replace(".", "_")
    out = {}
    for _, payload in courier_events(st, type_):
        body = getattr(decoded(pb2, payload), field)
        out[body.delivery_id] = body
    return out


def delivery(st, delivery_id):
    rows = st.db.query("SELECT status, attempts, last_error_code, last_error FROM "
                       "courier.deliveries WHERE id = %s", (delivery_id,))
    return rows[0] if rows else None


def attempts(st, delivery_id):
    return st.db.query("SELECT n, outcome, http_status, error_code FROM courier.attempts "
                       "WHERE delivery_id = %s ORDER BY n", (delivery_id,))


def metric(svc, series):
    """The value of a series in svc's /metrics (0 when absent)."""
    text = svc.get("/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0
