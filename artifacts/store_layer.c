/*
 * store_layer: extracted layer directories and eviction.
 *
 * A layer is extracted into this store's temp dir, flushed (syncfs), and
 * renamed to layers/<hex> without replacing anything; its size estimate goes
 * to layers/<hex>.size first. Removal renames the dir back into the temp dir
 * (atomic for every reader) and deletes it there.
 *
 * Eviction takes an exclusive, non-blocking flock on the blob: pins of other
 * stores hold a shared one, so a pinned blob is skipped. Under that lock the
 * layer dir is moved away and the blob unlinked; the slow tree deletion runs
 * after the lock is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

/* ---- size records ------------------------------------------------------ */

uint64_t layer_size_read(struct store *s, const char *hex, uint64_t fallback)
{
	char name[DIGEST_HEX_LEN + 8];
	snprintf(name, sizeof(name), "%s.size", hex);
	_cleanup_close_ int fd = openat(s->layers_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fallback;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return fallback;
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return fallback;
	return v;
}

/* Writes layers/<hex>.size through a temp file. */
static int layer_size_write(struct store *s, const char *hex, uint64_t bytes,
			    struct err **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	if (store_tmpfile(s, &tmp, &fd, err) < 0)
		return -1;
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", bytes);
	char name[DIGEST_HEX_LEN + 8];
	snprintf(name, sizeof(name), "%s.size", hex);
	if (write(fd, buf, (size_t)len) != len || renameat(AT_FDCWD, tmp, s->layers_fd, name) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot record the size of layer %s/layers/%s", s->root,
			       hex);
	}
	return 0;
}

/* ---- removal ------------------------------------------------------------ */

/* Renames layers/<name> into this store's temp dir as *away (caller frees).
 * Returns 1 if moved, 0 if there was nothing to move, -1 on error. */
static int layer_dir_detach(struct store *s, const char *name, char **away, struct err **err)
{
	struct stat st;
	if (fstatat(s->layers_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "cannot inspect %s/layers/%s", s->root, name);
	}
	/* Moving a directory to another parent rewrites its "..": it must be
	 * writable (for a non-root owner). */
	if (S_ISDIR(st.st_mode) && (st.st_mode & 0200) == 0 &&
	    fd_chmod_nofollow(s->layers_fd, name, (st.st_mode & 07777) | 0200) < 0)
		return err_set(err, errno, "cannot make %s/layers/%s writable to remove it", s->root,
			       name);
	if (asprintf(away, "evict-%s", name) < 0)
		abort();
	if (extract_remove_tree(s->own_fd, *away, err) < 0) {
		free(*away);
		*away = NULL;
		return -1;
	}
	if (renameat(s->layers_fd, name, s->own_fd, *away) < 0) {
		int saved = errno;
		free(*away);
		*away = NULL;
		if (saved == ENOENT)
			return 0;
		return err_set(err, saved, "cannot move %s/layers/%s out of the cache", s->root, name);
	}
	return 1;
}

static void remove_detached(struct store *s, const char *away)
{
	struct err *e = NULL;
	if (extract_remove_tree(s->own_fd, away, &e) < 0) {
		/* Still inside our temp dir: the next store_open retries. */
		log_warning("cannot delete an evicted layer: %s", err_msg(e));
		err_free(&e);
	}
}

int layer_dir_remove(struct store *s, const char *name, struct err **err)
{
	_cleanup_free_ char *away = NULL;
	int r = layer_dir_detach(s, name, &away, err);
	if (r <= 0)
		return r;
	remove_detached(s, away);
	return 0;
}

/* ---- layer dirs -------------------------------------------------------------- */

char *store_layer_dir_path(struct store *s, const struct digest *d)
{
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(d, hex);
	char *path;
	if (asprintf(&path, "%s/layers/%s", s->root, hex) < 0)
		abort();
	return path;
}

/* Takes a shared lock on the blob for the time of an extraction, unless a
 * pin holds one already. Returns the descriptor (or -1 if none was needed),
 * -2 if the blob is gone. */
static int hold_blob(struct store *s, struct store_entry *e)
{
	if (e->lock_fd >= 0)
		return -1;
	int fd = openat(s->blobs_fd, e->hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -2 : -1;
	struct stat st;
	while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
		;
	if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
		close(fd);
		return -2;
	}
	return fd;
}

/* Extracts the blob into a new temp dir and renames it into layers/. */
static int extract_layer(struct store *s, struct store_entry *e, struct err **err)
{
	_cleanup_free_ char *tmpdir = NULL;
	if (asprintf(&tmpdir, "%s/layer-XXXXXX", s->own_dir) < 0)
		abort();
	if (!mkdtemp(tmpdir))
		return err_set(err, errno, "cannot create a temp directory in %s", s->own_dir);
	const char *tmpname = strrchr(tmpdir, '/') + 1;
	_cleanup_free_ char *blob = NULL;
	if (asprintf(&blob, "%s/blobs/%s", s->root, e->hex) < 0)
		abort();

	struct extract_stats stats;
	struct stat st;
	int r = extract_tar_stats(blob, tmpdir, &stats, err);
	if (r == 0)
		r = layer_size_write(s, e->hex, stats.disk_bytes, err);
	if (r == 0 && syncfs(s->own_fd) < 0)
		r = err_set(err, errno, "cannot flush extracted layer %s to disk", tmpdir);
	if (r == 0 && (fstatat(s->own_fd, tmpname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		       fd_chmod_nofollow(s->own_fd, tmpname, (st.st_mode & 07777) | 0200) < 0))
		r = err_set(err, errno, "cannot prepare extracted layer %s", tmpdir);
	if (r == 0 && renameat2(s->own_fd, tmpname, s->layers_fd, e->hex, RENAME_NOREPLACE) < 0) {
		if (errno == EINVAL) /* no RENAME_NOREPLACE here: fails on a non-empty dir */
			r = renameat(s->own_fd, tmpname, s->layers_fd, e->hex);
		else
			r = -1;
		if (r < 0 && errno != EEXIST && errno != ENOTEMPTY)
			r = err_set(err, errno, "cannot move extracted layer into %s/layers",
				    s->root);
		else if (r < 0)
			r = 1; /* another store extracted it first: use theirs */
	}
	if (r != 0) {
		struct err *rm = NULL;
		if (extract_remove_tree(s->own_fd, tmpname, &rm) < 0) {
			log_warning("cannot remove a temp layer dir: %s", err_msg(rm));
			err_free(&rm);
		}
		if (r < 0)
			return -1;
	} else if (fd_chmod_nofollow(s->layers_fd, e->hex, st.st_mode & 07777) < 0) {
		log_warning("cannot make %s/layers/%s read-only: %s", s->root, e->hex,
			    strerror(errno));
	}
	index_uncount(s, e);
	e->layer_present = true;
	e->layer_bytes = r == 0 ? stats.disk_bytes : layer_size_read(s, e->hex, e->blob_bytes);
	index_count(s, e);
	return 0;
}

int store_layer_dir(struct store *s, const struct digest *d, char **dir, struct err **err)
{
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(d, hex);
	struct store_entry *e = index_get(s, d);
	if (!e->present && entry_reload(s, e, err) < 0) {
		index_drop_if_unused(s, e);
		return -1;
	}
	if (!e->present) {
		index_drop_if_unused(s, e);
		return err_set(err, 0, "layer artifact %s is not in the artifact cache %s", hex,
			       s->root);
	}
	struct stat st;
	if (fstatat(s->layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		if (!e->layer_present) {
			index_uncount(s, e);
			e->layer_present = true;
			e->layer_bytes = layer_size_read(s, hex, e->blob_bytes);
			index_count(s, e);
		}
	} else {
		int held = hold_blob(s, e);
		if (held == -2) {
			entry_vanished(s, e);
			return err_set(err, 0, "layer artifact %s was evicted from %s", hex, s->root);
		}
		int r = extract_layer(s, e, err);
		if (held >= 0)
			close(held);
		if (r < 0)
			return err_wrap(err, "cannot extract layer artifact %s", hex);
	}
	if (entry_touch(s, e) < 0) {
		entry_vanished(s, e);
		return err_set(err, 0, "layer artifact %s was evicted from %s", hex, s->root);
	}
	*dir = store_layer_dir_path(s, d);
	return 0;
}

/* ---- eviction ------------------------------------------------------------ */

/* Removes one entry unless another store holds it. Returns 1 if it went (the
 * entry is freed), 0 if it was skipped, -1 on error. */
static int evict_one(struct store *s, struct store_entry *e, struct err **err)
{
	_cleanup_close_ int fd = openat(s->blobs_fd, e->hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && errno != ENOENT)
		return err_set(err, errno, "cannot open %s/blobs/%s to evict it", s->root, e->hex);
	if (fd < 0 || (fstat(fd, &st) == 0 && st.st_nlink == 0)) {
		entry_vanished(s, e);
		return 1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return 0; /* pinned by another store */
		return err_set(err, errno, "cannot lock %s/blobs/%s to evict it", s->root, e->hex);
	}
	if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
		entry_vanished(s, e);
		return 1;
	}
	_cleanup_free_ char *away = NULL;
	if (layer_dir_detach(s, e->hex, &away, err) < 0)
		return -1;
	index_uncount(s, e);
	e->layer_present = false;
	index_count(s, e);
	char size_name[DIGEST_HEX_LEN + 8];
	snprintf(size_name, sizeof(size_name), "%s.size", e->hex);
	unlinkat(s->layers_fd, size_name, 0);
	if (unlinkat(s->blobs_fd, e->hex, 0) < 0 && errno != ENOENT) {
		int saved = errno;
		if (away)
			remove_detached(s, away);
		return err_set(err, saved, "cannot evict %s/blobs/%s", s->root, e->hex);
	}
	close(steal_fd(&fd)); /* releases the lock */
	index_drop(s, e);
	if (away)
		remove_detached(s, away);
	return 1;
}

static int cmp_least_recent(const void *pa, const void *pb)
{
	const struct store_entry *a = *(struct store_entry *const *)pa;
	const struct store_entry *b = *(struct store_entry *const *)pb;
	if (a->last_use != b->last_use)
		return a->last_use < b->last_use ? -1 : 1;
	return strcmp(a->hex, b->hex);
}

int store_evict(struct store *s, struct err **err)
{
	if (s->bytes_used <= s->cache_size)
		return 0;
	size_t n;
	_cleanup_free_ struct store_entry **list = index_list(s, &n);
	/* Other stores may have used, added to or removed these meanwhile. */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_entry *e = list[i];
		if (e->pins > 0)
			continue;
		struct err *ignored = NULL;
		if (entry_reload(s, e, &ignored) < 0)
			err_free(&ignored);
		if (!e->present) {
			index_drop(s, e);
			continue;
		}
		list[k++] = e;
	}
	qsort(list, k, sizeof(*list), cmp_least_recent);
	struct err *first = NULL;
	for (size_t i = 0; i < k && s->bytes_used > s->cache_size; i++) {
		struct err *e = NULL;
		if (evict_one(s, list[i], &e) < 0) {
			if (!first)
				first = e;
			else
				err_free(&e);
		}
	}
	if (first) {
		if (err) {
			err_free(err);
			*err = first;
		} else {
			err_free(&first);
		}
		return -1;
	}
	return 0;
}
