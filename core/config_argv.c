/*
 * config_argv: the command line (see core/config.h): `--name=value`,
 * `--name value`, `-x value`, `-xvalue`, bundled flags, positional
 * arguments and those after `--`.
 */
#include "core/config_internal.h"

static struct config_value *find_short(const struct config *c, char ch)
{
	for (size_t i = 0; i < c->n_values; i++) {
		if (c->values[i].opt->short_name == ch)
			return &c->values[i];
	}
	return NULL;
}

int config_apply_cli(const struct config *c, struct config_pending *p, struct err **err)
{
	const char *text = p->text ? p->text : "true";
	if (config_set_text(c, p->v, text, CONFIG_FROM_CLI, p->source, err) < 0)
		return err_wrap(err, "%s", p->source);
	return 0;
}

/* Records one option occurrence: command-line-only options take effect at
 * once, configuration values after files and environment. */
static int take(struct config *c, struct config_pending **pend, size_t *n_pend,
		struct config_value *v, const char *text, char *source, struct err **err)
{
	struct config_pending p = { v, text, source };
	if (is_cli_only(v)) {
		int rc = config_apply_cli(c, &p, err);
		free(source);
		return rc;
	}
	struct config_pending *bigger = realloc(*pend, (*n_pend + 1) * sizeof(**pend));
	if (!bigger)
		abort();
	*pend = bigger;
	(*pend)[(*n_pend)++] = p;
	return 0;
}

static int parse_long(struct config *c, int argc, char **argv, int *i,
		      struct config_pending **pend, size_t *n_pend, struct err **err)
{
	const char *name = argv[*i] + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	struct config_value *v = config_find_long(c, name, len);
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

static int parse_short(struct config *c, int argc, char **argv, int *i,
		       struct config_pending **pend, size_t *n_pend, struct err **err)
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

int config_parse_argv(struct config *c, int argc, char **argv, struct config_pending **pend,
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
				config_strv_push(&c->rest, &c->n_rest, argv[i]);
			break;
		} else if (strncmp(arg, "--", 2) == 0) {
			rc = parse_long(c, argc, argv, &i, pend, n_pend, err);
		} else if (arg[0] == '-' && arg[1]) {
			rc = parse_short(c, argc, argv, &i, pend, n_pend, err);
		} else {
			if (prog->max_positional >= 0 &&
			    c->n_positional >= (size_t)prog->max_positional)
				return err_set(err, 0, "unexpected argument `%s`; see --help", arg);
			config_strv_push(&c->positional, &c->n_positional, arg);
		}
		if (rc < 0)
			return -1;
	}
	if (c->n_rest && !prog->takes_rest)
		return err_set(err, 0, "unexpected argument `%s` after --; see --help", c->rest[0]);
	return 0;
}
