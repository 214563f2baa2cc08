/*
 * userns: writing a user namespace's id maps.
 *
 * An unprivileged process may map exactly one id: its own effective uid (and,
 * after denying setgroups, its own egid) in the parent namespace, to any id
 * inside. The launcher's child does this for itself right after clone3, so
 * these functions are async-signal-safe: no allocation, no stdio, errors as
 * -errno.
 */
#ifndef CONTAINER_USERNS_H
#define CONTAINER_USERNS_H

#include <stddef.h>
#include <sys/types.h>

enum userns_step {
	USERNS_SETGROUPS,   /* writing "deny" to /proc/<pid>/setgroups */
	USERNS_UID_MAP,
	USERNS_GID_MAP,
};

/* Names a step for error messages: "write uid_map". */
const char *userns_step_name(enum userns_step step);

/* Denies setgroups, then writes uid_map and gid_map (each text like
 * "1000 1000 1\n") of process pid, 0 meaning the caller. Returns 0, or -errno
 * with *failed naming the step. */
int userns_write_maps(pid_t pid, const char *uid_map, size_t uid_len,
                      const char *gid_map, size_t gid_len, enum userns_step *failed);

#endif
