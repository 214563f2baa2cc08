/* Unit tests for artifacts/store: the content-addressed artifact cache. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/extract.h"
#include "artifacts/store.h"

struct fx {
	char dir[1024];  /* mkdtemp */
	char root[1100]; /* dir/cache (not created: store_open makes it) */
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_store.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/cache/artifacts", f->dir);
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

static struct store *open_store(struct fx *f, uint64_t size)
{
	struct store *s = NULL;
	struct err *err = NULL;
	if (store_open(&s, f->root, size, &err) < 0)
		fail_msg("%s", err_msg(err));
	return s;
}

static void write_full(int fd, const void *data, size_t len)
{
	assert_int_equal(write(fd, data, len), (ssize_t)len);
}

/* Commits content through a temp file; returns its digest. */
static struct digest put(struct store *s, const void *data, size_t len)
{
	char *tmp;
	int fd;
	struct err *err = NULL;
	assert_int_equal(store_tmpfile(s, &tmp, &fd, &err), 0);
	write_full(fd, data, len);
	close(fd);
	struct digest d;
	if (store_commit(s, tmp, NULL, &d, &err) < 0)
		fail_msg("%s", err_msg(err));
	free(tmp);
	return d;
}

/* 1000 bytes of a pattern derived from seed. */
static struct digest put_kb(struct store *s, int seed)
{
	char buf[1000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + (i * (size_t)seed + (size_t)seed) % 26);
	return put(s, buf, sizeof(buf));
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Number of entries in every temp dir under <root>/tmp, plus stray
 * non-directories in <root>/tmp itself. */
static size_t count_temp_files(struct fx *f)
{
	char tmp[1200];
	snprintf(tmp, sizeof(tmp), "%s/tmp", f->root);
	DIR *d = opendir(tmp);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[1500];
		snprintf(sub, sizeof(sub), "%s/%s", tmp, e->d_name);
		struct stat st;
		assert_int_equal(lstat(sub, &st), 0);
		n += S_ISDIR(st.st_mode) ? count_entries(sub) : 1;
	}
	closedir(d);
	return n;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void assert_blob(struct store *s, const struct digest *d, const void *data, size_t len)
{
	char *path = store_blob_path(s, d);
	assert_non_null(path);
	char buf[4096];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, data, len);
	free(path);
}

/* Writes a small layer tar to path: a dir, a read-only file, a symlink, and
 * optionally a device node. */
static void write_layer_tar(const char *path, const char *text, bool with_device)
{
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "etc/");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "etc/motd");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(text));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, text, strlen(text)), (la_ssize_t)strlen(text));
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "motd");
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_symlink(e, "etc/motd");
	archive_entry_set_perm(e, 0777);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (with_device) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, "dev/sda");
		archive_entry_set_filetype(e, AE_IFBLK);
		archive_entry_set_perm(e, 0600);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	}
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static struct digest add_layer(struct fx *f, struct store *s, const char *text, bool device)
{
	char tar[1200];
	snprintf(tar, sizeof(tar), "%s/layer.tar", f->dir);
	write_layer_tar(tar, text, device);
	struct digest d;
	struct err *err = NULL;
	if (store_add_path(s, tar, &d, &err) < 0)
		fail_msg("%s", err_msg(err));
	unlink(tar);
	return d;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_commit_and_lookup(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 1 << 20);
	assert_int_equal(store_bytes_used(s), 0);
	assert_non_null(strstr(store_root(s), "/cache/artifacts"));
	assert_int_equal(store_root(s)[0], '/');

	const char *text = "artifact one\n";
	struct digest want;
	digest_bytes(text, strlen(text), &want);
	assert_false(store_has(s, &want));
	assert_null(store_blob_path(s, &want));

	struct digest d = put(s, text, strlen(text));
	assert_true(digest_equal(&d, &want));
	assert_true(store_has(s, &d));
	assert_int_equal(store_bytes_used(s), strlen(text));
	assert_blob(s, &d, text, strlen(text));

	/* Blob is read-only, named by its hex, and the temp file is gone. */
	char *path = store_blob_path(s, &d);
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&d, hex);
	assert_non_null(strstr(path, hex));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	free(path);
	assert_int_equal(count_temp_files(f), 0);

	/* Committing the same content again is fine and changes nothing. */
	struct digest again = put(s, text, strlen(text));
	assert_true(digest_equal(&again, &d));
	assert_int_equal(store_bytes_used(s), strlen(text));
	assert_int_equal(count_temp_files(f), 0);

	/* An expected digest that matches. */
	char *tmp;
	int fd;
	struct err *err = NULL;
	assert_int_equal(store_tmpfile(s, &tmp, &fd, &err), 0);
	write_full(fd, "two", 3);
	struct digest two;
	digest_bytes("two", 3, &two);
	assert_int_equal(store_commit(s, tmp, &two, NULL, &err), 0);
	close(fd); /* closing after the commit is allowed too */
	free(tmp);
	assert_true(store_has(s, &two));
	assert_int_equal(store_bytes_used(s), strlen(text) + 3);
	store_free(s);
}

static void test_commit_mismatch(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 1 << 20);
	char *tmp;
	int fd;
	struct err *err = NULL;
	assert_int_equal(store_tmpfile(s, &tmp, &fd, &err), 0);
	write_full(fd, "tampered", 8);
	close(fd);
	struct digest want, got;
	digest_bytes("original", 8, &want);
	assert_int_equal(store_commit(s, tmp, &want, &got, &err), -1);
	assert_non_null(err);
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&want, hex);
	assert_non_null(strstr(err_msg(err), "does not match"));
	assert_non_null(strstr(err_msg(err), hex));
	err_free(&err);
	assert_false(exists(tmp));
	free(tmp);
	assert_false(store_has(s, &want));
	struct digest tampered;
	digest_bytes("tampered", 8, &tampered);
	assert_false(store_has(s, &tampered));
	assert_int_equal(store_bytes_used(s), 0);
	char blobs[1200];
	snprintf(blobs, sizeof(blobs), "%s/blobs", f->root);
	assert_int_equal(count_entries(blobs), 0);
	store_free(s);
}

static void test_add_path_copies(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 1 << 20);
	char src[1200];
	snprintf(src, sizeof(src), "%s/source.bin", f->dir);
	int fd = open(src, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	write_full(fd, "source content", 14);
	close(fd);
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, src, old, 0), 0);

	struct digest d, want;
	struct err *err = NULL;
	assert_int_equal(store_add_path(s, src, &d, &err), 0);
	digest_bytes("source content", 14, &want);
	assert_true(digest_equal(&d, &want));
	assert_blob(s, &d, "source content", 14);

	/* The source is neither linked nor touched. */
	struct stat st;
	assert_int_equal(stat(src, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mode & 07777, 0644);

	assert_int_equal(store_add_path(s, f->dir, &d, &err), -1);
	assert_non_null(strstr(err_msg(err), "not a regular file"));
	err_free(&err);
	snprintf(src, sizeof(src), "%s/missing", f->dir);
	assert_int_equal(store_add_path(s, src, &d, &err), -1);
	assert_non_null(strstr(err_msg(err), src));
	err_free(&err);
	assert_int_equal(count_temp_files(f), 0);
	store_free(s);
}

static void test_pins_and_lru_order(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 2500);
	struct err *err = NULL;
	struct digest a = put_kb(s, 1), b = put_kb(s, 2), c = put_kb(s, 3);
	assert_int_equal(store_bytes_used(s), 3000);

	/* Use a: b is now the least recently used. */
	free(store_blob_path(s, &a));
	assert_int_equal(store_evict(s, &err), 0);
	assert_true(store_has(s, &a));
	assert_false(store_has(s, &b));
	assert_true(store_has(s, &c));
	assert_int_equal(store_bytes_used(s), 2000);

	/* Pin the LRU one (a): c goes instead. */
	store_pin(s, &a);
	struct digest d = put_kb(s, 4);
	assert_int_equal(store_evict(s, &err), 0);
	assert_true(store_has(s, &a));
	assert_false(store_has(s, &c));
	assert_true(store_has(s, &d));

	/* Pins count: two pins need two unpins. Everything pinned: nothing goes. */
	store_pin(s, &a);
	store_pin(s, &d);
	struct digest e = put_kb(s, 5);
	store_pin(s, &e);
	assert_int_equal(store_evict(s, &err), 0);
	assert_int_equal(store_bytes_used(s), 3000);
	store_unpin(s, &a);
	assert_int_equal(store_evict(s, &err), 0);
	assert_true(store_has(s, &a));
	store_unpin(s, &a);
	assert_int_equal(store_evict(s, &err), 0);
	assert_false(store_has(s, &a));
	assert_int_equal(store_bytes_used(s), 2000);

	/* Pinning before the artifact exists protects it once it arrives. */
	struct digest g;
	char buf[1000];
	memset(buf, 'g', sizeof(buf));
	digest_bytes(buf, sizeof(buf), &g);
	store_pin(s, &g);
	assert_false(store_has(s, &g));
	store_unpin(s, &d);
	put(s, buf, sizeof(buf));
	assert_int_equal(store_evict(s, &err), 0);
	assert_true(store_has(s, &g));
	assert_false(store_has(s, &d));
	store_unpin(s, &g);
	store_unpin(s, &e);
	store_unpin(s, &e); /* one too many: ignored */
	store_free(s);
}

static void test_reopen_keeps_entries_and_recency(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 1 << 20);
	struct digest a = put_kb(s, 1), b = put_kb(s, 2), c = put_kb(s, 3);
	free(store_blob_path(s, &b));
	free(store_blob_path(s, &a)); /* order of use now: c, b, a */
	store_free(s);

	s = open_store(f, 2000);
	assert_true(store_has(s, &a));
	assert_true(store_has(s, &b));
	assert_true(store_has(s, &c));
	assert_int_equal(store_bytes_used(s), 3000);
	struct err *err = NULL;
	assert_int_equal(store_evict(s, &err), 0);
	assert_false(store_has(s, &c));
	store_free(s);

	s = open_store(f, 1000);
	assert_int_equal(store_bytes_used(s), 2000);
	assert_int_equal(store_evict(s, &err), 0);
	assert_false(store_has(s, &b));
	assert_true(store_has(s, &a));
	store_free(s);
}

static void test_leftover_temp_cleanup(void **state)
{
	struct fx *f = *state;
	/* A live store with a temp file in progress. */
	struct store *live = open_store(f, 1 << 20);
	char *live_tmp;
	int live_fd;
	struct err *err = NULL;
	assert_int_equal(store_tmpfile(live, &live_tmp, &live_fd, &err), 0);
	write_full(live_fd, "in progress", 11);

	/* A store in a child that dies mid-way, leaving a temp file and a
	 * half-extracted read-only tree. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;
		if (store_open(&s, f->root, 1 << 20, NULL) < 0)
			_exit(1);
		char *tmp;
		int fd;
		if (store_tmpfile(s, &tmp, &fd, NULL) < 0 || write(fd, "junk", 4) != 4)
			_exit(2);
		char dir[1200];
		snprintf(dir, sizeof(dir), "%s.d", tmp);
		if (mkdir(dir, 0755) < 0)
			_exit(3);
		snprintf(dir, sizeof(dir), "%s.d/sub", tmp);
		if (mkdir(dir, 0755) < 0 || chmod(dir, 0) < 0)
			_exit(4);
		snprintf(dir, sizeof(dir), "%s.d", tmp);
		if (chmod(dir, 0555) < 0)
			_exit(5);
		_exit(0); /* crash: no store_free */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* A stray file directly in tmp/. */
	char stray[1200];
	snprintf(stray, sizeof(stray), "%s/tmp/stray", f->root);
	int fd = open(stray, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(count_temp_files(f), 1 + 2 + 1); /* live, dead store's two, stray */

	struct store *s = open_store(f, 1 << 20);
	assert_false(exists(stray));
	/* Only the live store's temp file is left. */
	assert_int_equal(count_temp_files(f), 1);
	assert_true(exists(live_tmp));
	struct digest d;
	assert_int_equal(store_commit(live, live_tmp, NULL, &d, &err), 0);
	close(live_fd);
	free(live_tmp);
	assert_int_equal(store_refresh(s, &d, &err), 0);
	assert_true(store_has(s, &d));
	store_free(live);
	store_free(s);
	/* Closed stores leave no temp dirs. */
	char tmpdir[1200];
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", f->root);
	assert_int_equal(count_entries(tmpdir), 0);
}

static void test_layer_dir_extracts_once(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 1 << 20);
	struct err *err = NULL;
	struct digest d = add_layer(f, s, "hello\n", false);
	uint64_t blob_only = store_bytes_used(s);

	char *expect = store_layer_dir_path(s, &d);
	assert_false(exists(expect));
	char *dir = NULL;
	if (store_layer_dir(s, &d, &dir, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_string_equal(dir, expect);
	char motd[1200];
	snprintf(motd, sizeof(motd), "%s/etc/motd", dir);
	struct stat st1, st2;
	assert_int_equal(lstat(motd, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0444);
	assert_int_equal(lstat(dir, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0555);
	assert_true(store_bytes_used(s) > blob_only);
	uint64_t with_layer = store_bytes_used(s);
	assert_int_equal(count_temp_files(f), 0);

	/* Second call: same tree, not extracted again. */
	char *dir2 = NULL;
	assert_int_equal(store_layer_dir(s, &d, &dir2, &err), 0);
	assert_string_equal(dir2, dir);
	struct stat st3;
	assert_int_equal(lstat(motd, &st3), 0);
	assert_int_equal(st3.st_ino, st1.st_ino);
	assert_int_equal(store_bytes_used(s), with_layer);

	/* A reopened store knows the layer and its size. */
	store_free(s);
	s = open_store(f, 0);
	assert_int_equal(store_bytes_used(s), with_layer);
	/* Eviction removes the blob and the read-only tree. */
	assert_int_equal(store_evict(s, &err), 0);
	assert_false(store_has(s, &d));
	assert_false(exists(dir));
	assert_int_equal(store_bytes_used(s), 0);
	char layers[1200];
	snprintf(layers, sizeof(layers), "%s/layers", f->root);
	assert_int_equal(count_entries(layers), 0);
	assert_int_equal(count_temp_files(f), 0);
	assert_int_equal(store_layer_dir(s, &d, &dir2, &err), -1);
	assert_non_null(strstr(err_msg(err), "not in the artifact cache"));
	err_free(&err);
	free(dir);
	free(dir2);
	free(expect);
	store_free(s);
}

static void test_layer_dir_refuses_bad_tar(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 1 << 20);
	struct err *err = NULL;
	struct digest d = add_layer(f, s, "x\n", true);
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&d, hex);
	char *dir = NULL;
	assert_int_equal(store_layer_dir(s, &d, &dir, &err), -1);
	assert_null(dir);
	assert_non_null(strstr(err_msg(err), hex));
	assert_non_null(strstr(err_msg(err), "entry `dev/sda` is a device node"));
	err_free(&err);
	char *path = store_layer_dir_path(s, &d);
	assert_false(exists(path));
	free(path);
	assert_int_equal(count_temp_files(f), 0);
	store_free(s);
}

static void test_two_stores_one_root(void **state)
{
	struct fx *f = *state;
	struct store *a = open_store(f, 0);
	struct store *b = open_store(f, 0);
	struct err *err = NULL;

	struct digest x = put(a, "shared", 6);
	assert_false(store_has(b, &x));
	assert_int_equal(store_refresh(b, &x, &err), 0);
	assert_true(store_has(b, &x));
	assert_blob(b, &x, "shared", 6);
	assert_int_equal(store_bytes_used(b), 6);

	/* b extracts a layer; a sees it after a refresh. */
	struct digest l = add_layer(f, b, "layer\n", false);
	char *dir;
	assert_int_equal(store_layer_dir(b, &l, &dir, &err), 0);
	assert_int_equal(store_refresh(a, &l, &err), 0);
	assert_int_equal(store_bytes_used(a), store_bytes_used(b));
	char *dir_a;
	assert_int_equal(store_layer_dir(a, &l, &dir_a, &err), 0);
	assert_string_equal(dir, dir_a);
	free(dir_a);

	/* a's pins hold against b's eviction (cache size 0). */
	store_pin(a, &x);
	store_pin(a, &l);
	assert_int_equal(store_evict(b, &err), 0);
	assert_true(store_has(b, &x));
	assert_true(exists(dir));
	/* Once unpinned, b may evict them; a notices on refresh. */
	store_unpin(a, &x);
	store_unpin(a, &l);
	assert_int_equal(store_evict(b, &err), 0);
	assert_false(store_has(b, &x));
	assert_false(exists(dir));
	assert_true(store_has(a, &x)); /* stale until refreshed */
	assert_int_equal(store_refresh(a, &x, &err), 0);
	assert_false(store_has(a, &x));
	assert_null(store_blob_path(a, &l)); /* notices the blob is gone */
	assert_false(store_has(a, &l));
	assert_int_equal(store_bytes_used(a), 0);
	free(dir);
	store_free(a);
	store_free(b);
}

static void test_forked_child_adds(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f, 1 << 20);
	struct err *err = NULL;
	struct digest l = add_layer(f, s, "from child\n", false);
	uint64_t before = store_bytes_used(s);
	/* Like core/offload: the child uses the parent's store, then exits. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *dir;
		if (store_layer_dir(s, &l, &dir, NULL) < 0)
			_exit(1);
		put(s, "child blob", 10);
		store_free(s); /* must not remove the parent's temp dir */
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	struct digest c;
	digest_bytes("child blob", 10, &c);
	assert_false(store_has(s, &c));
	assert_int_equal(store_refresh(s, &c, &err), 0);
	assert_int_equal(store_refresh(s, &l, &err), 0);
	assert_true(store_has(s, &c));
	assert_true(store_bytes_used(s) > before + 10);
	/* The parent's temp dir still works. */
	put(s, "parent blob", 11);
	store_free(s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_commit_and_lookup),
		T(test_commit_mismatch),
		T(test_add_path_copies),
		T(test_pins_and_lru_order),
		T(test_reopen_keeps_entries_and_recency),
		T(test_leftover_temp_cleanup),
		T(test_layer_dir_extracts_once),
		T(test_layer_dir_refuses_bad_tar),
		T(test_two_stores_one_root),
		T(test_forked_child_adds),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
