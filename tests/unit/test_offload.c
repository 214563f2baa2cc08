/* Unit tests for core/offload (work run in forked children). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/offload.h"

struct outcome {
	int calls;
	int status;
	char *data;   /* copy of what done() saw */
	size_t len;
};

static void on_done(struct reactor *r, int status, const char *data, size_t len, void *arg)
{
	(void)r;
	struct outcome *o = arg;
	o->calls++;
	o->status = status;
	o->len = len;
	o->data = malloc(len + 1);
	assert_non_null(o->data);
	memcpy(o->data, data, len);
	o->data[len] = '\0';
	assert_int_equal(data[len], '\0'); /* always NUL-terminated */
}

static struct reactor *new_reactor(void)
{
	struct reactor *r = NULL;
	struct err *e = NULL;
	if (reactor_new(&r, 0, &e) < 0)
		fail_msg("reactor_new: %s", err_msg(e));
	return r;
}

/* Starts fn, runs the reactor until nothing is left, returns the outcome. */
static struct outcome run_one(offload_fn *fn, void *arg)
{
	struct reactor *r = new_reactor();
	struct outcome out = { 0 };
	struct err *e = NULL;
	struct offload *o = offload_start(r, fn, arg, on_done, &out, &e);
	if (!o)
		fail_msg("offload_start: %s", err_msg(e));
	if (reactor_run(r, &e) < 0)
		fail_msg("reactor_run: %s", err_msg(e));
	reactor_free(r);
	assert_int_equal(out.calls, 1);
	/* The child was reaped: no zombie is left behind. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	return out;
}

static int say_hello(void *arg, struct buf *result, struct err **err)
{
	(void)err;
	buf_appendf(result, "hello %d", *(int *)arg);
	return 0;
}

static void test_success(void **state)
{
	(void)state;
	int n = 42;
	struct outcome out = run_one(say_hello, &n);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.len, 8);
	assert_string_equal(out.data, "hello 42");
	free(out.data);
}

static int empty_result(void *arg, struct buf *result, struct err **err)
{
	(void)arg;
	(void)result;
	(void)err;
	return 0;
}

static void test_empty_result(void **state)
{
	(void)state;
	struct outcome out = run_one(empty_result, NULL);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.len, 0);
	free(out.data);
}

/* Exactly the limit, with NUL bytes, bigger than a pipe's buffer. */
static int max_result(void *arg, struct buf *result, struct err **err)
{
	(void)err;
	size_t n = *(size_t *)arg;
	buf_reserve(result, n);
	for (size_t i = 0; i < n; i++) {
		char c = (char)(i % 251);
		buf_append(result, &c, 1);
	}
	return 0;
}

static void test_result_at_limit(void **state)
{
	(void)state;
	size_t n = OFFLOAD_MAX_RESULT;
	struct outcome out = run_one(max_result, &n);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.len, OFFLOAD_MAX_RESULT);
	for (size_t i = 0; i < n; i++)
		assert_int_equal((unsigned char)out.data[i], i % 251);
	free(out.data);
}

static void test_result_over_limit(void **state)
{
	(void)state;
	size_t n = OFFLOAD_MAX_RESULT + 1;
	struct outcome out = run_one(max_result, &n);
	assert_int_equal(out.status, -1);
	assert_non_null(strstr(out.data, "65537 bytes of result, more than the limit"));
	free(out.data);
}

static int fail_open(void *arg, struct buf *result, struct err **err)
{
	buf_appends(result, "partial junk that must not be reported");
	errno = ENOENT;
	return err_set(err, errno, "cannot open %s", (const char *)arg);
}

static void test_failure_message(void **state)
{
	(void)state;
	struct outcome out = run_one(fail_open, "/nonexistent/layer.tar");
	assert_int_equal(out.status, -1);
	assert_string_equal(out.data,
			    "cannot open /nonexistent/layer.tar: No such file or directory");
	assert_int_equal(out.len, strlen(out.data));
	free(out.data);
}

static int fail_silently(void *arg, struct buf *result, struct err **err)
{
	(void)arg;
	(void)result;
	(void)err;
	return -1;
}

static void test_failure_without_message(void **state)
{
	(void)state;
	struct outcome out = run_one(fail_silently, NULL);
	assert_int_equal(out.status, -1);
	assert_string_equal(out.data, "offloaded work failed without saying why");
	free(out.data);
}

static int die_by_sigkill(void *arg, struct buf *result, struct err **err)
{
	(void)arg;
	(void)err;
	buf_appends(result, "never sent");
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
	return -1; /* not reached */
}

static void test_child_crash(void **state)
{
	(void)state;
	struct outcome out = run_one(die_by_sigkill, NULL);
	assert_int_equal(out.status, -1);
	assert_non_null(strstr(out.data, "offloaded work died with signal 9"));
	free(out.data);
}

static int exit_early(void *arg, struct buf *result, struct err **err)
{
	(void)arg;
	(void)result;
	(void)err;
	_exit(5);
}

static void test_exit_without_result(void **state)
{
	(void)state;
	struct outcome out = run_one(exit_early, NULL);
	assert_int_equal(out.status, -1);
	assert_string_equal(out.data,
			    "offloaded work exited with status 5 without sending a result");
	free(out.data);
}

/* The reactor blocked SIGUSR1 for its signalfd; the child must not inherit
 * that mask (nor SIGUSR1 being ignored). */
static int report_mask(void *arg, struct buf *result, struct err **err)
{
	(void)arg;
	sigset_t cur;
	if (sigprocmask(SIG_SETMASK, NULL, &cur) < 0)
		return err_set(err, errno, "sigprocmask");
	struct sigaction sa;
	sigaction(SIGUSR2, NULL, &sa);
	buf_appendf(result, "%s %s", sigismember(&cur, SIGUSR1) ? "blocked" : "unblocked",
		    sa.sa_handler == SIG_DFL ? "default" : "changed");
	return 0;
}

static void ignore_sig(struct reactor *r, int signo, void *arg)
{
	(void)r;
	(void)signo;
	(void)arg;
}

static void test_child_signal_state(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	assert_int_equal(reactor_on_signal(r, SIGUSR1, ignore_sig, NULL, NULL), 0);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGUSR2, &ign, &old);
	struct outcome out = { 0 };
	struct err *e = NULL;
	assert_non_null(offload_start(r, report_mask, NULL, on_done, &out, &e));
	assert_int_equal(reactor_run(r, &e), 0);
	reactor_free(r);
	sigaction(SIGUSR2, &old, NULL);
	assert_int_equal(out.calls, 1);
	assert_int_equal(out.status, 0);
	assert_string_equal(out.data, "unblocked default");
	free(out.data);
}

static int sleep_forever(void *arg, struct buf *result, struct err **err)
{
	(void)arg;
	(void)result;
	(void)err;
	for (;;)
		pause();
	return -1; /* not reached */
}

static void cancel_from_timer(struct reactor *r, void *arg)
{
	(void)r;
	offload_cancel(arg);
}

static void test_cancel(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct outcome out = { 0 };
	struct err *e = NULL;
	/* Cancelled at once, before the reactor ever ran. */
	struct offload *a = offload_start(r, sleep_forever, NULL, on_done, &out, &e);
	assert_non_null(a);
	offload_cancel(a);
	/* Cancelled from a reactor callback while the child runs. */
	struct offload *b = offload_start(r, sleep_forever, NULL, on_done, &out, &e);
	assert_non_null(b);
	reactor_timer_add(r, 1000000, cancel_from_timer, b);
	/* Cancelled after it finished its work but before it was reaped. */
	int n = 1;
	struct offload *c = offload_start(r, say_hello, &n, on_done, &out, &e);
	assert_non_null(c);
	usleep(1000);
	offload_cancel(c);
	offload_cancel(NULL);
	assert_int_equal(reactor_run(r, &e), 0); /* returns: all children reaped */
	reactor_free(r);
	assert_int_equal(out.calls, 0);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_many_at_once(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	enum { N = 8 };
	struct outcome out[N];
	int arg[N];
	struct err *e = NULL;
	memset(out, 0, sizeof(out));
	for (int i = 0; i < N; i++) {
		arg[i] = i;
		assert_non_null(offload_start(r, say_hello, &arg[i], on_done, &out[i], &e));
	}
	assert_int_equal(reactor_run(r, &e), 0);
	reactor_free(r);
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof(want), "hello %d", i);
		assert_int_equal(out[i].calls, 1);
		assert_int_equal(out[i].status, 0);
		assert_string_equal(out[i].data, want);
		free(out[i].data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_empty_result),
		cmocka_unit_test(test_result_at_limit),
		cmocka_unit_test(test_result_over_limit),
		cmocka_unit_test(test_failure_message),
		cmocka_unit_test(test_failure_without_message),
		cmocka_unit_test(test_child_crash),
		cmocka_unit_test(test_exit_without_result),
		cmocka_unit_test(test_child_signal_state),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_many_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
