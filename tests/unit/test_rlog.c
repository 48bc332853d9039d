/* Unit tests for sqld/rlog.c + rlog_snap.c: round trips, commit
 * boundaries, NEED_SNAPSHOT, reopen, torn tails at every byte, reset,
 * compaction and snapshots (checked against a model replica), a reader
 * thread racing the appender and the compaction thread, rlog_wait.
 * Temporary directories go to /dev/shm when it exists (fsync is cheap). */
#include "crc64.h"
#include "frame.h"
#include "log.h"
#include "rlog.h"
#include "t.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static void tmp_make(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/sqlwire-test-rlog-XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
}

static void tmp_remove(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static const char *path(const char *name)
{
	static char p[2][300];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

static bool exists(const char *name)
{
	return access(path(name), F_OK) == 0;
}

static long fsize(const char *name)
{
	struct stat st;
	return stat(path(name), &st) == 0 ? (long)st.st_size : -1;
}

static unsigned char *slurp(const char *name, size_t *n)
{
	FILE *f = fopen(path(name), "rb");
	CHECK(f != NULL);
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(*n ? *n : 1);
	CHECK(fread(b, 1, *n, f) == *n);
	fclose(f);
	return b;
}

static void spit(const char *name, const unsigned char *b, size_t n)
{
	FILE *f = fopen(path(name), "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(b, 1, n, f) == n);
	fclose(f);
}

/* ---- the model: what each frame_no holds (one lineage starting at 0) ---- */

#define MAXF 20000
static struct {
	uint32_t page[MAXF], ver[MAXF], size[MAXF];
	uint64_t n;
} M;

static void page_fill(unsigned char *p, uint32_t page_no, uint32_t ver)
{
	uint64_t x = page_no * 1000003ull + ver * 7919ull + 12345;
	for (int i = 0; i < FRAME_PAGE_SIZE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (int j = 0; j < 8; j++)
			p[i + j] = (unsigned char)((x >> (8 * j)) | 1); /* never zero */
	}
}

/* Appends one transaction (pages pgs, all at version ver) and records it. */
static uint64_t mappend(struct rlog *log, const uint32_t *pgs, size_t n, uint32_t ver, uint32_t size_after)
{
	unsigned char *bufs = malloc(n * FRAME_PAGE_SIZE);
	struct rlog_page *pages = malloc(n * sizeof *pages);
	uint64_t first = rlog_next_frame_no(log);
	for (size_t i = 0; i < n; i++) {
		page_fill(bufs + i * FRAME_PAGE_SIZE, pgs[i], ver);
		pages[i].page_no = pgs[i];
		pages[i].data = bufs + i * FRAME_PAGE_SIZE;
		if (first + i < MAXF) {
			M.page[first + i] = pgs[i];
			M.ver[first + i] = ver;
			M.size[first + i] = i == n - 1 ? size_after : 0;
		}
	}
	uint64_t commit = 0;
	struct err e;
	int rc = rlog_append_txn(log, pages, n, size_after, &commit, &e);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "append: %d %s\n", rc, e.msg);
	CHECK(commit == first + n - 1);
	if (commit + 1 > M.n)
		M.n = commit + 1;
	free(bufs);
	free(pages);
	return commit;
}

static uint64_t mappend1(struct rlog *log, uint32_t pg, uint32_t ver, uint32_t size_after)
{
	return mappend(log, &pg, 1, ver, size_after);
}

/* The frame is what the model says frame `no` is (size_after not checked). */
static bool frame_matches(const unsigned char *f, uint64_t no)
{
	unsigned char page[FRAME_PAGE_SIZE];
	if (no >= MAXF || frame_get_no(f) != no || frame_get_page_no(f) != M.page[no])
		return false;
	page_fill(page, M.page[no], M.ver[no]);
	return memcmp(f + FRAME_OFF_PAGE, page, FRAME_PAGE_SIZE) == 0;
}

/* A log batch: consecutive from `from`, each as modelled with its
 * size_after, and the chain verifies from prev. */
static bool batch_ok(const struct rlog_batch *b, uint64_t from, uint64_t prev)
{
	for (size_t i = 0; i < b->n; i++) {
		const unsigned char *f = rlog_batch_frame(b, i);
		if (!frame_matches(f, from + i) || frame_get_size_after(f) != M.size[from + i] ||
		    frame_verify(f, from + i, prev, NULL) != 0)
			return false;
		prev = frame_get_checksum(f);
	}
	return true;
}

static struct rlog *open_with(const struct rlog_opts *o, struct rlog_open_info *info)
{
	struct rlog *log = NULL;
	struct err e = {{0}};
	int rc = rlog_open(o, &log, info, &e);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "open: %d %s\n", rc, e.msg);
	return log;
}

static struct rlog *open_log(struct rlog_open_info *info)
{
	struct rlog_opts o = {.dir = dir};
	return open_with(&o, info);
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != RLOG_ID_STRLEN || s[14] != '4')
		return false;
	for (int i = 0; i < RLOG_ID_STRLEN; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	return strchr("89ab", s[19]) != NULL;
}

/* ---- basics ---- */

static void fresh_open(void)
{
	tmp_make();
	struct rlog_open_info info;
	struct rlog *log = open_log(&info);
	CHECK(info.created && !info.dirty && !info.unclean && !info.cut && !info.has_commit);
	CHECK(info.next_frame_no == 0 && !info.snapshot_missing);
	struct rlog_stat st;
	rlog_stat(log, &st);
	CHECK(is_uuid(st.log_id));
	CHECK(st.first_frame_no == 0 && st.next_frame_no == 0 && !st.has_commit && !st.has_snapshot);
	CHECK(!rlog_last_commit(log, NULL));
	CHECK(rlog_size_bytes(log) == 128);
	CHECK(exists("rlog.running") && exists("rlog.log"));
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 10, &b, NULL) == 0 && b.n == 0);
	CHECK_STR(b.log_id, st.log_id);
	rlog_batch_free(&b);
	rlog_close(log);
	CHECK(!exists("rlog.running"));
	tmp_remove();
}

static void append_read_roundtrip(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	uint32_t a[] = {1, 2}, b2[] = {3, 1, 4};
	CHECK(mappend(log, a, 2, 1, 2) == 1);
	CHECK(mappend(log, b2, 3, 2, 4) == 4);
	uint64_t lc = 0;
	CHECK(rlog_last_commit(log, &lc) && lc == 4);
	CHECK(rlog_next_frame_no(log) == 5 && rlog_first_frame_no(log) == 0);
	CHECK(rlog_size_bytes(log) == 128 + 5 * FRAME_SIZE);
	CHECK(fsize("rlog.log") == 128 + 5 * FRAME_SIZE);
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 1024, &b, NULL) == 0);
	CHECK(b.n == 5 && batch_ok(&b, 0, 0));
	CHECK(frame_get_size_after(rlog_batch_frame(&b, 1)) == 2);
	CHECK(frame_get_size_after(rlog_batch_frame(&b, 4)) == 4);
	/* from the second transaction: chained on frame 1's checksum */
	uint64_t ck1 = frame_get_checksum(rlog_batch_frame(&b, 1));
	CHECK(rlog_read(log, 2, 1024, &b, NULL) == 0 && b.n == 3 && batch_ok(&b, 2, ck1));
	CHECK(rlog_read(log, 5, 1024, &b, NULL) == 0 && b.n == 0);   /* caught up */
	CHECK(rlog_read(log, 100, 1024, &b, NULL) == 0 && b.n == 0); /* ahead */
	CHECK(rlog_read(log, 0, 0, &b, NULL) == RLOG_EINVAL);
	rlog_batch_free(&b);
	rlog_close(log);
	tmp_remove();
}

static void commit_boundary(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	uint32_t p[] = {1, 2, 3};
	for (uint32_t t = 0; t < 3; t++)
		mappend(log, p, 3, t, 3);
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 1, &b, NULL) == 0 && b.n == 3 && batch_ok(&b, 0, 0));
	CHECK(rlog_read(log, 0, 3, &b, NULL) == 0 && b.n == 3);
	CHECK(rlog_read(log, 0, 4, &b, NULL) == 0 && b.n == 6 && batch_ok(&b, 0, 0));
	CHECK(rlog_read(log, 0, 1000, &b, NULL) == 0 && b.n == 9);
	/* a start mid-transaction still ends on the commit */
	CHECK(rlog_read(log, 1, 1, &b, NULL) == 0 && b.n == 2 && frame_is_commit(rlog_batch_frame(&b, 1)));
	CHECK(rlog_read(log, 3, 2, &b, NULL) == 0 && b.n == 3);
	rlog_batch_free(&b);
	rlog_close(log);
	tmp_remove();
}

static void big_transaction(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	enum { N = 600 }; /* more than one write chunk */
	uint32_t *p = malloc(N * sizeof *p);
	for (uint32_t i = 0; i < N; i++)
		p[i] = i + 1;
	mappend1(log, 1, 0, 1);
	CHECK(mappend(log, p, N, 1, N) == N);
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 1, &b, NULL) == 0 && b.n == 1);
	uint64_t ck0 = frame_get_checksum(rlog_batch_frame(&b, 0));
	CHECK(rlog_read(log, 1, 10, &b, NULL) == 0 && b.n == N && batch_ok(&b, 1, ck0));
	/* 10 frames wanted: past frame 0's commit, on to the next one */
	CHECK(rlog_read(log, 0, 10, &b, NULL) == 0 && b.n == N + 1 && batch_ok(&b, 0, 0));
	rlog_batch_free(&b);
	/* the same reads into slots with room before the batch and before each
	 * frame (preadv, more than one chunk): the frames land in place and the
	 * room is left alone */
	rlog_batch_init(&b);
	b.head = 5;
	b.prefix = 6;
	CHECK(rlog_read(log, 0, 10, &b, NULL) == 0 && b.n == N + 1 && batch_ok(&b, 0, 0));
	CHECK(rlog_batch_bytes(&b) == 5 + (N + 1) * (6 + FRAME_SIZE));
	CHECK(rlog_batch_alloc(&b) >= rlog_batch_bytes(&b) + RLOG_BATCH_SLACK);
	memset(b.data, 0xAB, 5);
	for (size_t i = 0; i < b.n; i++)
		memset(rlog_batch_frame(&b, i) - 6, 0xCD, 6);
	b.data[rlog_batch_bytes(&b) + RLOG_BATCH_SLACK - 1] = 1; /* allocated (ASan would say) */
	CHECK(rlog_read(log, 1, 10, &b, NULL) == 0 && b.n == N && batch_ok(&b, 1, ck0));
	CHECK(b.data[0] == 0xAB && b.data[4] == 0xAB && rlog_batch_frame(&b, N - 1)[-1] == 0xCD);
	rlog_batch_free(&b);
	rlog_close(log);
	struct rlog_open_info info;
	log = open_log(&info);
	CHECK(!info.dirty && info.next_frame_no == N + 1);
	rlog_close(log);
	free(p);
	tmp_remove();
}

/* rlog_span_open says exactly where rlog_read's answer would end, from
 * the commit index (kept by appends, rebuilt by the scan at open, trimmed
 * by compaction, cleared by reset); rlog_span_read reads exact ranges of
 * it. A span pins its file: compactions while it is open do not take its
 * frames (regression: a piecewise BatchLogEntries answer used to be cut
 * short when compaction ran between two pieces); a reset does (ERESET). */
static void span_open_and_read(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	enum { T = 40 };
	uint32_t pg[300];
	for (uint32_t i = 0; i < 300; i++)
		pg[i] = i + 1;
	for (int t = 0; t < T; t++) /* transactions of 1..~290 frames */
		mappend(log, pg, 1 + (size_t)((t * 37) % 290), (uint32_t)t + 1, 300);
	uint64_t end_all = rlog_next_frame_no(log);
	struct rlog_batch b;
	rlog_batch_init(&b);
	struct rlog_span sp;
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t from = 0; from <= end_all; from += 7) {
			for (size_t max = 1; max <= 1200; max = max * 3 + 1) {
				CHECK(rlog_span_open(log, from, max, &sp, NULL) == 0);
				CHECK(rlog_read(log, from, max, &b, NULL) == 0);
				CHECK(sp.end == from + b.n || (from >= end_all && sp.end == from && b.n == 0));
				CHECK_STR(sp.log_id, b.log_id);
				rlog_span_close(&sp);
			}
		}
		/* exact ranges, across transaction boundaries */
		CHECK(rlog_span_open(log, 5, 1u << 20, &sp, NULL) == 0 && sp.end == end_all);
		CHECK(rlog_span_read(&sp, 5, 300, &b, NULL) == 0 && b.n == 300);
		for (size_t i = 0; i < b.n; i++)
			CHECK(frame_matches(rlog_batch_frame(&b, i), 5 + i));
		CHECK(rlog_span_read(&sp, end_all - 3, 3, &b, NULL) == 0 && b.n == 3);
		CHECK(rlog_span_read(&sp, end_all - 3, 4, &b, NULL) == RLOG_EINVAL);
		CHECK(rlog_span_read(&sp, 4, 1, &b, NULL) == RLOG_EINVAL); /* before the span */
		CHECK(rlog_span_read(&sp, 5, 0, &b, NULL) == RLOG_EINVAL);
		rlog_span_close(&sp);
		rlog_span_close(&sp); /* twice is harmless */
		CHECK(rlog_span_read(&sp, 5, 1, &b, NULL) == RLOG_EINVAL);
		rlog_close(log); /* the scan at open rebuilds the index */
		log = open_log(NULL);
	}
	/* a span outlives compactions: its frames stay readable, identical */
	CHECK(rlog_span_open(log, 3, 1u << 20, &sp, NULL) == 0 && sp.end == end_all);
	CHECK(rlog_compact(log, NULL) == 0);
	mappend(log, pg, 10, 99, 300);
	CHECK(rlog_compact(log, NULL) == 0);
	CHECK(rlog_first_frame_no(log) == end_all + 10);
	CHECK(rlog_read(log, 3, 1, &b, NULL) == RLOG_NEED_SNAPSHOT);
	for (uint64_t from = 3; from < end_all; from += 256) {
		size_t n = end_all - from < 256 ? (size_t)(end_all - from) : 256;
		CHECK(rlog_span_read(&sp, from, n, &b, NULL) == 0 && b.n == n);
		for (size_t i = 0; i < b.n; i++)
			CHECK(frame_matches(rlog_batch_frame(&b, i), from + i));
	}
	rlog_span_close(&sp);
	/* below the log start is NEED_SNAPSHOT; the rest still spans */
	uint64_t start = rlog_first_frame_no(log);
	mappend(log, pg, 10, 100, 300);
	CHECK(rlog_span_open(log, 0, 10, &sp, NULL) == RLOG_NEED_SNAPSHOT);
	rlog_span_close(&sp);
	CHECK(rlog_span_open(log, start, 1, &sp, NULL) == 0 && sp.end == start + 10);
	/* reset: a new lineage, an empty index; the open span refuses */
	char old[RLOG_ID_STRLEN + 1];
	memcpy(old, sp.log_id, sizeof old);
	CHECK(rlog_reset(log, 0, NULL) == 0);
	CHECK(rlog_span_read(&sp, start, 1, &b, NULL) == RLOG_ERESET);
	rlog_span_close(&sp);
	mappend(log, pg, 3, 101, 300);
	CHECK(rlog_span_open(log, 0, 1, &sp, NULL) == 0 && sp.end == 3 && strcmp(sp.log_id, old) != 0);
	rlog_span_close(&sp);
	rlog_batch_free(&b);
	rlog_close(log);
	tmp_remove();
}

/* no_sync: small transactions wait in the write-behind buffer; a reader
 * that needs them, compaction and close write them first; a crash loses
 * them, which open cuts as a torn tail (capture rebuilds such a log). */
static void write_behind(void)
{
	tmp_make();
	M.n = 0;
	struct rlog_opts o = {.dir = dir, .no_sync = true};
	struct rlog *log = open_with(&o, NULL);
	uint32_t pg[40];
	for (uint32_t i = 0; i < 40; i++)
		pg[i] = i + 1;
	for (int t = 0; t < 5; t++)
		mappend(log, pg, 3, (uint32_t)t + 1, 40); /* 15 frames */
	CHECK(rlog_next_frame_no(log) == 15);
	CHECK(fsize("rlog.log") == 128); /* all in memory */
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 1, &b, NULL) == 0 && b.n == 3);
	uint64_t ck2 = frame_get_checksum(rlog_batch_frame(&b, 2));
	CHECK(rlog_read(log, 3, 4, &b, NULL) == 0 && b.n == 6 && batch_ok(&b, 3, ck2));
	CHECK(fsize("rlog.log") == 128 + 15 * FRAME_SIZE); /* the read wrote them */
	CHECK(rlog_read(log, 0, 1000, &b, NULL) == 0 && b.n == 15 && batch_ok(&b, 0, 0));
	/* a transaction larger than the buffer goes straight to the file, after
	 * what the buffer holds */
	mappend(log, pg, 2, 9, 40);
	mappend(log, pg, 40, 10, 40);
	CHECK(fsize("rlog.log") == 128 + 57 * FRAME_SIZE);
	/* filling the buffer writes it */
	for (int t = 0; t < 20; t++)
		mappend(log, pg, 2, (uint32_t)t + 20, 40);
	CHECK(fsize("rlog.log") > 128 + 57 * FRAME_SIZE && fsize("rlog.log") < 128 + 97 * FRAME_SIZE);
	struct rlog_span sp;
	CHECK(rlog_span_open(log, 57, 1, &sp, NULL) == 0 && sp.end == 59);
	rlog_span_close(&sp);
	CHECK(rlog_span_open(log, 90, 7, &sp, NULL) == 0);
	CHECK(rlog_span_read(&sp, 90, 7, &b, NULL) == 0 && b.n == 7);
	for (size_t i = 0; i < 7; i++)
		CHECK(frame_matches(rlog_batch_frame(&b, i), 90 + i));
	rlog_span_close(&sp);
	mappend(log, pg, 1, 77, 40); /* frame 97, in memory */
	/* a span over it, read only after a compaction swapped its file: the
	 * compaction wrote the buffer into that file first */
	CHECK(rlog_span_open(log, 97, 1, &sp, NULL) == 0 && sp.end == 98);
	/* compaction takes what is in memory into account */
	CHECK(rlog_compact(log, NULL) == 0);
	CHECK(rlog_span_read(&sp, 97, 1, &b, NULL) == 0 && b.n == 1 && frame_matches(rlog_batch_frame(&b, 0), 97));
	rlog_span_close(&sp);
	CHECK(rlog_first_frame_no(log) == 98 && rlog_next_frame_no(log) == 98);
	mappend(log, pg, 2, 78, 40);
	rlog_batch_free(&b);
	rlog_close(log); /* writes the buffer before it marks the log clean */
	struct rlog_open_info info;
	log = open_with(&o, &info);
	CHECK(!info.dirty && info.next_frame_no == 100);
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 98, 10, &b, NULL) == 0 && b.n == 2);
	CHECK(frame_matches(rlog_batch_frame(&b, 1), 99));
	/* reset drops the old lineage's buffered frames */
	mappend(log, pg, 1, 79, 40);
	CHECK(rlog_reset(log, 0, NULL) == 0);
	CHECK(rlog_read(log, 0, 10, &b, NULL) == 0 && b.n == 0);
	rlog_batch_free(&b);
	rlog_close(log);
	tmp_remove();
}

static void bad_arguments(void)
{
	tmp_make();
	struct rlog *log = open_log(NULL);
	unsigned char page[FRAME_PAGE_SIZE] = {1};
	struct rlog_page pg = {.page_no = 1, .data = page}, zero = {.page_no = 0, .data = page};
	CHECK(rlog_append_txn(log, &pg, 0, 1, NULL, NULL) == RLOG_EINVAL);
	CHECK(rlog_append_txn(log, &pg, 1, 0, NULL, NULL) == RLOG_EINVAL);
	CHECK(rlog_append_txn(log, &zero, 1, 1, NULL, NULL) == RLOG_EINVAL);
	CHECK(rlog_next_frame_no(log) == 0);
	struct rlog *other = NULL;
	struct rlog_opts o = {.dir = dir};
	CHECK(rlog_open(&o, &other, NULL, NULL) == RLOG_EBUSY && other == NULL);
	struct rlog_opts none = {0};
	CHECK(rlog_open(&none, &other, NULL, NULL) == RLOG_EINVAL);
	rlog_close(log);
	rlog_close(NULL);
	tmp_remove();
}

/* ---- reopen, crashes, torn tails ---- */

static void reopen_keeps_positions(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	char id[RLOG_ID_STRLEN + 1], id2[RLOG_ID_STRLEN + 1];
	rlog_log_id(log, id);
	uint32_t p[] = {5, 6};
	mappend(log, p, 2, 1, 6);
	rlog_close(log);
	struct rlog_open_info info;
	log = open_log(&info);
	rlog_log_id(log, id2);
	CHECK_STR(id, id2);
	CHECK(!info.created && !info.dirty && info.has_commit && info.last_commit == 1 && info.next_frame_no == 2);
	mappend(log, p, 2, 2, 6); /* the chain goes on across the reopen */
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 100, &b, NULL) == 0 && b.n == 4 && batch_ok(&b, 0, 0));
	rlog_batch_free(&b);
	rlog_close(log);
	tmp_remove();
}

static void killed_process_is_unclean(void)
{
	tmp_make();
	M.n = 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlog *log = NULL;
		struct rlog_opts o = {.dir = dir};
		if (rlog_open(&o, &log, NULL, NULL) != 0)
			_exit(2);
		unsigned char page[FRAME_PAGE_SIZE];
		page_fill(page, 1, 1);
		struct rlog_page pg = {.page_no = 1, .data = page};
		for (int i = 0; i < 3; i++)
			if (rlog_append_txn(log, &pg, 1, 1, NULL, NULL) != 0)
				_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	struct rlog_open_info info;
	struct rlog *log = open_log(&info);
	CHECK(info.unclean && info.dirty && !info.cut && info.next_frame_no == 3 && info.last_commit == 2);
	rlog_close(log);
	log = open_log(&info); /* closed cleanly this time */
	CHECK(!info.unclean && !info.dirty);
	rlog_close(log);
	tmp_remove();
}

/* Log A = frames 0-1 (commit 1), B = frames 2-4 (commit 4); the file's
 * bytes are returned. */
static unsigned char *build_ab(size_t *n, size_t *end_a)
{
	M.n = 0;
	struct rlog *log = open_log(NULL);
	uint32_t a[] = {1, 2}, b[] = {3, 1, 2};
	mappend(log, a, 2, 1, 2);
	mappend(log, b, 3, 2, 3);
	rlog_close(log);
	*end_a = 128 + 2 * FRAME_SIZE;
	return slurp("rlog.log", n);
}

/* Opens the damaged log and checks that it was cut back to A exactly. */
static bool cut_back_to_a(size_t end_a, size_t damaged_len)
{
	struct rlog_open_info info;
	struct rlog *log = open_log(&info);
	if (!log)
		return false;
	bool ok = info.next_frame_no == 2 && info.last_commit == 1 && info.cut == (damaged_len > end_a) &&
		  info.cut_bytes == damaged_len - end_a && info.dirty == info.cut &&
		  fsize("rlog.log") == (long)end_a;
	struct rlog_batch b;
	rlog_batch_init(&b);
	ok = ok && rlog_read(log, 0, 100, &b, NULL) == 0 && b.n == 2 && batch_ok(&b, 0, 0);
	ok = ok && rlog_read(log, 2, 100, &b, NULL) == 0 && b.n == 0;
	rlog_batch_free(&b);
	rlog_close(log);
	return ok;
}

static void torn_tail_truncated_everywhere(void)
{
	tmp_make();
	size_t n, end_a;
	unsigned char *orig = build_ab(&n, &end_a);
	int bad = 0;
	for (size_t len = end_a; len < n; len++) {
		spit("rlog.log", orig, len);
		if (!cut_back_to_a(end_a, len) && bad++ < 5)
			fprintf(stderr, "truncated to %zu: not cut back to A\n", len);
	}
	CHECK(bad == 0);
	/* the whole file is intact; and after a cut, appends continue the chain */
	spit("rlog.log", orig, n);
	struct rlog_open_info info;
	struct rlog *log = open_log(&info);
	CHECK(info.next_frame_no == 5 && !info.cut);
	rlog_close(log);
	spit("rlog.log", orig, end_a + 3000);
	log = open_log(&info);
	CHECK(info.cut && info.next_frame_no == 2);
	uint32_t p[] = {7, 8};
	mappend(log, p, 2, 9, 8);
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 100, &b, NULL) == 0 && b.n == 4 && batch_ok(&b, 0, 0));
	rlog_batch_free(&b);
	rlog_close(log);
	free(orig);
	tmp_remove();
}

static void torn_tail_zeroed_everywhere(void)
{
	tmp_make();
	size_t n, end_a;
	unsigned char *orig = build_ab(&n, &end_a);
	unsigned char *d = malloc(n);
	int bad = 0;
	for (size_t o = end_a; o < n; o++) { /* sectors after o never reached the disk */
		memcpy(d, orig, n);
		memset(d + o, 0, n - o);
		spit("rlog.log", d, n);
		if (!cut_back_to_a(end_a, n) && bad++ < 5)
			fprintf(stderr, "zeroed from %zu: not cut back to A\n", o);
	}
	CHECK(bad == 0);
	free(d);
	free(orig);
	tmp_remove();
}

static void torn_tail_flipped_everywhere(void)
{
	tmp_make();
	size_t n, end_a;
	unsigned char *orig = build_ab(&n, &end_a);
	unsigned char *d = malloc(n);
	int bad = 0;
	for (size_t o = end_a; o < n; o++) {
		size_t in_frame = (o - 128) % FRAME_SIZE;
		/* page_no and size_after are outside libSQL's checksum (see the
		 * FORMAT block in rlog_int.h): a crash cannot flip bits there */
		if (in_frame >= FRAME_OFF_PAGE_NO && in_frame < FRAME_OFF_PAGE)
			continue;
		memcpy(d, orig, n);
		d[o] ^= 0xFF;
		spit("rlog.log", d, n);
		if (!cut_back_to_a(end_a, n) && bad++ < 5)
			fprintf(stderr, "byte %zu flipped: not cut back to A\n", o);
	}
	CHECK(bad == 0);
	free(d);
	free(orig);
	tmp_remove();
}

static void uncommitted_tail_is_cut(void)
{
	tmp_make();
	size_t n, end_a;
	unsigned char *orig = build_ab(&n, &end_a);
	/* two well-chained frames with no commit after B: a transaction whose
	 * commit frame never made it */
	unsigned char *d = malloc(n + 2 * FRAME_SIZE), page[FRAME_PAGE_SIZE];
	memcpy(d, orig, n);
	uint64_t prev = frame_get_checksum(orig + n - FRAME_SIZE);
	for (int i = 0; i < 2; i++) {
		page_fill(page, 9, 9);
		prev = frame_encode(d + n + (size_t)i * FRAME_SIZE, 5 + (uint64_t)i, prev, 9, 0, page);
	}
	spit("rlog.log", d, n + 2 * FRAME_SIZE);
	struct rlog_open_info info;
	struct rlog *log = open_log(&info);
	CHECK(info.cut && info.cut_bytes == 2 * FRAME_SIZE && info.next_frame_no == 5 && info.last_commit == 4);
	CHECK(fsize("rlog.log") == (long)n);
	rlog_close(log);
	free(d);
	free(orig);
	tmp_remove();
}

static void corrupt_header(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	char id[RLOG_ID_STRLEN + 1], id2[RLOG_ID_STRLEN + 1];
	rlog_log_id(log, id);
	mappend1(log, 1, 1, 1);
	rlog_close(log);
	size_t n;
	unsigned char *d = slurp("rlog.log", &n);
	d[20] ^= 1; /* inside log_id: the header checksum catches it */
	spit("rlog.log", d, n);
	struct rlog *l2 = NULL;
	struct rlog_opts o = {.dir = dir};
	struct err e;
	CHECK(rlog_open(&o, &l2, NULL, &e) == RLOG_ECORRUPT && l2 == NULL);
	spit("rlog.log", d, 50); /* short header */
	CHECK(rlog_open(&o, &l2, NULL, &e) == RLOG_ECORRUPT);
	o.recreate_on_corrupt = true;
	struct rlog_open_info info;
	log = open_with(&o, &info);
	rlog_log_id(log, id2);
	CHECK(info.created && info.next_frame_no == 0 && strcmp(id, id2) != 0);
	rlog_close(log);
	free(d);
	tmp_remove();
}

/* ---- reset ---- */

static void reset_new_lineage(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	char id[RLOG_ID_STRLEN + 1], id2[RLOG_ID_STRLEN + 1], id3[RLOG_ID_STRLEN + 1];
	rlog_log_id(log, id);
	for (uint32_t i = 0; i < 4; i++)
		mappend1(log, i + 1, i, i + 1);
	CHECK(rlog_reset(log, 0, NULL) == 0);
	rlog_log_id(log, id2);
	CHECK(strcmp(id, id2) != 0 && is_uuid(id2));
	CHECK(rlog_next_frame_no(log) == 0 && !rlog_last_commit(log, NULL));
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 10, &b, NULL) == 0 && b.n == 0);
	M.n = 0;
	uint32_t p[] = {1, 2, 3};
	mappend(log, p, 3, 7, 3); /* the rebuild: chained from 0 again */
	CHECK(rlog_read(log, 0, 10, &b, NULL) == 0 && b.n == 3 && batch_ok(&b, 0, 0));
	CHECK_STR(b.log_id, id2);
	rlog_close(log);
	struct rlog_open_info info;
	log = open_log(&info);
	rlog_log_id(log, id3);
	CHECK_STR(id2, id3);
	CHECK(!info.dirty && info.next_frame_no == 3);
	/* a lineage that starts later: older offsets have no snapshot */
	CHECK(rlog_reset(log, 100, NULL) == 0);
	struct rlog_stat st;
	rlog_stat(log, &st);
	CHECK(st.lineage_start == 100 && st.first_frame_no == 100 && st.next_frame_no == 100 && !st.has_commit);
	CHECK(rlog_read(log, 5, 10, &b, NULL) == RLOG_NEED_SNAPSHOT);
	struct rlog_snap *s = NULL;
	CHECK(rlog_snapshot_open(log, 5, &s, NULL) == RLOG_ENOSNAPSHOT && s == NULL);
	unsigned char page[FRAME_PAGE_SIZE];
	page_fill(page, 1, 1);
	struct rlog_page pg = {.page_no = 1, .data = page};
	uint64_t c = 0;
	CHECK(rlog_append_txn(log, &pg, 1, 1, &c, NULL) == 0 && c == 100);
	CHECK(rlog_read(log, 100, 10, &b, NULL) == 0 && b.n == 1 &&
	      frame_verify(rlog_batch_frame(&b, 0), 100, 0, NULL) == 0);
	rlog_batch_free(&b);
	rlog_close(log);
	log = open_log(&info);
	CHECK(info.next_frame_no == 101 && info.last_commit == 100 && !info.snapshot_missing);
	rlog_close(log);
	tmp_remove();
}

/* ---- compaction and snapshots ---- */

#define MAXPG 64
/* state[pg] = the version a replica holds after applying frames [0, upto) */
static void model_state(uint64_t upto, int32_t *state)
{
	for (int i = 0; i < MAXPG; i++)
		state[i] = -1;
	for (uint64_t f = 0; f < upto; f++)
		state[M.page[f]] = (int32_t)M.ver[f];
}

/* Streams the snapshot for next_offset into state; returns the frame_no
 * the replica stands at (the first frame), or UINT64_MAX on a failed check. */
static uint64_t apply_snapshot(struct rlog *log, uint64_t next_offset, int32_t *state, size_t max)
{
	struct rlog_snap *s = NULL;
	struct err e;
	int rc = rlog_snapshot_open(log, next_offset, &s, &e);
	if (rc) {
		fprintf(stderr, "snapshot_open(%llu): %d %s\n", (unsigned long long)next_offset, rc, e.msg);
		return UINT64_MAX;
	}
	struct rlog_batch b;
	rlog_batch_init(&b);
	uint64_t first = UINT64_MAX, last = UINT64_MAX, total = 0;
	bool ok = true, seen[MAXPG] = {0};
	uint32_t commit_size = 0;
	while (ok && (rc = rlog_snapshot_read(s, max, &b, NULL)) == 0 && b.n) {
		for (size_t i = 0; i < b.n; i++) {
			const unsigned char *f = rlog_batch_frame(&b, i);
			uint64_t no = frame_get_no(f);
			uint32_t pg = frame_get_page_no(f);
			ok = ok && no >= next_offset && (last == UINT64_MAX || no < last) && frame_matches(f, no);
			ok = ok && pg < MAXPG && !seen[pg];
			if (!ok)
				break;
			seen[pg] = true;
			if (first == UINT64_MAX)
				first = no;
			last = no;
			total++;
			state[pg] = (int32_t)M.ver[no];
			if (frame_get_size_after(f)) { /* only the very last one */
				ok = ok && commit_size == 0;
				commit_size = frame_get_size_after(f);
			}
		}
		if (ok && commit_size && (rlog_snapshot_read(s, max, &b, NULL) != 0 || b.n != 0))
			ok = false; /* the commit frame must be the last one */
	}
	ok = ok && rc == 0 && total == rlog_snapshot_count(s) && commit_size != 0 && total > 0;
	ok = ok && commit_size == M.size[first]; /* the snapshot end's size_after */
	rlog_batch_free(&b);
	rlog_snapshot_close(s);
	return ok ? first : UINT64_MAX;
}

/* Follows the log from next_offset to its end into state. */
static bool apply_log(struct rlog *log, uint64_t next_offset, int32_t *state)
{
	struct rlog_batch b;
	rlog_batch_init(&b);
	bool ok = true;
	while (ok) {
		int rc = rlog_read(log, next_offset, 3, &b, NULL);
		ok = rc == 0;
		if (!ok || !b.n)
			break;
		for (size_t i = 0; i < b.n; i++) {
			const unsigned char *f = rlog_batch_frame(&b, i);
			ok = ok && frame_matches(f, next_offset + i);
			state[frame_get_page_no(f)] = (int32_t)M.ver[next_offset + i];
		}
		next_offset += b.n;
	}
	rlog_batch_free(&b);
	return ok;
}

/* Transactions touching page 1 and a rotating page, versions = txn index. */
static void append_history(struct rlog *log, uint32_t from, uint32_t count)
{
	for (uint32_t t = from; t < from + count; t++) {
		uint32_t p[3] = {1, 2 + t % 13, 20 + t % 5};
		mappend(log, p, 1 + t % 3, t, 30 + t % 7);
	}
}

/* Every replica position at a commit boundary below `below` catches up to
 * the model's final state through snapshot + log. */
static bool replicas_converge(struct rlog *log, uint64_t below, uint64_t snap_end)
{
	int32_t want[MAXPG], got[MAXPG];
	model_state(M.n, want);
	for (uint64_t k = 0; k < below; k++) {
		if (k > 0 && M.size[k - 1] == 0)
			continue; /* replicas sit on commit boundaries */
		model_state(k, got);
		uint64_t at = apply_snapshot(log, k, got, k % 2 ? 1 : 1000);
		if (at != snap_end || !apply_log(log, at + 1, got) || memcmp(want, got, sizeof want) != 0) {
			fprintf(stderr, "replica from %llu does not converge (at %llu)\n", (unsigned long long)k,
				(unsigned long long)at);
			return false;
		}
	}
	return true;
}

static void compaction_snapshot(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	CHECK(rlog_compact(log, NULL) == 0); /* nothing to do */
	append_history(log, 0, 40);
	uint64_t c1 = rlog_next_frame_no(log);
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 5, &b, NULL) == 0 && b.n >= 5);
	CHECK(rlog_compact(log, NULL) == 0);
	struct rlog_stat st;
	rlog_stat(log, &st);
	CHECK(st.first_frame_no == c1 && st.next_frame_no == c1 && st.has_commit && st.last_commit == c1 - 1);
	CHECK(st.has_snapshot && st.snap_start == 0 && st.snap_end == c1 - 1 && st.compactions == 1);
	int32_t distinct[MAXPG];
	model_state(M.n, distinct);
	uint64_t npages = 0;
	for (int i = 0; i < MAXPG; i++)
		npages += distinct[i] >= 0;
	CHECK(st.snap_frames == npages); /* only the newest version of each page */
	CHECK(st.snap_size_after == M.size[c1 - 1]);
	CHECK(st.log_bytes == 128 && exists("rlog.snap"));
	/* readers from before now need the snapshot */
	CHECK(rlog_read(log, 0, 5, &b, NULL) == RLOG_NEED_SNAPSHOT);
	CHECK(rlog_read(log, c1 - 1, 5, &b, NULL) == RLOG_NEED_SNAPSHOT);
	CHECK(rlog_read(log, c1, 5, &b, NULL) == 0 && b.n == 0);
	CHECK(replicas_converge(log, c1, c1 - 1));
	struct rlog_snap *s = NULL;
	CHECK(rlog_snapshot_open(log, c1, &s, NULL) == RLOG_ENOSNAPSHOT);
	/* the log goes on, chained on the snapshot's end */
	append_history(log, 40, 30);
	uint64_t c2 = rlog_next_frame_no(log);
	CHECK(replicas_converge(log, c1, c1 - 1));
	CHECK(rlog_read(log, c1, 1000, &b, NULL) == 0 && b.n == c2 - c1);
	/* a second compaction merges the old snapshot */
	CHECK(rlog_compact(log, NULL) == 0);
	rlog_stat(log, &st);
	CHECK(st.first_frame_no == c2 && st.snap_start == 0 && st.snap_end == c2 - 1 && st.compactions == 2);
	CHECK(replicas_converge(log, c2, c2 - 1));
	rlog_close(log);
	/* reopen: the snapshot and the positions are kept */
	struct rlog_open_info info;
	log = open_log(&info);
	CHECK(!info.dirty && !info.snapshot_missing && info.next_frame_no == c2 && info.last_commit == c2 - 1);
	append_history(log, 70, 10);
	CHECK(replicas_converge(log, c2, c2 - 1));
	rlog_batch_free(&b);
	rlog_close(log);
	tmp_remove();
}

static void compaction_carries_new_frames(void)
{
	/* frames appended after the compaction point are copied to the new log;
	 * simulated by compacting twice around appends, with a reader holding
	 * the old file open across the swap */
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	append_history(log, 0, 10);
	struct rlog_snap *s0 = NULL;
	CHECK(rlog_snapshot_open(log, 0, &s0, NULL) == RLOG_ENOSNAPSHOT);
	CHECK(rlog_compact(log, NULL) == 0);
	uint64_t c1 = rlog_next_frame_no(log);
	CHECK(rlog_snapshot_open(log, 0, &s0, NULL) == 0); /* held across the next compaction */
	append_history(log, 10, 10);
	CHECK(rlog_compact(log, NULL) == 0);
	int32_t st[MAXPG];
	model_state(0, st);
	struct rlog_batch b;
	rlog_batch_init(&b);
	uint64_t n = 0;
	while (rlog_snapshot_read(s0, 2, &b, NULL) == 0 && b.n)
		n += b.n;
	CHECK(n == rlog_snapshot_count(s0) && n > 0);
	rlog_snapshot_close(s0);
	CHECK(rlog_read(log, c1, 10, &b, NULL) == RLOG_NEED_SNAPSHOT);
	CHECK(replicas_converge(log, rlog_next_frame_no(log), rlog_next_frame_no(log) - 1));
	rlog_batch_free(&b);
	rlog_close(log);
	tmp_remove();
}

static void crash_between_renames(void)
{
	/* new snapshot + old log (a crash after the snapshot's rename): the
	 * overlap is served from the log, the next compaction skips it */
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	append_history(log, 0, 12);
	rlog_close(log);
	size_t n;
	unsigned char *old_log = slurp("rlog.log", &n);
	log = open_log(NULL);
	CHECK(rlog_compact(log, NULL) == 0);
	rlog_close(log);
	spit("rlog.log", old_log, n);
	struct rlog_open_info info;
	log = open_log(&info);
	CHECK(!info.cut && !info.snapshot_missing && rlog_first_frame_no(log) == 0);
	struct rlog_batch b;
	rlog_batch_init(&b);
	CHECK(rlog_read(log, 0, 1000, &b, NULL) == 0 && b.n == M.n && batch_ok(&b, 0, 0));
	append_history(log, 12, 8);
	CHECK(rlog_compact(log, NULL) == 0);
	CHECK(replicas_converge(log, M.n, M.n - 1));
	rlog_batch_free(&b);
	rlog_close(log);
	free(old_log);
	tmp_remove();
}

static void snapshot_damage(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	append_history(log, 0, 12);
	CHECK(rlog_compact(log, NULL) == 0);
	rlog_close(log);
	size_t n;
	unsigned char *snap = slurp("rlog.snap", &n);
	/* a flipped byte in the body: found when the snapshot is first served */
	snap[128 + FRAME_SIZE + 100] ^= 1;
	spit("rlog.snap", snap, n);
	struct rlog_open_info info;
	log = open_log(&info);
	CHECK(!info.snapshot_missing);
	struct rlog_snap *s = NULL;
	CHECK(rlog_snapshot_open(log, 0, &s, NULL) == RLOG_ECORRUPT && s == NULL);
	rlog_close(log);
	/* a broken header: ignored, reported missing */
	snap[128 + FRAME_SIZE + 100] ^= 1;
	snap[40] ^= 1;
	spit("rlog.snap", snap, n);
	log = open_log(&info);
	CHECK(info.snapshot_missing);
	CHECK(rlog_snapshot_open(log, 0, &s, NULL) == RLOG_ENOSNAPSHOT);
	/* a snapshot of another lineage is deleted */
	snap[40] ^= 1;
	CHECK(rlog_reset(log, 0, NULL) == 0);
	rlog_close(log);
	spit("rlog.snap", snap, n);
	log = open_log(&info);
	CHECK(!info.snapshot_missing && !exists("rlog.snap"));
	rlog_close(log);
	free(snap);
	tmp_remove();
}

static bool wait_compactions(struct rlog *log, uint64_t n)
{
	struct rlog_stat st;
	for (int i = 0; i < 500; i++) {
		rlog_stat(log, &st);
		if (st.compactions >= n)
			return true;
		usleep(10000);
	}
	return false;
}

static void background_compaction_bounds(void)
{
	tmp_make();
	M.n = 0;
	struct rlog_opts o = {.dir = dir, .max_log_bytes = 128 + 10 * FRAME_SIZE, .background_compaction = true};
	struct rlog *log = open_with(&o, NULL);
	append_history(log, 0, 4);
	CHECK(!rlog_should_compact(log));
	append_history(log, 4, 10);
	CHECK(wait_compactions(log, 1));
	rlog_close(log);
	log = open_log(NULL); /* no thread now: the positions stay put */
	struct rlog_stat st;
	rlog_stat(log, &st);
	CHECK(st.has_snapshot && st.first_frame_no == st.snap_end + 1);
	CHECK(replicas_converge(log, st.snap_end + 1, st.snap_end));
	rlog_close(log);
	tmp_remove();
	/* the age bound */
	tmp_make();
	M.n = 0;
	struct rlog_opts a = {.dir = dir, .max_log_age_ms = 150, .background_compaction = true};
	log = open_with(&a, NULL);
	usleep(300000);
	rlog_stat(log, &st);
	CHECK(st.compactions == 0); /* an empty log is never compacted */
	append_history(log, 0, 3);
	CHECK(wait_compactions(log, 1));
	/* the frames appended after the first compaction age out too */
	for (int i = 0; i < 500; i++) {
		rlog_stat(log, &st);
		if (st.first_frame_no == M.n)
			break;
		usleep(10000);
	}
	CHECK(st.first_frame_no == M.n && st.snap_end == M.n - 1);
	rlog_close(log);
	tmp_remove();
	/* frames appended to an empty log before the age bound is reached
	 * still age out: the compactor, asleep without a deadline while the
	 * log was empty, is woken by the first frames (regression: it slept on
	 * until the size bound woke it, so after a compaction emptied the log,
	 * --max-log-duration was not enforced; seen as a flaky check above) */
	tmp_make();
	M.n = 0;
	struct rlog_opts q = {.dir = dir, .max_log_age_ms = 400, .background_compaction = true};
	log = open_with(&q, NULL);
	usleep(50000); /* the compactor has looked at the empty log and sleeps */
	append_history(log, 0, 1);
	CHECK(wait_compactions(log, 1));
	rlog_stat(log, &st);
	CHECK(st.first_frame_no == M.n);
	rlog_close(log);
	tmp_remove();
}

/* ---- threads ---- */

struct race {
	struct rlog *log;
	uint32_t txns;
	bool late; /* the reader starts after the first compaction (or the end) */
	atomic_int done;
	int32_t final_state[MAXPG];
	bool ok;
	uint64_t frames_read, snapshots;
};

static void *race_appender(void *arg)
{
	struct race *r = arg;
	uint64_t x = 88172645463325252ull;
	for (uint32_t t = 0; t < r->txns; t++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t n = 1 + (uint32_t)(x % 5), p[5];
		for (uint32_t i = 0; i < n; i++)
			p[i] = 1 + (uint32_t)((x >> (8 * i + 8)) % (MAXPG - 1));
		mappend(r->log, p, n, t, 40);
	}
	r->done = 1;
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	int32_t *st = r->final_state;
	for (struct rlog_stat s0; r->late; usleep(1000)) {
		rlog_stat(r->log, &s0);
		if (s0.compactions > 0 || r->done)
			break;
	}
	for (int i = 0; i < MAXPG; i++)
		st[i] = -1;
	uint64_t next = 0, prev_ck = 0;
	bool have_prev = true; /* frame 0 chains on 0 */
	struct rlog_batch b;
	rlog_batch_init(&b);
	r->ok = true;
	while (r->ok) {
		int rc = rlog_read(r->log, next, 7, &b, NULL);
		if (rc == RLOG_NEED_SNAPSHOT) {
			struct rlog_snap *s = NULL;
			r->ok = rlog_snapshot_open(r->log, next, &s, NULL) == 0;
			uint64_t first = UINT64_MAX;
			while (r->ok && (rc = rlog_snapshot_read(s, 5, &b, NULL)) == 0 && b.n)
				for (size_t i = 0; i < b.n; i++) {
					const unsigned char *f = rlog_batch_frame(&b, i);
					uint64_t no = frame_get_no(f);
					r->ok = r->ok && no >= next && frame_matches(f, no);
					if (first == UINT64_MAX) {
						first = no;
						prev_ck = frame_get_checksum(f);
					}
					st[frame_get_page_no(f) % MAXPG] = (int32_t)M.ver[no % MAXF];
				}
			r->ok = r->ok && rc == 0 && first != UINT64_MAX;
			rlog_snapshot_close(s);
			next = first + 1;
			/* the snapshot's first frame is its end, whose checksum the log
			 * after it chains on: the chain check goes on unbroken */
			have_prev = true;
			r->snapshots++;
			continue;
		}
		if (rc != 0) {
			r->ok = false;
			break;
		}
		if (b.n == 0) {
			if (r->done && rlog_next_frame_no(r->log) == next)
				break;
			rc = rlog_wait(r->log, next, 20);
			r->ok = rc == 0 || rc == RLOG_ETIMEDOUT;
			continue;
		}
		for (size_t i = 0; i < b.n && r->ok; i++) {
			const unsigned char *f = rlog_batch_frame(&b, i);
			r->ok = frame_matches(f, next + i) && frame_get_size_after(f) == M.size[next + i];
			if (have_prev)
				r->ok = r->ok && frame_verify(f, next + i, prev_ck, NULL) == 0;
			prev_ck = frame_get_checksum(f);
			have_prev = true;
			st[frame_get_page_no(f)] = (int32_t)M.ver[next + i];
		}
		r->ok = r->ok && frame_is_commit(rlog_batch_frame(&b, b.n - 1));
		next += b.n;
		r->frames_read += b.n;
	}
	rlog_batch_free(&b);
	return NULL;
}

static void race(bool compacting)
{
	tmp_make();
	M.n = 0;
	struct rlog_opts o = {.dir = dir};
	if (compacting) {
		o.max_log_bytes = 128 + 200 * FRAME_SIZE;
		o.background_compaction = true;
	}
	struct race r = {.log = open_with(&o, NULL), .txns = 1500};
	pthread_t ta, tr[3];
	struct race rr[3];
	for (int i = 0; i < 3; i++) {
		rr[i] = r;
		rr[i].late = i == 2;
		pthread_create(&tr[i], NULL, race_reader, &rr[i]);
	}
	pthread_create(&ta, NULL, race_appender, &r);
	pthread_join(ta, NULL);
	for (int i = 0; i < 3; i++) {
		rr[i].done = 1;
		pthread_join(tr[i], NULL);
	}
	int32_t want[MAXPG];
	model_state(M.n, want);
	for (int i = 0; i < 3; i++) {
		CHECK(rr[i].ok);
		CHECK(memcmp(want, rr[i].final_state, sizeof want) == 0);
	}
	struct rlog_stat st;
	rlog_stat(r.log, &st);
	CHECK(st.next_frame_no == M.n);
	uint64_t snaps = 0;
	for (int i = 0; i < 3; i++)
		snaps += rr[i].snapshots;
	if (compacting) /* the late reader at least went through a snapshot */
		CHECK(st.compactions > 0 && snaps > 0 && rr[2].snapshots > 0);
	else
		CHECK(snaps == 0);
	rlog_close(r.log);
	tmp_remove();
}

static void concurrent_reader(void)
{
	race(false);
}

static void concurrent_reader_compaction(void)
{
	race(true);
}

struct waiter {
	struct rlog *log;
	uint64_t next;
	int timeout, rc;
	uint64_t waited_ms;
};

static uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	uint64_t t0 = ms_now();
	w->rc = rlog_wait(w->log, w->next, w->timeout);
	w->waited_ms = ms_now() - t0;
	return NULL;
}

static void wait_wakes(void)
{
	tmp_make();
	M.n = 0;
	struct rlog *log = open_log(NULL);
	uint64_t t0 = ms_now();
	CHECK(rlog_wait(log, 0, 50) == RLOG_ETIMEDOUT && ms_now() - t0 >= 45);
	/* woken by an append */
	struct waiter w = {.log = log, .next = 0, .timeout = 5000};
	pthread_t t;
	pthread_create(&t, NULL, waiter_main, &w);
	usleep(30000);
	mappend1(log, 1, 1, 1);
	pthread_join(t, NULL);
	CHECK(w.rc == 0 && w.waited_ms < 4000);
	CHECK(rlog_wait(log, 0, 0) == 0); /* frame 0 is there: no wait */
	CHECK(rlog_wait(log, 1, 0) == RLOG_ETIMEDOUT);
	/* woken by a reset */
	w = (struct waiter){.log = log, .next = 1, .timeout = 5000};
	pthread_create(&t, NULL, waiter_main, &w);
	usleep(30000);
	CHECK(rlog_reset(log, 0, NULL) == 0);
	pthread_join(t, NULL);
	CHECK(w.rc == RLOG_ERESET && w.waited_ms < 4000);
	/* woken by shutdown; no timeout */
	w = (struct waiter){.log = log, .next = 0, .timeout = -1};
	pthread_create(&t, NULL, waiter_main, &w);
	usleep(30000);
	rlog_shutdown(log);
	pthread_join(t, NULL);
	CHECK(w.rc == RLOG_ECLOSED);
	CHECK(rlog_wait(log, 0, 10) == RLOG_ECLOSED);
	rlog_close(log);
	tmp_remove();
}

int main(void)
{
	log_level = LOG_ERROR; /* the cuts and compactions under test are logged as warnings */
	T_RUN(fresh_open);
	T_RUN(append_read_roundtrip);
	T_RUN(commit_boundary);
	T_RUN(big_transaction);
	T_RUN(span_open_and_read);
	T_RUN(write_behind);
	T_RUN(bad_arguments);
	T_RUN(reopen_keeps_positions);
	T_RUN(killed_process_is_unclean);
	T_RUN(torn_tail_truncated_everywhere);
	T_RUN(torn_tail_zeroed_everywhere);
	T_RUN(torn_tail_flipped_everywhere);
	T_RUN(uncommitted_tail_is_cut);
	T_RUN(corrupt_header);
	T_RUN(reset_new_lineage);
	T_RUN(compaction_snapshot);
	T_RUN(compaction_carries_new_frames);
	T_RUN(crash_between_renames);
	T_RUN(snapshot_damage);
	T_RUN(background_compaction_bounds);
	T_RUN(concurrent_reader);
	T_RUN(concurrent_reader_compaction);
	T_RUN(wait_wakes);
	return T_DONE();
}
