/* sync_stream: incremental decoder of frame-carrying replication answers;
 * see sync_stream.h for the FORMAT and the contract. A state machine over
 * the bytes as they come: the gRPC-web header, then either one buffered
 * Frame message (FRAME mode) or the fields of a Frames message (FRAMES
 * mode, each Frame buffered on its own, anything else skipped), then the
 * trailer. Nothing larger than SYNC_STREAM_MAX_MSG is ever buffered. */
#include "sync_stream.h"

#include "frame.h"
#include "grpcweb.h"
#include "replpb.h"
#include <string.h>

enum {
	ST_HDR,     /* the 5-byte gRPC-web header */
	ST_DATA,    /* FRAME: gathering one Frame message (need bytes left) */
	ST_TRAILER, /* gathering the trailer block (need bytes left) */
	ST_FKEY,    /* FRAMES: a field key varint */
	ST_FVAR,    /* FRAMES: a varint value or length */
	ST_FSKIP,   /* FRAMES: skipping need bytes */
	ST_FSUB,    /* FRAMES: gathering one Frame (need bytes left) */
	ST_AFTER,   /* after the trailer: nothing more */
};

void sync_stream_init(struct sync_stream *d, int mode)
{
	memset(d, 0, sizeof *d);
	d->mode = mode;
	d->state = ST_HDR;
	buf_init(&d->msg);
	arena_init(&d->a);
}

void sync_stream_free(struct sync_stream *d)
{
	buf_free(&d->msg);
	arena_free(&d->a);
}

static int fail(struct sync_stream *d, struct err *e, const char *what)
{
	d->err = SYNC_STREAM_E_FORMAT;
	err_set(e, "sync: bad answer: %s", what);
	return d->err;
}

/* A whole Frame message in d->msg: decode it and hand the frame over. */
static int frame_done(struct sync_stream *d, sync_stream_fn fn, void *arg, struct err *e)
{
	struct arena a;
	arena_init(&a);
	struct replpb_frame fr;
	int rc = 0;
	if (replpb_decode_frame(&a, d->msg.p, d->msg.len, &fr, e) < 0) {
		d->err = rc = SYNC_STREAM_E_FORMAT;
	} else if (fr.len != FRAME_SIZE) {
		err_set(e, "sync: a frame of %zu bytes (4120 expected)", fr.len);
		d->err = rc = SYNC_STREAM_E_FORMAT;
	} else {
		d->nframes++;
		rc = fn(arg, fr.data, e);
	}
	arena_free(&a);
	d->msg.len = 0;
	return rc;
}

static int trailer_done(struct sync_stream *d, struct err *e)
{
	struct grpcweb_trailers t;
	if (grpcweb_parse_trailers(&d->a, d->msg.p, d->msg.len, &t, e) < 0)
		return d->err = SYNC_STREAM_E_FORMAT;
	d->got_trailer = true;
	d->status = t.status;
	d->message = t.message;
	d->msg.len = 0;
	d->state = ST_AFTER;
	return 0;
}

static void gather(struct sync_stream *d, const uint8_t **q, size_t *n)
{
	size_t k = d->need < *n ? (size_t)d->need : *n;
	buf_put(&d->msg, *q, k);
	if (d->msg.cap > d->peak)
		d->peak = d->msg.cap;
	*q += k;
	*n -= k;
	d->need -= k;
	if (d->mode == SYNC_STREAM_FRAMES && d->state == ST_FSUB)
		d->left -= k;
}

/* FRAMES: the field ended; the next one, or the end of the message. */
static void next_field(struct sync_stream *d)
{
	d->state = d->left ? ST_FKEY : ST_HDR;
}

/* The 5-byte header is complete. */
static int header_done(struct sync_stream *d, sync_stream_fn fn, void *arg, struct err *e)
{
	uint8_t fl = d->hdr[0];
	uint32_t len = (uint32_t)d->hdr[1] << 24 | (uint32_t)d->hdr[2] << 16 | (uint32_t)d->hdr[3] << 8 | d->hdr[4];
	d->hdr_len = 0;
	d->msg.len = 0;
	if (fl & GRPCWEB_FLAG_COMPRESSED)
		return fail(d, e, "a compressed gRPC-web frame");
	if (fl != GRPCWEB_FLAG_DATA && fl != GRPCWEB_FLAG_TRAILERS)
		return fail(d, e, "unknown gRPC-web frame flags");
	if (fl == GRPCWEB_FLAG_TRAILERS) {
		if (len > SYNC_STREAM_MAX_MSG)
			return fail(d, e, "trailers too large");
		d->state = ST_TRAILER;
		d->need = len;
		return len ? 0 : trailer_done(d, e);
	}
	d->ndata++;
	if (d->mode == SYNC_STREAM_FRAME) {
		if (len > SYNC_STREAM_MAX_MSG)
			return fail(d, e, "a Frame message too large");
		d->state = ST_DATA;
		d->need = len;
		if (len)
			return 0;
		d->state = ST_HDR;
		return frame_done(d, fn, arg, e);
	}
	if (d->ndata > 1)
		return fail(d, e, "more than one Frames message");
	d->left = len;
	d->varint = 0;
	d->vshift = 0;
	next_field(d);
	return 0;
}

/* FRAMES: a varint (key, value or length) is complete. */
static int varint_done(struct sync_stream *d, uint64_t v, sync_stream_fn fn, void *arg, struct err *e)
{
	if (d->state == ST_FKEY) {
		if (v > UINT32_MAX || (v >> 3) == 0)
			return fail(d, e, "a bad field key in Frames");
		d->key = (uint32_t)v;
		unsigned wt = d->key & 7;
		if ((d->key >> 3) == 1 && wt != 2)
			return fail(d, e, "Frames.frames with the wrong wire type");
		switch (wt) {
		case 0:
		case 2:
			d->vlen = wt == 2;
			d->state = ST_FVAR;
			break;
		case 1:
		case 5:
			d->need = wt == 1 ? 8 : 4;
			d->state = ST_FSKIP;
			break;
		default:
			return fail(d, e, "a group or unknown wire type in Frames");
		}
		if (d->left == 0)
			return fail(d, e, "a field past the end of Frames");
		if (d->state == ST_FSKIP && d->need > d->left)
			return fail(d, e, "a field past the end of Frames");
		return 0;
	}
	/* ST_FVAR */
	if (!d->vlen) {
		next_field(d);
		return 0;
	}
	if (v > d->left)
		return fail(d, e, "a field past the end of Frames");
	d->need = v;
	if ((d->key >> 3) == 1) {
		if (v > SYNC_STREAM_MAX_MSG)
			return fail(d, e, "a Frame message too large");
		d->msg.len = 0;
		d->state = ST_FSUB;
		if (v)
			return 0;
		next_field(d);
		return frame_done(d, fn, arg, e);
	}
	d->state = ST_FSKIP;
	if (v == 0)
		next_field(d);
	return 0;
}

int sync_stream_feed(struct sync_stream *d, const void *p, size_t n, sync_stream_fn fn, void *arg, struct err *e)
{
	if (d->err)
		return err_set(e, "sync: bad answer"), d->err;
	const uint8_t *q = p;
	int rc = 0;
	while (n > 0 && rc == 0) {
		switch (d->state) {
		case ST_AFTER:
			return fail(d, e, "bytes after the gRPC trailers");
		case ST_HDR: {
			size_t k = GRPCWEB_HDR_SIZE - d->hdr_len;
			if (k > n)
				k = n;
			memcpy(d->hdr + d->hdr_len, q, k);
			d->hdr_len += k;
			q += k;
			n -= k;
			if (d->hdr_len == GRPCWEB_HDR_SIZE)
				rc = header_done(d, fn, arg, e);
			break;
		}
		case ST_DATA:
		case ST_TRAILER:
		case ST_FSUB:
			gather(d, &q, &n);
			if (d->need)
				break;
			if (d->state == ST_TRAILER) {
				rc = trailer_done(d, e);
			} else {
				if (d->state == ST_DATA)
					d->state = ST_HDR;
				else
					next_field(d);
				rc = frame_done(d, fn, arg, e);
			}
			break;
		case ST_FSKIP: {
			size_t k = d->need < n ? (size_t)d->need : n;
			q += k;
			n -= k;
			d->need -= k;
			d->left -= k;
			if (d->need == 0)
				next_field(d);
			break;
		}
		case ST_FKEY:
		case ST_FVAR: {
			uint8_t b = *q++;
			n--;
			d->left--;
			if (d->vshift > 63 || (d->vshift == 63 && (b & 0x7e)))
				return fail(d, e, "a varint too long in Frames");
			d->varint |= (uint64_t)(b & 0x7f) << d->vshift;
			if (b & 0x80) {
				d->vshift += 7;
				if (d->left == 0)
					return fail(d, e, "a varint past the end of Frames");
				break;
			}
			uint64_t v = d->varint;
			d->varint = 0;
			d->vshift = 0;
			rc = varint_done(d, v, fn, arg, e);
			break;
		}
		}
	}
	return rc;
}

int sync_stream_end(const struct sync_stream *d, struct err *e)
{
	if (d->err)
		return d->err;
	if ((d->state == ST_HDR && d->hdr_len == 0) || d->state == ST_AFTER)
		return 0;
	err_set(e, "sync: the answer stopped inside a message");
	return SYNC_STREAM_E_TRUNCATED;
}
