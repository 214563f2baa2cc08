/*
 * store_index: the store's in-memory index (a chained hash table keyed by
 * digest), the logical clock, and the code that reads entries back from
 * disk. See store_internal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/store_internal.h"
#include "core/cleanup.h"
#include "core/log.h"

/* ---- hash table -------------------------------------------------------- */

static size_t bucket_of(const struct store *s, const struct digest *d)
{
	uint64_t h; /* the digest is already uniformly distributed */
	memcpy(&h, d->bytes, sizeof(h));
	return (size_t)(h & (s->nbuckets - 1));
}

void index_init(struct store *s)
{
	s->nbuckets = 64;
	s->count = 0;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		abort();
}

static void entry_free(struct store_entry *e)
{
	entry_unlock(e);
	free(e);
}

void index_release(struct store *s)
{
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct store_entry *e = s->buckets[i];
		while (e) {
			struct store_entry *next = e->next;
			entry_free(e);
			e = next;
		}
	}
	free(s->buckets);
	s->buckets = NULL;
	s->nbuckets = s->count = 0;
	s->bytes_used = 0;
}

struct store_entry *index_find(const struct store *s, const struct digest *d)
{
	for (struct store_entry *e = s->buckets[bucket_of(s, d)]; e; e = e->next)
		if (digest_equal(&e->digest, d))
			return e;
	return NULL;
}

static void index_grow(struct store *s)
{
	size_t old_n = s->nbuckets;
	struct store_entry **old = s->buckets;
	s->nbuckets = old_n * 2;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		abort();
	for (size_t i = 0; i < old_n; i++) {
		struct store_entry *e = old[i];
		while (e) {
			struct store_entry *next = e->next;
			size_t b = bucket_of(s, &e->digest);
			e->next = s->buckets[b];
			s->buckets[b] = e;
			e = next;
		}
	}
	free(old);
}

struct store_entry *index_get(struct store *s, const struct digest *d)
{
	struct store_entry *e = index_find(s, d);
	if (e)
		return e;
	if (s->count >= s->nbuckets)
		index_grow(s);
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->digest = *d;
	digest_to_hex(d, e->hex);
	e->lock_fd = -1;
	size_t b = bucket_of(s, d);
	e->next = s->buckets[b];
	s->buckets[b] = e;
	s->count++;
	return e;
}

void index_drop(struct store *s, struct store_entry *e)
{
	struct store_entry **p = &s->buckets[bucket_of(s, &e->digest)];
	while (*p && *p != e)
		p = &(*p)->next;
	if (!*p)
		return;
	*p = e->next;
	s->count--;
	index_uncount(s, e);
	entry_free(e);
}

void index_drop_if_unused(struct store *s, struct store_entry *e)
{
	if (!e->present && e->pins == 0)
		index_drop(s, e);
}

struct store_entry **index_list(const struct store *s, size_t *n)
{
	struct store_entry **list = malloc((s->count + 1) * sizeof(*list));
	if (!list)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct store_entry *e = s->buckets[i]; e; e = e->next)
			list[k++] = e;
	*n = k;
	return list;
}

uint64_t entry_bytes(const struct store_entry *e)
{
	if (!e->present)
		return 0;
	return e->blob_bytes + (e->layer_present ? e->layer_bytes : 0);
}

void index_uncount(struct store *s, const struct store_entry *e)
{
	s->bytes_used -= entry_bytes(e);
}

void index_count(struct store *s, const struct store_entry *e)
{
	s->bytes_used += entry_bytes(e);
}

/* ---- recency ------------------------------------------------------------ */

static int64_t ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int64_t store_tick(struct store *s)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t t = ts_to_ns(&now);
	if (t <= s->clock)
		t = s->clock + 1;
	s->clock = t;
	return t;
}

void store_seen(struct store *s, int64_t t)
{
	if (t > s->clock)
		s->clock = t;
}

int entry_touch(struct store *s, struct store_entry *e)
{
	int64_t t = store_tick(s);
	struct timespec ts[2] = {
		{ 0, UTIME_OMIT },
		{ t / 1000000000, t % 1000000000 },
	};
	if (utimensat(s->blobs_fd, e->hex, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return -1;
		/* Recency is then only kept in memory; not worth failing for. */
		log_debug("cannot record use of artifact %s/blobs/%s: %s", s->root, e->hex,
			  strerror(errno));
	}
	e->last_use = t;
	return 0;
}

void entry_vanished(struct store *s, struct store_entry *e)
{
	index_uncount(s, e);
	e->present = false;
	e->layer_present = false;
	entry_unlock(e);
	index_drop_if_unused(s, e);
}

/* ---- cross-store pins ------------------------------------------------------ */

void entry_unlock(struct store_entry *e)
{
	if (e->lock_fd >= 0) {
		close(e->lock_fd);
		e->lock_fd = -1;
	}
}

void entry_lock(struct store *s, struct store_entry *e)
{
	if (e->lock_fd >= 0 || !e->present || e->pins == 0)
		return;
	int fd = openat(s->blobs_fd, e->hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			goto vanished;
		log_warning("cannot lock pinned artifact %s/blobs/%s (other processes sharing the "
			    "cache may evict it): %s", s->root, e->hex, strerror(errno));
		return;
	}
	/* An evicting store holds the exclusive lock only for a few calls. */
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			log_warning("cannot lock pinned artifact %s/blobs/%s: %s", s->root, e->hex,
				    strerror(errno));
			close(fd);
			return;
		}
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
		close(fd);
		goto vanished; /* evicted while we waited */
	}
	e->lock_fd = fd;
	return;
vanished:
	index_uncount(s, e);
	e->present = false;
	e->layer_present = false;
	index_count(s, e);
}

/* ---- reading the disk ------------------------------------------------------- */

int entry_reload(struct store *s, struct store_entry *e, struct err **err)
{
	struct stat st;
	index_uncount(s, e);
	bool was_layer = e->layer_present;
	int r = fstatat(s->blobs_fd, e->hex, &st, AT_SYMLINK_NOFOLLOW);
	if (r == 0 && S_ISREG(st.st_mode)) {
		e->present = true;
		e->blob_bytes = (uint64_t)st.st_size;
		int64_t t = ts_to_ns(&st.st_mtim);
		if (t > e->last_use)
			e->last_use = t;
		store_seen(s, t);
	} else if (r == 0 || errno == ENOENT) {
		e->present = false;
	} else {
		int saved = errno;
		index_count(s, e);
		return err_set(err, saved, "cannot inspect artifact %s/blobs/%s", s->root, e->hex);
	}
	e->layer_present = false;
	if (e->present && fstatat(s->layers_fd, e->hex, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		e->layer_present = true;
		if (!was_layer)
			e->layer_bytes = layer_size_read(s, e->hex, e->blob_bytes);
	}
	index_count(s, e);
	if (e->present)
		entry_lock(s, e);
	else
		entry_unlock(e);
	return 0;
}

static bool canonical_hex(const char *name, struct digest *d)
{
	char back[DIGEST_HEX_LEN + 1];
	if (digest_from_hex(name, d) < 0)
		return false;
	digest_to_hex(d, back);
	return strcmp(back, name) == 0;
}

static DIR *open_listing(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

static int load_blobs(struct store *s, struct err **err)
{
	DIR *d = open_listing(s->blobs_fd);
	if (!d)
		return err_set(err, errno, "cannot list %s/blobs", s->root);
	struct dirent *ent;
	while ((errno = 0, ent = readdir(d))) {
		struct digest dg;
		struct stat st;
		if (!canonical_hex(ent->d_name, &dg))
			continue;
		if (fstatat(s->blobs_fd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		struct store_entry *e = index_get(s, &dg);
		e->present = true;
		e->blob_bytes = (uint64_t)st.st_size;
		e->last_use = ts_to_ns(&st.st_mtim);
		store_seen(s, e->last_use);
		index_count(s, e);
	}
	int saved = errno;
	closedir(d);
	if (saved)
		return err_set(err, saved, "cannot list %s/blobs", s->root);
	return 0;
}

static int load_layers(struct store *s, struct err **err)
{
	DIR *d = open_listing(s->layers_fd);
	if (!d)
		return err_set(err, errno, "cannot list %s/layers", s->root);
	struct dirent *ent;
	while ((errno = 0, ent = readdir(d))) {
		char hex[DIGEST_HEX_LEN + 1];
		struct digest dg;
		const char *name = ent->d_name;
		size_t len = strlen(name);
		bool sidecar = len == DIGEST_HEX_LEN + 5 && strcmp(name + DIGEST_HEX_LEN, ".size") == 0;
		if (len != DIGEST_HEX_LEN && !sidecar)
			continue;
		memcpy(hex, name, DIGEST_HEX_LEN);
		hex[DIGEST_HEX_LEN] = '\0';
		if (!canonical_hex(hex, &dg))
			continue;
		struct store_entry *e = index_find(s, &dg);
		bool has_blob = e && e->present;
		if (sidecar) {
			if (!has_blob)
				unlinkat(s->layers_fd, name, 0);
			continue;
		}
		struct stat st;
		if (fstatat(s->layers_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!has_blob) {
			/* Left by a crash between removing a blob and its layer. */
			struct err *rm = NULL;
			if (layer_dir_remove(s, name, &rm) < 0) {
				log_warning("cannot remove stale layer dir: %s", err_msg(rm));
				err_free(&rm);
			}
			continue;
		}
		index_uncount(s, e);
		e->layer_present = true;
		e->layer_bytes = layer_size_read(s, hex, e->blob_bytes);
		index_count(s, e);
	}
	int saved = errno;
	closedir(d);
	if (saved)
		return err_set(err, saved, "cannot list %s/layers", s->root);
	return 0;
}

int index_load(struct store *s, struct err **err)
{
	if (load_blobs(s, err) < 0 || load_layers(s, err) < 0)
		return -1;
	return 0;
}
