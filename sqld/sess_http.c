/* sess_http: Hrana over HTTP (PROTOCOL.md §4): baton-named streams, stored
 * SQL per stream (50 x 5 KB), pipelines, /v3/cursor, and the stateless /v1
 * and legacy calls. Network thread. */
#include "sess_int.h"
#include "baton.h"
#include "exec.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sess_http_unlink(struct sess_stream *st)
{
	for (struct sess_stream **pp = &S.http; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			return;
		}
}

/* Answers a pipeline; returns false when the stream is gone or closing. */
bool sess_http_finish_pipeline(struct sess_job *j)
{
	struct sess_stream *st = j->st;
	st->last_ms = sess_now_ms();
	if (j->owner) {
		struct sess_http_out o = {.status = 200};
		char baton[BATON_TEXT_LEN + 1];
		if (j->forbidden) {
			o.status = 403;
			o.generic_error = sess_forbidden_msg;
		} else if (j->proto_err) {
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
		sess_http_unlink(st);
		sess_stream_free(st);
		return false;
	}
	if (j->proto_err || j->forbidden) {
		sess_http_unlink(st);
		sess_stream_close(st);
		return false;
	}
	return true;
}

void sess_http_cursor_out(struct sess_job *j)
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
	struct ns *ns = S.ops.owner_ns ? S.ops.owner_ns(owner) : NULL;
	if (!baton) {
		struct sess_stream *st = sess_stream_new(ns);
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
			static const struct hr_error expired = {.message = "The stream has expired due to inactivity",
								.code = HR_E_STREAM_EXPIRED};
			struct sess_http_out o = {.status = 400, .error = &expired};
			S.ops.http_out(owner, &o);
			sess_arena_free(a);
		} else {
			http_reject(owner, a, 400, "Received an invalid baton");
		}
		return NULL;
	}
	if (st->ns != ns) {
		/* a baton of another namespace names nothing here */
		http_reject(owner, a, 400, "Received an invalid baton");
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
		sess_stream_push(st, j);
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
	struct sess_job *j = sess_job_new(J_PIPE, st, a);
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
	struct sess_job *j = sess_job_new(J_HCUR, st, a);
	j->owner = owner;
	j->version = 3;
	j->batch = &r->batch;
	/* stored SQL of the stream is resolved on the worker with the cursor */
	return http_start(st, j, park);
}

static struct sess_call *http_stateless(void *owner, struct arena *a, enum sess_kind kind, const struct hr_stmt *s,
					const struct hr_batch *b)
{
	struct sess_stream *st = sess_stream_new(S.ops.owner_ns ? S.ops.owner_ns(owner) : NULL);
	struct sess_job *j = sess_job_new(kind, st, a);
	j->owner = owner;
	j->stmt = s;
	j->batch = b;
	sess_stream_push(st, j);
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
	sess_job_submit(j);
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
		sess_job_free(j);
		return;
	}
	if (j->kind == J_HCUR && st->running == j && !j->submitted) {
		/* between chunks (not submitted): drop the stream */
		st->running = NULL;
		sess_job_free(j);
		sess_http_unlink(st);
		sess_stream_close(st);
	}
}
