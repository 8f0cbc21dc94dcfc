# dns01 — see README.md.  make / make check / make install / make clean.
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
MANDIR    = $(PREFIX)/share/man/man1
VERSION   = 0.1.0

# Debian's libldns-dev installs ldns.pc.  libcrypto (OpenSSL's HMAC for TSIG,
# see core/tsig.h) is already a run-time dependency of ldns and libcurl, and
# so is libssl (doctor --check-cert's TLS client, core/certcheck.c).
#
# libcurl is compiled against (its headers, from pkg-config) but not linked:
# core/http.c loads it (HTTP_CURL_SONAME) when an HTTP provider runs, so that
# the other commands do not load its 25 libraries at start-up.
PKGS      = libcurl jansson ldns libcrypto libssl
LINKED    = jansson ldns libcrypto libssl
# Route 53 answers XML: libexpat (Debian libexpat1-dev).
PKGS     += expat
LINKED   += expat
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(LINKED) && pkg-config --exists libcurl)
# (not for deps and demo: they install what is missing, then build)
ifeq ($(PKG_LIBS)$(filter deps demo,$(MAKECMDGOALS)),)
$(error pkg-config found no $(PKGS): run 'make deps' (Debian packages))
endif

CC       ?= cc
OPT      ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS   ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -DDNS01_VERSION='"$(VERSION)"'
LDLIBS    = $(PKG_LIBS) -lm

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
endif

CORE_SRC = core/name.c core/log.c core/config.c core/dnsio.c core/answer.c core/zone.c \
           core/propagation.c core/tsig.c core/state.c core/journal.c core/ledger.c core/arrivals.c \
           core/run.c core/cli.c \
           core/hooks/common.c core/hooks/certbot.c \
           core/hooks/dehydrated.c core/hooks/lego.c core/hooks/uacme.c core/http.c core/api.c core/rmw.c \
           core/text.c core/caa.c core/certcheck.c core/report.c core/doctor.c
CORE_SRC += core/summary.c
PROV_SRC = providers/registry.c providers/rfc2136.c providers/cloudflare.c \
           providers/sakuracloud.c providers/google.c providers/google_jwt.c \
           providers/route53.c
PROV_SRC += providers/rfc2136_servers.c
LIB_OBJ  = $(CORE_SRC:.c=.o) $(PROV_SRC:.c=.o)
HEADERS  = $(wildcard core/*.h core/hooks/*.h providers/*.h)

UNIT_TESTS = tests/unit/test_name tests/unit/test_config tests/unit/test_journal \
             tests/unit/test_tsig tests/unit/test_answer tests/unit/test_ledger \
             tests/unit/test_schedule tests/unit/test_arrivals tests/unit/test_http \
             tests/unit/test_rmw tests/unit/test_caa tests/unit/test_certcheck \
             tests/unit/test_google_jwt tests/unit/test_ini
UNIT_TESTS += tests/unit/test_rfc2136_servers
UNIT_TESTS += tests/unit/test_summary

all: dns01

dns01: bin/dns01.o $(LIB_OBJ) .flags
	$(CC) $(LDFLAGS) -o $@ bin/dns01.o $(LIB_OBJ) $(LDLIBS)

# Objects depend on the flags they were built with, so `make SANITIZE=1`
# after a plain `make` (or the other way round) rebuilds everything.
.flags: FORCE
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@

%.o: %.c $(HEADERS) Makefile .flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/unit/test_%: tests/unit/test_%.c $(LIB_OBJ) $(HEADERS) $(wildcard tests/unit/*.h) .flags
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka

# Test tools the integration suite runs (not installed).
TEST_TOOLS = tests/tools/http_probe

tests/tools/%: tests/tools/%.c $(LIB_OBJ) $(HEADERS) .flags
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

unit: $(UNIT_TESTS)
	@failed=0; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t || failed=1; done; exit $$failed

# Most of a test's time is waiting (a lagging secondary, a TTL, the CA), so
# the tests run in parallel runners, each with its own servers and namespaces.
# Under ASan (SANITIZE=1) every dns01 runs 2-3 times slower: 4 runners, so
# that 20 processes at once (the contract's concurrent_writers) still get
# their TLS handshakes with an emulator done within HTTP_CONNECT_TIMEOUT_S.
ifeq ($(SANITIZE),1)
INTEGRATION_JOBS ?= 4
endif
INTEGRATION_JOBS ?= 6
MEMCHECK_JOBS    ?= 3
integration: dns01 $(TEST_TOOLS)
	/usr/bin/python3 tests/integration/run.py --jobs=$(INTEGRATION_JOBS)

# The integration suite again with every dns01 call under valgrind (not with
# SANITIZE=1: ASan and valgrind do not mix), but only the tests in
# tests/integration/memcheck.list: the fewest (by their time under valgrind)
# that together run every line and branch of dns01 that the whole suite runs,
# as measured with gcov by tests/integration/memcheck_select.py (`make
# memcheck-select` writes the list again; run it after adding tests or C
# code).  Never in it: the emulators' self-checks, certbot + pebble and the
# races between processes and hosts (see NEVER there).
memcheck: dns01 $(TEST_TOOLS)
	DNS01=$(CURDIR)/tests/valgrind-dns01 MEMCHECK_TARGET=$(CURDIR)/dns01 \
	    /usr/bin/python3 tests/integration/run.py --jobs=$(MEMCHECK_JOBS) \
	    --only=tests/integration/memcheck.list

memcheck-select:
	/usr/bin/python3 tests/integration/memcheck_select.py --jobs=$(INTEGRATION_JOBS)

# The man page must render without a single groff warning.
mancheck:
	@out=$$(groff -man -Tutf8 -ww -z doc/dns01.1 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "doc/dns01.1: no groff warnings"

ifeq ($(SANITIZE),1)
check: mancheck unit integration
else
check: mancheck unit integration memcheck
endif

# The examples (examples/README lists them) keep their systemd/ subdirectory.
install: EXAMPLESDIR = $(PREFIX)/share/doc/dns01/examples
install: dns01
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(EXAMPLESDIR)/systemd
	install -m 755 dns01 $(DESTDIR)$(BINDIR)/dns01
	install -m 644 doc/dns01.1 $(DESTDIR)$(MANDIR)/dns01.1
	install -m 644 $(filter-out examples/systemd,$(wildcard examples/*)) $(DESTDIR)$(EXAMPLESDIR)
	install -m 644 $(wildcard examples/systemd/*) $(DESTDIR)$(EXAMPLESDIR)/systemd

deps:
	bash .ci/deps

# Installs what is missing, builds, starts local BIND/unbound/pebble in a
# private namespace, has certbot + dns01 issue example.test + *.example.test,
# prints the result, stops everything (tests/integration/demo.py).  Root.
demo:
	@test -x /usr/bin/python3 || bash .ci/deps
	@/usr/bin/python3 tests/integration/demo.py

# dns01 against certbot's and lego's rfc2136 plugins and hand-written hooks on
# local servers (bench/bench.py builds, checks its tools, runs two beds in
# private namespaces; root, under 20 minutes): bench/results.md, bench/issuance.png.
bench:
	@test -x /usr/bin/python3 || { echo 'make bench: /usr/bin/python3 missing: run make deps' >&2; exit 1; }
	@/usr/bin/python3 bench/bench.py

clean:
	rm -f dns01 .flags bin/*.o core/*.o core/hooks/*.o providers/*.o $(UNIT_TESTS) $(TEST_TOOLS)

.PHONY: all unit integration memcheck memcheck-select mancheck check install deps demo bench clean FORCE

# `make check` STRESS_RUNS times (default 3) while stress-ng loads both
# cores: the suite must pass on a busy machine (tests/stress-check).
STRESS_RUNS ?= 3
check-stressed: dns01
	bash tests/stress-check $(STRESS_RUNS)
.PHONY: check-stressed

# The Debian package (debian/): dpkg-buildpackage -b in a temp copy of the
# tracked files (this tree stays clean), the .debs in build/deb/, then
# lintian (no error, no warning).  tests/package/build-deb.
ALL_CFLAGS += $(CPPFLAGS)
deb:
	bash tests/package/build-deb
# The built package installed, upgraded over itself, removed and purged in a
# throwaway root (an overlay of / in a private mount namespace), with its file
# list and the modes of /etc/dns01 and /var/lib/dns01 checked; builds the
# package first (without lintian and the unit tests) when build/deb/ has none
# for this source.  Part of make check.  tests/package/check-deb.
debcheck:
	/usr/bin/python3 tests/package/check-deb
check: debcheck
.PHONY: deb debcheck

# ---- fuzzing (tests/fuzz/, README "Fuzzing") -------------------------------
# libFuzzer targets built with clang into tests/fuzz/build/ (objects of
# their own, so a plain `make` is not disturbed).  `make fuzz` runs each
# for FUZZ_SECONDS on its corpus, new inputs going to tests/fuzz/build/work/;
# a crash, leak or timeout fails it and is kept in tests/fuzz/build/crashes/.
# `make fuzz-regress` runs each target once over its committed corpus.
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_TARGETS  ?= config name certbot dehydrated lego uacme cloudflare sakuracloud google \
                 route53 rfc2136 tsig answer state ledger journal
FUZZ_BUILD    = tests/fuzz/build
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 $(FUZZ_SAN) $(PKG_CFLAGS) \
                -DDNS01_VERSION='"$(VERSION)"'
FUZZ_OBJ      = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(CORE_SRC) $(PROV_SRC))
FUZZ_BINS     = $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
# What a target replaces by a fake of its own (tests/fuzz/hook.h, provider.h).
FUZZ_HOOK_WRAP = -Wl,--wrap=cli_load_config
FUZZ_API_WRAP  = -Wl,--wrap=http_perform -Wl,--wrap=log_sleep -Wl,--wrap=dnsio_tcp_exchange
FUZZ_WRAP_certbot     = $(FUZZ_HOOK_WRAP)
FUZZ_WRAP_dehydrated  = $(FUZZ_HOOK_WRAP)
FUZZ_WRAP_lego        = $(FUZZ_HOOK_WRAP)
FUZZ_WRAP_uacme       = $(FUZZ_HOOK_WRAP)
FUZZ_WRAP_cloudflare  = $(FUZZ_API_WRAP)
FUZZ_WRAP_sakuracloud = $(FUZZ_API_WRAP)
FUZZ_WRAP_google      = $(FUZZ_API_WRAP)
FUZZ_WRAP_route53     = $(FUZZ_API_WRAP)
FUZZ_WRAP_rfc2136     = $(FUZZ_API_WRAP)

$(FUZZ_BUILD)/obj/%.o: %.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# An archive: a target that #includes a module's .c file (to reach a static
# function) leaves that module's object out of the link.
$(FUZZ_BUILD)/libdns01.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJ)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_BUILD)/libdns01.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_WRAP_$*) \
	    $(FUZZ_BUILD)/libdns01.a $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-regress: $(FUZZ_BINS)
	@tests/fuzz/run.sh regress 0 $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

.PHONY: fuzz fuzz-build fuzz-regress fuzz-clean
