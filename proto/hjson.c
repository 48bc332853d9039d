/* hjson: the Hrana JSON codec; see hjson.h for the contract.
 *
 * Decoding: jansson parses the whole body (JSON_ALLOW_NUL, so "\u0000" in a
 * string is kept with its length; JSON_DECODE_ANY, so a scalar top level is a
 * shape error rather than a syntax error), the walkers below copy what the
 * model needs into the caller's arena, and the jansson tree is freed before
 * returning. Recursion (BatchCond) is bounded by jansson's nesting limit.
 *
 * Encoding: straight appends into a struct buf; no jansson. Floats are
 * printed with the C locale's '.' (sqld never calls setlocale). */
#include "hjson.h"
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Primitives shared by both directions
 * ====================================================================== */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* value + 1 of each character of the standard alphabet; 0 for any other byte. */
static const unsigned char b64_rev[256] = {
	['A'] = 0 + 1,  ['B'] = 1 + 1,  ['C'] = 2 + 1,  ['D'] = 3 + 1,  ['E'] = 4 + 1,  ['F'] = 5 + 1,
	['G'] = 6 + 1,  ['H'] = 7 + 1,  ['I'] = 8 + 1,  ['J'] = 9 + 1,  ['K'] = 10 + 1, ['L'] = 11 + 1,
	['M'] = 12 + 1, ['N'] = 13 + 1, ['O'] = 14 + 1, ['P'] = 15 + 1, ['Q'] = 16 + 1, ['R'] = 17 + 1,
	['S'] = 18 + 1, ['T'] = 19 + 1, ['U'] = 20 + 1, ['V'] = 21 + 1, ['W'] = 22 + 1, ['X'] = 23 + 1,
	['Y'] = 24 + 1, ['Z'] = 25 + 1, ['a'] = 26 + 1, ['b'] = 27 + 1, ['c'] = 28 + 1, ['d'] = 29 + 1,
	['e'] = 30 + 1, ['f'] = 31 + 1, ['g'] = 32 + 1, ['h'] = 33 + 1, ['i'] = 34 + 1, ['j'] = 35 + 1,
	['k'] = 36 + 1, ['l'] = 37 + 1, ['m'] = 38 + 1, ['n'] = 39 + 1, ['o'] = 40 + 1, ['p'] = 41 + 1,
	['q'] = 42 + 1, ['r'] = 43 + 1, ['s'] = 44 + 1, ['t'] = 45 + 1, ['u'] = 46 + 1, ['v'] = 47 + 1,
	['w'] = 48 + 1, ['x'] = 49 + 1, ['y'] = 50 + 1, ['z'] = 51 + 1, ['0'] = 52 + 1, ['1'] = 53 + 1,
	['2'] = 54 + 1, ['3'] = 55 + 1, ['4'] = 56 + 1, ['5'] = 57 + 1, ['6'] = 58 + 1, ['7'] = 59 + 1,
	['8'] = 60 + 1, ['9'] = 61 + 1, ['+'] = 62 + 1, ['/'] = 63 + 1,
};

static size_t b64_len(size_t n)
{
	static const size_t tail[3] = {0, 2, 3};
	return n / 3 * 4 + tail[n % 3];
}

void hjson_put_base64(struct buf *b, const void *data, size_t n)
{
	const unsigned char *p = data;
	buf_reserve(b, b64_len(n) + 1);
	char *o = b->p + b->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
	}
	b->len = (size_t)(o - b->p);
	b->p[b->len] = 0;
}

int hjson_base64_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *outn)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t pad = 0;
	while (n > 0 && u[n - 1] == '=' && pad < 2)
		n--, pad++;
	if (pad && (n + pad) % 4 != 0)
		return -1;
	if (n % 4 == 1)
		return -1;
	size_t need = n / 4 * 3 + (n % 4 == 2 ? 1 : n % 4 == 3 ? 2 : 0);
	if (need > cap)
		return -1;
	size_t i = 0, o = 0;
	for (; i + 4 <= n; i += 4) {
		unsigned a = b64_rev[u[i]], b = b64_rev[u[i + 1]], c = b64_rev[u[i + 2]], d = b64_rev[u[i + 3]];
		if (!a || !b || !c || !d)
			return -1;
		uint32_t v = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12 | (uint32_t)(c - 1) << 6 | (d - 1);
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	size_t rest = n - i;
	if (rest >= 2) {
		unsigned a = b64_rev[u[i]], b = b64_rev[u[i + 1]], c = rest == 3 ? b64_rev[u[i + 2]] : 1;
		if (!a || !b || !c)
			return -1;
		uint32_t v = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12 | (uint32_t)(c - 1) << 6;
		if (rest == 2 && (v & 0xFFFF) != 0)
			return -1; /* non-zero unused bits: not canonical */
		if (rest == 3 && (v & 0xFF) != 0)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	*outn = o;
	return 0;
}

/* Length of the valid UTF-8 sequence starting at s[0] (lead byte >= 0x80),
 * or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t rem)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp, min;
	if ((c & 0xE0) == 0xC0)
		len = 2, cp = c & 0x1F, min = 0x80;
	else if ((c & 0xF0) == 0xE0)
		len = 3, cp = c & 0x0F, min = 0x800;
	else if ((c & 0xF8) == 0xF0)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (rem < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* 1 for an ASCII byte written as is inside a JSON string. */
static const unsigned char json_plain[128] = {
	[' '] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
	['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
	['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, [':'] = 1, [';'] = 1,
	['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
	['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,
	['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
	['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['{'] = 1,
	['|'] = 1, ['}'] = 1, ['~'] = 1, [127] = 1,
};

/* Bytes hjson_put_str writes for s[0..n), quotes included. */
static size_t str_json_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t out = 2, i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			out += json_plain[c] ? 1 : (c == '"' || c == '\\') ? 2 : 6;
			i++;
		} else {
			size_t l = utf8_seq(s + i, n - i);
			if (l) {
				out += l;
				i += l;
			} else {
				out += 6; /* \ufffd */
				i++;
			}
		}
	}
	return out;
}

void hjson_put_str(struct buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	size_t i = 0, start = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80 && json_plain[c]) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t l = utf8_seq(s + i, n - i);
			if (l) {
				i += l;
				continue;
			}
		}
		if (i > start)
			buf_put(b, s + start, i - start);
		if (c == '"') {
			buf_put(b, "\\\"", 2);
		} else if (c == '\\') {
			buf_put(b, "\\\\", 2);
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_put(b, esc, 6);
		} else {
			buf_put(b, "\\ufffd", 6);
		}
		i++;
		start = i;
	}
	if (i > start)
		buf_put(b, s + start, i - start);
	buf_putc(b, '"');
}

#define PUTL(b, lit) buf_put((b), (lit), sizeof(lit) - 1)

static void put_cstr(struct buf *b, const char *s)
{
	if (s)
		hjson_put_str(b, s, strlen(s));
	else
		PUTL(b, "null");
}

static void put_u64(struct buf *b, uint64_t v)
{
	char tmp[24];
	char *p = tmp + sizeof tmp;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_putc(b, '-');
		put_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(b, (uint64_t)v);
	}
}

static size_t i64_len(int64_t v)
{
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = v < 0 ? 2 : 1;
	while (u >= 10)
		u /= 10, n++;
	return n;
}

static void put_i64_str(struct buf *b, int64_t v)
{
	buf_putc(b, '"');
	put_i64(b, v);
	buf_putc(b, '"');
}

static void put_bool(struct buf *b, bool v)
{
	if (v)
		PUTL(b, "true");
	else
		PUTL(b, "false");
}

#define FLOAT_MAX_LEN 25 /* "-2.2250738585072014e-308" is 24; ".0" cases are shorter */

static void put_double(struct buf *b, double d)
{
	if (isnan(d)) {
		PUTL(b, "null");
		return;
	}
	if (isinf(d)) {
		if (d > 0)
			PUTL(b, "1e999");
		else
			PUTL(b, "-1e999");
		return;
	}
	if (d == trunc(d) && fabs(d) < 1e15) { /* integral: exact, no printf */
		if (signbit(d))
			buf_putc(b, '-');
		put_u64(b, (uint64_t)fabs(d));
		PUTL(b, ".0");
		return;
	}
	char tmp[40];
	int len = 0;
	for (int prec = 15; prec <= 17; prec++) {
		len = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
		if (prec == 17 || strtod(tmp, NULL) == d)
			break;
	}
	if (strspn(tmp, "-0123456789") == (size_t)len) {
		tmp[len++] = '.';
		tmp[len++] = '0';
	}
	buf_put(b, tmp, (size_t)len);
}

/* ======================================================================
 * Response encoders
 * ====================================================================== */

void hjson_encode_value(struct buf *b, const struct hr_value *v)
{
	switch (v->type) {
	case HR_INTEGER:
		PUTL(b, "{\"type\":\"integer\",\"value\":\"");
		put_i64(b, v->i);
		PUTL(b, "\"}");
		break;
	case HR_FLOAT:
		PUTL(b, "{\"type\":\"float\",\"value\":");
		put_double(b, v->f);
		buf_putc(b, '}');
		break;
	case HR_TEXT:
		PUTL(b, "{\"type\":\"text\",\"value\":");
		hjson_put_str(b, v->s ? v->s : "", v->s ? v->n : 0);
		buf_putc(b, '}');
		break;
	case HR_BLOB:
		PUTL(b, "{\"type\":\"blob\",\"base64\":\"");
		hjson_put_base64(b, v->s, v->s ? v->n : 0);
		PUTL(b, "\"}");
		break;
	case HR_NULL:
	default:
		PUTL(b, "{\"type\":\"null\"}");
		break;
	}
}

size_t hjson_value_size(const struct hr_value *v)
{
	switch (v->type) {
	case HR_INTEGER:
		return sizeof("{\"type\":\"integer\",\"value\":\"\"}") - 1 + i64_len(v->i);
	case HR_FLOAT:
		return sizeof("{\"type\":\"float\",\"value\":}") - 1 + FLOAT_MAX_LEN;
	case HR_TEXT:
		return sizeof("{\"type\":\"text\",\"value\":}") - 1 + (v->s ? str_json_len(v->s, v->n) : 2);
	case HR_BLOB:
		return sizeof("{\"type\":\"blob\",\"base64\":\"\"}") - 1 + b64_len(v->s ? v->n : 0);
	case HR_NULL:
	default:
		return sizeof("{\"type\":\"null\"}") - 1;
	}
}

/* Legacy (§6.1) plain JSON value. */
static void put_plain_value(struct buf *b, const struct hr_value *v)
{
	switch (v->type) {
	case HR_INTEGER:
		put_i64(b, v->i);
		break;
	case HR_FLOAT:
		put_double(b, v->f);
		break;
	case HR_TEXT:
		hjson_put_str(b, v->s ? v->s : "", v->s ? v->n : 0);
		break;
	case HR_BLOB:
		PUTL(b, "{\"base64\":\"");
		hjson_put_base64(b, v->s, v->s ? v->n : 0);
		PUTL(b, "\"}");
		break;
	case HR_NULL:
	default:
		PUTL(b, "null");
		break;
	}
}

void hjson_encode_error(struct buf *b, const struct hr_error *er)
{
	PUTL(b, "{\"message\":");
	const char *m = er->message ? er->message : "";
	hjson_put_str(b, m, strlen(m));
	if (er->code) {
		PUTL(b, ",\"code\":");
		hjson_put_str(b, er->code, strlen(er->code));
	}
	buf_putc(b, '}');
}

static void put_cols(struct buf *b, const struct hr_col *cols, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		PUTL(b, "{\"name\":");
		put_cstr(b, cols[i].name);
		PUTL(b, ",\"decltype\":");
		put_cstr(b, cols[i].decltype);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

static void put_values(struct buf *b, const struct hr_value *v, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		hjson_encode_value(b, &v[i]);
	}
	buf_putc(b, ']');
}

static void put_opt_i64_str(struct buf *b, bool has, int64_t v)
{
	if (has)
		put_i64_str(b, v);
	else
		PUTL(b, "null");
}

static void put_opt_u64_str(struct buf *b, bool has, uint64_t v)
{
	if (has) {
		buf_putc(b, '"');
		put_u64(b, v);
		buf_putc(b, '"');
	} else {
		PUTL(b, "null");
	}
}

void hjson_encode_stmt_result(struct buf *b, const struct hr_stmt_result *r)
{
	if (!r) {
		PUTL(b, "null");
		return;
	}
	PUTL(b, "{\"cols\":");
	put_cols(b, r->cols, r->ncols);
	PUTL(b, ",\"rows\":[");
	for (size_t i = 0; i < r->nrows; i++) {
		if (i)
			buf_putc(b, ',');
		put_values(b, r->rows ? r->rows + i * r->ncols : NULL, r->rows ? r->ncols : 0);
	}
	PUTL(b, "],\"affected_row_count\":");
	put_u64(b, r->affected_row_count);
	PUTL(b, ",\"last_insert_rowid\":");
	put_opt_i64_str(b, r->has_last_insert_rowid, r->last_insert_rowid);
	PUTL(b, ",\"replication_index\":");
	put_opt_u64_str(b, r->has_replication_index, r->replication_index);
	PUTL(b, ",\"rows_read\":");
	put_u64(b, r->rows_read);
	PUTL(b, ",\"rows_written\":");
	put_u64(b, r->rows_written);
	PUTL(b, ",\"query_duration_ms\":");
	put_double(b, r->query_duration_ms);
	buf_putc(b, '}');
}

void hjson_encode_batch_result(struct buf *b, const struct hr_batch_result *r)
{
	if (!r) {
		PUTL(b, "null");
		return;
	}
	PUTL(b, "{\"step_results\":[");
	for (size_t i = 0; i < r->nsteps; i++) {
		if (i)
			buf_putc(b, ',');
		hjson_encode_stmt_result(b, r->step_results ? r->step_results[i] : NULL);
	}
	PUTL(b, "],\"step_errors\":[");
	for (size_t i = 0; i < r->nsteps; i++) {
		if (i)
			buf_putc(b, ',');
		const struct hr_error *er = r->step_errors ? r->step_errors[i] : NULL;
		if (er)
			hjson_encode_error(b, er);
		else
			PUTL(b, "null");
	}
	PUTL(b, "],\"replication_index\":");
	put_opt_u64_str(b, r->has_replication_index, r->replication_index);
	buf_putc(b, '}');
}

void hjson_encode_describe_result(struct buf *b, const struct hr_describe_result *r)
{
	if (!r) {
		PUTL(b, "null");
		return;
	}
	PUTL(b, "{\"params\":[");
	for (size_t i = 0; i < r->nparams; i++) {
		if (i)
			buf_putc(b, ',');
		PUTL(b, "{\"name\":");
		put_cstr(b, r->params[i].name);
		buf_putc(b, '}');
	}
	PUTL(b, "],\"cols\":");
	put_cols(b, r->cols, r->ncols);
	PUTL(b, ",\"is_explain\":");
	put_bool(b, r->is_explain);
	PUTL(b, ",\"is_readonly\":");
	put_bool(b, r->is_readonly);
	buf_putc(b, '}');
}

void hjson_encode_cursor_entry(struct buf *b, const struct hr_cursor_entry *en)
{
	switch (en->type) {
	case HR_ENTRY_STEP_BEGIN:
		PUTL(b, "{\"type\":\"step_begin\",\"step\":");
		put_u64(b, en->step);
		PUTL(b, ",\"cols\":");
		put_cols(b, en->cols, en->ncols);
		buf_putc(b, '}');
		break;
	case HR_ENTRY_ROW:
		PUTL(b, "{\"type\":\"row\",\"row\":");
		put_values(b, en->row, en->nrow);
		buf_putc(b, '}');
		break;
	case HR_ENTRY_STEP_END:
		PUTL(b, "{\"type\":\"step_end\",\"affected_row_count\":");
		put_u64(b, en->affected_row_count);
		PUTL(b, ",\"last_insert_rowid\":");
		put_opt_i64_str(b, en->has_last_insert_rowid, en->last_insert_rowid);
		buf_putc(b, '}');
		break;
	case HR_ENTRY_STEP_ERROR:
		PUTL(b, "{\"type\":\"step_error\",\"step\":");
		put_u64(b, en->step);
		PUTL(b, ",\"error\":");
		hjson_encode_error(b, &en->error);
		buf_putc(b, '}');
		break;
	case HR_ENTRY_ERROR:
	default:
		PUTL(b, "{\"type\":\"error\",\"error\":");
		hjson_encode_error(b, &en->error);
		buf_putc(b, '}');
		break;
	}
}

void hjson_encode_resp(struct buf *b, const struct hr_resp *r)
{
	PUTL(b, "{\"type\":");
	const char *name = hr_req_type_name(r->type);
	hjson_put_str(b, name, strlen(name));
	switch (r->type) {
	case HR_REQ_EXECUTE:
		PUTL(b, ",\"result\":");
		hjson_encode_stmt_result(b, r->stmt_result);
		break;
	case HR_REQ_BATCH:
		PUTL(b, ",\"result\":");
		hjson_encode_batch_result(b, r->batch_result);
		break;
	case HR_REQ_DESCRIBE:
		PUTL(b, ",\"result\":");
		hjson_encode_describe_result(b, r->describe_result);
		break;
	case HR_REQ_GET_AUTOCOMMIT:
		PUTL(b, ",\"is_autocommit\":");
		put_bool(b, r->is_autocommit);
		break;
	case HR_REQ_FETCH_CURSOR:
		PUTL(b, ",\"entries\":[");
		for (size_t i = 0; i < r->nentries; i++) {
			if (i)
				buf_putc(b, ',');
			hjson_encode_cursor_entry(b, &r->entries[i]);
		}
		PUTL(b, "],\"done\":");
		put_bool(b, r->done);
		break;
	default:
		break;
	}
	buf_putc(b, '}');
}

void hjson_encode_server_msg(struct buf *b, const struct hr_server_msg *m)
{
	switch (m->type) {
	case HR_SMSG_HELLO_OK:
		PUTL(b, "{\"type\":\"hello_ok\"}");
		break;
	case HR_SMSG_HELLO_ERROR:
		PUTL(b, "{\"type\":\"hello_error\",\"error\":");
		hjson_encode_error(b, &m->error);
		buf_putc(b, '}');
		break;
	case HR_SMSG_RESPONSE_OK:
		PUTL(b, "{\"type\":\"response_ok\",\"request_id\":");
		put_i64(b, m->request_id);
		PUTL(b, ",\"response\":");
		hjson_encode_resp(b, &m->resp);
		buf_putc(b, '}');
		break;
	case HR_SMSG_RESPONSE_ERROR:
	default:
		PUTL(b, "{\"type\":\"response_error\",\"request_id\":");
		put_i64(b, m->request_id);
		PUTL(b, ",\"error\":");
		hjson_encode_error(b, &m->error);
		buf_putc(b, '}');
		break;
	}
}

void hjson_encode_pipeline_resp(struct buf *b, const struct hr_pipeline_resp *r)
{
	PUTL(b, "{\"baton\":");
	put_cstr(b, r->baton);
	PUTL(b, ",\"base_url\":");
	put_cstr(b, r->base_url);
	PUTL(b, ",\"results\":[");
	for (size_t i = 0; i < r->nresults; i++) {
		const struct hr_stream_result *sr = &r->results[i];
		if (i)
			buf_putc(b, ',');
		if (sr->ok) {
			PUTL(b, "{\"type\":\"ok\",\"response\":");
			hjson_encode_resp(b, &sr->resp);
		} else {
			PUTL(b, "{\"type\":\"error\",\"error\":");
			hjson_encode_error(b, &sr->error);
		}
		buf_putc(b, '}');
	}
	PUTL(b, "]}");
}

void hjson_encode_cursor_resp(struct buf *b, const struct hr_cursor_resp *r)
{
	PUTL(b, "{\"baton\":");
	put_cstr(b, r->baton);
	PUTL(b, ",\"base_url\":");
	put_cstr(b, r->base_url);
	buf_putc(b, '}');
}

void hjson_encode_v1_execute_resp(struct buf *b, const struct hr_stmt_result *r)
{
	PUTL(b, "{\"result\":");
	hjson_encode_stmt_result(b, r);
	buf_putc(b, '}');
}

void hjson_encode_v1_batch_resp(struct buf *b, const struct hr_batch_result *r)
{
	PUTL(b, "{\"result\":");
	hjson_encode_batch_result(b, r);
	buf_putc(b, '}');
}

void hjson_encode_legacy_resp(struct buf *b, const struct hr_batch_result *r)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct hr_stmt_result *sr = r->step_results ? r->step_results[i] : NULL;
		const struct hr_error *er = r->step_errors ? r->step_errors[i] : NULL;
		if (i)
			buf_putc(b, ',');
		if (sr) {
			PUTL(b, "{\"results\":{\"columns\":[");
			for (size_t c = 0; c < sr->ncols; c++) {
				if (c)
					buf_putc(b, ',');
				const char *name = sr->cols[c].name ? sr->cols[c].name : "";
				hjson_put_str(b, name, strlen(name));
			}
			PUTL(b, "],\"rows\":[");
			for (size_t row = 0; row < sr->nrows; row++) {
				if (row)
					buf_putc(b, ',');
				buf_putc(b, '[');
				for (size_t c = 0; sr->rows && c < sr->ncols; c++) {
					if (c)
						buf_putc(b, ',');
					put_plain_value(b, &sr->rows[row * sr->ncols + c]);
				}
				buf_putc(b, ']');
			}
			PUTL(b, "],\"rows_read\":");
			put_u64(b, sr->rows_read);
			PUTL(b, ",\"rows_written\":");
			put_u64(b, sr->rows_written);
			PUTL(b, ",\"query_duration_ms\":");
			put_double(b, sr->query_duration_ms);
			PUTL(b, "}}");
		} else if (er) {
			PUTL(b, "{\"error\":");
			const char *m = er->message ? er->message : "";
			hjson_put_str(b, m, strlen(m));
			buf_putc(b, '}');
		} else {
			PUTL(b, "null");
		}
	}
	buf_putc(b, ']');
}

/* ======================================================================
 * Request encoders
 * ====================================================================== */

static void put_stmt(struct buf *b, const struct hr_stmt *s)
{
	buf_putc(b, '{');
	if (s->sql) {
		PUTL(b, "\"sql\":");
		hjson_put_str(b, s->sql, strlen(s->sql));
		buf_putc(b, ',');
	}
	if (s->has_sql_id) {
		PUTL(b, "\"sql_id\":");
		put_i64(b, s->sql_id);
		buf_putc(b, ',');
	}
	PUTL(b, "\"args\":");
	put_values(b, s->args, s->nargs);
	PUTL(b, ",\"named_args\":[");
	for (size_t i = 0; i < s->nnamed; i++) {
		if (i)
			buf_putc(b, ',');
		PUTL(b, "{\"name\":");
		put_cstr(b, s->named[i].name ? s->named[i].name : "");
		PUTL(b, ",\"value\":");
		hjson_encode_value(b, &s->named[i].value);
		buf_putc(b, '}');
	}
	PUTL(b, "],\"want_rows\":");
	put_bool(b, s->want_rows);
	buf_putc(b, '}');
}

static void put_cond(struct buf *b, const struct hr_cond *c)
{
	switch (c->type) {
	case HR_COND_OK:
	case HR_COND_ERROR:
		PUTL(b, "{\"type\":");
		if (c->type == HR_COND_OK)
			PUTL(b, "\"ok\"");
		else
			PUTL(b, "\"error\"");
		PUTL(b, ",\"step\":");
		put_u64(b, c->step);
		buf_putc(b, '}');
		break;
	case HR_COND_NOT:
		PUTL(b, "{\"type\":\"not\",\"cond\":");
		if (c->nconds)
			put_cond(b, &c->conds[0]);
		else
			PUTL(b, "null");
		buf_putc(b, '}');
		break;
	case HR_COND_AND:
	case HR_COND_OR:
		if (c->type == HR_COND_AND)
			PUTL(b, "{\"type\":\"and\",\"conds\":[");
		else
			PUTL(b, "{\"type\":\"or\",\"conds\":[");
		for (size_t i = 0; i < c->nconds; i++) {
			if (i)
				buf_putc(b, ',');
			put_cond(b, &c->conds[i]);
		}
		PUTL(b, "]}");
		break;
	case HR_COND_IS_AUTOCOMMIT:
	default:
		PUTL(b, "{\"type\":\"is_autocommit\"}");
		break;
	}
}

static void put_batch(struct buf *b, const struct hr_batch *bt)
{
	PUTL(b, "{\"steps\":[");
	for (size_t i = 0; i < bt->nsteps; i++) {
		if (i)
			buf_putc(b, ',');
		buf_putc(b, '{');
		if (bt->steps[i].cond) {
			PUTL(b, "\"condition\":");
			put_cond(b, bt->steps[i].cond);
			buf_putc(b, ',');
		}
		PUTL(b, "\"stmt\":");
		put_stmt(b, &bt->steps[i].stmt);
		buf_putc(b, '}');
	}
	PUTL(b, "]}");
}

static bool req_has_stream_id(enum hr_req_type t)
{
	switch (t) {
	case HR_REQ_OPEN_STREAM:
	case HR_REQ_CLOSE_STREAM:
	case HR_REQ_EXECUTE:
	case HR_REQ_BATCH:
	case HR_REQ_OPEN_CURSOR:
	case HR_REQ_SEQUENCE:
	case HR_REQ_DESCRIBE:
	case HR_REQ_GET_AUTOCOMMIT:
		return true;
	default:
		return false;
	}
}

/* ws: a WS Request (with stream_id) rather than an HTTP StreamRequest. */
static void put_req(struct buf *b, const struct hr_req *r, bool ws)
{
	PUTL(b, "{\"type\":");
	const char *name = hr_req_type_name(r->type);
	hjson_put_str(b, name, strlen(name));
	if (ws && req_has_stream_id(r->type)) {
		PUTL(b, ",\"stream_id\":");
		put_i64(b, r->stream_id);
	}
	switch (r->type) {
	case HR_REQ_EXECUTE:
		PUTL(b, ",\"stmt\":");
		put_stmt(b, &r->stmt);
		break;
	case HR_REQ_BATCH:
		PUTL(b, ",\"batch\":");
		put_batch(b, &r->batch);
		break;
	case HR_REQ_OPEN_CURSOR:
		PUTL(b, ",\"cursor_id\":");
		put_i64(b, r->cursor_id);
		PUTL(b, ",\"batch\":");
		put_batch(b, &r->batch);
		break;
	case HR_REQ_FETCH_CURSOR:
		PUTL(b, ",\"cursor_id\":");
		put_i64(b, r->cursor_id);
		PUTL(b, ",\"max_count\":");
		put_u64(b, r->max_count);
		break;
	case HR_REQ_CLOSE_CURSOR:
		PUTL(b, ",\"cursor_id\":");
		put_i64(b, r->cursor_id);
		break;
	case HR_REQ_SEQUENCE:
	case HR_REQ_DESCRIBE:
	case HR_REQ_STORE_SQL:
		if (r->sql) {
			PUTL(b, ",\"sql\":");
			hjson_put_str(b, r->sql, strlen(r->sql));
		}
		if (r->has_sql_id) {
			PUTL(b, ",\"sql_id\":");
			put_i64(b, r->sql_id);
		}
		break;
	case HR_REQ_CLOSE_SQL:
		PUTL(b, ",\"sql_id\":");
		put_i64(b, r->sql_id);
		break;
	default:
		break;
	}
	buf_putc(b, '}');
}

void hjson_encode_client_msg(struct buf *b, const struct hr_client_msg *m)
{
	if (m->type == HR_CMSG_HELLO) {
		PUTL(b, "{\"type\":\"hello\",\"jwt\":");
		put_cstr(b, m->jwt);
		buf_putc(b, '}');
		return;
	}
	PUTL(b, "{\"type\":\"request\",\"request_id\":");
	put_i64(b, m->request_id);
	PUTL(b, ",\"request\":");
	put_req(b, &m->req, true);
	buf_putc(b, '}');
}

void hjson_encode_pipeline_req(struct buf *b, const struct hr_pipeline_req *r)
{
	PUTL(b, "{\"baton\":");
	put_cstr(b, r->baton);
	PUTL(b, ",\"requests\":[");
	for (size_t i = 0; i < r->nrequests; i++) {
		if (i)
			buf_putc(b, ',');
		put_req(b, &r->requests[i], false);
	}
	PUTL(b, "]}");
}

void hjson_encode_cursor_req(struct buf *b, const struct hr_cursor_req *r)
{
	PUTL(b, "{\"baton\":");
	put_cstr(b, r->baton);
	PUTL(b, ",\"batch\":");
	put_batch(b, &r->batch);
	buf_putc(b, '}');
}

void hjson_encode_v1_execute_req(struct buf *b, const struct hr_stmt *s)
{
	PUTL(b, "{\"stmt\":");
	put_stmt(b, s);
	buf_putc(b, '}');
}

void hjson_encode_v1_batch_req(struct buf *b, const struct hr_batch *bt)
{
	PUTL(b, "{\"batch\":");
	put_batch(b, bt);
	buf_putc(b, '}');
}

void hjson_encode_legacy_req(struct buf *b, const struct hr_stmt *stmts, size_t nstmts)
{
	PUTL(b, "{\"statements\":[");
	for (size_t i = 0; i < nstmts; i++) {
		const struct hr_stmt *s = &stmts[i];
		if (i)
			buf_putc(b, ',');
		PUTL(b, "{\"q\":");
		hjson_put_str(b, s->sql ? s->sql : "", s->sql ? strlen(s->sql) : 0);
		if (s->nnamed) {
			PUTL(b, ",\"params\":{");
			for (size_t k = 0; k < s->nnamed; k++) {
				if (k)
					buf_putc(b, ',');
				put_cstr(b, s->named[k].name ? s->named[k].name : "");
				buf_putc(b, ':');
				put_plain_value(b, &s->named[k].value);
			}
			buf_putc(b, '}');
		} else {
			PUTL(b, ",\"params\":[");
			for (size_t k = 0; k < s->nargs; k++) {
				if (k)
					buf_putc(b, ',');
				put_plain_value(b, &s->args[k]);
			}
			buf_putc(b, ']');
		}
		buf_putc(b, '}');
	}
	PUTL(b, "]}");
}

/* ======================================================================
 * Decoders
 * ====================================================================== */

struct dctx {
	struct arena *a;
	struct err *e;
};

static int shape(struct dctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int shape(struct dctx *c, const char *fmt, ...)
{
	if (c->e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->e->msg, sizeof c->e->msg, fmt, ap);
		va_end(ap);
	}
	return HJSON_E_SHAPE;
}

/* The string's value, or "" when it holds a NUL (no tag we know has one). */
static const char *jtag(const json_t *s)
{
	const char *v = json_string_value(s);
	return strlen(v) == json_string_length(s) ? v : "";
}

static const char *jtype_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

static int wrong_type(struct dctx *c, const char *key, const char *where, const char *want, const json_t *got)
{
	return shape(c, "Invalid `%s` in %s: expected %s, got %s", key, where, want, jtype_name(got));
}

static int missing(struct dctx *c, const char *key, const char *where)
{
	return shape(c, "Missing `%s` in %s", key, where);
}

/* The field's value, or NULL when absent or JSON null. */
static json_t *opt_field(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return v && !json_is_null(v) ? v : NULL;
}

static int get_int_range(struct dctx *c, const json_t *obj, const char *key, const char *where, bool required,
			 long long lo, long long hi, const char *want, bool *has, long long *out)
{
	json_t *v = opt_field(obj, key);
	if (!v) {
		if (has)
			*has = false;
		return required ? missing(c, key, where) : 0;
	}
	if (!json_is_integer(v))
		return wrong_type(c, key, where, want, v);
	long long x = json_integer_value(v);
	if (x < lo || x > hi)
		return shape(c, "Invalid `%s` in %s: %lld is out of range for %s", key, where, x, want);
	if (has)
		*has = true;
	*out = x;
	return 0;
}

static int need_i32(struct dctx *c, const json_t *obj, const char *key, const char *where, int32_t *out)
{
	long long x = 0;
	int rc = get_int_range(c, obj, key, where, true, INT32_MIN, INT32_MAX, "an int32", NULL, &x);
	*out = (int32_t)x;
	return rc;
}

static int opt_i32(struct dctx *c, const json_t *obj, const char *key, const char *where, bool *has, int32_t *out)
{
	long long x = 0;
	int rc = get_int_range(c, obj, key, where, false, INT32_MIN, INT32_MAX, "an int32", has, &x);
	*out = (int32_t)x;
	return rc;
}

static int need_u32(struct dctx *c, const json_t *obj, const char *key, const char *where, uint32_t *out)
{
	long long x = 0;
	int rc = get_int_range(c, obj, key, where, true, 0, UINT32_MAX, "a uint32", NULL, &x);
	*out = (uint32_t)x;
	return rc;
}

static int get_str(struct dctx *c, const json_t *obj, const char *key, const char *where, bool required,
		   const char **out)
{
	json_t *v = opt_field(obj, key);
	*out = NULL;
	if (!v)
		return required ? missing(c, key, where) : 0;
	if (!json_is_string(v))
		return wrong_type(c, key, where, "a string", v);
	*out = arena_strndup(c->a, json_string_value(v), json_string_length(v));
	return 0;
}

static int get_arr(struct dctx *c, const json_t *obj, const char *key, const char *where, bool required,
		   json_t **out)
{
	json_t *v = opt_field(obj, key);
	*out = NULL;
	if (!v)
		return required ? missing(c, key, where) : 0;
	if (!json_is_array(v))
		return wrong_type(c, key, where, "an array", v);
	*out = v;
	return 0;
}

/* sqld extension field: "u64 as string" | number | null; accepted, ignored. */
static int check_replication_index(struct dctx *c, const json_t *obj, const char *where)
{
	json_t *v = opt_field(obj, "replication_index");
	if (v && !json_is_string(v) && !json_is_number(v))
		return wrong_type(c, "replication_index", where, "a string, a number or null", v);
	return 0;
}

static int decode_b64(struct dctx *c, const json_t *s, const char *key, const char *where, struct hr_value *out)
{
	size_t n = json_string_length(s), cap = n / 4 * 3 + 2, got = 0;
	unsigned char *p = arena_alloc(c->a, cap + 1);
	if (hjson_base64_decode(json_string_value(s), n, p, cap, &got) != 0)
		return shape(c, "Invalid `%s` in %s: not valid base64", key, where);
	p[got] = 0;
	out->type = HR_BLOB;
	out->s = (const char *)p;
	out->n = got;
	return 0;
}

static int decode_value(struct dctx *c, const json_t *j, struct hr_value *out)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return shape(c, "Invalid Value: expected an object, got %s", jtype_name(j));
	const char *type;
	json_t *t = json_object_get(j, "type");
	if (!t)
		return missing(c, "type", "Value");
	if (!json_is_string(t))
		return wrong_type(c, "type", "Value", "a string", t);
	type = jtag(t);
	json_t *v = json_object_get(j, strcmp(type, "blob") == 0 ? "base64" : "value");
	if (strcmp(type, "null") == 0) {
		out->type = HR_NULL;
		return 0;
	}
	if (strcmp(type, "integer") == 0) {
		if (!v)
			return missing(c, "value", "integer Value");
		if (!json_is_string(v))
			return wrong_type(c, "value", "integer Value", "a decimal string", v);
		if (!hr_parse_i64(json_string_value(v), json_string_length(v), &out->i))
			return shape(c, "Invalid `value` in integer Value: `%.40s` is not a decimal i64",
				     json_string_value(v));
		out->type = HR_INTEGER;
		return 0;
	}
	if (strcmp(type, "float") == 0) {
		if (!v)
			return missing(c, "value", "float Value");
		if (!json_is_number(v))
			return wrong_type(c, "value", "float Value", "a number", v);
		out->type = HR_FLOAT;
		out->f = json_number_value(v);
		return 0;
	}
	if (strcmp(type, "text") == 0) {
		if (!v)
			return missing(c, "value", "text Value");
		if (!json_is_string(v))
			return wrong_type(c, "value", "text Value", "a string", v);
		out->type = HR_TEXT;
		out->n = json_string_length(v);
		out->s = arena_strndup(c->a, json_string_value(v), out->n);
		return 0;
	}
	if (strcmp(type, "blob") == 0) {
		if (!v)
			return missing(c, "base64", "blob Value");
		if (!json_is_string(v))
			return wrong_type(c, "base64", "blob Value", "a string", v);
		return decode_b64(c, v, "base64", "blob Value", out);
	}
	return shape(c, "Invalid `type` in Value: `%.40s`", type);
}

static int decode_values(struct dctx *c, const json_t *arr, struct hr_value **out, size_t *n)
{
	*n = json_array_size(arr);
	*out = *n ? ARENA_ARRAY(c->a, struct hr_value, *n) : NULL;
	for (size_t i = 0; i < *n; i++) {
		int rc = decode_value(c, json_array_get(arr, i), &(*out)[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Exactly one of sql / sql_id; the messages are sqld's. */
static int decode_sql_or_id(struct dctx *c, const json_t *obj, const char *where, const char **sql, bool *has_id,
			    int32_t *id)
{
	int rc = get_str(c, obj, "sql", where, false, sql);
	if (!rc)
		rc = opt_i32(c, obj, "sql_id", where, has_id, id);
	if (rc)
		return rc;
	if (*sql && *has_id)
		return shape(c, "Either `sql` or `sql_id` are required, but not both"), HJSON_E_INVALID;
	if (!*sql && !*has_id)
		return shape(c, "Either `sql` or `sql_id` are required"), HJSON_E_INVALID;
	return 0;
}

static int decode_stmt(struct dctx *c, const json_t *j, struct hr_stmt *out)
{
	memset(out, 0, sizeof *out);
	out->want_rows = true;
	if (!json_is_object(j))
		return shape(c, "Invalid Stmt: expected an object, got %s", jtype_name(j));
	int rc = decode_sql_or_id(c, j, "Stmt", &out->sql, &out->has_sql_id, &out->sql_id);
	if (rc)
		return rc;
	json_t *args, *named;
	if ((rc = get_arr(c, j, "args", "Stmt", false, &args)) || (rc = get_arr(c, j, "named_args", "Stmt", false, &named)))
		return rc;
	if (args && (rc = decode_values(c, args, &out->args, &out->nargs)))
		return rc;
	if (named) {
		out->nnamed = json_array_size(named);
		out->named = out->nnamed ? ARENA_ARRAY(c->a, struct hr_named_arg, out->nnamed) : NULL;
		for (size_t i = 0; i < out->nnamed; i++) {
			json_t *na = json_array_get(named, i);
			if (!json_is_object(na))
				return shape(c, "Invalid NamedArg: expected an object, got %s", jtype_name(na));
			json_t *v;
			if ((rc = get_str(c, na, "name", "NamedArg", true, &out->named[i].name)))
				return rc;
			if (!(v = json_object_get(na, "value")))
				return missing(c, "value", "NamedArg");
			if ((rc = decode_value(c, v, &out->named[i].value)))
				return rc;
		}
	}
	json_t *w = opt_field(j, "want_rows");
	if (w) {
		if (!json_is_boolean(w))
			return wrong_type(c, "want_rows", "Stmt", "a boolean", w);
		out->want_rows = json_is_true(w);
	}
	return check_replication_index(c, j, "Stmt");
}

static int decode_cond(struct dctx *c, const json_t *j, struct hr_cond *out)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return shape(c, "Invalid BatchCond: expected an object, got %s", jtype_name(j));
	const char *type;
	json_t *t = json_object_get(j, "type");
	if (!t)
		return missing(c, "type", "BatchCond");
	if (!json_is_string(t))
		return wrong_type(c, "type", "BatchCond", "a string", t);
	type = jtag(t);
	if (strcmp(type, "ok") == 0 || strcmp(type, "error") == 0) {
		out->type = type[0] == 'o' ? HR_COND_OK : HR_COND_ERROR;
		return need_u32(c, j, "step", "BatchCond", &out->step);
	}
	if (strcmp(type, "not") == 0) {
		out->type = HR_COND_NOT;
		json_t *sub = json_object_get(j, "cond");
		if (!sub)
			return missing(c, "cond", "BatchCond");
		out->nconds = 1;
		out->conds = ARENA_NEW(c->a, struct hr_cond);
		return decode_cond(c, sub, out->conds);
	}
	if (strcmp(type, "and") == 0 || strcmp(type, "or") == 0) {
		out->type = type[0] == 'a' ? HR_COND_AND : HR_COND_OR;
		json_t *arr;
		int rc = get_arr(c, j, "conds", "BatchCond", true, &arr);
		if (rc)
			return rc;
		out->nconds = json_array_size(arr);
		out->conds = out->nconds ? ARENA_ARRAY(c->a, struct hr_cond, out->nconds) : NULL;
		for (size_t i = 0; i < out->nconds; i++)
			if ((rc = decode_cond(c, json_array_get(arr, i), &out->conds[i])))
				return rc;
		return 0;
	}
	if (strcmp(type, "is_autocommit") == 0) {
		out->type = HR_COND_IS_AUTOCOMMIT;
		return 0;
	}
	return shape(c, "Invalid `type` in BatchCond: `%.40s`", type);
}

static int decode_batch(struct dctx *c, const json_t *j, struct hr_batch *out)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return shape(c, "Invalid Batch: expected an object, got %s", jtype_name(j));
	json_t *steps;
	int rc = get_arr(c, j, "steps", "Batch", true, &steps);
	if (rc || (rc = check_replication_index(c, j, "Batch")))
		return rc;
	out->nsteps = json_array_size(steps);
	out->steps = out->nsteps ? ARENA_ARRAY(c->a, struct hr_step, out->nsteps) : NULL;
	for (size_t i = 0; i < out->nsteps; i++) {
		json_t *st = json_array_get(steps, i), *cond, *stmt;
		if (!json_is_object(st))
			return shape(c, "Invalid BatchStep: expected an object, got %s", jtype_name(st));
		if ((cond = opt_field(st, "condition"))) {
			out->steps[i].cond = ARENA_NEW(c->a, struct hr_cond);
			if ((rc = decode_cond(c, cond, out->steps[i].cond)))
				return rc;
		}
		if (!(stmt = json_object_get(st, "stmt")))
			return missing(c, "stmt", "BatchStep");
		if ((rc = decode_stmt(c, stmt, &out->steps[i].stmt)))
			return rc;
	}
	return 0;
}

static bool req_allowed(enum hr_req_type t, bool ws)
{
	switch (t) {
	case HR_REQ_EXECUTE:
	case HR_REQ_BATCH:
	case HR_REQ_SEQUENCE:
	case HR_REQ_DESCRIBE:
	case HR_REQ_STORE_SQL:
	case HR_REQ_CLOSE_SQL:
	case HR_REQ_GET_AUTOCOMMIT:
		return true;
	case HR_REQ_CLOSE:
		return !ws;
	case HR_REQ_OPEN_STREAM:
	case HR_REQ_CLOSE_STREAM:
	case HR_REQ_OPEN_CURSOR:
	case HR_REQ_FETCH_CURSOR:
	case HR_REQ_CLOSE_CURSOR:
		return ws;
	default:
		return false;
	}
}

/* A WS Request (ws) or an HTTP StreamRequest. */
static int decode_req(struct dctx *c, const json_t *j, struct hr_req *out, bool ws)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return shape(c, "Invalid request: expected an object, got %s", jtype_name(j));
	json_t *t = json_object_get(j, "type");
	if (!t)
		return missing(c, "type", "request");
	if (!json_is_string(t))
		return wrong_type(c, "type", "request", "a string", t);
	const char *name = jtag(t);
	enum hr_req_type type = hr_req_type_from_name(name);
	if (!type || !req_allowed(type, ws)) {
		if (c->e)
			snprintf(c->e->msg, sizeof c->e->msg, "Invalid `type` in request: `%.60s`", name);
		return HJSON_E_UNKNOWN_TYPE;
	}
	out->type = type;
	int rc = 0;
	if (ws && req_has_stream_id(type) && (rc = need_i32(c, j, "stream_id", "request", &out->stream_id)))
		return rc;
	json_t *sub;
	switch (type) {
	case HR_REQ_EXECUTE:
		if (!(sub = json_object_get(j, "stmt")))
			return missing(c, "stmt", "request");
		return decode_stmt(c, sub, &out->stmt);
	case HR_REQ_OPEN_CURSOR:
		if ((rc = need_i32(c, j, "cursor_id", "request", &out->cursor_id)))
			return rc;
		/* fall through */
	case HR_REQ_BATCH:
		if (!(sub = json_object_get(j, "batch")))
			return missing(c, "batch", "request");
		return decode_batch(c, sub, &out->batch);
	case HR_REQ_FETCH_CURSOR:
		if ((rc = need_i32(c, j, "cursor_id", "request", &out->cursor_id)))
			return rc;
		return need_u32(c, j, "max_count", "request", &out->max_count);
	case HR_REQ_CLOSE_CURSOR:
		return need_i32(c, j, "cursor_id", "request", &out->cursor_id);
	case HR_REQ_SEQUENCE:
	case HR_REQ_DESCRIBE:
		return decode_sql_or_id(c, j, "request", &out->sql, &out->has_sql_id, &out->sql_id);
	case HR_REQ_STORE_SQL:
		if ((rc = get_str(c, j, "sql", "request", true, &out->sql)))
			return rc;
		out->has_sql_id = true;
		return need_i32(c, j, "sql_id", "request", &out->sql_id);
	case HR_REQ_CLOSE_SQL:
		out->has_sql_id = true;
		return need_i32(c, j, "sql_id", "request", &out->sql_id);
	default:
		return 0;
	}
}

/* Parses buf[0..n) and checks it is an object; *root must be json_decref'd
 * by the caller when 0 is returned. */
static int parse_root(struct dctx *c, const char *buf, size_t n, const char *what, json_t **root)
{
	json_error_t je;
	json_t *j = json_loadb(buf, n, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	if (!j) {
		switch (json_error_code(&je)) {
		case json_error_out_of_memory:
			fputs("sqlwire: out of memory\n", stderr);
			abort();
		case json_error_numeric_overflow:
		case json_error_null_byte_in_key:
			/* well-formed JSON that this codec cannot represent */
			return shape(c, "Invalid %s: %s", what, je.text);
		default:
			err_set(c->e, "Invalid JSON in %s: %s at line %d, column %d", what, je.text, je.line,
				je.column);
			return HJSON_E_SYNTAX;
		}
	}
	if (!json_is_object(j)) {
		int rc = shape(c, "Invalid %s: expected a JSON object, got %s", what, jtype_name(j));
		json_decref(j);
		return rc;
	}
	*root = j;
	return 0;
}

static int decode_baton(struct dctx *c, const json_t *root, const char *where, const char **out)
{
	return get_str(c, root, "baton", where, false, out);
}

int hjson_decode_client_msg(struct arena *a, const char *buf, size_t n, struct hr_client_msg *out, struct err *e)
{
	struct dctx c = {a, e};
	json_t *root;
	memset(out, 0, sizeof *out);
	int rc = parse_root(&c, buf, n, "message", &root);
	if (rc)
		return rc;
	json_t *t = json_object_get(root, "type"), *req;
	if (!t) {
		rc = missing(&c, "type", "message");
	} else if (!json_is_string(t)) {
		rc = wrong_type(&c, "type", "message", "a string", t);
	} else if (strcmp(jtag(t), "hello") == 0) {
		out->type = HR_CMSG_HELLO;
		rc = get_str(&c, root, "jwt", "hello message", false, &out->jwt);
	} else if (strcmp(jtag(t), "request") == 0) {
		out->type = HR_CMSG_REQUEST;
		rc = need_i32(&c, root, "request_id", "request message", &out->request_id);
		if (!rc && !(req = json_object_get(root, "request")))
			rc = missing(&c, "request", "request message");
		if (!rc)
			rc = decode_req(&c, req, &out->req, true);
	} else {
		err_set(e, "Invalid `type` in message: `%.60s`", jtag(t));
		rc = HJSON_E_UNKNOWN_TYPE;
	}
	json_decref(root);
	return rc;
}

int hjson_decode_pipeline_req(struct arena *a, const char *buf, size_t n, struct hr_pipeline_req *out,
			      struct err *e)
{
	struct dctx c = {a, e};
	json_t *root, *reqs;
	memset(out, 0, sizeof *out);
	int rc = parse_root(&c, buf, n, "pipeline request body", &root);
	if (rc)
		return rc;
	if (!(rc = decode_baton(&c, root, "pipeline request body", &out->baton)) &&
	    !(rc = get_arr(&c, root, "requests", "pipeline request body", true, &reqs))) {
		out->nrequests = json_array_size(reqs);
		out->requests = out->nrequests ? ARENA_ARRAY(a, struct hr_req, out->nrequests) : NULL;
		for (size_t i = 0; i < out->nrequests && !rc; i++)
			rc = decode_req(&c, json_array_get(reqs, i), &out->requests[i], false);
	}
	json_decref(root);
	return rc;
}

int hjson_decode_cursor_req(struct arena *a, const char *buf, size_t n, struct hr_cursor_req *out,
			    struct err *e)
{
	struct dctx c = {a, e};
	json_t *root, *batch;
	memset(out, 0, sizeof *out);
	int rc = parse_root(&c, buf, n, "cursor request body", &root);
	if (rc)
		return rc;
	if (!(rc = decode_baton(&c, root, "cursor request body", &out->baton))) {
		if (!(batch = json_object_get(root, "batch")))
			rc = missing(&c, "batch", "cursor request body");
		else
			rc = decode_batch(&c, batch, &out->batch);
	}
	json_decref(root);
	return rc;
}

int hjson_decode_v1_execute(struct arena *a, const char *buf, size_t n, struct hr_stmt *out, struct err *e)
{
	struct dctx c = {a, e};
	json_t *root, *stmt;
	memset(out, 0, sizeof *out);
	int rc = parse_root(&c, buf, n, "execute request body", &root);
	if (rc)
		return rc;
	if (!(stmt = json_object_get(root, "stmt")))
		rc = missing(&c, "stmt", "execute request body");
	else
		rc = decode_stmt(&c, stmt, out);
	json_decref(root);
	return rc;
}

int hjson_decode_v1_batch(struct arena *a, const char *buf, size_t n, struct hr_batch *out, struct err *e)
{
	struct dctx c = {a, e};
	json_t *root, *batch;
	memset(out, 0, sizeof *out);
	int rc = parse_root(&c, buf, n, "batch request body", &root);
	if (rc)
		return rc;
	if (!(batch = json_object_get(root, "batch")))
		rc = missing(&c, "batch", "batch request body");
	else
		rc = decode_batch(&c, batch, out);
	json_decref(root);
	return rc;
}

/* Legacy plain value (§6.1). */
static int decode_plain_value(struct dctx *c, const json_t *j, struct hr_value *out)
{
	memset(out, 0, sizeof *out);
	switch (json_typeof(j)) {
	case JSON_NULL:
		out->type = HR_NULL;
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		out->type = HR_INTEGER;
		out->i = json_is_true(j);
		return 0;
	case JSON_INTEGER:
		out->type = HR_INTEGER;
		out->i = json_integer_value(j);
		return 0;
	case JSON_REAL:
		out->type = HR_FLOAT;
		out->f = json_real_value(j);
		return 0;
	case JSON_STRING:
		out->type = HR_TEXT;
		out->n = json_string_length(j);
		out->s = arena_strndup(c->a, json_string_value(j), out->n);
		return 0;
	case JSON_OBJECT: {
		const char *key;
		json_t *v, *b64 = NULL;
		json_object_foreach((json_t *)j, key, v) {
			if (strcmp(key, "base64") != 0)
				return shape(c, "Unknown field `%.60s` in legacy blob value", key);
			b64 = v;
		}
		if (!b64)
			return missing(c, "base64", "legacy blob value");
		if (!json_is_string(b64))
			return wrong_type(c, "base64", "legacy blob value", "a string", b64);
		return decode_b64(c, b64, "base64", "legacy blob value", out);
	}
	case JSON_ARRAY:
	default:
		return shape(c, "Invalid legacy value: expected null, a boolean, a number, a string or "
				"{\"base64\":...}, got %s",
			     jtype_name(j));
	}
}

static int decode_legacy_query(struct dctx *c, const json_t *q, struct hr_stmt *out)
{
	memset(out, 0, sizeof *out);
	out->want_rows = true;
	if (json_is_string(q)) {
		out->sql = arena_strndup(c->a, json_string_value(q), json_string_length(q));
		return 0;
	}
	if (!json_is_object(q))
		return shape(c, "Invalid legacy query: expected a string or an object, got %s", jtype_name(q));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)q, key, v) {
		if (strcmp(key, "q") != 0 && strcmp(key, "params") != 0)
			return shape(c, "Unknown field `%.60s` in legacy query", key);
	}
	int rc = get_str(c, q, "q", "legacy query", true, &out->sql);
	if (rc)
		return rc;
	json_t *params = opt_field(q, "params");
	if (!params)
		return 0;
	if (json_is_array(params)) {
		out->nargs = json_array_size(params);
		out->args = out->nargs ? ARENA_ARRAY(c->a, struct hr_value, out->nargs) : NULL;
		for (size_t i = 0; i < out->nargs; i++)
			if ((rc = decode_plain_value(c, json_array_get(params, i), &out->args[i])))
				return rc;
		return 0;
	}
	if (json_is_object(params)) {
		out->nnamed = json_object_size(params);
		out->named = out->nnamed ? ARENA_ARRAY(c->a, struct hr_named_arg, out->nnamed) : NULL;
		size_t i = 0;
		json_object_foreach(params, key, v) {
			out->named[i].name = arena_strdup(c->a, key);
			if ((rc = decode_plain_value(c, v, &out->named[i].value)))
				return rc;
			i++;
		}
		return 0;
	}
	return wrong_type(c, "params", "legacy query", "an array or an object", params);
}

int hjson_decode_legacy(struct arena *a, const char *buf, size_t n, struct hr_stmt **stmts, size_t *nstmts,
			struct err *e)
{
	struct dctx c = {a, e};
	json_t *root, *arr;
	*stmts = NULL;
	*nstmts = 0;
	int rc = parse_root(&c, buf, n, "query request body", &root);
	if (rc)
		return rc;
	if (!(rc = get_arr(&c, root, "statements", "query request body", true, &arr))) {
		json_t *ri = opt_field(root, "replication_index");
		if (ri && !json_is_integer(ri))
			rc = wrong_type(&c, "replication_index", "query request body", "an integer", ri);
	}
	if (!rc) {
		size_t cnt = json_array_size(arr);
		struct hr_stmt *s = cnt ? ARENA_ARRAY(a, struct hr_stmt, cnt) : NULL;
		for (size_t i = 0; i < cnt && !rc; i++)
			rc = decode_legacy_query(&c, json_array_get(arr, i), &s[i]);
		if (!rc) {
			*stmts = s;
			*nstmts = cnt;
		}
	}
	json_decref(root);
	return rc;
}
