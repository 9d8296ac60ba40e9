#!/bin/sh
# 50-catchup.part.sh — each consumer's live apply rate, beside analytics'
# rebuild of the same log, and resident memory before, during and after.
#
# Starts a private PostgreSQL 15 (deploy/scripts/pg-cluster.sh) and, with
# the release binaries ($CAREBUS_BIN_DIR):
#
#   0. idle: each consumer started on the empty database; its resident
#      memory once ready (VmRSS);
#   1. the log: CAREBUS_BENCH_CATCHUP_EVENTS (1,000,000) events of whole
#      ticket lifecycles on the four streams (lifecycles.py), COPYed into
#      eventlog.events;
#   2. catch-up, one consumer at a time (CAREBUS_BENCH_CONSUMERS, default
#      all three), the others idle: analytics (live
#      path: CAREBUS_ANALYTICS_REBUILD_LAG=0, so it applies the log through
#      its consumer as it applies the bus), sla-monitor (a file clock set
#      before the log's first event, so no timer fires: the figure is the
#      consumer's) and survey; router too when named (CAREBUS_BENCH_CONSUMERS=router:
#      the contacts and SLA events of the log). events/s = the events of the streams it
#      reads / (process start -> every offset at the log's end); the peak
#      (VmHWM) and resident memory (VmRSS) when caught up;
#   3. a minute idle, then each one's resident memory again;
#   4. the baseline: `carebus-analytics --rebuild` of the same log (wall
#      clock, like the live figure), and the rebuilt KPI sums, which must
#      equal the live ones.
#
# Targets (issue 12): analytics live >= 50,000 events/s and within 2x of
# its rebuild; sla-monitor >= 20,000 events/s; after the idle minute each
# service within 2x of its idle size (plus the state it keeps). A missed
# target is printed as such; the part fails only when it could not measure.
set -u

. "$(dirname "$0")/preamble.sh"
nevents=${CAREBUS_BENCH_CATCHUP_EVENTS:-1000000}
idle_s=${CAREBUS_BENCH_IDLE_S:-60}
consumers=${CAREBUS_BENCH_CONSUMERS:-analytics sla-monitor survey}
. "$root/tests/bench/lifecycles.sh"

bench_need psql curl protoc
for s in $consumers; do
    bench_need_bin "$bindir/carebus-$s"
done

bench_work carebus-bench
pids=""
cleanup() {
    for p in $pids; do
        bench_stop "$p"
    done
    bench_remove_work
}

now_ms() {
    /usr/bin/python3 -c 'import time; print(int(time.monotonic() * 1000))'
}

bench_pg_start

sql() {
    psql "$pg" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}
rss_kib() {
    sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"
}

# The streams each consumer reads, and how it is started.
streams_of() {
    case $1 in
    analytics) echo "ingest router sla survey" ;;
    sla-monitor) echo "ingest router sla" ;;
    survey) echo "router survey" ;;
    router) echo "ingest sla" ;;
    esac
}
echo "2026-01-01T00:00:00+07:00" >"$work/sla-clock"
# start NAME: runs it in the background; sets pid and port.
start() {
    port=$(free_port)
    busport=$(free_port)
    CAREBUS_PG="$pg" CAREBUS_LOG_LEVEL=warn CAREBUS_HTTP_ADDR=127.0.0.1 \
        CAREBUS_ANALYTICS_PORT=$port CAREBUS_SLA_PORT=$port CAREBUS_SURVEY_PORT=$port \
        CAREBUS_ROUTER_PORT=$port CAREBUS_BUS_ROUTER="tcp://127.0.0.1:$busport" \
        CAREBUS_BUS_SLA="tcp://127.0.0.1:$busport" CAREBUS_BUS_SURVEY="tcp://127.0.0.1:$busport" \
        CAREBUS_ANALYTICS_REBUILD_LAG=0 CAREBUS_SLA_CLOCK="file:$work/sla-clock" \
        CAREBUS_SLA_CONFIG_DIR="$root/deploy/config" CAREBUS_SURVEY_SECRET=bench-secret-0123456789abcdef \
        "$bindir/carebus-$1" >>"$work/$1.out" 2>>"$work/$1.err" &
    pid=$!
    pids="$pids $pid"
}
ready() {
    i=0
    until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
        i=$((i + 1))
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$work/$1.err" >&2
            die "$1 exited while starting"
        }
        [ "$i" -lt 1200 ] || die "$1 not ready after 120 s"
        sleep 0.1
    done
}
stop() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# --- 0. idle sizes (the first start applies the migrations) -----------------------
for s in $consumers; do
    start "$s"
    ready "$s"
    sleep 2
    echo "$s $(rss_kib "$pid" VmRSS)" >>"$work/idle"
    stop "$pid"
done

# --- 1. the log ----------------------------------------------------------------------
t0=$(now_ms)
load_lifecycles "$pg" "$work" "$nevents" || die "generating or loading the events failed"
t1=$(now_ms)
echo "generated and loaded $(sql "SELECT count(*) FROM eventlog.events") events in $(((t1 - t0) / 1000)) s"
# The rows the log hands out (index fetches on eventlog.events): counted
# from here to the consumers' stop, so that a consumer reading its log
# more than once shows (a partition each reading everything did).
log_rows() {
    sql "SELECT idx_tup_fetch + coalesce(seq_tup_read, 0) FROM pg_stat_user_tables
          WHERE relid = 'eventlog.events'::regclass"
}
rows0=$(log_rows)

# --- 2. catch-up, one consumer at a time -------------------------------------------------
# caught_up NAME: 0 once every offset of NAME (of each of its partitions,
# when partitioned: eventlog.consumer_seq) is at its stream's end.
caught_up() {
    behind=$(sql "SELECT count(*) FROM eventlog.streams s
                   WHERE s.stream = ANY (string_to_array('$(streams_of "$1")', ' '))
                     AND coalesce(eventlog.consumer_seq('$1', s.stream), 0) < s.last_seq")
    [ "$behind" = 0 ]
}
for s in $consumers; do
    events=$(sql "SELECT sum(last_seq) FROM eventlog.streams
                   WHERE stream = ANY (string_to_array('$(streams_of "$s")', ' '))")
    c0=$(now_ms)
    start "$s"
    i=0
    until caught_up "$s"; do
        i=$((i + 1))
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$work/$s.err" >&2
            die "$s exited while catching up"
        }
        [ "$i" -lt 36000 ] || die "$s did not catch up within an hour"
        sleep 0.1
    done
    c1=$(now_ms)
    echo "$s $pid $events $((c1 - c0)) $(rss_kib "$pid" VmHWM) $(rss_kib "$pid" VmRSS)" >>"$work/live"
done

# --- 3. a minute idle ----------------------------------------------------------------------
sleep "$idle_s"
while read -r s p _; do
    echo "$s $(rss_kib "$p" VmRSS)" >>"$work/after"
done <"$work/live"
live_sums=$(sql "SELECT md5(string_agg(d::text, ',' ORDER BY dim, day, key)) FROM analytics.daily d")
while read -r _ p _; do
    stop "$p"
done <"$work/live"
# A stopped backend has flushed its counts.
echo "$(($(log_rows) - rows0))" >"$work/rows"

# --- 4. the rebuild of the same log -------------------------------------------------------
r0=$(now_ms)
CAREBUS_PG=$pg CAREBUS_LOG_LEVEL=warn "$bindir/carebus-analytics" --rebuild >"$work/rebuild.json" 2>"$work/rebuild.log" ||
    die "the rebuild failed: $(tail -n 5 "$work/rebuild.log")"
r1=$(now_ms)
rebuilt_sums=$(sql "SELECT md5(string_agg(d::text, ',' ORDER BY dim, day, key)) FROM analytics.daily d")
same=no
[ "$live_sums" = "$rebuilt_sums" ] && same=yes

/usr/bin/python3 - "$work" "$((r1 - r0))" "$same" "$idle_s" <<'EOF'
import json, sys
work, rebuild_ms, same, idle_s = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
idle = dict(l.split() for l in open(f"{work}/idle"))
after = dict(l.split() for l in open(f"{work}/after"))
r = json.loads(open(f"{work}/rebuild.json").read().strip().splitlines()[-1])
rebuild_rate = r["events"] / max(rebuild_ms / 1000, 1e-3)
v = lambda ok: "met" if ok else "MISSED"
mib = lambda k: f"{int(k) / 1024:.0f}"
print("catch-up (release build, private PostgreSQL 15, one consumer at a time)")
print(f"{'consumer':<12} {'events':>9} {'events/s':>10} {'idle MiB':>9} {'peak MiB':>9} "
      f"{'caught-up MiB':>14} {'after ' + str(idle_s) + ' s idle':>16}")
rates = {}
for line in open(f"{work}/live"):
    s, _, events, ms, hwm, rss = line.split()
    rate = int(events) / max(int(ms) / 1000, 1e-3)
    rates[s] = rate
    print(f"{s:<12} {int(events):>9} {rate:>10.0f} {mib(idle[s]):>9} {mib(hwm):>9} "
          f"{mib(rss):>14} {mib(after[s]):>16}")
print(f"{'analytics --rebuild, same log (wall clock)':<44} {rebuild_rate:>10.0f} events/s")
if "analytics" in rates:
    a = rates["analytics"]
    print(f"{'analytics live >= 50,000 events/s':<44} {a:>10.0f}   {v(a >= 50000)}")
    print(f"{'analytics live within 2x of its rebuild':<44} {rebuild_rate / a:>9.1f}x   "
          f"{v(2 * a >= rebuild_rate)}")
if "sla-monitor" in rates:
    print(f"{'sla-monitor >= 20,000 events/s':<44} {rates['sla-monitor']:>10.0f}   "
          f"{v(rates['sla-monitor'] >= 20000)}")
rows, logged = int(open(f"{work}/rows").read()), sum(int(l.split()[2]) for l in open(f"{work}/live"))
print(f"{'rows read from the log, all catch-ups':<44} {rows:>10}   "
      f"({rows / max(logged, 1):.2f} per event the consumers read)")
for s in rates:
    ratio = int(after[s]) / max(int(idle[s]), 1)
    print(f"{s + ': after idle / idle size':<44} {ratio:>9.1f}x   {v(ratio <= 2)}")
if "analytics" in rates:
    print(f"{'analytics: rebuilt KPI sums = live ones':<44} {same:>10}")
EOF
for s in $consumers; do
    if grep -q '"level":"error"' "$work/$s.err"; then
        echo "$s logged errors during the run:"
        grep -h '"level":"error"' "$work/$s.err" | tail -n 3
    fi
done
