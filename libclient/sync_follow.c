/* sync_follow: the background threads of the sync module: the interval
 * thread (a round every interval_ms) and the follow thread (LogEntries on
 * its own connection, each whole transaction applied as it arrives, with mu
 * taken only around the apply; a round first, to catch up and to handle
 * snapshots and lineage changes, and again whenever the stream ends). */
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

/* ---- threads ---- */

void *sync_interval_main(void *arg)
{
	struct sync *s = arg;
	while (!sync_nap(s, s->o.interval_ms)) {
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
	int rc = sync_apply_txn(c->s, f, c->n, false, &c->e);
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
	if (sync_stopping(c->s))
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
		rc = sync_rpc_frame(&a, f.data, f.len, &fr, &c->e);
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

void *sync_follow_main(void *arg)
{
	struct sync *s = arg;
	struct xport *fx = NULL;
	int fails = 0;
	while (!sync_stopping(s)) {
		struct err e;
		/* catch up (Hello, snapshots, lineage changes) with a round */
		if (sync_pull(s, NULL, &e) < 0) {
			if (sync_nap(s, fails++ < 5 ? 100 : 1000))
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
		if (!fx && xport_http_open(s->url, SYNC_FOLLOW_IDLE_MS, &fx, &e)) {
			if (sync_nap(s, 500))
				break;
			continue;
		}
		struct buf req, body;
		buf_init(&req);
		buf_init(&body);
		struct replpb_log_offset lo = {.next_offset = sync_next_offset(&p)};
		replpb_encode_log_offset(&req, &lo);
		grpcweb_encode_data(&body, req.p, req.len);
		struct xport_hdr h[4];
		size_t nh = sync_rpc_hdrs(s, session, h);
		struct follow_ctx c = {.s = s};
		grpcweb_dec_init(&c.d, 64u << 20);
		arena_init(&c.a);
		int status = 0;
		pthread_mutex_lock(&s->pmu);
		s->follow_live = true;
		pthread_mutex_unlock(&s->pmu);
		int rc = xport_http_post_stream(fx, SYNC_SVC "LogEntries", SYNC_CT_GRPC, body.p, body.len, h, nh, &status,
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
			if (sync_nap(s, fails++ < 5 ? 50 : 500))
				break;
		} else {
			fails = 0;
		}
	}
	xport_close(fx);
	return NULL;
}
