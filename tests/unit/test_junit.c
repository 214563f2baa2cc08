#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "runners/junit.h"

/* ---- a small, strict XML reader ------------------------------------------
 *
 * Enough XML 1.0 to check what junit writes: a prolog, elements with quoted
 * attributes, text, and the five entities plus character references. It
 * rejects anything else (raw '<' or '>' or '&' in text, forbidden characters,
 * bad UTF-8, unbalanced tags) and returns the elements in document order with
 * their attribute values and text decoded as a conforming parser would
 * (attribute whitespace becomes spaces, CR and CRLF become LF). */

#define MAX_ELEMS 4096
#define MAX_ATTRS 8

struct elem {
	char name[32];
	int depth, parent;
	int nattrs;
	char *keys[MAX_ATTRS], *vals[MAX_ATTRS];
	struct buf text;
};

struct doc {
	struct elem *e;
	int n;
	char error[200];
};

static void doc_free(struct doc *d)
{
	for (int i = 0; i < d->n; i++) {
		for (int a = 0; a < d->e[i].nattrs; a++) {
			free(d->e[i].keys[a]);
			free(d->e[i].vals[a]);
		}
		buf_release(&d->e[i].text);
	}
	free(d->e);
}

/* Decodes one UTF-8 character XML allows; returns its length or 0. */
static size_t xml_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
	if (n == 0 || n > len)
		return 0;
	if (n > 1)
		c &= 0x3F >> (n - 1);
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[k] & 0x3F);
	}
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (c < min[n])
		return 0; /* overlong */
	bool ok = c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
		  (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
	*cp = c;
	return ok ? n : 0;
}

static void put_utf8(struct buf *b, uint32_t c)
{
	char o[4];
	size_t n;
	if (c < 0x80) {
		o[0] = (char)c, n = 1;
	} else if (c < 0x800) {
		o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 0x3F)), n = 2;
	} else if (c < 0x10000) {
		o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F)), n = 3;
	} else {
		o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((c >> 6) & 0x3F)), o[3] = (char)(0x80 | (c & 0x3F)), n = 4;
	}
	buf_append(b, o, n);
}

/* Decodes characters up to (not including) `stop`, into out. */
static bool decode(struct doc *d, const char *s, size_t len, size_t *i, char stop, bool attr,
		   struct buf *out)
{
	while (*i < len && s[*i] != stop) {
		unsigned char c = (unsigned char)s[*i];
		if (c == '<' || (c == '>' && !attr)) {
			snprintf(d->error, sizeof d->error, "raw '%c' at %zu", c, *i);
			return false;
		}
		if (c == '&') {
			const char *semi = memchr(s + *i, ';', len - *i);
			if (!semi) {
				snprintf(d->error, sizeof d->error, "unterminated reference at %zu", *i);
				return false;
			}
			size_t rl = (size_t)(semi - (s + *i)) + 1;
			static const char *const ent[][2] = {{"&amp;", "&"},  {"&lt;", "<"},
							     {"&gt;", ">"},   {"&quot;", "\""},
							     {"&apos;", "'"}};
			bool found = false;
			for (size_t k = 0; k < 5 && !found; k++) {
				if (rl == strlen(ent[k][0]) && memcmp(s + *i, ent[k][0], rl) == 0) {
					buf_appends(out, ent[k][1]);
					found = true;
				}
			}
			if (!found && rl > 3 && s[*i + 1] == '#') {
				char *end;
				bool hex = s[*i + 2] == 'x';
				unsigned long v = strtoul(s + *i + 2 + hex, &end, hex ? 16 : 10);
				unsigned char tmp[4];
				struct buf t = BUF_INIT;
				put_utf8(&t, (uint32_t)v);
				memcpy(tmp, t.data, t.len);
				uint32_t cp;
				if (end == semi && v <= 0x10FFFF && xml_char(tmp, t.len, &cp)) {
					buf_append(out, t.data, t.len);
					found = true;
				}
				buf_release(&t);
			}
			if (!found) {
				snprintf(d->error, sizeof d->error, "bad reference at %zu", *i);
				return false;
			}
			*i += rl;
			continue;
		}
		uint32_t cp;
		size_t n = xml_char((const unsigned char *)s + *i, len - *i, &cp);
		if (!n) {
			snprintf(d->error, sizeof d->error, "bad character 0x%02x at %zu", c, *i);
			return false;
		}
		if (attr && (c == '\n' || c == '\t' || c == '\r')) {
			buf_appends(out, " ");
		} else if (c == '\r') {
			buf_appends(out, "\n");
			if (*i + 1 < len && s[*i + 1] == '\n')
				(*i)++;
		} else {
			buf_append(out, s + *i, n);
		}
		*i += n;
	}
	return true;
}

static bool read_name(const char *s, size_t len, size_t *i, char *name, size_t size)
{
	size_t k = 0;
	while (*i < len && (s[*i] == '-' || s[*i] == '_' ||
			    (s[*i] >= 'a' && s[*i] <= 'z') || (s[*i] >= 'A' && s[*i] <= 'Z'))) {
		if (k + 1 >= size)
			return false;
		name[k++] = s[(*i)++];
	}
	name[k] = '\0';
	return k > 0;
}

static void skip_space(const char *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\n'))
		(*i)++;
}

/* Parses s into d; false with d->error set when it is not well-formed. */
static bool parse_xml(const char *s, size_t len, struct doc *d)
{
	memset(d, 0, sizeof *d);
	d->e = calloc(MAX_ELEMS, sizeof *d->e);
	static const char prolog[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	if (len < strlen(prolog) || memcmp(s, prolog, strlen(prolog)) != 0) {
		snprintf(d->error, sizeof d->error, "no prolog");
		return false;
	}
	size_t i = strlen(prolog);
	int stack[64], depth = 0;
	bool had_root = false;
	while (i < len) {
		if (s[i] != '<') {
			struct buf junk = BUF_INIT;
			bool ok = decode(d, s, len, &i, '<', false, depth ? &d->e[stack[depth - 1]].text
									    : &junk);
			bool blank = true;
			for (size_t k = 0; k < junk.len; k++)
				blank &= junk.data[k] == '\n' || junk.data[k] == ' ';
			buf_release(&junk);
			if (!ok)
				return false;
			if (!blank) {
				snprintf(d->error, sizeof d->error, "text outside the root");
				return false;
			}
			continue;
		}
		i++;
		if (i < len && s[i] == '/') {
			i++;
			char name[32];
			if (!read_name(s, len, &i, name, sizeof name) || i >= len || s[i] != '>' ||
			    depth == 0 || strcmp(name, d->e[stack[depth - 1]].name) != 0) {
				snprintf(d->error, sizeof d->error, "bad end tag at %zu", i);
				return false;
			}
			i++;
			depth--;
			continue;
		}
		if (d->n >= MAX_ELEMS || depth >= 64 || (depth == 0 && had_root)) {
			snprintf(d->error, sizeof d->error, "too many elements or roots");
			return false;
		}
		struct elem *e = &d->e[d->n];
		e->depth = depth;
		e->parent = depth ? stack[depth - 1] : -1;
		if (!read_name(s, len, &i, e->name, sizeof e->name)) {
			snprintf(d->error, sizeof d->error, "bad element name at %zu", i);
			return false;
		}
		d->n++;
		for (;;) {
			skip_space(s, len, &i);
			if (i < len && s[i] == '>') {
				i++;
				stack[depth++] = d->n - 1;
				break;
			}
			if (i + 1 < len && s[i] == '/' && s[i + 1] == '>') {
				i += 2;
				break;
			}
			char key[32];
			if (e->nattrs >= MAX_ATTRS || !read_name(s, len, &i, key, sizeof key) ||
			    i + 1 >= len || s[i] != '=' || s[i + 1] != '"') {
				snprintf(d->error, sizeof d->error, "bad attribute at %zu", i);
				return false;
			}
			for (int a = 0; a < e->nattrs; a++)
				if (strcmp(e->keys[a], key) == 0) {
					snprintf(d->error, sizeof d->error, "repeated attribute %s", key);
					return false;
				}
			i += 2;
			struct buf v = BUF_INIT;
			if (!decode(d, s, len, &i, '"', true, &v) || i >= len) {
				buf_release(&v);
				if (!d->error[0])
					snprintf(d->error, sizeof d->error, "unterminated attribute");
				return false;
			}
			i++;
			e->keys[e->nattrs] = strdup(key);
			e->vals[e->nattrs++] = buf_detach(&v, NULL);
		}
		if (e->depth == 0)
			had_root = true;
	}
	if (depth != 0 || !had_root) {
		snprintf(d->error, sizeof d->error, "unbalanced document");
		return false;
	}
	return true;
}

static struct doc parse_or_fail(const struct buf *b)
{
	struct doc d;
	if (!parse_xml(b->data, b->len, &d))
		fail_msg("not well-formed: %s\n%s", d.error, b->data);
	return d;
}

static const char *attr(const struct elem *e, const char *key)
{
	for (int a = 0; a < e->nattrs; a++)
		if (strcmp(e->keys[a], key) == 0)
			return e->vals[a];
	return NULL;
}

static const char *text_of(const struct elem *e)
{
	return e->text.data ? e->text.data : "";
}

/* ---- tests ---------------------------------------------------------------- */

#define OUT(s) .stdout_data = (s), .stdout_len = sizeof(s) - 1
#define ERR(s) .stderr_data = (s), .stderr_len = sizeof(s) - 1

static const struct junit_case sample[] = {
	{.suite = "pkg::a", .name = "m::ok", .outcome = JUNIT_PASSED, .seconds = 0.05},
	{.suite = "pkg::b", .name = "t1", .classname = "pkg::b::cls", .outcome = JUNIT_FAILED,
	 .seconds = 1.25, .message = "exited with code 101", OUT("hello\n"), ERR("boom\n")},
	{.suite = "pkg::a", .name = "m::slow", .outcome = JUNIT_TIMED_OUT, .seconds = 3,
	 .message = "timed out after 3s"},
	{.suite = "pkg::a", .name = "m::ign", .outcome = JUNIT_SKIPPED, .seconds = -1},
	{.suite = "pkg::b", .name = "t2", .outcome = JUNIT_ERROR, .seconds = 0.0004,
	 .message = "execution error: no such program"},
	{.suite = "pkg::b", .name = "t3", .outcome = JUNIT_PASSED, .seconds = 0.25, OUT("noisy")},
};

static void test_exact_text(void **st)
{
	(void)st;
	struct buf b = BUF_INIT;
	junit_format(&b, sample, ARRAY_SIZE(sample));
	const char *want =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites tests=\"6\" failures=\"2\" errors=\"1\" skipped=\"1\" time=\"4.550\">\n"
		"  <testsuite name=\"pkg::a\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" "
		"time=\"3.050\">\n"
		"    <testcase name=\"m::ok\" classname=\"pkg::a\" time=\"0.050\"/>\n"
		"    <testcase name=\"m::slow\" classname=\"pkg::a\" time=\"3.000\">\n"
		"      <failure message=\"timed out after 3s\" type=\"timeout\">timed out after "
		"3s</failure>\n"
		"    </testcase>\n"
		"    <testcase name=\"m::ign\" classname=\"pkg::a\" time=\"0.000\">\n"
		"      <skipped/>\n"
		"    </testcase>\n"
		"  </testsuite>\n"
		"  <testsuite name=\"pkg::b\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"0\" "
		"time=\"1.500\">\n"
		"    <testcase name=\"t1\" classname=\"pkg::b::cls\" time=\"1.250\">\n"
		"      <failure message=\"exited with code 101\" type=\"failure\">exited with code "
		"101</failure>\n"
		"      <system-out>hello\n</system-out>\n"
		"      <system-err>boom\n</system-err>\n"
		"    </testcase>\n"
		"    <testcase name=\"t2\" classname=\"pkg::b\" time=\"0.000\">\n"
		"      <error message=\"execution error: no such program\" type=\"error\">execution "
		"error: no such program</error>\n"
		"    </testcase>\n"
		"    <testcase name=\"t3\" classname=\"pkg::b\" time=\"0.250\">\n"
		"      <system-out>noisy</system-out>\n"
		"    </testcase>\n"
		"  </testsuite>\n"
		"</testsuites>\n";
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void test_structure_parses_back(void **st)
{
	(void)st;
	struct buf b = BUF_INIT;
	junit_format(&b, sample, ARRAY_SIZE(sample));
	struct doc d = parse_or_fail(&b);
	assert_string_equal(d.e[0].name, "testsuites");
	assert_string_equal(attr(&d.e[0], "tests"), "6");
	int suites = 0, cases = 0;
	for (int i = 0; i < d.n; i++) {
		const struct elem *e = &d.e[i];
		if (strcmp(e->name, "testsuite") == 0) {
			suites++;
			assert_int_equal(e->depth, 1);
		} else if (strcmp(e->name, "testcase") == 0) {
			assert_int_equal(e->depth, 2);
			/* Input order within a suite, suites in first-seen order. */
			static const char *const order[] = {"m::ok", "m::slow", "m::ign",
							    "t1",    "t2",      "t3"};
			assert_string_equal(attr(e, "name"), order[cases]);
			const struct junit_case *c = &sample[cases < 3 ? (int[]){0, 2, 3}[cases]
								 : (int[]){1, 4, 5}[cases - 3]];
			assert_string_equal(attr(&d.e[e->parent], "name"), c->suite);
			assert_string_equal(attr(e, "classname"),
					    c->classname ? c->classname : c->suite);
			cases++;
		}
	}
	assert_int_equal(suites, 2);
	assert_int_equal(cases, 6);
	doc_free(&d);
	buf_release(&b);
}

static void check_escape(const char *in, size_t len, bool in_attr, const char *want)
{
	struct buf b = BUF_INIT;
	junit_escape(&b, in, len, in_attr);
	if (strcmp(b.data ? b.data : "", want) != 0)
		fail_msg("escape(%s) = [%s], want [%s]", in_attr ? "attr" : "text", b.data, want);
	buf_release(&b);
}

#define ESC(lit, attr, want) check_escape(lit, sizeof(lit) - 1, attr, want)
#define FFFD "\xEF\xBF\xBD"

static void test_escaping(void **st)
{
	(void)st;
	ESC("plain text", false, "plain text");
	ESC("", true, "");
	ESC("a<b>&\"c'", false, "a&lt;b&gt;&amp;\"c'");
	ESC("a<b>&\"c'", true, "a&lt;b&gt;&amp;&quot;c&apos;");
	ESC("]]>", false, "]]&gt;");
	ESC("l1\nl2\tx\r\n", false, "l1\nl2\tx&#13;\n");
	ESC("l1\nl2\tx\r\n", true, "l1&#10;l2&#9;x&#13;&#10;");
	/* Control characters XML 1.0 forbids, NUL included. */
	ESC("a\x01" "b\0c\x1f" "d\x7f", false, "a" FFFD "b" FFFD "c" FFFD "d\x7f");
	/* Terminal colours are dropped; a lone or unfinished ESC is replaced. */
	ESC("\x1b[1;31mred\x1b[0m ok", false, "red ok");
	ESC("\x1b[2K\x1b[?25l", false, "");
	ESC("x\x1b" "y", false, "x" FFFD "y");
	ESC("x\x1b[12", false, "x" FFFD "[12");
	/* UTF-8: valid kept, invalid bytes replaced one by one. */
	ESC("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x92\xa5", false, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x92\xa5");
	ESC("\xff\xfe", false, FFFD FFFD);
	ESC("\xc3", false, FFFD);                   /* truncated */
	ESC("\xc3(", false, FFFD "(");              /* bad continuation */
	ESC("\xc0\xaf", false, FFFD FFFD);          /* overlong '/' */
	ESC("\xe0\x80\xaf", false, FFFD FFFD FFFD); /* overlong */
	ESC("\xed\xa0\x80", false, FFFD FFFD FFFD); /* surrogate U+D800 */
	ESC("\xef\xbf\xbe\xef\xbf\xbf", false, FFFD FFFD FFFD FFFD FFFD FFFD); /* U+FFFE/F */
	ESC("\xef\xbf\xbd", false, FFFD);           /* U+FFFD itself is fine */
	ESC("\xf4\x90\x80\x80", false, FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	ESC("\xf4\x8f\xbf\xbf", false, "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}

static void test_hostile_names_round_trip(void **st)
{
	(void)st;
	/* Valid UTF-8 with no forbidden characters must come back unchanged. */
	static const char *const names[] = {
		"<script>alert('x')</script>",
		"a\"b\"c",
		"&amp; is not decoded twice &lt;",
		"multi\nline\tname\r\nwith CRLF",
		"]]><![CDATA[",
		"--> <!-- comment",
		"<?xml version=\"1.0\"?>",
		"ünïcödé ✓ 💥",
		"   leading and trailing   ",
		"",
	};
	struct junit_case c[ARRAY_SIZE(names)];
	memset(c, 0, sizeof c);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		c[i].suite = names[(i + 3) % ARRAY_SIZE(names)];
		c[i].name = names[i];
		c[i].classname = names[(i + 1) % ARRAY_SIZE(names)];
		c[i].outcome = (enum junit_outcome)(i % 5);
		c[i].message = names[(i + 2) % ARRAY_SIZE(names)];
		c[i].stdout_data = names[i];
		c[i].stdout_len = strlen(names[i]);
		c[i].stderr_data = names[(i + 4) % ARRAY_SIZE(names)];
		c[i].stderr_len = strlen(c[i].stderr_data);
	}
	struct buf b = BUF_INIT;
	junit_format(&b, c, ARRAY_SIZE(c));
	struct doc d = parse_or_fail(&b);
	size_t k = 0;
	for (int i = 0; i < d.n; i++) {
		const struct elem *e = &d.e[i];
		if (strcmp(e->name, "testcase") != 0)
			continue;
		/* Suites are distinct here, so output order is input order. */
		assert_true(k < ARRAY_SIZE(c));
		const struct junit_case *w = &c[k++];
		assert_string_equal(attr(&d.e[e->parent], "name"), w->suite);
		assert_string_equal(attr(e, "name"), w->name);
		assert_string_equal(attr(e, "classname"), w->classname);
		for (int j = i + 1; j < d.n && d.e[j].parent == i; j++) {
			const struct elem *ch = &d.e[j];
			/* Text keeps newlines, except that CRLF arrives as an escaped
			 * CR and a newline: both survive. */
			if (strcmp(ch->name, "system-out") == 0)
				assert_string_equal(text_of(ch), w->stdout_data);
			else if (strcmp(ch->name, "system-err") == 0)
				assert_string_equal(text_of(ch), w->stderr_data);
			else if (strcmp(ch->name, "skipped") == 0)
				assert_string_equal(attr(ch, "message"), w->message);
			else {
				assert_string_equal(attr(ch, "message"), w->message);
				assert_string_equal(text_of(ch), w->message);
			}
		}
	}
	assert_int_equal(k, ARRAY_SIZE(c));
	doc_free(&d);
	buf_release(&b);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static char *random_bytes(size_t *len)
{
	*len = rng() % 40;
	char *p = malloc(*len + 1);
	static const char pool[] = "<>&\"'\n\r\t\x1b[m;\x01\x00\x7f\xc3\xa9\xed\xa0\xef\xbf\xbe\xf0";
	for (size_t i = 0; i < *len; i++)
		p[i] = rng() % 2 ? pool[rng() % (sizeof pool - 1)] : (char)(rng() & 0xFF);
	p[*len] = '\0';
	return p;
}

static void test_random_bytes_stay_well_formed(void **st)
{
	(void)st;
	enum { N = 300 };
	for (int round = 0; round < 20; round++) {
		struct junit_case c[N];
		char *owned[N][5];
		for (size_t i = 0; i < N; i++) {
			size_t len[5];
			for (int f = 0; f < 5; f++)
				owned[i][f] = random_bytes(&len[f]);
			c[i] = (struct junit_case){
				.suite = owned[i][0], .name = owned[i][1],
				.classname = rng() % 2 ? owned[i][2] : NULL,
				.outcome = (enum junit_outcome)(rng() % 5),
				.seconds = (double)(rng() % 10000) / 1000.0,
				.message = rng() % 3 ? owned[i][2] : NULL,
				.stdout_data = owned[i][3], .stdout_len = len[3],
				.stderr_data = owned[i][4], .stderr_len = len[4],
			};
		}
		struct buf b = BUF_INIT;
		junit_format(&b, c, N);
		struct doc d = parse_or_fail(&b);
		int cases = 0;
		for (int i = 0; i < d.n; i++)
			cases += strcmp(d.e[i].name, "testcase") == 0;
		assert_int_equal(cases, N);
		doc_free(&d);
		buf_release(&b);
		for (size_t i = 0; i < N; i++)
			for (int f = 0; f < 5; f++)
				free(owned[i][f]);
	}
}

static void test_suite_grouping_first_seen(void **st)
{
	(void)st;
	static const char *const suites[] = {"z", "a", "z", "m", "a", "z", "m", "b"};
	struct junit_case c[ARRAY_SIZE(suites)];
	char names[ARRAY_SIZE(suites)][8];
	for (size_t i = 0; i < ARRAY_SIZE(suites); i++) {
		snprintf(names[i], sizeof names[i], "n%zu", i);
		c[i] = (struct junit_case){.suite = suites[i], .name = names[i]};
	}
	struct buf b = BUF_INIT;
	junit_format(&b, c, ARRAY_SIZE(c));
	struct doc d = parse_or_fail(&b);
	struct buf seen = BUF_INIT;
	for (int i = 0; i < d.n; i++) {
		if (strcmp(d.e[i].name, "testsuite") == 0)
			buf_appendf(&seen, "[%s:%s]", attr(&d.e[i], "name"), attr(&d.e[i], "tests"));
		else if (strcmp(d.e[i].name, "testcase") == 0)
			buf_appendf(&seen, "%s ", attr(&d.e[i], "name"));
	}
	assert_string_equal(seen.data, "[z:3]n0 n2 n5 [a:2]n1 n4 [m:2]n3 n6 [b:1]n7 ");
	buf_release(&seen);
	doc_free(&d);
	buf_release(&b);
}

static void test_empty_report(void **st)
{
	(void)st;
	struct buf b = BUF_INIT;
	junit_format(&b, NULL, 0);
	assert_string_equal(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				    "<testsuites tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" "
				    "time=\"0.000\">\n</testsuites>\n");
	struct doc d = parse_or_fail(&b);
	assert_int_equal(d.n, 1);
	doc_free(&d);
	buf_release(&b);
}

static void test_write_file(void **st)
{
	(void)st;
	char root[256];
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/test_junit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(root));
	char path[300];
	snprintf(path, sizeof path, "%s/report.xml", root);

	struct err *e = NULL;
	assert_int_equal(junit_write(path, sample, 2, &e), 0);
	assert_int_equal(junit_write(path, sample, ARRAY_SIZE(sample), &e), 0);
	struct buf want = BUF_INIT;
	junit_format(&want, sample, ARRAY_SIZE(sample));
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *got = calloc(1, want.len + 16);
	assert_int_equal(fread(got, 1, want.len + 15, fp), want.len);
	fclose(fp);
	assert_memory_equal(got, want.data, want.len);
	free(got);
	buf_release(&want);

	/* No temporary file stays behind. */
	DIR *dir = opendir(root);
	assert_non_null(dir);
	int entries = 0;
	struct dirent *de;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			entries++;
	closedir(dir);
	assert_int_equal(entries, 1);

	/* A missing directory is an error naming the report. */
	char bad[320];
	snprintf(bad, sizeof bad, "%s/missing/report.xml", root);
	assert_int_equal(junit_write(bad, sample, 1, &e), -1);
	assert_non_null(strstr(err_msg(e), "JUnit"));
	assert_non_null(strstr(err_msg(e), "missing/report.xml"));
	err_free(&e);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(root), 0);
}

static void test_outcome_names(void **st)
{
	(void)st;
	assert_string_equal(junit_outcome_name(JUNIT_PASSED), "passed");
	assert_string_equal(junit_outcome_name(JUNIT_FAILED), "failed");
	assert_string_equal(junit_outcome_name(JUNIT_ERROR), "error");
	assert_string_equal(junit_outcome_name(JUNIT_TIMED_OUT), "timed out");
	assert_string_equal(junit_outcome_name(JUNIT_SKIPPED), "skipped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_text),
		cmocka_unit_test(test_structure_parses_back),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_hostile_names_round_trip),
		cmocka_unit_test(test_random_bytes_stay_well_formed),
		cmocka_unit_test(test_suite_grouping_first_seen),
		cmocka_unit_test(test_empty_report),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_outcome_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
