/* libFuzzer target: jtree (the client's JSON parser) against jansson as the
 * reference. Both must accept and reject the same texts, except where jtree
 * is documented to differ (reals that overflow to Inf are accepted; "\u0000"
 * in a key is accepted; nesting is limited to JTREE_MAX_DEPTH); accepted
 * texts must give the same tree. Texts holding a raw NUL byte are only
 * parsed (jansson's handling of them is its own: it accepted `{"a":null\0,"b":1}`),
 * since a raw NUL is never valid JSON and jtree rejects it. */
#include "jtree.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void same(const struct jtree *a, const json_t *b)
{
	switch (json_typeof(b)) {
	case JSON_NULL:
		if (a->type != JT_NULL)
			abort();
		break;
	case JSON_TRUE:
		if (a->type != JT_TRUE)
			abort();
		break;
	case JSON_FALSE:
		if (a->type != JT_FALSE)
			abort();
		break;
	case JSON_INTEGER:
		if (a->type != JT_INT || a->i != json_integer_value(b))
			abort();
		break;
	case JSON_REAL:
		if (a->type != JT_REAL || a->d != json_real_value(b))
			abort();
		break;
	case JSON_STRING:
		if (a->type != JT_STR || a->n != json_string_length(b) || memcmp(a->s, json_string_value(b), a->n) != 0 ||
		    a->s[a->n] != 0)
			abort();
		break;
	case JSON_ARRAY:
		if (a->type != JT_ARR || a->n != json_array_size(b))
			abort();
		for (size_t i = 0; i < a->n; i++)
			same(&a->items[i], json_array_get(b, i));
		break;
	case JSON_OBJECT: {
		if (a->type != JT_OBJ)
			abort();
		/* jansson keeps the last of duplicate keys; so does jtree_get */
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)b, k, v)
		{
			const struct jtree *m = jtree_get(a, k);
			if (!m)
				abort();
			same(m, v);
		}
		for (size_t i = 0; i < a->n; i++)
			if (strlen(a->keys[i].s) == a->keys[i].n && !json_object_get(b, a->keys[i].s))
				abort();
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	struct arena a;
	arena_init(&a);
	struct jtree *t = NULL;
	struct err e;
	int rc = jtree_parse(&a, (const char *)data, n, &t, &e);
	json_error_t je;
	json_t *j = json_loadb((const char *)data, n, JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	if (rc == 0 && memchr(data, 0, n))
		abort(); /* a raw NUL is outside every JSON token */
	if (rc == 0 && !j) {
		enum json_error_code c = json_error_code(&je);
		if (c != json_error_numeric_overflow && c != json_error_null_byte_in_key)
			abort();
	} else if (rc != 0 && j) {
		if (rc != JTREE_E_RANGE && !memchr(data, 0, n))
			abort();
	} else if (rc == 0 && j) {
		same(t, j);
	}
	if (j)
		json_decref(j);
	arena_free(&a);
	return 0;
}
