/* digest_map: persisted digest -> digest map (see digest_map.h). */
#include "artifacts/digest_map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/err.h"
#include "core/fdio.h"

#define MAX_FILE (256u << 20)
#define LINE_LEN (2 * DIGEST_HEX_LEN + 2)

struct slot {
	struct digest key;
	struct digest val;
	uint64_t stamp;      /* recency: larger is more recent; 0 = loaded from disk */
	bool used;
	bool persist;
};

struct digest_map {
	char *path;          /* NULL: memory only */
	char *magic;
	size_t max_entries;
	struct slot *slots;
	size_t cap;          /* power of two */
	size_t n;
	uint64_t clock;
	bool dirty;
};

static size_t slot_index(const struct digest_map *m, const struct digest *key)
{
	uint64_t h;
	memcpy(&h, key->bytes, sizeof(h));
	size_t i = (size_t)h & (m->cap - 1);
	while (m->slots[i].used && !digest_equal(&m->slots[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void grow(struct digest_map *m)
{
	struct slot *old = m->slots;
	size_t old_cap = m->cap;
	m->cap = old_cap ? 2 * old_cap : 64;
	m->slots = calloc(m->cap, sizeof(struct slot));
	if (!m->slots)
		abort();
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			m->slots[slot_index(m, &old[i].key)] = old[i];
	free(old);
}

/* Inserts without touching the dirty flag; returns the slot. */
static struct slot *insert(struct digest_map *m, const struct digest *key)
{
	if ((m->n + 1) * 10 > m->cap * 7)
		grow(m);
	struct slot *s = &m->slots[slot_index(m, key)];
	if (!s->used) {
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->key = *key;
		m->n++;
	}
	return s;
}

static struct slot *lookup(struct digest_map *m, const struct digest *key)
{
	if (m->n == 0)
		return NULL;
	struct slot *s = &m->slots[slot_index(m, key)];
	return s->used ? s : NULL;
}

/* Reads the file's records and hands each to fn; unparsable lines are
 * skipped, a foreign magic skips the file. A missing file is fine. */
static int read_records(const struct digest_map *m, void (*fn)(struct digest_map *, const struct digest *,
							       const struct digest *),
			struct digest_map *target, struct err **err)
{
	_cleanup_close_ int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "cannot open cache file %s", m->path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "cannot stat cache file %s", m->path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE)
		return 0;
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		abort();
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, errno, "cannot read cache file %s", m->path);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	size_t mlen = strlen(m->magic);
	if (len < mlen + 1 || memcmp(buf, m->magic, mlen) != 0 || buf[mlen] != '\n')
		return 0;
	char *line = buf + mlen + 1;
	while (*line) {
		char *nl = strchr(line, '\n');
		if (!nl)
			break; /* a torn last line */
		*nl = '\0';
		struct digest k, v;
		if (nl - line == LINE_LEN - 1 && line[DIGEST_HEX_LEN] == ' ') {
			line[DIGEST_HEX_LEN] = '\0';
			if (digest_from_hex(line, &k) == 0 &&
			    digest_from_hex(line + DIGEST_HEX_LEN + 1, &v) == 0)
				fn(target, &k, &v);
		}
		line = nl + 1;
	}
	return 0;
}

static void load_record(struct digest_map *m, const struct digest *k, const struct digest *v)
{
	struct slot *s = insert(m, k);
	s->val = *v;
	s->persist = true;
	s->stamp = ++m->clock;
}

/* Merge: a record from disk is kept unless memory already has the key. */
static void merge_record(struct digest_map *m, const struct digest *k, const struct digest *v)
{
	struct slot *s = lookup(m, k);
	if (s)
		return;
	s = insert(m, k);
	s->val = *v;
	s->persist = true;
	s->stamp = 0;
}

int digest_map_open(struct digest_map **out, const char *path, const char *magic,
		    size_t max_entries, struct err **err)
{
	struct digest_map *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	m->path = path ? strdup(path) : NULL;
	m->magic = strdup(magic);
	if ((path && !m->path) || !m->magic)
		abort();
	m->max_entries = max_entries ? max_entries : 1;
	grow(m);
	if (m->path) {
		struct err *e = NULL;
		if (read_records(m, load_record, m, &e) < 0)
			err_free(&e); /* an unreadable cache is an empty cache */
	}
	(void)err;
	*out = m;
	return 0;
}

void digest_map_free(struct digest_map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->path);
	free(m->magic);
	free(m);
}

bool digest_map_get(struct digest_map *m, const struct digest *key, struct digest *val)
{
	struct slot *s = lookup(m, key);
	if (!s)
		return false;
	s->stamp = ++m->clock;
	if (val)
		*val = s->val;
	return true;
}

void digest_map_put(struct digest_map *m, const struct digest *key, const struct digest *val,
		    bool persist)
{
	struct slot *s = insert(m, key);
	s->val = *val;
	s->persist = persist;
	s->stamp = ++m->clock;
	m->dirty = true;
}

size_t digest_map_size(const struct digest_map *m)
{
	return m->n;
}

static int by_stamp(const void *a, const void *b)
{
	const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;
	return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

/* Writes the persistable records, newest max_entries, to a temp file and
 * renames it over the cache file. */
static int write_file(struct digest_map *m, struct err **err)
{
	_cleanup_free_ struct slot **order = calloc(m->n ? m->n : 1, sizeof(struct slot *));
	if (!order)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used && m->slots[i].persist)
			order[k++] = &m->slots[i];
	qsort(order, k, sizeof(*order), by_stamp);
	size_t first = k > m->max_entries ? k - m->max_entries : 0;

	size_t mlen = strlen(m->magic);
	size_t cap = mlen + 1 + (k - first) * LINE_LEN + 1;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		abort();
	memcpy(buf, m->magic, mlen);
	buf[mlen] = '\n';
	size_t len = mlen + 1;
	for (size_t i = first; i < k; i++) {
		digest_to_hex(&order[i]->key, buf + len);
		buf[len + DIGEST_HEX_LEN] = ' ';
		digest_to_hex(&order[i]->val, buf + len + DIGEST_HEX_LEN + 1);
		buf[len + LINE_LEN - 1] = '\n';
		len += LINE_LEN;
	}

	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.XXXXXX", m->path) < 0)
		abort();
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot create a temporary file next to cache file %s",
			       m->path);
	if (fchmod(fd, 0644) < 0 || fd_write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot write cache file %s", tmp);
	}
	if (rename(tmp, m->path) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot replace cache file %s", m->path);
	}
	return 0;
}

int digest_map_save(struct digest_map *m, struct err **err)
{
	if (!m->path || !m->dirty)
		return 0;
	_cleanup_free_ char *lock_path = NULL;
	if (asprintf(&lock_path, "%s.lock", m->path) < 0)
		abort();
	_cleanup_close_ int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return err_set(err, errno, "cannot open cache lock file %s", lock_path);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return err_set(err, errno, "cannot lock cache lock file %s", lock_path);
	int ret = read_records(m, merge_record, m, err);
	if (ret == 0)
		ret = write_file(m, err);
	if (ret == 0)
		m->dirty = false;
	/* Closing the lock fd releases the lock. */
	return ret;
}
