"""Fixtures of the integration suite: a private PostgreSQL cluster for the
session, a fresh database and fresh ports for every test's stack of real
service binaries, and a dedicated cluster for tests that stop PostgreSQL.

Logs (each service run's stderr, the cluster's log) stay under the session's
temporary folder, whose path is printed with every failure; the folder is
removed after a session without failures (CAREBUS_KEEP_TMP=1 keeps it).

Environment (set by `make test-integration`): CAREBUS_BIN_DIR,
CAREBUS_TOOLS_DIR, CAREBUS_GEN_DIR. Optional: CAREBUS_TEST_TIME_SCALE (deadline
multiplier; 3 for sanitizer builds), CAREBUS_TEST_LOG_LEVEL (services' level),
CAREBUS_TEST_BUS_CURVE=1 (every stack's bus with CURVE, as in compose).
"""

import os
import re
import tempfile
from pathlib import Path

import pytest

import carebus_harness as h

_session_failed = {"any": False}
_session_dirs = []


def pytest_terminal_summary(terminalreporter):
    if _session_dirs and (_session_failed["any"] or os.environ.get("CAREBUS_KEEP_TMP")):
        terminalreporter.write_line(f"carebus: service logs, cluster and data kept in {_session_dirs[0]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed:
        _session_failed["any"] = True
        d = getattr(item, "carebus_log_dir", None)
        if d is not None:
            rep.sections.append(("carebus logs", f"service logs of this test: {d}"))
            stacks = getattr(item, "carebus_stacks", [])
            for st in stacks:
                rep.sections.append((f"carebus log tails ({st.dbname})", st.log_summary(20)))


def _safe_name(nodeid):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:100]


@pytest.fixture(scope="session")
def session_tmp():
    d = Path(tempfile.mkdtemp(prefix="carebus-it-"))
    # PostgreSQL runs as the unprivileged "carebus" when we are root: it must
    # be able to traverse to its data folder.
    d.chmod(0o755)
    _session_dirs.append(d)
    yield d
    if not (_session_failed["any"] or os.environ.get("CAREBUS_KEEP_TMP")):
        h.rmtree_quiet(d)


@pytest.fixture(scope="session")
def pg_cluster(session_tmp):
    c = h.PgCluster(session_tmp, "pg")
    c.init()
    c.start()
    c.make_template(session_tmp / "logs" / "template")
    yield c
    try:
        c.stop()
    except h.HarnessError as e:
        print(f"\ncarebus: stopping the session cluster failed: {e}")


@pytest.fixture
def private_cluster(session_tmp, request):
    """A cluster of its own, for a test that stops PostgreSQL. Request it
    BEFORE `stack` in the test's signature, so that it is torn down after the
    stack's services."""
    c = h.PgCluster(session_tmp, "pg-" + _safe_name(request.node.nodeid))
    c.init()
    c.start()
    yield c
    try:
        c.stop()
    except h.HarnessError as e:
        print(f"\ncarebus: stopping the private cluster failed: {e}")


@pytest.fixture
def pg_pair(session_tmp, request):
    """A primary and its synchronous standby (h.PgPair), for a test that
    fails over; pass it to stack(..., cluster=pg_pair). Request it BEFORE
    `stack`, as private_cluster."""
    pair = h.PgPair(session_tmp, "pg-ha-" + _safe_name(request.node.nodeid))
    pair.start()
    yield pair
    try:
        pair.stop()
    except h.HarnessError as e:
        print(f"\ncarebus: stopping the primary/standby pair failed: {e}")


@pytest.fixture
def stack(request, pg_cluster, session_tmp):
    """stack(*services, cluster=None, start=True, curve=None, master_key=None,
    fresh=False) -> h.Stack on a new database (curve: its bus with CURVE; None:
    CAREBUS_TEST_BUS_CURVE decides; master_key: personal data sealed in the
    log; None: CAREBUS_TEST_MASTER_KEY decides; fresh: empty, not a copy of
    the session cluster's migrated template). Teardown: SIGTERM every running service, then fail the test if
    any exited non-zero, crashed by itself, or logged a sanitizer report."""
    made = []
    log_root = session_tmp / "logs" / _safe_name(request.node.nodeid)
    request.node.carebus_log_dir = log_root
    request.node.carebus_stacks = made

    def make(*services, cluster=None, start=True, curve=None, master_key=None, fresh=False):
        c = cluster or pg_cluster
        st = h.Stack(c, log_root / f"stack{len(made) + 1}", curve=curve, master_key=master_key,
                     fresh=fresh)
        made.append(st)
        if services and start:
            st.start(*services)
        return st

    yield make

    problems = []
    for st in made:
        problems.extend(st.close())
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.passed and not problems:
        for st in made:
            try:
                st.cluster.drop_database(st.dbname)
            except Exception:  # a stopped private cluster: nothing to drop
                pass
    if problems:
        pytest.fail(f"service problems (logs: {log_root}):\n" + "\n\n".join(problems),
                    pytrace=False)


@pytest.fixture(scope="session")
def pb2(session_tmp):
    """carebus.v1.events_pb2, generated with the standard protoc."""
    return h.generate_python_proto(session_tmp / "py")


@pytest.fixture(scope="session")
def tool():
    def path(name):
        p = h.TOOLS_DIR / name
        if not p.exists():
            pytest.fail(f"test tool {p} is missing: build it (make build)", pytrace=False)
        return p

    return path
