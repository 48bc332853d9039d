/* xport_parse: the pure byte parsers of xport (no I/O, no allocation), kept
 * apart so that they can be fuzzed (tests/fuzz/fuzz_xport.c): the head of an
 * HTTP/1.1 response, a WebSocket frame header (RFC 6455 §5.2, as a client
 * receives it), and the Sec-WebSocket-Accept computation.
 *
 * FORMAT (HTTP response head, RFC 9112)
 *   "HTTP/1." DIGIT SP 3DIGIT [SP reason] CRLF
 *   *( field-name ":" OWS field-value OWS CRLF )
 *   CRLF
 *   A lone LF is accepted where CRLF is due. Header names are matched
 *   case-insensitively; obsolete line folding is an error. The head may not
 *   exceed XP_HEAD_MAX bytes.
 *
 * FORMAT (WebSocket frame header, RFC 6455 §5.2)
 *   byte 0: FIN(0x80) RSV1-3(0x70, must be 0) opcode(0x0f)
 *   byte 1: MASK(0x80) len7(0x7f)
 *   len7 == 126: bytes 2-3 big-endian u16 length; == 127: bytes 2-9
 *   big-endian u64 length (top bit 0); then 4 mask bytes when MASK is set;
 *   then the payload. Control frames (opcode >= 8) have FIN set and at most
 *   125 payload bytes. Opcodes 0 (continuation), 1 (text), 2 (binary),
 *   8 (close), 9 (ping), 10 (pong); others are errors.
 *
 * Threads: pure functions, any thread. */
#ifndef SQLWIRE_XPORT_PARSE_H
#define SQLWIRE_XPORT_PARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XP_HEAD_MAX 65536

struct xp_head {
	int status;             /* 100..999 */
	int minor;              /* HTTP/1.<minor> */
	int64_t content_length; /* -1: none */
	bool chunked;           /* Transfer-Encoding ends in "chunked" */
	bool conn_close;        /* Connection: close (or HTTP/1.0 without keep-alive) */
	bool upgrade_websocket; /* Upgrade: websocket */
	bool conn_upgrade;      /* Connection: ... upgrade ... */
	char accept[64];        /* Sec-WebSocket-Accept ("" when absent) */
	char protocol[64];      /* Sec-WebSocket-Protocol ("" when absent) */
};

/* Parses the response head at p[0..n). Returns the head's length (> 0, the
 * body starts there), 0 when more bytes are needed, or -1 when it is
 * malformed (also when n reaches XP_HEAD_MAX without an end). */
long xp_head_parse(const char *p, size_t n, struct xp_head *h);

enum { XP_OP_CONT = 0, XP_OP_TEXT = 1, XP_OP_BINARY = 2, XP_OP_CLOSE = 8, XP_OP_PING = 9, XP_OP_PONG = 10 };

struct xp_frame {
	bool fin;
	int opcode;
	bool masked;
	uint8_t mask[4];
	uint64_t len; /* payload length */
};

/* Parses a frame header at p[0..n). Returns the header's length (2..14),
 * 0 when more bytes are needed, -1 when it is invalid (RSV bits, unknown
 * opcode, a fragmented or oversized control frame, a 64-bit length with the
 * top bit set). A masked frame is not an error here (the caller decides). */
int xp_frame_parse(const uint8_t *p, size_t n, struct xp_frame *f);

/* Writes a client frame header for a payload of len bytes with the given
 * mask into out (at least 14 bytes); returns its length. */
size_t xp_frame_header(uint8_t *out, int opcode, bool fin, uint64_t len, const uint8_t mask[4]);

/* XORs p[0..n) with the mask, starting at mask byte (off % 4). */
void xp_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);

/* base64(SHA-1(key ++ "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) into out
 * (29 bytes with the NUL). */
void xp_ws_accept(const char *key, char out[32]);
#endif
