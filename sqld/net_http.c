/* net_http: the HTTP request side of net (net_int.h): the request line and
 * headers (routing, the namespace, authentication, limits), then the body,
 * decoded and handed to sess, repl or the admin listener. The routes are
 * listed at the top of net.c. Service thread. */
#include "net_int.h"
#include "auth.h"
#include "cfg.h"
#include "dump.h"
#include "grpcweb.h"
#include "hjson.h"
#include "hpb.h"
#include "metrics.h"
#include "ns.h"
#include "repl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NET_VERSION "0.1.0"

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

/* Resolves the request's namespace (PROTOCOL.md §6.3) into name and, when
 * it is open, takes a reference in *out. Returns 0, NET_NS_LATER (it exists
 * but is not open: *out NULL, see net_ns.c), or an HTTP status with the
 * reason in msg. Never opens a namespace. */
int net_resolve_ns(struct lws *wsi, struct ns **out, char name[NS_NAME_MAX + 1], char *msg, size_t cap)
{
	*out = NULL;
	name[0] = 0;
	char *bin = net_hdr_dup(wsi, "x-namespace-bin:");
	char *hdr = net_hdr_dup(wsi, "x-namespace:");
	char host[256];
	int hl = lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
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
	rc = ns_get_open(name, out, &e);
	if (rc == NS_ENOTOPEN)
		return NET_NS_LATER;
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

void net_reply_bad_chunks(struct net_conn *c)
{
	if (c->route == NR_REPL)
		net_reply_grpc(c, GRPC_STATUS_INVALID_ARGUMENT, "Malformed chunked request body");
	else
		net_reply_text(c, 400, "Malformed chunked request body");
}

/* The credential of a request: Authorization, else x-authorization (gRPC
 * metadata: x-authorization first). Malloc'd, NULL when neither is sent. */
char *net_credential(struct lws *wsi, bool grpc)
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
	} else if (c->nsname[0]) { /* resolved, still opening */
		nsn = c->nsname;
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


/* The request's namespace is open (net_ns.c), or could not be: the request
 * carries on, if its body was already complete. */
static void net_http_ns_ready(struct net_conn *c)
{
	if (c->ns_status && c->route != NR_REPL && !c->status) {
		net_reply_generic(c, c->ns_status, c->ns_msg);
		c->route = NR_NONE;
		return;
	}
	/* a gRPC call's open was only ahead of repl, which resolves (and
	 * refuses) its namespace itself */
	if (c->body_waiting)
		net_http_body_done(c);
}

static void net_dump_ns_ready(struct net_conn *c)
{
	if (c->ns_status)
		net_reply_generic(c, c->ns_status, c->ns_msg);
	else
		c->dcall = dump_start(c, c->ns);
}

/* A gRPC call names its namespace in x-namespace-bin (PROTOCOL.md §6.3),
 * which repl resolves at the end of the body; if it is not open yet, it is
 * opened on a worker meanwhile, so repl finds it open. */
static void net_repl_preopen(struct net_conn *c, struct lws *wsi)
{
	char name[NS_NAME_MAX + 1] = NS_DEFAULT;
	if (ns_enabled()) {
		char *bin = net_hdr_dup(wsi, "x-namespace-bin:");
		int ok = bin && ns_name_from_b64(bin, name, sizeof name) == 0;
		free(bin);
		if (!ok)
			return; /* repl refuses it */
	}
	struct ns *ns = NULL;
	if (ns_get_open(name, &ns, NULL) == NS_ENOTOPEN)
		net_ns_open_later(c, name, net_http_ns_ready);
	ns_put(ns);
}

/* The request line and headers are in. Returns -1 to close. */
int net_http_request(struct net_conn *c, struct lws *wsi)
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
		int st = net_resolve_ns(wsi, &c->ns, c->nsname, msg, sizeof msg);
		if (st > NET_NS_LATER)
			net_reply_generic(c, st, msg);
		else if (net_check_auth(c, wsi) == 0) {
			if (st == NET_NS_LATER)
				net_ns_open_later(c, c->nsname, net_dump_ns_ready);
			else
				c->dcall = dump_start(c, c->ns);
		}
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
		int st = net_resolve_ns(wsi, &c->ns, c->nsname, msg, sizeof msg);
		if (st == NET_NS_LATER) {
			net_ns_open_later(c, c->nsname, net_http_ns_ready);
		} else if (st) {
			net_reply_generic(c, st, msg);
			c->route = NR_NONE;
			return 0;
		}
	} else {
		net_repl_preopen(c, wsi);
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

void net_http_body_done(struct net_conn *c)
{
	if (c->nsjob) { /* net_http_ns_ready carries on */
		c->body_waiting = true;
		return;
	}
	c->body_waiting = false;
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
