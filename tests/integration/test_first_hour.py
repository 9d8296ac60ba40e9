"""A newcomer's first hour: `make run`, then `make demo`, then the browser.

* test_demo_fills_every_kpi: the real demo script (deploy/scripts/demo.py)
  against a real stack of the six services, through the var/env file that
  `make run` writes; it plays its week in well under a minute, a second run
  writes nothing, and then tests/browser/first-hour.mjs (headless chromium)
  finds a value in every KPI tile and data in every chart of the default
  dashboard, and a page at the survey URL `make run` prints; the demo's
  supervisor and agents sign in to the desk with var/demo-password.
* test_run_script: deploy/scripts/run.sh itself (what `make run` execs after
  building), on free ports and a private var folder: the URLs of its banner
  answer, an operator's CAREBUS_BOOTSTRAP_API_KEY is the key (and a
  development key is made only without one), a killed service comes back,
  and SIGTERM stops everything cleanly, PostgreSQL last.
"""

import datetime
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import carebus_harness as h
from desk_support import DeskClient
from test_survey_browser import ARTIFACTS, CHROMIUM, browser_tools

DEMO = h.REPO / "deploy" / "scripts" / "demo.py"
RUN = h.REPO / "deploy" / "scripts" / "run.sh"
SCRIPT = h.REPO / "tests" / "browser" / "first-hour.mjs"
KPI_NAMES = ["fcr_pct", "csat_pct", "ces_avg", "survey_response_pct", "first_response_avg_s",
             "first_response_p90_s", "resolution_avg_s", "resolution_p90_s",
             "sla_compliance_pct", "churn_pct", "contacts_per_ticket"]


def write_env(var, api_url, key, survey_url, dashboard_url, desk_url="", pg=""):
    """var/env as run.sh writes it."""
    var.mkdir(parents=True, exist_ok=True)
    (var / "env").write_text(
        f"CAREBUS_PG='{pg}'\nCAREBUS_API_URL='{api_url}'\nCAREBUS_API_KEY='{key}'\n"
        f"CAREBUS_SURVEY_URL='{survey_url}'\nCAREBUS_DASHBOARD_URL='{dashboard_url}'\n"
        f"CAREBUS_DESK_URL='{desk_url}'\n"
        "export CAREBUS_PG CAREBUS_API_URL CAREBUS_API_KEY CAREBUS_SURVEY_URL "
        "CAREBUS_DASHBOARD_URL CAREBUS_DESK_URL\n")


def run_demo(var):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBUS_")}
    env["CAREBUS_VAR_DIR"] = str(var)
    began = time.monotonic()
    p = subprocess.run(["python3", str(DEMO)], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=h.scaled(120), cwd=str(h.REPO))
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, f"demo.py failed ({p.returncode}):\n{out}"
    return out, time.monotonic() - began


def counts(st):
    return st.db.query("SELECT stream, count(*) FROM eventlog.events GROUP BY stream "
                       "ORDER BY stream")


def test_demo_fills_every_kpi(stack, session_tmp):
    node = browser_tools()
    st = stack(*h.ALL_SERVICES)
    var = session_tmp / "first-hour-var"
    survey_url = st["survey"].url + "/"
    dashboard_url = st["analytics"].url + "/"
    desk_url = st["desk"].url + "/"
    write_env(var, st.api_url, st.api_key, survey_url, dashboard_url, desk_url)

    out, took = run_demo(var)
    # Quick: its week plays in well under a minute (the stack is local).
    assert took < h.scaled(45), f"the demo took {took:.1f}s:\n{out}"
    assert re.search(r"Done in [\d.]+s: \d+ stories, \d+ writes", out), out
    events = counts(st)
    streams = dict(events)
    # Contacts, replies, transfers, presence, profiles; tickets; SLA
    # warnings and breaches; surveys requested and answered.
    assert streams.get("ingest", 0) > 100 and streams.get("router", 0) > 100, events
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'sla.breach'") > 0
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'ticket.reopened'") > 0
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'ticket.transferred'") > 0
    answered = st.db.scalar("SELECT count(*) FROM survey.answers")
    assert answered >= 10

    # The desk at once: the supervisor and an agent sign in with the
    # password the demo made (readable by its owner only) and printed.
    pw_file = var / "demo-password"
    assert pw_file.stat().st_mode & 0o077 == 0
    password = pw_file.read_text().strip()
    assert f"The agent desk: {desk_url}" in out and str(pw_file) in out, out
    for login, role in (("agent-mai", "supervisor"), ("agent-hung", "agent")):
        desk = DeskClient(st)
        desk.sign_in(login, password)
        assert desk.request("GET", "/").status == 200
        me = h.http_request(st.api_url + f"/v1/agents/{login}", headers=st.auth()).json()
        assert me["role"] == role and me["has_password"] and me["teams"], me

    # Idempotent: a second run writes nothing.
    out2, _ = run_demo(var)
    assert "nothing new" in out2, out2
    assert counts(st) == events
    assert st.db.scalar("SELECT count(*) FROM survey.answers") == answered

    # Every KPI of the dashboard's default period (the last 30 days in
    # Vietnam) has a value in the API...
    today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=7)).date()
    period = f"from={today - datetime.timedelta(days=29)}&to={today}"

    def kpis(group):
        return h.http_request(st["analytics"].url + f"/v1/kpis?{period}&group_by={group}",
                              headers=st.auth()).json()["rows"]

    row = h.wait_until("every KPI to have a value", lambda: (lambda r: r if all(
        r.get(k) is not None for k in KPI_NAMES) else None)(kpis("all")[0]), h.scaled(20))
    channels = kpis("channel")
    assert len([r for r in channels if r["contacts"]]) == 12, channels

    # ...and on the page, in a real browser; the survey URL is a page.
    shots = ["first-hour-dashboard-vi.png", "first-hour-dashboard-en.png",
             "first-hour-survey-home.png", "first-hour-survey-example.png"]
    for name in shots:
        (ARTIFACTS / name).unlink(missing_ok=True)
    env = dict(os.environ, DASHBOARD_URL=dashboard_url, SURVEY_URL=survey_url,
               API_KEY=st.api_key, CAREBUS_ARTIFACTS=str(ARTIFACTS), CAREBUS_CHROMIUM=CHROMIUM)
    p = subprocess.run([node, str(SCRIPT)], cwd=str(h.REPO), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=h.scaled(120))
    text = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, f"{SCRIPT.name} failed ({p.returncode}):\n{text}\nKPIs: {row}"
    for name in shots:
        f = ARTIFACTS / name
        assert f.exists() and f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f
    # The example form recorded nothing.
    assert st.db.scalar("SELECT count(*) FROM survey.answers") == answered


# --- run.sh ------------------------------------------------------------------------


class RunScript:
    """run.sh in its own session, its terminal output in a file."""

    def __init__(self, var, ports, extra_env=None):
        self.var = var
        self.ports = ports
        self.log = var.parent / f"{var.name}-run-{int(time.time() * 1000)}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBUS_")}
        env.update({
            "CAREBUS_BIN_DIR": str(h.BIN_DIR),
            "CAREBUS_VAR_DIR": str(var),
            "CAREBUS_PG_PORT": str(ports["pg"]),
            "CAREBUS_INGEST_PORT": str(ports["ingest"]),
            "CAREBUS_ROUTER_PORT": str(ports["router"]),
            "CAREBUS_SLA_PORT": str(ports["sla"]),
            "CAREBUS_SURVEY_PORT": str(ports["survey"]),
            "CAREBUS_ANALYTICS_PORT": str(ports["analytics"]),
            "CAREBUS_COURIER_PORT": str(ports["courier"]),
            "CAREBUS_DESK_PORT": str(ports["desk"]),
            "CAREBUS_BUS_INGEST": f"tcp://127.0.0.1:{ports['bus_ingest']}",
            "CAREBUS_BUS_ROUTER": f"tcp://127.0.0.1:{ports['bus_router']}",
            "CAREBUS_BUS_SLA": f"tcp://127.0.0.1:{ports['bus_sla']}",
            "CAREBUS_BUS_SURVEY": f"tcp://127.0.0.1:{ports['bus_survey']}",
            "CAREBUS_BUS_COURIER": f"tcp://127.0.0.1:{ports['bus_courier']}",
            "CAREBUS_RUN_STOP_TIMEOUT": "10",
        })
        env.update(extra_env or {})
        self.out = open(self.log, "wb")
        self.proc = subprocess.Popen(["bash", str(RUN)], cwd=str(h.REPO), env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def text(self):
        return self.log.read_text(errors="replace")

    def wait_banner(self):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"run.sh exited {self.proc.returncode}:\n{self.text()}")
            return "ready —" in self.text()
        h.wait_until("run.sh's banner", ready, h.scaled(120), interval=0.2,
                     on_timeout=lambda: self.text()[-3000:])
        banner = self.text()

        def url(label):
            m = re.search(rf"^  {re.escape(label)}\s+(http://\S+)", banner, re.M)
            assert m, f"no {label} line in the banner:\n{banner}"
            return m.group(1)

        return banner, {"api": url("API (channel-ingest)"), "survey": url("survey pages"),
                        "dashboard": url("dashboard (analytics)"), "desk": url("agent desk")}

    def pid_of(self, service):
        out = subprocess.run(["s6-svstat", "-o", "pid", str(self.var / "sv" / service)],
                             stdout=subprocess.PIPE, text=True, timeout=10).stdout.strip()
        return int(out) if out.lstrip("-").isdigit() and int(out) > 0 else None

    def stop(self):
        """SIGTERM, as a terminal's Ctrl-C or a system would; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=h.scaled(60))
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(timeout=10)
            raise AssertionError(f"run.sh did not stop on SIGTERM:\n{self.text()}") from None
        finally:
            self.out.close()
        return rc


def post_contact(api, key, n):
    return h.http_request(
        api + "/v1/messages", "POST",
        {"channel": "zalo", "external_id": f"first-hour-{n}",
         "customer": {"name": "Lan", "phone": "0901234567"}, "text": "Tôi cần hỗ trợ"},
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})


def ready(url):
    """True once url answers /readyz with 200; a service still starting
    refuses the connection."""
    try:
        return h.http_request(url + "/readyz").status == 200
    except OSError:
        return False


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(")")[-1].split()[0] != "Z"


def test_run_script(session_tmp):
    if shutil.which("s6-svscan") is None:
        pytest.fail("s6 is not installed: `make run` installs it (deploy/scripts/deps.sh run)",
                    pytrace=False)
    var = session_tmp / "run-var"
    names = ["pg", "ingest", "router", "sla", "survey", "analytics", "courier", "desk",
             "bus_ingest", "bus_router", "bus_sla", "bus_survey", "bus_courier"]
    ports = {n: h.free_port() for n in names}
    operator_key = "operator-key-" + os.urandom(8).hex()

    # An operator's key is the key; no development key is made.
    run = RunScript(var, ports, {"CAREBUS_BOOTSTRAP_API_KEY": operator_key})
    try:
        banner, urls = run.wait_banner()
        assert "key from CAREBUS_BOOTSTRAP_API_KEY" in banner, banner
        assert f"Bearer {operator_key}" in banner
        assert not (var / "dev-api-key").exists()
        assert f"CAREBUS_API_KEY='{operator_key}'" in (var / "env").read_text()
        # The bus is CURVE, with keys made into var/bus-keys and named in var/env.
        assert f"CAREBUS_BUS_CURVE_DIR='{var / 'bus-keys'}'" in (var / "env").read_text()
        server_key = (var / "bus-keys" / "server.key").read_bytes()
        assert "carebusctl bus allow NAME" in banner, banner
        r = post_contact(urls["api"], operator_key, 1)
        assert r.status == 202, r
        # Every URL of the banner answers; the survey's is a page.
        page = h.http_request(urls["survey"], headers={"Accept-Language": "en"})
        assert page.status == 200 and page.header("Content-Type").startswith("text/html"), page
        assert b"Customer satisfaction surveys" in page.body and b'href="example' in page.body
        assert h.http_request(urls["survey"] + "example").status == 200
        dash = h.http_request(urls["dashboard"], headers={"Authorization": f"Bearer {operator_key}"})
        assert dash.status == 200 and dash.header("Content-Type").startswith("text/html"), dash
        assert h.http_request(urls["api"] + "/readyz").status == 200
        desk = h.http_request(urls["desk"])
        assert desk.status == 303 and desk.header("Location").startswith("/signin"), desk
        # The desk seals its cookies under var/desk.key, made once (0600).
        desk_secret = (var / "desk.key").read_text()
        assert re.fullmatch(r"[0-9a-f]{64}\n", desk_secret), desk_secret
        assert (var / "desk.key").stat().st_mode & 0o077 == 0

        # A service that dies is restarted (after a pause), and the log says so.
        pid = run.pid_of("router")
        assert pid, run.text()
        os.kill(pid, signal.SIGKILL)
        h.wait_until("the router restarted", lambda: (run.pid_of("router") or pid) != pid
                     and ready(f"http://127.0.0.1:{ports['router']}"), h.scaled(30), interval=0.2)
        assert "carebus-router was killed by SIGKILL" in run.text()
        pids = [run.pid_of(s) for s in ("channel-ingest", "router", "sla-monitor", "survey",
                                        "analytics", "courier", "desk")]
        assert all(pids), pids
    finally:
        rc = run.stop()
    text = run.text()
    assert rc == 0, text
    assert re.search(r"services stopped; stopping PostgreSQL.*\n.*\n?.*stopped", text), text
    assert not any(alive(p) for p in pids), pids
    status = subprocess.run(["bash", str(h.PG_CLUSTER), "status", str(var / "pg")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    assert status == 3, f"PostgreSQL still running ({status})"
    # The services logged by themselves, JSON lines since this is no terminal.
    assert re.search(r'^\{"ts":"[^"]+","level":"info","service":"router"', text, re.M), text
    assert "no CAREBUS_DESK_SECRET" not in text, text
    for publisher in ("channel-ingest", "router", "sla-monitor", "survey"):
        assert re.search(rf'"service":"{publisher}","msg":"publishing events on \S+ \(CURVE\)',
                         text), publisher

    # Without one, a development key is made once, kept, and is the key.
    run = RunScript(var, ports)
    try:
        banner, urls = run.wait_banner()
        key = (var / "dev-api-key").read_text().strip()
        assert len(key) == 64 and f"Bearer {key}" in banner, banner
        assert (var / "dev-api-key").stat().st_mode & 0o077 == 0
        assert post_contact(urls["api"], key, 2).status == 202
        assert post_contact(urls["api"], operator_key, 3).status == 401
        # The bus keeps its keys, the desk its secret.
        assert (var / "bus-keys" / "server.key").read_bytes() == server_key
        assert (var / "desk.key").read_text() == desk_secret
    finally:
        assert run.stop() == 0, run.text()
