#!/bin/bash
# pg-cluster.sh — a private PostgreSQL 15 cluster for local runs and tests.
#
#   pg-cluster.sh init   DATADIR PORT   create the cluster and the "carebus" database
#   pg-cluster.sh start  DATADIR PORT   start it; returns once it accepts connections
#   pg-cluster.sh stop   DATADIR        fast shutdown (clean: nothing committed is lost)
#   pg-cluster.sh status DATADIR        exit 0 running, 3 stopped, 4 no cluster
#   pg-cluster.sh url    DATADIR PORT[,PORT2]  print the libpq conninfo (several
#                        ports: a multi-host one that finds the primary)
#   pg-cluster.sh standby DATADIR PORT PRIMARY_PORT  make and start a synchronous standby
#   pg-cluster.sh promote DATADIR [OLD_PRIMARY_DATADIR]  make the standby the primary
#   pg-cluster.sh async  DATADIR        the primary commits without its lost standby
#   pg-cluster.sh role   DATADIR PORT   print primary or standby (exit 3 if not running)
#
# High availability (one synchronous standby): `standby` copies the running
# primary with pg_basebackup into DATADIR (through a replication slot, so the
# primary keeps the WAL the standby has not received), starts it streaming,
# waits until it does, then names it in the primary's synchronous_standby_names.
# synchronous_commit stays "on", not "remote_apply": a COMMIT returns once the
# standby has the WAL on its disk, so an event answered 2xx survives the loss
# of either server; remote_apply would also wait for the standby to replay it,
# and a long BI query on the standby (replay waits for conflicting queries,
# up to max_standby_streaming_delay) would then stall every ingest commit.
# BI on the standby sees the data a moment late instead (bi.freshness says how
# late). While the synchronous standby is down, commits wait: the price of
# losing nothing (the services cut each wait at CAREBUS_SYNC_WAIT_MS and
# answer 503). `async` is the operator's way to go on with one copy: it
# clears the primary's synchronous_standby_names, and the held commits
# complete at once; `standby` on the standby's folder (rebuilt, or just
# started again) names it synchronous again. `promote` (the documented operator command) ends recovery
# with pg_ctl promote and clears synchronous_standby_names on the new primary
# (it has no standby until one is made again); given the old primary's folder
# it fences it first: stops it at once if it still runs and marks it so that
# `start` refuses it (two primaries would fork the history). The old one
# rejoins as a standby of the new: `standby OLD_DATADIR PORT NEW_PRIMARY_PORT`
# (copied afresh).
#
# init is idempotent and atomic: the cluster is built in a sibling folder and
# renamed into place only when complete, so an interrupted init leaves nothing
# behind that a later init would mistake for a cluster. PostgreSQL refuses to
# run as root: when started by root, every server-side command runs as the data
# folder's owner, the system user "carebus" (created if missing) for a new one.
# fsync stays on: an event answered 2xx must survive a crash (DESIGN.md).
# It listens on 127.0.0.1 only, with trust authentication: a development box.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

PROG=pg-cluster.sh
DB_NAME=carebus
DB_USER=carebus
OS_USER_DEFAULT=carebus
START_TIMEOUT=${CAREBUS_PG_START_TIMEOUT:-30}
STOP_TIMEOUT=${CAREBUS_PG_STOP_TIMEOUT:-60}

die() {
    echo "$PROG: $*" >&2
    exit 1
}
note() { echo "$PROG: $*" >&2; }

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# --- locating PostgreSQL ----------------------------------------------------

find_bindir() {
    local d
    for d in "${CAREBUS_PG_BINDIR:-}" /usr/lib/postgresql/15/bin; do
        if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    fi
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    die "PostgreSQL 15 server binaries not found (install the Debian package \"postgresql\", or set CAREBUS_PG_BINDIR)"
}

# --- running as the cluster's owner -----------------------------------------

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
OS_USER="" # the account that runs the server; empty: the current one

# Picks the account that owns (or will own) DATADIR when we are root: the
# folder's owner if it is not root (someone ran us unprivileged before), else
# the system user "carebus", created on first use.
choose_os_user() {
    local datadir=$1 owner=""
    [ "$IS_ROOT" -eq 1 ] || return 0
    if [ -e "$datadir" ]; then
        owner=$(stat -c %U "$datadir")
    fi
    if [ -n "$owner" ] && [ "$owner" != root ] && [ "$owner" != UNKNOWN ]; then
        OS_USER=$owner
        return 0
    fi
    OS_USER=$OS_USER_DEFAULT
    if ! id -u "$OS_USER" >/dev/null 2>&1; then
        note "creating system user \"$OS_USER\" to run PostgreSQL (it refuses to run as root)"
        # A concurrent init (parallel tests) may create it first: fine.
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$OS_USER" 2>/dev/null || id -u "$OS_USER" >/dev/null 2>&1 ||
            die "could not create system user \"$OS_USER\""
    fi
}

# Runs a command as the cluster's owner, from "/" so that a current folder the
# owner cannot enter (e.g. /root) does not make initdb or pg_ctl complain.
as_owner() {
    if [ -n "$OS_USER" ]; then
        (cd / && runuser -u "$OS_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# The server's account must be able to reach DATADIR: every ancestor needs
# search (x) permission for it. Grants only that (an ACL entry when setfacl is
# there, else o+x), and says so; never read permission.
ensure_traversable() {
    local dir=$1
    [ -n "$OS_USER" ] || return 0
    while [ "$dir" != / ] && [ -n "$dir" ]; do
        dir=$(dirname "$dir")
        if [ -d "$dir" ] && ! runuser -u "$OS_USER" -- test -x "$dir"; then
            if command -v setfacl >/dev/null 2>&1 && setfacl -m "u:$OS_USER:x" "$dir" 2>/dev/null; then
                note "granted \"$OS_USER\" search permission on $dir (ACL) so PostgreSQL can reach its data"
            else
                chmod o+x "$dir" ||
                    die "could not make $dir traversable for \"$OS_USER\"; move the data folder elsewhere"
                note "made $dir traversable (o+x, not readable) so PostgreSQL, running as \"$OS_USER\", can reach its data"
            fi
        fi
    done
}

# Unprivileged, we can only run a cluster we own.
check_owner_unprivileged() {
    local datadir=$1 owner
    [ "$IS_ROOT" -eq 0 ] || return 0
    [ -e "$datadir" ] || return 0
    owner=$(stat -c %u "$datadir")
    if [ "$owner" != "$(id -u)" ]; then
        die "$datadir belongs to $(stat -c %U "$datadir"), not to $(id -un): run this as root or as that user"
    fi
}

# --- helpers -------------------------------------------------------------------

abspath() {
    local p=$1
    case $p in
    /*) ;;
    *) p=$PWD/$p ;;
    esac
    # Normalise without requiring the path to exist.
    realpath -m -- "$p"
}

check_port() {
    case ${1:-} in
    '' | *[!0-9]*) die "invalid port \"${1:-}\": expected a number in 1..65535" ;;
    esac
    if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then
        die "invalid port \"$1\": expected a number in 1..65535"
    fi
}

is_cluster() { [ -f "$1/PG_VERSION" ]; }

# A Unix socket path is limited to 107 bytes; with a long DATADIR we go TCP-only
# (the services connect over TCP anyway).
socket_dir_for() {
    local datadir=$1
    # "/.s.PGSQL.65535" is 16 bytes; leave room for the ".lock" file beside it.
    if [ $((${#datadir} + 16 + 5)) -lt 107 ]; then
        echo "$datadir"
    fi
}

# One port: that server. Several (comma-separated): all of them, and libpq
# keeps the first that is the primary (target_session_attrs).
conninfo() {
    local ports=$1 hosts="" p
    case $ports in
    *,*)
        for p in ${ports//,/ }; do
            check_port "$p"
            hosts=${hosts:+$hosts,}127.0.0.1
        done
        echo "host=$hosts port=$ports dbname=$DB_NAME user=$DB_USER target_session_attrs=read-write"
        ;;
    *) echo "host=127.0.0.1 port=$ports dbname=$DB_NAME user=$DB_USER" ;;
    esac
}

# The mark of a primary replaced by a promoted standby (see promote).
FENCE_FILE=carebus.fenced

# --- commands ----------------------------------------------------------------

cmd_init() {
    local datadir port bindir tmp sockdir locale
    datadir=$(abspath "$1")
    port=$2
    check_port "$port"

    if is_cluster "$datadir"; then
        return 0 # idempotent: an existing cluster is left alone
    fi
    if [ -e "$datadir" ] && [ -n "$(ls -A "$datadir" 2>/dev/null)" ]; then
        die "$datadir exists and is not empty, but holds no PostgreSQL cluster; move it away"
    fi
    bindir=$(find_bindir)
    mkdir -p "$(dirname "$datadir")"
    choose_os_user "$datadir"
    check_owner_unprivileged "$datadir"
    ensure_traversable "$datadir"

    # Built beside its final place and renamed when complete (same file system).
    tmp="$(dirname "$datadir")/.$(basename "$datadir").init.$$"
    rm -rf "$tmp"
    # shellcheck disable=SC2064 # expand now: the trap must remove this very folder
    trap "rm -rf '$tmp' '$tmp.initdb.log' '$tmp.single.log'" EXIT
    mkdir -m 700 "$tmp"
    [ -z "$OS_USER" ] || chown "$OS_USER:" "$tmp"

    # C.UTF-8 (glibc >= 2.35 has it built in) keeps sorting byte-wise, fast and
    # stable across machines, while storing UTF-8 text (Vietnamese names).
    locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale=C.UTF-8
    fi
    note "initialising a PostgreSQL cluster in $datadir (owner ${OS_USER:-$(id -un)}, locale $locale)"
    as_owner "$bindir/initdb" -D "$tmp" -U "$DB_USER" --auth=trust -E UTF8 \
        --locale="$locale" --no-instructions >"$tmp.initdb.log" 2>&1 || {
        cat "$tmp.initdb.log" >&2
        rm -f "$tmp.initdb.log"
        die "initdb failed"
    }
    rm -f "$tmp.initdb.log"

    sockdir=$(socket_dir_for "$datadir")
    # Our settings live in their own file, included last, so that upgrades of
    # postgresql.conf's defaults never conflict with them.
    as_owner tee "$tmp/carebus.conf" >/dev/null <<EOF
# carebus development cluster (written by deploy/scripts/pg-cluster.sh).
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 100
shared_buffers = 128MB

# Durability is a product guarantee: never turn these off, not even here.
fsync = on
synchronous_commit = on
full_page_writes = on

timezone = 'UTC'
log_timezone = 'UTC'

# Server log in DATADIR/log, one file a weekday, overwritten a week later.
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql-%a.log'
log_truncate_on_rotation = on
log_rotation_age = 1d
log_rotation_size = 0
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1s
log_lock_waits = on
log_checkpoints = on
EOF
    as_owner sh -c "echo \"include 'carebus.conf'\" >> '$tmp/postgresql.conf'"
    as_owner mkdir -p "$tmp/log"

    # The database is created in single-user mode: no listening socket, so
    # init never races another server for the port.
    echo "CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' TEMPLATE template0" |
        as_owner "$bindir/postgres" --single -D "$tmp" -c listen_addresses= \
            -c unix_socket_directories= template1 >"$tmp.single.log" 2>&1 || {
        cat "$tmp.single.log" >&2
        rm -f "$tmp.single.log"
        die "could not create database \"$DB_NAME\""
    }
    if grep -q 'ERROR:' "$tmp.single.log"; then
        cat "$tmp.single.log" >&2
        rm -f "$tmp.single.log"
        die "could not create database \"$DB_NAME\""
    fi
    rm -f "$tmp.single.log"

    # rename(2) replaces an empty folder someone prepared, and fails on a
    # cluster that a concurrent init put there first (then theirs stands).
    if ! mv -T "$tmp" "$datadir" 2>/dev/null; then
        is_cluster "$datadir" || die "could not move the new cluster to $datadir"
        note "another init created $datadir meanwhile; keeping that one"
        return 0
    fi
    trap - EXIT
    note "cluster ready in $datadir"
}

# Prints the PID in DATADIR/postmaster.pid if it is a live postmaster of this
# very cluster; prints nothing otherwise.
live_postmaster() {
    local datadir=$1 pid cwd
    [ -f "$datadir/postmaster.pid" ] || return 0
    pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null || true)
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    kill -0 "$pid" 2>/dev/null || return 0
    # The postmaster runs with the data folder as its current folder.
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    [ "$cwd" = "$datadir" ] && echo "$pid"
    return 0
}

# After kill -9 the postmaster.pid stays. pg_ctl copes when its PID is dead,
# but not when that PID was reused by an unrelated process (common in
# containers): the server would then refuse to start. Such a file is removed.
# The same holds for the socket's lock file. (A killed server's PID also stays
# "alive" as long as it is an unreaped zombie.) Nothing is removed while any
# process still works in the data folder: after a kill -9 of the postmaster its
# backends live on for a moment, and postmaster.pid is what lets the next
# server detect them (two sets of backends on one cluster corrupt it).
datadir_in_use() {
    local datadir=$1 p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/cwd" 2>/dev/null)" = "$datadir" ] && return 0
    done
    return 1
}

clear_stale_pidfile() {
    local datadir=$1 pid f
    ! datadir_in_use "$datadir" || return 0
    for f in "$datadir/postmaster.pid" "$datadir"/.s.PGSQL.*.lock; do
        [ -f "$f" ] || continue
        pid=$(head -n 1 "$f" 2>/dev/null || true)
        case $pid in '' | *[!0-9]*) ;; *) kill -0 "$pid" 2>/dev/null || continue ;; esac
        note "removing stale $f (PID $pid is not this cluster's server)"
        rm -f "$f"
    done
}

cmd_start() {
    local datadir port bindir pid running_port deadline log out
    datadir=$(abspath "$1")
    port=$2
    check_port "$port"
    is_cluster "$datadir" || die "no cluster in $datadir (run: $PROG init $datadir $port)"
    if [ -f "$datadir/$FENCE_FILE" ]; then
        die "$datadir was the primary until a standby was promoted ($(cat "$datadir/$FENCE_FILE")); rejoin it as a standby: $PROG standby $datadir $port NEW_PRIMARY_PORT"
    fi
    bindir=$(find_bindir)
    choose_os_user "$datadir"
    check_owner_unprivileged "$datadir"
    ensure_traversable "$datadir"

    pid=$(live_postmaster "$datadir")
    if [ -n "$pid" ]; then
        running_port=$(sed -n 4p "$datadir/postmaster.pid")
        if [ "$running_port" != "$port" ]; then
            die "the cluster in $datadir already runs on port $running_port, not $port"
        fi
        note "already running (PID $pid, port $port)"
        return 0
    fi
    clear_stale_pidfile "$datadir"
    as_owner mkdir -p "$datadir/log"
    log=$datadir/log/startup.log

    # Bounded retries: right after a kill -9 the old server's children may
    # still hold its shared memory for a moment, and the new one then refuses
    # to start ("pre-existing shared memory block is still in use").
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        # pg_ctl starts the server in its own session: a Ctrl-C on our
        # terminal does not reach it, we stop it in order.
        if out=$(as_owner "$bindir/pg_ctl" -D "$datadir" -l "$log" -o "-p $port" \
            -w -t "$START_TIMEOUT" start 2>&1); then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$out" >&2
            as_owner tail -n 20 "$log" >&2 || true
            as_owner sh -c "tail -n 20 '$datadir'/log/postgresql-*.log" >&2 || true
            die "PostgreSQL did not start within ${START_TIMEOUT}s (logs: $datadir/log)"
        fi
        sleep 1
        clear_stale_pidfile "$datadir"
    done

    while ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d "$DB_NAME" -U "$DB_USER"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "PostgreSQL started but is not accepting connections on 127.0.0.1:$port (log: $log)"
        fi
        sleep 0.2
    done
    note "PostgreSQL running on 127.0.0.1:$port (data $datadir)"
}

cmd_stop() {
    local datadir bindir
    datadir=$(abspath "$1")
    is_cluster "$datadir" || die "no cluster in $datadir"
    bindir=$(find_bindir)
    choose_os_user "$datadir"
    check_owner_unprivileged "$datadir"
    if [ -z "$(live_postmaster "$datadir")" ]; then
        clear_stale_pidfile "$datadir"
        note "not running"
        return 0
    fi
    # Fast: roll back open transactions, checkpoint, exit. Committed work is safe.
    if ! as_owner "$bindir/pg_ctl" -D "$datadir" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null; then
        note "fast shutdown did not finish within ${STOP_TIMEOUT}s; stopping immediately (WAL recovery on next start)"
        as_owner "$bindir/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null ||
            die "could not stop PostgreSQL in $datadir"
    fi
    note "PostgreSQL stopped"
}

cmd_status() {
    local datadir pid port
    datadir=$(abspath "$1")
    if ! is_cluster "$datadir"; then
        echo "no cluster in $datadir"
        return 4
    fi
    pid=$(live_postmaster "$datadir")
    if [ -z "$pid" ]; then
        echo "stopped (data $datadir)"
        return 3
    fi
    port=$(sed -n 4p "$datadir/postmaster.pid")
    echo "running (PID $pid, 127.0.0.1:$port, data $datadir)"
    return 0
}

cmd_url() {
    case $2 in *,*) ;; *) check_port "$2" ;; esac
    conninfo "$2"
}

# Runs one SQL statement on the server at PORT (database postgres); prints
# the result unaligned.
sql_at() {
    local bindir=$1 port=$2 sql=$3
    "$bindir/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$DB_USER" \
        -d postgres -c "$sql"
}

# The name a standby gives itself (application_name) and its slot on the primary.
standby_name() { echo "carebus_standby_$1"; }

# Waits (bounded) until the primary at PORT reports COLUMN = VALUE in
# pg_stat_replication for the standby NAME.
wait_replication() {
    local bindir=$1 pport=$2 name=$3 column=$4 value=$5 deadline got
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        got=$(sql_at "$bindir" "$pport" \
            "SELECT $column FROM pg_stat_replication WHERE application_name = '$name'" 2>/dev/null || true)
        [ "$got" != "$value" ] || return 0
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

cmd_standby() {
    local datadir port pport bindir name tmp sockdir
    datadir=$(abspath "$1")
    port=$2
    pport=$3
    check_port "$port"
    check_port "$pport"
    [ "$port" != "$pport" ] || die "the standby needs a port of its own (not $pport)"
    bindir=$(find_bindir)
    name=$(standby_name "$port")
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$pport" -U "$DB_USER" ||
        die "no primary accepts connections on 127.0.0.1:$pport"
    [ "$(sql_at "$bindir" "$pport" 'SELECT pg_is_in_recovery()')" = f ] ||
        die "the server on 127.0.0.1:$pport is a standby, not a primary"

    if is_cluster "$datadir" && [ ! -f "$datadir/$FENCE_FILE" ]; then
        [ -f "$datadir/standby.signal" ] ||
            die "$datadir holds a primary that was not fenced by promote; move it away"
        note "$datadir is a standby already; starting it"
        cmd_start "$datadir" "$port"
        make_synchronous "$bindir" "$port" "$pport" "$name"
        return 0
    fi
    mkdir -p "$(dirname "$datadir")"
    choose_os_user "$datadir"
    check_owner_unprivileged "$datadir"
    ensure_traversable "$datadir"
    if is_cluster "$datadir"; then # a fenced old primary: copied afresh
        if [ -n "$(live_postmaster "$datadir")" ]; then
            as_owner "$bindir/pg_ctl" -D "$datadir" -m immediate -w stop >/dev/null
        fi
        ! datadir_in_use "$datadir" || die "processes still work in $datadir; stop them first"
        note "replacing the old primary in $datadir by a copy of the primary on port $pport"
        rm -rf "$datadir"
    fi

    tmp="$(dirname "$datadir")/.$(basename "$datadir").standby.$$"
    rm -rf "$tmp"
    # shellcheck disable=SC2064 # expand now: the trap must remove this very folder
    trap "rm -rf '$tmp' '$tmp.basebackup.log'" EXIT
    mkdir -m 700 "$tmp"
    [ -z "$OS_USER" ] || chown "$OS_USER:" "$tmp"
    # A slot left by an earlier standby of this name would make -C fail.
    sql_at "$bindir" "$pport" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
        WHERE slot_name = '$name' AND NOT active" >/dev/null ||
        die "could not drop the old replication slot $name on port $pport"
    note "copying the primary (127.0.0.1:$pport) into $datadir with pg_basebackup (slot $name)"
    as_owner "$bindir/pg_basebackup" -h 127.0.0.1 -p "$pport" -U "$DB_USER" -D "$tmp" \
        -X stream -C -S "$name" -c fast >"$tmp.basebackup.log" 2>&1 || {
        cat "$tmp.basebackup.log" >&2
        die "pg_basebackup failed"
    }
    # The primary's socket lock, if its socket lives in its data folder.
    rm -f "$tmp.basebackup.log" "$tmp"/.s.PGSQL.*
    # The copy carries the primary's settings: it gets its own port and
    # socket, and where it streams from. hot_standby_feedback keeps the rows
    # a BI query on the standby reads from being vacuumed on the primary (no
    # query is cancelled for it), at the price of some bloat there.
    sockdir=$(socket_dir_for "$datadir")
    as_owner sed -i -e "s|^port = .*|port = $port|" \
        -e "s|^unix_socket_directories = .*|unix_socket_directories = '$sockdir'|" \
        "$tmp/carebus.conf"
    printf '%s\n' "" "# Standby of 127.0.0.1:$pport (written by pg-cluster.sh standby)." \
        "primary_conninfo = 'host=127.0.0.1 port=$pport user=$DB_USER application_name=$name'" \
        "primary_slot_name = '$name'" "hot_standby = on" "hot_standby_feedback = on" |
        as_owner tee -a "$tmp/carebus.conf" >/dev/null
    # Only a primary waits for a synchronous standby.
    as_owner sed -i '/^synchronous_standby_names/d' "$tmp/postgresql.auto.conf"
    as_owner touch "$tmp/standby.signal"
    mv -T "$tmp" "$datadir" || die "could not move the standby to $datadir"
    trap - EXIT
    cmd_start "$datadir" "$port"

    make_synchronous "$bindir" "$port" "$pport" "$name"
}

# Once the standby NAME on PORT streams from the primary on PPORT, names it
# in the primary's synchronous_standby_names and waits until it is in sync.
make_synchronous() {
    local bindir=$1 port=$2 pport=$3 name=$4
    wait_replication "$bindir" "$pport" "$name" state streaming ||
        die "the standby on port $port does not stream from port $pport"
    if ! sql_at "$bindir" "$pport" "ALTER SYSTEM SET synchronous_standby_names = '\"$name\"'" >/dev/null ||
        ! sql_at "$bindir" "$pport" "SELECT pg_reload_conf()" >/dev/null; then
        die "could not make the standby synchronous on port $pport"
    fi
    wait_replication "$bindir" "$pport" "$name" sync_state sync ||
        die "the standby on port $port streams but is not synchronous"
    note "synchronous standby $name on 127.0.0.1:$port, streaming from 127.0.0.1:$pport"
}

# The primary in DATADIR stops waiting for a synchronous standby: commits
# held for a lost one complete, and later ones are on this server alone
# until `standby` makes one again.
cmd_async() {
    local datadir bindir port
    datadir=$(abspath "$1")
    is_cluster "$datadir" || die "no cluster in $datadir"
    [ -n "$(live_postmaster "$datadir")" ] || die "the server in $datadir is not running"
    bindir=$(find_bindir)
    port=$(sed -n 4p "$datadir/postmaster.pid")
    [ "$(sql_at "$bindir" "$port" 'SELECT pg_is_in_recovery()')" = f ] ||
        die "the server in $datadir is a standby, not a primary"
    if ! sql_at "$bindir" "$port" "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null ||
        ! sql_at "$bindir" "$port" "SELECT pg_reload_conf()" >/dev/null; then
        die "could not clear synchronous_standby_names on port $port"
    fi
    note "the primary on 127.0.0.1:$port commits alone now (one copy); make a standby again: $PROG standby DATADIR PORT $port"
}

cmd_promote() {
    local datadir old="" bindir port deadline
    datadir=$(abspath "$1")
    [ -z "${2:-}" ] || old=$(abspath "$2")
    is_cluster "$datadir" || die "no cluster in $datadir"
    [ -n "$(live_postmaster "$datadir")" ] || die "the standby in $datadir is not running"
    bindir=$(find_bindir)
    port=$(sed -n 4p "$datadir/postmaster.pid")
    if [ -n "$old" ] && is_cluster "$old"; then
        # Fenced before the promotion: the old primary must never take
        # writes again once there is a new one.
        echo "replaced by $datadir on $(date -u +%FT%TZ)" >"$old/$FENCE_FILE"
        if [ -n "$(live_postmaster "$old")" ]; then
            note "stopping the old primary in $old at once"
            choose_os_user "$old"
            as_owner "$bindir/pg_ctl" -D "$old" -m immediate -w -t 30 stop >/dev/null ||
                die "could not stop the old primary in $old"
        fi
    fi
    OS_USER=""
    choose_os_user "$datadir"
    check_owner_unprivileged "$datadir"
    if [ "$(sql_at "$bindir" "$port" 'SELECT pg_is_in_recovery()')" = t ]; then
        as_owner "$bindir/pg_ctl" -D "$datadir" -w -t "$START_TIMEOUT" promote >/dev/null ||
            die "pg_ctl promote failed (log: $datadir/log)"
    else
        note "$datadir is a primary already"
    fi
    deadline=$((SECONDS + START_TIMEOUT))
    while [ "$(sql_at "$bindir" "$port" 'SELECT pg_is_in_recovery()' 2>/dev/null)" != f ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "the server on port $port is still in recovery"
        sleep 0.1
    done
    # Alone now: a commit must not wait for a standby that is not there.
    if ! sql_at "$bindir" "$port" "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null ||
        ! sql_at "$bindir" "$port" "SELECT pg_reload_conf()" >/dev/null; then
        die "could not clear synchronous_standby_names on the new primary"
    fi
    note "$datadir is the primary on 127.0.0.1:$port; no synchronous standby until one is made ($PROG standby DATADIR PORT $port)"
}

cmd_role() {
    local bindir r
    check_port "$2"
    bindir=$(find_bindir)
    r=$(sql_at "$bindir" "$2" 'SELECT pg_is_in_recovery()' 2>/dev/null) || {
        echo "not running"
        return 3
    }
    if [ "$r" = t ]; then echo standby; else echo primary; fi
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
init)
    [ $# -eq 2 ] || usage
    cmd_init "$@"
    ;;
start)
    [ $# -eq 2 ] || usage
    cmd_start "$@"
    ;;
stop)
    [ $# -eq 1 ] || usage
    cmd_stop "$@"
    ;;
status)
    [ $# -eq 1 ] || usage
    rc=0
    cmd_status "$@" || rc=$?
    exit "$rc"
    ;;
url)
    [ $# -eq 2 ] || usage
    cmd_url "$@"
    ;;
standby)
    [ $# -eq 3 ] || usage
    cmd_standby "$@"
    ;;
promote)
    { [ $# -ge 1 ] && [ $# -le 2 ]; } || usage
    cmd_promote "$@"
    ;;
async)
    [ $# -eq 1 ] || usage
    cmd_async "$@"
    ;;
role)
    [ $# -eq 2 ] || usage
    rc=0
    cmd_role "$@" || rc=$?
    exit "$rc"
    ;;
-h | --help | help) usage ;;
*)
    echo "$PROG: unknown command \"$cmd\"" >&2
    usage
    ;;
esac
