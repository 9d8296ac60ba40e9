"""API keys over HTTP (issue 11: admin covers keys), end to end on real services.

  a. an admin key makes a Zalo-only ingest+read key with POST /v1/keys: the
     secret comes once (201, no-store), works on the next request, posts
     and reads Zalo only; GET /v1/keys and /v1/keys/{id} show it without
     secret or hash, as carebusctl keys list does; DELETE revokes it (401
     within a bounded wait), again 204, an unknown id 404
  b. a key without admin: 403 naming admin on every keys route, counted
  c. a key manages only keys within its own grant: a Zalo-only admin key
     mints no every-channel key nor one for another channel (403, field
     channels), an admin-only key no read key (403 naming read); it lists
     and reads only keys within its grant, revokes no other, may revoke
     itself
  d. bad bodies: 400 naming the field, nothing stored

Every wait is bounded (h.wait_until).
"""

import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import carebus_harness as h
from test_access import ZALO_MSG, forbidden, post
from test_ingest_api import call, ctl, metrics, new_key, wait_routed

KEY_FIELDS = {"id", "name", "scopes", "channels", "agent_id", "created_at", "expires_at",
              "revoked_at"}


def make(st, body, key=None):
    r = call(st, "POST", "/v1/keys", body, key=key)
    assert r.status == 201, r
    return r.json()


def keys_count(st):
    return st.db.scalar("SELECT count(*) FROM ingest.api_keys")


def refused_on_revoke(st, key):
    h.wait_until("the revoked key to be refused", lambda: call(
        st, "GET", f"/v1/events/{uuid.uuid4()}", key=key).status == 401, h.scaled(10),
        interval=0.1)


# --- a. a Zalo bridge's key, made, shown, revoked ----------------------------------------


def test_an_admin_key_makes_lists_and_revokes_a_zalo_key(stack):
    st = stack("ingest", "router")
    admin = new_key(st, "provisioning", scopes="admin,ingest,read")["key"]
    r = call(st, "POST", "/v1/keys", {"name": "Zalo bridge", "scopes": ["read", "ingest"],
                                      "channels": ["zalo"]}, key=admin)
    assert r.status == 201, r
    assert r.header("cache-control") == "no-store", r
    made = r.json()
    secret = made["key"]
    assert re.fullmatch(r"cb_[A-Za-z0-9_-]{43}", secret), made
    assert set(made) == KEY_FIELDS | {"key"}, made
    assert made["name"] == "Zalo bridge" and made["scopes"] == ["ingest", "read"]
    assert made["channels"] == ["zalo"] and made["agent_id"] is None
    assert made["expires_at"] is None and made["revoked_at"] is None and made["created_at"]
    # Stored hashed only.
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert st.db.scalar("SELECT encode(key_hash, 'hex') FROM ingest.api_keys WHERE id = %s",
                        (made["id"],)) == digest
    assert secret not in json.dumps(st.db.query("SELECT * FROM ingest.api_keys"), default=str)

    # It works on the next request (answered once the key table had it):
    # posts and reads Zalo, nothing else.
    mine = post(st, ZALO_MSG, key=secret)
    zticket = wait_routed(st, mine)["ticket_id"]
    assert call(st, "GET", f"/v1/tickets/{zticket}", key=secret).status == 200
    r = call(st, "POST", "/v1/messages", dict(ZALO_MSG, channel="facebook", external_id="k-f"),
             key=secret)
    forbidden(r, None, "channel")
    other = post(st, {"channel": "email", "external_id": "k-e-1", "text": "Hello",
                      "customer": {"name": "Minh", "email": "minh@example.vn"}})
    eticket = wait_routed(st, other)["ticket_id"]
    forbidden(call(st, "GET", f"/v1/tickets/{eticket}", key=secret), None)
    # It may not manage keys.
    forbidden(call(st, "GET", "/v1/keys", key=secret), "admin")

    # Shown without its secret or hash, by the API and by carebusctl.
    r = call(st, "GET", "/v1/keys", key=admin)
    assert r.status == 200, r
    listed = {k["id"]: k for k in r.json()["keys"]}
    assert secret not in r.body.decode() and digest not in r.body.decode()
    shown = dict(made)
    del shown["key"]
    assert listed[made["id"]] == shown
    r = call(st, "GET", f"/v1/keys/{made['id']}", key=admin)
    assert r.status == 200 and r.json() == shown, r
    assert secret not in r.body.decode()
    by_ctl = {k["id"]: k for k in json.loads(ctl(st, "keys", "list", "--json").stdout)}
    assert by_ctl[made["id"]] == shown
    assert call(st, "GET", f"/v1/keys/{uuid.uuid4()}", key=admin).status == 404
    assert call(st, "GET", "/v1/keys/not-a-key", key=admin).status == 404

    # Revoked: refused (within a bounded wait), shown revoked; again 204.
    r = call(st, "DELETE", f"/v1/keys/{made['id']}", key=admin)
    assert r.status == 204, r
    refused_on_revoke(st, secret)
    r = call(st, "POST", "/v1/messages", dict(ZALO_MSG, external_id="k-after"), key=secret)
    assert r.status == 401, r
    assert call(st, "GET", f"/v1/keys/{made['id']}", key=admin).json()["revoked_at"]
    assert call(st, "DELETE", f"/v1/keys/{made['id']}", key=admin).status == 204
    assert call(st, "DELETE", f"/v1/keys/{uuid.uuid4()}", key=admin).status == 404
    assert call(st, "DELETE", "/v1/keys/not-a-key", key=admin).status == 404
    # The admin key and the bootstrap key still work.
    assert call(st, "GET", "/v1/keys", key=admin).status == 200
    assert call(st, "GET", "/v1/keys").status == 200


def test_an_agent_key_and_an_expiring_key_over_http(stack):
    st = stack("ingest")
    later = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
    made = make(st, {"name": "lan's desk", "scopes": ["agent", "read"], "agent_id": "lan",
                     "expires_at": later.isoformat()})
    assert made["scopes"] == ["read", "agent"] and made["agent_id"] == "lan"
    assert made["expires_at"] == later.strftime("%Y-%m-%dT%H:%M:%SZ"), made
    assert call(st, "GET", f"/v1/events/{uuid.uuid4()}", key=made["key"]).status == 404
    # Defaults: ingest and read, every channel.
    plain = make(st, {"name": "crm", "channels": None})
    assert plain["scopes"] == ["ingest", "read"] and plain["channels"] is None


# --- b. the admin scope ------------------------------------------------------------------


def test_a_key_without_admin_is_refused_every_keys_route(stack):
    st = stack("ingest")
    target = make(st, {"name": "target"})
    reader = new_key(st, "reader", scopes="read,ingest,agent,supervisor", agent="lan")["key"]
    before, stored = metrics(st), keys_count(st)
    routes = [("POST", "/v1/keys", {"name": "x"}), ("GET", "/v1/keys", None),
              ("GET", f"/v1/keys/{target['id']}", None),
              ("DELETE", f"/v1/keys/{target['id']}", None)]
    for method, path, body in routes:
        forbidden(call(st, method, path, body, key=reader), "admin")
    after = metrics(st)
    series = 'carebus_ingest_forbidden_total{scope="admin"}'
    assert after.get(series, 0) - before.get(series, 0) == len(routes)
    assert keys_count(st) == stored
    assert call(st, "GET", f"/v1/events/{uuid.uuid4()}", key=target["key"]).status == 404


# --- c. within its own grant -------------------------------------------------------------


def test_a_key_manages_only_keys_within_its_grant(stack):
    st = stack("ingest")
    wide = make(st, {"name": "every channel", "scopes": ["read"]})
    zadmin = make(st, {"name": "zalo admin", "scopes": ["admin", "ingest", "read"],
                       "channels": ["zalo"]})
    stored = keys_count(st)
    # No key for every channel, nor for another channel too; no scope it lacks.
    r = call(st, "POST", "/v1/keys", {"name": "all", "scopes": ["read"]}, key=zadmin["key"])
    forbidden(r, None, "channels")
    r = call(st, "POST", "/v1/keys", {"name": "z+e", "channels": ["zalo", "email"]},
             key=zadmin["key"])
    forbidden(r, None, "channels")
    r = call(st, "POST", "/v1/keys", {"name": "sup", "channels": ["zalo"],
                                      "scopes": ["read", "supervisor"]}, key=zadmin["key"])
    forbidden(r, "supervisor", "scopes")
    assert keys_count(st) == stored
    # Within: fine.
    zread = make(st, {"name": "zalo reader", "scopes": ["read"], "channels": ["zalo"]},
                 key=zadmin["key"])
    assert zread["channels"] == ["zalo"]
    # It sees only keys within its grant, and reads or revokes no other.
    r = call(st, "GET", "/v1/keys", key=zadmin["key"])
    assert r.status == 200, r
    assert {k["id"] for k in r.json()["keys"]} == {zadmin["id"], zread["id"]}
    # (beyond its grant a key is as unknown as a missing one: 404)
    assert call(st, "GET", f"/v1/keys/{wide['id']}", key=zadmin["key"]).status == 404
    assert call(st, "DELETE", f"/v1/keys/{wide['id']}", key=zadmin["key"]).status == 404
    assert call(st, "GET", f"/v1/events/{uuid.uuid4()}", key=wide["key"]).status == 404
    assert call(st, "GET", f"/v1/keys/{zread['id']}", key=zadmin["key"]).status == 200

    # An admin-only key gives no scope but admin.
    admin_only = make(st, {"name": "admin only", "scopes": ["admin"]})
    r = call(st, "POST", "/v1/keys", {"name": "r", "scopes": ["read"]}, key=admin_only["key"])
    forbidden(r, "read", "scopes")
    make(st, {"name": "another admin", "scopes": ["admin"]}, key=admin_only["key"])

    # A key that expires makes none that outlives it (403, field
    # expires_at), and a key bound to an agent only keys bound to it.
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    temp = make(st, {"name": "temp admin", "scopes": ["admin", "read"],
                     "expires_at": soon.isoformat()})
    forbidden(call(st, "POST", "/v1/keys", {"name": "forever", "scopes": ["read"]},
                   key=temp["key"]), None, "expires_at")
    forbidden(call(st, "POST", "/v1/keys", {"name": "longer", "scopes": ["read"],
                                            "expires_at": (soon + timedelta(days=1)).isoformat()},
                   key=temp["key"]), None, "expires_at")
    make(st, {"name": "shorter", "scopes": ["read"],
              "expires_at": (soon - timedelta(minutes=30)).isoformat()}, key=temp["key"])
    lan_admin = make(st, {"name": "lan admin", "scopes": ["admin", "agent", "read"],
                          "agent_id": "lan"})
    forbidden(call(st, "POST", "/v1/keys", {"name": "unbound", "scopes": ["read"]},
                   key=lan_admin["key"]), None, "agent_id")
    make(st, {"name": "lan again", "scopes": ["agent", "read"], "agent_id": "lan"},
         key=lan_admin["key"])

    # A key may revoke itself: refused from the answer on.
    r = call(st, "DELETE", f"/v1/keys/{zadmin['id']}", key=zadmin["key"])
    assert r.status == 204, r
    refused_on_revoke(st, zadmin["key"])
    assert call(st, "GET", f"/v1/events/{uuid.uuid4()}", key=zread["key"]).status == 404


# --- d. bad bodies -----------------------------------------------------------------------


def test_bad_bodies_are_refused_naming_the_field(stack):
    st = stack("ingest")
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    bad = [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x", "scopes": ["read", "teleport"]}, "scopes[1]"),
        ({"name": "x", "scopes": ["Read"]}, "scopes[0]"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": "read"}, "scopes"),
        ({"name": "x", "channels": ["zalo", "pigeon"]}, "channels[1]"),
        ({"name": "x", "channels": []}, "channels"),
        ({"name": "x", "channels": [7]}, "channels[0]"),
        ({"name": "x", "scopes": ["read", "agent"]}, "agent_id"),
        ({"name": "x", "scopes": ["read"], "agent_id": "lan"}, "agent_id"),
        ({"name": "x", "agent_id": "lan"}, "agent_id"),
        ({"name": "x", "scopes": ["agent"], "agent_id": ""}, "agent_id"),
        ({"name": "x", "scopes": ["agent"], "agent_id": "l" * 129}, "agent_id"),
        ({"name": "x", "expires_at": past}, "expires_at"),
        ({"name": "x", "expires_at": "tomorrow"}, "expires_at"),
        # A misspelt member is refused, never taken for its default.
        ({"name": "x", "expires": "2099-01-01T00:00:00Z"}, "expires"),
        ({"name": "x", "scope": ["read"]}, "scope"),
    ]
    stored = keys_count(st)
    for body, field in bad:
        r = call(st, "POST", "/v1/keys", body)
        assert r.status == 400, (body, r)
        assert r.json()["error"]["field"] == field, (body, r.json())
    r = call(st, "POST", "/v1/keys", "[1, 2]", headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    r = call(st, "POST", "/v1/keys", '{"name": "x"}', headers={"Content-Type": "text/plain"})
    assert r.status == 415, r
    assert keys_count(st) == stored
    # carebusctl keeps the same rules.
    for args in (["--scopes", "read,agent"], ["--agent", "lan"], ["--channels", "pigeon"],
                 ["--scopes", ""]):
        p = ctl(st, "keys", "create", "--name", "x", *args, check=False)
        assert p.returncode == 2, (args, p.stderr)
    assert b"(--agent)" in ctl(st, "keys", "create", "--name", "x", "--agent", "lan",
                               check=False).stderr
    assert keys_count(st) == stored
