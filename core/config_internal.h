/*
 * config_internal: what the configuration reader's files share (private
 * to core/config*.c; the public API and the rules are in core/config.h).
 *
 * The files, one purpose each:
 *   config.c        the option table, loading in order of priority
 *                   (defaults, files, environment, command line), getters
 *   config_value.c  one value: parsing text by its type and setting it
 *   config_argv.c   the command line: long and short options, bundled
 *                   flags, positional arguments and those after `--`
 *   config_file.c   flat TOML config files: where they are, reading them
 *   config_text.c   the --help and --print-config text
 *
 * Everything here aborts when out of memory, like the rest of the project.
 */
#ifndef CORE_CONFIG_INTERNAL_H
#define CORE_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/xalloc.h"

/* The built-in options, stored in this order after the program's own
 * (config.c holds their table). */
enum { B_LOG_LEVEL, B_CONFIG_FILE, B_PRINT_CONFIG, B_HELP, B_VERSION };

static inline struct config_value *builtin(const struct config *c, int which)
{
	return &c->values[c->prog->n_options + (size_t)which];
}

static inline bool is_cli_only(const struct config_value *v)
{
	return v->opt->flags & CONFIG_CLI_ONLY;
}

/* ---- allocation (xstrdup, xasprintf: core/xalloc.h) ------------------- */

/* Appends a copy of s to the NULL-terminated vector *v of *n strings
 * (*v may start NULL). */
static inline void config_strv_push(char ***v, size_t *n, const char *s)
{
	char **bigger = realloc(*v, (*n + 2) * sizeof(**v));
	if (!bigger)
		abort();
	*v = bigger;
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* Frees the vector and its strings, leaving it NULL and empty. */
static inline void config_strv_free(char ***v, size_t *n)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

/* ---- values (config_value.c) ------------------------------------------ */

/* Empties v (CONFIG_UNSET), keeping its option. */
void config_value_clear(struct config_value *v);

/* Replaces v's value with text parsed by type (not for lists). On error
 * leaves v alone and sets a bare message for the caller to prefix. */
int config_set_scalar(const struct config *c, struct config_value *v, const char *text,
		      enum config_origin origin, const char *source, struct err **err);

/* Replaces v's list, or appends to it when it already came from origin
 * (repeated command-line options). */
void config_set_list(struct config_value *v, char *const *items, size_t n,
		     enum config_origin origin, const char *source);

/* Sets v from text as written on the command line, in the environment or
 * as a default: lists are whitespace-separated words except on the command
 * line, where each option is one item. */
int config_set_text(const struct config *c, struct config_value *v, const char *text,
		    enum config_origin origin, const char *source, struct err **err);

/* The value named by the len bytes at name, or NULL. */
struct config_value *config_find_long(const struct config *c, const char *name, size_t len);

/* ---- the command line (config_argv.c) --------------------------------- */

/* A configuration value given on the command line, applied after files
 * and environment. */
struct config_pending {
	struct config_value *v;
	const char *text; /* NULL: a flag given without a value */
	char *source;     /* "--slots" or "-s"; owned */
};

/* Sets p's value, prefixing an error with p's source. */
int config_apply_cli(const struct config *c, struct config_pending *p, struct err **err);

/* Reads argv (after argv[0]) into c's positional and rest arguments:
 * command-line-only options are set at once, configuration values are
 * appended to *pend (*n_pend of them; the caller frees each source and the
 * array, also after an error). */
int config_parse_argv(struct config *c, int argc, char **argv, struct config_pending **pend,
		      size_t *n_pend, struct err **err);

#endif
