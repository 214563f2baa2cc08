/*
 * Unit tests for container/launch (with container/plan, netlink, userns):
 * real containers built from small layer directories made here, holding
 * /bin/sh and /bin/id with their shared libraries (found with ldd).
 *
 * Needs unprivileged user namespaces; runs as root and as any user.
 *
 * With LAUNCH_BENCH=<n> in the environment it runs no tests and instead times
 * n launches of each kind (static /bin/true, no mounts / typical mounts /
 * loopback, vfork and fork clones) and prints the latencies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/launch.h"
#include "container/netpool.h"
#include "container/plan.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static char base[PATH_MAX];      /* mkdtemp'd; everything below is ours */
static char lower[PATH_MAX];     /* sh, id, libs, stubs */
static char upper[PATH_MAX];     /* one file overriding lower */
static char tiny[PATH_MAX];      /* only /true (static), when available */
static char scratch[PATH_MAX];
static char hostdir[PATH_MAX];   /* bind mount source */
static bool have_tiny;
static struct netns_pool *use_pool;   /* launch_request.netns_pool of run_argv */

/* ---- fixture helpers ---------------------------------------------------------- */

/* out = a + b; out has room for PATH_MAX bytes. */
static void path_join(char *out, const char *a, const char *b)
{
	if (snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX)
		fail_msg("path too long: %s%s", a, b);
}

static void mkdir_p(const char *path)
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

static void write_file(const char *path, const char *text, mode_t mode)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		fail_msg("create %s: %s", path, strerror(errno));
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* Copies src (following symlinks) to dst, creating dst's directory. */
static void copy_file(const char *src, const char *dst)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", dst);
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		fail_msg("open %s: %s", src, strerror(errno));
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0)
		fail_msg("create %s: %s", dst, strerror(errno));
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_true(n == 0);
	close(in);
	close(out);
}

/* Copies a host program to <layer>/<as> and its shared libraries (per ldd)
 * to the same paths in the layer. */
static void copy_program(const char *layer, const char *prog, const char *as)
{
	char dst[PATH_MAX], cmd[PATH_MAX + 16], line[1024];
	snprintf(dst, sizeof(dst), "%s%s", layer, as);
	copy_file(prog, dst);
	snprintf(cmd, sizeof(cmd), "ldd %s", prog);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *lib = strchr(line, '/');
		if (!lib)
			continue;
		lib[strcspn(lib, " \t\n")] = '\0';
		snprintf(dst, sizeof(dst), "%s%s", layer, lib);
		copy_file(lib, dst);
	}
	pclose(f);
}

static void rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d))) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				char sub[PATH_MAX];
				snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
				rm_rf(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* The static true built next to this test (make builds it as static-true);
 * out has room for PATH_MAX bytes. */
static bool find_static_true(char *out)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	path_join(out, exe, "/static-true");
	return access(out, X_OK) == 0;
}

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/h6-launch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		fail_msg("mkdtemp %s: %s", base, strerror(errno));
	path_join(lower, base, "/lower");
	path_join(upper, base, "/upper");
	path_join(tiny, base, "/tiny");
	path_join(scratch, base, "/scratch");
	path_join(hostdir, base, "/host");
	copy_program(lower, "/bin/sh", "/bin/sh");
	copy_program(lower, "/usr/bin/id", "/bin/id");
	static const char *const dirs[] = { "/proc", "/tmp", "/sys", "/dev/pts", "/dev/mqueue",
		                            "/mnt", "/work", "/etc" };
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", lower, dirs[i]);
		mkdir_p(path);
	}
	path_join(path, lower, "/dev/null");
	write_file(path, "", 0644);
	path_join(path, lower, "/dev/zero");
	write_file(path, "", 0644);
	path_join(path, lower, "/etc/who");
	write_file(path, "lower\n", 0644);
	path_join(path, upper, "/etc/who");
	write_file(path, "upper\n", 0644);
	mkdir_p(scratch);
	path_join(path, hostdir, "/data");
	write_file(path, "from the host\n", 0644);
	char st[PATH_MAX];
	have_tiny = find_static_true(st);
	if (have_tiny) {
		path_join(path, tiny, "/true");
		copy_file(st, path);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rm_rf(base);
	return 0;
}

/* ---- running jobs ------------------------------------------------------------- */

struct job {
	bool launched;
	enum launch_failure failure;
	char message[512];
	int code;              /* exit code, or -signal */
	char out[4096];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t size)
{
	lseek(fd, 0, SEEK_SET);
	size_t got = 0;
	ssize_t n;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

static int wait_job(int pidfd)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		assert_int_equal(errno, EINTR);
	return si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
}

/* Runs program/argv (envp PATH=/bin) in plan; stdin from stdin_fd or
 * /dev/null. Fills j. */
static void run_argv(const struct mount_plan *plan, const char *program, const char *const *argv,
                     const char *wd, int stdin_fd, struct job *j)
{
	static const char *const env[] = { "PATH=/bin", "HOME=/", NULL };
	memset(j, 0, sizeof(*j));
	int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = memfd_create("out", MFD_CLOEXEC);
	int err_fd = memfd_create("err", MFD_CLOEXEC);
	assert_true(in >= 0 && out >= 0 && err_fd >= 0);
	struct launch_request req = {
		.plan = plan, .program = program, .argv = argv, .envp = env,
		.working_directory = wd, .stdin_fd = in, .stdout_fd = out, .stderr_fd = err_fd,
		.netns_pool = use_pool,
	};
	struct launch_result res;
	struct err *e = NULL;
	if (container_launch(&req, &res, &j->failure, &e) == 0) {
		assert_int_equal(j->failure, LAUNCH_OK);
		j->launched = true;
		j->code = wait_job(res.pidfd);
		close(res.pidfd);
	} else {
		assert_non_null(e);
		assert_int_not_equal(j->failure, LAUNCH_OK);
		snprintf(j->message, sizeof(j->message), "%s", err_msg(e));
		err_free(&e);
	}
	slurp(out, j->out, sizeof(j->out));
	slurp(err_fd, j->err, sizeof(j->err));
	close(out);
	close(err_fd);
	if (stdin_fd < 0)
		close(in);
}

static void run_sh(const struct mount_plan *plan, const char *script, struct job *j)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	run_argv(plan, "sh", argv, NULL, -1, j);
	if (!j->launched)
		fail_msg("launch failed: %s", j->message);
}

struct shape {
	bool two_layers, writable;
	enum network_mode network;
	uint32_t user, group;
	struct mount_spec mounts[8];
	size_t n_mounts;
};

static struct mount_plan *compile(const struct shape *s)
{
	const char *layers[] = { lower, upper };
	struct container_desc d = {
		.layer_dirs = layers, .n_layer_dirs = s->two_layers ? 2 : 1,
		.mounts = s->mounts, .n_mounts = s->n_mounts, .network = s->network,
		.writable_root = s->writable, .user = s->user, .group = s->group,
		.bind_base_dir = base,
	};
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	if (mount_plan_compile(&p, &d, scratch, &e) < 0)
		fail_msg("compile: %s", err_msg(e));
	return p;
}

#define M(k, mp) { .kind = (k), .mount_point = (char *)(mp) }

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

static const char *const net_script =
	"for i in /sys/class/net/*; do echo ${i##*/}; done; read f < /sys/class/net/lo/flags; echo $f";

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

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
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


/* ---- network namespace pool ------------------------------------------------- */

static const char *const lo_script =
	"up=down; while read idx dev rest; do [ \"$dev\" = lo ] && up=up; done < /proc/net/igmp; "
	"echo $$ $up $(id -u) $(id -g)";

static void test_pool_reuses_namespaces(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(2);
	use_pool = pool;
	struct shape s = { .network = NETWORK_LOOPBACK, .user = 1000, .group = 100,
		           .mounts = { M(MOUNT_PROC, "/proc") }, .n_mounts = 1 };
	struct mount_plan *lo = compile(&s);
	s.network = NETWORK_DISABLED;
	struct mount_plan *off = compile(&s);
	struct job j;
	for (int i = 0; i < 3; i++) {
		run_sh(lo, lo_script, &j);
		assert_string_equal(j.err, "");
		assert_string_equal(j.out, "1 up 1000 100\n");
		run_sh(off, lo_script, &j);
		assert_string_equal(j.out, "1 down 1000 100\n");
	}
	/* One after the other: one namespace of each kind was enough. */
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 1);
	assert_int_equal(netns_pool_count(pool, NETWORK_DISABLED), 1);
	use_pool = NULL;
	netns_pool_free(pool);
	mount_plan_free(lo);
	mount_plan_free(off);
}

static void test_pool_busy_slot_and_limit(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(1);
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_PROC, "/proc") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	static const char *const env[] = { "PATH=/bin", NULL };
	int in[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	/* One output file per job, so the check does not depend on how two
	 * writers sharing one file offset interleave. */
	int out = memfd_create("out", MFD_CLOEXEC);
	int out2 = memfd_create("out2", MFD_CLOEXEC);
	const char *argv[] = { "sh", "-c", "read x; echo $$", NULL };
	struct launch_request req = { .plan = p, .program = "sh", .argv = argv, .envp = env,
		                      .stdin_fd = in[0], .stdout_fd = out, .stderr_fd = out,
		                      .netns_pool = pool };
	struct launch_result first, second;
	enum launch_failure f;
	struct err *e = NULL;
	assert_int_equal(container_launch(&req, &first, &f, &e), 0);
	/* The only slot is busy: the second job gets a fresh namespace. */
	req.stdout_fd = req.stderr_fd = out2;
	assert_int_equal(container_launch(&req, &second, &f, &e), 0);
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 1);
	assert_int_equal(write(in[1], "a\nb\n", 4), 4);
	assert_int_equal(wait_job(first.pidfd), 0);
	assert_int_equal(wait_job(second.pidfd), 0);
	close(first.pidfd);
	close(second.pidfd);
	char buf[64];
	slurp(out, buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	slurp(out2, buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	close(out2);
	close(in[0]);
	close(in[1]);
	close(out);
	netns_pool_free(pool);
	mount_plan_free(p);
}

static void test_pool_job_cannot_reconfigure_network(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(1);
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_PROC, "/proc") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	const char *script = "echo 1 > /proc/sys/net/ipv4/ip_forward && echo wrote || echo refused";
	struct job j;
	/* Its own namespace: root of the job may configure it. */
	run_sh(p, script, &j);
	assert_string_equal(j.out, "wrote\n");
	/* A pooled one belongs to the pool's holder: it may not. */
	use_pool = pool;
	run_sh(p, script, &j);
	use_pool = NULL;
	assert_string_equal(j.out, "refused\n");
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 1);
	netns_pool_free(pool);
	mount_plan_free(p);
}

static void test_pool_not_used_for_sys_or_local(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(4);
	use_pool = pool;
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_SYS, "/sys") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, net_script, &j);
	assert_string_equal(j.out, "lo\n0x9\n");
	mount_plan_free(p);
	struct shape local = { .network = NETWORK_LOCAL };
	p = compile(&local);
	run_sh(p, "echo $$", &j);
	assert_string_equal(j.out, "1\n");
	mount_plan_free(p);
	use_pool = NULL;
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 0);
	assert_int_equal(netns_pool_count(pool, NETWORK_LOCAL), 0);
	netns_pool_free(pool);
}

static void test_pool_failure_and_kill(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(2);
	struct err *e = NULL;
	assert_int_equal(netns_pool_prefill(pool, NETWORK_DISABLED, 2, &e), 0);
	assert_int_equal(netns_pool_count(pool, NETWORK_DISABLED), 2);
	use_pool = pool;
	struct shape s = { .mounts = { M(MOUNT_TMP, "/tmp"), M(MOUNT_TMP, "/tmp/sub") },
		           .n_mounts = 2 };
	struct mount_plan *p = compile(&s);
	int before = count_fds();
	struct job j;
	const char *argv[] = { "nope", NULL };
	run_argv(p, "nope", argv, NULL, -1, &j);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "mount tmp on /tmp/sub: No such file or directory");
	mount_plan_free(p);
	struct shape plain = { 0 };
	p = compile(&plain);
	run_argv(p, "nope", argv, NULL, -1, &j);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "exec `nope`: not found in PATH (/bin)");
	assert_int_equal(count_fds(), before);
	siginfo_t si;
	assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	/* Killing a pooled job kills its PID namespace; the slot frees up. */
	int in[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	static const char *const env[] = { "PATH=/bin", NULL };
	const char *argv2[] = { "sh", "-c", "read x", NULL };
	struct launch_request req = { .plan = p, .program = "sh", .argv = argv2, .envp = env,
		                      .stdin_fd = in[0], .stdout_fd = in[1], .stderr_fd = in[1],
		                      .netns_pool = pool };
	struct launch_result res;
	enum launch_failure f;
	assert_int_equal(container_launch(&req, &res, &f, &e), 0);
	assert_int_equal(container_kill(res.pidfd), 0);
	assert_int_equal(wait_job(res.pidfd), -SIGKILL);
	close(res.pidfd);
	close(in[0]);
	close(in[1]);
	run_sh(p, "echo $$", &j);
	assert_string_equal(j.out, "1\n");
	assert_int_equal(netns_pool_count(pool, NETWORK_DISABLED), 2);
	use_pool = NULL;
	mount_plan_free(p);
	netns_pool_free(pool);
}

/* ---- latency (LAUNCH_BENCH=n) ----------------------------------------------- */

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Times n launches (launch only, and launch + exit + reap) of /true. */
static void bench_one(const char *name, const struct container_desc *d, int n,
                      struct netns_pool *pool)
{
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	if (mount_plan_compile(&p, d, scratch, &e) < 0) {
		printf("%s: %s\n", name, err_msg(e));
		err_free(&e);
		return;
	}
	static const char *const env[] = { "PATH=/", NULL };
	const char *argv[] = { "true", NULL };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct launch_request req = { .plan = p, .program = "/true", .argv = argv, .envp = env,
		                      .stdin_fd = devnull, .stdout_fd = devnull, .stderr_fd = devnull,
		                      .netns_pool = pool };
	double *launch = calloc((size_t)n, sizeof(double)), *total = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		struct launch_result res;
		enum launch_failure f;
		double t0 = now_us();
		if (container_launch(&req, &res, &f, &e) < 0) {
			printf("%s: %s\n", name, err_msg(e));
			err_free(&e);
			break;
		}
		double t1 = now_us();
		wait_job(res.pidfd);
		double t2 = now_us();
		close(res.pidfd);
		launch[i] = t1 - t0;
		total[i] = t2 - t0;
	}
	qsort(launch, (size_t)n, sizeof(double), cmp_double);
	qsort(total, (size_t)n, sizeof(double), cmp_double);
	printf("%-36s launch p50 %5.0f p90 %5.0f p99 %5.0f | +exit+reap p50 %5.0f p90 %5.0f p99 %5.0f us\n",
	       name, launch[n / 2], launch[n * 9 / 10], launch[n * 99 / 100], total[n / 2],
	       total[n * 9 / 10], total[n * 99 / 100]);
	free(launch);
	free(total);
	close(devnull);
	mount_plan_free(p);
}

static void bench(int n)
{
	if (!have_tiny) {
		printf("no static-true next to this program: build it with make first\n");
		return;
	}
	/* The tiny layer gets the stubs the typical mounts need. */
	char path[PATH_MAX];
	static const char *const dirs[] = { "/proc", "/tmp", "/dev" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", tiny, dirs[i]);
		mkdir_p(path);
	}
	path_join(path, tiny, "/dev/null");
	write_file(path, "", 0644);
	const char *one[] = { tiny };
	const char *two[] = { tiny, upper };
	struct mount_spec typical[] = { M(MOUNT_PROC, "/proc"), M(MOUNT_TMP, "/tmp"),
		                        { .kind = MOUNT_DEVICES, .devices = DEVICE_NULL } };
	struct netns_pool *pool = netns_pool_new(2);
	struct {
		const char *name;
		struct container_desc d;
		enum launch_clone_mode mode;
		struct netns_pool *pool;
	} cases[] = {
		{ "bind root, no mounts, no net", { .layer_dirs = one, .n_layer_dirs = 1,
		  .network = NETWORK_LOCAL }, LAUNCH_CLONE_AUTO, NULL },
		{ "bind root, no mounts, netns", { .layer_dirs = one, .n_layer_dirs = 1 },
		  LAUNCH_CLONE_AUTO, NULL },
		{ "overlay, proc+tmp+null, netns", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3 }, LAUNCH_CLONE_AUTO, NULL },
		{ "overlay, proc+tmp+null, loopback", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK }, LAUNCH_CLONE_AUTO,
		  NULL },
		{ "writable, proc+tmp+null, loopback", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK,
		  .writable_root = true }, LAUNCH_CLONE_AUTO, NULL },
		{ "same, fork-style clone", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK,
		  .writable_root = true }, LAUNCH_CLONE_FORK, NULL },
		{ "overlay, proc+tmp+null, pooled netns", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3 }, LAUNCH_CLONE_AUTO, pool },
		{ "writable, ..., pooled loopback", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK,
		  .writable_root = true }, LAUNCH_CLONE_AUTO, pool },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		container_launch_set_clone_mode(cases[i].mode);
		bench_one(cases[i].name, &cases[i].d, n, cases[i].pool);
	}
	/* Grow to 64 MiB touched and compare the two clone styles. */
	size_t big = 64u << 20;
	char *ballast = malloc(big);
	memset(ballast, 1, big);
	container_launch_set_clone_mode(LAUNCH_CLONE_VM);
	bench_one("64 MiB RSS, vfork-style", &cases[4].d, n, NULL);
	bench_one("64 MiB RSS, vfork-style, pooled", &cases[4].d, n, pool);
	container_launch_set_clone_mode(LAUNCH_CLONE_FORK);
	bench_one("64 MiB RSS, fork-style", &cases[4].d, n, NULL);
	container_launch_set_clone_mode(LAUNCH_CLONE_AUTO);
	free(ballast);
	netns_pool_free(pool);
}

int main(void)
{
	const char *b = getenv("LAUNCH_BENCH");
	if (b && atoi(b) > 0) {
		group_setup(NULL);
		bench(atoi(b));
		group_teardown(NULL);
		return 0;
	}
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
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_kill_whole_container),
		cmocka_unit_test(test_failure_leaves_nothing_behind),
		cmocka_unit_test(test_clone_modes),
		cmocka_unit_test(test_static_program_single_layer),
		cmocka_unit_test(test_pool_reuses_namespaces),
		cmocka_unit_test(test_pool_busy_slot_and_limit),
		cmocka_unit_test(test_pool_job_cannot_reconfigure_network),
		cmocka_unit_test(test_pool_not_used_for_sys_or_local),
		cmocka_unit_test(test_pool_failure_and_kill),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
