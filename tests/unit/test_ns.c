/* Unit tests for sqld/ns.c: namespace names (the directory-safety rule),
 * x-namespace-bin decoding, the resolution order of PROTOCOL.md §6.3, and
 * the registry on a temp dir (create, fork, delete, config, references). */
#include "cfg.h"
#include "db.h"
#include "ns.h"
#include "buf.h"
#include "log.h"
#include "t.h"
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bool valid(const char *s)
{
	return ns_name_valid(s, strlen(s));
}

static void names(void)
{
	CHECK(valid("default"));
	CHECK(valid("a"));
	CHECK(valid("tenant-1_B"));
	CHECK(valid("127"));
	CHECK(!valid(""));
	CHECK(!valid("."));
	CHECK(!valid(".."));
	CHECK(!valid("a/b"));
	CHECK(!valid("../etc"));
	CHECK(!valid("a.b"));
	CHECK(!valid("a b"));
	CHECK(!valid("%2e%2e"));
	CHECK(!valid("caf\xc3\xa9"));
	CHECK(!ns_name_valid("ab\0c", 4)); /* an embedded NUL */
	char longname[NS_NAME_MAX + 2];
	memset(longname, 'x', sizeof longname);
	longname[NS_NAME_MAX] = 0;
	CHECK(valid(longname));
	longname[NS_NAME_MAX] = 'x';
	longname[NS_NAME_MAX + 1] = 0;
	CHECK(!valid(longname));
}

static void b64(void)
{
	char out[NS_NAME_MAX + 1];
	CHECK(ns_name_from_b64("MTI3", out, sizeof out) == 0);
	CHECK_STR(out, "127");
	CHECK(ns_name_from_b64("ZGVmYXVsdA", out, sizeof out) == 0); /* unpadded */
	CHECK_STR(out, "default");
	CHECK(ns_name_from_b64("ZGVmYXVsdA==", out, sizeof out) == 0); /* padded */
	CHECK_STR(out, "default");
	CHECK(ns_name_from_b64("", out, sizeof out) != 0);          /* empty name */
	CHECK(ns_name_from_b64("Li4", out, sizeof out) != 0);       /* ".." */
	CHECK(ns_name_from_b64("YS9i", out, sizeof out) != 0);      /* "a/b" */
	CHECK(ns_name_from_b64("!!!!", out, sizeof out) != 0);      /* not base64 */
	CHECK(ns_name_from_b64("Y", out, sizeof out) != 0);         /* impossible length */
	char small[4];
	CHECK(ns_name_from_b64("ZGVmYXVsdA", small, sizeof small) != 0); /* does not fit */
}

static void resolve(void)
{
	char out[NS_NAME_MAX + 1];
	struct err e;
	/* disabled: everything is default */
	CHECK(ns_resolve_name(false, false, "Zm9v", "bar", "baz.example.com", out, &e) == 0);
	CHECK_STR(out, "default");
	/* the order: x-namespace-bin, x-namespace, Host */
	CHECK(ns_resolve_name(true, false, "Zm9v", "bar", "baz.example.com", out, &e) == 0);
	CHECK_STR(out, "foo");
	CHECK(ns_resolve_name(true, false, NULL, "bar", "baz.example.com", out, &e) == 0);
	CHECK_STR(out, "bar");
	CHECK(ns_resolve_name(true, false, NULL, NULL, "baz.example.com:8080", out, &e) == 0);
	CHECK_STR(out, "baz");
	CHECK(ns_resolve_name(true, false, NULL, NULL, "127.0.0.1:8080", out, &e) == 0);
	CHECK_STR(out, "127"); /* as libSQL: the first label */
	/* a host without a dot, or no host: default when allowed */
	CHECK(ns_resolve_name(true, false, NULL, NULL, "localhost:8080", out, &e) == 0);
	CHECK_STR(out, "default");
	CHECK(ns_resolve_name(true, false, NULL, NULL, NULL, out, &e) == 0);
	CHECK_STR(out, "default");
	CHECK(ns_resolve_name(true, true, NULL, NULL, "localhost:8080", out, &e) == NS_EINVAL);
	CHECK(ns_resolve_name(true, true, NULL, NULL, NULL, out, &e) == NS_EINVAL);
	/* invalid names are errors, not fallbacks */
	CHECK(ns_resolve_name(true, false, "Li4", NULL, NULL, out, &e) == NS_EINVAL);
	CHECK(ns_resolve_name(true, false, NULL, "..", NULL, out, &e) == NS_EINVAL);
	CHECK(ns_resolve_name(true, false, NULL, "", NULL, out, &e) == NS_EINVAL);
	CHECK(ns_resolve_name(true, false, NULL, NULL, ".example.com", out, &e) == NS_EINVAL);
}

static int query_int(struct ns *n, const char *sql, long long *out)
{
	struct db_conn *c;
	struct err e;
	if (db_conn_open(ns_db(n), &c, &e))
		return -1;
	db_conn_enter(c);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db_conn_sqlite(c), sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && out)
			*out = sqlite3_column_int64(st, 0);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rc;
		sqlite3_finalize(st);
	}
	db_conn_leave(c);
	db_conn_close(c);
	return rc;
}

static void registry(void)
{
	char tmpl[] = "/tmp/sqlwire-ns-XXXXXX";
	char *dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	if (!dir)
		return;
	struct ns_opts o = {.root = dir, .enabled = true, .sync_normal = true, .txn_timeout_ms = 5000,
			    .max_log_bytes = 200000000};
	struct err e = {{0}};
	CHECK(ns_init(&o, &e) == 0);
	struct ns *n = NULL;
	CHECK(ns_get("default", &n, &e) == 0 && n);
	ns_put(n);
	CHECK(ns_get("a", &n, &e) == NS_ENOENT);
	CHECK(ns_get("../x", &n, &e) == NS_ENOENT);
	CHECK(ns_create("a", NULL, &e) == 0);
	CHECK(ns_create("a", NULL, &e) == NS_EEXIST);
	CHECK(ns_create("..", NULL, &e) == NS_EINVAL);
	CHECK(ns_get("a", &n, &e) == 0);
	CHECK(query_int(n, "CREATE TABLE t(x); INSERT INTO t VALUES (42)", NULL) == 0);
	CHECK(query_int(n, "INSERT INTO t VALUES (42)", NULL) == 0);
	ns_put(n);
	/* fork: a copy, independent afterwards */
	CHECK(ns_fork("a", "b", &e) == 0);
	CHECK(ns_fork("a", "b", &e) == NS_EEXIST);
	CHECK(ns_fork("nope", "c", &e) == NS_ENOENT);
	struct ns *b = NULL;
	long long v = 0;
	CHECK(ns_get("b", &b, &e) == 0);
	CHECK(query_int(b, "SELECT count(*) FROM t", &v) == 0 && v == 1);
	CHECK(query_int(b, "INSERT INTO t VALUES (1)", NULL) == 0);
	CHECK(ns_get("a", &n, &e) == 0);
	CHECK(query_int(n, "SELECT count(*) FROM t", &v) == 0 && v == 1);
	/* config: block_writes denies, and is persisted */
	struct ns_config cfg;
	ns_get_config(n, &cfg);
	CHECK(!cfg.block_writes);
	CHECK(ns_config_parse("{\"block_writes\":true,\"block_reason\":\"x\"}", strlen("{\"block_writes\":true,\"block_reason\":\"x\"}"), &cfg, &e) == 0);
	CHECK(ns_set_config(n, &cfg, &e) == 0);
	CHECK(query_int(n, "INSERT INTO t VALUES (2)", NULL) == SQLITE_AUTH);
	CHECK(query_int(n, "SELECT count(*) FROM t", &v) == 0 && v == 1);
	CHECK(ns_config_parse("{\"block_writes\":1}", strlen("{\"block_writes\":1}"), &cfg, &e) != 0);
	CHECK(ns_config_parse("{\"dump_url\":\"http://x\"}", strlen("{\"dump_url\":\"http://x\"}"), &cfg, &e) != 0);
	CHECK(ns_config_parse("[]", strlen("[]"), &cfg, &e) != 0);
	/* delete: unlisted at once, closed and removed with its last user */
	CHECK(ns_delete("a", &e) == 0);
	struct ns *gone;
	CHECK(ns_get("a", &gone, &e) == NS_ENOENT);
	CHECK(ns_create("a", NULL, &e) == NS_EBUSY); /* n still holds it */
	CHECK(query_int(n, "SELECT count(*) FROM t", &v) == 0 && v == 1);
	ns_put(n);
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/dbs/a", dir);
	CHECK(stat(p, &st) != 0);
	CHECK(ns_delete("a", &e) == NS_ENOENT);
	CHECK(ns_delete("default", &e) == NS_EINVAL);
	ns_put(b);
	ns_shutdown();
	/* reopen: b is still there, with its rows */
	CHECK(ns_init(&o, &e) == 0);
	CHECK(ns_get("b", &b, &e) == 0);
	CHECK(b && query_int(b, "SELECT count(*) FROM t", &v) == 0 && v == 2);
	ns_put(b);
	ns_shutdown();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	log_level = LOG_WARN;
	T_RUN(names);
	T_RUN(b64);
	T_RUN(resolve);
	T_RUN(registry);
	return T_DONE();
}
