/* Unit tests for the container image depot (artifacts/image_depot), the
 * tags lock file (artifacts/image_lock), image_info's JSON and image_get on
 * oci: and oci-archive: images (artifacts/image). */
#include "image_get_fixture.h"

#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

#include "artifacts/extract.h"
#include "artifacts/image.h"
#include "artifacts/image_depot.h"
#include "artifacts/image_lock.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

struct fx {
	char dir[1024];   /* mkdtemp */
	char root[1100];  /* dir/depot */
	char lock[1100];  /* dir/maelstrom-container-tags.lock */
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_image_depot.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/depot", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s/%s", f->dir, IMAGE_LOCK_FILE);
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

static void open_depot(struct fx *f, struct image_depot *d)
{
	struct err *err = NULL;
	if (depot_open(f->root, d, &err) < 0)
		fail_msg("%s", err_msg(err));
}

static char *read_all(const char *path)
{
	char *text = NULL;
	size_t len;
	struct err *err = NULL;
	if (depot_read_file(path, 1 << 24, &text, &len, &err) < 0)
		fail_msg("%s", err_msg(err));
	return text;
}

static int tmp_count(struct fx *f)
{
	char *p = fx_printf("%s/tmp", f->root);
	int n = fx_count_dir(p);
	free(p);
	return n;
}

/* ---- depot ---------------------------------------------------------------- */

static void test_layout_and_blobs(void **state)
{
	struct fx *f = *state;
	struct image_depot d;
	open_depot(f, &d);
	const char *dirs[] = { "blobs/sha256", "images", "archives", "tmp" };
	for (size_t i = 0; i < 4; i++) {
		char *p = fx_printf("%s/%s", f->root, dirs[i]);
		assert_int_equal(fx_count_dir(p), 0);
		free(p);
	}
	/* sha256("abc"), the FIPS 180-2 example */
	char dg[IMAGE_DIGEST_SIZE];
	image_sha256_digest("abc", 3, dg);
	assert_string_equal(dg, "sha256:ba7816bf8f01cfea414140de5dae2223"
				"b00361a396177a9cb410ff61f20015ad");

	struct err *err = NULL;
	assert_int_equal(depot_blob_put(&d, "abc", 3, dg, &err), 0);
	char *path = depot_blob_path(&d, dg);
	char *want = fx_printf("%s/blobs/sha256/%s", d.root, dg + 7);
	assert_string_equal(path, want);
	char *text = read_all(path);
	assert_string_equal(text, "abc");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	/* putting it again replaces it with the same bytes */
	assert_int_equal(depot_blob_put(&d, "abc", 3, dg, &err), 0);

	/* streamed in pieces */
	struct depot_blob w;
	assert_int_equal(depot_blob_begin(&d, &w, &err), 0);
	assert_int_equal(depot_blob_write(&w, "a", 1, &err), 0);
	assert_int_equal(depot_blob_write(&w, "", 0, &err), 0);
	assert_int_equal(depot_blob_write(&w, "bc", 2, &err), 0);
	assert_int_equal(depot_blob_commit(&w, dg, &err), 0);
	assert_int_equal(tmp_count(f), 0);

	free(text);
	free(want);
	free(path);
	depot_release(&d);
	assert_null(d.root);
}

static void test_blob_mismatch(void **state)
{
	struct fx *f = *state;
	struct image_depot d;
	open_depot(f, &d);
	struct err *err = NULL;
	char dg[IMAGE_DIGEST_SIZE];
	image_sha256_digest("abc", 3, dg);
	assert_int_equal(depot_blob_put(&d, "abd", 3, dg, &err), -1);
	assert_non_null(strstr(err_msg(err),
			       "blob sha256:ba7816bf8f01..: digest mismatch (got sha256:"));
	assert_non_null(strstr(err_msg(err), "try again"));
	err_free(&err);
	char *path = depot_blob_path(&d, dg);
	assert_false(depot_exists(path));
	assert_int_equal(tmp_count(f), 0);

	/* an aborted writer leaves nothing either */
	struct depot_blob w;
	assert_int_equal(depot_blob_begin(&d, &w, &err), 0);
	assert_int_equal(depot_blob_write(&w, "abc", 3, &err), 0);
	depot_blob_abort(&w);
	depot_blob_abort(&w);
	assert_int_equal(tmp_count(f), 0);
	assert_false(depot_exists(path));
	free(path);
	depot_release(&d);
}

/* Two processes write the same 3 MiB blob 20 times each, racing. */
static void test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct image_depot d;
	open_depot(f, &d);
	size_t len = 3u << 20;
	char *data = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 7 + i / 4096);
	char dg[IMAGE_DIGEST_SIZE];
	image_sha256_digest(data, len, dg);
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			for (int round = 0; round < 20; round++) {
				struct err *err = NULL;
				struct depot_blob w;
				if (depot_blob_begin(&d, &w, &err) < 0)
					_exit(1);
				for (size_t off = 0; off < len; off += 65536) {
					size_t n = len - off < 65536 ? len - off : 65536;
					if (depot_blob_write(&w, data + off, n, &err) < 0)
						_exit(2);
				}
				if (depot_blob_commit(&w, dg, &err) < 0) {
					fprintf(stderr, "writer: %s\n", err_msg(err));
					_exit(3);
				}
				/* a reader between the writers sees a complete blob */
				char *path = depot_blob_path(&d, dg);
				struct stat st;
				if (stat(path, &st) < 0 || (size_t)st.st_size != len)
					_exit(4);
				free(path);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status;
		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	char *path = depot_blob_path(&d, dg);
	char *text = NULL;
	size_t got;
	struct err *err = NULL;
	assert_int_equal(depot_read_file(path, len, &text, &got, &err), 0);
	assert_int_equal(got, len);
	assert_memory_equal(text, data, len);
	assert_int_equal(tmp_count(f), 0);
	free(text);
	free(path);
	free(data);
	depot_release(&d);
}

static void test_stale_tmp(void **state)
{
	struct fx *f = *state;
	struct image_depot d;
	open_depot(f, &d);
	char *old = NULL, *fresh = NULL, *olddir = NULL;
	struct err *err = NULL;
	assert_int_equal(depot_tmp_file(&d, "flatten", &old, &err), 0);
	assert_int_equal(depot_tmp_file(&d, "blob", &fresh, &err), 0);
	assert_int_equal(depot_tmp_dir(&d, "archive", &olddir, &err), 0);
	char *inner = fx_printf("%s/x", olddir);
	fx_write_file(inner, "x", 1);
	struct timespec ts[2] = { { .tv_sec = time(NULL) - 3 * 24 * 3600 },
				  { .tv_sec = time(NULL) - 3 * 24 * 3600 } };
	assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, olddir, ts, 0), 0);
	depot_release(&d);
	open_depot(f, &d);
	assert_false(depot_exists(old));
	assert_false(depot_exists(olddir));
	assert_true(depot_exists(fresh));
	assert_int_equal(tmp_count(f), 1);
	free(inner);
	free(old);
	free(fresh);
	free(olddir);
	depot_release(&d);
}

static void test_read_file(void **state)
{
	struct fx *f = *state;
	char *p = fx_printf("%s/file", f->dir);
	fx_write_file(p, "0123456789", 10);
	char *text = NULL;
	size_t len = 0;
	struct err *err = NULL;
	assert_int_equal(depot_read_file(p, 10, &text, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(text, "0123456789");
	free(text);
	assert_int_equal(depot_read_file(p, 9, &text, &len, &err), -1);
	assert_non_null(strstr(err_msg(err), "too large (10 bytes, at most 9"));
	err_free(&err);
	assert_int_equal(depot_read_file(f->dir, 9, &text, &len, &err), -1);
	assert_non_null(strstr(err_msg(err), "not a regular file"));
	err_free(&err);
	free(p);

	struct image_depot d;
	assert_int_equal(depot_open("", &d, &err), -1);
	assert_non_null(strstr(err_msg(err), "container-image-depot-root"));
	err_free(&err);
}

/* ---- lock file ------------------------------------------------------------ */

static void lock_find(const char *path, const char *key, const char *want)
{
	struct image_lock l;
	struct err *err = NULL;
	if (image_lock_read(path, &l, &err) < 0)
		fail_msg("%s", err_msg(err));
	const char *got = image_lock_find(&l, key);
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
	image_lock_release(&l);
}

static void test_lock_round_trip(void **state)
{
	struct fx *f = *state;
	struct image_lock l;
	struct err *err = NULL;
	/* missing: empty */
	assert_int_equal(image_lock_read(f->lock, &l, &err), 0);
	assert_int_equal(l.n, 0);
	image_lock_release(&l);

	const char *k1 = "docker://localhost:5000/busybox:1";
	const char *k2 = "docker://docker.io/library/python:3.11-slim";
	assert_int_equal(image_lock_add(f->lock, k1, D1, &err), 0);
	assert_int_equal(image_lock_add(f->lock, k2, D2, &err), 0);
	/* already pinned: the first pin wins, the file is unchanged */
	char *before = read_all(f->lock);
	assert_int_equal(image_lock_add(f->lock, k1, D2, &err), 0);
	char *after = read_all(f->lock);
	assert_string_equal(before, after);
	assert_int_equal(before[0], (int)'#');
	char *line = fx_printf("\n\"%s\" = \"%s\"\n\"%s\" = \"%s\"\n", k1, D1, k2, D2);
	assert_non_null(strstr(before, line));
	free(line);
	lock_find(f->lock, k1, D1);
	lock_find(f->lock, k2, D2);
	lock_find(f->lock, "docker://localhost:5000/busybox:2", NULL);

	/* what a user may write: spaces, CRLF, comments, blank lines */
	char *text = fx_printf("# mine\n\n  \"%s\"=\"%s\"   # pinned by hand\r\n\t\n", k1, D2);
	fx_write_file(f->lock, text, strlen(text));
	lock_find(f->lock, k1, D2);
	assert_int_equal(image_lock_add(f->lock, k2, D1, &err), 0);
	char *kept = read_all(f->lock);
	assert_memory_equal(kept, text, strlen(text)); /* the user's lines are kept */
	lock_find(f->lock, k2, D1);
	struct stat st;
	assert_int_equal(stat(f->lock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(kept);
	free(text);
	free(before);
	free(after);
}

static void check_malformed(const char *path, const char *text, const char *needle)
{
	fx_write_file(path, text, strlen(text));
	struct image_lock l;
	struct err *err = NULL;
	assert_int_equal(image_lock_read(path, &l, &err), -1);
	assert_int_equal(l.n, 0);
	if (!strstr(err_msg(err), needle) || !strstr(err_msg(err), "delete the line"))
		fail_msg("`%s`: message `%s` lacks `%s`", text, err_msg(err), needle);
	err_free(&err);
	/* adding refuses to rewrite a broken file */
	assert_int_equal(image_lock_add(path, "docker://x.io/a:1", D1, &err), -1);
	assert_non_null(strstr(err_msg(err), needle));
	err_free(&err);
}

static void test_lock_malformed(void **state)
{
	struct fx *f = *state;
	char *where = fx_printf("%s:3: cannot read `", f->lock);
	check_malformed(f->lock, "# ok\n\n\"docker://a.io/b:1\" = sha256:x\n", where);
	check_malformed(f->lock, "# ok\n\n\"docker://a.io/b:1\" = \"sha256:abc\"\n", where);
	check_malformed(f->lock, "#\n#\n\"docker://a.io/b:1\" \"" D1 "\"\n", where);
	check_malformed(f->lock, "#\n#\n\"a.io/b:1\" = \"" D1 "\"\n", where);
	check_malformed(f->lock, "#\n#\n\"docker://a.io/b:1\" = \"" D1 "\" x\n", where);
	check_malformed(f->lock, "#\n#\n\"docker://a\\\"b\" = \"" D1 "\"\n", where);
	check_malformed(f->lock, "#\n\"docker://a.io/b:1\" = \"" D1 "\"\n[table]\n", where);
	free(where);
	where = fx_printf("%s:1:", f->lock);
	check_malformed(f->lock, "\"docker://a.io/b:1\" = \"" D1, where);
	free(where);

	struct err *err = NULL;
	assert_int_equal(image_lock_add(f->lock, "docker://a.io/b\":1", D1, &err), -1);
	assert_non_null(strstr(err_msg(err), "quote"));
	err_free(&err);
}

static void test_lock_deleted_line(void **state)
{
	struct fx *f = *state;
	struct err *err = NULL;
	const char *k1 = "docker://localhost:5000/busybox:1";
	const char *k2 = "docker://localhost:5000/busybox:2";
	assert_int_equal(image_lock_add(f->lock, k1, D1, &err), 0);
	assert_int_equal(image_lock_add(f->lock, k2, D2, &err), 0);
	/* the user deletes k1's line */
	char *text = read_all(f->lock);
	char *line = fx_printf("\"%s\" = \"%s\"\n", k1, D1);
	char *at = strstr(text, line);
	assert_non_null(at);
	memmove(at, at + strlen(line), strlen(at + strlen(line)) + 1);
	fx_write_file(f->lock, text, strlen(text));
	lock_find(f->lock, k1, NULL);
	lock_find(f->lock, k2, D2);
	/* resolving again pins the new digest */
	assert_int_equal(image_lock_add(f->lock, k1, D2, &err), 0);
	lock_find(f->lock, k1, D2);
	free(line);
	free(text);

	/* a file without a final newline gets one before the new line */
	fx_write_file(f->lock, "# x", 3);
	assert_int_equal(image_lock_add(f->lock, k1, D1, &err), 0);
	char *fixed = read_all(f->lock);
	char *want = fx_printf("# x\n\"%s\" = \"%s\"\n", k1, D1);
	assert_string_equal(fixed, want);
	free(fixed);
	free(want);
}

/* Two processes pin 25 tags each at the same time: no pin is lost. */
static void test_lock_concurrent(void **state)
{
	struct fx *f = *state;
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			for (int i = 0; i < 25; i++) {
				char key[64];
				snprintf(key, sizeof(key), "docker://localhost:5000/p%d:%d", k, i);
				struct err *err = NULL;
				if (image_lock_add(f->lock, key, k ? D2 : D1, &err) < 0) {
					fprintf(stderr, "adder: %s\n", err_msg(err));
					_exit(1);
				}
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status;
		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	struct image_lock l;
	struct err *err = NULL;
	assert_int_equal(image_lock_read(f->lock, &l, &err), 0);
	assert_int_equal(l.n, 50);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 25; i++) {
			char key[64];
			snprintf(key, sizeof(key), "docker://localhost:5000/p%d:%d", k, i);
			assert_string_equal(image_lock_find(&l, key), k ? D2 : D1);
		}
	image_lock_release(&l);
	/* no temporaries left beside the file */
	assert_int_equal(fx_count_dir(f->dir), 1);
}

/* ---- image_info ----------------------------------------------------------- */

static void test_info_json(void **state)
{
	(void)state;
	char *env[] = { "PATH=/usr/bin:/bin", "Q=\"quoted\" \\ and\nnewline", "U=ü", NULL };
	struct image_info in = { .name = "docker://localhost:5000/busybox:1",
				 .digest = D1,
				 .layer_tar = "/depot/images/11.tar",
				 .env = env,
				 .working_dir = "/work" };
	char *text = image_info_to_json(&in);
	struct image_info out;
	struct err *err = NULL;
	if (image_info_from_json(text, &out, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_string_equal(out.name, in.name);
	assert_string_equal(out.digest, in.digest);
	assert_string_equal(out.layer_tar, in.layer_tar);
	assert_string_equal(out.working_dir, "/work");
	for (int i = 0; i < 3; i++)
		assert_string_equal(out.env[i], env[i]);
	assert_null(out.env[3]);
	image_info_release(&out);
	image_info_release(&out); /* zeroed: safe again */
	free(text);

	/* no env, no working dir */
	char *none[] = { NULL };
	struct image_info bare = { .name = "oci:/x", .digest = D2, .layer_tar = "/t", .env = none };
	text = image_info_to_json(&bare);
	assert_int_equal(image_info_from_json(text, &out, &err), 0);
	assert_non_null(out.env);
	assert_null(out.env[0]);
	assert_null(out.working_dir);
	image_info_release(&out);
	free(text);

	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "{", "not valid JSON" },
		{ "[]", "not an object" },
		{ "{\"layer_tar\":\"/t\"}", "field `digest` is missing" },
		{ "{\"digest\":\"d\",\"layer_tar\":1}", "field `layer_tar` is not a string" },
		{ "{\"digest\":\"d\",\"layer_tar\":\"/t\",\"env\":{}}",
		  "field `env` is not an array" },
		{ "{\"digest\":\"d\",\"layer_tar\":\"/t\",\"env\":[\"A=1\",2]}",
		  "field `env[1]` is not a string" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(image_info_from_json(bad[i].text, &out, &err), -1);
		if (!strstr(err_msg(err), bad[i].needle))
			fail_msg("`%s`: `%s` lacks `%s`", bad[i].text, err_msg(err), bad[i].needle);
		assert_null(out.digest);
		err_free(&err);
	}
}

static void test_default_depot(void **state)
{
	(void)state;
	char *saved_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
	char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
	char *p = image_default_depot();
	assert_string_equal(p, "/xdg/cache/maelstrom/containers");
	free(p);
	setenv("XDG_CACHE_HOME", "", 1);
	setenv("HOME", "/home/u", 1);
	p = image_default_depot();
	assert_string_equal(p, "/home/u/.cache/maelstrom/containers");
	free(p);
	unsetenv("XDG_CACHE_HOME");
	p = image_default_depot();
	assert_string_equal(p, "/home/u/.cache/maelstrom/containers");
	free(p);
	if (saved_xdg)
		setenv("XDG_CACHE_HOME", saved_xdg, 1);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	else
		unsetenv("HOME");
	free(saved_xdg);
	free(saved_home);
}

/* ---- image_get: oci: and oci-archive: -------------------------------------- */

static void get_ok(const char *name, const struct image_options *o, struct image_info *info)
{
	struct err *err = NULL;
	if (image_get(name, o, info, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_string_equal(info->name, name);
}

static void check_info(const struct image_info *info, const struct fx_image *img)
{
	assert_string_equal(info->digest, img->manifest.digest);
	assert_string_equal(info->env[0], "PATH=/bin");
	assert_string_equal(info->env[1], "GREETING=hi");
	assert_null(info->env[2]);
	assert_string_equal(info->working_dir, "/work");
	char *names = fx_tar_names(info->layer_tar);
	assert_string_equal(names, FX_FLAT_ENTRIES);
	free(names);
}

static void test_get_oci(void **state)
{
	struct fx *f = *state;
	struct fx_image img;
	fx_image_build(&img);
	char *layout = fx_printf("%s/layout", f->dir);
	fx_write_layout(&img, layout, "v1");
	struct image_options o = { .depot_dir = f->root, .lock_file = f->lock };

	char *name = fx_printf("oci:%s:v1", layout);
	struct image_info info;
	get_ok(name, &o, &info);
	check_info(&info, &img);
	char *tar = fx_printf("%s/images/%s.tar", f->root, img.manifest.digest + 7);
	assert_string_equal(info.layer_tar, tar);
	struct stat st1, st2;
	assert_int_equal(stat(info.layer_tar, &st1), 0);
	image_info_release(&info);

	/* again, without a ref (the layout holds one image): the depot's copy */
	char *name2 = fx_printf("oci:%s", layout);
	get_ok(name2, &o, &info);
	check_info(&info, &img);
	assert_int_equal(stat(info.layer_tar, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	image_info_release(&info);
	assert_false(depot_exists(f->lock)); /* only docker:// tags are pinned */
	assert_int_equal(tmp_count(f), 0);

	/* errors name the image */
	struct err *err = NULL;
	char *bad = fx_printf("oci:%s:v2", layout);
	assert_int_equal(image_get(bad, &o, &info, &err), -1);
	assert_non_null(strstr(err_msg(err), bad));
	assert_null(info.name);
	err_free(&err);
	assert_int_equal(image_get("ftp://x", &o, &info, &err), -1);
	assert_non_null(strstr(err_msg(err), "ftp://x: unknown kind of image: write docker://"));
	err_free(&err);
	struct image_options none = { 0 };
	assert_int_equal(image_get(name, &none, &info, &err), -1);
	assert_non_null(strstr(err_msg(err), "container-image-depot-root"));
	err_free(&err);

	free(bad);
	free(tar);
	free(name);
	free(name2);
	free(layout);
	fx_image_free(&img);
}

static void test_get_oci_archive(void **state)
{
	struct fx *f = *state;
	struct fx_image img;
	fx_image_build(&img);
	char *scratch = fx_printf("%s/scratch", f->dir);
	char *archive = fx_printf("%s/img.tar", f->dir);
	fx_write_archive(&img, scratch, archive, "latest");
	struct image_options o = { .depot_dir = f->root };
	char *name = fx_printf("oci-archive:%s:latest", archive);
	struct image_info info;
	get_ok(name, &o, &info);
	check_info(&info, &img);
	image_info_release(&info);
	char *archives = fx_printf("%s/archives", f->root);
	assert_int_equal(fx_count_dir(archives), 1);

	/* unchanged: unpacked once */
	get_ok(name, &o, &info);
	check_info(&info, &img);
	image_info_release(&info);
	assert_int_equal(fx_count_dir(archives), 1);

	/* touched: unpacked again under a new key */
	struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
	assert_int_equal(utimensat(AT_FDCWD, archive, ts, 0), 0);
	get_ok(name, &o, &info);
	check_info(&info, &img);
	image_info_release(&info);
	assert_int_equal(fx_count_dir(archives), 2);
	assert_int_equal(tmp_count(f), 0);

	struct err *err = NULL;
	char *missing = fx_printf("oci-archive:%s/nope.tar", f->dir);
	assert_int_equal(image_get(missing, &o, &info, &err), -1);
	assert_non_null(strstr(err_msg(err), "nope.tar"));
	assert_non_null(strstr(err_msg(err), "No such file"));
	err_free(&err);

	free(missing);
	free(archives);
	free(name);
	free(archive);
	free(scratch);
	fx_image_free(&img);
}

/* Two processes get the same image into an empty depot at once. */
static void test_get_concurrent(void **state)
{
	struct fx *f = *state;
	struct fx_image img;
	fx_image_build(&img);
	char *layout = fx_printf("%s/layout", f->dir);
	fx_write_layout(&img, layout, "v1");
	char *name = fx_printf("oci:%s:v1", layout);
	struct image_options o = { .depot_dir = f->root };
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			struct image_info info;
			struct err *err = NULL;
			if (image_get(name, &o, &info, &err) < 0) {
				fprintf(stderr, "client %d: %s\n", k, err_msg(err));
				_exit(1);
			}
			struct stat st;
			_exit(stat(info.layer_tar, &st) == 0 && st.st_size > 0 ? 0 : 2);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status;
		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	struct image_info info;
	get_ok(name, &o, &info);
	check_info(&info, &img);
	image_info_release(&info);
	assert_int_equal(tmp_count(f), 0);
	free(name);
	free(layout);
	fx_image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_and_blobs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_blob_mismatch, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_malformed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_deleted_line, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_concurrent, fx_setup, fx_teardown),
		cmocka_unit_test(test_info_json),
		cmocka_unit_test(test_default_depot),
		cmocka_unit_test_setup_teardown(test_get_oci, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_oci_archive, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_concurrent, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
