/* sync: section 5, initial sync throughput.
 *
 * A primary of its own (--max-log-size large enough that the whole build
 * stays in the frame log, so offset 0 is served from the log and not from a
 * snapshot) gets a table of --sync-mb MiB of random blobs through Hrana WS:
 * one row of randomblob(4000) per 4 KiB page, INSERT ... SELECT of 8192 rows
 * (32 MiB) per autocommit statement.
 *
 * A pull, timed from the Hello to the fsync of the local file: Hello, then
 * BatchLogEntries{next_offset} from 0, looping as libsql's client does
 * until the last commit frame reaches the index Hello reported, applying
 * every frame into a fresh local file (the page written at
 * (page_no - 1) * 4096, runs of consecutive pages with one pwritev; at a
 * commit frame ftruncate to size_after pages), then fsync. Frames are
 * applied as they arrive (gw_msg_each), from a window of about 1 MiB, not
 * after a whole message of up to 32 MiB is in memory: writing pages out of
 * a buffer that no longer fits the CPU cache was measured 2-8x slower here,
 * and the copy below works from a 1 MiB buffer too. Frame numbers must be
 * consecutive from 0.
 *
 * Baseline, same run, same disk: a plain copy of the primary's database
 * file (read 1 MiB, write, fsync at the end). The same number of bytes:
 * MB/s of both = database file size / time. Pulls and copies alternate
 * (copy, pull, pull, copy, ...); before each, syncfs() settles what earlier
 * steps left dirty (not timed).
 *
 * Then the primary is stopped with SIGTERM (it checkpoints and closes
 * cleanly) and its data file must equal the last pulled file byte for byte. */
#include "rb.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct pull_stats {
	uint64_t frames, batches, wire_bytes, last_commit;
	uint64_t size_pages;
	double secs;
	double wait_s, apply_s, fsync_s; /* answers arriving; writing their pages; final fsync */
	double sqld_cpu_s, client_cpu_s;  /* CPU time both sides used during the pull */
	unsigned long connections;
};

/* Pages waiting to be written: a run of consecutive page numbers, written
 * with one pwritev (order of frames is kept: a run is flushed before any
 * frame that does not extend it). */
struct run {
	struct iovec iov[IOV_MAX];
	int n;
	uint32_t first;
};

static uint64_t flush_ns; /* time in run_flush, all pulls */

static void run_flush(struct run *r, int fd)
{
	if (!r->n)
		return;
	uint64_t t0 = now_ns();
	off_t off = (off_t)(r->first - 1) * RB_PAGE;
	size_t want = (size_t)r->n * RB_PAGE;
	struct iovec *iov = r->iov;
	int cnt = r->n;
	while (want) {
		ssize_t k = pwritev(fd, iov, cnt, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("pwritev of the pulled file: %s", strerror(errno));
		want -= (size_t)k;
		off += k;
		while (cnt && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt && k) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	r->n = 0;
	flush_ns += now_ns() - t0;
}

/* Applies frames as they arrive (gw_msg_each): a Frames message of a
 * BatchLogEntries answer can be a whole 32 MB transaction; applying it from
 * a small window that stays in the CPU cache, like the copy's 1 MiB buffer,
 * is what a replica that streams would do. */
struct apply {
	struct gw *g;
	int fd;
	struct run run;
	uint64_t expect, commit, size_pages, got;
	bool has_commit;
};

static void apply_drain(void *arg)
{
	struct apply *a = arg;
	run_flush(&a->run, a->fd); /* the frames' memory moves after this */
}

static void apply_field(void *arg, uint32_t fno, const uint8_t *d, size_t dl)
{
	struct apply *a = arg;
	struct gw *g = a->g;
	if (fno != 1)
		return;
	const uint8_t *data;
	if (!pb_frame_data(d, dl, &data)) {
		struct bbuf b = {0};
		hexdump_to(&b, d, dl, 64);
		gw_fail(g, "a Frames entry that is not a Frame with 4120 bytes of data: %s", b.p);
	}
	uint64_t fno_ = le64(data);
	uint32_t page_no = le32(data + 16), size_after = le32(data + 20);
	if (fno_ != a->expect)
		gw_fail(g, "frame_no %llu, expected %llu (frames must be consecutive from 0)", (unsigned long long)fno_,
			(unsigned long long)a->expect);
	if (page_no == 0)
		gw_fail(g, "frame %llu has page_no 0", (unsigned long long)fno_);
	struct run *run = &a->run;
	if (run->n && (page_no != run->first + (uint32_t)run->n || run->n == IOV_MAX))
		run_flush(run, a->fd);
	if (!run->n)
		run->first = page_no;
	run->iov[run->n].iov_base = (void *)(data + 24);
	run->iov[run->n].iov_len = RB_PAGE;
	run->n++;
	if (size_after) {
		run_flush(run, a->fd);
		if (ftruncate(a->fd, (off_t)size_after * RB_PAGE))
			die("ftruncate of the pulled file: %s", strerror(errno));
		a->has_commit = true;
		a->commit = fno_;
		a->size_pages = size_after;
	}
	a->expect++;
	a->got++;
}

static uint64_t self_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pull(int port, int sqld_pid, const char *path, struct pull_stats *st)
{
	memset(st, 0, sizeof *st);
	uint64_t c0 = rb_cpu_ns(sqld_pid), s0 = self_cpu_ns();
	uint64_t t0 = now_ns();
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	struct gw g;
	gw_open(&g, port);
	struct hello h;
	gw_hello(&g, &h);
	if (!h.has_index)
		gw_fail(&g, "Hello reports an empty log on a primary holding a database");
	static struct apply a;
	memset(&a, 0, sizeof a);
	a.g = &g;
	a.fd = fd;
	while (!a.has_commit || a.commit < h.index) {
		uint8_t pb[16];
		size_t n = pb_log_offset(pb, a.expect);
		gw_call(&g, "BatchLogEntries", pb, n);
		uint64_t tb = now_ns();
		uint64_t before = a.got, f0 = flush_ns;
		size_t mn;
		int r = gw_msg_each(&g, apply_field, apply_drain, &a, &mn);
		if (r != 1)
			gw_fail(&g, "BatchLogEntries(%llu) without a Frames message: grpc-status %d '%s'",
				(unsigned long long)a.expect, g.grpc_status, g.grpc_msg);
		/* receiving and applying interleave: the page writes are timed apart */
		st->apply_s += (double)(flush_ns - f0) / 1e9;
		st->wait_s += (double)(now_ns() - tb - (flush_ns - f0)) / 1e9;
		uint64_t got = a.got - before;
		st->wire_bytes += mn + 5;
		const uint8_t *m;
		if (gw_msg(&g, &m, &mn) != 0)
			gw_fail(&g, "a second message in a BatchLogEntries answer");
		if (g.grpc_status != 0)
			gw_fail(&g, "BatchLogEntries(%llu): grpc-status %d '%s'", (unsigned long long)(a.expect - got),
				g.grpc_status, g.grpc_msg);
		if (!got)
			gw_fail(&g, "BatchLogEntries(%llu) returned no frames below the index Hello reported (%llu)",
				(unsigned long long)a.expect, (unsigned long long)h.index);
		st->frames += got;
		st->batches++;
	}
	uint64_t expect = a.expect, commit = a.commit;
	st->size_pages = a.size_pages;
	uint64_t tf = now_ns();
	if (fsync(fd))
		die("fsync %s: %s", path, strerror(errno));
	close(fd);
	st->fsync_s = (double)(now_ns() - tf) / 1e9;
	st->secs = (double)(now_ns() - t0) / 1e9;
	st->sqld_cpu_s = (double)(rb_cpu_ns(sqld_pid) - c0) / 1e9;
	st->client_cpu_s = (double)(self_cpu_ns() - s0) / 1e9;
	st->last_commit = commit;
	/* caught up: one more call must return zero frames (not timed) */
	uint8_t pb[16];
	size_t n = pb_log_offset(pb, expect);
	gw_call(&g, "BatchLogEntries", pb, n);
	const uint8_t *m;
	size_t mn;
	if (gw_msg(&g, &m, &mn) != 1 || mn != 0)
		gw_fail(&g, "BatchLogEntries(%llu) at the end of the log: expected an empty Frames message",
			(unsigned long long)expect);
	if (gw_msg(&g, &m, &mn) != 0 || g.grpc_status != 0)
		gw_fail(&g, "BatchLogEntries at the end of the log: grpc-status %d '%s'", g.grpc_status, g.grpc_msg);
	st->connections = 1 + g.reconnects;
	gw_close(&g);
}

static double copy_file(const char *from, const char *to, uint64_t *bytes)
{
	static char buf[1 << 20];
	uint64_t t0 = now_ns();
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0)
		die("copy %s -> %s: %s", from, to, strerror(errno));
	*bytes = 0;
	for (;;) {
		ssize_t k = read(in, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read %s: %s", from, strerror(errno));
		if (k == 0)
			break;
		for (ssize_t done = 0; done < k;) {
			ssize_t w = write(out, buf + done, (size_t)(k - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("write %s: %s", to, strerror(errno));
			done += w;
		}
		*bytes += (uint64_t)k;
	}
	if (fsync(out))
		die("fsync %s: %s", to, strerror(errno));
	close(in);
	close(out);
	return (double)(now_ns() - t0) / 1e9;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void settle(void)
{
	int fd = open(RO.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

/* Byte comparison; returns true when equal, else describes the difference. */
static bool same_file(const char *a, const char *b, char *why, size_t cap)
{
	static char ba[1 << 20], bb_[1 << 20];
	struct stat sa, sb;
	if (stat(a, &sa) || stat(b, &sb)) {
		snprintf(why, cap, "cannot stat: %s", strerror(errno));
		return false;
	}
	if (sa.st_size != sb.st_size) {
		snprintf(why, cap, "sizes differ: primary %lld bytes, pulled %lld bytes", (long long)sa.st_size,
			 (long long)sb.st_size);
		return false;
	}
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	if (fa < 0 || fb < 0)
		die("open for comparison: %s", strerror(errno));
	off_t off = 0;
	bool eq = true;
	for (;;) {
		ssize_t ka = pread(fa, ba, sizeof ba, off), kb = pread(fb, bb_, sizeof bb_, off);
		if (ka != kb || ka < 0) {
			snprintf(why, cap, "read error at %lld", (long long)off);
			eq = false;
			break;
		}
		if (ka == 0)
			break;
		if (memcmp(ba, bb_, (size_t)ka) != 0) {
			size_t i = 0;
			while (ba[i] == bb_[i])
				i++;
			long long pg = (long long)(off + (off_t)i) / RB_PAGE + 1;
			int npages = 0;
			for (size_t k = 0; k < (size_t)ka; k += RB_PAGE)
				npages += memcmp(ba + k, bb_ + k, RB_PAGE) != 0;
			snprintf(why, cap, "first difference at byte %lld (page %lld); %d differing pages in that MiB",
				 (long long)(off + (off_t)i), pg, npages);
			eq = false;
			break;
		}
		off += ka;
	}
	close(fa);
	close(fb);
	return eq;
}

void sec_sync(void)
{
	int rows_total = RO.sync_mb * 256, per = 8192;
	printf("5. Initial sync throughput: BatchLogEntries from offset 0 (gRPC-web, HTTP/1.1), every frame applied to a\n");
	printf("   local file (pwritev pages, ftruncate at commit, fsync at the end), vs a plain copy of the primary's\n");
	printf("   %d MiB database file on the same disk (read + write + fsync); %d pulls and %d copies, ABBA order\n",
	       RO.sync_mb, RO.sync_rounds, RO.sync_rounds);
	fflush(stdout);
	char dir[4096], data[4200];
	snprintf(dir, sizeof dir, "%s/sync.sqld", RO.dir);
	snprintf(data, sizeof data, "%s/data", dir);
	struct sqld_proc s;
	static const char *const extra[] = {"--max-log-size", "100000", NULL};
	sqld_spawn(&s, RO.sqld_bin, dir, extra);

	/* build */
	uint64_t tb = now_ns();
	struct ws w;
	ws_open(&w, s.port, "hrana2");
	rb_recv_timeout(w.fd, 60);
	ws_open_stream(&w, 1);
	const char *end;
	static const char ddl[] = "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"CREATE TABLE "
				  "big(id INTEGER PRIMARY KEY, b BLOB NOT NULL)\",\"want_rows\":false}}";
	ws_request(&w, ddl, sizeof ddl - 1, &end);
	for (int done = 0; done < rows_total; done += per) {
		int n = rows_total - done < per ? rows_total - done : per;
		char req[512];
		int k = snprintf(req, sizeof req,
				 "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"WITH RECURSIVE c(x) AS "
				 "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) INSERT INTO big(b) SELECT "
				 "randomblob(4000) FROM c\",\"want_rows\":false}}",
				 n);
		const char *r = ws_request(&w, req, (size_t)k, &end);
		long long affected;
		if (!js_int(js_path(r, end, "result.affected_row_count"), end, &affected) || affected != n)
			die("building the sync database: wrong result %.300s", r);
	}
	static const char pc[] = "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"PRAGMA page_count\","
				 "\"want_rows\":true}}";
	const char *r = ws_request(&w, pc, sizeof pc - 1, &end);
	long long pages;
	if (!js_int(js_path(r, end, "result.rows.0.0.value"), end, &pages) || pages <= 0)
		die("PRAGMA page_count: %.300s", r);
	ws_close(&w);
	double build_s = (double)(now_ns() - tb) / 1e9;
	usleep(300 * 1000); /* let cap's checkpoint thread finish */
	settle();
	printf("  built %lld pages (%.1f MiB) through Hrana in %.1f s (%d INSERT ... SELECT of %d rows)\n", pages,
	       (double)pages * RB_PAGE / 1048576.0, build_s, (rows_total + per - 1) / per, per);

	double idle_before = rb_idle_disk(300);
	struct rb_snap snap;
	rb_snap_take(&snap);
	char pulled[4200], copied[4200];
	snprintf(pulled, sizeof pulled, "%s/pulled.db", RO.dir);
	snprintf(copied, sizeof copied, "%s/copied.db", RO.dir);
	double pull_s[16], copy_s[16], pull_mbs[16], copy_mbs[16];
	struct pull_stats ps = {0}, all[16];
	uint64_t copy_bytes = 0;
	int np = 0, nc = 0;
	for (int i = 0; i < 2 * RO.sync_rounds; i++) {
		bool is_copy = (i % 4 == 0 || i % 4 == 3);
		unlink(is_copy ? copied : pulled);
		settle();
		if (is_copy) {
			copy_s[nc] = copy_file(data, copied, &copy_bytes);
			copy_mbs[nc] = (double)copy_bytes / 1e6 / copy_s[nc];
			nc++;
		} else {
			pull(s.port, (int)s.pid, pulled, &ps);
			all[np] = ps;
			pull_s[np] = ps.secs;
			pull_mbs[np] = (double)ps.size_pages * RB_PAGE / 1e6 / ps.secs;
			np++;
		}
	}
	bool contested = rb_contention(&snap, idle_before);
	unlink(copied);
	uint64_t pulled_bytes = ps.size_pages * RB_PAGE;

	/* stop the primary cleanly, then compare */
	int rc = sqld_stop(&s);
	char why[256] = "";
	bool same = rc == 0 && same_file(data, pulled, why, sizeof why);
	if (rc != 0)
		snprintf(why, sizeof why, "sqld exited with status %d after SIGTERM", rc);

	double pm = 0, cmn = 0;
	printf("  %-34s ", "pull MB/s per run");
	for (int i = 0; i < np; i++)
		printf("%s%.0f (%.2f s)", i ? ", " : "", pull_mbs[i], pull_s[i]), pm += pull_mbs[i];
	printf("\n  %-34s ", "copy MB/s per run");
	for (int i = 0; i < nc; i++)
		printf("%s%.0f (%.2f s)", i ? ", " : "", copy_mbs[i], copy_s[i]), cmn += copy_mbs[i];
	pm /= np;
	cmn /= nc;
	printf("\n  %-34s %llu frames in %llu batches, %.1f MB on the wire, %.1f MB of database (MB = 10^6 bytes)\n",
	       "a pull", (unsigned long long)ps.frames, (unsigned long long)ps.batches, (double)ps.wire_bytes / 1e6,
	       (double)pulled_bytes / 1e6);
	for (int i = 0; i < np; i++) {
		const struct pull_stats *a = &all[i];
		printf("  %-34s receiving %.2f s, writing pages %.2f s, fsync %.2f s, rest %.2f s;\n"
		       "  %-34s CPU: sqld %.2f s, this client %.2f s\n",
		       i ? "" : "where each pull's time goes", a->wait_s, a->apply_s, a->fsync_s,
		       a->secs - a->wait_s - a->apply_s - a->fsync_s, "", a->sqld_cpu_s, a->client_cpu_s);
	}
	printf("  %-34s %lu for %llu calls%s\n", "TCP connections per pull", ps.connections,
	       (unsigned long long)ps.batches + 2,
	       ps.connections > 1 ? " (sqld answered with \"connection: close\")" : "");
	printf("  %-34s %s\n", "frames consecutive from 0", "yes (checked in every pull)");
	printf("  %-34s %s%s\n", "pulled file = primary's data file",
	       same ? "yes, byte for byte (after SIGTERM)" : "NO: ", same ? "" : why);
	printf("  %-34s %.0f MB/s vs copy %.0f MB/s = %.2fx   target >= 0.5x", "initial sync (mean)", pm, cmn, pm / cmn);
	rb_verdict(pm / cmn >= 0.5 && same, contested);
	printf("\n\n");
	unlink(pulled);
	rm_tree(dir); /* half a GB: not left for run.sh's trap */
}
