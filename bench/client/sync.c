/* bench/client/sync.c: embedded-replica sync measured against baselines, in
 * one run, against a real sqld it starts itself (loopback, temp dir):
 *
 *  1. lag in follow mode: a replica follows LogEntries; a loop commits one
 *     INSERT at a time on the primary (Hrana HTTP) and waits, with
 *     sync_until (a condition variable, no polling), until the replica has
 *     applied it. lag = local visibility - the commit's acknowledgement
 *     (the commit happened before the acknowledgement, so this slightly
 *     understates; "from send" is an upper bound). p50 / p99 / max.
 *     Target: p99 <= 5 ms on loopback.
 *  2. throughput: a fresh replica syncs a primary holding ~SIZE MB of frames
 *     (sync_pull from zero: BatchLogEntries, apply, fsync at the end) vs a
 *     plain copy (read + write + fsync, 1 MiB buffers) of the same number of
 *     page bytes; frames/s and MB/s side by side with the ratio.
 *
 * Run: make build/release/bench/client_sync &&
 *      SQLWIRE_BUILD=build/release build/release/bench/client_sync [commits] [MB]
 * (defaults 300 commits, 32 MB). Threads: main, plus the library's follow thread. */
#include "sync.h"
#include "xport.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *build;
static char dir[256];
static pid_t srv_pid;
static char url[64];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int srv_start(void)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	char bin[300], db[300];
	snprintf(bin, sizeof bin, "%s/sqld", build);
	snprintf(db, sizeof db, "%s/primary", dir);
	srv_pid = fork();
	if (srv_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		dup2(fds[1], 1);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, "--db-path", db, "--http-listen-addr", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[200];
	size_t n = 0;
	while (n < sizeof line - 1 && read(fds[0], line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	close(fds[0]);
	const char *u = strstr(line, "http://");
	if (!u)
		return -1;
	snprintf(url, sizeof url, "%s", u);
	return 0;
}

/* One statement on the primary; the replication_index, or -1. */
static long long prim(struct xport *x, const char *sql)
{
	struct buf b, r;
	buf_init(&b);
	buf_init(&r);
	buf_printf(&b, "{\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"%s\"}},{\"type\":\"close\"}]}", sql);
	int status = 0;
	long long idx = -1;
	struct err e;
	if (xport_http_post(x, "/v2/pipeline", "application/json", b.p, b.len, NULL, 0, &status, &r, &e) == 0 &&
	    status == 200) {
		buf_putc(&r, 0);
		const char *q = strstr(r.p, "\"replication_index\":\"");
		if (q)
			idx = atoll(q + 21);
	}
	buf_free(&b);
	buf_free(&r);
	return idx;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static double copy_file(const char *from, const char *to, size_t bytes)
{
	char *buf = malloc(1 << 20);
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	double t0 = now_ms();
	size_t done = 0;
	while (done < bytes) {
		ssize_t n = read(in, buf, bytes - done < (1u << 20) ? bytes - done : (1u << 20));
		if (n <= 0) {
			lseek(in, 0, SEEK_SET); /* the source may be shorter: wrap around */
			continue;
		}
		if (write(out, buf, (size_t)n) != n)
			break;
		done += (size_t)n;
	}
	fdatasync(out);
	double t = now_ms() - t0;
	close(in);
	close(out);
	free(buf);
	return t;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	int commits = argc > 1 ? atoi(argv[1]) : 300;
	int mb = argc > 2 ? atoi(argv[2]) : 32;
	build = getenv("SQLWIRE_BUILD");
	if (!build)
		build = "build/release";
	const char *tmp = getenv("BENCH_TMP");
	snprintf(dir, sizeof dir, "%s/sqlwire-bench-sync.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || srv_start() < 0) {
		fprintf(stderr, "bench: cannot start %s/sqld\n", build);
		return 1;
	}
	struct xport *x = NULL;
	struct err e;
	int rc = 1;
	if (xport_http_open(url, 20000, &x, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		goto out;
	}
	prim(x, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");

	/* ---- 1. lag in follow mode ---- */
	char rpath[400];
	snprintf(rpath, sizeof rpath, "%s/follow.db", dir);
	struct sync_opts o = {.db_path = rpath, .sync_url = url, .follow = true};
	struct sync *s;
	if (sync_open(&o, &s, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		goto out;
	}
	long long idx = prim(x, "INSERT INTO t(v) VALUES(randomblob(100))");
	if (idx < 0 || sync_until(s, (uint64_t)idx, 10000, &e)) {
		fprintf(stderr, "bench: follow does not start: %s\n", e.msg);
		goto out;
	}
	usleep(200000);
	double *lag = calloc((size_t)commits, sizeof *lag), *lag_send = calloc((size_t)commits, sizeof *lag_send);
	int n = 0;
	for (int i = 0; i < commits; i++) {
		double t0 = now_ms();
		idx = prim(x, "INSERT INTO t(v) VALUES(randomblob(200))");
		double t1 = now_ms();
		if (idx < 0 || sync_until(s, (uint64_t)idx, 10000, &e)) {
			fprintf(stderr, "bench: commit %d not seen: %s\n", i, e.msg);
			break;
		}
		double t2 = now_ms();
		lag[n] = t2 - t1;
		lag_send[n++] = t2 - t0;
	}
	sync_close(s);
	qsort(lag, (size_t)n, sizeof *lag, cmp_d);
	qsort(lag_send, (size_t)n, sizeof *lag_send, cmp_d);
	printf("replica lag, follow mode (%d commits, loopback)\n", n);
	printf("  %-28s %9s %9s %9s\n", "", "p50 ms", "p99 ms", "max ms");
	printf("  %-28s %9.3f %9.3f %9.3f   target p99 <= 5 ms: %s\n", "commit ack -> visible", pct(lag, n, .5),
	       pct(lag, n, .99), lag[n - 1], pct(lag, n, .99) <= 5 ? "met" : "NOT met");
	printf("  %-28s %9.3f %9.3f %9.3f\n", "request sent -> visible", pct(lag_send, n, .5), pct(lag_send, n, .99),
	       lag_send[n - 1]);
	free(lag);
	free(lag_send);

	/* ---- 2. throughput of a full sync vs a file copy ---- */
	int per = 40; /* rows of ~3.5 KB per transaction: ~40 pages each */
	int txns = mb * 256 / per + 1;
	for (int i = 0; i < txns; i++) {
		char sql[300];
		snprintf(sql, sizeof sql,
			 "INSERT INTO t(v) SELECT randomblob(3500) FROM (WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL "
			 "SELECT k+1 FROM c WHERE k < %d) SELECT k FROM c)",
			 per);
		prim(x, sql);
	}
	snprintf(rpath, sizeof rpath, "%s/full.db", dir);
	struct sync_opts o2 = {.db_path = rpath, .sync_url = url};
	if (sync_open(&o2, &s, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		goto out;
	}
	struct sync_info info;
	double t0 = now_ms();
	if (sync_pull(s, &info, &e)) {
		fprintf(stderr, "bench: sync: %s\n", e.msg);
		sync_close(s);
		goto out;
	}
	double t_sync = now_ms() - t0;
	sync_close(s);
	size_t bytes = (size_t)info.frames_applied * 4096;
	char src[400], dst[400];
	snprintf(src, sizeof src, "%s/full.db", dir);
	snprintf(dst, sizeof dst, "%s/copy.bin", dir);
	/* the copy reads the replica's file (checkpointed at close, hot in the
	 * page cache) and writes the same number of page bytes */
	double t_copy = copy_file(src, dst, bytes);
	double fps = info.frames_applied / (t_sync / 1e3), mbs = bytes / 1048576.0 / (t_sync / 1e3);
	double cfps = info.frames_applied / (t_copy / 1e3), cmbs = bytes / 1048576.0 / (t_copy / 1e3);
	printf("sync throughput (%llu frames, %.1f MB of pages, fresh replica, one sync call)\n",
	       (unsigned long long)info.frames_applied, bytes / 1048576.0);
	printf("  %-28s %12s %9s %9s\n", "", "frames/s", "MB/s", "ms");
	printf("  %-28s %12.0f %9.1f %9.1f\n", "sqlwire sync", fps, mbs, t_sync);
	printf("  %-28s %12.0f %9.1f %9.1f\n", "plain file copy + fsync", cfps, cmbs, t_copy);
	printf("  %-28s %12.2fx\n", "ratio (copy time / sync time)", t_copy / t_sync);
	rc = 0;
out:
	xport_close(x);
	kill(srv_pid, SIGTERM);
	waitpid(srv_pid, NULL, 0);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
