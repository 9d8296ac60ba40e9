"""meta — what the Messenger/Instagram and WhatsApp emulators share as Graph API
products: the versioned send path, access tokens (query, form or Bearer), the
error envelope with fbtrace ids, and the X-Hub-Signature headers of webhooks.

Subtle: Graph answers OAuth errors with HTTP 400 on Messenger but WhatsApp's
error table says 401: the HTTP status is the caller's choice here, the body
is the same envelope.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import time

from .http_emulator import Reply

# POST /v25.0/{object}/messages
SEND_PATH = re.compile(r"^/v(\d+)\.(\d+)/([^/]+)/messages$")

GRAPH_DOC = ("Please read the Graph API documentation at "
             "https://developers.facebook.com/docs/graph-api")


def fbtrace_id():
    return base64.b64encode(secrets.token_bytes(8)).decode()[:11]


def error(http_status, message, code, type_="OAuthException", subcode=None,
          error_data=None, is_transient=None, headers=None):
    """Graph's error envelope: {"error": {message, type, code, [error_subcode],
    [error_data], [is_transient], fbtrace_id}}."""
    e = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        e["error_subcode"] = subcode
    if error_data is not None:
        e["error_data"] = error_data
    if is_transient is not None:
        e["is_transient"] = is_transient
    e["fbtrace_id"] = fbtrace_id()
    hdrs = {"Content-Type": "application/json; charset=UTF-8"}
    if type_ == "OAuthException" and code == 190:
        hdrs["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
    hdrs.update(headers or {})
    return Reply(http_status, {"error": e}, hdrs)


def unknown_path(path):
    return error(400, f"Unknown path components: {path}", 2500)


def unsupported(method, obj):
    return error(400, f"Unsupported {method} request. Object with ID '{obj}' does not exist, "
                 "cannot be loaded due to missing permissions, or does not support this "
                 f"operation. {GRAPH_DOC}", 100, type_="GraphMethodException", subcode=33)


def tokens_of(req):
    """Every distinct access token the request carries (query, form, Bearer)."""
    found = set(req.query.get("access_token", []))
    if req.form is not None:
        found.update(req.form.get("access_token", []))
    auth = req.header("Authorization", "")
    if auth[:7].lower() == "bearer ":
        found.add(auth[7:].strip())
    return {t for t in found if t}


def _pacific(ts):
    """Meta words token expiry in Pacific time."""
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo
        return datetime.fromtimestamp(ts, ZoneInfo("America/Los_Angeles")).strftime(
            "%A, %d-%b-%y %H:%M:%S %Z")
    except Exception:  # no zone data: UTC says the same
        return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(ts))


def token_error(http_status, token_state, now):
    """The answer for an unknown (token_state None) or expired token, else None."""
    if token_state is None:
        return error(http_status, "Invalid OAuth access token - Cannot parse access token", 190)
    expires_at = token_state.get("expires_at")
    if expires_at is not None and now >= expires_at:
        return error(http_status,
                     f"Error validating access token: Session has expired on "
                     f"{_pacific(expires_at)}. The current time is {_pacific(now)}.",
                     190, subcode=463)
    return None


def appsecret_proof(app_secret, token):
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def hub_signature_headers(app_secret, body):
    """X-Hub-Signature-256 (HMAC-SHA256 of the raw body, app secret) and the
    legacy X-Hub-Signature (HMAC-SHA1), as Meta sends both."""
    return {
        "X-Hub-Signature-256": "sha256=" + hmac.new(app_secret.encode(), body,
                                                    hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest(),
    }


def json_value(raw):
    """A form field holding JSON (Graph also takes the docs' single-quoted
    form, e.g. recipient={'id':'123'}); None when it is not JSON."""
    for candidate in (raw, raw.replace("'", '"')):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None

