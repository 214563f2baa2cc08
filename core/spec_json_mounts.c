/*
 * spec_json_mounts: mount objects (core/spec_json.h): the mount type, the
 * keys each type takes, absolute mount points and device lists.
 */
#include "core/spec_json_internal.h"

#include <stdio.h>

#include "core/cleanup.h"

static int read_devices(struct spec_reader *r, const json_t *v, unsigned *mask)
{
	if (!json_is_array(v))
		return spec_reader_wrong_type(r, v, "a list of device names");
	const char *names[DEVICE_COUNT];
	for (size_t i = 0; i < DEVICE_COUNT; i++)
		names[i] = job_device_name(1u << i);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = spec_reader_push_index(r, i), which = 0;
		if (spec_reader_choice(r, e, "device", names, DEVICE_COUNT, &which) < 0)
			return -1;
		*mask |= 1u << which;
		spec_reader_pop(r, old);
	}
	return 0;
}

static int read_mount_point(struct spec_reader *r, const json_t *obj, struct mount_spec *m)
{
	json_t *v = spec_json_opt(obj, "mount_point");
	if (!v)
		return spec_reader_missing(r, "mount_point", "give the absolute path inside the "
							     "container to mount on");
	size_t old = spec_reader_push_key(r, "mount_point");
	if (spec_reader_string(r, v, true, &m->mount_point) < 0)
		return -1;
	if (m->mount_point[0] != '/')
		return spec_reader_bad(r, "`%s` is not absolute: mount points are paths inside "
					  "the container and start with `/`",
				       m->mount_point);
	spec_reader_pop(r, old);
	return 0;
}

static int read_mount(struct spec_reader *r, const json_t *obj, struct mount_spec *m)
{
	if (!json_is_object(obj))
		return spec_reader_wrong_type(r, obj, "a mount object");
	json_t *type = spec_json_opt(obj, "type");
	if (!type) {
		_cleanup_free_ char *list = spec_json_join_names(spec_json_mount_types,
								 ARRAY_SIZE(spec_json_mount_types));
		_cleanup_free_ char *why = NULL;
		if (asprintf(&why, "say which kind of mount this is: %s", list) < 0)
			abort();
		return spec_reader_missing(r, "type", why);
	}
	size_t old = spec_reader_push_key(r, "type"), which = 0;
	if (spec_reader_choice(r, type, "mount type", spec_json_mount_types,
			       ARRAY_SIZE(spec_json_mount_types), &which) < 0)
		return -1;
	spec_reader_pop(r, old);
	m->kind = (enum mount_kind)which;
	static const char *const bind_keys[] = { "type", "mount_point", "local_path", "read_only" };
	static const char *const device_keys[] = { "type", "devices" };
	static const char *const plain_keys[] = { "type", "mount_point" };
	json_t *v;
	switch (m->kind) {
	case MOUNT_BIND:
		if (spec_reader_check_keys(r, obj, bind_keys, ARRAY_SIZE(bind_keys)) < 0 ||
		    read_mount_point(r, obj, m) < 0)
			return -1;
		if (!(v = spec_json_opt(obj, "local_path")))
			return spec_reader_missing(r, "local_path",
						   "give the client's path to mount, relative to "
						   "the project directory");
		old = spec_reader_push_key(r, "local_path");
		if (spec_reader_string(r, v, true, &m->local_path) < 0)
			return -1;
		spec_reader_pop(r, old);
		if ((v = spec_json_opt(obj, "read_only"))) {
			old = spec_reader_push_key(r, "read_only");
			if (spec_reader_bool(r, v, &m->read_only) < 0)
				return -1;
			spec_reader_pop(r, old);
		}
		return 0;
	case MOUNT_DEVICES:
		if (spec_reader_check_keys(r, obj, device_keys, ARRAY_SIZE(device_keys)) < 0)
			return -1;
		if (!(v = spec_json_opt(obj, "devices")))
			return spec_reader_missing(r, "devices", "list the devices to mount, e.g. "
								 "[\"null\", \"zero\"]");
		old = spec_reader_push_key(r, "devices");
		if (read_devices(r, v, &m->devices) < 0)
			return -1;
		spec_reader_pop(r, old);
		return 0;
	case MOUNT_DEVPTS:
	case MOUNT_MQUEUE:
	case MOUNT_PROC:
	case MOUNT_SYS:
	case MOUNT_TMP:
		if (spec_reader_check_keys(r, obj, plain_keys, ARRAY_SIZE(plain_keys)) < 0)
			return -1;
		return read_mount_point(r, obj, m);
	}
	return 0;
}

int spec_reader_mounts(struct spec_reader *r, const json_t *v, struct container_spec *c)
{
	if (!json_is_array(v))
		return spec_reader_wrong_type(r, v, "a list of mount objects");
	c->mounts = xcalloc(json_array_size(v), sizeof(*c->mounts));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = spec_reader_push_index(r, i);
		if (read_mount(r, e, &c->mounts[c->n_mounts++]) < 0)
			return -1;
		spec_reader_pop(r, old);
	}
	return 0;
}
