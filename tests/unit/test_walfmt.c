/* Unit tests for proto/walfmt.c: the checksum against hand-computed values
 * and a naive reference, header encode/decode and rejection, synthetic WALs,
 * a WAL written by real SQLite, and the strongest oracle: WALs re-encoded by
 * walfmt in BOTH byte orders (and then damaged at random) are handed to real
 * SQLite, whose recovery must publish the same mxFrame and the same rows
 * that walfmt_scan predicts. */
#include "t.h"
#include "walfmt.h"
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* The checksum written the slow, obvious way. */
static void ref_checksum(int be, const uint8_t *p, size_t n, uint32_t *s0, uint32_t *s1)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint32_t x0, x1;
		if (be) {
			x0 = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
			x1 = (uint32_t)p[i + 4] << 24 | (uint32_t)p[i + 5] << 16 | (uint32_t)p[i + 6] << 8 | p[i + 7];
		} else {
			x0 = (uint32_t)p[i + 3] << 24 | (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 1] << 8 | p[i];
			x1 = (uint32_t)p[i + 7] << 24 | (uint32_t)p[i + 6] << 16 | (uint32_t)p[i + 5] << 8 | p[i + 4];
		}
		*s0 = *s0 + x0 + *s1;
		*s1 = *s1 + x1 + *s0;
	}
}

static void checksum_known_values(void)
{
	/* words 1,2,3,4: s0 = 0+1+0 = 1, s1 = 0+2+1 = 3; s0 = 1+3+3 = 7, s1 = 3+4+7 = 14 */
	const uint8_t le[16] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0};
	const uint8_t be[16] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
	struct walfmt_cksum c = {0, 0};
	walfmt_checksum(false, le, 8, &c);
	CHECK(c.s0 == 1 && c.s1 == 3);
	walfmt_checksum(false, le + 8, 8, &c); /* continues the running sum */
	CHECK(c.s0 == 7 && c.s1 == 14);
	struct walfmt_cksum d = {0, 0};
	walfmt_checksum(true, be, 16, &d);
	CHECK(d.s0 == 7 && d.s1 == 14);
	struct walfmt_cksum x = {0, 0};
	walfmt_checksum(true, le, 16, &x); /* wrong order gives another sum */
	CHECK(x.s0 != 7);
	/* 32-bit wrap-around, against the reference on random data */
	uint8_t buf[4096];
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rnd() % 4096) & ~(size_t)7;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd();
		for (int bo = 0; bo < 2; bo++) {
			uint32_t r0 = rnd(), r1 = rnd();
			struct walfmt_cksum k = {r0, r1};
			walfmt_checksum(bo, buf, n, &k);
			ref_checksum(bo, buf, n, &r0, &r1);
			CHECK(k.s0 == r0 && k.s1 == r1);
		}
	}
}

static void header_roundtrip_and_rejects(void)
{
	for (int bo = 0; bo < 2; bo++) {
		struct walfmt_hdr h = {.magic = WALFMT_MAGIC | (uint32_t)bo, .version = WALFMT_VERSION,
				       .page_size = 4096, .ckpt_seq = 7, .salt1 = 0xdeadbeef, .salt2 = 0x01020304};
		uint8_t b[32];
		walfmt_hdr_encode(&h, b);
		CHECK(walfmt_get32(b) == (WALFMT_MAGIC | (uint32_t)bo));
		CHECK(walfmt_get32(b + 8) == 4096 && walfmt_get32(b + 16) == 0xdeadbeef);
		struct walfmt_hdr g;
		struct err e;
		CHECK(walfmt_hdr_decode(b, &g, &e) == 0);
		CHECK(g.magic == h.magic && g.page_size == 4096 && g.ckpt_seq == 7 && g.salt1 == 0xdeadbeef &&
		      g.salt2 == 0x01020304 && g.cksum.s0 == h.cksum.s0 && g.cksum.s1 == h.cksum.s1);
		CHECK(walfmt_big_endian(&g) == (bo == 1));
		/* every single-bit flip in the first 24 bytes is caught */
		for (int bit = 0; bit < 24 * 8; bit++) {
			uint8_t c[32];
			memcpy(c, b, 32);
			c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK(walfmt_hdr_decode(c, &g, NULL) == WALFMT_ENOTWAL);
		}
		uint8_t c[32];
		memcpy(c, b, 32);
		c[27] ^= 1; /* stored checksum */
		CHECK(walfmt_hdr_decode(c, &g, &e) == WALFMT_ENOTWAL);
		/* bad page sizes, even with a correct checksum */
		const uint32_t bad[] = {0, 256, 1000, 4095, 131072, 0x80000000u};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			struct walfmt_hdr k = h;
			k.page_size = bad[i];
			walfmt_hdr_encode(&k, c);
			CHECK(walfmt_hdr_decode(c, &g, NULL) == WALFMT_ENOTWAL);
		}
		const uint32_t good[] = {512, 1024, 65536};
		for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
			struct walfmt_hdr k = h;
			k.page_size = good[i];
			walfmt_hdr_encode(&k, c);
			CHECK(walfmt_hdr_decode(c, &g, NULL) == 0 && g.page_size == good[i]);
		}
		/* another version: refused only when the checksum is right */
		struct walfmt_hdr k = h;
		k.version = 3007001;
		walfmt_hdr_encode(&k, c);
		CHECK(walfmt_hdr_decode(c, &g, &e) == WALFMT_EVERSION);
		CHECK(strstr(e.msg, "version") != NULL);
		c[30] ^= 0x40;
		CHECK(walfmt_hdr_decode(c, &g, NULL) == WALFMT_ENOTWAL);
		/* a bad magic */
		k = h;
		k.magic = 0x377f0684;
		walfmt_hdr_encode(&k, c);
		CHECK(walfmt_hdr_decode(c, &g, NULL) == WALFMT_ENOTWAL);
	}
}

/* Builds a WAL of page size 512 from a list of (page_no, db_size) frames. */
static size_t build_wal(uint8_t *out, int be, const uint32_t (*fr)[2], int n, struct walfmt_hdr *hout)
{
	struct walfmt_hdr h = {.magic = WALFMT_MAGIC | (uint32_t)be, .version = WALFMT_VERSION, .page_size = 512,
			       .salt1 = 11, .salt2 = 22};
	walfmt_hdr_encode(&h, out);
	struct walfmt_chain c;
	walfmt_chain_init(&c, &h);
	size_t off = 32;
	for (int i = 0; i < n; i++) {
		uint8_t *f = out + off;
		for (int j = 0; j < 512; j++)
			f[24 + j] = (uint8_t)(i * 31 + j);
		walfmt_chain_seal(&c, fr[i][0], fr[i][1], f + 24, f);
		off += 24 + 512;
	}
	if (hout)
		*hout = h;
	return off;
}

static void scan_synthetic(void)
{
	static uint8_t w[32 + 10 * 536];
	const uint32_t fr[][2] = {{1, 0}, {2, 0}, {1, 2}, {3, 0}, {3, 3}, {4, 0}, {5, 0}};
	for (int be = 0; be < 2; be++) {
		size_t n = build_wal(w, be, fr, 7, NULL);
		struct walfmt_scan s;
		CHECK(walfmt_scan(w, n, &s, NULL) == 0);
		CHECK(s.hdr_ok && s.nvalid == 7 && s.mx_frame == 5 && s.n_page == 3 && s.ncommits == 2);
		/* a partial trailing frame is not read */
		CHECK(walfmt_scan(w, n - 1, &s, NULL) == 0 && s.nvalid == 6 && s.mx_frame == 5);
		CHECK(walfmt_scan(w, 32 + 4 * 536 + 100, &s, NULL) == 0 && s.nvalid == 4 && s.mx_frame == 3 &&
		      s.n_page == 2);
		/* header only, and shorter than a header */
		CHECK(walfmt_scan(w, 32, &s, NULL) == 0 && s.hdr_ok && s.nvalid == 0 && s.mx_frame == 0);
		CHECK(walfmt_scan(w, 31, &s, NULL) == 0 && !s.hdr_ok);
		/* a flipped page byte in frame 4 ends the log at frame 3 */
		w[32 + 3 * 536 + 24 + 100] ^= 1;
		CHECK(walfmt_scan(w, n, &s, NULL) == 0 && s.nvalid == 3 && s.mx_frame == 3);
		w[32 + 3 * 536 + 24 + 100] ^= 1;
		/* a frame with other salts (an earlier generation) ends it too */
		w[32 + 4 * 536 + 11] ^= 1;
		CHECK(walfmt_scan(w, n, &s, NULL) == 0 && s.nvalid == 4 && s.mx_frame == 3);
		w[32 + 4 * 536 + 11] ^= 1;
		/* the checksum chains: frame 5 moved before frame 4 does not verify */
		uint8_t tmp[536];
		memcpy(tmp, w + 32 + 3 * 536, 536);
		memcpy(w + 32 + 3 * 536, w + 32 + 4 * 536, 536);
		memcpy(w + 32 + 4 * 536, tmp, 536);
		CHECK(walfmt_scan(w, n, &s, NULL) == 0 && s.nvalid == 3 && s.mx_frame == 3);
	}
	/* page number 0 is never valid, even with a right checksum */
	const uint32_t z[][2] = {{1, 1}, {0, 1}, {2, 2}};
	size_t n = build_wal(w, 0, z, 3, NULL);
	struct walfmt_scan s;
	CHECK(walfmt_scan(w, n, &s, NULL) == 0 && s.nvalid == 1 && s.mx_frame == 1 && s.n_page == 1);
	/* a version SQLite does not know */
	struct walfmt_hdr h = {.magic = WALFMT_MAGIC, .version = 3007001, .page_size = 512};
	walfmt_hdr_encode(&h, w);
	CHECK(walfmt_scan(w, n, &s, NULL) == WALFMT_EVERSION && !s.hdr_ok);
}

static void chain_next_matches_seal(void)
{
	uint8_t frame[24 + 1024];
	struct walfmt_hdr h = {.magic = WALFMT_MAGIC | 1, .version = WALFMT_VERSION, .page_size = 1024,
			       .salt1 = 5, .salt2 = 6};
	uint8_t hb[32];
	walfmt_hdr_encode(&h, hb);
	struct walfmt_chain wr, rd;
	walfmt_chain_init(&wr, &h);
	walfmt_chain_init(&rd, &h);
	for (int i = 0; i < 50; i++) {
		for (int j = 0; j < 1024; j++)
			frame[24 + j] = (uint8_t)rnd();
		uint32_t pg = 1 + rnd() % 100, sz = (rnd() & 3) ? 0 : 100;
		walfmt_chain_seal(&wr, pg, sz, frame + 24, frame);
		struct walfmt_frame f;
		CHECK(walfmt_chain_next(&rd, frame, &f));
		CHECK(f.page_no == pg && f.db_size == sz && f.salt1 == 5 && f.salt2 == 6);
		CHECK(rd.nframes == wr.nframes && rd.ck.s0 == wr.ck.s0 && rd.ck.s1 == wr.ck.s1);
		CHECK(f.cksum.s0 == rd.ck.s0 && f.cksum.s1 == rd.ck.s1);
	}
	/* a rejected frame leaves the chain where it was */
	struct walfmt_chain before = rd;
	frame[24] ^= 0xff;
	CHECK(!walfmt_chain_next(&rd, frame, NULL));
	CHECK(rd.nframes == before.nframes && rd.ck.s0 == before.ck.s0 && rd.ck.s1 == before.ck.s1);
}

/* ---- real SQLite ---- */

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof dir, "/tmp/sqlwire-test-walfmt-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
}

static void rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
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

static long long one_int(sqlite3 *db, const char *sql, int *rc_out)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			v = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc_out)
		*rc_out = rc;
	return v;
}

static uint8_t *slurp(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	*n = 0;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *p = malloc((size_t)st.st_size + 1);
	CHECK(p != NULL);
	CHECK(pread(fd, p, (size_t)st.st_size, 0) == st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return p;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static int last_hook_frames;
static int hook(void *arg, sqlite3 *db, const char *name, int n)
{
	last_hook_frames = n;
	return SQLITE_OK;
}

/* Makes base (a checkpointed database with table t) and the WAL of 20
 * committed transactions on top of it, each adding one row; closes
 * everything (the connections are closed only after the WAL was copied). */
static void make_base_and_wal(uint8_t **base, size_t *nbase, uint8_t **wal, size_t *nwal)
{
	char path[128], wpath[140];
	snprintf(path, sizeof path, "%s/src", dir);
	snprintf(wpath, sizeof wpath, "%s/src-wal", dir);
	sqlite3 *db;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	exec(db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
	CHECK(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db); /* no connection: copying the file drops no lock */
	*base = slurp(path, nbase);
	CHECK(*base && *nbase == 8192);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_wal_hook(db, hook, NULL);
	for (int i = 0; i < 20; i++) {
		char sql[128];
		snprintf(sql, sizeof sql, "INSERT INTO t(b) VALUES (randomblob(%d))", (i % 5 == 4) ? 20000 : 50 + i);
		exec(db, sql);
	}
	*wal = slurp(wpath, nwal); /* before the close checkpoints and deletes it */
	CHECK(*wal != NULL);
	struct walfmt_scan s;
	CHECK(walfmt_scan(*wal, *nwal, &s, NULL) == 0);
	/* SQLite writes its native order: x86 and arm64 are little-endian */
	CHECK(s.hdr_ok && s.hdr.magic == WALFMT_MAGIC && s.hdr.page_size == 4096);
	CHECK(s.ncommits == 20 && s.nvalid == s.mx_frame && (int)s.mx_frame == last_hook_frames);
	CHECK(*nwal == 32 + (size_t)s.nvalid * 4120);
	sqlite3_close(db);
}

/* Re-encodes wal with byte order be and fresh salts (and ckpt_seq). */
static void reencode(uint8_t *w, size_t n, int be)
{
	struct walfmt_scan s;
	CHECK(walfmt_scan(w, n, &s, NULL) == 0 && s.hdr_ok);
	struct walfmt_hdr h = {.magic = WALFMT_MAGIC | (uint32_t)be, .version = WALFMT_VERSION, .page_size = 4096,
			       .ckpt_seq = rnd() % 5, .salt1 = rnd(), .salt2 = rnd()};
	walfmt_hdr_encode(&h, w);
	struct walfmt_chain c;
	walfmt_chain_init(&c, &h);
	for (uint32_t i = 0; i < s.nvalid; i++) {
		uint8_t *f = w + 32 + (size_t)i * 4120;
		walfmt_chain_seal(&c, walfmt_get32(f), walfmt_get32(f + 4), f + 24, f);
	}
}

/* Hands base + wal to SQLite in a fresh place and reports what its recovery
 * made of them: mxFrame (via a PASSIVE checkpoint's log size) and rows. */
static int sqlite_recover(const uint8_t *base, size_t nbase, const uint8_t *wal, size_t nwal, int *nlog,
			  long long *rows)
{
	char path[128], wpath[140], cmd[300];
	snprintf(path, sizeof path, "%s/r", dir);
	snprintf(wpath, sizeof wpath, "%s/r-wal", dir);
	snprintf(cmd, sizeof cmd, "rm -f %s/r %s/r-wal %s/r-shm", dir, dir, dir);
	CHECK(system(cmd) == 0);
	spit(path, base, nbase);
	spit(wpath, wal, nwal);
	sqlite3 *db;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	int rc;
	*rows = one_int(db, "SELECT count(*) FROM t", &rc);
	*nlog = -1;
	if (rc == SQLITE_OK) {
		int ck = 0;
		CHECK(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, nlog, &ck) == SQLITE_OK);
		CHECK(ck == *nlog);
		CHECK(one_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'",
			      NULL) == 0);
	}
	sqlite3_close(db);
	return rc;
}

static void real_sqlite_agrees(void)
{
	mkdir_tmp();
	uint8_t *base, *wal;
	size_t nbase, nwal;
	make_base_and_wal(&base, &nbase, &wal, &nwal);
	uint8_t *w = malloc(nwal);
	CHECK(w != NULL);
	int checked = 0, partial = 0;
	for (int be = 0; be < 2; be++) {
		for (int iter = 0; iter < 30; iter++) {
			memcpy(w, wal, nwal);
			reencode(w, nwal, be);
			size_t n = nwal;
			int kind = iter == 0 ? -1 : (int)(rnd() % 4);
			if (kind == 0) { /* flip a random byte anywhere */
				w[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
			} else if (kind == 1) { /* cut the file anywhere */
				n = rnd() % n;
			} else if (kind == 2) { /* damage one page's data */
				uint32_t fi = rnd() % (uint32_t)((n - 32) / 4120);
				w[32 + (size_t)fi * 4120 + 24 + rnd() % 4096] ^= 0x10;
			} else if (kind == 3) { /* a frame from an earlier generation */
				uint32_t fi = rnd() % (uint32_t)((n - 32) / 4120);
				w[32 + (size_t)fi * 4120 + 8] ^= 0x01;
			}
			struct walfmt_scan s;
			CHECK(walfmt_scan(w, n, &s, NULL) == 0);
			int nlog;
			long long rows;
			CHECK(sqlite_recover(base, nbase, w, n, &nlog, &rows) == SQLITE_OK);
			/* recovery publishes exactly the prefix walfmt_scan found */
			CHECK(nlog == (int)s.mx_frame);
			CHECK(rows == s.ncommits);
			if (nlog != (int)s.mx_frame || rows != s.ncommits)
				fprintf(stderr, "be=%d iter=%d kind=%d: sqlite mx=%d rows=%lld, walfmt mx=%u commits=%u\n",
					be, iter, kind, nlog, rows, s.mx_frame, s.ncommits);
			if (kind == -1)
				CHECK(rows == 20);
			partial += s.ncommits > 0 && s.ncommits < 20;
			checked++;
		}
	}
	CHECK(checked == 60 && partial > 10);
	/* A valid header of another version: SQLite refuses the database,
	 * walfmt says so. */
	memcpy(w, wal, nwal);
	struct walfmt_hdr h;
	CHECK(walfmt_hdr_decode(w, &h, NULL) == 0);
	h.version = 3007001;
	walfmt_hdr_encode(&h, w);
	struct walfmt_scan s;
	CHECK(walfmt_scan(w, nwal, &s, NULL) == WALFMT_EVERSION);
	int nlog;
	long long rows;
	CHECK(sqlite_recover(base, nbase, w, nwal, &nlog, &rows) == SQLITE_CANTOPEN);
	free(w);
	free(base);
	free(wal);
	rm_tmp();
}

int main(void)
{
	T_RUN(checksum_known_values);
	T_RUN(header_roundtrip_and_rejects);
	T_RUN(scan_synthetic);
	T_RUN(chain_next_matches_seal);
	T_RUN(real_sqlite_agrees);
	return T_DONE();
}
