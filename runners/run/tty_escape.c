#include "runners/run/tty_escape.h"

#include <stdio.h>
#include <string.h>

#include "core/hex.h"

#define FORMS "give one ASCII character, caret notation such as ^] or a byte literal " \
	      "such as \\x1d"

static int parse_caret(const char *text, unsigned char *out, struct err **err)
{
	char c = text[1];
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == '?') {
		*out = 0x7f;
		return 0;
	}
	if (c < '@' || c > '_')
		return err_set(err, 0, "`%s` is not caret notation (^@ to ^_, ^A to ^Z or ^?); "
			       FORMS, text);
	*out = (unsigned char)(c - '@');
	return 0;
}

static int parse_backslash(const char *text, unsigned char *out, struct err **err)
{
	size_t len = strlen(text);
	if (len == 2) {
		static const char from[] = "nrt\\0'\"";
		static const unsigned char to[] = { '\n', '\r', '\t', '\\', '\0', '\'', '"' };
		const char *p = text[1] ? strchr(from, text[1]) : NULL;
		if (p) {
			*out = to[p - from];
			return 0;
		}
	} else if (len == 4 && text[1] == 'x') {
		int hi = hex_digit_value((unsigned char)text[2]);
		int lo = hex_digit_value((unsigned char)text[3]);
		if (hi >= 0 && lo >= 0) {
			if (hi > 7)
				return err_set(err, 0, "`%s` is above \\x7f; the escape character "
					       "must be ASCII", text);
			*out = (unsigned char)(hi * 16 + lo);
			return 0;
		}
	}
	return err_set(err, 0, "`%s` is not a byte literal (\\n, \\r, \\t, \\\\, \\0, \\', "
		       "\\\" or \\xHH); " FORMS, text);
}

int tty_escape_parse(const char *text, unsigned char *out, struct err **err)
{
	size_t len = text ? strlen(text) : 0;
	if (len == 0)
		return err_set(err, 0, "the escape character is empty; " FORMS);
	if ((unsigned char)text[0] > 0x7f)
		return err_set(err, 0, "`%s` is not an ASCII character; " FORMS, text);
	if (text[0] == '\\' && len > 1)
		return parse_backslash(text, out, err);
	if (text[0] == '^' && len == 2)
		return parse_caret(text, out, err);
	if (len != 1)
		return err_set(err, 0, "`%s` is more than one character; " FORMS, text);
	*out = (unsigned char)text[0];
	return 0;
}

const char *tty_escape_name(unsigned char c, char buf[5])
{
	if (c < 0x20)
		snprintf(buf, 5, "^%c", c + '@');
	else if (c == 0x7f)
		snprintf(buf, 5, "^?");
	else if (c < 0x7f)
		snprintf(buf, 5, "%c", c);
	else
		snprintf(buf, 5, "\\x%02x", c);
	return buf;
}

void tty_escape_init(struct tty_escape *e, unsigned char ch)
{
	e->ch = ch;
	e->state = TTY_ESCAPE_IDLE;
}

size_t tty_escape_filter(struct tty_escape *e, const unsigned char *in, size_t len,
			 unsigned char *out, size_t *used, enum tty_escape_action *action)
{
	size_t n = 0;
	*action = TTY_ESCAPE_NONE;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		switch (e->state) {
		case TTY_ESCAPE_IDLE:
			if (c == e->ch)
				e->state = TTY_ESCAPE_PENDING;
			else
				out[n++] = c;
			break;
		case TTY_ESCAPE_PENDING:
			e->state = TTY_ESCAPE_IDLE;
			/* The escape character itself first, so that ^C or ^Z can
			 * still be sent when one of them is the escape. */
			if (c == e->ch) {
				out[n++] = c;
			} else if (c == TTY_ESCAPE_DETACH_KEY || c == TTY_ESCAPE_SUSPEND_KEY) {
				*action = c == TTY_ESCAPE_DETACH_KEY ? TTY_ESCAPE_DETACH
								     : TTY_ESCAPE_SUSPEND;
				*used = i + 1;
				return n;
			} else {
				out[n++] = e->ch;
				out[n++] = c;
			}
			break;
		}
	}
	*used = len;
	return n;
}

bool tty_escape_pending(const struct tty_escape *e)
{
	return e->state == TTY_ESCAPE_PENDING;
}

size_t tty_escape_flush(struct tty_escape *e, unsigned char *out)
{
	if (e->state != TTY_ESCAPE_PENDING)
		return 0;
	e->state = TTY_ESCAPE_IDLE;
	out[0] = e->ch;
	return 1;
}
