"""The bi schema: documented views, read through bi_reader and nothing else.

The session cluster trusts every local connection, which would let any
password in; this test takes a cluster of its own and makes bi_reader
authenticate with SCRAM (pg_hba.conf), so that the password set from
CAREBUS_BI_PASSWORD is really checked. A real contact goes through ingest and
the router, so that bi.tickets, bi.messages and bi.customers have rows, and
the customer's phone and email can be seen masked.
"""

import datetime

import psycopg2
import pytest

import carebus_harness as h

PASSWORD = "bí-mật với dấu ' và \" và \\ 123"  # quotes and backslashes on purpose
VIEWS = {"tickets", "messages", "customers", "surveys", "sla", "kpi_daily", "freshness"}


def require_scram(cluster):
    """bi_reader must give its password; everyone else stays trusted."""
    hba = cluster.datadir / "pg_hba.conf"
    text = hba.read_text()
    hba.write_text("host all bi_reader 127.0.0.1/32 scram-sha-256\n"
                   "host all bi_reader ::1/128 scram-sha-256\n" + text)
    c = cluster.connect()
    try:
        with c.cursor() as cur:
            cur.execute("SELECT pg_reload_conf()")
    finally:
        c.close()


def connect_bi(cluster, dbname, password):
    c = psycopg2.connect(host="127.0.0.1", port=cluster.port, dbname=dbname, user="bi_reader",
                         password=password, connect_timeout=10)
    c.autocommit = True
    return c


def test_bi_reader_reads_bi_and_nothing_else(private_cluster, stack):
    require_scram(private_cluster)
    st = stack(cluster=private_cluster, start=False)
    st["ingest"].start()
    st["router"].start()
    st["analytics"].start(extra_env={"CAREBUS_BI_PASSWORD": PASSWORD})
    # Business time defaults to the SLA's standard calendar.
    h.wait_until("analytics to load its calendar", lambda: 'business time on calendar '
                 '\\"vn-business\\"' in st["analytics"].log_text(), h.scaled(30))
    h.wait_until("bi_reader to get its password", lambda: st.db.scalar(
        "SELECT rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid WHERE rolname = 'bi_reader'"),
        h.scaled(30))

    msg = h.contact(1, 7, "zalo")
    msg["customer"]["email"] = "Lan.Nguyen@Example.vn"
    r = st.post_message(msg)
    assert r.status == 202, r
    st.wait_caught_up(at_least=1)
    h.wait_until("analytics to read the router's events",
                 lambda: st.db.scalar("SELECT count(*) FROM analytics.tickets") == 1,
                 h.scaled(30))

    # The password is checked: a wrong one is refused, the right one works.
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        connect_bi(private_cluster, st.dbname, "wrong")
    c = connect_bi(private_cluster, st.dbname, PASSWORD)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.views "
                        "WHERE table_schema = 'bi'")
            assert {r[0] for r in cur.fetchall()} == VIEWS
            counts = {}
            for v in sorted(VIEWS):
                cur.execute(f"SELECT * FROM bi.{v}")
                counts[v] = len(cur.fetchall())
            assert counts["tickets"] == 1 and counts["messages"] == 1
            assert counts["customers"] == 1 and counts["kpi_daily"] > 0
            cur.execute("SELECT phone_masked, email_masked FROM bi.customers")
            phone, email = cur.fetchone()
            assert phone == "+84******007" and email == "l***@example.vn", (phone, email)
            cur.execute("SELECT channel, created_day, contacts FROM bi.tickets")
            assert cur.fetchone() == ("zalo", datetime.date(2026, 11, 23), 1)

            # Everything else is denied: every table of every other schema.
            tables = st.db.query(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('bi', 'pg_catalog', 'information_schema')")
            schemas = {s for s, _ in tables}
            assert {"eventlog", "router", "analytics", "ingest", "public"} <= schemas
            for schema, table in tables:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f'SELECT 1 FROM "{schema}"."{table}" LIMIT 1')
            for schema in schemas | {"sla", "survey"}:
                cur.execute("SELECT has_schema_privilege(%s, 'USAGE')", (schema,))
                assert cur.fetchone() == (False,), schema
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT * FROM analytics.kpi_sums('2026-01-01', '2026-01-02', 0)")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("CREATE TABLE bi.mine (x int)")
            for v in VIEWS:
                cur.execute("SELECT has_table_privilege(%s, 'INSERT, UPDATE, DELETE, TRUNCATE')",
                            (f"bi.{v}",))
                assert cur.fetchone() == (False,), v
    finally:
        c.close()


def test_every_bi_view_and_column_is_documented(stack):
    st = stack("analytics")
    missing = st.db.query(
        "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = 'bi' AND col_description(c.oid, a.attnum) IS NULL")
    assert missing == []
    views = st.db.query(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bi'")
    assert {v for v, _ in views} == VIEWS
    assert all(d and len(d) > 20 for _, d in views), views


def test_bi_reads_the_standby_with_its_freshness(pg_pair, stack):
    """BI pointed at the synchronous standby: bi_reader and every bi view work
    on the replica, and bi.freshness says it is a standby, streaming, with
    the latest event the primary recorded."""
    st = stack("ingest", "router", "analytics", cluster=pg_pair)
    assert st.post_message(h.contact(1, 7, "zalo")).status == 202
    st.wait_caught_up(at_least=1)
    h.wait_until("analytics to read the router's events",
                 lambda: st.db.scalar("SELECT count(*) FROM analytics.tickets") == 1,
                 h.scaled(30))
    on_primary = st.db.query("SELECT on_standby, receiving, replication_delay_s, last_event_at "
                             "FROM bi.freshness")[0]
    assert on_primary[:3] == (False, None, 0) and on_primary[3] is not None

    standby = pg_pair.standby
    c = psycopg2.connect(host="127.0.0.1", port=standby.port, dbname=st.dbname, user="bi_reader",
                         connect_timeout=10)
    c.autocommit = True
    try:
        with c.cursor() as cur:
            def replayed():
                cur.execute("SELECT count(*) FROM bi.tickets")
                return cur.fetchone()[0] == 1
            h.wait_until("the ticket on the standby", replayed, h.scaled(30))
            for v in sorted(VIEWS):
                cur.execute(f"SELECT * FROM bi.{v}")
            cur.execute("SELECT on_standby, receiving, replication_delay_s, last_event_at "
                        "FROM bi.freshness")
            on_standby, receiving, delay, last_event_at = cur.fetchone()
            assert on_standby is True and receiving is True, (on_standby, receiving)
            assert 0 <= delay < h.scaled(30)
            assert last_event_at == on_primary[3]
            cur.execute("SELECT current_user, pg_is_in_recovery()")
            assert cur.fetchone() == ("bi_reader", True)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT 1 FROM eventlog.events LIMIT 1")
    finally:
        c.close()
