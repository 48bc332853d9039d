/* buf: a growable byte buffer for encoders and network output. Always keeps a
 * NUL after the last byte so text can be used as a C string. One owner. */
#ifndef SQLWIRE_BUF_H
#define SQLWIRE_BUF_H
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *p;
	size_t len, cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);              /* back to empty; accepts a zeroed buf */
void buf_reserve(struct buf *b, size_t extra); /* aborts on out-of-memory */
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n); /* drop the first n bytes */
/* Hand the bytes over: returns b->p (caller frees) and empties b. */
char *buf_steal(struct buf *b, size_t *len);
#endif
