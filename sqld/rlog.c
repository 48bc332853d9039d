/* rlog: see rlog.h (API, invariants, locking) and rlog_int.h (formats,
 * crash states). This file: appends, reads, waits, reset, stat. Files,
 * open and close are in rlog_file.c; compaction and snapshots in
 * rlog_snap.c.
 *
 * Durability of an append: the frames are written past the committed end
 * and fdatasync'ed (which also persists the new file size); only then is
 * the end published. A crash before fdatasync returns leaves some subset of
 * the new sectors on disk; open verifies the chain from the start and cuts
 * after the last whole transaction, so such a tail is never claimed. The
 * file itself came into being by rename + directory fsync, so its name is
 * durable before the first append.
 *
 * Reads take mu only to pick up the current file (a reference), its first
 * frame and the committed end; the preads and the checks run unlocked. Bytes below the committed end never change
 * (appends write past it; compaction and reset write new files). */
#include "rlog_int.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- appends ---- */

/* ---- write-behind (no_sync) ---- */

int rlog_wb_flush_locked(struct rlog *log, struct err *e)
{
	if (!log->wb_n)
		return 0;
	int fd = log->cur->fd;
	if (rlog_pwrite_full(fd, log->wb, log->wb_n * FRAME_SIZE, rlog_slot(log->hdr.start, log->wb_first)) != 0) {
		err_set(e, "rlog: append to %s/rlog.log: %s", log->dir, strerror(errno));
		/* as a failed append: the frames are published but not written */
		log->failed = true;
		return RLOG_EIO;
	}
	pthread_mutex_lock(&log->mu);
	log->wb_first += log->wb_n;
	log->wb_n = 0;
	pthread_mutex_unlock(&log->mu);
	return 0;
}

int rlog_wb_flush_upto(struct rlog *log, uint64_t upto, struct err *e)
{
	if (!log->o.no_sync)
		return 0;
	pthread_mutex_lock(&log->mu);
	bool need = log->wb_n && log->wb_first < upto;
	pthread_mutex_unlock(&log->mu);
	if (!need)
		return 0;
	pthread_mutex_lock(&log->append_mu);
	int rc = log->failed && log->wb_n ? (err_set(e, "rlog: an earlier write failed"), RLOG_EIO)
					  : rlog_wb_flush_locked(log, e);
	pthread_mutex_unlock(&log->append_mu);
	return rc;
}

/* ---- appends ---- */

int rlog_append_txn(struct rlog *log, const struct rlog_page *pages, size_t n, uint32_t size_after,
		    uint64_t *commit_frame_no, struct err *e)
{
	if (!n || !size_after)
		return err_set(e, "rlog: empty transaction or size_after 0"), RLOG_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!pages[i].page_no || !pages[i].data)
			return err_set(e, "rlog: page %zu: page_no 0 or no data", i), RLOG_EINVAL;
	pthread_mutex_lock(&log->append_mu);
	if (log->failed) {
		pthread_mutex_unlock(&log->append_mu);
		return err_set(e, "rlog: an earlier append failed; reopen the log"), RLOG_EFAILED;
	}
	/* cur, hdr, next only change under append_mu, which we hold */
	int fd = log->cur->fd;
	uint64_t first = log->next, ck = log->last_ck;
	if (n > RLOG_MAX_FRAME_NO - first) {
		pthread_mutex_unlock(&log->append_mu);
		return err_set(e, "rlog: frame_no space exhausted"), RLOG_EINVAL;
	}
	uint64_t base = rlog_slot(log->hdr.start, first);
	if (log->o.no_sync && (log->wb_n + n > RLOG_WB_FRAMES) && rlog_wb_flush_locked(log, e) != 0) {
		pthread_mutex_unlock(&log->append_mu);
		return RLOG_EIO;
	}
	if (log->o.no_sync && n <= RLOG_WB_FRAMES) {
		/* no_sync: into the write-behind buffer, written to the file when
		 * it fills (one pwrite for many commits), when a reader needs the
		 * frames, before compaction and at close */
		if (!log->wb_n)
			log->wb_first = first; /* == next: everything before is written */
		unsigned char *w = log->wb + log->wb_n * FRAME_SIZE;
		for (size_t p = 0; p < n; p++, w += FRAME_SIZE)
			ck = frame_encode(w, first + p, ck, pages[p].page_no, p == n - 1 ? size_after : 0,
					  pages[p].data);
		pthread_mutex_lock(&log->mu);
		log->wb_n += n;
		goto publish_locked;
	}
	/* each frame is its 24-byte header (here) and the caller's page (not
	 * copied): one pwritev per RLOG_CHUNK frames */
	unsigned char hdrs[RLOG_CHUNK][FRAME_OFF_PAGE];
	struct iovec iov[2 * RLOG_CHUNK];
	for (size_t i = 0; i < n;) {
		size_t k = n - i < RLOG_CHUNK ? n - i : RLOG_CHUNK;
		for (size_t j = 0; j < k; j++) {
			size_t p = i + j;
			struct frame_hdr h = {.frame_no = first + p,
					      .checksum = frame_checksum(ck, pages[p].data),
					      .page_no = pages[p].page_no,
					      .size_after = p == n - 1 ? size_after : 0};
			ck = h.checksum;
			frame_hdr_encode(hdrs[j], &h);
			iov[2 * j].iov_base = hdrs[j];
			iov[2 * j].iov_len = FRAME_OFF_PAGE;
			iov[2 * j + 1].iov_base = (void *)pages[p].data;
			iov[2 * j + 1].iov_len = FRAME_PAGE_SIZE;
		}
		if (rlog_pwritev_full(fd, iov, (int)(2 * k), base + i * FRAME_SIZE) != 0)
			goto fail;
		i += k;
	}
	if (!log->o.no_sync && fdatasync(fd) != 0)
		goto fail;
	pthread_mutex_lock(&log->mu);
	if (log->o.no_sync)
		log->wb_first = first + n; /* written directly; the buffer is empty */
publish_locked:
	log->next = first + n;
	rlog_commits_push(log, first + n - 1);
	pthread_cond_broadcast(&log->cv);
	/* wake the compactor when compaction is due, and when these are the
	 * first frames of the file: with the file empty it sleeps with no
	 * deadline, and now the age bound's clock runs */
	if (log->thr_started &&
	    (rlog_should_compact_locked(log) || (log->o.max_log_age_ms && first == log->hdr.start)))
		pthread_cond_signal(&log->ccv);
	pthread_mutex_unlock(&log->mu);
	log->last_ck = ck;
	pthread_mutex_unlock(&log->append_mu);
	if (commit_frame_no)
		*commit_frame_no = first + n - 1;
	return 0;
fail:
	err_set(e, "rlog: append to %s/rlog.log: %s", log->dir, strerror(errno));
	/* Best effort: drop the partial transaction now; open would cut it
	 * anyway. Refuse further appends: after a failed write or fdatasync
	 * the kernel's view of the file cannot be trusted. */
	if (ftruncate(fd, (off_t)base) == 0)
		(void)fdatasync(fd);
	log->failed = true;
	pthread_mutex_unlock(&log->append_mu);
	return RLOG_EIO;
}

/* ---- reads ---- */

/* Reads frames [from, ...) of file f (first slot = start) into out: at
 * least `want` frames (fewer if `end` comes first), then on to a commit
 * frame. Frames are checked for their frame_no and page_no; their checksums
 * were verified when they entered this process (rlog.h). */
static int rlog_read_range(struct rlog *log, int fd, uint64_t start, uint64_t from, uint64_t end, size_t want,
			   bool exact, struct rlog_batch *out, struct err *e)
{
	uint64_t no = from;
	bool at_commit = false;
	if (exact && end > from + want)
		end = from + want;
	while (no < end && !(at_commit && out->n >= want)) {
		uint64_t k = out->n < want ? want - out->n : 16; /* past max_frames: to the commit */
		if (k > RLOG_CHUNK)
			k = RLOG_CHUNK;
		if (k > end - no)
			k = end - no;
		rlog_batch_reserve(out, out->n + (size_t)k);
		size_t first = out->n;
		int r = rlog_batch_pread(out, first, (size_t)k, fd, rlog_slot(start, no));
		if (r != 0)
			goto io;
		for (uint64_t j = 0; j < k && !(at_commit && out->n >= want); j++) {
			const unsigned char *f = rlog_batch_frame(out, first + (size_t)j);
			const char *why = frame_get_no(f) != no ? "unexpected frame_no"
					  : frame_get_page_no(f) == 0 ? "page_no 0"
								    : NULL;
			if (why) {
				out->n = 0;
				return err_set(e, "rlog: %s/rlog.log: frame %llu: %s", log->dir,
					       (unsigned long long)no, why), RLOG_ECORRUPT;
			}
			out->n++;
			no++;
			at_commit = frame_is_commit(f);
		}
	}
	if (!at_commit && !exact) { /* the committed end always follows a commit frame */
		out->n = 0;
		return err_set(e, "rlog: %s/rlog.log: no commit frame before %llu", log->dir,
			       (unsigned long long)end), RLOG_ECORRUPT;
	}
	return 0;
io:
	out->n = 0;
	return err_set(e, "rlog: reading %s/rlog.log: %s", log->dir, errno ? strerror(errno) : "short file"),
	       RLOG_EIO;
}

int rlog_read(struct rlog *log, uint64_t next_offset, size_t max_frames, struct rlog_batch *out,
	      struct err *e)
{
	out->n = 0;
	if (!max_frames)
		return err_set(e, "rlog: max_frames 0"), RLOG_EINVAL;
	/* frames still in the write-behind buffer go to the file first; what
	 * comes after this is left out (the end read below stops there) */
	pthread_mutex_lock(&log->mu);
	uint64_t want_end = log->next;
	pthread_mutex_unlock(&log->mu);
	if (rlog_wb_flush_upto(log, want_end, e) != 0)
		return RLOG_EIO;
	pthread_mutex_lock(&log->mu);
	memcpy(out->log_id, log->id_str, sizeof out->log_id);
	struct rlog_file *f = log->cur;
	uint64_t start = log->hdr.start, end = log->next;
	if (log->wb_n && log->wb_first < end)
		end = log->wb_first; /* committed meanwhile, not written yet: next time */
	if (next_offset < start) {
		pthread_mutex_unlock(&log->mu);
		return err_set(e, "NEED_SNAPSHOT: frame %llu precedes the log (first %llu)",
			       (unsigned long long)next_offset, (unsigned long long)start), RLOG_NEED_SNAPSHOT;
	}
	if (next_offset >= end) {
		pthread_mutex_unlock(&log->mu);
		return 0;
	}
	f->refs++;
	pthread_mutex_unlock(&log->mu);
	errno = 0;
	int rc = rlog_read_range(log, f->fd, start, next_offset, end, max_frames, false, out, e);
	rlog_file_unref(log, f);
	return rc;
}

/* ---- the commit index ---- */

void rlog_commits_push(struct rlog *log, uint64_t frame_no)
{
	if (log->ncommits == log->capcommits) {
		size_t cap = log->capcommits ? log->capcommits * 2 : 1024;
		uint64_t *p = realloc(log->commits, cap * sizeof *p);
		if (!p)
			abort();
		log->commits = p;
		log->capcommits = cap;
	}
	log->commits[log->ncommits++] = frame_no;
}

void rlog_commits_trim(struct rlog *log, uint64_t below)
{
	size_t k = 0;
	while (k < log->ncommits && log->commits[k] < below)
		k++;
	if (k) {
		memmove(log->commits, log->commits + k, (log->ncommits - k) * sizeof *log->commits);
		log->ncommits -= k;
	}
}

/* The first commit frame >= no (mu held); false if none. */
static bool rlog_commit_at_or_after(const struct rlog *log, uint64_t no, uint64_t *out)
{
	size_t lo = 0, hi = log->ncommits;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (log->commits[mid] < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == log->ncommits)
		return false;
	*out = log->commits[lo];
	return true;
}

int rlog_span_open(struct rlog *log, uint64_t next_offset, size_t max_frames, struct rlog_span *s,
		   struct err *e)
{
	memset(s, 0, sizeof *s);
	s->log = log;
	s->from = s->end = next_offset;
	if (!max_frames)
		return err_set(e, "rlog: max_frames 0"), RLOG_EINVAL;
	pthread_mutex_lock(&log->mu);
	memcpy(s->log_id, log->id_str, sizeof s->log_id);
	uint64_t start = log->hdr.start, committed = log->next;
	int rc = 0;
	if (next_offset < start) {
		rc = RLOG_NEED_SNAPSHOT;
		err_set(e, "NEED_SNAPSHOT: frame %llu precedes the log (first %llu)", (unsigned long long)next_offset,
			(unsigned long long)start);
	} else if (next_offset < committed) {
		/* as rlog_read: at least max_frames (or to the end), on to a commit */
		uint64_t want = next_offset + max_frames - 1, c;
		if (want >= committed - 1 || !rlog_commit_at_or_after(log, want, &c))
			s->end = committed;
		else
			s->end = c + 1;
		s->file = log->cur;
		s->file->refs++;
		s->file_start = start;
		s->gen = log->gen;
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

int rlog_span_read(struct rlog_span *s, uint64_t from, size_t n, struct rlog_batch *out, struct err *e)
{
	struct rlog *log = s->log;
	out->n = 0;
	if (!s->file || !n || from < s->from || from > s->end || n > s->end - from)
		return err_set(e, "rlog: frames %llu..+%zu are outside the span", (unsigned long long)from, n),
		       RLOG_EINVAL;
	/* while the pinned file is the current one, frames may still be in the
	 * write-behind buffer; once compaction has swapped it, it has them all */
	if (rlog_wb_flush_upto(log, from + n, e) != 0)
		return RLOG_EIO;
	pthread_mutex_lock(&log->mu);
	memcpy(out->log_id, s->log_id, sizeof out->log_id);
	int rc = 0;
	if (log->gen != s->gen)
		rc = (err_set(e, "rlog: a new lineage started"), RLOG_ERESET);
	else if (s->file == log->cur && log->wb_n && log->wb_first < from + n) /* flushed above; only a reset undoes that */
		rc = (err_set(e, "rlog: a new lineage started"), RLOG_ERESET);
	pthread_mutex_unlock(&log->mu);
	if (rc)
		return rc;
	errno = 0;
	return rlog_read_range(log, s->file->fd, s->file_start, from, s->end, n, true, out, e);
}

void rlog_span_close(struct rlog_span *s)
{
	if (s->file)
		rlog_file_unref(s->log, s->file);
	s->file = NULL;
}

int rlog_wait(struct rlog *log, uint64_t next_offset, int timeout_ms)
{
	uint64_t deadline = timeout_ms >= 0 ? rlog_mono_ms() + (uint64_t)timeout_ms : 0;
	pthread_mutex_lock(&log->mu);
	uint64_t gen = log->gen;
	int rc;
	for (;;) {
		if (log->closing) {
			rc = RLOG_ECLOSED;
			break;
		}
		if (log->gen != gen) {
			rc = RLOG_ERESET;
			break;
		}
		if (log->next > next_offset) {
			rc = 0;
			break;
		}
		int64_t left = -1;
		if (timeout_ms >= 0) {
			uint64_t now = rlog_mono_ms();
			if (now >= deadline) {
				rc = RLOG_ETIMEDOUT;
				break;
			}
			left = (int64_t)(deadline - now);
		}
		rlog_cond_wait_ms(&log->cv, &log->mu, left);
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

/* ---- reset ---- */

int rlog_reset(struct rlog *log, uint64_t start_frame_no, struct err *e)
{
	if (start_frame_no >= RLOG_MAX_FRAME_NO)
		return err_set(e, "rlog: start frame_no too large"), RLOG_EINVAL;
	pthread_mutex_lock(&log->compact_mu);
	pthread_mutex_lock(&log->append_mu);
	struct rlog_hdr h;
	int fd = rlog_make_lineage(log, start_frame_no, &h, e);
	if (fd >= 0) { /* the old lineage's unwritten frames go with it */
		pthread_mutex_lock(&log->mu);
		log->wb_n = 0;
		log->wb_first = start_frame_no;
		pthread_mutex_unlock(&log->mu);
	}
	int rc = fd < 0 ? fd : 0;
	if (fd >= 0) {
		/* renamed into place: the new lineage is the log from now on */
		rlog_install(log, fd, &h, start_frame_no, 0);
		pthread_mutex_lock(&log->mu);
		log->ncommits = 0;
		struct rlog_file *old = log->snap;
		log->snap = NULL;
		log->gen++;
		pthread_cond_broadcast(&log->cv);
		rlog_file_unref_locked(old);
		pthread_mutex_unlock(&log->mu);
		log->failed = false;
		rc = rlog_fsync_dir(log, e);
		if (rc)
			log->failed = true; /* the rename may not survive a crash */
		else if (unlinkat(log->dirfd, "rlog.snap", 0) == 0 || errno == ENOENT)
			rlog_fsync_dir(log, NULL); /* a stale snapshot is ignored at open anyway */
		log_info("rlog: %s: new lineage %s from frame_no %llu", log->dir, log->id_str,
			 (unsigned long long)start_frame_no);
	}
	pthread_mutex_unlock(&log->append_mu);
	pthread_mutex_unlock(&log->compact_mu);
	return rc;
}

/* ---- state ---- */

void rlog_stat(struct rlog *log, struct rlog_stat *s)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_lock(&log->mu);
	memcpy(s->log_id, log->id_str, sizeof s->log_id);
	s->lineage_start = log->hdr.lineage;
	s->first_frame_no = log->hdr.start;
	s->next_frame_no = log->next;
	s->has_commit = log->next > log->hdr.lineage;
	s->last_commit = s->has_commit ? log->next - 1 : 0;
	s->log_bytes = RLOG_HDR_SIZE + (log->next - log->hdr.start) * FRAME_SIZE;
	if (log->snap) {
		const struct rlog_shdr *sh = &log->snap->sh;
		s->has_snapshot = true;
		s->snap_start = sh->start;
		s->snap_end = sh->end;
		s->snap_frames = sh->count;
		s->snap_size_after = sh->size_after;
		s->snap_bytes = RLOG_HDR_SIZE + sh->count * FRAME_SIZE;
	}
	s->compactions = log->compactions;
	pthread_mutex_unlock(&log->mu);
}

void rlog_log_id(struct rlog *log, char out[RLOG_ID_STRLEN + 1])
{
	pthread_mutex_lock(&log->mu);
	memcpy(out, log->id_str, RLOG_ID_STRLEN + 1);
	pthread_mutex_unlock(&log->mu);
}

uint64_t rlog_first_frame_no(struct rlog *log)
{
	pthread_mutex_lock(&log->mu);
	uint64_t v = log->hdr.start;
	pthread_mutex_unlock(&log->mu);
	return v;
}

uint64_t rlog_next_frame_no(struct rlog *log)
{
	pthread_mutex_lock(&log->mu);
	uint64_t v = log->next;
	pthread_mutex_unlock(&log->mu);
	return v;
}

bool rlog_last_commit(struct rlog *log, uint64_t *frame_no)
{
	pthread_mutex_lock(&log->mu);
	bool has = log->next > log->hdr.lineage;
	if (has && frame_no)
		*frame_no = log->next - 1;
	pthread_mutex_unlock(&log->mu);
	return has;
}

uint64_t rlog_size_bytes(struct rlog *log)
{
	struct rlog_stat s;
	rlog_stat(log, &s);
	return s.log_bytes + s.snap_bytes;
}
