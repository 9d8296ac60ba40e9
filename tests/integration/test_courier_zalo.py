"""Issue 10, Zalo end to end: real channel-ingest, router and courier, real
PostgreSQL and ZeroMQ, and the strict Zalo OA emulator (tests/emulators/zalo.py)
on loopback.

  a. a Zalo contact arrives (signed webhook), an agent answers with
     POST /v1/tickets/{id}/replies: the emulator receives exactly one
     customer-service message, exactly as Zalo documents it (path, method,
     access_token header, JSON body); the timeline shows it sent, then
     delivered and read from Zalo's own receipts
  b. the access token expires (-220): courier refreshes it (secret_key,
     single-use refresh token), stores the rotated pair in
     courier.credentials before using it, and sends; the next expiry is
     refreshed with the rotated refresh token
  c. kill -9 of courier in the middle of a rotation (its refresh in flight;
     then, in another run, with the rotation stored but not yet used): the
     restarted courier uses what PostgreSQL holds and delivers once
  d. a customer silent for more than 7 days: Zalo's -230 fails the reply at
     once, with Zalo's code and words on the timeline, and no retry
Every wait is bounded.
"""

import json
import sys
import time
from pathlib import Path

import carebus_harness as h
from courier_support import attempts, courier_env, delivery, message_events
from test_router_acceptance import post, routed_ticket, ticket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators import ZaloEmulator  # noqa: E402
from emulators.zalo import CS_PATH, OAUTH_PATH  # noqa: E402

USER = "2512523625412515"
REPLY = "Chào chị Lan, em đã kiểm tra: kỹ thuật viên sẽ đến lúc 9 giờ sáng mai ạ."


def zalo_env(z):
    return {"CAREBUS_ZALO_APP_ID": z.app_id, "CAREBUS_ZALO_OA_SECRET": z.oa_secret_key,
            "CAREBUS_ZALO_SECRET_KEY": z.secret_key,
            "CAREBUS_ZALO_ACCESS_TOKEN": z.config["access_token"],
            "CAREBUS_ZALO_REFRESH_TOKEN": z.config["refresh_token"],
            "CAREBUS_ZALO_API_BASE": z.url, "CAREBUS_ZALO_OAUTH_BASE": z.url}


def start_courier(st, z, **extra):
    st["courier"].start(extra_env=courier_env(**zalo_env(z), **extra))


def zalo_stack(stack, z, more=None, **courier_extra):
    """ingest (Zalo's webhook), router and courier (Zalo's sender) on one
    stack, and more ({name: extra env}, e.g. survey); the emulator's
    webhooks go to this ingest."""
    st = stack()
    st["ingest"].start(wait_ready=False, extra_env=zalo_env(z))
    st["router"].start(wait_ready=False)
    st["courier"].start(wait_ready=False, extra_env=courier_env(**zalo_env(z), **courier_extra))
    for name, env in (more or {}).items():
        st[name].start(wait_ready=False, extra_env=env(st) if callable(env) else env)
    for name in ("ingest", "router", "courier", *(more or {})):
        st[name].wait_ready()
    z.set_webhook_url(st.api_url + "/v1/webhooks/zalo")
    return st


def contact(st, z, text="Máy giặt nhà tôi bị lỗi, em kiểm tra giúp"):
    """The customer writes to the OA: the ticket it lands on."""
    hook = z.send_inbound(USER, text)
    assert hook.status == 200, (hook.status, hook.response, hook.error)
    return routed_ticket(st, hook.response_json["events"][0]["event_id"])


def reply(st, t, text=REPLY):
    """An agent's answer through the API: its event id."""
    return post(st, f"/v1/tickets/{t}/replies", {"agent_id": "agent-7", "text": text})["event_id"]


def message_of(st, t, reply_id):
    """The reply on the ticket's timeline; None until the router has it."""
    for m in ticket(st, t)["messages"]:
        if m["event_id"] == reply_id:
            return m
    return None


def wait_delivery(st, t, reply_id, status, timeout=20):
    def check():
        d = (message_of(st, t, reply_id) or {}).get("delivery") or {}
        return d if d.get("status") == status else None

    return h.wait_until(f"reply {reply_id} {status}", check, h.scaled(timeout),
                        on_timeout=lambda: "\n" + st.log_summary())


def stored(st):
    """courier.credentials of zalo: {name: value}."""
    return dict(st.db.query("SELECT name, value FROM courier.credentials WHERE channel = 'zalo'"))


def cs_requests(z):
    return z.requests(path=CS_PATH)


def assert_documented(req, token):
    """One customer-service message exactly as Zalo documents it."""
    assert req.method == "POST" and req.path == CS_PATH and not req.query, req.to_json()
    assert req.header("access_token") == token
    assert req.header("Authorization") is None
    assert req.header("Content-Type") == "application/json"
    assert req.json == {"recipient": {"user_id": USER}, "message": {"text": REPLY}}, req.json
    assert req.body == json.dumps(req.json, ensure_ascii=False,
                                  separators=(",", ":")).encode(), req.body


def test_a_reply_reaches_zalo_exactly_as_documented_and_its_receipts_show(stack, pb2):
    with ZaloEmulator() as z:
        st = zalo_stack(stack, z)
        t = contact(st, z)
        r = reply(st, t)
        got = z.wait_requests(1, timeout=h.scaled(20), path=CS_PATH)
        assert_documented(got[0], z.config["access_token"])
        assert got[0].response_json["error"] == 0
        mid = got[0].response_json["data"]["message_id"]

        d = wait_delivery(st, t, r, "sent")
        assert d["provider_message_id"] == mid and d["error"] is None, d
        sent = message_events(st, pb2, "message.sent")[d["id"]]
        assert sent.provider_message_id == mid and sent.attempts == 1
        assert sent.channel == pb2.CHANNEL_ZALO
        assert delivery(st, d["id"])[:2] == ("sent", 1)
        assert attempts(st, d["id"]) == [(1, "sent", 200, None)]
        # Exactly one request: nothing sent twice, no refresh needed.
        time.sleep(0.5)
        assert len(cs_requests(z)) == 1 and not z.requests(path=OAUTH_PATH)
        assert [m["text"] for m in z.messages(USER)] == [REPLY]

        # Zalo's receipts (signed webhooks) move it on.
        assert z.send_status(mid, "received").status == 200
        wait_delivery(st, t, r, "delivered")
        assert z.send_status([mid], "seen").status == 200
        d = wait_delivery(st, t, r, "read")
        assert d["sent_at"] and d["delivered_at"] and d["read_at"], d
        # Nothing logged a credential.
        for name in ("courier", "ingest", "router"):
            logs = st[name].all_logs()
            for secret in (z.config["access_token"], z.config["refresh_token"], z.secret_key):
                assert secret not in logs, (name, secret)


def test_an_expired_token_is_refreshed_and_the_rotation_kept(stack, pb2):
    with ZaloEmulator() as z:
        st = zalo_stack(stack, z)
        t = contact(st, z)
        z.expire_access_tokens()
        r = reply(st, t)
        d = wait_delivery(st, t, r, "sent")
        assert z.refreshes == 1
        first, second = cs_requests(z)
        assert first.response_json["error"] == -220
        assert second.response_json["error"] == 0
        # The refresh: form body, secret_key header, the seeded refresh token.
        (oauth,) = z.requests(path=OAUTH_PATH)
        assert oauth.method == "POST"
        assert oauth.header("Content-Type") == "application/x-www-form-urlencoded"
        assert oauth.header("secret_key") == z.secret_key
        assert oauth.data == {"refresh_token": z.config["refresh_token"], "app_id": z.app_id,
                              "grant_type": "refresh_token"}
        # Stored before used: the pair in PostgreSQL is Zalo's new one, and
        # the resend carried its access token.
        rotated = oauth.response_json
        creds = stored(st)
        assert creds["access_token"] == rotated["access_token"] == second.header("access_token")
        assert creds["refresh_token"] == rotated["refresh_token"]
        assert z.tokens()["refresh"] == [creds["refresh_token"]]
        assert st.db.scalar("SELECT expires_at > now() + interval '24 hours' FROM "
                            "courier.credentials WHERE channel = 'zalo' "
                            "AND name = 'access_token'")
        assert [a[1] for a in attempts(st, d["id"])] == ["reauth", "sent"]
        assert message_events(st, pb2, "message.sent")[d["id"]].attempts == 2

        # The next expiry: refreshed with the rotated refresh token.
        z.expire_access_tokens()
        r2 = reply(st, t, "Dạ em gửi thêm thông tin ạ.")
        wait_delivery(st, t, r2, "sent")
        assert z.refreshes == 2
        assert z.requests(path=OAUTH_PATH)[1].data["refresh_token"] == rotated["refresh_token"]
        assert stored(st)["refresh_token"] == z.tokens()["refresh"][0]
        assert len(z.messages(USER)) == 2


def test_kill_9_while_the_refresh_is_in_flight(stack, pb2):
    """The refresh never reached Zalo's processing (the connection dies with
    courier): the stored pair is still the valid one after the restart."""
    with ZaloEmulator() as z:
        st = zalo_stack(stack, z)
        t = contact(st, z)
        z.expire_access_tokens()
        z.delay_next(1, seconds=h.scaled(8), process=False, path=OAUTH_PATH)
        r = reply(st, t)
        z.wait_requests(1, timeout=h.scaled(20), answered=False, path=OAUTH_PATH)
        # The refused attempt is recorded (not merely lost with courier).
        h.wait_until("the refusal recorded", lambda: st.db.scalar(
            "SELECT last_error_code = 'reauth' FROM courier.deliveries WHERE channel = 'zalo'"),
            h.scaled(10))
        st.kill9("courier")
        assert z.refreshes == 0
        start_courier(st, z)
        d = wait_delivery(st, t, r, "sent", timeout=40)
        assert z.refreshes == 1
        assert stored(st)["refresh_token"] == z.tokens()["refresh"][0]
        assert [m["text"] for m in z.messages(USER)] == [REPLY]
        assert message_events(st, pb2, "message.sent")[d["id"]].provider_message_id == \
            z.messages(USER)[0]["message_id"]


def test_kill_9_between_the_stored_rotation_and_its_first_use(stack, pb2):
    """Zalo rotated (its old refresh token is dead) and courier committed the
    pair; the resend with the new token is in flight when courier dies: the
    restarted courier sends with the stored pair, and refreshes with the
    stored rotated refresh token later."""
    with ZaloEmulator() as z:
        st = zalo_stack(stack, z)
        t = contact(st, z)
        z.expire_access_tokens()
        r = reply(st, t)
        # The -220 comes back at once; the resend waits a second (courier's
        # pause after a refresh), time enough to hold it.
        z.wait_requests(1, timeout=h.scaled(20), path=CS_PATH)
        z.delay_next(1, seconds=h.scaled(8), process=False, path=CS_PATH)
        z.wait_requests(2, timeout=h.scaled(20), answered=False, path=CS_PATH)
        rotated = z.requests(path=OAUTH_PATH)[0].response_json
        assert stored(st) == {"access_token": rotated["access_token"],
                              "refresh_token": rotated["refresh_token"]}
        st.kill9("courier")
        start_courier(st, z)
        d = wait_delivery(st, t, r, "sent", timeout=40)
        assert z.refreshes == 1, "the stored rotation was used, not refreshed again"
        assert cs_requests(z)[-1].header("access_token") == rotated["access_token"]
        assert [m["text"] for m in z.messages(USER)] == [REPLY]
        assert message_events(st, pb2, "message.sent")[d["id"]].attempts >= 2
        # The rotated refresh token works after the restart.
        z.expire_access_tokens()
        r2 = reply(st, t, "Dạ em gửi thêm thông tin ạ.")
        wait_delivery(st, t, r2, "sent")
        assert z.refreshes == 2
        assert z.requests(path=OAUTH_PATH)[-1].data["refresh_token"] == rotated["refresh_token"]


def test_minus_230_fails_at_once_with_zalos_words_on_the_timeline(stack, pb2):
    with ZaloEmulator() as z:
        st = zalo_stack(stack, z)
        t = contact(st, z)
        # Eight days pass without a word from the customer.
        z.seed_user(USER, interacted_ago=8 * 86400)
        r = reply(st, t)
        d = wait_delivery(st, t, r, "failed")
        assert d["error"] == {"code": "-230", "reason": "User has not interacted with the OA in "
                                                       "the past 7 days"}, d
        f = message_events(st, pb2, "message.failed")[d["id"]]
        assert (f.code, f.permanent, f.attempts) == ("-230", True, 1)
        assert f.channel == pb2.CHANNEL_ZALO
        time.sleep(1.0)  # a retry would have come by now
        assert len(cs_requests(z)) == 1 and not z.messages(USER)
        assert attempts(st, d["id"]) == [(1, "failed", 200, "-230")]
        assert not message_events(st, pb2, "message.sent")
