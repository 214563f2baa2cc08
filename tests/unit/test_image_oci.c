/* Unit tests for artifacts/image_oci: OCI image layouts and oci-archive tars. */
#include "image_fixture.h"

#include <errno.h>

#include "artifacts/image_depot.h"
#include "artifacts/image_manifest.h"
#include "artifacts/image_oci.h"

/* ---- building layouts -------------------------------------------------- */

/* Stores text as a blob of the layout dir; returns its "sha256:HEX" (heap). */
static char *put_blob(const char *dir, const char *text)
{
	char digest[IMAGE_DIGEST_SIZE];
	image_sha256_digest(text, strlen(text), digest);
	char *path = xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
	tf_write(path, text, strlen(text));
	free(path);
	return xstrdup(digest);
}

static void make_layout_dirs(const char *dir)
{
	const char *subs[] = { "", "/blobs", "/blobs/sha256" };
	for (size_t i = 0; i < 3; i++) {
		char *d = xasprintf("%s%s", dir, subs[i]);
		assert_int_equal(mkdir(d, 0755), 0);
		free(d);
	}
	char *p = xasprintf("%s/oci-layout", dir);
	tf_write(p, "{\"imageLayoutVersion\": \"1.0.0\"}", 31);
	free(p);
}

/* An image of n_layers layers (blob texts "layer K of NAME") and a config;
 * returns the manifest's digest. */
static char *put_image(const char *dir, const char *name, size_t n_layers)
{
	char *config = put_blob(dir, "{\"config\": {\"Env\": [\"A=1\"]}}");
	char *layers = xstrdup("");
	for (size_t k = 0; k < n_layers; k++) {
		char *text = xasprintf("layer %zu of %s", k + 1, name);
		char *d = put_blob(dir, text);
		char *joined = xasprintf("%s%s{\"mediaType\": "
					 "\"application/vnd.oci.image.layer.v1.tar\", "
					 "\"digest\": \"%s\", \"size\": %zu}",
					 layers, k ? ", " : "", d, strlen(text));
		free(layers);
		layers = joined;
		free(d);
		free(text);
	}
	char *manifest = xasprintf("{\"schemaVersion\": 2, \"mediaType\": "
				   "\"application/vnd.oci.image.manifest.v1+json\", "
				   "\"config\": {\"mediaType\": "
				   "\"application/vnd.oci.image.config.v1+json\", \"digest\": "
				   "\"%s\", \"size\": 1}, \"layers\": [%s]}",
				   config, layers);
	char *d = put_blob(dir, manifest);
	free(manifest);
	free(layers);
	free(config);
	return d;
}

/* index.json from its entries (a JSON array body). */
static void put_index(const char *dir, const char *entries)
{
	char *p = xasprintf("%s/index.json", dir);
	char *text = xasprintf("{\"schemaVersion\": 2, \"manifests\": [%s]}", entries);
	tf_write(p, text, strlen(text));
	free(text);
	free(p);
}

static char *named_entry(const char *digest, const char *ref)
{
	return xasprintf("{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", "
			 "\"digest\": \"%s\", \"size\": 1, \"annotations\": "
			 "{\"org.opencontainers.image.ref.name\": \"%s\"}}",
			 digest, ref);
}

static struct oci_image open_ok(const char *dir, const char *ref)
{
	struct oci_image img;
	struct err *err = NULL;
	if (oci_layout_open(dir, ref, &img, &err) < 0)
		fail_msg("%s", err_msg(err));
	return img;
}

static void open_fails(const char *dir, const char *ref, const char *want)
{
	struct oci_image img;
	struct err *err = NULL;
	assert_int_equal(oci_layout_open(dir, ref, &img, &err), -1);
	char *prefix = xasprintf("oci:%s: ", dir);
	if (strncmp(err_msg(err), prefix, strlen(prefix)) != 0 || !strstr(err_msg(err), want))
		fail_msg("message `%s` does not start with `%s` or lacks `%s`", err_msg(err),
			 prefix, want);
	assert_null(img.layer_paths);
	assert_null(img.manifest_digest);
	free(prefix);
	err_free(&err);
}

/* The layer blob's text, to check which layer a path is. */
static void assert_file_text(const char *path, const char *want)
{
	char buf[256] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	close(fd);
	assert_string_equal(buf, want);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_one_image(void **state)
{
	struct tf *t = *state;
	char *dir = tf_path(t, "layout");
	make_layout_dirs(dir);
	char *m = put_image(dir, "one", 3);
	char *entry = xasprintf("{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", "
				"\"digest\": \"%s\", \"size\": 1}", m);
	put_index(dir, entry);

	struct oci_image img = open_ok(dir, NULL);
	assert_string_equal(img.manifest_digest, m);
	assert_int_equal(img.n_layers, 3);
	assert_file_text(img.layer_paths[0], "layer 1 of one");
	assert_file_text(img.layer_paths[2], "layer 3 of one");
	assert_non_null(strstr(img.layer_paths[1], "/blobs/sha256/"));
	assert_file_text(img.config_path, "{\"config\": {\"Env\": [\"A=1\"]}}");
	oci_image_release(&img);
	assert_null(img.layer_paths);
	oci_image_release(&img); /* twice is fine */

	/* A missing blob is named, with its role. */
	struct oci_image again = open_ok(dir, NULL);
	char *layer2 = xstrdup(again.layer_paths[1]);
	oci_image_release(&again);
	assert_int_equal(unlink(layer2), 0);
	open_fails(dir, NULL, "the layer 2 of 3 blob sha256:");
	open_fails(dir, NULL, "is missing (no file blobs/sha256/");

	free(layer2);
	free(entry);
	free(m);
	free(dir);
}

static void test_by_ref(void **state)
{
	struct tf *t = *state;
	char *dir = tf_path(t, "layout");
	make_layout_dirs(dir);
	char *m1 = put_image(dir, "v1", 1);
	char *m2 = put_image(dir, "latest", 2);
	char *e1 = named_entry(m1, "v1");
	char *e2 = named_entry(m2, "latest");
	char *entries = xasprintf("%s, %s", e1, e2);
	put_index(dir, entries);

	struct oci_image img = open_ok(dir, "v1");
	assert_string_equal(img.manifest_digest, m1);
	assert_int_equal(img.n_layers, 1);
	assert_file_text(img.layer_paths[0], "layer 1 of v1");
	oci_image_release(&img);
	img = open_ok(dir, "latest");
	assert_string_equal(img.manifest_digest, m2);
	assert_int_equal(img.n_layers, 2);
	oci_image_release(&img);

	open_fails(dir, "v2", "index.json: no image is named `v2` (the index has: v1, latest)");
	open_fails(dir, NULL, "index.json: holds 2 images; name the one to use (the index has: "
			      "v1, latest)");

	free(entries);
	free(e1);
	free(e2);
	free(m1);
	free(m2);
	free(dir);
}

/* index.json -> an index blob -> the manifest for this platform. */
static void test_nested_index(void **state)
{
	struct tf *t = *state;
	char *dir = tf_path(t, "layout");
	make_layout_dirs(dir);
	char *mine = put_image(dir, "mine", 1);
	char *other = put_image(dir, "other", 1);
	char *inner = xasprintf(
		"{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.index.v1+json\", "
		"\"manifests\": [{\"digest\": \"%s\", \"platform\": {\"os\": \"linux\", "
		"\"architecture\": \"nosucharch\"}}, {\"digest\": \"%s\", \"platform\": {\"os\": "
		"\"linux\", \"architecture\": \"%s\"}}]}",
		other, mine, image_platform_arch());
	char *idx = put_blob(dir, inner);
	char *entry = named_entry(idx, "multi");
	put_index(dir, entry);
	struct oci_image img = open_ok(dir, "multi");
	assert_string_equal(img.manifest_digest, mine);
	assert_file_text(img.layer_paths[0], "layer 1 of mine");
	oci_image_release(&img);

	/* The chosen manifest's blob is gone. */
	char *path = xasprintf("%s/blobs/sha256/%s", dir, mine + 7);
	assert_int_equal(unlink(path), 0);
	open_fails(dir, "multi", "manifest sha256:");
	open_fails(dir, "multi", "cannot find its blob blobs/sha256/");

	free(path);
	free(entry);
	free(idx);
	free(inner);
	free(other);
	free(mine);
	free(dir);
}

static void test_not_a_layout(void **state)
{
	struct tf *t = *state;
	char *dir = tf_path(t, "layout");
	open_fails(dir, NULL, "cannot open the image layout directory: No such file");
	assert_int_equal(mkdir(dir, 0755), 0);
	open_fails(dir, NULL, "oci-layout is missing: this is not an OCI image layout");
	char *p = xasprintf("%s/oci-layout", dir);
	tf_write(p, "{\"imageLayoutVersion\": \"2.0.0\"}", 31);
	open_fails(dir, NULL, "oci-layout: field `imageLayoutVersion` is `2.0.0`");
	tf_write(p, "{}", 2);
	open_fails(dir, NULL, "oci-layout: field `imageLayoutVersion` is missing");
	tf_write(p, "{\"imageLayoutVersion\": \"1.0.0\"}", 31);
	open_fails(dir, NULL, "index.json is missing");
	put_index(dir, "{\"digest\": \"sha512:00\"}");
	open_fails(dir, NULL, "index.json: field `manifests[0].digest` is `sha512:00`: only "
			      "sha256 digests are supported");
	char *file = tf_path(t, "plain-file");
	tf_write(file, "x", 1);
	open_fails(file, NULL, "is not a directory");
	free(file);
	free(p);
	free(dir);
}

/* ---- oci-archive -------------------------------------------------------------- */

static void test_archive(void **state)
{
	struct tf *t = *state;
	/* A layout written straight into a tar, the way skopeo's oci-archive
	 * holds it. */
	char *src = tf_path(t, "src");
	make_layout_dirs(src);
	char *m = put_image(src, "arch", 1);
	char *entry = named_entry(m, "latest");
	put_index(src, entry);
	char *tar = tf_path(t, "img.tar");
	char *cmd = xasprintf("tar -C '%s' -cf '%s' .", src, tar);
	assert_int_equal(system(cmd), 0);

	char *dest = tf_path(t, "unpacked");
	struct err *err = NULL;
	if (oci_archive_unpack(tar, dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	struct oci_image img = open_ok(dest, "latest");
	assert_string_equal(img.manifest_digest, m);
	assert_file_text(img.layer_paths[0], "layer 1 of arch");
	oci_image_release(&img);

	/* The destination must not exist. */
	assert_int_equal(oci_archive_unpack(tar, dest, &err), -1);
	assert_non_null(strstr(err_msg(err), "cannot make the directory"));
	assert_non_null(strstr(err_msg(err), "File exists"));
	err_free(&err);
	/* A missing archive, and a directory given as one. */
	char *missing = tf_path(t, "nope.tar");
	char *dest2 = tf_path(t, "unpacked2");
	assert_int_equal(oci_archive_unpack(missing, dest2, &err), -1);
	assert_non_null(strstr(err_msg(err), "nope.tar: cannot open the archive: No such file"));
	err_free(&err);
	assert_int_equal(oci_archive_unpack(src, dest2, &err), -1);
	assert_non_null(strstr(err_msg(err), "is a directory; for an image layout directory "
					     "write oci:"));
	err_free(&err);
	struct stat st;
	assert_int_equal(stat(dest2, &st), -1);

	free(dest2);
	free(missing);
	free(dest);
	free(cmd);
	free(tar);
	free(entry);
	free(m);
	free(src);
}

static void test_archive_malicious(void **state)
{
	struct tf *t = *state;
	const struct tf_ent dotdot[] = {
		{ "oci-layout", 'f', "{\"imageLayoutVersion\": \"1.0.0\"}", 0 },
		{ "blobs/../../escaped", 'f', "gotcha", 0 },
	};
	const struct tf_ent absolute[] = { { "/tmp/a2-absolute-escape", 'f', "gotcha", 0 } };
	const struct tf_ent link_out[] = {
		{ "blobs", 'l', "../../..", 0 },
	};
	const struct tf_ent through_link[] = {
		{ "blobs", 'l', "/tmp", 0 },
		{ "blobs/a2-through-link", 'f', "gotcha", 0 },
	};
	const struct {
		const struct tf_ent *ents;
		size_t n;
		const char *want;
	} cases[] = {
		{ dotdot, 2, "contains a `..` component" },
		{ absolute, 1, "has an absolute path" },
		{ link_out, 1, "climbs above the layer root" },
		{ through_link, 2, "which is a symbolic link; refusing to write through it" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tar = tf_path(t, "evil.tar");
		char *dest = tf_path(t, "dest");
		tf_write_tar(tar, cases[i].ents, cases[i].n, TF_PLAIN);
		struct err *err = NULL;
		assert_int_equal(oci_archive_unpack(tar, dest, &err), -1);
		if (!strstr(err_msg(err), cases[i].want) || !strstr(err_msg(err), "oci-archive:"))
			fail_msg("case %zu: `%s` lacks `%s`", i, err_msg(err), cases[i].want);
		err_free(&err);
		/* Nothing escaped, and the partial tree is gone. */
		struct stat st;
		char *escaped = tf_path(t, "escaped");
		assert_int_equal(lstat(escaped, &st), -1);
		assert_int_equal(lstat("/tmp/a2-absolute-escape", &st), -1);
		assert_int_equal(lstat("/tmp/a2-through-link", &st), -1);
		assert_int_equal(lstat(dest, &st), -1);
		free(escaped);
		free(dest);
		free(tar);
	}
}

static void test_split_name(void **state)
{
	(void)state;
	const struct {
		const char *rest, *path, *ref;
	} ok[] = {
		{ "/srv/img", "/srv/img", NULL },
		{ "/srv/img:v1", "/srv/img", "v1" },
		{ "relative/dir:latest", "relative/dir", "latest" },
		{ "/a:b:c", "/a", "b:c" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *path, *ref;
		struct err *err = NULL;
		if (oci_split_name(ok[i].rest, &path, &ref, &err) < 0)
			fail_msg("%s: %s", ok[i].rest, err_msg(err));
		assert_string_equal(path, ok[i].path);
		if (ok[i].ref)
			assert_string_equal(ref, ok[i].ref);
		else
			assert_null(ref);
		free(path);
		free(ref);
	}
	const struct {
		const char *rest, *want;
	} bad[] = {
		{ "", "the image's path is empty" },
		{ ":v1", "the image's path is empty" },
		{ "/srv/img:", "the image name after `:` is empty" },
		{ "/srv/img:a b", "contains a space or a control character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = (char *)"x", *ref = (char *)"y";
		struct err *err = NULL;
		assert_int_equal(oci_split_name(bad[i].rest, &path, &ref, &err), -1);
		if (!strstr(err_msg(err), bad[i].want))
			fail_msg("`%s`: `%s` lacks `%s`", bad[i].rest, err_msg(err), bad[i].want);
		assert_null(path);
		assert_null(ref);
		err_free(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_image, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_by_ref, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_nested_index, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_not_a_layout, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_archive, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_archive_malicious, tf_setup, tf_teardown),
		cmocka_unit_test(test_split_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
