/* net: see net.h. This file holds the libwebsockets context, the user
 * listener (with TLS), the one callback every connection goes through, the
 * service loop and shutdown; the rest of the module is in net_out.c (HTTP
 * responses), net_http.c (HTTP requests), net_ws.c (WebSocket) and
 * net_admin.c (the admin listener), which share net_int.h. What follows is
 * the whole module's.
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
 * resolve theirs in repl (x-namespace-bin only, gRPC statuses). The service
 * thread never opens a namespace: the first open of one (which verifies,
 * maybe rebuilds, its frame log) runs on a worker while the request waits
 * (net_ns.c).
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
#include "cfg.h"
#include "dump.h"
#include "log.h"
#include "metrics.h"
#include "ns.h"
#include "repl.h"
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct net_state N;

static const struct auth *net_auth; /* kept across net_start's reset of N */

void net_set_auth(const struct auth *a)
{
	net_auth = a;
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
			net_ns_forget(c);
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
		if (!c || c->status || c->body_overflow || c->body_done || c->body_waiting)
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
	case LWS_CALLBACK_ESTABLISHED:
		net_ws_established(c, wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return c ? net_ws_receive(c, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c ? net_ws_writeable(c) : -1;
	case LWS_CALLBACK_CLOSED:
		if (c && c->is_ws) {
			if (c->lingering)
				lws_sul_cancel(&c->linger);
			c->lingering = false;
			net_ws_gone(c);
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
	while ((sess_busy_jobs() > 0 || repl_busy_jobs() > 0 || dump_busy_jobs() > 0 || N.admin_busy > 0 || N.ns_busy > 0 ||
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
	while (N.admin_busy || N.ns_busy) { /* their connections are gone: the completions free them */
		work_drain();
		if (N.admin_busy || N.ns_busy) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	sess_shutdown();
	work_stop();
}
