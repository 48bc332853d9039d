/* fuzz_hjson: libFuzzer target for proto/hjson.c.
 *
 * Every input goes to every decoder. For an input that decodes:
 *   - the request is encoded again (y), y must decode, and re-encoding that
 *     must give y byte for byte (the encoders are the decoders' inverse);
 *   - the decoded values and strings are fed to every response encoder
 *     (server messages, pipeline / cursor / v1 / legacy responses, cursor
 *     entries), and every output must be valid JSON for jansson;
 *   - hjson_value_size() must bound the encoded size of every value.
 * Any violation aborts, which libFuzzer reports as a crash. */
#include "hjson.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(int ok, const char *what, const struct buf *b)
{
	if (!ok) {
		fprintf(stderr, "fuzz_hjson: %s\n", what);
		if (b && b->p)
			fprintf(stderr, "output: %.*s\n", (int)(b->len > 2000 ? 2000 : b->len), b->p);
		abort();
	}
}

static void must_be_json(const struct buf *b)
{
	json_error_t je;
	/* INT_AS_REAL: u64 counters above INT64_MAX are valid JSON that jansson
	 * cannot hold as integers */
	json_t *j = json_loadb(b->p ? b->p : "", b->len, JSON_ALLOW_NUL | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
	if (!j)
		fprintf(stderr, "jansson: %s\n", je.text);
	must(j != NULL, "encoder wrote invalid JSON", b);
	json_decref(j);
}

static void check_value_sizes(const struct hr_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct buf b;
		buf_init(&b);
		hjson_encode_value(&b, &v[i]);
		must(hjson_value_size(&v[i]) >= b.len, "hjson_value_size below the encoded size", &b);
		must_be_json(&b);
		buf_free(&b);
	}
}

/* Builds responses out of one statement's values and text, encodes them all. */
static void exercise_responses(struct arena *a, const struct hr_stmt *s, enum hr_req_type type)
{
	size_t nv = s->nargs + s->nnamed;
	struct hr_value *vals = ARENA_ARRAY(a, struct hr_value, nv + 1);
	struct hr_col *cols = ARENA_ARRAY(a, struct hr_col, nv + 1);
	struct hr_describe_param *params = ARENA_ARRAY(a, struct hr_describe_param, nv + 1);
	for (size_t i = 0; i < s->nargs; i++) {
		vals[i] = s->args[i];
		cols[i] = (struct hr_col){.name = s->sql, .decltype = NULL};
		params[i].name = NULL;
	}
	for (size_t i = 0; i < s->nnamed; i++) {
		vals[s->nargs + i] = s->named[i].value;
		cols[s->nargs + i] = (struct hr_col){.name = s->named[i].name, .decltype = s->sql};
		params[s->nargs + i].name = s->named[i].name;
	}
	check_value_sizes(vals, nv);
	const char *text = s->sql ? s->sql : "";
	struct hr_stmt_result sr = {.cols = cols,
				    .ncols = nv,
				    .rows = vals,
				    .nrows = nv ? 2 : 0, /* the same row twice */
				    .affected_row_count = nv ? (uint64_t)vals[0].i : 0,
				    .has_last_insert_rowid = s->has_sql_id,
				    .last_insert_rowid = nv ? vals[0].i : 0,
				    .has_replication_index = s->want_rows,
				    .replication_index = (uint64_t)s->sql_id,
				    .query_duration_ms = nv ? vals[0].f : 0};
	if (nv) {
		/* the same row twice needs 2 * nv values */
		struct hr_value *two = ARENA_ARRAY(a, struct hr_value, 2 * nv);
		memcpy(two, vals, nv * sizeof *vals);
		memcpy(two + nv, vals, nv * sizeof *vals);
		sr.rows = two;
	}
	struct hr_error er = {.message = text, .code = s->nnamed ? s->named[0].name : NULL};
	struct hr_stmt_result *results[3] = {&sr, NULL, NULL};
	struct hr_error *errors[3] = {NULL, &er, NULL};
	struct hr_batch_result br = {.nsteps = 3, .step_results = results, .step_errors = errors};
	struct hr_describe_result dr = {.params = params, .nparams = nv, .cols = cols, .ncols = nv,
					.is_explain = s->want_rows};
	struct hr_cursor_entry ents[5] = {
		{.type = HR_ENTRY_STEP_BEGIN, .step = (uint32_t)s->sql_id, .cols = cols, .ncols = nv},
		{.type = HR_ENTRY_ROW, .row = vals, .nrow = nv},
		{.type = HR_ENTRY_STEP_END, .affected_row_count = sr.affected_row_count, .has_last_insert_rowid = true,
		 .last_insert_rowid = sr.last_insert_rowid},
		{.type = HR_ENTRY_STEP_ERROR, .step = 1, .error = er},
		{.type = HR_ENTRY_ERROR, .error = er},
	};
	struct hr_resp resp = {.type = type,
			       .stmt_result = &sr,
			       .batch_result = &br,
			       .describe_result = &dr,
			       .is_autocommit = s->want_rows,
			       .entries = ents,
			       .nentries = 5,
			       .done = true};
	struct buf b;
	buf_init(&b);
#define EMIT(call)                \
	do {                      \
		b.len = 0;        \
		call;             \
		must_be_json(&b); \
	} while (0)
	static const enum hr_smsg_type smsgs[] = {HR_SMSG_HELLO_OK, HR_SMSG_HELLO_ERROR, HR_SMSG_RESPONSE_OK,
						  HR_SMSG_RESPONSE_ERROR};
	for (size_t i = 0; i < 4; i++) {
		struct hr_server_msg m = {.type = smsgs[i], .request_id = s->sql_id, .resp = resp, .error = er};
		EMIT(hjson_encode_server_msg(&b, &m));
	}
	/* every response type, whatever the request was */
	for (int t = HR_REQ_OPEN_STREAM; t <= HR_REQ_CLOSE; t++) {
		resp.type = (enum hr_req_type)t;
		EMIT(hjson_encode_resp(&b, &resp));
	}
	struct hr_stream_result srs[2] = {{.ok = true, .resp = resp}, {.ok = false, .error = er}};
	struct hr_pipeline_resp pr = {.baton = text, .base_url = s->nnamed ? s->named[0].name : NULL, .results = srs,
				      .nresults = 2};
	EMIT(hjson_encode_pipeline_resp(&b, &pr));
	struct hr_cursor_resp cr = {.baton = pr.base_url, .base_url = text};
	EMIT(hjson_encode_cursor_resp(&b, &cr));
	for (size_t i = 0; i < 5; i++)
		EMIT(hjson_encode_cursor_entry(&b, &ents[i]));
	EMIT(hjson_encode_error(&b, &er));
	EMIT(hjson_encode_v1_execute_resp(&b, &sr));
	EMIT(hjson_encode_v1_batch_resp(&b, &br));
	EMIT(hjson_encode_legacy_resp(&b, &br));
#undef EMIT
	buf_free(&b);
}

static void exercise_batch(struct arena *a, const struct hr_batch *bt)
{
	for (size_t i = 0; i < bt->nsteps; i++)
		exercise_responses(a, &bt->steps[i].stmt, HR_REQ_BATCH);
}

static void exercise_req(struct arena *a, const struct hr_req *r)
{
	if (r->type == HR_REQ_EXECUTE)
		exercise_responses(a, &r->stmt, r->type);
	if (r->type == HR_REQ_BATCH || r->type == HR_REQ_OPEN_CURSOR)
		exercise_batch(a, &r->batch);
	struct hr_stmt s = {.sql = r->sql, .has_sql_id = r->has_sql_id, .sql_id = r->sql_id};
	exercise_responses(a, &s, r->type);
}

/* y = encode(x); decode(y) must succeed and encode to y again. */
#define ROUND_TRIP(T, enc, dec_call_y, enc2)                                              \
	do {                                                                              \
		struct buf y, z;                                                          \
		buf_init(&y);                                                             \
		buf_init(&z);                                                             \
		enc;                                                                      \
		must_be_json(&y);                                                         \
		T x2;                                                                     \
		memset(&x2, 0, sizeof x2);                                                \
		int rc2 = dec_call_y;                                                     \
		if (rc2)                                                                  \
			fprintf(stderr, "re-decode: %d %s\n", rc2, e.msg);                \
		must(rc2 == 0, "re-encoded request does not decode", &y);                 \
		enc2;                                                                     \
		must(y.len == z.len && memcmp(y.p, z.p, y.len) == 0, "not idempotent", &z); \
		buf_free(&y);                                                             \
		buf_free(&z);                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct arena a;
	struct err e;
	arena_init(&a);

	struct hr_client_msg m;
	if (hjson_decode_client_msg(&a, in, size, &m, &e) == 0) {
		ROUND_TRIP(struct hr_client_msg, hjson_encode_client_msg(&y, &m),
			   hjson_decode_client_msg(&a, y.p, y.len, &x2, &e), hjson_encode_client_msg(&z, &x2));
		if (m.type == HR_CMSG_REQUEST)
			exercise_req(&a, &m.req);
	}

	struct hr_pipeline_req p;
	if (hjson_decode_pipeline_req(&a, in, size, &p, &e) == 0) {
		ROUND_TRIP(struct hr_pipeline_req, hjson_encode_pipeline_req(&y, &p),
			   hjson_decode_pipeline_req(&a, y.p, y.len, &x2, &e), hjson_encode_pipeline_req(&z, &x2));
		for (size_t i = 0; i < p.nrequests; i++)
			exercise_req(&a, &p.requests[i]);
	}

	struct hr_cursor_req c;
	if (hjson_decode_cursor_req(&a, in, size, &c, &e) == 0) {
		ROUND_TRIP(struct hr_cursor_req, hjson_encode_cursor_req(&y, &c),
			   hjson_decode_cursor_req(&a, y.p, y.len, &x2, &e), hjson_encode_cursor_req(&z, &x2));
		exercise_batch(&a, &c.batch);
	}

	struct hr_stmt s;
	if (hjson_decode_v1_execute(&a, in, size, &s, &e) == 0) {
		ROUND_TRIP(struct hr_stmt, hjson_encode_v1_execute_req(&y, &s),
			   hjson_decode_v1_execute(&a, y.p, y.len, &x2, &e), hjson_encode_v1_execute_req(&z, &x2));
		exercise_responses(&a, &s, HR_REQ_EXECUTE);
	}

	struct hr_batch bt;
	if (hjson_decode_v1_batch(&a, in, size, &bt, &e) == 0) {
		ROUND_TRIP(struct hr_batch, hjson_encode_v1_batch_req(&y, &bt),
			   hjson_decode_v1_batch(&a, y.p, y.len, &x2, &e), hjson_encode_v1_batch_req(&z, &x2));
		exercise_batch(&a, &bt);
	}

	struct hr_stmt *ls;
	size_t nls;
	if (hjson_decode_legacy(&a, in, size, &ls, &nls, &e) == 0) {
		struct buf y, z;
		buf_init(&y);
		buf_init(&z);
		hjson_encode_legacy_req(&y, ls, nls);
		must_be_json(&y);
		struct hr_stmt *ls2;
		size_t nls2;
		int rc2 = hjson_decode_legacy(&a, y.p, y.len, &ls2, &nls2, &e);
		if (rc2)
			fprintf(stderr, "re-decode: %d %s\n", rc2, e.msg);
		must(rc2 == 0 && nls2 == nls, "re-encoded legacy request does not decode", &y);
		hjson_encode_legacy_req(&z, ls2, nls2);
		must(y.len == z.len && memcmp(y.p, z.p, y.len) == 0, "legacy not idempotent", &z);
		buf_free(&y);
		buf_free(&z);
		for (size_t i = 0; i < nls; i++)
			exercise_responses(&a, &ls[i], HR_REQ_EXECUTE);
	}

	/* the string and base64 primitives on raw bytes (any bytes, not only UTF-8) */
	struct buf b;
	buf_init(&b);
	hjson_put_str(&b, in, size);
	must_be_json(&b);
	struct hr_value tv = {.type = HR_TEXT, .s = in, .n = size};
	must(hjson_value_size(&tv) >= b.len + sizeof("{\"type\":\"text\",\"value\":}") - 1, "text size bound", &b);
	b.len = 0;
	hjson_put_base64(&b, data, size);
	unsigned char *back = malloc(size + 3);
	size_t got = 0;
	must(hjson_base64_decode(b.p ? b.p : "", b.len, back, size + 2, &got) == 0 && got == size &&
		     (size == 0 || memcmp(back, data, size) == 0),
	     "base64 round trip", &b);
	size_t cap = size / 4 * 3 + 2;
	unsigned char *raw = malloc(cap + 1);
	if (hjson_base64_decode(in, size, raw, cap, &got) == 0) {
		/* whatever decodes is canonical: it re-encodes to the unpadded input */
		b.len = 0;
		hjson_put_base64(&b, raw, got);
		size_t n = size;
		while (n && in[n - 1] == '=')
			n--;
		must(b.len == n && memcmp(b.p ? b.p : "", in, n) == 0, "base64 decode not canonical", &b);
	}
	free(raw);
	free(back);
	buf_free(&b);

	arena_free(&a);
	return 0;
}
