"""Shared helpers of the desk's tests (test_desk_*.py); no tests here.

A desk stack is channel-ingest, router and the desk (plus whatever a test
adds); agents are saved through the work API with a password, and sign in
to the desk with a form POST as a browser would. DeskClient keeps the
session cookie and the page's CSRF token like the page does.
"""

import re
import urllib.parse

import carebus_harness as h
from test_router_acceptance import post

# scrypt's cheapest cost the API accepts: the tests sign in often.
FAST_HASH = {"CAREBUS_PASSWORD_LOG_N": "10"}
PASSWORD = "mật khẩu đủ dài 2026"


def desk_stack(stack, *more, ingest_env=None):
    st = stack()
    st["ingest"].start(wait_ready=False, extra_env={**FAST_HASH, **(ingest_env or {})})
    for name in ("router", "desk") + tuple(more):
        st[name].start(wait_ready=False)
    for name in ("ingest", "router", "desk") + tuple(more):
        st[name].wait_ready()
    return st


def save_agent(st, agent_id, name, teams, role="agent", capacity=5):
    post(st, "/v1/agents", {"id": agent_id, "name": name, "capacity": capacity,
                            "teams": list(teams), "role": role, "password": PASSWORD,
                            "email": f"{agent_id}@example.vn"}, status=(201,))
    post(st, f"/v1/agents/{agent_id}/presence",
         {"presence": "online", "capacity": capacity, "teams": list(teams)}, method="PUT")


class DeskClient:
    """A browser, as far as the desk can tell: the cookie, the CSRF token."""

    def __init__(self, st, desk="desk"):
        self.url = st[desk].url
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, headers=None, cookie=True):
        hdrs = dict(headers or {})
        if cookie and self.cookie:
            hdrs["Cookie"] = self.cookie
        return h.http_request(self.url + path, method, body, hdrs, timeout=30)

    def on(self, st, desk):
        """The same browser's cookie and token, sent to another desk instance."""
        other = DeskClient(st, desk)
        other.cookie, other.csrf = self.cookie, self.csrf
        return other

    def page_csrf(self):
        page = self.request("GET", "/")
        assert page.status == 200, page
        m = re.search(rb'data-csrf="([0-9a-f]{64})"', page.body)
        assert m, page.body
        return m.group(1).decode()

    def sign_in(self, login, password=PASSWORD, status=303):
        form = urllib.parse.urlencode({"login": login, "password": password, "next": "/",
                                       "lang": "en"})
        r = self.request("POST", "/signin", form,
                         {"Content-Type": "application/x-www-form-urlencoded"}, cookie=False)
        assert r.status == status, r
        if status == 303:
            set_cookie = r.headers["set-cookie"]
            m = re.search(r"carebus_desk=([^;]+)", set_cookie)
            self.cookie = f"carebus_desk={m.group(1)}"
            self.csrf = self.page_csrf()
        return r

    def api(self, method, path, body=None, csrf=True):
        hdrs = {"X-CSRF-Token": self.csrf} if csrf and self.csrf and method != "GET" else {}
        return self.request(method, "/api" + path, body, hdrs)
