/* rlog_snap: compaction (log range + old snapshot -> new snapshot, then
 * the log restarts after it), the snapshot cursor of rlog.h, loading the
 * snapshot at open, and the background compaction thread. Formats and the
 * crash-state argument: rlog_int.h. Locking: rlog.h.
 *
 * Compaction, in order:
 *  1. under compact_mu, note the current log file and its committed end C;
 *  2. without other locks (appends and reads go on) write rlog.snap.tmp:
 *     the log's frames [start, C) newest first, then the old snapshot's,
 *     keeping the first (newest) frame seen of each page; fdatasync;
 *  3. under append_mu (appends wait): write rlog.log.tmp = header starting
 *     at C, chained on frame C-1's checksum, plus the frames appended since
 *     step 1; fdatasync; rename the snapshot into place, fsync the
 *     directory, rename the log into place, fsync the directory; swap the
 *     files in memory. Readers holding the old files finish on them. */
#include "rlog_int.h"
#include "crc64.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the snapshot header ---- */

void rlog_shdr_encode(unsigned char *b, const struct rlog_shdr *s)
{
	memset(b, 0, RLOG_HDR_SIZE);
	memcpy(b + RLOG_SO_MAGIC, RLOG_SNAP_MAGIC, 8);
	frame_put_le32(b + RLOG_SO_VERSION, RLOG_VERSION);
	frame_put_le32(b + RLOG_SO_PAGE_SIZE, FRAME_PAGE_SIZE);
	memcpy(b + RLOG_SO_LOG_ID, s->log_id, 16);
	frame_put_le64(b + RLOG_SO_START, s->start);
	frame_put_le64(b + RLOG_SO_END, s->end);
	frame_put_le64(b + RLOG_SO_COUNT, s->count);
	frame_put_le64(b + RLOG_SO_END_CK, s->end_ck);
	frame_put_le64(b + RLOG_SO_BODY_CRC, s->body_crc);
	frame_put_le32(b + RLOG_SO_SIZE_AFTER, s->size_after);
	frame_put_le64(b + RLOG_SO_CRC, crc64(b, RLOG_SO_CRC));
}

int rlog_shdr_decode(const unsigned char *b, struct rlog_shdr *s)
{
	if (memcmp(b + RLOG_SO_MAGIC, RLOG_SNAP_MAGIC, 8) != 0 ||
	    frame_get_le32(b + RLOG_SO_VERSION) != RLOG_VERSION ||
	    frame_get_le32(b + RLOG_SO_PAGE_SIZE) != FRAME_PAGE_SIZE ||
	    frame_get_le64(b + RLOG_SO_CRC) != crc64(b, RLOG_SO_CRC))
		return -1;
	memcpy(s->log_id, b + RLOG_SO_LOG_ID, 16);
	s->start = frame_get_le64(b + RLOG_SO_START);
	s->end = frame_get_le64(b + RLOG_SO_END);
	s->count = frame_get_le64(b + RLOG_SO_COUNT);
	s->end_ck = frame_get_le64(b + RLOG_SO_END_CK);
	s->body_crc = frame_get_le64(b + RLOG_SO_BODY_CRC);
	s->size_after = frame_get_le32(b + RLOG_SO_SIZE_AFTER);
	if (s->start > s->end || s->count == 0 || s->count - 1 > s->end - s->start || s->size_after == 0)
		return -1;
	return 0;
}

static uint64_t rlog_snap_slot(uint64_t i)
{
	return RLOG_HDR_SIZE + i * FRAME_SIZE;
}

int rlog_snap_load(struct rlog *log, struct rlog_open_info *info, struct err *e)
{
	const char *why = NULL;
	struct rlog_shdr sh;
	unsigned char hb[RLOG_HDR_SIZE];
	struct stat st;
	int fd = openat(log->dirfd, "rlog.snap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return err_set(e, "rlog: open %s/rlog.snap: %s", log->dir, strerror(errno)), RLOG_EIO;
	if (fd >= 0) {
		int r = rlog_pread_full(fd, hb, sizeof hb, 0);
		if (r < 0 || fstat(fd, &st) != 0) {
			close(fd);
			return err_set(e, "rlog: read %s/rlog.snap: %s", log->dir, strerror(errno)), RLOG_EIO;
		}
		if (r > 0 || rlog_shdr_decode(hb, &sh) != 0)
			why = "invalid header";
		else if (memcmp(sh.log_id, log->hdr.log_id, 16) != 0)
			why = "stale (another log_id)";
		else if ((uint64_t)st.st_size != rlog_snap_slot(sh.count))
			why = "wrong size";
		else if (sh.start != log->hdr.lineage || sh.end + 1 < log->hdr.start || sh.end >= log->next ||
			 (sh.end + 1 == log->hdr.start && sh.end_ck != log->hdr.start_ck))
			why = "does not join the log";
	}
	if (fd >= 0 && !why) {
		log->snap = rlog_file_new(fd);
		log->snap->sh = sh;
	} else if (fd >= 0) {
		close(fd);
		log_warn("rlog: %s/rlog.snap: %s, ignored", log->dir, why);
		if (strncmp(why, "stale", 5) == 0 && unlinkat(log->dirfd, "rlog.snap", 0) == 0)
			rlog_fsync_dir(log, NULL);
	}
	info->snapshot_missing = log->hdr.start > log->hdr.lineage && !log->snap;
	return 0;
}

/* Checks a snapshot's body once per file per process: the body checksum,
 * and the order the cursor's binary search relies on. */
static int rlog_snap_verify(struct rlog *log, struct rlog_file *sf, struct err *e)
{
	pthread_mutex_lock(&sf->vmu);
	if (sf->verified == 0) {
		const struct rlog_shdr *sh = &sf->sh;
		unsigned char *buf = malloc((size_t)RLOG_CHUNK * FRAME_SIZE);
		if (!buf)
			abort();
		uint64_t crc = 0, last = 0;
		int ok = 1;
		for (uint64_t i = 0; ok && i < sh->count;) {
			uint64_t k = sh->count - i < RLOG_CHUNK ? sh->count - i : RLOG_CHUNK;
			if (rlog_pread_full(sf->fd, buf, k * FRAME_SIZE, rlog_snap_slot(i)) != 0) {
				ok = 0;
				break;
			}
			crc = crc64_update(crc, buf, k * FRAME_SIZE);
			for (uint64_t j = 0; ok && j < k; j++) {
				const unsigned char *f = buf + j * FRAME_SIZE;
				uint64_t no = frame_get_no(f);
				ok = (i + j == 0 ? no == sh->end && frame_get_checksum(f) == sh->end_ck : no < last) &&
				     no >= sh->start && frame_get_page_no(f) != 0;
				last = no;
			}
			i += k;
		}
		sf->verified = ok && crc == sh->body_crc ? 1 : -1;
		free(buf);
	}
	int v = sf->verified;
	pthread_mutex_unlock(&sf->vmu);
	if (v < 0)
		return err_set(e, "rlog: %s/rlog.snap: corrupt body", log->dir), RLOG_ECORRUPT;
	return 0;
}

/* ---- the cursor ---- */

struct rlog_snap {
	struct rlog *log;
	struct rlog_file *f;
	uint64_t total, pos, from;
	char log_id[RLOG_ID_STRLEN + 1];
};

int rlog_snapshot_open(struct rlog *log, uint64_t next_offset, struct rlog_snap **out, struct err *e)
{
	*out = NULL;
	pthread_mutex_lock(&log->mu);
	struct rlog_file *sf = log->snap;
	if (!sf || next_offset < sf->sh.start || next_offset > sf->sh.end) {
		pthread_mutex_unlock(&log->mu);
		return err_set(e, "snapshot not found"), RLOG_ENOSNAPSHOT;
	}
	sf->refs++;
	struct rlog_snap *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	memcpy(s->log_id, log->id_str, sizeof s->log_id);
	pthread_mutex_unlock(&log->mu);
	s->log = log;
	s->f = sf;
	s->from = next_offset;
	int rc = rlog_snap_verify(log, sf, e);
	/* frames are strictly descending: count those >= next_offset */
	uint64_t lo = 0, hi = sf->sh.count;
	while (rc == 0 && lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		unsigned char b[8];
		if (rlog_pread_full(sf->fd, b, 8, rlog_snap_slot(mid) + FRAME_OFF_NO) != 0)
			rc = (err_set(e, "rlog: reading %s/rlog.snap: %s", log->dir, strerror(errno)), RLOG_EIO);
		else if (frame_get_le64(b) >= next_offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (rc) {
		rlog_snapshot_close(s);
		return rc;
	}
	s->total = lo;
	*out = s;
	return 0;
}

int rlog_snapshot_read(struct rlog_snap *s, size_t max_frames, struct rlog_batch *out, struct err *e)
{
	out->n = 0;
	memcpy(out->log_id, s->log_id, sizeof out->log_id);
	if (!max_frames)
		return err_set(e, "rlog: max_frames 0"), RLOG_EINVAL;
	uint64_t k = s->total - s->pos;
	if (k > max_frames)
		k = max_frames;
	if (!k)
		return 0;
	rlog_batch_reserve(out, (size_t)k);
	if (rlog_batch_pread(out, 0, (size_t)k, s->f->fd, rlog_snap_slot(s->pos)) != 0)
		return err_set(e, "rlog: reading %s/rlog.snap: %s", s->log->dir, strerror(errno)), RLOG_EIO;
	for (uint64_t j = 0; j < k; j++) { /* the body was verified; recheck the order cheaply */
		unsigned char *f = rlog_batch_frame(out, (size_t)j);
		uint64_t no = frame_get_no(f);
		if (no < s->from || no > s->f->sh.end || frame_get_page_no(f) == 0)
			return err_set(e, "rlog: %s/rlog.snap: frame out of order", s->log->dir), RLOG_ECORRUPT;
		frame_set_size_after(f, 0);
	}
	s->pos += k;
	if (s->pos == s->total) /* the last frame streamed commits the whole snapshot */
		frame_set_size_after(rlog_batch_frame(out, (size_t)k - 1), s->f->sh.size_after);
	out->n = (size_t)k;
	return 0;
}

uint64_t rlog_snapshot_count(const struct rlog_snap *s)
{
	return s->total;
}

void rlog_snapshot_close(struct rlog_snap *s)
{
	if (!s)
		return;
	rlog_file_unref(s->log, s->f);
	free(s);
}

/* ---- building a snapshot ---- */

/* Page numbers already emitted: open addressing, 0 = empty slot. */
struct rlog_pset {
	uint32_t *slot;
	unsigned bits;
	size_t n;
};

static bool rlog_pset_add(struct rlog_pset *s, uint32_t pg)
{
	if (!s->slot || (s->n + 1) * 2 > ((size_t)1 << s->bits)) {
		struct rlog_pset g = {.bits = s->slot ? s->bits + 1 : 12, .n = 0};
		if (!(g.slot = calloc((size_t)1 << g.bits, sizeof *g.slot)))
			abort();
		for (size_t i = 0; s->slot && i < ((size_t)1 << s->bits); i++)
			if (s->slot[i])
				rlog_pset_add(&g, s->slot[i]);
		free(s->slot);
		*s = g;
	}
	size_t mask = ((size_t)1 << s->bits) - 1;
	size_t i = (size_t)(((uint64_t)pg * 0x9E3779B97F4A7C15ull) >> (64 - s->bits));
	while (s->slot[i]) {
		if (s->slot[i] == pg)
			return false;
		i = (i + 1) & mask;
	}
	s->slot[i] = pg;
	s->n++;
	return true;
}

struct rlog_builder {
	int fd;
	uint64_t off, count, crc;
	unsigned char *buf; /* RLOG_CHUNK frames */
	size_t nbuf;
	struct rlog_pset seen;
};

static int rlog_b_flush(struct rlog_builder *b)
{
	if (!b->nbuf)
		return 0;
	size_t len = b->nbuf * FRAME_SIZE;
	b->crc = crc64_update(b->crc, b->buf, len);
	if (rlog_pwrite_full(b->fd, b->buf, len, b->off) != 0)
		return -1;
	b->off += len;
	b->nbuf = 0;
	return 0;
}

/* Keeps f if it is the first (newest) frame of its page. */
static int rlog_b_emit(struct rlog_builder *b, const unsigned char *f)
{
	if (!rlog_pset_add(&b->seen, frame_get_page_no(f)))
		return 0;
	unsigned char *d = b->buf + b->nbuf++ * FRAME_SIZE;
	memcpy(d, f, FRAME_SIZE);
	frame_set_size_after(d, 0);
	b->count++;
	return b->nbuf == RLOG_CHUNK ? rlog_b_flush(b) : 0;
}

/* Step 2: rlog.snap.tmp from log frames [h->start, C) of f and the old
 * snapshot. Returns its fd in *sfd and its header in *sh. */
static int rlog_snap_build(struct rlog *log, struct rlog_file *f, const struct rlog_hdr *h, uint64_t C,
			   struct rlog_file *old, struct rlog_shdr *sh, int *sfd, struct err *e)
{
	int rc = RLOG_EIO;
	struct rlog_builder b = {.off = RLOG_HDR_SIZE};
	unsigned char *rb = malloc((size_t)RLOG_CHUNK * FRAME_SIZE);
	if (!rb || !(b.buf = malloc((size_t)RLOG_CHUNK * FRAME_SIZE)))
		abort();
	memset(sh, 0, sizeof *sh);
	unlinkat(log->dirfd, "rlog.snap.tmp", 0);
	b.fd = openat(log->dirfd, "rlog.snap.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (b.fd < 0)
		goto io;
	/* the log, newest chunk first; each chunk verified forward, emitted backward */
	for (uint64_t hi = C; hi > h->start;) {
		uint64_t k = hi - h->start < RLOG_CHUNK ? hi - h->start : RLOG_CHUNK, lo = hi - k;
		uint64_t prev = h->start_ck;
		unsigned char ckb[8];
		if (rlog_pread_full(f->fd, rb, k * FRAME_SIZE, RLOG_HDR_SIZE + (lo - h->start) * FRAME_SIZE) ||
		    (lo > h->start && rlog_pread_full(f->fd, ckb, 8,
						      RLOG_HDR_SIZE + (lo - 1 - h->start) * FRAME_SIZE + FRAME_OFF_CHECKSUM)))
			goto io;
		if (lo > h->start)
			prev = frame_get_le64(ckb);
		for (uint64_t j = 0; j < k; j++) {
			const char *why;
			if (frame_verify(rb + j * FRAME_SIZE, lo + j, prev, &why) != 0) {
				rc = (err_set(e, "rlog: compaction: frame %llu: %s", (unsigned long long)(lo + j), why),
				      RLOG_ECORRUPT);
				goto fail;
			}
			prev = frame_get_checksum(rb + j * FRAME_SIZE);
		}
		if (hi == C) {
			const unsigned char *endf = rb + (k - 1) * FRAME_SIZE;
			sh->end_ck = frame_get_checksum(endf);
			sh->size_after = frame_get_size_after(endf);
		}
		for (uint64_t j = k; j-- > 0;)
			if (rlog_b_emit(&b, rb + j * FRAME_SIZE) != 0)
				goto io;
		hi = lo;
	}
	if (!sh->size_after) {
		rc = (err_set(e, "rlog: compaction: frame %llu is no commit", (unsigned long long)(C - 1)), RLOG_ECORRUPT);
		goto fail;
	}
	/* then the old snapshot, already newest first; its overlap with the log (a
	 * crash between the two renames of a compaction) is skipped */
	if (old) {
		uint64_t crc = 0;
		for (uint64_t i = 0; i < old->sh.count;) {
			uint64_t k = old->sh.count - i < RLOG_CHUNK ? old->sh.count - i : RLOG_CHUNK;
			if (rlog_pread_full(old->fd, rb, k * FRAME_SIZE, rlog_snap_slot(i)) != 0)
				goto io;
			crc = crc64_update(crc, rb, k * FRAME_SIZE);
			for (uint64_t j = 0; j < k; j++)
				if (frame_get_no(rb + j * FRAME_SIZE) < h->start &&
				    rlog_b_emit(&b, rb + j * FRAME_SIZE) != 0)
					goto io;
			i += k;
		}
		if (crc != old->sh.body_crc) {
			rc = (err_set(e, "rlog: compaction: %s/rlog.snap: corrupt body", log->dir), RLOG_ECORRUPT);
			goto fail;
		}
	}
	if (rlog_b_flush(&b) != 0)
		goto io;
	memcpy(sh->log_id, h->log_id, 16);
	sh->start = h->lineage;
	sh->end = C - 1;
	sh->count = b.count;
	sh->body_crc = b.crc;
	unsigned char hb[RLOG_HDR_SIZE];
	rlog_shdr_encode(hb, sh);
	if (rlog_pwrite_full(b.fd, hb, sizeof hb, 0) != 0 || fdatasync(b.fd) != 0)
		goto io;
	*sfd = b.fd;
	free(rb);
	free(b.buf);
	free(b.seen.slot);
	return 0;
io:
	rc = (err_set(e, "rlog: compaction: %s: %s", log->dir, errno ? strerror(errno) : "short file"), RLOG_EIO);
fail:
	if (b.fd >= 0) {
		close(b.fd);
		unlinkat(log->dirfd, "rlog.snap.tmp", 0);
	}
	free(rb);
	free(b.buf);
	free(b.seen.slot);
	return rc;
}

/* Step 3. */
static int rlog_compact_switch(struct rlog *log, struct rlog_file *f, const struct rlog_hdr *h, uint64_t C,
			       const struct rlog_shdr *sh, int sfd, struct err *e)
{
	int rc = 0;
	pthread_mutex_lock(&log->append_mu);
	if (log->failed) {
		rc = (err_set(e, "rlog: compaction: an append failed; reopen the log"), RLOG_EFAILED);
		goto drop_snap;
	}
	if ((rc = rlog_wb_flush_locked(log, e)) != 0) /* the frames carried over come from the file */
		goto drop_snap;
	struct rlog_hdr nh = *h;
	nh.start = C;
	nh.start_ck = sh->end_ck;
	nh.created_ms = rlog_now_ms();
	int lfd = rlog_write_log_tmp(log, &nh, f->fd, h->start, log->next, e);
	if (lfd < 0) {
		rc = lfd;
		goto drop_snap;
	}
	if (renameat(log->dirfd, "rlog.snap.tmp", log->dirfd, "rlog.snap") != 0) {
		rc = (err_set(e, "rlog: compaction: rename snapshot: %s", strerror(errno)), RLOG_EIO);
		close(lfd);
		unlinkat(log->dirfd, "rlog.log.tmp", 0);
		goto drop_snap;
	}
	struct rlog_file *ns = rlog_file_new(sfd);
	ns->sh = *sh;
	ns->verified = 1;
	pthread_mutex_lock(&log->mu);
	struct rlog_file *os = log->snap;
	log->snap = ns;
	rlog_file_unref_locked(os);
	pthread_mutex_unlock(&log->mu);
	/* the snapshot's rename must be durable before the log's (no gap) */
	rc = rlog_fsync_dir(log, e);
	if (rc == 0 && renameat(log->dirfd, "rlog.log.tmp", log->dirfd, "rlog.log") != 0)
		rc = (err_set(e, "rlog: compaction: rename log: %s", strerror(errno)), RLOG_EIO);
	if (rc) {
		close(lfd);
		unlinkat(log->dirfd, "rlog.log.tmp", 0);
		goto out; /* new snapshot + old log: a valid state */
	}
	struct rlog_file *nf = rlog_file_new(lfd);
	pthread_mutex_lock(&log->mu);
	struct rlog_file *of = log->cur;
	log->cur = nf;
	log->hdr = nh;
	rlog_commits_trim(log, nh.start);
	log->compactions++;
	rlog_file_unref_locked(of);
	pthread_mutex_unlock(&log->mu);
	if ((rc = rlog_fsync_dir(log, e)) != 0)
		log->failed = true; /* appends to a log whose name may not survive */
	goto out;
drop_snap:
	close(sfd);
	unlinkat(log->dirfd, "rlog.snap.tmp", 0);
out:
	pthread_mutex_unlock(&log->append_mu);
	return rc;
}

bool rlog_should_compact(struct rlog *log)
{
	pthread_mutex_lock(&log->mu);
	bool v = rlog_should_compact_locked(log);
	pthread_mutex_unlock(&log->mu);
	return v;
}

int rlog_compact(struct rlog *log, struct err *e)
{
	pthread_mutex_lock(&log->compact_mu);
	/* the snapshot is built from the file: frames in the write-behind
	 * buffer go there first, and later ones wait for the next compaction */
	int frc = rlog_wb_flush_upto(log, UINT64_MAX, e);
	if (frc) {
		pthread_mutex_unlock(&log->compact_mu);
		return frc;
	}
	pthread_mutex_lock(&log->mu);
	struct rlog_file *f = log->cur, *old = log->snap;
	struct rlog_hdr h = log->hdr;
	uint64_t C = log->wb_n ? log->wb_first : log->next;
	f->refs++;
	if (old)
		old->refs++;
	pthread_mutex_unlock(&log->mu);
	int rc = 0, sfd = -1;
	if (C > h.start) {
		struct rlog_shdr sh;
		errno = 0;
		rc = rlog_snap_build(log, f, &h, C, old, &sh, &sfd, e);
		if (rc == 0)
			rc = rlog_compact_switch(log, f, &h, C, &sh, sfd, e);
		if (rc == 0)
			log_info("rlog: %s: compacted frames up to %llu into a snapshot of %llu pages", log->dir,
				 (unsigned long long)(C - 1), (unsigned long long)sh.count);
	}
	pthread_mutex_lock(&log->mu);
	rlog_file_unref_locked(f);
	rlog_file_unref_locked(old);
	pthread_mutex_unlock(&log->mu);
	pthread_mutex_unlock(&log->compact_mu);
	return rc;
}

/* ---- the background compaction thread ---- */

static void *rlog_compactor(void *arg)
{
	struct rlog *log = arg;
	uint64_t retry_at = 0;
	pthread_mutex_lock(&log->mu);
	while (!log->closing) {
		uint64_t now = rlog_mono_ms();
		bool due = rlog_should_compact_locked(log);
		if (due && now >= retry_at) {
			pthread_mutex_unlock(&log->mu);
			struct err e = {{0}};
			if (rlog_compact(log, &e) != 0) {
				log_warn("%s", e.msg);
				retry_at = rlog_mono_ms() + 1000;
			}
			pthread_mutex_lock(&log->mu);
			continue;
		}
		int64_t wait = -1;
		if (due)
			wait = (int64_t)(retry_at - now);
		else if (log->o.max_log_age_ms && log->next > log->hdr.start) {
			uint64_t at = log->hdr.created_ms + log->o.max_log_age_ms, wall = rlog_now_ms();
			wait = at > wall ? (int64_t)(at - wall) : 1;
		}
		rlog_cond_wait_ms(&log->ccv, &log->mu, wait);
	}
	pthread_mutex_unlock(&log->mu);
	return NULL;
}

void rlog_compactor_start(struct rlog *log)
{
	int r = pthread_create(&log->thr, NULL, rlog_compactor, log);
	if (r == 0)
		log->thr_started = true;
	else
		log_warn("rlog: %s: no compaction thread: %s", log->dir, strerror(r));
}
