/* pg: the PostgreSQL baseline through libpq on loopback TCP: statements are
 * prepared once (PQprepare) and run with PQexecPrepared, text parameters and
 * results, one round trip per statement. */
#include "bench.h"
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct pgc {
	PGconn *c;
	char ver[64];
};

struct pgc *pgc_open(int port)
{
	char ci[256];
	snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=postgres user=postgres sslmode=disable options='-c client_min_messages=warning'", port);
	struct pgc *p = calloc(1, sizeof *p);
	if (!p)
		die("out of memory");
	p->c = PQconnectdb(ci);
	if (PQstatus(p->c) != CONNECTION_OK)
		die("postgres connect: %s", PQerrorMessage(p->c));
	int one = 1; /* libpq sets it too; make sure */
	if (setsockopt(PQsocket(p->c), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		die("postgres TCP_NODELAY failed");
	return p;
}

void pgc_exec(struct pgc *p, const char *sql)
{
	PGresult *r = PQexec(p->c, sql);
	ExecStatusType s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		die("postgres: %s: %s", sql, PQerrorMessage(p->c));
	PQclear(r);
}

void pgc_prepare(struct pgc *p, const char *name, const char *sql, int nparams)
{
	PGresult *r = PQprepare(p->c, name, sql, nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("postgres prepare %s: %s", sql, PQerrorMessage(p->c));
	PQclear(r);
}

void pgc_point(struct pgc *p, int key)
{
	char k[16], want[64];
	snprintf(k, sizeof k, "%d", key);
	snprintf(want, sizeof want, BENCH_VALUE_FMT, key);
	const char *params[1] = {k};
	PGresult *r = PQexecPrepared(p->c, "sel", 1, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 1)
		die("postgres point read of %d: %s (%d rows)", key, PQerrorMessage(p->c), PQntuples(r));
	if (strcmp(PQgetvalue(r, 0, 0), want) != 0)
		die("postgres point read of %d: got '%s'", key, PQgetvalue(r, 0, 0));
	PQclear(r);
}

void pgc_insert(struct pgc *p, const char *v)
{
	const char *params[1] = {v};
	PGresult *r = PQexecPrepared(p->c, "ins", 1, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(r), "1") != 0)
		die("postgres insert: %s", PQerrorMessage(p->c));
	PQclear(r);
}

const char *pgc_version(struct pgc *p)
{
	int v = PQserverVersion(p->c);
	snprintf(p->ver, sizeof p->ver, "%d.%d", v / 10000, v % 10000);
	return p->ver;
}

void pgc_close(struct pgc *p)
{
	if (p) {
		PQfinish(p->c);
		free(p);
	}
}
