/* Unit tests of proto/jtree.c, the client's JSON parser. */
#include "jtree.h"
#include "t.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct arena A;

static int parse(const char *s, struct jtree **t)
{
	struct err e;
	return jtree_parse(&A, s, strlen(s), t, &e);
}

static void test_values(void)
{
	struct jtree *t;
	CHECK(parse(" {\"a\":[1,-0,2.5e2,true,false,null,\"x\"],\"b\":{}, \"a\":-9223372036854775808} ", &t) == 0);
	CHECK(t->type == JT_OBJ && t->n == 3);
	const struct jtree *a = jtree_get(t, "a");
	CHECK(a && a->type == JT_INT && a->i == INT64_MIN); /* the last duplicate wins */
	const struct jtree *arr = &t->items[0];
	CHECK(arr->type == JT_ARR && arr->n == 7);
	CHECK(arr->items[0].i == 1 && arr->items[1].type == JT_INT && arr->items[1].i == 0);
	CHECK(arr->items[2].type == JT_REAL && arr->items[2].d == 250.0);
	CHECK(arr->items[3].type == JT_TRUE && arr->items[4].type == JT_FALSE && arr->items[5].type == JT_NULL);
	CHECK(arr->items[6].type == JT_STR && arr->items[6].n == 1 && !strcmp(arr->items[6].s, "x"));
	CHECK(jtree_get(t, "b")->type == JT_OBJ && jtree_get(t, "b")->n == 0);
	CHECK(jtree_get(t, "c") == NULL && jtree_get(arr, "a") == NULL);
	CHECK(parse("1e999", &t) == 0 && t->type == JT_REAL && isinf(t->d) && t->d > 0); /* sqld's +Inf */
	CHECK(parse("9223372036854775807", &t) == 0 && t->i == INT64_MAX);
	CHECK(parse("9223372036854775808", &t) == JTREE_E_RANGE);
}

static void test_strings(void)
{
	struct jtree *t;
	CHECK(parse("\"a\\u0000b\\n\\\"\\\\\\/\\ud83d\\ude00\\u00e9\"", &t) == 0);
	CHECK(t->type == JT_STR && t->n == 3 + 3 + 1 + 4 + 2);
	CHECK(!memcmp(t->s, "a\0b\n\"\\/\xf0\x9f\x98\x80\xc3\xa9", t->n) && t->s[t->n] == 0);
	CHECK(parse("\"h\xc3\xa9\"", &t) == 0 && t->n == 3);
	const char *bad[] = {"\"\\ud83d\"", "\"\\ude00\"", "\"\\x\"", "\"\\u12\"", "\"a", "\"\x01\"", "\"\xc3\"",
			     "\"\xed\xa0\x80\"", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-", "1e", "tru", "[1 2]",
			     "{} x", "", "nul", "{1:2}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(bad[i], &t);
		if (rc != JTREE_E_SYNTAX)
			fprintf(stderr, "bad %zu (%s) gave %d\n", i, bad[i], rc);
		CHECK(rc == JTREE_E_SYNTAX);
	}
}

static void test_depth(void)
{
	char *s = malloc(2 * JTREE_MAX_DEPTH + 10);
	size_t n = 0;
	for (int i = 0; i < JTREE_MAX_DEPTH; i++)
		s[n++] = '[';
	for (int i = 0; i < JTREE_MAX_DEPTH; i++)
		s[n++] = ']';
	s[n] = 0;
	struct jtree *t;
	CHECK(parse(s, &t) == 0);
	memmove(s + 1, s, n + 1);
	s[0] = '[';
	s[n + 1] = ']';
	s[n + 2] = 0;
	CHECK(parse(s, &t) == JTREE_E_RANGE);
	free(s);
}

int main(void)
{
	arena_init(&A);
	T_RUN(test_values);
	T_RUN(test_strings);
	T_RUN(test_depth);
	arena_free(&A);
	return T_DONE();
}
