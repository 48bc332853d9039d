/* libFuzzer target: the chunked-body decoder, fed whole and byte by byte;
 * both ways must agree. */
#include "chunked.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	struct chunked a, b;
	struct buf oa, ob;
	buf_init(&oa);
	buf_init(&ob);
	chunked_init(&a);
	chunked_init(&b);
	size_t used = 0;
	int ra = chunked_feed(&a, (const char *)data, n, &oa, &used);
	int rb = 0;
	for (size_t i = 0; i < n && rb == 0; i++) {
		size_t u;
		rb = chunked_feed(&b, (const char *)data + i, 1, &ob, &u);
	}
	if (ra != rb || (ra == 1 && (oa.len != ob.len || (oa.len && memcmp(oa.p, ob.p, oa.len) != 0))))
		abort();
	buf_free(&oa);
	buf_free(&ob);
	return 0;
}
