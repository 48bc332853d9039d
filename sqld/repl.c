/* repl: see repl.h.
 *
 * Calls. Every request becomes a struct repl_call. Hello and every error
 * found before any work (unknown method, bad namespace, NO_HELLO, a body
 * that is not one well-formed message) are answered at once on the network
 * thread; the rest run as jobs (struct work_job) on the workers, which
 * build the whole response body (gRPC-web frames and trailers) in c->out;
 * the completion hands it to net (ops.out) on the network thread.
 *
 *   BatchLogEntries  one job: rlog_span_open (where the answer ends; it
 *                    pins the log file, so a compaction meanwhile cannot
 *                    take the frames), rlog_span_read, one Frames message,
 *                    trailers. An answer of more than REPL_BATCH_PIECE
 *                    frames (a bulk load commits transactions of tens of
 *                    MB, and a batch never ends mid-transaction) is sent
 *                    like a Snapshot instead: the first job emits the
 *                    gRPC-web header for the whole message and the first
 *                    frames, each next job (after repl_continue) the next
 *                    REPL_BATCH_PIECE frames, the last one the trailers.
 *                    Memory stays bounded and sqld reads the next piece
 *                    while net and the replica move the previous one.
 *   Snapshot         a stream: a job per chunk of REPL_STREAM_FRAMES frames,
 *                    one Frame message each; the next job starts when net
 *                    has written the chunk (repl_continue); the last chunk
 *                    carries the trailers.
 *   LogEntries       a stream that never ends by itself: the response head
 *                    goes out at once (an empty first chunk, so the
 *                    follower's call returns), then a job per chunk of
 *                    committed frames. When a job finds nothing new the
 *                    stream waits holding no worker and no thread: the
 *                    watcher thread sleeps in rlog_wait and, when the log
 *                    grows (or changes lineage), queues the notify job
 *                    whose completion resubmits every waiting stream.
 *   Proxy calls      queued per client_id (struct repl_client) and run one
 *                    at a time, in order, on the client's own connection.
 *
 * Session tokens. The token is a UUID string derived from a random secret
 * made at repl_init and the log's current log_id: it changes on restart
 * and when the log starts a new lineage (rlog_reset), so a replica that
 * followed the old lineage gets NO_HELLO, says Hello again, sees the new
 * log_id and starts over, instead of mixing frames of two lineages. Jobs
 * also check the log_id of the frames they read against the one the token
 * stood for.
 *
 * Invariants
 *  - A call is in exactly one of these states: submitted (a job on a worker
 *    or the completion queue), queued behind its proxy client's running
 *    call, awaiting (a stream chunk is with net until repl_continue),
 *    waiting (LogEntries caught up). It is freed on the network thread
 *    only: after its last out(), on repl_cancel when nothing is in flight,
 *    or by the completion of its job once cancelled.
 *  - A proxy client's connection is opened and closed only by its jobs on
 *    a worker; a client has at most one job running. A client with no job,
 *    no queue and no connection is freed.
 *  - The worker side of a call touches only the call, its client's
 *    connection, the rlog (thread-safe) and pure codecs.
 *
 * Threads: the network thread for everything except call_run and the
 * repl_run_* functions it calls (workers; repl_log.c, repl_proxy.c) and
 * watch_main (the watcher thread, which shares only R.mu-guarded fields).
 * The module's files: repl_int.h. */
#include "repl_int.h"
#include "hex.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct repl_state R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

int64_t repl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- UUIDs and session tokens ---- */

static void repl_uuid_format(unsigned char b[16], char out[REPL_UUID_LEN + 1])
{
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	out[k] = 0;
}

static int repl_random(unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The session token that stands for (this process, log_id). */
void repl_token(const char *log_id, char out[REPL_UUID_LEN + 1])
{
	unsigned char b[16];
	memcpy(b, R.secret, 16);
	size_t k = 0;
	for (const char *p = log_id; *p; p++) {
		int v = hex_digit((unsigned char)*p);
		if (v < 0)
			continue;
		b[(k / 2) % 16] ^= (unsigned char)(k % 2 ? v : v << 4);
		k++;
	}
	repl_uuid_format(b, out);
}




/* ---- calls ---- */

static void call_run(struct work_job *w);
static void call_done(struct work_job *w);

struct repl_call *repl_call_new(enum repl_method m, struct ns *ns, void *owner, struct arena *a)
{
	struct repl_call *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->m = m;
	c->ns = ns_ref(ns);
	c->owner = owner;
	c->a = a;
	c->w.run = call_run;
	c->w.done = call_done;
	arena_init(&c->out_a);
	buf_init(&c->out);
	rlog_batch_init(&c->batch);
	c->lnext = R.calls;
	if (R.calls)
		R.calls->prev = c;
	R.calls = c;
	if (m == M_LOG_ENTRIES) {
		pthread_mutex_lock(&R.mu);
		if (R.nstreams++ == 0) {
			/* commits from now on must be noticed: before the first read */
			R.notified_seq = R.commit_seq;
			pthread_cond_broadcast(&R.cv);
		}
		pthread_mutex_unlock(&R.mu);
	}
	return c;
}

static void call_free(struct repl_call *c)
{
	if (c->prev)
		c->prev->lnext = c->lnext;
	else
		R.calls = c->lnext;
	if (c->lnext)
		c->lnext->prev = c->prev;
	if (c->m == M_LOG_ENTRIES) {
		pthread_mutex_lock(&R.mu);
		R.nstreams--;
		pthread_mutex_unlock(&R.mu);
	}
	rlog_snapshot_close(c->snap);
	rlog_span_close(&c->span);
	rlog_batch_free(&c->batch);
	buf_free(&c->out);
	arena_free(&c->out_a);
	sess_arena_free(c->a);
	ns_put(c->ns);
	free(c);
}

/* Hands c->out to net as the next piece of the body; the last one (more ==
 * false) also ends the handle's life as far as net is concerned. */
void repl_call_emit(struct repl_call *c, bool more)
{
	void *owner = c->owner;
	if (!more)
		c->owner = NULL;
	if (owner && !more && R.ops.out_buf && c->out.p)
		R.ops.out_buf(owner, &c->out);
	else if (owner)
		R.ops.out(owner, c->out.p ? c->out.p : "", c->out.len, more);
	buf_free(&c->out);
}

void repl_call_submit(struct repl_call *c)
{
	R.busy++;
	c->submitted = true;
	c->waiting = false;
	c->finished = false;
	buf_free(&c->out);
	work_submit(&c->w);
}

/* Answers a call that has no handle yet with a trailers-only body. */
void repl_answer_status(void *owner, int status, const char *msg)
{
	struct buf b;
	buf_init(&b);
	grpcweb_encode_trailers(&b, status, msg);
	R.ops.out(owner, b.p, b.len, false);
	buf_free(&b);
}

/* Ends a stream that has nothing in flight with a trailer chunk. */
static void stream_end(struct repl_call *c, int status, const char *msg)
{
	buf_free(&c->out);
	grpcweb_encode_trailers(&c->out, status, msg);
	repl_call_emit(c, false);
	call_free(c);
}

static void stream_end_stopping(struct repl_call *c)
{
	/* a cut snapshot must not look complete; a log stream ends between
	 * transactions, which is a clean end */
	if (c->m == M_SNAPSHOT || c->m == M_BATCH)
		stream_end(c, GRPC_STATUS_UNAVAILABLE, "the server is shutting down");
	else
		stream_end(c, GRPC_STATUS_OK, NULL);
}

static void call_run(struct work_job *w)
{
	struct repl_call *c = (struct repl_call *)w;
	arena_free(&c->out_a);
	if ((c->m == M_BATCH || c->m == M_LOG_ENTRIES || c->m == M_SNAPSHOT) && ns_deleted(c->ns)) {
		repl_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NAMESPACE_DOESNT_EXIST");
		return;
	}
	switch (c->m) {
	case M_BATCH:
		repl_run_batch(c);
		break;
	case M_LOG_ENTRIES:
		repl_run_log_entries(c);
		break;
	case M_SNAPSHOT:
		repl_run_snapshot(c);
		break;
	case M_EXECUTE:
		repl_run_execute(c);
		break;
	case M_DESCRIBE:
		repl_run_describe(c);
		break;
	case M_DISCONNECT:
	case M_CLOSE:
		db_conn_close(c->cl->conn); /* rolls back */
		c->cl->conn = NULL;
		if (c->m == M_DISCONNECT) {
			grpcweb_encode_data(&c->out, "", 0); /* proxy.Ack {} */
			repl_finish_ok(c);
		}
		break;
	default:
		repl_fail(c, GRPC_STATUS_INTERNAL, "unexpected job");
		break;
	}
}

/* ---- network side: completions ---- */

/* A stream's chunk is done. */
static void stream_after_run(struct repl_call *c)
{
	if (!c->owner) {
		call_free(c);
		return;
	}
	if (c->finished) {
		repl_call_emit(c, false);
		call_free(c);
		return;
	}
	if (c->out.len) {
		c->awaiting = true;
		repl_call_emit(c, true);
		return;
	}
	/* LogEntries, caught up */
	if (R.stopping) {
		stream_end_stopping(c);
		return;
	}
	struct rlog_stat st;
	rlog_stat(ns_log(c->ns), &st);
	if (st.next_frame_no > c->next || strcmp(st.log_id, c->log_id) != 0)
		repl_call_submit(c); /* a commit (or a new lineage) came meanwhile */
	else
		c->waiting = true; /* the watcher wakes it (notify_done) */
}

static void call_done(struct work_job *w)
{
	struct repl_call *c = (struct repl_call *)w;
	R.busy--;
	c->submitted = false;
	switch (c->m) {
	case M_EXECUTE:
	case M_DESCRIBE:
	case M_DISCONNECT:
	case M_CLOSE: {
		struct repl_client *cl = c->cl;
		cl->running = NULL;
		cl->last_ms = repl_now_ms();
		if (c->m != M_CLOSE)
			repl_call_emit(c, false);
		call_free(c);
		repl_client_pump(cl);
		return;
	}
	case M_LOG_ENTRIES:
	case M_SNAPSHOT:
		stream_after_run(c);
		return;
	case M_BATCH:
		if (c->piecewise) {
			stream_after_run(c);
			return;
		}
		repl_call_emit(c, false);
		call_free(c);
		return;
	default:
		repl_call_emit(c, false);
		call_free(c);
		return;
	}
}

/* ---- the commit watcher ---- */

static void notify_run(struct work_job *w)
{
	(void)w;
}

static void notify_done(struct work_job *w)
{
	(void)w;
	pthread_mutex_lock(&R.mu);
	R.notify_pending = false; /* first: a commit from now on queues another */
	pthread_mutex_unlock(&R.mu);
	for (struct repl_call *c = R.calls, *n; c; c = n) {
		n = c->lnext;
		if (c->m != M_LOG_ENTRIES || !c->waiting)
			continue;
		if (R.stopping) {
			stream_end_stopping(c);
			continue;
		}
		/* only the streams whose namespace's log moved */
		struct rlog_stat st;
		rlog_stat(ns_log(c->ns), &st);
		if (st.next_frame_no > c->next || strcmp(st.log_id, c->log_id) != 0)
			repl_call_submit(c);
	}
}

void repl_commit_hook(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.mu);
	R.commit_seq++;
	if (R.nstreams)
		pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

/* Waits for repl_commit_hook (any namespace's capture) while LogEntries
 * streams exist, and queues the notify job, which resubmits the waiting
 * streams whose log moved. */
static void *watch_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.mu);
	while (!R.watch_stop) {
		if (!R.nstreams || R.commit_seq == R.notified_seq) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += REPL_WATCH_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L)
				ts.tv_sec++, ts.tv_nsec -= 1000000000L;
			pthread_cond_timedwait(&R.cv, &R.mu, &ts);
			continue;
		}
		R.notified_seq = R.commit_seq;
		if (!R.notify_pending) {
			R.notify_pending = true;
			pthread_mutex_unlock(&R.mu);
			work_submit(&R.notify);
			pthread_mutex_lock(&R.mu);
		}
	}
	pthread_mutex_unlock(&R.mu);
	return NULL;
}

/* ---- entry points ---- */

int repl_init(const struct repl_ops *ops, struct err *e)
{
	if (R.on)
		return err_set(e, "repl: already started");
	R.ops = *ops;
	R.calls = NULL;
	R.clients = NULL;
	R.nclients = 0;
	R.busy = 0;
	R.stopping = false;
	R.watch_stop = false;
	R.nstreams = 0;
	R.notify_pending = false;
	R.notify.run = notify_run;
	R.notify.done = notify_done;
	unsigned char gen[16];
	if (repl_random(R.secret, sizeof R.secret) || repl_random(gen, sizeof gen))
		return err_set(e, "repl: cannot get random bytes");
	repl_uuid_format(gen, R.generation_id);
	if (pthread_create(&R.watcher, NULL, watch_main, NULL))
		return err_set(e, "repl: cannot start the commit watcher thread");
	R.watcher_started = true;
	R.on = true;
	return 0;
}

void repl_stop(void)
{
	if (!R.on || R.stopping)
		return;
	R.stopping = true;
	for (struct repl_call *c = R.calls, *n; c; c = n) {
		n = c->lnext;
		if ((c->m == M_LOG_ENTRIES || c->m == M_SNAPSHOT) && c->waiting)
			stream_end_stopping(c);
	}
}

void repl_shutdown(void)
{
	if (!R.on)
		return;
	repl_stop();
	pthread_mutex_lock(&R.mu);
	R.watch_stop = true;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
	if (R.watcher_started)
		pthread_join(R.watcher, NULL);
	R.watcher_started = false;
	/* net is gone: what is not in flight goes now */
	for (struct repl_call *c = R.calls, *n; c; c = n) {
		n = c->lnext;
		c->owner = NULL;
		if (c->queued)
			repl_client_unqueue(c);
		if (!c->submitted)
			call_free(c);
	}
	/* every proxy connection closes (rolling back) on a worker */
	for (struct repl_client *cl = R.clients, *n; cl; cl = n) {
		n = cl->next;
		if (cl->conn || cl->running)
			repl_client_close_later(cl);
		else
			repl_client_free(cl);
	}
	for (;;) {
		pthread_mutex_lock(&R.mu);
		bool pending = R.notify_pending;
		pthread_mutex_unlock(&R.mu);
		if (!R.busy && !pending)
			break;
		ns_interrupt_all();
		work_drain();
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	while (R.clients) /* normally freed by their close jobs already */
		repl_client_free(R.clients);
	while (R.calls)
		call_free(R.calls);
	R.on = false;
}

void repl_tick(void)
{
	if (!R.on)
		return;
	int64_t now = repl_now_ms();
	for (struct repl_client *cl = R.clients, *n; cl; cl = n) {
		n = cl->next;
		if (cl->running || cl->qhead)
			continue;
		if (!cl->conn)
			repl_client_free(cl);
		else if (now - cl->last_ms > REPL_CLIENT_IDLE_MS) {
			log_debug("proxy client %s idle for %d s: closing its connection", cl->id, REPL_CLIENT_IDLE_MS / 1000);
			repl_client_close_later(cl);
		}
	}
	/* a safety net under the watcher: no stream waits past a commit */
	if (R.stopping)
		return;
	struct rlog_stat st;
	for (struct repl_call *c = R.calls; c; c = c->lnext) {
		if (c->m != M_LOG_ENTRIES || !c->waiting)
			continue;
		rlog_stat(ns_log(c->ns), &st);
		if (st.next_frame_no > c->next || strcmp(st.log_id, c->log_id) != 0)
			repl_call_submit(c);
	}
}

size_t repl_busy_jobs(void)
{
	if (!R.on)
		return 0;
	pthread_mutex_lock(&R.mu);
	size_t n = R.busy + (R.notify_pending ? 1 : 0);
	pthread_mutex_unlock(&R.mu);
	return n;
}

void repl_continue(struct repl_call *c)
{
	if (!c)
		return;
	c->awaiting = false;
	if (R.stopping) {
		stream_end_stopping(c);
		return;
	}
	repl_call_submit(c);
}

void repl_cancel(struct repl_call *c)
{
	if (!c)
		return;
	c->owner = NULL;
	if (c->submitted)
		return; /* the completion frees it */
	if (c->queued) {
		struct repl_client *cl = c->cl;
		repl_client_unqueue(c);
		call_free(c);
		repl_client_pump(cl);
		return;
	}
	call_free(c); /* a stream between chunks, or waiting for commits */
}
