#!/bin/bash
# run.sh — `make run`: the whole carebus stack on this machine, under s6.
#
# Starts the private PostgreSQL cluster in var/pg (pg-cluster.sh), then the
# seven services from $CAREBUS_BIN_DIR under s6-svscan (one service directory
# each in var/sv), prints where everything is once all seven answer /readyz,
# and writes var/env for other shells. s6 restarts a service that exits; this
# script, run by s6 as the service's finish step (`run.sh finish`), makes the
# pause grow (1 s .. 30 s, 1 s again after 30 s of good health). Ctrl-C or
# SIGTERM stops the services (SIGTERM, SIGKILL after 20 s; a second Ctrl-C
# kills them at once), then PostgreSQL.
# The services write to this terminal themselves, one line per entry with
# their name (coloured text on a terminal, JSON lines otherwise;
# CAREBUS_LOG_FORMAT=json|text chooses). s6-svscan runs in a session of its
# own, so that a Ctrl-C reaches this script only and the stop stays in order.
# A second `make run` reuses var/pg and var/dev-api-key; one whose supervisor
# was killed -9 finds the old s6-svscan still holding var/sv and stops it.
# The bus is authenticated and encrypted (CURVE) as in compose: carebusctl
# makes the keys once into var/bus-keys, unless CAREBUS_BUS_CURVE_* is set.
# Personal data in the event log is sealed as in compose: carebusctl makes
# the master key once into var/master.key, unless CAREBUS_MASTER_KEY(_FILE)
# is set; losing that file makes every sealed field unreadable.
# The desk's session cookies are sealed under var/desk.key, made once the
# same way unless CAREBUS_DESK_SECRET(_FILE) is set: every desk instance
# (HA=1) gets the same, so a restart or another instance signs nobody out.
#
# CAREBUS_HA=1 (`make run HA=1`) adds a synchronous standby in var/pg-standby
# (pg-cluster.sh standby, port CAREBUS_PG_STANDBY_PORT, default 54321), and
# the services get a multi-host conninfo naming both servers, so that after
# `pg-cluster.sh promote var/pg-standby var/pg` they carry on with the new
# primary. A later run finds the roles where the promotion left them (the
# fenced old primary rejoins as the standby, copied afresh). It also runs a
# second instance of every service (NAME-2 under s6), on the first's HTTP and
# bus ports plus CAREBUS_HA_PORT_OFFSET (10): each producer's second endpoint
# joins its stream's list (CAREBUS_BUS_*), so every subscriber hears both;
# the consumers share their leases (one applies, the other stands by; the
# sla-monitor's partitions are shared out).
#
# Everything is in functions and `main` is called on the last line: bash reads
# a script as it runs, so a `git pull` during a long `make run` must not be
# able to feed it half of a new version.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail # not -e: waiting and probing expect commands to fail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPTS=$ROOT/deploy/scripts
BIN_DIR=${CAREBUS_BIN_DIR:-$ROOT/build/debug/bin}
VAR=${CAREBUS_VAR_DIR:-$ROOT/var} # tests point it elsewhere
PGDATA=$VAR/pg
PGDATA_STANDBY=$VAR/pg-standby
HA=${CAREBUS_HA:-0}
case $HA in 1 | yes | true | on) HA=1 ;; *) HA=0 ;; esac
SVDIR=$VAR/sv
KEYFILE=$VAR/dev-api-key
BUS_KEYS=$VAR/bus-keys
MASTER_KEY=$VAR/master.key
DESK_SECRET=$VAR/desk.key
PG_PORT=${CAREBUS_PG_PORT:-54320}
PG_STANDBY_PORT=${CAREBUS_PG_STANDBY_PORT:-54321}
READY_TIMEOUT=${CAREBUS_RUN_READY_TIMEOUT:-60}
STOP_TIMEOUT=${CAREBUS_RUN_STOP_TIMEOUT:-20}
BACKOFF_MAX=30
HEALTHY_AFTER=30 # seconds up after which a crash starts the back-off afresh

SERVICES=(channel-ingest router sla-monitor survey analytics courier desk)
declare -A PORT=(
    [channel-ingest]=${CAREBUS_INGEST_PORT:-8080}
    [router]=${CAREBUS_ROUTER_PORT:-9101}
    [sla-monitor]=${CAREBUS_SLA_PORT:-9102}
    [survey]=${CAREBUS_SURVEY_PORT:-8083}
    [analytics]=${CAREBUS_ANALYTICS_PORT:-8084}
    [desk]=${CAREBUS_DESK_PORT:-8086}
    [courier]=${CAREBUS_COURIER_PORT:-9105}
)
# Each service's variable for its HTTP port, and the producers' stream.
declare -A PORT_VAR=(
    [channel-ingest]=CAREBUS_INGEST_PORT [router]=CAREBUS_ROUTER_PORT
    [sla-monitor]=CAREBUS_SLA_PORT [survey]=CAREBUS_SURVEY_PORT
    [analytics]=CAREBUS_ANALYTICS_PORT [desk]=CAREBUS_DESK_PORT [courier]=CAREBUS_COURIER_PORT
)
declare -A BUS_VAR=(
    [channel-ingest]=CAREBUS_BUS_INGEST [router]=CAREBUS_BUS_ROUTER [sla-monitor]=CAREBUS_BUS_SLA
    [survey]=CAREBUS_BUS_SURVEY [courier]=CAREBUS_BUS_COURIER
)
declare -A BUS_URL=(
    [channel-ingest]=${CAREBUS_BUS_INGEST:-tcp://127.0.0.1:5561}
    [router]=${CAREBUS_BUS_ROUTER:-tcp://127.0.0.1:5562}
    [sla-monitor]=${CAREBUS_BUS_SLA:-tcp://127.0.0.1:5563}
    [survey]=${CAREBUS_BUS_SURVEY:-tcp://127.0.0.1:5564}
    [courier]=${CAREBUS_BUS_COURIER:-tcp://127.0.0.1:5565}
)
HA_OFFSET=${CAREBUS_HA_PORT_OFFSET:-10}
# The processes s6 runs: every service, and with HA=1 its second instance.
INSTANCES=("${SERVICES[@]}")
if [ "$HA" -eq 1 ]; then
    for s in "${SERVICES[@]}"; do
        INSTANCES+=("$s-2")
        PORT[$s-2]=$((PORT[$s] + HA_OFFSET))
        if [ -n "${BUS_URL[$s]:-}" ]; then
            case ${BUS_URL[$s]} in
            tcp://*:[0-9]*) ;;
            *) echo "run.sh: HA=1 needs tcp://HOST:PORT bus endpoints (${BUS_VAR[$s]}=${BUS_URL[$s]})" >&2
               exit 1 ;;
            esac
            BUS_URL[$s-2]=${BUS_URL[$s]%:*}:$((${BUS_URL[$s]##*:} + HA_OFFSET))
        fi
    done
fi
BUS_PORTS=()
for s in "${INSTANCES[@]}"; do
    [ -z "${BUS_URL[$s]:-}" ] || BUS_PORTS+=("${BUS_URL[$s]##*:}")
done

# Where the HTTP ports answer: 127.0.0.1 unless bound to one other address.
HOST=127.0.0.1
case ${CAREBUS_HTTP_ADDR:-} in
'' | 0.0.0.0 | '*' | '::' | '[::]') ;;
*) HOST=$CAREBUS_HTTP_ADDR ;;
esac
API_URL=http://$HOST:${PORT[channel-ingest]}
SURVEY_URL=http://$HOST:${PORT[survey]}/
DASHBOARD_URL=http://$HOST:${PORT[analytics]}/
DESK_URL=http://$HOST:${PORT[desk]}/

if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
    B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[1;31m' GRN=$'\e[32m' YEL=$'\e[33m' RST=$'\e[0m'
else
    B='' DIM='' RED='' GRN='' YEL='' RST=''
fi

SVSCAN_PID=""
STOP=0  # a stop signal arrived
FORCE=0 # a second one: kill at once

# --- small helpers -------------------------------------------------------------

# Lines in the shape of the services' own text lines: time, "run", level.
note() { # colour level message
    printf '%s%s%s %-14s %s%-5s%s %s\n' "$DIM" "$(date +%H:%M:%S.%3N)" "$RST" run \
        "$1" "$2" "$RST" "$3" >&2
}
say() { note "$GRN" INFO "$*"; }
warn() { note "$YEL" WARN "$*"; }
die() {
    note "$RED" ERROR "$*"
    exit 1
}
rel() { # a path as the user would type it from where they are
    case $1 in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac
}
pgc() { bash "$SCRIPTS/pg-cluster.sh" "$@" 9>&-; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
svscan_alive() { s6-svscanctl -z "$SVDIR" 2>/dev/null; } # -z: reap; fails without a listener

# --- preparation ---------------------------------------------------------------

preflight() {
    local s c
    for s in "${SERVICES[@]}"; do
        [ -x "$BIN_DIR/carebus-$s" ] ||
            die "$BIN_DIR/carebus-$s is missing: build first (make run does), or set CAREBUS_BIN_DIR"
    done
    [ -x "$BIN_DIR/carebusctl" ] ||
        die "$BIN_DIR/carebusctl is missing (it makes the bus's keys): build first, or set CAREBUS_BIN_DIR"
    for c in curl:curl setsid:util-linux flock:util-linux s6-svscan:s6 s6-svc:s6; do
        command -v "${c%%:*}" >/dev/null ||
            die "${c%%:*} is needed (Debian package ${c#*:}; \`make run\` installs it)"
    done
    mkdir -p "$VAR" || die "could not create $VAR"
}

# One supervisor at a time. The lock dies with this process (also on kill -9);
# children do not inherit it (9>&- wherever one is started).
take_lock() {
    exec 9>"$VAR/run.lock"
    flock -n 9 || die "another make run is active on $(rel "$VAR"); stop it first"
}

# A supervision tree left by a run.sh that was killed -9: its services still
# hold the ports. s6-svscan answers on var/sv; tell it to stop everything.
stop_leftovers() {
    svscan_alive || return 0
    warn "stopping the services left running by an earlier make run"
    s6-svscanctl -t "$SVDIR" 2>/dev/null
    for _ in $(seq $(((STOP_TIMEOUT + 5) * 5))); do
        svscan_alive || return 0
        sleep 0.2
    done
    die "the earlier supervisor on $(rel "$SVDIR") does not stop; end it (s6-svscanctl -q $(rel "$SVDIR"))"
}

check_ports() {
    local s p
    for s in "${INSTANCES[@]}"; do
        if port_busy "${PORT[$s]}"; then
            die "port ${PORT[$s]} ($s) is already in use; stop what holds it or set CAREBUS_*_PORT"
        fi
    done
    for p in "${BUS_PORTS[@]}"; do
        if port_busy "$p"; then
            die "bus port $p is already in use; stop what holds it or set CAREBUS_BUS_*"
        fi
    done
    if ! pgc status "$PGDATA" >/dev/null 2>&1 && port_busy "$PG_PORT"; then
        die "port $PG_PORT is taken by another PostgreSQL or program; set CAREBUS_PG_PORT to a free port"
    fi
    if [ "$HA" -eq 1 ] && ! pgc status "$PGDATA_STANDBY" >/dev/null 2>&1 && port_busy "$PG_STANDBY_PORT"; then
        die "port $PG_STANDBY_PORT is taken; set CAREBUS_PG_STANDBY_PORT to a free port"
    fi
}

start_postgres() {
    if [ "$HA" -eq 1 ]; then
        start_postgres_ha
        return
    fi
    say "PostgreSQL: $(rel "$PGDATA") on 127.0.0.1:$PG_PORT"
    pgc init "$PGDATA" "$PG_PORT" || die "could not create the cluster in $PGDATA"
    pgc start "$PGDATA" "$PG_PORT" || die "could not start PostgreSQL (logs: $PGDATA/log)"
    CAREBUS_PG=$(pgc url "$PGDATA" "$PG_PORT")
    CAREBUS_PG_STANDBY=""
    export CAREBUS_PG
}

# The primary where the last promotion left it (var/pg unless it was fenced
# by `pg-cluster.sh promote var/pg-standby var/pg`), the other as its
# synchronous standby. Each folder keeps its port.
start_postgres_ha() {
    local pdir=$PGDATA pport=$PG_PORT sdir=$PGDATA_STANDBY sport=$PG_STANDBY_PORT
    if [ -f "$PGDATA/carebus.fenced" ]; then
        pdir=$PGDATA_STANDBY pport=$PG_STANDBY_PORT sdir=$PGDATA sport=$PG_PORT
    fi
    PG_PRIMARY_DIR=$pdir PG_STANDBY_DIR=$sdir
    say "PostgreSQL primary: $(rel "$pdir") on 127.0.0.1:$pport"
    pgc init "$pdir" "$pport" || die "could not create the cluster in $pdir"
    pgc start "$pdir" "$pport" || die "could not start PostgreSQL (logs: $pdir/log)"
    say "PostgreSQL synchronous standby: $(rel "$sdir") on 127.0.0.1:$sport"
    pgc standby "$sdir" "$sport" "$pport" || die "could not start the standby (logs: $sdir/log)"
    CAREBUS_PG=$(pgc url "$pdir" "$PG_PORT,$PG_STANDBY_PORT")
    CAREBUS_PG_STANDBY=$(pgc url "$sdir" "$sport")
    export CAREBUS_PG
}

stop_postgres() {
    if [ "$HA" -eq 0 ]; then
        pgc stop "$PGDATA"
        return
    fi
    # The primary first: its shutdown sends the standby what is left of the WAL.
    local rc=0 d
    for d in "$PG_PRIMARY_DIR" "$PG_STANDBY_DIR"; do
        if pgc status "$d" >/dev/null 2>&1; then
            pgc stop "$d" || rc=1
        fi
    done
    return "$rc"
}

# The integrator key: the operator's CAREBUS_BOOTSTRAP_API_KEY when set (as
# DESIGN.md promises); otherwise a development key, made once and kept in
# var/dev-api-key (mode 600). var/env gives other shells the same view.
write_env() {
    if [ -n "${CAREBUS_BOOTSTRAP_API_KEY:-}" ]; then
        KEY_FROM="CAREBUS_BOOTSTRAP_API_KEY"
    else
        if [ ! -s "$KEYFILE" ]; then
            (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$KEYFILE.tmp" &&
                mv "$KEYFILE.tmp" "$KEYFILE") || die "could not write $KEYFILE"
            say "new development API key in $(rel "$KEYFILE")"
        fi
        CAREBUS_BOOTSTRAP_API_KEY=$(cat "$KEYFILE")
        KEY_FROM=$(rel "$KEYFILE")
    fi
    export CAREBUS_BOOTSTRAP_API_KEY
    (
        umask 077
        cat >"$VAR/env.tmp" <<EOF
# carebus local stack, written by deploy/scripts/run.sh. Use: . var/env
CAREBUS_PG='$CAREBUS_PG'
CAREBUS_PG_STANDBY='$CAREBUS_PG_STANDBY'
CAREBUS_API_URL='$API_URL'
CAREBUS_API_KEY='$CAREBUS_BOOTSTRAP_API_KEY'
CAREBUS_SURVEY_URL='$SURVEY_URL'
CAREBUS_DASHBOARD_URL='$DASHBOARD_URL'
CAREBUS_DESK_URL='$DESK_URL'
export CAREBUS_PG CAREBUS_PG_STANDBY CAREBUS_API_URL CAREBUS_API_KEY CAREBUS_SURVEY_URL CAREBUS_DASHBOARD_URL CAREBUS_DESK_URL
EOF
        if [ -n "$BUS_KEYS_FROM" ]; then
            printf "CAREBUS_BUS_CURVE_DIR='%s'\nexport CAREBUS_BUS_CURVE_DIR\n" "$BUS_KEYS_FROM" \
                >>"$VAR/env.tmp"
        fi
        if [ -n "$MASTER_KEY_FROM" ]; then
            printf "CAREBUS_MASTER_KEY_FILE='%s'\nexport CAREBUS_MASTER_KEY_FILE\n" \
                "$MASTER_KEY_FROM" >>"$VAR/env.tmp"
        fi
        mv "$VAR/env.tmp" "$VAR/env"
    ) || die "could not write $VAR/env"
}

# The bus's CURVE keys: the server's pair, one pair per service and the
# allow-list, made by carebusctl where var/bus-keys lacks them (kept
# otherwise). An operator who set any CAREBUS_BUS_CURVE_* chose their own.
bus_keys() {
    BUS_KEYS_FROM=""
    if env | grep -q '^CAREBUS_BUS_CURVE_[A-Z_]*=.'; then
        say "bus: CURVE keys from the environment (CAREBUS_BUS_CURVE_*)"
        return
    fi
    "$BIN_DIR/carebusctl" bus keys --dir "$BUS_KEYS" >/dev/null ||
        die "could not make the bus's keys in $(rel "$BUS_KEYS")"
    export CAREBUS_BUS_CURVE_DIR=$BUS_KEYS
    BUS_KEYS_FROM=$BUS_KEYS
}

# The master key that wraps the data keys of personal data in the log, made
# by carebusctl where var/master.key lacks it (kept otherwise). An operator
# who set CAREBUS_MASTER_KEY or CAREBUS_MASTER_KEY_FILE chose their own.
master_key() {
    MASTER_KEY_FROM=""
    if env | grep -q '^CAREBUS_MASTER_KEY\(_FILE\)\?=.'; then
        say "personal data: master key from the environment (CAREBUS_MASTER_KEY*)"
        return
    fi
    "$BIN_DIR/carebusctl" master-key make --file "$MASTER_KEY" >/dev/null ||
        die "could not make the master key $(rel "$MASTER_KEY")"
    export CAREBUS_MASTER_KEY_FILE=$MASTER_KEY
    MASTER_KEY_FROM=$MASTER_KEY
}

# The desk's secret that seals its session cookies, made where var/desk.key
# lacks it (kept otherwise; the same form as the master key's file: 64 hex
# digits, mode 0600). An operator who set CAREBUS_DESK_SECRET or
# CAREBUS_DESK_SECRET_FILE chose their own. Every desk instance reads it.
desk_secret() {
    if env | grep -q '^CAREBUS_DESK_SECRET\(_FILE\)\?=.'; then
        say "desk: session secret from the environment (CAREBUS_DESK_SECRET*)"
        return
    fi
    (umask 077 && "$BIN_DIR/carebusctl" master-key make --file "$DESK_SECRET" >/dev/null) ||
        die "could not make the desk's secret $(rel "$DESK_SECRET")"
    export CAREBUS_DESK_SECRET_FILE=$DESK_SECRET
}

# With HA=1, every subscriber hears both instances of each producer.
export_bus_lists() {
    local s
    [ "$HA" -eq 1 ] || return 0
    for s in "${!BUS_VAR[@]}"; do
        export "${BUS_VAR[$s]}=${BUS_URL[$s]},${BUS_URL[$s-2]}"
    done
}

# One s6 service directory per instance, made afresh each run. s6-supervise
# runs ./run in it (noting the start for the back-off), ./finish after an
# exit, and sends SIGKILL timeout-kill ms after a SIGTERM that did not stop it.
# A second instance runs with its own HTTP port and bus endpoint.
make_service_dirs() {
    local s d svc own
    rm -rf "$SVDIR" || die "could not remove $SVDIR"
    mkdir -p "$SVDIR" || die "could not create $SVDIR"
    for s in "${INSTANCES[@]}"; do
        d=$SVDIR/$s
        svc=${s%-2}
        own=""
        if [ "$s" != "$svc" ]; then
            own=$(printf ' %q' "${PORT_VAR[$svc]}=${PORT[$s]}")
            [ -z "${BUS_URL[$s]:-}" ] || own="$own$(printf ' %q' "CAREBUS_BUS_BIND=${BUS_URL[$s]}")"
        fi
        mkdir "$d" || die "could not create $d"
        printf '#!/bin/sh\ndate +%%s >started\nexec env%s %q\n' "$own" "$BIN_DIR/carebus-$svc" \
            >"$d/run"
        printf '#!/bin/sh\nexec bash %q finish "$@"\n' "$SCRIPTS/run.sh" >"$d/finish"
        chmod +x "$d/run" "$d/finish"
        echo $((STOP_TIMEOUT * 1000)) >"$d/timeout-kill"
        echo $(((BACKOFF_MAX + 5) * 1000)) >"$d/timeout-finish"
    done
}

# --- after a service exited (run by s6-supervise in its directory) --------------

# Arguments as s6 gives them: exit code (256: killed by a signal), signal
# number, service name. The pause is slept here, checking every 0.2 s that
# the service is still wanted up, so that a stop is never kept waiting; s6
# adds one second of its own (it pauses 1 s before restarting a service that
# never said it was ready).
finish() {
    local rc=$1 sig=$2 name=${3:-service} up b how what
    [ "$(s6-svstat -o wantedup . 2>/dev/null)" = true ] || return 0
    up=$(($(date +%s) - $(cat started 2>/dev/null || date +%s)))
    b=$(cat backoff 2>/dev/null || echo 0)
    if [ "$up" -ge "$HEALTHY_AFTER" ] || [ "$b" -eq 0 ]; then
        b=1
    else
        b=$((b * 2 > BACKOFF_MAX ? BACKOFF_MAX : b * 2))
    fi
    echo "$b" >backoff
    if [ "$rc" -eq 256 ]; then
        how="was killed by SIG$(kill -l "$sig" 2>/dev/null || echo "$sig")"
    else
        how="exited with status $rc"
    fi
    what=carebus-${name%-2}
    [ "$name" = "${name%-2}" ] || what="$what (second instance)"
    warn "$what $how after ${up}s; restarting in ${b}s"
    for _ in $(seq $(((b - 1) * 5))); do
        sleep 0.2
        [ "$(s6-svstat -o wantedup . 2>/dev/null)" = true ] || return 0
    done
}

# --- supervision -----------------------------------------------------------------

# shellcheck disable=SC2317 # called by the trap
on_signal() {
    [ "$STOP" -eq 0 ] || FORCE=1
    STOP=1
}

all_ready() {
    local s
    for s in "${INSTANCES[@]}"; do
        curl -fsS -o /dev/null --max-time 1 "http://$HOST:${PORT[$s]}/readyz" 2>/dev/null || return 1
    done
}

pg_banner() {
    if [ "$HA" -eq 0 ]; then
        echo "  PostgreSQL              $CAREBUS_PG  (data $(rel "$PGDATA"))"
        return
    fi
    cat <<EOF
  PostgreSQL (both)       $CAREBUS_PG
  primary                 data $(rel "$PG_PRIMARY_DIR")
  synchronous standby     $CAREBUS_PG_STANDBY  (data $(rel "$PG_STANDBY_DIR"); BI reads here)
  fail over (operator)    bash deploy/scripts/pg-cluster.sh promote $(rel "$PG_STANDBY_DIR") $(rel "$PG_PRIMARY_DIR")
EOF
}

instances_banner() {
    [ "$HA" -eq 1 ] || return 0
    printf '\n  second instances        API http://%s:%s  survey http://%s:%s/' \
        "$HOST" "${PORT[channel-ingest-2]}" "$HOST" "${PORT[survey-2]}"
    printf '\n                          dashboard http://%s:%s/  desk http://%s:%s/' \
        "$HOST" "${PORT[analytics-2]}" "$HOST" "${PORT[desk-2]}"
    printf '\n                          (every port +%s; behind a load balancer any instance serves,\n' \
        "$HA_OFFSET"
    printf '                          sessions on the desks included: no need to be sticky)'
}

banner() {
    local key=$CAREBUS_BOOTSTRAP_API_KEY
    cat <<EOF

${B}carebus is running${RST}
  API (channel-ingest)    ${B}$API_URL${RST}    (key from $KEY_FROM)
  survey pages            ${B}$SURVEY_URL${RST}
  dashboard (analytics)   ${B}$DASHBOARD_URL${RST}    (sign in with the key)
  agent desk              ${B}$DESK_URL${RST}    (agents sign in with their password)
  router, sla-monitor     http://$HOST:${PORT[router]}/metrics  http://$HOST:${PORT[sla-monitor]}/metrics
  courier (deliveries)    http://$HOST:${PORT[courier]}/metrics
$(pg_banner)$(instances_banner)
  event bus (ZeroMQ)      CURVE on; a subscriber's key:  $(rel "$BIN_DIR")/carebusctl bus allow NAME
  environment             . $(rel "$VAR/env")   then e.g.  psql "\$CAREBUS_PG"

Post a contact:
  curl -sS -X POST $API_URL/v1/messages \\
    -H 'Authorization: Bearer $key' \\
    -H 'Content-Type: application/json' \\
    -d '{"channel":"zalo","external_id":"m-1","customer":{"name":"Lan","phone":"0901234567","handle":"zalo-uid-1"},"text":"Tôi cần hỗ trợ","occurred_at":"2026-11-23T09:00:00+07:00"}'
  then follow it:  curl -sS -H 'Authorization: Bearer $key' $API_URL/v1/events/<event_id>
  or play a week at the care desk (contacts, replies, surveys, an SLA breach):  make demo

${GRN}${B}ready${RST} — Ctrl-C stops everything (the data stays in $(rel "$PGDATA")).

EOF
}

# Waits for the stack to be ready (then the banner), a stop signal, or the
# supervisor's end. Sleeps in the background so that a signal ends a wait at once.
watch() {
    local deadline=$((SECONDS + READY_TIMEOUT)) ready=0
    while [ "$STOP" -eq 0 ]; do
        if ! kill -0 "$SVSCAN_PID" 2>/dev/null; then
            warn "s6-svscan ended by itself; stopping"
            return
        fi
        if [ "$ready" -eq 0 ] && all_ready; then
            ready=1
            banner
        elif [ "$ready" -eq 0 ] && [ "$deadline" -gt 0 ] && [ "$SECONDS" -ge "$deadline" ]; then
            deadline=0
            warn "not every service answers /readyz after ${READY_TIMEOUT}s (see the lines above); still waiting"
        fi
        sleep 0.5 9>&- &
        wait $! 2>/dev/null
    done
}

# Stops the services through s6 (SIGTERM, SIGKILL after timeout-kill), or at
# once after a second signal, then PostgreSQL.
shutdown() {
    echo >&2
    say "stopping services (SIGTERM; Ctrl-C again to kill them at once)"
    s6-svscanctl -t "$SVDIR" 2>/dev/null
    local killed=0
    for _ in $(seq $(((STOP_TIMEOUT + 10) * 5))); do
        kill -0 "$SVSCAN_PID" 2>/dev/null || break
        if [ "$FORCE" -eq 1 ] && [ "$killed" -eq 0 ]; then
            warn "killing the services"
            s6-svc -k "$SVDIR"/* 2>/dev/null
            killed=1
        fi
        sleep 0.2 9>&- &
        wait $! 2>/dev/null
    done
    if kill -0 "$SVSCAN_PID" 2>/dev/null; then
        warn "s6-svscan did not stop; killing the supervision tree"
        s6-svscanctl -q "$SVDIR" 2>/dev/null
        s6-svc -k "$SVDIR"/* 2>/dev/null
    fi
    wait "$SVSCAN_PID" 2>/dev/null
    say "services stopped; stopping PostgreSQL"
    stop_postgres || warn "PostgreSQL did not stop cleanly"
    say "stopped"
}

main() {
    preflight
    take_lock
    trap on_signal INT TERM HUP
    trap '' PIPE
    stop_leftovers
    check_ports
    start_postgres
    if [ "$STOP" -eq 1 ]; then # interrupted while PostgreSQL started
        stop_postgres
        exit 0
    fi
    bus_keys
    master_key
    desk_secret
    write_env
    export_bus_lists
    make_service_dirs
    say "starting ${INSTANCES[*]} from $(rel "$BIN_DIR") under s6-svscan $(rel "$SVDIR")"
    setsid -w s6-svscan "$SVDIR" </dev/null 9>&- &
    SVSCAN_PID=$!
    watch
    shutdown
    exit 0
}

if [ "${1:-}" = finish ]; then
    shift
    finish "$@"
    exit 0
fi
main "$@"
