/*
 * launch_child: the cloned child's side of a launch (container/launch.h).
 *
 * Runs right after clone3, possibly sharing memory with the suspended parent
 * (CLONE_VM|CLONE_VFORK) on a small private stack. Rules: no allocation, no
 * stdio, no locks; only system calls and pure string functions; buffers on
 * the stack. Any failure is reported as (step, index, errno) through the
 * report pipe and the child exits 127.
 */
#include "container/launch_child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

#include "container/launch.h"
#include "container/launch_clone.h"
#include "container/netlink.h"
#include "container/userns.h"

static _Noreturn LAUNCH_CHILD_NOASAN void fail(const struct launch_child *c,
                                               enum launch_step step, size_t index, int errnum)
{
	struct launch_report r = { .step = step, .index = (int32_t)index, .errnum = errnum };
	ssize_t n;
	do
		n = write(c->report_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Puts the request's fds on 0, 1 and 2, and the extra fd (if any) on
 * LAUNCH_EXTRA_FD (they may already sit on any of those numbers, in any
 * order: each is first copied above them), then marks every other fd
 * close-on-exec, the report pipe included: it must stay open until the exec
 * itself. */
static int setup_stdio(const struct launch_child *c)
{
	int src[4] = { c->stdio[0], c->stdio[1], c->stdio[2], c->extra_fd };
	int n = c->extra_fd >= 0 ? LAUNCH_EXTRA_FD + 1 : 3;
	int copy[4];
	for (int i = 0; i < n; i++) {
		copy[i] = fcntl(src[i], F_DUPFD_CLOEXEC, n);
		if (copy[i] < 0)
			return -errno;
	}
	for (int i = 0; i < n; i++)
		if (dup2(copy[i], i) < 0)
			return -errno;
	if (syscall(SYS_close_range, (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* Handlers were already reset by CLONE_CLEAR_SIGHAND; ignored signals stay
 * ignored across exec, so reset those too, then unblock everything (the
 * parent blocked all signals around the clone). The raw system call is used
 * because glibc's sigaction refuses the signals it reserves for itself (32
 * and 33), and a job must not inherit those ignored either. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

static int reset_signals(void)
{
	struct kernel_sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
	}
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return -errno;
	return 0;
}

/* execvpe over the job's PATH. Returns only on failure, with the errno to
 * report: ENOENT when no directory had it, EACCES when one had it but not
 * executable, else the first hard error. */
static int exec_in_path(const struct launch_child *c)
{
	char buf[PATH_MAX];
	size_t plen = strlen(c->program);
	bool denied = false;

	for (const char *p = c->path;; p++) {
		size_t n = strcspn(p, ":");
		const char *dir = n ? p : ".";   /* an empty entry is the cwd */
		size_t dlen = n ? n : 1;
		if (dlen + 1 + plen + 1 <= sizeof(buf)) {
			memcpy(buf, dir, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, c->program, plen + 1);
			execve(buf, c->argv, c->envp);
			switch (errno) {
			case EACCES:
				denied = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ELOOP:
			case ENAMETOOLONG:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				return errno;
			}
		}
		p += n;
		if (!*p)
			break;
	}
	return denied ? EACCES : ENOENT;
}

LAUNCH_CHILD_NOASAN int launch_child_main(void *arg)
{
	const struct launch_child *c = arg;
	enum userns_step ustep = USERNS_SETGROUPS;
	size_t op = 0;
	int r;

	r = userns_write_maps(0, c->uid_map, c->uid_map_len, c->gid_map, c->gid_map_len, &ustep);
	if (r < 0)
		fail(c, LAUNCH_STEP_USERNS, ustep, -r);
	if (c->loopback) {
		r = netlink_link_up(NETLINK_LOOPBACK_IFINDEX);
		if (r < 0)
			fail(c, LAUNCH_STEP_LOOPBACK, 0, -r);
	}
	r = mount_plan_execute(c->plan, &op);
	if (r < 0)
		fail(c, LAUNCH_STEP_PLAN, op, -r);
	if (chdir(c->working_directory) < 0)
		fail(c, LAUNCH_STEP_CHDIR, 0, errno);
	if (setsid() < 0)
		fail(c, LAUNCH_STEP_SESSION, 0, errno);
	r = setup_stdio(c);
	if (r < 0)
		fail(c, LAUNCH_STEP_STDIO, 0, -r);
	/* We lead a new session with no terminal yet: the first one we ask
	 * for becomes ours, and we its foreground process group. */
	if (c->controlling_tty && ioctl(0, TIOCSCTTY, 0) < 0)
		fail(c, LAUNCH_STEP_TTY, 0, errno);
	r = reset_signals();
	if (r < 0)
		fail(c, LAUNCH_STEP_SIGNALS, 0, -r);
	if (!c->path) {
		execve(c->program, c->argv, c->envp);
		fail(c, LAUNCH_STEP_EXEC, 0, errno);
	}
	fail(c, LAUNCH_STEP_EXEC_PATH, 0, exec_in_path(c));
}

LAUNCH_CHILD_NOASAN int launch_pooled_main(void *arg)
{
	struct launch_child *c = arg;
	if (setns(c->pool_userns_fd, CLONE_NEWUSER) < 0)
		fail(c, LAUNCH_STEP_POOL_ENTER, 0, errno);
	if (setns(c->pool_netns_fd, CLONE_NEWNET) < 0)
		fail(c, LAUNCH_STEP_POOL_ENTER, 1, errno);
#if LAUNCH_HAVE_VM_CLONE
	struct clone_args a;
	memset(&a, 0, sizeof(a));
	a.flags = c->job_flags;
	a.pidfd = (uint64_t)(uintptr_t)&c->job_pidfd;
	a.exit_signal = 0;   /* required with CLONE_PARENT: the job inherits ours, SIGCHLD */
	a.stack = (uint64_t)(uintptr_t)c->job_stack;
	a.stack_size = LAUNCH_STACK_SIZE;
	long r = launch_clone3_run(&a, sizeof(a), launch_child_main, c);
	if (r < 0)
		fail(c, LAUNCH_STEP_POOL_CLONE, 0, (int)-r);
	c->job_pid = r;
	return 0;
#else
	fail(c, LAUNCH_STEP_POOL_CLONE, 0, ENOSYS);
#endif
}
