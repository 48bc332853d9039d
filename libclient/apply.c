/* apply: WAL injection into an embedded replica; see apply.h for the
 * contract, DESIGN.md §2.5a for why each step is the way it is.
 *
 * FORMAT of the wal-index (-shm) as SQLite 3.7.0+ lays it out (wal.c), in
 * regions of 32768 bytes mapped with xShmMap:
 *   region 0, offset 0    WalIndexHdr copy [0]   (48 bytes)
 *             offset 48   WalIndexHdr copy [1]   (48 bytes)
 *             offset 96   WalCkptInfo            (40 bytes)
 *             offset 136  aPgno[4062] (u32, native): page of frame 1..4062
 *             offset 16384 aHash[8192] (u16, native): 1-based index into aPgno
 *   region k >= 1: aPgno[4096] for frames 4063 + (k-1)*4096 ..., aHash[8192]
 * WalIndexHdr (native byte order unless said):
 *    0 iVersion 3007000   4 unused   8 iChange (bumped per commit)
 *   12 isInit (u8) = 1   13 bigEndCksum (u8) = WAL magic & 1
 *   14 szPage (u16): (size & 0xff00) | (size >> 16)
 *   16 mxFrame   20 nPage   24 aFrameCksum[2] (running frame checksum)
 *   32 aSalt[2] (the WAL header's salts as raw big-endian bytes)
 *   40 aCksum[2]: checksum of bytes 0..39, words read in native order
 * WalCkptInfo: 0 nBackfill  4 aReadMark[5]  24 aLock[8] (lock bytes)
 *   32 nBackfillAttempted  36 unused
 * Hash: slot = (page_no * 383) & 8191, linear probing to the next slot.
 * Locks (xShmLock slots): 0 WRITE, 1 CKPT, 2 RECOVER, 3..7 READ(0..4).
 *
 * Threads: see apply.h. */
#include "apply.h"

#include "walfmt.h"
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WI_PGSZ 32768
#define WI_HDR_BYTES 136
#define WI_NPAGE 4096
#define WI_NPAGE_ONE (WI_NPAGE - WI_HDR_BYTES / 4)
#define WI_NSLOT 8192
#define WI_HASH_1 383
#define WI_VERSION 3007000u
#define WI_READ_LOCK(i) (3 + (i))
#define WI_NREADER 5
#define READMARK_NOT_USED 0xffffffffu
#define CHUNK_FRAMES 29 /* 29 * 4120 = 119480 bytes < 128 KiB per xWrite */
#define FRAME_BYTES (WALFMT_FRAME_HDR_SIZE + APPLY_PAGE_SIZE)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BE 1
#else
#define HOST_BE 0
#endif

struct wi_hdr {
	uint32_t iVersion, unused, iChange;
	uint8_t isInit, bigEndCksum;
	uint16_t szPage;
	uint32_t mxFrame, nPage;
	uint32_t aFrameCksum[2];
	uint32_t aSalt[2];
	uint32_t aCksum[2];
};
struct wi_ckpt {
	uint32_t nBackfill;
	uint32_t aReadMark[WI_NREADER];
	uint8_t aLock[8];
	uint32_t nBackfillAttempted, notUsed0;
};
_Static_assert(sizeof(struct wi_hdr) == 48, "WalIndexHdr is 48 bytes");
_Static_assert(sizeof(struct wi_ckpt) == 40, "WalCkptInfo is 40 bytes");
_Static_assert(2 * sizeof(struct wi_hdr) + sizeof(struct wi_ckpt) == WI_HDR_BYTES, "wal-index header");

struct apply {
	sqlite3 *db;
	struct apply_opts o;
	sqlite3_file *fd;  /* the database file: -shm methods */
	sqlite3_file *wfd; /* the -wal */
	bool in_txn, published;
	struct wi_hdr hdr;        /* the live header at begin, updated at publish */
	bool new_wal;             /* the next frames start a new WAL generation */
	struct walfmt_chain chain;
	uint32_t nframes;         /* frames of the open transaction (sealed + held) */
	uint32_t *pgnos;          /* their page numbers */
	uint32_t pgcap;
	uint8_t held[APPLY_PAGE_SIZE];
	uint32_t held_pgno;       /* 0: nothing held */
	uint8_t *wbuf;            /* sealed frames not yet written */
	uint32_t wn;              /* frames in wbuf */
	uint32_t wfirst;          /* WAL frame index of wbuf's first frame */
	uint32_t last_mx;         /* mxFrame after the last publish (for checkpoints) */
};

size_t apply_mem(const struct apply *a)
{
	return (size_t)CHUNK_FRAMES * FRAME_BYTES + APPLY_PAGE_SIZE + (size_t)a->pgcap * sizeof *a->pgnos;
}

sqlite3 *apply_db(struct apply *a)
{
	return a->db;
}

static int sql_fail(struct apply *a, struct err *e, const char *what)
{
	err_set(e, "apply: %s: %s", what, sqlite3_errmsg(a->db));
	return APPLY_E_SQLITE;
}

static int exec1(struct apply *a, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (out) {
			const char *t = (const char *)sqlite3_column_text(st, 0);
			snprintf(out, outsz, "%s", t ? t : "");
		}
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
		if (out && outsz)
			out[0] = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int apply_open(const char *db_path, const struct apply_opts *o, struct apply **out, struct err *e)
{
	*out = NULL;
	struct apply *a = calloc(1, sizeof *a);
	if (!a)
		return err_set(e, "apply: out of memory"), APPLY_E_SQLITE;
	if (o)
		a->o = *o;
	if (a->o.busy_ms <= 0)
		a->o.busy_ms = 5000;
	if (a->o.ckpt_frames == 0)
		a->o.ckpt_frames = 1000;
	a->wbuf = malloc((size_t)CHUNK_FRAMES * FRAME_BYTES);
	if (!a->wbuf) {
		free(a);
		return err_set(e, "apply: out of memory"), APPLY_E_SQLITE;
	}
	int rc = sqlite3_open_v2(db_path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		err_set(e, "apply: open %s: %s", db_path, a->db ? sqlite3_errmsg(a->db) : "out of memory");
		apply_close(a);
		return APPLY_E_SQLITE;
	}
	sqlite3_busy_timeout(a->db, a->o.busy_ms);
	char v[64];
	if (exec1(a, "PRAGMA page_count", v, sizeof v) != SQLITE_OK) {
		rc = sql_fail(a, e, "page_count");
		goto fail;
	}
	if (atoi(v) == 0 && exec1(a, "PRAGMA page_size=4096", NULL, 0) != SQLITE_OK) {
		rc = sql_fail(a, e, "page_size");
		goto fail;
	}
	if (exec1(a, "PRAGMA journal_mode=WAL", v, sizeof v) != SQLITE_OK) {
		rc = sql_fail(a, e, "journal_mode");
		goto fail;
	}
	if (strcmp(v, "wal") != 0) {
		err_set(e, "apply: %s cannot be put in WAL mode (journal_mode %s)", db_path, v);
		rc = APPLY_E_FORMAT;
		goto fail;
	}
	if (exec1(a, "PRAGMA page_size", v, sizeof v) != SQLITE_OK) {
		rc = sql_fail(a, e, "page_size");
		goto fail;
	}
	if (atoi(v) != (int)APPLY_PAGE_SIZE) {
		err_set(e, "apply: %s has page size %s, replicas need 4096", db_path, v);
		rc = APPLY_E_FORMAT;
		goto fail;
	}
	sqlite3_wal_autocheckpoint(a->db, 0);
	*out = a;
	return 0;
fail:
	apply_close(a);
	return rc;
}

void apply_close(struct apply *a)
{
	if (!a)
		return;
	if (a->in_txn)
		apply_abort(a);
	struct err e;
	if (a->o.before_reset) /* the last connection's close checkpoints */
		(void)a->o.before_reset(a->o.before_reset_arg, &e);
	sqlite3_close(a->db);
	free(a->pgnos);
	free(a->wbuf);
	free(a);
}

/* ---- the wal-index ---- */

static int wi_map(struct apply *a, int region, volatile uint32_t **p, struct err *e)
{
	void volatile *pv = NULL;
	int rc = a->fd->pMethods->xShmMap(a->fd, region, WI_PGSZ, 1, &pv);
	if (rc != SQLITE_OK || !pv) {
		err_set(e, "apply: mapping wal-index region %d failed (%d)", region, rc);
		return APPLY_E_SQLITE;
	}
	*p = (volatile uint32_t *)pv;
	return 0;
}

static int wi_frame_page(uint32_t frame)
{
	return (int)((frame + WI_NPAGE - WI_NPAGE_ONE - 1) / WI_NPAGE);
}

struct wi_loc {
	volatile uint32_t *pgno; /* pgno[0] is frame zero + 1 */
	volatile uint16_t *hash;
	uint32_t zero;
};

static int wi_hash_get(struct apply *a, int ihash, struct wi_loc *l, struct err *e)
{
	volatile uint32_t *p;
	int rc = wi_map(a, ihash, &p, e);
	if (rc)
		return rc;
	l->hash = (volatile uint16_t *)&p[WI_NPAGE];
	if (ihash == 0) {
		l->pgno = &p[WI_HDR_BYTES / 4];
		l->zero = 0;
	} else {
		l->pgno = p;
		l->zero = WI_NPAGE_ONE + (uint32_t)(ihash - 1) * WI_NPAGE;
	}
	return 0;
}

static int wi_slot(uint32_t pgno)
{
	return (int)((pgno * WI_HASH_1) & (WI_NSLOT - 1));
}

/* Drops hash entries for frames past mx (a transaction written but never
 * published), as SQLite's walCleanupHash. */
static int wi_cleanup(struct apply *a, uint32_t mx, struct err *e)
{
	if (mx == 0)
		return 0;
	struct wi_loc l;
	int rc = wi_hash_get(a, wi_frame_page(mx), &l, e);
	if (rc)
		return rc;
	uint32_t limit = mx - l.zero;
	for (int i = 0; i < WI_NSLOT; i++)
		if (l.hash[i] > limit)
			l.hash[i] = 0;
	memset((void *)&l.pgno[limit], 0, (size_t)((volatile char *)l.hash - (volatile char *)&l.pgno[limit]));
	return 0;
}

/* Records frame -> pgno, as SQLite's walIndexAppend (mx = published mxFrame). */
static int wi_append(struct apply *a, uint32_t mx, uint32_t frame, uint32_t pgno, struct err *e)
{
	struct wi_loc l;
	int rc = wi_hash_get(a, wi_frame_page(frame), &l, e);
	if (rc)
		return rc;
	uint32_t idx = frame - l.zero;
	if (idx == 1)
		memset((void *)l.pgno, 0, (size_t)((volatile char *)&l.hash[WI_NSLOT] - (volatile char *)l.pgno));
	if (l.pgno[idx - 1]) {
		if ((rc = wi_cleanup(a, mx, e)))
			return rc;
	}
	int ncollide = (int)idx;
	int k;
	for (k = wi_slot(pgno); l.hash[k]; k = (k + 1) & (WI_NSLOT - 1)) {
		if (ncollide-- == 0) {
			err_set(e, "apply: wal-index hash table is corrupt");
			return APPLY_E_SQLITE;
		}
	}
	l.pgno[idx - 1] = pgno;
	__atomic_store_n(&l.hash[k], (uint16_t)idx, __ATOMIC_RELAXED);
	return 0;
}

/* Writes a->hdr as copy [1], barrier, copy [0] (SQLite's walIndexWriteHdr). */
static int wi_write_hdr(struct apply *a, struct err *e)
{
	volatile uint32_t *p;
	int rc = wi_map(a, 0, &p, e);
	if (rc)
		return rc;
	a->hdr.isInit = 1;
	a->hdr.iVersion = WI_VERSION;
	struct walfmt_cksum ck = {0, 0};
	walfmt_checksum(HOST_BE, (const uint8_t *)&a->hdr, offsetof(struct wi_hdr, aCksum), &ck);
	a->hdr.aCksum[0] = ck.s0;
	a->hdr.aCksum[1] = ck.s1;
	volatile struct wi_hdr *h = (volatile struct wi_hdr *)p;
	memcpy((void *)&h[1], &a->hdr, sizeof a->hdr);
	a->fd->pMethods->xShmBarrier(a->fd);
	memcpy((void *)&h[0], &a->hdr, sizeof a->hdr);
	return 0;
}

static uint32_t salt_get(const uint32_t *raw)
{
	return walfmt_get32((const uint8_t *)raw);
}
static void salt_put(uint32_t *raw, uint32_t v)
{
	walfmt_put32((uint8_t *)raw, v);
}

/* Restarts the WAL if every frame is backfilled and no reader uses it:
 * nBackfill and read marks first, then mxFrame = 0 with new salts. */
static int wi_try_restart(struct apply *a, volatile uint32_t *p, struct err *e)
{
	volatile struct wi_ckpt *ck = (volatile struct wi_ckpt *)((volatile uint8_t *)p + 96);
	if (a->hdr.mxFrame == 0 || ck->nBackfill != a->hdr.mxFrame)
		return 0;
	sqlite3_io_methods const *m = a->fd->pMethods;
	int lk = SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE;
	if (m->xShmLock(a->fd, WI_READ_LOCK(1), WI_NREADER - 1, lk) != SQLITE_OK)
		return 0; /* a reader still uses the WAL: append instead */
	ck->nBackfill = 0;
	ck->nBackfillAttempted = 0;
	ck->aReadMark[1] = 0;
	for (int i = 2; i < WI_NREADER; i++)
		ck->aReadMark[i] = READMARK_NOT_USED;
	m->xShmBarrier(a->fd);
	uint32_t r;
	sqlite3_randomness(sizeof r, &r);
	a->hdr.mxFrame = 0;
	salt_put(&a->hdr.aSalt[0], salt_get(&a->hdr.aSalt[0]) + 1);
	salt_put(&a->hdr.aSalt[1], r);
	a->hdr.iChange++;
	int rc = wi_write_hdr(a, e);
	m->xShmLock(a->fd, WI_READ_LOCK(1), WI_NREADER - 1, SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE);
	if (rc)
		return rc;
	a->new_wal = true;
	return 1;
}

/* ---- transactions ---- */

int apply_begin(struct apply *a, struct apply_state *st, struct err *e)
{
	if (a->in_txn)
		return err_set(e, "apply: transaction already open"), APPLY_E_STATE;
	int rc = sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_BUSY) {
			err_set(e, "apply: replica is locked by another writer: %s", sqlite3_errmsg(a->db));
			return APPLY_E_BUSY;
		}
		return sql_fail(a, e, "BEGIN IMMEDIATE");
	}
	a->in_txn = true;
	a->published = false;
	a->nframes = 0;
	a->held_pgno = 0;
	a->wn = 0;
	a->new_wal = false;
	a->fd = NULL;
	a->wfd = NULL;
	if (sqlite3_file_control(a->db, "main", SQLITE_FCNTL_FILE_POINTER, &a->fd) != SQLITE_OK || !a->fd ||
	    sqlite3_file_control(a->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &a->wfd) != SQLITE_OK || !a->wfd ||
	    !a->wfd->pMethods || a->fd->pMethods->iVersion < 2) {
		err_set(e, "apply: cannot reach the replica's -wal / -shm through SQLite");
		apply_abort(a);
		return APPLY_E_SQLITE;
	}
	volatile uint32_t *p;
	if ((rc = wi_map(a, 0, &p, e))) {
		apply_abort(a);
		return rc;
	}
	memcpy(&a->hdr, (const void *)p, sizeof a->hdr);
	if (!a->hdr.isInit || a->hdr.iVersion != WI_VERSION ||
	    (a->hdr.mxFrame > 0 && a->hdr.szPage != (uint16_t)((APPLY_PAGE_SIZE & 0xff00) | (APPLY_PAGE_SIZE >> 16)))) {
		err_set(e, "apply: unexpected wal-index header (version %u, page size field %u)", a->hdr.iVersion,
			a->hdr.szPage);
		apply_abort(a);
		return APPLY_E_FORMAT;
	}
	if (st) { /* the live header as found, before any restart */
		volatile struct wi_ckpt *ck = (volatile struct wi_ckpt *)((volatile uint8_t *)p + 96);
		st->mx_frame = a->hdr.mxFrame;
		st->n_page = a->hdr.nPage;
		st->salt1 = salt_get(&a->hdr.aSalt[0]);
		st->salt2 = salt_get(&a->hdr.aSalt[1]);
		st->nbackfill = ck->nBackfill;
		st->schema_cookie = 0;
		char v[32];
		if (exec1(a, "PRAGMA schema_version", v, sizeof v) == SQLITE_OK)
			st->schema_cookie = atoi(v);
	}
	if ((rc = wi_try_restart(a, p, e)) < 0) {
		apply_abort(a);
		return rc;
	}
	struct walfmt_hdr wh = {0};
	if (a->hdr.mxFrame == 0) {
		/* a new WAL generation: salt1 + 1 (unless the restart just did
		 * that) and a random salt2, so no older frame can chain on */
		if (!a->new_wal) {
			uint32_t r[2];
			sqlite3_randomness(sizeof r, r);
			uint32_t s1 = salt_get(&a->hdr.aSalt[0]);
			salt_put(&a->hdr.aSalt[0], s1 ? s1 + 1 : r[0]);
			salt_put(&a->hdr.aSalt[1], r[1]);
			a->new_wal = true;
		}
		wh.magic = WALFMT_MAGIC | HOST_BE;
		wh.version = WALFMT_VERSION;
		wh.page_size = APPLY_PAGE_SIZE;
		wh.ckpt_seq = 0;
		wh.salt1 = salt_get(&a->hdr.aSalt[0]);
		wh.salt2 = salt_get(&a->hdr.aSalt[1]);
		uint8_t b[WALFMT_HDR_SIZE];
		walfmt_hdr_encode(&wh, b); /* fills wh.cksum */
		walfmt_chain_init(&a->chain, &wh);
		a->hdr.bigEndCksum = HOST_BE;
	} else {
		wh.magic = WALFMT_MAGIC | (a->hdr.bigEndCksum ? 1u : 0u);
		wh.version = WALFMT_VERSION;
		wh.page_size = APPLY_PAGE_SIZE;
		wh.salt1 = salt_get(&a->hdr.aSalt[0]);
		wh.salt2 = salt_get(&a->hdr.aSalt[1]);
		walfmt_chain_init(&a->chain, &wh);
		a->chain.ck.s0 = a->hdr.aFrameCksum[0];
		a->chain.ck.s1 = a->hdr.aFrameCksum[1];
		a->chain.nframes = a->hdr.mxFrame;
	}
	a->wfirst = a->hdr.mxFrame + 1;
	return 0;
}

void apply_next_commit(const struct apply *a, uint32_t nframes, uint32_t *salt1, uint32_t *salt2,
		       uint32_t *wal_frame)
{
	*salt1 = a->chain.hdr.salt1;
	*salt2 = a->chain.hdr.salt2;
	*wal_frame = a->hdr.mxFrame + nframes;
}

static int wal_write(struct apply *a, const void *p, size_t n, uint64_t off, struct err *e)
{
	int rc = a->wfd->pMethods->xWrite(a->wfd, p, (int)n, (sqlite3_int64)off);
	if (rc != SQLITE_OK) {
		err_set(e, "apply: writing the -wal at %llu failed (%d)", (unsigned long long)off, rc);
		return APPLY_E_IO;
	}
	return 0;
}

static int flush(struct apply *a, struct err *e)
{
	int rc;
	if (a->new_wal && a->wfirst == 1) {
		uint8_t b[WALFMT_HDR_SIZE];
		struct walfmt_hdr h = a->chain.hdr;
		walfmt_hdr_encode(&h, b);
		if ((rc = wal_write(a, b, sizeof b, 0, e)))
			return rc;
	}
	if (a->wn == 0)
		return 0;
	rc = wal_write(a, a->wbuf, (size_t)a->wn * FRAME_BYTES, walfmt_frame_offset(APPLY_PAGE_SIZE, a->wfirst), e);
	if (rc)
		return rc;
	a->wfirst += a->wn;
	a->wn = 0;
	return 0;
}

/* Seals the held page as the next frame (db_size != 0: commit) into wbuf. */
static int seal_held(struct apply *a, uint32_t db_size, struct err *e)
{
	if (a->wn == CHUNK_FRAMES) {
		int rc = flush(a, e);
		if (rc)
			return rc;
	}
	uint8_t *f = a->wbuf + (size_t)a->wn * FRAME_BYTES;
	walfmt_chain_seal(&a->chain, a->held_pgno, db_size, a->held, f);
	memcpy(f + WALFMT_FRAME_HDR_SIZE, a->held, APPLY_PAGE_SIZE);
	a->wn++;
	a->held_pgno = 0;
	return 0;
}

int apply_frame(struct apply *a, uint32_t page_no, const uint8_t *page, struct err *e)
{
	if (!a->in_txn || a->published || page_no == 0)
		return err_set(e, "apply: frame out of order or page 0"), APPLY_E_STATE;
	int rc;
	if (a->held_pgno && (rc = seal_held(a, 0, e)))
		return rc;
	if (a->nframes == a->pgcap) {
		uint32_t nc = a->pgcap ? a->pgcap * 2 : 64;
		uint32_t *np = realloc(a->pgnos, nc * sizeof *np);
		if (!np)
			return err_set(e, "apply: out of memory"), APPLY_E_IO;
		a->pgnos = np;
		a->pgcap = nc;
	}
	a->pgnos[a->nframes++] = page_no;
	memcpy(a->held, page, APPLY_PAGE_SIZE);
	a->held_pgno = page_no;
	return 0;
}

int apply_publish(struct apply *a, uint32_t size_after, struct err *e)
{
	if (!a->in_txn || a->published || !a->held_pgno || size_after == 0)
		return err_set(e, "apply: publish without frames or size"), APPLY_E_STATE;
	int rc;
	if ((rc = seal_held(a, size_after, e)) || (rc = flush(a, e)))
		return rc;
	if (a->o.sync_full && (rc = apply_sync(a, e)))
		return rc;
	uint32_t mx = a->hdr.mxFrame;
	for (uint32_t i = 0; i < a->nframes; i++)
		if ((rc = wi_append(a, mx, mx + 1 + i, a->pgnos[i], e)))
			return rc;
	a->hdr.mxFrame = mx + a->nframes;
	a->hdr.nPage = size_after;
	a->hdr.szPage = (uint16_t)((APPLY_PAGE_SIZE & 0xff00) | (APPLY_PAGE_SIZE >> 16));
	a->hdr.aFrameCksum[0] = a->chain.ck.s0;
	a->hdr.aFrameCksum[1] = a->chain.ck.s1;
	a->hdr.iChange++;
	if ((rc = wi_write_hdr(a, e)))
		return rc;
	a->published = true;
	a->last_mx = a->hdr.mxFrame;
	return 0;
}

int apply_end(struct apply *a, struct err *e)
{
	if (!a->in_txn)
		return err_set(e, "apply: no transaction"), APPLY_E_STATE;
	int rc = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sql_fail(a, e, "COMMIT");
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		a->in_txn = false;
		return APPLY_E_SQLITE;
	}
	a->in_txn = false;
	return 0;
}

void apply_abort(struct apply *a)
{
	if (!a->in_txn)
		return;
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	a->in_txn = false;
	a->held_pgno = 0;
	a->wn = 0;
	a->nframes = 0;
}

int apply_sync(struct apply *a, struct err *e)
{
	sqlite3_file *w = a->wfd;
	if (!a->in_txn) {
		if (sqlite3_file_control(a->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &w) != SQLITE_OK || !w ||
		    !w->pMethods)
			return 0; /* no -wal open: nothing to sync */
	}
	int rc = w->pMethods->xSync(w, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK)
		return err_set(e, "apply: fsync of the -wal failed (%d)", rc), APPLY_E_IO;
	return 0;
}

int apply_checkpoint(struct apply *a, bool force, struct err *e)
{
	if (a->in_txn)
		return err_set(e, "apply: checkpoint inside a transaction"), APPLY_E_STATE;
	if (!force && a->last_mx <= a->o.ckpt_frames)
		return 0;
	if (a->o.before_reset && a->o.before_reset(a->o.before_reset_arg, e))
		return APPLY_E_IO;
	sqlite3_busy_timeout(a->db, 20);
	int nlog = 0, nckpt = 0;
	int rc = sqlite3_wal_checkpoint_v2(a->db, "main", SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
	sqlite3_busy_timeout(a->db, a->o.busy_ms);
	if (rc == SQLITE_OK) {
		a->last_mx = 0;
		return 1;
	}
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return 0;
	return sql_fail(a, e, "checkpoint");
}

void apply_empty_page1(uint8_t page[APPLY_PAGE_SIZE], uint32_t schema_cookie)
{
	memset(page, 0, APPLY_PAGE_SIZE);
	memcpy(page, "SQLite format 3", 16);
	page[16] = 0x10; /* page size 4096, big-endian */
	page[17] = 0x00;
	page[18] = 2; /* file format: WAL */
	page[19] = 2;
	page[20] = 0;  /* reserved bytes per page */
	page[21] = 64; /* max embedded payload fraction */
	page[22] = 32; /* min */
	page[23] = 32; /* leaf */
	walfmt_put32(page + 24, 1);             /* file change counter */
	walfmt_put32(page + 28, 1);             /* database size in pages */
	walfmt_put32(page + 40, schema_cookie); /* a changed cookie makes readers reload the schema */
	walfmt_put32(page + 44, 4);             /* schema format */
	walfmt_put32(page + 56, 1);             /* UTF-8 */
	walfmt_put32(page + 92, 1);             /* version-valid-for = change counter */
	walfmt_put32(page + 96, (uint32_t)sqlite3_libversion_number());
	page[100] = 0x0d; /* empty table b-tree leaf: no cells */
	page[105] = 0x10; /* cell content area starts at 4096 */
	page[106] = 0x00;
}
