/* cap: capture on the primary (DESIGN.md §2.2-2.4). Glues walcap (reading
 * committed transactions out of the -wal) to rlog (the durable frame log)
 * and owns the primary's checkpoints.
 *
 * - Every commit is captured while its connection still holds the WAL write
 *   lock (vfs.h explains why), so the log gets transactions in commit order,
 *   never misses one before a WAL restart, and holds each one before the
 *   client hears the commit succeeded. The log is written but not fsync'd at
 *   each commit: the WAL (fsync'd by SQLite at commit with synchronous=FULL)
 *   holds the same frames until a checkpoint, and a log that was not closed
 *   cleanly is rebuilt from the database at start-up, so after a power loss
 *   no acknowledged write is missing from the log that replicas then see.
 * - Checkpoints: SQLite's auto-checkpoint is off on every connection. Ours:
 *   the committing connection runs a PASSIVE checkpoint right after a commit
 *   that leaves CAP_CKPT_FRAMES or more frames in the WAL (cap_wal_hook, as
 *   SQLite's own would, so under steady writes the WAL still gets reset);
 *   cap's thread runs one every checkpoint interval and when it finds the
 *   WAL big (it looks once a second; commits do not wake it);
 *   a TRUNCATE one runs at a clean close. A checkpoint can only copy frames
 *   that are already in the log. When readers keep the WAL from being reset
 *   and it grows past CAP_WARN_FRAMES, a warning is logged (at most once a
 *   minute).
 * - Start-up: a log that was closed cleanly, with a marker file recording the
 *   database it matched (page count and CRC-64 of the file), is trusted only
 *   if the database still matches; anything else (kill -9, power loss, a
 *   database changed behind our back, a missing or damaged log) rebuilds the
 *   log from the database under a new log_id, as one transaction holding
 *   every page, so replicas start over cleanly.
 * - If appending to the log fails (disk full), the commit has already
 *   happened: cap stops checkpointing (the WAL keeps the frames; the WAL
 *   hooks of every connection in the process pause too), retries at
 *   the next commit, and logs an error; walcap delivers the same transaction
 *   again.
 *
 * Threads: cap_open/cap_close on the main thread while no client connection
 * is open; the capture callback on whichever thread commits; accessors from
 * any thread. */
#ifndef SQLWIRE_CAP_H
#define SQLWIRE_CAP_H
#include "err.h"
#include <stdbool.h>
#include <stdint.h>

#define CAP_CKPT_FRAMES 1000  /* ~4 MB of WAL: checkpoint soon */
#define CAP_WARN_FRAMES 25000 /* ~100 MB of WAL that cannot be reset: warn */

struct cap;
struct rlog;
struct sqlite3;

struct cap_opts {
	const char *db_path;          /* the primary database file (WAL mode, 4096-byte pages) */
	const char *log_dir;          /* the frame log's directory */
	uint64_t max_log_bytes;       /* --max-log-size */
	uint64_t max_log_age_ms;      /* --max-log-duration */
	int checkpoint_interval_ms;   /* --checkpoint-interval-s; 0: only by WAL size */
	bool sync_normal;             /* synchronous=NORMAL on cap's connection */
	/* Called after each capture that appended to the log, on the committing
	 * thread (repl wakes its LogEntries streams); may be NULL. */
	void (*on_commit)(void *arg);
	void *on_commit_arg;
};

struct cap_open_info {
	bool rebuilt;        /* the log was (re)made from the database: new log_id */
	const char *why;     /* why it was rebuilt (static text) */
};

int cap_open(const struct cap_opts *o, struct cap **out, struct cap_open_info *info, struct err *e);
/* Final capture, TRUNCATE checkpoint, clean marker, clean log close. Call
 * after every other connection to the database is closed. */
void cap_close(struct cap *c);
struct rlog *cap_log(struct cap *c);
/* The WAL hook every connection to the primary registers (sqlite3_wal_hook,
 * after sqlite3_wal_autocheckpoint(db, 0)): checkpoints past CAP_CKPT_FRAMES. */
int cap_wal_hook(void *arg, struct sqlite3 *db, const char *dbname, int nframes);

/* A TRUNCATE checkpoint now (admin API); -1 with e when it failed, 0 also
 * when readers kept it from finishing (it is best effort, like SQLite's). */
int cap_checkpoint_now(struct cap *c, struct err *e);

/* The frame_no of the last commit in the log; false when the log is empty. */
bool cap_last_commit(struct cap *c, uint64_t *frame_no);
#endif
