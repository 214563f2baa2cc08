/* layer_build: layer spec -> tar artifact, with the layer and path caches (see layer_build.h). */
#include "artifacts/layer_build.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/digest_map.h"
#include "artifacts/layer_entries.h"
#include "artifacts/ldd.h"
#include "artifacts/pathcache.h"
#include "artifacts/store.h"
#include "core/cleanup.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define LAYER_CACHE_MAGIC "maelstrom-layer-cache 1"
#define LAYER_CACHE_MAX 65536
/* Bump when the tar layout changes, so old cache records stop matching. */
#define LAYER_KEY_VERSION "maelstrom-layer-key 1"
#define LD_CACHE_FILE "/etc/ld.so.cache"

/* A shared-library closure, remembered by its inputs' stat. */
struct lib_memo {
	struct digest key;
	char **libs;
	size_t n_libs;
};

struct layer_builder {
	struct store *store;
	char *project_dir;
	struct pathcache *paths;
	struct digest_map *layers;
	struct lib_memo *memo;
	size_t n_memo;
	struct layer_build_stats stats;
};

const char *layer_kind_name(enum layer_kind kind)
{
	switch (kind) {
	case LAYER_TAR:
		return "tar";
	case LAYER_GLOB:
		return "glob";
	case LAYER_PATHS:
		return "paths";
	case LAYER_STUBS:
		return "stubs";
	case LAYER_SYMLINKS:
		return "symlinks";
	case LAYER_SHARED_LIBS:
		return "shared-library-dependencies";
	}
	return "unknown";
}

int layer_builder_new(struct layer_builder **out, struct store *store, const char *project_dir,
		      struct err **err)
{
	struct layer_builder *b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->store = store;
	b->project_dir = xasprintf("%s", project_dir);
	_cleanup_free_ char *pc = xasprintf("%s/path-cache", store_root(store));
	_cleanup_free_ char *lc = xasprintf("%s/layer-cache", store_root(store));
	if (pathcache_open(&b->paths, pc, err) < 0 ||
	    digest_map_open(&b->layers, lc, LAYER_CACHE_MAGIC, LAYER_CACHE_MAX, err) < 0) {
		layer_builder_free(b);
		return -1;
	}
	*out = b;
	return 0;
}

int layer_builder_save(struct layer_builder *b, struct err **err)
{
	if (pathcache_save(b->paths, err) < 0)
		return -1;
	return digest_map_save(b->layers, err);
}

void layer_builder_free(struct layer_builder *b)
{
	if (!b)
		return;
	struct err *e = NULL;
	if (b->paths && b->layers && layer_builder_save(b, &e) < 0) {
		log_warning("cannot save the layer caches: %s", err_msg(e));
		err_free(&e);
	}
	pathcache_free(b->paths);
	digest_map_free(b->layers);
	for (size_t i = 0; i < b->n_memo; i++)
		ldd_free(b->memo[i].libs, b->memo[i].n_libs);
	free(b->memo);
	free(b->project_dir);
	free(b);
}

struct pathcache *layer_builder_pathcache(struct layer_builder *b)
{
	return b->paths;
}

struct layer_build_stats layer_builder_stats(const struct layer_builder *b)
{
	return b->stats;
}

/* True if the store has d, asking the disk once in case another process
 * added it. */
static bool store_has_fresh(struct store *s, const struct digest *d)
{
	if (store_has(s, d))
		return true;
	struct err *e = NULL;
	if (store_refresh(s, d, &e) < 0) {
		err_free(&e);
		return false;
	}
	return store_has(s, d);
}

static char *host_path(const struct layer_builder *b, const char *path)
{
	if (path[0] == '/')
		return xasprintf("%s", path);
	return xasprintf("%s/%s", b->project_dir, path);
}

static int path_error(struct err **err, int errnum, const char *path)
{
	err_set(err, 0, "%s: %s; fix the path in the job spec", path, strerror(errnum));
	if (err && *err)
		(*err)->errnum = errnum;
	return -1;
}

static int build_tar(struct layer_builder *b, const struct layer_spec *spec, struct digest *out,
		     struct err **err)
{
	if (!spec->path)
		return err_set(err, 0, "no tar path given");
	_cleanup_free_ char *host = host_path(b, spec->path);
	struct stat before, after;
	if (stat(host, &before) < 0)
		return path_error(err, errno, spec->path);
	if (!S_ISREG(before.st_mode))
		return err_set(err, 0, "%s is not a regular file; fix the path in the job spec",
			       spec->path);
	if (pathcache_lookup(b->paths, &before, out) && store_has_fresh(b->store, out)) {
		b->stats.cache_hits++;
		return 0;
	}
	b->stats.files_read++;
	if (store_add_path(b->store, host, out, err) < 0)
		return -1;
	if (stat(host, &after) == 0 && pathcache_stat_same(&before, &after))
		pathcache_insert(b->paths, &before, out);
	return 0;
}

/* ---- cache key ------------------------------------------------------------ */

static void put_str(struct digest_state *s, const char *str)
{
	uint64_t len = str ? strlen(str) : UINT64_MAX;
	digest_state_update(s, &len, sizeof(len));
	if (str)
		digest_state_update(s, str, strlen(str));
}

static void put_u64(struct digest_state *s, uint64_t v)
{
	digest_state_update(s, &v, sizeof(v));
}

static void put_spec(struct digest_state *s, const struct layer_spec *spec)
{
	put_str(s, LAYER_KEY_VERSION);
	put_u64(s, (uint64_t)spec->kind);
	put_str(s, spec->path);
	put_str(s, spec->glob);
	put_u64(s, spec->n_paths);
	for (size_t i = 0; i < spec->n_paths; i++)
		put_str(s, spec->paths[i]);
	put_u64(s, spec->n_symlinks);
	for (size_t i = 0; i < spec->n_symlinks; i++) {
		put_str(s, spec->symlinks[i].link);
		put_str(s, spec->symlinks[i].target);
	}
	put_str(s, spec->prefix.strip_prefix);
	put_str(s, spec->prefix.prepend_prefix);
	put_u64(s, spec->prefix.canonicalize);
	put_u64(s, spec->prefix.follow_symlinks);
}

static uint64_t ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* The key of a finished entry list; *racy when some source is too fresh to
 * trust across processes. */
static void layer_key(const struct layer_spec *spec, const struct entry_list *l,
		      struct digest *key, bool *racy)
{
	struct digest_state *s = digest_state_new();
	put_spec(s, spec);
	put_u64(s, l->n);
	*racy = false;
	for (size_t i = 0; i < l->n; i++) {
		const struct layer_entry *e = &l->v[i];
		put_str(s, e->name);
		put_u64(s, e->type);
		put_u64(s, e->mode);
		put_u64(s, (uint64_t)e->mtime);
		put_str(s, e->source);
		put_str(s, e->target);
		put_u64(s, e->has_st);
		if (e->has_st) {
			put_u64(s, e->st.st_dev);
			put_u64(s, e->st.st_ino);
			put_u64(s, (uint64_t)e->st.st_size);
			put_u64(s, ns(&e->st.st_mtim));
			put_u64(s, ns(&e->st.st_ctim));
			put_u64(s, e->st.st_mode);
			if (pathcache_stat_is_racy(&e->st))
				*racy = true;
		}
	}
	digest_state_final(s, key);
	digest_state_free(s);
}

/* ---- shared libraries ------------------------------------------------------ */

static int lib_closure(struct layer_builder *b, const struct layer_spec *spec, char ***libs,
		       size_t *n_libs, struct err **err)
{
	_cleanup_free_ char **hosts = calloc(spec->n_paths ? spec->n_paths : 1, sizeof(char *));
	if (!hosts)
		abort();
	struct digest_state *s = digest_state_new();
	int ret = -1;
	struct stat st;
	for (size_t i = 0; i < spec->n_paths; i++) {
		hosts[i] = host_path(b, spec->paths[i]);
		if (stat(hosts[i], &st) < 0) {
			path_error(err, errno, spec->paths[i]);
			goto out;
		}
		put_str(s, hosts[i]);
		put_u64(s, st.st_dev);
		put_u64(s, st.st_ino);
		put_u64(s, (uint64_t)st.st_size);
		put_u64(s, ns(&st.st_mtim));
		put_u64(s, ns(&st.st_ctim));
	}
	if (stat(LD_CACHE_FILE, &st) == 0) {
		put_u64(s, st.st_ino);
		put_u64(s, ns(&st.st_mtim));
	}
	struct digest key;
	digest_state_final(s, &key);
	for (size_t i = 0; i < b->n_memo; i++) {
		if (digest_equal(&b->memo[i].key, &key)) {
			*libs = b->memo[i].libs;
			*n_libs = b->memo[i].n_libs;
			ret = 0;
			goto out;
		}
	}
	char **found;
	size_t n_found;
	if (ldd_closure((const char *const *)hosts, spec->n_paths, &found, &n_found, err) < 0)
		goto out;
	b->memo = realloc(b->memo, (b->n_memo + 1) * sizeof(*b->memo));
	if (!b->memo)
		abort();
	b->memo[b->n_memo++] = (struct lib_memo){ key, found, n_found };
	*libs = found;
	*n_libs = n_found;
	ret = 0;
out:
	for (size_t i = 0; i < spec->n_paths; i++)
		free(hosts[i]);
	digest_state_free(s);
	return ret;
}

/* ---- building ---------------------------------------------------------------- */

static int write_layer(struct layer_builder *b, const struct entry_list *l, struct digest *out,
		       struct err **err)
{
	char *tmp = NULL;
	int fd = -1;
	if (store_tmpfile(b->store, &tmp, &fd, err) < 0)
		return -1;
	unsigned long long reads = 0;
	int ret = layer_tar_write(l, fd, &reads, err);
	b->stats.files_read += reads;
	/* store_commit makes it durable. */
	if (close(fd) < 0 && ret == 0)
		ret = err_set(err, errno, "cannot write layer tar %s", tmp);
	if (ret == 0)
		ret = store_commit(b->store, tmp, NULL, out, err);
	else
		unlink(tmp);
	free(tmp);
	return ret;
}

static int build_entries(struct layer_builder *b, const struct layer_spec *spec,
			 struct digest *out, struct err **err)
{
	char **libs = NULL;
	size_t n_libs = 0;
	if (spec->kind == LAYER_SHARED_LIBS && lib_closure(b, spec, &libs, &n_libs, err) < 0)
		return -1;
	struct entry_list l = { 0 };
	int ret = layer_collect(spec, b->project_dir, libs, n_libs, &l, err);
	if (ret == 0)
		ret = entry_list_finish(&l, err);
	if (ret < 0)
		goto out;
	struct digest key;
	bool racy;
	layer_key(spec, &l, &key, &racy);
	if (digest_map_get(b->layers, &key, out) && store_has_fresh(b->store, out)) {
		b->stats.cache_hits++;
		goto out;
	}
	ret = write_layer(b, &l, out, err);
	if (ret == 0) {
		b->stats.built++;
		digest_map_put(b->layers, &key, out, !racy);
	}
out:
	entry_list_release(&l);
	return ret;
}

int layer_build(struct layer_builder *b, const struct layer_spec *spec, struct digest *out,
		struct err **err)
{
	int ret = spec->kind == LAYER_TAR ? build_tar(b, spec, out, err)
					  : build_entries(b, spec, out, err);
	if (ret < 0)
		return err_wrap(err, "layer `%s`", layer_kind_name(spec->kind));
	return 0;
}
