/* libFuzzer target: the input becomes rlog.log (and, split off, rlog.snap)
 * in a temporary directory; rlog_open, rlog_read (and the span lookup and
 * exact reads of a BatchLogEntries sent in pieces), the snapshot cursor and
 * (optionally) an append + compaction run on it. Nothing may crash, and no
 * frame rlog hands out may break the checksum chain: every log batch is
 * re-verified here, from the log header's start checksum on, independently
 * of rlog's own checks.
 *
 * Input: byte 0 = flags, then the file bytes.
 *   0x01  fix up the log header (magic, version, page size, crc) so the
 *         fuzzer reaches the frames
 *   0x02  repair the frames: frame_no and checksum of every whole slot
 *         rewritten to a valid chain (page_no, size_after stay fuzzed)
 *   0x04  split: bytes 1-2 (LE) = length of the log part, the rest is rlog.snap
 *   0x08  fix up the snapshot header (magic, version, log_id, lineage
 *         start, frame count, crcs) so the fuzzer reaches its frames
 *   0x10  then append a transaction, read it back, compact, stream snapshots
 *   0x20  recreate_on_corrupt */
#include "crc64.h"
#include "frame.h"
#include "log.h"
#include "rlog.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void fz_cleanup(void)
{
	static const char *names[] = {"rlog.log", "rlog.snap", "rlog.running", "rlog.log.tmp", "rlog.snap.tmp"};
	char p[320];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
}

static void fz_atexit(void)
{
	fz_cleanup();
	rmdir(dir);
}

static void fz_write(const char *name, const unsigned char *b, size_t n)
{
	char p[320];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		abort();
	if (n && write(fd, b, n) != (ssize_t)n)
		abort();
	close(fd);
}

/* The current rlog.log header's start_frame_no and start checksum. */
static void fz_log_start(uint64_t *start, uint64_t *ck)
{
	char p[320];
	unsigned char h[128];
	snprintf(p, sizeof p, "%s/rlog.log", dir);
	int fd = open(p, O_RDONLY);
	if (fd < 0 || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h)
		abort();
	close(fd);
	*start = frame_get_le64(h + 32);
	*ck = frame_get_le64(h + 40);
}

static void fz_fix_log(unsigned char *b, size_t n, int repair)
{
	if (n < 128)
		return;
	memcpy(b, "SQLWRLOG", 8);
	frame_put_le32(b + 8, 1);
	frame_put_le32(b + 12, FRAME_PAGE_SIZE);
	uint64_t start = frame_get_le64(b + 32) & 0xFFFF, lineage = frame_get_le64(b + 48) & 0xFFFF;
	frame_put_le64(b + 32, start);
	frame_put_le64(b + 48, lineage <= start ? lineage : start);
	frame_put_le64(b + 120, crc64(b, 120));
	if (!repair)
		return;
	uint64_t prev = frame_get_le64(b + 40);
	for (size_t i = 0; 128 + (i + 1) * FRAME_SIZE <= n; i++) {
		unsigned char *f = b + 128 + i * FRAME_SIZE;
		frame_put_le64(f + FRAME_OFF_NO, start + i);
		prev = frame_checksum(prev, f + FRAME_OFF_PAGE);
		frame_put_le64(f + FRAME_OFF_CHECKSUM, prev);
	}
}

static void fz_fix_snap(unsigned char *s, size_t n, const unsigned char *logb, size_t logn)
{
	if (n < 128 || logn < 128)
		return;
	memcpy(s, "SQLWSNAP", 8);
	frame_put_le32(s + 8, 1);
	frame_put_le32(s + 12, FRAME_PAGE_SIZE);
	memcpy(s + 16, logb + 16, 16);              /* log_id */
	memcpy(s + 32, logb + 48, 8);               /* start = lineage */
	uint64_t count = (n - 128) / FRAME_SIZE;
	frame_put_le64(s + 48, count);
	frame_put_le64(s + 64, crc64(s + 128, count * FRAME_SIZE));
	frame_put_le64(s + 120, crc64(s, 120));
}

/* Walks the whole log from its first frame in batches of `max`, checking
 * the chain, the numbering and the commit boundaries. */
static void fz_walk(struct rlog *log, size_t max)
{
	struct rlog_stat st;
	rlog_stat(log, &st);
	uint64_t start, prev;
	fz_log_start(&start, &prev);
	if (start != st.first_frame_no)
		abort();
	struct rlog_batch b;
	rlog_batch_init(&b);
	uint64_t no = start;
	for (;;) {
		/* open verified the whole file and nothing changed it since: a
		 * read can only succeed */
		struct rlog_span sp;
		if (rlog_span_open(log, no, max, &sp, NULL) != 0)
			abort();
		if (rlog_read(log, no, max, &b, NULL) != 0)
			abort();
		if (sp.end != no + b.n)
			abort(); /* the commit index disagrees with the file */
		if (b.n == 0) {
			rlog_span_close(&sp);
			break;
		}
		if (rlog_span_read(&sp, no, b.n, &b, NULL) != 0 || sp.end != no + b.n)
			abort(); /* the same frames, read as an exact span */
		rlog_span_close(&sp);
		for (size_t i = 0; i < b.n; i++) {
			const unsigned char *f = rlog_batch_frame(&b, i);
			if (frame_verify(f, no + i, prev, NULL) != 0)
				abort(); /* a frame that breaks the chain got out */
			prev = frame_get_checksum(f);
		}
		if (!frame_is_commit(rlog_batch_frame(&b, b.n - 1)))
			abort(); /* a batch ended mid-transaction */
		no += b.n;
	}
	if (no != st.next_frame_no)
		abort();
	if (st.first_frame_no > st.lineage_start && rlog_read(log, st.lineage_start, 1, &b, NULL) != RLOG_NEED_SNAPSHOT)
		abort();
	rlog_batch_free(&b);
}

static void fz_snapshot(struct rlog *log, uint64_t from, size_t max)
{
	struct rlog_stat st;
	rlog_stat(log, &st);
	struct rlog_snap *s = NULL;
	if (rlog_snapshot_open(log, from, &s, NULL) != 0)
		return;
	uint64_t start, start_ck, last = UINT64_MAX, total = 0;
	fz_log_start(&start, &start_ck);
	struct rlog_batch b;
	rlog_batch_init(&b);
	int rc;
	uint32_t commit = 0;
	while ((rc = rlog_snapshot_read(s, max, &b, NULL)) == 0 && b.n) {
		for (size_t i = 0; i < b.n; i++) {
			const unsigned char *f = rlog_batch_frame(&b, i);
			uint64_t no = frame_get_no(f);
			if (no < from || (last != UINT64_MAX && no >= last) || commit)
				abort();
			/* the snapshot's first frame is where the log's chain starts */
			if (last == UINT64_MAX && no + 1 == start && frame_get_checksum(f) != start_ck)
				abort();
			last = no;
			total++;
			commit = frame_get_size_after(f);
		}
	}
	if (rc == 0 && (total != rlog_snapshot_count(s) || !commit))
		abort();
	rlog_batch_free(&b);
	rlog_snapshot_close(s);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	if (!dir[0]) {
		log_level = LOG_ERROR;
		snprintf(dir, sizeof dir, "%s/sqlwire-fuzz-rlog-XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(fz_atexit);
	}
	if (n < 1)
		return 0;
	unsigned flags = data[0];
	data++, n--;
	size_t logn = n;
	if (flags & 0x04) {
		if (n < 2)
			return 0;
		logn = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2, n -= 2;
		if (logn > n)
			logn = n;
	}
	unsigned char *lb = malloc(logn + 1), *sb = malloc(n - logn + 1);
	memcpy(lb, data, logn);
	memcpy(sb, data + logn, n - logn);
	if (flags & 0x01)
		fz_fix_log(lb, logn, flags & 0x02);
	if (flags & 0x08)
		fz_fix_snap(sb, n - logn, lb, logn);
	fz_cleanup();
	fz_write("rlog.log", lb, logn);
	if (flags & 0x04)
		fz_write("rlog.snap", sb, n - logn);

	struct rlog_opts o = {.dir = dir, .recreate_on_corrupt = (flags & 0x20) != 0};
	struct rlog *log = NULL;
	struct rlog_open_info info;
	if (rlog_open(&o, &log, &info, NULL) == 0) {
		size_t max = 1 + (flags >> 6);
		fz_walk(log, max);
		struct rlog_stat st;
		rlog_stat(log, &st);
		if (info.next_frame_no != st.next_frame_no)
			abort();
		fz_snapshot(log, st.lineage_start, max);
		fz_snapshot(log, st.snap_end, max);
		if (flags & 0x10) {
			unsigned char page[FRAME_PAGE_SIZE];
			memset(page, 0, sizeof page);
			memcpy(page, lb, logn < sizeof page ? logn : sizeof page);
			struct rlog_page pg[2] = {{.page_no = 1, .data = page}, {.page_no = 2, .data = page}};
			uint64_t c;
			if (rlog_append_txn(log, pg, 1 + (flags & 1), 2, &c, NULL) == 0) {
				fz_walk(log, max);
				if (rlog_compact(log, NULL) == 0) {
					fz_walk(log, max);
					fz_snapshot(log, st.lineage_start, max);
					fz_snapshot(log, c, max);
				}
			}
		}
		rlog_close(log);
	}
	free(lb);
	free(sb);
	return 0;
}
