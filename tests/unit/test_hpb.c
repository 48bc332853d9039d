/* Unit tests of proto/hpb.c and hpb_enc.c (the protobuf-specific part; the
 * model-level cases shared with hjson are in test_codec.c): exact bytes of
 * hand-computed messages (field numbers and wire types of PROTOCOL.md §5),
 * decoding what @libsql/hrana-client sends, unknown fields, every error
 * class, the depth bound, and response round trips through the client-side
 * decoders. */
#include "hpb.h"
#include "t.h"
#include <stdint.h>
#include <stdlib.h>

static struct arena A;
static struct err E;

static bool bytes_eq(const struct buf *b, const char *hex)
{
	size_t n = strlen(hex) / 2;
	if (b->len != n) {
		fprintf(stderr, "  length %zu, want %zu\n", b->len, n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		if ((unsigned char)b->p[i] != v) {
			fprintf(stderr, "  byte %zu: %02x, want %02x\n", i, (unsigned char)b->p[i], v);
			return false;
		}
	}
	return true;
}

static size_t unhex(const char *hex, unsigned char *out)
{
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
	return n;
}

static int dec_msg_hex(const char *hex, struct hr_client_msg *m)
{
	unsigned char raw[512];
	size_t n = unhex(hex, raw);
	E.msg[0] = 0;
	return hpb_decode_client_msg(&A, raw, n, m, &E);
}

/* ---------------------------------------------------------------- golden bytes */

static void test_golden_server_msgs(void)
{
	struct buf b;
	buf_init(&b);
	hpb_encode_server_msg(&b, &(struct hr_server_msg){.type = HR_SMSG_HELLO_OK});
	CHECK(bytes_eq(&b, "0a00"));

	/* response_ok{5, execute{result{cols[{name "a"}], rows[[integer -1]]}}} */
	struct hr_col col = {.name = "a"};
	struct hr_value v = {.type = HR_INTEGER, .i = -1};
	struct hr_stmt_result sr = {.cols = &col, .ncols = 1, .rows = &v, .nrows = 1};
	struct hr_server_msg m = {.type = HR_SMSG_RESPONSE_OK, .request_id = 5};
	m.resp.type = HR_REQ_EXECUTE;
	m.resp.stmt_result = &sr;
	b.len = 0;
	hpb_encode_server_msg(&b, &m);
	CHECK(bytes_eq(&b, "1a11" "0805" "220d" "0a0b" "0a030a0161" "12040a021001"));

	/* the optional fields: last_insert_rowid 3 (sint64: 6), decltype "T" */
	col.decltype = "T";
	sr.has_last_insert_rowid = true;
	sr.last_insert_rowid = 3;
	sr.affected_row_count = 1;
	sr.nrows = 0;
	b.len = 0;
	hpb_encode_server_msg(&b, &m);
	CHECK(bytes_eq(&b, "1a12" "0805" "220e" "0a0c" "0a060a0161120154" "1801" "2006"));

	/* response_error{2, {message "m", code "C"}} */
	b.len = 0;
	hpb_encode_server_msg(&b, &(struct hr_server_msg){.type = HR_SMSG_RESPONSE_ERROR, .request_id = 2,
							   .error = {.message = "m", .code = "C"}});
	CHECK(bytes_eq(&b, "220a" "0802" "1206" "0a016d120143"));

	/* empty responses are present-but-empty variants: open_stream = 2 */
	m.resp = (struct hr_resp){.type = HR_REQ_OPEN_STREAM};
	m.request_id = 1;
	b.len = 0;
	hpb_encode_server_msg(&b, &m);
	CHECK(bytes_eq(&b, "1a04" "0801" "1200"));
	/* get_autocommit = 13 {is_autocommit = 1} */
	m.resp = (struct hr_resp){.type = HR_REQ_GET_AUTOCOMMIT, .is_autocommit = true};
	b.len = 0;
	hpb_encode_server_msg(&b, &m);
	CHECK(bytes_eq(&b, "1a06" "0801" "6a020801"));
	buf_free(&b);
}

static void test_golden_http(void)
{
	struct buf b;
	buf_init(&b);
	struct hr_stream_result r = {.ok = true, .resp = {.type = HR_REQ_CLOSE}};
	hpb_encode_pipeline_resp(&b, &(struct hr_pipeline_resp){.results = &r, .nresults = 1});
	CHECK(bytes_eq(&b, "1a04" "0a020a00"));
	b.len = 0;
	r = (struct hr_stream_result){.ok = false, .error = {.message = "x"}};
	hpb_encode_pipeline_resp(&b, &(struct hr_pipeline_resp){.baton = "B", .base_url = "u", .results = &r, .nresults = 1});
	CHECK(bytes_eq(&b, "0a0142" "120175" "1a05" "1203" "0a0178"));

	/* a cursor body: CursorRespBody{baton "b"}, CursorEntry{step_end{1, rowid 2}} */
	b.len = 0;
	hpb_encode_cursor_resp_delim(&b, &(struct hr_cursor_resp){.baton = "b"});
	hpb_encode_cursor_entry_delim(&b, &(struct hr_cursor_entry){.type = HR_ENTRY_STEP_END, .affected_row_count = 1,
								    .has_last_insert_rowid = true, .last_insert_rowid = 2});
	CHECK(bytes_eq(&b, "03" "0a0162" "06" "120408011004"));
	size_t off = 0, len = 0;
	const void *item;
	struct hr_cursor_resp head;
	struct hr_cursor_entry en;
	CHECK(hpb_next_delim(b.p, b.len, &off, &item, &len) == 1);
	CHECK(hpb_decode_cursor_resp(&A, item, len, &head, &E) == 0);
	CHECK_STR(head.baton, "b");
	CHECK(head.base_url == NULL);
	CHECK(hpb_next_delim(b.p, b.len, &off, &item, &len) == 1);
	CHECK(hpb_decode_cursor_entry(&A, item, len, &en, &E) == 0);
	CHECK(en.type == HR_ENTRY_STEP_END && en.affected_row_count == 1 && en.has_last_insert_rowid &&
	      en.last_insert_rowid == 2);
	CHECK(hpb_next_delim(b.p, b.len, &off, &item, &len) == 0);
	/* a truncated stream */
	off = 0;
	CHECK(hpb_next_delim(b.p, 3, &off, &item, &len) == HPB_E_SYNTAX);

	b.len = 0;
	hpb_encode_error(&b, &(struct hr_error){.message = "The stream has expired", .code = "STREAM_EXPIRED"});
	CHECK(b.len > 0 && b.p[0] == 0x0a && b.p[1] == 22);
	buf_free(&b);
}

/* What @libsql/hrana-client writes (ws/protobuf_encode.js): hello without a
 * jwt, and an execute with sql and want_rows. */
static void test_decode_client_bytes(void)
{
	struct hr_client_msg m;
	CHECK(dec_msg_hex("0a00", &m) == 0);
	CHECK(m.type == HR_CMSG_HELLO && m.jwt == NULL);
	CHECK(dec_msg_hex("0a030a0178", &m) == 0);
	CHECK_STR(m.jwt, "x");
	CHECK(dec_msg_hex("1214" "0801" "2210" "0801" "120c" "0a0853454c4543542031" "2801", &m) == 0);
	CHECK(m.type == HR_CMSG_REQUEST && m.request_id == 1);
	CHECK(m.req.type == HR_REQ_EXECUTE && m.req.stream_id == 1);
	CHECK_STR(m.req.stmt.sql, "SELECT 1");
	CHECK(m.req.stmt.want_rows && m.req.stmt.nargs == 0 && !m.req.stmt.has_sql_id);
	/* want_rows absent means true, explicit false is false */
	CHECK(dec_msg_hex("1212" "0801" "220e" "0801" "120a" "0a0853454c4543542031", &m) == 0);
	CHECK(m.req.stmt.want_rows);
	CHECK(dec_msg_hex("1214" "0801" "2210" "0801" "120c" "0a0853454c4543542031" "2800", &m) == 0);
	CHECK(!m.req.stmt.want_rows);
	/* args: a Value with no variant is null (the client writes nothing for undefined) */
	CHECK(dec_msg_hex("120d" "0801" "2209" "0801" "1205" "0a0178" "1a00", &m) == 0);
	CHECK(m.req.stmt.nargs == 1 && m.req.stmt.args[0].type == HR_NULL);
	/* request_id is int32: negative ids are 10-byte varints */
	CHECK(dec_msg_hex("120f" "08ffffffffffffffffff01" "1a020801", &m) == 0);
	CHECK(m.request_id == -1 && m.req.type == HR_REQ_CLOSE_STREAM && m.req.stream_id == 1);
}

static void test_unknown_fields_ignored(void)
{
	struct hr_client_msg m;
	/* unknown varint, fixed64, fixed32 and length-delimited fields at the top,
	 * in RequestMsg and in Stmt */
	CHECK(dec_msg_hex("0a00" "7801" "81010000000000000000" "8d0100000000" "9a010178", &m) == 0);
	CHECK(m.type == HR_CMSG_HELLO);
	CHECK(dec_msg_hex("1217" "0801" "2213" "0801" "120f" "0a0853454c4543542031" "2801" "a00605", &m) == 0);
	CHECK(m.req.type == HR_REQ_EXECUTE);
	CHECK_STR(m.req.stmt.sql, "SELECT 1");
	/* a field number the schema does not know, as the only content of a
	 * RequestMsg: no known request */
	CHECK(dec_msg_hex("1205" "0801" "a801" "01", &m) == HPB_E_UNKNOWN_TYPE);
}

static void test_errors(void)
{
	struct hr_client_msg m;
	/* not protobuf */
	CHECK(dec_msg_hex("ff", &m) == HPB_E_SYNTAX);
	CHECK(dec_msg_hex("1205", &m) == HPB_E_SYNTAX); /* length past the end */
	CHECK(dec_msg_hex("08", &m) == HPB_E_SYNTAX);   /* truncated varint */
	CHECK(dec_msg_hex("0b", &m) == HPB_E_SYNTAX);   /* start group */
	CHECK(dec_msg_hex("0801", &m) == HPB_E_SYNTAX); /* hello (a message) as a varint */
	CHECK(strstr(E.msg, "wire type") != NULL);
	CHECK(dec_msg_hex("78ffffffffffffffffff7f", &m) == HPB_E_SYNTAX); /* 11-byte varint */
	/* invalid UTF-8: in a string field (jwt), in a text value */
	CHECK(dec_msg_hex("0a040a02c328", &m) == HPB_E_SYNTAX);
	CHECK(strstr(E.msg, "UTF-8") != NULL);
	CHECK(dec_msg_hex("1211" "0801" "220d" "0801" "1209" "0a0178" "1a042202c328", &m) == HPB_E_SYNTAX);
	/* a blob may hold any bytes */
	CHECK(dec_msg_hex("1211" "0801" "220d" "0801" "1209" "0a0178" "1a042a02c328", &m) == 0);
	CHECK(m.req.stmt.args[0].type == HR_BLOB && m.req.stmt.args[0].n == 2);
	/* no variant */
	CHECK(dec_msg_hex("", &m) == HPB_E_UNKNOWN_TYPE);
	CHECK(dec_msg_hex("1202" "0801", &m) == HPB_E_UNKNOWN_TYPE);
	/* a BatchCond with no variant: batch(5){stream 1, batch{steps[{condition{}, stmt{sql "x"}}]}} */
	CHECK(dec_msg_hex("1211" "0801" "2a0d" "0801" "1209" "0a07" "0a00" "12030a0178", &m) == HPB_E_SHAPE);
	/* the same with step_ok 0 decodes */
	CHECK(dec_msg_hex("1213" "0801" "2a0f" "0801" "120b" "0a09" "0a020800" "12030a0178", &m) == 0);
	CHECK(m.req.batch.nsteps == 1 && m.req.batch.steps[0].cond && m.req.batch.steps[0].cond->type == HR_COND_OK);
	/* pipeline and cursor bodies */
	struct hr_pipeline_req p;
	struct hr_cursor_req c;
	CHECK(hpb_decode_pipeline_req(&A, "\x12\x02\x62\x00", 4, &p, &E) == HPB_E_UNKNOWN_TYPE); /* StreamRequest 12 */
	CHECK(hpb_decode_pipeline_req(&A, "\x12\x02\x0a\x00", 4, &p, &E) == 0);                 /* close */
	CHECK(p.nrequests == 1 && p.requests[0].type == HR_REQ_CLOSE && p.baton == NULL);
	CHECK(hpb_decode_pipeline_req(&A, NULL, 0, &p, &E) == 0 && p.nrequests == 0);
	CHECK(hpb_decode_cursor_req(&A, "\x12\x04\x0a\x02\x12\x00", 6, &c, &E) == HPB_E_INVALID); /* empty Stmt */
	CHECK(hpb_decode_cursor_req(&A, "\x0a\x01\x62", 3, &c, &E) == 0);
	CHECK_STR(c.baton, "b");
	CHECK(c.batch.nsteps == 0);
}

/* A batch(5) ClientMsg whose one step has a chain of `depth` nested `not`s. */
static size_t nested_not(unsigned char *out, size_t cap, int depth)
{
	/* build inside out at the end of the buffer */
	size_t end = cap, pos = cap;
	out[--pos] = 0x00; /* step_ok 0 */
	out[--pos] = 0x08;
	for (int i = 0; i < depth; i++) {
		size_t len = end - pos;
		/* varint length then the 0x1a key (field 3, wire 2) */
		unsigned char v[10];
		size_t k = 0;
		do {
			v[k++] = (unsigned char)((len & 0x7F) | (len > 0x7F ? 0x80 : 0));
			len >>= 7;
		} while (len);
		while (k)
			out[--pos] = v[--k];
		out[--pos] = 0x1a;
	}
	/* wrap: BatchStep{condition=1, stmt=2{sql "x"}}, Batch{steps=1},
	 * BatchReq{stream 1, batch=2}, RequestMsg{id 1, batch=5}, ClientMsg{request=2} */
	static const struct {
		unsigned char key;
		const char *prefix;
		size_t nprefix;
		const char *suffix;
		size_t nsuffix;
	} wraps[] = {{0x0a, "", 0, "\x12\x03\x0a\x01x", 5}, {0x0a, "", 0, "", 0}, {0x12, "\x08\x01", 2, "", 0},
		     {0x2a, "\x08\x01", 2, "", 0}, {0x12, "", 0, "", 0}};
	for (size_t w = 0; w < 5; w++) {
		size_t inner = end - pos;
		/* the condition is field 1 of BatchStep: key first */
		unsigned char v[10];
		size_t k = 0, len = inner;
		do {
			v[k++] = (unsigned char)((len & 0x7F) | (len > 0x7F ? 0x80 : 0));
			len >>= 7;
		} while (len);
		/* [prefix][key][len][inner][suffix]: move inner right to make room for the suffix */
		memmove(out + pos - wraps[w].nsuffix, out + pos, inner);
		pos -= wraps[w].nsuffix;
		memcpy(out + pos + inner, wraps[w].suffix, wraps[w].nsuffix);
		while (k)
			out[--pos] = v[--k];
		out[--pos] = wraps[w].key;
		pos -= wraps[w].nprefix;
		memcpy(out + pos, wraps[w].prefix, wraps[w].nprefix);
	}
	memmove(out, out + pos, end - pos);
	return end - pos;
}

static void test_depth_bound(void)
{
	size_t cap = 1 << 16;
	unsigned char *buf = malloc(cap);
	struct hr_client_msg m;
	size_t n = nested_not(buf, cap, 900);
	E.msg[0] = 0;
	CHECK(hpb_decode_client_msg(&A, buf, n, &m, &E) == 0);
	if (m.type == HR_CMSG_REQUEST && m.req.batch.nsteps == 1) {
		int d = 0;
		for (const struct hr_cond *c = m.req.batch.steps[0].cond; c && c->type == HR_COND_NOT; c = c->conds)
			d++;
		CHECK(d == 900);
		CHECK_STR(m.req.batch.steps[0].stmt.sql, "x");
	} else {
		CHECK(!"the 900-deep batch did not decode as a batch");
	}
	n = nested_not(buf, cap, HPB_MAX_DEPTH + 5);
	CHECK(hpb_decode_client_msg(&A, buf, n, &m, &E) == HPB_E_SYNTAX);
	CHECK(strstr(E.msg, "deeper") != NULL);
	free(buf);
}

/* ---------------------------------------------------------------- responses */

static bool value_eq(const struct hr_value *a, const struct hr_value *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == HR_INTEGER)
		return a->i == b->i;
	if (a->type == HR_FLOAT)
		return a->f == b->f;
	if (a->type == HR_TEXT || a->type == HR_BLOB)
		return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
	return true;
}

static bool cstr_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool sr_eq(const struct hr_stmt_result *a, const struct hr_stmt_result *b)
{
	if (a->ncols != b->ncols || a->nrows != b->nrows || a->affected_row_count != b->affected_row_count ||
	    a->has_last_insert_rowid != b->has_last_insert_rowid || a->last_insert_rowid != b->last_insert_rowid ||
	    a->has_replication_index != b->has_replication_index || a->replication_index != b->replication_index ||
	    a->rows_read != b->rows_read || a->rows_written != b->rows_written ||
	    a->query_duration_ms != b->query_duration_ms)
		return false;
	for (size_t i = 0; i < a->ncols; i++)
		if (!cstr_eq(a->cols[i].name, b->cols[i].name) || !cstr_eq(a->cols[i].decltype, b->cols[i].decltype))
			return false;
	for (size_t i = 0; i < a->ncols * a->nrows; i++)
		if (!value_eq(&a->rows[i], &b->rows[i]))
			return false;
	return true;
}

static struct hr_col COLS[2] = {{.name = "id", .decltype = "INTEGER"}, {.name = NULL, .decltype = NULL}};
static struct hr_value ROWS[6] = {
	{.type = HR_INTEGER, .i = INT64_MIN}, {.type = HR_TEXT, .s = "a\0b", .n = 3},
	{.type = HR_FLOAT, .f = -2.25},       {.type = HR_BLOB, .s = "\xff\x00", .n = 2},
	{.type = HR_NULL},                    {.type = HR_INTEGER, .i = 0},
};
static struct hr_stmt_result SR = {.cols = COLS, .ncols = 2, .rows = ROWS, .nrows = 3, .affected_row_count = 7,
				   .has_last_insert_rowid = true, .last_insert_rowid = -9, .has_replication_index = true,
				   .replication_index = UINT64_MAX, .rows_read = 3, .rows_written = 1,
				   .query_duration_ms = 0.125};

static void test_server_msg_round_trips(void)
{
	struct hr_stmt_result empty_sr = {0};
	struct hr_error err1 = {.message = "boom", .code = "SQLITE_ERROR"};
	struct hr_stmt_result *results[4] = {&SR, NULL, NULL, &empty_sr};
	struct hr_error *errors[4] = {NULL, &err1, NULL, NULL};
	struct hr_batch_result br = {.nsteps = 4, .step_results = results, .step_errors = errors};
	struct hr_describe_param params[2] = {{.name = ":a"}, {.name = NULL}};
	struct hr_describe_result dr = {.params = params, .nparams = 2, .cols = COLS, .ncols = 1, .is_explain = true};
	struct hr_cursor_entry ents[5] = {
		{.type = HR_ENTRY_STEP_BEGIN, .step = 2, .cols = COLS, .ncols = 2},
		{.type = HR_ENTRY_ROW, .row = ROWS, .nrow = 2},
		{.type = HR_ENTRY_STEP_END, .affected_row_count = 3},
		{.type = HR_ENTRY_STEP_ERROR, .step = 4, .error = {.message = "e", .code = "C"}},
		{.type = HR_ENTRY_ERROR, .error = {.message = "whole"}},
	};
	for (int t = HR_REQ_OPEN_STREAM; t <= HR_REQ_GET_AUTOCOMMIT; t++) {
		struct hr_server_msg m = {.type = HR_SMSG_RESPONSE_OK, .request_id = t * 1000};
		m.resp = (struct hr_resp){.type = (enum hr_req_type)t, .stmt_result = &SR, .batch_result = &br,
					  .describe_result = &dr, .is_autocommit = true, .entries = ents, .nentries = 5,
					  .done = true};
		struct buf b;
		buf_init(&b);
		hpb_encode_server_msg(&b, &m);
		struct hr_server_msg o;
		CHECK(hpb_decode_server_msg(&A, b.p, b.len, &o, &E) == 0);
		CHECK(o.type == HR_SMSG_RESPONSE_OK && o.request_id == t * 1000 && o.resp.type == (enum hr_req_type)t);
		switch (t) {
		case HR_REQ_EXECUTE:
			CHECK(o.resp.stmt_result && sr_eq(o.resp.stmt_result, &SR));
			break;
		case HR_REQ_BATCH: {
			const struct hr_batch_result *x = o.resp.batch_result;
			CHECK(x && x->nsteps == 4); /* the highest key is 3 */
			if (x && x->nsteps == 4) {
				CHECK(x->step_results[0] && sr_eq(x->step_results[0], &SR));
				CHECK(!x->step_results[1] && x->step_errors[1]);
				CHECK(x->step_errors[1] && cstr_eq(x->step_errors[1]->message, "boom") &&
				      cstr_eq(x->step_errors[1]->code, "SQLITE_ERROR"));
				CHECK(!x->step_results[2] && !x->step_errors[2]);
				CHECK(x->step_results[3] && sr_eq(x->step_results[3], &empty_sr));
			}
			break;
		}
		case HR_REQ_DESCRIBE: {
			const struct hr_describe_result *x = o.resp.describe_result;
			CHECK(x && x->nparams == 2 && cstr_eq(x->params[0].name, ":a") && !x->params[1].name);
			CHECK(x && x->ncols == 1 && cstr_eq(x->cols[0].name, "id") && cstr_eq(x->cols[0].decltype, "INTEGER"));
			CHECK(x && x->is_explain && !x->is_readonly);
			break;
		}
		case HR_REQ_GET_AUTOCOMMIT:
			CHECK(o.resp.is_autocommit);
			break;
		case HR_REQ_FETCH_CURSOR:
			CHECK(o.resp.done && o.resp.nentries == 5);
			if (o.resp.nentries == 5) {
				const struct hr_cursor_entry *x = o.resp.entries;
				CHECK(x[0].type == HR_ENTRY_STEP_BEGIN && x[0].step == 2 && x[0].ncols == 2 &&
				      cstr_eq(x[0].cols[0].name, "id") && !x[0].cols[1].name);
				CHECK(x[1].type == HR_ENTRY_ROW && x[1].nrow == 2 && value_eq(&x[1].row[0], &ROWS[0]) &&
				      value_eq(&x[1].row[1], &ROWS[1]));
				CHECK(x[2].type == HR_ENTRY_STEP_END && x[2].affected_row_count == 3 && !x[2].has_last_insert_rowid);
				CHECK(x[3].type == HR_ENTRY_STEP_ERROR && x[3].step == 4 && cstr_eq(x[3].error.code, "C"));
				CHECK(x[4].type == HR_ENTRY_ERROR && cstr_eq(x[4].error.message, "whole") && !x[4].error.code);
			}
			break;
		default:
			break;
		}
		buf_free(&b);
	}
	/* hello_error */
	struct buf b;
	buf_init(&b);
	hpb_encode_server_msg(&b, &(struct hr_server_msg){.type = HR_SMSG_HELLO_ERROR, .error = {.message = "no"}});
	struct hr_server_msg o;
	CHECK(hpb_decode_server_msg(&A, b.p, b.len, &o, &E) == 0);
	CHECK(o.type == HR_SMSG_HELLO_ERROR && cstr_eq(o.error.message, "no") && o.error.code == NULL);
	buf_free(&b);
}

static void test_pipeline_resp_round_trip(void)
{
	struct hr_stream_result rs[9];
	static const enum hr_req_type types[8] = {HR_REQ_CLOSE,    HR_REQ_EXECUTE,   HR_REQ_BATCH,     HR_REQ_SEQUENCE,
						   HR_REQ_DESCRIBE, HR_REQ_STORE_SQL, HR_REQ_CLOSE_SQL, HR_REQ_GET_AUTOCOMMIT};
	struct hr_batch_result br = {0};
	struct hr_describe_result dr = {.is_readonly = true};
	for (int i = 0; i < 8; i++)
		rs[i] = (struct hr_stream_result){.ok = true, .resp = {.type = types[i], .stmt_result = &SR,
								       .batch_result = &br, .describe_result = &dr,
								       .is_autocommit = i == 7}};
	rs[8] = (struct hr_stream_result){.ok = false, .error = {.message = "bad", .code = "X"}};
	struct hr_pipeline_resp p = {.baton = "bt", .base_url = NULL, .results = rs, .nresults = 9}, o;
	struct buf b;
	buf_init(&b);
	hpb_encode_pipeline_resp(&b, &p);
	CHECK(hpb_decode_pipeline_resp(&A, b.p, b.len, &o, &E) == 0);
	CHECK(cstr_eq(o.baton, "bt") && o.base_url == NULL && o.nresults == 9);
	for (size_t i = 0; i < 8 && o.nresults == 9; i++)
		CHECK(o.results[i].ok && o.results[i].resp.type == types[i]);
	if (o.nresults == 9) {
		CHECK(sr_eq(o.results[1].resp.stmt_result, &SR));
		CHECK(o.results[4].resp.describe_result->is_readonly);
		CHECK(o.results[7].resp.is_autocommit);
		CHECK(!o.results[8].ok && cstr_eq(o.results[8].error.message, "bad") && cstr_eq(o.results[8].error.code, "X"));
	}
	buf_free(&b);
}

/* Rows without columns (found by fuzz_hpb: the encoder did pointer
 * arithmetic on a NULL rows array). */
static void test_rows_without_columns(void)
{
	struct hr_stmt_result sr = {.nrows = 2};
	struct hr_server_msg m = {.type = HR_SMSG_RESPONSE_OK, .resp = {.type = HR_REQ_EXECUTE, .stmt_result = &sr}}, o;
	struct buf b;
	buf_init(&b);
	hpb_encode_server_msg(&b, &m);
	CHECK(hpb_decode_server_msg(&A, b.p, b.len, &o, &E) == 0);
	CHECK(o.resp.stmt_result && o.resp.stmt_result->nrows == 2 && o.resp.stmt_result->ncols == 0);
	buf_free(&b);
}

int main(void)
{
	arena_init(&A);
	T_RUN(test_golden_server_msgs);
	T_RUN(test_golden_http);
	T_RUN(test_decode_client_bytes);
	T_RUN(test_unknown_fields_ignored);
	T_RUN(test_errors);
	T_RUN(test_depth_bound);
	T_RUN(test_server_msg_round_trips);
	T_RUN(test_pipeline_resp_round_trip);
	T_RUN(test_rows_without_columns);
	arena_free(&A);
	return T_DONE();
}
