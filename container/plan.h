/*
 * plan: a container's shape, checked and compiled ahead of time into a mount
 * plan that a freshly cloned child runs without allocating anything.
 *
 * The executor describes a fully resolved container (layer directories,
 * mounts, network, writable root, user and group) and compiles it once per
 * shape, in the parent, before any clone:
 *
 *     struct mount_plan *plan;
 *     if (mount_plan_compile(&plan, &desc, scratch_dir, err) < 0)
 *         return -1;                      user error: bad spec
 *     ... container_launch() as many jobs as you like with it ...
 *     mount_plan_free(plan);
 *
 * Compiling validates the description against the layers and the host:
 *   - every mount point is absolute and exists in some layer (looked up top
 *     layer first, as overlayfs would, following symlinks *inside* the
 *     container so that a mount never lands on a host path); a mount point
 *     below an earlier mount is only checked when the job runs;
 *   - a devices mount needs /dev/<name> in the layers and on the host;
 *   - a bind mount's local path exists on the host (relative paths are taken
 *     from bind_base_dir) and is a directory exactly when its mount point is;
 *   - a sys mount and network "local" cannot be combined.
 * Mounts are numbered from 0 in messages, in the order given.
 *
 * It then lays out an array of operations (see container/plan_ops.h) with
 * every path and option string precomputed in one arena:
 *   root    overlay of the layers (top layer first in lowerdir), read-only;
 *           or, for a single layer, a bind mount made read-only; or, with
 *           writable_root, a tmpfs holding upper/ and work/ and an overlay
 *           using them;
 *   mounts  proc, sysfs, tmpfs, mqueue, devpts (newinstance,ptmxmode=0666),
 *           device binds from the host's /dev, bind mounts (made read-only
 *           when asked), in the order given, below the new root;
 *   pivot   pivot_root(".", ".") in the new root, then the old root detached.
 * plus the uid/gid map lines ("<user> <host euid> 1").
 *
 * Ownership: a plan is immutable after compile and owns all its memory (one
 * arena); it keeps no pointer into the container_desc. It may be shared by any
 * number of launches, and must outlive every launch in progress.
 */
#ifndef CONTAINER_PLAN_H
#define CONTAINER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/spec.h"

/* A fully resolved container: everything is local and concrete. */
struct container_desc {
	const char *const *layer_dirs;   /* extracted layer directories, bottom layer first */
	size_t n_layer_dirs;
	const struct mount_spec *mounts; /* core/spec.h; applied in order */
	size_t n_mounts;
	enum network_mode network;       /* core/spec.h */
	bool writable_root;              /* enable_writable_file_system: tmpfs upper */
	uint32_t user, group;            /* ids inside the container */
	const char *bind_base_dir;       /* relative bind local_path is relative to this */
};

struct mount_plan; /* opaque; immutable after compile; one block of memory (core/arena.h) */

/* Validates and compiles. scratch_dir is an existing directory the launcher may
 * use as the mount point of the new root (each container has its own mount
 * namespace, so all containers can share it). Errors are user errors with
 * clear messages, e.g.
 *   "mount 2 (proc): mount point /proc does not exist in the layers; add it
 *    with a stubs layer such as { \"stubs\": [\"/proc/\"] }",
 *   "mounts sys and network \"local\" cannot be combined".
 * Layer directories and scratch_dir must be absolute, and may not contain
 * ',', ':' or '\\' (they go into overlayfs options). On failure *out is NULL. */
int mount_plan_compile(struct mount_plan **out, const struct container_desc *d,
                       const char *scratch_dir, struct err **err);

/* Frees the plan. Safe on NULL. */
void mount_plan_free(struct mount_plan *p);

/* A stable hash of the shape (every field of d, strings by content), so
 * executors can cache plans per shape. Equal descriptions hash equal. */
uint64_t container_desc_hash(const struct container_desc *d);

/* ---- for the launcher ------------------------------------------------------- */

/* The network mode the plan was compiled for (decides CLONE_NEWNET and
 * whether loopback is brought up). */
enum network_mode mount_plan_network(const struct mount_plan *p);

/* True when the job may run in a network namespace made ahead of time and
 * owned by someone else (container/netpool.h): it has one (network is not
 * "local") and needs no capability over it (no sys mount). */
bool mount_plan_can_share_netns(const struct mount_plan *p);

/* The job's user and group inside the container. */
uint32_t mount_plan_user(const struct mount_plan *p);
uint32_t mount_plan_group(const struct mount_plan *p);

/* The text to write to the child's /proc/self/uid_map and gid_map, e.g.
 * "1000 0 1\n", and its length. */
const char *mount_plan_uid_map(const struct mount_plan *p, size_t *len);
const char *mount_plan_gid_map(const struct mount_plan *p, size_t *len);

/* Number of operations, and what operation i does, phrased as the start of an
 * error message: "mount tmp on /tmp", "pivot_root into /scratch". */
size_t mount_plan_op_count(const struct mount_plan *p);
const char *mount_plan_op_what(const struct mount_plan *p, size_t i);

/* True when operation i failing with errnum is the spec's fault (a mount
 * point missing at run time, below an earlier mount), not the machine's. */
bool mount_plan_op_is_spec_error(const struct mount_plan *p, size_t i, int errnum);

/* Runs the plan in the calling process, which must be the freshly cloned
 * child in its own user and mount namespaces. Async-signal-safe: no
 * allocation, no locks. Returns 0, or -errno with *failed_op set to the index
 * of the operation that failed. On success the cwd is the new root "/". */
int mount_plan_execute(const struct mount_plan *p, size_t *failed_op);

/* A readable listing of the plan, one operation per line, for tests and
 * `-L debug`. The caller frees the string. */
char *mount_plan_dump(const struct mount_plan *p);

#endif
