/* Unit tests of libclient/xport.c and xport_parse.c: the pure parsers, then
 * the HTTP and WebSocket clients against a tiny scripted loopback server
 * running in a thread of this process (content-length and chunked bodies,
 * keep-alive reuse and reconnect, a cut connection, a timeout, streaming,
 * the WebSocket handshake, masking, fragments, a server ping, a close). */
#include "t.h"
#include "xport.h"
#include "xport_parse.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------- parsers ---------------- */

static void test_head_parse(void)
{
	struct xp_head h;
	const char *r1 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello";
	CHECK(xp_head_parse(r1, strlen(r1), &h) == (long)strlen(r1) - 5);
	CHECK(h.status == 200 && h.content_length == 5 && !h.chunked && !h.conn_close);
	const char *r2 = "HTTP/1.1 101 Switching Protocols\nupgrade: WebSocket\nconnection: keep-alive, Upgrade\n"
			 "Sec-WebSocket-Accept:  abc= \nSec-WebSocket-Protocol: hrana3\n\n";
	CHECK(xp_head_parse(r2, strlen(r2), &h) == (long)strlen(r2));
	CHECK(h.status == 101 && h.upgrade_websocket && h.conn_upgrade);
	CHECK_STR(h.accept, "abc=");
	CHECK_STR(h.protocol, "hrana3");
	const char *r3 = "HTTP/1.0 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
	CHECK(xp_head_parse(r3, strlen(r3), &h) > 0 && h.chunked && h.conn_close && h.status == 404);
	/* incomplete */
	CHECK(xp_head_parse(r1, 20, &h) == 0);
	CHECK(xp_head_parse("HTTP/1.1 2", 10, &h) == 0);
	/* malformed */
	const char *bad[] = {
		"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20x OK\r\n\r\n", "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GARBAGE\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long r = xp_head_parse(bad[i], strlen(bad[i]), &h);
		if (r != -1)
			fprintf(stderr, "bad head %zu parsed as %ld\n", i, r);
		CHECK(r == -1);
	}
	/* too long without an end */
	char *big = malloc(XP_HEAD_MAX + 10);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', XP_HEAD_MAX - 10);
	CHECK(xp_head_parse(big, XP_HEAD_MAX + 10, &h) == -1);
	free(big);
}

static void test_frame_parse(void)
{
	struct xp_frame f;
	uint8_t a[] = {0x81, 0x05, 'h', 'e', 'l', 'l', 'o'};
	CHECK(xp_frame_parse(a, sizeof a, &f) == 2 && f.fin && f.opcode == 1 && f.len == 5 && !f.masked);
	CHECK(xp_frame_parse(a, 1, &f) == 0);
	uint8_t b[] = {0x02, 126, 0x01, 0x00};
	CHECK(xp_frame_parse(b, 3, &f) == 0);
	CHECK(xp_frame_parse(b, 4, &f) == 4 && !f.fin && f.opcode == 2 && f.len == 256);
	uint8_t c[] = {0x80, 127, 0, 0, 0, 1, 0, 0, 0, 0};
	CHECK(xp_frame_parse(c, sizeof c, &f) == 10 && f.len == ((uint64_t)1 << 32) && f.opcode == 0);
	uint8_t d[] = {0x80, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
	CHECK(xp_frame_parse(d, sizeof d, &f) == -1); /* top bit */
	uint8_t e[] = {0xc1, 0x00};
	CHECK(xp_frame_parse(e, sizeof e, &f) == -1); /* RSV1 */
	uint8_t g[] = {0x83, 0x00};
	CHECK(xp_frame_parse(g, sizeof g, &f) == -1); /* opcode 3 */
	uint8_t h[] = {0x09, 0x00};
	CHECK(xp_frame_parse(h, sizeof h, &f) == -1); /* fragmented ping */
	uint8_t i[] = {0x89, 126, 0, 126};
	CHECK(xp_frame_parse(i, sizeof i, &f) == -1); /* ping > 125 */
	uint8_t j[] = {0x81, 0x83, 1, 2, 3, 4, 'a' ^ 1, 'b' ^ 2, 'c' ^ 3};
	CHECK(xp_frame_parse(j, 5, &f) == 0);
	CHECK(xp_frame_parse(j, sizeof j, &f) == 6 && f.masked && f.mask[3] == 4);
	xp_mask(j + 6, 3, f.mask, 0);
	CHECK(memcmp(j + 6, "abc", 3) == 0);
	/* header writer round trip at each length form */
	uint64_t lens[] = {0, 125, 126, 65535, 65536, 1000000};
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		uint8_t hb[14], m[4] = {9, 8, 7, 6};
		size_t hl = xp_frame_header(hb, XP_OP_TEXT, true, lens[k], m);
		CHECK(xp_frame_parse(hb, hl, &f) == (int)hl && f.len == lens[k] && f.masked && f.mask[0] == 9);
	}
	/* masking at odd phases matches byte by byte */
	uint8_t buf[37], ref[37], m[4] = {0xde, 0xad, 0xbe, 0xef};
	for (int k = 0; k < 37; k++)
		buf[k] = ref[k] = (uint8_t)(k * 7);
	xp_mask(buf, 37, m, 3);
	for (int k = 0; k < 37; k++)
		CHECK(buf[k] == (ref[k] ^ m[(3 + k) & 3]));
}

static void test_accept_key(void)
{
	char out[32];
	xp_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 §1.3 */
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* ---------------- the loopback server ---------------- */

static int srv_fd, srv_port;
static _Atomic int srv_accepts;
static void (*srv_handler)(int fd);
static pthread_t srv_thread;

static void *srv_main(void *arg)
{
	for (;;) {
		int fd = accept(srv_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		atomic_fetch_add(&srv_accepts, 1);
		void (*h)(int) = srv_handler;
		if (!h) { /* the stop signal */
			close(fd);
			return NULL;
		}
		h(fd);
		close(fd);
	}
}

static void srv_start(void)
{
	srv_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(srv_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	bind(srv_fd, (struct sockaddr *)&a, sizeof a);
	listen(srv_fd, 16);
	socklen_t l = sizeof a;
	getsockname(srv_fd, (struct sockaddr *)&a, &l);
	srv_port = ntohs(a.sin_port);
	pthread_create(&srv_thread, NULL, srv_main, NULL);
}

static void srv_stop(void)
{
	srv_handler = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(fd, (struct sockaddr *)&a, sizeof a);
	pthread_join(srv_thread, NULL);
	close(fd);
	close(srv_fd);
}

static void put(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* Reads one HTTP request (head + Content-Length body) into buf; returns its
 * length, 0 on EOF. */
static size_t get_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		buf[n] = 0;
		char *e = strstr(buf, "\r\n\r\n");
		if (e) {
			const char *cl = strcasestr(buf, "Content-Length:");
			size_t want = (size_t)(e + 4 - buf) + (cl ? (size_t)atoi(cl + 15) : 0);
			if (n >= want)
				return n;
		}
		ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
		if (k <= 0)
			return 0;
		n += (size_t)k;
	}
}

static char last_req[8192];

static void h_two_responses(int fd)
{
	char b[8192];
	for (int i = 0; i < 2; i++) {
		if (!get_request(fd, b, sizeof b))
			return;
		memcpy(last_req, b, sizeof b);
		if (i == 0)
			put(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
		else /* chunked, with an extension and a trailer, in pieces */
			put(fd, "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n"),
				usleep(20000), put(fd, "A\r\n0123456789\r\n0\r\nT: v\r\n\r\n");
	}
	get_request(fd, b, sizeof b); /* wait for the client to go */
}

static void test_http_basic(void)
{
	srv_handler = h_two_responses;
	int acc0 = srv_accepts;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/base/", srv_port);
	struct xport *x = NULL;
	struct err e;
	CHECK(xport_http_open(url, 5000, &x, &e) == 0);
	if (!x)
		return;
	struct buf r;
	buf_init(&r);
	int status = 0;
	struct xport_hdr h[] = {{"Authorization", "Bearer tok"}};
	CHECK(xport_http_post(x, "/v3/pipeline", "application/json", "{\"a\":1}", 7, h, 1, &status, &r, &e) == 0);
	CHECK(status == 200 && r.len == 5 && !memcmp(r.p, "hello", 5));
	CHECK(strncmp(last_req, "POST /base/v3/pipeline HTTP/1.1\r\n", 33) == 0);
	CHECK(strstr(last_req, "\r\nAuthorization: Bearer tok\r\n") != NULL);
	CHECK(strstr(last_req, "\r\nContent-Length: 7\r\n") != NULL);
	CHECK(strstr(last_req, "\r\n\r\n{\"a\":1}") != NULL);
	CHECK(strstr(last_req, "Host: 127.0.0.1:") != NULL);
	r.len = 0;
	CHECK(xport_http_post(x, "v2", NULL, "", 0, NULL, 0, &status, &r, &e) == 0);
	CHECK(status == 201 && r.len == 13 && !memcmp(r.p, "abc0123456789", 13));
	CHECK(srv_accepts - acc0 == 1); /* kept alive */
	buf_free(&r);
	xport_close(x);
}

/* Answers one request per connection, then closes (an idle-timeout server). */
static void h_one_then_close(int fd)
{
	char b[8192];
	if (get_request(fd, b, sizeof b))
		put(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	usleep(10000);
}

static void test_http_reconnect(void)
{
	srv_handler = h_one_then_close;
	int acc0 = srv_accepts;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", srv_port);
	struct xport *x = NULL;
	struct err e;
	CHECK(xport_http_open(url, 5000, &x, &e) == 0);
	if (!x)
		return;
	struct buf r;
	buf_init(&r);
	int status = 0;
	for (int i = 0; i < 3; i++) {
		usleep(30000); /* let the server close the previous one */
		r.len = 0;
		int rc = xport_http_post(x, "/", NULL, "x", 1, NULL, 0, &status, &r, &e);
		if (rc)
			fprintf(stderr, "post %d: %s\n", i, e.msg);
		CHECK(rc == 0 && status == 200 && r.len == 2);
	}
	CHECK(srv_accepts - acc0 == 3);
	buf_free(&r);
	xport_close(x);
}

static void h_cut_body(int fd)
{
	char b[8192];
	if (get_request(fd, b, sizeof b))
		put(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
}

static void h_cut_chunked(int fd)
{
	char b[8192];
	if (get_request(fd, b, sizeof b))
		put(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
}

static void h_silent(int fd)
{
	char b[8192];
	get_request(fd, b, sizeof b);
	usleep(600000);
}

static void h_garbage(int fd)
{
	char b[8192];
	if (get_request(fd, b, sizeof b))
		put(fd, "SSH-2.0-OpenSSH\r\n\r\n");
}

static void test_http_failures(void)
{
	void (*hs[])(int) = {h_cut_body, h_cut_chunked, h_silent, h_garbage};
	const char *want[] = {"closed", "closed", "timed out", "malformed"};
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", srv_port);
	for (int i = 0; i < 4; i++) {
		srv_handler = hs[i];
		struct xport *x = NULL;
		struct err e = {""};
		CHECK(xport_http_open(url, 300, &x, &e) == 0);
		if (!x)
			continue;
		struct buf r;
		buf_init(&r);
		int status = 0;
		CHECK(xport_http_post(x, "/", NULL, "x", 1, NULL, 0, &status, &r, &e) == XPORT_E_IO);
		if (!strstr(e.msg, want[i]))
			fprintf(stderr, "case %d: %s\n", i, e.msg);
		CHECK(strstr(e.msg, want[i]) != NULL);
		buf_free(&r);
		xport_close(x);
	}
	/* nobody listening */
	struct xport *x = NULL;
	struct err e;
	CHECK(xport_http_open("http://127.0.0.1:1", 1000, &x, &e) == XPORT_E_CONNECT && x == NULL);
	CHECK(xport_http_open("gopher://x", 1000, &x, &e) == XPORT_E_URL);
	CHECK(xport_http_open("http://[::1", 1000, &x, &e) == XPORT_E_URL);
	CHECK(xport_http_open("http://h:99999", 1000, &x, &e) == XPORT_E_URL);
}

static void h_stream(int fd)
{
	char b[8192];
	if (!get_request(fd, b, sizeof b))
		return;
	put(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 8; i++) {
		usleep(150000); /* each gap below the timeout, the sum above it */
		put(fd, "4\r\npart\r\n");
	}
	put(fd, "0\r\n\r\n");
	get_request(fd, b, sizeof b);
}

struct collect {
	struct buf b;
	int calls, stop_after;
};

static int on_data(void *arg, const void *p, size_t n)
{
	struct collect *c = arg;
	buf_put(&c->b, p, n);
	return ++c->calls == c->stop_after;
}

static void test_http_stream(void)
{
	srv_handler = h_stream;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", srv_port);
	struct xport *x = NULL;
	struct err e;
	CHECK(xport_http_open(url, 1000, &x, &e) == 0);
	if (!x)
		return;
	struct collect c = {.stop_after = -1};
	buf_init(&c.b);
	int status = 0;
	int rc = xport_http_post_stream(x, "/s", "application/grpc-web+proto", "q", 1, NULL, 0, &status, on_data, &c, &e);
	if (rc)
		fprintf(stderr, "stream: %s\n", e.msg);
	CHECK(rc == 0 && status == 200);
	CHECK(c.b.len == 32 && c.calls == 8);
	/* stop early: the connection is dropped and the next request reconnects */
	c.b.len = 0;
	c.calls = 0;
	c.stop_after = 2;
	CHECK(xport_http_post_stream(x, "/s", NULL, "q", 1, NULL, 0, &status, on_data, &c, &e) == 0);
	CHECK(c.calls == 2 && c.b.len == 8);
	buf_free(&c.b);
	xport_close(x);
}

/* ---------------- WebSocket ---------------- */

static char ws_proto_req[128];
static _Atomic int ws_pong_ok;
static int ws_mode; /* 0 echo+ping+fragments, 1 wrong accept, 2 refuse, 3 close at once */

/* Reads one client frame; returns the opcode (payload unmasked into p), -1 on EOF/error. */
static int ws_read_frame(int fd, uint8_t *p, size_t cap, size_t *n, bool *masked)
{
	uint8_t h[14];
	if (recv(fd, h, 2, MSG_WAITALL) != 2)
		return -1;
	uint64_t len = h[1] & 0x7f;
	*masked = h[1] & 0x80;
	if (len == 126) {
		if (recv(fd, h + 2, 2, MSG_WAITALL) != 2)
			return -1;
		len = (uint64_t)h[2] << 8 | h[3];
	} else if (len == 127) {
		if (recv(fd, h + 2, 8, MSG_WAITALL) != 8)
			return -1;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | h[i];
	}
	uint8_t m[4] = {0};
	if (*masked && recv(fd, m, 4, MSG_WAITALL) != 4)
		return -1;
	if (len > cap || (len && recv(fd, p, len, MSG_WAITALL) != (ssize_t)len))
		return -1;
	for (size_t i = 0; i < len; i++)
		p[i] ^= m[i & 3];
	*n = (size_t)len;
	return h[0] & 0x0f;
}

static void ws_put_frame(int fd, int op, bool fin, const void *p, size_t n)
{
	uint8_t h[10];
	size_t hl = 2;
	h[0] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (n < 126) {
		h[1] = (uint8_t)n;
	} else if (n > 65535) {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	} else {
		h[1] = 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	}
	send(fd, h, hl, MSG_NOSIGNAL);
	if (n)
		send(fd, p, n, MSG_NOSIGNAL);
}

static void h_ws(int fd)
{
	char b[8192];
	if (!get_request(fd, b, sizeof b))
		return;
	const char *k = strcasestr(b, "Sec-WebSocket-Key: ");
	const char *pr = strcasestr(b, "Sec-WebSocket-Protocol: ");
	ws_proto_req[0] = 0;
	if (pr)
		sscanf(pr + 24, "%127[^\r]", ws_proto_req);
	char key[64] = "", acc[32];
	if (k)
		sscanf(k + 19, "%63[^\r]", key);
	xp_ws_accept(key, acc);
	if (ws_mode == 1)
		acc[0] ^= 1;
	if (ws_mode == 2) {
		put(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 12\r\n\r\nno such prot");
		return;
	}
	char resp[512];
	snprintf(resp, sizeof resp,
		 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: hrana3\r\n\r\n",
		 acc);
	put(fd, resp);
	if (ws_mode == 3) {
		uint8_t cl[] = {0x03, 0xe8, 'b', 'y', 'e'};
		ws_put_frame(fd, 8, true, cl, sizeof cl);
		usleep(50000);
		return;
	}
	/* echo each text message back: first a ping, then the reply split in
	 * three fragments with a pong-expecting ping between them */
	uint8_t p[70000];
	size_t n;
	bool masked;
	for (;;) {
		int op = ws_read_frame(fd, p, sizeof p, &n, &masked);
		if (op < 0 || op == 8)
			return;
		if (!masked)
			return; /* clients must mask: the test sees no echo */
		if (op == 10) {
			if (n == 4 && !memcmp(p, "abcd", 4))
				ws_pong_ok++;
			continue;
		}
		ws_put_frame(fd, 9, true, "abcd", 4);
		size_t a = n / 3, c = n - 2 * a;
		ws_put_frame(fd, 1, false, p, a);
		ws_put_frame(fd, 0, false, p + a, a);
		ws_put_frame(fd, 10, true, "unsolicited", 11);
		ws_put_frame(fd, 0, true, p + 2 * a, c);
	}
}

static void test_ws(void)
{
	srv_handler = h_ws;
	ws_mode = 0;
	ws_pong_ok = 0;
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d", srv_port);
	struct xport *x = NULL;
	struct err e;
	const char *chosen = NULL;
	int rc = xport_ws_open(url, "hrana3, hrana2", NULL, 0, 5000, &x, &chosen, &e);
	if (rc)
		fprintf(stderr, "ws open: %s\n", e.msg);
	CHECK(rc == 0);
	if (!x)
		return;
	CHECK_STR(chosen, "hrana3");
	CHECK_STR(ws_proto_req, "hrana3, hrana2");
	size_t sizes[] = {3, 200, 66000};
	char *msg = malloc(66000);
	for (size_t i = 0; i < 66000; i++)
		msg[i] = (char)('a' + i % 26);
	struct buf in;
	buf_init(&in);
	for (size_t i = 0; i < 3; i++) {
		CHECK(xport_ws_send(x, msg, sizes[i], &e) == 0);
		in.len = 0;
		rc = xport_ws_recv(x, &in, &e);
		if (rc)
			fprintf(stderr, "ws recv: %s\n", e.msg);
		CHECK(rc == 0 && in.len == sizes[i] && !memcmp(in.p, msg, sizes[i]));
	}
	/* the server has seen our pongs by the time it echoes the next message */
	CHECK(xport_ws_send(x, "z", 1, &e) == 0);
	in.len = 0;
	CHECK(xport_ws_recv(x, &in, &e) == 0);
	CHECK(ws_pong_ok >= 3);
	free(msg);
	buf_free(&in);
	xport_close(x);
}

static void test_ws_failures(void)
{
	srv_handler = h_ws;
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d", srv_port);
	struct xport *x = NULL;
	struct err e;
	const char *chosen;
	ws_mode = 1;
	CHECK(xport_ws_open(url, "hrana3", NULL, 0, 2000, &x, &chosen, &e) == XPORT_E_CONNECT && !x);
	CHECK(strstr(e.msg, "Sec-WebSocket-Accept") != NULL);
	ws_mode = 2;
	CHECK(xport_ws_open(url, "hrana3", NULL, 0, 2000, &x, &chosen, &e) == XPORT_E_CONNECT && !x);
	CHECK(strstr(e.msg, "HTTP 400") && strstr(e.msg, "no such prot"));
	ws_mode = 3;
	CHECK(xport_ws_open(url, "hrana3", NULL, 0, 2000, &x, &chosen, &e) == 0);
	if (x) {
		struct buf in;
		buf_init(&in);
		CHECK(xport_ws_recv(x, &in, &e) == XPORT_E_IO);
		CHECK(strstr(e.msg, "code 1000: bye") != NULL);
		CHECK(xport_ws_send(x, "a", 1, &e) == XPORT_E_IO);
		buf_free(&in);
		xport_close(x);
	}
	/* libsql:// is wss://, or ws:// with ?tls=0 (which then needs a port) */
	ws_mode = 0;
	snprintf(url, sizeof url, "libsql://127.0.0.1:%d?tls=0", srv_port);
	CHECK(xport_ws_open(url, "hrana3", NULL, 0, 2000, &x, &chosen, &e) == 0 && x);
	xport_close(x);
	x = NULL;
	CHECK(xport_ws_open("libsql://127.0.0.1?tls=0", "hrana3", NULL, 0, 2000, &x, &chosen, &e) == XPORT_E_URL);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d", srv_port);
	/* offered a protocol the server does not pick */
	ws_mode = 0;
	CHECK(xport_ws_open(url, "hrana2", NULL, 0, 2000, &x, &chosen, &e) == XPORT_E_CONNECT);
	CHECK(xport_ws_open("http://127.0.0.1:1", "x", NULL, 0, 2000, &x, &chosen, &e) == XPORT_E_URL);
}

int main(void)
{
	alarm(120);
	T_RUN(test_head_parse);
	T_RUN(test_frame_parse);
	T_RUN(test_accept_key);
	srv_start();
	T_RUN(test_http_basic);
	T_RUN(test_http_reconnect);
	T_RUN(test_http_failures);
	T_RUN(test_http_stream);
	T_RUN(test_ws);
	T_RUN(test_ws_failures);
	srv_stop();
	return T_DONE();
}
