/* fuzz_hpb: libFuzzer target for proto/hpb.c and hpb_enc.c (Hrana protobuf).
 *
 * Every input goes to every decoder (server side: ClientMsg, PipelineReqBody,
 * CursorReqBody; client side: ServerMsg, PipelineRespBody, CursorRespBody,
 * CursorEntry, and the length-delimited splitter). For an input that decodes:
 *   - the request is encoded again (y); y must decode, and re-encoding that
 *     must give y byte for byte (the encoders are the decoders' inverse);
 *   - one model, two codecs: the same model written as JSON by hjson, when
 *     hjson reads it back, must give the very same protobuf bytes;
 *   - the decoded values and strings are fed to every response encoder, and
 *     what they write must decode again with the client-side decoders;
 *   - a decoded response re-encodes to bytes that decode again.
 * Any violation aborts, which libFuzzer reports as a crash. */
#include "hjson.h"
#include "hpb.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_hpb: %s\n", what);
		abort();
	}
}

static bool same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Builds responses from one statement's values and text; every encoding must
 * decode with the client-side decoders. */
static void exercise_responses(struct arena *a, const struct hr_stmt *s)
{
	size_t nv = s->nargs + s->nnamed;
	struct hr_value *vals = ARENA_ARRAY(a, struct hr_value, nv + 1);
	struct hr_col *cols = ARENA_ARRAY(a, struct hr_col, nv + 1);
	struct hr_describe_param *params = ARENA_ARRAY(a, struct hr_describe_param, nv + 1);
	for (size_t i = 0; i < s->nargs; i++) {
		vals[i] = s->args[i];
		cols[i] = (struct hr_col){.name = s->sql, .decltype = NULL};
	}
	for (size_t i = 0; i < s->nnamed; i++) {
		vals[s->nargs + i] = s->named[i].value;
		cols[s->nargs + i] = (struct hr_col){.name = s->named[i].name, .decltype = s->sql};
		params[s->nargs + i].name = s->named[i].name;
	}
	const char *text = s->sql ? s->sql : "";
	struct hr_stmt_result sr = {.cols = cols, .ncols = nv, .rows = vals, .nrows = nv ? 1 : 0,
				    .has_last_insert_rowid = s->has_sql_id, .last_insert_rowid = s->sql_id,
				    .affected_row_count = nv ? (uint64_t)vals[0].i : 0};
	struct hr_error er = {.message = text, .code = s->nnamed ? s->named[0].name : NULL};
	struct hr_stmt_result *results[3] = {&sr, NULL, NULL};
	struct hr_error *errors[3] = {NULL, &er, NULL};
	struct hr_batch_result br = {.nsteps = 3, .step_results = results, .step_errors = errors};
	struct hr_describe_result dr = {.params = params, .nparams = nv, .cols = cols, .ncols = nv};
	struct hr_cursor_entry ents[5] = {
		{.type = HR_ENTRY_STEP_BEGIN, .step = (uint32_t)s->sql_id, .cols = cols, .ncols = nv},
		{.type = HR_ENTRY_ROW, .row = vals, .nrow = nv},
		{.type = HR_ENTRY_STEP_END, .affected_row_count = sr.affected_row_count, .has_last_insert_rowid = true},
		{.type = HR_ENTRY_STEP_ERROR, .step = 1, .error = er},
		{.type = HR_ENTRY_ERROR, .error = er},
	};
	struct hr_resp resp = {.stmt_result = &sr, .batch_result = &br, .describe_result = &dr,
			       .is_autocommit = s->want_rows, .entries = ents, .nentries = 5, .done = true};
	struct buf b;
	buf_init(&b);
	struct err e;
	for (int t = HR_REQ_OPEN_STREAM; t <= HR_REQ_GET_AUTOCOMMIT; t++) {
		resp.type = (enum hr_req_type)t;
		struct hr_server_msg m = {.type = HR_SMSG_RESPONSE_OK, .request_id = s->sql_id, .resp = resp}, o;
		b.len = 0;
		hpb_encode_server_msg(&b, &m);
		must(hpb_decode_server_msg(a, b.p, b.len, &o, &e) == 0 && o.resp.type == resp.type,
		     "an encoded response does not decode");
	}
	struct hr_server_msg he = {.type = HR_SMSG_HELLO_ERROR, .error = er}, o;
	b.len = 0;
	hpb_encode_server_msg(&b, &he);
	must(hpb_decode_server_msg(a, b.p, b.len, &o, &e) == 0 && o.type == HR_SMSG_HELLO_ERROR, "hello_error");
	struct hr_stream_result srs[2] = {{.ok = true, .resp = resp}, {.ok = false, .error = er}};
	srs[0].resp.type = HR_REQ_EXECUTE;
	struct hr_pipeline_resp pr = {.baton = text, .base_url = er.code, .results = srs, .nresults = 2}, po;
	b.len = 0;
	hpb_encode_pipeline_resp(&b, &pr);
	must(hpb_decode_pipeline_resp(a, b.p, b.len, &po, &e) == 0 && po.nresults == 2, "pipeline response");
	b.len = 0;
	hpb_encode_cursor_resp_delim(&b, &(struct hr_cursor_resp){.baton = text});
	for (size_t i = 0; i < 5; i++)
		hpb_encode_cursor_entry_delim(&b, &ents[i]);
	size_t off = 0, len, k = 0;
	const void *item;
	int rc;
	while ((rc = hpb_next_delim(b.p, b.len, &off, &item, &len)) == 1) {
		struct hr_cursor_entry en;
		struct hr_cursor_resp cr;
		must(k == 0 ? hpb_decode_cursor_resp(a, item, len, &cr, &e) == 0
			    : hpb_decode_cursor_entry(a, item, len, &en, &e) == 0 && en.type == ents[k - 1].type,
		     "cursor body item");
		k++;
	}
	must(rc == 0 && k == 6, "cursor body framing");
	buf_free(&b);
}

static void exercise_req(struct arena *a, const struct hr_req *r)
{
	if (r->type == HR_REQ_EXECUTE)
		exercise_responses(a, &r->stmt);
	for (size_t i = 0; i < r->batch.nsteps && i < 4; i++)
		exercise_responses(a, &r->batch.steps[i].stmt);
}

/* y = enc(x); dec(y) == 0; enc(dec(y)) == y; and hjson's copy of x gives y. */
#define ROUND_TRIP(T, x, henc, hdec, jenc, jdec)                                                  \
	do {                                                                                      \
		struct buf y, z, j;                                                               \
		buf_init(&y);                                                                     \
		buf_init(&z);                                                                     \
		buf_init(&j);                                                                     \
		henc(&y, &x);                                                                     \
		T x2;                                                                             \
		must(hdec(&a, y.p, y.len, &x2, &e) == 0, "re-encoded request does not decode");   \
		henc(&z, &x2);                                                                    \
		must(same(&y, &z), "protobuf round trip not idempotent");                         \
		jenc(&j, &x);                                                                     \
		T x3;                                                                             \
		if (jdec(&a, j.p, j.len, &x3, &e) == 0) {                                         \
			z.len = 0;                                                                \
			henc(&z, &x3);                                                            \
			must(same(&y, &z), "the model through JSON differs from the model");      \
		}                                                                                 \
		buf_free(&y);                                                                     \
		buf_free(&z);                                                                     \
		buf_free(&j);                                                                     \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct err e;
	arena_init(&a);

	struct hr_client_msg m;
	if (hpb_decode_client_msg(&a, data, size, &m, &e) == 0) {
		ROUND_TRIP(struct hr_client_msg, m, hpb_encode_client_msg, hpb_decode_client_msg,
			   hjson_encode_client_msg, hjson_decode_client_msg);
		if (m.type == HR_CMSG_REQUEST)
			exercise_req(&a, &m.req);
	}
	struct hr_pipeline_req p;
	if (hpb_decode_pipeline_req(&a, data, size, &p, &e) == 0) {
		ROUND_TRIP(struct hr_pipeline_req, p, hpb_encode_pipeline_req, hpb_decode_pipeline_req,
			   hjson_encode_pipeline_req, hjson_decode_pipeline_req);
		for (size_t i = 0; i < p.nrequests && i < 4; i++)
			exercise_req(&a, &p.requests[i]);
	}
	struct hr_cursor_req c;
	if (hpb_decode_cursor_req(&a, data, size, &c, &e) == 0)
		ROUND_TRIP(struct hr_cursor_req, c, hpb_encode_cursor_req, hpb_decode_cursor_req, hjson_encode_cursor_req,
			   hjson_decode_cursor_req);

	/* client side: whatever decodes re-encodes to something that decodes */
	struct buf y;
	buf_init(&y);
	struct hr_server_msg sm, sm2;
	if (hpb_decode_server_msg(&a, data, size, &sm, &e) == 0) {
		hpb_encode_server_msg(&y, &sm);
		must(hpb_decode_server_msg(&a, y.p, y.len, &sm2, &e) == 0 && sm2.type == sm.type, "server msg again");
	}
	struct hr_pipeline_resp pr, pr2;
	if (hpb_decode_pipeline_resp(&a, data, size, &pr, &e) == 0) {
		y.len = 0;
		hpb_encode_pipeline_resp(&y, &pr);
		must(hpb_decode_pipeline_resp(&a, y.p, y.len, &pr2, &e) == 0 && pr2.nresults == pr.nresults,
		     "pipeline response again");
	}
	size_t off = 0, len;
	const void *item;
	while (hpb_next_delim(data, size, &off, &item, &len) == 1) {
		struct hr_cursor_entry en, en2;
		struct hr_cursor_resp cr;
		(void)hpb_decode_cursor_resp(&a, item, len, &cr, &e);
		if (hpb_decode_cursor_entry(&a, item, len, &en, &e) == 0) {
			y.len = 0;
			hpb_encode_cursor_entry_delim(&y, &en);
			size_t o2 = 0, l2;
			const void *i2;
			must(hpb_next_delim(y.p, y.len, &o2, &i2, &l2) == 1 &&
				     hpb_decode_cursor_entry(&a, i2, l2, &en2, &e) == 0 && en2.type == en.type,
			     "cursor entry again");
		}
	}
	buf_free(&y);
	arena_free(&a);
	return 0;
}
