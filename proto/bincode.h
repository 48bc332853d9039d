/* bincode: libSQL's encoding of one SQL value inside the replication protocol
 * (PROTOCOL.md §8.2): the bytes of proxy.Value.data are a Rust
 * `enum Value { Null, Integer(i64), Real(f64), Text(String), Blob(Vec<u8>) }`
 * serialized with bincode 1.x's legacy configuration (little-endian,
 * fixed-width integers). Used by replpb for query parameters (Positional /
 * Named) and result rows; nothing else.
 *
 * FORMAT (all integers little-endian)
 *   offset  size  field
 *   0       4     variant tag, u32: 0 Null, 1 Integer, 2 Real, 3 Text, 4 Blob
 *   4       -     Null: nothing (4 bytes in all)
 *   4       8     Integer: i64 two's complement (12 bytes in all)
 *   4       8     Real: the IEEE-754 bits of the f64 (12 bytes in all)
 *   4       8     Text / Blob: byte length L, u64
 *   12      L     Text: UTF-8 (no NUL terminator); Blob: raw bytes
 *   e.g. Integer 1 = 01 00 00 00 01 00 00 00 00 00 00 00.
 * Every value has exactly one encoding, so decode followed by encode gives
 * back the input bytes (NaN payloads included).
 *
 * Threads: pure functions; any thread, each with its own arena / buf. */
#ifndef SQLWIRE_BINCODE_H
#define SQLWIRE_BINCODE_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hrana.h"
#include <stddef.h>
#include <stdint.h>

#define BINCODE_E_TRUNCATED (-1) /* input ends inside the value (or a length runs past it) */
#define BINCODE_E_TAG (-2)       /* variant tag not 0..4 */
#define BINCODE_E_UTF8 (-3)      /* Text that is not valid UTF-8 */
#define BINCODE_E_TRAILING (-4)  /* bytes left after the value */

#define BINCODE_TAG_NULL 0u
#define BINCODE_TAG_INTEGER 1u
#define BINCODE_TAG_REAL 2u
#define BINCODE_TAG_TEXT 3u
#define BINCODE_TAG_BLOB 4u

/* Exact number of bytes bincode_encode_value / bincode_write_value produce
 * for v: 4 (Null), 12 (Integer, Real) or 12 + v->n (Text, Blob). */
size_t bincode_value_size(const struct hr_value *v);

/* Appends the encoding of v to b (buf aborts on out-of-memory). Text and
 * blobs are written with their byte length v->n; a Text is written as given
 * (the encoder does not check UTF-8). */
void bincode_encode_value(struct buf *b, const struct hr_value *v);

/* Writes the encoding of v to dst, which must have room for
 * bincode_value_size(v) bytes; returns that size. */
size_t bincode_write_value(void *dst, const struct hr_value *v);

/* Decodes exactly one value from p[0..n) into *out. Returns 0, or a
 * BINCODE_E_* code with a message in *e (e may be NULL); on error *out is
 * zeroed (HR_NULL). Lengths are checked against the remaining input before
 * anything is allocated or copied. Text and blob bytes are copied into the
 * arena `a` with a NUL after them (out->s; out->n is the length without it;
 * an empty blob or text still gets a non-NULL out->s). Nothing refers to p
 * afterwards. */
int bincode_decode_value(struct arena *a, const void *p, size_t n, struct hr_value *out,
			 struct err *e);
#endif
