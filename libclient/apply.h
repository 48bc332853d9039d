/* apply: WAL injection into an embedded replica (DESIGN.md §2.5, §2.5a).
 *
 * Whole transactions of page images (libSQL frames, proto/frame.h) are
 * written into the replica's own -wal exactly as SQLite's walFrames would
 * write them (WAL header, salts, cumulative checksums, proto/walfmt.h) and
 * made visible by updating the wal-index (-shm) as SQLite's writer does:
 * hash entries first, then header copy [1], a memory barrier, copy [0]. The
 * WAL write lock is SQLite's own, taken by `BEGIN IMMEDIATE` on the applier's
 * connection; -shm and -wal are reached only through SQLite's file handles
 * (SQLITE_FCNTL_FILE_POINTER -> xShmMap/xShmLock/xShmBarrier,
 * SQLITE_FCNTL_JOURNAL_POINTER -> the -wal), never opened by us, so SQLite's
 * POSIX locks stay intact.
 *
 * Invariants:
 *  - readers (any thread or process) never block on an apply and never see
 *    part of a transaction: nothing past the published mxFrame is read;
 *  - after a crash at any point SQLite's recovery (or the still-live
 *    wal-index) shows the replica at a transaction boundary;
 *  - the WAL restarts only when every frame is backfilled and no reader uses
 *    it (the readers' locks 1..4 taken exclusively), resetting nBackfill and
 *    the read marks before publishing mxFrame = 0; a new WAL header takes
 *    salt1 + 1 and a random salt2;
 *  - the applier's SQLite transaction is empty: its COMMIT writes nothing.
 *
 * Use: apply_begin, apply_frame for every page of the transaction,
 * apply_publish(size_after), apply_end; or apply_abort at any point before
 * apply_publish (frames already written stay past mxFrame, unseen).
 * apply_checkpoint between transactions keeps the WAL bounded.
 *
 * Threads: one struct apply belongs to one thread at a time (the caller
 * serialises). Two appliers (threads or processes) on the same file
 * serialise through BEGIN IMMEDIATE. */
#ifndef SQLWIRE_APPLY_H
#define SQLWIRE_APPLY_H
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APPLY_PAGE_SIZE 4096u

/* Errors (negative). */
#define APPLY_E_SQLITE (-1) /* SQLite refused (open, BEGIN IMMEDIATE, mapping the -shm) */
#define APPLY_E_IO (-2)     /* writing or syncing the -wal failed */
#define APPLY_E_BUSY (-3)   /* the write lock could not be had within the busy timeout */
#define APPLY_E_STATE (-4)  /* a call out of order, or a bad argument */
#define APPLY_E_FORMAT (-5) /* the replica is not a 4096-byte-page WAL database */

struct apply;

struct apply_opts {
	int busy_ms;          /* wait for the write lock; 0 = 5000 */
	bool sync_full;       /* fsync the -wal before each publish */
	uint32_t ckpt_frames; /* apply_checkpoint truncates past this many WAL frames; 0 = 1000 */
	/* Called just before the WAL is moved into the database and reset
	 * (apply_checkpoint's TRUNCATE, SQLite's checkpoint at apply_close):
	 * whatever names a transaction by its place in this WAL (the position
	 * file's pending record) must be made durable now, or after a power loss
	 * it would name a WAL that no longer holds the data. Non-zero from it:
	 * no checkpoint. Optional. */
	int (*before_reset)(void *arg, struct err *e);
	void *before_reset_arg;
};

/* What the live wal-index header said when apply_begin took the write lock,
 * before a WAL restart it may then do (meta_resolve needs exactly that). */
struct apply_state {
	uint32_t mx_frame;    /* last published WAL frame (0: empty WAL) */
	uint32_t n_page;      /* database size in pages */
	uint32_t salt1, salt2; /* of that WAL generation */
	uint32_t nbackfill;   /* frames already checkpointed */
	int schema_cookie;    /* PRAGMA schema_version as the applier sees it */
};

/* Opens (creating if missing) the replica db_path: WAL mode, page size
 * 4096, auto-checkpoint off. APPLY_E_FORMAT if an existing file has another
 * page size or cannot be put in WAL mode. o may be NULL. */
int apply_open(const char *db_path, const struct apply_opts *o, struct apply **out, struct err *e);
void apply_close(struct apply *a); /* accepts NULL; aborts an open transaction */

/* Takes the write lock (BEGIN IMMEDIATE) and reads the live wal-index
 * header into *st (may be NULL); restarts the WAL first when allowed. */
int apply_begin(struct apply *a, struct apply_state *st, struct err *e);
/* The WAL generation and frame index the commit frame of the open
 * transaction will have if it holds nframes frames (for meta's pending
 * record). Valid after apply_begin. */
void apply_next_commit(const struct apply *a, uint32_t nframes, uint32_t *salt1, uint32_t *salt2,
		       uint32_t *wal_frame);
/* Appends one page image (APPLY_PAGE_SIZE bytes, page_no >= 1) to the open
 * transaction (buffered, written to the -wal in chunks below 128 KiB). */
int apply_frame(struct apply *a, uint32_t page_no, const uint8_t *page, struct err *e);
/* Seals the last page as the commit frame (db size size_after >= 1), writes
 * what is buffered, optionally fsyncs, and publishes the transaction in the
 * wal-index. The write lock is still held: call apply_end. */
int apply_publish(struct apply *a, uint32_t size_after, struct err *e);
/* Ends the (empty) SQLite transaction, releasing the write lock. */
int apply_end(struct apply *a, struct err *e);
/* Abandons the open transaction unpublished (frames written stay unseen). */
void apply_abort(struct apply *a);

/* fsync of the -wal (when not sync_full, once after a batch). Outside or
 * inside a transaction. */
int apply_sync(struct apply *a, struct err *e);
/* Outside a transaction: if the WAL holds more than ckpt_frames frames (or
 * force), a TRUNCATE checkpoint with a short busy timeout. Returns 1 when
 * the WAL was reset, 0 when not needed or readers prevented it, < 0 on
 * error. */
int apply_checkpoint(struct apply *a, bool force, struct err *e);

/* Builds page 1 of an empty database (4096-byte pages, WAL mode) whose
 * schema cookie is schema_cookie: the one page of the transaction that
 * empties a replica whose lineage changed. */
void apply_empty_page1(uint8_t page[APPLY_PAGE_SIZE], uint32_t schema_cookie);

/* Bytes the applier holds for the open transaction: its write buffer, the
 * held page and the page-number list (4 bytes per frame, needed for the
 * wal-index at publish). For the sync module's memory accounting. */
size_t apply_mem(const struct apply *a);

/* The applier's own connection (tests; borrowed until apply_close). */
struct sqlite3 *apply_db(struct apply *a);
#endif
