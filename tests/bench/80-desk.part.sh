#!/bin/sh
# 80-desk.part.sh — the agent desk: the inbox's time to interactive in
# Chromium with 10,000 open tickets, beside the empty inbox's in the same
# run (tests/bench/desk.py; DESK_BENCH_TICKETS, DESK_BENCH_RUNS).
#
#   CAREBUS_BIN_DIR=build/release/bin sh tests/bench/80-desk.part.sh
#
# Needs Debian's chromium and node_modules/playwright-core (make deps).
set -u
. "$(dirname "$0")/preamble.sh"
bench_need_bin "$bindir/carebus-desk"
[ -x "${CAREBUS_CHROMIUM:-/usr/bin/chromium}" ] || die "chromium is missing"
[ -d "$root/node_modules/playwright-core" ] || die "run npm ci"
CAREBUS_BIN_DIR=$bindir exec /usr/bin/python3 "$root/tests/bench/desk.py"
