/* repl_start: a gRPC-web call arrives (repl_int.h): its method from the
 * path, its namespace (x-namespace-bin), its session token, its one
 * request message; Hello is answered at once, errors found before any work
 * too (gRPC statuses), and every other call becomes a struct repl_call: a
 * job, a stream, or a proxy client's queued call. Network thread. */
#include "repl_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gRPC status names for the errors-by-code metric. */
static const char *repl_status_name(int status)
{
	static const char *const names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
	return status >= 0 && status <= 16 ? names[status] : "UNKNOWN";
}

/* Standard or URL-safe base64, padded or not (x-namespace-bin). */
static bool repl_base64_ok(const char *s)
{
	size_t n = strlen(s), pad = 0;
	while (n && s[n - 1] == '=')
		n--, pad++;
	if (pad > 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
		      ch == '/' || ch == '-' || ch == '_'))
			return false;
	}
	if (n % 4 == 1)
		return false;
	return !pad || (n + pad) % 4 == 0;
}

/* A header value without surrounding blanks, in the arena (NULL stays NULL). */
static const char *repl_trim(struct arena *a, const char *s)
{
	if (!s)
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return arena_strndup(a, s, n);
}

static bool repl_has_prefix(const char *path, size_t n, const char *pfx)
{
	size_t k = strlen(pfx);
	return n >= k && memcmp(path, pfx, k) == 0;
}

bool repl_route(const char *path, size_t n)
{
	return repl_has_prefix(path, n, REPL_PFX_LOG) || repl_has_prefix(path, n, REPL_PFX_PROXY);
}

static enum repl_method repl_method_of(const char *path, size_t n)
{
	static const struct {
		const char *path;
		enum repl_method m;
	} methods[] = {
		{REPL_PFX_LOG "Hello", M_HELLO},
		{REPL_PFX_LOG "LogEntries", M_LOG_ENTRIES},
		{REPL_PFX_LOG "BatchLogEntries", M_BATCH},
		{REPL_PFX_LOG "Snapshot", M_SNAPSHOT},
		{REPL_PFX_PROXY "Execute", M_EXECUTE},
		{REPL_PFX_PROXY "Describe", M_DESCRIBE},
		{REPL_PFX_PROXY "Disconnect", M_DISCONNECT},
	};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strlen(methods[i].path) == n && memcmp(methods[i].path, path, n) == 0)
			return methods[i].m;
	return M_NONE;
}

/* The one request message of a unary call (a trailer frame after it is
 * tolerated). Returns 0 and the payload (in a), or a gRPC status with a
 * message in *why. */
static int repl_unframe(struct arena *a, const unsigned char *body, size_t n, size_t max, const uint8_t **msg,
			size_t *mlen, const char **why)
{
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, max);
	struct err e = {{0}};
	size_t off = 0;
	bool got = false;
	int status = GRPC_STATUS_OK;
	while (off < n) {
		struct grpcweb_frame f;
		size_t used = 0;
		int rc = grpcweb_dec_feed(&d, body + off, n - off, &used, &f, &e);
		if (rc < 0) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			if (rc == GRPCWEB_E_TOO_LARGE && n >= GRPCWEB_HDR_SIZE &&
			    n - GRPCWEB_HDR_SIZE >= ((size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4]))
				status = GRPC_STATUS_RESOURCE_EXHAUSTED; /* really that large, not a garbled length */
			*why = arena_printf(a, "malformed gRPC-web request body: %s", e.msg);
			goto out;
		}
		if (rc == 0)
			break;
		off += used;
		if (f.flags != GRPCWEB_FLAG_DATA)
			continue;
		if (got) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			*why = "a unary call takes exactly one request message";
			goto out;
		}
		got = true;
		*msg = f.len ? arena_memdup(a, f.data, f.len) : (const uint8_t *)"";
		*mlen = f.len;
	}
	if (grpcweb_dec_end(&d, &e)) {
		status = GRPC_STATUS_INVALID_ARGUMENT;
		*why = arena_printf(a, "malformed gRPC-web request body: %s", e.msg);
	} else if (!got) {
		status = GRPC_STATUS_INVALID_ARGUMENT;
		*why = "missing request message";
	}
out:
	grpcweb_dec_free(&d);
	return status;
}

static void repl_hello(void *owner, struct ns *ns)
{
	struct rlog_stat st;
	rlog_stat(ns_log(ns), &st);
	char token[REPL_UUID_LEN + 1];
	repl_token(st.log_id, token);
	struct replpb_db_config cfg;
	memset(&cfg, 0, sizeof cfg);
	struct ns_config nc; /* the namespace's config, as sqld sends it */
	ns_get_config(ns, &nc);
	cfg.block_reads = nc.block_reads;
	cfg.block_writes = nc.block_writes;
	cfg.block_reason = nc.block_reason[0] ? nc.block_reason : NULL;
	cfg.max_db_pages = nc.max_db_size / 4096;
	cfg.has_txn_timeout_s = nc.txn_timeout_s > 0;
	cfg.txn_timeout_s = (uint64_t)nc.txn_timeout_s;
	struct replpb_hello_resp h = {
		.generation_id = R.generation_id,
		.generation_start_index = 0,
		.log_id = st.log_id,
		.session_token = (const uint8_t *)token,
		.session_token_len = strlen(token),
		.has_current_replication_index = st.has_commit,
		.current_replication_index = st.last_commit,
		.config = &cfg,
	};
	struct buf b;
	buf_init(&b);
	size_t off = grpcweb_begin_data(&b);
	replpb_encode_hello_resp(&b, &h);
	grpcweb_end_data(&b, off);
	grpcweb_encode_trailers(&b, GRPC_STATUS_OK, NULL);
	R.ops.out(owner, b.p, b.len, false);
	buf_free(&b);
}

struct repl_call *repl_start(void *owner, const char *path, size_t plen, const struct repl_md *md, struct arena *a,
			     const unsigned char *body, size_t n)
{
	int status = GRPC_STATUS_OK;
	const char *why = NULL;
	struct repl_call *c = NULL;
	struct err e = {{0}};
	enum repl_method m = repl_method_of(path, plen);
	bool is_log = repl_has_prefix(path, plen, REPL_PFX_LOG);
	metrics_request(is_log ? MR_REPLICATION : MR_PROXY);
	const char *token = md ? repl_trim(a, md->session_token) : NULL;
	const char *ns_bin = md ? repl_trim(a, md->namespace_bin) : NULL;
	struct ns *ns = NULL;
	const uint8_t *msg = NULL;
	size_t mlen = 0;
	char log_id[RLOG_ID_STRLEN + 1] = "";
	if (!R.on) {
		status = GRPC_STATUS_UNAVAILABLE, why = "replication is not enabled";
		goto answer;
	}
	if (m == M_NONE) {
		status = GRPC_STATUS_UNIMPLEMENTED;
		why = arena_printf(a, "unknown method %.*s", (int)(plen > 200 ? 200 : plen), path);
		goto answer;
	}
	if (R.stopping) {
		status = GRPC_STATUS_UNAVAILABLE, why = "the server is shutting down";
		goto answer;
	}
	/* the namespace: x-namespace-bin only (PROTOCOL.md §6.3); required when
	 * namespaces are on, else it must decode and is ignored */
	if (ns_bin && !repl_base64_ok(ns_bin)) {
		status = GRPC_STATUS_INVALID_ARGUMENT, why = "x-namespace-bin is not valid base64";
		goto answer;
	}
	if (ns_enabled() && !ns_bin) {
		status = GRPC_STATUS_INVALID_ARGUMENT, why = "Missing x-namespace-bin metadata";
		goto answer;
	}
	char name[NS_NAME_MAX + 1];
	if (!ns_enabled())
		strcpy(name, NS_DEFAULT);
	else if (ns_name_from_b64(ns_bin, name, sizeof name)) {
		status = GRPC_STATUS_FAILED_PRECONDITION, why = "NAMESPACE_DOESNT_EXIST";
		goto answer;
	}
	/* never opened here, on the network thread: net opened it on a worker
	 * while the body came in; one that appeared only since is opening */
	int nsrc = ns_get_open(name, &ns, &e);
	if (nsrc == NS_ENOTOPEN) {
		status = GRPC_STATUS_UNAVAILABLE, why = "the namespace is opening: try again";
		goto answer;
	}
	if (nsrc) {
		status = GRPC_STATUS_FAILED_PRECONDITION, why = "NAMESPACE_DOESNT_EXIST";
		goto answer;
	}
	if (is_log && m != M_HELLO) {
		char want[REPL_UUID_LEN + 1];
		rlog_log_id(ns_log(ns), log_id);
		repl_token(log_id, want);
		if (!token || strcmp(token, want) != 0) {
			status = GRPC_STATUS_FAILED_PRECONDITION, why = "NO_HELLO";
			goto answer;
		}
	}
	status = repl_unframe(a, body, n, is_log ? REPL_MAX_MSG_LOG : REPL_MAX_MSG_PROXY, &msg, &mlen, &why);
	if (status)
		goto answer;
	switch (m) {
	case M_HELLO: {
		struct replpb_hello_req hr;
		if (replpb_decode_hello_req(a, msg, mlen, &hr, &e))
			goto bad_message;
		repl_hello(owner, ns);
		ns_put(ns);
		sess_arena_free(a);
		return NULL;
	}
	case M_BATCH:
	case M_LOG_ENTRIES:
	case M_SNAPSHOT: {
		struct replpb_log_offset lo;
		if (replpb_decode_log_offset(a, msg, mlen, &lo, &e))
			goto bad_message;
		if (lo.has_wal_flavor && lo.wal_flavor != REPLPB_WAL_FLAVOR_SQLITE) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			why = lo.wal_flavor == REPLPB_WAL_FLAVOR_LIBSQL ? "libsql wal not supported" : "unknown wal flavor";
			goto answer;
		}
		c = repl_call_new(m, ns, owner, a);
		ns_put(ns);
		memcpy(c->log_id, log_id, sizeof c->log_id);
		c->next = lo.next_offset;
		if (m == M_LOG_ENTRIES) {
			/* the response head goes out now; frames follow as they commit */
			c->awaiting = true;
			repl_call_emit(c, true);
		} else {
			repl_call_submit(c);
		}
		return c;
	}
	case M_EXECUTE:
	case M_DESCRIBE:
	case M_DISCONNECT: {
		const char *client_id;
		struct replpb_program_req prog;
		struct replpb_describe_req desc;
		if (m == M_EXECUTE) {
			if (replpb_decode_program_req(a, msg, mlen, &prog, &e))
				goto bad_message;
			if (exec_batch_check(&prog.pgm, 3, &e)) {
				status = GRPC_STATUS_INVALID_ARGUMENT, why = arena_strdup(a, e.msg);
				goto answer;
			}
			client_id = prog.client_id;
		} else if (m == M_DESCRIBE) {
			if (replpb_decode_describe_req(a, msg, mlen, &desc, &e))
				goto bad_message;
			client_id = desc.client_id;
		} else {
			struct replpb_disconnect dm;
			if (replpb_decode_disconnect(a, msg, mlen, &dm, &e))
				goto bad_message;
			client_id = dm.client_id;
		}
		if (!client_id || !client_id[0] || strlen(client_id) > REPL_MAX_CLIENT_ID) {
			status = GRPC_STATUS_INVALID_ARGUMENT;
			why = "client_id must be 1 to 128 bytes";
			goto answer;
		}
		struct repl_client *cl = repl_client_find(ns, client_id);
		if (!cl && m == M_DISCONNECT) {
			struct buf b;
			buf_init(&b);
			grpcweb_encode_data(&b, "", 0); /* proxy.Ack {} */
			grpcweb_encode_trailers(&b, GRPC_STATUS_OK, NULL);
			R.ops.out(owner, b.p, b.len, false);
			buf_free(&b);
			ns_put(ns);
			sess_arena_free(a);
			return NULL;
		}
		if (!cl) {
			if (R.nclients >= REPL_MAX_CLIENTS) {
				status = GRPC_STATUS_RESOURCE_EXHAUSTED, why = "too many proxy clients";
				goto answer;
			}
			cl = calloc(1, sizeof *cl);
			if (!cl)
				abort();
			snprintf(cl->id, sizeof cl->id, "%s", client_id);
			cl->ns = ns_ref(ns);
			cl->last_ms = repl_now_ms();
			cl->next = R.clients;
			R.clients = cl;
			R.nclients++;
		}
		c = repl_call_new(m, ns, owner, a);
		c->allow = md ? md->allow : 0;
		ns_put(ns);
		if (m == M_EXECUTE)
			c->prog = prog;
		else if (m == M_DESCRIBE)
			c->desc = desc;
		repl_client_push(cl, c);
		return c;
	}
	default:
		status = GRPC_STATUS_UNIMPLEMENTED, why = "unknown method";
		goto answer;
	}
bad_message:
	status = GRPC_STATUS_INVALID_ARGUMENT;
	why = arena_printf(a, "malformed request message: %s", e.msg);
answer:
	metrics_error(repl_status_name(status));
	ns_put(ns);
	repl_answer_status(owner, status, why);
	sess_arena_free(a);
	return NULL;
}
