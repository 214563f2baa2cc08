/*
 * launch_child: the part of a launch that runs in the cloned child, and the
 * report it sends back when something fails. Private to launch.c and
 * launch_child.c; see container/launch.h for the sequence.
 *
 * Everything in struct launch_child is prepared by the parent before the
 * clone and only read by the child. In vfork mode the child reads it straight
 * from the parent's memory (the parent is suspended until exec); in fork mode
 * it reads its own copy.
 */
#ifndef CONTAINER_LAUNCH_CHILD_H
#define CONTAINER_LAUNCH_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/plan.h"

/* What the child was doing when it failed. */
enum launch_step {
	LAUNCH_STEP_USERNS = 1, /* index: enum userns_step */
	LAUNCH_STEP_LOOPBACK,
	LAUNCH_STEP_PLAN,       /* index: plan operation */
	LAUNCH_STEP_CHDIR,
	LAUNCH_STEP_SESSION,
	LAUNCH_STEP_STDIO,
	LAUNCH_STEP_SIGNALS,
	LAUNCH_STEP_EXEC,       /* program with a '/' */
	LAUNCH_STEP_EXEC_PATH,  /* program searched in PATH */
	LAUNCH_STEP_POOL_ENTER, /* index 0: holder user ns, 1: pooled network ns */
	LAUNCH_STEP_POOL_CLONE, /* the job's clone3 from inside them */
	LAUNCH_STEP_TTY,        /* TIOCSCTTY on stdin */
};

/* Written whole (one pipe write, atomic) by a failing child. */
struct launch_report {
	int32_t step;
	int32_t index;
	int32_t errnum;
};

struct launch_child {
	const struct mount_plan *plan;
	const char *program;
	char *const *argv;
	char *const *envp;
	const char *working_directory;   /* never NULL */
	const char *path;                /* PATH to search; NULL when program has a '/' */
	int stdio[3];
	int extra_fd;                    /* becomes LAUNCH_EXTRA_FD; -1: none */
	bool controlling_tty;            /* TIOCSCTTY on fd 0 after setsid */
	int report_fd;                   /* write end of the report pipe, close-on-exec */
	bool loopback;                   /* bring lo up */
	const char *uid_map, *gid_map;
	size_t uid_map_len, gid_map_len;

	/* Launches through a network-namespace pool only (container/netpool.h):
	 * the first child enters these, then clones the job. */
	int pool_userns_fd, pool_netns_fd;
	void *job_stack;                 /* the job's private stack */
	uint64_t job_flags;              /* the job's clone flags */
	int job_pidfd;                   /* out: the job's pidfd (in our fd table) */
	long job_pid;                    /* out: the job's pid, or -1 */
	char uid_buf[32], gid_buf[32];   /* maps to root of the holder namespace */
};

/* Functions whose frames never return run uninstrumented under ASan: on the
 * child's private stack ASan cannot tell the frames apart anyway. */
#define LAUNCH_CHILD_NOASAN __attribute__((no_sanitize_address))

/* Runs the child's side of a launch; never returns (execs, or reports and
 * exits 127). Takes a struct launch_child *. */
int launch_child_main(void *arg) LAUNCH_CHILD_NOASAN;

/* The first child of a pooled launch: shares our memory and fd table, enters
 * the slot's holder user namespace and network namespace, clones the job
 * (vfork style, CLONE_PARENT so that the job is our child) to run
 * launch_child_main, stores its pid and pidfd, and exits 0 (or reports and
 * exits 127). Takes a struct launch_child *. */
int launch_pooled_main(void *arg) LAUNCH_CHILD_NOASAN;

#endif
