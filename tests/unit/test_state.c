#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "runners/state.h"

/* ---- helpers ------------------------------------------------------------- */

struct fixture {
	char root[256];   /* a fresh temporary directory */
	char dir[300];    /* root/target/maelstrom/state: not created yet */
};

static int setup(void **st)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->root, sizeof f->root, "%s/test_state.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/target/maelstrom/state", f->root);
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fixture *f = *st;
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
	int r = system(cmd);
	free(f);
	return r == 0 ? 0 : -1;
}

static struct state *load(const char *dir)
{
	struct state *s = NULL;
	struct err *e = NULL;
	if (state_load(&s, dir, &e) < 0)
		fail_msg("state_load: %s", err_msg(e));
	assert_non_null(s);
	return s;
}

static void save(struct state *s)
{
	struct err *e = NULL;
	if (state_save(s, &e) < 0)
		fail_msg("state_save: %s", err_msg(e));
}

static struct state *reload(struct state *s, const char *dir)
{
	save(s);
	state_free(s);
	return load(dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* Names in dir, sorted and joined with spaces. */
static void list_dir(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			if (out[0])
				strncat(out, " ", size - strlen(out) - 1);
			strncat(out, names[i]->d_name, size - strlen(out) - 1);
		}
		free(names[i]);
	}
	free(names);
}

/* ---- round trip ----------------------------------------------------------- */

static void test_missing_file_is_empty(void **st)
{
	struct fixture *f = *st;
	struct state *s = load(f->dir);
	assert_int_equal(state_size(s), 0);
	assert_true(state_is_new(s, "a"));
	assert_false(state_failed_last(s, "a"));
	assert_int_equal(state_expected_ms(s, "a"), 0);
	char want[400];
	snprintf(want, sizeof want, "%s/test-listing.json", f->dir);
	assert_string_equal(state_path(s), want);
	/* Loading created nothing. */
	struct stat sb;
	assert_int_equal(stat(f->dir, &sb), -1);
	state_free(s);
}

static void test_round_trip(void **st)
{
	struct fixture *f = *st;
	struct state *s = load(f->dir);
	state_record(s, "pkg::bin::ok", true, 100);
	state_record(s, "pkg::bin::ok", true, 300);
	state_record(s, "pkg::bin::bad", false, 7);
	state_record(s, "tests/x.py::T::test_\"quoted\" é", true, 0);
	assert_int_equal(state_size(s), 3);
	assert_false(state_is_new(s, "pkg::bin::ok"));
	assert_int_equal(state_expected_ms(s, "pkg::bin::ok"), 200);

	s = reload(s, f->dir);
	assert_int_equal(state_size(s), 3);
	assert_false(state_is_new(s, "pkg::bin::ok"));
	assert_false(state_failed_last(s, "pkg::bin::ok"));
	assert_int_equal(state_expected_ms(s, "pkg::bin::ok"), 200);
	assert_true(state_failed_last(s, "pkg::bin::bad"));
	assert_int_equal(state_expected_ms(s, "pkg::bin::bad"), 7);
	assert_false(state_is_new(s, "tests/x.py::T::test_\"quoted\" é"));
	assert_true(state_is_new(s, "pkg::bin::other"));

	/* The file has the documented shape. */
	json_error_t je;
	json_t *root = json_load_file(state_path(s), 0, &je);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "format")),
			    "maelstrom-test-listing");
	assert_int_equal(json_integer_value(json_object_get(root, "version")), STATE_VERSION);
	json_t *ok = json_object_get(json_object_get(root, "tests"), "pkg::bin::ok");
	assert_string_equal(json_string_value(json_object_get(ok, "outcomes")), "PP");
	assert_int_equal(json_array_size(json_object_get(ok, "durations_ms")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(ok, "durations_ms"), 1)),
			 300);
	json_decref(root);
	state_free(s);
}

static void test_history_is_capped(void **st)
{
	struct fixture *f = *st;
	struct state *s = load(f->dir);
	/* 20 runs: 1..20 ms, failing on the third. Only 5..20 stay. */
	for (uint64_t ms = 1; ms <= 20; ms++)
		state_record(s, "t", ms != 3, ms);
	assert_int_equal(state_expected_ms(s, "t"), (5 + 20) * 16 / 2 / 16);
	s = reload(s, f->dir);
	assert_int_equal(state_expected_ms(s, "t"), 12);
	json_t *root = json_load_file(state_path(s), 0, NULL);
	json_t *t = json_object_get(json_object_get(root, "tests"), "t");
	assert_string_equal(json_string_value(json_object_get(t, "outcomes")), "PPPPPPPPPPPPPPPP");
	json_t *d = json_object_get(t, "durations_ms");
	assert_int_equal(json_array_size(d), STATE_HISTORY);
	assert_int_equal(json_integer_value(json_array_get(d, 0)), 5);
	assert_int_equal(json_integer_value(json_array_get(d, 15)), 20);
	/* The run that included the failure still counts as failed. */
	assert_true(json_is_true(json_object_get(t, "failed_last_run")));
	json_decref(root);
	state_free(s);
}

static void test_longer_history_in_file_is_trimmed(void **st)
{
	struct fixture *f = *st;
	char path[400];
	snprintf(path, sizeof path, "%s/test-listing.json", f->root);
	struct buf b = BUF_INIT;
	buf_appends(&b, "{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":{\"t\":"
			"{\"outcomes\":\"");
	for (int i = 0; i < 20; i++)
		buf_appends(&b, "P");
	buf_appends(&b, "\",\"durations_ms\":[");
	for (int i = 0; i < 20; i++)
		buf_appendf(&b, "%s%d", i ? "," : "", i < 4 ? 1000 : 10);
	buf_appends(&b, "],\"failed_last_run\":false}}}");
	write_text(path, b.data);
	buf_release(&b);
	struct state *s = load(f->root);
	assert_int_equal(state_size(s), 1);
	assert_int_equal(state_expected_ms(s, "t"), 10);
	state_free(s);
}

/* ---- runs and repeats ----------------------------------------------------- */

static void test_failed_last_with_repeats_and_runs(void **st)
{
	struct fixture *f = *st;
	struct state *s = load(f->dir);
	/* --repeat: one failure among passes makes the run a failure. */
	state_record(s, "flaky", true, 1);
	state_record(s, "flaky", false, 1);
	state_record(s, "flaky", true, 1);
	state_record(s, "steady", true, 1);
	assert_true(state_failed_last(s, "flaky"));
	assert_false(state_failed_last(s, "steady"));

	s = reload(s, f->dir);
	assert_true(state_failed_last(s, "flaky"));
	/* A test not run in this run keeps the last run's verdict. */
	state_record(s, "steady", false, 1);
	s = reload(s, f->dir);
	assert_true(state_failed_last(s, "flaky"));
	assert_true(state_failed_last(s, "steady"));

	/* A new run in the same process (--watch). */
	state_record(s, "flaky", true, 1);
	assert_false(state_failed_last(s, "flaky"));
	state_begin_run(s);
	assert_false(state_failed_last(s, "flaky"));
	assert_true(state_failed_last(s, "steady"));
	state_record(s, "steady", true, 1);
	state_begin_run(s);
	assert_false(state_failed_last(s, "steady"));
	state_free(s);
}

/* ---- order ---------------------------------------------------------------- */

/* The reference order, computed from the facts the test set up. */
struct ref {
	const char *id;
	bool fresh;     /* never ran */
	bool urgent;    /* fresh or failed last */
	uint64_t ms;
};

static int ref_cmp(const struct ref *a, const struct ref *b)
{
	if (a->urgent != b->urgent)
		return a->urgent ? -1 : 1;
	if (a->ms != b->ms)
		return a->ms > b->ms ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static struct state *order_fixture(const char *dir, struct ref *refs, size_t *n)
{
	struct state *s = load(dir);
	/* Every combination of {new, failed last, passed last} x {durations},
	 * with equal durations across groups so the tie-break shows. */
	static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
	static const uint64_t ms[] = {0, 50, 50};
	size_t k = 0;
	for (int kind = 0; kind < 3; kind++) {
		for (int m = 0; m < 3; m++) {
			const char *id = names[(size_t)(kind * 3 + (2 - m)) % 9];
			refs[k] = (struct ref){.id = id};
			if (kind == 0) { /* new */
				refs[k].fresh = true;
				refs[k].urgent = true;
				refs[k].ms = 0;
			} else if (kind == 1) { /* failed last */
				/* a pass and a failure in one run; ms 0 ties with
				 * the new tests */
				state_record(s, id, true, ms[m]);
				state_record(s, id, false, ms[m]);
				refs[k].urgent = true;
				refs[k].ms = ms[m];
			} else { /* passed last */
				state_record(s, id, true, ms[m] * 2);
				refs[k].urgent = false;
				refs[k].ms = ms[m] * 2;
			}
			k++;
		}
	}
	*n = k;
	return reload(s, dir);
}

static void test_compare_all_pairs(void **st)
{
	struct fixture *f = *st;
	struct ref refs[9];
	size_t n;
	struct state *s = order_fixture(f->dir, refs, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(state_is_new(s, refs[i].id), refs[i].fresh);
		assert_int_equal(state_expected_ms(s, refs[i].id), refs[i].ms);
		for (size_t j = 0; j < n; j++) {
			int got = sign(state_compare(s, refs[i].id, refs[j].id));
			int want = sign(ref_cmp(&refs[i], &refs[j]));
			if (got != want)
				fail_msg("compare(%s, %s) = %d, want %d", refs[i].id, refs[j].id, got,
					 want);
			assert_int_equal(got, -sign(state_compare(s, refs[j].id, refs[i].id)));
		}
	}
	state_free(s);
}

static bool next_permutation(size_t *p, size_t n)
{
	size_t i = n - 1;
	while (i > 0 && p[i - 1] >= p[i])
		i--;
	if (i == 0)
		return false;
	size_t j = n - 1;
	while (p[j] <= p[i - 1])
		j--;
	size_t t = p[i - 1];
	p[i - 1] = p[j];
	p[j] = t;
	for (size_t a = i, b = n - 1; a < b; a++, b--) {
		t = p[a];
		p[a] = p[b];
		p[b] = t;
	}
	return true;
}

static int ref_qsort(const void *a, const void *b)
{
	return ref_cmp(a, b);
}

static void test_sort_every_permutation(void **st)
{
	struct fixture *f = *st;
	struct ref refs[9];
	size_t n;
	struct state *s = order_fixture(f->dir, refs, &n);
	struct ref sorted[9];
	memcpy(sorted, refs, sizeof refs);
	qsort(sorted, n, sizeof *sorted, ref_qsort);
	struct test_case cases[9];
	memset(cases, 0, sizeof cases);
	for (size_t i = 0; i < n; i++)
		cases[i].id = (char *)refs[i].id;

	/* All 9! orders are too many for a unit test; use the first 8 tests in
	 * every order (40320) plus the 9th at each position. */
	size_t perm[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
	size_t checked = 0;
	do {
		struct test_case *arr[9], *arr2[9];
		size_t ins = checked % 9;
		size_t m = 0;
		for (size_t i = 0; i < 8; i++) {
			if (m == ins)
				arr[m++] = &cases[8];
			arr[m++] = &cases[perm[i]];
		}
		if (m == 8)
			arr[m++] = &cases[8];
		memcpy(arr2, arr, sizeof arr);
		state_sort(s, arr, n);
		qsort_r(arr2, n, sizeof *arr2, state_compare_cases, s);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(arr[i]->id, sorted[i].id) != 0)
				fail_msg("permutation %zu: position %zu is %s, want %s", checked, i,
					 arr[i]->id, sorted[i].id);
			assert_ptr_equal(arr[i], arr2[i]);
		}
		checked++;
	} while (next_permutation(perm, 8));
	assert_int_equal(checked, 40320);
	state_free(s);
}

static void test_order_as_the_book_says(void **st)
{
	struct fixture *f = *st;
	struct state *s = load(f->dir);
	state_record(s, "long-pass", true, 5000);
	state_record(s, "short-pass", true, 10);
	state_record(s, "short-fail", false, 10);
	state_record(s, "long-fail", false, 900);
	state_record(s, "tie-b", true, 77);
	state_record(s, "tie-a", true, 77);
	s = reload(s, f->dir);
	struct test_case c[7] = {
		{.id = "short-pass"}, {.id = "tie-b"}, {.id = "brand-new"}, {.id = "long-pass"},
		{.id = "short-fail"}, {.id = "tie-a"}, {.id = "long-fail"},
	};
	struct test_case *arr[7];
	for (size_t i = 0; i < 7; i++)
		arr[i] = &c[i];
	state_sort(s, arr, 7);
	const char *want[] = {"long-fail", "short-fail", "brand-new", "long-pass",
			      "tie-a", "tie-b", "short-pass"};
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(arr[i]->id, want[i]);
	assert_int_equal(state_compare(s, "x", "x"), 0);
	state_sort(s, arr, 0);
	state_sort(s, arr, 1);
	state_free(s);
}

/* ---- damaged files ---------------------------------------------------------- */

static void test_corrupt_or_foreign_files(void **st)
{
	struct fixture *f = *st;
	static const char *const bad[] = {
		"",
		"{not json",
		"[1,2,3]",
		"{\"foo\": 1}",
		"{\"format\":\"maelstrom-test-listing\",\"version\":2,\"tests\":{}}",
		"{\"format\":\"maelstrom-test-listing\",\"tests\":{}}",
		"{\"format\":\"other\",\"version\":1,\"tests\":{}}",
		"{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":[]}",
		"{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":{\"a\":"
		"{\"outcomes\":\"PP\",\"durations_ms\":[1],\"failed_last_run\":false}}}",
		"{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":{\"a\":"
		"{\"outcomes\":\"PX\",\"durations_ms\":[1,2],\"failed_last_run\":false}}}",
		"{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":{\"a\":"
		"{\"outcomes\":\"P\",\"durations_ms\":[-1],\"failed_last_run\":false}}}",
		"{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":{\"ok\":"
		"{\"outcomes\":\"P\",\"durations_ms\":[1],\"failed_last_run\":false},\"a\":"
		"{\"outcomes\":\"P\",\"durations_ms\":[1]}}}",
		"{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":{\"a\":"
		"{\"outcomes\":\"P\",\"durations_ms\":[1],\"failed_last_run\":false},\"a\":"
		"{\"outcomes\":\"P\",\"durations_ms\":[1],\"failed_last_run\":false}}}",
	};
	char path[400];
	snprintf(path, sizeof path, "%s/test-listing.json", f->root);
	log_set_level(LOG_ERROR); /* the warnings are expected */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_text(path, bad[i]);
		struct state *s = load(f->root);
		if (state_size(s) != 0)
			fail_msg("case %zu: loaded %zu tests from a bad file", i, state_size(s));
		assert_true(state_is_new(s, "a"));
		/* Saving replaces the bad file with a good one. */
		state_record(s, "a", true, 5);
		s = reload(s, f->root);
		assert_int_equal(state_size(s), 1);
		assert_int_equal(state_expected_ms(s, "a"), 5);
		state_free(s);
	}
	log_set_level(LOG_WARNING);
	/* A valid empty listing loads quietly. */
	write_text(path, "{\"format\":\"maelstrom-test-listing\",\"version\":1,\"tests\":{}}");
	struct state *s = load(f->root);
	assert_int_equal(state_size(s), 0);
	state_free(s);
}

static void test_unreadable_file_is_an_error(void **st)
{
	struct fixture *f = *st;
	char path[400];
	snprintf(path, sizeof path, "%s/test-listing.json", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	struct state *s = (struct state *)1;
	struct err *e = NULL;
	assert_int_equal(state_load(&s, f->root, &e), -1);
	assert_null(s);
	assert_non_null(strstr(err_msg(e), path));
	err_free(&e);
}

/* ---- atomic writes ------------------------------------------------------------ */

static void test_save_leaves_only_the_file(void **st)
{
	struct fixture *f = *st;
	mode_t old = umask(022);
	struct state *s = load(f->dir);
	state_record(s, "a", true, 1);
	save(s);
	state_record(s, "b", false, 2);
	save(s);
	char names[200];
	list_dir(f->dir, names, sizeof names);
	assert_string_equal(names, "test-listing.json");
	struct stat sb;
	assert_int_equal(stat(state_path(s), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	state_free(s);
	umask(old);
}

static void test_write_atomic_failures_clean_up(void **st)
{
	struct fixture *f = *st;
	struct err *e = NULL;
	char path[400];
	/* The target is a non-empty directory: rename fails, nothing stays. */
	snprintf(path, sizeof path, "%s/busy", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	char inner[450];
	snprintf(inner, sizeof inner, "%s/x", path);
	write_text(inner, "x");
	assert_int_equal(state_write_atomic(path, "data", 4, &e), -1);
	assert_non_null(strstr(err_msg(e), path));
	err_free(&e);
	char names[200];
	list_dir(f->root, names, sizeof names);
	assert_string_equal(names, "busy");

	/* A missing directory. */
	snprintf(path, sizeof path, "%s/nope/file", f->root);
	assert_int_equal(state_write_atomic(path, "data", 4, &e), -1);
	assert_non_null(strstr(err_msg(e), "nope/file"));
	err_free(&e);

	/* The state directory cannot be made: a file is in the way. */
	snprintf(path, sizeof path, "%s/blocker", f->root);
	write_text(path, "x");
	char dir[450];
	snprintf(dir, sizeof dir, "%s/state", path);
	struct state *s = load(dir);
	state_record(s, "a", true, 1);
	assert_int_equal(state_save(s, &e), -1);
	assert_non_null(strstr(err_msg(e), "blocker"));
	err_free(&e);
	state_free(s);

	/* A good write replaces the old content whole. */
	snprintf(path, sizeof path, "%s/good", f->root);
	write_text(path, "old old old old");
	assert_int_equal(state_write_atomic(path, "new", 3, &e), 0);
	char got[32] = "";
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fread(got, 1, sizeof got - 1, fp), 3);
	fclose(fp);
	assert_string_equal(got, "new");
}

/* ---- pruning --------------------------------------------------------------- */

static void test_prune_unseen(void **st)
{
	struct fixture *f = *st;
	struct state *s = load(f->dir);
	state_record(s, "kept-listed", true, 1);
	state_record(s, "renamed-away", true, 1);
	state_record(s, "deleted", false, 1);
	s = reload(s, f->dir);
	state_mark_seen(s, "kept-listed");
	state_mark_seen(s, "never-ran"); /* unknown: no record made */
	state_record(s, "fresh", true, 1);
	assert_int_equal(state_size(s), 4);
	assert_int_equal(state_prune_unseen(s), 2);
	assert_int_equal(state_size(s), 2);
	assert_true(state_is_new(s, "renamed-away"));
	assert_true(state_is_new(s, "deleted"));
	assert_true(state_is_new(s, "never-ran"));
	s = reload(s, f->dir);
	assert_int_equal(state_size(s), 2);
	assert_false(state_is_new(s, "kept-listed"));
	assert_false(state_is_new(s, "fresh"));
	/* Nothing seen in a new run: everything goes. */
	assert_int_equal(state_prune_unseen(s), 2);
	assert_int_equal(state_size(s), 0);
	state_free(s);
}

static void test_many_tests_and_prune(void **st)
{
	struct fixture *f = *st;
	struct state *s = load(f->dir);
	char id[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "t%d", i);
		state_record(s, id, i % 7 != 0, (uint64_t)i);
	}
	s = reload(s, f->dir);
	assert_int_equal(state_size(s), 5000);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(id, sizeof id, "t%d", i);
		state_mark_seen(s, id);
	}
	assert_int_equal(state_prune_unseen(s), 2500);
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "t%d", i);
		assert_int_equal(state_is_new(s, id), i % 2 != 0);
		if (i % 2 == 0) {
			assert_int_equal(state_expected_ms(s, id), (uint64_t)i);
			assert_int_equal(state_failed_last(s, id), i % 7 == 0);
		}
	}
	state_free(s);
}

int main(void)
{
	log_set_program("test_state");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_file_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_is_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longer_history_in_file_is_trimmed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_last_with_repeats_and_runs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_compare_all_pairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sort_every_permutation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_as_the_book_says, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_or_foreign_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_file_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_leaves_only_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_failures_clean_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prune_unseen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_tests_and_prune, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
