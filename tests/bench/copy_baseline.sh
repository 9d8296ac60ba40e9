# copy_baseline.sh — the raw COPY rate beside which channel-ingest is
# measured (sourced by 10-ingest.part.sh; run by pipeline.py through sh).
#
#   copy_baseline PG WORK PATTERN   prints "ROWS MS"
#
# The ingest-stream rows whose idem_key is LIKE PATTERN (what a run
# committed), same payloads, copied into the same table (eventlog.events,
# same indexes) with one COPY FROM STDIN (psql \copy, binary). A stream,
# event ids and an idempotency scope of their own keep the keys unique, so
# the rows go in beside the originals. Returns non-zero when it failed.
copy_baseline() {
    _pg=$1
    _work=$2
    _like=$3
    _sql() { psql "$_pg" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
    _sql "\\copy (SELECT 'copybench', seq, gen_random_uuid(), type, 'copy:' || idem_scope, idem_key,
                 occurred_at, recorded_at, customer_id, ticket_id, payload
            FROM eventlog.events WHERE stream = 'ingest' AND idem_key LIKE '$_like'
           ORDER BY seq) TO '$_work/rows.bin' WITH (FORMAT binary)" || return 1
    _rows=$(_sql "SELECT count(*) FROM eventlog.events WHERE stream = 'ingest' AND idem_key LIKE '$_like'") || return 1
    _ms=$(printf '%s\n' '\timing on' "\\copy eventlog.events (stream, seq, event_id, type, idem_scope, idem_key, occurred_at, recorded_at, customer_id, ticket_id, payload) FROM '$_work/rows.bin' WITH (FORMAT binary)" |
        psql "$_pg" -X -q -v ON_ERROR_STOP=1 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
    [ -n "$_ms" ] || return 1
    echo "$_rows $_ms"
}
