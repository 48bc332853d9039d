/* arena: a bump allocator for everything decoded from one request or built for
 * one response. One owner frees it all at once with arena_free(); nothing in an
 * arena is freed on its own. Not thread-safe: one arena, one thread at a time.
 * Out of memory aborts (sqld policy, DESIGN.md §4). */
#ifndef SQLWIRE_ARENA_H
#define SQLWIRE_ARENA_H
#include <stddef.h>

struct arena_blk;
struct arena {
	struct arena_blk *head; /* newest block first */
	size_t used;            /* bytes handed out, for size accounting */
};

void arena_init(struct arena *a);
void arena_free(struct arena *a); /* frees every block; the arena is empty and reusable */
void *arena_alloc(struct arena *a, size_t n);  /* 16-byte aligned, zeroed; never NULL */
char *arena_strndup(struct arena *a, const char *s, size_t n); /* NUL-terminated copy */
char *arena_strdup(struct arena *a, const char *s);
void *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (n)))
#endif
