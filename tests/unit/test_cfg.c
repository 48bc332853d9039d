/* Unit tests for sqld/cfg.c: defaults, flags, env, errors. */
#include "cfg.h"
#include "log.h"
#include "t.h"
#include <stdlib.h>

static int parse(struct cfg *c, int argc, const char **argv, struct err *e)
{
	return cfg_parse(c, argc, (char **)argv, e);
}

static void defaults(void)
{
	struct cfg c;
	struct err e;
	const char *argv[] = {"sqld"};
	CHECK(parse(&c, 1, argv, &e) == 0);
	CHECK_STR(c.db_path, "data.sqld");
	CHECK_STR(c.listen_host, "127.0.0.1");
	CHECK(c.listen_port == 8080);
	CHECK(c.max_response_size == 10000000);
	CHECK(c.max_conns == 128 && c.max_reqs == 128);
	CHECK(!c.sync_normal);
	CHECK(c.self_url == NULL);
}

static void flags(void)
{
	struct cfg c;
	struct err e;
	const char *argv[] = {"sqld", "-d", "x", "--http-listen-addr=0.0.0.0:0", "--max-response-size", "1MB",
			      "--synchronous", "normal", "--http-self-url", "http://h:1", "--max-concurrent-requests", "3"};
	CHECK(parse(&c, 12, argv, &e) == 0);
	CHECK_STR(c.db_path, "x");
	CHECK_STR(c.listen_host, "0.0.0.0");
	CHECK(c.listen_port == 0);
	CHECK(c.max_response_size == 1000000);
	CHECK(c.sync_normal);
	CHECK_STR(c.self_url, "http://h:1");
	CHECK(c.max_reqs == 3);
	const char *v6[] = {"sqld", "--http-listen-addr", "[::1]:9"};
	CHECK(parse(&c, 3, v6, &e) == 0);
	CHECK_STR(c.listen_host, "::1");
	CHECK(c.listen_port == 9);
}

static void env(void)
{
	struct cfg c;
	struct err e;
	setenv("SQLD_DB_PATH", "fromenv", 1);
	setenv("SQLD_MAX_CONCURRENT_CONNECTIONS", "7", 1);
	const char *argv[] = {"sqld"};
	CHECK(parse(&c, 1, argv, &e) == 0);
	CHECK_STR(c.db_path, "fromenv");
	CHECK(c.max_conns == 7);
	const char *argv2[] = {"sqld", "--db-path", "flag"};
	CHECK(parse(&c, 3, argv2, &e) == 0);
	CHECK_STR(c.db_path, "flag"); /* the flag wins */
	setenv("SQLD_MAX_CONCURRENT_CONNECTIONS", "seven", 1);
	CHECK(parse(&c, 1, argv, &e) != 0);
	unsetenv("SQLD_DB_PATH");
	unsetenv("SQLD_MAX_CONCURRENT_CONNECTIONS");
}

static void errors(void)
{
	struct cfg c;
	struct err e;
	const char *bad[][3] = {
		{"sqld", "--bogus", NULL},         {"sqld", "--http-listen-addr", "nope"},
		{"sqld", "--http-listen-addr", "1.2.3.4:99999"}, {"sqld", "--max-response-size", "lots"},
		{"sqld", "--max-concurrent-requests", "0"},      {"sqld", "--synchronous", "off"},
		{"sqld", "--db-path", NULL},       {"sqld", "--help=1", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int argc = bad[i][2] ? 3 : 2;
		e.msg[0] = 0;
		CHECK(parse(&c, argc, bad[i], &e) != 0);
		CHECK(e.msg[0] != 0);
	}
}

/* issue 5: namespaces, admin listener, metrics, log format */
static void ns_admin_flags(void)
{
	struct cfg c;
	struct err e;
	const char *none[] = {"sqld"};
	CHECK(parse(&c, 1, none, &e) == 0);
	CHECK(!c.enable_namespaces && !c.disable_default_ns && !c.admin_on && !c.metrics_on_user_port);
	CHECK(c.admin_auth_key == NULL && c.log_format == LOG_FMT_TEXT);
	const char *argv[] = {"sqld", "--enable-namespaces", "--disable-default-namespace", "--admin-listen-addr",
			      "127.0.0.1:0", "--admin-auth-key", "k", "--enable-metrics-on-user-port", "--log-format", "json"};
	CHECK(parse(&c, 10, argv, &e) == 0);
	CHECK(c.enable_namespaces && c.disable_default_ns && c.metrics_on_user_port);
	CHECK(c.admin_on && c.admin_port == 0);
	CHECK_STR(c.admin_host, "127.0.0.1");
	CHECK_STR(c.listen_host, "127.0.0.1"); /* the user port is untouched */
	CHECK(c.listen_port == 8080);
	CHECK_STR(c.admin_auth_key, "k");
	CHECK(c.log_format == LOG_FMT_JSON);
	const char *bad[] = {"sqld", "--log-format", "xml"};
	CHECK(parse(&c, 3, bad, &e) != 0);
	const char *badaddr[] = {"sqld", "--admin-listen-addr", "nocolon"};
	CHECK(parse(&c, 3, badaddr, &e) != 0);
	const char *val[] = {"sqld", "--enable-namespaces=1"};
	CHECK(parse(&c, 2, val, &e) != 0); /* a switch takes no value */
	setenv("SQLD_ENABLE_NAMESPACES", "1", 1);
	setenv("SQLD_ADMIN_LISTEN_ADDR", "[::1]:9090", 1);
	setenv("LIBSQL_ADMIN_AUTH_KEY", "envkey", 1);
	CHECK(parse(&c, 1, none, &e) == 0);
	CHECK(c.enable_namespaces && c.admin_on && c.admin_port == 9090);
	CHECK_STR(c.admin_host, "::1");
	CHECK_STR(c.admin_auth_key, "envkey");
	setenv("SQLD_ENABLE_NAMESPACES", "false", 1);
	CHECK(parse(&c, 1, none, &e) == 0);
	CHECK(!c.enable_namespaces);
	unsetenv("SQLD_ENABLE_NAMESPACES");
	unsetenv("SQLD_ADMIN_LISTEN_ADDR");
	unsetenv("LIBSQL_ADMIN_AUTH_KEY");
}

int main(void)
{
	T_RUN(defaults);
	T_RUN(flags);
	T_RUN(env);
	T_RUN(errors);
	T_RUN(ns_admin_flags);
	return T_DONE();
}
