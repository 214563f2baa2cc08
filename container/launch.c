/*
 * launch: the parent's side of starting a job in a container
 * (container/launch.h): choosing the clone flags, cloning, and turning the
 * child's report into an error. The child's side is launch_child.c.
 */
#include "container/launch.h"
#include "container/launch_child.h"
#include "container/launch_clone.h"
#include "container/netpool.h"
#include "container/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"


#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static enum launch_clone_mode clone_mode = LAUNCH_CLONE_AUTO;
static bool vm_refused;   /* the kernel refused CLONE_VM once: stop trying */

void container_launch_set_clone_mode(enum launch_clone_mode mode)
{
	clone_mode = mode;
}

const char *launch_failure_name(enum launch_failure f)
{
	switch (f) {
	case LAUNCH_OK:
		return "ok";
	case LAUNCH_EXECUTION_ERROR:
		return "execution error";
	case LAUNCH_SYSTEM_ERROR:
		return "system error";
	}
	return "unknown";
}

/* ---- clone -------------------------------------------------------------- */

/* Every flag of the job's clone is decided here, before any system call.
 * pooled_net: the job joins a network namespace from a pool (entered by a
 * first child) instead of making one. */
static uint64_t clone_flags(const struct mount_plan *plan, bool pooled_net)
{
	uint64_t f = 0;
	/* A user namespace first: it is what lets an unprivileged worker make
	 * all the others, and it maps the job's user/group to ours. */
	f |= CLONE_NEWUSER;
	/* Own mount table: the root and the job's mounts exist for this job
	 * only and vanish with it. */
	f |= CLONE_NEWNS;
	/* The job is PID 1: when it dies the kernel kills all it started. */
	f |= CLONE_NEWPID;
	/* No SysV IPC or POSIX message queues shared with the host or other
	 * jobs; own hostname. Both are cheap. */
	f |= CLONE_NEWIPC | CLONE_NEWUTS;
	/* Network "disabled" and "loopback" get a namespace of their own (with
	 * lo down or up) unless one comes from the pool; "local" keeps the
	 * host's network. */
	if (mount_plan_network(plan) != NETWORK_LOCAL && !pooled_net)
		f |= CLONE_NEWNET;
	/* Supervise through a pidfd: no PID reuse races, pollable exit. */
	f |= CLONE_PIDFD;
	/* Reset handled signals to default in the child: with CLONE_VM a
	 * handler of ours running there would run on our memory. */
	f |= CLONE_CLEAR_SIGHAND;
	/* Deliberately not CLONE_NEWCGROUP (the executor may place jobs in
	 * cgroups by path) and not CLONE_NEWTIME (nothing needs it). */
	return f;
}

static bool vm_clone_wanted(void)
{
	return LAUNCH_HAVE_VM_CLONE && (clone_mode == LAUNCH_CLONE_VM ||
	                                (clone_mode == LAUNCH_CLONE_AUTO && !vm_refused));
}

/* Clones the child. Returns its pid with *pidfd set, or -errno. */
static long spawn(struct launch_child *c, int *pidfd)
{
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = clone_flags(c->plan, false);
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;

	long vm_error = 0;
#if LAUNCH_HAVE_VM_CLONE
	if (vm_clone_wanted()) {
		/* CLONE_VM|CLONE_VFORK: no copy of our page tables (a fork-style
		 * clone costs ~50-75 us more per MB we have touched), and we sleep
		 * until the child has exec'd or died. */
		void *stack = launch_child_stack(0);
		if (stack) {
			struct clone_args vm = args;
			vm.flags |= CLONE_VM | CLONE_VFORK;
			vm.stack = (uint64_t)(uintptr_t)stack;
			vm.stack_size = LAUNCH_STACK_SIZE;
			long r = launch_clone3_run(&vm, sizeof(vm), launch_child_main, c);
			if (r >= 0 || clone_mode == LAUNCH_CLONE_VM)
				return r;
			vm_error = r;
		} else {
			vm_error = -errno;
		}
	}
#endif
	/* Fork style: the child runs on a copy of our memory and stack. */
	long r = syscall(SYS_clone3, &args, sizeof(args));
	if (r < 0)
		return -errno;
	if (r == 0)
		_exit(launch_child_main(c));
	if (vm_error) {
		vm_refused = true;
		log_warning("clone3 with CLONE_VM|CLONE_VFORK on a private stack failed (%s); "
		            "launching containers fork-style from now on, which gets slower "
		            "as this process grows", strerror((int)-vm_error));
	}
	return r;
}

/* Clones through a pooled network namespace: a first child (our memory and
 * fd table) enters the slot's namespaces and clones the job as our child.
 * Returns 0 with *pid (-1 when the first child failed before the job's
 * clone: its report is in the pipe) and *pidfd, or -errno. */
static int spawn_pooled(struct launch_child *c, const struct netns_slot *slot, int *pidfd,
                        long *pid)
{
#if LAUNCH_HAVE_VM_CLONE
	void *outer = launch_child_stack(0), *inner = launch_child_stack(1);
	if (!outer || !inner)
		return -errno;
	c->pool_userns_fd = slot->userns_fd;
	c->pool_netns_fd = slot->netns_fd;
	c->job_stack = inner;
	/* The job: as always, minus the network namespace it joins; plus
	 * CLONE_PARENT so that it is our child (waitid on its pidfd works),
	 * and vfork style on its own stack. */
	c->job_flags = clone_flags(c->plan, true) | CLONE_PARENT | CLONE_VM | CLONE_VFORK;
	c->job_pidfd = -1;
	c->job_pid = -1;

	struct clone_args a;
	memset(&a, 0, sizeof(a));
	/* The first child: our memory (it writes the job's pid back) and our
	 * fd table (the job's pidfd lands in it); no namespaces of its own. */
	a.flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_CLEAR_SIGHAND;
	a.exit_signal = SIGCHLD;
	a.stack = (uint64_t)(uintptr_t)outer;
	a.stack_size = LAUNCH_STACK_SIZE;
	long r = launch_clone3_run(&a, sizeof(a), launch_pooled_main, c);
	if (r < 0)
		return (int)r;
	siginfo_t si;
	while (waitid(P_PID, (id_t)r, &si, WEXITED) < 0 && errno == EINTR)
		;
	*pidfd = c->job_pidfd;
	*pid = c->job_pid;
	return 0;
#else
	(void)c;
	(void)slot;
	(void)pidfd;
	(void)pid;
	return -ENOSYS;
#endif
}

/* ---- reports -------------------------------------------------------------- */

static bool exec_is_spec_error(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case EACCES:
	case EPERM:
	case ENOEXEC:
	case ELOOP:
	case ENAMETOOLONG:
	case EISDIR:
	case ETXTBSY:
	case E2BIG:
	case ELIBBAD:
		return true;
	default:
		return false;
	}
}

static int report_error(const struct launch_child *c, const struct launch_report *rep,
                        enum launch_failure *failure, struct err **err)
{
	int e = rep->errnum;
	*failure = LAUNCH_SYSTEM_ERROR;
	switch ((enum launch_step)rep->step) {
	case LAUNCH_STEP_USERNS: {
		const char *text = rep->index == USERNS_GID_MAP ? c->gid_map : c->uid_map;
		size_t len = rep->index == USERNS_GID_MAP ? c->gid_map_len : c->uid_map_len;
		if (rep->index == USERNS_SETGROUPS)
			return err_set(err, e, "%s", userns_step_name(USERNS_SETGROUPS));
		return err_set(err, e, "%s \"%.*s\"", userns_step_name((enum userns_step)rep->index),
		               (int)(len ? len - 1 : 0), text);
	}
	case LAUNCH_STEP_LOOPBACK:
		return err_set(err, e, "bring up the loopback interface");
	case LAUNCH_STEP_PLAN:
		if (mount_plan_op_is_spec_error(c->plan, (size_t)rep->index, e))
			*failure = LAUNCH_EXECUTION_ERROR;
		return err_set(err, e, "%s", mount_plan_op_what(c->plan, (size_t)rep->index));
	case LAUNCH_STEP_CHDIR:
		if (e == ENOENT || e == ENOTDIR || e == EACCES || e == ELOOP || e == ENAMETOOLONG)
			*failure = LAUNCH_EXECUTION_ERROR;
		return err_set(err, e, "working directory %s", c->working_directory);
	case LAUNCH_STEP_SESSION:
		return err_set(err, e, "setsid");
	case LAUNCH_STEP_STDIO:
		return err_set(err, e, "set up standard input, output and error");
	case LAUNCH_STEP_TTY:
		return err_set(err, e, "make the terminal on standard input the job's controlling "
		               "terminal (TIOCSCTTY; is it the slave side of a pseudo-terminal "
		               "that no other session controls?)");
	case LAUNCH_STEP_SIGNALS:
		return err_set(err, e, "reset signals");
	case LAUNCH_STEP_EXEC:
		if (exec_is_spec_error(e))
			*failure = LAUNCH_EXECUTION_ERROR;
		return err_set(err, e, "exec %s", c->program);
	case LAUNCH_STEP_POOL_ENTER:
		return err_set(err, e, "enter the pooled %s namespace",
		               rep->index == 0 ? "user" : "network");
	case LAUNCH_STEP_POOL_CLONE:
		return err_set(err, e, "clone3 of a container in a pooled network namespace");
	case LAUNCH_STEP_EXEC_PATH:
		if (exec_is_spec_error(e))
			*failure = LAUNCH_EXECUTION_ERROR;
		if (e == ENOENT)
			return err_set(err, 0, "exec `%s`: not found in PATH (%s)", c->program, c->path);
		return err_set(err, e, "exec `%s` (searched PATH %s)", c->program, c->path);
	}
	return err_set(err, e, "container setup failed at unknown step %d", (int)rep->step);
}

/* ---- launch ------------------------------------------------------------------ */

static const char *find_path(const char *const *envp)
{
	for (; *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return LAUNCH_DEFAULT_PATH;
}

static void reap(int pidfd)
{
	siginfo_t si;
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
}

static int prepare(const struct launch_request *req, struct launch_child *c, struct err **err)
{
	if (!req->plan || !req->program || !req->argv || !req->envp)
		return err_set(err, EINVAL, "launch request without a plan, program, argv or envp");
	if (req->stdin_fd < 0 || req->stdout_fd < 0 || req->stderr_fd < 0)
		return err_set(err, EBADF, "launch request: stdin, stdout and stderr must be open fds");
	if (!*req->program)
		return err_set(err, ENOENT, "exec: empty program name");
	memset(c, 0, sizeof(*c));
	c->plan = req->plan;
	c->program = req->program;
	c->argv = (char *const *)req->argv;
	c->envp = (char *const *)req->envp;
	c->working_directory = req->working_directory ? req->working_directory : "/";
	c->path = strchr(req->program, '/') ? NULL : find_path(req->envp);
	c->stdio[0] = req->stdin_fd;
	c->stdio[1] = req->stdout_fd;
	c->stdio[2] = req->stderr_fd;
	c->extra_fd = req->extra_fd > 0 ? req->extra_fd : -1;
	c->controlling_tty = req->controlling_tty;
	c->loopback = mount_plan_network(req->plan) == NETWORK_LOOPBACK;
	c->uid_map = mount_plan_uid_map(req->plan, &c->uid_map_len);
	c->gid_map = mount_plan_gid_map(req->plan, &c->gid_map_len);
	return 0;
}

static const char *clone_hint(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return " (are unprivileged user namespaces allowed? see "
		       "/proc/sys/user/max_user_namespaces and AppArmor's "
		       "kernel.apparmor_restrict_unprivileged_userns)";
	case ENOSPC:
	case EUSERS:
		return " (namespace limit reached; see /proc/sys/user/max_*_namespaces)";
	default:
		return "";
	}
}

int container_launch(const struct launch_request *req, struct launch_result *out,
                     enum launch_failure *failure, struct err **err)
{
	struct launch_child c;
	int pipefd[2], pidfd = -1;

	out->pidfd = -1;
	out->pid = -1;
	*failure = LAUNCH_SYSTEM_ERROR;
	if (prepare(req, &c, err) < 0) {
		if (req->program && !*req->program)
			*failure = LAUNCH_EXECUTION_ERROR;
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err_set(err, errno, "launch: report pipe");
	c.report_fd = pipefd[1];

	/* A pooled network namespace when the caller has a pool, the plan
	 * allows it and we can clone vfork-style; else a fresh one. */
	struct netns_slot *slot = NULL;
	if (req->netns_pool && vm_clone_wanted() && mount_plan_can_share_netns(req->plan))
		slot = netns_pool_acquire(req->netns_pool, mount_plan_network(req->plan));
	if (slot) {
		/* The job maps to root of the holder namespace, which is us;
		 * loopback is already up in a loopback slot. */
		int n = snprintf(c.uid_buf, sizeof(c.uid_buf), "%u 0 1\n", mount_plan_user(req->plan));
		c.uid_map = c.uid_buf;
		c.uid_map_len = (size_t)n;
		n = snprintf(c.gid_buf, sizeof(c.gid_buf), "%u 0 1\n", mount_plan_group(req->plan));
		c.gid_map = c.gid_buf;
		c.gid_map_len = (size_t)n;
		c.loopback = false;
	}

	/* No handler of ours may run in the child before exec; the child
	 * unblocks everything once its dispositions are reset. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	long pid = -1;
	int r = 0;
	if (slot) {
		r = spawn_pooled(&c, slot, &pidfd, &pid);
		if (r < 0) {
			/* The kernel refused the two-step clone: launch as without
			 * a pool, with a namespace of the job's own. */
			static bool warned;
			if (!warned)
				log_warning("launch through the network namespace pool failed (%s); "
				            "using fresh namespaces when that happens", strerror(-r));
			warned = true;
			slot = NULL;
			r = 0;
			prepare(req, &c, NULL);
			c.report_fd = pipefd[1];
		}
	}
	if (!slot)
		pid = spawn(&c, &pidfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (r < 0 || (!slot && pid < 0)) {
		int e = r < 0 ? -r : (int)-pid;
		close(pipefd[0]);
		return err_set(err, e, "clone3 of a container%s", clone_hint(e));
	}

	struct launch_report rep;
	size_t got = 0;
	int read_errno = 0;
	while (got < sizeof(rep)) {
		ssize_t n = read(pipefd[0], (char *)&rep + got, sizeof(rep) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			read_errno = errno;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pipefd[0]);
	if (got == 0 && !read_errno && pid > 0) {
		*failure = LAUNCH_OK;
		out->pidfd = pidfd;
		out->pid = (pid_t)pid;
		if (slot)
			netns_slot_hold(slot, pidfd);
		return 0;
	}
	/* The child failed: it has exited or is about to. When we cannot tell
	 * (a read error, a torn report), make sure it is gone. */
	if (pidfd >= 0) {
		if (read_errno || got != sizeof(rep))
			container_kill(pidfd);
		reap(pidfd);
		close(pidfd);
	}
	if (read_errno)
		return err_set(err, read_errno, "launch: reading the container's report");
	if (got != sizeof(rep))
		return err_set(err, 0, "launch: short report from the container (%zu bytes)", got);
	return report_error(&c, &rep, failure, err);
}

int container_kill(int pidfd)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		return errno == ESRCH ? 0 : -errno;
	return 0;
}
