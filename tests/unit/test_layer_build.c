/* Unit tests for artifacts/layer_build: every layer kind and prefix option,
 * the tar layout, determinism, the layer cache, errors. Uses a real store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/layer_build.h"
#include "artifacts/ldd.h"
#include "artifacts/store.h"
#include "core/err.h"

#define OLD_TIME 1600000000

static char tmpdir[PATH_MAX];  /* real path */
static char proj[PATH_MAX + 8];
static int n_stores;

/* ---- fixture ------------------------------------------------------------- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void put(const char *rel, const char *content, mode_t mode)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", proj, rel);
	sh("mkdir -p \"$(dirname '%s')\"", path);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	struct timespec ts[2] = { { OLD_TIME, 0 }, { OLD_TIME, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char t[PATH_MAX];
	snprintf(t, sizeof(t), "%s/test_layer_build.XXXXXX", base);
	if (!mkdtemp(t) || !realpath(t, tmpdir))
		return -1;
	snprintf(proj, sizeof(proj), "%s/proj", tmpdir);
	return mkdir(proj, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[2 * PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", tmpdir, tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

struct env {
	struct store *store;
	struct layer_builder *b;
	char root[PATH_MAX + 32];
};

/* A fresh store (own root, so own caches) and builder. */
static void env_open(struct env *e)
{
	snprintf(e->root, sizeof(e->root), "%s/store%d", tmpdir, n_stores++);
	struct err *err = NULL;
	if (store_open(&e->store, e->root, 1ull << 34, &err) < 0)
		fail_msg("store_open: %s", err_msg(err));
	assert_int_equal(layer_builder_new(&e->b, e->store, proj, &err), 0);
}

/* A new store and builder on the same root: what the next process sees. */
static void env_reopen(struct env *e)
{
	layer_builder_free(e->b);
	store_free(e->store);
	struct err *err = NULL;
	if (store_open(&e->store, e->root, 1ull << 34, &err) < 0)
		fail_msg("store_open: %s", err_msg(err));
	assert_int_equal(layer_builder_new(&e->b, e->store, proj, &err), 0);
}

static void env_close(struct env *e)
{
	layer_builder_free(e->b);
	store_free(e->store);
}

static void build_ok(struct env *e, const struct layer_spec *spec, struct digest *d)
{
	struct err *err = NULL;
	if (layer_build(e->b, spec, d, &err) < 0)
		fail_msg("layer_build: %s", err_msg(err));
	assert_true(store_has(e->store, d));
}

static char *build_err(struct env *e, const struct layer_spec *spec)
{
	struct err *err = NULL;
	struct digest d;
	assert_int_equal(layer_build(e->b, spec, &d, &err), -1);
	assert_non_null(err);
	char *msg = strdup(err->msg);
	err_free(&err);
	return msg;
}

/* The tar as text, one line per entry:
 *     "d 0755 dev", "f 0644 dev/null 0 <content>", "l 0777 a -> /x"
 * and checks what every entry must have: owner 0:0, no user/group names. */
static char *listing(struct env *e, const struct digest *d)
{
	char *path = store_blob_path(e->store, d);
	assert_non_null(path);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
	char *out = calloc(1, 1);
	size_t len = 0;
	struct archive_entry *ae;
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		assert_int_equal(archive_entry_uid(ae), 0);
		assert_int_equal(archive_entry_gid(ae), 0);
		const char *uname = archive_entry_uname(ae), *gname = archive_entry_gname(ae);
		assert_true(!uname || !uname[0]);
		assert_true(!gname || !gname[0]);
		char name[PATH_MAX];
		snprintf(name, sizeof(name), "%s", archive_entry_pathname(ae));
		size_t nl = strlen(name);
		if (nl && name[nl - 1] == '/')
			name[nl - 1] = '\0';
		assert_true(name[0] != '/');
		char line[2 * PATH_MAX + 128];
		unsigned perm = archive_entry_perm(ae);
		switch (archive_entry_filetype(ae)) {
		case AE_IFDIR:
			snprintf(line, sizeof(line), "d %04o %s\n", perm, name);
			break;
		case AE_IFLNK:
			snprintf(line, sizeof(line), "l %04o %s -> %s\n", perm, name,
				 archive_entry_symlink(ae));
			break;
		case AE_IFREG: {
			char content[48] = { 0 };
			ssize_t n = archive_read_data(a, content, sizeof(content) - 1);
			assert_true(n >= 0);
			if (archive_entry_size(ae) > 40)
				strcpy(content, "...");
			snprintf(line, sizeof(line), "f %04o %s %lld %s\n", perm, name,
				 (long long)archive_entry_size(ae), content);
			break;
		}
		default:
			fail_msg("unexpected entry type for %s", name);
		}
		out = realloc(out, len + strlen(line) + 1);
		strcpy(out + len, line);
		len += strlen(line);
	}
	archive_read_free(a);
	free(path);
	return out;
}

/* The mtime of one entry in the tar, or -1. */
static long long entry_mtime(struct env *e, const struct digest *d, const char *want)
{
	char *path = store_blob_path(e->store, d);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
	long long mtime = -1;
	struct archive_entry *ae;
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK)
		if (strcmp(archive_entry_pathname(ae), want) == 0)
			mtime = archive_entry_mtime(ae);
	archive_read_free(a);
	free(path);
	return mtime;
}

static void expect_listing(struct env *e, const struct digest *d, const char *want)
{
	char *got = listing(e, d);
	assert_string_equal(got, want);
	free(got);
}

/* ---- kinds ---------------------------------------------------------------- */

static void test_stubs(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	char *stubs[] = { "/dev/{null,zero}", "/{proc,tmp}/", "/usr/bin/" };
	struct layer_spec spec = { .kind = LAYER_STUBS, .paths = stubs, .n_paths = 3 };
	struct digest d;
	build_ok(&e, &spec, &d);
	expect_listing(&e, &d,
		       "d 0755 dev\n"
		       "f 0644 dev/null 0 \n"
		       "f 0644 dev/zero 0 \n"
		       "d 0755 proc\n"
		       "d 0755 tmp\n"
		       "d 0755 usr\n"
		       "d 0755 usr/bin\n");
	assert_int_equal(entry_mtime(&e, &d, "dev/null"), 0);
	env_close(&e);
}

static void test_symlinks(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	char long_target[200];
	memset(long_target, 'x', 150);
	long_target[0] = '/';
	long_target[150] = '\0';
	struct symlink_spec links[] = { { "/a/b/c", "/x/y" }, { "d", "../e" },
					{ "/long", long_target } };
	struct layer_spec spec = { .kind = LAYER_SYMLINKS, .symlinks = links, .n_symlinks = 3 };
	struct digest d;
	build_ok(&e, &spec, &d);
	char want[1024];
	snprintf(want, sizeof(want),
		 "d 0755 a\n"
		 "d 0755 a/b\n"
		 "l 0777 a/b/c -> /x/y\n"
		 "l 0777 d -> ../e\n"
		 "l 0777 long -> %s\n",
		 long_target);
	expect_listing(&e, &d, want);
	env_close(&e);
}

static void test_paths(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	put("data/f.txt", "abc", 0640);
	sh("mkdir -p '%s/data/sub' && chmod 0750 '%s/data/sub'", proj, proj);
	sh("ln -sfn f.txt '%s/data/link'", proj);
	put("abs.txt", "absolute", 0604);
	char abs[PATH_MAX + 16];
	snprintf(abs, sizeof(abs), "%s/abs.txt", proj);
	put("data/caf\xc3\xa9", "c", 0644); /* names are bytes */
	char *paths[] = { "data/f.txt", "data/sub", "data/link", abs, "data/caf\xc3\xa9" };
	struct layer_spec spec = { .kind = LAYER_PATHS, .paths = paths, .n_paths = 5 };
	struct digest d;
	build_ok(&e, &spec, &d);
	char *got = listing(&e, &d);
	assert_non_null(strstr(got, "f 0640 data/f.txt 3 abc\n"));
	assert_non_null(strstr(got, "l 0777 data/link -> f.txt\n"));
	assert_non_null(strstr(got, "d 0750 data/sub\n"));
	assert_non_null(strstr(got, "f 0644 data/caf\xc3\xa9 1 c\n"));
	/* The absolute path keeps its directories. */
	char want_abs[2 * PATH_MAX];
	snprintf(want_abs, sizeof(want_abs), "f 0604 %s 8 absolute\n", abs + 1);
	assert_non_null(strstr(got, want_abs));
	free(got);
	assert_int_equal(entry_mtime(&e, &d, "data/f.txt"), OLD_TIME);

	/* follow_symlinks: the link becomes a file with the target's content. */
	char *one[] = { "data/link" };
	struct layer_spec follow = { .kind = LAYER_PATHS, .paths = one, .n_paths = 1,
				     .prefix.follow_symlinks = true };
	build_ok(&e, &follow, &d);
	expect_listing(&e, &d, "d 0755 data\nf 0640 data/link 3 abc\n");
	env_close(&e);
}

static void test_glob(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	put("src/a.py", "a", 0644);
	put("src/b.txt", "b", 0644);
	put("src/pkg/c.py", "c", 0600);
	put("src/pkg/deep/d.py", "d", 0644);
	put("other/e.py", "e", 0644);
	sh("ln -sfn a.py '%s/src/link.py'", proj);
	struct layer_spec spec = { .kind = LAYER_GLOB, .glob = "src/**/*.py" };
	struct digest d;
	build_ok(&e, &spec, &d);
	expect_listing(&e, &d,
		       "d 0755 src\n"
		       "f 0644 src/a.py 1 a\n"
		       "l 0777 src/link.py -> a.py\n"
		       "d 0755 src/pkg\n"
		       "f 0600 src/pkg/c.py 1 c\n"
		       "d 0755 src/pkg/deep\n"
		       "f 0644 src/pkg/deep/d.py 1 d\n");

	spec.prefix.follow_symlinks = true;
	spec.glob = "src/*.py";
	build_ok(&e, &spec, &d);
	expect_listing(&e, &d,
		       "d 0755 src\n"
		       "f 0644 src/a.py 1 a\n"
		       "f 0644 src/link.py 1 a\n");

	/* Nothing matches: an empty layer, not an error. */
	struct layer_spec none = { .kind = LAYER_GLOB, .glob = "nowhere/*.c" };
	build_ok(&e, &none, &d);
	expect_listing(&e, &d, "");

	/* Pruned directories are never opened: an unreadable one does not
	 * matter (root reads it anyway, so this bites only unprivileged). */
	sh("mkdir -p '%s/src/closed/x' && chmod 000 '%s/src/closed'", proj, proj);
	struct layer_spec pruned = { .kind = LAYER_GLOB, .glob = "src/pkg/**/*.py" };
	build_ok(&e, &pruned, &d);
	expect_listing(&e, &d,
		       "d 0755 src\n"
		       "d 0755 src/pkg\n"
		       "f 0600 src/pkg/c.py 1 c\n"
		       "d 0755 src/pkg/deep\n"
		       "f 0644 src/pkg/deep/d.py 1 d\n");
	struct layer_spec alt = { .kind = LAYER_GLOB, .glob = "src/{pkg,other}/*.py" };
	build_ok(&e, &alt, &d);
	expect_listing(&e, &d, "d 0755 src\nd 0755 src/pkg\nf 0600 src/pkg/c.py 1 c\n");
	sh("chmod 755 '%s/src/closed'", proj);

	struct layer_spec absolute = { .kind = LAYER_GLOB, .glob = "/etc/*" };
	char *msg = build_err(&e, &absolute);
	assert_string_equal(msg, "layer `glob`: glob pattern /etc/* must be relative to the "
				 "project directory");
	free(msg);
	env_close(&e);
}

static void test_prefix_options(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	put("layers/a/a.bin", "bin", 0755);
	char *paths[] = { "layers/a/a.bin" };
	struct layer_spec spec = { .kind = LAYER_PATHS, .paths = paths, .n_paths = 1 };
	struct digest d;

	spec.prefix.strip_prefix = "layers/";
	build_ok(&e, &spec, &d);
	expect_listing(&e, &d, "d 0755 a\nf 0755 a/a.bin 3 bin\n");

	spec.prefix.strip_prefix = NULL;
	spec.prefix.prepend_prefix = "test/";
	build_ok(&e, &spec, &d);
	expect_listing(&e, &d,
		       "d 0755 test\nd 0755 test/layers\nd 0755 test/layers/a\n"
		       "f 0755 test/layers/a/a.bin 3 bin\n");

	/* strip first, then prepend */
	spec.prefix.strip_prefix = "layers";
	spec.prefix.prepend_prefix = "/opt";
	build_ok(&e, &spec, &d);
	expect_listing(&e, &d, "d 0755 opt\nd 0755 opt/a\nf 0755 opt/a/a.bin 3 bin\n");

	/* canonicalize: the absolute real path; then strip the temp dir. */
	spec.prefix.canonicalize = true;
	spec.prefix.strip_prefix = tmpdir;
	spec.prefix.prepend_prefix = NULL;
	build_ok(&e, &spec, &d);
	expect_listing(&e, &d,
		       "d 0755 proj\nd 0755 proj/layers\nd 0755 proj/layers/a\n"
		       "f 0755 proj/layers/a/a.bin 3 bin\n");

	/* canonicalize resolves symlinked directories (the book's /var/py). */
	put("../var/py/m.py", "m", 0644);
	sh("ln -sfn ../../var/py '%s/layers/py'", proj);
	struct layer_spec g = { .kind = LAYER_GLOB, .glob = "layers/py/*.py" };
	g.prefix.canonicalize = true;
	g.prefix.strip_prefix = tmpdir;
	build_ok(&e, &g, &d);
	expect_listing(&e, &d, "d 0755 var\nd 0755 var/py\nf 0644 var/py/m.py 1 m\n");

	/* A path outside strip_prefix is an error. */
	spec.prefix.canonicalize = false;
	spec.prefix.strip_prefix = "nope/";
	char *msg = build_err(&e, &spec);
	assert_string_equal(msg, "layer `paths`: layers/a/a.bin does not start with strip_prefix "
				 "`nope/`; fix strip_prefix or the path in the job spec");
	free(msg);
	/* Component-wise: "lay" is not a prefix of "layers". */
	spec.prefix.strip_prefix = "lay";
	msg = build_err(&e, &spec);
	free(msg);
	env_close(&e);
}

static void test_tar_layer(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	put("layer.tar", "pretend this is a tar", 0644);
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/layer.tar", proj);
	struct layer_spec spec = { .kind = LAYER_TAR, .path = "layer.tar" };
	struct digest d, want;
	assert_int_equal(digest_path(path, &want, NULL), 0);
	build_ok(&e, &spec, &d);
	assert_true(digest_equal(&d, &want));
	assert_int_equal(layer_builder_stats(e.b).files_read, 1);
	build_ok(&e, &spec, &d);
	assert_true(digest_equal(&d, &want));
	assert_int_equal(layer_builder_stats(e.b).files_read, 1);
	assert_int_equal(layer_builder_stats(e.b).cache_hits, 1);

	env_reopen(&e); /* the next process: the path cache answers */
	build_ok(&e, &spec, &d);
	assert_true(digest_equal(&d, &want));
	assert_int_equal(layer_builder_stats(e.b).files_read, 0);

	struct layer_spec missing = { .kind = LAYER_TAR, .path = "missing.tar" };
	char *msg = build_err(&e, &missing);
	assert_string_equal(msg, "layer `tar`: missing.tar: No such file or directory; fix the "
				 "path in the job spec");
	free(msg);
	env_close(&e);
}

static void test_shared_libs(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	char *bins[] = { "/bin/sh" };
	struct layer_spec spec = { .kind = LAYER_SHARED_LIBS, .paths = bins, .n_paths = 1,
				   .prefix.prepend_prefix = "/sysroot" };
	struct digest d;
	build_ok(&e, &spec, &d);
	char *got = listing(&e, &d);
	char **libs;
	size_t n;
	const char *cbins[] = { "/bin/sh" };
	assert_int_equal(ldd_closure(cbins, 1, &libs, &n, NULL), 0);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		assert_int_equal(stat(libs[i], &st), 0);
		char line[PATH_MAX + 64];
		snprintf(line, sizeof(line), "f %04o sysroot%s %lld ...\n",
			 (unsigned)(st.st_mode & 07777), libs[i], (long long)st.st_size);
		if (!strstr(got, line))
			fail_msg("missing \"%s\" in:\n%s", line, got);
	}
	assert_null(strstr(got, "bin/sh"));
	ldd_free(libs, n);
	free(got);

	/* Same again: memoised closure, cached layer. */
	struct digest d2;
	build_ok(&e, &spec, &d2);
	assert_true(digest_equal(&d, &d2));
	assert_int_equal(layer_builder_stats(e.b).built, 1);
	assert_int_equal(layer_builder_stats(e.b).cache_hits, 1);

	put("script.sh", "#!/bin/sh\n", 0755);
	char *bad[] = { "script.sh" };
	struct layer_spec notelf = { .kind = LAYER_SHARED_LIBS, .paths = bad, .n_paths = 1 };
	char *msg = build_err(&e, &notelf);
	assert_non_null(strstr(msg, "layer `shared-library-dependencies`: "));
	assert_non_null(strstr(msg, "script.sh: not an ELF file"));
	free(msg);
	env_close(&e);
}

/* ---- determinism and caching ------------------------------------------------ */

static void det_spec(struct layer_spec *spec, char **paths)
{
	put("det/one", "1", 0644);
	put("det/two", "22", 0700);
	put("det/a-rather-long-directory-name-to-need-a-pax-header/"
	    "and-a-rather-long-file-name-as-well-so-that-the-whole-is-over-one-hundred",
	    "long", 0644);
	paths[0] = "det";
	*spec = (struct layer_spec){ .kind = LAYER_GLOB, .glob = "det/**" };
}

static void build_in_child(struct digest *out)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct env e;
		env_open(&e);
		struct layer_spec spec;
		char *paths[1];
		det_spec(&spec, paths);
		struct digest d;
		struct err *err = NULL;
		int r = layer_build(e.b, &spec, &d, &err);
		env_close(&e);
		_exit(r == 0 && write(pfd[1], &d, sizeof(d)) == sizeof(d) ? 0 : 1);
	}
	close(pfd[1]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(read(pfd[0], out, sizeof(*out)), sizeof(*out));
	close(pfd[0]);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct layer_spec spec;
	char *paths[1];
	det_spec(&spec, paths);
	struct env e1, e2;
	env_open(&e1);
	env_open(&e2);
	struct digest d1, d2, d3;
	build_ok(&e1, &spec, &d1);
	build_ok(&e2, &spec, &d2); /* separate store and caches: built again */
	assert_int_equal(layer_builder_stats(e2.b).built, 1);
	assert_true(digest_equal(&d1, &d2));
	build_in_child(&d3); /* another process (pid in no header) */
	assert_true(digest_equal(&d1, &d3));
	char *got = listing(&e1, &d1);
	assert_non_null(strstr(got, "over-one-hundred 4 long\n"));
	free(got);

	/* The mtime is part of the content. */
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/det/one", proj);
	struct timespec ts[2] = { { OLD_TIME + 1, 0 }, { OLD_TIME + 1, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	build_ok(&e1, &spec, &d2);
	assert_false(digest_equal(&d1, &d2));
	assert_int_equal(entry_mtime(&e1, &d2, "det/one"), OLD_TIME + 1);
	env_close(&e1);
	env_close(&e2);
}

static void test_cache_hit_without_reading(void **state)
{
	(void)state;
	put("cached/x", "xxxx", 0644);
	put("cached/y", "yyyy", 0644);
	struct layer_spec spec = { .kind = LAYER_GLOB, .glob = "cached/*" };
	struct env e;
	env_open(&e);
	struct digest d1, d2;
	build_ok(&e, &spec, &d1);
	struct layer_build_stats s = layer_builder_stats(e.b);
	assert_int_equal(s.built, 1);
	assert_int_equal(s.files_read, 2);
	build_ok(&e, &spec, &d2);
	s = layer_builder_stats(e.b);
	assert_true(digest_equal(&d1, &d2));
	assert_int_equal(s.built, 1);
	assert_int_equal(s.cache_hits, 1);
	assert_int_equal(s.files_read, 2);

	/* The next process builds nothing and reads nothing. */
	env_reopen(&e);
	build_ok(&e, &spec, &d2);
	s = layer_builder_stats(e.b);
	assert_true(digest_equal(&d1, &d2));
	assert_int_equal(s.built, 0);
	assert_int_equal(s.files_read, 0);
	assert_int_equal(s.cache_hits, 1);

	/* Same size, mtime put back: the ctime still tells. */
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/cached/x", proj);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	put("cached/x", "XXXX", 0644);
	assert_int_equal(stat(path, &after), 0);
	while (after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
	       after.st_ctim.tv_nsec == before.st_ctim.tv_nsec) {
		/* The clock has not moved on yet: touch the ctime until it does. */
		usleep(10000);
		assert_int_equal(chmod(path, 0644), 0);
		assert_int_equal(stat(path, &after), 0);
	}
	build_ok(&e, &spec, &d2);
	assert_false(digest_equal(&d1, &d2));
	assert_int_equal(layer_builder_stats(e.b).built, 1);

	/* A new file changes the key too. */
	put("cached/z", "z", 0644);
	struct digest d3;
	build_ok(&e, &spec, &d3);
	assert_false(digest_equal(&d2, &d3));
	assert_int_equal(layer_builder_stats(e.b).built, 2);

	/* The artifact vanished from the store: built again. */
	char *blob = store_blob_path(e.store, &d3);
	assert_int_equal(unlink(blob), 0);
	free(blob);
	env_reopen(&e);
	build_ok(&e, &spec, &d2);
	assert_true(digest_equal(&d2, &d3));
	assert_int_equal(layer_builder_stats(e.b).built, 1);

	/* A file modified "just now" (here: in the future, whatever the clock
	 * does meanwhile) is not trusted by the next process. */
	put("cached/z", "new", 0644);
	snprintf(path, sizeof(path), "%s/cached/z", proj);
	struct timespec future[2] = { { 0, UTIME_OMIT }, { time(NULL) + 3600, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, future, 0), 0);
	build_ok(&e, &spec, &d1);
	env_reopen(&e);
	build_ok(&e, &spec, &d2);
	assert_true(digest_equal(&d1, &d2));
	assert_int_equal(layer_builder_stats(e.b).built, 1);
	env_close(&e);
}

/* ---- errors --------------------------------------------------------------- */

static void test_errors(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	char *msg;

	char *missing[] = { "/no/such" };
	struct layer_spec paths = { .kind = LAYER_PATHS, .paths = missing, .n_paths = 1 };
	msg = build_err(&e, &paths);
	assert_string_equal(msg, "layer `paths`: /no/such: No such file or directory; fix the "
				 "path in the job spec");
	free(msg);

	char *rel[] = { "not/here" };
	paths.paths = rel;
	msg = build_err(&e, &paths);
	assert_string_equal(msg, "layer `paths`: not/here: No such file or directory; fix the "
				 "path in the job spec");
	free(msg);

	char *conflict[] = { "/a", "/a/b" };
	struct layer_spec stubs = { .kind = LAYER_STUBS, .paths = conflict, .n_paths = 2 };
	msg = build_err(&e, &stubs);
	assert_string_equal(msg, "layer `stubs`: /a is both a file and a directory in this layer "
				 "(a parent directory of another entry)");
	free(msg);

	char *dotdot[] = { "/x/../../etc/passwd" };
	stubs.paths = dotdot;
	stubs.n_paths = 1;
	msg = build_err(&e, &stubs);
	assert_non_null(strstr(msg, "has a `..` component"));
	free(msg);

	char *brace[] = { "/dev/{null" };
	stubs.paths = brace;
	msg = build_err(&e, &stubs);
	assert_non_null(strstr(msg, "layer `stubs`: stub /dev/{null: "));
	free(msg);

	struct symlink_spec twice[] = { { "/l", "a" }, { "/l", "b" } };
	struct layer_spec links = { .kind = LAYER_SYMLINKS, .symlinks = twice, .n_symlinks = 2 };
	msg = build_err(&e, &links);
	assert_string_equal(msg, "layer `symlinks`: /l is given two different contents in this "
				 "layer (a and b)");
	free(msg);

	/* The same symlink twice is fine. */
	twice[1].target = "a";
	struct digest d;
	build_ok(&e, &links, &d);
	expect_listing(&e, &d, "l 0777 l -> a\n");
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stubs),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_prefix_options),
		cmocka_unit_test(test_tar_layer),
		cmocka_unit_test(test_shared_libs),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_cache_hit_without_reading),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
