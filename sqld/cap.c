/* cap: see cap.h.
 *
 * FORMAT of the clean marker <log_dir>/cap.clean (text, one line):
 *   "sqlwire-cap 1 pages=<N> crc64=<16 hex digits>\n"
 * N = the database file's size in 4096-byte pages after the closing TRUNCATE
 * checkpoint, crc64 = CRC-64/GO-ISO of the whole file (proto/crc64.h). It is
 * written (and fsync'd, with its directory) only after the log was closed
 * cleanly, and removed at start-up before any client can write, so its
 * presence means: the log ended exactly at this database. */
#include "cap.h"
#include "crc64.h"
#include "log.h"
#include "metrics.h"
#include "rlog.h"
#include "vfs.h"
#include "walcap.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CAP_PAGE 4096

/* Captures whose last append failed, in this process: the WAL hook's
 * checkpoints (which do not know their cap) wait while any is. */
static atomic_int cap_failing;

struct cap {
	char *db_path, *log_dir;
	struct cap_opts o;
	struct walcap *wc;
	struct rlog *log;
	pthread_mutex_t mu; /* capture, and cap's own PASSIVE checkpoints */
	bool append_failed;
	sqlite3 *ckdb;      /* cap's connection: checkpoints */
	pthread_t thr;
	bool thr_started;
	pthread_mutex_t tmu;
	pthread_cond_t tcv;
	bool stop;
	int64_t last_warn_ms;
};

/* walcap is not thread-safe: every use holds cap->mu. */
static uint32_t cap_wal_frames(struct cap *c)
{
	uint32_t frames = 0;
	struct err e;
	pthread_mutex_lock(&c->mu);
	if (walcap_wal_frames(c->wc, &frames, &e))
		frames = 0;
	pthread_mutex_unlock(&c->mu);
	return frames;
}

/* The WAL's live length (frames up to the last commit captured); no I/O. */
static uint32_t cap_live_frames(struct cap *c)
{
	struct walcap_pos pos;
	pthread_mutex_lock(&c->mu);
	walcap_pos(c->wc, &pos);
	pthread_mutex_unlock(&c->mu);
	return pos.frame;
}

static int64_t cap_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- capture ---- */

static int cap_txn(void *arg, const struct walcap_txn *t, struct err *e)
{
	struct cap *c = arg;
	struct rlog_page stackp[64] = {{0}}, *pages = stackp;
	if (t->npages > 64) {
		pages = malloc(t->npages * sizeof *pages);
		if (!pages)
			abort();
	}
	for (uint32_t i = 0; i < t->npages; i++) {
		pages[i].page_no = t->pages[i].page_no;
		pages[i].data = t->pages[i].data;
	}
	uint64_t commit;
	int rc = rlog_append_txn(c->log, pages, t->npages, t->size_after, &commit, e);
	if (pages != stackp)
		free(pages);
	return rc < 0 ? -1 : 0;
}

/* Runs before a connection releases the WAL write lock (vfs.h). With the
 * wal-index's word on where the WAL ends, a commit costs one pread of its
 * frames and one pwrite to the log, and nothing at all touches the -wal's
 * inode (walcap_collect_upto). */
static void cap_on_write_unlock(void *arg, const struct vfs_wal_hint *h)
{
	struct cap *c = arg;
	struct err e = {{0}};
	pthread_mutex_lock(&c->mu);
	int rc = h ? walcap_collect_upto(c->wc, h->mx_frame, h->salts, cap_txn, c, &e)
		   : walcap_collect(c->wc, cap_txn, c, &e);
	if (rc < 0) {
		if (!c->append_failed) {
			log_error("capture failed, checkpoints stop until it works again: %s", e.msg);
			atomic_fetch_add(&cap_failing, 1);
		}
		c->append_failed = true;
	} else if (c->append_failed) {
		log_info("capture works again");
		c->append_failed = false;
		atomic_fetch_sub(&cap_failing, 1);
	}
	pthread_mutex_unlock(&c->mu);
	if (rc >= 0 && c->o.on_commit)
		c->o.on_commit(c->o.on_commit_arg);
	/* no wake-up of cap's thread here: the committing connection's WAL
	 * hook checkpoints (cap_wal_hook), and a second checkpointer racing it
	 * only made one of them fail with SQLITE_BUSY, the WAL outgrow
	 * CAP_CKPT_FRAMES and every following commit try again */
}

/* ---- checkpoints ---- */

static int cap_checkpoint(struct cap *c, int mode, struct err *e)
{
	int nlog = -1, nckpt = -1;
	pthread_mutex_lock(&c->mu);
	bool failed = c->append_failed;
	pthread_mutex_unlock(&c->mu);
	if (failed)
		return err_set(e, "capture is failing: not checkpointing");
	/* No lock of ours is needed: every frame a checkpoint can see is
	 * committed, hence captured (under the WAL write lock, vfs.h); a PASSIVE
	 * checkpoint only reads the WAL, and the WAL restarts only under the
	 * write lock, after the previous commit's capture. */
	int64_t t0 = metrics_now_us();
	int rc = sqlite3_wal_checkpoint_v2(c->ckdb, NULL, mode, &nlog, &nckpt);
	metrics_checkpoint(metrics_now_us() - t0);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return err_set(e, "checkpoint: %s", sqlite3_errmsg(c->ckdb));
	uint32_t frames = cap_wal_frames(c);
	if (frames >= CAP_WARN_FRAMES && nckpt < nlog) {
		int64_t now = cap_now_ms();
		if (now - c->last_warn_ms > 60000) {
			c->last_warn_ms = now;
			log_warn("the WAL holds %" PRIu32 " frames (%" PRIu32 " MB) and a reader keeps it from being "
				 "checkpointed (%d of %d copied)",
				 frames, frames / 256, nckpt, nlog);
		}
	}
	return 0;
}

int cap_wal_hook(void *arg, sqlite3 *db, const char *dbname, int nframes)
{
	(void)arg;
	/* not while some capture is failing: its frames are only in the WAL */
	if (nframes >= CAP_CKPT_FRAMES && atomic_load(&cap_failing) == 0)
		sqlite3_wal_checkpoint_v2(db, dbname, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static void *cap_main(void *arg)
{
	struct cap *c = arg;
	int64_t last = cap_now_ms();
	pthread_mutex_lock(&c->tmu);
	while (!c->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&c->tcv, &c->tmu, &ts);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->tmu);
		int64_t now = cap_now_ms();
		struct err e;
		bool due = c->o.checkpoint_interval_ms > 0 && now - last >= c->o.checkpoint_interval_ms;
		/* not a stat of the -wal: it would cost the next commit an inode write (vfs.h) */
		if (due || cap_live_frames(c) >= CAP_CKPT_FRAMES) {
			if (cap_checkpoint(c, SQLITE_CHECKPOINT_PASSIVE, &e))
				log_debug("%s", e.msg);
			last = now;
		}
		pthread_mutex_lock(&c->tmu);
	}
	pthread_mutex_unlock(&c->tmu);
	return NULL;
}

/* ---- start-up: trust the log, or rebuild it ---- */

static char *cap_marker_path(const struct cap *c)
{
	char *p;
	if (asprintf(&p, "%s/cap.clean", c->log_dir) < 0)
		abort();
	return p;
}

/* Page count and CRC-64 of the whole database file. */
static int cap_db_digest(const char *path, uint64_t *pages, uint64_t *crc, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, "open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return err_set(e, "stat %s: %s", path, strerror(errno));
	}
	static unsigned char buf[1 << 20];
	uint64_t h = 0; /* crc64_update(0, ...) starts a message */
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return err_set(e, "read %s: %s", path, strerror(errno));
		}
		if (n == 0)
			break;
		h = crc64_update(h, buf, (size_t)n);
		off += n;
	}
	close(fd);
	*pages = (uint64_t)st.st_size / CAP_PAGE;
	*crc = h;
	return 0;
}

/* The whole database as one transaction at frame 0 of a new lineage. Only
 * at start-up, alone: after a TRUNCATE checkpoint the file is the database. */
static int cap_rebuild(struct cap *c, struct err *e)
{
	int nlog, nckpt;
	if (sqlite3_wal_checkpoint_v2(c->ckdb, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt) != SQLITE_OK)
		return err_set(e, "checkpoint before rebuilding the log: %s", sqlite3_errmsg(c->ckdb));
	if (rlog_reset(c->log, 0, e) < 0)
		return -1;
	int fd = open(c->db_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, "open %s: %s", c->db_path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return err_set(e, "stat %s: %s", c->db_path, strerror(errno));
	}
	uint64_t n = (uint64_t)st.st_size / CAP_PAGE;
	int rc = 0;
	if (n > 0) {
		unsigned char *data = malloc(n * CAP_PAGE);
		struct rlog_page *pages = malloc(n * sizeof *pages);
		if (!data || !pages)
			abort();
		size_t got = 0;
		while (got < n * CAP_PAGE) {
			ssize_t k = pread(fd, data + got, n * CAP_PAGE - got, (off_t)got);
			if (k <= 0) {
				if (k < 0 && errno == EINTR)
					continue;
				rc = err_set(e, "read %s: %s", c->db_path, k < 0 ? strerror(errno) : "short file");
				break;
			}
			got += (size_t)k;
		}
		for (uint64_t i = 0; i < n && !rc; i++) {
			pages[i].page_no = (uint32_t)(i + 1);
			pages[i].data = data + i * CAP_PAGE;
		}
		uint64_t commit;
		if (!rc && rlog_append_txn(c->log, pages, n, (uint32_t)n, &commit, e) < 0)
			rc = -1;
		free(pages);
		free(data);
	}
	close(fd);
	return rc;
}

/* Is the log, closed cleanly, exactly at this database? Consumes the marker. */
static bool cap_trust_clean(struct cap *c, const struct rlog_open_info *ri, const char **why)
{
	char *mp = cap_marker_path(c);
	FILE *f = fopen(mp, "r");
	bool ok = false;
	uint64_t mpages = 0, mcrc = 0;
	if (!f) {
		*why = "no clean-shutdown marker";
	} else {
		if (fscanf(f, "sqlwire-cap 1 pages=%" SCNu64 " crc64=%" SCNx64, &mpages, &mcrc) != 2)
			*why = "unreadable clean-shutdown marker";
		else
			ok = true;
		fclose(f);
	}
	unlink(mp);
	free(mp);
	if (!ok)
		return false;
	if (ri->dirty) {
		*why = "the log was not closed cleanly";
		return false;
	}
	if (cap_wal_frames(c) != 0) {
		*why = "the WAL holds frames written while sqld was not running";
		return false;
	}
	struct err e;
	uint64_t pages, crc;
	if (cap_db_digest(c->db_path, &pages, &crc, &e) || pages != mpages || crc != mcrc) {
		*why = "the database changed while sqld was not running";
		return false;
	}
	uint64_t last;
	bool has = rlog_last_commit(c->log, &last);
	if (pages > 0 && !has) {
		*why = "the log is empty but the database is not";
		return false;
	}
	return true;
}

int cap_open(const struct cap_opts *o, struct cap **out, struct cap_open_info *info, struct err *e)
{
	memset(info, 0, sizeof *info);
	if (vfs_register(e))
		return -1;
	struct cap *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->o = *o;
	c->db_path = strdup(o->db_path);
	c->log_dir = strdup(o->log_dir);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->tmu, NULL);
	pthread_cond_init(&c->tcv, NULL);
	struct rlog_opts ro = {
		.dir = o->log_dir,
		.max_log_bytes = o->max_log_bytes,
		.max_log_age_ms = o->max_log_age_ms,
		.background_compaction = true,
		.recreate_on_corrupt = true,
		/* the WAL is fsync'd at every commit and holds every transaction
		 * until a checkpoint; a log not closed cleanly is rebuilt from the
		 * database anyway, so an fdatasync per commit would buy nothing */
		.no_sync = true,
	};
	struct rlog_open_info ri;
	if (rlog_open(&ro, &c->log, &ri, e) < 0)
		goto fail;
	if (walcap_open(c->db_path, &c->wc, e) < 0)
		goto fail;
	int rc = sqlite3_open_v2(c->db_path, &c->ckdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, VFS_NAME);
	if (rc != SQLITE_OK) {
		err_set(e, "cannot open %s: %s", c->db_path, c->ckdb ? sqlite3_errmsg(c->ckdb) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_wal_autocheckpoint(c->ckdb, 0);
	sqlite3_db_config(c->ckdb, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_busy_timeout(c->ckdb, 100);
	sqlite3_exec(c->ckdb, o->sync_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", 0, 0, 0);
	/* a connection that has not read the database checkpoints nothing */
	if (sqlite3_exec(c->ckdb, "SELECT count(*) FROM sqlite_schema", 0, 0, 0) != SQLITE_OK) {
		err_set(e, "cannot read %s: %s", c->db_path, sqlite3_errmsg(c->ckdb));
		goto fail;
	}
	const char *why = NULL;
	if (ri.created) {
		why = "no usable frame log";
		info->rebuilt = true;
	} else if (!cap_trust_clean(c, &ri, &why)) {
		info->rebuilt = true;
	}
	if (info->rebuilt) {
		info->why = why;
		if (cap_rebuild(c, e))
			goto fail;
	}
	/* capture starts after everything already in the WAL (none after a rebuild) */
	if (walcap_skip(c->wc, e) < 0)
		goto fail;
	if (vfs_watch(c->db_path, cap_on_write_unlock, c, e))
		goto fail;
	if (pthread_create(&c->thr, NULL, cap_main, c) != 0) {
		err_set(e, "cannot start the checkpoint thread");
		goto fail;
	}
	c->thr_started = true;
	*out = c;
	return 0;
fail:
	cap_close(c);
	return -1;
}

static void cap_write_marker(struct cap *c)
{
	uint64_t pages, crc;
	struct err e;
	if (cap_db_digest(c->db_path, &pages, &crc, &e)) {
		log_warn("no clean-shutdown marker: %s", e.msg);
		return;
	}
	char *mp = cap_marker_path(c);
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", mp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char line[128];
	int n = snprintf(line, sizeof line, "sqlwire-cap 1 pages=%" PRIu64 " crc64=%016" PRIx64 "\n", pages, crc);
	bool ok = fd >= 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (ok && rename(tmp, mp) == 0) {
		int dfd = open(c->log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	} else {
		log_warn("cannot write %s: %s", mp, strerror(errno));
		unlink(tmp);
	}
	free(mp);
}

void cap_close(struct cap *c)
{
	if (!c)
		return;
	if (c->thr_started) {
		pthread_mutex_lock(&c->tmu);
		c->stop = true;
		pthread_cond_signal(&c->tcv);
		pthread_mutex_unlock(&c->tmu);
		pthread_join(c->thr, NULL);
	}
	bool clean = false;
	if (c->ckdb && c->wc && c->log && c->thr_started) {
		struct err e;
		/* everything committed is captured (under the write lock); now the
		 * WAL goes into the database and is emptied */
		if (cap_checkpoint(c, SQLITE_CHECKPOINT_TRUNCATE, &e) == 0)
			clean = cap_wal_frames(c) == 0 && !c->append_failed;
	}
	vfs_unwatch(c->db_path);
	if (c->append_failed)
		atomic_fetch_sub(&cap_failing, 1);
	sqlite3_close_v2(c->ckdb);
	walcap_close(c->wc);
	if (c->log)
		rlog_close(c->log);
	if (clean)
		cap_write_marker(c);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->tmu);
	pthread_cond_destroy(&c->tcv);
	free(c->db_path);
	free(c->log_dir);
	free(c);
}

int cap_checkpoint_now(struct cap *c, struct err *e)
{
	return cap_checkpoint(c, SQLITE_CHECKPOINT_TRUNCATE, e);
}

struct rlog *cap_log(struct cap *c)
{
	return c->log;
}

bool cap_last_commit(struct cap *c, uint64_t *frame_no)
{
	return rlog_last_commit(c->log, frame_no);
}
