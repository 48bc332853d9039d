/* repl_log: the worker side of ReplicationLog (repl_int.h): each job
 * builds its piece of the answer in c->out from the namespace's rlog.
 * BatchLogEntries reads its frames straight into the response; a long one
 * goes out in pieces over a pinned span of the log; LogEntries and
 * Snapshot fill one chunk per job. Workers only (one job per call at a
 * time), touching only the call, the rlog and pure codecs. */
#include "repl_int.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- worker side ---- */

void repl_fail(struct repl_call *c, int status, const char *msg)
{
	buf_free(&c->out);
	grpcweb_encode_trailers(&c->out, status, msg);
	c->finished = true;
}

void repl_finish_ok(struct repl_call *c)
{
	grpcweb_encode_trailers(&c->out, GRPC_STATUS_OK, NULL);
	c->finished = true;
}

/* rlog errors as gRPC statuses. */
static void fail_rlog(struct repl_call *c, int rc, const struct err *e)
{
	if (rc == RLOG_NEED_SNAPSHOT) {
		repl_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NEED_SNAPSHOT");
		return;
	}
	log_error("replication: %s", e->msg);
	repl_fail(c, GRPC_STATUS_INTERNAL, e->msg[0] ? e->msg : "frame log error");
}

static bool lineage_ok(struct repl_call *c)
{
	if (strcmp(c->batch.log_id, c->log_id) == 0)
		return true;
	repl_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NO_HELLO");
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
			repl_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NO_HELLO");
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
		repl_finish_ok(c);
	}
}

/* BatchLogEntries: the frames are read straight into the response (gRPC-web
 * header, then each frame after its protobuf field header), which then goes
 * to net as it is: no second copy. */
void repl_run_batch(struct repl_call *c)
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
			repl_fail(c, GRPC_STATUS_INTERNAL, "a transaction too large for one gRPC-web message");
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
		repl_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NO_HELLO");
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
		repl_finish_ok(c);
	}
	rlog_batch_free(&c->batch);
	rlog_batch_init(&c->batch);
}

void repl_run_log_entries(struct repl_call *c)
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

void repl_run_snapshot(struct repl_call *c)
{
	struct err e = {{0}};
	int rc;
	if (!c->snap) {
		rc = rlog_snapshot_open(ns_log(c->ns), c->next, &c->snap, &e);
		if (rc == RLOG_ENOSNAPSHOT) {
			repl_fail(c, GRPC_STATUS_UNAVAILABLE, "snapshot not found");
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
		repl_finish_ok(c);
}
