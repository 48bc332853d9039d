/* log: see log.h. One fprintf per line, so lines from threads do not mix.
 *
 * FORMAT of a JSON line (log_format == LOG_FMT_JSON):
 *   {"ts":"2026-01-02T03:04:05.678Z","level":"info","target":"sqld","msg":"..."}\n
 * msg is escaped as JSON: '"' and '\' backslashed, control characters as
 * \n, \r, \t or \u00XX; other bytes pass through unchanged. */
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

int log_level = LOG_INFO;
int log_format = LOG_FMT_TEXT;
static const char *const log_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

/* JSON string body of s into out (always terminated; truncates). */
static void log_json_escape(const char *s, char *out, size_t cap)
{
	size_t k = 0;
	for (; *s && k + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[k++] = '\\';
			out[k++] = (char)c;
		} else if (c == '\n') {
			out[k++] = '\\', out[k++] = 'n';
		} else if (c == '\r') {
			out[k++] = '\\', out[k++] = 'r';
		} else if (c == '\t') {
			out[k++] = '\\', out[k++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			k += (size_t)snprintf(out + k, cap - k, "\\u%04x", c);
		} else {
			out[k++] = (char)c;
		}
	}
	out[k] = 0;
}

void log_msg(int level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[80];
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (log_format == LOG_FMT_JSON) {
		char esc[6 * sizeof line + 8];
		log_json_escape(line, esc, sizeof esc);
		fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"target\":\"sqld\",\"msg\":\"%s\"}\n", when,
			log_names[level], esc);
		return;
	}
	fprintf(stderr, "%s %-5s sqld: %s\n", when, log_names[level], line);
}
