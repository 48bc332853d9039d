/* test_cl_apply: WAL injection (libclient/apply.c) and the position file
 * (libclient/meta.c) against SQLite itself.
 *
 * Frames come from a real primary: transactions run on a WAL-mode SQLite
 * database with auto-checkpoint off, and each commit's frames are read back
 * out of its -wal (validated with proto/walfmt.h). They are applied to a
 * replica, and then:
 *  (a) the replica's wal-index equals, byte for byte, the one SQLite's own
 *      recovery builds from a copy of the same db + -wal (no -shm): header
 *      fields (all but the change counter and its checksum) and every hash
 *      region in use;
 *  (b) after a checkpoint of both, the database files are byte-identical;
 *  (c) a reader keeps its snapshot, and a reader thread checking an
 *      invariant that every transaction keeps never sees it broken;
 *  (d) integrity_check is ok.
 * The -shm files are read only through SQLite's xShmMap (opening them would
 * drop this process's POSIX locks); file copies run in child processes. */
#include "apply.h"
#include "meta.h"
#include "t.h"
#include "walfmt.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

/* ---- capture of committed transactions from the primary's -wal ---- */
struct txn {
	uint32_t n, size_after;
	uint32_t *pgno;
	uint8_t *pages;
};
struct prim {
	sqlite3 *db;
	char path[300], wal[310];
	struct walfmt_chain chain;
	bool init;
	uint32_t pend_n;
	uint32_t *pend_pg;
	uint8_t *pend_pages;
};

static void run(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "sql %s: %s\n", sql, msg ? msg : "?");
	CHECK(rc == SQLITE_OK);
	sqlite3_free(msg);
}

static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void prim_open(struct prim *p, const char *name)
{
	memset(p, 0, sizeof *p);
	snprintf(p->path, sizeof p->path, "%s/%s", dir, name);
	snprintf(p->wal, sizeof p->wal, "%s-wal", p->path);
	CHECK(sqlite3_open(p->path, &p->db) == SQLITE_OK);
	run(p->db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
}

static void prim_close(struct prim *p)
{
	sqlite3_close(p->db);
	free(p->pend_pg);
	free(p->pend_pages);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return *n = 0, NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
	*n = fread(b, 1, (size_t)sz, f);
	fclose(f);
	return b;
}

static void txn_free(struct txn *t)
{
	free(t->pgno);
	free(t->pages);
	t->pgno = NULL;
	t->pages = NULL;
}

/* Runs sql on the primary (one transaction) and returns its frames. The
 * primary's WAL is never checkpointed while capturing, so it only grows. */
static struct txn prim_txn(struct prim *p, const char *sql)
{
	run(p->db, sql);
	size_t n;
	uint8_t *w = slurp(p->wal, &n);
	struct txn t = {0};
	if (!p->init) {
		struct walfmt_hdr h;
		CHECK(w && walfmt_hdr_decode(w, &h, NULL) == 0);
		walfmt_chain_init(&p->chain, &h);
		p->init = true;
	}
	size_t fs = walfmt_frame_size(4096);
	for (;;) {
		uint64_t off = walfmt_frame_offset(4096, p->chain.nframes + 1);
		if (off + fs > n)
			break;
		struct walfmt_frame f;
		if (!walfmt_chain_next(&p->chain, w + off, &f))
			break;
		p->pend_pg = realloc(p->pend_pg, (p->pend_n + 1) * sizeof *p->pend_pg);
		p->pend_pages = realloc(p->pend_pages, (size_t)(p->pend_n + 1) * 4096);
		p->pend_pg[p->pend_n] = f.page_no;
		memcpy(p->pend_pages + (size_t)p->pend_n * 4096, w + off + 24, 4096);
		p->pend_n++;
		if (f.db_size) {
			CHECK(t.n == 0); /* one transaction per call */
			txn_free(&t);
			t.n = p->pend_n;
			t.size_after = f.db_size;
			t.pgno = p->pend_pg;
			t.pages = p->pend_pages;
			p->pend_pg = NULL;
			p->pend_pages = NULL;
			p->pend_n = 0;
		}
	}
	free(w);
	CHECK(t.n > 0);
	return t;
}


static int apply_txn(struct apply *a, const struct txn *t)
{
	struct err e = {{0}};
	int rc = apply_begin(a, NULL, &e);
	for (uint32_t i = 0; rc == 0 && i < t->n; i++)
		rc = apply_frame(a, t->pgno[i], t->pages + (size_t)i * 4096, &e);
	if (rc == 0)
		rc = apply_publish(a, t->size_after, &e);
	if (rc == 0)
		rc = apply_end(a, &e);
	if (rc)
		fprintf(stderr, "apply: %s\n", e.msg);
	return rc;
}

/* ---- reading a -shm through SQLite ---- */
static int shm_read(sqlite3 *db, uint8_t *out, int nregions)
{
	sqlite3_file *fd = NULL;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fd) != SQLITE_OK || !fd)
		return -1;
	for (int i = 0; i < nregions; i++) {
		void volatile *p = NULL;
		if (fd->pMethods->xShmMap(fd, i, 32768, 0, &p) != SQLITE_OK || !p)
			return -1;
		memcpy(out + (size_t)i * 32768, (const void *)p, 32768);
	}
	return 0;
}

static int regions_for(uint32_t mx)
{
	return mx <= 4062 ? 1 : 1 + (int)((mx - 4062 + 4095) / 4096);
}

/* (a): the applier's wal-index against SQLite's recovery of a copy. */
static void check_index(struct apply *a, const char *replica)
{
	sqlite3 *db = apply_db(a);
	CHECK(q1(db, "SELECT count(*) FROM sqlite_master") >= 0); /* a read: the index is mapped and current */
	uint8_t hdr[136];
	CHECK(shm_read(db, hdr, 0) == 0);
	sqlite3_file *fd = NULL;
	sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fd);
	void volatile *p0 = NULL;
	CHECK(fd->pMethods->xShmMap(fd, 0, 32768, 0, &p0) == SQLITE_OK && p0);
	memcpy(hdr, (const void *)p0, 136);
	uint32_t mx;
	memcpy(&mx, hdr + 16, 4);
	int nr = regions_for(mx);
	uint8_t *mine = malloc((size_t)nr * 32768), *theirs = malloc((size_t)nr * 32768);
	CHECK(shm_read(db, mine, nr) == 0);
	char cmd[2400], copy[300];
	snprintf(copy, sizeof copy, "%s/oracle.db", dir);
	snprintf(cmd, sizeof cmd, "rm -f %s %s-wal %s-shm && cp %s %s && cp %s-wal %s-wal", copy, copy, copy, replica,
		 copy, replica, copy);
	CHECK(system(cmd) == 0);
	sqlite3 *o;
	CHECK(sqlite3_open(copy, &o) == SQLITE_OK);
	CHECK(q1(o, "SELECT count(*) FROM sqlite_master") >= 0); /* runs recovery */
	CHECK(shm_read(o, theirs, nr) == 0);
	/* header [0] and [1]: every field but iChange (8..11) and aCksum (40..47) */
	for (int c = 0; c < 2; c++) {
		CHECK(memcmp(mine + c * 48, theirs + c * 48, 8) == 0);
		CHECK(memcmp(mine + c * 48 + 12, theirs + c * 48 + 12, 28) == 0);
	}
	CHECK(memcmp(mine, mine + 48, 48) == 0);
	/* the hash regions */
	CHECK(memcmp(mine + 136, theirs + 136, (size_t)nr * 32768 - 136) == 0);
	sqlite3_close(o);
	free(mine);
	free(theirs);
}

static long long q1_path(const char *path, const char *sql)
{
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -3;
	long long v = q1(db, sql);
	sqlite3_close(db);
	return v;
}

static void check_integrity(const char *path)
{
	sqlite3 *db;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	const char *r = (const char *)sqlite3_column_text(st, 0);
	CHECK_STR(r, "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* (b): checkpoint both, compare the files in a child process. */
static void check_identical(struct apply *a, struct prim *p, const char *replica)
{
	struct err e;
	CHECK(apply_checkpoint(a, true, &e) == 1);
	CHECK(sqlite3_wal_checkpoint_v2(p->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK);
	p->init = false; /* the primary's WAL restarts */
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "cmp -s %s %s", p->path, replica);
	CHECK(system(cmd) == 0);
}

static void test_apply_basic(void)
{
	struct prim p;
	prim_open(&p, "prim1.db");
	char rpath[300];
	snprintf(rpath, sizeof rpath, "%s/rep1.db", dir);
	struct apply *a;
	struct err e;
	CHECK(apply_open(rpath, NULL, &a, &e) == 0);
	const char *sqls[] = {
		"CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB)",
		"INSERT INTO t(v, b) VALUES('one', randomblob(100))",
		"BEGIN; INSERT INTO t(v, b) SELECT 'many', randomblob(2000) FROM generate_series(1, 200); COMMIT",
		"UPDATE t SET v = 'upd' WHERE id % 3 = 0",
		"CREATE INDEX tv ON t(v)",
		"DELETE FROM t WHERE id > 150",
	};
	/* generate_series may be missing from the stock build: use a CTE */
	sqls[2] = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM s WHERE x < 200) "
		  "INSERT INTO t(v, b) SELECT 'many', randomblob(2000) FROM s";
	for (size_t i = 0; i < sizeof sqls / sizeof *sqls; i++) {
		struct txn t = prim_txn(&p, sqls[i]);
		CHECK(apply_txn(a, &t) == 0);
		txn_free(&t);
		check_index(a, rpath);
		check_integrity(rpath);
	}
	sqlite3 *r;
	CHECK(sqlite3_open(rpath, &r) == SQLITE_OK);
	CHECK(q1(r, "SELECT count(*) FROM t") == q1(p.db, "SELECT count(*) FROM t"));
	CHECK(q1(r, "SELECT count(*) FROM t") == 150);
	sqlite3_close(r);
	check_identical(a, &p, rpath);
	/* after the TRUNCATE checkpoint the WAL starts over: new salts */
	for (int i = 0; i < 3; i++) {
		struct txn t = prim_txn(&p, "INSERT INTO t(v, b) VALUES('after', randomblob(5000))");
		CHECK(apply_txn(a, &t) == 0);
		txn_free(&t);
		check_index(a, rpath);
	}
	check_integrity(rpath);
	check_identical(a, &p, rpath);
	apply_close(a);
	prim_close(&p);
}

/* A PASSIVE checkpoint by another connection backfills everything: the next
 * apply restarts the WAL itself (salt1 + 1) instead of appending. */
static void test_apply_restart(void)
{
	struct prim p;
	prim_open(&p, "prim2.db");
	char rpath[300];
	snprintf(rpath, sizeof rpath, "%s/rep2.db", dir);
	struct apply *a;
	struct err e;
	CHECK(apply_open(rpath, NULL, &a, &e) == 0);
	struct txn t = prim_txn(&p, "CREATE TABLE t(x)");
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	t = prim_txn(&p, "INSERT INTO t VALUES(randomblob(3000))");
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	struct apply_state st1, st2;
	CHECK(apply_begin(a, &st1, &e) == 0);
	apply_abort(a);
	CHECK(st1.mx_frame > 0);
	sqlite3 *other;
	CHECK(sqlite3_open(rpath, &other) == SQLITE_OK);
	int nl = -1, nc = -1;
	CHECK(q1(other, "SELECT count(*) FROM t") == 1); /* opens the WAL on this connection */
	CHECK(sqlite3_wal_checkpoint_v2(other, "main", SQLITE_CHECKPOINT_PASSIVE, &nl, &nc) == SQLITE_OK);
	CHECK(nl == (int)st1.mx_frame && nc == nl);
	t = prim_txn(&p, "INSERT INTO t VALUES(randomblob(3000))");
	CHECK(apply_txn(a, &t) == 0);
	CHECK(apply_begin(a, &st2, &e) == 0);
	apply_abort(a);
	if (st2.mx_frame != t.n)
		fprintf(stderr, "restart: mx %u n %u nbackfill before %u/%u\n", st2.mx_frame, t.n, st1.nbackfill, st1.mx_frame);
	CHECK(st2.mx_frame == t.n); /* restarted: only the new transaction */
	CHECK(st2.salt1 == st1.salt1 + 1);
	CHECK(st2.salt2 != st1.salt2);
	txn_free(&t);
	check_index(a, rpath);
	CHECK(q1(other, "SELECT count(*) FROM t") == 2);
	sqlite3_close(other);
	check_integrity(rpath);
	/* an aborted (unpublished) transaction leaves nothing visible, and the
	 * next one overwrites its frames with a clean index */
	t = prim_txn(&p, "INSERT INTO t SELECT randomblob(3000) FROM t");
	CHECK(apply_begin(a, NULL, &e) == 0);
	for (uint32_t i = 0; i < t.n; i++)
		CHECK(apply_frame(a, t.pgno[i], t.pages + (size_t)i * 4096, &e) == 0);
	apply_abort(a);
	sqlite3_open(rpath, &other);
	CHECK(q1(other, "SELECT count(*) FROM t") == 2);
	CHECK(apply_txn(a, &t) == 0);
	CHECK(q1(other, "SELECT count(*) FROM t") == 4);
	sqlite3_close(other);
	txn_free(&t);
	check_index(a, rpath);
	check_identical(a, &p, rpath);
	apply_close(a);
	prim_close(&p);
}

/* More frames than one hash region holds (4062), in one transaction. */
static void test_apply_big(void)
{
	struct prim p;
	prim_open(&p, "prim3.db");
	char rpath[300];
	snprintf(rpath, sizeof rpath, "%s/rep3.db", dir);
	struct apply *a;
	struct err e;
	CHECK(apply_open(rpath, NULL, &a, &e) == 0);
	struct txn t = prim_txn(&p, "CREATE TABLE t(x)");
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	t = prim_txn(&p, "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM s WHERE x < 4300) "
			 "INSERT INTO t SELECT randomblob(3500) FROM s");
	CHECK(t.n > 4100);
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	t = prim_txn(&p, "UPDATE t SET x = randomblob(100) WHERE rowid % 7 = 0");
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	check_index(a, rpath);
	check_integrity(rpath);
	check_identical(a, &p, rpath);
	apply_close(a);
	prim_close(&p);
}

/* (c) readers: a snapshot stays stable; a thread never sees a broken
 * invariant (every transaction inserts the same row into a and b). */
struct rd {
	const char *path;
	volatile int stop;
	int checks, bad;
};

static void *reader(void *arg)
{
	struct rd *r = arg;
	sqlite3 *db;
	if (sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(db, 5000);
	while (!r->stop) {
		long long d = q1(db, "SELECT (SELECT count(*) FROM a) - (SELECT count(*) FROM b) + "
				     "(SELECT coalesce(sum(x), 0) FROM a) - (SELECT coalesce(sum(x), 0) FROM b)");
		if (d != 0 && d != -2) /* -2: tables not created yet */
			r->bad++;
		r->checks++;
	}
	sqlite3_close(db);
	return NULL;
}

static void test_apply_readers(void)
{
	struct prim p;
	prim_open(&p, "prim4.db");
	char rpath[300];
	snprintf(rpath, sizeof rpath, "%s/rep4.db", dir);
	struct apply *a;
	struct err e;
	struct apply_opts o = {.ckpt_frames = 200};
	CHECK(apply_open(rpath, &o, &a, &e) == 0);
	struct txn t = prim_txn(&p, "BEGIN; CREATE TABLE a(x, pad); CREATE TABLE b(x, pad); COMMIT");
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	sqlite3 *snap;
	CHECK(sqlite3_open(rpath, &snap) == SQLITE_OK);
	run(snap, "BEGIN");
	CHECK(q1(snap, "SELECT count(*) FROM a") == 0);
	struct rd r = {.path = rpath};
	pthread_t th;
	pthread_create(&th, NULL, reader, &r);
	for (int i = 1; i <= 150; i++) {
		char sql[300];
		snprintf(sql, sizeof sql,
			 "BEGIN; INSERT INTO a VALUES(%d, randomblob(%d)); INSERT INTO b VALUES(%d, randomblob(%d)); "
			 "COMMIT",
			 i, 500 + (i * 37) % 3000, i, 500 + (i * 53) % 3000);
		t = prim_txn(&p, sql);
		CHECK(apply_txn(a, &t) == 0);
		txn_free(&t);
		if (i % 10 == 0)
			CHECK(apply_checkpoint(a, false, &e) >= 0);
	}
	CHECK(q1(snap, "SELECT count(*) FROM a") == 0); /* still the old snapshot */
	run(snap, "COMMIT");
	CHECK(q1(snap, "SELECT count(*) FROM a") == 150);
	r.stop = 1;
	pthread_join(th, NULL);
	CHECK(r.bad == 0);
	CHECK(r.checks > 0);
	sqlite3_close(snap);
	check_index(a, rpath);
	check_integrity(rpath);
	check_identical(a, &p, rpath);
	apply_close(a);
	prim_close(&p);
}

/* The empty-database page 1 is a valid database. */
static void test_empty_page1(void)
{
	struct prim p;
	prim_open(&p, "prim5.db");
	char rpath[300];
	snprintf(rpath, sizeof rpath, "%s/rep5.db", dir);
	struct apply *a;
	struct err e;
	CHECK(apply_open(rpath, NULL, &a, &e) == 0);
	struct txn t = prim_txn(&p, "BEGIN; CREATE TABLE t(x); INSERT INTO t VALUES(1); COMMIT");
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	sqlite3 *r;
	CHECK(sqlite3_open(rpath, &r) == SQLITE_OK);
	CHECK(q1(r, "SELECT count(*) FROM t") == 1);
	struct apply_state st;
	uint8_t pg[4096];
	CHECK(apply_begin(a, &st, &e) == 0);
	apply_empty_page1(pg, (uint32_t)st.schema_cookie + 1);
	CHECK(apply_frame(a, 1, pg, &e) == 0);
	CHECK(apply_publish(a, 1, &e) == 0);
	CHECK(apply_end(a, &e) == 0);
	CHECK(q1(r, "SELECT count(*) FROM sqlite_master") == 0);
	CHECK(q1(r, "SELECT count(*) FROM t") == -2); /* no such table */
	sqlite3_close(r);
	check_integrity(rpath);
	check_index(a, rpath);
	apply_close(a);
	prim_close(&p);
}

static void test_meta(void)
{
	struct meta_pos p = {0}, q;
	uint8_t f[META_FILE_SIZE];
	uint64_t seq;
	CHECK(meta_decode(f, 0, &q, &seq) == 0 && !q.has_log);
	p.has_log = true;
	CHECK(meta_uuid_parse("0123abcd-4567-89ef-0011-223344556677", p.log_id) == 0);
	char s[37];
	meta_uuid_format(p.log_id, s);
	CHECK_STR(s, "0123abcd-4567-89ef-0011-223344556677");
	CHECK(meta_uuid_parse("0123abcd-4567-89ef-0011-22334455667", p.log_id) < 0);
	CHECK(meta_uuid_parse("0123abcd-4567-89ef-0011-2233445566778", p.log_id) < 0);
	CHECK(meta_uuid_parse("0123abcdx4567-89ef-0011-223344556677", p.log_id) < 0);
	meta_uuid_parse("0123abcd-4567-89ef-0011-223344556677", p.log_id);
	p.has_frame = true;
	p.frame_no = 41;
	meta_encode_slot(f, &p, 7);
	struct meta_pos p2 = p;
	p2.frame_no = 99;
	meta_encode_slot(f + META_SLOT_SIZE, &p2, 8);
	CHECK(meta_decode(f, sizeof f, &q, &seq) == 0 && seq == 8 && q.frame_no == 99);
	f[META_SLOT_SIZE + 45] ^= 1; /* torn newer slot: the older one wins */
	CHECK(meta_decode(f, sizeof f, &q, &seq) == 0 && seq == 7 && q.frame_no == 41);
	f[3] ^= 1;
	CHECK(meta_decode(f, sizeof f, &q, &seq) == META_E_CORRUPT);
	/* pending resolution */
	p.has_pending = true;
	p.pend_frame_no = 50;
	p.pend_salt1 = 5;
	p.pend_salt2 = 6;
	p.pend_wal_frame = 12;
	q = p;
	CHECK(meta_resolve(&q, 5, 6, 11) && !q.has_pending && q.frame_no == 41);
	q = p;
	CHECK(meta_resolve(&q, 5, 6, 12) && !q.has_pending && q.frame_no == 50);
	q = p;
	CHECK(meta_resolve(&q, 6, 7, 100) && q.frame_no == 41);
	/* the file */
	char path[300];
	snprintf(path, sizeof path, "%s/m.db", dir);
	struct meta *m;
	struct err e;
	CHECK(meta_open(path, &m, &e) == 0);
	CHECK(meta_load(m, &q, &e) == 0 && !q.has_log);
	for (int i = 0; i < 5; i++) {
		p.has_pending = false;
		p.frame_no = 100 + (uint64_t)i;
		CHECK(meta_store(m, &p, i == 4, &e) == 0);
	}
	meta_close(m);
	CHECK(meta_open(path, &m, &e) == 0);
	CHECK(meta_load(m, &q, &e) == 0 && q.has_frame && q.frame_no == 104 && !q.has_pending);
	CHECK(memcmp(q.log_id, p.log_id, 16) == 0);
	meta_close(m);
}

/* A crash between the pending record and the final position, in a child
 * process that holds the only connection: the next applier's view (after
 * SQLite's recovery) decides, and meta_resolve must agree with the data. */
static void crash_child(const char *rpath, const struct txn *t, uint64_t commit_no, bool publish)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct apply *a;
		struct meta *m;
		struct meta_pos p;
		struct apply_state st;
		struct err e;
		if (apply_open(rpath, NULL, &a, &e) || meta_open(rpath, &m, &e) || meta_load(m, &p, &e) ||
		    apply_begin(a, &st, &e))
			_exit(1);
		p.has_pending = true;
		p.pend_frame_no = commit_no;
		apply_next_commit(a, t->n, &p.pend_salt1, &p.pend_salt2, &p.pend_wal_frame);
		if (meta_store(m, &p, false, &e))
			_exit(1);
		for (uint32_t i = 0; i < t->n; i++)
			if (apply_frame(a, t->pgno[i], t->pages + (size_t)i * 4096, &e))
				_exit(1);
		if (publish && apply_publish(a, t->size_after, &e))
			_exit(1);
		raise(SIGKILL); /* no COMMIT, no final position */
		_exit(1);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void resolve_now(const char *rpath, struct meta_pos *p)
{
	struct apply *a;
	struct meta *m;
	struct apply_state st;
	struct err e;
	CHECK(apply_open(rpath, NULL, &a, &e) == 0);
	CHECK(meta_open(rpath, &m, &e) == 0);
	CHECK(apply_begin(a, &st, &e) == 0);
	CHECK(meta_load(m, p, &e) == 0);
	CHECK(p->has_pending);
	CHECK(meta_resolve(p, st.salt1, st.salt2, st.mx_frame));
	CHECK(meta_store(m, p, true, &e) == 0);
	apply_abort(a);
	apply_close(a);
	meta_close(m);
}

static void test_crash_pending(void)
{
	struct prim pr;
	prim_open(&pr, "prim6.db");
	char rpath[300];
	snprintf(rpath, sizeof rpath, "%s/rep6.db", dir);
	struct apply *a;
	struct meta *m;
	struct err e;
	CHECK(apply_open(rpath, NULL, &a, &e) == 0);
	CHECK(meta_open(rpath, &m, &e) == 0);
	struct txn t = prim_txn(&pr, "CREATE TABLE t(x)");
	CHECK(apply_txn(a, &t) == 0);
	txn_free(&t);
	struct meta_pos p = {.has_log = true, .has_frame = true, .frame_no = 10};
	CHECK(meta_store(m, &p, true, &e) == 0);
	apply_close(a); /* the child holds the only connection when it dies */
	meta_close(m);
	/* killed after publishing: recovery shows the transaction: applied */
	t = prim_txn(&pr, "INSERT INTO t SELECT randomblob(3000) FROM (SELECT 1 UNION ALL SELECT 2)");
	crash_child(rpath, &t, 20, true);
	txn_free(&t);
	resolve_now(rpath, &p);
	CHECK(p.has_frame && p.frame_no == 20 && !p.has_pending);
	CHECK(q1_path(rpath, "SELECT count(*) FROM t") == 2);
	/* killed with 40 frames written (29 flushed) and none published: not applied */
	t = prim_txn(&pr, "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM s WHERE x < 40) "
			  "INSERT INTO t SELECT randomblob(3500) FROM s");
	CHECK(t.n >= 40);
	crash_child(rpath, &t, 30, false);
	resolve_now(rpath, &p);
	CHECK(p.has_frame && p.frame_no == 20 && !p.has_pending);
	CHECK(q1_path(rpath, "SELECT count(*) FROM t") == 2);
	check_integrity(rpath);
	/* replaying it now lands it */
	CHECK(apply_open(rpath, NULL, &a, &e) == 0);
	CHECK(apply_txn(a, &t) == 0);
	CHECK(q1_path(rpath, "SELECT count(*) FROM t") == 42);
	check_index(a, rpath);
	apply_close(a);
	txn_free(&t);
	check_integrity(rpath);
	prim_close(&pr);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_cl_apply.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	T_RUN(test_meta);
	T_RUN(test_apply_basic);
	T_RUN(test_apply_restart);
	T_RUN(test_apply_big);
	T_RUN(test_apply_readers);
	T_RUN(test_empty_page1);
	T_RUN(test_crash_pending);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return T_DONE();
}
