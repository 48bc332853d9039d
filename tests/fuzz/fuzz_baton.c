/* libFuzzer target: baton_decode on arbitrary bytes must never crash and
 * must never accept anything but a baton this process made. */
#include "baton.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static int init;
	if (!init) {
		baton_init();
		init = 1;
	}
	uint64_t id, seq;
	if (baton_decode((const char *)data, n, &id, &seq) == 0) {
		/* only possible for a genuine baton: re-encoding must give the input */
		char b[BATON_TEXT_LEN + 1];
		baton_encode(id, seq, b);
		if (n < BATON_TEXT_LEN || memcmp(b, data, BATON_TEXT_LEN) != 0)
			abort();
	}
	return 0;
}
