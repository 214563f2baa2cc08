#include "core/jsonstream.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* Where the scanner is, between bytes. */
enum js_state {
	JS_BETWEEN, /* outside any value: skipping whitespace */
	JS_VALUE,   /* inside an object, array or top-level string */
	JS_SCALAR,  /* inside a bare top-level token (number, true, junk...) */
	JS_RESYNC,  /* after an error: skipping to a line starting with `{` */
};

struct jsonstream {
	const char *noun;
	jsonstream_value_fn on_value;
	jsonstream_error_fn on_error;
	void *arg;

	enum js_state state;
	bool in_string;
	bool escape;
	char last;   /* last byte outside strings and whitespace; '"' after a string */
	char *stack; /* open brackets of the current value: '{' or '[' */
	size_t depth, stack_cap;

	char *buf; /* bytes of the current value from earlier chunks */
	size_t len, cap;

	size_t line, column;  /* position of the last character seen */
	bool line_start;      /* the next byte starts a line */
	struct json_pos start; /* where the current value started */
	size_t count, errors;
};

struct jsonstream *jsonstream_new(const char *noun, jsonstream_value_fn on_value,
				  jsonstream_error_fn on_error, void *arg)
{
	struct jsonstream *js = calloc(1, sizeof(*js));
	if (!js)
		abort();
	js->noun = noun ? noun : "value";
	js->on_value = on_value;
	js->on_error = on_error;
	js->arg = arg;
	js->state = JS_BETWEEN;
	js->line = 1;
	js->line_start = true;
	return js;
}

void jsonstream_free(struct jsonstream *js)
{
	if (!js)
		return;
	free(js->stack);
	free(js->buf);
	free(js);
}

size_t jsonstream_count(const struct jsonstream *js)
{
	return js->count;
}

size_t jsonstream_errors(const struct jsonstream *js)
{
	return js->errors;
}

static void append(struct jsonstream *js, const char *data, size_t n)
{
	if (js->len + n > js->cap) {
		size_t cap = js->cap ? js->cap : 256;
		while (cap < js->len + n)
			cap *= 2;
		js->buf = xrealloc(js->buf, cap);
		js->cap = cap;
	}
	memcpy(js->buf + js->len, data, n);
	js->len += n;
}

static void push(struct jsonstream *js, char c)
{
	if (js->depth == js->stack_cap) {
		js->stack_cap = js->stack_cap ? js->stack_cap * 2 : 16;
		js->stack = xrealloc(js->stack, js->stack_cap);
	}
	js->stack[js->depth++] = c;
}

static void report(struct jsonstream *js, size_t line, size_t column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(struct jsonstream *js, size_t line, size_t column, const char *fmt, ...)
{
	char raw[512], msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* jansson quotes the text near an error, which may hold control
	 * characters; keep the message on one line. */
	size_t o = 0;
	for (const char *p = raw; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 0x20 && ch != 0x7f)
			msg[o++] = *p;
		else if (ch == '\n' || ch == '\t' || ch == '\r')
			o += (size_t)sprintf(msg + o, "\\%c", ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r');
		else
			o += (size_t)sprintf(msg + o, "\\x%02x", ch);
	}
	msg[o] = '\0';
	js->errors++;
	struct json_pos pos = { js->count, line, column };
	if (js->on_error)
		js->on_error(js->arg, &pos, msg);
}

/* Reports a jansson error about the current value, with its position
 * translated from value coordinates into stream coordinates. */
static void report_json_error(struct jsonstream *js, const json_error_t *e)
{
	size_t line = js->start.line, column = js->start.column;
	if (e->line >= 1) {
		line = js->start.line + (size_t)e->line - 1;
		if (e->line == 1)
			column = js->start.column + (size_t)(e->column > 0 ? e->column - 1 : 0);
		else
			column = (size_t)(e->column > 0 ? e->column : 1);
	}
	report(js, line, column, "%s %zu at line %zu column %zu: %s", js->noun, js->count, line,
	       column, e->text);
}

static json_t *decode(const char *data, size_t len, json_error_t *e)
{
	return json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, e);
}

/* Collects the current value: earlier chunks' bytes plus data[from, to). */
static void gather(struct jsonstream *js, const char *data, size_t from, size_t to)
{
	append(js, data + from, to - from);
}

/* Decodes a complete value (all of it in js->buf) and delivers it. */
static void deliver(struct jsonstream *js)
{
	json_error_t e;
	json_t *v = decode(js->buf, js->len, &e);
	js->len = 0;
	if (!v) {
		report_json_error(js, &e);
		return;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		report(js, js->start.line, js->start.column, "%s %zu at line %zu: expected a JSON object",
		       js->noun, js->count, js->start.line);
		return;
	}
	if (js->on_value)
		js->on_value(js->arg, v, &js->start);
	else
		json_decref(v);
}

/* The current value is malformed and the scanner found out at the byte
 * at (line, column); js->buf holds the value up to and including it.
 * Reports jansson's view of the problem, or fallback when jansson would
 * accept the text as a prefix. */
static void report_broken(struct jsonstream *js, const char *fallback)
{
	json_error_t e;
	json_t *v = decode(js->buf, js->len, &e);
	js->len = 0;
	if (v) {
		json_decref(v);
		report(js, js->line, js->column, "%s %zu at line %zu column %zu: %s", js->noun, js->count,
		       js->line, js->column, fallback);
	} else if (json_error_code(&e) == json_error_premature_end_of_input) {
		report(js, js->line, js->column, "%s %zu at line %zu column %zu: %s", js->noun, js->count,
		       js->line, js->column, fallback);
	} else {
		report_json_error(js, &e);
	}
}

/* True when a `{` may follow the current value's text so far: only after
 * `[`, `:`, or a `,` inside an array. */
static bool open_brace_fits(const struct jsonstream *js)
{
	return js->last == '[' || js->last == ':' ||
	       (js->last == ',' && js->stack[js->depth - 1] == '[');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ends_scalar(char c)
{
	return is_space(c) || strchr("{}[],:\"", c) != NULL;
}

/* Starts a value at data[i] (not whitespace). Returns true when the value
 * is already complete (a lone stray punctuation character). */
static bool begin_value(struct jsonstream *js, char c)
{
	js->count++;
	js->start = (struct json_pos){ js->count, js->line, js->column };
	js->depth = 0;
	js->in_string = false;
	js->escape = false;
	js->last = c;
	js->len = 0;
	if (c == '{' || c == '[') {
		push(js, c);
		js->state = JS_VALUE;
	} else if (c == '"') {
		js->in_string = true;
		js->state = JS_VALUE;
	} else if (strchr("}],:", c)) {
		js->state = JS_BETWEEN;
		return true;
	} else {
		js->state = JS_SCALAR;
	}
	return false;
}

void jsonstream_feed(struct jsonstream *js, const void *data_, size_t n)
{
	const char *data = data_;
	size_t seg = 0; /* first byte of the current value within data */

	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		bool bol = js->line_start;
		if (((unsigned char)c & 0xC0) != 0x80)
			js->column++;
		js->line_start = c == '\n';

		switch (js->state) {
		case JS_SCALAR:
			if (!ends_scalar(c))
				break;
			gather(js, data, seg, i);
			js->state = JS_BETWEEN;
			deliver(js);
			/* c itself is outside the token: */
			__attribute__((fallthrough));
		case JS_BETWEEN:
		case JS_RESYNC:
			if (js->state == JS_RESYNC && !(bol && c == '{'))
				break;
			if (is_space(c))
				break;
			seg = i;
			if (begin_value(js, c)) {
				gather(js, data, i, i + 1);
				deliver(js);
			}
			break;
		case JS_VALUE:
			if (js->in_string) {
				if (c == '\n') {
					/* JSON strings cannot hold raw line breaks
					 * (jansson would place this error on the
					 * next line). */
					js->state = JS_RESYNC;
					js->len = 0;
					report(js, js->line, js->column,
					       "%s %zu at line %zu column %zu: line break inside a string",
					       js->noun, js->count, js->line, js->column);
				} else if (js->escape) {
					js->escape = false;
				} else if (c == '\\') {
					js->escape = true;
				} else if (c == '"') {
					js->in_string = false;
					js->last = '"';
					if (js->depth == 0) {
						gather(js, data, seg, i + 1);
						js->state = JS_BETWEEN;
						deliver(js);
					}
				}
				break;
			}
			if (is_space(c))
				break;
			if (c == '"') {
				js->in_string = true;
			} else if (c == '{' && bol && !open_brace_fits(js)) {
				/* A line starting with `{` where none can be: most
				 * likely the previous value lacks its closing
				 * brackets and a new value starts here. */
				gather(js, data, seg, i + 1);
				report_broken(js, "unexpected `{`");
				seg = i;
				begin_value(js, c);
			} else if (c == '{' || c == '[') {
				push(js, c);
			} else if (c == '}' || c == ']') {
				char open = js->stack[--js->depth];
				if ((open == '{') != (c == '}')) {
					gather(js, data, seg, i + 1);
					js->state = JS_RESYNC;
					report_broken(js, c == '}' ? "unexpected `}`" : "unexpected `]`");
				} else if (js->depth == 0) {
					gather(js, data, seg, i + 1);
					js->state = JS_BETWEEN;
					deliver(js);
				}
			}
			js->last = c;
			break;
		}

		if (c == '\n') {
			js->line++;
			js->column = 0;
		}
	}
	if (js->state == JS_VALUE || js->state == JS_SCALAR)
		gather(js, data, seg, n);
}

bool jsonstream_finish(struct jsonstream *js)
{
	switch (js->state) {
	case JS_SCALAR:
		js->state = JS_BETWEEN;
		deliver(js);
		return true;
	case JS_VALUE:
		js->state = JS_BETWEEN;
		js->len = 0;
		report(js, js->start.line, js->start.column,
		       "input ended inside %s %zu, which started at line %zu column %zu", js->noun,
		       js->count, js->start.line, js->start.column);
		return false;
	case JS_BETWEEN:
	case JS_RESYNC:
		break;
	}
	return true;
}
