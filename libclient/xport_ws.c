/* xport_ws: the WebSocket half of xport (RFC 6455, client side): the
 * upgrade handshake with its Sec-WebSocket-Key / Accept check and
 * subprotocol choice, masked frames written with one write call, messages
 * joined from fragments, pings answered, a close echoed and reported.
 * Threads: one thread at a time per xport (see xport.h). */
#include "xport_int.h"
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

int xport_ws_open(const char *url, const char *subprotocols, const struct xport_hdr *hdrs, size_t nhdrs,
		  int timeout_ms, struct xport **out, const char **chosen, struct err *e)
{
	*out = NULL;
	if (chosen)
		*chosen = NULL;
	struct xport *x = xport_new(timeout_ms);
	if (!x)
		return err_set(e, "out of memory"), XPORT_E_CONNECT;
	int rc = xport_url(x, url, true, e);
	if (rc == 0) {
		xport_arm(x);
		rc = xport_connect(x, e);
	}
	if (rc != 0)
		goto fail;
	unsigned char rk[16];
	if (RAND_bytes(rk, sizeof rk) != 1 && getrandom(rk, sizeof rk, 0) != sizeof rk) {
		rc = (err_set(e, "no randomness for the WebSocket key"), XPORT_E_CONNECT);
		goto fail;
	}
	char key[32], want[32];
	EVP_EncodeBlock((unsigned char *)key, rk, sizeof rk);
	xp_ws_accept(key, want);
	buf_printf(&x->tx,
		   "GET %s/ HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
		   x->prefix, x->hosthdr, key);
	if (subprotocols && *subprotocols)
		buf_printf(&x->tx, "Sec-WebSocket-Protocol: %s\r\n", subprotocols);
	for (size_t i = 0; i < nhdrs; i++)
		buf_printf(&x->tx, "%s: %s\r\n", hdrs[i].name, hdrs[i].value);
	buf_put(&x->tx, "\r\n", 2);
	struct xp_head h;
	bool got_any = false;
	if ((rc = xport_write(x, x->tx.p, x->tx.len, e)) != 0 || (rc = xport_read_head(x, &h, &got_any, e)) != 0) {
		rc = XPORT_E_CONNECT;
		goto fail;
	}
	if (h.status != 101) {
		/* the body usually says why (e.g. no matching subprotocol) */
		struct buf body;
		buf_init(&body);
		struct xport_sink_buf s = {.b = &body};
		if (h.content_length >= 0 && h.content_length < 4096)
			xport_http_body(x, &h, xport_sink_to_buf, &s, NULL);
		rc = (err_set(e, "WebSocket upgrade refused by %s:%s: HTTP %d%s%.200s", x->host, x->port, h.status,
			     body.len ? ": " : "", body.len ? body.p : ""),
		XPORT_E_CONNECT);
		buf_free(&body);
		goto fail;
	}
	if (!h.upgrade_websocket || !h.conn_upgrade || strcmp(h.accept, want) != 0) {
		rc = (err_set(e, "bad WebSocket handshake answer from %s:%s (Upgrade/Connection/Sec-WebSocket-Accept)",
			     x->host, x->port),
		XPORT_E_CONNECT);
		goto fail;
	}
	snprintf(x->chosen, sizeof x->chosen, "%s", h.protocol);
	if (subprotocols && *subprotocols && x->chosen[0]) {
		size_t cl = strlen(x->chosen);
		bool offered = false;
		for (const char *p = subprotocols; *p;) {
			p += strspn(p, ", ");
			size_t tl = strcspn(p, ", ");
			if (tl == cl && !strncasecmp(p, x->chosen, cl))
				offered = true;
			p += tl;
		}
		if (!offered) {
			rc = (err_set(e, "server picked a subprotocol we did not offer: %s", x->chosen), XPORT_E_CONNECT);
			goto fail;
		}
	}
	x->ws = true;
	if (chosen)
		*chosen = x->chosen;
	*out = x;
	return 0;
fail:
	xport_close(x);
	return rc;
}

static void xport_mask_key(struct xport *x, uint8_t m[4])
{
	uint64_t v = x->rng;
	v ^= v >> 12;
	v ^= v << 25;
	v ^= v >> 27;
	x->rng = v;
	uint32_t r = (uint32_t)((v * 0x2545F4914F6CDD1DULL) >> 32);
	memcpy(m, &r, 4);
}

static int xport_ws_frame(struct xport *x, int opcode, const void *p, size_t n, struct err *e)
{
	if (x->broken)
		return err_set(e, "WebSocket to %s:%s is closed", x->host, x->port), XPORT_E_IO;
	uint8_t mask[4];
	xport_mask_key(x, mask);
	x->tx.len = 0;
	buf_reserve(&x->tx, 14 + n);
	size_t hl = xp_frame_header((uint8_t *)x->tx.p, opcode, true, n, mask);
	memcpy(x->tx.p + hl, p, n);
	xp_mask((uint8_t *)x->tx.p + hl, n, mask, 0);
	x->tx.len = hl + n;
	return xport_write(x, x->tx.p, x->tx.len, e);
}

int xport_ws_send(struct xport *x, const void *p, size_t n, struct err *e)
{
	xport_arm(x);
	return xport_ws_frame(x, XP_OP_TEXT, p, n, e);
}

int xport_ws_recv(struct xport *x, struct buf *msg, struct err *e)
{
	if (x->broken)
		return err_set(e, "WebSocket to %s:%s is closed", x->host, x->port), XPORT_E_IO;
	xport_arm(x);
	size_t start = msg->len;
	bool in_msg = false;
	for (;;) {
		struct xp_frame f;
		size_t avail = x->rx.len - x->rx_off;
		const uint8_t *p = (const uint8_t *)x->rx.p + x->rx_off;
		int hl = xp_frame_parse(p, avail, &f);
		if (hl < 0 || (hl > 0 && f.masked)) {
			x->broken = true;
			return err_set(e, "invalid WebSocket frame from %s:%s", x->host, x->port), XPORT_E_IO;
		}
		if (hl > 0 && f.len > XPORT_MAX_MSG) {
			x->broken = true;
			return err_set(e, "WebSocket message too large (%llu bytes)", (unsigned long long)f.len), XPORT_E_IO;
		}
		if (hl > 0 && avail - (size_t)hl >= f.len) {
			const uint8_t *pl = p + hl;
			size_t n = (size_t)f.len;
			x->rx_off += (size_t)hl + n;
			switch (f.opcode) {
			case XP_OP_PING: {
				uint8_t copy[125];
				memcpy(copy, pl, n);
				int rc = xport_ws_frame(x, XP_OP_PONG, copy, n, e);
				if (rc)
					return rc;
				continue;
			}
			case XP_OP_PONG:
				continue;
			case XP_OP_CLOSE: {
				unsigned code = n >= 2 ? (unsigned)pl[0] << 8 | pl[1] : 1005;
				char reason[128];
				size_t rl = n > 2 ? n - 2 : 0;
				if (rl >= sizeof reason)
					rl = sizeof reason - 1;
				memcpy(reason, pl + 2, rl);
				reason[rl] = 0;
				uint8_t echo[2] = {(uint8_t)(code >> 8), (uint8_t)code};
				if (code != 1005)
					xport_ws_frame(x, XP_OP_CLOSE, echo, 2, NULL);
				x->broken = true;
				return err_set(e, "WebSocket closed by %s:%s (code %u%s%s)", x->host, x->port, code,
					       rl ? ": " : "", reason),
				       XPORT_E_IO;
			}
			case XP_OP_CONT:
				if (!in_msg)
					goto bad_seq;
				break;
			default: /* text, binary */
				if (in_msg)
					goto bad_seq;
				in_msg = true;
				break;
			}
			if (msg->len - start + n > XPORT_MAX_MSG) {
				x->broken = true;
				return err_set(e, "WebSocket message too large"), XPORT_E_IO;
			}
			buf_put(msg, pl, n);
			if (f.fin)
				return 0;
			continue;
		}
		long k = xport_read(x, e);
		if (k < 0)
			return (int)k;
		if (k == 0)
			return xport_cut(x, e, in_msg ? "in the middle of a WebSocket message" : "(WebSocket)");
	}
bad_seq:
	x->broken = true;
	return err_set(e, "WebSocket fragments out of order from %s:%s", x->host, x->port), XPORT_E_IO;
}
