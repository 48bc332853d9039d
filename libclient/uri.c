/* uri: options carried by a filename (see uri.h). Parameters we do not own
 * are passed through to SQLite byte for byte, in their order. */
#include "uri.h"
#include "hex.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* percent-decodes z[0..n) into a new string ("+" stays "+", as SQLite does) */
static char *uri_decode(const char *z, size_t n)
{
	char *o = malloc(n + 1);
	if (o)
		hex_pct_decode(z, n, o);
	return o;
}

bool uri_is_url(const char *f)
{
	static const char *const schemes[] = {"ws://", "wss://", "http://", "https://", "libsql://"};
	if (!f)
		return false;
	for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
		if (strncasecmp(f, schemes[i], strlen(schemes[i])) == 0)
			return true;
	return false;
}

void uri_free(struct uri_cfg *c)
{
	free(c->sqlite_name);
	free(c->path);
	free(c->sync_url);
	free(c->auth_token);
	memset(c, 0, sizeof *c);
}

static int uri_num(const char *v, int *out)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (!*v || *end || x < 0 || x > 1000000000)
		return -2;
	*out = (int)x;
	return 0;
}

static int uri_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcasecmp(v, "yes"))
		*out = 1;
	else if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcasecmp(v, "no"))
		*out = 0;
	else
		return -2;
	return 0;
}

/* one of ours? then store its decoded value. Returns 1 (ours), 0 (not), <0 */
static int uri_take(struct uri_cfg *c, const char *k, size_t kn, const char *v, size_t vn)
{
	static const char *const keys[] = {"sync_url",   "auth_token", "sync_interval_ms",
					   "read_your_writes", "follow", "timeout_ms"};
	size_t which = 0, nk = sizeof keys / sizeof *keys;
	for (; which < nk; which++)
		if (strlen(keys[which]) == kn && !memcmp(keys[which], k, kn))
			break;
	if (which == nk)
		return 0;
	char *val = uri_decode(v, vn);
	if (!val)
		return -1;
	int rc = 0;
	switch (which) {
	case 0:
		free(c->sync_url);
		c->sync_url = val;
		val = NULL;
		break;
	case 1:
		free(c->auth_token);
		c->auth_token = val;
		val = NULL;
		break;
	case 2:
		rc = uri_num(val, &c->sync_interval_ms);
		break;
	case 3:
		rc = uri_bool(val, &c->read_your_writes);
		break;
	case 4:
		rc = uri_bool(val, &c->follow);
		break;
	default:
		rc = uri_num(val, &c->timeout_ms);
		break;
	}
	free(val);
	return rc < 0 ? rc : 1;
}

int uri_parse(const char *f, struct uri_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->sync_interval_ms = c->read_your_writes = c->follow = c->timeout_ms = -1;
	if (!f)
		f = "";
	if (strncmp(f, "file:", 5) != 0) {
		c->sqlite_name = strdup(f);
		c->path = strdup(f);
		if (!c->sqlite_name || !c->path) {
			uri_free(c);
			return -1;
		}
		return 0;
	}
	const char *p = f + 5, *q = p + strcspn(p, "?#");
	/* the path: "file:path", "file:///path", "file://localhost/path" */
	const char *ps = p;
	if (ps[0] == '/' && ps[1] == '/') {
		ps += 2;
		while (ps < q && *ps != '/')
			ps++;
	}
	c->path = uri_decode(ps, (size_t)(q - ps));
	size_t flen = strlen(f);
	c->sqlite_name = malloc(flen + 1);
	if (!c->path || !c->sqlite_name) {
		uri_free(c);
		return -1;
	}
	char *o = c->sqlite_name;
	memcpy(o, f, (size_t)(q - f));
	o += q - f;
	const char *frag = q + strcspn(q, "#");
	int kept = 0;
	if (*q == '?') {
		const char *a = q + 1;
		while (a < frag) {
			const char *e = a;
			while (e < frag && *e != '&')
				e++;
			const char *eq = memchr(a, '=', (size_t)(e - a));
			int rc = 0;
			if (eq)
				rc = uri_take(c, a, (size_t)(eq - a), eq + 1, (size_t)(e - eq - 1));
			if (rc < 0) {
				uri_free(c);
				return rc;
			}
			if (rc == 1)
				c->had_params = true;
			else if (e > a) {
				*o++ = kept++ ? '&' : '?';
				memcpy(o, a, (size_t)(e - a));
				o += e - a;
			}
			a = e + (e < frag);
		}
	}
	size_t fl = strlen(frag);
	memcpy(o, frag, fl);
	o[fl] = 0;
	return 0;
}

int uri_url_split(const char *url, char **clean, char **token)
{
	*clean = *token = NULL;
	size_t n = strlen(url);
	char *o = malloc(n + 1);
	if (!o)
		return -1;
	const char *q = url + strcspn(url, "?#"), *frag = q + strcspn(q, "#");
	memcpy(o, url, (size_t)(q - url));
	char *w = o + (q - url);
	int kept = 0;
	if (*q == '?') {
		const char *a = q + 1;
		while (a < frag) {
			const char *e = a;
			while (e < frag && *e != '&')
				e++;
			const char *eq = memchr(a, '=', (size_t)(e - a));
			size_t kn = eq ? (size_t)(eq - a) : 0;
			if (eq && ((kn == 9 && !memcmp(a, "authToken", 9)) || (kn == 10 && !memcmp(a, "auth_token", 10)))) {
				free(*token);
				*token = uri_decode(eq + 1, (size_t)(e - eq - 1));
				if (!*token) {
					free(o);
					return -1;
				}
			} else if (e > a) {
				*w++ = kept++ ? '&' : '?';
				memcpy(w, a, (size_t)(e - a));
				w += e - a;
			}
			a = e + (e < frag);
		}
	}
	strcpy(w, frag);
	*clean = o;
	return 0;
}
