/* xport_int: what xport.c (connections, raw I/O, HTTP) shares with
 * xport_ws.c (WebSocket). Private to libclient/xport*.c. */
#ifndef SQLWIRE_XPORT_INT_H
#define SQLWIRE_XPORT_INT_H
#include "xport.h"
#include "xport_parse.h"
#include <openssl/ssl.h>
#include <stdbool.h>

#define XPORT_MAX_MSG ((size_t)256 << 20) /* WebSocket message / HTTP body cap */

struct xport {
	int fd;
	SSL *ssl;
	bool tls, ws, broken;
	char *host;   /* without brackets */
	char *prefix; /* base path without trailing '/' ("" for none) */
	char hosthdr[300];
	char port[8];
	int timeout_ms;
	uint64_t deadline; /* ms on CLOCK_MONOTONIC, 0: none */
	unsigned nreq;     /* requests on this connection (HTTP) */
	bool idle_timeout; /* re-arm the deadline after every read (streams) */
	bool blocking;     /* plain TCP after connect: blocking I/O bounded by SO_RCVTIMEO / SO_SNDTIMEO */
	struct buf rx;
	size_t rx_off;
	struct buf tx;
	uint64_t rng;
	char chosen[64];
	size_t mem_peak;   /* see xport_mem_peak */
};

struct xport_sink_buf {
	struct buf *b;
	size_t start;
	bool too_big;
};

/* A new, unconnected xport (NULL on out of memory). */
struct xport *xport_new(int timeout_ms);
/* Sets the deadline of the current call from timeout_ms. */
void xport_arm(struct xport *x);
/* Fills host, port, prefix, tls from url (want_ws: ws/wss/libsql schemes). */
int xport_url(struct xport *x, const char *url, bool want_ws, struct err *e);
/* TCP (TCP_NODELAY) and, for TLS, the verified handshake. */
int xport_connect(struct xport *x, struct err *e);
/* Writes all of data; XPORT_E_IO (and x->broken) on failure. */
int xport_write(struct xport *x, const void *data, size_t n, struct err *e);
/* Appends what arrives to x->rx: > 0 bytes read, 0 end of stream, < 0 error. */
long xport_read(struct xport *x, struct err *e);
/* Marks x broken and reports the connection closed `what`; XPORT_E_IO. */
int xport_cut(struct xport *x, struct err *e, const char *what);
/* Reads and consumes one response head (skipping 1xx but 101). */
int xport_read_head(struct xport *x, struct xp_head *h, bool *got_any, struct err *e);
/* Reads the body after h, piece by piece into sink (non-zero: stop).
 * Returns 0, 1 (stopped) or an error. */
int xport_http_body(struct xport *x, const struct xp_head *h, int (*sink)(void *arg, const void *p, size_t n),
		    void *arg, struct err *e);
/* A sink appending to a struct xport_sink_buf's buffer, up to XPORT_MAX_MSG. */
int xport_sink_to_buf(void *arg, const void *p, size_t n);
#endif
