#!/bin/sh
# 50-courier.part.sh — courier's figures: deliveries/s to a loopback
# receiver when it catches up, and the latency from the cause's commit to
# the request's arrival at a fixed offered rate, beside the same run's
# baselines: the sink's own rate from a plain HTTP client (wrk, one thread,
# as many keep-alive connections as courier opens to one host, a body of the
# same size: the most any sender could reach against it on this machine),
# and how fast the log alone takes the messages.
#
#   CAREBUS_BIN_DIR=build/release/bin sh tests/bench/50-courier.part.sh
#
# The messages are message.outbound events (replies, each to its own
# ticket) written straight into the log and the bus as the router writes
# them (tests/tools/outbound_load), on a channel in integrator mode: each is
# delivered as a signed webhook to the integrator's subscription, a C sink
# on loopback (tests/tools/provider_sink --shape webhook) that records when
# each request arrived:
#   1. catch-up: COURIER_BENCH_MESSAGES (30000) messages appended while
#      courier is stopped; then courier starts and delivers them.
#      deliveries/s = messages / (first to last arrival at the sink).
#   2. live: courier running, COURIER_BENCH_RATE (2500) messages/s for
#      COURIER_BENCH_SECONDS (10) s, committed in small batches and
#      published on the bus. Latency = the sink's arrival time - the time
#      the message's commit returned (both CLOCK_REALTIME on this machine).
#      A fixed offered rate, not a closed loop: a stall shows in the figures.
# Targets (issue 10): >= 5,000 deliveries/s, p99 <= 50 ms. Every wait has a
# deadline; the private PostgreSQL cluster in a temporary folder is removed
# at the end (COURIER_BENCH_KEEP=1 keeps courier's log in /tmp/courier-bench.log).
set -u
part=courier die_status=2
. "$(dirname "$0")/preamble.sh"
bin=$bindir
tools=${CAREBUS_TOOLS_DIR:-$(dirname "$bin")/tests/tools}
messages=${COURIER_BENCH_MESSAGES:-30000}
rate=${COURIER_BENCH_RATE:-2500}
seconds=${COURIER_BENCH_SECONDS:-10}
py=/usr/bin/python3

bench_need_bin "$bin/carebus-courier" "$tools/outbound_load" "$tools/provider_sink"
bench_need wrk psql curl

bench_work carebus-bench-courier
courier_pid=
sink_pid=
cleanup() {
    bench_stop "$courier_pid"
    bench_stop "$sink_pid"
    [ -n "${COURIER_BENCH_KEEP:-}" ] && cp "$work/courier.log" /tmp/courier-bench.log
    bench_remove_work
}

bench_pg_start

export CAREBUS_PG=$pg
export CAREBUS_COURIER_PORT=$(free_port)
for s in INGEST ROUTER SLA SURVEY COURIER; do
    export "CAREBUS_BUS_$s=tcp://127.0.0.1:$(free_port)"
done
export CAREBUS_LOG_LEVEL=${COURIER_BENCH_LOG_LEVEL:-warn}
unset CAREBUS_OUTBOUND_WEBHOOK_URLS CAREBUS_COURIER_MAX_INFLIGHT CAREBUS_COURIER_CONNECTIONS

sql() { psql "$CAREBUS_PG" -qAtc "$1"; }

# The integrator's endpoint: the sink, recording each request's arrival
# and the message's delivery id (the first "delivery_id" of the body).
"$tools/provider_sink" --shape webhook --key json:delivery_id --out "$work/arrivals" \
    --threads 2 >"$work/sink.json" 2>"$work/sink.log" &
sink_pid=$!
for _ in $(seq 1 100); do
    [ -s "$work/sink.json" ] && break
    sleep 0.05
done
sink_port=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$work/sink.json") || {
    echo "courier: the sink did not start" >&2
    exit 2
}
sink="http://127.0.0.1:$sink_port"
sink_reset() { curl -fsS -X POST "$sink/__reset" >/dev/null; }
sink_count() { curl -fsS "$sink/__stats" | $py -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

start_courier() {
    "$bin/carebus-courier" 2>>"$work/courier.log" &
    courier_pid=$!
}
stop_courier() {
    kill "$courier_pid" 2>/dev/null
    wait "$courier_pid" 2>/dev/null
    courier_pid=
}

# Waits (at most $2 s) until the sink has $1 requests.
wait_sink() {
    local want=$1 deadline=$(($(date +%s) + $2)) got
    while :; do
        got=$(sink_count 2>/dev/null || echo 0)
        [ "${got:-0}" -ge "$want" ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "courier: timed out with $got of $want requests at the sink" >&2
            tail -5 "$work/courier.log" >&2
            return 1
        fi
        sleep 0.2
    done
}

# 0. The baseline: the sink alone, from wrk.
wrk -t1 -c64 -d3s -s "$root/tests/bench/sink.lua" "$sink/carebus" >"$work/wrk.log" 2>&1 || {
    echo "courier: wrk failed: $(cat "$work/wrk.log")" >&2
    exit 1
}
raw_rate=$($py - "$work/wrk.log" <<'EOF'
import re, sys
m = re.search(r"^WRK requests=(\d+) duration_us=(\d+) non2xx=(\d+) errors=(\d+)",
              open(sys.argv[1]).read(), re.M)
if not m or int(m.group(3)) or int(m.group(4)):
    sys.exit("courier: no clean summary from wrk")
print("%.0f" % (int(m.group(1)) / (int(m.group(2)) / 1e6)))
EOF
) || exit 1
sink_reset

# The schema (outbound_load applies the migrations), and the integrator.
CAREBUS_LOG_LEVEL=error "$tools/outbound_load" --subscribe "$sink/carebus" >/dev/null || exit 1

# 1. Catch-up, beside the log's own append rate.
base=$(CAREBUS_LOG_LEVEL=error "$tools/outbound_load" --messages "$messages" --batch 1000) || exit 1
append_rate=$(echo "$base" | $py -c 'import json,sys; print(json.load(sys.stdin)["appended_per_s"])')
sink_reset
start_courier
wait_sink "$messages" 600 || exit 1
catchup=$(curl -fsS "$sink/__stats" | $py -c '
import json, sys
s = json.load(sys.stdin)
span = (s["last_ns"] - s["first_ns"]) / 1e9
print("%d %.0f" % (s["requests"], s["requests"] / span if span > 0 else 0))')
delivered_rate=${catchup##* }
sent=$(sql "SELECT count(*) FROM courier.deliveries WHERE status = 'sent'")

# 2. Live, at a fixed rate; courier keeps running.
sink_reset
live_n=$((rate * seconds))
CAREBUS_LOG_LEVEL=error "$tools/outbound_load" --messages "$live_n" \
    --batch $((rate / 200 > 0 ? rate / 200 : 1)) --rate "$rate" --bus "$CAREBUS_BUS_ROUTER" \
    --out "$work/commits" >"$work/live.json" || exit 1
wait_sink "$live_n" 300 || exit 1
curl -fsS "$sink/__stats" >/dev/null # flushes the arrivals file
stop_courier
dups=$(sql "SELECT count(*) FROM courier.attempts WHERE outcome = 'lost'")

lat=$($py - "$work/commits" "$work/arrivals" <<'EOF'
import sys
commits = {}
for line in open(sys.argv[1]):
    ns, key = line.split()
    commits[key] = int(ns)
lat, seen = [], set()
for line in open(sys.argv[2]):
    ns, key = line.split()
    if key in commits and key not in seen:
        seen.add(key)
        lat.append((int(ns) - commits[key]) / 1e6)
lat.sort()
def pct(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
print("%d %.1f %.1f %.1f" % (len(lat), pct(.5), pct(.99), lat[-1] if lat else float("nan")))
EOF
) || exit 1
set -- $lat
offered=$($py -c 'import json,sys; d=json.load(open(sys.argv[1])); print(round(d["appended_per_s"]))' "$work/live.json")

echo "courier: catch-up of $messages messages: $delivered_rate deliveries/s to a loopback webhook receiver ($sent recorded sent) (target >= 5000/s)"
echo "courier: baseline, same run: the receiver takes $raw_rate requests/s from wrk (1 thread, 64 connections); the log appends $append_rate messages/s"
echo "courier: live at $offered messages/s for ${seconds}s: commit -> request at the receiver p50 $2 ms, p99 $3 ms, max $4 ms ($1 messages, $dups attempts made again) (target p99 <= 50 ms)"
