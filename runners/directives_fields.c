/*
 * directives_fields: the container fields shared by directives and named
 * containers (see runners/directives.h).
 *
 * Layer lists, environment, mounts and the scalar fields are handed to the
 * job-spec reader (core/spec_json.h) inside a minimal job object, so they
 * accept exactly what maelstrom-run accepts; its messages, whose field
 * paths start at the job object ("mounts[0].type"), are rewritten to name
 * the spec-file path and positioned at the value they name.
 */
#include "runners/directives_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/spec_json.h"

const char *const dfield_names[DF_COUNT] = {
	[DF_LAYERS] = "layers",
	[DF_ENVIRONMENT] = "environment",
	[DF_WORKING_DIRECTORY] = "working_directory",
	[DF_WRITABLE] = "enable_writable_file_system",
	[DF_MOUNTS] = "mounts",
	[DF_NETWORK] = "network",
	[DF_USER] = "user",
	[DF_GROUP] = "group",
};

const char *const dcontainer_keys[] = {
	"image", "parent", "layers", "added_layers", "environment", "added_environment",
	"mounts", "added_mounts", "network", "enable_writable_file_system",
	"working_directory", "user", "group",
};
const size_t n_dcontainer_keys = ARRAY_SIZE(dcontainer_keys);

/* ---- values through the job-spec reader ------------------------------------ */

/* Reads v as the job object's field `jobfield` into *js (zeroed by the
 * reader). */
static int read_via_job(struct dload *l, const char *jobfield, const json_t *v,
			struct job_spec *js)
{
	json_t *o = json_object();
	if (!o)
		abort();
	json_object_set_new(o, "program", json_string("program"));
	json_object_set_new(o, "layers", json_array());
	json_object_set(o, jobfield, (json_t *)v);
	struct err *e = NULL;
	int rc = job_spec_from_json(o, js, &e);
	json_decref(o);
	if (rc < 0)
		return dload_rewrap(l, jobfield, &e);
	return 0;
}

/* Reads the value of key (which exists in obj) as job field jobfield. */
static int read_field(struct dload *l, const json_t *obj, const char *key, const char *jobfield,
		      struct job_spec *js)
{
	struct dmark m = dload_push_key(l, key);
	if (read_via_job(l, jobfield, json_object_get(obj, key), js) < 0)
		return -1;
	dload_pop(l, m);
	return 0;
}

/* ---- image and parent ------------------------------------------------------ */

/* Reads `image` or `parent`: "NAME" or { name = "NAME", use = [...] }. */
static int read_parent(struct dload *l, const json_t *v, enum dparent kind, struct dcontainer *c)
{
	bool image = kind == DPARENT_IMAGE;
	size_t n_names = image ? 3 : DF_COUNT;
	c->parent = kind;
	c->use = image ? DBIT(DF_LAYERS) | DBIT(DF_ENVIRONMENT) : DF_ALL_FIELDS;
	const json_t *name = v, *use = NULL;
	if (json_is_object(v)) {
		c->parent_table = true;
		static const char *const keys[] = { "name", "use" };
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)v, key, x) {
			if (strcmp(key, "name") != 0 && strcmp(key, "use") != 0)
				return dload_unknown_field(l, key, keys, ARRAY_SIZE(keys));
		}
		name = json_object_get(v, "name");
		use = json_object_get(v, "use");
		if (!name)
			return dload_bad(l, "missing `name`: %s",
					 image ? "say which image to use, e.g. \"docker://rust\""
					       : "say which [containers.NAME] to inherit from");
	} else if (!json_is_string(v)) {
		return dload_bad(l, "expected a string or a table with `name` and `use`");
	}
	struct dmark m = { l->path.dlen, l->path.plen };
	if (name != v)
		m = dload_push_key(l, "name");
	if (!json_is_string(name) || !*json_string_value(name))
		return dload_bad(l, "expected a non-empty string");
	c->parent_name = strdup(json_string_value(name));
	if (!c->parent_name)
		abort();
	dload_pop(l, m);
	if (!use)
		return 0;
	m = dload_push_key(l, "use");
	if (!json_is_array(use) || json_array_size(use) == 0) {
		_cleanup_free_ char *list = NULL;
		size_t size = 16;
		for (size_t i = 0; i < n_names; i++)
			size += strlen(dfield_names[i]) + 4;
		list = calloc(1, size);
		if (!list)
			abort();
		for (size_t i = 0; i < n_names; i++) {
			strcat(list, i ? ", `" : "`");
			strcat(list, dfield_names[i]);
			strcat(list, "`");
		}
		return dload_bad(l, "expected a non-empty list of %s", list);
	}
	c->use = 0;
	c->use_explicit = true;
	size_t i;
	json_t *e;
	json_array_foreach(use, i, e) {
		struct dmark mi = dload_push_index(l, i);
		if (!json_is_string(e))
			return dload_bad(l, "expected a string");
		const char *s = json_string_value(e);
		size_t f;
		for (f = 0; f < n_names; f++)
			if (strcmp(s, dfield_names[f]) == 0)
				break;
		if (f == n_names) {
			const char *guess = dload_closest(s, dfield_names, n_names);
			if (guess)
				return dload_bad(l, "%s cannot pass on `%s` (did you mean `%s`?)",
						 image ? "an image" : "a parent container", s, guess);
			return dload_bad(l, "%s cannot pass on `%s`; it passes on %s",
					 image ? "an image" : "a parent container", s,
					 image ? "`layers`, `environment` and `working_directory`"
					       : "`layers`, `environment`, `working_directory`, "
						 "`enable_writable_file_system`, `mounts`, `network`, "
						 "`user` and `group`");
		}
		c->use |= DBIT(f);
		dload_pop(l, mi);
	}
	dload_pop(l, m);
	return 0;
}

/* ---- the rules between fields and `use` -------------------------------------- */

/* Field f is written here: refuse it when an explicit `use` lists it,
 * stop inheriting it otherwise. */
static int claim_field(struct dload *l, const char *key, enum dfield f, struct dcontainer *c)
{
	if (c->parent != DPARENT_NONE && (c->use & DBIT(f))) {
		const char *p = c->parent == DPARENT_IMAGE ? "image" : "parent";
		if (c->use_explicit) {
			dload_push_key(l, key);
			return dload_bad(l, "cannot be set when `%s` has a `use` of `%s`: drop one "
					    "of them%s",
					 p, dfield_names[f],
					 f == DF_LAYERS || f == DF_ENVIRONMENT || f == DF_MOUNTS
						 ? " (`added_*` fields add to what is inherited)"
						 : "");
		}
		c->use &= ~DBIT(f);
	}
	c->set |= DBIT(f);
	return 0;
}

/* The added_* rules of named containers (book: containers.md). */
static int check_added(struct dload *l, const char *key, enum dfield f,
		       const struct dcontainer *c)
{
	struct dmark m = dload_push_key(l, key);
	if (c->set & DBIT(f))
		return dload_bad(l, "cannot be combined with `%s`: put these entries at the end "
				    "of `%s` instead",
				 dfield_names[f], dfield_names[f]);
	if (c->parent == DPARENT_NONE || !(c->use & DBIT(f)))
		return dload_bad(l, "needs an `image` or `parent` whose `use` includes `%s`, "
				    "to add to; write `%s` instead",
				 dfield_names[f], dfield_names[f]);
	dload_pop(l, m);
	return 0;
}

/* ---- vector fields ----------------------------------------------------------- */

static int read_layers(struct dload *l, const json_t *obj, const char *key,
		       struct layer_spec **out, size_t *n)
{
	struct job_spec js;
	if (read_field(l, obj, key, "layers", &js) < 0)
		return -1;
	*out = steal_pointer(&js.container.layers);
	*n = js.container.n_layers;
	js.container.n_layers = 0;
	job_spec_release(&js);
	return 0;
}

static int read_env(struct dload *l, const json_t *obj, const char *key, bool added,
		    struct env_spec **out, size_t *n)
{
	struct job_spec js;
	if (read_field(l, obj, key, "environment", &js) < 0)
		return -1;
	/* A map is one element: replacing for `environment`, extending for
	 * `added_environment`. */
	if (json_is_object(json_object_get(obj, key)) && js.container.n_environment == 1)
		js.container.environment[0].extend = added;
	*out = steal_pointer(&js.container.environment);
	*n = js.container.n_environment;
	js.container.n_environment = 0;
	job_spec_release(&js);
	return 0;
}

static int read_mounts(struct dload *l, const json_t *obj, const char *key,
		       struct mount_spec **out, size_t *n)
{
	struct job_spec js;
	if (read_field(l, obj, key, "mounts", &js) < 0)
		return -1;
	*out = steal_pointer(&js.container.mounts);
	*n = js.container.n_mounts;
	js.container.n_mounts = 0;
	job_spec_release(&js);
	return 0;
}

static int read_vectors(struct dload *l, const json_t *obj, bool is_named, struct dcontainer *c)
{
	if (json_object_get(obj, "layers")) {
		if (claim_field(l, "layers", DF_LAYERS, c) < 0 ||
		    read_layers(l, obj, "layers", &c->layers, &c->n_layers) < 0)
			return -1;
	}
	if (json_object_get(obj, "environment")) {
		if (claim_field(l, "environment", DF_ENVIRONMENT, c) < 0 ||
		    read_env(l, obj, "environment", false, &c->env, &c->n_env) < 0)
			return -1;
	}
	if (json_object_get(obj, "mounts")) {
		if (claim_field(l, "mounts", DF_MOUNTS, c) < 0 ||
		    read_mounts(l, obj, "mounts", &c->mounts, &c->n_mounts) < 0)
			return -1;
	}
	if (json_object_get(obj, "added_layers")) {
		c->added |= DBIT(DF_LAYERS);
		if ((is_named && check_added(l, "added_layers", DF_LAYERS, c) < 0) ||
		    read_layers(l, obj, "added_layers", &c->added_layers, &c->n_added_layers) < 0)
			return -1;
	}
	if (json_object_get(obj, "added_environment")) {
		c->added |= DBIT(DF_ENVIRONMENT);
		if ((is_named && check_added(l, "added_environment", DF_ENVIRONMENT, c) < 0) ||
		    read_env(l, obj, "added_environment", true, &c->added_env, &c->n_added_env) < 0)
			return -1;
	}
	if (json_object_get(obj, "added_mounts")) {
		c->added |= DBIT(DF_MOUNTS);
		if ((is_named && check_added(l, "added_mounts", DF_MOUNTS, c) < 0) ||
		    read_mounts(l, obj, "added_mounts", &c->added_mounts, &c->n_added_mounts) < 0)
			return -1;
	}
	return 0;
}

/* ---- scalar fields ----------------------------------------------------------- */

static int read_scalars(struct dload *l, const json_t *obj, struct dcontainer *c)
{
	static const enum dfield scalars[] = { DF_NETWORK, DF_WRITABLE, DF_WORKING_DIRECTORY,
					       DF_USER, DF_GROUP };
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++) {
		enum dfield f = scalars[i];
		const char *key = dfield_names[f];
		if (!json_object_get(obj, key))
			continue;
		struct job_spec js;
		if (claim_field(l, key, f, c) < 0 || read_field(l, obj, key, key, &js) < 0)
			return -1;
		switch (f) {
		case DF_NETWORK:
			c->network = js.container.network;
			break;
		case DF_WRITABLE:
			c->writable = js.container.enable_writable_file_system;
			break;
		case DF_WORKING_DIRECTORY:
			c->working_directory = steal_pointer(&js.container.working_directory);
			break;
		case DF_USER:
			c->user = js.container.user;
			break;
		case DF_GROUP:
			c->group = js.container.group;
			break;
		case DF_LAYERS:
		case DF_ENVIRONMENT:
		case DF_MOUNTS:
		case DF_COUNT:
			break;
		}
		job_spec_release(&js);
	}
	return 0;
}

int dload_container(struct dload *l, const json_t *obj, bool is_named, struct dcontainer *c)
{
	json_t *image = json_object_get(obj, "image"), *parent = json_object_get(obj, "parent");
	if (image && parent) {
		dload_push_key(l, "parent");
		return dload_bad(l, "cannot be combined with `image`: a container inherits from "
				    "either an image or a named container");
	}
	if (image || parent) {
		struct dmark m = dload_push_key(l, image ? "image" : "parent");
		if (read_parent(l, image ? image : parent,
				image ? DPARENT_IMAGE : DPARENT_CONTAINER, c) < 0)
			return -1;
		dload_pop(l, m);
	}
	if (read_vectors(l, obj, is_named, c) < 0 || read_scalars(l, obj, c) < 0)
		return -1;
	return 0;
}

void dcontainer_release(struct dcontainer *c)
{
	free(c->parent_name);
	struct layer_spec *lists[] = { c->layers, c->added_layers };
	size_t counts[] = { c->n_layers, c->n_added_layers };
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < counts[k]; i++)
			layer_spec_release(&lists[k][i]);
		free(lists[k]);
	}
	for (size_t i = 0; i < c->n_env; i++)
		env_spec_release(&c->env[i]);
	for (size_t i = 0; i < c->n_added_env; i++)
		env_spec_release(&c->added_env[i]);
	free(c->env);
	free(c->added_env);
	for (size_t i = 0; i < c->n_mounts; i++)
		mount_spec_release(&c->mounts[i]);
	for (size_t i = 0; i < c->n_added_mounts; i++)
		mount_spec_release(&c->added_mounts[i]);
	free(c->mounts);
	free(c->added_mounts);
	free(c->working_directory);
	memset(c, 0, sizeof(*c));
}
