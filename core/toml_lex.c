/* The TOML reader's cursor: positions, error messages, text checks, keys and
 * strings. Numbers and booleans are in toml_scalar.c. */
#include "core/toml_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hex.h"
#include "core/utf8.h"

void tlex_init(struct tlex *l, const char *text, size_t len, const char *filename,
	       struct err **err)
{
	memset(l, 0, sizeof(*l));
	l->p = text;
	l->end = text + len;
	l->line = 1;
	l->col = 1;
	l->filename = filename;
	l->err = err;
}

void tlex_release(struct tlex *l)
{
	if (l->cloc)
		freelocale(l->cloc);
	l->cloc = 0;
}

int tlex_peek(const struct tlex *l)
{
	return l->p < l->end ? (unsigned char)*l->p : -1;
}

int tlex_peek_at(const struct tlex *l, size_t k)
{
	return (size_t)(l->end - l->p) > k ? (unsigned char)l->p[k] : -1;
}

void tlex_adv(struct tlex *l, size_t n)
{
	for (; n > 0 && l->p < l->end; n--, l->p++) {
		unsigned char c = (unsigned char)*l->p;
		if (c == '\n') {
			l->line++;
			l->col = 1;
		} else if ((c & 0xC0) != 0x80) {
			l->col++;
		}
	}
}

bool tlex_at_newline(const struct tlex *l)
{
	int c = tlex_peek(l);
	return c == '\n' || (c == '\r' && tlex_peek_at(l, 1) == '\n');
}

static int vreport(struct tlex *l, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	err_set(l->err, 0, "%s:%u:%u: %s", l->filename, line, col, msg);
	free(msg);
	return -1;
}

int tlex_error_at(struct tlex *l, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(l, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

int tlex_error(struct tlex *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(l, l->line, l->col, fmt, ap);
	va_end(ap);
	return -1;
}

const char *tlex_describe(const struct tlex *l, char *buf)
{
	int c = tlex_peek(l);
	if (c < 0)
		return "end of file";
	if (tlex_at_newline(l))
		return "end of line";
	size_t n = utf8_seq_len((unsigned char)c);
	if (n > (size_t)(l->end - l->p))
		n = (size_t)(l->end - l->p);
	buf[0] = '`';
	memcpy(buf + 1, l->p, n);
	buf[n + 1] = '`';
	buf[n + 2] = '\0';
	return buf;
}

int tlex_check_text(struct tlex *l)
{
	const unsigned char *p = (const unsigned char *)l->p;
	const unsigned char *end = (const unsigned char *)l->end;
	if (end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		p += 3;
		l->p = (const char *)p;
	}
	unsigned line = 1, col = 1;
	while (p < end) {
		unsigned char c = *p;
		if (c == '\n') {
			line++;
			col = 1;
			p++;
			continue;
		}
		if (c == '\r' && (p + 1 == end || p[1] != '\n'))
			return tlex_error_at(l, line, col,
					     "carriage return without a line feed; "
					     "use LF or CRLF line endings");
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F)
			return tlex_error_at(l, line, col,
					     "control character U+%04X is not allowed; remove it "
					     "(in a basic string, write it as \\u%04X)", c, c);
		size_t n = 1;
		if (c >= 0x80) {
			n = utf8_valid_len(p, (size_t)(end - p));
			if (n == 0)
				return tlex_error_at(l, line, col,
						     "invalid UTF-8 (byte 0x%02X); save the file as UTF-8",
						     c);
		}
		p += n;
		col++;
	}
	return 0;
}

void tlex_skip_ws(struct tlex *l)
{
	int c;
	while ((c = tlex_peek(l)) == ' ' || c == '\t')
		tlex_adv(l, 1);
}

static void skip_comment(struct tlex *l)
{
	if (tlex_peek(l) != '#')
		return;
	while (tlex_peek(l) >= 0 && !tlex_at_newline(l))
		tlex_adv(l, 1);
}

static void skip_newline(struct tlex *l)
{
	tlex_adv(l, tlex_peek(l) == '\r' ? 2 : 1);
}

void tlex_skip_blank(struct tlex *l)
{
	for (;;) {
		tlex_skip_ws(l);
		skip_comment(l);
		if (!tlex_at_newline(l))
			return;
		skip_newline(l);
	}
}

int tlex_eol(struct tlex *l, const char *after)
{
	tlex_skip_ws(l);
	skip_comment(l);
	if (tlex_peek(l) < 0)
		return 0;
	if (tlex_at_newline(l)) {
		skip_newline(l);
		return 0;
	}
	char what[16];
	return tlex_error(l, "expected end of line after %s, found %s; put each key = value "
			  "and each [table] header on its own line", after, tlex_describe(l, what));
}

/* ---- keys ---- */

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static int key_part(struct tlex *l, struct tkey_part *part)
{
	part->line = l->line;
	part->col = l->col;
	int c = tlex_peek(l);
	if (c == '"' || c == '\'') {
		if (tlex_peek_at(l, 1) == c && tlex_peek_at(l, 2) == c)
			return tlex_error(l, "a key cannot be a multi-line string; "
					  "use a bare key or a single-line quoted one");
		struct buf b = BUF_INIT;
		if (tlex_string(l, &b, false) < 0) {
			buf_release(&b);
			return -1;
		}
		part->text = buf_detach(&b, &part->len);
		return 0;
	}
	const char *start = l->p;
	while (is_bare(tlex_peek(l)))
		tlex_adv(l, 1);
	if (l->p == start) {
		char what[16];
		return tlex_error(l, "expected a key, found %s; keys are bare words (letters, "
				  "digits, `_`, `-`) or quoted strings", tlex_describe(l, what));
	}
	part->len = (size_t)(l->p - start);
	part->text = strndup(start, part->len);
	if (!part->text)
		abort();
	return 0;
}

int tlex_key(struct tlex *l, struct tkey *k)
{
	for (;;) {
		if (k->n == k->cap) {
			k->cap = k->cap ? 2 * k->cap : 4;
			k->parts = realloc(k->parts, k->cap * sizeof(*k->parts));
			if (!k->parts)
				abort();
		}
		struct tkey_part *part = &k->parts[k->n];
		memset(part, 0, sizeof(*part));
		if (key_part(l, part) < 0)
			return -1;
		k->n++;
		tlex_skip_ws(l);
		if (tlex_peek(l) != '.')
			return 0;
		tlex_adv(l, 1);
		tlex_skip_ws(l);
	}
}

void tkey_release(struct tkey *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i].text);
	free(k->parts);
	memset(k, 0, sizeof(*k));
}

static void render_part(struct buf *b, const struct tkey_part *part)
{
	bool bare = part->len > 0;
	for (size_t i = 0; i < part->len && bare; i++)
		bare = is_bare((unsigned char)part->text[i]);
	if (bare) {
		buf_append(b, part->text, part->len);
		return;
	}
	buf_appends(b, "\"");
	for (size_t i = 0; i < part->len; i++) {
		unsigned char c = (unsigned char)part->text[i];
		if (c == '"' || c == '\\')
			buf_appendf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			buf_appendf(b, "\\u%04X", c);
		else
			buf_append(b, &part->text[i], 1);
	}
	buf_appends(b, "\"");
}

char *tkey_render(const struct tkey *k, size_t n)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n && i < k->n; i++) {
		if (i > 0)
			buf_appends(&b, ".");
		render_part(&b, &k->parts[i]);
	}
	return buf_detach(&b, NULL);
}

/* ---- strings ---- */

static int unterminated(struct tlex *l, unsigned line, unsigned col, int quote, bool multi)
{
	if (multi)
		return tlex_error_at(l, line, col, "unterminated multi-line string; close it with "
				     "`%c%c%c`", quote, quote, quote);
	return tlex_error_at(l, line, col, "unterminated string; close it with `%c` before the "
			     "end of the line", quote);
}

/* \u and \U: exactly `digits` hex digits naming a Unicode scalar value. */
static int unicode_escape(struct tlex *l, struct buf *out, unsigned line, unsigned col,
			  int letter, size_t digits)
{
	unsigned long cp = 0;
	for (size_t i = 0; i < digits; i++) {
		int v = hex_digit_value(tlex_peek_at(l, 2 + i));
		if (v < 0)
			return tlex_error_at(l, line, col, "invalid escape `\\%c`: expected %zu hex "
					     "digits after it, as in \\%c%s", letter, digits, letter,
					     digits == 4 ? "00E9" : "0001F600");
		cp = cp * 16 + (unsigned long)v;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return tlex_error_at(l, line, col, "escape `\\%c%.*s` is not a Unicode scalar value; "
				     "use a code point up to 10FFFF outside D800-DFFF", letter,
				     (int)digits, l->p + 2);
	char enc[UTF8_MAX];
	buf_append(out, enc, utf8_encode((uint32_t)cp, enc));
	tlex_adv(l, 2 + digits);
	return 0;
}

/* A backslash escape in a basic string; the cursor is at the backslash.
 * (sline, scol) is where the string starts. */
static int escape(struct tlex *l, struct buf *out, bool multi, unsigned sline, unsigned scol)
{
	unsigned line = l->line, col = l->col;
	int c = tlex_peek_at(l, 1);
	const char *plain = NULL;
	switch (c) {
	case 'b': plain = "\b"; break;
	case 't': plain = "\t"; break;
	case 'n': plain = "\n"; break;
	case 'f': plain = "\f"; break;
	case 'r': plain = "\r"; break;
	case '"': plain = "\""; break;
	case '\\': plain = "\\"; break;
	case 'u': return unicode_escape(l, out, line, col, 'u', 4);
	case 'U': return unicode_escape(l, out, line, col, 'U', 8);
	default: break;
	}
	if (plain) {
		buf_append(out, plain, 1);
		tlex_adv(l, 2);
		return 0;
	}
	if (c < 0)
		return unterminated(l, sline, scol, '"', multi);
	if (multi && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
		/* Line-ending backslash: drop it and all whitespace up to the
		 * next other character, newlines included. */
		tlex_adv(l, 1);
		tlex_skip_ws(l);
		if (tlex_peek(l) >= 0 && !tlex_at_newline(l))
			return tlex_error_at(l, line, col, "a backslash followed by spaces must end "
					     "the line; remove the spaces after it or write \\\\ for "
					     "a backslash");
		for (;;) {
			tlex_skip_ws(l);
			if (!tlex_at_newline(l))
				return 0;
			skip_newline(l);
		}
	}
	if (!multi && (c == '\n' || c == '\r'))
		return unterminated(l, sline, scol, '"', false);
	int n = (int)utf8_seq_len((unsigned char)c);
	return tlex_error_at(l, line, col, "invalid escape `\\%.*s`; valid escapes are \\b \\t \\n "
			     "\\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX (write \\\\ for a backslash)",
			     n, l->p + 1);
}

int tlex_string(struct tlex *l, struct buf *out, bool allow_multi)
{
	unsigned line = l->line, col = l->col;
	int quote = tlex_peek(l);
	bool multi = tlex_peek_at(l, 1) == quote && tlex_peek_at(l, 2) == quote;
	if (multi && !allow_multi)
		return tlex_error(l, "a multi-line string is not allowed here; use a single-line "
				  "string");
	if (multi) {
		tlex_adv(l, 3);
		if (tlex_at_newline(l))  /* a newline right after the opener is dropped */
			skip_newline(l);
	} else {
		tlex_adv(l, 1);
	}
	for (;;) {
		int c = tlex_peek(l);
		if (c < 0)
			return unterminated(l, line, col, quote, multi);
		if (c == '\n' || c == '\r') {
			if (!multi)
				return unterminated(l, line, col, quote, false);
			buf_append(out, "\n", 1);
			skip_newline(l);
			continue;
		}
		if (c == quote) {
			if (!multi) {
				tlex_adv(l, 1);
				return 0;
			}
			size_t q = 0;
			while (tlex_peek_at(l, q) == quote)
				q++;
			if (q >= 3) {
				/* Up to two quotes may sit right before the closer. */
				size_t extra = q - 3 > 2 ? 2 : q - 3;
				for (size_t i = 0; i < extra; i++)
					buf_append(out, &l->p[0], 1);
				tlex_adv(l, 3 + extra);
				return 0;
			}
			buf_append(out, l->p, q);
			tlex_adv(l, q);
			continue;
		}
		if (c == '\\' && quote == '"') {
			if (escape(l, out, multi, line, col) < 0)
				return -1;
			continue;
		}
		buf_append(out, l->p, 1);
		tlex_adv(l, 1);
	}
}
