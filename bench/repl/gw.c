/* gw: a minimal gRPC-web client over HTTP/1.1 for the ReplicationLog
 * service (PROTOCOL.md §8.2, §8.4 Step 2; REPLICA_TRAFFIC.md), written from
 * the protocol text with no code shared with sqld.
 *
 * Request: what libsql's client sends -- POST, content-type
 * application/grpc-web, te: trailers, x-namespace-bin, the session token
 * once known, a chunked body holding one data frame (00 + u32 BE length +
 * protobuf). Response: HTTP 200; the body (chunked or content-length) is
 * data frames then one trailer frame (80 + u32 BE length + header lines);
 * or a trailers-only response (grpc-status as an HTTP header, no body).
 * One keep-alive connection; a response must be read to its end before the
 * next request. */
#include "rb.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { C_SIZE, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER, C_TRAILER_LF, C_DONE };

#define GW_TIMEOUT_S 30

void rb_recv_timeout(int fd, int secs)
{
	struct timeval tv = {.tv_sec = secs};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv))
		die("SO_RCVTIMEO: %s", strerror(errno));
}

static void gw_connect(struct gw *g)
{
	g->fd = tcp_connect(g->port);
	rb_recv_timeout(g->fd, GW_TIMEOUT_S); /* a hung sqld fails the run instead of hanging it */
}

void gw_open(struct gw *g, int port)
{
	memset(g, 0, sizeof *g);
	g->port = port;
	gw_connect(g);
}

void gw_close(struct gw *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	bb_free(&g->rx);
	bb_free(&g->pl);
	bb_free(&g->req);
}

void hexdump_to(struct bbuf *b, const void *p, size_t n, size_t max)
{
	const unsigned char *c = p;
	size_t m = n < max ? n : max;
	for (size_t i = 0; i < m; i++)
		bb_printf(b, "%02x%s", c[i], i + 1 < m ? " " : "");
	if (n > m)
		bb_printf(b, " ... (%zu bytes in all)", n);
}

void gw_fail(struct gw *g, const char *fmt, ...)
{
	struct bbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	bb_printf(&b, "replication %s: %s\n  request bytes: ", g->method, msg);
	if (g->req.len) {
		/* the head as text, then the body in hex */
		const char *eoh = strstr(g->req.p, "\r\n\r\n");
		size_t hl = eoh ? (size_t)(eoh + 4 - g->req.p) : g->req.len;
		bb_printf(&b, "\n    ");
		for (size_t i = 0; i < hl; i++) {
			char ch = g->req.p[i];
			if (ch == '\r')
				bb_printf(&b, "\\r");
			else if (ch == '\n')
				bb_printf(&b, "\\n\n    ");
			else
				bb_add(&b, &ch, 1);
		}
		bb_printf(&b, "body: ");
		hexdump_to(&b, g->req.p + hl, g->req.len - hl, 64);
	}
	bb_printf(&b, "\n  response head: %s", g->head[0] ? "\n    " : "(none)");
	for (const char *h = g->head; *h; h++) {
		if (*h == '\r')
			continue;
		if (*h == '\n')
			bb_printf(&b, "\n    ");
		else
			bb_add(&b, h, 1);
	}
	size_t avail = g->pl.len - g->pl_off;
	bb_printf(&b, "\n  response body bytes not yet consumed (de-chunked): ");
	hexdump_to(&b, g->pl.p + g->pl_off, avail, 96);
	size_t raw = g->rx.len - g->rx_off;
	if (raw) {
		bb_printf(&b, "\n  raw bytes not yet consumed: ");
		hexdump_to(&b, g->rx.p + g->rx_off, raw, 96);
	}
	die("%s", b.p);
}

/* Reads more socket bytes into rx; false on EOF/error. */
static bool rx_more(struct gw *g)
{
	if (g->rx_off && g->rx_off == g->rx.len)
		g->rx.len = g->rx_off = 0;
	else if (g->rx_off > (1u << 20)) {
		memmove(g->rx.p, g->rx.p + g->rx_off, g->rx.len - g->rx_off);
		g->rx.len -= g->rx_off;
		g->rx_off = 0;
	}
	bb_reserve(&g->rx, 1u << 20);
	ssize_t k;
	do
		k = recv(g->fd, g->rx.p + g->rx.len, g->rx.cap - g->rx.len - 1, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		gw_fail(g, "no bytes from sqld for %d s", GW_TIMEOUT_S);
	if (k <= 0) {
		g->closed = true;
		return false;
	}
	g->rx.len += (size_t)k;
	g->rx.p[g->rx.len] = 0;
	return true;
}

static void send_all(struct gw *g, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = send(g->fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			gw_fail(g, "send: %s", k < 0 ? strerror(errno) : "closed");
		c += k;
		n -= (size_t)k;
	}
}

static void read_head(struct gw *g)
{
	char *eoh;
	for (;;) {
		eoh = g->rx.p ? strstr(g->rx.p + g->rx_off, "\r\n\r\n") : NULL;
		if (eoh)
			break;
		if (!rx_more(g))
			gw_fail(g, "the connection closed before a response head");
	}
	size_t hl = (size_t)(eoh + 4 - (g->rx.p + g->rx_off));
	snprintf(g->head, sizeof g->head, "%.*s", (int)(hl < sizeof g->head ? hl : sizeof g->head - 1),
		 g->rx.p + g->rx_off);
	char *h = g->rx.p + g->rx_off;
	g->rx_off += hl;
	*eoh = 0; /* the head is now a C string (rx keeps its bytes after) */
	g->http_status = 0;
	g->chunked = false;
	g->remain = -2; /* no length: until close */
	g->trailers_only = false;
	g->conn_close = false;
	g->got_trailers = false;
	g->body_end = false;
	g->cstate = C_SIZE;
	g->csize = 0;
	g->grpc_status = -1;
	g->grpc_msg[0] = 0;
	if (sscanf(h, "HTTP/1.1 %d", &g->http_status) != 1)
		gw_fail(g, "not an HTTP/1.1 response");
	for (char *line = strstr(h, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		char *colon = strchr(line, ':');
		char *eol = strstr(line, "\r\n");
		if (!colon || (eol && colon > eol))
			continue;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = eol ? (size_t)(eol - v) : strlen(v);
		size_t nl = (size_t)(colon - line);
		if (nl == 17 && !strncasecmp(line, "transfer-encoding", 17) && vl >= 7 && !strncasecmp(v, "chunked", 7))
			g->chunked = true;
		else if (nl == 10 && !strncasecmp(line, "connection", 10) && vl >= 5 && !strncasecmp(v, "close", 5))
			g->conn_close = true;
		else if (nl == 14 && !strncasecmp(line, "content-length", 14))
			g->remain = atoll(v);
		else if (nl == 11 && !strncasecmp(line, "grpc-status", 11)) {
			g->trailers_only = true;
			g->grpc_status = atoi(v);
		} else if (nl == 12 && !strncasecmp(line, "grpc-message", 12))
			snprintf(g->grpc_msg, sizeof g->grpc_msg, "%.*s", (int)vl, v);
	}
	if (g->chunked)
		g->remain = -1;
	if (g->http_status != 200)
		gw_fail(g, "HTTP status %d (gRPC-web answers are always 200)", g->http_status);
	if (g->remain == -2)
		gw_fail(g, "a response with neither content-length nor chunked transfer coding");
	if (g->remain == 0)
		g->body_end = true;
}

/* Moves body bytes from rx to pl (de-chunking). Returns false when nothing
 * could be moved because the socket ended. */
static bool body_more(struct gw *g)
{
	if (g->body_end)
		return false;
	if (g->pl_off && g->pl_off == g->pl.len)
		g->pl.len = g->pl_off = 0;
	else if (g->pl_off > (1u << 20)) {
		memmove(g->pl.p, g->pl.p + g->pl_off, g->pl.len - g->pl_off);
		g->pl.len -= g->pl_off;
		g->pl_off = 0;
	}
	if (!g->chunked && g->remain > 0 && g->rx_off == g->rx.len) {
		/* a body of known length, nothing buffered: straight from the
		 * socket into the payload buffer (no copy through rx) */
		size_t want = g->remain < (1 << 20) ? (size_t)g->remain : (1u << 20);
		bb_reserve(&g->pl, want);
		ssize_t k;
		do
			k = recv(g->fd, g->pl.p + g->pl.len, want, 0);
		while (k < 0 && errno == EINTR);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			gw_fail(g, "no bytes from sqld for %d s", GW_TIMEOUT_S);
		if (k <= 0) {
			g->closed = true;
			return false;
		}
		g->pl.len += (size_t)k;
		g->pl.p[g->pl.len] = 0;
		g->remain -= k;
		if (g->remain == 0)
			g->body_end = true;
		return true;
	}
	if (g->rx_off == g->rx.len && !rx_more(g))
		return false;
	const char *p = g->rx.p + g->rx_off, *e = g->rx.p + g->rx.len;
	if (!g->chunked) {
		size_t n = (size_t)(e - p);
		if ((long long)n > g->remain)
			n = (size_t)g->remain;
		bb_add(&g->pl, p, n);
		g->rx_off += n;
		g->remain -= (long long)n;
		if (g->remain == 0)
			g->body_end = true;
		return true;
	}
	while (p < e && g->cstate != C_DONE) {
		char ch = *p;
		switch (g->cstate) {
		case C_SIZE:
			if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')) {
				int d = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
				g->csize = g->csize * 16 + (uint64_t)d;
				p++;
			} else if (ch == ';') {
				g->cstate = C_EXT;
				p++;
			} else if (ch == '\r') {
				g->cstate = C_SIZE_LF;
				p++;
			} else {
				g->rx_off = (size_t)(p - g->rx.p);
				gw_fail(g, "malformed chunk size");
			}
			break;
		case C_EXT:
			if (ch == '\r')
				g->cstate = C_SIZE_LF;
			p++;
			break;
		case C_SIZE_LF:
			if (ch != '\n') {
				g->rx_off = (size_t)(p - g->rx.p);
				gw_fail(g, "malformed chunk size line");
			}
			p++;
			g->cstate = g->csize ? C_DATA : C_TRAILER;
			break;
		case C_DATA: {
			size_t n = (size_t)(e - p);
			if (n > g->csize)
				n = (size_t)g->csize;
			bb_add(&g->pl, p, n);
			p += n;
			g->csize -= n;
			if (!g->csize)
				g->cstate = C_DATA_CR;
			break;
		}
		case C_DATA_CR:
		case C_DATA_LF:
			if (ch != (g->cstate == C_DATA_CR ? '\r' : '\n')) {
				g->rx_off = (size_t)(p - g->rx.p);
				gw_fail(g, "chunk data not followed by CRLF");
			}
			p++;
			g->cstate = g->cstate == C_DATA_CR ? C_DATA_LF : C_SIZE;
			break;
		case C_TRAILER: /* after the last chunk: HTTP trailer lines, then an empty line */
			if (ch == '\r') {
				g->cstate = C_TRAILER_LF;
			} else {
				/* skip one trailer line */
				const char *lf = memchr(p, '\n', (size_t)(e - p));
				if (!lf) {
					p = e;
					break;
				}
				p = lf;
			}
			p++;
			break;
		case C_TRAILER_LF:
			if (ch != '\n') {
				g->rx_off = (size_t)(p - g->rx.p);
				gw_fail(g, "malformed end of chunked body");
			}
			p++;
			g->cstate = C_DONE;
			break;
		}
	}
	g->rx_off = (size_t)(p - g->rx.p);
	if (g->cstate == C_DONE)
		g->body_end = true;
	return true;
}

void gw_call(struct gw *g, const char *method, const void *pb, size_t n)
{
	snprintf(g->method, sizeof g->method, "%s", method);
	if (g->calls++ && (g->conn_close || g->closed)) {
		/* the last response said "connection: close" (or the server closed
		 * the connection after it): a new one, as hyper would open */
		if (!g->conn_close)
			gw_fail(g, "the server closed the keep-alive connection without \"connection: close\"");
		close(g->fd);
		g->rx.len = g->rx_off = 0;
		g->pl.len = g->pl_off = 0;
		g->closed = false;
		gw_connect(g);
		g->reconnects++;
	}
	g->req.len = 0;
	bb_printf(&g->req,
		  "POST /wal_log.ReplicationLog/%s HTTP/1.1\r\n"
		  "te: trailers\r\n"
		  "content-type: application/grpc-web\r\n"
		  "x-namespace-bin: ZGVmYXVsdA\r\n"
		  "x-libsql-client-version: sqlwire-bench\r\n"
		  "host: 127.0.0.1:%d\r\n",
		  method, g->port);
	if (g->token[0])
		bb_printf(&g->req, "x-session-token: %s\r\n", g->token);
	bb_printf(&g->req, "transfer-encoding: chunked\r\n\r\n%zx\r\n", n + 5);
	unsigned char h[5] = {0, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
			      (unsigned char)n};
	bb_add(&g->req, h, 5);
	bb_add(&g->req, pb, n);
	bb_printf(&g->req, "\r\n0\r\n\r\n");
	g->head[0] = 0;
	send_all(g, g->req.p, g->req.len);
	read_head(g);
}

static void parse_trailers(struct gw *g, const char *p, size_t n)
{
	const char *e = p + n;
	bool have = false;
	while (p < e) {
		const char *eol = memchr(p, '\n', (size_t)(e - p));
		const char *le = eol ? eol : e;
		size_t ll = (size_t)(le - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		const char *colon = memchr(p, ':', ll);
		if (colon) {
			size_t nl = (size_t)(colon - p);
			const char *v = colon + 1;
			size_t vl = ll - nl - 1;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			if (nl == 11 && !strncasecmp(p, "grpc-status", 11)) {
				char tmp[16];
				snprintf(tmp, sizeof tmp, "%.*s", (int)(vl < 15 ? vl : 15), v);
				g->grpc_status = atoi(tmp);
				have = true;
			} else if (nl == 12 && !strncasecmp(p, "grpc-message", 12))
				snprintf(g->grpc_msg, sizeof g->grpc_msg, "%.*s", (int)vl, v);
		}
		p = eol ? eol + 1 : e;
	}
	if (!have)
		gw_fail(g, "trailer frame without grpc-status");
}

int gw_msg(struct gw *g, const uint8_t **out, size_t *outn)
{
	if (g->trailers_only) {
		/* the body must be empty (or at most end) */
		while (!g->body_end)
			if (!body_more(g))
				break;
		if (g->pl.len - g->pl_off)
			gw_fail(g, "a trailers-only response (grpc-status header) with a body");
		g->got_trailers = true;
		return 0;
	}
	for (;;) {
		size_t avail = g->pl.len - g->pl_off;
		const uint8_t *p = (const uint8_t *)g->pl.p + g->pl_off;
		if (avail >= 5) {
			uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
			if (p[0] != 0x00 && p[0] != 0x80)
				gw_fail(g, "gRPC-web frame with flags 0x%02x", p[0]);
			if (len > (64u << 20))
				gw_fail(g, "gRPC-web frame of %u bytes", len);
			if (avail >= 5 + (size_t)len) {
				g->pl_off += 5 + (size_t)len;
				if (p[0] == 0x00) {
					*out = p + 5;
					*outn = len;
					return 1;
				}
				/* the trailers: parse, then the body must end */
				char tr[1024];
				size_t tl = len < sizeof tr - 1 ? len : sizeof tr - 1;
				memcpy(tr, p + 5, tl);
				tr[tl] = 0;
				parse_trailers(g, tr, tl);
				while (!g->body_end)
					if (!body_more(g))
						gw_fail(g, "the connection closed after the trailer frame, before the body's end");
				if (g->pl.len - g->pl_off)
					gw_fail(g, "bytes after the trailer frame");
				g->got_trailers = true;
				return 0;
			}
		}
		if (!body_more(g)) {
			if (g->soft && g->closed)
				return -1;
			gw_fail(g, g->body_end ? "the body ended without a trailer frame"
					       : "the connection closed inside the body");
		}
	}
}

/* ---- protobuf ---- */

bool pb_varint(const uint8_t **p, const uint8_t *e, uint64_t *v)
{
	uint64_t x = 0;
	for (int s = 0; s < 64 && *p < e; s += 7) {
		uint8_t b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

int gw_msg_each(struct gw *g, gw_field_fn field, void (*drain)(void *arg), void *arg, size_t *msg_len)
{
	*msg_len = 0;
	for (;;) { /* the 5-byte header of the next message */
		if (g->trailers_only || g->pl.len - g->pl_off >= 5)
			break;
		if (!body_more(g)) {
			if (g->soft && g->closed)
				return -1;
			gw_fail(g, g->body_end ? "the body ended without a trailer frame"
					       : "the connection closed inside the body");
		}
	}
	const uint8_t *h = (const uint8_t *)g->pl.p + g->pl_off;
	if (g->trailers_only || h[0] != 0x00) { /* trailers (small): the whole-message path */
		const uint8_t *m;
		size_t n;
		int r = gw_msg(g, &m, &n);
		if (r == 1)
			gw_fail(g, "a data message where trailers were expected");
		return r;
	}
	uint32_t len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
	if (len > (64u << 20))
		gw_fail(g, "gRPC-web frame of %u bytes", len);
	g->pl_off += 5;
	size_t left = len;
	while (left) {
		const uint8_t *q = (const uint8_t *)g->pl.p + g->pl_off, *p = q;
		size_t avail = g->pl.len - g->pl_off, lim = avail < left ? avail : left;
		uint32_t fno;
		int wt;
		uint64_t v;
		const uint8_t *d = NULL;
		size_t dl = 0;
		if (lim && pb_field(&p, q + lim, &fno, &wt, &v, &d, &dl)) {
			if (wt != 2)
				gw_fail(g, "a top-level field of wire type %d in a streamed message", wt);
			field(arg, fno, d, dl);
			g->pl_off += (size_t)(p - q);
			left -= (size_t)(p - q);
			continue;
		}
		if (lim == left)
			gw_fail(g, "malformed protobuf in a data message");
		/* the field is not whole yet: the buffer is about to move */
		drain(arg);
		if (!body_more(g))
			gw_fail(g, "the connection closed inside a data message");
	}
	drain(arg);
	*msg_len = len;
	return 1;
}

bool pb_field(const uint8_t **p, const uint8_t *e, uint32_t *fno, int *wt, uint64_t *v, const uint8_t **d,
	      size_t *dl)
{
	uint64_t key;
	if (!pb_varint(p, e, &key))
		return false;
	*fno = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	if (*fno == 0)
		return false;
	if (*wt == 0)
		return pb_varint(p, e, v);
	if (*wt == 2) {
		uint64_t len;
		if (!pb_varint(p, e, &len) || len > (uint64_t)(e - *p))
			return false;
		*d = *p;
		*dl = (size_t)len;
		*p += len;
		return true;
	}
	return false;
}

bool pb_frame_data(const uint8_t *p, size_t n, const uint8_t **data)
{
	const uint8_t *e = p + n;
	*data = NULL;
	while (p < e) {
		uint32_t f;
		int wt;
		uint64_t v;
		const uint8_t *d;
		size_t dl;
		if (!pb_field(&p, e, &f, &wt, &v, &d, &dl))
			return false;
		if (f == 1 && wt == 2) {
			if (dl != RB_FRAME_SIZE)
				return false;
			*data = d;
		}
	}
	return *data != NULL;
}

size_t pb_log_offset(uint8_t *out, uint64_t next_offset)
{
	size_t n = 0;
	if (next_offset) {
		out[n++] = 0x08;
		uint64_t v = next_offset;
		while (v >= 0x80) {
			out[n++] = (uint8_t)(v | 0x80);
			v >>= 7;
		}
		out[n++] = (uint8_t)v;
	}
	return n;
}

void gw_hello(struct gw *g, struct hello *h)
{
	static const uint8_t req[] = {0x08, 0x01}; /* HelloRequest{handshake_version=1} */
	memset(h, 0, sizeof *h);
	gw_call(g, "Hello", req, sizeof req);
	const uint8_t *m;
	size_t n;
	if (gw_msg(g, &m, &n) != 1)
		gw_fail(g, "no HelloResponse: grpc-status %d, grpc-message '%s'", g->grpc_status, g->grpc_msg);
	char token[128] = "";
	const uint8_t *p = m, *e = m + n;
	while (p < e) {
		uint32_t f;
		int wt;
		uint64_t v;
		const uint8_t *d;
		size_t dl;
		if (!pb_field(&p, e, &f, &wt, &v, &d, &dl))
			gw_fail(g, "malformed HelloResponse");
		if (f == 3 && wt == 2)
			snprintf(h->log_id, sizeof h->log_id, "%.*s", (int)dl, (const char *)d);
		else if (f == 4 && wt == 2)
			snprintf(token, sizeof token, "%.*s", (int)dl, (const char *)d);
		else if (f == 5 && wt == 0)
			h->has_index = true, h->index = v;
	}
	if (!token[0] || strlen(token) != 36)
		gw_fail(g, "HelloResponse without a UUID session_token ('%s')", token);
	const uint8_t *x;
	size_t xn;
	if (gw_msg(g, &x, &xn) != 0)
		gw_fail(g, "a second message after HelloResponse");
	if (g->grpc_status != 0)
		gw_fail(g, "Hello: grpc-status %d '%s'", g->grpc_status, g->grpc_msg);
	memcpy(g->token, token, sizeof token);
}
