/* Unit tests for runners/filter: the test-filter pattern language. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runners/filter.h"

/* ---- a fake test case: NULL fields are "not known yet" ------------------- */

struct tcase {
	const char *kind;      /* cargo target kind: library, binary, test, ... */
	const char *target;    /* cargo target name (binary/benchmark/example/test) */
	const char *name;
	const char *package;
	const char *file;
	const char *node_id;
	const char *markers;   /* '\n'-joined */
};

static const char *lookup(void *arg, const char *sel)
{
	const struct tcase *t = arg;

	if (strcmp(sel, "name") == 0)
		return t->name;
	if (strcmp(sel, "package") == 0)
		return t->package;
	if (strcmp(sel, "file") == 0)
		return t->file;
	if (strcmp(sel, "node_id") == 0)
		return t->node_id;
	if (strcmp(sel, "markers") == 0)
		return t->markers;
	if (!strcmp(sel, "binary") || !strcmp(sel, "benchmark") || !strcmp(sel, "example") ||
	    !strcmp(sel, "test"))
		return t->target;   /* deliberately whatever the kind: filter checks it */
	fail_msg("lookup of unexpected selector `%s`", sel);
	return NULL;
}

static bool simple(void *arg, const char *sel, bool *known)
{
	const struct tcase *t = arg;

	if (!t->kind) {
		*known = false;
		return false;
	}
	return strcmp(t->kind, sel) == 0;
}

static struct filter *parse(const struct filter_flavor *fl, const char *text)
{
	struct filter *f = NULL;
	struct err *e = NULL;

	if (filter_parse(text, fl, &f, &e) < 0)
		fail_msg("filter_parse(%s): %s", text, err_msg(e));
	assert_null(e);
	assert_non_null(f);
	return f;
}

static enum filter_value eval_text(const struct filter_flavor *fl, const char *text,
				   const struct tcase *t)
{
	struct filter *f = parse(fl, text);
	enum filter_value v = filter_eval(f, lookup, simple, (void *)t);

	filter_free(f);
	return v;
}

#define T FILTER_TRUE
#define F FILTER_FALSE
#define U FILTER_UNKNOWN
#define CARGO (&filter_flavor_cargo)
#define PYTEST (&filter_flavor_pytest)

static void check_eval(const struct filter_flavor *fl, const char *text, const struct tcase *t,
		       enum filter_value want)
{
	enum filter_value got = eval_text(fl, text, t);

	if (got != want)
		fail_msg("`%s`: got %d, want %d", text, got, want);
}

/* Parses text, checks its canonical form, and that the form parses back to
 * itself. */
static void check_canon(const struct filter_flavor *fl, const char *text, const char *want)
{
	struct filter *f = parse(fl, text), *g;
	char *s = filter_to_string(f), *s2;

	if (strcmp(s, want) != 0)
		fail_msg("`%s`: canonical `%s`, want `%s`", text, s, want);
	g = parse(fl, s);
	s2 = filter_to_string(g);
	assert_string_equal(s2, s);
	free(s2);
	free(s);
	filter_free(g);
	filter_free(f);
}

/* Checks that text fails to parse with a message holding every fragment. */
static void check_error(const struct filter_flavor *fl, const char *text, ...)
{
	struct filter *f = (struct filter *)1;
	struct err *e = NULL;
	const char *frag;
	va_list ap;

	if (filter_parse(text, fl, &f, &e) == 0)
		fail_msg("`%s` should not parse", text);
	assert_null(f);
	assert_non_null(e);
	va_start(ap, text);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(e->msg, frag))
			fail_msg("`%s`: message '%s' lacks '%s'", text, e->msg, frag);
	va_end(ap);
	err_free(&e);
}

#define ERR(fl, text, ...) check_error(fl, text, __VA_ARGS__, (const char *)NULL)

/* ---- the book's examples ------------------------------------------------ */

static void test_book_cargo(void **state)
{
	(void)state;
	struct tcase my = { "library", NULL, "foo::tests::my_test", "foo", 0, 0, 0 };
	struct tcase bin = { "binary", "maelstrom-run", "t", "baz", 0, 0, 0 };
	struct tcase lib = { "library", "maelstrom-run", "t", "foofoobar", 0, 0, 0 };

	check_eval(CARGO, "name.equals(foo::tests::my_test)", &my, T);
	check_eval(CARGO, "name.equals(foo::tests::my_test)", &bin, F);
	check_eval(CARGO, "binary.contains/maelstrom/", &bin, T);
	/* binary.x(...) is `binary && binary.x(...)`: a library never matches */
	check_eval(CARGO, "binary.contains/maelstrom/", &lib, F);
	check_eval(CARGO, "package.matches{(foo)*bar}", &lib, T);
	check_eval(CARGO, "package.matches{(foo)*bar}", &bin, F);

	struct tcase foo_q = { "library", NULL, "foo", "qux", 0, 0, 0 };
	struct tcase bar_b = { "library", NULL, "bar", "baz", 0, 0, 0 };
	struct tcase bar_q = { "library", NULL, "bar", "qux", 0, 0, 0 };
	const char *e1 = "(name.equals(foo) || name.equals(bar)) && package.equals(baz)";
	const char *e2 = "name.equals(foo) || (name.equals(bar) && package.equals(baz))";
	check_eval(CARGO, e1, &foo_q, F);
	check_eval(CARGO, e1, &bar_b, T);
	check_eval(CARGO, e2, &foo_q, T);
	check_eval(CARGO, e2, &bar_b, T);
	check_eval(CARGO, e2, &bar_q, F);

	/* abbreviations: all the same */
	check_canon(CARGO, "name.equals(foo)", "name.equals(foo)");
	check_canon(CARGO, "name.eq(foo)", "name.equals(foo)");
	check_canon(CARGO, "n.eq(foo)", "name.equals(foo)");
	check_canon(CARGO, "p.eq(baz) & n.eq(foobar)",
		    "package.equals(baz) && name.equals(foobar)");
	check_canon(CARGO, "package.equals(baz) && name.equals(foobar)",
		    "package.equals(baz) && name.equals(foobar)");
	ERR(CARGO, "name.e(foo)", "ambiguous matcher `e` at column 6",
	    "could be `equals` or `ends_with`");
}

static void test_book_pytest(void **state)
{
	(void)state;
	struct tcase t = { 0, 0, "test_method", "pkg", "src/maelstrom/test_mod.py",
			   "test_mod.py::TestClass::test_method", "foo\nbar" };
	struct tcase u = { 0, 0, "other", "foobar", "tests/x.py", "x.py::other", "" };

	check_eval(PYTEST, "node_id.equals(test_mod.py::TestClass::test_method)", &t, T);
	check_eval(PYTEST, "node_id.equals(test_mod.py::TestClass::test_method)", &u, F);
	check_eval(PYTEST, "file.contains/maelstrom/", &t, T);
	check_eval(PYTEST, "file.contains/maelstrom/", &u, F);
	check_eval(PYTEST, "package.matches{(foo)*bar}", &u, T);
	check_eval(PYTEST, "markers.contains(foo)", &t, T);
	check_eval(PYTEST, "markers.contains/bar/", &t, T);
	check_eval(PYTEST, "markers.contains(fo)", &t, F);    /* membership, not substring */
	check_eval(PYTEST, "markers.contains(o\nb)", &t, F);
	check_eval(PYTEST, "markers.contains(foo)", &u, F);   /* no markers */
	check_eval(PYTEST, "markers.contains()", &u, F);
	check_canon(PYTEST, "m.c(slow)", "markers.contains(slow)");
	check_canon(PYTEST, "no.eq(a) | f.eq(b) | p.eq(c) | na.eq(d)",
		    "((node_id.equals(a) || file.equals(b)) || package.equals(c)) || "
		    "name.equals(d)");
	/* `n` is both name and node_id as a compound selector */
	ERR(PYTEST, "n.eq(x)", "ambiguous selector `n` at column 1",
	    "could be `name` or `node_id`");
}

/* ---- simple selectors --------------------------------------------------- */

static void test_simple_selectors(void **state)
{
	(void)state;
	struct tcase lib = { "library", 0, 0, 0, 0, 0, 0 };
	struct tcase bench = { "benchmark", 0, 0, 0, 0, 0, 0 };
	const char *yes[] = { "all", "any", "true", "all()", "any ( )", "true()" };
	const char *no[] = { "none", "false", "none()", "false( )" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		check_eval(CARGO, yes[i], &lib, T);
		check_eval(PYTEST, yes[i], &lib, T);
		check_eval(NULL, yes[i], &lib, T);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		check_eval(CARGO, no[i], &lib, F);
		check_eval(PYTEST, no[i], &lib, F);
	}
	check_eval(CARGO, "library", &lib, T);
	check_eval(CARGO, "library()", &lib, T);
	check_eval(CARGO, "library", &bench, F);
	check_eval(CARGO, "benchmark()", &bench, T);
	check_eval(CARGO, "binary", &bench, F);
	check_eval(CARGO, "example", &bench, F);
	check_eval(CARGO, "test", &bench, F);
	check_canon(CARGO, "true()", "true");
	check_canon(CARGO, "library ()", "library");
	/* pytest has no `library` */
	ERR(PYTEST, "library", "unknown selector `library` at column 1");
}

/* ---- operators ---------------------------------------------------------- */

static void test_operator_spellings(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "all | none", "all || none" },
		{ "all || none", "all || none" },
		{ "all or none", "all || none" },
		{ "all & none", "all && none" },
		{ "all && none", "all && none" },
		{ "all and none", "all && none" },
		{ "all + none", "all && none" },
		{ "all \\ none", "all - none" },
		{ "all - none", "all - none" },
		{ "all minus none", "all - none" },
		{ "!all", "!all" },
		{ "~all", "!all" },
		{ "not all", "!all" },
		{ "not(all)", "!all" },
		{ "!!all", "!!all" },
		{ "not not ~ ! all", "!!!!all" },
		/* word operators by unambiguous prefix */
		{ "all an none", "all && none" },
		{ "all o none", "all || none" },
		{ "all m none", "all - none" },
		{ "all minu none", "all - none" },
		/* no whitespace needed around symbols */
		{ "name.equals(a)||name.equals(b)", "name.equals(a) || name.equals(b)" },
		{ "all&&!none", "all && !none" },
		{ "all-none", "all - none" },
		{ "(all)or(none)", "all || none" },
		/* whitespace anywhere between tokens */
		{ " \t( all )\n&&\r\n! none  ", "all && !none" },
		{ "name . equals (x)", "name.equals(x)" },
		{ "library ( ) | test", "library || test" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_canon(CARGO, cases[i][0], cases[i][1]);
	ERR(CARGO, "allandnone", "unknown selector `allandnone` at column 1");
	ERR(CARGO, "all andnone", "found `andnone`");
	ERR(CARGO, "all adn none", "column 5", "found `adn` (did you mean `and`?)");
}

static void test_precedence(void **state)
{
	(void)state;
	struct tcase t = { 0 };

	/* and binds tighter than or */
	check_canon(CARGO, "all | none & none", "all || (none && none)");
	check_eval(CARGO, "all | none & none", &t, T);
	check_canon(CARGO, "none & none | all", "(none && none) || all");
	check_eval(CARGO, "none & none | all", &t, T);
	check_eval(CARGO, "(all | none) & none", &t, F);
	/* diff is at the level of and */
	check_canon(CARGO, "all | all - all", "all || (all - all)");
	check_eval(CARGO, "all | all - all", &t, T);
	/* left associativity: (all - none) - all, not all - (none - all) */
	check_canon(CARGO, "all - none - all", "(all - none) - all");
	check_eval(CARGO, "all - none - all", &t, F);
	check_eval(CARGO, "all - (none - all)", &t, T);
	check_canon(CARGO, "all - all & none", "(all - all) && none");
	check_eval(CARGO, "all - all & none", &t, F);
	check_eval(CARGO, "all - (all & none)", &t, T);
	check_canon(CARGO, "all | none | all", "(all || none) || all");
	/* not binds tightest */
	check_canon(CARGO, "!all | all", "!all || all");
	check_eval(CARGO, "!all | all", &t, T);
	check_eval(CARGO, "!(all | all)", &t, F);
	check_canon(CARGO, "not all and none or all", "(!all && none) || all");
	check_canon(CARGO, "p.eq(baz) & n.eq(foobar) | all",
		    "(package.equals(baz) && name.equals(foobar)) || all");
	check_canon(CARGO, "!(all & none)", "!(all && none)");
	check_eval(CARGO, "~none & !none", &t, T);
	check_eval(CARGO, "((((all))))", &t, T);
}

/* ---- arguments and delimiters ------------------------------------------- */

static void check_param(const char *text, const char *value, enum filter_value want)
{
	struct tcase t = { "library", 0, value, 0, 0, 0, 0 };

	check_eval(CARGO, text, &t, want);
}

static void test_delimiters(void **state)
{
	(void)state;
	check_param("name.equals(foo)", "foo", T);
	check_param("name.equals[foo]", "foo", T);
	check_param("name.equals{foo}", "foo", T);
	check_param("name.equals<foo>", "foo", T);
	check_param("name.equals/foo/", "foo", T);
	check_param("name.equals\"foo\"", "foo", T);
	check_param("name.equals'foo'", "foo", T);
	check_param("name.equals|foo|", "foo", T);
	check_param("name.equals#foo#", "foo", T);
	check_param("name.equals:a b:", "a b", T);
	check_param("name.equals!x!", "x", T);
	check_param("name.equals,x,", "x", T);
	check_param("name.equals(foo)", "fo", F);
	/* the argument is raw: operators and other delimiters inside are text */
	check_param("name.equals/a(b|c)&!d/", "a(b|c)&!d", T);
	check_param("name.equals[ x ]", " x ", T);
	check_param("name.equals()", "", T);
	check_param("name.equals//", "x", F);
	/* brackets nest in balanced pairs of their own kind */
	check_param("name.equals((hello))", "(hello)", T);
	check_param("name.equals((a)(b))", "(a)(b)", T);
	check_param("name.equals(([x]))", "([x])", T);
	check_param("name.equals(he[llo)", "he[llo", T);
	check_param("name.equals[(]", "(", T);
	check_param("name.equals{a{b}c}", "a{b}c", T);
	check_param("name.matches((a|b)c)", "xbc", T);
	/* canonical form keeps the delimiters */
	check_canon(CARGO, "n.eq/foo/", "name.equals/foo/");
	check_canon(CARGO, "n.eq<a(b>", "name.equals<a(b>");
	check_canon(CARGO, "n.eq((a))", "name.equals((a))");
	check_canon(CARGO, "n.c\"x\" & n.s'y'", "name.contains\"x\" && name.starts_with'y'");

	ERR(CARGO, "name.equals(foo", "unterminated argument",
	    "the `(` at column 12 has no matching `)`");
	ERR(CARGO, "name.equals((foo)", "the `(` at column 12");
	ERR(CARGO, "name.equals/foo", "the `/` at column 12 has no matching `/`");
	ERR(CARGO, "name.equals", "expected an argument", "column 12",
	    "found the end of the filter");
	ERR(CARGO, "name.equals foo", "expected an argument", "found `foo`");
	ERR(CARGO, "name.equals _x_", "expected an argument", "found `_x_`");
	ERR(CARGO, "name.equals_x_", "unknown matcher `equals_x_`");
}

/* ---- matchers ----------------------------------------------------------- */

static void test_matchers(void **state)
{
	(void)state;
	check_param("name.equals(abc)", "abc", T);
	check_param("name.equals(abc)", "abcd", F);
	check_param("name.contains(bc)", "abcd", T);
	check_param("name.contains(bd)", "abcd", F);
	check_param("name.starts_with(ab)", "abcd", T);
	check_param("name.starts_with(bc)", "abcd", F);
	check_param("name.ends_with(cd)", "abcd", T);
	check_param("name.ends_with(bc)", "abcd", F);
	check_param("name.ends_with(xabcd)", "abcd", F);
	/* matches: POSIX ERE, unanchored search */
	check_param("name.matches(b.d)", "abcd", T);
	check_param("name.matches(^b)", "abcd", F);
	check_param("name.matches(^a[a-z]+$)", "abcd", T);
	check_param("name.matches(x|cd$)", "abcd", T);
	/* globs: whole-value match, core/glob syntax */
	check_param("name.globs(a*)", "abcd", T);
	check_param("name.globs(b*)", "abcd", F);
	check_param("name.globs(a?c?)", "abcd", T);
	check_param("name.globs(src/*.rs)", "src/x.rs", T);
	check_param("name.globs(src/*.rs)", "src/a/x.rs", F);
	check_param("name.globs(src/**/*.rs)", "src/a/x.rs", T);
	check_param("name.globs{{a,b}cd}", "bcd", T);
	/* every matcher by prefix */
	check_canon(CARGO, "n.eq(x)|n.en(x)|n.c(x)|n.s(x)|n.m(x)|n.g(x)",
		    "((((name.equals(x) || name.ends_with(x)) || name.contains(x)) || "
		    "name.starts_with(x)) || name.matches(x)) || name.globs(x)");
	check_canon(CARGO, "name.starts_with(x)", "name.starts_with(x)");
}

/* ---- prefixes and ambiguity --------------------------------------------- */

static void test_prefixes(void **state)
{
	(void)state;
	/* compound context: only compound selectors compete */
	check_canon(CARGO, "n.eq(x)", "name.equals(x)");
	check_canon(CARGO, "p.eq(x)", "package.equals(x)");
	check_canon(CARGO, "bi.eq(x)", "binary.equals(x)");
	check_canon(CARGO, "be.eq(x)", "benchmark.equals(x)");
	check_canon(CARGO, "e.eq(x)", "example.equals(x)");
	check_canon(CARGO, "t.eq(x)", "test.equals(x)");
	ERR(CARGO, "b.eq(x)", "ambiguous selector `b` at column 1",
	    "could be `binary` or `benchmark`");
	/* simple context: only simple selectors compete */
	check_canon(CARGO, "n", "none");
	check_canon(CARGO, "f", "false");
	check_canon(CARGO, "l", "library");
	check_canon(CARGO, "al | an", "all || any");
	check_canon(CARGO, "tr & te", "true && test");
	check_canon(CARGO, "bi - be", "binary - benchmark");
	check_canon(CARGO, "ex()", "example");
	ERR(CARGO, "a", "ambiguous selector `a` at column 1", "could be `all` or `any`");
	ERR(CARGO, "all & t", "ambiguous selector `t` at column 7",
	    "could be `true` or `test`");
	ERR(CARGO, "b", "could be `binary` or `benchmark`");
	/* an exact name wins over longer names it prefixes */
	static const char *const simple_x[] = { "lib", "library", NULL };
	static const char *const comp_x[] = { "name", "names", NULL };
	struct filter_flavor x = { .simple = simple_x, .compound = comp_x };
	check_canon(&x, "lib | libr", "lib || library");
	check_canon(&x, "name.eq(a) | names.eq(b)", "name.equals(a) || names.equals(b)");
	ERR(&x, "nam.eq(a)", "could be `name` or `names`");
	/* `not` must be spelled out: `no` is `none` */
	ERR(CARGO, "no all", "expected an operator", "found `all`");
}

/* ---- three-valued evaluation -------------------------------------------- */

static void test_three_valued(void **state)
{
	(void)state;
	/* only the package is known: which packages must be built? */
	struct tcase baz = { 0, 0, 0, "baz", 0, 0, 0 };
	struct tcase qux = { 0, 0, 0, "qux", 0, 0, 0 };
	const char *p = "package.equals(baz) && name.equals(foobar)";

	check_eval(CARGO, p, &baz, U);
	check_eval(CARGO, p, &qux, F);
	check_eval(CARGO, "name.equals(foobar)", &baz, U);
	check_eval(CARGO, "package.equals(baz) || name.equals(x)", &baz, T);
	check_eval(CARGO, "package.equals(baz) || name.equals(x)", &qux, U);
	check_eval(CARGO, "name.equals(x) - package.equals(baz)", &baz, F);
	check_eval(CARGO, "name.equals(x) - package.equals(baz)", &qux, U);

	/* Kleene truth tables, with U = name.equals(x) on an unknown name */
	static const struct {
		const char *text;
		enum filter_value want;
	} k[] = {
		{ "n.eq(x)", U },          { "!n.eq(x)", U },
		{ "n.eq(x) & all", U },    { "n.eq(x) & none", F },
		{ "all & n.eq(x)", U },    { "none & n.eq(x)", F },
		{ "n.eq(x) | all", T },    { "n.eq(x) | none", U },
		{ "all | n.eq(x)", T },    { "none | n.eq(x)", U },
		{ "n.eq(x) - all", F },    { "n.eq(x) - none", U },
		{ "all - n.eq(x)", U },    { "none - n.eq(x)", F },
		{ "n.eq(x) & n.eq(y)", U }, { "n.eq(x) | n.eq(y)", U },
		{ "!(n.eq(x) | all)", F },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(*k); i++)
		check_eval(CARGO, k[i].text, &baz, k[i].want);

	/* flavor simple selectors: unknown kind */
	struct tcase nokind = { 0, "foo", "n", "p", 0, 0, 0 };
	check_eval(CARGO, "library", &nokind, U);
	check_eval(CARGO, "library | all", &nokind, T);
	check_eval(CARGO, "library & none", &nokind, F);
	/* binary.equals(foo) == binary && binary.equals(foo) */
	struct tcase binfoo = { "binary", "foo", 0, 0, 0, 0, 0 };
	struct tcase libfoo = { "library", "foo", 0, 0, 0, 0, 0 };
	struct tcase binunk = { "binary", NULL, 0, 0, 0, 0, 0 };
	struct tcase unkbar = { 0, "bar", 0, 0, 0, 0, 0 };
	check_eval(CARGO, "binary.equals(foo)", &binfoo, T);
	check_eval(CARGO, "binary.equals(foo)", &libfoo, F);
	check_eval(CARGO, "binary.equals(foo)", &binunk, U);
	check_eval(CARGO, "binary.equals(foo)", &nokind, U);
	check_eval(CARGO, "binary.equals(foo)", &unkbar, F);
	check_eval(CARGO, "test.equals(foo)", &binfoo, F);
	/* name is not a simple selector: no such check */
	check_eval(CARGO, "name.equals(n)", &nokind, T);

	/* missing callbacks mean unknown */
	struct filter *f = parse(CARGO, "library | name.equals(x)");
	assert_int_equal(filter_eval(f, NULL, NULL, NULL), U);
	filter_free(f);
	f = parse(CARGO, "library & package.equals(x)");
	assert_int_equal(filter_eval(f, lookup, NULL, &qux), F);
	filter_free(f);
	f = parse(PYTEST, "markers.contains(slow)");
	assert_int_equal(filter_eval(f, NULL, NULL, NULL), U);
	assert_int_equal(filter_eval(f, lookup, NULL, &qux), U);   /* markers NULL */
	filter_free(f);
}

/* ---- errors ------------------------------------------------------------- */

static void test_errors(void **state)
{
	(void)state;
	struct filter *f = (struct filter *)1;
	struct err *e = NULL;

	assert_int_equal(filter_parse("nmae.equals(x)", CARGO, &f, &e), -1);
	assert_null(f);
	assert_string_equal(e->msg, "filter `nmae.equals(x)`: unknown selector `nmae` at column 1 "
				    "(did you mean `name`?); selectors: name, binary, benchmark, "
				    "example, test, package");
	err_free(&e);
	/* a NULL err is allowed */
	assert_int_equal(filter_parse("(", CARGO, &f, NULL), -1);

	ERR(CARGO, "name.eqals(x)", "unknown matcher `eqals` at column 6",
	    "(did you mean `equals`?)",
	    "matchers: equals, contains, starts_with, ends_with, matches, globs");
	ERR(CARGO, "name.zzz(x)", "unknown matcher `zzz` at column 6; matchers:");
	ERR(CARGO, "alll", "unknown selector `alll` at column 1 (did you mean `all`?)",
	    "selectors: all, any, true, none, false, library, binary");
	ERR(CARGO, "all & qqq", "unknown selector `qqq` at column 7; selectors:");
	ERR(PYTEST, "markrs.contains(x)", "(did you mean `markers`?)",
	    "selectors: name, file, package, node_id, markers");
	ERR(CARGO, "", "expected a selector, `!` or `(` at column 1",
	    "found the end of the filter");
	ERR(CARGO, "   ", "at column 4, found the end of the filter");
	ERR(CARGO, "all &", "expected a selector", "at column 6");
	ERR(CARGO, "all & & none", "expected a selector", "at column 7, found `&`");
	ERR(CARGO, "!", "at column 2, found the end");
	ERR(CARGO, "(all", "expected `)` at column 5 to close the `(` at column 1",
	    "found the end of the filter");
	ERR(CARGO, "((all) | none", "to close the `(` at column 1");
	ERR(CARGO, "all)", "unmatched `)` at column 4");
	ERR(CARGO, "all none", "expected an operator", "at column 5, found `none`");
	ERR(CARGO, "all (none)", "takes no argument", "column 6");
	ERR(CARGO, "all(x)", "selector `all` at column 1 takes no argument",
	    "expected `)` at column 5", "found `x`");
	ERR(CARGO, "()", "expected a selector", "column 2, found `)`");
	ERR(CARGO, "name", "selector `name` at column 1 needs a matcher",
	    "`name.equals(foo)`");
	ERR(CARGO, "all | pack", "selector `pack` at column 7 needs a matcher");
	ERR(CARGO, "library.equals(x)", "selector `library` at column 1 takes no matcher");
	ERR(CARGO, "all.equals(x)", "selector `all` at column 1 takes no matcher");
	ERR(PYTEST, "markers.equals(x)", "matcher `equals` at column 9 does not apply to "
					 "`markers`", "`contains`");
	ERR(PYTEST, "markers", "needs a matcher");
	ERR(CARGO, "name.", "expected a matcher at column 6 after `name.`",
	    "found the end of the filter", "matchers: equals");
	ERR(CARGO, "name.(x)", "expected a matcher at column 6", "found `(`");
	ERR(CARGO, "name.matches(*)", "invalid regular expression `*` at column 14");
	ERR(CARGO, "all | name.matches/a(/", "invalid regular expression `a(` at column 20");
	ERR(CARGO, "name.globs([a)", "invalid glob `[a` at column 12");
	ERR(CARGO, "name.globs(a})", "invalid glob `a}` at column 12");
	ERR(CARGO, "all $ none", "at column 5, found `$`");
	/* columns count characters, not bytes */
	ERR(CARGO, "name.equals(\xc3\xa9) & nmae.eq(x)", "unknown selector `nmae` at column 18");
	ERR(CARGO, "all \xc3\xa9", "column 5, found `\xc3\xa9`");
	/* the message quotes the filter */
	ERR(CARGO, "all | nope", "filter `all | nope`: ");
}

static void test_nesting_limits(void **state)
{
	(void)state;
	size_t n = 5000;
	char *s = malloc(4 * n + 16), *p = s;

	for (size_t i = 0; i < n; i++)
		*p++ = '(';
	strcpy(p, "all");
	p += 3;
	for (size_t i = 0; i < n; i++)
		*p++ = ')';
	*p = '\0';
	ERR(CARGO, s, "nested too deeply");

	memset(s, '!', n);
	strcpy(s + n, "all");
	ERR(CARGO, s, "nested too deeply");

	for (p = s, n = 0; n < 2000; n++)
		p = stpcpy(p, "all|");
	strcpy(p, "all");
	ERR(CARGO, s, "nested too deeply");

	/* well below the limit is fine */
	for (p = s, n = 0; n < 200; n++)
		p = stpcpy(p, "!(all|");
	strcpy(p, "none");
	p += 4;
	for (n = 0; n < 200; n++)
		*p++ = ')';
	*p = '\0';
	struct tcase t = { 0 };
	check_eval(CARGO, s, &t, F);   /* every level is !(all | ...) */
	free(s);
}

static void test_free_null(void **state)
{
	(void)state;
	filter_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_book_cargo),
		cmocka_unit_test(test_book_pytest),
		cmocka_unit_test(test_simple_selectors),
		cmocka_unit_test(test_operator_spellings),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_delimiters),
		cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_three_valued),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nesting_limits),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
