"""analytics: every KPI of a hand-computed scenario, by API, CSV and bi.kpi_daily;
a rebuild from the log equals the live state.

The scenario and its expected numbers are in test_analytics_scenario.py (events
appended to the log directly; each expectation is commented there). The streams
are appended survey first and router last, so the live consumer sees answers,
breaches and replies before the tickets they concern: the state must not depend
on the order the streams are read in, which the rebuild (ingest, router, sla,
survey) then checks.
"""

import csv
import io
import json
import subprocess

import pytest

import carebus_harness as h
import test_analytics_scenario as S

STREAMS = ("ingest", "router", "sla", "survey")
# The scenario's business hours, pinned: by default analytics reads the SLA's
# standard calendar (deploy/config), which is sla-monitor's to change.
ENV = {"CAREBUS_ANALYTICS_HOURS": "mon-fri 08:00-17:00", "CAREBUS_ANALYTICS_HOLIDAYS": ""}


def start_analytics(stack):
    st = stack(start=False)
    st["analytics"].start(extra_env=ENV)
    return st


def rebuild(st):
    p = subprocess.run([str(h.BIN_DIR / "carebus-analytics"), "--rebuild"],
                       env=st.env_for("analytics", ENV), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=h.scaled(120))
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def load_scenario(st, pb2):
    events = S.build(pb2)
    for stream in ("survey", "sla", "ingest", "router"):
        S.append(st.db, stream, events[stream])
    for stream in STREAMS:
        st.wait_caught_up(consumer="analytics", stream=stream, at_least=len(events[stream]),
                          timeout=h.scaled(60))
    return events


def kpis(st, query, headers=None):
    r = h.http_request(f"{st['analytics'].url}/v1/kpis?{query}",
                       headers=dict(st.auth(), **(headers or {})))
    assert r.status == 200, r
    return r


def rows(st, query):
    body = kpis(st, query).json()
    return body["rows"]


def assert_rows(got, expected, what):
    assert [g["key"] for g in got] == [e["key"] for e in expected], what
    for g, e in zip(got, expected):
        diff = {k: (g.get(k), v) for k, v in e.items() if g.get(k) != v}
        assert not diff, f"{what} {e['key']}: (got, expected) {diff}"
        assert set(g) == set(e), f"{what}: columns {sorted(set(g) ^ set(e))}"


@pytest.fixture
def scenario(stack, pb2):
    st = start_analytics(stack)
    load_scenario(st, pb2)
    return st


def test_every_kpi_of_the_scenario_by_api(scenario):
    st = scenario
    body = kpis(st, f"from={S.D1}&to={S.D3}&group_by=all").json()
    assert (body["from"], body["to"], body["group_by"]) == (S.D1, S.D3, "all")
    assert_rows(body["rows"], [S.EXPECTED_ALL], "all")
    assert_rows(rows(st, f"from={S.D1}&to={S.D3}&group_by=day"), S.EXPECTED_DAYS, "day")
    # group_by defaults to day
    assert_rows(rows(st, f"from={S.D1}&to={S.D3}"), S.EXPECTED_DAYS, "day (default)")
    assert_rows(rows(st, f"from={S.D1}&to={S.D3}&group_by=channel"), S.EXPECTED_CHANNEL,
                "channel")
    assert_rows(rows(st, f"from={S.D2}&to={S.D3}&group_by=segment"), S.EXPECTED_SEGMENT_D2_D3,
                "segment")
    agents = rows(st, f"from={S.D1}&to={S.D3}&group_by=agent")
    # T4 is queued (no agent): its row has a null key.
    assert [a["key"] for a in agents] == [None, "a1", "a3", "a4"]
    assert_rows([a for a in agents if a["key"] == "a1"], [S.EXPECTED_AGENT_A1], "agent")
    teams = {t["key"]: t for t in rows(st, f"from={S.D1}&to={S.D3}&group_by=team")}
    # T2 counts for the team it was transferred to; T3 and T5 for support.
    assert set(teams) == {"technical", "returns-warranty", "support", "sales"}
    assert teams["returns-warranty"]["tickets_solved"] == 1
    assert teams["support"]["tickets_created"] == 2
    assert teams["support"]["backlog_open"] == 1 and teams["sales"]["backlog_pending"] == 1
    cats = {c["key"]: c["tickets_created"] for c in
            rows(st, f"from={S.D1}&to={S.D3}&group_by=category")}
    assert cats == {"technical_support": 1, "complaint": 1, "billing": 1, "product_info": 1,
                    "account": 1}
    # A period without data: counts 0, KPIs null (never 0).
    empty = rows(st, "from=2025-01-01&to=2025-01-01&group_by=all")[0]
    assert empty["contacts"] == 0 and empty["backlog_open"] == 0
    assert all(empty[k] is None for k in ("fcr_pct", "csat_pct", "ces_avg",
                                          "first_response_p90_s", "sla_compliance_pct"))


def parse_csv_value(v):
    if v == "":
        return None
    return float(v)


def test_csv_has_the_same_columns_and_numbers(scenario):
    st = scenario
    for accept, query in ((None, "&format=csv"), ("text/csv", "")):
        r = kpis(st, f"from={S.D1}&to={S.D3}&group_by=day{query}",
                 headers={"Accept": accept} if accept else None)
        assert r.header("content-type").startswith("text/csv")
        table = list(csv.reader(io.StringIO(r.body.decode("utf-8"))))
        header, data = table[0], table[1:]
        assert header == list(S.EXPECTED_DAYS[0].keys())
        assert len(data) == len(S.EXPECTED_DAYS)
        for line, exp in zip(data, S.EXPECTED_DAYS):
            got = dict(zip(header, line))
            assert got["key"] == exp["key"]
            for k, v in exp.items():
                if k != "key":
                    assert parse_csv_value(got[k]) == v, (exp["key"], k, got[k], v)
    # A key with a comma is quoted; null keys are empty.
    r = kpis(st, f"from={S.D1}&to={S.D3}&group_by=agent&format=csv")
    lines = list(csv.reader(io.StringIO(r.body.decode("utf-8"))))
    assert lines[1][0] == "" and lines[1][1] == "1"  # T4: no agent, one contact


def test_bi_kpi_daily_equals_the_api(scenario):
    st = scenario
    names = [r[0] for r in st.db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'bi' "
        "AND table_name = 'kpi_daily' ORDER BY ordinal_position")]
    kpi_cols = [c for c in S.EXPECTED_ALL if c != "key"]
    assert names == ["day", "dimension", "channel", "team", "agent", "segment", "category"] + \
        kpi_cols
    compared = 0
    for dim in ("all", "channel", "team", "agent", "segment", "category"):
        for day in S.DAYS:
            api = rows(st, f"from={day}&to={day}&group_by={'day' if dim == 'all' else dim}")
            view = st.db.query("SELECT * FROM bi.kpi_daily WHERE day = %s AND dimension = %s",
                               (day, dim))
            assert view, (dim, day)
            by_key = {a["key"]: a for a in api}
            for v in view:
                d = dict(zip(names, v))
                key = day if dim == "all" else d[dim]
                assert key in by_key, (dim, day, key, list(by_key))
                for c in kpi_cols:
                    want = d[c] if d[c] is None or isinstance(d[c], float) else int(d[c])
                    assert by_key[key][c] == want, (dim, day, key, c, by_key[key][c], want)
                    compared += 1
    # the scenario's own figures are there too
    d1 = dict(zip(names, st.db.query("SELECT * FROM bi.kpi_daily WHERE day = %s AND "
                                     "dimension = 'all'", (S.D1,))[0]))
    assert d1["first_response_p90_s"] == S.EXPECTED_DAYS[0]["first_response_p90_s"]
    assert d1["sla_compliance_pct"] == S.EXPECTED_DAYS[0]["sla_compliance_pct"]
    assert compared > 1000


def test_bad_parameters_are_400_naming_the_field(stack):
    st = start_analytics(stack)
    base = st["analytics"].url + "/v1/kpis?"
    cases = {
        "to=2026-03-04": "from",
        "from=2026-03-02": "to",
        "from=2026-3-2&to=2026-03-04": "from",
        "from=2026-03-02&to=2026-02-30": "to",
        "from=2026-03-04&to=2026-03-02": "to",
        "from=2000-01-01&to=2026-03-02": "to",
        "from=2026-03-02&to=2026-03-04&group_by=week": "group_by",
        "from=2026-03-02&to=2026-03-04&format=xml": "format",
    }
    for q, field in cases.items():
        r = h.http_request(base + q, headers=st.auth())
        assert r.status == 400, (q, r)
        assert r.json()["error"]["field"] == field, (q, r.json())


SNAPSHOT = {
    "tickets": "SELECT * FROM analytics.tickets ORDER BY ticket_id",
    "customers": "SELECT * FROM analytics.customers ORDER BY customer_id",
    "samples": "SELECT * FROM analytics.samples ORDER BY ticket_id, metric",
    "surveys": "SELECT * FROM analytics.surveys ORDER BY survey_id",
    "sla_events": "SELECT * FROM analytics.sla_events ORDER BY event_id",
    "daily": "SELECT * FROM analytics.daily ORDER BY dim, day, key",
    "offsets": "SELECT stream, seq FROM eventlog.offsets WHERE consumer = 'analytics' "
               "ORDER BY stream",
}


def snapshot(st):
    return {k: st.db.query(q) for k, q in SNAPSHOT.items()}


def test_rebuild_from_the_log_equals_the_live_state(scenario):
    st = scenario
    live = snapshot(st)
    assert len(live["tickets"]) == 5 and len(live["daily"]) > 50
    assert [r[0] for r in live["offsets"]] == sorted(STREAMS)
    before_api = rows(st, f"from={S.D1}&to={S.D3}&group_by=channel")
    st.stop("analytics")
    # Scribble over the state: the rebuild must not depend on what was there.
    st.db.query("UPDATE analytics.daily SET contacts = contacts + 100")
    st.db.query("DELETE FROM analytics.samples")
    stats = rebuild(st)
    assert stats["events"] == sum(st.last_seq(s) for s in STREAMS)
    rebuilt = snapshot(st)
    for k in SNAPSHOT:
        assert rebuilt[k] == live[k], f"{k}: the rebuild differs from the live state"
    # The service resumes from the rebuilt offsets and answers the same.
    st["analytics"].start(extra_env=ENV)
    assert rows(st, f"from={S.D1}&to={S.D3}&group_by=channel") == before_api
    assert snapshot(st) == live


def test_live_with_a_kill9_equals_a_rebuild_on_a_random_log(stack, pb2):
    """Every event kind, merges and segment changes, streams appended in
    rotating chunks (so the live consumer interleaves them differently from
    a rebuild), and analytics killed with -9 halfway: the live state still
    equals the rebuild's."""
    st = start_analytics(stack)
    events = S.random_log(pb2, seed=7, n_tickets=150)
    total = sum(len(v) for v in events.values())
    assert total > 1000
    chunks = 6
    order = ["router", "survey", "ingest", "sla"]
    for i in range(chunks):
        for stream in order[i % 4:] + order[:i % 4]:
            evs = events[stream]
            part = evs[len(evs) * i // chunks:len(evs) * (i + 1) // chunks]
            if part:
                S.append(st.db, stream, part)
        if i == chunks // 2:
            h.wait_until("analytics to apply something", lambda: (st.db.scalar(
                "SELECT coalesce(sum(seq), 0) FROM eventlog.offsets WHERE consumer = 'analytics'")
                or 0) > 0, h.scaled(30))
            st.kill9("analytics")
            st["analytics"].start(extra_env=ENV)
    for stream in STREAMS:
        st.wait_caught_up(consumer="analytics", stream=stream, at_least=len(events[stream]),
                          timeout=h.scaled(120))
    live = snapshot(st)
    assert live["tickets"] and live["customers"] and live["surveys"] and live["sla_events"]
    merged = st.db.scalar("SELECT count(*) FROM analytics.customers WHERE merged_into IS NOT NULL")
    assert merged > 0
    st.stop("analytics")
    rebuild(st)
    rebuilt = snapshot(st)
    for k in SNAPSHOT:
        if rebuilt[k] != live[k]:
            diff = [(a, b) for a, b in zip(live[k], rebuilt[k]) if a != b][:2]
            pytest.fail(f"{k}: live {len(live[k])} rows, rebuilt {len(rebuilt[k])}; first "
                        f"differences (live, rebuilt): {diff}")
