/*
 * directives_apply: collapsing inheritance and folding directives (see
 * runners/directives.h for the rules).
 *
 * The accumulator (struct dacc) borrows every layer, environment element,
 * mount and string from the directives object, so folding copies only
 * pointers; the result is deep-copied once at the end.
 */
#include "runners/directives.h"

#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/xalloc.h"
#include "runners/directives_internal.h"

/* ---- borrowed-pointer arrays ------------------------------------------------------ */

static void dptrs_push(struct dptrs *p, const void *x)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		const void **v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			abort(); /* out of memory */
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = x;
}

static void dptrs_assign(struct dptrs *p, const void *base, size_t size, size_t n)
{
	p->n = 0;
	for (size_t i = 0; i < n; i++)
		dptrs_push(p, (const char *)base + i * size);
}

static void dptrs_append(struct dptrs *p, const void *base, size_t size, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dptrs_push(p, (const char *)base + i * size);
}

static void dptrs_copy(struct dptrs *dst, const struct dptrs *src)
{
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		dptrs_push(dst, src->v[i]);
}

void dacc_release(struct dacc *a)
{
	free(a->layers.v);
	free(a->env.v);
	free(a->mounts.v);
	memset(a, 0, sizeof(*a));
}

/* ---- the accumulator ------------------------------------------------------------- */

/* Field f back to its default (and no longer from the image). */
static void reset_field(struct dacc *a, enum dfield f)
{
	a->from_image &= ~DBIT(f);
	switch (f) {
	case DF_LAYERS:
		a->layers.n = 0;
		break;
	case DF_ENVIRONMENT:
		a->env.n = 0;
		break;
	case DF_MOUNTS:
		a->mounts.n = 0;
		break;
	case DF_WORKING_DIRECTORY:
		a->working_directory = NULL;
		break;
	case DF_WRITABLE:
		a->writable = false;
		break;
	case DF_NETWORK:
		a->network = NETWORK_DISABLED;
		break;
	case DF_USER:
		a->user = 0;
		break;
	case DF_GROUP:
		a->group = 0;
		break;
	case DF_COUNT:
		break;
	}
}

/* Makes image the accumulator's image: fields that came from a different
 * one start over. */
static void take_image(struct dacc *a, const char *image)
{
	if (a->image && strcmp(a->image, image) != 0)
		for (unsigned f = 0; f < DF_COUNT; f++)
			if (a->from_image & DBIT(f))
				reset_field(a, (enum dfield)f);
	a->image = image;
}

/* Field f as src has it. */
static void copy_field(struct dacc *a, const struct dacc *src, enum dfield f)
{
	if (src->from_image & DBIT(f)) {
		take_image(a, src->image);
		a->from_image |= DBIT(f);
	} else {
		a->from_image &= ~DBIT(f);
	}
	switch (f) {
	case DF_LAYERS:
		dptrs_copy(&a->layers, &src->layers);
		break;
	case DF_ENVIRONMENT:
		dptrs_copy(&a->env, &src->env);
		break;
	case DF_MOUNTS:
		dptrs_copy(&a->mounts, &src->mounts);
		break;
	case DF_WORKING_DIRECTORY:
		a->working_directory = src->working_directory;
		break;
	case DF_WRITABLE:
		a->writable = src->writable;
		break;
	case DF_NETWORK:
		a->network = src->network;
		break;
	case DF_USER:
		a->user = src->user;
		break;
	case DF_GROUP:
		a->group = src->group;
		break;
	case DF_COUNT:
		break;
	}
}

/* Folds one container part into a (steps 1 and 2 of runners/directives.h). */
static void apply_part(struct dacc *a, const struct dcontainer *c,
		       const struct named_container *containers)
{
	switch (c->parent) {
	case DPARENT_NONE:
		break;
	case DPARENT_IMAGE:
		take_image(a, c->parent_name);
		for (unsigned f = 0; f < DF_COUNT; f++) {
			if (!(c->use & DBIT(f)))
				continue;
			reset_field(a, (enum dfield)f);
			a->from_image |= DBIT(f);
		}
		break;
	case DPARENT_CONTAINER:
		for (unsigned f = 0; f < DF_COUNT; f++)
			if (c->use & DBIT(f))
				copy_field(a, &containers[c->parent_index].resolved, (enum dfield)f);
		break;
	}
	if (c->set & DBIT(DF_LAYERS)) {
		a->from_image &= ~DBIT(DF_LAYERS);
		dptrs_assign(&a->layers, c->layers, sizeof(*c->layers), c->n_layers);
	}
	dptrs_append(&a->layers, c->added_layers, sizeof(*c->added_layers), c->n_added_layers);
	if (c->set & DBIT(DF_ENVIRONMENT)) {
		a->from_image &= ~DBIT(DF_ENVIRONMENT);
		dptrs_assign(&a->env, c->env, sizeof(*c->env), c->n_env);
	}
	dptrs_append(&a->env, c->added_env, sizeof(*c->added_env), c->n_added_env);
	if (c->set & DBIT(DF_MOUNTS))
		dptrs_assign(&a->mounts, c->mounts, sizeof(*c->mounts), c->n_mounts);
	dptrs_append(&a->mounts, c->added_mounts, sizeof(*c->added_mounts), c->n_added_mounts);
	if (c->set & DBIT(DF_WORKING_DIRECTORY)) {
		a->from_image &= ~DBIT(DF_WORKING_DIRECTORY);
		a->working_directory = c->working_directory;
	}
	if (c->set & DBIT(DF_WRITABLE))
		a->writable = c->writable;
	if (c->set & DBIT(DF_NETWORK))
		a->network = c->network;
	if (c->set & DBIT(DF_USER))
		a->user = c->user;
	if (c->set & DBIT(DF_GROUP))
		a->group = c->group;
}

static void resolve(struct directives *d, size_t i)
{
	struct named_container *nc = &d->containers[i];
	if (nc->resolved_done)
		return;
	/* The loader refused loops, so this recursion ends. */
	if (nc->c.parent == DPARENT_CONTAINER)
		resolve(d, nc->c.parent_index);
	apply_part(&nc->resolved, &nc->c, d->containers);
	nc->resolved_done = true;
}

void directives_resolve_containers(struct directives *d)
{
	for (size_t i = 0; i < d->n_containers; i++)
		resolve(d, i);
}

/* ---- deep copies for the result ---------------------------------------------------- */

static void copy_layer(struct layer_spec *dst, const struct layer_spec *src)
{
	dst->kind = src->kind;
	dst->path = xstrdup_or_null(src->path);
	dst->glob = xstrdup_or_null(src->glob);
	if (src->paths) {
		dst->paths = xcalloc(src->n_paths + 1, sizeof(*dst->paths));
		for (size_t i = 0; i < src->n_paths; i++)
			dst->paths[i] = xstrdup_or_null(src->paths[i]);
		dst->n_paths = src->n_paths;
	}
	if (src->symlinks) {
		dst->symlinks = xcalloc(src->n_symlinks, sizeof(*dst->symlinks));
		for (size_t i = 0; i < src->n_symlinks; i++) {
			dst->symlinks[i].link = xstrdup_or_null(src->symlinks[i].link);
			dst->symlinks[i].target = xstrdup_or_null(src->symlinks[i].target);
		}
		dst->n_symlinks = src->n_symlinks;
	}
	dst->prefix.strip_prefix = xstrdup_or_null(src->prefix.strip_prefix);
	dst->prefix.prepend_prefix = xstrdup_or_null(src->prefix.prepend_prefix);
	dst->prefix.canonicalize = src->prefix.canonicalize;
	dst->prefix.follow_symlinks = src->prefix.follow_symlinks;
}

static void copy_env(struct env_spec *dst, const struct env_spec *src)
{
	dst->vars = xcalloc(src->n_vars, sizeof(*dst->vars));
	for (size_t i = 0; i < src->n_vars; i++) {
		dst->vars[i].name = xstrdup_or_null(src->vars[i].name);
		dst->vars[i].value = xstrdup_or_null(src->vars[i].value);
	}
	dst->n_vars = src->n_vars;
	dst->extend = src->extend;
}

static void copy_mount(struct mount_spec *dst, const struct mount_spec *src)
{
	*dst = *src;
	dst->mount_point = xstrdup_or_null(src->mount_point);
	dst->local_path = xstrdup_or_null(src->local_path);
}

static struct layer_spec *copy_layers(const struct dptrs *p)
{
	struct layer_spec *v = xcalloc(p->n, sizeof(*v));
	for (size_t i = 0; i < p->n; i++)
		copy_layer(&v[i], p->v[i]);
	return v;
}

/* The accumulator as a container spec, in the job-spec conventions of
 * runners/directives.h. */
static void build_container(const struct dacc *a, struct container_spec *c)
{
	if (a->from_image) {
		c->image.name = xstrdup_or_null(a->image);
		c->image.use_layers = a->from_image & DBIT(DF_LAYERS);
		c->image.use_environment = a->from_image & DBIT(DF_ENVIRONMENT);
		c->image.use_working_directory = a->from_image & DBIT(DF_WORKING_DIRECTORY);
	}
	if (c->image.use_layers) {
		c->added_layers = copy_layers(&a->layers);
		c->n_added_layers = a->layers.n;
	} else {
		c->layers = copy_layers(&a->layers);
		c->n_layers = a->layers.n;
	}
	c->environment = xcalloc(a->env.n, sizeof(*c->environment));
	for (size_t i = 0; i < a->env.n; i++)
		copy_env(&c->environment[i], a->env.v[i]);
	c->n_environment = a->env.n;
	c->mounts = xcalloc(a->mounts.n, sizeof(*c->mounts));
	for (size_t i = 0; i < a->mounts.n; i++)
		copy_mount(&c->mounts[i], a->mounts.v[i]);
	c->n_mounts = a->mounts.n;
	c->network = a->network;
	c->enable_writable_file_system = a->writable;
	c->working_directory = xstrdup_or_null(a->working_directory);
	c->user = a->user;
	c->group = a->group;
}

/* ---- applying ---------------------------------------------------------------------- */

int directives_apply(const struct directives *d, filter_lookup_fn *lookup,
		     filter_simple_fn *simple, void *arg, struct directive_result *out,
		     struct err **err)
{
	memset(out, 0, sizeof(*out));
	out->fork_server = true;
	struct dacc a = { 0 };
	int include_shared = -1;
	for (size_t i = 0; i < d->n; i++) {
		const struct directive *dir = &d->v[i];
		if (dir->filter) {
			enum filter_value v = filter_eval(dir->filter, lookup, simple, arg);
			if (v == FILTER_UNKNOWN) {
				dacc_release(&a);
				return err_set(err, 0,
					       "directives[%zu]: cannot tell whether filter `%s` "
					       "matches this test: some selector's value is unknown",
					       i, dir->filter_text);
			}
			if (v == FILTER_FALSE)
				continue;
		}
		apply_part(&a, &dir->c, d->containers);
		if (dir->include_shared_libraries >= 0)
			include_shared = dir->include_shared_libraries;
		if (dir->ignore >= 0)
			out->ignore = dir->ignore;
		if (dir->fork_server >= 0)
			out->fork_server = dir->fork_server;
		if (dir->has_timeout)
			out->timeout_s = dir->timeout_s;
	}
	build_container(&a, &out->container);
	dacc_release(&a);
	out->include_shared_libraries =
		include_shared >= 0 ? include_shared : out->container.image.name == NULL;
	return 0;
}

void directive_result_release(struct directive_result *r)
{
	if (!r)
		return;
	container_spec_release(&r->container);
	memset(r, 0, sizeof(*r));
}
