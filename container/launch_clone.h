/*
 * launch_clone: cloning a child that shares our memory (CLONE_VM, usually with
 * CLONE_VFORK) and runs a function on a private stack. Private to the
 * container launcher (launch.c, netpool.c).
 *
 * Why: a fork-style clone copies the caller's page tables, which costs more
 * the bigger the caller is; a CLONE_VM child costs the same whatever our size.
 * Such a child cannot return into the C frame that called clone3 (it has a
 * different stack), hence the small assembly trampoline.
 */
#ifndef CONTAINER_LAUNCH_CLONE_H
#define CONTAINER_LAUNCH_CLONE_H

#include <linux/sched.h>
#include <stdbool.h>
#include <stddef.h>

/* Usable size of each private stack. */
#define LAUNCH_STACK_SIZE (256u * 1024u)

/* How many private stacks there are: a launch through a network-namespace
 * pool has two vfork-style children alive at once. */
#define LAUNCH_STACKS 2

#if defined(__x86_64__)
#define LAUNCH_HAVE_VM_CLONE 1
/* clone3 that, in the child, calls fn(arg) on the stack given in args and
 * exits with its result; the parent gets the child's pid, or -errno. With no
 * stack in args the child runs on (a copy of) the caller's stack. */
long launch_clone3_run(struct clone_args *args, size_t size, int (*fn)(void *), void *arg)
	__attribute__((visibility("hidden")));
#else
#define LAUNCH_HAVE_VM_CLONE 0
#endif

/* Private stack number `which` (< LAUNCH_STACKS) of the calling thread:
 * mapped on first use with a guard page below, then reused (the parent sleeps
 * while its vfork-style child runs). Returns the lowest usable byte, or NULL
 * with errno set. Under ASan, also clears stale redzones left by the last
 * child, whose frames never returned. */
void *launch_child_stack(unsigned which);

#endif
