/* Unit tests for core/reactor and its timer heap (core/heap). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <liburing.h>

#include "core/heap.h"
#include "core/reactor.h"

#define MS 1000000ull

static struct reactor *new_reactor(void)
{
	struct reactor *r = NULL;
	struct err *e = NULL;
	if (reactor_new(&r, 0, &e) < 0)
		fail_msg("reactor_new: %s", err_msg(e));
	return r;
}

static void run_ok(struct reactor *r)
{
	struct err *e = NULL;
	if (reactor_run(r, &e) < 0)
		fail_msg("reactor_run: %s", err_msg(e));
}

static void make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

/* ---- fds -------------------------------------------------------------- */

struct fd_log {
	int calls;
	int last_fd;
	uint32_t last_events;
};

static void test_empty_run_returns(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	run_ok(r);
	run_ok(r);
	reactor_free(r);
}

static void on_read_stop(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct fd_log *l = arg;
	char c[16];
	l->calls++;
	l->last_fd = fd;
	l->last_events = events;
	while (read(fd, c, sizeof(c)) > 0)
		;
	reactor_stop(r);
}

static void test_readiness_and_stop(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int a[2], b[2];
	make_pipe(a);
	make_pipe(b);
	struct fd_log la = { 0 }, lb = { 0 };
	assert_int_equal(reactor_add_fd(r, a[0], EPOLLIN, on_read_stop, &la, NULL), 0);
	assert_int_equal(reactor_add_fd(r, b[0], EPOLLIN, on_read_stop, &lb, NULL), 0);
	struct err *e = NULL;
	assert_int_equal(reactor_add_fd(r, a[0], EPOLLIN, on_read_stop, &la, &e), -1);
	assert_non_null(strstr(err_msg(e), "already watched"));
	err_free(&e);

	assert_int_equal(write(b[1], "xy", 2), 2);
	run_ok(r); /* b's callback stops the loop; a never becomes readable */
	assert_int_equal(lb.calls, 1);
	assert_int_equal(lb.last_fd, b[0]);
	assert_true(lb.last_events & EPOLLIN);
	assert_int_equal(la.calls, 0);

	assert_int_equal(write(a[1], "z", 1), 1);
	run_ok(r); /* the loop can be run again after a stop */
	assert_int_equal(la.calls, 1);
	assert_int_equal(lb.calls, 1);

	/* EPOLLOUT on a writable end, then switch it off with mod_fd. */
	struct fd_log lw = { 0 };
	assert_int_equal(reactor_add_fd(r, a[1], EPOLLOUT, on_read_stop, &lw, NULL), 0);
	run_ok(r);
	assert_int_equal(lw.calls, 1);
	assert_true(lw.last_events & EPOLLOUT);
	assert_int_equal(reactor_mod_fd(r, a[1], 0, NULL), 0);
	assert_int_equal(reactor_mod_fd(r, 9999, EPOLLIN, &e), -1);
	err_free(&e);
	/* b's peer closed: EPOLLHUP is reported even though only EPOLLIN asked. */
	close(b[1]);
	run_ok(r);
	assert_int_equal(lb.calls, 2);
	assert_true(lb.last_events & EPOLLHUP);

	reactor_del_fd(r, a[0]);
	reactor_del_fd(r, a[1]);
	reactor_del_fd(r, b[0]);
	reactor_del_fd(r, b[0]); /* not watched any more: a no-op */
	run_ok(r); /* nothing left: returns at once */
	reactor_free(r);
	close(a[0]);
	close(a[1]);
	close(b[0]);
}

/* Two readable pipes; whichever callback runs first removes the other one,
 * closes it and puts a fresh, idle pipe on the same fd number. The stale
 * event already collected for that number must not reach anyone. */
struct removal {
	int fds[2];       /* read ends of the two readable pipes */
	int calls[2];
	int reused_calls;
	int spare[2];     /* the idle pipe whose read end takes the freed number */
};

static void on_reused(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)fd;
	(void)events;
	struct removal *t = arg;
	t->reused_calls++;
}

static void on_removal(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct removal *t = arg;
	int me = fd == t->fds[0] ? 0 : 1;
	int other = t->fds[1 - me];
	t->calls[me]++;
	reactor_del_fd(r, fd); /* remove self too */
	make_pipe(t->spare); /* before closing, so it gets other numbers */
	reactor_del_fd(r, other);
	close(other);
	assert_int_equal(dup3(t->spare[0], other, O_CLOEXEC), other);
	close(t->spare[0]);
	t->spare[0] = other;
	assert_int_equal(reactor_add_fd(r, other, EPOLLIN, on_reused, t, NULL), 0);
	reactor_stop(r);
}

static void test_remove_other_during_dispatch(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct removal t = { .spare = { -1, -1 } };
	int a[2], b[2];
	make_pipe(a);
	make_pipe(b);
	t.fds[0] = a[0];
	t.fds[1] = b[0];
	assert_int_equal(write(a[1], "1", 1), 1);
	assert_int_equal(write(b[1], "2", 1), 1);
	assert_int_equal(reactor_add_fd(r, a[0], EPOLLIN, on_removal, &t, NULL), 0);
	assert_int_equal(reactor_add_fd(r, b[0], EPOLLIN, on_removal, &t, NULL), 0);
	run_ok(r);
	assert_int_equal(t.calls[0] + t.calls[1], 1);
	assert_int_equal(t.reused_calls, 0);
	reactor_del_fd(r, t.spare[0]);
	run_ok(r);
	reactor_free(r);
	close(t.calls[0] ? a[0] : b[0]); /* the other one was closed by the callback */
	close(t.spare[0]);
	close(t.spare[1]);
	close(a[1]);
	close(b[1]);
}

/* ---- timer heap (deterministic, explicit deadlines) -------------------- */

static void nop_timer(struct reactor *r, void *arg)
{
	(void)r;
	(void)arg;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void test_heap_against_reference(void **state)
{
	(void)state;
	enum { N = 3000 };
	struct timer_heap h;
	timer_heap_init(&h);
	static uint64_t ids[N], deadline[N];
	static bool live[N];
	size_t nlive = 0;
	for (size_t i = 0; i < N; i++) {
		deadline[i] = rnd() % 500; /* many ties */
		ids[i] = timer_heap_add(&h, deadline[i], nop_timer, &ids[i]);
		assert_true(ids[i] != 0);
		live[i] = true;
		nlive++;
		if (i % 3 == 2) { /* cancel a random earlier one */
			size_t j = rnd() % (i + 1);
			assert_int_equal(timer_heap_cancel(&h, ids[j]), live[j]);
			if (live[j])
				nlive--;
			live[j] = false;
		}
	}
	assert_int_equal(timer_heap_count(&h), nlive);
	assert_false(timer_heap_cancel(&h, 0));
	assert_false(timer_heap_cancel(&h, 0xffffffff00000001ull));
	/* Pop in steps of "now": each popped timer must be the live one with the
	 * smallest (deadline, index). */
	size_t popped = 0;
	uint64_t last_deadline = 0;
	size_t last_index = 0;
	for (uint64_t now = 0; now < 600; now += 7) {
		struct timer_due d;
		while (timer_heap_pop_due(&h, now, UINT64_MAX, &d)) {
			size_t i = (size_t)((uint64_t *)d.arg - ids);
			assert_true(live[i]);
			assert_true(deadline[i] <= now);
			if (popped)
				assert_true(deadline[i] > last_deadline ||
					    (deadline[i] == last_deadline && i > last_index));
			live[i] = false;
			last_deadline = deadline[i];
			last_index = i;
			popped++;
			/* A popped id is stale: cancelling it changes nothing. */
			assert_false(timer_heap_cancel(&h, ids[i]));
		}
	}
	assert_int_equal(popped, nlive);
	assert_int_equal(timer_heap_count(&h), 0);
	/* Slots are reused; stale ids must not cancel the new occupant. */
	uint64_t fresh = timer_heap_add(&h, 1, nop_timer, NULL);
	for (size_t i = 0; i < N; i++)
		assert_false(timer_heap_cancel(&h, ids[i]));
	assert_int_equal(timer_heap_count(&h), 1);
	assert_true(timer_heap_cancel(&h, fresh));
	timer_heap_release(&h);
}

/* ---- timers through the reactor ---------------------------------------- */

struct fired {
	size_t order[512];
	uint64_t at[512];
	size_t n;
};
static struct fired fired;

struct tmr {
	size_t index;
	uint64_t not_before;  /* reactor_now_ns() read just before adding */
	uint64_t delay;
	uint64_t id;
};

static void on_timer(struct reactor *r, void *arg)
{
	(void)r;
	struct tmr *t = arg;
	fired.at[fired.n] = reactor_now_ns();
	fired.order[fired.n++] = t->index;
}

static void test_timer_order_and_cancel(void **state)
{
	(void)state;
	enum { N = 300 };
	struct reactor *r = new_reactor();
	static struct tmr t[N];
	memset(&fired, 0, sizeof(fired));
	for (size_t i = 0; i < N; i++) {
		t[i].index = i;
		t[i].delay = (rnd() % 2000) * 1000; /* 0..2 ms */
		t[i].not_before = reactor_now_ns();
		t[i].id = reactor_timer_add(r, t[i].delay, on_timer, &t[i]);
		assert_true(t[i].id != 0);
	}
	uint64_t added = reactor_now_ns();
	bool cancelled[N] = { false };
	for (size_t i = 0; i < N; i += 3) {
		reactor_timer_cancel(r, t[i].id);
		cancelled[i] = true;
	}
	reactor_timer_cancel(r, 0);
	run_ok(r);
	assert_int_equal(fired.n, N - (N + 2) / 3);
	bool seen[N] = { false };
	for (size_t k = 0; k < fired.n; k++) {
		size_t i = fired.order[k];
		assert_false(cancelled[i]);
		assert_false(seen[i]);
		seen[i] = true;
		/* Never early. */
		assert_true(fired.at[k] >= t[i].not_before + t[i].delay);
		/* Timer i's deadline lies in [not_before(i), not_before(i + 1)] + delay.
		 * Whatever fired just before it cannot have a later deadline, so its
		 * lower bound must not exceed i's upper bound. */
		if (k > 0) {
			size_t p = fired.order[k - 1];
			uint64_t i_upper = (i + 1 < N ? t[i + 1].not_before : added) + t[i].delay;
			assert_true(t[p].not_before + t[p].delay <= i_upper);
		}
	}
	reactor_free(r);
}

static void test_timers_same_delay_fifo(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	static struct tmr t[200];
	memset(&fired, 0, sizeof(fired));
	for (size_t i = 0; i < 200; i++) {
		t[i].index = i;
		t[i].id = reactor_timer_add(r, 1 * MS, on_timer, &t[i]);
	}
	run_ok(r);
	assert_int_equal(fired.n, 200);
	for (size_t i = 0; i < 200; i++)
		assert_int_equal(fired.order[i], i);
	reactor_free(r);
}

/* Timer A (in a callback) cancels B, adds C with delay 0 and defers D.
 * Expected: A, D, C; B never. A stale id cancels nothing. */
struct chain {
	char log[16];
	size_t n;
	uint64_t b_id, a_id;
	struct reactor *r;
};

static void chain_d(void *arg)
{
	struct chain *c = arg;
	c->log[c->n++] = 'D';
}

static void chain_c(struct reactor *r, void *arg)
{
	(void)r;
	struct chain *c = arg;
	c->log[c->n++] = 'C';
}

static void chain_b(struct reactor *r, void *arg)
{
	(void)r;
	struct chain *c = arg;
	c->log[c->n++] = 'B';
}

static void chain_a(struct reactor *r, void *arg)
{
	struct chain *c = arg;
	c->log[c->n++] = 'A';
	reactor_timer_cancel(r, c->b_id);
	reactor_timer_cancel(r, c->a_id); /* already fired: no-op */
	uint64_t cid = reactor_timer_add(r, 0, chain_c, c);
	reactor_timer_cancel(r, c->a_id); /* stale id, maybe same slot as C: no-op */
	assert_true(cid != c->a_id);
	reactor_defer(r, chain_d, c);
}

static void test_timers_from_callbacks(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct chain c = { .r = r };
	c.a_id = reactor_timer_add(r, 0, chain_a, &c);
	c.b_id = reactor_timer_add(r, 0, chain_b, &c);
	run_ok(r);
	assert_int_equal(c.n, 3);
	assert_memory_equal(c.log, "ADC", 3);
	reactor_free(r);
}

/* A timer re-arming itself 100 times from its own callback. */
static void rearm(struct reactor *r, void *arg)
{
	int *left = arg;
	if (--*left > 0)
		reactor_timer_add(r, 0, rearm, left);
}

static void test_timer_rearm(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int left = 100;
	reactor_timer_add(r, 0, rearm, &left);
	run_ok(r);
	assert_int_equal(left, 0);
	reactor_free(r);
}

/* ---- signals ----------------------------------------------------------- */

struct sigs {
	int usr1, usr2;
	uint64_t keeper;
};

static void on_sig(struct reactor *r, int signo, void *arg)
{
	struct sigs *s = arg;
	if (signo == SIGUSR1)
		s->usr1++;
	if (signo == SIGUSR2)
		s->usr2++;
	if (s->usr1 && s->usr2)
		reactor_timer_cancel(r, s->keeper);
}

static void test_signals(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct sigs s = { 0 };
	struct err *e = NULL;
	assert_int_equal(reactor_on_signal(r, SIGUSR1, on_sig, &s, NULL), 0);
	assert_int_equal(reactor_on_signal(r, SIGUSR2, on_sig, &s, NULL), 0);
	assert_int_equal(reactor_on_signal(r, SIGKILL, on_sig, &s, &e), -1);
	err_free(&e);
	/* Blocked now: raising does not kill us, it queues on the signalfd. */
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	s.keeper = reactor_timer_add(r, 60000 * MS, nop_timer, NULL);
	run_ok(r); /* returns once both arrived and the keeper is cancelled */
	assert_int_equal(s.usr1, 1);
	assert_int_equal(s.usr2, 1);
	reactor_free(r);
}

/* ---- children ---------------------------------------------------------- */

struct child_seen {
	int calls;
	int pidfd;
	struct child_status st;
};

static void on_child(struct reactor *r, int pidfd, const struct child_status *st, void *arg)
{
	(void)r;
	struct child_seen *c = arg;
	c->calls++;
	c->pidfd = pidfd;
	c->st = *st;
	/* Still open during the callback. */
	assert_true(fcntl(pidfd, F_GETFD) >= 0);
}

static int spawn(int exit_code, bool wait_forever)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (wait_forever)
			for (;;)
				pause();
		_exit(exit_code);
	}
	int pidfd = pidfd_open(pid, 0);
	assert_true(pidfd >= 0);
	return pidfd;
}

static void test_child_exit_code(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct child_seen c = { 0 };
	int pidfd = spawn(3, false);
	assert_int_equal(reactor_watch_child(r, pidfd, on_child, &c, NULL), 0);
	run_ok(r);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.pidfd, pidfd);
	assert_false(c.st.signaled);
	assert_int_equal(c.st.code, 3);
	/* The reactor closed the pidfd after the callback, and reaped: */
	assert_int_equal(fcntl(pidfd, F_GETFD), -1);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	reactor_free(r);
}

static void test_child_killed(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct child_seen c = { 0 };
	int pidfd = spawn(0, true);
	assert_int_equal(reactor_watch_child(r, pidfd, on_child, &c, NULL), 0);
	assert_int_equal(pidfd_send_signal(pidfd, SIGKILL, NULL, 0), 0);
	run_ok(r);
	assert_int_equal(c.calls, 1);
	assert_true(c.st.signaled);
	assert_int_equal(c.st.code, SIGKILL);
	reactor_free(r);
}

static void test_watch_child_bad_fd(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct err *e = NULL;
	assert_int_equal(reactor_watch_child(r, -1, on_child, NULL, &e), -1);
	assert_non_null(strstr(err_msg(e), "cannot watch child"));
	err_free(&e);
	reactor_free(r);
}

/* ---- io_uring ---------------------------------------------------------- */

struct uring_io {
	int fd;
	char out[8192], in[8192];
	size_t written, nread;
	int writes, reads;
	int error;
};

static void submit_or_fail(struct reactor *r)
{
	struct err *e = NULL;
	if (reactor_uring_submit(r, &e) < 0)
		fail_msg("%s", err_msg(e));
}

static void on_read_done(struct reactor *r, int res, void *arg);

static void queue_read(struct reactor *r, struct uring_io *u)
{
	struct io_uring_sqe *sqe = reactor_uring_sqe(r, on_read_done, u);
	assert_non_null(sqe);
	io_uring_prep_read(sqe, u->fd, u->in + u->nread, (unsigned)(sizeof(u->in) - u->nread),
			   u->nread);
	submit_or_fail(r);
}

static void on_read_done(struct reactor *r, int res, void *arg)
{
	struct uring_io *u = arg;
	u->reads++;
	if (res < 0) {
		u->error = -res;
		return;
	}
	u->nread += (size_t)res;
	if (res > 0 && u->nread < sizeof(u->in))
		queue_read(r, u); /* short read: requeue the rest */
}

static void on_write_done(struct reactor *r, int res, void *arg)
{
	struct uring_io *u = arg;
	u->writes++;
	if (res < 0) {
		u->error = -res;
		return;
	}
	u->written += (size_t)res;
	if (u->written < sizeof(u->out)) {
		struct io_uring_sqe *sqe = reactor_uring_sqe(r, on_write_done, u);
		assert_non_null(sqe);
		io_uring_prep_write(sqe, u->fd, u->out + u->written,
				    (unsigned)(sizeof(u->out) - u->written), u->written);
		submit_or_fail(r);
		return;
	}
	queue_read(r, u);
}

static void test_uring_file_io(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	if (!reactor_uring(r)) {
		reactor_free(r);
		print_message("io_uring refused by the kernel here: skipping\n");
		skip();
	}
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/test_reactor.XXXXXX", tmp);
	assert_non_null(mkdtemp(dir));
	char path[4200];
	snprintf(path, sizeof(path), "%s/data", dir);
	static struct uring_io u;
	memset(&u, 0, sizeof(u));
	u.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(u.fd >= 0);
	for (size_t i = 0; i < sizeof(u.out); i++)
		u.out[i] = (char)('a' + i % 26);

	struct io_uring_sqe *sqe = reactor_uring_sqe(r, on_write_done, &u);
	assert_non_null(sqe);
	io_uring_prep_write(sqe, u.fd, u.out, sizeof(u.out), 0);
	submit_or_fail(r);
	run_ok(r); /* returns once no operation is in flight */
	assert_int_equal(u.error, 0);
	assert_int_equal(u.written, sizeof(u.out));
	assert_int_equal(u.nread, sizeof(u.in));
	assert_true(u.writes >= 1);
	assert_true(u.reads >= 1);
	assert_memory_equal(u.in, u.out, sizeof(u.out));
	close(u.fd);
	unlink(path);
	rmdir(dir);
	reactor_free(r);
}

static void count_cb(struct reactor *r, int res, void *arg)
{
	(void)r;
	int *n = arg;
	if (res == 0)
		(*n)++;
}

static void test_uring_many_nops(void **state)
{
	(void)state;
	struct reactor *r = NULL;
	struct err *e = NULL;
	assert_int_equal(reactor_new(&r, 8, &e), 0); /* small ring: sqe() must flush */
	if (!reactor_uring(r)) {
		reactor_free(r);
		print_message("io_uring refused by the kernel here: skipping\n");
		skip();
	}
	int n = 0;
	for (int i = 0; i < 100; i++) {
		struct io_uring_sqe *sqe = reactor_uring_sqe(r, count_cb, &n);
		assert_non_null(sqe);
		io_uring_prep_nop(sqe);
	}
	run_ok(r); /* the last batch is submitted by reactor_run itself */
	assert_int_equal(n, 100);
	reactor_free(r);
}

/* A ring the kernel refuses (too many entries) leaves a working reactor
 * without io_uring, as on kernels or sandboxes that forbid it. */
static void test_without_uring(void **state)
{
	(void)state;
	struct reactor *r = NULL;
	struct err *e = NULL;
	assert_int_equal(reactor_new(&r, 1u << 20, &e), 0);
	assert_null(reactor_uring(r));
	assert_null(reactor_uring_sqe(r, count_cb, NULL));
	assert_int_equal(reactor_uring_submit(r, &e), -1);
	assert_non_null(strstr(err_msg(e), "io_uring is not available"));
	err_free(&e);
	int left = 3;
	reactor_timer_add(r, 0, rearm, &left);
	run_ok(r);
	assert_int_equal(left, 0);
	reactor_free(r);
}

/* ---- deferred work ----------------------------------------------------- */

struct conn {
	int fd;
	int *freed;
};

static void conn_free(void *arg)
{
	struct conn *c = arg;
	(*c->freed)++;
	free(c);
}

static void on_conn(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct conn *c = arg;
	reactor_del_fd(r, fd);
	/* Freeing here would be a use-after-free for the reactor; defer it. */
	reactor_defer(r, conn_free, c);
	assert_int_equal(*c->freed, 0);
}

static void test_deferred_free(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int p[2];
	make_pipe(p);
	int freed = 0;
	struct conn *c = malloc(sizeof(*c));
	assert_non_null(c);
	*c = (struct conn){ .fd = p[0], .freed = &freed };
	assert_int_equal(reactor_add_fd(r, p[0], EPOLLIN, on_conn, c, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	run_ok(r);
	assert_int_equal(freed, 1);

	/* Pending deferred work runs at reactor_free. */
	c = malloc(sizeof(*c));
	assert_non_null(c);
	*c = (struct conn){ .fd = -1, .freed = &freed };
	reactor_defer(r, conn_free, c);
	reactor_free(r);
	assert_int_equal(freed, 2);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_run_returns),
		cmocka_unit_test(test_readiness_and_stop),
		cmocka_unit_test(test_remove_other_during_dispatch),
		cmocka_unit_test(test_heap_against_reference),
		cmocka_unit_test(test_timer_order_and_cancel),
		cmocka_unit_test(test_timers_same_delay_fifo),
		cmocka_unit_test(test_timers_from_callbacks),
		cmocka_unit_test(test_timer_rearm),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_child_exit_code),
		cmocka_unit_test(test_child_killed),
		cmocka_unit_test(test_watch_child_bad_fd),
		cmocka_unit_test(test_uring_file_io),
		cmocka_unit_test(test_uring_many_nops),
		cmocka_unit_test(test_without_uring),
		cmocka_unit_test(test_deferred_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
