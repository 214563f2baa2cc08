/* Unit tests for core/glob: the glob layer's and filter language's matcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/glob.h"

static struct glob *compile(const char *pattern)
{
	struct glob *g = NULL;
	struct err *e = NULL;
	if (glob_compile(&g, pattern, &e) < 0)
		fail_msg("glob_compile(%s): %s", pattern, err_msg(e));
	assert_non_null(g);
	return g;
}

/* Checks pattern against NULL-terminated lists of matching and
 * non-matching paths. */
static void check(const char *pattern, const char *const *yes, const char *const *no)
{
	struct glob *g = compile(pattern);
	assert_string_equal(glob_pattern(g), pattern);
	for (size_t i = 0; yes[i]; i++)
		if (!glob_match(g, yes[i]))
			fail_msg("`%s` should match `%s`", pattern, yes[i]);
	for (size_t i = 0; no[i]; i++)
		if (glob_match(g, no[i]))
			fail_msg("`%s` should not match `%s`", pattern, no[i]);
	glob_free(g);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

static void check_error(const char *pattern, const char *frag1, const char *frag2)
{
	struct glob *g = (struct glob *)1;
	struct err *e = NULL;
	assert_int_equal(glob_compile(&g, pattern, &e), -1);
	assert_null(g);
	assert_non_null(e);
	if (!strstr(e->msg, frag1) || (frag2 && !strstr(e->msg, frag2)))
		fail_msg("`%s`: message '%s' lacks '%s' / '%s'", pattern, e->msg, frag1,
			 frag2 ? frag2 : "");
	err_free(&e);
}

static void test_literal(void **state)
{
	(void)state;
	check("a/b.txt", L("a/b.txt"), L("a/b.tx", "a/b.txtx", "A/b.txt", "b.txt", ""));
	check("", L(""), L("a"));
	check("a,b", L("a,b"), L("a", "b"));
}

static void test_star(void **state)
{
	(void)state;
	check("*.py", L("a.py", ".py", "x.y.py"), L("a/b.py", "a.pyc", "py"));
	check("src/*", L("src/a", "src/"), L("src", "src/a/b"));
	check("a*b", L("ab", "axxb", "abab"), L("a/b", "a/xb", "ba"));
	check("*", L("", "abc"), L("a/b", "/"));
}

static void test_question(void **state)
{
	(void)state;
	check("a?c", L("abc", "a.c"), L("ac", "abbc", "a/c"));
	/* One code point, not one byte. */
	check("caf?", L("caf\xc3\xa9", "cafe"), L("caf\xc3\xa9x"));
	check("?", L("\xff"), L("\xff\xff"));
}

static void test_classes(void **state)
{
	(void)state;
	check("[abc]", L("a", "b", "c"), L("d", "", "ab"));
	check("[a-z]x", L("ax", "mx", "zx"), L("Ax", "0x", "/x"));
	check("[!a-z]", L("A", "0", "-"), L("a", "q", "/"));
	check("[^0-9]", L("x"), L("5"));
	check("[]a]", L("]", "a"), L("b"));
	check("[!]]", L("a"), L("]"));
	check("[a-]", L("a", "-"), L("b"));
	check("[-a]", L("a", "-"), L("b"));
	check("[\\]x]", L("]", "x"), L("\\"));
	check("[\xc3\xa0-\xc3\xbf]", L("\xc3\xa9"), L("e"));
	/* A class never matches '/'. */
	check("a[/]b", NONE, L("a/b"));
}

static void test_alternatives(void **state)
{
	(void)state;
	check("{a,b}.c", L("a.c", "b.c"), L("c.c", "ab.c", ".c"));
	check("{src/*.rs,tests/**.rs}",
	      L("src/a.rs", "tests/a.rs", "tests/x/y/z.rs"),
	      L("src/x/a.rs", "a.rs", "tests/a.py"));
	check("x{a,b{c,d}}y", L("xay", "xbcy", "xbdy"), L("xby", "xy"));
	check("f{,.bak}", L("f", "f.bak"), L("f.", "fbak"));
	check("{*.py,*.txt}", L("a.py", "b.txt"), L("a.rs"));
}

static void test_double_star(void **state)
{
	(void)state;
	check("**.py", L("a.py", "x/y/a.py", ".py", "a/.py"), L("a.pyc", "a/b"));
	check("src/**/x", L("src/x", "src/a/x", "src/a/b/x"),
	      L("srcx", "src/ax", "x", "src/a/bx", "src/"));
	check("**/x", L("x", "a/x", "a/b/x", "/x"), L("ax", "a/xb"));
	check("**", L("", "a", "a/b/c", "/"), NONE);
	check("src/**", L("src/", "src/a", "src/a/b"), L("src", "srca"));
	check("a**b", L("ab", "a/b", "axx/yyb"), L("a/bc"));
	check("src/**/*.rs", L("src/a.rs", "src/m/a.rs"), L("src/m/a.rs/x", "a.rs"));
	/* `**` inside a component is plain "anything". */
	check("a/x**/b", L("a/x/b", "a/xy/z/b"), L("a/b"));
}

static void test_escapes(void **state)
{
	(void)state;
	check("\\*", L("*"), L("a", ""));
	check("a\\?b", L("a?b"), L("axb"));
	check("\\{a,b\\}", L("{a,b}"), L("a"));
	check("\\[x]", L("[x]"), L("x"));
	check("a\\\\b", L("a\\b"), L("ab"));
}

static void test_errors(void **state)
{
	(void)state;
	check_error("a[bc", "unclosed `[` at column 2", "glob `a[bc`");
	check_error("[]", "unclosed `[` at column 1", NULL);
	check_error("x{a,b", "unclosed `{` at column 2", "escape it as `\\{`");
	check_error("{a,{b}", "unclosed `{` at column 1", NULL);
	check_error("a}b", "unmatched `}` at column 2", NULL);
	check_error("[z-a]", "reversed range at column 2", NULL);
	check_error("ab\\", "trailing `\\` at column 3", NULL);
	char deep[80];
	memset(deep, '{', 40);
	memset(deep + 40, '}', 39);
	deep[79] = '\0';
	check_error(deep, "nested more than 32 deep", NULL);
}

/* Patterns that make a backtracking matcher exponential. */
static void test_no_blowup(void **state)
{
	(void)state;
	char path[4097];
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	struct glob *g = compile("*a*a*a*a*a*a*a*a*a*a*a*a*b");
	assert_false(glob_match(g, path));
	path[sizeof(path) - 2] = 'b';
	assert_true(glob_match(g, path));
	glob_free(g);

	g = compile("**a**a**a**a**a**a**a**a**a**a**a**a**b");
	path[sizeof(path) - 2] = 'a';
	for (size_t i = 100; i < sizeof(path) - 1; i += 100)
		path[i] = '/';
	assert_false(glob_match(g, path));
	glob_free(g);

	/* Many alternatives and a big class table stay correct. */
	g = compile("{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}"
		    "{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}"
		    "{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}");
	assert_true(glob_match(g, "abcdefghhgfe"));
	assert_false(glob_match(g, "abcdefghhgfz"));
	glob_free(g);
}

static void test_literal_prefix(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "src/a/**.py", "src/a" },
		{ "a/b/c", "a/b" },
		{ "/x*", "/" },
		{ "/usr/lib/*.so", "/usr/lib" },
		{ "*.py", "" },
		{ "**/x", "" },
		{ "src/{a,b}/x", "src" },
		{ "layers/c/*.bin", "layers/c" },
		{ "we\\*ird/x*", "we*ird" },
		{ "abc", "" },
		{ "src/**", "src" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct glob *g = compile(cases[i][0]);
		if (strcmp(glob_literal_prefix(g), cases[i][1]) != 0)
			fail_msg("prefix of `%s`: want `%s`, got `%s`", cases[i][0], cases[i][1],
				 glob_literal_prefix(g));
		glob_free(g);
	}
}

static void check_below(const char *pattern, const char *const *yes, const char *const *no)
{
	struct glob *g = compile(pattern);
	for (size_t i = 0; yes[i]; i++)
		if (!glob_may_match_below(g, yes[i]))
			fail_msg("`%s`: something below `%s` may match", pattern, yes[i]);
	for (size_t i = 0; no[i]; i++)
		if (glob_may_match_below(g, no[i]))
			fail_msg("`%s`: nothing below `%s` can match", pattern, no[i]);
	glob_free(g);
}

static void test_may_match_below(void **state)
{
	(void)state;
	check_below("src/*.py", L("", "src", "src/"), L("tests", "src/a", "sr", "srcx"));
	check_below("**.py", L("", "a", "a/b/c"), NONE);
	check_below("src/**/x", L("src", "src/a", "src/a/b"), L("lib", "x"));
	check_below("{a,b/c}/*", L("a", "b", "b/c"), L("c", "b/d", "a/x"));
	check_below("a/b", L("", "a"), L("a/b", "b"));
	check_below("", NONE, L("", "a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_question),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_alternatives),
		cmocka_unit_test(test_double_star),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_blowup),
		cmocka_unit_test(test_literal_prefix),
		cmocka_unit_test(test_may_match_below),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
