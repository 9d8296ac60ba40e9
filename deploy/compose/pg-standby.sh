#!/bin/sh
# pg-standby.sh — the compose "ha" profile's synchronous standby (db-standby).
#
# Runs in the official postgres image as the user postgres. At the first
# start the empty volume gets a copy of the primary (service db) by
# pg_basebackup through the replication slot carebus_standby; then the
# server runs as a hot standby, and once it streams, the primary is told to
# wait for it (synchronous_standby_names; synchronous_commit stays on, see
# deploy/scripts/pg-cluster.sh for why not remote_apply). Promotion is the
# operator's: docker compose exec -u postgres db-standby pg_ctl promote -D
# "$PGDATA", then stop db for good (README, "High availability").
# The password comes from the environment, never from the repository.
set -eu
NAME=carebus_standby
export PGPASSWORD="$POSTGRES_PASSWORD"
PRIMARY="host=db port=5432 user=carebus dbname=postgres"

i=0
until pg_isready -q -h db -p 5432 -U carebus; do
    i=$((i + 1))
    [ "$i" -lt 120 ] || { echo "pg-standby: the primary (db) does not answer" >&2; exit 1; }
    sleep 1
done
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    psql -X -q "$PRIMARY" -c "SELECT pg_drop_replication_slot('$NAME')
        FROM pg_replication_slots WHERE slot_name = '$NAME' AND NOT active" >/dev/null
    pg_basebackup -h db -p 5432 -U carebus -D "$PGDATA" -X stream -C -S "$NAME" -c fast
    cat >>"$PGDATA/postgresql.auto.conf" <<EOF
primary_conninfo = 'host=db port=5432 user=carebus application_name=$NAME password=$POSTGRES_PASSWORD'
primary_slot_name = '$NAME'
hot_standby_feedback = on
EOF
    touch "$PGDATA/standby.signal"
fi
postgres -c hba_file=/etc/carebus/pg_hba.conf &
pid=$!
# compose stops the container with SIGTERM to this shell: pass it on.
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
i=0
until [ "$(psql -X -A -t "$PRIMARY" -c "SELECT state FROM pg_stat_replication WHERE application_name = '$NAME'")" = streaming ]; do
    i=$((i + 1))
    [ "$i" -lt 120 ] || { echo "pg-standby: not streaming from db" >&2; kill "$pid"; exit 1; }
    sleep 1
done
psql -X -q "$PRIMARY" -c "ALTER SYSTEM SET synchronous_standby_names = '\"$NAME\"'" \
    -c "SELECT pg_reload_conf()" >/dev/null
echo "pg-standby: synchronous standby of db" >&2
wait "$pid" || wait "$pid"
