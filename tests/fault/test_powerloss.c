/* test_powerloss: unit tests of the power-loss shim (tests/fault/powerloss.c).
 * Each case forks and re-executes this binary as "child <case> <dir>" under
 * LD_PRELOAD=<build>/fault/libpowerloss.so with SQLWIRE_PL_DIR=<dir>; the
 * child changes files, then loses power (SIGUSR2 or SQLWIRE_PL_AFTER); the
 * parent (no shim) checks that exactly the durable state is left on disk.
 * Threads: main thread only (the child also has the shim's watcher). */
#include "../unit/t.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char shim[PATH_MAX];

/* ---- the child side (runs under the shim) ---- */
static void fill(char *b, char c, size_t n)
{
	memset(b, c, n);
}

static int xopen(const char *dir, const char *name, int flags)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, flags, 0644);
	if (fd < 0)
		_exit(10);
	return fd;
}

static void xpwrite(int fd, char c, size_t n, off_t off)
{
	char b[16384];
	fill(b, c, n);
	if (pwrite(fd, b, n, off) != (ssize_t)n)
		_exit(11);
}

static void dsync(const char *dir)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	if (d < 0 || fsync(d) != 0)
		_exit(12);
	close(d);
}

static void lose_power(void)
{
	kill(getpid(), SIGUSR2);
	for (;;)
		pause(); /* the shim's thread ends the process */
}

/* f: 8192 x 'A', created and named durably */
static int durable_a(const char *dir)
{
	int fd = xopen(dir, "f", O_RDWR | O_CREAT);
	dsync(dir);
	xpwrite(fd, 'A', 8192, 0);
	if (fsync(fd) != 0)
		_exit(13);
	return fd;
}

static int child(const char *c, const char *dir)
{
	char p[PATH_MAX], q[PATH_MAX];
	snprintf(p, sizeof p, "%s/f", dir);
	snprintf(q, sizeof q, "%s/tmp", dir);
	if (strcmp(c, "content") == 0 || strcmp(c, "count") == 0 || strcmp(c, "torn") == 0) {
		int fd = durable_a(dir);
		xpwrite(fd, 'B', 8192, 4096); /* overwrite half, extend to 12288 */
		if (write(fd, "xyz", 3) != 3) /* at offset 0 (the file position) */
			_exit(14);
		if (ftruncate(fd, 16384) != 0)
			_exit(15);
		if (strcmp(c, "count") == 0)
			xpwrite(fd, 'C', 10, 0); /* SQLWIRE_PL_AFTER=7: lost before this */
		lose_power();
	}
	if (strcmp(c, "exit") == 0) { /* SQLWIRE_PL_AT_EXIT=1: lost as it exits */
		int fd = durable_a(dir);
		xpwrite(fd, 'E', 100, 0);
		exit(0);
	}
	if (strcmp(c, "shrink") == 0) {
		int fd = durable_a(dir);
		if (ftruncate(fd, 100) != 0)
			_exit(15);
		xpwrite(fd, 'D', 100, 8000);
		lose_power();
	}
	if (strcmp(c, "create") == 0) { /* content synced, name not */
		int fd = xopen(dir, "g", O_RDWR | O_CREAT);
		xpwrite(fd, 'G', 100, 0);
		fsync(fd);
		lose_power();
	}
	if (strcmp(c, "trunc") == 0) {
		close(durable_a(dir));
		int fd = xopen(dir, "f", O_RDWR | O_TRUNC);
		xpwrite(fd, 'T', 10, 0);
		lose_power();
	}
	if (strcmp(c, "rename") == 0 || strcmp(c, "rename_synced") == 0) {
		close(durable_a(dir));
		int fd = xopen(dir, "tmp", O_RDWR | O_CREAT | O_TRUNC);
		xpwrite(fd, 'N', 5000, 0);
		fsync(fd);
		close(fd);
		if (rename(q, p) != 0)
			_exit(16);
		if (strcmp(c, "rename_synced") == 0)
			dsync(dir);
		lose_power();
	}
	if (strcmp(c, "unlink") == 0 || strcmp(c, "unlink_synced") == 0) {
		close(durable_a(dir));
		if (unlinkat(AT_FDCWD, p, 0) != 0)
			_exit(17);
		if (strcmp(c, "unlink_synced") == 0)
			dsync(dir);
		lose_power();
	}
	return 3;
}

/* ---- the parent side ---- */
static int run_child(const char *c, const char *dir, const char *after, const char *seed)
{
	pid_t pid = fork();
	if (pid == 0) {
		setenv("LD_PRELOAD", shim, 1);
		setenv("SQLWIRE_PL_DIR", dir, 1);
		if (after)
			setenv("SQLWIRE_PL_AFTER", after, 1);
		if (strcmp(c, "exit") == 0)
			setenv("SQLWIRE_PL_AT_EXIT", "1", 1);
		if (seed) {
			setenv("SQLWIRE_PL_TORN", "1", 1);
			setenv("SQLWIRE_PL_SEED", seed, 1);
		}
		/* an ASan build of this binary with a shim built without ASan */
		char ao[1024];
		const char *old = getenv("ASAN_OPTIONS");
		snprintf(ao, sizeof ao, "%s%sverify_asan_link_order=0", old ? old : "", old && *old ? ":" : "");
		setenv("ASAN_OPTIONS", ao, 1);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0 && !getenv("SQLWIRE_PL_VERBOSE"))
			dup2(devnull, 2);
		execl("/proc/self/exe", "test_powerloss", "child", c, dir, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *mkdir_t(char *buf)
{
	snprintf(buf, PATH_MAX, "/tmp/test_powerloss-XXXXXX");
	if (!mkdtemp(buf))
		return NULL;
	strcat(buf, "/t");
	mkdir(buf, 0755);
	return buf;
}

static void rm_rf(const char *root)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	(void)!system(cmd);
}

static void cleanup(char *dir)
{
	*strrchr(dir, '/') = 0;
	rm_rf(dir);
}

/* the file's content, malloc'ed; *n its size; NULL if missing */
static unsigned char *slurp(const char *dir, const char *name, size_t *n)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return NULL;
	struct stat st;
	fstat(fd, &st);
	unsigned char *b = malloc((size_t)st.st_size + 1);
	*n = (size_t)pread(fd, b, (size_t)st.st_size, 0);
	close(fd);
	return b;
}

static bool all(const unsigned char *b, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != c)
			return false;
	return true;
}

static int stash_entries(const char *dir)
{
	char s[PATH_MAX];
	snprintf(s, sizeof s, "%s.plstash", dir);
	DIR *d = opendir(s);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* f holds exactly 8192 x 'A' */
static void expect_a(const char *dir)
{
	size_t n = 0;
	unsigned char *b = slurp(dir, "f", &n);
	CHECK(b != NULL);
	CHECK(n == 8192);
	CHECK(b && all(b, n, 'A'));
	free(b);
}

static void case_with(const char *c, const char *after, void (*check)(const char *dir))
{
	char buf[PATH_MAX];
	char *dir = mkdir_t(buf);
	CHECK(dir != NULL);
	if (!dir)
		return;
	CHECK(run_child(c, dir, after, NULL) == 99);
	check(dir);
	cleanup(dir);
}

static void t_content(void)
{
	case_with("content", NULL, expect_a);
}

static void t_count(void)
{
	case_with("count", "7", expect_a);
}

static void t_at_exit(void)
{
	case_with("exit", NULL, expect_a);
}

static void t_shrink(void)
{
	case_with("shrink", NULL, expect_a);
}

static void t_trunc(void)
{
	case_with("trunc", NULL, expect_a);
}

static void check_no_g(const char *dir)
{
	size_t n;
	CHECK(slurp(dir, "g", &n) == NULL);
}

static void t_create_unsynced(void)
{
	case_with("create", NULL, check_no_g);
}

static void check_rename_undone(const char *dir)
{
	expect_a(dir);
	size_t n;
	CHECK(slurp(dir, "tmp", &n) == NULL); /* its creation was not durable either */
	CHECK(stash_entries(dir) == 0);
}

static void t_rename_unsynced(void)
{
	case_with("rename", NULL, check_rename_undone);
}

static void check_rename_kept(const char *dir)
{
	size_t n = 0;
	unsigned char *b = slurp(dir, "f", &n);
	CHECK(b && n == 5000 && all(b, n, 'N'));
	free(b);
	CHECK(slurp(dir, "tmp", &n) == NULL);
	CHECK(stash_entries(dir) == 0); /* the replaced file's link was dropped */
}

static void t_rename_synced(void)
{
	case_with("rename_synced", NULL, check_rename_kept);
}

static void t_unlink_unsynced(void)
{
	case_with("unlink", NULL, expect_a);
}

static void t_unlink_synced(void)
{
	char buf[PATH_MAX];
	char *dir = mkdir_t(buf);
	if (!dir)
		return;
	CHECK(run_child("unlink_synced", dir, NULL, NULL) == 99);
	size_t n;
	CHECK(slurp(dir, "f", &n) == NULL);
	cleanup(dir);
}

/* Torn: every sector holds one of its versions (A synced; B, xyz
 * un-synced), the size is 8192 or ends at a kept sector, and over many
 * seeds both outcomes of a sector show up. */
static void t_torn(void)
{
	int saw_new = 0, saw_old = 0, saw_longer = 0;
	for (int s = 1; s <= 24; s++) {
		char buf[PATH_MAX], seed[16];
		char *dir = mkdir_t(buf);
		if (!dir)
			return;
		snprintf(seed, sizeof seed, "%d", s);
		CHECK(run_child("torn", dir, NULL, seed) == 99);
		size_t n = 0;
		unsigned char *b = slurp(dir, "f", &n);
		CHECK(b != NULL);
		CHECK(n >= 8192 && n <= 16384 && n % 512 == 0);
		for (size_t off = 0; b && off < n; off += 512) {
			const unsigned char *x = b + off;
			bool ok;
			if (off == 0) /* A, or B never (B starts at 4096), or "xyz"+A */
				ok = all(x, 512, 'A') || (memcmp(x, "xyz", 3) == 0 && all(x + 3, 509, 'A'));
			else if (off < 4096)
				ok = all(x, 512, 'A');
			else if (off < 8192)
				ok = all(x, 512, 'A') || all(x, 512, 'B');
			else if (off < 12288)
				ok = all(x, 512, 'B') || all(x, 512, 0);
			else
				ok = all(x, 512, 0);
			CHECK(ok);
			if (off >= 4096 && off < 8192) {
				saw_new += all(x, 512, 'B');
				saw_old += all(x, 512, 'A');
			}
		}
		saw_longer += n > 8192;
		free(b);
		cleanup(dir);
	}
	CHECK(saw_new > 0);
	CHECK(saw_old > 0);
	CHECK(saw_longer > 0);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "child") == 0)
		return child(argv[2], argv[3]);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	*strrchr(self, '/') = 0; /* build/<v>/tests */
	if (snprintf(shim, sizeof shim, "%s/../fault/libpowerloss.so", self) >= (int)sizeof shim)
		return 1;
	T_RUN(t_content);
	T_RUN(t_count);
	T_RUN(t_at_exit);
	T_RUN(t_shrink);
	T_RUN(t_trunc);
	T_RUN(t_create_unsynced);
	T_RUN(t_rename_unsynced);
	T_RUN(t_rename_synced);
	T_RUN(t_unlink_unsynced);
	T_RUN(t_unlink_synced);
	T_RUN(t_torn);
	return T_DONE();
}
