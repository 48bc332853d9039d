/* One model, two codecs: the same model-level cases run through hjson and
 * hpb. Each case builds a request of the hrana.h model, encodes it with the
 * codec's client-side encoder, decodes it with the codec's server-side
 * decoder, and checks the result equals the model field by field; cases that
 * break a model rule (both / neither of sql and sql_id) must fail with the
 * same error class (HJSON_E_* == HPB_E_*) in both codecs. Encoding-specific
 * tests (exact JSON text, exact protobuf bytes, syntax errors) live in
 * test_hjson.c and test_hpb.c. */
#include "hjson.h"
#include "hpb.h"
#include "t.h"
#include <math.h>
#include <stdint.h>

struct codec {
	const char *name;
	void (*enc_msg)(struct buf *, const struct hr_client_msg *);
	int (*dec_msg)(struct arena *, const void *, size_t, struct hr_client_msg *, struct err *);
	void (*enc_pipe)(struct buf *, const struct hr_pipeline_req *);
	int (*dec_pipe)(struct arena *, const void *, size_t, struct hr_pipeline_req *, struct err *);
	void (*enc_cur)(struct buf *, const struct hr_cursor_req *);
	int (*dec_cur)(struct arena *, const void *, size_t, struct hr_cursor_req *, struct err *);
};

static int hj_msg(struct arena *a, const void *p, size_t n, struct hr_client_msg *o, struct err *e)
{
	return hjson_decode_client_msg(a, p, n, o, e);
}
static int hj_pipe(struct arena *a, const void *p, size_t n, struct hr_pipeline_req *o, struct err *e)
{
	return hjson_decode_pipeline_req(a, p, n, o, e);
}
static int hj_cur(struct arena *a, const void *p, size_t n, struct hr_cursor_req *o, struct err *e)
{
	return hjson_decode_cursor_req(a, p, n, o, e);
}

static const struct codec CODECS[] = {
	{"hjson", hjson_encode_client_msg, hj_msg, hjson_encode_pipeline_req, hj_pipe, hjson_encode_cursor_req, hj_cur},
	{"hpb", hpb_encode_client_msg, hpb_decode_client_msg, hpb_encode_pipeline_req, hpb_decode_pipeline_req,
	 hpb_encode_cursor_req, hpb_decode_cursor_req},
};
#define NCODECS (sizeof CODECS / sizeof CODECS[0])

static struct arena A;
static struct err E;
static const struct codec *C; /* the codec of the running case (for messages) */

#define CHECKC(cond)                                                                   \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "  (codec %s; last error: %s)\n", C->name, E.msg); \
			CHECK(cond);                                                   \
		}                                                                      \
	} while (0)

/* ---- deep equality over the model ---- */

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool value_eq(const struct hr_value *a, const struct hr_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case HR_INTEGER:
		return a->i == b->i;
	case HR_FLOAT:
		return memcmp(&a->f, &b->f, sizeof a->f) == 0 || (isnan(a->f) && isnan(b->f));
	case HR_TEXT:
	case HR_BLOB:
		return a->n == b->n && (a->n == 0 || memcmp(a->s, b->s, a->n) == 0);
	default:
		return true;
	}
}

static bool stmt_eq(const struct hr_stmt *a, const struct hr_stmt *b)
{
	if (!str_eq(a->sql, b->sql) || a->has_sql_id != b->has_sql_id || (a->has_sql_id && a->sql_id != b->sql_id) ||
	    a->nargs != b->nargs || a->nnamed != b->nnamed || a->want_rows != b->want_rows)
		return false;
	for (size_t i = 0; i < a->nargs; i++)
		if (!value_eq(&a->args[i], &b->args[i]))
			return false;
	for (size_t i = 0; i < a->nnamed; i++)
		if (!str_eq(a->named[i].name, b->named[i].name) || !value_eq(&a->named[i].value, &b->named[i].value))
			return false;
	return true;
}

static bool cond_eq(const struct hr_cond *a, const struct hr_cond *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type)
		return false;
	if ((a->type == HR_COND_OK || a->type == HR_COND_ERROR) && a->step != b->step)
		return false;
	if (a->type == HR_COND_NOT || a->type == HR_COND_AND || a->type == HR_COND_OR) {
		if (a->nconds != b->nconds)
			return false;
		for (size_t i = 0; i < a->nconds; i++)
			if (!cond_eq(&a->conds[i], &b->conds[i]))
				return false;
	}
	return true;
}

static bool batch_eq(const struct hr_batch *a, const struct hr_batch *b)
{
	if (a->nsteps != b->nsteps)
		return false;
	for (size_t i = 0; i < a->nsteps; i++)
		if (!cond_eq(a->steps[i].cond, b->steps[i].cond) || !stmt_eq(&a->steps[i].stmt, &b->steps[i].stmt))
			return false;
	return true;
}

/* Request equality for the fields each request type carries. */
static bool req_eq(const struct hr_req *a, const struct hr_req *b, bool ws)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case HR_REQ_OPEN_STREAM:
	case HR_REQ_CLOSE_STREAM:
	case HR_REQ_GET_AUTOCOMMIT:
		return !ws || a->stream_id == b->stream_id;
	case HR_REQ_EXECUTE:
		return (!ws || a->stream_id == b->stream_id) && stmt_eq(&a->stmt, &b->stmt);
	case HR_REQ_BATCH:
		return (!ws || a->stream_id == b->stream_id) && batch_eq(&a->batch, &b->batch);
	case HR_REQ_OPEN_CURSOR:
		return a->stream_id == b->stream_id && a->cursor_id == b->cursor_id && batch_eq(&a->batch, &b->batch);
	case HR_REQ_CLOSE_CURSOR:
		return a->cursor_id == b->cursor_id;
	case HR_REQ_FETCH_CURSOR:
		return a->cursor_id == b->cursor_id && a->max_count == b->max_count;
	case HR_REQ_SEQUENCE:
	case HR_REQ_DESCRIBE:
		return (!ws || a->stream_id == b->stream_id) && str_eq(a->sql, b->sql) && a->has_sql_id == b->has_sql_id &&
		       a->sql_id == b->sql_id;
	case HR_REQ_STORE_SQL:
		return a->sql_id == b->sql_id && str_eq(a->sql, b->sql);
	case HR_REQ_CLOSE_SQL:
		return a->sql_id == b->sql_id;
	default:
		return true;
	}
}

/* ---- round trips through the running codec ---- */

static int rt_msg(const struct hr_client_msg *in, struct hr_client_msg *out)
{
	struct buf b;
	buf_init(&b);
	C->enc_msg(&b, in);
	E.msg[0] = 0;
	int rc = C->dec_msg(&A, b.p ? b.p : "", b.len, out, &E);
	buf_free(&b);
	return rc;
}

static void msg_round(const struct hr_client_msg *in)
{
	struct hr_client_msg out;
	CHECKC(rt_msg(in, &out) == 0);
	CHECKC(out.type == in->type);
	if (in->type == HR_CMSG_HELLO)
		CHECKC(str_eq(out.jwt, in->jwt));
	else {
		CHECKC(out.request_id == in->request_id);
		CHECKC(req_eq(&out.req, &in->req, true));
	}
}

static int rt_pipe(const struct hr_pipeline_req *in, struct hr_pipeline_req *out)
{
	struct buf b;
	buf_init(&b);
	C->enc_pipe(&b, in);
	E.msg[0] = 0;
	int rc = C->dec_pipe(&A, b.p ? b.p : "", b.len, out, &E);
	buf_free(&b);
	return rc;
}

/* ---- the model cases ---- */

static struct hr_value VALS[] = {
	{.type = HR_NULL},
	{.type = HR_INTEGER, .i = 0},
	{.type = HR_INTEGER, .i = -1},
	{.type = HR_INTEGER, .i = INT64_MIN},
	{.type = HR_INTEGER, .i = INT64_MAX},
	{.type = HR_FLOAT, .f = 3.5},
	{.type = HR_FLOAT, .f = -0.0},
	{.type = HR_FLOAT, .f = 1e300},
	{.type = HR_FLOAT, .f = 5e-324},
	{.type = HR_TEXT, .s = "", .n = 0},
	{.type = HR_TEXT, .s = "h\xc3\xa9llo \xf0\x9f\x98\x80", .n = 11},
	{.type = HR_TEXT, .s = "a\0b", .n = 3}, /* an embedded NUL keeps the length */
	{.type = HR_BLOB, .s = "", .n = 0},
	{.type = HR_BLOB, .s = "\x00\x01\xff\x80", .n = 4},
};
#define NVALS (sizeof VALS / sizeof VALS[0])

static struct hr_named_arg NAMED[] = {
	{.name = ":a", .value = {.type = HR_INTEGER, .i = 7}},
	{.name = "b", .value = {.type = HR_TEXT, .s = "x", .n = 1}},
	{.name = "$c", .value = {.type = HR_NULL}},
};

static void test_hello(void)
{
	for (size_t k = 0; k < NCODECS; k++) {
		C = &CODECS[k];
		msg_round(&(struct hr_client_msg){.type = HR_CMSG_HELLO});
		msg_round(&(struct hr_client_msg){.type = HR_CMSG_HELLO, .jwt = "eyJ.abc.def"});
	}
}

static void test_execute_values(void)
{
	for (size_t k = 0; k < NCODECS; k++) {
		C = &CODECS[k];
		struct hr_client_msg m = {.type = HR_CMSG_REQUEST, .request_id = -5};
		m.req.type = HR_REQ_EXECUTE;
		m.req.stream_id = INT32_MAX;
		m.req.stmt = (struct hr_stmt){.sql = "SELECT ?", .args = VALS, .nargs = NVALS, .want_rows = true};
		msg_round(&m);
		/* every value alone, too (also as a named arg) */
		for (size_t i = 0; i < NVALS; i++) {
			struct hr_named_arg na = {.name = "@v", .value = VALS[i]};
			m.req.stmt = (struct hr_stmt){.sql = "SELECT @v", .named = &na, .nnamed = 1, .want_rows = false};
			msg_round(&m);
		}
		m.req.stmt = (struct hr_stmt){.has_sql_id = true, .sql_id = -3, .named = NAMED, .nnamed = 3, .want_rows = true};
		msg_round(&m);
	}
}

static void test_decoded_text_is_nul_terminated(void)
{
	for (size_t k = 0; k < NCODECS; k++) {
		C = &CODECS[k];
		struct hr_client_msg m = {.type = HR_CMSG_REQUEST, .request_id = 1}, out;
		m.req.type = HR_REQ_EXECUTE;
		m.req.stmt = (struct hr_stmt){.sql = "SELECT ?", .args = &VALS[10], .nargs = 1, .want_rows = true};
		CHECKC(rt_msg(&m, &out) == 0);
		CHECKC(out.req.stmt.args[0].s[out.req.stmt.args[0].n] == 0);
		CHECKC(strcmp(out.req.stmt.sql, "SELECT ?") == 0);
	}
}

static struct hr_cond leaf_ok = {.type = HR_COND_OK, .step = 0};
static struct hr_cond leaf_err = {.type = HR_COND_ERROR, .step = 1};
static struct hr_cond leaf_auto = {.type = HR_COND_IS_AUTOCOMMIT};

static void make_batch(struct hr_batch *b, struct hr_step *steps, struct hr_cond *conds)
{
	/* not(ok 0); and(ok 0, error 1, not(is_autocommit)); or(); or(error 1) */
	conds[0] = (struct hr_cond){.type = HR_COND_NOT, .conds = &leaf_ok, .nconds = 1};
	conds[1] = (struct hr_cond){.type = HR_COND_NOT, .conds = &leaf_auto, .nconds = 1};
	conds[2] = leaf_ok;
	conds[3] = leaf_err;
	conds[4] = conds[1];
	conds[5] = (struct hr_cond){.type = HR_COND_AND, .conds = &conds[2], .nconds = 3};
	conds[6] = (struct hr_cond){.type = HR_COND_OR, .conds = NULL, .nconds = 0};
	conds[7] = (struct hr_cond){.type = HR_COND_OR, .conds = &leaf_err, .nconds = 1};
	steps[0] = (struct hr_step){.stmt = {.sql = "BEGIN", .want_rows = true}};
	steps[1] = (struct hr_step){.cond = &leaf_ok, .stmt = {.sql = "INSERT", .args = VALS, .nargs = 3}};
	steps[2] = (struct hr_step){.cond = &conds[0], .stmt = {.has_sql_id = true, .sql_id = 9, .want_rows = true}};
	steps[3] = (struct hr_step){.cond = &conds[5], .stmt = {.sql = "COMMIT", .want_rows = true}};
	steps[4] = (struct hr_step){.cond = &conds[6], .stmt = {.sql = "x", .named = NAMED, .nnamed = 2}};
	steps[5] = (struct hr_step){.cond = &conds[7], .stmt = {.sql = "ROLLBACK", .want_rows = true}};
	steps[6] = (struct hr_step){.cond = &leaf_auto, .stmt = {.sql = "SELECT 1", .want_rows = true}};
	*b = (struct hr_batch){.steps = steps, .nsteps = 7};
}

static void test_batch_and_cursor_requests(void)
{
	struct hr_step steps[7];
	struct hr_cond conds[8];
	for (size_t k = 0; k < NCODECS; k++) {
		C = &CODECS[k];
		struct hr_client_msg m = {.type = HR_CMSG_REQUEST, .request_id = 2};
		m.req.type = HR_REQ_BATCH;
		m.req.stream_id = 4;
		make_batch(&m.req.batch, steps, conds);
		msg_round(&m);
		m.req.batch.nsteps = 0; /* an empty batch */
		msg_round(&m);
		m.req.type = HR_REQ_OPEN_CURSOR;
		m.req.cursor_id = -8;
		make_batch(&m.req.batch, steps, conds);
		msg_round(&m);

		struct hr_cursor_req cr = {.baton = "bat", .batch = m.req.batch}, out;
		struct buf b;
		buf_init(&b);
		C->enc_cur(&b, &cr);
		CHECKC(C->dec_cur(&A, b.p, b.len, &out, &E) == 0);
		CHECKC(str_eq(out.baton, "bat") && batch_eq(&out.batch, &cr.batch));
		b.len = 0;
		cr.baton = NULL;
		C->enc_cur(&b, &cr);
		CHECKC(C->dec_cur(&A, b.p, b.len, &out, &E) == 0);
		CHECKC(out.baton == NULL && batch_eq(&out.batch, &cr.batch));
		buf_free(&b);
	}
}

static void test_every_ws_request(void)
{
	static const struct hr_req reqs[] = {
		{.type = HR_REQ_OPEN_STREAM, .stream_id = 1},
		{.type = HR_REQ_CLOSE_STREAM, .stream_id = -1},
		{.type = HR_REQ_CLOSE_CURSOR, .cursor_id = 3},
		{.type = HR_REQ_FETCH_CURSOR, .cursor_id = 3, .max_count = UINT32_MAX},
		{.type = HR_REQ_SEQUENCE, .stream_id = 2, .sql = "CREATE TABLE t (x); SELECT 1"},
		{.type = HR_REQ_SEQUENCE, .stream_id = 2, .has_sql_id = true, .sql_id = 0},
		{.type = HR_REQ_DESCRIBE, .stream_id = 2, .sql = "SELECT :a"},
		{.type = HR_REQ_DESCRIBE, .stream_id = 2, .has_sql_id = true, .sql_id = INT32_MIN},
		{.type = HR_REQ_STORE_SQL, .has_sql_id = true, .sql_id = 150, .sql = "SELECT 'stored'"},
		{.type = HR_REQ_STORE_SQL, .has_sql_id = true, .sql_id = 0, .sql = ""},
		{.type = HR_REQ_CLOSE_SQL, .has_sql_id = true, .sql_id = 150},
		{.type = HR_REQ_GET_AUTOCOMMIT, .stream_id = 9},
	};
	for (size_t k = 0; k < NCODECS; k++) {
		C = &CODECS[k];
		for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
			struct hr_client_msg m = {.type = HR_CMSG_REQUEST, .request_id = (int32_t)i, .req = reqs[i]};
			msg_round(&m);
		}
	}
}

static void test_pipeline(void)
{
	struct hr_step steps[7];
	struct hr_cond conds[8];
	struct hr_req reqs[9] = {
		{.type = HR_REQ_EXECUTE, .stmt = {.sql = "SELECT ?", .args = VALS, .nargs = NVALS, .want_rows = true}},
		{.type = HR_REQ_BATCH},
		{.type = HR_REQ_SEQUENCE, .sql = "SELECT 1; SELECT 2"},
		{.type = HR_REQ_DESCRIBE, .has_sql_id = true, .sql_id = 4},
		{.type = HR_REQ_STORE_SQL, .has_sql_id = true, .sql_id = 4, .sql = "SELECT 4"},
		{.type = HR_REQ_CLOSE_SQL, .has_sql_id = true, .sql_id = 4},
		{.type = HR_REQ_GET_AUTOCOMMIT},
		{.type = HR_REQ_EXECUTE, .stmt = {.has_sql_id = true, .sql_id = 4, .want_rows = false}},
		{.type = HR_REQ_CLOSE},
	};
	make_batch(&reqs[1].batch, steps, conds);
	for (size_t k = 0; k < NCODECS; k++) {
		C = &CODECS[k];
		for (int with_baton = 0; with_baton < 2; with_baton++) {
			struct hr_pipeline_req p = {.baton = with_baton ? "AAAA-baton" : NULL, .requests = reqs, .nrequests = 9}, out;
			CHECKC(rt_pipe(&p, &out) == 0);
			CHECKC(str_eq(out.baton, p.baton));
			CHECKC(out.nrequests == 9);
			for (size_t i = 0; i < 9 && i < out.nrequests; i++)
				CHECKC(req_eq(&out.requests[i], &reqs[i], false));
		}
		struct hr_pipeline_req empty = {0}, out;
		CHECKC(rt_pipe(&empty, &out) == 0 && out.nrequests == 0 && out.baton == NULL);
	}
}

/* Rules of the model, broken the same way through both codecs. */
static void test_model_rule_errors(void)
{
	for (size_t k = 0; k < NCODECS; k++) {
		C = &CODECS[k];
		struct hr_client_msg m = {.type = HR_CMSG_REQUEST, .request_id = 1}, out;
		m.req.type = HR_REQ_EXECUTE;
		m.req.stmt = (struct hr_stmt){.sql = "SELECT 1", .has_sql_id = true, .sql_id = 1, .want_rows = true};
		CHECKC(rt_msg(&m, &out) == HJSON_E_INVALID && HJSON_E_INVALID == HPB_E_INVALID);
		CHECKC(strstr(E.msg, "not both") != NULL);
		m.req.stmt = (struct hr_stmt){.want_rows = true}; /* neither */
		CHECKC(rt_msg(&m, &out) == HPB_E_INVALID);
		m.req = (struct hr_req){.type = HR_REQ_SEQUENCE, .stream_id = 1}; /* neither */
		CHECKC(rt_msg(&m, &out) == HPB_E_INVALID);
		m.req = (struct hr_req){.type = HR_REQ_DESCRIBE, .sql = "x", .has_sql_id = true, .sql_id = 2};
		CHECKC(rt_msg(&m, &out) == HPB_E_INVALID);
		/* inside a batch step, and inside a pipeline */
		struct hr_step st = {.stmt = {.want_rows = true}};
		m.req = (struct hr_req){.type = HR_REQ_BATCH, .batch = {.steps = &st, .nsteps = 1}};
		CHECKC(rt_msg(&m, &out) == HPB_E_INVALID);
		struct hr_req q = {.type = HR_REQ_SEQUENCE, .sql = "x", .has_sql_id = true, .sql_id = 1};
		struct hr_pipeline_req p = {.requests = &q, .nrequests = 1}, pout;
		CHECKC(rt_pipe(&p, &pout) == HPB_E_INVALID);
		/* the error classes have the same numbers in both codecs */
		CHECKC(HJSON_E_SYNTAX == HPB_E_SYNTAX && HJSON_E_SHAPE == HPB_E_SHAPE &&
		       HJSON_E_UNKNOWN_TYPE == HPB_E_UNKNOWN_TYPE);
	}
}

int main(void)
{
	arena_init(&A);
	T_RUN(test_hello);
	T_RUN(test_execute_values);
	T_RUN(test_decoded_text_is_nul_terminated);
	T_RUN(test_batch_and_cursor_requests);
	T_RUN(test_every_ws_request);
	T_RUN(test_pipeline);
	T_RUN(test_model_rule_errors);
	arena_free(&A);
	return T_DONE();
}
