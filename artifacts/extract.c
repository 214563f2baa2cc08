/*
 * extract_tar: reads a layer tar with libarchive and creates each entry with
 * openat-family calls below the destination directory (see extract.h for the
 * rules). Parents are resolved per entry, with a one-entry cache since tars
 * list a directory's files together; directories are only ever created or
 * kept, never removed or replaced, so a cached parent stays valid.
 * Directory modes and mtimes are applied in a final pass (extract_fs.c).
 */
#include "artifacts/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/extract_internal.h"
#include "core/cleanup.h"
#include "core/fdio.h"

/* The parent directory of an entry, created if missing. The descriptor
 * belongs to the cache: do not close it. */
static int parent_fd(struct extractor *x, const char *parent, struct err **err)
{
	if (x->parent_fd >= 0 && strcmp(x->parent_path, parent) == 0)
		return x->parent_fd;
	struct resolve_error why;
	int fd = extract_resolve_dir(x, parent, true, &why);
	if (fd < 0)
		return extract_parent_error(x, &why, err);
	if (x->parent_fd >= 0)
		close(x->parent_fd);
	free(x->parent_path);
	x->parent_fd = fd;
	x->parent_path = strdup(parent);
	if (!x->parent_path)
		abort();
	return fd;
}

/* Makes room for a new non-directory entry `name` in dir: removes an earlier
 * non-directory of that name; a directory there is an error. */
static int clear_slot(struct extractor *x, int dir, const char *name, const char *what,
		      struct err **err)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot inspect it",
			       x->tar, x->entry);
	}
	if (S_ISDIR(st.st_mode))
		return err_set(err, 0, "layer tar %s: entry `%s` is %s, but an earlier entry made "
			       "it a directory; a directory may only be replaced by a directory",
			       x->tar, x->entry, what);
	if (unlinkat(dir, name, 0) < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot replace the earlier "
			       "entry of that name", x->tar, x->entry);
	return 0;
}

/* ---- entries --------------------------------------------------------- */

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	if (archive_entry_mtime_is_set(e)) {
		ts[1] = (struct timespec){ archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
		ts[0] = ts[1];
	} else {
		ts[0] = ts[1] = (struct timespec){ 0, UTIME_OMIT };
	}
}

static const char *archive_msg(struct archive *a)
{
	const char *m = archive_error_string(a);
	return m ? m : "unknown error";
}

static int extract_file(struct extractor *x, struct archive *a, struct archive_entry *e,
			int dir, const char *name, struct err **err)
{
	if (clear_slot(x, dir, name, "a file", err) < 0)
		return -1;
	_cleanup_close_ int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					0600);
	if (fd < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot create file",
			       x->tar, x->entry);
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r = archive_read_data_block(a, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return err_set(err, 0, "layer tar %s: entry `%s`: cannot read its data: %s",
				       x->tar, x->entry, archive_msg(a));
		if (size && fd_pwrite_all(fd, buf, size, (off_t)offset) < 0)
			return err_set(err, errno, "layer tar %s: entry `%s`: cannot write file",
				       x->tar, x->entry);
	}
	uint64_t size = 0;
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
		size = (uint64_t)archive_entry_size(e);
	if (archive_entry_size_is_set(e) && ftruncate(fd, (off_t)size) < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot set file size",
			       x->tar, x->entry);
	/* Keep the permission bits except setuid/setgid, and make it read-only. */
	mode_t mode = archive_entry_perm(e) & 0555;
	struct timespec ts[2];
	entry_times(e, ts);
	if (fchmod(fd, mode) < 0 || futimens(fd, ts) < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot set mode and time",
			       x->tar, x->entry);
	if (close(steal_fd(&fd)) < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot write file",
			       x->tar, x->entry);
	x->stats.disk_bytes += (size + EXTRACT_BLOCK - 1) / EXTRACT_BLOCK * EXTRACT_BLOCK;
	return 0;
}

static int extract_dir(struct extractor *x, struct archive_entry *e, const char *path,
		       int dir, const char *name, struct err **err)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
		if (unlinkat(dir, name, 0) < 0)
			return err_set(err, errno, "layer tar %s: entry `%s`: cannot replace the "
				       "earlier entry of that name", x->tar, x->entry);
	}
	if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot create directory",
			       x->tar, x->entry);
	struct timespec ts[2];
	entry_times(e, ts);
	extract_record_dir(x, path, archive_entry_perm(e), archive_entry_mtime_is_set(e) ? &ts[1] : NULL);
	return 0;
}

static int extract_symlink(struct extractor *x, struct archive_entry *e, const char *parent,
			   int dir, const char *name, struct err **err)
{
	const char *target = archive_entry_symlink(e);
	if (!target || !*target)
		return err_set(err, 0, "layer tar %s: entry `%s` is a symbolic link with an empty "
			       "target", x->tar, x->entry);
	if (target[0] != '/' && extract_link_climbs(parent, target))
		return err_set(err, 0, "layer tar %s: entry `%s` is a symbolic link to `%s`, which "
			       "climbs above the layer root", x->tar, x->entry, target);
	if (clear_slot(x, dir, name, "a symbolic link", err) < 0)
		return -1;
	if (symlinkat(target, dir, name) < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot create symbolic link",
			       x->tar, x->entry);
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot set symbolic link time",
			       x->tar, x->entry);
	return 0;
}

static int extract_hardlink(struct extractor *x, const char *raw_target, const char *path,
			    int dir, const char *name, struct err **err)
{
	_cleanup_free_ char *target = NULL;
	enum name_check c = extract_normalize(raw_target, &target);
	switch (c) {
	case NAME_OK:
		break;
	case NAME_EMPTY:
		return err_set(err, 0, "layer tar %s: entry `%s` is a hard link with an empty "
			       "target", x->tar, x->entry);
	case NAME_ABSOLUTE:
	case NAME_DOTDOT:
		return err_set(err, 0, "layer tar %s: entry `%s` is a hard link to `%s`, which is "
			       "outside the layer", x->tar, x->entry, raw_target);
	case NAME_TOO_LONG:
		return err_set(err, 0, "layer tar %s: entry `%s` is a hard link to a name that is "
			       "too long", x->tar, x->entry);
	}
	if (strcmp(target, path) == 0)
		return 0; /* a link to itself: nothing to do */
	if (!*target)
		return err_set(err, 0, "layer tar %s: entry `%s` is a hard link to the layer root",
			       x->tar, x->entry);
	const char *tname;
	_cleanup_free_ char *tparent = extract_split_parent(target, &tname);
	struct resolve_error why;
	_cleanup_close_ int tdir = extract_resolve_dir(x, tparent, false, &why);
	struct stat st;
	if (tdir < 0) {
		if (why.kind != RESOLVE_FAIL_MISSING) {
			free(why.where);
			return err_set(err, why.errnum, "layer tar %s: entry `%s` is a hard link to "
				       "`%s`, which cannot be reached without following a link",
				       x->tar, x->entry, raw_target);
		}
		free(why.where);
		errno = ENOENT;
	}
	if (tdir < 0 || fstatat(tdir, tname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return err_set(err, 0, "layer tar %s: entry `%s` is a hard link to `%s`, "
				       "which is not an earlier entry of the layer",
				       x->tar, x->entry, raw_target);
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot inspect its hard link "
			       "target `%s`", x->tar, x->entry, raw_target);
	}
	if (S_ISDIR(st.st_mode))
		return err_set(err, 0, "layer tar %s: entry `%s` is a hard link to directory `%s`",
			       x->tar, x->entry, raw_target);
	if (clear_slot(x, dir, name, "a hard link", err) < 0)
		return -1;
	if (linkat(tdir, tname, dir, name, 0) < 0)
		return err_set(err, errno, "layer tar %s: entry `%s`: cannot create hard link to `%s`",
			       x->tar, x->entry, raw_target);
	return 0;
}

static int refuse_type(struct extractor *x, const char *what, const char *plural,
		       struct err **err)
{
	return err_set(err, 0, "layer tar %s: entry `%s` is %s; layers may not contain %s",
		       x->tar, x->entry, what, plural);
}

static int extract_entry(struct extractor *x, struct archive *a, struct archive_entry *e,
			 struct err **err)
{
	const char *raw = archive_entry_pathname(e);
	x->entry = raw ? raw : "";
	_cleanup_free_ char *path = NULL;
	switch (extract_normalize(raw, &path)) {
	case NAME_OK:
		break;
	case NAME_EMPTY:
		return err_set(err, 0, "layer tar %s: an entry has an empty name", x->tar);
	case NAME_ABSOLUTE:
		return err_set(err, 0, "layer tar %s: entry `%s` has an absolute path; layer "
			       "entries must be relative", x->tar, x->entry);
	case NAME_DOTDOT:
		return err_set(err, 0, "layer tar %s: entry `%s` contains a `..` component; layer "
			       "entries may not leave the layer", x->tar, x->entry);
	case NAME_TOO_LONG:
		return err_set(err, 0, "layer tar %s: entry `%.64s...` has a name longer than %d "
			       "bytes", x->tar, x->entry, PATH_MAX - 1);
	}

	const char *hardlink = archive_entry_hardlink(e);
	unsigned type = archive_entry_filetype(e);
	if (!hardlink) {
		switch (type) {
		case AE_IFREG:
		case AE_IFDIR:
		case AE_IFLNK:
			break;
		case AE_IFCHR:
		case AE_IFBLK:
			return refuse_type(x, "a device node", "devices", err);
		case AE_IFIFO:
			return refuse_type(x, "a FIFO", "FIFOs", err);
		case AE_IFSOCK:
			return refuse_type(x, "a socket", "sockets", err);
		default:
			return err_set(err, 0, "layer tar %s: entry `%s` has an unsupported type "
				       "(0%o)", x->tar, x->entry, type);
		}
	}

	if (!*path) {
		/* The layer root itself, usually "./". */
		if (hardlink || type != AE_IFDIR)
			return err_set(err, 0, "layer tar %s: entry `%s` names the layer root, "
				       "which can only be a directory", x->tar, x->entry);
		struct timespec ts[2];
		entry_times(e, ts);
		extract_record_dir(x, "", archive_entry_perm(e),
				   archive_entry_mtime_is_set(e) ? &ts[1] : NULL);
		x->stats.entries++;
		return 0;
	}

	const char *name;
	_cleanup_free_ char *parent = extract_split_parent(path, &name);
	int dir = parent_fd(x, parent, err);
	if (dir < 0)
		return -1;
	int r;
	if (hardlink)
		r = extract_hardlink(x, hardlink, path, dir, name, err);
	else if (type == AE_IFREG)
		r = extract_file(x, a, e, dir, name, err);
	else if (type == AE_IFDIR)
		r = extract_dir(x, e, path, dir, name, err);
	else
		r = extract_symlink(x, e, parent, dir, name, err);
	if (r == 0)
		x->stats.entries++;
	return r;
}

/* ---- driver ------------------------------------------------------------ */

static int extract_all(struct extractor *x, struct archive *a, struct err **err)
{
	if (archive_read_support_filter_all(a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_empty(a) != ARCHIVE_OK)
		return err_set(err, 0, "layer tar %s: cannot set up the tar reader: %s",
			       x->tar, archive_msg(a));
	if (archive_read_open_filename(a, x->tar, 64 * 1024) != ARCHIVE_OK) {
		int e = archive_errno(a);
		return err_set(err, 0, "layer tar %s: cannot open it: %s%s%s", x->tar,
			       archive_msg(a), e > 0 ? ": " : "", e > 0 ? strerror(e) : "");
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return err_set(err, 0, "layer tar %s: cannot read the entry after %llu "
				       "entries: %s", x->tar,
				       (unsigned long long)x->stats.entries, archive_msg(a));
		if (extract_entry(x, a, e, err) < 0)
			return -1;
	}
	return extract_finish_dirs(x, err);
}

int extract_tar_stats(const char *tar_path, const char *dest_dir,
		      struct extract_stats *stats, struct err **err)
{
	struct extractor x = { .tar = tar_path, .entry = "", .parent_fd = -1 };
	x.root = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.root < 0)
		return err_set(err, errno, "layer tar %s: cannot open extraction directory %s",
			       tar_path, dest_dir);
	/* The root is read-only at the end unless the tar says otherwise. */
	extract_record_dir(&x, "", 0555, NULL);
	struct archive *a = archive_read_new();
	if (!a)
		abort();
	int r = extract_all(&x, a, err);
	archive_read_free(a);
	if (x.parent_fd >= 0)
		close(x.parent_fd);
	free(x.parent_path);
	for (size_t i = 0; i < x.ndirs; i++)
		free(x.dirs[i].path);
	free(x.dirs);
	close(x.root);
	if (r == 0 && stats)
		*stats = x.stats;
	return r;
}

int extract_tar(const char *tar_path, const char *dest_dir, struct err **err)
{
	return extract_tar_stats(tar_path, dest_dir, NULL, err);
}
