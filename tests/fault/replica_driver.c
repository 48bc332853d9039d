/* replica_driver: the process tests/fault/replica.test.mjs kills with
 * SIGKILL at random moments. Modes (one JSON line per report on stdout):
 *   sync <db> <url>      sync_open, print {"start":F|null}, then sync_pull in a
 *                        loop printing {"round":i,"start":S,"end":E,"applied":A}
 *                        (S, E: position before/after; A: frames applied)
 *   once <db> <url>      the same, one round, then exit
 *   check <db>           the stored position as found ({"raw":F|null,
 *                        "pending":bool}), then after sync_open resolved it
 *                        ({"frame":F|null}), the data ({"max_id":K|null,
 *                        "count":N, "n":C}), and {"integrity":"ok"|...}
 *   read <db> <ms>       a second process reading while syncs run: read
 *                        transactions checking count(t) == c.n; prints
 *                        {"checks":N,"bad":B,"max_ms":M}
 * Threads: main thread only. */
#include "meta.h"
#include "sync.h"
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void print_frame(const char *key, bool has, uint64_t f)
{
	if (has)
		printf("\"%s\":%llu", key, (unsigned long long)f);
	else
		printf("\"%s\":null", key);
}

static int do_sync(const char *db, const char *url, int rounds)
{
	struct sync_opts o = {.db_path = db, .sync_url = url, .timeout_ms = 5000};
	struct sync *s;
	struct err e;
	if (sync_open(&o, &s, &e)) {
		fprintf(stderr, "sync_open: %s\n", e.msg);
		return 1;
	}
	struct sync_info p;
	sync_position(s, &p);
	printf("{");
	print_frame("start", p.has_frame, p.frame_no);
	printf("}\n");
	fflush(stdout);
	for (int i = 0; rounds == 0 || i < rounds; i++) {
		struct sync_info a, b;
		sync_position(s, &a);
		int rc = sync_pull(s, &b, &e);
		if (rc) {
			printf("{\"round\":%d,\"error\":%d}\n", i, rc);
			fprintf(stderr, "sync_pull: %s\n", e.msg);
		} else {
			printf("{\"round\":%d,", i);
			print_frame("start", a.has_frame, a.frame_no);
			printf(",");
			print_frame("end", b.has_frame, b.frame_no);
			printf(",\"applied\":%llu}\n", (unsigned long long)b.frames_applied);
		}
		fflush(stdout);
		usleep(2000);
	}
	sync_close(s);
	return 0;
}

static long long q1(sqlite3 *db, const char *sql, bool *null)
{
	sqlite3_stmt *st;
	long long v = -1;
	*null = true;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		v = sqlite3_column_int64(st, 0);
		*null = false;
	}
	sqlite3_finalize(st);
	return v;
}

static int do_check(const char *db)
{
	struct meta *m;
	struct meta_pos raw;
	struct err e;
	if (meta_open(db, &m, &e) || meta_load(m, &raw, &e)) {
		fprintf(stderr, "meta: %s\n", e.msg);
		return 1;
	}
	meta_close(m);
	struct sync_opts o = {.db_path = db, .sync_url = "http://127.0.0.1:1"};
	struct sync *s;
	if (sync_open(&o, &s, &e)) {
		fprintf(stderr, "sync_open: %s\n", e.msg);
		return 1;
	}
	struct sync_info p;
	sync_position(s, &p);
	sync_close(s);
	sqlite3 *d;
	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return 1;
	bool null, n2, n3;
	sqlite3_exec(d, "BEGIN", NULL, NULL, NULL);
	long long max_id = q1(d, "SELECT max(id) FROM t", &null);
	long long count = q1(d, "SELECT count(*) FROM t", &n2);
	long long cn = q1(d, "SELECT n FROM c", &n3);
	sqlite3_exec(d, "COMMIT", NULL, NULL, NULL);
	sqlite3_stmt *st;
	const char *integ = "?";
	char ib[200] = "";
	if (sqlite3_prepare_v2(d, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		snprintf(ib, sizeof ib, "%s", (const char *)sqlite3_column_text(st, 0));
		integ = ib;
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
	printf("{");
	print_frame("raw", raw.has_frame, raw.frame_no);
	printf(",\"pending\":%s,", raw.has_pending ? "true" : "false");
	print_frame("frame", p.has_frame, p.frame_no);
	printf(",");
	print_frame("max_id", !null, (uint64_t)max_id);
	printf(",\"count\":%lld,\"n\":%lld,\"integrity\":\"", n2 ? -1 : count, n3 ? -1 : cn);
	for (const char *c = integ; *c; c++)
		putchar(*c == '"' || *c == '\\' || *c < 0x20 ? '?' : *c);
	printf("\"}\n");
	return 0;
}

static int do_read(const char *db, int ms)
{
	sqlite3 *d = NULL;
	double t0 = now_ms(), max_ms = 0;
	while (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(d); /* the replica does not exist yet */
		d = NULL;
		if (now_ms() - t0 > ms) {
			printf("{\"checks\":0,\"bad\":0,\"max_ms\":0,\"error\":\"cannot open\"}\n");
			return 1;
		}
		usleep(10000);
	}
	sqlite3_busy_timeout(d, 10000);
	long checks = 0, bad = 0;
	while (now_ms() - t0 < ms) {
		double a = now_ms();
		bool n1, n2;
		sqlite3_exec(d, "BEGIN", NULL, NULL, NULL);
		long long count = q1(d, "SELECT count(*) FROM t", &n1);
		long long cn = q1(d, "SELECT n FROM c", &n2);
		sqlite3_exec(d, "COMMIT", NULL, NULL, NULL);
		double took = now_ms() - a;
		if (took > max_ms)
			max_ms = took;
		if (count >= 0 && cn >= 0) { /* both tables there */
			checks++;
			if (count != cn)
				bad++;
		}
	}
	sqlite3_close(d);
	printf("{\"checks\":%ld,\"bad\":%ld,\"max_ms\":%.3f}\n", checks, bad, max_ms);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && strcmp(argv[1], "sync") == 0)
		return do_sync(argv[2], argv[3], 0);
	if (argc >= 4 && strcmp(argv[1], "once") == 0)
		return do_sync(argv[2], argv[3], 1);
	if (argc >= 3 && strcmp(argv[1], "check") == 0)
		return do_check(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "read") == 0)
		return do_read(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: replica_driver sync|once <db> <url> | check <db> | read <db> <ms>\n");
	return 2;
}
