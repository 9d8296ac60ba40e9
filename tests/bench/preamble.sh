# preamble.sh — what every benchmark part begins with (sourced by
# tests/bench/*.part.sh; not a part itself, so run.sh does not run it).
#
# Sets root (the repository), bindir ($CAREBUS_BIN_DIR or the release
# build's) and pgscript, and defines:
#   die MESSAGE          "$part: MESSAGE" on stderr, exit $die_status
#   bench_need TOOL...   dies unless each tool is on PATH
#   bench_need_bin F...  dies unless each file is executable
#   bench_work NAME      makes $work (a temporary folder, mode 755: the
#                        PostgreSQL user writes there) and calls the part's
#                        cleanup function on exit (also on HUP, INT, TERM)
#   bench_stop PID       stops a process the part started (none: nothing)
#   bench_remove_work    stops the PostgreSQL in $work/pg and removes $work
#   bench_pg_start       a private PostgreSQL on a free port in $work/pg:
#                        sets pgport and pg (its conninfo); dies when it
#                        does not start (its logs on stderr);
#                        CAREBUS_BENCH_PG_CONF, lines added to its settings
#                        (e.g. shared_preload_libraries = 'pg_stat_statements')
#   bench_wait_ready URL PID LOG NAME
#                        waits (30 s at most) for URL/readyz; dies with
#                        LOG's end when PID exits first or time runs out
#   free_port, kv        a free TCP port on loopback; key=value in a line
#   bench_cpu_ms PID...  the CPU time (user + system, ms) the live processes
#                        among PID... have used since they started
#   bench_load           the machine's load average over the last minute
# A part may set part (its name in messages: its file's name by default) and
# die_status (1) before sourcing this file.
root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=${CAREBUS_BIN_DIR:-$root/build/release/bin}
pgscript=$root/deploy/scripts/pg-cluster.sh
part=${part:-$(basename "$0" .part.sh)}
die_status=${die_status:-1}

die() {
    echo "$part: $*" >&2
    exit "$die_status"
}

bench_need() {
    for _tool in "$@"; do
        command -v "$_tool" >/dev/null 2>&1 || die "$_tool is missing (make deps installs it)"
    done
}

bench_need_bin() {
    for _f in "$@"; do
        [ -x "$_f" ] || die "$_f is missing: make MODE=release build"
    done
}

bench_work() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    chmod 755 "$work"
    trap cleanup EXIT
    trap 'exit 130' HUP INT TERM
}

bench_stop() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

bench_remove_work() {
    bash "$pgscript" stop "$work/pg" >/dev/null 2>&1
    rm -rf "$work"
}

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_cpu_ms() {
    _ticks=0
    for _p in "$@"; do
        # Fields 14 and 15 of /proc/PID/stat, counted after the command's
        # parenthesised name (which may hold spaces).
        _t=$(sed 's/.*) //' "/proc/$_p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        _ticks=$((_ticks + ${_t:-0}))
    done
    echo $((_ticks * 1000 / $(getconf CLK_TCK)))
}

bench_load() {
    cut -d' ' -f1 /proc/loadavg
}

# The value of key=value in a line.
kv() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

bench_pg_start() {
    pgport=$(free_port)
    pg="host=127.0.0.1 port=$pgport dbname=carebus user=carebus"
    if ! bash "$pgscript" init "$work/pg" "$pgport" >"$work/pg-init.log" 2>&1 ||
        ! { [ -z "${CAREBUS_BENCH_PG_CONF:-}" ] || printf '%s\n' "$CAREBUS_BENCH_PG_CONF" >>"$work/pg/carebus.conf"; } ||
        ! bash "$pgscript" start "$work/pg" "$pgport" >"$work/pg-start.log" 2>&1; then
        cat "$work/pg-init.log" "$work/pg-start.log" >&2 2>/dev/null
        die "could not start PostgreSQL"
    fi
}

bench_wait_ready() {
    _i=0
    until curl -sf "$1/readyz" >/dev/null 2>&1; do
        _i=$((_i + 1))
        if [ "$_i" -gt 300 ] || ! kill -0 "$2" 2>/dev/null; then
            tail -n 20 "$3" >&2
            die "$4 did not become ready"
        fi
        sleep 0.1
    done
}
