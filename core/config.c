#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/size.h"

/* Options every program has, stored after the program's own. */
static const struct config_option builtins[] = {
	{ "log-level", 'L', CONFIG_STRING, "info", "LEVEL",
	  "Minimum level of messages to print: error, warning, info or debug.", 0 },
	{ "config-file", 'c', CONFIG_STRING, NULL, "FILE",
	  "Read configuration from FILE only, instead of the standard places below; "
	  "`-` reads no config file.", CONFIG_CLI_ONLY },
	{ "print-config", 'P', CONFIG_BOOL, NULL, NULL,
	  "Print every configuration value and where it came from, as TOML, and exit.",
	  CONFIG_CLI_ONLY },
	{ "help", 'h', CONFIG_BOOL, NULL, NULL, "Print this help and exit.", CONFIG_CLI_ONLY },
	{ "version", 'V', CONFIG_BOOL, NULL, NULL, "Print the version and exit.", CONFIG_CLI_ONLY },
};
enum { B_LOG_LEVEL, B_CONFIG_FILE, B_PRINT_CONFIG, B_HELP, B_VERSION };

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

static void strv_push(char ***v, size_t *n, const char *s)
{
	char **bigger = realloc(*v, (*n + 2) * sizeof(**v));
	if (!bigger)
		abort();
	*v = bigger;
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static void strv_free(char ***v, size_t *n)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

static struct config_value *builtin(const struct config *c, int which)
{
	return &c->values[c->prog->n_options + (size_t)which];
}

static bool is_cli_only(const struct config_value *v)
{
	return v->opt->flags & CONFIG_CLI_ONLY;
}

/* ---- setting values ------------------------------------------------ */

static void value_clear(struct config_value *v)
{
	free(v->source);
	free(v->text);
	strv_free(&v->list, &v->n_list);
	v->source = v->text = NULL;
	v->number = 0;
	v->size = 0;
	v->flag = false;
	v->origin = CONFIG_UNSET;
}

static int parse_number(const char *text, int64_t *out, struct err **err)
{
	char digits[32];
	size_t n = 0;
	const char *p = text;
	if (*p == '+' || *p == '-')
		digits[n++] = *p++;
	if (!isdigit((unsigned char)*p))
		return err_set(err, 0, "`%s` is not a number", text);
	for (; *p; p++) {
		/* TOML allows 1_000_000; an underscore must sit between digits. */
		if (*p == '_' && isdigit((unsigned char)p[-1]) && isdigit((unsigned char)p[1]))
			continue;
		if (!isdigit((unsigned char)*p))
			return err_set(err, 0, "`%s` is not a number", text);
		if (n + 1 >= sizeof(digits))
			return err_set(err, 0, "`%s` is too large", text);
		digits[n++] = *p;
	}
	digits[n] = '\0';
	errno = 0;
	long long v = strtoll(digits, NULL, 10);
	if (errno == ERANGE)
		return err_set(err, 0, "`%s` is too large", text);
	*out = v;
	return 0;
}

static int parse_bool(const char *text, bool *out, struct err **err)
{
	if (strcmp(text, "true") == 0)
		*out = true;
	else if (strcmp(text, "false") == 0)
		*out = false;
	else
		return err_set(err, 0, "`%s` is not true or false", text);
	return 0;
}

/* Replaces v's value with text parsed by type (not for lists). On error
 * leaves v alone and sets a bare message for the caller to prefix. */
static int set_scalar(const struct config *c, struct config_value *v, const char *text,
		      enum config_origin origin, const char *source, struct err **err)
{
	int64_t number = 0;
	uint64_t size = 0;
	bool flag = false;
	switch (v->opt->type) {
	case CONFIG_STRING:
		if (v == builtin(c, B_LOG_LEVEL)) {
			enum log_level level;
			if (!log_parse_level(text, &level))
				return err_set(err, 0, "`%s` is not a log level; use error, warning, "
					       "info or debug", text);
		}
		break;
	case CONFIG_NUMBER:
		if (parse_number(text, &number, err) < 0)
			return -1;
		break;
	case CONFIG_BOOL:
		if (parse_bool(text, &flag, err) < 0)
			return -1;
		break;
	case CONFIG_SIZE:
		if (size_parse(text, &size, err) < 0)
			return -1;
		break;
	case CONFIG_LIST:
		return err_set(err, 0, "internal error: %s is a list", v->opt->name);
	}
	value_clear(v);
	v->text = xstrdup(text);
	v->number = number;
	v->size = size;
	v->flag = flag;
	v->origin = origin;
	v->source = xstrdup(source);
	return 0;
}

/* Replaces v's list, or appends to it when it already came from origin
 * (repeated command-line options). */
static void set_list(struct config_value *v, char *const *items, size_t n,
		     enum config_origin origin, const char *source)
{
	if (v->origin != origin || origin != CONFIG_FROM_CLI) {
		value_clear(v);
		v->list = calloc(1, sizeof(*v->list));
		if (!v->list)
			abort();
	}
	for (size_t i = 0; i < n; i++)
		strv_push(&v->list, &v->n_list, items[i]);
	free(v->source);
	v->source = xstrdup(source);
	v->origin = origin;
}

/* Sets v from text as written on the command line, in the environment or
 * as a default: lists are whitespace-separated words except on the command
 * line, where each option is one item. */
static int set_text(const struct config *c, struct config_value *v, const char *text,
		    enum config_origin origin, const char *source, struct err **err)
{
	if (v->opt->type != CONFIG_LIST)
		return set_scalar(c, v, text, origin, source, err);
	char **words = NULL;
	size_t n = 0;
	if (origin == CONFIG_FROM_CLI) {
		strv_push(&words, &n, text);
	} else {
		_cleanup_free_ char *copy = xstrdup(text);
		char *save = NULL;
		for (char *w = strtok_r(copy, " \t\n\r\f\v", &save); w;
		     w = strtok_r(NULL, " \t\n\r\f\v", &save))
			strv_push(&words, &n, w);
	}
	set_list(v, words, n, origin, source);
	strv_free(&words, &n);
	return 0;
}

/* ---- the option table ---------------------------------------------- */

static struct config_value *find_long(const struct config *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->n_values; i++) {
		const char *n = c->values[i].opt->name;
		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return &c->values[i];
	}
	return NULL;
}

static struct config_value *find_short(const struct config *c, char ch)
{
	for (size_t i = 0; i < c->n_values; i++) {
		if (c->values[i].opt->short_name == ch)
			return &c->values[i];
	}
	return NULL;
}

/* Builds the value array and checks the program's table, so that a
 * mistake in it fails every run, not only the one that uses the option. */
static int setup_values(struct config *c, struct err **err)
{
	const struct config_program *prog = c->prog;
	c->n_values = prog->n_options + ARRAY_SIZE(builtins);
	c->values = calloc(c->n_values, sizeof(*c->values));
	if (!c->values)
		abort();
	for (size_t i = 0; i < c->n_values; i++) {
		const struct config_option *o = i < prog->n_options ? &prog->options[i]
								    : &builtins[i - prog->n_options];
		c->values[i].opt = o;
		if (!o->name || !*o->name || strspn(o->name, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(o->name))
			return err_set(err, 0, "internal error: bad option name `%s`",
				       o->name ? o->name : "(null)");
		for (size_t j = 0; j < i; j++) {
			const struct config_option *earlier = c->values[j].opt;
			if (strcmp(earlier->name, o->name) == 0)
				return err_set(err, 0, "internal error: option %s is defined twice",
					       o->name);
			if (o->short_name && earlier->short_name == o->short_name)
				return err_set(err, 0, "internal error: -%c is both --%s and --%s",
					       o->short_name, earlier->name, o->name);
		}
	}
	for (size_t i = 0; i < c->n_values; i++) {
		struct config_value *v = &c->values[i];
		const char *def = v->opt->default_value;
		if (!def && v->opt->type == CONFIG_BOOL)
			def = "false";
		if (def && set_text(c, v, def, CONFIG_FROM_DEFAULT, "default", err) < 0)
			return err_wrap(err, "internal error: default of %s", v->opt->name);
	}
	return 0;
}

/* ---- command line -------------------------------------------------- */

struct pending {
	struct config_value *v;
	const char *text; /* NULL: a flag given without a value */
	char *source;
};

static int apply_cli(const struct config *c, struct pending *p, struct err **err)
{
	const char *text = p->text ? p->text : "true";
	if (set_text(c, p->v, text, CONFIG_FROM_CLI, p->source, err) < 0)
		return err_wrap(err, "%s", p->source);
	return 0;
}

/* Records one option occurrence: command-line-only options take effect at
 * once, configuration values after files and environment. */
static int take(struct config *c, struct pending **pend, size_t *n_pend, struct config_value *v,
		const char *text, char *source, struct err **err)
{
	struct pending p = { v, text, source };
	if (is_cli_only(v)) {
		int rc = apply_cli(c, &p, err);
		free(source);
		return rc;
	}
	struct pending *bigger = realloc(*pend, (*n_pend + 1) * sizeof(**pend));
	if (!bigger)
		abort();
	*pend = bigger;
	(*pend)[(*n_pend)++] = p;
	return 0;
}

static int parse_long(struct config *c, int argc, char **argv, int *i, struct pending **pend,
		      size_t *n_pend, struct err **err)
{
	const char *name = argv[*i] + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	struct config_value *v = find_long(c, name, len);
	if (!v)
		return err_set(err, 0, "unknown option --%.*s; see --help", (int)len, name);
	const char *text = eq ? eq + 1 : NULL;
	if (!text && v->opt->type != CONFIG_BOOL) {
		if (*i + 1 >= argc)
			return err_set(err, 0, "option --%s needs a value (%s); see --help",
				       v->opt->name, config_value_name(v->opt));
		text = argv[++*i];
	}
	return take(c, pend, n_pend, v, text, xasprintf("--%s", v->opt->name), err);
}

static int parse_short(struct config *c, int argc, char **argv, int *i, struct pending **pend,
		       size_t *n_pend, struct err **err)
{
	const char *arg = argv[*i];
	struct config_value *v = find_short(c, arg[1]);
	if (!v)
		return err_set(err, 0, "unknown option -%c; see --help", arg[1]);
	if (v->opt->type != CONFIG_BOOL) {
		const char *text = arg[2] ? arg + 2 : NULL;
		if (!text) {
			if (*i + 1 >= argc)
				return err_set(err, 0, "option -%c needs a value (%s); see --help",
					       arg[1], config_value_name(v->opt));
			text = argv[++*i];
		}
		return take(c, pend, n_pend, v, text, xasprintf("-%c", arg[1]), err);
	}
	/* A bundle of flags: -1q. */
	for (const char *p = arg + 1; *p; p++) {
		v = find_short(c, *p);
		if (!v)
			return err_set(err, 0, "unknown option -%c (in %s); see --help", *p, arg);
		if (v->opt->type != CONFIG_BOOL)
			return err_set(err, 0, "%s: -%c takes a value, so it cannot be combined with "
				       "other options; write it separately", arg, *p);
		if (take(c, pend, n_pend, v, NULL, xasprintf("-%c", *p), err) < 0)
			return -1;
	}
	return 0;
}

static int parse_argv(struct config *c, int argc, char **argv, struct pending **pend,
		      size_t *n_pend, struct err **err)
{
	const struct config_program *prog = c->prog;
	c->positional = calloc(1, sizeof(*c->positional));
	c->rest = calloc(1, sizeof(*c->rest));
	if (!c->positional || !c->rest)
		abort();
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int rc = 0;
		if (strcmp(arg, "--") == 0) {
			for (i++; i < argc; i++)
				strv_push(&c->rest, &c->n_rest, argv[i]);
			break;
		} else if (strncmp(arg, "--", 2) == 0) {
			rc = parse_long(c, argc, argv, &i, pend, n_pend, err);
		} else if (arg[0] == '-' && arg[1]) {
			rc = parse_short(c, argc, argv, &i, pend, n_pend, err);
		} else {
			if (prog->max_positional >= 0 &&
			    c->n_positional >= (size_t)prog->max_positional)
				return err_set(err, 0, "unexpected argument `%s`; see --help", arg);
			strv_push(&c->positional, &c->n_positional, arg);
		}
		if (rc < 0)
			return -1;
	}
	if (c->n_rest && !prog->takes_rest)
		return err_set(err, 0, "unexpected argument `%s` after --; see --help", c->rest[0]);
	return 0;
}

/* ---- config files and environment ---------------------------------- */

struct file_ctx {
	struct config *c;
	unsigned serial;
};

/* Converts one config file line to the option's type. */
static int set_from_file(struct config *c, struct config_value *v,
			 const struct config_file_entry *e, const char *source, struct err **err)
{
	const char *type_words[] = {
		[CONFIG_STRING] = "a string", [CONFIG_NUMBER] = "a number",
		[CONFIG_BOOL] = "true or false", [CONFIG_SIZE] = "a size",
		[CONFIG_LIST] = "a list of strings",
	};
	enum config_type t = v->opt->type;
	switch (e->kind) {
	case CONFIG_FILE_ARRAY:
		if (t != CONFIG_LIST)
			return err_set(err, 0, "expected %s, not a list", type_words[t]);
		set_list(v, e->items, e->n_items, CONFIG_FROM_FILE, source);
		return 0;
	case CONFIG_FILE_STRING:
		if (t == CONFIG_NUMBER || t == CONFIG_BOOL)
			return err_set(err, 0, "expected %s, not a string; remove the quotes",
				       type_words[t]);
		if (t == CONFIG_LIST)
			return err_set(err, 0, "expected a list of strings like [\"%s\"], not a string",
				       e->text);
		return set_scalar(c, v, e->text, CONFIG_FROM_FILE, source, err);
	case CONFIG_FILE_BARE:
		if (t == CONFIG_STRING)
			return err_set(err, 0, "strings need quotes: %s = \"%s\"", e->key, e->text);
		if (t == CONFIG_LIST)
			return err_set(err, 0, "expected a list of strings like [\"%s\"]", e->text);
		if (t == CONFIG_SIZE && strspn(e->text, "0123456789") != strlen(e->text))
			return err_set(err, 0, "sizes with a unit need quotes: %s = \"%s\"", e->key,
				       e->text);
		return set_scalar(c, v, e->text, CONFIG_FROM_FILE, source, err);
	}
	return err_set(err, 0, "internal error: unknown value kind");
}

static int on_file_entry(void *arg, const struct config_file_entry *e, struct err **err)
{
	struct file_ctx *fc = arg;
	struct config *c = fc->c;
	struct config_value *v = find_long(c, e->key, strlen(e->key));
	if (!v)
		return err_set(err, 0, "unknown configuration value `%s` in %s line %d; see `%s --help` "
			       "for valid names", e->key, e->path, e->line, c->prog->name);
	if (is_cli_only(v))
		return err_set(err, 0, "%s line %d: %s can only be given on the command line, not in "
			       "a config file", e->path, e->line, e->key);
	if (v->origin == CONFIG_FROM_FILE && v->file_serial == fc->serial)
		return err_set(err, 0, "%s line %d: %s is already set on line %d", e->path, e->line,
			       e->key, v->file_line);
	_cleanup_free_ char *source = xasprintf("%s line %d", e->path, e->line);
	if (set_from_file(c, v, e, source, err) < 0)
		return err_wrap(err, "%s: %s", source, e->key);
	v->file_serial = fc->serial;
	v->file_line = e->line;
	return 0;
}

static int read_files(struct config *c, struct err **err)
{
	struct file_ctx fc = { c, 0 };
	const char *only = config_get_string(c, "config-file");
	if (only) {
		if (strcmp(only, "-") == 0)
			return 0;
		fc.serial = 1;
		if (config_file_read(only, on_file_entry, &fc, err) < 0)
			return -1;
		strv_push(&c->files, &c->n_files, only);
		return 0;
	}
	size_t n = 0;
	char **paths = config_file_paths(c->prog->config_dir, &n);
	int rc = 0;
	/* Least preferred first, so that more preferred files override. */
	for (size_t i = n; i-- > 0;) {
		fc.serial++;
		struct err *e = NULL;
		if (config_file_read(paths[i], on_file_entry, &fc, &e) < 0) {
			if (e->errnum == ENOENT || e->errnum == ENOTDIR) {
				err_free(&e);
				continue;
			}
			err_free(err);
			*err = e;
			rc = -1;
			break;
		}
		strv_push(&c->files, &c->n_files, paths[i]);
	}
	config_file_paths_free(paths);
	return rc;
}

static int read_env(struct config *c, struct err **err)
{
	const char *const *prefixes = c->prog->env_prefixes;
	for (size_t i = 0; i < c->n_values && prefixes; i++) {
		struct config_value *v = &c->values[i];
		if (is_cli_only(v))
			continue;
		for (const char *const *p = prefixes; *p; p++) {
			_cleanup_free_ char *name = config_env_name(*p, v->opt->name);
			const char *text = getenv(name);
			if (!text)
				continue;
			if (set_text(c, v, text, CONFIG_FROM_ENV, name, err) < 0)
				return err_wrap(err, "%s", name);
			break;
		}
	}
	return 0;
}

/* ---- loading ------------------------------------------------------- */

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
}

void config_release(struct config *c)
{
	for (size_t i = 0; i < c->n_values; i++)
		value_clear(&c->values[i]);
	free(c->values);
	strv_free(&c->positional, &c->n_positional);
	strv_free(&c->rest, &c->n_rest);
	strv_free(&c->files, &c->n_files);
	free(c->output);
	config_init(c);
}

int config_load(struct config *c, const struct config_program *prog, int argc, char **argv,
		struct err **err)
{
	config_release(c);
	c->prog = prog;
	struct pending *pend = NULL;
	size_t n_pend = 0;
	int rc = -1;

	if (setup_values(c, err) < 0 || parse_argv(c, argc, argv, &pend, &n_pend, err) < 0)
		goto out;
	if (builtin(c, B_HELP)->flag) {
		c->output = config_help_text(c);
		rc = CONFIG_EXIT;
		goto out;
	}
	if (builtin(c, B_VERSION)->flag) {
		c->output = xasprintf("%s %s\n", prog->name, prog->version ? prog->version : "");
		rc = CONFIG_EXIT;
		goto out;
	}
	if (read_files(c, err) < 0 || read_env(c, err) < 0)
		goto out;
	for (size_t i = 0; i < n_pend; i++) {
		if (apply_cli(c, &pend[i], err) < 0)
			goto out;
	}
	enum log_level level;
	if (log_parse_level(builtin(c, B_LOG_LEVEL)->text, &level))
		log_set_level(level);
	if (builtin(c, B_PRINT_CONFIG)->flag) {
		c->output = config_print_text(c);
		rc = CONFIG_EXIT;
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n_pend; i++)
		free(pend[i].source);
	free(pend);
	return rc;
}

/* ---- getters ------------------------------------------------------- */

static const struct config_value *lookup(const struct config *c, const char *name, int type)
{
	const struct config_value *v = c->values ? find_long(c, name, strlen(name)) : NULL;
	if (!v) {
		log_error("internal error: no configuration value `%s`", name);
		return NULL;
	}
	if (type >= 0 && v->opt->type != (enum config_type)type) {
		log_error("internal error: configuration value `%s` read as the wrong type", name);
		return NULL;
	}
	return v;
}

const char *config_output(const struct config *c)
{
	return c->output;
}

const char *config_get_string(const struct config *c, const char *name)
{
	const struct config_value *v = lookup(c, name, CONFIG_STRING);
	return v ? v->text : NULL;
}

int64_t config_get_number(const struct config *c, const char *name)
{
	const struct config_value *v = lookup(c, name, CONFIG_NUMBER);
	return v ? v->number : 0;
}

bool config_get_bool(const struct config *c, const char *name)
{
	const struct config_value *v = lookup(c, name, CONFIG_BOOL);
	return v ? v->flag : false;
}

uint64_t config_get_size(const struct config *c, const char *name)
{
	const struct config_value *v = lookup(c, name, CONFIG_SIZE);
	return v ? v->size : 0;
}

char *const *config_get_list(const struct config *c, const char *name, size_t *n)
{
	static char *const empty[] = { NULL };
	const struct config_value *v = lookup(c, name, CONFIG_LIST);
	if (n)
		*n = v && v->list ? v->n_list : 0;
	return v && v->list ? v->list : empty;
}

bool config_is_set(const struct config *c, const char *name)
{
	const struct config_value *v = lookup(c, name, -1);
	return v && v->origin != CONFIG_UNSET;
}

const char *config_source(const struct config *c, const char *name)
{
	const struct config_value *v = lookup(c, name, -1);
	return v && v->source ? v->source : "not set";
}

char *const *config_positional(const struct config *c, size_t *n)
{
	static char *const empty[] = { NULL };
	if (n)
		*n = c->n_positional;
	return c->positional ? c->positional : empty;
}

char *const *config_rest(const struct config *c, size_t *n)
{
	static char *const empty[] = { NULL };
	if (n)
		*n = c->n_rest;
	return c->rest ? c->rest : empty;
}
