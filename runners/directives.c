/*
 * directives: loading a spec file (see runners/directives.h): the top-level
 * keys, each [[directives]] entry and [containers.NAME] table, then the
 * links between containers (every parent name exists, no loops).
 */
#include "runners/directives.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/spec_json.h"
#include "core/xalloc.h"
#include "runners/directives_internal.h"

#define DEFAULT_NAME "(built-in default)"

static const char *const top_keys[] = { "directives", "containers" };

/* A directive's own keys, then the container keys. */
static const char *const directive_own_keys[] = {
	"filter", "include_shared_libraries", "timeout", "ignore", "fork_server",
};

static bool is_container_key(const char *key)
{
	for (size_t i = 0; i < n_dcontainer_keys; i++)
		if (strcmp(key, dcontainer_keys[i]) == 0)
			return true;
	return false;
}

static bool is_directive_key(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(directive_own_keys); i++)
		if (strcmp(key, directive_own_keys[i]) == 0)
			return true;
	return is_container_key(key);
}

/* Fails on the first key of obj that is_known refuses. */
static int check_keys(struct dload *l, const json_t *obj, bool (*is_known)(const char *),
		      bool with_directive_keys)
{
	const char *names[ARRAY_SIZE(directive_own_keys) + 16];
	size_t n = 0;
	if (with_directive_keys)
		for (size_t i = 0; i < ARRAY_SIZE(directive_own_keys); i++)
			names[n++] = directive_own_keys[i];
	for (size_t i = 0; i < n_dcontainer_keys && n < ARRAY_SIZE(names); i++)
		names[n++] = dcontainer_keys[i];
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		if (!is_known(key))
			return dload_unknown_field(l, key, names, n);
	}
	return 0;
}

/* ---- [[directives]] ------------------------------------------------------------ */

static int read_bool(struct dload *l, const json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	struct dmark m = dload_push_key(l, key);
	if (!json_is_boolean(v))
		return dload_bad(l, "expected true or false");
	*out = json_is_true(v);
	dload_pop(l, m);
	return 0;
}

static int read_filter(struct dload *l, const json_t *obj, struct directive *dir)
{
	json_t *v = json_object_get(obj, "filter");
	if (!v)
		return 0;
	struct dmark m = dload_push_key(l, "filter");
	if (!json_is_string(v))
		return dload_bad(l, "expected a string holding a filter pattern");
	struct err *e = NULL;
	if (filter_parse(json_string_value(v), l->fl, &dir->filter, &e) < 0) {
		int rc = dload_bad(l, "%s", err_msg(e));
		err_free(&e);
		return rc;
	}
	dir->filter_text = xstrdup(json_string_value(v));
	dload_pop(l, m);
	return 0;
}

static int read_timeout(struct dload *l, const json_t *obj, struct directive *dir)
{
	json_t *v = json_object_get(obj, "timeout");
	if (!v)
		return 0;
	struct dmark m = dload_push_key(l, "timeout");
	/* The job-spec reader gives the messages of maelstrom-run's `timeout`. */
	json_t *job = json_pack("{s:s, s:[], s:O}", "program", "program", "layers", "timeout", v);
	if (!job)
		abort();
	struct job_spec js;
	struct err *e = NULL;
	int rc = job_spec_from_json(job, &js, &e);
	json_decref(job);
	if (rc < 0)
		return dload_rewrap(l, "timeout", &e);
	dir->has_timeout = true;
	dir->timeout_s = js.timeout_s;
	job_spec_release(&js);
	dload_pop(l, m);
	return 0;
}

/* `fork_server = false`: an extension of the book for maelstrom-pytest
 * (runners/directives.h). */
static int read_fork_server(struct dload *l, const json_t *obj, struct directive *dir)
{
	if (!json_object_get(obj, "fork_server"))
		return 0;
	if (l->fl != &filter_flavor_pytest) {
		struct dmark m = dload_push_key(l, "fork_server");
		int rc = dload_bad(l, "only maelstrom-pytest runs tests from a fork server; "
				      "remove this field");
		dload_pop(l, m);
		return rc;
	}
	return read_bool(l, obj, "fork_server", &dir->fork_server);
}

static int read_directive(struct dload *l, const json_t *obj, struct directive *dir)
{
	dir->include_shared_libraries = -1;
	dir->ignore = -1;
	dir->fork_server = -1;
	if (!json_is_object(obj))
		return dload_bad(l, "expected a table (write each directive as a [[directives]] "
				    "section)");
	if (check_keys(l, obj, is_directive_key, true) < 0 || read_filter(l, obj, dir) < 0 ||
	    read_bool(l, obj, "include_shared_libraries", &dir->include_shared_libraries) < 0 ||
	    read_bool(l, obj, "ignore", &dir->ignore) < 0 || read_timeout(l, obj, dir) < 0 ||
	    read_fork_server(l, obj, dir) < 0)
		return -1;
	return dload_container(l, obj, false, &dir->c);
}

static int read_directives(struct dload *l, const json_t *v, struct directives *d)
{
	if (!json_is_array(v))
		return dload_bad(l, "expected an array of tables: start each directive with a "
				    "[[directives]] line");
	d->v = xcalloc(json_array_size(v), sizeof(*d->v));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		struct dmark m = dload_push_index(l, i);
		d->n++;
		if (read_directive(l, e, &d->v[i]) < 0)
			return -1;
		dload_pop(l, m);
	}
	return 0;
}

/* ---- [containers.NAME] ----------------------------------------------------------- */

static int read_containers(struct dload *l, const json_t *v, struct directives *d)
{
	if (!json_is_object(v))
		return dload_bad(l, "expected a table of named containers, e.g. "
				    "[containers.NAME]");
	d->containers = xcalloc(json_object_size(v), sizeof(*d->containers));
	const char *name;
	json_t *e;
	json_object_foreach((json_t *)v, name, e) {
		struct dmark m = dload_push_key(l, name);
		struct named_container *nc = &d->containers[d->n_containers++];
		nc->name = xstrdup(name);
		if (!json_is_object(e))
			return dload_bad(l, "expected a table of container fields");
		if (check_keys(l, e, is_container_key, false) < 0 ||
		    dload_container(l, e, true, &nc->c) < 0)
			return -1;
		dload_pop(l, m);
	}
	return 0;
}

/* ---- links between containers ------------------------------------------------------ */

static ssize_t find_container(const struct directives *d, const char *name)
{
	for (size_t i = 0; i < d->n_containers; i++)
		if (strcmp(d->containers[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Positions the path at where the parent's name was written. */
static void push_parent_name(struct dload *l, const struct dcontainer *c)
{
	dload_push_key(l, "parent");
	if (c->parent_table)
		dload_push_key(l, "name");
}

static int link_one(struct dload *l, const struct directives *d, struct dcontainer *c)
{
	if (c->parent != DPARENT_CONTAINER)
		return 0;
	ssize_t i = find_container(d, c->parent_name);
	if (i >= 0) {
		c->parent_index = (size_t)i;
		return 0;
	}
	const char **names = xcalloc(d->n_containers, sizeof(*names));
	for (size_t k = 0; k < d->n_containers; k++)
		names[k] = d->containers[k].name;
	const char *guess = dload_closest(c->parent_name, names, d->n_containers);
	free(names);
	push_parent_name(l, c);
	if (guess)
		return dload_bad(l, "no container named `%s` (did you mean `%s`?)", c->parent_name,
				 guess);
	return dload_bad(l, "no container named `%s`: define it in a [containers.%s] table",
			 c->parent_name, c->parent_name);
}

/* Finds a loop of parents through container i, if any: follows at most
 * n_containers links. */
static int check_loop(struct dload *l, const struct directives *d, size_t i)
{
	size_t at = i;
	for (size_t step = 0; step < d->n_containers; step++) {
		const struct dcontainer *c = &d->containers[at].c;
		if (c->parent != DPARENT_CONTAINER)
			return 0;
		at = c->parent_index;
		if (at != i)
			continue;
		/* "a -> b -> a" */
		size_t size = 1, k = i;
		for (size_t s = 0; s <= step + 1; s++) {
			size += strlen(d->containers[k].name) + 4;
			k = d->containers[k].c.parent_index;
		}
		_cleanup_free_ char *chain = xcalloc(size, 1);
		k = i;
		for (size_t s = 0; s <= step + 1; s++) {
			if (s)
				strcat(chain, " -> ");
			strcat(chain, d->containers[k].name);
			k = d->containers[k].c.parent_index;
		}
		dload_push_key(l, "containers");
		dload_push_key(l, d->containers[i].name);
		push_parent_name(l, &d->containers[i].c);
		return dload_bad(l, "containers inherit from each other in a loop: %s", chain);
	}
	return 0;
}

static int link_containers(struct dload *l, struct directives *d)
{
	for (size_t i = 0; i < d->n_containers; i++) {
		struct dmark m = dload_push_key(l, "containers");
		dload_push_key(l, d->containers[i].name);
		if (link_one(l, d, &d->containers[i].c) < 0)
			return -1;
		dload_pop(l, m);
	}
	for (size_t i = 0; i < d->n; i++) {
		struct dmark m = dload_push_key(l, "directives");
		dload_push_index(l, i);
		if (link_one(l, d, &d->v[i].c) < 0)
			return -1;
		dload_pop(l, m);
	}
	for (size_t i = 0; i < d->n_containers; i++)
		if (check_loop(l, d, i) < 0)
			return -1;
	return 0;
}

/* ---- the document ---------------------------------------------------------------------- */

static int read_document(struct dload *l, struct directives *d)
{
	json_t *root = toml_doc_root(l->doc);
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		struct dmark m = dload_push_key(l, key);
		int rc;
		if (strcmp(key, "directives") == 0) {
			rc = read_directives(l, v, d);
		} else if (strcmp(key, "containers") == 0) {
			rc = read_containers(l, v, d);
		} else {
			dload_pop(l, m);
			return dload_unknown_field(l, key, top_keys, ARRAY_SIZE(top_keys));
		}
		if (rc < 0)
			return -1;
		dload_pop(l, m);
	}
	if (link_containers(l, d) < 0)
		return -1;
	directives_resolve_containers(d);
	return 0;
}

int directives_load(struct directives **out, const char *path, const char *default_text,
		    const struct filter_flavor *fl, struct err **err)
{
	*out = NULL;
	struct toml_doc *doc = NULL;
	int rc;
	if (path)
		rc = toml_parse_file(path, &doc, err);
	else
		rc = toml_parse(default_text ? default_text : "",
				default_text ? strlen(default_text) : 0, DEFAULT_NAME, &doc, err);
	if (rc < 0)
		return -1;
	struct directives *d = xcalloc(1, sizeof(*d));
	struct dload l = { .doc = doc, .fl = fl, .err = err };
	rc = read_document(&l, d);
	toml_doc_free(doc);
	if (rc < 0) {
		directives_free(d);
		return -1;
	}
	*out = d;
	return 0;
}

size_t directives_count(const struct directives *d)
{
	return d ? d->n : 0;
}

void directives_free(struct directives *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		filter_free(d->v[i].filter);
		free(d->v[i].filter_text);
		dcontainer_release(&d->v[i].c);
	}
	free(d->v);
	for (size_t i = 0; i < d->n_containers; i++) {
		free(d->containers[i].name);
		dcontainer_release(&d->containers[i].c);
		dacc_release(&d->containers[i].resolved);
	}
	free(d->containers);
	free(d);
}
