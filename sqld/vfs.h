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

#define VFS_NAME "sqlwire"

int vfs_register(struct err *e); /* idempotent */
/* Calls fn(arg) before each release of the WAL write lock of the database
 * at path (compared after realpath). One watcher per path. */
int vfs_watch(const char *path, void (*fn)(void *arg), void *arg, struct err *e);
void vfs_unwatch(const char *path);
#endif
