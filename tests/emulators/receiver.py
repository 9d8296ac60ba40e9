"""receiver — an integrator's webhook endpoint: accepts a POST on any path,
records it, answers 200 (or what set_answer / the fault helpers say), and
verifies Standard Webhooks v1 signatures (standardwebhooks.com), the scheme
carebus signs its own webhooks with.

Subtle: verify_standard_webhook() is written from the specification, not
from carebus's code, so that it checks carebus rather than agreeing with it.
"""

import base64
import hashlib
import hmac
import time

from .http_emulator import HttpEmulator, Reply


def standard_webhook_signature(secret, msg_id, timestamp, body):
    """v1 signature: base64(HMAC-SHA256(base64-decoded secret after whsec_,
    "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def verify_standard_webhook(secret, headers, body, tolerance=300, now=None):
    """True when headers (a mapping with .get) carry a valid v1 signature of
    body with a timestamp within tolerance seconds."""
    msg_id, ts, sigs = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                        headers.get("webhook-signature"))
    if not (msg_id and ts and sigs) or not ts.isdigit():
        return False
    if abs(int(now if now is not None else time.time()) - int(ts)) > tolerance:
        return False
    want = standard_webhook_signature(secret, msg_id, ts, body)
    return any(v == "v1" and hmac.compare_digest(s, want)
               for v, _, s in (p.partition(",") for p in sigs.split()))


class WebhookReceiver(HttpEmulator):
    """Records every POST; answers `status` with `body` (default 200, empty)."""

    name = "receiver"
    server_header = "receiver"
    CONTROL = ("set_answer",)

    def __init__(self, status=200, body=b""):
        self.config = dict(status=status, body=body)
        super().__init__(None)

    def _seed(self):
        self.answer = Reply(self.config["status"], self.config["body"])

    def set_answer(self, status=200, body=b"", headers=None):
        with self._lock:
            self.answer = Reply(int(status), body, dict(headers or {}))

    def fault_reply(self, status):
        return Reply(status, b"")

    def handle(self, req):
        if req.method != "POST":
            return Reply(405, b"")
        return Reply(self.answer.status, self.answer.body, dict(self.answer.headers))

    def verified(self, secret, tolerance=300):
        """The requests whose Standard Webhooks signature is valid for secret."""
        return self.requests(where=lambda r: verify_standard_webhook(secret, r.headers, r.body,
                                                                     tolerance))
