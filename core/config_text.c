/*
 * config_text: the text config shows (see core/config.h): environment
 * variable names and value placeholders, the --help text and the
 * --print-config text (flat TOML a config file could hold).
 */
#include "core/config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"

char *config_env_name(const char *prefix, const char *name)
{
	char *s = NULL;
	if (asprintf(&s, "%s_%s", prefix, name) < 0)
		abort();
	for (char *p = s + strlen(prefix); *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	return s;
}

const char *config_value_name(const struct config_option *o)
{
	if (o->value_name)
		return o->value_name;
	switch (o->type) {
	case CONFIG_STRING: return "STRING";
	case CONFIG_NUMBER: return "NUMBER";
	case CONFIG_BOOL: return "BOOL";
	case CONFIG_SIZE: return "SIZE";
	case CONFIG_LIST: return "VALUE";
	}
	return "VALUE";
}

/* ---- help and print-config text ----------------------------------- */

static void put_toml_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void put_value(FILE *out, const struct config_value *v)
{
	switch (v->opt->type) {
	case CONFIG_STRING:
	case CONFIG_SIZE:
		put_toml_string(out, v->text);
		break;
	case CONFIG_NUMBER:
		fprintf(out, "%" PRId64, v->number);
		break;
	case CONFIG_BOOL:
		fputs(v->flag ? "true" : "false", out);
		break;
	case CONFIG_LIST:
		fputc('[', out);
		for (size_t i = 0; i < v->n_list; i++) {
			fputs(i ? ", " : "", out);
			put_toml_string(out, v->list[i]);
		}
		fputc(']', out);
		break;
	}
}

static const char *type_help(enum config_type t)
{
	switch (t) {
	case CONFIG_STRING: return "string";
	case CONFIG_NUMBER: return "number";
	case CONFIG_BOOL: return "flag";
	case CONFIG_SIZE: return "size, like 1 GB or 512 MiB";
	case CONFIG_LIST: return "list: repeat the option; whitespace-separated in the environment";
	}
	return "?";
}

static void put_option_help(FILE *out, const struct config *c, const struct config_option *o)
{
	if (o->short_name)
		fprintf(out, "  -%c, --%s", o->short_name, o->name);
	else
		fprintf(out, "      --%s", o->name);
	if (o->type != CONFIG_BOOL)
		fprintf(out, " <%s>", config_value_name(o));
	fprintf(out, "\n          %s\n          [%s%s]", o->help ? o->help : "", type_help(o->type),
		o->type == CONFIG_BOOL && !(o->flags & CONFIG_CLI_ONLY)
			? "; true or false in the environment and config files" : "");
	if (o->default_value)
		fprintf(out, " [default: %s]", o->default_value);
	if (o->flags & CONFIG_CLI_ONLY) {
		fputs(" [command line only]", out);
	} else if (c->prog->env_prefixes && c->prog->env_prefixes[0]) {
		fputs(" [env:", out);
		for (const char *const *p = c->prog->env_prefixes; *p; p++) {
			_cleanup_free_ char *name = config_env_name(*p, o->name);
			fprintf(out, "%s %s", p == c->prog->env_prefixes ? "" : ",", name);
		}
		fputc(']', out);
	}
	fputc('\n', out);
}

char *config_help_text(const struct config *c)
{
	const struct config_program *prog = c->prog;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out)
		abort();
	fprintf(out, "%s %s\n", prog->name, prog->version ? prog->version : "");
	if (prog->description)
		fprintf(out, "%s\n", prog->description);
	if (prog->usage)
		fprintf(out, "\nUsage: %s\n\nOptions:\n", prog->usage);
	else
		fprintf(out, "\nUsage: %s [OPTIONS]\n\nOptions:\n", prog->name);
	for (size_t i = 0; i < c->n_values; i++)
		put_option_help(out, c, c->values[i].opt);
	fputs("\nValues come from the command line, then the environment, then config files of\n"
	      "`name = value` lines (like `log-level = \"debug\"`), most preferred first:\n", out);
	size_t n = 0;
	char **paths = config_file_paths(prog->config_dir, &n);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %s\n", paths[i]);
	config_file_paths_free(paths);
	if (fclose(out) != 0)
		abort();
	return text;
}

char *config_print_text(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out)
		abort();
	fprintf(out, "# %s configuration; config files read:", c->prog->name);
	if (!c->n_files)
		fputs(" none", out);
	for (size_t i = 0; i < c->n_files; i++)
		fprintf(out, "%s %s", i ? "," : "", c->files[i]);
	fputc('\n', out);
	for (size_t i = 0; i < c->n_values; i++) {
		const struct config_value *v = &c->values[i];
		if (v->opt->flags & CONFIG_CLI_ONLY)
			continue;
		if (v->origin == CONFIG_UNSET) {
			fprintf(out, "# %s is not set\n", v->opt->name);
			continue;
		}
		fprintf(out, "%s = ", v->opt->name);
		put_value(out, v);
		fprintf(out, "  # %s\n", v->source);
	}
	if (fclose(out) != 0)
		abort();
	return text;
}
