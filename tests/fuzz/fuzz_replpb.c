/* libFuzzer target: every replpb decoder (requests the server receives and
 * responses the client receives) on the same arbitrary bytes. What decodes
 * must re-encode, decode again, and re-encode to the same bytes (encoding is
 * deterministic, so decode . encode is a fixed point after one round). */
#include "replpb.h"
#include <stdlib.h>
#include <string.h>

#define ROUND_TRIP(T, dec, enc_stmt)                                                   \
	do {                                                                           \
		T m1, m2;                                                              \
		int rc = dec(&a, data, n, &m1, NULL);                                  \
		if (rc != 0 && rc != REPLPB_E_WIRE && rc != REPLPB_E_INVALID)          \
			abort();                                                       \
		if (rc == 0) {                                                         \
			struct buf b1, b2;                                             \
			buf_init(&b1);                                                 \
			buf_init(&b2);                                                 \
			T *m = &m1;                                                    \
			struct buf *b = &b1;                                           \
			enc_stmt;                                                      \
			if (dec(&a, b1.p, b1.len, &m2, NULL) != 0)                     \
				abort();                                               \
			m = &m2;                                                       \
			b = &b2;                                                       \
			enc_stmt;                                                      \
			if (b1.len != b2.len || (b1.len && memcmp(b1.p, b2.p, b1.len))) \
				abort();                                               \
			buf_free(&b1);                                                 \
			buf_free(&b2);                                                 \
		}                                                                      \
	} while (0)

static void must(int rc)
{
	if (rc != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	struct arena a;
	arena_init(&a);
	/* server side: requests */
	ROUND_TRIP(struct replpb_hello_req, replpb_decode_hello_req, replpb_encode_hello_req(b, m));
	ROUND_TRIP(struct replpb_log_offset, replpb_decode_log_offset,
		   replpb_encode_log_offset(b, m));
	ROUND_TRIP(struct replpb_program_req, replpb_decode_program_req,
		   must(replpb_encode_program_req(b, m, NULL)));
	ROUND_TRIP(struct replpb_describe_req, replpb_decode_describe_req,
		   replpb_encode_describe_req(b, m));
	ROUND_TRIP(struct replpb_disconnect, replpb_decode_disconnect,
		   replpb_encode_disconnect(b, m));
	/* client side: responses */
	ROUND_TRIP(struct replpb_hello_resp, replpb_decode_hello_resp,
		   replpb_encode_hello_resp(b, m));
	ROUND_TRIP(struct replpb_frame, replpb_decode_frame, replpb_encode_frame(b, m));
	ROUND_TRIP(struct replpb_frames, replpb_decode_frames, replpb_encode_frames(b, m));
	ROUND_TRIP(struct replpb_execute_results, replpb_decode_execute_results,
		   replpb_encode_execute_results(b, m));
	ROUND_TRIP(struct replpb_describe_result, replpb_decode_describe_result,
		   replpb_encode_describe_result(b, m));
	arena_free(&a);
	return 0;
}
