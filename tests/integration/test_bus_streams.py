"""The bus's producers are written once, in bus.c's table (printed by
`carebusctl bus streams`): each stream's producing service, the variable
that names its endpoint and its default port. The places that must name
them too are checked against it here, so that a producer added, renamed or
moved to another port in bus.c fails this test until they follow: the run
script (BUS_VAR, BUS_URL), the compose files (the shared environment,
each producer's bind address, the opt-in published ports), the HA lists
(deploy/compose/ha.env), the README's settings table and the test
harness's service table.
(test_compose reads the table itself.) Needs only the built carebusctl."""

import re

import yaml

import carebus_harness as h

RUN_SH = h.REPO / "deploy" / "scripts" / "run.sh"
COMPOSE = h.REPO / "docker-compose.yml"
HA_ENV = h.REPO / "deploy" / "compose" / "ha.env"
EXPOSE = h.REPO / "deploy" / "compose.expose.yml"
README = h.REPO / "README.md"


def _bash_array(text, name):
    """The body of `declare -A NAME=( ... )` in run.sh."""
    m = re.search(r"declare -A " + name + r"=\((.*?)\n\)", text, re.S)
    assert m, f"run.sh has no {name} array"
    return m.group(1)


def test_the_table_names_each_producer_once():
    streams = h.bus_streams()
    assert streams, "carebusctl bus streams printed no producer"
    for key in ("stream", "producer", "var", "port"):
        values = [s[key] for s in streams]
        assert len(set(values)) == len(values), (key, values)
    for s in streams:
        assert s["endpoint"] == f"tcp://127.0.0.1:{s['port']}", s


def test_the_run_script_agrees():
    text = RUN_SH.read_text()
    want = {s["producer"]: s for s in h.bus_streams()}
    var = dict(re.findall(r"\[([a-z-]+)\]=(CAREBUS_BUS_[A-Z]+)", _bash_array(text, "BUS_VAR")))
    assert var == {p: s["var"] for p, s in want.items()}
    url = {p: (v, d) for p, v, d in re.findall(r"\[([a-z-]+)\]=\$\{(CAREBUS_BUS_[A-Z]+):-([^}]+)\}",
                                                _bash_array(text, "BUS_URL"))}
    assert url == {p: (s["var"], s["endpoint"]) for p, s in want.items()}


def test_the_compose_files_agree():
    streams = h.bus_streams()
    # The shared environment: each producer's variable, its HA list or the
    # producer's own service (one instance) on its port.
    env = dict(re.findall(r"^  (CAREBUS_BUS_[A-Z]+): (\S+)$", COMPOSE.read_text(), re.M))
    env.pop("CAREBUS_BUS_CURVE_DIR", None)
    assert env == {s["var"]: f"${{{s['var']}_LIST:-tcp://{s['producer']}:{s['port']}}}"
                   for s in streams}
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    exposed = yaml.safe_load(EXPOSE.read_text())["services"]
    bound = {n: svc["environment"]["CAREBUS_BUS_BIND"] for n, svc in services.items()
             if "CAREBUS_BUS_BIND" in (svc.get("environment") or {})}
    # Each producer, and its second instance (the "ha" profile), on its port.
    assert bound == {n: f"tcp://*:{s['port']}" for s in streams
                     for n in (s["producer"], f"{s['producer']}-2")}
    for s in streams:
        port = s["port"]
        assert [p for p in exposed[s["producer"]]["ports"] if p.endswith(f":{port}:{port}")], s
    ha = dict(line.split("=", 1) for line in HA_ENV.read_text().splitlines()
              if line.startswith("CAREBUS_BUS_"))
    assert ha == {f"{s['var']}_LIST":
                  f"tcp://{s['producer']}:{s['port']},tcp://{s['producer']}-2:{s['port']}"
                  for s in streams}


def test_the_harness_agrees():
    want = {s["stream"]: (f"carebus-{s['producer']}", s["var"]) for s in h.bus_streams()}
    have = {name: (binary, var) for name, (binary, _, var) in h.SERVICES.items() if var}
    assert have == want


def test_the_readme_agrees():
    rows = dict(re.findall(r"^\| `(CAREBUS_BUS_[A-Z]+)` \| `(tcp://[^`]+)` \|", README.read_text(),
                           re.M))
    assert rows == {s["var"]: s["endpoint"] for s in h.bus_streams()}
