/* grpcweb: see grpcweb.h for the FORMAT block.
 *
 * The decoder is a three-state machine: gathering the 5-byte header (hdr),
 * gathering the payload (msg, unless the whole payload is inside the chunk
 * at hand, which is then handed out in place), and "done" after a trailer
 * frame. Invariant: msg.len <= need <= max_msg while in GW_BODY. */
#include "grpcweb.h"
#include "hex.h"
#include <stdbool.h>
#include <string.h>
#include <strings.h>

enum { GW_HDR, GW_BODY, GW_DONE, GW_ERR };

static const uint8_t grpcweb_empty[1];

void grpcweb_dec_init(struct grpcweb_dec *d, size_t max_msg)
{
	memset(d, 0, sizeof *d);
	d->max_msg = max_msg ? max_msg : GRPCWEB_DEFAULT_MAX_MSG;
	d->state = GW_HDR;
	buf_init(&d->msg);
}

void grpcweb_dec_free(struct grpcweb_dec *d)
{
	buf_free(&d->msg);
}

static int grpcweb_fail(struct grpcweb_dec *d, int code)
{
	d->state = GW_ERR;
	d->err = code;
	return code;
}

static const char *grpcweb_err_text(int code)
{
	switch (code) {
	case GRPCWEB_E_COMPRESSED: return "compressed gRPC message (compression is not supported)";
	case GRPCWEB_E_FLAGS: return "invalid gRPC-web frame flags";
	case GRPCWEB_E_TOO_LARGE: return "gRPC message too large";
	case GRPCWEB_E_AFTER_TRAILERS: return "data after the gRPC-web trailer frame";
	case GRPCWEB_E_TRUNCATED: return "gRPC-web body ends inside a frame";
	default: return "malformed gRPC-web body";
	}
}

/* Finishes the current frame: fills *out and moves to the next state. */
static void grpcweb_yield(struct grpcweb_dec *d, const uint8_t *data, struct grpcweb_frame *out)
{
	out->flags = d->hdr[0] & GRPCWEB_FLAG_TRAILERS;
	out->data = data;
	out->len = d->need;
	d->hdr_len = 0;
	d->nframes++;
	d->state = out->flags == GRPCWEB_FLAG_TRAILERS ? GW_DONE : GW_HDR;
}

int grpcweb_dec_feed(struct grpcweb_dec *d, const void *in, size_t n, size_t *used,
		     struct grpcweb_frame *out, struct err *e)
{
	const uint8_t *s = in;
	size_t i = 0;
	*used = 0;
	if (d->state == GW_ERR) {
		err_set(e, "%s", grpcweb_err_text(d->err));
		return d->err;
	}
	if (d->state == GW_HDR && d->hdr_len == 0)
		d->msg.len = 0; /* the previous frame's payload is no longer borrowed */
	while (i < n) {
		switch (d->state) {
		case GW_DONE:
			err_set(e, "%s", grpcweb_err_text(GRPCWEB_E_AFTER_TRAILERS));
			return grpcweb_fail(d, GRPCWEB_E_AFTER_TRAILERS);
		case GW_HDR: {
			uint8_t c = s[i++];
			if (d->hdr_len == 0) {
				if (c & GRPCWEB_FLAG_COMPRESSED) {
					err_set(e, "%s", grpcweb_err_text(GRPCWEB_E_COMPRESSED));
					return grpcweb_fail(d, GRPCWEB_E_COMPRESSED);
				}
				if (c & ~(GRPCWEB_FLAG_TRAILERS | GRPCWEB_FLAG_COMPRESSED)) {
					err_set(e, "invalid gRPC-web frame flags 0x%02x", c);
					return grpcweb_fail(d, GRPCWEB_E_FLAGS);
				}
			}
			d->hdr[d->hdr_len++] = c;
			if (d->hdr_len < GRPCWEB_HDR_SIZE)
				break;
			uint32_t len = (uint32_t)d->hdr[1] << 24 | (uint32_t)d->hdr[2] << 16 |
				       (uint32_t)d->hdr[3] << 8 | d->hdr[4];
			if (len > d->max_msg) {
				err_set(e, "gRPC message of %u bytes exceeds the limit of %zu", len,
					d->max_msg);
				return grpcweb_fail(d, GRPCWEB_E_TOO_LARGE);
			}
			d->need = len;
			d->msg.len = 0;
			if (len == 0) {
				grpcweb_yield(d, grpcweb_empty, out);
				*used = i;
				return 1;
			}
			d->state = GW_BODY;
			break;
		}
		case GW_BODY: {
			size_t avail = n - i;
			if (d->msg.len == 0 && avail >= d->need) {
				const uint8_t *data = s + i; /* whole payload in this chunk */
				i += d->need;
				grpcweb_yield(d, data, out);
				*used = i;
				return 1;
			}
			size_t take = d->need - d->msg.len;
			if (take > avail)
				take = avail;
			buf_put(&d->msg, s + i, take);
			i += take;
			if (d->msg.len == d->need) {
				grpcweb_yield(d, (const uint8_t *)d->msg.p, out);
				*used = i;
				return 1;
			}
			break;
		}
		}
	}
	*used = i;
	return 0;
}

int grpcweb_dec_end(const struct grpcweb_dec *d, struct err *e)
{
	if (d->state == GW_ERR) {
		err_set(e, "%s", grpcweb_err_text(d->err));
		return d->err;
	}
	if (d->state == GW_DONE || (d->state == GW_HDR && d->hdr_len == 0))
		return 0;
	err_set(e, "%s", grpcweb_err_text(GRPCWEB_E_TRUNCATED));
	return GRPCWEB_E_TRUNCATED;
}

bool grpcweb_dec_got_trailers(const struct grpcweb_dec *d)
{
	return d->state == GW_DONE;
}

/* ---- encoders ---- */

static void grpcweb_put_hdr(uint8_t *h, uint8_t flags, size_t n)
{
	h[0] = flags;
	h[1] = (uint8_t)(n >> 24);
	h[2] = (uint8_t)(n >> 16);
	h[3] = (uint8_t)(n >> 8);
	h[4] = (uint8_t)n;
}

void grpcweb_encode_data(struct buf *b, const void *p, size_t n)
{
	uint8_t h[GRPCWEB_HDR_SIZE];
	grpcweb_put_hdr(h, GRPCWEB_FLAG_DATA, n);
	buf_reserve(b, sizeof h + n);
	buf_put(b, h, sizeof h);
	buf_put(b, p, n);
}

size_t grpcweb_begin_data(struct buf *b)
{
	size_t off = b->len;
	uint8_t h[GRPCWEB_HDR_SIZE] = {0};
	buf_put(b, h, sizeof h);
	return off;
}

void grpcweb_end_data(struct buf *b, size_t offset)
{
	grpcweb_put_hdr((uint8_t *)b->p + offset, GRPCWEB_FLAG_DATA,
			b->len - offset - GRPCWEB_HDR_SIZE);
}

void grpcweb_pct_encode(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	buf_reserve(b, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* a space at either end would be trimmed as header whitespace */
		bool edge_space = c == ' ' && (i == 0 || i == n - 1);
		if (c >= 0x20 && c <= 0x7E && c != '%' && !edge_space) {
			buf_putc(b, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_put(b, esc, 3);
		}
	}
}

void grpcweb_encode_trailers(struct buf *b, int status, const char *message)
{
	size_t off = b->len;
	uint8_t h[GRPCWEB_HDR_SIZE] = {0};
	buf_put(b, h, sizeof h);
	buf_printf(b, "grpc-status:%d\r\n", status);
	if (message) {
		buf_puts(b, "grpc-message:");
		grpcweb_pct_encode(b, message, strlen(message));
		buf_puts(b, "\r\n");
	}
	grpcweb_put_hdr((uint8_t *)b->p + off, GRPCWEB_FLAG_TRAILERS,
			b->len - off - GRPCWEB_HDR_SIZE);
}

/* ---- trailer parser ---- */

char *grpcweb_pct_decode(struct arena *a, const char *s, size_t n, size_t *outlen)
{
	char *o = arena_alloc(a, n + 1);
	size_t k = hex_pct_decode(s, n, o);
	if (outlen)
		*outlen = k;
	return o;
}

static bool grpcweb_name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

int grpcweb_parse_trailers(struct arena *a, const void *p, size_t n, struct grpcweb_trailers *out,
			   struct err *e)
{
	const char *s = p;
	bool have_status = false;
	out->status = 0;
	out->message = "";
	out->message_len = 0;
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n, next = nl ? end + 1 : n;
		if (end > i && s[end - 1] == '\r')
			end--;
		const char *line = s + i;
		size_t len = end - i;
		i = next;
		if (len == 0)
			continue;
		for (size_t k = 0; k < len; k++)
			if (line[k] == '\r' || line[k] == '\0')
				return err_set(e, "gRPC trailers: control character in a line"),
				       GRPCWEB_E_TRAILERS;
		const char *colon = memchr(line, ':', len);
		if (!colon || colon == line)
			return err_set(e, "gRPC trailers: line without a name"), GRPCWEB_E_TRAILERS;
		size_t nlen = (size_t)(colon - line);
		const char *v = colon + 1;
		size_t vlen = len - nlen - 1;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (grpcweb_name_is(line, nlen, "grpc-status")) {
			long long st = 0;
			if (vlen == 0)
				return err_set(e, "gRPC trailers: empty grpc-status"), GRPCWEB_E_TRAILERS;
			for (size_t k = 0; k < vlen; k++) {
				if (v[k] < '0' || v[k] > '9' || (st = st * 10 + (v[k] - '0')) > 2147483647LL)
					return err_set(e, "gRPC trailers: invalid grpc-status"),
					       GRPCWEB_E_TRAILERS;
			}
			out->status = (int)st;
			have_status = true;
		} else if (grpcweb_name_is(line, nlen, "grpc-message")) {
			out->message = grpcweb_pct_decode(a, v, vlen, &out->message_len);
		}
	}
	if (!have_status)
		return err_set(e, "gRPC trailers: no grpc-status"), GRPCWEB_E_TRAILERS;
	return 0;
}

const char *grpcweb_status_name(int status)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};
	if (status < 0 || status >= (int)(sizeof names / sizeof names[0]))
		return "UNKNOWN_STATUS";
	return names[status];
}
