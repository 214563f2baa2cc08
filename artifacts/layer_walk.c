/* layer_walk: layer spec -> entries, by stat and readdir only (see layer_entries.h). */
#include "artifacts/layer_entries.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/brace.h"
#include "core/cleanup.h"
#include "core/err.h"
#include "core/glob.h"
#include "core/xalloc.h"

struct walk {
	const struct prefix_options *prefix;
	const char *project_dir;
	struct entry_list *out;
};

/* "<path>: <strerror>; fix the path in the job spec", keeping errnum. */
static int path_error(struct err **err, int errnum, const char *path)
{
	err_set(err, 0, "%s: %s; fix the path in the job spec", path, strerror(errnum));
	if (err && *err)
		(*err)->errnum = errnum;
	return -1;
}

static char *host_path(const char *project_dir, const char *path)
{
	if (path[0] == '/')
		return xasprintf("%s", path);
	return xasprintf("%s/%s", project_dir, path);
}

/* Splits a path into its components, dropping empty and "." ones. The
 * returned array points into *buf (both caller-freed). */
static char **components(const char *path, char **buf, size_t *n)
{
	*buf = strdup(path);
	char **v = calloc(strlen(path) / 2 + 2, sizeof(char *));
	if (!*buf || !v)
		abort();
	*n = 0;
	char *save = NULL;
	for (char *c = strtok_r(*buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
		if (strcmp(c, ".") != 0)
			v[(*n)++] = c;
	return v;
}

int container_name(const char *path, char **out, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	_cleanup_free_ char **parts = components(path, &buf, &n);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(parts[i], "..") == 0)
			return err_set(err, 0,
				       "container path %s has a `..` component; use canonicalize "
				       "or strip_prefix",
				       path);
		len += strlen(parts[i]) + 1;
	}
	char *name = calloc(1, len + 1);
	if (!name)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(name, "/");
		strcat(name, parts[i]);
	}
	*out = name;
	return 0;
}

/* Path::strip_prefix: component-wise, and an absolute prefix only strips an
 * absolute path (and a relative one a relative path). */
static int strip_prefix(const char *path, const char *prefix, char **out, struct err **err)
{
	_cleanup_free_ char *pbuf = NULL, *xbuf = NULL;
	size_t np, nx;
	_cleanup_free_ char **p = components(path, &pbuf, &np);
	_cleanup_free_ char **x = components(prefix, &xbuf, &nx);
	bool ok = (path[0] == '/') == (prefix[0] == '/') && nx <= np;
	for (size_t i = 0; ok && i < nx; i++)
		ok = strcmp(p[i], x[i]) == 0;
	if (!ok)
		return err_set(err, 0,
			       "%s does not start with strip_prefix `%s`; fix strip_prefix or "
			       "the path in the job spec",
			       path, prefix);
	size_t len = 1;
	for (size_t i = nx; i < np; i++)
		len += strlen(p[i]) + 1;
	char *rest = calloc(1, len);
	if (!rest)
		abort();
	for (size_t i = nx; i < np; i++) {
		if (i > nx)
			strcat(rest, "/");
		strcat(rest, p[i]);
	}
	*out = rest;
	return 0;
}

/* Applies canonicalize, strip_prefix and prepend_prefix. path is the path as
 * named (spec path or glob match); *host is where it is read from and is
 * replaced by the canonical path under canonicalize. */
static int apply_prefix(const struct walk *w, const char *path, char **host, char **name,
			struct err **err)
{
	_cleanup_free_ char *cpath = xasprintf("%s", path);
	if (w->prefix->canonicalize) {
		char *real = realpath(*host, NULL);
		if (!real)
			return path_error(err, errno, path);
		free(*host);
		*host = real;
		free(cpath);
		cpath = xasprintf("%s", real);
	}
	if (w->prefix->strip_prefix) {
		char *rest = NULL;
		if (strip_prefix(cpath, w->prefix->strip_prefix, &rest, err) < 0)
			return -1;
		free(cpath);
		cpath = rest;
	}
	if (w->prefix->prepend_prefix) {
		char *joined = xasprintf("%s/%s", w->prefix->prepend_prefix, cpath);
		free(cpath);
		cpath = joined;
	}
	return container_name(cpath, name, err);
}

/* Adds the file system object at host (named path in the spec) as name. */
static int add_host(const struct walk *w, const char *path, const char *host, const char *name,
		    struct err **err)
{
	struct stat st;
	int rc = w->prefix->follow_symlinks ? stat(host, &st) : lstat(host, &st);
	if (rc < 0)
		return path_error(err, errno, path);
	if (name[0] == '\0') {
		if (S_ISDIR(st.st_mode))
			return 0; /* the root directory itself: nothing to add */
		return err_set(err, 0, "%s would be placed at the container's root `/`; fix "
				       "strip_prefix or prepend_prefix", path);
	}
	struct layer_entry *e;
	if (S_ISREG(st.st_mode)) {
		e = entry_list_add(w->out, name, ENTRY_FILE, host, NULL);
	} else if (S_ISDIR(st.st_mode)) {
		e = entry_list_add(w->out, name, ENTRY_DIR, NULL, NULL);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			return path_error(err, errno, path);
		target[n] = '\0';
		e = entry_list_add(w->out, name, ENTRY_SYMLINK, NULL, target);
	} else {
		return err_set(err, 0, "%s is not a regular file, directory or symlink; fix the "
				       "path in the job spec", path);
	}
	e->st = st;
	e->has_st = true;
	e->mode = st.st_mode & 07777;
	e->mtime = st.st_mtim.tv_sec;
	return 0;
}

static int add_path(const struct walk *w, const char *path, const char *host_in,
		    struct err **err)
{
	_cleanup_free_ char *host = xasprintf("%s", host_in);
	_cleanup_free_ char *name = NULL;
	if (apply_prefix(w, path, &host, &name, err) < 0)
		return -1;
	return add_host(w, path, host, name, err);
}

static int collect_paths(const struct walk *w, char *const *paths, size_t n, struct err **err)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *host = host_path(w->project_dir, paths[i]);
		if (add_path(w, paths[i], host, err) < 0)
			return -1;
	}
	return 0;
}

/* Walks host directory dir (rel: its path relative to the project dir). */
static int walk_dir(const struct walk *w, const struct glob *g, const char *dir,
		    const char *rel, struct err **err)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT && rel[0] != '\0')
			return 0; /* the literal prefix is not there: nothing matches */
		return err_set(err, errno, "cannot read directory %s", dir);
	}
	int ret = 0;
	struct dirent *de;
	while (ret == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *host = xasprintf("%s/%s", dir, de->d_name);
		_cleanup_free_ char *sub = rel[0] ? xasprintf("%s/%s", rel, de->d_name)
						  : xasprintf("%s", de->d_name);
		/* d_type spares a stat per entry; add_path stats what it adds. */
		unsigned char type = de->d_type;
		if (type == DT_UNKNOWN) {
			struct stat st;
			if (lstat(host, &st) < 0) {
				if (errno == ENOENT)
					continue; /* vanished while we walked */
				ret = err_set(err, errno, "cannot stat %s", host);
				break;
			}
			type = S_ISDIR(st.st_mode) ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
			       : S_ISLNK(st.st_mode) ? DT_LNK
						     : DT_UNKNOWN;
		}
		if (type == DT_DIR) {
			if (glob_may_match_below(g, sub))
				ret = walk_dir(w, g, host, sub, err);
		} else if ((type == DT_REG || type == DT_LNK) && glob_match(g, sub)) {
			ret = add_path(w, sub, host, err);
		}
	}
	if (ret == 0 && errno != 0)
		ret = err_set(err, errno, "cannot read directory %s", dir);
	closedir(d);
	return ret;
}

static int collect_glob(const struct walk *w, const char *pattern, struct err **err)
{
	if (pattern[0] == '/')
		return err_set(err, 0, "glob pattern %s must be relative to the project directory",
			       pattern);
	struct glob *g = NULL;
	if (glob_compile(&g, pattern, err) < 0)
		return err_wrap(err, "glob pattern %s", pattern);
	const char *prefix = glob_literal_prefix(g);
	_cleanup_free_ char *start = prefix[0] ? host_path(w->project_dir, prefix)
					       : xasprintf("%s", w->project_dir);
	int ret = 0;
	struct stat st;
	if (prefix[0] == '\0' || (stat(start, &st) == 0 && S_ISDIR(st.st_mode)))
		ret = walk_dir(w, g, start, prefix, err);
	glob_free(g);
	return ret;
}

static int collect_stubs(struct entry_list *out, char *const *stubs, size_t n, struct err **err)
{
	for (size_t i = 0; i < n; i++) {
		struct brace_list list;
		if (brace_expand(stubs[i], &list, err) < 0)
			return err_wrap(err, "stub %s", stubs[i]);
		int ret = 0;
		for (size_t j = 0; ret == 0 && j < list.n; j++) {
			const char *s = list.v[j];
			size_t len = strlen(s);
			bool dir = len > 0 && s[len - 1] == '/';
			char *name = NULL;
			ret = container_name(s, &name, err);
			if (ret == 0 && name[0] == '\0' && !dir)
				ret = err_set(err, 0, "stub `%s` names no file", s);
			if (ret == 0 && name[0] != '\0') {
				struct layer_entry *e = entry_list_add(
					out, name, dir ? ENTRY_DIR : ENTRY_FILE, NULL, NULL);
				e->mode = dir ? 0755 : 0644;
			}
			free(name);
		}
		brace_list_release(&list);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static int collect_symlinks(struct entry_list *out, const struct symlink_spec *links, size_t n,
			    struct err **err)
{
	for (size_t i = 0; i < n; i++) {
		if (!links[i].link || !links[i].target || links[i].target[0] == '\0')
			return err_set(err, 0, "symlink %zu needs both `link` and `target`", i + 1);
		_cleanup_free_ char *name = NULL;
		if (container_name(links[i].link, &name, err) < 0)
			return -1;
		if (name[0] == '\0')
			return err_set(err, 0, "symlink link `%s` names no path", links[i].link);
		struct layer_entry *e = entry_list_add(out, name, ENTRY_SYMLINK, NULL, links[i].target);
		e->mode = 0777;
	}
	return 0;
}

int layer_collect(const struct layer_spec *spec, const char *project_dir, char *const *libs,
		  size_t n_libs, struct entry_list *out, struct err **err)
{
	struct walk w = { .prefix = &spec->prefix, .project_dir = project_dir, .out = out };
	struct prefix_options follow;
	switch (spec->kind) {
	case LAYER_GLOB:
		return collect_glob(&w, spec->glob ? spec->glob : "", err);
	case LAYER_PATHS:
		return collect_paths(&w, spec->paths, spec->n_paths, err);
	case LAYER_STUBS:
		return collect_stubs(out, spec->paths, spec->n_paths, err);
	case LAYER_SYMLINKS:
		return collect_symlinks(out, spec->symlinks, spec->n_symlinks, err);
	case LAYER_SHARED_LIBS:
		/* The loader must find the library's content at the path it was
		 * found at: always follow symlinks. */
		follow = spec->prefix;
		follow.follow_symlinks = true;
		w.prefix = &follow;
		return collect_paths(&w, libs, n_libs, err);
	case LAYER_TAR:
		break;
	}
	return err_set(err, 0, "internal error: layer_collect called for a tar layer");
}
