/* ldd: shared-library closure of a set of binaries (see ldd.h). */
#include "artifacts/ldd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifacts/ldd_elf.h"
#include "core/cleanup.h"
#include "core/err.h"
#include "core/xalloc.h"

#define LD_CACHE_PATH "/etc/ld.so.cache"
#define NO_LOADER SIZE_MAX

static const char *const default_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib", "/usr/lib",
};

/* One object in the closure: a binary (root) or a library. */
struct obj {
	char *path;        /* as found */
	char *origin;      /* $ORIGIN */
	dev_t dev;
	ino_t ino;
	struct elf_dyn dyn;
	char **names;      /* names it satisfies (requested names, soname) */
	size_t n_names;
	size_t loader;     /* index of the object that needed it, NO_LOADER for roots */
	size_t root;       /* index of the binary whose closure found it */
	bool is_root;
};

struct closure {
	struct obj *objs;
	size_t n, cap;
	struct ld_cache *cache;
};

static void obj_add_name(struct obj *o, const char *name)
{
	for (size_t i = 0; i < o->n_names; i++)
		if (strcmp(o->names[i], name) == 0)
			return;
	o->names = realloc(o->names, (o->n_names + 1) * sizeof(char *));
	if (!o->names)
		abort();
	o->names[o->n_names++] = xstrdup(name);
}

static void closure_release(struct closure *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct obj *o = &c->objs[i];
		free(o->path);
		free(o->origin);
		elf_dyn_release(&o->dyn);
		for (size_t j = 0; j < o->n_names; j++)
			free(o->names[j]);
		free(o->names);
	}
	free(c->objs);
	ld_cache_free(c->cache);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Appends an object; takes ownership of path and *dyn. */
static struct obj *closure_push(struct closure *c, char *path, const struct stat *st,
				struct elf_dyn *dyn, size_t loader, size_t root)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->objs = realloc(c->objs, c->cap * sizeof(*c->objs));
		if (!c->objs)
			abort();
	}
	struct obj *o = &c->objs[c->n++];
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->dyn = *dyn;
	memset(dyn, 0, sizeof(*dyn));
	o->loader = loader;
	o->root = root;
	o->origin = dir_of(path);
	obj_add_name(o, path);
	if (o->dyn.soname)
		obj_add_name(o, o->dyn.soname);
	return o;
}

static struct obj *find_by_file(struct closure *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->objs[i].dev == st->st_dev && c->objs[i].ino == st->st_ino)
			return &c->objs[i];
	return NULL;
}

static struct obj *find_by_name(struct closure *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < c->objs[i].n_names; j++)
			if (strcmp(c->objs[i].names[j], name) == 0)
				return &c->objs[i];
	return NULL;
}

static bool is_name_char(char ch)
{
	return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9');
}

/* Expands $ORIGIN, $LIB and $PLATFORM (also in ${...} form) in one entry. */
static char *expand_dst(const char *entry, const char *origin)
{
	static const struct {
		const char *name;
		const char *value;
	} tokens[] = { { "ORIGIN", NULL }, { "LIB", "lib/x86_64-linux-gnu" },
		       { "PLATFORM", "x86_64" } };
	size_t cap = strlen(entry) + 1, len = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	for (const char *p = entry; *p;) {
		const char *value = NULL;
		size_t skip = 0;
		if (*p == '$') {
			bool braced = p[1] == '{';
			for (size_t t = 0; t < ARRAY_SIZE(tokens) && !value; t++) {
				size_t n = strlen(tokens[t].name);
				const char *nm = p + 1 + braced;
				if (strncmp(nm, tokens[t].name, n) != 0)
					continue;
				if (braced ? nm[n] != '}' : is_name_char(nm[n]))
					continue;
				value = tokens[t].value ? tokens[t].value : origin;
				skip = 1 + braced + n + braced;
			}
		}
		if (!value) {
			value = p;
			skip = 1;
		}
		size_t vlen = value == p ? 1 : strlen(value);
		if (len + vlen + 1 > cap) {
			cap = 2 * (len + vlen + 1);
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		memcpy(out + len, value, vlen);
		len += vlen;
		p += skip;
	}
	out[len] = '\0';
	return out;
}

enum probe_result { PROBE_FOUND, PROBE_SKIP, PROBE_ERROR };

/* Tries one candidate path: PROBE_FOUND fills *st and *dyn; PROBE_SKIP for a
 * missing file or another architecture (the loader moves on). */
static enum probe_result probe(const char *path, struct stat *st, struct elf_dyn *dyn,
			       struct err **err)
{
	if (stat(path, st) < 0 || !S_ISREG(st->st_mode))
		return PROBE_SKIP;
	struct err *e = NULL;
	enum elf_dyn_result r = elf_dyn_read(path, dyn, &e);
	switch (r) {
	case ELF_DYN_OK:
		return PROBE_FOUND;
	case ELF_DYN_WRONG_ARCH:
		err_free(&e);
		return PROBE_SKIP;
	case ELF_DYN_ERROR:
		break;
	}
	if (e && (e->errnum == EACCES || e->errnum == ENOENT)) {
		err_free(&e);
		return PROBE_SKIP;
	}
	if (err)
		*err = e;
	else
		err_free(&e);
	return PROBE_ERROR;
}

/* Searches one colon-separated list (RPATH/RUNPATH) of owner. */
static enum probe_result search_list(const char *list, const char *origin, const char *name,
				     char **found, struct stat *st, struct elf_dyn *dyn,
				     struct err **err)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	for (char *entry = strtok_r(copy, ":", &save); entry; entry = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *dir = expand_dst(entry, origin);
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
		enum probe_result r = probe(path, st, dyn, err);
		if (r == PROBE_FOUND)
			*found = steal_pointer(&path);
		if (r != PROBE_SKIP)
			return r;
	}
	return PROBE_SKIP;
}

static enum probe_result search(struct closure *c, size_t requester, const char *name,
				char **found, struct stat *st, struct elf_dyn *dyn,
				struct err **err)
{
	const struct obj *req = &c->objs[requester];
	enum probe_result r;
	if (strchr(name, '/')) {
		r = probe(name, st, dyn, err);
		if (r == PROBE_FOUND)
			*found = xstrdup(name);
		return r;
	}
	if (!req->dyn.runpath) {
		for (size_t i = requester; i != NO_LOADER; i = c->objs[i].loader) {
			const struct obj *o = &c->objs[i];
			if (!o->dyn.rpath)
				continue;
			r = search_list(o->dyn.rpath, o->origin, name, found, st, dyn, err);
			if (r != PROBE_SKIP)
				return r;
		}
	} else {
		r = search_list(req->dyn.runpath, req->origin, name, found, st, dyn, err);
		if (r != PROBE_SKIP)
			return r;
	}
	if (req->dyn.nodeflib)
		return PROBE_SKIP;
	const char *cached = ld_cache_lookup(c->cache, name);
	if (cached) {
		r = probe(cached, st, dyn, err);
		if (r == PROBE_FOUND)
			*found = xstrdup(cached);
		if (r != PROBE_SKIP)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(default_dirs); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", default_dirs[i], name);
		r = probe(path, st, dyn, err);
		if (r == PROBE_FOUND)
			*found = steal_pointer(&path);
		if (r != PROBE_SKIP)
			return r;
	}
	return PROBE_SKIP;
}

/* Makes name available to object `requester`, adding an object if needed. */
static int resolve(struct closure *c, size_t requester, const char *name, struct err **err)
{
	if (find_by_name(c, name))
		return 0;
	char *found = NULL;
	struct stat st;
	struct elf_dyn dyn = { 0 };
	enum probe_result r = search(c, requester, name, &found, &st, &dyn, err);
	const struct obj *req = &c->objs[requester];
	const char *binary = c->objs[req->root].path;
	switch (r) {
	case PROBE_FOUND:
		break;
	case PROBE_SKIP:
		if (req->is_root)
			return err_set(err, 0,
				       "%s needs shared library %s, which is in none of its "
				       "RPATH/RUNPATH, /etc/ld.so.cache or the default library "
				       "directories; install it or fix the binary",
				       binary, name);
		return err_set(err, 0,
			       "%s needs shared library %s (via %s), which is in none of the "
			       "RPATH/RUNPATH, /etc/ld.so.cache or the default library "
			       "directories; install it or fix the binary",
			       binary, name, req->path);
	case PROBE_ERROR:
		return err_wrap(err, "%s: looking for shared library %s", binary, name);
	}
	struct obj *same = find_by_file(c, &st);
	if (same) {
		free(found);
		elf_dyn_release(&dyn);
		obj_add_name(same, name);
		return 0;
	}
	size_t root = c->objs[requester].root;
	struct obj *o = closure_push(c, found, &st, &dyn, requester, root);
	obj_add_name(o, name);
	return 0;
}

static int add_binary(struct closure *c, const char *binary, struct err **err)
{
	struct stat st;
	if (stat(binary, &st) < 0)
		return err_set(err, errno, "cannot stat binary %s", binary);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "binary %s is not a regular file", binary);
	if (find_by_file(c, &st))
		return 0;
	struct elf_dyn dyn;
	if (elf_dyn_read(binary, &dyn, err) != ELF_DYN_OK)
		return -1;
	struct obj *o = closure_push(c, xstrdup(binary), &st, &dyn, NO_LOADER, c->n);
	o->is_root = true;
	char real[PATH_MAX];
	if (realpath(binary, real)) {
		free(o->origin);
		o->origin = dir_of(real);
	}
	return 0;
}

/* Adds the binary's PT_INTERP, which must exist. */
static int add_interp(struct closure *c, size_t root, struct err **err)
{
	const char *interp = c->objs[root].dyn.interp;
	if (!interp || find_by_name(c, interp))
		return 0;
	struct stat st;
	struct elf_dyn dyn = { 0 };
	struct err *e = NULL;
	enum probe_result r = probe(interp, &st, &dyn, &e);
	switch (r) {
	case PROBE_FOUND:
		break;
	case PROBE_SKIP:
		return err_set(err, 0,
			       "%s needs the dynamic loader %s, which is missing or not an "
			       "x86-64 ELF file",
			       c->objs[root].path, interp);
	case PROBE_ERROR:
		if (err)
			*err = e;
		else
			err_free(&e);
		return err_wrap(err, "%s: dynamic loader %s", c->objs[root].path, interp);
	}
	struct obj *same = find_by_file(c, &st);
	if (same) {
		elf_dyn_release(&dyn);
		obj_add_name(same, interp);
		return 0;
	}
	closure_push(c, xstrdup(interp), &st, &dyn, root, root);
	return 0;
}

int ldd_closure(const char *const *binaries, size_t n, char ***libs, size_t *n_libs,
		struct err **err)
{
	struct closure c = { 0 };
	int ret = -1;
	*libs = NULL;
	*n_libs = 0;
	c.cache = ld_cache_load(LD_CACHE_PATH);

	for (size_t i = 0; i < n; i++)
		if (add_binary(&c, binaries[i], err) < 0)
			goto out;
	size_t n_roots = c.n;
	for (size_t i = 0; i < n_roots; i++)
		if (add_interp(&c, i, err) < 0)
			goto out;
	/* Breadth first: objects appended while we walk are visited in turn. */
	for (size_t i = 0; i < c.n; i++)
		for (size_t j = 0; j < c.objs[i].dyn.n_needed; j++)
			if (resolve(&c, i, c.objs[i].dyn.needed[j], err) < 0)
				goto out;

	char **out = calloc(c.n ? c.n : 1, sizeof(char *));
	if (!out)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < c.n; i++)
		if (!c.objs[i].is_root)
			out[k++] = steal_pointer(&c.objs[i].path);
	*libs = out;
	*n_libs = k;
	ret = 0;
out:
	closure_release(&c);
	return ret;
}

void ldd_free(char **libs, size_t n)
{
	if (!libs)
		return;
	for (size_t i = 0; i < n; i++)
		free(libs[i]);
	free(libs);
}
