/* walfmt: SQLite's write-ahead-log file format (sqlite.org walformat.html,
 * fileformat2.html §4; src/wal.c), as read by SQLite's own recovery
 * (walIndexRecover + walDecodeFrame) and as written by walFrames.
 *
 * Both sides use it: sqld's walcap reads the primary's -wal with it, and the
 * replica applier writes frames that SQLite's recovery must accept. Pure
 * functions over byte arrays: no I/O, no allocation, any thread.
 *
 * FORMAT (every field a 32-bit unsigned BIG-ENDIAN integer on disk, whatever
 * the checksum byte order)
 *
 *   WAL header, 32 bytes at file offset 0:
 *     0  magic       0x377f0682 (checksum words little-endian) or
 *                    0x377f0683 (checksum words big-endian): bit 0 selects
 *     4  version     3007000
 *     8  page_size   power of two, 512..65536
 *    12  ckpt_seq    checkpoint sequence number
 *    16  salt1       incremented by one at every WAL restart
 *    20  salt2       fresh random value at every WAL restart
 *    24  cksum1  \   checksum of bytes 0..23 (seeded with 0,0)
 *    28  cksum2  /
 *
 *   Frame i (i = 1, 2, ...) at file offset 32 + (i-1) * (24 + page_size):
 *     0  page_no     1-based page number, never 0
 *     4  db_size     database size in pages after the commit for a COMMIT
 *                    frame, 0 for every other frame
 *     8  salt1   \   copies of the header's salts; a frame whose salts differ
 *    12  salt2   /   belongs to an earlier WAL generation
 *    16  cksum1  \   cumulative checksum: seeded with the previous frame's
 *    20  cksum2  /   (the header's for frame 1), over frame bytes 0..7 then the
 *                    page_size bytes of page data
 *    24  page data (page_size bytes)
 *
 *   Checksum (walChecksumBytes): over n bytes, n a multiple of 8, read as
 *   32-bit words x[0..n/4) in little-endian order if bit 0 of the magic is 0,
 *   big-endian if it is 1 (SQLite writes its native order):
 *       for (k = 0; k < n/4; k += 2) { s0 += x[k] + s1; s1 += x[k+1] + s0; }
 *   with 32-bit wrap-around; the result (s0, s1) is stored big-endian.
 *
 *   Validity, exactly as SQLite's recovery decides it:
 *   - header: magic & ~1 == 0x377f0682, page_size a power of two in
 *     512..65536, checksum matches; otherwise the WAL counts as empty. A valid
 *     header with version != 3007000 makes SQLite refuse to open (CANTOPEN).
 *   - frames are read in order while a whole frame fits in the file; the first
 *     frame whose salts differ from the header's, whose page_no is 0 or whose
 *     checksum does not chain ends the log. Of the frames before it, those up
 *     to and including the LAST commit frame are the log (mxFrame); any after
 *     it belong to no committed transaction and are ignored. */
#ifndef SQLWIRE_WALFMT_H
#define SQLWIRE_WALFMT_H
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WALFMT_MAGIC 0x377f0682u /* | 1: big-endian checksum words */
#define WALFMT_VERSION 3007000u
#define WALFMT_HDR_SIZE 32
#define WALFMT_FRAME_HDR_SIZE 24
#define WALFMT_MIN_PAGE 512u
#define WALFMT_MAX_PAGE 65536u

/* Error codes (negative; 0 is success). */
#define WALFMT_ENOTWAL (-1) /* not a valid WAL header: SQLite treats the WAL as empty */
#define WALFMT_EVERSION (-2) /* valid header, unknown version: SQLite will not open it */

/* The on-disk layouts, only to pin the offsets above (decode with the
 * functions below, never by casting). */
struct walfmt_hdr_disk {
	uint8_t magic[4], version[4], page_size[4], ckpt_seq[4];
	uint8_t salt1[4], salt2[4], cksum1[4], cksum2[4];
};
struct walfmt_frame_disk {
	uint8_t page_no[4], db_size[4], salt1[4], salt2[4], cksum1[4], cksum2[4];
};

/* A running checksum (s0 = checksum-1, s1 = checksum-2). */
struct walfmt_cksum {
	uint32_t s0, s1;
};

/* A decoded header. */
struct walfmt_hdr {
	uint32_t magic, version, page_size, ckpt_seq, salt1, salt2;
	struct walfmt_cksum cksum;
};

/* A decoded frame header. */
struct walfmt_frame {
	uint32_t page_no, db_size, salt1, salt2;
	struct walfmt_cksum cksum;
};

/* Reading (or writing) one WAL generation frame by frame. */
struct walfmt_chain {
	struct walfmt_hdr hdr;
	struct walfmt_cksum ck; /* checksum through frame `nframes` (the header's for 0) */
	uint32_t nframes;       /* frames accepted (or sealed) so far */
};

/* What SQLite's recovery makes of a whole WAL file. */
struct walfmt_scan {
	bool hdr_ok;            /* false: no valid header, the WAL is empty */
	struct walfmt_hdr hdr;  /* when hdr_ok */
	uint32_t nvalid;        /* frames that chain, from frame 1 */
	uint32_t mx_frame;      /* the last commit frame among them (0: none) */
	uint32_t n_page;        /* its db_size: database pages at mx_frame */
	struct walfmt_cksum ck; /* running checksum through mx_frame */
	uint32_t ncommits;      /* commit frames among the nvalid */
};

/* Loads/stores a 32-bit big-endian integer. */
uint32_t walfmt_get32(const uint8_t *p);
void walfmt_put32(uint8_t *p, uint32_t v);

/* Adds n bytes (n a multiple of 8; a shorter tail is ignored) to the running
 * checksum *ck, reading words big-endian if big_endian, else little-endian. */
void walfmt_checksum(bool big_endian, const uint8_t *p, size_t n, struct walfmt_cksum *ck);

/* True if the header's magic selects big-endian checksum words. */
static inline bool walfmt_big_endian(const struct walfmt_hdr *h)
{
	return (h->magic & 1) != 0;
}
/* The size of one frame (header + page) and the file offset of frame i >= 1. */
static inline size_t walfmt_frame_size(uint32_t page_size)
{
	return WALFMT_FRAME_HDR_SIZE + (size_t)page_size;
}
static inline uint64_t walfmt_frame_offset(uint32_t page_size, uint32_t i)
{
	return WALFMT_HDR_SIZE + (uint64_t)(i - 1) * walfmt_frame_size(page_size);
}

/* Decodes and validates the 32-byte header b as recovery does. Returns 0 and
 * fills *h; WALFMT_ENOTWAL if magic, page size or checksum is wrong (the WAL
 * is empty for SQLite); WALFMT_EVERSION if it is valid but not version
 * 3007000 (*h is filled then too). */
int walfmt_hdr_decode(const uint8_t b[WALFMT_HDR_SIZE], struct walfmt_hdr *h, struct err *e);

/* Encodes h into b, computing the checksum from h->magic (byte order),
 * version, page_size, ckpt_seq and the salts; stores it into h->cksum too. */
void walfmt_hdr_encode(struct walfmt_hdr *h, uint8_t b[WALFMT_HDR_SIZE]);

/* Decodes a 24-byte frame header without validating it. */
void walfmt_frame_decode(const uint8_t b[WALFMT_FRAME_HDR_SIZE], struct walfmt_frame *f);

/* Starts a chain at a decoded, valid header (nframes = 0, ck = header's). */
void walfmt_chain_init(struct walfmt_chain *c, const struct walfmt_hdr *h);

/* Validates the next frame: frame = 24 header bytes followed by
 * c->hdr.page_size bytes of page data. If it chains (salts equal the
 * header's, page_no != 0, checksum matches), advances c, fills *f (may be
 * NULL) and returns true; otherwise leaves c unchanged and returns false. */
bool walfmt_chain_next(struct walfmt_chain *c, const uint8_t *frame, struct walfmt_frame *f);

/* The writer's side: fills the 24-byte header out for the next frame
 * carrying page (c->hdr.page_size bytes) as page page_no (!= 0), db_size
 * != 0 for a commit frame, and advances c. */
void walfmt_chain_seal(struct walfmt_chain *c, uint32_t page_no, uint32_t db_size, const uint8_t *page,
		       uint8_t out[WALFMT_FRAME_HDR_SIZE]);

/* Scans a whole WAL file image p[0..n) as SQLite's recovery would (see the
 * FORMAT block). Returns 0 and fills *s (hdr_ok false for an empty or invalid
 * header), or WALFMT_EVERSION (s->hdr filled, nothing scanned). */
int walfmt_scan(const uint8_t *p, size_t n, struct walfmt_scan *s, struct err *e);
#endif
