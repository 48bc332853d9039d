# sqlwire: one non-recursive Makefile. Every flavour builds into build/<variant>/.
#   make            build sqld (release flavour)
#   make run        install deps, build, start sqld on ./data.sqld at 127.0.0.1:8080
#   make test       install deps, build, run every test (unit, integration, interop, fuzz smoke)
#   make asan       the same suite with AddressSanitizer + UBSan
#   make fuzz       build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
#   make bench      benchmarks against baselines run side by side
VARIANT ?= release
B := build/$(VARIANT)
CC ?= cc
PKGS := sqlite3 libwebsockets jansson libprotobuf-c openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CFLAGS_release := -O2 -g
CFLAGS_asan := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_asan := -fsanitize=address,undefined
CFLAGS_debug := -O0 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS_$(VARIANT)) -Iproto -Isqld -Iinclude -I$(B)/gen $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS_$(VARIANT)) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lpthread -lm

PROTO_SRC := $(wildcard proto/*.c)
# protobuf-c code generated from proto/*.proto into $(B)/gen (never committed)
PROTO_DEFS := $(wildcard proto/*.proto)
GEN_C := $(PROTO_DEFS:proto/%.proto=$(B)/gen/%.pb-c.c)
GEN_H := $(GEN_C:.c=.h)
GEN_OBJ := $(GEN_C:$(B)/gen/%.c=$(B)/obj/gen/%.o)
SQLD_SRC := $(filter-out sqld/main.c,$(wildcard sqld/*.c))
PROTO_OBJ := $(PROTO_SRC:%.c=$(B)/obj/%.o)
SQLD_OBJ := $(SQLD_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)

.PHONY: all deps run test unit asan fuzz bench clean format
# keep objects make would treat as intermediates (test objects), so builds stay incremental
.SECONDARY:
all: $(B)/sqld $(UNIT_BIN)

deps:
	@bash deploy/deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# One protoc-c run per .proto makes its .pb-c.c and .pb-c.h (a grouped pattern
# rule); every .proto is a prerequisite because they import each other.
$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: proto/%.proto $(PROTO_DEFS)
	@mkdir -p $(B)/gen
	protoc-c --proto_path=proto --c_out=$(B)/gen $<
$(GEN_OBJ): $(B)/obj/gen/%.o: $(B)/gen/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
# proto/ objects may include generated headers (replpb.c does): generate
# first; after the first compile their .d files track the real dependencies.
$(PROTO_OBJ): | $(GEN_H)

$(B)/libproto.a: $(PROTO_OBJ) $(GEN_OBJ)
	ar rcs $@ $^
$(B)/libsqld.a: $(SQLD_OBJ)
	ar rcs $@ $^

$(B)/sqld: $(B)/obj/sqld/main.o $(B)/libsqld.a $(B)/libproto.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libsqld.a $(B)/libproto.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)


# ---- libsqlwire (libclient/): the C client library ----
# libsqlwire.a / .so hold libclient/*.c plus the proto/ code and generated
# protobuf-c code they use. Unit tests named tests/unit/test_cl_*.c link
# libsqlwire.a instead of libsqld.a.
CLIENT_SRC := $(wildcard libclient/*.c)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(B)/obj/%.o)
CLIENT_PIC_OBJ := $(CLIENT_SRC:%.c=$(B)/pic/%.o) $(PROTO_SRC:%.c=$(B)/pic/%.o) $(GEN_C:$(B)/gen/%.c=$(B)/pic/gen/%.o)
CLIENT_ALL := $(if $(CLIENT_SRC),$(B)/libsqlwire.a $(B)/libsqlwire.so)
all: $(CLIENT_ALL)
$(CLIENT_OBJ): | $(GEN_H)
$(B)/libsqlwire.a: $(CLIENT_OBJ) $(PROTO_OBJ) $(GEN_OBJ)
	ar rcs $@ $^
$(B)/pic/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -Ilibclient -MMD -MP -c $< -o $@
$(B)/pic/gen/%.o: $(B)/gen/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(B)/libsqlwire.so: $(CLIENT_PIC_OBJ)
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,libsqlwire.so.0 -o $@ $^ $(LIBS)
$(B)/tests/test_cl_%: $(B)/obj/tests/unit/test_cl_%.o $(B)/libsqlwire.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(B)/obj/libclient/%.o: libclient/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibclient -MMD -MP -c $< -o $@
$(B)/obj/tests/unit/test_cl_%.o: tests/unit/test_cl_%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibclient -MMD -MP -c $< -o $@
# C examples (examples/c/) and the C driver of the client integration tests
# (tests/integ/client/, run by tests/integ/client_*.test.mjs), linked against
# libsqlwire.a. compat_sqlite3 is a plain sqlite3 program: include/compat
# first on the include path makes its #include <sqlite3.h> land on sqlwire.
CLIENT_EX_BIN := $(if $(CLIENT_SRC),$(B)/examples/remote_query $(B)/examples/replica $(B)/examples/compat_sqlite3 \
	$(B)/tests/cl_integ)
all: $(CLIENT_EX_BIN)
$(B)/examples/compat_sqlite3: examples/c/compat_sqlite3.c $(B)/libsqlwire.a include/sqlwire.h include/sqlwire_sqlite3.h
	@mkdir -p $(dir $@)
	$(CC) -Iinclude/compat $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libsqlwire.a $(LIBS)
$(B)/examples/%: examples/c/%.c $(B)/libsqlwire.a include/sqlwire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libsqlwire.a $(LIBS)
$(B)/tests/cl_integ: $(wildcard tests/integ/client/*.c) $(B)/libsqlwire.a include/sqlwire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) $(B)/libsqlwire.a $(LIBS)

# cl_integ under ThreadSanitizer (every libclient and proto source built in,
# whatever the variant): tests/integ/client_tsan.test.mjs runs its replica
# section (threads sharing a connection, follow and interval threads).
$(B)/tests/cl_integ_tsan: $(wildcard tests/integ/client/*.c) $(CLIENT_SRC) $(PROTO_SRC) $(GEN_C) $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -fsanitize=thread -Iproto -Iinclude -Ilibclient -Itests/unit -I$(B)/gen \
		$(PKG_CFLAGS) -o $@ $(wildcard tests/integ/client/*.c) $(CLIENT_SRC) $(PROTO_SRC) $(GEN_C) $(LIBS)
all: $(if $(CLIENT_SRC),$(B)/tests/cl_integ_tsan)

# bench/client/replica_read.c: a replica's local point read vs plain sqlite3
# (not part of `all`; bench/run.sh builds and runs it with --sqld-port).
$(B)/bench/sqlwire-bench-client-replica: bench/client/replica_read.c bench/util.c $(B)/libsqlwire.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ibench $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) $(B)/libsqlwire.a $(LIBS)

# make install PREFIX=... [DESTDIR=...]: the library, its headers and two
# pkg-config modules: sqlwire (native API) and sqlwire-sqlite3 (cflags put the
# compatibility directory holding sqlite3.h first).
PREFIX ?= /usr/local
.PHONY: install
install: $(B)/libsqlwire.a $(B)/libsqlwire.so
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/sqlwire-compat
	install -m 644 include/sqlwire.h include/sqlwire_sqlite3.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/compat/sqlite3.h $(DESTDIR)$(PREFIX)/include/sqlwire-compat/
	install -m 644 $(B)/libsqlwire.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libsqlwire.so $(DESTDIR)$(PREFIX)/lib/libsqlwire.so.0
	ln -sf libsqlwire.so.0 $(DESTDIR)$(PREFIX)/lib/libsqlwire.so
	sed 's|@PREFIX@|$(PREFIX)|g' libclient/sqlwire.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/sqlwire.pc
	sed 's|@PREFIX@|$(PREFIX)|g' libclient/sqlwire-sqlite3.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/sqlwire-sqlite3.pc

run: deps
	$(MAKE) $(B)/sqld
	$(B)/sqld $(SQLD_ARGS)

# The whole suite; tests/run.sh prints one closing "N passed, N failed" line.
test: deps
	$(MAKE) all
	SQLWIRE_BUILD=$(B) bash tests/run.sh

unit: all
	SQLWIRE_BUILD=$(B) SQLWIRE_ONLY=unit bash tests/run.sh

asan: deps
	$(MAKE) VARIANT=asan all
	SQLWIRE_BUILD=build/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 bash tests/run.sh

FUZZ_SECONDS ?= 20
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iproto -Iinclude -Isqld -I$(B)/gen $(PKG_CFLAGS)
# Targets listed in FUZZ_PROTO_ONLY test proto/ code and link only proto/*.c,
# so they build whatever state sqld/ is in; the others also link sqld/*.c.
# proto/ needs the generated protobuf-c code of $(B)/gen (build/release/gen).
FUZZ_PROTO_ONLY := fuzz_hjson fuzz_hpb fuzz_chunked fuzz_grpcweb fuzz_bincode fuzz_replpb fuzz_walfmt
# authentication (issue 5): the JWT parser links only proto/
FUZZ_PROTO_ONLY += fuzz_jwt
# libsqlwire decoders (fuzz_xport builds libclient/xport_parse.c in itself)
FUZZ_PROTO_ONLY += fuzz_hjson_client fuzz_xport fuzz_jtree
# fuzz_cl_conv builds libclient/conv.c and uri.c in itself (api's value and URI parsers)
FUZZ_PROTO_ONLY += fuzz_cl_conv
build/fuzz/%: tests/fuzz/%.c $(PROTO_SRC) $(SQLD_SRC) $(GEN_C) $(GEN_H)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(PROTO_SRC) $(GEN_C) $(if $(filter $*,$(FUZZ_PROTO_ONLY)),,$(SQLD_SRC)) $(LIBS)
fuzz: deps $(FUZZ_BIN)
	bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

bench: deps
	$(MAKE) all
	SQLWIRE_BUILD=$(B) bash bench/run.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- replica sync (libclient/apply, meta, sync): fault driver, fuzz, bench ----
# build/<v>/fault/replica_driver: the process tests/fault/replica.test.mjs
# kills with SIGKILL; build/<v>/bench/client_sync: replica lag and sync
# throughput (bench/client/sync.c), run as
#   build/<v>/bench/client_sync [seconds]   (SQLWIRE_BUILD=build/<v> for sqld)
all: $(B)/fault/replica_driver $(B)/bench/client_sync
$(B)/obj/tests/fault/%.o: tests/fault/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibclient -MMD -MP -c $< -o $@
$(B)/fault/replica_driver: $(B)/obj/tests/fault/replica_driver.o $(B)/libsqlwire.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(B)/obj/bench/client/%.o: bench/client/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibclient -MMD -MP -c $< -o $@
$(B)/bench/client_sync: $(B)/obj/bench/client/sync.o $(B)/libsqlwire.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
# fuzz_meta tests libclient/meta.c (with proto/ only)
build/fuzz/fuzz_meta: tests/fuzz/fuzz_meta.c libclient/meta.c $(PROTO_SRC) $(GEN_C) $(GEN_H)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -Ilibclient -o $@ $< libclient/meta.c $(PROTO_SRC) $(GEN_C) $(LIBS)

# fuzz_sync_stream tests libclient/sync_stream.c (the streaming decoder of
# Snapshot / BatchLogEntries / LogEntries answers), with proto/ only
build/fuzz/fuzz_sync_stream: tests/fuzz/fuzz_sync_stream.c libclient/sync_stream.c $(PROTO_SRC) $(GEN_C) $(GEN_H)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -Ilibclient -o $@ $< libclient/sync_stream.c $(PROTO_SRC) $(GEN_C) $(LIBS)

# ---- bench: libsqlwire remote round trip (bench/client/remote.c) ----
# build/<v>/bench/client_remote: point SELECT through libsqlwire over
# WebSocket (and HTTP) vs PostgreSQL via libpq, with bench/util.c and
# bench/pg.c; needs sqld and PostgreSQL running (bench/run.sh starts both):
#   build/<v>/bench/client_remote --sqld-port P --pg-port Q [--rounds N] [--round-ms MS]
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
$(B)/bench/client_remote: bench/client/remote.c bench/util.c bench/pg.c bench/ws.c bench/bench.h $(B)/libsqlwire.a include/sqlwire.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PQ_CFLAGS) -Ibench $(ALL_LDFLAGS) -o $@ bench/client/remote.c bench/util.c bench/pg.c bench/ws.c \
		$(B)/libsqlwire.a $(LIBS) -lpq -lcrypto

# ---- power-loss simulation (tests/fault/powerloss.c, an LD_PRELOAD shim) ----
# build/<v>/fault/libpowerloss.so: rolls files under $SQLWIRE_PL_DIR back to
# their last fsync at a simulated power loss (model in the file's comment).
# Always built without sanitizers (an ASan binary preloads it with
# ASAN_OPTIONS=verify_asan_link_order=0). build/<v>/tests/test_powerloss: its
# unit tests (run with the unit tests); tests/fault/powerloss*.test.mjs use it.
PL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -shared -fvisibility=hidden
all: $(B)/fault/libpowerloss.so $(B)/tests/test_powerloss
$(B)/fault/libpowerloss.so: tests/fault/powerloss.c tests/fault/powerloss_calls.c tests/fault/powerloss_int.h
	@mkdir -p $(dir $@)
	$(CC) $(PL_CFLAGS) -o $@ tests/fault/powerloss.c tests/fault/powerloss_calls.c -ldl -lpthread
$(B)/tests/test_powerloss: tests/fault/test_powerloss.c tests/unit/t.h $(B)/fault/libpowerloss.so
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS)
