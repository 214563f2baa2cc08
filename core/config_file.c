/* Flat TOML config files (see core/config.h): finding them, and reading
 * their `name = value` lines with inih. */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/config_internal.h"
#include "core/hex.h"
#include "core/utf8.h"

/* A config file larger than this is surely not one. */
#define MAX_FILE_SIZE (1024 * 1024)

/* ---- finding files ------------------------------------------------- */

static void add_path(char ***paths, size_t *n, const char *base, const char *dir)
{
	char *p = NULL;
	if (asprintf(&p, "%s/maelstrom/%s/config.toml", base, dir) < 0)
		abort();
	*paths = realloc(*paths, (*n + 2) * sizeof(**paths));
	if (!*paths)
		abort();
	(*paths)[(*n)++] = p;
	(*paths)[*n] = NULL;
}

char **config_file_paths(const char *dir, size_t *n)
{
	char **paths = calloc(1, sizeof(*paths));
	if (!paths)
		abort();
	size_t count = 0;

	/* XDG base directories: relative or empty paths are ignored. */
	const char *home = getenv("XDG_CONFIG_HOME");
	if (home && home[0] == '/') {
		add_path(&paths, &count, home, dir);
	} else if ((home = getenv("HOME")) && home[0] == '/') {
		_cleanup_free_ char *base = NULL;
		if (asprintf(&base, "%s/.config", home) < 0)
			abort();
		add_path(&paths, &count, base, dir);
	}

	const char *dirs = getenv("XDG_CONFIG_DIRS");
	if (!dirs || !*dirs)
		dirs = "/etc/xdg";
	_cleanup_free_ char *copy = xstrdup(dirs);
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] == '/')
			add_path(&paths, &count, d, dir);
	}
	if (n)
		*n = count;
	return paths;
}

void config_file_paths_free(char **paths)
{
	if (!paths)
		return;
	for (char **p = paths; *p; p++)
		free(*p);
	free(paths);
}

/* ---- reading a file ------------------------------------------------ */

static int slurp(const char *path, char **out, size_t *out_len, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot read config file %s", path);
	_cleanup_free_ char *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *bigger = realloc(data, cap);
			if (!bigger)
				abort();
			data = bigger;
		}
		ssize_t r = read(fd, data + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(err, errno, "cannot read config file %s", path);
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MAX_FILE_SIZE)
			return err_set(err, EFBIG, "cannot read config file %s", path);
	}
	data[len] = '\0';
	if (memchr(data, '\0', len))
		return err_set(err, 0, "config file %s holds a NUL byte; config files are text", path);
	*out = steal_pointer(&data);
	*out_len = len;
	return 0;
}

/* The inih reader and handler share this: the file in memory, the line
 * being parsed and the first error. */
struct file_reader {
	const char *path;
	const char *data;
	size_t len, off;
	int line;               /* 1-based number of the line being parsed */
	const char *line_text;  /* its start in data */
	bool at_line_start;
	bool failed;
	config_file_fn fn;
	void *arg;
	struct err **err;
};

/* Start of a line's content: past indentation and, on line 1, a BOM. */
static const char *line_content(const struct file_reader *r)
{
	const char *p = r->line_text;
	if (r->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The current line without indentation or line end, for messages. */
static int line_for_message(const struct file_reader *r, const char **start)
{
	*start = line_content(r);
	size_t n = strcspn(*start, "\r\n");
	return (int)(n > 60 ? 60 : n);
}

/* fgets-style reader over the file in memory. Stops the parse (returns
 * NULL) after an error, and rejects section headers as each line starts. */
static char *read_line(char *str, int num, void *stream)
{
	struct file_reader *r = stream;
	if (r->failed || r->off >= r->len || num < 2)
		return NULL;
	if (r->at_line_start) {
		r->line++;
		r->line_text = r->data + r->off;
		r->at_line_start = false;
		const char *p = line_content(r);
		if (*p == '[') {
			const char *t;
			int n = line_for_message(r, &t);
			r->failed = true;
			err_set(r->err, 0, "%s line %d: section headers like `%.*s` are not supported; "
				"config files hold flat `name = value` lines", r->path, r->line, n, t);
			return NULL;
		}
	}
	size_t n = 0, max = (size_t)num - 1;
	while (n < max && r->off < r->len) {
		char ch = r->data[r->off++];
		str[n++] = ch;
		if (ch == '\n') {
			r->at_line_start = true;
			break;
		}
	}
	str[n] = '\0';
	return str;
}

/* ---- values -------------------------------------------------------- */

/* Parses a quoted string at *pp (at the opening quote) into a new heap
 * string, leaving *pp after the closing quote. Errors are bare messages. */
static int parse_string(const char **pp, char **out, struct err **err)
{
	const char *p = *pp;
	char quote = *p++;
	/* Escapes only shrink text, except \u which stays within 6 bytes. */
	_cleanup_free_ char *s = malloc(strlen(p) + 1);
	if (!s)
		abort();
	char *o = s;
	for (;; p++) {
		if (!*p || *p == '\n' || *p == '\r')
			return err_set(err, 0, "unterminated string; add the closing `%c`", quote);
		if (*p == quote)
			break;
		if (quote == '\'' || *p != '\\') {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'b': *o++ = '\b'; break;
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'f': *o++ = '\f'; break;
		case 'r': *o++ = '\r'; break;
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case 'u':
		case 'U': {
			int digits = *p == 'u' ? 4 : 8;
			unsigned long cp = 0;
			for (int i = 1; i <= digits; i++) {
				int v = hex_digit_value(p[i]);
				if (v < 0)
					return err_set(err, 0, "`\\%c` needs %d hex digits", *p, digits);
				cp = cp * 16 + (unsigned long)v;
			}
			if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0)
				return err_set(err, 0, "`\\%.*s` is not a valid character", digits + 1, p);
			o += utf8_encode((uint32_t)cp, o);
			p += digits;
			break;
		}
		default:
			return err_set(err, 0, "unknown escape `\\%.1s` in a string; write `\\\\` for a "
				       "backslash", p);
		}
	}
	*o = '\0';
	*pp = p + 1;
	*out = steal_pointer(&s);
	return 0;
}

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* After a value only blanks and a comment may follow. */
static int expect_end(const char *p, struct err **err)
{
	p = skip_blank(p);
	if (*p && *p != '#' && *p != '\r' && *p != '\n')
		return err_set(err, 0, "unexpected `%s` after the value", p);
	return 0;
}

static int parse_array(const char *p, char ***items, size_t *n, struct err **err)
{
	p = skip_blank(p + 1);
	for (;;) {
		if (*p == ']')
			return expect_end(p + 1, err);
		if (*p == '"' || *p == '\'') {
			char *s = NULL;
			if (parse_string(&p, &s, err) < 0)
				return -1;
			*items = realloc(*items, (*n + 2) * sizeof(**items));
			if (!*items)
				abort();
			(*items)[(*n)++] = s;
			(*items)[*n] = NULL;
			p = skip_blank(p);
			if (*p == ',')
				p = skip_blank(p + 1);
			else if (*p != ']' && *p && *p != '#')
				return err_set(err, 0, "expected `,` or `]` in the list, got `%s`", p);
			continue;
		}
		if (!*p || *p == '#')
			return err_set(err, 0, "unterminated list; write lists on one line, like "
				       "[\"a\", \"b\"]");
		return err_set(err, 0, "lists hold strings in quotes, like [\"a\", \"b\"]");
	}
}

static void free_items(char **items)
{
	if (!items)
		return;
	for (char **i = items; *i; i++)
		free(*i);
	free(items);
}

/* Classifies and decodes a value (whitespace already trimmed by inih). */
static int parse_value(const char *v, struct config_file_entry *e, char **text, char ***items,
		       struct err **err)
{
	if (*v == '"' || *v == '\'') {
		e->kind = CONFIG_FILE_STRING;
		if (parse_string(&v, text, err) < 0)
			return -1;
		return expect_end(v, err);
	}
	if (*v == '[') {
		e->kind = CONFIG_FILE_ARRAY;
		size_t n = 0;
		*items = calloc(1, sizeof(**items));
		if (!*items)
			abort();
		if (parse_array(v, items, &n, err) < 0)
			return -1;
		e->n_items = n;
		return 0;
	}
	e->kind = CONFIG_FILE_BARE;
	size_t n = strcspn(v, "#");
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (!n)
		return err_set(err, 0, "missing value after `=`");
	*text = strndup(v, n);
	if (!*text)
		abort();
	return 0;
}

static int on_line(void *user, const char *section, const char *name, const char *value)
{
	(void)section; /* always "": read_line stops at section headers */
	struct file_reader *r = user;
	const char *raw = line_content(r);
	size_t name_len = strlen(name);
	const char *after = skip_blank(raw + name_len);
	if (!*name || strncmp(raw, name, name_len) != 0 || *after != '=') {
		const char *t;
		int n = line_for_message(r, &t);
		r->failed = true;
		err_set(r->err, 0, "%s line %d: expected `name = value`, got `%.*s`", r->path, r->line,
			n, t);
		return 0;
	}

	struct config_file_entry e = { .path = r->path, .line = r->line, .key = name };
	_cleanup_free_ char *text = NULL;
	char **items = NULL;
	int rc = parse_value(value, &e, &text, &items, r->err);
	if (rc < 0) {
		err_wrap(r->err, "%s line %d: %s", r->path, r->line, name);
	} else {
		e.text = text;
		e.items = items;
		rc = r->fn(r->arg, &e, r->err);
	}
	free_items(items);
	if (rc < 0) {
		r->failed = true;
		return 0;
	}
	return 1;
}

/* inih's behaviour is set by globals; set ours for one parse and put the
 * previous ones back. */
struct ini_settings {
	bool multiline, inline_comments, stop_on_first_error, use_stack, allow_realloc, no_value;
	int max_line;
	char *start_comment_prefixes;
};

static struct ini_settings ini_settings_swap(struct ini_settings s)
{
	struct ini_settings old = {
		ini_allow_multiline, ini_allow_inline_comments, ini_stop_on_first_error,
		ini_use_stack, ini_allow_realloc, ini_allow_no_value, ini_max_line,
		ini_start_comment_prefixes,
	};
	ini_allow_multiline = s.multiline;
	ini_allow_inline_comments = s.inline_comments;
	ini_stop_on_first_error = s.stop_on_first_error;
	ini_use_stack = s.use_stack;
	ini_allow_realloc = s.allow_realloc;
	ini_allow_no_value = s.no_value;
	ini_max_line = s.max_line;
	ini_start_comment_prefixes = s.start_comment_prefixes;
	return old;
}

int config_file_read(const char *path, config_file_fn fn, void *arg, struct err **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (slurp(path, &data, &len, err) < 0)
		return -1;

	struct file_reader r = {
		.path = path, .data = data, .len = len, .at_line_start = true,
		.fn = fn, .arg = arg, .err = err,
	};
	/* Comments are ours to strip (`#` may sit inside a quoted value), no
	 * continuation lines, lines as long as the file, stop at once. */
	struct ini_settings ours = {
		.multiline = false, .inline_comments = false, .stop_on_first_error = true,
		.use_stack = false, .allow_realloc = true, .no_value = false,
		.max_line = (int)len + 3, .start_comment_prefixes = (char *)"#",
	};
	struct ini_settings saved = ini_settings_swap(ours);
	int rc = ini_parse_stream(read_line, &r, on_line, &r);
	ini_settings_swap(saved);

	if (r.failed)
		return -1;
	if (rc == -2)
		abort(); /* inih ran out of memory */
	if (rc != 0) {
		const char *t;
		int n = line_for_message(&r, &t);
		return err_set(err, 0, "%s line %d: expected `name = value`, got `%.*s`", path, r.line,
			       n, t);
	}
	return 0;
}
