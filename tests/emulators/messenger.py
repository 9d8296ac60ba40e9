"""messenger — the Graph Send API for Facebook Messenger and Instagram (through
a Facebook Page), as Meta documents it (messenger-platform: send-api,
error-codes, message-tags, webhook-events): POST /{version}/me/messages
(or /{page-id}/messages) with a Page access token, messaging_type/tag rules,
the 24-hour window and HUMAN_AGENT's 7 days, Graph's error envelope; and the
Page's webhooks (messages, delivery and read receipts) signed with the app
secret.

Subtle: a user belongs to one Page and one platform (messenger|instagram);
Instagram counts text in bytes (1000) and sends no delivery receipts, only
read.mid. HUMAN_AGENT outside 24 h needs the Page's permission (human_agent)
and a customer message within 7 days; without the permission the tag extends
nothing and the window error applies. Other tags are accepted (policy, not
mechanism, restricts them). Chosen where Meta is silent: the wording of the
messaging_type/tag refusals, and 104 for a missing token on /{page-id}.
"""

import secrets

from . import meta
from .http_emulator import EmulatorError, HttpEmulator, RateWindow, Reply, dumps

DAY = 86400.0
WINDOW_S = 1 * DAY
HUMAN_AGENT_S = 7 * DAY
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
TAGS = ("HUMAN_AGENT", "ACCOUNT_UPDATE", "POST_PURCHASE_UPDATE", "CONFIRMED_EVENT_UPDATE")
IG_TAGS = ("HUMAN_AGENT", "ACCOUNT_UPDATE", "POST_PURCHASE_UPDATE")
ATTACHMENT_TYPES = ("image", "audio", "video", "file")


def new_mid():
    """A Messenger message id: "m_" and 86 base64url characters."""
    return "m_" + secrets.token_urlsafe(66)[:86]


class MessengerEmulator(HttpEmulator):
    """One app (app_secret) with one Page (page_id, page_token; ig_id when an
    Instagram account is linked). More Pages: seed_page()."""

    name = "messenger"
    server_header = "Graph"
    CONTROL = ("seed_page", "seed_token", "expire_token", "seed_user", "set_rate_limit",
               "set_require_proof", "messages", "send_inbound", "send_status", "send_echo")

    def __init__(self, page_id="104060651657509", page_token="EAAGpage-token-for-tests",
                 app_secret="fb-app-secret-for-tests", ig_id="17841400000000001",
                 human_agent=True, require_proof=False, webhook_url=None,
                 text_rate=300, media_rate=10):
        self.config = dict(page_id=page_id, page_token=page_token, ig_id=ig_id,
                           human_agent=human_agent, text_rate=text_rate, media_rate=media_rate,
                           require_proof=require_proof)
        self.app_secret = app_secret
        self.page_id, self.page_token, self.ig_id = page_id, page_token, ig_id
        super().__init__(webhook_url)

    def _seed(self):
        c = self.config
        self._pages, self._tokens, self._users, self._messages = {}, {}, {}, []
        self._rates, self._rate_period = {}, 1.0
        self._text_rate, self._media_rate = c["text_rate"], c["media_rate"]
        self.require_proof = c["require_proof"]
        self.seed_page(c["page_id"], c["page_token"], c["ig_id"], c["human_agent"])

    # --- state ---------------------------------------------------------------------

    def seed_page(self, page_id, token, ig_id=None, human_agent=True):
        with self._lock:
            self._pages[page_id] = {"ig_id": ig_id, "human_agent": bool(human_agent)}
            self._tokens[token] = {"page_id": page_id, "expires_at": None}

    def seed_token(self, token, page_id=None, expires_in=None):
        """Another access token for a Page (expires_in seconds, or never)."""
        with self._lock:
            self._tokens[token] = {"page_id": page_id or self.page_id,
                                   "expires_at": None if expires_in is None
                                   else self.now() + float(expires_in)}

    def expire_token(self, token=None):
        """The token (default: the Page's) has expired now (190/463)."""
        with self._lock:
            self._tokens[token or self.page_token]["expires_at"] = self.now() - 1

    def seed_user(self, user_id, platform="messenger", last_inbound_ago=0.0, page_id=None,
                  blocked=False, not_receiving=False):
        """A PSID (or IGSID, platform="instagram") of the Page; last_inbound_ago:
        seconds since their last message, None if they never wrote."""
        if platform not in ("messenger", "instagram"):
            raise EmulatorError(f"unknown platform {platform!r}")
        with self._lock:
            self._users[str(user_id)] = {
                "page_id": page_id or self.page_id, "platform": platform,
                "last_inbound": None if last_inbound_ago is None
                else self.now() - float(last_inbound_ago),
                "blocked": bool(blocked), "not_receiving": bool(not_receiving)}

    def set_rate_limit(self, text_per_s=None, media_per_s=None, period=1.0):
        """Per-Page send limits (default 300/s text, 10/s audio/video), counted
        over windows of period seconds."""
        with self._lock:
            if text_per_s is not None:
                self._text_rate = int(text_per_s)
            if media_per_s is not None:
                self._media_rate = int(media_per_s)
            self._rate_period = float(period)
            self._rates = {}

    def set_require_proof(self, on=True):
        """The app's "Require App Secret": every call needs appsecret_proof."""
        with self._lock:
            self.require_proof = bool(on)

    def messages(self, recipient=None):
        """Messages accepted so far (dicts: mid, recipient, page_id, platform,
        text, attachment, messaging_type, tag, time)."""
        with self._lock:
            return [m for m in self._messages if recipient is None or m["recipient"] == recipient]

    # --- the Send API ----------------------------------------------------------------

    def fault_reply(self, status):
        if status == 429:
            return meta.error(429, "(#4) Application request limit reached", 4, is_transient=True)
        if status >= 500:
            return meta.error(status, "An unexpected error has occurred. Please retry your "
                              "request later.", 2, is_transient=True)
        return meta.error(status, "(#100) Invalid parameter", 100)

    def handle(self, req):
        m = meta.SEND_PATH.match(req.path)
        if not m:
            return meta.unknown_path(req.path)
        obj = m.group(3)
        if req.method != "POST":
            return meta.unsupported(req.method.lower(), obj)
        tokens = meta.tokens_of(req)
        if not tokens:
            if obj == "me":
                return meta.error(400, "An active access token must be used to query "
                                  "information about the current user.", 2500)
            return meta.error(400, "An access token is required to request this resource.", 104)
        if len(tokens) > 1:
            return meta.error(400, "(#100) Multiple access tokens were provided", 100)
        token = tokens.pop()
        now = self.now()
        state = self._tokens.get(token)
        refused = meta.token_error(400, state, now)
        if refused:
            return refused
        page_id = state["page_id"]
        page = self._pages[page_id]
        if obj not in ("me", page_id) and obj != page["ig_id"]:
            return meta.unsupported("post", obj)
        if self.require_proof:
            proofs = (req.query.get("appsecret_proof", [])
                      + (req.form or {}).get("appsecret_proof", []))
            if not proofs:
                return meta.error(400, "API calls from the server require an appsecret_proof "
                                  "argument", 100, type_="GraphMethodException")
            if proofs[-1] != meta.appsecret_proof(self.app_secret, token):
                return meta.error(400, "Invalid appsecret_proof provided in the API argument",
                                  100, type_="GraphMethodException")

        body = self._body(req)
        if body is None:
            return meta.error(400, "(#100) Invalid parameter", 100)
        return self._send(page_id, page, body, now)

    @staticmethod
    def _body(req):
        if req.json is not None:
            return req.json if isinstance(req.json, dict) else None
        if req.form is not None:
            body = {}
            for k, v in req.form.items():
                if k in ("recipient", "message"):
                    parsed = meta.json_value(v[-1])
                    if not isinstance(parsed, dict):
                        return None
                    body[k] = parsed
                elif k not in ("access_token", "appsecret_proof"):
                    body[k] = v[-1]
            return body
        return None

    def _send(self, page_id, page, body, now):
        recipient = body.get("recipient")
        if not isinstance(recipient, dict) or recipient.get("id") in (None, ""):
            return meta.error(400, "(#100) The parameter recipient is required", 100)
        user_id = str(recipient["id"])
        mtype, tag = body.get("messaging_type"), body.get("tag")
        if mtype is None:
            return meta.error(400, "(#100) The parameter messaging_type is required", 100)
        if mtype not in MESSAGING_TYPES:
            return meta.error(400, "(#100) Param messaging_type must be one of {RESPONSE, "
                              f'UPDATE, MESSAGE_TAG}} - got "{mtype}"', 100)
        if mtype == "MESSAGE_TAG" and not tag:
            return meta.error(400, "(#100) The parameter tag is required for messaging_type "
                              "MESSAGE_TAG", 100)
        if mtype != "MESSAGE_TAG" and tag:
            return meta.error(400, "(#100) Param tag can only be used with messaging_type "
                              "MESSAGE_TAG", 100)

        user = self._users.get(user_id)
        if user is None or user["page_id"] != page_id:
            return meta.error(400, "(#100) No matching user found", 100, subcode=2018001)
        ig = user["platform"] == "instagram"
        if tag and tag not in (IG_TAGS if ig else TAGS):
            allowed = ", ".join(IG_TAGS if ig else TAGS)
            return meta.error(400, f"(#100) Param tag must be one of {{{allowed}}} - got "
                              f'"{tag}"', 100)

        message = body.get("message")
        if not isinstance(message, dict) or ("text" in message) == ("attachment" in message):
            return meta.error(400, "(#100) Invalid parameter", 100)
        kind = "text"
        if "text" in message:
            text = message["text"]
            if not isinstance(text, str) or text == "":
                return meta.error(400, "(#100) Invalid parameter", 100)
            limit_ok = len(text.encode()) <= 1000 if ig else len(text) <= 2000
            if not limit_ok:
                return meta.error(400, "(#100) Length of param message[text] must be less than "
                                  f"or equal to {1000 if ig else 2000}", 100)
        else:
            att = message["attachment"]
            refused = self._check_attachment(att)
            if refused:
                return refused
            kind = "media" if att["type"] in ("audio", "video") else "text"

        bucket = self._rates.setdefault((page_id, kind), RateWindow(
            self._media_rate if kind == "media" else self._text_rate, self._rate_period))
        if not bucket.take(now):
            return meta.error(400, "(#613) Calls to this API have exceeded the rate limit.", 613)

        if user["blocked"]:
            return meta.error(400, "(#551) This person isn't available right now.", 551,
                              subcode=1545041)
        if user["not_receiving"]:
            return meta.error(400, "(#10) This person isn't receiving messages from you right "
                              "now.", 10, subcode=2018108)
        age = None if user["last_inbound"] is None else now - user["last_inbound"]
        in_window = age is not None and age <= WINDOW_S
        human_agent_ok = (tag == "HUMAN_AGENT" and page["human_agent"] and age is not None
                          and age <= HUMAN_AGENT_S)
        other_tag = mtype == "MESSAGE_TAG" and tag != "HUMAN_AGENT"
        if not (in_window or human_agent_ok or (other_tag and age is not None)):
            return meta.error(400, "(#10) This message is sent outside of allowed window. "
                              "Learn more about the new policy here: "
                              "https://developers.facebook.com/docs/messenger-platform/"
                              "policy-overview", 10, subcode=2018278)

        mid = new_mid()
        self._messages.append({"mid": mid, "recipient": user_id, "page_id": page_id,
                               "platform": user["platform"], "text": message.get("text"),
                               "attachment": message.get("attachment"), "messaging_type": mtype,
                               "tag": tag, "time": now})
        return Reply(200, {"recipient_id": user_id, "message_id": mid})

    @staticmethod
    def _check_attachment(att):
        bad = meta.error(400, "(#100) Invalid parameter", 100)
        if not isinstance(att, dict) or att.get("type") not in ATTACHMENT_TYPES:
            return bad
        payload = att.get("payload")
        if not isinstance(payload, dict) or ("url" in payload) == ("attachment_id" in payload):
            return bad
        url = payload.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("http://",
                                                                            "https://"))):
            return meta.error(400, "(#100) Param message[attachment][payload][url] must be a "
                              "valid URL", 100)
        return None

    # --- webhooks ----------------------------------------------------------------------

    def sign(self, url, body, wrong=False):
        return meta.hub_signature_headers("not-" + self.app_secret if wrong else self.app_secret,
                                          body)

    def _user(self, user_id):
        user = self._users.get(str(user_id))
        if user is None:
            raise EmulatorError(f"messenger: unknown user {user_id!r} (seed_user)")
        return user

    def _entry_owner(self, user):
        page = self._pages[user["page_id"]]
        if user["platform"] == "instagram":
            if not page["ig_id"]:
                raise EmulatorError("messenger: the Page has no Instagram account (ig_id)")
            return "instagram", page["ig_id"]
        return "page", user["page_id"]

    def send_items(self, object_, entry_id, items, signature="valid"):
        """One webhook POST carrying these messaging items (Meta batches)."""
        body = dumps({"object": object_, "entry": [
            {"id": entry_id, "time": int(self.now() * 1000), "messaging": list(items)}]})
        return self.fire(body, "application/json", signature=signature)

    def send_inbound(self, user_id, text="", mid=None, attachments=None, platform=None,
                     signature="valid"):
        """The customer writes to the Page: a signed `messages` webhook; their
        window opens now. An unknown user is created (platform default messenger)."""
        with self._lock:
            user_id = str(user_id)
            if user_id not in self._users:
                self.seed_user(user_id, platform=platform or "messenger", last_inbound_ago=None)
            user = self._users[user_id]
            user["last_inbound"] = self.now()
            object_, owner = self._entry_owner(user)
            message = {"mid": mid or new_mid()}
            if text:
                message["text"] = text
            if attachments:
                message["attachments"] = list(attachments)
            item = {"sender": {"id": user_id}, "recipient": {"id": owner},
                    "timestamp": int(self.now() * 1000), "message": message}
        return self.send_items(object_, owner, [item], signature)

    def send_echo(self, mid, signature="valid"):
        """The echo of a message the Page sent (is_echo: carebus must ignore it)."""
        with self._lock:
            msg = self._message(mid)
            user = self._user(msg["recipient"])
            object_, owner = self._entry_owner(user)
            item = {"sender": {"id": owner}, "recipient": {"id": msg["recipient"]},
                    "timestamp": int(msg["time"] * 1000),
                    "message": {"mid": mid, "is_echo": True, "app_id": 1517776481860111,
                                "text": msg["text"] or ""}}
        return self.send_items(object_, owner, [item], signature)

    def _message(self, mid):
        for m in self._messages:
            if m["mid"] == mid:
                return m
        raise EmulatorError(f"messenger: no message {mid!r}")

    def send_status(self, kind, mids=None, user_id=None, watermark=None, include_mids=True,
                    signature="valid"):
        """A delivery or read receipt for messages the Page sent, as Meta sends
        it: Messenger delivery {mids, watermark} (include_mids=False: watermark
        only), Messenger read {watermark}, Instagram read {mid} (one item per
        message). watermark (ms) defaults to now: everything sent before was
        delivered/read. Give mids, or user_id for a watermark-only receipt."""
        if kind not in ("delivery", "read"):
            raise EmulatorError(f"messenger: kind is delivery or read, not {kind!r}")
        with self._lock:
            mids = list(mids or [])
            if mids:
                users = {self._message(m)["recipient"] for m in mids}
                if len(users) != 1:
                    raise EmulatorError("messenger: a receipt covers one user's messages")
                user_id = users.pop()
            if user_id is None:
                raise EmulatorError("messenger: give mids or user_id")
            user = self._user(user_id)
            object_, owner = self._entry_owner(user)
            now_ms = int(self.now() * 1000)
            wm = int(watermark) if watermark is not None else now_ms
            base = {"sender": {"id": str(user_id)}, "recipient": {"id": owner}}
            if object_ == "instagram":
                if kind == "delivery":
                    raise EmulatorError("messenger: Instagram sends no delivery receipts")
                if not mids:
                    raise EmulatorError("messenger: Instagram reads name a mid")
                items = [dict(base, timestamp=now_ms, read={"mid": m}) for m in mids]
            elif kind == "delivery":
                delivery = {"watermark": wm}
                if include_mids and mids:
                    delivery = {"mids": mids, "watermark": wm}
                items = [dict(base, delivery=delivery)]
            else:
                items = [dict(base, timestamp=now_ms, read={"watermark": wm})]
        return self.send_items(object_, owner, items, signature)
