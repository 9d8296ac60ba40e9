#!/bin/sh
# with-pg.sh — runs a command with a throw-away PostgreSQL cluster.
#
#   sh tests/with-pg.sh CMD [ARGS...]
#
# Creates a private cluster in a temporary folder on a free loopback port
# (deploy/scripts/pg-cluster.sh runs it as an unprivileged user under root),
# exports CAREBUS_TEST_PG (a key=value conninfo for database "postgres"; tests
# create their own databases), runs the command, then stops and removes the
# cluster whatever the command's outcome. Exits with the command's status.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/carebus-unitpg.XXXXXX") || exit 2
chmod 755 "$dir"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    bash "$root/deploy/scripts/pg-cluster.sh" stop "$dir/pg" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM
if ! bash "$root/deploy/scripts/pg-cluster.sh" init "$dir/pg" "$port" >"$dir/init.log" 2>&1 ||
    ! bash "$root/deploy/scripts/pg-cluster.sh" start "$dir/pg" "$port" >"$dir/start.log" 2>&1; then
    echo "with-pg.sh: could not start a PostgreSQL cluster:" >&2
    cat "$dir/init.log" "$dir/start.log" >&2
    exit 2
fi
CAREBUS_TEST_PG="host=127.0.0.1 port=$port dbname=postgres user=carebus"
export CAREBUS_TEST_PG
"$@"
