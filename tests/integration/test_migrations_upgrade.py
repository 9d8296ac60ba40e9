"""A database upgraded along main's history has the schema of a fresh install.

A fresh install runs every migration in the order of its number. A database
that has been running since an older version ran the migrations in the
order they landed: each new version applies the ones it lacks, in number
order, after those applied long ago. Migrations are numbered by topic, so a
new one often has a lower number than some already applied (0077 landed
after 0099), and one that restates an object another migration also
touches gives the two kinds of database different schemas. Editing a
landed migration does too: a database that applied it never runs it again.

  a. every migration applied commit by commit along main's first-parent
     history (the current text of each), then the migrator of this build:
     the schema is the fresh install's
  b. from UPGRADE_BASE on, each migration as it stood in the commit that
     added it: the schema is the fresh install's, so no landed migration
     was edited in a way that only fresh installs see
  c. from UPGRADE_BASE on, no landed migration was edited but in its
     comments (an edit of its data changes, which b cannot see, would reach
     fresh installs only), but for the edits listed in EDITED

The schemas are compared as pg_dump prints them, except the order of a
table's columns (a column added by an older-numbered migration that landed
later comes last on an upgraded database; no statement of carebus depends
on the order). Both need the project's git history; a checkout without it
(an archive, a shallow clone) skips them.
"""

import difflib
import os
import re
import shutil
import subprocess

import pytest

import carebus_harness as h

MIGRATIONS = "deploy/migrations"

# The oldest commit from which (b) holds: 0065 renamed to 0092 and 0093
# edited after landing, both before it, make older databases differ.
UPGRADE_BASE = "6a9e4d67462b746d9024b1483723ef6f27e14e54"

# Landed migrations edited since UPGRADE_BASE, each within a session of its
# landing, before any release: a database that ran the first text lacks
# what the edit added. (commit, file): what it added.
EDITED = {
    ("3bbbddce912a4b831165353337f3696492617c12", "0098_eventlog_settled_last_seq.sql"):
        "the router stream's row in eventlog.streams (a database without it makes it"
        " at the router's first append)",
    ("c0f460630a66cf3de045adce46b7c6703df7406d", "0099_privacy_reply_recipient.sql"):
        "the mending of replies erased before 0099 (a rebuild of the router mends them)",
}


def _git(*args):
    p = subprocess.run(["git", "-C", str(h.REPO), *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise h.HarnessError(f"git {' '.join(args)} failed: {p.stderr.decode()}")
    return p.stdout.decode()


def _history_or_skip():
    if shutil.which("git") is None or not (h.REPO / ".git").exists():
        pytest.skip("not a git checkout: no history to upgrade along")
    if _git("rev-parse", "--is-shallow-repository").strip() != "false":
        pytest.skip("a shallow clone: no history to upgrade along")


def _present():
    return sorted(f for f in os.listdir(h.REPO / MIGRATIONS) if f.endswith(".sql"))


def _landing_steps():
    """[[file, ...], ...]: the migrations each first-parent commit added, in
    number order, and last those of the working tree that no commit has."""
    log = _git("log", "--first-parent", "-m", "--reverse", "--diff-filter=AR",
               "--format=@%H", "--name-only", "--", MIGRATIONS)
    steps, seen = [], set()
    for line in log.splitlines():
        if line.startswith("@"):
            steps.append([])
        elif line.strip():
            steps[-1].append(os.path.basename(line.strip()))
    present = set(_present())
    out = []
    for files in steps:
        files = sorted(f for f in set(files) if f in present and f not in seen)
        seen.update(files)
        if files:
            out.append(files)
    rest = sorted(present - seen)
    return out + ([rest] if rest else [])


def _apply(db, name, sql):
    """As migrate.c does: the file and its record in one transaction."""
    conn = db.conn()
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            cur.execute("INSERT INTO public.carebus_migrations (name) VALUES (%s)", (name,))
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True


def _new_database(pg_cluster):
    name = pg_cluster.create_database("upgrade", fresh=True)
    db = h.Db(pg_cluster.conninfo(name))
    db.query("CREATE TABLE public.carebus_migrations ("
             " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
    return name, db


def _pg_dump():
    """The cluster's own pg_dump (pg-cluster.sh's choice of server), else PATH's."""
    for d in (os.environ.get("CAREBUS_PG_BINDIR"), "/usr/lib/postgresql/15/bin"):
        if d and os.access(os.path.join(d, "pg_dump"), os.X_OK):
            return os.path.join(d, "pg_dump")
    return "pg_dump"


def _schema(pg_cluster, dbname):
    """pg_dump's schema, each table's columns in name order."""
    p = subprocess.run([_pg_dump(), "--schema-only", "--no-owner", pg_cluster.conninfo(dbname)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    out, cols = [], None
    for line in p.stdout.decode().splitlines():
        if line.startswith(("\\restrict", "\\unrestrict")):  # a random key per dump
            continue
        if cols is not None:
            if not line.startswith(")"):  # ");" or ")\nWITH (fillfactor=...);"
                cols.append(line.rstrip(","))
                continue
            out.extend(sorted(cols))
            cols = None
        out.append(line)
        if re.match(r"CREATE (UNLOGGED )?TABLE .* \($", line):
            cols = []
    assert cols is None, f"a table of {dbname} never closed in pg_dump's output"
    return out


def _as_analytics_starts(pg_cluster, dbname):
    """What analytics does at its start (analytics.bi_setup: bi_reader and
    its grants on bi), bi_reader's password kept as it is. A migration
    grants bi_reader what it adds only if the role exists (0090), and the
    role is the cluster's: made by the first analytics started on it, here
    by whichever test of the session started one first."""
    db = h.Db(pg_cluster.conninfo(dbname))
    try:
        verifier = db.scalar("SELECT rolpassword FROM pg_authid WHERE rolname = 'bi_reader'")
        db.query("SELECT analytics.bi_setup(%s)", (verifier,))
    finally:
        db.close()


def _assert_same_schema(pg_cluster, upgraded, how):
    """Against a copy of the session's template (the build's migrator on an
    empty database): the template itself must stay free for copying. Both
    as after analytics' start."""
    fresh = pg_cluster.create_database("fresh")
    try:
        for name in (fresh, upgraded):
            _as_analytics_starts(pg_cluster, name)
        a, b = _schema(pg_cluster, fresh), _schema(pg_cluster, upgraded)
    finally:
        pg_cluster.drop_database(fresh)
    if a != b:
        diff = "\n".join(difflib.unified_diff(a, b, "fresh install", how, lineterm="", n=2))
        pytest.fail(f"the schema of a database upgraded {how} is not a fresh install's:\n{diff}")


def _migrate_with_this_build(pg_cluster, dbname, tmp_path, db):
    """The build's own migrator on the upgraded database: finds nothing to do."""
    before = db.scalar("SELECT count(*) FROM public.carebus_migrations")
    st = h.Stack(pg_cluster, tmp_path / "logs", dbname=dbname, curve=False, master_key=False)
    try:
        st.carebusctl("keys", "list")
    finally:
        st.close()
    assert db.scalar("SELECT count(*) FROM public.carebus_migrations") == before == len(_present())


def test_migrations_applied_in_the_order_they_landed_make_the_fresh_schema(pg_cluster, tmp_path):
    _history_or_skip()
    name, db = _new_database(pg_cluster)
    try:
        for files in _landing_steps():
            for f in files:
                _apply(db, f, (h.REPO / MIGRATIONS / f).read_text())
        _migrate_with_this_build(pg_cluster, name, tmp_path, db)
        _assert_same_schema(pg_cluster, name, "in landing order")
    finally:
        db.close()
        pg_cluster.drop_database(name)


def test_a_database_upgraded_commit_by_commit_has_the_fresh_schema(pg_cluster, tmp_path):
    _history_or_skip()
    commits = [UPGRADE_BASE] + _git("rev-list", "--first-parent", "--reverse",
                                    f"{UPGRADE_BASE}..HEAD").split()
    name, db = _new_database(pg_cluster)
    done = set()
    try:
        for c in commits:
            listed = _git("ls-tree", "--name-only", f"{c}:{MIGRATIONS}").split()
            for f in sorted(f for f in listed if f.endswith(".sql") and f not in done):
                try:
                    _apply(db, f, _git("show", f"{c}:{MIGRATIONS}/{f}"))
                except Exception as e:
                    pytest.fail(f"a database at the commit before {c[:10]} cannot apply {f}: {e}")
                done.add(f)
        for f in _present():  # the working tree's own, not committed yet
            if f not in done:
                _apply(db, f, (h.REPO / MIGRATIONS / f).read_text())
        _migrate_with_this_build(pg_cluster, name, tmp_path, db)
        _assert_same_schema(pg_cluster, name, f"commit by commit from {UPGRADE_BASE}")
    finally:
        db.close()
        pg_cluster.drop_database(name)


def _code(sql):
    """A migration's text without its comments and blank lines."""
    lines = (re.sub(r"--.*$", "", line).rstrip() for line in sql.splitlines())
    return [line for line in lines if line.strip()]


def test_no_landed_migration_was_edited_but_in_its_comments():
    _history_or_skip()
    log = _git("log", "--first-parent", "-m", "--reverse", "--diff-filter=M", "--format=@%H",
               "--name-only", f"{UPGRADE_BASE}..HEAD", "--", MIGRATIONS)
    edits, commit = [], None
    for line in log.splitlines():
        if line.startswith("@"):
            commit = line[1:]
        elif line.strip():
            f = os.path.basename(line.strip())
            before = _git("show", f"{commit}^:{MIGRATIONS}/{f}")
            after = _git("show", f"{commit}:{MIGRATIONS}/{f}")
            if _code(before) != _code(after) and (commit, f) not in EDITED:
                edits.append(f"{f} in {commit[:10]}")
    assert not edits, ("landed migrations edited (a database that ran the old text never runs"
                       " the new one: write a new migration instead): " + ", ".join(edits))
