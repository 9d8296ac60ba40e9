"""http_emulator — what every HTTP provider emulator shares: a threaded server
on 127.0.0.1 (a free port the kernel picks), the recorder, fault injection, the
emulator's clock, the private control API under /__emu/ and the delivery of
signed webhooks to carebus.

Subtle:
  * A fault is taken before the provider looks at a request (its front end
    failed: nothing was processed), except with process=True, which models the
    sender's worst case: the provider acted and the answer was lost.
  * Provider handlers run under the emulator's lock; injected delays and the
    configured latency wait without holding it, so slow answers do not serialise.
  * Webhooks are posted without the lock held (carebus may be sending to us at
    the same time) and without any proxy from the environment.
"""

import itertools
import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL_PREFIX = "/__emu/"


class EmulatorError(Exception):
    """A misuse of an emulator by a test (not a provider refusal)."""


def random_hex(n):
    """n lower-case hex digits."""
    return secrets.token_hex((n + 1) // 2)[:n]


def dumps(obj):
    """Compact JSON as the providers write it (UTF-8, no ASCII escaping)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def jsonable(x):
    """x with records turned into dicts, for the control API's answers."""
    if hasattr(x, "to_json"):
        return x.to_json()
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [jsonable(v) for v in x]
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return x


@dataclass
class Reply:
    """An answer: body is bytes, str, or a JSON value (sent as application/json)."""
    status: int
    body: object = b""
    headers: dict = field(default_factory=dict)

    def encoded(self):
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, (dict, list)):
            body = dumps(body)
            headers.setdefault("Content-Type", "application/json; charset=UTF-8")
        elif isinstance(body, str):
            body = body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=UTF-8")
        return body, headers


@dataclass(eq=False)
class Request:
    """One request as the emulator received it, and what it answered."""
    seq: int
    time: float                     # wall clock (time.time()) at arrival
    method: str
    path: str                       # without the query
    query: dict                     # name -> [values]
    headers: object                 # http.client.HTTPMessage: case-insensitive .get()
    body: bytes
    json: object = None             # the body parsed, when it is JSON
    form: dict = None               # name -> [values], when it is a form
    status: int = None              # the answer's status; None: no answer (reset, dropped)
    response: bytes = None
    response_headers: dict = None
    fault: str = None               # the injected fault that answered, if any
    concurrent: int = 0             # provider requests in flight when it arrived (itself too)
    done: bool = False

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def data(self):
        """The parsed body: JSON value, or the form with single values."""
        if self.json is not None:
            return self.json
        if self.form is not None:
            return {k: v[0] if len(v) == 1 else v for k, v in self.form.items()}
        return None

    @property
    def response_json(self):
        try:
            return json.loads(self.response) if self.response else None
        except ValueError:
            return None

    def to_json(self):
        return {"seq": self.seq, "time": self.time, "method": self.method, "path": self.path,
                "query": self.query, "headers": dict(self.headers.items()),
                "body": self.body.decode("utf-8", "replace"), "data": self.data,
                "status": self.status, "response": jsonable(self.response),
                "fault": self.fault}


@dataclass(eq=False)
class Webhook:
    """One webhook the emulator fired at carebus, and carebus's answer."""
    url: str                        # the URL the provider believes it calls (and signs)
    target: str                     # where it was posted (after the test's routes)
    headers: dict
    body: bytes
    time: float
    status: int = None              # carebus's answer; None when the POST failed
    response: bytes = b""
    error: str = None

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def response_json(self):
        try:
            return json.loads(self.response)
        except ValueError:
            return None

    def to_json(self):
        return {"url": self.url, "target": self.target, "headers": self.headers,
                "body": self.body.decode("utf-8", "replace"), "time": self.time,
                "status": self.status, "response": self.response.decode("utf-8", "replace"),
                "error": self.error}


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url, body, headers, timeout=10.0):
    """POST body to url: (status, response body, error text); never raises on
    HTTP errors or a refused connection."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, r.read(), None
    except urllib.error.HTTPError as e:
        return e.code, e.read(), None
    except (OSError, urllib.error.URLError) as e:
        return None, b"", str(e)


@dataclass
class Fault:
    kind: str                       # "status" | "delay" | "reset"
    count: int
    reply: Reply = None
    delay: float = 0.0
    process: bool = False
    path: str = None                # regex the request path must match

    def matches(self, req):
        return self.path is None or re.search(self.path, req.path) is not None


class RateWindow:
    """A fixed window of `period` seconds allowing `limit` calls (the
    emulator's clock). take() counts a call and says whether it is allowed."""

    def __init__(self, limit, period=1.0):
        self.limit, self.period = int(limit), float(period)
        self.start, self.count = 0.0, 0

    def take(self, now):
        if now - self.start >= self.period:
            self.start, self.count = now, 0
        self.count += 1
        return self.count <= self.limit

    def remaining(self, now):
        if now - self.start >= self.period:
            return self.limit
        return max(0, self.limit - self.count)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection is closed after this

    def setup(self):
        super().setup()
        self.server.emu._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.emu._conn_closed(self.connection)

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server.emu.server_header

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _serve(self):
        try:
            body = self._read_body()
        except ValueError:
            self.send_reply(Reply(400, "bad chunked body"))
            self.close_connection = True
            return
        self.server.emu._dispatch(self, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def send_reply(self, reply, encoded=None):
        body, headers = encoded or reply.encoded()
        self.send_response(reply.status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        return body, headers

    def reset_connection(self):
        """Abort with a TCP RST: the client sees "connection reset by peer"."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True


class HttpEmulator:
    """Base of the provider emulators. Subclasses implement handle(req) -> Reply
    (called under the lock), fault_reply(status), _seed() (the initial state),
    and for webhooks sign(url, body, wrong=False) -> headers.

    Use as a context manager, or start()/stop(). Everything a test calls here
    is also reachable as POST {url}/__emu/<name> with the keyword arguments as
    a JSON object (GET for requests and webhooks)."""

    name = "emulator"
    server_header = "emulator"
    # Methods a test may call through the control API (subclasses add theirs).
    CONTROL = ()
    BASE_CONTROL = ("reset", "fail_next", "rate_limit_next", "delay_next", "reset_next",
                    "clear_faults", "advance", "set_latency", "route", "set_webhook_url",
                    "requests", "webhooks", "wait_requests")

    def __init__(self, webhook_url=None):
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self._conns = set()
        self._seq = itertools.count(1)
        self._offset = 0.0
        self._routes = []
        self.webhook_url = webhook_url
        # A live count, not a record: reset() leaves it (answered requests may
        # still be finishing).
        self.in_flight = 0
        self._clear_records()
        with self._lock:
            self._seed()

    def _clear_records(self):
        self._requests = []
        self._webhooks = []
        self._faults = []
        self._latency = 0.0
        self.errors = []  # tracebacks of the emulator's own bugs (answered 500)

    # --- lifecycle -------------------------------------------------------------

    def start(self):
        if self._server is not None:
            raise EmulatorError(f"{self.name}: already started")
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.emu = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"emu-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stopping.set()
        with self._lock:
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        if self._server is None:
            raise EmulatorError(f"{self.name}: not started")
        return self._server.server_address[1]

    @property
    def url(self):
        """Base URL, e.g. http://127.0.0.1:41234 (carebus's provider base URL)."""
        return f"http://127.0.0.1:{self.port}"

    def _conn_opened(self, sock):
        with self._lock:
            self._conns.add(sock)

    def _conn_closed(self, sock):
        with self._lock:
            self._conns.discard(sock)

    # --- clock -----------------------------------------------------------------

    def now(self):
        """The emulator's time (wall clock plus advance())."""
        return time.time() + self._offset

    def advance(self, seconds):
        """Move the emulator's clock forward: tokens expire, windows close."""
        with self._lock:
            self._offset += float(seconds)
            return self._offset

    # --- state -----------------------------------------------------------------

    def _seed(self):
        """Set the initial provider state (called under the lock)."""

    def reset(self, state=False):
        """Forget recorded requests and webhooks, pending faults, the latency
        and errors; with state=True also the provider state (tokens, users,
        messages, counters) and the clock go back to their initial values.
        The webhook URL and routes (configuration) stay."""
        with self._lock:
            self._clear_records()
            if state:
                self._offset = 0.0
                self._seed()
            self._changed.notify_all()

    def set_latency(self, seconds):
        """Every provider request waits this long before it is handled. It
        applies to requests already waiting too: set it high to hold answers,
        then lower it (0) to release them."""
        with self._lock:
            self._latency = float(seconds)
            self._changed.notify_all()

    def _wait_latency(self):
        """False when the emulator stopped meanwhile."""
        start = time.monotonic()
        with self._lock:
            while not self._stopping.is_set():
                left = start + self._latency - time.monotonic()
                if left <= 0:
                    return True
                self._changed.wait(min(left, 0.1))
        return False

    # --- the recorder ------------------------------------------------------------

    def requests(self, path=None, method=None, path_re=None, status=None, since=None,
                 where=None):
        """Recorded provider requests (not the control API's), oldest first,
        filtered by exact path, regex path_re, method, answered status, seq >
        since, or a predicate."""
        with self._lock:
            out = list(self._requests)
        if path is not None:
            out = [r for r in out if r.path == path]
        if path_re is not None:
            out = [r for r in out if re.search(path_re, r.path)]
        if method is not None:
            out = [r for r in out if r.method == method.upper()]
        if status is not None:
            out = [r for r in out if r.status == int(status)]
        if since is not None:
            out = [r for r in out if r.seq > int(since)]
        if where is not None:
            out = [r for r in out if where(r)]
        return out

    def wait_requests(self, n=1, timeout=10.0, answered=True, **filters):
        """Wait (bounded) until at least n matching requests were answered
        (answered=False: arrived, e.g. held by set_latency)."""
        deadline = time.monotonic() + float(timeout)
        with self._lock:
            while True:
                got = [r for r in self.requests(**filters) if r.done or not answered]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: {len(got)} of {n} requests {filters or ''} after "
                        f"{timeout}s; received: "
                        f"{[(r.method, r.path, r.status) for r in self._requests][-10:]}")
                self._changed.wait(min(left, 0.5))

    def webhooks(self):
        """Webhooks fired so far, oldest first."""
        with self._lock:
            return list(self._webhooks)

    def _record(self, handler, body):
        parts = urllib.parse.urlsplit(handler.path)
        req = Request(seq=next(self._seq), time=time.time(), method=handler.command,
                      path=parts.path, query=urllib.parse.parse_qs(parts.query,
                                                                   keep_blank_values=True),
                      headers=handler.headers, body=body)
        ctype = handler.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == "application/json" or (ctype == "" and body[:1] in (b"{", b"[")):
            try:
                req.json = json.loads(body)
            except ValueError:
                pass
        elif ctype == "application/x-www-form-urlencoded":
            try:
                req.form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            except (ValueError, UnicodeDecodeError):
                pass
        return req

    # --- dispatch ----------------------------------------------------------------

    def _dispatch(self, handler, body):
        req = self._record(handler, body)
        if req.path.startswith(CONTROL_PREFIX):
            handler.send_reply(self._control(req))
            return
        with self._lock:
            self._requests.append(req)
            self.in_flight += 1
            req.concurrent = self.in_flight
            fault = self._take_fault(req)
            self._changed.notify_all()
        try:
            self._serve_provider(handler, req, fault)
        finally:
            with self._lock:
                self.in_flight -= 1
                req.done = True
                self._changed.notify_all()

    def _serve_provider(self, handler, req, fault):
        if fault is not None and fault.kind == "status":
            req.fault = f"status {fault.reply.status}"
            self._answer(handler, req, fault.reply)
            return
        if fault is not None and fault.kind == "delay":
            req.fault = f"delay {fault.delay}s"
            if self._stopping.wait(fault.delay):
                handler.reset_connection()
                return
            if not fault.process:
                handler.reset_connection()
                return
        if fault is not None and fault.kind == "reset":
            req.fault = "reset"
            if fault.process:
                with self._lock:
                    self.handle(req)
            handler.reset_connection()
            return
        if not self._wait_latency():
            handler.reset_connection()
            return
        with self._lock:
            try:
                reply = self.handle(req)
            except Exception:  # a bug here, not a provider answer: loud, and answered
                self.errors.append(traceback.format_exc())
                sys.stderr.write(f"{self.name} emulator: {self.errors[-1]}")
                reply = Reply(500, "emulator error:\n" + self.errors[-1])
                req.fault = "emulator error"
        self._answer(handler, req, reply)

    def _answer(self, handler, req, reply):
        # Recorded before it is written: a client that has the answer finds it here.
        encoded = reply.encoded()
        req.status, req.response, req.response_headers = reply.status, *encoded
        try:
            handler.send_reply(reply, encoded)
        except OSError:  # the client went away (it timed out): the answer is lost
            handler.close_connection = True

    def handle(self, req):
        """The provider's answer to req (under the lock). Subclasses override."""
        return Reply(404, "Not Found")

    # --- faults ------------------------------------------------------------------

    def fault_reply(self, status):
        """The provider's own body for an injected error status."""
        return Reply(status, {"error": f"injected {status}"})

    def _take_fault(self, req):
        for f in self._faults:
            if f.count > 0 and f.matches(req):
                f.count -= 1
                if f.count == 0:
                    self._faults.remove(f)
                return f
        return None

    def _add_fault(self, fault):
        if fault.count < 1:
            raise EmulatorError("a fault needs n >= 1")
        with self._lock:
            self._faults.append(fault)

    def fail_next(self, n=1, status=500, body=None, retry_after=None, headers=None, path=None):
        """The next n provider requests (matching regex path) are answered with
        status and the provider's own error body (or body), nothing processed."""
        reply = self.fault_reply(status) if body is None else Reply(status, body)
        reply.headers = dict(reply.headers, **(headers or {}))
        if retry_after is not None:
            reply.headers["Retry-After"] = str(retry_after)
        self._add_fault(Fault("status", int(n), reply=reply, path=path))

    def rate_limit_next(self, n=1, retry_after=None, path=None):
        """The next n requests get 429 (with Retry-After when given)."""
        self.fail_next(n, status=429, retry_after=retry_after, path=path)

    def delay_next(self, n=1, seconds=5.0, process=True, path=None):
        """The next n requests wait seconds (beyond the client's timeout), then
        are handled and answered (process=True: the provider acted, the client
        never learns it) or the connection is reset unprocessed."""
        self._add_fault(Fault("delay", int(n), delay=float(seconds), process=bool(process),
                              path=path))

    def reset_next(self, n=1, process=False, path=None):
        """The next n requests see their connection reset (after the provider
        acted, with process=True)."""
        self._add_fault(Fault("reset", int(n), process=bool(process), path=path))

    def clear_faults(self):
        with self._lock:
            self._faults = []

    # --- webhooks ------------------------------------------------------------------

    def set_webhook_url(self, url):
        """Where the provider's webhooks go (the URL set in its console)."""
        with self._lock:
            self.webhook_url = url

    def route(self, public_prefix, local_prefix):
        """Post webhooks meant for public_prefix... to local_prefix... instead
        (signatures still cover the public URL, as behind a reverse proxy)."""
        with self._lock:
            self._routes.append((public_prefix, local_prefix))

    def _target(self, url):
        for public, local in reversed(self._routes):
            if url.startswith(public):
                return local + url[len(public):]
        return url

    def sign(self, url, body, wrong=False):
        """The provider's signature headers for body posted to url (with a
        wrong secret when wrong=True). Subclasses override."""
        return {}

    def tamper(self, body):
        """body altered after signing (still well-formed)."""
        return body + b" "

    def fire(self, body, content_type, url=None, signature="valid", headers=None,
             timeout=10.0):
        """Sign and POST body as the provider would. signature: "valid",
        "missing", "bad" (a wrong secret) or "tampered" (body changed after
        signing)."""
        url = url or self.webhook_url
        if not url:
            raise EmulatorError(f"{self.name}: no webhook URL (set_webhook_url)")
        hdrs = {"Content-Type": content_type}
        hdrs.update(headers or {})
        if signature == "valid":
            hdrs.update(self.sign(url, body))
        elif signature == "bad":
            hdrs.update(self.sign(url, body, wrong=True))
        elif signature == "tampered":
            hdrs.update(self.sign(url, body))
            body = self.tamper(body)
        elif signature != "missing":
            raise EmulatorError(f"unknown signature variant {signature!r}")
        return self.deliver(url, body, hdrs, timeout=timeout)

    def deliver(self, url, body, headers, timeout=10.0):
        """POST exactly these bytes and headers; record and return the Webhook."""
        with self._lock:
            target = self._target(url)
        hook = Webhook(url=url, target=target, headers=dict(headers), body=body,
                       time=time.time())
        hook.status, hook.response, hook.error = post(target, body, headers, timeout)
        with self._lock:
            self._webhooks.append(hook)
            self._changed.notify_all()
        return hook

    def redeliver(self, hook, timeout=10.0):
        """The same webhook again, byte for byte (the provider's retry)."""
        return self.deliver(hook.url, hook.body, hook.headers, timeout=timeout)

    # --- the control API -------------------------------------------------------------

    def _control(self, req):
        op = req.path[len(CONTROL_PREFIX):].strip("/")
        ops = set(self.BASE_CONTROL) | set(self.CONTROL)
        if op == "":
            return Reply(200, {"emulator": self.name, "operations": sorted(ops)})
        if op not in ops:
            return Reply(404, {"error": f"unknown control operation {op!r}"})
        if req.method == "GET":
            kwargs = {k: v[-1] for k, v in req.query.items()}
        else:
            try:
                kwargs = json.loads(req.body or b"{}")
            except ValueError as e:
                return Reply(400, {"error": f"control body is not JSON: {e}"})
            if not isinstance(kwargs, dict):
                return Reply(400, {"error": "control body must be a JSON object"})
        try:
            result = getattr(self, op)(**kwargs)
        except (EmulatorError, TypeError, ValueError, KeyError) as e:
            return Reply(400, {"error": f"{type(e).__name__}: {e}"})
        return Reply(200, {"result": jsonable(result)})
