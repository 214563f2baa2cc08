/*
 * reactor.c: epoll core with timers (timerfd + heap), signals (signalfd),
 * children (pidfd) and io_uring completions (eventfd) dispatched from one
 * registration table. See core/reactor.h for the contract.
 *
 * Every fd in the epoll set has an entry in `regs`, indexed by fd, whose
 * `kind` says how to dispatch it. The epoll user data packs (generation << 32
 * | fd); an entry's generation changes whenever it is removed, so an event
 * collected before a removal (or before the fd number was reused) is dropped.
 */
#include "core/reactor.h"

#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/heap.h"
#include "core/list.h"
#include "core/log.h"

#define MAX_EVENTS 64
#define DEFAULT_URING_ENTRIES 64

enum reg_kind {
	REG_NONE,    /* slot unused */
	REG_USER,    /* reactor_add_fd */
	REG_CHILD,   /* reactor_watch_child pidfd (owned) */
	REG_TIMER,   /* the timerfd */
	REG_SIGNAL,  /* the signalfd */
	REG_URING,   /* the io_uring completion eventfd */
};

struct reg {
	enum reg_kind kind;
	uint32_t gen;
	union {
		reactor_fd_cb *fd_cb;
		reactor_child_cb *child_cb;
	};
	void *arg;
};

/* One in-flight io_uring operation; the SQE's user_data points here. */
struct uring_op {
	reactor_uring_cb *cb;
	void *arg;
	struct uring_op *prev, *next;
};

struct deferred {
	void (*fn)(void *arg);
	void *arg;
};

struct reactor {
	int epfd, timerfd, sigfd, evfd;
	struct reg *regs;
	size_t nregs;
	size_t nuser, nchildren;       /* what keeps reactor_run going */
	bool stop;

	struct timer_heap timers;
	uint64_t armed;                /* deadline the timerfd is set to, 0 = none */

	sigset_t sigmask;              /* signals routed to the signalfd */
	struct {
		reactor_signal_cb *cb;
		void *arg;
	} sig[_NSIG];

	struct io_uring ring;
	bool has_ring;
	size_t inflight;
	struct uring_op *ops;          /* in-flight records, freed at reactor_free */

	struct deferred *defers;
	size_t ndefers, defers_cap;
};

/* ---- registration table --------------------------------------------- */

static struct reg *reg_get(struct reactor *r, int fd)
{
	if (fd < 0 || (size_t)fd >= r->nregs || r->regs[fd].kind == REG_NONE)
		return NULL;
	return &r->regs[fd];
}

static int reg_add(struct reactor *r, int fd, uint32_t events, enum reg_kind kind,
		   struct err **err)
{
	if (fd < 0)
		return err_set(err, EBADF, "cannot watch fd %d", fd);
	if ((size_t)fd >= r->nregs) {
		size_t n = r->nregs ? r->nregs : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct reg *regs = reallocarray(r->regs, n, sizeof(*regs));
		if (!regs)
			abort(); /* out of memory */
		memset(regs + r->nregs, 0, (n - r->nregs) * sizeof(*regs));
		r->regs = regs;
		r->nregs = n;
	}
	struct reg *g = &r->regs[fd];
	if (g->kind != REG_NONE)
		return err_set(err, EEXIST, "fd %d is already watched by the reactor", fd);
	struct epoll_event ev = {
		.events = events,
		.data.u64 = (uint64_t)g->gen << 32 | (uint32_t)fd,
	};
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_set(err, errno, "cannot add fd %d to epoll", fd);
	g->kind = kind;
	return 0;
}

static void reg_del(struct reactor *r, int fd)
{
	struct reg *g = reg_get(r, fd);
	if (!g)
		return;
	/* EBADF/ENOENT: closed first, and epoll forgot it on its own. */
	if (epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF &&
	    errno != ENOENT)
		log_warning("reactor: cannot remove fd %d from epoll: %s", fd, strerror(errno));
	g->kind = REG_NONE;
	g->gen++;
	g->arg = NULL;
}

/* ---- lifetime ------------------------------------------------------- */

static int uring_setup(struct reactor *r, unsigned entries, struct err **err)
{
	int ret = io_uring_queue_init(entries ? entries : DEFAULT_URING_ENTRIES, &r->ring, 0);
	if (ret < 0) {
		log_debug("reactor: io_uring unavailable: %s", strerror(-ret));
		return 0;
	}
	r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->evfd < 0 || (ret = io_uring_register_eventfd(&r->ring, r->evfd)) < 0) {
		log_debug("reactor: cannot announce io_uring completions on an eventfd: %s",
			  strerror(r->evfd < 0 ? errno : -ret));
		io_uring_queue_exit(&r->ring);
		if (r->evfd >= 0)
			close(r->evfd);
		r->evfd = -1;
		return 0;
	}
	r->has_ring = true;
	return reg_add(r, r->evfd, EPOLLIN, REG_URING, err);
}

int reactor_new(struct reactor **out, unsigned uring_entries, struct err **err)
{
	struct reactor *r = calloc(1, sizeof(*r));
	if (!r)
		abort(); /* out of memory */
	r->timerfd = r->sigfd = r->evfd = -1;
	timer_heap_init(&r->timers);
	sigemptyset(&r->sigmask);

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		err_set(err, errno, "cannot create epoll instance");
		goto fail;
	}
	r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timerfd < 0) {
		err_set(err, errno, "cannot create timerfd");
		goto fail;
	}
	r->sigfd = signalfd(-1, &r->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sigfd < 0) {
		err_set(err, errno, "cannot create signalfd");
		goto fail;
	}
	if (reg_add(r, r->timerfd, EPOLLIN, REG_TIMER, err) < 0 ||
	    reg_add(r, r->sigfd, EPOLLIN, REG_SIGNAL, err) < 0 ||
	    uring_setup(r, uring_entries, err) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	reactor_free(r);
	return err_wrap(err, "cannot create event loop");
}

static void run_deferred(struct reactor *r)
{
	/* Deferred functions may defer more; they run in this same pass. */
	for (size_t i = 0; i < r->ndefers; i++)
		r->defers[i].fn(r->defers[i].arg);
	r->ndefers = 0;
}

void reactor_free(struct reactor *r)
{
	if (!r)
		return;
	run_deferred(r);
	for (size_t fd = 0; fd < r->nregs; fd++)
		if (r->regs[fd].kind == REG_CHILD)
			close((int)fd);
	if (r->has_ring)
		io_uring_queue_exit(&r->ring);
	while (r->ops) {
		struct uring_op *op = r->ops;
		r->ops = op->next;
		free(op);
	}
	int fds[] = { r->evfd, r->sigfd, r->timerfd, r->epfd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	timer_heap_release(&r->timers);
	free(r->regs);
	free(r->defers);
	free(r);
}

uint64_t reactor_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void reactor_stop(struct reactor *r)
{
	r->stop = true;
}

/* ---- file descriptors ------------------------------------------------ */

int reactor_add_fd(struct reactor *r, int fd, uint32_t events, reactor_fd_cb *cb,
		   void *arg, struct err **err)
{
	if (reg_add(r, fd, events, REG_USER, err) < 0)
		return -1;
	r->regs[fd].fd_cb = cb;
	r->regs[fd].arg = arg;
	r->nuser++;
	return 0;
}

int reactor_mod_fd(struct reactor *r, int fd, uint32_t events, struct err **err)
{
	struct reg *g = reg_get(r, fd);
	if (!g || g->kind != REG_USER)
		return err_set(err, ENOENT, "fd %d is not watched by the reactor", fd);
	struct epoll_event ev = {
		.events = events,
		.data.u64 = (uint64_t)g->gen << 32 | (uint32_t)fd,
	};
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return err_set(err, errno, "cannot change the events watched on fd %d", fd);
	return 0;
}

void reactor_del_fd(struct reactor *r, int fd)
{
	struct reg *g = reg_get(r, fd);
	if (!g || g->kind != REG_USER)
		return;
	reg_del(r, fd);
	r->nuser--;
}

/* ---- timers ---------------------------------------------------------- */

uint64_t reactor_timer_add(struct reactor *r, uint64_t delay_ns,
			   reactor_timer_cb *cb, void *arg)
{
	uint64_t now = reactor_now_ns();
	uint64_t deadline = delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns;
	return timer_heap_add(&r->timers, deadline, cb, arg);
}

void reactor_timer_cancel(struct reactor *r, uint64_t id)
{
	timer_heap_cancel(&r->timers, id);
}

/* Points the timerfd at the earliest deadline (or disarms it). */
static void timers_arm(struct reactor *r)
{
	uint64_t deadline = 0;
	if (timer_heap_peek(&r->timers, &deadline) && deadline == 0)
		deadline = 1; /* an all-zero it_value would disarm */
	if (deadline == r->armed)
		return;
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(deadline / 1000000000u),
			      .tv_nsec = (long)(deadline % 1000000000u) },
	};
	if (timerfd_settime(r->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_error("reactor: cannot arm timerfd: %s", strerror(errno));
	else
		r->armed = deadline;
}

static void timers_fire(struct reactor *r)
{
	uint64_t expirations;
	while (read(r->timerfd, &expirations, sizeof(expirations)) > 0)
		;
	r->armed = 0; /* a one-shot timerfd disarms itself when it fires */
	uint64_t now = reactor_now_ns();
	uint64_t limit = timer_heap_next_seq(&r->timers);
	struct timer_due due;
	while (timer_heap_pop_due(&r->timers, now, limit, &due))
		due.cb(r, due.arg);
}

/* ---- signals --------------------------------------------------------- */

int reactor_on_signal(struct reactor *r, int signo, reactor_signal_cb *cb,
		      void *arg, struct err **err)
{
	if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP)
		return err_set(err, EINVAL, "cannot handle signal %d", signo);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return err_set(err, errno, "cannot block signal %d", signo);
	sigaddset(&r->sigmask, signo);
	if (signalfd(r->sigfd, &r->sigmask, 0) < 0)
		return err_set(err, errno, "cannot route signal %d to the signalfd", signo);
	r->sig[signo].cb = cb;
	r->sig[signo].arg = arg;
	return 0;
}

static void signals_drain(struct reactor *r)
{
	struct signalfd_siginfo si;
	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;
		if (signo > 0 && signo < _NSIG && r->sig[signo].cb)
			r->sig[signo].cb(r, signo, r->sig[signo].arg);
	}
}

/* ---- children -------------------------------------------------------- */

int reactor_watch_child(struct reactor *r, int pidfd, reactor_child_cb *cb,
			void *arg, struct err **err)
{
	if (reg_add(r, pidfd, EPOLLIN, REG_CHILD, err) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return err_wrap(err, "cannot watch child");
	}
	r->regs[pidfd].child_cb = cb;
	r->regs[pidfd].arg = arg;
	r->nchildren++;
	return 0;
}

static void child_reap(struct reactor *r, int pidfd)
{
	struct reg *g = &r->regs[pidfd];
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	int ret;
	do
		ret = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
	while (ret < 0 && errno == EINTR);
	if (ret == 0 && info.si_pid == 0)
		return; /* spurious wake-up: not exited yet */

	struct child_status st = { .signaled = false, .code = -1 };
	if (ret < 0)
		log_warning("reactor: cannot reap child (pidfd %d): %s", pidfd, strerror(errno));
	else if (info.si_code == CLD_EXITED)
		st.code = info.si_status;
	else {
		st.signaled = true;
		st.code = info.si_status;
	}
	reactor_child_cb *cb = g->child_cb;
	void *arg = g->arg;
	reg_del(r, pidfd);
	r->nchildren--;
	cb(r, pidfd, &st, arg);
	close(pidfd);
}

/* ---- io_uring -------------------------------------------------------- */

struct io_uring *reactor_uring(struct reactor *r)
{
	return r->has_ring ? &r->ring : NULL;
}

struct io_uring_sqe *reactor_uring_sqe(struct reactor *r, reactor_uring_cb *cb,
				       void *arg)
{
	if (!r->has_ring)
		return NULL;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		/* Submission queue full: hand what is queued to the kernel. */
		if (io_uring_submit(&r->ring) < 0)
			return NULL;
		sqe = io_uring_get_sqe(&r->ring);
		if (!sqe)
			return NULL;
	}
	struct uring_op *op = calloc(1, sizeof(*op));
	if (!op)
		abort(); /* out of memory */
	op->cb = cb;
	op->arg = arg;
	DLIST_PUSH(r->ops, op);
	io_uring_prep_nop(sqe); /* harmless if the caller never prepares it */
	io_uring_sqe_set_data(sqe, op);
	r->inflight++;
	return sqe;
}

int reactor_uring_submit(struct reactor *r, struct err **err)
{
	if (!r->has_ring)
		return err_set(err, ENOSYS, "io_uring is not available");
	int ret = io_uring_submit(&r->ring);
	if (ret < 0)
		return err_set(err, -ret, "cannot submit io_uring operations");
	return 0;
}

static void uring_drain(struct reactor *r)
{
	uint64_t count;
	while (read(r->evfd, &count, sizeof(count)) > 0)
		;
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct uring_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		bool more = cqe->flags & IORING_CQE_F_MORE;
		io_uring_cqe_seen(&r->ring, cqe);
		if (!op)
			continue;
		if (!more) {
			DLIST_REMOVE(r->ops, op);
			r->inflight--;
		}
		op->cb(r, res, op->arg);
		if (!more)
			free(op);
	}
}

/* ---- deferred work ---------------------------------------------------- */

void reactor_defer(struct reactor *r, void (*fn)(void *arg), void *arg)
{
	if (r->ndefers == r->defers_cap) {
		size_t cap = r->defers_cap ? r->defers_cap * 2 : 16;
		struct deferred *d = reallocarray(r->defers, cap, sizeof(*d));
		if (!d)
			abort(); /* out of memory */
		r->defers = d;
		r->defers_cap = cap;
	}
	r->defers[r->ndefers++] = (struct deferred){ fn, arg };
}

/* ---- the loop --------------------------------------------------------- */

static bool has_work(struct reactor *r)
{
	return r->nuser || r->nchildren || timer_heap_count(&r->timers) || r->inflight;
}

static void dispatch(struct reactor *r, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct reg *g = reg_get(r, fd);
	if (!g || g->gen != gen)
		return; /* removed (and maybe reused) earlier in this round */
	switch (g->kind) {
	case REG_USER:
		g->fd_cb(r, fd, ev->events, g->arg);
		break;
	case REG_CHILD:
		child_reap(r, fd);
		break;
	case REG_TIMER:
		timers_fire(r);
		break;
	case REG_SIGNAL:
		signals_drain(r);
		break;
	case REG_URING:
		uring_drain(r);
		break;
	case REG_NONE:
		break;
	}
}

int reactor_run(struct reactor *r, struct err **err)
{
	struct epoll_event events[MAX_EVENTS];
	int ret = 0;
	run_deferred(r);
	while (!r->stop && has_work(r)) {
		int timeout = -1;
		if (r->has_ring) {
			if (io_uring_sq_ready(&r->ring) > 0)
				io_uring_submit(&r->ring);
			if (io_uring_cq_ready(&r->ring) > 0)
				timeout = 0;
		}
		timers_arm(r);
		int n = epoll_wait(r->epfd, events, MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = err_set(err, errno, "event loop: epoll_wait failed");
			break;
		}
		for (int i = 0; i < n; i++)
			dispatch(r, &events[i]);
		if (r->has_ring && io_uring_cq_ready(&r->ring) > 0)
			uring_drain(r);
		run_deferred(r);
	}
	r->stop = false;
	return ret;
}
