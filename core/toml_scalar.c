/* The TOML reader's bare values: booleans, integers and floats, and the
 * date/time and inf/nan forms that this reader refuses. */
#include "core/toml_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Characters a bare value may be made of (dates included, so that they are
 * recognised whole). */
static bool is_scalar_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '+' || c == '.' || c == ':';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_digit_in(int c, int base)
{
	switch (base) {
	case 2: return c == '0' || c == '1';
	case 8: return c >= '0' && c <= '7';
	case 16: return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	default: return is_digit(c);
	}
}

static bool looks_like_date(const char *s, size_t n)
{
	/* 1979-05-27..., or 07:32:00... */
	if (n >= 7 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
	    s[4] == '-' && is_digit(s[5]) && is_digit(s[6]))
		return true;
	return n >= 4 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':' && is_digit(s[3]);
}

/* Checks a run of digits of `base` with single underscores between digits.
 * Returns 0 when fine, 1 when an underscore is misplaced, 2 otherwise. */
static int check_digits(const char *s, size_t n, int base)
{
	if (n == 0)
		return 2;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			if (i == 0 || i + 1 == n || s[i + 1] == '_')
				return 1;
		} else if (!is_digit_in((unsigned char)s[i], base)) {
			return 2;
		}
	}
	return 0;
}

static int bad_number(struct tlex *l, unsigned line, unsigned col, const char *s, size_t n,
		      int why)
{
	if (why == 1)
		return tlex_error_at(l, line, col, "misplaced `_` in number `%.*s`; an underscore "
				     "must sit between two digits", (int)n, s);
	return tlex_error_at(l, line, col, "invalid number `%.*s`; write digits with an optional "
			     "sign, fraction and exponent (1_000, -3, 2.5, 1e6), or 0x/0o/0b for "
			     "hexadecimal, octal or binary", (int)n, s);
}

/* Accumulates digits (underscores skipped) up to limit. */
static bool accumulate(const char *s, size_t n, int base, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_')
			continue;
		int c = (unsigned char)s[i];
		uint64_t d = is_digit(c) ? (uint64_t)(c - '0') : (uint64_t)((c | 0x20) - 'a' + 10);
		if (v > (limit - d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + d;
	}
	*out = v;
	return true;
}

static int out_of_range(struct tlex *l, unsigned line, unsigned col, const char *s, size_t n)
{
	return tlex_error_at(l, line, col, "integer `%.*s` is out of range; integers must fit in "
			     "64 bits (-9223372036854775808 to 9223372036854775807)", (int)n, s);
}

static int prefixed_integer(struct tlex *l, unsigned line, unsigned col, const char *s,
			    size_t n, json_t **out)
{
	int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
	int why = check_digits(s + 2, n - 2, base);
	if (why)
		return bad_number(l, line, col, s, n, why);
	uint64_t v;
	if (!accumulate(s + 2, n - 2, base, INT64_MAX, &v))
		return out_of_range(l, line, col, s, n);
	*out = json_integer((json_int_t)v);
	return 0;
}

static int to_float(struct tlex *l, unsigned line, unsigned col, const char *s, size_t n,
		    json_t **out)
{
	char *plain = malloc(n + 1);
	if (!plain)
		abort();
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			plain[m++] = s[i];
	plain[m] = '\0';
	if (!l->cloc) {
		l->cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
		if (!l->cloc)
			abort();
	}
	double v = strtod_l(plain, NULL, l->cloc);
	free(plain);
	if (!isfinite(v))
		return tlex_error_at(l, line, col, "float `%.*s` is out of range; use a smaller "
				     "exponent", (int)n, s);
	*out = json_real(v);
	return 0;
}

static int number(struct tlex *l, unsigned line, unsigned col, const char *s, size_t n,
		  json_t **out)
{
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
		return prefixed_integer(l, line, col, s, n, out);
	size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
	size_t j = i;
	while (j < n && (is_digit(s[j]) || s[j] == '_'))
		j++;
	int why = check_digits(s + i, j - i, 10);
	if (why)
		return bad_number(l, line, col, s, n, why);
	if (j - i > 1 && s[i] == '0')
		return tlex_error_at(l, line, col, "leading zeros are not allowed in `%.*s`; remove "
				     "them (write 0o for an octal number)", (int)n, s);
	if (j == n) {
		bool neg = s[0] == '-';
		uint64_t v;
		if (!accumulate(s + i, j - i, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &v))
			return out_of_range(l, line, col, s, n);
		*out = json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
		return 0;
	}
	if (s[j] == '.') {
		size_t k = ++j;
		while (j < n && (is_digit(s[j]) || s[j] == '_'))
			j++;
		if (j == k)
			return tlex_error_at(l, line, col, "invalid number `%.*s`; a decimal point must "
					     "have digits on both sides, as in 1.0", (int)n, s);
		if ((why = check_digits(s + k, j - k, 10)))
			return bad_number(l, line, col, s, n, why);
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		j++;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		size_t k = j;
		while (j < n && (is_digit(s[j]) || s[j] == '_'))
			j++;
		if ((why = check_digits(s + k, j - k, 10)))
			return bad_number(l, line, col, s, n, why);
	}
	if (j != n)
		return bad_number(l, line, col, s, n, 2);
	return to_float(l, line, col, s, n, out);
}

int tlex_scalar(struct tlex *l, json_t **out)
{
	unsigned line = l->line, col = l->col;
	const char *s = l->p;
	size_t n = 0;
	while (s + n < l->end && is_scalar_char((unsigned char)s[n]))
		n++;
	if (n == 0)
		return 1;
	*out = NULL;
	if (n == 4 && memcmp(s, "true", 4) == 0) {
		*out = json_true();
	} else if (n == 5 && memcmp(s, "false", 5) == 0) {
		*out = json_false();
	} else if (looks_like_date(s, n)) {
		return tlex_error_at(l, line, col, "dates are not supported here; write `%.*s` as a "
				     "quoted string", (int)n, s);
	} else {
		size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
		if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0))
			return tlex_error_at(l, line, col, "`%.*s` is not supported here: JSON has no "
					     "infinity or NaN; use a finite number", (int)n, s);
		if (i == n)
			return bad_number(l, line, col, s, n, 2);
		if (!is_digit(s[i]) && s[i] != '.') {
			int shown = n > 40 ? 40 : (int)n;
			return tlex_error_at(l, line, col, "invalid value `%.*s`; strings must be "
					     "quoted, as in \"%.*s\"", shown, s, shown, s);
		}
		if (number(l, line, col, s, n, out) < 0)
			return -1;
	}
	if (!*out)
		abort();
	tlex_adv(l, n);
	return 0;
}
