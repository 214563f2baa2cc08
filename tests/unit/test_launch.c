/*
 * Unit tests for container/launch (with container/plan, netlink, userns):
 * real containers built from small layer directories made here, holding
 * /bin/sh and /bin/id with their shared libraries (found with ldd). Covers
 * ids, root and layers, network modes, devices and mounts, working
 * directory, launch errors, fds, signals, kills and clone modes (the network
 * namespace pool and the LAUNCH_BENCH latency run are in test_launch_pool.c;
 * the shared fixture is in launch_fixture.h).
 *
 * Needs unprivileged user namespaces; runs as root and as any user.
 */
#include "launch_fixture.h"

/* ---- tests --------------------------------------------------------------------- */

static void test_pid_one_and_default_ids(void **state)
{
	(void)state;
	struct shape s = { .mounts = { M(MOUNT_PROC, "/proc") }, .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "echo $$; id -u; id -g", &j);
	assert_int_equal(j.code, 0);
	assert_string_equal(j.out, "1\n0\n0\n");
	mount_plan_free(p);
}

static void test_user_and_group(void **state)
{
	(void)state;
	struct shape s = { .user = 1234, .group = 5678 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "id -u; id -g", &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "1234\n5678\n");
	mount_plan_free(p);
}

static void test_root_read_only(void **state)
{
	(void)state;
	for (int two = 0; two < 2; two++) {
		struct shape s = { .two_layers = two };
		struct mount_plan *p = compile(&s);
		struct job j;
		run_sh(p, "echo x > /new", &j);
		assert_int_not_equal(j.code, 0);
		assert_non_null(strstr(j.err, "Read-only file system"));
		mount_plan_free(p);
	}
}

static void test_writable_root(void **state)
{
	(void)state;
	struct shape s = { .two_layers = true, .writable = true };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "echo hi > /new && read v < /new && echo $v && echo changed > /etc/who && "
	          "read w < /etc/who && echo $w", &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "hi\nchanged\n");
	/* The layers are untouched, and the next job starts clean. */
	char path[PATH_MAX];
	path_join(path, lower, "/new");
	assert_int_equal(access(path, F_OK), -1);
	run_sh(p, "read w < /etc/who; echo $w; [ -e /new ] || echo gone", &j);
	assert_string_equal(j.out, "upper\ngone\n");
	mount_plan_free(p);
}

static void test_top_layer_wins(void **state)
{
	(void)state;
	struct shape s = { .two_layers = true };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "read w < /etc/who; echo $w", &j);
	assert_string_equal(j.out, "upper\n");
	mount_plan_free(p);
}

static void test_tmp_writable_on_read_only_root(void **state)
{
	(void)state;
	struct shape s = { .mounts = { M(MOUNT_TMP, "/tmp") }, .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "echo hi > /tmp/x && read v < /tmp/x && echo $v", &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "hi\n");
	mount_plan_free(p);
}

static void test_network_disabled(void **state)
{
	(void)state;
	struct shape s = { .mounts = { M(MOUNT_SYS, "/sys") }, .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, net_script, &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "lo\n0x8\n");   /* lo only, down */
	mount_plan_free(p);
}

static void test_network_loopback(void **state)
{
	(void)state;
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_SYS, "/sys") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, net_script, &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "lo\n0x9\n");   /* lo only, up (IFF_UP | IFF_LOOPBACK) */
	mount_plan_free(p);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	int n = 0, c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_network_local(void **state)
{
	(void)state;
	struct shape s = { .network = NETWORK_LOCAL, .mounts = { M(MOUNT_PROC, "/proc") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "n=0; while read l; do n=$((n+1)); done < /proc/net/dev; echo $n", &j);
	char want[32];
	snprintf(want, sizeof(want), "%d\n", count_lines("/proc/self/net/dev"));
	assert_string_equal(j.out, want);   /* the host's interfaces */
	mount_plan_free(p);
}

static void test_devices(void **state)
{
	(void)state;
	struct shape s = { .mounts = { { .kind = MOUNT_DEVICES, .devices = DEVICE_NULL | DEVICE_ZERO } },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "echo x > /dev/null && [ -c /dev/null ] && [ -c /dev/zero ] && echo ok", &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "ok\n");
	struct stat st;
	char path[PATH_MAX];
	path_join(path, lower, "/dev/null");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);   /* the stub was not written to */
	mount_plan_free(p);
}

static void test_devpts_mqueue_proc(void **state)
{
	(void)state;
	struct shape s = { .mounts = { M(MOUNT_PROC, "/proc"), M(MOUNT_DEVPTS, "/dev/pts"),
		                       M(MOUNT_MQUEUE, "/dev/mqueue") },
		           .n_mounts = 3 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "while read a mp t rest; do case $mp in /dev/*|/proc) echo $mp $t;; esac; "
	          "done < /proc/self/mounts; [ -c /dev/pts/ptmx ] && echo ptmx", &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "/proc proc\n/dev/pts devpts\n/dev/mqueue mqueue\nptmx\n");
	mount_plan_free(p);
}

static void test_bind_mounts(void **state)
{
	(void)state;
	struct shape s = { .mounts = { { .kind = MOUNT_BIND, .mount_point = "/mnt",
		                         .local_path = "host" } },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, "read v < /mnt/data; echo $v; echo new > /mnt/created", &j);
	assert_string_equal(j.err, "");
	assert_string_equal(j.out, "from the host\n");
	char path[PATH_MAX];
	path_join(path, hostdir, "/created");
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	mount_plan_free(p);

	s.mounts[0].read_only = true;
	p = compile(&s);
	run_sh(p, "read v < /mnt/data; echo $v; echo new > /mnt/created", &j);
	assert_string_equal(j.out, "from the host\n");
	assert_non_null(strstr(j.err, "Read-only file system"));
	assert_int_equal(access(path, F_OK), -1);
	mount_plan_free(p);
}

static void test_working_directory(void **state)
{
	(void)state;
	struct shape s = { 0 };
	struct mount_plan *p = compile(&s);
	struct job j;
	const char *argv[] = { "sh", "-c", "pwd", NULL };
	run_argv(p, "sh", argv, "/work", -1, &j);
	assert_true(j.launched);
	assert_string_equal(j.out, "/work\n");
	run_argv(p, "sh", argv, NULL, -1, &j);
	assert_string_equal(j.out, "/\n");
	run_argv(p, "sh", argv, "/nope", -1, &j);
	assert_false(j.launched);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "working directory /nope: No such file or directory");
	mount_plan_free(p);
}

static void test_missing_program(void **state)
{
	(void)state;
	struct shape s = { 0 };
	struct mount_plan *p = compile(&s);
	struct job j;
	const char *argv[] = { "nope", NULL };
	run_argv(p, "nope", argv, NULL, -1, &j);
	assert_false(j.launched);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "exec `nope`: not found in PATH (/bin)");
	run_argv(p, "/bin/nope", argv, NULL, -1, &j);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "exec /bin/nope: No such file or directory");
	/* A directory is not a program. */
	run_argv(p, "/etc", argv, NULL, -1, &j);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "exec /etc: Permission denied");
	/* Relative with a slash: from the working directory. */
	const char *argv2[] = { "sh", "-c", "echo rel", NULL };
	run_argv(p, "../bin/sh", argv2, "/etc", -1, &j);
	assert_true(j.launched);
	assert_string_equal(j.out, "rel\n");
	mount_plan_free(p);
}

static void test_mount_point_missing_at_run_time(void **state)
{
	(void)state;
	/* /tmp/sub exists nowhere once /tmp is a fresh tmpfs: only the run
	 * can tell, and it is the spec's fault. */
	struct shape s = { .mounts = { M(MOUNT_TMP, "/tmp"), M(MOUNT_TMP, "/tmp/sub") },
		           .n_mounts = 2 };
	struct mount_plan *p = compile(&s);
	struct job j;
	const char *argv[] = { "sh", "-c", "true", NULL };
	run_argv(p, "sh", argv, NULL, -1, &j);
	assert_false(j.launched);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "mount tmp on /tmp/sub: No such file or directory");
	mount_plan_free(p);
}

static void test_fds_stdin_and_session(void **state)
{
	(void)state;
	struct shape s = { .mounts = { M(MOUNT_PROC, "/proc") }, .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	/* An inherited fd without close-on-exec must not reach the job. */
	int leak = open("/dev/null", O_RDONLY);
	assert_true(leak >= 0);
	assert_int_equal(dup2(leak, 50), 50);
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(write(pipefd[1], "hello\n", 6), 6);
	close(pipefd[1]);
	const char *argv[] = { "sh", "-c",
		"read v; echo $v; for f in /proc/self/fd/*; do echo ${f##*/}; done; "
		"read pid comm st ppid pgrp sid rest < /proc/1/stat; echo $pgrp $sid", NULL };
	struct job j;
	run_argv(p, "sh", argv, NULL, pipefd[0], &j);
	close(pipefd[0]);
	close(50);
	close(leak);
	assert_true(j.launched);
	/* 0 1 2, and 3: the directory the shell's glob is reading. */
	assert_string_equal(j.out, "hello\n0\n1\n2\n3\n1 1\n");
	mount_plan_free(p);
}

/* launch_request.extra_fd becomes fd 3 (LAUNCH_EXTRA_FD); 0 passes none.
 * controlling_tty on a stdin that is no terminal fails cleanly. */
static void test_extra_fd_and_tty_request(void **state)
{
	(void)state;
	struct shape s = { .mounts = { M(MOUNT_PROC, "/proc") }, .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	static const char *const env[] = { "PATH=/bin", NULL };
	const char *argv[] = { "sh", "-c",
		"echo via3 >&3; for f in /proc/self/fd/*; do echo ${f##*/}; done", NULL };
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = memfd_create("out", MFD_CLOEXEC);
	int extra[2];
	assert_int_equal(pipe2(extra, O_CLOEXEC), 0);
	struct launch_request req = {
		.plan = p, .program = "sh", .argv = argv, .envp = env,
		.stdin_fd = in, .stdout_fd = out, .stderr_fd = out, .extra_fd = extra[1],
	};
	struct launch_result res;
	enum launch_failure failure;
	struct err *e = NULL;
	if (container_launch(&req, &res, &failure, &e) < 0)
		fail_msg("%s", err_msg(e));
	assert_int_equal(wait_job(res.pidfd), 0);
	close(res.pidfd);
	close(extra[1]);
	char buf[64];
	slurp(extra[0], buf, sizeof(buf));
	assert_string_equal(buf, "via3\n");
	close(extra[0]);
	char text[256];
	slurp(out, text, sizeof(text));
	/* 0 1 2, the extra fd as 3, and 4: the directory the glob reads. */
	assert_string_equal(text, "0\n1\n2\n3\n4\n");

	/* No extra fd (zeroed field): fd 3 is the glob's again. */
	req.extra_fd = 0;
	const char *argv2[] = { "sh", "-c", "for f in /proc/self/fd/*; do echo ${f##*/}; done",
				NULL };
	req.argv = argv2;
	assert_int_equal(ftruncate(out, 0), 0);
	assert_int_equal(lseek(out, 0, SEEK_SET), 0);
	if (container_launch(&req, &res, &failure, &e) < 0)
		fail_msg("%s", err_msg(e));
	assert_int_equal(wait_job(res.pidfd), 0);
	close(res.pidfd);
	slurp(out, text, sizeof(text));
	assert_string_equal(text, "0\n1\n2\n3\n");

	/* A controlling terminal needs a terminal. */
	req.controlling_tty = true;
	assert_int_equal(container_launch(&req, &res, &failure, &e), -1);
	assert_int_equal(failure, LAUNCH_SYSTEM_ERROR);
	assert_non_null(strstr(err_msg(e), "controlling terminal"));
	assert_non_null(strstr(err_msg(e), "Inappropriate ioctl"));
	err_free(&e);
	close(in);
	close(out);
	mount_plan_free(p);
}

static void test_signals_reset(void **state)
{
	(void)state;
	struct shape s = { .mounts = { M(MOUNT_PROC, "/proc") }, .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_usr1;
	sigaction(SIGUSR1, &ign, &old_usr1);
	sigset_t usr2, old_mask;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, &old_mask);
	struct job j;
	run_sh(p, "while read k v; do case $k in SigBlk:|SigIgn:) echo $k $v;; esac; "
	          "done < /proc/1/status", &j);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGUSR1, &old_usr1, NULL);
	assert_string_equal(j.out, "SigBlk: 0000000000000000\nSigIgn: 0000000000000000\n");
	/* And ours are as they were. */
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	assert_false(sigismember(&now, SIGUSR2));
	mount_plan_free(p);
}

static void test_kill_whole_container(void **state)
{
	(void)state;
	struct shape s = { 0 };
	struct mount_plan *p = compile(&s);
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	static const char *const env[] = { "PATH=/bin", NULL };
	/* PID 1 and a background child both block on stdin, holding stdout
	 * (an explicit redirection: a background job's stdin is /dev/null). */
	const char *argv[] = { "sh", "-c", "exec 3<&0; (read x <&3; echo late) & echo started; read y", NULL };
	struct launch_request req = { .plan = p, .program = "sh", .argv = argv, .envp = env,
		                      .stdin_fd = in[0], .stdout_fd = out[1], .stderr_fd = out[1] };
	struct launch_result res;
	enum launch_failure f;
	struct err *e = NULL;
	assert_int_equal(container_launch(&req, &res, &f, &e), 0);
	close(out[1]);
	char buf[64];
	assert_int_equal(read(out[0], buf, 8), 8);
	assert_memory_equal(buf, "started\n", 8);
	assert_int_equal(container_kill(res.pidfd), 0);
	assert_int_equal(wait_job(res.pidfd), -SIGKILL);
	/* Every writer of stdout died with PID 1: end of file, no "late". */
	struct pollfd pfd = { .fd = out[0], .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 0);
	assert_int_equal(container_kill(res.pidfd), 0);   /* already gone: fine */
	close(res.pidfd);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	mount_plan_free(p);
}

static void test_failure_leaves_nothing_behind(void **state)
{
	(void)state;
	struct shape s = { 0 };
	struct mount_plan *p = compile(&s);
	int before = count_fds();
	struct job j;
	const char *argv[] = { "nope", NULL };
	for (int i = 0; i < 3; i++) {
		run_argv(p, "nope", argv, NULL, -1, &j);
		assert_false(j.launched);
	}
	assert_int_equal(count_fds(), before);
	siginfo_t si;
	errno = 0;
	assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);   /* no zombie, no child left */
	mount_plan_free(p);
}

static void test_clone_modes(void **state)
{
	(void)state;
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_TMP, "/tmp") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	enum launch_clone_mode modes[] = { LAUNCH_CLONE_VM, LAUNCH_CLONE_FORK, LAUNCH_CLONE_AUTO };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		container_launch_set_clone_mode(modes[i]);
		struct job j;
		run_sh(p, "echo $$ > /tmp/p; read v < /tmp/p; echo $v", &j);
		assert_string_equal(j.out, "1\n");
		const char *argv[] = { "nope", NULL };
		run_argv(p, "nope", argv, NULL, -1, &j);
		assert_string_equal(j.message, "exec `nope`: not found in PATH (/bin)");
	}
	container_launch_set_clone_mode(LAUNCH_CLONE_AUTO);
	mount_plan_free(p);
}

static void test_static_program_single_layer(void **state)
{
	(void)state;
	if (!have_tiny)
		skip();
	const char *layers[] = { tiny };
	struct container_desc d = { .layer_dirs = layers, .n_layer_dirs = 1 };
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	assert_int_equal(mount_plan_compile(&p, &d, scratch, &e), 0);
	struct job j;
	const char *argv[] = { "true", NULL };
	run_argv(p, "/true", argv, NULL, -1, &j);
	assert_true(j.launched);
	assert_int_equal(j.code, 0);
	mount_plan_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_one_and_default_ids),
		cmocka_unit_test(test_user_and_group),
		cmocka_unit_test(test_root_read_only),
		cmocka_unit_test(test_writable_root),
		cmocka_unit_test(test_top_layer_wins),
		cmocka_unit_test(test_tmp_writable_on_read_only_root),
		cmocka_unit_test(test_network_disabled),
		cmocka_unit_test(test_network_loopback),
		cmocka_unit_test(test_network_local),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_devpts_mqueue_proc),
		cmocka_unit_test(test_bind_mounts),
		cmocka_unit_test(test_working_directory),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_mount_point_missing_at_run_time),
		cmocka_unit_test(test_fds_stdin_and_session),
		cmocka_unit_test(test_extra_fd_and_tty_request),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_kill_whole_container),
		cmocka_unit_test(test_failure_leaves_nothing_behind),
		cmocka_unit_test(test_clone_modes),
		cmocka_unit_test(test_static_program_single_layer),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
