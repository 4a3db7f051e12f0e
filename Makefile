# SPDX-License-Identifier: MIT
#
# bleota: one non-recursive GNU make build.
#
#   make                 libraries, build/bleota, build/bleota-peripheral
#   make test            build and run every unit and e2e test (cmocka)
#   make check           the tests under ASan+UBSan in build-asan/, layering
#                        and header self-containment checks
#   make format[-check]  clang-format over tracked C sources
#   make install         PREFIX=/usr/local DESTDIR=
#
# Object trees are per variant (O=build, O=build-asan), so a sanitizer build
# never mixes with the normal one. V=1 shows full command lines.

CC         ?= cc
AR         ?= ar
PKG_CONFIG ?= pkg-config
O          ?= build
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DOCDIR     ?= $(PREFIX)/share/doc/bleota
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CFLAGS     ?= -O2 -g
LDFLAGS    ?=

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wswitch-enum -Wformat=2 -Wvla -Wcast-align -Wredundant-decls \
	-Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif

ALL_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -I. $(WARN) $(CPPFLAGS) $(CFLAGS) -MMD -MP

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

# The release; `bleota --version` adds the git commit when built from a
# checkout. debian/changelog carries the same number (make deb checks).
RELEASE := 0.4.0
GIT_DESCRIBE := $(shell git describe --always --dirty 2>/dev/null)

# Host-side dependencies, resolved lazily so protocol/ builds with none.
GIO_CFLAGS    = $(shell $(PKG_CONFIG) --cflags gio-2.0 gio-unix-2.0)
GIO_LIBS      = $(shell $(PKG_CONFIG) --libs gio-2.0 gio-unix-2.0)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka)
CRYPTO_LIBS   = -lmbedcrypto -lnettle
DIVSUFSORT_LIBS = -ldivsufsort
# The gateway (bleota serve) and its downloads: libsoup, json-glib, libcurl.
WEB_CFLAGS    = $(shell $(PKG_CONFIG) --cflags libsoup-3.0 json-glib-1.0 libcurl)
WEB_LIBS      = $(shell $(PKG_CONFIG) --libs libsoup-3.0 json-glib-1.0 libcurl)

# ---------------------------------------------------------------------------
# Sources. Every directory is picked up by wildcard; main.c files are the
# only ones kept out of the libraries.

COMMON_SRCS  := $(wildcard common/*.c)
PROTO_SRCS   := $(wildcard protocol/*.c)
ENGINE_SRCS  := $(wildcard ota_engine/*.c)
HOST_SRCS    := $(wildcard host/*.c)
CENTRAL_SRCS := $(filter-out %/main.c,$(wildcard central/*.c))
PERIPH_SRCS  := $(filter-out %/main.c,$(wildcard peripheral/*.c))
HARNESS_SRCS := $(wildcard tests/harness/*.c)
TEST_SRCS    := $(wildcard tests/unit/test_*.c tests/e2e/test_*.c)

COMMON_OBJS  := $(COMMON_SRCS:%.c=$(O)/%.o)
PROTO_OBJS   := $(PROTO_SRCS:%.c=$(O)/%.o)
ENGINE_OBJS  := $(ENGINE_SRCS:%.c=$(O)/%.o)
HOST_OBJS    := $(HOST_SRCS:%.c=$(O)/%.o)
CENTRAL_OBJS := $(CENTRAL_SRCS:%.c=$(O)/%.o)
PERIPH_OBJS  := $(PERIPH_SRCS:%.c=$(O)/%.o)
HARNESS_OBJS := $(HARNESS_SRCS:%.c=$(O)/%.o)
TEST_OBJS    := $(TEST_SRCS:%.c=$(O)/%.o)
TEST_BINS    := $(patsubst %.c,$(O)/tests/%,$(notdir $(TEST_SRCS)))

LIB_COMMON   := $(O)/libbleota-common.a
LIB_PROTO    := $(O)/libbleota-proto.a
LIB_ENGINE   := $(O)/libbleota-engine.a
LIB_HOST     := $(O)/libbleota-host.a
LIB_CENTRAL  := $(O)/libbleota-central.a
LIB_PERIPH   := $(O)/libbleota-peripheral.a

BINS :=
ifneq ($(wildcard central/main.c),)
BINS += $(O)/bleota
endif
ifneq ($(wildcard peripheral/main.c),)
BINS += $(O)/bleota-peripheral
endif

ALL_OBJS := $(COMMON_OBJS) $(PROTO_OBJS) $(ENGINE_OBJS) $(HOST_OBJS) $(CENTRAL_OBJS) \
	$(PERIPH_OBJS) $(HARNESS_OBJS) \
	$(TEST_OBJS) $(O)/central/main.o $(O)/peripheral/main.o

.PHONY: all test test-web check check-layering check-headers format format-check \
	install uninstall clean deps
.DEFAULT_GOAL := all

all: $(LIB_COMMON) $(LIB_PROTO) $(LIB_ENGINE) $(BINS)

# ---------------------------------------------------------------------------
# Compilation. Host code gets GLib's flags; protocol/ and ota_engine/ get
# nothing beyond libc (enforced again by check-layering). common/ is what
# both of those share (CRC-32, byte order): libc core only.

$(O)/common/%.o: common/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/protocol/%.o: protocol/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/ota_engine/%.o: ota_engine/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/host/%.o $(O)/central/%.o $(O)/peripheral/%.o: HOST_FLAGS = $(GIO_CFLAGS)
# Only the gateway's objects, programs and tests see the web libraries.
WEB_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard central/serve*.c)) \
	$(O)/host/http_fetch.o
WEB_TESTS := $(O)/tests/test_fetch $(O)/tests/test_serve \
	$(O)/tests/test_serve_config $(O)/tests/tools/fileserver
$(WEB_OBJS): HOST_FLAGS = $(GIO_CFLAGS) $(WEB_CFLAGS)
$(WEB_TESTS:$(O)/tests/%=$(O)/tests/e2e/%.o) \
$(WEB_TESTS:$(O)/tests/%=$(O)/tests/unit/%.o) \
$(O)/tests/tools/fileserver.o: CMOCKA_CFLAGS += $(WEB_CFLAGS)
$(O)/bleota $(WEB_TESTS): SYS_LIBS += $(WEB_LIBS)

$(O)/host/%.o: host/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(HOST_FLAGS) -c -o $@ $<

$(O)/central/%.o: central/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(HOST_FLAGS) -c -o $@ $<

$(O)/peripheral/%.o: peripheral/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(HOST_FLAGS) -c -o $@ $<

$(O)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(GIO_CFLAGS) $(CMOCKA_CFLAGS) -c -o $@ $<

$(LIB_COMMON): $(COMMON_OBJS)
$(LIB_PROTO): $(PROTO_OBJS)
$(LIB_ENGINE): $(ENGINE_OBJS)
$(LIB_HOST): $(HOST_OBJS)
$(LIB_CENTRAL): $(CENTRAL_OBJS)
$(LIB_PERIPH): $(PERIPH_OBJS)
# version.h is rewritten only when its text changes, so a new commit
# rebuilds the two main.o files and nothing else.
.PHONY: FORCE
$(O)/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define BLEOTA_VERSION "%s"\n#define BLEOTA_GIT "%s"\n' \
		'$(RELEASE)' '$(GIT_DESCRIBE)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
$(O)/central/main.o $(O)/peripheral/main.o: $(O)/version.h
$(O)/central/main.o $(O)/peripheral/main.o: ALL_CFLAGS += -I$(O)

# The gateway's page (web/) is compiled into the program as a GResource, so
# an installed `bleota serve` needs no data directory.
WEB_FILES := $(wildcard web/*.html web/*.css web/*.js web/*.svg)
$(O)/web/resources.c: web/bleota.gresource.xml $(WEB_FILES)
	@mkdir -p $(@D)
	$(call say,GEN,$@)glib-compile-resources --sourcedir=web \
		--generate-source --c-name bleota_web --target=$@ $<
$(O)/web/resources.o: $(O)/web/resources.c
	$(call say,CC,$@)$(CC) $(CFLAGS) $(GIO_CFLAGS) -w -c -o $@ $<
$(LIB_CENTRAL): $(O)/web/resources.o

$(LIB_COMMON) $(LIB_PROTO) $(LIB_ENGINE) $(LIB_HOST) $(LIB_CENTRAL) \
		$(LIB_PERIPH):
	@mkdir -p $(@D)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

# Each program links its own folder plus the shared layers; the tests link
# both leaves (they drive both programs' code).
BASE_LIBS = $(LIB_HOST) $(LIB_ENGINE) $(LIB_PROTO) $(LIB_COMMON)
LINK_LIBS = $(LIB_CENTRAL) $(LIB_PERIPH) $(BASE_LIBS)
SYS_LIBS  = $(GIO_LIBS) $(CRYPTO_LIBS) $(DIVSUFSORT_LIBS)

$(O)/bleota: $(O)/central/main.o $(LIB_CENTRAL) $(BASE_LIBS)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SYS_LIBS)

$(O)/bleota-peripheral: $(O)/peripheral/main.o $(LIB_PERIPH) $(BASE_LIBS)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SYS_LIBS)

# Each tests/{unit,e2e}/test_X.c becomes $(O)/tests/test_X, linked with the
# shared harness and every library.
define test_rule
$(O)/tests/$(basename $(notdir $(1))): $(O)/$(1:.c=.o) $(HARNESS_OBJS) $(LINK_LIBS) | $(BINS)
	$$(call say,LD,$$@)$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ \
		$$(CMOCKA_LIBS) $$(SYS_LIBS)
endef
$(foreach t,$(TEST_SRCS),$(eval $(call test_rule,$(t))))

# --- tests/tools programs (added with the OTA engine) -----------------------
# Each tests/tools/X.c becomes $(O)/tests/tools/X (e.g. mkimage, the test
# image builder CLI), linked with the harness and every library.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst %.c,$(O)/%,$(TOOL_SRCS))
ALL_OBJS  += $(TOOL_SRCS:%.c=$(O)/%.o)
.SECONDARY: $(TOOL_SRCS:%.c=$(O)/%.o)

$(O)/tests/tools/%: $(O)/tests/tools/%.o $(HARNESS_OBJS) $(LINK_LIBS)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ \
		$(CMOCKA_LIBS) $(SYS_LIBS)

all: $(TOOL_BINS)
tests-run: $(TOOL_BINS)
# --- end of tests/tools block -------------------------------------------------

# ---------------------------------------------------------------------------
# Tests. `make test` installs missing Debian packages first (README).

deps:
	@tests/tools/ensure-deps.sh

test: deps
	@$(MAKE) --no-print-directory tests-run

.PHONY: tests-run
tests-run: $(TEST_BINS) $(BINS)
	@BLEOTA_BUILD=$(O) tests/tools/run-tests.sh $(TEST_BINS)

# Soak: SOAK_COUNT pushes with loss, corruption, client and device kills
# and power cuts mixed (tests/tools/soak.c); SOAK_SEED replays a run.
SOAK_COUNT ?= 100
.PHONY: soak
soak: deps
	@$(MAKE) --no-print-directory all $(O)/tests/tools/soak
	@BLEOTA_BUILD=$(O) SOAK_COUNT=$(SOAK_COUNT) $(O)/tests/tools/soak

# The gateway's page in a real browser (Debian's chromium, headless, over
# the DevTools protocol from Debian's python3-websocket): tests/web/.
.PHONY: test-web
test-web: deps
	@tests/tools/ensure-deps.sh chromium python3-websocket
	@$(MAKE) --no-print-directory $(O)/bleota $(O)/bleota-peripheral \
		$(O)/tests/tools/mkimage
	@/usr/bin/python3 tests/web/test_web.py $(O)

# The README's first command: a push to a simulated device on a local socket.
.PHONY: demo
demo: deps
	@$(MAKE) --no-print-directory all $(O)/tests/tools/mkimage
	@tests/tools/demo.sh $(O)

check: deps
	@$(MAKE) --no-print-directory O=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" tests-run
	@$(MAKE) --no-print-directory check-layering check-headers

# protocol/ and ota_engine/ are the portable device side: libc only.
# common/ sits under both: libc core headers and itself, nothing else.
check-layering:
	@bad=$$(grep -h -o '#include *<[^>]*>' common/*.[ch] | \
		sed 's/.*<\(.*\)>/\1/' | sort -u | \
		grep -v -E '^(stdint|stddef|stdbool|string|limits)\.h$$'); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: common/ includes non-core headers: $$bad"; \
		exit 1; fi
	@bad=$$(grep -H -E '#include *"' common/*.[ch] common/*.inc | \
		grep -v -E '#include *"common/'); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: common/ includes something outside common/: $$bad"; \
		exit 1; fi
	@bad=$$(grep -h -o '#include *<[^>]*>' protocol/*.[ch] | \
		sed 's/.*<\(.*\)>/\1/' | sort -u | \
		grep -v -E '^(stdint|stddef|stdbool|string|errno|limits|assert)\.h$$'); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: protocol/ includes non-core headers: $$bad"; \
		exit 1; fi
	@bad=$$(grep -l -E '#include *"(host|central|peripheral)/' \
		protocol/*.[ch] ota_engine/*.[ch] 2>/dev/null); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: device code includes host code: $$bad"; \
		exit 1; fi
	@bad=$$(grep -l -E '#include *"(central|peripheral)/' \
		host/*.[ch] 2>/dev/null); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: host/ includes a program's code: $$bad"; \
		exit 1; fi
	@bad=$$(grep -l -E '#include *"peripheral/' central/*.[ch] 2>/dev/null; \
		grep -l -E '#include *"central/' peripheral/*.[ch] 2>/dev/null); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: central/ and peripheral/ are leaves and never include each other: $$bad"; \
		exit 1; fi
	@bad=$$(grep -l -E '#include *"ota_engine/' protocol/*.[ch] 2>/dev/null); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: protocol/ depends on ota_engine/: $$bad"; \
		exit 1; fi
	@bad=$$(grep -l -E '#include *"protocol/' ota_engine/*.[ch] 2>/dev/null | \
		grep -v -E '^ota_engine/engine_sink\.[ch]$$'); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: only ota_engine/engine_sink.[ch] (the receiver adapter) may use protocol/: $$bad"; \
		exit 1; fi
	@bad=$$(grep -l -E '(\b|sn|vsn|s)(malloc|calloc|realloc|free|printf|fprintf|fopen|g_[a-z_]+)\(|include *<stdio\.h>' \
		common/*.c protocol/*.c $$(ls ota_engine/*.c 2>/dev/null | \
		grep -v -E 'flash_file|_text|_linux|_posix|_mbedtls') 2>/dev/null); \
	if [ -n "$$bad" ]; then \
		echo "check-layering: device code allocates or prints: $$bad"; \
		exit 1; fi
	@echo "check-layering: ok"

check-headers:
	@mkdir -p $(O)/check-headers
	@for h in $$(git ls-files '*.h' 2>/dev/null || ls */*.h); do \
		printf '#include "%s"\n' "$$h" > $(O)/check-headers/t.c; \
		$(CC) -std=c11 -D_DEFAULT_SOURCE -I. $(WARN) $(GIO_CFLAGS) \
			-fsyntax-only $(O)/check-headers/t.c || \
			{ echo "check-headers: $$h does not compile alone"; exit 1; }; \
	done
	@echo "check-headers: ok"

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

# ---------------------------------------------------------------------------
# Benchmarks and device footprint (issue 6; additive block).
#
#   make bench   bleota over the BLE link model vs the anchor protocol models
#                (tests/bench/bench_model.c), loopback throughput over a
#                SEQPACKET socketpair (bench_loopback.c), bleota serve
#                bringing 8 devices to a new version (bench_serve.c,
#                --jobs 1/2/4/8 at 150 KiB/s), receiver CPU cost
#                per payload byte under callgrind (bench_rxcost.c), delta
#                patch sizes for a corpus of Cortex-M4 firmware builds
#                (bench-delta.sh, bench_delta.c; alone: make bench-delta)
#   make size    protocol/ (+ ota_engine/ when present), receiver side, for
#                Cortex-M4 at -Os with arm-none-eabi-gcc: sections, contexts

BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_OBJS := $(BENCH_SRCS:%.c=$(O)/%.o)
BENCH_BINS := $(patsubst %.c,$(O)/tests/%,$(notdir $(BENCH_SRCS)))

define bench_rule
$(O)/tests/$(basename $(notdir $(1))): $(O)/$(1:.c=.o) $(HARNESS_OBJS) $(LINK_LIBS)
	$$(call say,LD,$$@)$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ \
		$$(CMOCKA_LIBS) $$(SYS_LIBS)
endef
$(foreach b,$(BENCH_SRCS),$(eval $(call bench_rule,$(b))))

.PHONY: bench bench-build bench-plots bench-delta size
bench-build: $(BENCH_BINS)

# The pictures (gnuplot, SVG): into $(O)/plots by default; PLOTS=docs/img
# refreshes the copies docs/performance.md shows.
PLOTS ?= $(O)/plots
bench-plots: $(O)/tests/bench_sweep
	@tests/tools/ensure-deps.sh gnuplot-nox
	@tests/tools/bench-plots.sh $(O) $(PLOTS)

bench: $(BENCH_BINS)
	@tests/tools/ensure-deps.sh valgrind
	@$(O)/tests/bench_model
	@echo
	@$(MAKE) --no-print-directory all
	@BLEOTA_BUILD=$(O) $(O)/tests/bench_loopback
	@echo
	@$(MAKE) --no-print-directory $(O)/tests/tools/mkimage
	@BLEOTA_BUILD=$(O) $(O)/tests/bench_serve
	@echo
	@tests/tools/bench-rxcost.sh $(O)/tests/bench_rxcost
	@echo
	@$(MAKE) --no-print-directory bench-plots
	@echo
	@tests/tools/ensure-deps.sh gcc-arm-none-eabi libnewlib-arm-none-eabi \
		ca-certificates
	@tests/tools/bench-delta.sh $(O)

# The delta part alone (docs/performance.md §3.5): the corpus of version
# pairs built for Cortex-M4, patch sizes, link-model times, decoder cost.
bench-delta: $(O)/tests/bench_delta
	@tests/tools/ensure-deps.sh valgrind gcc-arm-none-eabi \
		libnewlib-arm-none-eabi ca-certificates
	@tests/tools/bench-delta.sh $(O)

size:
	@tests/tools/ensure-deps.sh gcc-arm-none-eabi libnewlib-arm-none-eabi
	@O=$(O) tests/tools/size.sh

-include $(BENCH_OBJS:.o=.d)

# ---------------------------------------------------------------------------
# Fuzzing (issue 7; additive block). docs/testing.md "Fuzzing".
#
#   make fuzz        clang libFuzzer targets under ASan+UBSan in build-fuzz/:
#                    every tests/fuzz/fuzz_*.c becomes build-fuzz/fuzz/fuzz_*,
#                    and tests/fuzz/gen_seeds writes the seed corpora to
#                    build-fuzz/corpus/<target>/ from the test vectors
#   make fuzz-smoke  each target for FUZZ_SECONDS (60) on its corpus; any
#                    crash, leak, UB or timeout fails, the input is kept in
#                    build-fuzz/crashes/<target>/
#
# The fuzz tree reuses the compile rules above with O=build-fuzz, CC=clang.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(basename $(notdir $(FUZZ_SRCS)))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(O)/fuzz/%)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_DEPS    := $(O)/host/partcsv.o $(O)/tests/harness/esp_image_build.o \
	$(LIB_ENGINE) $(LIB_PROTO) $(LIB_COMMON)
ALL_OBJS     += $(FUZZ_SRCS:%.c=$(O)/%.o) $(O)/tests/fuzz/gen_seeds.o
.SECONDARY: $(FUZZ_SRCS:%.c=$(O)/%.o) $(O)/tests/fuzz/gen_seeds.o

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz:
	@tests/tools/ensure-deps.sh clang libclang-rt-dev
	@$(MAKE) --no-print-directory O=build-fuzz CC=$(FUZZ_CC) \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
		LDFLAGS="$(FUZZ_SAN)" fuzz-build

# The seed generator is an ordinary program (no libFuzzer main).
fuzz-build: $(FUZZ_BINS) $(O)/fuzz/gen_seeds
	@rm -rf $(O)/corpus
	$(call say,GEN,$(O)/corpus)$(O)/fuzz/gen_seeds $(O)/corpus $(FUZZ_NAMES)

$(O)/fuzz/fuzz_%: $(O)/tests/fuzz/fuzz_%.o $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ \
		$(CRYPTO_LIBS)

$(O)/fuzz/gen_seeds: $(O)/tests/fuzz/gen_seeds.o $(O)/tests/harness/sigkeys.o \
		$(O)/host/imgsign.o $(O)/host/delta_diff.o \
		$(O)/host/heatshrink_enc.o $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CRYPTO_LIBS) \
		$(DIVSUFSORT_LIBS)

fuzz-smoke: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/tools/fuzz-smoke.sh build-fuzz
# --- end of fuzzing block ---------------------------------------------------

# ---------------------------------------------------------------------------
# Manual pages: docs/NAME.S.md is the one source (GitHub shows it, pandoc
# turns it into roff), so the Markdown and the man page cannot drift.
# `make check-man` builds them and fails on any groff warning.

MAN_SRCS  := $(wildcard docs/*.[1-8].md)
MAN_PAGES := $(patsubst docs/%.md,$(O)/man/%,$(MAN_SRCS))
PANDOC    ?= pandoc

.PHONY: man check-man
man: $(MAN_PAGES)

$(O)/man/%: docs/%.md dist/man/deflist.lua
	@mkdir -p $(@D)
	@command -v $(PANDOC) >/dev/null || tests/tools/ensure-deps.sh pandoc
	$(call say,MAN,$@)$(PANDOC) -s -f markdown -t man --columns=1000 \
		--lua-filter=dist/man/deflist.lua \
		--shift-heading-level-by=-1 \
		-M section=$(subst .,,$(suffix $*)) -M footer='bleota $(RELEASE)' \
		-M header='bleota manual' -M date='$(RELEASE)' -o $@ $<

check-man: $(MAN_PAGES)
	@for m in $(MAN_PAGES); do \
		w=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l $$m \
			2>&1 >/dev/null); \
		if [ -n "$$w" ]; then echo "check-man: $$m:"; echo "$$w"; exit 1; fi; \
	done
	@echo "check-man: ok ($(notdir $(MAN_PAGES)))"

# ---------------------------------------------------------------------------
# Installation: programs, manual pages, bash completion, systemd units, the
# device-side libraries with headers and a .pc file, the docs.

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/bleota/protocol \
		$(DESTDIR)$(INCLUDEDIR)/bleota/common
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(BINDIR))
	install -m 644 $(LIB_COMMON) $(LIB_PROTO) $(LIB_ENGINE) $(DESTDIR)$(LIBDIR)
	install -m 644 common/*.h $(DESTDIR)$(INCLUDEDIR)/bleota/common
	install -m 644 protocol/*.h $(DESTDIR)$(INCLUDEDIR)/bleota/protocol
	install -d $(DESTDIR)$(INCLUDEDIR)/bleota/ota_engine
	install -m 644 $(filter-out %_priv.h,$(wildcard ota_engine/*.h)) \
		$(DESTDIR)$(INCLUDEDIR)/bleota/ota_engine
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(DOCDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(RELEASE)|' bleota.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/bleota.pc
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -d $(DESTDIR)$(DATADIR)/bash-completion/completions
	install -m 644 dist/bash-completion/bleota \
		dist/bash-completion/bleota-peripheral \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for u in bleota-peripheral@.service bleota-serve.service; do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' dist/systemd/$$u.in \
			> $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BINS)))
	rm -f $(DESTDIR)$(LIBDIR)/libbleota-proto.a $(DESTDIR)$(LIBDIR)/libbleota-engine.a \
		$(DESTDIR)$(LIBDIR)/libbleota-common.a
	rm -rf $(DESTDIR)$(INCLUDEDIR)/bleota $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/bleota.pc
	rm -f $(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/bleota \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/bleota-peripheral
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/bleota-peripheral@.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/bleota-serve.service

clean:
	rm -rf build build-*

# ---------------------------------------------------------------------------
# Debian package (debian/): `make deb` builds bleota_VERSION_ARCH.deb and
# libbleota-dev from the tracked files, in $(O)/deb/ (dpkg-buildpackage
# writes next to the source tree, so the tree is copied there first), and
# runs lintian on the result. `make test-install` installs the packages on
# this machine and checks them as a user would (tests/tools/test-install.sh).

DEB_DIR := $(O)/deb
DEB_SRC := $(DEB_DIR)/bleota-$(RELEASE)

.PHONY: deb test-install
deb:
	@tests/tools/ensure-deps.sh debhelper dpkg-dev fakeroot lintian pandoc
	@changelog=$$(dpkg-parsechangelog -S Version); \
	if [ "$$changelog" != "$(RELEASE)" ]; then \
		echo "deb: debian/changelog says $$changelog, the Makefile's RELEASE $(RELEASE)"; \
		exit 1; fi
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	@git ls-files -z | xargs -0 cp --parents -t $(DEB_SRC)
	@cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -40 ../build.log; echo "deb: dpkg-buildpackage failed: $(DEB_DIR)/build.log"; exit 1; }
	@ls $(DEB_DIR)/*.deb
	@echo "lintian (errors fail the build; warnings and notes are printed):"
	@lintian --fail-on error --info --display-info $(DEB_DIR)/*.changes; \
		rc=$$?; [ $$rc = 0 ] && echo "lintian: no errors"; exit $$rc

test-install: deb
	@tests/tools/test-install.sh $(DEB_DIR) $(O)

# ---------------------------------------------------------------------------
# HCI emulation (tests/hci/, docs/testing-hci.md). Not part of `make test`;
# .ci/run runs it with HCI_RETRIES=1. Boots a qemu VM with a real kernel
# Bluetooth stack, btvirt and bluetoothd per scenario; needs root for apt on
# the first run.
#
#   make test-hci                   every tests/hci/*.sh with "# HCI-SCENARIO:"
#   make test-hci HCI_SCENARIOS=tests/hci/smoke.sh
#   make hci-setup                  only install/fetch/build the VM

# Empty: run-scenarios.sh picks them (smoke.sh first).
HCI_SCENARIOS ?=

.PHONY: test-hci hci-setup
hci-setup:
	@tests/hci/setup.sh

# The guest runs the host's binaries, so build them first.
test-hci: deps
	@$(MAKE) --no-print-directory all
	@tests/hci/run-scenarios.sh $(HCI_SCENARIOS)
# --- end of HCI emulation ---------------------------------------------------

-include $(ALL_OBJS:.o=.d)
