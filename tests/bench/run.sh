#!/bin/sh
# run.sh — the benchmark runner (make bench; it builds nothing itself).
#
#   CAREBUS_BIN_DIR=build/release/bin sh tests/bench/run.sh [PART...]
#
# Runs every tests/bench/*.part.sh in name order (or only the parts named,
# e.g. "10-ingest"), each with CAREBUS_BIN_DIR set and under a time limit:
# CAREBUS_BENCH_PART_TIMEOUT seconds when set, else the part's own (a line
# "# bench-limit: N" in it), else 600. A part prints its own
# figures beside a baseline measured in the same run; it exits non-zero when
# it could not measure (a target missed is reported, not a failure: the
# figures depend on the machine). Ends with one line:
#
#   bench: 1 parts run, 0 failed
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
CAREBUS_BIN_DIR=${CAREBUS_BIN_DIR:-$root/build/release/bin}
export CAREBUS_BIN_DIR
if [ ! -d "$CAREBUS_BIN_DIR" ]; then
    echo "bench: $CAREBUS_BIN_DIR does not exist: build first (make bench builds release)" >&2
    exit 2
fi

run=0
failed=0
for part in "$root"/tests/bench/*.part.sh; do
    [ -f "$part" ] || continue
    name=$(basename "$part" .part.sh)
    if [ "$#" -gt 0 ]; then
        wanted=0
        for w in "$@"; do
            [ "$w" = "$name" ] && wanted=1
        done
        [ "$wanted" -eq 1 ] || continue
    fi
    run=$((run + 1))
    timeout_s=${CAREBUS_BENCH_PART_TIMEOUT:-$(sed -n 's/^# bench-limit: *\([0-9][0-9]*\)$/\1/p' "$part")}
    timeout_s=${timeout_s:-600}
    echo "=== bench $name (limit ${timeout_s}s) ==="
    # SIGTERM first, so the part's own trap stops what it started.
    timeout -s TERM -k 30 "$timeout_s" sh "$part"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        case $rc in
        124) echo "bench $name: timed out after ${timeout_s}s" ;;
        *) echo "bench $name: failed (exit $rc)" ;;
        esac
        failed=$((failed + 1))
    fi
done
echo "bench: $run parts run, $failed failed"
[ "$failed" -eq 0 ]
