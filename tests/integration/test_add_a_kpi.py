"""A new KPI is its kpi.def line; one that needs a new sum adds its measure,
its computation and a one-line migration.

A scratch copy of the tree gets a "reopen rate" (solved tickets that had been
reopened / solved tickets x 100) that the sums cannot answer yet:

  - contrib.h: the measure `reopened`; contrib.c: one line adding it where a
    solve is counted;
  - deploy/migrations: `ALTER TABLE analytics.daily ADD COLUMN reopened ...`;
  - kpi.def: the KPI, appended, with its labels and documentation.

The acceptance scenario is loaded with today's analytics; then the scratch
analytics starts on the same database and, by itself, applies the migration,
writes its SQL (the API's query, bi.kpi_daily, the live write of the sums),
sees the measures changed and rebuilds. The KPI is then in the API (last
column, the right value), in bi.kpi_daily with its comment (the same value),
on the dashboard as a card; and the one document the KPI needs by hand, the
OpenAPI KpiRow, fails its check exactly there until it lists the KPI.
"""

import carebus_harness as h
import test_analytics_scenario as S
import test_vocabulary as V
from test_add_a_channel import edit, scratch_build, scratch_tree
from test_analytics_kpis import ENV, load_scenario

KPI_LINE = '''KPI(REOPEN_PCT, "reopen_pct", RATIO("reopened", "tickets_solved", 100), DIMS_ALL, PCT, true,
    "Tỷ lệ mở lại", "Reopen rate",
    "Solved tickets that had been reopened / solved tickets x 100.")
'''


def _scratch(tmp):
    tree = scratch_tree(tmp)
    edit(tree / "services/analytics/contrib.h", '    X(CUST_CHURNED, "cust_churned")',
         ' \\\n    X(REOPENED, "reopened")')
    edit(tree / "services/analytics/contrib.c",
         "add(a, f->solved_day, dims, M_FCR_SOLVED, f->fcr ? sign : 0);\n",
         "        add(a, f->solved_day, dims, M_REOPENED, t->reopens > 0 ? sign : 0);\n")
    (tree / "deploy/migrations/9999_reopened.sql").write_text(
        "ALTER TABLE analytics.daily ADD COLUMN reopened bigint NOT NULL DEFAULT 0;\n")
    with open(tree / "services/analytics/kpi.def", "a", encoding="utf-8") as f:
        f.write(KPI_LINE)
    return tree, scratch_build(tree, ("carebus-analytics",))


def test_a_kpi_is_its_definition(stack, pb2, tmp_path):
    tree, bin_dir = _scratch(tmp_path)
    st = stack(start=False)
    st["analytics"].start(extra_env=ENV)
    load_scenario(st, pb2)
    st.stop("analytics")
    st["analytics"].binary = bin_dir / "carebus-analytics"
    st["analytics"].start(extra_env=ENV)
    assert "the KPI measures changed: rebuilding" in st["analytics"].log_text()
    a = st["analytics"].url

    # The API: the new column last, its value from the rebuilt sums.
    r = h.http_request(f"{a}/v1/kpis?from={S.D1}&to={S.D3}&group_by=all", headers=st.auth())
    assert r.status == 200, r
    row = r.json()["rows"][0]
    assert list(row)[-2:] == ["backlog_older", "reopen_pct"]
    reopened = st.db.scalar("SELECT count(*) FROM analytics.tickets WHERE reopens > 0"
                            " AND solved_day BETWEEN %s AND %s", (S.D1, S.D3))
    assert reopened == 1  # T3, reopened on D2 and solved again on D3
    assert row["reopen_pct"] == 100 * reopened / row["tickets_solved"]
    assert row["tickets_solved"] == S.EXPECTED_ALL["tickets_solved"]

    # bi.kpi_daily: the same figure per day, documented.
    cols = [c for (c,) in st.db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'bi'"
        " AND table_name = 'kpi_daily' ORDER BY ordinal_position")]
    assert cols[-1] == "reopen_pct"
    assert st.db.scalar("SELECT col_description('bi.kpi_daily'::regclass, %s)", (len(cols),)) == \
        "Solved tickets that had been reopened / solved tickets x 100."
    days = {r["key"]: r["reopen_pct"] for r in h.http_request(
        f"{a}/v1/kpis?from={S.D1}&to={S.D3}&group_by=day", headers=st.auth()).json()["rows"]}
    view = dict(st.db.query("SELECT day::text, reopen_pct FROM bi.kpi_daily"
                            " WHERE dimension = 'all' AND day BETWEEN %s AND %s", (S.D1, S.D3)))
    assert days == {d: view.get(d) for d in S.DAYS} and days[S.D3] == 100.0, (days, view)

    # The dashboard's card, from the same line.
    page = h.http_request(f"{a}/?from={S.D1}&to={S.D3}&lang=en", headers=st.auth()).body.decode()
    assert "<dt>Reopen rate</dt>" in page

    # The database and the documents: only the KpiRow lacks it.
    enums, _ = V.describe_enums(h.BIN_DIR)
    kpis = V.describe_kpis(bin_dir)
    assert V.sql_problems(st.db, enums, kpis) == []
    problems = V.kpirow_problems(tree, kpis)
    assert len(problems) == 1 and "KpiRow's properties" in problems[0], problems
    edit(tree / "services/analytics/openapi.yaml", "        backlog_older: {type: integer}\n",
         "        reopen_pct: {type: number, nullable: true}\n")
    assert V.kpirow_problems(tree, kpis) == []
