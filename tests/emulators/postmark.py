"""postmark — Postmark's inbound webhook as Postmark documents it: the
emulator is the sender, posting Postmark-shaped inbound JSON to carebus with
HTTP Basic credentials taken from the webhook URL (https://user:pass@host/...),
retrying non-200 answers on Postmark's ladder (stopping at 403).

Subtle: Postmark's MessageID is its own UUID; the email's Message-ID,
In-Reply-To and References travel in Headers[]. reply_to() turns a message
carebus sent (an smtp.Mail) into the customer's answer, threaded as a mail
client would (In-Reply-To, References, the plus-address as MailboxHash).
"""

import base64
import email.utils
import threading
import time
import urllib.parse
import uuid

from .http_emulator import EmulatorError, Webhook, dumps, post

# Postmark's retry ladder after a non-200 (403 stops it): 10 retries in ~10.5 h.
RETRY_DELAYS_S = (60, 300, 600, 600, 600, 900, 1800, 3600, 7200, 21600)


def _address(value):
    name, addr = email.utils.parseaddr(value)
    return name, addr


def _mailbox_hash(addr):
    local = addr.split("@", 1)[0]
    return local.split("+", 1)[1] if "+" in local else ""


class PostmarkSender:
    """Posts inbound email to carebus as Postmark does. url carries the Basic
    credentials: http://user:password@127.0.0.1:<port>/v1/webhooks/email."""

    name = "postmark"

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        if parts.username is None:
            raise EmulatorError("postmark: the webhook URL carries the credentials "
                                "(http://user:password@host/path)")
        self.username = urllib.parse.unquote(parts.username)
        self.password = urllib.parse.unquote(parts.password or "")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.target = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        self._lock = threading.Lock()
        self._sent = []

    def sent(self):
        """Every POST made so far (Webhook records), oldest first."""
        with self._lock:
            return list(self._sent)

    def payload(self, from_email="customer@example.test", from_name="Customer", subject="",
                text="", html=None, to="support@carebus.example", message_id=None,
                in_reply_to=None, references=(), mailbox_hash=None, attachments=(),
                date=None, stripped_reply=None, extra_headers=()):
        """A Postmark inbound JSON document. message_id, in_reply_to and
        references are RFC Message-IDs without angle brackets; attachments
        are (name, bytes, content_type[, content_id])."""
        to_name, to_addr = _address(to)
        message_id = message_id or f"{uuid.uuid4()}@mail.example.test"
        headers = [{"Name": "Return-Path", "Value": f"<{from_email}>"},
                   {"Name": "X-Spam-Status", "Value": "No"},
                   {"Name": "X-Spam-Score", "Value": "-0.1"},
                   {"Name": "Message-ID", "Value": f"<{message_id}>"}]
        if in_reply_to:
            headers.append({"Name": "In-Reply-To", "Value": f"<{in_reply_to}>"})
        if references:
            headers.append({"Name": "References",
                            "Value": " ".join(f"<{r}>" for r in references)})
        headers += [{"Name": n, "Value": v} for n, v in extra_headers]
        mh = _mailbox_hash(to_addr) if mailbox_hash is None else mailbox_hash
        atts = []
        for a in attachments:
            name, data, ctype = a[0], a[1], a[2]
            atts.append({"Name": name, "Content": base64.b64encode(data).decode(),
                         "ContentType": ctype, "ContentLength": len(data),
                         "ContentID": a[3] if len(a) > 3 else ""})
        return {
            "FromName": from_name, "MessageStream": "inbound", "From": from_email,
            "FromFull": {"Email": from_email, "Name": from_name, "MailboxHash": ""},
            "To": f'"{to_name}" <{to_addr}>' if to_name else to_addr,
            "ToFull": [{"Email": to_addr, "Name": to_name, "MailboxHash": mh}],
            "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [],
            "OriginalRecipient": to_addr, "ReplyTo": "", "Subject": subject,
            "MessageID": str(uuid.uuid4()), "MailboxHash": mh,
            "Date": date or email.utils.formatdate(localtime=False),
            "TextBody": text, "HtmlBody": html if html is not None else f"<p>{text}</p>",
            "StrippedTextReply": stripped_reply if stripped_reply is not None else text,
            "Tag": "", "Headers": headers, "Attachments": atts}

    def reply_to(self, mail, text, from_email=None, from_name="Customer"):
        """The customer's answer to a message carebus sent (an smtp.Mail): to
        its Reply-To (else From), In-Reply-To its Message-ID, References its
        References plus its Message-ID, "Re: " subject, the original quoted."""
        msg = mail.message
        own_id = str(msg.get("Message-ID", "")).strip().strip("<>")
        if not own_id:
            raise EmulatorError("postmark: the message has no Message-ID to answer")
        refs = [r.strip("<>") for r in str(msg.get("References", "")).split() if r.strip()]
        if not refs and msg.get("In-Reply-To"):
            refs = [str(msg["In-Reply-To"]).strip().strip("<>")]
        subject = str(msg.get("Subject", ""))
        if not subject.lower().startswith("re:"):
            subject = "Re: " + subject
        to = str(msg.get("Reply-To") or msg.get("From"))
        quoted = "\n".join("> " + line for line in (mail.text or "").splitlines())
        return self.payload(from_email=from_email or mail.rcpt_tos[0], from_name=from_name,
                            subject=subject, text=f"{text}\n\nOn {msg.get('Date')}, "
                            f"{msg.get('From')} wrote:\n{quoted}", to=to,
                            in_reply_to=own_id, references=refs + [own_id],
                            stripped_reply=text)

    def send(self, payload, credentials="url", timeout=10.0):
        """One POST: credentials "url" (those in the URL), "none", "wrong", or
        a (user, password) pair. Returns the Webhook record."""
        if credentials == "url":
            creds = (self.username, self.password)
        elif credentials == "wrong":
            creds = (self.username, "not-" + self.password)
        elif credentials == "none":
            creds = None
        else:
            creds = tuple(credentials)
        body = payload if isinstance(payload, bytes) else dumps(payload)
        headers = {"Content-Type": "application/json", "User-Agent": "Postmark"}
        if creds is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{creds[0]}:{creds[1]}".encode()).decode()
        hook = Webhook(url=self.target, target=self.target, headers=headers, body=body,
                       time=time.time())
        hook.status, hook.response, hook.error = post(self.target, body, headers, timeout)
        with self._lock:
            self._sent.append(hook)
        return hook

    def deliver(self, payload, time_scale=0.0, credentials="url", timeout=10.0):
        """Postmark's delivery: POST, and after any non-200 retry on its ladder
        (delays multiplied by time_scale) until a 200, a 403, or 10 retries.
        Returns every attempt."""
        attempts = [self.send(payload, credentials, timeout)]
        for delay in RETRY_DELAYS_S:
            if attempts[-1].status in (200, 403):
                break
            time.sleep(delay * time_scale)
            attempts.append(self.send(payload, credentials, timeout))
        return attempts
