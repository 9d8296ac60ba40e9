"""The short form of tests/chaos/chaos.py, in `make test`: contacts posted
across two instances of every service under load while random instances
are killed with -9, the primary
PostgreSQL crash-restarted, and the standby promoted; then, through the
public API, every acknowledged event is in the log once, on exactly one
ticket, counted once in the KPIs, and a rebuild from the log answers as the
live state did. `make chaos` runs the long form (README, "High
availability")."""

import sys
from pathlib import Path

import pytest

import carebus_harness as h

sys.path.insert(0, str(h.REPO / "tests" / "chaos"))
import chaos  # noqa: E402

# Kills and deadlines: one worker runs these one after another (Makefile,
# --dist loadgroup), never two at once beside each other.
pytestmark = pytest.mark.xdist_group("kill9")


def test_chaos_short(session_tmp):
    base = Path(session_tmp) / "chaos"
    base.mkdir()
    figures = chaos.run(base, events=2000, kills=6, pg_restarts=1, promotions=1, threads=6,
                        seed=15, instances=2)
    print(f"\nchaos: {figures}")
    assert figures["acknowledged"] == 2000 and figures["lost"] == 0
    assert figures["duplicated"] == 0 and figures["rebuild_equals_live"]
    assert figures["instances"] == 2 and figures["kills"] == 6 and figures["pg_restarts"] == 1 and figures["promotions"] == 1
