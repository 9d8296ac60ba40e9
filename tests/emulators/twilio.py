"""twilio — Twilio Programmable Messaging as Twilio documents it:
POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic (AccountSid
and Auth Token, or an API key SID and secret), form fields, 201 with the
Message resource, Twilio's error JSON and its test magic numbers; status
callbacks and inbound SMS signed X-Twilio-Signature = base64(HMAC-SHA1(auth
token, URL + sorted name+value)).

Subtle: the signature covers the URL Twilio calls, i.e. the StatusCallback
exactly as carebus gave it (its public URL); route() makes the POST land on
loopback without changing what is signed. The concurrency limit counts the
requests in flight when one arrives (see set_latency) and answers 429
without Retry-After.
"""

import base64
import hashlib
import hmac
import re
import time
import urllib.parse
import uuid
from email.utils import formatdate

from .http_emulator import EmulatorError, HttpEmulator, Reply, random_hex

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
           "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€")

# Modelled on Twilio's test-credential magic numbers (docs/iam/test-credentials).
MAGIC_FROM = {"+15005550001": (21212, "Invalid From Number (caller ID): +15005550001"),
              "+15005550007": (21606, "The From phone number +15005550007 is not a valid, "
                               "SMS-capable inbound phone number or short code for your account."),
              "+15005550008": (21611, "This 'From' number has exceeded the maximum number of "
                               "queued messages")}
MAGIC_TO = {"+15005550001": (21211, "Invalid 'To' Phone Number: +15005550001"),
            "+15005550002": (21612, "The 'To' phone number: +15005550002, is not currently "
                             "reachable using the 'From' phone number via SMS."),
            "+15005550003": (21408, "Permission to send an SMS has not been enabled for the "
                             "region indicated by the 'To' number: +15005550003."),
            "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
            "+15005550009": (21614, "'To' number is not a valid mobile number")}


def twerr(status, code, message, detail=None):
    body = {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    if detail:
        body["detail"] = detail
    return Reply(status, body)


def signature(token, url, params):
    """X-Twilio-Signature of a form POST: params is a list of (name, value)."""
    s = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()


def segments(body):
    gsm = all(c in GSM7 for c in body)
    single, multi = (160, 153) if gsm else (70, 67)
    n = len(body)
    return 1 if n <= single else -(-n // multi)


class TwilioEmulator(HttpEmulator):
    """One account (account_sid, auth_token) owning `numbers` and
    `messaging_services`, optionally an API key (api_key_sid, api_key_secret)."""

    name = "twilio"
    server_header = "nginx"
    CONTROL = ("seed_account", "seed_number", "opt_out", "block_region", "set_concurrency",
               "messages", "send_inbound", "send_status")

    def __init__(self, account_sid="AC" + "f0e1d2c3b4a5968778695a4b3c2d1e0f",
                 auth_token="twilio-auth-token-for-tests", numbers=("+15005550006",),
                 messaging_services=("MG" + "0" * 31 + "1",),
                 api_key_sid="SK" + "a" * 32, api_key_secret="twilio-api-key-secret",
                 sms_url=None, concurrency=100):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.api_key_sid, self.api_key_secret = api_key_sid, api_key_secret
        self.sms_url = sms_url
        self.config = dict(numbers=tuple(numbers), services=tuple(messaging_services),
                           concurrency=concurrency)
        super().__init__(None)

    def _seed(self):
        c = self.config
        self._accounts, self._keys = {}, {}
        self._messages, self._opt_outs, self._blocked_prefixes = [], set(), []
        self.concurrency = c["concurrency"]
        self.seed_account(self.account_sid, self.auth_token, c["numbers"], c["services"])
        if self.api_key_sid:
            self._keys[self.api_key_sid] = {"secret": self.api_key_secret,
                                            "account": self.account_sid}

    # --- state -------------------------------------------------------------------------

    def seed_account(self, sid, token, numbers=(), messaging_services=(), parent=None):
        """An account (or a subaccount of parent) with its numbers and services."""
        if not re.match(r"^AC[0-9a-f]{32}$", sid):
            raise EmulatorError(f"twilio: an AccountSid is AC + 32 hex, not {sid!r}")
        with self._lock:
            self._accounts[sid] = {"token": token, "numbers": set(numbers),
                                   "services": set(messaging_services), "parent": parent}

    def seed_number(self, number, account_sid=None):
        with self._lock:
            self._accounts[account_sid or self.account_sid]["numbers"].add(number)

    def opt_out(self, number, on=True):
        """The recipient texted STOP (21610) — or START again (on=False)."""
        with self._lock:
            (self._opt_outs.add if on else self._opt_outs.discard)(number)

    def block_region(self, prefix):
        """Geo permissions exclude numbers starting with prefix (21408)."""
        with self._lock:
            self._blocked_prefixes.append(prefix)

    def set_concurrency(self, limit):
        """Requests in flight allowed per account before 429 20429."""
        with self._lock:
            self.concurrency = int(limit)

    def messages(self, to=None):
        """Messages created (dicts: sid, to, from, messaging_service_sid, body,
        media, status_callback, status, time, account_sid)."""
        with self._lock:
            return [m for m in self._messages if to is None or m["to"] == to]

    # --- the REST API ------------------------------------------------------------------

    def fault_reply(self, status):
        known = {429: (20429, "Too Many Requests"), 500: (20500, "Internal Server Error"),
                 503: (20503, "Service Unavailable")}
        code, message = known.get(status, (20500 if status >= 500 else 20001, "Error"))
        return twerr(status, code, message)

    def _authenticate(self, req):
        auth = req.header("Authorization", "")
        if not auth[:6].lower() == "basic ":
            return None, twerr(401, 20003, "Authentication Error - No credentials provided")
        try:
            pair = base64.b64decode(auth[6:].strip(), validate=True).decode()
            user, _, secret = pair.partition(":")
        except (ValueError, UnicodeDecodeError):
            user, secret = "", ""
        account = None
        if user in self._accounts and hmac.compare_digest(
                self._accounts[user]["token"].encode(), secret.encode()):
            account = user
        elif user in self._keys and hmac.compare_digest(self._keys[user]["secret"].encode(),
                                                        secret.encode()):
            account = self._keys[user]["account"]
        if account is None:
            r = twerr(401, 20003, "Authenticate", "Your AccountSid or AuthToken was incorrect.")
            return None, r
        return account, None

    def handle(self, req):
        m = MESSAGES_PATH.match(req.path)
        if not m:
            return twerr(404, 20404, f"The requested resource {req.path} was not found")
        account, refused = self._authenticate(req)
        if refused:
            refused.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return refused
        sid = m.group(1)
        target = self._accounts.get(sid)
        if target is None or (sid != account and target["parent"] != account):
            return twerr(404, 20404, f"The requested resource {req.path} was not found")
        if req.method != "POST":
            return twerr(405, 20004, "Method not allowed")
        if req.concurrent > self.concurrency:
            return twerr(429, 20429, "Too Many Requests")
        # A JSON body is not a form: every parameter is missing.
        form = req.form or {}
        p = {k: v[-1] for k, v in form.items()}
        return self._create(sid, target, p, form.get("MediaUrl", []))

    def _create(self, sid, account, p, media):
        to, from_, mss = p.get("To"), p.get("From"), p.get("MessagingServiceSid")
        body, callback = p.get("Body"), p.get("StatusCallback")
        if not to:
            return twerr(400, 21604, "A 'To' phone number is required.")
        if to in MAGIC_TO and to != "+15005550004":
            code, message = MAGIC_TO[to]
            return twerr(400, code, message)
        if not E164.match(to):
            return twerr(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not from_ and not mss:
            return twerr(400, 21603, "A 'From' phone number is required.")
        if mss and mss not in account["services"]:
            return twerr(400, 21701, f"The Messaging Service Sid {mss} is invalid.")
        if from_:
            if from_ in MAGIC_FROM:
                code, message = MAGIC_FROM[from_]
                return twerr(400, code, message)
            if not (E164.match(from_) or ALPHA_SENDER.match(from_)):
                return twerr(400, 21212, f"Invalid From Number (caller ID): {from_}")
            if from_ not in account["numbers"]:
                return twerr(400, 21606, f"The From phone number {from_} is not a valid, "
                             "SMS-capable inbound phone number or short code for your account.")
        if not body and not media:
            return twerr(400, 21602, "Message body is required.")
        if body and len(body) > 1600:
            return twerr(400, 21617, "The concatenated message body exceeds the 1600 character "
                         "limit")
        if len(media) > 10 or any(not u.startswith(("http://", "https://")) for u in media):
            return twerr(400, 21620, "Invalid media URL(s)")
        if callback is not None and not callback.startswith(("http://", "https://")):
            return twerr(400, 21609, f"Invalid StatusCallback url: {callback}")
        if to in self._opt_outs or to == "+15005550004":
            return twerr(400, 21610, "Attempt to send to unsubscribed recipient")
        if any(to.startswith(pfx) for pfx in self._blocked_prefixes):
            return twerr(400, 21408, "Permission to send an SMS has not been enabled for the "
                         f"region indicated by the 'To' number: {to}.")

        msg_sid = ("MM" if media else "SM") + random_hex(32)
        now = self.now()
        date = formatdate(now, usegmt=True).replace("GMT", "+0000")
        status = "accepted" if mss else "queued"
        msg = {"sid": msg_sid, "account_sid": sid, "to": to, "from": from_,
               "messaging_service_sid": mss, "body": body or "", "media": list(media),
               "status_callback": callback, "status": status, "time": now}
        self._messages.append(msg)
        uri = f"/2010-04-01/Accounts/{sid}/Messages/{msg_sid}"
        return Reply(201, {
            "account_sid": sid, "api_version": "2010-04-01", "body": body or "",
            "date_created": date, "date_sent": None, "date_updated": date,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": from_, "messaging_service_sid": mss, "num_media": str(len(media)),
            "num_segments": str(segments(body or "")), "price": None, "price_unit": "USD",
            "sid": msg_sid, "status": status,
            "subresource_uris": {"media": uri + "/Media.json"}, "to": to, "uri": uri + ".json"})

    # --- webhooks -----------------------------------------------------------------------------

    def sign(self, url, body, wrong=False):
        params = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
        token = "not-" + self.auth_token if wrong else self.auth_token
        return {"X-Twilio-Signature": signature(token, url, params)}

    def _fire_form(self, url, params, signature_variant, idempotency_token=None):
        body = urllib.parse.urlencode(params).encode()
        headers = {"I-Twilio-Idempotency-Token": idempotency_token or str(uuid.uuid4()),
                   "User-Agent": "TwilioProxy/1.1", "Accept": "*/*"}
        return self.fire(body, "application/x-www-form-urlencoded", url=url,
                         signature=signature_variant, headers=headers)

    def send_status(self, sid, status, error_code=None, url=None, signature="valid",
                    idempotency_token=None):
        """The StatusCallback for a created message: sent, delivered,
        undelivered or failed (ErrorCode default 30003 / 30008), read. Posted
        to its StatusCallback (or url). Call redeliver(hook) for Twilio's retry
        (same I-Twilio-Idempotency-Token)."""
        if status not in ("queued", "sending", "sent", "delivered", "undelivered", "failed",
                          "read", "canceled"):
            raise EmulatorError(f"twilio: unknown status {status!r}")
        with self._lock:
            msg = next((m for m in self._messages if m["sid"] == sid), None)
            if msg is None:
                raise EmulatorError(f"twilio: no message {sid!r}")
            url = url or msg["status_callback"]
            if not url:
                raise EmulatorError(f"twilio: message {sid} has no StatusCallback")
            url = url.split("#", 1)[0]  # connection overrides are not part of the URL
            msg["status"] = status
            params = [("SmsSid", sid), ("SmsStatus", status), ("MessageStatus", status),
                      ("To", msg["to"]), ("MessageSid", sid), ("AccountSid", msg["account_sid"])]
            if msg["from"]:
                params.append(("From", msg["from"]))
            if msg["messaging_service_sid"]:
                params.append(("MessagingServiceSid", msg["messaging_service_sid"]))
            params.append(("ApiVersion", "2010-04-01"))
            if status in ("undelivered", "failed"):
                params.append(("ErrorCode", str(error_code or (30003 if status == "undelivered"
                                                               else 30008))))
            if status in ("delivered", "undelivered"):
                params.append(("RawDlrDoneDate", time.strftime("%y%m%d%H%M",
                                                               time.gmtime(self.now()))))
        return self._fire_form(url, params, signature, idempotency_token)

    def send_inbound(self, from_, body, to=None, media=(), url=None, signature="valid"):
        """A customer's SMS to one of our numbers, posted to sms_url (or url).
        "STOP" opts the sender out (21610 afterwards), "START" back in."""
        url = url or self.sms_url
        if not url:
            raise EmulatorError("twilio: no inbound SMS URL (sms_url)")
        word = body.strip().upper()
        if word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"):
            self.opt_out(from_)
        elif word in ("START", "YES", "UNSTOP"):
            self.opt_out(from_, on=False)
        with self._lock:
            to = to or sorted(self._accounts[self.account_sid]["numbers"])[0]
        sid = "SM" + random_hex(32)
        params = [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", str(len(media))),
                  ("SmsSid", sid), ("SmsStatus", "received"), ("Body", body), ("To", to),
                  ("NumSegments", str(segments(body))), ("MessageSid", sid),
                  ("AccountSid", self.account_sid), ("From", from_), ("ApiVersion", "2010-04-01")]
        for i, (media_url, ctype) in enumerate(media):
            params += [(f"MediaUrl{i}", media_url), (f"MediaContentType{i}", ctype)]
        return self._fire_form(url, params, signature)
