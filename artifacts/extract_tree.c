/*
 * extract_remove_tree: an rm -rf that never follows symbolic links and copes
 * with the read-only trees extract_tar leaves behind.
 *
 * The walk keeps one open directory (plus one stream over it) whatever the
 * depth: it descends into the first subdirectory it meets, and when a
 * directory is empty it climbs back through ".." (checking that it arrives in
 * the directory it came from, by device and inode) and removes it. Names of
 * the directories above are kept on a small stack for that check and for
 * error messages.
 */
#include "artifacts/extract.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fdio.h"

struct level {
	char *name;
	dev_t dev;
	ino_t ino;
};

struct walk {
	struct level *levels;
	size_t n, cap;
};

/* "top/a/b/child" for messages (child may be NULL). Caller frees. */
static char *walk_path(const struct walk *w, const char *child)
{
	size_t len = 1;
	for (size_t i = 0; i < w->n; i++)
		len += strlen(w->levels[i].name) + 1;
	if (child)
		len += strlen(child) + 1;
	char *out = malloc(len);
	if (!out)
		abort();
	char *p = out;
	*p = '\0';
	for (size_t i = 0; i < w->n; i++)
		p += sprintf(p, "%s%s", i ? "/" : "", w->levels[i].name);
	if (child)
		sprintf(p, "%s%s", w->n ? "/" : "", child);
	return out;
}

static void walk_push(struct walk *w, const char *name, const struct stat *st)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->levels = realloc(w->levels, w->cap * sizeof(*w->levels));
		if (!w->levels)
			abort();
	}
	char *copy = strdup(name);
	if (!copy)
		abort();
	w->levels[w->n++] = (struct level){ copy, st->st_dev, st->st_ino };
}

static void walk_release(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->levels[i].name);
	free(w->levels);
	w->levels = NULL;
	w->n = w->cap = 0;
}

/* Opens the directory parent/name (described by st) for reading, making it
 * writable first, and checks it is the same directory. */
static int open_for_removal(const struct walk *w, int parent, const char *name,
			    const struct stat *st, struct err **err)
{
	if ((st->st_mode & 0700) != 0700 && fd_chmod_nofollow(parent, name, 0700) < 0) {
		int saved = errno;
		_cleanup_free_ char *p = walk_path(w, name);
		return err_set(err, saved, "cannot make directory %s writable to remove it", p);
	}
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat now;
	if (fd < 0 || fstat(fd, &now) < 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		_cleanup_free_ char *p = walk_path(w, name);
		return err_set(err, saved, "cannot open directory %s to remove it", p);
	}
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		_cleanup_free_ char *p = walk_path(w, name);
		return err_set(err, 0, "directory %s changed while it was being removed", p);
	}
	return fd;
}

/* One pass over the directory cur: unlinks every non-directory, and stops at
 * the first subdirectory, which it opens into *child. Returns 1 if it found a
 * subdirectory, 0 if cur is now empty, -1 on error. */
static int empty_or_descend(struct walk *w, int cur, int *child, struct err **err)
{
	int dfd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		int saved = errno;
		if (dfd >= 0)
			close(dfd);
		_cleanup_free_ char *p = walk_path(w, NULL);
		return err_set(err, saved, "cannot list directory %s to remove it", p);
	}
	int ret = 0;
	for (;;) {
		errno = 0;
		struct dirent *ent = readdir(d);
		if (!ent) {
			if (errno) {
				int saved = errno;
				_cleanup_free_ char *p = walk_path(w, NULL);
				ret = err_set(err, saved, "cannot list directory %s to remove it", p);
			}
			break;
		}
		const char *name = ent->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			int saved = errno;
			_cleanup_free_ char *p = walk_path(w, name);
			ret = err_set(err, saved, "cannot inspect %s to remove it", p);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int fd = open_for_removal(w, cur, name, &st, err);
			if (fd < 0) {
				ret = -1;
				break;
			}
			walk_push(w, name, &st);
			*child = fd;
			ret = 1;
			break;
		}
		if (unlinkat(cur, name, 0) < 0 && errno != ENOENT) {
			int saved = errno;
			_cleanup_free_ char *p = walk_path(w, name);
			ret = err_set(err, saved, "cannot remove %s", p);
			break;
		}
	}
	closedir(d);
	return ret;
}

int extract_remove_tree(int dirfd, const char *name, struct err **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "cannot inspect %s to remove it", name);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return err_set(err, errno, "cannot remove %s", name);
		return 0;
	}

	struct walk w = { 0 };
	int cur = open_for_removal(&w, dirfd, name, &st, err);
	if (cur < 0)
		return -1;
	walk_push(&w, name, &st);
	int ret = 0;
	for (;;) {
		int child = -1;
		int r = empty_or_descend(&w, cur, &child, err);
		if (r < 0) {
			ret = -1;
			break;
		}
		if (r > 0) {
			close(cur);
			cur = child;
			continue;
		}
		/* cur is empty: climb to its parent and remove it. */
		struct level done = w.levels[--w.n];
		if (w.n == 0) {
			close(cur);
			cur = -1;
			if (unlinkat(dirfd, done.name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				ret = err_set(err, errno, "cannot remove directory %s", done.name);
			free(done.name);
			break;
		}
		int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat upst;
		const struct level *parent = &w.levels[w.n - 1];
		if (up < 0 || fstat(up, &upst) < 0 || upst.st_dev != parent->dev ||
		    upst.st_ino != parent->ino) {
			int saved = up < 0 ? errno : 0;
			if (up >= 0)
				close(up);
			_cleanup_free_ char *p = walk_path(&w, NULL);
			ret = err_set(err, saved, "cannot climb back to directory %s while removing it", p);
			free(done.name);
			break;
		}
		close(cur);
		cur = up;
		if (unlinkat(cur, done.name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			int saved = errno;
			_cleanup_free_ char *p = walk_path(&w, done.name);
			ret = err_set(err, saved, "cannot remove directory %s", p);
			free(done.name);
			break;
		}
		free(done.name);
	}
	if (cur >= 0)
		close(cur);
	walk_release(&w);
	return ret;
}
