/* meta: the durable position of an embedded replica, in a small file beside
 * it (<db>-sqlwire-pos): the lineage (log_id) and the libSQL frame_no of the
 * last transaction applied, never ahead of what the replica holds.
 *
 * Invariant kept with sync.c: the position is stored while SQLite's WAL write
 * lock is held (apply_begin .. apply_end), so two processes syncing one file
 * read and write it in turn. Before a transaction is written to the -wal a
 * PENDING record names it (its commit frame_no, and the WAL generation salts
 * and frame index its commit frame will have); after publishing, the record
 * becomes the position. After a crash the next applier resolves a pending
 * record from the wal-index (meta_resolve): the transaction is applied
 * exactly when the same WAL generation's mxFrame reaches its commit frame.
 * If the generation changed (a checkpoint restarted the WAL since), the
 * answer is unknown and the transaction is fetched and applied again, which
 * full page images make harmless. So at most one transaction is ever
 * unaccounted for, and it is replayed, never skipped.
 *
 * FORMAT: the file holds two 80-byte slots (offsets 0 and 80), written
 * alternately; a reader takes the valid slot with the higher sequence number
 * (a torn write spoils at most the slot being written). Little-endian:
 *   off size field
 *     0    8 magic "SQLWPOS\0"
 *     8    4 version = 1
 *    12    4 flags: bit 0 has_log, bit 1 has_frame, bit 2 has_pending
 *    16    8 seq (incremented by every store)
 *    24   16 log_id (UUID, binary, big-endian byte order as printed)
 *    40    8 frame_no       last applied commit frame_no (when has_frame)
 *    48    8 pend_frame_no  commit frame_no of the pending transaction
 *    56    4 pend_salt1  \  WAL generation of its commit frame
 *    60    4 pend_salt2  /
 *    64    4 pend_wal_frame WAL frame index of its commit frame
 *    68    4 reserved = 0
 *    72    8 crc64 (CRC-64/GO-ISO, proto/crc64.h) of bytes 0..71
 * A slot is valid when magic, version and crc match, no unknown flag is
 * set, has_frame and has_pending imply has_log, and a pending frame_no is
 * above frame_no.
 *
 * Threads: one struct meta per thread at a time; the decoders are pure. */
#ifndef SQLWIRE_META_H
#define SQLWIRE_META_H
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_SLOT_SIZE 80
#define META_FILE_SIZE (2 * META_SLOT_SIZE)

#define META_E_IO (-1)      /* cannot open, read or write the file */
#define META_E_CORRUPT (-2) /* the file has bytes but no valid slot */

struct meta_pos {
	bool has_log;
	uint8_t log_id[16];
	bool has_frame;
	uint64_t frame_no;
	bool has_pending;
	uint64_t pend_frame_no;
	uint32_t pend_salt1, pend_salt2, pend_wal_frame;
};

struct meta;

/* Opens (creating) db_path + "-sqlwire-pos". */
int meta_open(const char *db_path, struct meta **out, struct err *e);
void meta_close(struct meta *m); /* accepts NULL */
/* Reads the file: 0 and *p (all false for an empty or missing file),
 * META_E_CORRUPT, or META_E_IO. */
int meta_load(struct meta *m, struct meta_pos *p, struct err *e);
/* Writes p into the slot after the last one loaded or stored. With sync,
 * fsyncs the file. */
int meta_store(struct meta *m, const struct meta_pos *p, bool sync, struct err *e);
int meta_sync(struct meta *m, struct err *e);

/* Resolves a pending record against the live wal-index (salts, mx_frame):
 * clears it, and advances frame_no when the transaction is visible. Returns
 * true when p changed. */
bool meta_resolve(struct meta_pos *p, uint32_t salt1, uint32_t salt2, uint32_t mx_frame);

/* Pure codec (the fuzz target drives these). meta_decode takes a whole file
 * image p[0..n): 0 and *out (*seq = its slot's sequence; empty for n == 0),
 * or META_E_CORRUPT. */
int meta_decode(const uint8_t *p, size_t n, struct meta_pos *out, uint64_t *seq);
void meta_encode_slot(uint8_t out[META_SLOT_SIZE], const struct meta_pos *p, uint64_t seq);

/* UUID text (8-4-4-4-12 hex, either case) <-> 16 bytes; parse returns 0/-1. */
int meta_uuid_parse(const char *s, uint8_t out[16]);
void meta_uuid_format(const uint8_t id[16], char out[37]);
#endif
