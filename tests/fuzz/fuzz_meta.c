/* libFuzzer target: libclient/meta.c's position-file decoder (meta_decode)
 * and the UUID parser. Any input is a file image: meta_decode must not crash;
 * when it accepts, the position must obey the slot rules (has_frame and
 * has_pending imply has_log; a pending frame_no above frame_no), and
 * re-encoding the chosen slot must decode to the same position and sequence
 * (the codec round-trips). The first 37 bytes also go to meta_uuid_parse;
 * an accepted UUID must format back to the same text, lower-cased. */
#include "meta.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta_pos p, q;
	uint64_t seq, seq2;
	if (meta_decode(data, size, &p, &seq) == 0 && size > 0) {
		if ((p.has_frame || p.has_pending) && !p.has_log)
			abort();
		if (p.has_pending && p.has_frame && p.pend_frame_no <= p.frame_no)
			abort();
		uint8_t slot[META_SLOT_SIZE];
		meta_encode_slot(slot, &p, seq);
		if (meta_decode(slot, sizeof slot, &q, &seq2) != 0 || seq2 != seq)
			abort();
		if (q.has_log != p.has_log || q.has_frame != p.has_frame || q.has_pending != p.has_pending)
			abort();
		if (p.has_log && memcmp(q.log_id, p.log_id, 16) != 0)
			abort();
		if (p.has_frame && q.frame_no != p.frame_no)
			abort();
		if (p.has_pending && (q.pend_frame_no != p.pend_frame_no || q.pend_wal_frame != p.pend_wal_frame ||
				      q.pend_salt1 != p.pend_salt1 || q.pend_salt2 != p.pend_salt2))
			abort();
	}
	if (size >= 37) {
		char s[37], out[37];
		memcpy(s, data, 36);
		s[36] = 0;
		uint8_t id[16];
		if (meta_uuid_parse(s, id) == 0) {
			meta_uuid_format(id, out);
			for (int i = 0; i < 36; i++)
				if (tolower((unsigned char)s[i]) != out[i])
					abort();
		}
	}
	return 0;
}
