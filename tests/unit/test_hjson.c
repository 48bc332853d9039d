/* Unit tests of proto/hjson.c: every request and response shape, exact JSON
 * for the encoders, every decoder error class, floats, base64, legacy API. */
#include "hjson.h"
#include "t.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static struct arena A;
static struct err E;
static struct buf B;

/* Empties the shared buffer so the next encoder writes from the start. */
static void reset(void)
{
	buf_free(&B);
	buf_reserve(&B, 1);
	B.p[0] = 0;
}

#define ENC(call) (reset(), (call), (const char *)B.p)

static int msg(const char *json, struct hr_client_msg *m)
{
	E.msg[0] = 0;
	return hjson_decode_client_msg(&A, json, strlen(json), m, &E);
}

static int pipe_req(const char *json, struct hr_pipeline_req *p)
{
	E.msg[0] = 0;
	return hjson_decode_pipeline_req(&A, json, strlen(json), p, &E);
}

static int v1_exec(const char *json, struct hr_stmt *s)
{
	E.msg[0] = 0;
	return hjson_decode_v1_execute(&A, json, strlen(json), s, &E);
}

static int legacy(const char *json, struct hr_stmt **s, size_t *n)
{
	E.msg[0] = 0;
	return hjson_decode_legacy(&A, json, strlen(json), s, n, &E);
}

/* WS: decode `in`, check it re-encodes to `canon`, and that `canon` decodes
 * and re-encodes to itself. */
static void ws_round(const char *in, const char *canon, struct hr_client_msg *m)
{
	CHECK(msg(in, m) == 0);
	CHECK_STR(ENC(hjson_encode_client_msg(&B, m)), canon);
	struct hr_client_msg m2;
	CHECK(msg(canon, &m2) == 0);
	CHECK_STR(ENC(hjson_encode_client_msg(&B, &m2)), canon);
}

static void pipe_round(const char *in, const char *canon, struct hr_pipeline_req *p)
{
	CHECK(pipe_req(in, p) == 0);
	CHECK_STR(ENC(hjson_encode_pipeline_req(&B, p)), canon);
	struct hr_pipeline_req p2;
	CHECK(pipe_req(canon, &p2) == 0);
	CHECK_STR(ENC(hjson_encode_pipeline_req(&B, &p2)), canon);
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* ---------------------------------------------------------------- WS */

static void test_hello(void)
{
	struct hr_client_msg m;
	ws_round("{\"type\":\"hello\",\"jwt\":\"abc\"}", "{\"type\":\"hello\",\"jwt\":\"abc\"}", &m);
	CHECK(m.type == HR_CMSG_HELLO);
	CHECK_STR(m.jwt, "abc");
	CHECK(msg("{\"type\":\"hello\"}", &m) == 0 && m.type == HR_CMSG_HELLO && m.jwt == NULL);
	CHECK(msg("{\"type\":\"hello\",\"jwt\":null}", &m) == 0 && m.jwt == NULL);
	CHECK(msg("{\"jwt\":\"x\",\"extra\":[1,{}],\"type\":\"hello\"}", &m) == 0 && m.jwt && strcmp(m.jwt, "x") == 0);
	CHECK(msg("{\"type\":\"hello\",\"jwt\":5}", &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`jwt`"));
	CHECK_STR(ENC(hjson_encode_client_msg(&B, &(struct hr_client_msg){.type = HR_CMSG_HELLO})),
		  "{\"type\":\"hello\",\"jwt\":null}");
}

static void test_ws_stream_requests(void)
{
	struct hr_client_msg m;
	ws_round("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"open_stream\",\"stream_id\":2}}",
		 "{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"open_stream\",\"stream_id\":2}}", &m);
	CHECK(m.type == HR_CMSG_REQUEST && m.request_id == 1 && m.req.type == HR_REQ_OPEN_STREAM && m.req.stream_id == 2);
	ws_round("{\"request\":{\"stream_id\":-7,\"type\":\"close_stream\"},\"request_id\":-2147483648,\"type\":\"request\"}",
		 "{\"type\":\"request\",\"request_id\":-2147483648,\"request\":{\"type\":\"close_stream\",\"stream_id\":-7}}",
		 &m);
	CHECK(m.request_id == INT32_MIN && m.req.type == HR_REQ_CLOSE_STREAM && m.req.stream_id == -7);
	ws_round("{\"type\":\"request\",\"request_id\":2147483647,\"request\":{\"type\":\"get_autocommit\",\"stream_id\":0}}",
		 "{\"type\":\"request\",\"request_id\":2147483647,\"request\":{\"type\":\"get_autocommit\",\"stream_id\":0}}",
		 &m);
	CHECK(m.request_id == INT32_MAX && m.req.type == HR_REQ_GET_AUTOCOMMIT);
}

static void test_ws_execute(void)
{
	struct hr_client_msg m;
	ws_round("{\"type\":\"request\",\"request_id\":3,\"request\":{\"type\":\"execute\",\"stream_id\":1,"
		 "\"stmt\":{\"sql\":\"SELECT ?\",\"args\":[{\"type\":\"integer\",\"value\":\"42\"}],\"want_rows\":false},"
		 "\"replication_index\":\"7\"}}",
		 "{\"type\":\"request\",\"request_id\":3,\"request\":{\"type\":\"execute\",\"stream_id\":1,"
		 "\"stmt\":{\"sql\":\"SELECT ?\",\"args\":[{\"type\":\"integer\",\"value\":\"42\"}],\"named_args\":[],"
		 "\"want_rows\":false}}}",
		 &m);
	CHECK(m.req.type == HR_REQ_EXECUTE && m.req.stream_id == 1);
	CHECK_STR(m.req.stmt.sql, "SELECT ?");
	CHECK(!m.req.stmt.has_sql_id && m.req.stmt.nargs == 1 && m.req.stmt.args[0].type == HR_INTEGER &&
	      m.req.stmt.args[0].i == 42 && !m.req.stmt.want_rows && m.req.stmt.nnamed == 0);
	/* stmt by sql_id, want_rows defaults to true */
	ws_round("{\"type\":\"request\",\"request_id\":4,\"request\":{\"type\":\"execute\",\"stream_id\":1,"
		 "\"stmt\":{\"sql_id\":9,\"sql\":null}}}",
		 "{\"type\":\"request\",\"request_id\":4,\"request\":{\"type\":\"execute\",\"stream_id\":1,"
		 "\"stmt\":{\"sql_id\":9,\"args\":[],\"named_args\":[],\"want_rows\":true}}}",
		 &m);
	CHECK(m.req.stmt.sql == NULL && m.req.stmt.has_sql_id && m.req.stmt.sql_id == 9 && m.req.stmt.want_rows);
	CHECK(msg("{\"type\":\"request\",\"request_id\":4,\"request\":{\"type\":\"execute\",\"stream_id\":1}}", &m) ==
	      HJSON_E_SHAPE);
	CHECK(has(E.msg, "`stmt`"));
}

static void test_ws_batch_and_cursor(void)
{
	struct hr_client_msg m;
	const char *canon =
		"{\"type\":\"request\",\"request_id\":5,\"request\":{\"type\":\"batch\",\"stream_id\":1,\"batch\":{\"steps\":["
		"{\"stmt\":{\"sql\":\"BEGIN\",\"args\":[],\"named_args\":[],\"want_rows\":true}},"
		"{\"condition\":{\"type\":\"ok\",\"step\":0},\"stmt\":{\"sql\":\"COMMIT\",\"args\":[],\"named_args\":[],"
		"\"want_rows\":true}}]}}}";
	ws_round("{\"type\":\"request\",\"request_id\":5,\"request\":{\"type\":\"batch\",\"stream_id\":1,\"batch\":{"
		 "\"steps\":[{\"stmt\":{\"sql\":\"BEGIN\"},\"condition\":null},{\"condition\":{\"type\":\"ok\",\"step\":0},"
		 "\"stmt\":{\"sql\":\"COMMIT\"}}],\"replication_index\":null}}}",
		 canon, &m);
	CHECK(m.req.type == HR_REQ_BATCH && m.req.batch.nsteps == 2 && m.req.batch.steps[0].cond == NULL &&
	      m.req.batch.steps[1].cond && m.req.batch.steps[1].cond->type == HR_COND_OK &&
	      m.req.batch.steps[1].cond->step == 0);

	ws_round("{\"type\":\"request\",\"request_id\":6,\"request\":{\"type\":\"open_cursor\",\"stream_id\":1,"
		 "\"cursor_id\":8,\"batch\":{\"steps\":[]}}}",
		 "{\"type\":\"request\",\"request_id\":6,\"request\":{\"type\":\"open_cursor\",\"stream_id\":1,"
		 "\"cursor_id\":8,\"batch\":{\"steps\":[]}}}",
		 &m);
	CHECK(m.req.type == HR_REQ_OPEN_CURSOR && m.req.cursor_id == 8 && m.req.batch.nsteps == 0);
	ws_round("{\"type\":\"request\",\"request_id\":7,\"request\":{\"type\":\"fetch_cursor\",\"cursor_id\":8,"
		 "\"max_count\":4294967295}}",
		 "{\"type\":\"request\",\"request_id\":7,\"request\":{\"type\":\"fetch_cursor\",\"cursor_id\":8,"
		 "\"max_count\":4294967295}}",
		 &m);
	CHECK(m.req.type == HR_REQ_FETCH_CURSOR && m.req.cursor_id == 8 && m.req.max_count == UINT32_MAX);
	ws_round("{\"type\":\"request\",\"request_id\":8,\"request\":{\"type\":\"close_cursor\",\"cursor_id\":8}}",
		 "{\"type\":\"request\",\"request_id\":8,\"request\":{\"type\":\"close_cursor\",\"cursor_id\":8}}", &m);
	CHECK(m.req.type == HR_REQ_CLOSE_CURSOR && m.req.cursor_id == 8);
}

static void test_ws_sql_requests(void)
{
	struct hr_client_msg m;
	ws_round("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"sequence\",\"stream_id\":2,"
		 "\"sql\":\"CREATE TABLE t(x); INSERT INTO t VALUES (1)\"}}",
		 "{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"sequence\",\"stream_id\":2,"
		 "\"sql\":\"CREATE TABLE t(x); INSERT INTO t VALUES (1)\"}}",
		 &m);
	CHECK(m.req.type == HR_REQ_SEQUENCE && m.req.sql && !m.req.has_sql_id);
	ws_round("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"sequence\",\"stream_id\":2,\"sql_id\":3}}",
		 "{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"sequence\",\"stream_id\":2,\"sql_id\":3}}",
		 &m);
	CHECK(m.req.sql == NULL && m.req.has_sql_id && m.req.sql_id == 3);
	ws_round("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"describe\",\"stream_id\":2,"
		 "\"sql\":\"SELECT :a\"}}",
		 "{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"describe\",\"stream_id\":2,"
		 "\"sql\":\"SELECT :a\"}}",
		 &m);
	CHECK(m.req.type == HR_REQ_DESCRIBE);
	ws_round("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"store_sql\",\"sql_id\":5,\"sql\":\"SELECT 1\"}}",
		 "{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"store_sql\",\"sql\":\"SELECT 1\",\"sql_id\":5}}",
		 &m);
	CHECK(m.req.type == HR_REQ_STORE_SQL && m.req.has_sql_id && m.req.sql_id == 5 && strcmp(m.req.sql, "SELECT 1") == 0);
	ws_round("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"close_sql\",\"sql_id\":5}}",
		 "{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"close_sql\",\"sql_id\":5}}", &m);
	CHECK(m.req.type == HR_REQ_CLOSE_SQL && m.req.sql_id == 5);

	/* both / neither, for sequence and describe */
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"sequence\",\"stream_id\":2,"
		  "\"sql\":\"x\",\"sql_id\":1}}",
		  &m) == HJSON_E_INVALID);
	CHECK_STR(E.msg, "Either `sql` or `sql_id` are required, but not both");
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"describe\",\"stream_id\":2}}", &m) ==
	      HJSON_E_INVALID);
	CHECK_STR(E.msg, "Either `sql` or `sql_id` are required");
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"store_sql\",\"sql_id\":5}}", &m) ==
	      HJSON_E_SHAPE);
	CHECK(has(E.msg, "`sql`"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"close_sql\"}}", &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`sql_id`"));
}

static void test_ws_errors(void)
{
	struct hr_client_msg m;
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"foo\"}}", &m) == HJSON_E_UNKNOWN_TYPE);
	CHECK_STR(E.msg, "Invalid `type` in request: `foo`");
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"close\"}}", &m) == HJSON_E_UNKNOWN_TYPE);
	CHECK(msg("{\"type\":\"goodbye\"}", &m) == HJSON_E_UNKNOWN_TYPE);
	CHECK(has(E.msg, "goodbye"));
	CHECK(msg("{\"jwt\":null}", &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`type`"));
	CHECK(msg("{\"type\":1}", &m) == HJSON_E_SHAPE);
	CHECK(msg("{\"type\":\"request\",\"request\":{\"type\":\"open_stream\",\"stream_id\":1}}", &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`request_id`"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":\"1\",\"request\":{\"type\":\"open_stream\",\"stream_id\":1}}",
		  &m) == HJSON_E_SHAPE);
	CHECK(msg("{\"type\":\"request\",\"request_id\":2147483648,\"request\":{\"type\":\"open_stream\",\"stream_id\":1}}",
		  &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`request_id`") && has(E.msg, "out of range"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":1}", &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`request`"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":[]}", &m) == HJSON_E_SHAPE);
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"stream_id\":1}}", &m) == HJSON_E_SHAPE);
	/* stream_id: missing, float, out of range */
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"open_stream\"}}", &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`stream_id`"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"open_stream\",\"stream_id\":1.0}}", &m) ==
	      HJSON_E_SHAPE);
	CHECK(has(E.msg, "`stream_id`"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"open_stream\",\"stream_id\":-2147483649}}",
		  &m) == HJSON_E_SHAPE);
	/* max_count is a uint32 */
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"fetch_cursor\",\"cursor_id\":1,"
		  "\"max_count\":-1}}",
		  &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`max_count`"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"fetch_cursor\",\"cursor_id\":1,"
		  "\"max_count\":4294967296}}",
		  &m) == HJSON_E_SHAPE);
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"fetch_cursor\",\"max_count\":1}}", &m) ==
	      HJSON_E_SHAPE);
	CHECK(has(E.msg, "`cursor_id`"));
	CHECK(msg("{\"type\":\"request\",\"request_id\":1,\"request\":{\"type\":\"open_cursor\",\"stream_id\":1,"
		  "\"cursor_id\":1}}",
		  &m) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`batch`"));
	/* an embedded NUL in a type tag is no known tag */
	const char nul[] = "{\"type\":\"hello\\u0000x\"}";
	E.msg[0] = 0;
	CHECK(hjson_decode_client_msg(&A, nul, sizeof nul - 1, &m, &E) == HJSON_E_UNKNOWN_TYPE);
	/* e may be NULL */
	CHECK(hjson_decode_client_msg(&A, "{", 1, &m, NULL) == HJSON_E_SYNTAX);
	CHECK(hjson_decode_client_msg(&A, "{}", 2, &m, NULL) == HJSON_E_SHAPE);
	CHECK(hjson_decode_client_msg(&A, "{\"type\":\"x\"}", 12, &m, NULL) == HJSON_E_UNKNOWN_TYPE);
}

static void test_syntax_errors(void)
{
	struct hr_client_msg m;
	struct hr_pipeline_req p;
	CHECK(msg("", &m) == HJSON_E_SYNTAX);
	CHECK(msg("not json", &m) == HJSON_E_SYNTAX);
	CHECK(has(E.msg, "JSON"));
	CHECK(msg("{\"type\":\"hello\"} x", &m) == HJSON_E_SYNTAX);
	CHECK(msg("{\"type\":\"hello\"}{}", &m) == HJSON_E_SYNTAX);
	CHECK(msg("{\"type\":\"hello\",}", &m) == HJSON_E_SYNTAX);
	CHECK(msg("{\"type\":\"hello\",\"jwt\":\"\xff\"}", &m) == HJSON_E_SYNTAX);     /* invalid UTF-8 */
	CHECK(msg("{\"type\":\"hello\",\"jwt\":\"\xc0\xaf\"}", &m) == HJSON_E_SYNTAX); /* overlong */
	CHECK(msg("{\"type\":\"hello\",\"jwt\":\"\\ud800\"}", &m) == HJSON_E_SYNTAX);  /* lone surrogate */
	CHECK(msg("  {\"type\":\"hello\"}\n", &m) == 0);                             /* whitespace is fine */
	/* valid JSON of the wrong shape at the top */
	CHECK(msg("[]", &m) == HJSON_E_SHAPE);
	CHECK(msg("3", &m) == HJSON_E_SHAPE);
	CHECK(msg("\"hello\"", &m) == HJSON_E_SHAPE);
	CHECK(msg("null", &m) == HJSON_E_SHAPE);
	/* numbers jansson cannot hold are well-formed JSON: a shape error */
	CHECK(msg("{\"type\":\"request\",\"request_id\":99999999999999999999,\"request\":{}}", &m) == HJSON_E_SHAPE);
	CHECK(pipe_req("{\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"x\",\"args\":[{\"type\":\"float\","
		       "\"value\":1e999}]}}]}",
		       &p) == HJSON_E_SHAPE);
	/* a buffer that is not NUL-terminated is read only up to n */
	const char cut[] = "{\"type\":\"hello\"}GARBAGE";
	CHECK(hjson_decode_client_msg(&A, cut, 16, &m, &E) == 0 && m.type == HR_CMSG_HELLO);
}

/* ---------------------------------------------------------------- values, stmts */

static int value(const char *vjson, struct hr_value *out)
{
	char body[512];
	struct hr_stmt s;
	snprintf(body, sizeof body, "{\"stmt\":{\"sql\":\"?\",\"args\":[%s]}}", vjson);
	int rc = v1_exec(body, &s);
	if (rc == 0) {
		CHECK(s.nargs == 1);
		*out = s.args[0];
	}
	return rc;
}

static void test_values(void)
{
	struct hr_value v;
	CHECK(value("{\"type\":\"null\"}", &v) == 0 && v.type == HR_NULL);
	CHECK(value("{\"type\":\"null\",\"value\":5}", &v) == 0 && v.type == HR_NULL);
	CHECK(value("{\"type\":\"integer\",\"value\":\"-42\"}", &v) == 0 && v.type == HR_INTEGER && v.i == -42);
	CHECK(value("{\"type\":\"integer\",\"value\":\"9223372036854775807\"}", &v) == 0 && v.i == INT64_MAX);
	CHECK(value("{\"type\":\"integer\",\"value\":\"-9223372036854775808\"}", &v) == 0 && v.i == INT64_MIN);
	CHECK(value("{\"type\":\"integer\",\"value\":\"+7\"}", &v) == 0 && v.i == 7);
	CHECK(value("{\"type\":\"integer\",\"value\":\"0\"}", &v) == 0 && v.i == 0);
	CHECK(value("{\"type\":\"float\",\"value\":3.5}", &v) == 0 && v.type == HR_FLOAT && v.f == 3.5);
	CHECK(value("{\"type\":\"float\",\"value\":3}", &v) == 0 && v.type == HR_FLOAT && v.f == 3.0);
	CHECK(value("{\"type\":\"float\",\"value\":-0.0}", &v) == 0 && v.f == 0 && signbit(v.f));
	CHECK(value("{\"type\":\"text\",\"value\":\"h\\u00e9\"}", &v) == 0 && v.type == HR_TEXT && v.n == 3 &&
	      memcmp(v.s, "h\xc3\xa9", 4) == 0);
	CHECK(value("{\"type\":\"text\",\"value\":\"\"}", &v) == 0 && v.type == HR_TEXT && v.n == 0 && v.s && !v.s[0]);
	CHECK(value("{\"type\":\"blob\",\"base64\":\"AAEC\"}", &v) == 0 && v.type == HR_BLOB && v.n == 3 &&
	      memcmp(v.s, "\0\1\2", 3) == 0);
	CHECK(value("{\"type\":\"blob\",\"base64\":\"\"}", &v) == 0 && v.type == HR_BLOB && v.n == 0 && v.s);
}

static void test_value_errors(void)
{
	struct hr_value v;
	/* i64 must be a decimal string that fits */
	CHECK(value("{\"type\":\"integer\",\"value\":42}", &v) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`value`"));
	CHECK(value("{\"type\":\"integer\",\"value\":\"9223372036854775808\"}", &v) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "9223372036854775808"));
	CHECK(value("{\"type\":\"integer\",\"value\":\"-9223372036854775809\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"integer\",\"value\":\"99999999999999999999\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"integer\",\"value\":\"\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"integer\",\"value\":\"-\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"integer\",\"value\":\"1.0\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"integer\",\"value\":\" 1\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"integer\",\"value\":\"0x10\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"integer\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"float\",\"value\":\"1.5\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"float\",\"value\":null}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"text\",\"value\":5}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"text\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"blob\",\"value\":\"AAEC\"}", &v) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`base64`"));
	CHECK(value("{\"type\":\"blob\",\"base64\":5}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":\"date\",\"value\":\"x\"}", &v) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "date"));
	CHECK(value("{\"value\":\"x\"}", &v) == HJSON_E_SHAPE);
	CHECK(value("{\"type\":null}", &v) == HJSON_E_SHAPE);
	CHECK(value("42", &v) == HJSON_E_SHAPE);
	CHECK(value("null", &v) == HJSON_E_SHAPE);
}

static void test_base64_decode(void)
{
	struct hr_value v;
	CHECK(value("{\"type\":\"blob\",\"base64\":\"AAE=\"}", &v) == 0 && v.n == 2 && memcmp(v.s, "\0\1", 2) == 0);
	CHECK(value("{\"type\":\"blob\",\"base64\":\"AAE\"}", &v) == 0 && v.n == 2 && memcmp(v.s, "\0\1", 2) == 0);
	CHECK(value("{\"type\":\"blob\",\"base64\":\"/w==\"}", &v) == 0 && v.n == 1 && (unsigned char)v.s[0] == 0xFF);
	CHECK(value("{\"type\":\"blob\",\"base64\":\"/w\"}", &v) == 0 && v.n == 1 && (unsigned char)v.s[0] == 0xFF);
	CHECK(value("{\"type\":\"blob\",\"base64\":\"+/+/\"}", &v) == 0 && v.n == 3 &&
	      memcmp(v.s, "\xfb\xff\xbf", 3) == 0);
	static const char *bad[] = {
		"A",     /* 1 char left over */
		"AAAAA", /* idem */
		"AA=",   /* incomplete padding */
		"AA===", /* too much */
		"=",     "====", "A*==", "AA AA", "AAE=AAEC", /* padding in the middle */
		"AB",                                        /* non-zero unused bits */
		"AAF",                                       /* idem */
		"AA-_",                                      /* URL-safe alphabet is not the standard one */
		"AAEC\\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char j[128];
		snprintf(j, sizeof j, "{\"type\":\"blob\",\"base64\":\"%s\"}", bad[i]);
		int rc = value(j, &v);
		if (rc != HJSON_E_SHAPE)
			fprintf(stderr, "base64 \"%s\" gave %d\n", bad[i], rc);
		CHECK(rc == HJSON_E_SHAPE);
		CHECK(has(E.msg, "base64"));
	}
	/* the primitive: every length round-trips; a short buffer is refused */
	unsigned char src[64], dst[64];
	size_t got;
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= 40; n++) {
		reset();
		hjson_put_base64(&B, src, n);
		CHECK(B.len == (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0));
		CHECK(strchr(B.p, '=') == NULL);
		CHECK(hjson_base64_decode(B.p, B.len, dst, sizeof dst, &got) == 0 && got == n && memcmp(src, dst, n) == 0);
		if (n)
			CHECK(hjson_base64_decode(B.p, B.len, dst, n - 1, &got) == -1);
	}
	CHECK_STR(ENC(hjson_put_base64(&B, "\0\1\2", 3)), "AAEC");
	CHECK_STR(ENC(hjson_put_base64(&B, "\xff", 1)), "/w");
	CHECK_STR(ENC(hjson_put_base64(&B, "\xfb\xff", 2)), "+/8");
}

static void test_text_nul_and_utf8(void)
{
	/* \u0000 inside a text value keeps its length */
	const char body[] = "{\"stmt\":{\"sql\":\"?\",\"args\":[{\"type\":\"text\",\"value\":\"a\\u0000b\"}]}}";
	struct hr_stmt s;
	CHECK(hjson_decode_v1_execute(&A, body, sizeof body - 1, &s, &E) == 0);
	CHECK(s.nargs == 1 && s.args[0].type == HR_TEXT && s.args[0].n == 3 && memcmp(s.args[0].s, "a\0b", 4) == 0);
	CHECK_STR(ENC(hjson_encode_value(&B, &s.args[0])), "{\"type\":\"text\",\"value\":\"a\\u0000b\"}");
	/* a raw NUL byte inside a JSON string is invalid JSON */
	const char raw[] = "{\"stmt\":{\"sql\":\"a\0b\"}}";
	CHECK(hjson_decode_v1_execute(&A, raw, sizeof raw - 1, &s, &E) == HJSON_E_SYNTAX);
	/* 4-byte UTF-8 via a surrogate pair */
	struct hr_value v;
	CHECK(value("{\"type\":\"text\",\"value\":\"\\ud83d\\ude00\"}", &v) == 0 && v.n == 4 &&
	      memcmp(v.s, "\xf0\x9f\x98\x80", 4) == 0);
	CHECK(value("{\"type\":\"text\",\"value\":\"\xf0\x9f\x98\x80\"}", &v) == 0 && v.n == 4);
	CHECK(hr_utf8_valid(v.s, v.n));
}

static void test_stmt_shapes(void)
{
	struct hr_stmt s;
	/* named_args, all value kinds positionally */
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"SELECT :a, @b, $c, ?\",\"named_args\":[{\"name\":\":a\",\"value\":{\"type\":"
		      "\"text\",\"value\":\"x\"}},{\"name\":\"b\",\"value\":{\"type\":\"null\"}}],\"want_rows\":true}}",
		      &s) == 0);
	CHECK(s.nnamed == 2 && s.nargs == 0 && s.args == NULL);
	CHECK_STR(s.named[0].name, ":a");
	CHECK(s.named[0].value.type == HR_TEXT && s.named[0].value.n == 1);
	CHECK_STR(s.named[1].name, "b");
	CHECK(s.named[1].value.type == HR_NULL);
	CHECK_STR(ENC(hjson_encode_v1_execute_req(&B, &s)),
		  "{\"stmt\":{\"sql\":\"SELECT :a, @b, $c, ?\",\"args\":[],\"named_args\":[{\"name\":\":a\",\"value\":"
		  "{\"type\":\"text\",\"value\":\"x\"}},{\"name\":\"b\",\"value\":{\"type\":\"null\"}}],"
		  "\"want_rows\":true}}");
	/* both args and named_args decode; refusing the mix is the executor's job */
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"?\",\"args\":[{\"type\":\"null\"},{\"type\":\"integer\",\"value\":\"1\"},"
		      "{\"type\":\"float\",\"value\":0.5},{\"type\":\"text\",\"value\":\"t\"},{\"type\":\"blob\","
		      "\"base64\":\"AA\"}],\"named_args\":[{\"name\":\"x\",\"value\":{\"type\":\"null\"}}]}}",
		      &s) == 0);
	CHECK(s.nargs == 5 && s.nnamed == 1);
	CHECK(s.args[0].type == HR_NULL && s.args[1].type == HR_INTEGER && s.args[2].type == HR_FLOAT &&
	      s.args[3].type == HR_TEXT && s.args[4].type == HR_BLOB && s.args[4].n == 1);
	CHECK_STR(ENC(hjson_encode_v1_execute_req(&B, &s)),
		  "{\"stmt\":{\"sql\":\"?\",\"args\":[{\"type\":\"null\"},{\"type\":\"integer\",\"value\":\"1\"},"
		  "{\"type\":\"float\",\"value\":0.5},{\"type\":\"text\",\"value\":\"t\"},{\"type\":\"blob\","
		  "\"base64\":\"AA\"}],\"named_args\":[{\"name\":\"x\",\"value\":{\"type\":\"null\"}}],"
		  "\"want_rows\":true}}");
	/* optional fields as null */
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"sql_id\":null,\"args\":null,\"named_args\":null,\"want_rows\":null,"
		      "\"replication_index\":null}}",
		      &s) == 0);
	CHECK(s.want_rows && s.nargs == 0 && !s.has_sql_id);
	/* replication_index: string or number accepted and ignored, anything else refused */
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"replication_index\":\"12\"}}", &s) == 0);
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"replication_index\":12}}", &s) == 0);
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"replication_index\":true}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`replication_index`"));
	/* sql / sql_id */
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"sql_id\":1}}", &s) == HJSON_E_INVALID);
	CHECK_STR(E.msg, "Either `sql` or `sql_id` are required, but not both");
	CHECK(v1_exec("{\"stmt\":{}}", &s) == HJSON_E_INVALID);
	CHECK_STR(E.msg, "Either `sql` or `sql_id` are required");
	CHECK(v1_exec("{\"stmt\":{\"sql\":null,\"sql_id\":null}}", &s) == HJSON_E_INVALID);
	CHECK_STR(E.msg, "Either `sql` or `sql_id` are required");
	CHECK(v1_exec("{\"stmt\":{\"sql\":5}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`sql`"));
	CHECK(v1_exec("{\"stmt\":{\"sql_id\":\"5\"}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`sql_id`"));
	CHECK(v1_exec("{\"stmt\":{\"sql_id\":3000000000}}", &s) == HJSON_E_SHAPE);
	/* wrong types of the other fields */
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"args\":{}}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`args`"));
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"named_args\":{\"a\":1}}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`named_args`"));
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"named_args\":[{\"value\":{\"type\":\"null\"}}]}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`name`"));
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"named_args\":[{\"name\":\"a\"}]}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`value`"));
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"named_args\":[5]}}", &s) == HJSON_E_SHAPE);
	CHECK(v1_exec("{\"stmt\":{\"sql\":\"x\",\"want_rows\":1}}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`want_rows`"));
	CHECK(v1_exec("{\"stmt\":\"SELECT 1\"}", &s) == HJSON_E_SHAPE);
	CHECK(v1_exec("{}", &s) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`stmt`"));
	/* unknown fields are ignored at every level */
	CHECK(v1_exec("{\"x\":1,\"stmt\":{\"sql\":\"y\",\"zzz\":[{}],\"args\":[{\"type\":\"null\",\"q\":1}]}}", &s) == 0);
}

/* ---------------------------------------------------------------- batches */

static void test_batch_conds(void)
{
	struct hr_batch bt;
	const char *in =
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"}},"
		"{\"condition\":{\"type\":\"error\",\"step\":0},\"stmt\":{\"sql\":\"b\"}},"
		"{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"ok\",\"step\":1}},\"stmt\":{\"sql\":\"c\"}},"
		"{\"condition\":{\"type\":\"and\",\"conds\":[{\"type\":\"ok\",\"step\":2},{\"type\":\"not\",\"cond\":"
		"{\"type\":\"is_autocommit\"}}]},\"stmt\":{\"sql\":\"d\"}},"
		"{\"condition\":{\"type\":\"or\",\"conds\":[]},\"stmt\":{\"sql\":\"e\"}}],\"replication_index\":\"3\"}}";
	E.msg[0] = 0;
	CHECK(hjson_decode_v1_batch(&A, in, strlen(in), &bt, &E) == 0);
	CHECK(bt.nsteps == 5);
	CHECK(bt.steps[0].cond == NULL);
	CHECK(bt.steps[1].cond->type == HR_COND_ERROR && bt.steps[1].cond->step == 0);
	CHECK(bt.steps[2].cond->type == HR_COND_NOT && bt.steps[2].cond->nconds == 1 &&
	      bt.steps[2].cond->conds[0].type == HR_COND_OK && bt.steps[2].cond->conds[0].step == 1);
	const struct hr_cond *and = bt.steps[3].cond;
	CHECK(and->type == HR_COND_AND && and->nconds == 2 && and->conds[1].type == HR_COND_NOT &&
	      and->conds[1].conds[0].type == HR_COND_IS_AUTOCOMMIT);
	CHECK(bt.steps[4].cond->type == HR_COND_OR && bt.steps[4].cond->nconds == 0);
	const char *canon =
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\",\"args\":[],\"named_args\":[],\"want_rows\":true}},"
		"{\"condition\":{\"type\":\"error\",\"step\":0},\"stmt\":{\"sql\":\"b\",\"args\":[],\"named_args\":[],"
		"\"want_rows\":true}},"
		"{\"condition\":{\"type\":\"not\",\"cond\":{\"type\":\"ok\",\"step\":1}},\"stmt\":{\"sql\":\"c\",\"args\":[],"
		"\"named_args\":[],\"want_rows\":true}},"
		"{\"condition\":{\"type\":\"and\",\"conds\":[{\"type\":\"ok\",\"step\":2},{\"type\":\"not\",\"cond\":"
		"{\"type\":\"is_autocommit\"}}]},\"stmt\":{\"sql\":\"d\",\"args\":[],\"named_args\":[],\"want_rows\":true}},"
		"{\"condition\":{\"type\":\"or\",\"conds\":[]},\"stmt\":{\"sql\":\"e\",\"args\":[],\"named_args\":[],"
		"\"want_rows\":true}}]}}";
	CHECK_STR(ENC(hjson_encode_v1_batch_req(&B, &bt)), canon);

	static const char *bad[] = {
		"{\"batch\":{}}",
		"{\"batch\":{\"steps\":{}}}",
		"{\"batch\":{\"steps\":[5]}}",
		"{\"batch\":{\"steps\":[{}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":5}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"maybe\"}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"ok\"}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"ok\",\"step\":-1}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"ok\",\"step\":\"0\"}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"not\"}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"not\",\"cond\":null}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"and\"}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":{\"type\":\"or\",\"conds\":[1]}}]}}",
		"{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\",\"sql_id\":1}}]}}",
		"{\"batch\":{\"steps\":[],\"replication_index\":[]}}",
		"{\"batch\":[]}",
		"{}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = hjson_decode_v1_batch(&A, bad[i], strlen(bad[i]), &bt, &E);
		int want = strstr(bad[i], "\"sql_id\":1") ? HJSON_E_INVALID : HJSON_E_SHAPE;
		if (rc != want)
			fprintf(stderr, "%s gave %d\n", bad[i], rc);
		CHECK(rc == want);
	}
	CHECK(hjson_decode_v1_batch(&A, bad[6], strlen(bad[6]), &bt, &E) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "maybe"));
	CHECK(hjson_decode_v1_batch(&A, bad[8], strlen(bad[8]), &bt, &E) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`step`"));
	/* deep nesting decodes (bounded by jansson's depth limit) */
	struct buf d = {0};
	buf_puts(&d, "{\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"a\"},\"condition\":");
	for (int i = 0; i < 500; i++)
		buf_puts(&d, "{\"type\":\"not\",\"cond\":");
	buf_puts(&d, "{\"type\":\"is_autocommit\"}");
	for (int i = 0; i < 500; i++)
		buf_putc(&d, '}');
	buf_puts(&d, "}]}}");
	CHECK(hjson_decode_v1_batch(&A, d.p, d.len, &bt, &E) == 0);
	buf_free(&d);
	/* too deep for jansson: syntax error, no crash */
	for (int i = 0; i < 5000; i++)
		buf_putc(&d, '[');
	CHECK(hjson_decode_v1_batch(&A, d.p, d.len, &bt, &E) == HJSON_E_SYNTAX);
	buf_free(&d);
}

/* ---------------------------------------------------------------- HTTP bodies */

static void test_pipeline_req(void)
{
	struct hr_pipeline_req p;
	/* what @libsql/client sends for a one-shot execute */
	pipe_round("{\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT 1\",\"args\":[],\"named_args\":[],"
		   "\"want_rows\":true}},{\"type\":\"close\"}]}",
		   "{\"baton\":null,\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT 1\",\"args\":[],"
		   "\"named_args\":[],\"want_rows\":true}},{\"type\":\"close\"}]}",
		   &p);
	CHECK(p.baton == NULL && p.nrequests == 2 && p.requests[0].type == HR_REQ_EXECUTE &&
	      p.requests[1].type == HR_REQ_CLOSE);
	/* every StreamRequest type */
	const char *all =
		"{\"baton\":\"b4t0n\",\"requests\":["
		"{\"type\":\"batch\",\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"x\",\"args\":[],\"named_args\":[],"
		"\"want_rows\":false}}]}},"
		"{\"type\":\"sequence\",\"sql\":\"a;b\"},"
		"{\"type\":\"sequence\",\"sql_id\":1},"
		"{\"type\":\"describe\",\"sql\":\"SELECT ?\"},"
		"{\"type\":\"describe\",\"sql_id\":2},"
		"{\"type\":\"store_sql\",\"sql\":\"SELECT 2\",\"sql_id\":3},"
		"{\"type\":\"close_sql\",\"sql_id\":3},"
		"{\"type\":\"get_autocommit\"},"
		"{\"type\":\"close\"}]}";
	pipe_round(all, all, &p);
	CHECK_STR(p.baton, "b4t0n");
	CHECK(p.nrequests == 9);
	static const enum hr_req_type want[] = {HR_REQ_BATCH,     HR_REQ_SEQUENCE,  HR_REQ_SEQUENCE,
						HR_REQ_DESCRIBE,  HR_REQ_DESCRIBE,  HR_REQ_STORE_SQL,
						HR_REQ_CLOSE_SQL, HR_REQ_GET_AUTOCOMMIT, HR_REQ_CLOSE};
	for (size_t i = 0; i < 9 && i < p.nrequests; i++)
		CHECK(p.requests[i].type == want[i]);
	CHECK(p.requests[0].batch.nsteps == 1 && !p.requests[0].batch.steps[0].stmt.want_rows);
	CHECK(p.requests[2].has_sql_id && p.requests[2].sql_id == 1 && p.requests[2].sql == NULL);
	CHECK(p.requests[5].sql_id == 3 && strcmp(p.requests[5].sql, "SELECT 2") == 0);
	/* stream_id is not part of HTTP requests and is ignored */
	CHECK(pipe_req("{\"baton\":null,\"requests\":[{\"type\":\"get_autocommit\",\"stream_id\":\"zz\"}]}", &p) == 0);
	CHECK(pipe_req("{\"requests\":[]}", &p) == 0 && p.nrequests == 0);
	/* errors */
	CHECK(pipe_req("{\"requests\":[{\"type\":\"open_stream\"}]}", &p) == HJSON_E_UNKNOWN_TYPE);
	CHECK_STR(E.msg, "Invalid `type` in request: `open_stream`");
	CHECK(pipe_req("{\"requests\":[{\"type\":\"fetch_cursor\",\"cursor_id\":1,\"max_count\":1}]}", &p) ==
	      HJSON_E_UNKNOWN_TYPE);
	CHECK(pipe_req("{\"requests\":[{\"type\":\"close\"},{\"type\":\"nope\"}]}", &p) == HJSON_E_UNKNOWN_TYPE);
	CHECK(pipe_req("{\"baton\":5,\"requests\":[]}", &p) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`baton`"));
	CHECK(pipe_req("{\"baton\":null}", &p) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`requests`"));
	CHECK(pipe_req("{\"requests\":{}}", &p) == HJSON_E_SHAPE);
	CHECK(pipe_req("{\"requests\":[5]}", &p) == HJSON_E_SHAPE);
	CHECK(pipe_req("{\"requests\":[{\"type\":\"execute\"}]}", &p) == HJSON_E_SHAPE);
	CHECK(pipe_req("{\"requests\":[{\"type\":\"sequence\"}]}", &p) == HJSON_E_INVALID);
	CHECK_STR(E.msg, "Either `sql` or `sql_id` are required");
	CHECK(pipe_req("{\"requests\":[{\"type\":\"describe\",\"sql\":\"a\",\"sql_id\":2}]}", &p) == HJSON_E_INVALID);
	CHECK_STR(E.msg, "Either `sql` or `sql_id` are required, but not both");
	CHECK(pipe_req("{\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"a\",\"sql_id\":2}}]}", &p) ==
	      HJSON_E_INVALID);
	CHECK(pipe_req("{\"requests\":[}", &p) == HJSON_E_SYNTAX);
}

static void test_cursor_req(void)
{
	struct hr_cursor_req c;
	const char *in = "{\"baton\":\"bb\",\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"SELECT 1\"}}]}}";
	CHECK(hjson_decode_cursor_req(&A, in, strlen(in), &c, &E) == 0);
	CHECK_STR(c.baton, "bb");
	CHECK(c.batch.nsteps == 1);
	CHECK_STR(ENC(hjson_encode_cursor_req(&B, &c)),
		  "{\"baton\":\"bb\",\"batch\":{\"steps\":[{\"stmt\":{\"sql\":\"SELECT 1\",\"args\":[],\"named_args\":[],"
		  "\"want_rows\":true}}]}}");
	in = "{\"batch\":{\"steps\":[]}}";
	CHECK(hjson_decode_cursor_req(&A, in, strlen(in), &c, &E) == 0 && c.baton == NULL);
	in = "{\"baton\":null}";
	CHECK(hjson_decode_cursor_req(&A, in, strlen(in), &c, &E) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`batch`"));
	in = "{\"baton\":[],\"batch\":{\"steps\":[]}}";
	CHECK(hjson_decode_cursor_req(&A, in, strlen(in), &c, &E) == HJSON_E_SHAPE);
	in = "{\"baton\":null,\"batch\":{\"steps\":[]}";
	CHECK(hjson_decode_cursor_req(&A, in, strlen(in), &c, &E) == HJSON_E_SYNTAX);
}

/* ---------------------------------------------------------------- legacy POST / */

static void test_legacy_decode(void)
{
	struct hr_stmt *s;
	size_t n;
	CHECK(legacy("{\"statements\":[\"SELECT 1\",{\"q\":\"SELECT ?,?,?,?,?,?,?,?\",\"params\":[null,42,-1.5,\"txt\","
		     "true,false,{\"base64\":\"AAEC\"},9223372036854775807]},{\"q\":\"SELECT :a, $b\",\"params\":"
		     "{\":a\":1,\"b\":\"x\"}},{\"q\":\"SELECT 2\"},{\"q\":\"SELECT 3\",\"params\":null}],"
		     "\"replication_index\":5}",
		     &s, &n) == 0);
	CHECK(n == 5);
	if (n != 5)
		return;
	CHECK_STR(s[0].sql, "SELECT 1");
	CHECK(s[0].nargs == 0 && s[0].nnamed == 0 && s[0].want_rows && !s[0].has_sql_id);
	CHECK(s[1].nargs == 8);
	const struct hr_value *a = s[1].args;
	CHECK(a[0].type == HR_NULL);
	CHECK(a[1].type == HR_INTEGER && a[1].i == 42);
	CHECK(a[2].type == HR_FLOAT && a[2].f == -1.5);
	CHECK(a[3].type == HR_TEXT && a[3].n == 3 && strcmp(a[3].s, "txt") == 0);
	CHECK(a[4].type == HR_INTEGER && a[4].i == 1);
	CHECK(a[5].type == HR_INTEGER && a[5].i == 0);
	CHECK(a[6].type == HR_BLOB && a[6].n == 3 && memcmp(a[6].s, "\0\1\2", 3) == 0);
	CHECK(a[7].type == HR_INTEGER && a[7].i == INT64_MAX);
	CHECK(s[2].nnamed == 2 && s[2].nargs == 0);
	CHECK_STR(s[2].named[0].name, ":a");
	CHECK(s[2].named[0].value.type == HR_INTEGER && s[2].named[0].value.i == 1);
	CHECK_STR(s[2].named[1].name, "b");
	CHECK(s[2].named[1].value.type == HR_TEXT);
	CHECK(s[3].nargs == 0 && s[4].nargs == 0);
	CHECK_STR(ENC(hjson_encode_legacy_req(&B, s, n)),
		  "{\"statements\":[{\"q\":\"SELECT 1\",\"params\":[]},{\"q\":\"SELECT ?,?,?,?,?,?,?,?\",\"params\":"
		  "[null,42,-1.5,\"txt\",1,0,{\"base64\":\"AAEC\"},9223372036854775807]},{\"q\":\"SELECT :a, $b\","
		  "\"params\":{\":a\":1,\"b\":\"x\"}},{\"q\":\"SELECT 2\",\"params\":[]},{\"q\":\"SELECT 3\","
		  "\"params\":[]}]}");
	/* a float that looks integral stays a float through the plain form */
	CHECK(legacy("{\"statements\":[{\"q\":\"x\",\"params\":[2.0,1e300,-0.0]}]}", &s, &n) == 0);
	CHECK(s[0].args[0].type == HR_FLOAT && s[0].args[0].f == 2.0);
	CHECK_STR(ENC(hjson_encode_legacy_req(&B, s, n)),
		  "{\"statements\":[{\"q\":\"x\",\"params\":[2.0,1e+300,-0.0]}]}");
	CHECK(legacy("{\"statements\":[]}", &s, &n) == 0 && n == 0 && s == NULL);
}

static void test_legacy_errors(void)
{
	struct hr_stmt *s;
	size_t n;
	static const char *bad[] = {
		"{}",
		"{\"statements\":{}}",
		"{\"statements\":\"SELECT 1\"}",
		"{\"statements\":[5]}",
		"{\"statements\":[null]}",
		"{\"statements\":[[\"SELECT 1\"]]}",
		"{\"statements\":[{\"params\":[]}]}",
		"{\"statements\":[{\"q\":5}]}",
		"{\"statements\":[{\"q\":\"x\",\"args\":[]}]}", /* unknown key in a query object */
		"{\"statements\":[{\"q\":\"x\",\"params\":\"a\"}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":5}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":[[1]]}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":[{}]}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":[{\"base64\":\"AA\",\"x\":1}]}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":[{\"blob\":\"AA\"}]}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":[{\"base64\":5}]}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":[{\"base64\":\"A\"}]}]}",
		"{\"statements\":[{\"q\":\"x\",\"params\":{\"a\":[1]}}]}",
		"{\"statements\":[],\"replication_index\":\"5\"}",
		"[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = legacy(bad[i], &s, &n);
		if (rc != HJSON_E_SHAPE)
			fprintf(stderr, "%s gave %d\n", bad[i], rc);
		CHECK(rc == HJSON_E_SHAPE);
		CHECK(E.msg[0] != 0);
	}
	CHECK(legacy(bad[8], &s, &n) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`args`"));
	CHECK(legacy(bad[13], &s, &n) == HJSON_E_SHAPE);
	CHECK(has(E.msg, "`x`"));
	CHECK(legacy("{\"statements\":[", &s, &n) == HJSON_E_SYNTAX);
	CHECK(legacy("{\"statements\":[\"\xfe\"]}", &s, &n) == HJSON_E_SYNTAX);
}

/* ---------------------------------------------------------------- encoders */

static void test_encode_values(void)
{
	struct hr_value v = {.type = HR_NULL};
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"null\"}");
	v = (struct hr_value){.type = HR_INTEGER, .i = -42};
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"integer\",\"value\":\"-42\"}");
	v.i = INT64_MIN;
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"integer\",\"value\":\"-9223372036854775808\"}");
	v.i = INT64_MAX;
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"integer\",\"value\":\"9223372036854775807\"}");
	v.i = 0;
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"integer\",\"value\":\"0\"}");
	v = (struct hr_value){.type = HR_TEXT, .s = "abc", .n = 3};
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"text\",\"value\":\"abc\"}");
	v = (struct hr_value){.type = HR_BLOB, .s = "\0\1\2\3", .n = 4};
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"blob\",\"base64\":\"AAECAw\"}");
	v = (struct hr_value){.type = HR_BLOB, .s = NULL, .n = 0};
	CHECK_STR(ENC(hjson_encode_value(&B, &v)), "{\"type\":\"blob\",\"base64\":\"\"}");
}

static const char *fl(double d)
{
	struct hr_value v = {.type = HR_FLOAT, .f = d};
	reset();
	hjson_encode_value(&B, &v);
	/* strip {"type":"float","value": ... } */
	static char out[64];
	const char *p = B.p + strlen("{\"type\":\"float\",\"value\":");
	snprintf(out, sizeof out, "%.*s", (int)(strlen(p) - 1), p);
	return out;
}

static void test_float_format(void)
{
	CHECK_STR(fl(0.5), "0.5");
	CHECK_STR(fl(1e300), "1e+300");
	CHECK_STR(fl(-0.0), "-0.0");
	CHECK_STR(fl(0.0), "0.0");
	CHECK_STR(fl(1.0), "1.0");
	CHECK_STR(fl(-3.0), "-3.0");
	CHECK_STR(fl(3.5), "3.5");
	CHECK_STR(fl(0.1), "0.1");
	CHECK_STR(fl(1.0 / 3.0), "0.3333333333333333");
	CHECK_STR(fl(123456789012345680000.0), "1.2345678901234568e+20");
	CHECK_STR(fl(5e-324), "4.94065645841247e-324"); /* reads back exactly */
	CHECK(strtod(fl(5e-324), NULL) == 5e-324);
	CHECK_STR(fl(1.7976931348623157e308), "1.7976931348623157e+308");
	CHECK_STR(fl(INFINITY), "1e999");
	CHECK_STR(fl(-INFINITY), "-1e999");
	CHECK_STR(fl(NAN), "null");
	/* every finite double prints back exactly */
	static const double samples[] = {0.1, 0.2, 0.30000000000000004, 2.5e-308, 9007199254740993.0, 1e21, 1e-7,
					 123.456, -987654321.123456789, 2.2250738585072014e-308};
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		const char *s = fl(samples[i]);
		CHECK(strtod(s, NULL) == samples[i]);
		CHECK(strlen(s) <= 25);
	}
	/* and through the decoder */
	struct hr_value v;
	char j[128];
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		snprintf(j, sizeof j, "{\"type\":\"float\",\"value\":%s}", fl(samples[i]));
		CHECK(value(j, &v) == 0 && v.f == samples[i]);
	}
}

static void test_string_escape(void)
{
	const char s[] = "a\"b\\c\n\t\r\x01\x1f\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80<>&'";
	CHECK_STR(ENC(hjson_put_str(&B, s, sizeof s - 1)),
		  "\"a\\\"b\\\\c\\u000a\\u0009\\u000d\\u0001\\u001f\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80<>&'\"");
	/* bytes that are not UTF-8 become U+FFFD, one per byte */
	CHECK_STR(ENC(hjson_put_str(&B, "a\xff" "b\xc3", 4)), "\"a\\ufffdb\\ufffd\"");
	CHECK_STR(ENC(hjson_put_str(&B, "\xed\xa0\x80", 3)), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	CHECK_STR(ENC(hjson_put_str(&B, "\xc0\x80", 2)), "\"\\ufffd\\ufffd\"");            /* overlong NUL */
	CHECK_STR(ENC(hjson_put_str(&B, "", 0)), "\"\"");
	/* round trip through the decoder: an escaped text value comes back byte-exact */
	struct hr_value v = {.type = HR_TEXT, .s = s, .n = sizeof s - 1};
	struct hr_stmt st = {.sql = "?", .args = &v, .nargs = 1, .want_rows = true};
	reset();
	hjson_encode_v1_execute_req(&B, &st);
	struct hr_stmt back;
	CHECK(hjson_decode_v1_execute(&A, B.p, B.len, &back, &E) == 0);
	CHECK(back.nargs == 1 && back.args[0].n == sizeof s - 1 && memcmp(back.args[0].s, s, sizeof s - 1) == 0);
}

static void test_value_size(void)
{
	static const struct hr_value vals[] = {
		{.type = HR_NULL},
		{.type = HR_INTEGER, .i = 0},
		{.type = HR_INTEGER, .i = -1},
		{.type = HR_INTEGER, .i = INT64_MIN},
		{.type = HR_INTEGER, .i = INT64_MAX},
		{.type = HR_FLOAT, .f = 0.1},
		{.type = HR_FLOAT, .f = -2.2250738585072014e-308},
		{.type = HR_FLOAT, .f = 1.0},
		{.type = HR_FLOAT, .f = INFINITY},
		{.type = HR_FLOAT, .f = NAN},
		{.type = HR_TEXT, .s = "", .n = 0},
		{.type = HR_TEXT, .s = "plain", .n = 5},
		{.type = HR_TEXT, .s = "q\"\\\n\x01\xff\xc3\xa9", .n = 8},
		{.type = HR_BLOB, .s = "", .n = 0},
		{.type = HR_BLOB, .s = "a", .n = 1},
		{.type = HR_BLOB, .s = "ab", .n = 2},
		{.type = HR_BLOB, .s = "abc", .n = 3},
		{.type = HR_BLOB, .s = "abcdefg", .n = 7},
	};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		reset();
		hjson_encode_value(&B, &vals[i]);
		size_t est = hjson_value_size(&vals[i]);
		CHECK(est >= B.len);
		if (vals[i].type != HR_FLOAT)
			CHECK(est == B.len);
		CHECK(est < B.len + 30);
	}
}

static struct hr_stmt_result example_result(struct hr_col *col, struct hr_value *val)
{
	*col = (struct hr_col){.name = "x", .decltype = "INT"};
	*val = (struct hr_value){.type = HR_INTEGER, .i = 42};
	return (struct hr_stmt_result){.cols = col,
				       .ncols = 1,
				       .rows = val,
				       .nrows = 1,
				       .has_replication_index = true,
				       .replication_index = 2,
				       .rows_read = 1,
				       .query_duration_ms = 0.1};
}

#define EXAMPLE_RESULT                                                                                   \
	"{\"cols\":[{\"name\":\"x\",\"decltype\":\"INT\"}],\"rows\":[[{\"type\":\"integer\",\"value\":\"42\"}]]," \
	"\"affected_row_count\":0,\"last_insert_rowid\":null,\"replication_index\":\"2\",\"rows_read\":1,"        \
	"\"rows_written\":0,\"query_duration_ms\":0.1}"

static void test_encode_stmt_result(void)
{
	struct hr_col col;
	struct hr_value val;
	struct hr_stmt_result r = example_result(&col, &val);
	/* the example of PROTOCOL.md §3.3, byte for byte */
	CHECK_STR(ENC(hjson_encode_stmt_result(&B, &r)), EXAMPLE_RESULT);
	CHECK_STR(ENC(hjson_encode_v1_execute_resp(&B, &r)), "{\"result\":" EXAMPLE_RESULT "}");
	/* two rows of two columns, null names, an insert */
	struct hr_col cols[2] = {{.name = NULL, .decltype = NULL}, {.name = "b", .decltype = NULL}};
	struct hr_value rows[4] = {{.type = HR_NULL}, {.type = HR_TEXT, .s = "t", .n = 1}, {.type = HR_FLOAT, .f = 2},
				   {.type = HR_BLOB, .s = "\xff", .n = 1}};
	struct hr_stmt_result r2 = {.cols = cols,
				    .ncols = 2,
				    .rows = rows,
				    .nrows = 2,
				    .affected_row_count = 18446744073709551615u,
				    .has_last_insert_rowid = true,
				    .last_insert_rowid = -5,
				    .rows_written = 3};
	CHECK_STR(ENC(hjson_encode_stmt_result(&B, &r2)),
		  "{\"cols\":[{\"name\":null,\"decltype\":null},{\"name\":\"b\",\"decltype\":null}],\"rows\":["
		  "[{\"type\":\"null\"},{\"type\":\"text\",\"value\":\"t\"}],[{\"type\":\"float\",\"value\":2.0},"
		  "{\"type\":\"blob\",\"base64\":\"/w\"}]],\"affected_row_count\":18446744073709551615,"
		  "\"last_insert_rowid\":\"-5\",\"replication_index\":null,\"rows_read\":0,\"rows_written\":3,"
		  "\"query_duration_ms\":0.0}");
	/* want_rows:false: cols but no rows */
	struct hr_stmt_result r3 = {.cols = cols, .ncols = 2};
	CHECK_STR(ENC(hjson_encode_stmt_result(&B, &r3)),
		  "{\"cols\":[{\"name\":null,\"decltype\":null},{\"name\":\"b\",\"decltype\":null}],\"rows\":[],"
		  "\"affected_row_count\":0,\"last_insert_rowid\":null,\"replication_index\":null,\"rows_read\":0,"
		  "\"rows_written\":0,\"query_duration_ms\":0.0}");
}

static void test_encode_batch_result(void)
{
	struct hr_col col;
	struct hr_value val;
	struct hr_stmt_result r = example_result(&col, &val);
	struct hr_error er = {.message = "SQLite error: no such table: t", .code = "SQLITE_UNKNOWN"};
	struct hr_stmt_result *res[3] = {&r, NULL, NULL};
	struct hr_error *errs[3] = {NULL, &er, NULL};
	struct hr_batch_result br = {.nsteps = 3, .step_results = res, .step_errors = errs};
	const char *want = "{\"step_results\":[" EXAMPLE_RESULT ",null,null],\"step_errors\":[null,{\"message\":"
			   "\"SQLite error: no such table: t\",\"code\":\"SQLITE_UNKNOWN\"},null],"
			   "\"replication_index\":null}";
	CHECK_STR(ENC(hjson_encode_batch_result(&B, &br)), want);
	reset();
	hjson_encode_v1_batch_resp(&B, &br);
	CHECK(strncmp(B.p, "{\"result\":", 10) == 0 && strncmp(B.p + 10, want, strlen(want)) == 0 &&
	      strcmp(B.p + 10 + strlen(want), "}") == 0);
	struct hr_batch_result empty = {.nsteps = 0, .has_replication_index = true, .replication_index = 9};
	CHECK_STR(ENC(hjson_encode_batch_result(&B, &empty)),
		  "{\"step_results\":[],\"step_errors\":[],\"replication_index\":\"9\"}");
}

static void test_encode_error(void)
{
	struct hr_error er = {.message = "a \"quoted\" msg", .code = "SQLITE_CONSTRAINT"};
	CHECK_STR(ENC(hjson_encode_error(&B, &er)), "{\"message\":\"a \\\"quoted\\\" msg\",\"code\":\"SQLITE_CONSTRAINT\"}");
	er.code = NULL;
	CHECK_STR(ENC(hjson_encode_error(&B, &er)), "{\"message\":\"a \\\"quoted\\\" msg\"}");
	er.message = NULL;
	CHECK_STR(ENC(hjson_encode_error(&B, &er)), "{\"message\":\"\"}");
}

static void test_encode_server_msgs(void)
{
	struct hr_server_msg m = {.type = HR_SMSG_HELLO_OK};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)), "{\"type\":\"hello_ok\"}");
	m = (struct hr_server_msg){.type = HR_SMSG_HELLO_ERROR,
				   .error = {.message = "Authentication failed: x", .code = "AUTH_JWT_INVALID"}};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"hello_error\",\"error\":{\"message\":\"Authentication failed: x\",\"code\":"
		  "\"AUTH_JWT_INVALID\"}}");
	m = (struct hr_server_msg){.type = HR_SMSG_RESPONSE_ERROR,
				   .request_id = -3,
				   .error = {.message = "Stream not open", .code = "STREAM_NOT_OPEN"}};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"response_error\",\"request_id\":-3,\"error\":{\"message\":\"Stream not open\",\"code\":"
		  "\"STREAM_NOT_OPEN\"}}");
	/* response_ok with every empty-bodied response type */
	static const enum hr_req_type empty[] = {HR_REQ_OPEN_STREAM, HR_REQ_CLOSE_STREAM, HR_REQ_SEQUENCE,
						 HR_REQ_STORE_SQL,   HR_REQ_CLOSE_SQL,    HR_REQ_OPEN_CURSOR,
						 HR_REQ_CLOSE_CURSOR};
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		char want[128];
		snprintf(want, sizeof want, "{\"type\":\"response_ok\",\"request_id\":7,\"response\":{\"type\":\"%s\"}}",
			 hr_req_type_name(empty[i]));
		m = (struct hr_server_msg){.type = HR_SMSG_RESPONSE_OK, .request_id = 7, .resp = {.type = empty[i]}};
		CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)), want);
	}
	/* execute */
	struct hr_col col;
	struct hr_value val;
	struct hr_stmt_result r = example_result(&col, &val);
	m = (struct hr_server_msg){
		.type = HR_SMSG_RESPONSE_OK, .request_id = 1, .resp = {.type = HR_REQ_EXECUTE, .stmt_result = &r}};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"execute\",\"result\":" EXAMPLE_RESULT
		  "}}");
	/* batch */
	struct hr_stmt_result *res[1] = {NULL};
	struct hr_error *errs[1] = {NULL};
	struct hr_batch_result br = {.nsteps = 1, .step_results = res, .step_errors = errs};
	m.resp = (struct hr_resp){.type = HR_REQ_BATCH, .batch_result = &br};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"batch\",\"result\":{"
		  "\"step_results\":[null],\"step_errors\":[null],\"replication_index\":null}}}");
	/* describe */
	struct hr_describe_param params[2] = {{.name = ":a"}, {.name = NULL}};
	struct hr_col dcols[1] = {{.name = "x", .decltype = NULL}};
	struct hr_describe_result dr = {.params = params, .nparams = 2, .cols = dcols, .ncols = 1, .is_readonly = true};
	m.resp = (struct hr_resp){.type = HR_REQ_DESCRIBE, .describe_result = &dr};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"describe\",\"result\":{"
		  "\"params\":[{\"name\":\":a\"},{\"name\":null}],\"cols\":[{\"name\":\"x\",\"decltype\":null}],"
		  "\"is_explain\":false,\"is_readonly\":true}}}");
	/* get_autocommit */
	m.resp = (struct hr_resp){.type = HR_REQ_GET_AUTOCOMMIT, .is_autocommit = true};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"get_autocommit\","
		  "\"is_autocommit\":true}}");
	/* fetch_cursor */
	struct hr_cursor_entry ents[2] = {{.type = HR_ENTRY_STEP_BEGIN, .step = 0, .cols = dcols, .ncols = 1},
					  {.type = HR_ENTRY_ROW, .row = &val, .nrow = 1}};
	m.resp = (struct hr_resp){.type = HR_REQ_FETCH_CURSOR, .entries = ents, .nentries = 2, .done = false};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"fetch_cursor\",\"entries\":["
		  "{\"type\":\"step_begin\",\"step\":0,\"cols\":[{\"name\":\"x\",\"decltype\":null}]},"
		  "{\"type\":\"row\",\"row\":[{\"type\":\"integer\",\"value\":\"42\"}]}],\"done\":false}}");
	m.resp = (struct hr_resp){.type = HR_REQ_FETCH_CURSOR, .done = true};
	CHECK_STR(ENC(hjson_encode_server_msg(&B, &m)),
		  "{\"type\":\"response_ok\",\"request_id\":1,\"response\":{\"type\":\"fetch_cursor\",\"entries\":[],"
		  "\"done\":true}}");
}

static void test_encode_pipeline_resp(void)
{
	struct hr_col col;
	struct hr_value val;
	struct hr_stmt_result r = example_result(&col, &val);
	struct hr_stream_result res[4] = {
		{.ok = true, .resp = {.type = HR_REQ_EXECUTE, .stmt_result = &r}},
		{.ok = false, .error = {.message = "boom", .code = "SQL_PARSE_ERROR"}},
		{.ok = true, .resp = {.type = HR_REQ_GET_AUTOCOMMIT, .is_autocommit = false}},
		{.ok = true, .resp = {.type = HR_REQ_CLOSE}},
	};
	struct hr_pipeline_resp p = {.baton = NULL, .base_url = NULL, .results = res, .nresults = 4};
	CHECK_STR(ENC(hjson_encode_pipeline_resp(&B, &p)),
		  "{\"baton\":null,\"base_url\":null,\"results\":[{\"type\":\"ok\",\"response\":{\"type\":\"execute\","
		  "\"result\":" EXAMPLE_RESULT "}},{\"type\":\"error\",\"error\":{\"message\":\"boom\",\"code\":"
		  "\"SQL_PARSE_ERROR\"}},{\"type\":\"ok\",\"response\":{\"type\":\"get_autocommit\",\"is_autocommit\":"
		  "false}},{\"type\":\"ok\",\"response\":{\"type\":\"close\"}}]}");
	struct hr_pipeline_resp p2 = {.baton = "AbC", .base_url = "http://x:8080", .nresults = 0};
	CHECK_STR(ENC(hjson_encode_pipeline_resp(&B, &p2)),
		  "{\"baton\":\"AbC\",\"base_url\":\"http://x:8080\",\"results\":[]}");
	/* the other StreamResponses */
	static const enum hr_req_type other[] = {HR_REQ_SEQUENCE, HR_REQ_STORE_SQL, HR_REQ_CLOSE_SQL};
	for (size_t i = 0; i < 3; i++) {
		struct hr_stream_result one = {.ok = true, .resp = {.type = other[i]}};
		struct hr_pipeline_resp p3 = {.results = &one, .nresults = 1};
		char want[160];
		snprintf(want, sizeof want,
			 "{\"baton\":null,\"base_url\":null,\"results\":[{\"type\":\"ok\",\"response\":{\"type\":\"%s\"}}]}",
			 hr_req_type_name(other[i]));
		CHECK_STR(ENC(hjson_encode_pipeline_resp(&B, &p3)), want);
	}
}

static void test_encode_cursor(void)
{
	struct hr_cursor_resp cr = {.baton = "bt", .base_url = NULL};
	CHECK_STR(ENC(hjson_encode_cursor_resp(&B, &cr)), "{\"baton\":\"bt\",\"base_url\":null}");
	struct hr_col cols[1] = {{.name = "a", .decltype = "TEXT"}};
	struct hr_value row[2] = {{.type = HR_TEXT, .s = "x", .n = 1}, {.type = HR_NULL}};
	struct hr_cursor_entry en = {.type = HR_ENTRY_STEP_BEGIN, .step = 4294967295u, .cols = cols, .ncols = 1};
	CHECK_STR(ENC(hjson_encode_cursor_entry(&B, &en)),
		  "{\"type\":\"step_begin\",\"step\":4294967295,\"cols\":[{\"name\":\"a\",\"decltype\":\"TEXT\"}]}");
	en = (struct hr_cursor_entry){.type = HR_ENTRY_ROW, .row = row, .nrow = 2};
	CHECK_STR(ENC(hjson_encode_cursor_entry(&B, &en)),
		  "{\"type\":\"row\",\"row\":[{\"type\":\"text\",\"value\":\"x\"},{\"type\":\"null\"}]}");
	en = (struct hr_cursor_entry){.type = HR_ENTRY_STEP_END, .affected_row_count = 2};
	CHECK_STR(ENC(hjson_encode_cursor_entry(&B, &en)),
		  "{\"type\":\"step_end\",\"affected_row_count\":2,\"last_insert_rowid\":null}");
	en.has_last_insert_rowid = true;
	en.last_insert_rowid = 77;
	CHECK_STR(ENC(hjson_encode_cursor_entry(&B, &en)),
		  "{\"type\":\"step_end\",\"affected_row_count\":2,\"last_insert_rowid\":\"77\"}");
	en = (struct hr_cursor_entry){.type = HR_ENTRY_STEP_ERROR, .step = 1, .error = {.message = "m", .code = "C"}};
	CHECK_STR(ENC(hjson_encode_cursor_entry(&B, &en)),
		  "{\"type\":\"step_error\",\"step\":1,\"error\":{\"message\":\"m\",\"code\":\"C\"}}");
	en = (struct hr_cursor_entry){.type = HR_ENTRY_ERROR, .error = {.message = "m", .code = "TRANSACTION_TIMEOUT"}};
	CHECK_STR(ENC(hjson_encode_cursor_entry(&B, &en)),
		  "{\"type\":\"error\",\"error\":{\"message\":\"m\",\"code\":\"TRANSACTION_TIMEOUT\"}}");
	CHECK(strchr(B.p, '\n') == NULL);
}

static void test_encode_legacy_resp(void)
{
	struct hr_col cols[3] = {{.name = "x"}, {.name = "y"}, {.name = NULL}};
	struct hr_value rows[6] = {{.type = HR_INTEGER, .i = 42},
				   {.type = HR_FLOAT, .f = 1.5},
				   {.type = HR_TEXT, .s = "s\"", .n = 2},
				   {.type = HR_BLOB, .s = "\1\2\3", .n = 3},
				   {.type = HR_NULL},
				   {.type = HR_FLOAT, .f = 4.0}};
	struct hr_stmt_result r = {.cols = cols,
				   .ncols = 3,
				   .rows = rows,
				   .nrows = 2,
				   .rows_read = 1,
				   .rows_written = 0,
				   .query_duration_ms = 0.05};
	struct hr_error er = {.message = "SQLite error: no such table: nope", .code = "SQLITE_UNKNOWN"};
	struct hr_stmt_result *res[3] = {&r, NULL, NULL};
	struct hr_error *errs[3] = {NULL, &er, NULL};
	struct hr_batch_result br = {.nsteps = 3, .step_results = res, .step_errors = errs};
	CHECK_STR(ENC(hjson_encode_legacy_resp(&B, &br)),
		  "[{\"results\":{\"columns\":[\"x\",\"y\",\"\"],\"rows\":[[42,1.5,\"s\\\"\"],[{\"base64\":\"AQID\"},"
		  "null,4.0]],\"rows_read\":1,\"rows_written\":0,\"query_duration_ms\":0.05}},"
		  "{\"error\":\"SQLite error: no such table: nope\"},null]");
	struct hr_batch_result none = {.nsteps = 0};
	CHECK_STR(ENC(hjson_encode_legacy_resp(&B, &none)), "[]");
	/* the plain form decodes back through the legacy decoder */
	struct hr_stmt st = {.sql = "x", .args = rows, .nargs = 6, .want_rows = true};
	struct hr_stmt *back;
	size_t n;
	reset();
	hjson_encode_legacy_req(&B, &st, 1);
	CHECK(hjson_decode_legacy(&A, B.p, B.len, &back, &n, &E) == 0 && n == 1 && back[0].nargs == 6);
	for (size_t i = 0; n == 1 && i < 6; i++)
		CHECK(back[0].args[i].type == rows[i].type);
	CHECK(n == 1 && back[0].args[5].f == 4.0 && back[0].args[3].n == 3);
}

int main(void)
{
	arena_init(&A);
	buf_init(&B);
	T_RUN(test_hello);
	T_RUN(test_ws_stream_requests);
	T_RUN(test_ws_execute);
	T_RUN(test_ws_batch_and_cursor);
	T_RUN(test_ws_sql_requests);
	T_RUN(test_ws_errors);
	T_RUN(test_syntax_errors);
	T_RUN(test_values);
	T_RUN(test_value_errors);
	T_RUN(test_base64_decode);
	T_RUN(test_text_nul_and_utf8);
	T_RUN(test_stmt_shapes);
	T_RUN(test_batch_conds);
	T_RUN(test_pipeline_req);
	T_RUN(test_cursor_req);
	T_RUN(test_legacy_decode);
	T_RUN(test_legacy_errors);
	T_RUN(test_encode_values);
	T_RUN(test_float_format);
	T_RUN(test_string_escape);
	T_RUN(test_value_size);
	T_RUN(test_encode_stmt_result);
	T_RUN(test_encode_batch_result);
	T_RUN(test_encode_error);
	T_RUN(test_encode_server_msgs);
	T_RUN(test_encode_pipeline_resp);
	T_RUN(test_encode_cursor);
	T_RUN(test_encode_legacy_resp);
	buf_free(&B);
	arena_free(&A);
	return T_DONE();
}
