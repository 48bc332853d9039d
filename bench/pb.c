/* pb: the point read in Hrana 3 over protobuf (PROTOCOL.md §5), over the
 * WebSocket subprotocol hrana3-protobuf and POST /v3-protobuf/pipeline. The
 * few messages are written and read by hand (like the JSON navigation in
 * util.c, none of sqld's code): a request is built inside out, a response is
 * read by following field numbers. Every answer is checked like the JSON
 * ones: response_ok with the right request id, one row, the expected text.
 *
 * FORMAT (protobuf): key = varint(field << 3 | wire), wire 0 = varint,
 * wire 2 = varint length + bytes, wire 1 / 5 = 8 / 4 bytes. */
#include "bench.h"
#include <stdio.h>
#include <string.h>

static void pb_varint(struct bbuf *b, uint64_t v)
{
	char t[10];
	size_t k = 0;
	do {
		t[k++] = (char)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v);
	bb_add(b, t, k);
}

static void pb_uint(struct bbuf *b, unsigned no, uint64_t v)
{
	pb_varint(b, (uint64_t)no << 3);
	pb_varint(b, v);
}

static void pb_bytes(struct bbuf *b, unsigned no, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)no << 3 | 2);
	pb_varint(b, n);
	bb_add(b, p, n);
}

static bool rd_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int s = 0; s < 64 && *p < end; s += 7) {
		unsigned char c = *(*p)++;
		*v |= (uint64_t)(c & 0x7F) << s;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* Walks a message: the last field `no` (fp/fn for wire 2, *v for wire 0), and
 * how many times it occurs. Returns -1 when malformed. */
static int pb_find(const char *msg, size_t len, unsigned no, const char **fp, size_t *fn, uint64_t *v)
{
	const unsigned char *p = (const unsigned char *)msg, *end = p + len;
	int count = 0;
	while (p < end) {
		uint64_t key, x;
		if (!rd_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (!rd_varint(&p, end, &x))
				return -1;
			if (key >> 3 == no) {
				count++;
				if (v)
					*v = x;
			}
			break;
		case 1:
		case 5: {
			size_t n = (key & 7) == 1 ? 8 : 4;
			if ((size_t)(end - p) < n)
				return -1;
			p += n;
			break;
		}
		case 2:
			if (!rd_varint(&p, end, &x) || x > (uint64_t)(end - p))
				return -1;
			if (key >> 3 == no) {
				count++;
				if (fp) {
					*fp = (const char *)p;
					*fn = (size_t)x;
				}
			}
			p += x;
			break;
		default:
			return -1;
		}
	}
	return count;
}

/* The one field `no` of wire type 2; dies unless it occurs exactly once. */
static const char *pb_one(const char *msg, size_t len, unsigned no, size_t *n, const char *what)
{
	const char *fp = NULL;
	if (pb_find(msg, len, no, &fp, n, NULL) != 1 || !fp)
		die("protobuf: %s: field %u missing or repeated", what, no);
	return fp;
}

static __thread struct bbuf t1, t2, t3, t4;

/* Stmt{sql, args[Value{integer: key}], want_rows} into b (cleared). */
static void point_stmt(struct bbuf *b, int key, const char *sql)
{
	b->len = 0;
	t1.len = 0;
	pb_uint(&t1, 2, ((uint64_t)key << 1) ^ (uint64_t)((int64_t)key >> 63)); /* sint64 */
	pb_bytes(b, 1, sql, strlen(sql));
	pb_bytes(b, 3, t1.p, t1.len);
	pb_uint(b, 5, 1);
}

/* StmtResult → the one row's one value must be Value{text: want}. */
static void check_point(const char *sr, size_t n, int key, const char *want, const char *via)
{
	size_t rn, vn, tn;
	const char *row = pb_one(sr, n, 2, &rn, "StmtResult.rows");
	const char *val = pb_one(row, rn, 1, &vn, "Row.values");
	const char *txt = pb_one(val, vn, 4, &tn, "Value.text");
	if (tn != strlen(want) || memcmp(txt, want, tn) != 0)
		die("%s point read of %d: got '%.*s'", via, key, (int)tn, txt);
}

/* RequestMsg{id, <type>: req} → the ResponseOkMsg's <type> body. */
static const char *ws_req_pb(struct ws *w, unsigned type, const struct bbuf *req, size_t *n)
{
	int32_t id = w->next_id++;
	t3.len = 0;
	pb_uint(&t3, 1, (uint64_t)id);
	pb_bytes(&t3, type, req->p, req->len);
	t4.len = 0;
	pb_bytes(&t4, 2, t3.p, t3.len);
	ws_send_binary(w, t4.p, t4.len);
	size_t len, okn;
	const char *m = ws_recv_msg(w, &len);
	const char *ok = NULL;
	if (pb_find(m, len, 3, &ok, &okn, NULL) != 1 || !ok)
		die("protobuf request %d failed (%zu bytes, not a response_ok)", (int)id, len);
	uint64_t rid = 0;
	if (pb_find(ok, okn, 1, NULL, NULL, &rid) != 1 || (int32_t)rid != id)
		die("protobuf response for request %d has the wrong request_id", (int)id);
	return pb_one(ok, okn, type, n, "ResponseOkMsg.response");
}

void ws_open_stream_pb(struct ws *w, int32_t stream_id)
{
	struct bbuf r = {0};
	pb_uint(&r, 1, (uint64_t)(uint32_t)stream_id);
	size_t n;
	ws_req_pb(w, 2, &r, &n);
	bb_free(&r);
}

void ws_point_pb(struct ws *w, int key, const char *sql, const char *want)
{
	point_stmt(&t2, key, sql);
	static __thread struct bbuf ex;
	ex.len = 0;
	pb_uint(&ex, 1, 1); /* stream_id */
	pb_bytes(&ex, 2, t2.p, t2.len);
	size_t n, rn;
	const char *resp = ws_req_pb(w, 4, &ex, &n); /* ExecuteResp */
	const char *sr = pb_one(resp, n, 1, &rn, "ExecuteResp.result");
	check_point(sr, rn, key, want, "sqld WS protobuf");
}

void http_point_pb(struct hc *h, int key, const char *sql, const char *want)
{
	point_stmt(&t2, key, sql);
	t3.len = 0;
	pb_bytes(&t3, 1, t2.p, t2.len); /* ExecuteStreamReq{stmt} */
	t4.len = 0;
	pb_bytes(&t4, 2, t3.p, t3.len); /* StreamRequest{execute} */
	static __thread struct bbuf body;
	body.len = 0;
	if (h->baton[0])
		pb_bytes(&body, 1, h->baton, strlen(h->baton));
	pb_bytes(&body, 2, t4.p, t4.len);
	size_t len, bn, rn, okn, en, sn;
	const char *b = hc_post(h, "/v3-protobuf/pipeline", "application/x-protobuf", body.p, body.len, &len);
	const char *baton = pb_one(b, len, 1, &bn, "PipelineRespBody.baton");
	if (bn >= sizeof h->baton)
		die("http protobuf: baton too long");
	memcpy(h->baton, baton, bn);
	h->baton[bn] = 0;
	const char *res = pb_one(b, len, 3, &rn, "PipelineRespBody.results");
	const char *ok = pb_one(res, rn, 1, &okn, "StreamResult.ok");
	const char *ex = pb_one(ok, okn, 2, &en, "StreamResponse.execute");
	const char *sr = pb_one(ex, en, 1, &sn, "ExecuteResp.result");
	check_point(sr, sn, key, want, "sqld HTTP protobuf");
}
