/* Unit tests of proto/hjson_client.c: server messages and pipeline responses
 * as sqld writes them (hjson's server encoders) decode back to the same
 * model; requests the client encodes decode on the server side; hand-written
 * bodies cover the leniencies and the errors. */
#include "hjson.h"
#include "hjson_client.h"
#include "t.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

static struct arena A;

static int dec_msg(const char *s, struct hr_server_msg *m)
{
	struct err e;
	return hjson_client_decode_server_msg(&A, s, strlen(s), m, &e);
}

static void test_hello(void)
{
	struct hr_server_msg m;
	CHECK(dec_msg("{\"type\":\"hello_ok\"}", &m) == 0 && m.type == HR_SMSG_HELLO_OK);
	CHECK(dec_msg("{\"type\":\"hello_error\",\"error\":{\"message\":\"Authentication failed: x\",\"code\":\"AUTH_JWT_INVALID\"}}",
		      &m) == 0);
	CHECK(m.type == HR_SMSG_HELLO_ERROR);
	CHECK_STR(m.error.code, "AUTH_JWT_INVALID");
	CHECK_STR(m.error.message, "Authentication failed: x");
	arena_free(&A);
}

static void test_roundtrip_stmt_result(void)
{
	struct hr_col cols[3] = {{"a", "INTEGER"}, {NULL, NULL}, {"c", "BLOB"}};
	struct hr_value rows[6] = {
		{.type = HR_INTEGER, .i = INT64_MIN},
		{.type = HR_FLOAT, .f = 0.1},
		{.type = HR_BLOB, .s = "\x00\x01\xff", .n = 3},
		{.type = HR_TEXT, .s = "t\0\"x", .n = 4},
		{.type = HR_NULL},
		{.type = HR_FLOAT, .f = -1e300},
	};
	struct hr_stmt_result sr = {.cols = cols, .ncols = 3, .rows = rows, .nrows = 2, .affected_row_count = 7,
				    .has_last_insert_rowid = true, .last_insert_rowid = -5,
				    .has_replication_index = true, .replication_index = UINT64_MAX, .rows_read = 3};
	struct hr_server_msg m = {.type = HR_SMSG_RESPONSE_OK, .request_id = -17,
				  .resp = {.type = HR_REQ_EXECUTE, .stmt_result = &sr}};
	struct buf b;
	buf_init(&b);
	hjson_encode_server_msg(&b, &m);
	struct hr_server_msg d;
	struct err e;
	int rc = hjson_client_decode_server_msg(&A, b.p, b.len, &d, &e);
	if (rc)
		fprintf(stderr, "%s\n%s\n", e.msg, b.p);
	CHECK(rc == 0);
	CHECK(d.type == HR_SMSG_RESPONSE_OK && d.request_id == -17 && d.resp.type == HR_REQ_EXECUTE);
	struct hr_stmt_result *r = d.resp.stmt_result;
	CHECK(r && r->ncols == 3 && r->nrows == 2);
	if (r && r->ncols == 3 && r->nrows == 2) {
		CHECK_STR(r->cols[0].name, "a");
		CHECK_STR(r->cols[0].decltype, "INTEGER");
		CHECK(r->cols[1].name == NULL && r->cols[1].decltype == NULL);
		CHECK(r->rows[0].type == HR_INTEGER && r->rows[0].i == INT64_MIN);
		CHECK(r->rows[1].type == HR_FLOAT && r->rows[1].f == 0.1);
		CHECK(r->rows[2].type == HR_BLOB && r->rows[2].n == 3 && !memcmp(r->rows[2].s, "\x00\x01\xff", 3));
		CHECK(r->rows[3].type == HR_TEXT && r->rows[3].n == 4 && !memcmp(r->rows[3].s, "t\0\"x", 4));
		CHECK(r->rows[4].type == HR_NULL);
		CHECK(r->rows[5].f == -1e300);
		CHECK(r->affected_row_count == 7 && r->has_last_insert_rowid && r->last_insert_rowid == -5);
		CHECK(r->has_replication_index && r->replication_index == UINT64_MAX && r->rows_read == 3);
	}
	buf_free(&b);
	arena_free(&A);
}

static void test_roundtrip_pipeline(void)
{
	struct hr_describe_param params[2] = {{":a"}, {NULL}};
	struct hr_col dcols[1] = {{"x", NULL}};
	struct hr_describe_result dr = {.params = params, .nparams = 2, .cols = dcols, .ncols = 1, .is_readonly = true};
	struct hr_stmt_result s0 = {.ncols = 0};
	struct hr_error be = {.message = "boom", .code = "SQLITE_ERROR"};
	struct hr_stmt_result *srs[3] = {&s0, NULL, NULL};
	struct hr_error *ers[3] = {NULL, &be, NULL};
	struct hr_batch_result br = {.nsteps = 3, .step_results = srs, .step_errors = ers};
	struct hr_stream_result res[5] = {
		{.ok = true, .resp = {.type = HR_REQ_DESCRIBE, .describe_result = &dr}},
		{.ok = false, .error = {.message = "SQLite error: no such table: t", .code = "SQLITE_ERROR"}},
		{.ok = true, .resp = {.type = HR_REQ_GET_AUTOCOMMIT, .is_autocommit = false}},
		{.ok = true, .resp = {.type = HR_REQ_BATCH, .batch_result = &br}},
		{.ok = true, .resp = {.type = HR_REQ_CLOSE}},
	};
	struct hr_pipeline_resp p = {.baton = "b4t0n", .base_url = NULL, .results = res, .nresults = 5};
	struct buf b;
	buf_init(&b);
	hjson_encode_pipeline_resp(&b, &p);
	struct hr_pipeline_resp d;
	struct err e;
	int rc = hjson_client_decode_pipeline_resp(&A, b.p, b.len, &d, &e);
	if (rc)
		fprintf(stderr, "%s\n%s\n", e.msg, b.p);
	CHECK(rc == 0 && d.nresults == 5);
	if (rc == 0 && d.nresults == 5) {
		CHECK_STR(d.baton, "b4t0n");
		CHECK(d.base_url == NULL);
		CHECK(d.results[0].ok && d.results[0].resp.describe_result->nparams == 2);
		CHECK_STR(d.results[0].resp.describe_result->params[0].name, ":a");
		CHECK(d.results[0].resp.describe_result->params[1].name == NULL);
		CHECK(d.results[0].resp.describe_result->is_readonly && !d.results[0].resp.describe_result->is_explain);
		CHECK(!d.results[1].ok);
		CHECK_STR(d.results[1].error.code, "SQLITE_ERROR");
		CHECK(d.results[2].ok && d.results[2].resp.type == HR_REQ_GET_AUTOCOMMIT && !d.results[2].resp.is_autocommit);
		struct hr_batch_result *db = d.results[3].resp.batch_result;
		CHECK(db && db->nsteps == 3 && db->step_results[0] && !db->step_results[1] && db->step_errors[1] &&
		      !db->step_errors[2]);
		CHECK(d.results[4].ok && d.results[4].resp.type == HR_REQ_CLOSE);
	}
	buf_free(&b);
	arena_free(&A);
}

static void test_requests_decode_on_server(void)
{
	struct hr_value args[2] = {{.type = HR_INTEGER, .i = 5}, {.type = HR_TEXT, .s = "x", .n = 1}};
	struct hr_req q = {.type = HR_REQ_EXECUTE, .stream_id = 1,
			   .stmt = {.sql = "SELECT ?, ?", .args = args, .nargs = 2, .want_rows = true}};
	struct buf b;
	buf_init(&b);
	hjson_client_encode_request(&b, 42, &q);
	struct hr_client_msg m;
	struct err e;
	CHECK(hjson_decode_client_msg(&A, b.p, b.len, &m, &e) == 0);
	CHECK(m.type == HR_CMSG_REQUEST && m.request_id == 42 && m.req.type == HR_REQ_EXECUTE && m.req.stream_id == 1);
	CHECK_STR(m.req.stmt.sql, "SELECT ?, ?");
	CHECK(m.req.stmt.nargs == 2 && m.req.stmt.args[0].i == 5 && m.req.stmt.want_rows);
	b.len = 0;
	hjson_client_encode_hello(&b, "tok");
	CHECK(hjson_decode_client_msg(&A, b.p, b.len, &m, &e) == 0 && m.type == HR_CMSG_HELLO);
	CHECK_STR(m.jwt, "tok");
	b.len = 0;
	struct hr_req reqs[2] = {{.type = HR_REQ_DESCRIBE, .sql = "SELECT :a"}, {.type = HR_REQ_GET_AUTOCOMMIT}};
	hjson_client_encode_pipeline(&b, NULL, reqs, 2);
	struct hr_pipeline_req pr;
	CHECK(hjson_decode_pipeline_req(&A, b.p, b.len, &pr, &e) == 0);
	CHECK(pr.baton == NULL && pr.nrequests == 2 && pr.requests[0].type == HR_REQ_DESCRIBE &&
	      pr.requests[1].type == HR_REQ_GET_AUTOCOMMIT);
	buf_free(&b);
	arena_free(&A);
}

static void test_leniency(void)
{
	struct hr_server_msg m;
	/* integer as a JSON number, float null, extended_code, unknown fields */
	CHECK(dec_msg("{\"type\":\"response_ok\",\"request_id\":1,\"extra\":[1],\"response\":{\"type\":\"execute\","
		      "\"result\":{\"cols\":[{\"name\":\"a\"},{}],\"rows\":[[{\"type\":\"integer\",\"value\":12},"
		      "{\"type\":\"float\",\"value\":null}]],\"affected_row_count\":\"3\",\"last_insert_rowid\":null}}}",
		      &m) == 0);
	struct hr_stmt_result *r = m.resp.stmt_result;
	CHECK(r && r->rows[0].i == 12 && r->rows[1].type == HR_NULL && r->affected_row_count == 3 &&
	      !r->has_last_insert_rowid && !r->has_replication_index);
	CHECK(dec_msg("{\"type\":\"response_error\",\"request_id\":2,\"error\":{\"message\":\"m\",\"code\":\"SQLITE_CONSTRAINT\","
		      "\"extended_code\":2067}}",
		      &m) == 0);
	CHECK(m.type == HR_SMSG_RESPONSE_ERROR && m.request_id == 2 && m.error.extended_code == 2067);
	/* open_stream etc. carry nothing */
	CHECK(dec_msg("{\"type\":\"response_ok\",\"request_id\":3,\"response\":{\"type\":\"open_stream\"}}", &m) == 0 &&
	      m.resp.type == HR_REQ_OPEN_STREAM);
	arena_free(&A);
}

static void test_errors(void)
{
	struct hr_server_msg m;
	struct {
		const char *s;
		int want;
	} cases[] = {
		{"", HJSON_E_SYNTAX},
		{"{\"type\":\"hello_ok\"} x", HJSON_E_SYNTAX},
		{"[1]", HJSON_E_SHAPE},
		{"{\"type\":\"nope\"}", HJSON_E_UNKNOWN_TYPE},
		{"{\"type\":1}", HJSON_E_SHAPE},
		{"{\"type\":\"response_ok\",\"response\":{\"type\":\"open_stream\"}}", HJSON_E_SHAPE}, /* no id */
		{"{\"type\":\"response_ok\",\"request_id\":4294967296,\"response\":{\"type\":\"open_stream\"}}", HJSON_E_SHAPE},
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"frobnicate\"}}", HJSON_E_UNKNOWN_TYPE},
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"execute\"}}", HJSON_E_SHAPE},
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"execute\",\"result\":{\"cols\":[{}],"
		 "\"rows\":[[]]}}}",
		 HJSON_E_SHAPE}, /* short row */
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"execute\",\"result\":{\"cols\":[{}],"
		 "\"rows\":[[{\"type\":\"integer\",\"value\":\"9223372036854775808\"}]]}}}",
		 HJSON_E_SHAPE},
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"execute\",\"result\":{\"cols\":[{}],"
		 "\"rows\":[[{\"type\":\"blob\",\"base64\":\"A\"}]]}}}",
		 HJSON_E_SHAPE},
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"execute\",\"result\":{\"cols\":[{}],"
		 "\"rows\":[[{\"type\":\"date\"}]]}}}",
		 HJSON_E_SHAPE},
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"get_autocommit\"}}", HJSON_E_SHAPE},
		{"{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"batch\",\"result\":{\"step_results\":[null],"
		 "\"step_errors\":[]}}}",
		 HJSON_E_SHAPE},
		{"{\"type\":\"response_error\",\"request_id\":1,\"error\":{\"code\":\"X\"}}", HJSON_E_SHAPE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = dec_msg(cases[i].s, &m);
		if (rc != cases[i].want)
			fprintf(stderr, "case %zu: got %d want %d\n", i, rc, cases[i].want);
		CHECK(rc == cases[i].want);
	}
	struct hr_pipeline_resp p;
	struct err e;
	const char *bad = "{\"baton\":null,\"results\":[{\"type\":\"maybe\"}]}";
	CHECK(hjson_client_decode_pipeline_resp(&A, bad, strlen(bad), &p, &e) == HJSON_E_SHAPE);
	const char *bad2 = "{\"baton\":7,\"results\":[]}";
	CHECK(hjson_client_decode_pipeline_resp(&A, bad2, strlen(bad2), &p, &e) == HJSON_E_SHAPE);
	arena_free(&A);
}

static void test_error_bodies(void)
{
	struct hr_error er;
	struct err e;
	const char *a = "{\"message\":\"The stream has expired due to inactivity\",\"code\":\"STREAM_EXPIRED\"}";
	CHECK(hjson_client_decode_error(&A, a, strlen(a), &er, &e) == 0);
	CHECK_STR(er.code, "STREAM_EXPIRED");
	const char *b = "{\"error\":\"Unauthorized: `no token`\"}";
	CHECK(hjson_client_decode_error(&A, b, strlen(b), &er, &e) == 0 && er.code == NULL);
	CHECK_STR(er.message, "Unauthorized: `no token`");
	CHECK(hjson_client_decode_error(&A, "Received an invalid baton", 25, &er, &e) == HJSON_E_SYNTAX);
	arena_free(&A);
}

int main(void)
{
	arena_init(&A);
	T_RUN(test_hello);
	T_RUN(test_roundtrip_stmt_result);
	T_RUN(test_roundtrip_pipeline);
	T_RUN(test_requests_decode_on_server);
	T_RUN(test_leniency);
	T_RUN(test_errors);
	T_RUN(test_error_bodies);
	return T_DONE();
}
