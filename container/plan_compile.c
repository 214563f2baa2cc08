/*
 * plan_compile: checks a container_desc against its layers and the host, and
 * lays out the operations of its mount plan. Runs in the parent, before any
 * clone; see container/plan.h for the rules and container/plan_ops.h for
 * the layout.
 */
#include "container/plan.h"
#include "container/plan_ops.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

/* Legacy mount(2) data is copied into one page. */
#define MOUNT_DATA_MAX 4095

struct compiler {
	const struct container_desc *d;
	struct mount_plan *p;
	struct arena *a;
	size_t cap;                 /* room in p->ops */
	char **covered;             /* canonical targets of earlier mounts (malloc'd) */
	size_t n_covered;
};

static struct plan_op *add_op(struct compiler *c, enum plan_op_kind kind, int mount_index)
{
	if (c->p->n_ops == c->cap)
		abort(); /* the bound in count_ops() is wrong: a bug, not a user error */
	struct plan_op *op = &c->p->ops[c->p->n_ops++];
	op->kind = kind;
	op->mount_index = mount_index;
	return op;
}

static size_t count_ops(const struct container_desc *d)
{
	size_t n = 4 + 1; /* root: holder, 2 mkdirs, overlay (or bind + readonly); pivot */
	for (size_t i = 0; i < d->n_mounts; i++) {
		switch (d->mounts[i].kind) {
		case MOUNT_BIND:
			n += 2;
			break;
		case MOUNT_DEVICES:
			n += (size_t)__builtin_popcount(d->mounts[i].devices);
			break;
		case MOUNT_DEVPTS:
		case MOUNT_MQUEUE:
		case MOUNT_PROC:
		case MOUNT_SYS:
		case MOUNT_TMP:
			n += 1;
			break;
		}
	}
	return n;
}

/* Characters that cannot appear in an overlayfs lowerdir/upperdir option. */
static bool bad_option_path(const char *path)
{
	return strpbrk(path, ",:\\\n") != NULL;
}

/* True when path is dir or lies below it (textually). */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int check_dir(const char *what, size_t i, const char *path, bool indexed, struct err **err)
{
	struct stat st;
	char label[64];
	if (indexed)
		snprintf(label, sizeof(label), "%s %zu", what, i);
	else
		snprintf(label, sizeof(label), "%s", what);
	if (!path || path[0] != '/')
		return err_set(err, 0, "%s: directory %s is not an absolute path", label,
		               path ? path : "(null)");
	if (bad_option_path(path))
		return err_set(err, 0, "%s: directory %s contains ',', ':', '\\' or a newline, "
		               "which overlayfs options cannot carry; move it", label, path);
	if (stat(path, &st) < 0)
		return err_set(err, errno, "%s: directory %s", label, path);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, ENOTDIR, "%s: %s", label, path);
	return 0;
}

static int compile_root(struct compiler *c, struct err **err)
{
	const struct container_desc *d = c->d;
	struct mount_plan *p = c->p;
	struct arena *a = c->a;
	const char *s = p->scratch_dir;

	/* lowerdir lists the top layer first. */
	size_t len = strlen("lowerdir=");
	for (size_t i = 0; i < d->n_layer_dirs; i++)
		len += strlen(d->layer_dirs[i]) + 1;
	char *lower = arena_alloc(a, len + 1, 1);
	char *q = stpcpy(lower, "lowerdir=");
	for (size_t i = d->n_layer_dirs; i-- > 0;) {
		q = stpcpy(q, d->layer_dirs[i]);
		if (i > 0)
			*q++ = ':';
	}
	*q = '\0';

	if (d->writable_root) {
		struct plan_op *op = add_op(c, PLAN_OP_HOLDER_TMPFS, -1);
		op->what = arena_sprintf(a, "mount tmpfs for the writable root on %s", s);
		op->fs.target = s;
		op->fs.options = "mode=0755";
		op->fs.flags = MS_NOSUID | MS_NODEV;
		const char *upper = arena_sprintf(a, "%s/upper", s);
		const char *work = arena_sprintf(a, "%s/work", s);
		op = add_op(c, PLAN_OP_MKDIR, -1);
		op->what = arena_sprintf(a, "mkdir %s", upper);
		op->mkdir.path = upper;
		op->mkdir.mode = 0755;
		op = add_op(c, PLAN_OP_MKDIR, -1);
		op->what = arena_sprintf(a, "mkdir %s", work);
		op->mkdir.path = work;
		op->mkdir.mode = 0755;
		op = add_op(c, PLAN_OP_ROOT_OVERLAY, -1);
		op->what = arena_sprintf(a, "mount writable overlay root of %zu layer%s on %s",
		                         d->n_layer_dirs, d->n_layer_dirs == 1 ? "" : "s", s);
		/* userxattr: in a user namespace overlayfs may only use user.*
		 * xattrs; without it whiteouts and opaque directories misbehave. */
		op->fs.target = s;
		op->fs.options = arena_sprintf(a, "%s,upperdir=%s,workdir=%s,userxattr",
		                               lower, upper, work);
		op->fs.flags = 0;
	} else if (d->n_layer_dirs == 1) {
		struct plan_op *op = add_op(c, PLAN_OP_ROOT_BIND, -1);
		op->what = arena_sprintf(a, "bind layer %s as the root on %s", d->layer_dirs[0], s);
		op->bind.source = arena_strdup(a, d->layer_dirs[0]);
		op->bind.target = s;
		op->bind.recursive = false;
		op = add_op(c, PLAN_OP_READONLY, -1);
		op->what = arena_sprintf(a, "make the root %s read-only", s);
		op->readonly.path = s;
		op->readonly.recursive = false;
	} else {
		struct plan_op *op = add_op(c, PLAN_OP_ROOT_OVERLAY, -1);
		op->what = arena_sprintf(a, "mount overlay root of %zu layers on %s",
		                         d->n_layer_dirs, s);
		op->fs.target = s;
		op->fs.options = lower;
		op->fs.flags = MS_RDONLY;
	}
	for (size_t i = 0; i < p->n_ops; i++) {
		if (p->ops[i].kind == PLAN_OP_ROOT_OVERLAY && strlen(p->ops[i].fs.options) > MOUNT_DATA_MAX)
			return err_set(err, 0, "too many layers for one overlay mount: the options take "
			               "%zu bytes, more than the %d a mount accepts; use fewer layers "
			               "or a shorter cache path", strlen(p->ops[i].fs.options),
			               MOUNT_DATA_MAX);
	}
	return 0;
}

/* A stubs-layer hint for a missing mount point. */
static const char *stub_hint(struct arena *a, const char *path, bool dir)
{
	return arena_sprintf(a, "add it with a stubs layer such as { \"stubs\": [\"%s%s\"] }",
	                     path, dir ? "/" : "");
}

/* Resolves a mount point of mount i in the layers. `device` names the device
 * of a devices mount (NULL otherwise). Returns 0 (verified, *mode set), 1
 * (below an earlier mount), or -1 with *err set. */
static int resolve_point(struct compiler *c, size_t i, const char *kind, const char *device,
                         const char *path, bool want_dir, const char **target, mode_t *mode,
                         struct err **err)
{
	_cleanup_free_ char *canon = NULL;
	int r = plan_resolve(c->d->layer_dirs, c->d->n_layer_dirs, path,
	                     (const char *const *)c->covered, c->n_covered, &canon, mode);
	if (r == -ENOENT && device)
		return err_set(err, 0, "mount %zu (devices): device %s needs %s in the layers; %s",
		               i, device, path, stub_hint(c->a, path, want_dir));
	if (r == -ENOENT)
		return err_set(err, 0, "mount %zu (%s): mount point %s does not exist in the layers; %s",
		               i, kind, path, stub_hint(c->a, path, want_dir));
	if (r < 0)
		return err_set(err, -r, "mount %zu (%s): mount point %s cannot be looked up in the layers",
		               i, kind, path);
	if (r == 0 && want_dir && !S_ISDIR(*mode))
		return err_set(err, 0, "mount %zu (%s): mount point %s is not a directory in the layers",
		               i, kind, path);
	if (r == 0 && !want_dir && S_ISDIR(*mode))
		return err_set(err, 0, "mount %zu (%s): mount point %s is a directory in the layers, "
		               "but what is mounted on it is not", i, kind, path);
	*target = arena_sprintf(c->a, "%s%s", c->p->scratch_dir, canon);
	c->covered = realloc(c->covered, (c->n_covered + 1) * sizeof(*c->covered));
	if (!c->covered)
		abort();
	c->covered[c->n_covered++] = steal_pointer(&canon);
	return r;
}

static bool normalized_absolute(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const char *s = path; *s;) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
	}
	return true;
}

static int compile_devices(struct compiler *c, size_t i, struct err **err)
{
	unsigned mask = c->d->mounts[i].devices;
	for (unsigned bit = 1; bit && bit <= mask; bit <<= 1) {
		if (!(mask & bit))
			continue;
		const char *name = job_device_name(bit);
		if (!name)
			return err_set(err, 0, "mount %zu (devices): unknown device bit 0x%x", i, bit);
		const char *host = arena_sprintf(c->a, "/dev/%s", name);
		struct stat st;
		if (stat(host, &st) < 0)
			return err_set(err, errno, "mount %zu (devices): host device %s", i, host);
		bool dir = S_ISDIR(st.st_mode);  /* shm is a directory */
		const char *target;
		mode_t mode;
		int r = resolve_point(c, i, "devices", name, host, dir, &target, &mode, err);
		if (r < 0)
			return -1;
		struct plan_op *op = add_op(c, PLAN_OP_DEVICE, (int)i);
		op->what = arena_sprintf(c->a, "mount device %s on %s", name, host);
		op->unverified = r == 1;
		op->bind.source = host;
		op->bind.target = target;
		op->bind.recursive = false;
	}
	return 0;
}

static int compile_bind(struct compiler *c, size_t i, struct err **err)
{
	const struct mount_spec *m = &c->d->mounts[i];
	const char *local = m->local_path;
	if (!local || !*local)
		return err_set(err, 0, "mount %zu (bind): local_path is missing", i);
	if (local[0] != '/') {
		if (!c->d->bind_base_dir)
			return err_set(err, 0, "mount %zu (bind): local path %s is relative, and there "
			               "is no project directory to take it from", i, local);
		local = arena_sprintf(c->a, "%s/%s", c->d->bind_base_dir, local);
	} else {
		local = arena_strdup(c->a, local);
	}
	struct stat st;
	if (stat(local, &st) < 0)
		return err_set(err, errno, "mount %zu (bind): local path %s", i, local);
	if (path_within(local, c->p->scratch_dir))
		return err_set(err, 0, "mount %zu (bind): local path %s is inside the scratch "
		               "directory %s, which the container's root covers", i, local,
		               c->p->scratch_dir);
	const char *target;
	mode_t mode;
	int r = resolve_point(c, i, "bind", NULL, m->mount_point, S_ISDIR(st.st_mode), &target, &mode, err);
	if (r < 0)
		return -1;
	struct plan_op *op = add_op(c, PLAN_OP_BIND, (int)i);
	op->what = arena_sprintf(c->a, "mount bind %s on %s", local, m->mount_point);
	op->unverified = r == 1;
	op->bind.source = local;
	op->bind.target = target;
	op->bind.recursive = true;
	if (m->read_only) {
		op = add_op(c, PLAN_OP_READONLY, (int)i);
		op->what = arena_sprintf(c->a, "make bind mount %s read-only", m->mount_point);
		op->readonly.path = target;
		op->readonly.recursive = true;
	}
	return 0;
}

static int compile_fs(struct compiler *c, size_t i, struct err **err)
{
	const struct mount_spec *m = &c->d->mounts[i];
	const char *kind = mount_kind_name(m->kind);
	enum plan_op_kind op_kind;
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	const char *options = NULL;

	switch (m->kind) {
	case MOUNT_PROC:
		op_kind = PLAN_OP_PROC;
		break;
	case MOUNT_SYS:
		op_kind = PLAN_OP_SYSFS;
		c->p->has_sysfs = true;
		break;
	case MOUNT_TMP:
		op_kind = PLAN_OP_TMPFS;
		flags = MS_NOSUID | MS_NODEV;    /* jobs may run what they write to /tmp */
		break;
	case MOUNT_MQUEUE:
		op_kind = PLAN_OP_MQUEUE;
		break;
	case MOUNT_DEVPTS:
		op_kind = PLAN_OP_DEVPTS;
		flags = MS_NOSUID | MS_NOEXEC;
		options = "newinstance,ptmxmode=0666,mode=0620";
		break;
	case MOUNT_BIND:
	case MOUNT_DEVICES:
	default:
		return err_set(err, 0, "mount %zu: internal error: kind %d is not a file system", i,
		               (int)m->kind);
	}
	const char *target;
	mode_t mode;
	int r = resolve_point(c, i, kind, NULL, m->mount_point, true, &target, &mode, err);
	if (r < 0)
		return -1;
	struct plan_op *op = add_op(c, op_kind, (int)i);
	op->what = arena_sprintf(c->a, "mount %s on %s", kind, m->mount_point);
	op->unverified = r == 1;
	op->fs.target = target;
	op->fs.options = options;
	op->fs.flags = flags;
	return 0;
}

static int compile_mounts(struct compiler *c, struct err **err)
{
	const struct container_desc *d = c->d;
	for (size_t i = 0; i < d->n_mounts; i++) {
		const struct mount_spec *m = &d->mounts[i];
		if (m->kind == MOUNT_SYS && d->network == NETWORK_LOCAL)
			return err_set(err, 0, "mounts sys and network \"local\" cannot be combined "
			               "(sysfs needs the job's own network namespace); drop the sys "
			               "mount or use network \"loopback\"");
	}
	for (size_t i = 0; i < d->n_mounts; i++) {
		const struct mount_spec *m = &d->mounts[i];
		if (m->kind != MOUNT_DEVICES && !normalized_absolute(m->mount_point))
			return err_set(err, 0, "mount %zu (%s): mount point %s must be an absolute path "
			               "without . or .. components", i, mount_kind_name(m->kind),
			               m->mount_point ? m->mount_point : "(missing)");
		int r;
		switch (m->kind) {
		case MOUNT_BIND:
			r = compile_bind(c, i, err);
			break;
		case MOUNT_DEVICES:
			r = compile_devices(c, i, err);
			break;
		case MOUNT_DEVPTS:
		case MOUNT_MQUEUE:
		case MOUNT_PROC:
		case MOUNT_SYS:
		case MOUNT_TMP:
			r = compile_fs(c, i, err);
			break;
		default:
			r = err_set(err, 0, "mount %zu: unknown kind %d", i, (int)m->kind);
			break;
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

static int compile(struct compiler *c, const char *scratch_dir, struct err **err)
{
	const struct container_desc *d = c->d;
	struct mount_plan *p = c->p;

	if (d->n_layer_dirs == 0)
		return err_set(err, 0, "a container needs at least one layer");
	if (check_dir("scratch", 0, scratch_dir, false, err) < 0)
		return -1;
	for (size_t i = 0; i < d->n_layer_dirs; i++) {
		if (check_dir("layer", i, d->layer_dirs[i], true, err) < 0)
			return -1;
		if (path_within(d->layer_dirs[i], scratch_dir))
			return err_set(err, 0, "layer %zu: directory %s is inside the scratch directory "
			               "%s, which the container's root covers", i, d->layer_dirs[i],
			               scratch_dir);
	}
	p->scratch_dir = arena_strdup(c->a, scratch_dir);
	p->network = d->network;
	p->writable_root = d->writable_root;
	p->user = d->user;
	p->group = d->group;
	if (compile_root(c, err) < 0 || compile_mounts(c, err) < 0)
		return -1;
	struct plan_op *op = add_op(c, PLAN_OP_PIVOT_ROOT, -1);
	op->what = arena_sprintf(c->a, "pivot_root into %s", p->scratch_dir);
	op->pivot.new_root = p->scratch_dir;

	/* One id each: the job's user and group are us on the host. */
	char *map = arena_sprintf(c->a, "%u %u 1\n", d->user, (unsigned)geteuid());
	p->uid_map = map;
	p->uid_map_len = strlen(map);
	map = arena_sprintf(c->a, "%u %u 1\n", d->group, (unsigned)getegid());
	p->gid_map = map;
	p->gid_map_len = strlen(map);
	return 0;
}

int mount_plan_compile(struct mount_plan **out, const struct container_desc *d,
                       const char *scratch_dir, struct err **err)
{
	struct arena a;
	arena_init(&a);
	struct mount_plan *p = arena_alloc(&a, sizeof(*p), _Alignof(struct mount_plan));
	struct compiler c = { .d = d, .p = p, .a = &a, .cap = count_ops(d) };
	p->ops = arena_alloc(&a, c.cap * sizeof(*p->ops), _Alignof(struct plan_op));

	*out = NULL;
	int r = compile(&c, scratch_dir, err);
	for (size_t i = 0; i < c.n_covered; i++)
		free(c.covered[i]);
	free(c.covered);
	if (r < 0) {
		arena_release(&a);
		return -1;
	}
	p->arena = a;  /* chunks never move: the plan now owns the arena it lives in */
	*out = p;
	if (log_get_level() >= LOG_DEBUG) {
		_cleanup_free_ char *dump = mount_plan_dump(p);
		log_debug("compiled mount plan:\n%s", dump);
	}
	return 0;
}
