/* lag: section 4, replication lag.
 *
 * A follower thread says Hello (gets the session token and the current
 * replication index N) and opens POST /wal_log.ReplicationLog/LogEntries
 * with LogOffset{next_offset = N + 1} on the same keep-alive connection: a
 * gRPC-web server stream in an HTTP/1.1 chunked response, one Frame message
 * per WAL frame. It checks that frame numbers are consecutive from N + 1
 * and stamps the monotonic time at which it decoded each frame.
 *
 * Meanwhile the main thread (the writer) commits one single-row INSERT per
 * tick (every --lag-pace-us, default 2 ms, on an absolute schedule; a late
 * tick does not cause a burst) over Hrana 2 WebSocket (bench/ws.c) and
 * notes, per commit, the time just before sending, the time its response
 * arrived and the result's replication_index (the frame_no of the commit
 * frame). Lag = the follower's stamp for that frame_no minus the response
 * time (the definition the target applies to; negative when the frame
 * reached the follower before the response reached the writer), and also
 * minus the send time.
 *
 * Baseline in the same run: the writer's own INSERT round trip, measured in
 * rounds without a follower (and, for information, with one), interleaved:
 * each round runs both, in alternating order. */
#include "rb.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS (1u << 20)
static _Atomic uint64_t arrive[SLOTS]; /* decode time of frame base + i, 0 = not yet */
static uint64_t base;
static bool have_base;

struct follower {
	pthread_t thr;
	int port;
	struct gw g;
	_Atomic int ready;      /* 1: the stream's response head came */
	_Atomic bool stop;
	_Atomic uint64_t next;  /* next frame_no expected */
	uint64_t start;
	_Atomic uint64_t frames;
};

static void *follow_main(void *arg)
{
	struct follower *f = arg;
	struct hello h;
	gw_hello(&f->g, &h);
	uint64_t next = h.has_index ? h.index + 1 : 0;
	if (!have_base) {
		base = next;
		have_base = true;
	}
	if (next < base)
		gw_fail(&f->g, "Hello reports index %llu, below an earlier one", (unsigned long long)h.index);
	f->start = next;
	atomic_store(&f->next, next);
	uint8_t pb[16];
	size_t n = pb_log_offset(pb, next);
	f->g.soft = true;
	gw_call(&f->g, "LogEntries", pb, n);
	atomic_store(&f->ready, 1);
	for (;;) {
		const uint8_t *m, *data;
		size_t mn;
		int r = gw_msg(&f->g, &m, &mn);
		if (r < 0 || atomic_load(&f->stop)) {
			if (atomic_load(&f->stop))
				break;
			gw_fail(&f->g, "the LogEntries stream's connection closed");
		}
		if (r == 0)
			gw_fail(&f->g, "the LogEntries stream ended: grpc-status %d '%s'", f->g.grpc_status,
				f->g.grpc_msg);
		if (!pb_frame_data(m, mn, &data)) {
			struct bbuf b = {0};
			hexdump_to(&b, m, mn, 64);
			gw_fail(&f->g, "a stream message that is not a Frame with 4120 bytes of data: %s", b.p);
		}
		uint64_t t = now_ns();
		uint64_t fno = le64(data);
		if (fno != next)
			gw_fail(&f->g, "frame_no %llu in the stream, expected %llu", (unsigned long long)fno,
				(unsigned long long)next);
		if (fno - base < SLOTS)
			atomic_store_explicit(&arrive[fno - base], t, memory_order_release);
		next++;
		atomic_store(&f->next, next);
		atomic_fetch_add(&f->frames, 1);
	}
	return NULL;
}

static void follower_start(struct follower *f, int port)
{
	memset(f, 0, sizeof *f);
	f->port = port;
	gw_open(&f->g, port);
	if (pthread_create(&f->thr, NULL, follow_main, f))
		die("pthread_create failed");
	uint64_t until = now_ns() + 10000000000ull;
	while (!atomic_load(&f->ready)) {
		if (now_ns() > until)
			die("the follower's LogEntries stream did not start within 10 s");
		usleep(200);
	}
}

static void follower_stop(struct follower *f)
{
	atomic_store(&f->stop, true);
	shutdown(f->g.fd, SHUT_RDWR);
	pthread_join(f->thr, NULL);
	gw_close(&f->g);
}

#define INS_LAG "INSERT INTO lag(v) VALUES (?)"

static long lag_seq;

/* One INSERT; returns its replication_index. */
static uint64_t lag_insert(struct ws *w)
{
	char req[320];
	int n = snprintf(req, sizeof req,
			 "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"" INS_LAG
			 "\",\"args\":[{\"type\":\"text\",\"value\":\"lag-%ld-abcdefghijklmnopqrstuvwxyz\"}],"
			 "\"want_rows\":false}}",
			 lag_seq++);
	const char *end;
	const char *r = ws_request(w, req, (size_t)n, &end);
	long long affected, idx;
	if (!js_str_eq(js_get(r, end, "type"), end, "execute") ||
	    !js_int(js_path(r, end, "result.affected_row_count"), end, &affected) || affected != 1)
		die("lag insert: wrong result %.300s", r);
	if (!js_int(js_path(r, end, "result.replication_index"), end, &idx) || idx < 0)
		die("lag insert: the result has no replication_index: %.300s", r);
	return (uint64_t)idx;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
	}
}

struct commit {
	uint64_t idx, t_send, t_resp;
};

#define MAXROUNDS 32

void sec_lag(void)
{
	printf("4. Replication lag: a follower on LogEntries (gRPC-web server stream, HTTP/1.1 chunked) while a writer\n");
	printf("   commits single-row INSERTs over Hrana WebSocket every %d us (`" INS_LAG "`, own sqld,\n",
	       RO.lag_pace_us);
	printf("   synchronous=FULL); %d rounds x %d ms per target, with and without the follower, alternating.\n",
	       RO.lag_rounds, RO.lag_ms);
	printf("   lag = follower decoded frame #replication_index - writer got the commit's response\n");
	printf("   (also shown: - just before the writer sent it)\n");
	fflush(stdout);
	if (RO.lag_rounds > MAXROUNDS)
		die("--lag-rounds at most %d", MAXROUNDS);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/lag.sqld", RO.dir);
	struct sqld_proc s;
	sqld_spawn(&s, RO.sqld_bin, dir, NULL);

	struct ws w;
	ws_open(&w, s.port, "hrana2");
	rb_recv_timeout(w.fd, 60);
	ws_open_stream(&w, 1);
	{
		static const char ddl[] = "{\"type\":\"execute\",\"stream_id\":1,\"stmt\":{\"sql\":\"CREATE TABLE "
					  "lag(id INTEGER PRIMARY KEY, v TEXT NOT NULL)\",\"want_rows\":false}}";
		const char *end;
		ws_request(&w, ddl, sizeof ddl - 1, &end);
	}
	for (int i = 0; i < 50; i++)
		lag_insert(&w);

	double idle_before = rb_idle_disk(300);
	struct rb_snap snap;
	rb_snap_take(&snap);
	struct lat rtt_plain = {0}, rtt_fol = {0};
	struct sam lag_resp = {0}, lag_send = {0};
	double rp99[MAXROUNDS];
	size_t ncommits_fol = 0, missing = 0, late_ticks = 0, ticks = 0;
	uint64_t frames_fol = 0;
	size_t cap = (size_t)RO.lag_ms * 1000 / (size_t)RO.lag_pace_us + 1024;
	struct commit *cm = malloc(cap * sizeof *cm);
	if (!cm)
		die("out of memory");
	uint64_t pace = (uint64_t)RO.lag_pace_us * 1000u;
	for (int r = 0; r < RO.lag_rounds; r++) {
		for (int j = 0; j < 2; j++) {
			bool with = (j == 0) == (r % 2 == 0);
			struct follower f;
			if (with)
				follower_start(&f, s.port);
			struct lat *rtt = with ? &rtt_fol : &rtt_plain;
			struct lat round_rtt = {0};
			size_t nc = 0;
			uint64_t t = now_ns(), stop = t + (uint64_t)RO.lag_ms * 1000000u;
			while (t < stop && nc < cap) {
				sleep_until(t);
				uint64_t t0 = now_ns();
				uint64_t idx = lag_insert(&w);
				uint64_t t1 = now_ns();
				lat_add(rtt, t1 - t0);
				lat_add(&round_rtt, t1 - t0);
				cm[nc++] = (struct commit){idx, t0, t1};
				ticks++;
				t += pace;
				if (t < t1) { /* late: skip the missed ticks, no burst */
					late_ticks++;
					t = t1;
				}
			}
			if (!with) {
				lat_free(&round_rtt);
				continue;
			}
			/* wait (up to 2 s) for the follower to get the last commit */
			uint64_t last = cm[nc - 1].idx, until = now_ns() + 2000000000ull;
			while (atomic_load(&f.next) <= last && now_ns() < until)
				usleep(200);
			struct sam round_lag = {0};
			for (size_t i = 0; i < nc; i++) {
				if (cm[i].idx < base || cm[i].idx - base >= SLOTS)
					die("replication_index %llu outside the follower's range",
					    (unsigned long long)cm[i].idx);
				uint64_t a = atomic_load(&arrive[cm[i].idx - base]);
				if (!a) {
					missing++;
					continue;
				}
				sam_add(&lag_resp, (int64_t)a - (int64_t)cm[i].t_resp);
				sam_add(&lag_send, (int64_t)a - (int64_t)cm[i].t_send);
				sam_add(&round_lag, (int64_t)a - (int64_t)cm[i].t_resp);
			}
			rp99[r] = sam_pct_us(&round_lag, 99);
			sam_free(&round_lag);
			lat_free(&round_rtt);
			ncommits_fol += nc;
			frames_fol += atomic_load(&f.frames);
			follower_stop(&f);
		}
	}
	bool contested = rb_contention(&snap, idle_before);
	ws_close(&w);
	int rc = sqld_stop(&s);
	if (rc != 0)
		printf("  NOTE: sqld exited with status %d after SIGTERM\n", rc);

	printf("  %-40s %9s %10s %10s\n", "", "samples", "p50 us", "p99 us");
	printf("  %-40s %9zu %10.1f %10.1f\n", "INSERT round trip, no follower (baseline)", rtt_plain.n,
	       lat_pct_us(&rtt_plain, 50), lat_pct_us(&rtt_plain, 99));
	printf("  %-40s %9zu %10.1f %10.1f\n", "INSERT round trip, follower streaming", rtt_fol.n,
	       lat_pct_us(&rtt_fol, 50), lat_pct_us(&rtt_fol, 99));
	printf("  %-40s %9zu %10.1f %10.1f\n", "lag from the commit's response", lag_resp.n, sam_pct_us(&lag_resp, 50),
	       sam_pct_us(&lag_resp, 99));
	printf("  %-40s %9zu %10.1f %10.1f\n", "lag from just before sending the INSERT", lag_send.n,
	       sam_pct_us(&lag_send, 50), sam_pct_us(&lag_send, 99));
	printf("  %-40s %.3f (frames streamed / commits); %zu of %zu ticks late; frame never seen: %zu\n",
	       "frames per commit", ncommits_fol ? (double)frames_fol / (double)ncommits_fol : 0.0, late_ticks, ticks,
	       missing);
	double mn = 1e300, mx = -1e300;
	for (int r = 0; r < RO.lag_rounds; r++) {
		if (rp99[r] < mn)
			mn = rp99[r];
		if (rp99[r] > mx)
			mx = rp99[r];
	}
	double base50 = lat_pct_us(&rtt_plain, 50), base99 = lat_pct_us(&rtt_plain, 99);
	printf("  %-40s p50 %6.2fx   p99 %6.2fx\n", "lag / INSERT round trip (no follower)",
	       sam_pct_us(&lag_resp, 50) / base50, sam_pct_us(&lag_resp, 99) / base99);
	printf("  %-40s p50 %6.2fx   p99 %6.2fx\n", "(response + lag) / round trip",
	       (base50 + sam_pct_us(&lag_resp, 50)) / base50, (base99 + sam_pct_us(&lag_resp, 99)) / base99);
	double p99ms = sam_pct_ms(&lag_resp, 99);
	printf("  %-40s %.3f ms (rounds %.3f-%.3f)   target <= 5 ms", "replication lag p99", p99ms, mn / 1000,
	       mx / 1000);
	rb_verdict(p99ms <= 5.0 && missing == 0, contested);
	printf("\n\n");
	free(cm);
	lat_free(&rtt_plain);
	lat_free(&rtt_fol);
	sam_free(&lag_resp);
	sam_free(&lag_send);
}
