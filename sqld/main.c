/* sqld: serves primary SQLite databases (namespaces, ns.h) with libSQL's
 * protocols. Start-up: parse flags, open the default namespace, bind, print
 * the address (and the admin listener's); a
 * dedicated thread waits for SIGTERM/SIGINT and asks the network loop to stop,
 * which then finishes in-flight work, rolls back open transactions, and closes
 * the database cleanly (exit 0). */
#include "auth.h"
#include "baton.h"
#include "cfg.h"
#include "log.h"
#include "net.h"
#include "ns.h"
#include "repl.h"
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
	log_format = cfg.log_format;
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
	struct ns_opts nopts = {
		.root = cfg.db_path,
		.enabled = cfg.enable_namespaces,
		.disable_default = cfg.disable_default_ns,
		.sync_normal = cfg.sync_normal,
		.txn_timeout_ms = cfg.txn_timeout_s * 1000,
		.max_log_bytes = (uint64_t)cfg.max_log_size_mb * 1000 * 1000,
		.max_log_age_ms = (uint64_t)cfg.max_log_duration_s * 1000,
		.checkpoint_interval_ms = cfg.checkpoint_interval_s * 1000,
		.on_commit = repl_commit_hook,
	};
	if (ns_init(&nopts, &e)) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		ns_shutdown();
		auth_free(auth);
		return 1;
	}
	if (net_start(&cfg, &e)) {
		fprintf(stderr, "sqld: %s\n", e.msg);
		ns_shutdown();
		auth_free(auth);
		return 1;
	}
	pthread_t sig_thread;
	pthread_create(&sig_thread, NULL, main_signals, &set);
	pthread_detach(sig_thread);
	const char *host = cfg.listen_host;
	printf("sqld listening on %s://%s%s%s:%d\n", cfg.https_cert_file ? "https" : "http", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	       net_port());
	if (cfg.admin_on) {
		host = cfg.admin_host;
		printf("sqld admin listening on http://%s%s%s:%d\n", strchr(host, ':') ? "[" : "", host,
		       strchr(host, ':') ? "]" : "", net_admin_port());
	}
	fflush(stdout);
	log_info("serving %s (synchronous=%s, namespaces %s)", cfg.db_path, cfg.sync_normal ? "NORMAL" : "FULL",
		 cfg.enable_namespaces ? "enabled" : "disabled");
	net_run();
	ns_shutdown();
	auth_free(auth);
	log_info("stopped");
	return 0;
}
