/* test_cl_sync: libclient/sync.c against the real sqld (build/<v>/sqld on an
 * ephemeral loopback port in a temp dir). Writes go to the primary over
 * Hrana HTTP (/v2/pipeline), whose answers carry replication_index: the
 * frame_no the replica must reach.
 *  - a sync brings the data, at exactly the primary's frame_no;
 *  - after a restart of sqld a sync fetches only the new frames;
 *  - a wiped sqld (new log_id) makes the replica start over: old tables gone;
 *  - with --max-log-size 1 a far-behind replica catches up through Snapshot;
 *  - follow mode sees a commit without any sync call;
 *  - the replica file passes integrity_check, its pages match the primary's;
 *  - bounded memory: a 64 MB database reached through one Snapshot and a
 *    single 40 MB transaction through BatchLogEntries stream into the
 *    replica with the sync's buffers (sync_mem_peak) under 3 MB, pages
 *    byte-identical to the primary's afterwards;
 *  - a connection cut mid-Snapshot (a relaying proxy that closes after N
 *    answer bytes) leaves the replica as it was, and the next sync ends. */
#include "sync_int.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include "sync.h"
#include "t.h"
#include "xport.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];
static const char *build;

#define MEM_BOUND ((size_t)3 << 20) /* the sync's buffers, whatever the answer's size */
#define ROWS_SQL(n) \
	"INSERT INTO t(b) SELECT randomblob(4000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 " \
	"FROM c WHERE x < " #n ") SELECT x FROM c)"


struct srv {
	pid_t pid;
	char url[64];
};

static int srv_start(struct srv *s, const char *dbdir, const char *extra)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	char bin[300];
	snprintf(bin, sizeof bin, "%s/sqld", build);
	s->pid = fork();
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		char logp[400];
		snprintf(logp, sizeof logp, "%s.log", dbdir);
		int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (lfd >= 0)
			dup2(lfd, 2);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (extra)
			execl(bin, bin, "--db-path", dbdir, "--http-listen-addr", "127.0.0.1:0", "--max-log-size", extra,
			      (char *)NULL);
		else
			execl(bin, bin, "--db-path", dbdir, "--http-listen-addr", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[200];
	size_t n = 0;
	while (n < sizeof line - 1) {
		ssize_t r = read(fds[0], line + n, 1);
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	close(fds[0]);
	const char *u = strstr(line, "http://");
	if (!u)
		return -1;
	snprintf(s->url, sizeof s->url, "%s", u);
	return 0;
}

static void srv_stop(struct srv *s)
{
	kill(s->pid, SIGTERM);
	int st;
	waitpid(s->pid, &st, 0);
}

/* Runs statements (a JSON array of Hrana requests' SQL) on the primary;
 * returns the replication_index of the last one, or -1. */
static long long prim(struct srv *s, const char *const *sqls, size_t n)
{
	struct xport *x;
	struct err e;
	if (xport_http_open(s->url, 20000, &x, &e))
		return -1;
	struct buf b, r;
	buf_init(&b);
	buf_init(&r);
	buf_puts(&b, "{\"requests\":[");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s{\"type\":\"execute\",\"stmt\":{\"sql\":\"%s\"}}", i ? "," : "", sqls[i]);
	buf_puts(&b, ",{\"type\":\"close\"}]}");
	int status = 0;
	long long idx = -1;
	if (xport_http_post(x, "/v2/pipeline", "application/json", b.p, b.len, NULL, 0, &status, &r, &e) == 0 &&
	    status == 200) {
		buf_putc(&r, 0);
		const char *p = r.p, *q;
		while ((q = strstr(p, "\"replication_index\":\"")) != NULL) {
			idx = atoll(q + 21);
			p = q + 1;
		}
		if (strstr(r.p, "\"type\":\"error\""))
			fprintf(stderr, "primary error: %s\n", r.p), idx = -1;
	}
	buf_free(&b);
	buf_free(&r);
	xport_close(x);
	return idx;
}

static long long prim1(struct srv *s, const char *sql)
{
	return prim(s, &sql, 1);
}

static long long q1(const char *path, const char *sql)
{
	sqlite3 *db;
	long long v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -3;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		v = -2;
	else {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static void check_integrity(const char *path)
{
	sqlite3 *db;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static struct sync *rep_open(const char *name, struct srv *s, bool follow)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct sync_opts o = {.db_path = path, .sync_url = s->url, .auth_token = NULL, .follow = follow};
	struct sync *sy = NULL;
	struct err e;
	if (sync_open(&o, &sy, &e))
		fprintf(stderr, "sync_open: %s\n", e.msg);
	return sy;
}

static void test_sync_basic_restart_wipe(void)
{
	char pdir[300], rpath[400];
	snprintf(pdir, sizeof pdir, "%s/p1", dir);
	snprintf(rpath, sizeof rpath, "%s/r1.db", dir);
	struct srv s;
	CHECK(srv_start(&s, pdir, NULL) == 0);
	const char *init[] = {"CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)",
			      "INSERT INTO t(v) VALUES('a'),('b'),('c')",
			      "INSERT INTO t(v) SELECT hex(randomblob(1000)) FROM t"};
	long long idx = prim(&s, init, 3);
	CHECK(idx > 0);
	struct sync *sy = rep_open("r1.db", &s, false);
	CHECK(sy != NULL);
	struct sync_info info = {0};
	struct err e;
	sync_position(sy, &info);
	CHECK(!info.has_frame);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == -2); /* nothing before the first sync */
	int rc = sync_pull(sy, &info, &e);
	if (rc)
		fprintf(stderr, "sync_pull: %s\n", e.msg);
	CHECK(rc == 0);
	CHECK(info.has_frame && (long long)info.frame_no == idx);
	CHECK(info.frames_applied == (uint64_t)idx + 1); /* frames 0..idx */
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 6);
	/* up to date: nothing more */
	CHECK(sync_pull(sy, &info, &e) == 0 && info.frames_applied == 0);
	/* sqld restarts on the same files: only new frames come */
	srv_stop(&s);
	CHECK(srv_start(&s, pdir, NULL) == 0);
	long long idx2 = prim1(&s, "INSERT INTO t(v) VALUES('after restart')");
	CHECK(idx2 > idx);
	sync_close(sy);
	sy = rep_open("r1.db", &s, false);
	CHECK(sy != NULL);
	sync_position(sy, &info);
	CHECK(info.has_frame && (long long)info.frame_no == idx); /* the position survived */
	rc = sync_pull(sy, &info, &e);
	if (rc)
		fprintf(stderr, "sync_pull: %s\n", e.msg);
	CHECK(rc == 0 && (long long)info.frame_no == idx2);
	CHECK(info.frames_applied == (uint64_t)(idx2 - idx)); /* no re-download */
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 7);
	check_integrity(rpath);
	/* a wiped primary: new log_id, different data */
	srv_stop(&s);
	char cmd[1000];
	snprintf(cmd, sizeof cmd, "rm -rf %s", pdir);
	CHECK(system(cmd) == 0);
	CHECK(srv_start(&s, pdir, NULL) == 0);
	long long idx3 = prim1(&s, "CREATE TABLE other(x)");
	CHECK(idx3 >= 0);
	sync_close(sy);
	sy = rep_open("r1.db", &s, false); /* the new server listens elsewhere */
	rc = sync_pull(sy, &info, &e);
	if (rc)
		fprintf(stderr, "sync_pull (wiped): %s\n", e.msg);
	CHECK(rc == 0 && (long long)info.frame_no == idx3);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == -2); /* gone */
	CHECK(q1(rpath, "SELECT count(*) FROM other") == 0);
	check_integrity(rpath);
	sync_close(sy);
	/* pages identical to the primary's after checkpoints on both sides */
	srv_stop(&s);
	char ppath[400];
	snprintf(ppath, sizeof ppath, "%s/data", pdir);
	sqlite3 *db;
	CHECK(sqlite3_open(ppath, &db) == SQLITE_OK);
	sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(db);
	CHECK(sqlite3_open(rpath, &db) == SQLITE_OK);
	sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(db);
	snprintf(cmd, sizeof cmd, "cmp -s %s %s", ppath, rpath);
	CHECK(system(cmd) == 0);
}

static void test_sync_snapshot(void)
{
	char pdir[300], rpath[400];
	snprintf(pdir, sizeof pdir, "%s/p2", dir);
	snprintf(rpath, sizeof rpath, "%s/r2.db", dir);
	struct srv s;
	CHECK(srv_start(&s, pdir, "1") == 0);
	CHECK(prim1(&s, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)") >= 0);
	struct sync *sy = rep_open("r2.db", &s, false);
	struct sync_info info;
	struct err e;
	CHECK(sync_pull(sy, &info, &e) == 0);
	uint64_t early = info.frame_no;
	/* > 1 MB of frames: the log compacts into a snapshot */
	long long idx = -1;
	for (int i = 0; i < 12; i++)
		idx = prim1(&s, "INSERT INTO t(b) SELECT randomblob(3000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 "
				"UNION ALL SELECT x+1 FROM c WHERE x < 40) SELECT x FROM c)");
	CHECK(idx > 0);
	/* sqld compacts in the background once a commit takes the log past the
	 * bound and logs "compacted frames up to N into a snapshot": wait for
	 * it. The check below that fewer frames came than the log held proves
	 * a Snapshot was used */
	char logp[400];
	snprintf(logp, sizeof logp, "%s.log", pdir);
	for (int tries = 0; tries < 200; tries++) {
		FILE *lf = fopen(logp, "r");
		char line[512];
		bool seen = false;
		while (lf && fgets(line, sizeof line, lf))
			if (strstr(line, "compacted frames up to"))
				seen = true;
		if (lf)
			fclose(lf);
		if (seen)
			break;
		usleep(50000);
	}
	int rc = sync_pull(sy, &info, &e);
	if (rc)
		fprintf(stderr, "sync_pull: %s\n", e.msg);
	CHECK(rc == 0 && (long long)info.frame_no == idx);
	/* a snapshot holds each page once: fewer frames than the log had */
	CHECK(info.frames_applied < (uint64_t)idx - early);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 480);
	check_integrity(rpath);
	sync_close(sy);
	srv_stop(&s);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_sync_follow(void)
{
	char pdir[300], rpath[400];
	snprintf(pdir, sizeof pdir, "%s/p3", dir);
	snprintf(rpath, sizeof rpath, "%s/r3.db", dir);
	struct srv s;
	CHECK(srv_start(&s, pdir, NULL) == 0);
	CHECK(prim1(&s, "CREATE TABLE t(x)") >= 0);
	struct sync *sy = rep_open("r3.db", &s, true);
	CHECK(sy != NULL);
	for (int i = 0; i < 5; i++) {
		long long idx = prim1(&s, "INSERT INTO t VALUES(1)");
		CHECK(idx > 0);
		double t0 = now_ms();
		struct sync_info info = {0};
		while (now_ms() - t0 < 10000) {
			sync_position(sy, &info);
			if (info.has_frame && (long long)info.frame_no >= idx)
				break;
			usleep(1000);
		}
		CHECK(info.has_frame && (long long)info.frame_no == idx); /* seen without a sync call */
		CHECK(q1(rpath, "SELECT count(*) FROM t") == i + 1);
	}
	/* a long run of commits: the follow thread keeps the WAL bounded
	 * (TRUNCATE checkpoints past 1000 frames) */
	long long big = -1;
	for (int i = 0; i < 40; i++)
		big = prim1(&s, "INSERT INTO t SELECT randomblob(3500) FROM (WITH RECURSIVE c(x) AS (SELECT 1 "
				"UNION ALL SELECT x+1 FROM c WHERE x < 40) SELECT x FROM c)");
	CHECK(big > 0);
	struct err e0;
	CHECK(sync_until(sy, (uint64_t)big, 20000, &e0) == 0);
	char walp[420];
	snprintf(walp, sizeof walp, "%s-wal", rpath);
	struct stat wst;
	CHECK(stat(walp, &wst) == 0 && wst.st_size < (off_t)1200 * 4120);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 5 + 1600);
	/* sync_until returns at once when reached, and times out beyond */
	struct sync_info info;
	sync_position(sy, &info);
	struct err e;
	CHECK(sync_until(sy, info.frame_no, 1000, &e) == 0);
	CHECK(sync_until(sy, info.frame_no + 1000, 300, &e) == SYNC_E_TIMEOUT);
	/* a ~4 MB transaction (> SYNC_TXN_CHUNK frames) streams through the
	 * follow thread into the -wal: position polled, no sync call */
	long long bigtx = prim1(&s, "INSERT INTO t SELECT randomblob(4000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 "
				    "UNION ALL SELECT x+1 FROM c WHERE x < 1000) SELECT x FROM c)");
	CHECK(bigtx > big + 1000);
	double tb = now_ms();
	do {
		sync_position(sy, &info);
		if (info.has_frame && (long long)info.frame_no >= bigtx)
			break;
		usleep(2000);
	} while (now_ms() - tb < 20000);
	CHECK(info.has_frame && (long long)info.frame_no == bigtx);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 5 + 1600 + 1000);
	check_integrity(rpath);
	CHECK(sync_mem_peak(sy) < MEM_BOUND);
	sync_close(sy);
	/* the interval thread: no sync call either */
	char ipath[400];
	snprintf(ipath, sizeof ipath, "%s/r3i.db", dir);
	struct sync_opts io = {.db_path = ipath, .sync_url = s.url, .interval_ms = 50};
	CHECK(sync_open(&io, &sy, &e) == 0);
	long long idx = prim1(&s, "INSERT INTO t VALUES(2)");
	double t0 = now_ms();
	do {
		sync_position(sy, &info);
		if (info.has_frame && (long long)info.frame_no >= idx)
			break;
		usleep(5000);
	} while (now_ms() - t0 < 10000);
	CHECK(info.has_frame && (long long)info.frame_no == idx);
	CHECK(q1(ipath, "SELECT count(*) FROM t") == 6 + 2600);
	sync_close(sy);
	srv_stop(&s);
}

/* An unreachable primary: open works, sync says so, reads stay local. */
static void test_sync_offline(void)
{
	char rpath[400];
	snprintf(rpath, sizeof rpath, "%s/r4.db", dir);
	struct sync_opts o = {.db_path = rpath, .sync_url = "http://127.0.0.1:1", .timeout_ms = 2000};
	struct sync *sy;
	struct err e;
	CHECK(sync_open(&o, &sy, &e) == 0);
	struct sync_info info;
	CHECK(sync_pull(sy, &info, &e) == SYNC_E_NET);
	CHECK(q1(rpath, "SELECT count(*) FROM sqlite_master") == 0);
	sync_close(sy);
}


/* ---- bounded memory ---- */


/* Waits until sqld logged a compaction (it runs in the background). */
static bool wait_compacted(const char *pdir, int times)
{
	char logp[400];
	snprintf(logp, sizeof logp, "%s.log", pdir);
	for (int tries = 0; tries < 600; tries++) {
		FILE *lf = fopen(logp, "r");
		char line[512];
		int seen = 0;
		while (lf && fgets(line, sizeof line, lf))
			if (strstr(line, "compacted frames up to"))
				seen++;
		if (lf)
			fclose(lf);
		if (seen >= times)
			return true;
		usleep(50000);
	}
	return false;
}

/* Checkpoints both files (sqld stopped) and compares them byte for byte. */
static void check_identical(const char *pdir, const char *rpath)
{
	char ppath[400], cmd[1000];
	snprintf(ppath, sizeof ppath, "%s/data", pdir);
	sqlite3 *db;
	CHECK(sqlite3_open(ppath, &db) == SQLITE_OK);
	CHECK(sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(sqlite3_open(rpath, &db) == SQLITE_OK);
	CHECK(sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	snprintf(cmd, sizeof cmd, "cmp -s %s %s", ppath, rpath);
	CHECK(system(cmd) == 0);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}


static void test_sync_bounded_snapshot(void)
{
	char pdir[300], rpath[400];
	snprintf(pdir, sizeof pdir, "%s/p5", dir);
	snprintf(rpath, sizeof rpath, "%s/r5.db", dir);
	struct srv s;
	CHECK(srv_start(&s, pdir, "8") == 0); /* compact past 8 MB */
	CHECK(prim1(&s, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)") >= 0);
	struct sync *sy = rep_open("r5.db", &s, false);
	CHECK(sy != NULL);
	struct sync_info info;
	struct err e;
	CHECK(sync_pull(sy, &info, &e) == 0);
	uint64_t early = info.frame_no;
	long long idx = -1;
	for (int i = 0; i < 16; i++) /* 16 x 1000 rows of 4000 bytes: ~66 MB */
		idx = prim1(&s, ROWS_SQL(1000));
	CHECK(idx > 0);
	CHECK(wait_compacted(pdir, 1));
	int rc = sync_pull(sy, &info, &e);
	if (rc)
		fprintf(stderr, "sync_pull: %s\n", e.msg);
	CHECK(rc == 0 && (long long)info.frame_no == idx);
	CHECK(info.frames_applied < (uint64_t)idx - early); /* a Snapshot was used */
	CHECK(info.frames_applied > 8000);                  /* most of the database came that way */
	size_t peak = sync_mem_peak(sy);
	fprintf(stderr, "  snapshot: %llu frames applied, peak buffers %zu bytes\n",
		(unsigned long long)info.frames_applied, peak);
	CHECK(peak > 0 && peak < MEM_BOUND);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 16000);
	check_integrity(rpath);
	sync_close(sy);
	srv_stop(&s);
	char ppath[400];
	snprintf(ppath, sizeof ppath, "%s/data", pdir);
	CHECK(file_size(ppath) + file_size(rpath) > 0);
	check_identical(pdir, rpath);
	CHECK(file_size(rpath) > (long long)60 << 20 && (size_t)file_size(rpath) > 20 * MEM_BOUND);
}

static void test_sync_bounded_batch(void)
{
	char pdir[300], rpath[400];
	snprintf(pdir, sizeof pdir, "%s/p6", dir);
	snprintf(rpath, sizeof rpath, "%s/r6.db", dir);
	struct srv s;
	CHECK(srv_start(&s, pdir, NULL) == 0);
	CHECK(prim1(&s, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)") >= 0);
	struct sync *sy = rep_open("r6.db", &s, false);
	CHECK(sy != NULL);
	struct sync_info info;
	struct err e;
	CHECK(sync_pull(sy, &info, &e) == 0);
	uint64_t before = info.frame_no;
	long long idx = prim1(&s, ROWS_SQL(10000)); /* one transaction of ~40 MB */
	CHECK(idx > (long long)before + 10000);
	int rc = sync_pull(sy, &info, &e);
	if (rc)
		fprintf(stderr, "sync_pull: %s\n", e.msg);
	CHECK(rc == 0 && (long long)info.frame_no == idx);
	CHECK(info.frames_applied == (uint64_t)idx - before); /* every frame of the log: no snapshot */
	size_t peak = sync_mem_peak(sy);
	fprintf(stderr, "  batch: %llu frames in one transaction, peak buffers %zu bytes\n",
		(unsigned long long)info.frames_applied, peak);
	CHECK(peak > 0 && peak < MEM_BOUND);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 10000);
	check_integrity(rpath);
	sync_close(sy);
	srv_stop(&s);
	check_identical(pdir, rpath);
	CHECK((size_t)file_size(rpath) > 12 * MEM_BOUND);
}

/* ---- a connection cut mid-Snapshot ---- */

/* A relay on 127.0.0.1:<port> to sqld, one connection at a time; after a
 * request naming "/Snapshot" it forwards `cut` answer bytes, then closes
 * both sides (once). */
struct cutproxy {
	int lfd, port, target_port;
	long cut;
	int cuts;
	volatile int stop;
	pthread_t th;
};

static void relay(struct cutproxy *cp, int c)
{
	int u = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cp->target_port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(u, (struct sockaddr *)&a, sizeof a) < 0) {
		close(u);
		return;
	}
	bool snap = false;
	long sent = 0;
	char b[65536];
	while (!cp->stop) {
		struct pollfd pf[2] = {{.fd = c, .events = POLLIN}, {.fd = u, .events = POLLIN}};
		if (poll(pf, 2, 100) <= 0)
			continue;
		if (pf[0].revents) {
			ssize_t k = recv(c, b, sizeof b - 1, 0);
			if (k <= 0)
				break;
			b[k] = 0;
			if (memmem(b, (size_t)k, "/Snapshot", 9))
				snap = true;
			if (send(u, b, (size_t)k, MSG_NOSIGNAL) != k)
				break;
		}
		if (pf[1].revents) {
			ssize_t k = recv(u, b, sizeof b, 0);
			if (k <= 0)
				break;
			if (snap && cp->cut >= 0 && sent + k >= cp->cut) {
				if (cp->cut > sent && send(c, b, (size_t)(cp->cut - sent), MSG_NOSIGNAL) < 0)
					break;
				cp->cut = -1;
				cp->cuts++;
				break;
			}
			if (snap)
				sent += k;
			if (send(c, b, (size_t)k, MSG_NOSIGNAL) != k)
				break;
		}
	}
	close(u);
}

static void *cutproxy_main(void *arg)
{
	struct cutproxy *cp = arg;
	while (!cp->stop) {
		struct pollfd pf = {.fd = cp->lfd, .events = POLLIN};
		if (poll(&pf, 1, 100) <= 0)
			continue;
		int c = accept(cp->lfd, NULL, NULL);
		if (c < 0)
			continue;
		relay(cp, c);
		close(c);
	}
	return NULL;
}

static int cutproxy_start(struct cutproxy *cp, const char *target_url, long cut)
{
	memset(cp, 0, sizeof *cp);
	const char *colon = strrchr(target_url, ':');
	cp->target_port = colon ? atoi(colon + 1) : 0;
	cp->cut = cut;
	cp->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (bind(cp->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(cp->lfd, 4) < 0 ||
	    getsockname(cp->lfd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	cp->port = ntohs(a.sin_port);
	return pthread_create(&cp->th, NULL, cutproxy_main, cp);
}

static void cutproxy_stop(struct cutproxy *cp)
{
	cp->stop = 1;
	pthread_join(cp->th, NULL);
	close(cp->lfd);
}

static void test_sync_cut_snapshot(void)
{
	char pdir[300], rpath[400];
	snprintf(pdir, sizeof pdir, "%s/p7", dir);
	snprintf(rpath, sizeof rpath, "%s/r7.db", dir);
	struct srv s;
	CHECK(srv_start(&s, pdir, "1") == 0);
	CHECK(prim1(&s, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)") >= 0);
	CHECK(prim1(&s, "INSERT INTO t(b) VALUES(x'01')") > 0);
	struct cutproxy cp;
	CHECK(cutproxy_start(&cp, s.url, 2 << 20) == 0); /* cut after 2 MB of the Snapshot answer */
	char purl[64];
	snprintf(purl, sizeof purl, "http://127.0.0.1:%d", cp.port);
	struct sync_opts o = {.db_path = rpath, .sync_url = purl};
	struct sync *sy;
	struct err e;
	CHECK(sync_open(&o, &sy, &e) == 0);
	struct sync_info info;
	CHECK(sync_pull(sy, &info, &e) == 0);
	uint64_t early = info.frame_no;
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 1);
	long long idx = -1;
	for (int i = 0; i < 4; i++) /* ~4 MB, > 1 MB: compacted into a snapshot of ~1000 frames */
		idx = prim1(&s, ROWS_SQL(250));
	CHECK(idx > 0);
	CHECK(wait_compacted(pdir, 1));
	/* the cut: an error, and the replica exactly as before, though frames
	 * of the snapshot were streamed into the -wal (past mxFrame, unseen) */
	char walp[420];
	snprintf(walp, sizeof walp, "%s-wal", rpath);
	long long wal0 = file_size(walp);
	int rc = sync_pull(sy, &info, &e);
	CHECK(rc == SYNC_E_NET || rc == SYNC_E_PROTO);
	CHECK(cp.cuts == 1);
	CHECK(file_size(walp) > wal0 + (512 << 10));
	CHECK(info.has_frame && info.frame_no == early);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 1);
	check_integrity(rpath);
	/* a fresh process view: the position file and the WAL agree */
	sync_close(sy);
	CHECK(sync_open(&o, &sy, &e) == 0);
	sync_position(sy, &info);
	CHECK(info.has_frame && info.frame_no == early);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 1);
	/* the next sync completes */
	rc = sync_pull(sy, &info, &e);
	if (rc)
		fprintf(stderr, "sync_pull: %s\n", e.msg);
	CHECK(rc == 0 && (long long)info.frame_no == idx);
	CHECK(q1(rpath, "SELECT count(*) FROM t") == 1001);
	check_integrity(rpath);
	sync_close(sy);
	cutproxy_stop(&cp);
	srv_stop(&s);
	check_identical(pdir, rpath);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	build = getenv("SQLWIRE_BUILD");
	if (!build)
		build = "build/release";
	snprintf(dir, sizeof dir, "/tmp/test_cl_sync.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	T_RUN(test_sync_basic_restart_wipe);
	T_RUN(test_sync_snapshot);
	T_RUN(test_sync_follow);
	T_RUN(test_sync_offline);
	T_RUN(test_sync_cut_snapshot);
	T_RUN(test_sync_bounded_batch);
	T_RUN(test_sync_bounded_snapshot);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return T_DONE();
}
