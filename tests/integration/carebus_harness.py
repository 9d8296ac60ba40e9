"""carebus_harness — what the integration tests drive: a real PostgreSQL
cluster, the real service binaries, real HTTP.

Owns:
  * PgCluster: a private cluster through deploy/scripts/pg-cluster.sh, with
    one fresh database per test (CREATE DATABASE ... TEMPLATE template0, or
    a copy of the cluster's migrated template: PgCluster.make_template).
  * PgPair: a primary and its synchronous standby behind one multi-host
    conninfo, with kill -9 of a server, crash-restart, promote and rejoin.
  * Service / Stack: the six service processes with their ports, logs,
    kill -9, SIGTERM and restart; readiness waits with deadlines; more
    instances of a service (Stack.add_instance), each with its own HTTP
    port, bus endpoint and log files, on the same database.
  * small HTTP and SQL helpers, and the bounded `wait_until`.

What is subtle:
  * Ports are chosen below the kernel's ephemeral range, so a client's
    outgoing connection can never take a port between our choice and the
    service's bind; several test sessions may run at once (random choice,
    checked by binding).
  * A service's exit is checked when it stops: SIGTERM must give exit 0, and
    no log may hold a sanitizer report (ASan/UBSan/LSan), kill -9'd runs
    included. Problems are collected and raised by Stack.close().
  * Every wait is bounded by a deadline scaled by CAREBUS_TEST_TIME_SCALE
    (default 1, 3 for sanitizer builds): the suite never sleeps and hopes.
  * A migrated template (make_template: carebusctl applies the migrations
    to an empty database, nothing else) spares every stack of the session
    cluster the migrations, a second or more of each test's start; what a
    database gets at a service's first start (session secret, bi_reader's
    grants, analytics' KPI definitions) is still made by the services. A
    test of the migrations themselves asks for an empty database
    (stack(fresh=True)); private clusters and pairs always start empty.
  * A stack's bus is open unless it is made with curve=True (or
    CAREBUS_TEST_BUS_CURVE=1 runs every stack so): then carebusctl makes its
    keys folder in the stack's log folder, and every service reads it.
  * Personal data in the log is sealed when a stack is made with
    master_key=True (or CAREBUS_TEST_MASTER_KEY=1 runs every stack so): a
    random master key in the stack's log folder (CAREBUS_MASTER_KEY_FILE).
  * The desks of a stack share a random secret in its log folder
    (CAREBUS_DESK_SECRET_FILE): their session cookies open on any of them.
"""

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("CAREBUS_BIN_DIR", REPO / "build" / "debug" / "bin"))
TOOLS_DIR = Path(os.environ.get("CAREBUS_TOOLS_DIR", REPO / "build" / "debug" / "tests" / "tools"))
GEN_DIR = Path(os.environ.get("CAREBUS_GEN_DIR", REPO / "build" / "gen"))
PG_CLUSTER = REPO / "deploy" / "scripts" / "pg-cluster.sh"


def _sanitized_build():
    if "/asan/" in str(BIN_DIR) + "/":
        return True
    return bool(os.environ.get("ASAN_OPTIONS") or os.environ.get("UBSAN_OPTIONS"))


TIME_SCALE = float(os.environ.get("CAREBUS_TEST_TIME_SCALE", "3" if _sanitized_build() else "1"))
BUS_CURVE = os.environ.get("CAREBUS_TEST_BUS_CURVE", "") not in ("", "0")
MASTER_KEY = os.environ.get("CAREBUS_TEST_MASTER_KEY", "") not in ("", "0")


def scaled(seconds):
    return seconds * TIME_SCALE


# The services, by short name: binary, HTTP port variable, bus variable.
SERVICES = {
    "ingest": ("carebus-channel-ingest", "CAREBUS_INGEST_PORT", "CAREBUS_BUS_INGEST"),
    "router": ("carebus-router", "CAREBUS_ROUTER_PORT", "CAREBUS_BUS_ROUTER"),
    "sla": ("carebus-sla-monitor", "CAREBUS_SLA_PORT", "CAREBUS_BUS_SLA"),
    "survey": ("carebus-survey", "CAREBUS_SURVEY_PORT", "CAREBUS_BUS_SURVEY"),
    "analytics": ("carebus-analytics", "CAREBUS_ANALYTICS_PORT", None),
    "courier": ("carebus-courier", "CAREBUS_COURIER_PORT", "CAREBUS_BUS_COURIER"),
    "desk": ("carebus-desk", "CAREBUS_DESK_PORT", None),
}
ALL_SERVICES = tuple(SERVICES)


def bus_streams():
    """The bus's producers as bus.c's table has them (carebusctl bus streams
    --json): dicts with stream, producer, var, endpoint and port. The one
    source; the lists elsewhere are checked against it (test_bus_streams)."""
    out = subprocess.run([str(BIN_DIR / "carebusctl"), "bus", "streams", "--json"], check=True,
                         stdout=subprocess.PIPE, timeout=30).stdout
    return json.loads(out)
# Services off the bus: they neither publish nor consume (the desk works
# through channel-ingest's API only), so they have no bus key and no lag.
OFF_BUS = frozenset({"desk"})

SANITIZER_PATTERNS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "ThreadSanitizer",
)


class HarnessError(AssertionError):
    pass


# --- waiting ------------------------------------------------------------------


def wait_until(what, fn, timeout, interval=0.05, on_timeout=None):
    """Calls fn() until it returns a true value (returned) or the deadline
    passes (HarnessError naming `what` and, if given, on_timeout()'s text).
    Exceptions from fn propagate. Bounded in time and in count."""
    deadline = time.monotonic() + timeout
    max_rounds = int(timeout / interval) + 1000
    last = None
    for _ in range(max_rounds):
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    detail = on_timeout() if on_timeout else ""
    raise HarnessError(f"timed out after {timeout:.1f}s waiting for {what} (last: {last!r}) {detail}")


# --- ports --------------------------------------------------------------------

_ports_lock = threading.Lock()
_ports_given = set()
_port_rng = random.Random(os.getpid() ^ int(time.time() * 1000))


def _ephemeral_range():
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _port_span():
    """The ports this process may hand out: those outside the ephemeral range,
    cut in one slice per pytest-xdist worker, so that two workers never pick
    the same port between its pick and its bind."""
    lo, hi = _ephemeral_range()
    first, last = (10000, lo - 1) if lo > 12000 else (hi + 1, 65000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    count = max(count, 1)
    # A worker that replaces a crashed one gets the next id (gw2 of 2).
    index = int(worker[2:]) % count if worker[2:].isdigit() else 0
    size = (last - first + 1) // count
    return first + index * size, first + (index + 1) * size - 1


def free_port(offset=None):
    """A TCP port on 127.0.0.1 that is free now, outside the ephemeral range,
    and not yet handed out by this session; with offset, port + offset too
    (handed out as well: a second instance's, run.sh's HA=1)."""
    first, last = _port_span()
    span = (first, last - (offset or 0))
    with _ports_lock:
        for _ in range(500):
            port = _port_rng.randint(*span)
            pair = (port,) if offset is None else (port, port + offset)
            if any(p in _ports_given or not _port_free(p) for p in pair):
                continue
            _ports_given.update(pair)
            return port
    raise HarnessError("no free TCP port found")


# --- HTTP ---------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise HarnessError(f"answer {self.status} is not JSON ({e}): {self.body[:300]!r}")

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def http_request(url, method="GET", body=None, headers=None, timeout=10.0, conn=None):
    """One request. body: bytes, str or a JSON-able object. With conn (an
    http.client.HTTPConnection) the connection is reused; else a fresh one is
    made and closed. Network errors propagate (OSError, http.client errors)."""
    m = re.match(r"^http://([^/:]+):(\d+)(/.*)?$", url)
    if not m:
        raise ValueError(f"unsupported url {url!r}")
    host, port, path = m.group(1), int(m.group(2)), m.group(3) or "/"
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        if own:
            conn.close()


class KeepAliveClient:
    """Per-thread keep-alive connections to one base URL. A request that fails
    on the network is retried on a fresh connection (POST /v1/messages is
    idempotent by design, so a retry is what an integrator does)."""

    def __init__(self, base_url, timeout=15.0):
        m = re.match(r"^http://([^/:]+):(\d+)$", base_url)
        if not m:
            raise ValueError(base_url)
        self.host, self.port = m.group(1), int(m.group(2))
        self.base_url = base_url
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self):
        c = getattr(self._local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = c
        return c

    def _drop(self):
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
        self._local.conn = None

    def request(self, path, method="GET", body=None, headers=None, attempts=3):
        last = None
        for _ in range(attempts):
            try:
                r = http_request(self.base_url + path, method, body, headers, self.timeout,
                                 conn=self._conn())
                if r.header("connection") == "close":
                    self._drop()
                return r
            except (OSError, http.client.HTTPException) as e:
                last = e
                self._drop()
        raise last

    def close(self):
        self._drop()


# --- PostgreSQL ---------------------------------------------------------------


class PgCluster:
    """A private cluster in base_dir/name, driven by deploy/scripts/pg-cluster.sh."""

    def __init__(self, base_dir, name="pg"):
        self.datadir = Path(base_dir) / name
        self.port = free_port()
        self.running = False
        self._db_counter = 0
        self._lock = threading.Lock()
        self.template = None  # make_template's database: a new one copies it

    def _script(self, *args, timeout=180):
        cmd = ["bash", str(PG_CLUSTER), *map(str, args)]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                           cwd=str(REPO))
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0:
            raise HarnessError(f"{' '.join(cmd)} failed ({p.returncode}):\n{out}\n{self.log_tail()}")
        return out

    def init(self):
        if not PG_CLUSTER.exists():
            raise HarnessError(f"{PG_CLUSTER} is missing")
        self._script("init", self.datadir, self.port)

    def start(self):
        self._script("start", self.datadir, self.port)
        self.running = True

    def stop(self):
        self._script("stop", self.datadir)
        self.running = False

    def log_tail(self, lines=30):
        out = []
        logdir = self.datadir / "log"
        try:
            files = sorted(logdir.iterdir(), key=lambda f: f.stat().st_mtime)
        except OSError:
            return ""
        for f in files[-2:]:
            try:
                text = f.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {f} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)

    def conninfo(self, dbname="carebus"):
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user=carebus"

    def connect(self, dbname="carebus"):
        c = psycopg2.connect(self.conninfo(dbname), connect_timeout=10)
        c.autocommit = True
        return c

    def create_database(self, prefix="t", fresh=False):
        """A new database: empty (fresh, or no template made), else a copy
        of the migrated template."""
        with self._lock:
            self._db_counter += 1
            name = f"{prefix}_{os.getpid()}_{self._db_counter}"
        template = getattr(self, "template", None)
        template = "template0" if fresh or template is None else template
        c = self.connect()
        try:
            with c.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}" OWNER carebus TEMPLATE "{template}" '
                            "ENCODING 'UTF8'")
        finally:
            c.close()
        return name

    def make_template(self, log_dir):
        """Makes the database every later create_database copies: empty,
        then migrated by carebusctl (which applies pending migrations before
        any command; `keys list` changes nothing else). No connection stays
        open to it: CREATE DATABASE refuses a template in use."""
        name = self.create_database("template", fresh=True)
        st = Stack(self, log_dir, dbname=name, curve=False, master_key=False)
        try:
            st.carebusctl("keys", "list")
        finally:
            st.close()
        self.template = name
        return name

    def drop_database(self, name):
        c = self.connect()
        try:
            with c.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            c.close()


class PgPair:
    """A primary and its synchronous standby (pg-cluster.sh standby), seen by
    the services through one multi-host conninfo that finds the primary.
    Quacks like PgCluster for Stack: conninfo, create/drop_database, log_tail.
    kill9_primary() is the loss of the primary's machine; promote() the
    operator's command (pg-cluster.sh promote, fencing the old primary)."""

    def __init__(self, base_dir, name="pg-ha"):
        self.nodes = [PgCluster(base_dir, f"{name}-a"), PgCluster(base_dir, f"{name}-b")]
        self.primary, self.standby = self.nodes
        self._db_counter = 0
        self._lock = threading.Lock()

    def start(self):
        self.primary.init()
        self.primary.start()
        self.primary._script("standby", self.standby.datadir, self.standby.port,
                             self.primary.port)
        self.standby.running = True

    def stop(self):
        for n in self.nodes:
            if n.running:
                n.stop()

    def conninfo(self, dbname="carebus"):
        ports = ",".join(str(n.port) for n in self.nodes)
        return (f"host=127.0.0.1,127.0.0.1 port={ports} dbname={dbname} user=carebus "
                "target_session_attrs=read-write")

    def connect(self, dbname="carebus"):
        c = psycopg2.connect(self.conninfo(dbname), connect_timeout=10)
        c.autocommit = True
        return c

    create_database = PgCluster.create_database
    drop_database = PgCluster.drop_database

    def log_tail(self, lines=30):
        return "\n".join(n.log_tail(lines) for n in self.nodes)

    def role(self, node):
        p = subprocess.run(["bash", str(PG_CLUSTER), "role", node.datadir, str(node.port)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
        return p.stdout.decode().strip()

    def kill9_primary(self):
        """SIGKILL to the primary's postmaster and every process working in
        its data folder (a lost machine); returns how many were killed."""
        return self.kill9(self.primary)

    def kill9(self, node):
        """kill9_primary for either node."""
        datadir = str(node.datadir.resolve())
        pids = []
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    if os.readlink(p / "cwd") == datadir:
                        pids.append(int(p.name))
                except OSError:
                    pass
        head = int((node.datadir / "postmaster.pid").read_text().split()[0])
        for pid in [head] + [p for p in pids if p != head]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        node.running = False
        return len(set(pids) | {head})

    def promote(self):
        """The standby becomes the primary; the old one is fenced."""
        self.standby._script("promote", self.standby.datadir, self.primary.datadir)
        self.primary, self.standby = self.standby, self.primary

    def crash_restart_primary(self):
        """The primary's processes killed, then the same server started again
        (crash recovery); the standby reconnects by itself."""
        self.kill9_primary()
        self.primary.start()

    def rejoin(self):
        """The fenced old primary, copied afresh, as the new one's standby."""
        self.primary._script("standby", self.standby.datadir, self.standby.port,
                             self.primary.port)
        self.standby.running = True


class Db:
    """autocommit psycopg2 connection to one database that reconnects when the
    server went away (tests stop PostgreSQL on purpose)."""

    def __init__(self, conninfo):
        self.conninfo = conninfo
        self._conn = None

    def conn(self):
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.conninfo, connect_timeout=10)
            self._conn.autocommit = True
        return self._conn

    def query(self, sql, params=None):
        for attempt in range(2):
            try:
                with self.conn().cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description is not None else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def scalar(self, sql, params=None):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                pass
        self._conn = None


# --- service processes ----------------------------------------------------------


class Service:
    """One service; each start is a new `run` with its own log files."""

    def __init__(self, stack, name, label=None, port=None, extra_env=None):
        self.stack = stack
        self.name = name
        self.label = label or name  # log files' name: unique per instance
        self.binary = BIN_DIR / SERVICES[name][0]
        self.port = port or stack.ports[name]
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(extra_env or {})
        self.proc = None
        self.runs = []  # dicts: proc, stderr path, stdout path, how it ended
        self.problems = []

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait_ready=True, extra_env=None):
        if self.running():
            raise HarnessError(f"{self.name} is already running")
        if not self.binary.exists():
            raise HarnessError(f"{self.binary} does not exist: build it first (make build)")
        n = len(self.runs) + 1
        err = self.stack.log_dir / f"{self.label}.{n}.stderr"
        out = self.stack.log_dir / f"{self.label}.{n}.stdout"
        env = self.stack.env_for(self.name, {**self.extra_env, **(extra_env or {})})
        with open(err, "wb") as ferr, open(out, "wb") as fout:
            self.proc = subprocess.Popen([str(self.binary)], env=env, stdout=fout, stderr=ferr,
                                         stdin=subprocess.DEVNULL, cwd=str(self.stack.log_dir))
        self.runs.append({"proc": self.proc, "stderr": err, "stdout": out, "end": None})
        if wait_ready:
            self.wait_ready()
        return self

    def _run(self):
        return self.runs[-1]

    def log_text(self, run=None):
        r = run or (self.runs[-1] if self.runs else None)
        if r is None:
            return ""
        try:
            return r["stderr"].read_text(errors="replace")
        except OSError:
            return ""

    def all_logs(self):
        return "".join(self.log_text(r) for r in self.runs)

    def log_tail(self, lines=25):
        if not self.runs:
            return f"[{self.name}: never started]"
        r = self.runs[-1]
        text = self.log_text(r).splitlines()[-lines:]
        return f"--- {r['stderr']} (last {len(text)} lines)\n" + "\n".join(text)

    def get(self, path, timeout=5.0):
        return http_request(self.url + path, timeout=timeout)

    def wait_ready(self, timeout=None):
        """Polls GET /readyz until 200; fails at once if the process exits."""
        timeout = timeout or scaled(30)

        def probe():
            if not self.running():
                raise HarnessError(f"{self.name} exited with {self.proc.returncode} while starting\n"
                                   f"{self.log_tail()}")
            try:
                return self.get("/readyz", timeout=2).status == 200
            except (OSError, http.client.HTTPException):
                return False

        wait_until(f"{self.name} /readyz 200", probe, timeout, interval=0.05,
                   on_timeout=lambda: "\n" + self.log_tail())

    def stall(self):
        """SIGSTOP: the process keeps its sockets and stops running."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        """SIGCONT after stall()."""
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill9(self):
        """kill -9 now; waits for the process to be gone."""
        if not self.running():
            raise HarnessError(f"{self.name} is not running (exit {self.proc and self.proc.returncode})")
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=scaled(10))
        self._run()["end"] = "kill9"

    def signal_term(self):
        """Sends SIGTERM once (without waiting); no-op if not running."""
        if self.running() and self._run()["end"] is None:
            self.proc.send_signal(signal.SIGTERM)
            self._run()["end"] = "sigterm"

    def terminate(self, timeout=None):
        """SIGTERM (unless already sent); returns the exit code. A run that
        does not exit in time is killed and recorded as a problem."""
        timeout = timeout or scaled(20)
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.signal_term()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=scaled(10))
            self._run()["end"] = "sigterm-timeout"
            self.problems.append(f"{self.name}: did not exit within {timeout:.0f}s of SIGTERM "
                                 f"(killed)\n{self.log_tail()}")
            return None

    def stop(self):
        """SIGTERM and assert a clean exit (code 0, no sanitizer report)."""
        rc = self.terminate()
        msgs = self.check_runs(final=False)
        if rc != 0 or msgs:
            raise HarnessError(f"{self.name} did not stop cleanly: exit {rc}\n" + "\n".join(msgs) +
                               "\n" + self.log_tail())
        return rc

    def check_runs(self, final=True):
        """Problems of every run so far: sanitizer reports in any log, an exit
        that was neither asked for nor clean. Each run is checked once."""
        msgs = []
        for r in self.runs:
            if r.get("checked"):
                continue
            p = r["proc"]
            if p.poll() is None:
                if not final:
                    continue
                msgs.append(f"{self.name}: still running at check")
                continue
            r["checked"] = True
            text = self.log_text(r)
            for pat in SANITIZER_PATTERNS:
                if pat in text:
                    i = text.index(pat)
                    msgs.append(f"{self.name}: sanitizer report ({pat!r}) in {r['stderr']}:\n"
                                f"{text[max(0, i - 200):i + 3000]}")
                    break
            rc = p.returncode
            if r["end"] == "kill9":
                if rc != -signal.SIGKILL:
                    msgs.append(f"{self.name}: after kill -9 exit status {rc}")
            elif r["end"] == "sigterm":
                if rc != 0:
                    msgs.append(f"{self.name}: exit {rc} after SIGTERM (expected 0); log "
                                f"{r['stderr']}\n" + "\n".join(text.splitlines()[-25:]))
            elif r["end"] is None:
                msgs.append(f"{self.name}: exited by itself with {rc} (not asked to); log "
                            f"{r['stderr']}\n" + "\n".join(text.splitlines()[-25:]))
        self.problems.extend(msgs)
        return msgs


class Stack:
    """The services of one test, on one fresh database of a cluster."""

    def __init__(self, cluster, log_dir, dbname=None, log_level=None, curve=None,
                 master_key=None, fresh=False):
        self.cluster = cluster
        self.dbname = dbname or cluster.create_database(fresh=fresh)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.api_key = "test-" + uuid.uuid4().hex
        self.log_level = log_level or os.environ.get("CAREBUS_TEST_LOG_LEVEL", "info")
        self.ports = {name: free_port() for name in SERVICES}
        # Every producer's stream gets a port of its own, also where the stack
        # does not run it, so that no stack hears another's (or a local run's).
        self.bus_ports = {name: free_port() for name, v in SERVICES.items() if v[2]}
        self.more_bus = {}  # name: the endpoints of its other instances (add_instance)
        self.services = {name: Service(self, name) for name in SERVICES}
        self.db = Db(cluster.conninfo(self.dbname))
        self.closed = False
        self.bus_keys = None  # the keys folder, with CURVE on
        if BUS_CURVE if curve is None else curve:
            self.bus_keys = self.log_dir / "bus-keys"
            self.carebusctl("bus", "keys", "--dir", str(self.bus_keys))
        # The desk's secret, one file for every desk of the stack (as make
        # run gives its desks), so that its instances share their sessions.
        self.desk_secret = self.log_dir / "desk.key"
        self.desk_secret.write_text(os.urandom(32).hex() + "\n")
        self.desk_secret.chmod(0o600)
        self.master_key = None  # the master key file, with sealing on
        if MASTER_KEY if master_key is None else master_key:
            self.master_key = self.log_dir / "master.key"
            self.master_key.write_text(os.urandom(32).hex() + "\n")
            self.master_key.chmod(0o600)

    def carebusctl(self, *args, check=True):
        """Runs carebusctl with this stack's environment. check: its stdout
        (text), failing unless it exits 0; else (exit status, stdout, stderr)."""
        env = self.env_for("ingest")
        p = subprocess.run([str(BIN_DIR / "carebusctl"), *args], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=scaled(60))
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if not check:
            return p.returncode, out, err
        if p.returncode != 0:
            raise HarnessError(f"carebusctl {' '.join(args)} failed ({p.returncode}):\n{out}{err}")
        return out

    # configuration
    def env_for(self, name, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBUS_")}
        env.update({
            "CAREBUS_PG": self.cluster.conninfo(self.dbname),
            "CAREBUS_HTTP_ADDR": "127.0.0.1",
            "CAREBUS_BOOTSTRAP_API_KEY": self.api_key,
            "CAREBUS_LOG_LEVEL": self.log_level,
        })
        if getattr(self, "bus_keys", None):
            env["CAREBUS_BUS_CURVE_DIR"] = str(self.bus_keys)
        if getattr(self, "master_key", None):
            env["CAREBUS_MASTER_KEY_FILE"] = str(self.master_key)
        if name.startswith("desk") and getattr(self, "desk_secret", None):
            env["CAREBUS_DESK_SECRET_FILE"] = str(self.desk_secret)
        for svc, (_, port_var, bus_var) in SERVICES.items():
            env[port_var] = str(self.ports[svc])
            if bus_var:
                env[bus_var] = ",".join([f"tcp://127.0.0.1:{self.bus_ports[svc]}"] +
                                        self.more_bus.get(svc, []))
        if extra:
            env.update(extra)
        return env

    @property
    def api_url(self):
        return self.services["ingest"].url

    def __getitem__(self, name):
        return self.services[name]

    def add_instance(self, name, key=None):
        """Another process of service `name` on this stack's database: its own
        HTTP port and bus endpoint (CAREBUS_BUS_BIND, added to the stream's
        list, so that subscribers started afterwards hear every instance),
        the same consumer name and lease. Registered as `key` (default name
        + "2"), so that the stack stops and checks it like the others. Not
        started."""
        key = key or f"{name}2"
        port = free_port()
        env = {SERVICES[name][1]: str(port)}
        if SERVICES[name][2]:
            endpoint = f"tcp://127.0.0.1:{free_port()}"
            env["CAREBUS_BUS_BIND"] = endpoint
            self.more_bus.setdefault(name, []).append(endpoint)
        svc = Service(self, name, label=key, port=port, extra_env=env)
        self.services[key] = svc
        return svc

    # process control
    def start(self, *names, wait_ready=True):
        """Starts the services at once (they migrate concurrently), then waits
        for each to be ready."""
        names = names or ALL_SERVICES
        for n in names:
            self.services[n].start(wait_ready=False)
        if wait_ready:
            for n in names:
                self.services[n].wait_ready()
        return self

    def kill9(self, name):
        self.services[name].kill9()

    def restart(self, name, wait_ready=True):
        s = self.services[name]
        if s.running():
            s.stop()
        s.start(wait_ready=wait_ready)

    def stop(self, name):
        return self.services[name].stop()

    # HTTP
    def auth(self, key=None):
        return {"Authorization": f"Bearer {key or self.api_key}"}

    def post_message(self, msg, key=None, client=None, timeout=15.0):
        if client is not None:
            return client.request("/v1/messages", "POST", msg, self.auth(key))
        return http_request(self.api_url + "/v1/messages", "POST", msg, self.auth(key),
                            timeout=timeout)

    def get_api(self, path, timeout=10.0):
        return http_request(self.api_url + path, "GET", headers=self.auth(), timeout=timeout)

    # state
    def router_offset(self, stream="ingest"):
        return self.db.scalar("SELECT seq FROM eventlog.offsets WHERE consumer = %s AND stream = %s",
                              ("router", stream)) or 0

    def last_seq(self, stream):
        return self.db.scalar("SELECT last_seq FROM eventlog.streams WHERE stream = %s",
                              (stream,)) or 0

    def wait_caught_up(self, consumer="router", stream="ingest", at_least=0, timeout=None):
        """Until consumer's offset on stream equals the stream's last_seq
        (which must be >= at_least, as every 2xx was committed first)."""
        timeout = timeout or scaled(60)
        svc = self.services.get(consumer)

        def check():
            if svc is not None and svc.runs and not svc.running():
                raise HarnessError(f"{consumer} is not running\n{svc.log_tail()}")
            last = self.last_seq(stream)
            # The least of its partitions' offsets when partitioned (0081).
            off = self.db.scalar("SELECT eventlog.consumer_seq(%s, %s)", (consumer, stream)) or 0
            return last >= at_least and off == last and (last, off)

        def why():
            return (f"(stream {stream}: last_seq {self.last_seq(stream)}, {consumer} offset "
                    f"{self.db.scalar('SELECT eventlog.consumer_seq(%s, %s)', (consumer, stream))})\n"
                    + (svc.log_tail() if svc else ""))

        return wait_until(f"{consumer} to catch up on {stream}", check, timeout, interval=0.1,
                          on_timeout=why)

    # Router and sla-monitor answer each other: an escalation makes the
    # router reclassify, and sla-monitor then fires the ticket's later
    # target at the new priority. A snapshot taken between the two steps is
    # a true but unfinished state that a rebuild (which waits for every
    # event) runs past.
    SETTLED_SQL = """
    SELECT eventlog.consumer_seq('sla-monitor', 'ingest') IS NOT DISTINCT FROM i.last_seq
       AND eventlog.consumer_seq('sla-monitor', 'router') IS NOT DISTINCT FROM r.last_seq
       AND NOT EXISTS (SELECT 1 FROM sla.targets WHERE next_fire_at <= sla.now())
       AND (SELECT sla_seq FROM router.position) = coalesce(s.last_seq, 0)
      FROM (SELECT (SELECT last_seq FROM eventlog.streams WHERE stream = 'ingest') AS last_seq) i,
           (SELECT (SELECT last_seq FROM eventlog.streams WHERE stream = 'router') AS last_seq) r,
           (SELECT (SELECT last_seq FROM eventlog.streams WHERE stream = 'sla') AS last_seq) s
    """

    def wait_settled(self, timeout=None):
        """Until router and sla-monitor (both running) have nothing left to
        tell each other: each has applied the other's every event and no SLA
        target is due."""
        wait_until("router and sla-monitor to settle", lambda: self.db.scalar(self.SETTLED_SQL),
                   timeout or scaled(30), on_timeout=lambda: "\n" + self.log_summary())

    def close(self):
        """SIGTERM every running service; returns the list of problems."""
        if self.closed:
            return []
        self.closed = True
        problems = []
        running = [s for s in self.services.values() if s.running()]
        for s in running:  # signal all first: they stop in parallel
            s.signal_term()
        for s in running:
            s.terminate()
        for s in self.services.values():
            s.check_runs(final=True)
            problems.extend(s.problems)
        self.db.close()
        return problems

    def log_summary(self, lines=15):
        return "\n".join(s.log_tail(lines) for s in self.services.values() if s.runs)


# --- sample traffic ---------------------------------------------------------------

CHANNELS = ("phone", "email", "chat", "facebook", "zalo", "instagram", "tiktok", "twitter", "sms",
            "whatsapp", "helpcenter", "store")

TEXTS = (
    "Tôi cần hỗ trợ",
    "Đơn hàng của tôi bị giao chậm, xin kiểm tra giúp",
    "Sản phẩm bị lỗi, tôi muốn đổi trả",
    "Tôi muốn hỏi về chương trình khuyến mãi",
    "Tài khoản của tôi không đăng nhập được",
    "Hóa đơn tháng này bị tính sai tiền",
    "Cảm ơn, vấn đề đã được giải quyết",
)


def customer_profile(i):
    """Customer i's stable identity: a phone and one handle per channel."""
    return {
        "name": f"Khách hàng {i:04d} Nguyễn",
        "phone": f"09{i:08d}",
        "email": f"khach{i:04d}@example.vn",
        "handle": f"uid-{i:05d}",
    }


def contact(i, customer_no, channel, external_id=None, text=None, occurred_at=None):
    """A POST /v1/messages body for customer customer_no. The phone is always
    given (so identity resolution is unambiguous), plus the channel handle."""
    p = customer_profile(customer_no)
    cust = {"name": p["name"], "phone": p["phone"]}
    if channel == "email":
        cust["email"] = p["email"]
    elif channel not in ("phone", "sms", "store"):
        cust["handle"] = f"{channel}-{p['handle']}"
    return {
        "channel": channel,
        "external_id": external_id or f"ext-{i:06d}",
        "customer": cust,
        "text": text or f"{TEXTS[i % len(TEXTS)]} (#{i})",
        "occurred_at": occurred_at or "2026-11-23T09:%02d:%02d+07:00" % ((i // 60) % 60, i % 60),
    }


def post_all(stack, messages, threads=6, on_answer=None, deadline_s=None, tries=200):
    """Posts every message from a pool of threads with keep-alive clients.
    Retries 503 and network errors as an integrator would, at most tries
    times a message (50 ms apart) and until the deadline. Returns
    {(channel, external_id): (last status, its json or None)} and counters
    (stats["ids"]: every event id that a 2xx gave for each message)."""
    deadline = time.monotonic() + (deadline_s or scaled(240))
    answers = {}
    # ids: every event_id any 2xx answer gave for a message (retries included)
    stats = {"retries_503": 0, "network_errors": 0, "ids": {}}
    lock = threading.Lock()
    todo = list(enumerate(messages))
    idx = [0]
    client = KeepAliveClient(stack.api_url)
    errors = []

    def worker():
        while True:
            with lock:
                if idx[0] >= len(todo) or errors:
                    return
                i, msg = todo[idx[0]]
                idx[0] += 1
            status, body = None, None
            for _ in range(tries):
                if time.monotonic() > deadline:
                    break
                try:
                    r = stack.post_message(msg, client=client)
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        stats["network_errors"] += 1
                    status, body = f"network error: {e}", None
                    time.sleep(0.05)
                    continue
                status = r.status
                body = r.json() if r.body else None
                if status in (200, 202) and isinstance(body, dict):
                    with lock:
                        stats["ids"].setdefault((msg["channel"], msg["external_id"]),
                                                set()).add(body.get("event_id"))
                if r.status == 503:
                    with lock:
                        stats["retries_503"] += 1
                    time.sleep(0.05)
                    continue
                break
            with lock:
                answers[(msg["channel"], msg["external_id"])] = (status, body)
                n = len(answers)
            if on_answer:
                try:
                    on_answer(n)
                except Exception as e:  # surfaced by the caller
                    with lock:
                        errors.append(e)
            if status not in (200, 202):
                with lock:
                    errors.append(HarnessError(f"message {i} never accepted: {status} {body}"))

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=max(1.0, deadline - time.monotonic()) + 30)
    client.close()
    if any(t.is_alive() for t in ts):
        raise HarnessError("posting threads did not finish in time")
    if errors:
        raise errors[0]
    return answers, stats


# --- protobuf (Python code generated with the standard protoc) ---------------------


def generate_python_proto(out_dir):
    """protoc --python_out for proto/carebus/v1/events.proto; returns the
    imported carebus.v1.events_pb2 module."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = ["protoc", "-I", str(REPO / "proto"), "-I", "/usr/include", f"--python_out={out_dir}",
           str(REPO / "proto" / "carebus" / "v1" / "events.proto")]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if p.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)} failed:\n{p.stdout.decode(errors='replace')}")
    if str(out_dir) not in sys.path:
        sys.path.insert(0, str(out_dir))
    import importlib
    return importlib.import_module("carebus.v1.events_pb2")


def rmtree_quiet(path):
    shutil.rmtree(path, ignore_errors=True)
