/* capov: section 6, capture overhead, in-process, no network.
 *
 * Capture on: the database opened the way sqld's main.c does it (db_open on
 * a directory, cap_open with <dir>/wallog, db_set_cap, db_conn_open ->
 * db_conn_sqlite), so every commit goes through the "sqlwire" VFS and is
 * copied from the WAL into the frame log before the write lock is released;
 * synchronous=FULL; SQLite's auto-checkpoint off, cap's WAL hook (cap_wal_hook)
 * runs a PASSIVE checkpoint inside the commit that leaves CAP_CKPT_FRAMES
 * frames in the WAL: SQLite's default policy, owned by sqld.
 *
 * Baseline (the target's): SQLite's default policy (wal_autocheckpoint=1000,
 * the checkpoint runs inside the commit that crosses it) on
 * <dir>/plain-autockpt.db, page_size 4096, journal_mode=WAL,
 * synchronous=FULL. What differs is capture itself: the VFS wrapper, reading
 * the committed frames out of the WAL, appending them to the log (written,
 * not fsync'd). Also shown, for information: "plain" on <dir>/plain.db with
 * a background checkpointer (wal_autocheckpoint off, a WAL hook that wakes a
 * thread of ours which runs a PASSIVE checkpoint on its own connection once
 * the WAL holds CAP_CKPT_FRAMES frames; cap's policy before 17:30 on
 * 2026-11-24).
 *
 * Work: single-row autocommit INSERT INTO ins(v) VALUES (?), one prepared
 * statement per connection, one thread; rounds, every target for --cap-ms
 * per round, in alternating order. Also shown: the disk write requests and
 * cache flushes per commit of each target (whole-disk counters, so other
 * processes' writes count too): a commit of either costs one flush, and
 * capture must not add write requests (it once did: a stat of the -wal made
 * every fdatasync also write the inode). */
#include "rb.h"
#include "cap.h"
#include "db.h"
#include "log.h"
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INS_CAP "INSERT INTO ins(v) VALUES (?)"
#define INS_DDL "CREATE TABLE IF NOT EXISTS ins(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"

/* the baseline's checkpointer, cap's policy */
struct ckpt {
	sqlite3 *db;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kick, stop;
	long runs;
	int max_frames; /* the largest WAL seen after a commit */
};

/* Observes the capture connection's WAL size (sqld sets no WAL hook of its
 * own: auto-checkpoint is off). */
static int obs_wal_hook(void *arg, sqlite3 *db, const char *name, int nframes)
{
	(void)db, (void)name;
	int *max = arg;
	if (nframes > *max)
		*max = nframes;
	return cap_wal_hook(NULL, db, name, nframes); /* what sqld's connections run */
}

static int plain_wal_hook(void *arg, sqlite3 *db, const char *name, int nframes)
{
	(void)db, (void)name;
	struct ckpt *k = arg;
	if (nframes > k->max_frames)
		k->max_frames = nframes;
	if (nframes >= CAP_CKPT_FRAMES) {
		pthread_mutex_lock(&k->mu);
		k->kick = true;
		pthread_cond_signal(&k->cv);
		pthread_mutex_unlock(&k->mu);
	}
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	struct ckpt *k = arg;
	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		if (!k->kick) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&k->cv, &k->mu, &ts);
		}
		if (k->stop)
			break;
		bool kick = k->kick;
		k->kick = false;
		pthread_mutex_unlock(&k->mu);
		if (kick) {
			int nlog, nckpt;
			sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
			k->runs++;
		}
		pthread_mutex_lock(&k->mu);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static void x(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("sqlite: %s: %s", sql, err);
}

static sqlite3 *plain_open(const char *path, bool autockpt)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		die("open %s: %s", path, sqlite3_errmsg(db));
	x(db, "PRAGMA page_size=4096");
	x(db, "PRAGMA journal_mode=WAL");
	x(db, "PRAGMA synchronous=FULL");
	if (!autockpt)
		sqlite3_wal_autocheckpoint(db, 0);
	return db;
}

struct tgt {
	const char *name;
	sqlite3 *db;
	sqlite3_stmt *ins;
	struct lat all;
	long long commits, disk_writes, disk_flushes;
	double p50[64], p99[64];
};

static long seq;

static void ins_one(struct tgt *t)
{
	char v[96];
	int n = snprintf(v, sizeof v, "ins-%ld-abcdefghijklmnopqrstuvwxyz", seq++);
	sqlite3_bind_text(t->ins, 1, v, n, SQLITE_TRANSIENT);
	if (sqlite3_step(t->ins) != SQLITE_DONE || sqlite3_changes(t->db) != 1)
		die("%s insert: %s", t->name, sqlite3_errmsg(t->db));
	sqlite3_reset(t->ins);
}

static void prep(struct tgt *t)
{
	x(t->db, INS_DDL);
	if (sqlite3_prepare_v2(t->db, INS_CAP, -1, &t->ins, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(t->db));
}

static double ratio_min(struct tgt *a, struct tgt *b, int n, bool p99)
{
	double m = 1e300;
	for (int i = 0; i < n; i++) {
		double r = p99 ? a->p99[i] / b->p99[i] : a->p50[i] / b->p50[i];
		m = r < m ? r : m;
	}
	return m;
}

static double ratio_max(struct tgt *a, struct tgt *b, int n, bool p99)
{
	double m = 0;
	for (int i = 0; i < n; i++) {
		double r = p99 ? a->p99[i] / b->p99[i] : a->p50[i] / b->p50[i];
		m = r > m ? r : m;
	}
	return m;
}

void sec_capture(void)
{
	printf("6. Capture overhead, in-process, no network: single-row autocommit INSERT, prepared, 1 thread\n");
	printf("   (capture = libsqld's db_open + cap_open + db_set_cap + db_conn_open; plain = sqlite3 on another file in\n");
	printf("   the same directory; both WAL, synchronous=FULL, 4096-byte pages, a PASSIVE checkpoint inside the commit\n");
	printf("   that leaves %d frames in the WAL (SQLite's default; cap's hook for capture); %d rounds x %d ms per target)\n",
	       CAP_CKPT_FRAMES, RO.cap_rounds, RO.cap_ms);
	fflush(stdout);
	if (RO.cap_rounds > 64)
		die("--cap-rounds at most 64");
	log_level = LOG_WARN;
	char dir[4096], logdir[4200], plain[4200], plain2[4200];
	snprintf(dir, sizeof dir, "%s/capture", RO.dir);
	snprintf(logdir, sizeof logdir, "%s/wallog", dir);
	snprintf(plain, sizeof plain, "%s/plain.db", dir);
	snprintf(plain2, sizeof plain2, "%s/plain-autockpt.db", dir);

	struct err e = {{0}};
	struct db *db = NULL;
	struct db_opts dopts = {.dir = dir};
	if (db_open(&dopts, &db, &e))
		die("db_open: %s", e.msg);
	struct cap_opts copts = {
		.db_path = db_path(db),
		.log_dir = logdir,
		.max_log_bytes = (uint64_t)200 * 1000 * 1000, /* sqld's default --max-log-size */
	};
	struct cap *cap = NULL;
	struct cap_open_info cinfo;
	if (cap_open(&copts, &cap, &cinfo, &e))
		die("cap_open: %s", e.msg);
	db_set_cap(db, cap);
	struct db_conn *conn = NULL;
	if (db_conn_open(db, &conn, &e))
		die("db_conn_open: %s", e.msg);

	struct tgt t[3] = {{.name = "capture (libsqld)"}, {.name = "plain, bg checkpointer (info)"},
			   {.name = "plain SQLite (inline autockpt)"}};
	t[0].db = db_conn_sqlite(conn);
	prep(&t[0]);
	t[1].db = plain_open(plain, false);
	struct ckpt k = {0};
	pthread_mutex_init(&k.mu, NULL);
	pthread_cond_init(&k.cv, NULL);
	k.db = plain_open(plain, false);
	prep(&t[1]);
	x(k.db, "SELECT count(*) FROM sqlite_schema");
	sqlite3_wal_hook(t[1].db, plain_wal_hook, &k);
	if (pthread_create(&k.thr, NULL, ckpt_main, &k))
		die("pthread_create failed");
	t[2].db = plain_open(plain2, true);
	prep(&t[2]);
	int nt = 3;

	for (int i = 0; i < nt; i++)
		for (int j = 0; j < 200; j++)
			ins_one(&t[i]);
	int cap_max_frames = 0;
	sqlite3_wal_hook(t[0].db, obs_wal_hook, &cap_max_frames);
	k.max_frames = 0;
	k.runs = 0;
	uint64_t first_commit = 0, last_commit = 0;
	cap_last_commit(cap, &first_commit);
	long commits_cap = 0, commits_plain = 0;

	double idle_before = rb_idle_disk(300);
	struct rb_snap snap;
	rb_snap_take(&snap);
	for (int r = 0; r < RO.cap_rounds; r++) {
		for (int j = 0; j < nt; j++) {
			int i = r % 2 ? nt - 1 - j : j;
			struct lat l = {0};
			long long w0, f0, w1, f1;
			rb_disk_ios(&w0, &f0);
			uint64_t stop = now_ns() + (uint64_t)RO.cap_ms * 1000000u;
			for (;;) {
				uint64_t t0 = now_ns();
				if (t0 >= stop)
					break;
				ins_one(&t[i]);
				uint64_t t1 = now_ns();
				lat_add(&l, t1 - t0);
				t[i].commits++;
				if (i == 0)
					commits_cap++;
				if (i == 1)
					commits_plain++;
			}
			rb_disk_ios(&w1, &f1);
			t[i].disk_writes += w1 - w0;
			t[i].disk_flushes += f1 - f0;
			t[i].p50[r] = lat_pct_us(&l, 50);
			t[i].p99[r] = lat_pct_us(&l, 99);
			lat_merge(&t[i].all, &l);
			lat_free(&l);
		}
	}
	bool contested = rb_contention(&snap, idle_before);
	cap_last_commit(cap, &last_commit);

	printf("  %-34s %9s %10s %10s %14s %14s\n", "", "samples", "p50 us", "p99 us", "disk writes/c", "flushes/c");
	for (int i = 0; i < nt; i++)
		printf("  %-34s %9zu %10.1f %10.1f %14.2f %14.2f\n", t[i].name, t[i].all.n, lat_pct_us(&t[i].all, 50),
		       lat_pct_us(&t[i].all, 99), t[i].commits ? (double)t[i].disk_writes / (double)t[i].commits : 0.0,
		       t[i].commits ? (double)t[i].disk_flushes / (double)t[i].commits : 0.0);
	printf("  %-34s %.2f frames logged per commit; largest WAL after a commit: capture %d frames, plain %d\n",
	       "capture", commits_cap ? (double)(last_commit - first_commit) / (double)commits_cap : 0.0,
	       cap_max_frames, k.max_frames);
	printf("  %-34s %ld PASSIVE checkpoints by the background thread for %ld commits\n", "plain", k.runs,
	       commits_plain);
	double r50 = lat_pct_us(&t[0].all, 50) / lat_pct_us(&t[2].all, 50);
	double r99 = lat_pct_us(&t[0].all, 99) / lat_pct_us(&t[2].all, 99);
	printf("  %-34s p50 %5.2fx (rounds %.2f-%.2f)   p99 %5.2fx (rounds %.2f-%.2f)\n", "capture / plain", r50,
	       ratio_min(&t[0], &t[2], RO.cap_rounds, false), ratio_max(&t[0], &t[2], RO.cap_rounds, false), r99,
	       ratio_min(&t[0], &t[2], RO.cap_rounds, true), ratio_max(&t[0], &t[2], RO.cap_rounds, true));
	printf("  %-34s p50 %5.2fx   p99 %5.2fx\n", "capture / plain bg checkpointer",
	       lat_pct_us(&t[0].all, 50) / lat_pct_us(&t[1].all, 50), lat_pct_us(&t[0].all, 99) / lat_pct_us(&t[1].all, 99));
	printf("  %-34s p50 %.2fx, p99 %.2fx   target <= 1.10x (both)", "capture overhead", r50, r99);
	rb_verdict(r50 <= 1.10 && r99 <= 1.10, contested);
	printf("\n");

	for (int i = 0; i < nt; i++) {
		sqlite3_finalize(t[i].ins);
		lat_free(&t[i].all);
	}
	pthread_mutex_lock(&k.mu);
	k.stop = true;
	pthread_cond_signal(&k.cv);
	pthread_mutex_unlock(&k.mu);
	pthread_join(k.thr, NULL);
	sqlite3_close(k.db);
	sqlite3_close(t[1].db);
	sqlite3_close(t[2].db);
	db_conn_close(conn);
	cap_close(cap);
	db_close(db);
}
