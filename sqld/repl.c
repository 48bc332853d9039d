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
 * Threads: the network thread for everything except call_run (workers) and
 * watch_main (the watcher thread, which shares only R.mu-guarded fields). */
#include "repl.h"
#include "db.h"
#include "exec.h"
#include "frame.h"
#include "grpcweb.h"
#include "log.h"
#include "metrics.h"
#include "ns.h"
#include "replpb.h"
#include "rlog.h"
#include "sess.h"
#include "work.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define REPL_BATCH_FRAMES 1024   /* BatchLogEntries: frames per answer (then to the commit) */
#define REPL_STREAM_FRAMES 256   /* LogEntries / Snapshot: frames per chunk (~1 MB) */
#define REPL_BATCH_PIECE 256     /* BatchLogEntries answers longer than this go out in pieces */
#define REPL_MAX_MSG_LOG ((size_t)1 << 20)  /* HelloRequest / LogOffset are a few bytes */
#define REPL_MAX_MSG_PROXY ((size_t)8 << 20)
#define REPL_MAX_RESPONSE ((size_t)10 << 20) /* Proxy results, estimated like Hrana's */
#define REPL_CLIENT_IDLE_MS 30000
#define REPL_MAX_CLIENTS 512
#define REPL_MAX_CLIENT_ID 128
#define REPL_WATCH_MS 250        /* the watcher's rlog_wait bound (shutdown latency) */
#define REPL_UUID_LEN 36

#define REPL_PFX_LOG "/wal_log.ReplicationLog/"
#define REPL_PFX_PROXY "/proxy.Proxy/"

enum repl_method {
	M_NONE = 0,
	M_HELLO,
	M_LOG_ENTRIES,
	M_BATCH,
	M_SNAPSHOT,
	M_EXECUTE,
	M_DESCRIBE,
	M_DISCONNECT,
	M_CLOSE, /* internal: closes an idle proxy client's connection */
};

struct repl_client {
	char id[REPL_MAX_CLIENT_ID + 1];
	struct ns *ns;             /* the namespace it was made for (a reference) */
	struct db_conn *conn;      /* worker-owned: opened / closed by the client's jobs */
	struct repl_call *running; /* the job in flight, at most one */
	struct repl_call *qhead, *qtail;
	int64_t last_ms;
	struct repl_client *next;
};

struct repl_call {
	struct work_job w; /* first: jobs are cast back to calls */
	enum repl_method m;
	struct ns *ns;     /* the call's namespace (a reference) */
	void *owner;       /* NULL once answered or cancelled */
	struct arena *a;   /* the request: body, metadata, decoded message (owned) */
	struct arena out_a;/* results of the last run */
	struct buf out;    /* response bytes made by the last run */
	bool finished;     /* out ends the response (it holds the trailers) */
	bool submitted;
	bool queued;
	bool awaiting;
	bool waiting;
	unsigned allow;    /* the credential's grant (repl_md.allow): what proxy statements may do */
	/* replication */
	char log_id[RLOG_ID_STRLEN + 1]; /* the lineage the session token stood for */
	uint64_t next;                   /* next frame_no wanted */
	struct rlog_snap *snap;
	uint64_t snap_sent;
	bool piecewise;    /* BatchLogEntries sent in pieces, frames [next, span.end) */
	struct rlog_span span; /* pins the log file holding them (a compaction meanwhile cannot take them) */
	struct rlog_batch batch;
	/* proxy */
	struct repl_client *cl;
	struct replpb_program_req prog;
	struct replpb_describe_req desc;
	struct repl_call *qnext;
	/* every call not yet freed */
	struct repl_call *prev, *lnext;
};

static struct {
	bool on;
	struct repl_ops ops;
	unsigned char secret[16];
	char generation_id[REPL_UUID_LEN + 1];
	struct repl_call *calls;
	struct repl_client *clients;
	size_t nclients;
	size_t busy; /* call jobs submitted and not done */
	bool stopping;
	/* the commit watcher; these fields are guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t watcher;
	bool watcher_started;
	bool watch_stop;
	size_t nstreams;       /* LogEntries streams alive */
	uint64_t commit_seq;   /* bumped by repl_commit_hook: some namespace committed */
	uint64_t notified_seq; /* the commit_seq the last notification covered */
	bool notify_pending;   /* the notify job is submitted and not done */
	struct work_job notify;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int64_t repl_now_ms(void)
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

static int repl_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The session token that stands for (this process, log_id). */
static void repl_token(const char *log_id, char out[REPL_UUID_LEN + 1])
{
	unsigned char b[16];
	memcpy(b, R.secret, 16);
	size_t k = 0;
	for (const char *p = log_id; *p; p++) {
		int v = repl_hexval(*p);
		if (v < 0)
			continue;
		b[(k / 2) % 16] ^= (unsigned char)(k % 2 ? v : v << 4);
		k++;
	}
	repl_uuid_format(b, out);
}

/* gRPC status names for the errors-by-code metric. */
static const char *repl_status_name(int status)
{
	static const char *const names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
	return status >= 0 && status <= 16 ? names[status] : "UNKNOWN";
}

/* Standard or URL-safe base64, padded or not (x-namespace-bin). */
static bool repl_base64_ok(const char *s)
{
	size_t n = strlen(s), pad = 0;
	while (n && s[n - 1] == '=')
		n--, pad++;
	if (pad > 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
		      ch == '/' || ch == '-' || ch == '_'))
			return false;
	}
	if (n % 4 == 1)
		return false;
	return !pad || (n + pad) % 4 == 0;
}

/* A header value without surrounding blanks, in the arena (NULL stays NULL). */
static const char *repl_trim(struct arena *a, const char *s)
{
	if (!s)
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return arena_strndup(a, s, n);
}

/* ---- calls ---- */

static void call_run(struct work_job *w);
static void call_done(struct work_job *w);

static struct repl_call *call_new(enum repl_method m, struct ns *ns, void *owner, struct arena *a)
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
static void call_emit(struct repl_call *c, bool more)
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

static void call_submit(struct repl_call *c)
{
	R.busy++;
	c->submitted = true;
	c->waiting = false;
	c->finished = false;
	buf_free(&c->out);
	work_submit(&c->w);
}

/* Answers a call that has no handle yet with a trailers-only body. */
static void answer_status(void *owner, int status, const char *msg)
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
	call_emit(c, false);
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

/* ---- proxy clients ---- */

static struct repl_client *client_find(struct ns *ns, const char *id)
{
	for (struct repl_client *cl = R.clients; cl; cl = cl->next)
		if (cl->ns == ns && strcmp(cl->id, id) == 0)
			return cl;
	return NULL;
}

static void client_free(struct repl_client *cl)
{
	for (struct repl_client **pp = &R.clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	R.nclients--;
	ns_put(cl->ns);
	free(cl);
}

/* Starts the client's next call, or frees an idle client that holds no
 * connection. May free cl. */
static void client_pump(struct repl_client *cl)
{
	if (cl->running)
		return;
	struct repl_call *c = cl->qhead;
	if (!c) {
		if (!cl->conn)
			client_free(cl);
		return;
	}
	cl->qhead = c->qnext;
	if (!cl->qhead)
		cl->qtail = NULL;
	c->qnext = NULL;
	c->queued = false;
	cl->running = c;
	call_submit(c);
}

static void client_push(struct repl_client *cl, struct repl_call *c)
{
	c->cl = cl;
	c->queued = true;
	c->qnext = NULL;
	if (cl->qtail)
		cl->qtail->qnext = c;
	else
		cl->qhead = c;
	cl->qtail = c;
	client_pump(cl);
}

static void client_unqueue(struct repl_call *c)
{
	struct repl_client *cl = c->cl;
	struct repl_call *prev = NULL;
	for (struct repl_call *q = cl->qhead; q; prev = q, q = q->qnext)
		if (q == c) {
			if (prev)
				prev->qnext = c->qnext;
			else
				cl->qhead = c->qnext;
			if (cl->qtail == c)
				cl->qtail = prev;
			break;
		}
	c->queued = false;
	c->qnext = NULL;
}

static void client_close_later(struct repl_client *cl)
{
	struct repl_call *c = call_new(M_CLOSE, cl->ns, NULL, NULL);
	client_push(cl, c);
}

/* ---- worker side ---- */

static void fail(struct repl_call *c, int status, const char *msg)
{
	buf_free(&c->out);
	grpcweb_encode_trailers(&c->out, status, msg);
	c->finished = true;
}

static void finish_ok(struct repl_call *c)
{
	grpcweb_encode_trailers(&c->out, GRPC_STATUS_OK, NULL);
	c->finished = true;
}

/* rlog errors as gRPC statuses. */
static void fail_rlog(struct repl_call *c, int rc, const struct err *e)
{
	if (rc == RLOG_NEED_SNAPSHOT) {
		fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NEED_SNAPSHOT");
		return;
	}
	log_error("replication: %s", e->msg);
	fail(c, GRPC_STATUS_INTERNAL, e->msg[0] ? e->msg : "frame log error");
}

static bool lineage_ok(struct repl_call *c)
{
	if (strcmp(c->batch.log_id, c->log_id) == 0)
		return true;
	fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NO_HELLO");
	return false;
}

/* Appends the batch's frames to c->out, one Frame message per gRPC frame. */
static void put_frame_messages(struct repl_call *c)
{
	for (size_t i = 0; i < c->batch.n; i++) {
		struct replpb_frame f = {.data = rlog_batch_frame(&c->batch, i), .len = FRAME_SIZE};
		size_t off = grpcweb_begin_data(&c->out);
		replpb_encode_frame(&c->out, &f);
		grpcweb_end_data(&c->out, off);
	}
}

/* The bytes replpb puts before a frame's data inside a Frames message (the
 * Frames.frames field header, then Frame.data's): the same for every frame,
 * since they all have FRAME_SIZE bytes and nothing else. Found once by
 * encoding a frame, so it is replpb's encoding by construction. */
static size_t frames_prefix_len;
static unsigned char frames_prefix[16];
static pthread_once_t frames_prefix_once = PTHREAD_ONCE_INIT;

static void frames_prefix_init(void)
{
	static unsigned char data[FRAME_SIZE];
	struct buf b;
	buf_init(&b);
	struct replpb_frame f = {.data = data, .len = FRAME_SIZE};
	replpb_frames_append(&b, &f);
	if (b.len <= FRAME_SIZE || b.len - FRAME_SIZE > sizeof frames_prefix)
		abort(); /* cannot happen: a tag and a length before the data */
	frames_prefix_len = b.len - FRAME_SIZE;
	memcpy(frames_prefix, b.p, frames_prefix_len);
	buf_free(&b);
}

/* The frames of c->batch, read with head/prefix room, become c->out: each
 * gets its protobuf header; the memory is handed over, not copied. */
static void batch_to_out(struct repl_call *c)
{
	for (size_t i = 0; i < c->batch.n; i++)
		memcpy(rlog_batch_frame(&c->batch, i) - frames_prefix_len, frames_prefix, frames_prefix_len);
	buf_free(&c->out);
	c->out.p = (char *)c->batch.data;
	c->out.len = rlog_batch_bytes(&c->batch);
	c->out.cap = rlog_batch_alloc(&c->batch); /* RLOG_BATCH_SLACK: the NUL, the trailers */
	c->out.p[c->out.len] = 0;
	c->batch.data = NULL;
	c->batch.cap = 0;
}

static void put_data_hdr(unsigned char *h, uint64_t n)
{
	h[0] = GRPCWEB_FLAG_DATA;
	h[1] = (unsigned char)(n >> 24);
	h[2] = (unsigned char)(n >> 16);
	h[3] = (unsigned char)(n >> 8);
	h[4] = (unsigned char)n;
}

/* The next piece of a BatchLogEntries answer sent in pieces. */
static void run_batch_piece(struct repl_call *c)
{
	struct err e = {{0}};
	bool first = c->batch.head != 0;
	uint64_t n = c->span.end - c->next;
	if (n > REPL_BATCH_PIECE)
		n = REPL_BATCH_PIECE;
	int rc = rlog_span_read(&c->span, c->next, (size_t)n, &c->batch, &e);
	if (rc) {
		/* the message is cut: the trailers say why (a new lineage; the
		 * span's frames themselves cannot go away) */
		if (rc == RLOG_ERESET)
			fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NO_HELLO");
		else
			fail_rlog(c, rc, &e);
		return;
	}
	if (first) /* the length of the whole Frames message */
		put_data_hdr(c->batch.data, (c->span.end - c->next) * (frames_prefix_len + FRAME_SIZE));
	batch_to_out(c);
	c->batch.head = 0;
	c->next += n;
	if (c->next == c->span.end) {
		rlog_span_close(&c->span);
		finish_ok(c);
	}
}

/* BatchLogEntries: the frames are read straight into the response (gRPC-web
 * header, then each frame after its protobuf field header), which then goes
 * to net as it is: no second copy. */
static void run_batch(struct repl_call *c)
{
	struct err e = {{0}};
	pthread_once(&frames_prefix_once, frames_prefix_init);
	c->batch.prefix = frames_prefix_len;
	if (c->piecewise) {
		run_batch_piece(c);
		return;
	}
	int rc = rlog_span_open(ns_log(c->ns), c->next, REPL_BATCH_FRAMES, &c->span, &e);
	if (rc) {
		fail_rlog(c, rc, &e);
		return;
	}
	memcpy(c->batch.log_id, c->span.log_id, sizeof c->batch.log_id);
	if (!lineage_ok(c))
		return;
	if (c->span.end - c->next > REPL_BATCH_PIECE) {
		if ((c->span.end - c->next) * (frames_prefix_len + FRAME_SIZE) > UINT32_MAX) {
			fail(c, GRPC_STATUS_INTERNAL, "a transaction too large for one gRPC-web message");
			return;
		}
		c->piecewise = true;
		c->batch.head = GRPCWEB_HDR_SIZE;
		run_batch_piece(c);
		return;
	}
	/* a short answer: read whole, one message */
	c->batch.head = GRPCWEB_HDR_SIZE;
	if (c->span.end > c->next)
		rc = rlog_span_read(&c->span, c->next, (size_t)(c->span.end - c->next), &c->batch, &e);
	rlog_span_close(&c->span);
	if (rc == RLOG_ERESET) {
		fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NO_HELLO");
	} else if (rc) {
		fail_rlog(c, rc, &e);
	} else {
		if (c->batch.n) {
			batch_to_out(c);
			grpcweb_end_data(&c->out, 0);
		} else {
			buf_free(&c->out);
			grpcweb_end_data(&c->out, grpcweb_begin_data(&c->out)); /* an empty Frames */
		}
		finish_ok(c);
	}
	rlog_batch_free(&c->batch);
	rlog_batch_init(&c->batch);
}

static void run_log_entries(struct repl_call *c)
{
	struct err e = {{0}};
	int rc = rlog_read(ns_log(c->ns), c->next, REPL_STREAM_FRAMES, &c->batch, &e);
	if (rc) {
		fail_rlog(c, rc, &e);
	} else if (lineage_ok(c) && c->batch.n) {
		put_frame_messages(c);
		c->next = frame_get_no(rlog_batch_frame(&c->batch, c->batch.n - 1)) + 1;
	}
	/* a follower may wait long between chunks: hold no buffer meanwhile */
	rlog_batch_free(&c->batch);
	rlog_batch_init(&c->batch);
}

static void run_snapshot(struct repl_call *c)
{
	struct err e = {{0}};
	int rc;
	if (!c->snap) {
		rc = rlog_snapshot_open(ns_log(c->ns), c->next, &c->snap, &e);
		if (rc == RLOG_ENOSNAPSHOT) {
			fail(c, GRPC_STATUS_UNAVAILABLE, "snapshot not found");
			return;
		}
		if (rc) {
			fail_rlog(c, rc, &e);
			return;
		}
	}
	rc = rlog_snapshot_read(c->snap, REPL_STREAM_FRAMES, &c->batch, &e);
	if (rc) {
		fail_rlog(c, rc, &e);
		return;
	}
	if (!lineage_ok(c))
		return;
	put_frame_messages(c);
	c->snap_sent += c->batch.n;
	if (c->batch.n == 0 || c->snap_sent >= rlog_snapshot_count(c->snap))
		finish_ok(c);
}

/* Opens the client's connection on first use and enters it. */
static struct db_conn *proxy_enter(struct repl_call *c)
{
	struct repl_client *cl = c->cl;
	if (ns_deleted(cl->ns)) {
		fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NAMESPACE_DOESNT_EXIST");
		return NULL;
	}
	if (!cl->conn) {
		struct err e = {{0}};
		if (db_conn_open(ns_db(cl->ns), &cl->conn, &e)) {
			log_error("proxy: %s", e.msg);
			fail(c, GRPC_STATUS_UNAVAILABLE, e.msg);
			return NULL;
		}
	}
	db_conn_enter(cl->conn);
	exec_set_allow(c->allow);
	return cl->conn;
}

static const char *const txn_timeout_msg = "Transaction timed out: it held the write lock too long while others waited";

/* proxy.Error of a statement error (PROTOCOL.md §8.2). */
static struct replpb_error *proxy_error(struct arena *a, const struct hr_error *he, bool timed_out)
{
	struct replpb_error *pe = ARENA_NEW(a, struct replpb_error);
	const char *code = he->code ? he->code : "";
	pe->message = he->message ? he->message : "";
	pe->extended_code = he->extended_code;
	if (timed_out || strcmp(code, HR_E_TRANSACTION_TIMEOUT) == 0) {
		pe->code = REPLPB_ERROR_TX_TIMEOUT;
		if (timed_out)
			pe->message = txn_timeout_msg;
	} else if (strcmp(code, HR_E_ARGS_INVALID) == 0 || strcmp(code, HR_E_ARGS_BOTH) == 0) {
		pe->code = REPLPB_ERROR_SQL_ERROR;
	} else if (strcmp(code, "SQLITE_BUSY") == 0 || strcmp(code, HR_E_TRANSACTION_BUSY) == 0) {
		pe->code = REPLPB_ERROR_TX_BUSY;
	} else {
		pe->code = REPLPB_ERROR_INTERNAL;
	}
	return pe;
}

static void run_execute(struct repl_call *c)
{
	struct db_conn *conn = proxy_enter(c);
	if (!conn)
		return;
	struct arena *a = &c->out_a;
	struct sqlite3 *db = db_conn_sqlite(conn);
	const struct hr_batch *b = &c->prog.pgm;
	struct replpb_execute_results r = {0};
	r.nresults = b->nsteps;
	r.results = ARENA_ARRAY(a, struct replpb_query_result, b->nsteps ? b->nsteps : 1);
	if (db_conn_take_timeout(conn)) {
		/* its transaction was rolled back while it sat idle holding the lock */
		static const struct hr_error to = {.code = HR_E_TRANSACTION_TIMEOUT};
		for (size_t i = 0; i < b->nsteps; i++)
			r.results[i].error = proxy_error(a, &to, true);
	} else {
		struct exec_limits lim = {REPL_MAX_RESPONSE};
		struct hr_batch_result *br = NULL;
		struct hr_error berr = {0};
		int rc = exec_batch(db, b, &lim, a, &br, &berr);
		if (exec_take_forbidden()) {
			/* a step the credential may not run: the program is refused */
			db_conn_leave(conn);
			fail(c, GRPC_STATUS_PERMISSION_DENIED,
			     "Authorization forbidden: the credential has no write permission");
			return;
		}
		bool timed_out = db_conn_timed_out(conn);
		if (timed_out) {
			/* interrupted by a write-lock steal while it ran */
			struct hr_error ignored;
			db_conn_take_timeout(conn);
			if (!exec_is_autocommit(db))
				exec_sequence(db, "ROLLBACK", a, &ignored);
		}
		if (rc) {
			db_conn_leave(conn);
			fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, berr.message ? berr.message : "Response is too large");
			return;
		}
		uint64_t q = 0, rd = 0, wr = 0; /* the namespace's usage (admin stats) */
		for (size_t i = 0; i < b->nsteps; i++)
			if (br->step_results[i])
				q++, rd += br->step_results[i]->rows_read, wr += br->step_results[i]->rows_written;
		ns_count(c->ns, q, rd, wr);
		for (size_t i = 0; i < b->nsteps; i++) {
			if (br->step_errors[i])
				r.results[i].error = proxy_error(a, br->step_errors[i], timed_out);
			else
				r.results[i].rows = br->step_results[i]; /* NULL: skipped, an empty ResultRows */
		}
	}
	r.state = exec_is_autocommit(db) ? REPLPB_STATE_INIT : REPLPB_STATE_TXN;
	/* after the program: a write is in the log before its commit returns */
	r.has_current_frame_no = rlog_last_commit(ns_log(c->ns), &r.current_frame_no);
	db_conn_leave(conn);
	size_t off = grpcweb_begin_data(&c->out);
	replpb_encode_execute_results(&c->out, &r);
	grpcweb_end_data(&c->out, off);
	finish_ok(c);
}

static void run_describe(struct repl_call *c)
{
	struct db_conn *conn = proxy_enter(c);
	if (!conn)
		return;
	struct arena *a = &c->out_a;
	struct hr_describe_result *d = NULL;
	struct hr_error err = {0};
	int rc = exec_describe(db_conn_sqlite(conn), c->desc.stmt, a, &d, &err);
	db_conn_leave(conn);
	struct replpb_describe_result r = {0};
	if (rc) {
		r.error = proxy_error(a, &err, false);
	} else {
		r.cols = d->cols;
		r.ncols = d->ncols;
		r.param_names = ARENA_ARRAY(a, const char *, d->nparams ? d->nparams : 1);
		for (size_t i = 0; i < d->nparams; i++)
			if (d->params[i].name)
				r.param_names[r.nparam_names++] = d->params[i].name;
		r.param_count = d->nparams;
	}
	size_t off = grpcweb_begin_data(&c->out);
	replpb_encode_describe_result(&c->out, &r);
	grpcweb_end_data(&c->out, off);
	finish_ok(c);
}

static void call_run(struct work_job *w)
{
	struct repl_call *c = (struct repl_call *)w;
	arena_free(&c->out_a);
	if ((c->m == M_BATCH || c->m == M_LOG_ENTRIES || c->m == M_SNAPSHOT) && ns_deleted(c->ns)) {
		fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NAMESPACE_DOESNT_EXIST");
		return;
	}
	switch (c->m) {
	case M_BATCH:
		run_batch(c);
		break;
	case M_LOG_ENTRIES:
		run_log_entries(c);
		break;
	case M_SNAPSHOT:
		run_snapshot(c);
		break;
	case M_EXECUTE:
		run_execute(c);
		break;
	case M_DESCRIBE:
		run_describe(c);
		break;
	case M_DISCONNECT:
	case M_CLOSE:
		db_conn_close(c->cl->conn); /* rolls back */
		c->cl->conn = NULL;
		if (c->m == M_DISCONNECT) {
			grpcweb_encode_data(&c->out, "", 0); /* proxy.Ack {} */
			finish_ok(c);
		}
		break;
	default:
		fail(c, GRPC_STATUS_INTERNAL, "unexpected job");
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
		call_emit(c, false);
		call_free(c);
		return;
	}
	if (c->out.len) {
		c->awaiting = true;
		call_emit(c, true);
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
		call_submit(c); /* a commit (or a new lineage) came meanwhile */
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
			call_emit(c, false);
		call_free(c);
		client_pump(cl);
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
		call_emit(c, false);
		call_free(c);
		return;
	default:
		call_emit(c, false);
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
			call_submit(c);
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
			client_unqueue(c);
		if (!c->submitted)
			call_free(c);
	}
	/* every proxy connection closes (rolling back) on a worker */
	for (struct repl_client *cl = R.clients, *n; cl; cl = n) {
		n = cl->next;
		if (cl->conn || cl->running)
			client_close_later(cl);
		else
			client_free(cl);
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
		client_free(R.clients);
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
			client_free(cl);
		else if (now - cl->last_ms > REPL_CLIENT_IDLE_MS) {
			log_debug("proxy client %s idle for %d s: closing its connection", cl->id, REPL_CLIENT_IDLE_MS / 1000);
			client_close_later(cl);
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
			call_submit(c);
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

static bool repl_has_prefix(const char *path, size_t n, const char *pfx)
{
	size_t k = strlen(pfx);
	return n >= k && memcmp(path, pfx, k) == 0;
}

bool repl_route(const char *path, size_t n)
{
	return repl_has_prefix(path, n, REPL_PFX_LOG) || repl_has_prefix(path, n, REPL_PFX_PROXY);
}

static enum repl_method repl_method_of(const char *path, size_t n)
{
	static const struct {
		const char *path;
		enum repl_method m;
	} methods[] = {
		{REPL_PFX_LOG "Hello", M_HELLO},
		{REPL_PFX_LOG "LogEntries", M_LOG_ENTRIES},
		{REPL_PFX_LOG "BatchLogEntries", M_BATCH},
		{REPL_PFX_LOG "Snapshot", M_SNAPSHOT},
		{REPL_PFX_PROXY "Execute", M_EXECUTE},
		{REPL_PFX_PROXY "Describe", M_DESCRIBE},
		{REPL_PFX_PROXY "Disconnect", M_DISCONNECT},
	};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strlen(methods[i].path) == n && memcmp(methods[i].path, path, n) == 0)
			return methods[i].m;
	return M_NONE;
}

/* The one request message of a unary call (a trailer frame after it is
 * tolerated). Returns 0 and the payload (in a), or a gRPC status with a
 * message in *why. */
static int repl_unframe(struct arena *a, const unsigned char *body, size_t n, size_t max, const uint8_t **msg,
			size_t *mlen, const char **why)
{
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, max);
	struct err e = {{0}};
	size_t off = 0;
	bool got = false;
	int status = GRPC_STATUS_OK;
	while (off < n) {
		struct grpcweb_frame f;
		size_t used = 0;
		int rc = grpcweb_dec_feed(&d, body + off, n - off, &used, &f, &e);
		if (rc < 0) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			if (rc == GRPCWEB_E_TOO_LARGE && n >= GRPCWEB_HDR_SIZE &&
			    n - GRPCWEB_HDR_SIZE >= ((size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4]))
				status = GRPC_STATUS_RESOURCE_EXHAUSTED; /* really that large, not a garbled length */
			*why = arena_printf(a, "malformed gRPC-web request body: %s", e.msg);
			goto out;
		}
		if (rc == 0)
			break;
		off += used;
		if (f.flags != GRPCWEB_FLAG_DATA)
			continue;
		if (got) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			*why = "a unary call takes exactly one request message";
			goto out;
		}
		got = true;
		*msg = f.len ? arena_memdup(a, f.data, f.len) : (const uint8_t *)"";
		*mlen = f.len;
	}
	if (grpcweb_dec_end(&d, &e)) {
		status = GRPC_STATUS_INVALID_ARGUMENT;
		*why = arena_printf(a, "malformed gRPC-web request body: %s", e.msg);
	} else if (!got) {
		status = GRPC_STATUS_INVALID_ARGUMENT;
		*why = "missing request message";
	}
out:
	grpcweb_dec_free(&d);
	return status;
}

static void repl_hello(void *owner, struct ns *ns)
{
	struct rlog_stat st;
	rlog_stat(ns_log(ns), &st);
	char token[REPL_UUID_LEN + 1];
	repl_token(st.log_id, token);
	struct replpb_db_config cfg;
	memset(&cfg, 0, sizeof cfg);
	struct ns_config nc; /* the namespace's config, as sqld sends it */
	ns_get_config(ns, &nc);
	cfg.block_reads = nc.block_reads;
	cfg.block_writes = nc.block_writes;
	cfg.block_reason = nc.block_reason[0] ? nc.block_reason : NULL;
	cfg.max_db_pages = nc.max_db_size / 4096;
	cfg.has_txn_timeout_s = nc.txn_timeout_s > 0;
	cfg.txn_timeout_s = (uint64_t)nc.txn_timeout_s;
	struct replpb_hello_resp h = {
		.generation_id = R.generation_id,
		.generation_start_index = 0,
		.log_id = st.log_id,
		.session_token = (const uint8_t *)token,
		.session_token_len = strlen(token),
		.has_current_replication_index = st.has_commit,
		.current_replication_index = st.last_commit,
		.config = &cfg,
	};
	struct buf b;
	buf_init(&b);
	size_t off = grpcweb_begin_data(&b);
	replpb_encode_hello_resp(&b, &h);
	grpcweb_end_data(&b, off);
	grpcweb_encode_trailers(&b, GRPC_STATUS_OK, NULL);
	R.ops.out(owner, b.p, b.len, false);
	buf_free(&b);
}

struct repl_call *repl_start(void *owner, const char *path, size_t plen, const struct repl_md *md, struct arena *a,
			     const unsigned char *body, size_t n)
{
	int status = GRPC_STATUS_OK;
	const char *why = NULL;
	struct repl_call *c = NULL;
	struct err e = {{0}};
	enum repl_method m = repl_method_of(path, plen);
	bool is_log = repl_has_prefix(path, plen, REPL_PFX_LOG);
	metrics_request(is_log ? MR_REPLICATION : MR_PROXY);
	const char *token = md ? repl_trim(a, md->session_token) : NULL;
	const char *ns_bin = md ? repl_trim(a, md->namespace_bin) : NULL;
	struct ns *ns = NULL;
	const uint8_t *msg = NULL;
	size_t mlen = 0;
	char log_id[RLOG_ID_STRLEN + 1] = "";
	if (!R.on) {
		status = GRPC_STATUS_UNAVAILABLE, why = "replication is not enabled";
		goto answer;
	}
	if (m == M_NONE) {
		status = GRPC_STATUS_UNIMPLEMENTED;
		why = arena_printf(a, "unknown method %.*s", (int)(plen > 200 ? 200 : plen), path);
		goto answer;
	}
	if (R.stopping) {
		status = GRPC_STATUS_UNAVAILABLE, why = "the server is shutting down";
		goto answer;
	}
	/* the namespace: x-namespace-bin only (PROTOCOL.md §6.3); required when
	 * namespaces are on, else it must decode and is ignored */
	if (ns_bin && !repl_base64_ok(ns_bin)) {
		status = GRPC_STATUS_INVALID_ARGUMENT, why = "x-namespace-bin is not valid base64";
		goto answer;
	}
	if (ns_enabled() && !ns_bin) {
		status = GRPC_STATUS_INVALID_ARGUMENT, why = "Missing x-namespace-bin metadata";
		goto answer;
	}
	char name[NS_NAME_MAX + 1];
	if (!ns_enabled())
		strcpy(name, NS_DEFAULT);
	else if (ns_name_from_b64(ns_bin, name, sizeof name)) {
		status = GRPC_STATUS_FAILED_PRECONDITION, why = "NAMESPACE_DOESNT_EXIST";
		goto answer;
	}
	/* never opened here, on the network thread: net opened it on a worker
	 * while the body came in; one that appeared only since is opening */
	int nsrc = ns_get_open(name, &ns, &e);
	if (nsrc == NS_ENOTOPEN) {
		status = GRPC_STATUS_UNAVAILABLE, why = "the namespace is opening: try again";
		goto answer;
	}
	if (nsrc) {
		status = GRPC_STATUS_FAILED_PRECONDITION, why = "NAMESPACE_DOESNT_EXIST";
		goto answer;
	}
	if (is_log && m != M_HELLO) {
		char want[REPL_UUID_LEN + 1];
		rlog_log_id(ns_log(ns), log_id);
		repl_token(log_id, want);
		if (!token || strcmp(token, want) != 0) {
			status = GRPC_STATUS_FAILED_PRECONDITION, why = "NO_HELLO";
			goto answer;
		}
	}
	status = repl_unframe(a, body, n, is_log ? REPL_MAX_MSG_LOG : REPL_MAX_MSG_PROXY, &msg, &mlen, &why);
	if (status)
		goto answer;
	switch (m) {
	case M_HELLO: {
		struct replpb_hello_req hr;
		if (replpb_decode_hello_req(a, msg, mlen, &hr, &e))
			goto bad_message;
		repl_hello(owner, ns);
		ns_put(ns);
		sess_arena_free(a);
		return NULL;
	}
	case M_BATCH:
	case M_LOG_ENTRIES:
	case M_SNAPSHOT: {
		struct replpb_log_offset lo;
		if (replpb_decode_log_offset(a, msg, mlen, &lo, &e))
			goto bad_message;
		if (lo.has_wal_flavor && lo.wal_flavor != REPLPB_WAL_FLAVOR_SQLITE) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			why = lo.wal_flavor == REPLPB_WAL_FLAVOR_LIBSQL ? "libsql wal not supported" : "unknown wal flavor";
			goto answer;
		}
		c = call_new(m, ns, owner, a);
		ns_put(ns);
		memcpy(c->log_id, log_id, sizeof c->log_id);
		c->next = lo.next_offset;
		if (m == M_LOG_ENTRIES) {
			/* the response head goes out now; frames follow as they commit */
			c->awaiting = true;
			call_emit(c, true);
		} else {
			call_submit(c);
		}
		return c;
	}
	case M_EXECUTE:
	case M_DESCRIBE:
	case M_DISCONNECT: {
		const char *client_id;
		struct replpb_program_req prog;
		struct replpb_describe_req desc;
		if (m == M_EXECUTE) {
			if (replpb_decode_program_req(a, msg, mlen, &prog, &e))
				goto bad_message;
			if (exec_batch_check(&prog.pgm, 3, &e)) {
				status = GRPC_STATUS_INVALID_ARGUMENT, why = arena_strdup(a, e.msg);
				goto answer;
			}
			client_id = prog.client_id;
		} else if (m == M_DESCRIBE) {
			if (replpb_decode_describe_req(a, msg, mlen, &desc, &e))
				goto bad_message;
			client_id = desc.client_id;
		} else {
			struct replpb_disconnect dm;
			if (replpb_decode_disconnect(a, msg, mlen, &dm, &e))
				goto bad_message;
			client_id = dm.client_id;
		}
		if (!client_id || !client_id[0] || strlen(client_id) > REPL_MAX_CLIENT_ID) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			why = "client_id must be 1 to 128 bytes";
			goto answer;
		}
		struct repl_client *cl = client_find(ns, client_id);
		if (!cl && m == M_DISCONNECT) {
			struct buf b;
			buf_init(&b);
			grpcweb_encode_data(&b, "", 0); /* proxy.Ack {} */
			grpcweb_encode_trailers(&b, GRPC_STATUS_OK, NULL);
			R.ops.out(owner, b.p, b.len, false);
			buf_free(&b);
			ns_put(ns);
			sess_arena_free(a);
			return NULL;
		}
		if (!cl) {
			if (R.nclients >= REPL_MAX_CLIENTS) {
				status = GRPC_STATUS_RESOURCE_EXHAUSTED, why = "too many proxy clients";
				goto answer;
			}
			cl = calloc(1, sizeof *cl);
			if (!cl)
				abort();
			snprintf(cl->id, sizeof cl->id, "%s", client_id);
			cl->ns = ns_ref(ns);
			cl->last_ms = repl_now_ms();
			cl->next = R.clients;
			R.clients = cl;
			R.nclients++;
		}
		c = call_new(m, ns, owner, a);
		c->allow = md ? md->allow : 0;
		ns_put(ns);
		if (m == M_EXECUTE)
			c->prog = prog;
		else if (m == M_DESCRIBE)
			c->desc = desc;
		client_push(cl, c);
		return c;
	}
	default:
		status = GRPC_STATUS_UNIMPLEMENTED, why = "unknown method";
		goto answer;
	}
bad_message:
	status = GRPC_STATUS_INVALID_ARGUMENT;
	why = arena_printf(a, "malformed request message: %s", e.msg);
answer:
	metrics_error(repl_status_name(status));
	ns_put(ns);
	answer_status(owner, status, why);
	sess_arena_free(a);
	return NULL;
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
	call_submit(c);
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
		client_unqueue(c);
		call_free(c);
		client_pump(cl);
		return;
	}
	call_free(c); /* a stream between chunks, or waiting for commits */
}
