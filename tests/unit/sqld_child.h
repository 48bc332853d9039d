/* sqld_child.h: starts the real sqld of $SQLWIRE_BUILD (default
 * build/release) on an ephemeral loopback port in a temp dir, for the C unit
 * tests of the client library, and stops it again. Header-only (static
 * functions); one sqld per test binary at a time. An alarm() watchdog set by
 * the caller keeps a hung test from running forever; sqld gets SIGKILL when
 * the test process dies (PR_SET_PDEATHSIG), however it dies. */
#ifndef SQLWIRE_SQLD_CHILD_H
#define SQLWIRE_SQLD_CHILD_H
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct sqld_child {
	pid_t pid;
	int port;
	char dir[256];
};

/* Returns 0 and fills c, or -1 (with a message on stderr). */
static int sqld_start(struct sqld_child *c)
{
	const char *build = getenv("SQLWIRE_BUILD");
	char bin[512];
	snprintf(bin, sizeof bin, "%s/sqld", build && *build ? build : "build/release");
	snprintf(c->dir, sizeof c->dir, "%s/sqlwire-cl-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(c->dir)) {
		perror("mkdtemp");
		return -1;
	}
	char db[300];
	snprintf(db, sizeof db, "%s/db", c->dir);
	char out[300];
	snprintf(out, sizeof out, "%s/stdout", c->dir);
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		/* dies with the test, even if the test is killed or aborts */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char errf[310];
		snprintf(errf, sizeof errf, "%s/stderr", c->dir);
		FILE *o = freopen(out, "w", stdout);
		FILE *oe = freopen(errf, "w", stderr);
		(void)o;
		(void)oe;
		execl(bin, bin, "--db-path", db, "--http-listen-addr", "127.0.0.1:0", (char *)NULL);
		perror(bin);
		_exit(127);
	}
	char line[256] = "";
	c->port = 0;
	for (int i = 0; i < 400 && !c->port; i++) { /* up to 20 s */
		FILE *f = fopen(out, "r");
		if (f) {
			if (fgets(line, sizeof line, f))
				sscanf(line, "sqld listening on http://127.0.0.1:%d", &c->port);
			fclose(f);
		}
		if (!c->port) {
			if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
				c->pid = 0;
				break;
			}
			usleep(50000);
		}
	}
	if (!c->port) {
		fprintf(stderr, "sqld did not say where it listens (%s)\n", line);
		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
		}
		return -1;
	}
	return 0;
}

static void sqld_stop(struct sqld_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
				c->pid = 0;
				break;
			}
			usleep(50000);
		}
		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
		}
		c->pid = 0;
	}
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
	if (c->dir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", c->dir);
}
#endif
