/* ws: a minimal WebSocket client (RFC 6455) and the Hrana 2 JSON requests on
 * top of it (PROTOCOL.md §2). Client frames are masked text frames; server
 * frames may use 7-, 16- or 64-bit lengths and may be fragmented; pings are
 * answered; a close frame or a binary frame ends the run. The upgrade checks
 * the 101 status, Sec-WebSocket-Accept and the chosen subprotocol.
 * With subprotocol hrana3-protobuf (w->pb) messages are binary frames both
 * ways and a text frame ends the run; the protobuf requests are in pb.c. */
#include "bench.h"
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
}

/* Reads more bytes into w->rx; dies on EOF/error. */
static void rx_more(struct ws *w)
{
	if (w->rx_off && w->rx_off == w->rx.len)
		w->rx.len = w->rx_off = 0;
	else if (w->rx_off > (1u << 16)) {
		memmove(w->rx.p, w->rx.p + w->rx_off, w->rx.len - w->rx_off);
		w->rx.len -= w->rx_off;
		w->rx_off = 0;
	}
	bb_reserve(&w->rx, 65536);
	ssize_t k;
	do
		k = recv(w->fd, w->rx.p + w->rx.len, w->rx.cap - w->rx.len - 1, 0);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		die("websocket: connection %s", k < 0 ? strerror(errno) : "closed by sqld");
	w->rx.len += (size_t)k;
	w->rx.p[w->rx.len] = 0;
}

static void send_frame(struct ws *w, int opcode, const void *p, size_t n)
{
	unsigned char h[14];
	size_t hl = 0;
	h[hl++] = (unsigned char)(0x80 | opcode);
	if (n < 126)
		h[hl++] = (unsigned char)(0x80 | n);
	else if (n < 65536) {
		h[hl++] = 0x80 | 126;
		h[hl++] = (unsigned char)(n >> 8);
		h[hl++] = (unsigned char)n;
	} else {
		h[hl++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	uint32_t m = (uint32_t)rng_next(&w->mask_rng);
	unsigned char mask[4] = {(unsigned char)m, (unsigned char)(m >> 8), (unsigned char)(m >> 16), (unsigned char)(m >> 24)};
	memcpy(h + hl, mask, 4);
	hl += 4;
	w->tx.len = 0;
	bb_reserve(&w->tx, hl + n);
	memcpy(w->tx.p, h, hl);
	unsigned char *d = (unsigned char *)w->tx.p + hl;
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i] ^ mask[i & 3];
	w->tx.len = hl + n;
	write_all(w->fd, w->tx.p, w->tx.len);
}

void ws_send_text(struct ws *w, const char *p, size_t n)
{
	send_frame(w, 0x1, p, n);
}

void ws_send_binary(struct ws *w, const void *p, size_t n)
{
	send_frame(w, 0x2, p, n);
}

void ws_open(struct ws *w, int port, const char *subprotocol)
{
	memset(w, 0, sizeof *w);
	w->port = port;
	w->next_id = 1;
	fill_random(&w->mask_rng, sizeof w->mask_rng);
	w->mask_rng |= 1;
	w->fd = tcp_connect(port);

	unsigned char raw[16];
	char key[32], want[64];
	fill_random(raw, sizeof raw);
	base64(raw, sizeof raw, key);
	char cat[128];
	snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	unsigned char sha[EVP_MAX_MD_SIZE];
	unsigned shalen = 0;
	if (!EVP_Digest(cat, strlen(cat), sha, &shalen, EVP_sha1(), NULL))
		die("SHA1 failed");
	base64(sha, shalen, want);

	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
			 port, key, subprotocol);
	write_all(w->fd, req, (size_t)n);
	char *eoh;
	while (!(eoh = strstr(w->rx.p ? w->rx.p : "", "\r\n\r\n")))
		rx_more(w);
	*eoh = 0;
	w->rx_off = (size_t)(eoh + 4 - w->rx.p);
	if (strncmp(w->rx.p, "HTTP/1.1 101", 12) != 0)
		die("websocket upgrade refused: %.200s", w->rx.p);
	bool accept_ok = false, proto_ok = false;
	for (char *line = strstr(w->rx.p, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		char *colon = strchr(line, ':');
		char *eol = strstr(line, "\r\n");
		if (!colon || (eol && colon > eol))
			continue;
		char *v = colon + 1;
		while (*v == ' ')
			v++;
		size_t vl = eol ? (size_t)(eol - v) : strlen(v);
		if (strncasecmp(line, "Sec-WebSocket-Accept:", 21) == 0)
			accept_ok = vl == strlen(want) && memcmp(v, want, vl) == 0;
		if (strncasecmp(line, "Sec-WebSocket-Protocol:", 23) == 0)
			proto_ok = vl == strlen(subprotocol) && strncasecmp(v, subprotocol, vl) == 0;
	}
	if (!accept_ok || !proto_ok)
		die("websocket upgrade: bad Sec-WebSocket-Accept or subprotocol:\n%s", w->rx.p);

	size_t len;
	if (strcmp(subprotocol, "hrana3-protobuf") == 0) {
		w->pb = true;
		/* ClientMsg{hello: {}} -> ServerMsg{hello_ok: {}} */
		ws_send_binary(w, "\x0a\x00", 2);
		const char *m = ws_recv_msg(w, &len);
		if (len != 2 || memcmp(m, "\x0a\x00", 2) != 0)
			die("expected a protobuf hello_ok, got %zu bytes", len);
		return;
	}
	static const char hello[] = "{\"type\":\"hello\"}";
	ws_send_text(w, hello, sizeof hello - 1);
	const char *m = ws_recv_msg(w, &len);
	if (!js_str_eq(js_get(m, m + len, "type"), m + len, "hello_ok"))
		die("expected hello_ok, got: %.300s", m);
}

const char *ws_recv_msg(struct ws *w, size_t *len)
{
	w->msg.len = 0;
	bb_reserve(&w->msg, 0);
	bool in_msg = false;
	for (;;) {
		/* one frame header */
		while (w->rx.len - w->rx_off < 2)
			rx_more(w);
		const unsigned char *h = (const unsigned char *)w->rx.p + w->rx_off;
		bool fin = h[0] & 0x80;
		int op = h[0] & 0x0f;
		if (h[1] & 0x80)
			die("websocket: server frame is masked");
		uint64_t n = h[1] & 0x7f;
		size_t hl = 2;
		if (n == 126)
			hl = 4;
		else if (n == 127)
			hl = 10;
		while (w->rx.len - w->rx_off < hl)
			rx_more(w);
		h = (const unsigned char *)w->rx.p + w->rx_off;
		if (n == 126)
			n = (uint64_t)h[2] << 8 | h[3];
		else if (n == 127) {
			n = 0;
			for (int i = 2; i < 10; i++)
				n = n << 8 | h[i];
		}
		if (n > (1u << 30))
			die("websocket: frame of %llu bytes", (unsigned long long)n);
		while (w->rx.len - w->rx_off < hl + n)
			rx_more(w);
		const char *payload = w->rx.p + w->rx_off + hl;
		w->rx_off += hl + (size_t)n;

		switch (op) {
		case 0x9: /* ping */
			send_frame(w, 0xA, payload, (size_t)n);
			continue;
		case 0xA: /* pong */
			continue;
		case 0x8: {
			int code = n >= 2 ? ((unsigned char)payload[0] << 8 | (unsigned char)payload[1]) : 0;
			die("websocket closed by sqld: code %d reason '%.*s'", code, n > 2 ? (int)n - 2 : 0,
			    n > 2 ? payload + 2 : "");
		}
		case 0x2:
		case 0x1:
			if ((op == 0x2) != w->pb)
				die("websocket: unexpected %s frame on a %s connection", op == 0x2 ? "binary" : "text",
				    w->pb ? "protobuf" : "JSON");
			if (in_msg)
				die("websocket: new data frame inside a fragmented message");
			in_msg = true;
			break;
		case 0x0:
			if (!in_msg)
				die("websocket: continuation without a message");
			break;
		default:
			die("websocket: opcode %d", op);
		}
		bb_add(&w->msg, payload, (size_t)n);
		if (fin) {
			*len = w->msg.len;
			return w->msg.p;
		}
	}
}

const char *ws_request(struct ws *w, const char *req_json, size_t req_len, const char **end)
{
	int32_t id = w->next_id++;
	char head[64];
	int hn = snprintf(head, sizeof head, "{\"type\":\"request\",\"request_id\":%d,\"request\":", (int)id);
	/* build in tx-independent scratch: header + body + "}" */
	static __thread struct bbuf out;
	out.len = 0;
	bb_add(&out, head, (size_t)hn);
	bb_add(&out, req_json, req_len);
	bb_add(&out, "}", 1);
	ws_send_text(w, out.p, out.len);

	size_t len;
	const char *m = ws_recv_msg(w, &len);
	const char *e = m + len;
	const char *type = js_get(m, e, "type");
	long long rid;
	if (!js_int(js_get(m, e, "request_id"), e, &rid) || rid != id)
		die("response for request %d has the wrong request_id: %.300s", (int)id, m);
	if (!js_str_eq(type, e, "response_ok"))
		die("request %d failed: %.500s", (int)id, m);
	const char *resp = js_get(m, e, "response");
	if (!resp)
		die("response_ok without response: %.300s", m);
	*end = e;
	return resp;
}

void ws_open_stream(struct ws *w, int32_t stream_id)
{
	char req[96];
	int n = snprintf(req, sizeof req, "{\"type\":\"open_stream\",\"stream_id\":%d}", (int)stream_id);
	const char *end;
	const char *r = ws_request(w, req, (size_t)n, &end);
	if (!js_str_eq(js_get(r, end, "type"), end, "open_stream"))
		die("open_stream: unexpected response %.200s", r);
}

void ws_close(struct ws *w)
{
	if (w->fd >= 0) {
		unsigned char code[2] = {0x03, 0xe8}; /* 1000 */
		send_frame(w, 0x8, code, 2);
		close(w->fd);
	}
	w->fd = -1;
	bb_free(&w->rx);
	bb_free(&w->tx);
	bb_free(&w->msg);
}
