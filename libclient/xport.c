/* xport: blocking HTTP/1.1 (keep-alive) and WebSocket (RFC 6455, client side)
 * transports over plain TCP or TLS (OpenSSL, system CA store, hostname
 * verification). See xport.h for the contract. This file: URLs, connecting,
 * TLS, raw I/O and HTTP; xport_ws.c: WebSocket; xport_parse.c: the pure
 * parsers.
 *
 * Invariants: connecting and TLS use a non-blocking socket and poll()
 * against the deadline of the current call (timeout_ms <= 0: no deadline);
 * a plain TCP connection then turns blocking with SO_RCVTIMEO/SO_SNDTIMEO =
 * timeout_ms (one recv per answer, the fewest system calls on a round trip)
 * and the deadline is checked between reads.
 * Received bytes not yet consumed live in x->rx from x->rx_off on (a response
 * may be followed by the next frame). A request or a WebSocket message is
 * written with one write call (TCP_NODELAY is on). After an I/O error the
 * connection is marked broken: HTTP reopens it on the next request, a
 * WebSocket stays failed.
 * Threads: one thread at a time per xport; the shared SSL_CTX is created once
 * (pthread_once) and is thread-safe. */
#include "xport_int.h"
#include "chunked.h"
#include "xport_parse.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---------------- TLS context ---------------- */

static pthread_once_t xport_tls_once = PTHREAD_ONCE_INIT;
static SSL_CTX *xport_tls_ctx;

static void xport_tls_init(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	if (!c)
		return;
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	/* the system store; SSL_CERT_FILE / SSL_CERT_DIR override it */
	if (SSL_CTX_set_default_verify_paths(c) != 1) {
		SSL_CTX_free(c);
		return;
	}
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	xport_tls_ctx = c;
}

/* ---------------- time and waiting ---------------- */

static uint64_t xport_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void xport_arm(struct xport *x)
{
	x->deadline = x->timeout_ms > 0 ? xport_now_ms() + (uint64_t)x->timeout_ms : 0;
}

/* Waits until fd is readable/writable. 0, or -1 on timeout / poll error. */
static int xport_wait(struct xport *x, short ev, struct err *e)
{
	for (;;) {
		int ms = -1;
		if (x->deadline) {
			uint64_t now = xport_now_ms();
			if (now >= x->deadline)
				return err_set(e, "timed out after %d ms", x->timeout_ms);
			ms = (int)(x->deadline - now);
		}
		struct pollfd p = {.fd = x->fd, .events = ev};
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r == 0)
			continue; /* the deadline check above reports it */
		if (errno != EINTR)
			return err_set(e, "poll: %s", strerror(errno));
	}
}

/* OpenSSL writes to the socket with write(), which raises SIGPIPE when the
 * peer is gone; a library must not kill its host for that. SIGPIPE is
 * blocked around each OpenSSL call and a SIGPIPE it caused is consumed
 * (plain TCP uses send(MSG_NOSIGNAL) instead). */
struct xport_sigpipe {
	sigset_t old;
	bool was_pending;
};

static void xport_sigpipe_block(struct xport_sigpipe *g)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void xport_sigpipe_restore(struct xport_sigpipe *g)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---------------- URLs and connecting ---------------- */

/* Splits scheme://[user@]host[:port][/path][?query]. tls / ws from the
 * scheme; want_ws picks libsql:// 's meaning. "?tls=0" on libsql:// means
 * plain TCP (as libSQL clients read it). */
int xport_url(struct xport *x, const char *url, bool want_ws, struct err *e)
{
	const char *p = strstr(url, "://");
	if (!p)
		return err_set(e, "not a URL: %s", url), XPORT_E_URL;
	size_t sl = (size_t)(p - url);
	const char *defport;
	if (sl == 4 && !strncasecmp(url, "http", 4) && !want_ws)
		x->tls = false, defport = "80";
	else if (sl == 5 && !strncasecmp(url, "https", 5) && !want_ws)
		x->tls = true, defport = "443";
	else if (sl == 2 && !strncasecmp(url, "ws", 2) && want_ws)
		x->tls = false, defport = "80";
	else if (sl == 3 && !strncasecmp(url, "wss", 3) && want_ws)
		x->tls = true, defport = "443";
	else if (sl == 6 && !strncasecmp(url, "libsql", 6))
		x->tls = true, defport = "443";
	else
		return err_set(e, "unsupported URL scheme for %s: %.*s", want_ws ? "WebSocket" : "HTTP", (int)sl, url),
		       XPORT_E_URL;
	p += 3;
	const char *end = p + strcspn(p, "/?#");
	const char *at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	const char *hs = p, *he, *ps = NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return err_set(e, "bad IPv6 host in %s", url), XPORT_E_URL;
		hs = p + 1;
		he = rb;
		if (rb + 1 < end && rb[1] == ':')
			ps = rb + 2;
		else if (rb + 1 != end)
			return err_set(e, "bad host in %s", url), XPORT_E_URL;
	} else {
		const char *c = memchr(p, ':', (size_t)(end - p));
		he = c ? c : end;
		if (c)
			ps = c + 1;
	}
	if (he == hs || he - hs > 255)
		return err_set(e, "no host in %s", url), XPORT_E_URL;
	if (ps) {
		size_t pl = (size_t)(end - ps);
		if (pl == 0 || pl > 5 || strspn(ps, "0123456789") < pl || atoi(ps) == 0 || atoi(ps) > 65535)
			return err_set(e, "bad port in %s", url), XPORT_E_URL;
		memcpy(x->port, ps, pl);
		x->port[pl] = 0;
	} else {
		strcpy(x->port, defport);
	}
	const char *q = end + strcspn(end, "?#");
	if (*q == '?' && sl == 6) { /* libsql://host?tls=0 */
		const char *t = strstr(q, "tls=0");
		if (t && (t[-1] == '?' || t[-1] == '&') && (t[5] == 0 || t[5] == '&' || t[5] == '#')) {
			x->tls = false;
			if (!ps)
				return err_set(e, "libsql:// with tls=0 needs a port: %s", url), XPORT_E_URL;
		}
	}
	x->host = strndup(hs, (size_t)(he - hs));
	size_t pl = (size_t)(q - end);
	while (pl > 0 && end[pl - 1] == '/')
		pl--;
	x->prefix = strndup(end, pl);
	if (!x->host || !x->prefix)
		return err_set(e, "out of memory"), XPORT_E_CONNECT;
	bool v6 = strchr(x->host, ':') != NULL;
	bool defp = !strcmp(x->port, x->tls ? "443" : "80");
	snprintf(x->hosthdr, sizeof x->hosthdr, "%s%s%s%s%s", v6 ? "[" : "", x->host, v6 ? "]" : "", defp ? "" : ":",
		 defp ? "" : x->port);
	return 0;
}

static int xport_tls_start(struct xport *x, struct err *e)
{
	pthread_once(&xport_tls_once, xport_tls_init);
	if (!xport_tls_ctx)
		return err_set(e, "TLS: cannot set up OpenSSL with the system CA store"), XPORT_E_CONNECT;
	x->ssl = SSL_new(xport_tls_ctx);
	if (!x->ssl || SSL_set_fd(x->ssl, x->fd) != 1)
		return err_set(e, "TLS: out of memory"), XPORT_E_CONNECT;
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, x->host, &a4) == 1 || inet_pton(AF_INET6, x->host, &a6) == 1;
	if (ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(x->ssl), x->host) != 1)
			return err_set(e, "TLS: bad IP address %s", x->host), XPORT_E_CONNECT;
	} else {
		SSL_set_tlsext_host_name(x->ssl, x->host);
		if (SSL_set1_host(x->ssl, x->host) != 1)
			return err_set(e, "TLS: bad host name %s", x->host), XPORT_E_CONNECT;
	}
	for (;;) {
		ERR_clear_error();
		struct xport_sigpipe g;
		xport_sigpipe_block(&g);
		int r = SSL_connect(x->ssl);
		xport_sigpipe_restore(&g);
		if (r == 1)
			return 0;
		int se = SSL_get_error(x->ssl, r);
		if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
			if (xport_wait(x, se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, e) != 0)
				return XPORT_E_CONNECT;
			continue;
		}
		long vr = SSL_get_verify_result(x->ssl);
		if (vr != X509_V_OK)
			err_set(e, "TLS handshake with %s failed: certificate verification: %s", x->host,
				X509_verify_cert_error_string(vr));
		else {
			char buf[256];
			ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
			err_set(e, "TLS handshake with %s failed: %s", x->host, ERR_peek_last_error() ? buf : "connection closed");
		}
		return XPORT_E_CONNECT;
	}
}

static void xport_disconnect(struct xport *x)
{
	if (x->ssl) {
		SSL_free(x->ssl);
		x->ssl = NULL;
	}
	if (x->fd >= 0) {
		close(x->fd);
		x->fd = -1;
	}
	x->rx.len = 0;
	x->rx_off = 0;
	x->nreq = 0;
	x->broken = false;
	x->blocking = false;
}

int xport_connect(struct xport *x, struct err *e)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	int gr = getaddrinfo(x->host, x->port, &hints, &res);
	if (gr != 0)
		return err_set(e, "cannot resolve %s: %s", x->host, gai_strerror(gr)), XPORT_E_CONNECT;
	int rc = XPORT_E_CONNECT;
	char why[sizeof(struct err)] = "no address";
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, sizeof why, "socket: %s", strerror(errno));
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		x->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				snprintf(why, sizeof why, "%s", strerror(errno));
				close(fd);
				x->fd = -1;
				continue;
			}
			struct err we;
			if (xport_wait(x, POLLOUT, &we) != 0) {
				snprintf(why, sizeof why, "%s", we.msg);
				close(fd);
				x->fd = -1;
				continue;
			}
			int soe = 0;
			socklen_t sl = sizeof soe;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soe, &sl);
			if (soe) {
				snprintf(why, sizeof why, "%s", strerror(soe));
				close(fd);
				x->fd = -1;
				continue;
			}
		}
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	if (rc != 0)
		return err_set(e, "cannot connect to %s:%s: %s", x->host, x->port, why), rc;
	if (x->tls && (rc = xport_tls_start(x, e)) != 0) {
		xport_disconnect(x);
		return rc;
	}
	if (!x->tls) {
		/* one blocking recv per answer instead of recv (EAGAIN), poll, recv:
		 * fewer system calls on the round trip that matters; each wait is
		 * bounded by the socket timeouts, the whole call by the deadline
		 * checked between reads */
		int fl = fcntl(x->fd, F_GETFL);
		struct timeval tv = {.tv_sec = x->timeout_ms / 1000, .tv_usec = (x->timeout_ms % 1000) * 1000};
		if (x->timeout_ms <= 0)
			tv.tv_sec = tv.tv_usec = 0;
		if (fl >= 0 && fcntl(x->fd, F_SETFL, fl & ~O_NONBLOCK) == 0 &&
		    setsockopt(x->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
		    setsockopt(x->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0)
			x->blocking = true;
		else if (fl >= 0)
			fcntl(x->fd, F_SETFL, fl | O_NONBLOCK);
	}
	return 0;
}

/* ---------------- raw I/O ---------------- */

int xport_write(struct xport *x, const void *data, size_t n, struct err *e)
{
	const char *p = data;
	while (n) {
		ssize_t k;
		short ev = POLLOUT;
		if (x->ssl) {
			ERR_clear_error();
			struct xport_sigpipe g;
			xport_sigpipe_block(&g);
			int r = SSL_write(x->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			xport_sigpipe_restore(&g);
			if (r > 0) {
				k = r;
			} else {
				int se = SSL_get_error(x->ssl, r);
				if (se != SSL_ERROR_WANT_READ && se != SSL_ERROR_WANT_WRITE)
					goto broken;
				ev = se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
				k = -1;
			}
		} else {
			k = send(x->fd, p, n, MSG_NOSIGNAL);
			if (k < 0 && errno != EAGAIN && errno != EINTR)
				goto broken;
			if (k < 0 && errno == EAGAIN && x->blocking) {
				x->broken = true;
				return err_set(e, "timed out after %d ms", x->timeout_ms), XPORT_E_IO;
			}
			if (k < 0 && errno == EINTR)
				continue;
		}
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (xport_wait(x, ev, e) != 0) {
			x->broken = true;
			return XPORT_E_IO;
		}
	}
	return 0;
broken:
	x->broken = true;
	return err_set(e, "connection to %s:%s cut while sending", x->host, x->port), XPORT_E_IO;
}

/* Reads what is available (waiting for at least one byte) into x->rx.
 * Returns the number of bytes read, 0 at end of stream, <0 on error. */
long xport_read(struct xport *x, struct err *e)
{
	if (x->rx_off && x->rx_off == x->rx.len)
		x->rx.len = x->rx_off = 0;
	else if (x->rx_off > 65536 && x->rx_off * 2 > x->rx.len) {
		buf_consume(&x->rx, x->rx_off);
		x->rx_off = 0;
	}
	buf_reserve(&x->rx, 16384);
	if (x->rx.cap + x->tx.cap > x->mem_peak)
		x->mem_peak = x->rx.cap + x->tx.cap;
	size_t room = x->rx.cap - x->rx.len - 1;
	if (x->blocking && x->deadline && xport_now_ms() >= x->deadline) {
		x->broken = true;
		return err_set(e, "timed out after %d ms", x->timeout_ms), XPORT_E_IO;
	}
	for (;;) {
		short ev = POLLIN;
		if (x->ssl) {
			ERR_clear_error();
			struct xport_sigpipe g;
			xport_sigpipe_block(&g);
			int r = SSL_read(x->ssl, x->rx.p + x->rx.len, room > INT32_MAX ? INT32_MAX : (int)room);
			xport_sigpipe_restore(&g);
			if (r > 0) {
				x->rx.len += (size_t)r;
				x->rx.p[x->rx.len] = 0;
				if (x->idle_timeout)
					xport_arm(x);
				return r;
			}
			int se = SSL_get_error(x->ssl, r);
			if (se == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (se == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
				return 0; /* EOF without close_notify: treat as a cut */
			if (se != SSL_ERROR_WANT_READ && se != SSL_ERROR_WANT_WRITE) {
				x->broken = true;
				return err_set(e, "TLS read from %s failed", x->host), XPORT_E_IO;
			}
			ev = se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		} else {
			ssize_t k = recv(x->fd, x->rx.p + x->rx.len, room, 0);
			if (k > 0) {
				x->rx.len += (size_t)k;
				x->rx.p[x->rx.len] = 0;
				if (x->idle_timeout)
					xport_arm(x);
				return k;
			}
			if (k == 0)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && x->blocking) {
				x->broken = true;
				return err_set(e, "timed out after %d ms", x->timeout_ms), XPORT_E_IO;
			}
			if (errno != EAGAIN) {
				x->broken = true;
				return err_set(e, "connection to %s:%s: %s", x->host, x->port, strerror(errno)),
				       XPORT_E_IO;
			}
		}
		if (xport_wait(x, ev, e) != 0) {
			x->broken = true;
			return XPORT_E_IO;
		}
	}
}

int xport_cut(struct xport *x, struct err *e, const char *what)
{
	x->broken = true;
	return err_set(e, "connection to %s:%s closed %s", x->host, x->port, what), XPORT_E_IO;
}

/* Reads until a whole response head is in rx; fills h and consumes it. */
int xport_read_head(struct xport *x, struct xp_head *h, bool *got_any, struct err *e)
{
	for (;;) {
		long hl = xp_head_parse(x->rx.p + x->rx_off, x->rx.len - x->rx_off, h);
		if (hl < 0) {
			x->broken = true;
			return err_set(e, "malformed HTTP response from %s:%s", x->host, x->port), XPORT_E_IO;
		}
		if (hl > 0) {
			x->rx_off += (size_t)hl;
			if (h->status >= 100 && h->status < 200 && h->status != 101)
				continue; /* 100 Continue and friends */
			return 0;
		}
		long r = xport_read(x, e);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return xport_cut(x, e, "before a response");
		*got_any = true;
	}
}

struct xport *xport_new(int timeout_ms)
{
	struct xport *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->fd = -1;
	x->timeout_ms = timeout_ms;
	buf_init(&x->rx);
	buf_init(&x->tx);
	if (getrandom(&x->rng, sizeof x->rng, 0) != sizeof x->rng)
		x->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)x;
	x->rng |= 1;
	return x;
}

void xport_close(struct xport *x)
{
	if (!x)
		return;
	if (x->ws && x->fd >= 0 && !x->broken) {
		/* a best-effort close frame (1000); we do not wait for the echo */
		uint8_t f[8], mask[4] = {0, 0, 0, 0};
		size_t hl = xp_frame_header(f, XP_OP_CLOSE, true, 2, mask);
		f[hl] = 0x03;
		f[hl + 1] = 0xe8;
		x->timeout_ms = 200;
		xport_arm(x);
		struct err e;
		xport_write(x, f, hl + 2, &e);
	}
	xport_disconnect(x);
	free(x->host);
	free(x->prefix);
	buf_free(&x->rx);
	buf_free(&x->tx);
	free(x);
}

/* ---------------- HTTP ---------------- */

int xport_http_open(const char *base_url, int timeout_ms, struct xport **out, struct err *e)
{
	*out = NULL;
	struct xport *x = xport_new(timeout_ms);
	if (!x)
		return err_set(e, "out of memory"), XPORT_E_CONNECT;
	int rc = xport_url(x, base_url, false, e);
	if (rc == 0) {
		xport_arm(x);
		rc = xport_connect(x, e);
	}
	if (rc != 0) {
		xport_close(x);
		return rc;
	}
	*out = x;
	return 0;
}

static void xport_http_request(struct xport *x, const char *path, const char *ctype, const void *body, size_t len,
			       const struct xport_hdr *hdrs, size_t nhdrs)
{
	x->tx.len = 0;
	buf_printf(&x->tx, "POST %s%s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n", x->prefix,
		   path[0] == '/' ? "" : "/", path, x->hosthdr, len);
	if (ctype)
		buf_printf(&x->tx, "Content-Type: %s\r\n", ctype);
	for (size_t i = 0; i < nhdrs; i++)
		buf_printf(&x->tx, "%s: %s\r\n", hdrs[i].name, hdrs[i].value);
	buf_put(&x->tx, "\r\n", 2);
	buf_put(&x->tx, body, len);
}

/* Sends the prepared request and reads the response head, reconnecting once
 * when a kept-alive connection turns out to be closed before any answer. */
static int xport_http_exchange(struct xport *x, struct xp_head *h, struct err *e)
{
	for (int attempt = 0;; attempt++) {
		bool reused = x->nreq > 0;
		if (x->broken || x->fd < 0) {
			xport_disconnect(x);
			int rc = xport_connect(x, e);
			if (rc != 0)
				return rc;
			reused = false;
		}
		bool got_any = x->rx.len > x->rx_off;
		int rc = xport_write(x, x->tx.p, x->tx.len, e);
		if (rc == 0)
			rc = xport_read_head(x, h, &got_any, e);
		if (rc == 0) {
			x->nreq++;
			return 0;
		}
		if (!reused || got_any || attempt > 0)
			return rc;
		x->broken = true; /* the server closed an idle connection: once more */
	}
}

/* Reads the body after h, giving each piece to sink; sink returns non-zero to
 * stop. Returns 0, 1 (stopped), or an error. */
int xport_http_body(struct xport *x, const struct xp_head *h,
			   int (*sink)(void *arg, const void *p, size_t n), void *arg, struct err *e)
{
	bool until_close = !h->chunked && h->content_length < 0 && h->status != 204 && h->status != 304;
	if (h->chunked) {
		struct chunked ch;
		chunked_init(&ch);
		struct buf piece;
		buf_init(&piece);
		int rc = 0;
		for (;;) {
			size_t used = 0, avail = x->rx.len - x->rx_off;
			int r = avail ? chunked_feed(&ch, x->rx.p + x->rx_off, avail, &piece, &used) : 0;
			if (r < 0) {
				x->broken = true;
				rc = (err_set(e, "malformed chunked body from %s:%s", x->host, x->port), XPORT_E_IO);
				break;
			}
			x->rx_off += r == 1 ? used : avail;
			if (piece.len) {
				if (x->rx.cap + x->tx.cap + piece.cap > x->mem_peak)
					x->mem_peak = x->rx.cap + x->tx.cap + piece.cap;
				if (sink(arg, piece.p, piece.len)) {
					rc = 1;
					break;
				}
				piece.len = 0;
			}
			if (r == 1)
				break;
			long k = xport_read(x, e);
			if (k < 0) {
				rc = (int)k;
				break;
			}
			if (k == 0) {
				rc = xport_cut(x, e, "in the middle of a chunked body");
				break;
			}
		}
		buf_free(&piece);
		return rc;
	}
	uint64_t left = h->content_length > 0 ? (uint64_t)h->content_length : 0;
	for (;;) {
		size_t avail = x->rx.len - x->rx_off;
		size_t take = until_close ? avail : (avail < left ? avail : (size_t)left);
		if (take) {
			const char *p = x->rx.p + x->rx_off;
			x->rx_off += take;
			left -= take;
			if (sink(arg, p, take))
				return 1;
		}
		if (!until_close && left == 0)
			return 0;
		long k = xport_read(x, e);
		if (k < 0)
			return (int)k;
		if (k == 0) {
			if (until_close) {
				x->broken = true; /* the connection is done */
				return 0;
			}
			return xport_cut(x, e, "in the middle of a response body");
		}
	}
}


size_t xport_mem_peak(const struct xport *x)
{
	return x ? x->mem_peak : 0;
}

int xport_sink_to_buf(void *arg, const void *p, size_t n)
{
	struct xport_sink_buf *s = arg;
	if (s->b->len - s->start + n > XPORT_MAX_MSG) {
		s->too_big = true;
		return 1;
	}
	buf_put(s->b, p, n);
	return 0;
}

int xport_http_post(struct xport *x, const char *path, const char *content_type, const void *body, size_t len,
		    const struct xport_hdr *hdrs, size_t nhdrs, int *status, struct buf *resp, struct err *e)
{
	xport_arm(x);
	xport_http_request(x, path, content_type, body, len, hdrs, nhdrs);
	struct xp_head h;
	int rc = xport_http_exchange(x, &h, e);
	if (rc != 0)
		return rc;
	*status = h.status;
	struct xport_sink_buf s = {.b = resp, .start = resp->len};
	rc = xport_http_body(x, &h, xport_sink_to_buf, &s, e);
	if (rc == 1) {
		x->broken = true;
		return err_set(e, "response from %s:%s larger than %zu bytes", x->host, x->port, XPORT_MAX_MSG),
		       XPORT_E_IO;
	}
	if (rc == 0 && h.conn_close)
		x->broken = true; /* reconnect for the next request */
	return rc;
}

int xport_http_post_stream(struct xport *x, const char *path, const char *content_type, const void *body, size_t len,
			   const struct xport_hdr *hdrs, size_t nhdrs, int *status,
			   int (*on_data)(void *arg, const void *p, size_t n), void *arg, struct err *e)
{
	xport_arm(x);
	xport_http_request(x, path, content_type, body, len, hdrs, nhdrs);
	struct xp_head h;
	int rc = xport_http_exchange(x, &h, e);
	if (rc != 0)
		return rc;
	*status = h.status;
	/* a streaming body may go on for long: the timeout bounds each wait */
	x->idle_timeout = true;
	rc = xport_http_body(x, &h, on_data, arg, e);
	x->idle_timeout = false;
	if (rc == 1) { /* stopped by the caller: the rest of the body is unread */
		x->broken = true;
		return 0;
	}
	if (rc == 0 && h.conn_close)
		x->broken = true;
	return rc;
}
