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
# CAREBUS_BENCH_IDLE_S (60), CAREBUS_BENCH_SECONDS (ingest alone, 10);
# CAREBUS_BENCH_PIPE_DEBUG, CAREBUS_BENCH_PIPE_LOGS (services' logs: pipeline.py).
set -u
. "$(dirname "$0")/preamble.sh"
CAREBUS_BIN_DIR=$bindir
export CAREBUS_BIN_DIR
bench_need psql wrk cc protoc
for s in channel-ingest router sla-monitor survey analytics; do
    bench_need_bin "$CAREBUS_BIN_DIR/carebus-$s"
done
exec /usr/bin/python3 "$root/tests/bench/pipeline.py"
