/*
 * spec: releasing job specs and naming their enum values.
 * See core/spec.h for the model itself.
 */
#include "core/spec.h"

#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"

/* Device names in the book's order; index i names bit (1u << i). */
static const char *const device_names[DEVICE_COUNT] = {
	"full", "fuse", "null", "random", "shm", "tty", "urandom", "zero",
};

unsigned job_device_from_name(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(device_names); i++)
		if (strcmp(device_names[i], name) == 0)
			return 1u << i;
	return 0;
}

const char *job_device_name(unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(device_names); i++)
		if (bit == 1u << i)
			return device_names[i];
	return NULL;
}

const char *mount_kind_name(enum mount_kind kind)
{
	switch (kind) {
	case MOUNT_BIND:
		return "bind";
	case MOUNT_DEVICES:
		return "devices";
	case MOUNT_DEVPTS:
		return "devpts";
	case MOUNT_MQUEUE:
		return "mqueue";
	case MOUNT_PROC:
		return "proc";
	case MOUNT_SYS:
		return "sys";
	case MOUNT_TMP:
		return "tmp";
	}
	return "unknown";
}

const char *network_mode_name(enum network_mode mode)
{
	switch (mode) {
	case NETWORK_DISABLED:
		return "disabled";
	case NETWORK_LOOPBACK:
		return "loopback";
	case NETWORK_LOCAL:
		return "local";
	}
	return "unknown";
}

static void free_strv(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void layer_spec_release(struct layer_spec *l)
{
	if (!l)
		return;
	free(l->path);
	free(l->glob);
	free_strv(l->paths, l->n_paths);
	for (size_t i = 0; i < l->n_symlinks; i++) {
		free(l->symlinks[i].link);
		free(l->symlinks[i].target);
	}
	free(l->symlinks);
	free(l->prefix.strip_prefix);
	free(l->prefix.prepend_prefix);
	memset(l, 0, sizeof(*l));
}

void mount_spec_release(struct mount_spec *m)
{
	if (!m)
		return;
	free(m->mount_point);
	free(m->local_path);
	memset(m, 0, sizeof(*m));
}

void env_spec_release(struct env_spec *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_vars; i++) {
		free(e->vars[i].name);
		free(e->vars[i].value);
	}
	free(e->vars);
	memset(e, 0, sizeof(*e));
}

static void release_layers(struct layer_spec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		layer_spec_release(&v[i]);
	free(v);
}

void container_spec_release(struct container_spec *c)
{
	if (!c)
		return;
	free(c->image.name);
	for (size_t i = 0; i < c->n_environment; i++)
		env_spec_release(&c->environment[i]);
	free(c->environment);
	release_layers(c->layers, c->n_layers);
	release_layers(c->added_layers, c->n_added_layers);
	for (size_t i = 0; i < c->n_mounts; i++)
		mount_spec_release(&c->mounts[i]);
	free(c->mounts);
	free(c->working_directory);
	memset(c, 0, sizeof(*c));
}

void fork_server_spec_release(struct fork_server_spec *f)
{
	if (!f)
		return;
	free(f->program);
	free_strv(f->arguments, f->n_arguments);
	memset(f, 0, sizeof(*f));
}

void job_spec_release(struct job_spec *spec)
{
	if (!spec)
		return;
	container_spec_release(&spec->container);
	fork_server_spec_release(&spec->fork_server);
	free(spec->program);
	free_strv(spec->arguments, spec->n_arguments);
	memset(spec, 0, sizeof(*spec));
}

bool job_spec_is_local_only(const struct job_spec *spec)
{
	const struct container_spec *c = &spec->container;
	if (spec->allocate_tty || c->network == NETWORK_LOCAL)
		return true;
	for (size_t i = 0; i < c->n_mounts; i++)
		if (c->mounts[i].kind == MOUNT_BIND)
			return true;
	return false;
}
