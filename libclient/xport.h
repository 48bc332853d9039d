/* xport: blocking HTTP/1.1 and WebSocket client transports for libsqlwire
 * (http://, https://, ws://, wss://), TLS through OpenSSL with the system CA
 * store. Owned by one connection; not thread-safe on its own (the caller
 * serialises use of one xport). Every call has a timeout; a broken connection
 * is reopened once for idempotent HTTP requests.
 *
 * CONTRACT shared by libclient modules (remote.c, sync.c): do not change a
 * signature without updating every caller. */
#ifndef SQLWIRE_XPORT_H
#define SQLWIRE_XPORT_H
#include "buf.h"
#include "err.h"
#include <stddef.h>
#include <stdint.h>

struct xport;

/* Errors (negative): */
enum {
	XPORT_E_CONNECT = -1, /* cannot resolve / connect / TLS handshake */
	XPORT_E_IO = -2,      /* connection cut, timeout, malformed response */
	XPORT_E_URL = -3,     /* unsupported or malformed URL */
};

/* A keep-alive HTTP/1.1 client for base_url ("http://host:port[/prefix]",
 * "https://...", "libsql://host" = https). timeout_ms bounds every request. */
int xport_http_open(const char *base_url, int timeout_ms, struct xport **out, struct err *e);

struct xport_hdr {
	const char *name, *value;
};

/* POST path (appended to base_url's path) with body; extra headers (e.g.
 * "Authorization", "x-session-token"). Waits for the whole response.
 * *status = HTTP status; resp receives the (de-chunked) body, appended.
 * Returns 0 when a response arrived (whatever its status). */
int xport_http_post(struct xport *x, const char *path, const char *content_type, const void *body, size_t len,
		    const struct xport_hdr *hdrs, size_t nhdrs, int *status, struct buf *resp, struct err *e);

/* Streaming response: like xport_http_post, but calls on_data for each piece
 * of the body as it arrives (for gRPC-web server streams such as
 * LogEntries); on_data returns non-zero to stop reading (the connection is
 * then closed). Returns 0 at the end of the body or when on_data stopped. */
int xport_http_post_stream(struct xport *x, const char *path, const char *content_type, const void *body, size_t len,
			   const struct xport_hdr *hdrs, size_t nhdrs, int *status,
			   int (*on_data)(void *arg, const void *p, size_t n), void *arg, struct err *e);

/* A WebSocket to url ("ws://", "wss://", "libsql://" = wss) offering the
 * given subprotocols (comma list, e.g. "hrana3,hrana2"); *chosen gets the
 * server's pick (points into the xport). */
int xport_ws_open(const char *url, const char *subprotocols, const struct xport_hdr *hdrs, size_t nhdrs,
		  int timeout_ms, struct xport **out, const char **chosen, struct err *e);
/* Sends one text message. */
int xport_ws_send(struct xport *x, const void *p, size_t n, struct err *e);
/* Receives one whole message (text or binary, fragments joined), answering
 * pings on the way; appended to msg. */
int xport_ws_recv(struct xport *x, struct buf *msg, struct err *e);

/* The largest amount of memory x's buffers (receive, send, de-chunking)
 * held at once so far, bytes (tests and the sync module's accounting). */
size_t xport_mem_peak(const struct xport *x);

void xport_close(struct xport *x); /* accepts NULL */
#endif
