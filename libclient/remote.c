/* remote: a remote database over Hrana 3 JSON (see remote.h), one Hrana
 * stream per connection.
 *
 * WebSocket (ws://, wss://, libsql://): subprotocols "hrana3, hrana2"; hello
 * (with the token as jwt) and open_stream are sent back to back at open and
 * their answers read together; afterwards every call sends its requests (one
 * WS message each, request ids counting up) and reads responses until each
 * has its answer. A statement is one `execute`; transaction-control
 * statements get a `get_autocommit` pipelined behind them (Hrana 3).
 * HTTP (http://, https://): POST /v3/pipeline with the stream's baton and
 * `Authorization: Bearer <token>`; every pipeline ends with `get_autocommit`.
 * A baton that died while no transaction was open (STREAM_EXPIRED, sqld
 * restarted) is replaced by a new stream transparently.
 *
 * Invariants: `autocommit` mirrors the server's stream (from get_autocommit
 * answers, else from the statements seen); a statement is executed at its
 * first step with want_rows and all its rows are buffered in the statement's
 * arena; parameter metadata comes from `describe`, fetched only when asked
 * for (or when bound values must be sent by name).
 * Threads: one thread at a time per struct remote (the api serialises). */
#include "remote.h"
#include "arena.h"
#include "buf.h"
#include "hjson_client.h"
#include "remote_int.h"
#include "xport.h"
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REMOTE_STREAM_ID 1

const char *remote_ws_protocols = "hrana3, hrana2";

struct remote {
	bool ws;
	int version; /* Hrana version spoken: 3, 2 (or 1) */
	struct xport *x;
	char *url, *token, *auth; /* auth: "Bearer <token>" */
	int timeout_ms;
	int32_t next_id;
	char *baton;    /* HTTP: NULL = no stream yet */
	char *base_url; /* HTTP: the server's redirect for this stream, if any */
	bool broken;    /* WS: reconnect before the next request */
	int errcode, exterr;
	char errmsg[512];
	int64_t changes, total_changes, last_rowid;
	bool autocommit;
	/* Hrana 2 (no get_autocommit): the savepoints open, and whether a
	 * SAVEPOINT started the transaction (then releasing the outermost ends it) */
	char sp[32][64];
	int nsp;
	bool sp_txn;
	bool has_ri;
	uint64_t ri;
	struct buf out, in;
	struct arena tmp; /* answers not kept by a statement */
};

struct remote_stmt {
	struct remote *r;
	char *sql;        /* the whole text given (with leading separators), NUL-terminated */
	const char *body; /* the statement itself, inside sql */
	size_t body_len;
	enum remote_kw kw;
	int phint; /* remote_param_hint */
	struct hr_value *binds; /* [nbinds], index i = parameter i + 1 */
	int nbinds, capbinds;
	struct arena darena;
	struct hr_describe_result *desc; /* lazily */
	bool desc_failed;
	struct arena rarena;
	struct hr_stmt_result *res; /* after the first step */
	size_t next_row;            /* rows handed out */
	int last_rc;
	enum { RS_FRESH, RS_ROWS, RS_DONE, RS_ERROR } state;
};

static const struct hr_value remote_null;

/* ---------------- errors ---------------- */

static int remote_fail(struct remote *r, int code, int ext, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int remote_fail(struct remote *r, int code, int ext, const char *fmt, ...)
{
	char msg[sizeof r->errmsg]; /* the arguments may point into r->errmsg */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(r->errmsg, msg, sizeof msg);
	r->errcode = code;
	r->exterr = ext ? ext : code;
	return code;
}

static int remote_hrana_fail(struct remote *r, const struct hr_error *er)
{
	int ext;
	int c = remote_map_error(er, &ext);
	remote_clean_message(r->errmsg, sizeof r->errmsg, er->message);
	r->errcode = c;
	r->exterr = ext;
	return c;
}

static void remote_ok(struct remote *r)
{
	r->errcode = r->exterr = SQLITE_OK;
	r->errmsg[0] = 0;
}

const char *remote_errmsg(struct remote *r)
{
	if (!r)
		return sqlite3_errstr(SQLITE_NOMEM);
	return r->errmsg[0] ? r->errmsg : sqlite3_errstr(r->errcode);
}
int remote_errcode(struct remote *r) { return r ? r->errcode : SQLITE_NOMEM; }
int remote_extended_errcode(struct remote *r) { return r ? r->exterr : SQLITE_NOMEM; }

/* ---------------- the WebSocket transport ---------------- */

/* Reads server messages until the one answering id; decodes it into a (NULL:
 * r->tmp). Other answers (of requests nobody waits for) are dropped. */
static int remote_ws_wait(struct remote *r, int32_t id, struct arena *a, struct hr_stream_result *out)
{
	for (;;) {
		struct err e;
		r->in.len = 0;
		if (xport_ws_recv(r->x, &r->in, &e) != 0) {
			r->broken = true;
			return remote_fail(r, SQLITE_IOERR, 0, "connection to the database lost: %s", e.msg);
		}
		struct hr_server_msg m;
		struct arena *da = a ? a : &r->tmp;
		int rc = hjson_client_decode_server_msg(da, r->in.p, r->in.len, &m, &e);
		if (rc != 0) {
			r->broken = true;
			return remote_fail(r, SQLITE_PROTOCOL, 0, "bad message from the server: %s", e.msg);
		}
		if (m.type == HR_SMSG_HELLO_ERROR) {
			r->broken = true;
			remote_hrana_fail(r, &m.error);
			return remote_fail(r, SQLITE_AUTH, 0, "%s", m.error.message ? m.error.message : "hello refused");
		}
		if (m.type == HR_SMSG_HELLO_OK || m.request_id != id)
			continue;
		memset(out, 0, sizeof *out);
		if (m.type == HR_SMSG_RESPONSE_OK) {
			out->ok = true;
			out->resp = m.resp;
		} else {
			out->error = m.error;
		}
		return SQLITE_OK;
	}
}

static int remote_ws_send(struct remote *r, const struct hr_req *q, int32_t *id)
{
	struct err e;
	*id = r->next_id++;
	if (r->next_id < 0)
		r->next_id = 1;
	r->out.len = 0;
	hjson_client_encode_request(&r->out, *id, q);
	if (xport_ws_send(r->x, r->out.p, r->out.len, &e) != 0) {
		r->broken = true;
		return remote_fail(r, SQLITE_IOERR, 0, "connection to the database lost: %s", e.msg);
	}
	return SQLITE_OK;
}

/* Connects, says hello, opens the stream. */
static int remote_ws_connect(struct remote *r)
{
	struct err e;
	const char *chosen = NULL;
	xport_close(r->x);
	r->x = NULL;
	if (xport_ws_open(r->url, remote_ws_protocols, NULL, 0, r->timeout_ms, &r->x, &chosen, &e) != 0)
		return remote_fail(r, SQLITE_CANTOPEN, 0, "%s", e.msg);
	r->version = !chosen || !*chosen ? 1 : !strcasecmp(chosen, "hrana3") ? 3 : !strcasecmp(chosen, "hrana2") ? 2 : 0;
	if (r->version == 0)
		return remote_fail(r, SQLITE_CANTOPEN, 0, "server chose an unknown subprotocol %s", chosen);
	r->broken = false;
	r->next_id = 1;
	r->out.len = 0;
	hjson_client_encode_hello(&r->out, r->token);
	if (xport_ws_send(r->x, r->out.p, r->out.len, &e) != 0)
		return remote_fail(r, SQLITE_CANTOPEN, 0, "%s", e.msg);
	struct hr_req q = {.type = HR_REQ_OPEN_STREAM, .stream_id = REMOTE_STREAM_ID};
	int32_t id;
	int rc = remote_ws_send(r, &q, &id);
	struct hr_stream_result res;
	if (rc == SQLITE_OK)
		rc = remote_ws_wait(r, id, NULL, &res);
	arena_free(&r->tmp);
	if (rc != SQLITE_OK)
		return rc == SQLITE_IOERR ? remote_fail(r, SQLITE_CANTOPEN, 0, "%s", r->errmsg) : rc;
	if (!res.ok)
		return remote_fail(r, SQLITE_CANTOPEN, 0, "cannot open a stream: %s", r->errmsg);
	r->autocommit = true;
	return SQLITE_OK;
}

/* ---------------- the HTTP transport ---------------- */

/* POSTs one pipeline of n requests (+ get_autocommit on Hrana 3) and
 * decodes the answers into a (NULL: r->tmp); results[i] for request i. */
static int remote_http_pipeline(struct remote *r, const struct hr_req *reqs, size_t n, struct arena *a,
				struct hr_stream_result *results, bool retry_ok)
{
	struct hr_req all[4];
	if (n > 3)
		return remote_fail(r, SQLITE_INTERNAL, 0, "pipeline too long");
	if (n)
		memcpy(all, reqs, n * sizeof *reqs);
	size_t total = n;
	if (r->version >= 3)
		all[total++] = (struct hr_req){.type = HR_REQ_GET_AUTOCOMMIT};
	bool fresh = r->baton == NULL;
	r->out.len = 0;
	hjson_client_encode_pipeline(&r->out, r->baton, all, total);
	struct xport_hdr h[1] = {{"Authorization", r->auth}};
	int status = 0;
	struct err e;
	r->in.len = 0;
	if (xport_http_post(r->x, r->version >= 3 ? "/v3/pipeline" : "/v2/pipeline", "application/json", r->out.p,
			    r->out.len, h, r->auth ? 1 : 0, &status, &r->in, &e) != 0)
		return remote_fail(r, SQLITE_IOERR, 0, "request to the database failed: %s", e.msg);
	struct arena *da = a ? a : &r->tmp;
	if (status != 200) {
		struct hr_error er;
		bool parsed = hjson_client_decode_error(da, r->in.p, r->in.len, &er, NULL) == 0;
		const char *msg = parsed ? er.message : r->in.len ? r->in.p : "no body";
		/* a stream that is gone while no transaction was open: start a new one */
		if (status == 400 && retry_ok && !fresh && r->autocommit &&
		    ((parsed && er.code && !strcmp(er.code, "STREAM_EXPIRED")) || strstr(msg, "baton"))) {
			free(r->baton);
			r->baton = NULL;
			return remote_http_pipeline(r, reqs, n, a, results, false);
		}
		if (!fresh) {
			free(r->baton);
			r->baton = NULL;
			r->autocommit = true; /* the stream and its transaction are gone */
		}
		int code = status == 401 || status == 403 ? SQLITE_AUTH
			   : status == 404		  ? SQLITE_CANTOPEN
			   : status == 429 || status == 503 ? SQLITE_BUSY
			   : parsed && er.code		  ? SQLITE_ERROR
							  : SQLITE_ERROR;
		if (parsed && er.code) {
			int ext;
			int c = remote_map_error(&er, &ext);
			if (c != SQLITE_ERROR)
				return remote_fail(r, c, ext, "%s", msg);
		}
		return remote_fail(r, code, 0, "HTTP %d from the database: %.400s", status, msg);
	}
	struct hr_pipeline_resp pr;
	if (hjson_client_decode_pipeline_resp(da, r->in.p, r->in.len, &pr, &e) != 0)
		return remote_fail(r, SQLITE_PROTOCOL, 0, "bad pipeline response: %s", e.msg);
	if (pr.nresults != total)
		return remote_fail(r, SQLITE_PROTOCOL, 0, "pipeline response has %zu results for %zu requests",
				   pr.nresults, total);
	free(r->baton);
	r->baton = pr.baton ? strdup(pr.baton) : NULL;
	if (pr.base_url && (!r->base_url || strcmp(pr.base_url, r->base_url) != 0)) {
		/* the server wants this stream's next requests elsewhere */
		struct xport *nx;
		if (xport_http_open(pr.base_url, r->timeout_ms, &nx, &e) == 0) {
			xport_close(r->x);
			r->x = nx;
			free(r->base_url);
			r->base_url = strdup(pr.base_url);
		}
	}
	for (size_t i = 0; i < n; i++)
		results[i] = pr.results[i];
	if (r->version >= 3 && pr.results[n].ok)
		r->autocommit = pr.results[n].resp.is_autocommit;
	return SQLITE_OK;
}

/* ---------------- one round trip, either transport ---------------- */

/* Sends reqs[0..n) (with a pipelined get_autocommit when track_ac) and waits
 * for every answer. Returns SQLITE_OK when answers arrived (each may still be
 * an error), else a transport error (already in r). */
static int remote_call(struct remote *r, const struct hr_req *reqs, size_t n, struct arena *a,
		       struct hr_stream_result *results, bool track_ac)
{
	arena_free(&r->tmp); /* nothing outlives one call there */
	if (!r->ws)
		return remote_http_pipeline(r, reqs, n, a, results, true);
	if (r->broken) {
		/* the stream died with the connection; its transaction too */
		int rc = remote_ws_connect(r);
		if (rc != SQLITE_OK)
			return remote_fail(r, SQLITE_IOERR, 0, "%s", r->errmsg);
	}
	int32_t ids[4];
	track_ac = track_ac && r->version >= 3;
	size_t total = n + (track_ac ? 1 : 0);
	for (size_t i = 0; i < total; i++) {
		struct hr_req ac = {.type = HR_REQ_GET_AUTOCOMMIT, .stream_id = REMOTE_STREAM_ID};
		struct hr_req q = i < n ? reqs[i] : ac;
		q.stream_id = REMOTE_STREAM_ID;
		int rc = remote_ws_send(r, &q, &ids[i]);
		if (rc != SQLITE_OK)
			return rc;
	}
	for (size_t i = 0; i < total; i++) {
		struct hr_stream_result res;
		int rc = remote_ws_wait(r, ids[i], i < n ? a : NULL, &res);
		if (rc != SQLITE_OK)
			return rc;
		if (i < n)
			results[i] = res;
		else if (res.ok)
			r->autocommit = res.resp.is_autocommit;
	}
	return SQLITE_OK;
}

/* Asks the server whether the stream is in autocommit mode (Hrana 3). */
static void remote_sync_autocommit(struct remote *r)
{
	if (r->version < 3)
		return;
	struct hr_req q = {.type = HR_REQ_GET_AUTOCOMMIT};
	struct hr_stream_result res;
	int saved = r->errcode, savedx = r->exterr;
	char msg[sizeof r->errmsg];
	memcpy(msg, r->errmsg, sizeof msg);
	if (r->ws) {
		if (remote_call(r, &q, 1, NULL, &res, false) == SQLITE_OK && res.ok)
			r->autocommit = res.resp.is_autocommit;
	} else {
		remote_http_pipeline(r, NULL, 0, NULL, &res, false); /* updates autocommit */
	}
	arena_free(&r->tmp);
	r->errcode = saved;
	r->exterr = savedx;
	memcpy(r->errmsg, msg, sizeof msg);
}

/* ---------------- connections ---------------- */

static bool remote_is_ws_url(const char *url)
{
	return !strncasecmp(url, "ws://", 5) || !strncasecmp(url, "wss://", 6) || !strncasecmp(url, "libsql://", 9);
}

int remote_open(const char *url, const char *auth_token, int timeout_ms, struct remote **out)
{
	*out = NULL;
	struct remote *r = calloc(1, sizeof *r);
	if (!r)
		return SQLITE_NOMEM;
	buf_init(&r->out);
	buf_init(&r->in);
	arena_init(&r->tmp);
	r->timeout_ms = timeout_ms;
	r->autocommit = true;
	r->url = strdup(url);
	if (auth_token && *auth_token) {
		r->token = strdup(auth_token);
		size_t l = strlen(auth_token) + 8;
		r->auth = malloc(l);
		if (r->auth)
			snprintf(r->auth, l, "Bearer %s", auth_token);
	}
	*out = r;
	if (!r->url || (auth_token && *auth_token && (!r->token || !r->auth)))
		return remote_fail(r, SQLITE_NOMEM, 0, "out of memory");
	r->ws = remote_is_ws_url(url);
	if (r->ws)
		return remote_ws_connect(r);
	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		return remote_fail(r, SQLITE_CANTOPEN, 0, "unsupported URL: %s", url);
	struct err e;
	if (xport_http_open(url, timeout_ms, &r->x, &e) != 0)
		return remote_fail(r, SQLITE_CANTOPEN, 0, "%s", e.msg);
	/* one round trip now, so that an unreachable server or a refused token
	 * shows at open as sqlite3_open would show a missing file */
	r->version = 3;
	struct hr_stream_result res;
	int rc = remote_http_pipeline(r, NULL, 0, NULL, &res, false);
	arena_free(&r->tmp);
	if (rc != SQLITE_OK)
		return rc == SQLITE_AUTH ? rc : remote_fail(r, SQLITE_CANTOPEN, 0, "%s", r->errmsg);
	remote_ok(r);
	return SQLITE_OK;
}

void remote_close(struct remote *r)
{
	if (!r)
		return;
	if (!r->ws && r->baton && r->x) {
		/* close the stream (rolls back an open transaction) */
		struct hr_req q = {.type = HR_REQ_CLOSE};
		struct hr_stream_result res;
		int v = r->version;
		r->version = 2; /* no get_autocommit behind it */
		remote_http_pipeline(r, &q, 1, NULL, &res, false);
		r->version = v;
	}
	xport_close(r->x);
	free(r->url);
	free(r->token);
	free(r->auth);
	free(r->baton);
	free(r->base_url);
	buf_free(&r->out);
	buf_free(&r->in);
	arena_free(&r->tmp);
	free(r);
}

int64_t remote_changes(struct remote *r) { return r->changes; }
int64_t remote_total_changes(struct remote *r) { return r->total_changes; }
int64_t remote_last_insert_rowid(struct remote *r) { return r->last_rowid; }
bool remote_get_autocommit(struct remote *r) { return r->autocommit; }

bool remote_replication_index(struct remote *r, uint64_t *frame_no)
{
	if (r->has_ri && frame_no)
		*frame_no = r->ri;
	return r->has_ri;
}

/* ---------------- statements ---------------- */

int remote_prepare(struct remote *r, const char *sql, int nbytes, struct remote_stmt **out, const char **tail)
{
	*out = NULL;
	size_t n = nbytes < 0 ? strlen(sql) : strnlen(sql, (size_t)nbytes);
	struct remote_split sp;
	remote_split_sql(sql, n, &sp);
	if (tail)
		*tail = sql + sp.end;
	remote_ok(r);
	if (sp.len == 0)
		return SQLITE_OK;
	struct remote_stmt *s = calloc(1, sizeof *s);
	if (!s || !(s->sql = strndup(sql, sp.end))) {
		free(s);
		return remote_fail(r, SQLITE_NOMEM, 0, "out of memory");
	}
	s->r = r;
	s->body = s->sql + sp.lead;
	s->body_len = sp.len;
	s->kw = remote_keyword(s->body, s->body_len);
	s->phint = remote_param_hint(s->body, s->body_len);
	arena_init(&s->darena);
	arena_init(&s->rarena);
	*out = s;
	return SQLITE_OK;
}

static void remote_value_free(struct hr_value *v)
{
	if (v->type == HR_TEXT || v->type == HR_BLOB)
		free((void *)v->s);
	memset(v, 0, sizeof *v);
}

static void remote_drop_result(struct remote_stmt *s)
{
	arena_free(&s->rarena);
	s->res = NULL;
	s->next_row = 0;
}

void remote_finalize(struct remote_stmt *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nbinds; i++)
		remote_value_free(&s->binds[i]);
	free(s->binds);
	remote_drop_result(s);
	arena_free(&s->darena);
	free(s->sql);
	free(s);
}

const char *remote_sql(struct remote_stmt *s) { return s->sql; }

/* Fetches the statement's DescribeResult once. False when unavailable. */
static bool remote_describe(struct remote_stmt *s)
{
	if (s->desc)
		return true;
	struct remote *r = s->r;
	if (s->desc_failed || r->version < 2)
		return false;
	char *body = strndup(s->body, s->body_len);
	if (!body)
		return false;
	struct hr_req q = {.type = HR_REQ_DESCRIBE, .sql = body};
	struct hr_stream_result res;
	int rc = remote_call(r, &q, 1, &s->darena, &res, false);
	free(body);
	if (rc != SQLITE_OK)
		return false;
	if (!res.ok || !res.resp.describe_result) {
		s->desc_failed = true;
		if (!res.ok)
			remote_hrana_fail(r, &res.error);
		return false;
	}
	s->desc = res.resp.describe_result;
	return true;
}

int remote_bind(struct remote_stmt *s, int idx, const struct hr_value *v)
{
	struct remote *r = s->r;
	if (s->state != RS_FRESH)
		return remote_fail(r, SQLITE_MISUSE, 0, "bad parameter or other API misuse");
	if (idx < 1 || idx > 32766 || (s->desc && (size_t)idx > s->desc->nparams))
		return remote_fail(r, SQLITE_RANGE, 0, "column index out of range");
	if (idx > s->capbinds) {
		int cap = s->capbinds ? s->capbinds : 4;
		while (cap < idx)
			cap *= 2;
		struct hr_value *nb = realloc(s->binds, sizeof *nb * (size_t)cap);
		if (!nb)
			return remote_fail(r, SQLITE_NOMEM, 0, "out of memory");
		memset(nb + s->capbinds, 0, sizeof *nb * (size_t)(cap - s->capbinds));
		s->binds = nb;
		s->capbinds = cap;
	}
	struct hr_value copy = *v;
	if (v->type == HR_TEXT || v->type == HR_BLOB) {
		char *p = malloc(v->n + 1);
		if (!p)
			return remote_fail(r, SQLITE_NOMEM, 0, "out of memory");
		if (v->n)
			memcpy(p, v->s, v->n);
		p[v->n] = 0;
		copy.s = p;
	}
	remote_value_free(&s->binds[idx - 1]);
	s->binds[idx - 1] = copy;
	if (idx > s->nbinds)
		s->nbinds = idx;
	remote_ok(r);
	return SQLITE_OK;
}

int remote_bind_parameter_count(struct remote_stmt *s)
{
	return remote_describe(s) ? (int)s->desc->nparams : 0;
}

const char *remote_bind_parameter_name(struct remote_stmt *s, int idx)
{
	if (!remote_describe(s) || idx < 1 || (size_t)idx > s->desc->nparams)
		return NULL;
	return s->desc->params[idx - 1].name;
}

int remote_bind_parameter_index(struct remote_stmt *s, const char *name)
{
	if (!name || !remote_describe(s))
		return 0;
	for (size_t i = 0; i < s->desc->nparams; i++)
		if (s->desc->params[i].name && !strcmp(s->desc->params[i].name, name))
			return (int)i + 1;
	return 0;
}

int remote_clear_bindings(struct remote_stmt *s)
{
	for (int i = 0; i < s->nbinds; i++)
		remote_value_free(&s->binds[i]);
	s->nbinds = 0;
	return SQLITE_OK;
}

/* Fills st's args or named args from the bindings. */
static int remote_build_args(struct remote_stmt *s, struct hr_stmt *st)
{
	/* nothing bound: nothing to send, unless the statement has parameters,
	 * which SQLite would bind to NULL (sqld wants a value for each) */
	if (s->nbinds == 0 && (!s->phint || !remote_describe(s) || s->desc->nparams == 0))
		return SQLITE_OK;
	if ((s->phint & REMOTE_P_NAMED) && remote_describe(s)) {
		bool named = false;
		for (size_t i = 0; i < s->desc->nparams; i++)
			if (s->desc->params[i].name && s->desc->params[i].name[0] != '?')
				named = true;
		if (named) {
			/* every named parameter by its full name; unbound ones are NULL */
			st->named = ARENA_ARRAY(&s->rarena, struct hr_named_arg, s->desc->nparams);
			for (size_t i = 0; i < s->desc->nparams; i++) {
				if (!s->desc->params[i].name)
					continue;
				struct hr_named_arg *na = &st->named[st->nnamed++];
				na->name = s->desc->params[i].name;
				na->value = (int)i < s->nbinds ? s->binds[i] : remote_null;
			}
			return SQLITE_OK;
		}
	}
	int n = s->nbinds;
	if (s->desc && (int)s->desc->nparams > n)
		n = (int)s->desc->nparams;
	st->args = s->binds;
	st->nargs = (size_t)s->nbinds;
	if (n > s->nbinds) { /* unbound trailing parameters are NULL, as in SQLite */
		st->args = ARENA_ARRAY(&s->rarena, struct hr_value, (size_t)n);
		if (s->nbinds)
			memcpy(st->args, s->binds, sizeof *st->args * (size_t)s->nbinds);
		st->nargs = (size_t)n;
	}
	return SQLITE_OK;
}

static void remote_after_exec(struct remote *r, struct remote_stmt *s, const struct hr_stmt_result *res, bool ac_known)
{
	if (s->kw == RKW_DML || res->affected_row_count > 0)
		r->changes = (int64_t)res->affected_row_count;
	r->total_changes += (int64_t)res->affected_row_count;
	if (res->has_last_insert_rowid)
		r->last_rowid = res->last_insert_rowid;
	if (res->has_replication_index) {
		r->has_ri = true;
		r->ri = res->replication_index;
	}
	if (ac_known)
		return;
	char name[64];
	switch (s->kw) { /* Hrana 2: follow the statements as SQLite would */
	case RKW_BEGIN:
		r->autocommit = false;
		r->nsp = 0;
		r->sp_txn = false;
		break;
	case RKW_SAVEPOINT:
		if (r->autocommit) {
			r->autocommit = false;
			r->nsp = 0;
			r->sp_txn = true;
		}
		remote_savepoint_name(s->body, s->body_len, name, sizeof name);
		if (r->nsp < (int)(sizeof r->sp / sizeof r->sp[0]))
			memcpy(r->sp[r->nsp++], name, sizeof name);
		break;
	case RKW_RELEASE:
		remote_savepoint_name(s->body, s->body_len, name, sizeof name);
		for (int i = r->nsp - 1; i >= 0; i--)
			if (!strcmp(r->sp[i], name)) {
				r->nsp = i;
				if (i == 0 && r->sp_txn)
					r->autocommit = true;
				break;
			}
		break;
	case RKW_COMMIT:
	case RKW_ROLLBACK:
		r->autocommit = true;
		r->nsp = 0;
		break;
	default:
		break;
	}
}

static int remote_execute(struct remote_stmt *s)
{
	struct remote *r = s->r;
	remote_drop_result(s);
	struct hr_req q = {.type = HR_REQ_EXECUTE};
	q.stmt.want_rows = true;
	/* the statement text without its leading separators, NUL-terminated in
	 * the result arena only when it is not already the end of s->sql */
	q.stmt.sql = s->body[s->body_len] ? arena_strndup(&s->rarena, s->body, s->body_len) : s->body;
	int rc = remote_build_args(s, &q.stmt);
	if (rc != SQLITE_OK)
		return rc;
	bool txn = s->kw != RKW_OTHER && s->kw != RKW_DML;
	bool ac_known = r->version >= 3 && (txn || !r->ws);
	struct hr_stream_result res;
	rc = remote_call(r, &q, 1, &s->rarena, &res, txn);
	if (rc != SQLITE_OK)
		return rc;
	if (!res.ok) {
		rc = remote_hrana_fail(r, &res.error);
		if (!r->autocommit && r->ws && !txn)
			remote_sync_autocommit(r); /* an error may have ended the transaction */
		return rc;
	}
	if (!res.resp.stmt_result)
		return remote_fail(r, SQLITE_PROTOCOL, 0, "execute answered without a result");
	s->res = res.resp.stmt_result;
	remote_after_exec(r, s, s->res, ac_known);
	return SQLITE_OK;
}

int remote_step(struct remote_stmt *s)
{
	struct remote *r = s->r;
	if (s->state != RS_ROWS) {
		/* fresh, or auto-reset after DONE / an error as sqlite3_step does */
		int rc = remote_execute(s);
		if (rc != SQLITE_OK) {
			s->state = RS_ERROR;
			s->last_rc = rc;
			return rc;
		}
		s->state = RS_ROWS;
	}
	remote_ok(r);
	if (s->next_row < s->res->nrows) {
		s->next_row++;
		s->last_rc = SQLITE_ROW;
		return SQLITE_ROW;
	}
	s->state = RS_DONE;
	s->last_rc = SQLITE_DONE;
	return SQLITE_DONE;
}

int remote_reset(struct remote_stmt *s)
{
	int rc = s->state == RS_ERROR ? s->last_rc : SQLITE_OK;
	remote_drop_result(s);
	s->state = RS_FRESH;
	s->last_rc = SQLITE_OK;
	return rc;
}

int remote_column_count(struct remote_stmt *s)
{
	if (s->res)
		return (int)s->res->ncols;
	return remote_describe(s) ? (int)s->desc->ncols : 0;
}

static const struct hr_col *remote_col(struct remote_stmt *s, int i)
{
	if (s->res)
		return i >= 0 && (size_t)i < s->res->ncols ? &s->res->cols[i] : NULL;
	if (!remote_describe(s))
		return NULL;
	return i >= 0 && (size_t)i < s->desc->ncols ? &s->desc->cols[i] : NULL;
}

const char *remote_column_name(struct remote_stmt *s, int i)
{
	const struct hr_col *c = remote_col(s, i);
	return c ? (c->name ? c->name : "") : NULL;
}

const char *remote_column_decltype(struct remote_stmt *s, int i)
{
	const struct hr_col *c = remote_col(s, i);
	return c ? c->decltype : NULL;
}

int remote_data_count(struct remote_stmt *s)
{
	return s->state == RS_ROWS && s->res && s->next_row > 0 ? (int)s->res->ncols : 0;
}

const struct hr_value *remote_column_value(struct remote_stmt *s, int i)
{
	if (s->state != RS_ROWS || !s->res || s->next_row == 0 || i < 0 || (size_t)i >= s->res->ncols)
		return &remote_null;
	return &s->res->rows[(s->next_row - 1) * s->res->ncols + (size_t)i];
}

bool remote_stmt_readonly(struct remote_stmt *s)
{
	if (remote_describe(s))
		return s->desc->is_readonly;
	/* without describe: only what certainly reads */
	size_t i = 0;
	while (i < s->body_len && (s->body[i] == ' ' || s->body[i] == '\n' || s->body[i] == '\t' || s->body[i] == '('))
		i++;
	return s->body_len - i >= 6 && !strncasecmp(s->body + i, "SELECT", 6);
}
