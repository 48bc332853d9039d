/* ns: the namespace registry (PROTOCOL.md §6.3). A namespace is one primary
 * database with its own frame log: a struct db (db.h) plus its capture and
 * frame log (struct cap, cap.h).
 *
 * Disk layout under --db-path (the root):
 *   <root>/data, <root>/wallog/, <root>/config.json   namespace "default"
 *   <root>/dbs/<name>/data, .../wallog/, .../config.json   every other one
 * The default namespace keeps the paths sqld used before namespaces, so an
 * existing data directory is served unchanged. A namespace exists when its
 * directory holds a `data` file (the default one always exists unless
 * --disable-default-namespace, then only once created).
 *
 * Names (ns_name_valid): 1 to NS_NAME_MAX bytes of [A-Za-z0-9_-]. libSQL
 * takes any non-empty UTF-8 string; here a name is a directory name, so the
 * rule is stricter (no '/', no '.', no "..": nothing can leave dbs/).
 *
 * Lifetime: ns_get opens a namespace on first use (lazily: db_open +
 * cap_open, which may rebuild its log) and returns a counted reference; every
 * user (a request, a WebSocket connection, a Hrana stream, a replication
 * call or proxy client, a dump) holds one and gives it back with ns_put. The
 * registry holds one more while the namespace is listed. ns_delete unlists
 * it at once (new requests get "doesn't exist"); its database is closed and
 * its directory removed when the last reference goes. ns_shutdown closes
 * every namespace (all users must be gone).
 *
 * Per-namespace config (GET/POST /v1/namespaces/:ns/config), persisted in
 * config.json and honoured: block_reads, block_writes (statements fail with
 * SQLITE_AUTH), block_reason (reported only), max_db_size (bytes, via
 * max_page_count: writes past it fail with SQLITE_FULL), txn_timeout_s.
 *
 * Threads: every function is safe from any thread (one registry mutex;
 * create, fork and delete are also serialised among themselves, and so are
 * first opens). Opening, creating, forking and deleting do disk I/O on the
 * caller's thread, which is a worker: the network thread only calls
 * ns_get_open, and has a worker do a namespace's first open (net_ns_job). */
#ifndef SQLWIRE_NS_H
#define SQLWIRE_NS_H
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
#define NS_NAME_MAX 128
#define NS_DEFAULT "default"

enum {
	NS_ENOENT = -2,   /* no such namespace */
	NS_EEXIST = -3,   /* create/fork: it exists already */
	NS_EINVAL = -4,   /* invalid name or argument */
	NS_EBUSY = -5,    /* a deleted namespace of that name is still in use */
	NS_ENOTOPEN = -6, /* ns_get_open: it exists but is not open yet */
};

struct ns;
struct db;
struct cap;
struct rlog;

struct ns_opts {
	const char *root;          /* --db-path */
	bool enabled;              /* --enable-namespaces */
	bool disable_default;      /* --disable-default-namespace */
	bool sync_normal;
	int txn_timeout_ms;
	uint64_t max_log_bytes;
	uint64_t max_log_age_ms;
	int checkpoint_interval_ms;
	void (*on_commit)(void *arg); /* cap_opts.on_commit of every namespace */
	void *on_commit_arg;
};

struct ns_config {
	bool block_reads, block_writes;
	char block_reason[256];
	uint64_t max_db_size;  /* bytes; 0: unlimited */
	int txn_timeout_s;     /* 0: the server's --txn-timeout-s */
};

/* Opens the default namespace now (unless disabled), so start-up errors show
 * at once. Main thread. */
int ns_init(const struct ns_opts *o, struct err *e);
void ns_shutdown(void);
bool ns_enabled(void);
bool ns_default_allowed(void); /* not --disable-default-namespace */

bool ns_name_valid(const char *name, size_t n);
/* Decodes x-namespace-bin (standard or URL-safe base64, padding optional)
 * into out; -1 unless it decodes to a valid name. */
int ns_name_from_b64(const char *b64, char *out, size_t cap);
/* The namespace of an HTTP or WebSocket request (PROTOCOL.md §6.3):
 * x-namespace-bin, else x-namespace, else the Host label before the first
 * '.', else (host without a dot, or no host) "default" when allowed.
 * Disabled namespaces: always "default". Header values may be NULL.
 * Returns 0 with the name in out, or NS_EINVAL with e (HTTP 400). */
int ns_resolve_name(bool enabled, bool disable_default, const char *ns_bin, const char *ns_hdr, const char *host,
		    char out[NS_NAME_MAX + 1], struct err *e);
/* sqlite3_interrupt on every connection of every open namespace. */
void ns_interrupt_all(void);

/* A reference to the namespace, opening it if needed. NS_ENOENT when it does
 * not exist (or the name is invalid: nothing can exist under it). A first
 * open does disk I/O (the frame log is verified, maybe rebuilt): opens run
 * one at a time, without blocking users of namespaces already open.
 * ns_get_open never opens: NS_ENOTOPEN when the namespace exists but is not
 * open yet (the network thread then has a worker call ns_get). */
int ns_get(const char *name, struct ns **out, struct err *e);
int ns_get_open(const char *name, struct ns **out, struct err *e);
struct ns *ns_ref(struct ns *n); /* another reference to a held one */
void ns_put(struct ns *n);       /* accepts NULL */

const char *ns_name(const struct ns *n);
/* True once ns_delete unlisted it: holders must stop using it (sess, repl
 * and dump then answer "doesn't exist"), so it can close. */
bool ns_deleted(struct ns *n);
struct db *ns_db(struct ns *n);
struct rlog *ns_log(struct ns *n);
struct cap *ns_cap(struct ns *n);

/* Admin operations. create: a new empty namespace (NS_EEXIST, NS_EINVAL).
 * fork: a new namespace `to` holding a consistent copy of `from`'s database
 * (SQLite's backup API from one read transaction); its frame log starts a
 * new lineage. delete: NS_ENOENT if absent, NS_EINVAL for the default
 * namespace (its directory is the root of all the others). */
int ns_create(const char *name, const struct ns_config *cfg, struct err *e);
int ns_fork(const char *from, const char *to, struct err *e);
int ns_delete(const char *name, struct err *e);
void ns_get_config(struct ns *n, struct ns_config *out);
int ns_set_config(struct ns *n, const struct ns_config *cfg, struct err *e);

/* Applies the fields present in a JSON object (FORMAT in ns.c) to *c;
 * unknown fields are ignored, dump_url is refused. 0 or -1 with e. */
int ns_config_parse(const char *text, size_t n, struct ns_config *c, struct err *e);
void ns_config_render(const struct ns_config *c, struct buf *b);

/* Calls fn for every open namespace (under the registry lock: fn must not
 * call ns_*). For metrics. */
void ns_each_open(void (*fn)(struct ns *n, void *arg), void *arg);

/* Usage counters for the stats endpoint (any thread, atomic). */
struct ns_usage {
	uint64_t queries, rows_read, rows_written;
};
void ns_count(struct ns *n, uint64_t queries, uint64_t rows_read, uint64_t rows_written);
void ns_usage(struct ns *n, struct ns_usage *out);

/* Bytes of the namespace's database file plus its WAL. */
uint64_t ns_storage_bytes(struct ns *n);
#endif
