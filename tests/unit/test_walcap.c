/* Unit tests for sqld/walcap.c with REAL SQLite connections (WAL mode,
 * page_size 4096, auto-checkpoint off) and, for the corner cases SQLite does
 * not produce on demand, hand-built WAL files.
 *
 * The oracle: a copy of the database file as it was when capture started;
 * every delivered transaction is applied to it (pwrite each page at
 * (page_no-1)*4096, truncate to size_after*4096). Whenever a checkpoint of
 * the primary has backfilled the whole WAL, the primary's file (read through
 * SQLite's own file handle, never opened by us) must equal the copy byte for
 * byte; at the end the copy passes PRAGMA integrity_check and answers
 * queries like the primary.
 *
 * The binary re-executes itself as a separate process ("--ckpt-child DB") to
 * check that POSIX locks survive walcap's fd handling. */
#include "t.h"
#include "vfs.h"
#include "walcap.h"
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* ---- SQL helpers ---- */

static int exec_rc(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	sqlite3_free(msg);
	return rc;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
	CHECK(rc == SQLITE_OK);
	sqlite3_free(msg);
}

static void execf(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void execf(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	exec(db, sql);
	sqlite3_free(sql);
}

static long long one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* n rows of `size` random bytes into table tab, in the current transaction
 * (or as one of its own). */
static void fill(sqlite3 *db, const char *tab, int n, int size)
{
	execf(db,
	      "INSERT INTO %s(b) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<%d) "
	      "SELECT randomblob(%d) FROM c",
	      tab, n, size);
}

/* ---- the fixture ---- */

struct fx {
	char dir[64], path[128], copy_path[140];
	bool psow0;        /* open with the URI option psow=0 */
	sqlite3 *db;       /* the main writer */
	sqlite3 *db2;      /* a second writer (random workload) */
	sqlite3 *rd;       /* a long-lived reader, when open */
	struct walcap *w;
	int copy_fd;
	bool hook_collect; /* the WAL hook collects (else the test calls fx_collect) */
	int hook_calls, hook_bad;
	/* what the callback saw */
	int ntxn, bad_txn, fail_next;
	uint64_t npages, superseded, beyond;
	struct walcap_txn last;   /* pages not valid after the callback */
	uint32_t last_first_page; /* first page of the last txn */
	uint32_t max_superseded, max_beyond;
	uint32_t prev_size;
	int shrinks;
};

static int fx_cb(void *arg, const struct walcap_txn *t, struct err *e)
{
	struct fx *f = arg;
	if (f->fail_next) {
		f->fail_next = 0;
		err_set(e, "injected failure");
		return -7;
	}
	bool ok = t->npages >= 1 && t->last_frame >= t->first_frame && t->size_after > 0;
	for (uint32_t i = 0; i < t->npages; i++) {
		const struct walcap_page *p = &t->pages[i];
		if (p->page_no == 0 || p->page_no > t->size_after || (i && p->page_no <= t->pages[i - 1].page_no))
			ok = false;
		ssize_t n = pwrite(f->copy_fd, p->data, WALCAP_PAGE_SIZE, (off_t)(p->page_no - 1) * WALCAP_PAGE_SIZE);
		if (n != WALCAP_PAGE_SIZE)
			ok = false;
	}
	/* every frame of the txn is accounted for */
	if (t->last_frame - t->first_frame + 1 != t->npages + t->superseded + t->beyond)
		ok = false;
	if (ftruncate(f->copy_fd, (off_t)t->size_after * WALCAP_PAGE_SIZE) != 0)
		ok = false;
	if (!ok) {
		f->bad_txn++;
		fprintf(stderr, "bad txn: frames %u..%u npages %u size %u\n", t->first_frame, t->last_frame, t->npages,
			t->size_after);
	}
	f->ntxn++;
	f->npages += t->npages;
	f->superseded += t->superseded;
	f->beyond += t->beyond;
	if (t->superseded > f->max_superseded)
		f->max_superseded = t->superseded;
	if (t->beyond > f->max_beyond)
		f->max_beyond = t->beyond;
	if (f->prev_size && t->size_after < f->prev_size)
		f->shrinks++;
	f->prev_size = t->size_after;
	f->last = *t;
	f->last.pages = NULL;
	f->last_first_page = t->pages[0].page_no;
	return 0;
}

/* Hint mode: collects through walcap_collect_upto with what the wal-index
 * header says (read here from the format, walformat.html §2.1, independently
 * of sqld/vfs.c). */
static bool use_hint;
static int hint_used, hint_missing;

static bool wal_hint(sqlite3 *db, uint32_t *mx, unsigned char salts[8])
{
	sqlite3_file *fp = NULL;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fp) != SQLITE_OK || !fp)
		return false;
	void volatile *p = NULL;
	if (fp->pMethods->xShmMap(fp, 0, 32768, 0, &p) != SQLITE_OK || !p)
		return false;
	unsigned char h[96];
	for (int i = 0; i < 96; i++)
		h[i] = ((const volatile unsigned char *)p)[i];
	uint32_t version;
	memcpy(&version, h, 4);
	if (version != 3007000 || h[12] != 1 || memcmp(h, h + 48, 48) != 0)
		return false;
	memcpy(mx, h + 16, 4);
	memcpy(salts, h + 32, 8);
	return true;
}

static int fx_collect_any(struct fx *f, sqlite3 *db, struct err *e)
{
	uint32_t mx;
	unsigned char salts[8];
	if (use_hint && db && wal_hint(db, &mx, salts)) {
		hint_used++;
		return walcap_collect_upto(f->w, mx, salts, fx_cb, f, e);
	}
	hint_missing += use_hint;
	return walcap_collect(f->w, fx_cb, f, e);
}

static int fx_hook(void *arg, sqlite3 *db, const char *name, int nframe)
{
	struct fx *f = arg;
	f->hook_calls++;
	if (!f->hook_collect || !f->w)
		return SQLITE_OK;
	struct err e;
	if (fx_collect_any(f, db, &e) != 0) {
		fprintf(stderr, "collect in hook: %s\n", e.msg);
		f->hook_bad++;
		return SQLITE_OK;
	}
	struct walcap_pos pos;
	walcap_pos(f->w, &pos);
	/* walcap's position is SQLite's mxFrame right after the commit */
	if (pos.frame != (uint32_t)nframe) {
		fprintf(stderr, "hook: SQLite mxFrame %d, walcap at %u\n", nframe, pos.frame);
		f->hook_bad++;
	}
	return SQLITE_OK;
}

static sqlite3 *fx_conn(struct fx *f)
{
	sqlite3 *db;
	char uri[160];
	snprintf(uri, sizeof uri, "file:%s%s", f->path, f->psow0 ? "?psow=0" : "");
	CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL) ==
	      SQLITE_OK);
	/* autocheckpoint off first: setting it later would replace the hook */
	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_wal_hook(db, fx_hook, f);
	return db;
}

/* Reads the primary database file through SQLite's own handle (opening and
 * closing it ourselves would drop SQLite's POSIX locks). */
static uint8_t *read_main(sqlite3 *db, size_t *n)
{
	sqlite3_file *fp = NULL;
	CHECK(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fp) == SQLITE_OK && fp);
	sqlite3_int64 sz = 0;
	CHECK(fp->pMethods->xFileSize(fp, &sz) == SQLITE_OK);
	uint8_t *p = malloc((size_t)sz + 1);
	CHECK(p != NULL);
	for (sqlite3_int64 off = 0; off < sz; off += 65536) {
		int k = sz - off < 65536 ? (int)(sz - off) : 65536;
		CHECK(fp->pMethods->xRead(fp, p + off, k, off) == SQLITE_OK);
	}
	*n = (size_t)sz;
	return p;
}

static uint8_t *read_fd(int fd, size_t *n)
{
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	uint8_t *p = malloc((size_t)st.st_size + 1);
	CHECK(p != NULL);
	CHECK(pread(fd, p, (size_t)st.st_size, 0) == st.st_size);
	*n = (size_t)st.st_size;
	return p;
}

struct fx_opts {
	uint32_t page_size;      /* default 4096 */
	const char *auto_vacuum; /* NULL: none */
	bool table;              /* create table t(id, b) before the copy is taken */
	bool no_walcap;          /* do not open walcap yet */
	bool psow0;              /* no powersafe overwrite: commits padded to sectors */
};

static void fx_open(struct fx *f, const struct fx_opts *o)
{
	memset(f, 0, sizeof *f);
	f->copy_fd = -1;
	f->hook_collect = true;
	snprintf(f->dir, sizeof f->dir, "/tmp/sqlwire-test-walcap-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	snprintf(f->path, sizeof f->path, "%s/data", f->dir);
	snprintf(f->copy_path, sizeof f->copy_path, "%s/copy", f->dir);
	f->psow0 = o && o->psow0;
	f->db = fx_conn(f);
	execf(f->db, "PRAGMA page_size=%u", o && o->page_size ? o->page_size : 4096);
	if (o && o->auto_vacuum)
		execf(f->db, "PRAGMA auto_vacuum=%s", o->auto_vacuum);
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(f->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	if (o && o->table) {
		exec(f->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
		CHECK(sqlite3_wal_checkpoint_v2(f->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK);
	}
	/* the oracle's starting point: the file as it is now, WAL empty */
	size_t n;
	uint8_t *p = read_main(f->db, &n);
	f->copy_fd = open(f->copy_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(f->copy_fd >= 0);
	CHECK(write(f->copy_fd, p, n) == (ssize_t)n);
	free(p);
	struct err e;
	if (!(o && o->no_walcap))
		CHECK(walcap_open(f->path, &f->w, &e) == 0);
}

static void fx_collect(struct fx *f)
{
	struct err e;
	int rc = fx_collect_any(f, f->db, &e);
	if (rc != 0)
		fprintf(stderr, "collect: %s\n", e.msg);
	CHECK(rc == 0);
}

/* Runs a checkpoint (after collecting, as the contract says) and tells
 * walcap. Returns true if it backfilled the whole WAL. */
static bool fx_checkpoint(struct fx *f, int mode)
{
	if (!f->hook_collect)
		fx_collect(f);
	int nlog = -1, nckpt = -1;
	int rc = sqlite3_wal_checkpoint_v2(f->db, NULL, mode, &nlog, &nckpt);
	CHECK(rc == SQLITE_OK || rc == SQLITE_BUSY);
	struct err e;
	int crc = walcap_checkpointed(f->w, nlog, nckpt, &e);
	if (crc != 0)
		fprintf(stderr, "checkpointed: %s\n", e.msg);
	CHECK(crc == 0);
	return rc == SQLITE_OK && nlog == nckpt;
}

/* The primary's file equals the copy (only meaningful right after a
 * checkpoint that backfilled everything). */
static bool fx_same(struct fx *f)
{
	size_t na, nb;
	uint8_t *a = read_main(f->db, &na), *b = read_fd(f->copy_fd, &nb);
	bool same = na == nb && memcmp(a, b, na) == 0;
	if (!same) {
		size_t i = 0;
		while (i < na && i < nb && a[i] == b[i])
			i++;
		fprintf(stderr, "primary %zu bytes, copy %zu bytes, first difference at %zu (page %zu)\n", na, nb, i,
			i / 4096 + 1);
	}
	free(a);
	free(b);
	return same;
}

/* Full checkpoint, then byte comparison. */
static void fx_check_same(struct fx *f)
{
	CHECK(fx_checkpoint(f, SQLITE_CHECKPOINT_TRUNCATE));
	CHECK(fx_same(f));
}

/* The copy is a sound database with the primary's content (sql returns one
 * integer). */
static void fx_check_copy(struct fx *f, const char *sql)
{
	char check[160], cmd[400];
	snprintf(check, sizeof check, "%s/check", f->dir);
	snprintf(cmd, sizeof cmd, "cp %s %s", f->copy_path, check);
	CHECK(system(cmd) == 0);
	sqlite3 *c;
	CHECK(sqlite3_open(check, &c) == SQLITE_OK);
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(c, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	if (sql)
		CHECK(one_int(c, sql) == one_int(f->db, sql));
	sqlite3_close(c);
}

static void fx_close(struct fx *f)
{
	CHECK(f->hook_bad == 0);
	CHECK(f->bad_txn == 0);
	walcap_close(f->w);
	sqlite3_close(f->rd);
	sqlite3_close(f->db2);
	sqlite3_close(f->db);
	if (f->copy_fd >= 0)
		close(f->copy_fd);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	CHECK(system(cmd) == 0);
}

static struct walcap_pos fx_pos(struct fx *f)
{
	struct walcap_pos p;
	walcap_pos(f->w, &p);
	return p;
}

static uint32_t fx_wal_frames(struct fx *f)
{
	uint32_t n = 0;
	struct err e;
	CHECK(walcap_wal_frames(f->w, &n, &e) == 0);
	return n;
}

/* ---- tests with real SQLite ---- */

static void single_and_multi_page(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	fill(f.db, "t", 5, 100);
	CHECK(f.ntxn == 1 && f.last.npages == 1 && f.last_first_page == 2); /* t's root only */
	CHECK(f.last.size_after == 2 && f.last.first_frame == 1 && f.last.last_frame == 1);
	/* a one-row update touches one page: WAL mode leaves page 1 alone */
	exec(f.db, "UPDATE t SET b = x'00' WHERE id = 3");
	CHECK(f.ntxn == 2 && f.last.npages == 1 && f.last_first_page == 2 && f.last.first_frame == 2);
	/* 300 KB in one transaction: many pages, one delivery */
	exec(f.db, "BEGIN");
	fill(f.db, "t", 300, 1000);
	exec(f.db, "COMMIT");
	CHECK(f.ntxn == 3 && f.last.npages > 70 && f.last.superseded == 0);
	CHECK(f.last.size_after == (uint32_t)one_int(f.db, "PRAGMA page_count"));
	struct walcap_pos p = fx_pos(&f);
	CHECK(p.following && p.txns == 3 && p.frame == f.last.last_frame && p.size_after == f.last.size_after);
	CHECK(p.frames == p.frame && fx_wal_frames(&f) == p.frame);
	/* nothing new: nothing delivered */
	fx_collect(&f);
	CHECK(f.ntxn == 3);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fx_close(&f);
}

static void page_twice_in_one_txn(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=10");
	exec(f.db, "BEGIN");
	fill(f.db, "t", 2000, 1000);
	exec(f.db, "COMMIT");
	/* Dirty the highest page, let the cache spill it, dirty it again: at
	 * COMMIT the last page of the sorted dirty list is appended as the
	 * commit frame even though the spill already wrote it (walFrames does
	 * not overwrite the commit frame in place). */
	exec(f.db, "BEGIN");
	exec(f.db, "UPDATE t SET b = randomblob(1000) WHERE id = (SELECT max(id) FROM t)");
	exec(f.db, "UPDATE t SET b = randomblob(1000) WHERE id % 3 = 0");
	exec(f.db, "UPDATE t SET b = randomblob(1000) WHERE id = (SELECT max(id) FROM t)");
	exec(f.db, "COMMIT");
	CHECK(f.ntxn == 2 && f.last.superseded >= 1);
	/* the later frame won, or the copy would differ */
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fx_close(&f);
}

static void spill_then_commit(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=10");
	fill(f.db, "t", 10, 10);
	CHECK(f.ntxn == 1);
	exec(f.db, "BEGIN");
	fill(f.db, "t", 1500, 1000);
	/* the transaction is open and idle: its spilled frames are in the WAL */
	uint32_t at = fx_pos(&f).frame;
	CHECK(fx_wal_frames(&f) > at + 100);
	fx_collect(&f);
	CHECK(f.ntxn == 1 && fx_pos(&f).frame == at);
	fill(f.db, "t", 1500, 1000);
	exec(f.db, "UPDATE t SET b = randomblob(500) WHERE id % 2 = 0");
	fx_collect(&f);
	CHECK(f.ntxn == 1);
	exec(f.db, "COMMIT");
	CHECK(f.ntxn == 2 && f.last.npages > 700 && f.last.first_frame == at + 1);
	CHECK(f.hook_calls == 3); /* table, first fill, the big one: spills call no hook */
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT count(*) FROM t");
	fx_close(&f);
}

static void spill_then_rollback(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=10");
	fill(f.db, "t", 20, 100);
	uint32_t at = fx_pos(&f).frame;
	exec(f.db, "BEGIN");
	fill(f.db, "t", 2000, 1000);
	CHECK(fx_wal_frames(&f) > at + 200);
	fx_collect(&f);
	exec(f.db, "ROLLBACK");
	fx_collect(&f);
	CHECK(f.ntxn == 1 && fx_pos(&f).frame == at);
	/* a small commit overwrites the start of the abandoned frames; the
	 * rest no longer chain and are never delivered */
	exec(f.db, "UPDATE t SET b = x'01' WHERE id = 1");
	CHECK(f.ntxn == 2 && f.last.first_frame == at + 1 && f.last.npages == 1);
	CHECK(fx_wal_frames(&f) > fx_pos(&f).frame + 100);
	fx_collect(&f);
	CHECK(f.ntxn == 2);
	/* a rolled-back spill, then a large commit reusing all those frames */
	exec(f.db, "BEGIN");
	fill(f.db, "t", 1000, 1000);
	exec(f.db, "ROLLBACK");
	exec(f.db, "BEGIN");
	fill(f.db, "t", 900, 1000);
	exec(f.db, "COMMIT");
	CHECK(f.ntxn == 3);
	CHECK(one_int(f.db, "SELECT count(*) FROM t") == 920);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT count(*) FROM t");
	fx_close(&f);
}

static void rolled_back_spill_restarts_wal(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=10");
	fill(f.db, "t", 50, 500);
	/* a PASSIVE checkpoint that backfills everything: the next writer
	 * restarts the WAL */
	CHECK(fx_checkpoint(&f, SQLITE_CHECKPOINT_PASSIVE));
	CHECK(walcap_reset_needed(f.w));
	CHECK(fx_same(&f));
	struct walcap_pos before = fx_pos(&f);
	int hooks = f.hook_calls;
	exec(f.db, "BEGIN");
	fill(f.db, "t", 1000, 1000); /* spills: the WAL header is rewritten now */
	exec(f.db, "ROLLBACK");
	CHECK(f.hook_calls == hooks); /* no commit, no hook */
	fx_collect(&f);
	struct walcap_pos p = fx_pos(&f);
	CHECK(p.restarts == before.restarts + 1 && p.following && p.frame == 0);
	CHECK(p.salt1 == before.salt1 + 1 && p.salt2 != before.salt2 && p.ckpt_seq == before.ckpt_seq + 1);
	CHECK(!walcap_reset_needed(f.w));
	CHECK(f.ntxn == 1);
	/* the next commit starts at frame 1 of the restarted WAL */
	exec(f.db, "UPDATE t SET b = x'02' WHERE id = 7");
	CHECK(f.ntxn == 2 && f.last.first_frame == 1 && fx_pos(&f).frame == 1);
	CHECK(fx_pos(&f).restarts == p.restarts);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT count(*) FROM t");
	fx_close(&f);
}

static void checkpoint_truncate_and_restart(void)
{
	struct fx f;
	fx_open(&f, NULL); /* from an empty database file */
	exec(f.db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
	fill(f.db, "t", 100, 300);
	CHECK(f.ntxn == 2 && f.last.first_frame > 1);
	/* TRUNCATE: the WAL file becomes empty */
	CHECK(fx_checkpoint(&f, SQLITE_CHECKPOINT_TRUNCATE));
	CHECK(fx_same(&f));
	CHECK(walcap_reset_needed(f.w) && fx_wal_frames(&f) == 0);
	uint32_t salt1 = fx_pos(&f).salt1;
	fill(f.db, "t", 10, 300);
	struct walcap_pos p = fx_pos(&f);
	CHECK(f.ntxn == 3 && f.last.first_frame == 1 && p.restarts == 1 && p.salt1 == salt1 + 1);
	CHECK(!walcap_reset_needed(f.w));
	fill(f.db, "t", 10, 3000);
	CHECK(f.ntxn == 4 && f.last.first_frame > 1);
	/* RESTART: the file keeps its frames until the next writer restarts it */
	CHECK(fx_checkpoint(&f, SQLITE_CHECKPOINT_RESTART));
	CHECK(fx_same(&f));
	CHECK(walcap_reset_needed(f.w));
	uint32_t old_frames = fx_wal_frames(&f);
	CHECK(old_frames == fx_pos(&f).frame);
	fx_collect(&f); /* same header: nothing happens */
	CHECK(walcap_reset_needed(f.w) && fx_pos(&f).restarts == 1);
	exec(f.db, "UPDATE t SET b = x'03' WHERE id = 1");
	p = fx_pos(&f);
	CHECK(f.ntxn == 5 && f.last.first_frame == 1 && p.restarts == 2 && p.frame == 1);
	CHECK(fx_wal_frames(&f) == old_frames); /* stale frames stay behind */
	CHECK(!walcap_reset_needed(f.w));
	/* several cycles of both, comparing each time */
	for (int i = 0; i < 6; i++) {
		exec(f.db, "BEGIN");
		fill(f.db, "t", 20 + i * 30, 700);
		exec(f.db, "DELETE FROM t WHERE id % 5 = 0");
		exec(f.db, "COMMIT");
		CHECK(fx_checkpoint(&f, i % 2 ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_TRUNCATE));
		CHECK(fx_same(&f));
	}
	CHECK(fx_pos(&f).restarts == 7);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fx_close(&f);
}

static void commit_shrinks_database(void)
{
	struct fx f;
	struct fx_opts o = {.table = true, .auto_vacuum = "FULL"};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=10");
	exec(f.db, "CREATE TABLE u(id INTEGER PRIMARY KEY, b BLOB)");
	fill(f.db, "t", 2000, 1000);
	uint32_t big = f.last.size_after;
	/* grow (spilling new pages) and shrink again in one transaction: the
	 * spilled frames beyond the final size are part of the transaction */
	exec(f.db, "BEGIN");
	fill(f.db, "u", 2000, 1000);
	exec(f.db, "DELETE FROM u");
	exec(f.db, "DELETE FROM t WHERE id > 1000");
	exec(f.db, "COMMIT");
	CHECK(f.last.size_after < big && f.last.beyond > 100 && f.shrinks == 1);
	fx_check_same(&f);
	/* VACUUM rewrites and shrinks too */
	CHECK(one_int(f.db, "PRAGMA auto_vacuum") == 1);
	exec(f.db, "PRAGMA auto_vacuum=NONE");
	exec(f.db, "DELETE FROM t WHERE id % 2 = 0");
	uint32_t before = f.last.size_after;
	exec(f.db, "VACUUM");
	CHECK(f.last.size_after < before && f.shrinks == 2);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fx_close(&f);
}

static void callback_error_redelivers(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	f.hook_collect = false;
	fill(f.db, "t", 3, 10);
	fill(f.db, "t", 30, 1000);
	fill(f.db, "t", 3, 10);
	f.fail_next = 1;
	struct err e;
	CHECK(walcap_collect(f.w, fx_cb, &f, &e) == -7);
	CHECK_STR(e.msg, "injected failure");
	CHECK(f.ntxn == 0 && fx_pos(&f).txns == 0 && fx_pos(&f).frame == 0);
	/* the refused transaction comes again, then the others */
	fx_collect(&f);
	CHECK(f.ntxn == 3 && fx_pos(&f).txns == 3 && fx_pos(&f).frame == f.last.last_frame);
	CHECK(walcap_collect(f.w, NULL, NULL, &e) == -1); /* a callback is required */
	fx_check_same(&f);
	fx_close(&f);
}

struct refuse {
	struct fx *f;
	int seen;
};

/* Delivers to fx_cb but refuses the second transaction it is offered. */
static int refuse_second(void *arg, const struct walcap_txn *t, struct err *e)
{
	struct refuse *r = arg;
	if (++r->seen == 2)
		return -3;
	return fx_cb(r->f, t, e);
}

static void failure_midway_keeps_position(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	f.hook_collect = false;
	fill(f.db, "t", 3, 10);
	fill(f.db, "t", 30, 1000);
	fx_collect(&f);
	CHECK(f.ntxn == 2);
	fill(f.db, "t", 3, 10);   /* A */
	fill(f.db, "t", 30, 900); /* B */
	struct err e;
	struct refuse r = {&f, 0};
	CHECK(walcap_collect(f.w, refuse_second, &r, &e) == -3);
	CHECK(f.ntxn == 3);
	uint32_t after_a = fx_pos(&f).frame;
	CHECK(after_a == f.last.last_frame && fx_pos(&f).txns == 3);
	fx_collect(&f); /* B again */
	CHECK(f.ntxn == 4 && f.last.first_frame == after_a + 1);
	fx_check_same(&f);
	fx_close(&f);
}

static void savepoint_rollback_with_spill(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=10");
	fill(f.db, "t", 100, 800);
	/* frames written after a savepoint are abandoned by ROLLBACK TO and
	 * overwritten by the frames that follow */
	exec(f.db, "BEGIN");
	fill(f.db, "t", 600, 1000);
	exec(f.db, "SAVEPOINT a");
	fill(f.db, "t", 900, 1000);
	exec(f.db, "UPDATE t SET b = randomblob(10) WHERE id <= 100");
	exec(f.db, "ROLLBACK TO a");
	exec(f.db, "RELEASE a");
	fill(f.db, "t", 50, 1000);
	exec(f.db, "SAVEPOINT b");
	exec(f.db, "DELETE FROM t WHERE id % 3 = 0");
	exec(f.db, "ROLLBACK TO b");
	exec(f.db, "COMMIT");
	CHECK(f.ntxn == 2);
	CHECK(one_int(f.db, "SELECT count(*) FROM t") == 750);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fx_close(&f);
}

static void sector_padding_not_delivered(void)
{
	struct fx f;
	struct fx_opts o = {.table = true, .psow0 = true};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA synchronous=FULL");
	for (int i = 0; i < 20; i++)
		execf(f.db, "INSERT INTO t(b) VALUES (randomblob(%d))", 100 + i * 500);
	struct walcap_pos p = fx_pos(&f);
	/* SQLite wrote repeated commit frames; each commit came out once */
	CHECK(p.padding > 5 && f.ntxn == 20 && p.txns == 20 && p.frames == p.frame);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fx_close(&f);
}

static void wrong_page_size(void)
{
	struct fx f;
	struct fx_opts o = {.page_size = 1024};
	fx_open(&f, &o);
	f.hook_collect = false;
	exec(f.db, "CREATE TABLE t(x)");
	CHECK(one_int(f.db, "PRAGMA page_size") == 1024);
	struct err e;
	CHECK(walcap_collect(f.w, fx_cb, &f, &e) == -1);
	CHECK(strstr(e.msg, "page size 1024") != NULL);
	CHECK(f.ntxn == 0);
	fx_close(&f);
}

static void open_delivers_existing_and_skip(void)
{
	struct fx f;
	struct fx_opts o = {.table = true, .no_walcap = true};
	fx_open(&f, &o);
	fill(f.db, "t", 10, 100);
	fill(f.db, "t", 10, 2000);
	/* opened afterwards: delivers what the WAL already holds */
	struct err e;
	CHECK(walcap_open(f.path, &f.w, &e) == 0);
	fx_collect(&f);
	CHECK(f.ntxn == 2 && f.last.first_frame > 1);
	walcap_close(f.w);
	/* walcap_skip starts at the end instead */
	CHECK(walcap_open(f.path, &f.w, &e) == 0);
	CHECK(walcap_skip(f.w, &e) == 0);
	struct walcap_pos p = fx_pos(&f);
	CHECK(p.txns == 2 && p.frame == f.last.last_frame && f.ntxn == 2);
	fill(f.db, "t", 1, 10);
	CHECK(f.ntxn == 3 && f.last.first_frame == p.frame + 1);
	fx_check_same(&f);
	fx_close(&f);
}

static void gap_detected_at_checkpoint(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	f.hook_collect = false;
	fill(f.db, "t", 10, 100);
	fx_collect(&f);
	fill(f.db, "t", 10, 100); /* never collected */
	int nlog, nckpt;
	CHECK(sqlite3_wal_checkpoint_v2(f.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt) == SQLITE_OK);
	struct err e;
	CHECK(walcap_checkpointed(f.w, nlog, nckpt, &e) == -1);
	CHECK(strstr(e.msg, "walcap_collect must run") != NULL);
	CHECK(walcap_checkpointed(f.w, -1, -1, &e) == 0); /* no information */
	fx_collect(&f);
	CHECK(walcap_checkpointed(f.w, nlog, nckpt, &e) == 0);
	fx_close(&f);
}

static void long_lived_reader_grows_wal(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	fill(f.db, "t", 10, 100);
	f.rd = fx_conn(&f);
	exec(f.rd, "BEGIN");
	CHECK(one_int(f.rd, "SELECT count(*) FROM t") == 10);
	for (int i = 0; i < 5; i++) {
		fill(f.db, "t", 10, 1000);
		/* the reader's snapshot blocks backfilling past it */
		CHECK(!fx_checkpoint(&f, SQLITE_CHECKPOINT_RESTART));
		CHECK(!walcap_reset_needed(f.w));
	}
	struct walcap_pos p = fx_pos(&f);
	CHECK(p.restarts == 0 && p.frame == fx_wal_frames(&f) && p.frame > 15);
	exec(f.rd, "COMMIT");
	CHECK(fx_checkpoint(&f, SQLITE_CHECKPOINT_PASSIVE));
	CHECK(walcap_reset_needed(f.w) && fx_same(&f));
	fill(f.db, "t", 1, 10);
	CHECK(fx_pos(&f).restarts == 1 && f.last.first_frame == 1);
	fx_check_same(&f);
	fx_close(&f);
}

static void wal_deleted_and_recreated(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	fill(f.db, "t", 10, 100);
	char wal[150];
	snprintf(wal, sizeof wal, "%s-wal", f.path);
	struct stat st1, st2;
	CHECK(stat(wal, &st1) == 0);
	/* the last connection closes: SQLite checkpoints and deletes the -wal */
	sqlite3_close(f.db);
	f.db = NULL;
	CHECK(stat(wal, &st1) != 0 && errno == ENOENT);
	fx_collect(&f);
	CHECK(!fx_pos(&f).following && fx_pos(&f).restarts == 1);
	uint32_t n;
	struct err e;
	CHECK(walcap_wal_frames(f.w, &n, &e) == 0 && n == 0);
	/* a new connection makes a new -wal (new inode, random salts) */
	f.db = fx_conn(&f);
	fill(f.db, "t", 10, 100);
	CHECK(stat(wal, &st2) == 0);
	CHECK(f.ntxn == 2 && f.last.first_frame == 1 && fx_pos(&f).following);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT count(*) FROM t");
	fx_close(&f);
}

/* ---- POSIX locks ---- */

/* Counts this process's POSIX locks on inode ino listed in /proc/locks. */
static int locks_on(ino_t ino)
{
	FILE *fp = fopen("/proc/locks", "r");
	if (!fp)
		return -1;
	char line[256];
	int n = 0;
	while (fgets(line, sizeof line, fp)) {
		char kind[16];
		int pid;
		unsigned maj, min;
		unsigned long in;
		if (strstr(line, "->"))
			continue; /* a waiter */
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", kind, &pid, &maj, &min, &in) == 5 && pid == getpid() &&
		    in == (unsigned long)ino)
			n++;
	}
	fclose(fp);
	return n;
}

static ino_t inode_of(const char *path)
{
	struct stat st;
	CHECK(stat(path, &st) == 0);
	return st.st_ino;
}

static void no_posix_locks_on_wal(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	fill(f.db, "t", 10, 100);
	char wal[150], shm[150];
	snprintf(wal, sizeof wal, "%s-wal", f.path);
	snprintf(shm, sizeof shm, "%s-shm", f.path);
	ino_t iw = inode_of(wal), is = inode_of(shm), id = inode_of(f.path);
	f.rd = fx_conn(&f);
	exec(f.rd, "BEGIN");
	CHECK(one_int(f.rd, "SELECT count(*) FROM t") == 10); /* a read transaction */
	exec(f.db, "BEGIN IMMEDIATE");                        /* and a write transaction */
	exec(f.db, "INSERT INTO t(b) VALUES (1)");
	int ld = locks_on(id), ls = locks_on(is), lw = locks_on(iw);
	if (ld <= 0 || ls <= 0) {
		/* /proc/locks does not show SQLite's own locks here: nothing to learn */
		fprintf(stderr, "no_posix_locks_on_wal: /proc/locks unusable (db %d, shm %d), not checked\n", ld, ls);
	} else {
		CHECK(lw == 0);
	}
	exec(f.db, "COMMIT");
	exec(f.rd, "COMMIT");
	if (ld > 0)
		CHECK(locks_on(iw) == 0);
	fx_close(&f);
}

/* The child: a TRUNCATE checkpoint without a busy handler. Exit 0 = done,
 * 5 = SQLITE_BUSY (someone holds a read lock), 1 = anything else. */
static int ckpt_child(const char *path)
{
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return 1;
	/* Read first: on a connection that has not read the database yet,
	 * sqlite3_wal_checkpoint_v2 does nothing and reports SQLITE_OK with
	 * nLog = nCkpt = -1 (SQLite 3.40.1). */
	if (one_int(db, "SELECT count(*) FROM sqlite_master") < 0)
		return 1;
	int nlog = -1, nckpt = -1;
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
	sqlite3_close(db);
	if (rc == SQLITE_OK && nlog != 0)
		return 1; /* a real TRUNCATE leaves 0/0 */
	return rc == SQLITE_OK ? 0 : rc == SQLITE_BUSY ? 5 : 1;
}

static int run_child(const char *path)
{
	char *argv[] = {"/proc/self/exe", "--ckpt-child", (char *)path, NULL};
	pid_t pid;
	if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) != 0)
		return -1;
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void other_process_still_sees_locks(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	fill(f.db, "t", 10, 100);
	fill(f.db, "t", 10, 100);
	f.rd = fx_conn(&f);
	exec(f.rd, "BEGIN");
	CHECK(one_int(f.rd, "SELECT count(*) FROM t") == 20); /* holds a WAL read mark */
	/* walcap opens and closes fds on the -wal, and so do we */
	struct err e;
	for (int i = 0; i < 3; i++) {
		struct walcap *w;
		CHECK(walcap_open(f.path, &w, &e) == 0);
		CHECK(walcap_skip(w, &e) == 0);
		walcap_close(w);
	}
	char wal[150], shm[150];
	snprintf(wal, sizeof wal, "%s-wal", f.path);
	snprintf(shm, sizeof shm, "%s-shm", f.path);
	int fd = open(wal, O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	/* another process cannot truncate the WAL under our reader */
	CHECK(run_child(f.path) == 5);
	/* Control: opening and closing the -shm ourselves drops the locks, and
	 * the other process then succeeds (the pitfall of DESIGN.md §2.5a). */
	fd = open(shm, O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	CHECK(run_child(f.path) == 0);
	exec(f.rd, "COMMIT");
	sqlite3_close(f.rd);
	f.rd = NULL;
	/* the child's checkpoint happened behind walcap's back: do not compare */
	walcap_close(f.w);
	f.w = NULL;
	fx_close(&f);
}

/* ---- the random workload ---- */

static void random_workload(void)
{
	struct fx f;
	struct fx_opts o = {.auto_vacuum = "INCREMENTAL"};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=20");
	exec(f.db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
	exec(f.db, "CREATE TABLE u(id INTEGER PRIMARY KEY, k TEXT, b BLOB)");
	exec(f.db, "CREATE INDEX u_k ON u(k)");
	f.db2 = fx_conn(&f);
	exec(f.db2, "PRAGMA cache_size=15");
	int compares = 0, rollbacks = 0, spills = 0, restarts_seen = 0;
	const char *env = getenv("SQLWIRE_SEED");
	if (env)
		rng_state = strtoull(env, NULL, 0) | 1;
	for (int step = 0; step < 400; step++) {
		sqlite3 *db = (rnd() & 3) ? f.db : f.db2;
		uint32_t op = rnd() % 16;
		switch (op) {
		case 0:
		case 1:
		case 2:
			execf(db, "INSERT INTO t(b) VALUES (randomblob(%u))", 10 + rnd() % 3000);
			break;
		case 3:
			execf(db, "INSERT INTO u(k, b) VALUES (hex(randomblob(%u)), randomblob(%u))", 1 + rnd() % 40,
			      rnd() % 9000);
			break;
		case 4:
			execf(db, "UPDATE t SET b = randomblob(%u) WHERE id %% %u = %u", rnd() % 2000, 2 + rnd() % 20,
			      rnd() % 2);
			break;
		case 5:
			execf(db, "DELETE FROM t WHERE id %% %u = 0", 3 + rnd() % 10);
			break;
		case 6: { /* a big transaction that spills, committed or rolled back */
			bool commit = rnd() & 1;
			exec(db, "BEGIN");
			fill(db, (rnd() & 1) ? "t" : "u", 200 + (int)(rnd() % 1500), 1000);
			if (rnd() & 1) {
				/* mid-transaction collect: nothing may come out */
				int n = f.ntxn;
				fx_collect(&f);
				CHECK(f.ntxn == n);
			}
			exec(db, commit ? "COMMIT" : "ROLLBACK");
			spills++;
			rollbacks += !commit;
			break;
		}
		case 7: /* the page-twice recipe */
			exec(db, "BEGIN");
			exec(db, "UPDATE t SET b = randomblob(900) WHERE id = (SELECT max(id) FROM t)");
			exec(db, "UPDATE t SET b = randomblob(900) WHERE id % 4 = 1");
			exec(db, "UPDATE t SET b = randomblob(900) WHERE id = (SELECT max(id) FROM t)");
			exec(db, "COMMIT");
			break;
		case 8:
			execf(db, "PRAGMA incremental_vacuum(%u)", rnd() % 200);
			break;
		case 9:
			exec(db, "DELETE FROM u WHERE rowid IN (SELECT rowid FROM u ORDER BY random() LIMIT 30)");
			break;
		case 10:
		case 11: { /* a checkpoint of any mode */
			static const int modes[] = {SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_FULL,
						    SQLITE_CHECKPOINT_RESTART, SQLITE_CHECKPOINT_TRUNCATE};
			if (fx_checkpoint(&f, modes[rnd() % 4])) {
				CHECK(fx_same(&f));
				compares++;
			}
			break;
		}
		case 12: /* a long-lived reader comes or goes */
			if (f.rd) {
				exec(f.rd, "COMMIT");
				sqlite3_close(f.rd);
				f.rd = NULL;
			} else {
				f.rd = fx_conn(&f);
				exec(f.rd, "BEGIN");
				CHECK(one_int(f.rd, "SELECT count(*) FROM t") >= 0);
			}
			break;
		case 13: /* several statements, one transaction, maybe rolled back */
			exec(db, "BEGIN");
			execf(db, "INSERT INTO t(b) VALUES (randomblob(%u))", rnd() % 5000);
			execf(db, "UPDATE u SET b = randomblob(%u) WHERE id %% 7 = 3", rnd() % 500);
			exec(db, (rnd() % 4) ? "COMMIT" : "ROLLBACK");
			break;
		case 14:
			if (rnd() % 8 == 0) {
				exec(db, "DELETE FROM t WHERE id % 3 = 0");
				exec(db, "VACUUM");
			}
			break;
		default: /* a statement that fails: nothing written */
			CHECK(exec_rc(db, "INSERT INTO nosuch VALUES (1)") == SQLITE_ERROR);
			break;
		}
		restarts_seen = (int)fx_pos(&f).restarts;
	}
	if (f.rd) {
		exec(f.rd, "COMMIT");
		sqlite3_close(f.rd);
		f.rd = NULL;
	}
	fx_check_same(&f);
	compares++;
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fx_check_copy(&f, "SELECT sum(length(b)) + count(*) FROM u");
	fprintf(stderr,
		"random_workload: %d txns, %d compares, %d spills (%d rolled back), %d restarts, "
		"%llu superseded, %llu beyond, %d shrinks\n",
		f.ntxn, compares, spills, rollbacks, restarts_seen, (unsigned long long)f.superseded,
		(unsigned long long)f.beyond, f.shrinks);
	CHECK(f.ntxn > 150 && compares > 10 && restarts_seen > 5 && rollbacks > 0);
	CHECK(f.superseded > 0 && f.shrinks > 0);
	CHECK((int)fx_pos(&f).txns == f.ntxn);
	fx_close(&f);
}

/* The same workload (spills, rollbacks, restarts of every kind, readers,
 * VACUUM) with every collect told where the WAL ends by the wal-index. */
static void random_workload_hint(void)
{
	use_hint = true;
	hint_used = hint_missing = 0;
	rng_state = 0x9e3779b97f4a7c15ull;
	random_workload();
	use_hint = false;
	fprintf(stderr, "random_workload_hint: %d collects with a hint, %d without\n", hint_used, hint_missing);
	CHECK(hint_used > 150 && hint_missing == 0);
}

/* A hint that disagrees with the file (an mx_frame past the end, other
 * salts, an mx_frame below the position) changes nothing: walcap trusts
 * the file. A hint equal to the position reads nothing. */
static void hint_disagrees(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	f.hook_collect = false;
	exec(f.db, "INSERT INTO t(b) VALUES (randomblob(100))");
	exec(f.db, "INSERT INTO t(b) VALUES (randomblob(5000))");
	uint32_t mx;
	unsigned char salts[8], other[8];
	CHECK(wal_hint(f.db, &mx, salts));
	CHECK(mx >= 2);
	struct err e;
	/* past the end of the file: the two transactions, then the fallback */
	CHECK(walcap_collect_upto(f.w, mx + 50, salts, fx_cb, &f, &e) == 0);
	CHECK(f.ntxn == 2 && fx_pos(&f).frame == mx);
	/* equal to the position: nothing */
	CHECK(walcap_collect_upto(f.w, mx, salts, fx_cb, &f, &e) == 0 && f.ntxn == 2);
	exec(f.db, "INSERT INTO t(b) VALUES (randomblob(10))");
	CHECK(wal_hint(f.db, &mx, salts));
	/* other salts: the full path still finds the new transaction */
	memcpy(other, salts, 8);
	other[3] ^= 1;
	CHECK(walcap_collect_upto(f.w, mx, other, fx_cb, &f, &e) == 0 && f.ntxn == 3);
	CHECK(fx_pos(&f).frame == mx);
	exec(f.db, "INSERT INTO t(b) VALUES (randomblob(10))");
	/* below the position (stale): the full path */
	CHECK(walcap_collect_upto(f.w, 1, salts, fx_cb, &f, &e) == 0 && f.ntxn == 4);
	CHECK(walcap_collect_upto(f.w, 0, salts, NULL, NULL, &e) == -1); /* a callback is required */
	fx_check_same(&f);
	fx_close(&f);
}

/* sqld's wiring: a connection through the "sqlwire" VFS; the watcher runs
 * before each release of the write lock with vfs.c's reading of the
 * wal-index header, and collects with it. Every commit arrives with a hint
 * equal to SQLite's mxFrame (checked in the WAL hook, after the release). */
struct vw {
	struct fx *f;
	int calls, hints, bad;
	uint32_t last_mx;
};

static void vw_watch(void *arg, const struct vfs_wal_hint *h)
{
	struct vw *v = arg;
	struct err e;
	v->calls++;
	int rc;
	if (h) {
		v->hints++;
		v->last_mx = h->mx_frame;
		rc = walcap_collect_upto(v->f->w, h->mx_frame, h->salts, fx_cb, v->f, &e);
	} else {
		rc = walcap_collect(v->f->w, fx_cb, v->f, &e);
	}
	if (rc != 0) {
		fprintf(stderr, "watcher collect: %s\n", e.msg);
		v->bad++;
	}
}

static int vw_hook(void *arg, sqlite3 *db, const char *name, int nframe)
{
	(void)db, (void)name;
	struct vw *v = arg;
	struct walcap_pos pos;
	walcap_pos(v->f->w, &pos);
	if (pos.frame != (uint32_t)nframe || v->last_mx != (uint32_t)nframe) {
		fprintf(stderr, "hook: mxFrame %d, hint %u, walcap at %u\n", nframe, v->last_mx, pos.frame);
		v->bad++;
	}
	return SQLITE_OK;
}

static void vfs_watcher_hint(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	f.hook_collect = false;
	struct err e;
	CHECK(vfs_register(&e) == 0);
	struct vw v = {.f = &f};
	CHECK(vfs_watch(f.path, vw_watch, &v, &e) == 0);
	sqlite3 *db;
	CHECK(sqlite3_open_v2(f.path, &db, SQLITE_OPEN_READWRITE, VFS_NAME) == SQLITE_OK);
	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_wal_hook(db, vw_hook, &v);
	exec(db, "PRAGMA cache_size=10");
	for (int i = 0; i < 60; i++) {
		if (i % 10 == 9) {
			exec(db, "BEGIN"); /* spills, then rolls back */
			fill(db, "t", 300, 1000);
			exec(db, "ROLLBACK");
		} else if (i % 10 == 5) {
			CHECK(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL) == SQLITE_OK);
		} else {
			execf(db, "INSERT INTO t(b) VALUES (randomblob(%d))", 100 + i * 97);
		}
	}
	CHECK(v.bad == 0 && v.calls >= 60 && v.hints == v.calls);
	CHECK(fx_pos(&f).restarts > 0);
	vfs_unwatch(f.path);
	sqlite3_close(db);
	fx_check_same(&f);
	fx_close(&f);
}

/* ---- threads: the deployment pattern ---- */

/* Writers and the checkpointer serialise on one mutex (a write transaction
 * and the collect its WAL hook runs are one critical section); readers run
 * freely at the same time. */
struct thr {
	struct fx *f;
	pthread_mutex_t *mu;
	sqlite3 *db;
	uint64_t seed;
	atomic_int *stop;
	int ops, busy;
};

static uint32_t thr_rnd(struct thr *t)
{
	t->seed ^= t->seed << 13;
	t->seed ^= t->seed >> 7;
	t->seed ^= t->seed << 17;
	return (uint32_t)(t->seed >> 11);
}

static void *writer_main(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < 120; i++) {
		pthread_mutex_lock(t->mu);
		switch (thr_rnd(t) % 5) {
		case 0:
		case 1:
			execf(t->db, "INSERT INTO t(b) VALUES (randomblob(%u))", thr_rnd(t) % 6000);
			break;
		case 2:
			execf(t->db, "UPDATE t SET b = randomblob(%u) WHERE id %% 9 = %u", thr_rnd(t) % 900,
			      thr_rnd(t) % 9);
			break;
		default: { /* a spill, committed or not */
			bool commit = thr_rnd(t) & 1;
			exec(t->db, "BEGIN");
			fill(t->db, "t", 100 + (int)(thr_rnd(t) % 400), 1000);
			exec(t->db, "DELETE FROM t WHERE id % 4 = 0");
			exec(t->db, commit ? "COMMIT" : "ROLLBACK");
			break;
		}
		}
		t->ops++;
		pthread_mutex_unlock(t->mu);
	}
	return NULL;
}

static void *reader_main(void *arg)
{
	struct thr *t = arg;
	while (!atomic_load(t->stop)) {
		exec(t->db, "BEGIN");
		CHECK(one_int(t->db, "SELECT count(*) + 0 * sum(length(b)) FROM t") >= 0);
		usleep(thr_rnd(t) % 3000);
		exec(t->db, "COMMIT");
		t->ops++;
		usleep(thr_rnd(t) % 3000);
	}
	return NULL;
}

static void *checkpointer_main(void *arg)
{
	struct thr *t = arg;
	static const int modes[] = {SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_RESTART,
				    SQLITE_CHECKPOINT_TRUNCATE};
	while (!atomic_load(t->stop)) {
		usleep(2000 + thr_rnd(t) % 5000);
		pthread_mutex_lock(t->mu);
		if (fx_checkpoint(t->f, modes[thr_rnd(t) % 3]))
			t->ops++;
		else
			t->busy++;
		pthread_mutex_unlock(t->mu);
	}
	return NULL;
}

static void threads_writers_readers_checkpointer(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	atomic_int stop = 0;
	struct thr w[2], r[2], c;
	for (int i = 0; i < 2; i++) {
		w[i] = (struct thr){.f = &f, .mu = &mu, .db = fx_conn(&f), .seed = 11 + (uint64_t)i, .stop = &stop};
		exec(w[i].db, "PRAGMA cache_size=20");
		r[i] = (struct thr){.f = &f, .mu = &mu, .db = fx_conn(&f), .seed = 21 + (uint64_t)i, .stop = &stop};
		sqlite3_busy_timeout(r[i].db, 5000);
	}
	c = (struct thr){.f = &f, .mu = &mu, .seed = 31, .stop = &stop};
	sqlite3_busy_timeout(f.db, 30); /* RESTART/TRUNCATE wait a little for readers */
	pthread_t tw[2], tr[2], tc;
	for (int i = 0; i < 2; i++) {
		CHECK(pthread_create(&tw[i], NULL, writer_main, &w[i]) == 0);
		CHECK(pthread_create(&tr[i], NULL, reader_main, &r[i]) == 0);
	}
	CHECK(pthread_create(&tc, NULL, checkpointer_main, &c) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(tr[i], NULL);
	pthread_join(tc, NULL);
	for (int i = 0; i < 2; i++) {
		sqlite3_close(w[i].db);
		sqlite3_close(r[i].db);
	}
	CHECK(w[0].ops == 120 && w[1].ops == 120 && r[0].ops > 0 && c.ops + c.busy > 0);
	CHECK(fx_pos(&f).restarts > 0);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT sum(length(b)) FROM t");
	fprintf(stderr, "threads: %d txns, %d reads, %d full checkpoints, %d partial/busy, %llu restarts\n", f.ntxn,
		r[0].ops + r[1].ops, c.ops, c.busy, (unsigned long long)fx_pos(&f).restarts);
	fx_close(&f);
}

/* ---- hand-built WALs ---- */

static char sdir[64], swal[128];

static void page_fill(uint8_t *p, uint32_t page_no, uint32_t version)
{
	for (uint32_t i = 0; i < WALCAP_PAGE_SIZE; i += 8) {
		walfmt_put32(p + i, page_no);
		walfmt_put32(p + i + 4, version);
	}
}

/* Writes frame `index` (1-based) of the WAL whose chain is c. */
static void put_frame(int fd, struct walfmt_chain *c, uint32_t page_no, uint32_t version, uint32_t db_size)
{
	uint8_t fr[WALFMT_FRAME_HDR_SIZE + WALCAP_PAGE_SIZE];
	page_fill(fr + WALFMT_FRAME_HDR_SIZE, page_no, version);
	uint32_t index = c->nframes + 1;
	walfmt_chain_seal(c, page_no, db_size, fr + WALFMT_FRAME_HDR_SIZE, fr);
	CHECK(pwrite(fd, fr, sizeof fr, (off_t)walfmt_frame_offset(WALCAP_PAGE_SIZE, index)) == (ssize_t)sizeof fr);
}

static void put_header(int fd, struct walfmt_chain *c, uint32_t magic, uint32_t salt1, uint32_t salt2,
		       uint32_t page_size, uint32_t version)
{
	struct walfmt_hdr h = {.magic = magic, .version = version, .page_size = page_size, .ckpt_seq = salt1,
			       .salt1 = salt1, .salt2 = salt2};
	uint8_t b[WALFMT_HDR_SIZE];
	walfmt_hdr_encode(&h, b);
	CHECK(pwrite(fd, b, sizeof b, 0) == (ssize_t)sizeof b);
	walfmt_chain_init(c, &h);
}

struct rec {
	int n;
	struct walcap_txn t[8];
	uint32_t pages[8][8], versions[8][8];
};

static int rec_cb(void *arg, const struct walcap_txn *t, struct err *e)
{
	struct rec *r = arg;
	if (r->n < 8) {
		r->t[r->n] = *t;
		for (uint32_t i = 0; i < t->npages && i < 8; i++) {
			r->pages[r->n][i] = t->pages[i].page_no;
			/* the content says which page and version it is */
			CHECK(walfmt_get32(t->pages[i].data) == t->pages[i].page_no);
			CHECK(walfmt_get32(t->pages[i].data + 4088) == t->pages[i].page_no);
			r->versions[r->n][i] = walfmt_get32(t->pages[i].data + 4);
		}
	}
	r->n++;
	return 0;
}

static void synthetic_wal(void)
{
	snprintf(sdir, sizeof sdir, "/tmp/sqlwire-test-walcap-XXXXXX");
	CHECK(mkdtemp(sdir) != NULL);
	char db[100];
	snprintf(db, sizeof db, "%s/db", sdir);
	snprintf(swal, sizeof swal, "%s-wal", db);
	struct walcap *w;
	struct err e;
	struct rec r = {0};
	CHECK(walcap_open(db, &w, &e) == 0); /* no -wal yet */
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 0);
	int fd = open(swal, O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	struct walfmt_chain c;
	put_header(fd, &c, WALFMT_MAGIC, 100, 200, 4096, WALFMT_VERSION);
	put_frame(fd, &c, 1, 1, 0);
	put_frame(fd, &c, 2, 1, 0);
	put_frame(fd, &c, 1, 2, 2); /* commit: page 1 twice, the later wins */
	put_frame(fd, &c, 3, 1, 3); /* commit */
	put_frame(fd, &c, 4, 1, 0); /* uncommitted tail */
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0);
	CHECK(r.n == 2);
	CHECK(r.t[0].npages == 2 && r.pages[0][0] == 1 && r.versions[0][0] == 2 && r.pages[0][1] == 2);
	CHECK(r.t[0].superseded == 1 && r.t[0].size_after == 2 && r.t[0].first_frame == 1 && r.t[0].last_frame == 3);
	CHECK(r.t[1].npages == 1 && r.pages[1][0] == 3 && r.t[1].first_frame == 4 && r.t[1].last_frame == 4);
	struct walcap_pos p;
	walcap_pos(w, &p);
	CHECK(p.frame == 4 && p.txns == 2 && p.frames == 4 && p.size_after == 3 && p.salt1 == 100 && p.salt2 == 200);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 2);
	/* the tail gets its commit: pages in page order, not frame order */
	put_frame(fd, &c, 9, 1, 0);
	put_frame(fd, &c, 5, 1, 9);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 3);
	CHECK(r.t[2].npages == 3 && r.pages[2][0] == 4 && r.pages[2][1] == 5 && r.pages[2][2] == 9);
	CHECK(r.t[2].first_frame == 5 && r.t[2].last_frame == 7 && r.t[2].size_after == 9);
	/* a frame that does not chain hides everything after it */
	struct walfmt_chain saved = c;
	put_frame(fd, &c, 6, 1, 0);
	uint8_t bad = 0xee;
	CHECK(pwrite(fd, &bad, 1, (off_t)walfmt_frame_offset(4096, 8) + 24 + 10) == 1);
	put_frame(fd, &c, 7, 1, 9);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 3);
	/* rewritten in place (as SQLite does with a rolled-back spill) */
	c = saved;
	put_frame(fd, &c, 6, 2, 0);
	put_frame(fd, &c, 7, 2, 12); /* grows the database to 12 */
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 4);
	CHECK(r.t[3].npages == 2 && r.versions[3][0] == 2 && r.t[3].size_after == 12);
	/* the database shrinks: pages beyond the new size are dropped, except
	 * a commit frame's own */
	put_frame(fd, &c, 11, 1, 0);
	put_frame(fd, &c, 2, 3, 0);
	put_frame(fd, &c, 1, 3, 5);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 5);
	CHECK(r.t[4].npages == 2 && r.pages[4][0] == 1 && r.pages[4][1] == 2 && r.t[4].beyond == 1);
	put_frame(fd, &c, 8, 1, 4);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 6);
	CHECK(r.t[5].npages == 1 && r.pages[5][0] == 8 && r.t[5].beyond == 0);
	/* a commit frame repeated as is (sector padding) is consumed silently;
	 * one with other content is a transaction */
	put_frame(fd, &c, 8, 1, 4);
	put_frame(fd, &c, 8, 1, 4);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 6);
	put_frame(fd, &c, 8, 2, 4);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 7);
	CHECK(r.t[6].npages == 1 && r.versions[6][0] == 2 && r.t[6].first_frame == 16);
	walcap_pos(w, &p);
	CHECK(p.frame == 16 && p.restarts == 0 && p.padding == 2 && p.txns == 7 && p.frames == 16);
	r.n = 6; /* (record over that one below) */
	CHECK(ftruncate(fd, (off_t)walfmt_frame_offset(4096, 14)) == 0); /* 13 frames */
	/* a restart with big-endian checksums: new header, frames from 1;
	 * the old frames after them have the old salts */
	CHECK(walcap_checkpointed(w, 15, 15, &e) == -1); /* not where walcap is */
	CHECK(!walcap_reset_needed(w));
	CHECK(walcap_checkpointed(w, 16, 16, &e) == 0 && walcap_reset_needed(w));
	put_header(fd, &c, WALFMT_MAGIC | 1, 101, 7, 4096, WALFMT_VERSION);
	put_frame(fd, &c, 1, 4, 0);
	put_frame(fd, &c, 3, 4, 4);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 7);
	CHECK(r.t[6].first_frame == 1 && r.t[6].last_frame == 2 && r.pages[6][1] == 3 && r.versions[6][1] == 4);
	walcap_pos(w, &p);
	CHECK(p.restarts == 1 && p.frame == 2 && p.salt1 == 101 && p.salt2 == 7 && !walcap_reset_needed(w));
	uint32_t nf;
	CHECK(walcap_wal_frames(w, &nf, &e) == 0 && nf == 13);
	/* the WAL is emptied (TRUNCATE) */
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 7);
	walcap_pos(w, &p);
	CHECK(p.restarts == 2 && !p.following && p.frame == 0 && p.size_after == 4);
	/* a damaged header is an empty WAL, like for SQLite */
	put_header(fd, &c, WALFMT_MAGIC, 102, 8, 4096, WALFMT_VERSION);
	put_frame(fd, &c, 1, 5, 1);
	CHECK(pwrite(fd, &bad, 1, 20) == 1);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 7);
	walcap_pos(w, &p);
	CHECK(!p.following && p.restarts == 2);
	/* a version SQLite would refuse, another page size: errors */
	put_header(fd, &c, WALFMT_MAGIC, 103, 8, 4096, 3007001);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == -1 && strstr(e.msg, "version") != NULL);
	put_header(fd, &c, WALFMT_MAGIC, 103, 8, 8192, WALFMT_VERSION);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == -1 && strstr(e.msg, "page size 8192") != NULL);
	/* and back to a good one */
	put_header(fd, &c, WALFMT_MAGIC, 104, 9, 4096, WALFMT_VERSION);
	for (uint32_t i = 1; i <= 40; i++) /* more than one read batch */
		put_frame(fd, &c, i, 6, i == 40 ? 40 : 0);
	CHECK(walcap_collect(w, rec_cb, &r, &e) == 0 && r.n == 8);
	CHECK(r.t[7].npages == 40 && r.t[7].first_frame == 1 && r.t[7].last_frame == 40);
	close(fd);
	walcap_close(w);
	walcap_close(NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", sdir);
	CHECK(system(cmd) == 0);
}

/* A large transaction: the buffer grows (and is released afterwards). */
static void large_transaction(void)
{
	struct fx f;
	struct fx_opts o = {.table = true};
	fx_open(&f, &o);
	exec(f.db, "PRAGMA cache_size=50");
	exec(f.db, "BEGIN");
	fill(f.db, "t", 12000, 1000); /* ~12 MB, ~3000 pages */
	exec(f.db, "COMMIT");
	CHECK(f.ntxn == 1 && f.last.npages > 2900);
	fill(f.db, "t", 1, 10);
	CHECK(f.ntxn == 2);
	fx_check_same(&f);
	fx_check_copy(&f, "SELECT count(*) FROM t");
	fx_close(&f);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--ckpt-child") == 0)
		return ckpt_child(argv[2]);
	T_RUN(single_and_multi_page);
	T_RUN(page_twice_in_one_txn);
	T_RUN(spill_then_commit);
	T_RUN(spill_then_rollback);
	T_RUN(rolled_back_spill_restarts_wal);
	T_RUN(checkpoint_truncate_and_restart);
	T_RUN(commit_shrinks_database);
	T_RUN(callback_error_redelivers);
	T_RUN(failure_midway_keeps_position);
	T_RUN(savepoint_rollback_with_spill);
	T_RUN(sector_padding_not_delivered);
	T_RUN(wrong_page_size);
	T_RUN(open_delivers_existing_and_skip);
	T_RUN(gap_detected_at_checkpoint);
	T_RUN(long_lived_reader_grows_wal);
	T_RUN(wal_deleted_and_recreated);
	T_RUN(no_posix_locks_on_wal);
	T_RUN(other_process_still_sees_locks);
	T_RUN(synthetic_wal);
	T_RUN(large_transaction);
	T_RUN(random_workload);
	T_RUN(random_workload_hint);
	T_RUN(hint_disagrees);
	T_RUN(vfs_watcher_hint);
	T_RUN(threads_writers_readers_checkpointer);
	return T_DONE();
}
