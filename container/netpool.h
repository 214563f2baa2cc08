/*
 * netpool: network namespaces made ahead of time and reused, so that making
 * one (~450 us, plus ~100 us to bring loopback up) and tearing it down
 * (200-300 us of kernel work, with stalls of several ms now and then) is off
 * the launch path.
 *
 * A slot is a pair: a holder user namespace H and a network namespace N owned
 * by H, made by a short-lived helper cloned with CLONE_NEWUSER|CLONE_NEWNET,
 * which maps root of H to our euid/egid and, for "loopback" slots, brings lo
 * up. The pool keeps an fd to each namespace.
 *
 * A launch through the pool (launch_request.netns_pool, container/launch.h)
 * clones a first child that enters H and N, and that child clones the job
 * with new user, mount, PID, IPC and UTS namespaces. The job's user namespace
 * is a child of H: the job has no capability over N and cannot reconfigure it
 * (no addresses, no sysctls, no bringing lo down). Its ids map to root of H,
 * which is us on the host.
 *
 * A slot serves one job at a time: it stays busy until that job's PID 1 has
 * exited (the pool polls a duplicate of the job's pidfd; PID 1 finishes
 * exiting only once every other process of its PID namespace is gone), so a
 * caller never has to give slots back. What a reused namespace may still hold
 * from an earlier job: nothing the job could configure, and no sockets, but
 * TCP connections it closed may linger in TIME_WAIT for up to a minute.
 *
 * Not pooled: network "local" (no namespace at all) and plans with a sys
 * mount (sysfs needs capabilities over the network namespace's owner, which
 * a pooled job by design lacks); those launches make a fresh namespace as
 * without a pool. The pool is also unused when the launcher cannot clone
 * vfork-style (see container_launch_set_clone_mode).
 *
 * Ownership: the caller owns the pool and frees it when done; jobs still
 * running keep their namespaces alive on their own. Not thread-safe.
 */
#ifndef CONTAINER_NETPOOL_H
#define CONTAINER_NETPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/spec.h"

struct netns_pool;

/* A pool keeping at most max_per_mode network namespaces for each of
 * "disabled" and "loopback" (a good value: the number of job slots). No
 * namespace is made until needed or prefilled. */
struct netns_pool *netns_pool_new(size_t max_per_mode);

/* Closes every namespace fd the pool holds. Safe on NULL. */
void netns_pool_free(struct netns_pool *pool);

/* Makes namespaces for `mode` (disabled or loopback) until the pool holds n
 * of them (at most max_per_mode). Returns 0, or -1 with *err set. */
int netns_pool_prefill(struct netns_pool *pool, enum network_mode mode, size_t n,
                       struct err **err);

/* How many namespaces for `mode` the pool holds (busy or free). */
size_t netns_pool_count(const struct netns_pool *pool, enum network_mode mode);

/* ---- for the launcher ------------------------------------------------------ */

struct netns_slot {
	int userns_fd;          /* the holder user namespace H */
	int netns_fd;           /* the network namespace N, owned by H */
	int busy_pidfd;         /* duplicate of the current job's pidfd, or -1 */
	enum network_mode mode;
};

/* A free slot for `mode`, made now when none is free and the pool may grow.
 * NULL when the pool is full, or when making a namespace failed (logged once):
 * the launch then makes a fresh namespace of its own. */
struct netns_slot *netns_pool_acquire(struct netns_pool *pool, enum network_mode mode);

/* Marks the slot busy until the job behind pidfd has exited (keeps a
 * close-on-exec duplicate of pidfd). */
void netns_slot_hold(struct netns_slot *slot, int pidfd);

#endif
