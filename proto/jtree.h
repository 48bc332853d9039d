/* jtree: a small JSON parser (RFC 8259) that builds a read-only tree in an
 * arena, for the client-side Hrana decoder (hjson_client.c), where parsing
 * every response through jansson's hash tables and mallocs cost more CPU
 * than the rest of a remote round trip's client work together.
 *
 * Accepted: exactly one JSON value with optional whitespace around it.
 * Strings must be valid UTF-8 (escapes included: a lone surrogate is an
 * error) and may hold "\u0000" (they carry their length). Numbers follow the
 * JSON grammar; one without fraction or exponent is JT_INT when it fits an
 * int64 (else an error, as jansson does); others are JT_REAL via strtod in
 * the C locale (overflow gives +-Inf, which is how sqld writes infinities).
 * Nesting deeper than JTREE_MAX_DEPTH is an error. Duplicate keys are kept;
 * jtree_get returns the last one (jansson's behaviour).
 *
 * Memory: every node and string lives in the arena given; nothing refers to
 * the input afterwards. Threads: reentrant; one arena per caller. */
#ifndef SQLWIRE_JTREE_H
#define SQLWIRE_JTREE_H
#include "arena.h"
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JTREE_MAX_DEPTH 512
#define JTREE_E_SYNTAX (-1) /* not JSON */
#define JTREE_E_RANGE (-2)  /* an integer outside int64, too deep */

enum jtree_type { JT_NULL = 0, JT_FALSE, JT_TRUE, JT_INT, JT_REAL, JT_STR, JT_ARR, JT_OBJ };

struct jtree_key {
	const char *s;
	size_t n;
};

struct jtree {
	enum jtree_type type;
	size_t n;               /* JT_STR: bytes; JT_ARR / JT_OBJ: members */
	int64_t i;              /* JT_INT */
	double d;               /* JT_REAL, and JT_INT as a double */
	const char *s;          /* JT_STR: NUL-terminated */
	struct jtree *items;    /* JT_ARR / JT_OBJ: [n] */
	struct jtree_key *keys; /* JT_OBJ: [n] */
};

int jtree_parse(struct arena *a, const char *p, size_t n, struct jtree **out, struct err *e);
/* The member named key of an object (the last if repeated), or NULL when v
 * is not an object or has no such member. */
const struct jtree *jtree_get(const struct jtree *v, const char *key);
#endif
