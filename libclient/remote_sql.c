/* remote_sql: the little SQL text handling the remote backend needs without a
 * local schema: splitting off the first statement (sqlite3_complete() on
 * growing prefixes, as the library links stock libsqlite3), the first
 * keyword, and a scan for named parameters. Pure functions; any thread. */
#include "remote_int.h"
#include <ctype.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Skips whitespace and comments from i; returns the new index. */
static size_t rs_skip_space(const char *s, size_t n, size_t i)
{
	for (;;) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
			const char *e = NULL;
			for (size_t k = i + 2; k + 1 < n; k++)
				if (s[k] == '*' && s[k + 1] == '/') {
					e = s + k + 2;
					break;
				}
			i = e ? (size_t)(e - s) : n;
			continue;
		}
		return i;
	}
}

void remote_split_sql(const char *sql, size_t n, struct remote_split *out)
{
	size_t nul = strnlen(sql, n);
	n = nul; /* sqlite3_prepare stops at a NUL too */
	size_t i = 0;
	for (;;) {
		i = rs_skip_space(sql, n, i);
		if (i < n && sql[i] == ';') {
			i++;
			continue;
		}
		break;
	}
	out->lead = i;
	if (i >= n) {
		out->len = 0;
		out->end = n;
		return;
	}
	/* try each ';' in turn; sqlite3_complete needs a NUL-terminated copy */
	char *tmp = malloc(n - i + 1);
	for (size_t k = i; tmp && k < n; k++) {
		if (sql[k] != ';')
			continue;
		memcpy(tmp, sql + i, k + 1 - i);
		tmp[k + 1 - i] = 0;
		if (sqlite3_complete(tmp)) {
			free(tmp);
			out->len = k + 1 - i;
			out->end = k + 1;
			return;
		}
	}
	free(tmp);
	out->len = n - i;
	out->end = n;
}

static bool rs_word(const char *s, size_t n, size_t *i, const char *w)
{
	size_t l = strlen(w);
	if (*i + l > n || strncasecmp(s + *i, w, l) != 0)
		return false;
	if (*i + l < n && (isalnum((unsigned char)s[*i + l]) || s[*i + l] == '_'))
		return false;
	*i += l;
	return true;
}

enum remote_kw remote_keyword(const char *sql, size_t n)
{
	size_t i = rs_skip_space(sql, n, 0);
	if (rs_word(sql, n, &i, "BEGIN"))
		return RKW_BEGIN;
	if (rs_word(sql, n, &i, "COMMIT") || rs_word(sql, n, &i, "END"))
		return RKW_COMMIT;
	if (rs_word(sql, n, &i, "ROLLBACK")) {
		i = rs_skip_space(sql, n, i);
		if (rs_word(sql, n, &i, "TRANSACTION"))
			i = rs_skip_space(sql, n, i);
		return rs_word(sql, n, &i, "TO") ? RKW_ROLLBACK_TO : RKW_ROLLBACK;
	}
	if (rs_word(sql, n, &i, "SAVEPOINT"))
		return RKW_SAVEPOINT;
	if (rs_word(sql, n, &i, "RELEASE"))
		return RKW_RELEASE;
	if (rs_word(sql, n, &i, "INSERT") || rs_word(sql, n, &i, "UPDATE") || rs_word(sql, n, &i, "DELETE") ||
	    rs_word(sql, n, &i, "REPLACE"))
		return RKW_DML;
	return RKW_OTHER;
}

int remote_param_hint(const char *s, size_t n)
{
	int h = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\'' || c == '"' || c == '`' || c == '[') {
			char close = c == '[' ? ']' : c;
			for (i++; i < n && s[i] != close; i++)
				;
			continue; /* a doubled quote just reopens: harmless */
		}
		if ((c == '-' && i + 1 < n && s[i + 1] == '-') || (c == '/' && i + 1 < n && s[i + 1] == '*')) {
			i = rs_skip_space(s, n, i) - 1;
			continue;
		}
		if (c == '?')
			h |= REMOTE_P_POSITIONAL;
		if ((c == ':' || c == '@' || c == '$') && i + 1 < n) {
			unsigned char d = (unsigned char)s[i + 1];
			if (isalnum(d) || d == '_' || d >= 0x80)
				h |= REMOTE_P_NAMED;
		}
	}
	return h;
}

size_t remote_savepoint_name(const char *sql, size_t n, char *out, size_t cap)
{
	size_t i = rs_skip_space(sql, n, 0);
	if (!rs_word(sql, n, &i, "SAVEPOINT")) {
		if (!rs_word(sql, n, &i, "RELEASE"))
			return 0;
		i = rs_skip_space(sql, n, i);
		size_t j = i;
		if (rs_word(sql, n, &j, "SAVEPOINT"))
			i = j;
	}
	i = rs_skip_space(sql, n, i);
	size_t o = 0;
	if (i < n && (sql[i] == '"' || sql[i] == '`' || sql[i] == '[' || sql[i] == '\'')) {
		char close = sql[i] == '[' ? ']' : sql[i];
		for (i++; i < n && sql[i] != close && o + 1 < cap; i++)
			out[o++] = (char)tolower((unsigned char)sql[i]);
	} else {
		for (; i < n && (isalnum((unsigned char)sql[i]) || sql[i] == '_' || (unsigned char)sql[i] >= 0x80) &&
		       o + 1 < cap;
		     i++)
			out[o++] = (char)tolower((unsigned char)sql[i]);
	}
	out[o] = 0;
	return o;
}
