/* powerloss_int.h: what the two files of the power-loss shim share
 * (powerloss.c: the model, its state and the power loss itself;
 * powerloss_calls.c: the interposed calls). The shim is built with
 * -fvisibility=hidden: only the interposed calls (PL_API) are exported, so
 * none of these names can clash with the program's. */
#ifndef SQLWIRE_POWERLOSS_INT_H
#define SQLWIRE_POWERLOSS_INT_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define PL_API __attribute__((visibility("default")))

/* ---- the real functions ---- */
extern ssize_t (*r_write)(int, const void *, size_t);
extern ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
extern ssize_t (*r_pwrite64)(int, const void *, size_t, off_t);
extern ssize_t (*r_writev)(int, const struct iovec *, int);
extern ssize_t (*r_pwritev)(int, const struct iovec *, int, off_t);
extern ssize_t (*r_pwritev64)(int, const struct iovec *, int, off_t);
extern ssize_t (*r_pwritev2)(int, const struct iovec *, int, off_t, int);
extern int (*r_ftruncate)(int, off_t);
extern int (*r_ftruncate64)(int, off_t);
extern int (*r_fsync)(int);
extern int (*r_fdatasync)(int);
extern int (*r_open)(const char *, int, ...);
extern int (*r_open64)(const char *, int, ...);
extern int (*r_openat)(int, const char *, int, ...);
extern int (*r_openat64)(int, const char *, int, ...);
extern int (*r_creat)(const char *, mode_t);
extern int (*r_creat64)(const char *, mode_t);
extern int (*r_close)(int);
extern int (*r_dup2)(int, int);
extern int (*r_dup3)(int, int, int);
extern int (*r_rename)(const char *, const char *);
extern int (*r_renameat)(int, const char *, int, const char *);
extern int (*r_renameat2)(int, const char *, int, const char *, unsigned);
extern int (*r_unlink)(const char *);
extern int (*r_unlinkat)(int, const char *, int);

struct rec { /* one un-synced change of a file: undo = restore old, truncate to old_size */
	off_t off;          /* where old bytes go */
	size_t len;         /* old bytes kept */
	off_t old_size;     /* size before the change */
	off_t woff, wlen;   /* range the change wrote (torn mode) */
	off_t new_size;     /* size right after the change */
	unsigned char *old;
};
struct node { /* a tracked inode with un-synced changes */
	dev_t dev;
	ino_t ino;
	int ofd; /* our own descriptor of it (never closed) */
	struct rec *r;
	size_t n, cap;
};
enum { OP_CREATE, OP_RENAME, OP_UNLINK };
struct dop { /* one un-synced directory change */
	int type;
	char *a, *b;  /* CREATE/UNLINK: a = path; RENAME: a = old, b = new */
	char *stash;  /* hard link keeping the replaced/unlinked file, or NULL */
	dev_t d1dev, d2dev;
	ino_t d1ino, d2ino;
	bool s1, s2;  /* directory 1/2 fsync'ed since */
	uint64_t seq;
};

extern pthread_mutex_t G; /* every tracked change holds it; never released after a power loss */
extern bool on;           /* SQLWIRE_PL_DIR is set */
extern uint64_t dop_seq;  /* directory changes so far */

void ensure(void);                                /* the shim is initialised */
void pl_die(const char *what);                    /* a broken simulation: _exit(98) */
void tick(const char *op, int fd, const char *path); /* before each tracked change (G held) */
bool under(const char *abs);                      /* inside $SQLWIRE_PL_DIR */
bool abs_path(int dirfd, const char *path, char *out);
bool tracked_fd(int fd);
void forget_fd(int fd);                           /* fd closed or replaced */
off_t fsize(int fd);
struct node *node_of(int fd, bool create);        /* G held */
void record(int fd, off_t off, off_t len, off_t new_size); /* G held */
void drop_recs(struct node *nd, size_t n);        /* G held */
void add_dop(int type, const char *a, const char *b, const char *st); /* G held */
char *stash_link(const char *path, char *out);    /* G held */
void dir_synced(dev_t dev, ino_t ino, uint64_t seq0); /* G held */
#endif
