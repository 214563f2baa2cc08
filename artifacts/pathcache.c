/* pathcache: stat-keyed file digest cache (see pathcache.h). */
#include "artifacts/pathcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/digest_map.h"
#include "core/cleanup.h"
#include "core/err.h"

#define PATHCACHE_MAGIC "maelstrom-path-cache 1"
#define PATHCACHE_MAX 65536

struct pathcache {
	struct digest_map *map;
	uint64_t reads;
};

/* The fields of the key, packed without padding so the hash is stable. */
struct __attribute__((packed)) stat_key {
	uint64_t dev;
	uint64_t ino;
	int64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
};

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

static void stat_key(const struct stat *st, struct digest *out)
{
	struct stat_key k = {
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = st->st_size,
		.mtime_ns = ts_ns(&st->st_mtim),
		.ctime_ns = ts_ns(&st->st_ctim),
	};
	digest_bytes(&k, sizeof(k), out);
}

bool pathcache_stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       ts_ns(&a->st_mtim) == ts_ns(&b->st_mtim) &&
	       ts_ns(&a->st_ctim) == ts_ns(&b->st_ctim);
}

bool pathcache_stat_is_racy(const struct stat *st)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return ts_ns(&st->st_mtim) > ts_ns(&now) - PATHCACHE_RACY_NS;
}

int pathcache_open(struct pathcache **out, const char *file, struct err **err)
{
	struct pathcache *pc = calloc(1, sizeof(*pc));
	if (!pc)
		abort();
	if (digest_map_open(&pc->map, file, PATHCACHE_MAGIC, PATHCACHE_MAX, err) < 0) {
		free(pc);
		return -1;
	}
	*out = pc;
	return 0;
}

void pathcache_free(struct pathcache *pc)
{
	if (!pc)
		return;
	digest_map_free(pc->map);
	free(pc);
}

int pathcache_save(struct pathcache *pc, struct err **err)
{
	return digest_map_save(pc->map, err);
}

bool pathcache_lookup(struct pathcache *pc, const struct stat *st, struct digest *out)
{
	struct digest key;
	stat_key(st, &key);
	return digest_map_get(pc->map, &key, out);
}

void pathcache_insert(struct pathcache *pc, const struct stat *st, const struct digest *d)
{
	struct digest key;
	stat_key(st, &key);
	digest_map_put(pc->map, &key, d, !pathcache_stat_is_racy(st));
}

int pathcache_digest(struct pathcache *pc, const char *path, struct digest *out,
		     struct stat *st_out, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s", path);
	struct stat before, after;
	if (fstat(fd, &before) < 0)
		return err_set(err, errno, "cannot stat %s", path);
	if (!S_ISREG(before.st_mode))
		return err_set(err, 0, "%s is not a regular file", path);
	if (st_out)
		*st_out = before;
	if (pathcache_lookup(pc, &before, out))
		return 0;
	pc->reads++;
	if (digest_fd(fd, out, err) < 0)
		return err_wrap(err, "cannot read %s", path);
	if (fstat(fd, &after) == 0 && pathcache_stat_same(&before, &after))
		pathcache_insert(pc, &before, out);
	return 0;
}

uint64_t pathcache_reads(const struct pathcache *pc)
{
	return pc->reads;
}
