# lifecycles.sh — loads the benchmark's event log (sourced by the parts,
# which set $root to the repository).
#
#   load_lifecycles PG WORK N
#
# Generates N events of whole ticket lifecycles (lifecycles.py, its Python
# bindings compiled into WORK/py with protoc), COPYs them into
# eventlog.events through an unlogged staging table, sets eventlog.streams
# to each stream's end and analyzes the table. Returns non-zero (with the
# generator's or psql's last lines on stderr) when anything failed.
load_lifecycles() {
    _pg=$1
    _work=$2
    _n=$3
    _root=${root:?set root to the repository}
    _here=$_root/tests/bench
    mkdir -p "$_work/py"
    protoc -I "$_root/proto" -I /usr/include --python_out="$_work/py" \
        "$_root/proto/carebus/v1/events.proto" || return 1
    psql "$_pg" -X -q -v ON_ERROR_STOP=1 -c "CREATE UNLOGGED TABLE bench_in (stream text,
           seq bigint, event_id uuid, type text, idem_scope text, idem_key text, marker text,
           occurred bigint, customer_id uuid, ticket_id uuid, payload bytea)" || return 1
    /usr/bin/python3 "$_here/lifecycles.py" "$_work/py" "$_n" 2>"$_work/gen.err" |
        psql "$_pg" -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_in FROM STDIN" || {
        tail -n 5 "$_work/gen.err" >&2
        return 1
    }
    psql "$_pg" -X -q -v ON_ERROR_STOP=1 -c "
        INSERT INTO eventlog.events (stream, seq, event_id, type, occurred_at, customer_id,
               ticket_id, payload)
        SELECT stream, seq, event_id, type, to_timestamp(occurred), customer_id, ticket_id,
               payload
          FROM bench_in;
        DROP TABLE bench_in;
        INSERT INTO eventlog.streams (stream, last_seq)
        SELECT stream, max(seq) FROM eventlog.events GROUP BY stream
        ON CONFLICT (stream) DO UPDATE SET last_seq = excluded.last_seq" &&
        psql "$_pg" -X -q -c "VACUUM ANALYZE eventlog.events"
}
