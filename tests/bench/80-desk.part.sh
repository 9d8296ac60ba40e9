#!/bin/sh
# 80-desk.part.sh — the agent desk: the inbox's time to interactive in
# Chromium with 10,000 open tickets, beside the empty inbox's in the same
# run (tests/bench/desk.py; DESK_BENCH_TICKETS, DESK_BENCH_RUNS).
#
#   CAREBUS_BIN_DIR=build/release/bin sh tests/bench/80-desk.part.sh
#
# Needs Debian's chromium and node_modules/playwright-core (make deps).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=${CAREBUS_BIN_DIR:-$root/build/release/bin}
[ -x "$bindir/carebus-desk" ] || { echo "80-desk: $bindir/carebus-desk is missing" >&2; exit 1; }
[ -x "${CAREBUS_CHROMIUM:-/usr/bin/chromium}" ] || { echo "80-desk: chromium is missing" >&2; exit 1; }
[ -d "$root/node_modules/playwright-core" ] || { echo "80-desk: run npm ci" >&2; exit 1; }
CAREBUS_BIN_DIR=$bindir exec /usr/bin/python3 "$root/tests/bench/desk.py"
