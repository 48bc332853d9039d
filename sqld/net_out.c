/* net_out: the HTTP response side of net (net_int.h): queueing a whole
 * response or a piece of a streamed one (sess's Hrana answers, repl's
 * gRPC-web answers, dump's SQL text), CORS headers, and the writer that
 * sends headers and then the buffered body in pieces of at most NET_CHUNK
 * bytes from the writeable callback. N.out_bytes counts what is buffered
 * and not yet written. Service thread. */
#include "net_int.h"
#include "dump.h"
#include "grpcweb.h"
#include "hjson.h"
#include "hpb.h"
#include "metrics.h"
#include "ns.h"
#include "repl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_CHUNK (256 * 1024)
#define NET_SMALL_BODY (16 * 1024) /* answers up to this leave in one write with their head */

/* ---- HTTP responses ---- */

int net_cors(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	char hdrs[512] = "*";
	int n = lws_hdr_custom_copy(wsi, hdrs, sizeof hdrs, "access-control-request-headers:", 31);
	if (n <= 0)
		strcpy(hdrs, "*");
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-origin:",
					(const unsigned char *)"*", 1, p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-methods:",
					(const unsigned char *)"GET, POST, PUT, DELETE, OPTIONS", 31, p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-headers:",
					(const unsigned char *)hdrs, (int)strlen(hdrs), p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-max-age:",
					(const unsigned char *)"86400", 5, p, end))
		return -1;
	return 0;
}

/* Queues a complete response; written from the writeable callback. */
void net_reply(struct net_conn *c, int status, const char *ctype, const char *body, size_t n)
{
	c->status = status;
	c->ctype = ctype;
	buf_put(&c->out, body, n);
	N.out_bytes += n;
	c->out_final = true;
	lws_callback_on_writable(c->wsi);
}

void net_reply_text(struct net_conn *c, int status, const char *text)
{
	net_reply(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

void net_reply_generic(struct net_conn *c, int status, const char *msg)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "{\"error\":");
	hjson_put_str(&b, msg, strlen(msg));
	buf_putc(&b, '}');
	net_reply(c, status, "application/json", b.p, b.len);
	buf_free(&b);
}

/* A gRPC-web error found by net itself: HTTP 200, trailers-only body. */
void net_reply_grpc(struct net_conn *c, int status, const char *msg)
{
	struct buf b;
	buf_init(&b);
	grpcweb_encode_trailers(&b, status, msg);
	net_reply(c, 200, "application/grpc-web+proto", b.p, b.len);
	buf_free(&b);
}

void net_repl_forget(struct net_conn *c)
{
	free(c->rpath);
	free(c->md_token);
	free(c->md_ns);
	free(c->md_auth);
	c->rpath = c->md_token = c->md_ns = c->md_auth = NULL;
}

/* A body made in pieces (repl, dump): the whole body (more == false on the
 * first piece) or one piece of a stream, sent chunked. */
static void net_stream_out(struct net_conn *c, const char *ctype, const void *p, size_t n, bool more)
{
	if (!c->status) {
		c->status = 200;
		c->ctype = ctype;
		if (!more) {
			buf_put(&c->out, p, n);
			N.out_bytes += n;
			c->out_final = true;
			lws_callback_on_writable(c->wsi);
			return;
		}
		c->chunked = true;
		/* a stream may stay quiet for long: no lws timeout on it */
		lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	}
	size_t before = c->out.len;
	if (n) {
		buf_printf(&c->out, "%zx\r\n", n);
		buf_put(&c->out, p, n);
		buf_puts(&c->out, "\r\n");
	}
	if (!more)
		buf_puts(&c->out, "0\r\n\r\n");
	N.out_bytes += c->out.len - before;
	c->want_continue = more;
	c->out_final = !more;
	lws_callback_on_writable(c->wsi);
}

/* repl answers a gRPC-web call. */
void net_repl_out(void *owner, const void *p, size_t n, bool more)
{
	struct net_conn *c = owner;
	if (!more)
		c->rcall = NULL; /* the handle dies with its last piece */
	net_stream_out(c, "application/grpc-web+proto", p, n, more);
}

/* dump sends a piece of GET /dump. */
void net_dump_out(void *owner, const void *p, size_t n, bool more)
{
	struct net_conn *c = owner;
	if (!more)
		c->dcall = NULL;
	if (!c->status) {
		/* always chunked: the size is not known up front */
		c->status = 200;
		c->ctype = "text/plain; charset=utf-8";
		c->chunked = true;
		lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	}
	net_stream_out(c, c->ctype, p, n, more);
}

struct ns *net_owner_ns(void *owner)
{
	return ((struct net_conn *)owner)->ns;
}

/* A whole unary body, taken rather than copied when nothing is buffered. */
void net_repl_out_buf(void *owner, struct buf *b)
{
	struct net_conn *c = owner;
	if (c->status || c->out.len) {
		net_repl_out(owner, b->p, b->len, false);
		buf_free(b);
		return;
	}
	c->rcall = NULL;
	c->status = 200;
	c->ctype = "application/grpc-web+proto";
	buf_free(&c->out);
	c->out = *b;
	c->out_off = 0;
	buf_init(b);
	N.out_bytes += c->out.len;
	c->out_final = true;
	lws_callback_on_writable(c->wsi);
}

/* The piece before is written: ask for the next one. */
static void net_http_continue(struct net_conn *c)
{
	if (!c->want_continue)
		return;
	c->want_continue = false;
	if (c->call)
		sess_call_continue(c->call);
	else if (c->rcall)
		repl_continue(c->rcall);
	else if (c->dcall)
		dump_continue(c->dcall);
}

/* sess answers an HTTP call. */
void net_http_out(void *owner, const struct sess_http_out *o)
{
	struct net_conn *c = owner;
	struct buf b;
	buf_init(&b);
	const char *ctype = "application/json";
	if (!o->more)
		c->call = NULL; /* the handle dies with its last answer */
	if (o->status >= 400) {
		char code[32];
		snprintf(code, sizeof code, "HTTP_%d", o->status);
		metrics_error(o->error && o->error->code ? o->error->code : code);
	}
	if (o->text) {
		net_reply_text(c, o->status, o->text);
		return;
	}
	if (o->generic_error) {
		net_reply_generic(c, o->status, o->generic_error);
		return;
	}
	if (c->pb && (o->error || o->pipeline)) {
		ctype = "application/x-protobuf";
		if (o->error)
			hpb_encode_error(&b, o->error);
		else
			hpb_encode_pipeline_resp(&b, o->pipeline);
	} else if (o->error)
		hjson_encode_error(&b, o->error);
	else if (o->pipeline)
		hjson_encode_pipeline_resp(&b, o->pipeline);
	else if (o->v1_execute)
		hjson_encode_v1_execute_resp(&b, o->v1_execute);
	else if (o->v1_batch)
		hjson_encode_v1_batch_resp(&b, o->v1_batch);
	else if (o->legacy)
		hjson_encode_legacy_resp(&b, o->legacy);
	else {
		/* a cursor chunk: NDJSON or length-delimited protobuf, sent
		 * with chunked transfer encoding */
		struct buf lines;
		buf_init(&lines);
		if (o->cursor_head) {
			if (c->pb)
				hpb_encode_cursor_resp_delim(&lines, o->cursor_head);
			else {
				hjson_encode_cursor_resp(&lines, o->cursor_head);
				buf_putc(&lines, '\n');
			}
		}
		for (size_t i = 0; i < o->nentries; i++) {
			if (c->pb)
				hpb_encode_cursor_entry_delim(&lines, &o->entries[i]);
			else {
				hjson_encode_cursor_entry(&lines, &o->entries[i]);
				buf_putc(&lines, '\n');
			}
		}
		if (lines.len) {
			buf_printf(&b, "%zx\r\n", lines.len);
			buf_put(&b, lines.p, lines.len);
			buf_puts(&b, "\r\n");
		}
		if (!o->more)
			buf_puts(&b, "0\r\n\r\n");
		buf_free(&lines);
		c->status = 200;
		c->ctype = c->pb ? "application/octet-stream" : "text/plain";
		c->chunked = true;
		c->want_continue = o->more;
		c->out_final = !o->more;
		buf_put(&c->out, b.p, b.len);
		N.out_bytes += b.len;
		buf_free(&b);
		lws_callback_on_writable(c->wsi);
		return;
	}
	net_reply(c, o->status, ctype, b.p, b.len);
	buf_free(&b);
}

/* Whether the connection must close after this response. lws 4.1 has no
 * notion of chunked request bodies: a POST without content-length is taken
 * to have a 100 MB body, and lws_http_transaction_completed then goes to
 * LRS_DISCARD_BODY and swallows the next request as the rest of it (seen
 * with lws debug logs). So a chunked request body costs its connection.
 * Replicas send every gRPC-web call chunked (REPLICA_TRAFFIC.md): each call
 * gets a fresh connection; hyper handles `connection: close` fine. */
static bool net_must_close(const struct net_conn *c)
{
	return c->body_chunked;
}

/* Writes headers, then the buffered body in pieces. Returns -1 to close. */
int net_http_write(struct net_conn *c)
{
	struct lws *wsi = c->wsi;
	if (!c->headers_sent) {
		if (!c->status)
			return 0;
		unsigned char hb[LWS_PRE + 2048], *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
		lws_filepos_t clen = c->chunked ? LWS_ILLEGAL_HTTP_CONTENT_LEN : (lws_filepos_t)(c->out.len - c->out_off);
		if (lws_add_http_common_headers(wsi, (unsigned)c->status, c->ctype, clen, &p, end) ||
		    net_cors(wsi, &p, end))
			return -1;
		if (c->chunked && lws_add_http_header_by_name(wsi, (const unsigned char *)"transfer-encoding:",
							       (const unsigned char *)"chunked", 7, &p, end))
			return -1;
		/* after a chunked request body lws cannot find the next request:
		 * answer it and close the connection (net_must_close); a client
		 * must hear it also after a chunked (streamed) answer, which a
		 * large BatchLogEntries now is */
		if (net_must_close(c) &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:", (const unsigned char *)"close",
						5, &p, end))
			return -1;
		size_t left = c->out.len - c->out_off;
		if (!c->chunked && c->out_final && left <= NET_SMALL_BODY) {
			/* a small whole answer goes out with its head in one write:
			 * one segment, one wake-up of the client, no second trip
			 * through the loop (lws counts the body against the
			 * content-length only in HTTP writes, and forgets it when
			 * the transaction completes) */
			static unsigned char whole[LWS_PRE + 2048 + NET_SMALL_BODY];
			if (lws_finalize_http_header(wsi, &p, end))
				return -1;
			size_t hn = (size_t)(p - start);
			memcpy(whole + LWS_PRE, start, hn);
			if (left)
				memcpy(whole + LWS_PRE + hn, c->out.p + c->out_off, left);
			if (lws_write(wsi, whole + LWS_PRE, hn + left, LWS_WRITE_HTTP_HEADERS) != (int)(hn + left))
				return -1;
			metrics_bytes_out(left);
			N.out_bytes -= left;
			c->out.len = 0;
			c->out_off = 0;
			goto complete;
		}
		if (lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		c->headers_sent = true;
		if (!c->chunked && c->out.len == c->out_off)
			goto complete;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->out.len > c->out_off) {
		/* written from an offset: consuming from the front would move the
		 * rest of a large body once per piece. lws_write wants LWS_PRE
		 * bytes it may use before the data: past the first piece those
		 * are bytes already sent, so the body goes out without a copy */
		static unsigned char piece[LWS_PRE + NET_CHUNK];
		size_t left = c->out.len - c->out_off;
		size_t n = left < NET_CHUNK ? left : NET_CHUNK;
		bool last = n == left && c->out_final;
		unsigned char *src = (unsigned char *)c->out.p + c->out_off;
		if (c->out_off < LWS_PRE) {
			memcpy(piece + LWS_PRE, src, n);
			src = piece + LWS_PRE;
		}
		if (lws_write(wsi, src, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
			return -1;
		metrics_bytes_out(n);
		c->out_off += n;
		N.out_bytes -= n;
		if (c->out_off == c->out.len) {
			if (c->out.cap > 4 * NET_CHUNK)
				buf_free(&c->out);
			c->out.len = 0;
			c->out_off = 0;
		}
		if (!last) {
			if (c->out.len > c->out_off)
				lws_callback_on_writable(wsi);
			else
				net_http_continue(c);
			return 0;
		}
	} else if (!c->out_final) {
		net_http_continue(c); /* an empty piece (a stream's head) */
		return 0;
	}
complete:
	/* the response is complete: ready for the next request */
	net_ns_forget(c); /* an error answered before the namespace opened */
	c->nsname[0] = 0;
	c->ns_status = 0;
	c->body_waiting = false;
	c->status = 0;
	c->headers_sent = false;
	c->chunked = false;
	c->out_final = false;
	c->route = NR_NONE;
	buf_free(&c->body);
	c->body_overflow = false;
	net_repl_forget(c);
	ns_put(c->ns);
	c->ns = NULL;
	if (N.stopping || net_must_close(c))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}
