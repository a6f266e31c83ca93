# libFuzzer harnesses (fuzz/, clang from Debian; CONTRIBUTING.md, section 6):
#   make fuzz      builds them in build-fuzz/ (the core, the plugins and the
#                  test kit instrumented for the fuzzer, ASan + UBSan)
#   make fuzz-ci   runs each for FUZZ_SECONDS on its seed corpus (fuzz/corpus/),
#                  two at a time; fails on any crash, leak or undefined behaviour
FUZZ_BUILD   := build-fuzz
FUZZ_CC      := clang
FUZZ_PLUGINS := helius jupiter dexscreener
FUZZ_BIN     := $(FUZZ_PLUGINS:%=$(FUZZ_BUILD)/fuzz/plugin_%) $(FUZZ_BUILD)/fuzz/config $(FUZZ_BUILD)/fuzz/import \
                $(FUZZ_BUILD)/fuzz/api
FUZZ_SECONDS ?= 20
FUZZ_FLAGS   := $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -Iinclude -Icore $(PKG_CFLAGS)

.PHONY: fuzz fuzz-ci fuzz-libs
fuzz-libs:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SANITIZE=1 CFLAGS=-fsanitize=fuzzer-no-link \
		$(FUZZ_BUILD)/libtccore.a $(FUZZ_PLUGINS:%=$(FUZZ_BUILD)/plugins/%.so) $(FUZZ_BUILD)/libtokencollector-testkit.a

fuzz: fuzz-libs
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

fuzz-ci: fuzz
	@bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Each bundled plugin's parse_response, loaded by the test kit.
$(FUZZ_BUILD)/fuzz/plugin_%: fuzz/fuzz_plugin.c $(FUZZ_BUILD)/libtokencollector-testkit.a $(FUZZ_BUILD)/plugins/%.so
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -DFUZZ_PLUGIN='"$(abspath $(FUZZ_BUILD))/plugins/$*.so"' \
		-DFUZZ_SETTINGS='"api_key = fuzz-key\nbase_url = http://127.0.0.1:9\n"' -o $@ $< \
		$(FUZZ_BUILD)/libtokencollector-testkit.a -ldl

# The host's parsers, linked with the instrumented core.
$(FUZZ_BUILD)/fuzz/%: fuzz/fuzz_%.c $(FUZZ_BUILD)/libtccore.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_BUILD)/libtccore.a $(CORE_LIBS)
