/* net_ws: Hrana over WebSocket in net (net_int.h): the upgrade check
 * (subprotocol, namespace, limits), receiving and decoding messages for
 * sess, the queue of encoded messages written one per writeable callback,
 * and closing (with a short linger after a normal close). Service thread;
 * the encoders also run on workers. */
#include "net_int.h"
#include "auth.h"
#include "cfg.h"
#include "hjson.h"
#include "hpb.h"
#include "log.h"
#include "metrics.h"
#include "ns.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- WebSocket ---- */

/* Sends a WebSocket message (binary on a protobuf connection, else text). p
 * has LWS_PRE bytes of headroom before it.
 * When nothing is queued and the socket takes data, it is written at once
 * (no round through the event loop); otherwise it waits in the queue. */
static void net_ws_queue(struct net_conn *c, unsigned char *p, size_t n)
{
	if (!c->q_head && !c->close_code && !lws_send_pipe_choked(c->wsi)) {
		if (lws_write(c->wsi, p, n, c->pb ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)n)
			net_ws_close(c, 1011, "write failed");
		else
			metrics_bytes_out(n);
		return;
	}
	struct net_msg *m = malloc(sizeof *m + LWS_PRE + n);
	if (!m)
		abort();
	m->next = NULL;
	m->len = n;
	memcpy(m->data + LWS_PRE, p, n);
	if (c->q_tail)
		c->q_tail->next = m;
	else
		c->q_head = m;
	c->q_tail = m;
	N.out_bytes += n;
	lws_callback_on_writable(c->wsi);
}

/* The session's encoder (sess.h): JSON after LWS_PRE bytes of headroom for
 * the frame header lws writes. Pure, so workers call it. */
void net_ws_encode(struct buf *b, const struct hr_server_msg *m)
{
	buf_reserve(b, LWS_PRE + 256);
	b->len = LWS_PRE;
	hjson_encode_server_msg(b, m);
}

void net_ws_encode_pb(struct buf *b, const struct hr_server_msg *m)
{
	buf_reserve(b, LWS_PRE + 256);
	b->len = LWS_PRE;
	hpb_encode_server_msg(b, m);
}

void net_ws_send_encoded(void *owner, struct buf *b)
{
	struct net_conn *c = owner;
	if (c->close_code || b->len < LWS_PRE)
		return;
	net_ws_queue(c, (unsigned char *)b->p + LWS_PRE, b->len - LWS_PRE);
}

void net_ws_send(void *owner, const struct hr_server_msg *m)
{
	struct buf b;
	buf_init(&b);
	if (((struct net_conn *)owner)->pb)
		net_ws_encode_pb(&b, m);
	else
		net_ws_encode(&b, m);
	net_ws_send_encoded(owner, &b);
	buf_free(&b);
}

static void net_ws_linger_done(lws_sorted_usec_list_t *sul)
{
	struct net_conn *c = lws_container_of(sul, struct net_conn, linger);
	c->lingering = false;
	net_ws_close(c, 1000, c->close_reason);
}

/* A normal close (1000: after a hello_error) lingers NET_WS_LINGER_MS
 * first, dropping what the client pipelined after its hello: closing a
 * socket with unread input makes the kernel reset it, and the client then
 * loses the hello_error it has not read yet. */
#define NET_WS_LINGER_MS 250
void net_ws_close(void *owner, int code, const char *reason)
{
	struct net_conn *c = owner;
	if (c->close_code)
		return;
	if (code == 1000 && !c->lingering && reason != c->close_reason) {
		c->lingering = true;
		snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
		lws_sul_schedule(N.ctx, 0, &c->linger, net_ws_linger_done, NET_WS_LINGER_MS * LWS_US_PER_MS);
		return;
	}
	if (c->lingering)
		return;
	c->close_code = code;
	/* a close frame has room for 123 bytes of reason */
	size_t n = strnlen(reason, sizeof c->close_reason - 1);
	memcpy(c->close_reason, reason, n);
	c->close_reason[n] = 0;
	log_debug("closing WebSocket: %d %s", code, reason);
	lws_callback_on_writable(c->wsi);
}

void net_ws_free_queue(struct net_conn *c)
{
	while (c->q_head) {
		struct net_msg *m = c->q_head;
		c->q_head = m->next;
		N.out_bytes -= m->len;
		free(m);
	}
	c->q_tail = NULL;
}

int net_ws_writeable(struct net_conn *c)
{
	struct net_msg *m = c->q_head;
	if (m) {
		if (lws_write(c->wsi, m->data + LWS_PRE, m->len, c->pb ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)m->len)
			return -1;
		metrics_bytes_out(m->len);
		c->q_head = m->next;
		if (!c->q_head)
			c->q_tail = NULL;
		N.out_bytes -= m->len;
		free(m);
		if (c->q_head || c->close_code) {
			lws_callback_on_writable(c->wsi);
			return 0;
		}
	}
	if (c->close_code && !c->q_head) {
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_code, (unsigned char *)c->close_reason,
				 strlen(c->close_reason));
		return -1;
	}
	return 0;
}

int net_ws_receive(struct net_conn *c, const void *in, size_t len)
{
	if (c->close_code || c->lingering)
		return 0;
	metrics_bytes_in(len);
	if ((lws_frame_is_binary(c->wsi) != 0) != c->pb) {
		net_ws_close(c, 1003, c->pb ? "Text messages are not supported on a protobuf connection"
					    : "Binary messages are not supported on a JSON connection");
		return 0;
	}
	if (c->rx.len + len > N.cfg->max_body_size) {
		net_ws_close(c, 1009, "Message is too large");
		return 0;
	}
	buf_put(&c->rx, in, len);
	if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
		return 0;
	struct arena *a = sess_arena_new();
	struct hr_client_msg *m = ARENA_NEW(a, struct hr_client_msg);
	struct err e = {{0}};
	int rc = c->pb ? hpb_decode_client_msg(a, c->rx.p ? c->rx.p : "", c->rx.len, m, &e)
		       : hjson_decode_client_msg(a, c->rx.p ? c->rx.p : "", c->rx.len, m, &e);
	buf_free(&c->rx);
	if (rc) {
		sess_arena_free(a);
		net_ws_close(c, rc == HJSON_E_UNKNOWN_TYPE || rc == HJSON_E_INVALID ? 1008 : 1007, e.msg[0] ? e.msg : "Malformed message");
		return 0;
	}
	metrics_request(MR_WS_MSG);
	if (!c->ws) { /* the namespace is opening: kept for the session */
		struct net_early *x = ARENA_NEW(a, struct net_early);
		x->a = a;
		x->m = m;
		if (c->early_tail)
			c->early_tail->next = x;
		else
			c->early_head = x;
		c->early_tail = x;
		lws_rx_flow_control(c->wsi, 0); /* no more until then */
		return 0;
	}
	sess_ws_msg(c->ws, a, m);
	return 0;
}

/* Opens the connection's session on its namespace (c->ns; NULL when it
 * could not be had: its streams then fail to open), and gives it what was
 * received meanwhile. */
static void net_ws_start(struct net_conn *c)
{
	c->ws = sess_ws_open(c, c->version, c->pb ? net_ws_encode_pb : net_ws_encode);
	if (c->upgrade_cred) {
		sess_ws_set_upgrade_auth(c->ws, c->upgrade_cred);
		free(c->upgrade_cred);
		c->upgrade_cred = NULL;
	}
	while (c->early_head && c->ws) {
		struct net_early *x = c->early_head;
		c->early_head = x->next;
		if (!c->early_head)
			c->early_tail = NULL;
		sess_ws_msg(c->ws, x->a, x->m); /* takes x->a, which holds x */
	}
	lws_rx_flow_control(c->wsi, 1);
}

static void net_ws_ns_ready(struct net_conn *c)
{
	if (c->ns_status)
		log_debug("WebSocket: %s", c->ns_msg); /* its streams fail to open */
	net_ws_start(c);
}

void net_ws_established(struct net_conn *c, struct lws *wsi)
{
	memset(c, 0, sizeof *c);
	c->wsi = wsi;
	c->is_ws = true;
	N.nconns++;
	metrics_conn(1);
	const char *name = lws_get_protocol(wsi)->name;
	c->pb = strcmp(name, "hrana3-protobuf") == 0;
	c->version = c->pb || strcmp(name, "hrana3") == 0 ? 3 : strcmp(name, "hrana2") == 0 ? 2 : 1;
	/* for a hello without a jwt (Basic credentials, PROTOCOL.md §7.3): read
	 * now, while the upgrade's headers are there */
	if (auth_enabled(N.auth))
		c->upgrade_cred = net_credential(wsi, false);
	char msg[600];
	int st = net_resolve_ns(wsi, &c->ns, c->nsname, msg, sizeof msg);
	if (st == NET_NS_LATER) {
		net_ns_open_later(c, c->nsname, net_ws_ns_ready);
		return;
	}
	if (st)
		log_debug("WebSocket: %s", msg); /* its streams fail to open */
	net_ws_start(c);
}

void net_ws_gone(struct net_conn *c)
{
	net_ns_forget(c);
	sess_ws_gone(c->ws);
	c->ws = NULL;
	while (c->early_head) {
		struct net_early *x = c->early_head;
		c->early_head = x->next;
		sess_arena_free(x->a);
	}
	c->early_tail = NULL;
	free(c->upgrade_cred);
	c->upgrade_cred = NULL;
	net_ws_free_queue(c);
	buf_free(&c->rx);
	ns_put(c->ns);
	c->ns = NULL;
}

/* Server preference hrana3-protobuf > hrana3 > hrana2 > hrana1 over what the
 * client offers (4 stands for hrana3-protobuf); 0 when nothing matches. The
 * choice itself is lws's: the first offered one it knows (README). */
static int net_pick_version(const char *offer)
{
	int best = 0;
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s", offer);
	for (char *save = NULL, *tok = strtok_r(tmp, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (strcasecmp(tok, "hrana3-protobuf") == 0)
			best = 4;
		else if (strcasecmp(tok, "hrana3") == 0 && best < 3)
			best = 3;
		else if (strcasecmp(tok, "hrana2") == 0 && best < 2)
			best = 2;
		else if (strcasecmp(tok, "hrana1") == 0 && best < 1)
			best = 1;
	}
	return best;
}

int net_confirm_upgrade(struct net_conn *c, struct lws *wsi)
{
	char *uri = NULL;
	int ulen = 0;
	if (lws_http_get_uri_and_method(wsi, &uri, &ulen) < 0)
		uri = NULL;
	const char *reject = NULL;
	int status = 400;
	char offer[256] = "";
	char nsmsg[600], nsname[NS_NAME_MAX + 1];
	struct ns *ns = NULL;
	int nst = 0;
	if (N.stopping) {
		status = 503, reject = "The server is shutting down";
	} else if (!uri || !net_path_is(uri, ulen, "/") || lws_get_vhost(wsi) == N.admin_vh) {
		status = 404, reject = "Not found";
	} else if ((nst = net_resolve_ns(wsi, &ns, nsname, nsmsg, sizeof nsmsg)) > NET_NS_LATER) {
		/* the namespace is resolved at the handshake (PROTOCOL.md §2.1);
		 * one that is not open yet opens once the connection is up */
		status = nst, reject = nsmsg;
	} else if (N.nconns >= N.cfg->max_conns) {
		status = 429, reject = "Too many concurrent connections";
	} else if (lws_hdr_copy(wsi, offer, sizeof offer, WSI_TOKEN_PROTOCOL) > 0 && net_pick_version(offer) == 0) {
		reject = "Only these WebSocket subprotocols are supported: hrana3-protobuf hrana3 hrana2 hrana1";
	}
	ns_put(ns); /* taken again when the connection is established */
	if (!reject)
		return 0;
	unsigned char hb[LWS_PRE + 1024], *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
	size_t n = strlen(reject);
	if (lws_add_http_common_headers(wsi, (unsigned)status, "text/plain", n, &p, end) || net_cors(wsi, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	memcpy(hb + LWS_PRE, reject, n);
	if (lws_write(wsi, hb + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) != (int)n)
		return -1;
	(void)c;
	return 1;
}
