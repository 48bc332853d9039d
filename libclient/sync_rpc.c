/* sync_rpc: the gRPC-web calls of the sync module (PROTOCOL.md §8.2, §8.4
 * Step 2): a data frame around one protobuf request, POSTed with
 * content-type application/grpc-web, te: trailers, x-authorization (Bearer
 * token, empty when none, as libSQL's client sends it) and x-session-token
 * after a Hello; the answer's data frames and grpc-status trailer. Runs with
 * the struct sync's mu held (it owns s->x and the session). */
#include "sync_int.h"

#include "frame.h"
#include "grpcweb.h"
#include "replpb.h"
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- gRPC-web calls ---- */


size_t sync_rpc_hdrs(struct sync *s, const char *session, struct xport_hdr *h)
{
	size_t n = 0;
	h[n++] = (struct xport_hdr){"te", "trailers"};
	h[n++] = (struct xport_hdr){"x-authorization", s->auth_hdr};
	if (session && session[0])
		h[n++] = (struct xport_hdr){"x-session-token", session};
	return n;
}

static void sync_rpc_resp_add(struct arena *a, struct sync_rpc_resp *r, const uint8_t *p, size_t n)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		const uint8_t **nm = arena_alloc(a, nc * sizeof *nm);
		size_t *nl = arena_alloc(a, nc * sizeof *nl);
		if (r->n) {
			memcpy(nm, r->msgs, r->n * sizeof *nm);
			memcpy(nl, r->lens, r->n * sizeof *nl);
		}
		r->msgs = nm;
		r->lens = nl;
		r->cap = nc;
	}
	r->msgs[r->n] = arena_memdup(a, p, n ? n : 1);
	r->lens[r->n++] = n;
}

/* Feeds a response body to d; data frames go to r, the trailer to r->status. */
static int sync_rpc_body_feed(struct arena *a, struct grpcweb_dec *d, struct sync_rpc_resp *r, const uint8_t *p,
			      size_t n, bool *got_trailer, struct err *e)
{
	while (n > 0) {
		size_t used = 0;
		struct grpcweb_frame f;
		int rc = grpcweb_dec_feed(d, p, n, &used, &f, e);
		if (rc < 0)
			return SYNC_E_PROTO;
		p += used;
		n -= used;
		if (rc == 0)
			break;
		if (f.flags == GRPCWEB_FLAG_TRAILERS) {
			struct grpcweb_trailers t;
			if (grpcweb_parse_trailers(a, f.data, f.len, &t, e) < 0)
				return SYNC_E_PROTO;
			r->status = t.status;
			r->message = t.message;
			*got_trailer = true;
		} else {
			sync_rpc_resp_add(a, r, f.data, f.len);
		}
	}
	return 0;
}

int sync_rpc_call(struct sync *s, const char *method, const struct buf *req, struct arena *a, struct sync_rpc_resp *r,
	       struct err *e)
{
	memset(r, 0, sizeof *r);
	if (!s->x) {
		int rc = xport_http_open(s->url, s->o.timeout_ms, &s->x, e);
		if (rc)
			return rc == XPORT_E_URL ? SYNC_E_PROTO : SYNC_E_NET;
	}
	struct buf body, resp;
	buf_init(&body);
	buf_init(&resp);
	grpcweb_encode_data(&body, req->p, req->len);
	struct xport_hdr h[4];
	size_t nh = sync_rpc_hdrs(s, s->has_session ? s->session : NULL, h);
	char path[128];
	snprintf(path, sizeof path, SYNC_SVC "%s", method);
	int status = 0;
	int rc = xport_http_post(s->x, path, SYNC_CT_GRPC, body.p, body.len, h, nh, &status, &resp, e);
	buf_free(&body);
	if (rc) {
		buf_free(&resp);
		xport_close(s->x);
		s->x = NULL;
		return SYNC_E_NET;
	}
	if (status != 200) {
		buf_free(&resp);
		err_set(e, "sync: %s: HTTP status %d", method, status);
		return status == 401 || status == 403 ? SYNC_E_AUTH : SYNC_E_PROTO;
	}
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 64u << 20);
	bool got = false;
	rc = sync_rpc_body_feed(a, &d, r, (const uint8_t *)resp.p, resp.len, &got, e);
	if (rc == 0 && grpcweb_dec_end(&d, e) < 0)
		rc = SYNC_E_PROTO;
	grpcweb_dec_free(&d);
	buf_free(&resp);
	if (rc == 0 && !got) {
		err_set(e, "sync: %s: response without gRPC trailers", method);
		rc = SYNC_E_PROTO;
	}
	return rc;
}

/* Maps a non-OK gRPC status to an error. */
int sync_rpc_fail(const char *method, const struct sync_rpc_resp *r, struct err *e)
{
	err_set(e, "sync: %s: %s: %s", method, grpcweb_status_name(r->status), r->message ? r->message : "");
	if (r->status == GRPC_STATUS_UNAUTHENTICATED || r->status == GRPC_STATUS_PERMISSION_DENIED)
		return SYNC_E_AUTH;
	if (r->status == GRPC_STATUS_UNAVAILABLE)
		return SYNC_E_NET;
	return SYNC_E_PROTO;
}

bool sync_rpc_precond(const struct sync_rpc_resp *r, const char *what)
{
	return r->status == GRPC_STATUS_FAILED_PRECONDITION && r->message && strcmp(r->message, what) == 0;
}

int sync_rpc_hello(struct sync *s, struct err *e)
{
	struct buf req;
	buf_init(&req);
	struct replpb_hello_req hr = {.has_handshake_version = true, .handshake_version = 1};
	replpb_encode_hello_req(&req, &hr);
	struct arena a;
	arena_init(&a);
	struct sync_rpc_resp r;
	int rc = sync_rpc_call(s, "Hello", &req, &a, &r, e);
	buf_free(&req);
	if (rc == 0 && r.status != GRPC_STATUS_OK)
		rc = sync_rpc_fail("Hello", &r, e);
	struct replpb_hello_resp h;
	if (rc == 0 && (r.n != 1 || replpb_decode_hello_resp(&a, r.msgs[0], r.lens[0], &h, e) < 0)) {
		if (r.n != 1)
			err_set(e, "sync: Hello: %zu messages in the answer", r.n);
		rc = SYNC_E_PROTO;
	}
	if (rc == 0) {
		uint8_t id[16];
		if (meta_uuid_parse(h.log_id, id) < 0 || h.session_token_len == 0 ||
		    h.session_token_len >= sizeof s->session || memchr(h.session_token, 0, h.session_token_len)) {
			err_set(e, "sync: Hello: bad log_id or session token");
			rc = SYNC_E_PROTO;
		} else {
			memcpy(s->log_id, id, 16);
			s->has_log = true;
			memcpy(s->session, h.session_token, h.session_token_len);
			s->session[h.session_token_len] = 0;
			s->has_session = true;
			s->has_index = h.has_current_replication_index;
			s->index = h.current_replication_index;
		}
	}
	arena_free(&a);
	return rc;
}

/* ---- answers that carry frames, decoded as they arrive ---- */

struct stream_ctx {
	struct sync *s;
	struct sync_stream d;
	struct xport *x;
	int http;
	sync_stream_fn fn;
	struct sync_txn *t;
	int rc; /* why the body was stopped */
	struct err *e;
};

static int stream_data(void *arg, const void *p, size_t n)
{
	struct stream_ctx *c = arg;
	if (c->http != 200)
		return 0; /* the body of an HTTP error: not needed */
	if (sync_stopping(c->s))
		return c->rc = SYNC_E_NET, err_set(c->e, "sync: closing"), 1;
	int rc = sync_stream_feed(&c->d, p, n, c->fn, c->t, c->e);
	sync_mem_note(c->s, c->d.peak + xport_mem_peak(c->x) + (c->t ? sync_txn_mem(c->t) : 0));
	if (rc)
		return c->rc = rc, 1;
	return 0;
}

/* xport_http_post_stream sets *status before the body: the callback reads
 * it through c->http. */
int sync_rpc_stream(struct sync *s, struct xport **x, const char *session, const char *method, const struct buf *req,
		    int mode, sync_stream_fn fn, struct sync_txn *t, struct arena *a, struct sync_rpc_resp *r,
		    struct err *e)
{
	memset(r, 0, sizeof *r);
	if (!*x) {
		int rc = xport_http_open(s->url, s->o.timeout_ms, x, e);
		if (rc)
			return rc == XPORT_E_URL ? SYNC_E_PROTO : SYNC_E_NET;
	}
	struct buf body;
	buf_init(&body);
	grpcweb_encode_data(&body, req->p, req->len);
	struct xport_hdr h[4];
	size_t nh = sync_rpc_hdrs(s, session, h);
	char path[128];
	snprintf(path, sizeof path, SYNC_SVC "%s", method);
	struct stream_ctx c = {.s = s, .x = *x, .fn = fn, .t = t, .e = e};
	sync_stream_init(&c.d, mode);
	int rc = xport_http_post_stream(*x, path, SYNC_CT_GRPC, body.p, body.len, h, nh, &c.http, stream_data, &c, e);
	buf_free(&body);
	r->http = c.http;
	r->n = c.d.ndata;
	if (c.d.got_trailer) {
		r->status = c.d.status;
		r->message = arena_strdup(a, c.d.message ? c.d.message : "");
	}
	if (rc < 0) {
		rc = SYNC_E_NET;
	} else if (c.rc) {
		rc = c.d.err ? SYNC_E_PROTO : c.rc; /* the answer was stopped: the connection is dropped */
	} else if (c.http != 200) {
		err_set(e, "sync: %s: HTTP status %d", method, c.http);
		rc = c.http == 401 || c.http == 403 ? SYNC_E_AUTH : SYNC_E_PROTO;
	} else if (sync_stream_end(&c.d, e) < 0) {
		rc = SYNC_E_PROTO;
	} else if (!c.d.got_trailer) {
		err_set(e, "sync: %s: response without gRPC trailers", method);
		rc = SYNC_E_PROTO;
	}
	if (rc == SYNC_E_NET || rc == SYNC_E_PROTO || c.rc) {
		xport_close(*x);
		*x = NULL;
	}
	sync_stream_free(&c.d);
	return rc;
}
