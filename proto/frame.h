/* frame: libSQL's replication frame (PROTOCOL.md §8.1), the unit of the
 * primary's frame log (sqld/rlog), of gRPC `Frame.data` and of replica apply.
 *
 * FORMAT (one frame, FRAME_SIZE = 4120 bytes, every integer little-endian)
 *   off  size  field
 *     0     8  frame_no    global, consecutive from a lineage's start (0 for a new log)
 *     8     8  checksum    crc64_chain(previous frame's checksum, page, 4096)
 *                          (the first frame of a log: the log's start checksum)
 *    16     4  page_no     SQLite page number, >= 1
 *    20     4  size_after  DB size in pages after the commit; != 0 only on the
 *                          last frame of a transaction (the commit frame)
 *    24  4096  page        the page image
 * The checksum covers the page bytes only, not the header (as in libSQL).
 *
 * Pure functions on caller buffers, any thread. */
#ifndef SQLWIRE_FRAME_H
#define SQLWIRE_FRAME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR_SIZE 24
#define FRAME_PAGE_SIZE 4096
#define FRAME_SIZE (FRAME_HDR_SIZE + FRAME_PAGE_SIZE)
enum { FRAME_OFF_NO = 0, FRAME_OFF_CHECKSUM = 8, FRAME_OFF_PAGE_NO = 16, FRAME_OFF_SIZE_AFTER = 20,
       FRAME_OFF_PAGE = 24 };

struct frame_hdr {
	uint64_t frame_no;
	uint64_t checksum;
	uint32_t page_no;
	uint32_t size_after;
};
_Static_assert(sizeof(struct frame_hdr) == FRAME_HDR_SIZE, "frame header is 24 bytes");
_Static_assert(FRAME_OFF_PAGE == FRAME_HDR_SIZE && FRAME_SIZE == 4120, "frame layout");
_Static_assert(FRAME_OFF_SIZE_AFTER + 4 == FRAME_HDR_SIZE, "frame header fields");

/* Little-endian helpers, shared by the on-disk formats built on frames. */
void frame_put_le64(unsigned char *p, uint64_t v);
void frame_put_le32(unsigned char *p, uint32_t v);
uint64_t frame_get_le64(const unsigned char *p);
uint32_t frame_get_le32(const unsigned char *p);

void frame_hdr_encode(unsigned char *out, const struct frame_hdr *h); /* writes 24 bytes */
void frame_hdr_decode(const unsigned char *in, struct frame_hdr *h);  /* reads 24 bytes */

/* Field accessors on an encoded frame. */
uint64_t frame_get_no(const unsigned char *f);
uint64_t frame_get_checksum(const unsigned char *f);
uint32_t frame_get_page_no(const unsigned char *f);
uint32_t frame_get_size_after(const unsigned char *f);
bool frame_is_commit(const unsigned char *f);
void frame_set_size_after(unsigned char *f, uint32_t size_after); /* checksum unaffected */

/* The checksum a frame holding `page` gets after a frame with checksum prev. */
uint64_t frame_checksum(uint64_t prev, const unsigned char *page);

/* Encodes a whole frame into out[FRAME_SIZE] (page may not overlap out) and
 * returns its checksum, the `prev` of the next frame. */
uint64_t frame_encode(unsigned char *out, uint64_t frame_no, uint64_t prev, uint32_t page_no,
		      uint32_t size_after, const unsigned char *page);

/* 0 if f is the frame numbered expect_no that follows a frame whose
 * checksum is prev: right number, page_no >= 1, checksum chain holds.
 * -1 otherwise, with a static reason in *why (may be NULL). */
int frame_verify(const unsigned char *f, uint64_t expect_no, uint64_t prev, const char **why);
#endif
