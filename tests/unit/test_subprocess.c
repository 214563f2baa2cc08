/* Unit tests for core/subprocess (children with pipes read by the reactor). */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/subprocess.h"

/* What a test saw: every line (tagged with its stream), then the end. */
struct seen {
	char lines[64][64];
	int stream[64];
	size_t n_lines;
	size_t longest;          /* length of the longest line */
	int done_calls;
	size_t lines_at_done;
	struct child_status st;
	bool free_on_line;       /* subprocess_free from the first line callback */
	bool kill_on_line;       /* subprocess_kill(SIGTERM) on the first line */
	bool free_on_done;
	struct subprocess *sp;
	char captured_out[256];
	char captured_err[256];
	size_t out_len, out_dropped;
};

static void on_line(struct subprocess *sp, int stream, const char *line, size_t len, void *arg)
{
	struct seen *s = arg;
	assert_int_equal(line[len], '\0');
	assert_int_equal(strlen(line), len);
	if (len > s->longest)
		s->longest = len;
	if (s->n_lines < 64) {
		snprintf(s->lines[s->n_lines], sizeof(s->lines[0]), "%s", line);
		s->stream[s->n_lines] = stream;
	}
	s->n_lines++;
	if (s->free_on_line && s->sp) {
		subprocess_free(sp);
		s->sp = NULL;
	}
	if (s->kill_on_line && s->n_lines == 1)
		subprocess_kill(sp, SIGTERM);
}

static void on_done(struct subprocess *sp, const struct child_status *st, void *arg)
{
	struct seen *s = arg;
	s->done_calls++;
	s->lines_at_done = s->n_lines;
	s->st = *st;
	size_t n, dropped;
	const char *o = subprocess_captured(sp, 1, &n, &dropped);
	snprintf(s->captured_out, sizeof(s->captured_out), "%s", o);
	s->out_len = n;
	s->out_dropped = dropped;
	snprintf(s->captured_err, sizeof(s->captured_err), "%s",
		 subprocess_captured(sp, 2, NULL, NULL));
	if (s->free_on_done) {
		subprocess_free(sp);
		s->sp = NULL;
	}
}

/* Open descriptors of this process, to catch leaks. */
static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static struct reactor *new_reactor(void)
{
	struct reactor *r = NULL;
	struct err *e = NULL;
	if (reactor_new(&r, 0, &e) < 0)
		fail_msg("reactor_new: %s", err_msg(e));
	return r;
}

/* Runs `sh -c script` with the given modes to the end; frees the handle
 * unless a callback did. */
static void run_sh(const char *script, struct subprocess_options *o, struct seen *s)
{
	struct reactor *r = new_reactor();
	const char *argv[] = {"sh", "-c", script, NULL};
	o->argv = argv;
	o->on_line = on_line;
	o->on_done = on_done;
	o->arg = s;
	struct err *e = NULL;
	if (subprocess_spawn(&s->sp, r, o, &e) < 0)
		fail_msg("subprocess_spawn: %s", err_msg(e));
	if (reactor_run(r, &e) < 0)
		fail_msg("reactor_run: %s", err_msg(e));
	subprocess_free(s->sp);
	reactor_free(r);
}

static void test_lines_and_last_partial_line(void **state)
{
	(void)state;
	struct seen s = {0};
	struct subprocess_options o = {.out = SUBPROCESS_LINES, .err = SUBPROCESS_NULL};
	int fds = count_fds();
	run_sh("printf 'a\\nbb\\n\\nlast'", &o, &s);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(s.n_lines, 4);
	assert_string_equal(s.lines[0], "a");
	assert_string_equal(s.lines[1], "bb");
	assert_string_equal(s.lines[2], "");
	assert_string_equal(s.lines[3], "last");
	assert_int_equal(s.stream[0], 1);
	assert_int_equal(s.done_calls, 1);
	assert_int_equal(s.lines_at_done, 4);   /* every line came before the end */
	assert_false(s.st.signaled);
	assert_int_equal(s.st.code, 0);
}

static void test_lines_split_across_writes(void **state)
{
	(void)state;
	struct seen s = {0};
	struct subprocess_options o = {.out = SUBPROCESS_LINES};
	run_sh("printf 'hel'; sleep 0.05; printf 'lo\\nwor'; sleep 0.05; printf 'ld\\n'", &o, &s);
	assert_int_equal(s.n_lines, 2);
	assert_string_equal(s.lines[0], "hello");
	assert_string_equal(s.lines[1], "world");
}

static void test_long_line(void **state)
{
	(void)state;
	struct seen s = {0};
	struct subprocess_options o = {.out = SUBPROCESS_LINES};
	run_sh("head -c 300000 /dev/zero | tr '\\0' x; echo; echo end", &o, &s);
	assert_int_equal(s.n_lines, 2);
	assert_int_equal(s.longest, 300000);
	assert_string_equal(s.lines[1], "end");
}

static void test_both_streams_as_lines(void **state)
{
	(void)state;
	struct seen s = {0};
	struct subprocess_options o = {.out = SUBPROCESS_LINES, .err = SUBPROCESS_LINES};
	run_sh("echo out; echo err >&2", &o, &s);
	assert_int_equal(s.n_lines, 2);
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(s.lines[i], "out") == 0)
			assert_int_equal(s.stream[i], 1);
		else if (strcmp(s.lines[i], "err") == 0)
			assert_int_equal(s.stream[i], 2);
		else
			fail_msg("unexpected line %s", s.lines[i]);
	}
}

static void test_exit_code(void **state)
{
	(void)state;
	struct seen s = {0};
	struct subprocess_options o = {.out = SUBPROCESS_NULL, .err = SUBPROCESS_NULL};
	run_sh("exit 3", &o, &s);
	assert_int_equal(s.done_calls, 1);
	assert_false(s.st.signaled);
	assert_int_equal(s.st.code, 3);
	char text[64];
	assert_string_equal(subprocess_status_text(&s.st, text, sizeof(text)),
			    "exited with status 3");
}

/* The reactor blocks SIGTERM for its signalfd and we ignore SIGUSR1: the
 * child must have both back at their defaults. */
static void sig_noop(struct reactor *r, int signo, void *arg)
{
	(void)r;
	(void)signo;
	(void)arg;
}

static void test_signals_reset_in_child(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct err *e = NULL;
	assert_int_equal(reactor_on_signal(r, SIGTERM, sig_noop, NULL, &e), 0);
	void (*old)(int) = signal(SIGUSR1, SIG_IGN);
	const char *argv[] = {"sh", "-c", "kill -USR1 $$; echo survived", NULL};
	struct seen s = {0};
	struct subprocess_options o = {.argv = argv, .out = SUBPROCESS_LINES,
				       .on_line = on_line, .on_done = on_done, .arg = &s};
	assert_int_equal(subprocess_spawn(&s.sp, r, &o, &e), 0);
	assert_int_equal(reactor_run(r, &e), 0);
	subprocess_free(s.sp);
	signal(SIGUSR1, old);
	assert_int_equal(s.n_lines, 0);
	assert_true(s.st.signaled);
	assert_int_equal(s.st.code, SIGUSR1);

	const char *argv2[] = {"sh", "-c", "kill -TERM $$; echo survived", NULL};
	struct seen s2 = {0};
	o.argv = argv2;
	o.arg = &s2;
	assert_int_equal(subprocess_spawn(&s2.sp, r, &o, &e), 0);
	assert_int_equal(reactor_run(r, &e), 0);
	subprocess_free(s2.sp);
	reactor_free(r);
	assert_true(s2.st.signaled);
	assert_int_equal(s2.st.code, SIGTERM);
	char text[64];
	assert_non_null(strstr(subprocess_status_text(&s2.st, text, sizeof(text)),
			       "killed by signal 15"));
}

static void test_capture_with_limit(void **state)
{
	(void)state;
	struct seen s = {0};
	struct subprocess_options o = {.out = SUBPROCESS_CAPTURE, .err = SUBPROCESS_CAPTURE,
				       .capture_limit = 10};
	run_sh("head -c 100000 /dev/zero | tr '\\0' y; echo oops >&2", &o, &s);
	assert_int_equal(s.out_len, 10);
	assert_int_equal(s.out_dropped, 99990);
	assert_string_equal(s.captured_out, "yyyyyyyyyy");
	assert_string_equal(s.captured_err, "oops\n");
	assert_int_equal(s.n_lines, 0);
}

static void test_env_cwd_and_stdin(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/subprocess.XXXXXX", tmp);
	assert_non_null(mkdtemp(dir));
	char real[4096];
	assert_non_null(realpath(dir, real));
	struct reactor *r = new_reactor();
	/* cat reads standard input: /dev/null ends it at once. */
	const char *argv[] = {"sh", "-c", "echo \"$FOO\"; pwd -P; cat; echo \"[$HOME]\"", NULL};
	const char *envp[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
	struct seen s = {0};
	struct subprocess_options o = {.argv = argv, .envp = envp, .cwd = dir,
				       .out = SUBPROCESS_LINES, .on_line = on_line,
				       .on_done = on_done, .arg = &s};
	struct err *e = NULL;
	assert_int_equal(subprocess_spawn(&s.sp, r, &o, &e), 0);
	assert_int_equal(reactor_run(r, &e), 0);
	subprocess_free(s.sp);
	reactor_free(r);
	rmdir(dir);
	assert_int_equal(s.n_lines, 3);
	assert_string_equal(s.lines[0], "bar baz");
	assert_string_equal(s.lines[1], real);
	assert_string_equal(s.lines[2], "[]");
}

static void test_no_leaked_descriptors(void **state)
{
	(void)state;
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	assert_true(leak > 2);
	char script[128];
	snprintf(script, sizeof(script), "test -e /proc/self/fd/%d && echo leaked; echo done",
		 leak);
	struct seen s = {0};
	struct subprocess_options o = {.out = SUBPROCESS_LINES};
	run_sh(script, &o, &s);
	close(leak);
	assert_int_equal(s.n_lines, 1);
	assert_string_equal(s.lines[0], "done");
}

static void test_spawn_failure(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	const char *argv[] = {"/nonexistent/program-h23", "x", NULL};
	struct seen s = {0};
	struct subprocess_options o = {.argv = argv, .out = SUBPROCESS_LINES,
				       .on_line = on_line, .on_done = on_done, .arg = &s};
	struct err *e = NULL;
	struct subprocess *sp = (void *)1;
	assert_int_equal(subprocess_spawn(&sp, r, &o, &e), -1);
	assert_null(sp);
	assert_non_null(strstr(err_msg(e), "/nonexistent/program-h23"));
	assert_int_equal(e->errnum, ENOENT);
	err_free(&e);
	/* Nothing is left for the reactor: it returns at once. */
	assert_int_equal(reactor_run(r, &e), 0);
	assert_int_equal(s.done_calls, 0);

	const char *argv2[] = {"true", NULL};
	o.argv = argv2;
	o.cwd = "/nonexistent/dir-h23";
	assert_int_equal(subprocess_spawn(&sp, r, &o, &e), -1);
	assert_non_null(strstr(err_msg(e), "working directory"));
	err_free(&e);

	o.cwd = NULL;
	o.on_line = NULL;
	assert_int_equal(subprocess_spawn(&sp, r, &o, &e), -1);
	err_free(&e);
	reactor_free(r);
}

/* An endless writer, freed from its first line: the child is killed and
 * reaped, the loop ends, on_done never runs. */
static void test_free_inside_line_callback(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	const char *argv[] = {"sh", "-c", "while :; do echo y; done", NULL};
	struct seen s = {.free_on_line = true};
	struct subprocess_options o = {.argv = argv, .out = SUBPROCESS_LINES,
				       .on_line = on_line, .on_done = on_done, .arg = &s};
	struct err *e = NULL;
	assert_int_equal(subprocess_spawn(&s.sp, r, &o, &e), 0);
	pid_t pid = subprocess_pid(s.sp);
	assert_int_equal(reactor_run(r, &e), 0);
	reactor_free(r);
	assert_int_equal(s.n_lines, 1);
	assert_int_equal(s.done_calls, 0);
	assert_null(s.sp);
	/* Reaped already: the pid is no child of ours any more. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

static void test_free_inside_done(void **state)
{
	(void)state;
	struct seen s = {.free_on_done = true};
	struct subprocess_options o = {.out = SUBPROCESS_LINES};
	run_sh("echo one", &o, &s);   /* run_sh's own free sees NULL */
	assert_int_equal(s.done_calls, 1);
	assert_null(s.sp);
}

static void test_free_while_running(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	const char *argv[] = {"sleep", "1000", NULL};
	struct seen s = {0};
	struct subprocess_options o = {.argv = argv, .out = SUBPROCESS_CAPTURE,
				       .on_done = on_done, .arg = &s};
	struct err *e = NULL;
	int fds = count_fds();
	assert_int_equal(subprocess_spawn(&s.sp, r, &o, &e), 0);
	pid_t pid = subprocess_pid(s.sp);
	subprocess_free(s.sp);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(reactor_run(r, &e), 0);   /* nothing left to wait for */
	reactor_free(r);
	assert_int_equal(s.done_calls, 0);
}

/* With its own process group, a kill reaches the grandchild holding the
 * pipe too; otherwise the end would never come and this test would hang. */
static void test_kill_reaches_process_group(void **state)
{
	(void)state;
	struct seen s = {.kill_on_line = true};
	struct subprocess_options o = {.out = SUBPROCESS_LINES, .new_process_group = true};
	run_sh("sleep 1000 & echo started; wait", &o, &s);
	assert_int_equal(s.done_calls, 1);
	assert_true(s.st.signaled);
	assert_int_equal(s.st.code, SIGTERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_last_partial_line),
		cmocka_unit_test(test_lines_split_across_writes),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_both_streams_as_lines),
		cmocka_unit_test(test_exit_code),
		cmocka_unit_test(test_signals_reset_in_child),
		cmocka_unit_test(test_capture_with_limit),
		cmocka_unit_test(test_env_cwd_and_stdin),
		cmocka_unit_test(test_no_leaked_descriptors),
		cmocka_unit_test(test_spawn_failure),
		cmocka_unit_test(test_free_inside_line_callback),
		cmocka_unit_test(test_free_inside_done),
		cmocka_unit_test(test_free_while_running),
		cmocka_unit_test(test_kill_reaches_process_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
