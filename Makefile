# carebus — one Makefile for everything.
#
#   make            build (MODE=debug by default; MODE=release, MODE=asan)
#   make run        build, start a private PostgreSQL and all seven services
#   make run HA=1   the same with a synchronous standby PostgreSQL (fail-over)
#   make test       unit tests (cmocka) then integration/e2e tests (pytest)
#   make test-asan  the same suite with AddressSanitizer + UBSan binaries
#   make chaos      100,000 contacts while services and PostgreSQL are killed
#                   (CHAOS_ARGS="--events N --kills N ..."; tests/chaos/chaos.py)
#   make bench      throughput and latency figures beside a same-run baseline
#   make demo       play a week at the care desk on a running stack
#   make format     clang-format every C file
#
# Every folder under services/ other than libcarebus is a service: its *.c
# files (main.c included) make build/$(MODE)/bin/carebus-<folder>. Adding a
# service needs no edit here. Unit tests live under tests/unit/<folder>/, one
# test_*.c per binary, linked with that folder's objects minus main.o.

.SECONDEXPANSION:
# Objects of test programs are not intermediates to delete.
.SECONDARY:

MODE ?= debug
BUILD := build/$(MODE)
GEN := build/gen

CC ?= cc
PKGS := libzmq libprotobuf-c libpq libmicrohttpd jansson libcrypto uuid libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wno-format-nonliteral
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -pthread -MMD -MP \
               -Iservices/libcarebus -I$(GEN) $(PKG_CFLAGS)
ifeq ($(MODE),release)
  OPT := -O2
else ifeq ($(MODE),asan)
  OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
else ifeq ($(MODE),fuzz)
  # libFuzzer needs clang; objects get coverage, targets link the fuzzer main.
  CC := clang
  OPT := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
  LDSAN := -fsanitize=address,undefined
else
  OPT := -O0
endif
# Asserts stay on in every mode (see STYLE.md): no -DNDEBUG.
CFLAGS_ALL := $(BASE_CFLAGS) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS_ALL := -pthread $(LDSAN) $(EXTRA_LDFLAGS)

# --- generated code: protobuf and embedded migrations ---------------------
PROTOS := proto/carebus/v1/events.proto
WKT := google/protobuf/timestamp.proto google/protobuf/wrappers.proto
PB_C := $(GEN)/carebus/v1/events.pb-c.c $(GEN)/google/protobuf/timestamp.pb-c.c \
        $(GEN)/google/protobuf/wrappers.pb-c.c
MIGRATIONS := $(sort $(wildcard deploy/migrations/*.sql))

$(GEN)/.proto.stamp: $(PROTOS)
	@mkdir -p $(GEN)
	protoc-c -Iproto -I/usr/include --c_out=$(GEN) $(PROTOS) $(WKT)
	@touch $@
$(PB_C): $(GEN)/.proto.stamp
# Their objects name the stamp too: $(PB_C) has no recipe of its own, so make
# may keep the sources' old mtimes after the stamp's recipe rewrote them and
# leave these objects stale (an incremental build after a .proto change then
# failed to link what uses a new message).
$(PB_C:$(GEN)/%.c=$(BUILD)/obj/gen/%.o): $(GEN)/.proto.stamp

# The list of migrations, rewritten (as make reads this file) only when a
# file comes or goes: a file removed or renamed is no prerequisite make
# could see missing, and its old SQL stayed embedded. Written whole (tmp,
# then mv) for two makes at once; its rule makes it again after a clean.
MIGRATIONS_LIST = mkdir -p $(GEN) && echo '$(MIGRATIONS)' > $(GEN)/migrations.list.tmp && \
                  mv $(GEN)/migrations.list.tmp $(GEN)/migrations.list
$(shell echo '$(MIGRATIONS)' | cmp -s - $(GEN)/migrations.list || { $(MIGRATIONS_LIST); })
$(GEN)/migrations.list:
	@$(MIGRATIONS_LIST)
$(GEN)/migrations.c: $(MIGRATIONS) $(GEN)/migrations.list deploy/scripts/embed-migrations.sh
	@mkdir -p $(GEN)
	sh deploy/scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

# --- the shared library ---------------------------------------------------
LIB_SRC := $(wildcard services/libcarebus/*.c services/libcarebus/channels/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(PB_C:$(GEN)/%.c=$(BUILD)/obj/gen/%.o) \
           $(BUILD)/obj/gen/migrations.o
LIBCAREBUS := $(BUILD)/lib/libcarebus.a

$(LIBCAREBUS): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Generated code is compiled without -Werror (protoc-c output is not ours).
$(BUILD)/obj/gen/%.o: $(GEN)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -w -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN)/.proto.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(WARN) -c $< -o $@

# --- services -------------------------------------------------------------
SERVICES := $(filter-out libcarebus,$(notdir $(wildcard services/*)))
BINS := $(SERVICES:%=$(BUILD)/bin/carebus-%) $(if $(wildcard tools/carebusctl/*.c),$(BUILD)/bin/carebusctl)

define service_rules
$(1)_SRC := $$(filter-out services/$(1)/main.c,$$(wildcard services/$(1)/*.c services/$(1)/*/*.c))
# A service's assets/ folder (its pages' files) is compiled in (asset.h).
$(1)_ASSETS := $$(sort $$(wildcard services/$(1)/assets/*))
$(1)_OBJ := $$($(1)_SRC:%.c=$$(BUILD)/obj/%.o) $$(if $$($(1)_ASSETS),$$(BUILD)/obj/gen/assets/$(1).o)
$$(GEN)/assets/$(1).c: $$($(1)_ASSETS) deploy/scripts/embed-assets.sh
	@mkdir -p $$(dir $$@)
	sh deploy/scripts/embed-assets.sh $(1) $$($(1)_ASSETS) > $$@.tmp && mv $$@.tmp $$@
# Unit tests of a service see its headers.
$$(BUILD)/obj/tests/unit/$(1)/%.o: CFLAGS_ALL += -Iservices/$(1)
$$(BUILD)/obj/tests/fuzz/$(1)/%.o: CFLAGS_ALL += -Iservices/$(1)
$$(BUILD)/lib/lib$(1).a: $$($(1)_OBJ)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
$$(BUILD)/bin/carebus-$(1): $$(BUILD)/obj/services/$(1)/main.o $$(BUILD)/lib/lib$(1).a $$(LIBCAREBUS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_ALL) $$^ $$(PKG_LIBS) -o $$@
endef
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

# The command-line tool (API keys, rebuilds) lives in tools/carebusctl.
CTL_SRC := $(wildcard tools/carebusctl/*.c)
$(BUILD)/bin/carebusctl: $(CTL_SRC:%.c=$(BUILD)/obj/%.o) $(LIBCAREBUS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@

# --- unit tests -----------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# tests/unit/<folder>/test_x.c links <folder>'s objects (minus main), the library
# and the tests' own helpers (tests/unit/*.c, e.g. testdb.c: a throw-away database).
UNIT_HELPER_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/unit/*.c))
$(BUILD)/obj/tests/unit/%.o: CFLAGS_ALL += -Itests/unit
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_HELPER_OBJ) $(LIBCAREBUS) $$(if $$(filter libcarebus,$$(firstword $$(subst /, ,$$*))),,$(BUILD)/lib/lib$$(firstword $$(subst /, ,$$*)).a)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $(filter-out $(LIBCAREBUS),$^) $(LIBCAREBUS) $(PKG_LIBS) $(CMOCKA_LIBS) -o $@

# --- test tools (small C programs the integration tests drive) ------------
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(LIBCAREBUS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@

# --- fuzz targets: tests/fuzz/<folder>/fuzz_*.c, like unit tests ---------
FUZZ_SRC := $(wildcard tests/fuzz/*/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LIBCAREBUS) $$(if $$(filter libcarebus,$$(firstword $$(subst /, ,$$*))),,$(BUILD)/lib/lib$$(firstword $$(subst /, ,$$*)).a)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer $(filter-out $(LIBCAREBUS),$^) $(LIBCAREBUS) $(PKG_LIBS) -o $@

# --- top-level targets ----------------------------------------------------
.PHONY: all build deps deps-run run demo chaos test test-unit test-valgrind test-integration test-asan test-fuzz fuzz-build bench format clean compose-check
.DEFAULT_GOAL := all

all: build
build: $(BINS) $(UNIT_BINS) $(TOOL_BINS)

# Everything building, running, testing and benchmarking need.
deps:
	@sh deploy/scripts/deps.sh all
	@test -d node_modules/playwright-core || npm ci --no-audit --no-fund --loglevel=error

# Only what building and `make run` need (no browser, wrk or docker-compose).
deps-run:
	@sh deploy/scripts/deps.sh run

run: deps-run
	@$(MAKE) --no-print-directory MODE=$(MODE) build
	@CAREBUS_BIN_DIR=$(CURDIR)/$(BUILD)/bin CAREBUS_HA=$(HA) exec bash deploy/scripts/run.sh

demo:
	@python3 deploy/scripts/demo.py

# The long chaos run (test_chaos.py runs a short one in make test).
CHAOS_ARGS ?=
chaos: deps
	@$(MAKE) --no-print-directory MODE=$(MODE) build
	@CAREBUS_BIN_DIR=$(CURDIR)/$(BUILD)/bin /usr/bin/python3 tests/chaos/chaos.py $(CHAOS_ARGS)

# The builds that tests start compile on every core (BUILD_JOBS), unless an
# outer `make -jN` already shares its job slots with them.
BUILD_JOBS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
BUILD_J = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(BUILD_JOBS))

test: deps
	@$(MAKE) --no-print-directory $(BUILD_J) MODE=$(MODE) build
	@$(MAKE) --no-print-directory MODE=$(MODE) test-unit test-valgrind test-integration test-fuzz

# The unit tests again under valgrind (errors and definite leaks fail them).
test-valgrind: $(UNIT_BINS)
	@CAREBUS_UNIT_LABEL=valgrind CAREBUS_UNIT_WRAPPER="valgrind -q --error-exitcode=99 \
	  --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite" \
	  sh tests/with-pg.sh sh tests/run-unit.sh $(UNIT_BINS)

# Unit tests that touch PostgreSQL get a throw-away cluster (CAREBUS_TEST_PG).
test-unit: $(UNIT_BINS)
	@sh tests/with-pg.sh sh tests/run-unit.sh $(UNIT_BINS)

# Integration tests run on PYTEST_JOBS pytest-xdist workers (each its own
# PostgreSQL cluster and slice of ports; the tests that kill and time
# failovers, xdist_group "kill9", on one of them in turn); PYTEST_JOBS=0
# runs them in-process.
PYTEST_JOBS ?= $(BUILD_JOBS)
test-integration: $(BINS) $(TOOL_BINS)
	@CAREBUS_BIN_DIR=$(CURDIR)/$(BUILD)/bin CAREBUS_TOOLS_DIR=$(CURDIR)/$(BUILD)/tests/tools \
	  CAREBUS_GEN_DIR=$(CURDIR)/$(GEN) \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider -n $(PYTEST_JOBS) --dist loadgroup tests/integration $(PYTEST_ARGS)

test-asan: deps
	@$(MAKE) --no-print-directory $(BUILD_J) MODE=asan build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) --no-print-directory MODE=asan test-unit test-integration

bench: deps
	@$(MAKE) --no-print-directory MODE=release build
	@CAREBUS_BIN_DIR=$(CURDIR)/build/release/bin \
	  CAREBUS_BENCH_PIPE_WINDOW_S=$${CAREBUS_BENCH_PIPE_WINDOW_S:-15} sh tests/bench/run.sh

# Each fuzz target for FUZZ_SECONDS (default 10) on its seed corpus.
FUZZ_SECONDS ?= 10
fuzz-build:
	$(if $(FUZZ_SRC),@$(MAKE) --no-print-directory $(BUILD_J) MODE=fuzz $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/fuzz/%))
test-fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/fuzz/%)

compose-check:
	docker-compose -f docker-compose.yml config -q

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
