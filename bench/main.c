/* main: the three benchmarks of `make bench`, each printed beside its
 * baselines with ratios, and a load generator for profiling sqld.
 *
 *   sqlwire-bench freeport
 *   sqlwire-bench run  --sqld-port P --pg-port Q --dir D [options]
 *   sqlwire-bench load --kind K [--sqld-port P] [--pg-port Q] [--dir D] [--clients N] [--seconds S]
 *                 K: ws-read http-read ws-insert pg-read pg-insert lite-read lite-insert
 *                    ws-pb-read http-pb-read (Hrana 3 over protobuf)
 *
 * The machine is shared and noisy, so targets are never measured one after
 * the other in long blocks: each benchmark runs in rounds, and within a round
 * every target runs for the same short time, in an order that alternates from
 * round to round. Percentiles are over all samples of all rounds; the range of
 * the per-round ratios is printed too, as an honest error bar. */
#include "bench.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEL_SQL "SELECT v FROM kv WHERE k = ?"
#define INS_SQL "INSERT INTO ins(v) VALUES (?)"
#define KV_DDL "CREATE TABLE IF NOT EXISTS kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)"
#define KV_FILL                                                                                  \
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) "      \
	"INSERT OR IGNORE INTO kv SELECT x, 'val-' || x || '-abcdefghijklmnopqrstuvwxyz' FROM c"
#define INS_DDL "CREATE TABLE IF NOT EXISTS ins(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"

static struct {
	int sqld_port, pg_port;
	int sqld_pid, pg_pid; /* for the contention monitor (0: unknown) */
	const char *dir;
	int rounds;        /* point-read rounds */
	int round_ms;      /* per target per round */
	int clients;       /* throughput clients */
	int tput_rounds;
	int tput_ms;
	int ins_rounds;
	int ins_ms;
	const char *kind;  /* load */
	int seconds;       /* load */
} O = {.rounds = 8, .round_ms = 400, .clients = 8, .tput_rounds = 4, .tput_ms = 1500,
       .ins_rounds = 4, .ins_ms = 1000, .seconds = 20};

/* ---- operations of each client kind ---- */

static _Atomic long ins_seq;

static void ins_value(char *out, size_t cap)
{
	long n = atomic_fetch_add(&ins_seq, 1);
	snprintf(out, cap, "ins-%ld-abcdefghijklmnopqrstuvwxyz", n);
}

/* Checks a StmtResult holding exactly the row (text want). */
static void check_point_result(const char *res, const char *end, int key, const char *via)
{
	char want[64];
	snprintf(want, sizeof want, BENCH_VALUE_FMT, key);
	const char *rows = js_get(res, end, "rows");
	const char *cell = js_path(rows, end, "0.0");
	if (js_len(rows, end) != 1 || js_len(js_at(rows, end, 0), end) != 1 ||
	    !js_str_eq(js_get(cell, end, "type"), end, "text") || !js_str_eq(js_get(cell, end, "value"), end, want))
		die("%s point read of %d: wrong result %.300s", via, key, res);
}

static void ws_point(struct ws *w, int key)
{
	char req[256];
	int n = snprintf(req, sizeof req,
			 "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"" SEL_SQL
			 "\",\"args\":[{\"type\":\"integer\",\"value\":\"%d\"}],\"want_rows\":true}}",
			 key);
	const char *end;
	const char *r = ws_request(w, req, (size_t)n, &end);
	if (!js_str_eq(js_get(r, end, "type"), end, "execute"))
		die("ws: response of the wrong type: %.200s", r);
	check_point_result(js_get(r, end, "result"), end, key, "sqld WS");
}

static void check_affected_1(const char *res, const char *end, const char *via)
{
	long long n;
	if (!js_int(js_get(res, end, "affected_row_count"), end, &n) || n != 1)
		die("%s insert: wrong result %.300s", via, res);
}

static void ws_insert(struct ws *w)
{
	char v[96], req[320];
	ins_value(v, sizeof v);
	int n = snprintf(req, sizeof req,
			 "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"" INS_SQL
			 "\",\"args\":[{\"type\":\"text\",\"value\":\"%s\"}],\"want_rows\":true}}",
			 v);
	const char *end;
	const char *r = ws_request(w, req, (size_t)n, &end);
	if (!js_str_eq(js_get(r, end, "type"), end, "execute"))
		die("ws: response of the wrong type: %.200s", r);
	check_affected_1(js_get(r, end, "result"), end, "sqld WS");
}

static void ws_exec_sql(struct ws *w, const char *sql)
{
	struct bbuf b = {0};
	bb_printf(&b, "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"%s\",\"want_rows\":false}}", sql);
	const char *end;
	ws_request(w, b.p, b.len, &end);
	bb_free(&b);
}

static void http_point(struct hc *h, int key)
{
	char req[256];
	snprintf(req, sizeof req,
		 "[{\"type\":\"execute\",\"stmt\":{\"sql\":\"" SEL_SQL
		 "\",\"args\":[{\"type\":\"integer\",\"value\":\"%d\"}],\"want_rows\":true}}]",
		 key);
	const char *end;
	const char *res = hc_pipeline(h, req, &end);
	const char *r0 = js_at(res, end, 0);
	if (js_len(res, end) != 1 || !js_str_eq(js_get(r0, end, "type"), end, "ok") ||
	    !js_str_eq(js_path(r0, end, "response.type"), end, "execute"))
		die("sqld HTTP point read of %d failed: %.300s", key, res);
	check_point_result(js_path(r0, end, "response.result"), end, key, "sqld HTTP");
}

/* ---- the floor: a TCP echo between two processes ----
 * A child process answers every ECHO_REQ-byte message with ECHO_RESP bytes
 * (the sizes of the WebSocket point read and its response). Its round trip is
 * what any server on this machine pays before doing any work: two wakeups and
 * two loopback sends. */
#define ECHO_REQ 170
#define ECHO_RESP 330
static pid_t echo_pid;
static int echo_port;

static bool read_exact(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t k = recv(fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void echo_start(void)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 8) ||
	    getsockname(ls, (struct sockaddr *)&a, &al))
		die("echo: cannot listen");
	echo_port = ntohs(a.sin_port);
	fflush(stdout);
	echo_pid = fork();
	if (echo_pid < 0)
		die("fork failed");
	if (echo_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char req[ECHO_REQ], resp[ECHO_RESP];
		memset(resp, 'x', sizeof resp);
		for (;;) {
			int fd = accept(ls, NULL, NULL);
			if (fd < 0)
				_exit(0);
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			while (read_exact(fd, req, sizeof req))
				write_all(fd, resp, sizeof resp);
			close(fd);
		}
	}
	close(ls);
}

static void echo_stop(void)
{
	if (echo_pid > 0) {
		kill(echo_pid, SIGKILL);
		waitpid(echo_pid, NULL, 0);
		echo_pid = 0;
	}
}

static void echo_op(int fd)
{
	char req[ECHO_REQ], resp[ECHO_RESP];
	memset(req, 'q', sizeof req);
	write_all(fd, req, sizeof req);
	if (!read_exact(fd, resp, sizeof resp) || resp[0] != 'x')
		die("echo: short answer");
}

/* ---- a generic target: an operation on a client of one kind ---- */

enum kind { K_WS, K_HTTP, K_PG, K_LITE, K_ECHO, K_WSPB, K_HTTPPB };
enum work { W_READ, W_INSERT };

struct client {
	enum kind kind;
	struct ws ws;
	struct hc hc;
	struct pgc *pg;
	struct lite *lite;
	int echo_fd;
};

static char lite_path[4096];

static void client_open(struct client *c, enum kind k)
{
	memset(c, 0, sizeof *c);
	c->kind = k;
	switch (k) {
	case K_WS:
		ws_open(&c->ws, O.sqld_port, "hrana2");
		ws_open_stream(&c->ws, 1);
		break;
	case K_HTTP:
	case K_HTTPPB:
		hc_open(&c->hc, O.sqld_port);
		break;
	case K_WSPB:
		ws_open(&c->ws, O.sqld_port, "hrana3-protobuf");
		ws_open_stream_pb(&c->ws, 1);
		break;
	case K_PG:
		c->pg = pgc_open(O.pg_port);
		pgc_prepare(c->pg, "sel", "SELECT v FROM kv WHERE k = $1", 1);
		pgc_prepare(c->pg, "ins", "INSERT INTO ins(v) VALUES ($1)", 1);
		break;
	case K_LITE:
		c->lite = lite_open(lite_path);
		break;
	case K_ECHO:
		c->echo_fd = tcp_connect(echo_port);
		break;
	}
}

static void client_op(struct client *c, enum work w, uint64_t *rng)
{
	char v[96];
	if (w == W_READ) {
		int key = rand_key(rng);
		switch (c->kind) {
		case K_WS: ws_point(&c->ws, key); break;
		case K_HTTP: http_point(&c->hc, key); break;
		case K_PG: pgc_point(c->pg, key); break;
		case K_LITE: lite_point(c->lite, key); break;
		case K_ECHO: echo_op(c->echo_fd); break;
		case K_WSPB:
		case K_HTTPPB: {
			char want[64];
			snprintf(want, sizeof want, BENCH_VALUE_FMT, key);
			if (c->kind == K_WSPB)
				ws_point_pb(&c->ws, key, SEL_SQL, want);
			else
				http_point_pb(&c->hc, key, SEL_SQL, want);
			break;
		}
		}
	} else {
		switch (c->kind) {
		case K_WS: ws_insert(&c->ws); break;
		case K_PG: ins_value(v, sizeof v); pgc_insert(c->pg, v); break;
		case K_LITE: ins_value(v, sizeof v); lite_insert(c->lite, v); break;
		case K_ECHO: echo_op(c->echo_fd); break; /* the floor: no work */
		case K_HTTP:
		case K_WSPB:
		case K_HTTPPB: die("no insert benchmark for this client");
		}
	}
}

static void client_close(struct client *c)
{
	switch (c->kind) {
	case K_WS:
	case K_WSPB: ws_close(&c->ws); break;
	case K_HTTP:
	case K_HTTPPB: hc_close(&c->hc); break;
	case K_PG: pgc_close(c->pg); break;
	case K_LITE: lite_close(c->lite); break;
	case K_ECHO: close(c->echo_fd); break;
	}
}

#define MAXR 32
struct target {
	const char *name;
	enum kind kind;
	struct client c;
	struct lat all;
	double p50[MAXR], p99[MAXR];
};

/* Runs every target for ms in each of rounds rounds; sequential ops, 1 client. */
static void run_rounds(struct target *t, int nt, enum work w, int rounds, int ms, int warmup)
{
	uint64_t rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)now_ns();
	for (int i = 0; i < nt; i++)
		for (int k = 0; k < warmup; k++)
			client_op(&t[i].c, w, &rng);
	for (int r = 0; r < rounds; r++) {
		for (int j = 0; j < nt; j++) {
			int i = r % 2 ? nt - 1 - j : j; /* alternate the order */
			struct lat l = {0};
			uint64_t stop = now_ns() + (uint64_t)ms * 1000000u;
			for (;;) {
				uint64_t t0 = now_ns();
				if (t0 >= stop)
					break;
				client_op(&t[i].c, w, &rng);
				lat_add(&l, now_ns() - t0);
			}
			t[i].p50[r] = lat_pct_us(&l, 50);
			t[i].p99[r] = lat_pct_us(&l, 99);
			lat_merge(&t[i].all, &l);
			lat_free(&l);
		}
	}
}

/* ---- concurrent clients ---- */

struct tput {
	enum kind kind;
	enum work work;
	int nclients;
	uint64_t start, stop;
	pthread_barrier_t ready, go;
	_Atomic long ops;
	pthread_mutex_t mu;
	struct lat lat;
};

static void *tput_thread(void *arg)
{
	struct tput *t = arg;
	struct client c;
	client_open(&c, t->kind);
	uint64_t rng = (uint64_t)now_ns() ^ (uint64_t)(uintptr_t)&c;
	rng |= 1;
	for (int i = 0; i < 50; i++)
		client_op(&c, t->work, &rng);
	pthread_barrier_wait(&t->ready);
	pthread_barrier_wait(&t->go); /* start and stop are set in between */
	struct lat l = {0};
	long n = 0;
	for (;;) {
		uint64_t t0 = now_ns();
		if (t0 >= t->stop)
			break;
		client_op(&c, t->work, &rng);
		uint64_t t1 = now_ns();
		if (t0 >= t->start && t1 <= t->stop) {
			n++;
			lat_add(&l, t1 - t0);
		}
	}
	atomic_fetch_add(&t->ops, n);
	pthread_mutex_lock(&t->mu);
	lat_merge(&t->lat, &l);
	pthread_mutex_unlock(&t->mu);
	lat_free(&l);
	client_close(&c);
	return NULL;
}

/* Runs nclients clients for ms after all have connected; returns ops/s. */
static double tput_run(enum kind k, enum work w, int nclients, int ms, struct lat *lat_out)
{
	struct tput t = {.kind = k, .work = w, .nclients = nclients};
	pthread_mutex_init(&t.mu, NULL);
	pthread_barrier_init(&t.ready, NULL, (unsigned)nclients + 1);
	pthread_barrier_init(&t.go, NULL, (unsigned)nclients + 1);
	pthread_t th[256];
	for (int i = 0; i < nclients; i++)
		if (pthread_create(&th[i], NULL, tput_thread, &t) != 0)
			die("pthread_create failed");
	pthread_barrier_wait(&t.ready); /* every client connected and warmed up */
	t.start = now_ns();
	t.stop = t.start + (uint64_t)ms * 1000000u;
	pthread_barrier_wait(&t.go);
	for (int i = 0; i < nclients; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&t.ready);
	pthread_barrier_destroy(&t.go);
	double r = (double)t.ops / ((double)ms / 1000.0);
	if (lat_out)
		lat_merge(lat_out, &t.lat);
	lat_free(&t.lat);
	pthread_mutex_destroy(&t.mu);
	return r;
}

/* ---- setup ---- */

static void setup_data(void)
{
	if (O.sqld_port) {
		struct ws w;
		ws_open(&w, O.sqld_port, "hrana2");
		ws_open_stream(&w, 1);
		ws_exec_sql(&w, KV_DDL);
		ws_exec_sql(&w, KV_FILL);
		ws_exec_sql(&w, INS_DDL);
		ws_close(&w);
	}

	if (O.pg_port) {
		struct pgc *p = pgc_open(O.pg_port);
		pgc_exec(p, "CREATE TABLE IF NOT EXISTS kv(k integer PRIMARY KEY, v text NOT NULL)");
		pgc_exec(p, "INSERT INTO kv SELECT x, 'val-' || x || '-abcdefghijklmnopqrstuvwxyz' "
			    "FROM generate_series(1, 10000) x ON CONFLICT DO NOTHING");
		pgc_exec(p, "CREATE TABLE IF NOT EXISTS ins(id bigserial PRIMARY KEY, v text NOT NULL)");
		pgc_exec(p, "VACUUM ANALYZE kv");
		pgc_close(p);
	}
	if (lite_path[0]) {
		struct lite *l = lite_open(lite_path);
		lite_exec(l, KV_DDL);
		lite_exec(l, KV_FILL);
		lite_exec(l, INS_DDL);
		lite_close(l);
	}
}

/* ---- contention monitor ----
 * The machine is shared: other people's builds and tests take CPU and write
 * to the disk while we measure. For each section we print how much CPU time
 * and how many bytes written went to processes that are not ours (machine
 * totals from /proc/stat and /proc/diskstats minus this process and its echo
 * child, sqld, and the PostgreSQL postmaster with all its children), so a
 * reader can tell a quiet-machine figure from a contested one. */
struct snap {
	long long busy, ours;      /* clock ticks: machine non-idle time, ours */
	long long disk, ours_disk; /* bytes: written to whole disks, written by us */
	uint64_t t;
};

/* Reads /proc/PID/FILE into buf; false if the process is gone. */
static bool proc_read(int pid, const char *file, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = 0;
	return true;
}

/* utime+stime (+ cutime+cstime of reaped children) and the ppid of pid. */
static long long proc_ticks(int pid, bool children, int *ppid)
{
	char buf[1024];
	*ppid = -1;
	if (!proc_read(pid, "stat", buf, sizeof buf))
		return 0;
	char *p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p)
		return 0;
	long long v[20] = {0};
	int k = 0;
	for (char *tok = strtok(p + 2, " "); tok && k < 20; tok = strtok(NULL, " "))
		v[k++] = atoll(tok);
	/* v[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17 */
	*ppid = (int)v[1];
	return v[11] + v[12] + (children ? v[13] + v[14] : 0);
}

static long long proc_wbytes(int pid)
{
	char buf[1024];
	if (!proc_read(pid, "io", buf, sizeof buf))
		return 0;
	const char *w = strstr(buf, "\nwrite_bytes:");
	return w ? atoll(w + 14) : 0;
}

/* pid (with the children it reaped) and its live children. */
static void tree_add(int pid, struct snap *s)
{
	int ppid;
	s->ours += proc_ticks(pid, true, &ppid);
	s->ours_disk += proc_wbytes(pid);
	DIR *d = opendir("/proc");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		int c = atoi(e->d_name);
		if (c <= 0)
			continue;
		long long t = proc_ticks(c, false, &ppid);
		if (ppid == pid) {
			s->ours += t;
			s->ours_disk += proc_wbytes(c);
		}
	}
	closedir(d);
}

/* Bytes written to whole disks (those with a device link: no partitions,
 * loop or device-mapper devices, which would count twice). */
static long long disk_written(void)
{
	FILE *f = fopen("/proc/diskstats", "r");
	if (!f)
		return 0;
	long long total = 0;
	char line[512], name[64], path[128];
	while (fgets(line, sizeof line, f)) {
		long long st[7];
		if (sscanf(line, "%*u %*u %63s %lld %lld %lld %lld %lld %lld %lld", name, &st[0], &st[1], &st[2], &st[3],
			   &st[4], &st[5], &st[6]) != 8)
			continue;
		snprintf(path, sizeof path, "/sys/block/%s/device", name);
		if (access(path, F_OK) == 0)
			total += st[6] * 512; /* sectors written */
	}
	fclose(f);
	return total;
}

static void snap_take(struct snap *s)
{
	memset(s, 0, sizeof *s);
	FILE *f = fopen("/proc/stat", "r");
	if (f) {
		long long u = 0, ni = 0, sy = 0, id = 0, io = 0, irq = 0, sirq = 0, st = 0;
		if (fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &u, &ni, &sy, &id, &io, &irq, &sirq, &st) == 8)
			s->busy = u + ni + sy + st; /* irq/softirq time is mostly our loopback traffic */
		fclose(f);
	}
	s->disk = disk_written();
	tree_add(getpid(), s);
	if (O.sqld_pid) {
		int ppid;
		s->ours += proc_ticks(O.sqld_pid, false, &ppid);
		s->ours_disk += proc_wbytes(O.sqld_pid);
	}
	if (O.pg_pid)
		tree_add(O.pg_pid, s);
	s->t = now_ns();
}

/* Prints what others used between a and now; sets contested. io_end is a
 * snapshot taken before our clients closed (a PostgreSQL backend takes its
 * write count with it when it exits; its CPU time goes to the postmaster). */
static bool contested;
static void section_contention(const struct snap *a, const struct snap *io_end)
{
	contested = false;
	if (!O.sqld_pid || !O.pg_pid) {
		printf("  (contention unknown: run through bench/run.sh)\n");
		return;
	}
	usleep(100 * 1000); /* let the postmaster reap the backends that just ended */
	struct snap b;
	snap_take(&b);
	double hz = (double)sysconf(_SC_CLK_TCK);
	double secs = (double)(b.t - a->t) / 1e9, io_secs = (double)(io_end->t - a->t) / 1e9;
	double cpus = ((double)(b.busy - a->busy) - (double)(b.ours - a->ours)) / hz / secs;
	double mbs = ((double)(io_end->disk - a->disk) - (double)(io_end->ours_disk - a->ours_disk)) / 1e6 / io_secs;
	cpus = cpus < 0 ? 0 : cpus;
	mbs = mbs < 0 ? 0 : mbs;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool busy = cpus > 0.25 * (double)ncpu, disk = mbs > 10;
	int nice = getpriority(PRIO_PROCESS, 0);
	contested = (busy && nice >= 0) || disk;
	printf("  meanwhile other processes (or the hypervisor) used %.2f of %ld CPUs and wrote %.1f MB/s to disk: %s\n",
	       cpus, ncpu, mbs,
	       contested ? "CONTESTED, figures unreliable"
	       : busy    ? "busy, but we ran at a higher priority (they mostly took our idle time)"
			 : "quiet enough");
}

/* ---- printing ---- */

static double minr(const double *a, const double *b, int n)
{
	double m = 1e300;
	for (int i = 0; i < n; i++)
		if (b[i] > 0 && a[i] / b[i] < m)
			m = a[i] / b[i];
	return m;
}

static double maxr(const double *a, const double *b, int n)
{
	double m = 0;
	for (int i = 0; i < n; i++)
		if (b[i] > 0 && a[i] / b[i] > m)
			m = a[i] / b[i];
	return m;
}

static int targets_met, targets_total, targets_contested;

static void verdict(bool ok)
{
	targets_total++;
	targets_met += ok;
	targets_contested += contested;
	printf("  %s%s", ok ? "MET" : "MISSED", contested ? " (contested)" : "");
}

static void print_ratio(const char *label, struct target *a, struct target *b, int rounds, const char *target,
			double limit)
{
	double p50 = lat_pct_us(&a->all, 50) / lat_pct_us(&b->all, 50);
	double p99 = lat_pct_us(&a->all, 99) / lat_pct_us(&b->all, 99);
	printf("  %-26s p50 %6.2fx (rounds %.2f-%.2f)   p99 %6.2fx", label, p50, minr(a->p50, b->p50, rounds),
	       maxr(a->p50, b->p50, rounds), p99);
	if (target) {
		printf("   target p50 %s", target);
		verdict(p50 <= limit);
	}
	printf("\n");
}

static void print_lat_table(struct target *t, int nt)
{
	printf("  %-26s %9s %10s %10s\n", "", "samples", "p50 us", "p99 us");
	for (int i = 0; i < nt; i++)
		printf("  %-26s %9zu %10.1f %10.1f\n", t[i].name, t[i].all.n, lat_pct_us(&t[i].all, 50),
		       lat_pct_us(&t[i].all, 99));
}

static void load_avg(char *out, size_t cap)
{
	FILE *f = fopen("/proc/loadavg", "r");
	out[0] = 0;
	if (f) {
		if (fgets(out, (int)cap, f))
			out[strcspn(out, " ")] = 0;
		fclose(f);
	}
}

static int cmd_run(void)
{
	snprintf(lite_path, sizeof lite_path, "%s/inproc.db", O.dir);
	setup_data();
	struct pgc *p = pgc_open(O.pg_port);
	char pgver[64];
	snprintf(pgver, sizeof pgver, "%s", pgc_version(p));
	pgc_close(p);
	char la[32];
	load_avg(la, sizeof la);
	printf("sqlwire bench: %ld CPUs, load %s, nice %d; SQLite %s; PostgreSQL %s; all on 127.0.0.1\n",
	       sysconf(_SC_NPROCESSORS_ONLN), la, getpriority(PRIO_PROCESS, 0), sqlite3_libversion(), pgver);
	printf("(targets interleaved in rounds; \"rounds a-b\" = range of the per-round ratios)\n\n");

	struct snap snap, io_end;
	/* 1 */
	printf("1. Point SELECT round trip, 1 client, `" SEL_SQL "`, %d rows, random keys\n", BENCH_ROWS);
	printf("   (%d rounds x %d ms per target; the floor is a bare echo server process, no work)\n", O.rounds,
	       O.round_ms);
	fflush(stdout);
	snap_take(&snap);
	echo_start();
	struct target t1[7] = {{.name = "sqld WS (hrana2)", .kind = K_WS},
			       {.name = "sqld HTTP (/v2/pipeline)", .kind = K_HTTP},
			       {.name = "PostgreSQL (libpq, prep.)", .kind = K_PG},
			       {.name = "SQLite in-process (prep.)", .kind = K_LITE},
			       {.name = "floor: TCP echo 170B/330B", .kind = K_ECHO},
			       {.name = "sqld WS (hrana3-protobuf)", .kind = K_WSPB},
			       {.name = "sqld HTTP (/v3-protobuf)", .kind = K_HTTPPB}};
	for (int i = 0; i < 7; i++)
		client_open(&t1[i].c, t1[i].kind);
	run_rounds(t1, 7, W_READ, O.rounds, O.round_ms, 300);
	snap_take(&io_end);
	for (int i = 0; i < 7; i++)
		client_close(&t1[i].c);
	section_contention(&snap, &io_end);
	print_lat_table(t1, 7);
	print_ratio("sqld-WS / PG", &t1[0], &t1[2], O.rounds, "<= 1.0x", 1.0);
	print_ratio("sqld-HTTP / PG", &t1[1], &t1[2], O.rounds, NULL, 0);
	print_ratio("sqld-WS / in-process", &t1[0], &t1[3], O.rounds, NULL, 0);
	/* the encodings side by side: protobuf should not be slower than JSON */
	print_ratio("WS protobuf / JSON", &t1[5], &t1[0], O.rounds, "<= 1.0x", 1.0);
	print_ratio("HTTP protobuf / JSON", &t1[6], &t1[1], O.rounds, "<= 1.0x", 1.0);
	double floor50 = lat_pct_us(&t1[4].all, 50);
	printf("  %-26s sqld WS %.1f us, sqld HTTP %.1f us, PostgreSQL %.1f us (sqld-WS/PG %.2fx)\n",
	       "p50 above the TCP floor", lat_pct_us(&t1[0].all, 50) - floor50, lat_pct_us(&t1[1].all, 50) - floor50,
	       lat_pct_us(&t1[2].all, 50) - floor50,
	       (lat_pct_us(&t1[0].all, 50) - floor50) / (lat_pct_us(&t1[2].all, 50) - floor50));
	for (int i = 0; i < 7; i++)
		lat_free(&t1[i].all);
	printf("\n");

	/* 2 */
	printf("2. Read throughput, %d concurrent clients (each its own connection), same point SELECT\n", O.clients);
	printf("   (%d rounds x %d ms per target)\n", O.tput_rounds, O.tput_ms);
	fflush(stdout);
	snap_take(&snap);
	double ws_ops = 0, pg_ops = 0, rws[MAXR], rpg[MAXR];
	struct lat lws = {0}, lpg = {0};
	for (int r = 0; r < O.tput_rounds; r++) {
		for (int j = 0; j < 2; j++) {
			bool ws = (j == 0) == (r % 2 == 0);
			double v = tput_run(ws ? K_WS : K_PG, W_READ, O.clients, O.tput_ms, ws ? &lws : &lpg);
			if (ws)
				ws_ops += v, rws[r] = v;
			else
				pg_ops += v, rpg[r] = v;
		}
	}
	ws_ops /= O.tput_rounds;
	pg_ops /= O.tput_rounds;
	snap_take(&io_end);
	section_contention(&snap, &io_end);
	printf("  %-26s %10s %16s %16s\n", "", "ops/s", "p50 us (loaded)", "p99 us (loaded)");
	printf("  %-26s %10.0f %16.1f %16.1f\n", "sqld WS (hrana2)", ws_ops, lat_pct_us(&lws, 50), lat_pct_us(&lws, 99));
	printf("  %-26s %10.0f %16.1f %16.1f\n", "PostgreSQL (libpq, prep.)", pg_ops, lat_pct_us(&lpg, 50),
	       lat_pct_us(&lpg, 99));
	printf("  %-26s     %6.2fx (rounds %.2f-%.2f)   target >= 1.0x", "sqld-WS / PG throughput", ws_ops / pg_ops,
	       minr(rws, rpg, O.tput_rounds), maxr(rws, rpg, O.tput_rounds));
	verdict(ws_ops / pg_ops >= 1.0);
	printf("\n\n");
	lat_free(&lws);
	lat_free(&lpg);

	/* 3 */
	printf("3. Single-row autocommit INSERT, 1 client, `" INS_SQL "`\n");
	printf("   (WAL, synchronous=FULL, 4096-byte pages for both SQLite files, same disk; PostgreSQL fsync defaults;\n");
	printf("    %d rounds x %d ms per target)\n", O.ins_rounds, O.ins_ms);
	fflush(stdout);
	struct target t3[4] = {{.name = "sqld WS (hrana2)", .kind = K_WS},
			       {.name = "SQLite in-process", .kind = K_LITE},
			       {.name = "PostgreSQL (info only)", .kind = K_PG},
			       {.name = "floor: TCP echo 170B/330B", .kind = K_ECHO}};
	snap_take(&snap);
	for (int i = 0; i < 4; i++)
		client_open(&t3[i].c, t3[i].kind);
	run_rounds(t3, 4, W_INSERT, O.ins_rounds, O.ins_ms, 20);
	snap_take(&io_end);
	for (int i = 0; i < 4; i++)
		client_close(&t3[i].c);
	section_contention(&snap, &io_end);
	echo_stop();
	print_lat_table(t3, 4);
	print_ratio("sqld-WS / in-process", &t3[0], &t3[1], O.ins_rounds, "<= 1.3x", 1.3);
	print_ratio("sqld-WS / PG", &t3[0], &t3[2], O.ins_rounds, NULL, 0);
	double lite50 = lat_pct_us(&t3[1].all, 50), floor3 = lat_pct_us(&t3[3].all, 50);
	printf("  %-26s in-process + TCP floor = %.1f us = %.2fx in-process (what a zero-cost server would score)\n",
	       "least any remote can do", lite50 + floor3, (lite50 + floor3) / lite50);
	for (int i = 0; i < 4; i++)
		lat_free(&t3[i].all);
	load_avg(la, sizeof la);
	printf("\ntargets met: %d of %d", targets_met, targets_total);
	if (targets_contested)
		printf(" (%d measured while other processes took over a quarter of the CPUs or wrote over 10 MB/s:"
		       " rerun on a quieter machine)",
		       targets_contested);
	printf("; load average at end %s\n", la);
	return 0;
}

/* A load generator for profiling: no baselines, prints ops/s. */
static int cmd_load(void)
{
	static const struct {
		const char *name;
		enum kind k;
		enum work w;
	} kinds[] = {{"ws-read", K_WS, W_READ},     {"http-read", K_HTTP, W_READ}, {"ws-insert", K_WS, W_INSERT},
		     {"pg-read", K_PG, W_READ},     {"pg-insert", K_PG, W_INSERT}, {"lite-read", K_LITE, W_READ},
		     {"lite-insert", K_LITE, W_INSERT}, {"ws-pb-read", K_WSPB, W_READ},
		     {"http-pb-read", K_HTTPPB, W_READ}};
	size_t i = 0;
	while (i < sizeof kinds / sizeof kinds[0] && strcmp(kinds[i].name, O.kind) != 0)
		i++;
	if (i == sizeof kinds / sizeof kinds[0])
		die("--kind must be one of ws-read http-read ws-insert pg-read pg-insert lite-read lite-insert "
		    "ws-pb-read http-pb-read");
	enum kind k = kinds[i].k;
	enum work w = kinds[i].w;
	if ((k == K_WS || k == K_HTTP || k == K_WSPB || k == K_HTTPPB) && !O.sqld_port)
		die("--kind %s needs --sqld-port", O.kind);
	if (k == K_PG && !O.pg_port)
		die("--kind %s needs --pg-port", O.kind);
	if (k == K_LITE) {
		if (!O.dir)
			die("--kind %s needs --dir", O.kind);
		snprintf(lite_path, sizeof lite_path, "%s/inproc.db", O.dir);
	}
	setup_data();
	struct lat l = {0};
	double ops = tput_run(k, w, O.clients, O.seconds * 1000, &l);
	printf("%s, %d clients, %d s: %.0f ops/s, p50 %.1f us, p99 %.1f us\n", O.kind, O.clients, O.seconds, ops,
	       lat_pct_us(&l, 50), lat_pct_us(&l, 99));
	lat_free(&l);
	return 0;
}

static int cmd_freeport(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &al))
		die("cannot find a free port");
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		die("usage: sqlwire-bench freeport | run --sqld-port P --pg-port Q --dir D | load --kind K ...");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			die("%s needs a value", a);
		const char *v = argv[++i];
		if (!strcmp(a, "--sqld-port")) O.sqld_port = atoi(v);
		else if (!strcmp(a, "--pg-port")) O.pg_port = atoi(v);
		else if (!strcmp(a, "--sqld-pid")) O.sqld_pid = atoi(v);
		else if (!strcmp(a, "--pg-pid")) O.pg_pid = atoi(v);
		else if (!strcmp(a, "--dir")) O.dir = v;
		else if (!strcmp(a, "--rounds")) O.rounds = atoi(v);
		else if (!strcmp(a, "--round-ms")) O.round_ms = atoi(v);
		else if (!strcmp(a, "--clients")) O.clients = atoi(v);
		else if (!strcmp(a, "--tput-rounds")) O.tput_rounds = atoi(v);
		else if (!strcmp(a, "--tput-ms")) O.tput_ms = atoi(v);
		else if (!strcmp(a, "--ins-rounds")) O.ins_rounds = atoi(v);
		else if (!strcmp(a, "--ins-ms")) O.ins_ms = atoi(v);
		else if (!strcmp(a, "--kind")) O.kind = v;
		else if (!strcmp(a, "--seconds")) O.seconds = atoi(v);
		else die("unknown option %s", a);
	}
	if (O.rounds < 1 || O.rounds > MAXR || O.tput_rounds < 1 || O.tput_rounds > MAXR || O.ins_rounds < 1 ||
	    O.ins_rounds > MAXR || O.clients < 1 || O.clients > 256)
		die("rounds must be 1..%d and clients 1..256", MAXR);
	if (!strcmp(argv[1], "freeport"))
		return cmd_freeport();
	if (!strcmp(argv[1], "run")) {
		if (!O.sqld_port || !O.pg_port || !O.dir)
			die("run needs --sqld-port, --pg-port and --dir");
		return cmd_run();
	}
	if (!strcmp(argv[1], "load")) {
		if (!O.kind)
			die("load needs --kind (and --sqld-port, --pg-port or --dir)");
		return cmd_load();
	}
	die("unknown command %s", argv[1]);
}
