#!/bin/sh
# 10-ingest.part.sh — channel-ingest throughput and latency, beside a raw COPY.
#
# Starts a private PostgreSQL 15 (deploy/scripts/pg-cluster.sh, fsync and
# synchronous_commit on, as shipped) and the release channel-ingest
# ($CAREBUS_BIN_DIR), then measures POST /v1/messages:
#
#   1. throughput: wrk, 2 threads, keep-alive connections, a unique
#      external_id per request (ingest.lua), for BENCH_SECONDS: acknowledged
#      (2xx) events/s, and wrk's latency p50/p99 (closed loop: these hide
#      stalls, see 2.);
#   2. latency at a fixed offered rate (BENCH_RATE/s, open loop, openloop.c):
#      p50/p99 measured from each request's scheduled time, so a stall counts
#      for every request it delayed;
#   3. the baseline: the rows step 1 committed, same payloads, copied into
#      the same table (eventlog.events, same indexes) with one COPY FROM
#      STDIN (copy_baseline.sh), as rows/s; and the ratio of 1. to it.
#      Measured right after 1., before 2.: a backlog the open loop leaves
#      behind (requests it stopped waiting for) would otherwise run beside
#      the COPY and slow it, by a different amount for each build.
#
# Targets (issue 3): >= 20,000 acknowledged events/s; p99 <= 20 ms at 10,000
# events/s; >= 0.3 of the raw COPY rate. A missed target is printed as such;
# the part fails only when it could not measure. Everything it starts is
# stopped on exit. Tunables: CAREBUS_BENCH_SECONDS (10), CAREBUS_BENCH_RATE
# (10000), CAREBUS_BENCH_CONNECTIONS (128, wrk), CAREBUS_BENCH_OL_CONNECTIONS
# (128, open loop); CAREBUS_BENCH_SQL, SQL run once the service is up and
# before the warm-up, to try a database-side change without a rebuild
# (printed with the figures: a run with it is not the product as shipped).
set -u

. "$(dirname "$0")/preamble.sh"
ingest_bin=$bindir/carebus-channel-ingest
secs=${CAREBUS_BENCH_SECONDS:-10}
rate=${CAREBUS_BENCH_RATE:-10000}
conns=${CAREBUS_BENCH_CONNECTIONS:-128}
ol_conns=${CAREBUS_BENCH_OL_CONNECTIONS:-128}
key=bench-$$-key
. "$root/tests/bench/copy_baseline.sh"

bench_need wrk psql cc curl
bench_need_bin "$ingest_bin"

bench_work carebus-bench
ingest_pid=
cleanup() {
    bench_stop "$ingest_pid"
    bench_remove_work
}

port=$(free_port)
busport=$(free_port)
bench_pg_start

cc -O2 -std=c11 -o "$work/openloop" "$root/tests/bench/openloop.c" || die "could not build openloop"

CAREBUS_PG=$pg CAREBUS_INGEST_PORT=$port CAREBUS_HTTP_ADDR=127.0.0.1 \
    CAREBUS_BUS_INGEST=tcp://127.0.0.1:$busport CAREBUS_BOOTSTRAP_API_KEY=$key \
    CAREBUS_LOG_LEVEL=warn CAREBUS_RATE_LIMIT_RPS=0 \
    "$ingest_bin" 2>"$work/ingest.log" &
ingest_pid=$!
url=http://127.0.0.1:$port
bench_wait_ready "$url" "$ingest_pid" "$work/ingest.log" channel-ingest

sql() {
    psql "$pg" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

if [ -n "${CAREBUS_BENCH_SQL:-}" ]; then
    sql "$CAREBUS_BENCH_SQL" >/dev/null || die "CAREBUS_BENCH_SQL failed"
    echo "with CAREBUS_BENCH_SQL: $CAREBUS_BENCH_SQL"
fi

# Warm-up (connections, plan caches, the table's first pages).
wrk -t2 -c"$conns" -d2s -s "$root/tests/bench/ingest.lua" "$url" -- "warm$$" "$key" \
    >"$work/warm.log" 2>&1 || die "wrk failed: $(cat "$work/warm.log")"

# A counter of the ingest's /metrics (0 when absent).
metric() {
    curl -sf "$url/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { printf "%.0f", v + 0 }'
}

# 1. Throughput (closed loop).
run=run$$
before=$(sql "SELECT count(*) FROM eventlog.events")
ev0=$(metric carebus_ingest_batched_events_total)
b0=$(metric 'carebus_ingest_batches_total{result="committed"}')
wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s -s "$root/tests/bench/ingest.lua" "$url" -- \
    "$run" "$key" >"$work/wrk.log" 2>&1 || die "wrk failed: $(cat "$work/wrk.log")"
after=$(sql "SELECT count(*) FROM eventlog.events")
ev1=$(metric carebus_ingest_batched_events_total)
b1=$(metric 'carebus_ingest_batches_total{result="committed"}')
per_commit=$(awk -v e=$((ev1 - ev0)) -v b=$((b1 - b0)) 'BEGIN { printf "%.1f (%d / %d)", (b > 0 ? e / b : 0), e, b }')
line=$(grep '^WRK ' "$work/wrk.log") || die "no summary from wrk: $(cat "$work/wrk.log")"
requests=$(kv "$line" requests)
dur_us=$(kv "$line" duration_us)
non2xx=$(kv "$line" non2xx)
werrors=$(kv "$line" errors)
acked=$((requests - non2xx))
committed=$((after - before))
acked_rate=$(awk -v n="$acked" -v d="$dur_us" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
wrk_p50=$(kv "$line" p50_us)
wrk_p99=$(kv "$line" p99_us)

# 3. The baseline: step 1's rows, same payloads, one COPY into the same table;
# run before step 2, whose open loop may leave the service a backlog (requests
# it stopped waiting for, still being committed) that would share the machine
# with the COPY.
set -- $(copy_baseline "$pg" "$work" "$run-%") || die "the COPY baseline failed"
copy_rows=$1
copy_ms=$2
copy_rate=$(awk -v n="$copy_rows" -v ms="$copy_ms" 'BEGIN { printf "%.0f", n / (ms / 1000) }')

# 2. Latency at a fixed offered rate (open loop).
"$work/openloop" -p "$port" -r "$rate" -d "$secs" -c "$ol_conns" -k "$key" -x "ol$$" \
    >"$work/ol.log" 2>&1 || die "openloop failed: $(cat "$work/ol.log")"
ol=$(grep '^OPENLOOP ' "$work/ol.log") || die "no summary from openloop: $(cat "$work/ol.log")"

# The table.
awk -v acked="$acked_rate" -v committed="$committed" -v requests="$requests" \
    -v non2xx="$non2xx" -v werrors="$werrors" -v conns="$conns" -v secs="$secs" \
    -v per_commit="$per_commit" -v rows0="$before" \
    -v wp50="$wrk_p50" -v wp99="$wrk_p99" -v rate="$rate" -v olc="$ol_conns" \
    -v ol_ok="$(kv "$ol" ok)" -v ol_due="$(kv "$ol" due)" -v ol_non2xx="$(kv "$ol" non2xx)" \
    -v ol_err="$(kv "$ol" errors)" -v ol_rate="$(kv "$ol" rate)" -v op50="$(kv "$ol" p50_us)" \
    -v op99="$(kv "$ol" p99_us)" -v op999="$(kv "$ol" p999_us)" -v omax="$(kv "$ol" max_us)" \
    -v copy_rows="$copy_rows" -v copy_ms="$copy_ms" -v copy_rate="$copy_rate" '
function ms(us) { return us < 0 ? "unanswered" : sprintf("%.2f ms", us / 1000) }
function verdict(ok) { return ok ? "met" : "MISSED" }
BEGIN {
    ratio = copy_rate > 0 ? acked / copy_rate : 0
    printf "channel-ingest, POST /v1/messages (release build, private PostgreSQL 15, fsync on)\n"
    printf "%-52s %16s   %-10s %s\n", "figure", "measured", "target", ""
    printf "%-52s %16s   %-10s %s\n", "acknowledged events/s (wrk -t2 -c" conns ", " secs "s)", acked, ">= 20000", verdict(acked >= 20000)
    printf "%-52s %16s\n", "  requests / non-2xx / socket errors", requests " / " non2xx " / " werrors
    printf "%-52s %16s\n", "  rows committed during the run (table had " rows0 ")", committed
    printf "%-52s %16s\n", "  events per commit (group commit, mean)", per_commit
    printf "%-52s %16s\n", "  latency p50, closed loop (wrk)", ms(wp50)
    printf "%-52s %16s\n", "  latency p99, closed loop (wrk)", ms(wp99)
    printf "%-52s %16s\n", "offered " rate " events/s, open loop, " olc " conns", sprintf("%.0f/s done", ol_rate)
    printf "%-52s %16s\n", "  answered 2xx / due (non-2xx, errors)", ol_ok " / " ol_due " (" ol_non2xx ", " ol_err ")"
    printf "%-52s %16s\n", "  latency p50 from scheduled send", ms(op50)
    printf "%-52s %16s   %-10s %s\n", "  latency p99 from scheduled send", ms(op99), "<= 20 ms", verdict(op99 >= 0 && op99 <= 20000 && ol_err == 0)
    printf "%-52s %16s\n", "  latency p99.9 / max", ms(op999) " / " ms(omax)
    printf "%-52s %16s\n", "raw COPY of the same rows into eventlog.events", copy_rate " rows/s"
    printf "%-52s %16s\n", "  rows / time", copy_rows " / " sprintf("%.0f ms", copy_ms)
    printf "%-52s %16.2f   %-10s %s\n", "ratio acknowledged events/s : COPY rows/s", ratio, ">= 0.30", verdict(ratio >= 0.3)
}'
if grep -q '"level":"error"' "$work/ingest.log"; then
    echo "channel-ingest logged errors during the run:"
    grep '"level":"error"' "$work/ingest.log" | tail -n 5
fi
