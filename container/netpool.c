/*
 * netpool: a pool of network namespaces made ahead of time. See
 * container/netpool.h.
 */
#include "container/netpool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/launch_child.h"
#include "container/launch_clone.h"
#include "container/netlink.h"
#include "container/userns.h"
#include "core/log.h"

struct netns_pool {
	struct netns_slot *slots;
	size_t n_slots, cap;
	size_t max_per_mode;
	bool warned;               /* making a namespace failed once: said so */
};

struct netns_pool *netns_pool_new(size_t max_per_mode)
{
	struct netns_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		abort();
	pool->max_per_mode = max_per_mode;
	return pool;
}

void netns_pool_free(struct netns_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < pool->n_slots; i++) {
		struct netns_slot *s = &pool->slots[i];
		close(s->userns_fd);
		close(s->netns_fd);
		if (s->busy_pidfd >= 0)
			close(s->busy_pidfd);
	}
	free(pool->slots);
	free(pool);
}

size_t netns_pool_count(const struct netns_pool *pool, enum network_mode mode)
{
	size_t n = 0;
	for (size_t i = 0; i < pool->n_slots; i++)
		n += pool->slots[i].mode == mode;
	return n;
}

/* ---- making a slot -------------------------------------------------------------- */

/* Shared with the helper child, which runs on our memory (CLONE_VM) and
 * opens the namespace fds into our fd table (CLONE_FILES). */
struct pair_child {
	char uid_map[32], gid_map[32];
	bool loopback;
	int userns_fd, netns_fd;   /* out */
	const char *failed;        /* out: what failed */
	int errnum;                /* out */
};

static LAUNCH_CHILD_NOASAN int pair_child_main(void *arg)
{
	struct pair_child *p = arg;
	enum userns_step step;
	int r = userns_write_maps(0, p->uid_map, strlen(p->uid_map), p->gid_map,
	                          strlen(p->gid_map), &step);
	if (r < 0) {
		p->failed = userns_step_name(step);
		p->errnum = -r;
		return 1;
	}
	if (p->loopback) {
		r = netlink_link_up(NETLINK_LOOPBACK_IFINDEX);
		if (r < 0) {
			p->failed = "bring up the loopback interface";
			p->errnum = -r;
			return 1;
		}
	}
	p->userns_fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (p->userns_fd < 0) {
		p->failed = "open /proc/self/ns/user";
		p->errnum = errno;
		return 1;
	}
	p->netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->netns_fd < 0) {
		p->failed = "open /proc/self/ns/net";
		p->errnum = errno;
		return 1;
	}
	return 0;
}

static int make_slot(enum network_mode mode, struct netns_slot *out, struct err **err)
{
#if LAUNCH_HAVE_VM_CLONE
	struct pair_child p = { .loopback = mode == NETWORK_LOOPBACK, .userns_fd = -1,
		                .netns_fd = -1 };
	snprintf(p.uid_map, sizeof(p.uid_map), "0 %u 1\n", (unsigned)geteuid());
	snprintf(p.gid_map, sizeof(p.gid_map), "0 %u 1\n", (unsigned)getegid());
	void *stack = launch_child_stack(0);
	if (!stack)
		return err_set(err, errno, "network namespace pool: child stack");

	struct clone_args a;
	memset(&a, 0, sizeof(a));
	/* New user and network namespaces; our memory and fd table, so the
	 * helper can hand its namespace fds straight to us. */
	a.flags = CLONE_NEWUSER | CLONE_NEWNET | CLONE_VM | CLONE_VFORK | CLONE_FILES |
	          CLONE_CLEAR_SIGHAND;
	a.exit_signal = SIGCHLD;
	a.stack = (uint64_t)(uintptr_t)stack;
	a.stack_size = LAUNCH_STACK_SIZE;
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	long pid = launch_clone3_run(&a, sizeof(a), pair_child_main, &p);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return err_set(err, (int)-pid, "network namespace pool: clone3");
	siginfo_t si;
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
		;
	if (p.failed) {
		if (p.userns_fd >= 0)
			close(p.userns_fd);
		return err_set(err, p.errnum, "network namespace pool: %s", p.failed);
	}
	*out = (struct netns_slot){ .userns_fd = p.userns_fd, .netns_fd = p.netns_fd,
		                    .busy_pidfd = -1, .mode = mode };
	return 0;
#else
	(void)mode;
	(void)out;
	return err_set(err, ENOSYS, "network namespace pool: not supported on this architecture");
#endif
}

static int add_slot(struct netns_pool *pool, enum network_mode mode, struct err **err)
{
	struct netns_slot s;
	if (make_slot(mode, &s, err) < 0)
		return -1;
	if (pool->n_slots == pool->cap) {
		pool->cap = pool->cap ? pool->cap * 2 : 8;
		pool->slots = realloc(pool->slots, pool->cap * sizeof(*pool->slots));
		if (!pool->slots)
			abort();
	}
	pool->slots[pool->n_slots++] = s;
	return 0;
}

int netns_pool_prefill(struct netns_pool *pool, enum network_mode mode, size_t n,
                       struct err **err)
{
	if (mode == NETWORK_LOCAL)
		return err_set(err, EINVAL, "network namespace pool: network \"local\" has no namespace");
	if (n > pool->max_per_mode)
		n = pool->max_per_mode;
	while (netns_pool_count(pool, mode) < n)
		if (add_slot(pool, mode, err) < 0)
			return -1;
	return 0;
}

/* ---- using slots ------------------------------------------------------------------ */

/* True when the slot's last job has exited (or it never had one). */
static bool slot_free(struct netns_slot *s)
{
	if (s->busy_pidfd < 0)
		return true;
	struct pollfd pfd = { .fd = s->busy_pidfd, .events = POLLIN };
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	close(s->busy_pidfd);
	s->busy_pidfd = -1;
	return true;
}

struct netns_slot *netns_pool_acquire(struct netns_pool *pool, enum network_mode mode)
{
	if (mode == NETWORK_LOCAL)
		return NULL;
	size_t have = 0;
	for (size_t i = 0; i < pool->n_slots; i++) {
		struct netns_slot *s = &pool->slots[i];
		if (s->mode != mode)
			continue;
		have++;
		if (slot_free(s))
			return s;
	}
	if (have >= pool->max_per_mode)
		return NULL;
	struct err *e = NULL;
	if (add_slot(pool, mode, &e) < 0) {
		if (!pool->warned)
			log_warning("%s; launching with fresh network namespaces instead", err_msg(e));
		pool->warned = true;
		err_free(&e);
		return NULL;
	}
	return &pool->slots[pool->n_slots - 1];
}

void netns_slot_hold(struct netns_slot *slot, int pidfd)
{
	if (slot->busy_pidfd >= 0)
		close(slot->busy_pidfd);
	slot->busy_pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
	/* Without a duplicate we cannot tell when the job is gone: the slot
	 * then counts as free at once, which only weakens reuse isolation. */
}
