/*
 * launch: starting one job in a container, from a compiled mount plan.
 *
 * container_launch() clones a child into new user, mount, PID, IPC and UTS
 * namespaces (and a network namespace unless the plan's network is "local"),
 * with a pidfd. The child, sharing the caller's memory in vfork fashion on a
 * small stack of its own (so the cost does not grow with the caller's size),
 * and without allocating:
 *   1. denies setgroups and maps the job's user/group to our euid/egid;
 *   2. brings loopback up by rtnetlink when the network is "loopback";
 *   3. runs the mount plan (root, mounts, pivot_root);
 *   4. changes to the working directory, becomes session leader;
 *   5. moves the request's fds to 0, 1, 2 (and the optional extra fd to 3),
 *      closes every other fd on exec, and makes stdin its controlling
 *      terminal when asked (interactive jobs);
 *   6. resets signal dispositions to default and unblocks every signal;
 *   7. execs the program, searching the PATH of the job's own environment
 *      when the program has no '/' (like execvpe, but never our PATH).
 * A failure in the child is sent as (step, operation index, errno) through a
 * close-on-exec pipe, and the child exits 127; end-of-file on that pipe means
 * the exec succeeded. The parent turns a report into an error message:
 *   "mount tmp on /tmp: No such file or directory"
 *   "exec `nope`: not found in PATH (/usr/bin:/bin)"
 *
 * The job is PID 1 of its PID namespace: when it exits, or is killed through
 * its pidfd (container_kill), the kernel kills everything it started.
 *
 * Network namespaces cost most of a launch (making one, then the kernel's
 * teardown, with stalls of several ms). With launch_request.netns_pool set,
 * a plan that allows it runs in a namespace made ahead of time and reused
 * (container/netpool.h): a first child enters the pool's namespaces and
 * clones the job from there (CLONE_PARENT: the job is still our child).
 * Without a pool, or when the pool is full, each job gets a fresh one.
 *
 * Signals: all signals are blocked in the caller for the few microseconds of
 * the clone, so that no handler of the caller ever runs in the child; the
 * caller's mask is restored before container_launch returns.
 *
 * Not thread-safe against concurrent launches from several threads (every
 * process here is single-threaded); a launch blocks the caller until the
 * child has exec'd or failed (about a millisecond).
 */
#ifndef CONTAINER_LAUNCH_H
#define CONTAINER_LAUNCH_H

#include <sys/types.h>

#include "container/netpool.h"
#include "container/plan.h"
#include "core/err.h"

struct launch_request {
	const struct mount_plan *plan;
	const char *program;             /* bare name -> searched in envp's PATH inside the root */
	const char *const *argv;         /* argv[0] included, NULL-terminated */
	const char *const *envp;         /* NULL-terminated "K=V" */
	const char *working_directory;   /* NULL = "/" */
	int stdin_fd, stdout_fd, stderr_fd;  /* parent fds, become 0/1/2 in the job */
	/* Optional: take the network namespace from this pool when the plan
	 * allows (container/netpool.h); NULL makes a fresh one per job. */
	struct netns_pool *netns_pool;
	/* Optional: a parent fd that becomes LAUNCH_EXTRA_FD in the job (a fork
	 * server's socket, container/forkserver.h). 0 or negative passes
	 * nothing, so a zeroed request passes nothing (fd 0 is never worth
	 * passing). Not closed. */
	int extra_fd;
	/* Optional: stdin_fd is the slave side of a pseudo-terminal; after
	 * setsid the job makes it its controlling terminal (TIOCSCTTY), so
	 * that it gets the terminal's signals and job control. */
	bool controlling_tty;
};

/* The fd number launch_request.extra_fd gets in the job. */
#define LAUNCH_EXTRA_FD 3

struct launch_result {
	int pidfd;      /* owned by the caller; the job is PID 1 of its own PID namespace */
	pid_t pid;      /* as seen from the caller's PID namespace */
};

enum launch_failure {
	LAUNCH_OK,
	LAUNCH_EXECUTION_ERROR, /* the spec's fault: missing program, mount point, bad working dir */
	LAUNCH_SYSTEM_ERROR,    /* the machine's fault */
};

/* PATH searched when the job's environment has none (as execvp does). */
#define LAUNCH_DEFAULT_PATH "/bin:/usr/bin"

/* Clones the container, runs the plan in the child, execs the program.
 * Returns 0 once exec succeeded (the close-on-exec report pipe hit EOF), with
 * *out filled. On failure returns -1, *failure says whose fault, *err says
 * what ("exec /bin/nope: No such file or directory", "mount proc on /proc:
 * Operation not permitted"), and nothing is left behind (child reaped, fds
 * closed). The three stdio fds must be open; they are not closed. */
int container_launch(const struct launch_request *req, struct launch_result *out,
                     enum launch_failure *failure, struct err **err);

/* Kills the whole container (SIGKILL to PID 1 via its pidfd; the kernel kills
 * the rest of its PID namespace). Returns 0 (also when the job had already
 * exited), or -errno. Does not reap or close the pidfd. */
int container_kill(int pidfd);

/* "ok", "execution error", "system error". */
const char *launch_failure_name(enum launch_failure f);

/* How the child is cloned. AUTO (the default) tries CLONE_VM|CLONE_VFORK on a
 * private stack and falls back to a fork-style clone, for good, the first
 * time the kernel refuses it (logged once). VM and FORK force one way, for
 * tests and benchmarks; forcing VM disables the fallback. */
enum launch_clone_mode {
	LAUNCH_CLONE_AUTO,
	LAUNCH_CLONE_VM,
	LAUNCH_CLONE_FORK,
};
void container_launch_set_clone_mode(enum launch_clone_mode mode);

#endif
