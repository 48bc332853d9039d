/* sync: the embedded-replica sync loop (implements sync.h): libSQL's
 * ReplicationLog over gRPC-web (PROTOCOL.md §8.2, §8.4), frames applied by
 * apply.c one whole transaction at a time, the position kept by meta.c.
 *
 * A round (sync_pull): Hello (log_id, session token, the primary's last
 * frame_no), settle (under the WAL write lock: resolve a pending record left
 * by a crash, start over if the lineage changed), then BatchLogEntries from
 * the next frame_no until the position reaches the Hello's index; Snapshot on
 * NEED_SNAPSHOT, a new Hello on NO_HELLO. Each transaction is applied under
 * the write lock with the position file read and written inside it (meta.h),
 * so two processes syncing one file take turns and skip what the other
 * already applied.
 *
 * Threads: `mu` serialises rounds and every apply (user calls, the interval
 * thread, the follow thread); `pmu` guards the cached position, the stop
 * flag and the condition variable sync_until waits on. Lock order: mu, then
 * pmu. The follow thread reads LogEntries on its own connection without
 * holding mu and takes mu only to apply a complete transaction. */
#include "sync.h"

#include "apply.h"
#include "arena.h"
#include "buf.h"
#include "frame.h"
#include "grpcweb.h"
#include "meta.h"
#include "replpb.h"
#include "xport.h"
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SYNC_DEFAULT_TIMEOUT 10000
#define FOLLOW_IDLE_MS 1000 /* a quiet LogEntries stream is reopened this often */
#define SYNC_E_MOVED (-100) /* internal: the position moved under us; reload and refetch */
#define CT_GRPC "application/grpc-web"
#define SVC "/wal_log.ReplicationLog/"

struct sync {
	struct sync_opts o;
	char *db_path, *url, *token, *auth_hdr;
	pthread_mutex_t mu;
	struct apply *ap;
	struct meta *mt;
	struct xport *x;     /* rounds (under mu) */
	char session[128];   /* under mu; the follow thread copies it under mu */
	bool has_session;
	bool has_log;        /* the lineage of the last Hello */
	uint8_t log_id[16];
	bool has_index;      /* the primary's last frame_no at the last Hello */
	uint64_t index;
	pthread_mutex_t pmu;
	pthread_cond_t pcv;
	struct meta_pos pos; /* cached position (pmu) */
	bool stop;           /* (pmu) */
	pthread_t th_interval, th_follow;
	bool run_interval, run_follow;
	bool follow_live;    /* (pmu) the follow stream is open and caught up */
};

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_pos(struct sync *s, const struct meta_pos *p)
{
	pthread_mutex_lock(&s->pmu);
	s->pos = *p;
	pthread_cond_broadcast(&s->pcv);
	pthread_mutex_unlock(&s->pmu);
}

static bool stopping(struct sync *s)
{
	pthread_mutex_lock(&s->pmu);
	bool st = s->stop;
	pthread_mutex_unlock(&s->pmu);
	return st;
}

/* Waits up to ms or until stop; true if stopping. */
static bool nap(struct sync *s, int ms)
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

static uint64_t next_offset(const struct meta_pos *p)
{
	return p->has_frame ? p->frame_no + 1 : 0;
}

/* ---- gRPC-web calls ---- */

struct rpc_resp {
	int status;          /* grpc-status */
	const char *message; /* grpc-message */
	const uint8_t **msgs; /* data frames (arena copies) */
	size_t *lens;
	size_t n, cap;
};

static size_t build_hdrs(struct sync *s, const char *session, struct xport_hdr *h)
{
	size_t n = 0;
	h[n++] = (struct xport_hdr){"te", "trailers"};
	h[n++] = (struct xport_hdr){"x-authorization", s->auth_hdr};
	if (session && session[0])
		h[n++] = (struct xport_hdr){"x-session-token", session};
	return n;
}

static void resp_add(struct arena *a, struct rpc_resp *r, const uint8_t *p, size_t n)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		const uint8_t **nm = arena_alloc(a, nc * sizeof *nm);
		size_t *nl = arena_alloc(a, nc * sizeof *nl);
		if (r->n) {
			memcpy(nm, r->msgs, r->n * sizeof *nm);
			memcpy(nl, r->lens, r->n * sizeof *nl);
		}
		r->msgs = nm;
		r->lens = nl;
		r->cap = nc;
	}
	r->msgs[r->n] = arena_memdup(a, p, n ? n : 1);
	r->lens[r->n++] = n;
}

/* Feeds a response body to d; data frames go to r, the trailer to r->status. */
static int body_feed(struct arena *a, struct grpcweb_dec *d, struct rpc_resp *r, const uint8_t *p, size_t n,
		     bool *got_trailer, struct err *e)
{
	while (n > 0) {
		size_t used = 0;
		struct grpcweb_frame f;
		int rc = grpcweb_dec_feed(d, p, n, &used, &f, e);
		if (rc < 0)
			return SYNC_E_PROTO;
		p += used;
		n -= used;
		if (rc == 0)
			break;
		if (f.flags == GRPCWEB_FLAG_TRAILERS) {
			struct grpcweb_trailers t;
			if (grpcweb_parse_trailers(a, f.data, f.len, &t, e) < 0)
				return SYNC_E_PROTO;
			r->status = t.status;
			r->message = t.message;
			*got_trailer = true;
		} else {
			resp_add(a, r, f.data, f.len);
		}
	}
	return 0;
}

static int rpc(struct sync *s, const char *method, const struct buf *req, struct arena *a, struct rpc_resp *r,
	       struct err *e)
{
	memset(r, 0, sizeof *r);
	if (!s->x) {
		int rc = xport_http_open(s->url, s->o.timeout_ms, &s->x, e);
		if (rc)
			return rc == XPORT_E_URL ? SYNC_E_PROTO : SYNC_E_NET;
	}
	struct buf body, resp;
	buf_init(&body);
	buf_init(&resp);
	grpcweb_encode_data(&body, req->p, req->len);
	struct xport_hdr h[4];
	size_t nh = build_hdrs(s, s->has_session ? s->session : NULL, h);
	char path[128];
	snprintf(path, sizeof path, SVC "%s", method);
	int status = 0;
	int rc = xport_http_post(s->x, path, CT_GRPC, body.p, body.len, h, nh, &status, &resp, e);
	buf_free(&body);
	if (rc) {
		buf_free(&resp);
		xport_close(s->x);
		s->x = NULL;
		return SYNC_E_NET;
	}
	if (status != 200) {
		buf_free(&resp);
		err_set(e, "sync: %s: HTTP status %d", method, status);
		return status == 401 || status == 403 ? SYNC_E_AUTH : SYNC_E_PROTO;
	}
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 64u << 20);
	bool got = false;
	rc = body_feed(a, &d, r, (const uint8_t *)resp.p, resp.len, &got, e);
	if (rc == 0 && grpcweb_dec_end(&d, e) < 0)
		rc = SYNC_E_PROTO;
	grpcweb_dec_free(&d);
	buf_free(&resp);
	if (rc == 0 && !got) {
		err_set(e, "sync: %s: response without gRPC trailers", method);
		rc = SYNC_E_PROTO;
	}
	return rc;
}

/* Maps a non-OK gRPC status to an error. */
static int grpc_fail(const char *method, const struct rpc_resp *r, struct err *e)
{
	err_set(e, "sync: %s: %s: %s", method, grpcweb_status_name(r->status), r->message ? r->message : "");
	if (r->status == GRPC_STATUS_UNAUTHENTICATED || r->status == GRPC_STATUS_PERMISSION_DENIED)
		return SYNC_E_AUTH;
	if (r->status == GRPC_STATUS_UNAVAILABLE)
		return SYNC_E_NET;
	return SYNC_E_PROTO;
}

static bool is_precond(const struct rpc_resp *r, const char *what)
{
	return r->status == GRPC_STATUS_FAILED_PRECONDITION && r->message && strcmp(r->message, what) == 0;
}

static int hello(struct sync *s, struct err *e)
{
	struct buf req;
	buf_init(&req);
	struct replpb_hello_req hr = {.has_handshake_version = true, .handshake_version = 1};
	replpb_encode_hello_req(&req, &hr);
	struct arena a;
	arena_init(&a);
	struct rpc_resp r;
	int rc = rpc(s, "Hello", &req, &a, &r, e);
	buf_free(&req);
	if (rc == 0 && r.status != GRPC_STATUS_OK)
		rc = grpc_fail("Hello", &r, e);
	struct replpb_hello_resp h;
	if (rc == 0 && (r.n != 1 || replpb_decode_hello_resp(&a, r.msgs[0], r.lens[0], &h, e) < 0)) {
		if (r.n != 1)
			err_set(e, "sync: Hello: %zu messages in the answer", r.n);
		rc = SYNC_E_PROTO;
	}
	if (rc == 0) {
		uint8_t id[16];
		if (meta_uuid_parse(h.log_id, id) < 0 || h.session_token_len == 0 ||
		    h.session_token_len >= sizeof s->session || memchr(h.session_token, 0, h.session_token_len)) {
			err_set(e, "sync: Hello: bad log_id or session token");
			rc = SYNC_E_PROTO;
		} else {
			memcpy(s->log_id, id, 16);
			s->has_log = true;
			memcpy(s->session, h.session_token, h.session_token_len);
			s->session[h.session_token_len] = 0;
			s->has_session = true;
			s->has_index = h.has_current_replication_index;
			s->index = h.current_replication_index;
		}
	}
	arena_free(&a);
	return rc;
}

/* ---- applying (mu held) ---- */

static int local_fail(int rc)
{
	(void)rc; /* busy, I/O or format: all local */
	return SYNC_E_LOCAL;
}

/* Loads the position under the open write lock, resolving a pending record. */
static int load_pos(struct sync *s, const struct apply_state *st, struct meta_pos *p, struct err *e)
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
	if ((rc = load_pos(s, &st, &p, e)))
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
		set_pos(s, &p);
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
static int apply_txn(struct sync *s, const uint8_t *const *f, size_t n, bool snapshot, struct err *e)
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
	if ((rc = load_pos(s, &st, &p, e)))
		goto out;
	if (!p.has_log || !s->has_log || memcmp(p.log_id, s->log_id, 16) != 0) {
		rc = SYNC_E_MOVED; /* the lineage changed: settle again */
		goto out;
	}
	uint64_t next = next_offset(&p);
	if (p.has_frame && commit_no <= p.frame_no) {
		apply_abort(s->ap); /* already applied (by another applier) */
		set_pos(s, &p);
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
	if (meta_store(s->mt, &p, false, e)) {
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
	set_pos(s, &p);
	return 1;
out_local:
	rc = local_fail(rc);
out:
	apply_abort(s->ap);
	return rc;
}

/* Applies the complete transactions among frames f[0..n) in log order;
 * *napplied += frames applied. Returns 0, SYNC_E_MOVED or an error. */
static int apply_frames(struct sync *s, const uint8_t *const *f, size_t n, uint64_t *napplied, struct err *e)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (!frame_is_commit(f[i]))
			continue;
		int rc = apply_txn(s, f + start, i + 1 - start, false, e);
		if (rc < 0)
			return rc;
		if (rc == 1)
			*napplied += i + 1 - start;
		start = i + 1;
	}
	return 0; /* a tail without its commit frame is fetched again next time */
}

static int decode_frame(struct arena *a, const uint8_t *p, size_t n, const uint8_t **out, struct err *e)
{
	struct replpb_frame fr;
	if (replpb_decode_frame(a, p, n, &fr, e) < 0)
		return SYNC_E_PROTO;
	if (fr.len != FRAME_SIZE)
		return err_set(e, "sync: a frame of %zu bytes (4120 expected)", fr.len), SYNC_E_PROTO;
	*out = fr.data;
	return 0;
}

static int snapshot(struct sync *s, uint64_t next, uint64_t *napplied, struct err *e)
{
	struct buf req;
	buf_init(&req);
	struct replpb_log_offset lo = {.next_offset = next};
	replpb_encode_log_offset(&req, &lo);
	struct arena a;
	arena_init(&a);
	struct rpc_resp r;
	int rc = rpc(s, "Snapshot", &req, &a, &r, e);
	buf_free(&req);
	if (rc == 0 && r.status != GRPC_STATUS_OK)
		rc = is_precond(&r, "NO_HELLO") ? SYNC_E_MOVED : grpc_fail("Snapshot", &r, e);
	if (rc == 0 && r.n == 0) {
		err_set(e, "sync: empty snapshot");
		rc = SYNC_E_PROTO;
	}
	const uint8_t **f = rc == 0 ? arena_alloc(&a, r.n * sizeof *f) : NULL;
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		rc = decode_frame(&a, r.msgs[i], r.lens[i], &f[i], e);
	if (rc == 0) {
		rc = apply_txn(s, f, r.n, true, e);
		if (rc == 1)
			*napplied += r.n;
		if (rc > 0)
			rc = 0;
	}
	arena_free(&a);
	return rc;
}

/* One round; mu held. */
static int pull_locked(struct sync *s, struct sync_info *info, struct err *e)
{
	uint64_t napplied = 0;
	int rc = hello(s, e);
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
		uint64_t next = next_offset(&p);
		struct buf req;
		buf_init(&req);
		struct replpb_log_offset lo = {.next_offset = next};
		replpb_encode_log_offset(&req, &lo);
		struct arena a;
		arena_init(&a);
		struct rpc_resp r;
		rc = rpc(s, "BatchLogEntries", &req, &a, &r, e);
		buf_free(&req);
		if (rc == 0 && r.status != GRPC_STATUS_OK) {
			if (is_precond(&r, "NO_HELLO") && hellos++ < 3) {
				arena_free(&a);
				if ((rc = hello(s, e)) == 0)
					rc = settle(s, true, e);
				continue;
			}
			if (is_precond(&r, "NEED_SNAPSHOT")) {
				arena_free(&a);
				rc = snapshot(s, next, &napplied, e);
				if (rc == SYNC_E_MOVED && moves++ < 5)
					rc = settle(s, true, e);
				continue;
			}
			rc = grpc_fail("BatchLogEntries", &r, e);
		}
		struct replpb_frames fs;
		if (rc == 0 && (r.n != 1 || replpb_decode_frames(&a, r.msgs[0], r.lens[0], &fs, e) < 0)) {
			if (r.n != 1)
				err_set(e, "sync: BatchLogEntries: %zu messages in the answer", r.n);
			rc = SYNC_E_PROTO;
		}
		if (rc == 0 && fs.nframes == 0) {
			arena_free(&a);
			break; /* nothing more now (do not spin on a primary that reports more than it has) */
		}
		const uint8_t **f = rc == 0 ? arena_alloc(&a, fs.nframes * sizeof *f) : NULL;
		for (size_t i = 0; rc == 0 && i < fs.nframes; i++) {
			if (fs.frames[i].len != FRAME_SIZE) {
				err_set(e, "sync: a frame of %zu bytes (4120 expected)", fs.frames[i].len);
				rc = SYNC_E_PROTO;
			}
			f[i] = fs.frames[i].data;
		}
		uint64_t before = napplied, before_pos = next;
		if (rc == 0)
			rc = apply_frames(s, f, fs.nframes, &napplied, e);
		arena_free(&a);
		if (rc == SYNC_E_MOVED && moves++ < 5)
			rc = settle(s, true, e);
		else if (rc == 0 && napplied == before) {
			pthread_mutex_lock(&s->pmu);
			bool same = next_offset(&s->pos) == before_pos;
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

/* ---- threads ---- */

static void *interval_main(void *arg)
{
	struct sync *s = arg;
	while (!nap(s, s->o.interval_ms)) {
		struct err e;
		sync_pull(s, NULL, &e);
	}
	return NULL;
}

struct follow_ctx {
	struct sync *s;
	struct grpcweb_dec d;
	struct arena a;
	uint8_t *txn;   /* frames gathered for the open transaction */
	size_t n, cap;
	int status;
	bool got_trailer, failed;
	struct err e;
};

static int follow_txn(struct follow_ctx *c)
{
	const uint8_t **f = malloc(c->n * sizeof *f);
	if (!f)
		return -1;
	for (size_t i = 0; i < c->n; i++)
		f[i] = c->txn + i * FRAME_SIZE;
	pthread_mutex_lock(&c->s->mu);
	int rc = apply_txn(c->s, f, c->n, false, &c->e);
	if (rc >= 0) {
		/* a stream that never goes quiet must still keep the WAL bounded */
		struct err e2;
		apply_checkpoint(c->s->ap, false, &e2);
	}
	pthread_mutex_unlock(&c->s->mu);
	free(f);
	c->n = 0;
	return rc < 0 ? rc : 0;
}

static int follow_data(void *arg, const void *p, size_t n)
{
	struct follow_ctx *c = arg;
	const uint8_t *q = p;
	if (stopping(c->s))
		return 1;
	while (n > 0) {
		size_t used = 0;
		struct grpcweb_frame f;
		int rc = grpcweb_dec_feed(&c->d, q, n, &used, &f, &c->e);
		if (rc < 0)
			return c->failed = true, 1;
		q += used;
		n -= used;
		if (rc == 0)
			break;
		if (f.flags == GRPCWEB_FLAG_TRAILERS) {
			struct grpcweb_trailers t;
			if (grpcweb_parse_trailers(&c->a, f.data, f.len, &t, &c->e) < 0)
				return c->failed = true, 1;
			c->status = t.status;
			c->got_trailer = true;
			continue;
		}
		const uint8_t *fr;
		struct arena a;
		arena_init(&a);
		rc = decode_frame(&a, f.data, f.len, &fr, &c->e);
		if (rc == 0) {
			if (c->n == c->cap) {
				size_t nc = c->cap ? c->cap * 2 : 64;
				uint8_t *nt = realloc(c->txn, nc * FRAME_SIZE);
				if (!nt)
					rc = -1;
				else
					c->txn = nt, c->cap = nc;
			}
			if (rc == 0) {
				memcpy(c->txn + c->n * FRAME_SIZE, fr, FRAME_SIZE);
				c->n++;
				if (frame_is_commit(fr))
					rc = follow_txn(c);
			}
		}
		arena_free(&a);
		if (rc)
			return c->failed = true, 1; /* includes SYNC_E_MOVED: start again from the position */
	}
	return 0;
}

static void *follow_main(void *arg)
{
	struct sync *s = arg;
	struct xport *fx = NULL;
	int fails = 0;
	while (!stopping(s)) {
		struct err e;
		/* catch up (Hello, snapshots, lineage changes) with a round */
		if (sync_pull(s, NULL, &e) < 0) {
			if (nap(s, fails++ < 5 ? 100 : 1000))
				break;
			continue;
		}
		char session[sizeof s->session];
		pthread_mutex_lock(&s->mu);
		memcpy(session, s->session, sizeof session);
		pthread_mutex_unlock(&s->mu);
		struct meta_pos p;
		pthread_mutex_lock(&s->pmu);
		p = s->pos;
		pthread_mutex_unlock(&s->pmu);
		if (!fx && xport_http_open(s->url, FOLLOW_IDLE_MS, &fx, &e)) {
			if (nap(s, 500))
				break;
			continue;
		}
		struct buf req, body;
		buf_init(&req);
		buf_init(&body);
		struct replpb_log_offset lo = {.next_offset = next_offset(&p)};
		replpb_encode_log_offset(&req, &lo);
		grpcweb_encode_data(&body, req.p, req.len);
		struct xport_hdr h[4];
		size_t nh = build_hdrs(s, session, h);
		struct follow_ctx c = {.s = s};
		grpcweb_dec_init(&c.d, 64u << 20);
		arena_init(&c.a);
		int status = 0;
		pthread_mutex_lock(&s->pmu);
		s->follow_live = true;
		pthread_mutex_unlock(&s->pmu);
		int rc = xport_http_post_stream(fx, SVC "LogEntries", CT_GRPC, body.p, body.len, h, nh, &status,
						follow_data, &c, &e);
		pthread_mutex_lock(&s->pmu);
		s->follow_live = false;
		pthread_mutex_unlock(&s->pmu);
		bool bad = rc != 0 || status != 200 || c.failed || (c.got_trailer && c.status != GRPC_STATUS_OK);
		buf_free(&req);
		buf_free(&body);
		grpcweb_dec_free(&c.d);
		arena_free(&c.a);
		free(c.txn);
		if (rc != 0 || c.failed) {
			xport_close(fx);
			fx = NULL;
		}
		bool idle = rc != 0 && !c.failed && status == 200; /* a quiet stream timed out: reopen */
		if (bad && !idle) {
			if (nap(s, fails++ < 5 ? 50 : 500))
				break;
		} else {
			fails = 0;
		}
	}
	xport_close(fx);
	return NULL;
}

/* ---- public ---- */

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
	int rc = apply_open(s->db_path, NULL, &s->ap, e);
	if (rc == 0)
		rc = meta_open(s->db_path, &s->mt, e);
	if (rc == 0 && settle(s, false, e) != 0) {
		/* resolving an interrupted transaction needs the write lock; if
		 * another applier holds it now, the next apply resolves it (every
		 * apply does, under the lock): open on the stored position */
		struct meta_pos p;
		rc = meta_load(s->mt, &p, e) == META_E_IO ? SYNC_E_LOCAL : 0;
		if (rc == 0 && !p.has_pending)
			set_pos(s, &p);
	}
	if (rc) {
		sync_close(s);
		return SYNC_E_LOCAL;
	}
	if (o->interval_ms > 0 && pthread_create(&s->th_interval, NULL, interval_main, s) == 0)
		s->run_interval = true;
	if (o->follow && pthread_create(&s->th_follow, NULL, follow_main, s) == 0)
		s->run_follow = true;
	*out = s;
	return 0;
}

int sync_until(struct sync *s, uint64_t frame_no, int timeout_ms, struct err *e)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		pthread_mutex_lock(&s->pmu);
		bool done = s->pos.has_frame && s->pos.frame_no >= frame_no;
		bool live = s->follow_live;
		pthread_mutex_unlock(&s->pmu);
		if (done)
			return 0;
		uint64_t now = now_ms();
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
		if (info.frames_applied == 0 && !live && nap(s, 10))
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
