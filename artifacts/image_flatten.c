/*
 * image_flatten: pass 2: the layers bottom first, each entry the plan
 * (image_flatten_plan.c) keeps copied into one pax tar.
 * Content is streamed through a fixed buffer; the content of an entry that
 * a hard link must copy is kept aside in an unnamed temporary file next to
 * the output while its layer is read.
 */
#include "artifacts/image_flatten.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/image_flatten_internal.h"
#include "core/cleanup.h"
#include "core/fdio.h"
#include "core/xalloc.h"

#define COPY_BUF (256u << 10)

/* ---- pass 2 ----------------------------------------------------------------- */

/* The content of an entry a hard link copies, kept in the spool file. */
struct spooled {
	uint64_t ordinal;
	struct archive_entry *meta; /* its header (a symlink's target included) */
	off_t off;
	uint64_t len;
};

struct writer {
	const struct flat_plan *plan;
	const char *out_path;
	struct archive *out;
	struct archive_entry *ae;
	char *buf;
	char *spool_dir;
	int spool_fd; /* -1 until a copy is needed */
	off_t spool_end;
	struct spooled *sp;
	size_t n_sp, cap_sp;
};

static int write_fail(struct writer *w, const char *layer, const char *path, struct err **err)
{
	return err_set(err, archive_errno(w->out) > 0 ? archive_errno(w->out) : 0,
		       "%s: entry `%s`: cannot write it to %s: %s", layer, path, w->out_path,
		       flat_archive_msg(w->out));
}

/* Writes the header of path: src's metadata, as a hard link to `link` when
 * not NULL. */
static int put_header(struct writer *w, struct archive_entry *src, const char *path,
		      const char *link, const char *layer, struct err **err)
{
	struct archive_entry *ae = w->ae;
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, *path ? path : ".");
	archive_entry_set_uid(ae, archive_entry_uid(src));
	archive_entry_set_gid(ae, archive_entry_gid(src));
	archive_entry_set_uname(ae, archive_entry_uname(src));
	archive_entry_set_gname(ae, archive_entry_gname(src));
	archive_entry_set_perm(ae, archive_entry_perm(src) & 07777);
	if (archive_entry_mtime_is_set(src))
		archive_entry_set_mtime(ae, archive_entry_mtime(src), archive_entry_mtime_nsec(src));
	if (link) {
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_hardlink(ae, link);
		archive_entry_set_size(ae, 0);
	} else {
		archive_entry_set_filetype(ae, archive_entry_filetype(src));
		if (archive_entry_filetype(src) == AE_IFLNK)
			archive_entry_set_symlink(ae, archive_entry_symlink(src));
		archive_entry_set_size(ae, archive_entry_filetype(src) == AE_IFREG ?
						   archive_entry_size(src) : 0);
	}
	if (archive_write_header(w->out, ae) < ARCHIVE_WARN)
		return write_fail(w, layer, path, err);
	return 0;
}

/* Streams the current entry's content of a into the output (spool < 0) or
 * to the spool file at offset spool; checks it is as long as the header
 * says. */
static int copy_content(struct writer *w, struct archive *a, struct archive_entry *e,
			off_t spool, const char *layer, const char *path, struct err **err)
{
	int64_t want = archive_entry_size(e) > 0 ? archive_entry_size(e) : 0, got = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(a, w->buf, COPY_BUF);
		if (n == 0)
			break;
		if (n < 0)
			return err_set(err, 0, "%s: entry `%s`: cannot read its content: %s", layer,
				       path, flat_archive_msg(a));
		if (got + n > want)
			n = (la_ssize_t)(want - got);
		if (spool >= 0 && fd_pwrite_all(w->spool_fd, w->buf, (size_t)n, spool + got) < 0)
			return err_set(err, errno, "%s: entry `%s`: cannot keep its content aside in "
				       "a temporary file next to %s", layer, path, w->out_path);
		if (spool < 0 && archive_write_data(w->out, w->buf, (size_t)n) != n)
			return write_fail(w, layer, path, err);
		got += n;
	}
	if (got != want)
		return err_set(err, 0, "%s: entry `%s`: the layer holds %lld bytes of it, its header "
			       "says %lld; the layer is damaged", layer, path, (long long)got,
			       (long long)want);
	return 0;
}

static int open_spool(struct writer *w, struct err **err)
{
	w->spool_fd = open(w->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (w->spool_fd >= 0)
		return 0;
	/* No O_TMPFILE on this file system: a named file, unlinked at once. */
	_cleanup_free_ char *tmp = xasprintf("%s/.flatten-spool.XXXXXX", w->spool_dir);
	w->spool_fd = mkostemp(tmp, O_CLOEXEC);
	if (w->spool_fd < 0)
		return err_set(err, errno, "cannot make a temporary file in %s", w->spool_dir);
	unlink(tmp);
	return 0;
}

static int spool_entry(struct writer *w, struct archive *a, struct archive_entry *e,
		       uint64_t k, const char *layer, const char *path, struct err **err)
{
	if (w->spool_fd < 0 && open_spool(w, err) < 0)
		return -1;
	if (w->n_sp == w->cap_sp) {
		w->cap_sp = w->cap_sp ? 2 * w->cap_sp : 4;
		w->sp = xrealloc(w->sp, w->cap_sp * sizeof(*w->sp));
	}
	struct spooled *s = &w->sp[w->n_sp++];
	*s = (struct spooled){ k, archive_entry_clone(e), w->spool_end, 0 };
	if (!s->meta)
		abort();
	if (archive_entry_filetype(e) != AE_IFREG)
		return 0;
	if (copy_content(w, a, e, w->spool_end, layer, path, err) < 0)
		return -1;
	s->len = (uint64_t)archive_entry_size(e);
	w->spool_end += (off_t)s->len;
	return 0;
}

/* Writes path as a copy of the spooled entry `source`. */
static int write_copy(struct writer *w, uint64_t source, const char *path, const char *layer,
		      struct err **err)
{
	const struct spooled *s = NULL;
	for (size_t j = 0; j < w->n_sp && !s; j++)
		if (w->sp[j].ordinal == source)
			s = &w->sp[j];
	if (!s)
		return err_set(err, 0, "%s: entry `%s`: the content of its hard link target was "
			       "not found on the second reading; did the layer change?", layer, path);
	if (put_header(w, s->meta, path, NULL, layer, err) < 0)
		return -1;
	for (uint64_t done = 0; done < s->len;) {
		size_t n = s->len - done < COPY_BUF ? (size_t)(s->len - done) : COPY_BUF;
		ssize_t r = pread(w->spool_fd, w->buf, n, s->off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return err_set(err, r < 0 ? errno : 0, "%s: entry `%s`: cannot read back the "
				       "content kept aside for it", layer, path);
		if (archive_write_data(w->out, w->buf, (size_t)r) != r)
			return write_fail(w, layer, path, err);
		done += (uint64_t)r;
	}
	return 0;
}

static int write_hardlink(struct writer *w, const struct flat_action *act, size_t i,
			  struct archive_entry *e, const struct flat_entry *fe,
			  const char *layer, struct err **err)
{
	if (!act)
		return err_set(err, 0, "%s: entry `%s`: its hard link was not seen on the first "
			       "reading; did the layer change?", layer, fe->path);
	switch (act->kind) {
	case FLAT_COPY:
		return write_copy(w, act->source, fe->path, layer, err);
	case FLAT_LINK_LOWER:
		if (!flat_plan_lower_file(w->plan, act->target, i))
			return err_set(err, 0, "%s: entry `%s` is a hard link to `%s`, which is "
				       "neither an earlier entry of its layer nor a file of a layer "
				       "beneath", layer, fe->path, act->target);
		/* fall through */
	case FLAT_LINK:
		return put_header(w, e, fe->path, act->target, layer, err);
	case FLAT_SPOOL:
		break;
	}
	return err_set(err, 0, "%s: entry `%s`: a hard link planned as content; did the layer "
		       "change?", layer, fe->path);
}

static int copy_entry(struct writer *w, struct archive *a, struct archive_entry *e, size_t i,
		      uint64_t k, const struct flat_action *act, const char *layer,
		      struct err **err)
{
	struct flat_entry fe;
	if (flat_entry_read(e, layer, &fe, err) < 0)
		return -1;
	int r = 0;
	if (act && act->kind == FLAT_SPOOL)
		r = spool_entry(w, a, e, k, layer, fe.path, err);
	if (r < 0 || !flat_plan_survives(w->plan, fe.path, i, k))
		goto out;
	switch (fe.type) {
	case FLAT_HARDLINK:
		r = write_hardlink(w, act, i, e, &fe, layer, err);
		break;
	case FLAT_FILE:
		r = put_header(w, e, fe.path, NULL, layer, err);
		if (r == 0)
			r = copy_content(w, a, e, -1, layer, fe.path, err);
		break;
	case FLAT_DIR:
	case FLAT_SYMLINK:
		r = put_header(w, e, fe.path, NULL, layer, err);
		break;
	case FLAT_DROPPED:
	case FLAT_WHITEOUT:
	case FLAT_OPAQUE:
	case FLAT_IGNORED:
		break;
	}
	if (r == 0 && archive_write_finish_entry(w->out) < ARCHIVE_WARN)
		r = write_fail(w, layer, fe.path, err);
out:
	flat_entry_release(&fe);
	return r;
}

static void spool_reset(struct writer *w)
{
	for (size_t j = 0; j < w->n_sp; j++)
		archive_entry_free(w->sp[j].meta);
	w->n_sp = 0;
}

/* Empties the spool after a layer, giving its disk space back. */
static int spool_truncate(struct writer *w, struct err **err)
{
	if (w->spool_end > 0 && ftruncate(w->spool_fd, 0) < 0)
		return err_set(err, errno, "cannot empty the temporary file next to %s",
			       w->out_path);
	w->spool_end = 0;
	return 0;
}

static int copy_layer(struct writer *w, size_t i, const char *path, const char *layer,
		      struct err **err)
{
	struct archive *a = flat_layer_open(path, layer, err);
	if (!a)
		return -1;
	const struct flat_actions *acts = &w->plan->layers[i];
	size_t next = 0;
	int r = 0;
	struct archive_entry *e;
	for (uint64_t k = 0; (r = flat_next_entry(a, layer, k, &e, err)) > 0; k++) {
		const struct flat_action *act = NULL;
		if (next < acts->n && acts->v[next].ordinal == k)
			act = &acts->v[next++];
		if ((r = copy_entry(w, a, e, i, k, act, layer, err)) < 0)
			break;
	}
	archive_read_free(a);
	spool_reset(w);
	if (r == 0)
		r = spool_truncate(w, err);
	return r;
}

static int flatten_into(struct writer *w, int fd, const char *const *layer_paths,
			char *const *names, size_t n_layers, struct err **err)
{
	/* hdrcharset=BINARY: names are written as their bytes, whatever the
	 * locale, so the output does not depend on it. */
	if (archive_write_set_format_pax_restricted(w->out) != ARCHIVE_OK ||
	    archive_write_set_format_option(w->out, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
	    archive_write_add_filter_none(w->out) != ARCHIVE_OK ||
	    archive_write_open_fd(w->out, fd) != ARCHIVE_OK)
		return err_set(err, 0, "cannot start writing %s: %s", w->out_path,
			       flat_archive_msg(w->out));
	for (size_t i = 0; i < n_layers; i++)
		if (copy_layer(w, i, layer_paths[i], names[i], err) < 0)
			return -1;
	if (archive_write_close(w->out) != ARCHIVE_OK)
		return err_set(err, archive_errno(w->out) > 0 ? archive_errno(w->out) : 0,
			       "cannot finish writing %s: %s", w->out_path, flat_archive_msg(w->out));
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

int image_flatten(const char *const *layer_paths, size_t n_layers, const char *out_path,
		  struct err **err)
{
	char **names = xcalloc(n_layers + 1, sizeof(*names));
	for (size_t i = 0; i < n_layers; i++)
		names[i] = xasprintf("layer %zu (%s)", i + 1, layer_paths[i]);
	struct flat_plan plan;
	struct writer w = { .plan = &plan, .out_path = out_path, .spool_fd = -1 };
	int fd = -1, r = flat_plan_build(&plan, layer_paths, names, n_layers, err);
	if (r < 0)
		goto out_names;
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = err_set(err, errno, "cannot create the flattened image %s", out_path);
		goto out_plan;
	}
	w.out = archive_write_new();
	w.ae = archive_entry_new();
	w.buf = xmalloc(COPY_BUF);
	w.spool_dir = dir_of(out_path);
	if (!w.out || !w.ae)
		abort();
	r = flatten_into(&w, fd, layer_paths, names, n_layers, err);
	archive_write_free(w.out);
	archive_entry_free(w.ae);
	spool_reset(&w);
	free(w.sp);
	free(w.buf);
	free(w.spool_dir);
	if (w.spool_fd >= 0)
		close(w.spool_fd);
	if (close(fd) < 0 && r == 0)
		r = err_set(err, errno, "cannot write the flattened image %s", out_path);
out_plan:
	flat_plan_release(&plan);
out_names:
	for (size_t i = 0; i < n_layers; i++)
		free(names[i]);
	free(names);
	return r;
}
