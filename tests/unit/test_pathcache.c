/* Unit tests for artifacts/pathcache and the digest_map it persists with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/digest_map.h"
#include "artifacts/pathcache.h"
#include "core/err.h"

static char tmpdir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_pathcache.XXXXXX", base);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tpath(const char *rel)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", tmpdir, rel) > 0);
	return p;
}

static void write_file(const char *path, const char *content)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	assert_int_equal(fclose(fp), 0);
}

/* Sets mtime well in the past so the file is not "racy". */
static void age(const char *path)
{
	struct timespec ts[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void expect_digest_of(const char *path, const struct digest *d)
{
	struct digest want;
	assert_int_equal(digest_path(path, &want, NULL), 0);
	assert_true(digest_equal(&want, d));
}

static void test_reads_once(void **state)
{
	(void)state;
	char *f = tpath("once");
	write_file(f, "hello world");
	struct pathcache *pc;
	assert_int_equal(pathcache_open(&pc, NULL, NULL), 0);
	struct digest d1, d2;
	struct stat st;
	assert_int_equal(pathcache_digest(pc, f, &d1, &st, NULL), 0);
	expect_digest_of(f, &d1);
	assert_int_equal(st.st_size, 11);
	assert_int_equal(pathcache_reads(pc), 1);
	assert_int_equal(pathcache_digest(pc, f, &d2, NULL, NULL), 0);
	assert_true(digest_equal(&d1, &d2));
	assert_int_equal(pathcache_reads(pc), 1);

	/* A different size, and the same size with the mtime put back: both
	 * are misses (the latter through the ctime). */
	write_file(f, "hello world, again");
	assert_int_equal(pathcache_digest(pc, f, &d2, NULL, NULL), 0);
	assert_int_equal(pathcache_reads(pc), 2);
	expect_digest_of(f, &d2);
	assert_false(digest_equal(&d1, &d2));

	age(f);
	assert_int_equal(pathcache_digest(pc, f, &d1, NULL, NULL), 0);
	assert_int_equal(pathcache_reads(pc), 3);
	struct stat before, after;
	assert_int_equal(stat(f, &before), 0);
	write_file(f, "HELLO WORLD, AGAIN");
	age(f);
	assert_int_equal(stat(f, &after), 0);
	while (after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
	       after.st_ctim.tv_nsec == before.st_ctim.tv_nsec) {
		/* The clock has not moved on yet: touch the ctime until it does. */
		usleep(10000);
		age(f);
		assert_int_equal(stat(f, &after), 0);
	}
	assert_int_equal(pathcache_digest(pc, f, &d2, NULL, NULL), 0);
	assert_int_equal(pathcache_reads(pc), 4);
	expect_digest_of(f, &d2);
	assert_false(digest_equal(&d1, &d2));
	pathcache_free(pc);
	free(f);
}

static void test_persisted_across_instances(void **state)
{
	(void)state;
	char *cache = tpath("path-cache");
	char *old = tpath("old");
	char *fresh = tpath("fresh");
	write_file(old, "old content");
	age(old);
	write_file(fresh, "fresh content");
	/* "Fresh" whatever the clock does meanwhile: modified in the future. */
	struct timespec future[2] = { { 0, UTIME_OMIT }, { time(NULL) + 3600, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, fresh, future, 0), 0);

	struct pathcache *pc;
	struct digest d_old, d_fresh, d;
	assert_int_equal(pathcache_open(&pc, cache, NULL), 0);
	assert_int_equal(pathcache_digest(pc, old, &d_old, NULL, NULL), 0);
	assert_int_equal(pathcache_digest(pc, fresh, &d_fresh, NULL, NULL), 0);
	assert_int_equal(pathcache_save(pc, NULL), 0);
	pathcache_free(pc);

	assert_int_equal(pathcache_open(&pc, cache, NULL), 0);
	assert_int_equal(pathcache_digest(pc, old, &d, NULL, NULL), 0);
	assert_true(digest_equal(&d, &d_old));
	assert_int_equal(pathcache_reads(pc), 0); /* from the file */
	/* The fresh file was racy: not persisted, read again. */
	assert_int_equal(pathcache_digest(pc, fresh, &d, NULL, NULL), 0);
	assert_true(digest_equal(&d, &d_fresh));
	assert_int_equal(pathcache_reads(pc), 1);
	pathcache_free(pc);

	/* The file is "magic line + one line per record". */
	FILE *fp = fopen(cache, "r");
	assert_non_null(fp);
	char line[256];
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_string_equal(line, "maelstrom-path-cache 1\n");
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_int_equal(strlen(line), 66);
	assert_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	free(cache);
	free(old);
	free(fresh);
}

static void test_errors(void **state)
{
	(void)state;
	struct pathcache *pc;
	assert_int_equal(pathcache_open(&pc, NULL, NULL), 0);
	struct digest d;
	struct err *err = NULL;
	char *missing = tpath("missing");
	assert_int_equal(pathcache_digest(pc, missing, &d, NULL, &err), -1);
	assert_non_null(strstr(err_msg(err), missing));
	assert_non_null(strstr(err_msg(err), "No such file or directory"));
	err_free(&err);
	assert_int_equal(pathcache_digest(pc, tmpdir, &d, NULL, &err), -1);
	assert_non_null(strstr(err_msg(err), "not a regular file"));
	err_free(&err);
	pathcache_free(pc);
	free(missing);
}

static struct digest dg(unsigned char b)
{
	struct digest d;
	memset(d.bytes, b, sizeof(d.bytes));
	return d;
}

static void test_map_corrupt_and_foreign_files(void **state)
{
	(void)state;
	char *path = tpath("map-corrupt");
	write_file(path, "maelstrom-test 1\n"
			 "0101010101010101010101010101010101 nonsense\n"
			 "02020202020202020202020202020202 03030303030303030303030303030303\n"
			 "zz\n"
			 "04040404040404040404040404040404 0505050505050505050505050505"); /* torn */
	struct digest_map *m;
	struct digest v;
	assert_int_equal(digest_map_open(&m, path, "maelstrom-test 1", 10, NULL), 0);
	assert_int_equal(digest_map_size(m), 1);
	struct digest k = dg(2), want = dg(3);
	assert_true(digest_map_get(m, &k, &v));
	assert_true(digest_equal(&v, &want));
	digest_map_free(m);

	assert_int_equal(digest_map_open(&m, path, "another magic", 10, NULL), 0);
	assert_int_equal(digest_map_size(m), 0);
	digest_map_free(m);
	free(path);
}

static void test_map_bounded_and_merged(void **state)
{
	(void)state;
	char *path = tpath("map-merge");
	struct digest_map *a, *b;
	struct digest v;
	assert_int_equal(digest_map_open(&a, path, "m 1", 4, NULL), 0);
	assert_int_equal(digest_map_open(&b, path, "m 1", 4, NULL), 0);
	for (unsigned char i = 1; i <= 3; i++) {
		struct digest k = dg(i), val = dg((unsigned char)(100 + i));
		digest_map_put(a, &k, &val, true);
	}
	struct digest kb = dg(50), vb = dg(150), kmem = dg(60);
	digest_map_put(b, &kb, &vb, true);
	digest_map_put(b, &kmem, &vb, false); /* memory only */
	assert_int_equal(digest_map_save(a, NULL), 0);
	assert_int_equal(digest_map_save(b, NULL), 0); /* merges a's three */
	assert_int_equal(digest_map_size(b), 5);

	struct digest_map *c;
	assert_int_equal(digest_map_open(&c, path, "m 1", 4, NULL), 0);
	assert_int_equal(digest_map_size(c), 4);
	assert_true(digest_map_get(c, &kb, &v));
	assert_true(digest_equal(&v, &vb));
	assert_false(digest_map_get(c, &kmem, &v));
	for (unsigned char i = 1; i <= 3; i++) {
		struct digest k = dg(i);
		assert_true(digest_map_get(c, &k, NULL));
	}
	/* Beyond max_entries, the least recently used go: touch 2, 3 and 50,
	 * add 70; key 1 is dropped on save. */
	struct digest k2 = dg(2), k3 = dg(3), k70 = dg(70);
	assert_true(digest_map_get(c, &k2, NULL));
	assert_true(digest_map_get(c, &k3, NULL));
	assert_true(digest_map_get(c, &kb, NULL));
	digest_map_put(c, &k70, &vb, true);
	assert_int_equal(digest_map_save(c, NULL), 0);
	digest_map_free(c);
	assert_int_equal(digest_map_open(&c, path, "m 1", 4, NULL), 0);
	assert_int_equal(digest_map_size(c), 4);
	struct digest k1 = dg(1);
	assert_false(digest_map_get(c, &k1, NULL));
	assert_true(digest_map_get(c, &k70, NULL));

	/* Nothing put: saving does not touch the file. */
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(digest_map_save(c, NULL), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);

	digest_map_free(a);
	digest_map_free(b);
	digest_map_free(c);
	free(path);
}

static void test_map_grows(void **state)
{
	(void)state;
	struct digest_map *m;
	assert_int_equal(digest_map_open(&m, NULL, "m", 100000, NULL), 0);
	for (unsigned i = 0; i < 5000; i++) {
		struct digest k, v;
		digest_bytes(&i, sizeof(i), &k);
		v = dg((unsigned char)i);
		digest_map_put(m, &k, &v, true);
	}
	assert_int_equal(digest_map_size(m), 5000);
	for (unsigned i = 0; i < 5000; i++) {
		struct digest k, v;
		digest_bytes(&i, sizeof(i), &k);
		assert_true(digest_map_get(m, &k, &v));
		assert_int_equal(v.bytes[0], (unsigned char)i);
	}
	assert_int_equal(digest_map_save(m, NULL), 0); /* memory only: no-op */
	digest_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_once),
		cmocka_unit_test(test_persisted_across_instances),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_map_corrupt_and_foreign_files),
		cmocka_unit_test(test_map_bounded_and_merged),
		cmocka_unit_test(test_map_grows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
