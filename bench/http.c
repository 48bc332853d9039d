/* http: Hrana over HTTP (PROTOCOL.md §4.2) on one keep-alive HTTP/1.1
 * connection. Each POST /v2/pipeline carries the baton of the previous
 * response, so all requests run on one stream (one SQLite connection in sqld),
 * like the WebSocket client's single stream. Responses may use Content-Length
 * or chunked transfer coding; anything but 200 ends the run. */
#include "bench.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static void rx_more(struct hc *h)
{
	if (h->rx_off && h->rx_off == h->rx.len)
		h->rx.len = h->rx_off = 0;
	else if (h->rx_off > (1u << 16)) {
		memmove(h->rx.p, h->rx.p + h->rx_off, h->rx.len - h->rx_off);
		h->rx.len -= h->rx_off;
		h->rx_off = 0;
	}
	bb_reserve(&h->rx, 65536);
	ssize_t k;
	do
		k = recv(h->fd, h->rx.p + h->rx.len, h->rx.cap - h->rx.len - 1, 0);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		die("http: connection %s", k < 0 ? strerror(errno) : "closed by sqld");
	h->rx.len += (size_t)k;
	h->rx.p[h->rx.len] = 0;
}

/* Offset (from rx_off) of the end of "\r\n" starting at or after from. */
static size_t need_line(struct hc *h, size_t from)
{
	for (;;) {
		char *s = memmem(h->rx.p + h->rx_off + from, h->rx.len - h->rx_off - from, "\r\n", 2);
		if (s)
			return (size_t)(s - (h->rx.p + h->rx_off)) + 2;
		rx_more(h);
	}
}

void hc_open(struct hc *h, int port)
{
	memset(h, 0, sizeof *h);
	h->port = port;
	h->fd = tcp_connect(port);
}

const char *hc_post(struct hc *h, const char *path, const char *ctype, const void *body, size_t n, size_t *len)
{
	h->tx.len = 0;
	bb_printf(&h->tx, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		  path, h->port, ctype, n);
	bb_add(&h->tx, body, n);
	write_all(h->fd, h->tx.p, h->tx.len);

	/* status line + headers */
	size_t eoh;
	for (;;) {
		char *s = h->rx.p ? memmem(h->rx.p + h->rx_off, h->rx.len - h->rx_off, "\r\n\r\n", 4) : NULL;
		if (s) {
			eoh = (size_t)(s - (h->rx.p + h->rx_off)) + 4;
			break;
		}
		rx_more(h);
	}
	const char *hd = h->rx.p + h->rx_off;
	if (strncmp(hd, "HTTP/1.1 200", 12) != 0)
		die("http: %.*s", (int)eoh, hd);
	long long clen = -1;
	bool chunked = false;
	for (const char *l = strstr(hd, "\r\n") + 2; l < hd + eoh - 2; l = strstr(l, "\r\n") + 2) {
		if (strncasecmp(l, "Content-Length:", 15) == 0)
			clen = atoll(l + 15);
		else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0 && strstr(l, "chunked") &&
			 strstr(l, "chunked") < strstr(l, "\r\n"))
			chunked = true;
		else if (strncasecmp(l, "Connection:", 11) == 0 && strncasecmp(l + 11, " close", 6) == 0)
			die("http: sqld closes the keep-alive connection");
	}
	h->rx_off += eoh;

	h->body.len = 0;
	if (chunked) {
		for (;;) {
			size_t le = need_line(h, 0);
			unsigned long sz = strtoul(h->rx.p + h->rx_off, NULL, 16);
			h->rx_off += le;
			if (sz == 0) {
				while (need_line(h, 0) != 2) /* trailers */
					h->rx_off += need_line(h, 0);
				h->rx_off += 2;
				break;
			}
			while (h->rx.len - h->rx_off < sz + 2)
				rx_more(h);
			bb_add(&h->body, h->rx.p + h->rx_off, sz);
			h->rx_off += sz + 2;
		}
	} else {
		if (clen < 0)
			die("http: response without Content-Length or chunked body");
		while (h->rx.len - h->rx_off < (size_t)clen)
			rx_more(h);
		h->body.len = 0;
		bb_add(&h->body, h->rx.p + h->rx_off, (size_t)clen);
		h->rx_off += (size_t)clen;
	}
	bb_reserve(&h->body, 1);
	h->body.p[h->body.len] = 0;
	*len = h->body.len;
	return h->body.p;
}

const char *hc_pipeline(struct hc *h, const char *requests_json, const char **end)
{
	static __thread struct bbuf req;
	req.len = 0;
	if (h->baton[0])
		bb_printf(&req, "{\"baton\":\"%s\",\"requests\":%s}", h->baton, requests_json);
	else
		bb_printf(&req, "{\"baton\":null,\"requests\":%s}", requests_json);
	size_t n;
	hc_post(h, "/v2/pipeline", "application/json", req.p, req.len, &n);

	const char *b = h->body.p, *e = b + h->body.len;
	const char *baton = js_get(b, e, "baton");
	if (!baton || js_is_null(baton, e) || !js_str_copy(baton, e, h->baton, sizeof h->baton))
		die("http: response without a usable baton: %.300s", b);
	const char *results = js_get(b, e, "results");
	if (!results)
		die("http: response without results: %.300s", b);
	*end = e;
	return results;
}

void hc_close(struct hc *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	bb_free(&h->rx);
	bb_free(&h->tx);
	bb_free(&h->body);
}
