/* sqld: serves a primary SQLite database with libSQL's protocols.
 * Start-up: parse flags, open the database, bind, print the address; a
 * dedicated thread waits for SIGTERM/SIGINT and asks the network loop to stop,
 * which then finishes in-flight work, rolls back open transactions, and closes
 * the database cleanly (exit 0). */
#include "auth.h"
#include "baton.h"
#include "cap.h"
#include "cfg.h"
#include "db.h"
#include "log.h"
#include "net.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define SQLD_VERSION "0.1.0"

static void *main_signals(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;
	sigwait(set, &sig);
	log_info("received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	net_request_stop();
	return NULL;
}

int main(int argc, char **argv)
{
	struct cfg cfg;
	struct err e = {{0}};
	if (cfg_parse(&cfg, argc, argv, &e)) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		return 2;
	}
	if (cfg.help) {
		fputs(cfg_usage(), stdout);
		return 0;
	}
	if (cfg.version) {
		printf("sqld %s (sqlwire)\n", SQLD_VERSION);
		return 0;
	}
	log_level = cfg.log_level;
	/* signals go to one thread only: block them before any thread starts */
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (baton_init()) {
		fprintf(stderr, "sqld: cannot get random bytes\n");
		return 1;
	}
	/* authentication: no key and no Basic credential = open access */
	char *jwt_key = NULL;
	if (cfg.auth_jwt_key_file && !(jwt_key = auth_read_key_file(cfg.auth_jwt_key_file, &e))) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		return 2;
	}
	struct auth_opts aopts = {
		.jwt_key = jwt_key ? jwt_key : cfg.auth_jwt_key,
		.http_auth = cfg.http_auth,
		.gid = getenv("LIBSQL_GID"),
	};
	struct auth *auth = NULL;
	int arc = auth_new(&aopts, &auth, &e);
	free(jwt_key);
	if (arc) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		return 2;
	}
	net_set_auth(auth);
	struct db *db = NULL;
	struct db_opts dopts = {
		.dir = cfg.db_path,
		.sync_normal = cfg.sync_normal,
		.txn_timeout_ms = cfg.txn_timeout_s * 1000,
	};
	if (db_open(&dopts, &db, &e)) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		auth_free(auth);
		return 1;
	}
	char log_dir[4096];
	snprintf(log_dir, sizeof log_dir, "%s/wallog", cfg.db_path);
	struct cap_opts copts = {
		.db_path = db_path(db),
		.log_dir = log_dir,
		.max_log_bytes = (uint64_t)cfg.max_log_size_mb * 1000 * 1000,
		.max_log_age_ms = (uint64_t)cfg.max_log_duration_s * 1000,
		.checkpoint_interval_ms = cfg.checkpoint_interval_s * 1000,
		.sync_normal = cfg.sync_normal,
	};
	struct cap *cap = NULL;
	struct cap_open_info cinfo;
	if (cap_open(&copts, &cap, &cinfo, &e)) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		db_close(db);
		auth_free(auth);
		return 1;
	}
	if (cinfo.rebuilt)
		log_info("frame log made from the database (%s): replicas start over", cinfo.why);
	db_set_cap(db, cap);
	if (net_start(&cfg, db, cap_log(cap), &e)) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		cap_close(cap);
		db_close(db);
		auth_free(auth);
		return 1;
	}
	pthread_t sig_thread;
	pthread_create(&sig_thread, NULL, main_signals, &set);
	pthread_detach(sig_thread);
	const char *host = cfg.listen_host;
	printf("sqld listening on %s://%s%s%s:%d\n", cfg.https_cert_file ? "https" : "http", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	       net_port());
	fflush(stdout);
	log_info("serving %s (synchronous=%s)", db_path(db), cfg.sync_normal ? "NORMAL" : "FULL");
	net_run();
	cap_close(cap);
	db_close(db);
	auth_free(auth);
	log_info("stopped");
	return 0;
}
