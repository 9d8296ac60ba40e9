#!/bin/sh
# run-unit.sh — runs each cmocka unit-test binary given as an argument.
#
# Prints one line per binary (PASS/FAIL with its test counts; the binary's
# whole output when it failed) and ends with one plain line that CI reads:
#
#   unit: 12 passed, 0 failed
#
# Counts are test cases, summed from cmocka's "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines. A binary that exits non-zero without a
# cmocka failure count (it crashed, a sanitizer aborted it, it timed out)
# counts as one failed test, so a crash can never read as a pass. Each binary
# runs under a time limit (CAREBUS_UNIT_TIMEOUT seconds, default 300).
# Exits 1 when anything failed, 0 otherwise.
#
# CAREBUS_UNIT_WRAPPER runs each binary under a tool, e.g. "valgrind
# --error-exitcode=99 --leak-check=full"; a report from it fails the binary.
#
# CAREBUS_UNIT_JOBS binaries run at once (default: the online CPUs). The
# binaries are independent (each its own database, pid-named sockets and
# files), and one binary mostly keeps one core busy, valgrind's above all.
# Results are still printed in the arguments' order: the oldest running
# binary is waited for first, so a slow one may idle a slot meanwhile (the
# loop is tests/jobs.sh, shared with the fuzz targets).

set -u

timeout_s=${CAREBUS_UNIT_TIMEOUT:-300}
passed=0
failed=0

. "$(dirname "$0")/jobs.sh"
jobs_init "${CAREBUS_UNIT_JOBS:-}" carebus-unit

# Sums the N of every line "<tag> N test(s)" in output file $2.
count_tag() {
    sed -n "s/^\[  $1  \] \([0-9][0-9]*\) test(s).*/\1/p" "$2" |
        awk '{ s += $1 } END { print s + 0 }'
}

# Runs binary $1 in the background as job $2: its output to $work/$2.out,
# its exit status to $work/$2.rc.
launch() {
    if [ ! -x "$1" ]; then
        eval "pid_$2=none"
        return
    fi
    (
        if command -v timeout >/dev/null 2>&1; then
            timeout -k 10 "$timeout_s" ${CAREBUS_UNIT_WRAPPER:-} "$1" >"$work/$2.out" 2>&1
        else
            ${CAREBUS_UNIT_WRAPPER:-} "$1" >"$work/$2.out" 2>&1
        fi
        echo $? >"$work/$2.rc"
    ) &
    eval "pid_$2=$!"
}

# Waits for job $1 (binary $2) and reports it.
report() {
    name=${2##*/tests/}
    eval "pid=\$pid_$1"
    if [ "$pid" = none ]; then
        echo "FAIL $name (not an executable file)"
        failed=$((failed + 1))
        return
    fi
    wait "$pid"
    out=$work/$1.out
    rc=$(cat "$work/$1.rc" 2>/dev/null || echo 2)
    p=$(count_tag PASSED "$out")
    f=$(count_tag FAILED "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # Crashed, aborted by a sanitizer, timed out (124/137): one failure.
        f=1
    fi
    if [ "$rc" -eq 0 ] && [ "$f" -ne 0 ]; then
        # cmocka reported failures but exited 0: believe the report.
        rc=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -eq 0 ]; then
        echo "PASS $name ($p passed)"
    else
        case $rc in
            124) why="timed out after ${timeout_s}s" ;;
            137) why="killed after timing out" ;;
            *) if [ "$rc" -gt 128 ]; then why="killed by signal $((rc - 128))"; else why="exit $rc"; fi ;;
        esac
        echo "FAIL $name ($p passed, $f failed; $why)"
        sed 's/^/    /' "$out"
    fi
    rm -f "$out" "$work/$1.rc"
}

jobs_run "$@"
if [ "$#" -eq 0 ]; then
    echo "run-unit: no unit-test binaries given" >&2
fi
echo "${CAREBUS_UNIT_LABEL:-unit}: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
