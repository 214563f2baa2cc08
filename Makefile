# One entry point for building, testing, benchmarking and installing.
#
#   make              build every library and program under build/
#   make test         unit tests, the sanitizer build of the unit tests,
#                     then the integration tests (real containers)
#   make unit         unit tests only          make integration   integration only
#   make san          unit tests under ASan + UBSan (objects in build-san/)
#   make fuzz         the protocol decoders under libFuzzer for a minute
#   make bench        side-by-side benchmarks against the peers
#   make install PREFIX=/usr/local
#   make deps         install the Debian packages the build and tests need
#
# Each source folder builds into one static library; dependencies point one
# way: core <- artifacts <- container <- net <- runners.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc

# Sanitizer build: `make SAN=1 ...` builds into build-san/.
ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1
else
SANFLAGS :=
OPT     := -O2
endif

WARN    := -Wall -Wextra -Werror -Wswitch-enum -Wshadow -Wformat=2 -Wno-format-nonliteral \
           -Wmissing-prototypes -Wstrict-prototypes -Wvla
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE -I. -I$(BUILD)/gen -MMD -MP
# Spelled out rather than asked of pkg-config: on a fresh machine make reads
# this file before check-deps has installed the packages.
LDLIBS  := -lprotobuf-c -luring -lxxhash -larchive -linih -ljansson -lcurl -lcrypto
TESTLIBS := -lcmocka
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

LAYERS  := core artifacts container net runners
# Library sources: every .c below a layer folder except programs' main.c.
lib_srcs = $(filter-out %/main.c,$(shell find $(1) -name '*.c' 2>/dev/null | sort))
LIBS    := $(foreach l,$(LAYERS),$(BUILD)/lib/lib$(l).a)
# Link order: most dependent first.
LINK_LIBS := $(BUILD)/lib/librunners.a $(BUILD)/lib/libnet.a $(BUILD)/lib/libcontainer.a \
             $(BUILD)/lib/libartifacts.a $(BUILD)/lib/libcore.a

# Programs: name -> folder holding main.c (a program is built once its
# main.c exists).
ALL_PROGRAMS := maelstrom-run maelstrom-broker maelstrom-worker maelstrom-admin \
                cargo-maelstrom maelstrom-pytest
maelstrom-run_DIR    := runners/run
cargo-maelstrom_DIR  := runners/cargo
maelstrom-pytest_DIR := runners/pytest
maelstrom-broker_DIR := net/broker
maelstrom-worker_DIR := net/worker
maelstrom-admin_DIR  := runners/admin
PROGRAMS := $(foreach p,$(ALL_PROGRAMS),$(if $(wildcard $($(p)_DIR)/main.c),$(p)))

BINS    := $(addprefix $(BUILD)/bin/,$(PROGRAMS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Helper programs the tests and benchmarks run (static where they must run
# inside empty containers).
TEST_HELPERS := $(BUILD)/tests/static-true $(BUILD)/tests/fork-server-stub
# Benchmark drivers: every bench/*.c is one standalone program.
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(sort $(wildcard bench/*.c)))

.PHONY: all build test unit san integration bench install deps clean check-deps example fuzz fuzz-smoke
# Dependencies first, then the build proper (also under -j).
all: check-deps
	@$(MAKE) --no-print-directory build

build: $(BINS) $(UNIT_BINS) $(TEST_HELPERS)

# Installs missing Debian packages; quick when everything is there.
check-deps:
	@bash .ci/install-deps

deps:
	bash .ci/install-deps

# The wire schema, compiled by protoc-c into $(BUILD)/gen (part of libnet).
PROTO     := net/proto/maelstrom.proto
PROTO_GEN := $(BUILD)/gen/net/proto/maelstrom.pb-c.c
PROTO_HDR := $(BUILD)/gen/net/proto/maelstrom.pb-c.h
PROTO_OBJ := $(BUILD)/obj/gen/maelstrom.pb-c.o

$(PROTO_GEN) $(PROTO_HDR) &: $(PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen $(PROTO)

# Generated code follows protoc-c's conventions, not our warning set.
$(PROTO_OBJ): $(PROTO_GEN)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(CFLAGS) $(SANFLAGS) -I$(BUILD)/gen -c $< -o $@

define lib_rule
$(BUILD)/lib/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(call lib_srcs,$(1))) $(if $(filter net,$(1)),$(PROTO_OBJ))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(if $$^,ar rcs $$@ $$^,ar rcs $$@)
endef
$(foreach l,$(LAYERS),$(eval $(call lib_rule,$(l))))

$(BUILD)/obj/%.o: %.c | $(PROTO_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

define prog_rule
$(BUILD)/bin/$(1): $(BUILD)/obj/$($(1)_DIR)/main.o $(LIBS)
	@mkdir -p $$(@D)
	$(CC) $(ALL_LDFLAGS) -o $$@ $$< $(LINK_LIBS) $(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call prog_rule,$(p))))

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS) $(TESTLIBS)

$(BUILD)/tests/static-true: tests/fixtures/static-true.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -nostartfiles -o $@ $<

# A static zygote speaking container/forkserver.h (no sanitizers: it runs
# inside containers that hold nothing else).
$(BUILD)/tests/fork-server-stub: tests/fixtures/fork-server-stub.c container/forkserver.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O2 -D_GNU_SOURCE -I. -static -o $@ $< -ljansson

# The bundled example: three jobs, each in its own container.
example: all
	$(BUILD)/bin/maelstrom-run -f tests/fixtures/example/jobs.json

unit: all
	@bash tests/unit/run-all $(BUILD)/tests $(UNIT_BINS)

san:
	$(MAKE) --no-print-directory SAN=1 unit

integration: all
	@bash tests/integration/run-all $(BUILD)

# The wire protocol's decoders under libFuzzer: `make fuzz` for a minute,
# a short smoke run as part of `make test`.
fuzz: check-deps
	@bash tests/fuzz/run 60

fuzz-smoke: check-deps
	@bash tests/fuzz/run 15

test: unit san integration fuzz-smoke

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

bench: all $(BENCH_BINS)
	@bash bench/run-all $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/maelstrom/python
	install -m 644 runners/pytest/python/*.py $(DESTDIR)$(PREFIX)/share/maelstrom/python/

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
