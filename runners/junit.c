#include "runners/junit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/utf8.h"
#include "runners/state.h"

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

const char *junit_outcome_name(enum junit_outcome outcome)
{
	switch (outcome) {
	case JUNIT_PASSED:
		return "passed";
	case JUNIT_FAILED:
		return "failed";
	case JUNIT_ERROR:
		return "error";
	case JUNIT_TIMED_OUT:
		return "timed out";
	case JUNIT_SKIPPED:
		return "skipped";
	}
	return "unknown";
}

/* ---- escaping ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[0..len) encoding a character XML
 * 1.0 allows, or 0 when the bytes there are not one. Only called for lead
 * bytes >= 0x80. */
static size_t xml_char_len(const unsigned char *s, size_t len)
{
	size_t n = utf8_valid_len(s, len);
	/* U+FFFE and U+FFFF are not XML characters. */
	if (n == 3 && s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
		return 0;
	return n;
}

/* Length of a terminal control sequence (ESC [ parameters intermediates
 * final) at s[0..len), or 0 when there is none. */
static size_t csi_len(const unsigned char *s, size_t len)
{
	if (len < 2 || s[0] != 0x1B || s[1] != '[')
		return 0;
	size_t i = 2;
	while (i < len && s[i] >= 0x30 && s[i] <= 0x3F)
		i++;
	while (i < len && s[i] >= 0x20 && s[i] <= 0x2F)
		i++;
	if (i < len && s[i] >= 0x40 && s[i] <= 0x7E)
		return i + 1;
	return 0;
}

/* The entity or character reference for an ASCII byte, or NULL when the byte
 * stands for itself. Control characters other than tab, newline and carriage
 * return are handled by the caller. */
static const char *ascii_escape(unsigned char c, bool in_attr)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return in_attr ? "&quot;" : NULL;
	case '\'':
		return in_attr ? "&apos;" : NULL;
	case '\n':
		return in_attr ? "&#10;" : NULL;
	case '\t':
		return in_attr ? "&#9;" : NULL;
	case '\r':
		return "&#13;"; /* a raw CR would be normalized away */
	default:
		return NULL;
	}
}

void junit_escape(struct buf *out, const char *text, size_t len, bool in_attr)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t run = 0; /* start of the bytes not yet copied */
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		const char *sub = NULL;
		size_t skip = 1;
		if (c >= 0x80) {
			size_t n = xml_char_len(s + i, len - i);
			if (n) {
				i += n;
				continue;
			}
			sub = REPLACEMENT;
		} else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			skip = csi_len(s + i, len - i);
			if (skip)
				sub = "";
			else {
				sub = REPLACEMENT;
				skip = 1;
			}
		} else {
			sub = ascii_escape(c, in_attr);
			if (!sub) {
				i++;
				continue;
			}
		}
		buf_append(out, s + run, i - run);
		buf_appends(out, sub);
		i += skip;
		run = i;
	}
	buf_append(out, s + run, len - run);
}

static void escape_str(struct buf *out, const char *s, bool in_attr)
{
	if (s)
		junit_escape(out, s, strlen(s), in_attr);
}

/* ---- the report ------------------------------------------------------------ */

struct counts {
	size_t tests, failures, errors, skipped;
	double seconds;
};

static double case_seconds(const struct junit_case *c)
{
	return isfinite(c->seconds) && c->seconds > 0 ? c->seconds : 0;
}

static void count(struct counts *k, const struct junit_case *c)
{
	k->tests++;
	k->seconds += case_seconds(c);
	switch (c->outcome) {
	case JUNIT_PASSED:
		break;
	case JUNIT_FAILED:
	case JUNIT_TIMED_OUT:
		k->failures++;
		break;
	case JUNIT_ERROR:
		k->errors++;
		break;
	case JUNIT_SKIPPED:
		k->skipped++;
		break;
	}
}

static void counts_attrs(struct buf *out, const struct counts *k)
{
	buf_appendf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"",
		    k->tests, k->failures, k->errors, k->skipped, k->seconds);
}

static void output_element(struct buf *out, const char *tag, const char *data, size_t len)
{
	if (!data || len == 0)
		return;
	buf_appendf(out, "      <%s>", tag);
	junit_escape(out, data, len, false);
	buf_appendf(out, "</%s>\n", tag);
}

static void format_case(struct buf *out, const struct junit_case *c)
{
	buf_appends(out, "    <testcase name=\"");
	escape_str(out, c->name, true);
	buf_appends(out, "\" classname=\"");
	escape_str(out, c->classname ? c->classname : c->suite, true);
	buf_appendf(out, "\" time=\"%.3f\"", case_seconds(c));

	const char *tag = NULL, *type = NULL;
	switch (c->outcome) {
	case JUNIT_PASSED:
		break;
	case JUNIT_FAILED:
		tag = "failure", type = "failure";
		break;
	case JUNIT_TIMED_OUT:
		tag = "failure", type = "timeout";
		break;
	case JUNIT_ERROR:
		tag = "error", type = "error";
		break;
	case JUNIT_SKIPPED:
		tag = "skipped";
		break;
	}
	bool has_out = c->stdout_data && c->stdout_len > 0;
	bool has_err = c->stderr_data && c->stderr_len > 0;
	if (!tag && !has_out && !has_err) {
		buf_appends(out, "/>\n");
		return;
	}
	buf_appends(out, ">\n");
	if (tag) {
		buf_appendf(out, "      <%s", tag);
		if (c->message) {
			buf_appends(out, " message=\"");
			escape_str(out, c->message, true);
			buf_appends(out, "\"");
		}
		if (type)
			buf_appendf(out, " type=\"%s\"", type);
		if (c->message && type) {
			buf_appends(out, ">");
			escape_str(out, c->message, false);
			buf_appendf(out, "</%s>\n", tag);
		} else {
			buf_appends(out, "/>\n");
		}
	}
	output_element(out, "system-out", c->stdout_data, c->stdout_len);
	output_element(out, "system-err", c->stderr_data, c->stderr_len);
	buf_appends(out, "    </testcase>\n");
}

/* Groups: the cases of one suite, as indices into the input. */
struct group {
	size_t first;        /* index of the suite's first case */
	size_t start, len;   /* range in the sorted index array */
};

static const char *suite_of(const struct junit_case *c)
{
	return c->suite ? c->suite : "";
}

static int compare_by_suite(const void *a, const void *b, void *arg)
{
	const struct junit_case *cases = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int r = strcmp(suite_of(&cases[ia]), suite_of(&cases[ib]));
	if (r)
		return r;
	return ia < ib ? -1 : ia > ib;
}

static int compare_groups(const void *a, const void *b)
{
	const struct group *ga = a, *gb = b;
	return ga->first < gb->first ? -1 : ga->first > gb->first;
}

void junit_format(struct buf *out, const struct junit_case *cases, size_t n)
{
	struct counts all = {0};
	for (size_t i = 0; i < n; i++)
		count(&all, &cases[i]);
	buf_appends(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	counts_attrs(out, &all);
	buf_appends(out, ">\n");

	/* Sort indices by (suite, position): each suite's cases become one
	 * range whose first element is where the suite first appeared. */
	_cleanup_free_ size_t *idx = calloc(n ? n : 1, sizeof *idx);
	_cleanup_free_ struct group *groups = calloc(n ? n : 1, sizeof *groups);
	if (!idx || !groups)
		abort();
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof *idx, compare_by_suite, (void *)cases);
	size_t ngroups = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(suite_of(&cases[idx[i - 1]]), suite_of(&cases[idx[i]])) != 0)
			groups[ngroups++] = (struct group){.first = idx[i], .start = i};
		groups[ngroups - 1].len++;
	}
	qsort(groups, ngroups, sizeof *groups, compare_groups);

	for (size_t g = 0; g < ngroups; g++) {
		struct counts k = {0};
		for (size_t j = 0; j < groups[g].len; j++)
			count(&k, &cases[idx[groups[g].start + j]]);
		buf_appends(out, "  <testsuite name=\"");
		escape_str(out, suite_of(&cases[groups[g].first]), true);
		buf_appends(out, "\"");
		counts_attrs(out, &k);
		buf_appends(out, ">\n");
		for (size_t j = 0; j < groups[g].len; j++)
			format_case(out, &cases[idx[groups[g].start + j]]);
		buf_appends(out, "  </testsuite>\n");
	}
	buf_appends(out, "</testsuites>\n");
}

int junit_write(const char *path, const struct junit_case *cases, size_t n, struct err **err)
{
	struct buf out = BUF_INIT;
	junit_format(&out, cases, n);
	int r = state_write_atomic(path, out.data, out.len, err);
	buf_release(&out);
	if (r < 0)
		return err_wrap(err, "cannot write JUnit report");
	return 0;
}
