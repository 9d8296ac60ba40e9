"""The dashboard in a real browser: Debian's headless Chromium, driven over the
DevTools protocol (python3-websocket), loads the page of the acceptance
scenario, saves screenshots under tests/artifacts/, and sees no failed request
and no request to anything but the page itself.
"""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import carebus_harness as h
import test_analytics_scenario as S
from test_analytics_kpis import load_scenario, start_analytics

ARTIFACTS = h.REPO / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]


class Browser:
    """One headless Chromium and one page, spoken to over DevTools."""

    def __init__(self, tmp):
        import websocket  # python3-websocket

        self.profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp))
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        h.wait_until("chromium's DevTools port", lambda: port_file.exists()
                     and port_file.read_text().strip(), h.scaled(30))
        port = int(port_file.read_text().split()[0])
        pages = h.wait_until("a page target", lambda: [
            t for t in json.loads(h.http_request(f"http://127.0.0.1:{port}/json").body)
            if t["type"] == "page"], h.scaled(20))
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"],
                                              timeout=h.scaled(30))
        self.n = 0
        self.events = []

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        deadline = time.monotonic() + h.scaled(60)
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
        raise AssertionError(f"{method}: no answer")

    def wait_event(self, method):
        deadline = time.monotonic() + h.scaled(60)
        for e in self.events:
            if e.get("method") == method:
                return e
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            self.events.append(msg)
            if msg.get("method") == method:
                return msg
        raise AssertionError(f"no {method}")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=h.scaled(10))
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=h.scaled(10))
        shutil.rmtree(self.profile, ignore_errors=True)


def load(browser, url, width, height, shot, headers=None):
    browser.events.clear()
    browser.call("Network.enable")
    if headers:
        browser.call("Network.setExtraHTTPHeaders", headers=headers)
    browser.call("Page.enable")
    browser.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                 deviceScaleFactor=1, mobile=width < 700)
    browser.call("Page.navigate", url=url)
    browser.wait_event("Page.loadEventFired")
    # let late requests (a favicon, fonts) show up before counting
    browser.call("Runtime.evaluate", expression="document.readyState", returnByValue=True)
    time.sleep(0.3)
    browser.call("Runtime.evaluate", expression="1")
    png = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / shot).write_bytes(base64.b64decode(png["data"]))
    html = browser.call("Runtime.evaluate", expression="document.documentElement.outerHTML",
                        returnByValue=True)["result"]["value"]
    requests = [e["params"]["request"]["url"] for e in browser.events
                if e.get("method") == "Network.requestWillBeSent"]
    failed = [e["params"] for e in browser.events if e.get("method") == "Network.loadingFailed"]
    statuses = [e["params"]["response"]["status"] for e in browser.events
                if e.get("method") == "Network.responseReceived"
                and not e["params"]["response"]["url"].startswith("data:")]
    return html, requests, failed, statuses


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_dashboard_of_the_scenario_in_headless_chromium(stack, pb2, session_tmp):
    st = start_analytics(stack)
    load_scenario(st, pb2)
    base = st["analytics"].url
    browser = Browser(session_tmp)
    try:
        for lang, size, shot in (("en", (1300, 1900), "analytics-dashboard-en.png"),
                                 ("vi", (390, 844), "analytics-dashboard-vi-phone.png")):
            url = f"{base}/?from={S.D1}&to={S.D3}&lang={lang}"
            html, requests, failed, statuses = load(browser, url, *size, shot, st.auth())
            assert failed == [], failed
            # One request over the network: the page. (Chromium draws the date
            # input's icon from a data: URL of its own; that is no request.)
            assert [u for u in requests if not u.startswith("data:")] == [url], requests
            assert statuses == [200]
            # No sub-resource at all: no src=, and links only back to the page.
            assert not re.search(r"\ssrc\s*=", html, re.I)
            for href in re.findall(r'href="([^"]*)"', html):
                assert href.startswith("?") or href.startswith("data:"), href
            assert html.count("<svg") == 7
            assert (ARTIFACTS / shot).stat().st_size > 10000
            if lang == "en":
                assert "Customer care KPIs" in html and "Contacts by channel" in html
                assert ">33.3 %<" in html  # FCR: 1 of 3 solved tickets
                assert ">8<" in html       # contacts
            else:
                assert "Chỉ số chăm sóc khách hàng" in html and "Lượt liên hệ theo kênh" in html
                assert ">33,3 %<" in html  # decimal comma
    finally:
        browser.close()
    # Vietnamese by default, English when the browser prefers it.
    r = h.http_request(f"{base}/?from={S.D1}&to={S.D3}", headers=st.auth())
    assert r.status == 200 and r.header("content-language") == "vi"
    r = h.http_request(f"{base}/?from={S.D1}&to={S.D3}",
                       headers=dict(st.auth(), **{"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"}))
    assert r.header("content-language") == "en"
    assert "default-src 'none'" in r.header("content-security-policy")
    r = h.http_request(f"{base}/?from=2026-13-01", headers=st.auth())
    assert r.status == 400 and b"from" in r.body
    # A period without data still draws every chart, saying so.
    r = h.http_request(f"{base}/?from=2025-01-01&to=2025-01-31&lang=en", headers=st.auth())
    assert r.status == 200 and r.body.count(b"No data in this period") >= 5
