/* Unit tests for core/envexpand: the book's environment computation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/envexpand.h"

/* Builds an env_spec from alternating name, value strings (not copied:
 * env_compute only reads them). */
#define VARS(...) ((struct env_var[]){ __VA_ARGS__ })
#define V(n, v) { (char *)(n), (char *)(v) }
#define SPEC(ext, ...)                                                          \
	{ .vars = VARS(__VA_ARGS__),                                            \
	  .n_vars = sizeof(VARS(__VA_ARGS__)) / sizeof(struct env_var), .extend = ext }

static char *client[] = {
	"HOME=/home/u", "BAZ=client-baz", "EMPTY=", "DUP=first", "DUP=second", NULL,
};

/* Runs env_compute and compares with the NULL-terminated want list. */
static void check(const struct env_spec *specs, size_t n, char *const *initial,
		  const char *const *want)
{
	char **out = NULL;
	struct err *e = NULL;
	if (env_compute(specs, n, initial, client, &out, &e) < 0)
		fail_msg("env_compute: %s", err_msg(e));
	size_t i = 0;
	for (; want[i]; i++) {
		if (!out[i])
			fail_msg("missing %s", want[i]);
		assert_string_equal(out[i], want[i]);
	}
	if (out[i])
		fail_msg("unexpected %s", out[i]);
	env_free(out);
}

#define WANT(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define EMPTY_WANT ((const char *const[]){ NULL })

static void check_error(const struct env_spec *specs, size_t n, const char *want)
{
	char **out = (char **)1;
	struct err *e = NULL;
	assert_int_equal(env_compute(specs, n, NULL, client, &out, &e), -1);
	assert_null(out);
	assert_non_null(e);
	if (strcmp(e->msg, want) != 0)
		fail_msg("message\n  '%s'\nwanted\n  '%s'", e->msg, want);
	err_free(&e);
}

static void test_plain(void **state)
{
	(void)state;
	struct env_spec s[] = { SPEC(false, V("FOO", "foo"), V("BAR", "bar")) };
	check(s, 1, NULL, WANT("BAR=bar", "FOO=foo"));
	struct env_spec t[] = { SPEC(true, V("FOO", "foo"), V("BAR", "bar")) };
	check(t, 1, NULL, WANT("BAR=bar", "FOO=foo"));
	check(NULL, 0, NULL, EMPTY_WANT);
}

static void test_env_refs(void **state)
{
	(void)state;
	struct env_spec s[] = { SPEC(false, V("H", "$env{HOME}/x"), V("E", "[$env{EMPTY}]"),
				     V("D", "$env{DUP}"),
				     V("RB", "$env{RUST_BACKTRACE:-0}"),
				     V("TWO", "$env{HOME}:$env{BAZ}")) };
	check(s, 1, NULL,
	      WANT("D=first", "E=[]", "H=/home/u/x", "RB=0", "TWO=/home/u:client-baz"));
}

static void test_defaults(void **state)
{
	(void)state;
	struct env_spec s[] = { SPEC(false, V("A", "$env{NOPE:-}"), V("B", "$env{NOPE:-a:b-c}"),
				     V("C", "$env{NOPE:-$env{HOME}}"),
				     V("D", "$env{NOPE:-{x}}"),
				     V("E", "$env{HOME:-$env{NOPE}}")) };
	/* E: the default holds an unset reference but is not used. */
	check(s, 1, NULL, WANT("A=", "B=a:b-c", "C=/home/u", "D={x}", "E=/home/u"));
}

static void test_literal_dollars(void **state)
{
	(void)state;
	struct env_spec s[] = { SPEC(false, V("A", "$$"), V("B", "$HOME"), V("C", "a$"),
				     V("D", "$$env{HOME}"), V("E", "cost: 5$ {x}"),
				     V("F", "$env")) };
	check(s, 1, NULL,
	      WANT("A=$$", "B=$HOME", "C=a$", "D=$$env{HOME}", "E=cost: 5$ {x}", "F=$env"));
}

static void test_prev_and_merge(void **state)
{
	(void)state;
	/* The book's three-element example. */
	struct env_spec s[] = {
		SPEC(false, V("FOO", "foo1"), V("BAR", "bar1")),
		SPEC(true, V("FOO", "foo2"), V("BAZ", "$env{BAZ}")),
		SPEC(false, V("FOO", "$prev{BAZ}"), V("BAR", "$prev{BAR}")),
	};
	check(s, 3, NULL, WANT("BAR=bar1", "FOO=client-baz"));
	check(s, 2, NULL, WANT("BAR=bar1", "BAZ=client-baz", "FOO=foo2"));
}

static void test_initial(void **state)
{
	(void)state;
	char *image[] = { "PATH=/usr/bin:/bin", "LANG=C", "noequals", "=bad", "LANG=C.UTF-8", NULL };
	struct env_spec prepend[] = { SPEC(true, V("PATH", "/my-bin:$prev{PATH}")) };
	check(prepend, 1, image, WANT("LANG=C.UTF-8", "PATH=/my-bin:/usr/bin:/bin"));
	struct env_spec keep[] = { SPEC(false, V("PATH", "$prev{PATH}"), V("FOO", "foo")) };
	check(keep, 1, image, WANT("FOO=foo", "PATH=/usr/bin:/bin"));
	/* $prev sees the map before this element, not the element itself. */
	struct env_spec self[] = { SPEC(true, V("LANG", "x"), V("OLD", "$prev{LANG}")) };
	check(self, 1, image, WANT("LANG=x", "OLD=C.UTF-8", "PATH=/usr/bin:/bin"));
	check(NULL, 0, image, WANT("LANG=C.UTF-8", "PATH=/usr/bin:/bin"));
}

static void test_sorted(void **state)
{
	(void)state;
	struct env_spec s[] = { SPEC(false, V("b", "1"), V("A", "2"), V("a", "3"), V("B", "4"),
				     V("a", "5")) };
	check(s, 1, NULL, WANT("A=2", "B=4", "a=5", "b=1"));
}

static void test_errors(void **state)
{
	(void)state;
	struct env_spec s1[] = { SPEC(false, V("FOO", "x$env{HOME2}")) };
	check_error(s1, 1,
		    "environment[0].FOO: $env{HOME2} is not set in the client's environment; "
		    "set it or write $env{HOME2:-default}");
	struct env_spec s2[] = { SPEC(false, V("A", "1")), SPEC(true, V("P", "$prev{PATH}")) };
	check_error(s2, 2,
		    "environment[1].P: $prev{PATH} is not set by the image or an earlier "
		    "environment element; set it there or write $prev{PATH:-default}");
	struct env_spec s3[] = { SPEC(false, V("U", "ab$env{HOME")) };
	check_error(s3, 1, "environment[0].U: `$env{` at column 3 has no closing `}`");
	struct env_spec s4[] = { SPEC(false, V("U", "$prev{X:-{y}")) };
	check_error(s4, 1, "environment[0].U: `$prev{` at column 1 has no closing `}`");
	struct env_spec s5[] = { SPEC(false, V("S", "${HOME}")) };
	check_error(s5, 1,
		    "environment[0].S: unknown expansion `${` at column 1: write $env{NAME} for "
		    "the client's variable or $prev{NAME} for the value before this element");
	struct env_spec s6[] = { SPEC(false, V("S", "a$path{X}")) };
	check_error(s6, 1,
		    "environment[0].S: unknown expansion `$path{` at column 2: write $env{NAME} "
		    "for the client's variable or $prev{NAME} for the value before this element");
	struct env_spec s7[] = { SPEC(false, V("E", "$env{}")) };
	check_error(s7, 1,
		    "environment[0].E: `$env{}` at column 1 does not name a variable: "
		    "write $env{NAME}");
	struct env_spec s8[] = { SPEC(false, V("", "x")) };
	check_error(s8, 1, "environment[0]: a variable has an empty name");
	struct env_spec s9[] = { SPEC(false, V("A=B", "x")) };
	check_error(s9, 1, "environment[0].A=B: a variable name cannot hold `=`");
	struct env_spec s10[] = { SPEC(false, V("N", "$env{NOPE:-$env{ALSO_NOPE}}")) };
	check_error(s10, 1,
		    "environment[0].N: $env{ALSO_NOPE} is not set in the client's environment; "
		    "set it or write $env{ALSO_NOPE:-default}");
}

static void test_lookup(void **state)
{
	(void)state;
	assert_string_equal(env_lookup(client, "HOME"), "/home/u");
	assert_string_equal(env_lookup(client, "EMPTY"), "");
	assert_string_equal(env_lookup(client, "DUP"), "first");
	assert_null(env_lookup(client, "HOM"));
	assert_null(env_lookup(client, "HOMEX"));
	assert_null(env_lookup(NULL, "HOME"));
	env_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_env_refs),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_literal_dollars),
		cmocka_unit_test(test_prev_and_merge),
		cmocka_unit_test(test_initial),
		cmocka_unit_test(test_sorted),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
