"""A new channel is its proto line and its labels.

A scratch copy of the tree gets `CHANNEL_VIBER = 13;` in events.proto and
viber's two labels in services/libcarebus/label.c, nothing else; the binaries
this needs are built there (carebusctl, channel-ingest, router, analytics: a
few seconds from nothing). Then, on a fresh database:

  - carebusctl spells, lists and parses viber (its enum listing, its help, the
    unknown-channel message, a key limited to viber);
  - channel-ingest takes a viber contact (with that key too), and its error
    for an unknown channel names viber among the channels;
  - analytics counts the contact under "viber", draws it on the dashboard with
    its label, and the bi comments list viber;
  - the documents that must list the channels by hand fail their check
    (test_vocabulary.py) exactly there — docs/openapi.yaml's Channel and the
    README's POST /v1/messages row — and pass once those name viber.

So the schema and the labels are the only places a channel is written; the
two documents are copies a test keeps true.
"""

import json
import os
import shutil
import subprocess
import time

import carebus_harness as h
import test_vocabulary as V

ANALYTICS_ENV = {"CAREBUS_ANALYTICS_TZ": "Asia/Ho_Chi_Minh"}
DAY = "2026-11-23"
BINARIES = ("carebusctl", "carebus-channel-ingest", "carebus-router", "carebus-analytics")


def _copy_tree(dst):
    """The work tree as git sees it (tracked and new files, not ignored ones)."""
    names = subprocess.run(["git", "-C", str(h.REPO), "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], check=True, capture_output=True,
                           timeout=h.scaled(60)).stdout.decode().split("\0")
    for name in filter(None, names):
        src = h.REPO / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)


def edit(path, anchor, addition):
    """Adds addition after anchor, which path must hold once."""
    text = path.read_text(encoding="utf-8")
    assert text.count(anchor) == 1, f"{path}: {anchor!r}"
    path.write_text(text.replace(anchor, anchor + addition), encoding="utf-8")


def scratch_tree(tmp):
    tree = tmp / "tree"
    tree.mkdir()
    _copy_tree(tree)
    return tree


def scratch_build(tree, binaries):
    """Builds binaries (debug, whatever mode the suite runs) in the scratch
    tree; its bin directory."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MODE")}
    started = time.monotonic()
    p = subprocess.run(["make", "-j2", "--no-print-directory", "MODE=debug"]
                       + [f"build/debug/bin/{b}" for b in binaries],
                       cwd=tree, env=env, capture_output=True, text=True,
                       timeout=h.scaled(300))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    print(f"scratch build: {time.monotonic() - started:.1f} s")
    return tree / "build/debug/bin"


def _scratch(tmp):
    """The tree with one more channel, and its bin directory once built."""
    tree = scratch_tree(tmp)
    edit(tree / "proto/carebus/v1/events.proto", "  CHANNEL_STORE = 12;\n",
         "  CHANNEL_VIBER = 13;\n")
    edit(tree / "services/libcarebus/label.c",
         '    {"channel", "store", {"Cửa hàng", "Store"}},\n',
         '    {"channel", "viber", {"Viber", "Viber"}},\n')
    return tree, scratch_build(tree, BINARIES)


def _ctl(bin_dir, st, *args):
    env = st.env_for("analytics") if st else {"PATH": os.environ.get("PATH", "")}
    return subprocess.run([str(bin_dir / "carebusctl"), *args], env=env, capture_output=True,
                          text=True, timeout=h.scaled(60))


def test_a_channel_is_its_proto_line_and_labels(stack, session_tmp, tmp_path):
    tree, bin_dir = _scratch(tmp_path)

    # carebusctl: the spelling, the listings, the parse.
    enums, full = V.describe_enums(bin_dir)
    assert enums["channel"][-2:] == ["store", "viber"]
    viber = full["enums"]["channel"][-1]
    assert viber == {"name": "viber", "value": 13, "proto": "CHANNEL_VIBER",
                     "label": {"vi": "Viber", "en": "Viber"}}
    assert "helpcenter, store, viber." in _ctl(bin_dir, None, "--help").stdout
    bad = _ctl(bin_dir, None, "keys", "create", "--name", "x", "--channels", "pigeon")
    assert bad.returncode == 2 and "helpcenter, store, viber)" in bad.stderr, bad.stderr

    # The services of the scratch tree, on a fresh database (their own
    # build migrates it, not the session's template).
    st = stack(start=False, fresh=True)
    for svc, binary in (("ingest", "carebus-channel-ingest"), ("router", "carebus-router"),
                        ("analytics", "carebus-analytics")):
        st[svc].binary = bin_dir / binary
    st.start("ingest", "router")
    st["analytics"].start(extra_env=ANALYTICS_ENV)
    made = _ctl(bin_dir, st, "keys", "create", "--name", "viber bridge", "--channels", "viber",
                "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["channels"] == ["viber"]

    msg = h.contact(1, 1, "viber", occurred_at=f"{DAY}T09:00:00+07:00")
    r = st.post_message(msg)
    assert r.status == 202, (r.status, r.body)
    # The key limited to viber: accepted once channel-ingest reloads its keys
    # (every second), and refused for another channel.
    r = h.wait_until("the viber key", lambda: (lambda a: a.status != 401 and a)(
        st.post_message(h.contact(2, 2, "viber", occurred_at=f"{DAY}T09:01:00+07:00"),
                        key=key["key"])), h.scaled(20))
    assert r.status == 202, (r.status, r.body)
    r = st.post_message(h.contact(3, 3, "zalo"), key=key["key"])
    assert r.status == 403, (r.status, r.body)
    r = st.post_message(dict(msg, channel="pigeon", external_id="pigeon-1"))
    assert r.status == 400 and r.json()["error"]["field"] == "channel"
    assert "helpcenter, store, viber" in r.json()["error"]["message"], r.body

    # analytics: counted under viber, drawn with its label, documented in bi.
    a = st["analytics"].url

    def counted():
        r = h.http_request(f"{a}/v1/kpis?from={DAY}&to={DAY}&group_by=channel",
                           headers=st.auth())
        rows = {x["key"]: x for x in r.json()["rows"]} if r.status == 200 else {}
        return rows.get("viber", {}).get("contacts") == 2 and rows

    h.wait_until("analytics to count the viber contacts", counted, h.scaled(30))
    page = h.http_request(f"{a}/?from={DAY}&to={DAY}&lang=en", headers=st.auth()).body.decode()
    assert "Viber: 2</title></rect>" in page and "</span>Viber</li>" in page
    comment = st.db.scalar("SELECT col_description('bi.tickets'::regclass,"
                           " (SELECT attnum FROM pg_attribute WHERE attrelid = 'bi.tickets'::regclass"
                           "  AND attname = 'channel'))")
    assert comment.endswith("helpcenter, store, viber)."), comment
    assert V.sql_problems(st.db, enums, V.describe_kpis(bin_dir)) == []

    # The documents that copy the list by hand fail exactly there...
    problems = V.document_problems(tree, bin_dir)
    assert len(problems) == 2, problems
    assert problems[0].startswith("docs/openapi.yaml: /components/schemas/Channel/enum: "
                                  "lists channel without viber"), problems
    assert problems[1].startswith("README.md:") and problems[1].endswith(
        "lists channel without viber"), problems
    # ...and pass once they name it.
    edit(tree / "docs/openapi.yaml", "whatsapp, helpcenter, store", ", viber")
    edit(tree / "README.md", "`helpcenter`, `store`", ", `viber`")
    assert V.document_problems(tree, bin_dir) == []
