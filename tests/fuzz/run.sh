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

work=$(mktemp -d "${TMPDIR:-/tmp}/carebus-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' HUP INT TERM

if [ "$#" -eq 0 ]; then
    echo "run.sh: no fuzz targets given" >&2
fi

for bin in "$@"; do
    name=$(basename "$bin")
    folder=$(basename "$(dirname "$bin")")
    seeds=$root/tests/fuzz/$folder/corpus/$name
    label=$folder/$name
    if [ ! -x "$bin" ]; then
        echo "FAIL $label (not an executable file)"
        failed=$((failed + 1))
        continue
    fi
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
        echo "FAIL $label (no seed corpus in tests/fuzz/$folder/corpus/$name)"
        failed=$((failed + 1))
        continue
    fi
    corpus=$work/$folder-$name
    mkdir -p "$corpus" "$work/art-$name"
    log=$work/$name.log
    # The outer timeout only guards against a fuzzer that never stops.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        timeout -k 10 $((seconds + 60)) "$bin" -max_total_time="$seconds" -max_len="$max_len" \
        -timeout="$input_timeout" -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$work/art-$name/" "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(sed -n 's/.*\(cov: [0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ] && ! grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' \
        -e 'runtime error:' -e 'ERROR: libFuzzer' "$log"; then
        echo "PASS $label (${runs:-?} runs, ${cov:-cov: ?}, ${seconds}s)"
        passed=$((passed + 1))
    else
        echo "FAIL $label (exit $rc after ${runs:-?} runs)"
        mkdir -p "$artifacts"
        for a in "$work/art-$name"/*; do
            [ -f "$a" ] || continue
            cp "$a" "$artifacts/$name-$(basename "$a")"
            echo "    input kept: $artifacts/$name-$(basename "$a")"
        done
        grep -v '^#[0-9]' "$log" | tail -n 40 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
