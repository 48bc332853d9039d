/* sess_ws: Hrana over WebSocket (PROTOCOL.md §2): hello, version gating,
 * streams, stored SQL per connection (150), cursors. Network thread. */
#include "sess_int.h"
#include "auth.h"
#include "exec.h"
#include "ns.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ws_reply_msg(const struct sess_job *j, struct hr_server_msg *m)
{
	memset(m, 0, sizeof *m);
	m->request_id = j->request_id;
	if (j->ok) {
		m->type = HR_SMSG_RESPONSE_OK;
		m->resp = j->resp;
		m->resp.type = j->req->type;
	} else {
		m->type = HR_SMSG_RESPONSE_ERROR;
		m->error = j->err;
	}
}

/* On the worker, right after the request ran: the network thread then only
 * writes bytes. */
void sess_ws_encode_reply(struct sess_job *j)
{
	if (!j->ws || !j->ws->encode || !j->req)
		return;
	struct hr_server_msg m;
	ws_reply_msg(j, &m);
	j->ws->encode(&j->wire, &m);
}

void sess_ws_reply(struct sess_job *j)
{
	struct sess_ws *ws = j->ws;
	if (!ws->owner)
		return;
	if (j->wire.len) {
		S.ops.ws_send_encoded(ws->owner, &j->wire);
		return;
	}
	struct hr_server_msg m;
	ws_reply_msg(j, &m);
	S.ops.ws_send(ws->owner, &m);
}

/* ---- WebSocket ---- */

struct sess_ws *sess_ws_open(void *owner, int version, sess_ws_encoder encode)
{
	struct sess_ws *ws = calloc(1, sizeof *ws);
	if (!ws)
		abort();
	ws->owner = owner;
	ws->ns = S.ops.owner_ns ? S.ops.owner_ns(owner) : NULL;
	if (ws->ns)
		ns_ref(ws->ns);
	ws->version = version;
	ws->encode = encode;
	ws->next = S.wss;
	if (S.wss)
		S.wss->prev = ws;
	S.wss = ws;
	return ws;
}

void sess_ws_maybe_free(struct sess_ws *ws)
{
	if (ws->owner || ws->nstreams_alive)
		return;
	if (ws->prev)
		ws->prev->next = ws->next;
	else
		S.wss = ws->next;
	if (ws->next)
		ws->next->prev = ws->prev;
	sess_sqls_free(&ws->sqls);
	free(ws->upgrade_auth);
	ns_put(ws->ns);
	free(ws);
}

void sess_ws_set_upgrade_auth(struct sess_ws *ws, const char *header)
{
	free(ws->upgrade_auth);
	ws->upgrade_auth = header ? strdup(header) : NULL;
	if (header && !ws->upgrade_auth)
		abort();
}

void sess_ws_gone(struct sess_ws *ws)
{
	if (!ws)
		return;
	ws->owner = NULL;
	for (struct sess_stream *st = ws->streams; st; st = st->next)
		sess_stream_close(st);
	sess_ws_maybe_free(ws);
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
	struct sess_job *j = sess_job_new(kind, st, a);
	j->ws = ws;
	j->request_id = m->request_id;
	j->req = (struct hr_req *)&m->req;
	j->allow = ws->allow;
	return j;
}

void sess_ws_msg(struct sess_ws *ws, struct arena *a, const struct hr_client_msg *m)
{
	char msg[160];
	if (m->type == HR_CMSG_HELLO) {
		if (ws->hello && ws->version < 2)
			return ws_proto_error(ws, a, "Hello message can only be sent once in protocol version hrana1");
		/* the credential is checked at every hello; a re-hello replaces the
		 * grant for the requests that follow it */
		struct auth_grant g;
		struct err e = {{0}};
		int rc = auth_check_jwt(S.lim.auth, m->jwt, ws->upgrade_auth, ws->ns ? ns_name(ws->ns) : AUTH_DEFAULT_NS,
				    &g, &e);
		if (rc != AUTH_OK) {
			ws->hello = false; /* nothing more runs on this connection */
			ws->allow = 0;
			struct hr_server_msg r = {.type = HR_SMSG_HELLO_ERROR};
			r.error.code = auth_code(rc);
			r.error.message = rc == AUTH_E_FORBIDDEN ? arena_strdup(a, e.msg)
								 : arena_printf(a, "Authentication failed: %s", e.msg);
			S.ops.ws_send(ws->owner, &r);
			sess_arena_free(a);
			/* sqld stops processing after a hello_error and closes normally */
			S.ops.ws_close(ws->owner, 1000, "Authentication failed");
			return;
		}
		ws->hello = true;
		ws->allow = g.allow;
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
		st = sess_stream_new(ws->ns);
		st->ws = ws;
		st->ws_id = r->stream_id;
		st->next = ws->streams;
		ws->streams = st;
		ws->nstreams_alive++;
		sess_stream_push(st, ws_job(ws, J_OPEN, st, a, m));
		return;
	}
	case HR_REQ_CLOSE_STREAM: {
		st = ws_stream(ws, r->stream_id);
		if (!st)
			return ws_proto_error(ws, a, "Stream to close is not open");
		/* close after the requests already queued on it */
		struct sess_job *j = ws_job(ws, J_CLOSE, st, a, m);
		sess_stream_push(st, j);
		st->closing = true;
		return;
	}
	case HR_REQ_STORE_SQL:
		if (sess_sqls_get(&ws->sqls, r->sql_id))
			return ws_proto_error(ws, a, "SQL text id is already in use");
		if (ws->sqls.n >= SESS_WS_MAX_SQLS)
			return ws_respond_now(ws, a, m->request_id, r->type, HR_E_SQL_STORE_TOO_MANY,
					      "Too many stored SQL texts (at most 150 per connection)");
		sess_sqls_put(&ws->sqls, r->sql_id, r->sql);
		return ws_respond_now(ws, a, m->request_id, r->type, NULL, NULL);
	case HR_REQ_CLOSE_SQL:
		sess_sqls_del(&ws->sqls, r->sql_id);
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
		sess_stream_push(st, ws_job(ws, r->type == HR_REQ_FETCH_CURSOR ? J_CUR_FETCH : J_CUR_CLOSE, st, a, m));
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
	if (sess_sqls_resolve_req(&ws->sqls, a, r))
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
		sess_stream_push(st, j);
		return;
	}
	sess_stream_push(st, ws_job(ws, J_REQ, st, a, m));
}
