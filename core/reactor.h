/*
 * reactor: the one event loop of every process.
 *
 * One thread, one reactor. Readiness comes from epoll (sockets, pipes, pidfds,
 * the timerfd, the signalfd, inotify); bulk file and socket I/O may go through
 * io_uring, whose completions are announced on an eventfd that sits in the
 * epoll set. Timers live in a binary heap keyed by deadline and are driven by
 * one timerfd. Signals arrive through one signalfd.
 *
 * Ownership and re-entrancy rules:
 *  - Callbacks run on the reactor's thread, one at a time, never nested.
 *  - A callback may add or remove any registration, including its own, and
 *    may cancel any timer. Removing a registration guarantees its callback is
 *    not called again, even later in the same dispatch round.
 *  - A callback must never free the object it was called for. Use
 *    reactor_defer() to free it after the current dispatch round.
 *  - The reactor never owns the fds it watches, except the pidfds handed to
 *    reactor_watch_child(), which it closes after the exit callback ran.
 *
 * Every wake-up is a hint: level-triggered epoll is used, and the io_uring
 * completion queue, the signalfd and exited children are drained fully.
 */
#ifndef CORE_REACTOR_H
#define CORE_REACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct reactor;
struct io_uring;
struct io_uring_sqe;
struct io_uring_cqe;

/* ---- lifetime ------------------------------------------------------- */

/* Creates a reactor (epoll, timerfd, signalfd, io_uring of `uring_entries`
 * entries, 0 for the default of 64). If io_uring is unavailable (old kernel,
 * seccomp), the reactor still works and reactor_uring() returns NULL. */
int reactor_new(struct reactor **out, unsigned uring_entries, struct err **err);

/* Frees the reactor. Deferred functions still pending are run first. Fds
 * registered with reactor_add_fd are not closed; watched pidfds are. */
void reactor_free(struct reactor *r);

/* Runs until reactor_stop() is called, or until nothing is left that could
 * ever produce an event (no fds, no timers, no children, no in-flight
 * io_uring operations; signal handlers do not count). Returns 0, or -1 with
 * *err set if epoll itself failed. A stop requested while the loop is not
 * running makes the next reactor_run return at once (after deferred work). */
int reactor_run(struct reactor *r, struct err **err);

/* Makes reactor_run() return after the current dispatch round. */
void reactor_stop(struct reactor *r);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
uint64_t reactor_now_ns(void);

/* ---- file descriptors ------------------------------------------------ */

/* `events` is a mask of EPOLLIN, EPOLLOUT (EPOLLERR/EPOLLHUP always).
 * Adding an fd that is already watched fails (EEXIST). Call reactor_del_fd
 * before closing a watched fd. */
typedef void reactor_fd_cb(struct reactor *r, int fd, uint32_t events, void *arg);

int reactor_add_fd(struct reactor *r, int fd, uint32_t events, reactor_fd_cb *cb,
		   void *arg, struct err **err);
int reactor_mod_fd(struct reactor *r, int fd, uint32_t events, struct err **err);
/* Stops watching fd. Safe to call from any callback; a no-op if not watched. */
void reactor_del_fd(struct reactor *r, int fd);

/* ---- timers ---------------------------------------------------------- */

typedef void reactor_timer_cb(struct reactor *r, void *arg);

/* Calls cb once, `delay_ns` from now. Returns a timer id (never 0).
 * Timers due together run in the order they were added; a timer added from
 * a callback never runs in the same dispatch round, even with delay 0. */
uint64_t reactor_timer_add(struct reactor *r, uint64_t delay_ns,
			   reactor_timer_cb *cb, void *arg);
/* Cancels a pending timer. A no-op for 0, fired or unknown ids. */
void reactor_timer_cancel(struct reactor *r, uint64_t id);

/* ---- signals --------------------------------------------------------- */

typedef void reactor_signal_cb(struct reactor *r, int signo, void *arg);

/* Blocks `signo` in the process mask and delivers it through the signalfd.
 * One handler per signal; a second call replaces the first. SIGCHLD is
 * not needed for children: use reactor_watch_child. The signal stays blocked
 * after reactor_free (unblocking it could deliver a pending one with its
 * default action); children that exec should reset their mask. */
int reactor_on_signal(struct reactor *r, int signo, reactor_signal_cb *cb,
		      void *arg, struct err **err);

/* ---- children -------------------------------------------------------- */

/* How a watched child ended. */
struct child_status {
	bool signaled;   /* killed by a signal */
	int code;        /* exit code, or signal number when signaled */
};

typedef void reactor_child_cb(struct reactor *r, int pidfd,
			      const struct child_status *st, void *arg);

/* Watches a child through its pidfd. When it exits, the reactor reaps it
 * (waitid P_PIDFD), calls cb, then closes the pidfd. The reactor owns the
 * pidfd from this call on, even on failure. If the child cannot be reaped
 * (someone else reaped it, or it is not our child), st->code is -1. */
int reactor_watch_child(struct reactor *r, int pidfd, reactor_child_cb *cb,
			void *arg, struct err **err);

/* ---- io_uring -------------------------------------------------------- */

typedef void reactor_uring_cb(struct reactor *r, int res, void *arg);

/* The ring, or NULL if the kernel refused one. Prepare SQEs with liburing
 * helpers on sqes from reactor_uring_sqe(), then call reactor_uring_submit().
 * When an operation completes, cb(res) runs, res being the CQE result
 * (bytes, or -errno). Short reads and writes are normal: requeue the rest.
 *
 * reactor_uring_sqe returns an sqe already prepared as a no-op and carrying
 * the reactor's user_data: prepare it with an io_uring_prep_* helper, but
 * never call io_uring_sqe_set_data on it. It returns NULL when there is no
 * ring, or when the submission queue is full and cannot be flushed. Sqes not
 * submitted explicitly are submitted before the reactor next waits.
 * Multishot operations call cb once per completion (IORING_CQE_F_MORE). */
struct io_uring *reactor_uring(struct reactor *r);
struct io_uring_sqe *reactor_uring_sqe(struct reactor *r, reactor_uring_cb *cb,
				       void *arg);
int reactor_uring_submit(struct reactor *r, struct err **err);

/* ---- deferred work ---------------------------------------------------- */

/* Runs fn(arg) after the current dispatch round (or at reactor_free).
 * This is how objects are freed from inside their own callbacks. */
void reactor_defer(struct reactor *r, void (*fn)(void *arg), void *arg);

#endif
