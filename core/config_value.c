/*
 * config_value: one configuration value (see core/config_internal.h):
 * numbers, booleans, sizes and log levels parsed from text, lists split
 * into words, and the value's origin and source recorded beside it.
 */
#include "core/config_internal.h"

#include <ctype.h>
#include <errno.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/size.h"

void config_value_clear(struct config_value *v)
{
	free(v->source);
	free(v->text);
	config_strv_free(&v->list, &v->n_list);
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
int config_set_scalar(const struct config *c, struct config_value *v, const char *text,
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
	config_value_clear(v);
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
void config_set_list(struct config_value *v, char *const *items, size_t n,
		     enum config_origin origin, const char *source)
{
	if (v->origin != origin || origin != CONFIG_FROM_CLI) {
		config_value_clear(v);
		v->list = calloc(1, sizeof(*v->list));
		if (!v->list)
			abort();
	}
	for (size_t i = 0; i < n; i++)
		config_strv_push(&v->list, &v->n_list, items[i]);
	free(v->source);
	v->source = xstrdup(source);
	v->origin = origin;
}

/* Sets v from text as written on the command line, in the environment or
 * as a default: lists are whitespace-separated words except on the command
 * line, where each option is one item. */
int config_set_text(const struct config *c, struct config_value *v, const char *text,
		    enum config_origin origin, const char *source, struct err **err)
{
	if (v->opt->type != CONFIG_LIST)
		return config_set_scalar(c, v, text, origin, source, err);
	char **words = NULL;
	size_t n = 0;
	if (origin == CONFIG_FROM_CLI) {
		config_strv_push(&words, &n, text);
	} else {
		_cleanup_free_ char *copy = xstrdup(text);
		char *save = NULL;
		for (char *w = strtok_r(copy, " \t\n\r\f\v", &save); w;
		     w = strtok_r(NULL, " \t\n\r\f\v", &save))
			config_strv_push(&words, &n, w);
	}
	config_set_list(v, words, n, origin, source);
	config_strv_free(&words, &n);
	return 0;
}

struct config_value *config_find_long(const struct config *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->n_values; i++) {
		const char *n = c->values[i].opt->name;
		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return &c->values[i];
	}
	return NULL;
}
