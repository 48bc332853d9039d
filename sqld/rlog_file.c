/* rlog_file: the files of rlog (see rlog.h for the API and locking,
 * rlog_int.h for the formats and crash states): I/O and small helpers, the
 * log header, writing a log file (new lineage, or the restart after a
 * compaction), open (verify the whole log, cut a torn tail durably, load
 * the snapshot, mark the directory as in use) and close. */
#include "rlog_int.h"
#include "crc64.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <limits.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers shared with rlog_snap.c ---- */

int rlog_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int rlog_pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	const unsigned char *p = buf;
	while (n) {
		ssize_t r = pwrite(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int rlog_pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt > 0) {
		ssize_t r = pwritev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (uint64_t)r;
		/* skip what was written; a short write may end inside an iovec */
		while (cnt > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0 && r > 0) {
			iov->iov_base = (unsigned char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

int rlog_fsync_dir(struct rlog *log, struct err *e)
{
	if (fsync(log->dirfd) == 0)
		return 0;
	err_set(e, "rlog: fsync %s: %s", log->dir, strerror(errno));
	return RLOG_EIO;
}

uint64_t rlog_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t rlog_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int rlog_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
	if (ms < 0)
		return pthread_cond_wait(cv, mu);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_cond_timedwait(cv, mu, &ts);
}

struct rlog_file *rlog_file_new(int fd)
{
	struct rlog_file *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->fd = fd;
	f->refs = 1;
	pthread_mutex_init(&f->vmu, NULL);
	return f;
}

void rlog_file_unref_locked(struct rlog_file *f)
{
	if (f && --f->refs == 0) {
		close(f->fd);
		pthread_mutex_destroy(&f->vmu);
		free(f);
	}
}

void rlog_file_unref(struct rlog *log, struct rlog_file *f)
{
	pthread_mutex_lock(&log->mu);
	rlog_file_unref_locked(f);
	pthread_mutex_unlock(&log->mu);
}

void rlog_batch_init(struct rlog_batch *b)
{
	memset(b, 0, sizeof *b);
}

void rlog_batch_free(struct rlog_batch *b)
{
	free(b->data);
	rlog_batch_init(b);
}

void rlog_batch_reserve(struct rlog_batch *b, size_t frames)
{
	if (b->cap >= frames)
		return;
	size_t cap = b->cap ? b->cap * 2 : 16;
	if (cap < frames)
		cap = frames;
	unsigned char *p = realloc(b->data, b->head + cap * (b->prefix + FRAME_SIZE) + RLOG_BATCH_SLACK);
	if (!p)
		abort(); /* sqld aborts on out-of-memory (DESIGN.md §4) */
	b->data = p;
	b->cap = cap;
}

int rlog_batch_pread(struct rlog_batch *b, size_t i, size_t k, int fd, uint64_t off)
{
	if (!b->prefix)
		return rlog_pread_full(fd, rlog_batch_frame(b, i), k * FRAME_SIZE, off);
	struct iovec iov[RLOG_CHUNK];
	while (k) {
		size_t m = k < RLOG_CHUNK ? k : RLOG_CHUNK;
		for (size_t j = 0; j < m; j++) {
			iov[j].iov_base = rlog_batch_frame(b, i + j);
			iov[j].iov_len = FRAME_SIZE;
		}
		size_t done = 0; /* whole frames read */
		while (done < m) {
			ssize_t r = preadv(fd, iov + done, (int)(m - done), (off_t)(off + done * FRAME_SIZE));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0)
				return 1;
			done += (size_t)r / FRAME_SIZE;
			size_t part = (size_t)r % FRAME_SIZE;
			if (part) { /* a short read ended inside a frame: finish that one */
				int t = rlog_pread_full(fd, (unsigned char *)iov[done].iov_base + part, FRAME_SIZE - part,
							off + done * FRAME_SIZE + part);
				if (t)
					return t;
				done++;
			}
		}
		i += m;
		k -= m;
		off += m * FRAME_SIZE;
	}
	return 0;
}

void rlog_id_format(const unsigned char id[16], char out[RLOG_ID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[id[i] >> 4];
		*o++ = hex[id[i] & 15];
	}
	*o = 0;
}

bool rlog_should_compact_locked(struct rlog *log)
{
	uint64_t frames = log->next - log->hdr.start;
	if (!frames)
		return false;
	if (log->o.max_log_bytes && RLOG_HDR_SIZE + frames * FRAME_SIZE > log->o.max_log_bytes)
		return true;
	uint64_t now = rlog_now_ms();
	return log->o.max_log_age_ms && now >= log->hdr.created_ms &&
	       now - log->hdr.created_ms >= log->o.max_log_age_ms;
}

/* ---- the log header ---- */

static void rlog_hdr_encode(unsigned char *b, const struct rlog_hdr *h)
{
	memset(b, 0, RLOG_HDR_SIZE);
	memcpy(b + RLOG_HO_MAGIC, RLOG_MAGIC, 8);
	frame_put_le32(b + RLOG_HO_VERSION, RLOG_VERSION);
	frame_put_le32(b + RLOG_HO_PAGE_SIZE, FRAME_PAGE_SIZE);
	memcpy(b + RLOG_HO_LOG_ID, h->log_id, 16);
	frame_put_le64(b + RLOG_HO_START, h->start);
	frame_put_le64(b + RLOG_HO_START_CK, h->start_ck);
	frame_put_le64(b + RLOG_HO_LINEAGE, h->lineage);
	frame_put_le64(b + RLOG_HO_CREATED, h->created_ms);
	frame_put_le64(b + RLOG_HO_CRC, crc64(b, RLOG_HO_CRC));
}

static int rlog_hdr_decode(const unsigned char *b, struct rlog_hdr *h)
{
	if (memcmp(b + RLOG_HO_MAGIC, RLOG_MAGIC, 8) != 0 ||
	    frame_get_le32(b + RLOG_HO_VERSION) != RLOG_VERSION ||
	    frame_get_le32(b + RLOG_HO_PAGE_SIZE) != FRAME_PAGE_SIZE ||
	    frame_get_le64(b + RLOG_HO_CRC) != crc64(b, RLOG_HO_CRC))
		return -1;
	memcpy(h->log_id, b + RLOG_HO_LOG_ID, 16);
	h->start = frame_get_le64(b + RLOG_HO_START);
	h->start_ck = frame_get_le64(b + RLOG_HO_START_CK);
	h->lineage = frame_get_le64(b + RLOG_HO_LINEAGE);
	h->created_ms = frame_get_le64(b + RLOG_HO_CREATED);
	return h->lineage <= h->start && h->start < RLOG_MAX_FRAME_NO ? 0 : -1;
}

int rlog_write_log_tmp(struct rlog *log, const struct rlog_hdr *h, int src, uint64_t src_start,
		       uint64_t end, struct err *e)
{
	unsigned char hb[RLOG_HDR_SIZE];
	unsigned char *buf = NULL;
	unlinkat(log->dirfd, "rlog.log.tmp", 0);
	int fd = openat(log->dirfd, "rlog.log.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	rlog_hdr_encode(hb, h);
	if (rlog_pwrite_full(fd, hb, sizeof hb, 0) != 0)
		goto fail;
	if (end > h->start && !(buf = malloc((size_t)RLOG_CHUNK * FRAME_SIZE)))
		abort();
	for (uint64_t no = h->start; no < end;) {
		uint64_t k = end - no < RLOG_CHUNK ? end - no : RLOG_CHUNK;
		int r = rlog_pread_full(src, buf, k * FRAME_SIZE, rlog_slot(src_start, no));
		if (r != 0) {
			if (r > 0)
				errno = EIO;
			goto fail;
		}
		if (rlog_pwrite_full(fd, buf, k * FRAME_SIZE, rlog_slot(h->start, no)) != 0)
			goto fail;
		no += k;
	}
	if (fdatasync(fd) != 0)
		goto fail;
	free(buf);
	return fd;
fail:
	err_set(e, "rlog: writing %s/rlog.log.tmp: %s", log->dir, strerror(errno));
	free(buf);
	if (fd >= 0) {
		close(fd);
		unlinkat(log->dirfd, "rlog.log.tmp", 0);
	}
	return RLOG_EIO;
}

static void rlog_new_id(unsigned char id[16])
{
	size_t got = 0;
	while (got < 16) {
		ssize_t r = getrandom(id + got, 16 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			abort(); /* no entropy source at all: nothing sane to do */
		got += (size_t)r;
	}
	id[6] = (unsigned char)((id[6] & 0x0f) | 0x40); /* UUID version 4 */
	id[8] = (unsigned char)((id[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

int rlog_make_lineage(struct rlog *log, uint64_t start, struct rlog_hdr *h, struct err *e)
{
	memset(h, 0, sizeof *h);
	rlog_new_id(h->log_id);
	h->start = h->lineage = start;
	h->start_ck = 0;
	h->created_ms = rlog_now_ms();
	int fd = rlog_write_log_tmp(log, h, -1, start, start, e);
	if (fd < 0)
		return fd;
	if (renameat(log->dirfd, "rlog.log.tmp", log->dirfd, "rlog.log") != 0) {
		err_set(e, "rlog: rename %s/rlog.log.tmp: %s", log->dir, strerror(errno));
		close(fd);
		unlinkat(log->dirfd, "rlog.log.tmp", 0);
		return RLOG_EIO;
	}
	return fd;
}

void rlog_install(struct rlog *log, int fd, const struct rlog_hdr *h, uint64_t next, uint64_t last_ck)
{
	struct rlog_file *nf = rlog_file_new(fd);
	pthread_mutex_lock(&log->mu);
	struct rlog_file *old = log->cur;
	log->cur = nf;
	log->hdr = *h;
	rlog_id_format(h->log_id, log->id_str);
	log->next = next;
	rlog_file_unref_locked(old);
	pthread_mutex_unlock(&log->mu);
	log->last_ck = last_ck;
}

/* ---- open ---- */

/* Verifies the whole log from its first slot; truncates (durably) after
 * the last whole transaction. Sets log->next and log->last_ck. */
static int rlog_scan(struct rlog *log, int fd, struct rlog_open_info *info, struct err *e)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return err_set(e, "rlog: fstat: %s", strerror(errno)), RLOG_EIO;
	uint64_t size = (uint64_t)st.st_size, start = log->hdr.start;
	uint64_t nslots = (size - RLOG_HDR_SIZE) / FRAME_SIZE;
	if (nslots > RLOG_MAX_FRAME_NO - start)
		nslots = RLOG_MAX_FRAME_NO - start;
	unsigned char *buf = malloc((size_t)RLOG_CHUNK * FRAME_SIZE);
	if (!buf)
		abort();
	uint64_t prev = log->hdr.start_ck, good = 0, good_ck = prev;
	const char *why = "partial frame";
	for (uint64_t i = 0; i < nslots;) {
		uint64_t k = nslots - i < RLOG_CHUNK ? nslots - i : RLOG_CHUNK;
		int r = rlog_pread_full(fd, buf, k * FRAME_SIZE, rlog_slot(0, i));
		if (r < 0) {
			free(buf);
			return err_set(e, "rlog: reading %s/rlog.log: %s", log->dir, strerror(errno)), RLOG_EIO;
		}
		if (r > 0)
			break;
		for (uint64_t j = 0; j < k; j++) {
			const unsigned char *f = buf + j * FRAME_SIZE;
			if (frame_verify(f, start + i + j, prev, &why) != 0)
				goto done;
			prev = frame_get_checksum(f);
			if (frame_is_commit(f)) {
				good = i + j + 1;
				good_ck = prev;
				rlog_commits_push(log, start + i + j);
			}
		}
		i += k;
	}
	why = nslots * FRAME_SIZE + RLOG_HDR_SIZE < size ? "partial frame" : "uncommitted frames";
done:
	free(buf);
	uint64_t keep = rlog_slot(0, good);
	if (size > keep) {
		if (ftruncate(fd, (off_t)keep) != 0 || fdatasync(fd) != 0)
			return err_set(e, "rlog: cutting %s/rlog.log: %s", log->dir, strerror(errno)), RLOG_EIO;
		info->cut = true;
		info->cut_bytes = size - keep;
		log_warn("rlog: %s/rlog.log: cut %llu bytes from frame_no %llu on (%s)", log->dir,
			 (unsigned long long)(size - keep), (unsigned long long)(start + good),
			 why ? why : "?");
	}
	log->next = start + good;
	log->last_ck = good_ck;
	return 0;
}

/* Opens rlog.log (creating a lineage if it is missing, or unusable and
 * recreate_on_corrupt), scans it and installs it. */
static int rlog_open_log(struct rlog *log, struct rlog_open_info *info, struct err *e)
{
	struct rlog_hdr h;
	int fd = openat(log->dirfd, "rlog.log", O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return err_set(e, "rlog: open %s/rlog.log: %s", log->dir, strerror(errno)), RLOG_EIO;
	if (fd >= 0) {
		unsigned char hb[RLOG_HDR_SIZE];
		int r = rlog_pread_full(fd, hb, sizeof hb, 0);
		if (r < 0) {
			close(fd);
			return err_set(e, "rlog: read %s/rlog.log: %s", log->dir, strerror(errno)), RLOG_EIO;
		}
		if (r == 0 && rlog_hdr_decode(hb, &h) == 0) {
			log->hdr = h;
			int rc = rlog_scan(log, fd, info, e);
			if (rc) {
				close(fd);
				return rc;
			}
			rlog_install(log, fd, &h, log->next, log->last_ck);
			return 0;
		}
		close(fd);
		if (!log->o.recreate_on_corrupt)
			return err_set(e, "rlog: %s/rlog.log: invalid header", log->dir), RLOG_ECORRUPT;
		log_warn("rlog: %s/rlog.log: invalid header, starting a new lineage", log->dir);
	}
	fd = rlog_make_lineage(log, 0, &h, e);
	if (fd < 0)
		return fd;
	info->created = true;
	rlog_install(log, fd, &h, 0, 0);
	return rlog_fsync_dir(log, e);
}

int rlog_open(const struct rlog_opts *o, struct rlog **out, struct rlog_open_info *info, struct err *e)
{
	struct rlog_open_info dummy;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof *info);
	*out = NULL;
	if (!o || !o->dir || !*o->dir)
		return err_set(e, "rlog: no directory"), RLOG_EINVAL;
	if (mkdir(o->dir, 0755) != 0 && errno != EEXIST)
		return err_set(e, "rlog: mkdir %s: %s", o->dir, strerror(errno)), RLOG_EIO;
	int dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_set(e, "rlog: open %s: %s", o->dir, strerror(errno)), RLOG_EIO;
	if (flock(dirfd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;
		err_set(e, "rlog: lock %s: %s", o->dir, busy ? "in use by another rlog" : strerror(errno));
		close(dirfd);
		return busy ? RLOG_EBUSY : RLOG_EIO;
	}
	struct rlog *log = calloc(1, sizeof *log);
	if (!log || !(log->dir = strdup(o->dir)))
		abort();
	log->o = *o;
	log->o.dir = log->dir;
	log->dirfd = dirfd;
	pthread_mutex_init(&log->compact_mu, NULL);
	pthread_mutex_init(&log->append_mu, NULL);
	pthread_mutex_init(&log->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&log->cv, &ca);
	pthread_cond_init(&log->ccv, &ca);
	pthread_condattr_destroy(&ca);

	info->unclean = faccessat(dirfd, "rlog.running", F_OK, 0) == 0;
	unlinkat(dirfd, "rlog.log.tmp", 0);
	unlinkat(dirfd, "rlog.snap.tmp", 0);
	int rc = rlog_open_log(log, info, e);
	if (rc == 0)
		rc = rlog_snap_load(log, info, e);
	if (rc == 0) {
		int mfd = openat(dirfd, "rlog.running", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (mfd < 0)
			rc = (err_set(e, "rlog: create %s/rlog.running: %s", o->dir, strerror(errno)), RLOG_EIO);
		else {
			close(mfd);
			rc = rlog_fsync_dir(log, e);
		}
	}
	if (rc) {
		if (log->cur)
			rlog_file_unref_locked(log->cur);
		if (log->snap)
			rlog_file_unref_locked(log->snap);
		log->cur = log->snap = NULL;
		log->closing = true;
		rlog_close(log);
		return rc;
	}
	if (o->no_sync && !(log->wb = malloc((size_t)RLOG_WB_FRAMES * FRAME_SIZE)))
		abort();
	log->wb_first = log->next;
	info->dirty = info->unclean || info->cut;
	info->next_frame_no = log->next;
	info->has_commit = log->next > log->hdr.lineage;
	info->last_commit = info->has_commit ? log->next - 1 : 0;
	if (o->background_compaction && (o->max_log_bytes || o->max_log_age_ms))
		rlog_compactor_start(log);
	*out = log;
	return 0;
}

void rlog_shutdown(struct rlog *log)
{
	pthread_mutex_lock(&log->mu);
	log->closing = true;
	bool join = log->thr_started;
	log->thr_started = false;
	pthread_cond_broadcast(&log->cv);
	pthread_cond_broadcast(&log->ccv);
	pthread_mutex_unlock(&log->mu);
	if (join)
		pthread_join(log->thr, NULL);
}

void rlog_close(struct rlog *log)
{
	if (!log)
		return;
	rlog_shutdown(log);
	if (log->cur) { /* opened fully: a clean close, once the frames are on disk */
		if (!log->failed)
			rlog_wb_flush_locked(log, NULL); /* sets failed on error */
		if ((!log->o.no_sync || fdatasync(log->cur->fd) == 0) && !log->failed &&
		    unlinkat(log->dirfd, "rlog.running", 0) == 0)
			rlog_fsync_dir(log, NULL);
		rlog_file_unref_locked(log->cur);
	}
	rlog_file_unref_locked(log->snap);
	close(log->dirfd);
	pthread_cond_destroy(&log->cv);
	pthread_cond_destroy(&log->ccv);
	pthread_mutex_destroy(&log->mu);
	pthread_mutex_destroy(&log->append_mu);
	pthread_mutex_destroy(&log->compact_mu);
	free(log->commits);
	free(log->wb);
	free(log->dir);
	free(log);
}
