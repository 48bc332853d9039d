/* sess: see sess.h.
 *
 * Invariants:
 * - A stream has at most one job running (st->running); the rest wait in its
 *   queue in arrival order. While a WebSocket cursor is open on the stream,
 *   only cursor jobs and the close job may run (the stream is "blocked").
 * - A stream's connection (st->conn) is opened and closed only inside its own
 *   jobs, on a worker thread; the network thread never touches it.
 * - A stream is freed only by the network thread, when its close job is done.
 * - HTTP: st->seq is the sequence number the next baton must carry; it moves
 *   on when a request is accepted, so a used baton never works twice. */
#include "sess.h"
#include "baton.h"
#include "db.h"
#include "exec.h"
#include "log.h"
#include "work.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SESS_WS_MAX_SQLS 150
#define SESS_HTTP_MAX_SQLS 50
#define SESS_HTTP_MAX_SQL_LEN (5 * 1024)
#define SESS_EXPIRED_KEEP_MS (300 * 1000)
#define SESS_CURSOR_CHUNK_ENTRIES 1024
#define SESS_CURSOR_CHUNK_BYTES (64 * 1024)

struct sess_sqls { /* stored SQL texts: a small map id -> heap string */
	int32_t *ids;
	char **sqls;
	size_t n, cap;
};

enum sess_kind {
	J_OPEN = 1,   /* WS open_stream */
	J_CLOSE,      /* close the stream (WS close_stream, teardown, expiry) */
	J_REQ,        /* one WS request on the stream */
	J_CUR_OPEN,   /* WS open_cursor */
	J_CUR_FETCH,  /* WS fetch_cursor */
	J_CUR_CLOSE,  /* WS close_cursor */
	J_PIPE,       /* HTTP pipeline */
	J_HCUR,       /* HTTP cursor: one chunk per run */
	J_V1_EXEC,    /* stateless calls: open, run, close */
	J_V1_BATCH,
	J_LEGACY,
};

struct sess_stream;

/* A job, and for HTTP also the call handle (struct sess_call). */
struct sess_job {
	struct work_job w;
	enum sess_kind kind;
	struct sess_stream *st;
	struct sess_job *qnext;
	struct arena *a;   /* the request's arena (owned) */
	struct arena out;  /* results of the last run */
	/* WS */
	struct sess_ws *ws;
	int32_t request_id;
	struct hr_req *req;
	/* HTTP */
	void *owner;       /* NULL once cancelled */
	int version;
	const struct hr_pipeline_req *pipe;
	const struct hr_batch *batch; /* cursor, v1 batch, legacy */
	const struct hr_stmt *stmt;   /* v1 execute */
	size_t nlegacy;
	bool cursor_started, cursor_done, closed_stream;
	bool submitted; /* on a worker or the completion queue */
	/* outputs */
	int ok; /* 1 ok, 0 Hrana error in err */
	struct hr_error err;
	struct hr_resp resp;
	const char *proto_err; /* HTTP: protocol error -> 400 text, stream dropped */
	struct hr_pipeline_resp presp;
	struct hr_batch_result *bres;
	struct hr_stmt_result *sres;
	struct hr_cursor_entry *entries;
	size_t nentries;
};

struct sess_stream {
	struct db_conn *conn;
	bool open_failed; /* WS: open_stream failed; requests get STREAM_NOT_OPEN */
	bool closing;     /* close job queued: nothing else may be queued */
	struct sess_job *running, *qhead, *qtail;
	/* WS */
	struct sess_ws *ws;
	int32_t ws_id;
	bool cursor_open; /* the client's view: open_cursor seen, close_cursor not yet */
	int32_t cursor_id;
	bool blocked;     /* a cursor job has started: only cursor jobs may run */
	struct exec_cursor *cursor; /* worker-owned */
	struct arena *cursor_arena; /* holds the cursor's batch */
	/* HTTP */
	uint64_t id, seq;
	int64_t last_ms;
	struct sess_sqls sqls; /* worker-owned (only touched by this stream's jobs) */
	struct sess_job *parked;
	struct sess_stream *next; /* ws->streams or the HTTP table */
};

struct sess_ws {
	void *owner; /* NULL once gone */
	int version;
	bool hello;
	struct sess_sqls sqls;
	struct sess_stream *streams;
	size_t nstreams_alive; /* streams not yet freed (incl. closing ones) */
	struct sess_ws *next, *prev;
};

struct sess_expired {
	uint64_t id;
	int64_t at_ms;
	struct sess_expired *next;
};

static struct {
	struct db *db;
	struct sess_limits lim;
	struct sess_ops ops;
	struct sess_stream *http; /* live HTTP streams */
	struct sess_expired *expired;
	struct sess_ws *wss;
	size_t busy; /* jobs submitted and not done */
	bool stopping;
} S;

static int64_t sess_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct arena *sess_arena_new(void)
{
	struct arena *a = malloc(sizeof *a);
	if (!a)
		abort();
	arena_init(a);
	return a;
}

void sess_arena_free(struct arena *a)
{
	if (a) {
		arena_free(a);
		free(a);
	}
}

size_t sess_busy_jobs(void)
{
	return S.busy;
}

/* ---- stored SQL ---- */

static const char *sqls_get(const struct sess_sqls *s, int32_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return s->sqls[i];
	return NULL;
}

static void sqls_put(struct sess_sqls *s, int32_t id, const char *sql)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->ids = realloc(s->ids, s->cap * sizeof *s->ids);
		s->sqls = realloc(s->sqls, s->cap * sizeof *s->sqls);
		if (!s->ids || !s->sqls)
			abort();
	}
	s->ids[s->n] = id;
	s->sqls[s->n] = strdup(sql);
	if (!s->sqls[s->n])
		abort();
	s->n++;
}

static void sqls_del(struct sess_sqls *s, int32_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == id) {
			free(s->sqls[i]);
			s->n--;
			s->ids[i] = s->ids[s->n];
			s->sqls[i] = s->sqls[s->n];
			return;
		}
}

static void sqls_free(struct sess_sqls *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->sqls[i]);
	free(s->ids);
	free(s->sqls);
	memset(s, 0, sizeof *s);
}

/* Fills stmt->sql from the store. Returns 0 or -1 (unknown id). */
static int sqls_resolve_stmt(const struct sess_sqls *s, struct hr_stmt *stmt)
{
	if (!stmt->has_sql_id)
		return 0;
	const char *sql = sqls_get(s, stmt->sql_id);
	if (!sql)
		return -1;
	stmt->sql = sql; /* borrowed: stored SQL outlives the job (see callers) */
	return 0;
}

static int sqls_resolve_batch(const struct sess_sqls *s, const struct hr_batch *b)
{
	for (size_t i = 0; i < b->nsteps; i++)
		if (sqls_resolve_stmt(s, &b->steps[i].stmt))
			return -1;
	return 0;
}

/* Resolves every sql_id of a request against s, copying texts into arena a so
 * that a later close_sql cannot pull them away. */
static int sqls_resolve_req(const struct sess_sqls *s, struct arena *a, struct hr_req *r)
{
	switch (r->type) {
	case HR_REQ_EXECUTE:
		if (sqls_resolve_stmt(s, &r->stmt))
			return -1;
		if (r->stmt.has_sql_id)
			r->stmt.sql = arena_strdup(a, r->stmt.sql);
		return 0;
	case HR_REQ_BATCH:
	case HR_REQ_OPEN_CURSOR:
		if (sqls_resolve_batch(s, &r->batch))
			return -1;
		for (size_t i = 0; i < r->batch.nsteps; i++)
			if (r->batch.steps[i].stmt.has_sql_id)
				r->batch.steps[i].stmt.sql = arena_strdup(a, r->batch.steps[i].stmt.sql);
		return 0;
	case HR_REQ_SEQUENCE:
	case HR_REQ_DESCRIBE:
		if (r->has_sql_id) {
			const char *sql = sqls_get(s, r->sql_id);
			if (!sql)
				return -1;
			r->sql = arena_strdup(a, sql);
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- job plumbing ---- */

static void job_run(struct work_job *w);
static void job_done(struct work_job *w);

static struct sess_job *job_new(enum sess_kind kind, struct sess_stream *st, struct arena *a)
{
	struct sess_job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->kind = kind;
	j->st = st;
	j->a = a;
	j->w.run = job_run;
	j->w.done = job_done;
	arena_init(&j->out);
	return j;
}

static void job_free(struct sess_job *j)
{
	sess_arena_free(j->a);
	arena_free(&j->out);
	free(j);
}

static void job_submit(struct sess_job *j)
{
	S.busy++;
	j->submitted = true;
	arena_free(&j->out);
	j->ok = 1;
	j->proto_err = NULL;
	memset(&j->err, 0, sizeof j->err);
	work_submit(&j->w);
}

static bool job_is_cursor_op(const struct sess_job *j)
{
	return j->kind == J_CUR_FETCH || j->kind == J_CUR_CLOSE || j->kind == J_CLOSE || j->kind == J_CUR_OPEN;
}

/* Starts the next eligible queued job of st, if it is idle. */
static void stream_pump(struct sess_stream *st)
{
	if (st->running)
		return;
	struct sess_job **pp = &st->qhead, *prev = NULL;
	while (*pp && st->blocked && !job_is_cursor_op(*pp)) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	struct sess_job *j = *pp;
	if (!j)
		return;
	*pp = j->qnext;
	if (st->qtail == j)
		st->qtail = prev;
	j->qnext = NULL;
	st->running = j;
	if (j->kind == J_CUR_OPEN)
		st->blocked = true;
	job_submit(j);
}

static void stream_push(struct sess_stream *st, struct sess_job *j)
{
	j->qnext = NULL;
	if (st->qtail)
		st->qtail->qnext = j;
	else
		st->qhead = j;
	st->qtail = j;
	stream_pump(st);
}

static struct sess_stream *stream_new(void)
{
	struct sess_stream *st = calloc(1, sizeof *st);
	if (!st)
		abort();
	return st;
}

/* Queues the stream's close; drops jobs that have not started. */
static void stream_close(struct sess_stream *st)
{
	if (st->closing)
		return;
	st->closing = true;
	struct sess_job *j = st->qhead;
	while (j) {
		struct sess_job *n = j->qnext;
		job_free(j);
		j = n;
	}
	st->qhead = st->qtail = NULL;
	if (st->parked) {
		struct sess_job *p = st->parked;
		st->parked = NULL;
		if (p->owner) {
			struct sess_http_out o = {.status = 400, .text = "The stream was closed"};
			S.ops.http_out(p->owner, &o);
		}
		job_free(p);
	}
	stream_push(st, job_new(J_CLOSE, st, NULL));
}

static void ws_maybe_free(struct sess_ws *ws);

static void stream_free(struct sess_stream *st)
{
	if (st->ws) {
		struct sess_ws *ws = st->ws;
		struct sess_stream **pp = &ws->streams;
		while (*pp && *pp != st)
			pp = &(*pp)->next;
		if (*pp)
			*pp = st->next;
		ws->nstreams_alive--;
		ws_maybe_free(ws);
	}
	sess_arena_free(st->cursor_arena);
	sqls_free(&st->sqls);
	free(st);
}

/* ---- worker side ---- */

static void set_err(struct sess_job *j, const char *code, const char *msg)
{
	j->ok = 0;
	j->err.code = code;
	j->err.message = msg;
}

/* Opens the stream's connection on first use and enters it. */
static int job_enter(struct sess_job *j)
{
	struct sess_stream *st = j->st;
	if (!st->conn) {
		struct err e;
		if (db_conn_open(S.db, &st->conn, &e)) {
			log_error("%s", e.msg);
			set_err(j, "SQLITE_CANTOPEN", arena_printf(&j->out, "SQLite error: %s", e.msg));
			return -1;
		}
	}
	db_conn_enter(st->conn);
	return 0;
}

static void job_leave(struct sess_job *j)
{
	db_conn_leave(j->st->conn);
}

static const char *const txn_timeout_msg = "Transaction timed out: it held the write lock too long while others waited";

/* Runs one request on the stream's (entered) connection. HTTP streams keep
 * their stored SQL here, on the worker. */
static void run_req(struct sess_job *j, struct hr_req *r, struct hr_resp *resp, struct hr_error *err, int *ok)
{
	struct sess_stream *st = j->st;
	sqlite3 *db = db_conn_sqlite(st->conn);
	struct exec_limits lim = {S.lim.max_response_size};
	struct arena *a = &j->out;
	*ok = 1;
	memset(resp, 0, sizeof *resp);
	resp->type = r->type;
	if (db_conn_take_timeout(st->conn)) {
		*ok = 0;
		err->code = HR_E_TRANSACTION_TIMEOUT;
		err->message = txn_timeout_msg;
		return;
	}
	int rc = 0;
	if (!st->ws && (r->type == HR_REQ_EXECUTE || r->type == HR_REQ_BATCH || r->type == HR_REQ_SEQUENCE ||
			r->type == HR_REQ_DESCRIBE)) {
		if (sqls_resolve_req(&st->sqls, a, r)) {
			*ok = 0;
			err->code = HR_E_SQL_NOT_FOUND;
			err->message = "SQL text not found: unknown sql_id";
			return;
		}
	}
	switch (r->type) {
	case HR_REQ_EXECUTE:
		rc = exec_stmt(db, &r->stmt, &lim, a, &resp->stmt_result, err);
		break;
	case HR_REQ_BATCH:
		rc = exec_batch(db, &r->batch, &lim, a, &resp->batch_result, err);
		break;
	case HR_REQ_SEQUENCE:
		rc = exec_sequence(db, r->sql, a, err);
		break;
	case HR_REQ_DESCRIBE:
		rc = exec_describe(db, r->sql, a, &resp->describe_result, err);
		break;
	case HR_REQ_GET_AUTOCOMMIT:
		resp->is_autocommit = exec_is_autocommit(db);
		break;
	case HR_REQ_STORE_SQL: /* HTTP only: WS stores on the network thread */
		if (sqls_get(&st->sqls, r->sql_id)) {
			j->proto_err = "SQL text id is already in use";
		} else if (strlen(r->sql) > SESS_HTTP_MAX_SQL_LEN) {
			rc = -1, err->code = HR_E_SQL_STORE_TOO_LARGE;
			err->message = "Stored SQL text is too large (at most 5 KB)";
		} else if (st->sqls.n >= SESS_HTTP_MAX_SQLS) {
			rc = -1, err->code = HR_E_SQL_STORE_TOO_MANY;
			err->message = "Too many stored SQL texts (at most 50 per stream)";
		} else {
			sqls_put(&st->sqls, r->sql_id, r->sql);
		}
		break;
	case HR_REQ_CLOSE_SQL:
		sqls_del(&st->sqls, r->sql_id);
		break;
	default:
		rc = -1, err->code = "PROTOCOL_ERROR", err->message = "request not valid here";
		break;
	}
	if (db_conn_timed_out(st->conn)) {
		/* interrupted by a write-lock steal while it ran */
		db_conn_take_timeout(st->conn);
		rc = -1;
		err->code = HR_E_TRANSACTION_TIMEOUT;
		err->message = txn_timeout_msg;
		resp->stmt_result = NULL;
		resp->batch_result = NULL;
	}
	*ok = rc == 0;
}

static void run_close(struct sess_job *j)
{
	struct sess_stream *st = j->st;
	exec_cursor_close(st->cursor);
	st->cursor = NULL;
	db_conn_close(st->conn);
	st->conn = NULL;
}

static void run_pipeline(struct sess_job *j)
{
	const struct hr_pipeline_req *p = j->pipe;
	struct hr_pipeline_resp *pr = &j->presp;
	pr->nresults = p->nrequests;
	pr->results = ARENA_ARRAY(&j->out, struct hr_stream_result, p->nrequests ? p->nrequests : 1);
	bool entered = false;
	for (size_t i = 0; i < p->nrequests && !j->proto_err; i++) {
		struct hr_req *r = &p->requests[i];
		struct hr_stream_result *res = &pr->results[i];
		if (j->closed_stream) {
			res->ok = false;
			res->error.code = HR_E_STREAM_NOT_OPEN;
			res->error.message = "The stream was closed by an earlier request";
			continue;
		}
		if (r->type == HR_REQ_CLOSE) {
			if (entered)
				job_leave(j), entered = false;
			run_close(j);
			j->closed_stream = true;
			res->ok = true;
			res->resp.type = HR_REQ_CLOSE;
			continue;
		}
		if (!entered) {
			if (job_enter(j)) {
				res->ok = false;
				res->error = j->err;
				j->ok = 1;
				continue;
			}
			entered = true;
		}
		int ok;
		run_req(j, r, &res->resp, &res->error, &ok);
		res->ok = ok;
	}
	if (entered)
		job_leave(j);
}

/* HTTP and WS cursors fetch a chunk; the first run opens the cursor. */
static void run_cursor_chunk(struct sess_job *j, uint32_t max_entries, size_t max_bytes)
{
	struct sess_stream *st = j->st;
	if (job_enter(j)) {
		/* report as a batch-level error entry */
		j->entries = ARENA_NEW(&j->out, struct hr_cursor_entry);
		j->entries->type = HR_ENTRY_ERROR;
		j->entries->error = j->err;
		j->nentries = 1;
		j->cursor_done = true;
		j->ok = 1;
		return;
	}
	if (!st->cursor && !j->cursor_done)
		st->cursor = exec_cursor_open(db_conn_sqlite(st->conn), j->batch);
	bool done = true;
	j->nentries = 0;
	if (st->cursor)
		exec_cursor_fetch(st->cursor, &j->out, max_entries, max_bytes, &j->entries, &j->nentries, &done);
	if (done) {
		exec_cursor_close(st->cursor);
		st->cursor = NULL;
		j->cursor_done = true;
	}
	job_leave(j);
}

static void run_stateless(struct sess_job *j)
{
	if (job_enter(j))
		return;
	sqlite3 *db = db_conn_sqlite(j->st->conn);
	struct exec_limits lim = {S.lim.max_response_size};
	if (j->kind == J_V1_EXEC) {
		j->ok = exec_stmt(db, j->stmt, &lim, &j->out, &j->sres, &j->err) == 0;
	} else {
		j->ok = exec_batch(db, j->batch, &lim, &j->out, &j->bres, &j->err) == 0;
		if (j->kind == J_LEGACY && !exec_is_autocommit(db)) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			j->proto_err = "interactive transaction not allowed in HTTP queries";
		}
	}
	job_leave(j);
	run_close(j);
}

static void job_run(struct work_job *w)
{
	struct sess_job *j = (struct sess_job *)w;
	struct sess_stream *st = j->st;
	switch (j->kind) {
	case J_OPEN:
		if (job_enter(j) == 0)
			job_leave(j);
		break;
	case J_CLOSE:
		run_close(j);
		break;
	case J_REQ:
		if (job_enter(j) == 0) {
			int ok;
			run_req(j, j->req, &j->resp, &j->err, &ok);
			j->ok = ok;
			job_leave(j);
		}
		break;
	case J_CUR_OPEN:
		if (job_enter(j) == 0) {
			st->cursor = exec_cursor_open(db_conn_sqlite(st->conn), j->batch);
			job_leave(j);
		}
		break;
	case J_CUR_FETCH: {
		uint32_t max = j->req->max_count;
		size_t bytes = S.lim.max_response_size / 8;
		if (!st->cursor) {
			j->nentries = 0;
			j->cursor_done = true;
			break;
		}
		if (job_enter(j))
			break;
		bool done = true;
		exec_cursor_fetch(st->cursor, &j->out, max, bytes, &j->entries, &j->nentries, &done);
		j->cursor_done = done;
		job_leave(j);
		break;
	}
	case J_CUR_CLOSE:
		if (st->cursor && job_enter(j) == 0) {
			exec_cursor_close(st->cursor);
			st->cursor = NULL;
			job_leave(j);
		}
		break;
	case J_PIPE:
		run_pipeline(j);
		break;
	case J_HCUR:
		run_cursor_chunk(j, SESS_CURSOR_CHUNK_ENTRIES, SESS_CURSOR_CHUNK_BYTES);
		break;
	case J_V1_EXEC:
	case J_V1_BATCH:
	case J_LEGACY:
		run_stateless(j);
		break;
	}
}

/* ---- network side: completions ---- */

static void ws_reply(struct sess_job *j)
{
	struct sess_ws *ws = j->ws;
	if (!ws->owner)
		return;
	struct hr_server_msg m = {.request_id = j->request_id};
	if (j->ok) {
		m.type = HR_SMSG_RESPONSE_OK;
		m.resp = j->resp;
		m.resp.type = j->req->type;
	} else {
		m.type = HR_SMSG_RESPONSE_ERROR;
		m.error = j->err;
	}
	S.ops.ws_send(ws->owner, &m);
}

static void http_stream_unlink(struct sess_stream *st)
{
	for (struct sess_stream **pp = &S.http; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			return;
		}
}

/* Answers a pipeline; returns false when the stream is gone or closing. */
static bool http_finish_pipeline(struct sess_job *j)
{
	struct sess_stream *st = j->st;
	st->last_ms = sess_now_ms();
	if (j->owner) {
		struct sess_http_out o = {.status = 200};
		char baton[BATON_TEXT_LEN + 1];
		if (j->proto_err) {
			o.status = 400;
			o.text = j->proto_err;
		} else {
			j->presp.base_url = S.lim.self_url;
			if (!j->closed_stream) {
				baton_encode(st->id, st->seq, baton);
				j->presp.baton = baton;
			}
			o.pipeline = &j->presp;
		}
		S.ops.http_out(j->owner, &o);
	}
	if (j->closed_stream) {
		/* the connection is already closed: free without a close job */
		http_stream_unlink(st);
		stream_free(st);
		return false;
	}
	if (j->proto_err) {
		http_stream_unlink(st);
		stream_close(st);
		return false;
	}
	return true;
}

static void http_cursor_out(struct sess_job *j)
{
	struct sess_stream *st = j->st;
	if (!j->owner) {
		return;
	}
	struct sess_http_out o = {.status = 200, .entries = j->entries, .nentries = j->nentries, .more = !j->cursor_done};
	struct hr_cursor_resp head;
	char baton[BATON_TEXT_LEN + 1];
	if (!j->cursor_started) {
		j->cursor_started = true;
		baton_encode(st->id, st->seq, baton);
		head.baton = baton;
		head.base_url = S.lim.self_url;
		o.cursor_head = &head;
	}
	S.ops.http_out(j->owner, &o);
}

static void job_done(struct work_job *w)
{
	struct sess_job *j = (struct sess_job *)w;
	struct sess_stream *st = j->st;
	S.busy--;
	j->submitted = false;
	switch (j->kind) {
	case J_OPEN:
		if (!j->ok)
			st->open_failed = true;
		ws_reply(j);
		break;
	case J_CLOSE:
		st->running = NULL;
		if (j->ws)
			ws_reply(j);
		if (!st->ws)
			http_stream_unlink(st);
		job_free(j);
		stream_free(st);
		return;
	case J_REQ:
	case J_CUR_CLOSE:
		ws_reply(j);
		if (j->kind == J_CUR_CLOSE) {
			st->blocked = false;
			sess_arena_free(st->cursor_arena);
			st->cursor_arena = NULL;
		}
		break;
	case J_CUR_OPEN:
		if (!j->ok) {
			st->blocked = false;
			if (st->cursor_id == j->req->cursor_id)
				st->cursor_open = false;
		}
		ws_reply(j);
		sess_arena_free(st->cursor_arena);
		/* the batch's arena now belongs to the stream, until close_cursor */
		st->cursor_arena = j->a;
		j->a = NULL;
		break;
	case J_CUR_FETCH:
		j->resp.type = HR_REQ_FETCH_CURSOR;
		j->resp.entries = j->entries;
		j->resp.nentries = j->nentries;
		j->resp.done = j->cursor_done;
		ws_reply(j);
		break;
	case J_PIPE:
		st->running = NULL;
		if (http_finish_pipeline(j)) {
			job_free(j);
			goto pump_http;
		}
		job_free(j);
		return;
	case J_HCUR:
		http_cursor_out(j);
		if (!j->cursor_done && j->owner)
			return; /* waits for sess_call_continue */
		if (!j->cursor_done && st->cursor) {
			/* the client went away mid-cursor: drop the stream */
			st->running = NULL;
			job_free(j);
			http_stream_unlink(st);
			stream_close(st);
			return;
		}
		st->running = NULL;
		st->last_ms = sess_now_ms();
		job_free(j);
		goto pump_http;
	case J_V1_EXEC:
	case J_V1_BATCH:
	case J_LEGACY:
		if (j->owner) {
			struct sess_http_out o = {.status = 200};
			if (j->proto_err) {
				o.status = 400;
				o.generic_error = j->proto_err;
			} else if (!j->ok) {
				o.status = strncmp(j->err.code, "SQLITE_", 7) == 0 ? 500
					   : strcmp(j->err.code, HR_E_ARGS_BOTH) == 0 ? 501
					   : strcmp(j->err.code, HR_E_TRANSACTION_TIMEOUT) == 0 ? 503
												  : 400;
				o.error = &j->err;
			} else if (j->kind == J_V1_EXEC) {
				o.v1_execute = j->sres;
			} else if (j->kind == J_V1_BATCH) {
				o.v1_batch = j->bres;
			} else {
				j->bres->nsteps = j->nlegacy; /* hide the trailing ROLLBACK step */
				o.legacy = j->bres;
			}
			S.ops.http_out(j->owner, &o);
		}
		job_free(j);
		stream_free(st);
		return;
	}
	st->running = NULL;
	job_free(j);
	stream_pump(st);
	return;
pump_http:
	if (st->parked && !st->closing) {
		struct sess_job *p = st->parked;
		st->parked = NULL;
		stream_push(st, p);
	} else {
		stream_pump(st);
	}
}

/* ---- WebSocket ---- */

struct sess_ws *sess_ws_open(void *owner, int version)
{
	struct sess_ws *ws = calloc(1, sizeof *ws);
	if (!ws)
		abort();
	ws->owner = owner;
	ws->version = version;
	ws->next = S.wss;
	if (S.wss)
		S.wss->prev = ws;
	S.wss = ws;
	return ws;
}

static void ws_maybe_free(struct sess_ws *ws)
{
	if (ws->owner || ws->nstreams_alive)
		return;
	if (ws->prev)
		ws->prev->next = ws->next;
	else
		S.wss = ws->next;
	if (ws->next)
		ws->next->prev = ws->prev;
	sqls_free(&ws->sqls);
	free(ws);
}

void sess_ws_gone(struct sess_ws *ws)
{
	if (!ws)
		return;
	ws->owner = NULL;
	for (struct sess_stream *st = ws->streams; st; st = st->next)
		stream_close(st);
	ws_maybe_free(ws);
}

static struct sess_stream *ws_stream(struct sess_ws *ws, int32_t id)
{
	for (struct sess_stream *st = ws->streams; st; st = st->next)
		if (st->ws_id == id && !st->closing)
			return st;
	return NULL;
}

static struct sess_stream *ws_cursor_stream(struct sess_ws *ws, int32_t cursor_id)
{
	for (struct sess_stream *st = ws->streams; st; st = st->next)
		if (st->cursor_open && st->cursor_id == cursor_id && !st->closing)
			return st;
	return NULL;
}

static void ws_proto_error(struct sess_ws *ws, struct arena *a, const char *msg)
{
	void *owner = ws->owner;
	sess_arena_free(a);
	if (owner)
		S.ops.ws_close(owner, 1008, msg);
}

static void ws_respond_now(struct sess_ws *ws, struct arena *a, int32_t request_id, enum hr_req_type t,
			   const char *code, const char *msg)
{
	struct hr_server_msg m = {.request_id = request_id};
	if (code) {
		m.type = HR_SMSG_RESPONSE_ERROR;
		m.error.code = code;
		m.error.message = msg;
	} else {
		m.type = HR_SMSG_RESPONSE_OK;
		m.resp.type = t;
	}
	S.ops.ws_send(ws->owner, &m);
	sess_arena_free(a);
}

static struct sess_job *ws_job(struct sess_ws *ws, enum sess_kind kind, struct sess_stream *st, struct arena *a,
			       const struct hr_client_msg *m)
{
	struct sess_job *j = job_new(kind, st, a);
	j->ws = ws;
	j->request_id = m->request_id;
	j->req = (struct hr_req *)&m->req;
	return j;
}

void sess_ws_msg(struct sess_ws *ws, struct arena *a, const struct hr_client_msg *m)
{
	char msg[160];
	if (m->type == HR_CMSG_HELLO) {
		if (ws->hello && ws->version < 2)
			return ws_proto_error(ws, a, "Hello message can only be sent once in protocol version hrana1");
		ws->hello = true;
		struct hr_server_msg r = {.type = HR_SMSG_HELLO_OK};
		S.ops.ws_send(ws->owner, &r);
		sess_arena_free(a);
		return;
	}
	if (!ws->hello)
		return ws_proto_error(ws, a, "Received a request before hello");
	struct hr_req *r = (struct hr_req *)&m->req;
	if (hr_req_min_version(r->type) > ws->version || r->type == HR_REQ_CLOSE) {
		snprintf(msg, sizeof msg, "The `%s` request is only supported in protocol version hrana%d and higher",
			 hr_req_type_name(r->type), hr_req_min_version(r->type));
		return ws_proto_error(ws, a, msg);
	}
	bool uses_sql_id = r->has_sql_id || (r->type == HR_REQ_EXECUTE && r->stmt.has_sql_id);
	for (size_t i = 0; i < r->batch.nsteps; i++)
		uses_sql_id |= r->batch.steps[i].stmt.has_sql_id;
	if (uses_sql_id && ws->version < 2)
		return ws_proto_error(ws, a, "The `sql_id` field is only supported in protocol version hrana2 and higher");
	struct err e;
	if ((r->type == HR_REQ_BATCH || r->type == HR_REQ_OPEN_CURSOR) && exec_batch_check(&r->batch, ws->version, &e))
		return ws_proto_error(ws, a, e.msg);

	struct sess_stream *st = NULL;
	switch (r->type) {
	case HR_REQ_OPEN_STREAM: {
		for (struct sess_stream *s = ws->streams; s; s = s->next)
			if (s->ws_id == r->stream_id && !s->closing)
				return ws_proto_error(ws, a, "Stream id is already in use");
		st = stream_new();
		st->ws = ws;
		st->ws_id = r->stream_id;
		st->next = ws->streams;
		ws->streams = st;
		ws->nstreams_alive++;
		stream_push(st, ws_job(ws, J_OPEN, st, a, m));
		return;
	}
	case HR_REQ_CLOSE_STREAM: {
		st = ws_stream(ws, r->stream_id);
		if (!st)
			return ws_proto_error(ws, a, "Stream to close is not open");
		/* close after the requests already queued on it */
		struct sess_job *j = ws_job(ws, J_CLOSE, st, a, m);
		stream_push(st, j);
		st->closing = true;
		return;
	}
	case HR_REQ_STORE_SQL:
		if (sqls_get(&ws->sqls, r->sql_id))
			return ws_proto_error(ws, a, "SQL text id is already in use");
		if (ws->sqls.n >= SESS_WS_MAX_SQLS)
			return ws_respond_now(ws, a, m->request_id, r->type, HR_E_SQL_STORE_TOO_MANY,
					      "Too many stored SQL texts (at most 150 per connection)");
		sqls_put(&ws->sqls, r->sql_id, r->sql);
		return ws_respond_now(ws, a, m->request_id, r->type, NULL, NULL);
	case HR_REQ_CLOSE_SQL:
		sqls_del(&ws->sqls, r->sql_id);
		return ws_respond_now(ws, a, m->request_id, r->type, NULL, NULL);
	case HR_REQ_FETCH_CURSOR:
	case HR_REQ_CLOSE_CURSOR:
		st = ws_cursor_stream(ws, r->cursor_id);
		if (!st) {
			if (r->type == HR_REQ_CLOSE_CURSOR)
				return ws_respond_now(ws, a, m->request_id, r->type, NULL, NULL);
			return ws_respond_now(ws, a, m->request_id, r->type, HR_E_CURSOR_NOT_OPEN,
					      "The cursor is not open");
		}
		if (r->type == HR_REQ_CLOSE_CURSOR)
			st->cursor_open = false;
		stream_push(st, ws_job(ws, r->type == HR_REQ_FETCH_CURSOR ? J_CUR_FETCH : J_CUR_CLOSE, st, a, m));
		return;
	default:
		break;
	}
	/* requests on a stream */
	st = ws_stream(ws, r->stream_id);
	if (!st)
		return ws_proto_error(ws, a, "Stream is not open");
	if (st->open_failed)
		return ws_respond_now(ws, a, m->request_id, r->type, HR_E_STREAM_NOT_OPEN, "The stream is not open");
	if (sqls_resolve_req(&ws->sqls, a, r))
		return ws_proto_error(ws, a, "SQL text with this id is not stored");
	if (r->type == HR_REQ_OPEN_CURSOR) {
		if (st->cursor_open)
			return ws_proto_error(ws, a, "The stream already has an open cursor");
		if (ws_cursor_stream(ws, r->cursor_id))
			return ws_proto_error(ws, a, "Cursor id is already in use");
		struct sess_job *j = ws_job(ws, J_CUR_OPEN, st, a, m);
		j->batch = &r->batch;
		st->cursor_open = true;
		st->cursor_id = r->cursor_id;
		stream_push(st, j);
		return;
	}
	stream_push(st, ws_job(ws, J_REQ, st, a, m));
}

/* ---- HTTP ---- */

static struct sess_stream *http_find(uint64_t id)
{
	for (struct sess_stream *st = S.http; st; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

static bool http_was_expired(uint64_t id)
{
	for (struct sess_expired *x = S.expired; x; x = x->next)
		if (x->id == id)
			return true;
	return false;
}

static struct sess_call *http_reject(void *owner, struct arena *a, int status, const char *text)
{
	struct sess_http_out o = {.status = status, .text = text};
	S.ops.http_out(owner, &o);
	sess_arena_free(a);
	return NULL;
}

/* Finds or makes the stream a baton names. NULL after answering the call. */
static struct sess_stream *http_stream_for(void *owner, struct arena *a, const char *baton, bool *park)
{
	*park = false;
	if (!baton) {
		struct sess_stream *st = stream_new();
		do
			st->id = baton_random64();
		while (http_find(st->id));
		st->seq = baton_random64();
		st->last_ms = sess_now_ms();
		st->next = S.http;
		S.http = st;
		return st;
	}
	uint64_t id, seq;
	if (baton_decode(baton, strlen(baton), &id, &seq)) {
		http_reject(owner, a, 400, "Received an invalid baton");
		return NULL;
	}
	struct sess_stream *st = http_find(id);
	if (!st || st->closing) {
		if (http_was_expired(id)) {
			static const struct hr_error expired = {"The stream has expired due to inactivity",
								HR_E_STREAM_EXPIRED};
			struct sess_http_out o = {.status = 400, .error = &expired};
			S.ops.http_out(owner, &o);
			sess_arena_free(a);
		} else {
			http_reject(owner, a, 400, "Received an invalid baton");
		}
		return NULL;
	}
	if (seq != st->seq || st->parked || (st->running && st->running->kind != J_HCUR)) {
		http_reject(owner, a, 400, "Received a baton that has already been used");
		return NULL;
	}
	*park = st->running != NULL;
	return st;
}

static struct sess_call *http_start(struct sess_stream *st, struct sess_job *j, bool park)
{
	st->seq++;
	if (park)
		st->parked = j;
	else
		stream_push(st, j);
	return (struct sess_call *)j;
}

struct sess_call *sess_http_pipeline(void *owner, int version, struct arena *a, const struct hr_pipeline_req *r)
{
	char msg[160];
	struct err e;
	for (size_t i = 0; i < r->nrequests; i++) {
		const struct hr_req *q = &r->requests[i];
		if (hr_req_min_version(q->type) > version) {
			snprintf(msg, sizeof msg, "The `%s` request is only supported in Hrana %d and higher",
				 hr_req_type_name(q->type), hr_req_min_version(q->type));
			return http_reject(owner, a, 400, arena_strdup(a, msg));
		}
		switch (q->type) {
		case HR_REQ_CLOSE:
		case HR_REQ_EXECUTE:
		case HR_REQ_BATCH:
		case HR_REQ_SEQUENCE:
		case HR_REQ_DESCRIBE:
		case HR_REQ_STORE_SQL:
		case HR_REQ_CLOSE_SQL:
		case HR_REQ_GET_AUTOCOMMIT:
			break;
		default:
			snprintf(msg, sizeof msg, "The `%s` request is not a stream request", hr_req_type_name(q->type));
			return http_reject(owner, a, 400, arena_strdup(a, msg));
		}
		if (q->type == HR_REQ_BATCH && exec_batch_check(&q->batch, version, &e))
			return http_reject(owner, a, 400, arena_strdup(a, e.msg));
	}
	bool park;
	struct sess_stream *st = http_stream_for(owner, a, r->baton, &park);
	if (!st)
		return NULL;
	struct sess_job *j = job_new(J_PIPE, st, a);
	j->owner = owner;
	j->version = version;
	j->pipe = r;
	return http_start(st, j, park);
}

struct sess_call *sess_http_cursor(void *owner, struct arena *a, const struct hr_cursor_req *r)
{
	struct err e;
	if (exec_batch_check(&r->batch, 3, &e))
		return http_reject(owner, a, 400, arena_strdup(a, e.msg));
	bool park;
	struct sess_stream *st = http_stream_for(owner, a, r->baton, &park);
	if (!st)
		return NULL;
	struct sess_job *j = job_new(J_HCUR, st, a);
	j->owner = owner;
	j->version = 3;
	j->batch = &r->batch;
	/* stored SQL of the stream is resolved on the worker with the cursor */
	return http_start(st, j, park);
}

static struct sess_call *http_stateless(void *owner, struct arena *a, enum sess_kind kind, const struct hr_stmt *s,
					const struct hr_batch *b)
{
	struct sess_stream *st = stream_new();
	struct sess_job *j = job_new(kind, st, a);
	j->owner = owner;
	j->stmt = s;
	j->batch = b;
	stream_push(st, j);
	return (struct sess_call *)j;
}

struct sess_call *sess_http_v1_execute(void *owner, struct arena *a, const struct hr_stmt *s)
{
	if (s->has_sql_id)
		return http_reject(owner, a, 400, "sql_id is not supported here");
	return http_stateless(owner, a, J_V1_EXEC, s, NULL);
}

struct sess_call *sess_http_v1_batch(void *owner, struct arena *a, const struct hr_batch *b)
{
	struct err e;
	if (exec_batch_check(b, 1, &e))
		return http_reject(owner, a, 400, arena_strdup(a, e.msg));
	for (size_t i = 0; i < b->nsteps; i++)
		if (b->steps[i].stmt.has_sql_id)
			return http_reject(owner, a, 400, "sql_id is not supported here");
	return http_stateless(owner, a, J_V1_BATCH, NULL, b);
}

/* POST /: statements in autocommit mode, each run only if the one before it
 * succeeded, then a hidden ROLLBACK if one failed (PROTOCOL.md §6.1). */
struct sess_call *sess_http_legacy(void *owner, struct arena *a, const struct hr_stmt *stmts, size_t n)
{
	struct hr_batch *b = ARENA_NEW(a, struct hr_batch);
	b->nsteps = n + 1;
	b->steps = ARENA_ARRAY(a, struct hr_step, n + 1);
	for (size_t i = 0; i < n; i++) {
		const char *k = stmts[i].sql ? stmts[i].sql : "";
		while (*k == ' ' || *k == '\t' || *k == '\n' || *k == '\r')
			k++;
		if (strncasecmp(k, "SAVEPOINT", 9) == 0 || strncasecmp(k, "RELEASE", 7) == 0) {
			struct sess_http_out o = {.status = 400, .generic_error = "SAVEPOINT and RELEASE are not allowed in HTTP queries"};
			S.ops.http_out(owner, &o);
			sess_arena_free(a);
			return NULL;
		}
		b->steps[i].stmt = stmts[i];
		if (i > 0) {
			b->steps[i].cond = ARENA_NEW(a, struct hr_cond);
			b->steps[i].cond->type = HR_COND_OK;
			b->steps[i].cond->step = (uint32_t)(i - 1);
		}
	}
	struct hr_step *rb = &b->steps[n];
	rb->stmt.sql = "ROLLBACK";
	rb->stmt.want_rows = false;
	if (n > 0) {
		struct hr_cond *c = ARENA_NEW(a, struct hr_cond);
		c->type = HR_COND_AND;
		c->nconds = 2;
		c->conds = ARENA_ARRAY(a, struct hr_cond, 2);
		c->conds[0].type = HR_COND_NOT;
		c->conds[0].nconds = 1;
		c->conds[0].conds = ARENA_NEW(a, struct hr_cond);
		c->conds[0].conds->type = HR_COND_OK;
		c->conds[0].conds->step = (uint32_t)(n - 1);
		c->conds[1].type = HR_COND_NOT;
		c->conds[1].nconds = 1;
		c->conds[1].conds = ARENA_NEW(a, struct hr_cond);
		c->conds[1].conds->type = HR_COND_IS_AUTOCOMMIT;
		rb->cond = c;
	} else {
		rb->cond = ARENA_NEW(a, struct hr_cond);
		rb->cond->type = HR_COND_ERROR; /* never true: step 0 is itself */
		rb->cond->step = 0;
		b->nsteps = 0;
	}
	struct sess_call *c = http_stateless(owner, a, J_LEGACY, NULL, b);
	((struct sess_job *)c)->nlegacy = n;
	return c;
}

void sess_call_continue(struct sess_call *c)
{
	struct sess_job *j = (struct sess_job *)c;
	job_submit(j);
}

void sess_call_cancel(struct sess_call *c)
{
	struct sess_job *j = (struct sess_job *)c;
	if (!j)
		return;
	j->owner = NULL;
	struct sess_stream *st = j->st;
	if (st->parked == j) {
		st->parked = NULL;
		job_free(j);
		return;
	}
	if (j->kind == J_HCUR && st->running == j && !j->submitted) {
		/* between chunks (not submitted): drop the stream */
		st->running = NULL;
		job_free(j);
		http_stream_unlink(st);
		stream_close(st);
	}
}

/* ---- housekeeping ---- */

void sess_init(struct db *db, const struct sess_limits *lim, const struct sess_ops *ops)
{
	memset(&S, 0, sizeof S);
	S.db = db;
	S.lim = *lim;
	S.ops = *ops;
}

void sess_tick(void)
{
	int64_t now = sess_now_ms();
	for (struct sess_expired **pp = &S.expired; *pp;) {
		if (now - (*pp)->at_ms > SESS_EXPIRED_KEEP_MS) {
			struct sess_expired *x = *pp;
			*pp = x->next;
			free(x);
		} else {
			pp = &(*pp)->next;
		}
	}
	for (struct sess_stream **pp = &S.http; *pp;) {
		struct sess_stream *st = *pp;
		if (!st->running && !st->closing && now - st->last_ms > S.lim.stream_idle_ms) {
			*pp = st->next;
			struct sess_expired *x = malloc(sizeof *x);
			if (!x)
				abort();
			x->id = st->id;
			x->at_ms = now;
			x->next = S.expired;
			S.expired = x;
			log_debug("HTTP stream %016llx expired", (unsigned long long)st->id);
			stream_close(st);
			continue;
		}
		pp = &st->next;
	}
}

void sess_shutdown(void)
{
	S.stopping = true;
	for (struct sess_ws *ws = S.wss; ws; ws = ws->next)
		for (struct sess_stream *st = ws->streams; st; st = st->next)
			stream_close(st);
	while (S.http) {
		struct sess_stream *st = S.http;
		S.http = st->next;
		if (st->running && st->running->kind == J_HCUR && !st->running->submitted) {
			/* a cursor between chunks holds no worker: drop its job */
			job_free(st->running);
			st->running = NULL;
		}
		stream_close(st);
	}
	/* the network loop already gave in-flight work its bound: cut the rest */
	while (S.busy) {
		db_interrupt_all(S.db);
		work_drain();
		if (S.busy) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	while (S.expired) {
		struct sess_expired *x = S.expired;
		S.expired = x->next;
		free(x);
	}
}
