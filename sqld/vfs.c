/* vfs: see vfs.h. Every sqlite3_io_methods entry forwards to the wrapped
 * file; only xShmLock adds the watcher call (and reads the wal-index
 * header for it through the wrapped file's own xShmMap: region 0 is
 * already mapped by the connection that holds the write lock). */
#include "vfs.h"
#include <limits.h>
#include <stdbool.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct vfs_watcher {
	char path[PATH_MAX];
	vfs_watch_fn fn;
	void *arg;
	struct vfs_watcher *next;
};

struct vfs_file {
	sqlite3_file base;
	sqlite3_file *real; /* right after this struct, in the same allocation */
	char path[PATH_MAX]; /* main database files only: for the watcher lookup */
};

static sqlite3_vfs vfs_self;
static sqlite3_vfs *vfs_real;
static pthread_mutex_t vfs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct vfs_watcher *vfs_watchers;

#define REAL(f) (((struct vfs_file *)(f))->real)

static int vfs_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods->xClose(REAL(f));
	f->pMethods = NULL;
	return rc;
}
static int vfs_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int vfs_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int vfs_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int vfs_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int vfs_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int vfs_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}
static int vfs_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}
static int vfs_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int vfs_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int vfs_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int vfs_device_chars(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int vfs_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}
static void vfs_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int vfs_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int vfs_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int vfs_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

#define VFS_WALIDX_HDR 48
#define VFS_WALIDX_VERSION 3007000u

/* Reads the wal-index header (vfs.h) of the file whose connection holds
 * the write lock; false when it is not there or not consistent. */
static bool vfs_wal_hint(struct vfs_file *vf, struct vfs_wal_hint *out)
{
	void volatile *p = NULL;
	if (vf->real->pMethods->xShmMap(vf->real, 0, 32768, 0, &p) != SQLITE_OK || !p)
		return false;
	unsigned char h[2 * VFS_WALIDX_HDR];
	const volatile unsigned char *src = p;
	for (size_t i = 0; i < sizeof h; i++)
		h[i] = src[i];
	uint32_t version, mx;
	memcpy(&version, h, 4);
	memcpy(&mx, h + 16, 4);
	if (version != VFS_WALIDX_VERSION || h[12] != 1 || memcmp(h, h + VFS_WALIDX_HDR, VFS_WALIDX_HDR) != 0)
		return false;
	out->mx_frame = mx;
	memcpy(out->salts, h + 32, 8);
	return true;
}

/* The WAL write lock is shm lock slot 0 (WAL_WRITE_LOCK in SQLite's wal.c). */
static int vfs_shm_lock(sqlite3_file *f, int ofst, int n, int flags)
{
	struct vfs_file *vf = (struct vfs_file *)f;
	if (flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE) && ofst == 0 && n >= 1 && vf->path[0]) {
		vfs_watch_fn fn = NULL;
		void *arg = NULL;
		pthread_mutex_lock(&vfs_mu);
		for (struct vfs_watcher *w = vfs_watchers; w; w = w->next)
			if (strcmp(w->path, vf->path) == 0) {
				fn = w->fn;
				arg = w->arg;
				break;
			}
		pthread_mutex_unlock(&vfs_mu);
		if (fn) {
			struct vfs_wal_hint h;
			fn(arg, vfs_wal_hint(vf, &h) ? &h : NULL);
		}
	}
	return vf->real->pMethods->xShmLock(vf->real, ofst, n, flags);
}

static const sqlite3_io_methods vfs_methods = {
	3,
	vfs_close,
	vfs_read,
	vfs_write,
	vfs_truncate,
	vfs_sync,
	vfs_file_size,
	vfs_lock,
	vfs_unlock,
	vfs_check_reserved,
	vfs_file_control,
	vfs_sector_size,
	vfs_device_chars,
	vfs_shm_map,
	vfs_shm_lock,
	vfs_shm_barrier,
	vfs_shm_unmap,
	vfs_fetch,
	vfs_unfetch,
};

static int vfs_open(sqlite3_vfs *self, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)self;
	struct vfs_file *vf = (struct vfs_file *)f;
	vf->real = (sqlite3_file *)(vf + 1);
	vf->path[0] = 0;
	int rc = vfs_real->xOpen(vfs_real, name, vf->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		f->pMethods = NULL;
		return rc;
	}
	if (vf->real->pMethods->iVersion < 3) {
		/* the wrapped VFS has no shared memory: nothing to watch */
		vf->real->pMethods->xClose(vf->real);
		f->pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	if ((flags & SQLITE_OPEN_MAIN_DB) && name && !realpath(name, vf->path))
		vf->path[0] = 0;
	f->pMethods = &vfs_methods;
	return SQLITE_OK;
}

/* The rest of the VFS is the real one's. */
static int vfs_delete(sqlite3_vfs *s, const char *n, int sync)
{
	(void)s;
	return vfs_real->xDelete(vfs_real, n, sync);
}
static int vfs_access(sqlite3_vfs *s, const char *n, int flags, int *out)
{
	(void)s;
	return vfs_real->xAccess(vfs_real, n, flags, out);
}
static int vfs_full_pathname(sqlite3_vfs *s, const char *n, int len, char *out)
{
	(void)s;
	return vfs_real->xFullPathname(vfs_real, n, len, out);
}
static void *vfs_dlopen(sqlite3_vfs *s, const char *n)
{
	(void)s;
	return vfs_real->xDlOpen(vfs_real, n);
}
static void vfs_dlerror(sqlite3_vfs *s, int n, char *out)
{
	(void)s;
	vfs_real->xDlError(vfs_real, n, out);
}
static void (*vfs_dlsym(sqlite3_vfs *s, void *h, const char *sym))(void)
{
	(void)s;
	return vfs_real->xDlSym(vfs_real, h, sym);
}
static void vfs_dlclose(sqlite3_vfs *s, void *h)
{
	(void)s;
	vfs_real->xDlClose(vfs_real, h);
}
static int vfs_randomness(sqlite3_vfs *s, int n, char *out)
{
	(void)s;
	return vfs_real->xRandomness(vfs_real, n, out);
}
static int vfs_sleep(sqlite3_vfs *s, int us)
{
	(void)s;
	return vfs_real->xSleep(vfs_real, us);
}
static int vfs_current_time(sqlite3_vfs *s, double *out)
{
	(void)s;
	return vfs_real->xCurrentTime(vfs_real, out);
}
static int vfs_get_last_error(sqlite3_vfs *s, int n, char *out)
{
	(void)s;
	return vfs_real->xGetLastError ? vfs_real->xGetLastError(vfs_real, n, out) : 0;
}
static int vfs_current_time64(sqlite3_vfs *s, sqlite3_int64 *out)
{
	(void)s;
	return vfs_real->xCurrentTimeInt64(vfs_real, out);
}

int vfs_register(struct err *e)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&once);
	int rc = 0;
	if (!vfs_real) {
		sqlite3_vfs *real = sqlite3_vfs_find(NULL);
		if (!real || real->iVersion < 2) {
			rc = err_set(e, "the default SQLite VFS cannot be wrapped");
		} else {
			vfs_self.iVersion = 2;
			vfs_self.szOsFile = (int)sizeof(struct vfs_file) + real->szOsFile;
			vfs_self.mxPathname = real->mxPathname;
			vfs_self.zName = VFS_NAME;
			vfs_self.xOpen = vfs_open;
			vfs_self.xDelete = vfs_delete;
			vfs_self.xAccess = vfs_access;
			vfs_self.xFullPathname = vfs_full_pathname;
			vfs_self.xDlOpen = vfs_dlopen;
			vfs_self.xDlError = vfs_dlerror;
			vfs_self.xDlSym = vfs_dlsym;
			vfs_self.xDlClose = vfs_dlclose;
			vfs_self.xRandomness = vfs_randomness;
			vfs_self.xSleep = vfs_sleep;
			vfs_self.xCurrentTime = vfs_current_time;
			vfs_self.xGetLastError = vfs_get_last_error;
			vfs_self.xCurrentTimeInt64 = vfs_current_time64;
			vfs_real = real;
			if (sqlite3_vfs_register(&vfs_self, 0) != SQLITE_OK) {
				vfs_real = NULL;
				rc = err_set(e, "cannot register the " VFS_NAME " VFS");
			}
		}
	}
	pthread_mutex_unlock(&once);
	return rc;
}

int vfs_watch(const char *path, vfs_watch_fn fn, void *arg, struct err *e)
{
	struct vfs_watcher *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	if (!realpath(path, w->path)) {
		free(w);
		return err_set(e, "cannot resolve %s", path);
	}
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_lock(&vfs_mu);
	w->next = vfs_watchers;
	vfs_watchers = w;
	pthread_mutex_unlock(&vfs_mu);
	return 0;
}

void vfs_unwatch(const char *path)
{
	char rp[PATH_MAX];
	if (!realpath(path, rp))
		return;
	pthread_mutex_lock(&vfs_mu);
	for (struct vfs_watcher **pp = &vfs_watchers; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->path, rp) == 0) {
			struct vfs_watcher *w = *pp;
			*pp = w->next;
			free(w);
			break;
		}
	pthread_mutex_unlock(&vfs_mu);
}
