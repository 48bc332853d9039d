/* bench/client/replica_read: a local point read through an embedded replica
 * (libsqlwire REPLICA connection: prepare once, then bind / step /
 * column_text / reset per read) against plain sqlite3 doing the same on the
 * same file in the same process. Target: replica <= 1.1x sqlite3.
 *
 *   sqlwire-bench-client-replica --sqld-port P [--rounds N] [--batch B] [--dir D]
 *
 * sqld must be running on 127.0.0.1:P (bench/run.sh starts it). The bench
 * writes BENCH_ROWS rows of kv through the replica connection (so they go to
 * the primary), syncs, then measures. Each round times B reads per target,
 * targets interleaved in alternating order; a figure is the median over
 * rounds of the mean time per read. Every read's value is checked.
 *
 * Build (from the repository root, after `make`):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Ibench -Iinclude -o build/release/bench/sqlwire-bench-client-replica \
 *      bench/client/replica_read.c bench/util.c build/release/libsqlwire.a \
 *      $(pkg-config --libs sqlite3 jansson libprotobuf-c openssl) -lpthread -lm
 * or `make build/release/bench/sqlwire-bench-client-replica`. */
#include "bench.h"
#include "sqlwire.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEL_SQL "SELECT v FROM kv WHERE k = ?"
#define MAXR 200

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void check_value(int k, const unsigned char *v)
{
	char want[64];
	snprintf(want, sizeof want, BENCH_VALUE_FMT, k);
	if (!v || strcmp((const char *)v, want) != 0)
		die("replica_read: wrong value for k=%d: %s", k, v ? (const char *)v : "NULL");
}

/* B reads through libsqlwire; returns ns per read */
static double run_sqlwire(sqlwire_stmt *st, int batch, uint64_t *rng)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < batch; i++) {
		int k = rand_key(rng);
		sqlwire_bind_int64(st, 1, k);
		if (sqlwire_step(st) != SQLWIRE_ROW)
			die("replica_read: sqlwire step: %s", sqlwire_errmsg(sqlwire_db_handle(st)));
		check_value(k, sqlwire_column_text(st, 0));
		sqlwire_reset(st);
	}
	return (double)(now_ns() - t0) / batch;
}

static double run_sqlite(sqlite3_stmt *st, int batch, uint64_t *rng)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < batch; i++) {
		int k = rand_key(rng);
		sqlite3_bind_int64(st, 1, k);
		if (sqlite3_step(st) != SQLITE_ROW)
			die("replica_read: sqlite3 step: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		check_value(k, sqlite3_column_text(st, 0));
		sqlite3_reset(st);
	}
	return (double)(now_ns() - t0) / batch;
}

int main(int argc, char **argv)
{
	int port = 0, rounds = 30, batch = 20000;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sqld-port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else
			die("usage: sqlwire-bench-client-replica --sqld-port P [--rounds N] [--batch B] [--dir D]");
	}
	if (port <= 0 || rounds < 1 || rounds > MAXR || batch < 1)
		die("replica_read: bad arguments (--sqld-port is required; rounds 1..%d)", MAXR);
	char tmpl[256], path[300], url[64];
	if (!dir) {
		snprintf(tmpl, sizeof tmpl, "%s/sqlwire-bench-replica.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(tmpl))
			die("replica_read: mkdtemp failed");
		dir = tmpl;
	}
	snprintf(path, sizeof path, "%s/replica-%d.db", dir, (int)getpid());
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

	/* the replica: data written through it goes to the primary */
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.sync_url = url;
	sqlwire *db = NULL;
	if (sqlwire_open_config(path, &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) != SQLWIRE_OK)
		die("replica_read: open replica: %s", sqlwire_errmsg(db));
	char fill[512];
	snprintf(fill, sizeof fill,
		 "CREATE TABLE IF NOT EXISTS kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL);"
		 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) "
		 "INSERT OR IGNORE INTO kv SELECT x, 'val-' || x || '-abcdefghijklmnopqrstuvwxyz' FROM c",
		 BENCH_ROWS);
	if (sqlwire_exec(db, fill, NULL, NULL, NULL) != SQLWIRE_OK)
		die("replica_read: fill: %s", sqlwire_errmsg(db));
	sqlwire_sync_info info;
	if (sqlwire_sync(db, &info) != SQLWIRE_OK)
		die("replica_read: sync: %s", sqlwire_errmsg(db));
	sqlwire_stmt *ws = NULL;
	if (sqlwire_prepare_v2(db, SEL_SQL, -1, &ws, NULL) != SQLWIRE_OK)
		die("replica_read: prepare: %s", sqlwire_errmsg(db));

	/* plain sqlite3 on the same file */
	sqlite3 *lite = NULL;
	sqlite3_stmt *ls = NULL;
	if (sqlite3_open_v2(path, &lite, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(lite, SEL_SQL, -1, &ls, NULL) != SQLITE_OK)
		die("replica_read: sqlite3: %s", sqlite3_errmsg(lite));

	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	run_sqlwire(ws, batch, &rng); /* warm up both */
	run_sqlite(ls, batch, &rng);
	double a[MAXR], b[MAXR], r[MAXR];
	for (int i = 0; i < rounds; i++) {
		if (i % 2) {
			a[i] = run_sqlwire(ws, batch, &rng);
			b[i] = run_sqlite(ls, batch, &rng);
		} else {
			b[i] = run_sqlite(ls, batch, &rng);
			a[i] = run_sqlwire(ws, batch, &rng);
		}
		r[i] = a[i] / b[i];
	}
	double ma = median(a, rounds), mb = median(b, rounds), mr = median(r, rounds);
	printf("local point read through a replica vs plain sqlite3 (same file, %d rounds x %d reads)\n", rounds, batch);
	printf("  libsqlwire replica   %8.0f ns/read\n", ma);
	printf("  sqlite3              %8.0f ns/read\n", mb);
	printf("  ratio                %8.3fx (median of per-round ratios; target <= 1.1x)  %s\n", mr,
	       mr <= 1.1 ? "ok" : "ABOVE TARGET");
	sqlite3_finalize(ls);
	sqlite3_close(lite);
	sqlwire_finalize(ws);
	sqlwire_close(db);
	char f[400];
	static const char *const sfx[] = {"", "-wal", "-shm", "-sqlwire-pos"};
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		snprintf(f, sizeof f, "%s%s", path, sfx[i]);
		unlink(f);
	}
	if (dir == tmpl)
		rmdir(tmpl);
	return 0;
}
