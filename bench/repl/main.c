/* sqlwire-bench-repl: sections 4-6 of `make bench`.
 *
 *   sqlwire-bench-repl run --sqld-bin PATH --dir D [options]
 *     --only 456          sections to run (any of 4, 5, 6)
 *     --lag-rounds N      (4) rounds, each: pacing with a follower, and without one
 *     --lag-ms MS         (4) per round and target
 *     --lag-pace-us US    (4) the writer's commit interval
 *     --sync-mb MB        (5) size of the database to pull
 *     --sync-rounds N     (5) pulls (and as many copies), ABBA order
 *     --cap-rounds N      (6) rounds
 *     --cap-ms MS         (6) per round and target
 *
 * Sections 4 and 5 start their own sqld (bin --db-path D/... on 127.0.0.1:0)
 * as children that die with this process; section 6 runs sqld's database
 * layer (libsqld.a) in this process. See bench/README.md. */
#include "rb.h"
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct rb_opts RO = {.lag_rounds = 4, .lag_ms = 2000, .lag_pace_us = 2000, .sync_mb = 256, .sync_rounds = 2,
		     .cap_rounds = 6, .cap_ms = 1000};

static int met, total, ncontested;

void rb_verdict(bool ok, bool contested)
{
	total++;
	met += ok;
	ncontested += contested;
	printf("  %s%s", ok ? "MET" : "MISSED", contested ? " (contested)" : "");
}

static bool want(char sec)
{
	return !RO.only || strchr(RO.only, sec);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		die("usage: sqlwire-bench-repl run --sqld-bin PATH --dir D [--only 456] [...]");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			die("%s needs a value", a);
		const char *v = argv[++i];
		if (!strcmp(a, "--sqld-bin")) RO.sqld_bin = v;
		else if (!strcmp(a, "--dir")) RO.dir = v;
		else if (!strcmp(a, "--only")) RO.only = v;
		else if (!strcmp(a, "--lag-rounds")) RO.lag_rounds = atoi(v);
		else if (!strcmp(a, "--lag-ms")) RO.lag_ms = atoi(v);
		else if (!strcmp(a, "--lag-pace-us")) RO.lag_pace_us = atoi(v);
		else if (!strcmp(a, "--sync-mb")) RO.sync_mb = atoi(v);
		else if (!strcmp(a, "--sync-rounds")) RO.sync_rounds = atoi(v);
		else if (!strcmp(a, "--cap-rounds")) RO.cap_rounds = atoi(v);
		else if (!strcmp(a, "--cap-ms")) RO.cap_ms = atoi(v);
		else die("unknown option %s", a);
	}
	if (!RO.dir || (!RO.sqld_bin && (want('4') || want('5'))))
		die("run needs --dir and --sqld-bin");
	if (RO.lag_rounds < 1 || RO.lag_ms < 100 || RO.lag_pace_us < 100 || RO.sync_mb < 8 || RO.sync_rounds < 1 ||
	    RO.sync_rounds > 8 || RO.cap_rounds < 1 || RO.cap_ms < 100)
		die("option out of range");
	printf("\nsqlwire bench, replication and capture: %ld CPUs, nice %d, SQLite %s, all on 127.0.0.1, files under %s\n\n",
	       sysconf(_SC_NPROCESSORS_ONLN), getpriority(PRIO_PROCESS, 0), sqlite3_libversion(), RO.dir);
	if (want('4'))
		sec_lag();
	if (want('5'))
		sec_sync();
	if (want('6'))
		sec_capture();
	char la[32] = "";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fgets(la, sizeof la, f))
			la[strcspn(la, " ")] = 0;
		fclose(f);
	}
	printf("\ntargets met (sections 4-6): %d of %d", met, total);
	if (ncontested)
		printf(" (%d measured while other processes took over a quarter of the CPUs or wrote over 10 MB/s:"
		       " rerun on a quieter machine)",
		       ncontested);
	printf("; load average at end %s\n", la);
	rb_ok = true;
	return 0;
}
