/* sync_txn: frames of a replication answer applied as they arrive, so a
 * replica's memory stays bounded whatever the size of a transaction or of
 * a snapshot (contract in sync_int.h, struct sync_txn).
 *
 * Invariants (those of sync.c and apply.h, kept while streaming):
 *  - readers never see part of a transaction: the frames of an open
 *    transaction are written past mxFrame and published once, at the commit
 *    frame (log order) or at the OK end of a snapshot stream;
 *  - the position is never ahead of the data: the pending record naming the
 *    commit frame (its WAL index is known once the last frame is there) is
 *    stored, and fsync'ed (power loss: never more than this transaction
 *    behind), before apply_publish writes the commit frame; the frames
 *    written before it carry no commit mark, so SQLite's recovery ignores
 *    them;
 *  - an error, a cut or kill -9 before the publish leaves the replica as
 *    it was (apply_abort: the frames stay unseen past mxFrame).
 *
 * Threads: the caller holds s->mu, or (lock = true, the follow thread)
 * mu is taken around each whole apply and held from the opening of a
 * streaming transaction to its publish or abort. */
#include "sync_int.h"

#include "frame.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void sync_txn_init(struct sync_txn *t, struct sync *s, bool snapshot, bool lock)
{
	memset(t, 0, sizeof *t);
	t->s = s;
	t->snapshot = snapshot;
	t->lock = lock;
}

size_t sync_txn_mem(const struct sync_txn *t)
{
	return t->cap * (FRAME_SIZE + sizeof *t->ptr) + (t->open ? apply_mem(t->s->ap) : 0);
}

static void reset(struct sync_txn *t)
{
	t->n = 0;
	t->total = 0;
	t->open = false;
	t->sealed = false;
	if (t->locked) {
		pthread_mutex_unlock(&t->s->mu);
		t->locked = false;
	}
}

void sync_txn_abort(struct sync_txn *t)
{
	if (t->open)
		apply_abort(t->s->ap);
	reset(t);
}

void sync_txn_free(struct sync_txn *t)
{
	sync_txn_abort(t);
	free(t->buf);
	free(t->ptr);
	t->buf = NULL;
	t->ptr = NULL;
	t->cap = 0;
}

/* The whole transaction is in buf: the ordinary apply. */
static int apply_whole(struct sync_txn *t, struct err *e)
{
	for (size_t i = 0; i < t->n; i++)
		t->ptr[i] = t->buf + i * FRAME_SIZE;
	if (t->lock)
		pthread_mutex_lock(&t->s->mu);
	int rc = sync_apply_txn(t->s, t->ptr, t->n, t->snapshot, e);
	if (rc >= 0 && t->lock) {
		/* a stream that never goes quiet must still keep the WAL bounded */
		struct err e2;
		apply_checkpoint(t->s->ap, false, &e2);
	}
	if (t->lock)
		pthread_mutex_unlock(&t->s->mu);
	if (rc == 1)
		t->napplied += t->n;
	reset(t);
	return rc < 0 ? rc : 0;
}

/* The chunk is full and the transaction goes on: take the write lock and
 * check the position (sync_apply_txn's checks), once. */
static int open_txn(struct sync_txn *t, struct err *e)
{
	struct sync *s = t->s;
	if (t->lock) {
		pthread_mutex_lock(&s->mu);
		t->locked = true;
	}
	struct apply_state st;
	int rc = apply_begin(s->ap, &st, e);
	if (rc)
		return SYNC_E_LOCAL;
	t->open = true;
	if ((rc = sync_load_pos(s, &st, &t->p, e)))
		return rc;
	if (!t->p.has_log || !s->has_log || memcmp(t->p.log_id, s->log_id, 16) != 0)
		return SYNC_E_MOVED; /* the lineage changed: settle again */
	if (t->snapshot) {
		/* a snapshot's commit frame_no is its first (highest) one */
		if (t->p.has_frame && t->first_no <= t->p.frame_no) {
			sync_set_pos(s, &t->p); /* already applied (by another applier) */
			sync_txn_abort(t);
			t->stopped = true;
			return SYNC_TXN_STOP;
		}
	} else if (t->first_no != sync_next_offset(&t->p)) {
		return SYNC_E_MOVED;
	}
	return 0;
}

/* Gives the gathered frames to apply. */
static int spill(struct sync_txn *t, struct err *e)
{
	for (size_t i = 0; i < t->n; i++) {
		const uint8_t *f = t->buf + i * FRAME_SIZE;
		if (apply_frame(t->s->ap, frame_get_page_no(f), f + FRAME_HDR_SIZE, e))
			return SYNC_E_LOCAL;
	}
	t->n = 0;
	sync_mem_note(t->s, sync_txn_mem(t));
	return 0;
}

/* The streaming transaction is complete: pending record, publish, position. */
static int commit_open(struct sync_txn *t, struct err *e)
{
	struct sync *s = t->s;
	int rc = spill(t, e);
	if (rc)
		return rc;
	uint64_t commit_no = t->snapshot ? t->first_no : t->prev_no;
	struct meta_pos *p = &t->p;
	p->has_pending = true;
	p->pend_frame_no = commit_no;
	apply_next_commit(s->ap, (uint32_t)t->total, &p->pend_salt1, &p->pend_salt2, &p->pend_wal_frame);
	/* durable before the commit frame is written (apply_publish): see
	 * sync_apply_txn; the frames spilled so far carry no commit mark */
	if (meta_store(s->mt, p, true, e))
		return SYNC_E_LOCAL;
	if (apply_publish(s->ap, t->size_after, e))
		return SYNC_E_LOCAL;
	p->has_pending = false;
	p->has_frame = true;
	p->frame_no = commit_no;
	if (meta_store(s->mt, p, false, e))
		return SYNC_E_LOCAL; /* published: the pending record resolves it later */
	t->open = false;
	if (apply_end(s->ap, e)) {
		reset(t);
		return SYNC_E_LOCAL;
	}
	sync_set_pos(s, p);
	t->napplied += t->total;
	if (t->lock) {
		struct err e2;
		apply_checkpoint(s->ap, false, &e2);
	}
	reset(t);
	return 0;
}

static int grow(struct sync_txn *t)
{
	if (t->n < t->cap)
		return 0;
	size_t nc = t->cap ? t->cap * 2 : 16;
	if (nc > SYNC_TXN_CHUNK)
		nc = SYNC_TXN_CHUNK;
	uint8_t *nb = realloc(t->buf, nc * FRAME_SIZE);
	if (!nb)
		return -1;
	t->buf = nb;
	const uint8_t **np = realloc(t->ptr, nc * sizeof *np);
	if (!np)
		return -1;
	t->ptr = np;
	t->cap = nc;
	sync_mem_note(t->s, sync_txn_mem(t));
	return 0;
}

int sync_txn_frame(void *arg, const uint8_t *f, struct err *e)
{
	struct sync_txn *t = arg;
	if (t->stopped)
		return SYNC_TXN_STOP;
	struct frame_hdr h;
	frame_hdr_decode(f, &h);
	if (h.page_no == 0)
		return err_set(e, "sync: frame %llu has page 0", (unsigned long long)h.frame_no), SYNC_E_PROTO;
	if (t->total > 0) {
		bool bad = t->snapshot ? h.frame_no >= t->prev_no : h.frame_no != t->prev_no + 1;
		if (t->snapshot && t->sealed)
			return err_set(e, "sync: commit frame out of place"), SYNC_E_PROTO;
		if (bad)
			return err_set(e, "sync: frames out of order at %llu", (unsigned long long)h.frame_no),
			       SYNC_E_PROTO;
	} else {
		t->first_no = h.frame_no;
	}
	t->prev_no = h.frame_no;
	t->total++;
	t->size_after = h.size_after;
	if (h.size_after)
		t->sealed = true;
	if (grow(t))
		return err_set(e, "sync: out of memory"), SYNC_E_LOCAL;
	memcpy(t->buf + t->n * FRAME_SIZE, f, FRAME_SIZE);
	t->n++;
	if (!t->snapshot && h.size_after)
		return t->open ? commit_open(t, e) : apply_whole(t, e);
	if (t->n < SYNC_TXN_CHUNK)
		return 0;
	int rc = t->open ? 0 : open_txn(t, e);
	return rc ? rc : spill(t, e);
}

int sync_txn_finish(struct sync_txn *t, struct err *e)
{
	if (!t->snapshot || t->stopped) {
		sync_txn_abort(t); /* a tail without its commit frame: fetched again */
		return 0;
	}
	if (t->total == 0)
		return err_set(e, "sync: empty snapshot"), SYNC_E_PROTO;
	if (!t->sealed)
		return err_set(e, "sync: commit frame out of place"), SYNC_E_PROTO;
	return t->open ? commit_open(t, e) : apply_whole(t, e);
}
