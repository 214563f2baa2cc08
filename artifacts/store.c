/*
 * store: opening a store root (with clean-up of crashed stores' temp dirs),
 * adding blobs, looking them up, pins. Layer dirs and eviction live in
 * store_layer.c, the index in store_index.c.
 */
#include "artifacts/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/extract.h"
#include "artifacts/store_internal.h"
#include "core/cleanup.h"
#include "core/fdio.h"
#include "core/log.h"

/* ---- opening ------------------------------------------------------------- */

/* mkdir -p */
static int make_dirs(const char *path, struct err **err)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		abort();
	for (char *q = p + 1;; q++) {
		if (*q != '/' && *q != '\0')
			continue;
		char c = *q;
		*q = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return err_set(err, errno, "cannot create cache directory %s", p);
		*q = c;
		if (!c)
			break;
	}
	return 0;
}

static int open_subdir(struct store *s, const char *name, struct err **err)
{
	if (mkdirat(s->root_fd, name, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "cannot create %s/%s", s->root, name);
	int fd = openat(s->root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s/%s", s->root, name);
	return fd;
}

/* Deletes what crashed stores left in tmp/: each store's temp dir is
 * flock-ed while the store lives, so a dir we can lock has no owner. Called
 * with <root>/lock held, so no new temp dir appears meanwhile. */
static void clean_tmp(struct store *s)
{
	int lfd = openat(s->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		log_warning("cannot list %s/tmp to clean it: %s", s->root, strerror(errno));
		return;
	}
	struct dirent *ent;
	while ((ent = readdir(d))) {
		const char *name = ent->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		int fd = openat(s->tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			bool busy = flock(fd, LOCK_EX | LOCK_NB) < 0;
			close(fd);
			if (busy)
				continue; /* a live store's */
		}
		struct err *e = NULL;
		if (extract_remove_tree(s->tmp_fd, name, &e) < 0) {
			log_warning("cannot clean the artifact cache's temp files: %s", err_msg(e));
			err_free(&e);
		}
	}
	closedir(d);
}

/* Creates this store's own locked temp dir. */
static int make_own_dir(struct store *s, struct err **err)
{
	if (asprintf(&s->own_dir, "%s/tmp/store-XXXXXX", s->root) < 0)
		abort();
	if (!mkdtemp(s->own_dir))
		return err_set(err, errno, "cannot create a temp directory in %s/tmp", s->root);
	s->own_name = strdup(strrchr(s->own_dir, '/') + 1);
	if (!s->own_name)
		abort();
	s->own_fd = open(s->own_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->own_fd < 0)
		return err_set(err, errno, "cannot open %s", s->own_dir);
	if (flock(s->own_fd, LOCK_EX | LOCK_NB) < 0)
		return err_set(err, errno, "cannot lock %s", s->own_dir);
	return 0;
}

static int store_setup(struct store *s, const char *root, struct err **err)
{
	if (make_dirs(root, err) < 0)
		return -1;
	s->root = realpath(root, NULL);
	if (!s->root)
		return err_set(err, errno, "cannot resolve cache directory %s", root);
	s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return err_set(err, errno, "cannot open cache directory %s", s->root);
	if ((s->blobs_fd = open_subdir(s, "blobs", err)) < 0 ||
	    (s->layers_fd = open_subdir(s, "layers", err)) < 0 ||
	    (s->tmp_fd = open_subdir(s, "tmp", err)) < 0)
		return -1;

	_cleanup_close_ int lock = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return err_set(err, errno, "cannot open %s/lock", s->root);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return err_set(err, errno, "cannot lock %s/lock", s->root);
	clean_tmp(s);
	if (make_own_dir(s, err) < 0)
		return -1;
	/* The lock is released as `lock` closes. */
	return index_load(s, err);
}

int store_open(struct store **out, const char *root, uint64_t cache_size, struct err **err)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->cache_size = cache_size;
	s->root_fd = s->blobs_fd = s->layers_fd = s->tmp_fd = s->own_fd = -1;
	s->owner_pid = getpid();
	index_init(s);
	if (store_setup(s, root, err) < 0) {
		store_free(s);
		return err_wrap(err, "cannot open the artifact cache at %s", root);
	}
	*out = s;
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	index_release(s);
	if (s->own_fd >= 0 && s->owner_pid == getpid()) {
		struct err *e = NULL;
		if (extract_remove_tree(s->tmp_fd, s->own_name, &e) < 0) {
			log_warning("cannot remove the artifact cache's temp files: %s", err_msg(e));
			err_free(&e);
		}
	}
	int fds[] = { s->own_fd, s->tmp_fd, s->layers_fd, s->blobs_fd, s->root_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(s->own_dir);
	free(s->own_name);
	free(s->root);
	free(s);
}

/* ---- adding blobs ------------------------------------------------------ */

int store_tmpfile(struct store *s, char **tmp_path, int *fd, struct err **err)
{
	char *path;
	if (asprintf(&path, "%s/blob-XXXXXX", s->own_dir) < 0)
		abort();
	int f = mkostemp(path, O_CLOEXEC);
	if (f < 0) {
		int saved = errno;
		free(path);
		return err_set(err, saved, "cannot create a temp file in %s", s->own_dir);
	}
	*tmp_path = path;
	*fd = f;
	return 0;
}

/* Makes the finished temp file (open as fd, content hashing to d) durable
 * and read-only and renames it into blobs/, unless that blob exists. */
static int install(struct store *s, const char *tmp_path, int fd, const struct digest *d,
		   struct err **err)
{
	struct store_entry *e = index_get(s, d);
	int64_t t = store_tick(s);
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { t / 1000000000, t % 1000000000 } };
	if (fsync(fd) < 0 || fchmod(fd, 0444) < 0 || futimens(fd, ts) < 0) {
		int saved = errno;
		unlink(tmp_path);
		index_drop_if_unused(s, e);
		return err_set(err, saved, "cannot finish temp file %s", tmp_path);
	}
	int r = renameat2(AT_FDCWD, tmp_path, s->blobs_fd, e->hex, RENAME_NOREPLACE);
	if (r < 0 && errno == EINVAL) {
		/* A file system without RENAME_NOREPLACE: check, then rename. */
		struct stat st;
		if (fstatat(s->blobs_fd, e->hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
			errno = EEXIST;
		else
			r = renameat(AT_FDCWD, tmp_path, s->blobs_fd, e->hex);
	}
	if (r < 0 && errno == EEXIST) {
		if (entry_touch(s, e) == 0) {
			unlink(tmp_path); /* the same content is already there */
			r = 0;
		} else {
			/* Evicted by another store meanwhile: put ours in. */
			r = renameat(AT_FDCWD, tmp_path, s->blobs_fd, e->hex);
		}
	}
	if (r < 0) {
		int saved = errno;
		unlink(tmp_path);
		index_drop_if_unused(s, e);
		return err_set(err, saved, "cannot move %s into %s/blobs", tmp_path, s->root);
	}
	if (entry_reload(s, e, err) < 0)
		return -1;
	return 0;
}

int store_commit(struct store *s, const char *tmp_path, const struct digest *expected,
		 struct digest *out, struct err **err)
{
	_cleanup_close_ int fd = open(tmp_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_set(err, errno, "cannot open temp file %s", tmp_path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "temp file %s is not a regular file", tmp_path);
	struct digest got;
	if (digest_fd(fd, &got, err) < 0) {
		unlink(tmp_path);
		return err_wrap(err, "temp file %s", tmp_path);
	}
	if (expected && !digest_equal(expected, &got)) {
		char want_hex[DIGEST_HEX_LEN + 1], got_hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(expected, want_hex);
		digest_to_hex(&got, got_hex);
		unlink(tmp_path);
		return err_set(err, 0, "artifact content does not match its digest: expected %s, "
			       "got %s (%llu bytes); the data was discarded", want_hex, got_hex,
			       (unsigned long long)st.st_size);
	}
	if (install(s, tmp_path, fd, &got, err) < 0)
		return -1;
	if (out)
		*out = got;
	return 0;
}

/* Copies src into the temp file dst while hashing what was copied. */
static int copy_hashing(int src, int dst, struct digest *out, const char *path,
			struct err **err)
{
	enum { CHUNK = 128 * 1024 };
	_cleanup_free_ char *buf = malloc(CHUNK);
	if (!buf)
		abort();
	struct digest_state *h = digest_state_new();
	int ret = 0;
	for (;;) {
		ssize_t n = read(src, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_set(err, errno, "cannot read %s", path);
			break;
		}
		if (n == 0)
			break;
		digest_state_update(h, buf, (size_t)n);
		if (fd_write_all(dst, buf, (size_t)n) < 0) {
			ret = err_set(err, errno, "cannot copy %s into the artifact cache", path);
			break;
		}
	}
	if (ret == 0)
		digest_state_final(h, out);
	digest_state_free(h);
	return ret;
}

int store_add_path(struct store *s, const char *path, struct digest *out, struct err **err)
{
	_cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0)
		return err_set(err, errno, "cannot open %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "cannot add %s to the artifact cache: not a regular file", path);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	if (store_tmpfile(s, &tmp, &fd, err) < 0)
		return -1;
	struct digest d;
	if (copy_hashing(src, fd, &d, path, err) < 0) {
		unlink(tmp);
		return -1;
	}
	if (install(s, tmp, fd, &d, err) < 0)
		return err_wrap(err, "cannot add %s to the artifact cache", path);
	if (out)
		*out = d;
	return 0;
}

/* ---- lookups ------------------------------------------------------------- */

bool store_has(struct store *s, const struct digest *d)
{
	const struct store_entry *e = index_find(s, d);
	return e && e->present;
}

char *store_blob_path(struct store *s, const struct digest *d)
{
	struct store_entry *e = index_find(s, d);
	if (!e || !e->present)
		return NULL;
	if (entry_touch(s, e) < 0) {
		entry_vanished(s, e);
		return NULL;
	}
	char *path;
	if (asprintf(&path, "%s/blobs/%s", s->root, e->hex) < 0)
		abort();
	return path;
}

int store_refresh(struct store *s, const struct digest *d, struct err **err)
{
	struct store_entry *e = index_get(s, d);
	int r = entry_reload(s, e, err);
	index_drop_if_unused(s, e);
	return r;
}

void store_pin(struct store *s, const struct digest *d)
{
	struct store_entry *e = index_get(s, d);
	if (e->pins++ == 0)
		entry_lock(s, e);
}

void store_unpin(struct store *s, const struct digest *d)
{
	struct store_entry *e = index_find(s, d);
	if (!e || e->pins == 0) {
		log_debug("unpinning artifact that is not pinned");
		return;
	}
	if (--e->pins == 0) {
		entry_unlock(e);
		index_drop_if_unused(s, e);
	}
}

uint64_t store_bytes_used(const struct store *s)
{
	return s->bytes_used;
}

const char *store_root(const struct store *s)
{
	return s->root;
}
