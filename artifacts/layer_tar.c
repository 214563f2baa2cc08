/* layer_tar: entry lists and the deterministic tar writer (see layer_entries.h). */
#include "artifacts/layer_entries.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts/pathcache.h"
#include "core/cleanup.h"
#include "core/err.h"
#include "core/xalloc.h"

#define COPY_BUF (256u << 10)

struct layer_entry *entry_list_add(struct entry_list *l, const char *name, enum entry_type type,
				   const char *source, const char *target)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	struct layer_entry *e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup_or_null(name);
	e->type = type;
	e->source = xstrdup_or_null(source);
	e->target = xstrdup_or_null(target);
	return e;
}

static void entry_release(struct layer_entry *e)
{
	free(e->name);
	free(e->source);
	free(e->target);
}

void entry_list_release(struct entry_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		entry_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Sort by name; for one name, named entries before implicit parents, then in
 * the order they were added (the index is kept in `order` while sorting). */
struct sort_item {
	struct layer_entry *e;
	size_t order;
};

static int by_name(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = strcmp(x->e->name, y->e->name);
	if (c)
		return c;
	if (x->e->implicit != y->e->implicit)
		return x->e->implicit ? 1 : -1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *type_name(enum entry_type t)
{
	switch (t) {
	case ENTRY_FILE:
		return "file";
	case ENTRY_DIR:
		return "directory";
	case ENTRY_SYMLINK:
		return "symlink";
	}
	return "?";
}

/* Whether b (same name as a, later in order) repeats a. */
static int same_entry(const struct layer_entry *a, const struct layer_entry *b,
		      struct err **err)
{
	if (a->type != b->type)
		return err_set(err, 0, "/%s is both a %s and a %s in this layer%s", a->name,
			       type_name(a->type), type_name(b->type),
			       b->implicit ? " (a parent directory of another entry)" : "");
	switch (a->type) {
	case ENTRY_DIR:
		return 0;
	case ENTRY_FILE:
		if (!a->source && !b->source)
			return 0;
		if (a->source && b->source && a->st.st_dev == b->st.st_dev &&
		    a->st.st_ino == b->st.st_ino)
			return 0;
		break;
	case ENTRY_SYMLINK:
		if (strcmp(a->target, b->target) == 0)
			return 0;
		break;
	}
	return err_set(err, 0, "/%s is given two different contents in this layer (%s and %s)",
		       a->name, a->source ? a->source : a->target ? a->target : "empty",
		       b->source ? b->source : b->target ? b->target : "empty");
}

static void add_parents(struct entry_list *l)
{
	size_t n = l->n;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *name = strdup(l->v[i].name);
		if (!name)
			abort();
		for (char *slash = strrchr(name, '/'); slash; slash = strrchr(name, '/')) {
			*slash = '\0';
			struct layer_entry *e = entry_list_add(l, name, ENTRY_DIR, NULL, NULL);
			e->mode = 0755;
			e->implicit = true;
		}
	}
}

int entry_list_finish(struct entry_list *l, struct err **err)
{
	add_parents(l);
	_cleanup_free_ struct sort_item *items = calloc(l->n ? l->n : 1, sizeof(*items));
	_cleanup_free_ struct layer_entry *sorted = calloc(l->n ? l->n : 1, sizeof(*sorted));
	if (!items || !sorted)
		abort();
	for (size_t i = 0; i < l->n; i++)
		items[i] = (struct sort_item){ &l->v[i], i };
	qsort(items, l->n, sizeof(*items), by_name);
	size_t k = 0;
	int ret = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct layer_entry *e = items[i].e;
		if (k > 0 && ret == 0 && strcmp(sorted[k - 1].name, e->name) == 0) {
			ret = same_entry(&sorted[k - 1], e, err);
			entry_release(e);
			continue;
		}
		if (ret < 0) {
			entry_release(e);
			continue;
		}
		sorted[k++] = *e;
	}
	free(l->v);
	l->v = steal_pointer(&sorted);
	l->n = k;
	l->cap = k ? k : 1;
	return ret;
}

/* ---- writing ------------------------------------------------------------ */

static int archive_fail(struct archive *a, struct err **err, const char *what, const char *name)
{
	return err_set(err, archive_errno(a) > 0 ? archive_errno(a) : 0,
		       "cannot write layer tar (%s /%s): %s", what, name,
		       archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

static int changed(const char *source, struct err **err)
{
	return err_set(err, 0, "%s changed while the layer was being built; run again", source);
}

static int copy_content(struct archive *a, const struct layer_entry *e, char *buf,
			struct err **err)
{
	_cleanup_close_ int fd = open(e->source, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s", e->source);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "cannot stat %s", e->source);
	if (!pathcache_stat_same(&st, &e->st))
		return changed(e->source, err);
	uint64_t left = (uint64_t)st.st_size;
	while (left > 0) {
		ssize_t r = read(fd, buf, left < COPY_BUF ? left : COPY_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, errno, "cannot read %s", e->source);
		if (r == 0)
			return changed(e->source, err);
		if (archive_write_data(a, buf, (size_t)r) != r)
			return archive_fail(a, err, "content of", e->name);
		left -= (uint64_t)r;
	}
	return 0;
}

static int write_entry(struct archive *a, struct archive_entry *ae, const struct layer_entry *e,
		       char *buf, unsigned long long *files_read, struct err **err)
{
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->name);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, e->mtime, 0);
	archive_entry_set_perm(ae, e->mode & 07777);
	switch (e->type) {
	case ENTRY_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, e->source ? e->st.st_size : 0);
		break;
	case ENTRY_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_size(ae, 0);
		break;
	case ENTRY_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, e->target);
		archive_entry_set_size(ae, 0);
		break;
	}
	if (archive_write_header(a, ae) < ARCHIVE_WARN)
		return archive_fail(a, err, "header of", e->name);
	if (e->type == ENTRY_FILE && e->source) {
		if (files_read)
			(*files_read)++;
		if (copy_content(a, e, buf, err) < 0)
			return -1;
	}
	if (archive_write_finish_entry(a) < ARCHIVE_WARN)
		return archive_fail(a, err, "end of", e->name);
	return 0;
}

int layer_tar_write(const struct entry_list *l, int fd, unsigned long long *files_read,
		    struct err **err)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	_cleanup_free_ char *buf = malloc(COPY_BUF);
	if (!a || !ae || !buf)
		abort();
	int ret = -1;
	/* hdrcharset=BINARY: names are written as the bytes they are, whatever
	 * the locale, so the bytes of the tar never depend on it. */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		archive_fail(a, err, "opening", "");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		if (write_entry(a, ae, &l->v[i], buf, files_read, err) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		archive_fail(a, err, "closing", "");
		goto out;
	}
	ret = 0;
out:
	archive_entry_free(ae);
	archive_write_free(a);
	return ret;
}
