/* libFuzzer target: the bincode value decoder. Whatever decodes must encode
 * back to exactly the input bytes (bincode values have one encoding each),
 * and bincode_value_size must agree. */
#include "bincode.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	struct arena a;
	arena_init(&a);
	struct hr_value v;
	int rc = bincode_decode_value(&a, data, n, &v, NULL);
	if (rc == 0) {
		struct buf b;
		buf_init(&b);
		bincode_encode_value(&b, &v);
		if (b.len != n || bincode_value_size(&v) != n || memcmp(b.p, data, n) != 0)
			abort();
		if (v.type == HR_TEXT && !hr_utf8_valid(v.s, v.n))
			abort();
		if ((v.type == HR_TEXT || v.type == HR_BLOB) && v.s[v.n] != 0)
			abort();
		buf_free(&b);
	} else if (rc != BINCODE_E_TRUNCATED && rc != BINCODE_E_TAG && rc != BINCODE_E_UTF8 &&
		   rc != BINCODE_E_TRAILING) {
		abort();
	}
	arena_free(&a);
	return 0;
}
