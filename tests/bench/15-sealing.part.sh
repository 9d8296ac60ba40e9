#!/bin/sh
# 15-sealing.part.sh — what sealing personal data costs channel-ingest.
#
# Starts a private PostgreSQL 15 (fsync and synchronous_commit on, as
# shipped) and runs the release channel-ingest ($CAREBUS_BIN_DIR) twice over,
# alternately without a master key (personal fields stored plain: the
# baseline) and with one (each contact's name, phone, handle and text sealed
# with a data key of its own, the key kept in privacy.datakeys: datakey.h),
# each time on a fresh database, then measures POST /v1/messages with wrk
# (2 threads, keep-alive connections, ingest.lua's contacts) for
# CAREBUS_BENCH_SECONDS (10): acknowledged events/s of each mode (the mean
# of its rounds) and their ratio. Rounds alternate so that a neighbour's
# load on a shared machine falls on both. Tunables: CAREBUS_BENCH_SECONDS,
# CAREBUS_BENCH_CONNECTIONS (128), CAREBUS_BENCH_ROUNDS (2). Everything it
# starts is stopped on exit.
set -u

. "$(dirname "$0")/preamble.sh"
ingest_bin=$bindir/carebus-channel-ingest
secs=${CAREBUS_BENCH_SECONDS:-10}
conns=${CAREBUS_BENCH_CONNECTIONS:-128}
rounds=${CAREBUS_BENCH_ROUNDS:-2}
key=bench-$$-key

bench_need wrk psql curl
bench_need_bin "$ingest_bin"

bench_work carebus-bench
ingest_pid=
stop_ingest() {
    bench_stop "$ingest_pid"
    ingest_pid=
}
cleanup() {
    stop_ingest
    bench_remove_work
}

bench_pg_start
admin=$pg
# A master key of this run only, in its own folder.
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$work/master.key"
chmod 600 "$work/master.key"

# measure MODE ROUND: one fresh database, one ingest, one wrk run; prints
# "acked sealed_rows keys" on stdout.
measure() {
    mode=$1
    db=bench_${mode}_$2
    psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null ||
        die "could not create $db"
    pg="host=127.0.0.1 port=$pgport dbname=$db user=carebus"
    port=$(free_port)
    busport=$(free_port)
    mk=
    [ "$mode" = sealed ] && mk=$work/master.key
    CAREBUS_PG=$pg CAREBUS_INGEST_PORT=$port CAREBUS_HTTP_ADDR=127.0.0.1 \
        CAREBUS_BUS_INGEST=tcp://127.0.0.1:$busport CAREBUS_BOOTSTRAP_API_KEY=$key \
        CAREBUS_LOG_LEVEL=error CAREBUS_RATE_LIMIT_RPS=0 CAREBUS_MASTER_KEY_FILE=$mk \
        "$ingest_bin" 2>"$work/ingest-$db.log" &
    ingest_pid=$!
    url=http://127.0.0.1:$port
    bench_wait_ready "$url" "$ingest_pid" "$work/ingest-$db.log" channel-ingest
    wrk -t2 -c"$conns" -d2s -s "$root/tests/bench/ingest.lua" "$url" -- "warm$$" "$key" \
        >"$work/warm.log" 2>&1 || die "wrk failed: $(cat "$work/warm.log")"
    wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s -s "$root/tests/bench/ingest.lua" "$url" -- \
        "run$$" "$key" >"$work/wrk.log" 2>&1 || die "wrk failed: $(cat "$work/wrk.log")"
    line=$(grep '^WRK ' "$work/wrk.log") || die "no summary from wrk: $(cat "$work/wrk.log")"
    stop_ingest
    acked=$(($(kv "$line" requests) - $(kv "$line" non2xx)))
    rate=$(awk -v n="$acked" -v d="$(kv "$line" duration_us)" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
    # What was stored: sealed contacts hold no plain handle, each has a key.
    plain=$(psql "$pg" -X -q -A -t -c "SELECT count(*) FROM eventlog.events
        WHERE position(convert_to('zalo-', 'UTF8') IN payload) > 0")
    keys=$(psql "$pg" -X -q -A -t -c "SELECT count(*) FROM privacy.datakeys")
    echo "$rate $plain $keys"
}

plain_sum=0
sealed_sum=0
report=
r=1
while [ "$r" -le "$rounds" ]; do
    p=$(measure plain "$r")
    s=$(measure sealed "$r")
    [ "$(echo "$s" | cut -d' ' -f2)" = 0 ] || die "sealed run stored plain handles: $s"
    [ "$(echo "$s" | cut -d' ' -f3)" -gt 0 ] || die "sealed run stored no data keys: $s"
    [ "$(echo "$p" | cut -d' ' -f3)" = 0 ] || die "plain run stored data keys: $p"
    plain_sum=$((plain_sum + ${p%% *}))
    sealed_sum=$((sealed_sum + ${s%% *}))
    report="$report round $r: plain ${p%% *}/s, sealed ${s%% *}/s;"
    r=$((r + 1))
done

awk -v p="$plain_sum" -v s="$sealed_sum" -v n="$rounds" -v conns="$conns" -v secs="$secs" \
    -v report="$report" '
BEGIN {
    printf "channel-ingest, POST /v1/messages, personal fields sealed or not (release build, fsync on)\n"
    printf "%-56s %16s\n", "figure", "measured"
    printf "%-56s %16.0f\n", "acknowledged events/s, plain (wrk -t2 -c" conns ", " secs "s)", p / n
    printf "%-56s %16.0f\n", "acknowledged events/s, sealed (AES-256-GCM, key per event)", s / n
    printf "%-56s %16.2f\n", "ratio sealed : plain", (p > 0 ? s / p : 0)
    printf "%s\n", report
}'
