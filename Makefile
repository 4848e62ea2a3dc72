# lockbox — build, test, install.
#   make            build the broker and the shim (and test helpers) into $(O)
#   make deps       install every Debian package the build, tests and demo need
#                   (ARCH=arm64: and what make cross needs)
#   make check      everything this machine can test (installs deps first)
#   make cross ARCH=arm64   build for arm64, run its unit tests and fuzz corpora under qemu
#   make demo       a real container started with a secret injected, and the proof
#   make install    PREFIX=/usr/local DESTDIR=   (programs, man pages, Docker snippet, hooks.d
#                   file, systemd units, AppArmor profile, each naming PREFIX's paths)
#   make man        the man pages, from docs/man/*.scd (scdoc)
#   make deb        the Debian package (dpkg-buildpackage), in the parent directory

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
# systemd reads units from /usr/lib/systemd/system and /usr/local/lib/systemd/system; Debian 12
# packages keep theirs in /lib/systemd/system (debian/rules says so).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# Podman and CRI-O read hooks.d files from /usr/share/containers/oci/hooks.d (the
# distribution's) and /etc/containers/oci/hooks.d (the administrator's): an install elsewhere
# than /usr puts its file in the latter, still naming its own PREFIX.
HOOKSDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/share/containers/oci/hooks.d,$(SYSCONFDIR)/containers/oci/hooks.d)
APPARMORDIR ?= $(SYSCONFDIR)/apparmor.d
# AppArmor names a profile file after the program's path: usr.bin.lockbox-broker.
APPARMOR_NAME = $(subst /,.,$(patsubst /%,%,$(BINDIR))).lockbox-broker
O ?= build
CC ?= gcc
SAN ?=

# libseccomp and libcap-ng: the broker's fetcher (broker/fetch/syscall_filter.c, privsep.c);
# the shim links neither.
PKGS := libcurl jansson libsodium libseccomp libcap-ng
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wformat=2 -Wformat-security -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Werror
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fPIE
# Control-flow protection: CET on x86_64, PAC and BTI on aarch64 (make cross ARCH=arm64).
ifneq ($(filter aarch64%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
HARDEN += -mbranch-protection=standard
else
HARDEN += -fcf-protection
endif
CFLAGS ?= -O2 -g
# CPPFLAGS, CFLAGS and LDFLAGS from the environment come last (dpkg-buildflags in debian/rules).
ALL_CFLAGS := -std=gnu11 $(WARN) $(HARDEN) -D_GNU_SOURCE -Icommon -Ibroker -Ishim \
	$(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDHARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack $(LDFLAGS)

ifeq ($(SAN),1)
# Sanitizers: no _FORTIFY_SOURCE (it hides ASan's own checks), no static link.
ALL_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(ALL_CFLAGS)) -O1 -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
LDHARDEN += -fsanitize=address,undefined
SHIM_STATIC :=
else ifeq ($(SAN),fuzz)
# libFuzzer (clang only, see `make fuzz`): every object is instrumented for coverage, and the
# fuzz targets link libFuzzer's main instead of replay.c.
ALL_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(ALL_CFLAGS)) -O1 -g \
	-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDHARDEN += -fsanitize=fuzzer,address,undefined
SHIM_STATIC :=
FUZZ_DRIVER :=
else
SHIM_STATIC := -static-pie
endif

COMMON_SRCS := $(wildcard common/*.c)
BROKER_SRCS := $(filter-out broker/cmd/main.c,$(wildcard broker/*/*.c))
SHIM_SRCS := $(filter-out shim/main.c,$(wildcard shim/*.c))
UNIT_SRCS := $(wildcard tests/unit/check_*.c)

COMMON_OBJS := $(COMMON_SRCS:%.c=$(O)/%.o)
BROKER_OBJS := $(BROKER_SRCS:%.c=$(O)/%.o)
SHIM_OBJS := $(SHIM_SRCS:%.c=$(O)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_DRIVER ?= tests/fuzz/replay.c

BINS := $(O)/lockbox-broker $(O)/lockbox-shim $(O)/lbx-testapp $(O)/lbx-adversary
# What is installed (the test programs are not).
PROGS := $(O)/lockbox-broker $(O)/lockbox-shim $(O)/lockbox-runtime

.PHONY: all
all: $(BINS)

# lockbox-runtime, the Docker runtime wrapper, is the broker under another name (DESIGN §9).
all: $(O)/lockbox-runtime
$(O)/lockbox-runtime: $(O)/lockbox-broker
	ln -sf lockbox-broker $@

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(O)/liblockbox.a: $(COMMON_OBJS)
	$(AR) rcs $@ $^
$(O)/libbroker.a: $(BROKER_OBJS)
	$(AR) rcs $@ $^
$(O)/libshim.a: $(SHIM_OBJS)
	$(AR) rcs $@ $^

# Not linked with libcurl: http.c loads it (dlopen) only where a server is talked to.
$(O)/lockbox-broker: $(O)/broker/cmd/main.o $(O)/libbroker.a $(O)/liblockbox.a
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) -o $@ $^ $(filter-out -lcurl,$(PKG_LIBS))

# The shim runs in arbitrary images (busybox, distroless, scratch): static, with only the
# libraries it needs (libsodium, jansson; no libcurl).
$(O)/lockbox-shim: $(O)/shim/main.o $(O)/libshim.a $(O)/liblockbox.a
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) $(SHIM_STATIC) -o $@ $^ \
		$(shell pkg-config --libs $(if $(SHIM_STATIC),--static) libsodium jansson)

# The test application: static, so that it runs in the busybox bundles of the tests.
$(O)/lbx-testapp: tests/app/lbx-testapp.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) $(SHIM_STATIC) -o $@ $<

# The hostile process of the adversarial tests (tests/integration/6N-*.sh): static as well.
$(O)/lbx-adversary: tests/app/lbx-adversary.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) $(SHIM_STATIC) -o $@ $<

$(O)/tests/check_%: tests/unit/check_%.c $(O)/libbroker.a $(O)/libshim.a $(O)/liblockbox.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) -Itests/unit -o $@ $^ $(PKG_LIBS) \
		$(shell pkg-config --libs check)

.PHONY: unit
unit: $(UNIT_BINS)
	@tests/unit/run.sh $(UNIT_BINS)

.PHONY: unit-asan
unit-asan:
	$(MAKE) O=$(O)/asan SAN=1 unit

# Fuzz targets are libFuzzer entry points; replay.c feeds them a corpus without libFuzzer, so
# that make check replays every corpus under ASan and UBSan with gcc.
$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DRIVER) tests/fuzz/fuzz.h $(O)/libbroker.a $(O)/libshim.a $(O)/liblockbox.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) -o $@ $(filter-out %.h,$^) $(PKG_LIBS)

.PHONY: fuzz-replay fuzz-replay-asan
fuzz-replay: $(FUZZ_BINS)
	@set -e; n=0; for f in $(FUZZ_BINS); do \
		name=$${f##*/fuzz_}; \
		$${LOCKBOX_RUNNER:-} $$f tests/fuzz/corpus/$$name >/dev/null; \
		n=$$((n + 1)); echo "fuzz-replay: $$name ok"; \
	done; echo "fuzz-replay: $$n passed, 0 failed"
fuzz-replay-asan:
	$(MAKE) O=$(O)/asan SAN=1 fuzz-replay

# Real fuzzing with libFuzzer, FUZZ_SECONDS per target (not part of make check). New inputs go
# to $(O)/fuzz-corpus/NAME (copy the interesting ones into tests/fuzz/corpus/NAME), crashes to
# $(O)/fuzz-crashes/. FUZZ=NAME fuzzes one target only. clang is installed here when missing:
# it is large and nothing else needs it.
FUZZ_SECONDS ?= 60
FUZZ ?=
FUZZ_CC ?= clang
.PHONY: fuzz fuzz-run
fuzz:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || tests/deps.sh clang libclang-rt-dev
	$(MAKE) O=$(O)/libfuzzer SAN=fuzz CC=$(FUZZ_CC) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		FUZZ_REPORT=$(abspath $(O))/fuzz-crashes $(if $(FUZZ),FUZZ_BINS=$(O)/libfuzzer/fuzz/fuzz_$(FUZZ)) \
		fuzz-run
fuzz-run: $(FUZZ_BINS)
	@set -e; mkdir -p $(FUZZ_REPORT); for f in $(FUZZ_BINS); do \
		name=$${f##*/fuzz_}; work=$(O)/../fuzz-corpus/$$name; mkdir -p $$work; \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-dict=tests/fuzz/json.dict -artifact_prefix=$(FUZZ_REPORT)/$$name- \
			$$work tests/fuzz/corpus/$$name 2>$(O)/fuzz-$$name.log || { \
			tail -n 40 $(O)/fuzz-$$name.log; echo "fuzz: $$name FAILED"; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|new_units_added)' $(O)/fuzz-$$name.log | tr '\n' ' '; echo; \
	done; echo "fuzz: every target ran $(FUZZ_SECONDS) s without a finding"

# Static analysis and checkers (make lint), and the unit tests under valgrind (make memcheck).
# Suppressions are kept in files that say why each is a false positive. cppcheck's "style"
# class (variable scope, conditions it believes constant across loop iterations) is left out:
# matters of taste that cost every engineer churn, and where wrong (cmd_rotate's "ret ?: r"
# in a loop) a false alarm.
LINT_SRCS = $(wildcard common/*.c broker/*/*.c shim/*.c)
SH_SCRIPTS = $(shell find tests contrib -name '*.sh' 2>/dev/null) .ci/run
.PHONY: lint cppcheck analyze shellcheck profiles memcheck
lint: cppcheck analyze shellcheck profiles

cppcheck:
	@cppcheck -q --std=c11 --enable=warning,performance,portability --inline-suppr \
		--error-exitcode=1 -D_GNU_SOURCE -D__CPPCHECK__ -Icommon -Ibroker -Ishim \
		--include=tests/cppcheck/prelude.h --suppressions-list=tests/cppcheck/suppressions.txt \
		$(LINT_SRCS) && echo "cppcheck: ok"

# gcc -fanalyzer, one object a source (in parallel with -j), warnings as errors, at -O0 (as
# gcc's documentation advises: -O2's partial inlining splits streq_ptr's NULL check from its
# loop and the analyzer then reports the loop; -O1 adds format-truncation guesses). gcc 12's
# analyzer loses track of pointers stored into heap arrays and struct fields; the files where
# that gives a false positive turn off that one warning, each for the reason given:
#  config.c  config_free() after a strdup failed in config_new_default: "double free" of
#            two different NULL fields of a calloc'd struct.
#  state.c   state_load_all(): the ids array grows by realloc; the strings stored in it are
#            "leaked" when the buffer moves, then freed by the loop at the end.
#  deliver.c deliver_make_argv(): strdup stored into d->argv[i], freed by deliver_done().
#  vault.c   vault_mount_add(): strndup stored into vb->mounts[i].key, freed with the batch.
#  privsep.c privsep_take_strings(): strndup stored into ret[i], handed to a fetched_secret.
#  config_roles.c config_parse_roles(): each role's strings and arrays are stored into the
#            calloc'd c->roles[i] that the caller's config_free() releases; parsed on its own
#            (it was static in config.c) the analyzer loses them in the heap array.
#  agent_proto.c agent_take_text(): the strndup stored into a request's calloc'd secrets[i]
#            (or its role), freed by agent_request_done(), as privsep.c's strings.
#  http_curl.c http_curl_load(): dlsym's result memcpy'd into the table is "uninitialized"
#            (the analyzer does not model dlsym); http_wipe_realloc(): the caller's block,
#            freed by http_wipe_free() after the copy, "leaks" on the path where the new
#            allocation failed and the old block is rightly left to the caller.
#  jwt.c     jwt_crypto_load(): libcrypto's symbols from dlsym, as in http_curl.c: the
#            memcpy'd pointer is "uninitialized" (dlsym is not modelled).
# format-truncation and maybe-uninitialized depend on the optimisation level: make all (-O2)
# decides on them, not this -O0 pass.
ANALYZE_OFF_broker/request/config.c := -Wno-analyzer-double-free
ANALYZE_OFF_broker/place/state.c := -Wno-analyzer-malloc-leak
ANALYZE_OFF_shim/deliver.c := -Wno-analyzer-malloc-leak
ANALYZE_OFF_broker/fetch/vault.c := -Wno-analyzer-malloc-leak
ANALYZE_OFF_broker/fetch/privsep.c := -Wno-analyzer-malloc-leak
ANALYZE_OFF_broker/fetch/agent_proto.c := -Wno-analyzer-malloc-leak
ANALYZE_OFF_broker/request/config_roles.c := -Wno-analyzer-malloc-leak
ANALYZE_OFF_broker/fetch/http_curl.c := -Wno-analyzer-use-of-uninitialized-value \
	-Wno-analyzer-malloc-leak
ANALYZE_OFF_broker/fetch/jwt.c := -Wno-analyzer-use-of-uninitialized-value
ANALYZE_STAMPS = $(LINT_SRCS:%.c=$(O)/analyze/%.ok)
analyze: $(ANALYZE_STAMPS)
	@echo "analyze: ok ($(words $(ANALYZE_STAMPS)) files)"
$(O)/analyze/%.ok: %.c
	@mkdir -p $(dir $@)
	@$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(ALL_CFLAGS)) -O0 -fanalyzer \
		-Wno-format-truncation -Wno-maybe-uninitialized $(ANALYZE_OFF_$<) -MMD -MP \
		-MT $@ -MF $(@:.ok=.d) -c $< -o /dev/null
	@touch $@

shellcheck:
	@shellcheck $(SH_SCRIPTS) && echo "shellcheck: ok ($(words $(SH_SCRIPTS)) scripts)"

# The AppArmor profile must compile (not loaded: -K) as make install writes it, the seccomp
# profile must be JSON.
profiles:
	@mkdir -p $(O)
	@$(SUBST) contrib/apparmor/lockbox-broker.in >$(O)/$(APPARMOR_NAME)
	@out=$$(apparmor_parser -Q -K -T $(O)/$(APPARMOR_NAME) 2>&1 | \
		grep -v '^Cache read/write disabled'); [ -z "$$out" ] || { echo "$$out"; exit 1; }
	@python3 -c 'import json,sys; json.load(open(sys.argv[1]))' contrib/seccomp/lockbox-shim.json
	@echo "profiles: ok"

memcheck: $(UNIT_BINS)
	@tests/unit/memcheck.sh $(UNIT_BINS)

# Another architecture (make cross ARCH=arm64): the broker, the static shim, the test programs,
# the unit tests and the fuzz targets built with Debian's cross compiler against the arm64
# libraries (multiarch; `make deps ARCH=arm64` installs them, and this target asks it to) into
# $(O)/arm64; then the unit tests and the fuzz corpora run under qemu-user. A test that needs
# the target's own kernel (seccomp enforcement, namespaces, mounts) is a skip there
# (LOCKBOX_UNDER_QEMU, tests/unit/unit.h). The shim must come out static. qemu's sysroot is /:
# the arm64 libraries are multiarch packages that bring their own libc6:arm64, and mixing it
# with the cross toolchain's older libc in /usr/aarch64-linux-gnu (its ld.so, our libc.so.6)
# hangs every fork.
ARCH ?=
CROSS_TRIPLET_arm64 := aarch64-linux-gnu
CROSS_QEMU_arm64 := qemu-aarch64
CROSS_TRIPLET := $(CROSS_TRIPLET_$(ARCH))
.PHONY: cross cross-build
cross:
	@[ -n "$(CROSS_TRIPLET)" ] || { echo "cross: ARCH=arm64 is the one supported" >&2; exit 2; }
	@DEPS_ARCH=$(ARCH) tests/deps.sh
	@PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS_TRIPLET)/pkgconfig:/usr/share/pkgconfig \
		LOCKBOX_UNDER_QEMU=1 LOCKBOX_RUNNER="$(CROSS_QEMU_$(ARCH)) -L /" \
		$(MAKE) --no-print-directory O=$(O)/$(ARCH) CC=$(CROSS_TRIPLET)-gcc \
		AR=$(CROSS_TRIPLET)-ar ARCH= cross-build
cross-build: all $(UNIT_BINS) $(FUZZ_BINS)
	@file -L $(O)/lockbox-shim | grep -E 'ARM aarch64.*static' >/dev/null || { \
		file -L $(O)/lockbox-shim; echo "cross: the shim is not a static arm64 binary" >&2; \
		exit 1; }
	@echo "cross: $(O)/lockbox-shim: $$(file -bL $(O)/lockbox-shim | cut -d, -f1-2,4)"
	@tests/unit/run.sh $(UNIT_BINS)
	@$(MAKE) --no-print-directory fuzz-replay

.PHONY: integration
integration: all
	@tests/integration/run.sh $(O)

.PHONY: deps
deps:
	@DEPS_ARCH=$(ARCH) tests/deps.sh

.PHONY: format format-check
FORMAT_SRCS = $(wildcard common/*.[ch] broker/*/*.[ch] shim/*.[ch] tests/unit/*.[ch] tests/app/*.c tests/fuzz/*.[ch])
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format: ok"

.PHONY: check
check: deps
	$(MAKE) all
	$(MAKE) format-check
	$(MAKE) lint
	$(MAKE) man-check
	$(MAKE) unit
	$(MAKE) memcheck
	$(MAKE) unit-asan
	$(MAKE) fuzz-replay-asan
	$(MAKE) integration

.PHONY: demo
demo: deps all
	@tests/demo.sh $(O)

# Benchmarks (DESIGN §12; not part of make check): the release build (-O2, the flags above) in
# a directory of its own, $(O)/bench, plus the bench-only programs of tests/bench/ linked from
# the same objects and flags; then tests/bench/run.sh prints the table and writes it into
# docs/BENCHMARKS.md. nginx (the HTTP/2 servers: recorded replies, and a TLS front of the Vault
# test server), jq and curl (the naive hook) and time are installed here: nothing else needs
# them. BENCH_ROUNDS=N for more rounds; BENCH_QUICK=1 (or BENCH_ROUNDS below 10) for a short
# run that only shows the bench works (its table goes to stdout, not to docs/BENCHMARKS.md).
# make bench-selftest checks the bench's arithmetic (also run by make check, as integration
# test 06).
BENCH_PKGS := nginx jq curl time
.PHONY: bench bench-deps bench-selftest
bench-deps: deps
	@tests/deps.sh $(BENCH_PKGS)
bench-selftest:
	@tests/bench/selftest.sh
bench:
	@t0=$$(date +%s%N); set -e; \
	$(MAKE) --no-print-directory bench-deps; \
	$(MAKE) --no-print-directory O=$(O)/bench all; \
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) -o $(O)/bench/lbx-bench-fetch tests/bench/fetch.c \
		$(O)/bench/libbroker.a $(O)/bench/liblockbox.a $(filter-out -lcurl,$(PKG_LIBS)); \
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) -o $(O)/bench/lbx-rss-probe tests/bench/rss_probe.c \
		$(PKG_LIBS); \
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) -DLBX_LIBC_ONLY -o $(O)/bench/lbx-rss-probe-libc \
		tests/bench/rss_probe.c; \
	$(CC) $(ALL_CFLAGS) $(LDHARDEN) -DLBX_LIBC_ONLY -o $(O)/bench/lbx-rss-probe-nocurl \
		tests/bench/rss_probe.c -Wl,--no-as-needed $(shell pkg-config --libs jansson libsodium); \
	LBX_BENCH_T0=$$t0 tests/bench/run.sh $(O)/bench

# The man pages: one scdoc source each (docs/man), the reference the README points to.
MAN_SRCS := $(wildcard docs/man/*.scd)
MAN_PAGES := $(MAN_SRCS:docs/man/%.scd=$(O)/man/%)
.PHONY: man man-check
man: $(MAN_PAGES)
$(O)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@.tmp && mv $@.tmp $@

# Each page rendered as lintian renders it (man --warnings, groff's warnings on): any warning
# fails. A page with an undefined macro must make the same command speak, or the check could
# not fail at all.
MAN_RENDER = LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z
man-check: $(MAN_PAGES)
	@printf '.TH BROKEN 7\n.SH NAME\nbroken \\- a page with an undefined macro\n.BOGUS\n' \
		>$(O)/man-broken.7
	@test -n "$$($(MAN_RENDER) $(O)/man-broken.7 2>&1 >/dev/null)" || \
		{ echo "man-check: a broken page renders without a warning: the check is blind"; exit 1; }
	@set -e; for p in $(MAN_PAGES); do \
		w=$$($(MAN_RENDER) $$p 2>&1 >/dev/null); \
		[ -z "$$w" ] || { echo "man-check: $$p:"; echo "$$w"; exit 1; }; \
	done; echo "man-check: ok ($(words $(MAN_PAGES)) pages)"

# contrib/*.in with the install's paths (make install, the lint of the AppArmor profile).
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' \
	-e 's|@APPARMOR_NAME@|$(APPARMOR_NAME)|g'

.PHONY: install
install: $(PROGS) man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/lockbox $(DESTDIR)$(HOOKSDIR) \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(APPARMORDIR)
	install -m 0755 $(O)/lockbox-broker $(DESTDIR)$(BINDIR)/lockbox-broker
	install -m 0755 $(O)/lockbox-shim $(DESTDIR)$(BINDIR)/lockbox-shim
	ln -sf lockbox-broker $(DESTDIR)$(BINDIR)/lockbox-runtime
	set -e; for p in $(MAN_PAGES); do \
		$(SUBST) $$p >$(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/}; \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/}; \
	done
	$(SUBST) contrib/docker/daemon.json.in >$(DESTDIR)$(DATADIR)/lockbox/docker-daemon.json
	$(SUBST) contrib/oci-hooks.d/lockbox.json.in >$(DESTDIR)$(HOOKSDIR)/lockbox.json
	$(SUBST) contrib/systemd/lockbox-rotate.service.in \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/lockbox-rotate.service
	install -m 0644 contrib/systemd/lockbox-rotate.timer $(DESTDIR)$(SYSTEMDUNITDIR)/
	$(SUBST) contrib/systemd/lockbox-agent.service.in \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/lockbox-agent.service
	install -m 0644 contrib/systemd/lockbox-agent.socket $(DESTDIR)$(SYSTEMDUNITDIR)/
	$(SUBST) contrib/apparmor/lockbox-broker.in >$(DESTDIR)$(APPARMORDIR)/$(APPARMOR_NAME)
	chmod 0644 $(DESTDIR)$(DATADIR)/lockbox/docker-daemon.json $(DESTDIR)$(HOOKSDIR)/lockbox.json \
		$(DESTDIR)$(SYSTEMDUNITDIR)/lockbox-rotate.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/lockbox-agent.service $(DESTDIR)$(APPARMORDIR)/$(APPARMOR_NAME)

# The Debian package from this tree (debian/), binary only, unsigned; DEB_BUILD_OPTIONS=nocheck
# skips its tests. tests/integration/39-deb.sh builds it in a copy of the tree.
.PHONY: deb
deb:
	dpkg-buildpackage -b -us -uc

.PHONY: clean
clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
