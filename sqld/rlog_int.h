/* rlog_int.h: what rlog_file.c (files, headers, open, close), rlog.c
 * (appends, reads, waits, reset) and rlog_snap.c (compaction, snapshots,
 * the compaction thread) share. Not for
 * other modules: the API is rlog.h.
 *
 * FORMAT of rlog.log (every integer little-endian)
 *   off  size  field
 *     0     8  magic "SQLWRLOG"
 *     8     4  format version (1)
 *    12     4  page size (4096)
 *    16    16  log_id: 16 random bytes (UUID v4 bits), in UUID string order
 *    32     8  start_frame_no: frame_no of the first frame slot
 *    40     8  start_checksum: the rolling-checksum seed of that frame
 *              (0 for a new lineage; after compaction the checksum of the
 *              snapshot's end frame, so the chain runs on unbroken)
 *    48     8  lineage_start: first frame_no of this log_id's history
 *    56     8  created_ms: unix ms this file was written (the age bound)
 *    64    56  reserved, zero
 *   120     8  crc64 of bytes 0..119
 *   128   ...  frames in libSQL's format (proto/frame.h), frame
 *              start_frame_no + i at 128 + i * 4120. No frame count is kept:
 *              the frames themselves say how far the log goes (below).
 * The header is never rewritten in place: a new header means a new file
 * (written as rlog.log.tmp, fdatasync'ed, renamed over rlog.log, directory
 * fsync'ed), so it is always whole.
 *
 * Validity of the frames (checked at open for the whole file; readers then
 * check frame_no, page_no and the commit boundary of what they return, not
 * the checksum, see rlog.h): slot i is accepted when its frame_no is
 * start_frame_no + i, page_no >= 1 and checksum == crc64_chain(checksum of
 * slot i-1 (start_checksum for slot 0), page). The log ends after the last
 * commit frame (size_after != 0) whose slot and all earlier slots are
 * accepted; open truncates anything after it (then fdatasync) and reports
 * it. A crash tears writes at sector granularity into new-or-zero sectors;
 * every sector of a frame is covered by the page checksum or by the header
 * checks (a zeroed size_after only hides a commit, which cuts more, never
 * less), so a partial transaction cannot look committed. The checksum does
 * not cover page_no/size_after (libSQL's format), so a bit flip there on
 * the medium is not detected; torn writes are.
 *
 * FORMAT of rlog.snap (every integer little-endian)
 *   off  size  field
 *     0     8  magic "SQLWSNAP"
 *     8     4  format version (1)
 *    12     4  page size (4096)
 *    16    16  log_id (must equal the log's, else the file is stale)
 *    32     8  start_frame_no: the lineage start
 *    40     8  end_frame_no: last frame covered (a commit frame)
 *    48     8  frame_count (>= 1)
 *    56     8  end_checksum: checksum of frame end_frame_no
 *    64     8  crc64 of the frames (frame_count * 4120 bytes)
 *    72     4  size_after: DB size in pages after end_frame_no
 *    76    44  reserved, zero
 *   120     8  crc64 of bytes 0..119
 *   128   ...  frame_count frames, libSQL format, one per page: the newest
 *              version of that page in [start_frame_no, end_frame_no],
 *              strictly descending frame_no, size_after 0 in each, checksum
 *              as in the log (meaningless without its predecessor; clients
 *              do not verify it). The first is frame end_frame_no, whose
 *              checksum is end_checksum, the log's start_checksum when the
 *              log starts at end_frame_no + 1: the chain joins.
 * Written whole as rlog.snap.tmp, fdatasync'ed, renamed; never modified.
 *
 * Why one cumulative snapshot (libSQL keeps one file per compacted range
 * and merges them now and then): a single file covering the whole history
 * below the log brings any replica in [lineage_start, first_frame_no) to
 * the log in one Snapshot call, and its size is bounded by the database's
 * page count, not by history. The price is rewriting it at each compaction
 * (old snapshot + log range merged, O(pages)). The synthesis of PROTOCOL.md
 * §12 (reading pages from the live database) was not chosen: it needs a
 * consistent read of the database at a known frame_no, which belongs to
 * capture, and would make rlog depend on SQLite.
 *
 * Crash states of compaction (snapshot S, log L, both renamed into place,
 * directory fsync'ed after each rename, snapshot first):
 *   old S + old L  -> as before (stale *.tmp are deleted at open)
 *   new S + old L  -> S ends at or after L's first frame - 1: an overlap,
 *                     harmless (offsets >= L's start are served from L)
 *   new S + new L  -> done
 * Renaming L first would open a gap (new L, old S) and is never done.
 * rlog_reset renames the new L first, then deletes S; a snapshot whose
 * log_id differs from the log's is ignored and deleted at open.
 *
 * rlog.running: created (and the directory fsync'ed) at open, removed at
 * rlog_close; found at open = the last process died without closing. */
#ifndef SQLWIRE_RLOG_INT_H
#define SQLWIRE_RLOG_INT_H
#include "frame.h"
#include "rlog.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define RLOG_HDR_SIZE 128
#define RLOG_VERSION 1
#define RLOG_MAGIC "SQLWRLOG"
#define RLOG_SNAP_MAGIC "SQLWSNAP"
enum { /* log header */
       RLOG_HO_MAGIC = 0, RLOG_HO_VERSION = 8, RLOG_HO_PAGE_SIZE = 12, RLOG_HO_LOG_ID = 16,
       RLOG_HO_START = 32, RLOG_HO_START_CK = 40, RLOG_HO_LINEAGE = 48, RLOG_HO_CREATED = 56,
       RLOG_HO_CRC = 120 };
enum { /* snapshot header */
       RLOG_SO_MAGIC = 0, RLOG_SO_VERSION = 8, RLOG_SO_PAGE_SIZE = 12, RLOG_SO_LOG_ID = 16,
       RLOG_SO_START = 32, RLOG_SO_END = 40, RLOG_SO_COUNT = 48, RLOG_SO_END_CK = 56,
       RLOG_SO_BODY_CRC = 64, RLOG_SO_SIZE_AFTER = 72, RLOG_SO_CRC = 120 };
_Static_assert(RLOG_HO_CREATED + 8 <= RLOG_HO_CRC && RLOG_HO_CRC + 8 == RLOG_HDR_SIZE, "log header");
_Static_assert(RLOG_SO_SIZE_AFTER + 4 <= RLOG_SO_CRC && RLOG_SO_CRC + 8 == RLOG_HDR_SIZE, "snap header");
_Static_assert(sizeof(RLOG_MAGIC) - 1 == 8 && sizeof(RLOG_SNAP_MAGIC) - 1 == 8, "magic is 8 bytes");
_Static_assert(FRAME_SIZE == 4120, "libSQL frame");

#define RLOG_CHUNK 256 /* frames per read/write system call (~1 MiB) */
#define RLOG_WB_FRAMES 32 /* write-behind buffer (no_sync): frames (~128 KiB) */
#define RLOG_MAX_FRAME_NO ((uint64_t)1 << 62) /* sanity bound on positions */

struct rlog_hdr { /* decoded rlog.log header */
	unsigned char log_id[16];
	uint64_t start, start_ck, lineage, created_ms;
};

struct rlog_shdr { /* decoded rlog.snap header */
	unsigned char log_id[16];
	uint64_t start, end, count, end_ck, body_crc;
	uint32_t size_after;
};

/* An open log or snapshot file. Reference counted under log->mu: the log
 * holds one reference while the file is current; readers hold one while
 * they read; the last unref closes it (a replaced file stays readable
 * through its descriptor). */
struct rlog_file {
	int fd;
	int refs;
	struct rlog_shdr sh;  /* snapshots */
	pthread_mutex_t vmu;  /* snapshots: guards verified */
	int verified;         /* 0 unknown, 1 body checked, -1 corrupt */
};

struct rlog {
	struct rlog_opts o;
	char *dir;
	int dirfd; /* flock'ed: one opener per directory */
	pthread_mutex_t compact_mu, append_mu, mu;
	pthread_cond_t cv;  /* mu: publish, reset, shutdown (monotonic clock) */
	pthread_cond_t ccv; /* mu: wakes the compaction thread (monotonic clock) */

	/* Published state: read under mu; written under append_mu + mu. */
	struct rlog_file *cur;  /* rlog.log */
	struct rlog_hdr hdr;    /* its header */
	char id_str[RLOG_ID_STRLEN + 1];
	uint64_t next;          /* committed end: frames [hdr.start, next) */
	uint64_t gen;           /* lineage generation, bumped by rlog_reset */
	struct rlog_file *snap; /* rlog.snap or NULL; compaction/reset swap it */
	bool closing;
	uint64_t compactions;
	/* The commit frames of the log file, ascending (rlog_span_open finds
	 * where a batch ends without reading it). Entries below hdr.start may
	 * linger until the next compaction trims them. */
	uint64_t *commits;
	size_t ncommits, capcommits;

	/* Appender state (append_mu). */
	uint64_t last_ck; /* checksum of frame next - 1 (hdr.start_ck if none) */
	bool failed;

	/* Write-behind (no_sync only): the frames [wb_first, wb_first + wb_n)
	 * are in wb, whole transactions, not yet written to the file; every
	 * frame below wb_first is. Written under append_mu; wb_first and wb_n
	 * also change under mu, so a reader holding mu sees a consistent pair.
	 * Readers that need those frames flush them first (rlog_wb_flush). */
	unsigned char *wb;
	size_t wb_n;
	uint64_t wb_first;

	bool thr_started; /* compaction thread */
	pthread_t thr;
};

/* Byte offset of frame `no` in a log file whose first slot is `start`. */
static inline uint64_t rlog_slot(uint64_t start, uint64_t no)
{
	return RLOG_HDR_SIZE + (no - start) * FRAME_SIZE;
}

/* rlog_file.c */
int rlog_pread_full(int fd, void *buf, size_t n, uint64_t off);  /* 0, -1 errno, 1 short */
int rlog_pwrite_full(int fd, const void *buf, size_t n, uint64_t off); /* 0, -1 errno */
struct iovec;
/* Writes every iovec (which it may modify); 0, -1 errno. */
int rlog_pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off);
int rlog_fsync_dir(struct rlog *log, struct err *e);
/* Waits on cv (a CLOCK_MONOTONIC condition variable) at most ms (< 0: no limit). */
int rlog_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms);
uint64_t rlog_now_ms(void);  /* wall clock */
uint64_t rlog_mono_ms(void); /* monotonic */
struct rlog_file *rlog_file_new(int fd);
void rlog_file_unref(struct rlog *log, struct rlog_file *f); /* takes mu */
void rlog_file_unref_locked(struct rlog_file *f);            /* mu held */
void rlog_batch_reserve(struct rlog_batch *b, size_t frames);
/* Reads k whole frames at file offset off into slots [i, i + k) of b (one
 * pread, or one preadv when the slots have a prefix). 0, -1 errno, 1 short. */
int rlog_batch_pread(struct rlog_batch *b, size_t i, size_t k, int fd, uint64_t off);
void rlog_id_format(const unsigned char id[16], char out[RLOG_ID_STRLEN + 1]);
bool rlog_should_compact_locked(struct rlog *log); /* mu held */
/* Writes rlog.log.tmp: header h, then frames [h->start, end) copied from
 * src (whose first slot is src_start), fdatasync. Returns the fd or < 0. */
int rlog_write_log_tmp(struct rlog *log, const struct rlog_hdr *h, int src, uint64_t src_start,
		       uint64_t end, struct err *e);
/* Makes an empty rlog.log of a new lineage (new log_id) starting at
 * `start` and renames it into place. Returns its fd (*h filled) or < 0 with
 * nothing renamed. The caller installs it, then fsyncs the directory. */
int rlog_make_lineage(struct rlog *log, uint64_t start, struct rlog_hdr *h, struct err *e);
/* Makes fd (header h) the current log file, committed end `next`, appender
 * checksum last_ck. Caller holds append_mu (or is rlog_open). */
void rlog_install(struct rlog *log, int fd, const struct rlog_hdr *h, uint64_t next, uint64_t last_ck);

/* rlog.c: writes the write-behind buffer to the file (append_mu held).
 * 0 or RLOG_EIO (then log->failed). */
int rlog_wb_flush_locked(struct rlog *log, struct err *e);
/* Takes append_mu and flushes when frames below `upto` are still in the
 * buffer. */
int rlog_wb_flush_upto(struct rlog *log, uint64_t upto, struct err *e);

/* rlog.c: the commit index (mu held, or alone at open) */
void rlog_commits_push(struct rlog *log, uint64_t frame_no);
void rlog_commits_trim(struct rlog *log, uint64_t below); /* drops entries < below */

/* rlog_snap.c */
void rlog_shdr_encode(unsigned char *b, const struct rlog_shdr *s);
int rlog_shdr_decode(const unsigned char *b, struct rlog_shdr *s); /* 0 or -1 */
/* At open: loads rlog.snap if it is valid for the log (log fields and
 * log->next set), else ignores/deletes it. Sets info->snapshot_missing. */
int rlog_snap_load(struct rlog *log, struct rlog_open_info *info, struct err *e);
void rlog_compactor_start(struct rlog *log);
#endif
