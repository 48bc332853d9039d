/* baton: the unforgeable tokens that name a Hrana-over-HTTP stream.
 *
 * FORMAT (PROTOCOL.md §4.3; opaque to clients)
 *   48 bytes, sent as standard base64 without padding (64 characters):
 *     0..7    stream_id   u64 big-endian (random per stream)
 *     8..15   seq         u64 big-endian (random start, +1 per request)
 *     16..47  HMAC-SHA256(key, bytes 0..15)
 *   The key is 32 random bytes made at start, so every baton dies with the
 *   process. Decoding checks length, alphabet and MAC (constant time).
 * Thread: any (the key is written once by baton_init before use). */
#ifndef SQLWIRE_BATON_H
#define SQLWIRE_BATON_H
#include <stddef.h>
#include <stdint.h>

#define BATON_TEXT_LEN 64

int baton_init(void); /* random key; 0 or -1 */
/* Writes BATON_TEXT_LEN characters + NUL into out (>= BATON_TEXT_LEN + 1). */
void baton_encode(uint64_t stream_id, uint64_t seq, char *out);
/* 0 and the fields when s[0..n) is a baton this process made, else -1. */
int baton_decode(const char *s, size_t n, uint64_t *stream_id, uint64_t *seq);
uint64_t baton_random64(void);
#endif
