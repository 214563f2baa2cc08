/*
 * spec_json_read: the job object (core/spec_json.h): its image and
 * environment, the structured and scalar fields, and the rules that tie
 * them together (see core/spec_json_internal.h for the reader).
 */
#include "core/spec_json.h"

#include <limits.h>
#include <stdint.h>

#include "core/cleanup.h"
#include "core/spec_json_internal.h"

static const char *const job_fields[] = {
	"image", "program", "arguments", "environment", "layers", "added_layers",
	"mounts", "network", "enable_writable_file_system", "working_directory",
	"user", "group", "timeout", "estimated_duration", "priority", "fork_server",
};

/* ---- image and environment --------------------------------------------------- */

static int read_image(struct spec_reader *r, const json_t *v, struct image_spec *img)
{
	if (json_is_string(v)) {
		img->use_layers = img->use_environment = true;
		return spec_reader_string(r, v, true, &img->name);
	}
	if (!json_is_object(v))
		return spec_reader_wrong_type(r, v, "a string or an object");
	static const char *const keys[] = { "name", "use" };
	if (spec_reader_check_keys(r, v, keys, ARRAY_SIZE(keys)) < 0)
		return -1;
	json_t *name = spec_json_opt(v, "name"), *use = spec_json_opt(v, "use");
	if (!name)
		return spec_reader_missing(r, "name",
					   "say which image to use, e.g. \"docker://ubuntu\"");
	size_t old = spec_reader_push_key(r, "name");
	if (spec_reader_string(r, name, true, &img->name) < 0)
		return -1;
	spec_reader_pop(r, old);
	if (!use) {
		img->use_layers = img->use_environment = true;
		return 0;
	}
	old = spec_reader_push_key(r, "use");
	if (!json_is_array(use))
		return spec_reader_wrong_type(r, use, "a list of strings");
	if (json_array_size(use) == 0)
		return spec_reader_bad(r, "must list at least one of `layers`, `environment` or "
					  "`working_directory`");
	size_t i;
	json_t *e;
	json_array_foreach(use, i, e) {
		size_t o = spec_reader_push_index(r, i), which = 0;
		if (spec_reader_choice(r, e, "image part", spec_json_image_uses,
				       ARRAY_SIZE(spec_json_image_uses), &which) < 0)
			return -1;
		bool *flags[] = { &img->use_layers, &img->use_environment,
				  &img->use_working_directory };
		*flags[which] = true;
		spec_reader_pop(r, o);
	}
	spec_reader_pop(r, old);
	return 0;
}

static int read_vars(struct spec_reader *r, const json_t *obj, struct env_spec *e)
{
	if (!json_is_object(obj))
		return spec_reader_wrong_type(r, obj, "an object of NAME: value strings");
	e->vars = xcalloc(json_object_size(obj), sizeof(*e->vars));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		size_t old = spec_reader_push_key(r, key);
		if (!*key || strchr(key, '='))
			return spec_reader_bad(r, "variable names must be non-empty and cannot "
						  "hold `=`");
		struct env_var *var = &e->vars[e->n_vars];
		if (spec_reader_string(r, v, false, &var->value) < 0)
			return -1;
		var->name = xstrdup(key);
		e->n_vars++;
		spec_reader_pop(r, old);
	}
	return 0;
}

static int read_environment(struct spec_reader *r, const json_t *v, struct container_spec *c)
{
	if (json_is_object(v)) {
		if (c->image.use_environment)
			return spec_reader_bad(r, "must provide `extend` flags (a list of "
						  "{\"vars\": {...}, \"extend\": true|false}) "
						  "when `image` has a `use` of `environment`: "
						  "say whether it extends the image's "
						  "environment or replaces it");
		c->environment = xcalloc(1, sizeof(*c->environment));
		c->n_environment = 1;
		return read_vars(r, v, &c->environment[0]);
	}
	if (!json_is_array(v))
		return spec_reader_wrong_type(r, v, "an object of NAME: value strings, or a list "
						    "of {\"vars\", \"extend\"} objects");
	c->environment = xcalloc(json_array_size(v), sizeof(*c->environment));
	static const char *const keys[] = { "vars", "extend" };
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = spec_reader_push_index(r, i);
		if (!json_is_object(e))
			return spec_reader_wrong_type(r, e, "an object with `vars` and `extend`");
		if (spec_reader_check_keys(r, e, keys, ARRAY_SIZE(keys)) < 0)
			return -1;
		struct env_spec *spec = &c->environment[c->n_environment++];
		json_t *vars = spec_json_opt(e, "vars"), *extend = spec_json_opt(e, "extend");
		if (!vars)
			return spec_reader_missing(r, "vars", "give the variables as an object of "
							      "NAME: value");
		if (!extend)
			return spec_reader_missing(r, "extend",
						   "say whether these variables extend (true) "
						   "or replace (false) the ones before");
		size_t o = spec_reader_push_key(r, "vars");
		if (read_vars(r, vars, spec) < 0)
			return -1;
		spec_reader_pop(r, o);
		o = spec_reader_push_key(r, "extend");
		if (spec_reader_bool(r, extend, &spec->extend) < 0)
			return -1;
		spec_reader_pop(r, old);
	}
	return 0;
}

/* ---- the job object ------------------------------------------------------------- */

static int read_duration(struct spec_reader *r, const json_t *v, uint64_t *ms)
{
	long long x = 0;
	if (!json_is_object(v)) {
		if (json_is_number(v)) {
			if (spec_reader_int(r, v, 0, LLONG_MAX, &x) < 0)
				return -1;
			*ms = (uint64_t)x;
			return 0;
		}
		return spec_reader_wrong_type(r, v, "milliseconds or {\"secs\", \"nanos\"}");
	}
	static const char *const keys[] = { "secs", "nanos" };
	if (spec_reader_check_keys(r, v, keys, ARRAY_SIZE(keys)) < 0)
		return -1;
	json_t *secs = spec_json_opt(v, "secs"), *nanos = spec_json_opt(v, "nanos");
	if (!secs)
		return spec_reader_missing(r, "secs", "give the whole seconds of the duration");
	long long s = 0, ns = 0;
	size_t old = spec_reader_push_key(r, "secs");
	if (spec_reader_int(r, secs, 0, LLONG_MAX / 1000 - 1, &s) < 0)
		return -1;
	spec_reader_pop(r, old);
	if (nanos) {
		spec_reader_push_key(r, "nanos");
		if (spec_reader_int(r, nanos, 0, 999999999, &ns) < 0)
			return -1;
		spec_reader_pop(r, old);
	}
	*ms = (uint64_t)s * 1000 + (uint64_t)ns / 1000000;
	return 0;
}

/* The `fork_server` extension: {"program": "...", "arguments": [...]}. */
static int read_fork_server(struct spec_reader *r, const json_t *v, struct fork_server_spec *f)
{
	if (!json_is_object(v))
		return spec_reader_wrong_type(r, v, "an object {\"program\": ..., "
						    "\"arguments\": [...]}");
	static const char *const keys[] = { "program", "arguments" };
	if (spec_reader_check_keys(r, v, keys, ARRAY_SIZE(keys)) < 0)
		return -1;
	json_t *program = spec_json_opt(v, "program"), *args = spec_json_opt(v, "arguments");
	if (!program)
		return spec_reader_missing(r, "program", "name the fork server's program (the "
							 "zygote), e.g. \"python3\"");
	size_t old = spec_reader_push_key(r, "program");
	if (spec_reader_string(r, program, true, &f->program) < 0)
		return -1;
	spec_reader_pop(r, old);
	if (args) {
		spec_reader_push_key(r, "arguments");
		if (spec_reader_strv(r, args, false, &f->arguments, &f->n_arguments) < 0)
			return -1;
		spec_reader_pop(r, old);
	}
	return 0;
}

/* Reads the scalar fields after the structured ones. */
static int read_scalars(struct spec_reader *r, const json_t *obj, struct job_spec *spec)
{
	struct container_spec *c = &spec->container;
	long long x = 0;
	size_t which = 0;
	json_t *v;
	if ((v = spec_json_opt(obj, "network"))) {
		spec_reader_push_key(r, "network");
		if (spec_reader_choice(r, v, "network", spec_json_network_names,
				       ARRAY_SIZE(spec_json_network_names), &which) < 0)
			return -1;
		c->network = (enum network_mode)which;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "enable_writable_file_system"))) {
		spec_reader_push_key(r, "enable_writable_file_system");
		if (spec_reader_bool(r, v, &c->enable_writable_file_system) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "working_directory"))) {
		spec_reader_push_key(r, "working_directory");
		if (c->image.use_working_directory)
			return spec_reader_bad(r, "cannot be set when `image` has a `use` of "
						  "`working_directory`: drop one of them");
		if (spec_reader_string(r, v, true, &c->working_directory) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	static const char *const u32_fields[] = { "user", "group", "timeout" };
	uint32_t *u32_out[] = { &c->user, &c->group, &spec->timeout_s };
	for (size_t i = 0; i < ARRAY_SIZE(u32_fields); i++) {
		if (!(v = spec_json_opt(obj, u32_fields[i])))
			continue;
		spec_reader_push_key(r, u32_fields[i]);
		if (spec_reader_int(r, v, 0, UINT32_MAX, &x) < 0)
			return -1;
		*u32_out[i] = (uint32_t)x;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "estimated_duration"))) {
		spec_reader_push_key(r, "estimated_duration");
		if (read_duration(r, v, &spec->estimated_duration_ms) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "priority"))) {
		spec_reader_push_key(r, "priority");
		if (spec_reader_int(r, v, INT32_MIN, INT32_MAX, &x) < 0)
			return -1;
		spec->priority = (int32_t)x;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "fork_server"))) {
		spec_reader_push_key(r, "fork_server");
		if (read_fork_server(r, v, &spec->fork_server) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	return 0;
}

/* Reads image, program, arguments, environment, layers and mounts. */
static int read_structured(struct spec_reader *r, const json_t *obj, struct job_spec *spec)
{
	struct container_spec *c = &spec->container;
	json_t *v;
	if ((v = spec_json_opt(obj, "image"))) {
		spec_reader_push_key(r, "image");
		if (read_image(r, v, &c->image) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	if (!(v = spec_json_opt(obj, "program")))
		return spec_reader_missing(r, "program", "every job needs the program to run");
	spec_reader_push_key(r, "program");
	if (spec_reader_string(r, v, true, &spec->program) < 0)
		return -1;
	spec_reader_pop(r, 0);
	if ((v = spec_json_opt(obj, "arguments"))) {
		spec_reader_push_key(r, "arguments");
		if (spec_reader_strv(r, v, false, &spec->arguments, &spec->n_arguments) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "environment"))) {
		spec_reader_push_key(r, "environment");
		if (read_environment(r, v, c) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "layers"))) {
		spec_reader_push_key(r, "layers");
		if (c->image.use_layers)
			return spec_reader_bad(r, "cannot be used when `image` has a `use` of "
						  "`layers`: put the extra layers in "
						  "`added_layers`");
		if (spec_reader_layers(r, v, &c->layers, &c->n_layers) < 0)
			return -1;
		spec_reader_pop(r, 0);
	} else if (!c->image.use_layers) {
		return spec_reader_missing(r, "layers", "give the job's layers, or an `image` "
							"with a `use` of `layers`");
	}
	if ((v = spec_json_opt(obj, "added_layers"))) {
		spec_reader_push_key(r, "added_layers");
		if (!c->image.use_layers)
			return spec_reader_bad(r, "only allowed with an `image` that has a `use` "
						  "of `layers`: use `layers` instead");
		if (spec_reader_layers(r, v, &c->added_layers, &c->n_added_layers) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	if ((v = spec_json_opt(obj, "mounts"))) {
		spec_reader_push_key(r, "mounts");
		if (spec_reader_mounts(r, v, c) < 0)
			return -1;
		spec_reader_pop(r, 0);
	}
	return 0;
}

int job_spec_from_json(const json_t *obj, struct job_spec *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return err_set(err, 0, "a job spec must be a JSON object, got %s",
			       obj ? spec_json_type_name(obj) : "nothing");
	struct spec_reader r = { .err = err };
	if (spec_reader_check_keys(&r, obj, job_fields, ARRAY_SIZE(job_fields)) < 0 ||
	    read_structured(&r, obj, out) < 0 || read_scalars(&r, obj, out) < 0) {
		job_spec_release(out);
		return -1;
	}
	return 0;
}
