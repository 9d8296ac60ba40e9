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

set -u

timeout_s=${CAREBUS_UNIT_TIMEOUT:-300}
passed=0
failed=0
binaries=0

out=$(mktemp "${TMPDIR:-/tmp}/carebus-unit.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT HUP INT TERM

# Sums the N of every line "<tag> N test(s)" in the output file.
count_tag() {
    sed -n "s/^\[  $1  \] \([0-9][0-9]*\) test(s).*/\1/p" "$out" |
        awk '{ s += $1 } END { print s + 0 }'
}

for bin in "$@"; do
    binaries=$((binaries + 1))
    name=${bin##*/tests/}
    if [ ! -x "$bin" ]; then
        echo "FAIL $name (not an executable file)"
        failed=$((failed + 1))
        continue
    fi
    if command -v timeout >/dev/null 2>&1; then
        timeout -k 10 "$timeout_s" ${CAREBUS_UNIT_WRAPPER:-} "$bin" >"$out" 2>&1
    else
        ${CAREBUS_UNIT_WRAPPER:-} "$bin" >"$out" 2>&1
    fi
    rc=$?
    p=$(count_tag PASSED)
    f=$(count_tag FAILED)
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
done

if [ "$binaries" -eq 0 ]; then
    echo "run-unit: no unit-test binaries given" >&2
fi
echo "${CAREBUS_UNIT_LABEL:-unit}: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
