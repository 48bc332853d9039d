/* log: leveled log lines on stderr, "TS LEVEL sqld: message", or JSON lines
 * (log_format). Any thread. */
#ifndef SQLWIRE_LOG_H
#define SQLWIRE_LOG_H
enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum { LOG_FMT_TEXT = 0, LOG_FMT_JSON };
extern int log_level;
/* LOG_FMT_JSON: one JSON object per line, {"ts":"<RFC 3339 UTC>","level":"info",
 * "target":"sqld","msg":"..."}, for log collectors. Set once at start. */
extern int log_format;
int log_level_parse(const char *s); /* -1 if unknown */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) (log_level >= LOG_DEBUG ? log_msg(LOG_DEBUG, __VA_ARGS__) : (void)0)
#endif
