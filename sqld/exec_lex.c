/* exec_lex: SQL lexing for exec (exec_int.h): skipping whitespace,
 * comments and ';', and the statement classifier (exec_stmt_kind) that
 * decides which statements report changes and a rowid. Pure; any thread. */
#include "exec_int.h"
#include <string.h>
#include <strings.h>

/* ---- SQL lexing: fillers, the statement classifier ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_word(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
	       u == '$' || u >= 0x80;
}

/* Skips whitespace and comments ("--" to end of line, "/" "*" to "*" "/" or to
 * the end), and ';' too when semis. */
const char *exec_skip_filler(const char *p, bool semis)
{
	for (;;) {
		if (is_space(*p) || (semis && *p == ';')) {
			p++;
		} else if (p[0] == '-' && p[1] == '-') {
			p += 2;
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			p += 2;
			while (*p && !(p[0] == '*' && p[1] == '/'))
				p++;
			if (*p)
				p += 2;
		} else {
			return p;
		}
	}
}

/* p is at an opening quote (' " ` [); returns the position after its end. */
static const char *skip_quoted(const char *p)
{
	char close = *p == '[' ? ']' : *p;
	for (p++; *p; p++) {
		if (*p == close) {
			if (close != ']' && p[1] == close) {
				p++; /* doubled quote */
				continue;
			}
			return p + 1;
		}
	}
	return p;
}

static size_t word_len(const char *p)
{
	size_t n = 0;
	while (is_word(p[n]))
		n++;
	return n;
}

static enum exec_kind kind_of_word(const char *p, size_t n)
{
	static const struct {
		const char *kw;
		enum exec_kind kind;
	} kws[] = {
		{"SELECT", EXEC_KIND_SELECT}, {"VALUES", EXEC_KIND_VALUES}, {"INSERT", EXEC_KIND_INSERT},
		{"REPLACE", EXEC_KIND_REPLACE}, {"UPDATE", EXEC_KIND_UPDATE}, {"DELETE", EXEC_KIND_DELETE},
	};
	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
		if (strlen(kws[i].kw) == n && strncasecmp(p, kws[i].kw, n) == 0)
			return kws[i].kind;
	return EXEC_KIND_OTHER;
}

enum exec_kind exec_stmt_kind(const char *sql)
{
	if (!sql)
		return EXEC_KIND_OTHER;
	const char *p = exec_skip_filler(sql, true);
	size_t n = word_len(p);
	if (n == 7 && strncasecmp(p, "EXPLAIN", 7) == 0)
		return EXEC_KIND_EXPLAIN;
	if (!(n == 4 && strncasecmp(p, "WITH", 4) == 0))
		return kind_of_word(p, n);
	/* WITH [RECURSIVE] name [(cols)] AS [[NOT] MATERIALIZED] (select), ... main */
	int depth = 0;
	for (p += n; *p;) {
		const char *q = exec_skip_filler(p, false);
		if (q != p) {
			p = q;
			continue;
		}
		char c = *p;
		if (c == '(') {
			depth++, p++;
		} else if (c == ')') {
			if (depth > 0)
				depth--;
			p++;
		} else if (c == '\'' || c == '"' || c == '`' || c == '[') {
			p = skip_quoted(p);
		} else if (c == ':' || c == '@' || c == '?') {
			p++;
			p += word_len(p); /* a parameter, not a keyword */
		} else if (is_word(c)) {
			n = word_len(p);
			if (depth == 0) {
				enum exec_kind k = kind_of_word(p, n);
				if (k != EXEC_KIND_OTHER)
					return k;
			}
			p += n;
		} else if (c == ';' && depth == 0) {
			break;
		} else {
			p++;
		}
	}
	return EXEC_KIND_OTHER;
}

bool exec_kind_counts_changes(enum exec_kind k)
{
	return k == EXEC_KIND_INSERT || k == EXEC_KIND_REPLACE || k == EXEC_KIND_UPDATE || k == EXEC_KIND_DELETE;
}

bool exec_kind_has_rowid(enum exec_kind k)
{
	return k == EXEC_KIND_INSERT || k == EXEC_KIND_REPLACE;
}
