#!/bin/sh
# 20-router.part.sh — the router's figures: routed events/s when it catches
# up, and the latency from an ingest commit to the ticket's routing events
# at a fixed offered rate, beside the same run's baseline (how fast the log
# alone takes appends on this machine).
#
#   CAREBUS_BIN_DIR=build/release/bin sh tests/bench/20-router.part.sh
#
# Contacts go straight into the log and the bus (tests/tools/router_load),
# as channel-ingest writes them, so that HTTP does not weigh on the figure:
#   1. catch-up: ROUTER_BENCH_CONTACTS (30000) contacts of 10,000 customers
#      and 50 agents' presences, appended while the router is stopped; then
#      the router starts and routes them. routed/s = contacts / (first to
#      last router event's recorded_at). Beside it, the CPU time the
#      router and its PostgreSQL backends used per contact routed (from
#      their start to the end of the catch-up): unlike the rate, it hardly
#      moves when other work shares the machine, so a change measured on a
#      loaded machine shows there (with the load average printed).
#   2. live: the router running, ROUTER_BENCH_RATE (2000) contacts/s for
#      ROUTER_BENCH_SECONDS (10) s, committed in small batches (like
#      ingest's group commit) and published on the bus; 10,000 new
#      customers, so half the contacts open a ticket and half join one.
#      Latency = recorded_at of the router's event - recorded_at of the
#      contact: ticket.contact_added (every contact) and ticket.assigned
#      (contacts that opened a ticket). A fixed offered rate, not a closed
#      loop: a stall shows in the figures.
# Targets (issue 4): >= 10,000 routed events/s, p99 <= 50 ms.
# Bounded: every wait has a deadline; a private PostgreSQL cluster in a
# temporary folder is removed at the end (ROUTER_BENCH_KEEP=1 keeps the
# router's log in /tmp/router-bench.log; ROUTER_BENCH_LOG_LEVEL=debug logs
# every batch's size and time; ROUTER_BENCH_SQL=file.sql runs that SQL
# first, to try a database-side change; ROUTER_BENCH_STATEMENTS=file writes
# pg_stat_statements' top statements after the catch-up there, with
# CAREBUS_BENCH_PG_CONF loading it and ROUTER_BENCH_SQL creating it).
set -u
part=router die_status=2
. "$(dirname "$0")/preamble.sh"
bin=$bindir
tools=${CAREBUS_TOOLS_DIR:-$(dirname "$bin")/tests/tools}
contacts=${ROUTER_BENCH_CONTACTS:-30000}
rate=${ROUTER_BENCH_RATE:-2000}
seconds=${ROUTER_BENCH_SECONDS:-10}
py=/usr/bin/python3

bench_need_bin "$bin/carebus-router" "$tools/router_load"

bench_work carebus-bench-router
router_pid=
cleanup() {
    bench_stop "$router_pid"
    [ -n "${ROUTER_BENCH_KEEP:-}" ] && cp "$work/router.log" /tmp/router-bench.log
    bench_remove_work
}

bench_pg_start

export CAREBUS_PG=$pg
export CAREBUS_ROUTER_PORT=$(free_port)
export CAREBUS_BUS_INGEST="tcp://127.0.0.1:$(free_port)"
export CAREBUS_BUS_ROUTER="tcp://127.0.0.1:$(free_port)"
export CAREBUS_BUS_SLA="tcp://127.0.0.1:$(free_port)"
export CAREBUS_LOG_LEVEL=${ROUTER_BENCH_LOG_LEVEL:-warn}
unset CAREBUS_ROUTER_CONFIG CAREBUS_REOPEN_WINDOW_S

sql() { psql "$CAREBUS_PG" -qAtc "$1"; }

start_router() {
    "$bin/carebus-router" 2>>"$work/router.log" &
    router_pid=$!
}
stop_router() {
    kill "$router_pid" 2>/dev/null
    wait "$router_pid" 2>/dev/null
    router_pid=
}

# Waits (at most $2 s) until the router's ingest offset reaches $1.
wait_offset() {
    local want=$1 deadline=$(($(date +%s) + $2)) got
    while :; do
        got=$(sql "SELECT coalesce((SELECT seq FROM eventlog.offsets WHERE consumer = 'router'
                   AND stream = 'ingest'), 0)" 2>/dev/null || echo 0)
        [ "${got:-0}" -ge "$want" ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "router: timed out at offset $got of $want" >&2
            tail -5 "$work/router.log" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The schema: the router applies the migrations when it first connects.
start_router
for _ in $(seq 1 150); do
    [ "$(sql "SELECT to_regclass('router.position') IS NOT NULL" 2>/dev/null)" = t ] && break
    sleep 0.2
done
stop_router
# A database-side change to try without a rebuild (printed with the
# figures: a run with it is not the product as shipped).
if [ -n "${ROUTER_BENCH_SQL:-}" ]; then
    psql "$CAREBUS_PG" -qAt -v ON_ERROR_STOP=1 -f "$ROUTER_BENCH_SQL" >/dev/null || exit 1
    echo "router: with ROUTER_BENCH_SQL=$ROUTER_BENCH_SQL applied"
fi

# 1. Catch-up, beside the log's own append rate.
base=$(CAREBUS_LOG_LEVEL=error "$tools/router_load" --agents 50 --customers 10000 \
    --contacts "$contacts" --batch 1000) || exit 1
append_rate=$(echo "$base" | $py -c 'import json,sys; print(json.load(sys.stdin)["appended_per_s"])')
total=$(sql "SELECT last_seq FROM eventlog.streams WHERE stream = 'ingest'")
start_router
wait_offset "$total" 600 || exit 1
# The router's backends are those it opened at its start (a reconnection
# during the catch-up would lose the first one's share).
backends=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'router'")
cpu_router=$(bench_cpu_ms "$router_pid")
cpu_pg=$(bench_cpu_ms $backends)
load=$(bench_load)
catchup=$(sql "SELECT round($contacts / nullif(extract(epoch FROM max(recorded_at) - min(recorded_at)), 0))
               || ' ' || count(*) FROM eventlog.events WHERE stream = 'router'")
if [ -n "${ROUTER_BENCH_STATEMENTS:-}" ]; then
    psql "$CAREBUS_PG" -X -q -c "SELECT calls, round(total_exec_time) AS ms,
        round((total_exec_time * 1000 / $contacts)::numeric, 1) AS us_per_contact, rows,
        left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
        FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 40" >"$ROUTER_BENCH_STATEMENTS"
fi
routed_rate=${catchup%% *}
emitted=${catchup##* }

# 2. Live, at a fixed rate; the router keeps running. (The catch-up filled
# the tables faster than autovacuum gathers statistics; the router's
# queries are written to need none, ROUTER_BENCH_ANALYZE=1 checks that.)
if [ -n "${ROUTER_BENCH_ANALYZE:-}" ]; then sql "ANALYZE" || exit 1; fi
first=$(sql "SELECT coalesce(max(seq), 0) FROM eventlog.events WHERE stream = 'ingest'")
live_n=$((rate * seconds))
CAREBUS_LOG_LEVEL=error "$tools/router_load" --agents 0 --customers 10000 --first-customer 10000 \
    --start "$contacts" --contacts "$live_n" --batch $((rate / 100 > 0 ? rate / 100 : 1)) \
    --rate "$rate" --bus "$CAREBUS_BUS_INGEST" >"$work/live.json" || exit 1
wait_offset $((first + live_n)) 300 || exit 1
stop_router

# Router events derive their ids from the contact's (id.c: v5 in the
# carebus namespace of "<contact>/<type>/0").
lat=$($py - "$first" <<'EOF'
import os, sys, uuid
import psycopg2
ns = uuid.UUID("c5ef7fcb-2039-5452-af2a-718289004dea")
c = psycopg2.connect(os.environ["CAREBUS_PG"])
cur = c.cursor()
cur.execute("SELECT event_id::text, recorded_at FROM eventlog.events"
            " WHERE stream = 'ingest' AND seq > %s", (int(sys.argv[1]),))
contacts = cur.fetchall()
cur.execute("SELECT event_id::text, recorded_at FROM eventlog.events WHERE stream = 'router'"
            " AND type IN ('ticket.contact_added', 'ticket.assigned')")
routed = dict(cur.fetchall())
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
added, assigned = [], []
for cid, rec in contacts:
    a = routed.get(str(uuid.uuid5(ns, f"{cid}/ticket.contact_added/0")))
    if a is not None:
        added.append((a - rec).total_seconds() * 1000)
    b = routed.get(str(uuid.uuid5(ns, f"{cid}/ticket.assigned/0")))
    if b is not None:
        assigned.append((b - rec).total_seconds() * 1000)
print("%d %.1f %.1f %.1f %d %.1f %.1f" % (len(added), pct(added, .5), pct(added, .99),
      max(added or [float("nan")]), len(assigned), pct(assigned, .5), pct(assigned, .99)))
EOF
) || exit 1
set -- $lat
offered=$($py -c 'import json,sys; d=json.load(open(sys.argv[1])); print(round(d["appended_per_s"]))' "$work/live.json")

echo "router: catch-up of $contacts contacts (10,000 customers, 50 agents): $routed_rate routed contacts/s, $emitted events emitted; baseline: the log alone appends $append_rate events/s (target >= 10000/s)"
echo "router: catch-up CPU per contact: the router $((cpu_router * 1000 / contacts)) us, its PostgreSQL backends $((cpu_pg * 1000 / contacts)) us (load average $load)"
echo "router: live at $offered contacts/s for ${seconds}s: ingest commit -> ticket.contact_added p50 $2 ms, p99 $3 ms, max $4 ms ($1 contacts); -> ticket.assigned p50 $6 ms, p99 $7 ms ($5 new tickets) (target p99 <= 50 ms)"
