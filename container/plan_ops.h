/*
 * plan_ops: the inside of a mount plan, shared by plan.c, plan_compile.c,
 * plan_resolve.c and plan_exec.c only. Everyone else sees struct mount_plan as
 * opaque (container/plan.h).
 *
 * A plan is data: one `enum plan_op_kind` plus one struct per kind, laid out
 * in an array that plan_exec.c runs with a single switch. Every string an op
 * points to lives in the plan's arena; `target` paths are absolute host paths
 * below the scratch directory (mount targets) or inside the new root after
 * pivot (none today).
 */
#ifndef CONTAINER_PLAN_OPS_H
#define CONTAINER_PLAN_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/spec.h"

enum plan_op_kind {
	PLAN_OP_HOLDER_TMPFS, /* fs: tmpfs on the scratch dir holding upper/ and work/ */
	PLAN_OP_MKDIR,        /* mkdir: upper/ and work/ in the holder */
	PLAN_OP_ROOT_OVERLAY, /* fs: overlay of the layers on the scratch dir */
	PLAN_OP_ROOT_BIND,    /* bind: the single layer on the scratch dir */
	PLAN_OP_READONLY,     /* readonly: mount_setattr(MOUNT_ATTR_RDONLY) */
	PLAN_OP_PROC,         /* fs */
	PLAN_OP_SYSFS,        /* fs */
	PLAN_OP_TMPFS,        /* fs */
	PLAN_OP_MQUEUE,       /* fs */
	PLAN_OP_DEVPTS,       /* fs */
	PLAN_OP_DEVICE,       /* bind: /dev/<name> from the host */
	PLAN_OP_BIND,         /* bind: a host path (recursive) */
	PLAN_OP_PIVOT_ROOT,   /* pivot: chdir, pivot_root(".", "."), detach old root */
};

/* A file system created by mount(2). */
struct plan_op_fs {
	const char *target;
	const char *options;   /* mount data, or NULL */
	unsigned long flags;   /* MS_* */
};

struct plan_op_bind {
	const char *source;
	const char *target;
	bool recursive;        /* MS_REC: take submounts along */
};

struct plan_op_mkdir {
	const char *path;
	mode_t mode;
};

struct plan_op_readonly {
	const char *path;
	bool recursive;        /* AT_RECURSIVE: submounts too */
};

struct plan_op_pivot {
	const char *new_root;
};

struct plan_op {
	enum plan_op_kind kind;
	int mount_index;       /* index in container_desc.mounts; -1 for the root */
	bool unverified;       /* target is below an earlier mount: only checked at run time */
	const char *what;      /* "mount tmp on /tmp": error-message prefix */
	union {
		struct plan_op_fs fs;
		struct plan_op_bind bind;
		struct plan_op_mkdir mkdir;
		struct plan_op_readonly readonly;
		struct plan_op_pivot pivot;
	};
};

struct mount_plan {
	struct arena arena;    /* owns the plan itself and everything below */
	struct plan_op *ops;
	size_t n_ops;
	enum network_mode network;
	bool writable_root;
	bool has_sysfs;        /* a sys mount: needs its own network namespace */
	uint32_t user, group;  /* ids inside the container */
	const char *scratch_dir;
	const char *uid_map, *gid_map;   /* "<inside> <outside> 1\n" */
	size_t uid_map_len, gid_map_len;
};

/* Resolves `path` (absolute, normalized, in the container) against the layer
 * stack the way overlayfs would look it up, following symlinks inside the
 * container. `layers` is bottom first. `covered` lists canonical targets of
 * earlier mounts: once the walk reaches one of them the rest of the path is
 * appended unchecked.
 * Returns 0 with *canon (malloc'd, "" for "/") and *mode (st_mode of the
 * final entry); 1 with *canon and *mode = 0 when the path lies below an
 * earlier mount; or -errno (ENOENT: missing in every layer; ENOTDIR, ELOOP,
 * ENAMETOOLONG, or an lstat error). */
int plan_resolve(const char *const *layers, size_t n_layers, const char *path,
                 const char *const *covered, size_t n_covered,
                 char **canon, mode_t *mode);

#endif
