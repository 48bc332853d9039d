/* libFuzzer target: the client-side Hrana JSON decoders (server messages,
 * pipeline responses, error bodies) on arbitrary bytes. A server message
 * that decodes is written again with sqld's encoder and must decode again to
 * the same shape. */
#include "hjson.h"
#include "hjson_client.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	struct arena a;
	arena_init(&a);
	struct err e;
	struct hr_server_msg m;
	if (hjson_client_decode_server_msg(&a, (const char *)data, n, &m, &e) == 0) {
		struct buf b;
		buf_init(&b);
		hjson_encode_server_msg(&b, &m);
		struct hr_server_msg m2;
		if (hjson_client_decode_server_msg(&a, b.p, b.len, &m2, &e) != 0 || m2.type != m.type ||
		    m2.request_id != m.request_id)
			abort();
		if (m.type == HR_SMSG_RESPONSE_OK && m.resp.type == HR_REQ_EXECUTE &&
		    (m2.resp.stmt_result->nrows != m.resp.stmt_result->nrows ||
		     m2.resp.stmt_result->ncols != m.resp.stmt_result->ncols))
			abort();
		buf_free(&b);
	}
	struct hr_pipeline_resp p;
	hjson_client_decode_pipeline_resp(&a, (const char *)data, n, &p, &e);
	struct hr_error er;
	hjson_client_decode_error(&a, (const char *)data, n, &er, &e);
	arena_free(&a);
	return 0;
}
