/* rlog: the durable replication frame log of one database (DESIGN.md §2.3,
 * PROTOCOL.md §8.1-8.2). Committed transactions arrive from capture
 * (walcap) as page images and become consecutive libSQL frames; the
 * replication service reads them back by frame_no, waits for new ones, and
 * streams snapshots of the ranges that compaction took out of the log.
 *
 * Files in the directory given at open (formats: the FORMAT block in
 * rlog_int.h): `rlog.log` (header + frames), `rlog.snap` (the snapshot of
 * every frame older than the log, newest version of each page),
 * `rlog.running` (exists while a process has the log open: an unclean
 * shutdown leaves it behind), temporary `*.tmp` files.
 *
 * Invariants
 *  - The log never claims a frame it does not hold durably: an append is
 *    published to readers only after fdatasync, and open cuts anything
 *    after the last whole, checksum-verified transaction.
 *  - Readers only ever see whole transactions: the published end is always
 *    just after a commit frame.
 *  - Every frame handed out by rlog_read was verified against the checksum
 *    chain when it entered this process: by the scan at open (the whole
 *    log, before anything is served) or because this process computed its
 *    checksum when appending it (bytes below the committed end never
 *    change: appends go past it, compaction and reset write new files).
 *    Reads check frame_no, page_no and the commit boundary of what they
 *    return, not the CRC again: at sync speed (hundreds of MB/s) that was a
 *    fifth of the cost of serving a replica.
 *  - Frames below first_frame_no live in the snapshot, which covers
 *    [lineage_start, first_frame_no - 1] (or more, see rlog_int.h).
 *
 * Threads: one appender at a time (rlog_append_txn; callers serialise, and
 * rlog serialises them anyway), any number of readers (rlog_read,
 * rlog_wait, rlog_snapshot_*, accessors) on any threads, compaction on a
 * thread of its own (background_compaction) or the caller's. Locks, always
 * taken in this order: compact_mu (one compaction or reset at a time) ->
 * append_mu (the appender; held across write + fdatasync) -> mu (the
 * published state; held only for memory updates, never across I/O).
 * Readers take only mu, briefly, to pick up the current file (reference
 * counted, so compaction can swap files under them) and the committed end,
 * then read with pread outside every lock. rlog_wait sleeps on a condition
 * variable under mu, signalled by every publish, reset and shutdown. */
#ifndef SQLWIRE_RLOG_H
#define SQLWIRE_RLOG_H
#include "err.h"
#include "frame.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RLOG_ID_STRLEN 36 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */

/* Negative results. Functions return 0 (or what they document) on success. */
enum {
	RLOG_EIO = -1,           /* a system call failed; *e says which */
	RLOG_ECORRUPT = -2,      /* a file failed validation (header, chain, snapshot) */
	RLOG_NEED_SNAPSHOT = -3, /* rlog_read: next_offset is below the log's first frame */
	RLOG_ENOSNAPSHOT = -4,   /* rlog_snapshot_open: no snapshot covers next_offset */
	RLOG_EINVAL = -5,        /* bad argument */
	RLOG_EBUSY = -6,         /* rlog_open: another rlog has the directory open */
	RLOG_EFAILED = -7,       /* an earlier append failed: reopen or rlog_reset */
	RLOG_ETIMEDOUT = -8,     /* rlog_wait: nothing new within the timeout */
	RLOG_ERESET = -9,        /* rlog_wait: rlog_reset started a new lineage meanwhile */
	RLOG_ECLOSED = -10,      /* rlog_wait: rlog_shutdown was called */
};

struct rlog;

struct rlog_opts {
	const char *dir;            /* created (one level) if missing */
	uint64_t max_log_bytes;     /* compact when the log file passes this; 0 = never */
	uint64_t max_log_age_ms;    /* compact when the log file is older; 0 = never */
	bool background_compaction; /* rlog runs rlog_compact on a thread of its own */
	bool recreate_on_corrupt;   /* an unusable log header starts a new lineage
				       (info->created) instead of failing the open */
	bool no_sync;               /* appends are written but not fdatasync'ed: the caller
				       keeps every transaction recoverable elsewhere (the
				       primary's WAL) and rebuilds a log that was not closed
				       cleanly; rlog_close syncs before it marks the log clean */
};

/* What rlog_open found. `dirty` is what capture acts on: prove the log
 * consistent with the database (its last commit against the database's
 * state) or rebuild it (rlog_reset + append every page). */
struct rlog_open_info {
	bool created;          /* no usable log: a new lineage was made at frame 0 */
	bool unclean;          /* the last opener did not rlog_close (crash, kill -9) */
	bool cut;              /* a torn or corrupt tail was removed */
	uint64_t cut_bytes;    /* how many bytes */
	bool dirty;            /* unclean || cut */
	bool snapshot_missing; /* frames below the log start have no valid snapshot */
	uint64_t next_frame_no;
	bool has_commit;       /* false: the lineage holds no frame at all */
	uint64_t last_commit;  /* the last commit frame_no, when has_commit */
};

/* Opens (or creates) the log in o->dir, takes an exclusive lock on the
 * directory, cuts a torn tail (durably) and starts the compaction thread if
 * asked. *out is new, freed by rlog_close. info may be NULL.
 * Returns 0, RLOG_EBUSY, RLOG_ECORRUPT (header unusable and not
 * recreate_on_corrupt), RLOG_EIO, RLOG_EINVAL. Any thread. */
int rlog_open(const struct rlog_opts *o, struct rlog **out, struct rlog_open_info *info, struct err *e);

/* Wakes every rlog_wait (they return RLOG_ECLOSED) and stops the compaction
 * thread; other calls keep working. Idempotent. */
void rlog_shutdown(struct rlog *log);
/* Shuts down, removes `rlog.running` (a clean close), frees. No other call
 * may be running or start. Accepts NULL. */
void rlog_close(struct rlog *log);

/* One page of a transaction: data points to FRAME_PAGE_SIZE bytes. */
struct rlog_page {
	uint32_t page_no; /* >= 1 */
	const unsigned char *data;
};

/* Appends one committed transaction: pages[0..n) become frames
 * next_frame_no .. next_frame_no + n - 1, the last one carrying size_after
 * (> 0, the database size in pages after the commit). The frames are
 * written, fdatasync'ed, and only then published to readers and waiters,
 * so when this returns 0 they survive a crash or power loss. Sets
 * *commit_frame_no (may be NULL) to the last frame's number.
 * Errors: RLOG_EINVAL (n == 0, size_after == 0, page_no == 0), RLOG_EIO
 * (nothing published; the partial write is cut back, and the log refuses
 * further appends with RLOG_EFAILED until reopened or reset: after a
 * failed fdatasync the page cache cannot be trusted). Appender thread. */
int rlog_append_txn(struct rlog *log, const struct rlog_page *pages, size_t n, uint32_t size_after,
		    uint64_t *commit_frame_no, struct err *e);

/* A reusable buffer of frames, filled by rlog_read / rlog_snapshot_read.
 * A caller that wants to send the frames with an envelope around each (a
 * protobuf field header, say) sets `head` (bytes kept free before the
 * first frame) and `prefix` (bytes kept free before each frame) after
 * rlog_batch_init: the frames are then read straight into place (preadv),
 * and the buffer, bytes [0, rlog_batch_bytes), can go out as it is. */
struct rlog_batch {
	unsigned char *data; /* head, then n slots of prefix + FRAME_SIZE bytes; owned */
	size_t n;
	size_t cap;          /* frames allocated */
	size_t head, prefix; /* layout, set by the caller (0 by default) */
	char log_id[RLOG_ID_STRLEN + 1]; /* lineage of these frames */
};
void rlog_batch_init(struct rlog_batch *b);
void rlog_batch_free(struct rlog_batch *b); /* then init again to reuse */
static inline unsigned char *rlog_batch_frame(const struct rlog_batch *b, size_t i)
{
	return b->data + b->head + i * (b->prefix + FRAME_SIZE) + b->prefix;
}
/* Bytes allocated at data: the slots for cap frames and RLOG_BATCH_SLACK
 * more (room for a trailer after the frames). */
#define RLOG_BATCH_SLACK 256
static inline size_t rlog_batch_alloc(const struct rlog_batch *b)
{
	return b->head + b->cap * (b->prefix + FRAME_SIZE) + RLOG_BATCH_SLACK;
}
/* Bytes from the start of data to the end of the last frame. */
static inline size_t rlog_batch_bytes(const struct rlog_batch *b)
{
	return b->head + b->n * (b->prefix + FRAME_SIZE);
}

/* BatchLogEntries: frames next_offset, next_offset + 1, ... at most
 * max_frames of them (>= 1), but extended to the next commit frame so a
 * batch never ends mid-transaction. out->n == 0 when next_offset is at or
 * past the end (caught up, or ahead). Returns 0, RLOG_NEED_SNAPSHOT when
 * next_offset < the log's first frame (see rlog_snapshot_open),
 * RLOG_ECORRUPT (a frame with another frame_no, page_no 0, or no commit
 * frame before the end), RLOG_EIO, RLOG_EINVAL.
 * out->log_id names the lineage the frames come from: a caller serving a
 * replica of another log_id must not send them. Any thread. */
int rlog_read(struct rlog *log, uint64_t next_offset, size_t max_frames, struct rlog_batch *out,
	      struct err *e);

/* A BatchLogEntries answer in pieces (struct rlog_span).
 * rlog_span_open: the frames rlog_read(next_offset, max_frames) would
 * return are [next_offset, s->end) (s->end == next_offset: caught up), of
 * lineage s->log_id. Nothing is read (a lookup in the in-memory index of
 * commit frames), but the log file that holds those frames is pinned:
 * a compaction meanwhile swaps in a new file and leaves the span reading
 * the old one, in which every frame of the span is (compaction writes the
 * write-behind buffer into the old file before it swaps), so a piece
 * never finds its frames gone. Returns as rlog_read.
 * rlog_span_read: exactly frames [from, from + n) of the span, checked like
 * rlog_read's; RLOG_ERESET if the log started a new lineage since the span
 * was opened, RLOG_EINVAL outside the span.
 * rlog_span_close: releases the file; accepts a span never opened (zeroed)
 * or already closed. The log must outlive its open spans.
 * A span belongs to one thread at a time; any thread. */
struct rlog_file;
struct rlog_span {
	uint64_t end;                    /* frames [next_offset, end) */
	char log_id[RLOG_ID_STRLEN + 1]; /* their lineage */
	/* private */
	struct rlog *log;
	struct rlog_file *file; /* pinned; NULL when the span is empty */
	uint64_t file_start, from, gen;
};
int rlog_span_open(struct rlog *log, uint64_t next_offset, size_t max_frames, struct rlog_span *s,
		   struct err *e);
int rlog_span_read(struct rlog_span *s, uint64_t from, size_t n, struct rlog_batch *out, struct err *e);
void rlog_span_close(struct rlog_span *s);

/* LogEntries: sleeps until frame next_offset is committed (a frame past
 * next_offset - 1: the follower's next_offset is its last frame_no + 1).
 * timeout_ms < 0 waits forever. Returns 0 (rlog_read has something, or
 * NEED_SNAPSHOT), RLOG_ETIMEDOUT, RLOG_ERESET (rlog_reset during the wait),
 * RLOG_ECLOSED. Any thread. */
int rlog_wait(struct rlog *log, uint64_t next_offset, int timeout_ms);

/* Starts a new lineage: new random log_id, empty log starting at
 * start_frame_no with start checksum 0, snapshot deleted; waiters get
 * RLOG_ERESET. The caller then rebuilds the history from the database
 * (usually start 0 and one transaction holding every page). Clears the
 * failed state. Returns 0 or RLOG_EIO. Any thread (serialised with
 * appends and compaction). */
int rlog_reset(struct rlog *log, uint64_t start_frame_no, struct err *e);

/* Compaction. rlog_should_compact: the log holds at least one transaction
 * and passes max_log_bytes or max_log_age_ms. rlog_compact: everything up
 * to the last commit at the time of the call goes into a new snapshot
 * (merged with the old one), then the log restarts after it (frames
 * appended meanwhile are carried over). Appends are blocked only while
 * those are copied and the files renamed; readers never. Returns 0 (also
 * when there was nothing to do), RLOG_ECORRUPT, RLOG_EIO; on error the old
 * files stay in charge. Any thread; background_compaction calls it. */
bool rlog_should_compact(struct rlog *log);
int rlog_compact(struct rlog *log, struct err *e);

/* Snapshot (PROTOCOL.md §8.2): the frames of the snapshot with
 * frame_no >= next_offset, highest frame_no first; every frame has
 * size_after 0 except the last one streamed, which carries the snapshot's
 * database size, so the whole stream is one transaction. The first frame
 * is the snapshot's end, where the replica stands afterwards; it then
 * continues with rlog_read(end + 1). The cursor keeps its file open, so a
 * compaction meanwhile does not disturb it.
 * rlog_snapshot_open returns 0 and a new cursor, RLOG_ENOSNAPSHOT (no
 * snapshot covers next_offset: "snapshot not found"), RLOG_ECORRUPT,
 * RLOG_EIO. The first open of a snapshot file in a process verifies its
 * whole body checksum. rlog_snapshot_read fills out with up to max_frames
 * (>= 1) further frames; out->n == 0 at the end. Any thread; one thread at
 * a time per cursor. */
struct rlog_snap;
int rlog_snapshot_open(struct rlog *log, uint64_t next_offset, struct rlog_snap **out, struct err *e);
int rlog_snapshot_read(struct rlog_snap *s, size_t max_frames, struct rlog_batch *out, struct err *e);
uint64_t rlog_snapshot_count(const struct rlog_snap *s); /* frames the stream holds */
void rlog_snapshot_close(struct rlog_snap *s);             /* accepts NULL */

/* A consistent view of the positions, taken under the lock. */
struct rlog_stat {
	char log_id[RLOG_ID_STRLEN + 1];
	uint64_t lineage_start;  /* first frame_no of this lineage */
	uint64_t first_frame_no; /* first frame still in the log; older: snapshot */
	uint64_t next_frame_no;  /* what the next append gets */
	bool has_commit;
	uint64_t last_commit;    /* next_frame_no - 1, when has_commit */
	bool has_snapshot;
	uint64_t snap_start, snap_end, snap_frames;
	uint32_t snap_size_after;
	uint64_t log_bytes, snap_bytes; /* on disk */
	uint64_t compactions;    /* done by this handle */
};
void rlog_stat(struct rlog *log, struct rlog_stat *out);

/* Accessors (each takes the lock once; use rlog_stat for several at once). */
void rlog_log_id(struct rlog *log, char out[RLOG_ID_STRLEN + 1]);
uint64_t rlog_first_frame_no(struct rlog *log);
uint64_t rlog_next_frame_no(struct rlog *log);
bool rlog_last_commit(struct rlog *log, uint64_t *frame_no); /* false: none */
uint64_t rlog_size_bytes(struct rlog *log);                  /* log + snapshot */
#endif
