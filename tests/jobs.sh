# jobs.sh — the run-N-at-once loop shared by tests/run-unit.sh and
# tests/fuzz/run.sh (POSIX sh, sourced, never run).
#
# The sourcing script defines launch ARG I (starts argument I in the
# background, or records why it cannot) and report I ARG (waits for job I and
# prints its line), then calls jobs_init and jobs_run "$@". Subtle: lines keep
# the arguments' order, for the oldest job in flight is reported first, so a
# slow job may idle a slot meanwhile; and jobs_run must be given the script's
# own arguments, since job I's argument is read back as positional parameter I.

# Sets $slots from $1, a job count (unset or empty: the online CPUs; not a
# positive number: 1), and $work to a new temporary folder named after $2,
# removed at exit; a signal stops the jobs in flight.
jobs_init() {
    slots=${1:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
    case $slots in '' | *[!0-9]* | 0) slots=1 ;; esac
    work=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX") || exit 2
    trap 'rm -rf "$work"' EXIT
    trap 'kill $(jobs -p) 2>/dev/null; exit 130' HUP INT TERM
}

# Job i runs argument i. After launching job i, jobs are reported (oldest
# first) until fewer than $slots are in flight; the rest at the end.
jobs_run() {
    jobs_started=0
    jobs_reported=0
    for jobs_arg in "$@"; do
        jobs_started=$((jobs_started + 1))
        launch "$jobs_arg" "$jobs_started"
        while [ $((jobs_started - jobs_reported)) -ge "$slots" ]; do
            jobs_report_next "$@"
        done
    done
    while [ "$jobs_reported" -lt "$jobs_started" ]; do
        jobs_report_next "$@"
    done
}

# Reports the oldest job not yet reported; $@ are the script's arguments.
jobs_report_next() {
    jobs_reported=$((jobs_reported + 1))
    eval "jobs_done=\${$jobs_reported}"
    report "$jobs_reported" "$jobs_done"
}
