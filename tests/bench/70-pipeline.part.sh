#!/bin/sh
# 70-pipeline.part.sh — the whole stack under a realistic mix: the highest
# offered rate at which every consumer stays within 1 s of the log's tail,
# end-to-end latencies, each service's apply rate, CPU and memory, beside
# channel-ingest alone and a raw COPY of the same run (pipeline.py says how).
#
#   CAREBUS_BIN_DIR=build/release/bin sh tests/bench/70-pipeline.part.sh
#
# Tunables: CAREBUS_BENCH_PIPE_WINDOW_S (the window each rate must hold;
# 60 in the long form, make bench sets 15), CAREBUS_BENCH_PIPE_RATE (the
# first rate, requests/s, 1000), CAREBUS_BENCH_PIPE_STEPS (runs, 6),
# CAREBUS_BENCH_IDLE_S (60), CAREBUS_BENCH_SECONDS (ingest alone, 10).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
CAREBUS_BIN_DIR=${CAREBUS_BIN_DIR:-$root/build/release/bin}
export CAREBUS_BIN_DIR
for tool in psql wrk cc protoc; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "70-pipeline: $tool is missing (make deps installs it)" >&2
        exit 1
    }
done
for s in channel-ingest router sla-monitor survey analytics; do
    [ -x "$CAREBUS_BIN_DIR/carebus-$s" ] || {
        echo "70-pipeline: $CAREBUS_BIN_DIR/carebus-$s is missing: make MODE=release build" >&2
        exit 1
    }
done
exec /usr/bin/python3 "$root/tests/bench/pipeline.py"
