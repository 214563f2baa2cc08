/*
 * plan_exec: runs a compiled mount plan in the freshly cloned child.
 *
 * This file runs after clone3, possibly sharing memory with a parent that is
 * suspended in vfork fashion: it must not allocate, take locks or touch
 * stdio. It only reads the plan and makes system calls, one switch over the
 * operations (see container/plan_ops.h).
 */
#include "container/plan.h"
#include "container/plan_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *fs_type(enum plan_op_kind kind)
{
	switch (kind) {
	case PLAN_OP_HOLDER_TMPFS:
	case PLAN_OP_TMPFS:
		return "tmpfs";
	case PLAN_OP_ROOT_OVERLAY:
		return "overlay";
	case PLAN_OP_PROC:
		return "proc";
	case PLAN_OP_SYSFS:
		return "sysfs";
	case PLAN_OP_MQUEUE:
		return "mqueue";
	case PLAN_OP_DEVPTS:
		return "devpts";
	case PLAN_OP_MKDIR:
	case PLAN_OP_ROOT_BIND:
	case PLAN_OP_READONLY:
	case PLAN_OP_DEVICE:
	case PLAN_OP_BIND:
	case PLAN_OP_PIVOT_ROOT:
		break;
	}
	return NULL;
}

/* Moves into new_root and makes it "/": pivot_root(".", ".") stacks the old
 * root on top of the new one at "/", and detaching "." then drops it, so the
 * new root needs no directory to park the old one in. */
static int pivot_into(const char *new_root)
{
	if (chdir(new_root) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	if (umount2(".", MNT_DETACH) < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	return 0;
}

static int make_readonly(const struct plan_op_readonly *ro)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	unsigned flags = ro->recursive ? AT_RECURSIVE : 0;
	if (syscall(SYS_mount_setattr, AT_FDCWD, ro->path, flags, &attr, sizeof(attr)) < 0)
		return -errno;
	return 0;
}

static int run_op(const struct plan_op *op)
{
	int r = 0;
	switch (op->kind) {
	case PLAN_OP_HOLDER_TMPFS:
	case PLAN_OP_ROOT_OVERLAY:
	case PLAN_OP_PROC:
	case PLAN_OP_SYSFS:
	case PLAN_OP_TMPFS:
	case PLAN_OP_MQUEUE:
	case PLAN_OP_DEVPTS: {
		const char *type = fs_type(op->kind);
		r = mount(type, op->fs.target, type, op->fs.flags, op->fs.options);
		break;
	}
	case PLAN_OP_MKDIR:
		r = mkdir(op->mkdir.path, op->mkdir.mode);
		break;
	case PLAN_OP_ROOT_BIND:
	case PLAN_OP_DEVICE:
	case PLAN_OP_BIND:
		r = mount(op->bind.source, op->bind.target, NULL,
		          MS_BIND | (op->bind.recursive ? MS_REC : 0), NULL);
		break;
	case PLAN_OP_READONLY:
		return make_readonly(&op->readonly);
	case PLAN_OP_PIVOT_ROOT:
		return pivot_into(op->pivot.new_root);
	}
	return r < 0 ? -errno : 0;
}

int mount_plan_execute(const struct mount_plan *p, size_t *failed_op)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		int r = run_op(&p->ops[i]);
		if (r < 0) {
			*failed_op = i;
			return r;
		}
	}
	return 0;
}
