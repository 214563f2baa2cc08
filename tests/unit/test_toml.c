#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/toml.h"

/* ---- helpers ---- */

static struct toml_doc *parse(const char *text)
{
	struct toml_doc *d = NULL;
	struct err *e = NULL;
	int rc = toml_parse(text, strlen(text), "t.toml", &d, &e);
	if (rc < 0)
		fail_msg("unexpected error: %s", err_msg(e));
	assert_non_null(d);
	assert_null(e);
	return d;
}

/* Parses text and compares its compact JSON form. */
static void check_json(const char *text, const char *json)
{
	struct toml_doc *d = parse(text);
	char *s = json_dumps(toml_doc_root(d), JSON_COMPACT);
	assert_non_null(s);
	assert_string_equal(s, json);
	free(s);
	toml_doc_free(d);
}

/* Parses text (named t.toml) and expects exactly this message. */
static void check_error(const char *text, const char *msg)
{
	struct toml_doc *d = (struct toml_doc *)(uintptr_t)1;
	struct err *e = NULL;
	assert_int_equal(toml_parse(text, strlen(text), "t.toml", &d, &e), -1);
	assert_null(d);
	assert_non_null(e);
	assert_string_equal(err_msg(e), msg);
	err_free(&e);
}

static void check_pos(const struct toml_doc *d, const char *path, unsigned line, unsigned col)
{
	unsigned l = 0, c = 0;
	assert_true(toml_doc_position(d, path, &l, &c));
	if (l != line || c != col)
		fail_msg("%s: got %u:%u, want %u:%u", path, l, c, line, col);
}

/* ---- well-formed documents ---- */

static void test_empty_and_comments(void **state)
{
	(void)state;
	check_json("", "{}");
	check_json("\n\n  \t\n", "{}");
	check_json("# only a comment", "{}");
	check_json("# c1\n\na = 1 # trailing\n# c2\n", "{\"a\":1}");
	check_json("a = \"#not a comment\" # one\n", "{\"a\":\"#not a comment\"}");
	check_json("\xEF\xBB\xBF" "a = 1\n", "{\"a\":1}");        /* byte-order mark */
	check_json("a = 1\r\nb = 2\r\n# c\r\n", "{\"a\":1,\"b\":2}"); /* CRLF */
	check_json("a=1\nb\t=\t2", "{\"a\":1,\"b\":2}");              /* no final newline */
}

static void test_keys(void **state)
{
	(void)state;
	check_json("bare_key-1 = 1\n1234 = 2\ntrue = 3\n",
		   "{\"bare_key-1\":1,\"1234\":2,\"true\":3}");
	check_json("\"a b\" = 1\n'c.d' = 2\n\"\" = 3\n\"\\u00e9\" = 4\n",
		   "{\"a b\":1,\"c.d\":2,\"\":3,\"\xC3\xA9\":4}");
	check_json("a.b.c = 1\na . \"x y\" . 'z' = 2\n",
		   "{\"a\":{\"b\":{\"c\":1},\"x y\":{\"z\":2}}}");
	check_json("3.14159 = \"pi\"\n", "{\"3\":{\"14159\":\"pi\"}}");
	/* key order is kept */
	check_json("z = 1\na = 2\nm = 3\n", "{\"z\":1,\"a\":2,\"m\":3}");
	/* a key holding a NUL */
	struct toml_doc *d = parse("\"a\\u0000b\" = 1\n");
	json_t *root = toml_doc_root(d);
	assert_int_equal(json_object_size(root), 1);
	assert_non_null(json_object_getn(root, "a\0b", 3));
	toml_doc_free(d);
}

static void test_basic_strings(void **state)
{
	(void)state;
	check_json("s = \"q\\\" b\\\\ t\\t n\\n r\\r f\\f b\\b\"\n",
		   "{\"s\":\"q\\\" b\\\\ t\\t n\\n r\\r f\\f b\\b\"}");
	check_json("s = \"\\u00E9\\U0001F600\\u0041\"\n", "{\"s\":\"\xC3\xA9\xF0\x9F\x98\x80" "A\"}");
	check_json("s = \"tab\there \xE2\x82\xAC\"\n", "{\"s\":\"tab\\there \xE2\x82\xAC\"}");
	check_json("s = \"\"\n", "{\"s\":\"\"}");
	struct toml_doc *d = parse("s = \"a\\u0000b\"\n");
	json_t *s = json_object_get(toml_doc_root(d), "s");
	assert_int_equal(json_string_length(s), 3);
	assert_memory_equal(json_string_value(s), "a\0b", 3);
	toml_doc_free(d);
}

static void test_literal_strings(void **state)
{
	(void)state;
	check_json("p = 'C:\\Users\\x'\nq = '<\\i\\c*\\s*>'\ne = ''\n",
		   "{\"p\":\"C:\\\\Users\\\\x\",\"q\":\"<\\\\i\\\\c*\\\\s*>\",\"e\":\"\"}");
	check_json("p = 'say \"hi\"'\n", "{\"p\":\"say \\\"hi\\\"\"}");
}

static void test_multiline_strings(void **state)
{
	(void)state;
	/* The newline right after the opener is dropped; others are kept. */
	check_json("s = \"\"\"\nRoses\nViolets\"\"\"\n", "{\"s\":\"Roses\\nViolets\"}");
	check_json("s = \"\"\"one\"\"\"\n", "{\"s\":\"one\"}");
	/* Line-ending backslash eats whitespace and newlines. */
	check_json("s = \"\"\"\nThe quick \\\n\n   brown \\   \n   fox.\"\"\"\n",
		   "{\"s\":\"The quick brown fox.\"}");
	/* Quotes inside and right before the closer. */
	check_json("s = \"\"\"a \"\" b\"\"\"\"\"\n", "{\"s\":\"a \\\"\\\" b\\\"\\\"\"}");
	check_json("s = \"\"\"\"a\"\"\"\n", "{\"s\":\"\\\"a\"}");
	check_json("s = \"\"\"esc \\\"\\\"\\\" \\t\"\"\"\n", "{\"s\":\"esc \\\"\\\"\\\" \\t\"}");
	/* CRLF inside becomes LF. */
	check_json("s = \"\"\"\r\na\r\nb\"\"\"\r\n", "{\"s\":\"a\\nb\"}");
	/* Literal multi-line: no escapes, same quote rules. */
	check_json("s = '''\nfirst\n  \\n raw'''\n", "{\"s\":\"first\\n  \\\\n raw\"}");
	check_json("s = '''it''s'''''\n", "{\"s\":\"it''s''\"}");
	/* The book's long filter. */
	check_json("filter = \"\"\"\npackage.equals(a) ||\npackage.equals(b)\"\"\"\n",
		   "{\"filter\":\"package.equals(a) ||\\npackage.equals(b)\"}");
}

static void test_integers(void **state)
{
	(void)state;
	check_json("a = 99\nb = +17\nc = -5\nd = 0\ne = -0\nf = 1_000_000\ng = 5_3_4\n",
		   "{\"a\":99,\"b\":17,\"c\":-5,\"d\":0,\"e\":0,\"f\":1000000,\"g\":534}");
	check_json("h = 0xDEADbeef\no = 0o755\nb = 0b1101_0110\nz = 0x0\n",
		   "{\"h\":3735928559,\"o\":493,\"b\":214,\"z\":0}");
	check_json("max = 9223372036854775807\nmin = -9223372036854775808\n"
		   "hmax = 0x7FFF_FFFF_FFFF_FFFF\n",
		   "{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
		   "\"hmax\":9223372036854775807}");
	struct toml_doc *d = parse("user = 1000\n");
	assert_true(json_is_integer(json_object_get(toml_doc_root(d), "user")));
	toml_doc_free(d);
}

static void test_floats(void **state)
{
	(void)state;
	struct toml_doc *d = parse("a = 1.5\nb = -0.25\nc = 5e+2\nd = 1E-2\ne = 6.25e1\n"
				   "f = 1_000.000_5\ng = 0.0\nh = +3.0\ni = 0e0\nj = 2e06\n");
	json_t *r = toml_doc_root(d);
	const char *keys[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
	double want[] = {1.5, -0.25, 500, 0.01, 62.5, 1000.0005, 0, 3, 0, 2e6};
	for (size_t i = 0; i < 10; i++) {
		json_t *v = json_object_get(r, keys[i]);
		assert_true(json_is_real(v));
		assert_true(json_real_value(v) == want[i]);
	}
	toml_doc_free(d);
}

static void test_booleans(void **state)
{
	(void)state;
	check_json("t = true\nf = false\n", "{\"t\":true,\"f\":false}");
}

static void test_arrays(void **state)
{
	(void)state;
	check_json("a = []\nb = [ 1, 2, 3 ]\nc = [1,]\n",
		   "{\"a\":[],\"b\":[1,2,3],\"c\":[1]}");
	check_json("m = [ \"x\", 1, true, [2, [3]], {k = 'v'} ]\n",
		   "{\"m\":[\"x\",1,true,[2,[3]],{\"k\":\"v\"}]}");
	check_json("a = [\n  1, # one\n  # between\n  2\n  ,\n\n]\n", "{\"a\":[1,2]}");
	check_json("a = [\"\"\"x\ny\"\"\", '''z''']\n", "{\"a\":[\"x\\ny\",\"z\"]}");
}

static void test_inline_tables(void **state)
{
	(void)state;
	check_json("e = {}\np = { x = 1, y = 2 }\n", "{\"e\":{},\"p\":{\"x\":1,\"y\":2}}");
	check_json("a = { b.c = 1, b.d = 'x', e = { f = [] } }\n",
		   "{\"a\":{\"b\":{\"c\":1,\"d\":\"x\"},\"e\":{\"f\":[]}}}");
	/* TOML 1.1 and the book: newlines, comments and a trailing comma. */
	check_json("environment = {\n    USER = \"bob\", # who\n    RUST_BACKTRACE = \"1\",\n}\n",
		   "{\"environment\":{\"USER\":\"bob\",\"RUST_BACKTRACE\":\"1\"}}");
}

static void test_tables(void **state)
{
	(void)state;
	check_json("top = 1\n[a]\nx = 1\n[b . \"c d\"]\ny = 2\n",
		   "{\"top\":1,\"a\":{\"x\":1},\"b\":{\"c d\":{\"y\":2}}}");
	/* A table created by a header prefix may be defined later, once. */
	check_json("[x.y.z]\nw = 1\n[x]\nv = 2\n",
		   "{\"x\":{\"y\":{\"z\":{\"w\":1}},\"v\":2}}");
	/* Sub-tables may be added below a table made by dotted keys. */
	check_json("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
		   "[fruit.apple.texture]\nsmooth = true\n",
		   "{\"fruit\":{\"apple\":{\"color\":\"red\",\"taste\":{\"sweet\":true},"
		   "\"texture\":{\"smooth\":true}}}}");
	check_json("[ 'q' ]\n[\"a\".b]\n", "{\"q\":{},\"a\":{\"b\":{}}}");
	/* Dotted keys may extend their own dotted tables in the same section. */
	check_json("[t]\na.b = 1\na.c = 2\n", "{\"t\":{\"a\":{\"b\":1,\"c\":2}}}");
}

static void test_arrays_of_tables(void **state)
{
	(void)state;
	check_json("[[d]]\nx = 1\n[[d]]\n[[d]]\nx = 3\n", "{\"d\":[{\"x\":1},{},{\"x\":3}]}");
	check_json("[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
		   "[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits.varieties]]\n"
		   "name = \"granny smith\"\n[[fruits]]\nname = \"banana\"\n",
		   "{\"fruits\":[{\"name\":\"apple\",\"physical\":{\"color\":\"red\"},"
		   "\"varieties\":[{\"name\":\"red delicious\"},{\"name\":\"granny smith\"}]},"
		   "{\"name\":\"banana\"}]}");
	check_json("[[a.b]]\nc = 1\n[a]\nd = 2\n", "{\"a\":{\"b\":[{\"c\":1}],\"d\":2}}");
}

static void test_positions(void **state)
{
	(void)state;
	struct toml_doc *d = parse("# header\n"                       /* 1 */
				   "title = \"x\"\n"                   /* 2 */
				   "[[directives]]\n"                  /* 3 */
				   "filter = \"all\"\n"                /* 4 */
				   "image.name = \"rust\"\n"           /* 5 */
				   "  [[directives]]\n"                /* 6 */
				   "layers = [\n"                      /* 7 */
				   "    { tar = \"a.tar\" },\n"        /* 8 */
				   "    { paths = [\"p\", \"q\"] },\n" /* 9 */
				   "]\n"                               /* 10 */
				   "[x.y]\n"                           /* 11 */
				   "\"\xC3\xA9\" = \t1\n"              /* 12 */
				   "[x]\n");                           /* 13 */
	check_pos(d, "", 1, 1);
	check_pos(d, "title", 2, 9);
	check_pos(d, "directives", 3, 1);
	check_pos(d, "directives/0", 3, 1);
	check_pos(d, "/directives/0/filter", 4, 10);
	check_pos(d, "directives/0/image", 5, 1);
	check_pos(d, "directives/0/image/name", 5, 14);
	check_pos(d, "directives/1", 6, 3);
	check_pos(d, "directives/1/layers", 7, 10);
	check_pos(d, "directives/1/layers/0", 8, 5);
	check_pos(d, "directives/1/layers/0/tar", 8, 13);
	check_pos(d, "directives/1/layers/1/paths", 9, 15);
	check_pos(d, "directives/1/layers/1/paths/1", 9, 21);
	check_pos(d, "x/y", 11, 1);
	check_pos(d, "x/y/\xC3\xA9", 12, 8);    /* columns count characters */
	check_pos(d, "x", 13, 1);                /* defined by its own header */
	/* Fallbacks to the nearest enclosing value. */
	check_pos(d, "directives/1/layers/0/paths", 8, 5);
	check_pos(d, "directives/7/layers", 3, 1);
	check_pos(d, "directives/01", 3, 1);
	check_pos(d, "directives/x", 3, 1);
	check_pos(d, "title/deeper", 2, 9);
	check_pos(d, "nope", 1, 1);
	assert_string_equal(toml_doc_filename(d), "t.toml");
	unsigned l, c;
	assert_false(toml_doc_position(NULL, "x", &l, &c));
	toml_doc_free(d);

	/* ~1 and ~0 in paths; an implicit table has its creator's position. */
	d = parse("[a.\"b/c\".\"~\"]\nv = 1\n");
	check_pos(d, "a", 1, 1);
	check_pos(d, "a/b~1c/~0/v", 2, 5);
	toml_doc_free(d);
}

static void test_root_outlives_doc(void **state)
{
	(void)state;
	struct toml_doc *d = parse("a = { b = [1, 2] }\n");
	json_t *root = json_incref(toml_doc_root(d));
	toml_doc_free(d);
	json_t *b = json_object_get(json_object_get(root, "a"), "b");
	assert_int_equal(json_array_size(b), 2);
	json_decref(root);
	toml_doc_free(NULL);
}

/* ---- errors ---- */

static void test_error_key_value_syntax(void **state)
{
	(void)state;
	check_error("# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n# 7\n# 8\n# 9\n# 10\n# 11\nlayers  {\n",
		    "t.toml:12:9: expected `=` after key `layers`; a key must be followed by `=` "
		    "and a value");
	check_error("a.\"b c\" 1\n", "t.toml:1:9: expected `=` after key `a.\"b c\"`; a key must "
		    "be followed by `=` and a value");
	check_error("= 1\n", "t.toml:1:1: expected a key, found `=`; keys are bare words (letters, "
		    "digits, `_`, `-`) or quoted strings");
	check_error("a. = 1\n", "t.toml:1:4: expected a key, found `=`; keys are bare words "
		    "(letters, digits, `_`, `-`) or quoted strings");
	check_error("k =\n", "t.toml:1:4: expected a value for key `k`, found end of line; a value "
		    "is a \"string\", a number, true, false, an [array] or an { inline = \"table\" }");
	check_error("k = ", "t.toml:1:5: expected a value for key `k`, found end of file; a value "
		    "is a \"string\", a number, true, false, an [array] or an { inline = \"table\" }");
	check_error("k = yes\n", "t.toml:1:5: invalid value `yes`; strings must be quoted, as in "
		    "\"yes\"");
	check_error("k = true1\n", "t.toml:1:5: invalid value `true1`; strings must be quoted, as "
		    "in \"true1\"");
	check_error("k = 1 2\n", "t.toml:1:7: expected end of line after a value, found `2`; put "
		    "each key = value and each [table] header on its own line");
	check_error("k = \"a\" \"b\"\n", "t.toml:1:9: expected end of line after a value, found "
		    "`\"`; put each key = value and each [table] header on its own line");
	check_error("\"\xC3\xA9\" = 1 x\n", "t.toml:1:9: expected end of line after a value, "
		    "found `x`; put each key = value and each [table] header on its own line");
	check_error("\"\"\"k\"\"\" = 1\n", "t.toml:1:1: a key cannot be a multi-line string; use "
		    "a bare key or a single-line quoted one");
}

static void test_error_strings(void **state)
{
	(void)state;
	check_error("s = \"abc\n", "t.toml:1:5: unterminated string; close it with `\"` before "
		    "the end of the line");
	check_error("s = 'abc\nx = 1\n", "t.toml:1:5: unterminated string; close it with `'` "
		    "before the end of the line");
	check_error("s = \"a\\\nb\"\n", "t.toml:1:5: unterminated string; close it with `\"` "
		    "before the end of the line");
	check_error("\n s = \"\"\"abc\n\n", "t.toml:2:6: unterminated multi-line string; close "
		    "it with `\"\"\"`");
	check_error("s = '''abc''\n", "t.toml:1:5: unterminated multi-line string; close it with "
		    "`'''`");
	check_error("s = \"a\\qb\"\n", "t.toml:1:7: invalid escape `\\q`; valid escapes are \\b "
		    "\\t \\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX (write \\\\ for a backslash)");
	check_error("s = \"\\e\"\n", "t.toml:1:6: invalid escape `\\e`; valid escapes are \\b "
		    "\\t \\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX (write \\\\ for a backslash)");
	check_error("s = \"\\u12G4\"\n", "t.toml:1:6: invalid escape `\\u`: expected 4 hex digits "
		    "after it, as in \\u00E9");
	check_error("s = \"\\U0001F60\"\n", "t.toml:1:6: invalid escape `\\U`: expected 8 hex "
		    "digits after it, as in \\U0001F600");
	check_error("s = \"\\uD800\"\n", "t.toml:1:6: escape `\\uD800` is not a Unicode scalar "
		    "value; use a code point up to 10FFFF outside D800-DFFF");
	check_error("s = \"\\U00110000\"\n", "t.toml:1:6: escape `\\U00110000` is not a Unicode "
		    "scalar value; use a code point up to 10FFFF outside D800-DFFF");
	check_error("s = \"\"\"a \\  b\"\"\"\n", "t.toml:1:10: a backslash followed by spaces "
		    "must end the line; remove the spaces after it or write \\\\ for a backslash");
}

static void test_error_numbers(void **state)
{
	(void)state;
	const char *generic = "; write digits with an optional sign, fraction and exponent "
			      "(1_000, -3, 2.5, 1e6), or 0x/0o/0b for hexadecimal, octal or binary";
	const char *range = " is out of range; integers must fit in 64 bits "
			    "(-9223372036854775808 to 9223372036854775807)";
	char want[512];
	check_error("k = 0123\n", "t.toml:1:5: leading zeros are not allowed in `0123`; remove "
		    "them (write 0o for an octal number)");
	check_error("k = -01.5\n", "t.toml:1:5: leading zeros are not allowed in `-01.5`; remove "
		    "them (write 0o for an octal number)");
	check_error("k = 1__2\n", "t.toml:1:5: misplaced `_` in number `1__2`; an underscore "
		    "must sit between two digits");
	check_error("k = 1_\n", "t.toml:1:5: misplaced `_` in number `1_`; an underscore must sit "
		    "between two digits");
	check_error("k = 0x_1\n", "t.toml:1:5: misplaced `_` in number `0x_1`; an underscore "
		    "must sit between two digits");
	check_error("k = 1.5_\n", "t.toml:1:5: misplaced `_` in number `1.5_`; an underscore "
		    "must sit between two digits");
	check_error("k = 1.\n", "t.toml:1:5: invalid number `1.`; a decimal point must have "
		    "digits on both sides, as in 1.0");
	check_error("k = 1.e5\n", "t.toml:1:5: invalid number `1.e5`; a decimal point must have "
		    "digits on both sides, as in 1.0");
	const char *bad[] = {"1e", ".5", "+0x1", "0b102", "0X10", "+", "1.5.2", "12abc", "0o8"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "k = %s\n", bad[i]);
		snprintf(want, sizeof(want), "t.toml:1:5: invalid number `%s`%s", bad[i], generic);
		check_error(text, want);
	}
	const char *big[] = {"9223372036854775808", "-9223372036854775809",
			     "0xFFFFFFFFFFFFFFFF", "0x8000000000000000",
			     "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "k = %s\n", big[i]);
		snprintf(want, sizeof(want), "t.toml:1:5: integer `%s`%s", big[i], range);
		check_error(text, want);
	}
	check_error("k = 1e999\n", "t.toml:1:5: float `1e999` is out of range; use a smaller "
		    "exponent");
	check_error("k = inf\n", "t.toml:1:5: `inf` is not supported here: JSON has no infinity "
		    "or NaN; use a finite number");
	check_error("k = [+inf]\n", "t.toml:1:6: `+inf` is not supported here: JSON has no "
		    "infinity or NaN; use a finite number");
	check_error("k = -nan\n", "t.toml:1:5: `-nan` is not supported here: JSON has no infinity "
		    "or NaN; use a finite number");
}

static void test_error_dates(void **state)
{
	(void)state;
	check_error("d = 1979-05-27T07:32:00Z\n", "t.toml:1:5: dates are not supported here; "
		    "write `1979-05-27T07:32:00Z` as a quoted string");
	check_error("d = 1979-05-27 07:32:00\n", "t.toml:1:5: dates are not supported here; "
		    "write `1979-05-27` as a quoted string");
	check_error("d = 07:32:00\n", "t.toml:1:5: dates are not supported here; write "
		    "`07:32:00` as a quoted string");
	check_error("d = [1, 1979-05-27]\n", "t.toml:1:9: dates are not supported here; write "
		    "`1979-05-27` as a quoted string");
}

static void test_error_arrays_and_inline_tables(void **state)
{
	(void)state;
	check_error("a = [1 2]\n", "t.toml:1:8: expected `,` or `]` in array, found `2`; "
		    "separate elements with commas");
	check_error("a = [,]\n", "t.toml:1:6: expected a value, found `,`; a value is a "
		    "\"string\", a number, true, false, an [array] or an { inline = \"table\" }");
	check_error("a = [1,\n2,\n", "t.toml:1:5: unterminated array; close it with `]`");
	check_error("a = {b = 1 c = 2}\n", "t.toml:1:12: expected `,` or `}` in inline table, "
		    "found `c`; separate entries with commas");
	check_error("a = {b = 1\n", "t.toml:1:5: unterminated inline table; close it with `}`");
	check_error("a = { , }\n", "t.toml:1:7: expected a key, found `,`; keys are bare words "
		    "(letters, digits, `_`, `-`) or quoted strings");
	check_error("a = {b = 1, b = 2}\n", "t.toml:1:13: key `b` defined twice (first at line "
		    "1); remove one of them");
	check_error("a = {b = {c = 1}, b.d = 2}\n", "t.toml:1:19: inline table `b` (line 1) "
		    "cannot be extended; add the key inside its braces");
	check_error("a = { x = 1 }\na.y = 2\n", "t.toml:2:1: inline table `a` (line 1) cannot "
		    "be extended; add the key inside its braces");
	check_error("a = { x = 1 }\n[a.y]\n", "t.toml:2:1: inline table `a` (line 1) cannot be "
		    "extended; add the keys inside its braces");
	check_error("a = { x = 1 }\n[a]\n", "t.toml:2:1: inline table `a` (line 1) cannot be "
		    "extended; add the keys inside its braces");
	check_error("a = { b.c = 1 }\n[a.b.d]\n", "t.toml:2:1: inline table `a` (line 1) cannot "
		    "be extended; add the keys inside its braces");
	check_error("a = [1]\n[[a]]\n", "t.toml:2:1: cannot append to static array `a` (line 1) "
		    "with [[a]]; write all its elements inside its [ ]");
	check_error("a = []\n[a.b]\n", "t.toml:2:1: `a` is a static array (line 1), not a table; "
		    "a [header] cannot reach inside it");
	check_error("a = [{}]\na.b = 1\n", "t.toml:2:1: `a` is an array (line 1), not a table; a "
		    "static array cannot be extended");
}

static void test_error_redefinitions(void **state)
{
	(void)state;
	check_error("[[directives]]\ntimeout = 1\ntimeout = 2\n", "t.toml:3:1: key `timeout` "
		    "defined twice (first at line 2); remove one of them");
	check_error("a.b = 1\na = 2\n", "t.toml:2:1: key `a` defined twice (first at line 1); "
		    "remove one of them");
	check_error("a.b = 1\na.b = 2\n", "t.toml:2:1: key `a.b` defined twice (first at line 1); "
		    "remove one of them");
	check_error("[a.b]\n[a]\nb = 1\n", "t.toml:3:1: key `b` defined twice (first at line 1); "
		    "remove one of them");
	check_error("[a]\nx = 1\n\n[a]\n", "t.toml:4:1: table `a` defined twice (first at line "
		    "1); merge the two sections");
	check_error("[a.b]\n[a]\n[a]\n", "t.toml:3:1: table `a` defined twice (first at line 2); "
		    "merge the two sections");
	check_error("[fruit]\napple.color = \"red\"\n[fruit.apple]\n", "t.toml:3:1: table "
		    "`fruit.apple` was already made by dotted keys at line 2; a [table] header "
		    "cannot reopen it");
	check_error("a.b = 1\n[a]\n", "t.toml:2:1: table `a` was already made by dotted keys at "
		    "line 1; a [table] header cannot reopen it");
	check_error("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", "t.toml:4:1: cannot add to table `b` "
		    "with dotted keys: it was made by a [table] header at line 1; put the key "
		    "under that header");
	check_error("a = 1\n[a]\n", "t.toml:2:1: key `a` defined twice (first at line 1); remove "
		    "one of them");
	check_error("a = 1\n[[a]]\n", "t.toml:2:1: key `a` defined twice (first at line 1); "
		    "remove one of them");
	check_error("a = 1\n[a.b]\n", "t.toml:2:1: key `a` is already a value (line 1), not a "
		    "table; choose another name");
	check_error("a = 1\na.b = 2\n", "t.toml:2:1: key `a` is already a value (line 1), not a "
		    "table; choose another key");
	check_error("[a]\n[[a]]\n", "t.toml:2:1: `a` is already a table (line 1), not an array of "
		    "tables; use [a] or rename one of them");
	check_error("[[a]]\n[a]\n", "t.toml:2:1: `a` is an array of tables (line 1); use [[a]] to "
		    "add an element");
	check_error("[[a]]\nb = 1\n[a]\nb = 1\n", "t.toml:3:1: `a` is an array of tables (line "
		    "1); use [[a]] to add an element");
	check_error("[[a]]\n[t]\na.x = 1\n[x]\n[x.a]\n[x]\n", "t.toml:6:1: table `x` defined "
		    "twice (first at line 4); merge the two sections");
	check_error("[[a]]\n[b]\n[b.a]\n[b]\n", "t.toml:4:1: table `b` defined twice (first at "
		    "line 2); merge the two sections");
	check_error("[[t]]\nx = 1\n[t.x]\n", "t.toml:3:1: key `t.x` defined twice (first at line "
		    "2); remove one of them");
	/* Valid look-alikes: a dotted key under [b] is b's own. */
	check_json("[[t]]\n[b]\nt.x = 1\n[t.y]\n", "{\"t\":[{\"y\":{}}],\"b\":{\"t\":{\"x\":1}}}");
}

static void test_error_headers(void **state)
{
	(void)state;
	check_error("[a\n", "t.toml:1:3: expected `]` to close [a], found end of line; dotted "
		    "names are written a.b, quoted ones \"a b\"");
	check_error("[a b]\n", "t.toml:1:4: expected `]` to close [a], found `b`; dotted names "
		    "are written a.b, quoted ones \"a b\"");
	check_error("[[a]\n", "t.toml:1:5: expected `]]` to close [[a]], found end of line; "
		    "dotted names are written a.b, quoted ones \"a b\"");
	check_error("[[a] ]\n", "t.toml:1:5: expected `]]` to close [[a]], found ` `; dotted "
		    "names are written a.b, quoted ones \"a b\"");
	check_error("[]\n", "t.toml:1:2: expected a key, found `]`; keys are bare words "
		    "(letters, digits, `_`, `-`) or quoted strings");
	check_error("[a] x = 1\n", "t.toml:1:5: expected end of line after a table header, "
		    "found `x`; put each key = value and each [table] header on its own line");
	check_error("[\"\"\"a\"\"\"]\n", "t.toml:1:2: a key cannot be a multi-line string; use "
		    "a bare key or a single-line quoted one");
}

static void test_error_text(void **state)
{
	(void)state;
	check_error("a = \"\xFF\"\n", "t.toml:1:6: invalid UTF-8 (byte 0xFF); save the file as "
		    "UTF-8");
	check_error("a = 1\n\xC0\x80 = 2\n", "t.toml:2:1: invalid UTF-8 (byte 0xC0); save the "
		    "file as UTF-8");
	check_error("a = '\xED\xA0\x80'\n", "t.toml:1:6: invalid UTF-8 (byte 0xED); save the file "
		    "as UTF-8");
	check_error("a = '\xE2\x82'", "t.toml:1:6: invalid UTF-8 (byte 0xE2); save the file as "
		    "UTF-8");
	check_error("a = \"\x01\"\n", "t.toml:1:6: control character U+0001 is not allowed; "
		    "remove it (in a basic string, write it as \\u0001)");
	check_error("# bell \x07\n", "t.toml:1:8: control character U+0007 is not allowed; remove "
		    "it (in a basic string, write it as \\u0007)");
	check_error("a = \"x\x7F\"\n", "t.toml:1:7: control character U+007F is not allowed; "
		    "remove it (in a basic string, write it as \\u007F)");
	check_error("a = 1\r\nb = 2\r", "t.toml:2:6: carriage return without a line feed; use LF "
		    "or CRLF line endings");
	/* A NUL byte in the middle of the text (not a C string). */
	struct toml_doc *d = NULL;
	struct err *e = NULL;
	assert_int_equal(toml_parse("a = 1\nb\0 = 2\n", 13, "t.toml", &d, &e), -1);
	assert_string_equal(err_msg(e), "t.toml:2:2: control character U+0000 is not allowed; "
			    "remove it (in a basic string, write it as \\u0000)");
	err_free(&e);
}

static void test_error_depth(void **state)
{
	(void)state;
	char text[1024] = "a = ";
	for (int i = 0; i < 200; i++)
		strcat(text, "[");
	check_error(text, "t.toml:1:133: nesting deeper than 128 levels; flatten the document");
	strcpy(text, "[a");
	for (int i = 0; i < 200; i++)
		strcat(text, ".a");
	strcat(text, "]\n");
	check_error(text, "t.toml:1:1: nesting deeper than 128 levels; flatten the document");
}

/* ---- files and the book ---- */

static void test_parse_file(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/test_toml.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	char path[600];
	snprintf(path, sizeof(path), "%s/cargo-maelstrom.toml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[[directives]]\ntimeout = 60\ntimeout = 61\n", f);
	fclose(f);

	struct toml_doc *d = NULL;
	struct err *e = NULL;
	char want[800];
	assert_int_equal(toml_parse_file(path, &d, &e), -1);
	snprintf(want, sizeof(want), "%s:3:1: key `timeout` defined twice (first at line 2); "
		 "remove one of them", path);
	assert_string_equal(err_msg(e), want);
	err_free(&e);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[[directives]]\ntimeout = 60\n", f);
	fclose(f);
	assert_int_equal(toml_parse_file(path, &d, &e), 0);
	assert_string_equal(toml_doc_filename(d), path);
	json_t *t = json_object_get(json_array_get(json_object_get(toml_doc_root(d),
								      "directives"), 0), "timeout");
	assert_int_equal(json_integer_value(t), 60);
	toml_doc_free(d);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(toml_parse_file(path, &d, &e), -1);
	assert_null(d);
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory", path);
	assert_string_equal(err_msg(e), want);
	err_free(&e);

	assert_int_equal(toml_parse_file(dir, &d, &e), -1);
	snprintf(want, sizeof(want), "cannot read %s: Is a directory", dir);
	assert_string_equal(err_msg(e), want);
	err_free(&e);
	assert_int_equal(rmdir(dir), 0);

	/* No filename: "<input>". */
	assert_int_equal(toml_parse("x", 1, NULL, &d, &e), -1);
	assert_string_equal(err_msg(e), "<input>:1:2: expected `=` after key `x`; a key must be "
			    "followed by `=` and a value");
	err_free(&e);
}

/* The cargo-maelstrom.toml examples of the Maelstrom book, put together. */
static const char book_sample[] =
	"# Because it has no `filter` field, this directive applies to all tests.\n"    /* 1 */
	"[[directives]]\n"
	"\n"
	"# This layer just includes files and directories for mounting the following\n"
	"# file-systems and devices.\n"                                                  /* 5 */
	"layers = [\n"
	"    { stubs = [ \"/{proc,sys,tmp}/\", \"/dev/{full,null,random,urandom,zero}\" ] },\n"
	"]\n"
	"\n"
	"mounts = [\n"                                                                   /* 10 */
	"    { type = \"tmp\", mount_point = \"/tmp\" },\n"
	"    { type = \"proc\", mount_point = \"/proc\" },\n"
	"    { type = \"sys\", mount_point = \"/sys\" },\n"
	"    { type = \"devices\", devices = [\"full\", \"null\", \"random\", \"urandom\", "
	"\"zero\"] },\n"
	"]\n"                                                                            /* 15 */
	"\n"
	"[containers.executor]\n"
	"layers = [\n"
	"    { stubs = [ \"{proc,tmp}/\", \"dev/{null,random,urandom,zero}\" ] },\n"
	"]\n"                                                                            /* 20 */
	"\n"
	"[[directives]]\n"
	"filter = \"package.equals(maelstrom-worker) && name.starts_with(executor::)\"\n"
	"parent = \"executor\"\n"
	"\n"                                                                             /* 25 */
	"[containers.executor-with-pts]\n"
	"parent = \"executor\"\n"
	"added_layers = [\n"
	"    { stubs = [ \"dev/pts/\" ] },\n"
	"    { symlinks = [ { link = \"/dev/ptmx\", target = \"/dev/pts/ptmx\" } ] },\n" /* 30 */
	"]\n"
	"\n"
	"[[directives]]\n"
	"filter = \"\"\"\n"
	"package.equals(maelstrom-client) ||\n"                                          /* 35 */
	"package.equals(maelstrom-util)\"\"\"\n"
	"image.name = \"docker://rust\"\n"
	"image.use = [\"layers\", \"environment\"]\n"
	"added_layers = [\n"
	"    { paths = [ \"extra-layers\" ], strip_prefix = \"extra-layers/\" },\n"      /* 40 */
	"    { shared-library-dependencies = [\"/bin/bash\"], prepend_prefix = \"/usr\" }\n"
	"]\n"
	"environment = {\n"
	"    USER = \"bob\",\n"
	"    RUST_BACKTRACE = \"$env{RUST_BACKTRACE:-0}\",\n"                           /* 45 */
	"}\n"
	"\n"
	"[[directives]]\n"
	"image = { name = \"docker://rust\", use = [\"layers\", \"environment\"] }\n"
	"added_environment = { PATH = \"/scripts:$prev{PATH}\" }\n"                      /* 50 */
	"mounts = [\n"
	"    { type = \"bind\", mount_point = \"/mnt\", local_path = \"data-for-job\", "
	"read_only = true },\n"
	"]\n"
	"working_directory = \"/home/root/\"\n"
	"network = \"loopback\"\n"                                                       /* 55 */
	"enable_writable_file_system = true\n"
	"user = 1000\n"
	"group = 1000\n"
	"timeout = 60\n"
	"ignore = false\n";                                                              /* 60 */

static void test_book_sample(void **state)
{
	(void)state;
	struct toml_doc *d = NULL;
	struct err *e = NULL;
	if (toml_parse(book_sample, sizeof(book_sample) - 1, "cargo-maelstrom.toml", &d, &e) < 0)
		fail_msg("%s", err_msg(e));
	json_t *root = toml_doc_root(d);
	json_t *dirs = json_object_get(root, "directives");
	assert_int_equal(json_array_size(dirs), 4);
	/* Directive 0: the default configuration. */
	json_t *d0 = json_array_get(dirs, 0);
	json_t *stubs = json_object_get(json_array_get(json_object_get(d0, "layers"), 0), "stubs");
	assert_string_equal(json_string_value(json_array_get(stubs, 1)),
			    "/dev/{full,null,random,urandom,zero}");
	json_t *mounts = json_object_get(d0, "mounts");
	assert_int_equal(json_array_size(mounts), 4);
	assert_int_equal(json_array_size(json_object_get(json_array_get(mounts, 3), "devices")), 5);
	/* Containers, interleaved with directives. */
	json_t *ctrs = json_object_get(root, "containers");
	assert_int_equal(json_object_size(ctrs), 2);
	json_t *pts = json_object_get(ctrs, "executor-with-pts");
	assert_string_equal(json_string_value(json_object_get(pts, "parent")), "executor");
	json_t *sym = json_array_get(json_object_get(json_array_get(
		json_object_get(pts, "added_layers"), 1), "symlinks"), 0);
	assert_string_equal(json_string_value(json_object_get(sym, "target")), "/dev/pts/ptmx");
	/* Directive 2: multi-line filter, dotted image keys, multi-line environment. */
	json_t *d2 = json_array_get(dirs, 2);
	assert_string_equal(json_string_value(json_object_get(d2, "filter")),
			    "package.equals(maelstrom-client) ||\npackage.equals(maelstrom-util)");
	char *img = json_dumps(json_object_get(d2, "image"), JSON_COMPACT);
	assert_string_equal(img, "{\"name\":\"docker://rust\",\"use\":[\"layers\",\"environment\"]}");
	free(img);
	char *env = json_dumps(json_object_get(d2, "environment"), JSON_COMPACT);
	assert_string_equal(env, "{\"USER\":\"bob\",\"RUST_BACKTRACE\":\"$env{RUST_BACKTRACE:-0}\"}");
	free(env);
	json_t *sl = json_array_get(json_object_get(d2, "added_layers"), 1);
	assert_string_equal(json_string_value(json_object_get(sl, "prepend_prefix")), "/usr");
	/* Directive 3: inline image table and scalar fields. */
	json_t *d3 = json_array_get(dirs, 3);
	img = json_dumps(json_object_get(d3, "image"), JSON_COMPACT);
	assert_string_equal(img, "{\"name\":\"docker://rust\",\"use\":[\"layers\",\"environment\"]}");
	free(img);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(d3, "mounts"), 0),
					       "read_only")));
	assert_int_equal(json_integer_value(json_object_get(d3, "user")), 1000);
	assert_true(json_is_false(json_object_get(d3, "ignore")));
	/* Positions for later diagnostics. */
	check_pos(d, "directives/0", 2, 1);
	check_pos(d, "directives/0/mounts/3/devices/4", 14, 73);
	check_pos(d, "containers/executor", 17, 1);
	check_pos(d, "containers", 17, 1);
	check_pos(d, "directives/1/parent", 24, 10);
	check_pos(d, "containers/executor-with-pts/added_layers/1/symlinks/0/target", 30, 51);
	check_pos(d, "directives/2/filter", 34, 10);
	check_pos(d, "directives/2/image", 37, 1);
	check_pos(d, "directives/2/image/use/1", 38, 24);
	check_pos(d, "directives/2/environment/RUST_BACKTRACE", 45, 22);
	check_pos(d, "directives/2/added_layers/1/shared-library-dependencies", 41, 37);
	check_pos(d, "directives/3/image/use", 49, 41);
	check_pos(d, "directives/3/timeout", 59, 11);
	check_pos(d, "directives/3/layers", 48, 1);
	toml_doc_free(d);

	/* The pytest book's image example. */
	check_json("[[directives]]\nimage.name = \"docker://python:3.11-slim\"\n"
		   "image.use = [\"layers\", \"environment\"]\n\n[[directives]]\n"
		   "filter = \"package.equals(foo)\"\n"
		   "image = { name = \"docker://python:3.11\", use = [\"layers\", \"environment\"] }\n",
		   "{\"directives\":[{\"image\":{\"name\":\"docker://python:3.11-slim\",\"use\":"
		   "[\"layers\",\"environment\"]}},{\"filter\":\"package.equals(foo)\",\"image\":"
		   "{\"name\":\"docker://python:3.11\",\"use\":[\"layers\",\"environment\"]}}]}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_basic_strings),
		cmocka_unit_test(test_literal_strings),
		cmocka_unit_test(test_multiline_strings),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_inline_tables),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_arrays_of_tables),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_root_outlives_doc),
		cmocka_unit_test(test_error_key_value_syntax),
		cmocka_unit_test(test_error_strings),
		cmocka_unit_test(test_error_numbers),
		cmocka_unit_test(test_error_dates),
		cmocka_unit_test(test_error_arrays_and_inline_tables),
		cmocka_unit_test(test_error_redefinitions),
		cmocka_unit_test(test_error_headers),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_error_depth),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_book_sample),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
