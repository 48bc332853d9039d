/* net: see net.h. Parts of the module are in net_out.c (HTTP responses),
 * net_ws.c (WebSocket) and net_admin.c (the admin listener), which share
 * net_int.h with this file. What follows is the whole module's.
 *
 * Routes (PROTOCOL.md §4.1, §6.1-6.2, §8.4):
 *   GET  /            WebSocket upgrade (hrana3-protobuf, hrana3, hrana2, hrana1);
 *                     plain GET → 404
 *   POST /v2/pipeline, /v3/pipeline, /v3/cursor (NDJSON, chunked response)
 *   POST /v3-protobuf/pipeline, /v3-protobuf/cursor (length-delimited stream)
 *   POST /v1/execute, /v1/batch, /   (stateless)
 *   POST /wal_log.ReplicationLog/..., /proxy.Proxy/...   gRPC-web (repl.h), when
 *                     net_start got a frame log
 *   GET  /v1, /v2, /v3, /v3-protobuf, /health, /version
 *   GET  /dump        SQL dump of the namespace (dump.h), chunked
 *   GET  /metrics     with --enable-metrics-on-user-port (metrics.h)
 *   OPTIONS *         CORS preflight
 *   anything else     404 (including GET /info and GET /sync/...)
 * The admin listener (--admin-listen-addr) is a second vhost of the same
 * context served by the same callback (c->admin): admin.h has its routes.
 *
 * Namespaces (ns.h): a Hrana request, /dump and a WebSocket upgrade are
 * resolved to their namespace from the headers (x-namespace-bin,
 * x-namespace, Host) when the request line arrives; a missing one is 404
 * (the upgrade is refused), an invalid name 400. The connection holds a
 * reference (c->ns) for the request (HTTP) or its lifetime (WebSocket);
 * sess binds each stream to it through sess_ops.owner_ns. gRPC-web calls
 * resolve theirs in repl (x-namespace-bin only, gRPC statuses).
 *
 * Authentication (auth.h, PROTOCOL.md §7.3): every POST route checks the
 * request's credential when its headers are in (net_check_auth), before the
 * body is read; the grant travels with the call (sess_set_allow, repl_md).
 * WebSocket credentials are checked by sess at hello; the upgrade's
 * Authorization header is handed over for a hello without a jwt. With
 * --https-cert-file/--https-key-file the port speaks TLS only (1.2+).
 *
 * Each connection has one struct net_conn (lws per-session data). An HTTP
 * connection handles one request at a time: it collects the body, decodes it,
 * hands it to sess, and writes what sess answers (net_http_out) from the
 * writeable callback, in pieces of at most NET_CHUNK bytes. A WebSocket
 * connection queues encoded messages and writes one per writeable callback.
 * A connection that goes away cancels its sess call / session, so sess never
 * calls back into freed memory.
 *
 * gRPC-web calls (repl) go the same way: the body is collected like a Hrana
 * body, then repl_start gets it with the x-session-token, x-namespace-bin and
 * x-authorization headers (copied when the request line arrives). repl's
 * answer is always HTTP 200 application/grpc-web+proto: one piece is sent
 * with content-length, several (LogEntries, Snapshot) with chunked transfer
 * encoding, asking repl for the next piece (repl_continue) once one is
 * written. Errors net finds itself on these routes (body too large, server
 * busy or stopping, bad chunked framing) are gRPC-shaped too.
 *
 * Encodings: a connection (WebSocket) or a request (HTTP) is either JSON
 * (hjson) or protobuf (hpb, c->pb): both decode into the same model, and only
 * the decode call, the encode call, the content type and the WebSocket frame
 * type depend on c->pb. */
#include "net_int.h"
#include "auth.h"
#include "admin.h"
#include "cfg.h"
#include "chunked.h"
#include "db.h"
#include "dump.h"
#include "grpcweb.h"
#include "hjson.h"
#include "hpb.h"
#include "log.h"
#include "metrics.h"
#include "ns.h"
#include "repl.h"
#include "sess.h"
#include "work.h"
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NET_VERSION "0.1.0"

struct net_state N;

static const struct auth *net_auth; /* kept across net_start's reset of N */

void net_set_auth(const struct auth *a)
{
	net_auth = a;
}

/* ---- HTTP requests ---- */

bool net_path_is(const char *uri, int len, const char *path)
{
	size_t n = strlen(path);
	return (size_t)len == n && memcmp(uri, path, n) == 0;
}

/* A copy of a request header's value (name with its colon), NULL if absent. */
static char *net_hdr_dup(struct lws *wsi, const char *name)
{
	int nlen = (int)strlen(name);
	int len = lws_hdr_custom_length(wsi, name, nlen);
	if (len < 0)
		return NULL;
	char *s = malloc((size_t)len + 1);
	if (!s)
		abort();
	if (lws_hdr_custom_copy(wsi, s, len + 1, name, nlen) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Resolves the request's namespace (PROTOCOL.md §6.3) and takes a
 * reference in *out. Returns 0, or an HTTP status with the reason in msg. */
int net_resolve_ns(struct lws *wsi, struct ns **out, char *msg, size_t cap)
{
	*out = NULL;
	char *bin = net_hdr_dup(wsi, "x-namespace-bin:");
	char *hdr = net_hdr_dup(wsi, "x-namespace:");
	char host[256];
	int hl = lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
	char name[NS_NAME_MAX + 1];
	struct err e = {{0}};
	/* header values without surrounding blanks */
	char *vals[2] = {bin, hdr};
	for (int i = 0; i < 2; i++) {
		char *v = vals[i];
		if (!v)
			continue;
		size_t k = strspn(v, " \t"), n = strlen(v);
		memmove(v, v + k, n - k + 1);
		n -= k;
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			v[--n] = 0;
	}
	int rc = ns_resolve_name(ns_enabled(), !ns_default_allowed(), bin, hdr, hl > 0 ? host : NULL, name, &e);
	free(bin);
	free(hdr);
	if (rc) {
		snprintf(msg, cap, "%s", e.msg);
		return 400;
	}
	rc = ns_get(name, out, &e);
	if (rc) {
		snprintf(msg, cap, "%s", e.msg);
		return rc == NS_ENOENT ? 404 : 500;
	}
	return 0;
}

void net_reply_too_large(struct net_conn *c)
{
	if (c->route == NR_REPL)
		net_reply_grpc(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "Request body is too large");
	else
		net_reply_text(c, 413, "Request body is too large");
}

static void net_reply_bad_chunks(struct net_conn *c)
{
	if (c->route == NR_REPL)
		net_reply_grpc(c, GRPC_STATUS_INVALID_ARGUMENT, "Malformed chunked request body");
	else
		net_reply_text(c, 400, "Malformed chunked request body");
}

/* The credential of a request: Authorization, else x-authorization (gRPC
 * metadata: x-authorization first). Malloc'd, NULL when neither is sent. */
static char *net_credential(struct lws *wsi, bool grpc)
{
	char *v = grpc ? net_hdr_dup(wsi, "x-authorization:") : NULL;
	if (!v) {
		int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
		if (len > 0 && (v = malloc((size_t)len + 1)) != NULL &&
		    lws_hdr_copy(wsi, v, len + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
			free(v);
			v = NULL;
		}
	}
	if (!v && !grpc)
		v = net_hdr_dup(wsi, "x-authorization:");
	return v;
}

/* Authenticates the request whose headers are in (PROTOCOL.md §7.3) and
 * keeps its grant in c->allow. On failure answers it (HTTP 401/403 with
 * {"error": ...}, or gRPC UNAUTHENTICATED / PERMISSION_DENIED) and returns
 * -1. Every route that reaches the database calls this. */
static int net_check_auth(struct net_conn *c, struct lws *wsi)
{
	c->allow = 0;
	struct auth_grant g;
	struct err e = {{0}};
	bool grpc = c->route == NR_REPL;
	char *cred = auth_enabled(N.auth) ? net_credential(wsi, grpc) : NULL;
	/* the namespace the grant is for: the request's, or for gRPC the one
	 * x-namespace-bin names (repl resolves and refuses bad ones itself) */
	char nsname[NS_NAME_MAX + 1];
	const char *nsn = AUTH_DEFAULT_NS;
	if (c->ns) {
		nsn = ns_name(c->ns);
	} else if (grpc && ns_enabled()) {
		char *bin = net_hdr_dup(wsi, "x-namespace-bin:");
		if (bin && ns_name_from_b64(bin, nsname, sizeof nsname) == 0)
			nsn = nsname;
		free(bin);
	}
	int rc = auth_check(N.auth, cred, nsn, &g, &e);
	free(cred);
	if (rc == AUTH_OK) {
		c->allow = g.allow;
		return 0;
	}
	char msg[700];
	if (grpc) {
		snprintf(msg, sizeof msg, "AuthError: %s", e.msg);
		net_reply_grpc(c, rc == AUTH_E_FORBIDDEN ? GRPC_STATUS_PERMISSION_DENIED : GRPC_STATUS_UNAUTHENTICATED,
			       msg);
	} else {
		if (rc == AUTH_E_FORBIDDEN)
			snprintf(msg, sizeof msg, "%s", e.msg);
		else
			snprintf(msg, sizeof msg, "Unauthorized: `%s`", e.msg);
		net_reply_generic(c, auth_http_status(rc), msg);
	}
	return -1;
}

/* The request line and headers are in. Returns -1 to close. */
static int net_http_request(struct net_conn *c, struct lws *wsi)
{
	char *uri = NULL;
	int ulen = 0;
	int meth = lws_http_get_uri_and_method(wsi, &uri, &ulen);
	c->wsi = wsi;
	c->route = NR_NONE;
	c->pb = false;
	buf_free(&c->body);
	c->body_overflow = false;
	net_repl_forget(c);
	ns_put(c->ns);
	c->ns = NULL;
	/* ignore a query string */
	for (int i = 0; i < ulen; i++)
		if (uri[i] == '?') {
			ulen = i;
			break;
		}
	bool grpc = meth == LWSHUMETH_POST && N.repl_on && repl_route(uri, (size_t)ulen);
	if (N.stopping) {
		if (grpc)
			net_reply_grpc(c, GRPC_STATUS_UNAVAILABLE, "the server is shutting down");
		else
			net_reply_generic(c, 503, "The server is shutting down");
		return 0;
	}
	if (meth == LWSHUMETH_OPTIONS) {
		net_reply(c, 204, "text/plain", "", 0);
		return 0;
	}
	if (c->admin)
		return net_admin_request(c, wsi, meth, uri, ulen);
	if (meth == LWSHUMETH_GET && net_path_is(uri, ulen, "/dump")) {
		metrics_request(MR_DUMP);
		char msg[600];
		int st = net_resolve_ns(wsi, &c->ns, msg, sizeof msg);
		if (st)
			net_reply_generic(c, st, msg);
		else if (net_check_auth(c, wsi) == 0)
			c->dcall = dump_start(c, c->ns);
		return 0;
	}
	if (meth == LWSHUMETH_GET) {
		metrics_request(MR_OTHER);
		if (N.cfg->metrics_on_user_port && net_path_is(uri, ulen, "/metrics")) {
			struct buf b;
			buf_init(&b);
			metrics_render(&b);
			net_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "", b.len);
			buf_free(&b);
		} else if (net_path_is(uri, ulen, "/health"))
			net_reply(c, 200, "text/plain", "", 0);
		else if (net_path_is(uri, ulen, "/version"))
			net_reply_text(c, 200, "sqld " NET_VERSION " (sqlwire)");
		else if (net_path_is(uri, ulen, "/v1"))
			net_reply_text(c, 200, "This is sqld HTTP API v1");
		else if (net_path_is(uri, ulen, "/v2") || net_path_is(uri, ulen, "/v3") ||
			 net_path_is(uri, ulen, "/v3-protobuf"))
			net_reply_text(c, 200, "Hello, this is HTTP API v2 (Hrana over HTTP)");
		else
			net_reply_text(c, 404, "Not found");
		return 0;
	}
	if (meth != LWSHUMETH_POST) {
		net_reply_text(c, 404, "Not found");
		return 0;
	}
	static const struct {
		const char *path;
		enum net_route r;
	} routes[] = {{"/v2/pipeline", NR_PIPE2}, {"/v3/pipeline", NR_PIPE3}, {"/v3/cursor", NR_CURSOR3},
		      {"/v1/execute", NR_V1_EXEC}, {"/v1/batch", NR_V1_BATCH}, {"/", NR_LEGACY},
		      {"/v3-protobuf/pipeline", NR_PIPE3PB}, {"/v3-protobuf/cursor", NR_CURSOR3PB}};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (net_path_is(uri, ulen, routes[i].path))
			c->route = routes[i].r;
	if (grpc) {
		c->route = NR_REPL;
		c->rpath = strndup(uri, (size_t)ulen);
		c->md_token = net_hdr_dup(wsi, "x-session-token:");
		c->md_ns = net_hdr_dup(wsi, "x-namespace-bin:");
		c->md_auth = net_hdr_dup(wsi, "x-authorization:");
		if (!c->rpath)
			abort();
	}
	if (!c->route) {
		net_reply_text(c, 404, "Not found");
		return 0;
	}
	c->pb = c->route == NR_PIPE3PB || c->route == NR_CURSOR3PB;
	if (c->route != NR_REPL) {
		/* repl resolves its own (x-namespace-bin only, gRPC errors) */
		char msg[600];
		int st = net_resolve_ns(wsi, &c->ns, msg, sizeof msg);
		if (st) {
			net_reply_generic(c, st, msg);
			c->route = NR_NONE;
			return 0;
		}
	}
	char te[64];
	c->body_chunked = lws_hdr_copy(wsi, te, sizeof te, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 &&
			  strcasestr(te, "chunked") != NULL;
	c->body_done = false;
	chunked_init(&c->chunk);
	if (net_check_auth(c, wsi)) {
		c->route = NR_NONE;
		return 0;
	}
	char cl[32];
	if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	    strtoull(cl, NULL, 10) > N.cfg->max_body_size) {
		net_reply_too_large(c);
		c->route = NR_NONE;
		return 0;
	}
	if ((int)(sess_busy_jobs() + repl_busy_jobs()) >= N.cfg->max_reqs ||
	    N.out_bytes > N.cfg->max_total_response_size) {
		if (c->route == NR_REPL)
			net_reply_grpc(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "Too many concurrent requests");
		else
			net_reply_generic(c, 429, "Too many concurrent requests");
		c->route = NR_NONE;
		return 0;
	}
	return 0;
}

static void net_http_body_done(struct net_conn *c)
{
	if (c->body_done)
		return;
	c->body_done = true;
	if (c->body_overflow || !c->route || c->status)
		return;
	struct arena *a = sess_arena_new();
	struct err e = {{0}};
	int rc;
	const char *body = c->body.p ? c->body.p : "";
	size_t n = c->body.len;
	sess_set_allow(c->allow); /* the grant net_check_auth found, for the call started below */
	static const enum metrics_req kinds[] = {
		[NR_PIPE2] = MR_PIPELINE, [NR_PIPE3] = MR_PIPELINE, [NR_CURSOR3] = MR_CURSOR, [NR_PIPE3PB] = MR_PIPELINE, [NR_CURSOR3PB] = MR_CURSOR,
		[NR_V1_EXEC] = MR_V1_EXECUTE, [NR_V1_BATCH] = MR_V1_BATCH, [NR_LEGACY] = MR_LEGACY,
	};
	if (c->route <= NR_LEGACY)
		metrics_request(kinds[c->route]);
	if (c->route == NR_ADMIN) {
		sess_arena_free(a);
		net_admin_answer(c, body, n);
		return;
	}
	switch (c->route) {
	case NR_PIPE2:
	case NR_PIPE3: {
		struct hr_pipeline_req *r = ARENA_NEW(a, struct hr_pipeline_req);
		if ((rc = hjson_decode_pipeline_req(a, body, n, r, &e)) == 0)
			c->call = sess_http_pipeline(c, c->route == NR_PIPE2 ? 2 : 3, a, r);
		break;
	}
	case NR_CURSOR3: {
		struct hr_cursor_req *r = ARENA_NEW(a, struct hr_cursor_req);
		if ((rc = hjson_decode_cursor_req(a, body, n, r, &e)) == 0)
			c->call = sess_http_cursor(c, a, r);
		break;
	}
	case NR_PIPE3PB: {
		struct hr_pipeline_req *r = ARENA_NEW(a, struct hr_pipeline_req);
		if ((rc = hpb_decode_pipeline_req(a, body, n, r, &e)) == 0)
			c->call = sess_http_pipeline(c, 3, a, r);
		break;
	}
	case NR_CURSOR3PB: {
		struct hr_cursor_req *r = ARENA_NEW(a, struct hr_cursor_req);
		if ((rc = hpb_decode_cursor_req(a, body, n, r, &e)) == 0)
			c->call = sess_http_cursor(c, a, r);
		break;
	}
	case NR_V1_EXEC: {
		struct hr_stmt *s = ARENA_NEW(a, struct hr_stmt);
		if ((rc = hjson_decode_v1_execute(a, body, n, s, &e)) == 0)
			c->call = sess_http_v1_execute(c, a, s);
		break;
	}
	case NR_V1_BATCH: {
		struct hr_batch *b = ARENA_NEW(a, struct hr_batch);
		if ((rc = hjson_decode_v1_batch(a, body, n, b, &e)) == 0)
			c->call = sess_http_v1_batch(c, a, b);
		break;
	}
	case NR_REPL: {
		unsigned char *copy = arena_memdup(a, body, n);
		struct repl_md md = {
			.session_token = c->md_token ? arena_strdup(a, c->md_token) : NULL,
			.namespace_bin = c->md_ns ? arena_strdup(a, c->md_ns) : NULL,
			.authorization = c->md_auth ? arena_strdup(a, c->md_auth) : NULL,
			.allow = c->allow,
		};
		c->rcall = repl_start(c, c->rpath, strlen(c->rpath), &md, a, copy, n);
		sess_set_allow(0);
		return;
	}
	case NR_LEGACY: {
		struct hr_stmt *stmts = NULL;
		size_t ns = 0;
		if ((rc = hjson_decode_legacy(a, body, n, &stmts, &ns, &e)) == 0)
			c->call = sess_http_legacy(c, a, stmts, ns);
		else {
			/* axum-style: 400 for bad JSON, 422 for a wrong shape */
			net_reply_generic(c, rc == HJSON_E_SYNTAX ? 400 : 422, e.msg);
			sess_arena_free(a);
			return;
		}
		break;
	}
	default:
		rc = -1;
	}
	sess_set_allow(0);
	if (rc) {
		sess_arena_free(a);
		net_reply_text(c, 400, e.msg[0] ? e.msg : "Malformed request body");
	}
}

/* ---- the one callback ---- */

int net_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct net_conn *c = user;
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (lws_get_protocol(wsi)->id == 0)
			work_drain();
		return 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c && c->wsi && !c->is_ws) {
			sess_call_cancel(c->call);
			c->call = NULL;
			repl_cancel(c->rcall);
			c->rcall = NULL;
			dump_cancel(c->dcall);
			c->dcall = NULL;
			if (c->ajob)
				c->ajob->c = NULL; /* its completion frees it */
			c->ajob = NULL;
			ns_put(c->ns);
			c->ns = NULL;
			net_repl_forget(c);
			N.out_bytes -= c->out.len - c->out_off;
			c->out_off = 0;
			buf_free(&c->out);
			buf_free(&c->body);
			c->wsi = NULL;
			if (!c->admin) {
				N.nconns--;
				metrics_conn(-1);
			}
		}
		return 0;
	case LWS_CALLBACK_HTTP:
		if (!c)
			return -1;
		if (!c->wsi) {
			c->wsi = wsi;
			c->admin = N.admin_vh && lws_get_vhost(wsi) == N.admin_vh;
			if (!c->admin) {
				N.nconns++;
				metrics_conn(1);
			}
		}
		if (!c->admin && N.nconns > N.cfg->max_conns) {
			net_reply_generic(c, 429, "Too many concurrent connections");
			return 0;
		}
		return net_http_request(c, wsi);
	case LWS_CALLBACK_HTTP_BODY:
		if (!c || c->status || c->body_overflow || c->body_done)
			return 0;
		metrics_bytes_in(len);
		if (c->body_chunked) {
			size_t used = 0;
			int rc = chunked_feed(&c->chunk, in, len, &c->body, &used);
			if (rc < 0) {
				c->body_done = true;
				net_reply_bad_chunks(c);
			} else if (c->body.len > N.cfg->max_body_size) {
				c->body_overflow = true;
				buf_free(&c->body);
				net_reply_too_large(c);
			} else if (rc == 1) {
				net_http_body_done(c);
			}
			return 0;
		}
		if (c->body.len + len > N.cfg->max_body_size) {
			c->body_overflow = true;
			buf_free(&c->body);
			net_reply_too_large(c);
			return 0;
		}
		buf_put(&c->body, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (c)
			net_http_body_done(c);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return c ? net_http_write(c) : -1;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return net_confirm_upgrade(c, wsi);
	case LWS_CALLBACK_ESTABLISHED: {
		memset(c, 0, sizeof *c);
		c->wsi = wsi;
		c->is_ws = true;
		N.nconns++;
		metrics_conn(1);
		{
			char msg[600];
			if (net_resolve_ns(wsi, &c->ns, msg, sizeof msg))
				log_debug("WebSocket: %s", msg); /* its streams fail to open */
		}
		const char *name = lws_get_protocol(wsi)->name;
		c->pb = strcmp(name, "hrana3-protobuf") == 0;
		c->version = c->pb || strcmp(name, "hrana3") == 0 ? 3 : strcmp(name, "hrana2") == 0 ? 2 : 1;
		c->ws = sess_ws_open(c, c->version, c->pb ? net_ws_encode_pb : net_ws_encode);
		if (auth_enabled(N.auth)) {
			/* for a hello without a jwt (Basic credentials, PROTOCOL.md §7.3) */
			char *cred = net_credential(wsi, false);
			sess_ws_set_upgrade_auth(c->ws, cred);
			free(cred);
		}
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		return c ? net_ws_receive(c, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c ? net_ws_writeable(c) : -1;
	case LWS_CALLBACK_CLOSED:
		if (c && c->is_ws) {
			if (c->lingering)
				lws_sul_cancel(&c->linger);
			c->lingering = false;
			sess_ws_gone(c->ws);
			c->ws = NULL;
			net_ws_free_queue(c);
			buf_free(&c->rx);
			ns_put(c->ns);
			c->ns = NULL;
			c->is_ws = false;
			c->wsi = NULL;
			N.nconns--;
			metrics_conn(-1);
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols net_protocols[] = {
	{"http", net_callback, sizeof(struct net_conn), 64 * 1024, 0, NULL, 0},
	{"hrana3-protobuf", net_callback, sizeof(struct net_conn), 64 * 1024, 4, NULL, 0},
	{"hrana3", net_callback, sizeof(struct net_conn), 64 * 1024, 3, NULL, 0},
	{"hrana2", net_callback, sizeof(struct net_conn), 64 * 1024, 2, NULL, 0},
	{"hrana1", net_callback, sizeof(struct net_conn), 64 * 1024, 1, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static pthread_mutex_t net_ctx_mu = PTHREAD_MUTEX_INITIALIZER;

/* Workers call this; the mutex keeps it clear of lws_context_destroy. */
static void net_wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&net_ctx_mu);
	if (N.ctx)
		lws_cancel_service(N.ctx);
	pthread_mutex_unlock(&net_ctx_mu);
}

static void net_tick(lws_sorted_usec_list_t *sul)
{
	sess_tick();
	if (N.repl_on)
		repl_tick();
	lws_sul_schedule(N.ctx, 0, sul, net_tick, LWS_US_PER_SEC);
}

static void net_lws_log(int level, const char *line)
{
	if (level & LLL_ERR)
		log_warn("lws: %.*s", (int)strcspn(line, "\n"), line);
}

int net_start(const struct cfg *c, struct err *e)
{
	memset(&N, 0, sizeof N);
	N.cfg = c;
	N.auth = net_auth;
	lws_set_log_level(LLL_ERR, net_lws_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = c->listen_port;
	info.iface = c->listen_host;
	info.protocols = net_protocols;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
	if (strchr(c->listen_host, ':'))
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 8192;
	info.timeout_secs = 30;
	info.fd_limit_per_thread = (unsigned)(c->max_conns + 64);
	info.count_threads = 1;
	if (c->https_cert_file) {
		/* TLS on the user port (https://, wss://) through lws's OpenSSL:
		 * TLS 1.2 or newer, HTTP/1.1 only (ALPN), no plain HTTP on it */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = c->https_cert_file;
		info.ssl_private_key_filepath = c->https_key_file;
		info.ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
				       SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
		info.alpn = "http/1.1";
		N.tls = true;
	}
	N.ctx = lws_create_context(&info);
	if (!N.ctx)
		return err_set(e, "cannot listen on %s:%d%s", c->listen_host, c->listen_port,
			       N.tls ? " (or cannot load the TLS certificate and key)" : "");
	N.vh = lws_get_vhost_by_name(N.ctx, "default");
	N.port = N.vh ? lws_get_vhost_listen_port(N.vh) : c->listen_port;
	if (N.port <= 0) {
		lws_context_destroy(N.ctx);
		return err_set(e, "cannot listen on %s:%d", c->listen_host, c->listen_port);
	}
	struct sess_limits lim = {
		.auth = N.auth,
		.max_response_size = c->max_response_size,
		.stream_idle_ms = c->stream_idle_s * 1000,
		.max_reqs = c->max_reqs,
		.self_url = c->self_url,
	};
	if (c->admin_on && net_start_admin(c, e)) {
		lws_context_destroy(N.ctx);
		N.ctx = NULL;
		return -1;
	}
	static const struct sess_ops ops = {net_ws_send, net_ws_send_encoded, net_ws_close, net_http_out, net_owner_ns};
	sess_init(&lim, &ops);
	static const struct dump_ops dops = {net_dump_out};
	dump_init(&dops);
	if (work_start(c->workers, net_wake, NULL))
		return err_set(e, "cannot start worker threads");
	static const struct repl_ops rops = {net_repl_out, net_repl_out_buf};
	if (repl_init(&rops, e))
		return -1;
	N.repl_on = true;
	lws_sul_schedule(N.ctx, 0, &N.tick, net_tick, LWS_US_PER_SEC);
	return 0;
}

int net_port(void)
{
	return N.port;
}

void net_request_stop(void)
{
	N.stop = 1;
	net_wake(NULL);
}

static int64_t net_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void net_run(void)
{
	while (!N.stop)
		if (lws_service(N.ctx, 0) < 0)
			break;
	/* stop: refuse new work, let in-flight requests finish within the bound */
	N.stopping = true;
	log_info("shutting down");
	if (N.repl_on)
		repl_stop(); /* replication streams end with their trailers */
	int64_t deadline = net_now_ms() + (int64_t)N.cfg->shutdown_timeout_s * 1000;
	while ((sess_busy_jobs() > 0 || repl_busy_jobs() > 0 || dump_busy_jobs() > 0 || N.admin_busy > 0 ||
		N.out_bytes > 0) &&
	       net_now_ms() < deadline)
		lws_service(N.ctx, 0);
	/* closes every connection (cancelling their calls and sessions) */
	struct lws_context *ctx = N.ctx;
	pthread_mutex_lock(&net_ctx_mu);
	N.ctx = NULL;
	pthread_mutex_unlock(&net_ctx_mu);
	lws_context_destroy(ctx);
	if (N.repl_on)
		repl_shutdown();
	dump_shutdown();
	while (N.admin_busy) { /* their connections are gone: the completions free them */
		work_drain();
		if (N.admin_busy) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	sess_shutdown();
	work_stop();
}
