/*
 * image_flatten_entry: layer tars as both passes of image_flatten read them:
 * opening a layer, and each entry's normalized path and kind (whiteouts
 * included). See image_flatten_internal.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/extract_internal.h"
#include "artifacts/image_flatten_internal.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

/* Read buffer of a layer. */
#define READ_BLOCK (256u << 10)

const char *flat_archive_msg(struct archive *a)
{
	const char *m = archive_error_string(a);
	return m ? m : "unknown error";
}

/* Normalizes a name of the tar: the entry's own (entry NULL), or the hard
 * link target of entry. */
static int normalize(const char *raw, const char *entry, const char *layer, char **out,
		     struct err **err)
{
	enum name_check c = extract_normalize(raw, out);
	if (c == NAME_OK)
		return 0;
	_cleanup_free_ char *what = entry ? xasprintf("entry `%s`: hard link target", entry)
					  : xstrdup("entry");
	switch (c) {
	case NAME_OK:
		break;
	case NAME_EMPTY:
		return err_set(err, 0, "%s: %s has an empty name", layer,
			       entry ? what : "an entry");
	case NAME_ABSOLUTE:
		return err_set(err, 0, "%s: %s `%s` is an absolute path; layer entries must be "
			       "relative", layer, what, raw);
	case NAME_DOTDOT:
		return err_set(err, 0, "%s: %s `%s` contains a `..` component; layer entries may "
			       "not leave the layer", layer, what, raw);
	case NAME_TOO_LONG:
		return err_set(err, 0, "%s: %s `%.64s...` is too long", layer, what, raw);
	}
	return err_set(err, 0, "%s: %s `%s` cannot be read", layer, what, raw);
}

/* Whiteout names: ".wh..wh..opq", other ".wh..wh." names, ".wh.NAME". */
static int read_whiteout(struct flat_entry *out, const char *base, const char *raw,
			 const char *layer, struct err **err)
{
	size_t dir_len = (size_t)(base - out->path);
	if (strcmp(base, ".wh..wh..opq") == 0) {
		out->type = FLAT_OPAQUE;
		out->path[dir_len ? dir_len - 1 : 0] = '\0';
		return 0;
	}
	if (strncmp(base, ".wh..wh.", 8) == 0) {
		out->type = FLAT_IGNORED;
		return 0;
	}
	const char *name = base + 4;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return err_set(err, 0, "%s: entry `%s` is a whiteout that names nothing", layer, raw);
	out->type = FLAT_WHITEOUT;
	memmove(out->path + dir_len, name, strlen(name) + 1);
	return 0;
}

int flat_entry_read(struct archive_entry *e, const char *layer, struct flat_entry *out,
		    struct err **err)
{
	memset(out, 0, sizeof(*out));
	const char *raw = archive_entry_pathname(e);
	if (normalize(raw, NULL, layer, &out->path, err) < 0)
		return -1;
	const char *slash = strrchr(out->path, '/');
	const char *base = slash ? slash + 1 : out->path;
	int r = 0;
	const char *hardlink = archive_entry_hardlink(e);
	if (strncmp(base, ".wh.", 4) == 0) {
		r = read_whiteout(out, base, raw, layer, err);
	} else if (hardlink) {
		out->type = FLAT_HARDLINK;
		r = normalize(hardlink, raw, layer, &out->link, err);
		if (r == 0 && !*out->link)
			r = err_set(err, 0, "%s: entry `%s` is a hard link to the layer root", layer,
				    raw);
	} else {
		switch (archive_entry_filetype(e)) {
		case AE_IFREG:
			out->type = FLAT_FILE;
			break;
		case AE_IFDIR:
			out->type = FLAT_DIR;
			break;
		case AE_IFLNK:
			out->type = FLAT_SYMLINK;
			if (!archive_entry_symlink(e) || !*archive_entry_symlink(e))
				r = err_set(err, 0, "%s: entry `%s` is a symbolic link with an empty "
					    "target", layer, raw);
			break;
		case AE_IFCHR:
		case AE_IFBLK:
		case AE_IFIFO:
		case AE_IFSOCK:
			out->type = FLAT_DROPPED;
			break;
		default:
			r = err_set(err, 0, "%s: entry `%s` has an unsupported type (0%o)", layer, raw,
				    (unsigned)archive_entry_filetype(e));
		}
	}
	if (r == 0 && !*out->path && out->type != FLAT_DIR && out->type != FLAT_OPAQUE)
		r = err_set(err, 0, "%s: entry `%s` names the layer root, which can only be a "
			    "directory", layer, raw);
	if (r < 0)
		flat_entry_release(out);
	return r;
}

void flat_entry_release(struct flat_entry *fe)
{
	free(fe->path);
	free(fe->link);
	memset(fe, 0, sizeof(*fe));
}

struct archive *flat_layer_open(const char *path, const char *layer, struct err **err)
{
	struct archive *a = archive_read_new();
	if (!a)
		abort();
	if (archive_read_support_filter_all(a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_empty(a) != ARCHIVE_OK) {
		err_set(err, 0, "%s: cannot set up the tar reader: %s", layer, flat_archive_msg(a));
		archive_read_free(a);
		return NULL;
	}
	if (archive_read_open_filename(a, path, READ_BLOCK) != ARCHIVE_OK) {
		int e = archive_errno(a);
		/* libarchive reports an unknown format as EILSEQ. */
		if (e == EILSEQ)
			err_set(err, 0, "%s: is not a tar file (plain, gzip or zstd compressed): %s",
				layer, flat_archive_msg(a));
		else
			err_set(err, 0, "%s: cannot open it: %s%s%s", layer, flat_archive_msg(a),
				e > 0 ? ": " : "", e > 0 ? strerror(e) : "");
		archive_read_free(a);
		return NULL;
	}
	return a;
}

int flat_next_entry(struct archive *a, const char *layer, uint64_t k,
		    struct archive_entry **e, struct err **err)
{
	int h = archive_read_next_header(a, e);
	if (h == ARCHIVE_EOF)
		return 0;
	if (h < ARCHIVE_WARN)
		return err_set(err, 0, "%s: cannot read the entry after %llu entries: %s", layer,
			       (unsigned long long)k, flat_archive_msg(a));
	return 1;
}
