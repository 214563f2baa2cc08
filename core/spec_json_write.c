/*
 * spec_json_write: struct job_spec and struct layer_spec to JSON
 * (core/spec_json.h), built field by field in the canonical order, with
 * defaults left out and environment variables sorted by name.
 */
#include "core/spec_json.h"

#include <limits.h>

#include "core/cleanup.h"
#include "core/spec_json_internal.h"

static json_t *checked(json_t *v)
{
	if (!v)
		abort(); /* out of memory */
	return v;
}

static json_t *jstr(const char *s)
{
	json_t *v = json_string(s ? s : "");
	/* Strings that are not UTF-8 only come from specs built in C; keep
	 * their bytes rather than lose the field. */
	return v ? v : checked(json_string_nocheck(s));
}

static void put(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, checked(v)) < 0)
		abort();
}

static void append(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, checked(v)) < 0)
		abort();
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *arr = checked(json_array());
	for (size_t i = 0; i < n; i++)
		append(arr, jstr(v[i]));
	return arr;
}

json_t *layer_spec_to_json(const struct layer_spec *l)
{
	json_t *o = checked(json_object());
	const char *kind = spec_json_layer_kinds[l->kind];
	bool prefixed = false;
	switch (l->kind) {
	case LAYER_TAR:
		put(o, kind, jstr(l->path));
		break;
	case LAYER_GLOB:
		put(o, kind, jstr(l->glob));
		prefixed = true;
		break;
	case LAYER_PATHS:
	case LAYER_SHARED_LIBS:
		put(o, kind, strv_json(l->paths, l->n_paths));
		prefixed = true;
		break;
	case LAYER_STUBS:
		put(o, kind, strv_json(l->paths, l->n_paths));
		break;
	case LAYER_SYMLINKS: {
		json_t *arr = checked(json_array());
		for (size_t i = 0; i < l->n_symlinks; i++) {
			json_t *s = checked(json_object());
			put(s, "link", jstr(l->symlinks[i].link));
			put(s, "target", jstr(l->symlinks[i].target));
			append(arr, s);
		}
		put(o, kind, arr);
		break;
	}
	}
	if (!prefixed)
		return o;
	if (l->prefix.follow_symlinks)
		put(o, "follow_symlinks", json_true());
	if (l->prefix.canonicalize)
		put(o, "canonicalize", json_true());
	if (l->prefix.strip_prefix)
		put(o, "strip_prefix", jstr(l->prefix.strip_prefix));
	if (l->prefix.prepend_prefix)
		put(o, "prepend_prefix", jstr(l->prefix.prepend_prefix));
	return o;
}

static json_t *layers_json(const struct layer_spec *v, size_t n)
{
	json_t *arr = checked(json_array());
	for (size_t i = 0; i < n; i++)
		append(arr, layer_spec_to_json(&v[i]));
	return arr;
}

static json_t *mount_json(const struct mount_spec *m)
{
	json_t *o = checked(json_object());
	put(o, "type", jstr(spec_json_mount_types[m->kind]));
	if (m->kind == MOUNT_DEVICES) {
		json_t *arr = checked(json_array());
		for (unsigned i = 0; i < DEVICE_COUNT; i++)
			if (m->devices & (1u << i))
				append(arr, jstr(job_device_name(1u << i)));
		put(o, "devices", arr);
		return o;
	}
	put(o, "mount_point", jstr(m->mount_point));
	if (m->kind == MOUNT_BIND) {
		put(o, "local_path", jstr(m->local_path));
		put(o, "read_only", json_boolean(m->read_only));
	}
	return o;
}

static int cmp_var(const void *a, const void *b)
{
	const struct env_var *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static json_t *environment_json(const struct container_spec *c)
{
	json_t *arr = checked(json_array());
	for (size_t i = 0; i < c->n_environment; i++) {
		const struct env_spec *e = &c->environment[i];
		_cleanup_free_ const struct env_var **sorted = xcalloc(e->n_vars, sizeof(*sorted));
		for (size_t j = 0; j < e->n_vars; j++)
			sorted[j] = &e->vars[j];
		qsort(sorted, e->n_vars, sizeof(*sorted), cmp_var);
		json_t *vars = checked(json_object());
		for (size_t j = 0; j < e->n_vars; j++)
			put(vars, sorted[j]->name, jstr(sorted[j]->value));
		json_t *o = checked(json_object());
		put(o, "vars", vars);
		put(o, "extend", json_boolean(e->extend));
		append(arr, o);
	}
	return arr;
}

static json_t *image_json(const struct image_spec *img)
{
	json_t *o = checked(json_object());
	put(o, "name", jstr(img->name));
	json_t *use = checked(json_array());
	bool flags[] = { img->use_layers, img->use_environment, img->use_working_directory };
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (flags[i])
			append(use, jstr(spec_json_image_uses[i]));
	put(o, "use", use);
	return o;
}

json_t *job_spec_to_json(const struct job_spec *spec)
{
	const struct container_spec *c = &spec->container;
	json_t *o = checked(json_object());
	if (c->image.name)
		put(o, "image", image_json(&c->image));
	if (spec->program)
		put(o, "program", jstr(spec->program));
	if (spec->n_arguments)
		put(o, "arguments", strv_json(spec->arguments, spec->n_arguments));
	if (c->n_environment)
		put(o, "environment", environment_json(c));
	if (c->n_layers || !c->image.use_layers)
		put(o, "layers", layers_json(c->layers, c->n_layers));
	if (c->n_added_layers)
		put(o, "added_layers", layers_json(c->added_layers, c->n_added_layers));
	if (c->n_mounts) {
		json_t *arr = checked(json_array());
		for (size_t i = 0; i < c->n_mounts; i++)
			append(arr, mount_json(&c->mounts[i]));
		put(o, "mounts", arr);
	}
	if (c->network != NETWORK_DISABLED)
		put(o, "network", jstr(spec_json_network_names[c->network]));
	if (c->enable_writable_file_system)
		put(o, "enable_writable_file_system", json_true());
	if (c->working_directory)
		put(o, "working_directory", jstr(c->working_directory));
	if (c->user)
		put(o, "user", json_integer(c->user));
	if (c->group)
		put(o, "group", json_integer(c->group));
	if (spec->timeout_s)
		put(o, "timeout", json_integer(spec->timeout_s));
	if (spec->estimated_duration_ms)
		put(o, "estimated_duration",
		    json_integer(spec->estimated_duration_ms > LLONG_MAX
					 ? LLONG_MAX
					 : (json_int_t)spec->estimated_duration_ms));
	if (spec->priority)
		put(o, "priority", json_integer(spec->priority));
	if (spec->fork_server.program) {
		json_t *fs = checked(json_object());
		put(fs, "program", jstr(spec->fork_server.program));
		if (spec->fork_server.n_arguments)
			put(fs, "arguments", strv_json(spec->fork_server.arguments,
						       spec->fork_server.n_arguments));
		put(o, "fork_server", fs);
	}
	return o;
}
