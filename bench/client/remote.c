/* bench/client/remote: the remote point query round trip through libsqlwire
 * (public API: sqlwire_prepare_v2 once, then bind / step / column_text /
 * reset per query) over WebSocket, against PostgreSQL through libpq on the
 * same query (bench/pg.c: PQprepare once, PQexecPrepared per query), and for
 * information libsqlwire over HTTP and the main bench's bare WebSocket client
 * (bench/ws.c: hand-built JSON, no library), which shows what the library
 * itself adds to sqld's round trip. Target: libsqlwire-WS p50 <= 1.0x
 * PostgreSQL's p50.
 *
 *   sqlwire-bench-client-remote --sqld-port P --pg-port Q [--rounds N] [--round-ms MS]
 *
 * sqld and PostgreSQL must be running on 127.0.0.1 (bench/run.sh starts
 * both). The data is the same as the main bench's (BENCH_ROWS rows of kv,
 * created if missing). Targets are interleaved in rounds with alternating
 * order, as in bench/main.c; every answer is checked. */
#include "bench.h"
#include "sqlwire.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEL_SQL "SELECT v FROM kv WHERE k = ?"
#define KV_DDL "CREATE TABLE IF NOT EXISTS kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)"
#define KV_FILL                                                                                  \
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) "      \
	"INSERT OR IGNORE INTO kv SELECT x, 'val-' || x || '-abcdefghijklmnopqrstuvwxyz' FROM c"
#define MAXR 64

struct target {
	const char *name;
	int kind; /* 0 libsqlwire WS, 1 PostgreSQL, 2 libsqlwire HTTP, 3 bare WS client */
	struct ws ws;
	sqlwire *db;
	sqlwire_stmt *st;
	struct pgc *pg;
	struct lat all;
	double p50[MAXR];
};

static void sw_open(struct target *t, const char *url)
{
	if (sqlwire_open_v2(url, &t->db, SQLWIRE_OPEN_READWRITE, NULL) != SQLWIRE_OK)
		die("libsqlwire open %s: %s", url, t->db ? sqlwire_errmsg(t->db) : "out of memory");
	char *err = NULL;
	if (sqlwire_exec(t->db, KV_DDL "; " KV_FILL, NULL, NULL, &err) != SQLWIRE_OK)
		die("libsqlwire setup: %s", err ? err : "?");
	if (sqlwire_prepare_v2(t->db, SEL_SQL, -1, &t->st, NULL) != SQLWIRE_OK)
		die("libsqlwire prepare: %s", sqlwire_errmsg(t->db));
}

static void sw_point(struct target *t, int key)
{
	char want[64];
	int wl = snprintf(want, sizeof want, BENCH_VALUE_FMT, key);
	if (sqlwire_bind_int(t->st, 1, key) != SQLWIRE_OK)
		die("libsqlwire bind: %s", sqlwire_errmsg(t->db));
	int rc = sqlwire_step(t->st);
	if (rc != SQLWIRE_ROW)
		die("libsqlwire point read of %d: %d %s", key, rc, sqlwire_errmsg(t->db));
	const unsigned char *v = sqlwire_column_text(t->st, 0);
	if (!v || sqlwire_column_bytes(t->st, 0) != wl || memcmp(v, want, (size_t)wl) != 0)
		die("libsqlwire point read of %d: got '%s'", key, v ? (const char *)v : "(null)");
	if ((rc = sqlwire_step(t->st)) != SQLWIRE_DONE)
		die("libsqlwire point read of %d: second step gave %d", key, rc);
	sqlwire_reset(t->st);
}

static void raw_point(struct target *t, int key)
{
	char req[256], want[64];
	int n = snprintf(req, sizeof req,
			 "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"" SEL_SQL
			 "\",\"args\":[{\"type\":\"integer\",\"value\":\"%d\"}],\"want_rows\":true}}",
			 key);
	snprintf(want, sizeof want, BENCH_VALUE_FMT, key);
	const char *end;
	const char *r = ws_request(&t->ws, req, (size_t)n, &end);
	if (!js_str_eq(js_get(js_path(r, end, "result.rows.0.0"), end, "value"), end, want))
		die("bare WS point read of %d: wrong result %.300s", key, r);
}

static void op(struct target *t, uint64_t *rng)
{
	int key = rand_key(rng);
	if (t->kind == 1)
		pgc_point(t->pg, key);
	else if (t->kind == 3)
		raw_point(t, key);
	else
		sw_point(t, key);
}

int main(int argc, char **argv)
{
	int sqld_port = 0, pg_port = 0, rounds = 8, round_ms = 400;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--sqld-port"))
			sqld_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--pg-port"))
			pg_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--round-ms"))
			round_ms = atoi(argv[i + 1]);
		else
			die("unknown option %s", argv[i]);
	}
	if (!sqld_port || !pg_port || rounds < 1 || rounds > MAXR || round_ms < 1)
		die("usage: %s --sqld-port P --pg-port Q [--rounds 1..%d] [--round-ms MS]", argv[0], MAXR);

#define NT 4
	struct target t[NT] = {{.name = "libsqlwire WS (hrana3)", .kind = 0},
			       {.name = "PostgreSQL (libpq, prep.)", .kind = 1},
			       {.name = "libsqlwire HTTP (/v3)", .kind = 2},
			       {.name = "bare WS client (bench/ws.c)", .kind = 3}};
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d", sqld_port);
	sw_open(&t[0], url);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", sqld_port);
	sw_open(&t[2], url);
	t[1].pg = pgc_open(pg_port);
	pgc_exec(t[1].pg, "CREATE TABLE IF NOT EXISTS kv(k integer PRIMARY KEY, v text NOT NULL)");
	pgc_exec(t[1].pg, "INSERT INTO kv SELECT x, 'val-' || x || '-abcdefghijklmnopqrstuvwxyz' "
			  "FROM generate_series(1, 10000) x ON CONFLICT DO NOTHING");
	pgc_exec(t[1].pg, "VACUUM ANALYZE kv");
	pgc_prepare(t[1].pg, "sel", "SELECT v FROM kv WHERE k = $1", 1);
	ws_open(&t[3].ws, sqld_port, "hrana2");
	ws_open_stream(&t[3].ws, 1);

	printf("libsqlwire remote point SELECT round trip, 1 client, `" SEL_SQL "`, %d rows, random keys\n",
	       BENCH_ROWS);
	printf("   (libsqlwire %s; PostgreSQL %s; %d rounds x %d ms per target, order alternating)\n",
	       sqlwire_libversion(), pgc_version(t[1].pg), rounds, round_ms);
	fflush(stdout);
	uint64_t rng = 0x9E3779B97F4A7C15ULL ^ now_ns();
	rng |= 1;
	for (int i = 0; i < NT; i++)
		for (int k = 0; k < 300; k++)
			op(&t[i], &rng);
	for (int r = 0; r < rounds; r++) {
		for (int j = 0; j < NT; j++) {
			int i = r % 2 ? NT - 1 - j : j;
			struct lat l = {0};
			uint64_t stop = now_ns() + (uint64_t)round_ms * 1000000u;
			for (;;) {
				uint64_t t0 = now_ns();
				if (t0 >= stop)
					break;
				op(&t[i], &rng);
				lat_add(&l, now_ns() - t0);
			}
			t[i].p50[r] = lat_pct_us(&l, 50);
			lat_merge(&t[i].all, &l);
			lat_free(&l);
		}
	}
	printf("  %-28s %9s %10s %10s\n", "", "samples", "p50 us", "p99 us");
	for (int i = 0; i < NT; i++)
		printf("  %-28s %9zu %10.1f %10.1f\n", t[i].name, t[i].all.n, lat_pct_us(&t[i].all, 50),
		       lat_pct_us(&t[i].all, 99));
	double lo = 1e9, hi = 0;
	for (int r = 0; r < rounds; r++) {
		double q = t[0].p50[r] / t[1].p50[r];
		lo = q < lo ? q : lo;
		hi = q > hi ? q : hi;
	}
	double p50 = lat_pct_us(&t[0].all, 50) / lat_pct_us(&t[1].all, 50);
	double p99 = lat_pct_us(&t[0].all, 99) / lat_pct_us(&t[1].all, 99);
	printf("  %-28s p50 %5.2fx (rounds %.2f-%.2f)   p99 %5.2fx   target p50 <= 1.0x  %s\n",
	       "libsqlwire-WS / PostgreSQL", p50, lo, hi, p99, p50 <= 1.0 ? "MET" : "MISSED");
	printf("  %-28s p50 %5.2fx   p99 %5.2fx\n", "libsqlwire-HTTP / PostgreSQL",
	       lat_pct_us(&t[2].all, 50) / lat_pct_us(&t[1].all, 50),
	       lat_pct_us(&t[2].all, 99) / lat_pct_us(&t[1].all, 99));
	printf("  %-28s p50 %5.2fx   p99 %5.2fx   (what the library adds to sqld's round trip)\n",
	       "libsqlwire-WS / bare WS", lat_pct_us(&t[0].all, 50) / lat_pct_us(&t[3].all, 50),
	       lat_pct_us(&t[0].all, 99) / lat_pct_us(&t[3].all, 99));
	for (int i = 0; i < NT; i++) {
		sqlwire_finalize(t[i].st);
		sqlwire_close(t[i].db);
		pgc_close(t[i].pg);
		if (t[i].kind == 3)
			ws_close(&t[i].ws);
		lat_free(&t[i].all);
	}
	return 0;
}
