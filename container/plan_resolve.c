/*
 * plan_resolve: looks a container path up in a stack of layer directories the
 * way overlayfs would, without mounting anything. See plan_resolve() in
 * container/plan_ops.h.
 *
 * Lookup rule (overlayfs): for each component, the topmost layer holding the
 * name decides its type. A directory merges with the same directory in the
 * layers below, down to the first layer where the name is not a directory;
 * layers below that one are hidden for everything under it. So the walk
 * carries a "floor": the lowest layer index that may still contribute.
 * Symlinks are expanded inside the container (an absolute target restarts
 * from the container root), never on the host.
 */
#include "container/plan_ops.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESOLVE_MAX_LINKS 40
#define RESOLVE_MAX_DEPTH 512

struct walk {
	const char *const *layers;
	size_t n_layers;
	char canon[PATH_MAX];       /* resolved so far, "" or "/a/b" */
	size_t len;
	size_t floor;               /* lowest layer that may contribute below canon */
	size_t depth;
	size_t saved_len[RESOLVE_MAX_DEPTH];
	size_t saved_floor[RESOLVE_MAX_DEPTH];
};

/* lstat of canon in layer i. Returns 0, or -errno. */
static int probe(const struct walk *w, size_t i, struct stat *st, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s", w->layers[i], w->canon);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (lstat(buf, st) < 0)
		return -errno;
	return 0;
}

static bool is_covered(const struct walk *w, const char *const *covered, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(covered[i], w->canon) == 0)
			return true;
	return false;
}

/* Finds the topmost layer >= floor holding canon. Returns its index, or
 * -errno (-ENOENT when no layer has it). */
static long find_top(const struct walk *w, struct stat *st, char *buf, size_t size)
{
	for (size_t i = w->n_layers; i-- > w->floor;) {
		int r = probe(w, i, st, buf, size);
		if (r == 0)
			return (long)i;
		if (r != -ENOENT && r != -ENOTDIR)
			return r;
	}
	return -ENOENT;
}

/* The new floor below directory canon, found as a directory in layer top. */
static size_t merge_floor(const struct walk *w, size_t top, char *buf, size_t size)
{
	struct stat st;
	for (size_t i = top; i-- > w->floor;)
		if (probe(w, i, &st, buf, size) == 0 && !S_ISDIR(st.st_mode))
			return i + 1;
	return w->floor;
}

/* Replaces the unread rest of `rem` (starting at rest) with target + "/" +
 * rest. Returns 0 or -ENAMETOOLONG. */
static int splice_link(char *rem, size_t size, const char *target, const char *rest)
{
	char tmp[PATH_MAX * 2];
	int n = snprintf(tmp, sizeof(tmp), "%s/%s", target, rest);
	if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= size)
		return -ENAMETOOLONG;
	memcpy(rem, tmp, (size_t)n + 1);
	return 0;
}

/* Appends the unchecked rest of the path below an earlier mount. */
static int append_lexically(struct walk *w, const char *rest)
{
	while (*rest) {
		while (*rest == '/')
			rest++;
		size_t n = strcspn(rest, "/");
		if (n == 0)
			break;
		if (w->len + 1 + n >= sizeof(w->canon))
			return -ENAMETOOLONG;
		w->canon[w->len++] = '/';
		memcpy(w->canon + w->len, rest, n);
		w->len += n;
		w->canon[w->len] = '\0';
		rest += n;
	}
	return 0;
}

int plan_resolve(const char *const *layers, size_t n_layers, const char *path,
                 const char *const *covered, size_t n_covered,
                 char **canon, mode_t *mode)
{
	struct walk *w = calloc(1, sizeof(*w));
	char rem[PATH_MAX * 2], buf[PATH_MAX], target[PATH_MAX];
	int links = 0, ret = 0;
	mode_t final = S_IFDIR;

	if (!w)
		abort();
	w->layers = layers;
	w->n_layers = n_layers;
	if (strlen(path) >= sizeof(rem)) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	strcpy(rem, path);
	const char *r = rem;
	if (is_covered(w, covered, n_covered)) {
		ret = append_lexically(w, r) < 0 ? -ENAMETOOLONG : 1;
		goto out;
	}
	for (;;) {
		while (*r == '/')
			r++;
		if (!*r)
			break;
		size_t n = strcspn(r, "/");
		const char *comp = r;
		r += n;
		if (n == 1 && comp[0] == '.')
			continue;
		if (n == 2 && comp[0] == '.' && comp[1] == '.') {
			if (w->depth > 0) {
				w->depth--;
				w->len = w->saved_len[w->depth];
				w->floor = w->saved_floor[w->depth];
				w->canon[w->len] = '\0';
			}
			continue;
		}
		if (w->depth >= RESOLVE_MAX_DEPTH || w->len + 1 + n >= sizeof(w->canon)) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		size_t parent_len = w->len;
		w->canon[w->len++] = '/';
		memcpy(w->canon + w->len, comp, n);
		w->len += n;
		w->canon[w->len] = '\0';

		struct stat st;
		long top = find_top(w, &st, buf, sizeof(buf));
		if (top < 0) {
			ret = (int)top;
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > RESOLVE_MAX_LINKS) {
				ret = -ELOOP;
				goto out;
			}
			ssize_t k = readlink(buf, target, sizeof(target) - 1);
			if (k < 0) {
				ret = -errno;
				goto out;
			}
			target[k] = '\0';
			w->len = parent_len;
			w->canon[w->len] = '\0';
			if (target[0] == '/') {
				w->len = 0;
				w->canon[0] = '\0';
				w->depth = 0;
				w->floor = 0;
			}
			char rest[PATH_MAX * 2];
			strcpy(rest, r);
			if (splice_link(rem, sizeof(rem), target, rest) < 0) {
				ret = -ENAMETOOLONG;
				goto out;
			}
			r = rem;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			size_t floor = merge_floor(w, (size_t)top, buf, sizeof(buf));
			w->saved_len[w->depth] = parent_len;
			w->saved_floor[w->depth] = w->floor;
			w->depth++;
			w->floor = floor;
			final = S_IFDIR;
			if (is_covered(w, covered, n_covered)) {
				ret = append_lexically(w, r) < 0 ? -ENAMETOOLONG : 1;
				goto out;
			}
			continue;
		}
		/* Not a directory: it must be the last component. */
		while (*r == '/')
			r++;
		if (*r) {
			ret = -ENOTDIR;
			goto out;
		}
		final = st.st_mode & S_IFMT;
		break;
	}
out:
	if (ret >= 0) {
		*canon = strdup(w->canon);
		if (!*canon)
			abort();
		*mode = ret == 1 ? 0 : final;
	}
	free(w);
	return ret;
}
