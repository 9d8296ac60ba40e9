"""Each list is written once: the copies that must exist as text are checked
against the one list they copy.

The lists are proto/carebus/v1/events.proto's enums (as `carebusctl enums
list --json` spells them, from the very derivation the services use) and the
KPIs of services/analytics/kpi.def (as `carebus-analytics --describe` has
them). What is checked against them:

  a. docs/openapi.yaml and services/analytics/openapi.yaml: every `enum` that
     names values of one of the schema's enums names all of them (and the
     integrator API's enums are there); KpiRow's properties are the KPI
     columns, in order, counts as integers and the rest as nullable numbers;
  b. README.md: every list of values of one enum (three or more, or any in
     parentheses) lists all of it;
  c. a migrated database, after analytics applied its generated definitions:
     every CHECK that lists values of an enum (a CHECK may hold more, as
     sla.facts' kinds do, never fewer), every such list in a function or
     view body, every bi column comment; analytics.daily's columns are the
     measures; the definitions applied are the ones this build writes.

Each check is a function of a tree, the two descriptions and a database, and
returns the problems it found, each naming its file and place: the
scratch-copy test (test_add_a_channel.py) runs them on a tree with one more
channel and sees them fail exactly where a hand-written list was left alone.
"""

import json
import re
import subprocess

import yaml

import carebus_harness as h

# The integrator API takes these enums as strings: its document must list them.
API_ENUMS = ("channel", "segment", "customer_status", "ticket_status", "presence", "call_outcome")


def describe_enums(bin_dir):
    """{enum key: [names in schema order]} and the event types, from carebusctl."""
    out = subprocess.run([str(bin_dir / "carebusctl"), "enums", "list", "--json"], check=True,
                         capture_output=True, text=True, timeout=h.scaled(30)).stdout
    d = json.loads(out)
    return {k: [v["name"] for v in vals] for k, vals in d["enums"].items()}, d


def describe_kpis(bin_dir):
    out = subprocess.run([str(bin_dir / "carebus-analytics"), "--describe"], check=True,
                         capture_output=True, text=True, timeout=h.scaled(30)).stdout
    return json.loads(out)


def _enum_of(values, enums):
    """The enum a list is about: the one it shares the most values with (2+,
    or all of a one-value list)."""
    best, shared = None, 0
    for key, names in enums.items():
        n = len(set(values) & set(names))
        if n > shared:
            best, shared = key, n
    if shared >= 2 or (shared == 1 and len(values) == 1 and len(enums[best]) == 1):
        return best
    return None


def _compare(where, values, enums, exact):
    """A list about an enum must hold all of it (and, when exact, nothing else)."""
    key = _enum_of(values, enums)
    if key is None:
        return [], None
    names = enums[key]
    missing = [n for n in names if n not in values]
    extra = [v for v in values if v not in names]
    out = []
    if missing:
        out.append(f"{where}: lists {key} without {', '.join(missing)}")
    if exact and extra:
        out.append(f"{where}: lists {key} with unknown {', '.join(extra)}")
    return out, key


# --- a. the OpenAPI documents ------------------------------------------------------


def _walk(node, path):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def openapi_problems(tree, enums):
    problems, seen = [], set()
    for rel in ("docs/openapi.yaml", "services/analytics/openapi.yaml"):
        with open(tree / rel, encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        for path, node in _walk(spec, ""):
            vals = node.get("enum")
            if isinstance(vals, list) and all(isinstance(v, str) for v in vals):
                found, key = _compare(f"{rel}: {path}/enum", vals, enums, exact=True)
                problems += found
                if key and rel.startswith("docs/"):
                    seen.add(key)
    for key in API_ENUMS:
        if key not in seen:
            problems.append(f"docs/openapi.yaml: no enum lists the {key} values")
    return problems


def kpirow_problems(tree, kpis):
    rel = "services/analytics/openapi.yaml"
    with open(tree / rel, encoding="utf-8") as f:
        props = yaml.safe_load(f)["components"]["schemas"]["KpiRow"]["properties"]
    want = ["key"] + [k["name"] for k in kpis["kpis"]]
    problems = []
    if list(props) != want:
        problems.append(f"{rel}: KpiRow's properties are {list(props)}, kpi.def's columns {want}")
    for k in kpis["kpis"]:
        p = props.get(k["name"])
        if p is None:
            continue
        if p.get("type") != k["type"] or bool(p.get("nullable")) != k["nullable"]:
            problems.append(f"{rel}: KpiRow.{k['name']} is {p.get('type')} nullable="
                            f"{bool(p.get('nullable'))}, kpi.def has {k['type']} "
                            f"nullable={k['nullable']}")
    return problems


# --- b. prose: README.md, comments -------------------------------------------------

# "a, b, c", "`a`, `b` or `c`", "a or b": lower-case words, backticks optional.
_WORD = r"`?[a-z][a-z0-9_]*`?"
_LIST = re.compile(rf"(\(\s*)?({_WORD}(?:(?:, | or | and |, or |, and ){_WORD})+)(\s*\))?")


def prose_lists(text):
    """The lists of words in text: (values, in parentheses)."""
    for m in _LIST.finditer(text):
        words = [w.strip("`") for w in re.split(r", or |, and |, | or | and ", m.group(2))]
        yield words, bool(m.group(1) and m.group(3))


def prose_problems(where, text, enums):
    problems = []
    for line_no, line in enumerate(text.splitlines(), 1):
        for words, paren in prose_lists(line):
            if len(words) < 3 and not paren:
                continue  # "open and pending tickets" is a phrase, not a list
            key = _enum_of(words, enums)
            if key is None or not set(words) <= set(enums[key]):
                continue  # words of another kind, or a mix
            found, _ = _compare(f"{where}:{line_no}", words, enums, exact=True)
            problems += found
    return problems


def readme_problems(tree, enums):
    return prose_problems("README.md", (tree / "README.md").read_text(encoding="utf-8"), enums)


def document_problems(tree, bin_dir):
    enums, _ = describe_enums(bin_dir)
    kpis = describe_kpis(bin_dir)
    return (openapi_problems(tree, enums) + kpirow_problems(tree, kpis)
            + readme_problems(tree, enums))


# --- c. the database ------------------------------------------------------------------

_SCHEMAS = ("eventlog", "ingest", "router", "sla", "survey", "analytics", "courier", "bi",
            "public")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _sql_lists(text):
    """Lists of string literals in SQL text: IN (...), ARRAY[...], VALUES (...), (...)."""
    for m in re.finditer(r"(?:ARRAY\[|\()\s*('(?:[^']|'')*'(?:::\w+)?"
                         r"(?:\s*,\s*'(?:[^']|'')*'(?:::\w+)?)+)\s*[\])]", text):
        yield _QUOTED.findall(m.group(1))
    for m in re.finditer(r"VALUES\s*((?:\(\s*'(?:[^']|'')*'(?:::\w+)?\s*\)\s*,?\s*){2,})", text):
        yield _QUOTED.findall(m.group(1))


def sql_problems(db, enums, kpis):
    problems = []
    # CHECK constraints: never fewer values than the enum they name.
    for schema, table, name, definition in db.query(
            "SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid)"
            "  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
            "  JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE k.contype = 'c' AND n.nspname = ANY(%s) ORDER BY 1, 2, 3", (list(_SCHEMAS),)):
        for values in _sql_lists(definition):
            key = _enum_of(values, enums)
            if key is None:
                continue
            exact = set(values) <= set(enums[key])
            found, _ = _compare(f"CHECK {name} on {schema}.{table}", values, enums, exact)
            problems += found
    # Function and view bodies: a list of 3+ values of one enum is all of it
    # (two, such as ('open', 'pending'), may be a deliberate part).
    bodies = db.query(
        "SELECT n.nspname || '.' || p.proname || '()', p.prosrc FROM pg_proc p"
        "  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s)"
        " UNION ALL "
        "SELECT n.nspname || '.' || c.relname, pg_get_viewdef(c.oid) FROM pg_class c"
        "  JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'v' AND n.nspname = ANY(%s) ORDER BY 1",
        (list(_SCHEMAS), list(_SCHEMAS)))
    for where, body in bodies:
        for values in _sql_lists(body or ""):
            key = _enum_of(values, enums)
            if key is None or len(values) < 3 or not set(values) <= set(enums[key]):
                continue
            found, _ = _compare(where, values, enums, exact=True)
            problems += found
    # The bi comments BI users read.
    for rel, col, text in db.query(
            "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_class c"
            "  JOIN pg_namespace n ON n.oid = c.relnamespace"
            "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
            " WHERE n.nspname = 'bi' ORDER BY 1, 2"):
        problems += prose_problems(f"comment on bi.{rel}.{col}", text or "", enums)
    # analytics.daily holds the measures contrib.h adds up.
    cols = [r[0] for r in db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics'"
        " AND table_name = 'daily' ORDER BY ordinal_position")]
    if sorted(cols[3:]) != sorted(kpis["measures"].split(",")):
        problems.append(f"analytics.daily's columns {cols[3:]} are not contrib.h's measures "
                        f"{kpis['measures']}: a migration must add (or drop) the difference")
    # The generated definitions in force are this build's.
    derived = dict(db.query("SELECT name, sql FROM public.carebus_derived"))
    for name, key in (("bi.kpi_daily", "view"), ("bi.comments", "comments"),
                      ("analytics.apply_daily", "apply_daily")):
        if derived.get(name) != kpis["sql"][key]:
            problems.append(f"public.carebus_derived: {name} is not what this build writes")
    return problems


# --- the tests -----------------------------------------------------------------------------


def test_documents_list_every_value():
    assert document_problems(h.REPO, h.BIN_DIR) == []


def test_database_lists_every_value(stack):
    st = stack("analytics")
    enums, _ = describe_enums(h.BIN_DIR)
    assert sql_problems(st.db, enums, describe_kpis(h.BIN_DIR)) == []


def test_the_checks_see_a_missing_value():
    """The checks fail on a list that lacks a value (or has a stranger)."""
    enums = {"channel": ["phone", "email", "zalo"], "segment": ["regular", "vip"]}
    assert prose_problems("x", "by `phone`, `email` or `zalo`", enums) == []
    assert prose_problems("x", "a contact (phone, email)", enums) == \
        ["x:1: lists channel without zalo"]
    assert prose_problems("x", "open and pending", enums) == []
    assert prose_problems("x", "segment (regular, vip, gold)", enums) == []  # not only segments
    assert list(_sql_lists("CHECK ((segment = ANY (ARRAY['regular'::text, 'vip'::text])))")) == \
        [["regular", "vip"]]
    assert list(_sql_lists("VALUES ('a'::text), ('b'::text), ('c'::text)")) == [["a", "b", "c"]]
    assert _compare("w", ["regular"], enums, exact=True) == ([], None)
    assert _compare("w", ["phone", "email", "fax"], enums, exact=True)[0] == \
        ["w: lists channel without zalo", "w: lists channel with unknown fax"]
