/* pbwire: decoding a protobuf-c message from untrusted bytes, shared by the
 * protobuf codecs (hpb: Hrana, replpb: libSQL replication). Only those
 * codecs include this header: protobuf-c types stay inside them.
 *
 * Two passes over the bytes:
 *   1. a scan walks the wire format with the message descriptors without
 *      allocating: it bounds the nesting depth (protobuf-c recurses once per
 *      nested message and has no limit of its own), rejects what protobuf-c
 *      would reject anyway (truncation, a known field with the wrong wire
 *      type, groups) with a clearer message, and checks that every known
 *      string field is UTF-8 (and, if asked, holds no NUL);
 *   2. protobuf-c unpacks with an allocator taking memory from the caller's
 *      arena (free is a no-op), so strings and bytes are used in place.
 *
 * FORMAT (protobuf wire format, what the scan reads)
 *   message  = *(key value)
 *   key      = varint: field_number << 3 | wire_type, field_number 1..2^29-1
 *   value    = wire 0: varint (1..10 bytes, 7 bits each, low group first)
 *              wire 1: 8 bytes little-endian     wire 5: 4 bytes little-endian
 *              wire 2: varint length, then that many bytes (a string, bytes,
 *                      a nested message, or packed repeated scalars)
 *   wire types 3 and 4 (groups) are rejected.
 *
 * Pure functions, any thread. */
#ifndef SQLWIRE_PBWIRE_H
#define SQLWIRE_PBWIRE_H
#include "arena.h"
#include "err.h"
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PBWIRE_E_WIRE (-1)   /* malformed wire format, or nested too deep */
#define PBWIRE_E_STRING (-2) /* a string field that is not valid UTF-8 (or holds a NUL) */

struct pbwire_rules {
	int max_depth; /* nesting bound: the top message is depth 1 */
	bool no_nul;   /* string fields may not contain NUL */
};

/* Decodes p[0..n) (p may be NULL when n == 0) as a message of type d into
 * arena a. Returns the message, or NULL with *rc = PBWIRE_E_* and e saying
 * why. The message lives as long as the arena. */
ProtobufCMessage *pbwire_unpack(struct arena *a, const ProtobufCMessageDescriptor *d, const void *p, size_t n,
				const struct pbwire_rules *r, int *rc, struct err *e);

/* One varint at p[*i..n): advances *i; false when truncated or over 64 bits. */
bool pbwire_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *out);
#endif
