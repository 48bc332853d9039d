/* jtree: see jtree.h. Recursive descent with a depth limit; the members of
 * the containers being parsed collect on one scratch stack (malloc'd, grown
 * by doubling) and are copied into the arena when their container closes. */
#include "jtree.h"
#include "hex.h"
#include "hrana.h"
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jt_ctx {
	struct arena *a;
	const char *p, *end, *start;
	int depth;
	struct jtree *stack;
	struct jtree_key *kstack;
	size_t sp, cap;
	struct err *e;
	int rc;
};

static pthread_once_t jt_locale_once = PTHREAD_ONCE_INIT;
static locale_t jt_c_locale;

static void jt_locale_init(void)
{
	jt_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static int jt_fail(struct jt_ctx *c, int rc, const char *what)
{
	if (c->rc == 0) {
		c->rc = rc;
		err_set(c->e, "Invalid JSON: %s at offset %td", what, c->p - c->start);
	}
	return c->rc;
}

static void jt_ws(struct jt_ctx *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static void jt_push(struct jt_ctx *c, const struct jtree *v, const struct jtree_key *k)
{
	if (c->sp == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		struct jtree *ns = realloc(c->stack, nc * sizeof *ns);
		struct jtree_key *nk = realloc(c->kstack, nc * sizeof *nk);
		if (!ns || !nk) {
			fputs("sqlwire: out of memory\n", stderr);
			abort();
		}
		c->stack = ns;
		c->kstack = nk;
		c->cap = nc;
	}
	c->stack[c->sp] = *v;
	c->kstack[c->sp] = k ? *k : (struct jtree_key){0};
	c->sp++;
}

static int jt_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		int d = hex_digit((unsigned char)ch);
		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static size_t jt_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* At the opening quote; fills *s / *n with an arena copy. */
static int jt_string(struct jt_ctx *c, const char **s, size_t *n)
{
	const char *q = ++c->p;
	bool esc = false;
	while (q < c->end && *q != '"') {
		if ((unsigned char)*q < 0x20)
			return c->p = q, jt_fail(c, JTREE_E_SYNTAX, "control character in a string");
		if (*q == '\\') {
			esc = true;
			q++;
			if (q >= c->end)
				break;
		}
		q++;
	}
	if (q >= c->end)
		return jt_fail(c, JTREE_E_SYNTAX, "unterminated string");
	size_t raw = (size_t)(q - c->p);
	if (!hr_utf8_valid(c->p, raw))
		return jt_fail(c, JTREE_E_SYNTAX, "invalid UTF-8 in a string");
	if (!esc) {
		*s = arena_strndup(c->a, c->p, raw);
		*n = raw;
		c->p = q + 1;
		return 0;
	}
	char *o = arena_alloc(c->a, raw + 1), *w = o; /* unescaping never grows */
	const char *r = c->p;
	while (r < q) {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		r++;
		char ch = *r++;
		switch (ch) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (q - r < 4 || jt_hex4(r, &cp) != 0)
				return c->p = r, jt_fail(c, JTREE_E_SYNTAX, "bad \\u escape");
			r += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return c->p = r, jt_fail(c, JTREE_E_SYNTAX, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (q - r < 6 || r[0] != '\\' || r[1] != 'u' || jt_hex4(r + 2, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return c->p = r, jt_fail(c, JTREE_E_SYNTAX, "lone high surrogate");
				r += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			w += jt_utf8(w, cp);
			break;
		}
		default:
			return c->p = r - 1, jt_fail(c, JTREE_E_SYNTAX, "bad escape");
		}
	}
	*w = 0;
	*s = o;
	*n = (size_t)(w - o);
	c->p = q + 1;
	return 0;
}

static int jt_number(struct jt_ctx *c, struct jtree *v)
{
	const char *s = c->p, *q = s;
	if (q < c->end && *q == '-')
		q++;
	if (q >= c->end || *q < '0' || *q > '9')
		return jt_fail(c, JTREE_E_SYNTAX, "bad number");
	if (*q == '0')
		q++;
	else
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	bool real = false;
	if (q < c->end && *q == '.') {
		real = true;
		q++;
		if (q >= c->end || *q < '0' || *q > '9')
			return c->p = q, jt_fail(c, JTREE_E_SYNTAX, "bad fraction");
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < c->end && (*q == 'e' || *q == 'E')) {
		real = true;
		q++;
		if (q < c->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= c->end || *q < '0' || *q > '9')
			return c->p = q, jt_fail(c, JTREE_E_SYNTAX, "bad exponent");
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	}
	c->p = q;
	if (!real) {
		bool neg = *s == '-';
		uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, x = 0;
		for (const char *d = s + neg; d < q; d++) {
			unsigned dg = (unsigned)(*d - '0');
			if (x > (lim - dg) / 10)
				return jt_fail(c, JTREE_E_RANGE, "integer out of range");
			x = x * 10 + dg;
		}
		v->type = JT_INT;
		v->i = neg ? (int64_t)(0 - x) : (int64_t)x;
		v->d = (double)v->i;
		return 0;
	}
	char tmp[128], *buf = tmp;
	size_t len = (size_t)(q - s);
	if (len >= sizeof tmp)
		buf = arena_alloc(c->a, len + 1);
	memcpy(buf, s, len);
	buf[len] = 0;
	pthread_once(&jt_locale_once, jt_locale_init);
	v->type = JT_REAL;
	v->d = jt_c_locale ? strtod_l(buf, NULL, jt_c_locale) : strtod(buf, NULL);
	return 0;
}

static int jt_value(struct jt_ctx *c, struct jtree *v);

static int jt_container(struct jt_ctx *c, struct jtree *v, bool obj)
{
	if (++c->depth > JTREE_MAX_DEPTH)
		return jt_fail(c, JTREE_E_RANGE, "nesting too deep");
	char close = obj ? '}' : ']';
	size_t start = c->sp;
	c->p++;
	jt_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
	} else {
		for (;;) {
			struct jtree_key k = {0};
			jt_ws(c);
			if (obj) {
				if (c->p >= c->end || *c->p != '"')
					return jt_fail(c, JTREE_E_SYNTAX, "expected a key");
				if (jt_string(c, &k.s, &k.n))
					return c->rc;
				jt_ws(c);
				if (c->p >= c->end || *c->p != ':')
					return jt_fail(c, JTREE_E_SYNTAX, "expected ':'");
				c->p++;
			}
			struct jtree m;
			if (jt_value(c, &m))
				return c->rc;
			jt_push(c, &m, obj ? &k : NULL);
			jt_ws(c);
			if (c->p < c->end && *c->p == ',') {
				c->p++;
				continue;
			}
			if (c->p < c->end && *c->p == close) {
				c->p++;
				break;
			}
			return jt_fail(c, JTREE_E_SYNTAX, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
	memset(v, 0, sizeof *v);
	v->type = obj ? JT_OBJ : JT_ARR;
	v->n = c->sp - start;
	if (v->n) {
		v->items = ARENA_ARRAY(c->a, struct jtree, v->n);
		memcpy(v->items, c->stack + start, v->n * sizeof *v->items);
		if (obj) {
			v->keys = ARENA_ARRAY(c->a, struct jtree_key, v->n);
			memcpy(v->keys, c->kstack + start, v->n * sizeof *v->keys);
		}
	}
	c->sp = start;
	c->depth--;
	return 0;
}

static int jt_lit(struct jt_ctx *c, const char *w, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
		return jt_fail(c, JTREE_E_SYNTAX, "unexpected character");
	c->p += n;
	return 0;
}

static int jt_value(struct jt_ctx *c, struct jtree *v)
{
	memset(v, 0, sizeof *v);
	jt_ws(c);
	if (c->p >= c->end)
		return jt_fail(c, JTREE_E_SYNTAX, "unexpected end");
	switch (*c->p) {
	case '{':
		return jt_container(c, v, true);
	case '[':
		return jt_container(c, v, false);
	case '"':
		v->type = JT_STR;
		return jt_string(c, &v->s, &v->n);
	case 't':
		v->type = JT_TRUE;
		return jt_lit(c, "true", 4);
	case 'f':
		v->type = JT_FALSE;
		return jt_lit(c, "false", 5);
	case 'n':
		v->type = JT_NULL;
		return jt_lit(c, "null", 4);
	default:
		return jt_number(c, v);
	}
}

int jtree_parse(struct arena *a, const char *p, size_t n, struct jtree **out, struct err *e)
{
	struct jt_ctx c = {.a = a, .p = p, .end = p + n, .start = p, .e = e};
	struct jtree *v = ARENA_NEW(a, struct jtree);
	int rc = jt_value(&c, v);
	if (rc == 0) {
		jt_ws(&c);
		if (c.p != c.end)
			rc = jt_fail(&c, JTREE_E_SYNTAX, "trailing characters");
	}
	free(c.stack);
	free(c.kstack);
	*out = rc == 0 ? v : NULL;
	return rc;
}

const struct jtree *jtree_get(const struct jtree *v, const char *key)
{
	if (!v || v->type != JT_OBJ)
		return NULL;
	size_t kl = strlen(key);
	for (size_t i = v->n; i-- > 0;)
		if (v->keys[i].n == kl && memcmp(v->keys[i].s, key, kl) == 0)
			return &v->items[i];
	return NULL;
}
