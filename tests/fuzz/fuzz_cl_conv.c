/* libFuzzer target: libsqlwire's parsers of untrusted text, built in here
 * because fuzz targets link only proto/: conv (a remote value's text read
 * as a number, which must equal what SQLite itself makes of the same text:
 * a differential check against the system library) and uri (file: URI
 * parameters and URL authToken splitting: no overreads, results no longer
 * than the input, our parameters never left in the name given to SQLite).
 * The first input byte picks the check. */
#include "../../libclient/conv.c"
#include "../../libclient/uri.c"
#include <sqlite3.h>
#include <stdlib.h>

static sqlite3 *db;
static sqlite3_stmt *st;

static void conv_check(const char *p, size_t n, int blob)
{
	if (!db) {
		if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
		    sqlite3_prepare_v2(db, "SELECT ?", -1, &st, NULL) != SQLITE_OK)
			abort();
	}
	if (blob)
		sqlite3_bind_blob(st, 1, p, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 1, p, (int)n, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		abort();
	struct hr_value v = {.type = blob ? HR_BLOB : HR_TEXT, .s = p, .n = n};
	if (conv_int64(&v) != sqlite3_column_int64(st, 0))
		abort();
	double a = conv_double(&v), b = sqlite3_column_double(st, 0);
	/* SQLite's own decimal reader may differ from strtod in the last bit on
	 * long inputs; anything more is a bug */
	if (!(a == b || (isnan(a) && isnan(b)) || fabs(a - b) <= fabs(b) * 4e-16))
		abort();
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	char *cache = NULL;
	int len = 0, nomem = 0;
	const char *t = conv_text(&v, &cache, &len, &nomem);
	if (!t || (size_t)len != n || memcmp(t, p, n) != 0 || t[n] != 0)
		abort();
	free(cache);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	if (n < 1 || n > 4096)
		return 0;
	int which = data[0] % 4;
	const char *p = (const char *)data + 1;
	n--;
	if (which <= 1) {
		/* SQLite stops text at a NUL; so does everything after it */
		if (!which && memchr(p, 0, n))
			n = (size_t)((const char *)memchr(p, 0, n) - p);
		char *copy = malloc(n + 1); /* hr_value texts are NUL-terminated (hrana.h) */
		if (!copy)
			return 0;
		memcpy(copy, p, n);
		copy[n] = 0;
		conv_check(copy, n, which);
		free(copy);
		return 0;
	}
	char *z = malloc(n + 1);
	if (!z)
		return 0;
	memcpy(z, p, n);
	z[n] = 0;
	if (which == 2) {
		struct uri_cfg c;
		if (uri_parse(z, &c) == 0) {
			if (strlen(c.sqlite_name) > strlen(z) || strlen(c.path) > strlen(z))
				abort();
			/* no parameter left for SQLite is one of ours */
			bool uri = strncmp(c.sqlite_name, "file:", 5) == 0;
			const char *q = uri ? c.sqlite_name + 5 + strcspn(c.sqlite_name + 5, "?#") : "";
			const char *end = q + strcspn(q, "#");
			if (uri && *q == '?') {
				for (const char *a = q + 1; a < end;) {
					size_t len = strcspn(a, "&#");
					size_t kl = strcspn(a, "=&#");
					if (kl < len && ((kl == 8 && !memcmp(a, "sync_url", 8)) ||
							 (kl == 10 && !memcmp(a, "auth_token", 10))))
						abort();
					a += len + (a[len] == '&');
				}
			}
			uri_free(&c);
		}
	} else {
		char *clean, *tok;
		if (uri_url_split(z, &clean, &tok) == 0) {
			if (strlen(clean) > strlen(z) || (tok && strlen(tok) > strlen(z)))
				abort();
			free(clean);
			free(tok);
		}
	}
	free(z);
	return 0;
}
