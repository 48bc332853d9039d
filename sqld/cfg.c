/* cfg: see cfg.h. */
#include "cfg.h"
#include "log.h"
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum cfg_kind { CFG_STR, CFG_ADDR, CFG_SIZE, CFG_INT, CFG_SYNC, CFG_LOG, CFG_BOOL, CFG_COUNT, CFG_ADMIN_ADDR, CFG_LOGFMT };

struct cfg_opt {
	const char *flag, *alias, *env;
	enum cfg_kind kind;
	size_t off;
	const char *help;
};

#define O(f) offsetof(struct cfg, f)
static const struct cfg_opt cfg_opts[] = {
	{"--db-path", "-d", "SQLD_DB_PATH", CFG_STR, O(db_path), "database directory (default data.sqld)"},
	{"--http-listen-addr", NULL, "SQLD_HTTP_LISTEN_ADDR", CFG_ADDR, 0, "HOST:PORT to serve (default 127.0.0.1:8080; port 0 picks one)"},
	{"--http-self-url", NULL, "SQLD_HTTP_SELF_URL", CFG_STR, O(self_url), "URL returned to clients as Hrana base_url"},
	{"--max-response-size", NULL, "SQLD_MAX_RESPONSE_SIZE", CFG_SIZE, O(max_response_size), "largest response (default 10MB)"},
	{"--max-total-response-size", NULL, "SQLD_MAX_TOTAL_RESPONSE_SIZE", CFG_SIZE, O(max_total_response_size), "all in-flight responses together (default 32MB)"},
	{"--max-concurrent-connections", NULL, "SQLD_MAX_CONCURRENT_CONNECTIONS", CFG_INT, O(max_conns), "open client connections (default 128)"},
	{"--max-concurrent-requests", NULL, "SQLD_MAX_CONCURRENT_REQUESTS", CFG_INT, O(max_reqs), "requests executing at once (default 128)"},
	{"--max-body-size", NULL, "SQLD_MAX_BODY_SIZE", CFG_SIZE, O(max_body_size), "largest request body or WebSocket message (default 32MB)"},
	{"--synchronous", NULL, "SQLD_SYNCHRONOUS", CFG_SYNC, O(sync_normal), "full (default: acknowledged writes survive power loss) or normal"},
	{"--workers", NULL, "SQLD_WORKERS", CFG_INT, O(workers), "SQLite worker threads (default 32)"},
	{"--txn-timeout-s", NULL, "SQLD_TXN_TIMEOUT_S", CFG_INT, O(txn_timeout_s), "write lock held this long while others wait is stolen (default 5)"},
	{"--stream-idle-timeout-s", NULL, "SQLD_STREAM_IDLE_TIMEOUT_S", CFG_INT, O(stream_idle_s), "idle HTTP streams expire (default 10)"},
	{"--shutdown-timeout-s", NULL, "SQLD_SHUTDOWN_TIMEOUT_S", CFG_INT, O(shutdown_timeout_s), "bound on finishing in-flight work at exit (default 10)"},
	{"--log-level", NULL, "SQLD_LOG_LEVEL", CFG_LOG, O(log_level), "error, warn, info (default) or debug"},
	{"--max-log-size", NULL, "SQLD_MAX_LOG_SIZE", CFG_COUNT, O(max_log_size_mb), "compact the frame log past this many MB (default 200)"},
	{"--max-log-duration", NULL, "SQLD_MAX_LOG_DURATION", CFG_INT, O(max_log_duration_s), "compact the frame log once it is this many seconds old"},
	{"--checkpoint-interval-s", NULL, "SQLD_CHECKPOINT_INTERVAL_S", CFG_INT, O(checkpoint_interval_s), "checkpoint the WAL this often (default: by WAL size)"},
	{"--auth-jwt-key-file", NULL, "SQLD_AUTH_JWT_KEY_FILE", CFG_STR, O(auth_jwt_key_file), "Ed25519 public key(s) for JWTs: PEM or raw base64url"},
	{"--auth-jwt-key", NULL, "SQLD_AUTH_JWT_KEY", CFG_STR, O(auth_jwt_key), "the JWT public key itself (instead of a file)"},
	{"--http-auth", NULL, "SQLD_HTTP_AUTH", CFG_STR, O(http_auth), "basic:<base64 of user:password> accepts HTTP Basic"},
	{"--https-cert-file", NULL, "SQLD_HTTPS_CERT_FILE", CFG_STR, O(https_cert_file), "PEM certificate chain: serve https:// and wss://"},
	{"--https-key-file", NULL, "SQLD_HTTPS_KEY_FILE", CFG_STR, O(https_key_file), "PEM private key of --https-cert-file"},
	{"--enable-namespaces", NULL, "SQLD_ENABLE_NAMESPACES", CFG_BOOL, O(enable_namespaces), "serve many databases, chosen by x-namespace-bin, x-namespace or the Host label"},
	{"--disable-default-namespace", NULL, "SQLD_DISABLE_DEFAULT_NAMESPACE", CFG_BOOL, O(disable_default_ns), "no fallback to namespace \"default\""},
	{"--admin-listen-addr", NULL, "SQLD_ADMIN_LISTEN_ADDR", CFG_ADMIN_ADDR, 0, "HOST:PORT of the admin API and /metrics (default off; port 0 picks one)"},
	{"--admin-auth-key", NULL, "LIBSQL_ADMIN_AUTH_KEY", CFG_STR, O(admin_auth_key), "admin requests need Authorization: Basic|Bearer KEY"},
	{"--enable-metrics-on-user-port", NULL, "SQLD_ENABLE_METRICS_ON_USER_PORT", CFG_BOOL, O(metrics_on_user_port), "also serve GET /metrics on the user port"},
	{"--log-format", NULL, "SQLD_LOG_FORMAT", CFG_LOGFMT, O(log_format), "text (default) or json (one object per line)"},
	{"--help", "-h", NULL, CFG_BOOL, O(help), "print this help"},
	{"--version", "-V", NULL, CFG_BOOL, O(version), "print the version"},
};
#define CFG_NOPTS (sizeof cfg_opts / sizeof cfg_opts[0])

const char *cfg_usage(void)
{
	static char text[4096];
	size_t n = (size_t)snprintf(text, sizeof text, "usage: sqld [flags]   (each flag also from its environment variable)\n");
	for (size_t i = 0; i < CFG_NOPTS && n < sizeof text; i++) {
		const struct cfg_opt *o = &cfg_opts[i];
		char name[64];
		snprintf(name, sizeof name, "%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->flag);
		n += (size_t)snprintf(text + n, sizeof text - n, "  %-32s %s%s%s%s\n", name, o->help,
				      o->env ? " [" : "", o->env ? o->env : "", o->env ? "]" : "");
	}
	return text;
}

static int cfg_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	static const struct {
		const char *sfx;
		unsigned long long mul;
	} units[] = {{"", 1}, {"B", 1}, {"KB", 1000}, {"K", 1000}, {"KiB", 1024}, {"MB", 1000000}, {"M", 1000000},
		     {"MiB", 1 << 20}, {"GB", 1000000000}, {"G", 1000000000}, {"GiB", 1 << 30}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcasecmp(end, units[i].sfx) == 0) {
			if (v > SIZE_MAX / units[i].mul)
				return -1;
			*out = (size_t)(v * units[i].mul);
			return 0;
		}
	return -1;
}

static int cfg_set(struct cfg *c, const struct cfg_opt *o, const char *v, const char *from, struct err *e)
{
	char *base = (char *)c;
	switch (o->kind) {
	case CFG_STR:
		if (!*v)
			return err_set(e, "%s: empty value", from);
		*(const char **)(base + o->off) = v;
		return 0;
	case CFG_ADMIN_ADDR:
	case CFG_ADDR: {
		char *host = o->kind == CFG_ADDR ? c->listen_host : c->admin_host;
		const char *colon = strrchr(v, ':');
		if (!colon || colon == v || (size_t)(colon - v) >= sizeof c->listen_host)
			return err_set(e, "%s: expected HOST:PORT, got '%s'", from, v);
		char *end;
		errno = 0;
		long port = strtol(colon + 1, &end, 10);
		if (errno || !colon[1] || *end || port < 0 || port > 65535)
			return err_set(e, "%s: bad port in '%s'", from, v);
		const char *h = v;
		size_t hl = (size_t)(colon - v);
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
			h++, hl -= 2;
		memcpy(host, h, hl);
		host[hl] = 0;
		if (o->kind == CFG_ADDR) {
			c->listen_port = (int)port;
		} else {
			c->admin_port = (int)port;
			c->admin_on = true;
		}
		return 0;
	}
	case CFG_SIZE:
		if (cfg_size(v, (size_t *)(base + o->off)) || *(size_t *)(base + o->off) == 0)
			return err_set(e, "%s: expected a positive size like 10MB, got '%s'", from, v);
		return 0;
	case CFG_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || !*v || *end || n <= 0 || n > 1000000)
			return err_set(e, "%s: expected a positive integer, got '%s'", from, v);
		*(int *)(base + o->off) = (int)n;
		return 0;
	}
	case CFG_SYNC:
		if (strcasecmp(v, "full") == 0)
			c->sync_normal = false;
		else if (strcasecmp(v, "normal") == 0)
			c->sync_normal = true;
		else
			return err_set(e, "%s: expected full or normal, got '%s'", from, v);
		return 0;
	case CFG_LOG: {
		int lv = log_level_parse(v);
		if (lv < 0)
			return err_set(e, "%s: expected error, warn, info or debug, got '%s'", from, v);
		c->log_level = lv;
		return 0;
	}
	case CFG_BOOL: /* "" from the command line; 0/false from the environment turns it off */
		*(bool *)(base + o->off) = !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0);
		return 0;
	case CFG_LOGFMT:
		if (strcasecmp(v, "text") == 0)
			c->log_format = LOG_FMT_TEXT;
		else if (strcasecmp(v, "json") == 0)
			c->log_format = LOG_FMT_JSON;
		else
			return err_set(e, "%s: expected text or json, got '%s'", from, v);
		return 0;
	case CFG_COUNT: {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (errno || !*v || *end || n == 0 || n > 1000000000ull || !isdigit((unsigned char)*v))
			return err_set(e, "%s: expected a positive number, got '%s'", from, v);
		*(size_t *)(base + o->off) = (size_t)n;
		return 0;
	}
	}
	return -1;
}

int cfg_parse(struct cfg *c, int argc, char **argv, struct err *e)
{
	memset(c, 0, sizeof *c);
	c->db_path = "data.sqld";
	strcpy(c->listen_host, "127.0.0.1");
	c->listen_port = 8080;
	c->max_response_size = 10u * 1000 * 1000;
	c->max_total_response_size = 32u * 1000 * 1000;
	c->max_conns = 128;
	c->max_reqs = 128;
	c->max_body_size = 32u * 1000 * 1000;
	c->workers = 32;
	c->txn_timeout_s = 5;
	c->stream_idle_s = 10;
	c->shutdown_timeout_s = 10;
	c->log_level = LOG_INFO;
	c->max_log_size_mb = 200;
	for (size_t i = 0; i < CFG_NOPTS; i++) {
		const char *v = cfg_opts[i].env ? getenv(cfg_opts[i].env) : NULL;
		if (v && cfg_set(c, &cfg_opts[i], v, cfg_opts[i].env, e))
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		const struct cfg_opt *o = NULL;
		for (size_t k = 0; k < CFG_NOPTS && !o; k++)
			if ((strlen(cfg_opts[k].flag) == nl && strncmp(a, cfg_opts[k].flag, nl) == 0) ||
			    (cfg_opts[k].alias && strlen(cfg_opts[k].alias) == nl && strncmp(a, cfg_opts[k].alias, nl) == 0))
				o = &cfg_opts[k];
		if (!o)
			return err_set(e, "unknown argument '%s' (see sqld --help)", a);
		const char *v;
		if (o->kind == CFG_BOOL) {
			if (eq)
				return err_set(e, "%s takes no value", o->flag);
			v = "";
		} else if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			return err_set(e, "%s needs a value", o->flag);
		}
		if (cfg_set(c, o, v, o->flag, e))
			return -1;
	}
	if (!c->https_cert_file != !c->https_key_file)
		return err_set(e, "--https-cert-file and --https-key-file go together");
	if (c->auth_jwt_key_file && c->auth_jwt_key)
		return err_set(e, "give the JWT key either as a file or inline, not both");
	return 0;
}
