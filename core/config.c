/*
 * config: the option table and loading (see core/config.h): defaults,
 * config files, the environment and the command line in rising priority,
 * then the getters. The other config_*.c files do the parsing; see
 * core/config_internal.h.
 */
#include "core/config.h"

#include <errno.h>

#include "core/cleanup.h"
#include "core/config_internal.h"
#include "core/log.h"

/* Options every program has, stored after the program's own in the order
 * of the B_* enum (core/config_internal.h). */
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

/* ---- the option table ---------------------------------------------- */

/* Builds the value array and checks the program's table, so that a
 * mistake in it fails every run, not only the one that uses the option. */
static int setup_values(struct config *c, struct err **err)
{
	const struct config_program *prog = c->prog;
	c->n_values = prog->n_options + ARRAY_SIZE(builtins);
	c->values = calloc(c->n_values, sizeof(*c->values));
	if (!c->values)
		abort();
	for (size_t i = 0; i < c->n_values; i++)
		c->values[i].opt = i < prog->n_options ? &prog->options[i]
						       : &builtins[i - prog->n_options];
	for (size_t i = 0; i < c->n_values; i++) {
		const struct config_option *o = c->values[i].opt;
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
		if (def && config_set_text(c, v, def, CONFIG_FROM_DEFAULT, "default", err) < 0)
			return err_wrap(err, "internal error: default of %s", v->opt->name);
	}
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
		config_set_list(v, e->items, e->n_items, CONFIG_FROM_FILE, source);
		return 0;
	case CONFIG_FILE_STRING:
		if (t == CONFIG_NUMBER || t == CONFIG_BOOL)
			return err_set(err, 0, "expected %s, not a string; remove the quotes",
				       type_words[t]);
		if (t == CONFIG_LIST)
			return err_set(err, 0, "expected a list of strings like [\"%s\"], not a string",
				       e->text);
		return config_set_scalar(c, v, e->text, CONFIG_FROM_FILE, source, err);
	case CONFIG_FILE_BARE:
		if (t == CONFIG_STRING)
			return err_set(err, 0, "strings need quotes: %s = \"%s\"", e->key, e->text);
		if (t == CONFIG_LIST)
			return err_set(err, 0, "expected a list of strings like [\"%s\"]", e->text);
		if (t == CONFIG_SIZE && strspn(e->text, "0123456789") != strlen(e->text))
			return err_set(err, 0, "sizes with a unit need quotes: %s = \"%s\"", e->key,
				       e->text);
		return config_set_scalar(c, v, e->text, CONFIG_FROM_FILE, source, err);
	}
	return err_set(err, 0, "internal error: unknown value kind");
}

static int on_file_entry(void *arg, const struct config_file_entry *e, struct err **err)
{
	struct file_ctx *fc = arg;
	struct config *c = fc->c;
	struct config_value *v = config_find_long(c, e->key, strlen(e->key));
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
		config_strv_push(&c->files, &c->n_files, only);
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
		config_strv_push(&c->files, &c->n_files, paths[i]);
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
			if (config_set_text(c, v, text, CONFIG_FROM_ENV, name, err) < 0)
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
		config_value_clear(&c->values[i]);
	free(c->values);
	config_strv_free(&c->positional, &c->n_positional);
	config_strv_free(&c->rest, &c->n_rest);
	config_strv_free(&c->files, &c->n_files);
	free(c->output);
	config_init(c);
}

int config_load(struct config *c, const struct config_program *prog, int argc, char **argv,
		struct err **err)
{
	config_release(c);
	c->prog = prog;
	struct config_pending *pend = NULL;
	size_t n_pend = 0;
	int rc = -1;

	if (setup_values(c, err) < 0 || config_parse_argv(c, argc, argv, &pend, &n_pend, err) < 0)
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
		if (config_apply_cli(c, &pend[i], err) < 0)
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
	const struct config_value *v = c->values ? config_find_long(c, name, strlen(name)) : NULL;
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
