/*
 * extract_fs: the file-system side of extract_tar: name checks, directory
 * resolution without following symlinks (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS, or an O_NOFOLLOW walk), and the final pass that gives
 * directories their modes and mtimes. See extract_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "artifacts/extract_internal.h"
#include "core/cleanup.h"

/* ---- names ---------------------------------------------------------- */

/* Normalizes a tar name: drops "." components and repeated slashes, refuses
 * absolute names and "..". The layer root normalizes to "". */
enum name_check extract_normalize(const char *raw, char **out)
{
	*out = NULL;
	if (!raw || !*raw)
		return NAME_EMPTY;
	if (raw[0] == '/')
		return NAME_ABSOLUTE;
	size_t len = strlen(raw);
	if (len >= PATH_MAX)
		return NAME_TOO_LONG;
	char *norm = malloc(len + 1);
	if (!norm)
		abort();
	size_t n = 0;
	const char *p = raw;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t clen = (size_t)(end - p);
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			free(norm);
			return NAME_DOTDOT;
		}
		if (clen > 0 && !(clen == 1 && p[0] == '.')) {
			if (n)
				norm[n++] = '/';
			memcpy(norm + n, p, clen);
			n += clen;
		}
		p = *end ? end + 1 : end;
	}
	norm[n] = '\0';
	*out = norm;
	return NAME_OK;
}

size_t extract_path_depth(const char *path)
{
	if (!*path)
		return 0;
	size_t d = 1;
	for (const char *p = path; *p; p++)
		d += *p == '/';
	return d;
}

/* Splits "a/b/c" into parent "a/b" (allocated) and name "c" (points into
 * path). The parent of "c" is "". */
char *extract_split_parent(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	char *parent = strndup(path, slash ? (size_t)(slash - path) : 0);
	if (!parent)
		abort();
	return parent;
}

/* True if the relative symlink target, seen from directory `dir` (a
 * normalized path), climbs above the layer root. Purely lexical. */
bool extract_link_climbs(const char *dir, const char *target)
{
	long depth = (long)extract_path_depth(dir);
	const char *p = target;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t clen = (size_t)(end - p);
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (clen > 0 && !(clen == 1 && p[0] == '.')) {
			depth++;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

/* ---- directories ----------------------------------------------------- */

void extract_record_dir(struct extractor *x, const char *path, mode_t mode,
			const struct timespec *mtime)
{
	if (x->ndirs == x->dirs_cap) {
		x->dirs_cap = x->dirs_cap ? 2 * x->dirs_cap : 64;
		x->dirs = realloc(x->dirs, x->dirs_cap * sizeof(*x->dirs));
		if (!x->dirs)
			abort();
	}
	char *copy = strdup(path);
	if (!copy)
		abort();
	x->dirs[x->ndirs++] = (struct dir_record){
		.path = copy,
		.mode = mode,
		.has_mtime = mtime != NULL,
		.mtime = mtime ? *mtime : (struct timespec){ 0, 0 },
		.seq = x->seq++,
		.depth = extract_path_depth(path),
	};
}

static int open_beneath(struct extractor *x, const char *path)
{
	if (x->no_openat2) {
		errno = ENOSYS;
		return -1;
	}
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, x->root, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		x->no_openat2 = true; /* old kernel, or a seccomp filter */
	return fd;
}

/* Opens the directory `path` (normalized, "" = root) as an O_PATH descriptor
 * without following any symlink. With create, missing components are made
 * (0755, recorded for the final pass). On failure fills *why. */
int extract_resolve_dir(struct extractor *x, const char *path, bool create,
			struct resolve_error *why)
{
	if (!*path) {
		int fd = openat(x->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			*why = (struct resolve_error){ RESOLVE_FAIL_ERRNO, errno, strdup(".") };
		return fd;
	}
	int fd = open_beneath(x, path);
	if (fd >= 0)
		return fd;

	/* Component walk: creates what is missing and explains failures. */
	int cur = openat(x->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		*why = (struct resolve_error){ RESOLVE_FAIL_ERRNO, errno, strdup("") };
		return -1;
	}
	size_t len = strlen(path);
	_cleanup_free_ char *prefix = strdup(path);
	if (!prefix)
		abort();
	size_t start = 0;
	while (start < len) {
		size_t end = start;
		while (end < len && path[end] != '/')
			end++;
		prefix[end] = '\0';
		const char *comp = prefix + start;
		int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, comp, 0755) == 0)
				extract_record_dir(x, prefix, 0755, NULL);
			else if (errno != EEXIST)
				goto fail;
			next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0)
			goto fail;
		close(cur);
		cur = next;
		prefix[end] = path[end];
		start = end + 1;
	}
	return cur;

fail:;
	int saved = errno;
	struct stat st;
	const char *comp = strrchr(prefix, '/');
	comp = comp ? comp + 1 : prefix;
	why->errnum = saved;
	if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0)
		why->kind = S_ISLNK(st.st_mode) ? RESOLVE_FAIL_SYMLINK
			  : !S_ISDIR(st.st_mode) ? RESOLVE_FAIL_NOTDIR
						 : RESOLVE_FAIL_ERRNO;
	else
		why->kind = errno == ENOENT ? RESOLVE_FAIL_MISSING : RESOLVE_FAIL_ERRNO;
	why->where = steal_pointer(&prefix);
	close(cur);
	return -1;
}

/* The error for a parent directory that cannot be used. */
int extract_parent_error(struct extractor *x, struct resolve_error *why, struct err **err)
{
	_cleanup_free_ char *where = why->where;
	switch (why->kind) {
	case RESOLVE_FAIL_SYMLINK:
		return err_set(err, 0, "layer tar %s: entry `%s` lies under `%s`, which is a "
			       "symbolic link; refusing to write through it", x->tar, x->entry, where);
	case RESOLVE_FAIL_NOTDIR:
		return err_set(err, 0, "layer tar %s: entry `%s` lies under `%s`, which is not a "
			       "directory", x->tar, x->entry, where);
	case RESOLVE_FAIL_MISSING:
	case RESOLVE_FAIL_ERRNO:
		break;
	}
	return err_set(err, why->errnum, "layer tar %s: entry `%s`: cannot open directory `%s`",
		       x->tar, x->entry, where);
}

/* ---- final pass -------------------------------------------------------- */

static int cmp_path_seq(const void *pa, const void *pb)
{
	const struct dir_record *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_deepest_first(const void *pa, const void *pb)
{
	const struct dir_record *a = pa, *b = pb;
	if (a->depth != b->depth)
		return a->depth > b->depth ? -1 : 1;
	return strcmp(a->path, b->path);
}

/* Gives every directory its final (read-only) mode and its mtime. */
int extract_finish_dirs(struct extractor *x, struct err **err)
{
	qsort(x->dirs, x->ndirs, sizeof(*x->dirs), cmp_path_seq);
	size_t n = 0;
	for (size_t i = 0; i < x->ndirs; i++) {
		if (i + 1 < x->ndirs && strcmp(x->dirs[i].path, x->dirs[i + 1].path) == 0) {
			free(x->dirs[i].path);
			continue;
		}
		x->dirs[n++] = x->dirs[i];
	}
	x->ndirs = n;
	qsort(x->dirs, x->ndirs, sizeof(*x->dirs), cmp_deepest_first);

	for (size_t i = 0; i < x->ndirs; i++) {
		const struct dir_record *d = &x->dirs[i];
		x->entry = *d->path ? d->path : ".";
		int fd;
		if (*d->path) {
			const char *name;
			_cleanup_free_ char *parent = extract_split_parent(d->path, &name);
			struct resolve_error why;
			_cleanup_close_ int pfd = extract_resolve_dir(x, parent, false, &why);
			if (pfd < 0)
				return extract_parent_error(x, &why, err);
			fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return err_set(err, errno, "layer tar %s: entry `%s`: cannot open "
					       "directory to set its mode", x->tar, x->entry);
		} else {
			fd = x->root;
		}
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
		if (d->has_mtime)
			ts[0] = ts[1] = d->mtime;
		int r = fchmod(fd, d->mode & 0555);
		if (r == 0 && d->has_mtime)
			r = futimens(fd, ts);
		int saved = errno;
		if (fd != x->root)
			close(fd);
		if (r < 0)
			return err_set(err, saved, "layer tar %s: entry `%s`: cannot set directory "
				       "mode and time", x->tar, x->entry);
		x->stats.disk_bytes += EXTRACT_BLOCK;
	}
	return 0;
}
