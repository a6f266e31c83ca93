# tokencollector — plain Makefile, dependencies through pkg-config.
#   make            build the host, the plugins, the fake upstream and the test tools
#   make demo       install missing packages, build, run the 15,371-token demo
#   make check      unit tests (cmocka) + end-to-end tests
#   make docs       regenerate the configuration tables in the READMEs
#   make asan-check unit tests and the reload e2e under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      the benchmark (bench/)
#   make fuzz       libFuzzer harnesses (fuzz/); make fuzz-ci runs them bounded (CI)
#   make install    the host, its plugins, the plugin SDK and test kit, man pages,
#                   config and systemd unit (PREFIX, DESTDIR, bindir, ...: dist/install.mk)
#   make uninstall  removes what make install put there

BUILD    ?= build
CC       ?= cc
PKGS     := libcurl libcjson sqlite3 libpq libmicrohttpd zlib libsystemd
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror
OPT      ?= -O2 -g
SAN      :=
ifeq ($(SANITIZE),1)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1 -g
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) cmocka 2>/dev/null)
CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -Icore $(PKG_CFLAGS) $(CFLAGS)
CORE_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lm -lpthread

CORE_SRC   := $(filter-out core/main.c,$(wildcard core/*.c))
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
PLUGINS    := $(notdir $(wildcard plugins/*))
PLUGIN_SO  := $(PLUGINS:%=$(BUILD)/plugins/%.so)
FAKE_SRC   := $(wildcard tests/fakeapi/*.c)
FAKE_OBJ   := $(FAKE_SRC:%.c=$(BUILD)/obj/%.o)
# The data and renderers (checkers); with the server too (in-process tests).
FAKE_DATA_OBJ := $(BUILD)/obj/tests/fakeapi/fake_data.o $(BUILD)/obj/tests/fakeapi/fake_render.o
FAKE_LIB_OBJ  := $(filter-out %/fakeapi.o,$(FAKE_OBJ))
FAKE_LIBS     := $(shell pkg-config --libs libmicrohttpd libcjson 2>/dev/null) -lm -lpthread
KIT_SRC    := $(wildcard testkit/*.c)
KIT_OBJ    := $(KIT_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/testkit/json_arena.o
KIT_LIB    := $(BUILD)/libtokencollector-testkit.a
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
PTEST_SRC  := $(wildcard plugins/*/test/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%) $(addprefix $(BUILD)/tests/,$(basename $(notdir $(PTEST_SRC))))
UNIT_HELP  := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_HOBJ  := $(UNIT_HELP:%.c=$(BUILD)/obj/%.o)
TPLUG_SRC  := $(wildcard tests/plugins/*.c)
TPLUG_SO   := $(TPLUG_SRC:tests/plugins/%.c=$(BUILD)/test-plugins/%.so) $(BUILD)/test-plugins/dexscreener-next.so
TOOL_SRC   := $(wildcard tests/e2e/*.c)
TOOL_BIN   := $(TOOL_SRC:tests/e2e/%.c=$(BUILD)/tools/%)
BENCH_STORE := $(BUILD)/bench/store_write_bench
BENCH_API  := $(BUILD)/bench/api_bench

.SECONDARY:
.PHONY: bench-cpu all clean check unit e2e demo bench bench-store asan-check deps docs docs-check
all: $(BUILD)/tokencollector $(PLUGIN_SO) $(KIT_LIB) $(BUILD)/fakeapi $(UNIT_BIN) $(TOOL_BIN) $(TPLUG_SO) $(BENCH_STORE) \
	$(BENCH_API)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The status page is built into the binary (.incbin in core/api_ops.c).
$(BUILD)/obj/core/api_ops.o: $(wildcard web/*)

$(BUILD)/obj/plugins/%.o: plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

# docs/openapi.json is built into the binary (.incbin in core/api_openapi.c).
$(BUILD)/obj/core/api_openapi.o: docs/openapi.json

# The plugin test kit (testkit/, installed with the SDK): libc and libdl only.
$(BUILD)/obj/testkit/%.o: testkit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -Icore $(CFLAGS) -MMD -MP -c $< -o $@

# The host's cJSON arena, so that the kit parses as the host does (no cJSON
# in it: kit_load.c hands its hooks to the plugin's own libcjson).
$(BUILD)/obj/testkit/json_arena.o: core/json_arena.c core/json_arena.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) -Icore $(CFLAGS) -MMD -MP -c $< -o $@

$(KIT_LIB): $(KIT_OBJ)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(BUILD)/libtccore.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(BUILD)/tokencollector: $(BUILD)/obj/core/main.o $(BUILD)/libtccore.a
	$(CC) $(SAN) -rdynamic -o $@ $^ $(CORE_LIBS)

# Each plugins/NAME/ directory builds one NAME.so from all of its .c files.
.SECONDEXPANSION:
$(BUILD)/plugins/%.so: $$(addprefix $(BUILD)/obj/,$$(subst .c,.o,$$(wildcard plugins/$$*/*.c)))
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -shared -o $@ $^ $(shell pkg-config --libs libcjson) -lm

# Deliberately broken or instrumented plugins for the registry tests.
$(BUILD)/test-plugins/%.so: tests/plugins/%.c tests/plugins/inert.h include/tokencollector/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -shared -o $@ $<

# A test plugin that links libcjson (the kit's arena test, test_kit_arena.c).
$(BUILD)/test-plugins/json_free.so: tests/plugins/json_free.c tests/plugins/inert.h include/tokencollector/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -shared -o $@ $< $(shell pkg-config --libs libcjson)

# The same DexScreener plugin under another version string: the hot-swap
# test installs it over a running collector's dexscreener.so.
$(BUILD)/test-plugins/dexscreener-next.so: plugins/dexscreener/dexscreener.c include/tokencollector/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -DDEX_VERSION='"1.0.1-next"' -shared -o $@ $< $(shell pkg-config --libs libcjson) -lm

$(BUILD)/fakeapi: $(FAKE_OBJ)
	$(CC) $(SAN) -o $@ $^ $(FAKE_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_HOBJ) $(KIT_LIB) $(BUILD)/libtccore.a $(FAKE_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -rdynamic -o $@ $^ $(shell pkg-config --libs cmocka) $(CORE_LIBS) $(FAKE_LIBS)

# A plugin's own test, plugins/NAME/test/test_NAME.c, as a third party builds
# it: the test kit and nothing else (no cmocka), its fixtures in that test/
# directory; run from the repository root by tests/run-unit.sh.
$(BUILD)/tests/test_%: plugins/$$*/test/test_$$*.c $(KIT_LIB) include/tokencollector/testkit.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -DFIXTURES='"plugins/$*/test"' $(CFLAGS) -o $@ $< $(KIT_LIB) -ldl

$(BUILD)/tools/%: $(BUILD)/obj/tests/e2e/%.o $(BUILD)/libtccore.a $(FAKE_DATA_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)

# Store write throughput, SQLite and PostgreSQL (bench/store_write.sh runs it).
$(BENCH_STORE): $(BUILD)/obj/bench/store_write_bench.o $(BUILD)/libtccore.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)

# The HTTP API's handlers timed without the server (bench/api.sh runs it);
# it fills its store with the unit tests' fixture.
$(BUILD)/obj/bench/api_bench.o: CFLAGS += -Itests/unit
$(BENCH_API): $(BUILD)/obj/bench/api_bench.o $(BUILD)/obj/tests/unit/api_check.o $(BUILD)/obj/tests/unit/api_fixture.o \
		$(BUILD)/libtccore.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(CORE_LIBS)

deps:
	@sh tests/install-deps.sh

# The configuration tables of README.md and plugins/*/README.md, printed by
# the binary from the config map and each plugin's settings.
docs: $(BUILD)/tokencollector $(PLUGIN_SO)
	@bash tests/doc-tables.sh $(BUILD)

docs-check: $(BUILD)/tokencollector $(PLUGIN_SO)
	@bash tests/doc-tables.sh $(BUILD) --check && echo "docs: configuration tables are current"

unit: $(UNIT_BIN) $(PLUGIN_SO) $(TPLUG_SO)
	@sh tests/run-unit.sh $(BUILD)

e2e: all
	@bash tests/e2e/run.sh $(BUILD)
	@bash tests/e2e/pg.sh $(BUILD)
	@bash tests/e2e/cluster.sh $(BUILD)
	@bash tests/e2e/faults.sh $(BUILD)
	@bash tests/e2e/hardening.sh $(BUILD)
	@bash tests/e2e/daemon.sh $(BUILD)
	@bash tests/e2e/fresh.sh $(BUILD)
	@bash tests/e2e/reload.sh $(BUILD)
	@bash tests/e2e/api.sh $(BUILD)
	@bash tests/e2e/api_tokens.sh $(BUILD)
	@bash tests/e2e/logs.sh $(BUILD)
	@bash tests/e2e/ops.sh $(BUILD)
	@bash tests/e2e/page.sh $(BUILD)
	@bash tests/e2e/inflight.sh $(BUILD)
	@bash tests/e2e/sdk.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory docs-check
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e

# The unit tests and the live-reload storm under ASan + UBSan (+ LeakSanitizer).
asan-check: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 all
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 unit
	@bash tests/e2e/reload.sh build-asan

demo: deps
	@$(MAKE) --no-print-directory all
	@bash tests/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@bash bench/run.sh $(BUILD)

# The store write benchmark alone (also part of bench/run.sh).
bench-store: deps
	@$(MAKE) --no-print-directory $(BENCH_STORE)
	@bash bench/store_write.sh $(BUILD)

# CPU per token against the baseline build (also part of bench/run.sh).
bench-cpu: deps
	@$(MAKE) --no-print-directory all
	@bash bench/cpu.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

include dist/install.mk
include fuzz/fuzz.mk

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
