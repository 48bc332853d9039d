/* powerloss: an LD_PRELOAD shim simulating a power loss for the fault tests
 * (tests/fault/powerloss*.test.mjs, tests/fault/test_powerloss.c). This
 * file: the model, its state (undo records) and the power loss itself; the
 * interposed calls are in powerloss_calls.c, what both share in
 * powerloss_int.h.
 *
 * kill -9 keeps the page cache, so a missing or misordered fsync goes
 * unnoticed. This shim keeps, for every file under $SQLWIRE_PL_DIR, an undo
 * log of every change not yet made durable, and on "power loss" rolls the
 * files back to what a disk would hold, then ends the process.
 *
 * THE MODEL (what survives a power loss):
 *  - File content and size: every tracked file reverts to its content and
 *    size at the end of its last successful fsync/fdatasync (both count the
 *    same: fdatasync persists the size a reader needs). Only changes made
 *    before that fsync started count as synced; a write racing with it does
 *    not. Writes through an O_SYNC/O_DSYNC descriptor are not special-cased
 *    (treated as un-synced: conservative).
 *  - Directory entries: a file creation (open/openat with O_CREAT of a name
 *    that did not exist), a rename and an unlink become durable only when
 *    every directory they touch is fsync'ed (through any descriptor of it)
 *    after the call returned. A real file system (ext4) may persist them
 *    earlier; it need not, and we assume the worst. Not followed by such an
 *    fsync, they are undone, newest first: a created file disappears, a
 *    renamed file gets its old name back and the file it replaced comes
 *    back (kept alive until then by a hard link in the stash directory
 *    $SQLWIRE_PL_STASH, default "$SQLWIRE_PL_DIR.plstash", which must be on
 *    the same file system and outside the tracked directory), an unlinked
 *    file comes back (same hard link trick).
 *  - Both are independent: a file whose name is durable can still lose its
 *    content, a file with synced content can still lose its name.
 *  - Torn mode ($SQLWIRE_PL_TORN=1): instead of losing every un-synced
 *    write, each 512-byte sector of a file independently ends up holding
 *    its content after some prefix of the un-synced writes to it (none,
 *    some, or all of them: the page cache was written back in pieces, in
 *    any order across sectors); a sector kept past the synced size extends
 *    the file, with zeros in the sectors that were not kept. Directory
 *    changes keep a random prefix of the un-synced ones (a journal commits
 *    in order). Random choices come from $SQLWIRE_PL_SEED (printed at power
 *    loss), so a failure can be replayed (up to thread scheduling).
 *  - Not tracked: mkdir/rmdir/link/symlink (treated as durable at once),
 *    writes glibc makes internally (stdio: fwrite/fflush/fclose; files
 *    opened with fopen), mmap'ed writes. The only mmap'ed files our programs
 *    write are SQLite's -shm wal-indexes: after a power loss no process
 *    survives, and SQLite rebuilds the wal-index from the -wal at the next
 *    open, so their content does not matter (their write()s that extend
 *    them are tracked like any file's, which is harmless).
 *  - Not interposed either (our programs do not use them): sync(), syncfs(),
 *    sync_file_range(), fallocate(), truncate() by path, copy_file_range()
 *    and sendfile() into files, O_SYNC/O_DSYNC as durable writes, a rename
 *    with RENAME_EXCHANGE (refused). A rename between two directories is
 *    durable only once both are fsync'ed. Directory changes are undone in
 *    order (never a later one kept while an earlier one is lost).
 *  - One process per tracked directory: each process's shim knows only its
 *    own changes. fork() under the shim is not supported.
 *
 * TRIGGER: $SQLWIRE_PL_AT_EXIT=1: the power fails as the process exits
 * (after a clean shutdown: what was not fsync'ed is lost even so);
 * $SQLWIRE_PL_AFTER=N: the power fails just before the (N+1)th
 * tracked change (write, truncate, fsync, create, rename, unlink), in the
 * interposed call itself; or the signal $SQLWIRE_PL_SIGNAL (default SIGUSR2):
 * the handler only writes a byte to a pipe (async-signal-safe), a thread of
 * the shim then does the work. Either way the work runs holding the shim's
 * global lock, which is never released, so nothing changes after the moment
 * of the loss; then every other thread is stopped (signalled to park in a
 * handler; SIGBUS/SIGSEGV/SIGABRT park too), so none reads a file being cut
 * short under its mmap or ends the process half way (before they stop,
 * threads may still answer clients about changes that were durable before
 * the loss, which is right). The files are rolled back, one line
 * "powerloss: ..." goes to stderr, and the process ends with _exit(99)
 * ($SQLWIRE_PL_EXIT to change it).
 *
 * $SQLWIRE_PL_TRACE=1 prints every tracked change ("powerloss: N op file")
 * to stderr, to find where a replayed failure strikes.
 *
 * Threads: any; every tracked change is done under the global lock (the
 * undo record and the change itself form one step). fsync runs outside the
 * lock. Each tracked inode is reopened once (through /proc/self/fd) and that
 * descriptor is never closed (closing it would drop SQLite's POSIX locks). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "powerloss_int.h"

#define PL_FDMAX 65536
#define PL_SECTOR 512

/* ---- the real functions ---- */
ssize_t (*r_write)(int, const void *, size_t);
ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
ssize_t (*r_pwrite64)(int, const void *, size_t, off_t);
ssize_t (*r_writev)(int, const struct iovec *, int);
ssize_t (*r_pwritev)(int, const struct iovec *, int, off_t);
ssize_t (*r_pwritev64)(int, const struct iovec *, int, off_t);
ssize_t (*r_pwritev2)(int, const struct iovec *, int, off_t, int);
int (*r_ftruncate)(int, off_t);
int (*r_ftruncate64)(int, off_t);
int (*r_fsync)(int);
int (*r_fdatasync)(int);
int (*r_open)(const char *, int, ...);
int (*r_open64)(const char *, int, ...);
int (*r_openat)(int, const char *, int, ...);
int (*r_openat64)(int, const char *, int, ...);
int (*r_creat)(const char *, mode_t);
int (*r_creat64)(const char *, mode_t);
int (*r_close)(int);
int (*r_dup2)(int, int);
int (*r_dup3)(int, int, int);
int (*r_rename)(const char *, const char *);
int (*r_renameat)(int, const char *, int, const char *);
int (*r_renameat2)(int, const char *, int, const char *, unsigned);
int (*r_unlink)(const char *);
int (*r_unlinkat)(int, const char *, int);

/* ---- state ---- */
pthread_mutex_t G = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
bool on; /* SQLWIRE_PL_DIR set */
static char pldir[PATH_MAX], stash[PATH_MAX];
static size_t pldir_len;
static _Atomic unsigned char fdc[PL_FDMAX]; /* 0 unknown, 1 tracked, 2 not */
static struct node *nodes;
static size_t n_nodes, cap_nodes;
static struct dop *dops;
static size_t n_dops, cap_dops;
uint64_t dop_seq;
static uint64_t stash_seq;
static long long after = -1, ops;
static bool torn, trace, at_exit;
static uint64_t seed, rng;
static int exit_code = 99;
static int sig_pipe[2] = {-1, -1};

#define RESOLVE(name) r_##name = (__typeof__(r_##name))dlsym(RTLD_NEXT, #name)

void pl_die(const char *what)
{
	char b[512];
	int n = snprintf(b, sizeof b, "powerloss: fatal: %s: %s\n", what, strerror(errno));
	if (r_write && n > 0)
		r_write(2, b, (size_t)n);
	_exit(98);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		pl_die("out of memory");
	return p;
}

static void power_loss(const char *why);

static void *watcher(void *arg)
{
	(void)arg;
	char c;
	for (;;) {
		ssize_t n = read(sig_pipe[0], &c, 1);
		if (n == 1)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		return NULL;
	}
	pthread_mutex_lock(&G);
	power_loss("signal");
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	(void)!syscall(SYS_write, sig_pipe[1], "x", 1);
	errno = saved;
}

static void init(void)
{
	RESOLVE(write); RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(writev); RESOLVE(pwritev);
	RESOLVE(pwritev64); RESOLVE(pwritev2); RESOLVE(ftruncate); RESOLVE(ftruncate64);
	RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(open); RESOLVE(open64); RESOLVE(openat);
	RESOLVE(openat64); RESOLVE(creat); RESOLVE(creat64); RESOLVE(close); RESOLVE(dup2);
	RESOLVE(dup3); RESOLVE(rename); RESOLVE(renameat); RESOLVE(renameat2); RESOLVE(unlink);
	RESOLVE(unlinkat);
	const char *d = getenv("SQLWIRE_PL_DIR");
	if (!d || !*d)
		return;
	if (!realpath(d, pldir))
		pl_die("SQLWIRE_PL_DIR");
	pldir_len = strlen(pldir);
	const char *s = getenv("SQLWIRE_PL_STASH");
	if (s && *s)
		snprintf(stash, sizeof stash, "%s", s);
	else
		snprintf(stash, sizeof stash, "%s.plstash", pldir);
	if (mkdir(stash, 0755) != 0 && errno != EEXIST)
		pl_die("mkdir stash");
	if ((s = getenv("SQLWIRE_PL_AFTER")) && *s)
		after = atoll(s);
	at_exit = (s = getenv("SQLWIRE_PL_AT_EXIT")) && *s && strcmp(s, "0") != 0;
	trace = (s = getenv("SQLWIRE_PL_TRACE")) && *s && strcmp(s, "0") != 0;
	torn = (s = getenv("SQLWIRE_PL_TORN")) && *s && strcmp(s, "0") != 0;
	seed = (s = getenv("SQLWIRE_PL_SEED")) && *s ? strtoull(s, NULL, 0) : (uint64_t)getpid() * 2654435761u;
	rng = seed ? seed : 1;
	if ((s = getenv("SQLWIRE_PL_EXIT")) && *s)
		exit_code = atoi(s);
	int sig = (s = getenv("SQLWIRE_PL_SIGNAL")) && *s ? atoi(s) : SIGUSR2;
	if (pipe2(sig_pipe, O_CLOEXEC) != 0)
		pl_die("pipe");
	/* the watcher takes no signal the program means for its own threads
	 * (sqld waits for SIGTERM with sigwait, every other thread blocking
	 * it): only the trigger and the park signal */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, sig);
	sigdelset(&all, SIGRTMAX - 1);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	if (pthread_create(&t, NULL, watcher, NULL) != 0)
		pl_die("pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(t);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	on = true;
}

/* At exit: a power loss under way (the signal's thread) must not be cut
 * short by the process ending, so exit waits for the lock (and is parked);
 * with $SQLWIRE_PL_AT_EXIT=1 the power fails right after the program's own
 * exit work (its atexit handlers registered after the shim's ran). */

static void pl_atexit(void)
{
	pthread_mutex_lock(&G);
	if (at_exit)
		power_loss("at exit");
	/* G stays held: nothing changes files any more */
}

__attribute__((constructor)) static void pl_ctor(void)
{
	pthread_once(&once, init);
	if (on)
		atexit(pl_atexit);
}

void ensure(void)
{
	pthread_once(&once, init);
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- paths and descriptors ---- */
bool under(const char *p)
{
	return strncmp(p, pldir, pldir_len) == 0 && (p[pldir_len] == '/' || p[pldir_len] == 0);
}

/* The absolute path of path relative to dirfd (no normalisation beyond
 * what the caller's path already has; our programs use clean paths). */
bool abs_path(int dirfd, const char *path, char *out)
{
	if (path[0] == '/') {
		snprintf(out, PATH_MAX, "%s", path);
		return true;
	}
	char base[PATH_MAX];
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof base))
			return false;
	} else {
		char l[64];
		snprintf(l, sizeof l, "/proc/self/fd/%d", dirfd);
		ssize_t n = readlink(l, base, sizeof base - 1);
		if (n <= 0)
			return false;
		base[n] = 0;
	}
	const char *p = path;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return snprintf(out, PATH_MAX, "%s/%s", base, p) < PATH_MAX;
}

static bool parent_of(const char *p, char *out, dev_t *dev, ino_t *ino)
{
	snprintf(out, PATH_MAX, "%s", p);
	char *sl = strrchr(out, '/');
	if (!sl)
		return false;
	if (sl == out)
		sl[1] = 0;
	else
		*sl = 0;
	struct stat st;
	if (stat(out, &st) != 0)
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

bool tracked_fd(int fd)
{
	ensure();
	if (!on || fd < 0)
		return false;
	unsigned char c = fd < PL_FDMAX ? atomic_load(&fdc[fd]) : 0;
	if (c)
		return c == 1;
	char l[64], p[PATH_MAX];
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(l, p, sizeof p - 1);
	bool t = false;
	if (n > 0) {
		p[n] = 0;
		t = p[0] == '/' && under(p);
	}
	if (fd < PL_FDMAX)
		atomic_store(&fdc[fd], t ? 1 : 2);
	return t;
}

void forget_fd(int fd)
{
	if (fd >= 0 && fd < PL_FDMAX)
		atomic_store(&fdc[fd], 0);
}

/* ---- file content ---- */
struct node *node_of(int fd, bool create)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	for (size_t i = 0; i < n_nodes; i++)
		if (nodes[i].dev == st.st_dev && nodes[i].ino == st.st_ino)
			return &nodes[i];
	if (!create)
		return NULL;
	char l[64];
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	int ofd = r_open64(l, O_RDWR | O_CLOEXEC);
	if (ofd < 0)
		pl_die("reopen a tracked file");
	if (n_nodes == cap_nodes) {
		cap_nodes = cap_nodes ? cap_nodes * 2 : 64;
		nodes = xrealloc(nodes, cap_nodes * sizeof *nodes);
	}
	struct node *nd = &nodes[n_nodes++];
	memset(nd, 0, sizeof *nd);
	nd->dev = st.st_dev;
	nd->ino = st.st_ino;
	nd->ofd = ofd;
	return nd;
}

off_t fsize(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_size : 0;
}

/* Before a change of [off, off + len) that leaves the file new_size long
 * (new_size < 0: max(size, off + len)). */
void record(int fd, off_t off, off_t len, off_t new_size)
{
	struct node *nd = node_of(fd, true);
	if (!nd)
		return;
	off_t size = fsize(nd->ofd);
	struct rec r = {.off = off, .old_size = size, .woff = off, .wlen = len};
	r.new_size = new_size >= 0 ? new_size : (off + len > size ? off + len : size);
	if (new_size >= 0 && new_size < size) { /* a shrink: keep what it cuts */
		r.off = new_size;
		len = size - new_size;
	}
	off_t end = r.off + len < size ? r.off + len : size;
	if (end > r.off) {
		r.len = (size_t)(end - r.off);
		r.old = xrealloc(NULL, r.len);
		size_t got = 0;
		while (got < r.len) {
			ssize_t n = pread(nd->ofd, r.old + got, r.len - got, r.off + (off_t)got);
			if (n <= 0)
				pl_die("pread");
			got += (size_t)n;
		}
	}
	if (nd->n == nd->cap) {
		nd->cap = nd->cap ? nd->cap * 2 : 16;
		nd->r = xrealloc(nd->r, nd->cap * sizeof *nd->r);
	}
	nd->r[nd->n++] = r;
}

void drop_recs(struct node *nd, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(nd->r[i].old);
	memmove(nd->r, nd->r + n, (nd->n - n) * sizeof *nd->r);
	nd->n -= n;
}

/* ---- directory entries ---- */
void add_dop(int type, const char *a, const char *b, const char *st)
{
	struct dop d = {.type = type, .seq = ++dop_seq};
	char pa[PATH_MAX];
	if (!parent_of(a, pa, &d.d1dev, &d.d1ino))
		pl_die("stat parent");
	d.d2dev = d.d1dev;
	d.d2ino = d.d1ino;
	if (b && !parent_of(b, pa, &d.d2dev, &d.d2ino))
		pl_die("stat parent");
	d.a = strdup(a);
	d.b = b ? strdup(b) : NULL;
	d.stash = st ? strdup(st) : NULL;
	if (n_dops == cap_dops) {
		cap_dops = cap_dops ? cap_dops * 2 : 64;
		dops = xrealloc(dops, cap_dops * sizeof *dops);
	}
	dops[n_dops++] = d;
}

/* A hard link to path in the stash (path must exist); NULL if it is no
 * regular file. */
char *stash_link(const char *path, char *out)
{
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	if (snprintf(out, PATH_MAX, "%s/%d-%llu", stash, (int)getpid(), (unsigned long long)++stash_seq) >= PATH_MAX)
		pl_die("stash path too long");
	if (link(path, out) != 0)
		pl_die("link into the stash");
	return out;
}

/* An fsync of directory (dev, ino) started when dop_seq was seq0. */
void dir_synced(dev_t dev, ino_t ino, uint64_t seq0)
{
	size_t w = 0;
	for (size_t i = 0; i < n_dops; i++) {
		struct dop *d = &dops[i];
		if (d->seq <= seq0) {
			if (d->d1dev == dev && d->d1ino == ino)
				d->s1 = true;
			if (d->d2dev == dev && d->d2ino == ino)
				d->s2 = true;
		}
		if (d->s1 && d->s2) {
			if (d->stash)
				r_unlink(d->stash);
			free(d->a);
			free(d->b);
			free(d->stash);
			continue;
		}
		dops[w++] = *d;
	}
	n_dops = w;
}

/* ---- the power loss (G held, never released) ----
 * No malloc from here on: a parked thread may hold an allocator lock. */
static void *pl_grow(void *old, size_t old_n, size_t new_n)
{
	void *p = mmap(NULL, new_n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		pl_die("mmap");
	if (old) {
		memcpy(p, old, old_n);
		munmap(old, old_n);
	}
	return p;
}

struct kept { off_t off; size_t n; unsigned char b[PL_SECTOR]; };

static bool set_add(uint64_t **tab, size_t *cap, size_t *cnt, uint64_t key)
{
	if ((*cnt + 1) * 2 > *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		uint64_t *nt = pl_grow(NULL, 0, nc * sizeof *nt); /* zeroed */
		for (size_t i = 0; i < *cap; i++)
			if ((*tab)[i]) {
				size_t h = ((*tab)[i] * 0x9E3779B97F4A7C15ull) & (nc - 1);
				while (nt[h])
					h = (h + 1) & (nc - 1);
				nt[h] = (*tab)[i];
			}
		if (*tab)
			munmap(*tab, *cap * sizeof **tab);
		*tab = nt;
		*cap = nc;
	}
	key++; /* 0 marks an empty slot */
	size_t h = (key * 0x9E3779B97F4A7C15ull) & (*cap - 1);
	while ((*tab)[h]) {
		if ((*tab)[h] == key)
			return false;
		h = (h + 1) & (*cap - 1);
	}
	(*tab)[h] = key;
	(*cnt)++;
	return true;
}

static void undo_node(struct node *nd, unsigned long long *n_undone, unsigned long long *n_kept)
{
	struct kept *k = NULL;
	size_t nk = 0, ck = 0;
	uint64_t *frozen = NULL;
	size_t fcap = 0, fcnt = 0;
	off_t keep_size = 0;
	for (size_t i = nd->n; i-- > 0;) {
		struct rec *r = &nd->r[i];
		if (torn && r->wlen > 0) { /* this write may have reached the disk, sector by sector */
			off_t end = r->woff + r->wlen < r->new_size ? r->woff + r->wlen : r->new_size;
			for (off_t s = r->woff / PL_SECTOR * PL_SECTOR; s < end; s += PL_SECTOR) {
				if (rnd() % 3 != 0 || !set_add(&frozen, &fcap, &fcnt, (uint64_t)(s / PL_SECTOR)))
					continue;
				if (nk == ck) {
					size_t nc = ck ? ck * 2 : 64;
					k = pl_grow(k, ck * sizeof *k, nc * sizeof *k);
					ck = nc;
				}
				ssize_t n = pread(nd->ofd, k[nk].b, PL_SECTOR, s);
				if (n <= 0)
					continue;
				k[nk].off = s;
				k[nk].n = (size_t)n;
				if (s + n > keep_size)
					keep_size = s + n;
				nk++;
			}
		}
		size_t done = 0;
		while (done < r->len) {
			ssize_t n = r_pwrite64(nd->ofd, r->old + done, r->len - done, r->off + (off_t)done);
			if (n <= 0)
				pl_die("restore");
			done += (size_t)n;
		}
		if (r_ftruncate64(nd->ofd, r->old_size) != 0)
			pl_die("restore size");
		(*n_undone)++;
	}
	if (nk) {
		if (keep_size > fsize(nd->ofd) && r_ftruncate64(nd->ofd, keep_size) != 0)
			pl_die("torn size");
		for (size_t i = 0; i < nk; i++)
			if (r_pwrite64(nd->ofd, k[i].b, k[i].n, k[i].off) != (ssize_t)k[i].n)
				pl_die("torn write");
		*n_kept += nk;
	}
	if (k)
		munmap(k, ck * sizeof *k);
	if (frozen)
		munmap(frozen, fcap * sizeof *frozen);
}

static void undo_dop(struct dop *d)
{
	switch (d->type) {
	case OP_CREATE:
		if (r_unlink(d->a) != 0 && errno != ENOENT)
			pl_die("undo create");
		break;
	case OP_RENAME:
		if (r_rename(d->b, d->a) != 0)
			pl_die("undo rename");
		if (d->stash && r_rename(d->stash, d->b) != 0)
			pl_die("undo rename (replaced file)");
		break;
	case OP_UNLINK:
		if (d->stash && r_rename(d->stash, d->a) != 0)
			pl_die("undo unlink");
		break;
	}
}

/* Stop the world: every other thread parks in a signal handler, so none
 * reads a file being rolled back (an mmap'ed one cut short would SIGBUS) or
 * ends the process half way. A thread that faults first parks too. */
static atomic_int parked;

static void park(int sig)
{
	(void)sig;
	atomic_fetch_add(&parked, 1);
	for (;;)
		pause();
}

static void stop_world(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = park;
	sigfillset(&sa.sa_mask);
	int psig = SIGRTMAX - 1;
	sigaction(psig, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
	static pid_t sent[4096];
	int n_sent = 0;
	for (int pass = 0; pass < 3; pass++) { /* threads created meanwhile */
		int fd = r_open64("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			pl_die("/proc/self/task");
		char buf[4096];
		long nr;
		while ((nr = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
			for (long off = 0; off < nr;) {
				unsigned short reclen = *(unsigned short *)(buf + off + 16);
				const char *name = buf + off + 19;
				off += reclen;
				pid_t tid = (pid_t)atoi(name);
				bool seen = tid <= 0 || tid == self;
				for (int i = 0; i < n_sent && !seen; i++)
					seen = sent[i] == tid;
				if (seen || n_sent == (int)(sizeof sent / sizeof *sent))
					continue;
				sent[n_sent++] = tid;
				syscall(SYS_tgkill, pid, tid, psig);
			}
		}
		r_close(fd);
		/* wait (up to ~1 s) until they are parked; a thread blocking the
		 * signal never parks, which we only wait for */
		for (int i = 0; i < 1000 && atomic_load(&parked) < n_sent; i++)
			usleep(1000);
	}
}

static void power_loss(const char *why)
{
	unsigned long long undone = 0, kept = 0, files = 0;
	stop_world();
	for (size_t i = 0; i < n_nodes; i++) {
		if (nodes[i].n)
			files++;
		undo_node(&nodes[i], &undone, &kept);
	}
	size_t keep_dops = torn ? (size_t)(rnd() % (n_dops + 1)) : 0;
	for (size_t i = n_dops; i-- > keep_dops;)
		undo_dop(&dops[i]);
	char b[512];
	int n = snprintf(b, sizeof b,
			 "powerloss: power lost (%s) after %lld tracked changes: %llu un-synced changes of %llu files undone"
			 "%s (%llu sectors kept), %zu of %zu directory changes undone; seed %llu\n",
			 why, ops, undone, files, torn ? ", torn" : "", kept, n_dops - keep_dops, n_dops,
			 (unsigned long long)seed);
	if (n > 0)
		r_write(2, b, (size_t)n);
	_exit(exit_code);
}

/* Every tracked change calls this first, holding G (op: its name; the
 * file: path, or else descriptor fd). */
void tick(const char *op, int fd, const char *path)
{
	if (after >= 0 && ops >= after)
		power_loss("count");
	ops++;
	if (trace) {
		char b[PATH_MAX + 128], l[64], p[PATH_MAX];
		if (!path) {
			snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
			ssize_t n = readlink(l, p, sizeof p - 1);
			p[n > 0 ? n : 0] = 0;
			path = p;
		}
		int n = snprintf(b, sizeof b, "powerloss: %lld %s %s\n", ops, op, path);
		if (n > 0)
			r_write(2, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
	}
}
