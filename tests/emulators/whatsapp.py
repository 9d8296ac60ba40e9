"""whatsapp — the WhatsApp Cloud API as Meta documents it: POST
/{version}/{phone-number-id}/messages with a Bearer token, text, media by link
and templates, Graph's error envelope (401 for tokens), the throughput and pair
rate limits; and the status webhooks (sent, delivered, read, failed with
errors[]) and inbound messages, signed with the app secret.

Subtle: 200 means accepted, not sent. A free-form message outside the 24-hour
customer-service window, or to a number that is not on WhatsApp, is accepted
and later fails (131047 / 131026) in a status webhook — each accepted message
keeps its `fate` for send_status("failed"). window_mode="sync" refuses the
window case at once instead (400 131047), for tests that want it.
"""

import base64
import re
import secrets
import threading
from collections import deque

from . import meta
from .http_emulator import EmulatorError, HttpEmulator, RateWindow, Reply, dumps

WINDOW_S = 86400.0
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
MESSAGE_OBJECTS = MEDIA_TYPES + ("text", "template", "interactive", "location", "contacts",
                                 "reaction")
TOP_KEYS = {"messaging_product", "recipient_type", "to", "type", "context",
            "biz_opaque_callback_data"} | set(MESSAGE_OBJECTS)
PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")
ERRORS_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

REENGAGEMENT = {"code": 131047, "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {"details": "Message failed to send because more than 24 hours have "
                               "passed since the customer last replied to this number."},
                "href": ERRORS_HREF}
UNDELIVERABLE = {"code": 131026, "title": "Message undeliverable",
                 "message": "Message undeliverable",
                 "error_data": {"details": "Unable to deliver message. Reasons can include: the "
                                "recipient phone number is not a WhatsApp phone number; ..."},
                 "href": ERRORS_HREF}


def new_wamid(wa_id):
    """A message id in WhatsApp's form: "wamid." + base64 of an opaque blob."""
    blob = (b"\x18\x0b" + wa_id.encode() + b"\x15\x02\x00\x11\x18\x12"
            + secrets.token_hex(9).upper().encode() + b"\x00")
    return "wamid." + base64.b64encode(blob).decode()


def wa_error(http_status, code, title, details, type_="OAuthException"):
    return meta.error(http_status, f"(#{code}) {title}", code, type_=type_,
                      error_data={"messaging_product": "whatsapp", "details": details})


class WhatsAppEmulator(HttpEmulator):
    """One business phone number (phone_number_id) of one WABA, one token."""

    name = "whatsapp"
    server_header = "Graph"
    CONTROL = ("seed_user", "seed_template", "seed_token", "expire_token", "set_rate_limit",
               "set_window_mode", "set_auto_status", "messages", "send_inbound", "send_status")

    def __init__(self, phone_number_id="106540352242922", display_phone_number="15550783881",
                 waba_id="102290129340398", token="EAAGwa-token-for-tests",
                 app_secret="wa-app-secret-for-tests", webhook_url=None, window_mode="async",
                 throughput=80, pair_limit=45, pair_period=6.0):
        self.config = dict(token=token, throughput=throughput, pair_limit=pair_limit,
                           pair_period=pair_period, window_mode=window_mode)
        self.phone_number_id, self.display_phone_number = phone_number_id, display_phone_number
        self.waba_id, self.token, self.app_secret = waba_id, token, app_secret
        self._auto_threads = []
        super().__init__(webhook_url)

    def _seed(self):
        c = self.config
        self._tokens = {c["token"]: {"expires_at": None}}
        self._users, self._templates, self._messages = {}, {}, []
        self._throughput = RateWindow(c["throughput"])
        self._pair_limit, self._pair_period = c["pair_limit"], c["pair_period"]
        self._pairs = {}
        self.window_mode = c["window_mode"]
        self.auto_status = None

    def stop(self):
        super().stop()
        for t in self._auto_threads:
            t.join(5)

    # --- state -------------------------------------------------------------------------

    def seed_user(self, wa_id, last_inbound_ago=0.0, registered=True, name="Customer"):
        """A WhatsApp user (wa_id: digits); last_inbound_ago: seconds since their
        last message (None: never wrote); registered=False: not on WhatsApp."""
        with self._lock:
            self._users[str(wa_id).lstrip("+")] = {
                "last_inbound": None if last_inbound_ago is None
                else self.now() - float(last_inbound_ago),
                "registered": bool(registered), "name": name}

    def seed_template(self, name, language="en_US", params=0):
        """An approved template and its number of body parameters."""
        with self._lock:
            self._templates[(name, language)] = int(params)

    def seed_token(self, token, expires_in=None):
        with self._lock:
            self._tokens[token] = {"expires_at": None if expires_in is None
                                   else self.now() + float(expires_in)}

    def expire_token(self, token=None):
        with self._lock:
            self._tokens[token or self.token]["expires_at"] = self.now() - 1

    def set_rate_limit(self, throughput=None, pair_limit=None, pair_period=None, period=1.0):
        """Messages per number per period seconds (default 80/s, then 130429)
        and per-recipient burst in pair_period (default 45 in 6 s, 131056)."""
        with self._lock:
            if throughput is not None:
                self._throughput = RateWindow(int(throughput), float(period))
            if pair_limit is not None:
                self._pair_limit = int(pair_limit)
            if pair_period is not None:
                self._pair_period = float(pair_period)
            self._pairs = {}

    def set_window_mode(self, mode):
        """"async" (accept, fail later by webhook, as Meta does) or "sync" (400)."""
        if mode not in ("async", "sync"):
            raise EmulatorError(f"whatsapp: window mode async or sync, not {mode!r}")
        with self._lock:
            self.window_mode = mode

    def set_auto_status(self, statuses=("sent", "delivered")):
        """After each accepted message, fire these statuses (a message whose
        fate is failure gets "failed" instead). None or [] turns it off."""
        with self._lock:
            self.auto_status = list(statuses) if statuses else None

    def messages(self, to=None):
        """Accepted messages (dicts: id, to, wa_id, type, content, time, fate,
        biz_opaque_callback_data)."""
        with self._lock:
            return [m for m in self._messages if to is None or m["wa_id"] == str(to).lstrip("+")]

    # --- the Cloud API -------------------------------------------------------------------

    def fault_reply(self, status):
        if status == 503:
            return wa_error(503, 131016, "Service unavailable",
                            "A service is temporarily unavailable.")
        if status == 429:
            return wa_error(429, 130429, "Rate limit hit",
                            "Cloud API message throughput has been reached.")
        if status >= 500:
            return wa_error(status, 131000, "Something went wrong",
                            "Something went wrong. Please retry later.")
        return wa_error(status, 100, "Invalid parameter", "injected")

    def handle(self, req):
        m = meta.SEND_PATH.match(req.path)
        if not m:
            return meta.unknown_path(req.path)
        obj = m.group(3)
        if req.method != "POST":
            return meta.unsupported(req.method.lower(), obj)
        tokens = meta.tokens_of(req)
        if not tokens:
            return meta.error(401, "An access token is required to request this resource.", 104)
        if len(tokens) > 1:
            return meta.error(400, "(#100) Multiple access tokens were provided", 100)
        now = self.now()
        refused = meta.token_error(401, self._tokens.get(tokens.pop()), now)
        if refused:
            return refused
        if obj != self.phone_number_id:
            return meta.unsupported("post", obj)
        body = req.json
        if req.header("Content-Type", "").split(";")[0].strip().lower() != "application/json" \
                or not isinstance(body, dict):
            return wa_error(400, 100, "Invalid parameter", "Request body must be a JSON object.")
        if not self._throughput.take(now):
            return wa_error(400, 130429, "Rate limit hit",
                            "Cloud API message throughput has been reached.")
        refused = self._check_body(body)
        if refused:
            return refused

        wa_id = body["to"].lstrip("+")
        user = self._users.get(wa_id)
        mtype = body.get("type", "text")
        fate = None
        if user is None or not user["registered"]:
            fate = UNDELIVERABLE
        elif mtype != "template" and (user["last_inbound"] is None
                                      or now - user["last_inbound"] > WINDOW_S):
            if self.window_mode == "sync":
                return wa_error(400, 131047, "Re-engagement message",
                                REENGAGEMENT["error_data"]["details"])
            fate = REENGAGEMENT

        pair = self._pairs.setdefault(wa_id, deque())
        while pair and now - pair[0] > self._pair_period:
            pair.popleft()
        if len(pair) >= self._pair_limit:
            return wa_error(400, 131056, "(Business Account, Consumer Account) pair rate limit "
                            "hit", "Message failed to send because there were too many messages "
                            "sent from this phone number to the same phone number in a short "
                            "period of time.")
        pair.append(now)

        wamid = new_wamid(wa_id)
        msg = {"id": wamid, "to": body["to"], "wa_id": wa_id, "type": mtype,
               "content": body.get(mtype), "time": now, "fate": fate,
               "biz_opaque_callback_data": body.get("biz_opaque_callback_data")}
        self._messages.append(msg)
        if self.auto_status and self.webhook_url:
            statuses = ["failed"] if fate else list(self.auto_status)
            t = threading.Thread(target=self._auto_fire, args=(wamid, statuses), daemon=True)
            self._auto_threads = [x for x in self._auto_threads if x.is_alive()] + [t]
            t.start()
        return Reply(200, {"messaging_product": "whatsapp",
                           "contacts": [{"input": body["to"], "wa_id": wa_id}],
                           "messages": [{"id": wamid, "message_status": "accepted"}]})

    def _check_body(self, body):
        def invalid(details, code=100, title="Invalid parameter"):
            return wa_error(400, code, title, details)

        if body.get("messaging_product") != "whatsapp":
            if "messaging_product" not in body:
                return invalid("The parameter messaging_product is required.", 131008,
                               "Required parameter is missing")
            return invalid("messaging_product must be \"whatsapp\".")
        unknown = sorted(set(body) - TOP_KEYS)
        if unknown:
            return invalid(f"Unexpected key \"{unknown[0]}\" on param.")
        if body.get("recipient_type", "individual") != "individual":
            return invalid("recipient_type must be \"individual\".", 131009,
                           "Parameter value is not valid")
        to = body.get("to")
        if to is None:
            return invalid("The parameter to is required.", 131008, "Required parameter is missing")
        if not isinstance(to, str) or not PHONE.match(to):
            return invalid("to must be a phone number.", 131009, "Parameter value is not valid")
        cb = body.get("biz_opaque_callback_data")
        if cb is not None and (not isinstance(cb, str) or len(cb) > 512):
            return invalid("biz_opaque_callback_data must be at most 512 characters.", 131009,
                           "Parameter value is not valid")
        mtype = body.get("type", "text")
        if mtype not in MESSAGE_OBJECTS:
            return invalid(f"Message type {mtype} is not supported.", 131051,
                           "Unsupported message type")
        others = [k for k in MESSAGE_OBJECTS if k in body and k != mtype]
        if others:
            return invalid(f"Param {others[0]} is not allowed for message type {mtype}.")
        content = body.get(mtype)
        if not isinstance(content, dict):
            return invalid(f"The parameter {mtype} is required.", 131008,
                           "Required parameter is missing")
        if mtype == "text":
            text = content.get("body")
            if not isinstance(text, str) or not 1 <= len(text) <= 4096:
                return invalid("Param text['body'] must be between 1 and 4096 characters long.")
            if set(content) - {"body", "preview_url"}:
                return invalid("Unexpected key on param text.")
        elif mtype in MEDIA_TYPES:
            return self._check_media(mtype, content, invalid)
        elif mtype == "template":
            return self._check_template(content, invalid)
        return None

    @staticmethod
    def _check_media(mtype, content, invalid):
        if ("link" in content) == ("id" in content):
            return invalid(f"Param {mtype} must have exactly one of link or id.")
        link = content.get("link")
        if link is not None and not (isinstance(link, str)
                                     and link.startswith(("http://", "https://"))):
            return invalid(f"Param {mtype}['link'] must be a valid URL.", 131009,
                           "Parameter value is not valid")
        if "caption" in content and (mtype in ("audio", "sticker")
                                     or not isinstance(content["caption"], str)
                                     or len(content["caption"]) > 1024):
            return invalid(f"Param {mtype}['caption'] is not valid.")
        if "filename" in content and mtype != "document":
            return invalid(f"Param {mtype}['filename'] is not valid.")
        return None

    def _check_template(self, content, invalid):
        name = content.get("name")
        lang = content.get("language")
        if not isinstance(name, str) or not isinstance(lang, dict) \
                or not isinstance(lang.get("code"), str):
            return invalid("The parameters template['name'] and template['language']['code'] "
                           "are required.", 131008, "Required parameter is missing")
        expected = self._templates.get((name, lang["code"]))
        if expected is None:
            return wa_error(404, 132001, "Template name does not exist in the translation",
                            f"template name ({name}) does not exist in {lang['code']}")
        given = 0
        for comp in content.get("components") or []:
            if isinstance(comp, dict) and comp.get("type") == "body":
                given += len(comp.get("parameters") or [])
        if given != expected:
            return wa_error(400, 132000, "Number of parameters does not match the expected number "
                            "of params", f"body: number of localizable_params ({given}) does not "
                            f"match the expected number of params ({expected})")
        return None

    # --- webhooks ---------------------------------------------------------------------------

    def sign(self, url, body, wrong=False):
        return meta.hub_signature_headers("not-" + self.app_secret if wrong else self.app_secret,
                                          body)

    def _value(self, **parts):
        v = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": self.display_phone_number,
                          "phone_number_id": self.phone_number_id}}
        v.update(parts)
        return v

    def send_value(self, value, signature="valid"):
        """One webhook POST carrying one `messages` change with this value."""
        body = dumps({"object": "whatsapp_business_account", "entry": [
            {"id": self.waba_id, "changes": [{"field": "messages", "value": value}]}]})
        return self.fire(body, "application/json", signature=signature)

    def send_inbound(self, wa_id, text, name=None, message_id=None, signature="valid"):
        """The customer writes: a signed text message webhook; their 24-hour
        window opens now (an unknown number becomes a registered user)."""
        with self._lock:
            wa_id = str(wa_id).lstrip("+")
            if wa_id not in self._users:
                self.seed_user(wa_id, last_inbound_ago=None, name=name or "Customer")
            user = self._users[wa_id]
            user["last_inbound"] = self.now()
            value = self._value(
                contacts=[{"profile": {"name": name or user["name"]}, "wa_id": wa_id}],
                messages=[{"from": wa_id, "id": message_id or new_wamid(wa_id),
                           "timestamp": str(int(self.now())), "type": "text",
                           "text": {"body": text}}])
        return self.send_value(value, signature)

    def _message(self, wamid):
        for m in self._messages:
            if m["id"] == wamid:
                return m
        raise EmulatorError(f"whatsapp: no message {wamid!r}")

    def send_status(self, wamid, status, errors=None, signature="valid"):
        """A status webhook for an accepted message: sent, delivered, read, or
        failed (errors default to the message's fate, else 131026)."""
        if status not in ("sent", "delivered", "read", "failed"):
            raise EmulatorError(f"whatsapp: unknown status {status!r}")
        with self._lock:
            msg = self._message(wamid)
            st = {"id": wamid, "status": status, "timestamp": str(int(self.now())),
                  "recipient_id": msg["wa_id"]}
            if msg["biz_opaque_callback_data"]:
                st["biz_opaque_callback_data"] = msg["biz_opaque_callback_data"]
            if status == "failed":
                st["errors"] = list(errors) if errors else [dict(msg["fate"] or UNDELIVERABLE)]
            elif status in ("sent", "delivered"):
                st["pricing"] = {"billable": True, "pricing_model": "PMP",
                                 "category": "service" if msg["type"] != "template"
                                 else "utility", "type": "regular"}
            value = self._value(statuses=[st])
        return self.send_value(value, signature)

    def _auto_fire(self, wamid, statuses):
        # A moment after the answer, as Meta's statuses follow the send.
        for s in statuses:
            if self._stopping.wait(0.05):
                return
            self.send_status(wamid, s)
