#!/bin/sh
# 60-lists.part.sh — the work API's lists and search: GET /v1/tickets p99
# for each filter over a million tickets, and the search's p99 over ten million
# messages, each beside a baseline measured in the same run.
#
#   CAREBUS_BIN_DIR=build/release/bin sh tests/bench/60-lists.part.sh
#
# Starts a private PostgreSQL 15 (deploy/scripts/pg-cluster.sh; 1 GB of
# shared buffers, the rest as shipped) and fills the bench's own database
# with COPY, straight into the tables (indexes and keys dropped first, made
# again after, as a restore does): LISTS_BENCH_TICKETS (1,000,000) tickets
# over two years — the newest still open, statuses by age — of
# 300,000 customers (names, phones, e-mails, segments), with tags, and
# LISTS_BENCH_MESSAGES (10,000,000) messages (contacts, replies, internal
# notes in Vietnamese, a third typed without diacritics, and English), and
# a running SLA target per open ticket (tests/bench/lists_gen.c, built here
# with the system compiler). The load is timed and printed.
#
# Loading ten million messages (each message's words computed, then the
# search index built) takes about 9 minutes on an idle 2-core machine, so
# this part has a longer limit of its own.
#
# Then channel-ingest (release) serves the reads and tests/bench/lists.py
# offers requests at a fixed rate (latency from each request's scheduled
# time, so a stall shows), for every filter and order a first page and the
# next pages through their cursors, with values drawn over the data (teams,
# agents, channels, customers, date windows ...); and searches for words
# common, middling and rare, with and without diacritics. Baselines: GET
# /v1/tickets/{id} (one ticket by its key, through the same door) for the
# lists, the search for an order code (one message) for the search.
#
# Targets (issue 11): list p99 <= 20 ms for each filter, search p99 <=
# 100 ms. A missed target is printed as such; the part fails only when it
# could not measure. Disk: about 13 GB (3 GB at two million messages), all
# removed on exit.
# bench-limit: 2400
set -u

. "$(dirname "$0")/preamble.sh"
bin=$bindir/carebus-channel-ingest
ntickets=${LISTS_BENCH_TICKETS:-1000000}
nmessages=${LISTS_BENCH_MESSAGES:-10000000}
py=/usr/bin/python3

bench_need psql cc
bench_need_bin "$bin"

bench_work carebus-bench-lists
svc_pid=
cleanup() {
    bench_stop "$svc_pid"
    if [ -n "${LISTS_BENCH_KEEP:-}" ]; then
        echo "60-lists: kept the database running: $pg (stop: bash $pgscript stop $work/pg)" >&2
        return
    fi
    bench_remove_work
}

secs() {
    $py -c 'import time; print("%.1f" % time.monotonic())'
}

cc -O2 -std=c11 -o "$work/lists_gen" "$root/tests/bench/lists_gen.c" -lm || die "could not build lists_gen"

bench_pg_start
sql() {
    psql "$pg" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}
sql "ALTER SYSTEM SET shared_buffers = '1GB'" || die "could not configure PostgreSQL"
sql "ALTER SYSTEM SET max_wal_size = '8GB'"
bash "$pgscript" stop "$work/pg" >>"$work/pg.log" 2>&1
bash "$pgscript" start "$work/pg" "$pgport" >>"$work/pg.log" 2>&1 || die "could not restart PostgreSQL"

export CAREBUS_PG="$pg"
export CAREBUS_INGEST_PORT=$(free_port)
export CAREBUS_BUS_INGEST="tcp://127.0.0.1:$(free_port)"
export CAREBUS_BOOTSTRAP_API_KEY="bench-$$-$(date +%s)"
export CAREBUS_LOG_LEVEL=warn
export CAREBUS_RATE_LIMIT_RPS=0

start_ingest() {
    "$bin" 2>>"$work/ingest.log" &
    svc_pid=$!
    bench_wait_ready "http://127.0.0.1:$CAREBUS_INGEST_PORT" "$svc_pid" "$work/ingest.log" channel-ingest
}
stop_ingest() {
    kill -TERM "$svc_pid" 2>/dev/null
    wait "$svc_pid" 2>/dev/null
    svc_pid=
}

# The schema: channel-ingest applies the migrations when it first connects.
start_ingest
stop_ingest

# --- the load ---------------------------------------------------------------------------------

now=$(date +%s)
t_load=$(secs)
# Keys and indexes of the tables filled, dropped (foreign keys first) and
# made again after the COPYs (foreign keys last).
sql "CREATE TABLE public.bench_ddl (ord serial, drop_sql text, create_sql text)"
sql "INSERT INTO public.bench_ddl (drop_sql, create_sql)
     SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
            format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                   pg_get_constraintdef(c.oid))
       FROM pg_constraint c
      WHERE c.contype IN ('f', 'p', 'u') AND (c.conrelid IN ('router.customers'::regclass,
            'router.identities'::regclass, 'router.tickets'::regclass, 'router.messages'::regclass,
            'sla.targets'::regclass) OR c.confrelid IN ('router.customers'::regclass,
            'router.tickets'::regclass))
      ORDER BY c.contype = 'f' DESC, c.conname"
sql "INSERT INTO public.bench_ddl (drop_sql, create_sql)
     SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
       FROM pg_index i
      WHERE i.indrelid IN ('router.customers'::regclass, 'router.identities'::regclass,
            'router.tickets'::regclass, 'router.messages'::regclass, 'sla.targets'::regclass)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
sql "SELECT drop_sql || ';' FROM public.bench_ddl ORDER BY ord" | psql "$pg" -X -q -v ON_ERROR_STOP=1 ||
    die "could not drop the indexes"

# COPY of one table's rows (part $2 of $3), columns from the generator.
load() {
    cols=$("$work/lists_gen" "$1" "$now" "$ntickets" "$nmessages" | head -1 | tr -d '#')
    "$work/lists_gen" "$1" "$now" "$ntickets" "$nmessages" "$2" "$3" | tail -n +2 |
        psql "$pg" -X -q -v ON_ERROR_STOP=1 -c "\\copy $4 ($cols) FROM STDIN"
}
load customers 0 1 router.customers || die "could not load customers"
load identities 0 1 router.identities || die "could not load identities"
(load tickets 0 2 router.tickets & load tickets 1 2 router.tickets & wait) ||
    die "could not load tickets"
load targets 0 1 sla.targets || die "could not load SLA targets"
t_msg=$(secs)
(load messages 0 2 router.messages & load messages 1 2 router.messages & wait) ||
    die "could not load messages"
t_idx=$(secs)
sql "SELECT create_sql || ';' FROM public.bench_ddl ORDER BY ord DESC" |
    (echo "SET maintenance_work_mem = '1GB';"; cat) | psql "$pg" -X -q -v ON_ERROR_STOP=1 ||
    die "could not make the indexes"
sql "DROP TABLE public.bench_ddl"
sql "VACUUM ANALYZE" || die "could not analyze"
t_end=$(secs)
counts=$(sql "SELECT (SELECT count(*) FROM router.tickets) || ' ' ||
                     (SELECT count(*) FROM router.messages) || ' ' ||
                     (SELECT count(*) FROM router.customers) || ' ' ||
                     replace(pg_size_pretty(pg_database_size(current_database())), ' ', '_')")
set -- $counts
echo "lists: loaded $1 tickets, $2 messages, $3 customers ($(echo "$4" | tr _ ' ')) in $($py -c "print(round($t_end - $t_load))") s: messages COPY $($py -c "print(round($t_idx - $t_msg))") s (their words computed on the way in), indexes and keys $($py -c "print(round($t_end - $t_idx))") s"

# --- the reads --------------------------------------------------------------------------------

start_ingest
$py "$root/tests/bench/lists.py" "http://127.0.0.1:$CAREBUS_INGEST_PORT" \
    "$CAREBUS_BOOTSTRAP_API_KEY" "$pg" || die "could not measure"
stop_ingest
