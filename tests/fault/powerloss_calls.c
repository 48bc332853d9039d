/* powerloss_calls: the calls the power-loss shim interposes (the model,
 * its state and the power loss are in powerloss.c, whose first comment says
 * what is modelled). Each tracked change takes the global lock G, ticks
 * (which may be the moment of the power loss), records how to undo itself
 * and is made, all under G; fsync runs outside G and then drops what it
 * made durable. Untracked descriptors and paths go straight through.
 * Threads: any. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss_int.h"

/* ---- writes ---- */
static off_t cur_off(int fd, size_t len)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_APPEND))
		return fsize(fd);
	(void)len;
	return lseek(fd, 0, SEEK_CUR);
}

static size_t iov_len(const struct iovec *v, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += v[i].iov_len;
	return t;
}

#define WRAP_WRITE(call, off_expr, len_expr)                         \
	do {                                                         \
		pthread_mutex_lock(&G);                              \
		tick(__func__, fd, NULL);                            \
		off_t o_ = (off_expr);                               \
		if (o_ >= 0)                                         \
			record(fd, o_, (off_t)(len_expr), -1);       \
		ssize_t rv_ = call;                                  \
		int e_ = errno;                                      \
		pthread_mutex_unlock(&G);                            \
		errno = e_;                                          \
		return rv_;                                          \
	} while (0)

PL_API ssize_t write(int fd, const void *b, size_t n)
{
	if (!tracked_fd(fd))
		return r_write(fd, b, n);
	WRAP_WRITE(r_write(fd, b, n), cur_off(fd, n), n);
}

PL_API ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (!tracked_fd(fd))
		return r_pwrite(fd, b, n, off);
	WRAP_WRITE(r_pwrite(fd, b, n, off), off, n);
}

PL_API ssize_t pwrite64(int fd, const void *b, size_t n, off_t off)
{
	if (!tracked_fd(fd))
		return r_pwrite64(fd, b, n, off);
	WRAP_WRITE(r_pwrite64(fd, b, n, off), off, n);
}

PL_API ssize_t writev(int fd, const struct iovec *v, int c)
{
	if (!tracked_fd(fd))
		return r_writev(fd, v, c);
	WRAP_WRITE(r_writev(fd, v, c), cur_off(fd, iov_len(v, c)), iov_len(v, c));
}

PL_API ssize_t pwritev(int fd, const struct iovec *v, int c, off_t off)
{
	if (!tracked_fd(fd))
		return r_pwritev(fd, v, c, off);
	WRAP_WRITE(r_pwritev(fd, v, c, off), off, iov_len(v, c));
}

PL_API ssize_t pwritev64(int fd, const struct iovec *v, int c, off_t off)
{
	if (!tracked_fd(fd))
		return r_pwritev64(fd, v, c, off);
	WRAP_WRITE(r_pwritev64(fd, v, c, off), off, iov_len(v, c));
}

PL_API ssize_t pwritev2(int fd, const struct iovec *v, int c, off_t off, int flags)
{
	if (!tracked_fd(fd))
		return r_pwritev2(fd, v, c, off, flags);
	WRAP_WRITE(r_pwritev2(fd, v, c, off, flags), off == -1 ? cur_off(fd, 0) : off, iov_len(v, c));
}

static int trunc_common(int (*fn)(int, off_t), int fd, off_t len)
{
	if (!tracked_fd(fd))
		return fn(fd, len);
	pthread_mutex_lock(&G);
	tick("ftruncate", fd, NULL);
	record(fd, len, 0, len);
	int rv = fn(fd, len), e = errno;
	pthread_mutex_unlock(&G);
	errno = e;
	return rv;
}

PL_API int ftruncate(int fd, off_t len)
{
	ensure();
	return trunc_common(r_ftruncate, fd, len);
}

PL_API int ftruncate64(int fd, off_t len)
{
	ensure();
	return trunc_common(r_ftruncate64, fd, len);
}

/* ---- fsync ---- */
static int sync_common(int (*fn)(int), int fd)
{
	if (!tracked_fd(fd))
		return fn(fd);
	struct stat st;
	if (fstat(fd, &st) != 0)
		return fn(fd);
	pthread_mutex_lock(&G);
	tick(S_ISDIR(st.st_mode) ? "fsync(dir)" : "fsync", fd, NULL);
	size_t n0 = 0;
	uint64_t seq0 = dop_seq;
	struct node *nd = S_ISREG(st.st_mode) ? node_of(fd, false) : NULL;
	if (nd)
		n0 = nd->n;
	pthread_mutex_unlock(&G);
	int rv = fn(fd), e = errno;
	if (rv == 0) {
		pthread_mutex_lock(&G);
		if (S_ISDIR(st.st_mode))
			dir_synced(st.st_dev, st.st_ino, seq0);
		else if ((nd = node_of(fd, false)))
			drop_recs(nd, n0 < nd->n ? n0 : nd->n);
		pthread_mutex_unlock(&G);
	}
	errno = e;
	return rv;
}

PL_API int fsync(int fd)
{
	ensure();
	return sync_common(r_fsync, fd);
}

PL_API int fdatasync(int fd)
{
	ensure();
	return sync_common(r_fdatasync, fd);
}

/* ---- open ---- */
static int open_common(int dirfd, const char *path, int flags, mode_t mode, int (*fn_at)(int, const char *, int, ...))
{
	ensure();
	char ap[PATH_MAX];
	bool mut = on && (flags & (O_CREAT | O_TRUNC)) && (flags & O_TMPFILE) != O_TMPFILE;
	if (!mut || !abs_path(dirfd, path, ap) || !under(ap)) {
		int fd = fn_at(dirfd, path, flags, mode);
		forget_fd(fd);
		return fd;
	}
	pthread_mutex_lock(&G);
	tick(flags & O_TRUNC ? "open(O_TRUNC)" : "open(O_CREAT)", -1, ap);
	struct stat st;
	bool existed = lstat(ap, &st) == 0;
	bool trunc = (flags & O_TRUNC) && existed && S_ISREG(st.st_mode) && (flags & O_ACCMODE) != O_RDONLY;
	int fd = fn_at(dirfd, path, trunc ? flags & ~O_TRUNC : flags, mode);
	int e = errno;
	if (fd >= 0) {
		forget_fd(fd);
		if (!existed && (flags & O_CREAT))
			add_dop(OP_CREATE, ap, NULL, NULL);
		if (trunc) {
			record(fd, 0, 0, 0);
			if (r_ftruncate64(fd, 0) != 0)
				pl_die("O_TRUNC");
		}
	}
	pthread_mutex_unlock(&G);
	errno = e;
	return fd;
}

static mode_t va_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

static int at_open(int dirfd, const char *p, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = va_mode(flags, ap);
	va_end(ap);
	(void)dirfd;
	return r_open(p, flags, m);
}

static int at_open64(int dirfd, const char *p, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = va_mode(flags, ap);
	va_end(ap);
	(void)dirfd;
	return r_open64(p, flags, m);
}

PL_API int open(const char *p, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = va_mode(flags, ap);
	va_end(ap);
	return open_common(AT_FDCWD, p, flags, m, at_open);
}

PL_API int open64(const char *p, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = va_mode(flags, ap);
	va_end(ap);
	return open_common(AT_FDCWD, p, flags, m, at_open64);
}

PL_API int openat(int dirfd, const char *p, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = va_mode(flags, ap);
	va_end(ap);
	ensure();
	return open_common(dirfd, p, flags, m, r_openat);
}

PL_API int openat64(int dirfd, const char *p, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = va_mode(flags, ap);
	va_end(ap);
	ensure();
	return open_common(dirfd, p, flags, m, r_openat64);
}

/* fortified forms (no mode: no O_CREAT) */
PL_API int __open_2(const char *p, int flags)
{
	return open_common(AT_FDCWD, p, flags, 0, at_open);
}

PL_API int __open64_2(const char *p, int flags)
{
	return open_common(AT_FDCWD, p, flags, 0, at_open64);
}

PL_API int __openat_2(int dirfd, const char *p, int flags)
{
	ensure();
	return open_common(dirfd, p, flags, 0, r_openat);
}

PL_API int __openat64_2(int dirfd, const char *p, int flags)
{
	ensure();
	return open_common(dirfd, p, flags, 0, r_openat64);
}

PL_API int creat(const char *p, mode_t m)
{
	return open_common(AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC, m, at_open);
}

PL_API int creat64(const char *p, mode_t m)
{
	return open_common(AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC, m, at_open64);
}

PL_API int close(int fd)
{
	ensure();
	int rv = r_close(fd), e = errno;
	forget_fd(fd);
	errno = e;
	return rv;
}

PL_API int dup2(int a, int b)
{
	ensure();
	int rv = r_dup2(a, b);
	forget_fd(b);
	return rv;
}

PL_API int dup3(int a, int b, int fl)
{
	ensure();
	int rv = r_dup3(a, b, fl);
	forget_fd(b);
	return rv;
}

/* ---- rename, unlink ---- */
static int rename_common(int od, const char *op, int nd, const char *np, unsigned flags, bool two)
{
	ensure();
	char ao[PATH_MAX], an[PATH_MAX];
	if (!on || !abs_path(od, op, ao) || !abs_path(nd, np, an) || (!under(ao) && !under(an)))
		return two ? r_renameat2(od, op, nd, np, flags) : r_renameat(od, op, nd, np);
	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		errno = EINVAL; /* RENAME_EXCHANGE/WHITEOUT: not modelled */
		pl_die("renameat2 flags");
	}
	pthread_mutex_lock(&G);
	tick("rename", -1, an);
	char sb[PATH_MAX];
	char *st = stash_link(an, sb);
	int rv = two ? r_renameat2(od, op, nd, np, flags) : r_renameat(od, op, nd, np), e = errno;
	if (rv == 0)
		add_dop(OP_RENAME, ao, an, st);
	else if (st)
		r_unlink(st);
	pthread_mutex_unlock(&G);
	errno = e;
	return rv;
}

PL_API int rename(const char *a, const char *b)
{
	return rename_common(AT_FDCWD, a, AT_FDCWD, b, 0, false);
}

PL_API int renameat(int od, const char *a, int nd, const char *b)
{
	return rename_common(od, a, nd, b, 0, false);
}

PL_API int renameat2(int od, const char *a, int nd, const char *b, unsigned flags)
{
	return rename_common(od, a, nd, b, flags, true);
}

static int unlink_common(int dirfd, const char *p, int flags)
{
	ensure();
	char ap[PATH_MAX];
	if (!on || (flags & AT_REMOVEDIR) || !abs_path(dirfd, p, ap) || !under(ap))
		return r_unlinkat(dirfd, p, flags);
	pthread_mutex_lock(&G);
	tick("unlink", -1, ap);
	char sb[PATH_MAX];
	char *st = stash_link(ap, sb);
	int rv = r_unlinkat(dirfd, p, flags), e = errno;
	if (rv == 0 && st)
		add_dop(OP_UNLINK, ap, NULL, st);
	else if (st)
		r_unlink(st);
	pthread_mutex_unlock(&G);
	errno = e;
	return rv;
}

PL_API int unlink(const char *p)
{
	return unlink_common(AT_FDCWD, p, 0);
}

PL_API int unlinkat(int dirfd, const char *p, int flags)
{
	return unlink_common(dirfd, p, flags);
}
