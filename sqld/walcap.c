/* walcap: see walcap.h for the contract. Implementation notes:
 *
 * The file format (header, frames, checksums) is proto/walfmt.h's FORMAT
 * block; walcap adds no format of its own.
 *
 * One walcap_collect() = stat the -wal path (reopen if it names a new file),
 * read the 32-byte header, compare it byte for byte with the one being
 * followed (different or invalid: a new WAL generation, start at frame 1),
 * then read frames in batches of WALCAP_BATCH with pread from the position
 * on, checking each with walfmt_chain_next on a tentative copy of the chain.
 * Each frame's page goes into the transaction buffer: a slot per distinct
 * page (a hash table page_no -> slot, whose entries are valid only when they
 * carry the current transaction's stamp, so it never needs clearing). A
 * commit frame closes the transaction: its slots are sorted by page number,
 * handed to the callback, and only then does the position (chain copy,
 * size_after, counters) move. The first frame that does not chain, or the end
 * of the file, ends the call; frames buffered since the last commit frame are
 * dropped and read again next time (the writer may rewrite them in place).
 * The bytes handed over are the very bytes whose checksum was checked.
 *
 * Sector padding: with synchronous=FULL on a file system without
 * powersafe overwrite (unix VFS option psow=0), SQLite pads each commit to a
 * sector boundary by writing the commit frame again, as further commit
 * frames. A commit frame that immediately follows a commit frame and repeats
 * it exactly (page, db size, content) is consumed without being delivered: as
 * a transaction it would change nothing. (walcap keeps a copy of the last
 * commit frame's page for this check.)
 *
 * Cost: every call re-reads the uncommitted tail after the last commit frame
 * (normally empty; after a rolled-back spill, until the next commit
 * overwrites it). Memory: the distinct pages of the largest transaction, kept
 * between calls up to WALCAP_KEEP_PAGES pages. */
#include "walcap.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALCAP_BATCH 32u        /* frames per pread */
#define WALCAP_KEEP_PAGES 1024u /* buffer pages kept between calls (4 MiB) */
#define WALCAP_FRAME_SIZE (WALFMT_FRAME_HDR_SIZE + WALCAP_PAGE_SIZE)

struct walcap_ht {
	uint32_t page_no;
	uint32_t slot;
	uint32_t stamp; /* valid iff equal to walcap.stamp */
};

struct walcap {
	char *wal_path;
	int fd; /* -1: no -wal open */
	dev_t dev;
	ino_t ino;

	/* Position: the header being followed and the chain through the last
	 * consumed commit frame. */
	bool following;
	uint8_t hdr_raw[WALFMT_HDR_SIZE];
	struct walfmt_chain chain;
	uint32_t size_after;
	uint64_t restarts, txns, frames, padding;
	bool reset_needed;

	/* The open transaction's pages. */
	uint8_t *pages;       /* nslots * WALCAP_PAGE_SIZE */
	uint32_t *slot_pgno;  /* page number of each slot */
	uint32_t nslots, cap; /* slots used / allocated */
	struct walcap_ht *ht; /* htcap entries, power of two */
	uint32_t htcap, stamp;
	uint32_t nframes_txn; /* frames in the open transaction */
	struct walcap_page *list; /* delivery list, list_cap entries */
	uint32_t list_cap;

	uint8_t *rbuf; /* WALCAP_BATCH frames */
	/* The last commit frame consumed in this WAL generation (padding check). */
	bool have_last;
	uint32_t last_page_no, last_db_size;
	uint8_t *last_commit; /* its page */
};

/* Opens the -wal read-only without atime updates: an atime update dirties
 * the inode, which the next commit's fdatasync then has to write (ext4
 * without a journal writes it synchronously). O_NOATIME needs the file's
 * owner; otherwise (EPERM) a plain open. */
static int walcap_open_wal(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd;
}

static void *walcap_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort(); /* sqld aborts on out-of-memory (DESIGN.md §4) */
	return q;
}

int walcap_open(const char *db_path, struct walcap **out, struct err *e)
{
	*out = NULL;
	struct walcap *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	size_t n = strlen(db_path);
	w->wal_path = walcap_xrealloc(NULL, n + 5);
	memcpy(w->wal_path, db_path, n);
	memcpy(w->wal_path + n, "-wal", 5);
	w->fd = -1;
	w->rbuf = walcap_xrealloc(NULL, (size_t)WALCAP_BATCH * WALCAP_FRAME_SIZE);
	w->last_commit = walcap_xrealloc(NULL, WALCAP_PAGE_SIZE);
	w->stamp = 1;
	/* Open now if the -wal exists (a missing one is an empty WAL). */
	int fd = walcap_open_wal(w->wal_path);
	if (fd < 0 && errno != ENOENT) {
		err_set(e, "walcap: open %s: %s", w->wal_path, strerror(errno));
		walcap_close(w);
		return -1;
	}
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) != 0) {
			err_set(e, "walcap: fstat %s: %s", w->wal_path, strerror(errno));
			close(fd);
			walcap_close(w);
			return -1;
		}
		w->fd = fd;
		w->dev = st.st_dev;
		w->ino = st.st_ino;
	}
	*out = w;
	return 0;
}

static void walcap_free_txn_buffers(struct walcap *w)
{
	free(w->pages);
	free(w->slot_pgno);
	free(w->ht);
	free(w->list);
	w->pages = NULL;
	w->slot_pgno = NULL;
	w->ht = NULL;
	w->list = NULL;
	w->nslots = w->cap = w->htcap = w->list_cap = 0;
}

void walcap_close(struct walcap *w)
{
	if (!w)
		return;
	/* Safe: SQLite holds no POSIX locks on the -wal (see walcap.h). */
	if (w->fd >= 0)
		close(w->fd);
	walcap_free_txn_buffers(w);
	free(w->rbuf);
	free(w->last_commit);
	free(w->wal_path);
	free(w);
}

/* Makes w->fd refer to the file the -wal path names now and reports its size
 * (0 when there is none). */
static int walcap_sync_file(struct walcap *w, uint64_t *size, struct err *e)
{
	struct stat st;
	*size = 0;
	if (stat(w->wal_path, &st) != 0) {
		if (errno != ENOENT)
			return err_set(e, "walcap: stat %s: %s", w->wal_path, strerror(errno));
		if (w->fd >= 0) { /* deleted (last connection closed): drop it */
			close(w->fd);
			w->fd = -1;
		}
		return 0;
	}
	if (w->fd >= 0 && (st.st_dev != w->dev || st.st_ino != w->ino)) {
		close(w->fd); /* replaced by a new file */
		w->fd = -1;
	}
	if (w->fd < 0) {
		int fd = walcap_open_wal(w->wal_path);
		if (fd < 0) {
			if (errno == ENOENT)
				return 0;
			return err_set(e, "walcap: open %s: %s", w->wal_path, strerror(errno));
		}
		w->fd = fd;
	}
	if (fstat(w->fd, &st) != 0)
		return err_set(e, "walcap: fstat %s: %s", w->wal_path, strerror(errno));
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	*size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* pread until n bytes or the end of the file; returns the count or -1. */
static ssize_t walcap_pread(int fd, uint8_t *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* The WAL is empty (or gone): forget the header being followed. */
static void walcap_set_empty(struct walcap *w)
{
	if (w->following) {
		w->restarts++;
		w->reset_needed = false;
	}
	w->following = false;
	w->have_last = false;
	memset(&w->chain, 0, sizeof w->chain);
}

static void walcap_txn_begin(struct walcap *w)
{
	w->nslots = 0;
	w->nframes_txn = 0;
	if (++w->stamp == 0) { /* wrapped: clear the table once */
		if (w->ht)
			memset(w->ht, 0, (size_t)w->htcap * sizeof *w->ht);
		w->stamp = 1;
	}
}

static void walcap_ht_put(struct walcap *w, uint32_t page_no, uint32_t slot)
{
	uint32_t mask = w->htcap - 1;
	uint32_t i = (page_no * 2654435761u) & mask;
	while (w->ht[i].stamp == w->stamp)
		i = (i + 1) & mask;
	w->ht[i].page_no = page_no;
	w->ht[i].slot = slot;
	w->ht[i].stamp = w->stamp;
}

/* Adds (or replaces: the later frame wins) page page_no of the open txn. */
static void walcap_txn_add(struct walcap *w, uint32_t page_no, const uint8_t *data)
{
	w->nframes_txn++;
	if (w->htcap) {
		uint32_t mask = w->htcap - 1;
		for (uint32_t i = (page_no * 2654435761u) & mask; w->ht[i].stamp == w->stamp; i = (i + 1) & mask) {
			if (w->ht[i].page_no == page_no) {
				memcpy(w->pages + (size_t)w->ht[i].slot * WALCAP_PAGE_SIZE, data, WALCAP_PAGE_SIZE);
				return;
			}
		}
	}
	if (w->nslots == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 64;
		w->pages = walcap_xrealloc(w->pages, (size_t)cap * WALCAP_PAGE_SIZE);
		w->slot_pgno = walcap_xrealloc(w->slot_pgno, (size_t)cap * sizeof *w->slot_pgno);
		w->cap = cap;
	}
	uint32_t slot = w->nslots++;
	memcpy(w->pages + (size_t)slot * WALCAP_PAGE_SIZE, data, WALCAP_PAGE_SIZE);
	w->slot_pgno[slot] = page_no;
	if ((uint64_t)w->nslots * 2 > w->htcap) { /* grow and rehash this txn's slots */
		uint32_t htcap = w->htcap ? w->htcap * 2 : 256;
		while ((uint64_t)w->nslots * 2 > htcap)
			htcap *= 2;
		free(w->ht);
		w->ht = calloc(htcap, sizeof *w->ht);
		if (!w->ht)
			abort();
		w->htcap = htcap;
		for (uint32_t s = 0; s < w->nslots; s++)
			walcap_ht_put(w, w->slot_pgno[s], s);
	} else {
		walcap_ht_put(w, page_no, slot);
	}
}

static int walcap_cmp_page(const void *a, const void *b)
{
	const struct walcap_page *x = a, *y = b;
	return x->page_no < y->page_no ? -1 : x->page_no > y->page_no;
}

/* Hands the open transaction (closed by a commit frame for commit_page with
 * db size size_after) to fn. */
static int walcap_deliver(struct walcap *w, uint32_t first, uint32_t last, uint32_t commit_page, uint32_t size_after,
			  walcap_txn_fn fn, void *arg, struct err *e)
{
	if (!fn)
		return 0;
	if (w->list_cap < w->nslots) {
		w->list = walcap_xrealloc(w->list, (size_t)w->cap * sizeof *w->list);
		w->list_cap = w->cap;
	}
	uint32_t n = 0, beyond = 0;
	for (uint32_t s = 0; s < w->nslots; s++) {
		uint32_t pg = w->slot_pgno[s];
		if (pg > size_after && pg != commit_page) {
			beyond++;
			continue;
		}
		w->list[n].page_no = pg;
		w->list[n].data = w->pages + (size_t)s * WALCAP_PAGE_SIZE;
		n++;
	}
	qsort(w->list, n, sizeof *w->list, walcap_cmp_page);
	struct walcap_txn t = {
		.size_after = size_after,
		.npages = n,
		.pages = w->list,
		.first_frame = first,
		.last_frame = last,
		.superseded = w->nframes_txn - w->nslots,
		.beyond = beyond,
	};
	return fn(arg, &t, e);
}

/* Reads frames from the position on, at most up to frame `limit` (the end
 * of the file: UINT32_MAX with the file's frame count in nfile), delivering
 * every complete transaction. *reached = the position reached the limit. */
static int walcap_frames(struct walcap *w, uint64_t nfile, walcap_txn_fn fn, void *arg, bool *reached,
			 struct err *e)
{
	struct walfmt_chain c = w->chain; /* tentative: moves ahead of w->chain */
	uint32_t first = c.nframes + 1;
	int rc = 0;
	walcap_txn_begin(w);
	while (c.nframes < nfile) {
		uint64_t want = nfile - c.nframes;
		if (want > WALCAP_BATCH)
			want = WALCAP_BATCH;
		ssize_t r = walcap_pread(w->fd, w->rbuf, (size_t)want * WALCAP_FRAME_SIZE,
					 walfmt_frame_offset(WALCAP_PAGE_SIZE, c.nframes + 1));
		if (r < 0) {
			rc = err_set(e, "walcap: read %s: %s", w->wal_path, strerror(errno));
			break;
		}
		uint32_t got = (uint32_t)((size_t)r / WALCAP_FRAME_SIZE);
		bool stop = got < want; /* shorter than expected: the end */
		for (uint32_t j = 0; j < got; j++) {
			const uint8_t *fp = w->rbuf + (size_t)j * WALCAP_FRAME_SIZE;
			struct walfmt_frame f;
			if (!walfmt_chain_next(&c, fp, &f)) {
				stop = true;
				break;
			}
			const uint8_t *page = fp + WALFMT_FRAME_HDR_SIZE;
			if (f.db_size != 0 && w->nframes_txn == 0 && w->have_last && f.page_no == w->last_page_no &&
			    f.db_size == w->last_db_size && memcmp(page, w->last_commit, WALCAP_PAGE_SIZE) == 0) {
				w->chain = c; /* sector padding: consume, deliver nothing */
				w->frames++;
				w->padding++;
				first = c.nframes + 1;
				continue;
			}
			walcap_txn_add(w, f.page_no, page);
			if (f.db_size == 0)
				continue;
			rc = walcap_deliver(w, first, c.nframes, f.page_no, f.db_size, fn, arg, e);
			if (rc < 0) {
				stop = true;
				break;
			}
			w->chain = c;
			w->size_after = f.db_size;
			w->txns++;
			w->frames += c.nframes - first + 1;
			first = c.nframes + 1;
			w->have_last = true;
			w->last_page_no = f.page_no;
			w->last_db_size = f.db_size;
			memcpy(w->last_commit, page, WALCAP_PAGE_SIZE);
			walcap_txn_begin(w);
		}
		if (stop || rc < 0)
			break;
	}
	*reached = w->chain.nframes == nfile;
	w->nslots = 0;
	w->nframes_txn = 0;
	if (w->cap > WALCAP_KEEP_PAGES)
		walcap_free_txn_buffers(w);
	return rc;
}

static int walcap_run(struct walcap *w, walcap_txn_fn fn, void *arg, struct err *e)
{
	uint64_t size;
	int rc = walcap_sync_file(w, &size, e);
	if (rc < 0)
		return rc;
	uint8_t hb[WALFMT_HDR_SIZE];
	if (w->fd < 0 || size < WALFMT_HDR_SIZE) {
		walcap_set_empty(w);
		return 0;
	}
	ssize_t r = walcap_pread(w->fd, hb, sizeof hb, 0);
	if (r < 0)
		return err_set(e, "walcap: read %s: %s", w->wal_path, strerror(errno));
	if ((size_t)r < sizeof hb) {
		walcap_set_empty(w);
		return 0;
	}
	if (!w->following || memcmp(hb, w->hdr_raw, sizeof hb) != 0) {
		/* Not the WAL we follow: validate it as recovery does. */
		struct walfmt_hdr h;
		struct err he;
		rc = walfmt_hdr_decode(hb, &h, &he);
		if (rc == WALFMT_ENOTWAL) { /* SQLite treats it as empty */
			walcap_set_empty(w);
			return 0;
		}
		if (rc < 0)
			return err_set(e, "walcap: %s: %s", w->wal_path, he.msg);
		if (h.page_size != WALCAP_PAGE_SIZE)
			return err_set(e, "walcap: %s: page size %u, expected %u", w->wal_path, h.page_size,
				       WALCAP_PAGE_SIZE);
		if (w->following) {
			w->restarts++;
			w->reset_needed = false;
		}
		w->following = true;
		w->have_last = false;
		memcpy(w->hdr_raw, hb, sizeof hb);
		walfmt_chain_init(&w->chain, &h);
	}

	uint64_t nfile = (size - WALFMT_HDR_SIZE) / WALCAP_FRAME_SIZE;
	if (nfile > UINT32_MAX)
		nfile = UINT32_MAX;
	bool reached;
	return walcap_frames(w, nfile, fn, arg, &reached, e);
}

int walcap_collect(struct walcap *w, walcap_txn_fn fn, void *arg, struct err *e)
{
	if (!fn)
		return err_set(e, "walcap_collect: no callback");
	return walcap_run(w, fn, arg, e);
}

int walcap_collect_upto(struct walcap *w, uint32_t mx_frame, const unsigned char salts[8], walcap_txn_fn fn,
			void *arg, struct err *e)
{
	if (!fn)
		return err_set(e, "walcap_collect_upto: no callback");
	/* The fast path: the WAL being followed, grown (or not) by whole
	 * transactions. Salts change at every restart and a new -wal file gets
	 * random ones, so equal salts mean the same file and header. */
	if (w->following && w->fd >= 0 && memcmp(w->hdr_raw + 16, salts, 8) == 0 && mx_frame >= w->chain.nframes) {
		if (mx_frame == w->chain.nframes)
			return 0;
		bool reached;
		int rc = walcap_frames(w, mx_frame, fn, arg, &reached, e);
		if (rc < 0 || reached)
			return rc;
		/* the file disagrees with the wal-index: trust only the file */
	}
	return walcap_run(w, fn, arg, e);
}

int walcap_skip(struct walcap *w, struct err *e)
{
	return walcap_run(w, NULL, NULL, e);
}

void walcap_pos(const struct walcap *w, struct walcap_pos *out)
{
	memset(out, 0, sizeof *out);
	out->following = w->following;
	if (w->following) {
		out->salt1 = w->chain.hdr.salt1;
		out->salt2 = w->chain.hdr.salt2;
		out->ckpt_seq = w->chain.hdr.ckpt_seq;
		out->frame = w->chain.nframes;
		out->ck = w->chain.ck;
	}
	out->size_after = w->size_after;
	out->restarts = w->restarts;
	out->txns = w->txns;
	out->frames = w->frames;
	out->padding = w->padding;
}

int walcap_checkpointed(struct walcap *w, int n_log, int n_ckpt, struct err *e)
{
	if (n_log < 0)
		return 0;
	uint32_t at = w->following ? w->chain.nframes : 0;
	if (n_log > 0 && (uint32_t)n_log != at)
		return err_set(e,
			       "walcap: the checkpoint saw a WAL of %d frames but capture is at frame %u: "
			       "walcap_collect must run after every commit and before every checkpoint",
			       n_log, at);
	if (n_ckpt >= n_log)
		w->reset_needed = true;
	return 0;
}

bool walcap_reset_needed(const struct walcap *w)
{
	return w->reset_needed;
}

int walcap_wal_frames(struct walcap *w, uint32_t *out, struct err *e)
{
	struct stat st;
	*out = 0;
	if (stat(w->wal_path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, "walcap: stat %s: %s", w->wal_path, strerror(errno));
	}
	if (st.st_size < WALFMT_HDR_SIZE)
		return 0;
	uint64_t n = ((uint64_t)st.st_size - WALFMT_HDR_SIZE) / WALCAP_FRAME_SIZE;
	*out = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	return 0;
}
