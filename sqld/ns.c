/* ns: see ns.h.
 *
 * FORMAT of <namespace dir>/config.json (written whole, then renamed over):
 *   {"block_reads":false,"block_writes":false,"block_reason":null|"text",
 *    "max_db_size":<bytes>,"txn_timeout_s":<seconds>}
 * The same object is what GET /v1/namespaces/:ns/config answers.
 *
 * Invariants: a listed namespace (R.list) is open (db + cap); a namespace is
 * freed only when its refs reach 0, which for a listed one cannot happen
 * (the registry's own reference). R.mu guards the list, refs and every
 * struct ns field but db/cap (set at open, read-only after). */
#include "ns.h"
#include "cap.h"
#include "db.h"
#include "hjson.h"
#include "log.h"
#include "rlog.h"
#include "buf.h"
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ns {
	char name[NS_NAME_MAX + 1];
	char *dir;
	struct db *db;
	struct cap *cap;
	struct ns_config cfg;
	int refs;
	bool listed;
	struct ns *next;
	atomic_uint_fast64_t queries, rows_read, rows_written;
};

static struct {
	pthread_mutex_t mu;
	struct ns_opts o;
	char *root;
	struct ns *list;    /* open and listed */
	struct ns *deleted; /* unlisted, waiting for their last reference */
	bool on;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* create, fork and delete one at a time (a fork copies with R.mu released) */
static pthread_mutex_t ns_admin_mu = PTHREAD_MUTEX_INITIALIZER;
/* the lazy first opens, one at a time, with R.mu released (ns_get). Lock
 * order: ns_admin_mu, ns_open_mu, R.mu */
static pthread_mutex_t ns_open_mu = PTHREAD_MUTEX_INITIALIZER;

bool ns_name_valid(const char *name, size_t n)
{
	if (!name || n == 0 || n > NS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int ns_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int ns_name_from_b64(const char *b64, char *out, size_t cap)
{
	size_t n = strlen(b64), k = 0;
	while (n && b64[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = ns_b64val(b64[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (k + 1 >= cap)
				return -1;
			out[k++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[k] = 0;
	return ns_name_valid(out, k) ? 0 : -1;
}

int ns_resolve_name(bool enabled, bool disable_default, const char *ns_bin, const char *ns_hdr, const char *host,
		    char out[NS_NAME_MAX + 1], struct err *e)
{
	if (!enabled) {
		strcpy(out, NS_DEFAULT);
		return 0;
	}
	if (ns_bin) {
		if (ns_name_from_b64(ns_bin, out, NS_NAME_MAX + 1))
			return err_set(e, "Invalid namespace in x-namespace-bin"), NS_EINVAL;
		return 0;
	}
	if (ns_hdr) {
		size_t n = strlen(ns_hdr);
		if (!ns_name_valid(ns_hdr, n))
			return err_set(e, "Invalid namespace in x-namespace"), NS_EINVAL;
		memcpy(out, ns_hdr, n + 1);
		return 0;
	}
	if (host) {
		const char *dot = strchr(host, '.');
		if (dot) {
			size_t n = (size_t)(dot - host);
			if (!ns_name_valid(host, n))
				return err_set(e, "Invalid namespace in the host header"), NS_EINVAL;
			memcpy(out, host, n);
			out[n] = 0;
			return 0;
		}
		if (disable_default)
			return err_set(e, "Invalid host header: expected <namespace>.<domain>"), NS_EINVAL;
	} else if (disable_default) {
		return err_set(e, "Missing host header"), NS_EINVAL;
	}
	strcpy(out, NS_DEFAULT);
	return 0;
}

void ns_interrupt_all(void)
{
	pthread_mutex_lock(&R.mu);
	for (struct ns *n = R.list; n; n = n->next)
		db_interrupt_all(n->db);
	for (struct ns *n = R.deleted; n; n = n->next)
		db_interrupt_all(n->db);
	pthread_mutex_unlock(&R.mu);
}

bool ns_enabled(void)
{
	return R.o.enabled;
}

bool ns_default_allowed(void)
{
	return !R.o.disable_default;
}

static char *ns_dir_of(const char *name)
{
	char *d;
	if (strcmp(name, NS_DEFAULT) == 0)
		d = strdup(R.root);
	else if (asprintf(&d, "%s/dbs/%s", R.root, name) < 0)
		d = NULL;
	if (!d)
		abort();
	return d;
}

static bool ns_exists_on_disk(const char *dir)
{
	char p[4200];
	struct stat st;
	snprintf(p, sizeof p, "%s/data", dir);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- config ---- */

static void ns_config_json(const struct ns_config *c, struct buf *b)
{
	buf_printf(b, "{\"block_reads\":%s,\"block_writes\":%s,\"block_reason\":", c->block_reads ? "true" : "false",
		   c->block_writes ? "true" : "false");
	if (c->block_reason[0])
		hjson_put_str(b, c->block_reason, strlen(c->block_reason));
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"max_db_size\":%llu,\"txn_timeout_s\":%d}", (unsigned long long)c->max_db_size,
		   c->txn_timeout_s);
}

int ns_config_parse(const char *text, size_t n, struct ns_config *c, struct err *e)
{
	json_error_t je;
	json_t *j = json_loadb(text, n, 0, &je);
	if (!j)
		return err_set(e, "invalid JSON: %s", je.text);
	int rc = -1;
	if (!json_is_object(j)) {
		err_set(e, "expected a JSON object");
		goto out;
	}
	json_t *v;
	if ((v = json_object_get(j, "dump_url")) && !json_is_null(v)) {
		err_set(e, "dump_url is not supported by sqlwire");
		goto out;
	}
	if ((v = json_object_get(j, "block_reads")) && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			err_set(e, "block_reads must be a boolean");
			goto out;
		}
		c->block_reads = json_is_true(v);
	}
	if ((v = json_object_get(j, "block_writes")) && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			err_set(e, "block_writes must be a boolean");
			goto out;
		}
		c->block_writes = json_is_true(v);
	}
	if ((v = json_object_get(j, "block_reason"))) {
		if (json_is_null(v)) {
			c->block_reason[0] = 0;
		} else if (json_is_string(v)) {
			snprintf(c->block_reason, sizeof c->block_reason, "%s", json_string_value(v));
		} else {
			err_set(e, "block_reason must be a string");
			goto out;
		}
	}
	if ((v = json_object_get(j, "max_db_size")) && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			err_set(e, "max_db_size must be a number of bytes");
			goto out;
		}
		c->max_db_size = (uint64_t)json_integer_value(v);
	}
	if ((v = json_object_get(j, "txn_timeout_s")) && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 86400) {
			err_set(e, "txn_timeout_s must be a number of seconds");
			goto out;
		}
		c->txn_timeout_s = (int)json_integer_value(v);
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

void ns_config_render(const struct ns_config *c, struct buf *b)
{
	ns_config_json(c, b);
}

static int ns_config_save(const char *dir, const struct ns_config *c, struct err *e)
{
	char p[4200], tmp[4220];
	snprintf(p, sizeof p, "%s/config.json", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", p);
	struct buf b;
	buf_init(&b);
	ns_config_json(c, &b);
	buf_putc(&b, '\n');
	FILE *f = fopen(tmp, "w");
	bool ok = f && fwrite(b.p, 1, b.len, f) == b.len;
	if (f)
		ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok, fclose(f);
	buf_free(&b);
	if (!ok || rename(tmp, p) != 0) {
		unlink(tmp);
		return err_set(e, "cannot write %s: %s", p, strerror(errno));
	}
	return 0;
}

static void ns_config_load(const char *dir, struct ns_config *c)
{
	memset(c, 0, sizeof *c);
	char p[4200];
	snprintf(p, sizeof p, "%s/config.json", dir);
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	char text[2048];
	size_t n = fread(text, 1, sizeof text, f);
	fclose(f);
	struct err e;
	if (ns_config_parse(text, n, c, &e))
		log_warn("ignoring %s: %s", p, e.msg);
}

static void ns_apply_config(struct ns *n)
{
	struct db_limits l = {
		.block_reads = n->cfg.block_reads,
		.block_writes = n->cfg.block_writes,
		.max_pages = n->cfg.max_db_size ? (n->cfg.max_db_size + 4095) / 4096 : 0,
		.txn_timeout_ms = n->cfg.txn_timeout_s * 1000,
	};
	db_set_limits(n->db, &l);
}

/* ---- open / close ---- */

static void ns_close(struct ns *n)
{
	if (!n)
		return;
	cap_close(n->cap);
	db_close(n->db);
	free(n->dir);
	free(n);
}

/* Opens the database and frame log of the namespace stored in dir (disk
 * I/O: the log is verified, maybe rebuilt) into a new, unlisted struct ns
 * that takes dir. No lock needed. */
static int ns_open_files(const char *name, char *dir, struct ns **out, struct err *e)
{
	struct ns *n = calloc(1, sizeof *n);
	if (!n)
		abort();
	snprintf(n->name, sizeof n->name, "%s", name);
	n->dir = dir;
	struct db_opts dopts = {
		.dir = dir,
		.sync_normal = R.o.sync_normal,
		.txn_timeout_ms = R.o.txn_timeout_ms,
	};
	if (db_open(&dopts, &n->db, e)) {
		ns_close(n);
		return -1;
	}
	char log_dir[4200];
	snprintf(log_dir, sizeof log_dir, "%s/wallog", dir);
	struct cap_opts copts = {
		.db_path = db_path(n->db),
		.log_dir = log_dir,
		.max_log_bytes = R.o.max_log_bytes,
		.max_log_age_ms = R.o.max_log_age_ms,
		.checkpoint_interval_ms = R.o.checkpoint_interval_ms,
		.sync_normal = R.o.sync_normal,
		.on_commit = R.o.on_commit,
		.on_commit_arg = R.o.on_commit_arg,
	};
	struct cap_open_info cinfo;
	if (cap_open(&copts, &n->cap, &cinfo, e)) {
		ns_close(n);
		return -1;
	}
	if (cinfo.rebuilt)
		log_info("namespace %s: frame log made from the database (%s): replicas start over", name, cinfo.why);
	db_set_cap(n->db, n->cap);
	ns_config_load(dir, &n->cfg);
	ns_apply_config(n);
	*out = n;
	return 0;
}

/* Lists an opened namespace. R.mu held. */
static void ns_link(struct ns *n)
{
	n->refs = 1; /* the registry's */
	n->listed = true;
	n->next = R.list;
	R.list = n;
	log_debug("namespace %s opened (%s)", n->name, n->dir);
}

/* Opens and lists the namespace stored in dir. R.mu held (admin operations:
 * new namespaces, quick to open). */
static int ns_open(const char *name, char *dir, struct ns **out, struct err *e)
{
	int rc = ns_open_files(name, dir, out, e);
	if (rc == 0)
		ns_link(*out);
	return rc;
}

static struct ns *ns_find(struct ns *list, const char *name)
{
	for (struct ns *n = list; n; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void ns_unlink(struct ns **list, struct ns *n)
{
	for (struct ns **pp = list; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			return;
		}
}

static int ns_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	if (remove(path) != 0)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

static void ns_rm_rf(const char *dir)
{
	nftw(dir, ns_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int ns_init(const struct ns_opts *o, struct err *e)
{
	R.o = *o;
	R.root = strdup(o->root);
	if (!R.root)
		abort();
	R.on = true;
	if (mkdir(R.root, 0755) != 0 && errno != EEXIST)
		return err_set(e, "cannot create %s: %s", R.root, strerror(errno));
	char dbs[4200];
	snprintf(dbs, sizeof dbs, "%s/dbs", R.root);
	if (o->enabled && mkdir(dbs, 0755) != 0 && errno != EEXIST)
		return err_set(e, "cannot create %s: %s", dbs, strerror(errno));
	if (o->disable_default && !ns_exists_on_disk(R.root))
		return 0;
	pthread_mutex_lock(&R.mu);
	struct ns *n;
	int rc = ns_open(NS_DEFAULT, ns_dir_of(NS_DEFAULT), &n, e);
	pthread_mutex_unlock(&R.mu);
	return rc;
}

void ns_shutdown(void)
{
	pthread_mutex_lock(&R.mu);
	while (R.list) {
		struct ns *n = R.list;
		R.list = n->next;
		if (n->refs != 1)
			log_warn("namespace %s still has %d users at shutdown", n->name, n->refs - 1);
		ns_close(n);
	}
	while (R.deleted) {
		struct ns *n = R.deleted;
		R.deleted = n->next;
		log_warn("deleted namespace %s still has %d users at shutdown", n->name, n->refs);
		char *dir = strdup(n->dir);
		ns_close(n);
		if (dir)
			ns_rm_rf(dir);
		free(dir);
	}
	pthread_mutex_unlock(&R.mu);
	free(R.root);
	R.root = NULL;
	R.on = false;
}

/* Whether name may be opened (R.mu held): 0, or NS_ENOENT with e. */
static int ns_openable(const char *name, const char *dir, struct err *e)
{
	bool is_default = strcmp(name, NS_DEFAULT) == 0;
	if ((!is_default && !R.o.enabled) || ns_find(R.deleted, name) || !ns_exists_on_disk(dir))
		return err_set(e, "Namespace `%s` doesn't exist", name), NS_ENOENT;
	return 0;
}

/* ns_get and ns_get_open: the fast path (listed already) and the checks. */
static int ns_lookup(const char *name, struct ns **out, char **dirp, struct err *e)
{
	*out = NULL;
	*dirp = NULL;
	if (!R.on || !name || !ns_name_valid(name, strlen(name))) {
		err_set(e, "Namespace `%.200s` doesn't exist", name ? name : "");
		return NS_ENOENT;
	}
	pthread_mutex_lock(&R.mu);
	struct ns *n = ns_find(R.list, name);
	if (n) {
		n->refs++;
		pthread_mutex_unlock(&R.mu);
		*out = n;
		return 0;
	}
	char *dir = ns_dir_of(name);
	int rc = ns_openable(name, dir, e);
	pthread_mutex_unlock(&R.mu);
	if (rc)
		free(dir);
	else
		*dirp = dir;
	return rc;
}

int ns_get_open(const char *name, struct ns **out, struct err *e)
{
	char *dir;
	int rc = ns_lookup(name, out, &dir, e);
	if (rc == 0 && !*out) {
		free(dir);
		err_set(e, "Namespace `%s` is not open yet", name);
		return NS_ENOTOPEN;
	}
	return rc;
}

int ns_get(const char *name, struct ns **out, struct err *e)
{
	char *dir;
	int rc = ns_lookup(name, out, &dir, e);
	if (rc || *out)
		return rc;
	/* The first open: one at a time (ns_open_mu), and with R.mu released
	 * meanwhile, so holders of other namespaces go on. Nothing can list or
	 * create the name meanwhile: the admin operations find it on disk
	 * (create, fork: EEXIST) or open it through here (delete). */
	pthread_mutex_lock(&ns_open_mu);
	pthread_mutex_lock(&R.mu);
	struct ns *n = ns_find(R.list, name);
	if (n) { /* opened while we waited */
		n->refs++;
		pthread_mutex_unlock(&R.mu);
		pthread_mutex_unlock(&ns_open_mu);
		free(dir);
		*out = n;
		return 0;
	}
	rc = ns_openable(name, dir, e);
	pthread_mutex_unlock(&R.mu);
	if (rc == 0)
		rc = ns_open_files(name, dir, &n, e); /* takes dir */
	else
		free(dir);
	if (rc == 0) {
		pthread_mutex_lock(&R.mu);
		ns_link(n);
		n->refs++;
		pthread_mutex_unlock(&R.mu);
		*out = n;
	}
	pthread_mutex_unlock(&ns_open_mu);
	return rc;
}

struct ns *ns_ref(struct ns *n)
{
	pthread_mutex_lock(&R.mu);
	n->refs++;
	pthread_mutex_unlock(&R.mu);
	return n;
}

void ns_put(struct ns *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&R.mu);
	bool last = --n->refs == 0;
	if (last)
		ns_unlink(&R.deleted, n);
	pthread_mutex_unlock(&R.mu);
	if (last) {
		/* only an unlisted (deleted) namespace reaches 0 */
		char *dir = strdup(n->dir);
		log_info("namespace %s deleted", n->name);
		ns_close(n);
		if (dir)
			ns_rm_rf(dir);
		free(dir);
	}
}

bool ns_deleted(struct ns *n)
{
	pthread_mutex_lock(&R.mu);
	bool d = !n->listed;
	pthread_mutex_unlock(&R.mu);
	return d;
}

const char *ns_name(const struct ns *n)
{
	return n->name;
}

struct db *ns_db(struct ns *n)
{
	return n->db;
}

struct rlog *ns_log(struct ns *n)
{
	return cap_log(n->cap);
}

struct cap *ns_cap(struct ns *n)
{
	return n->cap;
}

/* ---- admin ---- */

/* Makes the namespace's directory; NS_EEXIST if taken. R.mu held. */
static int ns_make_dir(const char *name, char **dirp, struct err *e)
{
	if (!ns_name_valid(name, strlen(name)))
		return err_set(e, "Invalid namespace name"), NS_EINVAL;
	if (strcmp(name, NS_DEFAULT) != 0 && !R.o.enabled)
		return err_set(e, "Namespaces are not enabled (--enable-namespaces)"), NS_EINVAL;
	if (ns_find(R.deleted, name))
		return err_set(e, "Namespace `%s` is being deleted and still in use", name), NS_EBUSY;
	char *dir = ns_dir_of(name);
	if (ns_find(R.list, name) || ns_exists_on_disk(dir)) {
		free(dir);
		return err_set(e, "Namespace `%s` already exists", name), NS_EEXIST;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		err_set(e, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	*dirp = dir;
	return 0;
}

int ns_create(const char *name, const struct ns_config *cfg, struct err *e)
{
	pthread_mutex_lock(&ns_admin_mu);
	pthread_mutex_lock(&R.mu);
	char *dir = NULL;
	int rc = ns_make_dir(name, &dir, e);
	if (rc == 0 && cfg)
		rc = ns_config_save(dir, cfg, e);
	struct ns *n = NULL;
	if (rc == 0) {
		char *d2 = strdup(dir);
		if (!d2)
			abort();
		rc = ns_open(name, d2, &n, e); /* creates data (and the log) */
		if (rc && strcmp(name, NS_DEFAULT) != 0)
			ns_rm_rf(dir);
	}
	pthread_mutex_unlock(&R.mu);
	pthread_mutex_unlock(&ns_admin_mu);
	free(dir);
	if (rc == 0)
		log_info("namespace %s created", name);
	return rc;
}

static int ns_fork_locked(const char *from, const char *to, struct err *e);

int ns_fork(const char *from, const char *to, struct err *e)
{
	pthread_mutex_lock(&ns_admin_mu);
	int rc = ns_fork_locked(from, to, e);
	pthread_mutex_unlock(&ns_admin_mu);
	return rc;
}

static int ns_fork_locked(const char *from, const char *to, struct err *e)
{
	struct ns *src;
	int rc = ns_get(from, &src, e);
	if (rc)
		return rc;
	pthread_mutex_lock(&R.mu);
	char *dir = NULL;
	rc = ns_make_dir(to, &dir, e);
	pthread_mutex_unlock(&R.mu);
	if (rc) {
		ns_put(src);
		return rc;
	}
	/* the copy, from one read transaction of the source (a db connection:
	 * it never checkpoints) into a plain file that ns_open then prepares.
	 * It is made as data.fork and renamed to data under R.mu: a namespace
	 * exists once its data file does, and a request must not find (and
	 * open) a half-made copy */
	char path[4200], final[4200];
	snprintf(path, sizeof path, "%s/data.fork", dir);
	snprintf(final, sizeof final, "%s/data", dir);
	struct db_conn *conn = NULL;
	sqlite3 *dst = NULL;
	rc = db_conn_open(ns_db(src), &conn, e);
	if (rc == 0 && sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		rc = err_set(e, "cannot create %s", path);
	if (rc == 0) {
		db_conn_enter(conn);
		sqlite3_backup *bk = sqlite3_backup_init(dst, "main", db_conn_sqlite(conn), "main");
		int brc = bk ? sqlite3_backup_step(bk, -1) : SQLITE_ERROR;
		if (bk)
			sqlite3_backup_finish(bk);
		db_conn_leave(conn);
		if (brc != SQLITE_DONE)
			rc = err_set(e, "copy failed: %s", sqlite3_errmsg(dst));
	}
	sqlite3_close(dst);
	db_conn_close(conn);
	struct ns_config cfg;
	ns_get_config(src, &cfg);
	ns_put(src);
	pthread_mutex_lock(&R.mu);
	if (rc == 0)
		rc = ns_config_save(dir, &cfg, e);
	if (rc == 0 && rename(path, final) != 0)
		rc = err_set(e, "cannot rename %s: %s", path, strerror(errno));
	if (rc == 0) {
		struct ns *n;
		char *d2 = strdup(dir);
		if (!d2)
			abort();
		rc = ns_open(to, d2, &n, e);
	}
	if (rc && strcmp(to, NS_DEFAULT) != 0)
		ns_rm_rf(dir);
	pthread_mutex_unlock(&R.mu);
	free(dir);
	if (rc == 0)
		log_info("namespace %s forked from %s", to, from);
	return rc;
}

int ns_delete(const char *name, struct err *e)
{
	if (name && strcmp(name, NS_DEFAULT) == 0)
		return err_set(e, "The default namespace cannot be deleted"), NS_EINVAL;
	struct ns *n;
	pthread_mutex_lock(&ns_admin_mu);
	int rc = ns_get(name, &n, e); /* opens it if needed: then one code path */
	if (rc) {
		pthread_mutex_unlock(&ns_admin_mu);
		return rc;
	}
	pthread_mutex_lock(&R.mu);
	if (n->listed) {
		n->listed = false;
		ns_unlink(&R.list, n);
		n->next = R.deleted;
		R.deleted = n;
		n->refs--; /* the registry's reference */
	}
	pthread_mutex_unlock(&R.mu);
	/* users keep a working database until they let go; new ones see 404 */
	ns_put(n);
	pthread_mutex_unlock(&ns_admin_mu);
	return 0;
}

void ns_get_config(struct ns *n, struct ns_config *out)
{
	pthread_mutex_lock(&R.mu);
	*out = n->cfg;
	pthread_mutex_unlock(&R.mu);
}

int ns_set_config(struct ns *n, const struct ns_config *cfg, struct err *e)
{
	pthread_mutex_lock(&R.mu);
	int rc = ns_config_save(n->dir, cfg, e);
	if (rc == 0) {
		n->cfg = *cfg;
		ns_apply_config(n);
	}
	pthread_mutex_unlock(&R.mu);
	return rc;
}

void ns_each_open(void (*fn)(struct ns *n, void *arg), void *arg)
{
	pthread_mutex_lock(&R.mu);
	for (struct ns *n = R.list; n; n = n->next)
		fn(n, arg);
	pthread_mutex_unlock(&R.mu);
}

void ns_count(struct ns *n, uint64_t queries, uint64_t rows_read, uint64_t rows_written)
{
	atomic_fetch_add_explicit(&n->queries, queries, memory_order_relaxed);
	atomic_fetch_add_explicit(&n->rows_read, rows_read, memory_order_relaxed);
	atomic_fetch_add_explicit(&n->rows_written, rows_written, memory_order_relaxed);
}

void ns_usage(struct ns *n, struct ns_usage *out)
{
	out->queries = n->queries;
	out->rows_read = n->rows_read;
	out->rows_written = n->rows_written;
}

uint64_t ns_storage_bytes(struct ns *n)
{
	uint64_t total = 0;
	char p[4200];
	struct stat st;
	snprintf(p, sizeof p, "%s", db_path(n->db));
	if (stat(p, &st) == 0)
		total += (uint64_t)st.st_size;
	snprintf(p, sizeof p, "%s-wal", db_path(n->db));
	if (stat(p, &st) == 0)
		total += (uint64_t)st.st_size;
	return total;
}
