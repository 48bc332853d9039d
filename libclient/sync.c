/* sync: the embedded-replica sync loop (implements sync.h): libSQL's
 * ReplicationLog over gRPC-web (PROTOCOL.md §8.2, §8.4), frames applied by
 * apply.c one whole transaction at a time, the position kept by meta.c.
 *
 * A round (sync_pull): Hello (log_id, session token, the primary's last
 * frame_no), settle (under the WAL write lock: resolve a pending record left
 * by a crash, start over if the lineage changed), then BatchLogEntries from
 * the next frame_no until the position reaches the Hello's index; Snapshot on
 * NEED_SNAPSHOT, a new Hello on NO_HELLO. Answers are decoded as they arrive
 * and their frames streamed into apply (sync_stream.c, sync_txn.c): memory
 * stays bounded whatever the size of a snapshot or a transaction. Each
 * transaction is applied under
 * the write lock with the position file read and written inside it (meta.h),
 * so two processes syncing one file take turns and skip what the other
 * already applied.
 *
 * Threads: `mu` serialises rounds and every apply (user calls, the interval
 * thread, the follow thread); `pmu` guards the cached position, the stop
 * flag and the condition variable sync_until waits on. Lock order: mu, then
 * pmu. The follow thread reads LogEntries on its own connection without
 * holding mu and takes mu only to apply a complete transaction (or, for a
 * transaction longer than SYNC_TXN_CHUNK frames, from its first write into
 * the -wal to its publish). */
#include "sync_int.h"

#include "frame.h"
#include "grpcweb.h"
#include "replpb.h"
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

uint64_t sync_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sync_set_pos(struct sync *s, const struct meta_pos *p)
{
	pthread_mutex_lock(&s->pmu);
	s->pos = *p;
	pthread_cond_broadcast(&s->pcv);
	pthread_mutex_unlock(&s->pmu);
}

bool sync_stopping(struct sync *s)
{
	pthread_mutex_lock(&s->pmu);
	bool st = s->stop;
	pthread_mutex_unlock(&s->pmu);
	return st;
}

/* Waits up to ms or until stop; true if stopping. */
bool sync_nap(struct sync *s, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->pmu);
	if (!s->stop)
		pthread_cond_timedwait(&s->pcv, &s->pmu, &ts);
	bool st = s->stop;
	pthread_mutex_unlock(&s->pmu);
	return st;
}

uint64_t sync_next_offset(const struct meta_pos *p)
{
	return p->has_frame ? p->frame_no + 1 : 0;
}

void sync_mem_note(struct sync *s, size_t bytes)
{
	pthread_mutex_lock(&s->pmu);
	if (bytes > s->mem_peak)
		s->mem_peak = bytes;
	pthread_mutex_unlock(&s->pmu);
}

size_t sync_mem_peak(struct sync *s)
{
	pthread_mutex_lock(&s->pmu);
	size_t m = s->mem_peak;
	pthread_mutex_unlock(&s->pmu);
	return m;
}

/* ---- applying (mu held) ---- */

static int local_fail(int rc)
{
	(void)rc; /* busy, I/O or format: all local */
	return SYNC_E_LOCAL;
}

/* Loads the position under the open write lock, resolving a pending record. */
int sync_load_pos(struct sync *s, const struct apply_state *st, struct meta_pos *p, struct err *e)
{
	int rc = meta_load(s->mt, p, e);
	if (rc == META_E_CORRUPT) {
		memset(p, 0, sizeof *p); /* no trustworthy position: start over */
	} else if (rc) {
		return SYNC_E_LOCAL;
	}
	if (meta_resolve(p, st->salt1, st->salt2, st->mx_frame) && meta_store(s->mt, p, false, e))
		return SYNC_E_LOCAL;
	return 0;
}

/* Under the write lock: resolve, and when the primary's lineage (the last
 * Hello) differs from the stored one, empty the replica (one transaction
 * of an empty page 1 with a new schema cookie) and store the new lineage. */
static int settle(struct sync *s, bool lineage, struct err *e)
{
	struct apply_state st;
	int rc = apply_begin(s->ap, &st, e);
	if (rc)
		return local_fail(rc);
	struct meta_pos p;
	if ((rc = sync_load_pos(s, &st, &p, e)))
		goto out;
	if (lineage && s->has_log && (!p.has_log || memcmp(p.log_id, s->log_id, 16) != 0)) {
		bool data = p.has_log;
		if (!data) { /* no position: is the file empty? */
			sqlite3_stmt *q;
			if (sqlite3_prepare_v2(apply_db(s->ap), "SELECT count(*) FROM sqlite_master", -1, &q, NULL) ==
			    SQLITE_OK) {
				data = sqlite3_step(q) != SQLITE_ROW || sqlite3_column_int(q, 0) != 0;
				sqlite3_finalize(q);
			} else {
				data = true;
			}
		}
		if (data) {
			uint8_t pg[APPLY_PAGE_SIZE];
			apply_empty_page1(pg, (uint32_t)st.schema_cookie + 1);
			if ((rc = apply_frame(s->ap, 1, pg, e)) || (rc = apply_publish(s->ap, 1, e))) {
				rc = local_fail(rc);
				goto out;
			}
		}
		memset(&p, 0, sizeof p);
		p.has_log = true;
		memcpy(p.log_id, s->log_id, 16);
		if (meta_store(s->mt, &p, false, e)) {
			rc = SYNC_E_LOCAL;
			goto out;
		}
	}
	rc = apply_end(s->ap, e) ? SYNC_E_LOCAL : 0;
	if (rc == 0)
		sync_set_pos(s, &p);
	return rc;
out:
	apply_abort(s->ap);
	return rc;
}

/* Checks the frames of one transaction (log order, or a snapshot). */
static int check_txn(const uint8_t *const *f, size_t n, bool snapshot, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct frame_hdr h;
		frame_hdr_decode(f[i], &h);
		if (h.page_no == 0)
			return err_set(e, "sync: frame %llu has page 0", (unsigned long long)h.frame_no), SYNC_E_PROTO;
		if ((h.size_after != 0) != (i == n - 1))
			return err_set(e, "sync: commit frame out of place"), SYNC_E_PROTO;
		if (i > 0) {
			uint64_t prev = frame_get_no(f[i - 1]);
			if (snapshot ? h.frame_no >= prev : h.frame_no != prev + 1)
				return err_set(e, "sync: frames out of order at %llu", (unsigned long long)h.frame_no),
				       SYNC_E_PROTO;
		}
	}
	return 0;
}

/* Applies one whole transaction: 1 applied, 0 already there (another
 * applier got it first), SYNC_E_MOVED (the position is elsewhere), < 0. */
int sync_apply_txn(struct sync *s, const uint8_t *const *f, size_t n, bool snapshot, struct err *e)
{
	int rc = check_txn(f, n, snapshot, e);
	if (rc)
		return rc;
	uint64_t first = frame_get_no(f[0]), last = frame_get_no(f[n - 1]);
	uint64_t commit_no = snapshot ? first : last;
	struct apply_state st;
	if ((rc = apply_begin(s->ap, &st, e)))
		return local_fail(rc);
	struct meta_pos p;
	if ((rc = sync_load_pos(s, &st, &p, e)))
		goto out;
	if (!p.has_log || !s->has_log || memcmp(p.log_id, s->log_id, 16) != 0) {
		rc = SYNC_E_MOVED; /* the lineage changed: settle again */
		goto out;
	}
	uint64_t next = sync_next_offset(&p);
	if (p.has_frame && commit_no <= p.frame_no) {
		apply_abort(s->ap); /* already applied (by another applier) */
		sync_set_pos(s, &p);
		return 0;
	}
	/* a snapshot (the newest version of every page changed in a range that
	 * contains `next`, as the primary chose it) needs only to end past the
	 * position; log frames must continue it exactly */
	if (!snapshot && first != next) {
		rc = SYNC_E_MOVED;
		goto out;
	}
	p.has_pending = true;
	p.pend_frame_no = commit_no;
	apply_next_commit(s->ap, (uint32_t)n, &p.pend_salt1, &p.pend_salt2, &p.pend_wal_frame);
	/* durable before any frame of the transaction is written: after a power
	 * loss the position file then names this transaction or a later one,
	 * never an older one while the -wal (fsync'ed at each publish) holds
	 * newer data; an older one would make the next sync re-apply old page
	 * images over newer pages, showing readers mixed states (found by
	 * tests/fault/replica_powerloss.test.mjs) */
	if (meta_store(s->mt, &p, true, e)) {
		rc = SYNC_E_LOCAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = apply_frame(s->ap, frame_get_page_no(f[i]), f[i] + FRAME_HDR_SIZE, e)))
			goto out_local;
	if ((rc = apply_publish(s->ap, frame_get_size_after(f[n - 1]), e)))
		goto out_local;
	p.has_pending = false;
	p.has_frame = true;
	p.frame_no = commit_no;
	if (meta_store(s->mt, &p, false, e)) {
		rc = SYNC_E_LOCAL; /* published: the pending record resolves it later */
		goto out;
	}
	if ((rc = apply_end(s->ap, e)))
		return SYNC_E_LOCAL;
	sync_set_pos(s, &p);
	return 1;
out_local:
	rc = local_fail(rc);
out:
	apply_abort(s->ap);
	return rc;
}

/* Snapshot(next): the frames stream into one transaction, published at
 * the OK end of the stream. */
static int snapshot(struct sync *s, uint64_t next, uint64_t *napplied, struct err *e)
{
	struct buf req;
	buf_init(&req);
	struct replpb_log_offset lo = {.next_offset = next};
	replpb_encode_log_offset(&req, &lo);
	struct arena a;
	arena_init(&a);
	struct sync_rpc_resp r;
	struct sync_txn t;
	sync_txn_init(&t, s, true, false);
	int rc = sync_rpc_stream(s, &s->x, s->has_session ? s->session : NULL, "Snapshot", &req, SYNC_STREAM_FRAME,
				 sync_txn_frame, &t, &a, &r, e);
	buf_free(&req);
	if (rc == SYNC_TXN_STOP) {
		rc = 0; /* another applier got it first */
	} else if (rc == 0 && r.status != GRPC_STATUS_OK) {
		rc = sync_rpc_precond(&r, "NO_HELLO") ? SYNC_E_MOVED : sync_rpc_fail("Snapshot", &r, e);
	} else if (rc == 0) {
		rc = sync_txn_finish(&t, e);
	}
	*napplied += t.napplied;
	sync_txn_free(&t);
	arena_free(&a);
	return rc;
}

/* BatchLogEntries(next): each transaction is applied as soon as its commit
 * frame arrives. 1 when the answer held no frame, else 0 or an error; the
 * answer's status in *r (strings in a). */
static int batch(struct sync *s, uint64_t next, uint64_t *napplied, struct arena *a, struct sync_rpc_resp *r,
		 struct err *e)
{
	struct buf req;
	buf_init(&req);
	struct replpb_log_offset lo = {.next_offset = next};
	replpb_encode_log_offset(&req, &lo);
	struct sync_txn t;
	sync_txn_init(&t, s, false, false);
	int rc = sync_rpc_stream(s, &s->x, s->has_session ? s->session : NULL, "BatchLogEntries", &req,
				 SYNC_STREAM_FRAMES, sync_txn_frame, &t, a, r, e);
	buf_free(&req);
	uint64_t got = t.total + t.napplied;
	if (rc == 0 && r->status == GRPC_STATUS_OK && r->n != 1) {
		err_set(e, "sync: BatchLogEntries: %zu messages in the answer", r->n);
		rc = SYNC_E_PROTO;
	}
	if (rc == 0)
		sync_txn_finish(&t, e); /* a tail without its commit frame is fetched again next time */
	*napplied += t.napplied;
	bool none = t.napplied == 0 && got == 0;
	sync_txn_free(&t);
	return rc == 0 && r->status == GRPC_STATUS_OK && none ? 1 : rc;
}

/* One round; mu held. */
static int pull_locked(struct sync *s, struct sync_info *info, struct err *e)
{
	uint64_t napplied = 0;
	int rc = sync_rpc_hello(s, e);
	if (rc == 0)
		rc = settle(s, true, e);
	int hellos = 0, moves = 0;
	while (rc == 0) {
		struct meta_pos p;
		pthread_mutex_lock(&s->pmu);
		p = s->pos;
		pthread_mutex_unlock(&s->pmu);
		if (!s->has_index || (p.has_frame && p.frame_no >= s->index))
			break;
		uint64_t next = sync_next_offset(&p);
		struct arena a;
		arena_init(&a);
		struct sync_rpc_resp r;
		uint64_t before = napplied, before_pos = next;
		rc = batch(s, next, &napplied, &a, &r, e);
		if (rc >= 0 && r.status != GRPC_STATUS_OK) {
			bool no_hello = sync_rpc_precond(&r, "NO_HELLO"), need_snap = sync_rpc_precond(&r, "NEED_SNAPSHOT");
			rc = sync_rpc_fail("BatchLogEntries", &r, e);
			arena_free(&a);
			if (no_hello && hellos++ < 3) {
				if ((rc = sync_rpc_hello(s, e)) == 0)
					rc = settle(s, true, e);
				continue;
			}
			if (need_snap) {
				rc = snapshot(s, next, &napplied, e);
				if (rc == SYNC_E_MOVED && moves++ < 5)
					rc = settle(s, true, e);
				continue;
			}
			break;
		}
		arena_free(&a);
		if (rc == 1) {
			rc = 0;
			break; /* nothing more now (do not spin on a primary that reports more than it has) */
		}
		if (rc == SYNC_E_MOVED && moves++ < 5)
			rc = settle(s, true, e);
		else if (rc == 0 && napplied == before) {
			pthread_mutex_lock(&s->pmu);
			bool same = sync_next_offset(&s->pos) == before_pos;
			pthread_mutex_unlock(&s->pmu);
			if (same)
				break; /* no whole transaction in the answer: try again next round */
		}
	}
	if (rc == 0) {
		struct err e2;
		if (apply_checkpoint(s->ap, false, &e2) < 0)
			(void)0; /* a failed checkpoint is retried next round */
		if (napplied && (apply_sync(s->ap, e) || meta_sync(s->mt, e)))
			rc = SYNC_E_LOCAL;
	}
	if (rc == SYNC_E_MOVED) {
		err_set(e, "sync: the replica position keeps moving");
		rc = SYNC_E_PROTO;
	}
	if (info) {
		struct meta_pos p;
		pthread_mutex_lock(&s->pmu);
		p = s->pos;
		pthread_mutex_unlock(&s->pmu);
		info->has_frame = p.has_frame;
		info->frame_no = p.frame_no;
		info->frames_applied = napplied;
	}
	return rc;
}

int sync_pull(struct sync *s, struct sync_info *info, struct err *e)
{
	pthread_mutex_lock(&s->mu);
	int rc = pull_locked(s, info, e);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- public ---- */

/* apply's before_reset: the pending record names a transaction by its
 * place in the -wal; once a checkpoint moved it into the database and reset
 * the -wal, only a durable final record still names it (else a power loss
 * leaves the position one transaction behind the data). */
static int sync_before_reset(void *arg, struct err *e)
{
	struct sync *s = arg;
	return s->mt ? meta_sync(s->mt, e) : 0;
}

int sync_open(const struct sync_opts *o, struct sync **out, struct err *e)
{
	*out = NULL;
	if (!o || !o->db_path || !o->sync_url)
		return err_set(e, "sync: db_path and sync_url are required"), SYNC_E_LOCAL;
	struct sync *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(e, "sync: out of memory"), SYNC_E_LOCAL;
	s->o = *o;
	if (s->o.timeout_ms <= 0)
		s->o.timeout_ms = SYNC_DEFAULT_TIMEOUT;
	s->db_path = strdup(o->db_path);
	/* libsql:// means https:// for the replication service */
	if (strncmp(o->sync_url, "libsql://", 9) == 0) {
		size_t n = strlen(o->sync_url) + 8;
		s->url = malloc(n);
		if (s->url)
			snprintf(s->url, n, "https://%s", o->sync_url + 9);
	} else {
		s->url = strdup(o->sync_url);
	}
	size_t tn = (o->auth_token ? strlen(o->auth_token) : 0) + sizeof "Bearer ";
	s->auth_hdr = malloc(tn);
	if (s->auth_hdr)
		snprintf(s->auth_hdr, tn, "Bearer %s", o->auth_token ? o->auth_token : "");
	s->o.db_path = s->db_path;
	s->o.sync_url = s->url;
	s->o.auth_token = NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->pmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&s->pcv, &ca);
	pthread_condattr_destroy(&ca);
	if (!s->db_path || !s->url || !s->auth_hdr) {
		sync_close(s);
		return err_set(e, "sync: out of memory"), SYNC_E_LOCAL;
	}
	/* Power loss: a transaction's frames reach the disk (fsync of the -wal)
	 * before the position record that names it is written, so the stored
	 * position is never ahead of the data even when the kernel writes the
	 * position file first; and its pending record reaches the disk (fsync
	 * of the position file) before its first frame is written, so the
	 * position is never more than that transaction behind (sync_apply_txn,
	 * sync_before_reset). Two fsyncs per transaction; the primary pays one
	 * at synchronous=FULL. */
	struct apply_opts ao = {.sync_full = true, .before_reset = sync_before_reset, .before_reset_arg = s};
	int rc = apply_open(s->db_path, &ao, &s->ap, e);
	if (rc == 0)
		rc = meta_open(s->db_path, &s->mt, e);
	if (rc == 0 && settle(s, false, e) != 0) {
		/* resolving an interrupted transaction needs the write lock; if
		 * another applier holds it now, the next apply resolves it (every
		 * apply does, under the lock): open on the stored position */
		struct meta_pos p;
		rc = meta_load(s->mt, &p, e) == META_E_IO ? SYNC_E_LOCAL : 0;
		if (rc == 0 && !p.has_pending)
			sync_set_pos(s, &p);
	}
	if (rc) {
		sync_close(s);
		return SYNC_E_LOCAL;
	}
	if (o->interval_ms > 0 && pthread_create(&s->th_interval, NULL, sync_interval_main, s) == 0)
		s->run_interval = true;
	if (o->follow && pthread_create(&s->th_follow, NULL, sync_follow_main, s) == 0)
		s->run_follow = true;
	*out = s;
	return 0;
}

int sync_until(struct sync *s, uint64_t frame_no, int timeout_ms, struct err *e)
{
	uint64_t deadline = sync_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		pthread_mutex_lock(&s->pmu);
		bool done = s->pos.has_frame && s->pos.frame_no >= frame_no;
		bool live = s->follow_live;
		pthread_mutex_unlock(&s->pmu);
		if (done)
			return 0;
		uint64_t now = sync_now_ms();
		if (now >= deadline)
			break;
		if (live) {
			/* the follow stream applies commits as they come: wait for it
			 * (a slice, then pull ourselves in case the stream lags) */
			uint64_t until = now + 200 < deadline ? now + 200 : deadline;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (until - now) * 1000000;
			ts.tv_sec += (time_t)(ns / 1000000000);
			ts.tv_nsec = (long)(ns % 1000000000);
			pthread_mutex_lock(&s->pmu);
			bool progressed = false;
			while (!progressed && !s->stop) {
				if (s->pos.has_frame && s->pos.frame_no >= frame_no) {
					progressed = true;
					break;
				}
				if (pthread_cond_timedwait(&s->pcv, &s->pmu, &ts) == ETIMEDOUT)
					break;
			}
			pthread_mutex_unlock(&s->pmu);
			if (progressed)
				return 0;
		}
		struct sync_info info;
		int rc = sync_pull(s, &info, e);
		if (rc < 0)
			return rc;
		if (info.has_frame && info.frame_no >= frame_no)
			return 0;
		if (info.frames_applied == 0 && !live && sync_nap(s, 10))
			break;
	}
	err_set(e, "sync: frame %llu not reached within %d ms", (unsigned long long)frame_no, timeout_ms);
	return SYNC_E_TIMEOUT;
}

void sync_position(struct sync *s, struct sync_info *info)
{
	pthread_mutex_lock(&s->pmu);
	info->has_frame = s->pos.has_frame;
	info->frame_no = s->pos.frame_no;
	info->frames_applied = 0;
	pthread_mutex_unlock(&s->pmu);
}

void sync_close(struct sync *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->pmu);
	s->stop = true;
	pthread_cond_broadcast(&s->pcv);
	pthread_mutex_unlock(&s->pmu);
	if (s->run_interval)
		pthread_join(s->th_interval, NULL);
	if (s->run_follow)
		pthread_join(s->th_follow, NULL);
	xport_close(s->x);
	apply_close(s->ap);
	meta_close(s->mt);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->pmu);
	pthread_cond_destroy(&s->pcv);
	free(s->db_path);
	free(s->url);
	free(s->auth_hdr);
	free(s);
}
