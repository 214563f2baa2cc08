#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/size.h"

static uint64_t parse_ok(const char *text)
{
	uint64_t v = 12345;
	struct err *e = NULL;
	int rc = size_parse(text, &v, &e);
	if (rc != 0)
		fail_msg("size_parse(\"%s\") failed: %s", text, err_msg(e));
	assert_null(e);
	return v;
}

static void expect_error(const char *text, const char *msg)
{
	uint64_t v = 777;
	struct err *e = NULL;
	assert_int_equal(size_parse(text, &v, &e), -1);
	assert_non_null(e);
	assert_string_equal(err_msg(e), msg);
	assert_int_equal(v, 777); /* untouched on failure */
	err_free(&e);
}

static void test_plain_bytes(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("4096"), 4096);
	assert_int_equal(parse_ok("  17  "), 17);
	assert_int_equal(parse_ok("18446744073709551615"), UINT64_MAX);
}

static void test_units(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("512 B"), 512);
	assert_int_equal(parse_ok("512b"), 512);
	assert_int_equal(parse_ok("1KB"), 1000);
	assert_int_equal(parse_ok("1 MB"), 1000000);
	assert_int_equal(parse_ok("1 GB"), 1000000000ULL);
	assert_int_equal(parse_ok("2 TB"), 2000000000000ULL);
	assert_int_equal(parse_ok("1KiB"), 1024);
	assert_int_equal(parse_ok("8 MiB"), 8ULL << 20);
	assert_int_equal(parse_ok("1 GiB"), 1ULL << 30);
	assert_int_equal(parse_ok("2 TiB"), 2ULL << 40);
	assert_int_equal(parse_ok("1 gb"), 1000000000ULL);
	assert_int_equal(parse_ok("1 gib"), 1ULL << 30);
	assert_int_equal(parse_ok("1 KIB"), 1024);
	assert_int_equal(parse_ok("3\tmb"), 3000000);
}

static void test_fractions(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1.5 GB"), 1500000000ULL);
	assert_int_equal(parse_ok("0.5 KiB"), 512);
	assert_int_equal(parse_ok("1.1 KiB"), 1126); /* 1126.4 rounds down */
	assert_int_equal(parse_ok("2.25MB"), 2250000);
	assert_int_equal(parse_ok("1.0000000000000000000000001 KB"), 1000);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("", "an empty value is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("   ", "an empty value is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("abc", "`abc` is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("-1 GB", "`-1 GB` is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("1.", "`1.` is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("1,5 GB", "`1,5 GB` is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("1 GB x", "`1 GB x` is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("1 GB2", "`1 GB2` is not a size; write a number with an optional unit, like `1 GB`");
	expect_error("1 XB", "`1 XB` is not a size: unknown unit `XB`; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB");
	expect_error("5 G", "`5 G` is not a size: unknown unit `G`; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB");
	expect_error("18446744073709551616",
		     "`18446744073709551616` is too large; the largest size is 18446744073709551615 bytes");
	expect_error("99999999999999999999999 B",
		     "`99999999999999999999999 B` is too large; the largest size is 18446744073709551615 bytes");
	expect_error("20000000 TB",
		     "`20000000 TB` is too large; the largest size is 18446744073709551615 bytes");
	expect_error("16777216 TiB",
		     "`16777216 TiB` is too large; the largest size is 18446744073709551615 bytes");
	/* Errors go nowhere when err is NULL, but still fail. */
	uint64_t v = 0;
	assert_int_equal(size_parse("zz", &v, NULL), -1);
}

static void expect_format(uint64_t bytes, const char *want)
{
	char buf[SIZE_FORMAT_MAX];
	assert_string_equal(size_format(bytes, buf), want);
}

static void test_format(void **state)
{
	(void)state;
	expect_format(0, "0 B");
	expect_format(999, "999 B");
	expect_format(1000, "1 KB");
	expect_format(1024, "1 KiB");
	expect_format(1000000000ULL, "1 GB");
	expect_format(64ULL << 20, "64 MiB");
	expect_format(1500000000ULL, "1.5 GB");
	expect_format(1234, "1.2 KB");
	expect_format(999950, "1.0 MB"); /* 999.95 KB rounds up into the next unit */
	expect_format(5ULL << 40, "5 TiB");
	expect_format(3000000000000000ULL, "3000 TB");
	expect_format(UINT64_MAX, "18446744.1 TB");
}

static void test_format_round_trips(void **state)
{
	(void)state;
	const uint64_t exact[] = { 0, 1, 999, 1000, 2048, 1000000, 3ULL << 30, 7000000000000ULL,
				   1ULL << 40 };
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		char buf[SIZE_FORMAT_MAX];
		assert_int_equal(parse_ok(size_format(exact[i], buf)), exact[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_bytes),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
