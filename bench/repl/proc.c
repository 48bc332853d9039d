/* proc: sqld child processes, the contention monitor, signed samples. */
#include "rb.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* On a failed run, the tails of the sqld logs (run.sh's trap only shows its own sqld's). */
static char spawned_err[4][4200];
static int nspawned;
bool rb_ok;

static void tail_logs(void)
{
	if (rb_ok)
		return;
	fflush(stdout);
	for (int i = 0; i < nspawned; i++) {
		FILE *f = fopen(spawned_err[i], "r");
		if (!f)
			continue;
		static char lines[20][512];
		int n = 0;
		while (fgets(lines[n % 20], sizeof lines[0], f))
			n++;
		fclose(f);
		fprintf(stderr, "---- tail of %s\n", spawned_err[i]);
		for (int k = n > 20 ? n - 20 : 0; k < n; k++)
			fputs(lines[k % 20], stderr);
	}
}

void sqld_spawn(struct sqld_proc *s, const char *bin, const char *dir, const char *const *extra)
{
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	snprintf(s->out, sizeof s->out, "%s.out", dir);
	snprintf(s->err, sizeof s->err, "%s.err", dir);
	const char *argv[32];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "--db-path";
	argv[n++] = dir;
	argv[n++] = "--http-listen-addr";
	argv[n++] = "127.0.0.1:0";
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	int fo = open(s->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int fe = open(s->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fo < 0 || fe < 0)
		die("cannot create %s: %s", s->out, strerror(errno));
	if (nspawned == 0)
		atexit(tail_logs);
	if (nspawned < 4)
		snprintf(spawned_err[nspawned++], sizeof spawned_err[0], "%s", s->err);
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* sqld dies with us, whatever way we end (run.sh's trap kills us) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(fo);
	close(fe);
	s->pid = pid;
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(s->out, "r");
		char line[256];
		while (f && fgets(line, sizeof line, f))
			if (sscanf(line, "sqld listening on http://127.0.0.1:%d", &s->port) == 1)
				break;
		if (f)
			fclose(f);
		if (s->port)
			return;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->pid = 0;
			die("sqld (%s) exited at start", dir);
		}
		usleep(50 * 1000);
	}
	sqld_kill(s);
	die("sqld (%s) did not say where it listens", dir);
}

int sqld_stop(struct sqld_proc *s)
{
	if (!s->pid)
		return -1;
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 3000; i++) {
		int st;
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid) {
			s->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(10 * 1000);
	}
	sqld_kill(s);
	return -1;
}

void sqld_kill(struct sqld_proc *s)
{
	if (!s->pid)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

/* ---- contention ---- */

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

/* utime+stime (+ reaped children's) and ppid */
static long long proc_ticks(int pid, bool children, int *ppid)
{
	char buf[1024];
	*ppid = -1;
	if (!proc_read(pid, "stat", buf, sizeof buf))
		return 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	long long v[20] = {0};
	int k = 0;
	char *save = NULL;
	for (char *tok = strtok_r(p + 2, " ", &save); tok && k < 20; tok = strtok_r(NULL, " ", &save))
		v[k++] = atoll(tok);
	*ppid = (int)v[1];
	return v[11] + v[12] + (children ? v[13] + v[14] : 0);
}

void rb_disk_ios(long long *writes, long long *flushes)
{
	*writes = *flushes = 0;
	FILE *f = fopen("/proc/diskstats", "r");
	if (!f)
		return;
	char line[512], name[64], path[128];
	while (fgets(line, sizeof line, f)) {
		/* major minor name, then reads (4 fields), writes completed, merged,
		 * sectors, ms, in flight, ms, weighted ms, discards (4), flushes
		 * completed (kernel 5.5 and later) */
		long long v[16] = {0};
		int got = sscanf(line,
				 "%*u %*u %63s %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
				 name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
				 &v[11], &v[12], &v[13], &v[14], &v[15]);
		if (got < 6)
			continue;
		snprintf(path, sizeof path, "/sys/block/%s/device", name);
		if (access(path, F_OK) != 0)
			continue;
		*writes += v[4];
		if (got == 17)
			*flushes += v[15];
	}
	fclose(f);
}

uint64_t rb_cpu_ns(int pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	uint64_t sum = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char p2[128];
		snprintf(p2, sizeof p2, "/proc/%d/task/%.20s/schedstat", pid, e->d_name);
		FILE *f = fopen(p2, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof buf, f))
			sum += strtoull(buf, NULL, 10);
		fclose(f);
	}
	if (d)
		closedir(d);
	return sum;
}

static long long proc_wbytes(int pid)
{
	char buf[1024];
	if (!proc_read(pid, "io", buf, sizeof buf))
		return 0;
	const char *w = strstr(buf, "\nwrite_bytes:");
	return w ? atoll(w + 14) : 0;
}

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
			total += st[6] * 512;
	}
	fclose(f);
	return total;
}

void rb_snap_take(struct rb_snap *s)
{
	memset(s, 0, sizeof *s);
	FILE *f = fopen("/proc/stat", "r");
	if (f) {
		long long u = 0, ni = 0, sy = 0, id = 0, io = 0, irq = 0, sirq = 0, st = 0;
		if (fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &u, &ni, &sy, &id, &io, &irq, &sirq, &st) == 8)
			s->busy = u + ni + sy + st;
		fclose(f);
	}
	s->disk = disk_written();
	int me = getpid(), ppid;
	s->ours += proc_ticks(me, true, &ppid);
	s->ours_disk += proc_wbytes(me);
	DIR *d = opendir("/proc");
	for (struct dirent *e; d && (e = readdir(d));) {
		int c = atoi(e->d_name);
		if (c <= 0 || c == me)
			continue;
		long long t = proc_ticks(c, false, &ppid);
		if (ppid == me) {
			s->ours += t;
			s->ours_disk += proc_wbytes(c);
		}
	}
	if (d)
		closedir(d);
	s->t = now_ns();
}

double rb_idle_disk(int ms)
{
	struct rb_snap a, b;
	rb_snap_take(&a);
	usleep((useconds_t)ms * 1000);
	rb_snap_take(&b);
	double mbs = ((double)(b.disk - a.disk) - (double)(b.ours_disk - a.ours_disk)) / 1e6 / ((double)(b.t - a.t) / 1e9);
	return mbs < 0 ? 0 : mbs;
}

bool rb_contention(const struct rb_snap *a, double idle_before)
{
	struct rb_snap b;
	rb_snap_take(&b);
	double hz = (double)sysconf(_SC_CLK_TCK);
	double secs = (double)(b.t - a->t) / 1e9;
	double cpus = ((double)(b.busy - a->busy) - (double)(b.ours - a->ours)) / hz / secs;
	double mbs = ((double)(b.disk - a->disk) - (double)(b.ours_disk - a->ours_disk)) / 1e6 / secs;
	cpus = cpus < 0 ? 0 : cpus;
	mbs = mbs < 0 ? 0 : mbs;
	double idle_after = rb_idle_disk(300);
	double idle = idle_before > idle_after ? idle_before : idle_after;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool busy = cpus > 0.25 * (double)ncpu, disk = idle > 10;
	int nice = getpriority(PRIO_PROCESS, 0);
	bool contested = (busy && nice >= 0) || disk;
	printf("  meanwhile other processes (or the hypervisor) used %.2f of %ld CPUs; disk writes charged to none of\n"
	       "  our processes %.1f MB/s (includes the file system journal our fsyncs cause), %.1f MB/s while we idled: %s\n",
	       cpus, ncpu, mbs, idle,
	       contested ? "CONTESTED, figures unreliable"
	       : busy    ? "busy, but we ran at a higher priority (they mostly took our idle time)"
			 : "quiet enough");
	return contested;
}

/* ---- signed samples ---- */

void sam_add(struct sam *s, int64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			die("out of memory");
	}
	s->v[s->n++] = ns;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static double sam_pct_ns(struct sam *s, double pct)
{
	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof *s->v, cmp_i64);
	size_t rank = (size_t)((pct / 100.0) * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return (double)s->v[rank - 1];
}

double sam_pct_ms(struct sam *s, double pct)
{
	return sam_pct_ns(s, pct) / 1e6;
}

double sam_pct_us(struct sam *s, double pct)
{
	return sam_pct_ns(s, pct) / 1e3;
}

void sam_free(struct sam *s)
{
	free(s->v);
	*s = (struct sam){0};
}
