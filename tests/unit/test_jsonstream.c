#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/jsonstream.h"

/* Every callback becomes one line of text, so whole runs compare as
 * strings: "V 2 3:1 {\"a\":1}" or "E 4 5:13 <message>". */
struct recorder {
	char *log;
	size_t len;
};

static void record(struct recorder *r, const char *line)
{
	size_t n = strlen(line);
	r->log = realloc(r->log, r->len + n + 2);
	assert_non_null(r->log);
	memcpy(r->log + r->len, line, n);
	r->len += n;
	r->log[r->len++] = '\n';
	r->log[r->len] = '\0';
}

static void on_value(void *arg, json_t *value, const struct json_pos *pos)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	char line[4096];
	snprintf(line, sizeof(line), "V %zu %zu:%zu %s", pos->index, pos->line, pos->column, text);
	free(text);
	json_decref(value);
	record(arg, line);
}

static void on_error(void *arg, const struct json_pos *pos, const char *msg)
{
	char line[4096];
	snprintf(line, sizeof(line), "E %zu %zu:%zu %s", pos->index, pos->line, pos->column, msg);
	record(arg, line);
}

/* Feeds input in chunks of the given size (0: all at once), finishes, and
 * returns the log (caller frees). *clean gets finish()'s result. */
static char *run_chunked(const char *input, size_t chunk, bool *clean)
{
	struct recorder r = { NULL, 0 };
	struct jsonstream *js = jsonstream_new("job", on_value, on_error, &r);
	size_t n = strlen(input);
	if (chunk == 0)
		chunk = n ? n : 1;
	for (size_t off = 0; off < n; off += chunk)
		jsonstream_feed(js, input + off, off + chunk > n ? n - off : chunk);
	bool ok = jsonstream_finish(js);
	if (clean)
		*clean = ok;
	jsonstream_free(js);
	return r.log ? r.log : strdup("");
}

/* Runs input whole, one byte at a time and in a few odd chunk sizes, checks
 * that every run gives the same log, and compares it with want. */
static void expect(const char *input, const char *want, bool want_clean)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 64 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		bool clean = !want_clean;
		char *got = run_chunked(input, chunks[i], &clean);
		if (strcmp(got, want) != 0)
			fail_msg("chunk size %zu\ninput:\n%s\nwant:\n%s\ngot:\n%s", chunks[i], input, want,
				 got);
		assert_true(clean == want_clean);
		free(got);
	}
}

static void test_back_to_back(void **state)
{
	(void)state;
	expect("{\"a\":1}{\"b\":2}\n  {\"c\": 3}\n\n\t{}",
	       "V 1 1:1 {\"a\":1}\n"
	       "V 2 1:8 {\"b\":2}\n"
	       "V 3 2:3 {\"c\":3}\n"
	       "V 4 4:2 {}\n",
	       true);
	expect("", "", true);
	expect("  \n\r\n ", "", true);
}

static void test_pretty_printed(void **state)
{
	(void)state;
	/* `{` at the start of a line inside a value, where one is allowed. */
	expect("{\n  \"image\": \"alpine\",\n  \"layers\": [\n{\"tar\": \"a.tar\"},\n{\"tar\": \"b.tar\"}\n],\n"
	       "  \"env\":\n{\"A\": \"1\"}\n}\n{\"next\": true}\n",
	       "V 1 1:1 {\"env\":{\"A\":\"1\"},\"image\":\"alpine\",\"layers\":[{\"tar\":\"a.tar\"},"
	       "{\"tar\":\"b.tar\"}]}\n"
	       "V 2 10:1 {\"next\":true}\n",
	       true);
	/* CRLF line ends. */
	expect("{\"a\":\r\n 1}\r\n{\"b\":2}\r\n", "V 1 1:1 {\"a\":1}\nV 2 3:1 {\"b\":2}\n", true);
}

static void test_strings(void **state)
{
	(void)state;
	expect("{\"c\": \"x}{\\\"y\"}{\"d\": \"[\\\\\"}{\"e\": \"\\u007d\"}",
	       "V 1 1:1 {\"c\":\"x}{\\\"y\"}\n"
	       "V 2 1:16 {\"d\":\"[\\\\\"}\n"
	       "V 3 1:28 {\"e\":\"}\"}\n",
	       true);
}

static void test_utf8(void **state)
{
	(void)state;
	/* Columns count characters: é and ü are two bytes, 😀 four. */
	expect("{\"é\": \"ü\"} {\"s\": \"😀\"}\n{\"x\": \"é\", \"y\": ?}\n",
	       "V 1 1:1 {\"\\u00E9\":\"\\u00FC\"}\n"
	       "V 2 1:12 {\"s\":\"\\uD83D\\uDE00\"}\n"
	       "E 3 2:17 job 3 at line 2 column 17: invalid token near '?'\n",
	       true);
	/* Invalid UTF-8 is jansson's error. */
	expect("{\"a\": \"\xff\"}\n{\"b\": 1}",
	       "E 1 1:7 job 1 at line 1 column 7: unable to decode byte 0xff near '\"'\n"
	       "V 2 2:1 {\"b\":1}\n",
	       true);
}

static void test_malformed_delimited(void **state)
{
	(void)state;
	/* The scanner knows where the value ends: skip just it. */
	expect("{\"a\": 1,}\n{\"b\": 2} {\"c\": x} {\"d\": 4}\n{\"e\":1,\n  \"f\" 2}\n{\"g\":7}",
	       "E 1 1:9 job 1 at line 1 column 9: string or '}' expected near '}'\n"
	       "V 2 2:1 {\"b\":2}\n"
	       "E 3 2:16 job 3 at line 2 column 16: invalid token near 'x'\n"
	       "V 4 2:19 {\"d\":4}\n"
	       "E 5 4:7 job 5 at line 4 column 7: ':' expected near '2'\n"
	       "V 6 5:1 {\"g\":7}\n",
	       true);
	expect("{\"a\":1,\"a\":2}\n{\"b\":1}\n",
	       "E 1 1:10 job 1 at line 1 column 10: duplicate object key near '\"a\"'\n"
	       "V 2 2:1 {\"b\":1}\n",
	       true);
	/* Control characters in jansson's quote are escaped. */
	expect("{\"a\": \"x\\\ty\"}\n{\"b\": 1}",
	       "E 1 1:10 job 1 at line 1 column 10: invalid escape near '\"x\\\\t'\n"
	       "V 2 2:1 {\"b\":1}\n",
	       true);
	/* Junk tokens are values of their own. */
	expect("nul {\"a\":1}",
	       "E 1 1:3 job 1 at line 1 column 3: invalid token near 'nul'\n"
	       "V 2 1:5 {\"a\":1}\n",
	       true);
}

static void test_resync_after_mismatch(void **state)
{
	(void)state;
	/* A closing bracket of the wrong kind: the rest of the line is
	 * skipped, including a good-looking value on it. */
	expect("{\"c\": [1, 2} {\"skipped\": 1}\n  {\"indented\": 1}\n{\"d\": 4}\n",
	       "E 1 1:12 job 1 at line 1 column 12: ']' expected near '}'\n"
	       "V 2 3:1 {\"d\":4}\n",
	       true);
	expect("[1, 2}\n{\"d\": 4}\n",
	       "E 1 1:6 job 1 at line 1 column 6: ']' expected near '}'\n"
	       "V 2 2:1 {\"d\":4}\n",
	       true);
}

static void test_resync_after_line_break_in_string(void **state)
{
	(void)state;
	expect("{\"a\": \"unterminated\n\"b\": 1}\n{\"ok\": 1}\n",
	       "E 1 1:20 job 1 at line 1 column 20: line break inside a string\n"
	       "V 2 3:1 {\"ok\":1}\n",
	       true);
	/* A backslash does not escape a line break. */
	expect("{\"a\": \"x\\\n{\"ok\": 1}\n",
	       "E 1 1:10 job 1 at line 1 column 10: line break inside a string\n"
	       "V 2 2:1 {\"ok\":1}\n",
	       true);
}

static void test_missing_close(void **state)
{
	(void)state;
	/* A forgotten `}`: the next line's `{` cannot continue the value. */
	expect("{\"a\": 1\n{\"b\": 2}\n{\"c\": {\"x\": 1}\n{\"d\": 4}\n",
	       "E 1 2:1 job 1 at line 2 column 1: '}' expected near '{'\n"
	       "V 2 2:1 {\"b\":2}\n"
	       "E 3 4:1 job 3 at line 4 column 1: '}' expected near '{'\n"
	       "V 4 4:1 {\"d\":4}\n",
	       true);
	/* After a comma inside an object a key must follow, not `{`. */
	expect("{\"a\": 1,\n{\"b\": 2}\n",
	       "E 1 2:1 job 1 at line 2 column 1: string or '}' expected near '{'\n"
	       "V 2 2:1 {\"b\":2}\n",
	       true);
}

static void test_not_objects(void **state)
{
	(void)state;
	expect("{\"a\":1}\n[1, {\"x\": 2}]\n42 \"s\" true null -1.5e3\n{\"b\":2}",
	       "V 1 1:1 {\"a\":1}\n"
	       "E 2 2:1 job 2 at line 2: expected a JSON object\n"
	       "E 3 3:1 job 3 at line 3: expected a JSON object\n"
	       "E 4 3:4 job 4 at line 3: expected a JSON object\n"
	       "E 5 3:8 job 5 at line 3: expected a JSON object\n"
	       "E 6 3:13 job 6 at line 3: expected a JSON object\n"
	       "E 7 3:18 job 7 at line 3: expected a JSON object\n"
	       "V 8 4:1 {\"b\":2}\n",
	       true);
	/* A bare value is only complete at a delimiter or at end of input. */
	expect("{\"a\":1} 42", "V 1 1:1 {\"a\":1}\nE 2 1:9 job 2 at line 1: expected a JSON object\n",
	       true);
	expect("12{\"a\":1}", "E 1 1:1 job 1 at line 1: expected a JSON object\nV 2 1:3 {\"a\":1}\n",
	       true);
	/* Stray punctuation. */
	expect("} ] , {\"a\":1}",
	       "E 1 1:1 job 1 at line 1 column 1: unexpected token near '}'\n"
	       "E 2 1:3 job 2 at line 1 column 3: unexpected token near ']'\n"
	       "E 3 1:5 job 3 at line 1 column 5: unexpected token near ','\n"
	       "V 4 1:7 {\"a\":1}\n",
	       true);
}

static void test_truncated(void **state)
{
	(void)state;
	expect("{\"a\":1}\n{\"b\": [1,\n  2,",
	       "V 1 1:1 {\"a\":1}\n"
	       "E 2 2:1 input ended inside job 2, which started at line 2 column 1\n",
	       false);
	expect("\n\n   {\"s\": \"abc", "E 1 3:4 input ended inside job 1, which started at line 3 column 4\n",
	       false);
	expect("\"abc", "E 1 1:1 input ended inside job 1, which started at line 1 column 1\n", false);
}

static void test_counts_and_noun(void **state)
{
	(void)state;
	struct recorder r = { NULL, 0 };
	struct jsonstream *js = jsonstream_new(NULL, on_value, on_error, &r);
	const char *in = "{\"a\":1} [2] {\"b\":";
	jsonstream_feed(js, in, strlen(in));
	assert_int_equal(jsonstream_count(js), 3);
	assert_int_equal(jsonstream_errors(js), 1);
	assert_false(jsonstream_finish(js));
	assert_int_equal(jsonstream_errors(js), 2);
	jsonstream_free(js);
	assert_string_equal(r.log, "V 1 1:1 {\"a\":1}\n"
				   "E 2 1:9 value 2 at line 1: expected a JSON object\n"
				   "E 3 1:13 input ended inside value 3, which started at line 1 column 13\n");
	free(r.log);
	jsonstream_free(NULL);
}

static void test_no_callbacks(void **state)
{
	(void)state;
	/* Values are freed when nobody takes them (ASan checks the leak). */
	struct jsonstream *js = jsonstream_new("job", NULL, NULL, NULL);
	const char *in = "{\"a\":[1,2,3]} {bad} {\"b\":{}}";
	jsonstream_feed(js, in, strlen(in));
	assert_true(jsonstream_finish(js));
	assert_int_equal(jsonstream_count(js), 3);
	assert_int_equal(jsonstream_errors(js), 1);
	jsonstream_free(js);
}

/* Records the shape of the two values of test_large_value. */
static void on_large(void *arg, json_t *value, const struct json_pos *pos)
{
	size_t *seen = arg;
	json_t *big = json_object_get(value, "big");
	json_t *d = json_object_get(value, "d");
	if (pos->index == 1 && pos->line == 1 && json_is_string(big)) {
		seen[0] = json_string_length(big);
	} else if (pos->index == 2 && pos->line == 2 && d) {
		size_t depth = 0;
		while (json_is_array(d)) {
			depth++;
			d = json_array_get(d, 0);
		}
		seen[1] = depth;
	}
	json_decref(value);
}

static void test_large_value(void **state)
{
	(void)state;
	/* A value much larger than any chunk, and deep nesting. */
	size_t n = 200000;
	char *in = malloc(n + 256);
	assert_non_null(in);
	strcpy(in, "{\"big\": \"");
	size_t off = strlen(in);
	memset(in + off, 'x', n);
	off += n;
	strcpy(in + off, "\"}\n{\"d\":");
	off = strlen(in);
	for (int i = 0; i < 50; i++)
		in[off++] = '[';
	for (int i = 0; i < 50; i++)
		in[off++] = ']';
	strcpy(in + off, "}");

	size_t seen[2] = { 0, 0 };
	struct jsonstream *js = jsonstream_new("job", on_large, NULL, seen);
	size_t len = strlen(in);
	for (size_t i = 0; i < len; i += 4096)
		jsonstream_feed(js, in + i, len - i < 4096 ? len - i : 4096);
	assert_true(jsonstream_finish(js));
	assert_int_equal(jsonstream_errors(js), 0);
	jsonstream_free(js);
	free(in);
	assert_int_equal(seen[0], n);
	assert_int_equal(seen[1], 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_pretty_printed),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_malformed_delimited),
		cmocka_unit_test(test_resync_after_mismatch),
		cmocka_unit_test(test_resync_after_line_break_in_string),
		cmocka_unit_test(test_missing_close),
		cmocka_unit_test(test_not_objects),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_counts_and_noun),
		cmocka_unit_test(test_no_callbacks),
		cmocka_unit_test(test_large_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
