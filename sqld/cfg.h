/* cfg: sqld's command line. Every flag is also read from its SQLD_*
 * environment variable; a flag on the command line wins. Flag names follow
 * libSQL's server (PROTOCOL.md §6.4). Main thread only, at start. */
#ifndef SQLWIRE_CFG_H
#define SQLWIRE_CFG_H
#include "err.h"
#include <stdbool.h>
#include <stddef.h>

struct cfg {
	const char *db_path;        /* --db-path, -d: a directory */
	char listen_host[256];      /* --http-listen-addr host part */
	int listen_port;            /* 0: pick a free port */
	const char *self_url;       /* --http-self-url: Hrana base_url */
	size_t max_response_size;   /* --max-response-size (bytes) */
	size_t max_total_response_size;
	int max_conns;              /* --max-concurrent-connections */
	int max_reqs;               /* --max-concurrent-requests */
	size_t max_body_size;       /* --max-body-size: request bodies and WS messages */
	bool sync_normal;           /* --synchronous normal (default full) */
	int workers;                /* --workers */
	int txn_timeout_s;          /* --txn-timeout-s */
	int stream_idle_s;          /* --stream-idle-timeout-s (HTTP streams) */
	int shutdown_timeout_s;     /* --shutdown-timeout-s */
	int log_level;              /* --log-level error|warn|info|debug */
	size_t max_log_size_mb;     /* --max-log-size: compact the frame log past this */
	int max_log_duration_s;     /* --max-log-duration: or when older (0: never) */
	int checkpoint_interval_s;  /* --checkpoint-interval-s (0: by WAL size only) */
	/* authentication and TLS (auth.h, net.c) */
	const char *auth_jwt_key_file; /* --auth-jwt-key-file: Ed25519 public key(s), PEM or base64url */
	const char *auth_jwt_key;      /* --auth-jwt-key / SQLD_AUTH_JWT_KEY: the key itself */
	const char *http_auth;         /* --http-auth basic:<base64 user:pass> */
	const char *https_cert_file;   /* --https-cert-file: serve https:// and wss:// ... */
	const char *https_key_file;    /* --https-key-file: ... with this private key */
	/* namespaces, admin API, metrics, log format (issue 5: ns.h, admin.h) */
	bool enable_namespaces;     /* --enable-namespaces */
	bool disable_default_ns;    /* --disable-default-namespace */
	bool admin_on;              /* --admin-listen-addr given */
	char admin_host[256];
	int admin_port;             /* 0: pick a free port */
	const char *admin_auth_key; /* --admin-auth-key */
	bool metrics_on_user_port;  /* --enable-metrics-on-user-port */
	int log_format;             /* --log-format text|json (log.h LOG_FMT_*) */
	bool help, version;
};

/* 0: parsed; -1: bad input, one line in e->msg (exit status 2). */
int cfg_parse(struct cfg *c, int argc, char **argv, struct err *e);
const char *cfg_usage(void);
#endif
