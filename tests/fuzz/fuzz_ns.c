/* libFuzzer target: the namespace and admin decoders that see request bytes
 * (sqld/ns.c, sqld/admin.c). The first byte picks the decoder, the rest is
 * the input:
 *   0  ns_name_from_b64 (x-namespace-bin): a name it accepts must be valid
 *   1  ns_resolve_name with the input split on '\n' into bin, x-namespace,
 *      host: a resolved name must be valid
 *   2  ns_config_parse (admin config / create bodies)
 *   3  admin_authorized against a fixed key
 * None may crash, leak or read out of bounds. */
#include "admin.h"
#include "ns.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	if (n == 0)
		return 0;
	char *s = malloc(n);
	if (!s)
		return 0;
	memcpy(s, data + 1, n - 1);
	s[n - 1] = 0; /* NUL-terminated rest (C strings, as header values are) */
	char out[NS_NAME_MAX + 1];
	struct err e;
	switch (data[0] % 4) {
	case 0:
		if (ns_name_from_b64(s, out, sizeof out) == 0 && !ns_name_valid(out, strlen(out)))
			abort();
		break;
	case 1: {
		char *parts[3] = {NULL, NULL, NULL};
		char *p = s;
		for (int i = 0; i < 3 && p; i++) {
			parts[i] = p;
			p = strchr(p, '\n');
			if (p)
				*p++ = 0;
		}
		for (int flags = 0; flags < 4; flags++)
			if (ns_resolve_name(flags & 1, flags & 2, parts[0][0] ? parts[0] : NULL, parts[1], parts[2], out,
					    &e) == 0 &&
			    !ns_name_valid(out, strlen(out)))
				abort();
		break;
	}
	case 2: {
		struct ns_config c;
		memset(&c, 0, sizeof c);
		ns_config_parse((const char *)data + 1, n - 1, &c, &e);
		if (strnlen(c.block_reason, sizeof c.block_reason) == sizeof c.block_reason)
			abort();
		break;
	}
	default:
		if (admin_authorized("key", s) && !strstr(s, "key"))
			abort();
		break;
	}
	free(s);
	return 0;
}
