/* Unit tests for artifacts/image_flatten: an image's layers as one tar. */
#include "image_fixture.h"

#include <limits.h>

#include "artifacts/image_flatten.h"
#include "artifacts/image_oci.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A layer of a test image. */
struct layer {
	const struct tf_ent *ents;
	size_t n;
	enum tf_compress c;
};

/* Writes the layers as t->dir/layerN.tar, flattens them into
 * t->dir/<out>, and returns the output's path. */
static char *flatten_to(struct tf *t, const struct layer *layers, size_t n, const char *out)
{
	char **paths = xcalloc(n, sizeof(*paths));
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "layer%zu.tar", i + 1);
		paths[i] = tf_path(t, name);
		tf_write_tar(paths[i], layers[i].ents, layers[i].n, layers[i].c);
	}
	char *out_path = tf_path(t, out);
	struct err *err = NULL;
	if (image_flatten((const char *const *)paths, n, out_path, &err) < 0)
		fail_msg("%s", err_msg(err));
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return out_path;
}

/* Flattens and returns the listing of the result. */
static char *flatten_list(struct tf *t, const struct layer *layers, size_t n)
{
	char *out = flatten_to(t, layers, n, "flat.tar");
	char *list = tf_list_tar(out);
	free(out);
	return list;
}

#define L(ents) { ents, N(ents), TF_PLAIN }

static void expect_list(struct tf *t, const struct layer *layers, size_t n, const char *want)
{
	char *got = flatten_list(t, layers, n);
	assert_string_equal(got, want);
	free(got);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_replacement(void **state)
{
	static const struct tf_ent l1[] = {
		{ "./", 'd', NULL, 0 },
		{ "./a/", 'd', NULL, 0 },
		{ "./a/f", 'f', "one", 0644 },
		{ "./a/g", 'f', "gee", 0 },
		{ "./a/l", 'l', "f", 0 },
	};
	/* Other spellings of the same paths: normalised alike. */
	static const struct tf_ent l2[] = {
		{ "a//f", 'f', "two", 0600 },
		{ "a/l", 'l', "g", 0 },
		{ "a/", 'd', NULL, 0700 },
	};
	const struct layer layers[] = { L(l1), L(l2) };
	/* The bottom layer's surviving entries first, in its order; the
	 * directory a/ comes from layer 2 (its metadata wins). */
	expect_list(*state, layers, 2,
		    "./ d\n"
		    "a/g f=gee 644\n"
		    "a/f f=two 600\n"
		    "a/l l->g\n"
		    "a/ d\n");
}

static void test_whiteout_file_and_dir(void **state)
{
	static const struct tf_ent l1[] = {
		{ "etc/", 'd', NULL, 0 },      { "etc/x", 'f', "x", 0 },
		{ "etc/y", 'f', "y", 0 },      { "d/", 'd', NULL, 0 },
		{ "d/a", 'f', "a", 0 },        { "d/sub/", 'd', NULL, 0 },
		{ "d/sub/b", 'f', "b", 0 },    { "dd/", 'd', NULL, 0 },
		{ "dd/keep", 'f', "k", 0 },
	};
	static const struct tf_ent l2[] = {
		{ "etc/.wh.x", 'f', NULL, 0 },
		{ ".wh.d", 'f', NULL, 0 },
		{ "etc/.wh.nothing-there", 'f', NULL, 0 },
	};
	/* A later layer makes d again: only its new content is there. */
	static const struct tf_ent l3[] = {
		{ "d/", 'd', NULL, 0 },
		{ "d/new", 'f', "n", 0 },
	};
	const struct layer layers[] = { L(l1), L(l2), L(l3) };
	expect_list(*state, layers, 2,
		    "etc/ d\n"
		    "etc/y f=y 644\n"
		    "dd/ d\n"
		    "dd/keep f=k 644\n");
	expect_list(*state, layers, 3,
		    "etc/ d\n"
		    "etc/y f=y 644\n"
		    "dd/ d\n"
		    "dd/keep f=k 644\n"
		    "d/ d\n"
		    "d/new f=n 644\n");
}

static void test_opaque_dir(void **state)
{
	static const struct tf_ent l1[] = {
		{ "o/", 'd', NULL, 0 },
		{ "o/old", 'f', "old", 0 },
		{ "o/sub/", 'd', NULL, 0 },
		{ "o/sub/x", 'f', "x", 0 },
		{ "p/", 'd', NULL, 0 },
		{ "p/stays", 'f', "s", 0 },
	};
	static const struct tf_ent l2[] = {
		{ "o/", 'd', NULL, 0750 },
		{ "o/.wh..wh..opq", 'f', NULL, 0 },
		{ "o/new", 'f', "new", 0 },
		/* aufs bookkeeping names are dropped */
		{ ".wh..wh.plnk/", 'd', NULL, 0 },
		/* an opaque marker without its directory entry: the lower
		 * directory's entry stays, its content goes */
		{ "p/.wh..wh..opq", 'f', NULL, 0 },
	};
	const struct layer layers[] = { L(l1), L(l2) };
	expect_list(*state, layers, 2,
		    "p/ d\n"
		    "o/ d\n"
		    "o/new f=new 644\n");
}

static void test_type_changes(void **state)
{
	static const struct tf_ent l1[] = {
		{ "p/", 'd', NULL, 0 },   { "p/a", 'f', "a", 0 },  { "p/s/", 'd', NULL, 0 },
		{ "p/s/b", 'f', "b", 0 }, { "q", 'f', "q", 0 },    { "r/", 'd', NULL, 0 },
		{ "r/old", 'f', "o", 0 }, { "s", 'l', "/elsewhere", 0 },
	};
	static const struct tf_ent l2[] = {
		{ "p", 'f', "now a file", 0 }, /* dir -> file: p/a and p/s go */
		{ "q/", 'd', NULL, 0 },        /* file -> dir */
		{ "q/z", 'f', "z", 0 },
		{ "r", 'l', "p", 0 },          /* dir -> symlink ... */
		{ "s/x", 'f', "x", 0 },        /* under a symlink: s is a directory now */
	};
	static const struct tf_ent l3[] = {
		{ "r/", 'd', NULL, 0 },        /* ... -> dir again: r/old stays gone */
		{ "r/new", 'f', "n", 0 },
	};
	const struct layer layers[] = { L(l1), L(l2), L(l3) };
	expect_list(*state, layers, 3,
		    "p f=now a file 644\n"
		    "q/ d\n"
		    "q/z f=z 644\n"
		    "s/x f=x 644\n"
		    "r/ d\n"
		    "r/new f=n 644\n");
}

static void test_devices_dropped(void **state)
{
	static const struct tf_ent l1[] = {
		{ "dev/", 'd', NULL, 0 },
		{ "dev/null", 'f', "not a device yet", 0 },
		{ "dev/keep", 'f', "k", 0 },
	};
	static const struct tf_ent l2[] = {
		{ "dev/null", 'c', NULL, 0 }, /* replaces the file, is not written */
		{ "dev/fifo", 'p', NULL, 0 },
	};
	const struct layer layers[] = { L(l1), L(l2) };
	expect_list(*state, layers, 2, "dev/ d\ndev/keep f=k 644\n");
}

static void test_hardlinks(void **state)
{
	static const struct tf_ent l1[] = {
		{ "h/", 'd', NULL, 0 },
		{ "h/orig", 'f', "data", 0755 },
		{ "h/link", 'h', "h/orig", 0 },
		{ "h/link2", 'h', "./h/link", 0 },
		{ "k/", 'd', NULL, 0 },
		{ "k/orig", 'f', "kept", 0 },
		{ "k/link", 'h', "k/orig", 0 },
		/* replaced later in its own tar: the link keeps the old content */
		{ "m/", 'd', NULL, 0 },
		{ "m/orig", 'f', "first", 0 },
		{ "m/link", 'h', "m/orig", 0 },
		{ "m/orig", 'f', "second", 0 },
		/* a link to a device is dropped with it */
		{ "m/dev", 'c', NULL, 0 },
		{ "m/devlink", 'h', "m/dev", 0 },
	};
	static const struct tf_ent l2[] = {
		{ "h/.wh.orig", 'f', NULL, 0 },
		/* a hard link to a file of a layer beneath that survives */
		{ "k/lower-link", 'h', "k/orig", 0 },
	};
	const struct layer layers[] = { L(l1), L(l2) };
	/* h/link becomes a copy of the deleted h/orig (with its mode), and
	 * h/link2 links to that copy. */
	expect_list(*state, layers, 2,
		    "h/ d\n"
		    "h/link f=data 755\n"
		    "h/link2 h->h/link\n"
		    "k/ d\n"
		    "k/orig f=kept 644\n"
		    "k/link h->k/orig\n"
		    "m/ d\n"
		    "m/link f=first 644\n"
		    "m/orig f=second 644\n"
		    "k/lower-link h->k/orig\n");
}

static void test_compressed_layers(void **state)
{
	static const struct tf_ent l1[] = {
		{ "bin/", 'd', NULL, 0 },
		{ "bin/a", 'f', "gzip layer", 0755 },
		{ "bin/b", 'f', "to delete", 0 },
	};
	static const struct tf_ent l2[] = {
		{ "bin/.wh.b", 'f', NULL, 0 },
		{ "bin/c", 'f', "zstd layer", 0 },
	};
	static const struct tf_ent l3[] = {
		{ "bin/d", 'f', "plain layer", 0 },
	};
	const struct layer layers[] = {
		{ l1, N(l1), TF_GZIP },
		{ l2, N(l2), TF_ZSTD },
		{ l3, N(l3), TF_PLAIN },
	};
	expect_list(*state, layers, 3,
		    "bin/ d\n"
		    "bin/a f=gzip layer 755\n"
		    "bin/c f=zstd layer 644\n"
		    "bin/d f=plain layer 644\n");
}

static char *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	char *buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* A file bigger than the copy buffer, hard-linked so that the copy goes
 * through the spool as well. */
static char *big_content(void)
{
	size_t n = 3u << 20;
	char *s = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + (i * 7 + i / 4093) % 26);
	s[n] = '\0';
	return s;
}

static void test_deterministic_and_extractable(void **state)
{
	struct tf *t = *state;
	char *big = big_content();
	const struct tf_ent l1[] = {
		{ "usr/", 'd', NULL, 0 },
		{ "usr/big", 'f', big, 0644 },
		{ "usr/big-link", 'h', "usr/big", 0 },
		{ "usr/lib/", 'd', NULL, 0 },
		{ "usr/lib/very/long/path/name/that/needs/a/pax/header/because/it/is/longer/"
		  "than/one/hundred/bytes/file.txt",
		  'f', "long", 0 },
		{ "usr/sh", 'l', "/bin/busybox", 0 },
	};
	const struct tf_ent l2[] = {
		{ "usr/.wh.big", 'f', NULL, 0 },
		{ "usr/lib/x", 'f', "x", 0 },
	};
	const struct layer layers[] = { { l1, N(l1), TF_GZIP }, { l2, N(l2), TF_ZSTD } };
	char *a = flatten_to(t, layers, 2, "a.tar");
	char *b = flatten_to(t, layers, 2, "b.tar");
	size_t la, lb;
	char *ca = read_all(a, &la), *cb = read_all(b, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ca, cb, la);
	free(ca);
	free(cb);

	/* artifacts/extract takes the result. */
	char *dest = tf_path(t, "root");
	assert_int_equal(mkdir(dest, 0755), 0);
	struct err *err = NULL;
	if (extract_tar(a, dest, &err) < 0)
		fail_msg("%s", err_msg(err));
	char *p = xasprintf("%s/usr/big-link", dest);
	size_t len;
	char *got = read_all(p, &len);
	assert_int_equal(len, strlen(big));
	assert_memory_equal(got, big, len);
	free(got);
	free(p);
	p = xasprintf("%s/usr/big", dest);
	struct stat st;
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	p = xasprintf("%s/usr/sh", dest);
	char target[64] = { 0 };
	assert_int_equal(readlink(p, target, sizeof(target) - 1), 12);
	assert_string_equal(target, "/bin/busybox");
	free(p);
	p = xasprintf("%s/usr/lib/very/long/path/name/that/needs/a/pax/header/because/it/is/"
		      "longer/than/one/hundred/bytes/file.txt", dest);
	assert_int_equal(lstat(p, &st), 0);
	free(p);

	free(dest);
	free(a);
	free(b);
	free(big);
}

/* Expects flattening the layers to fail with every want in the message. */
static void expect_failure(struct tf *t, const struct layer *layers, size_t n, ...)
{
	char **paths = xcalloc(n, sizeof(*paths));
	for (size_t i = 0; i < n; i++) {
		paths[i] = xasprintf("%s/bad%zu.tar", t->dir, i + 1);
		tf_write_tar(paths[i], layers[i].ents, layers[i].n, layers[i].c);
	}
	char *out = tf_path(t, "bad-out.tar");
	struct err *err = NULL;
	assert_int_equal(image_flatten((const char *const *)paths, n, out, &err), -1);
	va_list ap;
	va_start(ap, n);
	for (const char *want; (want = va_arg(ap, const char *));)
		if (!strstr(err_msg(err), want))
			fail_msg("message `%s` does not contain `%s`", err_msg(err), want);
	va_end(ap);
	err_free(&err);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(out);
}

static void test_errors(void **state)
{
	struct tf *t = *state;
	static const struct tf_ent ok[] = { { "a", 'f', "a", 0 } };
	static const struct tf_ent dotdot[] = { { "a/../../etc/passwd", 'f', "x", 0 } };
	static const struct tf_ent absolute[] = { { "/etc/passwd", 'f', "x", 0 } };
	static const struct tf_ent bad_link[] = { { "l", 'h', "../x", 0 } };
	static const struct tf_ent bad_wh[] = { { "d/.wh.", 'f', NULL, 0 } };
	static const struct tf_ent stray_link[] = { { "l", 'h', "nowhere", 0 } };

	const struct layer l_dotdot[] = { L(ok), L(dotdot) };
	expect_failure(t, l_dotdot, 2, "layer 2 (", "bad2.tar): entry `a/../../etc/passwd`",
		       "contains a `..` component", NULL);
	const struct layer l_abs[] = { L(absolute) };
	expect_failure(t, l_abs, 1, "layer 1 (", "entry `/etc/passwd` is an absolute path", NULL);
	const struct layer l_link[] = { L(bad_link) };
	expect_failure(t, l_link, 1, "entry `l`: hard link target `../x` contains a `..`", NULL);
	const struct layer l_wh[] = { L(bad_wh) };
	expect_failure(t, l_wh, 1, "entry `d/.wh.` is a whiteout that names nothing", NULL);
	const struct layer l_stray[] = { L(stray_link) };
	expect_failure(t, l_stray, 1,
		       "entry `l` is a hard link to `nowhere`, which is neither an earlier entry",
		       NULL);

	/* A missing layer and a layer that is not a tar. */
	char *missing = tf_path(t, "missing.tar");
	char *junk = tf_path(t, "junk.tar");
	tf_write(junk, "this is not a tar file at all, not even close........", 54);
	char *out = tf_path(t, "out.tar");
	struct err *err = NULL;
	const char *paths[] = { missing };
	assert_int_equal(image_flatten(paths, 1, out, &err), -1);
	assert_non_null(strstr(err_msg(err), "layer 1 ("));
	assert_non_null(strstr(err_msg(err), "missing.tar): cannot open it"));
	err_free(&err);
	paths[0] = junk;
	assert_int_equal(image_flatten(paths, 1, out, &err), -1);
	assert_non_null(strstr(err_msg(err),
			       "junk.tar): is not a tar file (plain, gzip or zstd compressed)"));
	err_free(&err);
	/* An unwritable output. */
	char *ok_tar = tf_path(t, "ok.tar");
	tf_write_tar(ok_tar, ok, 1, TF_PLAIN);
	paths[0] = ok_tar;
	char *nodir = tf_path(t, "no/such/dir/out.tar");
	assert_int_equal(image_flatten(paths, 1, nodir, &err), -1);
	assert_non_null(strstr(err_msg(err), "cannot create the flattened image"));
	err_free(&err);
	free(nodir);
	free(ok_tar);
	free(out);
	free(junk);
	free(missing);
}

static void test_empty(void **state)
{
	struct tf *t = *state;
	/* No layers at all, and an empty (0-byte) layer blob. */
	char *out = tf_path(t, "empty.tar");
	struct err *err = NULL;
	if (image_flatten(NULL, 0, out, &err) < 0)
		fail_msg("%s", err_msg(err));
	char *list = tf_list_tar(out);
	assert_string_equal(list, "");
	free(list);
	char *blank = tf_path(t, "blank");
	tf_write(blank, "", 0);
	const char *paths[] = { blank };
	if (image_flatten(paths, 1, out, &err) < 0)
		fail_msg("%s", err_msg(err));
	list = tf_list_tar(out);
	assert_string_equal(list, "");
	free(list);
	free(blank);
	free(out);
}

/* ---- real layouts: umoci and skopeo ------------------------------------------ */

/* Three layers made by umoci (unpack, change the root, repack), so that the
 * whiteouts are a real tool's; then the same image recompressed with zstd
 * by skopeo, and as an oci-archive. */
static const char umoci_script[] =
	"set -e; umask 022; cd \"$1\"\n"
	"step() { umoci unpack --rootless --image oci:img b >/dev/null; R=b/rootfs; }\n"
	"done_() { umoci repack --image oci:img b; rm -rf b; }\n"
	"umoci init --layout oci; umoci new --image oci:img\n"
	"step; mkdir -p $R/etc $R/data/sub $R/keep $R/opq/inner\n"
	"printf hello > $R/etc/motd; printf gone > $R/etc/gone; printf x > $R/data/sub/x\n"
	"printf k > $R/keep/k; printf old > $R/opq/old; printf deep > $R/opq/inner/deep\n"
	"ln -s motd $R/etc/link; printf orig > $R/etc/orig; ln $R/etc/orig $R/etc/hard; done_\n"
	"step; rm $R/etc/gone $R/etc/orig; rm -rf $R/data; printf new > $R/etc/new; done_\n"
	"step; rm -rf $R/opq; mkdir $R/opq; printf fresh > $R/opq/fresh; printf v2 > $R/keep/k\n"
	"done_\n"
	"if command -v skopeo >/dev/null; then\n"
	"  skopeo copy -q --dest-compress-format zstd --dest-compress oci:oci:img oci:zst:img\n"
	"  skopeo copy -q oci:oci:img oci-archive:img.tar:latest\n"
	"fi\n";

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text (freed) in sorted order. */
static char *sorted_lines(char *text)
{
	char *lines[64];
	size_t n = 0;
	for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(n < 64);
		lines[n++] = l;
	}
	qsort(lines, n, sizeof(*lines), by_str);
	char *out = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *joined = xasprintf("%s%s\n", out, lines[i]);
		free(out);
		out = joined;
	}
	free(text);
	return out;
}

static char *flatten_layout(const char *dir, const char *ref, const char *out)
{
	struct oci_image img;
	struct err *err = NULL;
	if (oci_layout_open(dir, ref, &img, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(img.n_layers, 3);
	if (image_flatten((const char *const *)img.layer_paths, img.n_layers, out, &err) < 0)
		fail_msg("%s", err_msg(err));
	oci_image_release(&img);
	size_t len;
	return read_all(out, &len);
}

static void test_umoci_layout(void **state)
{
	struct tf *t = *state;
	if (system("command -v umoci >/dev/null") != 0)
		skip();
	char *script = tf_path(t, "make-image.sh");
	tf_write(script, umoci_script, strlen(umoci_script));
	char *cmd = xasprintf("sh '%s' '%s'", script, t->dir);
	assert_int_equal(system(cmd), 0);

	char *layout = tf_path(t, "oci");
	char *out = tf_path(t, "umoci.tar");
	char *bytes = flatten_layout(layout, "img", out);
	char *list = sorted_lines(tf_list_tar(out));
	/* etc/gone, etc/orig, data/, opq/old and opq/inner are gone; keep/k
	 * is the third layer's. (Sorted: which layer a directory's entry
	 * comes from depends on umoci's view of its mtime.) */
	assert_string_equal(list, "./ d\n"
				  "etc/ d\n"
				  "etc/hard f=orig 644\n"
				  "etc/link l->motd\n"
				  "etc/motd f=hello 644\n"
				  "etc/new f=new 644\n"
				  "keep/ d\n"
				  "keep/k f=v2 644\n"
				  "opq/ d\n"
				  "opq/fresh f=fresh 644\n");
	free(list);

	char *zst = tf_path(t, "zst");
	struct stat st;
	if (stat(zst, &st) == 0) {
		/* zstd layers, and the archive: the same bytes. */
		char *out2 = tf_path(t, "zst.tar");
		char *bytes2 = flatten_layout(zst, "img", out2);
		assert_string_equal(bytes2, bytes);
		free(bytes2);
		char *archive = tf_path(t, "img.tar"), *unpacked = tf_path(t, "unpacked");
		struct err *err = NULL;
		if (oci_archive_unpack(archive, unpacked, &err) < 0)
			fail_msg("%s", err_msg(err));
		bytes2 = flatten_layout(unpacked, "latest", out2);
		assert_string_equal(bytes2, bytes);
		free(bytes2);
		free(unpacked);
		free(archive);
		free(out2);
	}
	free(zst);
	free(bytes);
	free(out);
	free(layout);
	free(cmd);
	free(script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replacement, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_whiteout_file_and_dir, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_opaque_dir, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_type_changes, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_devices_dropped, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_hardlinks, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_compressed_layers, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_deterministic_and_extractable, tf_setup,
						tf_teardown),
		cmocka_unit_test_setup_teardown(test_errors, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_empty, tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_umoci_layout, tf_setup, tf_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
