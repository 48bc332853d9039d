/* walcap: capture of committed transactions from the primary's -wal file
 * (DESIGN.md §2.2 "Capture on the primary").
 *
 * After every commit the caller calls walcap_collect(); walcap reads the WAL
 * frames that follow the position it reached last time, validates them
 * exactly as SQLite's recovery does (salts equal to the WAL header's, page
 * number != 0, cumulative checksum chain; proto/walfmt.h), groups them into
 * transactions at the commit frames (db_size != 0) and hands every COMPLETE
 * committed transaction to a callback: one entry per distinct page, the
 * newest version (the later frame wins), in ascending page-number order,
 * plus size_after (the commit frame's db_size). A commit frame that merely
 * repeats the previous one (sector padding, written with synchronous=FULL
 * when the file system lacks powersafe overwrite, e.g. URI option psow=0) is
 * consumed without delivery. Frames after the last commit
 * frame (a spilled, still-open or rolled-back transaction) are never
 * delivered: SQLite may overwrite them in place or abandon them.
 *
 * Position: (the WAL header, the index of the last delivered commit frame,
 * the running checksum through it). A WAL restart (after a checkpoint that
 * backfilled everything, or a rolled-back spill that restarted the WAL
 * without any commit, hence without a WAL hook call) is detected by the
 * 32-byte WAL header changing (SQLite increments salt-1 and draws a new
 * salt-2 at every restart), never by the frame count; reading then starts at
 * frame 1 of the new WAL. An empty or missing -wal (TRUNCATE checkpoint, last
 * connection closed) is an empty WAL: the next valid header starts a new one.
 *
 * LOCKING CONTRACT (the caller's duty; walcap takes no locks itself):
 *  - walcap_collect() and walcap_skip() must not run while any connection
 *    is writing the WAL (committing or spilling) or checkpointing: sqld
 *    serialises them with every writer and with its single checkpointer.
 *    An open write transaction that is idle during the call is fine (its
 *    spilled frames are simply not delivered yet). Readers may run
 *    concurrently (they never write the -wal), but closing the LAST
 *    connection to the database checkpoints (and deletes the -wal), so it
 *    counts as a checkpoint. No other process may write the database.
 *  - It must run after EVERY commit (from the WAL hook, which SQLite calls
 *    after releasing the write lock, or after the job that committed) and
 *    before every checkpoint: a checkpoint that backfills the whole WAL lets
 *    the next writer restart it, and frames never collected are then lost.
 *    walcap_checkpointed() detects (after the fact) a checkpoint that saw
 *    frames walcap had not collected (a check of the frame count: it catches
 *    a forgotten collect, it is no proof that none was forgotten).
 *  - Right after a collect from the WAL hook, walcap_pos().frame equals the
 *    hook's nFrame (SQLite's mxFrame); a difference means a broken contract.
 *  - Page size must be 4096 (WALCAP_PAGE_SIZE); another size is an error.
 *
 * Files and POSIX locks: walcap reads the -wal through its own read-only fd
 * (pread, O_NOATIME when permitted), kept open for the walcap's lifetime and reopened only when the
 * -wal path names a new file (deleted and recreated: new inode). It never
 * opens the database file or the -shm: closing any fd of a file drops every
 * POSIX lock this process holds on it (DESIGN.md §2.5a). SQLite's unix VFS
 * takes no POSIX locks on the -wal file (only on the database file and on
 * the -shm; test_walcap.c checks /proc/locks, and that another process still
 * sees this process's read lock after walcap opened and closed -wal fds), so
 * closing walcap's fd cannot release SQLite's locks.
 *
 * Threads: any thread, one call at a time per walcap; the callback runs on
 * the calling thread, inside walcap_collect(). */
#ifndef SQLWIRE_WALCAP_H
#define SQLWIRE_WALCAP_H
#include "err.h"
#include "walfmt.h"
#include <stdbool.h>
#include <stdint.h>

#define WALCAP_PAGE_SIZE 4096u

struct walcap;

struct walcap_page {
	uint32_t page_no;    /* 1-based */
	const uint8_t *data; /* WALCAP_PAGE_SIZE bytes; borrowed until the callback returns */
};

/* One committed transaction. Pages whose page_no exceeds size_after (frames
 * spilled before the transaction shrank the database; SQLite never reads
 * them and its checkpoint skips them) are dropped, except that a
 * transaction always keeps its commit frame's page, so npages >= 1. */
struct walcap_txn {
	uint32_t size_after;              /* database size in pages after the commit */
	uint32_t npages;                  /* distinct pages delivered */
	const struct walcap_page *pages;  /* ascending page_no; borrowed, as above */
	uint32_t first_frame, last_frame; /* its WAL frames (1-based, this WAL generation) */
	uint32_t superseded;              /* frames replaced by a later frame of the same page */
	uint32_t beyond;                  /* distinct pages dropped for page_no > size_after */
};

/* Receives one transaction. Return 0 to consume it, or a negative value to
 * stop: walcap_collect() then returns that value and does not advance, so
 * the same transaction is delivered again by the next call. */
typedef int (*walcap_txn_fn)(void *arg, const struct walcap_txn *t, struct err *e);

/* Where walcap stands (walcap_pos). */
struct walcap_pos {
	bool following;         /* a valid WAL header is being followed */
	uint32_t salt1, salt2;  /* its salts (when following) */
	uint32_t ckpt_seq;      /* its checkpoint sequence number */
	uint32_t frame;         /* last commit frame consumed in this WAL (0: none) = the
	                           WAL's mxFrame when walcap is up to date */
	struct walfmt_cksum ck; /* running checksum through `frame` */
	uint32_t size_after;    /* database pages after the last consumed commit (0: none yet) */
	uint64_t restarts;      /* WAL restarts/resets seen since walcap_open */
	uint64_t txns;          /* transactions consumed (delivered or skipped) */
	uint64_t frames;        /* WAL frames consumed: those transactions' and padding */
	uint64_t padding;       /* repeated commit frames (sector padding) consumed */
};

/* Prepares capture from db_path's WAL, "<db_path>-wal" (a missing -wal is an
 * empty WAL). The position starts at the beginning of whatever WAL is there:
 * the first walcap_collect() delivers every committed transaction it holds
 * (call walcap_skip() instead to start at its end). *out is new; free it with
 * walcap_close(). Returns 0, or -1 with *e filled. */
int walcap_open(const char *db_path, struct walcap **out, struct err *e);

/* Closes the fd and frees; accepts NULL. */
void walcap_close(struct walcap *w);

/* Delivers, in commit order, every complete committed transaction that
 * follows the position, calling fn(arg, txn, e) for each, and advances the
 * position past each one fn accepts. Returns 0 (also when there was nothing
 * new), a negative value returned by fn, or -1 with *e filled: I/O error, a
 * WAL header of another version or a page size other than 4096. Under the
 * locking contract above only. */
int walcap_collect(struct walcap *w, walcap_txn_fn fn, void *arg, struct err *e);

/* walcap_collect() told by the wal-index header (vfs.h: struct
 * vfs_wal_hint, read while the caller holds the WAL write lock) that the
 * WAL generation with these salts (bytes 16..23 of the -wal header) holds
 * committed frames up to mx_frame. When that is the WAL being followed,
 * reads exactly the frames after the position up to mx_frame (one pread for
 * a small transaction, none when nothing is new) and no stat, fstat or
 * header read: a stat of the -wal costs the next commit an inode write (see
 * vfs.h). The frames are validated as always; if the file does not hold
 * them (cannot happen under the locking contract), or the salts are not
 * those being followed (a restart, a new or emptied WAL), this is exactly
 * walcap_collect(). Same results and contract as walcap_collect(). */
int walcap_collect_upto(struct walcap *w, uint32_t mx_frame, const unsigned char salts[8], walcap_txn_fn fn,
			void *arg, struct err *e);

/* Like walcap_collect() but delivers nothing: moves the position to the last
 * commit frame of the current WAL (e.g. at start-up, when the frame log
 * already holds what the WAL contains). Returns 0 or -1 with *e filled. */
int walcap_skip(struct walcap *w, struct err *e);

/* Fills *out with the position; no I/O. */
void walcap_pos(const struct walcap *w, struct walcap_pos *out);

/* Tells walcap the outcome of a checkpoint the caller just ran, as reported
 * by sqlite3_wal_checkpoint_v2(db, NULL, mode, &n_log, &n_ckpt) (n_log < 0:
 * no information; ignored. NB: on a connection that has not read the
 * database yet, SQLite 3.40.1 checkpoints nothing and returns SQLITE_OK with
 * -1/-1: let the checkpointer's connection read first). Returns -1 with *e filled if the checkpoint saw a
 * WAL of n_log > 0 frames other than the one walcap is up to date with (the
 * contract was broken: frames were checkpointed that walcap never collected,
 * and the frame log has a gap). When every frame was backfilled (n_ckpt ==
 * n_log, which includes TRUNCATE's 0/0), walcap_reset_needed() becomes true.
 * Call walcap_collect() before the checkpoint. Returns 0 otherwise. */
int walcap_checkpointed(struct walcap *w, int n_log, int n_ckpt, struct err *e);

/* True after walcap_checkpointed() reported a checkpoint that backfilled the
 * whole WAL, until walcap_collect() sees the WAL restart (new header) or
 * empty. While true the next writer may restart the WAL (it will unless a
 * reader still uses it); walcap follows either way. False after a
 * checkpoint that could not backfill everything: a long-lived reader is
 * holding the WAL, which then keeps growing (see walcap_wal_frames). */
bool walcap_reset_needed(const struct walcap *w);

/* The number of whole frames the -wal file holds now (its size; 0 if it is
 * missing or shorter than a header): committed, uncommitted and stale ones
 * left over from before a restart alike. The file does not shrink at a
 * RESTART checkpoint, only at TRUNCATE (or journal_size_limit); the WAL's
 * live length is walcap_pos().frame. Returns 0 or -1 with *e filled. */
int walcap_wal_frames(struct walcap *w, uint32_t *out, struct err *e);
#endif
