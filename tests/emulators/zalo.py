"""zalo — the Zalo Official Account OpenAPI as Zalo documents it:
the customer-service message (POST /v3.0/oa/message/cs, `access_token`
header, errors as HTTP 200 with a negative `error`), uploads, the OAuth v4
refresh (POST /v4/oa/access_token, `secret_key` header) with single-use
rotating refresh tokens and access tokens that expire; and the OA's webhooks
(user_send_text, user_received_message, user_seen_message) signed
X-ZEvent-Signature: mac=sha256(app_id + body + timestamp + OA secret key).

Subtle: openapi.zalo.me and oauth.zaloapp.com are one server here (their
paths differ): point both base URLs at .url. A refresh token works once; the
old access token stays valid until its own expiry unless
revoke_old_access=True. Every openapi answer carries X-RateLimit-Limit and
X-RateLimit-Remain (per-app, per-minute window), even refusals. Zalo does not
document refresh errors: -14014 (bad, used or expired refresh token, wrong
secret_key), -14002 (app_id), -14001 (anything else) are chosen here.
"""

import email.parser
import email.policy
import hashlib
import json
import secrets
import unicodedata

from .http_emulator import EmulatorError, HttpEmulator, RateWindow, Reply, dumps, random_hex

DAY = 86400.0
ACCESS_TTL = 90000.0            # 25 h
REFRESH_TTL = 90 * DAY          # 3 months
INTERACTION_S = 7 * DAY
ATTACHMENT_TTL = 7 * DAY
CS_PATH = "/v3.0/oa/message/cs"
OAUTH_PATH = "/v4/oa/access_token"
UPLOADS = {"/v2.0/oa/upload/image": ("attachment_id", 1 << 20, ("image/jpeg", "image/png")),
           "/v2.0/oa/upload/gif": ("attachment_id", 5 << 20, ("image/gif",)),
           "/v2.0/oa/upload/file": ("token", 5 << 20, (
               "application/pdf", "application/msword",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))}


def zerr(code, message):
    return {"error": code, "message": message}


def oauth_err(code, name, reason):
    return {"error": code, "error_name": name, "error_reason": reason, "ref_doc": "",
            "error_description": reason}


def new_token():
    return secrets.token_urlsafe(96)


class ZaloEmulator(HttpEmulator):
    """One app (app_id, secret_key) and its OA (oa_id, oa_secret_key for the
    webhook signature), with a seeded access/refresh token pair."""

    name = "zalo"
    server_header = "ZaloServer"
    CONTROL = ("seed_token", "seed_refresh_token", "expire_access_tokens", "revoke_token",
               "seed_user", "seed_attachment", "set_rate_limit", "set_revoke_old_access",
               "tokens", "messages", "send_inbound", "send_status")

    def __init__(self, app_id="3608465248940903967", secret_key="zalo-app-secret-for-tests",
                 oa_id="388613280878808645", oa_secret_key="zalo-oa-secret-for-tests",
                 access_token="zalo-access-token-for-tests",
                 refresh_token="zalo-refresh-token-for-tests", webhook_url=None,
                 rate_limit=4000, rate_period=60.0, revoke_old_access=False):
        self.app_id, self.secret_key = app_id, secret_key
        self.oa_id, self.oa_secret_key = oa_id, oa_secret_key
        self.config = dict(access_token=access_token, refresh_token=refresh_token,
                           rate_limit=rate_limit, rate_period=rate_period,
                           revoke_old_access=revoke_old_access)
        super().__init__(webhook_url)

    def _seed(self):
        c = self.config
        self._access, self._refresh = {}, {}
        self._users, self._attachments, self._messages = {}, {}, []
        self._rate = RateWindow(c["rate_limit"], c["rate_period"])
        self.revoke_old_access = c["revoke_old_access"]
        self.refreshes = 0
        if c["access_token"]:
            self.seed_token(c["access_token"])
        if c["refresh_token"]:
            self.seed_refresh_token(c["refresh_token"])

    # --- state -------------------------------------------------------------------------

    def seed_token(self, access_token, expires_in=ACCESS_TTL):
        with self._lock:
            self._access[access_token] = {"expires_at": self.now() + float(expires_in),
                                          "revoked": False}

    def seed_refresh_token(self, refresh_token, expires_in=REFRESH_TTL):
        with self._lock:
            self._refresh[refresh_token] = {"expires_at": self.now() + float(expires_in),
                                            "used": False}

    def expire_access_tokens(self):
        """Every access token issued so far has expired now (-220)."""
        with self._lock:
            for t in self._access.values():
                t["expires_at"] = min(t["expires_at"], self.now() - 1)

    def revoke_token(self, token):
        """An access token removed (-220) or a refresh token made unusable."""
        with self._lock:
            if token in self._access:
                self._access[token]["revoked"] = True
            elif token in self._refresh:
                self._refresh[token]["used"] = True
            else:
                raise EmulatorError(f"zalo: unknown token {token[:12]!r}...")

    def set_revoke_old_access(self, on=True):
        """Whether a refresh also revokes the access tokens issued before it."""
        with self._lock:
            self.revoke_old_access = bool(on)

    def tokens(self):
        """{"access": [usable access tokens], "refresh": [usable refresh tokens]}."""
        with self._lock:
            now = self.now()
            return {"access": [k for k, v in self._access.items()
                               if not v["revoked"] and v["expires_at"] > now],
                    "refresh": [k for k, v in self._refresh.items()
                                if not v["used"] and v["expires_at"] > now]}

    def seed_user(self, user_id, interacted_ago=0.0, banned=False, restricted=False):
        """A user of the OA; interacted_ago: seconds since their last
        interaction (None: never, -232; beyond 7 days: -230)."""
        with self._lock:
            self._users[str(user_id)] = {
                "interacted": None if interacted_ago is None
                else self.now() - float(interacted_ago),
                "banned": bool(banned), "restricted": bool(restricted)}

    def seed_attachment(self, attachment_id, age=0.0):
        """An uploaded attachment_id (image/gif) or file token, age seconds old."""
        with self._lock:
            self._attachments[attachment_id] = self.now() - float(age)

    def set_rate_limit(self, limit, period=60.0):
        """Calls per app per window (default 4000 a minute) before -32."""
        with self._lock:
            self._rate = RateWindow(int(limit), float(period))

    def messages(self, user_id=None):
        """Messages accepted (dicts: message_id, user_id, text, attachment, time)."""
        with self._lock:
            return [m for m in self._messages if user_id is None or m["user_id"] == str(user_id)]

    # --- the OpenAPI ---------------------------------------------------------------------

    def fault_reply(self, status):
        # Zalo's 5xx are outside its documented error space: a gateway's page.
        return Reply(status, f"<html><body><h1>{status}</h1></body></html>",
                     {"Content-Type": "text/html"})

    def handle(self, req):
        if req.path == OAUTH_PATH:
            return self._oauth(req)
        if req.path == "/v2.0/oa/message":
            return self._ok(zerr(-240, "MessageV2 API has been shut down, please switch to "
                                 "MessageV3"))
        if req.path != CS_PATH and req.path not in UPLOADS:
            return Reply(404, "Not Found")
        if req.method != "POST":
            return self._ok(zerr(-201, "method is invalid!"))
        token = req.header("access_token")
        state = self._access.get(token) if token else None
        if state is None:
            return self._ok(zerr(-216, "Access token is invalid"))
        now = self.now()
        if state["revoked"] or now >= state["expires_at"]:
            return self._ok(zerr(-220, "access_token is expired or removed"))
        if not self._rate.take(now):
            return self._ok(zerr(-32, "Your application reached limit call api"))
        if req.path in UPLOADS:
            return self._ok(self._upload(req, *UPLOADS[req.path]))
        return self._ok(self._send(req, now))

    def _ok(self, body):
        now = self.now()
        return Reply(200, body, {"X-RateLimit-Limit": str(self._rate.limit),
                                 "X-RateLimit-Remain": str(self._rate.remaining(now))})

    def _send(self, req, now):
        ctype = req.header("Content-Type", "").split(";")[0].strip().lower()
        body = req.json
        if ctype != "application/json" or not isinstance(body, dict):
            return zerr(-201, "body is invalid!")
        recipient = body.get("recipient")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id.isdigit():
            return zerr(-201, "user_id is invalid!")
        message = body.get("message")
        if not isinstance(message, dict) or not ("text" in message or "attachment" in message):
            return zerr(-201, "message is invalid!")
        if "text" in message:
            text = message["text"]
            if not isinstance(text, str) \
                    or not 1 <= len(unicodedata.normalize("NFC", text)) <= 2000:
                return zerr(-201, "text is invalid!")
        if "attachment" in message:
            refused = self._check_attachment(message["attachment"], now)
            if refused:
                return refused

        user = self._users.get(user_id)
        if user is None:
            return zerr(-201, "user_id is invalid!")
        if user["banned"]:
            return zerr(-227, "User is banned or has been inactive for more than 45 days")
        if user["restricted"]:
            return zerr(-244, "User has restricted this message type from your OA")
        if user["interacted"] is None:
            return zerr(-232, "User has not interacted with the OA, or the last interaction "
                        "has expired")
        if now - user["interacted"] > INTERACTION_S:
            return zerr(-230, "User has not interacted with the OA in the past 7 days")

        message_id = random_hex(20)
        self._messages.append({"message_id": message_id, "user_id": user_id,
                               "text": message.get("text"),
                               "attachment": message.get("attachment"), "time": now})
        return {"data": {"message_id": message_id, "user_id": user_id,
                         "sent_time": str(int(now * 1000))},
                "error": 0, "message": "Success"}

    def _check_attachment(self, att, now):
        if not isinstance(att, dict) or not isinstance(att.get("payload"), dict):
            return zerr(-201, "attachment is invalid!")
        payload = att["payload"]
        if att.get("type") == "file":
            ref = payload.get("token")
            if not isinstance(ref, str) or not ref:
                return zerr(-201, "token is invalid!")
            return self._check_upload(ref, now)
        if att.get("type") != "template" or payload.get("template_type") != "media":
            return zerr(-233, "message type is invalid or not support")
        elements = payload.get("elements")
        if not isinstance(elements, list) or len(elements) != 1 \
                or not isinstance(elements[0], dict):
            return zerr(-201, "elements is invalid!")
        el = elements[0]
        if el.get("media_type") not in ("image", "gif"):
            return zerr(-233, "message type is invalid or not support")
        if ("url" in el) == ("attachment_id" in el):
            return zerr(-201, "elements is invalid!")
        if el.get("media_type") == "gif" and not (isinstance(el.get("width"), int)
                                                   and isinstance(el.get("height"), int)):
            return zerr(-201, "width is invalid!")
        if "url" in el:
            url = el["url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return zerr(-201, "url is invalid!")
            return None
        return self._check_upload(el["attachment_id"], now)

    def _check_upload(self, ref, now):
        at = self._attachments.get(ref)
        if at is None:
            return zerr(-201, "attachment_id is invalid!")
        if now - at > ATTACHMENT_TTL:
            return zerr(-100, "attachment_id was expired")
        return None

    def _upload(self, req, key, max_size, types):
        ctype = req.header("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            return zerr(-201, "file is invalid!")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        for part in msg.iter_parts() if msg.is_multipart() else []:
            if part.get_param("name", header="content-disposition") == "file":
                data = part.get_payload(decode=True) or b""
                if part.get_content_type() not in types or not 0 < len(data) <= max_size:
                    return zerr(-201, "file is invalid!")
                ref = secrets.token_urlsafe(24)
                self._attachments[ref] = self.now()
                return {"data": {key: ref}, "error": 0, "message": "Success"}
        return zerr(-201, "file is invalid!")

    def _oauth(self, req):
        if req.method != "POST":
            return Reply(200, oauth_err(-14001, "Invalid request", "method must be POST"))
        form = {k: v[-1] for k, v in (req.form or {}).items()}
        if form.get("app_id") != self.app_id:
            return Reply(200, oauth_err(-14002, "Invalid appId", "app_id is invalid"))
        if req.header("secret_key") != self.secret_key:
            return Reply(200, oauth_err(-14014, "Invalid refresh_token",
                                        "Refresh token is invalid or expired"))
        if form.get("grant_type") != "refresh_token":
            return Reply(200, oauth_err(-14001, "Invalid request", "grant_type is not supported"))
        now = self.now()
        old = form.get("refresh_token", "")
        state = self._refresh.get(old)
        if state is None or state["used"] or now >= state["expires_at"]:
            return Reply(200, oauth_err(-14014, "Invalid refresh_token",
                                        "Refresh token is invalid or expired"))
        state["used"] = True
        if self.revoke_old_access:
            for t in self._access.values():
                t["revoked"] = True
        access, refresh = new_token(), new_token()
        self.seed_token(access)
        self.seed_refresh_token(refresh)
        self.refreshes += 1
        return Reply(200, {"access_token": access, "refresh_token": refresh,
                           "expires_in": str(int(ACCESS_TTL))})

    # --- webhooks ---------------------------------------------------------------------------

    def signature(self, body, secret=None):
        """mac=sha256(app_id + raw body + body.timestamp + OA secret key)."""
        ts = str(json.loads(body)["timestamp"])
        raw = self.app_id.encode() + body + ts.encode() + (secret or self.oa_secret_key).encode()
        return "mac=" + hashlib.sha256(raw).hexdigest()

    def sign(self, url, body, wrong=False):
        return {"X-ZEvent-Signature": self.signature(body, "not-" + self.oa_secret_key
                                                     if wrong else None)}

    def tamper(self, body):
        return body.replace(b'"timestamp":"', b'"timestamp":"1', 1)

    def _user_id_by_app(self, user_id):
        return str(int(hashlib.sha256(user_id.encode()).hexdigest()[:15], 16))

    def send_event(self, event, signature="valid"):
        """POST one OA event (a dict; app_id and timestamp added when absent)."""
        event = dict(event)
        event.setdefault("app_id", self.app_id)
        event.setdefault("timestamp", str(int(self.now() * 1000)))
        return self.fire(dumps(event), "application/json", signature=signature)

    def send_inbound(self, user_id, text, msg_id=None, signature="valid"):
        """The user writes to the OA (user_send_text); their interaction is now."""
        user_id = str(user_id)
        with self._lock:
            if user_id not in self._users:
                self.seed_user(user_id)
            self._users[user_id]["interacted"] = self.now()
            event = {"app_id": self.app_id, "user_id_by_app": self._user_id_by_app(user_id),
                     "event_name": "user_send_text", "timestamp": str(int(self.now() * 1000)),
                     "sender": {"id": user_id}, "recipient": {"id": self.oa_id},
                     "message": {"msg_id": msg_id or random_hex(20), "text": text}}
        return self.send_event(event, signature)

    def send_status(self, message_ids, event="received", signature="valid"):
        """user_received_message (one message id: message.msg_id) or
        user_seen_message (message.msg_ids[]) for messages the OA sent."""
        ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
        if event not in ("received", "seen") or not ids:
            raise EmulatorError("zalo: event received|seen with at least one message id")
        if event == "received" and len(ids) != 1:
            raise EmulatorError("zalo: user_received_message names one message")
        with self._lock:
            by_id = {m["message_id"]: m for m in self._messages}
            missing = [i for i in ids if i not in by_id]
            if missing:
                raise EmulatorError(f"zalo: no message {missing[0]!r}")
            users = {by_id[i]["user_id"] for i in ids}
            if len(users) != 1:
                raise EmulatorError("zalo: a receipt covers one user's messages")
            user_id = users.pop()
            ev = {"app_id": self.app_id, "user_id_by_app": self._user_id_by_app(user_id),
                  "event_name": "user_received_message" if event == "received"
                  else "user_seen_message",
                  "sender": {"id": self.oa_id}, "recipient": {"id": user_id},
                  "message": {"msg_id": ids[0]} if event == "received" else {"msg_ids": ids},
                  "timestamp": str(int(self.now() * 1000))}
        return self.send_event(ev, signature)
