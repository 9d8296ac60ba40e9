#!/bin/sh
# deps.sh — the Debian 12 packages carebus needs, kept in this one place.
#
#   deps.sh [SET]          install what SET lacks (root), or print the command (not root)
#   deps.sh --check [SET]  list what SET lacks; exit 1 if anything, install nothing
#   deps.sh --list [SET]   SET's packages, one a line (.ci/run: all)
#   deps.sh --build        only what compiling needs (the Dockerfile's build stage)
#   deps.sh --runtime      only what the binaries need to run (the Dockerfile's final stage)
#
# SET is "all" (the default: building, `make run`, and every test and
# benchmark) or "run" (building and `make run` only: no browser, no wrk, no
# docker-compose). Silent when nothing is missing, since `make run` and
# `make test` call it every time. CAREBUS_SKIP_DEPS=1 skips the check (for
# machines managed otherwise).
# POSIX sh: the Makefile runs it with `sh`.

# shellcheck disable=SC2086,SC2048 # package lists are split on whitespace on purpose
set -eu
# Lists are split on whitespace; never glob them.
set -f

# Compilers, code generators and the -dev packages behind the Makefile's pkg-config list.
BUILD_PKGS="build-essential pkg-config
libzmq3-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
libpq-dev libmicrohttpd-dev libjansson-dev libssl-dev uuid-dev libcurl4-openssl-dev
libcmocka-dev"

# `make run`: the private PostgreSQL, curl for readiness, s6 to supervise the
# services, the zone data the calendars read, Python for `make demo`.
RUN_PKGS="postgresql curl s6 tzdata python3"

# Tests run against a real PostgreSQL and real ZeroMQ, driven from Python (the
# providers' emulators too: aiosmtpd is their SMTP server); clang's runtime for
# the sanitizer build; browser for the dashboard and survey pages.
TEST_PKGS="postgresql postgresql-contrib
python3 python3-pytest python3-pytest-xdist python3-protobuf python3-zmq python3-psycopg2 python3-yaml
python3-aiosmtpd
curl wrk clang libclang-rt-14-dev docker-compose chromium chromium-driver jq
nodejs npm openssl tzdata valgrind"
# A Node.js that ships its own npm (NodeSource's nodejs) conflicts with
# Debian's npm package: ask for npm only when there is no npm command.
if command -v npm >/dev/null 2>&1; then
    TEST_PKGS=$(printf '%s\n' $TEST_PKGS | grep -vx npm | tr '\n' ' ')
fi

# Shared libraries the binaries link against, plus curl for the container healthcheck.
RUNTIME_PKGS="libzmq5 libprotobuf-c1 libpq5 libmicrohttpd12 libjansson4 libssl3 libuuid1
libcurl4 ca-certificates curl tzdata"

# One package a line, so `$(deps.sh --list)` and `xargs` both work.
print_list() {
    for p in $*; do
        printf '%s\n' "$p"
    done
}

# Prints the packages of "$@" that are not installed, one per line.
missing_of() {
    # One dpkg-query for all: unknown packages print nothing on stdout, so
    # anything not reported as installed ("ii") is missing.
    installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null |
        awk '$1 == "ii" { print $2 }') || true
    for p in "$@"; do
        case "
$installed
" in
        *"
$p
"*) ;;
        *) printf '%s\n' "$p" ;;
        esac
    done
}

# The packages of a set, each once.
set_packages() {
    case "$1" in
    all) print_list $BUILD_PKGS $RUN_PKGS $TEST_PKGS | awk '!seen[$0]++' ;;
    run) print_list $BUILD_PKGS $RUN_PKGS | awk '!seen[$0]++' ;;
    *)
        echo "deps.sh: unknown set \"$1\" (all or run)" >&2
        exit 2
        ;;
    esac
}

case "${1:-}" in
--list)
    set_packages "${2:-all}"
    exit 0
    ;;
--build)
    print_list $BUILD_PKGS
    exit 0
    ;;
--runtime)
    print_list $RUNTIME_PKGS
    exit 0
    ;;
--check) SET=${2:-all} ;;
"" | all | run) SET=${1:-all} ;;
-h | --help)
    sed -n '2,14s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
*)
    echo "deps.sh: unknown option \"$1\" (try --help)" >&2
    exit 2
    ;;
esac

if [ "${CAREBUS_SKIP_DEPS:-0}" = 1 ]; then
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: dpkg-query not found: this check is for Debian 12; install the equivalents of:" >&2
    set_packages "$SET" | tr '\n' ' ' >&2
    echo >&2
    exit 1
fi

packages=$(set_packages "$SET") || exit 2
missing=$(missing_of $packages | tr '\n' ' ' | sed 's/ *$//')
if [ -z "$missing" ]; then
    exit 0
fi

if [ "${1:-}" = --check ]; then
    echo "missing Debian packages: $missing" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "carebus needs these Debian packages: $missing" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends $missing" >&2
    exit 1
fi

echo "deps: installing missing Debian packages: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends $missing
