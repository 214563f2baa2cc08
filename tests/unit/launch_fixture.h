/*
 * Shared fixture of the container/launch unit tests (test_launch.c: basics,
 * network modes, mounts, errors, signals; test_launch_pool.c: the network
 * namespace pool and the LAUNCH_BENCH latency run): small layer directories
 * made under a mkdtemp'd base, holding /bin/sh and /bin/id with their shared
 * libraries (found with ldd), the group setup/teardown that builds them, and
 * helpers that compile a plan and run a job in it.
 *
 * Each test program includes this once; the helpers are marked unused so a
 * program that needs only some of them compiles without warnings.
 */
#ifndef TESTS_UNIT_LAUNCH_FIXTURE_H
#define TESTS_UNIT_LAUNCH_FIXTURE_H

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

static __attribute__((unused)) char base[PATH_MAX];      /* mkdtemp'd; everything below is ours */
static __attribute__((unused)) char lower[PATH_MAX];     /* sh, id, libs, stubs */
static __attribute__((unused)) char upper[PATH_MAX];     /* one file overriding lower */
static __attribute__((unused)) char tiny[PATH_MAX];      /* only /true (static), when available */
static __attribute__((unused)) char scratch[PATH_MAX];
static __attribute__((unused)) char hostdir[PATH_MAX];   /* bind mount source */
static __attribute__((unused)) bool have_tiny;
static __attribute__((unused)) struct netns_pool *use_pool;   /* launch_request.netns_pool of run_argv */

/* ---- fixture helpers ---------------------------------------------------------- */

/* out = a + b; out has room for PATH_MAX bytes. */
static __attribute__((unused)) void path_join(char *out, const char *a, const char *b)
{
	if (snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX)
		fail_msg("path too long: %s%s", a, b);
}

static __attribute__((unused)) void mkdir_p(const char *path)
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

static __attribute__((unused)) void write_file(const char *path, const char *text, mode_t mode)
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
static __attribute__((unused)) void copy_file(const char *src, const char *dst)
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
static __attribute__((unused)) void copy_program(const char *layer, const char *prog, const char *as)
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

static __attribute__((unused)) void rm_rf(const char *path)
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
static __attribute__((unused)) bool find_static_true(char *out)
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

static __attribute__((unused)) int group_setup(void **state)
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

static __attribute__((unused)) int group_teardown(void **state)
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

static __attribute__((unused)) void slurp(int fd, char *buf, size_t size)
{
	lseek(fd, 0, SEEK_SET);
	size_t got = 0;
	ssize_t n;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

static __attribute__((unused)) int wait_job(int pidfd)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		assert_int_equal(errno, EINTR);
	return si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
}

/* Runs program/argv (envp PATH=/bin) in plan; stdin from stdin_fd or
 * /dev/null. Fills j. */
static __attribute__((unused)) void run_argv(const struct mount_plan *plan, const char *program, const char *const *argv,
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

static __attribute__((unused)) void run_sh(const struct mount_plan *plan, const char *script, struct job *j)
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

static __attribute__((unused)) struct mount_plan *compile(const struct shape *s)
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

/* ---- shared checks ---------------------------------------------------------- */

/* Lists the network interfaces, then lo's flags. */
static __attribute__((unused)) const char *const net_script =
	"for i in /sys/class/net/*; do echo ${i##*/}; done; read f < /sys/class/net/lo/flags; echo $f";

/* Open file descriptors of this process (with the one reading the list). */
static __attribute__((unused)) int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif
