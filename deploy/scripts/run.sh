#!/bin/bash
# run.sh — `make run`: the whole carebus stack on this machine, supervised.
#
# Starts the private PostgreSQL cluster in var/pg (deploy/scripts/pg-cluster.sh),
# then the five services from $CAREBUS_BIN_DIR, each in its own session so that
# a Ctrl-C reaches only this script, which then stops them in order: services
# first (SIGTERM, bounded wait, SIGKILL for stragglers), PostgreSQL last. A
# service that exits is restarted with a growing backoff (1 s .. 30 s, reset
# after 30 s of good health). Logs go to var/log/<service>.log (JSON lines) and
# are shown on the terminal; CAREBUS_RUN_LOGS=pretty|raw|off picks how.
# State survives: a second `make run` reuses var/pg, var/dev-api-key, var/log.
# Services left over by a run.sh that was killed -9 are found by their PID
# files (var/run) and stopped before the new ones start.
#
# Everything is in functions and `main` is called on the last line: bash reads
# a script as it runs, so a `git pull` during a long `make run` must not be
# able to feed it half of a new version.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail # not -e: the supervisor loop expects commands to fail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPTS=$ROOT/deploy/scripts
BIN_DIR=${CAREBUS_BIN_DIR:-$ROOT/build/debug/bin}
VAR=${CAREBUS_VAR_DIR:-$ROOT/var} # tests point it elsewhere
PGDATA=$VAR/pg
LOGDIR=$VAR/log
RUNDIR=$VAR/run
KEYFILE=$VAR/dev-api-key
PG_PORT=${CAREBUS_PG_PORT:-54320}
READY_TIMEOUT=${CAREBUS_RUN_READY_TIMEOUT:-60}
STOP_TIMEOUT=${CAREBUS_RUN_STOP_TIMEOUT:-20}
BACKOFF_MAX=30
HEALTHY_AFTER=30 # seconds up after which a crash starts the backoff afresh
LOG_ROTATE_BYTES=$((50 * 1024 * 1024))

SERVICES=(channel-ingest router sla-monitor survey analytics)
declare -A PORT=(
    [channel-ingest]=${CAREBUS_INGEST_PORT:-8080}
    [router]=${CAREBUS_ROUTER_PORT:-9101}
    [sla-monitor]=${CAREBUS_SLA_PORT:-9102}
    [survey]=${CAREBUS_SURVEY_PORT:-8083}
    [analytics]=${CAREBUS_ANALYTICS_PORT:-8084}
)
BUS_PORTS=()
for url in "${CAREBUS_BUS_INGEST:-tcp://127.0.0.1:5561}" "${CAREBUS_BUS_ROUTER:-tcp://127.0.0.1:5562}" \
    "${CAREBUS_BUS_SLA:-tcp://127.0.0.1:5563}" "${CAREBUS_BUS_SURVEY:-tcp://127.0.0.1:5564}"; do
    BUS_PORTS+=("${url##*:}")
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

LOG_MODE=${CAREBUS_RUN_LOGS:-}
if [ -z "$LOG_MODE" ]; then
    if [ -t 1 ]; then LOG_MODE=pretty; else LOG_MODE=raw; fi
fi

if [ -t 1 ]; then
    B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GRN=$'\e[32m' YEL=$'\e[33m' RST=$'\e[0m'
else
    B='' DIM='' RED='' GRN='' YEL='' RST=''
fi

# Supervisor state, per service.
declare -A PID=() NEXT=() BACKOFF=() STARTED=() READY=() RESTARTS=()
STOP=0        # a stop signal arrived
FORCE=0       # a second one: kill at once
ALL_READY=0   # the banner was printed
READY_DEADLINE=0
LOG_PID=""    # the terminal log view (its own session)

# --- small helpers -------------------------------------------------------------

say() { printf '%s%-14s%s %s\n' "$DIM" "run" "$RST" "$*"; }
warn() { printf '%s%-14s%s %s%s%s\n' "$DIM" "run" "$RST" "$YEL" "$*" "$RST" >&2; }
die() {
    printf '%s%-14s%s %s%s%s\n' "$DIM" "run" "$RST" "$RED" "$*" "$RST" >&2
    exit 1
}
rel() { # a path as the user would type it from where they are
    case $1 in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac
}
pgc() { bash "$SCRIPTS/pg-cluster.sh" "$@" 9>&-; }

# A JSON line in the service's own log, so the log tells the whole story.
log_event() { # service level message
    local msg=${3//\\/\\\\}
    msg=${msg//\"/\\\"}
    printf '{"ts":"%s","level":"%s","service":"run","msg":"%s"}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$2" "$msg" >>"$LOGDIR/$1.log"
}

# Alive and not a zombie (an orphan's zombie lingers where PID 1 does not reap).
alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$st" != Z ]
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- preparation ---------------------------------------------------------------

preflight() {
    local s
    for s in "${SERVICES[@]}"; do
        [ -x "$BIN_DIR/carebus-$s" ] ||
            die "$BIN_DIR/carebus-$s is missing: build first (make run does), or set CAREBUS_BIN_DIR"
    done
    command -v curl >/dev/null || die "curl is needed to check readiness (apt-get install curl)"
    command -v setsid >/dev/null || die "setsid is needed (Debian package util-linux)"
    command -v flock >/dev/null || die "flock is needed (Debian package util-linux)"
    mkdir -p "$VAR" "$LOGDIR" "$RUNDIR" || die "could not create $VAR"
}

# One supervisor at a time. The lock dies with this process (also on kill -9);
# children do not inherit it (9>&- wherever one is started).
take_lock() {
    exec 9>"$RUNDIR/run.lock"
    if ! flock -n 9; then
        die "another make run is active (PID $(cat "$RUNDIR/run.pid" 2>/dev/null || echo '?')); stop it first"
    fi
    echo $$ >"$RUNDIR/run.pid"
}

# Services orphaned by a supervisor that was killed -9: still ours, still
# holding the ports. Matched by PID file and process name, never by name alone.
stop_orphans() {
    local s f pid name
    for s in "${SERVICES[@]}"; do
        f=$RUNDIR/$s.pid
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        name=carebus-$s
        if [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${name:0:15}" ]; then
            warn "stopping $name (PID $pid) left over from an earlier run"
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
            ! alive "$pid" || kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$f"
    done
}

check_ports() {
    local s p
    for s in "${SERVICES[@]}"; do
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
}

start_postgres() {
    say "PostgreSQL: $(rel "$PGDATA") on 127.0.0.1:$PG_PORT"
    pgc init "$PGDATA" "$PG_PORT" || die "could not create the cluster in $PGDATA"
    pgc start "$PGDATA" "$PG_PORT" || die "could not start PostgreSQL (logs: $PGDATA/log)"
    CAREBUS_PG=$(pgc url "$PGDATA" "$PG_PORT")
    export CAREBUS_PG
}

# The development API key: made once, kept in var/dev-api-key (mode 600).
# var/env gives other shells the same view: `. var/env; psql "$CAREBUS_PG"`.
write_env() {
    if [ ! -s "$KEYFILE" ]; then
        (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$KEYFILE.tmp" &&
            mv "$KEYFILE.tmp" "$KEYFILE") || die "could not write $KEYFILE"
        say "new development API key in $(rel "$KEYFILE")"
    fi
    CAREBUS_BOOTSTRAP_API_KEY=$(cat "$KEYFILE")
    export CAREBUS_BOOTSTRAP_API_KEY
    (
        umask 077
        cat >"$VAR/env.tmp" <<EOF
# carebus local stack, written by deploy/scripts/run.sh. Use: . var/env
CAREBUS_PG='$CAREBUS_PG'
CAREBUS_API_URL='$API_URL'
CAREBUS_API_KEY='$CAREBUS_BOOTSTRAP_API_KEY'
CAREBUS_SURVEY_URL='$SURVEY_URL'
CAREBUS_DASHBOARD_URL='$DASHBOARD_URL'
export CAREBUS_PG CAREBUS_API_URL CAREBUS_API_KEY CAREBUS_SURVEY_URL CAREBUS_DASHBOARD_URL
EOF
        mv "$VAR/env.tmp" "$VAR/env"
    ) || die "could not write $VAR/env"
}

# --- logs on the terminal ----------------------------------------------------------

prepare_logs() {
    local s f
    for s in "${SERVICES[@]}"; do
        f=$LOGDIR/$s.log
        if [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt "$LOG_ROTATE_BYTES" ]; then
            mv -f "$f" "$f.1"
        fi
        touch "$f"
    done
}

# tail -F follows every log (across restarts and rotation); awk turns its
# "==> file <==" headers into a per-line service prefix and, in pretty mode,
# a JSON line into "time level message {other fields}". Lines that are not
# JSON (a sanitizer report, a crash) are shown as they are.
# shellcheck disable=SC2016 # an awk program, not shell
LOG_AWK='
function field(name,    re, v) {
    re = "\"" name "\":\"([^\"\\\\]|\\\\.)*\""
    if (!match(line, re)) return ""
    v = substr(line, RSTART + length(name) + 4, RLENGTH - length(name) - 5)
    line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
    return v
}
function paint(c, s) { return color ? "\033[" c "m" s "\033[0m" : s }
/^==> .* <==$/ {
    svc = $2; sub(/.*\//, "", svc); sub(/\.log$/, "", svc); next
}
/^$/ { next }
{
    prefix = sprintf("%-14s", svc)
    c = 36
    if (svc == "router") c = 35; else if (svc == "sla-monitor") c = 33
    else if (svc == "survey") c = 32; else if (svc == "analytics") c = 34
    prefix = paint(c, prefix)
    if (mode != "pretty" || substr($0, 1, 1) != "{") { print prefix " " $0; fflush(); next }
    line = $0
    ts = field("ts"); level = field("level"); field("service"); msg = field("msg")
    gsub(/\\"/, "\"", msg)
    t = (length(ts) >= 19) ? substr(ts, 12, 8) : ts
    rest = line
    gsub(/,,+/, ",", rest); gsub(/\{,/, "{", rest); gsub(/,\}/, "}", rest)
    if (rest == "{}") rest = ""
    lv = sprintf("%-5s", level)
    if (level == "error") lv = paint("31;1", lv)
    else if (level == "warn") lv = paint(33, lv)
    else if (level == "debug") lv = paint(2, lv)
    print prefix " " paint(2, t) " " lv " " msg (rest != "" ? " " paint(2, rest) : "")
    fflush()
}'

start_log_view() {
    local s files=() awk_flags="" color=0
    [ ! -t 1 ] || color=1
    if [ "$LOG_MODE" = off ]; then
        say "logs: tail -F $(rel "$LOGDIR")/*.log"
        return 0
    fi
    for s in "${SERVICES[@]}"; do files+=("$LOGDIR/$s.log"); done
    if awk -W version 2>/dev/null | head -n 1 | grep -qi mawk; then
        awk_flags="-W interactive" # mawk otherwise holds lines back in a pipe
    fi
    # Own session, so a Ctrl-C leaves it running to show the services' last
    # words; --pid ends it with this script, even if that is killed -9.
    # shellcheck disable=SC2016 # expanded by the child shell
    setsid bash -c 'tail --pid="$5" -n 0 -F "${@:6}" 2>/dev/null |
        awk $4 -v mode="$1" -v color="$2" "$3"' \
        logview "$LOG_MODE" "$color" "$LOG_AWK" "$awk_flags" $$ \
        "${files[@]}" 9>&- &
    LOG_PID=$!
}

stop_log_view() {
    [ -n "$LOG_PID" ] || return 0
    sleep 0.3 # let it print the services' last lines
    kill -TERM -- "-$LOG_PID" 2>/dev/null
    wait "$LOG_PID" 2>/dev/null
    LOG_PID=""
}

# --- supervision -----------------------------------------------------------------

# shellcheck disable=SC2317 # called by the trap
on_signal() {
    if [ "$STOP" -eq 1 ]; then
        FORCE=1
        return
    fi
    STOP=1
}

start_service() {
    local s=$1
    # Own session: Ctrl-C on the terminal reaches only us; we stop it in order.
    # (setsid execs in place here, so $! is the service itself.)
    setsid "$BIN_DIR/carebus-$s" </dev/null >>"$LOGDIR/$s.log" 2>&1 9>&- &
    PID[$s]=$!
    STARTED[$s]=$SECONDS
    READY[$s]=0
    echo "${PID[$s]}" >"$RUNDIR/$s.pid"
}

describe_exit() { # status -> words
    local rc=$1
    if [ "$rc" -gt 128 ]; then
        echo "was killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    else
        echo "exited with status $rc"
    fi
}

# Reaps exited services and, unless stopping, schedules their restart.
check_children() {
    local s pid rc b up
    for s in "${SERVICES[@]}"; do
        pid=${PID[$s]:-}
        [ -n "$pid" ] || continue
        alive "$pid" && continue
        wait "$pid" 2>/dev/null # its status, exactly once
        rc=$?
        PID[$s]=""
        rm -f "$RUNDIR/$s.pid"
        [ "$STOP" -eq 0 ] || continue
        up=$((SECONDS - STARTED[$s]))
        b=${BACKOFF[$s]:-0}
        if [ "$up" -ge "$HEALTHY_AFTER" ] || [ "$b" -eq 0 ]; then
            b=1
        else
            b=$((b * 2 > BACKOFF_MAX ? BACKOFF_MAX : b * 2))
        fi
        BACKOFF[$s]=$b
        NEXT[$s]=$((SECONDS + b))
        RESTARTS[$s]=$((${RESTARTS[$s]:-0} + 1))
        warn "$s $(describe_exit "$rc") after ${up}s; restarting in ${b}s (see $(rel "$LOGDIR/$s.log"))"
        log_event "$s" error "carebus-$s $(describe_exit "$rc") after ${up}s; restarting in ${b}s"
    done
}

restart_due() {
    local s
    for s in "${SERVICES[@]}"; do
        if [ -z "${PID[$s]:-}" ] && [ -n "${NEXT[$s]:-}" ] && [ "$SECONDS" -ge "${NEXT[$s]}" ]; then
            NEXT[$s]=""
            log_event "$s" info "restarting carebus-$s (restart ${RESTARTS[$s]})"
            start_service "$s"
        fi
    done
}

check_ready() {
    local s n=0
    for s in "${SERVICES[@]}"; do
        if [ "${READY[$s]}" -eq 0 ] && [ -n "${PID[$s]:-}" ] &&
            curl -fsS -o /dev/null --max-time 1 "http://$HOST:${PORT[$s]}/readyz" 2>/dev/null; then
            READY[$s]=1
            if [ "$ALL_READY" -eq 1 ]; then
                say "${GRN}$s is ready again${RST}"
            fi
        fi
        [ "${READY[$s]}" -eq 0 ] || n=$((n + 1))
    done
    [ "$ALL_READY" -eq 0 ] || return 0
    if [ "$n" -eq "${#SERVICES[@]}" ]; then
        ALL_READY=1
        banner
    elif [ "$READY_DEADLINE" -gt 0 ] && [ "$SECONDS" -ge "$READY_DEADLINE" ]; then
        READY_DEADLINE=0
        for s in "${SERVICES[@]}"; do
            [ "${READY[$s]}" -eq 1 ] ||
                warn "$s is not ready after ${READY_TIMEOUT}s: see $(rel "$LOGDIR/$s.log") and http://$HOST:${PORT[$s]}/readyz"
        done
        warn "still waiting; the banner follows once all five answer /readyz"
    fi
}

banner() {
    local key=$CAREBUS_BOOTSTRAP_API_KEY
    cat <<EOF

${B}carebus is running${RST}
  API (channel-ingest)    ${B}$API_URL${RST}    (key in $(rel "$KEYFILE"))
  survey pages            $SURVEY_URL
  dashboard (analytics)   ${B}$DASHBOARD_URL${RST}
  router, sla-monitor     http://$HOST:${PORT[router]}/metrics  http://$HOST:${PORT[sla-monitor]}/metrics
  PostgreSQL              $CAREBUS_PG  (data $(rel "$PGDATA"))
  logs                    $(rel "$LOGDIR")/<service>.log
  environment             . $(rel "$VAR/env")   then e.g.  psql "\$CAREBUS_PG"

Post a contact:
  curl -sS -X POST $API_URL/v1/messages \\
    -H 'Authorization: Bearer $key' \\
    -H 'Content-Type: application/json' \\
    -d '{"channel":"zalo","external_id":"m-1","customer":{"name":"Lan","phone":"0901234567","handle":"zalo-uid-1"},"text":"Tôi cần hỗ trợ","occurred_at":"2026-11-23T09:00:00+07:00"}'
  then follow it:  curl -sS -H 'Authorization: Bearer $key' $API_URL/v1/events/<event_id>
  or post ~25 sample contacts:  make demo

${GRN}${B}ready${RST} — Ctrl-C stops everything (the data stays in $(rel "$PGDATA")).

EOF
}

shutdown() {
    local s deadline alive_now
    echo
    say "stopping services (SIGTERM; Ctrl-C again to kill them at once)"
    for s in "${SERVICES[@]}"; do
        [ -z "${PID[$s]:-}" ] || kill -TERM "${PID[$s]}" 2>/dev/null
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    while :; do
        check_children
        alive_now=()
        for s in "${SERVICES[@]}"; do [ -z "${PID[$s]:-}" ] || alive_now+=("$s"); done
        [ "${#alive_now[@]}" -gt 0 ] || break
        if [ "$FORCE" -eq 1 ] || [ "$SECONDS" -ge "$deadline" ]; then
            for s in "${alive_now[@]}"; do
                warn "$s did not stop$([ "$FORCE" -eq 1 ] || echo " within ${STOP_TIMEOUT}s"); killing it"
                log_event "$s" error "carebus-$s did not stop after SIGTERM; sent SIGKILL"
                kill -KILL "${PID[$s]}" 2>/dev/null
                wait "${PID[$s]}" 2>/dev/null
                PID[$s]=""
                rm -f "$RUNDIR/$s.pid"
            done
            break
        fi
        sleep 0.2
    done
    say "services stopped; stopping PostgreSQL"
    pgc stop "$PGDATA" || warn "PostgreSQL did not stop cleanly"
    stop_log_view
    rm -f "$RUNDIR/run.pid"
    say "stopped"
}

main() {
    local s
    preflight
    take_lock
    trap on_signal INT TERM HUP
    trap '' PIPE
    stop_orphans
    check_ports
    start_postgres
    if [ "$STOP" -eq 1 ]; then # interrupted while PostgreSQL started
        pgc stop "$PGDATA"
        exit 0
    fi
    write_env
    prepare_logs
    start_log_view
    say "starting ${SERVICES[*]} from $(rel "$BIN_DIR")"
    for s in "${SERVICES[@]}"; do
        start_service "$s"
    done
    READY_DEADLINE=$((SECONDS + READY_TIMEOUT))

    while [ "$STOP" -eq 0 ]; do
        check_children
        [ "$STOP" -eq 0 ] || break
        restart_due
        check_ready
        [ "$STOP" -eq 0 ] || break
        # In the background so that a signal ends the wait at once.
        sleep 0.5 &
        wait $! 2>/dev/null
    done
    shutdown
    exit 0
}

main "$@"
