"""smtp — a submission server (RFC 6409) as carebus must find it: STARTTLS
required before anything but EHLO/NOOP/QUIT (530), AUTH PLAIN/LOGIN only
after TLS, MAIL refused before AUTH (530 5.7.0), bad
credentials 535 5.7.8; recipients refused permanently (550) or temporarily
(450) by policy; injected 421s and a connection dropped after DATA (the
sender cannot know whether the message was taken). Built on Debian's
python3-aiosmtpd; the certificate is made at run time (tls.py).

Subtle: the dialogue of every session is recorded (credentials redacted),
since the order STARTTLS → AUTH → MAIL is part of the contract. Mail.problems()
lists what a strict receiver would dislike in a message (bare LF, missing
Date/From/Message-ID, long lines, raw 8-bit headers, html before text).
"""

import email
import email.policy
import logging
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from .http_emulator import EmulatorError
from .tls import test_certificate

# aiosmtpd 1.4.3 logs a warning about its own use of Session.login_data on
# every AUTH: not news to a test.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(eq=False)
class Mail:
    """One message as received after the final dot."""
    session: int
    mail_from: str
    rcpt_tos: list
    raw: bytes
    tls: bool
    auth_user: str
    time: float
    acknowledged: bool = True       # False: the connection was dropped instead of 250

    @property
    def message(self):
        """The message parsed (email.message.EmailMessage)."""
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def header(self, name, default=None):
        v = self.message.get(name)
        return default if v is None else str(v)

    def part(self, content_type):
        """The decoded text of the first part of that type."""
        for p in self.message.walk():
            if p.get_content_type() == content_type and not p.is_multipart():
                return p.get_content()
        return None

    @property
    def text(self):
        return self.part("text/plain")

    @property
    def html(self):
        return self.part("text/html")

    def problems(self):
        """What a strict receiver would refuse or mangle (empty when clean)."""
        out = []
        raw = self.raw
        if b"\n" in raw.replace(b"\r\n", b""):
            out.append("bare LF line ending")
        if b"\r" in raw.replace(b"\r\n", b""):
            out.append("bare CR")
        if any(len(line) > 998 for line in raw.split(b"\r\n")):
            out.append("line longer than 998 octets")
        head = raw.split(b"\r\n\r\n", 1)[0]
        if any(b > 127 for b in head):
            out.append("8-bit bytes in the header (use RFC 2047 encoded words)")
        msg = self.message
        for h in ("Date", "From", "Message-ID"):
            if msg.get(h) is None:
                out.append(f"no {h} header")
        types = [p.get_content_type() for p in msg.walk() if not p.is_multipart()]
        if "text/plain" in types and "text/html" in types \
                and types.index("text/html") < types.index("text/plain"):
            out.append("text/html before text/plain in multipart/alternative")
        for p in msg.walk():
            if p.get_content_maintype() == "text" and not p.is_multipart():
                try:
                    p.get_content()
                except (LookupError, UnicodeError) as e:
                    out.append(f"undecodable {p.get_content_type()} part: {e}")
        return out


@dataclass(eq=False)
class Session:
    """One SMTP connection: its dialogue ("C: ..." / "S: ..."), TLS and AUTH."""
    number: int
    peer: tuple
    time: float
    dialogue: list = field(default_factory=list)
    tls: bool = False
    auth_user: str = None

    def commands(self):
        """The client's command verbs in order (EHLO, STARTTLS, AUTH, MAIL, ...)."""
        return [line[3:].split(" ", 1)[0].upper() for line in self.dialogue
                if line.startswith("C: ") and line[3:] and line[3:] != "***"
                and not line.startswith("C: <data>")]

    def replies(self):
        return [line[3:] for line in self.dialogue if line.startswith("S: ")]


class _Recorder:
    """Per connection: redacts AUTH material and DATA lines from the dialogue."""

    def __init__(self, session):
        self.s = session
        self.in_data = False
        self.secret_next = False

    def client(self, raw):
        line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        if self.in_data:
            if raw == b".\r\n":
                self.in_data = False
                self.s.dialogue.append("C: <data> .")
            return
        if self.secret_next:
            self.s.dialogue.append("C: ***")
            return
        if line.upper().startswith("AUTH "):
            line = " ".join(line.split(" ")[:2]) + (" ***" if len(line.split(" ")) > 2 else "")
        self.s.dialogue.append("C: " + line)

    def server(self, status):
        text = status.decode() if isinstance(status, bytes) else status
        self.s.dialogue.append("S: " + text)
        self.secret_next = text.startswith("334")
        if text.startswith("354"):
            self.in_data = True


class _SMTP(SMTP):
    """aiosmtpd's SMTP with the dialogue recorded."""

    def __init__(self, handler, emu, **kwargs):
        super().__init__(handler, **kwargs)
        self._emu = emu
        self._rec = None

    def connection_made(self, transport):
        fresh = self._rec is None
        super().connection_made(transport)
        if fresh:
            self._rec = _Recorder(self._emu._new_session(self.session.peer))
            reader, rec = self._reader, self._rec
            orig = reader.readuntil

            async def readuntil(separator=b"\n"):
                line = await orig(separator)
                rec.client(line)
                return line

            reader.readuntil = readuntil
        else:  # after STARTTLS: a new aiosmtpd session object, the same connection
            self._rec.s.tls = True
            self.session.emu_number = self._rec.s.number
        self.session.emu_number = self._rec.s.number

    async def push(self, status):
        if self._rec is not None:
            self._rec.server(status)
        await super().push(status)


class _Handler:
    def __init__(self, emu):
        self.emu = emu

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        fault = self.emu._take_fault("MAIL")
        if fault:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        fault = self.emu._take_fault("RCPT")
        if fault:
            return fault
        refused = self.emu._rcpt_policy(address)
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        fault = self.emu._take_fault("DATA")
        mail = self.emu._received(session, envelope, acknowledged=fault != "drop")
        if fault == "drop":
            server.transport.abort()  # nothing more is written: the 250 never comes
            return "250 OK"
        if fault:
            mail.acknowledged = False
            return fault
        return f"250 2.0.0 Ok: queued as {mail.session}.{len(self.emu.messages())}"


class _Controller(Controller):
    def __init__(self, emu, handler, **kwargs):
        self._emu = emu
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)

    def factory(self):
        with warnings.catch_warnings():
            # AUTH without TLS is what starttls=False is for.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return _SMTP(self.handler, self._emu, **self.SMTP_kwargs)

    def _trigger_server(self):
        # port=0: learn the port the kernel chose before the readiness probe.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpEmulator:
    """A submission server on 127.0.0.1 with STARTTLS (starttls=False: a server
    without it, which carebus must refuse to use) and AUTH for `users`."""

    name = "smtp"
    host = "127.0.0.1"

    def __init__(self, users=None, starttls=True, auth_required=True, allowed_domains=None):
        self.users = dict(users or {"carebus": "smtp-password-for-tests"})
        self.starttls = starttls
        self.auth_required = auth_required
        self.allowed_domains = allowed_domains
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._controller = None
        self.cafile = None
        self._clear()

    def _clear(self):
        self._mails, self._sessions, self._faults = [], [], []
        self._policy = {}

    @property
    def username(self):
        return next(iter(self.users))

    @property
    def password(self):
        return self.users[self.username]

    # --- lifecycle -----------------------------------------------------------------------

    def start(self):
        if self._controller is not None:
            raise EmulatorError("smtp: already started")
        kwargs = dict(authenticator=self._authenticate, auth_required=self.auth_required,
                      auth_require_tls=self.starttls, ready_timeout=10.0)
        if self.starttls:
            cert, key = test_certificate()
            self.cafile = cert
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
            kwargs.update(tls_context=ctx, require_starttls=True)
        self._controller = _Controller(self, _Handler(self), **kwargs)
        self._controller.start()
        with self._lock:  # the controller's readiness probe is not a client
            self._sessions = []
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        if self._controller is None:
            raise EmulatorError("smtp: not started")
        return self._controller.port

    @property
    def url(self):
        """smtp://127.0.0.1:<port> (submission with STARTTLS)."""
        return f"smtp://{self.host}:{self.port}"

    # --- policy and faults -----------------------------------------------------------------

    def reject(self, address, reply=None):
        """RCPT TO:<address> is refused permanently (550)."""
        with self._lock:
            self._policy[address.lower()] = reply or (
                f"550 5.1.1 <{address}>: Recipient address rejected: User unknown")

    def defer(self, address, reply=None):
        """RCPT TO:<address> is refused temporarily (450)."""
        with self._lock:
            self._policy[address.lower()] = reply or (
                f"450 4.2.1 <{address}>: Recipient address rejected: try again later")

    def fail_next(self, n=1, reply="421 4.3.2 Service not available", at="MAIL"):
        """The next n MAIL (or RCPT, DATA) commands get reply."""
        if at not in ("MAIL", "RCPT", "DATA"):
            raise EmulatorError("smtp: at is MAIL, RCPT or DATA")
        with self._lock:
            self._faults.append([at, int(n), reply])

    def drop_next(self, n=1):
        """The next n messages are received, then the connection is cut
        before the 250 (the sender cannot know whether it was taken)."""
        with self._lock:
            self._faults.append(["DATA", int(n), "drop"])

    def reset(self):
        """Forget messages, sessions, policies and faults."""
        with self._lock:
            self._clear()

    def _take_fault(self, at):
        with self._lock:
            for f in self._faults:
                if f[0] == at and f[1] > 0:
                    f[1] -= 1
                    if f[1] == 0:
                        self._faults.remove(f)
                    return f[2]
        return None

    def _rcpt_policy(self, address):
        with self._lock:
            if address.lower() in self._policy:
                return self._policy[address.lower()]
        domain = address.rsplit("@", 1)[-1].lower()
        if self.allowed_domains is not None and domain not in self.allowed_domains:
            return f"550 5.1.1 <{address}>: Recipient address rejected: domain not served"
        return None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = False
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode("utf-8", "replace")
            ok = self.users.get(user) == auth_data.password.decode("utf-8", "replace")
            if ok:
                with self._lock:
                    self._session(session).auth_user = user
        return AuthResult(success=ok, handled=False)

    # --- records ----------------------------------------------------------------------------

    def _new_session(self, peer):
        with self._lock:
            s = Session(number=len(self._sessions) + 1, peer=peer, time=time.time())
            self._sessions.append(s)
            return s

    def _session(self, aio_session):
        n = getattr(aio_session, "emu_number", None)
        for s in self._sessions:
            if s.number == n:
                return s
        return Session(number=0, peer=None, time=0)

    def _received(self, aio_session, envelope, acknowledged):
        with self._lock:
            s = self._session(aio_session)
            mail = Mail(session=s.number, mail_from=envelope.mail_from,
                        rcpt_tos=list(envelope.rcpt_tos),
                        raw=envelope.original_content or b"", tls=aio_session.ssl is not None,
                        auth_user=s.auth_user, time=time.time(), acknowledged=acknowledged)
            self._mails.append(mail)
            self._changed.notify_all()
            return mail

    def messages(self, rcpt=None):
        """Messages received (acknowledged or not), oldest first."""
        with self._lock:
            return [m for m in self._mails
                    if rcpt is None or rcpt.lower() in (r.lower() for r in m.rcpt_tos)]

    def sessions(self):
        with self._lock:
            return list(self._sessions)

    def wait_messages(self, n=1, timeout=10.0, rcpt=None):
        """Wait (bounded) until n messages (to rcpt) were received."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [m for m in self._mails
                       if rcpt is None or rcpt.lower() in (r.lower() for r in m.rcpt_tos)]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"smtp: {len(got)} of {n} messages after {timeout}s; "
                                         f"last dialogue: "
                                         f"{self._sessions[-1].dialogue if self._sessions else []}")
                self._changed.wait(min(left, 0.5))
