#!/bin/sh
# 30-sla.part.sh — sla-monitor with a million open timers: memory and delay.
#
# Starts a private PostgreSQL 15 (deploy/scripts/pg-cluster.sh) and the
# release sla-monitor ($CAREBUS_BIN_DIR, real clock), twice:
#
#   A. the baseline: only CAREBUS_BENCH_SLA_DEADLINES (2,000) running targets,
#      due one every 10 ms from ~20 s after the start;
#   B. the same deadlines plus CAREBUS_BENCH_SLA_TIMERS (1,000,000) other
#      running targets due in two days.
#
# The targets are written into sla.targets by SQL, as the consumer would
# have left them (a restart with a million open timers: the service loads
# them through the next_fire_at index at start). For each run it prints:
#   - the service's resident memory once ready (VmRSS from /proc/<pid>/status)
#     and how long the timers took to load;
#   - the delay from each deadline to its sla.breach event, measured in
#     PostgreSQL as the event's recorded_at (its commit) minus the deadline
#     (sla.emitted.at): p50, p99, max, over every breach.
#
# Targets (issue 5): <= 200 MiB resident and p99 <= 1 s with a million open
# timers. A missed target is printed as such; the part fails only when it
# could not measure. Everything it starts is stopped on exit.
set -u

. "$(dirname "$0")/preamble.sh"
bin=$bindir/carebus-sla-monitor
ntimers=${CAREBUS_BENCH_SLA_TIMERS:-1000000}
ndeadlines=${CAREBUS_BENCH_SLA_DEADLINES:-2000}
lead_s=${CAREBUS_BENCH_SLA_LEAD_S:-20}

bench_need psql curl
bench_need_bin "$bin"

bench_work carebus-bench
svc_pid=
cleanup() {
    bench_stop "$svc_pid"
    bench_remove_work
}

bench_pg_start

sql() {
    psql "$pg" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"
}

# Starts the service and waits for /readyz (timers loaded); sets svc_pid.
start_sla() {
    http=$(free_port)
    busp=$(free_port)
    CAREBUS_PG="$pg" CAREBUS_SLA_PORT=$http CAREBUS_BUS_SLA="tcp://127.0.0.1:$busp" \
        CAREBUS_SLA_CONFIG_DIR="$root/deploy/config" CAREBUS_LOG_LEVEL=warn \
        "$bin" >"$work/sla.out" 2>>"$work/sla.err" &
    svc_pid=$!
    i=0
    while [ "$i" -lt 1200 ]; do
        if curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$svc_pid" 2>/dev/null || {
            tail -20 "$work/sla.err" >&2
            die "sla-monitor exited while starting"
        }
        sleep 0.1
        i=$((i + 1))
    done
    die "sla-monitor not ready after 120 s"
}

stop_sla() {
    kill -TERM "$svc_pid" 2>/dev/null
    wait "$svc_pid" 2>/dev/null
    svc_pid=
}

rss_kib() {
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

# The schema: one start on the empty database applies the migrations.
start_sla
stop_sla

# seed N_FAR: running targets due in two days (already warned: one timer each).
seed_far() {
    [ "$1" -gt 0 ] || return 0
    sql "INSERT INTO sla.targets (ticket_id, target, cycle, status, policy_id, calendar_id,
             priority, segment, target_secs, started_at, due_at, warn_at, warned, next_fire_at)
         SELECT md5('far' || g)::uuid, 'resolution', 0, 'running', 'vip', '24x7', 'normal',
                'vip', 86400, now(), now() + interval '2 days' + g * interval '1 ms',
                now() + interval '1 day', true, now() + interval '2 days' + g * interval '1 ms'
           FROM generate_series(1, $1) AS g" || die "could not seed the far timers"
    sql "ANALYZE sla.targets" >/dev/null
}

# The deadlines to measure: one every 10 ms from lead_s seconds on.
seed_near() {
    sql "INSERT INTO sla.tickets (ticket_id, customer_id, priority, segment)
         SELECT md5('near' || g)::uuid, md5('customer' || g)::uuid, 'normal', 'vip'
           FROM generate_series(1, $ndeadlines) AS g;
         INSERT INTO sla.targets (ticket_id, target, cycle, status, policy_id, calendar_id,
             priority, segment, target_secs, started_at, due_at, warn_at, warned, next_fire_at)
         SELECT md5('near' || g)::uuid, 'first_response', 0, 'running', 'vip', '24x7',
                'normal', 'vip', 3600, now(), d, d - interval '12 minutes', true, d
           FROM generate_series(1, $ndeadlines) AS g,
                LATERAL (SELECT now() + interval '$lead_s seconds' + g * interval '10 ms' AS d) x" ||
        die "could not seed the deadlines"
}

# run LABEL N_FAR
run() {
    sql "TRUNCATE sla.targets, sla.tickets, sla.emitted; TRUNCATE eventlog.events, eventlog.streams" ||
        die "could not reset"
    seed_far "$2"
    seed_near
    t0=$(date +%s.%N)
    start_sla
    t1=$(date +%s.%N)
    rss=$(rss_kib "$svc_pid")
    loaded=$((ndeadlines + $2))
    # Wait for every breach (the last deadline is lead_s + ndeadlines/100 s away).
    limit=$((lead_s * 10 + ndeadlines / 10 + 600))
    i=0
    while [ "$i" -lt "$limit" ]; do
        n=$(sql "SELECT count(*) FROM sla.emitted WHERE kind = 'breach'")
        [ "$n" -ge "$ndeadlines" ] && break
        kill -0 "$svc_pid" 2>/dev/null || die "sla-monitor died during run $1"
        sleep 0.1
        i=$((i + 1))
    done
    [ "$n" -ge "$ndeadlines" ] || die "only $n of $ndeadlines breaches in run $1"
    rss_after=$(rss_kib "$svc_pid")
    stats=$(sql "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)::numeric, 4),
                        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY d)::numeric, 4),
                        round(max(d)::numeric, 4)
                   FROM (SELECT extract(epoch FROM e.recorded_at - m.at) AS d
                           FROM sla.emitted m JOIN eventlog.events e USING (event_id)
                          WHERE m.kind = 'breach') x")
    dups=$(sql "SELECT count(*) - count(DISTINCT (ticket_id, payload)) FROM eventlog.events
                 WHERE type = 'sla.breach'")
    stop_sla
    echo "$stats" | {
        IFS='|' read -r cnt p50 p99 max
        awk -v l="$1" -v n="$loaded" -v r="$rss" -v ra="$rss_after" -v t0="$t0" -v t1="$t1" \
            'BEGIN { printf "%-9s %8d timers: RSS %6.1f MiB once ready (%6.1f MiB after), ready in %5.2f s;",
                     l, n, r / 1024, ra / 1024, t1 - t0 }'
        printf ' deadline -> breach: p50 %s s, p99 %s s, max %s s (%s breaches, %s duplicated)\n' \
            "$p50" "$p99" "$max" "$cnt" "$dups"
        echo "$1 $rss $p99" >>"$work/figures"
    }
}

run baseline 0
run loaded "$ntimers"

read -r _ rss p99 <<EOF
$(tail -1 "$work/figures")
EOF
verdict() {
    if [ "$1" = 1 ]; then echo "met"; else echo "MISSED"; fi
}
rss_ok=$(awk -v r="$rss" 'BEGIN { print (r <= 200 * 1024) ? 1 : 0 }')
p99_ok=$(awk -v p="$p99" 'BEGIN { print (p <= 1) ? 1 : 0 }')
echo "targets: resident memory <= 200 MiB with $ntimers timers: $(verdict "$rss_ok");" \
    "breach p99 <= 1 s: $(verdict "$p99_ok")"
