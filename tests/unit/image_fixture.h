/*
 * Shared fixture of the image-format unit tests (test_image_oci.c,
 * test_image_flatten.c): a private temporary directory, test tars written
 * with libarchive from a table of entries (plain, gzip or zstd), and a
 * listing of a tar's entries as one string, so that a test compares what a
 * tar holds with one assert_string_equal.
 *
 * Each test program includes this once; the helpers are static and marked
 * unused so a program that needs only some of them compiles cleanly.
 */
#ifndef TESTS_UNIT_IMAGE_FIXTURE_H
#define TESTS_UNIT_IMAGE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/extract.h"
#include "core/xalloc.h"

#define TF_UNUSED __attribute__((unused))

/* One entry of a test tar. kind: 'f' file (data: content), 'd' directory,
 * 'l' symlink (data: target), 'h' hard link (data: target), 'c' character
 * device, 'p' FIFO. mode 0: 0644 for files, 0755 for directories. */
struct tf_ent {
	const char *name;
	char kind;
	const char *data;
	unsigned mode;
};

enum tf_compress { TF_PLAIN, TF_GZIP, TF_ZSTD };

/* The per-test directory (mkdtemp), removed after the test. */
struct tf {
	char dir[512];
};

static TF_UNUSED int tf_setup(void **state)
{
	struct tf *t = calloc(1, sizeof(*t));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(t->dir, sizeof(t->dir), "%s/test_image.XXXXXX", tmp);
	if (!mkdtemp(t->dir))
		return -1;
	*state = t;
	return 0;
}

static TF_UNUSED int tf_teardown(void **state)
{
	struct tf *t = *state;
	struct err *err = NULL;
	int r = extract_remove_tree(AT_FDCWD, t->dir, &err);
	if (r < 0)
		fprintf(stderr, "teardown: %s\n", err_msg(err));
	err_free(&err);
	free(t);
	return r;
}

/* dir/rel, as a heap string. */
static TF_UNUSED char *tf_path(const struct tf *t, const char *rel)
{
	return xasprintf("%s/%s", t->dir, rel);
}

static TF_UNUSED void tf_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Fills the header e for ents[i]; returns the content length. */
static TF_UNUSED size_t tf_header(struct archive_entry *e, const struct tf_ent *t, size_t i)
{
	archive_entry_clear(e);
	archive_entry_set_pathname(e, t->name);
	archive_entry_set_mtime(e, 1700000000 + (time_t)i, 0);
	archive_entry_set_uid(e, 1000);
	archive_entry_set_gid(e, 1000);
	unsigned mode = t->mode;
	size_t len = 0;
	switch (t->kind) {
	case 'f':
		archive_entry_set_filetype(e, AE_IFREG);
		len = t->data ? strlen(t->data) : 0;
		break;
	case 'd':
		archive_entry_set_filetype(e, AE_IFDIR);
		mode = mode ? mode : 0755;
		break;
	case 'l':
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, t->data);
		mode = 0777;
		break;
	case 'h':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, t->data);
		break;
	case 'c':
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_rdev(e, 0x0501);
		break;
	case 'p':
		archive_entry_set_filetype(e, AE_IFIFO);
		break;
	default:
		fail_msg("unknown entry kind %c", t->kind);
	}
	archive_entry_set_perm(e, mode ? mode : 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	return len;
}

/* Writes the entries as a pax tar at path. */
static TF_UNUSED void tf_write_tar(const char *path, const struct tf_ent *ents, size_t n,
				   enum tf_compress c)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (c == TF_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	else if (c == TF_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	for (size_t i = 0; i < n; i++) {
		size_t len = tf_header(e, &ents[i], i);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, ents[i].data, len), (la_ssize_t)len);
	}
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* The tar at path, one line per entry: "name f=CONTENT MODE", "name d",
 * "name l->TARGET", "name h->TARGET", "name c" or "name p". Heap string. */
static TF_UNUSED char *tf_list_tar(const char *path)
{
	struct archive *a = archive_read_new();
	assert_non_null(a);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	assert_int_equal(archive_read_open_filename(a, path, 1 << 16), ARCHIVE_OK);
	char *out = xstrdup("");
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		char *line;
		const char *name = archive_entry_pathname(e);
		if (archive_entry_hardlink(e)) {
			line = xasprintf("%s h->%s\n", name, archive_entry_hardlink(e));
		} else if (archive_entry_filetype(e) == AE_IFREG) {
			size_t size = (size_t)archive_entry_size(e);
			char *data = xcalloc(size + 1, 1);
			assert_int_equal(archive_read_data(a, data, size), (la_ssize_t)size);
			line = xasprintf("%s f=%s %o\n", name, data, archive_entry_perm(e));
			free(data);
		} else if (archive_entry_filetype(e) == AE_IFDIR) {
			line = xasprintf("%s d\n", name);
		} else if (archive_entry_filetype(e) == AE_IFLNK) {
			line = xasprintf("%s l->%s\n", name, archive_entry_symlink(e));
		} else {
			line = xasprintf("%s %c\n", name,
					 archive_entry_filetype(e) == AE_IFCHR ? 'c' : 'p');
		}
		char *joined = xasprintf("%s%s", out, line);
		free(out);
		free(line);
		out = joined;
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
	return out;
}

#endif
