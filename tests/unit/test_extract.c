/* Unit tests for artifacts/extract: safe layer tar extraction and removal. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/extract.h"

/* ---- building tars ------------------------------------------------------ */

enum kind { FILE_, DIR_, SYMLINK, HARDLINK, CHARDEV, BLOCKDEV, FIFO };
enum compression { PLAIN, GZIP, ZSTD };

struct tentry {
	const char *name;
	enum kind kind;
	mode_t mode;
	const char *data; /* file content, or link target */
	time_t mtime;     /* 0: 1600000000 */
};

static void write_tar(const char *path, const struct tentry *ents, size_t n, enum compression c)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (c == GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	if (c == ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct tentry *t = &ents[i];
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, t->name);
		archive_entry_set_perm(e, t->mode);
		archive_entry_set_mtime(e, t->mtime ? t->mtime : 1600000000, 0);
		archive_entry_set_uid(e, 1234);
		archive_entry_set_gid(e, 1234);
		size_t size = 0;
		switch (t->kind) {
		case FILE_:
			archive_entry_set_filetype(e, AE_IFREG);
			size = t->data ? strlen(t->data) : 0;
			break;
		case DIR_:
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		case SYMLINK:
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, t->data);
			break;
		case HARDLINK:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, t->data);
			break;
		case CHARDEV:
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdev(e, makedev(8, 0));
			break;
		case BLOCKDEV:
			archive_entry_set_filetype(e, AE_IFBLK);
			archive_entry_set_rdev(e, makedev(8, 0));
			break;
		case FIFO:
			archive_entry_set_filetype(e, AE_IFIFO);
			break;
		}
		archive_entry_set_size(e, (la_int64_t)size);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (size)
			assert_int_equal(archive_write_data(a, t->data, size), (la_ssize_t)size);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* ---- fixture: a private temp dir with the tar and a destination ---------- */

struct fx {
	char dir[1024];  /* mkdtemp */
	char tar[1100];  /* dir/layer.tar */
	char dest[1100]; /* dir/dest, created empty */
	char out[1100];  /* dir/outside, a directory links may point at */
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_extract.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->tar, sizeof(f->tar), "%s/layer.tar", f->dir);
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/outside", f->dir);
	if (mkdir(f->dest, 0755) < 0 || mkdir(f->out, 0755) < 0)
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	struct err *err = NULL;
	int r = extract_remove_tree(AT_FDCWD, f->dir, &err);
	if (r < 0)
		fprintf(stderr, "teardown: %s\n", err_msg(err));
	err_free(&err);
	free(f);
	return r;
}

static char *at(const struct fx *f, const char *rel)
{
	static char buf[4][PATH_MAX];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, PATH_MAX, "%s/%s", f->dest, rel);
	return p;
}

static void assert_content(const char *path, const char *want)
{
	char buf[256] = { 0 };
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	assert_string_equal(buf, want);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Empties the destination between extractions. */
static void reset_dest(struct fx *f)
{
	struct err *err = NULL;
	if (extract_remove_tree(AT_FDCWD, f->dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(mkdir(f->dest, 0755), 0);
}

/* Extracts ents into a fresh destination and expects failure with a message
 * containing want. */
static void expect_refused(struct fx *f, const struct tentry *ents, size_t n, const char *want)
{
	reset_dest(f);
	write_tar(f->tar, ents, n, PLAIN);
	struct err *err = NULL;
	assert_int_equal(extract_tar(f->tar, f->dest, &err), -1);
	assert_non_null(err);
	if (!strstr(err_msg(err), want))
		fail_msg("message `%s` does not contain `%s`", err_msg(err), want);
	/* Every message names the tar. */
	assert_non_null(strstr(err_msg(err), f->tar));
	err_free(&err);
}

/* ---- tests --------------------------------------------------------------- */

static const struct tentry normal_layer[] = {
	{ "./", DIR_, 0755, NULL, 1500000000 },
	{ "./bin/", DIR_, 0755, NULL, 1500000001 },
	{ "./bin/busybox", FILE_, 04755, "#!/bin/true\n", 1500000002 },
	{ "./bin/sh", SYMLINK, 0777, "busybox", 0 },
	{ "./bin/ash", HARDLINK, 0755, "bin/busybox", 0 },
	{ "./etc/motd", FILE_, 0644, "hello\n", 1500000003 },
	{ "./etc/localtime", SYMLINK, 0777, "/usr/share/zoneinfo/UTC", 0 },
	{ "./usr/lib/deep/file", FILE_, 0600, "deep\n", 0 },
	{ "./usr/lib/up", SYMLINK, 0777, "../../etc/motd", 0 },
	{ "ro/", DIR_, 0555, NULL, 1500000004 },
	{ "ro/inside", FILE_, 0444, "ro\n", 0 },
	{ "locked/", DIR_, 0700, NULL, 0 },
	{ "locked/secret", FILE_, 0640, "s\n", 0 },
	{ "empty", FILE_, 0644, NULL, 0 },
};

static void check_normal_layer(struct fx *f)
{
	assert_content(at(f, "bin/busybox"), "#!/bin/true\n");
	assert_content(at(f, "etc/motd"), "hello\n");
	assert_content(at(f, "usr/lib/deep/file"), "deep\n");
	assert_content(at(f, "ro/inside"), "ro\n");
	assert_content(at(f, "locked/secret"), "s\n");
	assert_content(at(f, "empty"), "");

	/* Modes: setuid dropped, write bits dropped, the rest kept. */
	assert_int_equal(mode_of(at(f, "bin/busybox")), S_IFREG | 0555);
	assert_int_equal(mode_of(at(f, "etc/motd")), S_IFREG | 0444);
	assert_int_equal(mode_of(at(f, "usr/lib/deep/file")), S_IFREG | 0400);
	assert_int_equal(mode_of(at(f, "locked/secret")), S_IFREG | 0440);
	assert_int_equal(mode_of(f->dest), S_IFDIR | 0555);
	assert_int_equal(mode_of(at(f, "bin")), S_IFDIR | 0555);
	assert_int_equal(mode_of(at(f, "ro")), S_IFDIR | 0555);
	assert_int_equal(mode_of(at(f, "locked")), S_IFDIR | 0500);
	assert_int_equal(mode_of(at(f, "usr/lib")), S_IFDIR | 0555); /* implicit */

	/* Links. */
	char buf[PATH_MAX];
	ssize_t n = readlink(at(f, "bin/sh"), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "busybox");
	n = readlink(at(f, "etc/localtime"), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "/usr/share/zoneinfo/UTC");
	struct stat a, b;
	assert_int_equal(lstat(at(f, "bin/ash"), &a), 0);
	assert_int_equal(lstat(at(f, "bin/busybox"), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(b.st_nlink, 2);

	/* Mtimes of files and directories. */
	assert_int_equal(b.st_mtim.tv_sec, 1500000002);
	assert_int_equal(lstat(at(f, "bin"), &a), 0);
	assert_int_equal(a.st_mtim.tv_sec, 1500000001);
	assert_int_equal(lstat(f->dest, &a), 0);
	assert_int_equal(a.st_mtim.tv_sec, 1500000000);
	assert_int_equal(lstat(at(f, "ro"), &a), 0);
	assert_int_equal(a.st_mtim.tv_sec, 1500000004);
}

static void test_normal_layer(void **state)
{
	struct fx *f = *state;
	write_tar(f->tar, normal_layer, sizeof(normal_layer) / sizeof(normal_layer[0]), PLAIN);
	struct err *err = NULL;
	struct extract_stats st;
	if (extract_tar_stats(f->tar, f->dest, &st, &err) < 0)
		fail_msg("%s", err_msg(err));
	check_normal_layer(f);
	assert_int_equal(st.entries, sizeof(normal_layer) / sizeof(normal_layer[0]));
	assert_true(st.disk_bytes >= 5 * 4096); /* at least the non-empty files */

	/* The tree is read-only: no new file even in a writable-looking dir. */
	if (geteuid() != 0) {
		assert_int_equal(open(at(f, "bin/new"), O_WRONLY | O_CREAT, 0644), -1);
		assert_int_equal(errno, EACCES);
	}
}

static void test_compressed_layers(void **state)
{
	struct fx *f = *state;
	enum compression cs[] = { GZIP, ZSTD };
	for (size_t i = 0; i < 2; i++) {
		struct err *err = NULL;
		write_tar(f->tar, normal_layer, sizeof(normal_layer) / sizeof(normal_layer[0]), cs[i]);
		if (extract_tar(f->tar, f->dest, &err) < 0)
			fail_msg("%s", err_msg(err));
		check_normal_layer(f);
		reset_dest(f);
	}
}

static void test_later_entries_replace(void **state)
{
	struct fx *f = *state;
	const struct tentry ents[] = {
		{ "x", FILE_, 0644, "first\n", 0 },
		{ "x", FILE_, 0644, "second\n", 0 },
		{ "y", SYMLINK, 0777, "x", 0 },
		{ "y", FILE_, 0600, "now a file\n", 0 },
		{ "z", FILE_, 0644, "was a file\n", 0 },
		{ "z/", DIR_, 0750, NULL, 0 },
		{ "z/in", FILE_, 0644, "in\n", 0 },
		{ "d/", DIR_, 0755, NULL, 0 },
		{ "d/", DIR_, 0711, NULL, 0 },
		{ "h", HARDLINK, 0644, "x", 0 },
		{ "h", HARDLINK, 0644, "h", 0 },
	};
	write_tar(f->tar, ents, sizeof(ents) / sizeof(ents[0]), PLAIN);
	struct err *err = NULL;
	if (extract_tar(f->tar, f->dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_content(at(f, "x"), "second\n");
	assert_content(at(f, "y"), "now a file\n");
	assert_int_equal(mode_of(at(f, "y")), S_IFREG | 0400);
	assert_content(at(f, "z/in"), "in\n");
	assert_int_equal(mode_of(at(f, "z")), S_IFDIR | 0550);
	assert_int_equal(mode_of(at(f, "d")), S_IFDIR | 0511); /* the later mode wins */
	assert_content(at(f, "h"), "second\n");
}

static void test_refuses_escaping_names(void **state)
{
	struct fx *f = *state;
	const struct tentry abs[] = { { "/etc/passwd", FILE_, 0644, "x", 0 } };
	expect_refused(f, abs, 1, "entry `/etc/passwd` has an absolute path");
	const struct tentry dotdot[] = { { "../evil", FILE_, 0644, "x", 0 } };
	expect_refused(f, dotdot, 1, "entry `../evil` contains a `..` component");
	const struct tentry inner[] = { { "a/../../evil", FILE_, 0644, "x", 0 } };
	expect_refused(f, inner, 1, "entry `a/../../evil` contains a `..` component");
	char out_evil[PATH_MAX + 16];
	snprintf(out_evil, sizeof(out_evil), "%s/../evil", f->dest);
	assert_false(exists(out_evil));
}

static void test_refuses_bad_hardlinks(void **state)
{
	struct fx *f = *state;
	const struct tentry abs[] = { { "passwd", HARDLINK, 0644, "/etc/passwd", 0 } };
	expect_refused(f, abs, 1, "entry `passwd` is a hard link to `/etc/passwd`, which is "
		       "outside the layer");
	const struct tentry up[] = { { "x", HARDLINK, 0644, "../outside/f", 0 } };
	expect_refused(f, up, 1, "which is outside the layer");
	const struct tentry missing[] = {
		{ "a", FILE_, 0644, "a", 0 },
		{ "b", HARDLINK, 0644, "nope", 0 },
	};
	expect_refused(f, missing, 2, "entry `b` is a hard link to `nope`, which is not an "
		       "earlier entry of the layer");
	/* A hard link through a symlink to a file outside. */
	char target[PATH_MAX + 8];
	snprintf(target, sizeof(target), "%s/f", f->out);
	int fd = open(target, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	const struct tentry via[] = {
		{ "o", SYMLINK, 0777, f->out, 0 },
		{ "stolen", HARDLINK, 0644, "o/f", 0 },
	};
	expect_refused(f, via, 2, "entry `stolen` is a hard link to `o/f`, which cannot be "
		       "reached without following a link");
	const struct tentry dir[] = {
		{ "d/", DIR_, 0755, NULL, 0 },
		{ "l", HARDLINK, 0644, "d", 0 },
	};
	expect_refused(f, dir, 2, "entry `l` is a hard link to directory `d`");
}

static void test_refuses_climbing_symlinks(void **state)
{
	struct fx *f = *state;
	const struct tentry top[] = { { "l", SYMLINK, 0777, "../x", 0 } };
	expect_refused(f, top, 1, "entry `l` is a symbolic link to `../x`, which climbs above "
		       "the layer root");
	const struct tentry deep[] = { { "a/b/l", SYMLINK, 0777, "../.././../x", 0 } };
	expect_refused(f, deep, 1, "climbs above the layer root");
	/* Climbing but staying inside is fine, and so is an absolute target. */
	const struct tentry ok[] = {
		{ "a/b/l", SYMLINK, 0777, "../../x/../y", 0 },
		{ "abs", SYMLINK, 0777, "/../../etc", 0 },
	};
	reset_dest(f);
	write_tar(f->tar, ok, 2, PLAIN);
	struct err *err = NULL;
	if (extract_tar(f->tar, f->dest, &err) < 0)
		fail_msg("%s", err_msg(err));
}

static void test_never_writes_through_symlinks(void **state)
{
	struct fx *f = *state;
	const struct tentry abs[] = {
		{ "o", SYMLINK, 0777, f->out, 0 },
		{ "o/pwned", FILE_, 0644, "x", 0 },
	};
	expect_refused(f, abs, 2, "entry `o/pwned` lies under `o`, which is a symbolic link; "
		       "refusing to write through it");
	const struct tentry rel[] = {
		{ "a/self", SYMLINK, 0777, "..", 0 },
		{ "a/self/b/c", DIR_, 0755, NULL, 0 },
	};
	expect_refused(f, rel, 2, "entry `a/self/b/c/` lies under `a/self`, which is a symbolic link");
	const struct tentry deeper[] = {
		{ "o", SYMLINK, 0777, f->out, 0 },
		{ "o/x/y/z", SYMLINK, 0777, "/etc", 0 },
	};
	expect_refused(f, deeper, 2, "lies under `o`");
	/* Replacing the link itself is fine: it is removed, not followed. */
	char outfile[PATH_MAX + 16];
	snprintf(outfile, sizeof(outfile), "%s/victim", f->out);
	int fd = open(outfile, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	const struct tentry over[] = {
		{ "v", SYMLINK, 0777, outfile, 0 },
		{ "v", FILE_, 0644, "replaced\n", 0 },
	};
	reset_dest(f);
	write_tar(f->tar, over, 2, PLAIN);
	struct err *err = NULL;
	if (extract_tar(f->tar, f->dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_content(at(f, "v"), "replaced\n");
	assert_content(outfile, "");
	/* Nothing ever landed outside. */
	char pwned[PATH_MAX + 16];
	snprintf(pwned, sizeof(pwned), "%s/pwned", f->out);
	assert_false(exists(pwned));
	snprintf(pwned, sizeof(pwned), "%s/x", f->out);
	assert_false(exists(pwned));
}

static void test_refuses_special_files(void **state)
{
	struct fx *f = *state;
	const struct tentry chr[] = {
		{ "dev/", DIR_, 0755, NULL, 0 },
		{ "dev/sda", CHARDEV, 0600, NULL, 0 },
	};
	write_tar(f->tar, chr, 2, PLAIN);
	struct err *err = NULL;
	assert_int_equal(extract_tar(f->tar, f->dest, &err), -1);
	char want[PATH_MAX * 2];
	snprintf(want, sizeof(want), "layer tar %s: entry `dev/sda` is a device node; layers "
		 "may not contain devices", f->tar);
	assert_string_equal(err_msg(err), want);
	err_free(&err);
	const struct tentry blk[] = { { "disk", BLOCKDEV, 0600, NULL, 0 } };
	expect_refused(f, blk, 1, "entry `disk` is a device node; layers may not contain devices");
	const struct tentry fifo[] = { { "pipe", FIFO, 0600, NULL, 0 } };
	expect_refused(f, fifo, 1, "entry `pipe` is a FIFO; layers may not contain FIFOs");
}

static void test_refuses_file_over_directory(void **state)
{
	struct fx *f = *state;
	const struct tentry file[] = {
		{ "d/", DIR_, 0755, NULL, 0 },
		{ "d", FILE_, 0644, "x", 0 },
	};
	expect_refused(f, file, 2, "entry `d` is a file, but an earlier entry made it a "
		       "directory");
	const struct tentry implicit[] = {
		{ "d/f", FILE_, 0644, "x", 0 },
		{ "d", SYMLINK, 0777, "/tmp", 0 },
	};
	expect_refused(f, implicit, 2, "entry `d` is a symbolic link, but an earlier entry made "
		       "it a directory");
	const struct tentry under_file[] = {
		{ "f", FILE_, 0644, "x", 0 },
		{ "f/g", FILE_, 0644, "x", 0 },
	};
	expect_refused(f, under_file, 2, "entry `f/g` lies under `f`, which is not a directory");
}

static void test_bad_archives(void **state)
{
	struct fx *f = *state;
	struct err *err = NULL;
	int fd = open(f->tar, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	char junk[2048];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(extract_tar(f->tar, f->dest, &err), -1);
	assert_non_null(strstr(err_msg(err), f->tar));
	err_free(&err);

	unlink(f->tar);
	assert_int_equal(extract_tar(f->tar, f->dest, &err), -1);
	assert_non_null(strstr(err_msg(err), f->tar));
	err_free(&err);

	/* An empty file is an empty layer. */
	fd = open(f->tar, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
	if (extract_tar(f->tar, f->dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(mode_of(f->dest), S_IFDIR | 0555);
}

static void test_remove_tree(void **state)
{
	struct fx *f = *state;
	/* A read-only tree with an unreadable dir and a link to the outside. */
	char keep[PATH_MAX + 8];
	snprintf(keep, sizeof(keep), "%s/keep", f->out);
	int fd = open(keep, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	const struct tentry ents[] = {
		{ "a/b/c/file", FILE_, 0444, "x", 0 },
		{ "a/b/c/", DIR_, 0000, NULL, 0 },
		{ "a/b/", DIR_, 0500, NULL, 0 },
		{ "a/out", SYMLINK, 0777, f->out, 0 },
		{ "a/link", HARDLINK, 0444, "a/b/c/file", 0 },
		{ "z", FILE_, 0444, "z", 0 },
	};
	write_tar(f->tar, ents, sizeof(ents) / sizeof(ents[0]), PLAIN);
	struct err *err = NULL;
	if (extract_tar(f->tar, f->dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(mode_of(at(f, "a/b/c")), S_IFDIR | 0000);

	/* A deep chain of directories. */
	char deep[1100];
	snprintf(deep, sizeof(deep), "%s/deep", f->dir);
	assert_int_equal(mkdir(deep, 0755), 0);
	int cur = open(deep, O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(mkdirat(cur, "d", 0755), 0);
		int next = openat(cur, "d", O_RDONLY | O_DIRECTORY);
		assert_true(next >= 0);
		close(cur);
		cur = next;
	}
	assert_int_equal(symlinkat(f->out, cur, "escape"), 0);
	fchmod(cur, 0555);
	close(cur);

	if (extract_remove_tree(AT_FDCWD, f->dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_false(exists(f->dest));
	if (extract_remove_tree(AT_FDCWD, deep, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_false(exists(deep));
	/* The link target survived, and a missing tree is fine. */
	assert_true(exists(keep));
	assert_int_equal(extract_remove_tree(AT_FDCWD, f->dest, &err), 0);
	/* A plain file or symlink is just unlinked. */
	char link[PATH_MAX + 8];
	snprintf(link, sizeof(link), "%s/lnk", f->dir);
	assert_int_equal(symlink(f->out, link), 0);
	assert_int_equal(extract_remove_tree(AT_FDCWD, link, &err), 0);
	assert_false(exists(link));
	assert_true(exists(keep));
	assert_int_equal(mkdir(f->dest, 0755), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_normal_layer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_compressed_layers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_later_entries_replace, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_escaping_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_hardlinks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_climbing_symlinks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_never_writes_through_symlinks, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_special_files, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_file_over_directory, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_archives, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_tree, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
