/* crc64: CRC-64/GO-ISO, the checksum of libSQL's replication frames
 * (PROTOCOL.md §8.1) and of sqlwire's own file headers.
 *
 * Parameters (Rocksoft model, as in the CRC catalogue): width 64,
 * poly 0x000000000000001B (0xD800000000000000 reflected), init ~0,
 * refin = refout = true, xorout ~0, check("123456789") = 0xB90956C775A41001.
 *
 * Two ways to continue a checksum, and they differ:
 *
 *  - crc64_update(crc, p, n): zlib-style continuation of one message.
 *    crc64_update(0, p, n) == crc64(p, n) and
 *    crc64_update(crc64(a), b) == crc64(a || b). Used for file bodies.
 *
 *  - crc64_chain(prev, p, n): what libSQL's frame log computes,
 *    `CRC_64_GO_ISO.digest_with_initial(prev)` of the Rust crate `crc` 3.x,
 *    then `update(page)`, `finalize()`. digest_with_initial replaces the
 *    algorithm's init by `prev` *as a Rocksoft init value*, so for this
 *    reflected algorithm the register starts at bit_reverse64(prev), and
 *    finalize xors with ~0. In other words crc64_chain(prev, p, n) is the
 *    CRC-64/GO-ISO of p with init = prev, i.e.
 *        crc64_chain(prev, p, n) == crc64_update(~bit_reverse64(prev), p, n),
 *    and crc64_chain(~0, p, n) == crc64(p, n). It is *not* a continuation
 *    of one long message. A frame's checksum is
 *    crc64_chain(previous frame's checksum, page, 4096); the first frame of
 *    a log is seeded with the log's start checksum (0 for a new lineage).
 *
 * Slice-by-8 tables, built once (pthread_once); 4096-byte blocks run as
 * four interleaved chains joined by a table-driven shift; on x86-64 with
 * PCLMULQDQ, carry-less multiplication instead (crc64.c). Any thread. */
#ifndef SQLWIRE_CRC64_H
#define SQLWIRE_CRC64_H
#include <stddef.h>
#include <stdint.h>

#define CRC64_CHECK 0xB90956C775A41001ull /* crc64("123456789", 9) */

uint64_t crc64(const void *p, size_t n);
uint64_t crc64_update(uint64_t crc, const void *p, size_t n);
uint64_t crc64_chain(uint64_t prev, const void *p, size_t n);
uint64_t crc64_bitrev(uint64_t v); /* bit 0 <-> bit 63, ... */
/* For tests: turn the carry-less-multiplication path off (0) or back on
 * where the CPU has it; returns whether it is in use now. Not thread-safe
 * against concurrent checksums. */
int crc64_use_clmul(int on);
#endif
