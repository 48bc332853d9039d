/* sync: keeps an embedded replica file in step with its primary through
 * libSQL's ReplicationLog service over gRPC-web (PROTOCOL.md §8.2, §8.4):
 * Hello, BatchLogEntries, Snapshot on NEED_SNAPSHOT, re-Hello on NO_HELLO,
 * start over on a new log_id, and LogEntries for follow mode. Frames are
 * applied one whole transaction at a time by apply.c (WAL injection,
 * DESIGN.md §2.5); the position (log_id, last applied frame_no) is kept by
 * meta.c and is never ahead of the data.
 *
 * Threads: every function may be called from any thread; a struct sync
 * serialises its work with its own mutex (a user sqlwire_sync, the background
 * interval thread and the follow thread may race). Two processes syncing the
 * same file serialise through SQLite's WAL write lock.
 *
 * CONTRACT shared by libclient modules (api.c uses it): do not change a
 * signature without updating every caller. */
#ifndef SQLWIRE_SYNC_H
#define SQLWIRE_SYNC_H
#include "err.h"
#include <stdbool.h>
#include <stdint.h>

struct sync;

/* Errors (negative), added with the implementation: */
#define SYNC_E_NET (-1)     /* the primary is unreachable or the connection broke */
#define SYNC_E_PROTO (-2)   /* the primary answered something unusable (gRPC status, bad frames) */
#define SYNC_E_AUTH (-3)    /* the primary refused the token (UNAUTHENTICATED, PERMISSION_DENIED) */
#define SYNC_E_LOCAL (-4)   /* the replica file or its position file failed */
#define SYNC_E_TIMEOUT (-5) /* sync_until: frame_no not reached in time */

struct sync_opts {
	const char *db_path;    /* the replica file */
	const char *sync_url;   /* the primary: http(s):// or libsql:// */
	const char *auth_token; /* may be NULL */
	int timeout_ms;         /* per network call; 0 = default 10000 */
	int interval_ms;        /* > 0: background sync every interval_ms */
	bool follow;            /* real-time: follow LogEntries in a thread */
};

struct sync_info {
	bool has_frame;          /* false while nothing is applied yet */
	uint64_t frame_no;       /* last applied frame_no (libSQL numbering) */
	uint64_t frames_applied; /* by this call */
};

/* Prepares the replica file (creates it if missing: WAL mode, page_size
 * 4096), loads and checks the stored position, replays an interrupted
 * transaction. Does not contact the primary (an unreachable primary must not
 * stop local reads). Starts the interval/follow threads if asked. */
int sync_open(const struct sync_opts *o, struct sync **out, struct err *e);
/* One round: fetch and apply everything the primary has now. Negative on
 * failure (e says why: unreachable, auth, protocol); the replica stays
 * consistent whatever happens. */
int sync_pull(struct sync *s, struct sync_info *info, struct err *e);
/* Until the replica has applied frame_no (sync_pull rounds, or waiting on the
 * follow thread); -ETIMEDOUT-like negative after timeout_ms. */
int sync_until(struct sync *s, uint64_t frame_no, int timeout_ms, struct err *e);
/* The stored position. */
void sync_position(struct sync *s, struct sync_info *info);
void sync_close(struct sync *s); /* stops the threads; accepts NULL */
#endif
