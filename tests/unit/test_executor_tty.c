/*
 * test_executor_tty: interactive jobs (exec_job.has_tty) through the
 * executor, on a pseudo-terminal pair from openpty.
 *
 * The job's stdin, stdout and stderr are the slave, which is also its
 * controlling terminal; the test plays the terminal on the master side
 * (reading what the job writes, typing into it) from the reactor. The
 * layer is busybox-static (sh and applets as links to /bin/busybox).
 * Must pass as root and as an unprivileged user.
 *
 * What a job sees of its terminal: isatty() on 0, 1 and 2, the window size
 * (stty size), a controlling terminal (tty_nr in /proc/self/stat) with the
 * job as session leader and foreground process group, so that ^C typed on
 * the terminal interrupts the foreground command. `tty` names the terminal
 * only when the container has a devpts mount (made a bind of the host's
 * /dev/pts for terminal jobs); without one it prints "not a tty" and exits
 * 1 even though fd 0 is a terminal (see container/executor.h). The
 * integration tests (tests/integration/test_run_tty.sh) check the named
 * case through maelstrom-run.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/executor.h"
#include "core/reactor.h"

static char *tmp_root, *layer_dir, *scratch_dir;

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", buf, strerror(errno));
}

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	if (asprintf(&tmp_root, "%s/test-tty-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(tmp_root))
		return -1;
	chmod(tmp_root, 0755);
	if (asprintf(&layer_dir, "%s/layer", tmp_root) < 0 ||
	    asprintf(&scratch_dir, "%s/scratch", tmp_root) < 0)
		return -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/bin", layer_dir);
	mkdirs(path);
	mkdirs(scratch_dir);
	static const char *const dirs[] = { "proc", "dev/pts", "tmp" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", layer_dir, dirs[i]);
		mkdirs(path);
	}
	snprintf(path, sizeof(path), "%s/bin/busybox", layer_dir);
	int in = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	close(out);
	static const char *const applets[] = { "sh", "echo", "sleep", "stty", "tty", "test", "cat" };
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(path, sizeof(path), "%s/bin/%s", layer_dir, applets[i]);
		if (symlink("busybox", path) < 0)
			return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_teardown(void **state)
{
	(void)state;
	int ret = nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp_root);
	free(layer_dir);
	free(scratch_dir);
	return ret;
}

/* ---- one interactive job ------------------------------------------------- */

struct term {
	struct reactor *r;
	struct executor *ex;
	int master;
	char screen[8192];        /* what the job wrote, "\r\n" and all */
	size_t len;
	const char *wait_for;     /* once the screen shows this... */
	const char *type;         /* ...type this */
	struct job_result *res;
	bool master_done;
	bool keep_slave;          /* the master never ends: stop at the result */
};

static void on_master(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct term *t = arg;
	ssize_t n = read(fd, t->screen + t->len, sizeof(t->screen) - 1 - t->len);
	if (n > 0) {
		t->len += (size_t)n;
		t->screen[t->len] = '\0';
		if (t->wait_for && strstr(t->screen, t->wait_for)) {
			t->wait_for = NULL;
			assert_int_equal(write(fd, t->type, strlen(t->type)), (ssize_t)strlen(t->type));
		}
		return;
	}
	/* EIO: every slave fd is closed (the job is gone). */
	reactor_del_fd(r, fd);
	t->master_done = true;
	if (t->res)
		reactor_stop(r);
}

static void on_done(void *arg, uint64_t id, struct job_result *res)
{
	(void)id;
	struct term *t = arg;
	assert_null(t->res);
	t->res = res;
	if (t->keep_slave || t->master_done)
		reactor_stop(t->r);
}

struct tty_run {
	const char *script;              /* run as `sh -c script` */
	bool keep_slave;                 /* else closed right after submitting
					    (the executor has its own copy) */
	const char *const *fork_server;
	const char *wait_for, *type;     /* a dialogue: see struct term */
};

/* Runs o->script on a fresh 24x80 terminal; the job's result and what it
 * wrote land in t. */
static void run_tty(struct term *t, const struct tty_run *o)
{
	memset(t, 0, sizeof(*t));
	t->wait_for = o->wait_for;
	t->type = o->type;
	t->keep_slave = o->keep_slave;
	bool close_slave = !o->keep_slave;
	struct err *e = NULL;
	if (reactor_new(&t->r, 0, &e) < 0)
		fail_msg("%s", err_msg(e));
	struct executor_config cfg = { .slots = 1, .inline_limit = 4096, .scratch_dir = scratch_dir };
	if (executor_new(&t->ex, t->r, &cfg, &e) < 0)
		fail_msg("%s", err_msg(e));
	int slave;
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	assert_int_equal(openpty(&t->master, &slave, NULL, NULL, &ws), 0);
	fcntl(t->master, F_SETFL, O_NONBLOCK);
	static const char *dirs[1];
	dirs[0] = layer_dir;
	static const struct mount_spec mounts[] = {
		{ .kind = MOUNT_PROC, .mount_point = (char *)"/proc" },
	};
	const char *argv[] = { "sh", "-c", o->script, NULL };
	const char *envp[] = { "PATH=/bin", NULL };
	struct exec_job job = {
		.container = { .layer_dirs = dirs, .n_layer_dirs = 1, .mounts = mounts,
			       .n_mounts = 1, .network = NETWORK_DISABLED },
		.program = "sh", .argv = argv, .envp = envp,
		.has_tty = true, .tty_fd = slave,
		.fork_server_argv = o->fork_server,
	};
	executor_submit(t->ex, &job, on_done, t);
	if (close_slave)
		close(slave);
	assert_int_equal(reactor_add_fd(t->r, t->master, EPOLLIN, on_master, t, &e), 0);
	if (!close_slave) {
		/* Our slave keeps the master from ever reporting the end. */
		if (reactor_run(t->r, &e) < 0)
			fail_msg("%s", err_msg(e));
		reactor_del_fd(t->r, t->master);
		/* Drain what is left on the screen. */
		ssize_t n;
		while ((n = read(t->master, t->screen + t->len, sizeof(t->screen) - 1 - t->len)) > 0)
			t->len += (size_t)n;
		t->screen[t->len] = '\0';
		close(slave);
	} else if (reactor_run(t->r, &e) < 0) {
		fail_msg("%s", err_msg(e));
	}
	assert_non_null(t->res);
	executor_free(t->ex);
	reactor_free(t->r);
	close(t->master);
	siginfo_t info;
	assert_int_equal(waitid(P_ALL, 0, &info, WEXITED | WNOHANG), -1);
}

static void expect_screen(const struct term *t, const char *want)
{
	if (strcmp(t->screen, want) != 0)
		fail_msg("the terminal shows \"%s\", expected \"%s\" (job: %s %d %s)", t->screen,
			 want, job_outcome_name(t->res->outcome), t->res->code,
			 t->res->message ? t->res->message : "");
}

/* ---- tests ------------------------------------------------------------- */

static void test_terminal_is_stdio(void **state)
{
	(void)state;
	struct term t;
	struct tty_run o = { .script = "test -t 0 && test -t 1 && test -t 2 && echo all three; "
				       "stty size; echo err >&2; exit 7" };
	run_tty(&t, &o);
	assert_int_equal(t.res->outcome, JOB_EXITED);
	assert_int_equal(t.res->code, 7);
	/* Nothing is captured: it all went to the terminal. */
	assert_null(t.res->out.data);
	assert_null(t.res->err.data);
	assert_int_equal(t.res->out.truncated, 0);
	assert_true(t.master_done);
	expect_screen(&t, "all three\r\n24 80\r\nerr\r\n");
	job_result_free(t.res);
}

static void test_controlling_terminal(void **state)
{
	(void)state;
	struct term t;
	/* Fields 5 to 8 of /proc/self/stat: pgrp, session, tty_nr, tpgid.
	 * PID 1 leads its session and is the foreground group. */
	struct tty_run o = {
		.script = "read pid comm state ppid pgrp session tty tpgid rest < /proc/self/stat; "
			  "echo $pgrp $session $tpgid; test $tty -ne 0 && echo has a terminal",
	};
	run_tty(&t, &o);
	assert_int_equal(t.res->outcome, JOB_EXITED);
	assert_int_equal(t.res->code, 0);
	expect_screen(&t, "1 1 1\r\nhas a terminal\r\n");
	job_result_free(t.res);
}

static void test_interrupt_from_the_terminal(void **state)
{
	(void)state;
	struct term t;
	/* ^C goes to the foreground group: sleep dies of it, and the shell,
	 * seeing its foreground command interrupted, gives up with 128 + 2
	 * (it is PID 1 with no handler: the signal itself cannot kill it). */
	struct tty_run o = { .script = "echo ready; sleep 100; echo not reached",
			     .wait_for = "ready\r\n", .type = "\003" };
	run_tty(&t, &o);
	expect_screen(&t, "ready\r\n^C");
	assert_int_equal(t.res->outcome, JOB_EXITED);
	assert_int_equal(t.res->code, 128 + SIGINT);
	job_result_free(t.res);
}

/* What `tty` does in the container (documented above): fd 0 is a terminal
 * it cannot name. */
static void test_tty_cannot_name_it(void **state)
{
	(void)state;
	struct term t;
	struct tty_run o = { .script = "tty; echo status $?; test -t 0 && echo but a terminal" };
	run_tty(&t, &o);
	assert_int_equal(t.res->outcome, JOB_EXITED);
	expect_screen(&t, "not a tty\r\nstatus 1\r\nbut a terminal\r\n");
	job_result_free(t.res);
}

/* The caller keeps its slave open: completion does not wait for the
 * terminal (only for the job's reap), and a fork server is ignored. */
static void test_completes_on_reap(void **state)
{
	(void)state;
	static const char *const zygote[] = { "no-such-zygote", NULL };
	struct term t;
	struct tty_run o = { .script = "echo hi", .keep_slave = true, .fork_server = zygote };
	run_tty(&t, &o);
	assert_int_equal(t.res->outcome, JOB_EXITED);
	assert_int_equal(t.res->code, 0);
	assert_true(t.res->duration_ns > 0);
	expect_screen(&t, "hi\r\n");
	job_result_free(t.res);
}

int main(void)
{
	alarm(120); /* a hung test fails instead of blocking CI */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminal_is_stdio),
		cmocka_unit_test(test_controlling_terminal),
		cmocka_unit_test(test_interrupt_from_the_terminal),
		cmocka_unit_test(test_tty_cannot_name_it),
		cmocka_unit_test(test_completes_on_reap),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
