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
#include "sess_int.h"
#include "baton.h"
#include "db.h"
#include "exec.h"
#include "log.h"
#include "metrics.h"
#include "ns.h"
#include "work.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sess_state S;

int64_t sess_now_ms(void)
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

const char *sess_sqls_get(const struct sess_sqls *s, int32_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return s->sqls[i];
	return NULL;
}

void sess_sqls_put(struct sess_sqls *s, int32_t id, const char *sql)
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

void sess_sqls_del(struct sess_sqls *s, int32_t id)
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

void sess_sqls_free(struct sess_sqls *s)
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
	const char *sql = sess_sqls_get(s, stmt->sql_id);
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
int sess_sqls_resolve_req(const struct sess_sqls *s, struct arena *a, struct hr_req *r)
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
			const char *sql = sess_sqls_get(s, r->sql_id);
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

struct sess_job *sess_job_new(enum sess_kind kind, struct sess_stream *st, struct arena *a)
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
	j->allow = S.next_allow; /* HTTP calls; WS jobs set theirs (ws_job) */
	return j;
}

void sess_job_free(struct sess_job *j)
{
	sess_arena_free(j->a);
	arena_free(&j->out);
	buf_free(&j->wire);
	free(j);
}

void sess_job_submit(struct sess_job *j)
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
void sess_stream_pump(struct sess_stream *st)
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
	sess_job_submit(j);
}

void sess_stream_push(struct sess_stream *st, struct sess_job *j)
{
	j->qnext = NULL;
	if (st->qtail)
		st->qtail->qnext = j;
	else
		st->qhead = j;
	st->qtail = j;
	sess_stream_pump(st);
}

struct sess_stream *sess_stream_new(struct ns *ns)
{
	struct sess_stream *st = calloc(1, sizeof *st);
	if (!st)
		abort();
	st->ns = ns ? ns_ref(ns) : NULL;
	metrics_stream(1);
	return st;
}

/* Queues the stream's close; drops jobs that have not started. */
void sess_stream_close(struct sess_stream *st)
{
	if (st->closing)
		return;
	st->closing = true;
	struct sess_job *j = st->qhead;
	while (j) {
		struct sess_job *n = j->qnext;
		sess_job_free(j);
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
		sess_job_free(p);
	}
	sess_stream_push(st, sess_job_new(J_CLOSE, st, NULL));
}

void sess_ws_maybe_free(struct sess_ws *ws);

void sess_stream_free(struct sess_stream *st)
{
	if (st->ws) {
		struct sess_ws *ws = st->ws;
		struct sess_stream **pp = &ws->streams;
		while (*pp && *pp != st)
			pp = &(*pp)->next;
		if (*pp)
			*pp = st->next;
		ws->nstreams_alive--;
		sess_ws_maybe_free(ws);
	}
	sess_arena_free(st->cursor_arena);
	sess_sqls_free(&st->sqls);
	ns_put(st->ns);
	metrics_stream(-1);
	free(st);
}

/* ---- worker side ---- */

static void set_err(struct sess_job *j, const char *code, const char *msg)
{
	j->ok = 0;
	j->err.code = code;
	j->err.message = msg;
}

/* Adds a request's statements to its namespace's usage (admin stats). */
static void count_usage(struct ns *ns, const struct hr_stmt_result *sr, const struct hr_batch_result *br)
{
	uint64_t q = 0, rd = 0, wr = 0;
	if (sr)
		q = 1, rd = sr->rows_read, wr = sr->rows_written;
	for (size_t i = 0; br && i < br->nsteps; i++)
		if (br->step_results[i])
			q++, rd += br->step_results[i]->rows_read, wr += br->step_results[i]->rows_written;
	if (q && ns)
		ns_count(ns, q, rd, wr);
}

/* Opens the stream's connection on first use and enters it. */
static int job_enter(struct sess_job *j)
{
	struct sess_stream *st = j->st;
	if (!st->ns) {
		set_err(j, "NAMESPACE_DOESNT_EXIST", "The stream has no namespace");
		return -1;
	}
	if (ns_deleted(st->ns)) {
		/* deleted under an open stream: it must let go of the namespace */
		set_err(j, "NAMESPACE_DOESNT_EXIST", arena_printf(&j->out, "Namespace `%s` doesn't exist", ns_name(st->ns)));
		return -1;
	}
	if (!st->conn) {
		struct err e;
		if (db_conn_open(ns_db(st->ns), &st->conn, &e)) {
			log_error("%s", e.msg);
			set_err(j, "SQLITE_CANTOPEN", arena_printf(&j->out, "SQLite error: %s", e.msg));
			return -1;
		}
	}
	db_conn_enter(st->conn);
	exec_set_allow(j->allow);
	return 0;
}

static void job_leave(struct sess_job *j)
{
	if (exec_take_forbidden())
		j->forbidden = true;
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
		if (sess_sqls_resolve_req(&st->sqls, a, r)) {
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
		if (sess_sqls_get(&st->sqls, r->sql_id)) {
			j->proto_err = "SQL text id is already in use";
		} else if (strlen(r->sql) > SESS_HTTP_MAX_SQL_LEN) {
			rc = -1, err->code = HR_E_SQL_STORE_TOO_LARGE;
			err->message = "Stored SQL text is too large (at most 5 KB)";
		} else if (st->sqls.n >= SESS_HTTP_MAX_SQLS) {
			rc = -1, err->code = HR_E_SQL_STORE_TOO_MANY;
			err->message = "Too many stored SQL texts (at most 50 per stream)";
		} else {
			sess_sqls_put(&st->sqls, r->sql_id, r->sql);
		}
		break;
	case HR_REQ_CLOSE_SQL:
		sess_sqls_del(&st->sqls, r->sql_id);
		break;
	default:
		rc = -1, err->code = "PROTOCOL_ERROR", err->message = "request not valid here";
		break;
	}
	count_usage(st->ns, resp->stmt_result, resp->batch_result);
	uint64_t commit;
	if (db_last_commit(ns_db(st->ns), &commit)) {
		/* the commit position after the request (PROTOCOL.md §3.3) */
		if (resp->stmt_result) {
			resp->stmt_result->has_replication_index = true;
			resp->stmt_result->replication_index = commit;
		}
		if (resp->batch_result) {
			resp->batch_result->has_replication_index = true;
			resp->batch_result->replication_index = commit;
			for (size_t i = 0; i < resp->batch_result->nsteps; i++)
				if (resp->batch_result->step_results[i]) {
					resp->batch_result->step_results[i]->has_replication_index = true;
					resp->batch_result->step_results[i]->replication_index = commit;
				}
		}
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
	count_usage(j->st->ns, j->ok ? j->sres : NULL, j->ok ? j->bres : NULL);
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
			if (j->forbidden && j->ok) {
				/* a refused batch step: the whole request is refused */
				j->ok = 0;
				j->err.code = HR_E_FORBIDDEN;
				j->err.message = "Authorization forbidden: the credential has no write permission";
			}
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
	if (j->kind == J_CUR_FETCH) {
		j->resp.type = HR_REQ_FETCH_CURSOR;
		j->resp.entries = j->entries;
		j->resp.nentries = j->nentries;
		j->resp.done = j->cursor_done;
	}
	sess_ws_encode_reply(j);
}

/* ---- network side: completions ---- */

const char *const sess_forbidden_msg = "Authorization forbidden: the credential has no write permission";
#define forbidden_msg sess_forbidden_msg

void sess_set_allow(unsigned allow)
{
	S.next_allow = allow;
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
		sess_ws_reply(j);
		break;
	case J_CLOSE:
		st->running = NULL;
		if (j->ws)
			sess_ws_reply(j);
		if (!st->ws)
			sess_http_unlink(st);
		sess_job_free(j);
		sess_stream_free(st);
		return;
	case J_REQ:
	case J_CUR_CLOSE:
		sess_ws_reply(j);
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
		sess_ws_reply(j);
		sess_arena_free(st->cursor_arena);
		/* the batch's arena now belongs to the stream, until close_cursor */
		st->cursor_arena = j->a;
		j->a = NULL;
		break;
	case J_CUR_FETCH:
		sess_ws_reply(j);
		break;
	case J_PIPE:
		st->running = NULL;
		if (sess_http_finish_pipeline(j)) {
			sess_job_free(j);
			goto pump_http;
		}
		sess_job_free(j);
		return;
	case J_HCUR:
		if (j->forbidden && !j->cursor_started) {
			if (j->owner) {
				struct sess_http_out o = {.status = 403, .generic_error = forbidden_msg};
				S.ops.http_out(j->owner, &o);
			}
			st->running = NULL;
			sess_job_free(j);
			sess_http_unlink(st);
			sess_stream_close(st);
			return;
		}
		sess_http_cursor_out(j);
		if (!j->cursor_done && j->owner)
			return; /* waits for sess_call_continue */
		if (!j->cursor_done && st->cursor) {
			/* the client went away mid-cursor: drop the stream */
			st->running = NULL;
			sess_job_free(j);
			sess_http_unlink(st);
			sess_stream_close(st);
			return;
		}
		st->running = NULL;
		st->last_ms = sess_now_ms();
		sess_job_free(j);
		goto pump_http;
	case J_V1_EXEC:
	case J_V1_BATCH:
	case J_LEGACY:
		if (j->owner) {
			struct sess_http_out o = {.status = 200};
			if (j->forbidden) {
				o.status = 403;
				o.generic_error = forbidden_msg;
			} else if (j->proto_err) {
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
		sess_job_free(j);
		sess_stream_free(st);
		return;
	}
	st->running = NULL;
	sess_job_free(j);
	sess_stream_pump(st);
	return;
pump_http:
	if (st->parked && !st->closing) {
		struct sess_job *p = st->parked;
		st->parked = NULL;
		sess_stream_push(st, p);
	} else {
		sess_stream_pump(st);
	}
}

/* ---- housekeeping ---- */

void sess_init(const struct sess_limits *lim, const struct sess_ops *ops)
{
	memset(&S, 0, sizeof S);
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
			sess_stream_close(st);
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
			sess_stream_close(st);
	while (S.http) {
		struct sess_stream *st = S.http;
		S.http = st->next;
		if (st->running && st->running->kind == J_HCUR && !st->running->submitted) {
			/* a cursor between chunks holds no worker: drop its job */
			sess_job_free(st->running);
			st->running = NULL;
		}
		sess_stream_close(st);
	}
	/* the network loop already gave in-flight work its bound: cut the rest */
	while (S.busy) {
		ns_interrupt_all();
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
