/* Unit tests for proto/replpb.c, with the exact bytes of REPLICA_TRAFFIC.md. */
#include "bincode.h"
#include "grpcweb.h"
#include "replpb.h"
#include "t.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Hex to bytes: "0a 24 ..." (spaces ignored); 'text' inserts the text;
 * "[ ... ]" inserts the varint length of what is inside, then it. */
static const char *hex_in(struct buf *b, const char *s)
{
	while (*s && *s != ']') {
		if (*s == ' ') {
			s++;
		} else if (*s == '\'') {
			const char *end = strchr(s + 1, '\'');
			buf_put(b, s + 1, (size_t)(end - s - 1));
			s = end + 1;
		} else if (*s == '[') {
			struct buf in;
			buf_init(&in);
			s = hex_in(&in, s + 1) + 1;
			size_t len = in.len;
			do {
				buf_putc(b, (char)((len & 0x7F) | (len >= 0x80 ? 0x80 : 0)));
				len >>= 7;
			} while (len);
			buf_put(b, in.p, in.len);
			buf_free(&in);
		} else {
			char h[3] = {s[0], s[1], 0};
			buf_putc(b, (char)strtoul(h, NULL, 16));
			s += 2;
		}
	}
	return s;
}

static void hex(struct buf *b, const char *s)
{
	buf_init(b);
	buf_reserve(b, 0);
	hex_in(b, s);
}

static bool same(const struct buf *b, const struct buf *want)
{
	if (b->len == want->len && memcmp(b->p, want->p, b->len) == 0)
		return true;
	fprintf(stderr, "  got  (%zu):", b->len);
	for (size_t i = 0; i < b->len && i < 120; i++)
		fprintf(stderr, " %02x", (unsigned char)b->p[i]);
	fprintf(stderr, "\n  want (%zu):", want->len);
	for (size_t i = 0; i < want->len && i < 120; i++)
		fprintf(stderr, " %02x", (unsigned char)want->p[i]);
	fprintf(stderr, "\n");
	return false;
}

/* Unwraps a one-data-frame gRPC-web body. */
static bool unframe(const struct buf *body, const uint8_t **p, size_t *n)
{
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 0);
	size_t used;
	struct grpcweb_frame f;
	bool ok = grpcweb_dec_feed(&d, body->p, body->len, &used, &f, NULL) == 1 &&
		  used == body->len && f.flags == GRPCWEB_FLAG_DATA;
	*p = f.data;
	*n = f.len;
	grpcweb_dec_free(&d);
	return ok;
}

static void hello_request(void)
{
	struct arena a;
	arena_init(&a);
	struct buf body, want, b;
	hex(&body, "00 00000002 0801");
	const uint8_t *p;
	size_t n;
	CHECK(unframe(&body, &p, &n) && n == 2);
	struct replpb_hello_req r;
	CHECK(replpb_decode_hello_req(&a, p, n, &r, NULL) == 0);
	CHECK(r.has_handshake_version && r.handshake_version == 1);
	/* and the client side produces the same body */
	buf_init(&b);
	size_t off = grpcweb_begin_data(&b);
	replpb_encode_hello_req(&b, &r);
	grpcweb_end_data(&b, off);
	CHECK(same(&b, &body));
	buf_free(&b);
	/* an empty HelloRequest: no handshake_version */
	CHECK(replpb_decode_hello_req(&a, "", 0, &r, NULL) == 0 && !r.has_handshake_version);
	CHECK(replpb_decode_hello_req(&a, NULL, 0, &r, NULL) == 0 && !r.has_handshake_version);
	/* handshake_version 0 is present, not defaulted */
	hex(&want, "0800");
	CHECK(replpb_decode_hello_req(&a, want.p, want.len, &r, NULL) == 0);
	CHECK(r.has_handshake_version && r.handshake_version == 0);
	buf_init(&b);
	replpb_encode_hello_req(&b, &r);
	CHECK(same(&b, &want));
	buf_free(&b);
	buf_free(&want);
	buf_free(&body);
	arena_free(&a);
}

static void log_offset(void)
{
	struct arena a;
	arena_init(&a);
	struct buf body, b;
	const uint8_t *p;
	size_t n;
	struct replpb_log_offset lo;
	/* BatchLogEntries from offset 0: 00 00000000 */
	hex(&body, "00 00000000");
	CHECK(unframe(&body, &p, &n) && n == 0);
	CHECK(replpb_decode_log_offset(&a, p, n, &lo, NULL) == 0);
	CHECK(lo.next_offset == 0 && !lo.has_wal_flavor);
	buf_init(&b);
	size_t off = grpcweb_begin_data(&b);
	replpb_encode_log_offset(&b, &lo);
	grpcweb_end_data(&b, off);
	CHECK(same(&b, &body));
	buf_free(&b);
	buf_free(&body);
	/* from offset 5: 00 00000002 0805 */
	hex(&body, "00 00000002 0805");
	CHECK(unframe(&body, &p, &n));
	CHECK(replpb_decode_log_offset(&a, p, n, &lo, NULL) == 0 && lo.next_offset == 5);
	buf_init(&b);
	off = grpcweb_begin_data(&b);
	replpb_encode_log_offset(&b, &lo);
	grpcweb_end_data(&b, off);
	CHECK(same(&b, &body));
	buf_free(&b);
	buf_free(&body);
	/* wal_flavor, explicit Sqlite (0) included */
	struct buf want;
	hex(&want, "08 ffffffffffffffffff01 10 00");
	CHECK(replpb_decode_log_offset(&a, want.p, want.len, &lo, NULL) == 0);
	CHECK(lo.next_offset == UINT64_MAX && lo.has_wal_flavor &&
	      lo.wal_flavor == REPLPB_WAL_FLAVOR_SQLITE);
	buf_init(&b);
	replpb_encode_log_offset(&b, &lo);
	CHECK(same(&b, &want));
	buf_free(&b);
	buf_free(&want);
	hex(&want, "10 01");
	CHECK(replpb_decode_log_offset(&a, want.p, want.len, &lo, NULL) == 0);
	CHECK(lo.has_wal_flavor && lo.wal_flavor == REPLPB_WAL_FLAVOR_LIBSQL);
	buf_free(&want);
	arena_free(&a);
}

/* The Proxy/Execute body of REPLICA_TRAFFIC.md §4. */
#define EXECUTE_BODY                                                               \
	"00 00000058 0a 24 'aef573c3-ed30-460a-89cf-6baa81e310b4' 12 30 0a 2e 12 2c " \
	"0a 28 'CREATE TABLE IF NOT EXISTS capture_t (x)' 12 00"

static void program_req_example(void)
{
	struct arena a;
	arena_init(&a);
	struct buf body, b;
	hex(&body, EXECUTE_BODY);
	CHECK(body.len == 93);
	const uint8_t *p;
	size_t n;
	CHECK(unframe(&body, &p, &n) && n == 88);
	struct replpb_program_req r;
	struct err e;
	CHECK(replpb_decode_program_req(&a, p, n, &r, &e) == 0);
	CHECK_STR(r.client_id, "aef573c3-ed30-460a-89cf-6baa81e310b4");
	CHECK(r.pgm.nsteps == 1);
	CHECK(r.pgm.steps[0].cond == NULL);
	CHECK_STR(r.pgm.steps[0].stmt.sql, "CREATE TABLE IF NOT EXISTS capture_t (x)");
	CHECK(r.pgm.steps[0].stmt.nargs == 0 && r.pgm.steps[0].stmt.nnamed == 0);
	CHECK(r.pgm.steps[0].stmt.want_rows && !r.pgm.steps[0].stmt.has_sql_id);
	/* the client side produces the very same 93 bytes */
	buf_init(&b);
	size_t off = grpcweb_begin_data(&b);
	CHECK(replpb_encode_program_req(&b, &r, &e) == 0);
	grpcweb_end_data(&b, off);
	CHECK(same(&b, &body));
	buf_free(&b);
	buf_free(&body);
	arena_free(&a);
}

static bool value_eq(const struct hr_value *x, const struct hr_value *y)
{
	if (x->type != y->type)
		return false;
	switch (x->type) {
	case HR_INTEGER: return x->i == y->i;
	case HR_FLOAT: return memcmp(&x->f, &y->f, 8) == 0;
	case HR_TEXT:
	case HR_BLOB: return x->n == y->n && (x->n == 0 || memcmp(x->s, y->s, x->n) == 0);
	default: return true;
	}
}

static void program_req_params_and_conds(void)
{
	struct arena a;
	arena_init(&a);
	/* BEGIN; INSERT ? x5 (positional); UPDATE :a (named) if ok(1);
	 * COMMIT if ok(2) and not autocommit; ROLLBACK if not ok(3) or err(2) */
	struct hr_value args[] = {
		{.type = HR_INTEGER, .i = -42},
		{.type = HR_FLOAT, .f = 3.25},
		{.type = HR_TEXT, .s = "t\xc3\xa9xt", .n = 5},
		{.type = HR_BLOB, .s = "\0\x01", .n = 2},
		{.type = HR_NULL},
	};
	struct hr_named_arg named[] = {{":a", {.type = HR_INTEGER, .i = 7}},
				       {"$b", {.type = HR_TEXT, .s = "", .n = 0}}};
	struct hr_cond ok1 = {.type = HR_COND_OK, .step = 1};
	struct hr_cond ok2 = {.type = HR_COND_OK, .step = 2};
	struct hr_cond ac = {.type = HR_COND_IS_AUTOCOMMIT};
	struct hr_cond notac = {.type = HR_COND_NOT, .conds = &ac, .nconds = 1};
	struct hr_cond and_c[] = {ok2, notac};
	struct hr_cond commit = {.type = HR_COND_AND, .conds = and_c, .nconds = 2};
	struct hr_cond ok3 = {.type = HR_COND_OK, .step = 3};
	struct hr_cond not3 = {.type = HR_COND_NOT, .conds = &ok3, .nconds = 1};
	struct hr_cond err2 = {.type = HR_COND_ERROR, .step = 2};
	struct hr_cond or_c[] = {not3, err2};
	struct hr_cond rollback = {.type = HR_COND_OR, .conds = or_c, .nconds = 2};
	struct hr_step steps[5] = {
		{.stmt = {.sql = "BEGIN", .want_rows = true}},
		{.stmt = {.sql = "INSERT INTO t VALUES (?, ?, ?, ?, ?)", .args = args, .nargs = 5}},
		{.cond = &ok1, .stmt = {.sql = "UPDATE t SET x = :a", .named = named, .nnamed = 2,
					.want_rows = true}},
		{.cond = &commit, .stmt = {.sql = "COMMIT", .want_rows = true}},
		{.cond = &rollback, .stmt = {.sql = "ROLLBACK", .want_rows = true}},
	};
	struct replpb_program_req req = {.client_id = "c1", .pgm = {.steps = steps, .nsteps = 5}};
	struct buf b, b2;
	buf_init(&b);
	struct err e;
	CHECK(replpb_encode_program_req(&b, &req, &e) == 0);
	struct replpb_program_req r;
	CHECK(replpb_decode_program_req(&a, b.p, b.len, &r, &e) == 0);
	CHECK_STR(r.client_id, "c1");
	CHECK(r.pgm.nsteps == 5);
	CHECK(r.pgm.steps[0].cond == NULL && r.pgm.steps[0].stmt.want_rows);
	const struct hr_stmt *s1 = &r.pgm.steps[1].stmt;
	CHECK(!s1->want_rows && s1->nargs == 5 && s1->nnamed == 0);
	for (int k = 0; k < 5; k++)
		CHECK(value_eq(&s1->args[k], &args[k]));
	const struct hr_stmt *s2 = &r.pgm.steps[2].stmt;
	CHECK(s2->nnamed == 2 && s2->nargs == 0);
	CHECK_STR(s2->named[0].name, ":a");
	CHECK_STR(s2->named[1].name, "$b");
	CHECK(value_eq(&s2->named[0].value, &named[0].value) &&
	      value_eq(&s2->named[1].value, &named[1].value));
	CHECK(r.pgm.steps[2].cond->type == HR_COND_OK && r.pgm.steps[2].cond->step == 1);
	const struct hr_cond *c3 = r.pgm.steps[3].cond;
	CHECK(c3->type == HR_COND_AND && c3->nconds == 2 && c3->conds[0].type == HR_COND_OK &&
	      c3->conds[0].step == 2 && c3->conds[1].type == HR_COND_NOT &&
	      c3->conds[1].nconds == 1 && c3->conds[1].conds[0].type == HR_COND_IS_AUTOCOMMIT);
	const struct hr_cond *c4 = r.pgm.steps[4].cond;
	CHECK(c4->type == HR_COND_OR && c4->nconds == 2 && c4->conds[0].type == HR_COND_NOT &&
	      c4->conds[0].conds[0].type == HR_COND_OK && c4->conds[0].conds[0].step == 3 &&
	      c4->conds[1].type == HR_COND_ERROR && c4->conds[1].step == 2);
	/* re-encoding gives the same bytes */
	buf_init(&b2);
	CHECK(replpb_encode_program_req(&b2, &r, &e) == 0);
	CHECK(same(&b2, &b));
	buf_free(&b2);
	/* the first value is bincode Integer(-42) inside Value.data */
	struct buf v;
	hex(&v, "0a 0c 01000000 d6ffffffffffffff");
	CHECK(memmem(b.p, b.len, v.p, v.len) != NULL);
	buf_free(&v);
	buf_free(&b);
	arena_free(&a);
}

static void program_req_encode_errors(void)
{
	struct hr_value v = {.type = HR_NULL};
	struct hr_named_arg na = {"x", {.type = HR_NULL}};
	struct hr_cond two[2] = {{.type = HR_COND_IS_AUTOCOMMIT}, {.type = HR_COND_IS_AUTOCOMMIT}};
	struct hr_cond bad_not = {.type = HR_COND_NOT, .conds = two, .nconds = 2};
	struct hr_cond bad_type = {.type = (enum hr_cond_type)99};
	struct hr_step cases[][1] = {
		{{.stmt = {.sql = "x", .args = &v, .nargs = 1, .named = &na, .nnamed = 1}}},
		{{.stmt = {.sql = NULL}}},
		{{.stmt = {.has_sql_id = true, .sql_id = 1}}},
		{{.cond = &bad_not, .stmt = {.sql = "x"}}},
		{{.cond = &bad_type, .stmt = {.sql = "x"}}},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct replpb_program_req r = {.client_id = "c", .pgm = {.steps = cases[k], .nsteps = 1}};
		struct buf b;
		buf_init(&b);
		buf_puts(&b, "keep");
		struct err e = {{0}};
		CHECK(replpb_encode_program_req(&b, &r, &e) == REPLPB_E_INVALID);
		CHECK(e.msg[0] != 0);
		CHECK(b.len == 4 && memcmp(b.p, "keep", 4) == 0); /* untouched */
		buf_free(&b);
	}
}

/* Decodes ProgramReq bytes given in hex; returns the code. */
static int decode_prog_hex(const char *h, struct err *e)
{
	struct arena a;
	arena_init(&a);
	struct buf b;
	hex(&b, h);
	struct replpb_program_req r;
	int rc = replpb_decode_program_req(&a, b.p, b.len, &r, e);
	buf_free(&b);
	arena_free(&a);
	return rc;
}

#define STEP_X "0a [12 [0a ['x']]]" /* Program.steps: Step{query{stmt "x"}} */
/* A two-step program whose second step has Cond `cond` (the Cond's bytes). */
#define TWO_STEPS(cond) "12 [" STEP_X " 0a [0a [" cond "] 12 [0a ['y']]]]"

static void program_req_invalid(void)
{
	struct err e;
	CHECK(decode_prog_hex("12 [" STEP_X "]", NULL) == 0);
	/* absent program: zero steps */
	CHECK(decode_prog_hex("0a ['c']", NULL) == 0);
	/* a step without query */
	CHECK(decode_prog_hex("12 [0a []]", &e) == REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "no query") != NULL);
	/* Cond with nothing set */
	CHECK(decode_prog_hex("12 [0a [0a [] 12 [0a ['x']]]]", &e) == REPLPB_E_INVALID);
	/* ok(0) on step 0: a step may only refer to earlier ones */
	CHECK(decode_prog_hex("12 [0a [0a [0a [08 00]] 12 [0a ['x']]]]", &e) == REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "refers to step 0") != NULL);
	/* on step 1: ok(0) fine; ok(1), ok(5), ok(-1), err(2^32) not */
	CHECK(decode_prog_hex(TWO_STEPS("0a [08 00]"), &e) == 0);
	CHECK(decode_prog_hex(TWO_STEPS("12 [08 00]"), &e) == 0);
	CHECK(decode_prog_hex(TWO_STEPS("0a [08 01]"), &e) == REPLPB_E_INVALID);
	CHECK(decode_prog_hex(TWO_STEPS("0a [08 05]"), &e) == REPLPB_E_INVALID);
	CHECK(decode_prog_hex(TWO_STEPS("0a [08 ffffffffffffffffff01]"), &e) == REPLPB_E_INVALID);
	CHECK(decode_prog_hex(TWO_STEPS("12 [08 8080808010]"), &e) == REPLPB_E_INVALID);
	/* not / and / or / is_autocommit */
	CHECK(decode_prog_hex(TWO_STEPS("1a [0a [32 []]]"), &e) == 0);
	CHECK(decode_prog_hex(TWO_STEPS("22 [0a [32 []] 0a [0a [08 00]]]"), &e) == 0);
	CHECK(decode_prog_hex(TWO_STEPS("2a []"), &e) == 0);
	CHECK(decode_prog_hex(TWO_STEPS("2a [0a [0a [08 01]]]"), &e) == REPLPB_E_INVALID);
	/* NotCond without cond */
	CHECK(decode_prog_hex(TWO_STEPS("1a []"), &e) == REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "NotCond") != NULL);
	/* Named with 1 name and 0 values */
	CHECK(decode_prog_hex("12 [0a [12 [0a ['x'] 1a [0a ['a']]]]]", &e) == REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "1 names but 0 values") != NULL);
	/* a positional Value that is not bincode (tag 9) */
	CHECK(decode_prog_hex("12 [0a [12 [0a ['x'] 12 [0a [0a [09000000]]]]]]", &e) ==
	      REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "positional value 0") != NULL);
	/* a named Value with trailing bytes */
	CHECK(decode_prog_hex("12 [0a [12 [0a ['x'] 1a [0a ['a'] 12 [0a [00000000 00]]]]]]", &e) ==
	      REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "named value 0") != NULL);
	/* stmt not UTF-8, stmt with a NUL, client_id not UTF-8 */
	CHECK(decode_prog_hex("12 [0a [12 [0a [ff]]]]", &e) == REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "UTF-8") != NULL);
	CHECK(decode_prog_hex("12 [0a [12 [0a ['x' 00]]]]", &e) == REPLPB_E_INVALID);
	CHECK(decode_prog_hex("0a [c3 28]", &e) == REPLPB_E_INVALID);
	/* wire errors: truncated, group, field 0, overlong varint */
	CHECK(decode_prog_hex("12 [0a [12 [0a 01]]]", &e) == REPLPB_E_WIRE);
	CHECK(decode_prog_hex("0a", &e) == REPLPB_E_WIRE);
	CHECK(decode_prog_hex("0b 0c", &e) == REPLPB_E_WIRE);
	CHECK(decode_prog_hex("07", &e) == REPLPB_E_WIRE);
	CHECK(decode_prog_hex("00 00", &e) == REPLPB_E_WIRE);
	CHECK(decode_prog_hex("ff ff ff ff ff ff ff ff ff ff 01", &e) == REPLPB_E_WIRE);
	/* client_id sent as a varint: protobuf-c rejects the wire type */
	CHECK(decode_prog_hex("08 01", &e) == REPLPB_E_WIRE);
	/* unknown fields of every wire type are ignored */
	CHECK(decode_prog_hex("0a ['c'] 78 05 7a [ffff] 79 0102030405060708 7d 01020304 f8 07 01", &e) ==
	      0);
}

/* Prepends the protobuf key `tag` and the varint length `len` at *pos. */
static void prepend_hdr(uint8_t *p, size_t *pos, uint8_t tag, size_t len)
{
	uint8_t h[12];
	size_t hl = 0;
	h[hl++] = tag;
	do {
		h[hl++] = (uint8_t)((len & 0x7F) | (len >= 0x80 ? 0x80 : 0));
		len >>= 7;
	} while (len);
	*pos -= hl;
	memcpy(p + *pos, h, hl);
}

/* A ProgramReq of one step whose cond is `nots` NotConds around
 * is_autocommit; built back to front so hostile depths are cheap. */
static void nested_cond(struct buf *out, int nots)
{
	size_t cap = 64 + (size_t)nots * 16, pos = cap;
	uint8_t *p = malloc(cap);
	static const uint8_t query[] = {0x12, 0x05, 0x0a, 0x01, 'x', 0x12, 0x00}; /* +Positional{} */
	pos -= sizeof query;
	memcpy(p + pos, query, sizeof query);
	size_t cond_end = pos;
	p[--pos] = 0x00; /* IsAutocommitCond{} */
	p[--pos] = 0x32; /* Cond.is_autocommit */
	for (int k = 0; k < nots; k++) {
		prepend_hdr(p, &pos, 0x0a, cond_end - pos); /* NotCond.cond */
		prepend_hdr(p, &pos, 0x1a, cond_end - pos); /* Cond.not */
	}
	prepend_hdr(p, &pos, 0x0a, cond_end - pos); /* Step.cond */
	prepend_hdr(p, &pos, 0x0a, cap - pos);      /* Program.steps */
	prepend_hdr(p, &pos, 0x12, cap - pos);      /* ProgramReq.pgm */
	buf_init(out);
	buf_put(out, p + pos, cap - pos);
	free(p);
}

static void nesting_depth(void)
{
	struct arena a;
	arena_init(&a);
	struct replpb_program_req r;
	struct err e;
	struct buf b;
	/* ProgramReq(1) Program(2) Step(3) Cond(4) + 2 per NOT + IsAutocommitCond(1):
	 * 47 NOTs = 99 levels, 48 NOTs = 101 */
	nested_cond(&b, 47);
	CHECK(replpb_decode_program_req(&a, b.p, b.len, &r, &e) == 0);
	const struct hr_cond *c = r.pgm.steps[0].cond;
	int depth = 0;
	while (c->type == HR_COND_NOT)
		c = &c->conds[0], depth++;
	CHECK(depth == 47 && c->type == HR_COND_IS_AUTOCOMMIT);
	struct buf b2;
	buf_init(&b2);
	CHECK(replpb_encode_program_req(&b2, &r, &e) == 0 && same(&b2, &b));
	buf_free(&b2);
	buf_free(&b);
	nested_cond(&b, 48);
	CHECK(replpb_decode_program_req(&a, b.p, b.len, &r, &e) == REPLPB_E_WIRE);
	CHECK(strstr(e.msg, "nested deeper") != NULL);
	buf_free(&b);
	/* hostile: 100000 levels (would exhaust protobuf-c's stack) */
	nested_cond(&b, 100000);
	CHECK(replpb_decode_program_req(&a, b.p, b.len, &r, &e) == REPLPB_E_WIRE);
	buf_free(&b);
	arena_free(&a);
}

static void truncated_everywhere(void)
{
	struct arena a;
	arena_init(&a);
	struct buf body;
	hex(&body, EXECUTE_BODY);
	const uint8_t *p = (const uint8_t *)body.p + 5;
	size_t n = body.len - 5;
	for (size_t k = 0; k < n; k++) {
		struct replpb_program_req r;
		int rc = replpb_decode_program_req(&a, p, k, &r, NULL);
		/* a prefix ending between top-level fields decodes (client_id only) */
		CHECK(k == 0 || k == 38 ? rc == 0 : rc == REPLPB_E_WIRE);
	}
	buf_free(&body);
	arena_free(&a);
}

static void describe_and_disconnect(void)
{
	struct arena a;
	arena_init(&a);
	struct buf b, want;
	struct replpb_describe_req d = {.client_id = "cid", .stmt = "SELECT ?"};
	buf_init(&b);
	replpb_encode_describe_req(&b, &d);
	hex(&want, "0a 03 'cid' 12 08 'SELECT ?'");
	CHECK(same(&b, &want));
	struct replpb_describe_req d2;
	CHECK(replpb_decode_describe_req(&a, b.p, b.len, &d2, NULL) == 0);
	CHECK_STR(d2.client_id, "cid");
	CHECK_STR(d2.stmt, "SELECT ?");
	buf_free(&b);
	buf_free(&want);
	CHECK(replpb_decode_describe_req(&a, "", 0, &d2, NULL) == 0);
	CHECK_STR(d2.client_id, "");
	CHECK_STR(d2.stmt, "");
	struct replpb_disconnect dc = {.client_id = "x"}, dc2;
	buf_init(&b);
	replpb_encode_disconnect(&b, &dc);
	CHECK(b.len == 3 && memcmp(b.p, "\x0a\x01x", 3) == 0);
	CHECK(replpb_decode_disconnect(&a, b.p, b.len, &dc2, NULL) == 0);
	CHECK_STR(dc2.client_id, "x");
	buf_free(&b);
	/* a NULL string encodes as absent */
	struct replpb_disconnect dn = {.client_id = NULL};
	buf_init(&b);
	replpb_encode_disconnect(&b, &dn);
	CHECK(b.len == 0);
	buf_free(&b);
	arena_free(&a);
}

static void hello_response(void)
{
	struct arena a;
	arena_init(&a);
	struct buf b, want;
	const char *tok = "00000000-0000-4000-8000-000000000003";
	struct replpb_hello_resp r = {
		.generation_id = "g",
		.log_id = "l",
		.session_token = (const uint8_t *)"t",
		.session_token_len = 1,
	};
	buf_init(&b);
	replpb_encode_hello_resp(&b, &r);
	hex(&want, "0a 01 'g' 1a 01 'l' 22 01 't'");
	CHECK(same(&b, &want));
	buf_free(&b);
	buf_free(&want);
	/* current_replication_index 0 is present ("28 00"): not the same as absent */
	r.has_current_replication_index = true;
	buf_init(&b);
	replpb_encode_hello_resp(&b, &r);
	hex(&want, "0a 01 'g' 1a 01 'l' 22 01 't' 28 00");
	CHECK(same(&b, &want));
	buf_free(&b);
	buf_free(&want);
	/* every field, config included */
	struct replpb_db_config cfg = {
		.block_reads = true,
		.block_reason = "maintenance",
		.max_db_pages = 1000,
		.jwt_key = "k",
		.has_txn_timeout_s = true,
		.txn_timeout_s = 5,
		.allow_attach = true,
		.has_max_row_size = true,
		.max_row_size = 0,
		.has_shared_schema = true,
		.shared_schema = false,
		.has_durability_mode = true,
		.durability_mode = REPLPB_DURABILITY_STRONG,
	};
	struct replpb_hello_resp full = {
		.generation_id = "3f0e1c7e-0000-4000-8000-000000000001",
		.generation_start_index = 0,
		.log_id = "3f0e1c7e-0000-4000-8000-000000000002",
		.session_token = (const uint8_t *)tok,
		.session_token_len = strlen(tok),
		.has_current_replication_index = true,
		.current_replication_index = 12345678901ull,
		.config = &cfg,
	};
	buf_init(&b);
	replpb_encode_hello_resp(&b, &full);
	struct replpb_hello_resp o;
	CHECK(replpb_decode_hello_resp(&a, b.p, b.len, &o, NULL) == 0);
	CHECK_STR(o.generation_id, full.generation_id);
	CHECK_STR(o.log_id, full.log_id);
	CHECK(o.session_token_len == strlen(tok) && strcmp((const char *)o.session_token, tok) == 0);
	CHECK(o.has_current_replication_index && o.current_replication_index == 12345678901ull);
	CHECK(o.config != NULL);
	if (o.config) {
		const struct replpb_db_config *c = o.config;
		CHECK(c->block_reads && !c->block_writes && c->max_db_pages == 1000);
		CHECK_STR(c->block_reason, "maintenance");
		CHECK_STR(c->jwt_key, "k");
		CHECK(c->heartbeat_url == NULL && c->bottomless_db_id == NULL &&
		      c->shared_schema_name == NULL);
		CHECK(c->has_txn_timeout_s && c->txn_timeout_s == 5 && c->allow_attach);
		CHECK(c->has_max_row_size && c->max_row_size == 0);
		CHECK(c->has_shared_schema && !c->shared_schema);
		CHECK(c->has_durability_mode && c->durability_mode == REPLPB_DURABILITY_STRONG);
	}
	struct buf b2;
	buf_init(&b2);
	replpb_encode_hello_resp(&b2, &o);
	CHECK(same(&b2, &b));
	buf_free(&b2);
	buf_free(&b);
	/* an empty HelloResponse */
	CHECK(replpb_decode_hello_resp(&a, "", 0, &o, NULL) == 0);
	CHECK(o.config == NULL && !o.has_current_replication_index && o.session_token_len == 0);
	CHECK_STR(o.log_id, "");
	arena_free(&a);
}

static void frames(void)
{
	struct arena a;
	arena_init(&a);
	static uint8_t page[4120 + 100];
	for (size_t i = 0; i < sizeof page; i++)
		page[i] = (uint8_t)(i * 31 + 1);
	struct replpb_frame f = {.data = page, .len = 4120};
	struct replpb_frames fs = {.frames = &f, .nframes = 1};
	/* REPLICA_TRAFFIC.md: 0a <len> 0a <98 20> <4120 bytes> */
	struct buf b;
	buf_init(&b);
	replpb_encode_frames(&b, &fs);
	CHECK(b.len == 3 + 3 + 4120);
	CHECK(memcmp(b.p, "\x0a\x9b\x20\x0a\x98\x20", 6) == 0 && memcmp(b.p + 6, page, 4120) == 0);
	/* the same through frames_append */
	struct buf b2;
	buf_init(&b2);
	replpb_frames_append(&b2, &f);
	CHECK(same(&b2, &b));
	buf_free(&b2);
	/* in a gRPC-web response with its trailer */
	struct buf resp;
	buf_init(&resp);
	grpcweb_encode_data(&resp, b.p, b.len);
	grpcweb_encode_trailers(&resp, GRPC_STATUS_OK, NULL);
	CHECK(resp.len == 5 + 4126 + 5 + 15);
	CHECK(memcmp(resp.p, "\x00\x00\x00\x10\x1e", 5) == 0);
	buf_free(&resp);
	struct replpb_frames o;
	CHECK(replpb_decode_frames(&a, b.p, b.len, &o, NULL) == 0);
	CHECK(o.nframes == 1 && o.frames[0].len == 4120 && memcmp(o.frames[0].data, page, 4120) == 0);
	CHECK(!o.frames[0].has_timestamp && !o.frames[0].has_durable_frame_no);
	buf_free(&b);
	/* empty Frames: zero bytes */
	struct replpb_frames none = {0};
	buf_init(&b);
	replpb_encode_frames(&b, &none);
	CHECK(b.len == 0 && b.p != NULL);
	CHECK(replpb_decode_frames(&a, b.p, b.len, &o, NULL) == 0 && o.nframes == 0);
	buf_free(&b);
	/* several, with the optional fields */
	struct replpb_frame three[3] = {
		{.data = page, .len = 24, .has_timestamp = true, .timestamp = -5},
		{.data = NULL, .len = 0, .has_durable_frame_no = true, .durable_frame_no = 0},
		{.data = page + 100, .len = 4120, .has_timestamp = true, .timestamp = 1700000000000,
		 .has_durable_frame_no = true, .durable_frame_no = 99},
	};
	struct replpb_frames ft = {.frames = three, .nframes = 3};
	buf_init(&b);
	replpb_encode_frames(&b, &ft);
	CHECK(replpb_decode_frames(&a, b.p, b.len, &o, NULL) == 0 && o.nframes == 3);
	CHECK(o.frames[0].len == 24 && o.frames[0].has_timestamp && o.frames[0].timestamp == -5);
	CHECK(o.frames[1].len == 0 && o.frames[1].has_durable_frame_no &&
	      o.frames[1].durable_frame_no == 0 && !o.frames[1].has_timestamp);
	CHECK(o.frames[2].timestamp == 1700000000000 && o.frames[2].durable_frame_no == 99 &&
	      memcmp(o.frames[2].data, page + 100, 4120) == 0);
	buf_init(&b2);
	replpb_encode_frames(&b2, &o);
	CHECK(same(&b2, &b));
	buf_free(&b2);
	/* a single Frame (LogEntries / Snapshot stream items) */
	struct replpb_frame one;
	buf_free(&b);
	buf_init(&b);
	replpb_encode_frame(&b, &three[2]);
	CHECK(replpb_decode_frame(&a, b.p, b.len, &one, NULL) == 0);
	CHECK(one.len == 4120 && one.timestamp == 1700000000000 && one.durable_frame_no == 99);
	buf_free(&b);
	arena_free(&a);
}

static void execute_results(void)
{
	struct arena a;
	arena_init(&a);
	struct buf b, want;
	/* ExecuteResults{state=TXN} and with current_frame_no 0 */
	struct replpb_execute_results r = {.state = REPLPB_STATE_TXN};
	buf_init(&b);
	replpb_encode_execute_results(&b, &r);
	hex(&want, "10 02");
	CHECK(same(&b, &want));
	buf_free(&b);
	buf_free(&want);
	r.has_current_frame_no = true;
	buf_init(&b);
	replpb_encode_execute_results(&b, &r);
	hex(&want, "10 02 18 00");
	CHECK(same(&b, &want));
	buf_free(&b);
	buf_free(&want);

	/* an error, rows, a skipped step */
	struct replpb_error err = {.code = REPLPB_ERROR_INTERNAL,
				   .message = "UNIQUE constraint failed: t.id",
				   .extended_code = 1555};
	struct hr_col cols[2] = {{"id", "INTEGER"}, {"v", NULL}};
	struct hr_value vals[4] = {
		{.type = HR_INTEGER, .i = 1}, {.type = HR_TEXT, .s = "one", .n = 3},
		{.type = HR_INTEGER, .i = 2}, {.type = HR_NULL},
	};
	struct hr_stmt_result rows = {.cols = cols, .ncols = 2, .rows = vals, .nrows = 2,
				      .affected_row_count = 0};
	struct hr_stmt_result ins = {.affected_row_count = 1, .has_last_insert_rowid = true,
				     .last_insert_rowid = -9};
	struct replpb_query_result qr[4] = {{.error = &err}, {.rows = &rows}, {.rows = NULL},
					    {.rows = &ins}};
	struct replpb_execute_results full = {.results = qr, .nresults = 4,
					      .state = REPLPB_STATE_INIT,
					      .has_current_frame_no = true, .current_frame_no = 7};
	buf_init(&b);
	replpb_encode_execute_results(&b, &full);
	struct replpb_execute_results o;
	struct err e;
	CHECK(replpb_decode_execute_results(&a, b.p, b.len, &o, &e) == 0);
	CHECK(o.nresults == 4 && o.state == REPLPB_STATE_INIT && o.has_current_frame_no &&
	      o.current_frame_no == 7);
	CHECK(o.results[0].error && !o.results[0].rows);
	if (o.results[0].error) {
		CHECK(o.results[0].error->code == REPLPB_ERROR_INTERNAL);
		CHECK(o.results[0].error->extended_code == 1555);
		CHECK_STR(o.results[0].error->message, "UNIQUE constraint failed: t.id");
	}
	const struct hr_stmt_result *r1 = o.results[1].rows;
	CHECK(r1 && !o.results[1].error);
	if (r1) {
		CHECK(r1->ncols == 2 && r1->nrows == 2);
		CHECK_STR(r1->cols[0].name, "id");
		CHECK_STR(r1->cols[0].decltype, "INTEGER");
		CHECK_STR(r1->cols[1].name, "v");
		CHECK(r1->cols[1].decltype == NULL);
		for (int k = 0; k < 4; k++)
			CHECK(value_eq(&r1->rows[k], &vals[k]));
		CHECK(!r1->has_last_insert_rowid);
	}
	CHECK(o.results[2].rows && o.results[2].rows->ncols == 0 && o.results[2].rows->nrows == 0);
	CHECK(o.results[3].rows && o.results[3].rows->affected_row_count == 1 &&
	      o.results[3].rows->has_last_insert_rowid && o.results[3].rows->last_insert_rowid == -9);
	struct buf b2;
	buf_init(&b2);
	replpb_encode_execute_results(&b2, &o);
	CHECK(same(&b2, &b));
	buf_free(&b2);
	buf_free(&b);

	/* hand-made: a row with 1 value for 2 columns is rejected */
	hex(&b, "0a [12 [0a [0a ['a']] 0a [] 12 [0a []]]]");
	CHECK(replpb_decode_execute_results(&a, b.p, b.len, &o, &e) == REPLPB_E_INVALID);
	buf_free(&b);
	hex(&b, "0a [12 [0a [0a ['a']] 12 [0a [0a [00]]]]]");
	CHECK(replpb_decode_execute_results(&a, b.p, b.len, &o, &e) == REPLPB_E_INVALID);
	CHECK(strstr(e.msg, "row value") != NULL);
	buf_free(&b);
	/* a QueryResult with neither member */
	hex(&b, "0a 00");
	CHECK(replpb_decode_execute_results(&a, b.p, b.len, &o, &e) == REPLPB_E_INVALID);
	buf_free(&b);
	/* an unknown state value is kept as sent */
	hex(&b, "10 07");
	CHECK(replpb_decode_execute_results(&a, b.p, b.len, &o, &e) == 0 && o.state == 7);
	buf_free(&b);
	arena_free(&a);
}

static void describe_result(void)
{
	struct arena a;
	arena_init(&a);
	struct hr_col cols[1] = {{"n", "TEXT"}};
	const char *names[2] = {":a", "?2"};
	struct replpb_describe_result d = {.cols = cols, .ncols = 1, .param_names = names,
					   .nparam_names = 2, .param_count = 3};
	struct buf b, b2;
	buf_init(&b);
	replpb_encode_describe_result(&b, &d);
	struct replpb_describe_result o;
	CHECK(replpb_decode_describe_result(&a, b.p, b.len, &o, NULL) == 0);
	CHECK(!o.error && o.ncols == 1 && o.nparam_names == 2 && o.param_count == 3);
	CHECK_STR(o.cols[0].name, "n");
	CHECK_STR(o.cols[0].decltype, "TEXT");
	CHECK_STR(o.param_names[0], ":a");
	CHECK_STR(o.param_names[1], "?2");
	buf_init(&b2);
	replpb_encode_describe_result(&b2, &o);
	CHECK(same(&b2, &b));
	buf_free(&b2);
	buf_free(&b);
	/* the empty description is the 2-byte "12 00", not zero bytes */
	struct replpb_describe_result empty = {0};
	buf_init(&b);
	replpb_encode_describe_result(&b, &empty);
	CHECK(b.len == 2 && memcmp(b.p, "\x12\x00", 2) == 0);
	buf_free(&b);
	struct replpb_error er = {.code = REPLPB_ERROR_SQL_ERROR, .message = "no such table: x",
				  .extended_code = 1};
	struct replpb_describe_result de = {.error = &er};
	buf_init(&b);
	replpb_encode_describe_result(&b, &de);
	CHECK(replpb_decode_describe_result(&a, b.p, b.len, &o, NULL) == 0);
	CHECK(o.error && o.error->code == 0 && o.error->extended_code == 1);
	CHECK_STR(o.error->message, "no such table: x");
	buf_free(&b);
	CHECK(replpb_decode_describe_result(&a, "", 0, &o, NULL) == REPLPB_E_INVALID);
	arena_free(&a);
}

static void unknown_fields_ignored(void)
{
	struct arena a;
	arena_init(&a);
	struct buf b;
	/* HelloRequest with fields 2 (varint), 3 (bytes), 4 (fixed64), 5 (fixed32) */
	hex(&b, "10 96 01 1a ['abc'] 08 01 21 0102030405060708 2d 01020304");
	struct replpb_hello_req r;
	CHECK(replpb_decode_hello_req(&a, b.p, b.len, &r, NULL) == 0);
	CHECK(r.has_handshake_version && r.handshake_version == 1);
	buf_free(&b);
	/* a HelloResponse with a field 99 message that is not even valid inside */
	hex(&b, "9a 06 [ffff] 1a ['l']");
	struct replpb_hello_resp hr;
	CHECK(replpb_decode_hello_resp(&a, b.p, b.len, &hr, NULL) == 0);
	CHECK_STR(hr.log_id, "l");
	buf_free(&b);
	arena_free(&a);
}

int main(void)
{
	T_RUN(hello_request);
	T_RUN(log_offset);
	T_RUN(program_req_example);
	T_RUN(program_req_params_and_conds);
	T_RUN(program_req_encode_errors);
	T_RUN(program_req_invalid);
	T_RUN(nesting_depth);
	T_RUN(truncated_everywhere);
	T_RUN(describe_and_disconnect);
	T_RUN(hello_response);
	T_RUN(frames);
	T_RUN(execute_results);
	T_RUN(describe_result);
	T_RUN(unknown_fields_ignored);
	return T_DONE();
}
