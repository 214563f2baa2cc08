/*
 * launch: the parent's side of starting a job in a container
 * (container/launch.h): choosing the clone flags, cloning, and turning the
 * child's report into an error. The child's side is launch_child.c.
 */
#include "container/launch.h"
#include "container/launch_child.h"
#include "container/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The vfork-style child runs on its own stack: the plan, the PATH search
 * buffer (PATH_MAX) and a few frames. 256 KiB leaves room for sanitizer
 * builds; pages are only touched as used. */
#define CHILD_STACK_SIZE (256u * 1024u)

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

/* Every flag is decided here, before any system call. */
static uint64_t clone_flags(const struct mount_plan *plan)
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
	 * lo down or up); "local" keeps the host's network. */
	if (mount_plan_network(plan) != NETWORK_LOCAL)
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

#if defined(__x86_64__)
/* long launch_clone3_run(struct clone_args *args, size_t size,
 *                        int (*fn)(void *), void *arg);
 * clone3 that, in the child, calls fn(arg) on the stack given in args and
 * exits with its result; the parent gets the pid or -errno. Needed because a
 * child on a new stack cannot return into the C caller's frame. */
__asm__(".text\n"
        ".p2align 4\n"
        ".type launch_clone3_run,@function\n"
        "launch_clone3_run:\n"
        "\tmov %rdx, %r8\n"          /* fn: r8/r9 survive the syscall */
        "\tmov %rcx, %r9\n"          /* arg */
        "\tmov $435, %eax\n"         /* __NR_clone3 */
        "\tsyscall\n"
        "\ttest %rax, %rax\n"
        "\tjz 1f\n"
        "\tret\n"                    /* parent: pid, or -errno */
        "1:\txor %ebp, %ebp\n"       /* child: fresh stack, no frame above */
        "\tand $-16, %rsp\n"
        "\tmov %r9, %rdi\n"
        "\tcall *%r8\n"
        "\tmov %eax, %edi\n"
        "\tmov $231, %eax\n"         /* exit_group */
        "\tsyscall\n"
        "\thlt\n"
        ".size launch_clone3_run, .-launch_clone3_run\n");
long launch_clone3_run(struct clone_args *args, size_t size, int (*fn)(void *), void *arg)
	__attribute__((visibility("hidden")));
#define HAVE_VM_CLONE 1

/* The private stack of vfork-style children, mapped once per thread and
 * reused: the parent is suspended while a child uses it. A guard page below
 * catches overflow. Returns the lowest usable byte, or NULL. */
static void *child_stack(void)
{
	static _Thread_local char *stack;
	if (!stack) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		char *p = mmap(NULL, CHILD_STACK_SIZE + page, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (mprotect(p, page, PROT_NONE) < 0) {
			munmap(p, CHILD_STACK_SIZE + page);
			return NULL;
		}
		stack = p + page;
	}
	return stack;
}
#else
#define HAVE_VM_CLONE 0
#endif

/* Clones the child. Returns its pid with *pidfd set, or -errno. */
static long spawn(struct launch_child *c, int *pidfd)
{
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = clone_flags(c->plan);
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;

	long vm_error = 0;
#if HAVE_VM_CLONE
	if (clone_mode == LAUNCH_CLONE_VM || (clone_mode == LAUNCH_CLONE_AUTO && !vm_refused)) {
		/* CLONE_VM|CLONE_VFORK: no copy of our page tables (a fork-style
		 * clone costs ~50-75 us more per MB we have touched), and we sleep
		 * until the child has exec'd or died. */
		void *stack = child_stack();
		if (stack) {
			struct clone_args vm = args;
			vm.flags |= CLONE_VM | CLONE_VFORK;
			vm.stack = (uint64_t)(uintptr_t)stack;
			vm.stack_size = CHILD_STACK_SIZE;
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
	case LAUNCH_STEP_SIGNALS:
		return err_set(err, e, "reset signals");
	case LAUNCH_STEP_EXEC:
		if (exec_is_spec_error(e))
			*failure = LAUNCH_EXECUTION_ERROR;
		return err_set(err, e, "exec %s", c->program);
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

	/* No handler of ours may run in the child before exec; the child
	 * unblocks everything once its dispositions are reset. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	long pid = spawn(&c, &pidfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return err_set(err, (int)-pid, "clone3 of a container%s", clone_hint((int)-pid));
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
	if (got == 0 && !read_errno) {
		*failure = LAUNCH_OK;
		out->pidfd = pidfd;
		out->pid = (pid_t)pid;
		return 0;
	}
	/* The child failed: it has exited or is about to. When we cannot tell
	 * (a read error, a torn report), make sure it is gone. */
	if (read_errno || got != sizeof(rep))
		container_kill(pidfd);
	reap(pidfd);
	close(pidfd);
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
