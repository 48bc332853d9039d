/* meta: the durable replica position; see meta.h for the FORMAT and the
 * invariants. Threads: see meta.h. */
#include "meta.h"

#include "crc64.h"
#include "frame.h"
#include "hex.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define META_MAGIC "SQLWPOS"
#define META_VERSION 1u
#define F_LOG 1u
#define F_FRAME 2u
#define F_PENDING 4u

struct meta {
	int fd;
	uint64_t seq; /* of the slot last loaded or stored */
	char *path;
};

void meta_encode_slot(uint8_t out[META_SLOT_SIZE], const struct meta_pos *p, uint64_t seq)
{
	memset(out, 0, META_SLOT_SIZE);
	memcpy(out, META_MAGIC, 8);
	frame_put_le32(out + 8, META_VERSION);
	uint32_t fl = (p->has_log ? F_LOG : 0) | (p->has_frame ? F_FRAME : 0) | (p->has_pending ? F_PENDING : 0);
	frame_put_le32(out + 12, fl);
	frame_put_le64(out + 16, seq);
	if (p->has_log)
		memcpy(out + 24, p->log_id, 16);
	if (p->has_frame)
		frame_put_le64(out + 40, p->frame_no);
	if (p->has_pending) {
		frame_put_le64(out + 48, p->pend_frame_no);
		frame_put_le32(out + 56, p->pend_salt1);
		frame_put_le32(out + 60, p->pend_salt2);
		frame_put_le32(out + 64, p->pend_wal_frame);
	}
	frame_put_le64(out + 72, crc64(out, 72));
}

static bool slot_decode(const uint8_t *s, struct meta_pos *p, uint64_t *seq)
{
	if (memcmp(s, META_MAGIC, 8) != 0 || frame_get_le32(s + 8) != META_VERSION)
		return false;
	if (frame_get_le64(s + 72) != crc64(s, 72))
		return false;
	uint32_t fl = frame_get_le32(s + 12);
	if (fl & ~(F_LOG | F_FRAME | F_PENDING))
		return false;
	memset(p, 0, sizeof *p);
	p->has_log = fl & F_LOG;
	p->has_frame = fl & F_FRAME;
	p->has_pending = fl & F_PENDING;
	if ((p->has_frame || p->has_pending) && !p->has_log)
		return false;
	*seq = frame_get_le64(s + 16);
	memcpy(p->log_id, s + 24, 16);
	p->frame_no = frame_get_le64(s + 40);
	p->pend_frame_no = frame_get_le64(s + 48);
	p->pend_salt1 = frame_get_le32(s + 56);
	p->pend_salt2 = frame_get_le32(s + 60);
	p->pend_wal_frame = frame_get_le32(s + 64);
	if (p->has_pending && ((p->has_frame && p->pend_frame_no <= p->frame_no) || p->pend_wal_frame == 0))
		return false;
	return true;
}

int meta_decode(const uint8_t *b, size_t n, struct meta_pos *out, uint64_t *seq)
{
	memset(out, 0, sizeof *out);
	*seq = 0;
	if (n == 0)
		return 0;
	bool found = false;
	for (size_t off = 0; off + META_SLOT_SIZE <= n && off < META_FILE_SIZE; off += META_SLOT_SIZE) {
		struct meta_pos p;
		uint64_t s;
		if (slot_decode(b + off, &p, &s) && (!found || s > *seq)) {
			*out = p;
			*seq = s;
			found = true;
		}
	}
	return found ? 0 : META_E_CORRUPT;
}

bool meta_resolve(struct meta_pos *p, uint32_t salt1, uint32_t salt2, uint32_t mx_frame)
{
	if (!p->has_pending)
		return false;
	if (salt1 == p->pend_salt1 && salt2 == p->pend_salt2 && mx_frame >= p->pend_wal_frame) {
		p->has_frame = true;
		p->frame_no = p->pend_frame_no;
	}
	p->has_pending = false;
	return true;
}

/* fsyncs the directory holding path: the file's name (it may just have
 * been created) is then durable on its own, not only because SQLite later
 * fsyncs the directory when it makes the -wal. */
static int meta_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -1;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return -1;
	int rc = fsync(dfd);
	close(dfd);
	return rc;
}

int meta_open(const char *db_path, struct meta **out, struct err *e)
{
	*out = NULL;
	struct meta *m = calloc(1, sizeof *m);
	size_t n = strlen(db_path) + sizeof "-sqlwire-pos";
	if (!m || !(m->path = malloc(n))) {
		free(m);
		return err_set(e, "meta: out of memory"), META_E_IO;
	}
	snprintf(m->path, n, "%s-sqlwire-pos", db_path);
	m->fd = open(m->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (m->fd < 0 || meta_sync_dir(m->path) != 0) {
		err_set(e, "meta: open %s: %s", m->path, strerror(errno));
		if (m->fd >= 0)
			close(m->fd);
		free(m->path);
		free(m);
		return META_E_IO;
	}
	*out = m;
	return 0;
}

void meta_close(struct meta *m)
{
	if (!m)
		return;
	close(m->fd);
	free(m->path);
	free(m);
}

int meta_load(struct meta *m, struct meta_pos *p, struct err *e)
{
	uint8_t b[META_FILE_SIZE];
	ssize_t n = pread(m->fd, b, sizeof b, 0);
	if (n < 0)
		return err_set(e, "meta: read %s: %s", m->path, strerror(errno)), META_E_IO;
	uint64_t seq;
	int rc = meta_decode(b, (size_t)n, p, &seq);
	if (rc)
		return err_set(e, "meta: %s holds no valid position", m->path), rc;
	m->seq = seq;
	return 0;
}

int meta_store(struct meta *m, const struct meta_pos *p, bool sync, struct err *e)
{
	uint8_t s[META_SLOT_SIZE];
	uint64_t seq = m->seq + 1;
	meta_encode_slot(s, p, seq);
	off_t off = (off_t)(seq % 2) * META_SLOT_SIZE;
	ssize_t n = pwrite(m->fd, s, sizeof s, off);
	if (n != (ssize_t)sizeof s)
		return err_set(e, "meta: write %s: %s", m->path, n < 0 ? strerror(errno) : "short write"), META_E_IO;
	m->seq = seq;
	if (sync)
		return meta_sync(m, e);
	return 0;
}

int meta_sync(struct meta *m, struct err *e)
{
	if (fdatasync(m->fd) != 0)
		return err_set(e, "meta: fsync %s: %s", m->path, strerror(errno)), META_E_IO;
	return 0;
}

int meta_uuid_parse(const char *s, uint8_t out[16])
{
	int k = 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		int h = hex_digit((unsigned char)s[i]), l;
		if (h < 0 || (l = hex_digit((unsigned char)s[i + 1])) < 0)
			return -1;
		out[k++] = (uint8_t)(h << 4 | l);
		i++;
	}
	return s[36] == 0 ? 0 : -1;
}

void meta_uuid_format(const uint8_t id[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", id[0], id[1],
		 id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9], id[10], id[11], id[12], id[13], id[14], id[15]);
}
