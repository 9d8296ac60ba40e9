"""Issue 6 acceptance: outbound webhook deliveries of survey.requested.

A local receiver (http.server on 127.0.0.1) fails twice then succeeds: the
survey service retries with backoff (short, through the environment), keeps
the pending delivery in PostgreSQL across a kill -9 in between, and in the
end the receiver saw exactly three attempts of one delivery id, each with
the same body and a valid signature. A receiver that never succeeds is
given up after CAREBUS_OUTBOUND_RETRY_S.
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import carebus_harness as h
from test_survey_support import WEBHOOK_SECRET, open_ticket, solve_ticket, start, survey_env, wait_requested


class Receiver:
    """Records every POST; answers 500 to the first `fail` of them, then 200."""

    def __init__(self, fail):
        self.fail = fail
        self.attempts = []  # (headers dict, raw body, status answered)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    status = 500 if len(outer.attempts) < outer.fail else 200
                    outer.attempts.append(({k.lower(): v for k, v in self.headers.items()}, body,
                                           status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", h.free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/carebus"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.attempts)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def signature_ok(headers, body):
    want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-carebus-signature", ""), want)


def delivery(st, url):
    rows = st.db.query("SELECT id::text, status, attempts FROM survey.deliveries WHERE url = %s",
                       (url,))
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_fails_twice_then_delivered_once_across_kill9(stack, pb2):
    flaky, steady = Receiver(fail=2), Receiver(fail=0)
    try:
        env = dict(CAREBUS_OUTBOUND_WEBHOOK_URLS=f"{flaky.url}, {steady.url}",
                   CAREBUS_OUTBOUND_WEBHOOK_SECRET=WEBHOOK_SECRET,
                   CAREBUS_OUTBOUND_BACKOFF_MS=2500, CAREBUS_OUTBOUND_RETRY_S=600)
        st = start(stack, **env)
        ticket, customer = open_ticket(st, 31, "Tôi muốn đổi trả sản phẩm")
        solve_ticket(st, pb2, ticket)
        s = wait_requested(st, ticket)

        # The first attempt failed and its outcome is recorded; the next one
        # waits out the backoff (>= 1.25 s) when the service is killed.
        h.wait_until("first attempt recorded",
                     lambda: (delivery(st, flaky.url) or (0, 0, 0))[2] == 1, h.scaled(15))
        st["survey"].kill9()
        assert delivery(st, flaky.url)[1] == "pending"
        st["survey"].start(extra_env=survey_env(st, **env))

        h.wait_until("delivered after three attempts",
                     lambda: delivery(st, flaky.url)[1] == "delivered", h.scaled(30),
                     on_timeout=lambda: st["survey"].log_tail())
        st["survey"].stop()  # nothing more can be sent now

        assert flaky.count() == 3, [a[2] for a in flaky.attempts]
        assert [a[2] for a in flaky.attempts] == [500, 500, 200]
        ids = {a[0]["x-carebus-delivery"] for a in flaky.attempts}
        assert len(ids) == 1, ids
        delivery_id = ids.pop()
        assert {a[1] for a in flaky.attempts} == {flaky.attempts[0][1]}, "same bytes every time"
        for headers, body, _ in flaky.attempts:
            assert signature_ok(headers, body), headers
            assert headers["content-type"] == "application/json"
        body = json.loads(flaky.attempts[0][1])
        assert body["delivery_id"] == delivery_id
        assert body["type"] == "survey.requested"
        assert body["ticket_id"] == ticket and body["customer_id"] == customer
        assert body["link"] == s["link"] and body["text"] == s["text"]
        assert (body["channel"], body["handle"], body["language"]) == ("zalo", "zalo-uid-00031", "vi")
        assert delivery(st, flaky.url) == (delivery_id, "delivered", 3)

        # The other webhook: its own delivery id, delivered at the first try.
        assert steady.count() == 1
        sh, sb, _ = steady.attempts[0]
        assert sh["x-carebus-delivery"] != delivery_id
        assert json.loads(sb)["delivery_id"] == sh["x-carebus-delivery"]
        assert signature_ok(sh, sb)
        assert delivery(st, steady.url) == (sh["x-carebus-delivery"], "delivered", 1)
    finally:
        flaky.close()
        steady.close()


def test_gives_up_after_the_retry_window(stack, pb2):
    dead = Receiver(fail=10**6)
    try:
        st = start(stack, CAREBUS_OUTBOUND_WEBHOOK_URLS=dead.url,
                   CAREBUS_OUTBOUND_WEBHOOK_SECRET=WEBHOOK_SECRET,
                   CAREBUS_OUTBOUND_BACKOFF_MS=200, CAREBUS_OUTBOUND_RETRY_S=1)
        ticket, _ = open_ticket(st, 32)
        solve_ticket(st, pb2, ticket)
        wait_requested(st, ticket)
        h.wait_until("delivery given up", lambda: (delivery(st, dead.url) or (0, ""))[1] == "failed",
                     h.scaled(20), on_timeout=lambda: st["survey"].log_tail())
        st["survey"].stop()
        _, _, attempts = delivery(st, dead.url)
        assert attempts >= 2 and dead.count() == attempts
        assert st.db.scalar("SELECT last_error FROM survey.deliveries") == "HTTP 500"
    finally:
        dead.close()
