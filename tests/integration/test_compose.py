"""The compose deployment as docker-compose resolves it (there is no
container engine here, so the files are checked, not run): analytics gets
the BI password, PostgreSQL and the bus are published only with the
opt-in override file, and then on 127.0.0.1 unless told otherwise, and the
bus is CURVE-authenticated with keys a one-shot service makes at the first
start; the opt-in "ha" profile adds a synchronous standby and a second
instance of every service, every service's conninfo keeps whichever server
is the primary, and (deploy/compose/ha.env) every subscriber hears both
instances of each bus producer."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

import carebus_harness as h

BASE = h.REPO / "docker-compose.yml"
EXPOSE = h.REPO / "deploy" / "compose.expose.yml"
HA_ENV = h.REPO / "deploy" / "compose" / "ha.env"
# The producers and their bus ports, from bus.c's table.
STREAMS = h.bus_streams()
BUS_PORTS = {s["producer"]: s["port"] for s in STREAMS}

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                reason="docker-compose is not installed")


def resolved(*files, env=None):
    """The configuration docker-compose would run, as a dict."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CAREBUS_")}
    e.update(env or {})
    args = ["docker-compose", "--project-directory", str(h.REPO)]
    for f in files:
        args += ["-f", str(f)]
    subprocess.run(args + ["config", "-q"], check=True, env=e, cwd=h.REPO, timeout=60)
    out = subprocess.run(args + ["config"], check=True, env=e, cwd=h.REPO, timeout=60,
                         stdout=subprocess.PIPE).stdout
    return yaml.safe_load(out)["services"]


def published(service):
    """(host address, host port, container port) of each published port."""
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), int(p["published"]), int(p["target"])))
        else:
            spec = p.split("/")[0]
            ip, host, target = spec.rsplit(":", 2)
            out.append((ip, int(host), int(target)))
    return out


def test_default_keeps_database_and_bus_inside():
    services = resolved(BASE)
    assert "ports" not in services["db"], services["db"]
    for name, port in BUS_PORTS.items():
        assert port not in [target for _, _, target in published(services[name])], name
    # What is published (the HTTP ports) is on this host only by default.
    for name, svc in services.items():
        for ip, _, _ in published(svc):
            assert ip == "127.0.0.1", (name, svc["ports"])
    env = services["analytics"]["environment"]
    assert "CAREBUS_BI_PASSWORD" in env
    assert not env["CAREBUS_BI_PASSWORD"]


def test_bi_password_reaches_analytics():
    services = resolved(BASE, env={"CAREBUS_BI_PASSWORD": "bi-secret-1"})
    assert services["analytics"]["environment"]["CAREBUS_BI_PASSWORD"] == "bi-secret-1"


def test_override_publishes_database_and_bus_on_loopback():
    services = resolved(BASE, EXPOSE)
    assert published(services["db"]) == [("127.0.0.1", 5432, 5432)]
    for name, port in BUS_PORTS.items():
        assert ("127.0.0.1", port, port) in published(services[name]), name
    # The operator chooses the address and PostgreSQL's host port.
    services = resolved(BASE, EXPOSE, env={"CAREBUS_PUBLISH_ADDR": "0.0.0.0",
                                           "CAREBUS_PG_PUBLISH_PORT": "15432"})
    assert published(services["db"]) == [("0.0.0.0", 15432, 5432)]


KEYS_DIR = "/var/lib/carebus/bus-keys"


def test_the_bus_has_curve_keys_made_at_the_first_start():
    services = resolved(BASE)
    keys = services["bus-keys"]
    assert keys["command"] == ["carebusctl", "bus", "keys", "--dir", KEYS_DIR]
    assert keys["restart"] == "no" and "ports" not in keys
    assert keys["volumes"] == [f"buskeys:{KEYS_DIR}:rw"]
    carebus = {n: svc for n, svc in services.items() if n not in ("db", "db-standby", "bus-keys")}
    assert set(BUS_PORTS) | {"analytics"} <= set(carebus)
    for name, svc in carebus.items():
        # Every service reads the keys, read-only, once they are made.
        assert svc["environment"]["CAREBUS_BUS_CURVE_DIR"] == KEYS_DIR, name
        assert f"buskeys:{KEYS_DIR}:ro" in svc["volumes"], name
        assert svc["depends_on"]["bus-keys"] == {"condition": "service_completed_successfully"}
        assert svc["image"] == keys["image"], name


def test_ha_profile_adds_a_synchronous_standby_the_services_can_fail_over_to():
    services = resolved(BASE)
    standby = services["db-standby"]
    assert standby.get("profiles") == ["ha"]
    assert "ports" not in standby and standby["user"] == "postgres"
    assert standby["depends_on"]["db"] == {"condition": "service_healthy"}
    assert any(v.startswith("pgdata-standby:") for v in standby["volumes"])
    # The primary accepts replication (its own pg_hba.conf, also mounted by the standby).
    assert "hba_file=/etc/carebus/pg_hba.conf" in services["db"]["command"]
    hba = (h.REPO / "deploy" / "compose" / "pg_hba.conf").read_text()
    assert re.search(r"^host\s+replication\s+carebus\s+all\s+scram-sha-256$", hba, re.M)
    carebus = {n: svc for n, svc in services.items() if n not in ("db", "db-standby", "bus-keys")}
    for name, svc in carebus.items():
        pg = svc["environment"]["CAREBUS_PG"]
        assert "host=db " in pg and "target_session_attrs=read-write" in pg, (name, pg)
    services = resolved(BASE, env={"CAREBUS_PG_HOSTS": "db,db-standby"})
    for name in carebus:
        assert "host=db,db-standby " in services[name]["environment"]["CAREBUS_PG"], name


def test_ha_profile_runs_two_of_every_service_and_the_bus_lists_both():
    ha_env = dict(line.split("=", 1) for line in HA_ENV.read_text().splitlines()
                  if line and not line.startswith("#"))
    services = resolved(BASE, env=ha_env)
    firsts = [n for n in services if n not in ("db", "db-standby", "bus-keys")
              and not n.endswith("-2")]
    assert len(firsts) == 7, firsts
    for name in firsts:
        one, two = services[name], services[f"{name}-2"]
        assert two.get("profiles") == ["ha"] and "profiles" not in one, name
        assert two["environment"] == one["environment"], name
        assert two["command"] == one["command"] and two["healthcheck"] == one["healthcheck"]
        # The second's published ports are its own (the first's plus 10), on loopback.
        assert {(ip, host - 10, target) for ip, host, target in published(two)} == \
            set(published(one)), name
        assert "host=db,db-standby " in two["environment"]["CAREBUS_PG"], name
    for s in STREAMS:
        producer, port, var = s["producer"], s["port"], s["var"]
        want = f"tcp://{producer}:{port},tcp://{producer}-2:{port}"
        for name, svc in services.items():
            if name not in ("db", "db-standby", "bus-keys"):
                assert svc["environment"][var] == want, (name, var)
    # Without ha.env, one producer each.
    services = resolved(BASE)
    assert services["router"]["environment"]["CAREBUS_BUS_INGEST"] == "tcp://channel-ingest:5561"


MASTER_DIR = "/var/lib/carebus/master-keys"


def test_the_master_keys_of_a_rotation_reach_every_service():
    """The key ring (README, "Rotating the master key") under compose: the
    current key's file and the old ones' are passed through, and the
    volume holding them is mounted read-only in every service."""
    ring = {"CAREBUS_MASTER_KEY_FILE": f"{MASTER_DIR}/B.key",
            "CAREBUS_MASTER_KEYS_OLD": f"{MASTER_DIR}/A.key"}
    services = resolved(BASE, env=ring)
    carebus = {n: svc for n, svc in services.items() if n not in ("db", "db-standby", "bus-keys")}
    for name, svc in carebus.items():
        for k, v in ring.items():
            assert svc["environment"][k] == v, (name, k)
        assert f"masterkeys:{MASTER_DIR}:ro" in svc["volumes"], name
    # unset, they are empty (read as unset): the master key stays optional
    for name, svc in resolved(BASE).items():
        if name in carebus:
            assert not svc["environment"]["CAREBUS_MASTER_KEY_FILE"], name
            assert not svc["environment"]["CAREBUS_MASTER_KEYS_OLD"], name


def test_both_desks_get_the_desk_secret():
    """The secret the desk's cookies are sealed under reaches both desks (a
    session made on one is good on the other); unset, it is empty."""
    secret = {"CAREBUS_DESK_SECRET_FILE": f"{MASTER_DIR}/desk.key"}
    services = resolved(BASE, env=secret)
    for name in ("desk", "desk-2"):
        env = services[name]["environment"]
        assert env["CAREBUS_DESK_SECRET_FILE"] == secret["CAREBUS_DESK_SECRET_FILE"], name
        assert not env["CAREBUS_DESK_SECRET"], name
        assert f"masterkeys:{MASTER_DIR}:ro" in services[name]["volumes"], name
    services = resolved(BASE, env={"CAREBUS_DESK_SECRET": "ab" * 32})
    assert services["desk"]["environment"]["CAREBUS_DESK_SECRET"] == "ab" * 32
    assert services["desk-2"]["environment"]["CAREBUS_DESK_SECRET"] == "ab" * 32
    services = resolved(BASE)
    for name in ("desk", "desk-2"):
        assert not services[name]["environment"]["CAREBUS_DESK_SECRET_FILE"], name
