/* vfs: the "sqlwire" SQLite VFS, a thin wrapper of the default (unix) VFS
 * that lets capture run at the one moment it is safe (DESIGN.md §2.2).
 *
 * SQLite calls its WAL hook only after the committing connection has
 * released the WAL write lock; by then another writer may already be
 * appending frames or, after a full checkpoint, restarting the WAL over the
 * frames not captured yet. This wrapper instead calls the watcher of a
 * database file when a connection is about to release the WAL write lock
 * (xShmLock unlocking WAL_WRITE_LOCK, shm lock slot 0): the transaction is
 * committed and published, and no other connection, in this process or
 * another, can write the WAL until the watcher returns. Every commit, every
 * rollback, every RESTART/TRUNCATE checkpoint and every WAL recovery ends
 * that way, so the watcher sees each of them; it must be idempotent.
 *
 * The watcher also gets what the wal-index header in shared memory says at
 * that moment (struct vfs_wal_hint; the header is stable while the write
 * lock is held): the last committed frame and the WAL generation's salts, so
 * capture knows what to read without asking the file system (a stat of the
 * -wal makes the kernel give its next write a fine-grained ctime, and the
 * commit's fdatasync then writes the inode too: one more synchronous I/O per
 * commit on ext4). Layout (walformat.html §2.1, native byte order, two
 * equal 48-byte copies at offsets 0 and 48 of shm region 0):
 *   off  size  field
 *     0     4  iVersion = 3007000
 *    12     1  isInit (1 once initialised)
 *    16     4  mxFrame: the last valid (committed) frame
 *    32     8  aSalt: salt-1, salt-2 exactly as stored in the -wal header
 *
 * Everything else is passed through untouched. The watcher runs on the
 * thread of the connection that committed, with that connection inside
 * sqlite3_step: it must not call SQLite on that connection.
 *
 * Threads: vfs_register once at start; vfs_watch / vfs_unwatch from any
 * thread (a mutex guards the list); connections opened with vfs name
 * VFS_NAME pick up the watcher when they open the file. */
#ifndef SQLWIRE_VFS_H
#define SQLWIRE_VFS_H
#include "err.h"
#include <stdint.h>

#define VFS_NAME "sqlwire"

/* The wal-index header's view of the WAL, read under the write lock. */
struct vfs_wal_hint {
	uint32_t mx_frame;      /* last committed frame of this WAL generation (0: none) */
	unsigned char salts[8]; /* its salts, bytes 16..23 of the -wal header */
};

int vfs_register(struct err *e); /* idempotent */
/* Calls fn(arg, hint) before each release of the WAL write lock of the
 * database at path (compared after realpath). hint is NULL when the
 * wal-index header could not be read consistently (not mapped, not
 * initialised, its two copies differ, unknown version). One watcher per
 * path. */
typedef void (*vfs_watch_fn)(void *arg, const struct vfs_wal_hint *hint);
int vfs_watch(const char *path, vfs_watch_fn fn, void *arg, struct err *e);
void vfs_unwatch(const char *path);
#endif
