#!/bin/sh
# run.sh — runs each libFuzzer target given as an argument for a bounded time.
#
#   FUZZ_SECONDS=10 sh tests/fuzz/run.sh build/fuzz/fuzz/channel-ingest/fuzz_x ...
#
# A target build/fuzz/fuzz/<folder>/<name> starts from its seed corpus
# tests/fuzz/<folder>/corpus/<name>/ (read only: what the fuzzer finds goes
# to a temporary folder, so the repository never changes under CI) and runs
# for FUZZ_SECONDS (default 10) with inputs up to FUZZ_MAX_LEN bytes
# (default 16384: webhook bodies and forms are small; larger inputs only slow
# the search), LeakSanitizer on. A crash, a sanitizer report, a leak, a
# timeout of one input (FUZZ_INPUT_TIMEOUT seconds, default 10) or a target
# that cannot start fails it; the input that failed is kept under
# build/fuzz/artifacts/ and the log's tail printed.
#
# FUZZ_JOBS targets run at once (default: the online CPUs): a target is one
# process on one core for its FUZZ_SECONDS, so on an otherwise idle machine
# each still gets a core for its whole time. Lines keep the arguments' order
# (the loop is tests/jobs.sh, shared with the unit tests).
#
# Prints one line per target and ends with the line CI reads:
#
#   fuzz: 9 passed, 0 failed
#
# Exits 1 when anything failed, 0 otherwise.
set -u

seconds=${FUZZ_SECONDS:-10}
max_len=${FUZZ_MAX_LEN:-16384}
input_timeout=${FUZZ_INPUT_TIMEOUT:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
artifacts=$root/build/fuzz/artifacts
passed=0
failed=0

. "$root/tests/jobs.sh"
jobs_init "${FUZZ_JOBS:-}" carebus-fuzz

if [ "$#" -eq 0 ]; then
    echo "run.sh: no fuzz targets given" >&2
fi

# Starts target $1 as job $2 in the background (its log $work/$2.log, its
# exit status $work/$2.rc), or records why it cannot start ($work/$2.why).
launch() {
    name=$(basename "$1")
    folder=$(basename "$(dirname "$1")")
    seeds=$root/tests/fuzz/$folder/corpus/$name
    if [ ! -x "$1" ]; then
        echo "not an executable file" >"$work/$2.why"
        return
    fi
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
        echo "no seed corpus in tests/fuzz/$folder/corpus/$name" >"$work/$2.why"
        return
    fi
    corpus=$work/$folder-$name
    mkdir -p "$corpus" "$work/art-$2"
    (
        # The outer timeout only guards against a fuzzer that never stops.
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            timeout -k 10 $((seconds + 60)) "$1" -max_total_time="$seconds" -max_len="$max_len" \
            -timeout="$input_timeout" -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
            -artifact_prefix="$work/art-$2/" "$corpus" "$seeds" >"$work/$2.log" 2>&1
        echo $? >"$work/$2.rc"
    ) &
    eval "pid_$2=$!"
}

# Waits for job $1 (target $2) and reports it.
report() {
    name=$(basename "$2")
    label=$(basename "$(dirname "$2")")/$name
    if [ -f "$work/$1.why" ]; then
        echo "FAIL $label ($(cat "$work/$1.why"))"
        failed=$((failed + 1))
        return
    fi
    eval "wait \$pid_$1"
    log=$work/$1.log
    rc=$(cat "$work/$1.rc" 2>/dev/null || echo 2)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(sed -n 's/.*\(cov: [0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ] && ! grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' \
        -e 'runtime error:' -e 'ERROR: libFuzzer' "$log"; then
        echo "PASS $label (${runs:-?} runs, ${cov:-cov: ?}, ${seconds}s)"
        passed=$((passed + 1))
    else
        echo "FAIL $label (exit $rc after ${runs:-?} runs)"
        mkdir -p "$artifacts"
        for a in "$work/art-$1"/*; do
            [ -f "$a" ] || continue
            cp "$a" "$artifacts/$name-$(basename "$a")"
            echo "    input kept: $artifacts/$name-$(basename "$a")"
        done
        grep -v '^#[0-9]' "$log" | tail -n 40 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}
jobs_run "$@"

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
