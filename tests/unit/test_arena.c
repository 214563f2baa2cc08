/* Unit tests for core/arena. */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"

static void test_empty_release(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a);
	arena_release(&a);
	arena_release(&a); /* twice is fine */
	assert_int_equal(arena_used(&a), 0);
}

static void test_alignment_and_zero(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a);
	size_t aligns[] = { 1, 2, 4, 8, 16, 64, 4096 };
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
			unsigned char *p = arena_alloc(&a, 1 + (size_t)round * 3, aligns[i]);
			assert_int_equal((uintptr_t)p % aligns[i], 0);
			for (size_t k = 0; k < 1 + (size_t)round * 3; k++)
				assert_int_equal(p[k], 0);
			memset(p, 0xab, 1 + (size_t)round * 3); /* ASan: all of it is ours */
		}
	}
	/* align 0 means "any type". */
	void *p = arena_alloc(&a, 24, 0);
	assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
	/* Non-powers of two are rounded up to one. */
	p = arena_alloc(&a, 5, 12);
	assert_int_equal((uintptr_t)p % 16, 0);
	arena_release(&a);
}

static void test_zero_size_unique(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a);
	void *p = arena_alloc(&a, 0, 1);
	void *q = arena_alloc(&a, 0, 1);
	assert_non_null(p);
	assert_non_null(q);
	assert_ptr_not_equal(p, q);
	arena_release(&a);
}

/* Many allocations across chunks: earlier pointers keep their contents. */
static void test_pointers_never_move(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a);
	enum { N = 20000 };
	char **ptrs = malloc(N * sizeof(*ptrs));
	assert_non_null(ptrs);
	size_t total = 0;
	for (size_t i = 0; i < N; i++) {
		size_t n = i % 97;
		ptrs[i] = arena_alloc(&a, n + 1, 1);
		memset(ptrs[i], (int)(i % 251) + 1, n);
		total += n + 1;
		if (i % 5000 == 0) { /* a big one now and then gets its own chunk */
			char *big = arena_alloc(&a, 3u << 20, 8);
			big[0] = 1;
			big[(3u << 20) - 1] = 2;
			total += 3u << 20;
		}
	}
	for (size_t i = 0; i < N; i++) {
		size_t n = i % 97;
		for (size_t k = 0; k < n; k++)
			assert_int_equal((unsigned char)ptrs[i][k], i % 251 + 1);
		assert_int_equal(ptrs[i][n], 0);
	}
	assert_int_equal(arena_used(&a), total);
	free(ptrs);
	arena_release(&a);
	/* Reusable after release. */
	assert_string_equal(arena_strdup(&a, "again"), "again");
	arena_release(&a);
}

static void test_strings(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a);
	char *s = arena_strdup(&a, "lowerdir");
	assert_string_equal(s, "lowerdir");
	assert_string_equal(arena_strdup(&a, ""), "");
	assert_string_equal(arena_strndup(&a, "abcdef", 3), "abc");
	assert_string_equal(arena_strndup(&a, "ab", 10), "ab"); /* stops at NUL */
	assert_string_equal(arena_strndup(&a, "ab", 0), "");
	char *f = arena_sprintf(&a, "%s=%s:%d", "lowerdir", "/a", 7);
	assert_string_equal(f, "lowerdir=/a:7");
	/* A formatted string bigger than a chunk. */
	char big[10000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *g = arena_sprintf(&a, "<%s>", big);
	assert_int_equal(strlen(g), sizeof(big) + 1);
	assert_int_equal(g[0], '<');
	assert_int_equal(g[sizeof(big)], '>');
	int arr[] = { 1, 2, 3 };
	int *copy = arena_memdup(&a, arr, sizeof(arr));
	assert_memory_equal(copy, arr, sizeof(arr));
	assert_int_equal((uintptr_t)copy % alignof(int), 0);
	assert_string_equal(s, "lowerdir"); /* untouched by later allocations */
	arena_release(&a);
}

/* A NULL-terminated argv laid out in the arena, as the mount plan does. */
static void test_argv_layout(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a);
	const char *src[] = { "/bin/sh", "-c", "echo hi" };
	char **argv = arena_alloc(&a, 4 * sizeof(*argv), alignof(char *));
	for (int i = 0; i < 3; i++)
		argv[i] = arena_strdup(&a, src[i]);
	assert_null(argv[3]); /* zeroed memory */
	for (int i = 0; i < 3; i++)
		assert_string_equal(argv[i], src[i]);
	arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_release),
		cmocka_unit_test(test_alignment_and_zero),
		cmocka_unit_test(test_zero_size_unique),
		cmocka_unit_test(test_pointers_never_move),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_argv_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
